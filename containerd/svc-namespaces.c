/* SPDX-License-Identifier: Apache-2.0 */
/* containerd.services.namespaces.v1.Namespaces over the metadata (metadata.h). */
#include "containerd/events.h"
#include "containerd/events/namespace.pb-c.h"
#include "containerd/services/namespaces/v1/namespace.pb-c.h"
#include "containerd/svc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

typedef Containerd__Services__Namespaces__V1__Namespace ns_msg_t;

/* A Namespace message for name with its labels (both borrowed: they must outlive it). */
static void ns_message(const char *name, char *const *labels, ns_msg_t *ret)
{
        size_t n;

        *ret = (ns_msg_t) CONTAINERD__SERVICES__NAMESPACES__V1__NAMESPACE__INIT;
        ret->name = (char *) name;
        ret->labels = (Containerd__Services__Namespaces__V1__Namespace__LabelsEntry **)
                svc_map_from_labels(
                        labels,
                        &containerd__services__namespaces__v1__namespace__labels_entry__descriptor,
                        &n);
        ret->n_labels = n;
}

static void ns_message_release(ns_msg_t *m)
{
        svc_map_free((void **) m->labels, m->n_labels);
}

static int get_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                  struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Namespaces__V1__GetNamespaceRequest *in = NULL;
        Containerd__Services__Namespaces__V1__GetNamespaceResponse out =
                CONTAINERD__SERVICES__NAMESPACES__V1__GET_NAMESPACE_RESPONSE__INIT;
        _cleanup_strv_ char **labels = NULL;
        struct daemon *d = userdata;
        ns_msg_t ns;
        int r;

        r = svc_unpack(&containerd__services__namespaces__v1__get_namespace_request__descriptor,
                       msg, len, &in, err);
        if (r < 0)
                return r;
        /* containerd answers a namespace it does not know with no labels, not NOT_FOUND:
         * its client's New() reads the default namespace's labels (dockerd's "moby") before
         * anything created it. */
        r = namespace_labels(d->st->md, in->name, &labels, err);
        if (r == -ENOENT)
                r = 0;
        if (r < 0)
                return r;
        ns_message(in->name, labels, &ns);
        out.namespace_ = &ns;
        r = svc_reply(call, &out.base);
        ns_message_release(&ns);
        return r;
}

static int list_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        Containerd__Services__Namespaces__V1__ListNamespacesResponse out =
                CONTAINERD__SERVICES__NAMESPACES__V1__LIST_NAMESPACES_RESPONSE__INIT;
        _cleanup_strv_ char **names = NULL;
        struct daemon *d = userdata;
        size_t n;
        char ***labels;
        ns_msg_t *v, **p;
        int r;

        (void) msg;
        (void) len;
        r = namespace_list(d->st->md, &names, err);
        if (r < 0)
                return r;
        n = strv_length(names);
        labels = xnew0(char **, n + 1);
        v = xnew0(ns_msg_t, n + 1);
        p = xnew0(ns_msg_t *, n + 1);
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = namespace_labels(d->st->md, names[i], &labels[i], err);
                if (r == -ENOENT) /* deleted meanwhile */
                        r = 0;
                ns_message(names[i], labels[i], &v[i]);
                p[out.n_namespaces++] = &v[i];
        }
        out.namespaces = p;
        if (r >= 0)
                r = svc_reply(call, &out.base);
        for (size_t i = 0; i < n; i++) {
                ns_message_release(&v[i]);
                strv_free(labels[i]);
        }
        free(labels);
        free(v);
        free(p);
        return r;
}

/* The reply of Create and Update: the namespace as it is now. */
static int reply_namespace(struct grpc_call *call, struct daemon *d, const char *name,
                           const ProtobufCMessageDescriptor *desc, struct errmsg *err)
{
        Containerd__Services__Namespaces__V1__CreateNamespaceResponse out =
                CONTAINERD__SERVICES__NAMESPACES__V1__CREATE_NAMESPACE_RESPONSE__INIT;
        _cleanup_strv_ char **labels = NULL;
        ns_msg_t ns;
        int r;

        r = namespace_labels(d->st->md, name, &labels, err);
        if (r < 0)
                return r;
        ns_message(name, labels, &ns);
        out.base.descriptor = desc; /* Create and Update answers have the same layout */
        out.namespace_ = &ns;
        r = svc_reply(call, &out.base);
        ns_message_release(&ns);
        return r;
}

/*
 * /namespaces/create and /namespaces/update, as containerd publishes them: under the caller's
 * namespace (none: nothing published, where containerd would fail the call after the change),
 * with the request's name and labels. Create and Update events have the same layout.
 */
static void publish_change(struct grpc_call *call, struct daemon *d, const char *topic,
                           const ProtobufCMessageDescriptor *desc,
                           const Containerd__Services__Namespaces__V1__Namespace *in)
{
        Containerd__Events__NamespaceCreate ev = CONTAINERD__EVENTS__NAMESPACE_CREATE__INIT;
        _cleanup_strv_ char **labels =
                svc_labels_from_map((void *const *) in->labels, in->n_labels);
        const char *ns;
        size_t n;

        if (svc_namespace(call, &ns, NULL) < 0)
                return;
        ev.base.descriptor = desc;
        ev.name = in->name;
        ev.labels = (Containerd__Events__NamespaceCreate__LabelsEntry **) svc_map_from_labels(
                labels, &containerd__events__namespace_create__labels_entry__descriptor, &n);
        ev.n_labels = n;
        (void) events_publish(d->events, ns, topic, &ev.base);
        svc_map_free((void **) ev.labels, ev.n_labels);
}

static int create_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Namespaces__V1__CreateNamespaceRequest *in = NULL;
        _cleanup_strv_ char **labels = NULL;
        struct daemon *d = userdata;
        int r;

        r = svc_unpack(&containerd__services__namespaces__v1__create_namespace_request__descriptor,
                       msg, len, &in, err);
        if (r >= 0 && !in->namespace_)
                r = errmsg_set(err, -EINVAL, "namespace: missing");
        if (r < 0)
                return r;
        labels = svc_labels_from_map((void *const *) in->namespace_->labels,
                                     in->namespace_->n_labels);
        r = namespace_create(d->st->md, in->namespace_->name, labels, err);
        if (r >= 0)
                publish_change(call, d, "/namespaces/create",
                               &containerd__events__namespace_create__descriptor, in->namespace_);
        return r < 0 ? r
                     : reply_namespace(
                               call, d, in->namespace_->name,
                               &containerd__services__namespaces__v1__create_namespace_response__descriptor,
                               err);
}

/* The labels after an update: every label replaced (no mask), or the masked keys set from
 * the request's labels (a key absent there is removed). */
static int updated_labels(struct daemon *d,
                          const Containerd__Services__Namespaces__V1__UpdateNamespaceRequest *in,
                          char ***ret, struct errmsg *err)
{
        _cleanup_strv_ char **given = svc_labels_from_map((void *const *) in->namespace_->labels,
                                                          in->namespace_->n_labels);
        _cleanup_strv_ char **labels = NULL;
        int r;

        if (!in->update_mask || in->update_mask->n_paths == 0) {
                *ret = TAKE_PTR(given);
                return 0;
        }
        r = namespace_labels(d->st->md, in->namespace_->name, &labels, err);
        for (size_t i = 0; r >= 0 && i < in->update_mask->n_paths; i++) {
                const char *path = in->update_mask->paths[i], *key, *value = NULL;
                char **kept = NULL;

                if (strncmp(path, "labels.", 7) != 0)
                        return errmsg_set(err, -EINVAL, "cannot update %s field on namespace %s",
                                          path, in->namespace_->name);
                key = path + 7;
                for (size_t j = 0; given && given[j]; j += 2)
                        if (STREQ(given[j], key))
                                value = given[j + 1];
                for (size_t j = 0; labels && labels[j]; j += 2)
                        if (!STREQ(labels[j], key)) {
                                (void) strv_push(&kept, labels[j]);
                                (void) strv_push(&kept, labels[j + 1]);
                        }
                if (value && value[0]) {
                        (void) strv_push(&kept, key);
                        (void) strv_push(&kept, value);
                }
                strv_free(labels);
                labels = kept;
        }
        if (r >= 0)
                *ret = TAKE_PTR(labels);
        return r;
}

static int update_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Namespaces__V1__UpdateNamespaceRequest *in = NULL;
        _cleanup_strv_ char **labels = NULL;
        struct daemon *d = userdata;
        int r;

        r = svc_unpack(&containerd__services__namespaces__v1__update_namespace_request__descriptor,
                       msg, len, &in, err);
        if (r >= 0 && !in->namespace_)
                r = errmsg_set(err, -EINVAL, "namespace: missing");
        if (r >= 0)
                r = updated_labels(d, in, &labels, err);
        if (r >= 0)
                r = namespace_set_labels(d->st->md, in->namespace_->name, labels, err);
        if (r >= 0)
                publish_change(call, d, "/namespaces/update",
                               &containerd__events__namespace_update__descriptor, in->namespace_);
        return r < 0 ? r
                     : reply_namespace(
                               call, d, in->namespace_->name,
                               &containerd__services__namespaces__v1__update_namespace_response__descriptor,
                               err);
}

static int delete_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Namespaces__V1__DeleteNamespaceRequest *in = NULL;
        struct daemon *d = userdata;
        int r;

        r = svc_unpack(&containerd__services__namespaces__v1__delete_namespace_request__descriptor,
                       msg, len, &in, err);
        if (r >= 0)
                r = namespace_delete(d->st->md, in->name, err);
        if (r >= 0) {
                Containerd__Events__NamespaceDelete ev = CONTAINERD__EVENTS__NAMESPACE_DELETE__INIT;

                /* containerd publishes it under the deleted namespace */
                ev.name = in->name;
                (void) events_publish(d->events, in->name, "/namespaces/delete", &ev.base);
        }
        return r < 0 ? r : svc_reply_empty(call);
}

const struct grpc_method svc_namespaces_methods[] = {
        {"/containerd.services.namespaces.v1.Namespaces/Get", GRPC_UNARY, get_fn},
        {"/containerd.services.namespaces.v1.Namespaces/List", GRPC_UNARY, list_fn},
        {"/containerd.services.namespaces.v1.Namespaces/Create", GRPC_UNARY, create_fn},
        {"/containerd.services.namespaces.v1.Namespaces/Update", GRPC_UNARY, update_fn},
        {"/containerd.services.namespaces.v1.Namespaces/Delete", GRPC_UNARY, delete_fn},
        {NULL},
};
