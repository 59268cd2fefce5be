/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's tasks (containerd runtime/v2): one shim v2 per container, started as containerd
 * starts it (binary.go: "<shim> -namespace NS -address A -publish-binary B -id ID start" in the
 * bundle dir, TTRPC_ADDRESS in the environment, the runtime options as a packed Any on stdin,
 * the ttrpc address on stdout), a bundle <state>/io.containerd.runtime.v2.task/<ns>/<id> with
 * config.json and an empty rootfs (the shim mounts it from Create's mounts), the shim's "log"
 * FIFO drained into the daemon's log, and a ttrpc client per task for the calls that answer
 * at once. The table also serves the ttrpc Events service on <address>.ttrpc, where shims
 * Forward their events, on a thread of its own (a shim may wait for Forward's answer while
 * the daemon's loop waits for that shim), publishing them on the loop. The functions here
 * are called on the daemon's loop thread.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/errmsg.h"
#include "lib/evloop.h"
#include "lib/ttrpc.h"

/* The shim's service, and the ttrpc metadata key of the namespace (containerd namespaces/ttrpc.go).
 */
#define TASK_SHIM_SERVICE    "containerd.task.v2.Task"
#define TASK_NAMESPACE_TTRPC "containerd-namespace-ttrpc"
/* Timeout of the calls that answer at once (Create runs the runtime: give it time). */
#define TASK_CALL_TIMEOUT_MS (60 * 1000)
/* How long a shim may take to answer at start-up before it counts as dead (containerd's
 * io.containerd.timeout.shim.load). */
#define TASK_LOAD_TIMEOUT_MS (5 * 1000)
/* Bytes of a shim's "start" output and of the runtime options handed on its stdin. */
#define TASK_START_OUTPUT_MAX (64u << 10)
#define TASK_OPTIONS_MAX      (32u << 10)

struct events;

struct task {
        char *ns;
        char *id;
        char *bundle;  /* absolute path */
        char *address; /* the shim's ttrpc address, "unix://..." */
        char *binary;  /* the shim's executable */
        struct ttrpc_client *client;
        int log_fd; /* read side of <bundle>/log, or -EBADF */
        struct task_table *table;
        struct task *next;
};

struct task_table_opts {
        const char *state;     /* the daemon's state dir */
        const char *address;   /* the daemon's gRPC socket (shims get it as -address) */
        char *const *runtimes; /* strv of runtime name, shim (a path or a name): the shim
                                * to start for that runtime (may be NULL) */
};

/* What io.containerd.runc.v2 (and .v1) run unless runtimes say otherwise: our shim, a drop-in
 * for containerd-shim-runc-v2 with the same options. */
#define TASK_DEFAULT_SHIM "berth-containerd-shim"

/* A table on loop; it serves <address>.ttrpc. Forwarded events go to ex (may be NULL: dropped). */
int task_table_new(struct evloop *loop, const struct task_table_opts *o, struct events *ex,
                   struct task_table **ret, struct errmsg *err);
/* Closes the clients and the Events socket; shims and containers stay (as containerd leaves them).
 */
struct task_table *task_table_free(struct task_table *t);
DEFINE_CLEANUP_FUNC(struct task_table, task_table_free)

/*
 * At start, as containerd 1.6 does (runtime/v2/shim_load.go): each bundle left under
 * <state>/io.containerd.runtime.v2.task/<ns>/<id> whose shim answers (its "address" file) goes
 * back into the table; one whose shim is gone is cleaned up (task_destroy_dead()). Problems are
 * logged, not returned: a bundle never keeps the daemon from starting.
 */
void task_table_load(struct task_table *t);

/* The task (borrowed, owned by the table) or NULL. */
struct task *task_find(struct task_table *t, const char *ns, const char *id);
/* Tasks in ns in creation order: the table's, borrowed; *ret_n set. The array is the caller's. */
struct task **task_list(struct task_table *t, const char *ns, size_t *ret_n);

/*
 * The shim binary for a runtime name: a full path is the binary itself (-ENOENT if absent);
 * else the shim runtimes (strv of name, shim) give; else io.containerd.runc.v2/.v1 ->
 * TASK_DEFAULT_SHIM; else containerd's rule ("io.containerd.foo.v7" ->
 * "containerd-shim-foo-v7"; -EINVAL for a name without two dot-separated parts). A name is
 * looked up next to the daemon's executable, then on PATH: -ENOENT. *ret is the caller's.
 */
int task_shim_binary(char *const *runtimes, const char *runtime, char **ret, struct errmsg *err);

struct task_create_opts {
        const char *ns;
        const char *id;
        const char *runtime;   /* runtime name of the container record */
        const void *spec_json; /* the OCI spec (the spec Any's value) */
        size_t spec_json_size;
        const void *options; /* packed Any of the runtime options for the shim's stdin, or NULL */
        size_t options_size;
};
/*
 * Makes the bundle, starts the shim and connects to it; the task is then in the table (the
 * caller sends the shim's Create). -EEXIST when the task exists. On failure nothing remains.
 */
int task_start_shim(struct task_table *t, const struct task_create_opts *o, struct task **ret,
                    struct errmsg *err);
/* Asks the shim to shut down (best effort), removes the bundle and the task from the table. */
void task_destroy(struct task *task);
/*
 * For a shim that does not answer (containerd's cleanupAfterDeadShim): runs "<shim> ... -bundle
 * B delete" (the runtime's container goes), removes the bundle and the task. The exit status
 * and time are the ones the shim's delete printed, else 255 and now.
 */
void task_destroy_dead(struct task *task, uint32_t *ret_exit_status,
                       struct timespec *ret_exited_at);

/* A call to the task's shim (Task service), blocking up to TASK_CALL_TIMEOUT_MS.
 * ttrpc_client_call()'s contract; the ns goes as metadata. */
int task_call(struct task *task, const char *method, const uint8_t *payload, size_t len,
              uint8_t **ret_payload, size_t *ret_len, struct errmsg *err);

/*
 * Calls method on the shim from a thread of its own, with a connection of its own, within
 * timeout_ms (0: none, for Wait), so that the loop serves other calls meanwhile, and calls
 * done on the loop's thread with the result (ttrpc_client_call()'s contract: payload, the
 * caller's to free, only when r >= 0). The payload is copied. The task may be gone when done
 * runs: look it up again.
 */
typedef void (*task_call_done_fn)(int r, uint8_t *payload, size_t len, const struct errmsg *err,
                                  void *userdata);
int task_call_async(struct task *task, const char *method, const uint8_t *payload, size_t len,
                    int timeout_ms, task_call_done_fn done, void *userdata);
