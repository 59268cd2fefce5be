/* SPDX-License-Identifier: Apache-2.0 */
/*
 * protobuf-c messages as encoding/json prints the gogo-generated Go structs ctr holds
 * (pb-json.h): fields in declaration order under their proto names, every zero value, empty
 * list and absent message left out (omitempty), maps as objects sorted by key, bytes in
 * base64, enums as numbers, Timestamps (gogo's stdtime, never omitted) as RFC 3339 strings and
 * Any as gogo's types.Any struct. Also the type URL registry ctr's typeurl package has for
 * the messages berth-ctr decodes.
 */
#include <stdlib.h>

#include "containerd/cgroups/v1/metrics.pb-c.h"
#include "containerd/cgroups/v2/metrics.pb-c.h"
#include "containerd/runc/options/oci.pb-c.h"
#include "ctr/pb-json.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "lib/event-types.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

/* What ctr's typeurl registry knows besides the events (lib/event-types.h). */
static const ProtobufCMessageDescriptor *const other_types[] = {
        &io__containerd__cgroups__v1__metrics__descriptor,
        &io__containerd__cgroups__v2__metrics__descriptor,
        &containerd__runc__v1__options__descriptor,
        &containerd__runc__v1__process_details__descriptor,
};

const ProtobufCMessageDescriptor *pb_type_lookup(const char *type_url)
{
        const ProtobufCMessageDescriptor *d = event_type_lookup(type_url);
        const char *slash = strrchr(type_url, '/');

        /* typeurl accepts "types.googleapis.com/<name>" as well as the bare name */
        if (slash)
                type_url = slash + 1;
        for (size_t i = 0; !d && i < ELEMENTSOF(other_types); i++)
                if (STREQ(other_types[i]->name, type_url))
                        d = other_types[i];
        return d;
}

int pb_any_unpack(const Google__Protobuf__Any *any, ProtobufCMessage **ret, struct errmsg *err)
{
        const ProtobufCMessageDescriptor *desc = pb_type_lookup(any->type_url ?: "");
        ProtobufCMessage *m;

        if (!desc)
                return errmsg_set(err, -ENOENT, "type with url %s: not found", any->type_url);
        m = protobuf_c_message_unpack(desc, NULL, any->value.len, any->value.data);
        if (!m)
                return errmsg_set(err, -EBADMSG, "%s: undecodable message", any->type_url);
        *ret = m;
        return 0;
}

int pb_any_to_json(const Google__Protobuf__Any *any, char **ret, struct errmsg *err)
{
        ProtobufCMessage *m = NULL;
        struct gojson *w;
        int r;

        r = pb_any_unpack(any, &m, err);
        if (r < 0)
                return r;
        w = gojson_new(NULL);
        pb_json_message(w, m);
        protobuf_c_message_free_unpacked(m, NULL);
        *ret = gojson_finish(w);
        return 0;
}

/* --- values ------------------------------------------------------------------------------ */

static void put_base64(struct gojson *w, const uint8_t *data, size_t len)
{
        static const char tab[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        _cleanup_free_ char *out = xmalloc((len + 2) / 3 * 4 + 1);
        size_t o = 0;

        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t) data[i] << 16;

                if (i + 1 < len)
                        v |= (uint32_t) data[i + 1] << 8;
                if (i + 2 < len)
                        v |= data[i + 2];
                out[o++] = tab[(v >> 18) & 63];
                out[o++] = tab[(v >> 12) & 63];
                out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
                out[o++] = i + 2 < len ? tab[v & 63] : '=';
        }
        gojson_stringn(w, out, o);
}

static bool is_type(const ProtobufCMessageDescriptor *d, const char *name)
{
        return d && STREQ(d->name, name);
}

static void put_timestamp(struct gojson *w, const ProtobufCMessage *m)
{
        const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *) m;
        char buf[GO_TIME_MAX];

        /* gogo's non-nullable stdtime: an absent one is Go's zero time */
        if (ts)
                go_time_rfc3339nano(ts->seconds, ts->nanos, buf);
        else
                go_time_rfc3339nano(-62135596800LL, 0, buf);
        gojson_string(w, buf);
}

static void put_any(struct gojson *w, const Google__Protobuf__Any *any)
{
        gojson_begin_object(w);
        if (any->type_url && *any->type_url) {
                gojson_key(w, "type_url");
                gojson_string(w, any->type_url);
        }
        if (any->value.len > 0) {
                gojson_key(w, "value");
                put_base64(w, any->value.data, any->value.len);
        }
        gojson_end_object(w);
}

/* One value of field f at p (a scalar, a string, bytes or a message pointer). */
static void put_value(struct gojson *w, const ProtobufCFieldDescriptor *f, const void *p)
{
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_ENUM:
                gojson_int(w, *(const int32_t *) p);
                break;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                gojson_uint(w, *(const uint32_t *) p);
                break;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                gojson_int(w, *(const int64_t *) p);
                break;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                gojson_uint(w, *(const uint64_t *) p);
                break;
        case PROTOBUF_C_TYPE_FLOAT:
                gojson_double(w, *(const float *) p);
                break;
        case PROTOBUF_C_TYPE_DOUBLE:
                gojson_double(w, *(const double *) p);
                break;
        case PROTOBUF_C_TYPE_BOOL:
                gojson_bool(w, *(const protobuf_c_boolean *) p);
                break;
        case PROTOBUF_C_TYPE_STRING:
                gojson_string(w, *(char *const *) p);
                break;
        case PROTOBUF_C_TYPE_BYTES: {
                const ProtobufCBinaryData *b = p;

                put_base64(w, b->data, b->len);
                break;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
                const ProtobufCMessage *m = *(ProtobufCMessage *const *) p;

                if (is_type(f->descriptor, "google.protobuf.Timestamp"))
                        put_timestamp(w, m);
                else if (is_type(f->descriptor, "google.protobuf.Any"))
                        put_any(w, (const Google__Protobuf__Any *) m);
                else if (m)
                        pb_json_message(w, m);
                else
                        gojson_null(w);
                break;
        }
        }
}

static size_t value_size(ProtobufCType type)
{
        switch (type) {
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                return 8;
        case PROTOBUF_C_TYPE_DOUBLE:
                return sizeof(double);
        case PROTOBUF_C_TYPE_BOOL:
                return sizeof(protobuf_c_boolean);
        case PROTOBUF_C_TYPE_STRING:
                return sizeof(char *);
        case PROTOBUF_C_TYPE_BYTES:
                return sizeof(ProtobufCBinaryData);
        case PROTOBUF_C_TYPE_MESSAGE:
                return sizeof(ProtobufCMessage *);
        default:
                return 4;
        }
}

/* Whether the singular value at p is Go's zero value (omitted under omitempty). */
static bool is_zero(const ProtobufCFieldDescriptor *f, const void *p)
{
        static const uint8_t zeros[16];

        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING: {
                const char *s = *(char *const *) p;

                return !s || !*s;
        }
        case PROTOBUF_C_TYPE_BYTES:
                return ((const ProtobufCBinaryData *) p)->len == 0;
        case PROTOBUF_C_TYPE_MESSAGE:
                /* a Timestamp is non-nullable and always printed */
                return !is_type(f->descriptor, "google.protobuf.Timestamp") &&
                       !*(ProtobufCMessage *const *) p;
        case PROTOBUF_C_TYPE_FLOAT:
                return *(const float *) p == 0;
        case PROTOBUF_C_TYPE_DOUBLE:
                return *(const double *) p == 0;
        default:
                return memcmp(p, zeros, value_size(f->type)) == 0;
        }
}

/* --- maps ---------------------------------------------------------------------------------- */

static bool is_map_entry(const ProtobufCFieldDescriptor *f)
{
        const ProtobufCMessageDescriptor *d = f->descriptor;
        size_t n;

        if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label != PROTOBUF_C_LABEL_REPEATED || !d)
                return false;
        n = strlen(d->name);
        return n > 5 && STREQ(d->name + n - 5, "Entry") && d->n_fields == 2 &&
               STREQ(d->fields[0].name, "key") && STREQ(d->fields[1].name, "value");
}

static int compare_entries(const void *a, const void *b, void *userdata)
{
        const ProtobufCFieldDescriptor *k = userdata;
        const char *ka = *(char *const *) ((const char *) *(void *const *) a + k->offset);
        const char *kb = *(char *const *) ((const char *) *(void *const *) b + k->offset);

        return strcmp(ka ?: "", kb ?: "");
}

/* A Go map: an object with its keys sorted (string keys; others in the wire's order). */
static void put_map(struct gojson *w, const ProtobufCFieldDescriptor *f, void *const *entries,
                    size_t n)
{
        const ProtobufCMessageDescriptor *d = f->descriptor;
        const ProtobufCFieldDescriptor *key = &d->fields[0], *value = &d->fields[1];
        _cleanup_free_ void **sorted = xnew0(void *, n);

        memcpy(sorted, entries, n * sizeof(void *));
        if (key->type == PROTOBUF_C_TYPE_STRING) {
                qsort_r(sorted, n, sizeof(void *), compare_entries, (void *) key);
        }
        gojson_begin_object(w);
        for (size_t i = 0; i < n; i++) {
                const char *e = sorted[i];

                if (key->type == PROTOBUF_C_TYPE_STRING) {
                        gojson_key(w, *(char *const *) (e + key->offset) ?: "");
                } else {
                        char num[24];

                        snprintf(num, sizeof(num), "%lld",
                                 value_size(key->type) == 8
                                         ? (long long) *(const int64_t *) (e + key->offset)
                                         : (long long) *(const int32_t *) (e + key->offset));
                        gojson_key(w, num);
                }
                put_value(w, value, e + value->offset);
        }
        gojson_end_object(w);
}

/* --- messages ------------------------------------------------------------------------------ */

static void put_field(struct gojson *w, const ProtobufCMessage *m,
                      const ProtobufCFieldDescriptor *f)
{
        const char *base = (const char *) m;
        const void *p = base + f->offset;

        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                if (*(const uint32_t *) (base + f->quantifier_offset) != f->id)
                        return;
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                size_t n = *(const size_t *) (base + f->quantifier_offset);
                const char *items = *(char *const *) p;

                if (n == 0)
                        return;
                gojson_key(w, f->name);
                if (is_map_entry(f)) {
                        put_map(w, f, (void *const *) items, n);
                        return;
                }
                gojson_begin_array(w);
                for (size_t i = 0; i < n; i++)
                        put_value(w, f, items + i * value_size(f->type));
                gojson_end_array(w);
                return;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
                if (!*(const protobuf_c_boolean *) (base + f->quantifier_offset))
                        return;
        }
        if (is_zero(f, p))
                return;
        gojson_key(w, f->name);
        put_value(w, f, p);
}

void pb_json_message(struct gojson *w, const ProtobufCMessage *m)
{
        const ProtobufCMessageDescriptor *d = m->descriptor;

        if (is_type(d, "google.protobuf.Any")) {
                put_any(w, (const Google__Protobuf__Any *) m);
                return;
        }
        gojson_begin_object(w);
        for (unsigned i = 0; i < d->n_fields; i++)
                put_field(w, m, &d->fields[i]);
        gojson_end_object(w);
}
