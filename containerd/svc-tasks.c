/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.services.tasks.v1.Tasks over the shims (task.h), as containerd 1.6's
 * services/tasks/local.go and runtime/v2 do it. Most requests have the layout of the shim's
 * request (field 1 the container id, then the same fields with the same numbers: Start, Kill,
 * ResizePty, CloseIO, Pause, Resume, ListPids, Update, Wait, Get's State), so their bytes go
 * to the shim as they are and, where the answers match too, come back as they are. Create,
 * Exec, Get, List, Delete, DeleteProcess and Metrics translate. The relayed calls, Create's
 * and Exec's run in a thread each (task_call_async), so the loop serves other calls while
 * the runtime works; Wait's is answered when the process exits.
 */
#include "containerd/metadata.h"
#include "containerd/services/tasks/v1/tasks.pb-c.h"
#include "containerd/svc.h"
#include "containerd/task.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define TASKS "/containerd.services.tasks.v1.Tasks/"

static void *pack_message(const ProtobufCMessage *m, size_t *ret_size)
{
        size_t len = protobuf_c_message_get_packed_size(m);
        uint8_t *buf = xmalloc(len ? len : 1);

        *ret_size = protobuf_c_message_pack(m, buf);
        return buf;
}

/* The task of the request's container_id (a string field 1 in every request here). */
static int find_task(struct grpc_call *call, struct daemon *d,
                     const ProtobufCMessageDescriptor *desc, const uint8_t *msg, size_t len,
                     struct task **ret, struct errmsg *err)
{
        _cleanup_pb_ ProtobufCMessage *in = NULL;
        const ProtobufCFieldDescriptor *f;
        const char *ns, *id;
        struct task *task = NULL;
        int r;

        r = svc_namespace(call, &ns, err);
        if (r >= 0)
                r = svc_unpack(desc, msg, len, &in, err);
        if (r < 0)
                return r;
        f = protobuf_c_message_descriptor_get_field_by_name(desc, "container_id");
        assert(f && f->type == PROTOBUF_C_TYPE_STRING);
        id = *(char **) ((char *) in + f->offset);
        task = task_find(d->tasks, ns, id);
        if (!task)
                return errmsg_set(err, -ENOENT, "task %s not found", id);
        *ret = task;
        return 0;
}

/* The errors of a connection to a shim that is not there any more (ttrpc.h). */
static bool is_shim_gone(int r)
{
        return r == -ENOTCONN || r == -EPIPE || r == -ECONNRESET;
}

/*
 * After a call to task's shim failed with r: a shim that is gone is cleaned up after (its
 * runtime state, the bundle, the task: containerd does it when the shim's connection
 * closes) and the task is then not found; task is freed. Other errors are returned as they are.
 */
static int shim_gone(struct task *task, int r, struct errmsg *err)
{
        _cleanup_free_ char *id = NULL;
        struct timespec exited_at;
        uint32_t exit_status;

        if (!is_shim_gone(r))
                return r;
        id = xstrdup(task->id);
        log_warn("task %s/%s: shim gone (%s): cleaning up", task->ns, id, strerror(-r));
        task_destroy_dead(task, &exit_status, &exited_at);
        return errmsg_set(err, -ENOENT, "task %s not found", id);
}

/* task_call(), and shim_gone() on failure (task is then gone). */
static int call_shim(struct task *task, const char *method, const uint8_t *payload, size_t len,
                     uint8_t **ret_payload, size_t *ret_len, struct errmsg *err)
{
        int r = task_call(task, method, payload, len, ret_payload, ret_len, err);

        return r < 0 ? shim_gone(task, r, err) : r;
}

/* --- requests passed through -------------------------------------------------------------- */

struct passthrough {
        const char *path;
        const ProtobufCMessageDescriptor *desc;
        const char *shim_method;
};

static const struct passthrough passthroughs[] = {
        {TASKS "Start", &containerd__services__tasks__v1__start_request__descriptor, "Start"},
        {TASKS "Kill", &containerd__services__tasks__v1__kill_request__descriptor, "Kill"},
        {TASKS "ResizePty", &containerd__services__tasks__v1__resize_pty_request__descriptor,
         "ResizePty"},
        {TASKS "CloseIO", &containerd__services__tasks__v1__close_iorequest__descriptor, "CloseIO"},
        {TASKS "Pause", &containerd__services__tasks__v1__pause_task_request__descriptor, "Pause"},
        {TASKS "Resume", &containerd__services__tasks__v1__resume_task_request__descriptor,
         "Resume"},
        {TASKS "ListPids", &containerd__services__tasks__v1__list_pids_request__descriptor, "Pids"},
        {TASKS "Update", &containerd__services__tasks__v1__update_task_request__descriptor,
         "Update"},
};

static const struct passthrough *find_passthrough(const char *path)
{
        for (size_t i = 0; i < ELEMENTSOF(passthroughs); i++)
                if (STREQ(passthroughs[i].path, path))
                        return &passthroughs[i];
        return NULL;
}

/* A call waiting for its shim's answer in task_call_async's thread. */
struct pending {
        struct grpc_call *call;
        struct daemon *d;
        char *ns;
        char *id;
};

static struct pending *pending_new(struct grpc_call *call, struct daemon *d,
                                   const struct task *task)
{
        struct pending *p = xnew0(struct pending, 1);

        *p = (struct pending){grpc_call_ref(call), d, xstrdup(task->ns), xstrdup(task->id)};
        return p;
}

static void pending_free(struct pending *p)
{
        grpc_call_unref(p->call);
        free(p->ns);
        free(p->id);
        free(p);
}

/* The shim's answer, relayed; a shim found gone is cleaned up after as call_shim() does. */
static void pending_done(int r, uint8_t *payload, size_t len, const struct errmsg *err,
                         void *userdata)
{
        struct pending *p = userdata;
        struct errmsg e = {0};

        if (r >= 0) {
                (void) grpc_call_reply(p->call, payload, len);
        } else {
                struct task *task = task_find(p->d->tasks, p->ns, p->id);

                if (err)
                        e = *err;
                if (task && is_shim_gone(r))
                        r = shim_gone(task, r, &e);
                (void) svc_finish_error(p->call, r, &e);
        }
        free(payload);
        pending_free(p);
}

/* Relays the request to the shim from a thread (task_call_async) within timeout_ms. */
static int relay_async(struct grpc_call *call, struct daemon *d, struct task *task,
                       const char *method, const uint8_t *msg, size_t len, int timeout_ms,
                       struct errmsg *err)
{
        struct pending *p = pending_new(call, d, task);
        int r;

        r = task_call_async(task, method, msg, len, timeout_ms, pending_done, p);
        if (r < 0) {
                pending_free(p);
                return errmsg_set(err, r, "%s %s: %s", method, task->id, strerror(-r));
        }
        return 0;
}

/* The request goes to the shim as it is, from a thread: the loop serves other calls while
 * the runtime works (runc start, kill, pause...). */
static int passthrough_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                          struct errmsg *err)
{
        const struct passthrough *p = find_passthrough(grpc_call_path(call));
        struct task *task = NULL;
        int r;

        assert(p);
        r = find_task(call, userdata, p->desc, msg, len, &task, err);
        if (r < 0)
                return r;
        return relay_async(call, userdata, task, p->shim_method, msg, len, TASK_CALL_TIMEOUT_MS,
                           err);
}

/* Wait: without a timeout, answered when the process exits. */
static int wait_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        struct task *task = NULL;
        int r;

        r = find_task(call, userdata, &containerd__services__tasks__v1__wait_request__descriptor,
                      msg, len, &task, err);
        if (r < 0)
                return r;
        return relay_async(call, userdata, task, "Wait", msg, len, 0, err);
}

/* --- Create -------------------------------------------------------------------------------- */

/* The shim's CreateTaskRequest for the task (packed; the caller's). */
static uint8_t *pack_create(const struct task *task,
                            const Containerd__Services__Tasks__V1__CreateTaskRequest *in,
                            Google__Protobuf__Any *options, size_t *ret_len)
{
        Containerd__Task__V2__CreateTaskRequest req =
                CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;

        req.id = task->id;
        req.bundle = task->bundle;
        req.n_rootfs = in->n_rootfs;
        req.rootfs = in->rootfs;
        req.terminal = in->terminal;
        req.stdin = in->stdin;
        req.stdout = in->stdout;
        req.stderr = in->stderr;
        req.options = options;
        return pack_message(&req.base, ret_len);
}

/* The shim's answer to Create (runc create ran meanwhile, off the loop): the task's pid, or
 * the task undone and containerd's words. */
static void create_done(int r, uint8_t *payload, size_t len, const struct errmsg *err,
                        void *userdata)
{
        struct pending *p = userdata;
        Containerd__Task__V2__CreateTaskResponse *resp = NULL;
        struct errmsg e = {0};

        if (r >= 0) {
                resp = containerd__task__v2__create_task_response__unpack(NULL, len, payload);
                if (!resp)
                        r = errmsg_set(&e, -EBADMSG, "shim Create: undecodable answer");
        } else if (err) {
                e = *err;
        }
        if (r >= 0) {
                Containerd__Services__Tasks__V1__CreateTaskResponse out =
                        CONTAINERD__SERVICES__TASKS__V1__CREATE_TASK_RESPONSE__INIT;

                out.container_id = p->id;
                out.pid = resp->pid;
                (void) svc_reply(p->call, &out.base);
                containerd__task__v2__create_task_response__free_unpacked(resp, NULL);
        } else {
                struct task *task = task_find(p->d->tasks, p->ns, p->id);

                if (task)
                        task_destroy(task);
                /* containerd's runtime/v2 words it so */
                (void) errmsg_prefix(&e, r, "failed to create shim task");
                (void) svc_finish_error(p->call, r, &e);
        }
        free(payload);
        pending_free(p);
}

static int create_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Tasks__V1__CreateTaskRequest *in = NULL;
        _cleanup_pb_ Google__Protobuf__Any *spec = NULL, *runtime_options = NULL;
        _cleanup_free_ uint8_t *task_options = NULL, *buf = NULL;
        struct container_record rec = {0};
        struct daemon *d = userdata;
        struct task_create_opts o;
        Google__Protobuf__Any *options;
        struct task *task = NULL;
        struct pending *p;
        const char *ns;
        size_t task_options_size = 0, buf_len;
        int r;

        r = svc_namespace(call, &ns, err);
        if (r >= 0)
                r = svc_unpack(&containerd__services__tasks__v1__create_task_request__descriptor,
                               msg, len, &in, err);
        if (r >= 0)
                r = container_get(d->st->md, ns, in->container_id, &rec, err);
        if (r < 0)
                return r;
        if (in->checkpoint) {
                container_record_release(&rec);
                return errmsg_set(err, -EOPNOTSUPP, "create %s from a checkpoint",
                                  in->container_id);
        }
        spec = rec.spec ? google__protobuf__any__unpack(NULL, rec.spec_size, rec.spec) : NULL;
        runtime_options = rec.runtime_options
                                  ? google__protobuf__any__unpack(NULL, rec.runtime_options_size,
                                                                  rec.runtime_options)
                                  : NULL;
        if (!spec) {
                container_record_release(&rec);
                return errmsg_set(err, -EINVAL, "container %s: no spec", in->container_id);
        }
        /* containerd: the task's options if the request has them, else the container's */
        options = in->options ? in->options : runtime_options;
        if (options)
                task_options = pack_message(&options->base, &task_options_size);
        o = (struct task_create_opts){
                .ns = ns,
                .id = in->container_id,
                .runtime = rec.runtime_name,
                .spec_json = spec->value.data,
                .spec_json_size = spec->value.len,
                .options = task_options,
                .options_size = task_options_size,
        };
        r = task_start_shim(d->tasks, &o, &task, err);
        container_record_release(&rec);
        if (r < 0)
                return r;
        buf = pack_create(task, in, options, &buf_len);
        p = pending_new(call, d, task);
        r = task_call_async(task, "Create", buf, buf_len, TASK_CALL_TIMEOUT_MS, create_done, p);
        if (r < 0) {
                pending_free(p);
                task_destroy(task);
                return errmsg_set(err, r, "failed to create shim task: %s", strerror(-r));
        }
        return 0;
}

/* --- Get, List ----------------------------------------------------------------------------- */

/* The shim's State of task/exec_id as a Process (strings point into *ret_state, freed by the
 * caller). */
static int task_state(struct task *task, const char *exec_id,
                      Containerd__Task__V2__StateResponse **ret_state, struct errmsg *err)
{
        Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
        _cleanup_free_ uint8_t *buf = NULL, *answer = NULL;
        Containerd__Task__V2__StateResponse *st;
        size_t len, answer_len;
        int r;

        req.id = task->id;
        req.exec_id = (char *) exec_id;
        buf = pack_message(&req.base, &len);
        r = call_shim(task, "State", buf, len, &answer, &answer_len, err);
        if (r < 0)
                return r;
        st = containerd__task__v2__state_response__unpack(NULL, answer_len, answer);
        if (!st)
                return errmsg_set(err, -EBADMSG, "shim State: undecodable answer");
        *ret_state = st;
        return 0;
}

static void process_from_state(const struct task *task,
                               const Containerd__Task__V2__StateResponse *st,
                               Containerd__V1__Types__Process *p)
{
        *p = (Containerd__V1__Types__Process) CONTAINERD__V1__TYPES__PROCESS__INIT;
        p->container_id = task->id;
        p->id = st->exec_id && st->exec_id[0] ? st->exec_id : task->id;
        p->pid = st->pid;
        p->status = st->status;
        p->stdin = st->stdin;
        p->stdout = st->stdout;
        p->stderr = st->stderr;
        p->terminal = st->terminal;
        p->exit_status = st->exit_status;
        p->exited_at = st->exited_at;
}

static int get_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                  struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetRequest *in = NULL;
        _cleanup_pb_ Containerd__Task__V2__StateResponse *st = NULL;
        Containerd__Services__Tasks__V1__GetResponse out =
                CONTAINERD__SERVICES__TASKS__V1__GET_RESPONSE__INIT;
        Containerd__V1__Types__Process p;
        struct task *task = NULL;
        int r;

        r = find_task(call, userdata, &containerd__services__tasks__v1__get_request__descriptor,
                      msg, len, &task, err);
        if (r >= 0)
                r = svc_unpack(&containerd__services__tasks__v1__get_request__descriptor, msg, len,
                               &in, err);
        if (r >= 0)
                r = task_state(task, in->exec_id, &st, err);
        if (r < 0)
                return r;
        process_from_state(task, st, &p);
        out.process = &p;
        return svc_reply(call, &out.base);
}

static int list_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Tasks__V1__ListTasksRequest *in = NULL;
        Containerd__Services__Tasks__V1__ListTasksResponse out =
                CONTAINERD__SERVICES__TASKS__V1__LIST_TASKS_RESPONSE__INIT;
        _cleanup_free_ struct task **tasks = NULL;
        _cleanup_free_ Containerd__Task__V2__StateResponse **states = NULL;
        _cleanup_free_ Containerd__V1__Types__Process *procs = NULL, **ptrs = NULL;
        struct daemon *d = userdata;
        const char *ns;
        size_t n = 0, k = 0;
        int r;

        r = svc_namespace(call, &ns, err);
        if (r >= 0)
                r = svc_unpack(&containerd__services__tasks__v1__list_tasks_request__descriptor,
                               msg, len, &in, err);
        if (r < 0)
                return r;
        tasks = task_list(d->tasks, ns, &n);
        states = xnew0(Containerd__Task__V2__StateResponse *, n + 1);
        procs = xnew0(Containerd__V1__Types__Process, n + 1);
        ptrs = xnew0(Containerd__V1__Types__Process *, n + 1);
        for (size_t i = 0; i < n; i++) {
                /* containerd skips tasks whose shim does not answer */
                if (task_state(tasks[i], "", &states[k], NULL) < 0)
                        continue;
                process_from_state(tasks[i], states[k], &procs[k]);
                ptrs[k] = &procs[k];
                k++;
        }
        out.n_tasks = k;
        out.tasks = ptrs;
        r = svc_reply(call, &out.base);
        for (size_t i = 0; i < k; i++)
                containerd__task__v2__state_response__free_unpacked(states[i], NULL);
        return r;
}

/* --- Delete, DeleteProcess ---------------------------------------------------------------- */

static int shim_delete(struct task *task, const char *exec_id,
                       Containerd__Task__V2__DeleteResponse **ret, struct errmsg *err)
{
        Containerd__Task__V2__DeleteRequest req = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
        _cleanup_free_ uint8_t *buf = NULL, *answer = NULL;
        Containerd__Task__V2__DeleteResponse *resp;
        size_t len, answer_len;
        int r;

        req.id = task->id;
        req.exec_id = (char *) exec_id;
        buf = pack_message(&req.base, &len);
        r = task_call(task, "Delete", buf, len, &answer, &answer_len, err);
        if (r < 0)
                return r;
        resp = containerd__task__v2__delete_response__unpack(NULL, answer_len, answer);
        if (!resp)
                return errmsg_set(err, -EBADMSG, "shim Delete: undecodable answer");
        *ret = resp;
        return 0;
}

static int reply_delete(struct grpc_call *call, const char *id,
                        const Containerd__Task__V2__DeleteResponse *resp)
{
        Containerd__Services__Tasks__V1__DeleteResponse out =
                CONTAINERD__SERVICES__TASKS__V1__DELETE_RESPONSE__INIT;

        out.id = (char *) id;
        out.pid = resp->pid;
        out.exit_status = resp->exit_status;
        out.exited_at = resp->exited_at;
        return svc_reply(call, &out.base);
}

static int reply_delete_dead(struct grpc_call *call, struct task *task)
{
        Containerd__Services__Tasks__V1__DeleteResponse out =
                CONTAINERD__SERVICES__TASKS__V1__DELETE_RESPONSE__INIT;
        _cleanup_free_ char *id = xstrdup(task->id);
        Google__Protobuf__Timestamp ts;
        struct timespec exited_at;
        uint32_t exit_status;

        task_destroy_dead(task, &exit_status, &exited_at);
        svc_timestamp(&exited_at, &ts);
        out.id = id;
        out.exit_status = exit_status;
        out.exited_at = &ts;
        return svc_reply(call, &out.base);
}

static int delete_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Task__V2__DeleteResponse *resp = NULL;
        _cleanup_free_ char *id = NULL;
        struct task *task = NULL;
        int r;

        r = find_task(call, userdata,
                      &containerd__services__tasks__v1__delete_task_request__descriptor, msg, len,
                      &task, err);
        if (r < 0)
                return r;
        r = shim_delete(task, "", &resp, err);
        if (is_shim_gone(r)) {
                log_warn("delete task %s/%s: shim gone (%s): cleaning up", task->ns, task->id,
                         err->msg);
                return reply_delete_dead(call, task);
        }
        if (r < 0)
                return r;
        id = xstrdup(task->id);
        task_destroy(task);
        return reply_delete(call, id, resp);
}

static int delete_process_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                             struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Tasks__V1__DeleteProcessRequest *in = NULL;
        _cleanup_pb_ Containerd__Task__V2__DeleteResponse *resp = NULL;
        struct task *task = NULL;
        int r;

        r = find_task(call, userdata,
                      &containerd__services__tasks__v1__delete_process_request__descriptor, msg,
                      len, &task, err);
        if (r >= 0)
                r = svc_unpack(&containerd__services__tasks__v1__delete_process_request__descriptor,
                               msg, len, &in, err);
        if (r >= 0 && !in->exec_id[0])
                r = errmsg_set(err, -EINVAL, "exec id is required");
        if (r >= 0)
                r = shim_delete(task, in->exec_id, &resp, err);
        if (r < 0 && task)
                r = shim_gone(task, r, err);
        return r < 0 ? r : reply_delete(call, in->exec_id, resp);
}

/* --- Exec, Metrics ------------------------------------------------------------------------- */

static int exec_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Tasks__V1__ExecProcessRequest *in = NULL;
        Containerd__Task__V2__ExecProcessRequest req =
                CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
        _cleanup_free_ uint8_t *buf = NULL;
        struct task *task = NULL;
        size_t buf_len;
        int r;

        r = find_task(call, userdata,
                      &containerd__services__tasks__v1__exec_process_request__descriptor, msg, len,
                      &task, err);
        if (r >= 0)
                r = svc_unpack(&containerd__services__tasks__v1__exec_process_request__descriptor,
                               msg, len, &in, err);
        if (r < 0)
                return r;
        if (!in->exec_id[0])
                return errmsg_set(err, -EINVAL, "exec id is required");
        req.id = task->id;
        req.exec_id = in->exec_id;
        req.terminal = in->terminal;
        req.stdin = in->stdin;
        req.stdout = in->stdout;
        req.stderr = in->stderr;
        req.spec = in->spec;
        buf = pack_message(&req.base, &buf_len);
        /* both answers are google.protobuf.Empty: relayed as they are */
        return relay_async(call, userdata, task, "Exec", buf, buf_len, TASK_CALL_TIMEOUT_MS, err);
}

/* The fields containerd's Metrics filters see of a task: "id" and "namespace". */
static const char *task_field(const char *field, void *object)
{
        const struct task *t = object;

        if (STREQ(field, "id"))
                return t->id;
        if (STREQ(field, "namespace"))
                return t->ns;
        return NULL;
}

static int metrics_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                      struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Tasks__V1__MetricsRequest *in = NULL;
        Containerd__Services__Tasks__V1__MetricsResponse out =
                CONTAINERD__SERVICES__TASKS__V1__METRICS_RESPONSE__INIT;
        _cleanup_free_ struct task **tasks = NULL;
        _cleanup_free_ Containerd__Task__V2__StatsResponse **stats = NULL;
        _cleanup_free_ Containerd__Types__Metric *metrics = NULL, **ptrs = NULL;
        Google__Protobuf__Timestamp now_ts;
        struct daemon *d = userdata;
        struct timespec now;
        const char *ns;
        size_t n = 0, k = 0;
        int r;

        r = svc_namespace(call, &ns, err);
        if (r >= 0)
                r = svc_unpack(&containerd__services__tasks__v1__metrics_request__descriptor, msg,
                               len, &in, err);
        if (r < 0)
                return r;
        (void) clock_gettime(CLOCK_REALTIME, &now);
        svc_timestamp(&now, &now_ts);
        tasks = task_list(d->tasks, ns, &n);
        stats = xnew0(Containerd__Task__V2__StatsResponse *, n + 1);
        metrics = xnew0(Containerd__Types__Metric, n + 1);
        ptrs = xnew0(Containerd__Types__Metric *, n + 1);
        for (size_t i = 0; i < n; i++) {
                Containerd__Task__V2__StatsRequest req = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
                _cleanup_free_ uint8_t *buf = NULL, *answer = NULL;
                size_t buf_len, answer_len;
                bool is_selected;

                r = svc_filters_match(in->filters, in->n_filters, task_field, tasks[i],
                                      &is_selected, err);
                if (r < 0)
                        break;
                if (!is_selected)
                        continue;
                req.id = tasks[i]->id;
                buf = pack_message(&req.base, &buf_len);
                if (task_call(tasks[i], "Stats", buf, buf_len, &answer, &answer_len, NULL) < 0)
                        continue;
                stats[k] = containerd__task__v2__stats_response__unpack(NULL, answer_len, answer);
                if (!stats[k])
                        continue;
                metrics[k] = (Containerd__Types__Metric) CONTAINERD__TYPES__METRIC__INIT;
                metrics[k].timestamp = &now_ts;
                metrics[k].id = tasks[i]->id;
                metrics[k].data = stats[k]->stats;
                ptrs[k] = &metrics[k];
                k++;
        }
        out.n_metrics = k;
        out.metrics = ptrs;
        if (r >= 0)
                r = svc_reply(call, &out.base);
        for (size_t i = 0; i < k; i++)
                containerd__task__v2__stats_response__free_unpacked(stats[i], NULL);
        return r;
}

static int checkpoint_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                         struct errmsg *err)
{
        (void) call;
        (void) msg;
        (void) len;
        (void) userdata;
        return errmsg_set(err, -EOPNOTSUPP, "checkpoint");
}

const struct grpc_method svc_tasks_methods[] = {
        {TASKS "Create", GRPC_UNARY, create_fn},
        {TASKS "Start", GRPC_UNARY, passthrough_fn},
        {TASKS "Delete", GRPC_UNARY, delete_fn},
        {TASKS "DeleteProcess", GRPC_UNARY, delete_process_fn},
        {TASKS "Get", GRPC_UNARY, get_fn},
        {TASKS "List", GRPC_UNARY, list_fn},
        {TASKS "Kill", GRPC_UNARY, passthrough_fn},
        {TASKS "Exec", GRPC_UNARY, exec_fn},
        {TASKS "ResizePty", GRPC_UNARY, passthrough_fn},
        {TASKS "CloseIO", GRPC_UNARY, passthrough_fn},
        {TASKS "Pause", GRPC_UNARY, passthrough_fn},
        {TASKS "Resume", GRPC_UNARY, passthrough_fn},
        {TASKS "ListPids", GRPC_UNARY, passthrough_fn},
        {TASKS "Checkpoint", GRPC_UNARY, checkpoint_fn},
        {TASKS "Update", GRPC_UNARY, passthrough_fn},
        {TASKS "Metrics", GRPC_UNARY, metrics_fn},
        {TASKS "Wait", GRPC_UNARY, wait_fn},
        {NULL, 0, NULL},
};
