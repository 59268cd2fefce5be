/* SPDX-License-Identifier: Apache-2.0 */
/* Image records: name -> target descriptor, labels, timestamps, per namespace. */
#include "containerd/metadata-internal.h"
#include "lib/xalloc.h"

void image_record_release(struct image_record *r)
{
        free(r->name);
        descriptor_release(&r->target);
        strv_free(r->labels);
        *r = (struct image_record){0};
}

void image_records_free(struct image_record *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                image_record_release(&v[i]);
        free(v);
}

struct image_args {
        const char *ns;
        const char *name;
        const struct image_record *in;
        bool is_update;
        struct image_record *out;
        size_t n_out;
};

static int validate_record(const struct image_record *r, struct errmsg *err)
{
        int r2 = id_validate("image name", r->name, ID_MAX_BYTES, err);

        if (r2 >= 0 && (!r->target.media_type || !r->target.media_type[0]))
                r2 = errmsg_set(err, -EINVAL, "image %s: target media type: empty", r->name);
        if (r2 >= 0)
                r2 = digest_validate(r->target.digest, err);
        if (r2 >= 0 && r->target.size < 0)
                r2 = errmsg_set(err, -EINVAL, "image %s: target size: negative", r->name);
        return r2 < 0 ? r2 : labels_validate(r->labels, err);
}

static int put_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        static const char insert[] = "INSERT INTO images VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
        static const char update[] = "UPDATE images SET media_type = ?3, digest = ?4, size = ?5,"
                                     " updated_at = ?6 WHERE namespace = ?1 AND name = ?2";
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct image_args *a = userdata;
        int r;

        r = namespace_ensure_locked(db, a->ns, err);
        if (r >= 0)
                r = db_prepare(db, a->is_update ? update : insert, &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        db_bind_text(st, 2, a->in->name);
        db_bind_text(st, 3, a->in->target.media_type);
        db_bind_text(st, 4, a->in->target.digest);
        (void) sqlite3_bind_int64(st, 5, a->in->target.size);
        (void) sqlite3_bind_int64(st, 6, now_ns());
        r = db_step_done(db, st, err, "write image");
        if (r == -EEXIST)
                return errmsg_set(err, r, "image \"%s\": already exists", a->in->name);
        if (r >= 0 && a->is_update && db_changes(db) == 0)
                return errmsg_set(err, -ENOENT, "image \"%s\": not found", a->in->name);
        if (r < 0)
                return r;
        return labels_replace(db, "image_labels", a->ns, a->in->name, a->in->labels, err);
}

int image_put(struct metadata *md, const char *ns, const struct image_record *r, bool is_update,
              struct errmsg *err)
{
        struct image_args a = {.ns = ns, .in = r, .is_update = is_update};
        int r2 = validate_record(r, err);

        return r2 < 0 ? r2 : metadata_transaction(md, put_txn, &a, err);
}

/* Reads the current row of a SELECT namespace, name, media_type, digest, size, created_at,
 * updated_at into out, with its labels. */
static int read_row(sqlite3 *db, sqlite3_stmt *st, const char *ns, struct image_record *out,
                    struct errmsg *err)
{
        const char *digest = (const char *) sqlite3_column_text(st, 3);

        *out = (struct image_record){
                .name = db_column_text(st, 1),
                .target = {.media_type = db_column_text(st, 2),
                           .size = sqlite3_column_int64(st, 4)},
                .created_at = ns_to_timespec(sqlite3_column_int64(st, 5)),
                .updated_at = ns_to_timespec(sqlite3_column_int64(st, 6)),
        };
        (void) snprintf(out->target.digest, sizeof(out->target.digest), "%s", digest ? digest : "");
        return labels_read(db, "image_labels", ns, out->name, &out->labels, err);
}

static int select_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct image_args *a = userdata;
        size_t alloc = 0;
        int r, rc;

        r = db_prepare(db,
                       a->name ? "SELECT * FROM images WHERE namespace = ?1 AND name = ?2"
                               : "SELECT * FROM images WHERE namespace = ?1 ORDER BY name",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        if (a->name)
                db_bind_text(st, 2, a->name);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                a->out = xgrow(a->out, &alloc, a->n_out + 1, sizeof(*a->out));
                r = read_row(db, st, a->ns, &a->out[a->n_out++], err);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return db_error(db, rc, err, "read images");
        if (a->name && a->n_out == 0)
                return errmsg_set(err, -ENOENT, "image \"%s\": not found", a->name);
        return 0;
}

int image_get(struct metadata *md, const char *ns, const char *name, struct image_record *ret,
              struct errmsg *err)
{
        struct image_args a = {.ns = ns, .name = name};
        int r = metadata_transaction(md, select_txn, &a, err);

        if (r < 0) {
                image_records_free(a.out, a.n_out);
                return r;
        }
        *ret = a.out[0];
        free(a.out);
        return 0;
}

int image_list(struct metadata *md, const char *ns, struct image_record **ret, size_t *ret_n,
               struct errmsg *err)
{
        struct image_args a = {.ns = ns};
        int r = metadata_transaction(md, select_txn, &a, err);

        if (r < 0) {
                image_records_free(a.out, a.n_out);
                return r;
        }
        *ret = a.out;
        *ret_n = a.n_out;
        return 0;
}

static int delete_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct image_args *a = userdata;
        int r;

        r = db_prepare(db, "DELETE FROM images WHERE namespace = ?1 AND name = ?2", &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->ns);
        db_bind_text(st, 2, a->name);
        r = db_step_done(db, st, err, "delete image");
        if (r >= 0 && db_changes(db) == 0)
                return errmsg_set(err, -ENOENT, "image \"%s\": not found", a->name);
        return r;
}

int image_delete(struct metadata *md, const char *ns, const char *name, struct errmsg *err)
{
        struct image_args a = {.ns = ns, .name = name};

        return metadata_transaction(md, delete_txn, &a, err);
}
