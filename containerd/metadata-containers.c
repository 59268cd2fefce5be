/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container records (metadata.h): id, image, runtime name and options, spec, snapshotter and
 * snapshot key, extensions and labels, per namespace, validated as containerd's
 * metadata/containers.go validates them.
 */
#include "containerd/metadata-internal.h"
#include "lib/xalloc.h"

void container_record_release(struct container_record *r)
{
        free(r->id);
        free(r->image);
        free(r->runtime_name);
        free(r->runtime_options);
        free(r->spec);
        free(r->snapshotter);
        free(r->snapshot_key);
        free(r->extensions);
        strv_free(r->labels);
        *r = (struct container_record){0};
}

void container_records_free(struct container_record *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                container_record_release(&v[i]);
        free(v);
}

static int validate(const struct container_record *r, struct errmsg *err)
{
        int e = identifier_validate("container id", r->id, err);

        if (e < 0)
                return e;
        if (!r->runtime_name || !r->runtime_name[0])
                return errmsg_set(err, -EINVAL, "container %s: container.Runtime.Name must be set",
                                  r->id);
        if (!r->spec || r->spec_size == 0)
                return errmsg_set(err, -EINVAL, "container %s: container.Spec must be set", r->id);
        if (r->snapshot_key && r->snapshot_key[0] && !(r->snapshotter && r->snapshotter[0]))
                return errmsg_set(err, -EINVAL,
                                  "container %s: container.Snapshotter must be set if "
                                  "container.SnapshotKey is set",
                                  r->id);
        if (r->spec_size > CONTAINER_BLOB_MAX || r->runtime_options_size > CONTAINER_BLOB_MAX ||
            r->extensions_size > CONTAINER_BLOB_MAX)
                return errmsg_set(err, -EINVAL, "container %s: larger than %u bytes", r->id,
                                  CONTAINER_BLOB_MAX);
        return labels_validate(r->labels, err);
}

struct container_args {
        const char *ns;
        const char *id;
        const struct container_record *in;
        bool is_update;
        struct container_record *out;
        size_t n_out;
};

static void bind_blob(sqlite3_stmt *st, int index, const void *data, size_t size)
{
        if (data && size > 0)
                (void) sqlite3_bind_blob(st, index, data, (int) size, SQLITE_TRANSIENT);
        else
                (void) sqlite3_bind_null(st, index);
}

/* Snapshotter and runtime name are immutable (containerd: "field is immutable"). */
static int check_immutable(sqlite3 *db, const struct container_args *a, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *sn, *rt;
        int r, rc;

        r = db_prepare(db,
                       "SELECT snapshotter, runtime_name FROM containers"
                       " WHERE namespace = ?1 AND id = ?2",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        db_bind_text(st, 2, a->in->id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return errmsg_set(err, -ENOENT, "container \"%s\": not found", a->in->id);
        if (rc != SQLITE_ROW)
                return db_error(db, rc, err, "container");
        sn = (const char *) sqlite3_column_text(st, 0);
        rt = (const char *) sqlite3_column_text(st, 1);
        if (!STREQ(sn ? sn : "", a->in->snapshotter ? a->in->snapshotter : ""))
                return errmsg_set(err, -EINVAL, "container.Snapshotter field is immutable");
        if (!STREQ(rt ? rt : "", a->in->runtime_name))
                return errmsg_set(err, -EINVAL, "container.Runtime.Name field is immutable");
        return 0;
}

static int put_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        static const char insert[] =
                "INSERT INTO containers (namespace, id, image, runtime_name, runtime_options,"
                " spec, snapshotter, snapshot_key, extensions, created_at, updated_at)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)";
        static const char update[] =
                "UPDATE containers SET image = ?3, runtime_name = ?4, runtime_options = ?5,"
                " spec = ?6, snapshotter = ?7, snapshot_key = ?8, extensions = ?9,"
                " updated_at = ?10 WHERE namespace = ?1 AND id = ?2";
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct container_args *a = userdata;
        const struct container_record *c = a->in;
        int r;

        r = a->is_update ? check_immutable(db, a, err) : namespace_ensure_locked(db, a->ns, err);
        if (r >= 0)
                r = db_prepare(db, a->is_update ? update : insert, &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        db_bind_text(st, 2, c->id);
        db_bind_text(st, 3, c->image);
        db_bind_text(st, 4, c->runtime_name);
        bind_blob(st, 5, c->runtime_options, c->runtime_options_size);
        bind_blob(st, 6, c->spec, c->spec_size);
        db_bind_text(st, 7, c->snapshotter);
        db_bind_text(st, 8, c->snapshot_key);
        bind_blob(st, 9, c->extensions, c->extensions_size);
        (void) sqlite3_bind_int64(st, 10, now_ns());
        r = db_step_done(db, st, err, "write container");
        if (r == -EEXIST) /* containerd: "container %q: already exists" */
                return errmsg_set(err, r, "container \"%s\": already exists", c->id);
        return r < 0 ? r : labels_replace(db, "container_labels", a->ns, c->id, c->labels, err);
}

int container_put(struct metadata *md, const char *ns, const struct container_record *r,
                  bool is_update, struct errmsg *err)
{
        struct container_args a = {.ns = ns, .in = r, .is_update = is_update};
        int e = validate(r, err);

        return e < 0 ? e : metadata_transaction(md, put_txn, &a, err);
}

static void *column_blob(sqlite3_stmt *st, int index, size_t *ret_size)
{
        const void *data = sqlite3_column_blob(st, index);
        int size = sqlite3_column_bytes(st, index);
        void *copy;

        *ret_size = 0;
        if (!data || size <= 0)
                return NULL;
        copy = xmalloc((size_t) size);
        memcpy(copy, data, (size_t) size);
        *ret_size = (size_t) size;
        return copy;
}

static int read_row(sqlite3 *db, sqlite3_stmt *st, const char *ns, struct container_record *c,
                    struct errmsg *err)
{
        *c = (struct container_record){
                .id = db_column_text(st, 0),
                .image = db_column_text(st, 1),
                .runtime_name = db_column_text(st, 2),
                .snapshotter = db_column_text(st, 5),
                .snapshot_key = db_column_text(st, 6),
                .created_at = ns_to_timespec(sqlite3_column_int64(st, 8)),
                .updated_at = ns_to_timespec(sqlite3_column_int64(st, 9)),
        };
        c->runtime_options = column_blob(st, 3, &c->runtime_options_size);
        c->spec = column_blob(st, 4, &c->spec_size);
        c->extensions = column_blob(st, 7, &c->extensions_size);
        return labels_read(db, "container_labels", ns, c->id, &c->labels, err);
}

static int select_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        static const char columns[] =
                "SELECT id, image, runtime_name, runtime_options, spec, snapshotter,"
                " snapshot_key, extensions, created_at, updated_at FROM containers"
                " WHERE namespace = ?1";
        _cleanup_free_ char *sql = NULL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct container_args *a = userdata;
        size_t alloc = 0;
        int r, rc;

        sql = xasprintf("%s%s", columns, a->id ? " AND id = ?2" : " ORDER BY id");
        r = db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        if (a->id)
                db_bind_text(st, 2, a->id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                a->out = xgrow(a->out, &alloc, a->n_out + 1, sizeof(*a->out));
                r = read_row(db, st, a->ns, &a->out[a->n_out++], err);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return db_error(db, rc, err, "read containers");
        if (a->id && a->n_out == 0) /* containerd: "container \"%s\" in namespace ..." */
                return errmsg_set(err, -ENOENT, "container \"%s\" in namespace \"%s\": not found",
                                  a->id, a->ns);
        return 0;
}

int container_get(struct metadata *md, const char *ns, const char *id, struct container_record *ret,
                  struct errmsg *err)
{
        struct container_args a = {.ns = ns, .id = id};
        int r = metadata_transaction(md, select_txn, &a, err);

        if (r < 0) {
                container_records_free(a.out, a.n_out);
                return r;
        }
        *ret = a.out[0];
        free(a.out);
        return 0;
}

int container_list(struct metadata *md, const char *ns, struct container_record **ret,
                   size_t *ret_n, struct errmsg *err)
{
        struct container_args a = {.ns = ns};
        int r = metadata_transaction(md, select_txn, &a, err);

        if (r < 0) {
                container_records_free(a.out, a.n_out);
                return r;
        }
        *ret = a.out;
        *ret_n = a.n_out;
        return 0;
}

static int delete_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct container_args *a = userdata;
        int r;

        r = db_prepare(db, "DELETE FROM containers WHERE namespace = ?1 AND id = ?2", &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        db_bind_text(st, 2, a->id);
        r = db_step_done(db, st, err, "delete container");
        if (r >= 0 && db_changes(db) == 0)
                return errmsg_set(err, -ENOENT, "container \"%s\" in namespace \"%s\": not found",
                                  a->id, a->ns);
        return r;
}

int container_delete(struct metadata *md, const char *ns, const char *id, struct errmsg *err)
{
        struct container_args a = {.ns = ns, .id = id};

        return metadata_transaction(md, delete_txn, &a, err);
}
