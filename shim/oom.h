/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Out-of-memory events of a container's memory cgroup, for TaskOOM ("/tasks/oom"), the way
 * containerd-shim-runc-v2 watches them (pkg/oom/v1 and v2).
 *
 * cgroup v1: an eventfd registered with "<eventfd> <memory.oom_control fd>" in
 * cgroup.event_control; each read of the eventfd is one OOM. The kernel signals the eventfd
 * too when the cgroup is removed, so a read is only an OOM while memory.oom_control can still
 * be read. cgroup v2: inotify IN_MODIFY on memory.events; an OOM is an increase of its
 * "oom_kill" counter.
 *
 * The watch lives on the shim's event loop; the callback runs there.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "lib/errmsg.h"
#include "lib/evloop.h"

/* Most bytes read of /proc/<pid>/cgroup and of memory.events */
#define OOM_FILE_MAX_BYTES (64u * 1024)

struct oom_watch;

/* Called on the loop once per OOM of the watched cgroup. */
typedef void (*oom_fn)(void *userdata);

/*
 * The memory cgroup directory of pid (the caller's string), from /proc/<pid>/cgroup: the v1
 * memory controller's line when there is one (hybrid hierarchies), else the "0::" line under
 * /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified. -ENOENT when pid has no memory cgroup.
 */
int oom_cgroup_find(pid_t pid, char **ret_dir, bool *ret_is_v2, struct errmsg *err);

/*
 * Watches the memory cgroup at dir (borrowed; v2 when is_v2) on loop and calls fn(userdata)
 * for each OOM. -ENOENT (with err naming the file) when dir is no memory cgroup. The watch is
 * the caller's; free it before loop.
 */
int oom_watch_new(struct evloop *loop, const char *dir, bool is_v2, oom_fn fn, void *userdata,
                  struct oom_watch **ret, struct errmsg *err);
/* oom_cgroup_find() and oom_watch_new() for the cgroup of pid. */
int oom_watch_pid(struct evloop *loop, pid_t pid, oom_fn fn, void *userdata, struct oom_watch **ret,
                  struct errmsg *err);
/* Stops watching and closes the fds; accepts NULL, returns NULL. */
struct oom_watch *oom_watch_free(struct oom_watch *w);
DEFINE_CLEANUP_FUNC(struct oom_watch, oom_watch_free)

/* The "oom_kill" counter of memory.events text (0 when absent); -EINVAL for garbage. */
int oom_events_parse(const char *text, uint64_t *ret_oom_kill);
