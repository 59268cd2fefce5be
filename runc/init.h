/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The processes berth-runc forks on the way to a container (private to create.c and
 * exec.c). The runtime never re-executes itself for this: the children are plain forks.
 *
 *   parent (berth-runc create|run|exec)
 *     └─ stage 1: joins namespaces given by path, unshares the user namespace (the parent
 *        writes its id maps), unshares the other new namespaces, then clones
 *        (CLONE_PARENT) the container process, reports its pid and exits
 *     └─ container process: pid 1 of a new pid namespace (create) or a new process in
 *        the container's namespaces (exec); sets up and execs the user's program
 *
 * Messages travel on a SOCK_SEQPACKET pair (sync.h). Children report failures with
 * SYNC_ERROR and exit; they never return.
 */
#pragma once

#include <sys/types.h>

#include "runc/cgroup.h"
#include "runc/spec.h"

struct init_ctx {
        const struct oci_spec *spec;
        const struct oci_process *process;
        const char *id;
        const char *rootfs; /* absolute; NULL for exec */
        const char *bundle; /* absolute */
        const char *annotations_json;
        pid_t host_pid;           /* the container process as the runtime sees it */
        int sync_fd;              /* the child's end */
        int fifo_fd;              /* exec.fifo opened O_RDWR; -EBADF for exec */
        int console_fd;           /* console socket; -EBADF without a terminal */
        int ns_fds[_NS_TYPE_MAX]; /* namespaces to join (setns), -EBADF if none */
        int new_ns_flags;         /* CLONE_NEW* to create */
        unsigned preserve_fds;
        bool no_new_keyring;
        bool no_pivot;
        bool is_exec;
};

void init_ctx_init(struct init_ctx *c);
/*
 * Forks stage 1 with c, moves it into cg and lets it go. The parent's copies of the fds that
 * belong to the children (sync end, fifo, console) are closed. *ret_sync_fd is the parent's
 * end of the sync socket (the caller's); *ret_stage1 is set as soon as the fork succeeded.
 */
int init_spawn(struct init_ctx *c, struct cgroup *cg, int *ret_sync_fd, pid_t *ret_stage1,
               struct errmsg *err);
/* Stage 1 (see above). Never returns. */
_noreturn_ void init_stage1(struct init_ctx *c);
