/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-containerd-shim: containerd's shim v2 (runtime/v2 in containerd 1.6) over ttrpc.
 * containerd runs "<shim> -namespace NS -address SOCK -publish-binary BIN -id ID start" with
 * the bundle as working directory; the shim forks a long-lived copy of itself that serves the
 * Task service on /run/containerd/s/<sha256>, owns the container's stdio, reaps its
 * processes as a child subreaper and publishes task events back to containerd. When
 * containerd has lost a shim it runs "<shim> ... -bundle B delete" to clean up.
 *
 * This header is the contract between main.c and the core (and the tests): command-line
 * options, the socket address, and the three entry points.
 */
#pragma once

#include "lib/errmsg.h"

/* Where shims listen, whatever containerd's state dir (hard-coded in containerd 1.6). */
#define SHIM_SOCKET_DIR "/run/containerd/s"
/* The --root under which the runtime keeps its state, plus "/<namespace>". */
#define SHIM_DEFAULT_RUNTIME_ROOT "/run/containerd/runc"
/* The runtime run unless the task's options name another one. */
#define SHIM_DEFAULT_RUNTIME "berth-runc"
/* Most bytes of runtime options read from the start command's stdin. */
#define SHIM_OPTIONS_MAX_BYTES (1u << 20)

/* The shim's command line, as containerd's shim package defines it (Go flag syntax). */
struct shim_opts {
        const char *self; /* argv[0] */
        const char *namespace;
        const char *id;
        const char *address;        /* containerd's gRPC socket */
        const char *publish_binary; /* "containerd" unless given */
        const char *bundle;         /* delete only; the working directory otherwise */
        const char *socket;         /* serve on this path instead of the inherited fd 3 */
        bool debug;
        bool version;
        const char *action; /* "start", "delete", or NULL to serve */
};

/*
 * Parses argv like Go's flag package: "-name value", "-name=value", "--name" alike, booleans
 * as "-debug" or "-debug=true|false", parsing stops at "--" or the first non-flag argument,
 * which is the action. Strings point into argv. -EINVAL with err naming the flag on an
 * unknown flag, a missing value, a bad boolean or an unknown action.
 */
int shim_opts_parse(int argc, char **argv, struct shim_opts *ret, struct errmsg *err);
/*
 * What both mains do first: SIGPIPE ignored, text logs, shim_opts_parse() and the log level
 * from -debug. Logs the error and returns -EINVAL on a bad command line.
 */
int shim_main_setup(int argc, char **argv, struct shim_opts *ret);

/*
 * Go's filepath.Join(elems...) for n_elems elements: the non-empty ones joined with "/" and
 * cleaned (repeated slashes, "." and ".." resolved lexically, no trailing slash). The result
 * is the caller's.
 */
char *shim_path_join(const char *const *elems, size_t n_elems);

/*
 * The ttrpc address of the shim for (containerd address, namespace, id), as containerd 1.6's
 * shim.SocketAddress computes it: "unix://" SHIM_SOCKET_DIR "/" + hex(sha256(
 * filepath.Join(address, namespace, id))). *ret is the caller's. -ELIBACC when libcrypto
 * cannot be loaded.
 */
int shim_socket_address(const char *containerd_address, const char *namespace, const char *id,
                        char **ret);

/*
 * The start command: prints the address of a shim serving this container on stdout (no
 * newline) and writes it to ./address; starts the shim unless one already answers there.
 * Returns 0 or -errno with err set; stdout holds nothing on failure.
 */
int shim_start(const struct shim_opts *opts, struct errmsg *err);

/*
 * The delete command: force-deletes the container with the runtime recorded in the bundle,
 * unmounts the bundle's rootfs and prints a marshalled DeleteResponse (exit status 137) on
 * stdout. Failures of the cleanup steps are logged as warnings, as containerd expects.
 */
int shim_delete(const struct shim_opts *opts, struct errmsg *err);

/*
 * Serves the Task API on listen_fd (taken over) until Shutdown leaves no task or SIGTERM
 * arrives. Returns 0 or -errno with err set.
 */
int shim_serve(const struct shim_opts *opts, int listen_fd, struct errmsg *err);
/*
 * The long-lived shim as "start" spawns it: serves on the listening socket inherited as
 * fd 3 (or on -socket PATH). Returns when the shim shuts down.
 */
int shim_serve_main(const struct shim_opts *opts, struct errmsg *err);
/* The serve-only daemon binary "start" spawns when it is installed next to the shim. */
#define SHIM_DAEMON_NAME "berth-containerd-shim-daemon"
