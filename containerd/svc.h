/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every gRPC service handler of the daemon needs: the call's namespace, protobuf
 * unpacking and answering, labels and timestamps between our records and containerd's
 * messages. Handlers return 0 or -errno with err set; the gRPC layer turns that into the
 * status (rpc-status.h) with err's message, as containerd's errdefs do.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <time.h>

#include "containerd/daemon.h"
#include "google/protobuf/timestamp.pb-c.h"

/* The gRPC metadata key of the namespace (containerd namespaces/grpc.go). */
#define NAMESPACE_METADATA_KEY "containerd-namespace"

/* The call's namespace (borrowed); containerd: FAILED_PRECONDITION "namespace is required". */
int svc_namespace(struct grpc_call *call, const char **ret, struct errmsg *err);

/* Unpacks msg as d (the caller frees with protobuf_c_message_free_unpacked);
 * INVALID_ARGUMENT when it does not decode. */
int svc_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *msg, size_t len, void *ret,
               struct errmsg *err);
static inline void svc_pb_freep(void *p)
{
        ProtobufCMessage **m = p;

        if (*m)
                protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_pb_ _cleanup_(svc_pb_freep)

/* Packs m and finishes the call with it (OK). */
int svc_reply(struct grpc_call *call, const ProtobufCMessage *m);
/* Packs m and sends it as one message of a stream. */
int svc_send(struct grpc_call *call, const ProtobufCMessage *m);
/* Replies google.protobuf.Empty. */
int svc_reply_empty(struct grpc_call *call);
/* Appends containerd's errdefs word for r ("not found", "already exists", ...) to err's
 * message unless it ends with it: what every handler's error gets (daemon.c's dispatch). */
void svc_errdefs_words(int r, struct errmsg *err);
/* Finishes call with r's status and err's message (or strerror) with those words: for
 * answers that come later than the handler's return (a shim's answer from a thread). */
int svc_finish_error(struct grpc_call *call, int r, const struct errmsg *err);

/*
 * Protobuf map entries (repeated {key, value} messages with the same layout: base, key,
 * value) <-> our strv of alternating key, value. The entries built here point into labels
 * and are freed with svc_map_free (not the strings).
 */
struct svc_map_entry {
        ProtobufCMessage base;
        char *key;
        char *value;
};
void **svc_map_from_labels(char *const *labels, const ProtobufCMessageDescriptor *entry_desc,
                           size_t *ret_n);
void svc_map_free(void **entries, size_t n);
/* A strv copy of entries (which may be NULL). */
char **svc_labels_from_map(void *const *entries, size_t n);

/* A Timestamp pointing nowhere else (fills ts). */
void svc_timestamp(const struct timespec *in, Google__Protobuf__Timestamp *ts);

/*
 * containerd's list filters (filters/parser.go), the subset clients send: each filter is
 * conditions joined by ',' (all must hold); a list of filters matches when any does.
 * Conditions: "field==value", "field!=value", "field" (present and not empty); values may be
 * quoted with '"'. get returns the field's value for the object (NULL: absent), e.g.
 * "labels.<key>". An empty list matches everything. -EINVAL (err: the filter) for syntax
 * we do not parse (regular expressions "~=" included).
 */
typedef const char *(*svc_field_fn)(const char *field, void *object);
int svc_filters_match(char *const *filters, size_t n, svc_field_fn get, void *object, bool *ret,
                      struct errmsg *err);
/* The value of "labels.<key>" in labels (strv of key, value), or NULL. */
const char *svc_label_field(const char *field, char *const *labels);

/* The gRPC metadata key of the call's lease (containerd leases/grpc.go). */
#define LEASE_METADATA_KEY "containerd-lease"
/* Adds the resource type/id (metadata.h's lease types) to the call's lease, if it names one;
 * 0 when it names none. */
int svc_lease_add(struct grpc_call *call, struct daemon *d, const char *ns, const char *type,
                  const char *id, struct errmsg *err);

/* svc_namespace() then svc_unpack() of the request: what nearly every handler starts with. */
int svc_request(struct grpc_call *call, const ProtobufCMessageDescriptor *d, const uint8_t *msg,
                size_t len, void *ret, const char **ret_ns, struct errmsg *err);
