/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry client's core (see registry.h, registry-internal.h): the client itself (a curl
 * share handle for DNS, connection and TLS session caches, copies of the options, the auth
 * state, the CA file and resolve entries every easy handle gets), hosts, URLs and the
 * endpoints a pull tries, and manifest GET/HEAD with digest and media type checks. A mirror's
 * failure of any kind (no answer, an error status, a manifest that fails the checks) moves on
 * to the next endpoint; the registry's own answer is final. Facts followed:
 * distribution-spec v1.0.1 (endpoints, statuses), containerd 1.6 remotes/docker (the Accept
 * list, ?ns= on mirrors). The HTTP exchange is registry-http.c, blob downloads
 * registry-fetch.c, pushes registry-push.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <strings.h>

#include "config.h"
#include "lib/fs.h"
#include "lib/image-spec.h"
#include "lib/log.h"
#include "lib/registry-internal.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define DEFAULT_PARALLEL   3
#define DEFAULT_RETRIES    5
#define DEFAULT_CHUNK_SIZE (64ull << 20)

static const char manifest_accept[] =
        MEDIA_TYPE_OCI_MANIFEST ", " MEDIA_TYPE_OCI_INDEX ", " MEDIA_TYPE_DOCKER_MANIFEST
                                ", " MEDIA_TYPE_DOCKER_MANIFEST_LIST;

struct registry_client {
        CURLSH *share;
        char *user_agent;
        char **insecure_hosts;
        char *ca_file;              /* NULL: libcurl's defaults, the system's CAs */
        bool skip_verify;           /* registry_opts.skip_verify */
        struct curl_slist *resolve; /* CURLOPT_RESOLVE entries; NULL: none */
        char **mirror_hosts;
        char **mirror_endpoints;
        size_t n_mirrors;
        unsigned max_parallel;
        unsigned max_retries;
        uint64_t chunk_size;
        struct registry_auth *auth;
};

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
size_t registry_client_endpoints(const struct registry_client *c, const char *domain,
                                 struct registry_endpoint **ret)
{
        struct registry_endpoint *v = xnew0(struct registry_endpoint, c->n_mirrors + 1);
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

void registry_endpoints_free(struct registry_endpoint *v, size_t n)
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

/* One address of a resolve entry (n bytes of s): an IPv4 or IPv6 literal, IPv6 maybe in []. */
static bool is_ip_literal(const char *s, size_t n)
{
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        struct in_addr a4;
        bool bracketed = n >= 2 && s[0] == '[' && s[n - 1] == ']';

        if (bracketed) {
                s++;
                n -= 2;
        }
        if (n == 0 || n >= sizeof(buf))
                return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        return (!bracketed && inet_pton(AF_INET, buf, &a4) == 1) ||
               inet_pton(AF_INET6, buf, &a6) == 1;
}

/* "host:port:address[,address...]", as curl's CURLOPT_RESOLVE takes it (which only skips a
 * malformed entry, silently). curl's "-host:port" (removal) and "+host" forms are refused. */
static int check_resolve(const char *entry, struct errmsg *err)
{
        size_t host_len = strcspn(entry, ":"), port_len;
        const char *a;
        char port[8];
        uint64_t p;

        if (entry[host_len] != ':' || !strchr(entry + host_len + 1, ':'))
                return errmsg_set(err, -EINVAL,
                                  "resolve \"%s\": not HOST:PORT:ADDRESS[,ADDRESS...]", entry);
        if (host_len == 0 || !isalnum((unsigned char) entry[0]) ||
            strspn(entry, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
                    host_len)
                return errmsg_set(err, -EINVAL, "resolve \"%s\": bad host name", entry);
        port_len = strcspn(entry + host_len + 1, ":");
        if (port_len == 0 || port_len >= sizeof(port))
                return errmsg_set(err, -EINVAL, "resolve \"%s\": bad port", entry);
        memcpy(port, entry + host_len + 1, port_len);
        port[port_len] = '\0';
        if (parse_uint64(port, &p) < 0 || p == 0 || p > 65535)
                return errmsg_set(err, -EINVAL, "resolve \"%s\": bad port", entry);
        for (a = entry + host_len + 1 + port_len + 1;; a++) {
                size_t n = strcspn(a, ",");

                if (!is_ip_literal(a, n))
                        return errmsg_set(err, -EINVAL,
                                          "resolve \"%s\": \"%.*s\" is not an IP address", entry,
                                          (int) n, a);
                a += n;
                if (*a == '\0')
                        return 0;
        }
}

/* What registry_client_new() checks of o before it builds anything. */
static int check_opts(const struct registry_opts *o, struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        for (size_t i = 0; i < o->n_mirrors; i++) {
                r = check_mirror(&o->mirrors[i], err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; o->resolve && o->resolve[i]; i++) {
                r = check_resolve(o->resolve[i], err);
                if (r < 0)
                        return r;
        }
        /* curl only opens it at the first TLS handshake: a typo is found here instead */
        if (o->ca_file) {
                fd = open(o->ca_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return errmsg_set(err, -errno, "CA file %s: %s", o->ca_file,
                                          strerror(errno));
        }
        return 0;
}

static void client_add_resolve(struct registry_client *c, char *const *resolve)
{
        for (size_t i = 0; resolve && resolve[i]; i++) {
                struct curl_slist *l = curl_slist_append(c->resolve, resolve[i]);

                if (!l)
                        abort();
                c->resolve = l;
        }
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
        r = check_opts(o, err);
        if (r < 0)
                return r;
        if (o->user)
                creds = registry_credentials_new_any(o->user, o->password ? o->password : "");
        else
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
        c->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
        c->skip_verify = o->skip_verify;
        client_add_resolve(c, o->resolve);
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
        free(c->ca_file);
        curl_slist_free_all(c->resolve);
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

unsigned registry_client_max_parallel(const struct registry_client *c)
{
        return c->max_parallel;
}

unsigned registry_client_max_retries(const struct registry_client *c)
{
        return c->max_retries;
}

void registry_client_setup_easy(struct registry_client *c, CURL *e)
{
        (void) curl_easy_setopt(e, CURLOPT_SHARE, c->share);
        (void) curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
        if (c->ca_file) {
                /* CAINFO replaces the default bundle only; Debian's libcurl also has the default
                 * CAPATH /etc/ssl/certs, which holds the same system CAs: cleared, so that
                 * ca_file is all that is trusted */
                (void) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
                (void) curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        }
        if (c->skip_verify) {
                (void) curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
                (void) curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        /* curl reads the list at each transfer's start (into the shared DNS cache): it stays
         * c's, which outlives every handle */
        if (c->resolve)
                (void) curl_easy_setopt(e, CURLOPT_RESOLVE, c->resolve);
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
                         const struct registry_endpoint *ep, const char *method,
                         const char *reference, struct registry_manifest *ret, struct errmsg *err)
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
        struct registry_endpoint *eps = NULL;
        size_t n = registry_client_endpoints(c, ref->domain, &eps);
        int r = -ENOENT;

        for (size_t i = 0; i < n; i++) {
                r = manifest_from(c, ref, &eps[i], method, reference, ret, err);
                if (r >= 0)
                        break;
                if (eps[i].is_mirror)
                        log_debug("mirror %s: %s, trying the next endpoint", eps[i].base,
                                  err ? err->msg : strerror(-r));
        }
        registry_endpoints_free(eps, n);
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
