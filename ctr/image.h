/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images as ctr's commands see them through the API: a blob read from the content store
 * (Content.Read), and an image record resolved for a platform to its manifest, config and
 * layer chain ids (Images.Get, then the index, manifest and config blobs).
 */
#pragma once

#include "ctr/ctr.h"
#include "lib/image-spec.h"

/* Reads the blob digest whole (at most max bytes: -EFBIG) into *ret (NUL-terminated, the
 * caller's); -ENOENT with containerd's words when the store has no such blob. */
int ctr_content_read(struct ctr *c, const char *digest, size_t max, char **ret, size_t *ret_len,
                     struct errmsg *err);

struct ctr_image {
        char *name;
        char *target_digest; /* the record's target (index or manifest) */
        char *target_media_type;
        char *manifest_digest; /* the manifest for the platform */
        struct oci_manifest *manifest;
        char *config_digest;
        struct oci_image_config *config; /* config->json has Env, Cmd, ... */
        char **chain_ids;                /* strv, bottom layer first */
};

/*
 * Images.Get name, then the manifest that serves platform (NULL: the host's, as
 * oci_platform_default) and its config. -ENOENT "image \"%s\": not found" as ctr words it.
 */
int ctr_image_resolve(struct ctr *c, const char *name, const struct oci_platform *platform,
                      struct ctr_image **ret, struct errmsg *err);
/* The same up to the manifest: config and chain_ids stay NULL (ctr images check). */
int ctr_image_resolve_manifest(struct ctr *c, const char *name, const struct oci_platform *platform,
                               struct ctr_image **ret, struct errmsg *err);
/* Reads img's config and works out its chain ids (after ctr_image_resolve_manifest()). */
int ctr_image_load_config(struct ctr *c, struct ctr_image *img, struct errmsg *err);
struct ctr_image *ctr_image_free(struct ctr_image *img);
DEFINE_CLEANUP_FUNC(struct ctr_image, ctr_image_free)

/* --- labels as protobuf maps ---------------------------------------------------------- */

/*
 * Map entries of entry_desc (any of the generated *__LabelsEntry descriptors: they share the
 * layout base, key, value) for labels, a strv of key, value pairs (borrowed: the entries point
 * into it). Free with ctr_map_free(). *ret_n gets the count.
 */
void **ctr_map_new(const ProtobufCMessageDescriptor *entry_desc, char *const *labels,
                   size_t *ret_n);
void ctr_map_free(void **entries, size_t n);
/* The pairs of a received map as a strv of key, value (the caller's). */
char **ctr_map_labels(void *const *entries, size_t n);

/* commands.LabelArgs: "k=v" operands as a strv of key, value ("k" alone is "true"; a later
 * key wins). The caller's. */
char **ctr_label_args(char *const *args);
/* go-digest's Parse/Validate: -EINVAL with its words ("invalid checksum digest format",
 * "invalid checksum digest length", "unsupported digest algorithm"). */
int ctr_digest_validate(const char *s, struct errmsg *err);

/* --- leases --------------------------------------------------------------------------- */

/*
 * ctr's client.WithLease(): a lease with a random id ("<nanoseconds>-<base64 of 3 random
 * bytes>") and containerd.io/gc.expire 24 hours ahead, held in c->lease (sent with every
 * call) until ctr_lease_end() deletes it. Nothing happens when c already holds one.
 */
int ctr_lease_begin(struct ctr *c, struct errmsg *err);
/* Deletes the lease ctr_lease_begin() made (errors are logged at debug) and clears c->lease. */
void ctr_lease_end(struct ctr *c);
/* "<nanoseconds>-<base64url of 3 random bytes>": leases' and extraction keys' unique part. */
char *ctr_unique_part(void);

/* --- content -------------------------------------------------------------------------- */

/* Content.Info: size and labels (a strv of key, value; the caller's, may be NULL). */
int ctr_content_info(struct ctr *c, const char *digest, int64_t *ret_size, char ***ret_labels,
                     struct errmsg *err);
/* Content.Update of the keys of labels (strv of key, value; "" removes), one call, as ctr's
 * handlers do it: the mask names "labels.<key>" for each. */
int ctr_content_label(struct ctr *c, const char *digest, char *const *labels, struct errmsg *err);

/*
 * One Content.Write stream (containerd's content/proxy remoteWriter): open sends STAT with the
 * ref, the total and the expected digest; -EEXIST when the store has expected already
 * (ALREADY_EXISTS); otherwise ctr_writer_offset() tells where the ingest stands (a resumed
 * ingest continues there). Writes are buffered and sent as WRITE messages of up to 1 MiB, each
 * answered before the next; commit sends COMMIT with the size, the expected digest and labels
 * and checks the answer (an ALREADY_EXISTS answer is a success). Freeing closes the stream;
 * the ingest stays for a later resume unless committed.
 */
struct ctr_writer;
int ctr_writer_open(struct ctr *c, const char *ref, int64_t total, const char *expected,
                    struct ctr_writer **ret, struct errmsg *err);
int64_t ctr_writer_offset(const struct ctr_writer *w);
int ctr_writer_write(struct ctr_writer *w, const void *buf, size_t len, struct errmsg *err);
/* Sends what is buffered now: a download that failed keeps what it got for a resume. w may
 * be NULL. */
int ctr_writer_flush(struct ctr_writer *w, struct errmsg *err);
/* labels: strv of key, value or NULL. ret_digest (may be NULL) gets what the store computed. */
int ctr_writer_commit(struct ctr_writer *w, int64_t size, const char *expected, char *const *labels,
                      char ret_digest[DIGEST_STR_MAX], struct errmsg *err);
struct ctr_writer *ctr_writer_free(struct ctr_writer *w);
DEFINE_CLEANUP_FUNC(struct ctr_writer, ctr_writer_free)
/* Content.Abort of ref. */
int ctr_content_abort(struct ctr *c, const char *ref, struct errmsg *err);

/* --- images and unpacking ------------------------------------------------------------- */

/* A target descriptor as the Images service takes it (strings borrowed). */
struct ctr_target {
        const char *media_type;
        const char *digest;
        int64_t size;
        char *const *annotations; /* strv of key, value or NULL */
};

/*
 * containerd's createNewImage(): Images.Create of name -> target with labels (strv of key,
 * value or NULL); when the name exists, Images.Update of the whole record (target and labels);
 * when it vanished meanwhile, Create again.
 */
int ctr_image_put(struct ctr *c, const char *name, const struct ctr_target *target,
                  char *const *labels, struct errmsg *err);

/*
 * The snapshotter to use: flag when set, else the namespace's label
 * containerd.io/defaults/snapshotter, else "overlayfs" (the client's resolveSnapshotterName).
 * *ret is the caller's.
 */
int ctr_snapshotter_name(struct ctr *c, const char *flag, char **ret, struct errmsg *err);

/*
 * ctr's Image.Unpack() for img (resolved for its platform): each layer whose chain id the
 * snapshotter lacks is applied (Snapshots.Prepare "extract-<unique> <chain id>" on the parent,
 * Diff.Apply, the diff id checked, Snapshots.Commit as the chain id; the key is removed on
 * failure) and its blob labelled containerd.io/uncompressed; then the config is labelled
 * containerd.io/gc.ref.snapshot.<snapshotter> = the top chain id. Runs under c's lease (one is
 * taken for the call if c holds none).
 */
int ctr_unpack(struct ctr *c, const struct ctr_image *img, const char *snapshotter,
               struct errmsg *err);

/* --- commands of ctr images (cmd-images.c's table) ------------------------------------ */

int images_pull(struct ctr *c, int argc, char **argv, struct errmsg *err);
int images_import(struct ctr *c, int argc, char **argv, struct errmsg *err);
int images_export(struct ctr *c, int argc, char **argv, struct errmsg *err);
