/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applies a layer tar under a root directory (see layer.h): libarchive parses the tar from
 * the layer reader's blocks, and every entry is written with *at() calls below root_fd.
 * Parent directories are resolved once per directory (a tar's entries come grouped by
 * directory): by openat2(RESOLVE_BENEATH) when that suffices, else by a walk that follows
 * symlinks as a chroot would and refuses to climb above the root. Whiteouts follow
 * image-spec layer.md and the overlay convention of Docker's overlay2 driver; the rest
 * follows containerd 1.6's archive.Apply (replace what is there, merge a directory over a
 * directory, lchown then xattrs then chmod then times, directory times last).
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <search.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "containerd/layer.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

#define WHITEOUT_PREFIX      ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE      ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"
#define SYMLINKS_MAX         40 /* the kernel's MAXSYMLINKS */
#define PROC_FD_PATH_MAX     (STRLEN("/proc/self/fd/") + 12 + 1 + NAME_MAX + 1)

struct dir_time {
        char *path;
        struct timespec ts[2];
};

struct applier {
        int root_fd;
        enum layer_whiteouts whiteouts;
        uint64_t max_entries;
        uint64_t n_entries;
        struct layer_reader *reader;
        struct errmsg read_err; /* what the reader reported to libarchive */
        /* the parent directory of the last entry, resolved; stale once a dir or symlink goes */
        char *cache_path;
        int cache_fd;
        bool cache_stale;
        /* directories whose times are set at the end */
        struct dir_time *dirs;
        size_t n_dirs, alloc_dirs;
        /* APPLY mode: paths written by this layer and their ancestors (a tsearch tree) */
        void *written;
};

struct entry_meta {
        uid_t uid;
        gid_t gid;
        mode_t perm; /* with setuid, setgid, sticky */
        struct timespec ts[2];
};

/* A node created by mknodat() or symlinkat(). */
struct node_spec {
        mode_t type;
        mode_t perm;
        dev_t dev;
        const char *target;
};

static bool startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "./a//b/./c/" -> "a/b/c" ("" for the root). Absolute names and ".." components fail. */
static int normalize_name(const char *name, char **ret, struct errmsg *err)
{
        _cleanup_free_ char *out = NULL;
        size_t n = 0, len = strlen(name);

        if (name[0] == '/')
                return errmsg_set(err, -EINVAL, "absolute path not allowed");
        if (len >= PATH_MAX)
                return errmsg_set(err, -EINVAL, "name longer than %d bytes", PATH_MAX - 1);
        out = xmalloc(len + 1);
        for (const char *p = name; *p;) {
                size_t c = strcspn(p, "/");

                if (c == 2 && p[0] == '.' && p[1] == '.')
                        return errmsg_set(err, -EINVAL, "path leaves the layer root");
                if (c > 1 || (c == 1 && p[0] != '.')) {
                        if (n > 0)
                                out[n++] = '/';
                        memcpy(out + n, p, c);
                        n += c;
                }
                p += c;
                p += strspn(p, "/");
        }
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

/* Splits a normalized path: *ret_dir is the parent ("" at the top, the caller's to free). */
static void split_path(const char *path, char **ret_dir, const char **ret_base)
{
        const char *slash = strrchr(path, '/');

        *ret_dir = slash ? xstrndup(path, (size_t) (slash - path)) : xstrdup("");
        *ret_base = slash ? slash + 1 : path;
}

/* A walk below the root as in a chroot, one component at a time, never following the last. */
struct walk {
        int root_fd;
        bool create;
        int fd;         /* the directory reached (owned) */
        char *resolved; /* its path below the root: real directories only */
        char *rest;     /* the components still to walk (owned buffer) */
        char *cursor;   /* into rest */
        char *link;     /* the last symlink followed, for messages */
        unsigned n_links;
};

static void walk_release(struct walk *w)
{
        w->fd = safe_close(w->fd);
        free(w->resolved);
        free(w->rest);
        free(w->link);
}

/* Reopens w->resolved from the root, through real directories only. */
static int walk_reopen(struct walk *w)
{
        _cleanup_free_ char *copy = xstrdup(w->resolved);
        int fd = fcntl(w->root_fd, F_DUPFD_CLOEXEC, 3);

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
        w->fd = safe_close(w->fd);
        w->fd = fd;
        return 0;
}

/* The path of component c of the walk, for messages and the resolved path. */
static char *walk_where(const struct walk *w, const char *c)
{
        return *w->resolved ? xasprintf("%s/%s", w->resolved, c) : xstrdup(c);
}

static int walk_up(struct walk *w, struct errmsg *err)
{
        char *slash;
        int r;

        if (!*w->resolved) {
                if (w->link)
                        return errmsg_set(err, -EINVAL,
                                          "symlink \"%s\" leads outside the layer root", w->link);
                return errmsg_set(err, -EINVAL, "path leaves the layer root");
        }
        slash = strrchr(w->resolved, '/');
        if (slash)
                *slash = '\0';
        else
                w->resolved[0] = '\0';
        r = walk_reopen(w);
        if (r < 0)
                return errmsg_set(err, r, "reopen \"%s\": %s", w->resolved, strerror(-r));
        return 0;
}

/* c (in dir w->fd) is a symlink: continue the walk at its target. */
static int walk_follow(struct walk *w, const char *c, struct errmsg *err)
{
        _cleanup_free_ char *where = walk_where(w, c);
        char target[PATH_MAX];
        char *rest;
        ssize_t n;
        int r;

        if (++w->n_links > SYMLINKS_MAX)
                return errmsg_set(err, -EINVAL, "too many levels of symlinks at \"%s\"", where);
        n = readlinkat(w->fd, c, target, sizeof(target) - 1);
        if (n < 0)
                return errmsg_set(err, -errno, "read symlink \"%s\": %s", where, strerror(errno));
        if (n == 0 || (size_t) n >= sizeof(target) - 1)
                return errmsg_set(err, -EINVAL, "symlink \"%s\" has an invalid target", where);
        target[n] = '\0';
        free(w->link);
        w->link = TAKE_PTR(where);
        if (target[0] == '/') {
                /* absolute: from the layer root, as inside a chroot */
                w->resolved[0] = '\0';
                r = walk_reopen(w);
                if (r < 0)
                        return errmsg_set(err, r, "reopen the layer root: %s", strerror(-r));
        }
        rest = xasprintf("%s/%s", target, w->cursor);
        free(w->rest);
        w->rest = w->cursor = rest;
        return 0;
}

/* c (in dir w->fd) is no directory we can open: a symlink to follow, or an error. */
static int walk_blocked(struct walk *w, const char *c, int error, struct errmsg *err)
{
        _cleanup_free_ char *where = walk_where(w, c);
        struct stat st;

        if (error == -ENOENT)
                return errmsg_set(err, -ENOENT, "directory \"%s\" does not exist", where);
        if (error != -ELOOP && error != -ENOTDIR)
                return errmsg_set(err, error, "open directory \"%s\": %s", where, strerror(-error));
        if (fstatat(w->fd, c, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errmsg_set(err, -errno, "stat \"%s\": %s", where, strerror(errno));
        if (!S_ISLNK(st.st_mode))
                return errmsg_set(err, -EINVAL, "parent \"%s\" is not a directory", where);
        return walk_follow(w, c, err);
}

/* Creates the missing directory c (a parent missing from the tar) and opens it. */
static int walk_mkdir(struct walk *w, const char *c, int *ret_fd, struct errmsg *err)
{
        _cleanup_free_ char *where = walk_where(w, c);
        _cleanup_close_ int fd = -EBADF;

        if (mkdirat(w->fd, c, 0755) < 0)
                return errmsg_set(err, -errno, "create directory \"%s\": %s", where,
                                  strerror(errno));
        fd = openat(w->fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(err, -errno, "open directory \"%s\": %s", where, strerror(errno));
        /* 0755 whatever the umask, as containerd makes them */
        if (fchmod(fd, 0755) < 0)
                return errmsg_set(err, -errno, "chmod directory \"%s\": %s", where,
                                  strerror(errno));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int walk_enter(struct walk *w, const char *c, struct errmsg *err)
{
        char *resolved;
        int fd, r;

        fd = openat(w->fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && w->create) {
                r = walk_mkdir(w, c, &fd, err);
                if (r < 0)
                        return r;
        }
        if (fd < 0)
                return walk_blocked(w, c, -errno, err);
        resolved = walk_where(w, c);
        free(w->resolved);
        w->resolved = resolved;
        (void) close(w->fd);
        w->fd = fd;
        return 0;
}

/* Opens dir below root_fd as described in layer.h: *ret_fd is the caller's. */
static int walk_dir(int root_fd, const char *dir, bool create, int *ret_fd, struct errmsg *err)
{
        _cleanup_(walk_release) struct walk w = {
                .root_fd = root_fd,
                .create = create,
                .fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3),
                .resolved = xstrdup(""),
                .rest = xstrdup(dir),
        };
        int r;

        if (w.fd < 0)
                return errmsg_set(err, -errno, "open the layer root: %s", strerror(errno));
        w.cursor = w.rest;
        while (*w.cursor) {
                char *c = w.cursor;
                size_t len = strcspn(c, "/");

                w.cursor += len + (c[len] == '/');
                c[len] = '\0';
                if (len == 0 || STREQ(c, "."))
                        continue;
                r = STREQ(c, "..") ? walk_up(&w, err) : walk_enter(&w, c, err);
                if (r < 0)
                        return r;
        }
        *ret_fd = TAKE_FD(w.fd);
        return 0;
}

/* The fast path: only real directories and relative symlinks that stay below the root. */
static int open_beneath(int root_fd, const char *dir)
{
        struct open_how how = {
                .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, root_fd, dir, &how, sizeof(how));

        return fd < 0 ? -errno : (int) fd;
}

static int resolve_dir(int root_fd, const char *dir, bool create, int *ret_fd, struct errmsg *err)
{
        int fd;

        if (!*dir) {
                fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return errmsg_set(err, -errno, "open the layer root: %s", strerror(errno));
                *ret_fd = fd;
                return 0;
        }
        fd = open_beneath(root_fd, dir);
        if (fd >= 0) {
                *ret_fd = fd;
                return 0;
        }
        /* missing, absolute symlinks, escapes, no openat2: the walk decides and explains */
        return walk_dir(root_fd, dir, create, ret_fd, err);
}

/* The directory dir as a borrowed fd, valid until the next call. */
static int applier_parent(struct applier *a, const char *dir, bool create, int *ret_fd,
                          struct errmsg *err)
{
        int fd, r;

        if (!*dir) {
                *ret_fd = a->root_fd;
                return 0;
        }
        if (a->cache_fd >= 0 && !a->cache_stale && STREQ(a->cache_path, dir)) {
                *ret_fd = a->cache_fd;
                return 0;
        }
        r = resolve_dir(a->root_fd, dir, create, &fd, err);
        if (r < 0)
                return r;
        a->cache_fd = safe_close(a->cache_fd);
        free(a->cache_path);
        a->cache_path = xstrdup(dir);
        a->cache_fd = fd;
        a->cache_stale = false;
        *ret_fd = fd;
        return 0;
}

/* Removes pfd/base whatever it is (recursively for a directory); nothing there is fine. */
static int remove_entry(struct applier *a, int pfd, const char *base)
{
        struct stat st;

        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
                a->cache_stale = true; /* a cached resolution may have gone through it */
        if (S_ISDIR(st.st_mode))
                return rm_rf_at(pfd, base);
        if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static int path_compare(const void *x, const void *y)
{
        return strcmp(x, y);
}

/* Records path and its ancestors as written by this layer (APPLY mode's opaque markers). */
static void written_add(struct applier *a, const char *path)
{
        size_t len = strlen(path);

        while (len > 0) {
                char *p = xstrndup(path, len);
                void **node = tsearch(p, &a->written, path_compare);
                const char *slash;

                if (!node)
                        abort(); /* out of memory, as the x* allocators do */
                if (*(char **) node != p) {
                        free(p);
                        return; /* known already, and so are its ancestors */
                }
                slash = memrchr(path, '/', len);
                len = slash ? (size_t) (slash - path) : 0;
        }
}

static bool written_has(struct applier *a, const char *path)
{
        return tfind(path, &a->written, path_compare) != NULL;
}

static int entry_meta(struct archive_entry *e, struct entry_meta *m, struct errmsg *err)
{
        la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
        long nsec = archive_entry_mtime_nsec(e);

        /* (uid_t) -1 means "leave unchanged" to chown */
        if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
                return errmsg_set(err, -EINVAL, "invalid owner %lld:%lld", (long long) uid,
                                  (long long) gid);
        m->uid = (uid_t) uid;
        m->gid = (gid_t) gid;
        m->perm = archive_entry_perm(e) & 07777;
        m->ts[1].tv_sec = (time_t) archive_entry_mtime(e);
        m->ts[1].tv_nsec = nsec >= 0 && nsec < 1000000000 ? nsec : 0;
        m->ts[0] = m->ts[1];
        /* containerd takes the later of atime and mtime */
        if (archive_entry_atime_is_set(e) && archive_entry_atime(e) > archive_entry_mtime(e)) {
                nsec = archive_entry_atime_nsec(e);
                m->ts[0].tv_sec = (time_t) archive_entry_atime(e);
                m->ts[0].tv_nsec = nsec >= 0 && nsec < 1000000000 ? nsec : 0;
        }
        return 0;
}

/* The tar's xattrs onto fd, or onto pfd/base when fd < 0 (a symlink, device, fifo, dir). */
static int set_xattrs(struct archive_entry *e, int fd, int pfd, const char *base, mode_t type,
                      struct errmsg *err)
{
        char proc[PROC_FD_PATH_MAX];
        const char *name;
        const void *value;
        size_t size;

        if (archive_entry_xattr_reset(e) == 0)
                return 0;
        if (fd < 0 &&
            snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", pfd, base) >= (int) sizeof(proc))
                return errmsg_set(err, -ENAMETOOLONG, "set xattrs: name too long");
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                int r;

                /* the tar must not steer the overlay mount (opaque, redirect, metacopy) */
                if (!name || startswith(name, OVERLAY_XATTR_PREFIX))
                        continue;
                r = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
                            : lsetxattr(proc, name, value, size, 0);
                if (r >= 0 || errno == EOPNOTSUPP)
                        continue;
                /* the user.* namespace only exists on regular files and directories */
                if (errno == EPERM && startswith(name, "user.") && type != S_IFREG &&
                    type != S_IFDIR)
                        continue;
                return errmsg_set(err, -errno, "set xattr \"%s\": %s", name, strerror(errno));
        }
        return 0;
}

/* Owner, xattrs, mode (after chown, which clears setuid), times of an open regular file. */
static int set_meta_fd(int fd, struct archive_entry *e, const struct entry_meta *m,
                       struct errmsg *err)
{
        int r;

        if (fchown(fd, m->uid, m->gid) < 0)
                return errmsg_set(err, -errno, "chown to %u:%u: %s", m->uid, m->gid,
                                  strerror(errno));
        r = set_xattrs(e, fd, -EBADF, NULL, S_IFREG, err);
        if (r < 0)
                return r;
        if (fchmod(fd, m->perm) < 0)
                return errmsg_set(err, -errno, "chmod: %s", strerror(errno));
        if (futimens(fd, m->ts) < 0)
                return errmsg_set(err, -errno, "set times: %s", strerror(errno));
        return 0;
}

/* The same for pfd/base; no mode for symlinks, no times for dirs (set at the end). */
static int set_meta_at(int pfd, const char *base, mode_t type, struct archive_entry *e,
                       const struct entry_meta *m, struct errmsg *err)
{
        int r;

        if (fchownat(pfd, base, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return errmsg_set(err, -errno, "chown to %u:%u: %s", m->uid, m->gid,
                                  strerror(errno));
        r = set_xattrs(e, -EBADF, pfd, base, type, err);
        if (r < 0)
                return r;
        /* base was just created as this type, so following it cannot lead elsewhere */
        if (type != S_IFLNK && fchmodat(pfd, base, m->perm, 0) < 0)
                return errmsg_set(err, -errno, "chmod: %s", strerror(errno));
        if (type != S_IFDIR && utimensat(pfd, base, m->ts, AT_SYMLINK_NOFOLLOW) < 0)
                return errmsg_set(err, -errno, "set times: %s", strerror(errno));
        return 0;
}

static int archive_fail(struct applier *a, struct archive *ar, struct errmsg *err)
{
        const char *s = archive_error_string(ar);

        if (a->read_err.code < 0)
                return errmsg_set(err, a->read_err.code, "%s", a->read_err.msg);
        return errmsg_set(err, -EINVAL, "%s", s ? s : "corrupt tar archive");
}

/* The entry's data into fd: big blocks straight from the reader, holes of sparse entries. */
static int write_data(struct applier *a, struct archive *ar, int fd, la_int64_t size,
                      struct errmsg *err)
{
        la_int64_t pos = 0;

        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int r;

                r = archive_read_data_block(ar, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return archive_fail(a, ar, err);
                if (off != pos && lseek(fd, (off_t) off, SEEK_SET) < 0)
                        return errmsg_set(err, -errno, "seek: %s", strerror(errno));
                r = write_all(fd, buf, len);
                if (r < 0)
                        return errmsg_set(err, r, "write: %s", strerror(-r));
                pos = off + (la_int64_t) len;
        }
        if (pos < size && ftruncate(fd, (off_t) size) < 0)
                return errmsg_set(err, -errno, "truncate: %s", strerror(errno));
        return 0;
}

static int apply_file(struct applier *a, struct archive *ar, struct archive_entry *e, int pfd,
                      const char *base, const struct entry_meta *m, struct errmsg *err)
{
        const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = openat(pfd, base, flags, 0600);
        if (fd < 0 && errno == EEXIST) {
                r = remove_entry(a, pfd, base);
                if (r < 0)
                        return errmsg_set(err, r, "remove the existing entry: %s", strerror(-r));
                fd = openat(pfd, base, flags, 0600);
        }
        if (fd < 0)
                return errmsg_set(err, -errno, "create: %s", strerror(errno));
        r = write_data(a, ar, fd, archive_entry_size(e), err);
        if (r < 0)
                return r;
        r = set_meta_fd(fd, e, m, err);
        if (r < 0)
                return r;
        if (close(TAKE_FD(fd)) < 0)
                return errmsg_set(err, -errno, "close: %s", strerror(errno));
        return 0;
}

static int make_node(int pfd, const char *base, const struct node_spec *n)
{
        int r;

        if (n->type == S_IFLNK)
                r = symlinkat(n->target, pfd, base);
        else
                r = mknodat(pfd, base, n->type | n->perm, n->dev);
        return r < 0 ? -errno : 0;
}

/* Creates a symlink or node at pfd/base, replacing what is there. */
static int create_node(struct applier *a, int pfd, const char *base, const struct node_spec *n,
                       struct errmsg *err)
{
        int r = make_node(pfd, base, n);

        if (r == -EEXIST) {
                r = remove_entry(a, pfd, base);
                if (r < 0)
                        return errmsg_set(err, r, "remove the existing entry: %s", strerror(-r));
                r = make_node(pfd, base, n);
        }
        if (r < 0)
                return errmsg_set(err, r, "create: %s", strerror(-r));
        return 0;
}

static void push_dir_time(struct applier *a, const char *path, const struct timespec ts[2])
{
        a->dirs = xgrow(a->dirs, &a->alloc_dirs, a->n_dirs + 1, sizeof(*a->dirs));
        a->dirs[a->n_dirs++] = (struct dir_time){
                .path = xstrdup(path),
                .ts = {ts[0], ts[1]},
        };
}

static int apply_dir(struct applier *a, struct archive_entry *e, int pfd, const char *base,
                     const char *path, const struct entry_meta *m, struct errmsg *err)
{
        struct stat st;
        int r;

        if (mkdirat(pfd, base, 0700) < 0) {
                if (errno != EEXIST)
                        return errmsg_set(err, -errno, "create: %s", strerror(errno));
                if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return errmsg_set(err, -errno, "stat: %s", strerror(errno));
                /* a directory over a directory merges; anything else is replaced */
                if (!S_ISDIR(st.st_mode)) {
                        r = remove_entry(a, pfd, base);
                        if (r < 0)
                                return errmsg_set(err, r, "remove the existing entry: %s",
                                                  strerror(-r));
                        if (mkdirat(pfd, base, 0700) < 0)
                                return errmsg_set(err, -errno, "create: %s", strerror(errno));
                }
        }
        r = set_meta_at(pfd, base, S_IFDIR, e, m, err);
        if (r < 0)
                return r;
        push_dir_time(a, path, m->ts);
        return 0;
}

/* linkat() replacing what is at pfd/base, unless it is the target itself already. */
static int link_replacing(struct applier *a, int tfd, const char *tbase, int pfd, const char *base)
{
        struct stat t, d;
        int r;

        if (linkat(tfd, tbase, pfd, base, 0) >= 0)
                return 0;
        if (errno != EEXIST)
                return -errno;
        if (fstatat(tfd, tbase, &t, AT_SYMLINK_NOFOLLOW) >= 0 &&
            fstatat(pfd, base, &d, AT_SYMLINK_NOFOLLOW) >= 0 && t.st_dev == d.st_dev &&
            t.st_ino == d.st_ino)
                return 0;
        r = remove_entry(a, pfd, base);
        if (r < 0)
                return r;
        return linkat(tfd, tbase, pfd, base, 0) < 0 ? -errno : 0;
}

/*
 * A hardlink to an entry already in the tree; the link's own header metadata is applied
 * too, as containerd and Docker do. A symlink target is linked itself, not followed.
 */
static int apply_hardlink(struct applier *a, struct archive_entry *e, const char *linkname, int pfd,
                          const char *base, const struct entry_meta *m, struct errmsg *err)
{
        _cleanup_free_ char *target = NULL, *tdir = NULL;
        _cleanup_close_ int tfd = -EBADF;
        struct errmsg why = {0};
        const char *tbase;
        struct stat st;
        int r;

        r = normalize_name(linkname, &target, &why);
        if (r < 0)
                return errmsg_set(err, r, "hardlink target \"%s\": %s", linkname, why.msg);
        if (!*target)
                return errmsg_set(err, -EINVAL, "hardlink target \"%s\" is the layer root",
                                  linkname);
        split_path(target, &tdir, &tbase);
        r = resolve_dir(a->root_fd, tdir, false, &tfd, &why);
        if (r == -ENOENT)
                return errmsg_set(err, -EINVAL, "hardlink target \"%s\" does not exist", linkname);
        if (r < 0)
                return errmsg_set(err, r, "hardlink target \"%s\": %s", linkname, why.msg);
        r = link_replacing(a, tfd, tbase, pfd, base);
        if (r == -ENOENT)
                return errmsg_set(err, -EINVAL, "hardlink target \"%s\" does not exist", linkname);
        if (r == -EPERM && fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
            S_ISDIR(st.st_mode))
                return errmsg_set(err, -EINVAL, "hardlink target \"%s\" is a directory", linkname);
        if (r < 0)
                return errmsg_set(err, r, "link to \"%s\": %s", linkname, strerror(-r));
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errmsg_set(err, -errno, "stat: %s", strerror(errno));
        return set_meta_at(pfd, base, st.st_mode & S_IFMT, e, m, err);
}

/* APPLY mode: removes every entry below dfd (at prefix) that this layer did not write. */
static int prune_dir(struct applier *a, int dfd, const char *prefix, struct errmsg *err)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd))) {
                r = -errno;
                safe_close(fd);
                return errmsg_set(err, r, "open \"%s\": %s", prefix, strerror(-r));
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int child = -EBADF;

                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                path = *prefix ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
                if (!written_has(a, path)) {
                        r = remove_entry(a, dirfd(d), de->d_name);
                        if (r < 0)
                                return errmsg_set(err, r, "remove \"%s\": %s", path, strerror(-r));
                        continue;
                }
                child = openat(dirfd(d), de->d_name,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (child < 0)
                        continue; /* not a directory: kept as written */
                r = prune_dir(a, child, path, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ".wh..wh..opq" in dir: an xattr for overlay, or the removal of what lies below. */
static int apply_opaque(struct applier *a, const char *dir, struct errmsg *err)
{
        int dfd, r;

        r = applier_parent(a, dir, true, &dfd, err);
        if (r < 0)
                return r;
        if (a->whiteouts == LAYER_WHITEOUTS_OVERLAY) {
                if (fsetxattr(dfd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
                        return errmsg_set(err, -errno, "set %s: %s", OVERLAY_OPAQUE_XATTR,
                                          strerror(errno));
                return 0;
        }
        written_add(a, dir);
        a->cache_stale = true;
        return prune_dir(a, dfd, dir, err);
}

/* ".wh.<name>" in dir: a 0/0 char device for overlay, or the removal of name. */
static int apply_whiteout(struct applier *a, const char *dir, const char *name,
                          const struct entry_meta *m, struct errmsg *err)
{
        const struct node_spec whiteout = {.type = S_IFCHR, .perm = 0, .dev = makedev(0, 0)};
        int pfd, r;

        if (!*name || STREQ(name, ".") || STREQ(name, ".."))
                return errmsg_set(err, -EINVAL, "invalid whiteout name");
        if (a->whiteouts == LAYER_WHITEOUTS_APPLY) {
                r = applier_parent(a, dir, false, &pfd, err);
                if (r == -ENOENT)
                        return 0; /* nothing there to remove */
                if (r < 0)
                        return r;
                r = remove_entry(a, pfd, name);
                if (r < 0)
                        return errmsg_set(err, r, "remove \"%s\": %s", name, strerror(-r));
                return 0;
        }
        r = applier_parent(a, dir, true, &pfd, err);
        if (r < 0)
                return r;
        r = create_node(a, pfd, name, &whiteout, err);
        if (r < 0)
                return r;
        if (fchownat(pfd, name, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return errmsg_set(err, -errno, "chown to %u:%u: %s", m->uid, m->gid,
                                  strerror(errno));
        return 0;
}

static int apply_marker(struct applier *a, const char *dir, const char *base,
                        const struct entry_meta *m, struct errmsg *err)
{
        if (STREQ(base, WHITEOUT_OPAQUE))
                return apply_opaque(a, dir, err);
        if (startswith(base, WHITEOUT_META_PREFIX))
                return 0; /* ".wh..wh..plnk" and other AUFS metadata */
        return apply_whiteout(a, dir, base + STRLEN(WHITEOUT_PREFIX), m, err);
}

static int apply_typed(struct applier *a, struct archive *ar, struct archive_entry *e, int pfd,
                       const char *base, const char *path, const struct entry_meta *m,
                       struct errmsg *err)
{
        mode_t type = archive_entry_filetype(e);
        struct node_spec n = {.type = type, .perm = 0600};
        int r;

        switch (type) {
        case AE_IFREG:
                return apply_file(a, ar, e, pfd, base, m, err);
        case AE_IFDIR:
                return apply_dir(a, e, pfd, base, path, m, err);
        case AE_IFLNK:
                n.target = archive_entry_symlink(e);
                if (!n.target || !*n.target)
                        return errmsg_set(err, -EINVAL, "symlink without a target");
                break;
        case AE_IFCHR:
        case AE_IFBLK:
                n.dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
                break;
        case AE_IFIFO:
                break;
        default:
                return errmsg_set(err, -EINVAL, "unsupported entry type 0%o", (unsigned) type);
        }
        r = create_node(a, pfd, base, &n, err);
        if (r < 0)
                return r;
        return set_meta_at(pfd, base, type, e, m, err);
}

static int apply_entry(struct applier *a, struct archive *ar, struct archive_entry *e,
                       const char *name, struct errmsg *err)
{
        _cleanup_free_ char *path = NULL, *dir = NULL;
        const char *link = archive_entry_hardlink(e), *base;
        struct entry_meta m;
        int pfd, r;

        r = normalize_name(name, &path, err);
        if (r < 0)
                return r;
        if (!*path || (!link && archive_entry_filetype(e) == AE_IFSOCK))
                return 0; /* the root itself; sockets do not travel in layers */
        r = entry_meta(e, &m, err);
        if (r < 0)
                return r;
        split_path(path, &dir, &base);
        if (startswith(base, WHITEOUT_PREFIX))
                return apply_marker(a, dir, base, &m, err);
        r = applier_parent(a, dir, true, &pfd, err);
        if (r < 0)
                return r;
        if (link)
                r = apply_hardlink(a, e, link, pfd, base, &m, err);
        else
                r = apply_typed(a, ar, e, pfd, base, path, &m, err);
        if (r >= 0 && a->whiteouts == LAYER_WHITEOUTS_APPLY)
                written_add(a, path);
        return r;
}

/* Directory times, now that nothing is written into them any more. */
static int apply_dir_times(struct applier *a, struct errmsg *err)
{
        for (size_t i = 0; i < a->n_dirs; i++) {
                _cleanup_free_ char *dir = NULL;
                const char *base;
                struct stat st;
                int pfd;

                split_path(a->dirs[i].path, &dir, &base);
                /* gone or replaced by a later entry: nothing to do */
                if (applier_parent(a, dir, false, &pfd, NULL) < 0 ||
                    fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if (utimensat(pfd, base, a->dirs[i].ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return errmsg_set(err, -errno, "layer entry \"%s\": set times: %s",
                                          a->dirs[i].path, strerror(errno));
        }
        return 0;
}

static la_ssize_t read_block(struct archive *ar, void *userdata, const void **ret_buf)
{
        struct applier *a = userdata;
        size_t size;
        int r;

        r = layer_reader_next(a->reader, ret_buf, &size, &a->read_err);
        if (r < 0) {
                archive_set_error(ar, -r, "%s", a->read_err.msg);
                return ARCHIVE_FATAL;
        }
        return (la_ssize_t) size;
}

static void applier_release(struct applier *a)
{
        a->cache_fd = safe_close(a->cache_fd);
        free(a->cache_path);
        for (size_t i = 0; i < a->n_dirs; i++)
                free(a->dirs[i].path);
        free(a->dirs);
        tdestroy(a->written, free);
        layer_reader_free(a->reader);
}

static void archive_read_freep(struct archive **ar)
{
        if (*ar)
                (void) archive_read_free(*ar);
}

/* Reads entries until the tar's end. */
static int apply_entries(struct applier *a, struct archive *ar, struct errmsg *err)
{
        for (;;) {
                struct errmsg why = {0};
                struct archive_entry *e;
                const char *name;
                int r;

                r = archive_read_next_header(ar, &e);
                if (r == ARCHIVE_EOF)
                        return 0;
                /* ARCHIVE_WARN: a name not in the locale's charset, kept as raw bytes */
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                        r = archive_fail(a, ar, &why);
                        return errmsg_set(err, r, "layer: entry %llu: %s",
                                          (unsigned long long) a->n_entries + 1, why.msg);
                }
                if (++a->n_entries > a->max_entries)
                        return errmsg_set(err, -EINVAL, "layer: more than %llu entries",
                                          (unsigned long long) a->max_entries);
                name = archive_entry_pathname(e);
                if (!name)
                        return errmsg_set(err, -EINVAL, "layer: entry %llu has no name",
                                          (unsigned long long) a->n_entries);
                r = apply_entry(a, ar, e, name, &why);
                if (r < 0)
                        return errmsg_set(err, r, "layer entry \"%s\": %s", name,
                                          why.msg[0] ? why.msg : strerror(-r));
        }
}

int layer_apply_from(int root_fd, layer_read_fn read, void *userdata,
                     const struct layer_apply_opts *o, struct layer_apply_result *ret,
                     struct errmsg *err)
{
        static const struct layer_apply_opts defaults = {0};
        _cleanup_(applier_release) struct applier a = {.root_fd = root_fd, .cache_fd = -EBADF};
        _cleanup_(archive_read_freep) struct archive *ar = NULL;
        struct layer_apply_result res = {0};
        int r;

        o = o ? o : &defaults;
        if ((unsigned) o->whiteouts >= _LAYER_WHITEOUTS_MAX)
                return errmsg_set(err, -EINVAL, "layer: invalid whiteout mode %d", o->whiteouts);
        a.whiteouts = o->whiteouts;
        a.max_entries = o->max_entries ? o->max_entries : LAYER_MAX_ENTRIES_DEFAULT;
        r = layer_reader_new(read, userdata, &a.reader, err);
        if (r < 0)
                return errmsg_prefix(err, r, "layer");
        ar = archive_read_new();
        if (!ar)
                abort();
        /* the reader decompresses; libarchive only parses (an empty stream is an empty layer) */
        if (archive_read_support_format_tar(ar) != ARCHIVE_OK ||
            archive_read_support_format_empty(ar) != ARCHIVE_OK)
                return errmsg_set(err, -ENOTSUP, "layer: libarchive without tar support");
        if (archive_read_open(ar, &a, NULL, read_block, NULL) != ARCHIVE_OK) {
                struct errmsg why = {0};

                r = archive_fail(&a, ar, &why);
                return errmsg_set(err, r, "layer: %s", why.msg);
        }
        r = apply_entries(&a, ar, err);
        if (r < 0)
                return r;
        r = apply_dir_times(&a, err);
        if (r < 0)
                return r;
        r = layer_reader_drain(a.reader, err);
        if (r < 0)
                return errmsg_prefix(err, r, "layer");
        r = layer_reader_diff_id(a.reader, res.diff_id, &res.tar_size);
        assert(r >= 0); /* drained: at EOF */
        res.n_entries = a.n_entries;
        *ret = res;
        return 0;
}

int layer_apply(int root_fd, int in_fd, const struct layer_apply_opts *o,
                struct layer_apply_result *ret, struct errmsg *err)
{
        return layer_apply_from(root_fd, layer_read_fd, &in_fd, o, ret, err);
}
