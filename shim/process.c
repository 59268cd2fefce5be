/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The task's processes: lookup, exec processes through "runtime exec --detach", signals,
 * exits and deletion (see task.h).
 */
#include <fcntl.h>
#include <signal.h>

#include "lib/fs.h"
#include "lib/xalloc.h"
#include "shim/task.h"

static const int no_stdio[3] = {-EBADF, -EBADF, -EBADF};

struct process *process_free(struct process *p)
{
        if (!p)
                return NULL;
        assert(p->n_waiters == 0);
        free(p->waiters);
        (void) process_io_free(p->io);
        free(p->exec_id);
        free(p->stdin_path);
        free(p->stdout_path);
        free(p->stderr_path);
        free(p->spec);
        free(p);
        return NULL;
}

struct process *task_process(struct task *t, const char *exec_id)
{
        if (!exec_id || !exec_id[0])
                return t->init;
        for (struct process *p = t->execs; p; p = p->next)
                if (STREQ(p->exec_id, exec_id))
                        return p;
        return NULL;
}

struct process *task_process_by_pid(struct task *t, pid_t pid)
{
        if (t->init->pid == pid && t->init->status != PROCESS_STOPPED)
                return t->init;
        for (struct process *p = t->execs; p; p = p->next)
                if (p->pid == pid && p->status == PROCESS_RUNNING)
                        return p;
        return NULL;
}

static bool exec_id_is_valid(const char *id)
{
        size_t n = strlen(id);

        if (n == 0 || n > TASK_EXEC_ID_MAX || id[0] == '.' || id[0] == '-' || id[0] == '_')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
                            id[i]))
                        return false;
        return true;
}

int task_exec_add(struct task *t, const char *exec_id, const struct stdio_paths *stdio,
                  const void *spec, size_t spec_len, struct process **ret, struct errmsg *err)
{
        struct process *p;

        if (!exec_id_is_valid(exec_id))
                return errmsg_set(err, -EINVAL, "exec id \"%s\": invalid", exec_id);
        if (spec_len == 0 || spec_len > TASK_SPEC_MAX_BYTES)
                return errmsg_set(err, -EINVAL,
                                  "exec %s: process spec empty or larger than %u bytes", exec_id,
                                  TASK_SPEC_MAX_BYTES);
        if (task_process(t, exec_id))
                return errmsg_set(err, -EEXIST, "id %s: already exists", exec_id);
        if (t->init->status == PROCESS_STOPPED)
                return errmsg_set(err, -EBUSY, "task %s: container is stopped", t->id);
        p = process_new(t, exec_id, stdio);
        p->spec = xmalloc(spec_len);
        memcpy(p->spec, spec, spec_len);
        p->spec_len = spec_len;
        p->next = t->execs;
        t->execs = p;
        *ret = p;
        return 0;
}

/* "runtime exec --process F [--console-socket S] --detach --pid-file P id" (go-runc's order). */
static int exec_run(struct process *p, const char *spec_file, const char *pid_file,
                    struct errmsg *err)
{
        struct task *t = p->task;
        const char *console = process_io_console_socket(p->io);
        const char *args[12];
        size_t n = 0;
        int r;

        args[n++] = "exec";
        args[n++] = "--process";
        args[n++] = spec_file;
        if (console) {
                args[n++] = "--console-socket";
                args[n++] = console;
        }
        args[n++] = "--detach";
        args[n++] = "--pid-file";
        args[n++] = pid_file;
        args[n++] = t->id;
        args[n] = NULL;
        r = runtime_run(&t->rt, args, process_io_runtime_fds(p->io), err);
        if (r < 0)
                return r;
        return process_io_runtime_done(p->io, t->loop, err);
}

int process_exec_start(struct process *p, struct errmsg *err)
{
        struct task *t = p->task;
        _cleanup_free_ char *spec_file = xasprintf("%s/exec-%s.json", t->bundle, p->exec_id);
        _cleanup_free_ char *pid_file = xasprintf("%s/exec-%s.pid", t->bundle, p->exec_id);
        struct stdio_paths stdio = {p->stdin_path, p->stdout_path, p->stderr_path, p->terminal};
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (p->status != PROCESS_CREATED)
                return errmsg_set(err, -EBUSY, "exec %s: already started", p->exec_id);
        dfd = open(t->bundle, O_DIRECTORY | O_PATH | O_CLOEXEC);
        r = dfd < 0 ? -errno : 0;
        if (r >= 0)
                r = write_file_replace_at(dfd, spec_file + strlen(t->bundle) + 1, p->spec,
                                          p->spec_len, 0600);
        if (r < 0)
                return errmsg_set(err, r, "write %s: %s", spec_file, strerror(-r));
        r = process_io_open(&stdio, &p->io, err);
        if (r >= 0)
                r = exec_run(p, spec_file, pid_file, err);
        if (r >= 0) {
                r = pid_file_read(pid_file, &p->pid);
                if (r < 0)
                        (void) errmsg_set(err, r, "read %s: %s", pid_file, strerror(-r));
        }
        (void) unlink(spec_file);
        (void) unlink(pid_file);
        if (r < 0) {
                p->io = process_io_free(p->io);
                return r;
        }
        p->status = PROCESS_RUNNING;
        return 0;
}

/* The runtime's words for a process that is gone (containerd-shim-runc-v2's checkKillError). */
static bool is_gone_error(const char *msg)
{
        return strstr(msg, "not running") || strstr(msg, "no such process") ||
               strstr(msg, "process already finished") || strstr(msg, "does not exist");
}

static int kill_init(struct process *p, int signo, bool all, struct errmsg *err)
{
        const char *args[6];
        char sig[16];
        size_t n = 0;
        int r;

        (void) snprintf(sig, sizeof(sig), "%d", signo);
        args[n++] = "kill";
        if (all)
                args[n++] = "--all";
        args[n++] = p->task->id;
        args[n++] = sig;
        args[n] = NULL;
        r = runtime_run(&p->task->rt, args, no_stdio, err);
        if (r < 0 && err && is_gone_error(err->msg))
                return errmsg_set(err, -ENOENT, "process already finished");
        return r;
}

int process_kill(struct process *p, int signo, bool all, struct errmsg *err)
{
        if (p->status == PROCESS_STOPPED)
                return errmsg_set(err, -ENOENT, "process already finished");
        if (!p->exec_id)
                return kill_init(p, signo, all, err);
        if (p->status == PROCESS_CREATED)
                return errmsg_set(err, -EBUSY, "exec %s: not started", p->exec_id);
        if (kill(p->pid, signo) < 0)
                return errmsg_set(err, errno == ESRCH ? -ENOENT : -errno, "kill exec %s: %s",
                                  p->exec_id,
                                  errno == ESRCH ? "process already finished" : strerror(errno));
        return 0;
}

void process_exited(struct process *p, int status)
{
        p->status = PROCESS_STOPPED;
        p->exit_status = status;
        (void) clock_gettime(CLOCK_REALTIME, &p->exited_at);
        if (p->io)
                process_io_exited(p->io, TASK_DRAIN_TIMEOUT_MS);
}

int process_delete(struct process *p, struct errmsg *err)
{
        struct task *t = p->task;

        if (!p->exec_id)
                return task_delete_init(t, err);
        if (p->status == PROCESS_RUNNING)
                return errmsg_set(err, -EBUSY, "exec %s: cannot delete a running process",
                                  p->exec_id);
        for (struct process **pp = &t->execs; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        p->next = NULL;
        return 0;
}
