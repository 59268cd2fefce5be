/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The task's Stats: cgroup v1 metrics (pids, cpu, memory, OOM control) of the cgroups the
 * init process is in, as containerd's io.containerd.cgroups.v1.Metrics, which "ctr task
 * metrics" prints. Controllers are found through /proc/<pid>/cgroup, so cgroupfs and systemd
 * cgroup paths alike work; hierarchies are expected at <root>/<controller list>, as systemd
 * mounts them.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/errmsg.h"

#define STATS_V1_TYPE "io.containerd.cgroups.v1.Metrics"
/* Most bytes read from one cgroup or /proc file. */
#define STATS_FILE_MAX_BYTES (64u << 10)

/*
 * The serialized Metrics (the caller's buffer) for the process whose /proc/<pid>/cgroup is
 * proc_cgroup, with hierarchies under cgroup_root. -EOPNOTSUPP when the process is in no
 * cgroup v1 hierarchy (cgroup v2 only). Files a kernel lacks count as 0.
 */
int stats_cgroup_v1(const char *cgroup_root, const char *proc_cgroup, uint8_t **ret,
                    size_t *ret_len, struct errmsg *err);
