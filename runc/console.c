/* SPDX-License-Identifier: Apache-2.0 */
/* Terminals for containers, handed out through the console socket (see console.h). */
#include "runc/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

int console_socket_connect(const char *path, int *ret_fd, struct errmsg *err)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(addr.sun_path))
                return errmsg_set(err, -ENAMETOOLONG, "--console-socket %s: path too long", path);
        memcpy(addr.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return errmsg_set(err, -errno, "socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
                return errmsg_set(err, -errno, "--console-socket %s: connect: %s", path,
                                  strerror(errno));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int send_fd(int sock, int fd, const char *name)
{
        char control[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec iov = {.iov_base = (void *) name, .iov_len = strlen(name)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control,
                             .msg_controllen = sizeof(control)};
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
        if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

int console_setup(int console_sock, const struct oci_process *p, struct errmsg *err)
{
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        char name[64];
        int r;

        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return errmsg_set(err, -errno, "open /dev/ptmx: %s", strerror(errno));
        if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
                return errmsg_set(err, -errno, "unlock pty: %s", strerror(errno));
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return errmsg_set(err, -errno, "open %s: %s", name, strerror(errno));
        if (p->has_console_size) {
                struct winsize ws = {.ws_row = (unsigned short) p->console_height,
                                     .ws_col = (unsigned short) p->console_width};

                (void) ioctl(master, TIOCSWINSZ, &ws);
        }
        r = send_fd(console_sock, master, name);
        if (r < 0)
                return errmsg_set(err, r, "send pty master over console socket: %s", strerror(-r));
        if (setsid() < 0 && errno != EPERM)
                return errmsg_set(err, -errno, "setsid: %s", strerror(errno));
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return errmsg_set(err, -errno, "set controlling terminal: %s", strerror(errno));
        for (int fd = 0; fd <= 2; fd++)
                if (dup2(slave, fd) < 0)
                        return errmsg_set(err, -errno, "dup2 pty to %d: %s", fd, strerror(errno));
        return 0;
}
