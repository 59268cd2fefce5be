/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Task service's handlers (see service.h): decode the request, act on the task, publish
 * the event containerd-shim-runc-v2 publishes for it, answer. Errors carry the words and
 * codes of containerd-shim-runc-v2 where containerd or ctr look at them ("container not
 * created" NOT_FOUND, "process already finished" NOT_FOUND, FAILED_PRECONDITION for a
 * running process on Delete).
 */
#include "shim/service.h"

#include <fcntl.h>
#include <malloc.h>

#include "config.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/runc/options/oci.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "shim/stats.h"

#define RUNC_OPTIONS_TYPE    "containerd.runc.v1.Options"
#define PROCESS_DETAILS_TYPE "containerd.runc.v1.ProcessDetails"
#define CGROUP_ROOT          "/sys/fs/cgroup"

static inline void pb_freep(void *p)
{
        ProtobufCMessage **m = p;

        if (*m)
                protobuf_c_message_free_unpacked(*m, NULL);
}

static int unpack(const ProtobufCMessageDescriptor *d, const struct ttrpc_call *call, void *ret,
                  struct errmsg *err)
{
        ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, call->payload_len, call->payload);

        if (!m)
                return errmsg_set(err, -EINVAL, "%s: cannot decode %s", call->method, d->name);
        *(ProtobufCMessage **) ret = m;
        return 0;
}

static int respond(struct ttrpc_request *req, const ProtobufCMessage *m)
{
        size_t len = protobuf_c_message_get_packed_size(m);
        _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);

        len = protobuf_c_message_pack(m, buf);
        return ttrpc_respond(req, buf, len);
}

static int respond_empty(struct ttrpc_request *req)
{
        static const uint8_t none[1];

        return ttrpc_respond(req, none, 0);
}

static void timestamp_set(Google__Protobuf__Timestamp *out, const struct timespec *ts)
{
        out->seconds = ts->tv_sec;
        out->nanos = (int32_t) ts->tv_nsec;
}

/* Logs a failed call once (expected refusals at debug level) and returns r. */
static int failed(const struct ttrpc_call *call, int r, const struct errmsg *err)
{
        const char *msg = err->msg[0] ? err->msg : strerror(-r);

        if (r == -ENOENT || r == -EBUSY || r == -EEXIST || r == -EOPNOTSUPP)
                log_debug("%s: %s", call->method, msg);
        else
                log_error("%s: %s", call->method, msg);
        return r;
}

static void publish(struct shim_service *s, const ProtobufCMessage *event)
{
        struct errmsg err = {0};

        if (event_publish(&s->events, event, &err) < 0)
                log_warn("%s, dropping the event", err.msg);
}

static int get_task(struct shim_service *s, const char *id, struct task **ret, struct errmsg *err)
{
        if (!s->task || !STREQ(s->task->id, id))
                return errmsg_set(err, -ENOENT, "container not created");
        *ret = s->task;
        return 0;
}

static int get_process(struct shim_service *s, const char *id, const char *exec_id,
                       struct process **ret, struct errmsg *err)
{
        struct task *t = NULL;
        int r;

        r = get_task(s, id, &t, err);
        if (r < 0)
                return r;
        *ret = task_process(t, exec_id);
        if (!*ret)
                return errmsg_set(err, -ENOENT, "process %s does not exist", exec_id);
        return 0;
}

static const char *any_type_name(const Google__Protobuf__Any *any)
{
        const char *slash;

        if (!any || !any->type_url)
                return "";
        slash = strrchr(any->type_url, '/');
        return slash ? slash + 1 : any->type_url;
}

/* The runtime binary and root from the task's options (containerd.runc.v1.Options). */
static int create_runtime_opts(struct shim_service *s, const Google__Protobuf__Any *any,
                               struct task_create_opts *o, char **ret_binary, char **ret_root,
                               struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Runc__V1__Options *opts = NULL;
        const char *name = SHIM_DEFAULT_RUNTIME;
        int r;

        if (STREQ(any_type_name(any), RUNC_OPTIONS_TYPE)) {
                opts = containerd__runc__v1__options__unpack(NULL, any->value.len, any->value.data);
                if (!opts)
                        return errmsg_set(err, -EINVAL, "cannot decode %s", RUNC_OPTIONS_TYPE);
                if (opts->binary_name[0])
                        name = opts->binary_name;
                o->systemd_cgroup = opts->systemd_cgroup;
                o->no_pivot = opts->no_pivot_root;
                o->no_new_keyring = opts->no_new_keyring;
        } else if (any && any->type_url && any->type_url[0]) {
                log_warn("runtime options of type %s are not understood, ignoring", any->type_url);
        }
        r = runtime_find_binary(name, (const char *const *) s->self_dirs, ret_binary);
        if (r < 0)
                return errmsg_set(err, r, "runtime \"%s\": not found next to the shim or on PATH",
                                  name);
        *ret_root = xstrdup(opts && opts->root[0] ? opts->root : SHIM_DEFAULT_RUNTIME_ROOT);
        return 0;
}

static void publish_create(struct shim_service *s,
                           const Containerd__Task__V2__CreateTaskRequest *in, pid_t pid)
{
        Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
        Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;

        io.stdin = in->stdin;
        io.stdout = in->stdout;
        io.stderr = in->stderr;
        io.terminal = in->terminal;
        ev.container_id = in->id;
        ev.bundle = in->bundle;
        ev.n_rootfs = in->n_rootfs;
        ev.rootfs = in->rootfs;
        ev.io = &io;
        ev.checkpoint = in->checkpoint;
        ev.pid = (uint32_t) pid;
        publish(s, &ev.base);
}

static int create_task(struct shim_service *s, const Containerd__Task__V2__CreateTaskRequest *in,
                       struct errmsg *err)
{
        struct task_create_opts o = {.id = in->id,
                                     .bundle = in->bundle,
                                     .namespace = s->opts->namespace,
                                     .stdio = {in->stdin, in->stdout, in->stderr, in->terminal}};
        _cleanup_free_ struct rootfs_mount *mounts = xnew0(struct rootfs_mount, in->n_rootfs + 1);
        _cleanup_free_ char *binary = NULL, *root = NULL;
        int r;

        if (s->task)
                return errmsg_set(err, -EEXIST, "task %s: this shim already runs task %s", in->id,
                                  s->task->id);
        if (in->checkpoint[0])
                return errmsg_set(err, -EOPNOTSUPP, "restore from a checkpoint: not implemented");
        if (in->bundle[0] != '/' || !in->id[0])
                return errmsg_set(err, -EINVAL, "create: bundle must be an absolute path");
        r = create_runtime_opts(s, in->options, &o, &binary, &root, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < in->n_rootfs; i++)
                mounts[i] = (struct rootfs_mount){in->rootfs[i]->type, in->rootfs[i]->source,
                                                  in->rootfs[i]->options, in->rootfs[i]->n_options};
        o.runtime_binary = binary;
        o.runtime_root = root;
        o.mounts = mounts;
        o.n_mounts = in->n_rootfs;
        return task_create(s->loop, &o, &s->task, err);
}

static void publish_oom(void *userdata)
{
        Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
        struct shim_service *s = userdata;

        if (!s->task)
                return;
        log_info("task %s: out of memory", s->task->id);
        ev.container_id = s->task->id;
        publish(s, &ev.base);
}

/* TaskOOM needs the init process's memory cgroup; without one (none mounted) there are none. */
static void watch_oom(struct shim_service *s)
{
        struct errmsg err = {0};
        int r;

        r = oom_watch_pid(s->loop, s->task->init->pid, publish_oom, s, &s->oom, &err);
        if (r < 0)
                log_debug("task %s: no OOM events: %s", s->task->id, err.msg);
}

static int task_create_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                          struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__CreateTaskRequest *in = NULL;
        Containerd__Task__V2__CreateTaskResponse out =
                CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
        struct shim_service *s = userdata;
        int r;

        r = unpack(&containerd__task__v2__create_task_request__descriptor, call, &in, err);
        if (r >= 0)
                r = create_task(s, in, err);
        if (r < 0)
                return failed(call, r, err);
        log_info("task %s created, init pid %d", in->id, (int) s->task->init->pid);
        publish_create(s, in, s->task->init->pid);
        watch_oom(s);
        out.pid = (uint32_t) s->task->init->pid;
        r = respond(req, &out.base);
        /* Creating parsed config.json and ran the runtime: hand the freed heap back */
        (void) malloc_trim(0);
        return r;
}

static void publish_started(struct shim_service *s, const struct process *p)
{
        Containerd__Events__TaskExecStarted exec = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
        Containerd__Events__TaskStart start = CONTAINERD__EVENTS__TASK_START__INIT;

        if (!p->exec_id) {
                start.container_id = p->task->id;
                start.pid = (uint32_t) p->pid;
                publish(s, &start.base);
                return;
        }
        exec.container_id = p->task->id;
        exec.exec_id = p->exec_id;
        exec.pid = (uint32_t) p->pid;
        publish(s, &exec.base);
}

static int task_start_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                         struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__StartRequest *in = NULL;
        Containerd__Task__V2__StartResponse out = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
        struct shim_service *s = userdata;
        struct process *p = NULL;
        int r;

        r = unpack(&containerd__task__v2__start_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_process(s, in->id, in->exec_id, &p, err);
        if (r >= 0)
                r = p->exec_id ? process_exec_start(p, err) : task_start(p->task, err);
        if (r < 0)
                return failed(call, r, err);
        log_debug("task %s: %s started, pid %d", p->task->id, p->exec_id ? p->exec_id : "init",
                  (int) p->pid);
        /* Published before any exit of p can be reaped (the loop reaps after we return). */
        publish_started(s, p);
        out.pid = (uint32_t) p->pid;
        return respond(req, &out.base);
}

static int wait_respond(struct ttrpc_request *req, const struct process *p)
{
        Containerd__Task__V2__WaitResponse out = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
        Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

        timestamp_set(&at, &p->exited_at);
        out.exit_status = (uint32_t) p->exit_status;
        out.exited_at = &at;
        return respond(req, &out.base);
}

/* Answers the Wait calls on p with its exit, or with code when it never will exit. */
static void answer_waiters(struct process *p, enum rpc_code code)
{
        for (size_t i = 0; i < p->n_waiters; i++) {
                if (code == RPC_OK)
                        (void) wait_respond(p->waiters[i], p);
                else
                        (void) ttrpc_respond_error(p->waiters[i], code, "process deleted");
                (void) ttrpc_request_unref(p->waiters[i]);
        }
        p->n_waiters = 0;
}

static void drop_task(struct shim_service *s)
{
        if (!s->task)
                return;
        for (struct process *p = s->task->execs; p; p = p->next)
                answer_waiters(p, RPC_NOT_FOUND);
        answer_waiters(s->task->init, RPC_NOT_FOUND);
        s->oom = oom_watch_free(s->oom);
        s->task = task_free(s->task);
}

static void publish_delete(struct shim_service *s, const struct process *p)
{
        Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
        Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

        timestamp_set(&at, &p->exited_at);
        ev.container_id = p->task->id;
        ev.pid = (uint32_t) p->pid;
        ev.exit_status = (uint32_t) p->exit_status;
        ev.exited_at = &at;
        publish(s, &ev.base);
}

static int task_delete_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                          struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__DeleteRequest *in = NULL;
        Containerd__Task__V2__DeleteResponse out = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
        Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        struct shim_service *s = userdata;
        struct process *p = NULL;
        int r;

        r = unpack(&containerd__task__v2__delete_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_process(s, in->id, in->exec_id, &p, err);
        if (r >= 0)
                r = process_delete(p, err);
        if (r < 0)
                return failed(call, r, err);
        timestamp_set(&at, &p->exited_at);
        out.pid = (uint32_t) p->pid;
        out.exit_status = (uint32_t) p->exit_status;
        out.exited_at = &at;
        if (p->exec_id) {
                /* a process that never ran will not exit: its waiters learn it is gone */
                answer_waiters(p, p->status == PROCESS_STOPPED ? RPC_OK : RPC_NOT_FOUND);
                (void) process_free(p);
        } else {
                log_info("task %s deleted", in->id);
                publish_delete(s, p);
                drop_task(s);
        }
        return respond(req, &out.base);
}

static int pids_respond(struct ttrpc_request *req, struct task *t, const pid_t *pids, size_t n)
{
        Containerd__Task__V2__PidsResponse out = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
        _cleanup_free_ Containerd__V1__Types__ProcessInfo *infos =
                xnew0(Containerd__V1__Types__ProcessInfo, n + 1);
        _cleanup_free_ Containerd__V1__Types__ProcessInfo **ptrs =
                xnew0(Containerd__V1__Types__ProcessInfo *, n + 1);
        _cleanup_free_ Google__Protobuf__Any *anys = xnew0(Google__Protobuf__Any, n + 1);
        _cleanup_free_ Containerd__Runc__V1__ProcessDetails *details =
                xnew0(Containerd__Runc__V1__ProcessDetails, n + 1);
        _cleanup_free_ uint8_t *packed = xmalloc(n * (TASK_EXEC_ID_MAX + 2) + 1);
        size_t used = 0;

        for (size_t i = 0; i < n; i++) {
                struct process *p = task_process_by_pid(t, pids[i]);

                containerd__v1__types__process_info__init(&infos[i]);
                infos[i].pid = (uint32_t) pids[i];
                ptrs[i] = &infos[i];
                if (!p || !p->exec_id)
                        continue;
                containerd__runc__v1__process_details__init(&details[i]);
                details[i].exec_id = p->exec_id;
                google__protobuf__any__init(&anys[i]);
                anys[i].type_url = (char *) PROCESS_DETAILS_TYPE;
                anys[i].value.data = packed + used;
                anys[i].value.len =
                        containerd__runc__v1__process_details__pack(&details[i], packed + used);
                used += anys[i].value.len;
                infos[i].info = &anys[i];
        }
        out.n_processes = n;
        out.processes = ptrs;
        return respond(req, &out.base);
}

static int task_pids_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                        struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__PidsRequest *in = NULL;
        struct shim_service *s = userdata;
        _cleanup_free_ pid_t *pids = NULL;
        struct task *t = NULL;
        size_t n = 0;
        int r;

        r = unpack(&containerd__task__v2__pids_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_task(s, in->id, &t, err);
        if (r >= 0)
                r = task_pids(t, &pids, &n, err);
        if (r < 0)
                return failed(call, r, err);
        return pids_respond(req, t, pids, n);
}

static int task_pause_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                         struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__PauseRequest *in = NULL;
        Containerd__Events__TaskPaused ev = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
        struct shim_service *s = userdata;
        struct task *t = NULL;
        int r;

        r = unpack(&containerd__task__v2__pause_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_task(s, in->id, &t, err);
        if (r >= 0)
                r = task_pause(t, err);
        if (r < 0)
                return failed(call, r, err);
        ev.container_id = t->id;
        publish(s, &ev.base);
        return respond_empty(req);
}

static int task_resume_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                          struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__ResumeRequest *in = NULL;
        Containerd__Events__TaskResumed ev = CONTAINERD__EVENTS__TASK_RESUMED__INIT;
        struct shim_service *s = userdata;
        struct task *t = NULL;
        int r;

        r = unpack(&containerd__task__v2__resume_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_task(s, in->id, &t, err);
        if (r >= 0)
                r = task_resume(t, err);
        if (r < 0)
                return failed(call, r, err);
        ev.container_id = t->id;
        publish(s, &ev.base);
        return respond_empty(req);
}

static int task_checkpoint_fn(struct ttrpc_request *req, const struct ttrpc_call *call,
                              void *userdata, struct errmsg *err)
{
        (void) req, (void) userdata;
        return failed(call, errmsg_set(err, -EOPNOTSUPP, "checkpoint: not implemented"), err);
}

static int task_kill_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                        struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__KillRequest *in = NULL;
        struct shim_service *s = userdata;
        struct process *p = NULL;
        int r;

        r = unpack(&containerd__task__v2__kill_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_process(s, in->id, in->exec_id, &p, err);
        if (r >= 0 && (in->signal == 0 || in->signal > 64))
                r = errmsg_set(err, -EINVAL, "kill: invalid signal %u", in->signal);
        if (r >= 0)
                r = process_kill(p, (int) in->signal, in->all, err);
        if (r < 0)
                return failed(call, r, err);
        return respond_empty(req);
}

static int task_exec_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                        struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__ExecProcessRequest *in = NULL;
        Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
        struct shim_service *s = userdata;
        struct process *p = NULL;
        struct task *t = NULL;
        int r;

        r = unpack(&containerd__task__v2__exec_process_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_task(s, in->id, &t, err);
        if (r >= 0 && !in->spec)
                r = errmsg_set(err, -EINVAL, "exec %s: no process spec", in->exec_id);
        if (r >= 0) {
                struct stdio_paths stdio = {in->stdin, in->stdout, in->stderr, in->terminal};

                r = task_exec_add(t, in->exec_id, &stdio, in->spec->value.data, in->spec->value.len,
                                  &p, err);
        }
        if (r < 0)
                return failed(call, r, err);
        ev.container_id = t->id;
        ev.exec_id = p->exec_id;
        publish(s, &ev.base);
        return respond_empty(req);
}

static int task_resize_pty_fn(struct ttrpc_request *req, const struct ttrpc_call *call,
                              void *userdata, struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__ResizePtyRequest *in = NULL;
        struct shim_service *s = userdata;
        struct process *p = NULL;
        int r;

        r = unpack(&containerd__task__v2__resize_pty_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_process(s, in->id, in->exec_id, &p, err);
        /* Like containerd-shim-runc-v2, a process without a terminal ignores the call. */
        if (r >= 0 && p->io) {
                r = process_io_resize(p->io, in->width, in->height);
                if (r == -ENOTTY)
                        r = 0;
                if (r < 0)
                        r = errmsg_set(err, r, "resize pty: %s", strerror(-r));
        }
        if (r < 0)
                return failed(call, r, err);
        return respond_empty(req);
}

static int task_close_io_fn(struct ttrpc_request *req, const struct ttrpc_call *call,
                            void *userdata, struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__CloseIORequest *in = NULL;
        struct shim_service *s = userdata;
        struct process *p = NULL;
        int r;

        r = unpack(&containerd__task__v2__close_iorequest__descriptor, call, &in, err);
        if (r >= 0)
                r = get_process(s, in->id, in->exec_id, &p, err);
        if (r < 0)
                return failed(call, r, err);
        if (p->io)
                process_io_close_stdin(p->io);
        return respond_empty(req);
}

static int task_update_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                          struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__UpdateTaskRequest *in = NULL;
        struct shim_service *s = userdata;
        struct task *t = NULL;
        int r;

        r = unpack(&containerd__task__v2__update_task_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_task(s, in->id, &t, err);
        if (r >= 0 && !in->resources)
                r = errmsg_set(err, -EINVAL, "update %s: no resources", in->id);
        if (r >= 0)
                r = task_update(t, in->resources->value.data, in->resources->value.len, err);
        if (r < 0)
                return failed(call, r, err);
        return respond_empty(req);
}

static int task_wait_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                        struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__WaitRequest *in = NULL;
        struct shim_service *s = userdata;
        struct process *p = NULL;
        int r;

        r = unpack(&containerd__task__v2__wait_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_process(s, in->id, in->exec_id, &p, err);
        if (r < 0)
                return failed(call, r, err);
        if (p->status == PROCESS_STOPPED)
                return wait_respond(req, p);
        /* Answered by shim_service_on_exit() (or with an error when the process goes). */
        p->waiters = xgrow(p->waiters, &p->n_waiters_alloc, p->n_waiters + 1, sizeof(*p->waiters));
        p->waiters[p->n_waiters++] = ttrpc_request_ref(req);
        return 0;
}

/* The init process's cgroup metrics (cgroup v1, or v2 on a pure v2 system). */
static int task_metrics(struct task *t, const char **ret_type, uint8_t **ret, size_t *ret_len,
                        struct errmsg *err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;
        int r;

        if (t->init->status != PROCESS_RUNNING)
                return errmsg_set(err, -ENOENT, "cgroup does not exist");
        path = xasprintf("/proc/%d/cgroup", (int) t->init->pid);
        r = read_file_at(AT_FDCWD, path, STATS_FILE_MAX_BYTES, &text, &len);
        if (r < 0)
                return errmsg_set(err, r == -ENOENT ? -ENOENT : r, "stats: read %s: %s", path,
                                  strerror(-r));
        return stats_cgroup(CGROUP_ROOT, text, ret_type, ret, ret_len, err);
}

static int task_stats_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                         struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__StatsRequest *in = NULL;
        Containerd__Task__V2__StatsResponse out = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        struct shim_service *s = userdata;
        _cleanup_free_ uint8_t *metrics = NULL;
        const char *type = NULL;
        struct task *t = NULL;
        size_t len = 0;
        int r;

        r = unpack(&containerd__task__v2__stats_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_task(s, in->id, &t, err);
        if (r >= 0)
                r = task_metrics(t, &type, &metrics, &len, err);
        if (r < 0)
                return failed(call, r, err);
        any.type_url = (char *) type;
        any.value.data = metrics;
        any.value.len = len;
        out.stats = &any;
        return respond(req, &out.base);
}

static int task_connect_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                           struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__ConnectRequest *in = NULL;
        Containerd__Task__V2__ConnectResponse out = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
        struct shim_service *s = userdata;
        int r;

        r = unpack(&containerd__task__v2__connect_request__descriptor, call, &in, err);
        if (r < 0)
                return failed(call, r, err);
        out.shim_pid = (uint32_t) getpid();
        if (s->task && STREQ(s->task->id, in->id))
                out.task_pid = (uint32_t) s->task->init->pid;
        out.version = (char *) BERTH_VERSION;
        return respond(req, &out.base);
}

static int task_shutdown_fn(struct ttrpc_request *req, const struct ttrpc_call *call,
                            void *userdata, struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__ShutdownRequest *in = NULL;
        struct shim_service *s = userdata;
        int r;

        r = unpack(&containerd__task__v2__shutdown_request__descriptor, call, &in, err);
        if (r < 0)
                return failed(call, r, err);
        /* A shim that still serves a task stays (containerd-shim-runc-v2 does the same). */
        r = respond_empty(req);
        if (!s->task) {
                log_debug("shutdown");
                evloop_exit(s->loop, 0);
        }
        return r;
}

static Containerd__V1__Types__Status process_state(const struct process *p)
{
        switch (p->status) {
        case PROCESS_CREATED:
                return CONTAINERD__V1__TYPES__STATUS__CREATED;
        case PROCESS_RUNNING:
                return p->task->is_paused ? CONTAINERD__V1__TYPES__STATUS__PAUSED
                                          : CONTAINERD__V1__TYPES__STATUS__RUNNING;
        case PROCESS_STOPPED:
                return CONTAINERD__V1__TYPES__STATUS__STOPPED;
        default:
                return CONTAINERD__V1__TYPES__STATUS__UNKNOWN;
        }
}

static int task_state_fn(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                         struct errmsg *err)
{
        _cleanup_(pb_freep) Containerd__Task__V2__StateRequest *in = NULL;
        Containerd__Task__V2__StateResponse out = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
        Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        struct shim_service *s = userdata;
        struct process *p = NULL;
        int r;

        r = unpack(&containerd__task__v2__state_request__descriptor, call, &in, err);
        if (r >= 0)
                r = get_process(s, in->id, in->exec_id, &p, err);
        if (r < 0)
                return failed(call, r, err);
        out.id = p->exec_id ? p->exec_id : p->task->id;
        out.bundle = p->task->bundle;
        out.pid = (uint32_t) p->pid;
        out.status = process_state(p);
        out.stdin = p->stdin_path;
        out.stdout = p->stdout_path;
        out.stderr = p->stderr_path;
        out.terminal = p->terminal;
        out.exit_status = (uint32_t) p->exit_status;
        if (p->status == PROCESS_STOPPED) {
                timestamp_set(&at, &p->exited_at);
                out.exited_at = &at;
        }
        return respond(req, &out.base);
}

const struct ttrpc_method shim_task_methods[] = {
        {TASK_SERVICE, "State", task_state_fn},
        {TASK_SERVICE, "Create", task_create_fn},
        {TASK_SERVICE, "Start", task_start_fn},
        {TASK_SERVICE, "Delete", task_delete_fn},
        {TASK_SERVICE, "Pids", task_pids_fn},
        {TASK_SERVICE, "Pause", task_pause_fn},
        {TASK_SERVICE, "Resume", task_resume_fn},
        {TASK_SERVICE, "Checkpoint", task_checkpoint_fn},
        {TASK_SERVICE, "Kill", task_kill_fn},
        {TASK_SERVICE, "Exec", task_exec_fn},
        {TASK_SERVICE, "ResizePty", task_resize_pty_fn},
        {TASK_SERVICE, "CloseIO", task_close_io_fn},
        {TASK_SERVICE, "Update", task_update_fn},
        {TASK_SERVICE, "Wait", task_wait_fn},
        {TASK_SERVICE, "Stats", task_stats_fn},
        {TASK_SERVICE, "Connect", task_connect_fn},
        {TASK_SERVICE, "Shutdown", task_shutdown_fn},
        {NULL, NULL, NULL},
};

static void publish_exit(struct shim_service *s, const struct process *p)
{
        Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
        Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

        timestamp_set(&at, &p->exited_at);
        ev.container_id = p->task->id;
        ev.id = p->exec_id ? p->exec_id : p->task->id;
        ev.pid = (uint32_t) p->pid;
        ev.exit_status = (uint32_t) p->exit_status;
        ev.exited_at = &at;
        publish(s, &ev.base);
}

void shim_service_on_exit(pid_t pid, int status, void *userdata)
{
        struct shim_service *s = userdata;
        const char *args[] = {"kill", "--all", NULL, "9", NULL};
        static const int no_stdio[3] = {-EBADF, -EBADF, -EBADF};
        struct process *p = s->task ? task_process_by_pid(s->task, pid) : NULL;

        if (!p)
                return; /* a runtime helper, or a process of a deleted task */
        if (!p->exec_id && s->task->kill_all_on_exit) {
                /* No pid namespace of its own: nothing kills the rest of the container. */
                args[2] = s->task->id;
                (void) runtime_run(&s->task->rt, args, no_stdio, NULL);
        }
        process_exited(p, status);
        log_debug("task %s: %s (pid %d) exited with status %d", s->task->id,
                  p->exec_id ? p->exec_id : "init", (int) pid, status);
        /* TaskExit before the Wait answers, so containerd never sees a delete first. */
        publish_exit(s, p);
        answer_waiters(p, RPC_OK);
}

void shim_service_init(struct shim_service *s, const struct shim_opts *opts, struct evloop *loop,
                       const char *ttrpc_address)
{
        *s = (struct shim_service){.opts = opts, .loop = loop};
        event_publisher_init(&s->events, loop, ttrpc_address, opts->namespace);
        runtime_self_dirs(opts->self, s->self_dirs);
}

void shim_service_release(struct shim_service *s)
{
        drop_task(s);
        event_publisher_release(&s->events);
        for (size_t i = 0; i < ELEMENTSOF(s->self_dirs); i++)
                free(s->self_dirs[i]);
}
