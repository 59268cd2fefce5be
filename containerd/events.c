/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event exchange (events.h): envelopes, containerd's topic rules, its filters on envelope
 * fields (filters/parser.go: selectors "fieldpath", "fieldpath==v", "!=", "~=" for a regular
 * expression, joined by ','; a list matches when any filter does) and per-subscriber queues.
 * Callbacks may unsubscribe subscribers (a connection closing cancels all its calls), so while
 * the exchange walks its list, removal only marks a subscriber dead; the walk's end frees it.
 */
#include "containerd/events.h"

#include <regex.h>
#include <time.h>

#include "lib/event-types.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

typedef Containerd__Services__Events__V1__Envelope envelope_t;

enum selector_op { OP_PRESENT, OP_EQUAL, OP_NOT_EQUAL, OP_MATCHES, _OP_MAX };

struct selector {
        char **path; /* the fieldpath's components */
        enum selector_op op;
        char *value;
        regex_t re; /* OP_MATCHES */
};

struct filter {
        struct selector *v;
        size_t n;
};

struct queued {
        struct queued *next;
        size_t len;
        uint8_t data[];
};

struct events_subscriber {
        struct events_subscriber *next;
        struct filter *filters;
        size_t n_filters;
        events_send_fn send;
        events_drop_fn drop;
        void *userdata;
        struct queued *head, *tail;
        size_t n_queued, queued_bytes;
        bool is_dead;
};

struct events {
        struct events_subscriber *head;
        unsigned busy; /* walks in progress */
        size_t n;
};

static void filters_free(struct filter *f, size_t n)
{
        for (size_t i = 0; f && i < n; i++) {
                for (size_t j = 0; j < f[i].n; j++) {
                        strv_free(f[i].v[j].path);
                        free(f[i].v[j].value);
                        if (f[i].v[j].op == OP_MATCHES)
                                regfree(&f[i].v[j].re);
                }
                free(f[i].v);
        }
        free(f);
}

static void subscriber_free(struct events_subscriber *s)
{
        while (s->head) {
                struct queued *q = s->head;

                s->head = q->next;
                free(q);
        }
        filters_free(s->filters, s->n_filters);
        free(s);
}

struct events *events_new(void)
{
        return xnew0(struct events, 1);
}

struct events *events_free(struct events *ex)
{
        if (!ex)
                return NULL;
        assert(ex->busy == 0);
        while (ex->head) {
                struct events_subscriber *s = ex->head;

                ex->head = s->next;
                subscriber_free(s);
        }
        free(ex);
        return NULL;
}

size_t events_subscribers(const struct events *ex)
{
        return ex->n;
}

/* Frees the subscribers marked dead, once no walk is in progress. */
static void sweep(struct events *ex)
{
        if (ex->busy)
                return;
        for (struct events_subscriber **p = &ex->head; *p;) {
                struct events_subscriber *s = *p;

                if (s->is_dead) {
                        *p = s->next;
                        subscriber_free(s);
                } else
                        p = &s->next;
        }
}

void events_unsubscribe(struct events *ex, struct events_subscriber *s)
{
        if (!s || s->is_dead)
                return;
        s->is_dead = true;
        ex->n--;
        sweep(ex);
}

static void drop(struct events *ex, struct events_subscriber *s, int r)
{
        events_drop_fn fn = s->drop;
        void *userdata = s->userdata;

        s->is_dead = true;
        ex->n--;
        if (fn)
                fn(r, userdata);
}

/* --- topics and identifiers (identifiers/validate.go) ---------------------------------------- */

#define IDENTIFIER_MAX 76
#define IDENTIFIER_RE  "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$"

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* containerd's identifier: alphanumerics, single '.', '_' or '-' between them. */
static int identifier_validate(const char *s, size_t n, struct errmsg *err)
{
        bool ok = n > 0 && is_alnum(s[0]) && is_alnum(s[n - 1]);

        if (n == 0)
                return errmsg_set(err, -EINVAL, "identifier must not be empty");
        if (n > IDENTIFIER_MAX)
                return errmsg_set(err, -EINVAL,
                                  "identifier \"%.*s\" greater than maximum length (%d characters)",
                                  (int) n, s, IDENTIFIER_MAX);
        for (size_t i = 1; ok && i < n; i++)
                ok = is_alnum(s[i]) || (strchr("._-", s[i]) && is_alnum(s[i - 1]));
        if (!ok)
                return errmsg_set(err, -EINVAL, "identifier \"%.*s\" must match %s", (int) n, s,
                                  IDENTIFIER_RE);
        return 0;
}

int events_validate_topic(const char *topic, struct errmsg *err)
{
        const char *why = NULL;
        int r;

        if (!topic[0])
                why = "must not be empty";
        else if (topic[0] != '/')
                why = "must start with '/'";
        else if (!topic[1])
                why = "must have at least one component";
        if (why)
                return errmsg_set(err, -EINVAL, "envelope topic \"%s\": %s", topic, why);
        for (const char *c = topic + 1;; c++) {
                size_t n = strcspn(c, "/");

                r = identifier_validate(c, n, err);
                if (r < 0)
                        return errmsg_prefix(err, r,
                                             "envelope topic \"%s\": failed validation on "
                                             "component \"%.*s\"",
                                             topic, (int) n, c);
                c += n;
                if (!*c)
                        return 0;
        }
}

/* --- filters ---------------------------------------------------------------------------------- */

static bool is_quote(char c)
{
        return c == '"' || c == '/' || c == '|';
}

/* A quoted string at *p (Go-like escapes; in a regular expression other escapes stay). */
static int parse_quoted(const char **p, char **ret)
{
        char q = **p, *out = xmalloc(strlen(*p) + 1), *o = out;
        const char *c = *p + 1;

        for (; *c && *c != q; c++) {
                if (*c == '\\' && c[1]) {
                        c++;
                        if (*c == 'n')
                                *o++ = '\n';
                        else if (*c == 't')
                                *o++ = '\t';
                        else if (*c == q || *c == '\\')
                                *o++ = *c;
                        else {
                                *o++ = '\\';
                                *o++ = *c;
                        }
                } else
                        *o++ = *c;
        }
        if (*c != q) {
                free(out);
                return -EINVAL;
        }
        *o = '\0';
        *p = c + 1;
        *ret = out;
        return 0;
}

static void skip_space(const char **p)
{
        while (**p == ' ' || **p == '\t')
                (*p)++;
}

static int parse_field(const char **p, char **ret)
{
        size_t n = 0;

        skip_space(p);
        if (is_quote(**p))
                return parse_quoted(p, ret);
        if (!((**p >= 'a' && **p <= 'z') || (**p >= 'A' && **p <= 'Z')))
                return -EINVAL;
        while (is_alnum((*p)[n]) || (*p)[n] == '_')
                n++;
        *ret = xstrndup(*p, n);
        *p += n;
        return 0;
}

/*
 * glibc's regcomp() grows without bound on nested repetition ("a++++...", "(a{99}){99}"),
 * where Go's RE2 refuses it ("invalid nested repetition operator") or is linear. Clients send
 * these, so refuse what RE2 refuses here: a repetition of a repetition (a lazy '?' aside),
 * counts past REGEX_REPEAT_MAX, and long expressions.
 */
#define REGEX_MAX_LEN    512
#define REGEX_REPEAT_MAX 100

static bool regex_is_tame(const char *re)
{
        bool after_repeat = false, after_lazy = false;
        unsigned long braces = 0;

        if (strlen(re) > REGEX_MAX_LEN)
                return false;
        for (const char *c = re; *c; c++) {
                bool is_repeat = *c == '*' || *c == '+' || *c == '?' || *c == '{';

                if (*c == '\\' && c[1]) {
                        c++;
                        after_repeat = after_lazy = false;
                        continue;
                }
                if (is_repeat && after_repeat) {
                        if (*c != '?' || after_lazy)
                                return false;
                        after_lazy = true;
                        continue;
                }
                if (*c == '{') {
                        char *end;
                        unsigned long n = strtoul(c + 1, &end, 10);

                        if (end == c + 1 || n > REGEX_REPEAT_MAX)
                                return false;
                        if (*end == ',' && end[1] != '}') {
                                n = strtoul(end + 1, &end, 10);
                                if (n > REGEX_REPEAT_MAX)
                                        return false;
                        } else if (*end == ',')
                                end++;
                        if (*end != '}' || ++braces > 4)
                                return false;
                        c = end;
                }
                after_repeat = is_repeat;
                after_lazy = false;
        }
        return true;
}

static int parse_selector(const char **p, struct selector *sel)
{
        enum selector_op op;
        char *field = NULL;
        int r;

        for (bool first = true; first || **p == '.'; first = false) {
                if (!first)
                        (*p)++;
                r = parse_field(p, &field);
                if (r < 0)
                        return r;
                (void) strv_push(&sel->path, field);
                free(field);
                skip_space(p);
        }
        if (!**p || **p == ',') {
                sel->op = OP_PRESENT;
                return 0;
        }
        if (strncmp(*p, "==", 2) == 0)
                op = OP_EQUAL;
        else if (strncmp(*p, "!=", 2) == 0)
                op = OP_NOT_EQUAL;
        else if (strncmp(*p, "~=", 2) == 0)
                op = OP_MATCHES;
        else
                return -EINVAL;
        *p += 2;
        skip_space(p);
        if (is_quote(**p))
                r = parse_quoted(p, &sel->value);
        else {
                size_t n = strcspn(*p, " \t,");

                sel->value = xstrndup(*p, n);
                *p += n;
                r = n ? 0 : -EINVAL;
        }
        if (r >= 0 && op == OP_MATCHES &&
            (!regex_is_tame(sel->value) ||
             regcomp(&sel->re, sel->value, REG_EXTENDED | REG_NOSUB) != 0))
                r = -EINVAL;
        if (r >= 0)
                sel->op = op; /* OP_MATCHES only with a compiled re */
        skip_space(p);
        return r;
}

static int parse_filter(const char *s, struct filter *f)
{
        const char *p = s;
        int r;

        while (*p) {
                f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
                f->v[f->n] = (struct selector){0};
                r = parse_selector(&p, &f->v[f->n++]);
                if (r < 0)
                        return r;
                if (!*p)
                        break;
                if (*p != ',' || !*++p)
                        return -EINVAL;
        }
        return 0;
}

/* --- fields of an envelope (events/events.go Envelope.Field) ------------------------------ */

/*
 * The string at path in m, as containerd's generated fieldpath code gives it: string fields
 * by their proto name, map<string,string> entries as "<map>.<key>", sub-messages by descent.
 * NULL when absent or not a string.
 */
static const char *message_field(const ProtobufCMessage *m, char *const *path)
{
        const ProtobufCFieldDescriptor *f;
        const char *at;

        if (!path[0])
                return NULL;
        f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, path[0]);
        if (!f)
                return NULL;
        at = (const char *) m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                const size_t n = *(const size_t *) ((const char *) m + f->quantifier_offset);
                ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *) at;
                const ProtobufCMessageDescriptor *e = f->descriptor;

                /* a map: entries {key = 1, value = 2} of strings */
                if (!path[1] || e->n_fields != 2 || e->fields[0].type != PROTOBUF_C_TYPE_STRING ||
                    e->fields[1].type != PROTOBUF_C_TYPE_STRING)
                        return NULL;
                for (size_t i = 0; i < n; i++) {
                        const char *k =
                                *(char *const *) ((const char *) v[i] + e->fields[0].offset);

                        if (STREQ(k, path[1]) && !path[2])
                                return *(char *const *) ((const char *) v[i] + e->fields[1].offset);
                }
                return NULL;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
                return NULL;
        if (f->type == PROTOBUF_C_TYPE_STRING)
                return path[1] ? NULL : *(char *const *) at;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage *const *) at)
                return message_field(*(ProtobufCMessage *const *) at, path + 1);
        return NULL;
}

struct match_ctx {
        const envelope_t *env;
        ProtobufCMessage *event; /* decoded on first use */
        bool is_decoded;
};

/* The value of path and whether it is present (containerd: non-empty). */
static const char *envelope_field(struct match_ctx *c, char *const *path, bool *ret_present)
{
        const char *v = NULL;

        if (STREQ(path[0], "namespace") && !path[1])
                v = c->env->namespace_;
        else if (STREQ(path[0], "topic") && !path[1])
                v = c->env->topic;
        else if (STREQ(path[0], "event") && path[1] && c->env->event) {
                if (!c->is_decoded) {
                        const ProtobufCMessageDescriptor *d =
                                event_type_lookup(c->env->event->type_url);

                        c->is_decoded = true;
                        if (d)
                                c->event =
                                        protobuf_c_message_unpack(d, NULL, c->env->event->value.len,
                                                                  c->env->event->value.data);
                }
                if (c->event)
                        v = message_field(c->event, path + 1);
        }
        *ret_present = v && v[0];
        return v ? v : "";
}

static bool selector_match(struct match_ctx *c, const struct selector *sel)
{
        bool present;
        const char *v = envelope_field(c, sel->path, &present);

        switch (sel->op) {
        case OP_PRESENT:
                return present;
        case OP_EQUAL:
                return present && STREQ(v, sel->value);
        case OP_NOT_EQUAL:
                return !STREQ(v, sel->value);
        case OP_MATCHES:
                return regexec(&sel->re, v, 0, NULL, 0) == 0;
        default:
                return false;
        }
}

static bool subscriber_match(const struct events_subscriber *s, struct match_ctx *c)
{
        if (s->n_filters == 0)
                return true;
        for (size_t i = 0; i < s->n_filters; i++) {
                bool all = true;

                for (size_t j = 0; all && j < s->filters[i].n; j++)
                        all = selector_match(c, &s->filters[i].v[j]);
                if (all)
                        return true;
        }
        return false;
}

int events_subscribe(struct events *ex, char *const *filters, size_t n_filters, events_send_fn send,
                     events_drop_fn drop_fn, void *userdata, struct events_subscriber **ret,
                     struct errmsg *err)
{
        struct filter *f;
        struct events_subscriber *s, **p;
        size_t n = 0;

        if (n_filters > EVENTS_FILTERS_MAX)
                return errmsg_set(err, -EINVAL, "more than %u filters", EVENTS_FILTERS_MAX);
        f = xnew0(struct filter, n_filters + 1);
        for (size_t i = 0; i < n_filters; i++) {
                if (!filters[i][0])
                        continue; /* "" matches all, and so does the list */
                if (strlen(filters[i]) > EVENTS_FILTER_MAX_LEN ||
                    parse_filter(filters[i], &f[n]) < 0) {
                        filters_free(f, n + 1);
                        return errmsg_set(
                                err, -EINVAL,
                                "failed parsing subscription filters: filters: parse error: "
                                "[%.256s]",
                                filters[i]);
                }
                n++;
        }
        if (n < n_filters && n > 0) /* an empty filter among others: all match */
                n = 0;
        s = xnew0(struct events_subscriber, 1);
        *s = (struct events_subscriber){
                .filters = f, .n_filters = n, .send = send, .drop = drop_fn, .userdata = userdata};
        if (n == 0) {
                filters_free(f, n_filters + 1);
                s->filters = NULL;
        }
        for (p = &ex->head; *p; p = &(*p)->next)
                ;
        *p = s;
        ex->n++;
        *ret = s;
        return 0;
}

/* --- delivery ----------------------------------------------------------------------------- */

static void enqueue(struct events *ex, struct events_subscriber *s, const uint8_t *msg, size_t len)
{
        struct queued *q;

        if (s->n_queued >= EVENTS_QUEUE_MAX || s->queued_bytes + len > EVENTS_QUEUE_MAX_BYTES) {
                drop(ex, s, -ENOBUFS);
                return;
        }
        q = xmalloc(sizeof(*q) + len);
        q->next = NULL;
        q->len = len;
        memcpy(q->data, msg, len);
        if (s->tail)
                s->tail->next = q;
        else
                s->head = q;
        s->tail = q;
        s->n_queued++;
        s->queued_bytes += len;
}

static void deliver(struct events *ex, struct events_subscriber *s, const uint8_t *msg, size_t len)
{
        int r;

        if (s->head) { /* keep the order: after what waits */
                enqueue(ex, s, msg, len);
                return;
        }
        r = s->send(msg, len, s->userdata);
        if (r == -ENOBUFS)
                enqueue(ex, s, msg, len);
        else if (r < 0)
                drop(ex, s, r);
}

void events_subscriber_writable(struct events *ex, struct events_subscriber *s)
{
        ex->busy++;
        while (!s->is_dead && s->head) {
                struct queued *q = s->head;
                int r = s->send(q->data, q->len, s->userdata);

                if (r == -ENOBUFS)
                        break;
                s->head = q->next;
                if (!s->head)
                        s->tail = NULL;
                s->n_queued--;
                s->queued_bytes -= q->len;
                free(q);
                if (r < 0)
                        drop(ex, s, r);
        }
        ex->busy--;
        sweep(ex);
}

static int broadcast(struct events *ex, const envelope_t *env)
{
        size_t len = protobuf_c_message_get_packed_size(&env->base);
        _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
        struct match_ctx c = {.env = env};

        len = protobuf_c_message_pack(&env->base, buf);
        ex->busy++;
        for (struct events_subscriber *s = ex->head; s; s = s->next)
                if (!s->is_dead && subscriber_match(s, &c))
                        deliver(ex, s, buf, len);
        ex->busy--;
        if (c.event)
                protobuf_c_message_free_unpacked(c.event, NULL);
        sweep(ex);
        return 0;
}

int events_publish_any(struct events *ex, const char *ns, const char *topic,
                       const Google__Protobuf__Any *event, struct errmsg *err)
{
        envelope_t env = CONTAINERD__SERVICES__EVENTS__V1__ENVELOPE__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        struct timespec now;
        int r;

        if (!ns || !ns[0])
                return errmsg_set(err, -EBUSY, "failed publishing event: namespace is required");
        r = events_validate_topic(topic, err);
        if (r < 0)
                return r;
        (void) clock_gettime(CLOCK_REALTIME, &now);
        ts.seconds = now.tv_sec;
        ts.nanos = (int32_t) now.tv_nsec;
        env.timestamp = &ts;
        env.namespace_ = (char *) ns;
        env.topic = (char *) topic;
        env.event = (Google__Protobuf__Any *) event;
        return broadcast(ex, &env);
}

int events_publish(struct events *ex, const char *ns, const char *topic,
                   const ProtobufCMessage *event)
{
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        size_t len = protobuf_c_message_get_packed_size(event);
        _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);

        any.type_url = (char *) event->descriptor->name; /* typeurl's name for gogo types */
        any.value.len = protobuf_c_message_pack(event, buf);
        any.value.data = buf;
        return events_publish_any(ex, ns, topic, &any, NULL);
}

/* Go's zero time.Time (year 1), what a missing stdtime Timestamp decodes to. */
#define GO_ZERO_TIME_SECONDS (-62135596800LL)

int events_forward(struct events *ex, const envelope_t *env, struct errmsg *err)
{
        int r;

        r = identifier_validate(env->namespace_, strlen(env->namespace_), err);
        if (r < 0)
                return errmsg_prefix(err, r, "event envelope has invalid namespace");
        r = events_validate_topic(env->topic, err);
        if (r < 0)
                return r;
        if (!env->timestamp ||
            (env->timestamp->seconds == GO_ZERO_TIME_SECONDS && env->timestamp->nanos == 0))
                return errmsg_set(err, -EINVAL, "timestamp must be set on forwarded event");
        return broadcast(ex, env);
}
