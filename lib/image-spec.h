/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image formats a registry or an OCI layout hands us: descriptors, image manifests, image
 * indexes (Docker manifest lists), image configs and their media types (OCI image-spec v1.0.2
 * and v1.1.0; Docker's manifest-v2-2.md of distribution v2.8.2), and platforms, normalised
 * and matched as containerd 1.6's platforms package does.
 *
 * Parsers take untrusted bytes: each refuses input over MANIFEST_MAX_BYTES with -EFBIG,
 * reports JSON syntax errors as -EINVAL "line L column C: why" and semantic ones as -EINVAL
 * naming the field ("layers[1].digest: ..."), checks what it returns (schemaVersion 2,
 * digests through digest_validate(), whose -EOPNOTSUPP for other algorithms is passed on,
 * sizes >= 0, required fields) and ignores unknown fields. A JSON null counts as absent, as in
 * Go's encoding/json. On failure *ret is untouched. Every string and array of a returned
 * struct belongs to it and goes with its free function.
 */
#pragma once

#include <jansson.h>

#include "digest.h"
#include "errmsg.h"

/* The largest manifest, index or config accepted. */
#define MANIFEST_MAX_BYTES (4u << 20)

#define MEDIA_TYPE_OCI_MANIFEST      "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_TYPE_OCI_INDEX         "application/vnd.oci.image.index.v1+json"
#define MEDIA_TYPE_OCI_CONFIG        "application/vnd.oci.image.config.v1+json"
#define MEDIA_TYPE_OCI_LAYER         "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_TYPE_OCI_LAYER_GZIP    "application/vnd.oci.image.layer.v1.tar+gzip"
#define MEDIA_TYPE_OCI_LAYER_ZSTD    "application/vnd.oci.image.layer.v1.tar+zstd"
#define MEDIA_TYPE_OCI_LAYER_NONDIST "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define MEDIA_TYPE_OCI_LAYER_NONDIST_GZIP \
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define MEDIA_TYPE_OCI_LAYER_NONDIST_ZSTD \
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define MEDIA_TYPE_OCI_LAYOUT_HEADER    "application/vnd.oci.layout.header.v1+json"
#define MEDIA_TYPE_OCI_EMPTY            "application/vnd.oci.empty.v1+json"
#define MEDIA_TYPE_DOCKER_MANIFEST      "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_TYPE_DOCKER_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_TYPE_DOCKER_CONFIG        "application/vnd.docker.container.image.v1+json"
#define MEDIA_TYPE_DOCKER_LAYER         "application/vnd.docker.image.rootfs.diff.tar"
#define MEDIA_TYPE_DOCKER_LAYER_GZIP    "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MEDIA_TYPE_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar"
#define MEDIA_TYPE_DOCKER_LAYER_FOREIGN_GZIP \
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
/* Docker schema 1 (signed, legacy): recognised so that callers can refuse it by name. */
#define MEDIA_TYPE_DOCKER_MANIFEST_V1 "application/vnd.docker.distribution.manifest.v1+prettyjws"

enum media_kind {
        MEDIA_KIND_UNKNOWN,
        MEDIA_KIND_MANIFEST,
        MEDIA_KIND_INDEX,
        MEDIA_KIND_CONFIG,
        MEDIA_KIND_LAYER,
        _MEDIA_KIND_MAX,
};

enum layer_compression {
        LAYER_COMPRESSION_NONE,
        LAYER_COMPRESSION_GZIP,
        LAYER_COMPRESSION_ZSTD,
        _LAYER_COMPRESSION_MAX,
};

/*
 * The kind of a media type: the OCI and Docker schema 2 manifest, index/list, config and
 * layer types above (OCI, nondistributable, Docker and foreign layers). Parameters after ';'
 * and letter case are ignored (a Content-Type header may say
 * "application/vnd.oci.image.manifest.v1+json; charset=utf-8"). NULL, schema 1, encrypted
 * layers and anything else are MEDIA_KIND_UNKNOWN.
 */
enum media_kind media_type_kind(const char *media_type);
/*
 * The compression of a layer media type. Docker's "diff.tar" types say NONE although
 * some writers compressed them anyway (containerd calls that "unknown"): sniff the bytes
 * before trusting NONE. Not a layer type: NONE.
 */
enum layer_compression media_type_compression(const char *media_type);
/* "unknown", "manifest", "index", "config", "layer"; NULL when out of range. */
const char *media_kind_to_string(enum media_kind k);
/* The kind named s, or -EINVAL. */
int media_kind_from_string(const char *s);
/* "none", "gzip", "zstd"; NULL when out of range. */
const char *layer_compression_to_string(enum layer_compression c);
/* The compression named s, or -EINVAL. */
int layer_compression_from_string(const char *s);

/* Strings NULL or non-empty, except os and architecture of a parsed platform. */
struct oci_platform {
        char *os;
        char *architecture;
        char *variant;
        char *os_version;
};

struct oci_descriptor {
        char *media_type;
        char *digest;
        int64_t size;
        char **urls;                   /* strv or NULL */
        char **annotations;            /* strv of alternating key, value; or NULL */
        struct oci_platform *platform; /* NULL when absent */
};

struct oci_manifest {
        int schema_version; /* always 2 */
        char *media_type;   /* NULL when the body has none */
        struct oci_descriptor config;
        size_t n_layers;
        struct oci_descriptor *layers;
        char **annotations;
};

struct oci_index {
        int schema_version; /* always 2 */
        char *media_type;   /* NULL when the body has none */
        size_t n_manifests;
        struct oci_descriptor *manifests;
        char **annotations;
};

struct oci_image_config {
        struct oci_platform platform; /* os, architecture, variant, os.version as written */
        size_t n_diff_ids;
        char **diff_ids; /* rootfs.diff_ids, each validated; a strv (NULL-terminated) */
        char *created;   /* may be NULL */
        json_t *json;    /* the whole parsed document (owned), for later users (Env, Cmd, ...) */
};

/*
 * An image manifest: OCI (manifest.md) or Docker schema 2. Required: schemaVersion, config
 * and layers (may be empty). A mediaType, if present, must be a manifest type. A "manifests"
 * field is refused: a body that reads as both manifest and index is ambiguous
 * (CVE-2021-41190; containerd refuses it too).
 */
int oci_manifest_parse(const char *json, size_t len, struct oci_manifest **ret, struct errmsg *err);
struct oci_manifest *oci_manifest_free(struct oci_manifest *m);
DEFINE_CLEANUP_FUNC(struct oci_manifest, oci_manifest_free)

/*
 * An image index (image-index.md) or Docker manifest list. Required: schemaVersion and
 * manifests (may be empty). A mediaType, if present, must be an index type; "config" or
 * "layers" fields are refused (see oci_manifest_parse()).
 */
int oci_index_parse(const char *json, size_t len, struct oci_index **ret, struct errmsg *err);
struct oci_index *oci_index_free(struct oci_index *idx);
DEFINE_CLEANUP_FUNC(struct oci_index, oci_index_free)

/*
 * An image config (config.md; Docker's image JSON v1.2). Required: architecture, os and
 * rootfs {type "layers", diff_ids}. Everything else stays in ->json.
 */
int oci_image_config_parse(const char *json, size_t len, struct oci_image_config **ret,
                           struct errmsg *err);
struct oci_image_config *oci_image_config_free(struct oci_image_config *c);
DEFINE_CLEANUP_FUNC(struct oci_image_config, oci_image_config_free)

/*
 * What a manifest-ish body is when the media type says nothing (e.g. "application/json"
 * from a registry): the kind of its mediaType if that is known, else INDEX when it has a
 * "manifests" array and no "layers", MANIFEST when it has "layers" and no "manifests",
 * UNKNOWN otherwise (including bodies that are not JSON objects or exceed
 * MANIFEST_MAX_BYTES). Checks nothing else: parse the body to use it.
 */
enum media_kind manifest_body_kind(const char *json, size_t len);

/*
 * A descriptor from a JSON object; path names it in errors ("manifests[2]"). Required:
 * mediaType, digest, size; a platform, if present, needs os and architecture. ret is a zeroed
 * descriptor; on failure it may be half filled: oci_descriptor_release() cleans it up.
 */
int oci_descriptor_from_json(json_t *obj, const char *path, struct oci_descriptor *ret,
                             struct errmsg *err);
/* Frees what d holds and zeroes it. */
void oci_descriptor_release(struct oci_descriptor *d);
/* The value of key in an annotations strv (borrowed), or NULL. */
const char *oci_annotation_get(char *const *annotations, const char *key);

/*
 * Platforms, as containerd 1.6.20's platforms package has them (platforms.go, database.go,
 * compare.go). Normalised: os lowercase, "macos" is "darwin", no os means "linux";
 * architecture lowercase, x86_64/x86-64 -> amd64 (variant v1 dropped), aarch64 -> arm64
 * (variant 8/v8 dropped: v8 is what arm64 means), i386 -> 386, armhf -> arm/v7,
 * armel -> arm/v6, arm's variant "" or 7 -> v7 and 5/6/8 -> v5/v6/v8.
 */

/*
 * Parses a specifier "<os>|<arch>|<os>/<arch>[/<variant>]" into *ret (release it with
 * oci_platform_release()): "linux/amd64", "linux/arm64/v8", "linux/arm/v7", "amd64" (os
 * linux), "linux" (this host's architecture). Like containerd's Parse(): os and architecture
 * normalised, arm's v7 left out unless given in three parts, arm64 given in three parts keeps
 * v8. Each part must match [A-Za-z0-9_-]+. -EINVAL for wildcards, more than three parts and a
 * single part that is neither a known os nor a known architecture.
 */
int oci_platform_parse(const char *s, struct oci_platform *ret, struct errmsg *err);
/*
 * This host's platform into *ret: linux and uname's machine normalised (x86_64 -> amd64),
 * with arm64's variant v8 and arm's variant from the machine name (armv7l -> v7), as
 * containerd's DefaultSpec() gives them.
 */
void oci_platform_default(struct oci_platform *ret);
/* Normalises p in place (see above). */
void oci_platform_normalize(struct oci_platform *p);
/* Deep copy of src into *ret. */
void oci_platform_copy(const struct oci_platform *src, struct oci_platform *ret);
/* Frees p's strings and zeroes it; p itself is the caller's. */
void oci_platform_release(struct oci_platform *p);
/* "os/architecture[/variant]" (the caller's), "unknown" without an os: "linux/arm64/v8". */
char *oci_platform_string(const struct oci_platform *p);
/* Whether both normalise to the same os, architecture and variant (os_version ignored). */
bool oci_platform_matches(const struct oci_platform *want, const struct oci_platform *have);
/*
 * The descriptor of idx (borrowed from it) that best serves want, as containerd's Only()
 * orders them: want itself first, then amd64/vN's lower variants and 386; arm/vN's lower
 * variants down to v5; for arm64, then arm/v8 and down. Among equals the first in idx wins.
 * Descriptors without a platform never match. NULL when none matches.
 */
const struct oci_descriptor *oci_index_select(const struct oci_index *idx,
                                              const struct oci_platform *want);

/* ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))
 * (image-spec config.md). parent NULL for the bottom layer. */
void image_chain_id(const char *parent, const char *diff_id, char ret[DIGEST_STR_MAX]);
