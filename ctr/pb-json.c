/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Go's encoding/json output for berth-ctr (pb-json.h): a writer with Go's escaping, number
 * formats and MarshalIndent layout, jansson values through it, and Go's two time formats.
 * The protobuf half (descriptor walk, type URLs) is in pb-json-message.c.
 */
#include "ctr/pb-json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/xalloc.h"

#define GOJSON_DEPTH_MAX 128

struct gojson {
        char *buf;
        size_t len, alloc;
        const char *indent;
        size_t depth;
        size_t count[GOJSON_DEPTH_MAX]; /* values written at each open level */
        bool after_key;
};

struct gojson *gojson_new(const char *indent)
{
        struct gojson *w = xnew0(struct gojson, 1);

        w->indent = indent;
        w->buf = xgrow(NULL, &w->alloc, 256, 1);
        w->buf[0] = '\0';
        return w;
}

char *gojson_finish(struct gojson *w)
{
        char *s = w->buf;

        free(w);
        return s;
}

static void put(struct gojson *w, const char *s, size_t n)
{
        w->buf = xgrow(w->buf, &w->alloc, w->len + n + 1, 1);
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = '\0';
}

static void puts_(struct gojson *w, const char *s)
{
        put(w, s, strlen(s));
}

static void newline(struct gojson *w, size_t depth)
{
        if (!w->indent)
                return;
        put(w, "\n", 1);
        for (size_t i = 0; i < depth; i++)
                puts_(w, w->indent);
}

/* Before a value: the separator and indentation its position needs. */
static void before_value(struct gojson *w)
{
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->depth == 0)
                return;
        if (w->count[w->depth - 1]++ > 0)
                put(w, ",", 1);
        newline(w, w->depth);
}

static void open_level(struct gojson *w, char c)
{
        before_value(w);
        put(w, &c, 1);
        assert(w->depth < GOJSON_DEPTH_MAX);
        w->count[w->depth++] = 0;
}

static void close_level(struct gojson *w, char c)
{
        assert(w->depth > 0);
        if (w->count[--w->depth] > 0)
                newline(w, w->depth);
        put(w, &c, 1);
}

void gojson_begin_object(struct gojson *w)
{
        open_level(w, '{');
}

void gojson_end_object(struct gojson *w)
{
        close_level(w, '}');
}

void gojson_begin_array(struct gojson *w)
{
        open_level(w, '[');
}

void gojson_end_array(struct gojson *w)
{
        close_level(w, ']');
}

/* The length of the UTF-8 sequence at s (at most n bytes) and its code point, or 0 when it
 * is not valid UTF-8 (Go writes \ufffd for each such byte). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret)
{
        size_t len;
        uint32_t cp, min;

        if (s[0] < 0xc2 || s[0] > 0xf4)
                return 0;
        len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
        min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
        if (len > n)
                return 0;
        cp = s[0] & (0x7f >> len);
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret = cp;
        return len;
}

/* encoding/json's string encoder with HTML escaping on (json.Marshal's default). */
static void put_quoted(struct gojson *w, const char *str, size_t n)
{
        const unsigned char *s = (const unsigned char *) str;
        char esc[8];

        put(w, "\"", 1);
        for (size_t i = 0; i < n;) {
                unsigned char c = s[i];
                uint32_t cp;
                size_t len;

                if (c < 0x80) {
                        if (c == '"' || c == '\\') {
                                esc[0] = '\\';
                                esc[1] = (char) c;
                                put(w, esc, 2);
                        } else if (c == '\n')
                                put(w, "\\n", 2);
                        else if (c == '\r')
                                put(w, "\\r", 2);
                        else if (c == '\t')
                                put(w, "\\t", 2);
                        else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                                snprintf(esc, sizeof(esc), "\\u00%02x", c);
                                put(w, esc, 6);
                        } else
                                put(w, (const char *) &s[i], 1);
                        i++;
                        continue;
                }
                len = utf8_decode(s + i, n - i, &cp);
                if (len == 0) {
                        put(w, "\\ufffd", 6);
                        i++;
                } else if (cp == 0x2028 || cp == 0x2029) {
                        snprintf(esc, sizeof(esc), "\\u%04x", cp);
                        put(w, esc, 6);
                        i += len;
                } else {
                        put(w, (const char *) &s[i], len);
                        i += len;
                }
        }
        put(w, "\"", 1);
}

void gojson_key(struct gojson *w, const char *key)
{
        before_value(w);
        put_quoted(w, key, strlen(key));
        puts_(w, w->indent ? ": " : ":");
        w->after_key = true;
}

void gojson_stringn(struct gojson *w, const char *s, size_t len)
{
        before_value(w);
        put_quoted(w, s, len);
}

void gojson_string(struct gojson *w, const char *s)
{
        gojson_stringn(w, s ? s : "", s ? strlen(s) : 0);
}

void gojson_uint(struct gojson *w, uint64_t v)
{
        char num[24];

        before_value(w);
        snprintf(num, sizeof(num), "%llu", (unsigned long long) v);
        puts_(w, num);
}

void gojson_int(struct gojson *w, int64_t v)
{
        char num[24];

        before_value(w);
        snprintf(num, sizeof(num), "%lld", (long long) v);
        puts_(w, num);
}

/* The shortest digits that read back as v (strconv's -1 precision): the digits without a
 * point into digits, the decimal exponent of the first one into *ret_exp. */
static void shortest_digits(double v, char digits[24], int *ret_exp)
{
        char e[40];
        size_t n = 0;

        for (int p = 1; p <= 17; p++) {
                snprintf(e, sizeof(e), "%.*e", p - 1, v);
                if (strtod(e, NULL) == v)
                        break;
        }
        for (const char *c = e; *c && *c != 'e'; c++)
                if (*c >= '0' && *c <= '9')
                        digits[n++] = *c;
        while (n > 1 && digits[n - 1] == '0')
                n--;
        digits[n] = '\0';
        *ret_exp = (int) strtol(strchr(e, 'e') + 1, NULL, 10);
}

static size_t put_digits(char *out, size_t at, const char *digits, size_t n, int zeros)
{
        memcpy(out + at, digits, n);
        at += n;
        while (zeros-- > 0)
                out[at++] = '0';
        return at;
}

/* encoding/json's float64: 'f' format, 'e' below 1e-6 and from 1e21 (exponent as "e-7"). */
void gojson_double(struct gojson *w, double v)
{
        char digits[24], out[64];
        size_t n, at = 0;
        int exp;

        before_value(w);
        if (isnan(v) || isinf(v)) {
                puts_(w, "null"); /* Go refuses these; null keeps the output valid */
                return;
        }
        if (v == 0) {
                puts_(w, "0");
                return;
        }
        if (v < 0)
                out[at++] = '-';
        shortest_digits(fabs(v), digits, &exp);
        n = strlen(digits);
        if (fabs(v) < 1e-6 || fabs(v) >= 1e21) {
                out[at++] = digits[0];
                if (n > 1) {
                        out[at++] = '.';
                        at = put_digits(out, at, digits + 1, n - 1, 0);
                }
                at += (size_t) snprintf(out + at, sizeof(out) - at, "e%c%d", exp < 0 ? '-' : '+',
                                        abs(exp));
        } else if (exp < 0) {
                out[at++] = '0';
                out[at++] = '.';
                at = put_digits(out, at, "", 0, -exp - 1);
                at = put_digits(out, at, digits, n, 0);
        } else if ((int) n <= exp + 1) {
                at = put_digits(out, at, digits, n, exp + 1 - (int) n);
        } else {
                at = put_digits(out, at, digits, (size_t) exp + 1, 0);
                out[at++] = '.';
                at = put_digits(out, at, digits + exp + 1, n - (size_t) exp - 1, 0);
        }
        out[at] = '\0';
        puts_(w, out);
}

void gojson_bool(struct gojson *w, bool v)
{
        before_value(w);
        puts_(w, v ? "true" : "false");
}

void gojson_null(struct gojson *w)
{
        before_value(w);
        puts_(w, "null");
}

void gojson_value(struct gojson *w, const json_t *v)
{
        const char *key;
        json_t *item;
        size_t i;

        switch (json_typeof(v)) {
        case JSON_OBJECT:
                gojson_begin_object(w);
                json_object_foreach ((json_t *) v, key, item) {
                        gojson_key(w, key);
                        gojson_value(w, item);
                }
                gojson_end_object(w);
                break;
        case JSON_ARRAY:
                gojson_begin_array(w);
                json_array_foreach (v, i, item)
                        gojson_value(w, item);
                gojson_end_array(w);
                break;
        case JSON_STRING:
                gojson_stringn(w, json_string_value(v), json_string_length(v));
                break;
        case JSON_INTEGER:
                gojson_int(w, json_integer_value(v));
                break;
        case JSON_REAL:
                gojson_double(w, json_real_value(v));
                break;
        case JSON_TRUE:
        case JSON_FALSE:
                gojson_bool(w, json_is_true(v));
                break;
        case JSON_NULL:
                gojson_null(w);
                break;
        }
}

char *gojson_dump(const json_t *v, const char *indent)
{
        struct gojson *w = gojson_new(indent);

        gojson_value(w, v);
        return gojson_finish(w);
}

/* "2006-01-02T15:04:05" and the fraction ".999999999" with its trailing zeros cut. */
static void time_parts(int64_t seconds, int32_t nanos, const char *sep, char date[40],
                       char frac[12])
{
        time_t t = (time_t) seconds;
        struct tm tm;

        if (nanos < 0 || nanos > 999999999)
                nanos = 0;
        if (!gmtime_r(&t, &tm))
                memset(&tm, 0, sizeof(tm));
        snprintf(date, 40, "%04d-%02d-%02d%s%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec);
        frac[0] = '\0';
        if (nanos > 0) {
                size_t n;

                snprintf(frac, 12, ".%09d", (int) nanos);
                n = strlen(frac);
                while (frac[n - 1] == '0')
                        frac[--n] = '\0';
        }
}

void go_time_rfc3339nano(int64_t seconds, int32_t nanos, char buf[GO_TIME_MAX])
{
        char date[40], frac[12];

        time_parts(seconds, nanos, "T", date, frac);
        snprintf(buf, GO_TIME_MAX, "%s%sZ", date, frac);
}

void go_time_string(int64_t seconds, int32_t nanos, char buf[GO_TIME_MAX])
{
        char date[40], frac[12];

        time_parts(seconds, nanos, " ", date, frac);
        snprintf(buf, GO_TIME_MAX, "%s%s +0000 UTC", date, frac);
}
