/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images to and from tar archives, as `docker save`/`docker load` and `ctr images
 * import`/`export` exchange them, over any content store:
 *   docker save (moby image/spec/v1.2.md): manifest.json [{Config, RepoTags, Layers}], the
 *     config as a file, each layer a tar file (plain, or gzip), "repositories";
 *   OCI image layout (image-spec v1.0.2 image-layout.md): oci-layout, index.json and
 *     blobs/sha256/<hex>; ctr export adds a docker manifest.json whose paths point into
 *     blobs/, so that one tar loads into both.
 * Both directions stream: the archive is read or written once, in order, and blobs go
 * between the tar and the store in fixed-size chunks, never whole in memory. Only the JSON
 * files (manifest.json, index.json, oci-layout, manifests, configs) are held in memory, each
 * capped at MANIFEST_MAX_BYTES (IMAGE_ARCHIVE_CONFIG_MAX for configs).
 *
 * The store is a table of callbacks (struct image_archive_store): berth-containerd implements
 * it over its local store (containerd/image-archive.c), berth-ctr over containerd's Content
 * and Images API (ctr/import.c). Naming, recording and unpacking the images are the caller's:
 * the import gives back the archive's entries.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/image-spec.h"

/* Archive members looked at during an import (files, directories, links together). */
#define IMAGE_ARCHIVE_MAX_ENTRIES 65536
/*
 * Images per manifest.json / index.json, and layers per image (each layer is a label on its
 * manifest's record, and a record holds a bounded number of labels; overlayfs mounts far
 * fewer layers anyway).
 */
#define IMAGE_ARCHIVE_MAX_IMAGES 4096
#define IMAGE_ARCHIVE_MAX_LAYERS 250
/* The largest image config read. */
#define IMAGE_ARCHIVE_CONFIG_MAX (8u << 20)

#define IMAGE_ARCHIVE_ANNOTATION_IMAGE_NAME "io.containerd.image.name"
#define IMAGE_ARCHIVE_ANNOTATION_REF_NAME   "org.opencontainers.image.ref.name"

/*
 * What the archive code needs of a content store. Every callback returns 0 or -errno with err
 * set (naming the digest; the caller adds the member or the element). userdata is the
 * store's. Callbacks an operation does not use may be NULL (import needs the blob_* writers,
 * blob_check, blob_read and blob_label; export needs image_get, blob_check, blob_read and
 * blob_copy).
 */
struct image_archive_store {
        void *userdata;
        /*
         * Starts writing the blob of archive member (a name such as "blobs/sha256/<hex>" or
         * "manifest-sha256:<hex>" for a manifest the import writes itself) of size bytes
         * (size >= 0); expected is its digest when known, else NULL. -EEXIST when expected is
         * in the store already (nothing to write). *ret_writer is passed to blob_write and to
         * exactly one of blob_commit or blob_abort.
         */
        int (*blob_open)(void *userdata, const char *member, int64_t size, const char *expected,
                         void **ret_writer, struct errmsg *err);
        int (*blob_write)(void *writer, const void *buf, size_t len, struct errmsg *err);
        /* Checks the size and the expected digest (-EBADMSG on a mismatch: the bytes are
         * dropped), commits, frees the writer; ret_digest gets what was written. */
        int (*blob_commit)(void *writer, char ret_digest[DIGEST_STR_MAX], struct errmsg *err);
        /* Drops what was written and frees the writer. */
        void (*blob_abort)(void *writer);
        /*
         * Whether digest is in the store: its size (-ENOENT when it is not). An import calls it
         * for every blob an image needs, so a store that records blobs per namespace records it
         * here.
         */
        int (*blob_check)(void *userdata, const char *digest, int64_t *ret_size,
                          struct errmsg *err);
        /* Reads digest whole (at most max bytes: -EFBIG) into a NUL-terminated buffer. */
        int (*blob_read)(void *userdata, const char *digest, size_t max, char **ret,
                         size_t *ret_len, struct errmsg *err);
        /* Sets labels (a strv of key, value pairs; others are kept) on digest. */
        int (*blob_label)(void *userdata, const char *digest, char *const *labels,
                          struct errmsg *err);
        /* Feeds the bytes of digest to sink in order; sink's negative result stops it. */
        int (*blob_copy)(void *userdata, const char *digest,
                         int (*sink)(void *sink_userdata, const void *buf, size_t len),
                         void *sink_userdata, struct errmsg *err);
        /* The target of image name (ret is the caller's: oci_descriptor_release()); -ENOENT
         * "image \"name\": not found" when there is none. */
        int (*image_get)(void *userdata, const char *name, struct oci_descriptor *ret,
                         struct errmsg *err);
};

struct image_archive_import_opts {
        const struct oci_platform *platform; /* NULL: this host's */
        /* Keep (record, label, require) every platform's content of an index, else only the
         * platform's: blobs of other platforms are written but not required or labelled. */
        bool all_platforms;
        /* Write the archive's index as a blob too (index.json, or for docker save an index made
         * as containerd's importer makes it) and label it: ret->index (ctr's --index-name). */
        bool keep_index;
};

/* One entry of the archive's index: an image, named or not. */
struct image_archive_entry {
        /* io.containerd.image.name of an OCI entry (verbatim), or the RepoTag of a docker save
         * element normalised ("busybox:1" is "docker.io/library/busybox:1"); NULL: none */
        char *image_name;
        /* org.opencontainers.image.ref.name of an OCI entry as written; for docker save the
         * tag of image_name (what containerd's importer writes); NULL: none */
        char *ref_name;
        struct oci_descriptor target; /* the manifest or index */
        size_t position;              /* in index.json, or the manifest.json element */
};

struct image_archive_result {
        struct image_archive_entry *entries; /* in archive order */
        size_t n_entries;
        bool is_oci; /* an OCI layout (else docker save) */
        /* with keep_index: the index blob written (digest NULL otherwise) */
        struct oci_descriptor index;
};
void image_archive_result_release(struct image_archive_result *r);

/*
 * Reads an archive from tar_fd (borrowed; a stream read once, in order, no seeking: a pipe
 * works; gzip/zstd/xz-compressed tars are accepted too) into the store s:
 *
 * - Every regular file of the archive is written into the store as it passes (OCI
 *   blobs/sha256/<hex> verified against their name; -EBADMSG on a mismatch); the JSON files
 *   are read into memory. Symlinks and hardlinks between members (docker save's repeated
 *   layers) are followed.
 * - An archive with oci-layout (imageLayoutVersion "1.0.0") is an OCI layout, even if it
 *   also has a manifest.json: each index.json entry is an entry of the result. Each entry is
 *   walked down to its layers: every blob it references must be in the archive or already in
 *   the store, with its size; nested indexes keep only the platform's manifests (entries
 *   without a platform, the exact platform and the one oci_index_select() picks) unless
 *   all_platforms.
 * - Otherwise manifest.json makes one Docker schema 2 manifest per element, written into the
 *   store exactly as containerd 1.6's importer writes it (same bytes, so the same digest):
 *   config application/vnd.docker.container.image.v1+json (digest = sha256 of the Config
 *   file), layers ...rootfs.diff.tar, or .tar.gzip when the file starts as gzip (zstd:
 *   application/vnd.oci.image.layer.v1.tar+zstd); one entry per RepoTags entry (one without
 *   a name when there are none). The config must parse and have one diff id per layer.
 * - Labels every index and manifest walked with its children (containerd.io/gc.ref.content.
 *   m.<i> on indexes, .config and .l.<i> on manifests), so that a garbage collector keeps
 *   what an image needs.
 *
 * Nothing is named, recorded or unpacked here. On failure blobs already written stay (the
 * caller holds them in a lease and drops it), ingests in progress are aborted and *ret is
 * untouched; on success *ret is the caller's (image_archive_result_release()).
 *
 * Errors: -EINVAL for an archive that is not a tar, is truncated or corrupt, has neither
 * oci-layout nor manifest.json, bad JSON or a field that is wrong (err names the file, the
 * element and the member: "manifest.json: [0]: Layers[1] \"x/layer.tar\": not in the
 * archive"), or more than the caps above; -ENOENT for a blob that is in neither the archive
 * nor the store ("index.json: manifests[0] sha256:...: config sha256:...: not in the
 * archive"); -EBADMSG for a blob whose bytes do not match its digest; -EFBIG for a JSON file
 * over its cap; -EOPNOTSUPP for an oci-layout of another version (or a digest of another
 * algorithm than sha256); the store's errors as they come.
 */
int image_archive_import(const struct image_archive_store *s, int tar_fd,
                         const struct image_archive_import_opts *o,
                         struct image_archive_result *ret, struct errmsg *err);

enum image_export_format {
        /* OCI layout plus a docker manifest.json and repositories: loadable by docker load
         * and ctr import alike, as ctr export writes it (the default). */
        IMAGE_EXPORT_OCI_AND_DOCKER,
        /* The OCI layout alone (ctr export --skip-manifest-json). */
        IMAGE_EXPORT_OCI,
        _IMAGE_EXPORT_FORMAT_MAX,
};

/* "oci+docker", "oci"; NULL when out of range. from_string: the format or -EINVAL. */
const char *image_export_format_to_string(enum image_export_format f);
int image_export_format_from_string(const char *s);

struct image_export_opts {
        enum image_export_format format;
        const struct oci_platform *platform; /* NULL: this host's */
        /* Every blob of every platform must be present; else another platform's missing
         * blobs are left out (the platform's own must be present). */
        bool all_platforms;
        /* No docker "repositories" file (ctr 1.6 export writes none; docker load does without) */
        bool skip_repositories;
        /* index.json lists the images in the order given (ctr's), not sorted by name */
        bool keep_order;
};

/*
 * Writes the images names (a strv, at least one; repeated names count once) of s as one
 * tar to out_fd (borrowed; written in order, never sought: a pipe works), laid out as ctr
 * export writes it, in this order:
 *   blobs/ and blobs/sha256/ (directories), blobs/sha256/<hex> for every blob the images
 *   reference (sorted by digest; mode 0444), index.json (one entry per name, sorted by name
 *   unless keep_order: the image's target annotated io.containerd.image.name = the name and
 *   org.opencontainers.image.ref.name = its tag, when it has one), manifest.json
 *   (IMAGE_EXPORT_OCI_AND_DOCKER: [{"Config":"blobs/sha256/<hex>","RepoTags":[familiar names
 *   with a tag],"Layers":["blobs/sha256/<hex>",...]}], one element per manifest, for the
 *   platform), oci-layout, and repositories (IMAGE_EXPORT_OCI_AND_DOCKER unless
 *   skip_repositories: {familiar repository: {tag: top layer hex}}). Members are owned by
 *   0:0 with mtime 0 (ustar), so the same images give the same bytes. docker load (moby
 *   20.10) decompresses layers itself, so gzip layers load as they are.
 *
 * Errors: -ENOENT for a name that is not an image of the store (image_get's error) or a blob
 * that must be exported but is not in the store; -EINVAL for a manifest or index that does
 * not parse or an image without the platform (docker format); write errors with their errno
 * (-EPIPE ...). On failure out_fd holds a partial tar.
 */
int image_archive_export(const struct image_archive_store *s, char *const *names, int out_fd,
                         const struct image_export_opts *o, struct errmsg *err);
