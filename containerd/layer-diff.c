/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes a directory's changes as a layer tar (see layer.h): libarchive formats the tar into
 * a sink that hashes the uncompressed bytes (diff_id), compresses them with zlib or libzstd
 * and hashes and writes what comes out (digest). Two walks feed it: the entries of an overlay
 * upper dir (Docker overlay2's naive-free diff), and a merge of two sorted trees (containerd's
 * fs.Changes double walk, with its ChangeWriter's parent and hardlink handling).
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <zlib.h>
#include <zstd.h>

#include "containerd/layer.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

#define DIFF_BUF_SIZE        (1u << 20)   /* file data per read */
#define DIFF_OUT_SIZE        (256u << 10) /* compressed bytes per write */
#define XATTR_LIST_SIZE_MAX  (64u << 10)  /* the kernel's XATTR_LIST_MAX */
#define WHITEOUT_PREFIX      ".wh."
#define WHITEOUT_OPAQUE      ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"
#define PROC_FD_PATH_MAX     (STRLEN("/proc/self/fd/") + 12 + 1 + NAME_MAX + 1)

/* The names of an inode with several links: the first written, and unchanged ones waiting. */
struct link_inode {
        dev_t dev;
        ino_t ino;
        char *source;
        char **pending;
        size_t n_pending, alloc_pending;
};

struct diff_writer {
        struct archive *ar;
        int out_fd;
        enum layer_compression compression;
        struct digester *raw; /* the tar: diff_id */
        struct digester *out; /* what out_fd gets: digest */
        uint64_t out_size;
        z_stream z;
        bool z_ready;
        ZSTD_CCtx *zstd;
        uint8_t *zbuf;
        uint8_t *buf;
        struct errmsg sink_err;
        void *inodes;  /* tsearch tree of struct link_inode */
        void *emitted; /* layer_diff_trees: directories written (tsearch of paths) */
        int upper_fd;  /* layer_diff_trees: to reach the parents of a change */
};

struct xattr {
        char *name;
        char *value;
        size_t size;
};

struct xattr_list {
        struct xattr *v;
        size_t n;
};

struct names {
        char **v;
        size_t n;
};

static bool startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static char *path_join(const char *prefix, const char *name)
{
        return *prefix ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
}

static int proc_path(char buf[PROC_FD_PATH_MAX], int dfd, const char *name)
{
        int n = snprintf(buf, PROC_FD_PATH_MAX, "/proc/self/fd/%d/%s", dfd, name);

        return n < 0 || (size_t) n >= PROC_FD_PATH_MAX ? -ENAMETOOLONG : 0;
}

static void names_release(struct names *n)
{
        for (size_t i = 0; i < n->n; i++)
                free(n->v[i]);
        free(n->v);
        *n = (struct names){0};
}

static int compare_strings(const void *x, const void *y)
{
        return strcmp(*(char *const *) x, *(char *const *) y);
}

/* The entries of directory dfd (borrowed) sorted bytewise, as filepath.Walk visits them. */
static int list_sorted(int dfd, struct names *ret)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct names n = {0};
        size_t alloc = 0;
        struct dirent *de;
        int fd;

        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        while ((errno = 0, de = readdir(d))) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                n.v = xgrow(n.v, &alloc, n.n + 1, sizeof(*n.v));
                n.v[n.n++] = xstrdup(de->d_name);
        }
        if (errno != 0) {
                int r = -errno;

                names_release(&n);
                return r;
        }
        if (n.n > 0)
                qsort(n.v, n.n, sizeof(*n.v), compare_strings);
        *ret = n;
        return 0;
}

static void xattr_list_release(struct xattr_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].name);
                free(l->v[i].value);
        }
        free(l->v);
        *l = (struct xattr_list){0};
}

static int compare_xattrs(const void *x, const void *y)
{
        return strcmp(((const struct xattr *) x)->name, ((const struct xattr *) y)->name);
}

/* Not part of an image: overlay's own bookkeeping, and the host's SELinux labels. */
static bool xattr_is_skipped(const char *name)
{
        return startswith(name, OVERLAY_XATTR_PREFIX) || STREQ(name, "security.selinux");
}

static int xattr_get(const char *proc, const char *name, struct xattr *ret)
{
        _cleanup_free_ char *value = NULL;
        ssize_t n;

        n = lgetxattr(proc, name, NULL, 0);
        if (n < 0)
                return -errno;
        if ((size_t) n > LAYER_XATTR_VALUE_MAX)
                return -E2BIG;
        value = xmalloc((size_t) n + 1);
        n = lgetxattr(proc, name, value, (size_t) n);
        if (n < 0)
                return errno == ERANGE ? -EAGAIN : -errno; /* grew meanwhile */
        *ret = (struct xattr){.name = xstrdup(name), .value = TAKE_PTR(value), .size = (size_t) n};
        return 0;
}

/* The xattrs of dfd/name (not followed), sorted by name, without the skipped ones. */
static int read_xattrs(int dfd, const char *name, struct xattr_list *ret)
{
        _cleanup_(xattr_list_release) struct xattr_list l = {0};
        char proc[PROC_FD_PATH_MAX];
        _cleanup_free_ char *list = NULL;
        size_t alloc = 0;
        ssize_t n;
        int r;

        r = proc_path(proc, dfd, name);
        if (r < 0)
                return r;
        n = llistxattr(proc, NULL, 0);
        if (n < 0 && errno != EOPNOTSUPP)
                return -errno;
        if (n <= 0) {
                *ret = (struct xattr_list){0};
                return 0;
        }
        if ((size_t) n > XATTR_LIST_SIZE_MAX)
                return -E2BIG;
        list = xmalloc((size_t) n);
        n = llistxattr(proc, list, (size_t) n);
        if (n < 0)
                return errno == ERANGE ? -EAGAIN : -errno; /* grew meanwhile */
        for (const char *p = list; p < list + n; p += strlen(p) + 1) {
                if (xattr_is_skipped(p))
                        continue;
                l.v = xgrow(l.v, &alloc, l.n + 1, sizeof(*l.v));
                r = xattr_get(proc, p, &l.v[l.n]);
                if (r == -ENODATA)
                        continue; /* removed meanwhile */
                if (r < 0)
                        return r;
                l.n++;
        }
        if (l.n > 0)
                qsort(l.v, l.n, sizeof(*l.v), compare_xattrs);
        *ret = l;
        l = (struct xattr_list){0};
        return 0;
}

static int sink_emit(struct diff_writer *w, const void *buf, size_t len)
{
        int r;

        digester_update(w->out, buf, len);
        w->out_size += len;
        r = write_all(w->out_fd, buf, len);
        if (r < 0)
                return errmsg_set(&w->sink_err, r, "write: %s", strerror(-r));
        return 0;
}

static int sink_gzip(struct diff_writer *w, const void *buf, size_t len, bool end)
{
        w->z.next_in = (Bytef *) buf;
        w->z.avail_in = (uInt) len;
        for (;;) {
                size_t n;
                int q, r;

                w->z.next_out = w->zbuf;
                w->z.avail_out = DIFF_OUT_SIZE;
                q = deflate(&w->z, end ? Z_FINISH : Z_NO_FLUSH);
                if (q == Z_STREAM_ERROR)
                        return errmsg_set(&w->sink_err, -EIO, "gzip: compressor failed");
                n = DIFF_OUT_SIZE - w->z.avail_out;
                if (n > 0) {
                        r = sink_emit(w, w->zbuf, n);
                        if (r < 0)
                                return r;
                }
                if (end ? q == Z_STREAM_END : w->z.avail_in == 0 && w->z.avail_out > 0)
                        return 0;
        }
}

static int sink_zstd(struct diff_writer *w, const void *buf, size_t len, bool end)
{
        ZSTD_inBuffer in = {.src = buf, .size = len};

        for (;;) {
                ZSTD_outBuffer out = {.dst = w->zbuf, .size = DIFF_OUT_SIZE};
                size_t left;
                int r;

                left = ZSTD_compressStream2(w->zstd, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
                if (ZSTD_isError(left))
                        return errmsg_set(&w->sink_err, -EIO, "zstd: %s", ZSTD_getErrorName(left));
                if (out.pos > 0) {
                        r = sink_emit(w, w->zbuf, out.pos);
                        if (r < 0)
                                return r;
                }
                if (end ? left == 0 : in.pos == in.size)
                        return 0;
        }
}

/* Uncompressed tar bytes in: hashed, compressed, hashed again and written. */
static int sink_feed(struct diff_writer *w, const void *buf, size_t len, bool end)
{
        if (!end)
                digester_update(w->raw, buf, len);
        if (w->compression == LAYER_COMPRESSION_GZIP)
                return sink_gzip(w, buf, len, end);
        if (w->compression == LAYER_COMPRESSION_ZSTD)
                return sink_zstd(w, buf, len, end);
        return len > 0 ? sink_emit(w, buf, len) : 0;
}

static la_ssize_t write_block(struct archive *ar, void *userdata, const void *buf, size_t len)
{
        struct diff_writer *w = userdata;
        int r;

        /* libarchive hands over at most one block at a time; zlib counts in uInt */
        if (len > UINT_MAX)
                len = UINT_MAX;
        r = sink_feed(w, buf, len, false);
        if (r < 0) {
                archive_set_error(ar, -r, "%s", w->sink_err.msg);
                return -1;
        }
        return (la_ssize_t) len;
}

static int diff_writer_open_codec(struct diff_writer *w)
{
        if (w->compression == LAYER_COMPRESSION_GZIP) {
                /* 16 + 15: a gzip wrapper (header mtime 0), the largest window */
                if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                 Z_DEFAULT_STRATEGY) != Z_OK)
                        return -ENOMEM;
                w->z_ready = true;
        } else if (w->compression == LAYER_COMPRESSION_ZSTD) {
                w->zstd = ZSTD_createCCtx();
                if (!w->zstd)
                        return -ENOMEM;
        }
        return 0;
}

static int diff_writer_open(struct diff_writer *w, int out_fd, const struct layer_diff_opts *o,
                            struct errmsg *err)
{
        int r;

        if ((unsigned) o->compression >= _LAYER_COMPRESSION_MAX)
                return errmsg_set(err, -EINVAL, "layer diff: invalid compression %d",
                                  o->compression);
        w->out_fd = out_fd;
        w->compression = o->compression;
        w->raw = digester_new();
        w->out = digester_new();
        w->zbuf = xmalloc(DIFF_OUT_SIZE);
        w->buf = xmalloc(DIFF_BUF_SIZE);
        r = diff_writer_open_codec(w);
        if (r < 0)
                return errmsg_set(err, r, "layer diff: %s compressor: %s",
                                  layer_compression_to_string(w->compression), strerror(-r));
        w->ar = archive_write_new();
        if (!w->ar)
                abort();
        /*
         * pax as containerd writes it, ustar headers where they suffice; xattrs only as
         * SCHILY.xattr records (what Go's archive/tar reads); no blocking, so that the tar
         * ends right after its two zero blocks as Go's writer ends it.
         */
        if (archive_write_set_format_pax_restricted(w->ar) != ARCHIVE_OK ||
            archive_write_set_format_option(w->ar, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
            archive_write_set_bytes_per_block(w->ar, 0) != ARCHIVE_OK ||
            archive_write_open2(w->ar, w, NULL, write_block, NULL, NULL) != ARCHIVE_OK)
                return errmsg_set(err, -EIO, "layer diff: set up the tar writer: %s",
                                  archive_error_string(w->ar));
        return 0;
}

static int inode_compare(const void *x, const void *y)
{
        const struct link_inode *a = x, *b = y;

        if (a->dev != b->dev)
                return a->dev < b->dev ? -1 : 1;
        if (a->ino != b->ino)
                return a->ino < b->ino ? -1 : 1;
        return 0;
}

static void link_inode_free(void *p)
{
        struct link_inode *li = p;

        free(li->source);
        for (size_t i = 0; i < li->n_pending; i++)
                free(li->pending[i]);
        free(li->pending);
        free(li);
}

static struct link_inode *inode_get(struct diff_writer *w, const struct stat *st)
{
        struct link_inode key = {.dev = st->st_dev, .ino = st->st_ino}, *li;
        void **node = tfind(&key, &w->inodes, inode_compare);

        if (node)
                return *node;
        li = xnew0(struct link_inode, 1);
        *li = key;
        node = tsearch(li, &w->inodes, inode_compare);
        if (!node)
                abort(); /* out of memory, as the x* allocators do */
        return li;
}

static void diff_writer_release(struct diff_writer *w)
{
        if (w->ar)
                (void) archive_write_free(w->ar); /* also closes it, through write_block */
        if (w->z_ready)
                (void) deflateEnd(&w->z);
        ZSTD_freeCCtx(w->zstd);
        digester_free(w->raw);
        digester_free(w->out);
        free(w->zbuf);
        free(w->buf);
        tdestroy(w->inodes, link_inode_free);
        tdestroy(w->emitted, free);
}

/* Ends the tar and the compressed stream. */
static int diff_writer_close(struct diff_writer *w, struct layer_diff_result *ret,
                             struct errmsg *err)
{
        struct layer_diff_result res = {0};
        int r;

        if (archive_write_close(w->ar) != ARCHIVE_OK)
                return errmsg_set(err, w->sink_err.code < 0 ? w->sink_err.code : -EIO,
                                  "layer diff: end the tar: %s", archive_error_string(w->ar));
        r = sink_feed(w, NULL, 0, true);
        if (r < 0)
                return errmsg_set(err, r, "layer diff: %s", w->sink_err.msg);
        digester_final(w->raw, res.diff_id);
        digester_final(w->out, res.digest);
        res.size = w->out_size;
        *ret = res;
        return 0;
}

static void archive_entry_freep(struct archive_entry **e)
{
        if (*e)
                archive_entry_free(*e);
}

/* The header of dfd/name (stat st) named path in the tar. */
static int entry_from_fs(int dfd, const char *name, const char *path, const struct stat *st,
                         struct archive_entry **ret, struct errmsg *err)
{
        _cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
        _cleanup_(xattr_list_release) struct xattr_list xl = {0};
        _cleanup_free_ char *tarname = NULL;
        char target[PATH_MAX];
        int r;

        if (!e)
                abort();
        tarname = S_ISDIR(st->st_mode) ? xasprintf("%s/", path) : xstrdup(path);
        archive_entry_copy_pathname(e, tarname);
        archive_entry_set_mode(e, st->st_mode);
        archive_entry_set_uid(e, st->st_uid);
        archive_entry_set_gid(e, st->st_gid);
        /* whole seconds, as containerd's ChangeWriter writes them */
        archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
        if (S_ISREG(st->st_mode))
                archive_entry_set_size(e, st->st_size);
        if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
                archive_entry_set_rdevmajor(e, major(st->st_rdev));
                archive_entry_set_rdevminor(e, minor(st->st_rdev));
        }
        if (S_ISLNK(st->st_mode)) {
                ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);

                if (n < 0)
                        return errmsg_set(err, -errno, "read symlink: %s", strerror(errno));
                target[n] = '\0';
                archive_entry_copy_symlink(e, target);
        }
        r = read_xattrs(dfd, name, &xl);
        if (r < 0)
                return errmsg_set(err, r, "read xattrs: %s", strerror(-r));
        for (size_t i = 0; i < xl.n; i++)
                archive_entry_xattr_add_entry(e, xl.v[i].name, xl.v[i].value, xl.v[i].size);
        *ret = TAKE_PTR(e);
        return 0;
}

static int write_header(struct diff_writer *w, struct archive_entry *e, struct errmsg *err)
{
        /* ARCHIVE_WARN: a name not in the locale's charset, written as raw bytes */
        int r = archive_write_header(w->ar, e);

        if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
                return 0;
        return errmsg_set(err, w->sink_err.code < 0 ? w->sink_err.code : -EIO, "write header: %s",
                          archive_error_string(w->ar));
}

/* Exactly size bytes of dfd/name into the tar. */
static int write_content(struct diff_writer *w, int dfd, const char *name, uint64_t size,
                         struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;

        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(err, -errno, "open: %s", strerror(errno));
        while (size > 0) {
                ssize_t n = read(fd, w->buf, MIN(size, (uint64_t) DIFF_BUF_SIZE));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errmsg_set(err, -errno, "read: %s", strerror(errno));
                if (n == 0)
                        return errmsg_set(err, -EBUSY, "file shrank while being read");
                if (archive_write_data(w->ar, w->buf, (size_t) n) != n)
                        return errmsg_set(err, w->sink_err.code < 0 ? w->sink_err.code : -EIO,
                                          "write: %s", archive_error_string(w->ar));
                size -= (uint64_t) n;
        }
        return 0;
}

/* Writes dfd/name as path: as a hardlink to link_to when set, else with its content. */
static int write_fs_entry(struct diff_writer *w, int dfd, const char *name, const char *path,
                          const struct stat *st, const char *link_to, struct errmsg *err)
{
        _cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
        int r;

        r = entry_from_fs(dfd, name, path, st, &e, err);
        if (r < 0)
                return r;
        if (link_to) {
                archive_entry_copy_hardlink(e, link_to);
                archive_entry_set_size(e, 0);
        }
        r = write_header(w, e, err);
        if (r < 0 || link_to || !S_ISREG(st->st_mode) || st->st_size == 0)
                return r;
        return write_content(w, dfd, name, (uint64_t) st->st_size, err);
}

/* An empty regular file named marker in dir prefix: a whiteout or an opaque marker. */
static int write_marker(struct diff_writer *w, const char *prefix, const char *marker, mode_t perm,
                        uid_t uid, gid_t gid, time_t mtime, struct errmsg *err)
{
        _cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
        _cleanup_free_ char *path = path_join(prefix, marker);

        if (!e)
                abort();
        archive_entry_copy_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, perm);
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        archive_entry_set_mtime(e, mtime, 0);
        archive_entry_set_size(e, 0);
        return write_header(w, e, err);
}

static bool is_opaque(int dfd, const char *name)
{
        char proc[PROC_FD_PATH_MAX], v[2];

        if (proc_path(proc, dfd, name) < 0)
                return false;
        return lgetxattr(proc, OVERLAY_OPAQUE_XATTR, v, sizeof(v)) == 1 && v[0] == 'y';
}

static int overlay_dir(struct diff_writer *w, int dfd, const char *prefix, struct errmsg *err);

/* One entry of an upper dir: a whiteout device, or the entry (and what is below it). */
static int overlay_entry(struct diff_writer *w, int dfd, const char *prefix, const char *name,
                         struct errmsg *err)
{
        _cleanup_free_ char *path = path_join(prefix, name), *wh = NULL;
        _cleanup_close_ int child = -EBADF;
        const char *link_to = NULL;
        struct link_inode *li;
        struct stat st;
        int r;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errmsg_set(err, -errno, "layer diff: entry \"%s\": stat: %s", path,
                                  strerror(errno));
        if (S_ISSOCK(st.st_mode))
                return 0;
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                /* overlay's whiteout; Docker's overlay2 writes it as a 0600 ".wh." file */
                wh = xasprintf(WHITEOUT_PREFIX "%s", name);
                r = write_marker(w, prefix, wh, 0600, st.st_uid, st.st_gid, st.st_mtim.tv_sec, err);
                return r < 0 ? errmsg_prefix(err, r, "layer diff: entry \"%s\"", path) : 0;
        }
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                /* the first name of an inode carries the data, the others link to it */
                li = inode_get(w, &st);
                if (li->source)
                        link_to = li->source;
                else
                        li->source = xstrdup(path);
        }
        r = write_fs_entry(w, dfd, name, path, &st, link_to, err);
        if (r >= 0 && S_ISDIR(st.st_mode) && is_opaque(dfd, name))
                r = write_marker(w, path, WHITEOUT_OPAQUE, st.st_mode & 0777, st.st_uid, st.st_gid,
                                 st.st_mtim.tv_sec, err);
        if (r < 0)
                return errmsg_prefix(err, r, "layer diff: entry \"%s\"", path);
        if (!S_ISDIR(st.st_mode))
                return 0;
        child = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0)
                return errmsg_set(err, -errno, "layer diff: entry \"%s\": open: %s", path,
                                  strerror(errno));
        return overlay_dir(w, child, path, err);
}

static int overlay_dir(struct diff_writer *w, int dfd, const char *prefix, struct errmsg *err)
{
        _cleanup_(names_release) struct names n = {0};
        int r;

        r = list_sorted(dfd, &n);
        if (r < 0)
                return errmsg_set(err, r, "layer diff: list \"%s\": %s", *prefix ? prefix : ".",
                                  strerror(-r));
        for (size_t i = 0; i < n.n; i++) {
                r = overlay_entry(w, dfd, prefix, n.v[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int layer_diff_overlay(int upper_fd, int out_fd, const struct layer_diff_opts *o,
                       struct layer_diff_result *ret, struct errmsg *err)
{
        static const struct layer_diff_opts defaults = {0};
        _cleanup_(diff_writer_release) struct diff_writer w = {.upper_fd = upper_fd};
        int r;

        r = diff_writer_open(&w, out_fd, o ? o : &defaults, err);
        if (r < 0)
                return r;
        r = overlay_dir(&w, upper_fd, "", err);
        if (r < 0)
                return r;
        return diff_writer_close(&w, ret, err);
}

/* Opens path, a directory below root_fd, through real directories only. */
static int open_dir_below(int root_fd, const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        for (char *save = NULL, *c = strtok_r(copy, "/", &save); c;
             c = strtok_r(NULL, "/", &save)) {
                int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int r = next < 0 ? -errno : 0;

                (void) close(fd);
                if (r < 0)
                        return r;
                fd = next;
        }
        return fd;
}

static int path_compare(const void *x, const void *y)
{
        return strcmp(x, y);
}

static void emitted_add(struct diff_writer *w, const char *path)
{
        char *p = xstrdup(path);
        void **node = tsearch(p, &w->emitted, path_compare);

        if (!node)
                abort(); /* out of memory, as the x* allocators do */
        if (*(char **) node != p)
                free(p);
}

/* Writes directory path of the upper tree (the parent of a change). */
static int emit_parent(struct diff_writer *w, const char *path, struct errmsg *err)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int pfd = -EBADF;
        const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
        struct stat st;
        int r;

        dir = slash ? xstrndup(path, (size_t) (slash - path)) : xstrdup("");
        pfd = open_dir_below(w->upper_fd, dir);
        if (pfd < 0)
                return errmsg_set(err, pfd, "layer diff: entry \"%s\": open: %s", dir,
                                  strerror(-pfd));
        if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errmsg_set(err, -errno, "layer diff: entry \"%s\": stat: %s", path,
                                  strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return errmsg_set(err, -EBUSY, "layer diff: entry \"%s\": no longer a directory",
                                  path);
        r = write_fs_entry(w, pfd, name, path, &st, NULL, err);
        if (r < 0)
                return errmsg_prefix(err, r, "layer diff: entry \"%s\"", path);
        emitted_add(w, path);
        return 0;
}

/* Writes the directories leading to a change in dir (dir included) not in the tar yet. */
static int ensure_parents(struct diff_writer *w, const char *dir, struct errmsg *err)
{
        size_t len = strlen(dir);

        for (size_t i = 1; i <= len; i++) {
                _cleanup_free_ char *p = NULL;
                int r;

                if (i < len && dir[i] != '/')
                        continue;
                p = xstrndup(dir, i);
                if (tfind(p, &w->emitted, path_compare))
                        continue;
                r = emit_parent(w, p, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A change in dir prefix: its parents first, then the entry. */
static int trees_write(struct diff_writer *w, int dfd, const char *name, const char *prefix,
                       const char *path, const struct stat *st, const char *link_to,
                       struct errmsg *err)
{
        int r;

        r = ensure_parents(w, prefix, err);
        if (r < 0)
                return r;
        r = write_fs_entry(w, dfd, name, path, st, link_to, err);
        if (r < 0)
                return errmsg_prefix(err, r, "layer diff: entry \"%s\"", path);
        if (S_ISDIR(st->st_mode))
                emitted_add(w, path);
        return 0;
}

/*
 * A name of an inode with several links, as containerd's ChangeWriter handles it: once one
 * name is written, every other becomes a hardlink to it, unchanged names included; unchanged
 * names seen before wait for that.
 */
static int trees_link(struct diff_writer *w, int dfd, const char *name, const char *prefix,
                      const char *path, const struct stat *st, bool unchanged, struct errmsg *err)
{
        struct link_inode *li = inode_get(w, st);
        int r;

        if (li->source)
                return trees_write(w, dfd, name, prefix, path, st, li->source, err);
        if (unchanged) {
                li->pending = xgrow(li->pending, &li->alloc_pending, li->n_pending + 1,
                                    sizeof(*li->pending));
                li->pending[li->n_pending++] = xstrdup(path);
                return 0;
        }
        r = trees_write(w, dfd, name, prefix, path, st, NULL, err);
        if (r < 0)
                return r;
        li->source = xstrdup(path);
        for (size_t i = 0; i < li->n_pending; i++) {
                const char *p = li->pending[i], *slash = strrchr(p, '/');
                _cleanup_free_ char *dir = slash ? xstrndup(p, (size_t) (slash - p)) : xstrdup("");

                /* the same inode: dfd/name gives its metadata */
                r = trees_write(w, dfd, name, dir, p, st, li->source, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int xattrs_equal(int lfd, int ufd, const char *name, bool *ret)
{
        _cleanup_(xattr_list_release) struct xattr_list l = {0}, u = {0};
        int r;

        r = read_xattrs(lfd, name, &l);
        if (r >= 0)
                r = read_xattrs(ufd, name, &u);
        if (r < 0)
                return r;
        *ret = l.n == u.n;
        for (size_t i = 0; *ret && i < l.n; i++)
                *ret = STREQ(l.v[i].name, u.v[i].name) && l.v[i].size == u.v[i].size &&
                       memcmp(l.v[i].value, u.v[i].value, l.v[i].size) == 0;
        return 0;
}

static int contents_equal(struct diff_writer *w, int lfd, int ufd, const char *name, bool *ret)
{
        _cleanup_close_ int l = openat(lfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        _cleanup_close_ int u = openat(ufd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        const size_t half = DIFF_BUF_SIZE / 2;

        if (l < 0 || u < 0)
                return -errno;
        for (;;) {
                ssize_t nl = read(l, w->buf, half), nu;

                if (nl < 0)
                        return -errno;
                nu = nl > 0 ? read(u, w->buf + half, (size_t) nl) : read(u, w->buf + half, 1);
                if (nu < 0)
                        return -errno;
                if (nl == 0 || nu != nl || memcmp(w->buf, w->buf + half, (size_t) nl) != 0) {
                        *ret = nl == 0 && nu == 0;
                        return 0;
                }
        }
}

static int symlinks_equal(int lfd, int ufd, const char *name, bool *ret)
{
        char lt[PATH_MAX], ut[PATH_MAX];
        ssize_t nl = readlinkat(lfd, name, lt, sizeof(lt)),
                nu = readlinkat(ufd, name, ut, sizeof(ut));

        if (nl < 0 || nu < 0)
                return -errno;
        *ret = nl == nu && memcmp(lt, ut, (size_t) nl) == 0;
        return 0;
}

/* Whether name is unchanged from lower to upper, by containerd's fs.Changes (see layer.h). */
static int same_entry(struct diff_writer *w, int lfd, int ufd, const char *name,
                      const struct stat *l, const struct stat *u, bool *ret)
{
        bool eq = false;
        int r;

        *ret = false;
        if (l->st_dev == u->st_dev && l->st_ino == u->st_ino) {
                *ret = true;
                return 0;
        }
        if (l->st_mode != u->st_mode || l->st_uid != u->st_uid || l->st_gid != u->st_gid ||
            l->st_rdev != u->st_rdev)
                return 0;
        r = xattrs_equal(lfd, ufd, name, &eq);
        if (r < 0 || !eq || S_ISDIR(u->st_mode)) {
                *ret = eq;
                return r;
        }
        if (l->st_size != u->st_size || l->st_mtim.tv_sec != u->st_mtim.tv_sec)
                return 0;
        if (S_ISLNK(u->st_mode)) {
                r = symlinks_equal(lfd, ufd, name, &eq);
                if (r < 0 || !eq)
                        return r;
        }
        /* both truncated to seconds (unpacked from tars): the contents decide */
        if (l->st_mtim.tv_nsec == 0 && u->st_mtim.tv_nsec == 0) {
                if (!S_ISREG(u->st_mode) || u->st_size == 0) {
                        *ret = true;
                        return 0;
                }
                return contents_equal(w, lfd, ufd, name, ret);
        }
        *ret = l->st_mtim.tv_nsec == u->st_mtim.tv_nsec;
        return 0;
}

static int trees_dir(struct diff_writer *w, int lfd, int ufd, const char *prefix,
                     struct errmsg *err);

/* name in upper (and in lower when lfd >= 0): written when changed, then what is below. */
static int trees_entry(struct diff_writer *w, int lfd, int ufd, const char *prefix,
                       const char *name, struct errmsg *err)
{
        _cleanup_free_ char *path = path_join(prefix, name);
        _cleanup_close_ int cl = -EBADF, cu = -EBADF;
        struct stat ls, us;
        bool same = false;
        int r = 0;

        if (fstatat(ufd, name, &us, AT_SYMLINK_NOFOLLOW) < 0 ||
            (lfd >= 0 && fstatat(lfd, name, &ls, AT_SYMLINK_NOFOLLOW) < 0))
                return errmsg_set(err, -errno, "layer diff: entry \"%s\": stat: %s", path,
                                  strerror(errno));
        if (lfd >= 0) {
                r = same_entry(w, lfd, ufd, name, &ls, &us, &same);
                if (r < 0)
                        return errmsg_set(err, r, "layer diff: entry \"%s\": compare: %s", path,
                                          strerror(-r));
        }
        if (S_ISSOCK(us.st_mode))
                r = 0; /* sockets do not travel in layers */
        else if (!S_ISDIR(us.st_mode) && us.st_nlink > 1)
                r = trees_link(w, ufd, name, prefix, path, &us, same, err);
        else if (!same)
                r = trees_write(w, ufd, name, prefix, path, &us, NULL, err);
        if (r < 0 || !S_ISDIR(us.st_mode))
                return r;
        cu = openat(ufd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cu >= 0 && lfd >= 0 && S_ISDIR(ls.st_mode))
                cl = openat(lfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cu < 0 || (lfd >= 0 && S_ISDIR(ls.st_mode) && cl < 0))
                return errmsg_set(err, -errno, "layer diff: entry \"%s\": open: %s", path,
                                  strerror(errno));
        return trees_dir(w, cl, cu, path, err);
}

/* A name of lower gone from upper: one whiteout (what was below it goes with it). */
static int trees_deleted(struct diff_writer *w, const char *prefix, const char *name,
                         struct errmsg *err)
{
        _cleanup_free_ char *wh = xasprintf(WHITEOUT_PREFIX "%s", name);
        int r;

        r = ensure_parents(w, prefix, err);
        if (r < 0)
                return r;
        /* mode, owner and time 0: equal trees give equal bytes */
        r = write_marker(w, prefix, wh, 0, 0, 0, 0, err);
        if (r < 0)
                return errmsg_prefix(err, r, "layer diff: whiteout of \"%s/%s\"", prefix, name);
        return 0;
}

/* Merges the sorted entries of lower (none when lfd < 0) and upper. */
static int trees_dir(struct diff_writer *w, int lfd, int ufd, const char *prefix,
                     struct errmsg *err)
{
        _cleanup_(names_release) struct names ln = {0}, un = {0};
        size_t i = 0, j = 0;
        int r;

        r = lfd >= 0 ? list_sorted(lfd, &ln) : 0;
        if (r >= 0)
                r = list_sorted(ufd, &un);
        if (r < 0)
                return errmsg_set(err, r, "layer diff: list \"%s\": %s", *prefix ? prefix : ".",
                                  strerror(-r));
        while (i < ln.n || j < un.n) {
                int c = i >= ln.n ? 1 : j >= un.n ? -1 : strcmp(ln.v[i], un.v[j]);

                if (c < 0)
                        r = trees_deleted(w, prefix, ln.v[i++], err);
                else
                        r = trees_entry(w, c == 0 ? lfd : -EBADF, ufd, prefix, un.v[j++], err);
                if (c == 0)
                        i++;
                if (r < 0)
                        return r;
        }
        return 0;
}

int layer_diff_trees(int lower_fd, int upper_fd, int out_fd, const struct layer_diff_opts *o,
                     struct layer_diff_result *ret, struct errmsg *err)
{
        static const struct layer_diff_opts defaults = {0};
        _cleanup_(diff_writer_release) struct diff_writer w = {.upper_fd = upper_fd};
        int r;

        r = diff_writer_open(&w, out_fd, o ? o : &defaults, err);
        if (r < 0)
                return r;
        r = trees_dir(&w, lower_fd, upper_fd, "", err);
        if (r < 0)
                return r;
        return diff_writer_close(&w, ret, err);
}
