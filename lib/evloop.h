/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small epoll event loop (redis's ae.h is the model): fd callbacks only; timers and
 * signals come in as fds too (timerfd, signalfd). Single-threaded; callbacks may add and
 * remove fds, including their own. Not async-signal-safe.
 */
#pragma once

#include <stdint.h>
#include <sys/epoll.h>

#include "common.h"

struct evloop;

/* events are EPOLLIN/EPOLLOUT/EPOLLHUP/EPOLLERR as reported by epoll_wait. */
typedef void (*evloop_io_fn)(struct evloop *loop, int fd, uint32_t events, void *userdata);

int evloop_new(struct evloop **ret);
/* Frees the loop; the fds registered are not closed (their owners close them). */
struct evloop *evloop_free(struct evloop *loop);
DEFINE_CLEANUP_FUNC(struct evloop, evloop_free)

/* Watches fd for events (EPOLLIN, EPOLLOUT); -EEXIST if fd is already watched. */
int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_io_fn fn, void *userdata);
/* Changes the events of a watched fd. */
int evloop_modify(struct evloop *loop, int fd, uint32_t events);
/* Stops watching fd (call before closing it); -ENOENT if not watched. */
int evloop_remove(struct evloop *loop, int fd);
/*
 * Runs until evloop_exit(); returns the code given there, or -errno on failure. Can be run
 * again afterwards. Not callable from a callback.
 */
int evloop_run(struct evloop *loop);
/*
 * Asks evloop_run() to return code, once the running callback returns (the rest of the batch
 * stays pending: the loop is level-triggered). Callable before evloop_run() too.
 */
void evloop_exit(struct evloop *loop, int code);
/*
 * Waits at most timeout_ms (-1: forever) for one batch of events and dispatches it (for
 * callers that drive the loop themselves, e.g. tests). Returns the number of callbacks run,
 * 0 on timeout or EINTR, or -errno. An evloop_exit() during the batch ends the batch early and
 * stays pending for evloop_run(). Not callable from a callback.
 */
int evloop_step(struct evloop *loop, int timeout_ms);

/*
 * For a listening socket's handler: accepts up to a few connections (O_CLOEXEC|O_NONBLOCK) and
 * hands each to fn, so that a flood of connects does not starve the loop's other fds. what
 * names the server in debug logs.
 */
typedef void (*evloop_accept_fn)(void *userdata, int fd);
void evloop_accept_batch(int listen_fd, evloop_accept_fn fn, void *userdata, const char *what);
