/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshot records and lifecycle (see snapshot.h): rows in the metadata database's
 * "snapshots" table, directories snapshots/<row id>/ made by the backend. A new snapshot's
 * directory is made inside the transaction that inserts its row, and removed again if that
 * transaction fails; removal deletes the row first and the directory after. Whatever a crash
 * leaves is a directory without a row, which snapshotter_open removes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "containerd/metadata-internal.h"
#include "containerd/snapshot-internal.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define CHAIN_MAX 4096 /* parents followed before a chain is considered broken */

static const char *const kind_names[_SNAPSHOT_KIND_MAX] = {
        [SNAPSHOT_KIND_UNKNOWN] = "Unknown",
        [SNAPSHOT_KIND_VIEW] = "View",
        [SNAPSHOT_KIND_ACTIVE] = "Active",
        [SNAPSHOT_KIND_COMMITTED] = "Committed",
};

static const char *const type_names[_SNAPSHOTTER_TYPE_MAX] = {
        [SNAPSHOTTER_OVERLAYFS] = "overlayfs",
        [SNAPSHOTTER_NATIVE] = "native",
};

const char *snapshot_kind_to_string(enum snapshot_kind k)
{
        return k < _SNAPSHOT_KIND_MAX ? kind_names[k] : NULL;
}

const char *snapshotter_type_to_string(enum snapshotter_type t)
{
        return t < _SNAPSHOTTER_TYPE_MAX ? type_names[t] : NULL;
}

int snapshotter_type_from_string(const char *s)
{
        for (size_t i = 0; s && i < _SNAPSHOTTER_TYPE_MAX; i++)
                if (STREQ(s, type_names[i]))
                        return (int) i;
        return -EINVAL;
}

void mount_specs_free(struct mount_spec *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].type);
                free(v[i].source);
                strv_free(v[i].options);
        }
        free(v);
}

void snapshot_info_release(struct snapshot_info *i)
{
        free(i->key);
        free(i->parent);
        strv_free(i->labels);
        *i = (struct snapshot_info){0};
}

void snapshot_infos_free(struct snapshot_info *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                snapshot_info_release(&v[i]);
        free(v);
}

const char *snapshotter_name(const struct snapshotter *s)
{
        return type_names[s->type];
}

/* One row of the snapshots table. */
struct row {
        int64_t id;
        int64_t parent; /* 0: none */
        enum snapshot_kind kind;
        int64_t created_at;
        int64_t updated_at;
};

static int lookup(struct snapshotter *s, sqlite3 *db, const char *ns, const char *key,
                  struct row *ret, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = db_prepare(db,
                       "SELECT id, parent, kind, created_at, updated_at FROM snapshots"
                       " WHERE snapshotter = ?1 AND namespace = ?2 AND key = ?3",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, snapshotter_name(s));
        db_bind_text(st, 2, ns);
        db_bind_text(st, 3, key);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) /* containerd: "snapshot %v does not exist: not found" */
                return errmsg_set(err, -ENOENT, "snapshot %s does not exist", key);
        if (rc != SQLITE_ROW)
                return db_error(db, rc, err, "snapshot");
        *ret = (struct row){.id = sqlite3_column_int64(st, 0),
                            .parent = sqlite3_column_int64(st, 1),
                            .kind = (enum snapshot_kind) sqlite3_column_int(st, 2),
                            .created_at = sqlite3_column_int64(st, 3),
                            .updated_at = sqlite3_column_int64(st, 4)};
        return 0;
}

/* The ids of id's parents, closest first. */
static int parent_ids(sqlite3 *db, int64_t parent, int64_t **ret, size_t *ret_n, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0, alloc = 0;
        int r;

        r = db_prepare(db, "SELECT parent FROM snapshots WHERE id = ?1", &st, err);
        if (r < 0)
                return r;
        while (parent > 0) {
                if (n == CHAIN_MAX)
                        return errmsg_set(err, -ELOOP, "snapshot chain longer than %d", CHAIN_MAX);
                ids = xgrow(ids, &alloc, n + 1, sizeof(*ids));
                ids[n++] = parent;
                (void) sqlite3_reset(st);
                (void) sqlite3_bind_int64(st, 1, parent);
                if (sqlite3_step(st) != SQLITE_ROW)
                        return db_error(db, SQLITE_CORRUPT, err, "snapshot parent");
                parent = sqlite3_column_int64(st, 0);
        }
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

static int mounts_of(struct snapshotter *s, sqlite3 *db, const struct row *row,
                     struct mount_spec **ret, size_t *ret_n, struct errmsg *err)
{
        _cleanup_free_ int64_t *parents = NULL;
        size_t n_parents = 0;
        int r;

        if (row->kind != SNAPSHOT_KIND_ACTIVE && row->kind != SNAPSHOT_KIND_VIEW)
                return errmsg_set(err, -EINVAL, "snapshot is not active or a view");
        if (s->type == SNAPSHOTTER_NATIVE)
                return native_mounts(s, row->id, row->kind, ret, ret_n);
        r = parent_ids(db, row->parent, &parents, &n_parents, err);
        if (r < 0)
                return r;
        return overlay_mounts(s, row->id, row->kind, parents, n_parents, ret, ret_n);
}

static char *id_string(int64_t id)
{
        return xasprintf("%" PRId64, id);
}

struct create_args {
        struct snapshotter *s;
        const char *ns;
        const char *key;
        const char *parent;
        char *const *labels;
        enum snapshot_kind kind;
        struct mount_spec *mounts;
        size_t n_mounts;
        int64_t id;
};

static int insert_row(struct create_args *a, sqlite3 *db, int64_t parent, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = db_prepare(db,
                       "INSERT INTO snapshots (snapshotter, namespace, key, parent, kind,"
                       " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, snapshotter_name(a->s));
        db_bind_text(st, 2, a->ns);
        db_bind_text(st, 3, a->key);
        if (parent > 0)
                (void) sqlite3_bind_int64(st, 4, parent);
        (void) sqlite3_bind_int(st, 5, (int) a->kind);
        (void) sqlite3_bind_int64(st, 6, now_ns());
        r = db_step_done(db, st, err, "create snapshot");
        if (r == -EEXIST) /* containerd: "snapshot %v already exists" */
                return errmsg_set(err, r, "snapshot %s already exists", a->key);
        a->id = sqlite3_last_insert_rowid(db);
        return r;
}

static int create_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct create_args *a = userdata;
        _cleanup_free_ char *owner = NULL;
        struct row parent = {0};
        char dir[32];
        int r;

        r = namespace_ensure_locked(db, a->ns, err);
        if (r >= 0 && a->parent) {
                r = lookup(a->s, db, a->ns, a->parent, &parent, err);
                if (r >= 0 && parent.kind != SNAPSHOT_KIND_COMMITTED)
                        r = errmsg_set(err, -EINVAL, "parent snapshot %s is not committed",
                                       a->parent);
        }
        if (r >= 0)
                r = insert_row(a, db, parent.id, err);
        if (r >= 0) {
                owner = id_string(a->id);
                r = labels_replace(db, "snapshot_labels", a->ns, owner, a->labels, err);
        }
        if (r < 0)
                return r;
        r = a->s->type == SNAPSHOTTER_NATIVE ? native_create_dirs(a->s, a->id, parent.id, err)
                                             : overlay_create_dirs(a->s, a->id, err);
        if (r < 0)
                return r;
        if (a->kind != SNAPSHOT_KIND_COMMITTED) { /* the unpack case gets no mounts */
                struct row row = {.id = a->id, .parent = parent.id, .kind = a->kind};

                r = mounts_of(a->s, db, &row, &a->mounts, &a->n_mounts, err);
        }
        if (r < 0) {
                (void) snprintf(dir, sizeof(dir), "%" PRId64, a->id);
                (void) rm_rf_at(a->s->snapshots_fd, dir);
        }
        return r;
}

static int create(struct create_args *a, struct mount_spec **ret, size_t *ret_n, struct errmsg *err)
{
        int r;

        r = id_validate("snapshot key", a->key, ID_MAX_BYTES, err);
        if (r >= 0)
                r = labels_validate(a->labels, err);
        if (r >= 0)
                r = metadata_transaction(a->s->md, create_txn, a, err);
        if (r < 0) {
                mount_specs_free(a->mounts, a->n_mounts);
                return r;
        }
        if (ret) {
                *ret = a->mounts;
                *ret_n = a->n_mounts;
        } else {
                mount_specs_free(a->mounts, a->n_mounts);
        }
        return 0;
}

int snapshot_prepare(struct snapshotter *s, const char *ns, const char *key, const char *parent,
                     char *const *labels, struct mount_spec **ret, size_t *ret_n,
                     struct errmsg *err)
{
        struct create_args a = {.s = s,
                                .ns = ns,
                                .key = key,
                                .parent = parent,
                                .labels = labels,
                                .kind = SNAPSHOT_KIND_ACTIVE};

        return create(&a, ret, ret_n, err);
}

int snapshot_view(struct snapshotter *s, const char *ns, const char *key, const char *parent,
                  char *const *labels, struct mount_spec **ret, size_t *ret_n, struct errmsg *err)
{
        struct create_args a = {.s = s,
                                .ns = ns,
                                .key = key,
                                .parent = parent,
                                .labels = labels,
                                .kind = SNAPSHOT_KIND_VIEW};

        return create(&a, ret, ret_n, err);
}

static int dir_fd_of(struct snapshotter *s, int64_t id, int *ret, struct errmsg *err)
{
        char path[48];
        int fd;

        (void) snprintf(path, sizeof(path), "%" PRId64 "/fs", id);
        fd = openat(s->snapshots_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(err, -errno, "snapshot directory %s: %s", path, strerror(errno));
        *ret = fd;
        return 0;
}

int snapshot_prepare_unpack(struct snapshotter *s, const char *ns, const char *key, int *ret_dir_fd,
                            struct errmsg *err)
{
        struct create_args a = {.s = s, .ns = ns, .key = key, .kind = SNAPSHOT_KIND_ACTIVE};
        size_t n = 0;
        struct mount_spec *m = NULL;
        int r;

        if (s->type != SNAPSHOTTER_OVERLAYFS)
                return errmsg_set(err, -EOPNOTSUPP, "unpacking without a parent: overlayfs only");
        r = create(&a, &m, &n, err);
        if (r < 0)
                return r;
        mount_specs_free(m, n);
        r = dir_fd_of(s, a.id, ret_dir_fd, err);
        if (r < 0)
                (void) snapshot_remove(s, ns, key, NULL);
        return r;
}

struct key_args {
        struct snapshotter *s;
        const char *ns;
        const char *key;
        const char *name;
        const char *parent;
        bool set_parent;
        char *const *labels;
        bool replace_all;
        struct row row;
        struct mount_spec *mounts;
        size_t n_mounts;
        struct snapshot_info info;
        struct snapshot_info *infos;
        size_t n_infos;
};

static int mounts_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct key_args *a = userdata;
        int r = lookup(a->s, db, a->ns, a->key, &a->row, err);

        return r < 0 ? r : mounts_of(a->s, db, &a->row, &a->mounts, &a->n_mounts, err);
}

int snapshot_mounts(struct snapshotter *s, const char *ns, const char *key, struct mount_spec **ret,
                    size_t *ret_n, struct errmsg *err)
{
        struct key_args a = {.s = s, .ns = ns, .key = key};
        int r = metadata_transaction(s->md, mounts_txn, &a, err);

        if (r < 0)
                return r;
        *ret = a.mounts;
        *ret_n = a.n_mounts;
        return 0;
}

static int lookup_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct key_args *a = userdata;

        return lookup(a->s, db, a->ns, a->key, &a->row, err);
}

int snapshot_dir_fd(struct snapshotter *s, const char *ns, const char *key, bool need_active,
                    int *ret_dir_fd, struct errmsg *err)
{
        struct key_args a = {.s = s, .ns = ns, .key = key};
        int r = metadata_transaction(s->md, lookup_txn, &a, err);

        if (r < 0)
                return r;
        if (need_active && a.row.kind != SNAPSHOT_KIND_ACTIVE)
                return errmsg_set(err, -EINVAL, "snapshot %s is not active", key);
        return dir_fd_of(s, a.row.id, ret_dir_fd, err);
}

int snapshot_open_dir(struct snapshotter *s, const char *ns, const char *key, int *ret_dir_fd,
                      struct errmsg *err)
{
        return snapshot_dir_fd(s, ns, key, true, ret_dir_fd, err);
}

/* Makes what the snapshot's directory holds durable before its commit is recorded. */
static int sync_snapshot(struct snapshotter *s, int64_t id, struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r = dir_fd_of(s, id, &fd, err);

        if (r < 0)
                return r;
        if (syncfs(fd) < 0)
                return errmsg_set(err, -errno, "sync snapshot %" PRId64 ": %s", id,
                                  strerror(errno));
        return 0;
}

static int update_committed(struct key_args *a, sqlite3 *db, int64_t parent, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *owner = id_string(a->row.id);
        int r;

        r = db_prepare(db,
                       a->set_parent ? "UPDATE snapshots SET key = ?1, kind = ?2,"
                                       " updated_at = ?3, parent = ?5 WHERE id = ?4"
                                     : "UPDATE snapshots SET key = ?1, kind = ?2,"
                                       " updated_at = ?3 WHERE id = ?4",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, a->name);
        (void) sqlite3_bind_int(st, 2, SNAPSHOT_KIND_COMMITTED);
        (void) sqlite3_bind_int64(st, 3, now_ns());
        (void) sqlite3_bind_int64(st, 4, a->row.id);
        if (a->set_parent && parent > 0)
                (void) sqlite3_bind_int64(st, 5, parent);
        r = db_step_done(db, st, err, "commit snapshot");
        if (r == -EEXIST)
                return errmsg_set(err, r, "snapshot %s already exists", a->name);
        return r < 0 ? r : labels_replace(db, "snapshot_labels", a->ns, owner, a->labels, err);
}

static int commit_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct key_args *a = userdata;
        struct row parent = {0};
        int r;

        r = lookup(a->s, db, a->ns, a->key, &a->row, err);
        if (r >= 0 && a->row.kind != SNAPSHOT_KIND_ACTIVE)
                r = errmsg_set(err, -EINVAL, "snapshot %s is not active", a->key);
        if (r >= 0 && a->set_parent && a->row.parent > 0)
                r = errmsg_set(err, -EINVAL, "snapshot %s has a parent already", a->key);
        if (r >= 0 && a->set_parent && a->parent) {
                r = lookup(a->s, db, a->ns, a->parent, &parent, err);
                if (r >= 0 && parent.kind != SNAPSHOT_KIND_COMMITTED)
                        r = errmsg_set(err, -EINVAL, "parent snapshot %s is not committed",
                                       a->parent);
        }
        if (r >= 0)
                r = sync_snapshot(a->s, a->row.id, err);
        return r < 0 ? r : update_committed(a, db, parent.id, err);
}

static int commit(struct key_args *a, struct errmsg *err)
{
        int r = id_validate("snapshot name", a->name, ID_MAX_BYTES, err);

        if (r >= 0)
                r = labels_validate(a->labels, err);
        return r < 0 ? r : metadata_transaction(a->s->md, commit_txn, a, err);
}

int snapshot_commit(struct snapshotter *s, const char *ns, const char *name, const char *key,
                    char *const *labels, struct errmsg *err)
{
        struct key_args a = {.s = s, .ns = ns, .key = key, .name = name, .labels = labels};

        return commit(&a, err);
}

int snapshot_commit_onto(struct snapshotter *s, const char *ns, const char *name, const char *key,
                         const char *parent, char *const *labels, struct errmsg *err)
{
        struct key_args a = {.s = s,
                             .ns = ns,
                             .key = key,
                             .name = name,
                             .labels = labels,
                             .parent = parent,
                             .set_parent = true};

        return commit(&a, err);
}

static int remove_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct key_args *a = userdata;
        int r;

        r = lookup(a->s, db, a->ns, a->key, &a->row, err);
        if (r >= 0)
                r = db_prepare(db, "DELETE FROM snapshots WHERE id = ?1", &st, err);
        if (r < 0)
                return r;
        (void) sqlite3_bind_int64(st, 1, a->row.id);
        r = db_step_done(db, st, err, "remove snapshot");
        if (r == -EBUSY) /* containerd: "cannot remove snapshot with child" */
                return errmsg_set(err, r, "snapshot %s: cannot remove snapshot with child", a->key);
        return r;
}

int snapshot_remove(struct snapshotter *s, const char *ns, const char *key, struct errmsg *err)
{
        struct key_args a = {.s = s, .ns = ns, .key = key};
        char dir[32];
        int r = metadata_transaction(s->md, remove_txn, &a, err);

        if (r < 0)
                return r;
        (void) snprintf(dir, sizeof(dir), "%" PRId64, a.row.id);
        r = rm_rf_at(s->snapshots_fd, dir);
        if (r < 0 && r != -ENOENT) /* the record is gone: snapshotter_open retries */
                return errmsg_set(err, r, "snapshot %s: remove directory: %s", key, strerror(-r));
        return 0;
}

/* Fills info from row: the key, the parent's key and the labels. */
static int info_of(struct snapshotter *s, sqlite3 *db, const char *ns, const struct row *row,
                   char *key, struct snapshot_info *ret, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *owner = id_string(row->id);
        int r;

        (void) s;
        *ret = (struct snapshot_info){.key = key,
                                      .kind = row->kind,
                                      .created_at = ns_to_timespec(row->created_at),
                                      .updated_at = ns_to_timespec(row->updated_at)};
        if (row->parent > 0) {
                r = db_prepare(db, "SELECT key FROM snapshots WHERE id = ?1", &st, err);
                if (r < 0)
                        return r;
                (void) sqlite3_bind_int64(st, 1, row->parent);
                if (sqlite3_step(st) == SQLITE_ROW)
                        ret->parent = db_column_text(st, 0);
        }
        return labels_read(db, "snapshot_labels", ns, owner, &ret->labels, err);
}

static int stat_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct key_args *a = userdata;
        int r = lookup(a->s, db, a->ns, a->key, &a->row, err);

        return r < 0 ? r : info_of(a->s, db, a->ns, &a->row, xstrdup(a->key), &a->info, err);
}

int snapshot_stat(struct snapshotter *s, const char *ns, const char *key, struct snapshot_info *ret,
                  struct errmsg *err)
{
        struct key_args a = {.s = s, .ns = ns, .key = key};
        int r = metadata_transaction(s->md, stat_txn, &a, err);

        if (r < 0) {
                snapshot_info_release(&a.info);
                return r;
        }
        *ret = a.info;
        return 0;
}

static int update_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *owner = NULL;
        struct key_args *a = userdata;
        int r;

        r = lookup(a->s, db, a->ns, a->key, &a->row, err);
        if (r >= 0)
                r = db_prepare(db, "UPDATE snapshots SET updated_at = ?2 WHERE id = ?1", &st, err);
        if (r < 0)
                return r;
        (void) sqlite3_bind_int64(st, 1, a->row.id);
        (void) sqlite3_bind_int64(st, 2, now_ns());
        r = db_step_done(db, st, err, "update snapshot");
        if (r < 0)
                return r;
        owner = id_string(a->row.id);
        return a->replace_all ? labels_replace(db, "snapshot_labels", a->ns, owner, a->labels, err)
                              : labels_update(db, "snapshot_labels", a->ns, owner, a->labels, err);
}

int snapshot_update_labels(struct snapshotter *s, const char *ns, const char *key,
                           char *const *labels, bool replace_all, struct errmsg *err)
{
        struct key_args a = {
                .s = s, .ns = ns, .key = key, .labels = labels, .replace_all = replace_all};

        return metadata_transaction(s->md, update_txn, &a, err);
}

static int list_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct key_args *a = userdata;
        size_t alloc = 0;
        int r, rc;

        r = db_prepare(db,
                       "SELECT id, parent, kind, created_at, updated_at, key FROM snapshots"
                       " WHERE snapshotter = ?1 AND namespace = ?2 ORDER BY key",
                       &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, snapshotter_name(a->s));
        db_bind_text(st, 2, a->ns);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct row row = {.id = sqlite3_column_int64(st, 0),
                                  .parent = sqlite3_column_int64(st, 1),
                                  .kind = (enum snapshot_kind) sqlite3_column_int(st, 2),
                                  .created_at = sqlite3_column_int64(st, 3),
                                  .updated_at = sqlite3_column_int64(st, 4)};

                a->infos = xgrow(a->infos, &alloc, a->n_infos + 1, sizeof(*a->infos));
                r = info_of(a->s, db, a->ns, &row, db_column_text(st, 5), &a->infos[a->n_infos++],
                            err);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : db_error(db, rc, err, "list snapshots");
}

int snapshot_list(struct snapshotter *s, const char *ns, struct snapshot_info **ret, size_t *ret_n,
                  struct errmsg *err)
{
        struct key_args a = {.s = s, .ns = ns};
        int r = metadata_transaction(s->md, list_txn, &a, err);

        if (r < 0) {
                snapshot_infos_free(a.infos, a.n_infos);
                return r;
        }
        *ret = a.infos;
        *ret_n = a.n_infos;
        return 0;
}
