/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The content store as ctr's client library reaches it (containerd's content/proxy): Info,
 * Update of labels, Abort, and the Write stream of STAT, WRITE and COMMIT messages that pull
 * and import write blobs with. Also the protobuf map helpers the other requests use.
 */
#include <stdlib.h>

#include "containerd/services/content/v1/content.pb-c.h"
#include "ctr/image.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define CONTENT_SERVICE "/containerd.services.content.v1.Content/"
/* Bytes per WRITE message: containerd's copy buffer is 1 MiB too. */
#define WRITE_CHUNK (1u << 20)

typedef Containerd__Services__Content__V1__WriteContentRequest write_req_t;
typedef Containerd__Services__Content__V1__WriteContentResponse write_resp_t;

/* Protobuf map entries share this layout. */
struct map_entry {
        ProtobufCMessage base;
        char *key;
        char *value;
};

void **ctr_map_new(const ProtobufCMessageDescriptor *entry_desc, char *const *labels, size_t *ret_n)
{
        size_t n = strv_length((char **) labels) / 2;
        void **v = xnew0(void *, n + 1);

        for (size_t i = 0; i < n; i++) {
                struct map_entry *e = xmalloc(entry_desc->sizeof_message);

                protobuf_c_message_init(entry_desc, e);
                e->key = labels[2 * i];
                e->value = labels[2 * i + 1];
                v[i] = e;
        }
        *ret_n = n;
        return v;
}

void ctr_map_free(void **entries, size_t n)
{
        for (size_t i = 0; entries && i < n; i++)
                free(entries[i]);
        free(entries);
}

char **ctr_map_labels(void *const *entries, size_t n)
{
        char **labels = NULL;

        for (size_t i = 0; i < n; i++) {
                const struct map_entry *e = entries[i];

                strv_push(&labels, e->key ? e->key : "");
                strv_push(&labels, e->value ? e->value : "");
        }
        return labels;
}

int ctr_content_info(struct ctr *c, const char *digest, int64_t *ret_size, char ***ret_labels,
                     struct errmsg *err)
{
        Containerd__Services__Content__V1__InfoRequest req =
                CONTAINERD__SERVICES__CONTENT__V1__INFO_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Content__V1__InfoResponse *resp = NULL;
        int r;

        req.digest = (char *) digest;
        r = ctr_call(c, CONTENT_SERVICE "Info", &req.base,
                     &containerd__services__content__v1__info_response__descriptor, &resp, err);
        if (r < 0)
                return r;
        if (!resp->info)
                return errmsg_set(err, -EBADMSG, "content %s: no info in the answer", digest);
        if (ret_size)
                *ret_size = resp->info->size;
        if (ret_labels)
                *ret_labels =
                        ctr_map_labels((void *const *) resp->info->labels, resp->info->n_labels);
        return 0;
}

int ctr_content_label(struct ctr *c, const char *digest, char *const *labels, struct errmsg *err)
{
        Containerd__Services__Content__V1__UpdateRequest req =
                CONTAINERD__SERVICES__CONTENT__V1__UPDATE_REQUEST__INIT;
        Containerd__Services__Content__V1__Info info =
                CONTAINERD__SERVICES__CONTENT__V1__INFO__INIT;
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        _cleanup_pb_ Containerd__Services__Content__V1__UpdateResponse *resp = NULL;
        _cleanup_strv_ char **paths = NULL, **set = NULL;
        int r;

        /* a label set to "" is removed: named in the mask, left out of the map */
        for (size_t i = 0; labels && labels[i]; i += 2) {
                _cleanup_free_ char *path = xasprintf("labels.%s", labels[i]);

                strv_push(&paths, path);
                if (labels[i + 1][0]) {
                        strv_push(&set, labels[i]);
                        strv_push(&set, labels[i + 1]);
                }
        }
        if (!paths)
                return 0;
        info.digest = (char *) digest;
        info.labels = (Containerd__Services__Content__V1__Info__LabelsEntry **) ctr_map_new(
                &containerd__services__content__v1__info__labels_entry__descriptor, set,
                &info.n_labels);
        mask.paths = paths;
        mask.n_paths = strv_length(paths);
        req.info = &info;
        req.update_mask = &mask;
        r = ctr_call(c, CONTENT_SERVICE "Update", &req.base,
                     &containerd__services__content__v1__update_response__descriptor, &resp, err);
        ctr_map_free((void **) info.labels, info.n_labels);
        return r;
}

int ctr_content_abort(struct ctr *c, const char *ref, struct errmsg *err)
{
        Containerd__Services__Content__V1__AbortRequest req =
                CONTAINERD__SERVICES__CONTENT__V1__ABORT_REQUEST__INIT;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;

        req.ref = (char *) ref;
        return ctr_call(c, CONTENT_SERVICE "Abort", &req.base, &google__protobuf__empty__descriptor,
                        &resp, err);
}

/* --- the Write stream ----------------------------------------------------------------- */

struct ctr_writer {
        struct grpc_client_stream *st;
        char *ref;
        int64_t offset; /* acknowledged by the store */
        uint8_t *buf;   /* written but not sent yet */
        size_t len;
};

struct ctr_writer *ctr_writer_free(struct ctr_writer *w)
{
        if (!w)
                return NULL;
        /* half-closing ends the write on the server; the ingest stays */
        if (w->st)
                (void) grpc_client_stream_close_send(w->st, NULL);
        grpc_client_stream_free(w->st);
        free(w->ref);
        free(w->buf);
        free(w);
        return NULL;
}

int64_t ctr_writer_offset(const struct ctr_writer *w)
{
        return w->offset + (int64_t) w->len;
}

/* One request and its answer, as the remote writer's send(). */
static int writer_send(struct ctr_writer *w, const write_req_t *req, write_resp_t **ret,
                       struct errmsg *err)
{
        int r;

        r = ctr_stream_send(w->st, &req->base, err);
        if (r >= 0)
                r = ctr_stream_recv(
                        w->st,
                        &containerd__services__content__v1__write_content_response__descriptor, ret,
                        err);
        if (r == 0)
                return errmsg_set(err, -EPROTO, "write %s: the store ended the stream", w->ref);
        return r < 0 ? r : 0;
}

int ctr_writer_open(struct ctr *c, const char *ref, int64_t total, const char *expected,
                    struct ctr_writer **ret, struct errmsg *err)
{
        write_req_t req = CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
        _cleanup_(ctr_writer_freep) struct ctr_writer *w = xnew0(struct ctr_writer, 1);
        _cleanup_pb_ write_resp_t *resp = NULL;
        int r;

        w->ref = xstrdup(ref);
        r = ctr_stream_open(c, CONTENT_SERVICE "Write", &w->st, err);
        if (r < 0)
                return r;
        req.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__STAT;
        req.ref = (char *) ref;
        req.total = total;
        req.expected = (char *) (expected ? expected : "");
        r = writer_send(w, &req, &resp, err);
        if (r < 0)
                return r;
        w->offset = resp->offset;
        *ret = TAKE_PTR(w);
        return 0;
}

/* Sends what is buffered as one WRITE at the current offset. */
static int writer_flush(struct ctr_writer *w, struct errmsg *err)
{
        write_req_t req = CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
        _cleanup_pb_ write_resp_t *resp = NULL;
        int r;

        if (w->len == 0)
                return 0;
        req.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__WRITE;
        req.offset = w->offset;
        req.data.data = w->buf;
        req.data.len = w->len;
        r = writer_send(w, &req, &resp, err);
        if (r < 0)
                return r;
        if (resp->offset != w->offset + (int64_t) w->len)
                return errmsg_set(err, -EIO, "write %s: short write: the store is at %lld of %lld",
                                  w->ref, (long long) resp->offset,
                                  (long long) (w->offset + (int64_t) w->len));
        w->offset = resp->offset;
        w->len = 0;
        return 0;
}

int ctr_writer_flush(struct ctr_writer *w, struct errmsg *err)
{
        return w ? writer_flush(w, err) : 0;
}

int ctr_writer_write(struct ctr_writer *w, const void *buf, size_t len, struct errmsg *err)
{
        const uint8_t *p = buf;

        if (!w->buf)
                w->buf = xmalloc(WRITE_CHUNK);
        while (len > 0) {
                size_t n = MIN(len, WRITE_CHUNK - w->len);
                int r;

                memcpy(w->buf + w->len, p, n);
                w->len += n;
                p += n;
                len -= n;
                if (w->len == WRITE_CHUNK) {
                        r = writer_flush(w, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int ctr_writer_commit(struct ctr_writer *w, int64_t size, const char *expected, char *const *labels,
                      char ret_digest[DIGEST_STR_MAX], struct errmsg *err)
{
        write_req_t req = CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
        _cleanup_pb_ write_resp_t *resp = NULL;
        int r;

        r = writer_flush(w, err);
        if (r < 0)
                return r;
        req.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__COMMIT;
        req.total = size;
        req.offset = w->offset;
        req.expected = (char *) (expected ? expected : "");
        req.labels = (Containerd__Services__Content__V1__WriteContentRequest__LabelsEntry **) ctr_map_new(
                &containerd__services__content__v1__write_content_request__labels_entry__descriptor,
                labels, &req.n_labels);
        r = writer_send(w, &req, &resp, err);
        ctr_map_free((void **) req.labels, req.n_labels);
        if (r == -EEXIST) { /* committed meanwhile by someone else: what we wanted */
                if (ret_digest)
                        (void) snprintf(ret_digest, DIGEST_STR_MAX, "%s", expected ? expected : "");
                return 0;
        }
        if (r < 0)
                return errmsg_prefix(err, r, "failed commit on ref \"%s\"", w->ref);
        if (size != 0 && resp->offset != size)
                return errmsg_set(err, -EIO, "unexpected size: %lld != %lld",
                                  (long long) resp->offset, (long long) size);
        if (expected && *expected && !STREQ(resp->digest ? resp->digest : "", expected))
                return errmsg_set(err, -EBADMSG, "unexpected digest: %s != %s", resp->digest,
                                  expected);
        if (ret_digest)
                (void) snprintf(ret_digest, DIGEST_STR_MAX, "%s", resp->digest ? resp->digest : "");
        return 0;
}

/* Sets key to value in labels (strv of key, value), replacing an earlier value. */
static void labels_put(char ***labels, const char *key, const char *value)
{
        for (size_t i = 0; *labels && (*labels)[i]; i += 2)
                if (STREQ((*labels)[i], key)) {
                        free((*labels)[i + 1]);
                        (*labels)[i + 1] = xstrdup(value);
                        return;
                }
        strv_push(labels, key);
        strv_push(labels, value);
}

char **ctr_label_args(char *const *args)
{
        char **labels = NULL;

        strv_foreach (a, (char **) args) {
                const char *eq = strchr(*a, '=');
                _cleanup_free_ char *key = xstrndup(*a, eq ? (size_t) (eq - *a) : strlen(*a));

                labels_put(&labels, key, eq ? eq + 1 : "true");
        }
        return labels;
}

int ctr_digest_validate(const char *s, struct errmsg *err)
{
        static const struct {
                const char *name;
                size_t hex;
        } algorithms[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
        const char *colon = strchr(s, ':'), *enc;
        size_t alg_len;

        if (!colon || colon == s || !colon[1])
                return errmsg_set(err, -EINVAL, "invalid checksum digest format");
        alg_len = (size_t) (colon - s);
        enc = colon + 1;
        for (size_t i = 0; i < ELEMENTSOF(algorithms); i++) {
                if (strlen(algorithms[i].name) != alg_len ||
                    strncmp(s, algorithms[i].name, alg_len) != 0)
                        continue;
                if (strlen(enc) != algorithms[i].hex)
                        return errmsg_set(err, -EINVAL, "invalid checksum digest length");
                if (strspn(enc, "0123456789abcdef") != algorithms[i].hex)
                        return errmsg_set(err, -EINVAL, "invalid checksum digest format");
                return 0;
        }
        /* go-digest: a well-formed digest of an algorithm it lacks is "unsupported" */
        if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.+_-") != alg_len ||
            strspn(enc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=_-") !=
                    strlen(enc))
                return errmsg_set(err, -EINVAL, "invalid checksum digest format");
        return errmsg_set(err, -EINVAL, "unsupported digest algorithm");
}
