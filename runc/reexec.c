/* SPDX-License-Identifier: Apache-2.0 */
/* Runs the runtime from a read-only detached mount of itself (see reexec.h). */
#include "runc/reexec.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

extern char **environ;

static bool exe_is_read_only(void)
{
        _cleanup_close_ int fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
        struct statvfs st;

        return fd >= 0 && fstatvfs(fd, &st) == 0 && (st.f_flag & ST_RDONLY);
}

int runtime_binary_protect(char **argv, struct errmsg *err)
{
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
        _cleanup_close_ int fd = -EBADF;

        if (exe_is_read_only())
                return 0;
        fd = (int) syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (fd < 0)
                return errmsg_set(err, -errno, "clone a mount of the runtime binary: %s",
                                  strerror(errno));
        if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return errmsg_set(err, -errno, "make the runtime binary's mount read-only: %s",
                                  strerror(errno));
        syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
        return errmsg_set(err, -errno, "re-execute the runtime read-only: %s", strerror(errno));
}
