/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's event exchange (containerd events/exchange): services publish an event under a
 * namespace and a topic; the exchange wraps it in an Envelope {timestamp, namespace, topic,
 * event Any} and hands it, packed, to every subscriber whose filters match, in publishing
 * order. Subscribers are sinks: a send callback that takes a packed Envelope or says -ENOBUFS
 * (try later: events_subscriber_writable()), and a drop callback. Events a sink cannot take
 * wait in a bounded per-subscriber queue; a subscriber whose queue overflows is dropped: it
 * leaves the exchange and its drop callback runs (the Events service finishes the stream).
 * Not thread-safe: one exchange per daemon loop.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "containerd/services/events/v1/events.pb-c.h"
#include "lib/errmsg.h"

/* Events queued for one subscriber, beyond what its sink took, before it is dropped. */
#define EVENTS_QUEUE_MAX       1024u
#define EVENTS_QUEUE_MAX_BYTES (8u << 20)
/* Filters one subscriber may give, and their length (client-controlled). */
#define EVENTS_FILTERS_MAX    64u
#define EVENTS_FILTER_MAX_LEN 4096u

struct events;
struct events_subscriber;

/* 0 when the sink took msg (copied), -ENOBUFS to have it queued, other -errno to drop. */
typedef int (*events_send_fn)(const uint8_t *msg, size_t len, void *userdata);
/* The subscriber was dropped (r: -ENOBUFS for a full queue, or the send error); it is freed
 * after this returns and must not be unsubscribed. */
typedef void (*events_drop_fn)(int r, void *userdata);

struct events *events_new(void);
/* Frees the exchange and its subscribers, without calling their drop callbacks. */
struct events *events_free(struct events *ex);
DEFINE_CLEANUP_FUNC(struct events, events_free)

/*
 * containerd's topic rule: "/" then components separated by '/', each an identifier
 * (identifiers.Validate). -EINVAL with containerd's words in err ("envelope topic \"x\": must
 * start with '/'").
 */
int events_validate_topic(const char *topic, struct errmsg *err);

/*
 * Publishes event (packed into an Any named by its descriptor, "containerd.events.X") under ns
 * and topic, stamped now. -EINVAL (err NULL: callers publish fixed topics) for an empty ns or a
 * bad topic. Subscribers' callbacks run before it returns.
 */
int events_publish(struct events *ex, const char *ns, const char *topic,
                   const ProtobufCMessage *event);
/* Publishes an event given as an Any (borrowed): the Events service's Publish. */
int events_publish_any(struct events *ex, const char *ns, const char *topic,
                       const Google__Protobuf__Any *event, struct errmsg *err);
/*
 * Hands on an envelope as it is (Forward): its namespace must be an identifier, its topic
 * valid and its timestamp set (-EINVAL, containerd's words).
 */
int events_forward(struct events *ex, const Containerd__Services__Events__V1__Envelope *env,
                   struct errmsg *err);

/*
 * Adds a subscriber for the envelopes matching any of filters (containerd's filter syntax on
 * the fields "namespace", "topic" and "event.<field>"; none: all). filters are copied.
 * -EINVAL for a filter that does not parse (err names it). *ret is owned by the exchange: it
 * lives until events_unsubscribe() or the drop callback.
 */
int events_subscribe(struct events *ex, char *const *filters, size_t n_filters, events_send_fn send,
                     events_drop_fn drop, void *userdata, struct events_subscriber **ret,
                     struct errmsg *err);
/* Removes and frees s (NULL: no-op), without its drop callback. Not from its own callbacks. */
void events_unsubscribe(struct events *ex, struct events_subscriber *s);
/* The sink has room again: sends what is queued, until it says -ENOBUFS again. */
void events_subscriber_writable(struct events *ex, struct events_subscriber *s);
size_t events_subscribers(const struct events *ex);
