/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The content store on disk (see content.h): blobs/sha256/<hex> and resumable ingests. The
 * only way a blob appears is content_writer_commit: digest and size verified, data fsynced,
 * renamed into blobs/sha256, that directory fsynced.
 */
#include "containerd/content.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "lib/fs.h"
#include "lib/xalloc.h"

#define BLOBS_DIR      "blobs/sha256"
#define INGEST_DIR     "ingest"
#define SMALL_FILE_MAX 64
#define COPY_CHUNK     (1u << 20)

struct content_store {
        char *root;
        int root_fd;
        int blobs_fd;
        int ingest_fd;
};

struct content_writer {
        struct content_store *cs; /* borrowed */
        char *ref;
        char name[DIGEST_STR_MAX]; /* the ingest directory: hex of sha256(ref) */
        int dir_fd;                /* flock()ed while this writer lives */
        int data_fd;
        uint64_t offset;
        uint64_t total;
        char expected[DIGEST_STR_MAX];
        struct digester *digester;
};

static int open_dir_at(int dirfd, const char *path, int *ret_fd)
{
        int fd;

        if (mkdir_p_at(dirfd, path, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        *ret_fd = fd;
        return 0;
}

int content_store_open(const char *path, struct content_store **ret, struct errmsg *err)
{
        _cleanup_(content_store_freep) struct content_store *cs = xnew0(struct content_store, 1);
        int r;

        cs->root = xstrdup(path);
        cs->root_fd = cs->blobs_fd = cs->ingest_fd = -EBADF;
        r = open_dir_at(AT_FDCWD, path, &cs->root_fd);
        if (r >= 0)
                r = open_dir_at(cs->root_fd, BLOBS_DIR, &cs->blobs_fd);
        if (r >= 0)
                r = open_dir_at(cs->root_fd, INGEST_DIR, &cs->ingest_fd);
        if (r < 0)
                return errmsg_set(err, r, "content store %s: %s", path, strerror(-r));
        *ret = TAKE_PTR(cs);
        return 0;
}

struct content_store *content_store_free(struct content_store *cs)
{
        if (!cs)
                return NULL;
        safe_close(cs->root_fd);
        safe_close(cs->blobs_fd);
        safe_close(cs->ingest_fd);
        free(cs->root);
        free(cs);
        return NULL;
}

const char *content_store_root(const struct content_store *cs)
{
        return cs->root;
}

static void info_from_stat(const char *digest, const struct stat *st, struct content_info *ret)
{
        *ret = (struct content_info){.size = (uint64_t) st->st_size, .committed_at = st->st_mtim};
        (void) snprintf(ret->digest, sizeof(ret->digest), "%s", digest);
}

int content_store_info(struct content_store *cs, const char *digest, struct content_info *ret,
                       struct errmsg *err)
{
        struct stat st;
        int r;

        r = digest_validate(digest, err);
        if (r < 0)
                return r;
        if (fstatat(cs->blobs_fd, digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errmsg_set(err, -errno, "content %s: %s", digest,
                                  errno == ENOENT ? "not found" : strerror(errno));
        info_from_stat(digest, &st, ret);
        return 0;
}

int content_store_open_blob(struct content_store *cs, const char *digest, int *ret_fd,
                            struct errmsg *err)
{
        int fd, r;

        r = digest_validate(digest, err);
        if (r < 0)
                return r;
        fd = openat(cs->blobs_fd, digest_hex(digest), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(err, -errno, "content %s: %s", digest,
                                  errno == ENOENT ? "not found" : strerror(errno));
        *ret_fd = fd;
        return 0;
}

int content_store_delete(struct content_store *cs, const char *digest, struct errmsg *err)
{
        int r;

        r = digest_validate(digest, err);
        if (r < 0)
                return r;
        if (unlinkat(cs->blobs_fd, digest_hex(digest), 0) < 0)
                return errmsg_set(err, -errno, "content %s: %s", digest,
                                  errno == ENOENT ? "not found" : strerror(errno));
        return 0;
}

/* A DIR stream of dirfd itself (a new open file description; dirfd stays usable). */
static int open_dir_stream(int dirfd, DIR **ret)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();

                safe_close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

static bool is_hex_name(const char *s)
{
        size_t n = strspn(s, "0123456789abcdef");

        return n == DIGEST_HEX_LEN && s[n] == '\0';
}

int content_store_walk(struct content_store *cs, content_walk_fn fn, void *userdata)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = open_dir_stream(cs->blobs_fd, &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                char digest[DIGEST_STR_MAX];
                struct content_info info;
                struct stat st;

                if (!is_hex_name(de->d_name) ||
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue;
                memcpy(digest, "sha256:", STRLEN("sha256:"));
                memcpy(digest + STRLEN("sha256:"), de->d_name, DIGEST_HEX_LEN + 1);
                info_from_stat(digest, &st, &info);
                r = fn(&info, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Ingest directory name for ref: containerd hashes the ref to a constant-length name. */
static void ingest_name(const char *ref, char ret[DIGEST_STR_MAX])
{
        char d[DIGEST_STR_MAX];

        digest_bytes(ref, strlen(ref), d);
        (void) snprintf(ret, DIGEST_STR_MAX, "%s", digest_hex(d));
}

static int check_ref(const char *ref, struct errmsg *err)
{
        if (!ref || !ref[0])
                return errmsg_set(err, -EINVAL, "ingest ref: empty");
        if (strlen(ref) > CONTENT_REF_MAX)
                return errmsg_set(err, -EINVAL, "ingest ref: longer than %d bytes",
                                  CONTENT_REF_MAX);
        return 0;
}

static int read_small_at(int dirfd, const char *file, char **ret)
{
        size_t len;

        return read_file_at(dirfd, file, SMALL_FILE_MAX + CONTENT_REF_MAX, ret, &len);
}

static int read_timestamp_at(int dirfd, const char *file, struct timespec *ret)
{
        _cleanup_free_ char *text = NULL;
        int64_t sec;
        uint64_t nsec;
        char *dot;

        if (read_small_at(dirfd, file, &text) < 0)
                return -ENOENT;
        dot = strchr(text, '.');
        if (!dot)
                return -EINVAL;
        *dot = '\0';
        if (parse_int64(text, &sec) < 0 || parse_uint64(dot + 1, &nsec) < 0 || nsec >= 1000000000)
                return -EINVAL;
        *ret = (struct timespec){.tv_sec = sec, .tv_nsec = (long) nsec};
        return 0;
}

static int write_timestamp_at(int dirfd, const char *file)
{
        char text[64];
        struct timespec now;
        int n;

        (void) clock_gettime(CLOCK_REALTIME, &now);
        n = snprintf(text, sizeof(text), "%lld.%09ld", (long long) now.tv_sec, now.tv_nsec);
        return write_file_replace_at(dirfd, file, text, (size_t) n, 0644);
}

static int status_at(int dir_fd, struct content_status *ret)
{
        _cleanup_free_ char *ref = NULL, *total = NULL;
        struct content_status s = {0};
        struct stat st;

        if (read_small_at(dir_fd, "ref", &ref) < 0 ||
            fstatat(dir_fd, "data", &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -ENOENT;
        s.offset = (uint64_t) st.st_size;
        if (read_small_at(dir_fd, "total", &total) >= 0)
                (void) parse_uint64(total, &s.total);
        if (read_timestamp_at(dir_fd, "startedat", &s.started_at) < 0)
                s.started_at = st.st_ctim;
        if (read_timestamp_at(dir_fd, "updatedat", &s.updated_at) < 0 ||
            st.st_mtim.tv_sec > s.updated_at.tv_sec)
                s.updated_at = st.st_mtim; /* updatedat is not rewritten on every write */
        s.ref = TAKE_PTR(ref);
        *ret = s;
        return 0;
}

int content_store_status(struct content_store *cs, const char *ref, struct content_status *ret,
                         struct errmsg *err)
{
        _cleanup_close_ int dir_fd = -EBADF;
        char name[DIGEST_STR_MAX];
        int r;

        r = check_ref(ref, err);
        if (r < 0)
                return r;
        ingest_name(ref, name);
        dir_fd = openat(cs->ingest_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 || status_at(dir_fd, ret) < 0)
                return errmsg_set(err, -ENOENT, "ingest %s: not found", ref);
        return 0;
}

void content_status_release(struct content_status *s)
{
        free(s->ref);
        s->ref = NULL;
}

int content_store_walk_ingests(struct content_store *cs, content_status_fn fn, void *userdata)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = open_dir_stream(cs->ingest_fd, &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                _cleanup_close_ int dir_fd = -EBADF;
                struct content_status st;

                if (!is_hex_name(de->d_name))
                        continue;
                dir_fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir_fd < 0 || status_at(dir_fd, &st) < 0)
                        continue;
                r = fn(&st, userdata);
                content_status_release(&st);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Locks the ingest directory for one writer; -EBUSY when another holds it. */
static int lock_ingest(int dir_fd, const char *ref, struct errmsg *err)
{
        if (flock(dir_fd, LOCK_EX | LOCK_NB) < 0)
                return errmsg_set(err, errno == EWOULDBLOCK ? -EBUSY : -errno, "ingest %s: %s", ref,
                                  errno == EWOULDBLOCK ? "locked by another writer"
                                                       : strerror(errno));
        return 0;
}

int content_store_abort(struct content_store *cs, const char *ref, struct errmsg *err)
{
        _cleanup_close_ int dir_fd = -EBADF;
        char name[DIGEST_STR_MAX];
        int r;

        r = check_ref(ref, err);
        if (r < 0)
                return r;
        ingest_name(ref, name);
        dir_fd = openat(cs->ingest_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return errmsg_set(err, -ENOENT, "ingest %s: not found", ref);
        r = lock_ingest(dir_fd, ref, err);
        if (r < 0)
                return r;
        r = rm_rf_at(cs->ingest_fd, name);
        if (r < 0)
                return errmsg_set(err, r, "ingest %s: remove: %s", ref, strerror(-r));
        return 0;
}

struct content_writer *content_writer_free(struct content_writer *w)
{
        if (!w)
                return NULL;
        if (w->dir_fd >= 0 && w->data_fd >= 0)
                (void) write_timestamp_at(w->dir_fd, "updatedat");
        safe_close(w->data_fd);
        safe_close(w->dir_fd); /* releases the lock */
        digester_free(w->digester);
        free(w->ref);
        free(w);
        return NULL;
}

uint64_t content_writer_offset(const struct content_writer *w)
{
        return w->offset;
}

/* Opens (creating it with its "ref", "startedat" and "total" files) and locks the ingest. */
static int ingest_open(struct content_writer *w, struct errmsg *err)
{
        _cleanup_free_ char *old_ref = NULL;
        bool is_new = mkdirat(w->cs->ingest_fd, w->name, 0755) >= 0;
        int r;

        if (!is_new && errno != EEXIST)
                return errmsg_set(err, -errno, "ingest %s: %s", w->ref, strerror(errno));
        w->dir_fd = openat(w->cs->ingest_fd, w->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (w->dir_fd < 0)
                return errmsg_set(err, -errno, "ingest %s: %s", w->ref, strerror(errno));
        r = lock_ingest(w->dir_fd, w->ref, err);
        if (r < 0)
                return r;
        if (read_small_at(w->dir_fd, "ref", &old_ref) >= 0 && !STREQ(old_ref, w->ref))
                return errmsg_set(err, -EEXIST, "ingest %s: directory holds ref %s", w->ref,
                                  old_ref);
        if (!old_ref) {
                r = write_file_replace_at(w->dir_fd, "ref", w->ref, strlen(w->ref), 0644);
                if (r >= 0)
                        r = write_timestamp_at(w->dir_fd, "startedat");
                if (r >= 0)
                        r = write_timestamp_at(w->dir_fd, "updatedat");
                if (r < 0)
                        return errmsg_set(err, r, "ingest %s: %s", w->ref, strerror(-r));
        }
        if (w->total > 0) {
                char total[32];
                int n = snprintf(total, sizeof(total), "%" PRIu64, w->total);

                (void) write_file_replace_at(w->dir_fd, "total", total, (size_t) n, 0644);
        }
        return 0;
}

/* Hashes the bytes an earlier writer left, so that writing continues after them. */
static int ingest_rehash(struct content_writer *w, struct errmsg *err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        ssize_t n;

        if (fstat(w->data_fd, &st) < 0)
                return errmsg_set(err, -errno, "ingest %s: %s", w->ref, strerror(errno));
        if (st.st_size == 0)
                return 0;
        if (w->total > 0 && (uint64_t) st.st_size > w->total) {
                if (ftruncate(w->data_fd, 0) < 0)
                        return errmsg_set(err, -errno, "ingest %s: %s", w->ref, strerror(errno));
                return 0;
        }
        buf = xmalloc(COPY_CHUNK);
        while ((n = pread(w->data_fd, buf, COPY_CHUNK, (off_t) w->offset)) > 0) {
                digester_update(w->digester, buf, (size_t) n);
                w->offset += (uint64_t) n;
        }
        if (n < 0)
                return errmsg_set(err, -errno, "ingest %s: read: %s", w->ref, strerror(errno));
        return 0;
}

int content_writer_open(struct content_store *cs, const char *ref, uint64_t total,
                        const char *expected, struct content_writer **ret, struct errmsg *err)
{
        _cleanup_(content_writer_freep) struct content_writer *w = NULL;
        struct stat st;
        int r;

        r = check_ref(ref, err);
        if (r >= 0 && expected)
                r = digest_validate(expected, err);
        if (r < 0)
                return r;
        if (expected && fstatat(cs->blobs_fd, digest_hex(expected), &st, 0) >= 0)
                return errmsg_set(err, -EEXIST, "content %s: already exists", expected);
        w = xnew0(struct content_writer, 1);
        *w = (struct content_writer){.cs = cs,
                                     .ref = xstrdup(ref),
                                     .dir_fd = -EBADF,
                                     .data_fd = -EBADF,
                                     .total = total,
                                     .digester = digester_new()};
        if (expected)
                (void) snprintf(w->expected, sizeof(w->expected), "%s", expected);
        ingest_name(ref, w->name);
        r = ingest_open(w, err);
        if (r < 0)
                return r;
        w->data_fd = openat(w->dir_fd, "data", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (w->data_fd < 0)
                return errmsg_set(err, -errno, "ingest %s: data: %s", ref, strerror(errno));
        r = ingest_rehash(w, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

int content_writer_truncate(struct content_writer *w, uint64_t offset, struct errmsg *err)
{
        if (offset > w->offset)
                return errmsg_set(err, -EINVAL, "ingest %s: truncate to %" PRIu64 " past %" PRIu64,
                                  w->ref, offset, w->offset);
        if (ftruncate(w->data_fd, (off_t) offset) < 0)
                return errmsg_set(err, -errno, "ingest %s: truncate: %s", w->ref, strerror(errno));
        digester_free(w->digester);
        w->digester = digester_new();
        w->offset = 0;
        return ingest_rehash(w, err);
}

int content_writer_write(struct content_writer *w, const void *buf, size_t len, struct errmsg *err)
{
        const uint8_t *p = buf;
        size_t done = 0;

        if (w->total > 0 && w->offset + len > w->total)
                return errmsg_set(err, -EFBIG,
                                  "ingest %s: %" PRIu64 " bytes exceed the size %" PRIu64, w->ref,
                                  w->offset + len, w->total);
        while (done < len) {
                ssize_t n = pwrite(w->data_fd, p + done, len - done, (off_t) (w->offset + done));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return errmsg_set(err, n < 0 ? -errno : -EIO, "ingest %s: write: %s",
                                          w->ref, n < 0 ? strerror(errno) : "no progress");
                done += (size_t) n;
        }
        digester_update(w->digester, buf, len);
        w->offset += len;
        return 0;
}

/* Moves the verified data into blobs/ durably; an existing blob wins. */
static int ingest_publish(struct content_writer *w, const char *digest, struct errmsg *err)
{
        if (fsync(w->data_fd) < 0)
                return errmsg_set(err, -errno, "ingest %s: fsync: %s", w->ref, strerror(errno));
        (void) fchmod(w->data_fd, 0444);
        if (renameat2(w->dir_fd, "data", w->cs->blobs_fd, digest_hex(digest), RENAME_NOREPLACE) <
                    0 &&
            errno != EEXIST)
                return errmsg_set(err, -errno, "content %s: rename into place: %s", digest,
                                  strerror(errno));
        if (fsync(w->cs->blobs_fd) < 0)
                return errmsg_set(err, -errno, "content %s: fsync %s: %s", digest, BLOBS_DIR,
                                  strerror(errno));
        return 0;
}

static int check_commit(struct content_writer *w, uint64_t size, const char *expected,
                        const char *actual, struct errmsg *err)
{
        if (size == 0)
                size = w->total;
        if (size > 0 && w->offset != size)
                return errmsg_set(err, -EBADMSG,
                                  "ingest %s: unexpected commit size %" PRIu64
                                  ", expected %" PRIu64,
                                  w->ref, w->offset, size);
        if (!expected && w->expected[0])
                expected = w->expected;
        if (expected && !STREQ(expected, actual))
                return errmsg_set(err, -EBADMSG,
                                  "ingest %s: unexpected commit digest %s, expected %s", w->ref,
                                  actual, expected);
        return 0;
}

int content_writer_commit(struct content_writer *writer, uint64_t size, const char *expected,
                          char ret_digest[DIGEST_STR_MAX], struct errmsg *err)
{
        _cleanup_(content_writer_freep) struct content_writer *w = writer;
        char actual[DIGEST_STR_MAX];
        int r;

        if (expected) {
                r = digest_validate(expected, err);
                if (r < 0)
                        return r;
        }
        digester_final(w->digester, actual);
        r = check_commit(w, size, expected, actual, err);
        if (r >= 0)
                r = ingest_publish(w, actual, err);
        if (r < 0 && r != -EBADMSG)
                return r; /* I/O trouble: the ingest stays and can be resumed */
        (void) rm_rf_at(w->cs->ingest_fd, w->name);
        w->data_fd = safe_close(w->data_fd);
        if (r < 0)
                return r;
        if (ret_digest)
                memcpy(ret_digest, actual, DIGEST_STR_MAX);
        return 0;
}

int content_store_put(struct content_store *cs, const void *data, size_t len,
                      char ret_digest[DIGEST_STR_MAX], struct errmsg *err)
{
        _cleanup_(content_writer_freep) struct content_writer *w = NULL;
        char digest[DIGEST_STR_MAX], ref[DIGEST_STR_MAX + 8];
        int r;

        digest_bytes(data, len, digest);
        (void) snprintf(ref, sizeof(ref), "put-%s", digest);
        r = content_writer_open(cs, ref, len, digest, &w, err);
        if (r >= 0)
                r = content_writer_write(w, data, len, err);
        if (r >= 0)
                r = content_writer_commit(TAKE_PTR(w), len, digest, NULL, err);
        if (r < 0 && r != -EEXIST) /* -EEXIST: the blob is there already */
                return r;
        if (ret_digest)
                memcpy(ret_digest, digest, DIGEST_STR_MAX);
        return 0;
}
