/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for shim/events.c: the Forward request containerd's ttrpc events service
 * decodes (envelope, topic, type URL), and publishing to a fake containerd (a ttrpc server
 * in a child process) that checks the namespace metadata, refuses calls or connections for
 * a while (events are retried and arrive in order), or never answers (events are dropped).
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

/*
 * The child's Forward handler: refuses the first n_refuse calls (UNAVAILABLE), then reports
 * "<namespace> <topic> <pid>\n" per event on the pipe and stops after n_expect of them.
 */
struct fake_containerd {
        struct evloop *loop;
        int report_fd;
        unsigned n_refuse;
        unsigned n_expect;
};

static uint32_t event_pid(const Containerd__Services__Events__Ttrpc__V1__ForwardRequest *fwd)
{
        Containerd__Events__TaskStart *ev;
        uint32_t pid;

        if (!fwd || !fwd->envelope || !fwd->envelope->event)
                return 0;
        ev = containerd__events__task_start__unpack(NULL, fwd->envelope->event->value.len,
                                                    fwd->envelope->event->value.data);
        pid = ev ? ev->pid : 0;
        if (ev)
                containerd__events__task_start__free_unpacked(ev, NULL);
        return pid;
}

static int fake_forward(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                        struct errmsg *err)
{
        struct fake_containerd *f = userdata;
        Containerd__Services__Events__Ttrpc__V1__ForwardRequest *fwd;
        const char *ns = ttrpc_call_metadata(call, NAMESPACE_TTRPC_METADATA_KEY);
        _cleanup_free_ char *line = NULL;

        (void) err;
        if (f->n_refuse > 0) {
                f->n_refuse--;
                return ttrpc_respond_error(req, RPC_UNAVAILABLE, "not yet");
        }
        fwd = containerd__services__events__ttrpc__v1__forward_request__unpack(
                NULL, call->payload_len, call->payload);
        line = xasprintf("%s %s %u\n", ns ? ns : "-", fwd ? fwd->envelope->topic : "-",
                         event_pid(fwd));
        (void) write_all(f->report_fd, line, strlen(line));
        if (fwd)
                containerd__services__events__ttrpc__v1__forward_request__free_unpacked(fwd, NULL);
        (void) ttrpc_respond(req, (const uint8_t *) "", 0);
        if (--f->n_expect == 0)
                evloop_exit(f->loop, 0);
        return 0;
}

/* listen_fd < 0: the child listens on path itself, after late_ms (connections fail before). */
static _noreturn_ void run_fake_containerd(int listen_fd, const char *path, unsigned late_ms,
                                           struct fake_containerd f)
{
        static const struct ttrpc_method methods[] = {
                {EVENT_SERVICE, EVENT_METHOD, fake_forward},
                {NULL, NULL, NULL},
        };
        struct ttrpc_server *server = NULL;

        if (listen_fd < 0) {
                (void) usleep(late_ms * 1000);
                if (ttrpc_listen_unix(path, &listen_fd, NULL) < 0)
                        _exit(1);
        }
        if (evloop_new(&f.loop) < 0 ||
            ttrpc_server_new(f.loop, listen_fd, methods, &f, &server) < 0)
                _exit(1);
        (void) evloop_run(f.loop);
        _exit(0);
}

struct fake_run {
        char dir[64];
        char *path;
        int report_fd;
        pid_t pid;
};

/* Starts a fake containerd in a child; late_ms > 0 makes it listen only after that long. */
static void fake_start(struct fake_run *run, unsigned late_ms, unsigned n_refuse, unsigned n_expect)
{
        struct fake_containerd f = {.n_refuse = n_refuse, .n_expect = n_expect};
        int lfd = -EBADF, pipefd[2];

        (void) snprintf(run->dir, sizeof(run->dir), "/tmp/berth-test-events-XXXXXX");
        assert_non_null(mkdtemp(run->dir));
        run->path = xasprintf("%s/containerd.sock.ttrpc", run->dir);
        if (late_ms == 0)
                assert_int_equal(ttrpc_listen_unix(run->path, &lfd, NULL), 0);
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        run->pid = fork();
        assert_true(run->pid >= 0);
        if (run->pid == 0) {
                f.report_fd = pipefd[1];
                run_fake_containerd(lfd, run->path, late_ms, f);
        }
        if (lfd >= 0)
                (void) close(lfd);
        (void) close(pipefd[1]);
        run->report_fd = pipefd[0];
}

/* Waits for the child and returns what it reported (the caller's). */
static char *fake_finish(struct fake_run *run)
{
        char *report = NULL;
        size_t len;
        int status;

        assert_int_equal(read_fd_all(run->report_fd, 1 << 20, &report, &len), 0);
        assert_int_equal(waitpid(run->pid, &status, 0), run->pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        (void) close(run->report_fd);
        (void) unlink(run->path);
        (void) rmdir(run->dir);
        free(run->path);
        return report;
}

static void publish_start(struct event_publisher *p, uint32_t pid)
{
        Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
        struct errmsg err = {0};

        ev.container_id = (char *) "c1";
        ev.pid = pid;
        assert_int_equal(event_publish(p, &ev.base, &err), 0);
}

/* Runs loop until nothing is pending (the retries are due within a second or two). */
static void drain_loop(struct evloop *loop, struct event_publisher *p)
{
        for (int i = 0; i < 100 && event_publisher_pending(p) > 0; i++)
                assert_true(evloop_step(loop, 100) >= 0);
        assert_int_equal(event_publisher_pending(p), 0);
}

static void test_publish_sends_namespace_metadata(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        _cleanup_free_ char *report = NULL;
        struct event_publisher p;
        struct fake_run run;

        (void) state;
        assert_int_equal(evloop_new(&loop), 0);
        fake_start(&run, 0, 0, 1);
        event_publisher_init(&p, loop, run.path, "ns9");
        p.retry_unit_ms = 10; /* the schedule, shortened */
        publish_start(&p, 7);
        assert_int_equal(event_publisher_pending(&p), 0); /* sent at once */
        event_publisher_release(&p);
        report = fake_finish(&run);
        assert_string_equal(report, "ns9 /tasks/start 7\n");
}

static void test_refused_calls_are_retried_in_order(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        _cleanup_free_ char *report = NULL;
        struct event_publisher p;
        struct fake_run run;

        (void) state;
        assert_int_equal(evloop_new(&loop), 0);
        fake_start(&run, 0, EVENT_ATTEMPTS - 1, 3); /* the first event's last attempt passes */
        event_publisher_init(&p, loop, run.path, "ns");
        p.retry_unit_ms = 10; /* the schedule, shortened */
        publish_start(&p, 1);
        publish_start(&p, 2);
        publish_start(&p, 3);
        assert_int_equal(event_publisher_pending(&p), 3);
        drain_loop(loop, &p);
        event_publisher_release(&p);
        report = fake_finish(&run);
        assert_string_equal(report, "ns /tasks/start 1\nns /tasks/start 2\nns /tasks/start 3\n");
}

static void test_refused_connections_are_retried_in_order(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        _cleanup_free_ char *report = NULL;
        struct event_publisher p;
        struct fake_run run;

        (void) state;
        assert_int_equal(evloop_new(&loop), 0);
        fake_start(&run, 120, 0, 2); /* up after a few retries (50, then 10, 20, 30... ms) */
        event_publisher_init(&p, loop, run.path, "ns");
        p.retry_unit_ms = 10; /* the schedule, shortened */
        publish_start(&p, 1);
        publish_start(&p, 2);
        assert_int_equal(event_publisher_pending(&p), 2);
        drain_loop(loop, &p);
        event_publisher_release(&p);
        report = fake_finish(&run);
        assert_string_equal(report, "ns /tasks/start 1\nns /tasks/start 2\n");
}

static void test_full_queue_drops_the_oldest(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        _cleanup_free_ char *report = NULL, *expect = NULL;
        struct event_publisher p;
        struct fake_run run;
        size_t n = 0, cap = 32 * EVENT_QUEUE_MAX;

        (void) state;
        assert_int_equal(evloop_new(&loop), 0);
        fake_start(&run, 0, 1, EVENT_QUEUE_MAX);
        event_publisher_init(&p, loop, run.path, "ns");
        p.retry_unit_ms = 10; /* the schedule, shortened */
        /* The first call is refused, so the rest queue: 1..7 are dropped for 8..1031. */
        for (uint32_t pid = 1; pid <= EVENT_QUEUE_MAX + 7; pid++)
                publish_start(&p, pid);
        assert_int_equal(event_publisher_pending(&p), EVENT_QUEUE_MAX);
        drain_loop(loop, &p);
        event_publisher_release(&p);
        report = fake_finish(&run);
        expect = xnew0(char, cap);
        for (uint32_t pid = 8; pid <= EVENT_QUEUE_MAX + 7; pid++)
                n += (size_t) snprintf(expect + n, cap - n, "ns /tasks/start %u\n", pid);
        assert_string_equal(report, expect);
}

static void test_publish_without_address_drops_and_dead_address_gives_up(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        struct event_publisher p;

        (void) state;
        assert_int_equal(evloop_new(&loop), 0);
        event_publisher_init(&p, loop, NULL, "ns");
        p.retry_unit_ms = 10; /* the schedule, shortened */
        publish_start(&p, 1);
        assert_int_equal(event_publisher_pending(&p), 0);
        event_publisher_release(&p);
        event_publisher_init(&p, loop, "/nonexistent/containerd.sock.ttrpc", "ns");
        p.retry_unit_ms = 10; /* the schedule, shortened */
        publish_start(&p, 1);
        assert_int_equal(event_publisher_pending(&p), 1);
        drain_loop(loop, &p); /* EVENT_ATTEMPTS attempts, then dropped with a warning */
        publish_start(&p, 2);
        assert_int_equal(event_publisher_pending(&p), 1);
        event_publisher_release(&p); /* the last try fails too: dropped */
        assert_int_equal(event_publisher_pending(&p), 0);
}

static void test_non_events_are_refused_by_publish(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
        struct event_publisher p;
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(evloop_new(&loop), 0);
        event_publisher_init(&p, loop, "/nonexistent/containerd.sock.ttrpc", "ns");
        p.retry_unit_ms = 10; /* the schedule, shortened */
        assert_int_equal(event_publish(&p, &io.base, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a task event"));
        assert_int_equal(event_publisher_pending(&p), 0);
        event_publisher_release(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topics_follow_the_event_type),
                cmocka_unit_test(test_forward_request_carries_envelope_and_any),
                cmocka_unit_test(test_non_events_are_refused),
                cmocka_unit_test(test_publish_sends_namespace_metadata),
                cmocka_unit_test(test_refused_calls_are_retried_in_order),
                cmocka_unit_test(test_refused_connections_are_retried_in_order),
                cmocka_unit_test(test_full_queue_drops_the_oldest),
                cmocka_unit_test(test_publish_without_address_drops_and_dead_address_gives_up),
                cmocka_unit_test(test_non_events_are_refused_by_publish),
        };

        (void) signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
