/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation wrappers that abort on OOM (see xalloc.h). */
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _noreturn_ void oom(void)
{
        static const char msg[] = "out of memory\n";

        (void) !write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

void *xmalloc(size_t size)
{
        void *p = malloc(size ? size : 1);

        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);

        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t size)
{
        void *q = realloc(p, size ? size : 1);

        if (!q)
                oom();
        return q;
}

void *xgrow(void *p, size_t *alloc, size_t need, size_t elem_size)
{
        size_t n;

        if (need <= *alloc)
                return p;
        n = MAX(need, *alloc * 2);
        n = MAX(n, (size_t) 8);
        if (n > SIZE_MAX / elem_size)
                oom();
        p = xrealloc(p, n * elem_size);
        *alloc = n;
        return p;
}

char *xstrdup(const char *s)
{
        char *p = strdup(s);

        if (!p)
                oom();
        return p;
}

char *xstrndup(const char *s, size_t n)
{
        char *p = strndup(s, n);

        if (!p)
                oom();
        return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
        char *p;

        if (vasprintf(&p, fmt, ap) < 0)
                oom();
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *p;

        va_start(ap, fmt);
        p = xvasprintf(fmt, ap);
        va_end(ap);
        return p;
}
