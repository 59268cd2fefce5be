/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The progress display of ctr pull (progress.h): the block's formatting is containerd's
 * content.Display and pkg/progress (Bar, Bytes, BytesPerSecond, Writer's line counting); the
 * timing is the caller's, which calls progress_tick() as its transfers advance.
 */
#include "ctr/progress.h"

#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lib/xalloc.h"

#define BAR_WIDTH 40
#define GREEN     "\x1b[32m"
#define RESET     "\x1b[0m"

static const char *const state_names[_PROGRESS_STATE_MAX] = {
        [PROGRESS_RESOLVING] = "resolving", [PROGRESS_RESOLVED] = "resolved",
        [PROGRESS_WAITING] = "waiting",     [PROGRESS_DOWNLOADING] = "downloading",
        [PROGRESS_DONE] = "done",           [PROGRESS_EXISTS] = "exists",
};

const char *progress_state_to_string(enum progress_state s)
{
        return (unsigned) s < _PROGRESS_STATE_MAX ? state_names[s] : NULL;
}

void progress_bar(double fraction, int width, char *buf, size_t n)
{
        int positive, negative;
        size_t at = 0;

        if (!(fraction <= 1.0))
                fraction = fraction > 1.0 ? 1.0 : 0.0; /* NaN too */
        if (fraction < 0.0)
                fraction = 0.0;
        /* Bar(width-pad) * h, truncated: the two '|' are the padding */
        positive = (int) ((double) (width - 2) * fraction);
        negative = width - 2 - positive;
        if (n < (size_t) width + STRLEN(GREEN) + STRLEN(RESET) + 1) {
                if (n > 0)
                        buf[0] = '\0';
                return;
        }
        buf[at++] = '|';
        memcpy(buf + at, GREEN, STRLEN(GREEN));
        at += STRLEN(GREEN);
        memset(buf + at, '+', (size_t) positive);
        at += (size_t) positive;
        memcpy(buf + at, RESET, STRLEN(RESET));
        at += STRLEN(RESET);
        memset(buf + at, '-', (size_t) MAX(negative, 0));
        at += (size_t) MAX(negative, 0);
        buf[at++] = '|';
        buf[at] = '\0';
}

static void display_line(struct table *t, const struct progress_status *s)
{
        char bar[BAR_WIDTH + 16], offset[32], total[32];

        switch (s->state) {
        case PROGRESS_DOWNLOADING:
                progress_bar(s->total > 0 ? (double) s->offset / (double) s->total : 0.0, BAR_WIDTH,
                             bar, sizeof(bar));
                human_bytes(s->offset, offset, sizeof(offset));
                human_bytes(s->total, total, sizeof(total));
                table_printf(t, "%s:\t%s\t%s\t%8.8s/%s\t\n", s->ref,
                             progress_state_to_string(s->state), bar, offset, total);
                return;
        case PROGRESS_RESOLVING:
        case PROGRESS_WAITING:
                progress_bar(0.0, BAR_WIDTH, bar, sizeof(bar));
                break;
        default:
                progress_bar(1.0, BAR_WIDTH, bar, sizeof(bar));
                break;
        }
        table_printf(t, "%s:\t%s\t%s\t\n", s->ref, progress_state_to_string(s->state), bar);
}

void progress_display(struct table *t, const struct progress_status *v, size_t n, double elapsed_s)
{
        char total[32], rate[32];
        int64_t sum = 0;

        for (size_t i = 0; i < n; i++) {
                sum += v[i].offset;
                display_line(t, &v[i]);
        }
        human_bytes(sum, total, sizeof(total));
        /* progress.NewBytesPerSecond: an int64 of bytes per second */
        human_bytes(elapsed_s > 0 ? (int64_t) ((double) sum / elapsed_s) : 0, rate, sizeof(rate));
        table_printf(t, "elapsed: %-4.1fs\ttotal: %7.6s\t(%s/s)\t\n", elapsed_s, total, rate);
}

/* The length of line without pkg/progress's colour escapes ("\x1b[<digits>m", and an escape
 * right after one: its regexp is "\x1b\[[0-9]+m[\x1b]?"). */
static size_t stripped_len(const char *line, size_t len)
{
        size_t n = 0;

        for (size_t i = 0; i < len;) {
                size_t j = i + 2;

                if (line[i] == '\x1b' && i + 1 < len && line[i + 1] == '[') {
                        while (j < len && line[j] >= '0' && line[j] <= '9')
                                j++;
                        if (j > i + 2 && j < len && line[j] == 'm') {
                                i = j + 1 + (j + 1 < len && line[j + 1] == '\x1b');
                                continue;
                        }
                }
                n++;
                i++;
        }
        return n;
}

int progress_count_lines(const char *text, int width)
{
        int lines = -1;

        if (width <= 0)
                return 0;
        for (const char *p = text;;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);

                /* Go: (len-1)/width + 1, the division truncating towards zero */
                lines += ((int) stripped_len(p, len) - 1) / width + 1;
                if (!nl)
                        break;
                p = nl + 1;
        }
        return lines;
}

/* --- the display ---------------------------------------------------------------------- */

struct progress {
        FILE *out;
        struct timespec start;
        int64_t last_ms; /* when the last block was shown */
        int lines;       /* terminal lines the last block took (to clear) */
        bool is_resolved;
        struct progress_status *v; /* v[0] is the name's line */
        size_t n, alloc;
};

static int64_t now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct progress *progress_new(FILE *out, const char *name)
{
        struct progress *p = xnew0(struct progress, 1);

        p->out = out;
        (void) clock_gettime(CLOCK_MONOTONIC, &p->start);
        p->last_ms = now_ms();
        p->v = xgrow(p->v, &p->alloc, 1, sizeof(*p->v));
        p->v[p->n++] = (struct progress_status){.ref = xstrdup(name)};
        return p;
}

struct progress *progress_free(struct progress *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n; i++)
                free((char *) p->v[i].ref);
        free(p->v);
        free(p);
        return NULL;
}

void progress_resolved(struct progress *p)
{
        p->is_resolved = true;
}

size_t progress_add(struct progress *p, const char *ref)
{
        p->is_resolved = true; /* as ctr's Jobs.Add */
        p->v = xgrow(p->v, &p->alloc, p->n + 1, sizeof(*p->v));
        p->v[p->n] = (struct progress_status){.ref = xstrdup(ref), .state = PROGRESS_WAITING};
        return p->n++;
}

void progress_set(struct progress *p, size_t job, enum progress_state state, int64_t offset,
                  int64_t total)
{
        struct progress_status *s = &p->v[job];

        s->state = state;
        s->offset = offset;
        s->total = total;
}

/* The width of the terminal on stdin (pkg/progress asks os.Stdin), 0 when it is none. */
static int terminal_width(void)
{
        struct winsize ws;

        if (!isatty(STDIN_FILENO) || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                return 0;
        return ws.ws_col;
}

/* One block as text (the caller's). */
static char *render(struct progress *p)
{
        struct timespec now;
        char *text = NULL;
        size_t len = 0;
        struct table *t;
        FILE *f;

        (void) clock_gettime(CLOCK_MONOTONIC, &now);
        p->v[0].state = p->is_resolved ? PROGRESS_RESOLVED : PROGRESS_RESOLVING;
        f = open_memstream(&text, &len);
        if (!f)
                abort(); /* only on OOM */
        t = table_new_padchar(f, 1, 8, 1, ' ');
        progress_display(t, p->v, p->n,
                         (double) (now.tv_sec - p->start.tv_sec) +
                                 (double) (now.tv_nsec - p->start.tv_nsec) / 1e9);
        table_flush(t);
        (void) fclose(f);
        return text;
}

static void show(struct progress *p)
{
        _cleanup_free_ char *text = NULL;

        if (!p->out)
                return;
        text = render(p);
        for (int i = 0; i < p->lines; i++)
                fputs("\x1b[1A\x1b[2K\r", p->out);
        p->lines = progress_count_lines(text, terminal_width());
        fputs(text, p->out);
        fflush(p->out);
        p->last_ms = now_ms();
}

void progress_tick(struct progress *p)
{
        if (p->out && now_ms() - p->last_ms >= PROGRESS_INTERVAL_MS)
                show(p);
}

void progress_finish(struct progress *p)
{
        if (!p)
                return;
        for (size_t i = 1; i < p->n; i++)
                if (p->v[i].state != PROGRESS_EXISTS)
                        p->v[i].state = PROGRESS_DONE;
        show(p);
        progress_free(p);
}

/* ".<digits>" of frac (prec digits, trailing zeros dropped; nothing when it is 0). */
static void frac_string(uint64_t frac, int prec, char *buf, size_t n)
{
        int len;

        buf[0] = '\0';
        if (frac == 0 || prec == 0)
                return;
        len = snprintf(buf, n, ".%0*llu", prec, (unsigned long long) frac);
        while (len > 1 && buf[len - 1] == '0')
                buf[--len] = '\0';
}

void progress_duration(int64_t ns, char *buf, size_t n)
{
        static const uint64_t pow10[] = {1, 1000, 1000000, 1000000000};
        uint64_t u = ns < 0 ? -(uint64_t) ns : (uint64_t) ns;
        const char *sign = ns < 0 ? "-" : "", *unit;
        char frac[16];
        int prec;

        if (u == 0) {
                snprintf(buf, n, "0s");
                return;
        }
        if (u < pow10[3]) {
                /* Go's Duration.String: under a second in ns, µs or ms with a fraction */
                prec = u < pow10[1] ? 0 : u < pow10[2] ? 3 : 6;
                unit = u < pow10[1] ? "ns" : u < pow10[2] ? "µs" : "ms";
                frac_string(u % pow10[prec / 3], prec, frac, sizeof(frac));
                snprintf(buf, n, "%s%llu%s%s", sign, (unsigned long long) (u / pow10[prec / 3]),
                         frac, unit);
                return;
        }
        frac_string(u % pow10[3], 9, frac, sizeof(frac));
        u /= pow10[3];
        if (u >= 3600)
                snprintf(buf, n, "%s%lluh%llum%llu%ss", sign, (unsigned long long) (u / 3600),
                         (unsigned long long) (u / 60 % 60), (unsigned long long) (u % 60), frac);
        else if (u >= 60)
                snprintf(buf, n, "%s%llum%llu%ss", sign, (unsigned long long) (u / 60),
                         (unsigned long long) (u % 60), frac);
        else
                snprintf(buf, n, "%s%llu%ss", sign, (unsigned long long) u, frac);
}
