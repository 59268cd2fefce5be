/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI hooks (config.md "POSIX-platform Hooks"): each hook runs with the container's state
 * JSON on stdin, in order; a non-zero exit or a timeout fails the operation (for
 * poststart and poststop the caller only warns, as the spec says).
 */
#pragma once

#include "runc/spec.h"

/* Runs every hook of kind; err names the hook ("createRuntime hook #1 (/bin/x): …"). */
int hooks_run(const struct oci_hooks *hooks, enum hook_kind kind, const char *state_json,
              struct errmsg *err);
