/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd/task.c without shims: runtime names to shim binaries (containerd's BinaryName,
 * looked up on PATH), and the ttrpc Events service the shims Forward to, which answers on its
 * own thread and publishes on the daemon's loop.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "containerd/events.h"
#include "containerd/services/ttrpc/events/v1/events.pb-c.h"
#include "containerd/task.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

static void test_shim_binary_from_runtime_name(void **state)
{
        char dir[] = "/tmp/test-task-XXXXXX", *saved = NULL;
        _cleanup_free_ char *shim = NULL, *path = NULL;
        struct errmsg err = {0};
        char *ret = (char *) "untouched";

        (void) state;
        assert_non_null(mkdtemp(dir));
        shim = xasprintf("%s/containerd-shim-foo-v7", dir);
        assert_int_equal(write_file_replace_at(AT_FDCWD, shim, "#!/bin/sh\n", 10, 0755), 0);
        if (getenv("PATH"))
                saved = xstrdup(getenv("PATH"));
        assert_int_equal(setenv("PATH", dir, 1), 0);

        assert_int_equal(task_shim_binary(NULL, "io.containerd.foo.v7", &path, &err), 0);
        assert_string_equal(path, shim);
        free(TAKE_PTR(path));
        /* a configured shim, by name (looked up) or by path */
        assert_int_equal(
                task_shim_binary((char *[]){"io.containerd.bar.v1", "containerd-shim-foo-v7", NULL},
                                 "io.containerd.bar.v1", &path, &err),
                0);
        assert_string_equal(path, shim);
        free(TAKE_PTR(path));
        assert_int_equal(task_shim_binary((char *[]){"io.containerd.runc.v2", shim, NULL},
                                          "io.containerd.runc.v2", &path, &err),
                         0);
        assert_string_equal(path, shim);
        /* io.containerd.runc.v2 is ours by default: not on this PATH */
        assert_int_equal(task_shim_binary(NULL, "io.containerd.runc.v2", &ret, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "binary " TASK_DEFAULT_SHIM " not installed"));
        assert_int_equal(task_shim_binary((char *[]){"io.containerd.x.v1", "/nope/shim", NULL},
                                          "io.containerd.x.v1", &ret, &err),
                         -ENOENT);
        free(TAKE_PTR(path));
        /* a full path is the binary itself */
        assert_int_equal(task_shim_binary(NULL, shim, &path, &err), 0);
        assert_string_equal(path, shim);
        assert_int_equal(task_shim_binary(NULL, "/nope/containerd-shim-x-v1", &ret, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "invalid custom binary path"));
        assert_int_equal(task_shim_binary(NULL, "io.containerd.none.v1", &ret, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "containerd-shim-none-v1"));
        assert_int_equal(task_shim_binary(NULL, "runc", &ret, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "invalid runtime name runc"));
        assert_string_equal(ret, "untouched");

        if (saved)
                assert_int_equal(setenv("PATH", saved, 1), 0);
        free(saved);
        assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

struct received {
        size_t n;
        char topic[64];
        char ns[64];
};

static int on_event(const uint8_t *msg, size_t len, void *userdata)
{
        struct received *r = userdata;
        Containerd__Services__Events__V1__Envelope *env =
                containerd__services__events__v1__envelope__unpack(NULL, len, msg);

        assert_non_null(env);
        (void) snprintf(r->topic, sizeof(r->topic), "%s", env->topic);
        (void) snprintf(r->ns, sizeof(r->ns), "%s", env->namespace_);
        r->n++;
        containerd__services__events__v1__envelope__free_unpacked(env, NULL);
        return 0;
}

static void on_drop(int r, void *userdata)
{
        (void) r;
        (void) userdata;
}

/* A shim's Forward, as containerd-shim-runc-v2 sends it. */
static int forward(const char *address, const char *ns, const char *topic, struct errmsg *err)
{
        Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
                CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
        Containerd__Services__Events__Ttrpc__V1__Envelope env =
                CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        _cleanup_(ttrpc_client_freep) struct ttrpc_client *c = NULL;
        _cleanup_free_ uint8_t *answer = NULL;
        uint8_t buf[512];
        size_t len, answer_len;
        int r;

        ts.seconds = 1700000000;
        any.type_url = (char *) "containerd.events.TaskExit";
        env.timestamp = &ts;
        env.namespace_ = (char *) ns;
        env.topic = (char *) topic;
        env.event = &any;
        req.envelope = &env;
        len = protobuf_c_message_pack(&req.base, buf);
        r = ttrpc_client_connect(address, &c, err);
        if (r < 0)
                return r;
        return ttrpc_client_call(c, "containerd.services.events.ttrpc.v1.Events", "Forward", NULL,
                                 0, buf, len, 5000, &answer, &answer_len, err);
}

static void test_events_forwarded_by_shims_are_published(void **state)
{
        char dir[] = "/tmp/test-task-XXXXXX";
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        _cleanup_(events_freep) struct events *ex = events_new();
        _cleanup_free_ char *address = NULL, *ttrpc_address = NULL;
        struct task_table *t = NULL;
        struct events_subscriber *sub = NULL;
        struct received got = {0};
        struct errmsg err = {0};
        size_t n;

        (void) state;
        assert_non_null(mkdtemp(dir));
        address = xasprintf("%s/c.sock", dir);
        ttrpc_address = xasprintf("%s.ttrpc", address);
        assert_int_equal(evloop_new(&loop), 0);
        assert_int_equal(events_subscribe(ex, NULL, 0, on_event, on_drop, &got, &sub, &err), 0);
        assert_int_equal(task_table_new(loop,
                                        &(struct task_table_opts){.state = dir, .address = address},
                                        ex, &t, &err),
                         0);
        assert_null(task_find(t, "default", "c1"));
        free(task_list(t, "default", &n));
        assert_int_equal(n, 0);

        /* answered by the events thread while the daemon's loop does not run */
        assert_int_equal(forward(ttrpc_address, "default", "/tasks/exit", &err), 0);
        assert_int_equal(got.n, 0);
        for (int i = 0; i < 50 && got.n == 0; i++)
                assert_true(evloop_step(loop, 100) >= 0);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.topic, "/tasks/exit");
        assert_string_equal(got.ns, "default");

        /* an envelope the exchange refuses is still answered (and dropped) */
        assert_int_equal(forward(ttrpc_address, "default", "no-slash", &err), 0);
        (void) evloop_step(loop, 100);
        assert_int_equal(got.n, 1);

        t = task_table_free(t);
        assert_int_equal(access(ttrpc_address, F_OK), -1);
        events_unsubscribe(ex, sub);
        assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shim_binary_from_runtime_name),
                cmocka_unit_test(test_events_forwarded_by_shims_are_published),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
