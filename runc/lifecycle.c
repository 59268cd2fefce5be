/* SPDX-License-Identifier: Apache-2.0 */
/* start, kill and delete of an existing container (runtime.md "Operations"). */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "runc/cgroup.h"
#include "runc/container.h"
#include "runc/hooks.h"

static int open_container(const struct runc_global *g, const char *id, int *ret_root_fd,
                          struct container_state **ret_st, struct errmsg *err)
{
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        if (!container_id_is_valid(id) || state_root_open(g->root, false, &root_fd, NULL) < 0)
                return errmsg_set(err, -ENOENT, "container does not exist");
        r = state_load(root_fd, id, ret_st, err);
        if (r < 0)
                return r;
        *ret_root_fd = TAKE_FD(root_fd);
        return 0;
}

int container_open(const struct runc_global *g, const char *id, struct container_state **ret_st,
                   enum container_status *ret_status, struct errmsg *err)
{
        _cleanup_(container_state_freep) struct container_state *st = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        r = open_container(g, id, &root_fd, &st, err);
        if (r < 0)
                return r;
        *ret_status = state_status(root_fd, st);
        *ret_st = TAKE_PTR(st);
        return 0;
}

/* Runs the bundle's hooks of kind; failures only warn (poststart, poststop). */
static void run_hooks_warn(const struct container_state *st, enum hook_kind kind,
                           enum container_status status)
{
        _cleanup_(oci_spec_freep) struct oci_spec *spec = NULL;
        _cleanup_free_ char *state = NULL;
        struct errmsg err = {0};

        if (bundle_load_spec(st->bundle, &spec, &err) < 0 || spec->hooks.n[kind] == 0)
                return;
        state = state_to_oci_json(st, status);
        if (hooks_run(&spec->hooks, kind, state, &err) < 0)
                log_warn("%s: %s, ignoring", st->id, err.msg);
}

int container_start(const struct runc_global *g, const char *id, struct errmsg *err)
{
        _cleanup_(container_state_freep) struct container_state *st = NULL;
        _cleanup_close_ int root_fd = -EBADF, fifo = -EBADF;
        _cleanup_free_ char *path = NULL;
        enum container_status status;
        int r;

        r = open_container(g, id, &root_fd, &st, err);
        if (r < 0)
                return r;
        status = state_status(root_fd, st);
        if (status != STATUS_CREATED)
                return errmsg_set(err, -EBUSY, "cannot start a container in state %s",
                                  container_status_to_string(status));
        path = xasprintf("%s/" EXEC_FIFO, id);
        fifo = openat(root_fd, path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fifo < 0)
                return errmsg_set(err, errno == ENXIO ? -ESRCH : -errno,
                                  "container %s is not waiting for start: %s", id, strerror(errno));
        r = write_all(fifo, "0", 1);
        if (r < 0)
                return errmsg_set(err, r, "start %s: %s", id, strerror(-r));
        (void) unlinkat(root_fd, path, 0);
        run_hooks_warn(st, HOOK_POSTSTART, STATUS_RUNNING);
        return 0;
}

int signal_from_string(const char *s)
{
        uint64_t n;

        if (parse_uint64(s, &n) == 0)
                return n > 0 && n < (uint64_t) NSIG ? (int) n : -EINVAL;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int sig = 1; sig < NSIG; sig++) {
                const char *name = sigabbrev_np(sig);

                if (name && strcasecmp(s, name) == 0)
                        return sig;
        }
        return -EINVAL;
}

int container_kill(const struct runc_global *g, const char *id, int sig, bool all,
                   struct errmsg *err)
{
        _cleanup_(container_state_freep) struct container_state *st = NULL;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        enum container_status status;
        int r;

        r = open_container(g, id, &root_fd, &st, err);
        if (r < 0)
                return r;
        status = state_status(root_fd, st);
        if (status == STATUS_STOPPED && !all)
                return errmsg_set(err, -ESRCH, "container not running");
        if (all) {
                r = state_open_cgroup(st, &cg, err);
                if (r < 0)
                        return r;
                r = cgroup_kill_all(cg, sig);
                if (r < 0)
                        return errmsg_set(err, r, "kill all processes of %s: %s", id, strerror(-r));
                return 0;
        }
        if (kill(st->pid, sig) < 0)
                return errmsg_set(err, -errno, "kill %s (pid %d): %s", id, (int) st->pid,
                                  strerror(errno));
        return 0;
}

/* Waits up to timeout_ms for a process that is not our child to exit. */
static int wait_gone(pid_t pid, uint64_t start_time, int timeout_ms)
{
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        struct pollfd p = {.fd = pidfd, .events = POLLIN};

        if (pidfd < 0 || !process_is_alive(pid, start_time))
                return 0;
        if (poll(&p, 1, timeout_ms) == 0)
                return -ETIMEDOUT;
        (void) waitpid(pid, NULL, WNOHANG); /* reap it if it happens to be ours */
        return 0;
}

static int destroy(int root_fd, const struct container_state *st, struct errmsg *err)
{
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        int r;

        if (state_open_cgroup(st, &cg, NULL) >= 0) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;

                /* freezing an empty cgroup to kill nobody costs milliseconds on v1 */
                if (cgroup_get_pids(cg, &pids, &n) >= 0 && n > 0)
                        (void) cgroup_kill_all(cg, SIGKILL);
                r = cgroup_destroy(cg);
                if (r < 0)
                        return errmsg_set(err, r, "remove cgroup of %s: %s", st->id, strerror(-r));
        }
        r = rm_rf_at(root_fd, st->id);
        if (r < 0)
                return errmsg_set(err, r, "remove state of %s: %s", st->id, strerror(-r));
        run_hooks_warn(st, HOOK_POSTSTOP, STATUS_STOPPED);
        return 0;
}

int container_delete(const struct runc_global *g, const char *id, bool force, struct errmsg *err)
{
        _cleanup_(container_state_freep) struct container_state *st = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        enum container_status status;
        int r;

        r = open_container(g, id, &root_fd, &st, err);
        if (r < 0)
                return r;
        status = state_status(root_fd, st);
        if ((status == STATUS_RUNNING || status == STATUS_PAUSED) && !force)
                return errmsg_set(err, -EBUSY, "cannot delete container %s that is not stopped: %s",
                                  id, container_status_to_string(status));
        if (status != STATUS_STOPPED) {
                /* A paused process cannot die until thawed: kill_all freezes, kills, thaws. */
                _cleanup_(cgroup_freep) struct cgroup *cg = NULL;

                if (state_open_cgroup(st, &cg, NULL) >= 0)
                        (void) cgroup_kill_all(cg, SIGKILL);
                (void) kill(st->pid, SIGKILL);
                if (wait_gone(st->pid, st->start_time, 10000) < 0)
                        return errmsg_set(err, -ETIMEDOUT,
                                          "container %s did not exit after SIGKILL", id);
        }
        return destroy(root_fd, st, err);
}
