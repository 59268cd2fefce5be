/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the gRPC message framing (lib/grpc-frame.c): the bytes of a
 * request's DATA frames go through the reassembler in chunks whose sizes the input chooses
 * (DATA frame boundaries have nothing to do with message boundaries), with a small size
 * limit so that the oversize path is reached too. Each whole message is checked against
 * its prefix, and reframed. The input is also read as the header values a server parses:
 * grpc-timeout, grpc-message (percent-decoding, then encoding and decoding back), :path
 * and content-type. Any input must give messages or an error, without crash or leak.
 *
 * Layout: byte 0 picks the chunk size (0: all at once, else 1 + (byte0 - 1) % 64), the rest
 * is the stream.
 */
#include "lib/errmsg.h"
#include "lib/grpc-internal.h"
#include "lib/xalloc.h"

#define FUZZ_MAX_MESSAGE (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_message(const uint8_t *msg, size_t len, void *userdata)
{
        uint8_t *framed;

        (void) userdata;
        assert(len <= FUZZ_MAX_MESSAGE);
        framed = grpc_message_frame(msg, len);
        assert(memcmp(framed + GRPC_PREFIX_SIZE, msg, len) == 0);
        free(framed);
        return 0;
}

static void feed_chunks(const uint8_t *data, size_t size, size_t chunk)
{
        struct grpc_reader r;
        struct errmsg err = {0};

        grpc_reader_init(&r, FUZZ_MAX_MESSAGE);
        for (size_t off = 0; off < size; off += chunk) {
                if (grpc_reader_feed(&r, data + off, MIN(chunk, size - off), on_message, NULL,
                                     &err) < 0) {
                        assert(err.msg[0]);
                        break;
                }
                assert(r.alloc <= FUZZ_MAX_MESSAGE);
        }
        (void) grpc_reader_is_partial(&r);
        grpc_reader_release(&r);
}

static void parse_headers(const char *s, size_t len)
{
        _cleanup_free_ char *decoded = grpc_percent_decode(s, len);
        _cleanup_free_ char *encoded = grpc_percent_encode(decoded);
        _cleanup_free_ char *again = grpc_percent_decode(encoded, strlen(encoded));
        _cleanup_free_ char *service = NULL, *method = NULL;
        char buf[GRPC_TIMEOUT_MAX];
        uint64_t ns;

        /* encoding what was decoded gives it back: the round trip loses nothing */
        assert(STREQ(decoded, again));
        if (grpc_timeout_parse(s, &ns) == 0 && ns > 0)
                grpc_timeout_format(ns / 1000000 + 1, buf);
        if (grpc_path_split(s, &service, &method) == 0)
                assert(strlen(service) + strlen(method) + 2 >= strlen(s));
        (void) grpc_content_type_is_grpc(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = NULL;
        size_t chunk;

        if (size == 0 || size > 4 * FUZZ_MAX_MESSAGE)
                return 0;
        chunk = data[0] == 0 ? size : 1 + (size_t) (data[0] - 1) % 64;
        feed_chunks(data + 1, size - 1, chunk);
        if (size <= 4096) {
                text = xstrndup((const char *) data + 1, size - 1);
                parse_headers(text, strlen(text));
        }
        return 0;
}
