/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry client's core (see registry.h): hosts and URLs, one HTTP exchange over a curl
 * easy handle (shared DNS, connection and TLS session caches), authentication and retries
 * around it, manifest GET/HEAD with digest checks, and concurrent blob downloads on a curl
 * multi handle with Range resume. Facts followed: distribution-spec v1.0.1 (endpoints,
 * statuses, error bodies), containerd 1.6 remotes/docker (the Accept list; a Range answered
 * with 200 means the first bytes are skipped, one with 206 must start where asked).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "containerd/registry.h"
#include "lib/fs.h"
#include "lib/image-spec.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define DEFAULT_PARALLEL   3
#define DEFAULT_RETRIES    5
#define DEFAULT_CHUNK_SIZE (64ull << 20)
#define HEADERS_MAX        256
#define REQUEST_TRIES      3
#define AUTH_ROUNDS        3
#define BACKOFF_BASE_MS    100
#define BACKOFF_MAX_MS     2000
#define ERROR_DETAIL_MAX   200

static const char manifest_accept[] =
        MEDIA_TYPE_OCI_MANIFEST ", " MEDIA_TYPE_OCI_INDEX ", " MEDIA_TYPE_DOCKER_MANIFEST
                                ", " MEDIA_TYPE_DOCKER_MANIFEST_LIST;

struct registry_client {
        CURLSH *share;
        char *user_agent;
        char **insecure_hosts;
        char **mirror_hosts;
        char **mirror_endpoints;
        size_t n_mirrors;
        unsigned max_parallel;
        unsigned max_retries;
        uint64_t chunk_size;
        struct registry_auth *auth;
};

/* Where a pull goes: a mirror's endpoint or the registry's own. */
struct endpoint {
        char *base; /* "https://registry-1.docker.io", no trailing '/' */
        char *host; /* its authority, the key of the auth state */
        bool is_mirror;
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms)
{
        struct timespec ts = {.tv_sec = (time_t) (ms / 1000),
                              .tv_nsec = (long) (ms % 1000) * 1000000};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static uint64_t backoff_ms(unsigned attempt)
{
        uint64_t ms = (uint64_t) BACKOFF_BASE_MS << MIN(attempt, 10u);

        return MIN(ms, (uint64_t) BACKOFF_MAX_MS);
}

/* --- hosts and URLs ----------------------------------------------------------------------- */

static bool is_docker_io(const char *host)
{
        return strcasecmp(host, "docker.io") == 0 || strcasecmp(host, "index.docker.io") == 0;
}

const char *registry_api_host(const char *domain)
{
        return is_docker_io(domain) ? "registry-1.docker.io" : domain;
}

/* host without its port: "[::1]:5000" -> "::1", "a:5000" -> "a", "::1" -> "::1" */
static char *host_only(const char *host)
{
        const char *colon = strchr(host, ':');

        if (host[0] == '[')
                return xstrndup(host + 1, strcspn(host + 1, "]"));
        if (colon && !strchr(colon + 1, ':'))
                return xstrndup(host, (size_t) (colon - host));
        return xstrdup(host);
}

static bool is_loopback(const char *name)
{
        struct in_addr a4;
        struct in6_addr a6;

        if (strcasecmp(name, "localhost") == 0)
                return true;
        if (inet_pton(AF_INET, name, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, name, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        return false;
}

/* Whether host carries a port: "a:1", "[::1]:1" (a bare "::1" does not). */
static bool has_port(const char *host)
{
        const char *colon = strchr(host, ':'), *bracket = strchr(host, ']');

        if (host[0] == '[')
                return bracket && bracket[1] == ':';
        return colon && !strchr(colon + 1, ':');
}

bool registry_host_is_insecure(const char *host, char *const *insecure_hosts)
{
        _cleanup_free_ char *name = host_only(host);

        if (is_loopback(name))
                return true;
        for (size_t i = 0; insecure_hosts && insecure_hosts[i]; i++) {
                const char *e = insecure_hosts[i];

                if (strcasecmp(e, host) == 0 || (!has_port(e) && strcasecmp(e, name) == 0))
                        return true;
        }
        return false;
}

char *registry_base_url(const char *domain, char *const *insecure_hosts)
{
        const char *host = registry_api_host(domain);

        return xasprintf("%s://%s",
                         registry_host_is_insecure(host, insecure_hosts) ? "http" : "https", host);
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static char *url_escape(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = xmalloc(strlen(s) * 3 + 1), *p = out;

        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    strchr("-._~", c)) {
                        *p++ = (char) c;
                } else {
                        *p++ = '%';
                        *p++ = hex[c >> 4];
                        *p++ = hex[c & 15];
                }
        }
        *p = '\0';
        return out;
}

char *registry_url(const char *base, const char *name, const char *kind, const char *object,
                   const char *ns)
{
        _cleanup_free_ char *url =
                xasprintf("%s/v2/%s/%s/%s", base, name, kind, object ? object : "");

        if (!ns)
                return TAKE_PTR(url);
        return registry_location_url(NULL, url, "ns", ns);
}

/* "scheme://authority" of url (the caller's), or NULL. */
static char *url_origin(const char *url)
{
        const char *p = url ? strstr(url, "://") : NULL;

        if (!p)
                return NULL;
        p += 3;
        return xstrndup(url, (size_t) (p - url) + strcspn(p, "/?#"));
}

char *registry_url_authority(const char *url)
{
        const char *p = url ? strstr(url, "://") : NULL;
        size_t n;
        const char *at;

        if (!p)
                return NULL;
        p += 3;
        n = strcspn(p, "/?#");
        at = memchr(p, '@', n);
        if (at) {
                n -= (size_t) (at + 1 - p);
                p = at + 1;
        }
        return n > 0 ? xstrndup(p, n) : NULL;
}

char *registry_location_url(const char *base, const char *location, const char *key,
                            const char *value)
{
        _cleanup_free_ char *url = NULL, *origin = url_origin(base), *v = NULL;
        char last;

        if (location[0] == '/' && origin)
                url = xasprintf("%s%s", origin, location);
        else if (!strstr(location, "://") && base && strstr(base, "://"))
                url = xasprintf("%.*s://%s", (int) (strstr(base, "://") - base), base, location);
        else
                url = xstrdup(location);
        if (!key)
                return TAKE_PTR(url);
        v = url_escape(value);
        last = url[strlen(url) - 1];
        if (!strchr(url, '?'))
                return xasprintf("%s?%s=%s", url, key, v);
        return xasprintf("%s%s%s=%s", url, last == '?' || last == '&' ? "" : "&", key, v);
}

char *registry_scope(const char *name, const char *actions)
{
        return xasprintf("repository:%s:%s", name, actions);
}

/* Mirrors of domain in order, then the registry itself. */
static size_t client_endpoints(const struct registry_client *c, const char *domain,
                               struct endpoint **ret)
{
        struct endpoint *v = xnew0(struct endpoint, c->n_mirrors + 1);
        size_t n = 0;

        for (size_t i = 0; i < c->n_mirrors; i++) {
                const char *h = c->mirror_hosts[i];

                if (strcasecmp(h, domain) != 0 && !(is_docker_io(h) && is_docker_io(domain)))
                        continue;
                v[n].base = xstrdup(c->mirror_endpoints[i]);
                v[n].host = registry_url_authority(v[n].base);
                v[n++].is_mirror = true;
        }
        v[n].base = registry_base_url(domain, c->insecure_hosts);
        v[n++].host = xstrdup(registry_api_host(domain));
        *ret = v;
        return n;
}

static void endpoints_free(struct endpoint *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].base);
                free(v[i].host);
        }
        free(v);
}

/* --- client ------------------------------------------------------------------------------- */

static int check_mirror(const struct registry_mirror *m, struct errmsg *err)
{
        if (!m->host || !*m->host || !m->endpoint)
                return errmsg_set(err, -EINVAL, "mirror: needs a host and an endpoint");
        if (strncmp(m->endpoint, "http://", 7) != 0 && strncmp(m->endpoint, "https://", 8) != 0)
                return errmsg_set(
                        err, -EINVAL,
                        "mirror \"%s\": endpoint \"%s\" is not an http:// or https:// URL", m->host,
                        m->endpoint);
        if (strpbrk(m->endpoint, " \t\r\n?#"))
                return errmsg_set(err, -EINVAL, "mirror \"%s\": bad endpoint \"%s\"", m->host,
                                  m->endpoint);
        return 0;
}

static void client_add_mirrors(struct registry_client *c, const struct registry_opts *o)
{
        c->mirror_hosts = xnew0(char *, o->n_mirrors + 1);
        c->mirror_endpoints = xnew0(char *, o->n_mirrors + 1);
        for (size_t i = 0; i < o->n_mirrors; i++) {
                char *e = xstrdup(o->mirrors[i].endpoint);
                size_t len = strlen(e);

                while (len > 0 && e[len - 1] == '/')
                        e[--len] = '\0';
                c->mirror_hosts[i] = xstrdup(o->mirrors[i].host);
                c->mirror_endpoints[i] = e;
        }
        c->n_mirrors = o->n_mirrors;
}

int registry_client_new(const struct registry_opts *o, struct registry_client **ret,
                        struct errmsg *err)
{
        static const struct registry_opts defaults = {0};
        struct registry_credentials *creds = NULL;
        struct registry_client *c;
        int r;

        o = o ? o : &defaults;
        for (size_t i = 0; i < o->n_mirrors; i++) {
                r = check_mirror(&o->mirrors[i], err);
                if (r < 0)
                        return r;
        }
        r = registry_credentials_load(o->docker_config, &creds, err);
        if (r < 0)
                return r;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                registry_credentials_free(creds);
                return errmsg_set(err, -ENOMEM, "initialise libcurl: failed");
        }
        c = xnew0(struct registry_client, 1);
        c->auth = registry_auth_new(creds);
        c->share = curl_share_init();
        if (!c->share)
                abort();
        (void) curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        (void) curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
        (void) curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        c->user_agent = o->user_agent ? xstrdup(o->user_agent) : xstrdup("berth/" BERTH_VERSION);
        c->insecure_hosts = strv_copy(o->insecure_hosts);
        client_add_mirrors(c, o);
        c->max_parallel = o->max_parallel ? o->max_parallel : DEFAULT_PARALLEL;
        c->max_retries = o->max_retries ? o->max_retries : DEFAULT_RETRIES;
        c->chunk_size = o->push_chunk_size ? o->push_chunk_size : DEFAULT_CHUNK_SIZE;
        *ret = c;
        return 0;
}

struct registry_client *registry_client_free(struct registry_client *c)
{
        if (!c)
                return NULL;
        registry_auth_free(c->auth);
        if (c->share)
                (void) curl_share_cleanup(c->share);
        free(c->user_agent);
        strv_free(c->insecure_hosts);
        strv_free(c->mirror_hosts);
        strv_free(c->mirror_endpoints);
        free(c);
        curl_global_cleanup();
        return NULL;
}

char *const *registry_client_insecure_hosts(const struct registry_client *c)
{
        return c->insecure_hosts;
}

uint64_t registry_client_chunk_size(const struct registry_client *c)
{
        return c->chunk_size;
}

struct registry_auth *registry_client_auth(struct registry_client *c)
{
        return c->auth;
}

/* --- one exchange ------------------------------------------------------------------------- */

struct xfer {
        CURL *easy;
        struct curl_slist *headers;
        const struct registry_request *q;
        struct registry_response resp;
        size_t n_headers;
        uint64_t sent;   /* request body bytes handed to curl */
        int read_error;  /* from the request body's fd */
        int write_error; /* -EFBIG past the cap, -E2BIG too many headers, or deliver's */
        bool body_cut;   /* an error body cut at its cap: not a failure */
        /* 2xx bodies go here instead of resp.body when set (blob downloads) */
        int (*deliver)(void *userdata, const void *buf, size_t len);
        void *deliver_userdata;
        char errbuf[CURL_ERROR_SIZE];
};

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

static bool is_2xx(long status)
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
        struct xfer *x = userdata;
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
        struct xfer *x = userdata;
        size_t len = size * nitems, cap;
        bool ok = is_2xx(x->resp.status);
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
        struct xfer *x = userdata;
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

static void add_header(struct xfer *x, const char *fmt, ...) _printf_(2, 3);
static void add_header(struct xfer *x, const char *fmt, ...)
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

static void xfer_set_method(struct xfer *x)
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

static void xfer_set_headers(struct xfer *x, const char *authorization)
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

static void xfer_init(struct registry_client *c, struct xfer *x, const struct registry_request *q,
                      const char *authorization)
{
        CURL *e;

        *x = (struct xfer){.q = q, .resp.content_length = -1};
        e = x->easy = curl_easy_init();
        if (!e)
                abort();
        (void) curl_easy_setopt(e, CURLOPT_URL, q->url);
        (void) curl_easy_setopt(e, CURLOPT_SHARE, c->share);
        (void) curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
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

static void xfer_release(struct xfer *x)
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

/* The outcome of a finished transfer: 0 when a response came (any status), else -errno. */
static int xfer_finish(struct xfer *x, CURLcode rc, struct errmsg *err)
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
        return errmsg_set(err, r, "%s %s: %s: %s", q->method, q->url, strerror(-r),
                          x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
}

int registry_request_perform(struct registry_client *c, const struct registry_request *q,
                             const char *authorization, struct registry_response *ret,
                             struct errmsg *err)
{
        struct xfer x;
        CURLcode rc;
        int r;

        xfer_init(c, &x, q, authorization);
        rc = curl_easy_perform(x.easy);
        r = xfer_finish(&x, rc, err);
        if (r >= 0) {
                log_debug("%s %s: %ld", q->method, q->url, x.resp.status);
                *ret = x.resp;
                x.resp = (struct registry_response){0};
        }
        xfer_release(&x);
        return r;
}

static bool is_transient(int r)
{
        return r == -ECONNRESET || r == -ETIMEDOUT || r == -EPIPE;
}

static bool is_retryable_status(long status)
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
                if (r < 0 && !(q->idempotent && is_transient(r) && ++tries < REQUEST_TRIES))
                        return r;
                if (r >= 0 && resp.status == 401 && host && rounds++ < AUTH_ROUNDS) {
                        r = registry_auth_challenged(c, q, &resp, used, err);
                        registry_response_release(&resp);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (r >= 0 && !(q->idempotent && is_retryable_status(resp.status) &&
                                ++tries < REQUEST_TRIES)) {
                        *ret = resp;
                        return 0;
                }
                log_debug("%s %s: %s, retrying", q->method, q->url,
                          r < 0 ? strerror(-r) : "server busy");
                registry_response_release(&resp);
                sleep_ms(backoff_ms(tries));
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
        if (is_2xx(status))
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

/* --- manifests ---------------------------------------------------------------------------- */

void registry_manifest_release(struct registry_manifest *m)
{
        if (!m)
                return;
        free(m->media_type);
        free(m->body);
        *m = (struct registry_manifest){0};
}

static bool is_tag(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 128 || !(isalnum((unsigned char) s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

/* A manifest reference: a tag, or a sha256 digest (which the body is checked against). */
static int check_reference(const char *reference, struct errmsg *err)
{
        if (strchr(reference, ':'))
                return digest_validate(reference, err);
        if (!is_tag(reference))
                return errmsg_set(err, -EINVAL, "reference \"%s\": not a tag or a digest",
                                  reference);
        return 0;
}

static bool is_manifest_type(const char *t)
{
        return STREQ(t, MEDIA_TYPE_OCI_MANIFEST) || STREQ(t, MEDIA_TYPE_OCI_INDEX) ||
               STREQ(t, MEDIA_TYPE_DOCKER_MANIFEST) || STREQ(t, MEDIA_TYPE_DOCKER_MANIFEST_LIST);
}

/* Content-Type without parameters (the caller's), or NULL. */
static char *content_type_base(const char *ct)
{
        size_t n;

        if (!ct)
                return NULL;
        n = strcspn(ct, ";");
        while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
                n--;
        return n > 0 ? xstrndup(ct, n) : NULL;
}

static int manifest_media_type(const struct registry_request *q, const struct registry_response *r,
                               char **ret, struct errmsg *err)
{
        _cleanup_free_ char *ct = content_type_base(r->content_type);
        const char *body_type = NULL;
        json_error_t jerr;
        json_t *root;
        int res = 0;

        root = json_loadb(r->body ? r->body : "", r->len, 0, &jerr);
        if (!root)
                return errmsg_set(err, -EBADMSG, "%s %s: manifest is not JSON: %d:%d: %s",
                                  q->method, q->url, jerr.line, jerr.column, jerr.text);
        body_type = json_string_value(json_object_get(root, "mediaType"));
        if (!json_is_object(root))
                res = errmsg_set(err, -EBADMSG, "%s %s: manifest is not a JSON object", q->method,
                                 q->url);
        else if (ct && is_manifest_type(ct) && body_type && !STREQ(ct, body_type))
                res = errmsg_set(err, -EBADMSG,
                                 "%s %s: Content-Type %s but the manifest's mediaType is %s",
                                 q->method, q->url, ct, body_type);
        else if ((ct && is_manifest_type(ct)) || (!body_type && ct))
                *ret = TAKE_PTR(ct);
        else if (body_type)
                *ret = xstrdup(body_type);
        else
                res = errmsg_set(err, -EBADMSG, "%s %s: manifest without a media type", q->method,
                                 q->url);
        json_decref(root);
        return res;
}

static int manifest_check(const struct registry_request *q, struct registry_response *r,
                          const char *reference, struct registry_manifest *ret, struct errmsg *err)
{
        struct registry_manifest m = {0};
        int res;

        digest_bytes(r->body ? r->body : "", r->len, m.digest);
        if (strchr(reference, ':') && !STREQ(reference, m.digest))
                return errmsg_set(err, -EBADMSG, "%s %s: digest mismatch: the body's is %s",
                                  q->method, q->url, m.digest);
        if (r->docker_digest && !STREQ(r->docker_digest, m.digest))
                return errmsg_set(err, -EBADMSG,
                                  "%s %s: digest mismatch: Docker-Content-Digest %s, the body's %s",
                                  q->method, q->url, r->docker_digest, m.digest);
        res = manifest_media_type(q, r, &m.media_type, err);
        if (res < 0)
                return res;
        m.body = r->body ? TAKE_PTR(r->body) : xstrdup("");
        m.len = r->len;
        *ret = m;
        return 0;
}

/* HEAD's answer: the digest only when it is sent with a length and a known media type. */
static void manifest_from_headers(const struct registry_response *r, struct registry_manifest *ret)
{
        *ret = (struct registry_manifest){0};
        ret->media_type = content_type_base(r->content_type);
        ret->len = r->content_length >= 0 ? (size_t) r->content_length : 0;
        if (r->docker_digest && r->content_length >= 0 && ret->media_type &&
            digest_validate(r->docker_digest, NULL) == 0)
                (void) snprintf(ret->digest, sizeof(ret->digest), "%s", r->docker_digest);
}

/* method (GET or HEAD) of the manifest on one endpoint; anything but a 200 is an error. */
static int manifest_from(struct registry_client *c, const struct image_ref *ref,
                         const struct endpoint *ep, const char *method, const char *reference,
                         struct registry_manifest *ret, struct errmsg *err)
{
        _cleanup_free_ char *scope = registry_scope(ref->path, "pull");
        _cleanup_free_ char *url = registry_url(ep->base, ref->path, "manifests", reference,
                                                ep->is_mirror ? ref->domain : NULL);
        struct registry_request q = {
                .method = method,
                .url = url,
                .scope = scope,
                .accept = manifest_accept,
                .body_fd = -EBADF,
                .max_body = MANIFEST_MAX_BYTES,
                .idempotent = true,
        };
        struct registry_response resp = {0};
        int r;

        r = registry_request_do(c, &q, &resp, err);
        if (r < 0)
                return r;
        if (resp.status != 200)
                r = registry_status_error(&q, &resp, err);
        else if (STREQ(method, "GET"))
                r = manifest_check(&q, &resp, reference, ret, err);
        else
                manifest_from_headers(&resp, ret);
        registry_response_release(&resp);
        return r;
}

/* method on every endpoint in turn; the registry's own error is the one reported. */
static int manifest_request(struct registry_client *c, const struct image_ref *ref,
                            const char *method, const char *reference,
                            struct registry_manifest *ret, struct errmsg *err)
{
        struct endpoint *eps = NULL;
        size_t n = client_endpoints(c, ref->domain, &eps);
        int r = -ENOENT;

        for (size_t i = 0; i < n; i++) {
                r = manifest_from(c, ref, &eps[i], method, reference, ret, err);
                if (r >= 0)
                        break;
                if (eps[i].is_mirror)
                        log_debug("mirror %s: %s, trying the next endpoint", eps[i].base,
                                  err ? err->msg : strerror(-r));
        }
        endpoints_free(eps, n);
        return r;
}

int registry_get_manifest(struct registry_client *c, const struct image_ref *ref,
                          const char *reference, struct registry_manifest *ret, struct errmsg *err)
{
        int r;

        assert(c && ref);
        reference = reference ? reference : image_ref_object(ref);
        r = check_reference(reference, err);
        if (r < 0)
                return r;
        return manifest_request(c, ref, "GET", reference, ret, err);
}

int registry_head_manifest(struct registry_client *c, const struct image_ref *ref,
                           const char *reference, struct registry_manifest *ret, struct errmsg *err)
{
        struct registry_manifest m = {0};
        int r;

        assert(c && ref);
        reference = reference ? reference : image_ref_object(ref);
        r = check_reference(reference, err);
        if (r < 0)
                return r;
        r = manifest_request(c, ref, "HEAD", reference, &m, err);
        if (r < 0)
                return r;
        if (!m.digest[0] || (strchr(reference, ':') && !STREQ(m.digest, reference))) {
                registry_manifest_release(&m);
                return registry_get_manifest(c, ref, reference, ret, err);
        }
        if (m.len > MANIFEST_MAX_BYTES) {
                registry_manifest_release(&m);
                return errmsg_set(err, -EFBIG, "manifest %s of %s/%s: larger than %u bytes",
                                  reference, ref->domain, ref->path, MANIFEST_MAX_BYTES);
        }
        *ret = m;
        return 0;
}

/* --- concurrent blob downloads ------------------------------------------------------------ */

enum job_state {
        JOB_PENDING,
        JOB_RUNNING,
        JOB_DONE,
};

struct fetch_ctx;

struct blob_job {
        struct fetch_ctx *ctx;
        struct registry_blob_fetch *f;
        size_t index;
        enum job_state state;
        size_t endpoint;
        unsigned retries, rounds;
        uint64_t not_before_ms;
        uint64_t start; /* f->done when the request went out: the Range asked for */
        uint64_t skip;  /* bytes to drop: the server ignored the Range */
        bool range_checked;
        char *url;
        char *used; /* the Authorization value sent */
        struct registry_request q;
        struct xfer x;
};

struct fetch_ctx {
        struct registry_client *c;
        const struct image_ref *ref;
        struct endpoint *eps;
        size_t n_eps;
        char *scope;
        CURLM *multi;
        struct blob_job *jobs;
        size_t n, n_running, n_done;
        ssize_t first_failed;
        registry_progress_fn progress;
        void *progress_userdata;
};

static void job_release_xfer(struct blob_job *j)
{
        if (j->state == JOB_RUNNING) {
                (void) curl_multi_remove_handle(j->ctx->multi, j->x.easy);
                j->ctx->n_running--;
        }
        xfer_release(&j->x);
        free(j->used);
        j->used = NULL;
}

static void job_succeed(struct blob_job *j)
{
        job_release_xfer(j);
        j->state = JOB_DONE;
        j->f->result = 0;
        j->ctx->n_done++;
}

/* Stops every other job with -ECANCELED once j has failed. */
static void jobs_cancel(struct fetch_ctx *ctx, const struct blob_job *failed)
{
        for (size_t i = 0; i < ctx->n; i++) {
                struct blob_job *j = &ctx->jobs[i];

                if (j->state == JOB_DONE)
                        continue;
                job_release_xfer(j);
                j->state = JOB_DONE;
                j->f->result =
                        errmsg_set(&j->f->err, -ECANCELED, "blob %s: canceled: blob %s failed",
                                   j->f->digest, failed->f->digest);
                ctx->n_done++;
        }
}

/* j failed with r and j->f->err set. */
static void job_fail(struct blob_job *j, int r)
{
        struct fetch_ctx *ctx = j->ctx;

        job_release_xfer(j);
        j->state = JOB_DONE;
        j->f->result = r;
        j->f->err.code = r;
        ctx->n_done++;
        if (ctx->first_failed < 0)
                ctx->first_failed = (ssize_t) j->index;
        jobs_cancel(ctx, j);
}

static void job_requeue(struct blob_job *j, uint64_t delay_ms)
{
        job_release_xfer(j);
        j->state = JOB_PENDING;
        j->not_before_ms = now_ms() + delay_ms;
}

/* The next endpoint, or failure with r when j was on the last one. */
static void job_next_endpoint(struct blob_job *j, int r)
{
        if (j->endpoint + 1 >= j->ctx->n_eps)
                return job_fail(j, r);
        log_debug("blob %s: %s, trying the next endpoint", j->f->digest, j->f->err.msg);
        j->endpoint++;
        j->retries = 0;
        j->rounds = 0;
        job_requeue(j, 0);
}

/* A transfer that broke: resumed from what was delivered while the retries last. */
static void job_broken(struct blob_job *j, int r)
{
        struct errmsg *err = &j->f->err;

        if (j->retries < j->ctx->c->max_retries) {
                j->retries++;
                log_debug("blob %s: %s, retry %u from byte %" PRIu64, j->f->digest, err->msg,
                          j->retries, j->f->done);
                return job_requeue(j, backoff_ms(j->retries - 1));
        }
        (void) errmsg_prefix(err, r, "blob %s: gave up after %u retries", j->f->digest, j->retries);
        job_next_endpoint(j, r);
}

/* At the first bytes: a Range must have been honoured from where it was asked, or ignored. */
static int job_check_range(struct blob_job *j)
{
        const char *cr = j->x.resp.content_range;
        _cleanup_free_ char *want = NULL;

        j->range_checked = true;
        if (j->start == 0)
                return 0;
        if (j->x.resp.status == 200) {
                j->skip = j->start;
                return 0;
        }
        want = xasprintf("bytes %" PRIu64 "-", j->start);
        if (!cr || strncmp(cr, want, strlen(want)) != 0)
                return errmsg_set(&j->f->err, -EPROTO,
                                  "GET %s: Content-Range \"%s\" for Range bytes=%" PRIu64 "-",
                                  j->url, cr ? cr : "", j->start);
        return 0;
}

static int job_deliver(void *userdata, const void *buf, size_t len)
{
        struct blob_job *j = userdata;
        struct registry_blob_fetch *f = j->f;
        size_t n;
        int r;

        if (!j->range_checked) {
                r = job_check_range(j);
                if (r < 0)
                        return r;
        }
        n = (size_t) MIN((uint64_t) len, j->skip);
        j->skip -= n;
        buf = (const char *) buf + n;
        len -= n;
        if (len == 0)
                return 0;
        if (f->size > 0 && len > f->size - f->done)
                return errmsg_set(&f->err, -EFBIG,
                                  "GET %s: more than the %" PRIu64 " bytes expected", j->url,
                                  f->size);
        r = f->sink(f->userdata, buf, len);
        if (r < 0)
                return errmsg_set(&f->err, r, "GET %s: write: %s", j->url, strerror(-r));
        f->done += len;
        if (j->ctx->progress)
                j->ctx->progress(j->ctx->progress_userdata, j->index, f->done, f->size);
        return 0;
}

static void job_start(struct blob_job *j)
{
        struct fetch_ctx *ctx = j->ctx;
        const struct endpoint *ep = &ctx->eps[j->endpoint];
        const char *value = NULL;
        int r;

        free(j->url);
        j->url = registry_url(ep->base, ctx->ref->path, "blobs", j->f->digest,
                              ep->is_mirror ? ctx->ref->domain : NULL);
        j->q = (struct registry_request){
                .method = "GET",
                .url = j->url,
                .scope = ctx->scope,
                .range_from = j->f->done,
                .body_fd = -EBADF,
        };
        r = registry_auth_authorize(ctx->c, ep->host, ctx->scope, &value, &j->f->err);
        if (r < 0)
                return job_next_endpoint(j, r);
        j->used = value ? xstrdup(value) : NULL;
        j->start = j->f->done;
        j->skip = 0;
        j->range_checked = false;
        xfer_init(ctx->c, &j->x, &j->q, j->used);
        j->x.deliver = job_deliver;
        j->x.deliver_userdata = j;
        if (curl_multi_add_handle(ctx->multi, j->x.easy) != CURLM_OK)
                abort();
        j->state = JOB_RUNNING;
        ctx->n_running++;
}

/* A response came with a status other than 2xx. */
static void job_status(struct blob_job *j)
{
        struct registry_response *resp = &j->x.resp;
        struct errmsg *err = &j->f->err;
        int r;

        if (resp->status == 401 && j->rounds++ < AUTH_ROUNDS) {
                r = registry_auth_challenged(j->ctx->c, &j->q, resp, j->used, err);
                if (r < 0)
                        return job_next_endpoint(j, r);
                return job_requeue(j, 0);
        }
        r = registry_status_error(&j->q, resp, err);
        if (is_retryable_status(resp->status) && j->retries < j->ctx->c->max_retries) {
                j->retries++;
                return job_requeue(j, backoff_ms(j->retries - 1));
        }
        job_next_endpoint(j, r);
}

static void job_finished(struct blob_job *j, CURLcode rc)
{
        struct registry_blob_fetch *f = j->f;
        struct errmsg tmp = {0};
        int r;

        if (j->x.write_error < 0 && j->x.write_error != -E2BIG)
                return job_fail(j, j->x.write_error); /* f->err says why */
        r = xfer_finish(&j->x, rc, &tmp);
        if (r < 0) {
                f->err = tmp;
                if (is_transient(r))
                        return job_broken(j, r);
                return job_next_endpoint(j, r);
        }
        if (!is_2xx(j->x.resp.status))
                return job_status(j);
        if (f->size > 0 && f->done < f->size) {
                r = errmsg_set(&f->err, -ECONNRESET,
                               "GET %s: the transfer ended after %" PRIu64 " of %" PRIu64 " bytes",
                               j->url, f->done, f->size);
                return job_broken(j, r);
        }
        job_succeed(j);
}

static void fetch_drain(struct fetch_ctx *ctx)
{
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(ctx->multi, &left))) {
                struct xfer *x = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void) curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
                for (size_t i = 0; i < ctx->n; i++)
                        if (&ctx->jobs[i].x == x && ctx->jobs[i].state == JOB_RUNNING) {
                                job_finished(&ctx->jobs[i], msg->data.result);
                                break;
                        }
        }
}

/* Starts what may start; returns how long to wait at most (ms). */
static long fetch_schedule(struct fetch_ctx *ctx)
{
        uint64_t now = now_ms(), wake = UINT64_MAX;

        for (size_t i = 0; i < ctx->n && ctx->first_failed < 0; i++) {
                struct blob_job *j = &ctx->jobs[i];

                if (j->state != JOB_PENDING)
                        continue;
                if (j->not_before_ms > now)
                        wake = MIN(wake, j->not_before_ms);
                else if (ctx->n_running < ctx->c->max_parallel)
                        job_start(j);
        }
        if (wake == UINT64_MAX)
                return 1000;
        return (long) MIN(wake - now, (uint64_t) 1000);
}

static int fetch_prepare(struct fetch_ctx *ctx, struct registry_blob_fetch *v)
{
        for (size_t i = 0; i < ctx->n; i++) {
                ctx->jobs[i] = (struct blob_job){.ctx = ctx, .f = &v[i], .index = i};
                v[i].result = 0;
                v[i].err = (struct errmsg){0};
                v[i].done = v[i].offset;
        }
        for (size_t i = 0; i < ctx->n; i++) {
                struct blob_job *j = &ctx->jobs[i];
                int r;

                r = digest_validate(v[i].digest ? v[i].digest : "", &v[i].err);
                if (r == -EOPNOTSUPP)
                        r = 0; /* well-formed: the registry may have it; the sink checks */
                if (r >= 0 && v[i].size > 0 && v[i].offset > v[i].size)
                        r = errmsg_set(&v[i].err, -EINVAL,
                                       "blob %s: offset %" PRIu64 " past its size %" PRIu64,
                                       v[i].digest, v[i].offset, v[i].size);
                if (r >= 0 && !v[i].sink)
                        r = errmsg_set(&v[i].err, -EINVAL, "blob %s: no sink", v[i].digest);
                if (r < 0) {
                        job_fail(j, r);
                        return r;
                }
                if (v[i].size > 0 && v[i].offset == v[i].size)
                        job_succeed(j);
        }
        return 0;
}

static void fetch_run(struct fetch_ctx *ctx)
{
        while (ctx->n_done < ctx->n) {
                long timeout = fetch_schedule(ctx);
                int running = 0;

                if (curl_multi_perform(ctx->multi, &running) != CURLM_OK)
                        abort();
                fetch_drain(ctx);
                if (ctx->n_done == ctx->n)
                        break;
                if (curl_multi_poll(ctx->multi, NULL, 0, (int) timeout, NULL) != CURLM_OK)
                        abort();
        }
}

int registry_fetch_blobs(struct registry_client *c, const struct image_ref *ref,
                         struct registry_blob_fetch *v, size_t n, registry_progress_fn progress,
                         void *progress_userdata, struct errmsg *err)
{
        struct fetch_ctx ctx = {
                .c = c,
                .ref = ref,
                .n = n,
                .first_failed = -1,
                .progress = progress,
                .progress_userdata = progress_userdata,
        };
        int r = 0;

        assert(c && ref && (v || n == 0));
        if (n == 0)
                return 0;
        ctx.jobs = xnew0(struct blob_job, n);
        ctx.multi = curl_multi_init();
        if (!ctx.multi)
                abort();
        ctx.scope = registry_scope(ref->path, "pull");
        ctx.n_eps = client_endpoints(c, ref->domain, &ctx.eps);
        if (fetch_prepare(&ctx, v) >= 0)
                fetch_run(&ctx);
        for (size_t i = 0; i < n; i++) {
                job_release_xfer(&ctx.jobs[i]);
                free(ctx.jobs[i].url);
        }
        if (ctx.first_failed >= 0) {
                r = v[ctx.first_failed].result;
                if (err)
                        *err = v[ctx.first_failed].err;
        }
        (void) curl_multi_cleanup(ctx.multi);
        endpoints_free(ctx.eps, ctx.n_eps);
        free(ctx.scope);
        free(ctx.jobs);
        return r;
}
