/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Task events to containerd, the way containerd 1.6's shims publish them: a ttrpc call
 * containerd.services.events.ttrpc.v1.Events/Forward on containerd's ttrpc socket
 * ($TTRPC_ADDRESS) with metadata "containerd-namespace-ttrpc: <ns>", carrying an Envelope
 * {timestamp, namespace, topic, event Any}. The Any's type URL is the event's full protobuf
 * name ("containerd.events.TaskExit") and the topic follows from it ("/tasks/exit").
 *
 * Publishing blocks (EVENT_TIMEOUT_MS at most) so that events leave in the order they were
 * published, which runtime/v2/README.md requires (create, start, exit, delete).
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <time.h>

#include "lib/errmsg.h"

#define EVENT_TIMEOUT_MS             5000
#define EVENT_SERVICE                "containerd.services.events.ttrpc.v1.Events"
#define EVENT_METHOD                 "Forward"
#define NAMESPACE_TTRPC_METADATA_KEY "containerd-namespace-ttrpc"

struct ttrpc_client;

struct event_publisher {
        char *address; /* NULL: events are dropped (no $TTRPC_ADDRESS) */
        char *namespace;
        struct ttrpc_client *client; /* connected on first use, again after a failure */
};

/* Copies address (may be NULL) and namespace. */
void event_publisher_init(struct event_publisher *p, const char *address, const char *ns);
void event_publisher_release(struct event_publisher *p);

/* The topic of a containerd.events message ("/tasks/exit"), or NULL for other messages. */
const char *event_topic(const ProtobufCMessageDescriptor *d);

/*
 * The serialized ForwardRequest for event at time ts (the caller's buffer). -EINVAL for a
 * message that is no task event.
 */
int event_forward_encode(const char *ns, const ProtobufCMessage *event, const struct timespec *ts,
                         uint8_t **ret, size_t *ret_len);

/*
 * Publishes event, reconnecting once if the connection broke (containerd restarted). On
 * failure err says why; the event is lost (containerd learns the state through State).
 */
int event_publish(struct event_publisher *p, const ProtobufCMessage *event, struct errmsg *err);
