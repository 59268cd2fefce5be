/* SPDX-License-Identifier: Apache-2.0 */
/* Mounting the task's root filesystem from containerd's mount list (see mount.h). */
#include "shim/mount.h"

#include <sys/mount.h>
#include <sys/wait.h>

#include "lib/strv.h"
#include "lib/xalloc.h"

struct mount_flag {
        const char *name;
        bool clear;
        unsigned long flag;
};

/* The fstab words containerd's mount package turns into flags (mount_linux.go parseMountOptions).
 */
static const struct mount_flag mount_flags[] = {
        {"async", true, MS_SYNCHRONOUS},
        {"atime", true, MS_NOATIME},
        {"bind", false, MS_BIND},
        {"defaults", false, 0},
        {"dev", true, MS_NODEV},
        {"diratime", true, MS_NODIRATIME},
        {"dirsync", false, MS_DIRSYNC},
        {"exec", true, MS_NOEXEC},
        {"mand", false, MS_MANDLOCK},
        {"noatime", false, MS_NOATIME},
        {"nodev", false, MS_NODEV},
        {"nodiratime", false, MS_NODIRATIME},
        {"noexec", false, MS_NOEXEC},
        {"nomand", true, MS_MANDLOCK},
        {"norelatime", true, MS_RELATIME},
        {"nostrictatime", true, MS_STRICTATIME},
        {"nosuid", false, MS_NOSUID},
        {"rbind", false, MS_BIND | MS_REC},
        {"relatime", false, MS_RELATIME},
        {"remount", false, MS_REMOUNT},
        {"ro", false, MS_RDONLY},
        {"rw", true, MS_RDONLY},
        {"strictatime", false, MS_STRICTATIME},
        {"suid", true, MS_NOSUID},
        {"sync", false, MS_SYNCHRONOUS},
};

static const struct mount_flag *mount_flag_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(mount_flags); i++)
                if (STREQ(mount_flags[i].name, name))
                        return &mount_flags[i];
        return NULL;
}

int rootfs_mount_options(char *const *options, size_t n_options, unsigned long *ret_flags,
                         char **ret_data)
{
        _cleanup_free_ char *data = NULL;
        unsigned long flags = 0;
        size_t len = 0;

        for (size_t i = 0; i < n_options; i++) {
                const struct mount_flag *f = mount_flag_find(options[i]);
                size_t n = strlen(options[i]);

                if (f) {
                        flags = f->clear ? flags & ~f->flag : flags | f->flag;
                        continue;
                }
                if (len + n + 1 > ROOTFS_MOUNT_DATA_MAX)
                        return -E2BIG;
                data = xrealloc(data, len + n + 2);
                if (len > 0)
                        data[len++] = ',';
                memcpy(data + len, options[i], n + 1);
                len += n;
        }
        *ret_flags = flags;
        *ret_data = TAKE_PTR(data);
        return 0;
}

/* Length of the longest common prefix of the dirs that ends with a '/'. */
static size_t common_dir_len(char *const *dirs)
{
        size_t len = strlen(dirs[0]);

        for (char *const *d = dirs + 1; *d; d++) {
                size_t i = 0;

                while (i < len && (*d)[i] == dirs[0][i])
                        i++;
                len = i;
        }
        while (len > 0 && dirs[0][len - 1] != '/')
                len--;
        return len;
}

/*
 * options with every lowerdir made relative to their common parent directory, which goes to
 * *ret_dir. -E2BIG if there is no lowerdir to shorten.
 */
static int compact_lowerdirs(char *const *options, size_t n, char ***ret, char **ret_dir)
{
        _cleanup_strv_ char **out = NULL, **dirs = NULL;
        _cleanup_free_ char *lower = NULL, *joined = NULL;
        size_t prefix;

        for (size_t i = 0; i < n; i++)
                if (strncmp(options[i], "lowerdir=", 9) == 0)
                        lower = xstrdup(options[i] + 9);
        if (!lower || lower[0] != '/')
                return -E2BIG;
        for (char *save = NULL, *d = strtok_r(lower, ":", &save); d; d = strtok_r(NULL, ":", &save))
                (void) strv_push(&dirs, d);
        prefix = common_dir_len(dirs);
        if (prefix <= 1)
                return -E2BIG;
        joined = xstrdup("lowerdir=");
        for (char **d = dirs; *d; d++) {
                char *next = xasprintf("%s%s%s", joined, d == dirs ? "" : ":", *d + prefix);

                free(joined);
                joined = next;
        }
        for (size_t i = 0; i < n; i++)
                strv_push(&out, strncmp(options[i], "lowerdir=", 9) == 0 ? joined : options[i]);
        *ret_dir = xstrndup(dirs[0], prefix);
        *ret = TAKE_PTR(out);
        return 0;
}

/*
 * An overlay with more layers than one page of options holds: like containerd, mount from a
 * child whose working directory is the layers' common parent, with relative lowerdirs.
 */
static int mount_overlay_compact(const char *target, const struct rootfs_mount *m,
                                 struct errmsg *err)
{
        _cleanup_strv_ char **options = NULL;
        _cleanup_free_ char *dir = NULL, *data = NULL, *abs = NULL;
        unsigned long flags;
        int status, r;
        pid_t pid;

        r = compact_lowerdirs(m->options, m->n_options, &options, &dir);
        if (r >= 0)
                r = rootfs_mount_options(options, strv_length(options), &flags, &data);
        if (r < 0)
                return errmsg_set(err, r, "mount overlay on %s: options longer than %d bytes",
                                  target, ROOTFS_MOUNT_DATA_MAX);
        abs = realpath(target, NULL); /* the child changes directory */
        if (!abs)
                return errmsg_set(err, -errno, "mount overlay on %s: %s", target, strerror(errno));
        pid = fork();
        if (pid < 0)
                return errmsg_set(err, -errno, "fork: %s", strerror(errno));
        if (pid == 0)
                _exit(chdir(dir) == 0 && mount("overlay", abs, "overlay", flags, data) == 0
                              ? 0
                              : errno);
        if (waitpid(pid, &status, 0) < 0)
                return errmsg_set(err, -errno, "wait for the mount helper: %s", strerror(errno));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return errmsg_set(err, WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO,
                                  "mount overlay on %s (layers under %s): %s", target, dir,
                                  strerror(WIFEXITED(status) ? WEXITSTATUS(status) : EIO));
        return 0;
}

static int mount_one(const char *target, const struct rootfs_mount *m, struct errmsg *err)
{
        _cleanup_free_ char *data = NULL;
        unsigned long flags;
        bool is_bind;
        int r;

        r = rootfs_mount_options(m->options, m->n_options, &flags, &data);
        if (r == -E2BIG && STREQ(m->type, "overlay"))
                return mount_overlay_compact(target, m, err);
        if (r < 0)
                return errmsg_set(err, r, "mount %s on %s: options longer than %d bytes", m->type,
                                  target, ROOTFS_MOUNT_DATA_MAX);
        if (STREQ(m->type, "bind"))
                flags |= MS_BIND;
        is_bind = flags & MS_BIND;
        /* mount(2) ignores MS_RDONLY on a new bind mount: remount it read-only below. */
        if (mount(m->source, target, m->type, flags & ~(is_bind ? MS_RDONLY : 0), data) < 0)
                return errmsg_set(err, -errno, "mount %s %s on %s (%s): %s", m->type, m->source,
                                  target, data ? data : "", strerror(errno));
        if (is_bind && (flags & MS_RDONLY) &&
            mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | (flags & ~MS_REC), NULL) < 0) {
                r = -errno;
                (void) umount2(target, MNT_DETACH);
                return errmsg_set(err, r, "remount %s read-only: %s", target, strerror(-r));
        }
        return 0;
}

int rootfs_mount_all(const char *target, const struct rootfs_mount *mounts, size_t n_mounts,
                     struct errmsg *err)
{
        for (size_t i = 0; i < n_mounts; i++) {
                int r = mount_one(target, &mounts[i], err);

                if (r < 0) {
                        (void) rootfs_unmount_all(target);
                        return r;
                }
        }
        return 0;
}

int rootfs_unmount_all(const char *target)
{
        /* Stacked mounts come off one per call; stop when nothing is mounted there. */
        for (int i = 0; i < 64; i++)
                if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                        return errno == EINVAL || errno == ENOENT ? 0 : -errno;
        return -EBUSY;
}
