/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tasks and their processes as ctr's client library drives them (containerd 1.6 task.go,
 * process.go), and a process in the foreground (task-run.c): its stdio relayed through FIFOs
 * (io.h), its exit awaited on a thread of its own, signals forwarded or the terminal's size
 * followed. Shared by cmd-run.c and cmd-tasks.c.
 */
#pragma once

#include "containerd/services/tasks/v1/tasks.pb-c.h"
#include "ctr/container.h"
#include "ctr/ctr.h"

typedef Containerd__V1__Types__Process ctr_process;

/* types.Status as ctr prints it in `tasks ls` ("RUNNING") and in errors ("running"). */
const char *task_status_name(int status);
const char *task_status_lower(int status);

/* Tasks.Get: -ENOENT "no running task found: task X not found: not found" as ctr words it. */
int task_get(struct ctr *c, const char *id, const char *exec_id,
             Containerd__Services__Tasks__V1__GetResponse **ret, struct errmsg *err);
int task_kill(struct ctr *c, const char *id, const char *exec_id, int sig, bool all,
              struct errmsg *err);
int task_start(struct ctr *c, const char *id, const char *exec_id, uint32_t *ret_pid,
               struct errmsg *err);
int task_close_stdin(struct ctr *c, const char *id, const char *exec_id, struct errmsg *err);
int task_resize(struct ctr *c, const char *id, const char *exec_id, unsigned width, unsigned height,
                struct errmsg *err);

/*
 * task.Delete: refused (-EBUSY "task must be stopped before deletion: running: failed
 * precondition") unless stopped, created without a pid, or unknown; with force, the task is
 * killed (SIGKILL, all processes) and awaited first. *ret_status: its exit status.
 */
int task_delete(struct ctr *c, const char *id, bool force, uint32_t *ret_status,
                struct errmsg *err);
/* process.Delete of an exec process (Tasks.DeleteProcess). */
int task_delete_process(struct ctr *c, const char *id, const char *exec_id, bool force,
                        uint32_t *ret_status, struct errmsg *err);
/* Tasks.Wait on a connection of its own (blocking): the exit status. */
int task_wait_sync(const struct ctr_opts *opts, const char *id, const char *exec_id,
                   uint32_t *ret_status, struct errmsg *err);

/* commands.WritePidFile: pid written to a temporary ".<name>" and renamed. */
int task_write_pid_file(const char *path, uint32_t pid, struct errmsg *err);
/* moby/sys/signal.ParseSignal: "SIGKILL", "KILL", "9"; -EINVAL "invalid signal: X". */
int task_parse_signal(const char *s, int *ret, struct errmsg *err);

/* --- a process in the foreground (task-run.c) ------------------------------------------- */

struct io_fifos;
struct console;

struct task_proc {
        struct ctr *c;
        const char *id;
        const char *exec_id;       /* NULL: the task's init process */
        struct io_fifos *io;       /* NULL: no stdio to relay (null-io, log-uri) */
        const struct console *con; /* a terminal in raw mode (-t): relayed, its size followed */
};

/* Starts awaiting p's exit (before it is started, as ctr does). */
struct task_waiter;
int task_waiter_start(const struct task_proc *p, struct task_waiter **ret, struct errmsg *err);
struct task_waiter *task_waiter_free(struct task_waiter *w);
DEFINE_CLEANUP_FUNC(struct task_waiter, task_waiter_free)

/*
 * Relays p's stdio, forwards signals (ForwardAllSignals) or, with a terminal, resizes its pty
 * (HandleConsoleResize), until w reports the exit; then drains the output to its end.
 * *ret_status: the exit status.
 */
int task_proc_run(const struct task_proc *p, struct task_waiter *w, uint32_t *ret_status,
                  struct errmsg *err);

/* --- a new task (task-create.c) ----------------------------------------------------------- */

/* How a new process's stdio is given (tasks.NewTask's choice of cio creator). */
struct task_io_opts {
        bool null_io;        /* --null-io: nothing */
        const char *log_uri; /* --log-uri: stdout and stderr to it */
        const char *fifo_dir;
        bool terminal; /* the process has a pty (its stderr is its stdout) */
};

/*
 * container.NewTask: FIFOs (unless null-io or log-uri), the container's rootfs mounts from
 * its snapshot, Tasks.Create. *ret_io (NULL without FIFOs) is the caller's; on failure the
 * FIFOs are gone. no_pivot: runc's no_pivot_root task option.
 */
int task_new(struct ctr *c, const char *id, const struct task_io_opts *o, bool no_pivot,
             struct io_fifos **ret_io, uint32_t *ret_pid, struct errmsg *err);

/* What `ctr run` and `ctr tasks start` ask of a new task. */
struct task_start_opts {
        struct task_io_opts io;
        bool no_pivot;
        bool detach;          /* return once started (the FIFOs stay) */
        const char *pid_file; /* --pid-file */
};

/*
 * A new task from creation to deletion (run's and start's): created, awaited (unless
 * detached), started, relayed until it exits, deleted with its FIFOs. Returns its exit
 * status for berth-ctr's (task_exit_code) or -errno. con: the terminal, raw (-t), or NULL.
 */
int task_run_new(struct ctr *c, const char *id, const struct task_start_opts *o,
                 const struct console *con, struct errmsg *err);

/*
 * The end of a foreground process: the task deleted (ctr's deferred task.Delete) and its
 * FIFOs removed.
 */
int task_finish(struct ctr *c, const char *id, struct io_fifos *io, struct errmsg *err);

/* A process's exit status as the exit status of berth-ctr (cli.NewExitError). */
static inline int task_exit_code(uint32_t status)
{
        return (int) (status & 0xff);
}
