/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Macros every file uses: cleanup attributes, ownership transfer, array sizes. Include it
 * first among our headers; it pulls banned.h in last.
 */
#pragma once

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f)    __attribute__((cleanup(f)))
#define _printf_(a, b)  __attribute__((format(printf, a, b)))
#define _unused_        __attribute__((unused))
#define _noreturn_      __attribute__((noreturn))
#define _warn_unused_   __attribute__((warn_unused_result))
#define ELEMENTSOF(x)   (sizeof(x) / sizeof((x)[0]))
#define STRLEN(s)       (sizeof("" s "") - 1)
#define STREQ(a, b)     (strcmp((a), (b)) == 0)
#define STREQ_PTR(a, b) ((a) && (b) && strcmp((a), (b)) == 0)
#define MIN(a, b)       ((a) < (b) ? (a) : (b))
#define MAX(a, b)       ((a) > (b) ? (a) : (b))

/* Hand on ownership: returns the value and leaves the variable empty. */
#define TAKE_GENERIC(var, type, nullvalue) \
        ({                                 \
                type *_pvar_ = &(var);     \
                type _var_ = *_pvar_;      \
                *_pvar_ = nullvalue;       \
                _var_;                     \
        })
#define TAKE_PTR(ptr) TAKE_GENERIC(ptr, __typeof__(ptr), NULL)
#define TAKE_FD(fd)   TAKE_GENERIC(fd, int, -EBADF)

/* Defines type_freep(type **p) for use with _cleanup_(type_freep). */
#define DEFINE_CLEANUP_FUNC(type, func)      \
        static inline void func##p(type **p) \
        {                                    \
                if (*p)                      \
                        (void) func(*p);     \
        }

static inline void freep(void *p)
{
        free(*(void **) p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f)
{
        if (*f)
                (void) fclose(*f);
}

static inline void strv_freep(char ***p);

#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_   _cleanup_(strv_freep)

/* Closes fd if valid and returns -EBADF, so "fd = safe_close(fd);" reads naturally. */
static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

/* Frees a NULL-terminated vector of strings and the vector itself; accepts NULL. */
static inline char **strv_free(char **v)
{
        if (v) {
                for (char **s = v; *s; s++)
                        free(*s);
                free(v);
        }
        return NULL;
}

static inline void strv_freep(char ***p)
{
        *p = strv_free(*p);
}

#define strv_foreach(s, v) for (char **s = (v); s && *s; s++)

/* errno as a negative number, never 0 (for calls that failed without setting errno). */
static inline int negative_errno(void)
{
        return errno > 0 ? -errno : -EIO;
}

#include "banned.h"
