/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garbage collection, with containerd's rules (metadata/gc.go): the roots are images (their
 * target), containers (their snapshot), unexpired leases (their resources) and objects
 * labelled "containerd.io/gc.root"; from there references are followed through the labels
 * "containerd.io/gc.ref.content*" (a digest) and "containerd.io/gc.ref.snapshot.<snapshotter>"
 * (a key) on content and snapshots, and from every snapshot to its parent. Content records and
 * snapshots not reached are removed; then every blob no namespace records and no lease holds,
 * and the directories of the removed snapshots.
 * A client that is about to write content or snapshots holds them in a lease first (as
 * containerd's clients do), so a collection running meanwhile never takes them.
 */
#pragma once

#include "containerd/content.h"
#include "containerd/metadata.h"
#include "containerd/snapshot.h"

struct gc_result {
        size_t n_content_records;
        size_t n_snapshots;
        size_t n_blobs;
        uint64_t blob_bytes;
};

/* Collects garbage in md, cs and the given snapshotters (borrowed). */
int metadata_gc(struct metadata *md, struct content_store *cs, struct snapshotter *const *sns,
                size_t n_sns, struct gc_result *ret, struct errmsg *err);
