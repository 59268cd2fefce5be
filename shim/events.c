/* SPDX-License-Identifier: Apache-2.0 */
/* Publishing task events to containerd over ttrpc, queued and retried (see events.h). */
#include "shim/events.h"

#include <sys/timerfd.h>

#include "containerd/services/ttrpc/events/v1/events.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "lib/log.h"
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

/* One encoded ForwardRequest waiting to be sent. */
struct queued_event {
        uint8_t *req;
        size_t len;
        const char *topic; /* static (event_topics) */
};

void event_publisher_init(struct event_publisher *p, struct evloop *loop, const char *address,
                          const char *ns)
{
        *p = (struct event_publisher){.address = address && address[0] ? xstrdup(address) : NULL,
                                      .namespace = xstrdup(ns),
                                      .loop = loop,
                                      .retry_unit_ms = EVENT_RETRY_UNIT_MS,
                                      .timer_fd = -EBADF};
}

size_t event_publisher_pending(const struct event_publisher *p)
{
        return p->n_queued;
}

static struct queued_event *queue_head(struct event_publisher *p)
{
        return &p->queue[p->head];
}

static void queue_pop(struct event_publisher *p)
{
        struct queued_event *e = queue_head(p);

        free(e->req);
        *e = (struct queued_event){0};
        p->head = (p->head + 1) % p->n_alloc;
        p->n_queued--;
        p->n_attempts = 0;
}

/* Doubles the ring (starting at 8 slots), keeping the queued events in order from slot 0:
 * a shim whose containerd keeps up never holds more than a few. */
static void queue_grow(struct event_publisher *p)
{
        size_t n_alloc = MIN(MAX(p->n_alloc * 2, (size_t) 8), (size_t) EVENT_QUEUE_MAX);
        struct queued_event *q = xnew0(struct queued_event, n_alloc);

        for (size_t i = 0; i < p->n_queued; i++)
                q[i] = p->queue[(p->head + i) % p->n_alloc];
        free(p->queue);
        p->queue = q;
        p->n_alloc = n_alloc;
        p->head = 0;
}

static void queue_push(struct event_publisher *p, uint8_t *req, size_t len, const char *topic)
{
        if (p->n_queued == p->n_alloc && p->n_alloc < EVENT_QUEUE_MAX)
                queue_grow(p);
        if (p->n_queued == EVENT_QUEUE_MAX) {
                log_warn("publish %s: %u events waiting for containerd, dropping the oldest",
                         queue_head(p)->topic, EVENT_QUEUE_MAX);
                queue_pop(p);
        }
        p->queue[(p->head + p->n_queued) % p->n_alloc] =
                (struct queued_event){.req = req, .len = len, .topic = topic};
        p->n_queued++;
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

/* One attempt at the head event, dialing again once if an old connection broke. */
static int send_head(struct event_publisher *p, struct errmsg *err)
{
        const struct queued_event *e = queue_head(p);
        bool had_client = p->client;
        int r;

        r = forward(p, e->req, e->len, err);
        /* A connection from before a containerd restart fails once: dial again. */
        if (r < 0 && had_client && !p->client)
                r = forward(p, e->req, e->len, err);
        return r;
}

static void on_retry(struct evloop *loop, int fd, uint32_t events, void *userdata);

/* Arms the retry timer for the head event's next attempt. */
static int arm_retry(struct event_publisher *p)
{
        unsigned delay_ms =
                p->n_attempts <= 1 ? EVENT_RETRY_MS : (p->n_attempts - 1) * p->retry_unit_ms;
        struct itimerspec when = {.it_value = {.tv_sec = delay_ms / 1000,
                                               .tv_nsec = (long) (delay_ms % 1000) * 1000000}};
        int r;

        if (p->timer_fd < 0) {
                int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

                if (fd < 0)
                        return -errno;
                r = evloop_add(p->loop, fd, EPOLLIN, on_retry, p);
                if (r < 0) {
                        (void) close(fd);
                        return r;
                }
                p->timer_fd = fd;
        }
        if (timerfd_settime(p->timer_fd, 0, &when, NULL) < 0)
                return -errno;
        p->is_waiting = true;
        return 0;
}

/* Sends queued events in order until one fails; that one is retried later or dropped. */
static void drain(struct event_publisher *p)
{
        while (p->n_queued > 0) {
                struct errmsg err = {0};
                int r = send_head(p, &err);

                if (r >= 0) {
                        queue_pop(p);
                        continue;
                }
                p->n_attempts++;
                if (p->n_attempts < EVENT_ATTEMPTS) {
                        r = arm_retry(p);
                        if (r >= 0)
                                return;
                        (void) errmsg_set(&err, r, "retry timer: %s", strerror(-r));
                }
                log_warn("publish %s: %s, dropping the event after %u attempts",
                         queue_head(p)->topic, err.msg[0] ? err.msg : strerror(-r), p->n_attempts);
                queue_pop(p);
        }
}

static void on_retry(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct event_publisher *p = userdata;
        uint64_t expirations;

        (void) loop;
        (void) events;
        if (read(fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
                return;
        p->is_waiting = false;
        drain(p);
}

int event_publish(struct event_publisher *p, const ProtobufCMessage *event, struct errmsg *err)
{
        uint8_t *req = NULL;
        struct timespec ts;
        size_t len;
        int r;

        if (!p->address)
                return 0;
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        r = event_forward_encode(p->namespace, event, &ts, &req, &len);
        if (r < 0)
                return errmsg_set(err, r, "event %s: not a task event", event->descriptor->name);
        queue_push(p, req, len, event_topic(event->descriptor));
        if (!p->is_waiting)
                drain(p);
        return 0;
}

void event_publisher_release(struct event_publisher *p)
{
        struct errmsg err = {0};
        int r = 0;

        if (p->timer_fd >= 0) {
                (void) evloop_remove(p->loop, p->timer_fd);
                (void) close(p->timer_fd);
        }
        /* The shim is going: one last try, without waiting, for what containerd has not got. */
        while (p->n_queued > 0 && (r = send_head(p, &err)) >= 0)
                queue_pop(p);
        if (p->n_queued > 0)
                log_warn("publish %s: %s, dropping %zu events", queue_head(p)->topic,
                         err.msg[0] ? err.msg : strerror(-r), p->n_queued);
        while (p->n_queued > 0)
                queue_pop(p);
        free(p->queue);
        p->client = ttrpc_client_free(p->client);
        free(p->address);
        free(p->namespace);
        *p = (struct event_publisher){.timer_fd = -EBADF};
}
