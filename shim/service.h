/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Task service (containerd.task.v2.Task) of one shim: the ttrpc method table and what
 * happens when a process exits (TaskExit, then the Wait calls are answered).
 *
 * Everything runs on one event loop. Runtime calls block the loop while they run; exits are
 * reaped only between requests, so every pid is known before its exit can be collected, and
 * a Start's event always leaves before the exit of the process it started.
 */
#pragma once

#include <sys/types.h>

#include "lib/evloop.h"
#include "lib/ttrpc.h"
#include "shim/events.h"
#include "shim/oom.h"
#include "shim/shim.h"
#include "shim/task.h"

#define TASK_SERVICE "containerd.task.v2.Task"

struct shim_service {
        const struct shim_opts *opts;
        struct evloop *loop;
        struct event_publisher events;
        struct task *task;     /* one task per shim; NULL before Create and after Delete */
        struct oom_watch *oom; /* OOMs of the task's memory cgroup (TaskOOM) */
        char *self_dirs[3];    /* where the runtime is looked for before $PATH */
};

/* The Task methods, ending in {NULL}; userdata is the struct shim_service. */
extern const struct ttrpc_method shim_task_methods[];

/* Sets up s (events to ttrpc_address, which may be NULL). */
void shim_service_init(struct shim_service *s, const struct shim_opts *opts, struct evloop *loop,
                       const char *ttrpc_address);
/* Answers pending Wait calls with an error and frees the task, without running anything. */
void shim_service_release(struct shim_service *s);

/* A child exited (reaper callback). */
void shim_service_on_exit(pid_t pid, int status, void *userdata);
