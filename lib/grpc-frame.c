/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure parts of gRPC (see grpc-internal.h): the length-prefixed message framing and its
 * reassembly across DATA frames, grpc-timeout, grpc-message's percent-encoding, :path
 * splitting, content-type checks, and the status a client gives to an HTTP status or an
 * RST_STREAM (grpc/grpc doc/PROTOCOL-HTTP2.md and doc/http-grpc-status-mapping.md). The
 * error words are grpc-go's, so that clients see the same messages from us as from
 * containerd.
 */
#include <inttypes.h>
#include <strings.h>

#include "grpc-internal.h"
#include "xalloc.h"

/* Buffers start small: the announced length is the client's word, the bytes are not. */
#define READER_MIN_ALLOC 4096
/* A larger buffer is freed after its message, so that an idle stream holds little. */
#define READER_KEEP_ALLOC (64u << 10)

static const char *const method_kind_names[_GRPC_METHOD_KIND_MAX] = {
        [GRPC_UNARY] = "unary",
        [GRPC_SERVER_STREAMING] = "server-streaming",
        [GRPC_CLIENT_STREAMING] = "client-streaming",
        [GRPC_BIDI_STREAMING] = "bidi-streaming",
};

const char *grpc_method_kind_to_string(enum grpc_method_kind kind)
{
        if ((unsigned) kind >= _GRPC_METHOD_KIND_MAX)
                return NULL;
        return method_kind_names[kind];
}

int grpc_method_kind_from_string(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(method_kind_names); i++)
                if (STREQ_PTR(method_kind_names[i], s))
                        return (int) i;
        return -EINVAL;
}

void grpc_reader_init(struct grpc_reader *r, size_t max_size)
{
        *r = (struct grpc_reader){.max_size = max_size};
}

void grpc_reader_release(struct grpc_reader *r)
{
        free(r->buf);
        grpc_reader_init(r, r->max_size);
}

bool grpc_reader_is_partial(const struct grpc_reader *r)
{
        return r->prefix_len > 0;
}

/* Takes prefix bytes; once whole, checks the flag and the length. */
static int reader_take_prefix(struct grpc_reader *r, const uint8_t **data, size_t *len,
                              struct errmsg *err)
{
        size_t n = MIN(*len, GRPC_PREFIX_SIZE - r->prefix_len);
        const uint8_t *p = r->prefix;
        uint32_t length;

        memcpy(r->prefix + r->prefix_len, *data, n);
        r->prefix_len += n;
        *data += n;
        *len -= n;
        if (r->prefix_len < GRPC_PREFIX_SIZE)
                return 0;
        length = (uint32_t) p[1] << 24 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 8 | p[4];
        if (p[0] == GRPC_FLAG_COMPRESSED)
                return errmsg_set(err, -EPROTONOSUPPORT,
                                  "grpc: compressed flag set with identity or empty encoding");
        if (p[0] != 0)
                return errmsg_set(err, -EPROTO, "grpc: received unexpected payload format %u",
                                  p[0]);
        if (length > r->max_size)
                return errmsg_set(err, -EMSGSIZE,
                                  "grpc: received message larger than max (%" PRIu32 " vs. %zu)",
                                  length, r->max_size);
        r->want = length;
        r->len = 0;
        return 0;
}

/* Appends body bytes, growing the buffer with what came, up to the announced length. */
static void reader_take_body(struct grpc_reader *r, const uint8_t **data, size_t *len)
{
        size_t n = MIN(*len, r->want - r->len);

        if (n == 0)
                return;
        if (r->len + n > r->alloc) {
                size_t alloc = MAX(MAX(r->len + n, r->alloc * 2), (size_t) READER_MIN_ALLOC);

                alloc = MIN(alloc, r->want);
                r->buf = xrealloc(r->buf, alloc);
                r->alloc = alloc;
        }
        memcpy(r->buf + r->len, *data, n);
        r->len += n;
        *data += n;
        *len -= n;
}

int grpc_reader_feed(struct grpc_reader *r, const uint8_t *data, size_t len, grpc_message_fn fn,
                     void *userdata, struct errmsg *err)
{
        int r_fn;

        while (len > 0) {
                if (r->prefix_len < GRPC_PREFIX_SIZE) {
                        int k = reader_take_prefix(r, &data, &len, err);

                        if (k < 0)
                                return k;
                        if (r->prefix_len < GRPC_PREFIX_SIZE)
                                return 0;
                }
                if (r->len == 0 && len >= r->want) {
                        /* the whole message in this chunk: no copy */
                        r->prefix_len = 0;
                        r_fn = fn(data, r->want, userdata);
                        data += r->want;
                        len -= r->want;
                } else {
                        reader_take_body(r, &data, &len);
                        if (r->len < r->want)
                                return 0;
                        r->prefix_len = 0;
                        r->len = 0;
                        r_fn = fn(r->buf ? r->buf : (const uint8_t *) "", r->want, userdata);
                        if (r->alloc > READER_KEEP_ALLOC) {
                                free(r->buf);
                                r->buf = NULL;
                                r->alloc = 0;
                        }
                }
                if (r_fn != 0)
                        return r_fn;
        }
        return 0;
}

uint8_t *grpc_message_frame(const uint8_t *msg, size_t len)
{
        uint8_t *out = xmalloc(GRPC_PREFIX_SIZE + len);

        assert(len <= UINT32_MAX);
        out[0] = 0;
        out[1] = (uint8_t) (len >> 24);
        out[2] = (uint8_t) (len >> 16);
        out[3] = (uint8_t) (len >> 8);
        out[4] = (uint8_t) len;
        if (len > 0)
                memcpy(out + GRPC_PREFIX_SIZE, msg, len);
        return out;
}

int grpc_timeout_parse(const char *s, uint64_t *ret_ns)
{
        static const struct {
                char unit;
                uint64_t ns;
        } units[] = {
                {'H', 3600000000000ull}, {'M', 60000000000ull}, {'S', 1000000000ull},
                {'m', 1000000ull},       {'u', 1000ull},        {'n', 1ull},
        };
        size_t n = strspn(s, "0123456789");
        uint64_t v = 0;

        if (n == 0 || n > 8 || !s[n] || s[n + 1])
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (uint64_t) (s[i] - '0');
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (units[i].unit != s[n])
                        continue;
                /* 99999999H is 3.6e20 ns, past UINT64_MAX (584 years): saturate */
                *ret_ns = v > UINT64_MAX / units[i].ns ? UINT64_MAX : v * units[i].ns;
                return 0;
        }
        return -EINVAL;
}

void grpc_timeout_format(uint64_t ms, char buf[GRPC_TIMEOUT_MAX])
{
        static const struct {
                char unit;
                uint64_t ms;
        } units[] = {{'m', 1}, {'S', 1000}, {'M', 60000}, {'H', 3600000}};
        uint64_t v = ms;
        char unit = 'H';

        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                /* rounded up: a client must not make the deadline shorter than asked */
                v = ms / units[i].ms + (ms % units[i].ms != 0);
                unit = units[i].unit;
                if (v <= 99999999)
                        break;
        }
        (void) snprintf(buf, GRPC_TIMEOUT_MAX, "%" PRIu64 "%c", MIN(v, (uint64_t) 99999999), unit);
}

static bool percent_is_plain(unsigned char c)
{
        return c >= 0x20 && c <= 0x7e && c != '%';
}

char *grpc_percent_encode(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t n = 0, i = 0;
        char *out;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                n += percent_is_plain(*p) ? 1 : 3;
        out = xmalloc(n + 1);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (percent_is_plain(*p)) {
                        out[i++] = (char) *p;
                        continue;
                }
                out[i++] = '%';
                out[i++] = hex[*p >> 4];
                out[i++] = hex[*p & 0xf];
        }
        out[i] = 0;
        return out;
}

static int hex_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

char *grpc_percent_decode(const char *s, size_t len)
{
        char *out = xmalloc(len + 1);
        size_t n = 0;

        for (size_t i = 0; i < len; i++) {
                int hi = -1, lo = -1;

                if (s[i] == '%' && len - i >= 3) {
                        hi = hex_value(s[i + 1]);
                        lo = hex_value(s[i + 2]);
                }
                if (hi >= 0 && lo >= 0) {
                        out[n++] = (char) (hi << 4 | lo);
                        i += 2;
                } else {
                        out[n++] = s[i];
                }
        }
        out[n] = 0;
        return out;
}

int grpc_path_split(const char *path, char **ret_service, char **ret_method)
{
        const char *p = path[0] == '/' ? path + 1 : path;
        const char *slash = strrchr(p, '/');

        if (!slash)
                return -EINVAL;
        *ret_service = xstrndup(p, (size_t) (slash - p));
        *ret_method = xstrdup(slash + 1);
        return 0;
}

bool grpc_content_type_is_grpc(const char *s)
{
        static const char base[] = "application/grpc";
        const size_t n = sizeof(base) - 1;

        if (!s || strncasecmp(s, base, n) != 0)
                return false;
        return s[n] == 0 || s[n] == '+' || s[n] == ';';
}

enum rpc_code grpc_code_from_http_status(int status)
{
        switch (status) {
        case 400:
                return RPC_INTERNAL;
        case 401:
                return RPC_UNAUTHENTICATED;
        case 403:
                return RPC_PERMISSION_DENIED;
        case 404:
                return RPC_UNIMPLEMENTED;
        case 429:
        case 502:
        case 503:
        case 504:
                return RPC_UNAVAILABLE;
        default:
                return RPC_UNKNOWN;
        }
}

enum rpc_code grpc_code_from_rst_stream(uint32_t error_code)
{
        switch (error_code) {
        case 0x7: /* REFUSED_STREAM: nothing was processed */
                return RPC_UNAVAILABLE;
        case 0x8: /* CANCEL */
                return RPC_CANCELLED;
        case 0xb: /* ENHANCE_YOUR_CALM */
                return RPC_RESOURCE_EXHAUSTED;
        case 0xc: /* INADEQUATE_SECURITY */
                return RPC_PERMISSION_DENIED;
        default:
                return RPC_INTERNAL;
        }
}
