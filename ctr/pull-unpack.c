/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unpacking an image through the API, as ctr's client does it (containerd 1.6 image.go
 * Unpack and rootfs/apply.go): the snapshotter's Stat, Prepare, Commit and Remove and the
 * Diff service's Apply for every layer not unpacked yet, then the labels the garbage
 * collector follows. Used by pull and import.
 */
#include <stdlib.h>

#include "containerd/services/diff/v1/diff.pb-c.h"
#include "containerd/services/namespaces/v1/namespace.pb-c.h"
#include "containerd/services/snapshots/v1/snapshots.pb-c.h"
#include "ctr/image.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define SNAPSHOTS_SERVICE        "/containerd.services.snapshots.v1.Snapshots/"
#define LABEL_DEFAULT_SNAPSHOTER "containerd.io/defaults/snapshotter"
#define DEFAULT_SNAPSHOTTER      "overlayfs"
#define LABEL_UNCOMPRESSED       "containerd.io/uncompressed"
#define LABEL_GC_REF_SNAPSHOT    "containerd.io/gc.ref.snapshot."
/* Prepare retries with a new key when the key exists (as rootfs.applyLayers). */
#define PREPARE_ATTEMPTS 8

typedef Containerd__Types__Mount mount_msg;

int ctr_snapshotter_name(struct ctr *c, const char *flag, char **ret, struct errmsg *err)
{
        Containerd__Services__Namespaces__V1__GetNamespaceRequest req =
                CONTAINERD__SERVICES__NAMESPACES__V1__GET_NAMESPACE_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Namespaces__V1__GetNamespaceResponse *resp = NULL;
        _cleanup_strv_ char **labels = NULL;
        int r;

        if (flag && *flag) {
                *ret = xstrdup(flag);
                return 0;
        }
        req.name = (char *) c->opts->namespace;
        r = ctr_call(c, "/containerd.services.namespaces.v1.Namespaces/Get", &req.base,
                     &containerd__services__namespaces__v1__get_namespace_response__descriptor,
                     &resp, err);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0 && resp->namespace_)
                labels = ctr_map_labels((void *const *) resp->namespace_->labels,
                                        resp->namespace_->n_labels);
        for (size_t i = 0; labels && labels[i]; i += 2)
                if (STREQ(labels[i], LABEL_DEFAULT_SNAPSHOTER) && labels[i + 1][0]) {
                        *ret = xstrdup(labels[i + 1]);
                        return 0;
                }
        *ret = xstrdup(DEFAULT_SNAPSHOTTER);
        return 0;
}

/* Whether snapshot key exists: 1, 0 when it does not, or -errno. */
static int snapshot_exists(struct ctr *c, const char *snapshotter, const char *key,
                           struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__StatSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__STAT_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Snapshots__V1__StatSnapshotResponse *resp = NULL;
        struct errmsg e = {0};
        int r;

        req.snapshotter = (char *) snapshotter;
        req.key = (char *) key;
        r = ctr_call(c, SNAPSHOTS_SERVICE "Stat", &req.base,
                     &containerd__services__snapshots__v1__stat_snapshot_response__descriptor,
                     &resp, &e);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return errmsg_set(err, r, "failed to stat snapshot %s: %s", key, e.msg);
        return 1;
}

static int snapshot_remove(struct ctr *c, const char *snapshotter, const char *key,
                           struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__RemoveSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__REMOVE_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;

        req.snapshotter = (char *) snapshotter;
        req.key = (char *) key;
        return ctr_call(c, SNAPSHOTS_SERVICE "Remove", &req.base,
                        &google__protobuf__empty__descriptor, &resp, err);
}

/* Prepares "extract-<unique> <chain id>" on parent; *ret_key and *ret (the mounts) are the
 * caller's. */
static int prepare(struct ctr *c, const char *snapshotter, const char *chain_id, const char *parent,
                   char **ret_key,
                   Containerd__Services__Snapshots__V1__PrepareSnapshotResponse **ret,
                   struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__PrepareSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__INIT;
        int r = -EEXIST;

        for (int i = 0; i < PREPARE_ATTEMPTS && r == -EEXIST; i++) {
                _cleanup_free_ char *unique = ctr_unique_part();
                _cleanup_free_ char *key = xasprintf("extract-%s %s", unique, chain_id);

                req.snapshotter = (char *) snapshotter;
                req.key = key;
                req.parent = (char *) (parent ? parent : "");
                r = ctr_call(
                        c, SNAPSHOTS_SERVICE "Prepare", &req.base,
                        &containerd__services__snapshots__v1__prepare_snapshot_response__descriptor,
                        ret, err);
                if (r >= 0)
                        *ret_key = TAKE_PTR(key);
        }
        if (r < 0)
                return errmsg_prefix(
                        err, r, "failed to prepare extraction snapshot \"extract-* %s\"", chain_id);
        return 0;
}

/* Diff.Apply of layer onto mounts; ret_diff_id gets the digest of what was applied. */
static int apply(struct ctr *c, const struct oci_descriptor *layer, mount_msg **mounts,
                 size_t n_mounts, char ret_diff_id[DIGEST_STR_MAX], struct errmsg *err)
{
        Containerd__Services__Diff__V1__ApplyRequest req =
                CONTAINERD__SERVICES__DIFF__V1__APPLY_REQUEST__INIT;
        Containerd__Types__Descriptor d = CONTAINERD__TYPES__DESCRIPTOR__INIT;
        _cleanup_pb_ Containerd__Services__Diff__V1__ApplyResponse *resp = NULL;
        int r;

        d.media_type = layer->media_type;
        d.digest = layer->digest;
        d.size = layer->size;
        d.annotations = (Containerd__Types__Descriptor__AnnotationsEntry **) ctr_map_new(
                &containerd__types__descriptor__annotations_entry__descriptor, layer->annotations,
                &d.n_annotations);
        req.diff = &d;
        req.mounts = mounts;
        req.n_mounts = n_mounts;
        r = ctr_call(c, "/containerd.services.diff.v1.Diff/Apply", &req.base,
                     &containerd__services__diff__v1__apply_response__descriptor, &resp, err);
        ctr_map_free((void **) d.annotations, d.n_annotations);
        if (r < 0)
                return r;
        (void) snprintf(ret_diff_id, DIGEST_STR_MAX, "%s",
                        resp->applied && resp->applied->digest ? resp->applied->digest : "");
        return 0;
}

static int commit(struct ctr *c, const char *snapshotter, const char *name, const char *key,
                  struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__CommitSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__COMMIT_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;

        req.snapshotter = (char *) snapshotter;
        req.name = (char *) name;
        req.key = (char *) key;
        return ctr_call(c, SNAPSHOTS_SERVICE "Commit", &req.base,
                        &google__protobuf__empty__descriptor, &resp, err);
}

/*
 * rootfs.applyLayers for one layer: prepare on parent, apply, check the diff id, commit as
 * chain_id. The extraction snapshot is removed on failure. 1 when applied, 0 when someone
 * else committed it meanwhile.
 */
static int apply_layer(struct ctr *c, const char *snapshotter, const struct oci_descriptor *layer,
                       const char *diff_id, const char *chain_id, const char *parent,
                       struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Snapshots__V1__PrepareSnapshotResponse *mounts = NULL;
        _cleanup_free_ char *key = NULL;
        char applied[DIGEST_STR_MAX];
        int r;

        r = prepare(c, snapshotter, chain_id, parent, &key, &mounts, err);
        if (r < 0)
                return r;
        r = apply(c, layer, mounts->mounts, mounts->n_mounts, applied, err);
        if (r < 0)
                r = errmsg_prefix(err, r, "failed to extract layer %s", diff_id);
        else if (!STREQ(applied, diff_id))
                r = errmsg_set(err, -EBADMSG, "wrong diff id calculated on extraction \"%s\"",
                               applied);
        else
                r = commit(c, snapshotter, chain_id, key, err);
        if (r == -EEXIST || r < 0) {
                struct errmsg e = {0};

                if (snapshot_remove(c, snapshotter, key, &e) < 0)
                        log_warn("extraction snapshot %s removal failed: %s", key, e.msg);
        }
        if (r == -EEXIST)
                return 0;
        return r < 0 ? r : 1;
}

static int unpack_layers(struct ctr *c, const struct ctr_image *img, const char *snapshotter,
                         struct errmsg *err)
{
        const struct oci_manifest *m = img->manifest;

        if (img->config->n_diff_ids != m->n_layers)
                return errmsg_set(err, -EINVAL, "mismatched image rootfs and manifest layers");
        for (size_t i = 0; i < m->n_layers; i++) {
                const char *chain = img->chain_ids[i], *parent = i ? img->chain_ids[i - 1] : NULL;
                char *labels[] = {(char *) LABEL_UNCOMPRESSED, img->config->diff_ids[i], NULL};
                int r;

                r = snapshot_exists(c, snapshotter, chain, err);
                if (r == 0)
                        r = apply_layer(c, snapshotter, &m->layers[i], img->config->diff_ids[i],
                                        chain, parent, err);
                else if (r > 0)
                        r = 0;
                /* set once the diff id is verified by the apply */
                if (r > 0)
                        r = ctr_content_label(c, m->layers[i].digest, labels, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ctr_unpack(struct ctr *c, const struct ctr_image *img, const char *snapshotter,
               struct errmsg *err)
{
        _cleanup_free_ char *key = xasprintf(LABEL_GC_REF_SNAPSHOT "%s", snapshotter);
        bool has_lease = c->lease != NULL;
        size_t n = strv_length(img->chain_ids);
        int r;

        r = ctr_lease_begin(c, err);
        if (r < 0)
                return r;
        r = unpack_layers(c, img, snapshotter, err);
        if (r >= 0 && n > 0) {
                char *labels[] = {key, img->chain_ids[n - 1], NULL};

                r = ctr_content_label(c, img->config_digest, labels, err);
        }
        if (!has_lease)
                ctr_lease_end(c);
        return r;
}
