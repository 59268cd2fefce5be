/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A process in the foreground (task.h), as ctr's run, tasks start, attach and exec drive it:
 * Wait is a blocking call, so it runs on a thread with a connection of its own and reports
 * through a pipe; the main thread poll()s that pipe, a signalfd and the stdio: the local
 * stdin (or the terminal) into the stdin FIFO (CloseIO at its end, as ctr's stdinCloser),
 * the stdout and stderr FIFOs out; signals are forwarded to the process (ForwardAllSignals:
 * every one a process may be sent but SIGCHLD, SIGURG and the synchronous faults; a SIGPIPE
 * goes to the process too, and the broken local output is then dropped)
 * or, with a terminal, SIGWINCH resizes the pty (HandleConsoleResize). After the exit the
 * output is drained to its end (or until it stays silent for DRAIN_GRACE_MS: a background
 * process of the container may hold it open).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ctr/console.h"
#include "ctr/io.h"
#include "ctr/task.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define DRAIN_GRACE_MS 1000
#define RELAY_BUF      (64u << 10)

struct task_waiter {
        pthread_t thread;
        int pipe[2]; /* the thread writes one byte to pipe[1] when it has the answer */
        bool is_started, is_done;
        const struct ctr_opts *opts;
        char *id, *exec_id;
        int r;
        uint32_t status;
        struct errmsg err;
};

static void *waiter_main(void *userdata)
{
        struct task_waiter *w = userdata;

        w->r = task_wait_sync(w->opts, w->id, w->exec_id, &w->status, &w->err);
        (void) write_all(w->pipe[1], "x", 1);
        return NULL;
}

int task_waiter_start(const struct task_proc *p, struct task_waiter **ret, struct errmsg *err)
{
        _cleanup_(task_waiter_freep) struct task_waiter *w = xnew0(struct task_waiter, 1);
        sigset_t all, old;
        int r;

        w->pipe[0] = w->pipe[1] = -EBADF;
        if (pipe2(w->pipe, O_CLOEXEC) < 0)
                return errmsg_set(err, -errno, "pipe: %m");
        w->opts = p->c->opts;
        w->id = xstrdup(p->id);
        w->exec_id = p->exec_id ? xstrdup(p->exec_id) : NULL;
        /* every signal blocked in the thread: they are the main thread's (signalfd) */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&w->thread, NULL, waiter_main, w);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return errmsg_set(err, r, "wait %s: thread: %s", p->id, strerror(-r));
        w->is_started = true;
        *ret = TAKE_PTR(w);
        return 0;
}

struct task_waiter *task_waiter_free(struct task_waiter *w)
{
        if (!w)
                return NULL;
        if (w->is_started && !w->is_done) {
                /* still waiting for an exit nobody needs any more: the process ends soon */
                (void) pthread_detach(w->thread);
                return NULL;
        }
        if (w->is_started)
                (void) pthread_join(w->thread, NULL);
        safe_close(w->pipe[0]);
        safe_close(w->pipe[1]);
        free(w->id);
        free(w->exec_id);
        free(w);
        return NULL;
}

/* --- the relay --------------------------------------------------------------------------- */

struct relay {
        const struct task_proc *p;
        int in_src, out_dst, err_dst; /* local ends (-EBADF: none) */
        char *in_buf;                 /* read from in_src, not yet written to the FIFO */
        size_t in_len, in_at;
        bool in_eof, out_eof, err_eof;
        bool forwarding; /* signals still forwarded (not after a "not found") */
};

static void relay_init(struct relay *rl, const struct task_proc *p)
{
        *rl = (struct relay){
                .p = p, .in_src = -EBADF, .out_dst = -EBADF, .err_dst = -EBADF, .forwarding = true};
        rl->out_eof = rl->err_eof = rl->in_eof = true;
        if (!p->io)
                return;
        rl->in_src = p->con ? p->con->fd : STDIN_FILENO;
        rl->out_dst = p->con ? p->con->fd : STDOUT_FILENO;
        rl->err_dst = STDERR_FILENO;
        rl->in_eof = p->io->in_fd < 0;
        rl->out_eof = p->io->out_fd < 0;
        rl->err_eof = p->io->err_fd < 0;
        rl->in_buf = xmalloc(RELAY_BUF);
}

/* The local stdin ended: the FIFO's writer closes and the shim is told (CloseIO). */
static void stdin_done(struct relay *rl)
{
        struct errmsg err = {0};

        rl->in_eof = true;
        rl->p->io->in_fd = safe_close(rl->p->io->in_fd);
        if (task_close_stdin(rl->p->c, rl->p->id, rl->p->exec_id, &err) < 0)
                log_debug("close stdin of %s: %s", rl->p->id, err.msg);
}

static void relay_stdin(struct relay *rl, short revents_src, short revents_fifo)
{
        ssize_t n;

        if (rl->in_len == 0 && (revents_src & (POLLIN | POLLHUP | POLLERR))) {
                n = read(rl->in_src, rl->in_buf, RELAY_BUF);
                if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
                        stdin_done(rl);
                        return;
                }
                rl->in_len = n > 0 ? (size_t) n : 0;
                rl->in_at = 0;
        }
        if (rl->in_len > 0 && (revents_fifo & (POLLOUT | POLLERR) || revents_src)) {
                n = write(rl->p->io->in_fd, rl->in_buf + rl->in_at, rl->in_len - rl->in_at);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        stdin_done(rl); /* nobody reads it any more */
                        return;
                }
                if (n > 0)
                        rl->in_at += (size_t) n;
                if (rl->in_at == rl->in_len)
                        rl->in_len = rl->in_at = 0;
        }
}

/* Copies what fd has to dst; true at its end. A local write error drops the rest. */
static bool relay_output(int fd, int *dst, short revents)
{
        char buf[RELAY_BUF];
        ssize_t n;

        if (!(revents & (POLLIN | POLLHUP | POLLERR)))
                return false;
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return false;
        if (n <= 0)
                return true;
        if (*dst >= 0 && write_all(*dst, buf, (size_t) n) < 0)
                *dst = -EBADF;
        return false;
}

/* --- signals ------------------------------------------------------------------------------ */

static bool is_forwarded(int sig)
{
        switch (sig) {
        case SIGKILL:
        case SIGSTOP:
        case SIGCHLD:
        case SIGURG:
        case SIGSEGV:
        case SIGBUS:
        case SIGFPE:
        case SIGILL:
        case SIGTRAP:
        case SIGSYS:
        case SIGABRT:
                return false;
        default:
                return sig < 32 || sig >= SIGRTMIN;
        }
}

static void signal_set(const struct task_proc *p, sigset_t *set)
{
        sigemptyset(set);
        if (p->con) {
                /* a terminal in raw mode: only resizes; the others end us with the terminal
                 * restored */
                static const int sigs[] = {SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT};

                for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                        sigaddset(set, sigs[i]);
                return;
        }
        for (int sig = 1; sig <= SIGRTMAX; sig++)
                if (is_forwarded(sig))
                        sigaddset(set, sig);
}

static void resize(const struct task_proc *p)
{
        struct errmsg err = {0};
        unsigned w, h;

        if (console_size(p->con, &w, &h) < 0) {
                log_error("get pty size: %m");
                return;
        }
        if (task_resize(p->c, p->id, p->exec_id, w, h, &err) < 0)
                log_error("resize pty: %s", err.msg);
}

/* One signal: 1 to go on, or -EINTR (a terminal's end signal). */
static int on_signal(struct relay *rl, int sig, struct errmsg *err)
{
        const struct task_proc *p = rl->p;
        struct errmsg e = {0};
        int r;

        if (p->con) {
                if (sig == SIGWINCH) {
                        resize(p);
                        return 1;
                }
                return errmsg_set(err, -EINTR, "%s", strsignal(sig));
        }
        if (!rl->forwarding)
                return 1;
        log_debug("forwarding signal %s", strsignal(sig));
        r = task_kill(p->c, p->id, p->exec_id, sig, false, &e);
        if (r == -ENOENT) {
                log_debug("Not forwarding signal %s: %s", strsignal(sig), e.msg);
                rl->forwarding = false;
        } else if (r < 0)
                log_error("forward signal %s: %s", strsignal(sig), e.msg);
        return 1;
}

/* --- the loop ------------------------------------------------------------------------------ */

enum { FD_SIGNAL, FD_WAITER, FD_IN_SRC, FD_IN_FIFO, FD_OUT, FD_ERR, _FD_MAX };

static void poll_setup(const struct relay *rl, int sfd, int wfd, struct pollfd pfd[_FD_MAX])
{
        const struct io_fifos *io = rl->p->io;

        for (int i = 0; i < _FD_MAX; i++)
                pfd[i] = (struct pollfd){.fd = -1};
        pfd[FD_SIGNAL] = (struct pollfd){.fd = sfd, .events = POLLIN};
        pfd[FD_WAITER] = (struct pollfd){.fd = wfd, .events = POLLIN};
        if (!rl->in_eof && rl->in_len == 0)
                pfd[FD_IN_SRC] = (struct pollfd){.fd = rl->in_src, .events = POLLIN};
        if (!rl->in_eof && rl->in_len > 0)
                pfd[FD_IN_FIFO] = (struct pollfd){.fd = io->in_fd, .events = POLLOUT};
        if (!rl->out_eof)
                pfd[FD_OUT] = (struct pollfd){.fd = io->out_fd, .events = POLLIN};
        if (!rl->err_eof)
                pfd[FD_ERR] = (struct pollfd){.fd = io->err_fd, .events = POLLIN};
}

/* One round: 1 to go on, 0 when done, or -errno. */
static int relay_round(struct relay *rl, int sfd, struct task_waiter *w, bool *exited,
                       struct errmsg *err)
{
        struct pollfd pfd[_FD_MAX];
        int n, r;

        poll_setup(rl, sfd, *exited ? -1 : w->pipe[0], pfd);
        n = poll(pfd, _FD_MAX, *exited ? DRAIN_GRACE_MS : -1);
        if (n < 0 && errno == EINTR)
                return 1;
        if (n < 0)
                return errmsg_set(err, -errno, "poll: %m");
        if (n == 0)
                return 0; /* drained as far as it goes */
        if (pfd[FD_SIGNAL].revents & POLLIN) {
                struct signalfd_siginfo si;

                if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                        r = on_signal(rl, (int) si.ssi_signo, err);
                        if (r < 0)
                                return r;
                }
        }
        if (pfd[FD_WAITER].revents) {
                char c;

                /* the byte only wakes us: the answer is in w */
                if (read(w->pipe[0], &c, 1) < 0)
                        log_debug("wait %s: pipe: %m", rl->p->id);
                *exited = true;
        }
        if (pfd[FD_IN_SRC].revents || pfd[FD_IN_FIFO].revents)
                relay_stdin(rl, pfd[FD_IN_SRC].revents, pfd[FD_IN_FIFO].revents);
        if (pfd[FD_OUT].revents &&
            relay_output(rl->p->io->out_fd, &rl->out_dst, pfd[FD_OUT].revents))
                rl->out_eof = true;
        if (pfd[FD_ERR].revents &&
            relay_output(rl->p->io->err_fd, &rl->err_dst, pfd[FD_ERR].revents))
                rl->err_eof = true;
        return *exited && rl->out_eof && rl->err_eof ? 0 : 1;
}

int task_proc_run(const struct task_proc *p, struct task_waiter *w, uint32_t *ret_status,
                  struct errmsg *err)
{
        _cleanup_close_ int sfd = -EBADF;
        struct relay rl;
        sigset_t set, old;
        bool exited = false;
        int r;

        signal_set(p, &set);
        if (sigprocmask(SIG_BLOCK, &set, &old) < 0)
                return errmsg_set(err, -errno, "sigprocmask: %m");
        sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                r = errmsg_set(err, -errno, "signalfd: %m");
                (void) sigprocmask(SIG_SETMASK, &old, NULL);
                return r;
        }
        if (p->con)
                resize(p);
        relay_init(&rl, p);
        do
                r = relay_round(&rl, sfd, w, &exited, err);
        while (r > 0);
        free(rl.in_buf);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        w->is_done = true;
        if (w->r < 0) {
                *err = w->err;
                return w->r;
        }
        *ret_status = w->status;
        return 0;
}
