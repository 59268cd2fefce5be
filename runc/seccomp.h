/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.seccomp: parsing the JSON section into struct oci_seccomp (names resolved through
 * libseccomp, so unknown actions, architectures, operators and flags are input errors) and
 * loading the filter into the calling process.
 */
#pragma once

#include <jansson.h>

#include "runc/spec.h"

/*
 * Parses the seccomp object. path names it in messages ("linux.seccomp"). Unknown syscall
 * names are not an error (the kernel or libseccomp may not know them); they are skipped at
 * load time, as runc does.
 */
int seccomp_spec_parse(json_t *obj, const char *path, struct oci_seccomp **ret, struct errmsg *err);
struct oci_seccomp *oci_seccomp_free(struct oci_seccomp *sc);
DEFINE_CLEANUP_FUNC(struct oci_seccomp, oci_seccomp_free)

/*
 * Builds the filter and loads it into the calling thread's process. Called in the container
 * process after no_new_privs (or while CAP_SYS_ADMIN is still held). Async-signal-safety is
 * not required (called in a single-threaded child, before execve).
 */
int seccomp_filter_load(const struct oci_seccomp *sc, struct errmsg *err);

/* Names for "features": actions, architectures, operators and flags we accept. */
const char *const *seccomp_action_names(void);
const char *const *seccomp_arch_names(void);
const char *const *seccomp_operator_names(void);
const char *const *seccomp_flag_names(void);
