/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Leases: named holds on content, ingests and snapshots that keep them from garbage
 * collection while a client (a pull, an unpack, a container create) works with them.
 */
#include "containerd/metadata-internal.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

void lease_records_free(struct lease_record *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].id);
                strv_free(v[i].labels);
        }
        free(v);
}

struct lease_args {
        const char *ns;
        const char *id;
        char *const *labels;
        const char *type;
        const char *resource;
        struct lease_record *out;
        size_t n_out;
        char **resources;
};

static int bind_run(sqlite3 *db, const char *sql, const struct lease_args *a, bool must_change,
                    struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        db_bind_text(st, 2, a->id);
        if (sqlite3_bind_parameter_count(st) >= 4) {
                db_bind_text(st, 3, a->type);
                db_bind_text(st, 4, a->resource);
        } else if (sqlite3_bind_parameter_count(st) == 3) {
                (void) sqlite3_bind_int64(st, 3, now_ns());
        }
        r = db_step_done(db, st, err, "lease");
        if (r >= 0 && must_change && db_changes(db) == 0)
                return errmsg_set(err, -ENOENT, "lease %s: not found", a->id);
        return r;
}

static int create_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct lease_args *a = userdata;
        int r;

        r = namespace_ensure_locked(db, a->ns, err);
        if (r >= 0)
                r = bind_run(db, "INSERT INTO leases VALUES (?1, ?2, ?3)", a, false, err);
        if (r == -EEXIST)
                return errmsg_set(err, r, "lease %s: already exists", a->id);
        return r < 0 ? r : labels_replace(db, "lease_labels", a->ns, a->id, a->labels, err);
}

int lease_create(struct metadata *md, const char *ns, const char *id, char *const *labels,
                 struct errmsg *err)
{
        struct lease_args a = {.ns = ns, .id = id, .labels = labels};
        int r = id_validate("lease", id, NAME_MAX_BYTES, err);

        if (r >= 0)
                r = labels_validate(labels, err);
        return r < 0 ? r : metadata_transaction(md, create_txn, &a, err);
}

static int delete_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        return bind_run(db, "DELETE FROM leases WHERE namespace = ?1 AND id = ?2", userdata, true,
                        err);
}

int lease_delete(struct metadata *md, const char *ns, const char *id, struct errmsg *err)
{
        struct lease_args a = {.ns = ns, .id = id};

        return metadata_transaction(md, delete_txn, &a, err);
}

static int list_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct lease_args *a = userdata;
        size_t alloc = 0;
        int r, rc;

        r = db_prepare(db, "SELECT id, created_at FROM leases WHERE namespace = ?1 ORDER BY id",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct lease_record *l;

                a->out = xgrow(a->out, &alloc, a->n_out + 1, sizeof(*a->out));
                l = &a->out[a->n_out++];
                *l = (struct lease_record){
                        .id = db_column_text(st, 0),
                        .created_at = ns_to_timespec(sqlite3_column_int64(st, 1)),
                };
                r = labels_read(db, "lease_labels", a->ns, l->id, &l->labels, err);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : db_error(db, rc, err, "list leases");
}

int lease_list(struct metadata *md, const char *ns, struct lease_record **ret, size_t *ret_n,
               struct errmsg *err)
{
        struct lease_args a = {.ns = ns};
        int r = metadata_transaction(md, list_txn, &a, err);

        if (r < 0) {
                lease_records_free(a.out, a.n_out);
                return r;
        }
        *ret = a.out;
        *ret_n = a.n_out;
        return 0;
}

static int check_type(const char *type, struct errmsg *err)
{
        if (STREQ_PTR(type, "content") || STREQ_PTR(type, "ingests") ||
            (type && strncmp(type, "snapshots/", 10) == 0 && type[10]))
                return 0;
        return errmsg_set(err, -EINVAL,
                          "lease resource type \"%s\": content, ingests or snapshots/<name>",
                          type ? type : "");
}

static int add_resource_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct lease_args *a = userdata;
        int r;

        r = bind_run(db, "INSERT OR IGNORE INTO lease_resources VALUES (?1, ?2, ?3, ?4)", a, false,
                     err);
        return r == -EBUSY ? errmsg_set(err, -ENOENT, "lease %s: not found", a->id) : r;
}

int lease_add_resource(struct metadata *md, const char *ns, const char *lease, const char *type,
                       const char *id, struct errmsg *err)
{
        struct lease_args a = {.ns = ns, .id = lease, .type = type, .resource = id};
        int r = check_type(type, err);

        if (r >= 0)
                r = id_validate("lease resource", id, ID_MAX_BYTES, err);
        return r < 0 ? r : metadata_transaction(md, add_resource_txn, &a, err);
}

static int delete_resource_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        return bind_run(db,
                        "DELETE FROM lease_resources WHERE namespace = ?1 AND lease = ?2"
                        " AND type = ?3 AND id = ?4",
                        userdata, false, err);
}

int lease_delete_resource(struct metadata *md, const char *ns, const char *lease, const char *type,
                          const char *id, struct errmsg *err)
{
        struct lease_args a = {.ns = ns, .id = lease, .type = type, .resource = id};
        int r = check_type(type, err);

        return r < 0 ? r : metadata_transaction(md, delete_resource_txn, &a, err);
}

static int list_resources_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct lease_args *a = userdata;
        int r, rc;

        r = db_prepare(db,
                       "SELECT type, id FROM lease_resources WHERE namespace = ?1 AND lease = ?2"
                       " ORDER BY type, id",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        db_bind_text(st, 2, a->id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                (void) strv_push(&a->resources, (const char *) sqlite3_column_text(st, 0));
                (void) strv_push(&a->resources, (const char *) sqlite3_column_text(st, 1));
        }
        return rc == SQLITE_DONE ? 0 : db_error(db, rc, err, "list lease resources");
}

int lease_list_resources(struct metadata *md, const char *ns, const char *lease, char ***ret,
                         struct errmsg *err)
{
        struct lease_args a = {.ns = ns, .id = lease};
        int r = metadata_transaction(md, list_resources_txn, &a, err);

        if (r < 0) {
                strv_free(a.resources);
                return r;
        }
        *ret = a.resources;
        return 0;
}
