/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native backend, for filesystems without overlay: each snapshot's fs directory holds a
 * full copy of its parent's tree (containerd's snapshots/native); mounts are bind mounts.
 * The copy keeps files (copy_file_range, so reflinks or in-kernel copies where the filesystem
 * offers them), directories, symlinks, devices, fifos, hard links, owners, modes, xattrs and
 * times.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "containerd/snapshot-internal.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define COPY_DEPTH_MAX        512
#define XATTR_LIST_MAX_BYTES  65536
#define XATTR_VALUE_MAX_BYTES 65536

int native_mounts(const struct snapshotter *s, int64_t id, enum snapshot_kind kind,
                  struct mount_spec **ret, size_t *ret_n)
{
        struct mount_spec *m = xnew0(struct mount_spec, 1);

        m->type = xstrdup("bind");
        m->source = xasprintf("%s/snapshots/%" PRId64 "/fs", s->root, id);
        (void) strv_push(&m->options, kind == SNAPSHOT_KIND_VIEW ? "ro" : "rw");
        (void) strv_push(&m->options, "rbind");
        *ret = m;
        *ret_n = 1;
        return 0;
}

/* Hard links already copied: source inode -> path under the destination root. */
struct copy_state {
        int dst_root_fd;
        struct {
                dev_t dev;
                ino_t ino;
                char *path;
        } * links;
        size_t n_links;
        size_t alloc_links;
        struct errmsg *err;
};

static const char *link_target(struct copy_state *c, const struct stat *st)
{
        for (size_t i = 0; i < c->n_links; i++)
                if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino)
                        return c->links[i].path;
        return NULL;
}

static void link_remember(struct copy_state *c, const struct stat *st, const char *path)
{
        c->links = xgrow(c->links, &c->alloc_links, c->n_links + 1, sizeof(*c->links));
        c->links[c->n_links].dev = st->st_dev;
        c->links[c->n_links].ino = st->st_ino;
        c->links[c->n_links++].path = xstrdup(path);
}

static int copy_xattrs(int src_fd, int dst_fd)
{
        _cleanup_free_ char *names = xmalloc(XATTR_LIST_MAX_BYTES);
        _cleanup_free_ char *value = xmalloc(XATTR_VALUE_MAX_BYTES);
        ssize_t n = flistxattr(src_fd, names, XATTR_LIST_MAX_BYTES);

        if (n < 0)
                return errno == ENOTSUP ? 0 : negative_errno();
        for (char *p = names; p < names + n; p += strlen(p) + 1) {
                ssize_t len = fgetxattr(src_fd, p, value, XATTR_VALUE_MAX_BYTES);

                if (len < 0)
                        return negative_errno();
                if (fsetxattr(dst_fd, p, value, (size_t) len, 0) < 0 && errno != ENOTSUP)
                        return negative_errno();
        }
        return 0;
}

/* Owner, mode, xattrs and times of an open file or directory. */
static int copy_attrs(int src_fd, int dst_fd, const struct stat *st)
{
        struct timespec times[2] = {st->st_atim, st->st_mtim};

        if (fchown(dst_fd, st->st_uid, st->st_gid) < 0 || fchmod(dst_fd, st->st_mode & 07777) < 0)
                return negative_errno();
        if (copy_xattrs(src_fd, dst_fd) < 0)
                return negative_errno();
        return futimens(dst_fd, times) < 0 ? negative_errno() : 0;
}

static int copy_data(int src_fd, int dst_fd, off_t size)
{
        while (size > 0) {
                ssize_t n = copy_file_range(src_fd, NULL, dst_fd, NULL, (size_t) size, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? negative_errno() : -EIO;
                size -= n;
        }
        return 0;
}

static int copy_file(int src_dir, int dst_dir, const char *name, const struct stat *st)
{
        _cleanup_close_ int src = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int dst = -EBADF;
        int r;

        if (src < 0)
                return negative_errno();
        dst = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (dst < 0)
                return negative_errno();
        r = copy_data(src, dst, st->st_size);
        return r < 0 ? r : copy_attrs(src, dst, st);
}

static int copy_special(int src_dir, int dst_dir, const char *name, const struct stat *st)
{
        struct timespec times[2] = {st->st_atim, st->st_mtim};

        if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);

                if (n < 0)
                        return negative_errno();
                target[n] = '\0';
                if (symlinkat(target, dst_dir, name) < 0)
                        return negative_errno();
        } else if (mknodat(dst_dir, name, st->st_mode & (S_IFMT | 07777), st->st_rdev) < 0) {
                return negative_errno();
        }
        if (fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISLNK(st->st_mode) && fchmodat(dst_dir, name, st->st_mode & 07777, 0) < 0)
                return negative_errno();
        return utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW) < 0 ? negative_errno() : 0;
}

static int copy_dir(struct copy_state *c, int src_fd, int dst_fd, const char *path, unsigned depth);

static int copy_entry(struct copy_state *c, int src_dir, int dst_dir, const char *path,
                      const char *name, unsigned depth)
{
        _cleanup_free_ char *sub = path[0] ? xasprintf("%s/%s", path, name) : xstrdup(name);
        struct stat st;
        const char *target;

        if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int s = -EBADF, d = -EBADF;
                int r;

                if (mkdirat(dst_dir, name, 0700) < 0)
                        return negative_errno();
                s = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                d = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0 || d < 0)
                        return negative_errno();
                r = copy_dir(c, s, d, sub, depth + 1);
                return r < 0 ? r : copy_attrs(s, d, &st);
        }
        if (st.st_nlink > 1 && (target = link_target(c, &st)))
                return linkat(c->dst_root_fd, target, dst_dir, name, 0) < 0 ? negative_errno() : 0;
        if (st.st_nlink > 1)
                link_remember(c, &st, sub);
        if (S_ISREG(st.st_mode))
                return copy_file(src_dir, dst_dir, name, &st);
        if (S_ISSOCK(st.st_mode))
                return 0;
        return copy_special(src_dir, dst_dir, name, &st);
}

static int copy_dir(struct copy_state *c, int src_fd, int dst_fd, const char *path, unsigned depth)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd;

        if (depth > COPY_DEPTH_MAX)
                return errmsg_set(c->err, -ELOOP, "copy %s: deeper than %d", path, COPY_DEPTH_MAX);
        fd = openat(src_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd))) {
                int r = negative_errno();

                safe_close(fd);
                return errmsg_set(c->err, r, "copy %s: %s", path, strerror(-r));
        }
        while ((de = readdir(d))) {
                int r;

                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                r = copy_entry(c, dirfd(d), dst_fd, path, de->d_name, depth);
                if (r < 0)
                        return c->err && c->err->code
                                       ? r
                                       : errmsg_set(c->err, r, "copy %s%s%s: %s", path,
                                                    path[0] ? "/" : "", de->d_name, strerror(-r));
        }
        return 0;
}

int tree_copy(int src_fd, int dst_fd, struct errmsg *err)
{
        struct copy_state c = {.dst_root_fd = dst_fd, .err = err};
        struct stat st;
        int r;

        r = copy_dir(&c, src_fd, dst_fd, "", 0);
        if (r >= 0 && fstat(src_fd, &st) >= 0)
                r = copy_attrs(src_fd, dst_fd, &st);
        for (size_t i = 0; i < c.n_links; i++)
                free(c.links[i].path);
        free(c.links);
        if (r < 0 && !(err && err->code))
                return errmsg_set(err, r, "copy: %s", strerror(-r));
        return r;
}

int native_create_dirs(struct snapshotter *s, int64_t id, int64_t parent_id, struct errmsg *err)
{
        _cleanup_close_ int src = -EBADF, dst = -EBADF;
        char dir[32], fs[48], parent_fs[48];
        int r;

        (void) snprintf(dir, sizeof(dir), "%" PRId64, id);
        (void) snprintf(fs, sizeof(fs), "%s/fs", dir);
        if (mkdirat(s->snapshots_fd, dir, 0700) < 0)
                return errmsg_set(err, -errno, "snapshot %s: mkdir: %s", dir, strerror(errno));
        r = mkdirat(s->snapshots_fd, fs, 0755) < 0 ? -errno : 0;
        if (r >= 0 && parent_id > 0) {
                (void) snprintf(parent_fs, sizeof(parent_fs), "%" PRId64 "/fs", parent_id);
                src = openat(s->snapshots_fd, parent_fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                dst = openat(s->snapshots_fd, fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = src < 0 || dst < 0 ? -errno : tree_copy(src, dst, err);
        }
        if (r < 0) {
                (void) rm_rf_at(s->snapshots_fd, dir);
                return errmsg_prefix(err, r, "snapshot %s", dir);
        }
        return 0;
}
