/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container lifecycle of runtime.md: create, start, kill, delete, and exec of an extra
 * process. Shared by the cmd-*.c files. All report failures through err; none log above
 * debug (except poststart/poststop hook failures, which the spec says only warn).
 */
#pragma once

#include <sys/types.h>

#include "runc/runc.h"
#include "runc/spec.h"
#include "runc/state.h"

struct create_opts {
        const char *id;
        const char *bundle; /* NULL: the current directory */
        const char *console_socket;
        const char *pid_file;
        unsigned preserve_fds;
        bool no_pivot;
        bool no_new_keyring;
};

/*
 * Creates the container: state dir, cgroup, namespaces, root filesystem, and an init
 * process waiting for start. On failure nothing is left behind (no state dir, cgroup,
 * mount or process). *ret_pid is the init process (a child of the caller).
 */
int container_create(const struct runc_global *g, const struct create_opts *o, pid_t *ret_pid,
                     struct errmsg *err);
/*
 * Loads a container's state and its current status. -ENOENT with "container does not exist"
 * when the id is unknown (or invalid).
 */
int container_open(const struct runc_global *g, const char *id, struct container_state **ret_st,
                   enum container_status *ret_status, struct errmsg *err);
/* Lets a created container's process run; runs poststart hooks. */
int container_start(const struct runc_global *g, const char *id, struct errmsg *err);
/*
 * Removes a container: stopped (or created) ones always, running or paused ones only with
 * force (they are killed first). Runs poststop hooks. -ENOENT if it does not exist.
 */
int container_delete(const struct runc_global *g, const char *id, bool force, struct errmsg *err);
/* Sends sig to the init process, or with all to every process of the container. */
int container_kill(const struct runc_global *g, const char *id, int sig, bool all,
                   struct errmsg *err);
/* Parses "9", "KILL", "SIGKILL"; -EINVAL otherwise. */
int signal_from_string(const char *s);

struct exec_opts {
        const char *id;
        const char *process_file; /* --process: a process JSON; the flags below then ignored */
        char **args;              /* NULL-terminated */
        char **env;               /* --env, appended to the config's */
        const char *cwd;
        const char *user; /* "uid[:gid]" */
        uint32_t *additional_gids;
        size_t n_additional_gids;
        char **caps; /* --cap, added to the config's */
        bool tty;
        bool no_new_privs;
        const char *console_socket;
        const char *pid_file;
        unsigned preserve_fds;
        bool detach;
        bool ignore_paused;
};

/*
 * Runs a new process in a running container. With detach it returns once the process has
 * exec'd; otherwise it waits and *ret_status is the exit code (128+n when killed).
 */
int container_exec(const struct runc_global *g, const struct exec_opts *o, int *ret_status,
                   struct errmsg *err);
/* Loads config.json from a bundle directory. */
int bundle_load_spec(const char *bundle, struct oci_spec **ret, struct errmsg *err);
/* Waits for a child and forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/2 to it meanwhile. */
int wait_forwarding_signals(pid_t pid, int *ret_status);
/* Writes pid to path atomically (runc's --pid-file). */
int pid_file_write(const char *path, pid_t pid, struct errmsg *err);
