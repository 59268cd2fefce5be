/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's life (daemon.h): directories, the store and its crash check, the stable server
 * uuid, the gRPC socket with every service's methods, the loop, and a clean stop on
 * SIGTERM/SIGINT (the listener closed and the socket removed; shims and containers stay).
 */
#include "containerd/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "containerd/events.h"
#include "containerd/svc.h"
#include "containerd/task.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/ttrpc.h"
#include "lib/xalloc.h"

#define UUID_FILE "io.containerd.grpc.v1.introspection/uuid"
/* Bytes of the newest blobs re-hashed at start (store_check). */
#define CHECK_HASH_BUDGET (64u << 20)

static const struct grpc_method *const service_tables[] = {
        svc_version_methods,    svc_introspection_methods, svc_health_methods,
        svc_namespaces_methods, svc_containers_methods,    svc_content_methods,
        svc_leases_methods,     svc_images_methods,        svc_snapshots_methods,
        svc_diff_methods,       svc_events_methods,        svc_tasks_methods,
};

static const struct grpc_method *find_method(const char *path)
{
        for (size_t t = 0; t < ELEMENTSOF(service_tables); t++)
                for (const struct grpc_method *m = service_tables[t]; m->path; m++)
                        if (STREQ(m->path, path))
                                return m;
        return NULL;
}

/* One debug line per call: the method, the namespace and the outcome (--log-level debug). */
static void log_call(struct grpc_call *call, const char *path, const char *outcome)
{
        const char *ns;

        if (!log_enabled(LOG_LEVEL_DEBUG))
                return;
        ns = grpc_call_metadata(call, NAMESPACE_METADATA_KEY);
        log_debug("%s (namespace %s): %s", path, ns ? ns : "-", outcome);
}

/* Every method goes through here: the service's handler, then containerd's error words. */
static int dispatch(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                    struct errmsg *err)
{
        const struct grpc_method *m = find_method(grpc_call_path(call));
        int r;

        assert(m);
        r = m->fn(call, msg, len, userdata, err);
        if (r >= 0 || !err) {
                log_call(call, m->path, r >= 0 ? "ok" : strerror(-r));
                return r;
        }
        svc_errdefs_words(r, err);
        log_call(call, m->path, err->msg[0] ? err->msg : strerror(-r));
        return r;
}

/* All services' methods in one table ending in {NULL} (the caller's), through dispatch(). */
static struct grpc_method *all_methods(void)
{
        size_t n = 0, k = 0;
        struct grpc_method *all;

        for (size_t t = 0; t < ELEMENTSOF(service_tables); t++)
                for (const struct grpc_method *m = service_tables[t]; m->path; m++)
                        n++;
        all = xnew0(struct grpc_method, n + 1);
        for (size_t t = 0; t < ELEMENTSOF(service_tables); t++)
                for (const struct grpc_method *m = service_tables[t]; m->path; m++)
                        all[k++] = (struct grpc_method){m->path, m->kind, dispatch};
        return all;
}

/* The uuid kept in root, made once from the kernel's random uuid. */
static int load_uuid(struct daemon *d, struct errmsg *err)
{
        _cleanup_close_ int root = open(d->o.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (root < 0)
                return errmsg_set(err, -errno, "root %s: %s", d->o.root, strerror(errno));
        r = read_file_at(root, UUID_FILE, 64, &text, &len);
        if (r == -ENOENT) {
                r = read_file_at(AT_FDCWD, "/proc/sys/kernel/random/uuid", 64, &text, &len);
                if (r >= 0 &&
                    (r = mkdir_p_at(root, "io.containerd.grpc.v1.introspection", 0711)) >= 0)
                        r = write_file_atomic_at(root, UUID_FILE, text, strcspn(text, "\n"), 0644);
        }
        if (r < 0)
                return errmsg_set(err, r, "%s/%s: %s", d->o.root, UUID_FILE, strerror(-r));
        text[strcspn(text, "\n")] = '\0';
        (void) snprintf(d->uuid, sizeof(d->uuid), "%s", text);
        return 0;
}

static int open_store(struct daemon *d, struct errmsg *err)
{
        struct store_check_result c;
        int r;

        r = mkdir_p_at(AT_FDCWD, d->o.root, 0711);
        if (r >= 0)
                r = mkdir_p_at(AT_FDCWD, d->o.state, 0711);
        if (r < 0)
                return errmsg_set(err, r, "directories %s, %s: %s", d->o.root, d->o.state,
                                  strerror(-r));
        r = store_open(d->o.root, &d->st, err);
        if (r >= 0)
                r = store_check(d->st, CHECK_HASH_BUDGET, &c, err);
        if (r < 0)
                return r;
        if (c.n_blobs_damaged || c.n_snapshots_damaged)
                log_warn("store check: removed %zu damaged blobs and %zu snapshots without their "
                         "files; they are fetched and unpacked again when needed",
                         c.n_blobs_damaged, c.n_snapshots_damaged);
        return load_uuid(d, err);
}

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct signalfd_siginfo si;

        (void) events;
        (void) userdata;
        if (read(fd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                log_info("signal %u: shutting down", si.ssi_signo);
                evloop_exit(loop, 0);
        }
}

static int listen_grpc(struct daemon *d, struct grpc_method *methods, struct errmsg *err)
{
        _cleanup_free_ char *dir = xstrdup(d->o.address);
        char *slash = strrchr(dir, '/');
        int fd, r;

        if (slash && slash != dir) {
                *slash = '\0';
                r = mkdir_p_at(AT_FDCWD, dir, 0711);
                if (r < 0)
                        return errmsg_set(err, r, "%s: %s", dir, strerror(-r));
        }
        r = ttrpc_listen_unix(d->o.address, &fd, err);
        if (r < 0)
                return r;
        r = grpc_server_new(d->loop, fd, methods, d, NULL, &d->grpc);
        return r < 0 ? errmsg_set(err, r, "gRPC server: %s", strerror(-r)) : 0;
}

static int serve(struct daemon *d, struct errmsg *err)
{
        _cleanup_free_ struct grpc_method *methods = all_methods();
        _cleanup_close_ int sfd = -EBADF;
        sigset_t mask;
        int r;

        (void) sigemptyset(&mask);
        (void) sigaddset(&mask, SIGTERM);
        (void) sigaddset(&mask, SIGINT);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                return errmsg_set(err, -errno, "signalfd: %s", strerror(errno));
        r = evloop_new(&d->loop);
        if (r >= 0)
                r = evloop_add(d->loop, sfd, EPOLLIN, on_signal, d);
        if (r < 0)
                return errmsg_set(err, r, "event loop: %s", strerror(-r));
        r = task_table_new(d->loop,
                           &(struct task_table_opts){.state = d->o.state,
                                                     .address = d->o.address,
                                                     .runtimes = d->o.runtimes},
                           d->events, &d->tasks, err);
        if (r >= 0) {
                task_table_load(d->tasks);
                r = listen_grpc(d, methods, err);
        }
        if (r < 0)
                return r;
        log_info("serving containerd's API on %s (root %s, state %s)", d->o.address, d->o.root,
                 d->o.state);
        r = evloop_run(d->loop);
        d->tasks = task_table_free(d->tasks); /* answers pending Waits: before the server */
        d->grpc = grpc_server_free(d->grpc);
        (void) unlink(d->o.address);
        return r < 0 ? errmsg_set(err, r, "event loop: %s", strerror(-r)) : 0;
}

int daemon_run(const struct daemon_opts *o, struct errmsg *err)
{
        struct daemon d = {.o = *o, .events = events_new()};
        int r;

        r = open_store(&d, err);
        if (r >= 0)
                r = serve(&d, err);
        d.tasks = task_table_free(d.tasks);
        d.grpc = grpc_server_free(d.grpc);
        d.events = events_free(d.events); /* after the calls that subscribed */
        d.loop = evloop_free(d.loop);
        d.st = store_free(d.st);
        return r;
}
