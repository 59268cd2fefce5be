/* SPDX-License-Identifier: Apache-2.0 */
/* String vectors (see strv.h). */
#include "strv.h"

#include "xalloc.h"

size_t strv_length(char *const *v)
{
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

char **strv_copy(char *const *v)
{
        size_t n = strv_length(v);
        char **copy;

        if (!v)
                return NULL;
        copy = xnew0(char *, n + 1);
        for (size_t i = 0; i < n; i++)
                copy[i] = xstrdup(v[i]);
        return copy;
}

size_t strv_push(char ***v, const char *s)
{
        size_t n = strv_length(*v);

        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = xstrdup(s);
        (*v)[n + 1] = NULL;
        return n + 1;
}
