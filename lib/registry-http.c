/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry client's HTTP layer (see registry-internal.h): one exchange over a curl easy
 * handle (headers and bodies captured with caps, request bodies from memory or an fd), the
 * same with authentication and, for idempotent requests, retries with backoff around it, and
 * the error a status means, with the registry's {"errors": [...]} detail
 * (distribution-spec v1.0.1's error codes). registry-fetch.c drives the same transfers on a
 * multi handle.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/registry-internal.h"
#include "lib/xalloc.h"

#define HEADERS_MAX      256
#define REQUEST_TRIES    3
#define BACKOFF_BASE_MS  100
#define BACKOFF_MAX_MS   2000
#define ERROR_DETAIL_MAX 200

static void sleep_ms(uint64_t ms)
{
        struct timespec ts = {.tv_sec = (time_t) (ms / 1000),
                              .tv_nsec = (long) (ms % 1000) * 1000000};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

uint64_t registry_backoff_ms(unsigned attempt)
{
        uint64_t ms = (uint64_t) BACKOFF_BASE_MS << MIN(attempt, 10u);

        return MIN(ms, (uint64_t) BACKOFF_MAX_MS);
}

/* --- one exchange ------------------------------------------------------------------------- */

void registry_response_release(struct registry_response *r)
{
        if (!r)
                return;
        free(r->content_type);
        free(r->docker_digest);
        free(r->location);
        free(r->range);
        free(r->content_range);
        for (size_t i = 0; i < r->n_challenges; i++)
                free(r->challenges[i]);
        free(r->body);
        *r = (struct registry_response){.content_length = -1};
}

bool registry_status_is_2xx(long status)
{
        return status >= 200 && status < 300;
}

static void set_header(char **slot, const char *value)
{
        free(*slot);
        *slot = xstrdup(value);
}

static void store_header(struct registry_response *r, const char *name, const char *value)
{
        int64_t n;

        if (strcasecmp(name, "Content-Type") == 0)
                set_header(&r->content_type, value);
        else if (strcasecmp(name, "Docker-Content-Digest") == 0)
                set_header(&r->docker_digest, value);
        else if (strcasecmp(name, "Location") == 0)
                set_header(&r->location, value);
        else if (strcasecmp(name, "Range") == 0)
                set_header(&r->range, value);
        else if (strcasecmp(name, "Content-Range") == 0)
                set_header(&r->content_range, value);
        else if (strcasecmp(name, "Content-Length") == 0)
                r->content_length = parse_int64(value, &n) >= 0 && n >= 0 ? n : -1;
        else if (strcasecmp(name, "WWW-Authenticate") == 0 &&
                 r->n_challenges < REGISTRY_MAX_CHALLENGES)
                r->challenges[r->n_challenges++] = xstrdup(value);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct registry_xfer *x = userdata;
        size_t len = size * nitems;
        _cleanup_free_ char *line = xstrndup(buf, len);
        char *colon, *value, *end;

        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "HTTP/", 5) == 0) {
                /* a new response: after a redirect or a 100 Continue */
                registry_response_release(&x->resp);
                x->n_headers = 0;
                value = strchr(line, ' ');
                x->resp.status = value ? strtol(value + 1, NULL, 10) : 0;
                return len;
        }
        if (!line[0])
                return len;
        if (++x->n_headers > HEADERS_MAX) {
                x->write_error = -E2BIG;
                return 0;
        }
        colon = strchr(line, ':');
        if (!colon)
                return len;
        *colon = '\0';
        value = colon + 1;
        value += strspn(value, " \t");
        for (end = value + strlen(value); end > value && (end[-1] == ' ' || end[-1] == '\t');)
                *--end = '\0';
        store_header(&x->resp, line, value);
        return len;
}

static size_t on_body(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct registry_xfer *x = userdata;
        size_t len = size * nitems, cap;
        bool ok = registry_status_is_2xx(x->resp.status);
        int r;

        if (ok && x->deliver) {
                r = x->deliver(x->deliver_userdata, buf, len);
                if (r < 0) {
                        x->write_error = r;
                        return 0;
                }
                return len;
        }
        cap = ok && x->q->max_body ? x->q->max_body : REGISTRY_SMALL_BODY_MAX;
        if (len > cap - x->resp.len) {
                if (ok)
                        x->write_error = -EFBIG;
                else
                        x->body_cut = true;
                return 0;
        }
        x->resp.body = xrealloc(x->resp.body, x->resp.len + len + 1);
        memcpy(x->resp.body + x->resp.len, buf, len);
        x->resp.len += len;
        x->resp.body[x->resp.len] = '\0';
        return len;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct registry_xfer *x = userdata;
        const struct registry_request *q = x->q;
        size_t want = (size_t) MIN((uint64_t) (size * nitems), q->body_size - x->sent);
        ssize_t n;

        if (want == 0)
                return 0;
        if (q->body) {
                memcpy(buf, (const char *) q->body + x->sent, want);
                n = (ssize_t) want;
        } else {
                do
                        n = pread(q->body_fd, buf, want, (off_t) (q->body_offset + x->sent));
                while (n < 0 && errno == EINTR);
                if (n <= 0) {
                        x->read_error = n < 0 ? -errno : -EIO;
                        return CURL_READFUNC_ABORT;
                }
        }
        x->sent += (uint64_t) n;
        return (size_t) n;
}

static void add_header(struct registry_xfer *x, const char *fmt, ...) _printf_(2, 3);
static void add_header(struct registry_xfer *x, const char *fmt, ...)
{
        _cleanup_free_ char *line = NULL;
        struct curl_slist *l;
        va_list ap;

        va_start(ap, fmt);
        line = xvasprintf(fmt, ap);
        va_end(ap);
        l = curl_slist_append(x->headers, line);
        if (!l)
                abort();
        x->headers = l;
}

static void xfer_set_method(struct registry_xfer *x)
{
        const struct registry_request *q = x->q;
        CURL *e = x->easy;

        if (STREQ(q->method, "GET") || STREQ(q->method, "HEAD")) {
                (void) curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
                (void) curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
                if (STREQ(q->method, "HEAD"))
                        (void) curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
                return;
        }
        if (STREQ(q->method, "POST")) {
                (void) curl_easy_setopt(e, CURLOPT_POST, 1L);
                (void) curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) q->body_size);
                if (q->body_size == 0)
                        (void) curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        } else {
                (void) curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
                (void) curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t) q->body_size);
                if (!STREQ(q->method, "PUT"))
                        (void) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
        }
        (void) curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        (void) curl_easy_setopt(e, CURLOPT_READDATA, x);
}

static void xfer_set_headers(struct registry_xfer *x, const char *authorization)
{
        const struct registry_request *q = x->q;

        if (q->accept)
                add_header(x, "Accept: %s", q->accept);
        if (q->content_type)
                add_header(x, "Content-Type: %s", q->content_type);
        else if (STREQ(q->method, "POST"))
                add_header(x, "Content-Type:"); /* not curl's form type */
        if (q->content_range)
                add_header(x, "Content-Range: %s", q->content_range);
        if (q->range_from > 0)
                add_header(x, "Range: bytes=%" PRIu64 "-", q->range_from);
        if (authorization)
                add_header(x, "Authorization: %s", authorization);
        add_header(x, "Expect:");
        (void) curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
}

void registry_xfer_init(struct registry_client *c, struct registry_xfer *x,
                        const struct registry_request *q, const char *authorization)
{
        CURL *e;

        *x = (struct registry_xfer){.q = q, .resp.content_length = -1};
        e = x->easy = curl_easy_init();
        if (!e)
                abort();
        (void) curl_easy_setopt(e, CURLOPT_URL, q->url);
        registry_client_setup_easy(c, e);
        (void) curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        (void) curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        (void) curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
        (void) curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        (void) curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
        (void) curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        (void) curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        (void) curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
        (void) curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        (void) curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
        (void) curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
        (void) curl_easy_setopt(e, CURLOPT_PRIVATE, x);
        xfer_set_method(x);
        xfer_set_headers(x, authorization);
}

void registry_xfer_release(struct registry_xfer *x)
{
        if (x->easy)
                curl_easy_cleanup(x->easy);
        curl_slist_free_all(x->headers);
        registry_response_release(&x->resp);
        x->easy = NULL;
        x->headers = NULL;
}

static int curl_code_to_errno(CURL *e, CURLcode rc)
{
        long os_errno = 0;

        switch (rc) {
        case CURLE_COULDNT_CONNECT:
                (void) curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
                return os_errno > 0 ? (int) -os_errno : -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return -ECONNRESET;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
                return -EPROTO;
        case CURLE_TOO_MANY_REDIRECTS:
                return -ELOOP;
        case CURLE_URL_MALFORMAT:
                return -EINVAL;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_OUT_OF_MEMORY:
                abort();
        default:
                return -EIO;
        }
}

/* What went wrong, for err: TLS failures say so (strerror(EPROTO) would not), else r's. */
static const char *curl_code_what(CURLcode rc, int r)
{
        switch (rc) {
        case CURLE_PEER_FAILED_VERIFICATION:
                return "TLS: server certificate verification failed";
        case CURLE_SSL_CONNECT_ERROR:
                return "TLS: handshake failed";
        case CURLE_SSL_CACERT_BADFILE:
                return "TLS: cannot load the CA certificates";
        case CURLE_SSL_CERTPROBLEM:
                return "TLS: client certificate problem";
        default:
                return strerror(-r);
        }
}

/* The outcome of a finished transfer: 0 when a response came (any status), else -errno. */
int registry_xfer_finish(struct registry_xfer *x, CURLcode rc, struct errmsg *err)
{
        const struct registry_request *q = x->q;
        int r;

        if (x->write_error == -EFBIG)
                return errmsg_set(err, -EFBIG, "%s %s: response larger than %zu bytes", q->method,
                                  q->url, q->max_body ? q->max_body : REGISTRY_SMALL_BODY_MAX);
        if (x->write_error == -E2BIG)
                return errmsg_set(err, -E2BIG, "%s %s: more than %d response headers", q->method,
                                  q->url, HEADERS_MAX);
        if (x->write_error < 0)
                return errmsg_set(err, x->write_error, "%s %s: write: %s", q->method, q->url,
                                  strerror(-x->write_error));
        if (x->read_error < 0)
                return errmsg_set(err, x->read_error, "%s %s: read the request body: %s", q->method,
                                  q->url,
                                  x->read_error == -EIO ? "file shorter than its size"
                                                        : strerror(-x->read_error));
        if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && x->body_cut))
                return 0;
        r = curl_code_to_errno(x->easy, rc);
        return errmsg_set(err, r, "%s %s: %s: %s", q->method, q->url, curl_code_what(rc, r),
                          x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
}

int registry_request_perform(struct registry_client *c, const struct registry_request *q,
                             const char *authorization, struct registry_response *ret,
                             struct errmsg *err)
{
        struct registry_xfer x;
        CURLcode rc;
        int r;

        registry_xfer_init(c, &x, q, authorization);
        rc = curl_easy_perform(x.easy);
        r = registry_xfer_finish(&x, rc, err);
        if (r >= 0) {
                log_debug("%s %s: %ld", q->method, q->url, x.resp.status);
                *ret = x.resp;
                x.resp = (struct registry_response){0};
        }
        registry_xfer_release(&x);
        return r;
}

bool registry_errno_is_transient(int r)
{
        return r == -ECONNRESET || r == -ETIMEDOUT || r == -EPIPE;
}

bool registry_status_is_retryable(long status)
{
        return status == 429 || (status >= 500 && status < 600);
}

int registry_request_do(struct registry_client *c, const struct registry_request *q,
                        struct registry_response *ret, struct errmsg *err)
{
        _cleanup_free_ char *host = q->authorization ? NULL : registry_url_authority(q->url);
        unsigned tries = 0, rounds = 0;

        for (;;) {
                struct registry_response resp = {0};
                _cleanup_free_ char *used = NULL;
                const char *value = q->authorization;
                int r;

                if (host) {
                        r = registry_auth_authorize(c, host, q->scope, &value, err);
                        if (r < 0)
                                return r;
                }
                used = value ? xstrdup(value) : NULL;
                r = registry_request_perform(c, q, used, &resp, err);
                if (r < 0 &&
                    !(q->idempotent && registry_errno_is_transient(r) && ++tries < REQUEST_TRIES))
                        return r;
                if (r >= 0 && resp.status == 401 && host && rounds++ < REGISTRY_AUTH_ROUNDS) {
                        r = registry_auth_challenged(c, q, &resp, used, err);
                        registry_response_release(&resp);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (r >= 0 && !(q->idempotent && registry_status_is_retryable(resp.status) &&
                                ++tries < REQUEST_TRIES)) {
                        *ret = resp;
                        return 0;
                }
                log_debug("%s %s: %s, retrying", q->method, q->url,
                          r < 0 ? strerror(-r) : "server busy");
                registry_response_release(&resp);
                sleep_ms(registry_backoff_ms(tries));
        }
}

static const char *http_reason(long status)
{
        static const struct {
                long status;
                const char *reason;
        } table[] = {
                {200, "OK"},
                {201, "Created"},
                {202, "Accepted"},
                {204, "No Content"},
                {206, "Partial Content"},
                {301, "Moved Permanently"},
                {302, "Found"},
                {307, "Temporary Redirect"},
                {400, "Bad Request"},
                {401, "Unauthorized"},
                {403, "Forbidden"},
                {404, "Not Found"},
                {405, "Method Not Allowed"},
                {409, "Conflict"},
                {413, "Payload Too Large"},
                {416, "Range Not Satisfiable"},
                {429, "Too Many Requests"},
                {500, "Internal Server Error"},
                {502, "Bad Gateway"},
                {503, "Service Unavailable"},
                {504, "Gateway Timeout"},
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].status == status)
                        return table[i].reason;
        return "";
}

int registry_status_to_errno(long status)
{
        if (registry_status_is_2xx(status))
                return 0;
        switch (status) {
        case 400:
                return -EINVAL;
        case 401:
        case 403:
                return -EACCES;
        case 404:
                return -ENOENT;
        case 405:
                return -EOPNOTSUPP;
        case 409:
                return -EEXIST;
        case 413:
                return -EFBIG;
        case 416:
                return -ERANGE;
        default:
                return -EIO;
        }
}

/* "CODE: message; CODE: message" from {"errors":[...]}, or the body's start, printable. */
static char *error_detail(const struct registry_response *r)
{
        _cleanup_free_ char *out = NULL;
        json_t *root, *e;
        size_t i;

        if (!r->body || r->len == 0)
                return NULL;
        root = json_loadb(r->body, r->len, 0, NULL);
        json_array_foreach (json_object_get(root, "errors"), i, e) {
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *msg = json_string_value(json_object_get(e, "message"));
                char *joined;

                if (i == 3)
                        break;
                joined = xasprintf("%s%s%s%s%s", out ? out : "", out ? "; " : "", code ? code : "",
                                   code && msg ? ": " : "", msg ? msg : "");
                free(out);
                out = joined;
        }
        json_decref(root);
        if (out)
                return TAKE_PTR(out);
        out = xstrndup(r->body, MIN(r->len, (size_t) ERROR_DETAIL_MAX));
        for (char *p = out; *p; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
                        *p = ' ';
        return TAKE_PTR(out);
}

int registry_status_error(const struct registry_request *q, const struct registry_response *r,
                          struct errmsg *err)
{
        _cleanup_free_ char *detail = error_detail(r);
        int code = registry_status_to_errno(r->status);
        const char *reason = http_reason(r->status);

        if (code == 0)
                code = -EPROTO; /* a 2xx the caller did not expect */
        return errmsg_set(err, code, "%s %s: %ld%s%s%s%s", q->method, q->url, r->status,
                          *reason ? " " : "", reason, detail ? ": " : "", detail ? detail : "");
}
