/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry client's private interface (registry.h is the public one): what its files
 * share and the unit tests reach. registry-client.c owns the client, hosts, URLs and
 * endpoints and does manifests; registry-http.c does one HTTP exchange, with authentication
 * and retries around it, and turns statuses into errors; registry-fetch.c downloads blobs
 * concurrently; registry-auth.c keeps the per-host auth state; registry-push.c pushes. Not a
 * contract for any other file: callers outside lib/registry-*.c and their tests use
 * registry.h.
 */
#pragma once

#include <curl/curl.h>

#include "lib/registry.h"

/* --- hosts and URLs (registry-client.c) ---------------------------------------------------- */

/* docker.io's API host for domain, else domain itself (borrowed). */
const char *registry_api_host(const char *domain);
/* Whether host ("host[:port]") is reached over plain http. */
bool registry_host_is_insecure(const char *host, char *const *insecure_hosts);
/* "http[s]://<api host>" for domain (the caller's). */
char *registry_base_url(const char *domain, char *const *insecure_hosts);
/*
 * base + "/v2/" + name + "/" + kind + "/" + object (the caller's); object may be NULL
 * ("blobs/uploads/" is kind "blobs", object "uploads/"); with ns, "?ns=" + ns (mirrors).
 */
char *registry_url(const char *base, const char *name, const char *kind, const char *object,
                   const char *ns);
/*
 * An upload Location (absolute, or a path resolved against base) with "key=value" appended
 * to its query (value escaped); NULL key: the location resolved only. The caller's.
 */
char *registry_location_url(const char *base, const char *location, const char *key,
                            const char *value);
/* The authority ("host:port") of an http(s) URL (the caller's); NULL when it has none. */
char *registry_url_authority(const char *url);
/* "repository:<name>:<actions>" (the caller's). */
char *registry_scope(const char *name, const char *actions);

/* Where a pull goes: a mirror's endpoint or the registry's own. */
struct registry_endpoint {
        char *base; /* "https://registry-1.docker.io", no trailing '/' */
        char *host; /* its authority, the key of the auth state */
        bool is_mirror;
};
/*
 * The mirrors configured for domain, in order, then the registry itself. *ret is the
 * caller's (registry_endpoints_free()); returns how many there are (at least 1).
 */
size_t registry_client_endpoints(const struct registry_client *c, const char *domain,
                                 struct registry_endpoint **ret);
void registry_endpoints_free(struct registry_endpoint *v, size_t n);

/* --- the client's pieces, for the other files (registry-client.c) -------------------------- */

char *const *registry_client_insecure_hosts(const struct registry_client *c);
uint64_t registry_client_chunk_size(const struct registry_client *c);
/* opts.max_parallel and opts.max_retries, defaults applied. */
unsigned registry_client_max_parallel(const struct registry_client *c);
unsigned registry_client_max_retries(const struct registry_client *c);
struct registry_auth *registry_client_auth(struct registry_client *c);
/*
 * Points e at c's share handle (DNS, connection and TLS session caches), User-Agent, CA file
 * and resolve entries (borrowed from c: e must not outlive it). Every easy handle gets this.
 */
void registry_client_setup_easy(struct registry_client *c, CURL *e);

/* --- one HTTP exchange (registry-http.c) --------------------------------------------------- */

/* Rounds of authentication (a 401 answered, then the request repeated) per request. */
#define REGISTRY_AUTH_ROUNDS 3

struct registry_request {
        const char *method; /* GET HEAD POST PUT PATCH */
        const char *url;
        const char *scope; /* the token scope(s) needed, space-separated; NULL: none */
        /* a fixed Authorization value (token requests): the auth state is not consulted and
         * a 401 is returned as it is */
        const char *authorization;
        const char *accept;
        const char *content_type;
        const char *content_range; /* PATCH chunks: "start-end" */
        uint64_t range_from;       /* GET: "Range: bytes=N-" when > 0 */
        const void *body;          /* request body in memory, body_size bytes */
        int body_fd;               /* else from this fd at body_offset (pread), or -EBADF */
        uint64_t body_offset;
        uint64_t body_size;
        size_t max_body; /* cap of a 2xx response body kept in memory */
        bool idempotent; /* 429/5xx and broken connections are retried */
};

#define REGISTRY_MAX_CHALLENGES 4

struct registry_response {
        long status;
        char *content_type;
        char *docker_digest;
        char *location;
        char *range;
        char *content_range;
        int64_t content_length; /* -1: none */
        char *challenges[REGISTRY_MAX_CHALLENGES];
        size_t n_challenges;
        char *body; /* NUL-terminated; error bodies are cut at REGISTRY_SMALL_BODY_MAX */
        size_t len;
};
void registry_response_release(struct registry_response *r);

/*
 * One exchange with authorization (a header value or NULL), no retries. Any HTTP status is
 * a success (ret->status tells); transport failures are -errno.
 */
int registry_request_perform(struct registry_client *c, const struct registry_request *q,
                             const char *authorization, struct registry_response *ret,
                             struct errmsg *err);
/*
 * The same with authentication (401: the challenge is answered, then the request repeated)
 * and, for idempotent requests, retries with backoff on 429/5xx and broken connections.
 */
int registry_request_do(struct registry_client *c, const struct registry_request *q,
                        struct registry_response *ret, struct errmsg *err);
/* The error for r's status: "METHOD URL: 404 Not Found: CODE: message". Returns -errno. */
int registry_status_error(const struct registry_request *q, const struct registry_response *r,
                          struct errmsg *err);
/* Maps an HTTP status to -errno (0 for 2xx). */
int registry_status_to_errno(long status);
bool registry_status_is_2xx(long status);
/* 429 and 5xx: worth retrying after a backoff. */
bool registry_status_is_retryable(long status);
/* A transfer that broke (-ECONNRESET, -ETIMEDOUT, -EPIPE): worth repeating or resuming. */
bool registry_errno_is_transient(int r);
/* The delay before retry number attempt (from 0): 100 ms, doubling, at most 2 s. */
uint64_t registry_backoff_ms(unsigned attempt);

/*
 * A transfer in flight on a curl easy handle whose CURLOPT_PRIVATE is the xfer:
 * registry_request_perform() runs one with curl_easy_perform(), registry_fetch_blobs() many
 * on a curl multi handle.
 */
struct registry_xfer {
        CURL *easy;
        struct curl_slist *headers;
        const struct registry_request *q; /* borrowed: outlives the xfer */
        struct registry_response resp;
        size_t n_headers;
        uint64_t sent;   /* request body bytes handed to curl */
        int read_error;  /* from the request body's fd */
        int write_error; /* -EFBIG past the cap, -E2BIG too many headers, or deliver's */
        bool body_cut;   /* an error body cut at its cap: not a failure */
        /* 2xx bodies go here instead of resp.body when set (blob downloads); a negative
         * return aborts the transfer with that write_error */
        int (*deliver)(void *userdata, const void *buf, size_t len);
        void *deliver_userdata;
        char errbuf[CURL_ERROR_SIZE];
};
/* Sets x up for q sent with authorization (may be NULL). */
void registry_xfer_init(struct registry_client *c, struct registry_xfer *x,
                        const struct registry_request *q, const char *authorization);
/* Frees the handle, the headers and the response; releasing twice is harmless. */
void registry_xfer_release(struct registry_xfer *x);
/*
 * The outcome of x once curl finished it with rc: 0 when a response came (any status: see
 * x->resp), else -errno with err set ("METHOD URL: why").
 */
int registry_xfer_finish(struct registry_xfer *x, CURLcode rc, struct errmsg *err);

/* --- authentication (registry-auth.c) ------------------------------------------------------ */

/* Credentials that every host gets (registry_opts.user; the strings are copied). */
struct registry_credentials *registry_credentials_new_any(const char *user, const char *password);

/*
 * Authentication state per host ("host:port" of the URL): the scheme learnt from its last
 * challenge, the credentials, bearer tokens cached per scope until they expire.
 */
struct registry_auth;
struct registry_auth *registry_auth_new(struct registry_credentials *creds /* taken */);
struct registry_auth *registry_auth_free(struct registry_auth *a);
DEFINE_CLEANUP_FUNC(struct registry_auth, registry_auth_free)
/*
 * The Authorization value for a request to host needing scope (borrowed until the next call
 * into a; NULL: none yet), fetching a bearer token first when host is known to want one.
 */
int registry_auth_authorize(struct registry_client *c, const char *host, const char *scope,
                            const char **ret_value, struct errmsg *err);
/*
 * Learns from a 401 response to q sent with used (the Authorization value sent, or NULL).
 * Returns 0 when the request is worth repeating, else -EACCES with err set.
 */
int registry_auth_challenged(struct registry_client *c, const struct registry_request *q,
                             const struct registry_response *resp, const char *used,
                             struct errmsg *err);
