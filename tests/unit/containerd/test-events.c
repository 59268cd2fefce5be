/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd/events.c: containerd's topic rules and words, its filter syntax on envelope
 * fields (event fields decoded from the Any), delivery in order, the bounded queue that drops
 * a subscriber, and removal from inside a delivery callback.
 */
#include "containerd/events.h"
#include "containerd/events/namespace.pb-c.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

struct sink {
        char topics[64][64];
        size_t n;
        int answer;  /* what send returns */
        int dropped; /* the drop reason, 0 while subscribed */
        struct events *ex;
        struct events_subscriber *victim; /* unsubscribed from send */
};

static int sink_send(const uint8_t *msg, size_t len, void *userdata)
{
        struct sink *s = userdata;
        Containerd__Services__Events__V1__Envelope *env;

        if (s->answer < 0)
                return s->answer;
        env = containerd__services__events__v1__envelope__unpack(NULL, len, msg);
        assert_non_null(env);
        if (s->n < 64) /* then counted only */
                (void) snprintf(s->topics[s->n], 64, "%s %s", env->namespace_, env->topic);
        s->n++;
        containerd__services__events__v1__envelope__free_unpacked(env, NULL);
        if (s->victim) {
                events_unsubscribe(s->ex, s->victim);
                s->victim = NULL;
        }
        return 0;
}

static void sink_drop(int r, void *userdata)
{
        ((struct sink *) userdata)->dropped = r;
}

static void test_topics_as_containerd_words_them(void **state)
{
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(events_validate_topic("/tasks/exit", &err), 0);
        assert_int_equal(events_validate_topic("/a.b/c-d/e_f", &err), 0);
        assert_int_equal(events_validate_topic("x", &err), -EINVAL);
        assert_string_equal(err.msg, "envelope topic \"x\": must start with '/'");
        assert_int_equal(events_validate_topic("", &err), -EINVAL);
        assert_string_equal(err.msg, "envelope topic \"\": must not be empty");
        assert_int_equal(events_validate_topic("/", &err), -EINVAL);
        assert_string_equal(err.msg, "envelope topic \"/\": must have at least one component");
        assert_int_equal(events_validate_topic("/a/", &err), -EINVAL);
        assert_string_equal(err.msg, "envelope topic \"/a/\": failed validation on component "
                                     "\"\": identifier must not be empty");
        assert_int_equal(events_validate_topic("/a/-b", &err), -EINVAL);
        assert_int_equal(events_validate_topic("/a/b-", &err), -EINVAL);
        assert_int_equal(events_validate_topic("/a/b c", &err), -EINVAL);
        assert_string_equal(err.msg, "envelope topic \"/a/b c\": failed validation on component "
                                     "\"b c\": identifier \"b c\" must match "
                                     "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$");
}

static void test_bad_filters_are_refused(void **state)
{
        static const char *const bad[] = {
                "topic~=",
                "topic==",
                "topic=",
                "1topic",
                "topic==\"x",
                "topic==/x/y",
                "topic==x,",
                "topic~=\"(\"",
                "topic==x y",
                ".topic",
                /* what RE2 refuses and glibc's regcomp() would grow without bound on */
                "topic~=\"a++\"",
                "topic~=\"(a{1,999})\"",
                "topic~=\"a*??\"",
        };
        _cleanup_(events_freep) struct events *ex = events_new();
        struct events_subscriber *sub = NULL;
        struct sink s = {0};

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct errmsg err = {0};
                char *f[] = {(char *) bad[i]};

                if (events_subscribe(ex, f, 1, sink_send, sink_drop, &s, &sub, &err) != -EINVAL)
                        fail_msg("filter '%s' parsed", bad[i]);
                assert_null(sub);
                assert_non_null(strstr(err.msg, bad[i]));
        }
        assert_int_equal(events_subscribers(ex), 0);
}

/* A NamespaceCreate {name, labels {k: label_value}} under ns, on topic "/t/<name>". */
static void publish_ns_create(struct events *ex, const char *ns, const char *name,
                              const char *label_value)
{
        Containerd__Events__NamespaceCreate ev = CONTAINERD__EVENTS__NAMESPACE_CREATE__INIT;
        Containerd__Events__NamespaceCreate__LabelsEntry e =
                CONTAINERD__EVENTS__NAMESPACE_CREATE__LABELS_ENTRY__INIT;
        Containerd__Events__NamespaceCreate__LabelsEntry *entries[] = {&e};
        char topic[64];

        ev.name = (char *) name;
        e.key = (char *) "k";
        e.value = (char *) label_value;
        ev.labels = entries;
        ev.n_labels = 1;
        (void) snprintf(topic, sizeof(topic), "/t/%s", name);
        assert_int_equal(events_publish(ex, ns, topic, &ev.base), 0);
}

static void test_filters_on_envelope_and_event_fields(void **state)
{
        static const char *const cases[][2] = {
                /* filter, what it lets through of x1 (ns a), x2 (ns b), y (ns a) */
                {"", "a /t/x1,b /t/x2,a /t/y,"},
                {"namespace==a", "a /t/x1,a /t/y,"},
                {"namespace!=a", "b /t/x2,"},
                {"topic~=\"^/t/x\",namespace==b", "b /t/x2,"},
                {" topic ~= \"y$\" ", "a /t/y,"},
                {"event.name~=/^x/", "a /t/x1,b /t/x2,"},
                {"event.name~=\"^x+?[0-9]{1,2}$\"", "a /t/x1,b /t/x2,"},
                {"event.name==y", "a /t/y,"},
                {"event.labels.k==v2", "b /t/x2,"},
                {"event.labels.\"k\"==|v2|", "b /t/x2,"},
                {"event.labels.k", "a /t/x1,b /t/x2,a /t/y,"},
                {"event.labels.nope", ""},
                {"event.nope==x", ""},
                {"namespace", "a /t/x1,b /t/x2,a /t/y,"},
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(events_freep) struct events *ex = events_new();
                struct events_subscriber *sub;
                struct errmsg err = {0};
                char *f[] = {(char *) cases[i][0]};
                struct sink s = {0};
                char got[256] = "";

                assert_int_equal(events_subscribe(ex, f, 1, sink_send, sink_drop, &s, &sub, &err),
                                 0);
                publish_ns_create(ex, "a", "x1", "v1");
                publish_ns_create(ex, "b", "x2", "v2");
                publish_ns_create(ex, "a", "y", "v3");
                for (size_t j = 0; j < s.n; j++)
                        (void) snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s,",
                                        s.topics[j]);
                if (!STREQ(got, cases[i][1]))
                        fail_msg("filter '%s': got '%s', want '%s'", cases[i][0], got, cases[i][1]);
        }
        {
                /* several filters: any; an empty one among them: all */
                _cleanup_(events_freep) struct events *ex = events_new();
                struct events_subscriber *sub;
                char *f[] = {(char *) "event.name==y", (char *) "namespace==b"};
                struct sink s = {0};

                assert_int_equal(events_subscribe(ex, f, 2, sink_send, sink_drop, &s, &sub, NULL),
                                 0);
                publish_ns_create(ex, "a", "x1", "v1");
                publish_ns_create(ex, "b", "x2", "v2");
                publish_ns_create(ex, "a", "y", "v3");
                assert_int_equal(s.n, 2);
                assert_string_equal(s.topics[0], "b /t/x2");
                assert_string_equal(s.topics[1], "a /t/y");
        }
}

static void test_order_queue_and_drop(void **state)
{
        _cleanup_(events_freep) struct events *ex = events_new();
        struct events_subscriber *slow, *fast;
        struct sink s1 = {.answer = -ENOBUFS}, s2 = {0};
        Containerd__Events__NamespaceDelete ev = CONTAINERD__EVENTS__NAMESPACE_DELETE__INIT;

        (void) state;
        assert_int_equal(events_subscribe(ex, NULL, 0, sink_send, sink_drop, &s1, &slow, NULL), 0);
        assert_int_equal(events_subscribe(ex, NULL, 0, sink_send, sink_drop, &s2, &fast, NULL), 0);
        ev.name = (char *) "n";
        assert_int_equal(events_publish(ex, "a", "/one", &ev.base), 0);
        assert_int_equal(events_publish(ex, "a", "/two", &ev.base), 0);
        assert_int_equal(s1.n, 0);
        assert_int_equal(s2.n, 2);
        s1.answer = 0;
        events_subscriber_writable(ex, slow);
        assert_int_equal(s1.n, 2);
        assert_string_equal(s1.topics[0], "a /one");
        assert_string_equal(s1.topics[1], "a /two");

        /* a sink that never takes: dropped past the queue's bound, the others unaffected */
        s1.answer = -ENOBUFS;
        for (unsigned i = 0; i < EVENTS_QUEUE_MAX; i++)
                assert_int_equal(events_publish(ex, "a", "/many", &ev.base), 0);
        assert_int_equal(s1.dropped, 0);
        assert_int_equal(events_publish(ex, "a", "/more", &ev.base), 0);
        assert_int_equal(s1.dropped, -ENOBUFS);
        assert_int_equal(events_subscribers(ex), 1);

        /* an invalid publish reaches nobody */
        assert_int_equal(events_publish(ex, "", "/x", &ev.base), -EBUSY);
        assert_int_equal(events_publish(ex, "a", "x", &ev.base), -EINVAL);
        events_unsubscribe(ex, fast);
        assert_int_equal(events_subscribers(ex), 0);
}

static void test_unsubscribe_from_a_callback(void **state)
{
        _cleanup_(events_freep) struct events *ex = events_new();
        struct events_subscriber *a, *b;
        struct sink sa = {0}, sb = {0};
        Containerd__Events__NamespaceDelete ev = CONTAINERD__EVENTS__NAMESPACE_DELETE__INIT;

        (void) state;
        assert_int_equal(events_subscribe(ex, NULL, 0, sink_send, sink_drop, &sa, &a, NULL), 0);
        assert_int_equal(events_subscribe(ex, NULL, 0, sink_send, sink_drop, &sb, &b, NULL), 0);
        sa.ex = ex;
        sa.victim = b; /* as a connection closing cancels its other calls */
        assert_int_equal(events_publish(ex, "a", "/x", &ev.base), 0);
        assert_int_equal(sa.n, 1);
        assert_int_equal(sb.n, 0);
        assert_int_equal(events_subscribers(ex), 1);
        assert_int_equal(events_publish(ex, "a", "/y", &ev.base), 0);
        assert_int_equal(sa.n, 2);
}

static void test_forward_checks_the_envelope(void **state)
{
        _cleanup_(events_freep) struct events *ex = events_new();
        Containerd__Services__Events__V1__Envelope env =
                CONTAINERD__SERVICES__EVENTS__V1__ENVELOPE__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        struct errmsg err = {0};

        (void) state;
        env.namespace_ = (char *) "ns";
        env.topic = (char *) "/t";
        assert_int_equal(events_forward(ex, &env, &err), -EINVAL);
        assert_string_equal(err.msg, "timestamp must be set on forwarded event");
        env.timestamp = &ts;
        ts.seconds = 1;
        assert_int_equal(events_forward(ex, &env, &err), 0);
        env.namespace_ = (char *) "";
        assert_int_equal(events_forward(ex, &env, &err), -EINVAL);
        assert_string_equal(err.msg,
                            "event envelope has invalid namespace: identifier must not be empty");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topics_as_containerd_words_them),
                cmocka_unit_test(test_bad_filters_are_refused),
                cmocka_unit_test(test_filters_on_envelope_and_event_fields),
                cmocka_unit_test(test_order_queue_and_drop),
                cmocka_unit_test(test_unsubscribe_from_a_callback),
                cmocka_unit_test(test_forward_checks_the_envelope),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
