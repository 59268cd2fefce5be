/* SPDX-License-Identifier: Apache-2.0 */
/* What snapshot.c (records, lifecycle) shares with the backends (snapshot-overlay.c,
 * snapshot-native.c). Not a contract outside containerd/. */
#pragma once

#include "containerd/snapshot.h"

struct snapshotter {
        struct metadata *md; /* borrowed */
        enum snapshotter_type type;
        char *root;
        int snapshots_fd;   /* <root>/snapshots */
        bool has_index_off; /* the overlay module knows "index=off" */
};

/* Creates snapshots/<id>/ for a new snapshot: overlay fs + work; native fs, holding a copy of
 * parent_id's fs when parent_id > 0. On failure nothing of <id> is left. */
int overlay_create_dirs(struct snapshotter *s, int64_t id, struct errmsg *err);
int native_create_dirs(struct snapshotter *s, int64_t id, int64_t parent_id, struct errmsg *err);

/* The mounts for snapshot id of kind, with its parents' ids (closest first). */
int overlay_mounts(const struct snapshotter *s, int64_t id, enum snapshot_kind kind,
                   const int64_t *parents, size_t n_parents, struct mount_spec **ret,
                   size_t *ret_n);
int native_mounts(const struct snapshotter *s, int64_t id, enum snapshot_kind kind,
                  struct mount_spec **ret, size_t *ret_n);

/* An fd of the directory holding key's own files (fs), of any kind unless need_active. */
int snapshot_dir_fd(struct snapshotter *s, const char *ns, const char *key, bool need_active,
                    int *ret_dir_fd, struct errmsg *err);

/* Removes the directories under snapshots/ that have no record (what a crash leaves). */
int snapshotter_remove_orphans(struct snapshotter *s, struct errmsg *err);

/* Removes snapshots/<id> (its record is gone already); errors are ignored: a leftover is
 * removed by the next snapshotter_open. */
void snapshot_remove_dir(struct snapshotter *s, int64_t id);

/* Copies the tree at src_fd into the empty directory dst_fd: files, directories, symlinks,
 * devices, fifos, hard links (as links), owners, modes, xattrs and times. */
int tree_copy(int src_fd, int dst_fd, struct errmsg *err);
