/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The task's root filesystem: containerd hands the shim the snapshot's mounts (overlay, or a
 * bind mount of a directory) and the shim mounts them on <bundle>/rootfs before the runtime
 * runs, and unmounts them when the task is deleted (runtime/v2/README.md, "Root
 * Filesystems").
 */
#pragma once

#include "lib/errmsg.h"

/* A mount as containerd.types.Mount carries it; strings borrowed. */
struct rootfs_mount {
        const char *type;
        const char *source;
        char *const *options; /* NULL-terminated or NULL */
        size_t n_options;
};

/* Longest data string mount(2) accepts (one page). */
#define ROOTFS_MOUNT_DATA_MAX 4095

/*
 * Splits options into mount(2) flags and the filesystem data string (the caller's, or NULL
 * when empty). -E2BIG when the data exceeds ROOTFS_MOUNT_DATA_MAX.
 */
int rootfs_mount_options(char *const *options, size_t n_options, unsigned long *ret_flags,
                         char **ret_data);

/*
 * Mounts each of mounts on target in order (types overlay, bind and others mount(2) knows;
 * "bind"/"rbind" options or type "bind" make bind mounts, remounted read-only for "ro").
 * An overlay whose options exceed a page (many layers) is mounted like containerd does: from
 * a child in the layers' common parent directory, with relative lowerdirs.
 * On failure nothing stays mounted and err names the mount.
 */
int rootfs_mount_all(const char *target, const struct rootfs_mount *mounts, size_t n_mounts,
                     struct errmsg *err);

/* Unmounts everything mounted on target (lazily, until nothing is left). 0 or -errno. */
int rootfs_unmount_all(const char *target);
