/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctr's output helpers: Go's text/tabwriter (the subset ctr uses: one block of rows, padchar
 * ' ', no flags) and the size, duration and label formats of docker/go-units and containerd's
 * progress package, so that berth-ctr prints what ctr prints.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "ctr/ctr.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

struct table {
        FILE *out;
        int minwidth;
        int padding;
        char **rows; /* each as given, with its '\t's and '\n' */
};

struct table *table_new(FILE *out, int minwidth, int padding)
{
        struct table *t = xnew0(struct table, 1);

        t->out = out;
        t->minwidth = minwidth;
        t->padding = padding;
        return t;
}

void table_printf(struct table *t, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        strv_push(&t->rows, s);
}

/* The width of column col: its widest '\t'-terminated cell plus padding, at least minwidth. */
static size_t *column_widths(const struct table *t, size_t *ret_n)
{
        size_t *w = NULL, n = 0, alloc = 0;

        strv_foreach (row, t->rows) {
                size_t col = 0;

                for (const char *p = *row, *tab; (tab = strchr(p, '\t')); p = tab + 1, col++) {
                        size_t cell = (size_t) (tab - p) + (size_t) t->padding;

                        if (col >= n) {
                                w = xgrow(w, &alloc, col + 1, sizeof(*w));
                                for (; n <= col; n++)
                                        w[n] = (size_t) t->minwidth;
                        }
                        w[col] = MAX(w[col], cell);
                }
        }
        *ret_n = n;
        return w;
}

void table_flush(struct table *t)
{
        _cleanup_free_ size_t *w = NULL;
        size_t n;

        w = column_widths(t, &n);
        strv_foreach (row, t->rows) {
                size_t col = 0;
                const char *p = *row, *tab;

                for (; (tab = strchr(p, '\t')); p = tab + 1, col++)
                        fprintf(t->out, "%-*.*s", (int) w[col], (int) (tab - p), p);
                fputs(p, t->out);
        }
        fflush(t->out);
        strv_free(t->rows);
        free(t);
}

static double size_and_unit(double size, double base, size_t n_units, size_t *ret_unit)
{
        size_t i = 0;

        while (size >= base && i < n_units - 1) {
                size /= base;
                i++;
        }
        *ret_unit = i;
        return size;
}

void human_size(double size, char *buf, size_t n)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
        size_t u;

        size = size_and_unit(size, 1000.0, ELEMENTSOF(units), &u);
        snprintf(buf, n, "%.4g%s", size, units[u]);
}

void human_bytes(int64_t size, char *buf, size_t n)
{
        static const char *const units[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                            "PiB", "EiB", "ZiB", "YiB"};
        double s;
        size_t u;

        s = size_and_unit((double) size, 1024.0, ELEMENTSOF(units), &u);
        snprintf(buf, n, "%02.1f %s", s, units[u]);
}

void human_duration(int64_t seconds, char *buf, size_t n)
{
        int64_t minutes = seconds / 60, hours = (seconds + 1800) / 3600;

        if (seconds < 1)
                snprintf(buf, n, "Less than a second");
        else if (seconds == 1)
                snprintf(buf, n, "1 second");
        else if (seconds < 60)
                snprintf(buf, n, "%lld seconds", (long long) seconds);
        else if (minutes == 1)
                snprintf(buf, n, "About a minute");
        else if (minutes < 60)
                snprintf(buf, n, "%lld minutes", (long long) minutes);
        else if (hours == 1)
                snprintf(buf, n, "About an hour");
        else if (hours < 48)
                snprintf(buf, n, "%lld hours", (long long) hours);
        else if (hours < 24 * 7 * 2)
                snprintf(buf, n, "%lld days", (long long) hours / 24);
        else if (hours < 24 * 30 * 2)
                snprintf(buf, n, "%lld weeks", (long long) hours / 24 / 7);
        else if (hours < 24 * 365 * 2)
                snprintf(buf, n, "%lld months", (long long) hours / 24 / 30);
        else
                snprintf(buf, n, "%lld years", (long long) seconds / 3600 / 24 / 365);
}

/* Protobuf map entries share this layout (base, key, value). */
struct map_entry {
        ProtobufCMessage base;
        char *key;
        char *value;
};

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

char *labels_string(void *const *entries, size_t n)
{
        _cleanup_strv_ char **pairs = NULL;
        size_t len = 0;
        char *s;

        if (n == 0)
                return xstrdup("-");
        for (size_t i = 0; i < n; i++) {
                const struct map_entry *e = entries[i];
                _cleanup_free_ char *pair = xasprintf("%s=%s", e->key, e->value);

                len += strlen(pair) + 1;
                strv_push(&pairs, pair);
        }
        qsort(pairs, n, sizeof(char *), compare_strings);
        s = xmalloc(len);
        s[0] = '\0';
        for (size_t i = 0, at = 0; i < n; i++) {
                size_t l = strlen(pairs[i]);

                memcpy(s + at, pairs[i], l);
                at += l;
                s[at++] = i + 1 < n ? ',' : '\0';
        }
        return s;
}
