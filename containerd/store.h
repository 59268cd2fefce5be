/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The storage half of berth-containerd under one root, laid out as containerd's plugins are:
 *   <root>/io.containerd.content.v1.content/        content store (content.h)
 *   <root>/io.containerd.metadata.v1.sqlite/meta.db  metadata (metadata.h)
 *   <root>/io.containerd.snapshotter.v1.overlayfs/   overlayfs snapshots (snapshot.h)
 *   <root>/io.containerd.snapshotter.v1.native/      native snapshots
 * Opening it checks what a crash may have left (store_check).
 */
#pragma once

#include "containerd/content.h"
#include "containerd/metadata.h"
#include "containerd/snapshot.h"

struct store {
        char *root;
        struct metadata *md;
        struct content_store *cs;
        struct snapshotter *snapshotters[_SNAPSHOTTER_TYPE_MAX];
};

/* Opens or creates the store; the overlayfs snapshotter only where overlay mounts work is not
 * checked here (the daemon decides which one is the default). */
int store_open(const char *root, struct store **ret, struct errmsg *err);
struct store *store_free(struct store *st);
DEFINE_CLEANUP_FUNC(struct store, store_free)
/* The snapshotter called name ("overlayfs", "native"); NULL (err set) for others. */
struct snapshotter *store_snapshotter(struct store *st, const char *name, struct errmsg *err);

struct store_check_result {
        size_t n_blobs_checked;
        size_t n_blobs_hashed;
        size_t n_blobs_damaged;     /* removed: their content will be fetched again */
        size_t n_snapshots_damaged; /* committed snapshots whose directory was missing */
};
/*
 * Cheap checks of what a power loss can damage (metadata says done, files are not): every
 * recorded blob exists with its recorded size, and the newest blobs (up to hash_budget bytes)
 * are hashed again. A damaged blob is removed with its records' labels kept, so that the next
 * pull fetches it again rather than trusting it forever; a committed snapshot without its
 * directory is removed with its children so that the next unpack makes it again.
 */
int store_check(struct store *st, uint64_t hash_budget, struct store_check_result *ret,
                struct errmsg *err);
