/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md) on nghttp2, as containerd 1.6's clients
 * speak it: HTTP/2 with prior knowledge over a unix socket, no TLS, no h2c upgrade. nghttp2
 * does HTTP/2 (SETTINGS, PING, WINDOW_UPDATE, GOAWAY, HPACK); the message framing (1 byte
 * compressed flag, uint32 BE length, the bytes), the status codes and the trailers are ours.
 * Messages are opaque bytes here: callers pack and unpack them with protobuf-c.
 *
 * Server: on an evloop, many connections, many concurrent calls on each, dispatched by
 * ":path" ("/pkg.Service/Method") to a handler from a table, like ttrpc.h. Answers are
 * ":status 200", "content-type: application/grpc", the messages, then trailers with
 * grpc-status and grpc-message (percent-encoded, always present, empty on OK, as grpc-go
 * sends it); an error before any message goes as Trailers-Only. Requests that are not gRPC
 * get grpc-go's answers: a content-type other than application/grpc[+...] 415 with
 * INVALID_ARGUMENT, a :method other than POST 405 with INTERNAL, a malformed grpc-timeout
 * 400 with INTERNAL, a grpc-encoding other than identity UNIMPLEMENTED, an unknown path
 * UNIMPLEMENTED "unknown service S" / "unknown method M for service S". A message over the
 * size limit gets RESOURCE_EXHAUSTED, a compressed one or a request that ends inside a
 * message INTERNAL; the connection keeps serving its other calls. A connection that breaks
 * HTTP/2 is closed alone. grpc-timeout is honoured: when it passes, the call ends with
 * DEADLINE_EXCEEDED and the handler's cancel callback runs.
 *
 * Client: blocking, for tests and berth-ctr: unary calls and streams (send, half-close,
 * receive), with metadata and a timeout, several streams open at once on one connection.
 * Neither side is thread-safe: a server and its calls belong to the loop's thread.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "evloop.h"
#include "rpc-status.h"

/* Default limits (struct grpc_server_opts). Message size: containerd's default both ways. */
#define GRPC_MAX_MESSAGE     (16u << 20)
#define GRPC_MAX_STREAMS     1000u
#define GRPC_MAX_CONNECTIONS 1024u
#define GRPC_MAX_HEADER_LIST (16u << 10)
/* Answer bytes a call may queue for a slow reader before grpc_call_send() says -ENOBUFS. */
#define GRPC_CALL_MAX_QUEUED (1u << 20)

struct grpc_server;
struct grpc_call; /* one call in progress; refcounted */

struct grpc_metadata {
        const char *key; /* lowercase; "-bin" values are base64, as on the wire */
        const char *value;
};

enum grpc_method_kind {
        GRPC_UNARY,            /* one request message, one answer */
        GRPC_SERVER_STREAMING, /* one request message, answers sent over time */
        GRPC_CLIENT_STREAMING, /* request messages as they come, one answer */
        GRPC_BIDI_STREAMING,   /* both */
        _GRPC_METHOD_KIND_MAX,
};

/* "unary", "server-streaming", "client-streaming", "bidi-streaming"; NULL out of range. */
const char *grpc_method_kind_to_string(enum grpc_method_kind kind);
/* The kind for one of those strings, or -EINVAL. */
int grpc_method_kind_from_string(const char *s);

/*
 * A method handler, called on the server's loop:
 * - unary and server-streaming: once, with the request message as soon as it is whole (msg
 *   never NULL; further messages are ignored, as grpc-go does);
 * - client- and bidi-streaming: once per request message as it arrives, then once with msg
 *   NULL and len 0 when the client has sent its last message (half-close).
 * msg is borrowed for the duration of the callback. The handler answers at once or keeps the
 * call (grpc_call_ref()) to send and finish later; it returns 0. A negative return finishes
 * the call with that error and err's message (rpc_code_from_errno()), unless it is finished
 * already. A call whose last reference goes without a status is finished INTERNAL "call
 * dropped without an answer". After the call is finished or cancelled, no more callbacks.
 */
typedef int (*grpc_method_fn)(struct grpc_call *call, const uint8_t *msg, size_t len,
                              void *userdata, struct errmsg *err);

struct grpc_method {
        const char *path; /* "/containerd.services.version.v1.Version/Version" */
        enum grpc_method_kind kind;
        grpc_method_fn fn;
};

struct grpc_server_opts {
        size_t max_message_size;         /* each way; 0: GRPC_MAX_MESSAGE */
        uint32_t max_concurrent_streams; /* per connection; 0: GRPC_MAX_STREAMS */
        size_t max_connections;          /* 0: GRPC_MAX_CONNECTIONS */
        uint32_t max_header_list_size;   /* request headers, counted as HTTP/2 does; 0: default */
};

/*
 * A server on loop for the listening unix stream socket listen_fd (e.g. from
 * ttrpc_listen_unix(); taken over: closed by the server, and on failure). methods is a table
 * ending in {NULL}; it and userdata must outlive the server. opts may be NULL (defaults).
 * Further limits: partial messages buffered per connection 4 * max_message_size, and per
 * server 16 * max_message_size (then RESOURCE_EXHAUSTED); reading pauses while the socket
 * does not take what is written. -errno on failure.
 */
int grpc_server_new(struct evloop *loop, int listen_fd, const struct grpc_method *methods,
                    void *userdata, const struct grpc_server_opts *opts, struct grpc_server **ret);
/*
 * Sends GOAWAY on every connection and closes them and the listener; calls in progress are
 * cancelled (CANCELLED). Not callable from a callback of this server.
 */
struct grpc_server *grpc_server_free(struct grpc_server *s);
DEFINE_CLEANUP_FUNC(struct grpc_server, grpc_server_free)
size_t grpc_server_connections(const struct grpc_server *s);
/* Calls whose stream is open, on all connections. */
size_t grpc_server_calls(const struct grpc_server *s);

/* --- a call, from the handler's side ---------------------------------------------------- */

/*
 * Called once when the call ends without the handler's status: CANCELLED (client reset,
 * connection gone, server freed), DEADLINE_EXCEEDED, or the status the server sends for a
 * broken request stream (RESOURCE_EXHAUSTED, INTERNAL). It runs before that status goes out;
 * from then on sends give -ECANCELED and finishing is a no-op. Typically it drops the
 * handler's reference.
 */
typedef void (*grpc_call_cancel_fn)(struct grpc_call *call, enum rpc_code code, void *userdata);
/* Called when a call that got -ENOBUFS has room again (half of GRPC_CALL_MAX_QUEUED). */
typedef void (*grpc_call_writable_fn)(struct grpc_call *call, void *userdata);

/* Per-call data and callbacks (each may be NULL); the handler owns userdata. */
void grpc_call_set_userdata(struct grpc_call *call, void *userdata, grpc_call_cancel_fn on_cancel,
                            grpc_call_writable_fn on_writable);
void *grpc_call_get_userdata(const struct grpc_call *call);

/* The request's ":path"; borrowed, valid as long as the call. */
const char *grpc_call_path(const struct grpc_call *call);
/*
 * The value of the first request header named key (lowercase; every header but the
 * pseudo-headers, e.g. "containerd-namespace"), or NULL. Borrowed, valid as long as the call.
 */
const char *grpc_call_metadata(const struct grpc_call *call, const char *key);
/* The deadline from grpc-timeout, CLOCK_MONOTONIC in ns; 0 for none. */
uint64_t grpc_call_deadline(const struct grpc_call *call);
/* Has the call ended without the handler's status (cancel callback run, sends refused)? */
bool grpc_call_is_cancelled(const struct grpc_call *call);
/* Answer bytes queued and not yet taken by HTTP/2 flow control. */
size_t grpc_call_queued(const struct grpc_call *call);

/*
 * Queues one answer message (copied). 0, or: -ENOBUFS when GRPC_CALL_MAX_QUEUED bytes wait
 * for the client already (nothing queued; the writable callback says when to try again),
 * -EMSGSIZE past max_message_size, -EINVAL for a second answer of a unary or
 * client-streaming call, -EALREADY after grpc_call_finish(), -ECANCELED on a cancelled call.
 */
int grpc_call_send(struct grpc_call *call, const uint8_t *msg, size_t len);
/*
 * Ends the call with a status (message may be NULL; percent-encoded on the wire) after the
 * queued messages. Once: -EALREADY after. On a cancelled call a no-op returning 0. Codes out
 * of range are sent as UNKNOWN.
 */
int grpc_call_finish(struct grpc_call *call, enum rpc_code code, const char *message);
/* grpc_call_send() then grpc_call_finish(RPC_OK); a message too large ends RESOURCE_EXHAUSTED. */
int grpc_call_reply(struct grpc_call *call, const uint8_t *msg, size_t len);
struct grpc_call *grpc_call_ref(struct grpc_call *call);
struct grpc_call *grpc_call_unref(struct grpc_call *call);
DEFINE_CLEANUP_FUNC(struct grpc_call, grpc_call_unref)

/* --- client -------------------------------------------------------------------------- */
struct grpc_client;
struct grpc_client_stream;

/*
 * Connects to a unix socket ("unix://" prefix accepted) and sends the HTTP/2 preface. After a
 * transport failure (peer gone, HTTP/2 error) every call gives -ENOTCONN.
 */
int grpc_client_connect(const char *address, struct grpc_client **ret, struct errmsg *err);
/* Closes the connection; its streams stay allocated (free them) but fail with -ENOTCONN. */
struct grpc_client *grpc_client_free(struct grpc_client *c);
DEFINE_CLEANUP_FUNC(struct grpc_client, grpc_client_free)

/*
 * Starts a call on path ("/pkg.Service/Method") with metadata (lowercase keys, no ':' names:
 * -EINVAL). timeout_ms > 0 goes on the wire as grpc-timeout; the client waits 500 ms past it
 * for the server's status, then resets the stream and gives -ETIMEDOUT. *ret is the caller's.
 */
int grpc_client_stream_open(struct grpc_client *c, const char *path,
                            const struct grpc_metadata *metadata, size_t n_metadata, int timeout_ms,
                            struct grpc_client_stream **ret, struct errmsg *err);
/* Sends one message (copied), blocking while more than GRPC_CALL_MAX_QUEUED bytes wait. */
int grpc_client_stream_send(struct grpc_client_stream *st, const uint8_t *msg, size_t len,
                            struct errmsg *err);
/* Half-closes: the server sees the end of the request messages. */
int grpc_client_stream_close_send(struct grpc_client_stream *st, struct errmsg *err);
/*
 * Waits for the next answer message: 1 with *ret_msg (the caller's, NUL-terminated past
 * *ret_len), 0 at the end of the call with status OK, or the status as
 * rpc_code_to_errno(code) with its message in err; -ETIMEDOUT (deadline), -EMSGSIZE (a message
 * past GRPC_MAX_MESSAGE), -EBADMSG (a compressed or malformed message), -ECONNRESET (peer
 * gone), -EPROTO (HTTP/2 error), -ENOTCONN.
 * ret_* are untouched unless 1 is returned.
 */
int grpc_client_stream_recv(struct grpc_client_stream *st, uint8_t **ret_msg, size_t *ret_len,
                            struct errmsg *err);
/*
 * The grpc-status the server sent (also synthesized from an HTTP status or RST_STREAM), or
 * -ENODATA while none is known.
 */
int grpc_client_stream_status(const struct grpc_client_stream *st);
/* Resets the stream (RST_STREAM CANCEL) unless it ended, and frees it. */
struct grpc_client_stream *grpc_client_stream_free(struct grpc_client_stream *st);
DEFINE_CLEANUP_FUNC(struct grpc_client_stream, grpc_client_stream_free)

/*
 * A unary call: open, send msg, half-close, receive one message and the status. On success
 * *ret_msg (the caller's, NUL-terminated past *ret_len) holds the answer. Errors as
 * grpc_client_stream_recv(), and -EBADMSG when an OK status came with no message or more.
 */
int grpc_client_call(struct grpc_client *c, const char *path, const struct grpc_metadata *metadata,
                     size_t n_metadata, const uint8_t *msg, size_t len, int timeout_ms,
                     uint8_t **ret_msg, size_t *ret_len, struct errmsg *err);
