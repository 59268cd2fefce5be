/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The task a shim serves: one container (its init process) and its exec processes, driven
 * through the OCI runtime's command line. Nothing here knows about ttrpc or events: the
 * service (service.c) decodes requests, calls these, publishes events and answers.
 *
 * Process states follow containerd-shim-runc-v2 (pkg/process): created, running, stopped;
 * "paused" is the task's. A stopped process keeps its exit status and time until deleted.
 */
#pragma once

#include <sys/types.h>
#include <time.h>

#include "lib/errmsg.h"
#include "lib/evloop.h"
#include "shim/io.h"
#include "shim/mount.h"
#include "shim/runtime.h"

/* How long the output of an exited process's terminal is still copied, at most. */
#define TASK_DRAIN_TIMEOUT_MS 1000
/* Longest exec id (containerd's identifiers.Validate); it names files in the bundle. */
#define TASK_EXEC_ID_MAX 76
/* Most bytes of an exec process spec or of Update resources. */
#define TASK_SPEC_MAX_BYTES (1u << 20)

enum process_status {
        PROCESS_CREATED,
        PROCESS_RUNNING,
        PROCESS_STOPPED,
        _PROCESS_STATUS_MAX,
};

struct ttrpc_request;
struct task;

struct process {
        struct task *task;
        char *exec_id; /* NULL for the init process */
        enum process_status status;
        pid_t pid;
        int exit_status;
        struct timespec exited_at;
        char *stdin_path, *stdout_path, *stderr_path;
        bool terminal;
        struct process_io *io;
        char *spec; /* exec: the OCI process JSON */
        size_t spec_len;
        /* Wait calls answered when the process exits (service.c) */
        struct ttrpc_request **waiters;
        size_t n_waiters, n_waiters_alloc;
        struct process *next;
};

struct task {
        char *id;
        char *bundle;
        struct evloop *loop;
        struct runtime rt;
        struct process *init;
        struct process *execs;
        bool is_paused;
        bool kill_all_on_exit; /* no private pid namespace: kill the rest when init exits */
        bool no_pivot, no_new_keyring;
        char *rootfs; /* <bundle>/rootfs when the shim mounted it */
};

struct task_create_opts {
        const char *id;
        const char *bundle;
        const char *namespace;
        const char *runtime_binary; /* resolved path */
        const char *runtime_root;   /* before "/<namespace>" */
        bool systemd_cgroup, no_pivot, no_new_keyring;
        struct stdio_paths stdio;
        const struct rootfs_mount *mounts;
        size_t n_mounts;
};

/*
 * Mounts the rootfs, opens stdio and runs "runtime create"; the init process is then
 * created with its pid. On failure nothing is left (no mount, no runtime state). The task is
 * the caller's.
 */
int task_create(struct evloop *loop, const struct task_create_opts *o, struct task **ret,
                struct errmsg *err);
/* Frees the task and its processes (their fds); answers nothing, runs nothing. */
struct task *task_free(struct task *t);
DEFINE_CLEANUP_FUNC(struct task, task_free)

/* The init process for exec_id NULL or "", else the exec process; NULL if unknown. */
struct process *task_process(struct task *t, const char *exec_id);
/* The process with pid (init or exec, not stopped), or NULL. */
struct process *task_process_by_pid(struct task *t, pid_t pid);

/* "runtime start": -EBUSY unless the init process is created. */
int task_start(struct task *t, struct errmsg *err);
/*
 * Adds exec process exec_id (created, not running). -EEXIST for a known id, -EBUSY when the
 * init process has stopped, -EINVAL for a bad id or an oversized spec.
 */
int task_exec_add(struct task *t, const char *exec_id, const struct stdio_paths *stdio,
                  const void *spec, size_t spec_len, struct process **ret, struct errmsg *err);
/* "runtime exec --detach": the exec process runs. -EBUSY unless it is created. */
int process_exec_start(struct process *p, struct errmsg *err);
/*
 * Signals a process: the init process through "runtime kill [--all]", an exec process with
 * kill(2). -ENOENT ("process already finished") once it has stopped.
 */
int process_kill(struct process *p, int signo, bool all, struct errmsg *err);
/*
 * Deletes a process that is not running: an exec process leaves the task (the caller frees
 * it with process_free()); the init process is deleted by the runtime and the rootfs
 * unmounted (the caller frees the task). -EBUSY for a running process.
 */
int process_delete(struct process *p, struct errmsg *err);
/* Records the exit of p (status as reaper.h) and closes its stdio. */
void process_exited(struct process *p, int status);

int task_pause(struct task *t, struct errmsg *err);
int task_resume(struct task *t, struct errmsg *err);
/* "runtime update --resources -" with the OCI resources JSON. */
int task_update(struct task *t, const void *resources, size_t len, struct errmsg *err);
/* "runtime ps --format json": the pids of the container (the caller's array). */
int task_pids(struct task *t, pid_t **ret_pids, size_t *ret_n, struct errmsg *err);

/* Between task.c and process.c: a new created process (no io yet), and freeing one. */
struct process *process_new(struct task *t, const char *exec_id, const struct stdio_paths *stdio);
struct process *process_free(struct process *p);
/* process_delete() of the init process. */
int task_delete_init(struct task *t, struct errmsg *err);
/* Reads a pid file the runtime wrote: -ERANGE for 0 or garbage beyond int32. */
int pid_file_read(const char *path, pid_t *ret);

/* Parses the JSON array of pids that "ps --format json" prints. */
int task_parse_pids(const char *text, size_t len, pid_t **ret_pids, size_t *ret_n);
/* Does config.json text give the container no pid namespace of its own? true when unsure. */
bool task_spec_shares_pid_ns(const char *text, size_t len);
