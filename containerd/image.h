/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images over the store: resolving a target (index or manifest) to the manifest and config for
 * a platform, chain ids, and unpacking layers into snapshots named by chain id, with the
 * labels containerd's garbage collector and clients follow:
 *   on an index:    containerd.io/gc.ref.content.m.<i> = manifest digest
 *   on a manifest:  containerd.io/gc.ref.content.config = config digest,
 *                   containerd.io/gc.ref.content.l.<i> = layer digest
 *   on a config:    containerd.io/gc.ref.snapshot.<snapshotter> = top chain id
 *   on a layer:     containerd.io/uncompressed = diff id
 */
#pragma once

#include "containerd/store.h"
#include "lib/image-spec.h"

#define LABEL_GC_ROOT         "containerd.io/gc.root"
#define LABEL_GC_EXPIRE       "containerd.io/gc.expire"
#define LABEL_GC_REF_CONTENT  "containerd.io/gc.ref.content"
#define LABEL_GC_REF_SNAPSHOT "containerd.io/gc.ref.snapshot."
#define LABEL_UNCOMPRESSED    "containerd.io/uncompressed"
#define CONFIG_MAX_BYTES      (8u << 20)

/* Reads a whole blob (at most max bytes: -EFBIG past it) into a NUL-terminated buffer. */
int image_read_blob(struct store *st, const char *digest, size_t max, char **ret, size_t *ret_len,
                    struct errmsg *err);

struct image_resolved {
        char manifest_digest[DIGEST_STR_MAX];
        struct oci_manifest *manifest;
        struct oci_image_config *config;
};
void image_resolved_release(struct image_resolved *r);
/* target: an index (the platform's manifest is chosen; NULL platform: this host's) or a
 * manifest, read from the content store; -ENOENT when a blob is missing, -EINVAL when they do
 * not parse or no manifest matches the platform, or layers and diff ids disagree in number. */
int image_resolve(struct store *st, const struct descriptor *target,
                  const struct oci_platform *platform, struct image_resolved *ret,
                  struct errmsg *err);

/*
 * Unpacks the image's layers from the content store into snapshots named by chain id in the
 * snapshotter (layers already unpacked are skipped), checks every diff id against the config,
 * sets the labels above, and gives the top chain id. Work in progress is held by a lease; on
 * failure no new snapshot is left.
 */
int image_unpack(struct store *st, const char *ns, const struct descriptor *target,
                 const struct oci_platform *platform, const char *snapshotter,
                 char ret_chain_id[DIGEST_STR_MAX], struct errmsg *err);

/* Sets one label on ns's record of digest (recording it first if needed, with size). */
int image_label_content(struct store *st, const char *ns, const char *digest, int64_t size,
                        const char *key, const char *value, struct errmsg *err);

/* A lease id unique to this process and moment, "<prefix>-<nanoseconds>-<random>", created in ns
 * with an expiry an hour ahead (so that a crashed client's lease does not hold forever). */
int image_lease_create(struct store *st, const char *ns, const char *prefix, char **ret_id,
                       struct errmsg *err);

/* Pulling from a registry (image-pull.c). */
struct registry_client;

enum pull_state {
        PULL_STATE_WAITING,
        PULL_STATE_DOWNLOADING,
        PULL_STATE_DONE,   /* downloaded (and, when unpacking, unpacked) */
        PULL_STATE_EXISTS, /* was in the store already */
        _PULL_STATE_MAX,
};
const char *pull_state_to_string(enum pull_state s);

struct pull_progress {
        const char *digest; /* the blob */
        const char *media_type;
        enum pull_state state;
        uint64_t done;
        uint64_t total;
};
/* Called from the pulling thread, in order for each blob. */
typedef void (*pull_progress_fn)(void *userdata, const struct pull_progress *p);

struct pull_opts {
        const struct oci_platform *platform; /* NULL: this host's */
        const char *snapshotter;             /* unpack into it; NULL: download only */
        pull_progress_fn progress;
        void *progress_userdata;
};

/*
 * Pulls ref ("busybox", "127.0.0.1:5000/a/b:tag", "...@sha256:...") into ns: the index or
 * manifest, the platform's manifest and config, and every layer, several at a time. With a
 * snapshotter, each layer is decompressed and unpacked while it downloads, into its own
 * snapshot (overlayfs: all layers at once; they are committed in order once complete); with
 * native, after the download. Every blob is verified against its digest and every layer
 * against the config's diff ids before anything is committed. The image record (name = the
 * normalised reference) is written last: on failure none is, and downloads already made stay
 * as ingests that the next pull resumes with a Range request.
 * ret (may be NULL) gets the record; the caller releases it.
 */
int image_pull(struct store *st, struct registry_client *c, const char *ns, const char *ref,
               const struct pull_opts *o, struct image_record *ret, struct errmsg *err);

/* Pushing to a registry (image-push.c). */
struct push_opts {
        const struct oci_platform *platform; /* of an index, push only this platform's
                                              * manifest (NULL: every manifest whose blobs
                                              * are in the store) */
        pull_progress_fn progress;           /* states: waiting, done, exists */
        void *progress_userdata;
};
/*
 * Pushes ns's image name to remote (a reference: its tag, or its digest, names the upload;
 * NULL: the image's own name): the blobs the registry lacks (layers mounted from another
 * repository of the same registry when a "containerd.io/distribution.source.<host>" label
 * names one), then manifests children first, the top one under the tag. ret_digest (may be
 * NULL) gets the top digest. Blobs missing from the store are an error (-ENOENT).
 */
int image_push(struct store *st, struct registry_client *c, const char *ns, const char *name,
               const char *remote, const struct push_opts *o, char ret_digest[DIGEST_STR_MAX],
               struct errmsg *err);
#define LABEL_DISTRIBUTION_SOURCE "containerd.io/distribution.source."
