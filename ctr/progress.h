/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The progress display of ctr's pull (cmd/ctr/commands/content/fetch.go ShowProgress and
 * Display, pkg/progress): every 100 ms one block, a line per job ("<ref>:\t<status>\t<bar>\t
 * [<offset>/<total>\t]") and "elapsed: ... total: ... (rate)", through Go's tabwriter. As in
 * ctr, the previous block is cleared with escape sequences only when stdin is a terminal
 * (its width tells how many lines wrapped); otherwise the blocks follow one another.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "ctr/ctr.h"

/* The interval between two blocks (ctr's ticker). */
#define PROGRESS_INTERVAL_MS 100

enum progress_state {
        PROGRESS_RESOLVING,
        PROGRESS_RESOLVED,
        PROGRESS_WAITING,
        PROGRESS_DOWNLOADING,
        PROGRESS_DONE,
        PROGRESS_EXISTS,
        _PROGRESS_STATE_MAX,
};
/* "resolving", "resolved", "waiting", "downloading", "done", "exists"; NULL out of range. */
const char *progress_state_to_string(enum progress_state s);

struct progress_status {
        const char *ref;
        enum progress_state state;
        int64_t offset;
        int64_t total;
};

/* pkg/progress.Bar formatted with "%<width>r": '|', green '+'s for fraction (clamped to
 * [0, 1]), a reset, '-'s, '|'. buf needs width + 10 bytes. */
void progress_bar(double fraction, int width, char *buf, size_t n);
/* content.Display: the lines of one block into t, elapsed_s seconds after the start. */
void progress_display(struct table *t, const struct progress_status *v, size_t n, double elapsed_s);
/* pkg/progress countLines: the terminal lines text takes on a terminal width columns wide
 * (its colour escapes not counted; a line longer than width wraps); 0 when width <= 0. */
int progress_count_lines(const char *text, int width);

/* A display: the name's line first, then the jobs in the order they were added. */
struct progress;
/* out NULL: nothing is shown (ctr --debug), calls are cheap no-ops. */
struct progress *progress_new(FILE *out, const char *name);
void progress_resolved(struct progress *p);
/* A job, waiting; its index for progress_set(). ref is copied. */
size_t progress_add(struct progress *p, const char *ref);
void progress_set(struct progress *p, size_t job, enum progress_state state, int64_t offset,
                  int64_t total);
/* Shows a block when PROGRESS_INTERVAL_MS have passed since the last one. */
void progress_tick(struct progress *p);
/* The last block (every job that is not "exists" is "done"), then frees p. NULL is fine. */
void progress_finish(struct progress *p);
/* Frees p without showing anything more. */
struct progress *progress_free(struct progress *p);
DEFINE_CLEANUP_FUNC(struct progress, progress_free)

/* Go's time.Duration.String() of ns: "0s", "850ns", "1.5µs", "113.491382ms", "2.5s",
 * "1m30s", "1h0m0.5s" (ctr pull's "done: ..."). */
void progress_duration(int64_t ns, char *buf, size_t n);
