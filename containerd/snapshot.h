/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshotters: directories for root filesystems, chained by parent, as containerd's
 * snapshots.Snapshotter (prepare/view/mounts/commit/remove/stat/update/list/usage). The
 * snapshots' records live in the metadata database (one row each: snapshotter, namespace, key,
 * parent, kind, labels); their directories under <root>/snapshots/<id>/. Two backends:
 *   overlayfs  snapshots/<id>/fs and work; mounts are overlay (or a bind mount with no
 *              parent), returned exactly as containerd's overlay snapshotter returns them;
 *   native     snapshots/<id>/fs holds a full copy of the parent's tree; mounts are binds.
 * A commit syncs the snapshot's filesystem before it is recorded, so a committed snapshot is
 * never an empty shell after a power loss. A crash at any other point leaves at most a
 * directory without a record, which snapshotter_open removes.
 * Errors: -ENOENT (no such key or parent), -EEXIST (key taken), -EINVAL (bad key, parent not
 * committed, wrong kind), -EBUSY (removing a snapshot that has children).
 */
#pragma once

#include <time.h>

#include "containerd/metadata.h"

enum snapshot_kind {
        SNAPSHOT_KIND_UNKNOWN, /* containerd's numbering (snapshots.proto Kind) */
        SNAPSHOT_KIND_VIEW,
        SNAPSHOT_KIND_ACTIVE,
        SNAPSHOT_KIND_COMMITTED,
        _SNAPSHOT_KIND_MAX,
};
const char *snapshot_kind_to_string(enum snapshot_kind k);

enum snapshotter_type {
        SNAPSHOTTER_OVERLAYFS,
        SNAPSHOTTER_NATIVE,
        _SNAPSHOTTER_TYPE_MAX,
};
/* "overlayfs", "native"; from_string gives -EINVAL for others. */
const char *snapshotter_type_to_string(enum snapshotter_type t);
int snapshotter_type_from_string(const char *s);

/* One mount of a snapshot, as containerd's types.Mount. */
struct mount_spec {
        char *type;
        char *source;
        char **options; /* strv */
};
void mount_specs_free(struct mount_spec *v, size_t n);

struct snapshot_info {
        char *key;    /* the name, for committed snapshots */
        char *parent; /* NULL at the bottom of a chain */
        enum snapshot_kind kind;
        char **labels;
        struct timespec created_at;
        struct timespec updated_at;
};
void snapshot_info_release(struct snapshot_info *i);
void snapshot_infos_free(struct snapshot_info *v, size_t n);

struct snapshotter;

/* Opens the snapshotter whose directories live under root (created if needed), with its
 * records in md (borrowed; must outlive it), and removes directories left without a record. */
int snapshotter_open(struct metadata *md, enum snapshotter_type type, const char *root,
                     struct snapshotter **ret, struct errmsg *err);
struct snapshotter *snapshotter_free(struct snapshotter *s);
DEFINE_CLEANUP_FUNC(struct snapshotter, snapshotter_free)
const char *snapshotter_name(const struct snapshotter *s);

/* An active (writable) snapshot on top of the committed snapshot parent (NULL: empty). */
int snapshot_prepare(struct snapshotter *s, const char *ns, const char *key, const char *parent,
                     char *const *labels, struct mount_spec **ret, size_t *ret_n,
                     struct errmsg *err);
/* A read-only view of parent. */
int snapshot_view(struct snapshotter *s, const char *ns, const char *key, const char *parent,
                  char *const *labels, struct mount_spec **ret, size_t *ret_n, struct errmsg *err);
/* The mounts of an active snapshot or a view. */
int snapshot_mounts(struct snapshotter *s, const char *ns, const char *key, struct mount_spec **ret,
                    size_t *ret_n, struct errmsg *err);
/* Commits the active snapshot key as name (key is gone afterwards). */
int snapshot_commit(struct snapshotter *s, const char *ns, const char *name, const char *key,
                    char *const *labels, struct errmsg *err);
/* Removes a snapshot of any kind without children. */
int snapshot_remove(struct snapshotter *s, const char *ns, const char *key, struct errmsg *err);
int snapshot_stat(struct snapshotter *s, const char *ns, const char *key, struct snapshot_info *ret,
                  struct errmsg *err);
/* Sets labels as content_record_update_labels does (an empty value removes a key). */
int snapshot_update_labels(struct snapshotter *s, const char *ns, const char *key,
                           char *const *labels, bool replace_all, struct errmsg *err);
int snapshot_list(struct snapshotter *s, const char *ns, struct snapshot_info **ret, size_t *ret_n,
                  struct errmsg *err);
/* Disk usage of the snapshot's own directory (bytes and inodes, hard links counted once). */
int snapshot_usage(struct snapshotter *s, const char *ns, const char *key, int64_t *ret_size,
                   int64_t *ret_inodes, struct errmsg *err);

/*
 * Unpacking layers in parallel (overlayfs only): an active snapshot with no parent yet whose
 * upper directory is returned as an fd (the caller's) for a layer to be applied into with
 * overlay whiteouts; then snapshot_commit_onto() commits it on top of parent, which must be
 * committed by then. Layers of one image thus unpack at the same time and commit in order.
 */
int snapshot_prepare_unpack(struct snapshotter *s, const char *ns, const char *key, int *ret_dir_fd,
                            struct errmsg *err);
int snapshot_commit_onto(struct snapshotter *s, const char *ns, const char *name, const char *key,
                         const char *parent, char *const *labels, struct errmsg *err);
/* The directory holding an active snapshot's own files (overlay upper, native tree), as an
 * fd (the caller's): for applying a layer into a snapshot without mounting it. */
int snapshot_open_dir(struct snapshotter *s, const char *ns, const char *key, int *ret_dir_fd,
                      struct errmsg *err);
