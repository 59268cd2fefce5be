/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed access to jansson values for the config.json parsers, with the full field path in
 * every error (see spec-json.h), and the loader that keeps uint64 values jansson cannot
 * represent.
 */
#include "runc/spec-json.h"

#include "lib/xalloc.h"

/* The internal form of an integer above INT64_MAX: a string of a NUL and the digits. */
#define BIG_PREFIX     "\"\\u0000"
#define BIG_PREFIX_LEN STRLEN(BIG_PREFIX)

/* A path longer than the buffer ends in "..." rather than silently cut. */
static const char *mark_truncated(char buf[static JPATH_MAX], int n)
{
        if (n >= JPATH_MAX)
                memcpy(buf + JPATH_MAX - 4, "...", 4);
        return buf;
}

const char *jpath_key(char buf[static JPATH_MAX], const char *parent, const char *key)
{
        if (parent[0])
                return mark_truncated(buf, snprintf(buf, JPATH_MAX, "%s.%s", parent, key));
        return mark_truncated(buf, snprintf(buf, JPATH_MAX, "%s", key));
}

const char *jpath_index(char buf[static JPATH_MAX], const char *parent, size_t i)
{
        return mark_truncated(buf, snprintf(buf, JPATH_MAX, "%s[%zu]", parent, i));
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* n digits without a leading zero: is the value in (INT64_MAX, UINT64_MAX]? */
static bool is_big_uint(const char *s, size_t n)
{
        if (n == 19)
                return memcmp(s, "9223372036854775807", 19) > 0;
        if (n == 20)
                return memcmp(s, "18446744073709551615", 20) <= 0;
        return false;
}

/*
 * jansson stores integers as long long and rejects larger literals, but uint64 fields
 * (rlimits of RLIM_INFINITY, as docker writes for "--ulimit memlock=-1") need them. Such
 * literals outside strings are rewritten as the string "\u0000<digits>", which only
 * jval_uint64() accepts: ordinary strings with a NUL are rejected by jval_string(). Counts
 * them and, when out is not NULL, writes the rewritten text there (len + 8 bytes each).
 * Columns in later parse errors on the same line shift by 8 per rewritten literal.
 */
static size_t rewrite_big_integers(const char *text, size_t len, char *out)
{
        bool in_string = false;
        size_t n = 0, o = 0;

        for (size_t i = 0; i < len;) {
                size_t end = i + 1;
                char c = text[i];

                if (in_string) {
                        if (c == '\\')
                                end = MIN(i + 2, len);
                        else if (c == '"')
                                in_string = false;
                } else if (c == '"') {
                        in_string = true;
                } else if (is_digit(c) || c == '-') {
                        while (end < len && is_digit(text[end]))
                                end++;
                        if (c != '-' && c != '0' && is_big_uint(text + i, end - i) &&
                            (end == len || !strchr(".eE", text[end]))) {
                                if (out) {
                                        memcpy(out + o, BIG_PREFIX, BIG_PREFIX_LEN);
                                        o += BIG_PREFIX_LEN;
                                        memcpy(out + o, text + i, end - i);
                                        o += end - i;
                                        out[o++] = '"';
                                }
                                n++;
                                i = end;
                                continue;
                        }
                }
                if (out) {
                        memcpy(out + o, text + i, end - i);
                        o += end - i;
                }
                i = end;
        }
        return n;
}

int spec_json_load(const char *text, size_t len, json_t **ret, struct errmsg *err)
{
        _cleanup_free_ char *rewritten = NULL;
        json_error_t jerr;
        json_t *root;
        size_t n;

        if (len > SPEC_MAX_BYTES)
                return errmsg_set(err, -EFBIG, "%zu bytes, more than the limit of %u", len,
                                  SPEC_MAX_BYTES);
        n = rewrite_big_integers(text, len, NULL);
        if (n > 0) {
                rewritten = xmalloc(len + n * (BIG_PREFIX_LEN + 1));
                (void) rewrite_big_integers(text, len, rewritten);
                text = rewritten;
                len += n * (BIG_PREFIX_LEN + 1);
        }
        root = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
        if (!root)
                return errmsg_set(err, -EINVAL, "line %d, column %d: %s", jerr.line, jerr.column,
                                  jerr.text);
        *ret = root;
        return 0;
}

/* Is v the internal form of a big integer? Returns its digits. */
static const char *big_uint_digits(json_t *v)
{
        const char *s;

        if (!json_is_string(v) || json_string_length(v) < 2)
                return NULL;
        s = json_string_value(v);
        if (s[0] != '\0' || !is_digit(s[1]))
                return NULL;
        return s + 1;
}

int jval_string(json_t *v, const char *path, const char **ret, struct errmsg *err)
{
        const char *s;

        if (!json_is_string(v))
                return errmsg_set(err, -EINVAL, "%s: expected string", path);
        s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
                return errmsg_set(err, -EINVAL, "%s: string contains a NUL character", path);
        *ret = s;
        return 0;
}

static int expected_integer(json_t *v, const char *path, struct errmsg *err)
{
        if (big_uint_digits(v))
                return errmsg_set(err, -ERANGE, "%s: %s is out of range", path, big_uint_digits(v));
        if (json_is_real(v))
                return errmsg_set(err, -EINVAL, "%s: expected integer, got %g", path,
                                  json_real_value(v));
        return errmsg_set(err, -EINVAL, "%s: expected number", path);
}

int jval_int64(json_t *v, const char *path, int64_t min, int64_t max, int64_t *ret,
               struct errmsg *err)
{
        json_int_t i;

        if (!json_is_integer(v))
                return expected_integer(v, path, err);
        i = json_integer_value(v);
        if (i < min || i > max)
                return errmsg_set(err, -ERANGE, "%s: %lld is out of range [%lld, %lld]", path,
                                  (long long) i, (long long) min, (long long) max);
        *ret = i;
        return 0;
}

int jval_uint64(json_t *v, const char *path, uint64_t max, uint64_t *ret, struct errmsg *err)
{
        const char *digits = big_uint_digits(v);
        uint64_t u;

        if (digits) {
                /* rewrite_big_integers() vouched for the digits: no overflow possible */
                u = strtoull(digits, NULL, 10);
        } else if (json_is_integer(v) && json_integer_value(v) >= 0) {
                u = (uint64_t) json_integer_value(v);
        } else if (json_is_integer(v)) {
                return errmsg_set(err, -ERANGE, "%s: %lld is negative", path,
                                  (long long) json_integer_value(v));
        } else {
                return expected_integer(v, path, err);
        }
        if (u > max)
                return errmsg_set(err, -ERANGE, "%s: %llu is out of range [0, %llu]", path,
                                  (unsigned long long) u, (unsigned long long) max);
        *ret = u;
        return 0;
}

int jval_object(json_t *v, const char *path, struct errmsg *err)
{
        if (!json_is_object(v))
                return errmsg_set(err, -EINVAL, "%s: expected object", path);
        return 0;
}

int jval_array(json_t *v, const char *path, struct errmsg *err)
{
        if (!json_is_array(v))
                return errmsg_set(err, -EINVAL, "%s: expected array", path);
        return 0;
}

int jget(json_t *obj, const char *path, const char *key, unsigned flags, json_t **ret,
         struct errmsg *err)
{
        char p[JPATH_MAX];
        json_t *v;

        v = json_object_get(obj, key);
        if (!v || json_is_null(v)) {
                if (flags & JSON_REQUIRED)
                        return errmsg_set(err, -EINVAL, "%s: required", jpath_key(p, path, key));
                return 0;
        }
        *ret = v;
        return 1;
}

/* The string at key, borrowed from obj; *ret_path names the field for messages. */
static int jget_cstring(json_t *obj, const char *path, const char *key, unsigned flags,
                        char ret_path[JPATH_MAX], const char **ret, struct errmsg *err)
{
        json_t *v;
        int r;

        r = jget(obj, path, key, flags, &v, err);
        if (r <= 0)
                return r;
        r = jval_string(v, jpath_key(ret_path, path, key), ret, err);
        return r < 0 ? r : 1;
}

int jget_string(json_t *obj, const char *path, const char *key, unsigned flags, char **ret,
                struct errmsg *err)
{
        char p[JPATH_MAX];
        const char *s;
        int r;

        r = jget_cstring(obj, path, key, flags, p, &s, err);
        if (r <= 0)
                return r;
        *ret = xstrdup(s);
        return 1;
}

int jget_abs_path(json_t *obj, const char *path, const char *key, unsigned flags, char **ret,
                  struct errmsg *err)
{
        char p[JPATH_MAX];
        const char *s;
        int r;

        r = jget_cstring(obj, path, key, flags, p, &s, err);
        if (r <= 0)
                return r;
        if (s[0] != '/')
                return errmsg_set(err, -EINVAL, "%s: not an absolute path", p);
        *ret = xstrdup(s);
        return 1;
}

int jget_bool(json_t *obj, const char *path, const char *key, unsigned flags, bool *ret,
              struct errmsg *err)
{
        char p[JPATH_MAX];
        json_t *v;
        int r;

        r = jget(obj, path, key, flags, &v, err);
        if (r <= 0)
                return r;
        if (!json_is_boolean(v))
                return errmsg_set(err, -EINVAL, "%s: expected boolean", jpath_key(p, path, key));
        *ret = json_is_true(v);
        return 1;
}

int jget_int64(json_t *obj, const char *path, const char *key, unsigned flags, int64_t *ret,
               struct errmsg *err)
{
        char p[JPATH_MAX];
        json_t *v;
        int r;

        r = jget(obj, path, key, flags, &v, err);
        if (r <= 0)
                return r;
        r = jval_int64(v, jpath_key(p, path, key), INT64_MIN, INT64_MAX, ret, err);
        return r < 0 ? r : 1;
}

static int jget_uint_max(json_t *obj, const char *path, const char *key, unsigned flags,
                         uint64_t max, uint64_t *ret, struct errmsg *err)
{
        char p[JPATH_MAX];
        json_t *v;
        int r;

        r = jget(obj, path, key, flags, &v, err);
        if (r <= 0)
                return r;
        r = jval_uint64(v, jpath_key(p, path, key), max, ret, err);
        return r < 0 ? r : 1;
}

int jget_uint64(json_t *obj, const char *path, const char *key, unsigned flags, uint64_t *ret,
                struct errmsg *err)
{
        return jget_uint_max(obj, path, key, flags, UINT64_MAX, ret, err);
}

int jget_uint32(json_t *obj, const char *path, const char *key, unsigned flags, uint32_t *ret,
                struct errmsg *err)
{
        uint64_t u;
        int r;

        r = jget_uint_max(obj, path, key, flags, UINT32_MAX, &u, err);
        if (r > 0)
                *ret = (uint32_t) u;
        return r;
}

int jget_uint16(json_t *obj, const char *path, const char *key, unsigned flags, uint16_t *ret,
                struct errmsg *err)
{
        uint64_t u;
        int r;

        r = jget_uint_max(obj, path, key, flags, UINT16_MAX, &u, err);
        if (r > 0)
                *ret = (uint16_t) u;
        return r;
}

/* The value at key, checked by check (jval_object, jval_array); borrowed from obj. */
static int jget_checked(json_t *obj, const char *path, const char *key, unsigned flags,
                        int (*check)(json_t *v, const char *path, struct errmsg *err), json_t **ret,
                        struct errmsg *err)
{
        char p[JPATH_MAX];
        json_t *v;
        int r;

        r = jget(obj, path, key, flags, &v, err);
        if (r <= 0)
                return r;
        r = check(v, jpath_key(p, path, key), err);
        if (r < 0)
                return r;
        *ret = v;
        return 1;
}

int jget_object(json_t *obj, const char *path, const char *key, unsigned flags, json_t **ret,
                struct errmsg *err)
{
        return jget_checked(obj, path, key, flags, jval_object, ret, err);
}

int jget_array(json_t *obj, const char *path, const char *key, unsigned flags, json_t **ret,
               struct errmsg *err)
{
        return jget_checked(obj, path, key, flags, jval_array, ret, err);
}

int jget_strv(json_t *obj, const char *path, const char *key, unsigned flags, char ***ret,
              struct errmsg *err)
{
        _cleanup_strv_ char **v = NULL;
        char p[JPATH_MAX], pi[JPATH_MAX];
        json_t *arr;
        size_t n;
        int r;

        r = jget_array(obj, path, key, flags, &arr, err);
        if (r <= 0)
                return r;
        n = json_array_size(arr);
        v = xnew0(char *, n + 1);
        (void) jpath_key(p, path, key);
        for (size_t i = 0; i < n; i++) {
                const char *s;

                r = jval_string(json_array_get(arr, i), jpath_index(pi, p, i), &s, err);
                if (r < 0)
                        return r;
                v[i] = xstrdup(s);
        }
        *ret = TAKE_PTR(v);
        return 1;
}

void oci_key_values_free(struct oci_key_value *kv, size_t n)
{
        for (size_t i = 0; kv && i < n; i++) {
                free(kv[i].key);
                free(kv[i].value);
        }
        free(kv);
}

int jget_string_map(json_t *obj, const char *path, const char *key, struct oci_key_value **ret,
                    size_t *ret_n, struct errmsg *err)
{
        char p[JPATH_MAX], pk[JPATH_MAX];
        struct oci_key_value *kv;
        const char *k;
        json_t *map, *v;
        size_t n = 0;
        int r;

        r = jget_object(obj, path, key, 0, &map, err);
        if (r <= 0)
                return r;
        (void) jpath_key(p, path, key);
        kv = xnew0(struct oci_key_value, json_object_size(map));
        json_object_foreach (map, k, v) {
                const char *s;

                if (!k[0]) {
                        r = errmsg_set(err, -EINVAL, "%s: empty key", p);
                        break;
                }
                r = jval_string(v, jpath_key(pk, p, k), &s, err);
                if (r < 0)
                        break;
                kv[n].key = xstrdup(k);
                kv[n++].value = xstrdup(s);
        }
        if (r < 0) {
                oci_key_values_free(kv, n);
                return r;
        }
        *ret = kv;
        *ret_n = n;
        return 1;
}

int jarray_parse_objects(json_t *arr, const char *path, void *items, size_t elem_size,
                         jelem_parse_fn parse, struct errmsg *err)
{
        char p[JPATH_MAX];
        size_t i;
        json_t *elem;
        int r;

        json_array_foreach (arr, i, elem) {
                r = jval_object(elem, jpath_index(p, path, i), err);
                if (r < 0)
                        return r;
                r = parse(elem, p, (char *) items + i * elem_size, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int jget_objects(json_t *obj, const char *path, const char *key, size_t elem_size,
                 jelem_parse_fn parse, void *ret_items, size_t *ret_n, struct errmsg *err)
{
        char p[JPATH_MAX];
        json_t *arr;
        void *items;
        int r;

        r = jget_array(obj, path, key, 0, &arr, err);
        if (r <= 0)
                return r;
        items = xcalloc(json_array_size(arr), elem_size);
        /* ret_items points to a typed array pointer; memcpy keeps the store well defined */
        memcpy(ret_items, &items, sizeof(items));
        *ret_n = json_array_size(arr);
        r = jarray_parse_objects(arr, jpath_key(p, path, key), items, elem_size, parse, err);
        return r < 0 ? r : 1;
}
