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
        int console_fd; /* instead of console_socket: a connected socket (-EBADF: none) */
        const char *pid_file;
        unsigned preserve_fds;
        bool no_pivot;
        bool no_new_keyring;
};

struct create_result {
        pid_t pid;     /* the init process, a child of the caller */
        bool terminal; /* process.terminal: the pty master went to the console socket */
};

/*
 * Creates the container: state dir, cgroup, namespaces, root filesystem, and an init
 * process waiting for start. On failure nothing is left behind (no state dir, cgroup,
 * mount or process).
 */
int container_create(const struct runc_global *g, const struct create_opts *o,
                     struct create_result *ret, struct errmsg *err);
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
/*
 * foreground.c: waits for a child, forwarding SIGINT/TERM/HUP/QUIT/USR1/USR2 to it, and with
 * master >= 0 relays stdin to the pty master and the master to stdout (raw mode and window
 * size taken from stdin when it is a terminal). *ret_status is 128+n when killed by n.
 */
int wait_foreground(pid_t pid, int master, int *ret_status);
/* A connected pair standing in for --console-socket when the runtime keeps the terminal. */
int console_pair(int *ret_ours, int *ret_theirs);
/* Receives one fd sent with SCM_RIGHTS (the pty master); the fd is O_CLOEXEC, the caller's. */
int recv_fd(int sock, int *ret_fd);
/* Writes pid to path atomically (runc's --pid-file). */
int pid_file_write(const char *path, pid_t pid, struct errmsg *err);
