/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctr's output helpers: Go's text/tabwriter (column blocks as Go forms them, padding with
 * spaces or tabs, no flags) and the size, duration and label formats of docker/go-units and
 * containerd's progress package, so that berth-ctr prints what ctr prints.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "ctr/ctr.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

struct table {
        FILE *out;
        int minwidth;
        int tabwidth;
        int padding;
        char padchar;
        char *text; /* everything printed, lines and all */
        size_t len, alloc;
};

/* One line split into cells: the '\t'-terminated ones, then the text before the newline. */
struct line {
        const char **cells; /* pointers into the table's text, each cell NUL-terminated */
        size_t n_cells;
        bool has_newline;
};

struct table *table_new(FILE *out, int minwidth, int padding)
{
        return table_new_padchar(out, minwidth, 8, padding, ' ');
}

struct table *table_new_padchar(FILE *out, int minwidth, int tabwidth, int padding, char padchar)
{
        struct table *t = xnew0(struct table, 1);

        t->out = out;
        t->minwidth = minwidth;
        t->tabwidth = tabwidth;
        t->padding = padding;
        t->padchar = padchar;
        return t;
}

void table_printf(struct table *t, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        size_t len;
        va_list ap;

        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        len = strlen(s);
        t->text = xgrow(t->text, &t->alloc, t->len + len + 1, 1);
        memcpy(t->text + t->len, s, len + 1);
        t->len += len;
}

/* Go's tabwriter counts a cell's width in runes (UTF-8 continuation bytes are not one). */
static size_t text_width(const char *s)
{
        size_t w = 0;

        for (; *s; s++)
                w += ((unsigned char) *s & 0xc0) != 0x80;
        return w;
}

/* Splits text (modified: cells and lines are NUL-terminated in place) into lines. */
static struct line *split_lines(char *text, size_t *ret_n)
{
        struct line *lines = NULL;
        size_t n = 0, alloc = 0;

        for (char *p = text; *p;) {
                char *nl = strchr(p, '\n');
                struct line *l;
                size_t cells_alloc = 0;

                lines = xgrow(lines, &alloc, n + 1, sizeof(*lines));
                l = &lines[n++];
                *l = (struct line){.has_newline = nl != NULL};
                if (nl)
                        *nl = '\0';
                for (char *c = p;;) {
                        char *tab = strchr(c, '\t');

                        l->cells = xgrow(l->cells, &cells_alloc, l->n_cells + 1, sizeof(char *));
                        l->cells[l->n_cells++] = c;
                        if (!tab)
                                break;
                        *tab = '\0';
                        c = tab + 1;
                }
                p = nl ? nl + 1 : p + strlen(p);
        }
        *ret_n = n;
        return lines;
}

static void write_padding(const struct table *t, size_t textw, size_t cellw)
{
        if (t->padchar == '\t') {
                size_t tw = (size_t) t->tabwidth;

                if (tw == 0)
                        return; /* tabs have no width: no padding can be done */
                cellw = (cellw + tw - 1) / tw * tw;
                for (size_t n = (cellw - textw + tw - 1) / tw; n > 0; n--)
                        fputc('\t', t->out);
                return;
        }
        for (size_t n = cellw - textw; n > 0; n--)
                fputc(t->padchar, t->out);
}

/* Writes lines [line0, line1): cells below n_widths padded to their column's width. */
static void write_lines(const struct table *t, const struct line *lines, size_t line0, size_t line1,
                        const size_t *widths, size_t n_widths)
{
        for (size_t i = line0; i < line1; i++) {
                const struct line *l = &lines[i];

                for (size_t j = 0; j < l->n_cells; j++) {
                        fputs(l->cells[j], t->out);
                        if (j < n_widths)
                                write_padding(t, text_width(l->cells[j]), widths[j]);
                }
                if (l->has_newline)
                        fputc('\n', t->out);
        }
}

/*
 * Go's text/tabwriter format(): a column block is a run of consecutive lines that have a
 * tab-terminated cell in that column; each block gets its own width (its widest cell plus
 * padding, at least minwidth), and the columns to its right are formatted within it.
 */
static void format(const struct table *t, const struct line *lines, size_t line0, size_t line1,
                   size_t *widths, size_t depth)
{
        size_t column = depth;

        for (size_t this = line0; this < line1; this ++) {
                size_t width = (size_t) t->minwidth;

                if (column + 1 >= lines[this].n_cells)
                        continue;
                write_lines(t, lines, line0, this, widths, depth);
                line0 = this;
                for (; this < line1 && column + 1 < lines[this].n_cells; this ++)
                        width = MAX(width,
                                    text_width(lines[this].cells[column]) + (size_t) t->padding);
                widths[depth] = width;
                format(t, lines, line0, this, widths, depth + 1);
                line0 = this;
        }
        write_lines(t, lines, line0, line1, widths, depth);
}

void table_flush(struct table *t)
{
        _cleanup_free_ size_t *widths = NULL;
        struct line *lines = NULL;
        size_t n = 0, max_cells = 1;

        if (t->text)
                lines = split_lines(t->text, &n);
        for (size_t i = 0; i < n; i++)
                max_cells = MAX(max_cells, lines[i].n_cells);
        widths = xnew0(size_t, max_cells);
        format(t, lines, 0, n, widths, 0);
        fflush(t->out);
        for (size_t i = 0; i < n; i++)
                free(lines[i].cells);
        free(lines);
        free(t->text);
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
