/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A process's stdio FIFOs as containerd 1.6's cio package makes them for ctr: a fresh
 * directory under the FIFO root ("<root>/<random number>/<id>-stdin|-stdout|-stderr", no
 * stderr with a terminal), made and opened before the task is created (so the shim finds
 * readers and a writer), and removed when the task is deleted. The default root is
 * berth-owned (ctr's is /run/containerd/fifo).
 */
#pragma once

#include <stdbool.h>

#include "lib/errmsg.h"

#define CTR_DEFAULT_FIFO_DIR "/run/berth/ctr/fifo"

struct io_fifos {
        char *dir;                 /* the directory made for them; NULL when not ours */
        char *in, *out, *err;      /* paths; NULL when unused */
        int in_fd, out_fd, err_fd; /* our ends (-EBADF when unused) */
        bool terminal;
};

/*
 * cio.NewFIFOSetInDir + openFifos: the directory (root made 0700 if missing; NULL or "": the
 * default), the FIFOs (0700), stdout and stderr opened for reading and stdin for writing,
 * all non-blocking. Nothing is left behind on failure.
 */
int io_fifos_new(const char *root, const char *id, bool terminal, struct io_fifos **ret,
                 struct errmsg *err);
/* The FIFOs of an existing process (cio.NewAttach with its paths; "" when unused). */
int io_fifos_open(const char *in, const char *out, const char *errp, bool terminal,
                  struct io_fifos **ret, struct errmsg *err);
/* Closes our ends (the paths stay). */
void io_fifos_close(struct io_fifos *f);
/* Closes, then removes the FIFOs and their directories when empty (cio's closers). */
void io_fifos_remove(struct io_fifos *f);
/* Removes the FIFOs named (a task's paths, loadFifos' closer); those that are not FIFOs stay. */
void io_fifos_remove_paths(const char *in, const char *out, const char *errp);
struct io_fifos *io_fifos_free(struct io_fifos *f);
DEFINE_CLEANUP_FUNC(struct io_fifos, io_fifos_free)
