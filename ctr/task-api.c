/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Task calls as containerd 1.6's client makes them (task.go, process.go): Get, Kill, Start,
 * CloseIO, ResizePty, Delete with its status check and WithProcessKill, DeleteProcess, Wait;
 * and ctr's pid files and signal names.
 */
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctr/task.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

#define TASKS "/containerd.services.tasks.v1.Tasks/"

static const char *const status_names[] = {"UNKNOWN", "CREATED", "RUNNING",
                                           "STOPPED", "PAUSED",  "PAUSING"};
static const char *const status_lower[] = {"unknown", "created", "running",
                                           "stopped", "paused",  "pausing"};

const char *task_status_name(int status)
{
        return status >= 0 && (size_t) status < ELEMENTSOF(status_names) ? status_names[status]
                                                                         : "UNKNOWN";
}

const char *task_status_lower(int status)
{
        return status >= 0 && (size_t) status < ELEMENTSOF(status_lower) ? status_lower[status]
                                                                         : "unknown";
}

int task_get(struct ctr *c, const char *id, const char *exec_id,
             Containerd__Services__Tasks__V1__GetResponse **ret, struct errmsg *err)
{
        Containerd__Services__Tasks__V1__GetRequest req =
                CONTAINERD__SERVICES__TASKS__V1__GET_REQUEST__INIT;
        Containerd__Services__Tasks__V1__GetResponse *resp = NULL;
        int r;

        req.container_id = (char *) id;
        req.exec_id = (char *) (exec_id ?: "");
        r = ctr_rpc(c, TASKS "Get", &req.base,
                    &containerd__services__tasks__v1__get_response__descriptor, &resp, err);
        if (r == -ENOENT && !exec_id)
                return errmsg_prefix(err, r, "no running task found");
        if (r < 0)
                return r;
        if (!resp->process) {
                protobuf_c_message_free_unpacked(&resp->base, NULL);
                return errmsg_set(err, -EBADMSG, "task %s: empty answer", id);
        }
        *ret = resp;
        return 0;
}

static int call_empty(struct ctr *c, const char *method, const ProtobufCMessage *req,
                      struct errmsg *err)
{
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;

        return ctr_rpc(c, method, req, &google__protobuf__empty__descriptor, &resp, err);
}

int task_kill(struct ctr *c, const char *id, const char *exec_id, int sig, bool all,
              struct errmsg *err)
{
        Containerd__Services__Tasks__V1__KillRequest req =
                CONTAINERD__SERVICES__TASKS__V1__KILL_REQUEST__INIT;

        req.container_id = (char *) id;
        req.exec_id = (char *) (exec_id ?: "");
        req.signal = (uint32_t) sig;
        req.all = all;
        return call_empty(c, TASKS "Kill", &req.base, err);
}

int task_start(struct ctr *c, const char *id, const char *exec_id, uint32_t *ret_pid,
               struct errmsg *err)
{
        Containerd__Services__Tasks__V1__StartRequest req =
                CONTAINERD__SERVICES__TASKS__V1__START_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Tasks__V1__StartResponse *resp = NULL;
        int r;

        req.container_id = (char *) id;
        req.exec_id = (char *) (exec_id ?: "");
        r = ctr_rpc(c, TASKS "Start", &req.base,
                    &containerd__services__tasks__v1__start_response__descriptor, &resp, err);
        if (r >= 0 && ret_pid)
                *ret_pid = resp->pid;
        return r;
}

int task_close_stdin(struct ctr *c, const char *id, const char *exec_id, struct errmsg *err)
{
        Containerd__Services__Tasks__V1__CloseIORequest req =
                CONTAINERD__SERVICES__TASKS__V1__CLOSE_IOREQUEST__INIT;

        req.container_id = (char *) id;
        req.exec_id = (char *) (exec_id ?: "");
        req.stdin = true;
        return call_empty(c, TASKS "CloseIO", &req.base, err);
}

int task_resize(struct ctr *c, const char *id, const char *exec_id, unsigned width, unsigned height,
                struct errmsg *err)
{
        Containerd__Services__Tasks__V1__ResizePtyRequest req =
                CONTAINERD__SERVICES__TASKS__V1__RESIZE_PTY_REQUEST__INIT;

        req.container_id = (char *) id;
        req.exec_id = (char *) (exec_id ?: "");
        req.width = width;
        req.height = height;
        return call_empty(c, TASKS "ResizePty", &req.base, err);
}

static int wait_call(struct ctr *c, const char *id, const char *exec_id, uint32_t *ret_status,
                     struct errmsg *err)
{
        Containerd__Services__Tasks__V1__WaitRequest req =
                CONTAINERD__SERVICES__TASKS__V1__WAIT_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Tasks__V1__WaitResponse *resp = NULL;
        int r;

        req.container_id = (char *) id;
        req.exec_id = (char *) (exec_id ?: "");
        r = ctr_rpc(c, TASKS "Wait", &req.base,
                    &containerd__services__tasks__v1__wait_response__descriptor, &resp, err);
        if (r >= 0)
                *ret_status = resp->exit_status;
        return r;
}

int task_wait_sync(const struct ctr_opts *opts, const char *id, const char *exec_id,
                   uint32_t *ret_status, struct errmsg *err)
{
        struct ctr c = {.opts = opts};
        int r;

        r = wait_call(&c, id, exec_id, ret_status, err);
        ctr_release(&c);
        return r;
}

/* WithProcessKill: SIGKILL to every process, then its exit awaited. */
static int process_kill(struct ctr *c, const char *id, const char *exec_id, struct errmsg *err)
{
        uint32_t status;
        int r;

        r = task_kill(c, id, exec_id, SIGKILL, !exec_id, err);
        if (r == -EBUSY)
                return 0; /* already stopped */
        if (r < 0 && r != -ENOENT)
                return r;
        r = wait_call(c, id, exec_id, &status, err);
        return r == -ENOENT ? 0 : r;
}

int task_delete(struct ctr *c, const char *id, bool force, uint32_t *ret_status, struct errmsg *err)
{
        Containerd__Services__Tasks__V1__DeleteTaskRequest req =
                CONTAINERD__SERVICES__TASKS__V1__DELETE_TASK_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Tasks__V1__DeleteResponse *resp = NULL;
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *got = NULL;
        int r, status;

        if (force) {
                r = process_kill(c, id, NULL, err);
                if (r < 0)
                        return r;
        }
        r = task_get(c, id, NULL, &got, err);
        if (r < 0)
                return r;
        status = got->process->status;
        if (status == CONTAINERD__V1__TYPES__STATUS__RUNNING ||
            status == CONTAINERD__V1__TYPES__STATUS__PAUSED ||
            status == CONTAINERD__V1__TYPES__STATUS__PAUSING ||
            (status == CONTAINERD__V1__TYPES__STATUS__CREATED && got->process->pid != 0))
                return errmsg_set(err, -EBUSY,
                                  "task must be stopped before deletion: %s: failed precondition",
                                  task_status_lower(status));
        req.container_id = (char *) id;
        r = ctr_rpc(c, TASKS "Delete", &req.base,
                    &containerd__services__tasks__v1__delete_response__descriptor, &resp, err);
        if (r >= 0 && ret_status)
                *ret_status = resp->exit_status;
        return r;
}

int task_delete_process(struct ctr *c, const char *id, const char *exec_id, bool force,
                        uint32_t *ret_status, struct errmsg *err)
{
        Containerd__Services__Tasks__V1__DeleteProcessRequest req =
                CONTAINERD__SERVICES__TASKS__V1__DELETE_PROCESS_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Tasks__V1__DeleteResponse *resp = NULL;
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *got = NULL;
        int r, status;

        if (force) {
                r = process_kill(c, id, exec_id, err);
                if (r < 0)
                        return r;
        }
        r = task_get(c, id, exec_id, &got, err);
        if (r < 0)
                return r;
        status = got->process->status;
        if (status == CONTAINERD__V1__TYPES__STATUS__RUNNING ||
            status == CONTAINERD__V1__TYPES__STATUS__PAUSED ||
            status == CONTAINERD__V1__TYPES__STATUS__PAUSING)
                return errmsg_set(err, -EBUSY,
                                  "current process state: %s, process must be stopped before "
                                  "deletion: failed precondition",
                                  task_status_lower(status));
        req.container_id = (char *) id;
        req.exec_id = (char *) exec_id;
        r = ctr_rpc(c, TASKS "DeleteProcess", &req.base,
                    &containerd__services__tasks__v1__delete_response__descriptor, &resp, err);
        if (r >= 0 && ret_status)
                *ret_status = resp->exit_status;
        return r;
}

int task_write_pid_file(const char *path, uint32_t pid, struct errmsg *err)
{
        _cleanup_free_ char *dir = NULL, *tmp = NULL, *abs = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *slash;
        char text[16];
        int r;

        if (path[0] != '/') {
                char cwd[4096];

                if (!getcwd(cwd, sizeof(cwd)))
                        return errmsg_set(err, -errno, "getwd: %m");
                abs = xasprintf("%s/%s", cwd, path);
                path = abs;
        }
        slash = strrchr(path, '/');
        dir = xstrndup(path, (size_t) (slash - path));
        tmp = xasprintf("%s/.%s", dir, slash + 1);
        fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_SYNC | O_CLOEXEC, 0666);
        if (fd < 0)
                return errmsg_set(err, -errno, "open %s: %m", tmp);
        snprintf(text, sizeof(text), "%u", pid);
        r = write_all(fd, text, strlen(text));
        if (r < 0) {
                (void) unlink(tmp);
                return errmsg_set(err, r, "write %s: %s", tmp, strerror(-r));
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return errmsg_set(err, r, "rename %s %s: %s", tmp, path, strerror(-r));
        }
        return 0;
}

int task_parse_signal(const char *s, int *ret, struct errmsg *err)
{
        char *end;
        long n;
        const char *name;

        errno = 0;
        n = strtol(s, &end, 10);
        if (*s && !*end && !errno) {
                if (n == 0)
                        return errmsg_set(err, -EINVAL, "invalid signal: %s", s);
                *ret = (int) n;
                return 0;
        }
        name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        /* the aliases of Go's signal table */
        if (strcasecmp(name, "CLD") == 0)
                name = "CHLD";
        else if (strcasecmp(name, "IOT") == 0)
                name = "ABRT";
        else if (strcasecmp(name, "POLL") == 0)
                name = "IO";
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *abbrev = sigabbrev_np(sig);

                if (abbrev && strcasecmp(abbrev, name) == 0) {
                        *ret = sig;
                        return 0;
                }
        }
        if (strcasecmp(name, "RTMIN") == 0 || strcasecmp(name, "RTMAX") == 0) {
                *ret = toupper(name[4]) == 'I' ? SIGRTMIN : SIGRTMAX;
                return 0;
        }
        if (strncasecmp(name, "RTMIN+", 6) == 0 || strncasecmp(name, "RTMAX-", 6) == 0) {
                n = strtol(name + 6, &end, 10);
                if (!*end && n > 0 && n < SIGRTMAX - SIGRTMIN) {
                        *ret = toupper(name[4]) == 'I' ? SIGRTMIN + (int) n : SIGRTMAX - (int) n;
                        return 0;
                }
        }
        return errmsg_set(err, -EINVAL, "invalid signal: %s", s);
}
