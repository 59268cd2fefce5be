/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One mounts[] entry, mounted safely inside the container's rootfs (runtime-spec config.md
 * "Mounts", the way runc 1.1.5's mountToRootfs does it). The destination is resolved with
 * root_path_open(), so a symlink in the image such as /evil -> /etc lands on the rootfs's
 * etc, never the host's; missing directories (or, for a bind of a file, an empty file) are
 * created on the way. Every mount(2) then targets /proc/self/fd/N of the O_PATH fd that
 * resolution returned, and everything applied afterwards (remount flags, propagation,
 * mount_setattr) re-resolves the destination, because the old fd still names the
 * covered directory rather than the new mount.
 */
#include "runc/mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#include "lib/errmsg.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runc/mount-options.h"

#define ROOT_PATH_MAX_SYMLINKS 40 /* as the kernel's MAXSYMLINKS */
#define COPYUP_MAX_DEPTH       128
#define ATIME_FLAGS            (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)
#define PROPAGATION_FLAGS      (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
#define CGROUP_ROOT            "/sys/fs/cgroup"

/* ---- paths ---------------------------------------------------------------------------- */

const char *path_startswith(const char *path, const char *prefix)
{
        if ((*path == '/') != (*prefix == '/'))
                return NULL;
        for (;;) {
                size_t a, b;

                path += strspn(path, "/");
                prefix += strspn(prefix, "/");
                if (*prefix == '\0')
                        return path;
                if (*path == '\0')
                        return NULL;
                a = strcspn(path, "/");
                b = strcspn(prefix, "/");
                if (a != b || memcmp(path, prefix, a) != 0)
                        return NULL;
                path += a;
                prefix += b;
        }
}

bool path_equal(const char *a, const char *b)
{
        const char *rest = path_startswith(a, b);

        return rest && *rest == '\0';
}

const char *proc_fd_path(int fd, char buf[static PROC_FD_PATH_MAX])
{
        (void) snprintf(buf, PROC_FD_PATH_MAX, "/proc/self/fd/%d", fd);
        return buf;
}

/* ---- confined resolution -------------------------------------------------------------- */

/* The directories entered so far below the root, innermost last; the root is borrowed. */
struct walk {
        int root_fd;
        int *fds;
        size_t n_fds;
        size_t alloc;
};

static void walk_release(struct walk *w)
{
        for (size_t i = 0; i < w->n_fds; i++)
                (void) safe_close(w->fds[i]);
        free(w->fds);
}

static int walk_top(const struct walk *w)
{
        return w->n_fds > 0 ? w->fds[w->n_fds - 1] : w->root_fd;
}

static void walk_pop(struct walk *w)
{
        if (w->n_fds > 0)
                (void) safe_close(w->fds[--w->n_fds]);
}

static void walk_push(struct walk *w, int fd)
{
        w->fds = xgrow(w->fds, &w->alloc, w->n_fds + 1, sizeof(int));
        w->fds[w->n_fds++] = fd;
}

/* Cuts the first component off *rest (a heap string); NULL when nothing is left. */
static char *next_component(char *rest)
{
        char *p = rest + strspn(rest, "/");
        size_t n = strcspn(p, "/");
        char *name;

        if (n == 0)
                return NULL;
        name = xstrndup(p, n);
        memmove(rest, p + n, strlen(p + n) + 1);
        return name;
}

/* Opens name below dir_fd without following it, creating it first if asked to. */
static int walk_open(int dir_fd, const char *name, bool is_last, unsigned flags, int *ret_fd)
{
        int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0 && errno == ENOENT && (flags & ROOT_PATH_MKDIR)) {
                if (is_last && (flags & ROOT_PATH_MKFILE)) {
                        if (mknodat(dir_fd, name, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
                                return -errno;
                } else if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST) {
                        return -errno;
                }
                fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

/* Replaces the symlink at link_fd by its target in front of *rest, inside the root. */
static int walk_expand(struct walk *w, int link_fd, char **rest)
{
        char target[PATH_MAX];
        ssize_t n;

        n = readlinkat(link_fd, "", target, sizeof(target));
        if (n < 0)
                return -errno;
        if ((size_t) n >= sizeof(target))
                return -ENAMETOOLONG;
        target[n] = '\0';
        if (target[0] == '/')
                while (w->n_fds > 0)
                        walk_pop(w);
        char *expanded = xasprintf("%s/%s", target, *rest);
        free(*rest);
        *rest = expanded;
        return 0;
}

int root_path_walk(int root_fd, const char *path, unsigned flags, int *ret_fd)
{
        _cleanup_(walk_release) struct walk w = {.root_fd = root_fd};
        _cleanup_free_ char *rest = xstrdup(path);
        unsigned n_links = 0;
        int fd, r;

        for (;;) {
                _cleanup_free_ char *name = next_component(rest);
                _cleanup_close_ int cur = -EBADF;
                struct stat st;
                bool is_last;

                if (!name)
                        break;
                if (STREQ(name, "."))
                        continue;
                if (STREQ(name, "..")) {
                        walk_pop(&w); /* never above the root */
                        continue;
                }
                is_last = rest[strspn(rest, "/")] == '\0';
                r = walk_open(walk_top(&w), name, is_last, flags, &cur);
                if (r < 0)
                        return r;
                if (fstat(cur, &st) < 0)
                        return -errno;
                if (S_ISLNK(st.st_mode)) {
                        if ((flags & ROOT_PATH_NOFOLLOW) || ++n_links > ROOT_PATH_MAX_SYMLINKS)
                                return -ELOOP;
                        r = walk_expand(&w, cur, &rest);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!is_last && !S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                walk_push(&w, TAKE_FD(cur));
        }
        if (w.n_fds > 0) {
                fd = w.fds[--w.n_fds];
        } else {
                fd = openat(root_fd, ".", O_PATH | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
        }
        *ret_fd = fd;
        return 0;
}

static int openat2_in_root(int root_fd, const char *path, unsigned flags, int *ret_fd)
{
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        if (flags & ROOT_PATH_NOFOLLOW)
                how.resolve |= RESOLVE_NO_SYMLINKS;
        fd = syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));
        if (fd < 0)
                return -errno;
        *ret_fd = (int) fd;
        return 0;
}

int root_path_open(int root_fd, const char *path, unsigned flags, int *ret_fd)
{
        int r;

        r = openat2_in_root(root_fd, path, flags, ret_fd);
        if (r == 0 || (r == -ENOENT && !(flags & ROOT_PATH_MKDIR)))
                return r;
        /*
         * ENOENT: something to create, which openat2 cannot do. ENOSYS/E2BIG: a kernel older
         * than 5.6; EPERM: a seccomp filter of the caller's own. Anything else is an answer.
         */
        if (r != -ENOENT && r != -ENOSYS && r != -E2BIG && r != -EPERM)
                return r;
        return root_path_walk(root_fd, path, flags, ret_fd);
}

/* ---- mountinfo ------------------------------------------------------------------------ */

/* Undoes the kernel's octal escapes ("\040" for a space) in place. */
static void unescape_octal(char *s)
{
        char *out = s;

        for (; *s; s++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *out++ = (char) ((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
                        s += 3;
                } else {
                        *out++ = *s;
                }
        }
        *out = '\0';
}

/* "36 25 0:32 / /sys/fs/cgroup/devices rw,relatime shared:15 - cgroup cgroup rw,devices" */
static int mountinfo_parse(char *line, struct mountinfo_entry *e)
{
        char *p = line, *field[6], *sep;

        line[strcspn(line, "\n")] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(field); i++) {
                field[i] = strsep(&p, " ");
                if (!p)
                        return -EINVAL;
        }
        if (strncmp(p, "- ", 2) == 0) {
                e->optional = "";
                p += 2;
        } else {
                sep = strstr(p, " - ");
                if (!sep)
                        return -EINVAL;
                *sep = '\0';
                e->optional = p;
                p = sep + 3;
        }
        e->fstype = strsep(&p, " ");
        (void) strsep(&p, " "); /* source */
        e->super_opts = p ? p : "";
        unescape_octal(field[4]);
        e->mount_point = field[4];
        return 0;
}

int mountinfo_foreach(mountinfo_fn fn, void *userdata)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t alloc = 0;
        int r;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        while (getline(&line, &alloc, f) > 0) {
                struct mountinfo_entry e;

                if (mountinfo_parse(line, &e) < 0)
                        continue;
                r = fn(&e, userdata);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* ---- remounts ------------------------------------------------------------------------- */

static unsigned long statvfs_to_ms(unsigned long f)
{
        static const struct {
                unsigned long st, ms;
        } map[] = {
                {ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},
                {ST_NODEV, MS_NODEV},       {ST_NOEXEC, MS_NOEXEC},
                {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
                {ST_RELATIME, MS_RELATIME},
        };
        unsigned long ms = 0;

        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (f & map[i].st)
                        ms |= map[i].ms;
        return ms;
}

int remount_keep_locked(const char *target, unsigned long flags)
{
        struct statvfs sv;
        unsigned long cur;

        flags |= MS_REMOUNT | MS_BIND;
        if (mount(NULL, target, NULL, flags, NULL) == 0)
                return 0;
        if (errno != EPERM)
                return -errno;
        /*
         * Flags a less privileged mount namespace inherited are locked (mount_namespaces(7)):
         * a remount that would clear them fails. Keep what is set; without atime flags a
         * remount keeps the current atime setting by itself.
         */
        if (statvfs(target, &sv) < 0)
                return -errno;
        cur = statvfs_to_ms(sv.f_flag);
        if (flags & ATIME_FLAGS)
                flags = (flags & ~ATIME_FLAGS) | (cur & ATIME_FLAGS);
        flags |= cur & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        if (mount(NULL, target, NULL, flags, NULL) < 0)
                return -errno;
        return 0;
}

/* ---- one entry ------------------------------------------------------------------------ */

struct mount_ctx {
        int root_fd;
        char *root_prefix; /* the rootfs as this mount namespace sees it */
        const struct oci_spec *spec;
        const struct oci_mount *m;
        struct mount_flags mf;
        bool in_userns;
        struct errmsg *err;
};

static bool mount_flags_is_bind(const struct oci_mount *m, const struct mount_flags *mf)
{
        return (mf->flags & MS_BIND) || STREQ_PTR(m->type, "bind");
}

static int ctx_open(struct mount_ctx *c, unsigned flags, int *ret_fd)
{
        int r = root_path_open(c->root_fd, c->m->destination, flags, ret_fd);

        if (r < 0)
                return errmsg_set(c->err, r, "resolve destination in the rootfs: %s", strerror(-r));
        return 0;
}

/* mount(2) onto fd's procfd; the message names type and source as "mount bind /src". */
static int ctx_mount(struct mount_ctx *c, const char *source, int fd, const char *fstype,
                     unsigned long flags, const char *data)
{
        char buf[PROC_FD_PATH_MAX];
        const char *what = (flags & MS_BIND) ? "bind" : fstype ? fstype : "none";

        if (mount(source, proc_fd_path(fd, buf), fstype, flags, data) < 0)
                return errmsg_set(c->err, -errno, "mount %s %s: %s", what, source ? source : "none",
                                  strerror(errno));
        return 0;
}

/* Remount of the mount now at the destination, keeping locked flags. */
static int ctx_remount(struct mount_ctx *c, unsigned long flags)
{
        _cleanup_close_ int fd = -EBADF;
        char buf[PROC_FD_PATH_MAX];
        int r;

        r = ctx_open(c, 0, &fd);
        if (r < 0)
                return r;
        r = remount_keep_locked(proc_fd_path(fd, buf), flags);
        if (r < 0)
                return errmsg_set(c->err, r, "remount with flags 0x%lx: %s", flags, strerror(-r));
        return 0;
}

/* The container's path of an fd below the rootfs, as d_path() reports it. */
static int ctx_container_path(struct mount_ctx *c, int fd, char **ret)
{
        char buf[PROC_FD_PATH_MAX], target[PATH_MAX];
        const char *rest;
        ssize_t n;

        n = readlink(proc_fd_path(fd, buf), target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        rest = path_startswith(target, c->root_prefix);
        if (!rest)
                return -EXDEV;
        *ret = xasprintf("/%s", rest);
        return 0;
}

static bool is_procfs(const char *path)
{
        struct statfs sfs;

        return path && statfs(path, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

/*
 * runc's checkProcMount: nothing may be mounted over /proc's entries (it would hide what
 * maskedPaths hide, or worse), except the files lxcfs emulates; /proc itself only takes a
 * procfs. Checked on the resolved destination, so a symlink into /proc is caught too.
 */
static int ctx_check_proc(struct mount_ctx *c, int fd)
{
        static const char *const allowed[] = {
                "/proc/cpuinfo", "/proc/diskstats",
                "/proc/meminfo", "/proc/stat",
                "/proc/swaps",   "/proc/uptime",
                "/proc/loadavg", "/proc/slabinfo",
                "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
        };
        _cleanup_free_ char *path = NULL;
        const char *rest;
        int r;

        r = ctx_container_path(c, fd, &path);
        if (r < 0)
                return errmsg_set(c->err, r, "resolve destination in the rootfs: %s", strerror(-r));
        rest = path_startswith(path, "/proc");
        if (!rest)
                return 0;
        if (*rest == '\0') {
                if (is_procfs(c->m->source))
                        return 0;
                return errmsg_set(c->err, -EINVAL,
                                  "%s cannot be mounted because it is not of type proc", path);
        }
        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (STREQ(path, allowed[i]))
                        return 0;
        return errmsg_set(c->err, -EINVAL, "cannot mount over %s: it is inside /proc", path);
}

static int mount_bind(struct mount_ctx *c)
{
        _cleanup_close_ int fd = -EBADF;
        unsigned long extra;
        struct stat st;
        int r;

        if (!c->m->source)
                return errmsg_set(c->err, -EINVAL, "bind mount without a source");
        if (stat(c->m->source, &st) < 0)
                return errmsg_set(c->err, -errno, "mount bind %s: %s", c->m->source,
                                  strerror(errno));
        r = ctx_open(c, S_ISDIR(st.st_mode) ? ROOT_PATH_MKDIR : ROOT_PATH_MKDIR | ROOT_PATH_MKFILE,
                     &fd);
        if (r >= 0)
                r = ctx_check_proc(c, fd);
        if (r >= 0)
                r = ctx_mount(c, c->m->source, fd, NULL, MS_BIND | (c->mf.flags & MS_REC), NULL);
        if (r < 0)
                return r;
        /* A bind ignores flags: ro, nosuid, … need a remount of the new mount. */
        extra = c->mf.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
        if (extra == 0)
                return 0;
        return ctx_remount(c, extra);
}

/* proc and sysfs only go onto a real directory: no symlink anywhere in the way (runc). */
static int mount_kernel_fs(struct mount_ctx *c)
{
        _cleanup_close_ int fd = -EBADF;
        const char *type = c->m->type;
        struct stat st;
        int r;

        r = root_path_open(c->root_fd, c->m->destination, ROOT_PATH_MKDIR | ROOT_PATH_NOFOLLOW,
                           &fd);
        if (r == -ELOOP || r == -ENOTDIR || (r >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)))
                return errmsg_set(c->err, -EINVAL,
                                  "filesystem %s must be mounted on an ordinary directory", type);
        if (r < 0)
                return errmsg_set(c->err, r, "resolve destination in the rootfs: %s", strerror(-r));
        r = ctx_mount(c, c->m->source ? c->m->source : type, fd, type, c->mf.flags, c->mf.data);
        if (r != -EPERM || !STREQ(type, "sysfs") || !c->in_userns)
                return r;
        /* Without its own network namespace a user namespace may not mount sysfs: bind it. */
        r = ctx_mount(c, "/sys", fd, NULL, MS_BIND | MS_REC, NULL);
        if (r < 0)
                return r;
        return ctx_remount(c, c->mf.flags & ~(MS_BIND | MS_REC));
}

static bool data_has_mode(const char *data)
{
        for (const char *p = data; p && *p; p += strcspn(p, ","), p += *p == ',') {
                if (strncmp(p, "mode=", 5) == 0)
                        return true;
        }
        return false;
}

static int copy_tree(int src_fd, int dst_fd, unsigned depth);

static int copy_file(int src_dir, int dst_dir, const char *name, mode_t mode)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        ssize_t n;

        in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return -errno;
        out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (out < 0)
                return -errno;
        do
                n = sendfile(out, in, NULL, 1 << 30);
        while (n > 0);
        return n < 0 ? -errno : 0;
}

static int copy_dir(int src_dir, int dst_dir, const char *name, unsigned depth)
{
        int in, out, r;

        if (mkdirat(dst_dir, name, 0700) < 0)
                return -errno;
        in = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return -errno;
        out = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (out < 0) {
                r = -errno;
                (void) safe_close(in);
                return r;
        }
        r = copy_tree(in, out, depth + 1);
        (void) safe_close(out);
        return r;
}

/* One entry with its owner, mode and times (the "tmpcopyup" extension; xattrs not kept). */
static int copy_entry(int src_dir, int dst_dir, const char *name, unsigned depth)
{
        char target[PATH_MAX];
        struct stat st;
        ssize_t n;
        int r = 0;

        if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode)) {
                r = copy_dir(src_dir, dst_dir, name, depth);
        } else if (S_ISREG(st.st_mode)) {
                r = copy_file(src_dir, dst_dir, name, st.st_mode & 07777);
        } else if (S_ISLNK(st.st_mode)) {
                n = readlinkat(src_dir, name, target, sizeof(target) - 1);
                if (n < 0)
                        return -errno;
                target[n] = '\0';
                r = symlinkat(target, dst_dir, name) < 0 ? -errno : 0;
        } else if (mknodat(dst_dir, name, st.st_mode, st.st_rdev) < 0) {
                r = -errno;
        }
        if (r < 0)
                return r;
        if (fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISLNK(st.st_mode) && fchmodat(dst_dir, name, st.st_mode & 07777, 0) < 0)
                return -errno;
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        if (utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

/* Copies the directory src_fd (taken over) into dst_fd (borrowed). */
static int copy_tree(int src_fd, int dst_fd, unsigned depth)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        if (depth > COPYUP_MAX_DEPTH) {
                (void) safe_close(src_fd);
                return -ELOOP;
        }
        d = fdopendir(src_fd);
        if (!d) {
                r = -errno;
                (void) safe_close(src_fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                r = copy_entry(dirfd(d), dst_fd, de->d_name, depth);
                if (r < 0)
                        return r;
        }
        return errno > 0 ? -errno : 0;
}

/* Opens the directory at O_PATH fd for reading, through its procfd. */
static int reopen_dir(int fd, int *ret_fd)
{
        char buf[PROC_FD_PATH_MAX];
        int dfd = open(proc_fd_path(fd, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0)
                return -errno;
        *ret_fd = dfd;
        return 0;
}

static int tmpfs_copy_up(struct mount_ctx *c, int old_dir)
{
        _cleanup_close_ int fd = -EBADF, new_dir = -EBADF;
        int r;

        r = ctx_open(c, 0, &fd);
        if (r < 0)
                return r;
        r = reopen_dir(fd, &new_dir);
        if (r >= 0)
                r = copy_tree(old_dir, new_dir, 0);
        if (r < 0)
                return errmsg_set(c->err, r, "tmpcopyup: %s", strerror(-r));
        return 0;
}

/*
 * MS_RDONLY waits for mount_entry_finish(): the tmpfs may need filling first (tmpcopyup,
 * /dev). Like runc, an existing directory's mode carries over to the tmpfs root, unless
 * the options give mode= (runc 1.1.5 overrides even that; newer runc does not).
 */
static int mount_tmpfs(struct mount_ctx *c)
{
        _cleanup_close_ int fd = -EBADF, old_dir = -EBADF, new_fd = -EBADF;
        char buf[PROC_FD_PATH_MAX];
        bool existed;
        struct stat st;
        int r;

        r = root_path_open(c->root_fd, c->m->destination, 0, &fd);
        existed = r >= 0;
        r = existed ? 0 : ctx_open(c, ROOT_PATH_MKDIR, &fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return errmsg_set(c->err, -errno, "stat destination: %s", strerror(errno));
        r = ctx_check_proc(c, fd);
        if (r >= 0 && c->mf.tmpcopyup && S_ISDIR(st.st_mode)) {
                /* opened before the mount, this fd keeps reading the covered directory */
                r = reopen_dir(fd, &old_dir);
                if (r < 0)
                        r = errmsg_set(c->err, r, "tmpcopyup: open destination: %s", strerror(-r));
        }
        if (r >= 0)
                r = ctx_mount(c, c->m->source ? c->m->source : "tmpfs", fd, "tmpfs",
                              c->mf.flags & ~MS_RDONLY, c->mf.data);
        if (r >= 0 && old_dir >= 0)
                r = tmpfs_copy_up(c, TAKE_FD(old_dir));
        if (r < 0 || !existed || data_has_mode(c->mf.data))
                return r;
        r = ctx_open(c, 0, &new_fd);
        if (r >= 0 && chmod(proc_fd_path(new_fd, buf), st.st_mode & 07777) < 0)
                r = errmsg_set(c->err, -errno, "chmod tmpfs: %s", strerror(errno));
        return r;
}

/* ---- cgroup --------------------------------------------------------------------------- */

struct cgroup_hier {
        char *name;   /* below /sys/fs/cgroup: "memory", "cpu,cpuacct", "unified" */
        char *fstype; /* cgroup or cgroup2 */
        char *opts;   /* superblock options for a fresh mount: "memory", "name=systemd" */
};

struct cgroup_hiers {
        struct cgroup_hier *list;
        size_t n, alloc;
};

static void cgroup_hiers_release(struct cgroup_hiers *h)
{
        for (size_t i = 0; i < h->n; i++) {
                free(h->list[i].name);
                free(h->list[i].fstype);
                free(h->list[i].opts);
        }
        free(h->list);
}

/* The superblock options a fresh mount needs: the controllers and name=, not rw/ro. */
static char *cgroup_opts(const struct mountinfo_entry *e)
{
        _cleanup_free_ char *copy = xstrdup(e->super_opts);
        char *p = copy, *tok, *out = xstrdup("");

        if (STREQ(e->fstype, "cgroup2"))
                return out; /* nsdelegate & co. only mean something to the host */
        while ((tok = strsep(&p, ","))) {
                if (!*tok || STREQ(tok, "rw") || STREQ(tok, "ro") ||
                    strncmp(tok, "release_agent=", 14) == 0)
                        continue;
                char *joined = xasprintf("%s%s%s", out, *out ? "," : "", tok);
                free(out);
                out = joined;
        }
        return out;
}

static int cgroup_collect(const struct mountinfo_entry *e, void *userdata)
{
        struct cgroup_hiers *h = userdata;
        const char *name = path_startswith(e->mount_point, CGROUP_ROOT);
        struct cgroup_hier *slot = NULL;

        if (!name || !*name || strchr(name, '/'))
                return 0;
        if (!STREQ(e->fstype, "cgroup") && !STREQ(e->fstype, "cgroup2"))
                return 0;
        for (size_t i = 0; i < h->n; i++)
                if (STREQ(h->list[i].name, name))
                        slot = &h->list[i]; /* over-mounted: the later line is visible */
        if (!slot) {
                h->list = xgrow(h->list, &h->alloc, h->n + 1, sizeof(*h->list));
                slot = &h->list[h->n++];
                *slot = (struct cgroup_hier){.name = xstrdup(name)};
        }
        free(slot->fstype);
        free(slot->opts);
        slot->fstype = xstrdup(e->fstype);
        slot->opts = cgroup_opts(e);
        return 0;
}

/*
 * One hierarchy at dir_fd/name. With a cgroup namespace, a fresh mount shows the
 * container's own cgroup as its root. Without one, the host's whole hierarchy is bound,
 * read-only whatever the options say: runc binds only the container's subtree there,
 * which needs the cgroup path this interface does not carry.
 */
static int cgroup_mount_one(struct mount_ctx *c, int dir_fd, const struct cgroup_hier *h,
                            bool has_ns)
{
        unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
        _cleanup_free_ char *source = xasprintf(CGROUP_ROOT "/%s", h->name);
        _cleanup_close_ int fd = -EBADF;
        char buf[PROC_FD_PATH_MAX];
        int r;

        if (mkdirat(dir_fd, h->name, 0755) < 0 && errno != EEXIST)
                return errmsg_set(c->err, -errno, "mkdir %s: %s", h->name, strerror(errno));
        fd = openat(dir_fd, h->name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(c->err, -errno, "open %s: %s", h->name, strerror(errno));
        if (has_ns)
                return ctx_mount(c, h->fstype, fd, h->fstype, flags | (c->mf.flags & MS_RDONLY),
                                 *h->opts ? h->opts : NULL);
        r = ctx_mount(c, source, fd, NULL, MS_BIND | MS_REC, NULL);
        if (r < 0)
                return r;
        fd = safe_close(fd);
        fd = openat(dir_fd, h->name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(c->err, -errno, "open %s: %s", h->name, strerror(errno));
        r = remount_keep_locked(proc_fd_path(fd, buf), flags | MS_RDONLY);
        if (r < 0)
                return errmsg_set(c->err, r, "remount %s read-only: %s", source, strerror(-r));
        return 0;
}

/* The host's symlinks between hierarchies ("cpu" -> "cpu,cpuacct"), copied as they are. */
static int cgroup_copy_symlinks(struct mount_ctx *c, int dir_fd)
{
        _cleanup_(closedirp) DIR *d = opendir(CGROUP_ROOT);
        struct dirent *de;
        char target[PATH_MAX];
        ssize_t n;

        if (!d)
                return 0;
        while ((de = readdir(d))) {
                if (de->d_type != DT_LNK)
                        continue;
                n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (n < 0)
                        continue;
                target[n] = '\0';
                if (symlinkat(target, dir_fd, de->d_name) < 0 && errno != EEXIST)
                        return errmsg_set(c->err, -errno, "symlink %s: %s", de->d_name,
                                          strerror(errno));
        }
        return 0;
}

static int mount_cgroup_v1(struct mount_ctx *c, int fd)
{
        _cleanup_(cgroup_hiers_release) struct cgroup_hiers h = {0};
        bool has_ns = oci_spec_find_namespace(c->spec, NS_CGROUP) != NULL;
        unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
        _cleanup_close_ int dir_fd = -EBADF;
        char buf[PROC_FD_PATH_MAX];
        int r;

        r = mountinfo_foreach(cgroup_collect, &h);
        if (r < 0)
                return errmsg_set(c->err, r, "read mountinfo: %s", strerror(-r));
        r = ctx_mount(c, "tmpfs", fd, "tmpfs", flags | (c->mf.flags & ATIME_FLAGS), "mode=755");
        if (r >= 0)
                r = ctx_open(c, 0, &dir_fd);
        for (size_t i = 0; r >= 0 && i < h.n; i++)
                r = cgroup_mount_one(c, dir_fd, &h.list[i], has_ns);
        if (r >= 0)
                r = cgroup_copy_symlinks(c, dir_fd);
        if (r < 0 || !(c->mf.flags & MS_RDONLY))
                return r;
        r = remount_keep_locked(proc_fd_path(dir_fd, buf), flags | MS_RDONLY);
        if (r < 0)
                return errmsg_set(c->err, r, "remount read-only: %s", strerror(-r));
        return 0;
}

/*
 * "cgroup": on a cgroup2-only host the cgroup2 filesystem itself (falling back to a bind
 * of the host's when the kernel refuses, as in a user namespace without a cgroup
 * namespace); on v1 and hybrid hosts a tmpfs holding each hierarchy, as runc does.
 */
static int mount_cgroup(struct mount_ctx *c)
{
        _cleanup_close_ int fd = -EBADF;
        struct statfs sfs;
        int r;

        r = ctx_open(c, ROOT_PATH_MKDIR, &fd);
        if (r >= 0)
                r = ctx_check_proc(c, fd);
        if (r < 0)
                return r;
        if (statfs(CGROUP_ROOT, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                return mount_cgroup_v1(c, fd);
        r = ctx_mount(c, "cgroup2", fd, "cgroup2", c->mf.flags, c->mf.data);
        if (r != -EPERM && r != -EBUSY)
                return r;
        r = ctx_mount(c, CGROUP_ROOT, fd, NULL, MS_BIND | MS_REC, NULL);
        if (r < 0)
                return r;
        return ctx_remount(c, c->mf.flags & ~(MS_BIND | MS_REC));
}

/* mqueue, devpts and any other type: passed to mount(2) with its data. */
static int mount_other(struct mount_ctx *c)
{
        _cleanup_close_ int fd = -EBADF;
        unsigned long flags = c->mf.flags;
        int r;

        r = ctx_open(c, ROOT_PATH_MKDIR, &fd);
        if (r >= 0)
                r = ctx_check_proc(c, fd);
        if (r < 0)
                return r;
        if (path_equal(c->m->destination, "/dev"))
                flags &= ~MS_RDONLY; /* devices go in first */
        return ctx_mount(c, c->m->source ? c->m->source : c->m->type, fd, c->m->type, flags,
                         c->mf.data);
}

/* Propagation (one mount(2) per type) and recursive attributes, on the new mount. */
static int mount_apply_after(struct mount_ctx *c)
{
        static const unsigned long kinds[] = {MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE};
        struct mount_attr attr = {.attr_set = c->mf.rec_attr_set, .attr_clr = c->mf.rec_attr_clr};
        _cleanup_close_ int fd = -EBADF;
        char buf[PROC_FD_PATH_MAX];
        int r;

        if (!(c->mf.propagation & PROPAGATION_FLAGS) && !attr.attr_set && !attr.attr_clr)
                return 0;
        r = ctx_open(c, 0, &fd);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                unsigned long f = kinds[i] | (c->mf.propagation & MS_REC);

                if ((c->mf.propagation & kinds[i]) &&
                    mount(NULL, proc_fd_path(fd, buf), NULL, f, NULL) < 0)
                        return errmsg_set(c->err, -errno, "set propagation: %s", strerror(errno));
        }
        if (!attr.attr_set && !attr.attr_clr)
                return 0;
        if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                return errmsg_set(c->err, -errno, "mount_setattr: %s", strerror(errno));
        return 0;
}

static int mount_dispatch(struct mount_ctx *c)
{
        const char *type = c->m->type ? c->m->type : "";

        if (mount_flags_is_bind(c->m, &c->mf))
                return mount_bind(c);
        if (STREQ(type, "proc") || STREQ(type, "sysfs"))
                return mount_kernel_fs(c);
        if (STREQ(type, "tmpfs"))
                return mount_tmpfs(c);
        if (STREQ(type, "cgroup"))
                return mount_cgroup(c);
        return mount_other(c);
}

int mount_entry(int root_fd, const struct oci_spec *spec, size_t index, bool in_userns,
                struct errmsg *err)
{
        const struct oci_mount *m = &spec->mounts[index];
        struct mount_ctx c = {
                .root_fd = root_fd,
                .spec = spec,
                .m = m,
                .in_userns = in_userns,
                .err = err,
        };
        char buf[PROC_FD_PATH_MAX], prefix[PATH_MAX];
        ssize_t n;
        int r;

        if (!m->destination || m->destination[0] != '/')
                return errmsg_set(err, -EINVAL, "mounts[%zu].destination: not an absolute path",
                                  index);
        n = readlink(proc_fd_path(root_fd, buf), prefix, sizeof(prefix) - 1);
        if (n < 0)
                return errmsg_set(err, -errno, "mounts[%zu] (%s): locate rootfs: %s", index,
                                  m->destination, strerror(errno));
        prefix[n] = '\0';
        c.root_prefix = prefix;
        mount_flags_parse(m->options, &c.mf);
        r = mount_dispatch(&c);
        if (r >= 0)
                r = mount_apply_after(&c);
        mount_flags_release(&c.mf);
        if (r < 0)
                return errmsg_prefix(err, r, "mounts[%zu] (%s)", index, m->destination);
        return 0;
}

bool mount_is_bind(const struct oci_mount *m)
{
        struct mount_flags mf;
        bool is_bind;

        mount_flags_parse(m->options, &mf);
        is_bind = mount_flags_is_bind(m, &mf);
        mount_flags_release(&mf);
        return is_bind;
}

int mount_entry_finish(int root_fd, const struct oci_spec *spec, size_t index, struct errmsg *err)
{
        const struct oci_mount *m = &spec->mounts[index];
        _cleanup_close_ int fd = -EBADF;
        char buf[PROC_FD_PATH_MAX];
        struct mount_flags mf;
        unsigned long flags;
        bool late;
        int r;

        mount_flags_parse(m->options, &mf);
        flags = mf.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
        late = (mf.flags & MS_RDONLY) && !mount_flags_is_bind(m, &mf) &&
               (STREQ_PTR(m->type, "tmpfs") || path_equal(m->destination, "/dev"));
        mount_flags_release(&mf);
        if (!late)
                return 0;
        r = root_path_open(root_fd, m->destination, 0, &fd);
        if (r >= 0)
                r = remount_keep_locked(mount_target(fd, m->destination, buf), flags);
        if (r < 0)
                return errmsg_set(err, r, "mounts[%zu] (%s): remount read-only: %s", index,
                                  m->destination, strerror(-r));
        return 0;
}

const char *mount_target(int fd, const char *path, char buf[static PROC_FD_PATH_MAX])
{
        if (access("/proc/self/fd", F_OK) < 0)
                return path;
        return proc_fd_path(fd, buf);
}
