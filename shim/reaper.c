/* SPDX-License-Identifier: Apache-2.0 */
/* Child subreaper on a signalfd (see reaper.h). */
#include "shim/reaper.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "lib/xalloc.h"

struct reaper {
        struct evloop *loop;
        int fd;
        reaper_exit_fn on_exit;
        reaper_terminate_fn on_terminate;
        void *userdata;
};

int reaper_exit_status(int wait_status)
{
        if (WIFSIGNALED(wait_status))
                return 128 + WTERMSIG(wait_status);
        return WEXITSTATUS(wait_status);
}

void reaper_reap(struct reaper *r)
{
        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);

                if (pid < 0 && errno == EINTR)
                        continue;
                if (pid <= 0)
                        return;
                if (WIFEXITED(status) || WIFSIGNALED(status))
                        r->on_exit(pid, reaper_exit_status(status), r->userdata);
        }
}

static void reaper_on_signal(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct reaper *r = userdata;
        struct signalfd_siginfo si[16];
        bool child = false;
        ssize_t n;

        (void) loop, (void) events;
        /* Signals of one kind coalesce: drain them all, then reap everything once. */
        while ((n = read(fd, si, sizeof(si))) > 0) {
                for (size_t i = 0; i < (size_t) n / sizeof(si[0]); i++) {
                        if (si[i].ssi_signo == SIGCHLD)
                                child = true;
                        else
                                r->on_terminate((int) si[i].ssi_signo, r->userdata);
                }
        }
        if (child)
                reaper_reap(r);
}

int reaper_new(struct evloop *loop, reaper_exit_fn on_exit, reaper_terminate_fn on_terminate,
               void *userdata, struct reaper **ret, struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;
        struct reaper *r;
        sigset_t mask;
        int k;

        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                return errmsg_set(err, -errno, "become child subreaper: %s", strerror(errno));
        (void) sigemptyset(&mask);
        (void) sigaddset(&mask, SIGCHLD);
        (void) sigaddset(&mask, SIGTERM);
        (void) sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return errmsg_set(err, -errno, "block signals: %s", strerror(errno));
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0)
                return errmsg_set(err, -errno, "signalfd: %s", strerror(errno));
        r = xnew0(struct reaper, 1);
        *r = (struct reaper){.loop = loop,
                             .fd = TAKE_FD(fd),
                             .on_exit = on_exit,
                             .on_terminate = on_terminate,
                             .userdata = userdata};
        k = evloop_add(loop, r->fd, EPOLLIN, reaper_on_signal, r);
        if (k < 0) {
                (void) close(r->fd);
                free(r);
                return errmsg_set(err, k, "watch signalfd: %s", strerror(-k));
        }
        *ret = r;
        return 0;
}

struct reaper *reaper_free(struct reaper *r)
{
        if (!r)
                return NULL;
        (void) evloop_remove(r->loop, r->fd);
        (void) close(r->fd);
        free(r);
        return NULL;
}
