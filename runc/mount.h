/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to runc/: resolving paths inside a container's rootfs without ever leaving it, and
 * mounting one mounts[] entry onto such a path. Every mount targets "/proc/self/fd/N" of an
 * O_PATH fd obtained by the confined resolution, so the target cannot be swapped for a
 * symlink between the check and the mount(2) call.
 */
#pragma once

#include <sys/types.h>

#include "runc/spec.h"

#define ROOT_PATH_MKDIR    (1u << 0) /* create missing components as directories (0755) */
#define ROOT_PATH_MKFILE   (1u << 1) /* with MKDIR: a missing last component becomes a file */
#define ROOT_PATH_NOFOLLOW (1u << 2) /* refuse a symlink anywhere in the path: -ELOOP */

/*
 * Opens path (absolute or relative, taken relative to root_fd either way) as O_PATH|O_CLOEXEC
 * with root_fd acting as "/": ".." stops at it and absolute symlinks restart from it, so the
 * result is always inside root_fd's tree. Tries openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)
 * first and falls back to root_path_walk(). *ret_fd is the caller's; untouched on failure.
 */
int root_path_open(int root_fd, const char *path, unsigned flags, int *ret_fd);
/*
 * The fallback: a component-by-component walk with O_NOFOLLOW that expands each symlink
 * lexically inside the root (at most 40 of them, else -ELOOP). Exported for the tests.
 */
int root_path_walk(int root_fd, const char *path, unsigned flags, int *ret_fd);

/* "/proc/self/fd/N" for fd, written to buf, which is returned. */
#define PROC_FD_PATH_MAX 32
const char *proc_fd_path(int fd, char buf[static PROC_FD_PATH_MAX]);

/*
 * MS_REMOUNT|MS_BIND|flags on target (a mount's root). If the kernel refuses with -EPERM
 * because some flags are locked (a mount inherited from a more privileged mount namespace),
 * retries once with the target's nosuid/nodev/noexec/rdonly/atime flags added.
 */
int remount_keep_locked(const char *target, unsigned long flags);

/*
 * Mounts spec->mounts[index] inside the rootfs open (O_PATH) as root_fd, creating its
 * destination as needed. On failure err reads "mounts[3] (/data): mount bind /src: No such
 * file or directory". in_userns: sysfs falls back to a bind of the host's /sys.
 * MS_RDONLY is left off tmpfs and /dev mounts so that they can be filled first;
 * mount_entry_finish() applies it after pivot_root.
 */
int mount_entry(int root_fd, const struct oci_spec *spec, size_t index, bool in_userns,
                struct errmsg *err);
/* The late read-only remount of mounts[index] if it needs one, else nothing. */
int mount_entry_finish(int root_fd, const struct oci_spec *spec, size_t index, struct errmsg *err);
/* Is the entry a bind mount ("bind" type, or "bind"/"rbind" among its options)? */
bool mount_is_bind(const struct oci_mount *m);
/*
 * What to give mount(2) as the target for fd (from root_path_open of path): its procfd, or
 * path itself when there is no /proc/self/fd (after pivot_root into a container without a
 * /proc, where nothing outside the root can be reached through a path anyway).
 */
const char *mount_target(int fd, const char *path, char buf[static PROC_FD_PATH_MAX]);

/* One line of /proc/self/mountinfo; all strings borrowed for the callback's duration. */
struct mountinfo_entry {
        const char *mount_point; /* unescaped */
        const char *optional;    /* optional fields, e.g. "shared:1 master:2"; may be "" */
        const char *fstype;
        const char *super_opts;
};
typedef int (*mountinfo_fn)(const struct mountinfo_entry *e, void *userdata);
/* Calls fn for each line; a non-zero return of fn stops the walk and is returned. */
int mountinfo_foreach(mountinfo_fn fn, void *userdata);

/* Equal as paths after dropping repeated and trailing slashes ("/dev/" == "//dev"). */
bool path_equal(const char *a, const char *b);
/* If path is prefix or below it, the rest ("" or "/x/y"); else NULL. */
const char *path_startswith(const char *path, const char *prefix);
