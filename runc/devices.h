/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to runc/: populating the container's /dev (config-linux.md "Devices" and "Default
 * Devices"), as runc 1.1.5 does when /dev is not a bind mount.
 */
#pragma once

#include "runc/spec.h"

/*
 * In the rootfs open (O_PATH) as root_fd: the default devices (null, zero, full, random,
 * urandom, tty; a linux.devices entry of the same path replaces one), every linux.devices
 * entry, /dev/ptmx -> pts/ptmx, /dev/fd, /dev/std{in,out,err} and, if the host has
 * /proc/kcore, /dev/core. Nodes are made with mknod(2) with the exact fileMode, or, in a
 * user namespace (in_userns) or when mknod is refused, bind-mounted from the host's node
 * of the same path. An existing node is left alone. err names the entry:
 * "linux.devices[0] (/dev/fuse): mknod: Operation not permitted".
 */
int devices_setup(int root_fd, const struct oci_spec *spec, bool in_userns, struct errmsg *err);
