/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation that aborts on OOM, so that out-of-memory is never an untested error path.
 * In exchange every size a client controls is capped by the caller. All returned pointers
 * are the caller's to free().
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "common.h"

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
/* Grows an array to hold at least need elements; *alloc holds the capacity. */
void *xgrow(void *p, size_t *alloc, size_t need, size_t elem_size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);

#define xnew0(type, n) ((type *) xcalloc((n), sizeof(type)))
