/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the ttrpc frame codec (lib/ttrpc-frame.c): the bytes a server or a
 * client reads from its socket go through the frame splitter, and each frame's message
 * through the Request or Response decoder, as the server and the client do. Any input must
 * give frames or an error, without crash or leak. The whole input is also decoded as one
 * message, so that the protobuf decoders see inputs without a valid header too.
 */
#include "lib/errmsg.h"
#include "lib/ttrpc-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_request(const uint8_t *buf, size_t len)
{
        _cleanup_(ttrpc_request_msg_freep) struct ttrpc_request_msg *m = NULL;
        struct errmsg err = {0};

        if (ttrpc_request_msg_decode(buf, len, &m, &err) < 0)
                return;
        (void) ttrpc_call_metadata(&m->call, "containerd-namespace-ttrpc");
}

static void decode_response(const uint8_t *buf, size_t len)
{
        _cleanup_free_ uint8_t *payload = NULL;
        struct errmsg err = {0};
        size_t n;

        (void) ttrpc_response_parse(buf, len, &payload, &n, &err);
}

static int on_frame(const struct ttrpc_frame *f, void *userdata)
{
        (void) userdata;
        if (f->type == TTRPC_TYPE_REQUEST)
                decode_request(f->payload, f->length);
        else
                decode_response(f->payload, f->length);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t consumed;

        if (size > 2 * (TTRPC_HEADER_SIZE + TTRPC_MAX_MESSAGE))
                return 0;
        (void) ttrpc_parse_frames(data, size, on_frame, NULL, &consumed);
        if (size <= TTRPC_MAX_MESSAGE) {
                decode_request(data, size);
                decode_response(data, size);
        }
        return 0;
}
