/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr tasks (aliases t, task): attach, delete, exec, list, kill, pause, ps, resume,
 * start, metrics, as ctr 1.6's (cmd/ctr/commands/tasks), with its output and errors.
 * exec is in task-exec.c, ps and metrics in task-metrics.c.
 */
#include <signal.h>
#include <stdlib.h>

#include "ctr/commands.h"
#include "ctr/console.h"
#include "ctr/io.h"
#include "ctr/task-commands.h"
#include "ctr/task.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/log.h"

#define TASKS       "/containerd.services.tasks.v1.Tasks/"
#define STOP_SIGNAL "io.containerd.image.config.stop-signal"

/* The one operand most task commands take: "container id must be provided" without it. */
static int one_id(const struct ctr_flag *flags, int argc, char **argv, const char **ret,
                  struct errmsg *err)
{
        int r, index;

        r = ctr_flags_parse(flags, argc, argv, &index, err);
        if (r < 0)
                return r;
        *ret = index < argc ? argv[index] : "";
        if (!**ret)
                return errmsg_set(err, -EINVAL, "container id must be provided");
        return 0;
}

/* client.LoadContainer then container.Task: the container must exist, then its task. */
int task_load(struct ctr *c, const char *id, Containerd__Services__Tasks__V1__GetResponse **ret,
              struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__GetContainerResponse *got = NULL;
        int r;

        r = container_get(c, id, &got, err);
        return r < 0 ? r : task_get(c, id, NULL, ret, err);
}

static int tasks_list(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Tasks__V1__ListTasksRequest req =
                CONTAINERD__SERVICES__TASKS__V1__LIST_TASKS_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Tasks__V1__ListTasksResponse *resp = NULL;
        bool quiet = false;
        struct table *t;
        int r, index;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"quiet", 'q', CTR_FLAG_BOOL, &quiet}, {NULL}}, argc,
                argv, &index, err);
        if (r >= 0)
                r = ctr_rpc(c, TASKS "List", &req.base,
                            &containerd__services__tasks__v1__list_tasks_response__descriptor,
                            &resp, err);
        if (r < 0)
                return r;
        if (quiet) {
                for (size_t i = 0; i < resp->n_tasks; i++)
                        printf("%s\n", resp->tasks[i]->id);
                return 0;
        }
        t = table_new(stdout, 4, 4);
        table_printf(t, "TASK\tPID\tSTATUS\t\n");
        for (size_t i = 0; i < resp->n_tasks; i++)
                table_printf(t, "%s\t%u\t%s\n", resp->tasks[i]->id, resp->tasks[i]->pid,
                             task_status_name(resp->tasks[i]->status));
        table_flush(t);
        return 0;
}

/* The container's stop signal label (containerd.GetStopSignal), else def. */
static int stop_signal(const ctr_container *ct, int def, int *ret, struct errmsg *err)
{
        *ret = def;
        for (size_t i = 0; i < ct->n_labels; i++)
                if (STREQ(ct->labels[i]->key, STOP_SIGNAL))
                        return task_parse_signal(ct->labels[i]->value, ret, err);
        return 0;
}

static int tasks_kill(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__GetContainerResponse *got = NULL;
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *task = NULL;
        const char *signal = NULL, *exec_id = NULL, *id;
        bool all = false;
        int r, sig = SIGTERM;

        r = one_id((const struct ctr_flag[]){{"signal", 's', CTR_FLAG_STRING, &signal},
                                             {"exec-id", 0, CTR_FLAG_STRING, &exec_id},
                                             {"all", 'a', CTR_FLAG_BOOL, &all},
                                             {NULL}},
                   argc, argv, &id, err);
        if (r < 0)
                return r;
        if (all && exec_id && *exec_id)
                return errmsg_set(err, -EINVAL, "specify an exec-id or all; not both");
        r = container_get(c, id, &got, err);
        if (r >= 0 && signal && *signal)
                r = task_parse_signal(signal, &sig, err);
        else if (r >= 0)
                r = stop_signal(got->container, SIGTERM, &sig, err);
        if (r >= 0)
                r = task_get(c, id, NULL, &task, err);
        if (r < 0)
                return r;
        return task_kill(c, id, exec_id, sig, all, err);
}

static int pause_resume(struct ctr *c, int argc, char **argv, bool pause, struct errmsg *err)
{
        Containerd__Services__Tasks__V1__PauseTaskRequest preq =
                CONTAINERD__SERVICES__TASKS__V1__PAUSE_TASK_REQUEST__INIT;
        Containerd__Services__Tasks__V1__ResumeTaskRequest rreq =
                CONTAINERD__SERVICES__TASKS__V1__RESUME_TASK_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *task = NULL;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;
        const char *id;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        id = index < argc ? argv[index] : "";
        r = task_load(c, id, &task, err);
        if (r < 0)
                return r;
        preq.container_id = rreq.container_id = (char *) id;
        return ctr_rpc(c, pause ? TASKS "Pause" : TASKS "Resume", pause ? &preq.base : &rreq.base,
                       &google__protobuf__empty__descriptor, &resp, err);
}

static int tasks_pause(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        return pause_resume(c, argc, argv, true, err);
}

static int tasks_resume(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        return pause_resume(c, argc, argv, false, err);
}

/* One task's deletion for `tasks delete`: its FIFOs go with it (cio.Load's closer). */
static int delete_one(struct ctr *c, const char *id, bool force, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *task = NULL;
        uint32_t status = 0;
        int r;

        r = task_load(c, id, &task, err);
        if (r < 0) {
                log_error("failed to load task from %s: %s", id, err->msg);
                return r;
        }
        r = task_delete(c, id, force, &status, err);
        if (r < 0) {
                log_error("unable to delete %s: %s", id, err->msg);
                return r;
        }
        io_fifos_remove_paths(task->process->stdin, task->process->stdout, task->process->stderr);
        if (status != 0)
                log_warn("task %s exit with non-zero exit code %u", id, status);
        return 0;
}

static int tasks_delete(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        const char *exec_id = NULL;
        bool force = false;
        int r, index, first = 0;

        r = ctr_flags_parse((const struct ctr_flag[]){{"force", 'f', CTR_FLAG_BOOL, &force},
                                                      {"exec-id", 0, CTR_FLAG_STRING, &exec_id},
                                                      {NULL}},
                            argc, argv, &index, err);
        if (r < 0)
                return r;
        if (exec_id && *exec_id) {
                _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *task = NULL;
                uint32_t status = 0;
                const char *id = index < argc ? argv[index] : "";

                r = task_load(c, id, &task, err);
                if (r >= 0)
                        r = task_delete_process(c, id, exec_id, force, &status, err);
                return r < 0 ? r : task_exit_code(status);
        }
        for (int i = index; i < argc; i++) {
                struct errmsg e = {0};

                r = delete_one(c, argv[i], force, &e);
                if (r < 0 && !first) {
                        first = r;
                        *err = e;
                }
        }
        return first;
}

/* --- start, attach ------------------------------------------------------------------------ */

/* Whether the container's spec asks for a terminal (process.terminal). */
static int spec_terminal(struct ctr *c, const char *id, bool *ret, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__GetContainerResponse *got = NULL;
        json_t *spec = NULL;
        int r;

        r = container_get(c, id, &got, err);
        if (r >= 0)
                r = container_spec(got->container, &spec, err);
        if (r < 0)
                return r;
        *ret = json_is_true(json_object_get(json_object_get(spec, "process"), "terminal"));
        json_decref(spec);
        return 0;
}

static int tasks_start(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        struct task_start_opts o = {0};
        struct console con = {0};
        const char *id;
        bool tty = false;
        int r;

        r = one_id((const struct ctr_flag[]){{"null-io", 0, CTR_FLAG_BOOL, &o.io.null_io},
                                             {"log-uri", 0, CTR_FLAG_STRING, &o.io.log_uri},
                                             {"fifo-dir", 0, CTR_FLAG_STRING, &o.io.fifo_dir},
                                             {"pid-file", 0, CTR_FLAG_STRING, &o.pid_file},
                                             {"detach", 'd', CTR_FLAG_BOOL, &o.detach},
                                             {"no-pivot", 0, CTR_FLAG_BOOL, &o.no_pivot},
                                             {NULL}},
                   argc, argv, &id, err);
        if (r >= 0)
                r = spec_terminal(c, id, &tty, err);
        if (r >= 0 && tty)
                r = console_current(&con, err);
        if (r >= 0 && tty)
                r = console_set_raw(&con, err);
        o.io.terminal = tty;
        if (r >= 0)
                r = task_run_new(c, id, &o, tty ? &con : NULL, err);
        console_reset(&con);
        return r;
}

/* Attached to a running task's FIFOs until it exits; then it is deleted (as ctr does). */
static int attach_task(struct ctr *c, const char *id, const struct console *con, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *task = NULL;
        _cleanup_(task_waiter_freep) struct task_waiter *w = NULL;
        _cleanup_(io_fifos_freep) struct io_fifos *io = NULL;
        struct task_proc p = {.c = c, .id = id, .con = con};
        struct errmsg e = {0};
        uint32_t status;
        int r;

        r = task_get(c, id, NULL, &task, err);
        if (r >= 0 && task->process->status != CONTAINERD__V1__TYPES__STATUS__UNKNOWN)
                r = io_fifos_open(task->process->stdin, task->process->stdout,
                                  task->process->stderr, task->process->terminal, &io, err);
        p.io = io;
        if (r >= 0)
                r = task_waiter_start(&p, &w, err);
        if (r >= 0)
                r = task_proc_run(&p, w, &status, err);
        if (task_finish(c, id, io, &e) < 0)
                log_debug("delete task %s: %s", id, e.msg);
        return r < 0 ? r : task_exit_code(status);
}

static int tasks_attach(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        struct console con = {0};
        const char *id;
        bool tty = false;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        id = index < argc ? argv[index] : "";
        r = spec_terminal(c, id, &tty, err);
        if (r >= 0 && tty)
                r = console_current(&con, err);
        if (r >= 0 && tty)
                r = console_set_raw(&con, err);
        if (r >= 0)
                r = attach_task(c, id, tty ? &con : NULL, err);
        console_reset(&con);
        return r;
}

const struct ctr_command cmd_tasks[] = {
        {{"attach"}, "attach to the IO of a running container", tasks_attach, NULL},
        {{"delete", "del", "remove", "rm"}, "delete one or more tasks", tasks_delete, NULL},
        {{"exec"}, "execute additional processes in an existing container", task_cmd_exec, NULL},
        {{"list", "ls"}, "list tasks", tasks_list, NULL},
        {{"kill"}, "signal a container (default: SIGTERM)", tasks_kill, NULL},
        {{"pause"}, "pause an existing container", tasks_pause, NULL},
        {{"ps"}, "list processes for container", task_cmd_ps, NULL},
        {{"resume"}, "resume a paused container", tasks_resume, NULL},
        {{"start"}, "start a container that has been created", tasks_start, NULL},
        {{"metrics", "metric"},
         "get a single data point of metrics for a task with the built-in "
         "Linux runtime",
         task_cmd_metrics,
         NULL},
        {{NULL}},
};
