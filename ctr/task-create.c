/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's new task as containerd 1.6's container.NewTask makes it for ctr: the stdio
 * its creator gives (FIFOs, nothing, or a log URI for stdout and stderr), the rootfs mounts of
 * the container's snapshot (Snapshots.Mounts), the runc options for --no-pivot, then
 * Tasks.Create; and the deletion that ends a foreground run.
 */
#include <stdlib.h>

#include "containerd/runc/options/oci.pb-c.h"
#include "containerd/services/snapshots/v1/snapshots.pb-c.h"
#include "ctr/console.h"
#include "ctr/io.h"
#include "ctr/task.h"
#include "lib/log.h"
#include "lib/xalloc.h"

static int rootfs_mounts(struct ctr *c, const ctr_container *ct,
                         Containerd__Services__Snapshots__V1__MountsResponse **ret,
                         struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__MountsRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__MOUNTS_REQUEST__INIT;

        if (!ct->snapshotter || !*ct->snapshotter)
                return errmsg_set(err, -EINVAL,
                                  "unable to resolve rootfs mounts without snapshotter on "
                                  "container: invalid argument");
        req.snapshotter = ct->snapshotter;
        req.key = ct->snapshot_key;
        return ctr_rpc(c, "/containerd.services.snapshots.v1.Snapshots/Mounts", &req.base,
                       &containerd__services__snapshots__v1__mounts_response__descriptor, ret, err);
}

/* WithNoPivotRoot for a runc runtime: the task's options. */
static void no_pivot_options(Google__Protobuf__Any *any)
{
        Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;

        o.no_pivot_root = true;
        any->type_url = (char *) RUNC_OPTIONS_TYPE_URL;
        any->value.len = protobuf_c_message_get_packed_size(&o.base);
        any->value.data = xmalloc(any->value.len + 1);
        protobuf_c_message_pack(&o.base, any->value.data);
}

static int create_call(struct ctr *c, const char *id, const struct task_io_opts *o,
                       const struct io_fifos *io, bool no_pivot, uint32_t *ret_pid,
                       struct errmsg *err)
{
        Containerd__Services__Tasks__V1__CreateTaskRequest req =
                CONTAINERD__SERVICES__TASKS__V1__CREATE_TASK_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Tasks__V1__CreateTaskResponse *resp = NULL;
        _cleanup_pb_ Containerd__Services__Containers__V1__GetContainerResponse *got = NULL;
        _cleanup_pb_ Containerd__Services__Snapshots__V1__MountsResponse *mounts = NULL;
        Google__Protobuf__Any options = GOOGLE__PROTOBUF__ANY__INIT;
        int r;

        r = container_get(c, id, &got, err);
        if (r >= 0 && got->container->snapshot_key && *got->container->snapshot_key)
                r = rootfs_mounts(c, got->container, &mounts, err);
        if (r < 0)
                return r;
        req.container_id = (char *) id;
        if (mounts) {
                req.rootfs = mounts->mounts;
                req.n_rootfs = mounts->n_mounts;
        }
        req.stdin = io && io->in ? io->in : (char *) "";
        req.stdout =
                io && io->out ? io->out : (char *) (o->log_uri && !o->null_io ? o->log_uri : "");
        req.stderr =
                io && io->err ? io->err : (char *) (o->log_uri && !o->null_io ? o->log_uri : "");
        req.terminal = io && io->terminal;
        if (no_pivot && got->container->runtime &&
            strncmp(got->container->runtime->name ?: "", "io.containerd.runc", 18) == 0) {
                no_pivot_options(&options);
                req.options = &options;
        }
        r = ctr_rpc(c, "/containerd.services.tasks.v1.Tasks/Create", &req.base,
                    &containerd__services__tasks__v1__create_task_response__descriptor, &resp, err);
        free(options.value.data);
        if (r >= 0)
                *ret_pid = resp->pid;
        return r;
}

int task_new(struct ctr *c, const char *id, const struct task_io_opts *o, bool no_pivot,
             struct io_fifos **ret_io, uint32_t *ret_pid, struct errmsg *err)
{
        _cleanup_(io_fifos_freep) struct io_fifos *io = NULL;
        int r;

        if (o->terminal && o->null_io)
                return errmsg_set(err, -EINVAL, "tty and null-io cannot be used together");
        if (!o->null_io && (o->terminal || !o->log_uri || !*o->log_uri)) {
                r = io_fifos_new(o->fifo_dir, id, o->terminal, &io, err);
                if (r < 0)
                        return r;
        }
        r = create_call(c, id, o, io, no_pivot, ret_pid, err);
        if (r < 0) {
                io_fifos_remove(io);
                return r;
        }
        *ret_io = TAKE_PTR(io);
        return 0;
}

int task_finish(struct ctr *c, const char *id, struct io_fifos *io, struct errmsg *err)
{
        int r = task_delete(c, id, false, NULL, err);

        io_fifos_remove(io);
        return r;
}

int task_run_new(struct ctr *c, const char *id, const struct task_start_opts *o,
                 const struct console *con, struct errmsg *err)
{
        _cleanup_(task_waiter_freep) struct task_waiter *w = NULL;
        struct task_proc p = {.c = c, .id = id, .con = con};
        struct io_fifos *io = NULL;
        uint32_t pid, status;
        struct errmsg e = {0};
        int r;

        r = task_new(c, id, &o->io, o->no_pivot, &io, &pid, err);
        if (r < 0)
                return r;
        p.io = io;
        if (!o->detach)
                r = task_waiter_start(&p, &w, err);
        if (r >= 0 && o->pid_file)
                r = task_write_pid_file(o->pid_file, pid, err);
        if (r >= 0)
                r = task_start(c, id, NULL, NULL, err);
        if (r >= 0 && o->detach) {
                io_fifos_free(io); /* the FIFOs stay with the detached task, as ctr leaves them */
                return 0;
        }
        if (r >= 0)
                r = task_proc_run(&p, w, &status, err);
        if (r < 0) {
                /* ctr's deferred task.Delete (and its FIFOs' removal) */
                if (o->detach)
                        io_fifos_remove(io);
                else if (task_finish(c, id, io, &e) < 0)
                        log_debug("delete task %s: %s", id, e.msg);
                io_fifos_free(io);
                return r;
        }
        r = task_finish(c, id, io, err);
        io_fifos_free(io);
        return r < 0 ? r : task_exit_code(status);
}
