/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry client: the OCI distribution spec v1.0.1 (and Docker's registry v2 API as
 * distribution v2.8.2 serves it) over libcurl. Pulls manifests and blobs (blobs concurrently,
 * through curl's multi interface, resuming broken transfers with Range), pushes blobs
 * (monolithic or chunked, cross-repository mounts) and manifests, and authenticates as
 * docker does: Basic, or Bearer tokens from the realm of a WWW-Authenticate challenge
 * (distribution's docs/spec/auth/token.md), with credentials from a Docker config.json.
 *
 * Hosts: https, verified against the system's CAs (or opts.ca_file), except localhost,
 * 127.0.0.0/8, ::1 and the configured insecure hosts, reached over plain http. Names resolve
 * with DNS unless opts.resolve pins them. docker.io's API host is registry-1.docker.io.
 * Pulls try a registry's configured mirrors in order, then the registry itself; pushes go to
 * the registry only. libcurl's proxy variables (https_proxy, no_proxy ...) apply.
 *
 * Errors (err names the method, the URL and the step, e.g. "GET http://127.0.0.1:5000/v2/a/
 * manifests/latest: 404 Not Found: MANIFEST_UNKNOWN: manifest unknown"):
 *   -EACCES        401/403, after authenticating (bad or missing credentials)
 *   -ENOENT        404
 *   -EBADMSG       a manifest that is not JSON or whose digest is not the one asked for
 *   -EFBIG         a response past its cap (manifests MANIFEST_MAX_BYTES, token responses
 *                  and error bodies REGISTRY_SMALL_BODY_MAX), or a blob past its size
 *   -EIO           429/5xx after the retries of idempotent requests, other statuses
 *   -EPROTO        TLS: a failed handshake, a server certificate that failed verification
 *                  (err: "GET https://...: TLS: server certificate verification failed: SSL
 *                  certificate problem: unable to get local issuer certificate"), a CA file
 *                  that does not load
 *   -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET (a transfer that broke) ...
 * Nothing here logs above debug. A client is used by one thread at a time.
 */
#pragma once

#include "lib/digest.h"
#include "lib/errmsg.h"
#include "lib/reference.h"

/* Token responses and error bodies are read up to this many bytes. */
#define REGISTRY_SMALL_BODY_MAX (64u << 10)
/* A Docker config.json is read up to this many bytes. */
#define REGISTRY_DOCKER_CONFIG_MAX (1u << 20)

struct registry_mirror {
        const char *host;     /* the registry mirrored: "docker.io", "127.0.0.1:5000" */
        const char *endpoint; /* "http://127.0.0.1:5001" or "https://mirror.example" */
};

struct registry_opts {
        /* config.json path; NULL: $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
         * A missing file means anonymous access; a malformed one fails registry_client_new. */
        const char *docker_config;
        /* strv of "host[:port]" reached over plain http; an entry without a port matches
         * every port (localhost, 127.0.0.0/8 and ::1 always are) */
        char *const *insecure_hosts;
        /* PEM file of the CAs that https servers are verified against, instead of the system's:
         * it replaces libcurl's default bundle (CURLOPT_CAINFO) and its default CA directory
         * (CURLOPT_CAPATH is cleared, else Debian's /etc/ssl/certs would still be trusted).
         * Every https request uses it: registries, mirrors, token realms. NULL: the system's CAs
         * (/etc/ssl/certs). Must be readable when the client is made (-errno otherwise); a
         * file that is not PEM fails each https request with -EPROTO. */
        const char *ca_file;
        /* strv of "host:port:address[,address...]" as curl's --resolve (CURLOPT_RESOLVE): host
         * on that port connects to those IP addresses (IPv6 ones may be in brackets) without
         * asking DNS. URLs, Host headers and certificate verification still use host. For
         * split-horizon setups and tests. A malformed entry fails registry_client_new
         * (-EINVAL, err: "resolve \"ENTRY\": why"). */
        char *const *resolve;
        const struct registry_mirror *mirrors;
        size_t n_mirrors;
        /* credentials for every host instead of the config.json's (ctr's --user); NULL: the
         * config.json's. password NULL is an empty one. */
        const char *user;
        const char *password;
        /* https servers are not verified (ctr's --skip-verify): for tests and trusted networks */
        bool skip_verify;
        const char *user_agent; /* NULL: "berth/<version>" */
        unsigned max_parallel;  /* concurrent blob downloads, 0: 3 */
        unsigned max_retries;   /* per blob on a broken transfer, 0: 5 */
        /* blobs larger than this are pushed in PATCH chunks of this size, smaller ones with
         * one PUT; 0: 64 MiB */
        uint64_t push_chunk_size;
};

struct registry_client;

/*
 * A client (the caller's) with copies of everything in o (o may be NULL: all defaults). Reads
 * the Docker config.json now: -EINVAL (err: "PATH: line:column: why") when it is malformed.
 * -EINVAL for a bad mirror or resolve entry, -errno when ca_file cannot be opened.
 */
int registry_client_new(const struct registry_opts *o, struct registry_client **ret,
                        struct errmsg *err);
/* Frees c, its connections and cached tokens; accepts NULL and returns NULL. */
struct registry_client *registry_client_free(struct registry_client *c);
DEFINE_CLEANUP_FUNC(struct registry_client, registry_client_free)

struct registry_manifest {
        char *media_type;            /* Content-Type, or the body's mediaType (see below) */
        char digest[DIGEST_STR_MAX]; /* sha256 of the body (HEAD: Docker-Content-Digest) */
        char *body;                  /* NUL-terminated; NULL after a HEAD */
        size_t len;                  /* bytes of body (after a HEAD: Content-Length) */
};
/* Frees m's strings and zeroes it; m may be all-zero. */
void registry_manifest_release(struct registry_manifest *m);

/*
 * GETs ref's manifest by reference ("latest" or "sha256:..."; NULL: image_ref_object(ref))
 * with Accept: OCI manifest + index, Docker manifest v2 + list. The digest is computed from
 * the body and, when asked by digest, must equal it (-EBADMSG "digest mismatch" otherwise);
 * Docker-Content-Digest, when present, must agree too. The body must be a JSON object of at
 * most MANIFEST_MAX_BYTES (-EBADMSG, -EFBIG). media_type is the Content-Type (parameters
 * dropped) when it is one of the four accepted types, else the body's "mediaType", else the
 * Content-Type; an accepted Content-Type that contradicts the body's mediaType is -EBADMSG.
 * ret (the caller's: registry_manifest_release()) is untouched on failure.
 */
int registry_get_manifest(struct registry_client *c, const struct image_ref *ref,
                          const char *reference, struct registry_manifest *ret, struct errmsg *err);
/*
 * HEADs the manifest (containerd's resolve): media_type from Content-Type, digest from
 * Docker-Content-Digest, len from Content-Length, body NULL. When the registry sends no
 * digest or length, falls back to registry_get_manifest() (then body is set). -ENOENT when
 * there is no such manifest.
 */
int registry_head_manifest(struct registry_client *c, const struct image_ref *ref,
                           const char *reference, struct registry_manifest *ret,
                           struct errmsg *err);

/*
 * A blob download. sink gets the bytes in order from offset on; it returns 0 or -errno (which
 * aborts that download). On a broken transfer the download is resumed with "Range: bytes=N-"
 * from the bytes already delivered (if the server ignores Range and answers 200, the first N
 * bytes are skipped). The client never verifies blob digests: the caller's sink does (content
 * store).
 */
typedef int (*registry_sink_fn)(void *userdata, const void *buf, size_t len);
/* done: offset plus the bytes delivered so far; total: the descriptor's size (0: unknown). */
typedef void (*registry_progress_fn)(void *userdata, size_t index, uint64_t done, uint64_t total);

struct registry_blob_fetch {
        const char *digest;
        uint64_t size;   /* size from the descriptor; 0: unknown (a clean end completes) */
        uint64_t offset; /* bytes the caller already has; offset == size > 0: nothing to do */
        registry_sink_fn sink;
        void *userdata;
        /* out */
        int result;        /* 0 or -errno; -ECANCELED when stopped by another's failure */
        struct errmsg err; /* set when result < 0 */
        uint64_t done;     /* offset plus the bytes delivered */
};

/*
 * Runs the fetches concurrently (opts.max_parallel at a time) in the calling thread (curl
 * multi). Each tries the mirrors, then the registry; a broken transfer is resumed up to
 * opts.max_retries times, 429/5xx are retried with backoff within the same budget. The first
 * failure stops the others (their result: -ECANCELED). Returns 0 when all succeeded, else the
 * failure's code with err = that fetch's message; each v[i].result/err/done tells.
 * progress (may be NULL) is called after every chunk delivered.
 */
int registry_fetch_blobs(struct registry_client *c, const struct image_ref *ref,
                         struct registry_blob_fetch *v, size_t n, registry_progress_fn progress,
                         void *progress_userdata, struct errmsg *err);

/* HEAD /v2/<name>/blobs/<digest>: *ret_exists is true on 200, false on 404. */
int registry_blob_exists(struct registry_client *c, const struct image_ref *ref, const char *digest,
                         bool *ret_exists, struct errmsg *err);
/*
 * Uploads size bytes of fd, read with pread() from its current offset (the offset is left
 * there), as digest. With mount_from ("library/other", same registry) tries a cross-repository
 * mount first (201: done, 202: fall back to the upload it started, 401/403: a plain upload).
 * Up to opts.push_chunk_size a single PUT ?digest= sends the bytes, else PATCH chunks then an
 * empty PUT ?digest=. A short read of fd is -EIO. The registry checks the digest (400
 * DIGEST_INVALID: -EINVAL).
 */
int registry_push_blob(struct registry_client *c, const struct image_ref *ref, const char *digest,
                       uint64_t size, int fd, const char *mount_from, struct errmsg *err);
/*
 * PUT /v2/<name>/manifests/<reference> (a tag or the digest; NULL: image_ref_object(ref))
 * with Content-Type media_type. When the registry answers a Docker-Content-Digest, it must be
 * the body's (-EBADMSG).
 */
int registry_push_manifest(struct registry_client *c, const struct image_ref *ref,
                           const char *reference, const char *media_type, const void *body,
                           size_t len, struct errmsg *err);

/*
 * Auth challenges (RFC 7235 section 4.1, as registries send them): parses the first challenge
 * of a WWW-Authenticate value into its scheme (lowercased: "bearer", "basic") and the params
 * the token flow uses (names case-insensitive, values a token or a quoted-string with
 * backslash escapes; other params are skipped; a later challenge is ignored). Strings are the
 * caller's (auth_challenge_release()); ret is untouched on failure. -EINVAL for bad syntax
 * (err: "WWW-Authenticate: why at offset N"), -E2BIG past 8 KiB.
 */
struct auth_challenge {
        char *scheme;
        char *realm;
        char *service;
        char *scope;
        char *error;
};
int auth_challenge_parse(const char *header, struct auth_challenge *ret, struct errmsg *err);
void auth_challenge_release(struct auth_challenge *c);

/*
 * Credentials of a Docker config.json: "auths": {"<key>": {"auth": base64("user:pass")}} (or
 * "username" + "password"). Keys may carry a scheme and a path ("https://host/v1/"); docker.io,
 * index.docker.io and registry-1.docker.io all find docker's key "https://index.docker.io/v1/".
 * credsStore/credHelpers and identity tokens are not supported (such hosts stay anonymous).
 */
struct registry_credentials;
/* Parses text (len bytes); errors name the key: -EINVAL "auths.\"KEY\".auth: not base64". */
int registry_credentials_parse(const char *text, size_t len, struct registry_credentials **ret,
                               struct errmsg *err);
/* Reads path (NULL: the default above); a missing file gives an empty set. */
int registry_credentials_load(const char *path, struct registry_credentials **ret,
                              struct errmsg *err);
struct registry_credentials *registry_credentials_free(struct registry_credentials *c);
DEFINE_CLEANUP_FUNC(struct registry_credentials, registry_credentials_free)
/*
 * Looks host ("127.0.0.1:5000", "registry-1.docker.io") up: an exact key first, then keys
 * reduced to their host. Returns 1 with user and password (borrowed from c), 0 when there are
 * none (ret_* untouched).
 */
int registry_credentials_lookup(const struct registry_credentials *c, const char *host,
                                const char **ret_user, const char **ret_password);
/* The path the credentials came from (borrowed; NULL when parsed from text). */
const char *registry_credentials_path(const struct registry_credentials *c);
