/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Messages between berth-runc and the processes it forks on the way to a container
 * (a SOCK_SEQPACKET socketpair, one message per datagram). Used only between a parent and
 * its children of the same binary, so the layout is native.
 */
#pragma once

#include <sys/types.h>

#include "lib/errmsg.h"

enum sync_type {
        SYNC_GO = 1,      /* parent -> child: continue */
        SYNC_USERMAP_REQ, /* stage 1 -> parent: write uid/gid maps of pid in value */
        SYNC_PID,         /* stage 1 -> parent: value is the container process's pid */
        SYNC_HOOKS_REQ,   /* init -> parent: run prestart + createRuntime hooks now */
        SYNC_READY,       /* init -> parent: set up, waiting for start */
        SYNC_ERROR,       /* child -> parent: code + msg, the child exits after */
};

struct sync_msg {
        uint32_t type;
        int32_t value;
        int32_t code;
        char msg[512];
};

/* Creates the socketpair (both ends O_CLOEXEC). */
int sync_pair(int ret_fds[2]);
int sync_send(int fd, enum sync_type type, int value);
/* Sends err (code and message) as SYNC_ERROR. */
int sync_send_error(int fd, const struct errmsg *err);
/* Receives one message; -EPIPE on EOF (the peer exited or exec'd). */
int sync_recv(int fd, struct sync_msg *ret);
/*
 * Receives one message and checks its type. A SYNC_ERROR is copied into err and its code
 * returned; EOF or another type gives -EPROTO with a message naming what was expected.
 */
int sync_expect(int fd, enum sync_type type, struct sync_msg *ret, struct errmsg *err);
