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

#include <jansson.h>
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
 * Resolves the container's cgroup from config.json's cgroupsPath and the container id, as
 * runc 1.1.5's cgroupfs driver does (nothing is created):
 * - "/a/b": absolute, under each hierarchy's root (/sys/fs/cgroup/memory/a/b, …).
 * - "a/b": relative to the calling process's own cgroup in each hierarchy (from
 *   /proc/self/cgroup), so on v1 the hierarchies may differ; on pure v2 relative to the
 *   parent of the caller's cgroup (a cgroup holding processes cannot delegate controllers).
 * - NULL or "": the container id, relative as above (runc names the cgroup after the
 *   container; checked with runc 1.1.5 on a hybrid host: memory:/<own>/<id>, pids:/<id>).
 * - systemd: "slice:prefix:name" is "/<expanded slice>/<prefix>-<name>.scope" ("a-b.slice"
 *   expands to "/a.slice/a-b.slice", "" to "system.slice", "-.slice" to the root; a name
 *   ending in ".slice" is used as is); NULL or "" is ":runc:<id>". Created through cgroupfs.
 * Paths are cleaned lexically; ".." cannot climb out of a relative path. -EINVAL with err set
 * for a malformed systemd path or a path naming the root itself; -ENOENT if nothing is mounted.
 * On v1 and hybrid every v1 hierarchy the caller belongs to is used, plus name=systemd and,
 * on hybrid, the cgroup2 mount at /sys/fs/cgroup/unified (for membership only).
 */
int cgroup_open(const char *cgroups_path, const char *id, bool systemd, struct cgroup **ret,
                struct errmsg *err);
struct cgroup *cgroup_free(struct cgroup *cg);
DEFINE_CLEANUP_FUNC(struct cgroup, cgroup_free)

/*
 * The cleaned inner path, the same in every hierarchy: "/berth/c1" for an absolute
 * cgroupsPath or a systemd one ("/system.slice/runc-c1.scope"), "c1" for a relative one.
 * Reopening it with cgroup_open(path, id, false, …) finds the same directories, but a
 * relative path only from a process in the same cgroups as the creator (runc keeps one
 * absolute directory per hierarchy in state.json instead; see cgroup_dir()). Borrowed.
 */
const char *cgroup_path(const struct cgroup *cg);
enum cgroup_mode cgroup_mode(const struct cgroup *cg);
/*
 * The container's directory in the hierarchy holding controller ("memory", "name=systemd"),
 * e.g. "/sys/fs/cgroup/memory/berth/c1"; NULL or "" for the cgroup2 one (v2 or hybrid).
 * On pure v2 every controller gives the one directory. NULL if not mounted. Borrowed.
 */
const char *cgroup_dir(const struct cgroup *cg, const char *controller);

/*
 * runc's default device rules (libcontainer/specconv AllowedDevices at v1.1.5: mknod of any
 * char/block device, null, zero, full, random, urandom, tty, ptmx, pts/N, net/tun). runc
 * applies the spec's linux.resources.devices, then one allow rule per linux.devices entry,
 * then these; building that list is the caller's job. Returns the count; *ret is static.
 */
size_t cgroup_default_device_rules(const struct oci_device_rule **ret);

/*
 * The cgroup with every hierarchy's absolute directory, for state.json, and back. A cgroup
 * read back never removes parents (only what this process's cgroup_create() made).
 */
json_t *cgroup_to_json(const struct cgroup *cg);
int cgroup_from_json(json_t *j, struct cgroup **ret, struct errmsg *err);

/*
 * Creates the directories in every hierarchy; existing ones are fine. v1 cpuset directories
 * on the way down get their parent's cpus/mems when empty; on v2 every ancestor enables its
 * available controllers in cgroup.subtree_control. On failure removes what it made.
 * Call order for a new container: cgroup_create(), cgroup_apply(), cgroup_add_pid().
 */
int cgroup_create(struct cgroup *cg, struct errmsg *err);
/*
 * Writes resources; names the file and value on failure ("memory.limit_in_bytes=…: …").
 * Zero means unset for numbers, as in runc. A field whose v1 controller is not mounted, or
 * "unified" on v1/hybrid, fails with -EOPNOTSUPP; v1-only fields on v2 (kernel memory,
 * swappiness, disableOOMKiller, realtime, classID, leaf weights) are ignored, as runc does.
 * Device rules: v1 (and hybrid) deny all, then apply res->devices in order; on v2 the same
 * decisions are compiled into a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
 * cgroup, replacing any program attached before (cgroup-v2-devices.c).
 */
int cgroup_apply(struct cgroup *cg, const struct oci_resources *res, struct errmsg *err);
/* Moves pid into the cgroup in every hierarchy. */
int cgroup_add_pid(struct cgroup *cg, pid_t pid, struct errmsg *err);
/*
 * Freezes or thaws, waiting until the state is reached (about 2 s at most; a freeze that does
 * not complete is undone and fails with -EBUSY). v1 freezer controller, else cgroup.freeze.
 * -EOPNOTSUPP if there is no freezer.
 */
int cgroup_freeze(struct cgroup *cg, bool frozen, struct errmsg *err);
/* Is the cgroup frozen now? -ENOENT when it does not exist. */
int cgroup_is_frozen(struct cgroup *cg, bool *ret);
/* The pids in the cgroup (and below it); *ret is the caller's. */
int cgroup_get_pids(struct cgroup *cg, pid_t **ret, size_t *ret_n);
/*
 * Sends sig to every process in the cgroup (frozen first so none can fork away, then thawed
 * unless it was paused and sig is not SIGKILL). SIGKILL uses cgroup.kill where it exists.
 * ESRCH is not an error.
 */
int cgroup_kill_all(struct cgroup *cg, int sig);
/*
 * Removes the container's directory and its sub-directories in every hierarchy, children
 * first, retrying EBUSY briefly (about 0.6 s). Parents stay, except those this same struct's
 * cgroup_create() made, which go too while empty (so that rolling back a failed create leaves
 * no debris). Missing directories are fine. Returns the first error (-EBUSY while processes
 * remain) after trying every hierarchy.
 */
int cgroup_destroy(struct cgroup *cg);
