/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI runtime's command line, called exactly as containerd-shim-runc-v2 calls runc:
 * "<binary> --root <root>/<namespace> --log <bundle>/log.json --log-format json <verb> ...".
 * Calls block until the runtime exits. The runtime's own pid is waited for by pid, so exits
 * of container processes stay pending for the shim's central reaper.
 */
#pragma once

#include "lib/errmsg.h"

/* Bytes at the end of log.json searched for the runtime's last error. */
#define RUNTIME_LOG_TAIL_BYTES (64u << 10)
/* Most bytes of runtime output read back (ps --format json). */
#define RUNTIME_OUTPUT_MAX_BYTES (4u << 20)

struct runtime {
        char *binary;   /* absolute path, or a name looked up on PATH */
        char *root;     /* --root */
        char *log_path; /* --log */
        bool systemd_cgroup;
};

/* Fills rt with copies: root becomes <root>/<namespace>, the log <bundle>/log.json. */
void runtime_init(struct runtime *rt, const char *binary, const char *root, const char *ns,
                  const char *bundle);
void runtime_release(struct runtime *rt);

/*
 * The runtime's full argv for one call: the global options (go-runc's order), then args
 * (NULL-terminated).
 * The vector is the caller's.
 */
char **runtime_argv(const struct runtime *rt, const char *const *args);

/*
 * Runs the runtime with args (NULL-terminated) and waits for it. stdio holds the fds it gets
 * as 0, 1 and 2 (borrowed); -EBADF gives /dev/null. Signals and the signal mask are reset in
 * the child. A non-zero exit returns -EIO with err "OCI runtime <verb> failed: <last error
 * in log.json>" (or the exit status when the log has none).
 */
int runtime_run(const struct runtime *rt, const char *const *args, const int stdio[3],
                struct errmsg *err);

/*
 * The message of the last "level":"error" record in the JSON log text (runc's --log-format
 * json), or of the last record when none is an error; NULL when there is none. The result is
 * the caller's.
 */
char *runtime_log_last_error(const char *text, size_t len);

/*
 * Finds the runtime binary name: a name with a slash is taken as is; otherwise it is looked
 * for in each of dirs (NULL-terminated, NULL entries skipped), then on $PATH. Returns 0 with
 * the path (the caller's) or -ENOENT.
 */
int runtime_find_binary(const char *name, const char *const *dirs, char **ret_path);

/*
 * The directories searched for the runtime before $PATH: that of argv0 (the link containerd
 * ran, e.g. containerd-shim-berth-v2) and that of /proc/self/exe (the shim binary itself).
 * Fills ret_dirs[0..1] with paths (the caller's) or NULL, and ret_dirs[2] with NULL.
 */
void runtime_self_dirs(const char *argv0, char *ret_dirs[3]);

/* A memfd (O_CLOEXEC, offset 0) holding data: stdin for "update --resources -". */
int memfd_with_data(const char *name, const void *data, size_t len, int *ret_fd);
