/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Content records: which blobs each namespace holds, with their labels (containerd keeps
 * content per namespace in its metadata while the blobs themselves are shared). The garbage
 * collector removes a blob once no namespace records it.
 */
#include "containerd/metadata-internal.h"
#include "lib/xalloc.h"

void content_record_release(struct content_record *r)
{
        strv_free(r->labels);
        *r = (struct content_record){0};
}

void content_records_free(struct content_record *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                content_record_release(&v[i]);
        free(v);
}

struct content_args {
        const char *ns;
        const char *digest;
        int64_t size;
        char *const *labels;
        bool replace_all;
        struct content_record *out;
        size_t n_out;
        bool is_referenced;
};

static int add_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct content_args *a = userdata;
        int r;

        r = namespace_ensure_locked(db, a->ns, err);
        if (r >= 0)
                r = db_prepare(db,
                               "INSERT INTO content VALUES (?1, ?2, ?3, ?4, ?4)"
                               " ON CONFLICT (namespace, digest) DO UPDATE SET updated_at = ?4",
                               &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        db_bind_text(st, 2, a->digest);
        (void) sqlite3_bind_int64(st, 3, a->size);
        (void) sqlite3_bind_int64(st, 4, now_ns());
        return db_step_done(db, st, err, "record content");
}

int content_record_add(struct metadata *md, const char *ns, const char *digest, int64_t size,
                       struct errmsg *err)
{
        struct content_args a = {.ns = ns, .digest = digest, .size = size};
        int r = digest_validate(digest, err);

        if (r >= 0 && size < 0)
                r = errmsg_set(err, -EINVAL, "content %s: negative size", digest);
        return r < 0 ? r : metadata_transaction(md, add_txn, &a, err);
}

static int select_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct content_args *a = userdata;
        size_t alloc = 0;
        int r, rc;

        r = db_prepare(db,
                       a->digest ? "SELECT * FROM content WHERE namespace = ?1 AND digest = ?2"
                                 : "SELECT * FROM content WHERE namespace = ?1 ORDER BY digest",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        if (a->digest)
                db_bind_text(st, 2, a->digest);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct content_record *c;

                a->out = xgrow(a->out, &alloc, a->n_out + 1, sizeof(*a->out));
                c = &a->out[a->n_out++];
                *c = (struct content_record){
                        .size = sqlite3_column_int64(st, 2),
                        .created_at = ns_to_timespec(sqlite3_column_int64(st, 3)),
                        .updated_at = ns_to_timespec(sqlite3_column_int64(st, 4)),
                };
                (void) snprintf(c->digest, sizeof(c->digest), "%s",
                                (const char *) sqlite3_column_text(st, 1));
                r = labels_read(db, "content_labels", a->ns, c->digest, &c->labels, err);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return db_error(db, rc, err, "read content");
        if (a->digest && a->n_out == 0)
                return errmsg_set(err, -ENOENT, "content %s: not found", a->digest);
        return 0;
}

int content_record_get(struct metadata *md, const char *ns, const char *digest,
                       struct content_record *ret, struct errmsg *err)
{
        struct content_args a = {.ns = ns, .digest = digest};
        int r = metadata_transaction(md, select_txn, &a, err);

        if (r < 0) {
                content_records_free(a.out, a.n_out);
                return r;
        }
        *ret = a.out[0];
        free(a.out);
        return 0;
}

int content_record_list(struct metadata *md, const char *ns, struct content_record **ret,
                        size_t *ret_n, struct errmsg *err)
{
        struct content_args a = {.ns = ns};
        int r = metadata_transaction(md, select_txn, &a, err);

        if (r < 0) {
                content_records_free(a.out, a.n_out);
                return r;
        }
        *ret = a.out;
        *ret_n = a.n_out;
        return 0;
}

/* Runs a one-row statement on (namespace, digest) and fails with -ENOENT if no row changed. */
static int change_row(sqlite3 *db, const char *sql, const struct content_args *a,
                      struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        db_bind_text(st, 2, a->digest);
        if (sqlite3_bind_parameter_count(st) >= 3)
                (void) sqlite3_bind_int64(st, 3, now_ns());
        r = db_step_done(db, st, err, "content");
        if (r >= 0 && db_changes(db) == 0)
                return errmsg_set(err, -ENOENT, "content %s: not found", a->digest);
        return r;
}

static int labels_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct content_args *a = userdata;
        int r;

        r = change_row(db,
                       "UPDATE content SET updated_at = ?3 WHERE namespace = ?1 AND digest = ?2", a,
                       err);
        if (r < 0)
                return r;
        return a->replace_all
                       ? labels_replace(db, "content_labels", a->ns, a->digest, a->labels, err)
                       : labels_update(db, "content_labels", a->ns, a->digest, a->labels, err);
}

int content_record_update_labels(struct metadata *md, const char *ns, const char *digest,
                                 char *const *labels, bool replace_all, struct errmsg *err)
{
        struct content_args a = {
                .ns = ns, .digest = digest, .labels = labels, .replace_all = replace_all};

        return metadata_transaction(md, labels_txn, &a, err);
}

static int delete_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        return change_row(db, "DELETE FROM content WHERE namespace = ?1 AND digest = ?2", userdata,
                          err);
}

int content_record_delete(struct metadata *md, const char *ns, const char *digest,
                          struct errmsg *err)
{
        struct content_args a = {.ns = ns, .digest = digest};

        return metadata_transaction(md, delete_txn, &a, err);
}

static int referenced_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct content_args *a = userdata;
        int r, rc;

        r = db_prepare(db, "SELECT 1 FROM content WHERE digest = ?1 LIMIT 1", &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->digest);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return db_error(db, rc, err, "content");
        a->is_referenced = rc == SQLITE_ROW;
        return 0;
}

int content_is_referenced(struct metadata *md, const char *digest, bool *ret, struct errmsg *err)
{
        struct content_args a = {.digest = digest};
        int r = metadata_transaction(md, referenced_txn, &a, err);

        if (r >= 0)
                *ret = a.is_referenced;
        return r;
}
