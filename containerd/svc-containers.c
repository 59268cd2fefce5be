/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.services.containers.v1.Containers over the container records (metadata.h).
 * The runtime options and the spec are kept as packed google.protobuf.Any values, the
 * extensions as a packed Container message holding only them; Update follows containerd's
 * field paths (labels[.key], spec, extensions[.key], image, snapshotkey).
 */
#include "containerd/events.h"
#include "containerd/events/container.pb-c.h"
#include "containerd/metadata.h"
#include "containerd/netns.h"
#include "containerd/services/containers/v1/containers.pb-c.h"
#include "containerd/svc.h"
#include "google/protobuf/any.pb-c.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

typedef Containerd__Services__Containers__V1__Container container_msg_t;

static void *pack_message(const ProtobufCMessage *m, size_t *ret_size)
{
        size_t len = protobuf_c_message_get_packed_size(m);
        uint8_t *buf = xmalloc(len ? len : 1);

        *ret_size = protobuf_c_message_pack(m, buf);
        return buf;
}

/* The record of a container message; its strings are borrowed, its blobs the record's. */
static void record_from_message(const container_msg_t *c, struct container_record *r)
{
        container_msg_t ext = CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__INIT;

        *r = (struct container_record){
                .id = c->id,
                .image = c->image,
                .runtime_name = c->runtime ? c->runtime->name : NULL,
                .snapshotter = c->snapshotter,
                .snapshot_key = c->snapshot_key,
                .labels = svc_labels_from_map((void *const *) c->labels, c->n_labels),
        };
        if (c->runtime && c->runtime->options)
                r->runtime_options =
                        pack_message(&c->runtime->options->base, &r->runtime_options_size);
        if (c->spec)
                r->spec = pack_message(&c->spec->base, &r->spec_size);
        if (c->n_extensions > 0) {
                ext.n_extensions = c->n_extensions;
                ext.extensions = c->extensions;
                r->extensions = pack_message(&ext.base, &r->extensions_size);
        }
}

static void record_from_message_release(struct container_record *r)
{
        free(r->runtime_options);
        free(r->spec);
        free(r->extensions);
        strv_free(r->labels);
}

/* A message for record r, in a context that owns what it points to. */
struct container_out {
        container_msg_t c;
        Containerd__Services__Containers__V1__Container__Runtime runtime;
        Google__Protobuf__Timestamp created, updated;
        Google__Protobuf__Any *options;
        Google__Protobuf__Any *spec;
        container_msg_t *ext;
};

static void message_from_record(const struct container_record *r, struct container_out *o)
{
        size_t n;

        o->c = (container_msg_t) CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__INIT;
        o->runtime = (Containerd__Services__Containers__V1__Container__Runtime)
                CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__RUNTIME__INIT;
        o->c.id = r->id;
        o->c.image = r->image ? r->image : (char *) "";
        o->c.snapshotter = r->snapshotter ? r->snapshotter : (char *) "";
        o->c.snapshot_key = r->snapshot_key ? r->snapshot_key : (char *) "";
        o->runtime.name = r->runtime_name;
        o->options = r->runtime_options ? google__protobuf__any__unpack(
                                                  NULL, r->runtime_options_size, r->runtime_options)
                                        : NULL;
        o->runtime.options = o->options;
        o->c.runtime = &o->runtime;
        o->spec = r->spec ? google__protobuf__any__unpack(NULL, r->spec_size, r->spec) : NULL;
        o->c.spec = o->spec;
        o->ext = r->extensions ? containerd__services__containers__v1__container__unpack(
                                         NULL, r->extensions_size, r->extensions)
                               : NULL;
        if (o->ext) {
                o->c.n_extensions = o->ext->n_extensions;
                o->c.extensions = o->ext->extensions;
        }
        o->c.labels = (Containerd__Services__Containers__V1__Container__LabelsEntry **)
                svc_map_from_labels(
                        r->labels,
                        &containerd__services__containers__v1__container__labels_entry__descriptor,
                        &n);
        o->c.n_labels = n;
        svc_timestamp(&r->created_at, &o->created);
        svc_timestamp(&r->updated_at, &o->updated);
        o->c.created_at = &o->created;
        o->c.updated_at = &o->updated;
}

static void container_out_release(struct container_out *o)
{
        svc_map_free((void **) o->c.labels, o->c.n_labels);
        if (o->options)
                google__protobuf__any__free_unpacked(o->options, NULL);
        if (o->spec)
                google__protobuf__any__free_unpacked(o->spec, NULL);
        if (o->ext)
                containerd__services__containers__v1__container__free_unpacked(o->ext, NULL);
}

/* /containers/create or /containers/update for c as stored, with containerd's fields. */
static void publish_container(struct daemon *d, const char *ns, const char *topic,
                              const container_msg_t *c)
{
        if (STREQ(topic, "/containers/create")) {
                Containerd__Events__ContainerCreate ev = CONTAINERD__EVENTS__CONTAINER_CREATE__INIT;
                Containerd__Events__ContainerCreate__Runtime rt =
                        CONTAINERD__EVENTS__CONTAINER_CREATE__RUNTIME__INIT;

                ev.id = c->id;
                ev.image = c->image;
                if (c->runtime) {
                        rt.name = c->runtime->name;
                        rt.options = c->runtime->options;
                        ev.runtime = &rt;
                }
                (void) events_publish(d->events, ns, topic, &ev.base);
        } else {
                Containerd__Events__ContainerUpdate ev = CONTAINERD__EVENTS__CONTAINER_UPDATE__INIT;
                char **labels = svc_labels_from_map((void *const *) c->labels, c->n_labels);

                ev.id = c->id;
                ev.image = c->image;
                ev.snapshot_key = c->snapshot_key;
                ev.labels =
                        (Containerd__Events__ContainerUpdate__LabelsEntry **) svc_map_from_labels(
                                labels,
                                &containerd__events__container_update__labels_entry__descriptor,
                                &ev.n_labels);
                (void) events_publish(d->events, ns, topic, &ev.base);
                svc_map_free((void **) ev.labels, ev.n_labels);
                strv_free(labels);
        }
}

/* Answers with the record of ns/id as it is now, in a response whose only field is the
 * container (Get, Create and Update answers share that layout). */
static int reply_container(struct grpc_call *call, struct daemon *d, const char *ns, const char *id,
                           const ProtobufCMessageDescriptor *desc, const char *topic,
                           struct errmsg *err)
{
        Containerd__Services__Containers__V1__GetContainerResponse out =
                CONTAINERD__SERVICES__CONTAINERS__V1__GET_CONTAINER_RESPONSE__INIT;
        struct container_record rec;
        struct container_out o;
        int r = container_get(d->st->md, ns, id, &rec, err);

        if (r < 0)
                return r;
        message_from_record(&rec, &o);
        out.base.descriptor = desc;
        out.container = &o.c;
        r = svc_reply(call, &out.base);
        if (r >= 0 && topic)
                publish_container(d, ns, topic, &o.c);
        container_out_release(&o);
        container_record_release(&rec);
        return r;
}

static int get_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                  struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__GetContainerRequest *in = NULL;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__containers__v1__get_container_request__descriptor,
                        msg, len, &in, &ns, err);
        return r < 0 ? r
                     : reply_container(
                               call, userdata, ns, in->id,
                               &containerd__services__containers__v1__get_container_response__descriptor,
                               NULL, err);
}

static const char *record_field(const char *field, void *object)
{
        const struct container_record *r = object;

        if (STREQ(field, "id"))
                return r->id;
        if (STREQ(field, "image"))
                return r->image;
        if (STREQ(field, "runtime.name"))
                return r->runtime_name;
        if (STREQ(field, "snapshotter"))
                return r->snapshotter;
        if (STREQ(field, "snapshotkey"))
                return r->snapshot_key;
        return svc_label_field(field, r->labels);
}

/* Sends the containers of ns matching filters: one List answer, or one message each. */
static int list_common(struct grpc_call *call, struct daemon *d, const uint8_t *msg, size_t len,
                       bool is_stream, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__ListContainersRequest *in = NULL;
        Containerd__Services__Containers__V1__ListContainersResponse out =
                CONTAINERD__SERVICES__CONTAINERS__V1__LIST_CONTAINERS_RESPONSE__INIT;
        struct container_record *v = NULL;
        struct container_out *o = NULL;
        size_t n = 0;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__containers__v1__list_containers_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = container_list(d->st->md, ns, &v, &n, err);
        o = xnew0(struct container_out, n + 1);
        out.containers = xnew0(container_msg_t *, n + 1);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                bool match;

                r = svc_filters_match(in->filters, in->n_filters, record_field, &v[i], &match, err);
                if (r < 0 || !match)
                        continue;
                message_from_record(&v[i], &o[out.n_containers]);
                out.containers[out.n_containers] = &o[out.n_containers].c;
                out.n_containers++;
        }
        for (size_t i = 0; r >= 0 && is_stream && i < out.n_containers; i++) {
                Containerd__Services__Containers__V1__ListContainerMessage m =
                        CONTAINERD__SERVICES__CONTAINERS__V1__LIST_CONTAINER_MESSAGE__INIT;

                m.container = out.containers[i];
                r = svc_send(call, &m.base);
        }
        if (r >= 0)
                r = is_stream ? grpc_call_finish(call, RPC_OK, NULL) : svc_reply(call, &out.base);
        for (size_t i = 0; i < out.n_containers; i++)
                container_out_release(&o[i]);
        free(out.containers);
        free(o);
        container_records_free(v, n);
        return r;
}

static int list_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        return list_common(call, userdata, msg, len, false, err);
}

static int list_stream_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                          struct errmsg *err)
{
        return list_common(call, userdata, msg, len, true, err);
}

/* Where a container's persistent network namespace lives (netns.h); the caller's. */
static char *netns_path(const struct daemon *d, const char *ns, const char *id)
{
        return xasprintf("%s/netns/%s/%s", d->o.state, ns, id);
}

/* Points rec's spec (a packed Any holding runtime-spec JSON) at the netns path. */
static int spec_join_netns(struct container_record *rec, const char *path, struct errmsg *err)
{
        Google__Protobuf__Any *any = NULL;
        _cleanup_free_ char *json = NULL;
        size_t json_len;
        int r;

        if (rec->spec)
                any = google__protobuf__any__unpack(NULL, rec->spec_size, rec->spec);
        if (!any)
                return errmsg_set(err, -EINVAL, "label %s: the container has no spec", NETNS_LABEL);
        r = netns_spec_join((const char *) any->value.data, any->value.len, path, &json, &json_len,
                            err);
        if (r >= 0) {
                ProtobufCBinaryData old = any->value;

                any->value = (ProtobufCBinaryData){json_len, (uint8_t *) json};
                free(rec->spec);
                rec->spec = pack_message(&any->base, &rec->spec_size);
                any->value = old;
        }
        google__protobuf__any__free_unpacked(any, NULL);
        return r;
}

/*
 * A new container labelled NETNS_LABEL=NETNS_NEW gets its persistent network namespace
 * before it is recorded: made, joined by the spec, its path in NETNS_PATH_LABEL. *ret_path
 * (the caller's, NULL when none was made) is removed by the caller if recording fails.
 */
static int netns_setup(struct daemon *d, const char *ns, struct container_record *rec,
                       char **ret_path, struct errmsg *err)
{
        const char *want = svc_label_field("labels." NETNS_LABEL, rec->labels);
        _cleanup_free_ char *dir = NULL, *path = NULL;
        struct container_record existing;
        int r;

        *ret_path = NULL;
        if (svc_label_field("labels." NETNS_PATH_LABEL, rec->labels))
                return errmsg_set(err, -EINVAL, "label %s: set by the daemon, not by clients",
                                  NETNS_PATH_LABEL);
        if (!want)
                return 0;
        if (!STREQ(want, NETNS_NEW))
                return errmsg_set(err, -EINVAL, "label %s: \"%s\": only \"%s\" is known",
                                  NETNS_LABEL, want, NETNS_NEW);
        r = identifier_validate("container id", rec->id ?: "", err);
        if (r < 0)
                return r;
        /* an existing container keeps its namespace; container_put gives the error */
        if (container_get(d->st->md, ns, rec->id, &existing, NULL) >= 0) {
                container_record_release(&existing);
                return 0;
        }
        dir = xasprintf("%s/netns", d->o.state);
        r = netns_create(dir, ns, rec->id, &path, err);
        if (r < 0)
                return r;
        r = spec_join_netns(rec, path, err);
        if (r < 0) {
                (void) netns_remove(path, NULL);
                return r;
        }
        strv_push(&rec->labels, NETNS_PATH_LABEL);
        strv_push(&rec->labels, path);
        *ret_path = TAKE_PTR(path);
        return 0;
}

static int create_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__CreateContainerRequest *in = NULL;
        struct daemon *d = userdata;
        _cleanup_free_ char *netns = NULL;
        struct container_record rec;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__containers__v1__create_container_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0 && !in->container)
                r = errmsg_set(err, -EINVAL, "container: missing");
        if (r < 0)
                return r;
        record_from_message(in->container, &rec);
        r = netns_setup(d, ns, &rec, &netns, err);
        if (r >= 0)
                r = container_put(d->st->md, ns, &rec, false, err);
        if (r < 0 && netns)
                (void) netns_remove(netns, NULL);
        record_from_message_release(&rec);
        return r < 0 ? r
                     : reply_container(
                               call, d, ns, in->container->id,
                               &containerd__services__containers__v1__create_container_response__descriptor,
                               "/containers/create", err);
}

/* Applies the update's field paths (containerd's semantics) to the current record. */
static int apply_paths(const Containerd__Services__Containers__V1__UpdateContainerRequest *in,
                       struct container_record *cur, struct container_record *upd,
                       struct errmsg *err)
{
        for (size_t i = 0; i < in->update_mask->n_paths; i++) {
                const char *p = in->update_mask->paths[i];

                if (STREQ(p, "labels")) {
                        strv_free(cur->labels);
                        cur->labels = strv_copy(upd->labels);
                } else if (strncmp(p, "labels.", 7) == 0) {
                        const char *v = svc_label_field(p, upd->labels);
                        char *set[] = {(char *) p + 7, (char *) (v ? v : ""), NULL};
                        char **kept = NULL;

                        for (size_t j = 0; cur->labels && cur->labels[j]; j += 2)
                                if (!STREQ(cur->labels[j], p + 7)) {
                                        (void) strv_push(&kept, cur->labels[j]);
                                        (void) strv_push(&kept, cur->labels[j + 1]);
                                }
                        if (set[1][0]) {
                                (void) strv_push(&kept, set[0]);
                                (void) strv_push(&kept, set[1]);
                        }
                        strv_free(cur->labels);
                        cur->labels = kept;
                } else if (STREQ(p, "spec")) {
                        free(cur->spec);
                        cur->spec = TAKE_PTR(upd->spec);
                        cur->spec_size = upd->spec_size;
                } else if (STREQ(p, "extensions") || strncmp(p, "extensions.", 11) == 0) {
                        free(cur->extensions);
                        cur->extensions = TAKE_PTR(upd->extensions);
                        cur->extensions_size = upd->extensions_size;
                } else if (STREQ(p, "image")) {
                        free(cur->image);
                        cur->image = xstrdup(upd->image ? upd->image : "");
                } else if (STREQ(p, "snapshotkey")) {
                        free(cur->snapshot_key);
                        cur->snapshot_key = xstrdup(upd->snapshot_key ? upd->snapshot_key : "");
                } else {
                        return errmsg_set(err, -EINVAL, "cannot update %s field on %s", p, cur->id);
                }
        }
        return 0;
}

static int update_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__UpdateContainerRequest *in = NULL;
        struct container_record cur = {0}, upd;
        struct daemon *d = userdata;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__containers__v1__update_container_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0 && !in->container)
                r = errmsg_set(err, -EINVAL, "container: missing");
        if (r >= 0)
                r = container_get(d->st->md, ns, in->container->id, &cur, err);
        if (r < 0)
                return r;
        record_from_message(in->container, &upd);
        if (in->update_mask && in->update_mask->n_paths > 0)
                r = apply_paths(in, &cur, &upd, err);
        r = r < 0 ? r
                  : container_put(d->st->md, ns,
                                  in->update_mask && in->update_mask->n_paths > 0 ? &cur : &upd,
                                  true, err);
        record_from_message_release(&upd);
        container_record_release(&cur);
        return r < 0 ? r
                     : reply_container(
                               call, d, ns, in->container->id,
                               &containerd__services__containers__v1__update_container_response__descriptor,
                               "/containers/update", err);
}

static int delete_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__DeleteContainerRequest *in = NULL;
        struct daemon *d = userdata;
        struct container_record rec;
        bool has_netns;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__containers__v1__delete_container_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = container_get(d->st->md, ns, in->id, &rec, err);
        if (r < 0)
                return r;
        has_netns = svc_label_field("labels." NETNS_PATH_LABEL, rec.labels) != NULL;
        container_record_release(&rec);
        r = container_delete(d->st->md, ns, in->id, err);
        if (r < 0)
                return r;
        /* the path the daemon made, not the label's value: labels can be updated */
        if (has_netns) {
                _cleanup_free_ char *path = netns_path(d, ns, in->id);
                struct errmsg e = {0};

                if (netns_remove(path, &e) < 0)
                        log_warn("container %s/%s: %s, ignoring", ns, in->id, e.msg);
        }
        r = svc_reply_empty(call);
        if (r >= 0) {
                Containerd__Events__ContainerDelete ev = CONTAINERD__EVENTS__CONTAINER_DELETE__INIT;

                ev.id = in->id;
                (void) events_publish(d->events, ns, "/containers/delete", &ev.base);
        }
        return r;
}

const struct grpc_method svc_containers_methods[] = {
        {"/containerd.services.containers.v1.Containers/Get", GRPC_UNARY, get_fn},
        {"/containerd.services.containers.v1.Containers/List", GRPC_UNARY, list_fn},
        {"/containerd.services.containers.v1.Containers/ListStream", GRPC_SERVER_STREAMING,
         list_stream_fn},
        {"/containerd.services.containers.v1.Containers/Create", GRPC_UNARY, create_fn},
        {"/containerd.services.containers.v1.Containers/Update", GRPC_UNARY, update_fn},
        {"/containerd.services.containers.v1.Containers/Delete", GRPC_UNARY, delete_fn},
        {NULL},
};
