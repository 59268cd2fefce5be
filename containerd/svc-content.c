/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.services.content.v1.Content over the content store (content.h) and the
 * per-namespace content records (metadata.h), as containerd's contentserver and
 * metadata/content.go: a blob is visible in a namespace when the namespace records it; Info,
 * List and Update answer from the record; Delete removes the record (the blob goes at the next
 * garbage collection); Write ingests into the store and then records the blob in the call's
 * namespace with the commit's labels. Ingest refs are kept in the store as "<ns>/<ref>", so
 * that each namespace sees only its own. With a lease in the call's metadata
 * ("containerd-lease"), the ingest and the written content are added to it before the commit,
 * so that a collection never takes them.
 */
#include <inttypes.h>

#include "containerd/events.h"
#include "containerd/events/content.pb-c.h"
#include "containerd/services/content/v1/content.pb-c.h"
#include "containerd/svc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

/* containerd leases/grpc.go */
#define LEASE_METADATA_KEY "containerd-lease"
/* Bytes per Read answer; containerd uses 32 KiB, larger is fewer frames on a unix socket. */
#define READ_CHUNK (1u << 20)
/* Infos per List answer, as containerd. */
#define LIST_BLOCK 100

typedef Containerd__Services__Content__V1__Info info_msg_t;
typedef Containerd__Services__Content__V1__Status status_msg_t;

/* An Info message for a record, owning its timestamps; labels point into the record. */
struct info_out {
        info_msg_t m;
        Google__Protobuf__Timestamp created, updated;
};

static void info_message(const struct content_record *r, struct info_out *o)
{
        size_t n;

        o->m = (info_msg_t) CONTAINERD__SERVICES__CONTENT__V1__INFO__INIT;
        o->m.digest = (char *) r->digest;
        o->m.size = r->size;
        svc_timestamp(&r->created_at, &o->created);
        svc_timestamp(&r->updated_at, &o->updated);
        o->m.created_at = &o->created;
        o->m.updated_at = &o->updated;
        o->m.labels = (Containerd__Services__Content__V1__Info__LabelsEntry **) svc_map_from_labels(
                r->labels, &containerd__services__content__v1__info__labels_entry__descriptor, &n);
        o->m.n_labels = n;
}

static void info_out_release(struct info_out *o)
{
        svc_map_free((void **) o->m.labels, o->m.n_labels);
}

/* The record of digest in ns, with containerd's errors: InvalidArgument "\"x\" failed
 * validation", NotFound "content digest x: not found". */
static int record_get(struct daemon *d, const char *ns, const char *digest,
                      struct content_record *ret, struct errmsg *err)
{
        int r;

        if (digest_validate(digest ? digest : "", NULL) < 0)
                return errmsg_set(err, -EINVAL, "\"%s\" failed validation", digest ? digest : "");
        r = content_record_get(d->st->md, ns, digest, ret, err);
        if (r == -ENOENT)
                return errmsg_set(err, r, "content digest %s", digest);
        return r;
}

/* Info and Update answer the same layout: the record as it is now. */
static int reply_info(struct grpc_call *call, struct daemon *d, const char *ns, const char *digest,
                      const ProtobufCMessageDescriptor *desc, struct errmsg *err)
{
        Containerd__Services__Content__V1__InfoResponse out =
                CONTAINERD__SERVICES__CONTENT__V1__INFO_RESPONSE__INIT;
        struct content_record rec = {0};
        struct info_out o;
        int r;

        r = record_get(d, ns, digest, &rec, err);
        if (r < 0)
                return r;
        info_message(&rec, &o);
        out.base.descriptor = desc;
        out.info = &o.m;
        r = svc_reply(call, &out.base);
        info_out_release(&o);
        content_record_release(&rec);
        return r;
}

static int info_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Content__V1__InfoRequest *in = NULL;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__content__v1__info_request__descriptor, msg,
                        len, &in, &ns, err);
        return r < 0 ? r
                     : reply_info(call, userdata, ns, in->digest,
                                  &containerd__services__content__v1__info_response__descriptor,
                                  err);
}

/* Sets key in *labels to value (NULL or "" removes it). */
static void labels_set(char ***labels, const char *key, const char *value)
{
        char **kept = NULL;

        for (size_t j = 0; *labels && (*labels)[j]; j += 2)
                if (!STREQ((*labels)[j], key)) {
                        (void) strv_push(&kept, (*labels)[j]);
                        (void) strv_push(&kept, (*labels)[j + 1]);
                }
        if (value && value[0]) {
                (void) strv_push(&kept, key);
                (void) strv_push(&kept, value);
        }
        strv_free(*labels);
        *labels = kept;
}

/* containerd's metadata contentStore.Update: no paths replace the labels, "labels" too,
 * "labels.<key>" sets (or, empty, removes) one; other paths are InvalidArgument. */
static int updated_labels(const struct content_record *cur, const info_msg_t *info,
                          const Google__Protobuf__FieldMask *mask, char ***ret, struct errmsg *err)
{
        _cleanup_strv_ char **given =
                svc_labels_from_map((void *const *) info->labels, info->n_labels);
        _cleanup_strv_ char **labels = strv_copy(cur->labels);

        if (!mask || mask->n_paths == 0) {
                *ret = TAKE_PTR(given);
                return 0;
        }
        for (size_t i = 0; i < mask->n_paths; i++) {
                const char *path = mask->paths[i];

                if (STREQ(path, "labels")) {
                        strv_free(labels);
                        labels = strv_copy(given);
                } else if (strncmp(path, "labels.", 7) == 0) {
                        const char *key = path + 7;

                        labels_set(&labels, key, svc_label_field(path, given));
                } else {
                        return errmsg_set(err, -EINVAL,
                                          "cannot update \"%s\" field on content info \"%s\"", path,
                                          info->digest);
                }
        }
        *ret = TAKE_PTR(labels);
        return 0;
}

static int update_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Content__V1__UpdateRequest *in = NULL;
        _cleanup_strv_ char **labels = NULL;
        struct content_record cur = {0};
        struct daemon *d = userdata;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__content__v1__update_request__descriptor, msg,
                        len, &in, &ns, err);
        if (r >= 0 && !in->info)
                r = errmsg_set(err, -EINVAL, "\"\" failed validation");
        if (r >= 0)
                r = record_get(d, ns, in->info->digest, &cur, err);
        if (r >= 0)
                r = updated_labels(&cur, in->info, in->update_mask, &labels, err);
        content_record_release(&cur);
        if (r >= 0)
                r = content_record_update_labels(d->st->md, ns, in->info->digest, labels, true,
                                                 err);
        return r < 0 ? r
                     : reply_info(call, d, ns, in->info->digest,
                                  &containerd__services__content__v1__update_response__descriptor,
                                  err);
}

/* The fields of containerd's adaptContentInfo: digest, size, labels.<key>. */
struct record_field_ctx {
        const struct content_record *r;
        char size[24];
};

static const char *record_field(const char *field, void *object)
{
        struct record_field_ctx *c = object;

        if (STREQ(field, "digest"))
                return c->r->digest;
        if (STREQ(field, "size")) {
                (void) snprintf(c->size, sizeof(c->size), "%" PRId64, c->r->size);
                return c->size;
        }
        return svc_label_field(field, c->r->labels);
}

/* List answers, paced like Read: the matching records, sent LIST_BLOCK at a time. */
struct list_state {
        struct content_record *v;
        size_t n, next;
};

static void list_end(struct grpc_call *call, enum rpc_code code, void *userdata)
{
        struct list_state *ls = userdata;

        (void) code;
        content_records_free(ls->v, ls->n);
        free(ls);
        grpc_call_set_userdata(call, NULL, NULL, NULL);
        (void) grpc_call_unref(call);
}

/* Sends the n records at v as one ListContentResponse. */
static int send_block(struct grpc_call *call, const struct content_record *v, size_t n)
{
        Containerd__Services__Content__V1__ListContentResponse out =
                CONTAINERD__SERVICES__CONTENT__V1__LIST_CONTENT_RESPONSE__INIT;
        struct info_out o[LIST_BLOCK];
        info_msg_t *p[LIST_BLOCK];
        int r;

        assert(n <= LIST_BLOCK);
        for (size_t i = 0; i < n; i++) {
                info_message(&v[i], &o[i]);
                p[i] = &o[i].m;
        }
        out.info = p;
        out.n_info = n;
        r = svc_send(call, &out.base);
        for (size_t i = 0; i < n; i++)
                info_out_release(&o[i]);
        return r;
}

static void list_pump(struct grpc_call *call, void *userdata)
{
        struct list_state *ls = userdata;

        while (ls->next < ls->n) {
                size_t k = MIN((size_t) LIST_BLOCK, ls->n - ls->next);
                int r = send_block(call, &ls->v[ls->next], k);

                if (r == -ENOBUFS)
                        return; /* the writable callback comes back here */
                if (r < 0) {
                        (void) grpc_call_finish(call, RPC_INTERNAL, strerror(-r));
                        list_end(call, RPC_INTERNAL, ls);
                        return;
                }
                ls->next += k;
        }
        (void) grpc_call_finish(call, RPC_OK, NULL);
        list_end(call, RPC_OK, ls);
}

static int list_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Content__V1__ListContentRequest *in = NULL;
        struct content_record *v = NULL;
        struct daemon *d = userdata;
        struct list_state *ls;
        size_t n = 0, k = 0;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__content__v1__list_content_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = content_record_list(d->st->md, ns, &v, &n, err);
        /* the matching records move to the front; the others are released */
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct record_field_ctx c = {.r = &v[i]};
                bool match;

                r = svc_filters_match(in->filters, in->n_filters, record_field, &c, &match, err);
                if (r >= 0 && match) {
                        struct content_record tmp = v[k];

                        v[k++] = v[i];
                        v[i] = tmp;
                }
        }
        if (r < 0) {
                content_records_free(v, n);
                return r;
        }
        for (size_t i = k; i < n; i++)
                content_record_release(&v[i]);
        ls = xnew0(struct list_state, 1);
        *ls = (struct list_state){.v = v, .n = k};
        grpc_call_set_userdata(grpc_call_ref(call), ls, list_end, list_pump);
        list_pump(call, ls);
        return 0;
}

static int delete_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Content__V1__DeleteContentRequest *in = NULL;
        struct daemon *d = userdata;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__content__v1__delete_content_request__descriptor, msg,
                        len, &in, &ns, err);
        if (r < 0)
                return r;
        r = digest_validate(in->digest, err);
        if (r < 0)
                return r;
        r = content_record_delete(d->st->md, ns, in->digest, err);
        if (r == -ENOENT)
                return errmsg_set(err, r, "content digest %s", in->digest);
        if (r < 0)
                return r;
        r = svc_reply_empty(call);
        if (r >= 0) {
                Containerd__Events__ContentDelete ev = CONTAINERD__EVENTS__CONTENT_DELETE__INIT;

                ev.digest = in->digest;
                (void) events_publish(d->events, ns, "/content/delete", &ev.base);
        }
        return r;
}

/* --- Read: a server stream paced by the client ------------------------------------------- */

struct read_state {
        int fd;
        uint64_t offset; /* in the blob */
        uint64_t end;
        int64_t sent; /* the answers' offset: containerd counts from 0, not from the request's */
};

static void read_end(struct grpc_call *call, enum rpc_code code, void *userdata)
{
        struct read_state *rs = userdata;

        (void) code;
        safe_close(rs->fd);
        free(rs);
        grpc_call_set_userdata(call, NULL, NULL, NULL);
        (void) grpc_call_unref(call);
}

/* Sends chunks until the end or until the call's queue is full (then the writable callback
 * comes back here). */
static void read_pump(struct grpc_call *call, void *userdata)
{
        struct read_state *rs = userdata;
        _cleanup_free_ uint8_t *buf = xmalloc(READ_CHUNK);

        while (rs->offset < rs->end) {
                Containerd__Services__Content__V1__ReadContentResponse out =
                        CONTAINERD__SERVICES__CONTENT__V1__READ_CONTENT_RESPONSE__INIT;
                size_t want = (size_t) MIN((uint64_t) READ_CHUNK, rs->end - rs->offset);
                ssize_t got = pread(rs->fd, buf, want, (off_t) rs->offset);
                int r;

                if (got <= 0) {
                        _cleanup_free_ char *m =
                                xasprintf("read blob at %" PRIu64 ": %s", rs->offset,
                                          got < 0 ? strerror(errno) : "unexpected end of file");

                        (void) grpc_call_finish(call, RPC_INTERNAL, m);
                        read_end(call, RPC_INTERNAL, rs);
                        return;
                }
                out.offset = rs->sent;
                out.data.data = buf;
                out.data.len = (size_t) got;
                r = svc_send(call, &out.base);
                if (r == -ENOBUFS)
                        return;
                if (r < 0) {
                        (void) grpc_call_finish(call, RPC_INTERNAL, strerror(-r));
                        read_end(call, RPC_INTERNAL, rs);
                        return;
                }
                rs->offset += (uint64_t) got;
                rs->sent += got;
        }
        (void) grpc_call_finish(call, RPC_OK, NULL);
        read_end(call, RPC_OK, rs);
}

static int read_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Content__V1__ReadContentRequest *in = NULL;
        struct content_record rec = {0};
        struct daemon *d = userdata;
        _cleanup_close_ int fd = -EBADF;
        struct read_state *rs;
        int64_t offset, size;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__content__v1__read_content_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = record_get(d, ns, in->digest, &rec, err);
        if (r < 0)
                return r;
        size = rec.size;
        content_record_release(&rec);
        r = content_store_open_blob(d->st->cs, in->digest, &fd, err);
        if (r == -ENOENT)
                return errmsg_set(err, r, "content digest %s", in->digest);
        if (r < 0)
                return r;
        offset = MAX(in->offset, (int64_t) 0);
        if (offset > size) {
                _cleanup_free_ char *m =
                        xasprintf("read past object length %" PRId64 " bytes", size);

                return grpc_call_finish(call, RPC_OUT_OF_RANGE, m);
        }
        /* size is how much to read, which may run past the blob's end */
        if (in->size <= 0 || in->size > size - offset)
                in->size = size - offset;
        rs = xnew0(struct read_state, 1);
        *rs = (struct read_state){.fd = TAKE_FD(fd),
                                  .offset = (uint64_t) offset,
                                  .end = (uint64_t) (offset + in->size)};
        grpc_call_set_userdata(grpc_call_ref(call), rs, read_end, read_pump);
        read_pump(call, rs);
        return 0;
}

/* --- ingests: Status, ListStatuses, Abort ------------------------------------------------ */

static char *store_ref(const char *ns, const char *ref)
{
        return xasprintf("%s/%s", ns, ref ? ref : "");
}

/* The client's ref of a store ref of ns, or NULL when it belongs to another namespace. */
static const char *client_ref(const char *ns, const char *sref)
{
        size_t n = strlen(ns);

        if (strncmp(sref, ns, n) != 0 || sref[n] != '/')
                return NULL;
        return sref + n + 1;
}

struct status_out {
        status_msg_t m;
        Google__Protobuf__Timestamp started, updated;
};

/* A Status message for st (its strings borrowed from st and ref). */
static void status_message(const struct content_status *st, const char *ref, struct status_out *o)
{
        o->m = (status_msg_t) CONTAINERD__SERVICES__CONTENT__V1__STATUS__INIT;
        o->m.ref = (char *) ref;
        o->m.offset = (int64_t) st->offset;
        o->m.total = (int64_t) st->total;
        svc_timestamp(&st->started_at, &o->started);
        svc_timestamp(&st->updated_at, &o->updated);
        o->m.started_at = &o->started;
        o->m.updated_at = &o->updated;
}

static int status_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Content__V1__StatusRequest *in = NULL;
        Containerd__Services__Content__V1__StatusResponse out =
                CONTAINERD__SERVICES__CONTENT__V1__STATUS_RESPONSE__INIT;
        _cleanup_free_ char *sref = NULL;
        struct content_status st = {0};
        struct daemon *d = userdata;
        struct status_out o;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__content__v1__status_request__descriptor, msg,
                        len, &in, &ns, err);
        if (r < 0)
                return r;
        sref = store_ref(ns, in->ref);
        r = content_store_status(d->st->cs, sref, &st, err);
        if (r == -ENOENT)
                return errmsg_set(err, r, "could not get status for ref \"%s\": reference %s",
                                  in->ref, in->ref);
        if (r < 0)
                return r;
        status_message(&st, in->ref, &o);
        out.status = &o.m;
        r = svc_reply(call, &out.base);
        content_status_release(&st);
        return r;
}

struct list_statuses {
        const char *ns;
        char *const *filters;
        size_t n_filters;
        struct content_status *v;
        size_t n;
        struct errmsg *err;
};

static const char *status_field(const char *field, void *object)
{
        const char *ref = object;

        return STREQ(field, "ref") ? ref : NULL;
}

static int collect_status(const struct content_status *st, void *userdata)
{
        struct list_statuses *ls = userdata;
        const char *ref = client_ref(ls->ns, st->ref);
        bool match;
        int r;

        if (!ref)
                return 0;
        r = svc_filters_match(ls->filters, ls->n_filters, status_field, (void *) ref, &match,
                              ls->err);
        if (r < 0 || !match)
                return r;
        ls->v = xrealloc(ls->v, (ls->n + 1) * sizeof(*ls->v));
        ls->v[ls->n] = *st;
        ls->v[ls->n].ref = xstrdup(ref);
        ls->n++;
        return 0;
}

static int list_statuses_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                            struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Content__V1__ListStatusesRequest *in = NULL;
        Containerd__Services__Content__V1__ListStatusesResponse out =
                CONTAINERD__SERVICES__CONTENT__V1__LIST_STATUSES_RESPONSE__INIT;
        struct daemon *d = userdata;
        struct list_statuses ls = {.err = err};
        struct status_out *o;
        int r;

        r = svc_namespace(call, &ls.ns, err);
        if (r >= 0)
                r = svc_unpack(
                        &containerd__services__content__v1__list_statuses_request__descriptor, msg,
                        len, &in, err);
        if (r < 0)
                return r;
        ls.filters = in->filters;
        ls.n_filters = in->n_filters;
        r = content_store_walk_ingests(d->st->cs, collect_status, &ls);
        o = xnew0(struct status_out, ls.n + 1);
        out.statuses = xnew0(status_msg_t *, ls.n + 1);
        for (size_t i = 0; r >= 0 && i < ls.n; i++) {
                status_message(&ls.v[i], ls.v[i].ref, &o[i]);
                out.statuses[out.n_statuses++] = &o[i].m;
        }
        if (r >= 0)
                r = svc_reply(call, &out.base);
        else if (!err->msg[0])
                r = errmsg_set(err, r, "list ingests: %s", strerror(-r));
        for (size_t i = 0; i < ls.n; i++)
                content_status_release(&ls.v[i]);
        free(ls.v);
        free(out.statuses);
        free(o);
        return r;
}

static int abort_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                    struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Content__V1__AbortRequest *in = NULL;
        _cleanup_free_ char *sref = NULL;
        struct daemon *d = userdata;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__content__v1__abort_request__descriptor, msg,
                        len, &in, &ns, err);
        if (r < 0)
                return r;
        sref = store_ref(ns, in->ref);
        r = content_store_abort(d->st->cs, sref, err);
        if (r == -ENOENT)
                return errmsg_set(err, r, "reference %s", in->ref);
        if (r == -EBUSY)
                return errmsg_set(err, -EAGAIN, "ref %s locked", in->ref);
        return r < 0 ? r : svc_reply_empty(call);
}

/* --- Write: one ingest per call, driven by the client's STAT/WRITE/COMMIT messages ------ */

typedef Containerd__Services__Content__V1__WriteContentRequest write_req_t;
typedef Containerd__Services__Content__V1__WriteContentResponse write_resp_t;

struct write_state {
        const char *ns;    /* borrowed from the call */
        const char *lease; /* borrowed from the call; NULL: none */
        char *ref;         /* the client's */
        char *sref;        /* the store's: "<ns>/<ref>" */
        /* NULL when the blob is in the store already but not recorded in ns (containerd's
         * shared content): nothing to write, the commit records it */
        struct content_writer *w;
        uint64_t shared_size;
        uint64_t total;
        char expected[DIGEST_STR_MAX];
        struct timespec started_at;
};

static void write_state_free(struct write_state *ws)
{
        if (!ws)
                return;
        content_writer_free(ws->w); /* keeps the ingest for a later resume */
        free(ws->ref);
        free(ws->sref);
        free(ws);
}

static void write_end(struct grpc_call *call, enum rpc_code code, void *userdata)
{
        (void) code;
        write_state_free(userdata);
        grpc_call_set_userdata(call, NULL, NULL, NULL);
}

static bool has_record(struct daemon *d, const char *ns, const char *digest)
{
        struct content_record rec = {0};

        if (content_record_get(d->st->md, ns, digest, &rec, NULL) < 0)
                return false;
        content_record_release(&rec);
        return true;
}

static int lease_add(struct daemon *d, const struct write_state *ws, const char *type,
                     const char *id, struct errmsg *err)
{
        int r;

        if (!ws->lease)
                return 0;
        r = lease_add_resource(d->st->md, ws->ns, ws->lease, type, id, err);
        return r < 0 ? errmsg_prefix(err, r, "unable to lease %s", type) : 0;
}

/* The first message: opens (or resumes) the ingest; containerd's metadata Writer. */
static int write_open(struct grpc_call *call, struct daemon *d, const write_req_t *req,
                      struct write_state **ret, struct errmsg *err)
{
        struct write_state *ws;
        struct content_info info;
        const char *ns;
        int r;

        r = svc_namespace(call, &ns, err);
        if (r < 0)
                return r;
        if (!req->ref || !req->ref[0])
                return errmsg_set(err, -EINVAL, "first message must have a reference");
        if (req->expected && req->expected[0] && digest_validate(req->expected, err) < 0)
                return -EINVAL;
        ws = xnew0(struct write_state, 1);
        ws->ns = ns;
        ws->lease = grpc_call_metadata(call, LEASE_METADATA_KEY);
        if (ws->lease && !ws->lease[0])
                ws->lease = NULL;
        ws->ref = xstrdup(req->ref);
        ws->sref = store_ref(ns, req->ref);
        ws->total = req->total > 0 ? (uint64_t) req->total : 0;
        (void) snprintf(ws->expected, sizeof(ws->expected), "%s",
                        req->expected ? req->expected : "");
        (void) clock_gettime(CLOCK_REALTIME, &ws->started_at);
        if (ws->expected[0] && has_record(d, ns, ws->expected)) {
                /* leased all the same, so that the caller's lease holds what it found */
                r = lease_add(d, ws, "content", ws->expected, err);
                if (r >= 0)
                        r = errmsg_set(err, -EEXIST, "content %s", ws->expected);
                goto fail;
        }
        r = lease_add(d, ws, "ingests", ws->ref, err);
        if (r < 0)
                goto fail;
        /* no total for the store: containerd checks the size at the commit, not on write */
        r = content_writer_open(d->st->cs, ws->sref, 0, ws->expected[0] ? ws->expected : NULL,
                                &ws->w, err);
        if (r == -EEXIST && content_store_info(d->st->cs, ws->expected, &info, NULL) >= 0) {
                ws->shared_size = info.size;
                r = 0;
        } else if (r == -EBUSY) {
                r = errmsg_set(err, -EAGAIN, "ref %s locked", ws->ref);
        }
        if (r < 0)
                goto fail;
        *ret = ws;
        return 0;
fail:
        write_state_free(ws);
        return r;
}

static uint64_t write_offset(const struct write_state *ws)
{
        return ws->w ? content_writer_offset(ws->w) : ws->shared_size;
}

/* The commit: the store first, then the record in the call's namespace with the labels.
 * AlreadyExists when the namespace had it (the client counts that as success). */
static int write_commit(struct daemon *d, struct write_state *ws, const write_req_t *req,
                        char digest[DIGEST_STR_MAX], struct errmsg *err)
{
        _cleanup_strv_ char **labels =
                svc_labels_from_map((void *const *) req->labels, req->n_labels);
        uint64_t size = write_offset(ws);
        int r;

        if (ws->total > 0 && size != ws->total)
                return errmsg_set(err, -EBUSY,
                                  "\"%s\" failed size validation: %" PRIu64 " != %" PRIu64, ws->ref,
                                  size, ws->total);
        if (ws->expected[0]) {
                r = lease_add(d, ws, "content", ws->expected, err);
                if (r < 0)
                        return r;
        }
        if (ws->w) {
                r = content_writer_commit(TAKE_PTR(ws->w), size,
                                          ws->expected[0] ? ws->expected : NULL, digest, err);
                /* a mismatch: containerd's FailedPrecondition, in its local store's words */
                if (r == -EBADMSG) {
                        const char *why = strstr(err->msg, "unexpected commit");
                        _cleanup_free_ char *m = xstrdup(why ? why : err->msg);

                        return errmsg_set(err, -EBUSY, "%s", m);
                }
                if (r < 0)
                        return r;
        } else {
                (void) snprintf(digest, DIGEST_STR_MAX, "%s", ws->expected);
        }
        /* the digest now known (without an expected one): leased before anything else runs
         * on the loop, so that no collection can come between */
        if (ws->lease) {
                r = lease_add(d, ws, "content", digest, err);
                if (r < 0)
                        return r;
                (void) lease_delete_resource(d->st->md, ws->ns, ws->lease, "ingests", ws->ref,
                                             NULL);
        }
        if (has_record(d, ws->ns, digest))
                return errmsg_set(err, -EEXIST, "content %s", digest);
        r = content_record_add(d->st->md, ws->ns, digest, (int64_t) size, err);
        if (r >= 0 && labels)
                r = content_record_update_labels(d->st->md, ws->ns, digest, labels, true, err);
        return r;
}

/* WRITE and COMMIT: containerd's offset rules (a non-zero offset must be the current one, 0
 * starts over), the data, then the commit. 1 after a commit. */
static int write_data(struct grpc_call *call, struct write_state *ws, const write_req_t *req,
                      write_resp_t *resp, struct errmsg *err)
{
        uint64_t cur = write_offset(ws);
        int r;

        if (req->offset > 0 && (uint64_t) req->offset != cur) {
                _cleanup_free_ char *m =
                        xasprintf("write @%" PRId64 " must occur at current offset %" PRIu64,
                                  req->offset, cur);

                (void) grpc_call_finish(call, RPC_OUT_OF_RANGE, m);
                return -ECANCELED;
        }
        if (req->offset == 0 && cur > 0) {
                if (!ws->w)
                        return errmsg_set(err, -EBUSY, "content %s exists: nothing to write",
                                          ws->expected);
                r = content_writer_truncate(ws->w, 0, err);
                if (r < 0)
                        return r;
        }
        if (req->data.len > 0) {
                if (!ws->w)
                        return errmsg_set(err, -EBUSY, "content %s exists: nothing to write",
                                          ws->expected);
                r = content_writer_write(ws->w, req->data.data, req->data.len, err);
                if (r == -EFBIG)
                        r = -EBUSY;
                if (r < 0)
                        return r;
        }
        resp->offset = (int64_t) write_offset(ws);
        return 0;
}

/* One request message of the stream; containerd's contentserver Write loop body. */
static int write_message(struct grpc_call *call, struct daemon *d, struct write_state *ws,
                         const write_req_t *req, struct errmsg *err)
{
        write_resp_t resp = CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_RESPONSE__INIT;
        Google__Protobuf__Timestamp started, updated;
        char digest[DIGEST_STR_MAX] = "";
        struct content_status st = {0};
        struct timespec now;
        int r;

        resp.action = req->action;
        resp.offset = (int64_t) write_offset(ws);
        if (req->expected && req->expected[0]) {
                r = digest_validate(req->expected, err);
                if (r < 0)
                        return r;
                (void) snprintf(ws->expected, sizeof(ws->expected), "%s", req->expected);
                if (has_record(d, ws->ns, ws->expected)) {
                        ws->w = content_writer_free(ws->w);
                        (void) content_store_abort(d->st->cs, ws->sref, NULL);
                        return errmsg_set(err, -EEXIST, "blob with expected digest %s exists",
                                          ws->expected);
                }
        }
        if (req->total > 0)
                ws->total = (uint64_t) req->total;
        switch (req->action) {
        case CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__STAT:
                /* the ingest's own times when it has some (a resumed one is older) */
                if (ws->w && content_store_status(d->st->cs, ws->sref, &st, NULL) >= 0) {
                        ws->started_at = st.started_at;
                        now = st.updated_at;
                        content_status_release(&st);
                } else {
                        (void) clock_gettime(CLOCK_REALTIME, &now);
                }
                svc_timestamp(&ws->started_at, &started);
                svc_timestamp(&now, &updated);
                resp.started_at = &started;
                resp.updated_at = &updated;
                resp.total = (int64_t) ws->total;
                break;
        case CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__WRITE:
        case CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__COMMIT:
                r = write_data(call, ws, req, &resp, err);
                if (r >= 0 &&
                    req->action == CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__COMMIT)
                        r = write_commit(d, ws, req, digest, err);
                if (r < 0)
                        return r;
                resp.digest = digest;
                break;
        default:
                return errmsg_set(err, -EINVAL, "write action %d", (int) req->action);
        }
        r = svc_send(call, &resp.base);
        if (r == -ENOBUFS) /* a client that sends without reading: ends the call */
                r = errmsg_set(err, -EAGAIN, "write %s: the client does not read", ws->ref);
        if (r >= 0 && req->action == CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__COMMIT)
                r = grpc_call_finish(call, RPC_OK, NULL);
        return r;
}

static int write_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                    struct errmsg *err)
{
        _cleanup_pb_ write_req_t *req = NULL;
        struct write_state *ws = grpc_call_get_userdata(call);
        struct daemon *d = userdata;
        int r;

        if (!msg) { /* the client is done without a commit: the ingest stays for later */
                write_end(call, RPC_OK, ws);
                return grpc_call_finish(call, RPC_OK, NULL);
        }
        r = svc_unpack(&containerd__services__content__v1__write_content_request__descriptor, msg,
                       len, &req, err);
        if (r >= 0 && !ws) {
                r = write_open(call, d, req, &ws, err);
                if (r >= 0)
                        grpc_call_set_userdata(call, ws, write_end, NULL);
        }
        if (r >= 0)
                r = write_message(call, d, ws, req, err);
        if (r < 0 || grpc_call_is_cancelled(call) ||
            req->action == CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__COMMIT)
                write_end(call, RPC_OK, grpc_call_get_userdata(call));
        return r == -ECANCELED ? 0 : r;
}

const struct grpc_method svc_content_methods[] = {
        {"/containerd.services.content.v1.Content/Info", GRPC_UNARY, info_fn},
        {"/containerd.services.content.v1.Content/Update", GRPC_UNARY, update_fn},
        {"/containerd.services.content.v1.Content/List", GRPC_SERVER_STREAMING, list_fn},
        {"/containerd.services.content.v1.Content/Delete", GRPC_UNARY, delete_fn},
        {"/containerd.services.content.v1.Content/Read", GRPC_SERVER_STREAMING, read_fn},
        {"/containerd.services.content.v1.Content/Status", GRPC_UNARY, status_fn},
        {"/containerd.services.content.v1.Content/ListStatuses", GRPC_UNARY, list_statuses_fn},
        {"/containerd.services.content.v1.Content/Write", GRPC_BIDI_STREAMING, write_fn},
        {"/containerd.services.content.v1.Content/Abort", GRPC_UNARY, abort_fn},
        {NULL},
};
