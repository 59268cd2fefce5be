/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpc (containerd/ttrpc v1.1 wire format, as containerd 1.6 speaks it): frames of a
 * 10-byte header (length uint32 BE, at most TTRPC_MAX_MESSAGE; stream id uint32 BE, odd for
 * client-initiated streams; type uint8; flags uint8) and a protobuf payload. A Request is
 * {1 service, 2 method, 3 payload, 4 timeout_nano, 5 repeated KeyValue metadata {1 key,
 * 2 value}}; a Response is {1 google.rpc.Status {1 code, 2 message}, 2 payload}.
 *
 * Server: on an evloop, many connections, each request dispatched by "service/method" to a
 * handler that answers at once or later (Wait answers when a process exits). A frame that
 * breaks the framing (oversize length, a type other than Request, truncated) closes that
 * connection only; an undecodable request or an even stream id gets INVALID_ARGUMENT on its
 * stream id, as containerd/ttrpc answers. The server keeps serving the others.
 * Client: blocking calls with a timeout (enough for a shim publishing events).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "evloop.h"
#include "rpc-status.h"

#define TTRPC_MAX_MESSAGE   (4u << 20)
#define TTRPC_HEADER_SIZE   10
#define TTRPC_TYPE_REQUEST  1
#define TTRPC_TYPE_RESPONSE 2
#define TTRPC_TYPE_DATA     3

struct ttrpc_server;
struct ttrpc_request; /* one call in progress; refcounted */

struct ttrpc_metadata {
        const char *key;
        const char *value;
};

/* What a handler sees of a call; borrowed, valid until the request is answered. */
struct ttrpc_call {
        const char *service;
        const char *method;
        const uint8_t *payload; /* never NULL, even when payload_len is 0 */
        size_t payload_len;
        int64_t timeout_nano;
        const struct ttrpc_metadata *metadata;
        size_t n_metadata;
};

/* The value of metadata key (first one), or NULL. */
const char *ttrpc_call_metadata(const struct ttrpc_call *call, const char *key);

/*
 * A method handler. It either answers now with ttrpc_respond()/ttrpc_respond_error() and
 * returns 0, or keeps the request (ttrpc_request_ref()) to answer later and returns 0. A
 * negative return answers with that error and err's message (rpc_code_from_errno()).
 */
typedef int (*ttrpc_method_fn)(struct ttrpc_request *req, const struct ttrpc_call *call,
                               void *userdata, struct errmsg *err);

struct ttrpc_method {
        const char *service; /* "containerd.task.v2.Task" */
        const char *method;  /* "Create" */
        ttrpc_method_fn fn;
};

/*
 * A server on loop for the listening socket listen_fd (taken over: closed by the server, and
 * on failure). methods is a table ending in {NULL}; it and userdata must outlive the server.
 * Unknown services and methods answer UNIMPLEMENTED "service S" / "method M" (the words of
 * containerd/ttrpc). Limits per connection: TTRPC_MAX_MESSAGE per frame, 256 metadata pairs, 256
 * requests in progress (then RESOURCE_EXHAUSTED), and reading pauses while 8 MiB of answers
 * wait for the client to read them; at most 1024 connections.
 */
int ttrpc_server_new(struct evloop *loop, int listen_fd, const struct ttrpc_method *methods,
                     void *userdata, struct ttrpc_server **ret);
/* Closes the listener and every connection; pending requests can still be answered (no-op). */
struct ttrpc_server *ttrpc_server_free(struct ttrpc_server *s);
DEFINE_CLEANUP_FUNC(struct ttrpc_server, ttrpc_server_free)
/* Number of open client connections (a shim exits when asked and none remain, etc.). */
size_t ttrpc_server_connections(const struct ttrpc_server *s);

/*
 * Answers with payload (a serialized response message; copied). Only once per request:
 * -EALREADY after. Answering an orphaned request is a no-op returning 0. A payload past
 * TTRPC_MAX_MESSAGE is answered RESOURCE_EXHAUSTED. A request unreferenced without an answer
 * is answered INTERNAL "request dropped without an answer".
 */
int ttrpc_respond(struct ttrpc_request *req, const uint8_t *payload, size_t len);
/* Answers with an error status; message may be NULL. RPC_OK (no error) is sent as UNKNOWN. */
int ttrpc_respond_error(struct ttrpc_request *req, enum rpc_code code, const char *message);
struct ttrpc_request *ttrpc_request_ref(struct ttrpc_request *req);
struct ttrpc_request *ttrpc_request_unref(struct ttrpc_request *req);
/* Has the client's connection gone (answers would be dropped)? */
bool ttrpc_request_is_orphaned(const struct ttrpc_request *req);

/*
 * Creates a unix stream socket listening at path (unlinking a stale socket first; -EEXIST if
 * path is something else), mode 0600. *ret_fd is O_CLOEXEC|O_NONBLOCK and the caller's.
 */
int ttrpc_listen_unix(const char *path, int *ret_fd, struct errmsg *err);

/* --- client ------------------------------------------------------------------------ */
struct ttrpc_client;

/*
 * Connects to a unix socket ("unix://" prefix accepted). One call at a time; after a call
 * failed other than by a timeout or an error status, further calls give -ENOTCONN.
 */
int ttrpc_client_connect(const char *address, struct ttrpc_client **ret, struct errmsg *err);
struct ttrpc_client *ttrpc_client_free(struct ttrpc_client *c);
DEFINE_CLEANUP_FUNC(struct ttrpc_client, ttrpc_client_free)
/*
 * A blocking call. On success *ret_payload (the caller's, free(); NUL-terminated past
 * *ret_len) holds the response message. A status other than OK returns
 * rpc_code_to_errno(code) with the status message in err. Otherwise -ETIMEDOUT after
 * timeout_ms, which also goes on the wire as timeout_nano (<= 0: none); -EPIPE/-ECONNRESET
 * when the peer went away; -EBADMSG for an undecodable answer; -EMSGSIZE past
 * TTRPC_MAX_MESSAGE. ret_* are untouched on failure.
 */
int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                      const struct ttrpc_metadata *metadata, size_t n_metadata,
                      const uint8_t *payload, size_t len, int timeout_ms, uint8_t **ret_payload,
                      size_t *ret_len, struct errmsg *err);
