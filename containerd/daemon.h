/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-containerd, the daemon: containerd 1.6's gRPC API on a unix socket, over the storage
 * core (store.h) and, for tasks, shims. One event loop serves every call; a service's
 * handlers get the daemon as their userdata.
 */
#pragma once

struct events;
struct task_table;

#include "containerd/store.h"
#include "lib/evloop.h"
#include "lib/grpc.h"

#define DAEMON_DEFAULT_ADDRESS "/run/berth/containerd/containerd.sock"
#define DAEMON_DEFAULT_ROOT    "/var/lib/berth/containerd"
#define DAEMON_DEFAULT_STATE   "/run/berth/containerd"
/* What Version answers: the containerd API berth speaks, and that it is berth. */
#define DAEMON_CONTAINERD_VERSION "1.6.20+berth"

struct daemon_opts {
        const char *address;             /* the gRPC unix socket */
        const char *root;                /* persistent data (store.h) */
        const char *state;               /* runtime state: shims' bundles, FIFOs */
        const char *default_snapshotter; /* "overlayfs" */
        char *const *runtimes;           /* strv: runtime name, shim (task.h); may be NULL */
};

struct daemon {
        struct daemon_opts o;
        struct store *st;
        struct events *events;    /* the event exchange (events.h) */
        struct task_table *tasks; /* the tasks and their shims (task.h) */
        struct evloop *loop;
        struct grpc_server *grpc;
        char uuid[37]; /* Introspection/Server: stable across restarts (kept in root) */
};

/* Opens the store, listens and serves until SIGTERM/SIGINT; 0 on a clean shutdown. */
int daemon_run(const struct daemon_opts *o, struct errmsg *err);

/* The method tables of the services (svc-*.c), each ending in {NULL}. */
extern const struct grpc_method svc_version_methods[];
extern const struct grpc_method svc_introspection_methods[];
extern const struct grpc_method svc_health_methods[];
extern const struct grpc_method svc_namespaces_methods[];
extern const struct grpc_method svc_containers_methods[];
extern const struct grpc_method svc_content_methods[];
extern const struct grpc_method svc_leases_methods[];
extern const struct grpc_method svc_images_methods[];
extern const struct grpc_method svc_snapshots_methods[];
extern const struct grpc_method svc_diff_methods[];
extern const struct grpc_method svc_events_methods[];
extern const struct grpc_method svc_tasks_methods[];
