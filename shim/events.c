/* SPDX-License-Identifier: Apache-2.0 */
/* Publishing task events to containerd over ttrpc (see events.h). */
#include "shim/events.h"

#include "containerd/services/ttrpc/events/v1/events.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "lib/ttrpc.h"
#include "lib/xalloc.h"

static const struct {
        const char *name;
        const char *topic;
} event_topics[] = {
        {"containerd.events.TaskCreate", "/tasks/create"},
        {"containerd.events.TaskStart", "/tasks/start"},
        {"containerd.events.TaskOOM", "/tasks/oom"},
        {"containerd.events.TaskExit", "/tasks/exit"},
        {"containerd.events.TaskDelete", "/tasks/delete"},
        {"containerd.events.TaskExecAdded", "/tasks/exec-added"},
        {"containerd.events.TaskExecStarted", "/tasks/exec-started"},
        {"containerd.events.TaskPaused", "/tasks/paused"},
        {"containerd.events.TaskResumed", "/tasks/resumed"},
        {"containerd.events.TaskCheckpointed", "/tasks/checkpointed"},
};

void event_publisher_init(struct event_publisher *p, const char *address, const char *ns)
{
        *p = (struct event_publisher){.address = address && address[0] ? xstrdup(address) : NULL,
                                      .namespace = xstrdup(ns)};
}

void event_publisher_release(struct event_publisher *p)
{
        p->client = ttrpc_client_free(p->client);
        free(p->address);
        free(p->namespace);
        *p = (struct event_publisher){0};
}

const char *event_topic(const ProtobufCMessageDescriptor *d)
{
        for (size_t i = 0; i < ELEMENTSOF(event_topics); i++)
                if (STREQ(d->name, event_topics[i].name))
                        return event_topics[i].topic;
        return NULL;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *ret_len)
{
        size_t len = protobuf_c_message_get_packed_size(m);
        uint8_t *buf = xmalloc(len ? len : 1);

        *ret_len = protobuf_c_message_pack(m, buf);
        return buf;
}

int event_forward_encode(const char *ns, const ProtobufCMessage *event, const struct timespec *ts,
                         uint8_t **ret, size_t *ret_len)
{
        Containerd__Services__Events__Ttrpc__V1__ForwardRequest fwd =
                CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
        Containerd__Services__Events__Ttrpc__V1__Envelope env =
                CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
        Google__Protobuf__Timestamp when = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        const char *topic = event_topic(event->descriptor);
        _cleanup_free_ uint8_t *value = NULL;

        if (!topic)
                return -EINVAL;
        value = pack(event, &any.value.len);
        any.value.data = value;
        any.type_url = (char *) event->descriptor->name;
        when.seconds = ts->tv_sec;
        when.nanos = (int32_t) ts->tv_nsec;
        env.timestamp = &when;
        env.namespace_ = (char *) ns;
        env.topic = (char *) topic;
        env.event = &any;
        fwd.envelope = &env;
        *ret = pack(&fwd.base, ret_len);
        return 0;
}

static int forward(struct event_publisher *p, const uint8_t *req, size_t len, struct errmsg *err)
{
        const struct ttrpc_metadata md = {NAMESPACE_TTRPC_METADATA_KEY, p->namespace};
        _cleanup_free_ uint8_t *answer = NULL;
        size_t answer_len;
        int r;

        if (!p->client) {
                r = ttrpc_client_connect(p->address, &p->client, err);
                if (r < 0)
                        return r;
        }
        r = ttrpc_client_call(p->client, EVENT_SERVICE, EVENT_METHOD, &md, 1, req, len,
                              EVENT_TIMEOUT_MS, &answer, &answer_len, err);
        if (r < 0 && r != -ENOENT && r != -EINVAL)
                p->client = ttrpc_client_free(p->client); /* reconnect next time */
        return r;
}

int event_publish(struct event_publisher *p, const ProtobufCMessage *event, struct errmsg *err)
{
        _cleanup_free_ uint8_t *req = NULL;
        struct timespec ts;
        size_t len;
        bool had_client = p->client;
        int r;

        if (!p->address)
                return 0;
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        r = event_forward_encode(p->namespace, event, &ts, &req, &len);
        if (r < 0)
                return errmsg_set(err, r, "event %s: not a task event", event->descriptor->name);
        r = forward(p, req, len, err);
        /* A connection from before a containerd restart fails once: dial again. */
        if (r < 0 && had_client && !p->client)
                r = forward(p, req, len, err);
        if (r < 0)
                return errmsg_prefix(err, r, "publish %s", event_topic(event->descriptor));
        return 0;
}
