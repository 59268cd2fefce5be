/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's root filesystem, in the order runc 1.1.5 sets it up (see rootfs.h):
 * propagation of "/", the rootfs bound onto itself, each mounts[] entry (mount.c), /dev
 * (devices.c), pivot_root, then maskedPaths, readonlyPaths and the read-only remounts.
 * Everything happens in the container's own mount namespace, which disappears with its
 * last process; a failure therefore needs no rollback of the mounts made so far.
 */
#include "runc/rootfs.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#include "lib/errmsg.h"
#include "lib/xalloc.h"
#include "runc/devices.h"
#include "runc/mount.h"

struct parent_mount {
        const char *rootfs;
        char *mount_point;
        bool is_shared;
};

static int parent_mount_find(const struct mountinfo_entry *e, void *userdata)
{
        struct parent_mount *p = userdata;

        if (!path_startswith(p->rootfs, e->mount_point))
                return 0;
        /* the deepest mount point wins; of equal ones the later line, the one on top */
        if (p->mount_point && strlen(e->mount_point) < strlen(p->mount_point))
                return 0;
        free(p->mount_point);
        p->mount_point = xstrdup(e->mount_point);
        p->is_shared = strstr(e->optional, "shared:") != NULL;
        return 0;
}

/*
 * pivot_root(2) refuses a shared parent mount, and a shared parent would also carry the
 * bind of the rootfs back to the host: make it private (runc's rootfsParentMountPrivate).
 */
static int parent_mount_make_private(const char *rootfs, struct errmsg *err)
{
        struct parent_mount p = {.rootfs = rootfs};
        int r;

        r = mountinfo_foreach(parent_mount_find, &p);
        if (r >= 0 && p.is_shared && mount(NULL, p.mount_point, NULL, MS_PRIVATE, NULL) < 0)
                r = errmsg_set(err, -errno, "make %s private: %s", p.mount_point, strerror(errno));
        else if (r < 0)
                r = errmsg_set(err, r, "read mountinfo: %s", strerror(-r));
        free(p.mount_point);
        return r;
}

static int rootfs_prepare(const struct oci_spec *spec, const char *rootfs, struct errmsg *err)
{
        unsigned long propagation = spec->linux.rootfs_propagation;
        int r;

        if (propagation == 0)
                propagation = MS_SLAVE | MS_REC;
        if (mount(NULL, "/", NULL, propagation, NULL) < 0)
                return errmsg_set(err, -errno, "set propagation of /: %s", strerror(errno));
        r = parent_mount_make_private(rootfs, err);
        if (r < 0)
                return r;
        if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return errmsg_set(err, -errno, "bind %s onto itself: %s", rootfs, strerror(errno));
        return 0;
}

/* runc's needsSetupDev: /dev is populated unless it is bound from somewhere. */
static bool rootfs_needs_dev_setup(const struct oci_spec *spec)
{
        for (size_t i = 0; i < spec->n_mounts; i++)
                if (spec->mounts[i].destination &&
                    path_equal(spec->mounts[i].destination, "/dev") &&
                    mount_is_bind(&spec->mounts[i]))
                        return false;
        return true;
}

int rootfs_setup(const struct oci_spec *spec, const char *rootfs, bool in_userns,
                 struct errmsg *err)
{
        _cleanup_free_ char *real = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        real = realpath(rootfs, NULL);
        if (!real)
                return errmsg_set(err, -errno, "rootfs %s: %s", rootfs, strerror(errno));
        r = rootfs_prepare(spec, real, err);
        if (r < 0)
                return r;
        /* opened after the bind, so that it is the bind's root */
        root_fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return errmsg_set(err, -errno, "open rootfs %s: %s", real, strerror(errno));
        for (size_t i = 0; i < spec->n_mounts; i++) {
                r = mount_entry(root_fd, spec, i, in_userns, err);
                if (r < 0)
                        return r;
        }
        if (rootfs_needs_dev_setup(spec))
                return devices_setup(root_fd, spec, in_userns, err);
        return 0;
}

/*
 * --no-pivot (for roots pivot_root refuses, such as a ramdisk): move the rootfs mount over
 * "/" and chroot into it. Weaker than pivot_root, as in runc: the host's mounts stay in the
 * namespace underneath.
 */
static int move_root(const char *rootfs, struct errmsg *err)
{
        if (chdir(rootfs) < 0)
                return errmsg_set(err, -errno, "chdir %s: %s", rootfs, strerror(errno));
        if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
                return errmsg_set(err, -errno, "move %s to /: %s", rootfs, strerror(errno));
        if (chroot(".") < 0)
                return errmsg_set(err, -errno, "chroot %s: %s", rootfs, strerror(errno));
        if (chdir("/") < 0)
                return errmsg_set(err, -errno, "chdir /: %s", strerror(errno));
        return 0;
}

int rootfs_pivot(const char *rootfs, bool no_pivot, struct errmsg *err)
{
        _cleanup_close_ int old_root = -EBADF, new_root = -EBADF;

        if (no_pivot)
                return move_root(rootfs, err);
        old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (old_root < 0)
                return errmsg_set(err, -errno, "open /: %s", strerror(errno));
        new_root = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (new_root < 0)
                return errmsg_set(err, -errno, "open %s: %s", rootfs, strerror(errno));
        if (fchdir(new_root) < 0)
                return errmsg_set(err, -errno, "chdir %s: %s", rootfs, strerror(errno));
        /*
         * pivot_root(".", "."): the old root ends up mounted on top of the new one, at "/",
         * so no directory for it is needed inside the rootfs (which may be read-only).
         */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return errmsg_set(err, -errno, "pivot_root %s: %s", rootfs, strerror(errno));
        if (fchdir(old_root) < 0)
                return errmsg_set(err, -errno, "chdir to the old root: %s", strerror(errno));
        /* rslave first, so that the unmount below cannot propagate to the host */
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return errmsg_set(err, -errno, "make the old root rslave: %s", strerror(errno));
        if (umount2(".", MNT_DETACH) < 0)
                return errmsg_set(err, -errno, "detach the old root: %s", strerror(errno));
        if (chdir("/") < 0)
                return errmsg_set(err, -errno, "chdir /: %s", strerror(errno));
        return 0;
}

/* readonlyPaths: a recursive bind onto itself, remounted read-only (runc's readonlyPath). */
static int readonly_path(int root_fd, const char *path, struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF, top = -EBADF;
        char buf[PROC_FD_PATH_MAX], buf2[PROC_FD_PATH_MAX];
        const char *target;
        struct statvfs sv;
        int r;

        r = root_path_open(root_fd, path, 0, &fd);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return errmsg_set(err, r, "resolve: %s", strerror(-r));
        target = mount_target(fd, path, buf);
        if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
                return errmsg_set(err, -errno, "bind onto itself: %s", strerror(errno));
        r = root_path_open(root_fd, path, 0, &top);
        if (r < 0)
                return errmsg_set(err, r, "resolve: %s", strerror(-r));
        target = mount_target(top, path, buf2);
        /* ST_NOSUID, ST_NODEV and ST_NOEXEC have the values of their MS_ twins */
        if (statvfs(target, &sv) < 0)
                return errmsg_set(err, -errno, "statvfs: %s", strerror(errno));
        r = remount_keep_locked(target,
                                MS_RDONLY | (sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC)));
        if (r < 0)
                return errmsg_set(err, r, "remount read-only: %s", strerror(-r));
        return 0;
}

/* maskedPaths: /dev/null over a file, an empty read-only tmpfs over a directory (runc). */
static int mask_path(int root_fd, const char *path, struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;
        char buf[PROC_FD_PATH_MAX];
        const char *target;
        struct stat st;
        int r;

        r = root_path_open(root_fd, path, 0, &fd);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return errmsg_set(err, r, "resolve: %s", strerror(-r));
        if (fstat(fd, &st) < 0)
                return errmsg_set(err, -errno, "stat: %s", strerror(errno));
        target = mount_target(fd, path, buf);
        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", target, "tmpfs", MS_RDONLY, NULL) < 0)
                        return errmsg_set(err, -errno, "mount read-only tmpfs: %s",
                                          strerror(errno));
        } else if (mount("/dev/null", target, NULL, MS_BIND, NULL) < 0) {
                return errmsg_set(err, -errno, "bind /dev/null: %s", strerror(errno));
        }
        return 0;
}

static int rootfs_finish_paths(int root_fd, const struct oci_spec *spec, struct errmsg *err)
{
        size_t i = 0;
        int r;

        /* runc's order: readonlyPaths, then maskedPaths */
        strv_foreach (p, spec->linux.readonly_paths) {
                r = readonly_path(root_fd, *p, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "readonlyPaths[%zu] (%s)", i, *p);
                i++;
        }
        i = 0;
        strv_foreach (p, spec->linux.masked_paths) {
                r = mask_path(root_fd, *p, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "maskedPaths[%zu] (%s)", i, *p);
                i++;
        }
        return 0;
}

int rootfs_finish(const struct oci_spec *spec, struct errmsg *err)
{
        _cleanup_close_ int root_fd = -EBADF;
        unsigned long propagation = spec->linux.rootfs_propagation;
        int r;

        /* runc applies rootfsPropagation to the new "/" again once it is "/" */
        if (propagation != 0 && mount(NULL, "/", NULL, propagation, NULL) < 0)
                return errmsg_set(err, -errno, "set propagation of /: %s", strerror(errno));
        root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return errmsg_set(err, -errno, "open /: %s", strerror(errno));
        r = rootfs_finish_paths(root_fd, spec, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < spec->n_mounts; i++) {
                r = mount_entry_finish(root_fd, spec, i, err);
                if (r < 0)
                        return r;
        }
        if (!spec->root_readonly)
                return 0;
        r = remount_keep_locked("/", MS_RDONLY);
        if (r < 0)
                return errmsg_set(err, r, "remount / read-only: %s", strerror(-r));
        return 0;
}
