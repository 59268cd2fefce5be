/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr's gRPC calls: one connection per invocation, made on first use, and every call
 * carrying the namespace (containerd-namespace) and, while one is held, the lease
 * (containerd-lease) as ctr's client does.
 */
#include <stdlib.h>

#include "ctr/ctr.h"
#include "lib/rpc-status.h"
#include "lib/xalloc.h"

int ctr_client(struct ctr *c, struct grpc_client **ret, struct errmsg *err)
{
        int r;

        if (!c->grpc) {
                r = grpc_client_connect(c->opts->address, &c->grpc, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "failed to dial \"%s\"", c->opts->address);
        }
        *ret = c->grpc;
        return 0;
}

void ctr_release(struct ctr *c)
{
        c->grpc = grpc_client_free(c->grpc);
}

static size_t ctr_metadata(const struct ctr *c, struct grpc_metadata md[2])
{
        size_t n = 0;

        md[n++] = (struct grpc_metadata){"containerd-namespace", c->opts->namespace};
        if (c->lease)
                md[n++] = (struct grpc_metadata){"containerd-lease", c->lease};
        return n;
}

static int ctr_pack(const ProtobufCMessage *m, uint8_t **ret, size_t *ret_len)
{
        size_t len = protobuf_c_message_get_packed_size(m);
        uint8_t *buf = xmalloc(len ? len : 1);

        protobuf_c_message_pack(m, buf);
        *ret = buf;
        *ret_len = len;
        return 0;
}

static int pb_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *msg, size_t len,
                     void *ret, struct errmsg *err)
{
        ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, msg);

        if (!m)
                return errmsg_set(err, -EBADMSG, "malformed %s from the server", desc->name);
        *(ProtobufCMessage **) ret = m;
        return 0;
}

int ctr_call(struct ctr *c, const char *path, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, void *ret_resp, struct errmsg *err)
{
        struct grpc_metadata md[2];
        _cleanup_free_ uint8_t *out = NULL, *in = NULL;
        struct grpc_client *g;
        size_t out_len, in_len;
        int r;

        r = ctr_client(c, &g, err);
        if (r < 0)
                return r;
        ctr_pack(req, &out, &out_len);
        r = grpc_client_call(g, path, md, ctr_metadata(c, md), out, out_len, c->opts->timeout_ms,
                             &in, &in_len, err);
        if (r < 0)
                return r;
        return pb_unpack(resp_desc, in, in_len, ret_resp, err);
}

int ctr_stream_open(struct ctr *c, const char *path, struct grpc_client_stream **ret,
                    struct errmsg *err)
{
        struct grpc_metadata md[2];
        struct grpc_client *g;
        int r;

        r = ctr_client(c, &g, err);
        if (r < 0)
                return r;
        return grpc_client_stream_open(g, path, md, ctr_metadata(c, md), c->opts->timeout_ms, ret,
                                       err);
}

int ctr_stream_send(struct grpc_client_stream *st, const ProtobufCMessage *m, struct errmsg *err)
{
        _cleanup_free_ uint8_t *out = NULL;
        size_t len;

        ctr_pack(m, &out, &len);
        return grpc_client_stream_send(st, out, len, err);
}

int ctr_stream_recv(struct grpc_client_stream *st, const ProtobufCMessageDescriptor *desc,
                    void *ret, struct errmsg *err)
{
        _cleanup_free_ uint8_t *in = NULL;
        size_t len;
        int r;

        r = grpc_client_stream_recv(st, &in, &len, err);
        if (r <= 0)
                return r;
        r = pb_unpack(desc, in, len, ret, err);
        return r < 0 ? r : 1;
}

int ctr_errdefs(int r, struct errmsg *err)
{
        /* errdefs.FromGRPC: a code of no class is ErrUnknown */
        const char *word = rpc_errdefs_word(r) ?: (r == -EIO ? "unknown" : NULL);
        size_t len, wlen;

        if (r >= 0 || !err || !err->msg[0] || !word)
                return r;
        len = strlen(err->msg);
        wlen = strlen(word);
        if (len >= wlen + 2 && STREQ(err->msg + len - wlen, word) &&
            err->msg[len - wlen - 2] == ':')
                return r;
        {
                _cleanup_free_ char *msg = xstrdup(err->msg);

                return errmsg_set(err, r, "%s: %s", msg, word);
        }
}
