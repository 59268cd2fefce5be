/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reaping as a child subreaper. Container processes are reparented to the shim when the
 * runtime that started them exits; every exit is collected here, through a signalfd on the
 * event loop, with waitpid(-1, WNOHANG) until nothing is left. The runtime's own pid is waited
 * for by pid while it runs (runtime.h), so it is never collected here.
 *
 * SIGTERM and SIGINT arrive on the same signalfd and ask the shim to stop.
 */
#pragma once

#include <sys/types.h>

#include "lib/errmsg.h"
#include "lib/evloop.h"

struct reaper;

/* A child exited; status is the exit code, or 128 + signal number when killed. */
typedef void (*reaper_exit_fn)(pid_t pid, int status, void *userdata);
/* SIGTERM or SIGINT arrived. */
typedef void (*reaper_terminate_fn)(int signo, void *userdata);

/*
 * Makes the process a child subreaper, blocks SIGCHLD, SIGTERM and SIGINT (for the signalfd;
 * children spawned later must reset their mask) and watches them on loop. The callbacks and
 * userdata must outlive the reaper.
 */
int reaper_new(struct evloop *loop, reaper_exit_fn on_exit, reaper_terminate_fn on_terminate,
               void *userdata, struct reaper **ret, struct errmsg *err);
struct reaper *reaper_free(struct reaper *r);
DEFINE_CLEANUP_FUNC(struct reaper, reaper_free)

/* Collects every exited child now (also called once at start for exits before the loop). */
void reaper_reap(struct reaper *r);

/* A waitpid() status as containerd reports it: the exit code, or 128 + signal. */
int reaper_exit_status(int wait_status);
