/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A process's stdio as containerd passes it: paths of FIFOs (or "file://" paths) for stdin,
 * stdout and stderr, "" for none.
 *
 * Without a terminal nothing is copied: the runtime gets the FIFOs as its fds 0, 1 and 2 and
 * hands them to the container, which reads and writes them directly. The shim keeps an
 * O_RDWR end of each FIFO, so that opening never blocks, the container never gets EPIPE when
 * a client goes away (it waits, as with containerd-shim-runc-v2), and stdin stays open until
 * CloseIO. Those ends are closed when the process exits, so readers see end of file.
 *
 * With a terminal the runtime gets a console socket (a listening unix socket in a private
 * temporary directory) and sends the pty master over it (SCM_RIGHTS, runc's
 * docs/terminals.md); relays on the event loop copy master to the stdout FIFO and the stdin
 * FIFO to the master.
 */
#pragma once

#include "lib/errmsg.h"
#include "lib/evloop.h"

struct process_io;

/* containerd's --log-uri scheme: stdout and stderr appended to a file the shim opens */
#define STDIO_FILE_SCHEME "file://"

/* Stdio paths (borrowed) of a process. */
struct stdio_paths {
        const char *in, *out, *err;
        bool terminal;
};

/*
 * Opens the targets of paths. Unknown schemes ("binary://") fail with -EOPNOTSUPP, a missing
 * FIFO with -ENOENT, both with err naming the path. The result is the caller's.
 */
int process_io_open(const struct stdio_paths *paths, struct process_io **ret, struct errmsg *err);
struct process_io *process_io_free(struct process_io *io);
DEFINE_CLEANUP_FUNC(struct process_io, process_io_free)

/*
 * The path of a "file://" stdio URI (the caller's string), as Go's url.Parse gives it to
 * containerd-shim-runc-v2: the host is ignored, query and fragment dropped, %XX decoded.
 * -EINVAL for no absolute path or a bad escape, with err naming the URI.
 */
int stdio_file_uri_path(const char *uri, char **ret, struct errmsg *err);

/* The fds the runtime gets as 0, 1 and 2 (-EBADF: /dev/null); valid until ..._spawned(). */
const int *process_io_runtime_fds(const struct process_io *io);
/* The --console-socket path for a terminal, else NULL. */
const char *process_io_console_socket(const struct process_io *io);

/*
 * The runtime has run successfully: closes the runtime's fds and, for a terminal, receives
 * the pty master and starts relaying on loop. -EPROTO when the runtime sent no master.
 */
int process_io_runtime_done(struct process_io *io, struct evloop *loop, struct errmsg *err);

/* Sets the terminal's window size; -ENOTTY without a terminal. */
int process_io_resize(struct process_io *io, unsigned width, unsigned height);
/* Closes the shim's end of stdin, so the process sees end of file once the client closed its. */
void process_io_close_stdin(struct process_io *io);
/*
 * The process has exited: copies what its terminal still holds to stdout (for up to
 * timeout_ms) and closes every fd the shim keeps for it.
 */
void process_io_exited(struct process_io *io, int timeout_ms);
