/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Task events to containerd, the way containerd 1.6's shims publish them: a ttrpc call
 * containerd.services.events.ttrpc.v1.Events/Forward on containerd's ttrpc socket
 * ($TTRPC_ADDRESS) with metadata "containerd-namespace-ttrpc: <ns>", carrying an Envelope
 * {timestamp, namespace, topic, event Any}. The Any's type URL is the event's full protobuf
 * name ("containerd.events.TaskExit") and the topic follows from it ("/tasks/exit").
 *
 * Events leave in the order they were published, which runtime/v2/README.md requires
 * (create, start, exit, delete). A publish is sent at once when nothing waits before it;
 * an event that failed is retried from a timerfd on the loop, first after EVENT_RETRY_MS (a
 * daemon that is busy), then after 1, 2, 3, 4 and 5 units of EVENT_RETRY_UNIT_MS, as
 * containerd-shim-runc-v2 requeues (1 s more each time, 5 times): a daemon restarted within
 * 15 s still gets the event (a container's exit, say). Later events wait behind it in a queue
 * of EVENT_QUEUE_MAX, which then drops its oldest.
 * Each attempt is one blocking call of at most EVENT_TIMEOUT_MS. Dropped events are logged
 * here as warnings (containerd learns the state through State).
 *
 * Without $TTRPC_ADDRESS events are dropped: containerd 1.6's v2 shims publish over ttrpc
 * only (runtime/v2/shim/publisher.go); -publish-binary is for v1 shims.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <time.h>

#include "lib/errmsg.h"
#include "lib/evloop.h"

#define EVENT_TIMEOUT_MS             5000
#define EVENT_QUEUE_MAX              1024
#define EVENT_ATTEMPTS               7
#define EVENT_RETRY_MS               50
#define EVENT_RETRY_UNIT_MS          1000
#define EVENT_SERVICE                "containerd.services.events.ttrpc.v1.Events"
#define EVENT_METHOD                 "Forward"
#define NAMESPACE_TTRPC_METADATA_KEY "containerd-namespace-ttrpc"

struct ttrpc_client;
struct queued_event;

struct event_publisher {
        char *address; /* NULL: events are dropped (no $TTRPC_ADDRESS) */
        char *namespace;
        struct evloop *loop;
        struct ttrpc_client *client; /* connected on first use, again after a failure */
        int timer_fd;                /* the retry timer; -EBADF until the first retry */
        struct queued_event *queue;  /* a ring, grown on demand up to EVENT_QUEUE_MAX */
        size_t n_alloc;
        size_t head;
        size_t n_queued;
        unsigned n_attempts;    /* failed attempts of the event at the head */
        unsigned retry_unit_ms; /* EVENT_RETRY_UNIT_MS (tests make it shorter) */
        bool is_waiting;        /* the retry timer is armed */
};

/* Copies address (may be NULL) and namespace; loop must outlive the publisher. */
void event_publisher_init(struct event_publisher *p, struct evloop *loop, const char *address,
                          const char *ns);
/*
 * Tries once more to send what is queued (stopping at the first failure), drops and logs
 * the rest, and frees everything. Call before the loop is freed.
 */
void event_publisher_release(struct event_publisher *p);
/* Events queued and not yet delivered. */
size_t event_publisher_pending(const struct event_publisher *p);

/* The topic of a containerd.events message ("/tasks/exit"), or NULL for other messages. */
const char *event_topic(const ProtobufCMessageDescriptor *d);

/*
 * The serialized ForwardRequest for event at time ts (the caller's buffer). -EINVAL for a
 * message that is no task event.
 */
int event_forward_encode(const char *ns, const ProtobufCMessage *event, const struct timespec *ts,
                         uint8_t **ret, size_t *ret_len);

/*
 * Publishes event (timestamped now): sends it, or queues it behind earlier ones or for a
 * retry. Delivery failures are handled (and logged) here; the only error is -EINVAL, with
 * err set, for a message that is no task event.
 */
int event_publish(struct event_publisher *p, const ProtobufCMessage *event, struct errmsg *err);
