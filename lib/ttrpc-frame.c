/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ttrpc frame codec (see ttrpc-internal.h): 10-byte headers, and the Request and
 * Response envelopes through protobuf-c. Pure functions over byte buffers; the server and
 * the client bring the fds.
 */
#include "ttrpc-internal.h"
#include "xalloc.h"

static uint32_t get_be32(const uint8_t *p)
{
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

void ttrpc_header_write(uint8_t *out, uint32_t length, uint32_t stream_id, uint8_t type,
                        uint8_t flags)
{
        put_be32(out, length);
        put_be32(out + 4, stream_id);
        out[8] = type;
        out[9] = flags;
}

int ttrpc_frame_parse(const uint8_t *buf, size_t len, struct ttrpc_frame *ret_frame,
                      size_t *ret_size)
{
        struct ttrpc_frame f;

        if (len < TTRPC_HEADER_SIZE)
                return 0;
        f = (struct ttrpc_frame){
                .length = get_be32(buf),
                .stream_id = get_be32(buf + 4),
                .type = buf[8],
                .flags = buf[9],
        };
        if (f.length > TTRPC_MAX_MESSAGE) {
                *ret_frame = f;
                return -EMSGSIZE;
        }
        if (f.type != TTRPC_TYPE_REQUEST && f.type != TTRPC_TYPE_RESPONSE) {
                *ret_frame = f;
                return -EPROTO;
        }
        if (len - TTRPC_HEADER_SIZE < f.length)
                return 0;
        f.payload = buf + TTRPC_HEADER_SIZE;
        *ret_frame = f;
        *ret_size = TTRPC_HEADER_SIZE + (size_t) f.length;
        return 1;
}

int ttrpc_parse_frames(const uint8_t *buf, size_t len, ttrpc_frame_fn fn, void *userdata,
                       size_t *ret_consumed)
{
        size_t consumed = 0;
        int n = 0, r;

        for (;;) {
                struct ttrpc_frame f;
                size_t size;

                r = ttrpc_frame_parse(buf + consumed, len - consumed, &f, &size);
                if (r <= 0)
                        break;
                consumed += size;
                n++;
                r = fn(&f, userdata);
                if (r != 0)
                        break;
        }
        *ret_consumed = consumed;
        return r < 0 ? r : n;
}

static int varint_read(const uint8_t *buf, size_t len, size_t *pos, uint64_t *ret)
{
        uint64_t v = 0;

        for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
                uint8_t b = buf[(*pos)++];

                v |= (uint64_t) (b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EBADMSG;
}

/* Counts the top-level occurrences of field in a protobuf message, without decoding it. */
static int protobuf_count_field(const uint8_t *buf, size_t len, uint64_t field, size_t *ret_n)
{
        size_t pos = 0, n = 0;

        while (pos < len) {
                uint64_t key, v = 0;

                if (varint_read(buf, len, &pos, &key) < 0)
                        return -EBADMSG;
                switch (key & 7) {
                case 0: /* varint */
                        if (varint_read(buf, len, &pos, &v) < 0)
                                return -EBADMSG;
                        break;
                case 1: /* 64-bit */
                case 5: /* 32-bit */
                        v = (key & 7) == 1 ? 8 : 4;
                        if (v > len - pos)
                                return -EBADMSG;
                        pos += v;
                        break;
                case 2: /* length-delimited */
                        if (varint_read(buf, len, &pos, &v) < 0 || v > len - pos)
                                return -EBADMSG;
                        pos += v;
                        break;
                default: /* groups: not in proto3 */
                        return -EBADMSG;
                }
                if (key >> 3 == field)
                        n++;
        }
        *ret_n = n;
        return 0;
}

struct ttrpc_request_msg *ttrpc_request_msg_free(struct ttrpc_request_msg *m)
{
        if (!m)
                return NULL;
        if (m->pb)
                ttrpc__request__free_unpacked(m->pb, NULL);
        free(m->metadata);
        free(m);
        return NULL;
}

int ttrpc_request_msg_decode(const uint8_t *buf, size_t len, struct ttrpc_request_msg **ret,
                             struct errmsg *err)
{
        _cleanup_(ttrpc_request_msg_freep) struct ttrpc_request_msg *m = NULL;
        size_t n_metadata;
        Ttrpc__Request *pb;

        if (protobuf_count_field(buf, len, 5, &n_metadata) < 0)
                return errmsg_set(err, -EBADMSG, "malformed protobuf");
        if (n_metadata > TTRPC_MAX_METADATA)
                return errmsg_set(err, -EINVAL, "%zu metadata pairs, at most %d", n_metadata,
                                  TTRPC_MAX_METADATA);
        pb = ttrpc__request__unpack(NULL, len, buf);
        if (!pb)
                return errmsg_set(err, -EBADMSG, "malformed protobuf");

        m = xnew0(struct ttrpc_request_msg, 1);
        m->pb = pb;
        m->metadata = xnew0(struct ttrpc_metadata, pb->n_metadata);
        for (size_t i = 0; i < pb->n_metadata; i++)
                m->metadata[i] =
                        (struct ttrpc_metadata){pb->metadata[i]->key, pb->metadata[i]->value};
        m->call = (struct ttrpc_call){
                .service = pb->service,
                .method = pb->method,
                .payload = pb->payload.len > 0 ? pb->payload.data : (const uint8_t *) "",
                .payload_len = pb->payload.len,
                .timeout_nano = pb->timeout_nano,
                .metadata = m->metadata,
                .n_metadata = pb->n_metadata,
        };
        *ret = TAKE_PTR(m);
        return 0;
}

/* Packs msg behind a header into a new frame. */
static int frame_pack(uint32_t stream_id, uint8_t type, const ProtobufCMessage *msg,
                      uint8_t **ret_frame, size_t *ret_size)
{
        size_t size = protobuf_c_message_get_packed_size(msg);
        uint8_t *frame;

        if (size > TTRPC_MAX_MESSAGE)
                return -EMSGSIZE;
        frame = xmalloc(TTRPC_HEADER_SIZE + size);
        ttrpc_header_write(frame, (uint32_t) size, stream_id, type, 0);
        (void) protobuf_c_message_pack(msg, frame + TTRPC_HEADER_SIZE);
        *ret_frame = frame;
        *ret_size = TTRPC_HEADER_SIZE + size;
        return 0;
}

int ttrpc_request_encode(uint32_t stream_id, const struct ttrpc_call *call, uint8_t **ret_frame,
                         size_t *ret_size)
{
        _cleanup_free_ Ttrpc__KeyValue *kvs = NULL;
        _cleanup_free_ Ttrpc__KeyValue **kvps = NULL;
        Ttrpc__Request req = TTRPC__REQUEST__INIT;

        if (call->n_metadata > TTRPC_MAX_METADATA)
                return -EINVAL;
        kvs = xnew0(Ttrpc__KeyValue, call->n_metadata);
        kvps = xnew0(Ttrpc__KeyValue *, call->n_metadata);
        for (size_t i = 0; i < call->n_metadata; i++) {
                ttrpc__key_value__init(&kvs[i]);
                kvs[i].key = (char *) call->metadata[i].key;
                kvs[i].value = (char *) call->metadata[i].value;
                kvps[i] = &kvs[i];
        }
        /* protobuf-c's structs are not const-correct; packing only reads them */
        req.service = (char *) call->service;
        req.method = (char *) call->method;
        req.payload.data = (uint8_t *) call->payload;
        req.payload.len = call->payload_len;
        req.timeout_nano = call->timeout_nano;
        req.n_metadata = call->n_metadata;
        req.metadata = kvps;
        return frame_pack(stream_id, TTRPC_TYPE_REQUEST, &req.base, ret_frame, ret_size);
}

int ttrpc_response_encode(uint32_t stream_id, enum rpc_code code, const char *message,
                          const uint8_t *payload, size_t len, uint8_t **ret_frame, size_t *ret_size)
{
        Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
        Ttrpc__Response resp = TTRPC__RESPONSE__INIT;

        /* like ttrpc's Go server, always send a status, even for OK (code 0: "0a 00") */
        status.code = (int32_t) code;
        if (message)
                status.message = (char *) message;
        resp.status = &status;
        resp.payload.data = (uint8_t *) payload;
        resp.payload.len = payload ? len : 0;
        return frame_pack(stream_id, TTRPC_TYPE_RESPONSE, &resp.base, ret_frame, ret_size);
}

static void response_freep(Ttrpc__Response **p)
{
        if (*p)
                ttrpc__response__free_unpacked(*p, NULL);
}

int ttrpc_response_parse(const uint8_t *buf, size_t len, uint8_t **ret_payload, size_t *ret_len,
                         struct errmsg *err)
{
        _cleanup_(response_freep) Ttrpc__Response *resp = NULL;
        uint8_t *payload;

        resp = ttrpc__response__unpack(NULL, len, buf);
        if (!resp)
                return errmsg_set(err, -EBADMSG, "malformed response");
        if (resp->status && resp->status->code != RPC_OK) {
                enum rpc_code code = (enum rpc_code) resp->status->code;
                const char *name = rpc_code_to_string(code);

                if (resp->status->message && resp->status->message[0])
                        return errmsg_set(err, rpc_code_to_errno(code), "%s",
                                          resp->status->message);
                return errmsg_set(err, rpc_code_to_errno(code), "%s",
                                  name ? name : "unknown status");
        }
        payload = xmalloc(resp->payload.len + 1);
        if (resp->payload.len > 0)
                memcpy(payload, resp->payload.data, resp->payload.len);
        payload[resp->payload.len] = 0;
        *ret_payload = payload;
        *ret_len = resp->payload.len;
        return 0;
}
