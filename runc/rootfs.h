/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's root filesystem, set up by the container's init process inside its new
 * mount namespace (runtime-spec config.md "Root", "Mounts", config-linux.md "Devices",
 * "Default Devices", "rootfsPropagation", "maskedPaths", "readonlyPaths").
 *
 * Order, as runc does it:
 *   rootfs_setup()   propagation of "/", bind the rootfs onto itself, every mounts[] entry,
 *                    /dev contents (default devices + linux.devices, symlinks, /dev/pts/ptmx)
 *   (createContainer hooks run here, by the caller)
 *   rootfs_pivot()   pivot_root into the rootfs and detach the old root
 *   rootfs_finish()  maskedPaths, readonlyPaths, read-only root
 *
 * Destinations are resolved inside the rootfs without following symlinks out of it
 * (openat2 RESOLVE_IN_ROOT, with a fallback for kernels without it); a destination that is
 * or crosses a symlink pointing out of the rootfs is confined to it, never escapes.
 * These run in a forked child; they fill err and never log.
 */
#pragma once

#include "runc/spec.h"

/* in_userns: devices are bind-mounted from the host instead of mknod. */
int rootfs_setup(const struct oci_spec *spec, const char *rootfs, bool in_userns,
                 struct errmsg *err);
/* no_pivot: MS_MOVE + chroot instead of pivot_root (runc's --no-pivot). */
int rootfs_pivot(const char *rootfs, bool no_pivot, struct errmsg *err);
int rootfs_finish(const struct oci_spec *spec, struct errmsg *err);
