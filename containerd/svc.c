/* SPDX-License-Identifier: Apache-2.0 */
/* The shared pieces of the daemon's service handlers (svc.h). */
#include "containerd/svc.h"

#include "google/protobuf/empty.pb-c.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

int svc_namespace(struct grpc_call *call, const char **ret, struct errmsg *err)
{
        const char *ns = grpc_call_metadata(call, NAMESPACE_METADATA_KEY);

        if (!ns || !ns[0])
                return errmsg_set(err, -EBUSY, "namespace is required");
        *ret = ns;
        return 0;
}

int svc_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *msg, size_t len, void *ret,
               struct errmsg *err)
{
        ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, msg);

        if (!m)
                return errmsg_set(err, -EINVAL, "grpc: error unmarshalling request: %s", d->name);
        *(ProtobufCMessage **) ret = m;
        return 0;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *ret_len)
{
        size_t len = protobuf_c_message_get_packed_size(m);
        uint8_t *buf = xmalloc(len ? len : 1);

        *ret_len = protobuf_c_message_pack(m, buf);
        return buf;
}

int svc_reply(struct grpc_call *call, const ProtobufCMessage *m)
{
        size_t len;
        _cleanup_free_ uint8_t *buf = pack(m, &len);

        return grpc_call_reply(call, buf, len);
}

int svc_send(struct grpc_call *call, const ProtobufCMessage *m)
{
        size_t len;
        _cleanup_free_ uint8_t *buf = pack(m, &len);

        return grpc_call_send(call, buf, len);
}

int svc_reply_empty(struct grpc_call *call)
{
        Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;

        return svc_reply(call, &e.base);
}

void **svc_map_from_labels(char *const *labels, const ProtobufCMessageDescriptor *entry_desc,
                           size_t *ret_n)
{
        size_t n = strv_length(labels) / 2;
        struct svc_map_entry **v;

        *ret_n = n;
        if (n == 0)
                return NULL;
        v = xnew0(struct svc_map_entry *, n);
        for (size_t i = 0; i < n; i++) {
                v[i] = xmalloc(entry_desc->sizeof_message);
                protobuf_c_message_init(entry_desc, v[i]);
                v[i]->key = labels[2 * i];
                v[i]->value = labels[2 * i + 1];
        }
        return (void **) v;
}

void svc_map_free(void **entries, size_t n)
{
        for (size_t i = 0; entries && i < n; i++)
                free(entries[i]);
        free(entries);
}

char **svc_labels_from_map(void *const *entries, size_t n)
{
        char **labels = NULL;

        for (size_t i = 0; i < n; i++) {
                const struct svc_map_entry *e = entries[i];

                (void) strv_push(&labels, e->key ? e->key : "");
                (void) strv_push(&labels, e->value ? e->value : "");
        }
        return labels;
}

void svc_timestamp(const struct timespec *in, Google__Protobuf__Timestamp *ts)
{
        *ts = (Google__Protobuf__Timestamp) GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ts->seconds = in->tv_sec;
        ts->nanos = (int32_t) in->tv_nsec;
}

/* One condition against object: 1 match, 0 no match, -EINVAL syntax. */
static int condition_matches(char *c, svc_field_fn get, void *object)
{
        char *op = strpbrk(c, "!=~"), *value;
        const char *have;
        bool negate;
        size_t n;

        if (!op) {
                have = get(c, object);
                return have && have[0];
        }
        if (op[0] == '~' || (op[0] == '=' && op[1] != '=') || (op[0] == '!' && op[1] != '='))
                return -EINVAL;
        negate = op[0] == '!';
        *op = '\0';
        value = op + 2;
        n = strlen(value);
        if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
                value[n - 1] = '\0';
                value++;
        }
        have = get(c, object);
        return negate != STREQ(have ? have : "", value);
}

int svc_filters_match(char *const *filters, size_t n, svc_field_fn get, void *object, bool *ret,
                      struct errmsg *err)
{
        bool any = n == 0;

        for (size_t f = 0; f < n && !any; f++) {
                _cleanup_free_ char *copy = xstrdup(filters[f]);
                bool all = true;
                char *save = NULL;

                for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
                        int m = condition_matches(c, get, object);

                        if (m < 0)
                                return errmsg_set(err, -EINVAL,
                                                  "filter \"%s\": only ==, != and presence",
                                                  filters[f]);
                        all = all && m;
                }
                any = all;
        }
        *ret = any;
        return 0;
}

const char *svc_label_field(const char *field, char *const *labels)
{
        if (strncmp(field, "labels.", 7) != 0)
                return NULL;
        for (size_t i = 0; labels && labels[i]; i += 2)
                if (STREQ(labels[i], field + 7))
                        return labels[i + 1];
        return NULL;
}

int svc_lease_add(struct grpc_call *call, struct daemon *d, const char *ns, const char *type,
                  const char *id, struct errmsg *err)
{
        const char *lease = grpc_call_metadata(call, LEASE_METADATA_KEY);

        if (!lease || !lease[0])
                return 0;
        return lease_add_resource(d->st->md, ns, lease, type, id, err);
}

int svc_request(struct grpc_call *call, const ProtobufCMessageDescriptor *d, const uint8_t *msg,
                size_t len, void *ret, const char **ret_ns, struct errmsg *err)
{
        const char *ns;
        int r = svc_namespace(call, &ns, err);

        if (r >= 0)
                r = svc_unpack(d, msg, len, ret, err);
        if (r >= 0)
                *ret_ns = ns;
        return r;
}

void svc_errdefs_words(int r, struct errmsg *err)
{
        const char *suffix = rpc_errdefs_word(r);
        size_t n = strlen(err->msg);

        if (suffix && !(n >= strlen(suffix) && STREQ(err->msg + n - strlen(suffix), suffix)))
                (void) snprintf(err->msg + n, sizeof(err->msg) - n, "%s%s", n ? ": " : "", suffix);
}

int svc_finish_error(struct grpc_call *call, int r, const struct errmsg *err)
{
        struct errmsg e = {0};

        if (err && err->msg[0])
                e = *err;
        else
                (void) errmsg_set(&e, r, "%s", strerror(-r));
        svc_errdefs_words(r, &e);
        return grpc_call_finish(call, rpc_code_from_errno(r), e.msg);
}
