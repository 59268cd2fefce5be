/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's /dev: device nodes and the symlinks every Linux program expects
 * (config-linux.md "Default Devices"). Paths are resolved inside the rootfs with
 * root_path_open(), so an image whose /dev is a symlink to the host's /dev still gets its
 * nodes inside the rootfs. The mode is exactly fileMode: umask is cleared around mknod(2),
 * as runc does.
 */
#include "runc/devices.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/errmsg.h"
#include "lib/xalloc.h"
#include "runc/mount.h"

static const struct {
        const char *path;
        unsigned major, minor;
} default_devices[] = {
        {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
        {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static const struct {
        const char *name, *target;
} dev_symlinks[] = {
        {"fd", "/proc/self/fd"},
        {"stdin", "/proc/self/fd/0"},
        {"stdout", "/proc/self/fd/1"},
        {"stderr", "/proc/self/fd/2"},
};

static int device_type_mode(const struct oci_device *d, mode_t *ret)
{
        switch (d->type) {
        case 'c':
        case 'u':
                *ret = S_IFCHR;
                return 0;
        case 'b':
                *ret = S_IFBLK;
                return 0;
        case 'p':
                *ret = S_IFIFO;
                return 0;
        default:
                return -EINVAL;
        }
}

static int device_mknod(int dir_fd, const char *name, const struct oci_device *d, mode_t type)
{
        mode_t mode = d->has_file_mode ? d->file_mode & 07777 : 0666;
        dev_t dev = type == S_IFIFO ? 0 : makedev(d->major, d->minor);
        mode_t old_umask;
        int r = 0;

        old_umask = umask(0);
        if (mknodat(dir_fd, name, type | mode, dev) < 0)
                r = -errno;
        (void) umask(old_umask);
        if (r == -EEXIST)
                return 0;
        if (r < 0)
                return r;
        if (fchownat(dir_fd, name, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0,
                     AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

/* An empty file with the host's node of the same path bound onto it. */
static int device_bind(int dir_fd, const char *name, const struct oci_device *d)
{
        _cleanup_close_ int fd = -EBADF;
        char buf[PROC_FD_PATH_MAX];
        struct stat st;

        if (mknodat(dir_fd, name, S_IFREG, 0) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISLNK(st.st_mode))
                return -ELOOP;
        if (mount(d->path, proc_fd_path(fd, buf), NULL, MS_BIND, NULL) < 0)
                return -errno;
        return 0;
}

static int device_create(int root_fd, const struct oci_device *d, bool in_userns,
                         struct errmsg *err)
{
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        const char *slash = d->path ? strrchr(d->path, '/') : NULL;
        const char *name = slash ? slash + 1 : "";
        mode_t type;
        int r;

        if (!slash || d->path[0] != '/' || !*name || STREQ(name, ".") || STREQ(name, ".."))
                return errmsg_set(err, -EINVAL, "path: not an absolute path to a file");
        if (device_type_mode(d, &type) < 0)
                return errmsg_set(err, -EINVAL, "type: unknown device type '%c'", d->type);
        if (d->major < 0 || d->major > UINT32_MAX || d->minor < 0 || d->minor > UINT32_MAX)
                return errmsg_set(err, -EINVAL, "major/minor out of range");
        parent = xstrndup(d->path, (size_t) (slash - d->path));
        r = root_path_open(root_fd, *parent ? parent : "/", ROOT_PATH_MKDIR, &dir_fd);
        if (r < 0)
                return errmsg_set(err, r, "create parent directory: %s", strerror(-r));
        if (!in_userns) {
                r = device_mknod(dir_fd, name, d, type);
                if (r != -EPERM)
                        return r < 0 ? errmsg_set(err, r, "mknod: %s", strerror(-r)) : 0;
        }
        r = device_bind(dir_fd, name, d);
        if (r < 0)
                return errmsg_set(err, r, "bind mount from the host: %s", strerror(-r));
        return 0;
}

static bool spec_has_device(const struct oci_spec *spec, const char *path)
{
        for (size_t i = 0; i < spec->linux.n_devices; i++)
                if (spec->linux.devices[i].path && path_equal(spec->linux.devices[i].path, path))
                        return true;
        return false;
}

static int devices_create_all(int root_fd, const struct oci_spec *spec, bool in_userns,
                              struct errmsg *err)
{
        int r;

        for (size_t i = 0; i < ELEMENTSOF(default_devices); i++) {
                struct oci_device d = {
                        .path = (char *) default_devices[i].path,
                        .type = 'c',
                        .major = default_devices[i].major,
                        .minor = default_devices[i].minor,
                };

                if (spec_has_device(spec, d.path))
                        continue;
                r = device_create(root_fd, &d, in_userns, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "default device %s", d.path);
        }
        for (size_t i = 0; i < spec->linux.n_devices; i++) {
                const struct oci_device *d = &spec->linux.devices[i];

                /* /dev/ptmx is devpts's, linked below (runc skips it too) */
                if (d->path && path_equal(d->path, "/dev/ptmx"))
                        continue;
                r = device_create(root_fd, d, in_userns, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "linux.devices[%zu] (%s)", i,
                                             d->path ? d->path : "");
        }
        return 0;
}

static int devices_symlinks(int dev_fd, struct errmsg *err)
{
        for (size_t i = 0; i < ELEMENTSOF(dev_symlinks); i++)
                if (symlinkat(dev_symlinks[i].target, dev_fd, dev_symlinks[i].name) < 0 &&
                    errno != EEXIST)
                        return errmsg_set(err, -errno, "symlink /dev/%s: %s", dev_symlinks[i].name,
                                          strerror(errno));
        /* checked on the host, before pivot_root, as runc does */
        if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev_fd, "core") < 0 &&
            errno != EEXIST)
                return errmsg_set(err, -errno, "symlink /dev/core: %s", strerror(errno));
        /* the ptmx of the container's devpts instance, not a node of the host's */
        if (unlinkat(dev_fd, "ptmx", 0) < 0 && errno != ENOENT)
                return errmsg_set(err, -errno, "remove /dev/ptmx: %s", strerror(errno));
        if (symlinkat("pts/ptmx", dev_fd, "ptmx") < 0)
                return errmsg_set(err, -errno, "symlink /dev/ptmx: %s", strerror(errno));
        return 0;
}

int devices_setup(int root_fd, const struct oci_spec *spec, bool in_userns, struct errmsg *err)
{
        _cleanup_close_ int dev_fd = -EBADF;
        int r;

        r = devices_create_all(root_fd, spec, in_userns, err);
        if (r < 0)
                return r;
        r = root_path_open(root_fd, "/dev", ROOT_PATH_MKDIR, &dev_fd);
        if (r < 0)
                return errmsg_set(err, r, "open /dev: %s", strerror(-r));
        return devices_symlinks(dev_fd, err);
}
