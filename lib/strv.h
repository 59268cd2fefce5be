/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NULL-terminated string vectors (char **). strv_free() and strv_foreach are in common.h.
 * Returned vectors and their strings are the caller's.
 */
#pragma once

#include "common.h"

size_t strv_length(char *const *v);
/* Deep copy; NULL gives NULL. */
char **strv_copy(char *const *v);
/* Appends a copy of s, reallocating *v; returns the new length. */
size_t strv_push(char ***v, const char *s);
