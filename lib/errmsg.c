/* SPDX-License-Identifier: Apache-2.0 */
/* Caller-owned error messages (see errmsg.h). */
#include "errmsg.h"

#include <stdarg.h>

int errmsg_set(struct errmsg *err, int code, const char *fmt, ...)
{
        va_list ap;

        if (!err)
                return code;
        err->code = code;
        va_start(ap, fmt);
        (void) vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        return code;
}

int errmsg_prefix(struct errmsg *err, int code, const char *fmt, ...)
{
        char prefix[sizeof(err->msg)];
        char old[sizeof(err->msg)];
        char joined[2 * sizeof(err->msg) + 2];
        size_t n;
        va_list ap;

        if (!err)
                return code;
        va_start(ap, fmt);
        (void) vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        if (err->msg[0])
                (void) snprintf(old, sizeof(old), "%s", err->msg);
        else
                (void) snprintf(old, sizeof(old), "%s", strerror(code < 0 ? -code : code));
        (void) snprintf(joined, sizeof(joined), "%s: %s", prefix, old);
        n = MIN(strlen(joined), sizeof(err->msg) - 1);
        memcpy(err->msg, joined, n);
        err->msg[n] = '\0';
        err->code = code;
        return code;
}
