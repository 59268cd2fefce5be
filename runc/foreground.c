/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime in the foreground of "run" and "exec" (without --detach): it waits for the
 * container's process, forwards the signals it receives to it and, when the process has a
 * terminal that no --console-socket took, relays between its own stdio and the pty master
 * (runc docs/terminals.md, "foreground new-terminal"). One poll() on a signalfd, a pidfd,
 * stdin and the master: no signal handler, no global.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "lib/fs.h"
#include "runc/container.h"

struct relay {
        pid_t pid;
        int sfd;
        int pidfd;
        int master;   /* -EBADF without a terminal */
        bool in_open; /* stdin still readable */
};

static void copy_window_size(int master)
{
        struct winsize ws;

        if (master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                (void) ioctl(master, TIOCSWINSZ, &ws);
}

/* Copies what is readable on from to to; false at EOF or error. */
static bool pump(int from, int to)
{
        char buf[16384];
        ssize_t n = read(from, buf, sizeof(buf));

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return true;
        return n > 0 && write_all(to, buf, (size_t) n) >= 0;
}

static void on_signal(struct relay *r)
{
        struct signalfd_siginfo si;

        if (read(r->sfd, &si, sizeof(si)) != (ssize_t) sizeof(si))
                return;
        if (si.ssi_signo == SIGWINCH)
                copy_window_size(r->master);
        else
                (void) kill(r->pid, (int) si.ssi_signo);
}

static int relay_until_exit(struct relay *r)
{
        for (;;) {
                struct pollfd p[4] = {
                        {.fd = r->sfd, .events = POLLIN},
                        {.fd = r->pidfd, .events = POLLIN},
                        {.fd = r->master, .events = POLLIN},
                        {.fd = r->in_open && r->master >= 0 ? STDIN_FILENO : -1, .events = POLLIN},
                };

                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[0].revents & POLLIN)
                        on_signal(r);
                if ((p[2].revents & (POLLIN | POLLHUP)) && !pump(r->master, STDOUT_FILENO))
                        r->master = -EBADF; /* closed by the container: output is done */
                if ((p[3].revents & (POLLIN | POLLHUP)) && !pump(STDIN_FILENO, r->master))
                        r->in_open = false;
                if ((p[1].revents & POLLIN) && r->master < 0)
                        return 0;
                if ((p[1].revents & POLLIN) && !(p[2].revents & POLLIN))
                        return 0; /* exited and nothing left to relay */
        }
}

static int wait_status(pid_t pid, int *ret_status)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

int wait_foreground(pid_t pid, int master, int *ret_status)
{
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
        _cleanup_close_ int sfd = -EBADF, pidfd = -EBADF;
        struct termios saved;
        bool raw = false;
        sigset_t set, old;
        int r = 0;

        (void) sigemptyset(&set);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                (void) sigaddset(&set, sigs[i]);
        (void) sigprocmask(SIG_BLOCK, &set, &old);
        sfd = signalfd(-1, &set, SFD_CLOEXEC);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (master >= 0 && tcgetattr(STDIN_FILENO, &saved) == 0) {
                struct termios t = saved;

                cfmakeraw(&t);
                raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
        }
        copy_window_size(master);
        if (sfd >= 0 && pidfd >= 0)
                r = relay_until_exit(&(struct relay){
                        .pid = pid, .sfd = sfd, .pidfd = pidfd, .master = master, .in_open = true});
        if (raw)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (r >= 0)
                r = wait_status(pid, ret_status);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}

int console_pair(int *ret_ours, int *ret_theirs)
{
        int fds[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                return -errno;
        *ret_ours = fds[0];
        *ret_theirs = fds[1];
        return 0;
}

int recv_fd(int sock, int *ret_fd)
{
        char control[CMSG_SPACE(sizeof(int))] = {0}, name[256];
        struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control,
                             .msg_controllen = sizeof(control)};
        struct cmsghdr *cmsg;
        int fd;

        if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0)
                return -errno;
        cmsg = CMSG_FIRSTHDR(&msg);
        if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EBADMSG;
        memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
        *ret_fd = fd;
        return 0;
}
