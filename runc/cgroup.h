/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's cgroup, on cgroup v1, v2 or hybrid (v1 controllers plus a cgroup2 mount at
 * /sys/fs/cgroup/unified). The manager is cgroupfs; with --systemd-cgroup a
 * "slice:prefix:name" cgroupsPath is translated to the path systemd would use
 * (/slice.slice/prefix-name.scope) and created through cgroupfs too.
 *
 * A struct cgroup is cheap: opening resolves paths only; cgroup_create() makes directories.
 * Every function that fails because of its input fills err. None logs above debug.
 */
#pragma once

#include <sys/types.h>

#include "runc/spec.h"

enum cgroup_mode {
        CGROUP_MODE_V1,     /* only v1 hierarchies */
        CGROUP_MODE_HYBRID, /* v1 controllers + cgroup2 at /sys/fs/cgroup/unified */
        CGROUP_MODE_V2,     /* cgroup2 at /sys/fs/cgroup */
        _CGROUP_MODE_MAX,
};

struct cgroup;

/* Detects the host's layout from /sys/fs/cgroup (statfs). */
int cgroup_detect_mode(enum cgroup_mode *ret);

/*
 * Resolves the container's cgroup from config.json's cgroupsPath (NULL or "" means the
 * default, "/berth-runc/<id>"… see cgroup.c) and the container id. A relative path is taken
 * relative to the calling process's own cgroup in each hierarchy, as runc does.
 */
int cgroup_open(const char *cgroups_path, const char *id, bool systemd, struct cgroup **ret,
                struct errmsg *err);
struct cgroup *cgroup_free(struct cgroup *cg);
DEFINE_CLEANUP_FUNC(struct cgroup, cgroup_free)

/* The resolved path (as stored in state.json), e.g. "/berth-runc/c1". Borrowed. */
const char *cgroup_path(const struct cgroup *cg);
enum cgroup_mode cgroup_mode(const struct cgroup *cg);

/* Creates the directories in every hierarchy (cpuset parents get cpus/mems copied). */
int cgroup_create(struct cgroup *cg, struct errmsg *err);
/* Writes resources; names the file and value on failure ("memory.limit_in_bytes=…: …"). */
int cgroup_apply(struct cgroup *cg, const struct oci_resources *res, struct errmsg *err);
/* Moves pid into the cgroup in every hierarchy. */
int cgroup_add_pid(struct cgroup *cg, pid_t pid, struct errmsg *err);
/* Freezes or thaws, waiting until the state is reached. */
int cgroup_freeze(struct cgroup *cg, bool frozen, struct errmsg *err);
/* Is the cgroup frozen now? -ENOENT when it does not exist. */
int cgroup_is_frozen(struct cgroup *cg, bool *ret);
/* The pids in the cgroup (and below it); *ret is the caller's. */
int cgroup_get_pids(struct cgroup *cg, pid_t **ret, size_t *ret_n);
/* Sends sig to every process in the cgroup (frozen first so none can fork away). */
int cgroup_kill_all(struct cgroup *cg, int sig);
/* Removes the directories (after the processes are gone); missing ones are fine. */
int cgroup_destroy(struct cgroup *cg);
