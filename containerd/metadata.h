/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-containerd's metadata: one SQLite database (WAL, foreign keys, synchronous=FULL, a
 * schema version with migrations) holding namespaces, images, per-namespace content records
 * with labels, containers, snapshots (for the snapshotters, snapshot.h) and leases. Every
 * object lives in one namespace, as in containerd. Each call is one transaction; a crash
 * leaves the database as of the last committed call.
 *
 * Labels travel as strv of alternating key, value (NULL: none). Labels are capped (LABELS_MAX
 * pairs, LABEL_KEY_MAX/LABEL_VALUE_MAX bytes, as containerd's labels.Validate: 4096 bytes per
 * key + value). Errors: -ENOENT (not found), -EEXIST (already exists), -EINVAL (bad name or
 * label), -EBUSY (still in use: a namespace that is not empty, a snapshot with children), -EIO
 * (the database failed, the message says how). Strings returned are the caller's.
 * Thread-safety: calls are serialised on one connection by a mutex.
 */
#pragma once

#include <time.h>

#include "lib/digest.h"
#include "lib/errmsg.h"

#define METADATA_SCHEMA_VERSION 2
#define LABELS_MAX              256
#define LABEL_MAX_BYTES         4096 /* key + value */
#define NAME_MAX_BYTES          255  /* namespaces, leases */
#define ID_MAX_BYTES            1024 /* images, containers, snapshot keys */

struct metadata;

struct descriptor {
        char *media_type;
        char digest[DIGEST_STR_MAX];
        int64_t size;
};
void descriptor_release(struct descriptor *d);

/* Opens or creates the database at path and migrates its schema to METADATA_SCHEMA_VERSION.
 * A database from a newer berth is refused (-EPROTO). */
int metadata_open(const char *path, struct metadata **ret, struct errmsg *err);
struct metadata *metadata_free(struct metadata *md);
DEFINE_CLEANUP_FUNC(struct metadata, metadata_free)
int metadata_schema_version(struct metadata *md);

/* containerd's identifiers (namespaces, containers): alphanumeric runs joined by single '.', '_'
 * or '-', at most IDENTIFIER_MAX characters; what names the field in err. */
#define IDENTIFIER_MAX 76
int identifier_validate(const char *what, const char *s, struct errmsg *err);
int namespace_validate(const char *name, struct errmsg *err);
int namespace_create(struct metadata *md, const char *name, char *const *labels,
                     struct errmsg *err);
/* Creates it unless present. */
int namespace_ensure(struct metadata *md, const char *name, struct errmsg *err);
int namespace_labels(struct metadata *md, const char *name, char ***ret_labels, struct errmsg *err);
/* Replaces the labels (set = NULL clears). */
int namespace_set_labels(struct metadata *md, const char *name, char *const *labels,
                         struct errmsg *err);
/* -EBUSY when images, containers, content, snapshots or leases remain in it. */
int namespace_delete(struct metadata *md, const char *name, struct errmsg *err);
int namespace_list(struct metadata *md, char ***ret_names, struct errmsg *err);

struct image_record {
        char *name;
        struct descriptor target;
        char **labels;
        struct timespec created_at;
        struct timespec updated_at;
};
void image_record_release(struct image_record *r);
void image_records_free(struct image_record *v, size_t n);
/* Creates (-EEXIST when present) or, with is_update, replaces target and labels (-ENOENT when
 * absent); created_at is kept on update. The namespace is created on first use. */
int image_put(struct metadata *md, const char *ns, const struct image_record *r, bool is_update,
              struct errmsg *err);
int image_get(struct metadata *md, const char *ns, const char *name, struct image_record *ret,
              struct errmsg *err);
int image_list(struct metadata *md, const char *ns, struct image_record **ret, size_t *ret_n,
               struct errmsg *err);
int image_delete(struct metadata *md, const char *ns, const char *name, struct errmsg *err);

/* Content records: which blobs a namespace holds, with their labels. */
struct content_record {
        char digest[DIGEST_STR_MAX];
        int64_t size;
        char **labels;
        struct timespec created_at;
        struct timespec updated_at;
};
void content_record_release(struct content_record *r);
void content_records_free(struct content_record *v, size_t n);
/* Records digest in ns (keeping labels and created_at if it is there already). */
int content_record_add(struct metadata *md, const char *ns, const char *digest, int64_t size,
                       struct errmsg *err);
int content_record_get(struct metadata *md, const char *ns, const char *digest,
                       struct content_record *ret, struct errmsg *err);
/* Sets the labels given as alternating key, value (an empty value removes its key); with
 * replace_all, the labels become exactly these. */
int content_record_update_labels(struct metadata *md, const char *ns, const char *digest,
                                 char *const *labels, bool replace_all, struct errmsg *err);
int content_record_list(struct metadata *md, const char *ns, struct content_record **ret,
                        size_t *ret_n, struct errmsg *err);
int content_record_delete(struct metadata *md, const char *ns, const char *digest,
                          struct errmsg *err);
/* Whether any namespace records digest (so that its blob must stay). */
int content_is_referenced(struct metadata *md, const char *digest, bool *ret, struct errmsg *err);

/* Leases keep what they reference from garbage collection until deleted or expired. */
struct lease_record {
        char *id;
        char **labels;
        struct timespec created_at;
};
void lease_records_free(struct lease_record *v, size_t n);
int lease_create(struct metadata *md, const char *ns, const char *id, char *const *labels,
                 struct errmsg *err);
int lease_delete(struct metadata *md, const char *ns, const char *id, struct errmsg *err);
int lease_list(struct metadata *md, const char *ns, struct lease_record **ret, size_t *ret_n,
               struct errmsg *err);
/* type: "content", "ingests" or "snapshots/<snapshotter>" (containerd's resource types). */
int lease_add_resource(struct metadata *md, const char *ns, const char *lease, const char *type,
                       const char *id, struct errmsg *err);
int lease_delete_resource(struct metadata *md, const char *ns, const char *lease, const char *type,
                          const char *id, struct errmsg *err);
/* ret: strv of alternating type, id */
int lease_list_resources(struct metadata *md, const char *ns, const char *lease, char ***ret,
                         struct errmsg *err);

/*
 * Containers: metadata only (a task is the shim's business). The runtime options, the spec
 * and the extensions are opaque bytes to this layer (the daemon stores packed protobuf Any
 * values, as containerd does); size_t fields give their lengths.
 */
#define CONTAINER_BLOB_MAX (16u << 20)
struct container_record {
        char *id;
        char *image;
        char *runtime_name;
        void *runtime_options;
        size_t runtime_options_size;
        void *spec;
        size_t spec_size;
        char *snapshotter;
        char *snapshot_key;
        void *extensions;
        size_t extensions_size;
        char **labels;
        struct timespec created_at;
        struct timespec updated_at;
};
void container_record_release(struct container_record *r);
void container_records_free(struct container_record *v, size_t n);
/*
 * Creates (-EEXIST when present) or, with is_update, replaces a container (-ENOENT when
 * absent; snapshotter and runtime name cannot change: -EINVAL). As containerd's
 * validateContainer: the id must be an identifier, the runtime name and the spec must be
 * set, a snapshot key needs a snapshotter.
 */
int container_put(struct metadata *md, const char *ns, const struct container_record *r,
                  bool is_update, struct errmsg *err);
int container_get(struct metadata *md, const char *ns, const char *id, struct container_record *ret,
                  struct errmsg *err);
int container_list(struct metadata *md, const char *ns, struct container_record **ret,
                   size_t *ret_n, struct errmsg *err);
int container_delete(struct metadata *md, const char *ns, const char *id, struct errmsg *err);

/* Low-level access for the other stores in this folder (snapshot.c, gc.c): runs fn inside one
 * transaction (rolled back when fn fails). */
struct sqlite3;
typedef int (*metadata_txn_fn)(struct sqlite3 *db, void *userdata, struct errmsg *err);
int metadata_transaction(struct metadata *md, metadata_txn_fn fn, void *userdata,
                         struct errmsg *err);
