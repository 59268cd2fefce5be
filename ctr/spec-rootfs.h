/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading /etc/passwd and /etc/group of a container's root filesystem for spec.h: from the
 * snapshot's mounts (mounted read-only and detached, never attached to the host's tree) or
 * from a directory (--rootfs). Needs CAP_SYS_ADMIN for the mount, as ctr does.
 */
#pragma once

#include "containerd/types/mount.pb-c.h"
#include "ctr/spec.h"

/* *ret's files are NULL when absent; release with spec_rootfs_release(). */
int spec_rootfs_read_mounts(Containerd__Types__Mount *const *mounts, size_t n,
                            struct spec_rootfs *ret, struct errmsg *err);
int spec_rootfs_read_dir(const char *path, struct spec_rootfs *ret, struct errmsg *err);
