/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The task's Stats: the metrics of the cgroups the init process is in, as "ctr task metrics"
 * prints them. cgroup v1 (pids, cpu, memory, OOM control) gives containerd's
 * io.containerd.cgroups.v1.Metrics; a process only on the unified hierarchy (pure cgroup v2)
 * gives io.containerd.cgroups.v2.Metrics (pids, cpu, memory, memory.events, io), read as
 * containerd/cgroups v2's Manager.Stat reads them. A hybrid system (v1 controllers plus the
 * unified hierarchy) stays on v1. Cgroups are found through /proc/<pid>/cgroup, so cgroupfs
 * and systemd cgroup paths alike work; v1 hierarchies are expected at <root>/<controller
 * list>, as systemd mounts them, the unified one at <root> itself.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errmsg.h"

#define STATS_V1_TYPE "io.containerd.cgroups.v1.Metrics"
#define STATS_V2_TYPE "io.containerd.cgroups.v2.Metrics"
/* Most bytes read from one cgroup or /proc file. */
#define STATS_FILE_MAX_BYTES (64u << 10)

/*
 * The serialized Metrics (the caller's buffer) for the process whose /proc/<pid>/cgroup is
 * proc_cgroup, with hierarchies under cgroup_root. -EOPNOTSUPP when the process is in no
 * cgroup v1 hierarchy (cgroup v2 only). Files a kernel lacks count as 0.
 */
int stats_cgroup_v1(const char *cgroup_root, const char *proc_cgroup, uint8_t **ret,
                    size_t *ret_len, struct errmsg *err);

/* Is a /proc/<pid>/cgroup text on the unified hierarchy only (no v1 or named hierarchy)? */
bool stats_is_cgroup_v2(const char *proc_cgroup);

/*
 * The serialized v2 Metrics (the caller's buffer) of the unified cgroup <cgroup_root><path>
 * named by proc_cgroup's "0::<path>" line. -EOPNOTSUPP without such a line, -ENOENT when the
 * cgroup directory is gone. Files a kernel lacks count as 0; "max" limits are UINT64_MAX, as
 * containerd/cgroups v2 reads them.
 */
int stats_cgroup_v2(const char *cgroup_root, const char *proc_cgroup, uint8_t **ret,
                    size_t *ret_len, struct errmsg *err);

/*
 * The metrics for proc_cgroup, v2 when stats_is_cgroup_v2() and v1 otherwise: *ret_type is
 * the Any type URL (static), *ret the caller's buffer. Errors as the two functions above.
 */
int stats_cgroup(const char *cgroup_root, const char *proc_cgroup, const char **ret_type,
                 uint8_t **ret, size_t *ret_len, struct errmsg *err);
