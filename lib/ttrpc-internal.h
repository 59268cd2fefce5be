/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to lib/ttrpc-*.c (and their unit and fuzz tests): the frame codec shared by the
 * server and the client. Everything here is pure (no fd, no loop), so that the fuzz target
 * can feed it any bytes.
 */
#pragma once

#include "ttrpc.h"
#include "ttrpc.pb-c.h"

/* Metadata pairs in one request: a 4 MiB request of empty pairs would be 2M allocations. */
#define TTRPC_MAX_METADATA 256
/* Requests a connection may have in progress (handlers holding them); more get RESOURCE_EXHAUSTED.
 */
#define TTRPC_MAX_PENDING 256
/* Answer bytes queued for a client that does not read; above this the server stops reading. */
#define TTRPC_MAX_QUEUED (2 * (TTRPC_HEADER_SIZE + TTRPC_MAX_MESSAGE))
/* Connections a server keeps open at once; more are accepted and closed at once. */
#define TTRPC_MAX_CONNECTIONS 1024

struct ttrpc_frame {
        uint32_t length;
        uint32_t stream_id;
        uint8_t type;
        uint8_t flags;
        const uint8_t *payload; /* length bytes, borrowed from the buffer parsed */
};

/* Writes a frame header. */
void ttrpc_header_write(uint8_t *out, uint32_t length, uint32_t stream_id, uint8_t type,
                        uint8_t flags);
/*
 * Parses the frame at the start of buf. Returns 1 and sets *ret_frame and *ret_size (header
 * plus payload) when buf holds all of it, 0 when more bytes are needed, -EMSGSIZE when the
 * header announces more than TTRPC_MAX_MESSAGE bytes or -EPROTO for a type other than
 * Request or Response (ttrpc v1.1 has no streams); on these two *ret_frame holds the header.
 */
int ttrpc_frame_parse(const uint8_t *buf, size_t len, struct ttrpc_frame *ret_frame,
                      size_t *ret_size);

/* Called for each frame; < 0 stops with that error, > 0 stops after this frame. */
typedef int (*ttrpc_frame_fn)(const struct ttrpc_frame *frame, void *userdata);
/*
 * Runs fn over the whole frames at the start of buf, until fn stops or an incomplete frame
 * is left. *ret_consumed: the bytes of the frames handed to fn. Returns the number of
 * frames handed to fn, or the error of ttrpc_frame_parse() or fn (*ret_consumed still set).
 */
int ttrpc_parse_frames(const uint8_t *buf, size_t len, ttrpc_frame_fn fn, void *userdata,
                       size_t *ret_consumed);

/* A decoded Request; call points into pb. */
struct ttrpc_request_msg {
        Ttrpc__Request *pb;
        struct ttrpc_metadata *metadata;
        struct ttrpc_call call;
};

/*
 * Decodes a Request payload. -EBADMSG (undecodable) or -EINVAL (more than
 * TTRPC_MAX_METADATA pairs), with err saying why.
 */
int ttrpc_request_msg_decode(const uint8_t *buf, size_t len, struct ttrpc_request_msg **ret,
                             struct errmsg *err);
struct ttrpc_request_msg *ttrpc_request_msg_free(struct ttrpc_request_msg *m);
DEFINE_CLEANUP_FUNC(struct ttrpc_request_msg, ttrpc_request_msg_free)

/*
 * A whole Request frame (header and message) in *ret_frame (the caller's). -EMSGSIZE when
 * the message would exceed TTRPC_MAX_MESSAGE, -EINVAL for more than TTRPC_MAX_METADATA pairs.
 */
int ttrpc_request_encode(uint32_t stream_id, const struct ttrpc_call *call, uint8_t **ret_frame,
                         size_t *ret_size);
/*
 * A whole Response frame: status code and message (NULL: none), and payload (for RPC_OK).
 * -EMSGSIZE when the message would exceed TTRPC_MAX_MESSAGE.
 */
int ttrpc_response_encode(uint32_t stream_id, enum rpc_code code, const char *message,
                          const uint8_t *payload, size_t len, uint8_t **ret_frame,
                          size_t *ret_size);
/*
 * Decodes a Response payload. An OK status gives 0 and a copy of the payload in
 * *ret_payload (the caller's, NUL-terminated past *ret_len); another status gives
 * rpc_code_to_errno(code) with the status message in err; -EBADMSG if undecodable.
 */
int ttrpc_response_parse(const uint8_t *buf, size_t len, uint8_t **ret_payload, size_t *ret_len,
                         struct errmsg *err);
