/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pushes (see registry.h), as distribution-spec v1.0.1 describes them and containerd 1.6's
 * pusher does them: HEAD a blob to learn whether it is there; POST .../blobs/uploads/
 * (?mount=<digest>&from=<repo> for a cross-repository mount: 201 means mounted, 202 opens an
 * ordinary upload) answers 202 with the upload's Location; then either one PUT
 * <location>?digest=<digest> carrying the bytes, or PATCH chunks (Content-Range: start-end,
 * each answered 202 with the next Location) and an empty PUT ?digest=. A Location may be a
 * path or another host (then no Authorization is sent there). Manifests are PUT to
 * .../manifests/<tag or digest> with their media type as Content-Type. Pushes go to the
 * registry itself, never to a mirror, and are not retried (an upload session has state).
 */
#include <inttypes.h>

#include "lib/image-spec.h"
#include "lib/log.h"
#include "lib/registry-internal.h"
#include "lib/xalloc.h"

/* The registry's own base URL for ref (the caller's). */
static char *push_base(struct registry_client *c, const struct image_ref *ref)
{
        return registry_base_url(ref->domain, registry_client_insecure_hosts(c));
}

/* A repository name as distribution's grammar allows: [a-z0-9] runs joined by [._/-]. */
static bool is_repository(const char *s)
{
        if (!*s || strlen(s) > IMAGE_REF_NAME_MAX)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("._/-", *s)))
                        return false;
        return true;
}

static bool is_header_value(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

int registry_blob_exists(struct registry_client *c, const struct image_ref *ref, const char *digest,
                         bool *ret_exists, struct errmsg *err)
{
        _cleanup_free_ char *base = push_base(c, ref), *url = NULL, *scope = NULL;
        struct registry_response resp = {0};
        struct registry_request q;
        int r;

        r = digest_validate(digest, err);
        if (r < 0 && r != -EOPNOTSUPP)
                return r;
        url = registry_url(base, ref->path, "blobs", digest, NULL);
        scope = registry_scope(ref->path, "pull,push");
        q = (struct registry_request){.method = "HEAD",
                                      .url = url,
                                      .scope = scope,
                                      .body_fd = -EBADF,
                                      .idempotent = true};
        r = registry_request_do(c, &q, &resp, err);
        if (r < 0)
                return r;
        if (resp.status == 200 || resp.status == 404)
                *ret_exists = resp.status == 200;
        else
                r = registry_status_error(&q, &resp, err);
        registry_response_release(&resp);
        return r;
}

/* Checks a Docker-Content-Digest answer against what was sent. */
static int check_digest_header(const struct registry_request *q, const struct registry_response *r,
                               const char *digest, struct errmsg *err)
{
        if (r->docker_digest && !STREQ(r->docker_digest, digest))
                return errmsg_set(err, -EBADMSG,
                                  "%s %s: the registry stored %s, not %s (Docker-Content-Digest)",
                                  q->method, q->url, r->docker_digest, digest);
        return 0;
}

/*
 * POSTs url (an upload start, maybe a mount): *ret_location is the upload's URL on 202, NULL
 * on 201 (mounted). With allow_denied, a 401/403 gives 0 and neither (the mount was refused).
 */
static int upload_start(struct registry_client *c, const char *base, const char *url,
                        const char *scope, const char *digest, bool allow_denied,
                        char **ret_location, bool *ret_mounted, struct errmsg *err)
{
        struct registry_request q = {
                .method = "POST", .url = url, .scope = scope, .body_fd = -EBADF};
        struct registry_response resp = {0};
        int r;

        r = registry_request_do(c, &q, &resp, err);
        if (r < 0)
                return r;
        *ret_location = NULL;
        *ret_mounted = false;
        if (resp.status == 201) {
                r = check_digest_header(&q, &resp, digest, err);
                *ret_mounted = r >= 0;
        } else if (resp.status == 202 && resp.location && *resp.location) {
                *ret_location = registry_location_url(base, resp.location, NULL, NULL);
        } else if (resp.status == 202) {
                r = errmsg_set(err, -EPROTO, "POST %s: 202 without a Location", url);
        } else if (!(allow_denied && (resp.status == 401 || resp.status == 403))) {
                r = registry_status_error(&q, &resp, err);
        }
        registry_response_release(&resp);
        return r;
}

/* PATCHes size bytes of fd from offset, in chunks; *location follows the answers. */
static int upload_chunks(struct registry_client *c, const char *base, const char *scope, int fd,
                         uint64_t offset, uint64_t size, char **location, struct errmsg *err)
{
        uint64_t chunk = registry_client_chunk_size(c);

        for (uint64_t pos = 0; pos < size;) {
                uint64_t n = MIN(chunk, size - pos);
                _cleanup_free_ char *range = xasprintf("%" PRIu64 "-%" PRIu64, pos, pos + n - 1);
                struct registry_request q = {
                        .method = "PATCH",
                        .url = *location,
                        .scope = scope,
                        .content_type = "application/octet-stream",
                        .content_range = range,
                        .body_fd = fd,
                        .body_offset = offset + pos,
                        .body_size = n,
                };
                struct registry_response resp = {0};
                int r;

                r = registry_request_do(c, &q, &resp, err);
                if (r >= 0 && resp.status != 202)
                        r = registry_status_error(&q, &resp, err);
                if (r >= 0 && resp.location && *resp.location) {
                        char *next = registry_location_url(base, resp.location, NULL, NULL);

                        free(*location);
                        *location = next;
                }
                registry_response_release(&resp);
                if (r < 0)
                        return r;
                pos += n;
        }
        return 0;
}

/* The closing PUT ?digest=, carrying size bytes of fd (0: the chunks went before). */
static int upload_finish(struct registry_client *c, const char *base, const char *location,
                         const char *scope, const char *digest, int fd, uint64_t offset,
                         uint64_t size, struct errmsg *err)
{
        _cleanup_free_ char *url = registry_location_url(base, location, "digest", digest);
        struct registry_request q = {
                .method = "PUT",
                .url = url,
                .scope = scope,
                .content_type = "application/octet-stream",
                .body_fd = size > 0 ? fd : -EBADF,
                .body_offset = offset,
                .body_size = size,
        };
        struct registry_response resp = {0};
        int r;

        r = registry_request_do(c, &q, &resp, err);
        if (r < 0)
                return r;
        if (resp.status == 201 || resp.status == 200 || resp.status == 204)
                r = check_digest_header(&q, &resp, digest, err);
        else
                r = registry_status_error(&q, &resp, err);
        registry_response_release(&resp);
        return r;
}

static int check_push_args(const char *digest, int fd, const char *mount_from, off_t *ret_offset,
                           struct errmsg *err)
{
        off_t off;
        int r;

        r = digest_validate(digest, err);
        if (r < 0 && r != -EOPNOTSUPP)
                return r;
        if (mount_from && !is_repository(mount_from))
                return errmsg_set(err, -EINVAL, "mount from \"%s\": not a repository name",
                                  mount_from);
        off = lseek(fd, 0, SEEK_CUR);
        if (off < 0)
                return errmsg_set(err, -errno, "blob %s: fd: %s", digest, strerror(errno));
        *ret_offset = off;
        return 0;
}

/* POST ?mount=&from=; *ret_location stays NULL when refused (then a plain upload follows). */
static int try_mount(struct registry_client *c, const char *base, const char *uploads,
                     const struct image_ref *ref, const char *digest, const char *from,
                     char **ret_location, bool *ret_mounted, struct errmsg *err)
{
        _cleanup_free_ char *scope = NULL, *pull = registry_scope(from, "pull");
        _cleanup_free_ char *push = registry_scope(ref->path, "pull,push");
        _cleanup_free_ char *u1 = registry_location_url(NULL, uploads, "mount", digest);
        _cleanup_free_ char *url = registry_location_url(NULL, u1, "from", from);
        int r;

        scope = xasprintf("%s %s", push, pull);
        r = upload_start(c, base, url, scope, digest, true, ret_location, ret_mounted, err);
        if (r == -EACCES) {
                /* no access to the source repository: an ordinary upload may still work */
                *ret_location = NULL;
                *ret_mounted = false;
                r = 0;
        }
        if (r >= 0 && !*ret_mounted && !*ret_location)
                log_debug("POST %s: mount refused, uploading", url);
        return r;
}

int registry_push_blob(struct registry_client *c, const struct image_ref *ref, const char *digest,
                       uint64_t size, int fd, const char *mount_from, struct errmsg *err)
{
        _cleanup_free_ char *base = push_base(c, ref), *scope = NULL, *uploads = NULL;
        _cleanup_free_ char *location = NULL;
        bool mounted = false;
        off_t off = 0;
        int r;

        r = check_push_args(digest, fd, mount_from, &off, err);
        if (r < 0)
                return r;
        scope = registry_scope(ref->path, "pull,push");
        uploads = registry_url(base, ref->path, "blobs", "uploads/", NULL);
        if (mount_from) {
                r = try_mount(c, base, uploads, ref, digest, mount_from, &location, &mounted, err);
                if (r < 0 || mounted)
                        return r;
        }
        if (!location) {
                r = upload_start(c, base, uploads, scope, digest, false, &location, &mounted, err);
                if (r < 0 || mounted)
                        return r;
        }
        if (size > registry_client_chunk_size(c)) {
                r = upload_chunks(c, base, scope, fd, (uint64_t) off, size, &location, err);
                if (r < 0)
                        return r;
                return upload_finish(c, base, location, scope, digest, fd, 0, 0, err);
        }
        return upload_finish(c, base, location, scope, digest, fd, (uint64_t) off, size, err);
}

static int check_manifest_args(const char *reference, const char *media_type, const void *body,
                               size_t len, struct errmsg *err)
{
        char digest[DIGEST_STR_MAX];
        int r;

        if (!media_type || !is_header_value(media_type))
                return errmsg_set(err, -EINVAL, "manifest media type \"%s\": not a header value",
                                  media_type ? media_type : "");
        if (len > MANIFEST_MAX_BYTES)
                return errmsg_set(err, -EFBIG, "manifest: larger than %u bytes",
                                  MANIFEST_MAX_BYTES);
        if (!strchr(reference, ':')) {
                if (!*reference || strlen(reference) > IMAGE_REF_TAG_MAX ||
                    strspn(reference, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789_.-") != strlen(reference))
                        return errmsg_set(err, -EINVAL, "manifest reference \"%s\": not a tag",
                                          reference);
                return 0;
        }
        r = digest_validate(reference, err);
        if (r < 0)
                return r;
        digest_bytes(body, len, digest);
        if (!STREQ(digest, reference))
                return errmsg_set(err, -EINVAL, "manifest %s: digest mismatch: the body's is %s",
                                  reference, digest);
        return 0;
}

int registry_push_manifest(struct registry_client *c, const struct image_ref *ref,
                           const char *reference, const char *media_type, const void *body,
                           size_t len, struct errmsg *err)
{
        _cleanup_free_ char *base = push_base(c, ref), *url = NULL, *scope = NULL;
        struct registry_response resp = {0};
        char digest[DIGEST_STR_MAX];
        struct registry_request q;
        int r;

        reference = reference ? reference : image_ref_object(ref);
        r = check_manifest_args(reference, media_type, body, len, err);
        if (r < 0)
                return r;
        url = registry_url(base, ref->path, "manifests", reference, NULL);
        scope = registry_scope(ref->path, "pull,push");
        q = (struct registry_request){
                .method = "PUT",
                .url = url,
                .scope = scope,
                .content_type = media_type,
                .body = len > 0 ? body : "",
                .body_fd = -EBADF,
                .body_size = len,
        };
        r = registry_request_do(c, &q, &resp, err);
        if (r < 0)
                return r;
        digest_bytes(body, len, digest);
        if (resp.status == 201 || resp.status == 200 || resp.status == 204)
                r = check_digest_header(&q, &resp, digest, err);
        else
                r = registry_status_error(&q, &resp, err);
        registry_response_release(&resp);
        return r;
}
