/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to lib/grpc-*.c (and their unit and fuzz tests): the gRPC message framing and the
 * header values that the server and the client share. Everything here is pure (no fd, no
 * nghttp2 session), so that the fuzz target can feed it any bytes.
 */
#pragma once

#include "grpc.h"

/* A message on the wire: compressed flag (1 byte), length (uint32 BE), the bytes. */
#define GRPC_PREFIX_SIZE     5
#define GRPC_FLAG_COMPRESSED 1
/* What a grpc-timeout header can hold: 8 digits and a unit, plus the NUL. */
#define GRPC_TIMEOUT_MAX 10

/* Reassembles messages from the DATA frames of one stream (their boundaries are unrelated). */
struct grpc_reader {
        size_t max_size;                  /* larger messages are refused */
        uint8_t prefix[GRPC_PREFIX_SIZE]; /* of the message being read */
        size_t prefix_len;
        size_t want; /* its length, once prefix_len is GRPC_PREFIX_SIZE */
        uint8_t *buf;
        size_t len;
        size_t alloc; /* grows with the bytes that came, never with the announced length */
};

void grpc_reader_init(struct grpc_reader *r, size_t max_size);
void grpc_reader_release(struct grpc_reader *r);

/* Called for each whole message (borrowed); < 0 stops with that error, > 0 stops quietly. */
typedef int (*grpc_message_fn)(const uint8_t *msg, size_t len, void *userdata);
/*
 * Feeds the next bytes of a stream. Returns 0 (the rest waits for more bytes), fn's stop
 * value, or, with err in grpc-go's words: -EMSGSIZE for a length past max_size,
 * -EPROTONOSUPPORT for a compressed message (we offer no grpc-encoding), -EPROTO for a flag
 * other than 0 and 1. After an error the reader only accepts grpc_reader_release().
 */
int grpc_reader_feed(struct grpc_reader *r, const uint8_t *data, size_t len, grpc_message_fn fn,
                     void *userdata, struct errmsg *err);
/* Is a message half read (a stream ending now is truncated)? */
bool grpc_reader_is_partial(const struct grpc_reader *r);

/* The message as it goes on the wire (the caller's; GRPC_PREFIX_SIZE + len bytes). */
uint8_t *grpc_message_frame(const uint8_t *msg, size_t len);

/*
 * Parses a grpc-timeout value: 1 to 8 digits and a unit, H M S m u n ("10S", "100m",
 * "5000000n"), into nanoseconds (saturating at UINT64_MAX). -EINVAL otherwise.
 */
int grpc_timeout_parse(const char *s, uint64_t *ret_ns);
/* Formats ms (> 0) as a grpc-timeout, in the smallest unit that holds it in 8 digits. */
void grpc_timeout_format(uint64_t ms, char buf[GRPC_TIMEOUT_MAX]);

/*
 * grpc-message's percent-encoding: bytes outside %x20-%x7E, and '%', become "%XX"
 * (uppercase hex). The result is the caller's.
 */
char *grpc_percent_encode(const char *s);
/* Decodes; a broken escape stays as it is, as the protocol asks. The result is the caller's. */
char *grpc_percent_decode(const char *s, size_t len);

/*
 * Splits a :path as grpc-go does: an optional leading '/', then the service up to the last
 * '/', then the method. -EINVAL without a '/' after the leading one. ret_* are the caller's.
 */
int grpc_path_split(const char *path, char **ret_service, char **ret_method);
/* Is this a gRPC content-type: "application/grpc", alone or followed by '+' or ';'? */
bool grpc_content_type_is_grpc(const char *s);
/* The status a client synthesizes for a response without grpc-status (PROTOCOL-HTTP2.md). */
enum rpc_code grpc_code_from_http_status(int status);
/* The status for an RST_STREAM error code ended a call (PROTOCOL-HTTP2.md's table). */
enum rpc_code grpc_code_from_rst_stream(uint32_t error_code);
