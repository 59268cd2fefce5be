/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr tasks exec, as ctr 1.6's (cmd/ctr/commands/tasks/exec.go): "[flags] CONTAINER
 * CMD [ARG...]" with --exec-id required. The process spec is the container's with the
 * command, the terminal, --cwd and --user (resolved in the container's snapshot) set, plus
 * --env (ctr 1.7's); its FIFOs are named after the exec id; the exit is awaited before the
 * start, and without -d the process is relayed until it exits and then deleted. Its exit
 * status becomes berth-ctr's.
 */
#include <stdlib.h>

#include "containerd/services/snapshots/v1/snapshots.pb-c.h"
#include "ctr/console.h"
#include "ctr/io.h"
#include "ctr/pb-json.h"
#include "ctr/spec-rootfs.h"
#include "ctr/task-commands.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/log.h"
#include "lib/strv.h"

struct exec_flags {
        const char *cwd, *exec_id, *fifo_dir, *log_uri, *user;
        bool tty, detach;
        char **env;
};

/* The container's /etc/passwd and /etc/group, for --user (oci.WithUser on its snapshot). */
static int container_rootfs(struct ctr *c, const ctr_container *ct, struct spec_rootfs *ret,
                            struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__MountsRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__MOUNTS_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Snapshots__V1__MountsResponse *resp = NULL;
        int r;

        if (!ct->snapshot_key || !*ct->snapshot_key) {
                *ret = (struct spec_rootfs){0};
                return 0;
        }
        req.snapshotter = ct->snapshotter;
        req.key = ct->snapshot_key;
        r = ctr_rpc(c, "/containerd.services.snapshots.v1.Snapshots/Mounts", &req.base,
                    &containerd__services__snapshots__v1__mounts_response__descriptor, &resp, err);
        return r < 0 ? r : spec_rootfs_read_mounts(resp->mounts, resp->n_mounts, ret, err);
}

/* The process to run: the container's, changed as the flags say; the caller's JSON text. */
static int process_spec(struct ctr *c, const char *id, const struct exec_flags *f, char **args,
                        char **ret, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__GetContainerResponse *got = NULL;
        struct spec_rootfs fs = {0};
        json_t *spec = NULL, *process, *argv;
        int r;

        r = container_get(c, id, &got, err);
        if (r >= 0)
                r = container_spec(got->container, &spec, err);
        if (r >= 0 && f->user && *f->user) {
                r = container_rootfs(c, got->container, &fs, err);
                if (r >= 0)
                        r = spec_with_user(spec, f->user, &fs, err);
                spec_rootfs_release(&fs);
        }
        if (r < 0) {
                json_decref(spec);
                return r;
        }
        spec_order(spec);
        process = json_object_get(spec, "process");
        if (!process)
                json_object_set_new(spec, "process", process = json_object());
        json_object_set_new(process, "terminal", json_boolean(f->tty));
        if (!f->tty)
                json_object_del(process, "terminal");
        argv = json_array();
        strv_foreach (a, args)
                json_array_append_new(argv, json_string(*a));
        json_object_set_new(process, "args", argv);
        if (!args)
                json_object_del(process, "args");
        if (f->cwd && *f->cwd)
                json_object_set_new(process, "cwd", json_string(f->cwd));
        if (f->env) {
                json_t *env = json_object_get(process, "env");

                if (!env)
                        json_object_set_new(process, "env", env = json_array());
                spec_env_merge(env, f->env);
        }
        spec_order(spec);
        *ret = gojson_dump(process, NULL);
        json_decref(spec);
        return 0;
}

static int exec_call(struct ctr *c, const char *id, const struct exec_flags *f, const char *process,
                     const struct io_fifos *io, struct errmsg *err)
{
        Containerd__Services__Tasks__V1__ExecProcessRequest req =
                CONTAINERD__SERVICES__TASKS__V1__EXEC_PROCESS_REQUEST__INIT;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;
        Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;

        spec.type_url = (char *) PROCESS_TYPE_URL;
        spec.value.data = (uint8_t *) process;
        spec.value.len = strlen(process);
        req.container_id = (char *) id;
        req.exec_id = (char *) f->exec_id;
        req.terminal = f->tty;
        req.stdin = io && io->in ? io->in : (char *) "";
        req.stdout = io && io->out ? io->out : (char *) (f->log_uri ?: "");
        req.stderr = io && io->err ? io->err : (char *) (f->log_uri ?: "");
        req.spec = &spec;
        return ctr_rpc(c, "/containerd.services.tasks.v1.Tasks/Exec", &req.base,
                       &google__protobuf__empty__descriptor, &resp, err);
}

/* The exec'd process from its creation to its end: its exit status, or -errno. */
static int exec_run(struct ctr *c, const char *id, const struct exec_flags *f, const char *process,
                    const struct console *con, struct errmsg *err)
{
        _cleanup_(task_waiter_freep) struct task_waiter *w = NULL;
        _cleanup_(io_fifos_freep) struct io_fifos *io = NULL;
        struct task_proc p = {.c = c, .id = id, .exec_id = f->exec_id, .con = con};
        uint32_t status;
        struct errmsg e = {0};
        int r = 0;

        if (!f->log_uri || !*f->log_uri)
                r = io_fifos_new(f->fifo_dir, f->exec_id, f->tty, &io, err);
        if (r >= 0)
                r = exec_call(c, id, f, process, io, err);
        if (r < 0) {
                io_fifos_remove(io);
                return r;
        }
        p.io = io;
        if (!f->detach)
                r = task_waiter_start(&p, &w, err);
        if (r >= 0)
                r = task_start(c, id, f->exec_id, NULL, err);
        if (f->detach)
                return r; /* the FIFOs stay with the process */
        if (r >= 0)
                r = task_proc_run(&p, w, &status, err);
        /* ctr's deferred process.Delete, which removes its FIFOs */
        if (task_delete_process(c, id, f->exec_id, false, NULL, &e) < 0)
                log_debug("delete process %s: %s", f->exec_id, e.msg);
        io_fifos_remove(io);
        return r < 0 ? r : task_exit_code(status);
}

int task_cmd_exec(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *task = NULL;
        _cleanup_free_ char *process = NULL;
        struct exec_flags f = {0};
        struct console con = {0};
        const char *id;
        int r, index;

        r = ctr_flags_parse_in_order(
                (const struct ctr_flag[]){{"cwd", 0, CTR_FLAG_STRING, &f.cwd},
                                          {"tty", 't', CTR_FLAG_BOOL, &f.tty},
                                          {"detach", 'd', CTR_FLAG_BOOL, &f.detach},
                                          {"exec-id", 0, CTR_FLAG_STRING, &f.exec_id},
                                          {"fifo-dir", 0, CTR_FLAG_STRING, &f.fifo_dir},
                                          {"log-uri", 0, CTR_FLAG_STRING, &f.log_uri},
                                          {"user", 0, CTR_FLAG_STRING, &f.user},
                                          {"env", 'e', CTR_FLAG_LIST, &f.env},
                                          {NULL}},
                argc, argv, &index, err);
        if (r >= 0 && !f.exec_id)
                r = errmsg_set(err, -EINVAL, "Required flag \"exec-id\" not set");
        id = r >= 0 && index < argc ? argv[index] : "";
        if (r >= 0 && !*id)
                r = errmsg_set(err, -EINVAL, "container id must be provided");
        if (r >= 0)
                r = process_spec(c, id, &f, index + 1 < argc ? argv + index + 1 : NULL, &process,
                                 err);
        if (r >= 0)
                r = task_get(c, id, NULL, &task, err);
        if (r >= 0 && f.tty && f.log_uri && *f.log_uri)
                r = errmsg_set(err, -EINVAL, "can't use log-uri with tty");
        if (r >= 0 && f.log_uri && *f.log_uri && f.fifo_dir && *f.fifo_dir)
                r = errmsg_set(err, -EINVAL, "can't use log-uri with fifo-dir");
        if (r >= 0 && f.tty)
                r = console_current(&con, err);
        if (r >= 0 && f.tty)
                r = console_set_raw(&con, err);
        if (r >= 0)
                r = exec_run(c, id, &f, process, f.tty ? &con : NULL, err);
        console_reset(&con);
        strv_free(f.env);
        return r;
}
