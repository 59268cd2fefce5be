/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The content store: blobs addressed by their sha256 digest under
 * <root>/blobs/sha256/<hex>, written through resumable ingests under <root>/ingest/<hex of
 * sha256(ref)>/ (containerd's content/local layout: files "ref", "data", "total",
 * "startedat", "updatedat"). A blob only ever appears complete: the ingest is verified
 * (size, digest), fsynced, renamed into place and the directory fsynced, so a crash at any
 * point leaves either no blob or the whole blob, and an ingest that can resume.
 * Labels and namespaces are metadata (containerd/metadata.h), not kept here.
 * Thread-safety: a store may be used from several threads; one ingest (ref) has one writer at
 * a time, enforced with a lock on its data file, across processes too.
 */
#pragma once

#include <time.h>

#include "lib/digest.h"
#include "lib/errmsg.h"

/* The longest ingest ref accepted (containerd's refs are "<kind>-<digest>" and the like). */
#define CONTENT_REF_MAX 1024

struct content_store;

struct content_info {
        char digest[DIGEST_STR_MAX];
        uint64_t size;
        struct timespec committed_at; /* the blob file's mtime */
};

struct content_status {
        char *ref;
        uint64_t offset; /* bytes in the ingest so far */
        uint64_t total;  /* 0 when unknown */
        struct timespec started_at;
        struct timespec updated_at;
};

/* Opens (creating the directories) the store rooted at path. ret is the caller's. */
int content_store_open(const char *path, struct content_store **ret, struct errmsg *err);
struct content_store *content_store_free(struct content_store *cs);
DEFINE_CLEANUP_FUNC(struct content_store, content_store_free)
/* The root path given to content_store_open (borrowed). */
const char *content_store_root(const struct content_store *cs);

/* -ENOENT when the blob is not there; -EINVAL for a malformed digest. */
int content_store_info(struct content_store *cs, const char *digest, struct content_info *ret,
                       struct errmsg *err);
/* An O_RDONLY|O_CLOEXEC fd of the blob (the caller's). */
int content_store_open_blob(struct content_store *cs, const char *digest, int *ret_fd,
                            struct errmsg *err);
/* Removes the blob; -ENOENT when it is not there. */
int content_store_delete(struct content_store *cs, const char *digest, struct errmsg *err);

/* Calls fn for every blob (order unspecified); stops at and returns fn's first negative result. */
typedef int (*content_walk_fn)(const struct content_info *info, void *userdata);
int content_store_walk(struct content_store *cs, content_walk_fn fn, void *userdata);

/* The state of ref's ingest; -ENOENT when there is none. ret->ref is the caller's. */
int content_store_status(struct content_store *cs, const char *ref, struct content_status *ret,
                         struct errmsg *err);
void content_status_release(struct content_status *s);
/* Calls fn for every ingest present. */
typedef int (*content_status_fn)(const struct content_status *st, void *userdata);
int content_store_walk_ingests(struct content_store *cs, content_status_fn fn, void *userdata);
/* Removes ref's ingest; -ENOENT when there is none, -EBUSY while a writer holds it. */
int content_store_abort(struct content_store *cs, const char *ref, struct errmsg *err);

struct content_writer;

/*
 * Starts or resumes the ingest named ref. total (0: unknown) and expected (NULL: unknown) are
 * checked on write and commit. An existing ingest of the same ref is resumed: its bytes are
 * hashed again and content_writer_offset() tells where to continue (an ingest longer than
 * total starts over). -EEXIST when expected is already a blob (nothing to write), -EBUSY when
 * another writer holds ref. The writer is the caller's; freeing it keeps the ingest for later.
 */
int content_writer_open(struct content_store *cs, const char *ref, uint64_t total,
                        const char *expected, struct content_writer **ret, struct errmsg *err);
struct content_writer *content_writer_free(struct content_writer *w);
DEFINE_CLEANUP_FUNC(struct content_writer, content_writer_free)
uint64_t content_writer_offset(const struct content_writer *w);
/* Discards the bytes after offset (e.g. to restart from 0); offset <= the current offset. */
int content_writer_truncate(struct content_writer *w, uint64_t offset, struct errmsg *err);
/* Appends; -EFBIG past total. */
int content_writer_write(struct content_writer *w, const void *buf, size_t len, struct errmsg *err);
/*
 * Verifies size (0: total if known, else any) and expected digest (NULL: the one given to
 * open, if any), syncs and moves the data into place, removes the ingest and frees w (in
 * every case: w must not be used afterwards). A mismatch gives -EBADMSG and removes the ingest,
 * whose bytes are wrong. If the blob exists already the ingest is dropped and 0 returned.
 * ret_digest (may be NULL) gets the digest of what was written.
 */
int content_writer_commit(struct content_writer *w, uint64_t size, const char *expected,
                          char ret_digest[DIGEST_STR_MAX], struct errmsg *err);

/* Ingests a whole buffer as one blob (open, write, commit); -EEXIST is success here. */
int content_store_put(struct content_store *cs, const void *data, size_t len,
                      char ret_digest[DIGEST_STR_MAX], struct errmsg *err);
