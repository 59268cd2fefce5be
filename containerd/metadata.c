/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metadata database: opening (WAL, foreign keys, synchronous=FULL so that a committed
 * transaction survives a power loss), the schema and its migrations (PRAGMA user_version),
 * transactions, the statement and label helpers, and namespaces.
 */
#include "containerd/metadata-internal.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define BUSY_TIMEOUT_MS 10000

/* Schema version 1. Timestamps are nanoseconds since the epoch. */
static const char schema_v1[] =
        "CREATE TABLE namespaces (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL);"
        "CREATE TABLE namespace_labels (namespace TEXT NOT NULL, owner TEXT NOT NULL,"
        " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (namespace, owner, key),"
        " FOREIGN KEY (namespace) REFERENCES namespaces(name) ON DELETE CASCADE);"
        "CREATE TABLE images (namespace TEXT NOT NULL REFERENCES namespaces(name),"
        " name TEXT NOT NULL, media_type TEXT NOT NULL, digest TEXT NOT NULL,"
        " size INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " PRIMARY KEY (namespace, name));"
        "CREATE TABLE image_labels (namespace TEXT NOT NULL, owner TEXT NOT NULL,"
        " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (namespace, owner, key),"
        " FOREIGN KEY (namespace, owner) REFERENCES images(namespace, name) ON DELETE CASCADE);"
        "CREATE TABLE content (namespace TEXT NOT NULL REFERENCES namespaces(name),"
        " digest TEXT NOT NULL, size INTEGER NOT NULL, created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL, PRIMARY KEY (namespace, digest));"
        "CREATE INDEX content_by_digest ON content(digest);"
        "CREATE TABLE content_labels (namespace TEXT NOT NULL, owner TEXT NOT NULL,"
        " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (namespace, owner, key),"
        " FOREIGN KEY (namespace, owner) REFERENCES content(namespace, digest)"
        " ON DELETE CASCADE);"
        "CREATE TABLE leases (namespace TEXT NOT NULL REFERENCES namespaces(name),"
        " id TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (namespace, id));"
        "CREATE TABLE lease_labels (namespace TEXT NOT NULL, owner TEXT NOT NULL,"
        " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (namespace, owner, key),"
        " FOREIGN KEY (namespace, owner) REFERENCES leases(namespace, id) ON DELETE CASCADE);"
        "CREATE TABLE lease_resources (namespace TEXT NOT NULL, lease TEXT NOT NULL,"
        " type TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (namespace, lease, type, id),"
        " FOREIGN KEY (namespace, lease) REFERENCES leases(namespace, id) ON DELETE CASCADE);"
        "CREATE TABLE containers (namespace TEXT NOT NULL REFERENCES namespaces(name),"
        " id TEXT NOT NULL, image TEXT, runtime_name TEXT, runtime_options BLOB, spec BLOB,"
        " snapshotter TEXT, snapshot_key TEXT, sandbox TEXT, created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL, PRIMARY KEY (namespace, id));"
        "CREATE TABLE container_labels (namespace TEXT NOT NULL, owner TEXT NOT NULL,"
        " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (namespace, owner, key),"
        " FOREIGN KEY (namespace, owner) REFERENCES containers(namespace, id)"
        " ON DELETE CASCADE);"
        "CREATE TABLE snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " snapshotter TEXT NOT NULL, namespace TEXT NOT NULL REFERENCES namespaces(name),"
        " key TEXT NOT NULL, parent INTEGER REFERENCES snapshots(id), kind INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " UNIQUE (snapshotter, namespace, key));"
        "CREATE INDEX snapshots_by_parent ON snapshots(parent);"
        "CREATE TABLE snapshot_labels (namespace TEXT NOT NULL, owner INTEGER NOT NULL"
        " REFERENCES snapshots(id) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (owner, key));";

/* Version 2: containers keep their extensions. */
static const char schema_v2[] = "ALTER TABLE containers ADD COLUMN extensions BLOB;";

/* migrations[v] takes the schema from version v to v + 1. */
static const char *const migrations[METADATA_SCHEMA_VERSION] = {schema_v1, schema_v2};

int db_error(sqlite3 *db, int rc, struct errmsg *err, const char *what)
{
        int code = -EIO;

        if (rc == SQLITE_CONSTRAINT) {
                int ext = sqlite3_extended_errcode(db);

                code = ext == SQLITE_CONSTRAINT_FOREIGNKEY ? -EBUSY : -EEXIST;
        } else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
                code = -EAGAIN;
        } else if (rc == SQLITE_FULL) {
                code = -ENOSPC;
        }
        return errmsg_set(err, code, "%s: %s", what, sqlite3_errmsg(db));
}

int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, struct errmsg *err)
{
        int rc = sqlite3_prepare_v2(db, sql, -1, ret, NULL);

        return rc == SQLITE_OK ? 0 : db_error(db, rc, err, "prepare statement");
}

int db_step_done(sqlite3 *db, sqlite3_stmt *st, struct errmsg *err, const char *what)
{
        int rc = sqlite3_step(st);

        return rc == SQLITE_DONE ? 0 : db_error(db, rc, err, what);
}

int db_exec(sqlite3 *db, const char *sql, struct errmsg *err)
{
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

        return rc == SQLITE_OK ? 0 : db_error(db, rc, err, "metadata");
}

void db_bind_text(sqlite3_stmt *st, int index, const char *s)
{
        if (s)
                (void) sqlite3_bind_text(st, index, s, -1, SQLITE_TRANSIENT);
        else
                (void) sqlite3_bind_null(st, index);
}

char *db_column_text(sqlite3_stmt *st, int index)
{
        const unsigned char *s = sqlite3_column_text(st, index);

        return s ? xstrdup((const char *) s) : NULL;
}

int db_changes(sqlite3 *db)
{
        return sqlite3_changes(db);
}

int64_t timespec_to_ns(const struct timespec *ts)
{
        return (int64_t) ts->tv_sec * 1000000000 + ts->tv_nsec;
}

struct timespec ns_to_timespec(int64_t ns)
{
        return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
}

int64_t now_ns(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return timespec_to_ns(&ts);
}

static int migrate(sqlite3 *db, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int version, r;

        r = db_prepare(db, "PRAGMA user_version", &st, err);
        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return db_error(db, SQLITE_ERROR, err, "read schema version");
        version = sqlite3_column_int(st, 0);
        if (version > METADATA_SCHEMA_VERSION)
                return errmsg_set(err, -EPROTO,
                                  "metadata schema version %d is newer than this berth's (%d)",
                                  version, METADATA_SCHEMA_VERSION);
        for (; version < METADATA_SCHEMA_VERSION; version++) {
                char set_version[64];

                (void) snprintf(set_version, sizeof(set_version), "PRAGMA user_version = %d",
                                version + 1);
                r = db_exec(db, "BEGIN IMMEDIATE", err);
                if (r >= 0)
                        r = db_exec(db, migrations[version], err);
                if (r >= 0)
                        r = db_exec(db, set_version, err);
                if (r >= 0)
                        r = db_exec(db, "COMMIT", err);
                if (r < 0) {
                        (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                        return errmsg_prefix(err, r, "migrate metadata to version %d", version + 1);
                }
        }
        return 0;
}

int metadata_open(const char *path, struct metadata **ret, struct errmsg *err)
{
        _cleanup_(metadata_freep) struct metadata *md = xnew0(struct metadata, 1);
        int rc, r;

        (void) pthread_mutex_init(&md->lock, NULL);
        rc = sqlite3_open_v2(path, &md->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
        if (rc != SQLITE_OK)
                return errmsg_set(err, -EIO, "open metadata %s: %s", path,
                                  md->db ? sqlite3_errmsg(md->db) : sqlite3_errstr(rc));
        (void) sqlite3_busy_timeout(md->db, BUSY_TIMEOUT_MS);
        r = db_exec(md->db,
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                    " PRAGMA foreign_keys = ON;",
                    err);
        if (r >= 0)
                r = migrate(md->db, err);
        if (r < 0)
                return errmsg_prefix(err, r, "metadata %s", path);
        *ret = TAKE_PTR(md);
        return 0;
}

struct metadata *metadata_free(struct metadata *md)
{
        if (!md)
                return NULL;
        if (md->db)
                (void) sqlite3_close_v2(md->db);
        (void) pthread_mutex_destroy(&md->lock);
        free(md);
        return NULL;
}

int metadata_schema_version(struct metadata *md)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        if (db_prepare(md->db, "PRAGMA user_version", &st, NULL) < 0 ||
            sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        return sqlite3_column_int(st, 0);
}

int metadata_transaction(struct metadata *md, metadata_txn_fn fn, void *userdata,
                         struct errmsg *err)
{
        int r;

        (void) pthread_mutex_lock(&md->lock);
        r = db_exec(md->db, "BEGIN IMMEDIATE", err);
        if (r >= 0) {
                r = fn(md->db, userdata, err);
                if (r >= 0)
                        r = db_exec(md->db, "COMMIT", err);
                if (r < 0)
                        (void) sqlite3_exec(md->db, "ROLLBACK", NULL, NULL, NULL);
        }
        (void) pthread_mutex_unlock(&md->lock);
        return r;
}

void descriptor_release(struct descriptor *d)
{
        free(d->media_type);
        d->media_type = NULL;
}

int id_validate(const char *what, const char *id, size_t max, struct errmsg *err)
{
        if (!id || !id[0])
                return errmsg_set(err, -EINVAL, "%s: empty", what);
        if (strlen(id) > max)
                return errmsg_set(err, -EINVAL, "%s \"%.64s...\": longer than %zu bytes", what, id,
                                  max);
        return 0;
}

int labels_validate(char *const *labels, struct errmsg *err)
{
        size_t n = strv_length(labels);

        if (n % 2)
                return errmsg_set(err, -EINVAL, "labels: a key without a value");
        if (n / 2 > LABELS_MAX)
                return errmsg_set(err, -EINVAL, "labels: more than %d", LABELS_MAX);
        for (size_t i = 0; i < n; i += 2) {
                if (!labels[i][0])
                        return errmsg_set(err, -EINVAL, "labels: empty key");
                if (strlen(labels[i]) + strlen(labels[i + 1]) > LABEL_MAX_BYTES)
                        return errmsg_set(err, -EINVAL, "label %.64s: longer than %d bytes",
                                          labels[i], LABEL_MAX_BYTES);
        }
        return 0;
}

static int labels_set_one(sqlite3 *db, const char *table, const char *ns, const char *owner,
                          const char *key, const char *value, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char sql[256];
        int r;

        if (value[0])
                (void) snprintf(sql, sizeof(sql),
                                "INSERT OR REPLACE INTO %s (namespace, owner, key, value)"
                                " VALUES (?1, ?2, ?3, ?4)",
                                table);
        else
                (void) snprintf(sql, sizeof(sql),
                                "DELETE FROM %s WHERE namespace = ?1 AND owner = ?2 AND key = ?3",
                                table);
        r = db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, ns);
        db_bind_text(st, 2, owner);
        db_bind_text(st, 3, key);
        if (value[0])
                db_bind_text(st, 4, value);
        return db_step_done(db, st, err, "write label");
}

int labels_update(sqlite3 *db, const char *table, const char *ns, const char *owner,
                  char *const *labels, struct errmsg *err)
{
        int r = labels_validate(labels, err);

        for (size_t i = 0; r >= 0 && labels && labels[i]; i += 2)
                r = labels_set_one(db, table, ns, owner, labels[i], labels[i + 1], err);
        return r;
}

int labels_replace(sqlite3 *db, const char *table, const char *ns, const char *owner,
                   char *const *labels, struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char sql[128];
        int r;

        r = labels_validate(labels, err);
        if (r < 0)
                return r;
        (void) snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE namespace = ?1 AND owner = ?2",
                        table);
        r = db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, ns);
        db_bind_text(st, 2, owner);
        r = db_step_done(db, st, err, "clear labels");
        return r < 0 ? r : labels_update(db, table, ns, owner, labels, err);
}

int labels_read(sqlite3 *db, const char *table, const char *ns, const char *owner, char ***ret,
                struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_strv_ char **labels = NULL;
        char sql[128];
        int r, rc;

        (void) snprintf(sql, sizeof(sql),
                        "SELECT key, value FROM %s WHERE namespace = ?1 AND owner = ?2"
                        " ORDER BY key",
                        table);
        r = db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        db_bind_text(st, 1, ns);
        db_bind_text(st, 2, owner);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                (void) strv_push(&labels, (const char *) sqlite3_column_text(st, 0));
                (void) strv_push(&labels, (const char *) sqlite3_column_text(st, 1));
        }
        if (rc != SQLITE_DONE)
                return db_error(db, rc, err, "read labels");
        *ret = TAKE_PTR(labels);
        return 0;
}
