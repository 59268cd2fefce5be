/* SPDX-License-Identifier: Apache-2.0 */
/* Parent/child messages on a SOCK_SEQPACKET socketpair (see sync.h). */
#include "runc/sync.h"

#include <sys/socket.h>

int sync_pair(int ret_fds[2])
{
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ret_fds) < 0)
                return -errno;
        return 0;
}

static int sync_write(int fd, const struct sync_msg *m)
{
        ssize_t n;

        do
                n = send(fd, m, sizeof(*m), MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return n == (ssize_t) sizeof(*m) ? 0 : -EIO;
}

int sync_send(int fd, enum sync_type type, int value)
{
        struct sync_msg m = {.type = type, .value = value};

        return sync_write(fd, &m);
}

int sync_send_error(int fd, const struct errmsg *err)
{
        struct sync_msg m = {.type = SYNC_ERROR, .code = err->code ? err->code : -EIO};

        (void) snprintf(m.msg, sizeof(m.msg), "%s", err->msg[0] ? err->msg : strerror(-m.code));
        return sync_write(fd, &m);
}

int sync_recv(int fd, struct sync_msg *ret)
{
        struct sync_msg m;
        ssize_t n;

        do
                n = recv(fd, &m, sizeof(m), 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -EPIPE;
        if (n != (ssize_t) sizeof(m))
                return -EPROTO;
        m.msg[sizeof(m.msg) - 1] = '\0';
        *ret = m;
        return 0;
}

int sync_expect(int fd, enum sync_type type, struct sync_msg *ret, struct errmsg *err)
{
        struct sync_msg m;
        int r;

        r = sync_recv(fd, &m);
        if (r == -EPIPE)
                return errmsg_set(err, -EPROTO, "container process exited during setup");
        if (r < 0)
                return errmsg_set(err, r, "read from container process: %s", strerror(-r));
        if (m.type == SYNC_ERROR)
                return errmsg_set(err, m.code < 0 ? m.code : -EIO, "%s", m.msg);
        if (m.type != type)
                return errmsg_set(err, -EPROTO, "unexpected message %u from container process",
                                  m.type);
        if (ret)
                *ret = m;
        return 0;
}
