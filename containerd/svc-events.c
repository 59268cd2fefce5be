/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.services.events.v1.Events over the daemon's exchange (events.h): Publish under
 * the call's namespace, Forward as is, and Subscribe, a server stream of the matching
 * envelopes until the client goes. A subscriber's stream takes what gRPC's queue takes;
 * beyond that the exchange queues for it, and drops it when that overflows (RESOURCE_EXHAUSTED).
 */
#include "containerd/events.h"
#include "containerd/svc.h"
#include "lib/log.h"
#include "lib/xalloc.h"

static int publish_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                      struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Events__V1__PublishRequest *in = NULL;
        struct daemon *d = userdata;
        const char *ns;
        int r;

        r = svc_unpack(&containerd__services__events__v1__publish_request__descriptor, msg, len,
                       &in, err);
        if (r < 0)
                return r;
        r = svc_namespace(call, &ns, err);
        if (r < 0)
                return errmsg_prefix(err, r, "failed publishing event");
        r = events_publish_any(d->events, ns, in->topic, in->event, err);
        return r < 0 ? r : svc_reply_empty(call);
}

static int forward_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                      struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Events__V1__ForwardRequest *in = NULL;
        struct daemon *d = userdata;
        int r;

        r = svc_unpack(&containerd__services__events__v1__forward_request__descriptor, msg, len,
                       &in, err);
        if (r >= 0 && !in->envelope)
                r = errmsg_set(err, -EINVAL, "envelope: missing");
        if (r >= 0)
                r = events_forward(d->events, in->envelope, err);
        return r < 0 ? r : svc_reply_empty(call);
}

/* A Subscribe call in progress: the call's reference, while subscribed. */
struct subscription {
        struct daemon *d;
        struct grpc_call *call;
        struct events_subscriber *sub;
};

static void subscription_free(struct subscription *s)
{
        grpc_call_set_userdata(s->call, NULL, NULL, NULL);
        (void) grpc_call_unref(s->call);
        free(s);
}

static int on_event(const uint8_t *msg, size_t len, void *userdata)
{
        struct subscription *s = userdata;

        return grpc_call_send(s->call, msg, len);
}

/* The exchange dropped us: fell too far behind, or the stream refused a send. */
static void on_drop(int r, void *userdata)
{
        struct subscription *s = userdata;

        if (r == -ENOBUFS) {
                log_warn("events: subscriber fell more than %u events behind, dropping it",
                         EVENTS_QUEUE_MAX);
                (void) grpc_call_finish(s->call, RPC_RESOURCE_EXHAUSTED,
                                        "subscriber fell too far behind: events dropped");
        } else
                (void) grpc_call_finish(s->call, RPC_INTERNAL,
                                        "failed sending event to subscriber");
        subscription_free(s);
}

static void on_cancel(struct grpc_call *call, enum rpc_code code, void *userdata)
{
        struct subscription *s = userdata;

        (void) call;
        (void) code;
        events_unsubscribe(s->d->events, s->sub);
        subscription_free(s);
}

static void on_writable(struct grpc_call *call, void *userdata)
{
        struct subscription *s = userdata;

        (void) call;
        events_subscriber_writable(s->d->events, s->sub);
}

static int subscribe_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                        struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Events__V1__SubscribeRequest *in = NULL;
        struct daemon *d = userdata;
        struct subscription *s;
        int r;

        r = svc_unpack(&containerd__services__events__v1__subscribe_request__descriptor, msg, len,
                       &in, err);
        if (r < 0)
                return r;
        s = xnew0(struct subscription, 1);
        *s = (struct subscription){.d = d, .call = call};
        r = events_subscribe(d->events, in->filters, in->n_filters, on_event, on_drop, s, &s->sub,
                             err);
        if (r < 0) {
                free(s);
                return errmsg_prefix(err, r, "subscription error");
        }
        grpc_call_ref(call);
        grpc_call_set_userdata(call, s, on_cancel, on_writable);
        return 0;
}

const struct grpc_method svc_events_methods[] = {
        {"/containerd.services.events.v1.Events/Publish", GRPC_UNARY, publish_fn},
        {"/containerd.services.events.v1.Events/Forward", GRPC_UNARY, forward_fn},
        {"/containerd.services.events.v1.Events/Subscribe", GRPC_SERVER_STREAMING, subscribe_fn},
        {NULL},
};
