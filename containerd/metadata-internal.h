/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the metadata files (metadata*.c, snapshot.c, gc.c): statements, errors,
 * timestamps and label tables. Not a contract outside containerd/.
 */
#pragma once

#include <pthread.h>
#include <sqlite3.h>

#include "containerd/metadata.h"

struct metadata {
        sqlite3 *db;
        pthread_mutex_t lock;
};

static inline void sqlite3_finalizep(sqlite3_stmt **st)
{
        if (*st)
                (void) sqlite3_finalize(*st);
}
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* The errno for a failed SQLite call: -EEXIST for a unique key, -EBUSY for a foreign key still
 * referenced, -EIO otherwise; err gets "what: <sqlite message>". */
int db_error(sqlite3 *db, int rc, struct errmsg *err, const char *what);
/* Prepares sql; on failure err names it. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, struct errmsg *err);
/* Runs a statement without results (SQLITE_DONE expected). */
int db_step_done(sqlite3 *db, sqlite3_stmt *st, struct errmsg *err, const char *what);
/* Runs sql (no parameters, no results). */
int db_exec(sqlite3 *db, const char *sql, struct errmsg *err);
/* Binds text, NULL for a NULL pointer. */
void db_bind_text(sqlite3_stmt *st, int index, const char *s);
/* A copy of a text column (NULL for SQL NULL). */
char *db_column_text(sqlite3_stmt *st, int index);
/* Changes made by the last statement. */
int db_changes(sqlite3 *db);

int64_t timespec_to_ns(const struct timespec *ts);
struct timespec ns_to_timespec(int64_t ns);
int64_t now_ns(void);

/* Label tables have the columns (namespace, owner, key, value). */
int labels_validate(char *const *labels, struct errmsg *err);
/* Deletes the owner's labels, then inserts these. */
int labels_replace(sqlite3 *db, const char *table, const char *ns, const char *owner,
                   char *const *labels, struct errmsg *err);
/* Sets the given keys; an empty value removes its key. */
int labels_update(sqlite3 *db, const char *table, const char *ns, const char *owner,
                  char *const *labels, struct errmsg *err);
int labels_read(sqlite3 *db, const char *table, const char *ns, const char *owner, char ***ret,
                struct errmsg *err);

/* Creates ns unless present (inside the caller's transaction). */
int namespace_ensure_locked(sqlite3 *db, const char *ns, struct errmsg *err);
int id_validate(const char *what, const char *id, size_t max, struct errmsg *err);
