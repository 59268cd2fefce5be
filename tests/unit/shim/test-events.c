/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for shim/events.c: the Forward request containerd's ttrpc events service
 * decodes (envelope, topic, type URL), and a publish to a ttrpc server in a child process
 * that checks the namespace metadata.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/services/ttrpc/events/v1/events.pb-c.h"
#include "lib/evloop.h"
#include "lib/fs.h"
#include "lib/ttrpc.h"
#include "lib/xalloc.h"
#include "shim/events.h"
#include "tests/unit/unit.h"

static void test_topics_follow_the_event_type(void **state)
{
        (void) state;
        assert_string_equal(event_topic(&containerd__events__task_create__descriptor),
                            "/tasks/create");
        assert_string_equal(event_topic(&containerd__events__task_exit__descriptor), "/tasks/exit");
        assert_string_equal(event_topic(&containerd__events__task_exec_added__descriptor),
                            "/tasks/exec-added");
        assert_string_equal(event_topic(&containerd__events__task_exec_started__descriptor),
                            "/tasks/exec-started");
        assert_string_equal(event_topic(&containerd__events__task_oom__descriptor), "/tasks/oom");
        assert_null(event_topic(&containerd__events__task_io__descriptor));
}

static void test_forward_request_carries_envelope_and_any(void **state)
{
        Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
        Containerd__Services__Events__Ttrpc__V1__ForwardRequest *fwd;
        Containerd__Events__TaskExit *back;
        struct timespec ts = {.tv_sec = 1700000000, .tv_nsec = 42};
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;

        (void) state;
        ev.container_id = (char *) "c1";
        ev.id = (char *) "e1";
        ev.pid = 1234;
        ev.exit_status = 137;
        assert_int_equal(event_forward_encode("ns1", &ev.base, &ts, &buf, &len), 0);
        fwd = containerd__services__events__ttrpc__v1__forward_request__unpack(NULL, len, buf);
        assert_non_null(fwd);
        assert_non_null(fwd->envelope);
        assert_string_equal(fwd->envelope->namespace_, "ns1");
        assert_string_equal(fwd->envelope->topic, "/tasks/exit");
        assert_int_equal(fwd->envelope->timestamp->seconds, 1700000000);
        assert_int_equal(fwd->envelope->timestamp->nanos, 42);
        assert_string_equal(fwd->envelope->event->type_url, "containerd.events.TaskExit");
        back = containerd__events__task_exit__unpack(NULL, fwd->envelope->event->value.len,
                                                     fwd->envelope->event->value.data);
        assert_non_null(back);
        assert_string_equal(back->container_id, "c1");
        assert_string_equal(back->id, "e1");
        assert_int_equal(back->pid, 1234);
        assert_int_equal(back->exit_status, 137);
        containerd__events__task_exit__free_unpacked(back, NULL);
        containerd__services__events__ttrpc__v1__forward_request__free_unpacked(fwd, NULL);
}

static void test_non_events_are_refused(void **state)
{
        Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
        struct timespec ts = {0};
        uint8_t *buf = NULL;
        size_t len = 0;

        (void) state;
        assert_int_equal(event_forward_encode("ns", &io.base, &ts, &buf, &len), -EINVAL);
        assert_null(buf);
}

/* The child's Forward handler: reports "<namespace> <topic>" on the pipe, then stops. */
struct fake_containerd {
        struct evloop *loop;
        int report_fd;
};

static int fake_forward(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                        struct errmsg *err)
{
        struct fake_containerd *f = userdata;
        Containerd__Services__Events__Ttrpc__V1__ForwardRequest *fwd;
        const char *ns = ttrpc_call_metadata(call, NAMESPACE_TTRPC_METADATA_KEY);
        _cleanup_free_ char *line = NULL;

        (void) err;
        fwd = containerd__services__events__ttrpc__v1__forward_request__unpack(
                NULL, call->payload_len, call->payload);
        line = xasprintf("%s %s", ns ? ns : "-", fwd ? fwd->envelope->topic : "-");
        (void) write_all(f->report_fd, line, strlen(line));
        if (fwd)
                containerd__services__events__ttrpc__v1__forward_request__free_unpacked(fwd, NULL);
        (void) ttrpc_respond(req, (const uint8_t *) "", 0);
        evloop_exit(f->loop, 0);
        return 0;
}

static _noreturn_ void run_fake_containerd(int listen_fd, int report_fd)
{
        static const struct ttrpc_method methods[] = {
                {EVENT_SERVICE, EVENT_METHOD, fake_forward},
                {NULL, NULL, NULL},
        };
        struct fake_containerd f = {.report_fd = report_fd};
        struct ttrpc_server *server = NULL;

        if (evloop_new(&f.loop) < 0 ||
            ttrpc_server_new(f.loop, listen_fd, methods, &f, &server) < 0)
                _exit(1);
        (void) evloop_run(f.loop);
        _exit(0);
}

static void test_publish_sends_namespace_metadata(void **state)
{
        Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
        char dir[] = "/tmp/berth-test-events-XXXXXX";
        _cleanup_free_ char *path = NULL, *report = NULL;
        struct event_publisher p;
        struct errmsg err = {0};
        int lfd, pipefd[2], status;
        size_t len;
        pid_t pid;

        (void) state;
        assert_non_null(mkdtemp(dir));
        path = xasprintf("%s/containerd.sock.ttrpc", dir);
        assert_int_equal(ttrpc_listen_unix(path, &lfd, NULL), 0);
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                run_fake_containerd(lfd, pipefd[1]);
        (void) close(lfd);
        (void) close(pipefd[1]);
        ev.container_id = (char *) "c1";
        ev.pid = 7;
        event_publisher_init(&p, path, "ns9");
        assert_int_equal(event_publish(&p, &ev.base, &err), 0);
        event_publisher_release(&p);
        assert_int_equal(read_fd_all(pipefd[0], 1024, &report, &len), 0);
        assert_string_equal(report, "ns9 /tasks/start");
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        (void) close(pipefd[0]);
        (void) unlink(path);
        (void) rmdir(dir);
}

static void test_publish_without_address_drops_and_dead_address_fails(void **state)
{
        Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
        struct event_publisher p;
        struct errmsg err = {0};

        (void) state;
        event_publisher_init(&p, NULL, "ns");
        assert_int_equal(event_publish(&p, &ev.base, &err), 0);
        event_publisher_release(&p);
        event_publisher_init(&p, "/nonexistent/containerd.sock.ttrpc", "ns");
        assert_true(event_publish(&p, &ev.base, &err) < 0);
        assert_non_null(strstr(err.msg, "publish /tasks/start"));
        event_publisher_release(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topics_follow_the_event_type),
                cmocka_unit_test(test_forward_request_carries_envelope_and_any),
                cmocka_unit_test(test_non_events_are_refused),
                cmocka_unit_test(test_publish_sends_namespace_metadata),
                cmocka_unit_test(test_publish_without_address_drops_and_dead_address_fails),
        };

        (void) signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
