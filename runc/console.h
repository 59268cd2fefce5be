/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.terminal: a new pty from the container's /dev/ptmx, its master sent over the
 * --console-socket with SCM_RIGHTS (runc docs/terminals.md; the name is the payload), the
 * slave made the controlling terminal and stdio of the calling process.
 */
#pragma once

#include "runc/spec.h"

int console_setup(int console_sock, const struct oci_process *p, struct errmsg *err);
/* Connects to the unix socket at path; the fd is the caller's (O_CLOEXEC). */
int console_socket_connect(const char *path, int *ret_fd, struct errmsg *err);
/* Sends fd with SCM_RIGHTS and name as the payload. */
int send_fd(int sock, int fd, const char *name);
