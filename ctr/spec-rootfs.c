/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /etc/passwd and /etc/group of a container's root filesystem, which oci.WithUser and
 * WithAdditionalGIDs need. ctr mounts the snapshot on a temporary directory of the host to
 * read them; berth-ctr makes a detached read-only mount instead (fsopen + fsmount: it is never
 * attached anywhere, so nothing can be left mounted or visible), or opens the directory of a
 * bind mount, and reads both files relative to it with openat2(RESOLVE_IN_ROOT), so that
 * symlinks in the image resolve inside it.
 */
#include "ctr/spec-rootfs.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/strv.h"

#define ROOTFS_FILE_MAX (4u << 20)

static int fsconfig_(int fd, unsigned cmd, const char *key, const char *value)
{
        return (int) syscall(SYS_fsconfig, fd, cmd, key, value, 0);
}

static bool is_bind(const Containerd__Types__Mount *m)
{
        if (STREQ_PTR(m->type, "bind") || STREQ_PTR(m->type, "rbind"))
                return true;
        for (size_t i = 0; i < m->n_options; i++)
                if (STREQ(m->options[i], "bind") || STREQ(m->options[i], "rbind"))
                        return true;
        return false;
}

/* A detached read-only mount of m (tryReadonlyMounts: "ro" added), as an fd. */
static int mount_detached(const Containerd__Types__Mount *m, int *ret_fd, struct errmsg *err)
{
        _cleanup_close_ int fs = -EBADF;
        int mnt;

        fs = (int) syscall(SYS_fsopen, m->type, FSOPEN_CLOEXEC);
        if (fs < 0)
                return errmsg_set(err, -errno, "mount %s: fsopen: %m", m->type);
        if (m->source && *m->source && fsconfig_(fs, FSCONFIG_SET_STRING, "source", m->source) < 0)
                return errmsg_set(err, -errno, "mount %s: source %s: %m", m->type, m->source);
        for (size_t i = 0; i < m->n_options; i++) {
                _cleanup_free_ char *key = strdup(m->options[i]);
                char *eq = key ? strchr(key, '=') : NULL;
                int r;

                if (!key)
                        return -ENOMEM;
                if (eq) {
                        *eq = '\0';
                        r = fsconfig_(fs, FSCONFIG_SET_STRING, key, eq + 1);
                } else
                        r = fsconfig_(fs, FSCONFIG_SET_FLAG, key, NULL);
                if (r < 0)
                        return errmsg_set(err, -errno, "mount %s: option %s: %m", m->type,
                                          m->options[i]);
        }
        if (fsconfig_(fs, FSCONFIG_SET_FLAG, "ro", NULL) < 0 ||
            fsconfig_(fs, FSCONFIG_CMD_CREATE, NULL, NULL) < 0)
                return errmsg_set(err, -errno, "mount %s: %m", m->type);
        mnt = (int) syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
        if (mnt < 0)
                return errmsg_set(err, -errno, "mount %s: fsmount: %m", m->type);
        *ret_fd = mnt;
        return 0;
}

/* path under root_fd resolved as in a chroot; NULL into *ret when it does not exist. */
static int read_in_root(int root_fd, const char *path, char **ret, struct errmsg *err)
{
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int fd = -EBADF;
        size_t len;
        int r;

        fd = (int) syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
                *ret = NULL;
                return 0;
        }
        if (fd < 0)
                return errmsg_set(err, -errno, "open /%s: %m", path);
        r = read_fd_all(fd, ROOTFS_FILE_MAX, ret, &len);
        if (r < 0)
                return errmsg_set(err, r, "read /%s: %s", path, strerror(-r));
        return 0;
}

static int read_files(int root_fd, struct spec_rootfs *ret, struct errmsg *err)
{
        struct spec_rootfs fs = {0};
        int r;

        r = read_in_root(root_fd, "etc/passwd", &fs.passwd, err);
        if (r >= 0)
                r = read_in_root(root_fd, "etc/group", &fs.group, err);
        if (r < 0) {
                spec_rootfs_release(&fs);
                return r;
        }
        *ret = fs;
        return 0;
}

int spec_rootfs_read_dir(const char *path, struct spec_rootfs *ret, struct errmsg *err)
{
        _cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return errmsg_set(err, -errno, "open %s: %m", path);
        return read_files(fd, ret, err);
}

int spec_rootfs_read_mounts(Containerd__Types__Mount *const *mounts, size_t n,
                            struct spec_rootfs *ret, struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (n != 1)
                return errmsg_set(err, -EINVAL, "rootfs of %zu mounts: not supported", n);
        if (is_bind(mounts[0]))
                return spec_rootfs_read_dir(mounts[0]->source, ret, err);
        r = mount_detached(mounts[0], &fd, err);
        if (r < 0)
                return r;
        return read_files(fd, ret, err);
}
