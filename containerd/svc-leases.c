/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.services.leases.v1.Leases over the lease records (metadata.h), as containerd's
 * services/leases/service.go and metadata/leases.go: Create takes an id or makes one, Delete
 * collects garbage afterwards (gc.h; with "sync" a failure of the collection is the call's),
 * List filters on "id" and "labels.<key>", resources are "content", "ingests" and
 * "snapshots/<snapshotter>".
 */
#include <inttypes.h>
#include <sys/random.h>

#include "containerd/gc.h"
#include "containerd/services/leases/v1/leases.pb-c.h"
#include "containerd/svc.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

typedef Containerd__Services__Leases__V1__Lease lease_msg_t;

/* A Lease message for r; it points into r, which must outlive it. */
static void lease_message(const struct lease_record *r, lease_msg_t *ret,
                          Google__Protobuf__Timestamp *ts)
{
        size_t n;

        *ret = (lease_msg_t) CONTAINERD__SERVICES__LEASES__V1__LEASE__INIT;
        ret->id = r->id;
        svc_timestamp(&r->created_at, ts);
        ret->created_at = ts;
        ret->labels = (Containerd__Services__Leases__V1__Lease__LabelsEntry **) svc_map_from_labels(
                r->labels, &containerd__services__leases__v1__lease__labels_entry__descriptor, &n);
        ret->n_labels = n;
}

static void lease_message_release(lease_msg_t *m)
{
        svc_map_free((void **) m->labels, m->n_labels);
}

/* containerd's leases.WithRandomID: "<nanoseconds>-<random>". */
static char *random_lease_id(void)
{
        uint8_t b[8] = {0};
        struct timespec now;
        char hex[2 * sizeof(b) + 1];

        (void) clock_gettime(CLOCK_REALTIME, &now);
        if (getrandom(b, sizeof(b), GRND_NONBLOCK) < 0)
                memcpy(b, &now, MIN(sizeof(b), sizeof(now)));
        for (size_t i = 0; i < sizeof(b); i++)
                (void) snprintf(hex + 2 * i, 3, "%02x", b[i]);
        return xasprintf("%ld-%s", now.tv_nsec, hex);
}

/* containerd's wording for a lease that is missing or there already: "lease \"x\"" (dispatch
 * adds ": not found" or ": already exists"). */
static int lease_error(int r, const char *id, struct errmsg *err)
{
        if (r == -ENOENT || r == -EEXIST)
                return errmsg_set(err, r, "lease \"%s\"", id);
        return r;
}

/* The record of lease id in ns, found by listing (ret: the caller's, released by the caller
 * with lease_records_free(ret, 1)). */
static int lease_find(struct daemon *d, const char *ns, const char *id, struct lease_record **ret,
                      struct errmsg *err)
{
        struct lease_record *v = NULL;
        size_t n = 0;
        int r;

        r = lease_list(d->st->md, ns, &v, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (STREQ(v[i].id, id)) {
                        struct lease_record *one = xnew0(struct lease_record, 1);

                        *one = v[i];
                        v[i] = (struct lease_record){0};
                        lease_records_free(v, n);
                        *ret = one;
                        return 0;
                }
        lease_records_free(v, n);
        return errmsg_set(err, -ENOENT, "lease \"%s\"", id);
}

static int create_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Leases__V1__CreateRequest *in = NULL;
        Containerd__Services__Leases__V1__CreateResponse out =
                CONTAINERD__SERVICES__LEASES__V1__CREATE_RESPONSE__INIT;
        _cleanup_strv_ char **labels = NULL;
        _cleanup_free_ char *id = NULL;
        struct lease_record *rec = NULL;
        struct daemon *d = userdata;
        Google__Protobuf__Timestamp ts;
        lease_msg_t lm;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__leases__v1__create_request__descriptor, msg,
                        len, &in, &ns, err);
        if (r < 0)
                return r;
        id = in->id && in->id[0] ? xstrdup(in->id) : random_lease_id();
        labels = svc_labels_from_map((void *const *) in->labels, in->n_labels);
        r = lease_create(d->st->md, ns, id, labels, err);
        if (r < 0)
                return lease_error(r, id, err);
        r = lease_find(d, ns, id, &rec, err);
        if (r < 0)
                return r;
        lease_message(rec, &lm, &ts);
        out.lease = &lm;
        r = svc_reply(call, &out.base);
        lease_message_release(&lm);
        lease_records_free(rec, 1);
        return r;
}

/* Collects garbage with every snapshotter the store has. */
static int collect_garbage(struct daemon *d, struct errmsg *err)
{
        struct snapshotter *sns[_SNAPSHOTTER_TYPE_MAX];
        struct gc_result res = {0};
        size_t n = 0;
        int r;

        for (size_t i = 0; i < _SNAPSHOTTER_TYPE_MAX; i++)
                if (d->st->snapshotters[i])
                        sns[n++] = d->st->snapshotters[i];
        r = metadata_gc(d->st->md, d->st->cs, sns, n, &res, err);
        if (r >= 0)
                log_debug("gc: removed %zu content records, %zu snapshots, %zu blobs (%" PRIu64
                          " bytes)",
                          res.n_content_records, res.n_snapshots, res.n_blobs, res.blob_bytes);
        return r;
}

static int delete_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Leases__V1__DeleteRequest *in = NULL;
        struct daemon *d = userdata;
        struct errmsg gc_err = {0};
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__leases__v1__delete_request__descriptor, msg,
                        len, &in, &ns, err);
        if (r < 0)
                return r;
        r = lease_delete(d->st->md, ns, in->id, err);
        if (r < 0)
                return lease_error(r, in->id, err);
        /* containerd schedules a collection after every lease deletion and waits for it only
         * with "sync"; ours runs at once, and only a synchronous delete reports its failure. */
        r = collect_garbage(d, &gc_err);
        if (r < 0 && in->sync)
                return errmsg_set(err, r, "%s", gc_err.msg);
        if (r < 0)
                log_warn("delete lease %s: gc: %s, ignoring", in->id, gc_err.msg);
        return svc_reply_empty(call);
}

static const char *lease_field(const char *field, void *object)
{
        const struct lease_record *l = object;

        if (STREQ(field, "id"))
                return l->id;
        return svc_label_field(field, l->labels);
}

static int list_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Leases__V1__ListRequest *in = NULL;
        Containerd__Services__Leases__V1__ListResponse out =
                CONTAINERD__SERVICES__LEASES__V1__LIST_RESPONSE__INIT;
        struct lease_record *v = NULL;
        Google__Protobuf__Timestamp *ts;
        struct daemon *d = userdata;
        lease_msg_t *lm;
        size_t n = 0;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__leases__v1__list_request__descriptor, msg, len,
                        &in, &ns, err);
        if (r >= 0)
                r = lease_list(d->st->md, ns, &v, &n, err);
        if (r < 0)
                return r;
        lm = xnew0(lease_msg_t, n + 1);
        ts = xnew0(Google__Protobuf__Timestamp, n + 1);
        out.leases = xnew0(lease_msg_t *, n + 1);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                bool match;

                r = svc_filters_match(in->filters, in->n_filters, lease_field, &v[i], &match, err);
                if (r < 0 || !match)
                        continue;
                lease_message(&v[i], &lm[out.n_leases], &ts[out.n_leases]);
                out.leases[out.n_leases] = &lm[out.n_leases];
                out.n_leases++;
        }
        if (r >= 0)
                r = svc_reply(call, &out.base);
        for (size_t i = 0; i < out.n_leases; i++)
                lease_message_release(&lm[i]);
        free(out.leases);
        free(ts);
        free(lm);
        lease_records_free(v, n);
        return r;
}

/* AddResource and DeleteResource: the same request layout. */
static int resource_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                       bool is_add, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Leases__V1__AddResourceRequest *in = NULL;
        struct lease_record *rec = NULL;
        struct daemon *d = userdata;
        const char *ns;
        int r;

        r = svc_namespace(call, &ns, err);
        if (r >= 0)
                r = svc_unpack(
                        is_add ? &containerd__services__leases__v1__add_resource_request__descriptor
                               : &containerd__services__leases__v1__delete_resource_request__descriptor,
                        msg, len, &in, err);
        if (r >= 0 && !in->resource)
                r = errmsg_set(err, -EINVAL, "resource: missing");
        if (r >= 0 && !is_add) /* removing from a missing lease is NotFound too */
                r = lease_find(d, ns, in->id, &rec, err);
        lease_records_free(rec, rec ? 1 : 0);
        if (r < 0)
                return r;
        r = is_add ? lease_add_resource(d->st->md, ns, in->id, in->resource->type, in->resource->id,
                                        err)
                   : lease_delete_resource(d->st->md, ns, in->id, in->resource->type,
                                           in->resource->id, err);
        return r < 0 ? lease_error(r, in->id, err) : svc_reply_empty(call);
}

static int add_resource_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                           struct errmsg *err)
{
        return resource_fn(call, msg, len, userdata, true, err);
}

static int delete_resource_fn(struct grpc_call *call, const uint8_t *msg, size_t len,
                              void *userdata, struct errmsg *err)
{
        return resource_fn(call, msg, len, userdata, false, err);
}

static int list_resources_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                             struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Leases__V1__ListResourcesRequest *in = NULL;
        Containerd__Services__Leases__V1__ListResourcesResponse out =
                CONTAINERD__SERVICES__LEASES__V1__LIST_RESOURCES_RESPONSE__INIT;
        _cleanup_strv_ char **res = NULL;
        struct lease_record *rec = NULL;
        struct daemon *d = userdata;
        Containerd__Services__Leases__V1__Resource *v;
        size_t n;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__leases__v1__list_resources_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = lease_find(d, ns, in->id, &rec, err);
        lease_records_free(rec, rec ? 1 : 0);
        if (r >= 0)
                r = lease_list_resources(d->st->md, ns, in->id, &res, err);
        if (r < 0)
                return r;
        n = strv_length(res) / 2;
        v = xnew0(Containerd__Services__Leases__V1__Resource, n + 1);
        out.resources = xnew0(Containerd__Services__Leases__V1__Resource *, n + 1);
        for (size_t i = 0; i < n; i++) {
                v[i] = (Containerd__Services__Leases__V1__Resource)
                        CONTAINERD__SERVICES__LEASES__V1__RESOURCE__INIT;
                v[i].type = res[2 * i];
                v[i].id = res[2 * i + 1];
                out.resources[out.n_resources++] = &v[i];
        }
        r = svc_reply(call, &out.base);
        free(out.resources);
        free(v);
        return r;
}

const struct grpc_method svc_leases_methods[] = {
        {"/containerd.services.leases.v1.Leases/Create", GRPC_UNARY, create_fn},
        {"/containerd.services.leases.v1.Leases/Delete", GRPC_UNARY, delete_fn},
        {"/containerd.services.leases.v1.Leases/List", GRPC_UNARY, list_fn},
        {"/containerd.services.leases.v1.Leases/AddResource", GRPC_UNARY, add_resource_fn},
        {"/containerd.services.leases.v1.Leases/DeleteResource", GRPC_UNARY, delete_resource_fn},
        {"/containerd.services.leases.v1.Leases/ListResources", GRPC_UNARY, list_resources_fn},
        {NULL},
};
