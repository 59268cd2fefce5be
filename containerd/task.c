/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tasks (task.h): bundles, starting shims the way containerd 1.6 does (runtime/v2/binary.go,
 * shim/util.go Command, bundle.go), the per-task ttrpc client, calls that may wait long (Wait)
 * run in a thread each with its own connection, and the ttrpc Events service shims forward to.
 */
#include "containerd/task.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containerd/events.h"
#include "containerd/services/ttrpc/events/v1/events.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

extern char **environ;

/* The bundle's file naming the shim's executable (containerd 1.6 writes it for a runtime given
 * as a path; we write it always, so that a restart knows each task's shim), and the one where
 * the shim writes its ttrpc address. */
#define SHIM_BINARY_FILE  "shim-binary-path"
#define SHIM_ADDRESS_FILE "address"
#define BUNDLE_FILE_MAX   (PATH_MAX + 64)

struct async_call;
struct forwarded;

struct task_table {
        struct evloop *loop;
        char **runtimes; /* strv: runtime name, shim */
        char *state;
        char *address;
        char *ttrpc_address;
        struct events *events;
        /* the Events service's thread; forwarded is under lock */
        struct evloop *events_loop;
        struct ttrpc_server *events_server;
        pthread_t events_tid;
        bool has_events_thread;
        int forward_efd, stop_efd;
        pthread_mutex_t lock;
        struct forwarded *forwarded;
        struct task *head;
        struct async_call *calls;
};

struct async_call {
        struct task_table *table;
        char *address;
        char *ns;
        char *method;
        uint8_t *payload;
        size_t len;
        int timeout_ms; /* 0: none (Wait) */
        task_call_done_fn done;
        void *userdata;
        int pipe[2];
        pthread_t thread;
        /* Under lock: the thread is done; the table went first (the thread frees c). */
        pthread_mutex_t lock;
        bool is_finished, is_orphaned;
        /* set by the thread before it writes to pipe[1] */
        int r;
        uint8_t *answer;
        size_t answer_len;
        struct errmsg err;
        struct async_call *next;
};

/* --- the Events service shims forward to ---------------------------------------------- */

/*
 * It runs on a thread and loop of its own: a shim may publish (and wait for the answer) while
 * it handles a call the daemon's loop is blocked in (Create publishes /tasks/create before it
 * answers, in our shim), so answering Forward must not need the daemon's loop. Envelopes go to
 * the daemon's loop through a queue and an eventfd, and are published there.
 */
struct forwarded {
        Containerd__Services__Events__Ttrpc__V1__ForwardRequest *fwd;
        struct forwarded *next;
};

static int on_forward(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                      struct errmsg *err)
{
        struct task_table *t = userdata;
        Containerd__Services__Events__Ttrpc__V1__ForwardRequest *fwd;
        struct forwarded *f, **p;
        uint64_t one = 1;

        fwd = containerd__services__events__ttrpc__v1__forward_request__unpack(
                NULL, call->payload_len, call->payload);
        if (!fwd)
                return errmsg_set(err, -EINVAL, "forward: undecodable request");
        f = xnew0(struct forwarded, 1);
        f->fwd = fwd;
        (void) pthread_mutex_lock(&t->lock);
        for (p = &t->forwarded; *p; p = &(*p)->next)
                ;
        *p = f;
        (void) pthread_mutex_unlock(&t->lock);
        (void) write_all(t->forward_efd, &one, sizeof(one));
        return ttrpc_respond(req, (const uint8_t *) "", 0);
}

static const struct ttrpc_method events_methods[] = {
        {"containerd.services.events.ttrpc.v1.Events", "Forward", on_forward},
        {NULL, NULL, NULL},
};

static void publish_forwarded(struct task_table *t,
                              Containerd__Services__Events__Ttrpc__V1__ForwardRequest *fwd)
{
        Containerd__Services__Events__V1__Envelope env =
                CONTAINERD__SERVICES__EVENTS__V1__ENVELOPE__INIT;
        struct errmsg err = {0};

        if (!fwd->envelope)
                return;
        log_debug("shim event %s in %s", fwd->envelope->topic, fwd->envelope->namespace_);
        env.timestamp = fwd->envelope->timestamp;
        env.namespace_ = fwd->envelope->namespace_;
        env.topic = fwd->envelope->topic;
        env.event = fwd->envelope->event;
        if (t->events && events_forward(t->events, &env, &err) < 0)
                log_warn("shim event %s: %s, ignoring", fwd->envelope->topic, err.msg);
}

/* On the daemon's loop: publishes what the events thread received. */
static void on_forwarded(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct task_table *t = userdata;
        struct forwarded *list;
        uint64_t n;

        (void) loop;
        (void) events;
        if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
                log_debug("shim events: eventfd: %m");
        (void) pthread_mutex_lock(&t->lock);
        list = TAKE_PTR(t->forwarded);
        (void) pthread_mutex_unlock(&t->lock);
        while (list) {
                struct forwarded *f = list;

                list = f->next;
                publish_forwarded(t, f->fwd);
                containerd__services__events__ttrpc__v1__forward_request__free_unpacked(f->fwd,
                                                                                        NULL);
                free(f);
        }
}

static void on_events_stop(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        (void) fd;
        (void) events;
        (void) userdata;
        evloop_exit(loop, 0);
}

static void *events_thread(void *userdata)
{
        struct task_table *t = userdata;

        (void) evloop_run(t->events_loop);
        return NULL;
}

static int start_events_server(struct task_table *t, struct errmsg *err)
{
        int fd, r;

        t->forward_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        t->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (t->forward_efd < 0 || t->stop_efd < 0)
                return errmsg_set(err, -errno, "eventfd: %s", strerror(errno));
        r = evloop_new(&t->events_loop);
        if (r >= 0)
                r = evloop_add(t->events_loop, t->stop_efd, EPOLLIN, on_events_stop, t);
        if (r >= 0)
                r = evloop_add(t->loop, t->forward_efd, EPOLLIN, on_forwarded, t);
        if (r < 0)
                return errmsg_set(err, r, "event loop: %s", strerror(-r));
        r = ttrpc_listen_unix(t->ttrpc_address, &fd, err);
        if (r < 0)
                return r;
        r = ttrpc_server_new(t->events_loop, fd, events_methods, t, &t->events_server);
        if (r < 0)
                return errmsg_set(err, r, "ttrpc server: %s", strerror(-r));
        r = -pthread_create(&t->events_tid, NULL, events_thread, t);
        if (r < 0)
                return errmsg_set(err, r, "events thread: %s", strerror(-r));
        t->has_events_thread = true;
        return 0;
}

static void stop_events_server(struct task_table *t)
{
        uint64_t one = 1;

        if (t->has_events_thread) {
                (void) write_all(t->stop_efd, &one, sizeof(one));
                (void) pthread_join(t->events_tid, NULL);
        }
        if (t->events_server) {
                t->events_server = ttrpc_server_free(t->events_server);
                (void) unlink(t->ttrpc_address);
        }
        t->events_loop = evloop_free(t->events_loop);
        if (t->forward_efd >= 0) {
                on_forwarded(t->loop, t->forward_efd, 0, t);
                (void) evloop_remove(t->loop, t->forward_efd);
        }
        t->forward_efd = safe_close(t->forward_efd);
        t->stop_efd = safe_close(t->stop_efd);
        (void) pthread_mutex_destroy(&t->lock);
}

int task_table_new(struct evloop *loop, const struct task_table_opts *o, struct events *ex,
                   struct task_table **ret, struct errmsg *err)
{
        struct task_table *t = xnew0(struct task_table, 1);
        int r;

        t->loop = loop;
        t->state = xstrdup(o->state);
        t->address = xstrdup(o->address);
        t->ttrpc_address = xasprintf("%s.ttrpc", o->address);
        t->runtimes = strv_copy(o->runtimes);
        t->events = ex;
        t->forward_efd = t->stop_efd = -EBADF;
        (void) pthread_mutex_init(&t->lock, NULL);
        r = start_events_server(t, err);
        if (r < 0) {
                (void) errmsg_prefix(err, r, "events ttrpc socket %s", t->ttrpc_address);
                task_table_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

static void task_free(struct task *task)
{
        if (task->log_fd >= 0) {
                (void) evloop_remove(task->table->loop, task->log_fd);
                safe_close(task->log_fd);
        }
        ttrpc_client_free(task->client);
        free(task->ns);
        free(task->id);
        free(task->bundle);
        free(task->address);
        free(task->binary);
        free(task);
}

static void async_call_free(struct async_call *c)
{
        safe_close(c->pipe[0]);
        safe_close(c->pipe[1]);
        free(c->address);
        free(c->ns);
        free(c->method);
        free(c->payload);
        free(c->answer);
        (void) pthread_mutex_destroy(&c->lock);
        free(c);
}

struct task_table *task_table_free(struct task_table *t)
{
        if (!t)
                return NULL;
        while (t->calls) {
                struct async_call *c = t->calls;

                bool is_finished;

                t->calls = c->next;
                (void) evloop_remove(t->loop, c->pipe[0]);
                c->done(-ECANCELED, NULL, 0, NULL, c->userdata);
                /* A thread blocked in Wait is left to finish alone: the process is
                 * exiting, and cancelling a thread in a blocking call is not clean. */
                (void) pthread_mutex_lock(&c->lock);
                is_finished = c->is_finished;
                c->is_orphaned = !is_finished;
                (void) pthread_mutex_unlock(&c->lock);
                if (is_finished) {
                        (void) pthread_join(c->thread, NULL);
                        async_call_free(c);
                } else
                        (void) pthread_detach(c->thread);
        }
        while (t->head) {
                struct task *task = t->head;

                t->head = task->next;
                task_free(task);
        }
        stop_events_server(t);
        free(t->state);
        strv_free(t->runtimes);
        free(t->address);
        free(t->ttrpc_address);
        free(t);
        return NULL;
}

struct task *task_find(struct task_table *t, const char *ns, const char *id)
{
        for (struct task *task = t->head; task; task = task->next)
                if (STREQ(task->ns, ns) && STREQ(task->id, id))
                        return task;
        return NULL;
}

struct task **task_list(struct task_table *t, const char *ns, size_t *ret_n)
{
        size_t n = 0, k = 0;
        struct task **v;

        for (struct task *task = t->head; task; task = task->next)
                n += STREQ(task->ns, ns);
        v = xnew0(struct task *, n + 1);
        for (struct task *task = t->head; task; task = task->next)
                if (STREQ(task->ns, ns))
                        v[k++] = task;
        *ret_n = n;
        return v;
}

/* --- the shim binary ------------------------------------------------------------------ */

static bool is_executable(const char *path)
{
        return access(path, X_OK) == 0;
}

/* name looked up next to the daemon's executable, then on PATH; a path as it is. */
static int find_executable(const char *name, char **ret)
{
        _cleanup_free_ char *candidate = NULL;
        const char *path;
        char exe[PATH_MAX];
        ssize_t n;

        if (strchr(name, '/')) {
                if (!is_executable(name))
                        return -ENOENT;
                *ret = xstrdup(name);
                return 0;
        }
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                exe[n] = '\0';
                *strrchr(exe, '/') = '\0';
                candidate = xasprintf("%s/%s", exe, name);
                if (is_executable(candidate)) {
                        *ret = TAKE_PTR(candidate);
                        return 0;
                }
                free(TAKE_PTR(candidate));
        }
        path = getenv("PATH");
        if (!path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (const char *p = path; *p;) {
                size_t len = strcspn(p, ":");

                if (len > 0) {
                        candidate = xasprintf("%.*s/%s", (int) len, p, name);
                        if (is_executable(candidate)) {
                                *ret = TAKE_PTR(candidate);
                                return 0;
                        }
                        free(TAKE_PTR(candidate));
                }
                p += len;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

/* The runtimes berth-containerd serves with its own shim unless configured otherwise. */
static const char *const default_runtimes[] = {
        "io.containerd.runc.v2",
        TASK_DEFAULT_SHIM,
        "io.containerd.runc.v1",
        TASK_DEFAULT_SHIM,
        NULL,
};

static const char *runtime_lookup(char *const *runtimes, const char *runtime)
{
        for (size_t i = 0; runtimes && runtimes[i] && runtimes[i + 1]; i += 2)
                if (STREQ(runtimes[i], runtime))
                        return runtimes[i + 1];
        return NULL;
}

int task_shim_binary(char *const *runtimes, const char *runtime, char **ret, struct errmsg *err)
{
        _cleanup_free_ char *derived = NULL;
        const char *last, *name;
        size_t prev;

        /* a custom path to a shim binary, as containerd's resolveRuntimePath */
        if (runtime[0] == '/') {
                if (access(runtime, F_OK) < 0)
                        return errmsg_set(err, -ENOENT, "invalid custom binary path: stat %s: %s",
                                          runtime, strerror(errno));
                *ret = xstrdup(runtime);
                return 0;
        }
        name = runtime_lookup(runtimes, runtime)
                       ?: runtime_lookup((char *const *) default_runtimes, runtime);
        if (!name) {
                last = strrchr(runtime, '.');
                if (!last || last == runtime)
                        return errmsg_set(err, -EINVAL,
                                          "invalid runtime name %s, correct runtime name "
                                          "should be either format like `io.containerd.runc.v1` "
                                          "or a full path to the binary",
                                          runtime);
                prev = (size_t) (last - runtime);
                while (prev > 0 && runtime[prev - 1] != '.')
                        prev--;
                derived = xasprintf("containerd-shim-%.*s-%s", (int) (last - runtime - prev),
                                    runtime + prev, last + 1);
                name = derived;
        }
        if (find_executable(name, ret) < 0)
                return errmsg_set(err, -ENOENT, "runtime %s: binary %s not installed on system",
                                  runtime, name);
        return 0;
}

/* --- starting a shim ------------------------------------------------------------------ */

/* The shim's log FIFO, drained into our log line by line (at debug, as containerd copies it to
 * its stderr). */
static void on_shim_log(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct task *task = userdata;
        char buf[4096];
        ssize_t n;

        (void) events;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n > 0) {
                buf[n] = '\0';
                for (char *line = buf, *end; *line; line = end) {
                        end = line + strcspn(line, "\n");
                        if (*end)
                                *end++ = '\0';
                        if (*line)
                                log_debug("shim %s/%s: %s", task->ns, task->id, line);
                }
                return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        /* EOF: the shim closed the FIFO (it exited) */
        (void) evloop_remove(loop, fd);
        task->log_fd = safe_close(fd);
}

static int make_bundle(const char *bundle, const struct task_create_opts *o, int *ret_log_fd,
                       struct errmsg *err)
{
        _cleanup_close_ int dfd = -EBADF;
        int fd, r;

        r = mkdir_p_at(AT_FDCWD, bundle, 0711);
        if (r < 0)
                return errmsg_set(err, r, "bundle %s: %s", bundle, strerror(-r));
        dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errmsg_set(err, -errno, "bundle %s: %s", bundle, strerror(errno));
        if (mkdirat(dfd, "rootfs", 0711) < 0 && errno != EEXIST)
                return errmsg_set(err, -errno, "bundle %s: rootfs: %s", bundle, strerror(errno));
        r = write_file_replace_at(dfd, "config.json", o->spec_json, o->spec_json_size, 0666);
        if (r < 0)
                return errmsg_set(err, r, "bundle %s: config.json: %s", bundle, strerror(-r));
        (void) unlinkat(dfd, "log", 0);
        if (mkfifoat(dfd, "log", 0700) < 0)
                return errmsg_set(err, -errno, "bundle %s: log fifo: %s", bundle, strerror(errno));
        fd = openat(dfd, "log", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(err, -errno, "bundle %s: log fifo: %s", bundle, strerror(errno));
        *ret_log_fd = fd;
        return 0;
}

static void remove_bundle(const char *bundle)
{
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", bundle);

        /* the shim unmounts it on Delete; a shim that died did not */
        while (umount2(rootfs, MNT_DETACH) == 0)
                ;
        (void) rm_rf_at(AT_FDCWD, bundle);
}

/* The child's environment: ours, plus what containerd sets (util.go Command). */
static char **shim_env(const struct task_table *t)
{
        char **env = NULL;

        for (char **e = environ; *e; e++)
                if (strncmp(*e, "TTRPC_ADDRESS=", STRLEN("TTRPC_ADDRESS=")) != 0 &&
                    strncmp(*e, "GOMAXPROCS=", STRLEN("GOMAXPROCS=")) != 0)
                        (void) strv_push(&env, *e);
        (void) strv_push(&env, "GOMAXPROCS=2");
        {
                _cleanup_free_ char *v = xasprintf("TTRPC_ADDRESS=%s", t->ttrpc_address);

                (void) strv_push(&env, v);
        }
        return env;
}

/* Runs "<shim> ... start" in the bundle and returns its output (stdout and stderr, as
 * containerd's CombinedOutput) and exit status. */
struct shim_command {
        const char *binary;
        const char *bundle;
        const char *ns;
        const char *id;
        const char *action; /* "start", "delete" */
        const void *input;  /* on stdin */
        size_t input_size;
        bool is_stderr_kept; /* stderr with stdout (start), or to our stderr (delete) */
};

/* Runs "<shim> -namespace NS -address A -publish-binary B -id ID [-bundle B] ACTION" in
 * the bundle as containerd does (util.go Command), and returns its output and exit status. */
static int run_shim(struct task_table *t, const struct shim_command *cmd, char **ret_out,
                    size_t *ret_len, int *ret_status, struct errmsg *err)
{
        _cleanup_(strv_freep) char **argv = NULL, **env = NULL;
        _cleanup_close_ int out_r = -EBADF, out_w = -EBADF, in_r = -EBADF, in_w = -EBADF;
        _cleanup_free_ char *out = NULL;
        char exe[PATH_MAX];
        ssize_t n;
        size_t len;
        pid_t pid;
        int fds[2], status, r;

        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = '\0';
        (void) strv_push(&argv, cmd->binary);
        (void) strv_push(&argv, "-namespace");
        (void) strv_push(&argv, cmd->ns);
        (void) strv_push(&argv, "-address");
        (void) strv_push(&argv, t->address);
        (void) strv_push(&argv, "-publish-binary");
        (void) strv_push(&argv, exe);
        (void) strv_push(&argv, "-id");
        (void) strv_push(&argv, cmd->id);
        if (log_enabled(LOG_LEVEL_DEBUG))
                (void) strv_push(&argv, "-debug");
        if (!STREQ(cmd->action, "start")) {
                (void) strv_push(&argv, "-bundle");
                (void) strv_push(&argv, cmd->bundle);
        }
        (void) strv_push(&argv, cmd->action);
        env = shim_env(t);

        if (cmd->input_size > TASK_OPTIONS_MAX)
                return errmsg_set(err, -E2BIG, "runtime options: %zu bytes, at most %u",
                                  cmd->input_size, TASK_OPTIONS_MAX);
        if (pipe2(fds, O_CLOEXEC) < 0)
                return errmsg_set(err, -errno, "pipe: %s", strerror(errno));
        out_r = fds[0], out_w = fds[1];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return errmsg_set(err, -errno, "pipe: %s", strerror(errno));
        in_r = fds[0], in_w = fds[1];
        /* small enough for the pipe's buffer: written before the child reads */
        if (cmd->input_size > 0 && (r = write_all(in_w, cmd->input, cmd->input_size)) < 0)
                return errmsg_set(err, r, "runtime options: %s", strerror(-r));
        in_w = safe_close(in_w);

        pid = fork();
        if (pid < 0)
                return errmsg_set(err, -errno, "fork: %s", strerror(errno));
        if (pid == 0) {
                sigset_t none;

                (void) sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                (void) setpgid(0, 0);
                if (chdir(cmd->bundle) < 0 || dup2(in_r, STDIN_FILENO) < 0 ||
                    dup2(out_w, STDOUT_FILENO) < 0 ||
                    (cmd->is_stderr_kept && dup2(out_w, STDERR_FILENO) < 0))
                        _exit(127);
                execve(cmd->binary, argv, env);
                _exit(127);
        }
        out_w = safe_close(out_w);
        in_r = safe_close(in_r);
        r = read_fd_all(out_r, TASK_START_OUTPUT_MAX, &out, &len);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return errmsg_set(err, r, "%s %s: output: %s", cmd->binary, cmd->action,
                                  strerror(-r));
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        *ret_out = TAKE_PTR(out);
        *ret_len = len;
        return 0;
}

static char *strip(char *s)
{
        size_t n;

        s += strspn(s, " \t\r\n");
        n = strlen(s);
        while (n > 0 && strchr(" \t\r\n", s[n - 1]))
                s[--n] = '\0';
        return s;
}

static void task_append(struct task_table *t, struct task *task)
{
        struct task **p = &t->head;

        task->next = NULL;
        while (*p)
                p = &(*p)->next;
        *p = task;
}

int task_start_shim(struct task_table *t, const struct task_create_opts *o, struct task **ret,
                    struct errmsg *err)
{
        _cleanup_free_ char *binary = NULL, *bundle = NULL, *out = NULL;
        struct task *task;
        int log_fd = -EBADF, status, r;
        size_t len;

        if (task_find(t, o->ns, o->id))
                return errmsg_set(err, -EEXIST, "task %s", o->id);
        r = task_shim_binary(t->runtimes, o->runtime, &binary, err);
        if (r < 0)
                return r;
        bundle = xasprintf("%s/io.containerd.runtime.v2.task/%s/%s", t->state, o->ns, o->id);
        r = make_bundle(bundle, o, &log_fd, err);
        if (r >= 0) {
                _cleanup_free_ char *path = xasprintf("%s/" SHIM_BINARY_FILE, bundle);

                r = write_file_replace_at(AT_FDCWD, path, binary, strlen(binary), 0600);
                if (r < 0)
                        (void) errmsg_set(err, r, "%s: %s", path, strerror(-r));
        }
        if (r < 0)
                goto undo_bundle;
        r = run_shim(t,
                     &(struct shim_command){.binary = binary,
                                            .bundle = bundle,
                                            .ns = o->ns,
                                            .id = o->id,
                                            .action = "start",
                                            .input = o->options,
                                            .input_size = o->options_size,
                                            .is_stderr_kept = true},
                     &out, &len, &status, err);
        if (r < 0)
                goto undo_log;
        if (status != 0) {
                r = errmsg_set(err, -EIO, "start shim %s: exit status %d: %s", binary, status,
                               strip(out));
                goto undo_log;
        }
        task = xnew0(struct task, 1);
        *task = (struct task){
                .ns = xstrdup(o->ns),
                .id = xstrdup(o->id),
                .bundle = TAKE_PTR(bundle),
                .address = xstrdup(strip(out)),
                .binary = xstrdup(binary),
                .log_fd = log_fd,
                .table = t,
        };
        r = ttrpc_client_connect(task->address, &task->client, err);
        if (r < 0) {
                (void) errmsg_prefix(err, r, "connect to shim %s", task->address);
                bundle = TAKE_PTR(task->bundle);
                task->log_fd = -EBADF;
                task_free(task);
                goto undo_log;
        }
        (void) evloop_add(t->loop, log_fd, EPOLLIN, on_shim_log, task);
        task_append(t, task);
        *ret = task;
        return 0;

undo_log:
        safe_close(log_fd);
undo_bundle:
        remove_bundle(bundle);
        return r;
}

/* task_call() within timeout_ms. */
static int task_call_within(struct task *task, const char *method, const uint8_t *payload,
                            size_t len, int timeout_ms, uint8_t **ret_payload, size_t *ret_len,
                            struct errmsg *err)
{
        const struct ttrpc_metadata md = {TASK_NAMESPACE_TTRPC, task->ns};

        return ttrpc_client_call(task->client, TASK_SHIM_SERVICE, method, &md, 1, payload, len,
                                 timeout_ms, ret_payload, ret_len, err);
}

int task_call(struct task *task, const char *method, const uint8_t *payload, size_t len,
              uint8_t **ret_payload, size_t *ret_len, struct errmsg *err)
{
        return task_call_within(task, method, payload, len, TASK_CALL_TIMEOUT_MS, ret_payload,
                                ret_len, err);
}

static void task_remove(struct task *task)
{
        struct task_table *t = task->table;

        remove_bundle(task->bundle);
        for (struct task **p = &t->head; *p; p = &(*p)->next)
                if (*p == task) {
                        *p = task->next;
                        break;
                }
        task_free(task);
}

void task_destroy_dead(struct task *task, uint32_t *ret_exit_status, struct timespec *ret_exited_at)
{
        _cleanup_free_ char *out = NULL;
        Containerd__Task__V2__DeleteResponse *resp = NULL;
        struct errmsg err = {0};
        int status = -1;
        size_t len = 0;

        *ret_exit_status = 255;
        (void) clock_gettime(CLOCK_REALTIME, ret_exited_at);
        if (run_shim(task->table,
                     &(struct shim_command){.binary = task->binary,
                                            .bundle = task->bundle,
                                            .ns = task->ns,
                                            .id = task->id,
                                            .action = "delete"},
                     &out, &len, &status, &err) < 0)
                log_warn("task %s/%s: cleaning up dead shim: %s, ignoring", task->ns, task->id,
                         err.msg);
        else if (status != 0)
                log_warn("task %s/%s: cleaning up dead shim: %s delete: exit status %d, ignoring",
                         task->ns, task->id, task->binary, status);
        else
                resp = containerd__task__v2__delete_response__unpack(NULL, len,
                                                                     (const uint8_t *) out);
        if (resp) {
                *ret_exit_status = resp->exit_status;
                if (resp->exited_at)
                        *ret_exited_at =
                                (struct timespec){resp->exited_at->seconds, resp->exited_at->nanos};
                containerd__task__v2__delete_response__free_unpacked(resp, NULL);
        }
        if (strncmp(task->address, "unix://", STRLEN("unix://")) == 0)
                (void) unlink(task->address + STRLEN("unix://"));
        task_remove(task);
}

static void task_destroy_silently(struct task *task)
{
        uint32_t exit_status;
        struct timespec exited_at;

        task_destroy_dead(task, &exit_status, &exited_at);
}

/* Asks the shim to exit (task.v2 Shutdown); it removes its socket and its connection breaks
 * as it goes. */
static void shim_shutdown(struct task *task, int timeout_ms)
{
        Containerd__Task__V2__ShutdownRequest req = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
        uint8_t buf[1024], *answer = NULL;
        size_t len, answer_len;

        req.id = task->id;
        len = protobuf_c_message_get_packed_size(&req.base);
        if (len <= sizeof(buf)) {
                (void) protobuf_c_message_pack(&req.base, buf);
                if (task_call_within(task, "Shutdown", buf, len, timeout_ms, &answer, &answer_len,
                                     NULL) >= 0)
                        free(answer);
        }
}

void task_destroy(struct task *task)
{
        shim_shutdown(task, TASK_CALL_TIMEOUT_MS);
        if (strncmp(task->address, "unix://", STRLEN("unix://")) == 0)
                (void) unlink(task->address + STRLEN("unix://"));
        task_remove(task);
}

/* --- calls from a thread ----------------------------------------------------------------- */

static void *async_call_thread(void *userdata)
{
        struct async_call *c = userdata;
        struct ttrpc_client *client = NULL;
        const struct ttrpc_metadata md = {TASK_NAMESPACE_TTRPC, c->ns};
        uint8_t one = 1;
        bool is_orphaned;

        c->r = ttrpc_client_connect(c->address, &client, &c->err);
        if (c->r >= 0)
                c->r = ttrpc_client_call(client, TASK_SHIM_SERVICE, c->method, &md, 1, c->payload,
                                         c->len, c->timeout_ms, &c->answer, &c->answer_len,
                                         &c->err);
        ttrpc_client_free(client);
        (void) pthread_mutex_lock(&c->lock);
        c->is_finished = true;
        is_orphaned = c->is_orphaned;
        (void) pthread_mutex_unlock(&c->lock);
        if (is_orphaned)
                async_call_free(c);
        else
                (void) write_all(c->pipe[1], &one, 1);
        return NULL;
}

static void on_async_done(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct async_call *c = userdata;
        struct task_table *t = c->table;
        uint8_t *answer;

        (void) events;
        (void) evloop_remove(loop, fd);
        (void) pthread_join(c->thread, NULL);
        for (struct async_call **p = &t->calls; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        answer = c->r >= 0 ? TAKE_PTR(c->answer) : NULL;
        c->done(c->r, answer, c->r >= 0 ? c->answer_len : 0, &c->err, c->userdata);
        async_call_free(c);
}

int task_call_async(struct task *task, const char *method, const uint8_t *payload, size_t len,
                    int timeout_ms, task_call_done_fn done, void *userdata)
{
        struct task_table *t = task->table;
        struct async_call *c = xnew0(struct async_call, 1);
        int r;

        *c = (struct async_call){
                .table = t,
                .address = xstrdup(task->address),
                .ns = xstrdup(task->ns),
                .method = xstrdup(method),
                .payload = xmalloc(len ? len : 1),
                .len = len,
                .timeout_ms = timeout_ms,
                .done = done,
                .userdata = userdata,
                .pipe = {-EBADF, -EBADF},
        };
        if (len)
                memcpy(c->payload, payload, len);
        (void) pthread_mutex_init(&c->lock, NULL);
        if (pipe2(c->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                async_call_free(c);
                return r;
        }
        r = evloop_add(t->loop, c->pipe[0], EPOLLIN, on_async_done, c);
        if (r < 0) {
                async_call_free(c);
                return r;
        }
        r = -pthread_create(&c->thread, NULL, async_call_thread, c);
        if (r < 0) {
                (void) evloop_remove(t->loop, c->pipe[0]);
                async_call_free(c);
                return r;
        }
        c->next = t->calls;
        t->calls = c;
        return 0;
}

/* --- a restart: the bundles left by the previous daemon ------------------------------- */

static char *read_bundle_file(const char *bundle, const char *name)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", bundle, name), *text = NULL;
        size_t len;

        if (read_file_at(AT_FDCWD, path, BUNDLE_FILE_MAX, &text, &len) < 0)
                return NULL;
        return xstrdup(strip(text));
}

/* Asks the shim for the task's state: it answers when it is alive (containerd's loadShim
 * connects and calls Connect; State tells the same and is what every shim serves), within
 * containerd's io.containerd.timeout.shim.load. */
static int probe_shim(struct task *task, struct errmsg *err)
{
        Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
        Containerd__Task__V2__StateResponse *st;
        _cleanup_free_ uint8_t *buf = NULL, *answer = NULL;
        size_t len, answer_len;
        int r;

        req.id = task->id;
        req.exec_id = (char *) "";
        len = protobuf_c_message_get_packed_size(&req.base);
        buf = xmalloc(len ? len : 1);
        (void) protobuf_c_message_pack(&req.base, buf);
        r = task_call_within(task, "State", buf, len, TASK_LOAD_TIMEOUT_MS, &answer, &answer_len,
                             err);
        if (r < 0)
                return r;
        st = containerd__task__v2__state_response__unpack(NULL, answer_len, answer);
        if (!st)
                return errmsg_set(err, -EIO, "state: undecodable answer");
        log_info("task %s/%s: shim %s reconnected, pid %u, status %d", task->ns, task->id,
                 task->address, st->pid, (int) st->status);
        containerd__task__v2__state_response__free_unpacked(st, NULL);
        return 0;
}

/* One bundle (containerd's loadShims): the task back in the table when its shim answers,
 * else the shim's delete and the bundle removed (cleanupAfterDeadShim). */
static void load_bundle(struct task_table *t, const char *ns, const char *id)
{
        _cleanup_free_ char *bundle =
                xasprintf("%s/io.containerd.runtime.v2.task/%s/%s", t->state, ns, id);
        _cleanup_free_ char *binary = read_bundle_file(bundle, SHIM_BINARY_FILE);
        _cleanup_free_ char *address = read_bundle_file(bundle, SHIM_ADDRESS_FILE);
        _cleanup_free_ char *log_path = xasprintf("%s/log", bundle);
        struct errmsg err = {0};
        struct task *task;
        int r;

        task = xnew0(struct task, 1);
        *task = (struct task){
                .ns = xstrdup(ns),
                .id = xstrdup(id),
                .bundle = TAKE_PTR(bundle),
                .address = address ? TAKE_PTR(address) : xstrdup(""),
                .binary = binary ? TAKE_PTR(binary) : xstrdup(""),
                .log_fd = -EBADF,
                .table = t,
        };
        task_append(t, task);
        /* Before anything else, as containerd's openShimLog: a shim that was starting when
         * the daemon died blocks opening the write side of its log until a reader comes. */
        task->log_fd = open(log_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (task->log_fd >= 0)
                (void) evloop_add(t->loop, task->log_fd, EPOLLIN, on_shim_log, task);
        else
                task->log_fd = -EBADF;
        if (!*task->address)
                r = errmsg_set(&err, -ENOENT, "no address file");
        else if ((r = ttrpc_client_connect(task->address, &task->client, &err)) >= 0)
                r = probe_shim(task, &err);
        if (r < 0 && !*task->binary) {
                /* a bundle of a daemon that did not keep the binary: nothing to run */
                log_warn("task %s/%s: shim %s: %s: removing the bundle", ns, id, task->address,
                         err.msg);
                task_remove(task);
                return;
        }
        if (r < 0) {
                log_warn("task %s/%s: shim %s: %s: cleaning up", ns, id, task->address, err.msg);
                /* a shim that answers but has no task (the daemon died while it started) is
                 * told to exit too, or it would stay forever */
                if (task->client)
                        shim_shutdown(task, TASK_LOAD_TIMEOUT_MS);
                task_destroy_silently(task);
                return;
        }
}

static bool is_hidden(const struct dirent *de)
{
        return de->d_name[0] == '.' || de->d_type != DT_DIR;
}

static void load_namespace(struct task_table *t, const char *ns)
{
        _cleanup_free_ char *dir = xasprintf("%s/io.containerd.runtime.v2.task/%s", t->state, ns);
        struct dirent **ids = NULL;
        int n;

        n = scandir(dir, &ids, NULL, alphasort);
        for (int i = 0; i < n; i++) {
                if (!is_hidden(ids[i]))
                        load_bundle(t, ns, ids[i]->d_name);
                free(ids[i]);
        }
        free(ids);
}

void task_table_load(struct task_table *t)
{
        _cleanup_free_ char *dir = xasprintf("%s/io.containerd.runtime.v2.task", t->state);
        struct dirent **nss = NULL;
        int n;

        n = scandir(dir, &nss, NULL, alphasort);
        for (int i = 0; i < n; i++) {
                if (!is_hidden(nss[i]))
                        load_namespace(t, nss[i]->d_name);
                free(nss[i]);
        }
        free(nss);
}
