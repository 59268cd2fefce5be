/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON as ctr prints it. ctr hands Go values to encoding/json: the gogo-generated structs of
 * containerd's messages (json tags are the proto field names with omitempty; google.protobuf
 * Timestamps are time.Time, printed as RFC 3339 with nanoseconds; Any is {"type_url","value"}
 * with the value in base64; maps are objects sorted by key) and the OCI spec's structs.
 * protobuf-c has no JSON, so this walks the message descriptors; and jansson values (an OCI
 * spec) are printed with Go's formatting and escaping (<, >, & as \u003c..., "key": value,
 * MarshalIndent's layout), so that what berth-ctr prints is what ctr prints, byte for byte.
 */
#pragma once

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "google/protobuf/any.pb-c.h"
#include "lib/errmsg.h"

/* --- a Go-style JSON writer ------------------------------------------------------------ */

struct gojson;
/* indent NULL: compact (json.Marshal); else json.MarshalIndent(v, "", indent). */
struct gojson *gojson_new(const char *indent);
/* The text written (the caller's, NUL-terminated); frees w. */
char *gojson_finish(struct gojson *w);
void gojson_begin_object(struct gojson *w);
void gojson_end_object(struct gojson *w);
void gojson_begin_array(struct gojson *w);
void gojson_end_array(struct gojson *w);
void gojson_key(struct gojson *w, const char *key);
void gojson_string(struct gojson *w, const char *s);
void gojson_stringn(struct gojson *w, const char *s, size_t len);
void gojson_uint(struct gojson *w, uint64_t v);
void gojson_int(struct gojson *w, int64_t v);
void gojson_double(struct gojson *w, double v);
void gojson_bool(struct gojson *w, bool v);
void gojson_null(struct gojson *w);
/* A jansson value as it stands (objects in their insertion order). */
void gojson_value(struct gojson *w, const json_t *v);
/* Go's json.Marshal (indent NULL) or MarshalIndent of a jansson value; the caller's. */
char *gojson_dump(const json_t *v, const char *indent);

/* --- times as Go prints them ----------------------------------------------------------- */

#define GO_TIME_MAX 64
/* time.Time's MarshalJSON text, unquoted: "2026-11-29T02:14:18.63607Z" (trailing zeros cut). */
void go_time_rfc3339nano(int64_t seconds, int32_t nanos, char buf[GO_TIME_MAX]);
/* time.Time.String() in UTC: "2026-11-29 02:14:18.63607 +0000 UTC". */
void go_time_string(int64_t seconds, int32_t nanos, char buf[GO_TIME_MAX]);

/* --- protobuf messages ----------------------------------------------------------------- */

/* Writes m as encoding/json writes its gogo-generated Go struct. */
void pb_json_message(struct gojson *w, const ProtobufCMessage *m);

/*
 * The descriptor of a type URL ctr's typeurl registry knows for the messages berth-ctr
 * decodes: containerd's events, cgroup metrics, runc's ProcessDetails and Options. NULL when
 * unknown.
 */
const ProtobufCMessageDescriptor *pb_type_lookup(const char *type_url);

/*
 * Decodes any by its type URL: *ret (free with protobuf_c_message_free_unpacked). -ENOENT
 * "type with url %s: not found" (typeurl's words) for an unknown type, -EBADMSG when the
 * bytes do not decode.
 */
int pb_any_unpack(const Google__Protobuf__Any *any, ProtobufCMessage **ret, struct errmsg *err);

/* An Any's message as compact JSON (ctr events): the caller's string. */
int pb_any_to_json(const Google__Protobuf__Any *any, char **ret, struct errmsg *err);
