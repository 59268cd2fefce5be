/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A one-way byte relay between two fds on the event loop, for terminals: pty master to the
 * stdout FIFO and stdin FIFO to the master. It never blocks the loop: while the destination
 * is full it stops reading the source (back-pressure reaches the container), and it holds at
 * most RELAY_BUF_SIZE bytes. Both fds are made non-blocking.
 */
#pragma once

#include "lib/evloop.h"

#define RELAY_BUF_SIZE 8192

struct relay;

/*
 * Starts relaying from src to dst; both fds are taken over (closed by the relay). The relay
 * ends by itself when src reports end of file or an error (EIO from a master whose slave is
 * gone) and all read bytes are written, or when writing to dst fails; it then closes both
 * fds and stays allocated until relay_free().
 */
int relay_new(struct evloop *loop, int src, int dst, struct relay **ret);
/* Stops watching and closes what is still open. Accepts NULL; returns NULL. */
struct relay *relay_free(struct relay *r);
DEFINE_CLEANUP_FUNC(struct relay, relay_free)
/* Has the relay ended (end of file, error, or relay_drain() finished it)? */
bool relay_is_done(const struct relay *r);
/*
 * Copies what src holds right now to dst, waiting up to timeout_ms for dst to take it, then
 * ends the relay. For the output of a process that has exited, before its exit is reported.
 */
void relay_drain(struct relay *r, int timeout_ms);
