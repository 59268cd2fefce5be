/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garbage collection (see gc.h). The mark phase is one recursive query over the roots and the
 * reference labels into a temporary table; the sweep deletes unmarked rows in the same
 * transaction, then, once that is committed, the files: snapshot directories and blobs.
 */
#include "containerd/gc.h"

#include <inttypes.h>

#include "containerd/metadata-internal.h"
#include "containerd/snapshot-internal.h"
#include "lib/xalloc.h"

/* The snapshotter named in a "containerd.io/gc.ref.snapshot.<name>[/...]" label key. */
#define SNAP_REF_NAME(k)                              \
        "CASE WHEN instr(substr(" k ", 31), '/') > 0" \
        " THEN substr(" k ", 31, instr(substr(" k ", 31), '/') - 1) ELSE substr(" k ", 31) END"

static const char mark_sql[] =
        "CREATE TEMP TABLE IF NOT EXISTS gc_marked (kind TEXT, ns TEXT, sn TEXT, id TEXT,"
        " PRIMARY KEY (kind, ns, sn, id));"
        "DELETE FROM temp.gc_marked;"
        /* expired leases are deleted, as containerd does; their resources go with them */
        "DELETE FROM leases WHERE EXISTS (SELECT 1 FROM lease_labels e"
        " WHERE e.namespace = leases.namespace AND e.owner = leases.id"
        " AND e.key = 'containerd.io/gc.expire' AND julianday(e.value) < julianday('now'));"
        "WITH RECURSIVE refs(kind, ns, sn, id) AS ("
        "  SELECT 'c', namespace, '', digest FROM images"
        "  UNION SELECT 'c', namespace, '', id FROM lease_resources WHERE type = 'content'"
        "  UNION SELECT 's', namespace, substr(type, 11), id FROM lease_resources"
        "   WHERE type LIKE 'snapshots/%'"
        "  UNION SELECT 's', namespace, snapshotter, snapshot_key FROM containers"
        "   WHERE snapshotter IS NOT NULL AND snapshot_key IS NOT NULL"
        "  UNION SELECT 'c', namespace, '', owner FROM content_labels"
        "   WHERE key = 'containerd.io/gc.root'"
        "  UNION SELECT 's', s.namespace, s.snapshotter, s.key FROM snapshot_labels l"
        "   JOIN snapshots s ON s.id = l.owner WHERE l.key = 'containerd.io/gc.root'"
        "  UNION SELECT 'c', l.namespace, '', l.value FROM refs r JOIN content_labels l"
        "   ON r.kind = 'c' AND l.namespace = r.ns AND l.owner = r.id"
        "   WHERE l.key LIKE 'containerd.io/gc.ref.content%'"
        "  UNION SELECT 's', l.namespace, " SNAP_REF_NAME(
                "l.key") ", l.value FROM refs r"
                         "   JOIN content_labels l ON r.kind = 'c' AND l.namespace = r.ns AND l.owner = r.id"
                         "   WHERE l.key LIKE 'containerd.io/gc.ref.snapshot.%'"
                         "  UNION SELECT 's', p.namespace, p.snapshotter, p.key FROM refs r JOIN snapshots s"
                         "   ON r.kind = 's' AND s.namespace = r.ns AND s.snapshotter = r.sn AND s.key = r.id"
                         "   JOIN snapshots p ON p.id = s.parent"
                         "  UNION SELECT 'c', s.namespace, '', l.value FROM refs r JOIN snapshots s"
                         "   ON r.kind = 's' AND s.namespace = r.ns AND s.snapshotter = r.sn AND s.key = r.id"
                         "   JOIN snapshot_labels l ON l.owner = s.id"
                         "   WHERE l.key LIKE 'containerd.io/gc.ref.content%'"
                         "  UNION SELECT 's', s.namespace, " SNAP_REF_NAME(
                                 "l.key") ", l.value FROM refs r"
                                          "   JOIN snapshots s"
                                          "   ON r.kind = 's' AND s.namespace = r.ns AND s.snapshotter = r.sn AND s.key = r.id"
                                          "   JOIN snapshot_labels l ON l.owner = s.id"
                                          "   WHERE l.key LIKE 'containerd.io/gc.ref.snapshot.%')"
                                          " INSERT INTO temp.gc_marked SELECT * FROM refs;";

struct removed_snapshot {
        char *snapshotter;
        int64_t id;
};

struct gc_state {
        struct removed_snapshot *removed;
        size_t n_removed;
        size_t alloc_removed;
        struct gc_result result;
};

static int sweep_content(sqlite3 *db, struct gc_state *g, struct errmsg *err)
{
        int r = db_exec(db,
                        "DELETE FROM content WHERE NOT EXISTS (SELECT 1 FROM temp.gc_marked m"
                        " WHERE m.kind = 'c' AND m.ns = content.namespace"
                        " AND m.id = content.digest)",
                        err);

        if (r >= 0)
                g->result.n_content_records += (size_t) db_changes(db);
        return r;
}

/* Deletes unmarked snapshots without children, repeatedly, so children go before parents. */
static int sweep_snapshots(sqlite3 *db, struct gc_state *g, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *find = NULL, *del = NULL;
        int r, rc;

        r = db_prepare(db,
                       "SELECT id, snapshotter FROM snapshots s WHERE NOT EXISTS (SELECT 1"
                       " FROM temp.gc_marked m WHERE m.kind = 's' AND m.ns = s.namespace"
                       " AND m.sn = s.snapshotter AND m.id = s.key)"
                       " AND NOT EXISTS (SELECT 1 FROM snapshots c WHERE c.parent = s.id)",
                       &find, err);
        if (r >= 0)
                r = db_prepare(db, "DELETE FROM snapshots WHERE id = ?1", &del, err);
        if (r < 0)
                return r;
        for (bool again = true; again;) {
                again = false;
                (void) sqlite3_reset(find);
                while ((rc = sqlite3_step(find)) == SQLITE_ROW) {
                        struct removed_snapshot *rs;

                        g->removed = xgrow(g->removed, &g->alloc_removed, g->n_removed + 1,
                                           sizeof(*g->removed));
                        rs = &g->removed[g->n_removed++];
                        rs->id = sqlite3_column_int64(find, 0);
                        rs->snapshotter = db_column_text(find, 1);
                        (void) sqlite3_reset(del);
                        (void) sqlite3_bind_int64(del, 1, rs->id);
                        r = db_step_done(db, del, err, "remove snapshot");
                        if (r < 0)
                                return r;
                        again = true;
                }
                if (rc != SQLITE_DONE)
                        return db_error(db, rc, err, "find unreferenced snapshots");
        }
        g->result.n_snapshots = g->n_removed;
        return 0;
}

static int gc_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct gc_state *g = userdata;
        int r = db_exec(db, mark_sql, err);

        if (r >= 0)
                r = sweep_content(db, g, err);
        if (r >= 0)
                r = sweep_snapshots(db, g, err);
        return r < 0 ? errmsg_prefix(err, r, "garbage collection") : r;
}

struct blob_sweep {
        struct metadata *md;
        struct content_store *cs;
        struct gc_result *result;
};

struct blob_query {
        const char *digest;
        bool is_held;
};

static int blob_held_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct blob_query *q = userdata;
        int r, rc;

        r = db_prepare(db,
                       "SELECT 1 FROM content WHERE digest = ?1 UNION ALL SELECT 1 FROM"
                       " lease_resources WHERE type = 'content' AND id = ?1 LIMIT 1",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, q->digest);
        rc = sqlite3_step(st);
        q->is_held = rc == SQLITE_ROW;
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(db, rc, err, "content");
}

static int sweep_blob(const struct content_info *info, void *userdata)
{
        struct blob_sweep *b = userdata;
        struct blob_query q = {.digest = info->digest};
        int r = metadata_transaction(b->md, blob_held_txn, &q, NULL);

        if (r < 0 || q.is_held) /* when the database fails, keep it */
                return 0;
        if (content_store_delete(b->cs, info->digest, NULL) >= 0) {
                b->result->n_blobs++;
                b->result->blob_bytes += info->size;
        }
        return 0;
}

int metadata_gc(struct metadata *md, struct content_store *cs, struct snapshotter *const *sns,
                size_t n_sns, struct gc_result *ret, struct errmsg *err)
{
        struct gc_state g = {0};
        struct blob_sweep b = {.md = md, .cs = cs, .result = &g.result};
        int r = metadata_transaction(md, gc_txn, &g, err);

        for (size_t i = 0; r >= 0 && i < g.n_removed; i++)
                for (size_t j = 0; j < n_sns; j++)
                        if (STREQ(snapshotter_name(sns[j]), g.removed[i].snapshotter))
                                snapshot_remove_dir(sns[j], g.removed[i].id);
        for (size_t i = 0; i < g.n_removed; i++)
                free(g.removed[i].snapshotter);
        free(g.removed);
        if (r < 0)
                return r;
        if (cs)
                (void) content_store_walk(cs, sweep_blob, &b);
        if (ret)
                *ret = g.result;
        return 0;
}
