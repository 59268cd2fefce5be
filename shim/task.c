/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The task's container through the runtime: create (with its rootfs and stdio), start,
 * delete, pause, resume, update, ps (see task.h). The runtime is called with the arguments
 * containerd-shim-runc-v2 uses (go-runc's), so that runc and crun work in its place.
 */
#include "shim/task.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define PID_FILE_MAX_BYTES 64

/* The runtime's stdio for calls that need none. */
static const int no_stdio[3] = {-EBADF, -EBADF, -EBADF};

int pid_file_read(const char *path, pid_t *ret)
{
        _cleanup_free_ char *text = NULL;
        uint64_t v;
        size_t len;
        int r;

        r = read_file_at(AT_FDCWD, path, PID_FILE_MAX_BYTES, &text, &len);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        r = parse_uint64(text, &v);
        if (r < 0)
                return r;
        if (v == 0 || v > INT32_MAX)
                return -ERANGE;
        *ret = (pid_t) v;
        return 0;
}

bool task_spec_shares_pid_ns(const char *text, size_t len)
{
        json_t *spec = json_loadb(text, len, 0, NULL);
        json_t *namespaces = json_object_get(json_object_get(spec, "linux"), "namespaces");
        bool shares = true;
        size_t i;
        json_t *ns;

        json_array_foreach (namespaces, i, ns) {
                const char *type = json_string_value(json_object_get(ns, "type"));
                const char *path = json_string_value(json_object_get(ns, "path"));

                if (STREQ_PTR(type, "pid") && (!path || !path[0]))
                        shares = false;
        }
        json_decref(spec);
        return shares;
}

/* Records binary and root where "delete" finds them if the shim is gone (options.json). */
static int write_runtime_options(const struct task_create_opts *o, struct errmsg *err)
{
        _cleanup_close_ int dfd = open(o->bundle, O_DIRECTORY | O_PATH | O_CLOEXEC);
        json_t *opts =
                json_pack("{s:s, s:s}", "binary_name", o->runtime_binary, "root", o->runtime_root);
        char *text = json_dumps(opts, JSON_COMPACT);
        int r;

        json_decref(opts);
        r = dfd < 0 ? -errno : write_file_replace_at(dfd, "options.json", text, strlen(text), 0600);
        free(text);
        if (r < 0)
                return errmsg_set(err, r, "write %s/options.json: %s", o->bundle, strerror(-r));
        return 0;
}

static int mount_rootfs(struct task *t, const struct task_create_opts *o, struct errmsg *err)
{
        _cleanup_free_ char *rootfs = NULL;
        int r;

        if (o->n_mounts == 0)
                return 0;
        rootfs = xasprintf("%s/rootfs", o->bundle);
        if (mkdir(rootfs, 0711) < 0 && errno != EEXIST)
                return errmsg_set(err, -errno, "create %s: %s", rootfs, strerror(errno));
        r = rootfs_mount_all(rootfs, o->mounts, o->n_mounts, err);
        if (r < 0)
                return r;
        t->rootfs = TAKE_PTR(rootfs);
        return 0;
}

static void unmount_rootfs(struct task *t)
{
        int r;

        if (!t->rootfs)
                return;
        r = rootfs_unmount_all(t->rootfs);
        if (r < 0)
                log_warn_errno(r, "unmount %s, ignoring", t->rootfs);
        free(t->rootfs);
        t->rootfs = NULL;
}

struct process *process_new(struct task *t, const char *exec_id, const struct stdio_paths *stdio)
{
        struct process *p = xnew0(struct process, 1);

        p->task = t;
        p->exec_id = exec_id ? xstrdup(exec_id) : NULL;
        p->status = PROCESS_CREATED;
        p->stdin_path = xstrdup(stdio->in);
        p->stdout_path = xstrdup(stdio->out);
        p->stderr_path = xstrdup(stdio->err);
        p->terminal = stdio->terminal;
        return p;
}

/* "runtime create": the init process exists afterwards, stopped before the user's program. */
static int task_runtime_create(struct task *t, struct errmsg *err)
{
        _cleanup_free_ char *pid_file = xasprintf("%s/init.pid", t->bundle);
        const char *console = process_io_console_socket(t->init->io);
        const char *args[16];
        size_t n = 0;
        int r;

        args[n++] = "create";
        args[n++] = "--bundle";
        args[n++] = t->bundle;
        args[n++] = "--pid-file";
        args[n++] = pid_file;
        if (console) {
                args[n++] = "--console-socket";
                args[n++] = console;
        }
        if (t->no_pivot)
                args[n++] = "--no-pivot";
        if (t->no_new_keyring)
                args[n++] = "--no-new-keyring";
        args[n++] = t->id;
        args[n] = NULL;
        r = runtime_run(&t->rt, args, process_io_runtime_fds(t->init->io), err);
        if (r < 0)
                return r;
        r = process_io_runtime_done(t->init->io, t->loop, err);
        if (r < 0)
                return r;
        r = pid_file_read(pid_file, &t->init->pid);
        if (r < 0)
                return errmsg_set(err, r, "read %s: %s", pid_file, strerror(-r));
        return 0;
}

static void task_read_spec(struct task *t)
{
        _cleanup_free_ char *path = xasprintf("%s/config.json", t->bundle);
        _cleanup_free_ char *text = NULL;
        size_t len;

        t->kill_all_on_exit = true;
        if (read_file_at(AT_FDCWD, path, TASK_SPEC_MAX_BYTES * 16, &text, &len) >= 0)
                t->kill_all_on_exit = task_spec_shares_pid_ns(text, len);
}

int task_create(struct evloop *loop, const struct task_create_opts *o, struct task **ret,
                struct errmsg *err)
{
        _cleanup_(task_freep) struct task *t = xnew0(struct task, 1);
        const char *del[] = {"delete", "--force", o->id, NULL};
        int r;

        t->id = xstrdup(o->id);
        t->bundle = xstrdup(o->bundle);
        t->loop = loop;
        t->no_pivot = o->no_pivot;
        t->no_new_keyring = o->no_new_keyring;
        runtime_init(&t->rt, o->runtime_binary, o->runtime_root, o->namespace, o->bundle);
        t->rt.systemd_cgroup = o->systemd_cgroup;
        t->init = process_new(t, NULL, &o->stdio);
        task_read_spec(t);
        r = write_runtime_options(o, err);
        if (r < 0)
                return r;
        r = mount_rootfs(t, o, err);
        if (r < 0)
                return r;
        r = process_io_open(&o->stdio, &t->init->io, err);
        if (r >= 0)
                r = task_runtime_create(t, err);
        if (r < 0) {
                (void) runtime_run(&t->rt, del, no_stdio, NULL);
                unmount_rootfs(t);
                return r;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

struct task *task_free(struct task *t)
{
        if (!t)
                return NULL;
        while (t->execs) {
                struct process *p = t->execs;

                t->execs = p->next;
                (void) process_free(p);
        }
        (void) process_free(t->init);
        runtime_release(&t->rt);
        free(t->rootfs);
        free(t->id);
        free(t->bundle);
        free(t);
        return NULL;
}

int task_start(struct task *t, struct errmsg *err)
{
        const char *args[] = {"start", t->id, NULL};
        int r;

        if (t->init->status != PROCESS_CREATED)
                return errmsg_set(err, -EBUSY, "task %s: cannot start a %s process", t->id,
                                  t->init->status == PROCESS_RUNNING ? "running" : "stopped");
        r = runtime_run(&t->rt, args, no_stdio, err);
        if (r < 0)
                return r;
        /* The process may have exited already; its exit is reaped later, on the loop. */
        t->init->status = PROCESS_RUNNING;
        return 0;
}

int task_delete_init(struct task *t, struct errmsg *err)
{
        const char *args[] = {"delete", t->id, NULL};
        const char *force[] = {"delete", "--force", t->id, NULL};
        int r;

        if (t->init->status == PROCESS_RUNNING)
                return errmsg_set(err, -EBUSY, "task %s: cannot delete a running process", t->id);
        /* A created process never ran: "delete" of a created container needs --force. */
        r = runtime_run(&t->rt, t->init->status == PROCESS_CREATED ? force : args, no_stdio, err);
        if (r < 0)
                return r;
        process_exited(t->init,
                       t->init->status == PROCESS_CREATED ? 128 + SIGKILL : t->init->exit_status);
        unmount_rootfs(t);
        return 0;
}

int task_pause(struct task *t, struct errmsg *err)
{
        const char *args[] = {"pause", t->id, NULL};
        int r;

        if (t->init->status != PROCESS_RUNNING)
                return errmsg_set(err, -EBUSY, "task %s: not running", t->id);
        r = runtime_run(&t->rt, args, no_stdio, err);
        if (r < 0)
                return r;
        t->is_paused = true;
        return 0;
}

int task_resume(struct task *t, struct errmsg *err)
{
        const char *args[] = {"resume", t->id, NULL};
        int r;

        if (!t->is_paused)
                return errmsg_set(err, -EBUSY, "task %s: not paused", t->id);
        r = runtime_run(&t->rt, args, no_stdio, err);
        if (r < 0)
                return r;
        t->is_paused = false;
        return 0;
}

int task_update(struct task *t, const void *resources, size_t len, struct errmsg *err)
{
        const char *args[] = {"update", "--resources", "-", t->id, NULL};
        _cleanup_close_ int in = -EBADF;
        int r;

        if (len > TASK_SPEC_MAX_BYTES)
                return errmsg_set(err, -EINVAL, "update %s: resources larger than %u bytes", t->id,
                                  TASK_SPEC_MAX_BYTES);
        r = memfd_with_data("resources", resources, len, &in);
        if (r < 0)
                return errmsg_set(err, r, "update %s: %s", t->id, strerror(-r));
        return runtime_run(&t->rt, args, (const int[]){in, -EBADF, -EBADF}, err);
}

int task_parse_pids(const char *text, size_t len, pid_t **ret_pids, size_t *ret_n)
{
        json_t *arr = json_loadb(text, len, 0, NULL);
        _cleanup_free_ pid_t *pids = NULL;
        size_t i, n = 0;
        json_t *v;

        if (!json_is_array(arr)) {
                json_decref(arr);
                return -EBADMSG;
        }
        pids = xnew0(pid_t, json_array_size(arr) + 1);
        json_array_foreach (arr, i, v) {
                json_int_t pid = json_integer_value(v);

                if (!json_is_integer(v) || pid <= 0 || pid > INT32_MAX) {
                        json_decref(arr);
                        return -EBADMSG;
                }
                pids[n++] = (pid_t) pid;
        }
        json_decref(arr);
        *ret_pids = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

int task_pids(struct task *t, pid_t **ret_pids, size_t *ret_n, struct errmsg *err)
{
        const char *args[] = {"ps", "--format", "json", t->id, NULL};
        _cleanup_close_ int out = memfd_create("ps", MFD_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (out < 0)
                return errmsg_set(err, -errno, "ps %s: %s", t->id, strerror(errno));
        r = runtime_run(&t->rt, args, (const int[]){-EBADF, out, -EBADF}, err);
        if (r < 0)
                return r;
        if (lseek(out, 0, SEEK_SET) < 0)
                return errmsg_set(err, -errno, "ps %s: %s", t->id, strerror(errno));
        r = read_fd_all(out, RUNTIME_OUTPUT_MAX_BYTES, &text, &len);
        if (r >= 0)
                r = task_parse_pids(text, len, ret_pids, ret_n);
        if (r < 0)
                return errmsg_set(err, r, "ps %s: bad output of the runtime: %s", t->id,
                                  strerror(-r));
        return 0;
}
