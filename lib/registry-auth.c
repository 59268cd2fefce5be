/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry authentication (see registry.h): WWW-Authenticate challenges (RFC 7235 section
 * 4.1), credentials from a Docker config.json, and the per-host state docker keeps: a host is
 * anonymous until it answers 401; then Basic sends the configured credentials, and Bearer
 * fetches a token from the challenge's realm (GET realm?service=S&scope=..., Basic auth
 * with the host's credentials when there are any: distribution's docs/spec/auth/token.md),
 * cached per scope until expires_in (60 s when absent) runs out.
 */
#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/registry-internal.h"
#include "lib/xalloc.h"

#define CHALLENGE_MAX      8192
#define TOKENS_PER_HOST    32
#define TOKEN_DEFAULT_LIFE 60
#define TOKEN_MARGIN       5
#define DOCKER_IO_KEY      "https://index.docker.io/v1/"
#define ANY_HOST_KEY       "*" /* registry_credentials_new_any(): every host */

/* --- challenges --------------------------------------------------------------------------- */

static bool is_tchar(char c)
{
        return isalnum((unsigned char) c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ows(const char *p)
{
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static int syntax_error(const char *header, const char *p, const char *why, struct errmsg *err)
{
        return errmsg_set(err, -EINVAL, "WWW-Authenticate: %s at offset %zu", why,
                          (size_t) (p - header));
}

/* A quoted-string at *pp (on its opening quote), unescaped into a new string. */
static int parse_quoted(const char *header, const char **pp, char **ret, struct errmsg *err)
{
        const char *p = *pp + 1;
        _cleanup_free_ char *s = xmalloc(strlen(p) + 1);
        size_t n = 0;

        for (;; p++) {
                unsigned char c = (unsigned char) *p;

                if (c == '\0')
                        return syntax_error(header, *pp, "unterminated quoted string", err);
                if (c == '"')
                        break;
                if (c == '\\') {
                        c = (unsigned char) *++p;
                        if (c == '\0')
                                return syntax_error(header, *pp, "unterminated quoted string", err);
                }
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return syntax_error(header, p, "control character in quoted string", err);
                s[n++] = (char) c;
        }
        s[n] = '\0';
        *pp = p + 1;
        *ret = TAKE_PTR(s);
        return 0;
}

static char **challenge_slot(struct auth_challenge *c, const char *name, size_t len)
{
        static const char *const names[] = {"realm", "service", "scope", "error"};
        char **slots[] = {&c->realm, &c->service, &c->scope, &c->error};

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
                        return slots[i];
        return NULL;
}

/* One auth-param at p (on its name): name BWS "=" BWS (token / quoted-string). */
static int parse_param(const char *header, const char **pp, struct auth_challenge *c,
                       struct errmsg *err)
{
        const char *p = *pp, *name = p, *v;
        _cleanup_free_ char *value = NULL;
        size_t name_len;
        char **slot;
        int r;

        while (is_tchar(*p))
                p++;
        name_len = (size_t) (p - name);
        p = skip_ows(p);
        if (name_len == 0 || *p != '=')
                return syntax_error(header, p, "expected name=value", err);
        p = skip_ows(p + 1);
        if (*p == '"') {
                r = parse_quoted(header, &p, &value, err);
                if (r < 0)
                        return r;
        } else {
                for (v = p; is_tchar(*p);)
                        p++;
                if (p == v)
                        return syntax_error(header, p, "expected a value", err);
                value = xstrndup(v, (size_t) (p - v));
        }
        slot = challenge_slot(c, name, name_len);
        if (slot && *slot)
                return syntax_error(header, name, "duplicate parameter", err);
        if (slot)
                *slot = TAKE_PTR(value);
        *pp = p;
        return 0;
}

/* Whether p starts another challenge: a token not followed by "=". */
static bool starts_challenge(const char *p)
{
        while (is_tchar(*p))
                p++;
        return *skip_ows(p) != '=';
}

static int parse_params(const char *header, const char *p, struct auth_challenge *c,
                        struct errmsg *err)
{
        int r;

        for (bool first = true;; first = false) {
                p = skip_ows(p);
                if (!first) {
                        if (*p == '\0')
                                return 0;
                        if (*p != ',')
                                return syntax_error(header, p, "expected ','", err);
                        while (*p == ',' || *p == ' ' || *p == '\t')
                                p++;
                }
                if (*p == '\0')
                        return 0;
                if (!first && starts_challenge(p))
                        return 0;
                r = parse_param(header, &p, c, err);
                if (r < 0)
                        return r;
        }
}

int auth_challenge_parse(const char *header, struct auth_challenge *ret, struct errmsg *err)
{
        struct auth_challenge c = {0};
        const char *p, *scheme;
        int r;

        if (!header)
                return errmsg_set(err, -EINVAL, "WWW-Authenticate: missing");
        if (strlen(header) > CHALLENGE_MAX)
                return errmsg_set(err, -E2BIG, "WWW-Authenticate: longer than %u bytes",
                                  CHALLENGE_MAX);
        p = header;
        while (*p == ',' || *p == ' ' || *p == '\t')
                p++;
        for (scheme = p; is_tchar(*p);)
                p++;
        if (p == scheme)
                return syntax_error(header, p, "expected an auth scheme", err);
        if (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
                return syntax_error(header, p, "unexpected character after the scheme", err);
        c.scheme = xstrndup(scheme, (size_t) (p - scheme));
        for (char *s = c.scheme; *s; s++)
                *s = (char) tolower((unsigned char) *s);
        if (*skip_ows(p) == ',')
                r = 0; /* a scheme without params, then another challenge */
        else
                r = parse_params(header, p, &c, err);
        if (r < 0) {
                auth_challenge_release(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void auth_challenge_release(struct auth_challenge *c)
{
        if (!c)
                return;
        free(c->scheme);
        free(c->realm);
        free(c->service);
        free(c->scope);
        free(c->error);
        *c = (struct auth_challenge){0};
}

/* --- Docker config.json credentials ------------------------------------------------------- */

struct cred_entry {
        char *key;
        char *host; /* the key without scheme and path */
        char *user;
        char *password;
};

struct registry_credentials {
        char *path;
        struct cred_entry *v;
        size_t n, alloc;
};

struct registry_credentials *registry_credentials_free(struct registry_credentials *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n; i++) {
                free(c->v[i].key);
                free(c->v[i].host);
                free(c->v[i].user);
                if (c->v[i].password)
                        explicit_bzero(c->v[i].password, strlen(c->v[i].password));
                free(c->v[i].password);
        }
        free(c->v);
        free(c->path);
        free(c);
        return NULL;
}

struct registry_credentials *registry_credentials_new_any(const char *user, const char *password)
{
        struct registry_credentials *c = xnew0(struct registry_credentials, 1);

        c->v = xgrow(c->v, &c->alloc, 1, sizeof(*c->v));
        c->v[c->n++] = (struct cred_entry){.key = xstrdup(ANY_HOST_KEY),
                                           .host = xstrdup(ANY_HOST_KEY),
                                           .user = xstrdup(user),
                                           .password = xstrdup(password)};
        return c;
}

const char *registry_credentials_path(const struct registry_credentials *c)
{
        return c ? c->path : NULL;
}

/* "https://host:port/v1/" -> "host:port" */
static char *key_host(const char *key)
{
        const char *p = key;

        if (strncasecmp(p, "https://", 8) == 0)
                p += 8;
        else if (strncasecmp(p, "http://", 7) == 0)
                p += 7;
        return xstrndup(p, strcspn(p, "/"));
}

/* Standard base64 (no whitespace) of "user:password". */
static int decode_auth(const char *b64, char **ret_user, char **ret_password)
{
        size_t len = strlen(b64), pad = 0;
        _cleanup_free_ unsigned char *out = NULL;
        char *colon;
        int n;

        if (len == 0 || len % 4 != 0 || len > INT_MAX)
                return -EINVAL;
        while (pad < 2 && b64[len - 1 - pad] == '=')
                pad++;
        out = xmalloc(len / 4 * 3 + 1);
        n = EVP_DecodeBlock(out, (const unsigned char *) b64, (int) len);
        if (n < 0 || (size_t) n < pad)
                return -EINVAL;
        n -= (int) pad;
        out[n] = '\0';
        if (memchr(out, '\0', (size_t) n))
                return -EINVAL;
        colon = strchr((char *) out, ':');
        if (!colon)
                return -EINVAL;
        *colon = '\0';
        *ret_user = xstrdup((char *) out);
        *ret_password = xstrdup(colon + 1);
        explicit_bzero(out, (size_t) n);
        return 0;
}

static int parse_auth_entry(struct registry_credentials *c, const char *key, json_t *entry,
                            struct errmsg *err)
{
        const char *auth, *user, *password;
        char *u = NULL, *pw = NULL;

        if (!json_is_object(entry))
                return errmsg_set(err, -EINVAL, "auths.\"%s\": not an object", key);
        auth = json_string_value(json_object_get(entry, "auth"));
        user = json_string_value(json_object_get(entry, "username"));
        password = json_string_value(json_object_get(entry, "password"));
        if (auth && *auth) {
                if (decode_auth(auth, &u, &pw) < 0)
                        return errmsg_set(err, -EINVAL,
                                          "auths.\"%s\".auth: not base64 of \"user:password\"",
                                          key);
        } else if (user && password) {
                u = xstrdup(user);
                pw = xstrdup(password);
        } else {
                log_debug("docker config: auths.\"%s\" has no auth or password, ignoring", key);
                return 0;
        }
        c->v = xgrow(c->v, &c->alloc, c->n + 1, sizeof(*c->v));
        c->v[c->n++] = (struct cred_entry){
                .key = xstrdup(key), .host = key_host(key), .user = u, .password = pw};
        return 0;
}

int registry_credentials_parse(const char *text, size_t len, struct registry_credentials **ret,
                               struct errmsg *err)
{
        _cleanup_(registry_credentials_freep) struct registry_credentials *c = NULL;
        json_t *root, *auths, *entry;
        json_error_t jerr;
        const char *key;
        int r = 0;

        root = json_loadb(text, len, 0, &jerr);
        if (!root)
                return errmsg_set(err, -EINVAL, "%d:%d: %s", jerr.line, jerr.column, jerr.text);
        c = xnew0(struct registry_credentials, 1);
        auths = json_object_get(root, "auths");
        if (!json_is_object(root))
                r = errmsg_set(err, -EINVAL, "not a JSON object");
        else if (auths && !json_is_object(auths))
                r = errmsg_set(err, -EINVAL, "auths: not an object");
        else
                json_object_foreach (auths, key, entry) {
                        r = parse_auth_entry(c, key, entry, err);
                        if (r < 0)
                                break;
                }
        json_decref(root);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

static char *default_config_path(void)
{
        const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");

        if (dir && *dir)
                return xasprintf("%s/config.json", dir);
        if (home && *home)
                return xasprintf("%s/.docker/config.json", home);
        return NULL;
}

int registry_credentials_load(const char *path, struct registry_credentials **ret,
                              struct errmsg *err)
{
        _cleanup_free_ char *p = path ? xstrdup(path) : default_config_path();
        _cleanup_(registry_credentials_freep) struct registry_credentials *c = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = p ? read_file_at(AT_FDCWD, p, REGISTRY_DOCKER_CONFIG_MAX, &text, &len) : -ENOENT;
        if (r == -ENOENT) {
                c = xnew0(struct registry_credentials, 1);
        } else if (r == -EFBIG) {
                return errmsg_set(err, r, "%s: larger than %u bytes", p,
                                  REGISTRY_DOCKER_CONFIG_MAX);
        } else if (r < 0) {
                return errmsg_set(err, r, "read %s: %s", p, strerror(-r));
        } else {
                r = registry_credentials_parse(text, len, &c, err);
                explicit_bzero(text, len);
                if (r < 0)
                        return errmsg_prefix(err, r, "%s", p);
        }
        c->path = TAKE_PTR(p);
        *ret = TAKE_PTR(c);
        return 0;
}

static bool is_docker_io(const char *host)
{
        return strcasecmp(host, "docker.io") == 0 || strcasecmp(host, "index.docker.io") == 0 ||
               strcasecmp(host, "registry-1.docker.io") == 0;
}

static const struct cred_entry *find_entry(const struct registry_credentials *c, const char *host)
{
        bool docker = is_docker_io(host);
        const char *exact = docker ? DOCKER_IO_KEY : host;

        for (size_t i = 0; i < c->n; i++)
                if (STREQ(c->v[i].key, exact) || STREQ(c->v[i].key, ANY_HOST_KEY))
                        return &c->v[i];
        for (size_t i = 0; i < c->n; i++) {
                const char *h = c->v[i].host;

                if (docker ? is_docker_io(h) : strcasecmp(h, host) == 0)
                        return &c->v[i];
        }
        return NULL;
}

int registry_credentials_lookup(const struct registry_credentials *c, const char *host,
                                const char **ret_user, const char **ret_password)
{
        const struct cred_entry *e;

        if (!c || !host)
                return 0;
        e = find_entry(c, host);
        if (!e)
                return 0;
        *ret_user = e->user;
        *ret_password = e->password;
        return 1;
}

/* --- per-host state and tokens ------------------------------------------------------------ */

enum auth_scheme {
        AUTH_NONE,
        AUTH_BASIC,
        AUTH_BEARER,
};

struct auth_token {
        char *scope;
        char *value; /* "Bearer ..." */
        uint64_t expires_ms;
};

struct auth_host {
        char *host;
        enum auth_scheme scheme;
        char *realm;
        char *service;
        char *basic; /* "Basic base64(user:password)", NULL without credentials */
        bool has_creds;
        struct auth_token tokens[TOKENS_PER_HOST];
        size_t n_tokens;
};

struct registry_auth {
        struct registry_credentials *creds;
        struct auth_host **hosts;
        size_t n_hosts, alloc;
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void token_release(struct auth_token *t)
{
        free(t->scope);
        free(t->value);
        *t = (struct auth_token){0};
}

static void host_drop_token(struct auth_host *h, size_t i)
{
        token_release(&h->tokens[i]);
        memmove(&h->tokens[i], &h->tokens[i + 1], (h->n_tokens - i - 1) * sizeof(h->tokens[0]));
        h->n_tokens--;
        h->tokens[h->n_tokens] = (struct auth_token){0};
}

static void host_free(struct auth_host *h)
{
        if (!h)
                return;
        while (h->n_tokens > 0)
                host_drop_token(h, 0);
        free(h->host);
        free(h->realm);
        free(h->service);
        if (h->basic)
                explicit_bzero(h->basic, strlen(h->basic));
        free(h->basic);
        free(h);
}

struct registry_auth *registry_auth_new(struct registry_credentials *creds)
{
        struct registry_auth *a = xnew0(struct registry_auth, 1);

        a->creds = creds;
        return a;
}

struct registry_auth *registry_auth_free(struct registry_auth *a)
{
        if (!a)
                return NULL;
        for (size_t i = 0; i < a->n_hosts; i++)
                host_free(a->hosts[i]);
        free(a->hosts);
        registry_credentials_free(a->creds);
        free(a);
        return NULL;
}

static char *basic_value(const char *user, const char *password)
{
        _cleanup_free_ char *plain = xasprintf("%s:%s", user, password);
        size_t len = strlen(plain);
        _cleanup_free_ char *b64 = xmalloc((len + 2) / 3 * 4 + 1);
        char *v;

        (void) EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) plain, (int) len);
        v = xasprintf("Basic %s", b64);
        explicit_bzero(plain, len);
        explicit_bzero(b64, strlen(b64));
        return v;
}

static struct auth_host *host_get(struct registry_auth *a, const char *host)
{
        const char *user, *password;
        struct auth_host *h;

        for (size_t i = 0; i < a->n_hosts; i++)
                if (strcasecmp(a->hosts[i]->host, host) == 0)
                        return a->hosts[i];
        h = xnew0(struct auth_host, 1);
        h->host = xstrdup(host);
        if (registry_credentials_lookup(a->creds, host, &user, &password) > 0) {
                h->basic = basic_value(user, password);
                h->has_creds = true;
        }
        a->hosts = xgrow(a->hosts, &a->alloc, a->n_hosts + 1, sizeof(*a->hosts));
        a->hosts[a->n_hosts++] = h;
        return h;
}

static struct auth_token *host_find_token(struct auth_host *h, const char *scope)
{
        for (size_t i = 0; i < h->n_tokens; i++)
                if (STREQ(h->tokens[i].scope, scope))
                        return &h->tokens[i];
        return NULL;
}

static void host_store_token(struct auth_host *h, const char *scope, char *value,
                             uint64_t expires_ms)
{
        struct auth_token *t = host_find_token(h, scope);

        if (t) {
                free(t->value);
        } else {
                if (h->n_tokens == TOKENS_PER_HOST)
                        host_drop_token(h, 0);
                t = &h->tokens[h->n_tokens++];
                t->scope = xstrdup(scope);
        }
        t->value = value;
        t->expires_ms = expires_ms;
}

/* realm?service=S&scope=A&scope=B (each value escaped). */
static char *token_url(const char *realm, const char *service, const char *scope)
{
        _cleanup_free_ char *url = xstrdup(realm);
        _cleanup_free_ char *scopes = xstrdup(scope);
        char *save = NULL;

        if (service) {
                char *v = registry_location_url(NULL, url, "service", service);

                free(url);
                url = v;
        }
        for (char *s = strtok_r(scopes, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
                char *v = registry_location_url(NULL, url, "scope", s);

                free(url);
                url = v;
        }
        return TAKE_PTR(url);
}

static bool is_header_safe(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

/* Parses a token response: {"token"|"access_token": "...", "expires_in": N}. */
static int parse_token(const struct registry_request *q, const struct registry_response *resp,
                       char **ret_value, uint64_t *ret_life_s, struct errmsg *err)
{
        json_t *root, *exp;
        json_error_t jerr;
        const char *tok;
        json_int_t life = TOKEN_DEFAULT_LIFE;
        int r = 0;

        root = json_loadb(resp->body ? resp->body : "", resp->len, 0, &jerr);
        if (!root)
                return errmsg_set(err, -EBADMSG, "%s %s: token response: %d:%d: %s", q->method,
                                  q->url, jerr.line, jerr.column, jerr.text);
        tok = json_string_value(json_object_get(root, "access_token"));
        if (!tok || !*tok)
                tok = json_string_value(json_object_get(root, "token"));
        exp = json_object_get(root, "expires_in");
        if (json_is_integer(exp) && json_integer_value(exp) > 0)
                life = json_integer_value(exp);
        if (!tok || !*tok)
                r = errmsg_set(err, -EBADMSG, "%s %s: token response without a token", q->method,
                               q->url);
        else if (!is_header_safe(tok))
                r = errmsg_set(err, -EBADMSG, "%s %s: token with control characters", q->method,
                               q->url);
        else {
                *ret_value = xasprintf("Bearer %s", tok);
                *ret_life_s = (uint64_t) MIN(life, (json_int_t) 86400 * 365);
        }
        json_decref(root);
        return r;
}

static int fetch_token(struct registry_client *c, struct auth_host *h, const char *scope,
                       const char **ret_value, struct errmsg *err)
{
        _cleanup_free_ char *url = token_url(h->realm, h->service, scope);
        struct registry_request q = {
                .method = "GET",
                .url = url,
                .authorization = h->basic,
                .accept = "application/json",
                .body_fd = -EBADF,
                .max_body = REGISTRY_SMALL_BODY_MAX,
                .idempotent = true,
        };
        struct registry_response resp = {0};
        char *value = NULL;
        uint64_t life = 0, margin;
        int r;

        log_debug("fetching a token for %s scope \"%s\" from %s%s", h->host, scope, h->realm,
                  h->has_creds ? " with credentials" : "");
        r = registry_request_do(c, &q, &resp, err);
        if (r >= 0 && resp.status != 200)
                r = registry_status_error(&q, &resp, err);
        if (r >= 0)
                r = parse_token(&q, &resp, &value, &life, err);
        registry_response_release(&resp);
        if (r < 0)
                return errmsg_prefix(err, r, "token for %s", h->host);
        margin = life > 2 * TOKEN_MARGIN ? TOKEN_MARGIN : 0;
        host_store_token(h, scope, value, now_ms() + (life - margin) * 1000);
        *ret_value = host_find_token(h, scope)->value;
        return 0;
}

int registry_auth_authorize(struct registry_client *c, const char *host, const char *scope,
                            const char **ret_value, struct errmsg *err)
{
        struct auth_host *h = host_get(registry_client_auth(c), host);
        struct auth_token *t;
        const char *key = scope ? scope : "";

        switch (h->scheme) {
        case AUTH_NONE:
                *ret_value = NULL;
                return 0;
        case AUTH_BASIC:
                *ret_value = h->basic;
                return 0;
        case AUTH_BEARER:
                t = host_find_token(h, key);
                if (t && t->expires_ms > now_ms()) {
                        *ret_value = t->value;
                        return 0;
                }
                return fetch_token(c, h, key, ret_value, err);
        }
        abort();
}

/* The first challenge of the response that we can answer: Bearer first, then Basic. */
static int pick_challenge(const struct registry_response *resp, struct auth_challenge *ret)
{
        struct auth_challenge best = {0};

        for (size_t i = 0; i < resp->n_challenges; i++) {
                struct auth_challenge ch;

                if (auth_challenge_parse(resp->challenges[i], &ch, NULL) < 0)
                        continue;
                if (STREQ(ch.scheme, "bearer") && (!best.scheme || STREQ(best.scheme, "basic"))) {
                        auth_challenge_release(&best);
                        best = ch;
                } else if (STREQ(ch.scheme, "basic") && !best.scheme) {
                        best = ch;
                } else {
                        auth_challenge_release(&ch);
                }
        }
        if (!best.scheme)
                return -EACCES;
        *ret = best;
        return 0;
}

/* The 401's status error plus why it is final: " (why)". Returns -EACCES. */
static int deny(const struct registry_request *q, const struct registry_response *resp,
                struct errmsg *err, const char *fmt, ...) _printf_(4, 5);
static int deny(const struct registry_request *q, const struct registry_response *resp,
                struct errmsg *err, const char *fmt, ...)
{
        size_t n;
        va_list ap;

        (void) registry_status_error(q, resp, err);
        if (!err)
                return -EACCES;
        n = strlen(err->msg);
        va_start(ap, fmt);
        if (n < sizeof(err->msg) - 1)
                (void) vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
        va_end(ap);
        err->code = -EACCES;
        return -EACCES;
}

static void set_bearer(struct auth_host *h, const struct auth_challenge *ch)
{
        if (h->scheme == AUTH_BEARER && STREQ_PTR(h->realm, ch->realm) &&
            ((!h->service && !ch->service) || STREQ_PTR(h->service, ch->service)))
                return;
        while (h->n_tokens > 0)
                host_drop_token(h, 0);
        free(h->realm);
        free(h->service);
        h->realm = xstrdup(ch->realm);
        h->service = ch->service ? xstrdup(ch->service) : NULL;
        h->scheme = AUTH_BEARER;
}

int registry_auth_challenged(struct registry_client *c, const struct registry_request *q,
                             const struct registry_response *resp, const char *used,
                             struct errmsg *err)
{
        struct registry_auth *a = registry_client_auth(c);
        _cleanup_free_ char *host = registry_url_authority(q->url);
        const char *path = registry_credentials_path(a->creds);
        struct auth_challenge ch = {0};
        struct auth_host *h;
        struct auth_token *t;
        int r = 0;

        if (!host || pick_challenge(resp, &ch) < 0)
                return deny(q, resp, err, " (no Bearer or Basic challenge to answer)");
        if (!path)
                path = "the Docker config";
        h = host_get(a, host);
        if (STREQ(ch.scheme, "bearer") && !ch.realm) {
                r = deny(q, resp, err, " (a Bearer challenge without realm)");
        } else if (STREQ(ch.scheme, "bearer")) {
                set_bearer(h, &ch);
                t = host_find_token(h, q->scope ? q->scope : "");
                if (t && STREQ_PTR(t->value, used)) {
                        host_drop_token(h, (size_t) (t - h->tokens));
                        /* a new token would carry the same grant: give up now */
                        if (STREQ_PTR(ch.error, "insufficient_scope"))
                                r = deny(q, resp, err, " (token for \"%s\": insufficient_scope)",
                                         q->scope ? q->scope : "");
                }
        } else {
                h->scheme = AUTH_BASIC;
                if (!h->basic)
                        r = deny(q, resp, err, " (no credentials for %s in %s)", host, path);
                else if (STREQ_PTR(used, h->basic))
                        r = deny(q, resp, err, " (credentials for %s from %s rejected)", host,
                                 path);
        }
        auth_challenge_release(&ch);
        return r;
}
