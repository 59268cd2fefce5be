/* SPDX-License-Identifier: Apache-2.0 */
/* Running OCI hooks with the state on stdin and a timeout (see hooks.h). */
#include "runc/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "lib/fs.h"

#define HOOK_OUTPUT_MAX 4096

static _noreturn_ void hook_child(const struct oci_hook *h, int in_fd, int out_fd)
{
        char *const default_args[] = {h->path, NULL};
        char *const empty_env[] = {NULL};

        if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
                _exit(127);
        (void) sigprocmask(SIG_SETMASK, &(sigset_t){0}, NULL);
        execve(h->path, h->args ? h->args : default_args, h->env ? h->env : empty_env);
        dprintf(2, "exec %s: %s", h->path, strerror(errno));
        _exit(127);
}

static int64_t now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid, collecting its output; -ETIME after timeout_s seconds (0 = none). */
static int hook_wait(pid_t pid, int out_fd, int timeout_s, char *out, size_t *out_len, int *status)
{
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        int64_t deadline = timeout_s > 0 ? now_ms() + (int64_t) timeout_s * 1000 : -1;

        if (pidfd < 0)
                return -errno;
        for (;;) {
                struct pollfd fds[2] = {{.fd = pidfd, .events = POLLIN},
                                        {.fd = out_fd, .events = POLLIN}};
                int wait_ms = deadline < 0 ? -1 : (int) MAX(deadline - now_ms(), 0);
                int n = poll(fds, out_fd >= 0 ? 2 : 1, wait_ms);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0)
                        return -ETIME;
                if (fds[1].revents & (POLLIN | POLLHUP)) {
                        char buf[512];
                        ssize_t k = read(out_fd, buf, sizeof(buf));

                        if (k <= 0)
                                out_fd = -1;
                        for (ssize_t i = 0; i < k && *out_len + 1 < HOOK_OUTPUT_MAX; i++)
                                out[(*out_len)++] = buf[i];
                        out[*out_len] = '\0';
                }
                if (fds[0].revents & POLLIN)
                        return waitpid(pid, status, 0) < 0 ? -errno : 0;
        }
}

static int hook_run_one(const struct oci_hook *h, const char *state_json, char *out,
                        int *ret_status)
{
        _cleanup_close_ int in_r = -EBADF, in_w = -EBADF, out_r = -EBADF, out_w = -EBADF;
        int p[2], status = 0, r;
        size_t out_len = 0;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        in_r = p[0], in_w = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        out_r = p[0], out_w = p[1];
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                hook_child(h, in_r, out_w);
        in_r = safe_close(in_r);
        out_w = safe_close(out_w);
        (void) write_all(in_w, state_json, strlen(state_json));
        in_w = safe_close(in_w);
        r = hook_wait(pid, out_r, h->timeout, out, &out_len, &status);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        *ret_status = status;
        return 0;
}

int hooks_run(const struct oci_hooks *hooks, enum hook_kind kind, const char *state_json,
              struct errmsg *err)
{
        for (size_t i = 0; i < hooks->n[kind]; i++) {
                const struct oci_hook *h = &hooks->list[kind][i];
                char out[HOOK_OUTPUT_MAX] = "";
                int status = 0, r;

                r = hook_run_one(h, state_json, out, &status);
                if (r == -ETIME)
                        return errmsg_set(err, r, "%s hook #%zu (%s): timed out after %d s",
                                          hook_kind_to_string(kind), i, h->path, h->timeout);
                if (r < 0)
                        return errmsg_set(err, r, "%s hook #%zu (%s): %s",
                                          hook_kind_to_string(kind), i, h->path, strerror(-r));
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        return errmsg_set(
                                err, -EIO, "%s hook #%zu (%s): %s %d, output: %s",
                                hook_kind_to_string(kind), i, h->path,
                                WIFEXITED(status) ? "exit status" : "killed by signal",
                                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), out);
        }
        return 0;
}
