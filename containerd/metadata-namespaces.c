/* SPDX-License-Identifier: Apache-2.0 */
/* Namespaces in the metadata database: create, labels, list, delete (only when empty). */
#include "containerd/metadata-internal.h"
#include "lib/strv.h"

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int identifier_validate(const char *what, const char *s, struct errmsg *err)
{
        size_t n = s ? strlen(s) : 0;

        /* containerd's identifiers.Validate: [A-Za-z0-9]+([._-][A-Za-z0-9]+)*, 76 at most */
        /* containerd's words; "what" only where the identifier itself cannot say it */
        if (n == 0)
                return errmsg_set(err, -EINVAL, "%s: identifier must not be empty", what);
        if (n > IDENTIFIER_MAX)
                return errmsg_set(err, -EINVAL,
                                  "identifier \"%.80s\" greater than maximum length (%d "
                                  "characters)",
                                  s, IDENTIFIER_MAX);
        for (size_t i = 0; i < n; i++) {
                bool is_sep = s[i] == '.' || s[i] == '_' || s[i] == '-';

                if (is_alnum(s[i]))
                        continue;
                if (!is_sep || i == 0 || i == n - 1 || !is_alnum(s[i + 1]))
                        return errmsg_set(err, -EINVAL,
                                          "identifier \"%s\" must match "
                                          "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$",
                                          s);
        }
        return 0;
}

int namespace_validate(const char *name, struct errmsg *err)
{
        return identifier_validate("namespace", name, err);
}

static int insert_namespace(sqlite3 *db, const char *name, bool or_ignore, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int64_t now = now_ns();
        int r;

        r = db_prepare(db,
                       or_ignore ? "INSERT OR IGNORE INTO namespaces VALUES (?1, ?2, ?2)"
                                 : "INSERT INTO namespaces VALUES (?1, ?2, ?2)",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, name);
        (void) sqlite3_bind_int64(st, 2, now);
        r = db_step_done(db, st, err, "create namespace");
        if (r == -EEXIST)
                return errmsg_set(err, r, "namespace %s: already exists", name);
        return r;
}

int namespace_ensure_locked(sqlite3 *db, const char *ns, struct errmsg *err)
{
        int r = namespace_validate(ns, err);

        return r < 0 ? r : insert_namespace(db, ns, true, err);
}

struct ns_args {
        const char *name;
        char *const *labels;
        char **ret_labels;
        bool is_ensure;
};

static int create_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct ns_args *a = userdata;
        int r = insert_namespace(db, a->name, a->is_ensure, err);

        if (r >= 0 && a->labels)
                r = labels_replace(db, "namespace_labels", a->name, "", a->labels, err);
        return r;
}

int namespace_create(struct metadata *md, const char *name, char *const *labels, struct errmsg *err)
{
        struct ns_args a = {.name = name, .labels = labels};
        int r = namespace_validate(name, err);

        if (r >= 0)
                r = labels_validate(labels, err);
        return r < 0 ? r : metadata_transaction(md, create_txn, &a, err);
}

int namespace_ensure(struct metadata *md, const char *name, struct errmsg *err)
{
        struct ns_args a = {.name = name, .is_ensure = true};
        int r = namespace_validate(name, err);

        return r < 0 ? r : metadata_transaction(md, create_txn, &a, err);
}

static int namespace_exists(sqlite3 *db, const char *name, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = db_prepare(db, "SELECT 1 FROM namespaces WHERE name = ?1", &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, name);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return errmsg_set(err, -ENOENT, "namespace %s: not found", name);
        return rc == SQLITE_ROW ? 0 : db_error(db, rc, err, "namespace");
}

static int labels_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct ns_args *a = userdata;
        int r = namespace_exists(db, a->name, err);

        if (r < 0)
                return r;
        if (!a->is_ensure)
                return labels_read(db, "namespace_labels", a->name, "", &a->ret_labels, err);
        return labels_replace(db, "namespace_labels", a->name, "", a->labels, err);
}

int namespace_labels(struct metadata *md, const char *name, char ***ret_labels, struct errmsg *err)
{
        struct ns_args a = {.name = name};
        int r = metadata_transaction(md, labels_txn, &a, err);

        if (r >= 0)
                *ret_labels = a.ret_labels;
        return r;
}

int namespace_set_labels(struct metadata *md, const char *name, char *const *labels,
                         struct errmsg *err)
{
        struct ns_args a = {.name = name, .labels = labels, .is_ensure = true};

        return metadata_transaction(md, labels_txn, &a, err);
}

/* The first kind of object still in the namespace, or NULL. */
static int namespace_first_user(sqlite3 *db, const char *name, const char **ret, struct errmsg *err)
{
        static const char *const tables[] = {"images", "containers", "content", "snapshots",
                                             "leases"};

        *ret = NULL;
        for (size_t i = 0; i < ELEMENTSOF(tables) && !*ret; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                char sql[96];
                int r, rc;

                (void) snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE namespace = ?1 LIMIT 1",
                                tables[i]);
                r = db_prepare(db, sql, &st, err);
                if (r < 0)
                        return r;
                db_bind_text(st, 1, name);
                rc = sqlite3_step(st);
                if (rc == SQLITE_ROW)
                        *ret = tables[i];
                else if (rc != SQLITE_DONE)
                        return db_error(db, rc, err, "namespace");
        }
        return 0;
}

static int delete_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct ns_args *a = userdata;
        const char *user;
        int r;

        r = namespace_exists(db, a->name, err);
        if (r >= 0)
                r = namespace_first_user(db, a->name, &user, err);
        if (r < 0)
                return r;
        if (user) /* containerd: "namespace %q must be empty, but it still has %s" */
                return errmsg_set(err, -EBUSY, "namespace %s must be empty, but it still has %s",
                                  a->name, user);
        r = db_prepare(db, "DELETE FROM namespaces WHERE name = ?1", &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->name);
        return db_step_done(db, st, err, "delete namespace");
}

int namespace_delete(struct metadata *md, const char *name, struct errmsg *err)
{
        struct ns_args a = {.name = name};

        return metadata_transaction(md, delete_txn, &a, err);
}

static int list_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char ***ret = userdata;
        int r, rc;

        r = db_prepare(db, "SELECT name FROM namespaces ORDER BY name", &st, err);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                (void) strv_push(ret, (const char *) sqlite3_column_text(st, 0));
        return rc == SQLITE_DONE ? 0 : db_error(db, rc, err, "list namespaces");
}

int namespace_list(struct metadata *md, char ***ret_names, struct errmsg *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = metadata_transaction(md, list_txn, &names, err);

        if (r < 0)
                return r;
        if (!names)
                names = strv_copy((char *[]){NULL});
        *ret_names = TAKE_PTR(names);
        return 0;
}
