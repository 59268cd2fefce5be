/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's state directory, <root>/<id>/: state.json (what berth-runc knows of the
 * container) and exec.fifo (present from create until start). The status is derived, as
 * the runtime-spec's state operation requires: the init process is alive (pid plus its
 * start time, so a recycled pid is not mistaken for it) and the fifo or freezer says more.
 */
#pragma once

#include <sys/types.h>

#include "lib/errmsg.h"

#define STATE_FILE "state.json"
#define EXEC_FIFO  "exec.fifo"
#define ID_MAX_LEN 1024

enum container_status {
        STATUS_CREATING,
        STATUS_CREATED,
        STATUS_RUNNING,
        STATUS_PAUSED,
        STATUS_STOPPED,
        _STATUS_MAX,
};

const char *container_status_to_string(enum container_status s);

struct container_state {
        char *id;
        pid_t pid;
        uint64_t start_time; /* /proc/<pid>/stat field 22, clock ticks since boot */
        char *bundle;        /* absolute */
        char *rootfs;        /* absolute */
        char *created;       /* RFC 3339 with nanoseconds, UTC */
        uid_t owner;
        char *cgroup_json; /* cgroup_to_json(): every hierarchy's directory */
        bool systemd_cgroup;
        char *annotations_json; /* the config's annotations object, "{}" if none */
};

/* Is id acceptable as a container id (runc: [A-Za-z0-9_+.-]+, not "." or "..")? */
bool container_id_is_valid(const char *id);

/* Opens (creating it 0700 when create is set) the state root; returns an O_DIRECTORY fd. */
int state_root_open(const char *root, bool create, int *ret_fd, struct errmsg *err);
/* Loads <root>/<id>/state.json. -ENOENT (with "container does not exist") when absent. */
int state_load(int root_fd, const char *id, struct container_state **ret, struct errmsg *err);
/* Writes state.json atomically into the container's directory. */
int state_save(int root_fd, const struct container_state *st, struct errmsg *err);
struct container_state *container_state_free(struct container_state *st);
DEFINE_CLEANUP_FUNC(struct container_state, container_state_free)

/* Opens the container's cgroup as recorded at create. */
struct cgroup;
int state_open_cgroup(const struct container_state *st, struct cgroup **ret, struct errmsg *err);
/* The current status of a loaded container (checks the process, the fifo, the freezer). */
enum container_status state_status(int root_fd, const struct container_state *st);
/* Is pid alive with this start time? */
bool process_is_alive(pid_t pid, uint64_t start_time);
/* Reads field 22 of /proc/<pid>/stat. */
int process_start_time(pid_t pid, uint64_t *ret);
/* The state JSON of the runtime-spec (runtime.md "State") as runc prints it; caller frees. */
char *state_to_oci_json(const struct container_state *st, enum container_status status);
/* Current time as RFC 3339 with nanoseconds (Go's time.RFC3339Nano); caller frees. */
char *rfc3339_now(void);
