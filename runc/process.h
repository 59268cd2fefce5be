/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying config.json's "process" to the calling process: the last steps of a container's
 * init and of "exec", in a forked child inside the container's namespaces. Order matters
 * and is the caller's: rlimits, user + capabilities, no_new_privs, umask, cwd, exec.
 */
#pragma once

#include "runc/spec.h"

/*
 * Finds args[0] as execve would after a PATH search (PATH from p->env, else the default),
 * in the current root. The result is the caller's.
 */
int process_find_executable(const struct oci_process *p, char **ret_path, struct errmsg *err);
int process_apply_rlimits(const struct oci_process *p, struct errmsg *err);
/* Writes /proc/self/oom_score_adj. */
int process_set_oom_score_adj(int value, struct errmsg *err);
/*
 * Switches to user.uid/gid with additionalGids and sets the five capability sets.
 * Bounding-set drops happen while CAP_SETPCAP is still held.
 */
int process_apply_user_and_caps(const struct oci_process *p, struct errmsg *err);
/* noNewPrivileges, umask, personality (0 = leave), cwd (checked to be inside the root). */
int process_apply_misc(const struct oci_process *p, unsigned long personality, bool has_personality,
                       struct errmsg *err);
/*
 * Marks every fd above 2 + n_preserve close-on-exec, clears it on 3 … 2 + n_preserve and
 * execs path with args and env (HOME added from /etc/passwd when missing). Returns only
 * on failure.
 */
int process_exec(const struct oci_process *p, const char *path, unsigned n_preserve,
                 struct errmsg *err);
