/* SPDX-License-Identifier: Apache-2.0 */
/* Log records to stderr or a file, as text or JSON lines (see log.h). */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sys/uio.h>
#include <time.h>

static enum log_level log_max_level = LOG_LEVEL_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static int log_fd = -EBADF;

static const char *const level_names[_LOG_LEVEL_MAX] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARN] = "warning",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

static const char *const format_names[_LOG_FORMAT_MAX] = {
        [LOG_FORMAT_TEXT] = "text",
        [LOG_FORMAT_JSON] = "json",
};

const char *log_level_to_string(enum log_level level)
{
        return level < _LOG_LEVEL_MAX ? level_names[level] : NULL;
}

const char *log_format_to_string(enum log_format format)
{
        return format < _LOG_FORMAT_MAX ? format_names[format] : NULL;
}

int log_format_from_string(const char *s)
{
        for (size_t i = 0; i < _LOG_FORMAT_MAX; i++)
                if (STREQ(s, format_names[i]))
                        return (int) i;
        return -EINVAL;
}

void log_set_level(enum log_level level)
{
        log_max_level = level;
}

void log_set_format(enum log_format format)
{
        log_fmt = format;
}

void log_set_fd(int fd)
{
        log_fd = safe_close(log_fd);
        log_fd = fd;
}

int log_open_file(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

        if (fd < 0)
                return -errno;
        log_set_fd(fd);
        return 0;
}

bool log_enabled(enum log_level level)
{
        return level <= log_max_level;
}

/* Appends s to buf[*len] with JSON string escaping; truncates silently at size. */
static void append_json_escaped(char *buf, size_t size, size_t *len, const char *s)
{
        for (; *s && *len + 7 < size; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '"' || c == '\\') {
                        buf[(*len)++] = '\\';
                        buf[(*len)++] = (char) c;
                } else if (c == '\n') {
                        buf[(*len)++] = '\\';
                        buf[(*len)++] = 'n';
                } else if (c < 0x20) {
                        *len += (size_t) snprintf(buf + *len, size - *len, "\\u%04x", c);
                } else {
                        buf[(*len)++] = (char) c;
                }
        }
        buf[*len] = '\0';
}

/* Days since 1970-01-01 to a proleptic Gregorian date (the "civil from days" algorithm).
 * By hand rather than gmtime_r + strftime: those pull glibc's tz and locale code (and scanf)
 * into the static shim daemon, about 150 KiB resident per shim. */
static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
        int64_t era, y;
        unsigned doe, yoe, doy, mp;

        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = (unsigned) (z - era * 146097);
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        y = (int64_t) yoe + era * 400;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *ret_d = doy - (153 * mp + 2) / 5 + 1;
        *ret_m = mp < 10 ? mp + 3 : mp - 9;
        *ret_y = y + (*ret_m <= 2);
}

void log_format_time(const struct timespec *ts, char *buf, size_t size)
{
        int64_t days, secs, y;
        unsigned mon, mday;

        days = ts->tv_sec / 86400;
        secs = ts->tv_sec % 86400;
        if (secs < 0) {
                secs += 86400;
                days--;
        }
        civil_from_days(days, &y, &mon, &mday);
        (void) snprintf(buf, size, "%04lld-%02u-%02uT%02d:%02d:%02d.%09ldZ", (long long) y, mon,
                        mday, (int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60),
                        ts->tv_nsec);
}

static size_t format_record(char *out, size_t size, enum log_level level, const char *msg)
{
        char when[LOG_TIME_MAX];
        struct timespec now;
        size_t len = 0;

        (void) clock_gettime(CLOCK_REALTIME, &now);
        log_format_time(&now, when, sizeof(when));
        if (log_fmt == LOG_FORMAT_JSON) {
                len = (size_t) snprintf(out, size, "{\"level\":\"%s\",\"msg\":\"",
                                        level_names[level]);
                append_json_escaped(out, size - 32 - strlen(when), &len, msg);
                len += (size_t) snprintf(out + len, size - len, "\",\"time\":\"%s\"}\n", when);
        } else {
                len = (size_t) snprintf(out, size, "time=\"%s\" level=%s msg=\"", when,
                                        level_names[level]);
                append_json_escaped(out, size - 2, &len, msg);
                len += (size_t) snprintf(out + len, size - len, "\"\n");
        }
        return MIN(len, size - 1);
}

int log_internal(enum log_level level, int r, const char *fmt, ...)
{
        char msg[2048], out[4096];
        int saved = errno;
        va_list ap;
        size_t n;

        if (!log_enabled(level))
                return r;
        va_start(ap, fmt);
        n = (size_t) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (r < 0 && n < sizeof(msg))
                (void) snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(-r));
        n = format_record(out, sizeof(out), level, msg);
        (void) !write(log_fd >= 0 ? log_fd : STDERR_FILENO, out, n);
        errno = saved;
        return r;
}
