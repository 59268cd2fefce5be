/* SPDX-License-Identifier: Apache-2.0 */
/* The store's layout under one root, and its start-up check for crash damage (store.h). */
#include "containerd/store.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "containerd/metadata-internal.h"
#include "containerd/snapshot-internal.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

#define CONTENT_DIR  "io.containerd.content.v1.content"
#define METADATA_DIR "io.containerd.metadata.v1.sqlite"
#define HASH_CHUNK   (1u << 20)

struct store *store_free(struct store *st)
{
        if (!st)
                return NULL;
        for (size_t i = 0; i < _SNAPSHOTTER_TYPE_MAX; i++)
                snapshotter_free(st->snapshotters[i]);
        content_store_free(st->cs);
        metadata_free(st->md);
        free(st->root);
        free(st);
        return NULL;
}

int store_open(const char *root, struct store **ret, struct errmsg *err)
{
        _cleanup_(store_freep) struct store *st = xnew0(struct store, 1);
        _cleanup_free_ char *content = xasprintf("%s/" CONTENT_DIR, root);
        _cleanup_free_ char *meta_dir = xasprintf("%s/" METADATA_DIR, root);
        _cleanup_free_ char *db = xasprintf("%s/meta.db", meta_dir);
        int r;

        st->root = xstrdup(root);
        r = mkdir_p_at(AT_FDCWD, meta_dir, 0700);
        if (r < 0)
                return errmsg_set(err, r, "store %s: %s", root, strerror(-r));
        r = metadata_open(db, &st->md, err);
        if (r >= 0)
                r = content_store_open(content, &st->cs, err);
        for (size_t i = 0; r >= 0 && i < _SNAPSHOTTER_TYPE_MAX; i++) {
                _cleanup_free_ char *dir = xasprintf("%s/io.containerd.snapshotter.v1.%s", root,
                                                     snapshotter_type_to_string(i));

                r = snapshotter_open(st->md, (enum snapshotter_type) i, dir, &st->snapshotters[i],
                                     err);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(st);
        return 0;
}

struct snapshotter *store_snapshotter(struct store *st, const char *name, struct errmsg *err)
{
        int t = snapshotter_type_from_string(name);

        if (t < 0) {
                (void) errmsg_set(err, -EINVAL, "snapshotter \"%s\": not found (overlayfs, native)",
                                  name ? name : "");
                return NULL;
        }
        return st->snapshotters[t];
}

/* Recorded blobs, newest first: digest and size (one row per digest). */
struct recorded {
        char digest[DIGEST_STR_MAX];
        int64_t size;
};

struct recorded_list {
        struct recorded *v;
        size_t n;
        size_t alloc;
};

static int recorded_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct recorded_list *l = userdata;
        int r, rc;

        r = db_prepare(db,
                       "SELECT digest, max(size), max(updated_at) AS t FROM content"
                       " GROUP BY digest ORDER BY t DESC",
                       &st, err);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                l->v = xgrow(l->v, &l->alloc, l->n + 1, sizeof(*l->v));
                (void) snprintf(l->v[l->n].digest, DIGEST_STR_MAX, "%s",
                                (const char *) sqlite3_column_text(st, 0));
                l->v[l->n++].size = sqlite3_column_int64(st, 1);
        }
        return rc == SQLITE_DONE ? 0 : db_error(db, rc, err, "list content");
}

static bool blob_hash_matches(struct content_store *cs, const char *digest)
{
        _cleanup_(digester_freep) struct digester *d = digester_new();
        _cleanup_free_ uint8_t *buf = xmalloc(HASH_CHUNK);
        _cleanup_close_ int fd = -EBADF;
        char actual[DIGEST_STR_MAX];
        ssize_t n;

        if (content_store_open_blob(cs, digest, &fd, NULL) < 0)
                return false;
        while ((n = read(fd, buf, HASH_CHUNK)) > 0)
                digester_update(d, buf, (size_t) n);
        if (n < 0)
                return false;
        digester_final(d, actual);
        return STREQ(actual, digest);
}

static void check_blobs(struct store *st, const struct recorded_list *l, uint64_t budget,
                        struct store_check_result *res)
{
        for (size_t i = 0; i < l->n; i++) {
                struct content_info info;
                bool is_damaged;
                int r = content_store_info(st->cs, l->v[i].digest, &info, NULL);

                res->n_blobs_checked++;
                if (r == -ENOENT)
                        continue; /* recorded but never fetched, or collected: not damage */
                is_damaged = r < 0 || (int64_t) info.size != l->v[i].size;
                if (!is_damaged && info.size <= budget) {
                        budget -= info.size;
                        res->n_blobs_hashed++;
                        is_damaged = !blob_hash_matches(st->cs, l->v[i].digest);
                }
                if (is_damaged) {
                        res->n_blobs_damaged++;
                        (void) content_store_delete(st->cs, l->v[i].digest, NULL);
                }
        }
}

struct broken_snapshot {
        struct snapshotter *sn;
        int64_t *ids;
        size_t n;
        size_t alloc;
};

/* Committed snapshots whose fs directory is gone, and everything above them. */
static int broken_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct broken_snapshot *b = userdata;
        int r, rc;

        r = db_prepare(db, "SELECT id FROM snapshots WHERE snapshotter = ?1 AND kind = ?2", &st,
                       err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, snapshotter_name(b->sn));
        (void) sqlite3_bind_int(st, 2, SNAPSHOT_KIND_COMMITTED);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                int64_t id = sqlite3_column_int64(st, 0);
                char path[48];
                struct stat s;

                (void) snprintf(path, sizeof(path), "%" PRId64 "/fs", id);
                if (fstatat(b->sn->snapshots_fd, path, &s, 0) >= 0)
                        continue;
                b->ids = xgrow(b->ids, &b->alloc, b->n + 1, sizeof(*b->ids));
                b->ids[b->n++] = id;
        }
        if (rc != SQLITE_DONE)
                return db_error(db, rc, err, "check snapshots");
        for (size_t i = 0; i < b->n; i++) {
                _cleanup_stmt_ sqlite3_stmt *del = NULL;

                /* the snapshot and all its descendants, children first via the recursion */
                r = db_prepare(db,
                               "WITH RECURSIVE d(id) AS (SELECT ?1 UNION SELECT s.id FROM"
                               " snapshots s JOIN d ON s.parent = d.id)"
                               " DELETE FROM snapshots WHERE id IN d",
                               &del, err);
                if (r < 0)
                        return r;
                (void) sqlite3_bind_int64(del, 1, b->ids[i]);
                r = db_step_done(db, del, err, "remove broken snapshots");
                if (r < 0)
                        return r;
        }
        return 0;
}

int store_check(struct store *st, uint64_t hash_budget, struct store_check_result *ret,
                struct errmsg *err)
{
        struct store_check_result res = {0};
        struct recorded_list l = {0};
        int r = metadata_transaction(st->md, recorded_txn, &l, err);

        if (r >= 0)
                check_blobs(st, &l, hash_budget, &res);
        free(l.v);
        for (size_t i = 0; r >= 0 && i < _SNAPSHOTTER_TYPE_MAX; i++) {
                struct broken_snapshot b = {.sn = st->snapshotters[i]};

                r = metadata_transaction(st->md, broken_txn, &b, err);
                res.n_snapshots_damaged += r >= 0 ? b.n : 0;
                free(b.ids);
        }
        if (r < 0)
                return r;
        /* the descendants' directories are now without a record */
        for (size_t i = 0; i < _SNAPSHOTTER_TYPE_MAX; i++)
                (void) snapshotter_remove_orphans(st->snapshotters[i], NULL);
        if (ret)
                *ret = res;
        return 0;
}
