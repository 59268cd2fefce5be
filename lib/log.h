/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging. The only mutable globals of the project live here (the log settings). Targets:
 * stderr (default) or a file; formats: text (logrus-like key=value) and JSON lines as runc
 * writes them ({"level":…,"msg":…,"time":…}), because shims parse the latter.
 * lib/ and the cores log at debug level at most; the layer that decides an outcome logs it.
 */
#pragma once

#include <time.h>

#include "common.h"

enum log_level {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARN,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
        _LOG_LEVEL_MAX,
};

enum log_format {
        LOG_FORMAT_TEXT,
        LOG_FORMAT_JSON,
        _LOG_FORMAT_MAX,
};

const char *log_level_to_string(enum log_level level);
const char *log_format_to_string(enum log_format format);
/* Returns the format for "text" or "json", or -EINVAL. */
int log_format_from_string(const char *s);

void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
/* Takes ownership of fd (O_CLOEXEC); -EBADF means stderr. */
void log_set_fd(int fd);
/* Opens path for appending (creating it 0600); returns 0 or -errno. */
int log_open_file(const char *path);
bool log_enabled(enum log_level level);

/* ts as RFC 3339 UTC with nanoseconds ("2026-11-28T23:28:33.000000001Z", as runc's JSON
 * lines); needs LOG_TIME_MAX bytes. */
#define LOG_TIME_MAX 64
void log_format_time(const struct timespec *ts, char *buf, size_t size);

/* Writes one record. Always returns r, so that errors can be logged and returned at once. */
int log_internal(enum log_level level, int r, const char *fmt, ...) _printf_(3, 4);

#define log_error(...) (void) log_internal(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warn(...)  (void) log_internal(LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_info(...)  (void) log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...)                                                        \
        do {                                                                  \
                if (log_enabled(LOG_LEVEL_DEBUG))                             \
                        (void) log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__); \
        } while (0)

/* Append ": strerror(-r)" and return r. */
#define log_error_errno(r, ...) log_internal(LOG_LEVEL_ERROR, (r), __VA_ARGS__)
#define log_warn_errno(r, ...)  log_internal(LOG_LEVEL_WARN, (r), __VA_ARGS__)
#define log_debug_errno(r, ...) log_internal(LOG_LEVEL_DEBUG, (r), __VA_ARGS__)
