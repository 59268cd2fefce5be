/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/grpc-*.c. A real server runs on its own loop in a second thread, on a
 * unix socket in a temporary directory, and is freed at the end of each test (so that
 * LeakSanitizer checks the server too). The test thread drives it with our blocking client,
 * and with a raw nghttp2 client for what ours refuses to send (wrong method, content-type,
 * compression, truncated messages) and raw sockets for what is not HTTP/2 at all. Handlers
 * record what they see under a mutex; the client's answers order those records.
 * GRPC_TEST_DEBUG=1 in the environment turns the library's debug log on.
 */
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "google/rpc/status.pb-c.h"
#include "lib/fs.h"
#include "lib/grpc-internal.h"
#include "lib/log.h"
#include "lib/ttrpc.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

#define SVC(m)      "/berth.test.v1.Test/" m
#define GATE_MAX    256
#define FLOOD_SIZE  (64u << 10)
#define SMALL_MAX   (1u << 20)
#define RAW_STREAMS 8
#define WAIT_MS     5000

struct fixture {
        char dir[64];
        char path[128];
        struct evloop *loop;
        struct grpc_server *server;
        pthread_t thread;
        int stop_pipe[2];
        struct grpc_client *c;
        pthread_mutex_t lock; /* guards what follows, written by handlers */
        struct grpc_call *gate[GATE_MAX];
        size_t n_gate;
        size_t gate_target;
        unsigned n_cancelled;
        enum rpc_code last_cancel;
        size_t max_queued;
        unsigned n_backpressure;
        unsigned n_writable;
};

static int64_t now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the test service --------------------------------------------------------------------- */

static int m_echo(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                  struct errmsg *err)
{
        (void) userdata;
        (void) err;
        return grpc_call_reply(call, msg, len);
}

static int m_metadata(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                      struct errmsg *err)
{
        const char *ns = grpc_call_metadata(call, "containerd-namespace");
        const char *k = grpc_call_metadata(call, "k");
        _cleanup_free_ char *s = NULL;

        (void) msg;
        (void) len;
        (void) userdata;
        (void) err;
        s = xasprintf("%s|%s|%s|%s", ns ? ns : "-", k ? k : "-", grpc_call_path(call),
                      grpc_call_deadline(call) > 0 ? "deadline" : "none");
        return grpc_call_reply(call, (const uint8_t *) s, strlen(s));
}

static int m_fail(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                  struct errmsg *err)
{
        (void) call;
        (void) userdata;
        return errmsg_set(err, -ENOENT, "thing %.*s not found", (int) len, (const char *) msg);
}

/* Finishes with the status named by the first word, and the rest as its message. */
static int m_status(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                    struct errmsg *err)
{
        _cleanup_free_ char *s = xstrndup((const char *) msg, len);
        char *sp = strchr(s, ' ');
        int code;

        (void) userdata;
        if (sp)
                *sp++ = 0;
        code = rpc_code_from_string(s);
        if (code < 0)
                return errmsg_set(err, -EINVAL, "bad code %s", s);
        return grpc_call_finish(call, (enum rpc_code) code, sp);
}

static int m_drop(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                  struct errmsg *err)
{
        (void) call;
        (void) msg;
        (void) len;
        (void) userdata;
        (void) err;
        return 0;
}

static void never_cancelled(struct grpc_call *call, enum rpc_code code, void *userdata)
{
        struct fixture *f = userdata;

        pthread_mutex_lock(&f->lock);
        f->n_cancelled++;
        f->last_cancel = code;
        pthread_mutex_unlock(&f->lock);
        (void) grpc_call_unref(call);
}

/* Keeps the call and never answers; the cancel callback lets it go. */
static int m_never(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        (void) msg;
        (void) len;
        (void) err;
        grpc_call_set_userdata(grpc_call_ref(call), userdata, never_cancelled, NULL);
        return 0;
}

/* Holds calls until gate_target of them are in, then answers them all (each its message). */
static int m_gate(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                  struct errmsg *err)
{
        struct fixture *f = userdata;
        struct grpc_call *held[GATE_MAX];
        size_t n = 0;

        (void) msg;
        (void) len;
        (void) err;
        pthread_mutex_lock(&f->lock);
        assert(f->n_gate < GATE_MAX);
        f->gate[f->n_gate++] = grpc_call_ref(call);
        if (f->n_gate >= f->gate_target) {
                n = f->n_gate;
                memcpy(held, f->gate, n * sizeof(*held));
                f->n_gate = 0;
        }
        pthread_mutex_unlock(&f->lock);
        for (size_t i = 0; i < n; i++) {
                const char *p = grpc_call_path(held[i]);

                (void) grpc_call_reply(held[i], (const uint8_t *) p, strlen(p));
                (void) grpc_call_unref(held[i]);
        }
        return 0;
}

struct flood {
        struct fixture *f;
        uint32_t next;
        uint32_t count;
};

static void flood_end(struct grpc_call *call, enum rpc_code code, void *userdata)
{
        (void) code;
        free(userdata);
        (void) grpc_call_unref(call);
}

/* Sends until the queue is full; the writable callback comes back here. */
static void flood_pump(struct grpc_call *call, void *userdata)
{
        struct flood *fl = userdata;
        struct fixture *f = fl->f;
        _cleanup_free_ uint8_t *buf = xcalloc(1, FLOOD_SIZE);

        while (fl->next < fl->count) {
                int r;

                memcpy(buf, &fl->next, sizeof(fl->next));
                r = grpc_call_send(call, buf, FLOOD_SIZE);
                pthread_mutex_lock(&f->lock);
                f->max_queued = MAX(f->max_queued, grpc_call_queued(call));
                f->n_backpressure += r == -ENOBUFS;
                pthread_mutex_unlock(&f->lock);
                if (r == -ENOBUFS)
                        return;
                assert(r == 0);
                fl->next++;
        }
        (void) grpc_call_finish(call, RPC_OK, NULL);
        flood_end(call, RPC_OK, fl);
}

static void flood_writable(struct grpc_call *call, void *userdata)
{
        struct flood *fl = userdata;

        pthread_mutex_lock(&fl->f->lock);
        fl->f->n_writable++;
        pthread_mutex_unlock(&fl->f->lock);
        flood_pump(call, userdata);
}

/* Server streaming: the request is the number of FLOOD_SIZE messages to send. */
static int m_flood(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_free_ char *s = xstrndup((const char *) msg, len);
        struct flood *fl = xnew0(struct flood, 1);
        uint64_t n = 0;

        (void) err;
        assert(parse_uint64(s, &n) == 0);
        *fl = (struct flood){.f = userdata, .count = (uint32_t) n};
        grpc_call_set_userdata(grpc_call_ref(call), fl, flood_end, flood_writable);
        flood_pump(call, fl);
        return 0;
}

/* Client streaming: answers with the number of messages and bytes at the end. */
static int m_sum(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                 struct errmsg *err)
{
        size_t *sum = grpc_call_get_userdata(call);
        _cleanup_free_ char *s = NULL;

        (void) userdata;
        (void) err;
        if (!sum) {
                sum = xnew0(size_t, 2);
                grpc_call_set_userdata(grpc_call_ref(call), sum, NULL, NULL);
        }
        if (msg) {
                sum[0]++;
                sum[1] += len;
                return 0;
        }
        s = xasprintf("%zu %zu", sum[0], sum[1]);
        free(sum);
        (void) grpc_call_reply(call, (const uint8_t *) s, strlen(s));
        (void) grpc_call_unref(call);
        return 0;
}

/* Bidi: echoes each message at once, OK at the end. */
static int m_bidi(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                  struct errmsg *err)
{
        (void) userdata;
        (void) err;
        if (!msg)
                return grpc_call_finish(call, RPC_OK, NULL);
        return grpc_call_send(call, msg, len);
}

static int m_calls(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        struct fixture *f = userdata;
        _cleanup_free_ char *s = NULL;

        (void) msg;
        (void) len;
        (void) err;
        s = xasprintf("%zu %zu", grpc_server_calls(f->server), grpc_server_connections(f->server));
        return grpc_call_reply(call, (const uint8_t *) s, strlen(s));
}

static const struct grpc_method test_methods[] = {
        {SVC("Echo"), GRPC_UNARY, m_echo},          {SVC("Metadata"), GRPC_UNARY, m_metadata},
        {SVC("Fail"), GRPC_UNARY, m_fail},          {SVC("Status"), GRPC_UNARY, m_status},
        {SVC("Drop"), GRPC_UNARY, m_drop},          {SVC("Never"), GRPC_UNARY, m_never},
        {SVC("Gate"), GRPC_UNARY, m_gate},          {SVC("Flood"), GRPC_SERVER_STREAMING, m_flood},
        {SVC("Sum"), GRPC_CLIENT_STREAMING, m_sum}, {SVC("Bidi"), GRPC_BIDI_STREAMING, m_bidi},
        {SVC("Calls"), GRPC_UNARY, m_calls},        {NULL, 0, NULL},
};

/* --- fixture: the server in a thread --------------------------------------------------------- */

static void stop_requested(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        (void) fd;
        (void) events;
        (void) userdata;
        evloop_exit(loop, 0);
}

static void *server_thread(void *userdata)
{
        struct fixture *f = userdata;

        (void) evloop_run(f->loop);
        return NULL;
}

static int setup_with(void **state, const struct grpc_server_opts *opts)
{
        struct fixture *f = xnew0(struct fixture, 1);
        _cleanup_free_ char *address = NULL;
        int fd = -EBADF;

        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-grpc-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void) snprintf(f->path, sizeof(f->path), "%s/grpc.sock", f->dir);
        assert_int_equal(ttrpc_listen_unix(f->path, &fd, NULL), 0);
        assert_int_equal(pthread_mutex_init(&f->lock, NULL), 0);
        assert_int_equal(evloop_new(&f->loop), 0);
        assert_int_equal(grpc_server_new(f->loop, fd, test_methods, f, opts, &f->server), 0);
        assert_int_equal(pipe2(f->stop_pipe, O_CLOEXEC | O_NONBLOCK), 0);
        assert_int_equal(evloop_add(f->loop, f->stop_pipe[0], EPOLLIN, stop_requested, f), 0);
        assert_int_equal(pthread_create(&f->thread, NULL, server_thread, f), 0);
        address = xasprintf("unix://%s", f->path);
        assert_int_equal(grpc_client_connect(address, &f->c, NULL), 0);
        *state = f;
        return 0;
}

static int setup(void **state)
{
        return setup_with(state, NULL);
}

static int setup_small(void **state)
{
        const struct grpc_server_opts opts = {.max_message_size = SMALL_MAX};

        return setup_with(state, &opts);
}

static int setup_tiny(void **state)
{
        const struct grpc_server_opts opts = {.max_concurrent_streams = 4};

        return setup_with(state, &opts);
}

static void server_stop(struct fixture *f)
{
        if (f->stop_pipe[1] < 0)
                return;
        assert_int_equal(write(f->stop_pipe[1], "x", 1), 1);
        assert_int_equal(pthread_join(f->thread, NULL), 0);
        f->stop_pipe[1] = safe_close(f->stop_pipe[1]);
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        server_stop(f);
        f->c = grpc_client_free(f->c);
        for (size_t i = 0; i < f->n_gate; i++)
                (void) grpc_call_unref(f->gate[i]);
        f->server = grpc_server_free(f->server);
        (void) evloop_remove(f->loop, f->stop_pipe[0]);
        (void) safe_close(f->stop_pipe[0]);
        f->loop = evloop_free(f->loop);
        (void) pthread_mutex_destroy(&f->lock);
        assert_int_equal(rm_rf_at(AT_FDCWD, f->dir), 0);
        free(f);
        return 0;
}

/* --- client helpers ---------------------------------------------------------------------- */

static void call_ok(struct grpc_client *c, const char *path, const char *in, const char *out)
{
        _cleanup_free_ uint8_t *msg = NULL;
        struct errmsg err = {0};
        size_t len = 0;

        assert_int_equal(grpc_client_call(c, path, NULL, 0, (const uint8_t *) in, strlen(in),
                                          WAIT_MS, &msg, &len, &err),
                         0);
        assert_int_equal(len, strlen(out));
        assert_memory_equal(msg, out, len);
        assert_int_equal(msg[len], 0);
}

/* A unary call that fails: returns its outcome; checks ret_* stayed untouched. */
static int call_err(struct grpc_client *c, const char *path, const char *in, int timeout_ms,
                    struct errmsg *err)
{
        uint8_t *msg = (uint8_t *) "untouched";
        size_t len = 42;
        int r;

        r = grpc_client_call(c, path, NULL, 0, (const uint8_t *) in, strlen(in), timeout_ms, &msg,
                             &len, err);
        assert_true(r < 0);
        assert_string_equal((const char *) msg, "untouched");
        assert_int_equal(len, 42);
        return r;
}

/* Opens a stream, sends one message and half-closes. */
static struct grpc_client_stream *stream_start(struct grpc_client *c, const char *path,
                                               const char *in, int timeout_ms)
{
        struct grpc_client_stream *st = NULL;
        struct errmsg err = {0};

        assert_int_equal(grpc_client_stream_open(c, path, NULL, 0, timeout_ms, &st, &err), 0);
        assert_int_equal(grpc_client_stream_send(st, (const uint8_t *) in, strlen(in), &err), 0);
        assert_int_equal(grpc_client_stream_close_send(st, &err), 0);
        return st;
}

/* Waits, with a bound, for the server to count n open calls (the asking call excluded). */
static void wait_calls(struct fixture *f, size_t n)
{
        _cleanup_free_ char *want = xasprintf("%zu ", n + 1);

        for (int i = 0; i < 500; i++) {
                _cleanup_free_ uint8_t *msg = NULL;
                size_t len = 0;

                assert_int_equal(grpc_client_call(f->c, SVC("Calls"), NULL, 0, NULL, 0, WAIT_MS,
                                                  &msg, &len, NULL),
                                 0);
                if (strncmp((char *) msg, want, strlen(want)) == 0)
                        return;
                (void) usleep(10 * 1000);
        }
        fail_msg("the server did not get to %zu calls", n);
}

static unsigned cancelled(struct fixture *f, enum rpc_code *ret_code)
{
        unsigned n;

        pthread_mutex_lock(&f->lock);
        n = f->n_cancelled;
        *ret_code = f->last_cancel;
        pthread_mutex_unlock(&f->lock);
        return n;
}

/* --- calls through our client -------------------------------------------------------------- */

static void test_unary_round_trip_protobuf(void **state)
{
        struct fixture *f = *state;
        Google__Rpc__Status in = GOOGLE__RPC__STATUS__INIT, *out = NULL;
        _cleanup_free_ uint8_t *buf = NULL, *answer = NULL;
        size_t size, len = 0;

        in.code = 5;
        in.message = (char *) "task t1 not found";
        size = google__rpc__status__get_packed_size(&in);
        buf = xmalloc(size);
        assert_int_equal(google__rpc__status__pack(&in, buf), size);
        assert_int_equal(grpc_client_call(f->c, SVC("Echo"), NULL, 0, buf, size, WAIT_MS, &answer,
                                          &len, NULL),
                         0);
        out = google__rpc__status__unpack(NULL, len, answer);
        assert_non_null(out);
        assert_int_equal(out->code, 5);
        assert_string_equal(out->message, "task t1 not found");
        google__rpc__status__free_unpacked(out, NULL);
        /* an empty message is a message too */
        call_ok(f->c, SVC("Echo"), "", "");
}

static void test_metadata_delivered(void **state)
{
        struct fixture *f = *state;
        const struct grpc_metadata md[] = {{"containerd-namespace", "default"}, {"k", "v"}};
        _cleanup_free_ uint8_t *msg = NULL;
        struct errmsg err = {0};
        size_t len = 0;

        assert_int_equal(grpc_client_call(f->c, SVC("Metadata"), md, ELEMENTSOF(md), NULL, 0,
                                          WAIT_MS, &msg, &len, &err),
                         0);
        assert_string_equal((char *) msg, "default|v|" SVC("Metadata") "|deadline");
        free(msg);
        msg = NULL;
        assert_int_equal(
                grpc_client_call(f->c, SVC("Metadata"), NULL, 0, NULL, 0, 0, &msg, &len, &err), 0);
        assert_string_equal((char *) msg, "-|-|" SVC("Metadata") "|none");
        /* keys the protocol would not carry are refused here */
        assert_int_equal(grpc_client_call(f->c, SVC("Metadata"), &(struct grpc_metadata){"Up", "x"},
                                          1, NULL, 0, 0, &msg, &len, &err),
                         -EINVAL);
}

static void test_large_messages_both_ways(void **state)
{
        struct fixture *f = *state;
        size_t len = GRPC_MAX_MESSAGE - 16;
        _cleanup_free_ uint8_t *big = xmalloc(len), *answer = NULL;
        size_t n = 0;

        /* many DATA frames, the windows of both sides, wbuf on the server */
        for (size_t i = 0; i < len; i++)
                big[i] = (uint8_t) (i * 7);
        assert_int_equal(
                grpc_client_call(f->c, SVC("Echo"), NULL, 0, big, len, 30000, &answer, &n, NULL),
                0);
        assert_int_equal(n, len);
        assert_memory_equal(answer, big, len);
}

static void test_many_concurrent_streams(void **state)
{
        struct fixture *f = *state;
        struct grpc_client_stream *st[200];
        struct errmsg err = {0};

        /* no answer comes before the 200th call is in: all are open at once */
        pthread_mutex_lock(&f->lock);
        f->gate_target = ELEMENTSOF(st);
        pthread_mutex_unlock(&f->lock);
        for (size_t i = 0; i < ELEMENTSOF(st); i++)
                st[i] = stream_start(f->c, SVC("Gate"), "x", WAIT_MS);
        for (size_t i = ELEMENTSOF(st); i-- > 0;) {
                _cleanup_free_ uint8_t *msg = NULL, *none = NULL;
                size_t len = 0;

                assert_int_equal(grpc_client_stream_recv(st[i], &msg, &len, &err), 1);
                assert_string_equal((char *) msg, SVC("Gate"));
                assert_int_equal(grpc_client_stream_recv(st[i], &none, &len, &err), 0);
                assert_int_equal(grpc_client_stream_status(st[i]), RPC_OK);
                st[i] = grpc_client_stream_free(st[i]);
        }
        wait_calls(f, 0);
}

static void test_server_stream_slow_reader_bounded(void **state)
{
        struct fixture *f = *state;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        const uint32_t count = 300; /* 19 MiB */
        struct errmsg err = {0};
        uint32_t seq = 0;
        size_t max_queued;
        int r;

        st = stream_start(f->c, SVC("Flood"), "300", 0);
        /* not reading: the server fills the windows and the socket, then its queue */
        (void) usleep(300 * 1000);
        for (;;) {
                _cleanup_free_ uint8_t *msg = NULL;
                size_t len = 0;
                uint32_t got;

                r = grpc_client_stream_recv(st, &msg, &len, &err);
                if (r <= 0)
                        break;
                assert_int_equal(len, FLOOD_SIZE);
                memcpy(&got, msg, sizeof(got));
                assert_int_equal(got, seq++);
                if (seq < 50)
                        (void) usleep(1000);
        }
        assert_int_equal(r, 0);
        assert_int_equal(seq, count);
        pthread_mutex_lock(&f->lock);
        max_queued = f->max_queued;
        assert_true(f->n_backpressure > 0);
        assert_true(f->n_writable > 0);
        pthread_mutex_unlock(&f->lock);
        /* at most one message past the limit: the one that crossed it */
        assert_true(max_queued <= GRPC_CALL_MAX_QUEUED + GRPC_PREFIX_SIZE + FLOOD_SIZE);
        wait_calls(f, 0);
}

static void test_client_streaming(void **state)
{
        struct fixture *f = *state;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        _cleanup_free_ uint8_t *msg = NULL;
        struct errmsg err = {0};
        size_t len = 0;

        assert_int_equal(grpc_client_stream_open(f->c, SVC("Sum"), NULL, 0, WAIT_MS, &st, &err), 0);
        for (size_t i = 0; i < 100; i++)
                assert_int_equal(
                        grpc_client_stream_send(st, (const uint8_t *) "abcdefgh", i % 9, &err), 0);
        assert_int_equal(grpc_client_stream_close_send(st, &err), 0);
        assert_int_equal(grpc_client_stream_send(st, (const uint8_t *) "x", 1, &err), -EALREADY);
        assert_int_equal(grpc_client_stream_recv(st, &msg, &len, &err), 1);
        /* 100 messages of 0..8 bytes: 11 rounds of 36, and 1+2+…+0 */
        assert_string_equal((char *) msg, "100 396");
}

static void test_bidi_streaming(void **state)
{
        struct fixture *f = *state;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        struct errmsg err = {0};
        uint8_t *none = NULL;
        size_t len = 0;

        assert_int_equal(grpc_client_stream_open(f->c, SVC("Bidi"), NULL, 0, WAIT_MS, &st, &err),
                         0);
        /* ping-pong: each answer comes before the next request is sent */
        for (int i = 0; i < 50; i++) {
                _cleanup_free_ char *ping = xasprintf("ping %d", i);
                _cleanup_free_ uint8_t *msg = NULL;

                assert_int_equal(
                        grpc_client_stream_send(st, (const uint8_t *) ping, strlen(ping), &err), 0);
                assert_int_equal(grpc_client_stream_recv(st, &msg, &len, &err), 1);
                assert_string_equal((char *) msg, ping);
        }
        assert_int_equal(grpc_client_stream_close_send(st, &err), 0);
        assert_int_equal(grpc_client_stream_recv(st, &none, &len, &err), 0);
        assert_null(none);
}

static void test_deadline_exceeded(void **state)
{
        struct fixture *f = *state;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        _cleanup_free_ uint8_t *msg = NULL;
        struct errmsg err = {0};
        int64_t start = now_ms(), elapsed;
        enum rpc_code code;
        size_t len = 0;

        st = stream_start(f->c, SVC("Never"), "", 200);
        assert_int_equal(grpc_client_stream_recv(st, &msg, &len, &err), -ETIMEDOUT);
        elapsed = now_ms() - start;
        /* the server's status, not our local deadline (which is 500 ms later) */
        assert_int_equal(grpc_client_stream_status(st), RPC_DEADLINE_EXCEEDED);
        assert_string_equal(err.msg, "deadline exceeded");
        assert_true(elapsed >= 190 && elapsed < 650);
        assert_int_equal(cancelled(f, &code), 1);
        assert_int_equal(code, RPC_DEADLINE_EXCEEDED);
        wait_calls(f, 0);
}

static void test_unknown_method_unimplemented(void **state)
{
        struct fixture *f = *state;
        struct errmsg err = {0};

        /* grpc-go's words */
        assert_int_equal(call_err(f->c, SVC("Nope"), "", WAIT_MS, &err), -EOPNOTSUPP);
        assert_string_equal(err.msg, "unknown method Nope for service berth.test.v1.Test");
        assert_int_equal(call_err(f->c, "/nope.v1.Nope/Echo", "", WAIT_MS, &err), -EOPNOTSUPP);
        assert_string_equal(err.msg, "unknown service nope.v1.Nope");
        assert_int_equal(call_err(f->c, "/nopath", "", WAIT_MS, &err), -EOPNOTSUPP);
        assert_string_equal(err.msg, "malformed method name: \"/nopath\"");
        call_ok(f->c, SVC("Echo"), "still", "still");
}

static void test_oversize_message_then_next_call(void **state)
{
        struct fixture *f = *state;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        _cleanup_free_ uint8_t *big = xcalloc(1, 2 * SMALL_MAX), *msg = NULL;
        struct errmsg err = {0};
        size_t len = 0;

        assert_int_equal(grpc_client_stream_open(f->c, SVC("Echo"), NULL, 0, WAIT_MS, &st, &err),
                         0);
        assert_int_equal(grpc_client_stream_send(st, big, 2 * SMALL_MAX, &err), 0);
        assert_int_equal(grpc_client_stream_close_send(st, &err), 0);
        assert_int_equal(grpc_client_stream_recv(st, &msg, &len, &err), -EIO);
        assert_int_equal(grpc_client_stream_status(st), RPC_RESOURCE_EXHAUSTED);
        assert_string_equal(err.msg,
                            "grpc: received message larger than max (2097152 vs. 1048576)");
        /* the same connection goes on */
        call_ok(f->c, SVC("Echo"), "next", "next");
}

static void test_handler_errors_and_status_messages(void **state)
{
        struct fixture *f = *state;
        struct errmsg err = {0};

        assert_int_equal(call_err(f->c, SVC("Fail"), "t1", WAIT_MS, &err), -ENOENT);
        assert_string_equal(err.msg, "thing t1 not found");
        /* percent-encoded on the wire, decoded by the client */
        assert_int_equal(
                call_err(f->c, SVC("Status"), "NOT_FOUND naïve 100% \"x\"\ty", WAIT_MS, &err),
                -ENOENT);
        assert_string_equal(err.msg, "naïve 100% \"x\"\ty");
        for (int code = 1; code < _RPC_CODE_MAX; code++) {
                const char *name = rpc_code_to_string((enum rpc_code) code);

                assert_int_equal(call_err(f->c, SVC("Status"), name, WAIT_MS, &err),
                                 rpc_code_to_errno((enum rpc_code) code));
                assert_string_equal(err.msg, "");
        }
        /* OK without a message is an error for a unary client */
        assert_int_equal(call_err(f->c, SVC("Status"), "OK", WAIT_MS, &err), -EBADMSG);
        assert_int_equal(call_err(f->c, SVC("Drop"), "", WAIT_MS, &err), -EIO);
        assert_string_equal(err.msg, "call dropped without an answer");
}

static void test_client_reset_and_disconnect_cancel(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *address = xasprintf("unix://%s", f->path);
        struct grpc_client_stream *st;
        struct grpc_client *c2 = NULL;
        enum rpc_code code;

        st = stream_start(f->c, SVC("Never"), "", 0);
        wait_calls(f, 1);
        /* RST_STREAM CANCEL */
        st = grpc_client_stream_free(st);
        wait_calls(f, 0);
        assert_int_equal(cancelled(f, &code), 1);
        assert_int_equal(code, RPC_CANCELLED);
        /* the connection goes: a call on another one is cancelled */
        assert_int_equal(grpc_client_connect(address, &c2, NULL), 0);
        st = stream_start(c2, SVC("Never"), "", 0);
        wait_calls(f, 1);
        c2 = grpc_client_free(c2);
        wait_calls(f, 0);
        assert_int_equal(cancelled(f, &code), 2);
        assert_int_equal(code, RPC_CANCELLED);
        /* the orphaned stream fails without touching the freed client */
        assert_int_equal(grpc_client_stream_recv(st, &(uint8_t *){NULL}, &(size_t){0}, NULL),
                         -ENOTCONN);
        st = grpc_client_stream_free(st);
}

static void test_server_free_ends_calls(void **state)
{
        struct fixture *f = *state;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        struct errmsg err = {0};
        enum rpc_code code;
        int r;

        st = stream_start(f->c, SVC("Never"), "", 0);
        wait_calls(f, 1);
        server_stop(f);
        f->server = grpc_server_free(f->server);
        assert_int_equal(cancelled(f, &code), 1);
        assert_int_equal(code, RPC_CANCELLED);
        /* GOAWAY, then the end of the connection */
        r = grpc_client_stream_recv(st, &(uint8_t *){NULL}, &(size_t){0}, &err);
        assert_true(r == -ECONNRESET || r == -EAGAIN || r == -EIO);
        assert_int_equal(call_err(f->c, SVC("Echo"), "", WAIT_MS, &err), -ENOTCONN);
}

/* --- a raw HTTP/2 client, for requests our client does not send -------------------------- */

struct raw_stream {
        int32_t id;
        int http_status;
        int grpc_status;
        char grpc_message[256];
        bool has_grpc_message;
        char content_type[64];
        unsigned n_headers; /* HEADERS frames */
        size_t n_data;
        bool is_closed;
        uint32_t rst_code;
        const uint8_t *body;
        size_t body_len;
};

struct raw_h2 {
        int fd;
        nghttp2_session *session;
        struct raw_stream streams[RAW_STREAMS];
        size_t n_streams;
};

static int to_int(const char *s)
{
        uint64_t v = 0;

        assert_int_equal(parse_uint64(s, &v), 0);
        return (int) v;
}

static struct raw_stream *raw_stream_of(struct raw_h2 *h, int32_t id)
{
        for (size_t i = 0; i < h->n_streams; i++)
                if (h->streams[i].id == id)
                        return &h->streams[i];
        return NULL;
}

static int raw_on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                         size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                         void *user_data)
{
        struct raw_stream *rs = raw_stream_of(user_data, frame->hd.stream_id);
        _cleanup_free_ char *n = xstrndup((const char *) name, namelen);
        _cleanup_free_ char *v = xstrndup((const char *) value, valuelen);

        (void) session;
        (void) flags;
        if (!rs)
                return 0;
        if (STREQ(n, ":status"))
                rs->http_status = to_int(v);
        else if (STREQ(n, "grpc-status"))
                rs->grpc_status = to_int(v);
        else if (STREQ(n, "content-type"))
                (void) snprintf(rs->content_type, sizeof(rs->content_type), "%s", v);
        else if (STREQ(n, "grpc-message")) {
                rs->has_grpc_message = true;
                (void) snprintf(rs->grpc_message, sizeof(rs->grpc_message), "%s", v);
        }
        return 0;
}

static int raw_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
        struct raw_stream *rs = raw_stream_of(user_data, frame->hd.stream_id);

        (void) session;
        if (rs && frame->hd.type == NGHTTP2_HEADERS)
                rs->n_headers++;
        return 0;
}

static int raw_on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                             const uint8_t *data, size_t len, void *user_data)
{
        struct raw_stream *rs = raw_stream_of(user_data, stream_id);

        (void) session;
        (void) flags;
        (void) data;
        if (rs)
                rs->n_data += len;
        return 0;
}

static int raw_on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                               void *user_data)
{
        struct raw_stream *rs = raw_stream_of(user_data, stream_id);

        (void) session;
        if (rs) {
                rs->is_closed = true;
                rs->rst_code = error_code;
        }
        return 0;
}

static ssize_t raw_read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                             size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                             void *user_data)
{
        struct raw_stream *rs = source->ptr;
        size_t n = MIN(length, rs->body_len);

        (void) session;
        (void) stream_id;
        (void) user_data;
        memcpy(buf, rs->body, n);
        rs->body += n;
        rs->body_len -= n;
        if (rs->body_len == 0)
                *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        return (ssize_t) n;
}

static int raw_connect(struct fixture *f)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

static struct raw_h2 *raw_h2_new(struct fixture *f)
{
        struct raw_h2 *h = xnew0(struct raw_h2, 1);
        nghttp2_session_callbacks *cb;

        h->fd = raw_connect(f);
        assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
        nghttp2_session_callbacks_set_on_header_callback(cb, raw_on_header);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, raw_on_frame_recv);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, raw_on_data_chunk);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, raw_on_stream_close);
        assert_int_equal(nghttp2_session_client_new(&h->session, cb, h), 0);
        nghttp2_session_callbacks_del(cb);
        assert_int_equal(nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, NULL, 0), 0);
        return h;
}

static void raw_h2_free(struct raw_h2 *h)
{
        nghttp2_session_del(h->session);
        (void) close(h->fd);
        free(h);
}

/* A request with these headers (after :method POST … unless given) and body. */
static struct raw_stream *raw_request(struct raw_h2 *h, const char *const (*headers)[2],
                                      size_t n_headers, const void *body, size_t body_len)
{
        struct raw_stream *rs = &h->streams[h->n_streams++];
        nghttp2_data_provider prd = {.source.ptr = rs, .read_callback = raw_read_body};
        nghttp2_nv nva[16];

        assert_true(h->n_streams <= RAW_STREAMS && n_headers <= ELEMENTSOF(nva));
        for (size_t i = 0; i < n_headers; i++)
                nva[i] = (nghttp2_nv){(uint8_t *) headers[i][0], (uint8_t *) headers[i][1],
                                      strlen(headers[i][0]), strlen(headers[i][1]),
                                      NGHTTP2_NV_FLAG_NONE};
        *rs = (struct raw_stream){.grpc_status = -1, .body = body, .body_len = body_len};
        rs->id = nghttp2_submit_request(h->session, NULL, nva, n_headers, &prd, rs);
        assert_true(rs->id > 0);
        return rs;
}

/* Pumps until the stream closed. */
static void raw_wait(struct raw_h2 *h, struct raw_stream *rs)
{
        int64_t deadline = now_ms() + WAIT_MS;

        while (!rs->is_closed) {
                struct pollfd p = {.fd = h->fd, .events = POLLIN};
                const uint8_t *data;
                uint8_t buf[16384];
                ssize_t n;

                while ((n = nghttp2_session_mem_send(h->session, &data)) > 0)
                        assert_int_equal(write_all(h->fd, data, (size_t) n), 0);
                assert_true(now_ms() < deadline);
                if (poll(&p, 1, 100) <= 0)
                        continue;
                n = recv(h->fd, buf, sizeof(buf), 0);
                assert_true(n > 0);
                assert_true(nghttp2_session_mem_recv(h->session, buf, (size_t) n) == n);
        }
}

#define REQ_HEADERS(method, ctype)                                        \
        {":method", method}, {":scheme", "http"}, {":path", SVC("Echo")}, \
                {":authority", "localhost"}, {"content-type", ctype},     \
        {                                                                 \
                "te", "trailers"                                          \
        }

static void test_wire_ok_response_shape(void **state)
{
        struct fixture *f = *state;
        static const char *const hdrs[][2] = {REQ_HEADERS("POST", "application/grpc+proto")};
        struct raw_h2 *h = raw_h2_new(f);
        struct raw_stream *rs;

        rs = raw_request(h, hdrs, ELEMENTSOF(hdrs), "\0\0\0\0\3abc", 8);
        raw_wait(h, rs);
        /* headers, DATA, trailers with an empty grpc-message (as grpc-go sends) */
        assert_int_equal(rs->http_status, 200);
        assert_string_equal(rs->content_type, "application/grpc");
        assert_int_equal(rs->n_headers, 2);
        assert_int_equal(rs->n_data, 8);
        assert_int_equal(rs->grpc_status, 0);
        assert_true(rs->has_grpc_message);
        assert_string_equal(rs->grpc_message, "");
        assert_int_equal(rs->rst_code, NGHTTP2_NO_ERROR);
        raw_h2_free(h);
}

static void raw_expect(struct fixture *f, const char *const (*hdrs)[2], size_t n, const void *body,
                       size_t len, int http_status, int grpc_status, const char *message)
{
        struct raw_h2 *h = raw_h2_new(f);
        struct raw_stream *rs = raw_request(h, hdrs, n, body, len);

        raw_wait(h, rs);
        /* Trailers-Only: one HEADERS frame, no DATA */
        assert_int_equal(rs->http_status, http_status);
        assert_int_equal(rs->grpc_status, grpc_status);
        assert_string_equal(rs->grpc_message, message);
        assert_int_equal(rs->n_headers, 1);
        assert_int_equal(rs->n_data, 0);
        raw_h2_free(h);
}

static void test_wire_malformed_requests(void **state)
{
        struct fixture *f = *state;
        static const char *const json[][2] = {REQ_HEADERS("POST", "application/json")};
        static const char *const put[][2] = {REQ_HEADERS("PUT", "application/grpc")};
        static const char *const timeout[][2] = {REQ_HEADERS("POST", "application/grpc"),
                                                 {"grpc-timeout", "18f6n"}};
        static const char *const gzip[][2] = {REQ_HEADERS("POST", "application/grpc"),
                                              {"grpc-encoding", "gzip"}};
        static const char *const ok[][2] = {REQ_HEADERS("POST", "application/grpc")};

        /* grpc-go's answers (internal/transport/http2_server.go) */
        raw_expect(f, json, ELEMENTSOF(json), "", 0, 415, RPC_INVALID_ARGUMENT,
                   "invalid gRPC request content-type \"application/json\"");
        raw_expect(f, put, ELEMENTSOF(put), "", 0, 405, RPC_INTERNAL,
                   "http2Server.operateHeaders parsed a :method field: PUT which should be POST");
        raw_expect(f, timeout, ELEMENTSOF(timeout), "", 0, 400, RPC_INTERNAL,
                   "malformed grpc-timeout: \"18f6n\"");
        raw_expect(f, gzip, ELEMENTSOF(gzip), "", 0, 200, RPC_UNIMPLEMENTED,
                   "grpc: Decompressor is not installed for grpc-encoding \"gzip\"");
        /* message framing: compressed, bad flag, truncated at END_STREAM, none at all */
        raw_expect(f, ok, ELEMENTSOF(ok), "\1\0\0\0\1x", 6, 200, RPC_INTERNAL,
                   "grpc: compressed flag set with identity or empty encoding");
        raw_expect(f, ok, ELEMENTSOF(ok), "\7\0\0\0\1x", 6, 200, RPC_INTERNAL,
                   "grpc: received unexpected payload format 7");
        raw_expect(f, ok, ELEMENTSOF(ok), "\0\0\0\0\144short", 10, 200, RPC_INTERNAL,
                   "grpc: the request stream ended inside a message: unexpected EOF");
        raw_expect(f, ok, ELEMENTSOF(ok), "\0\0", 2, 200, RPC_INTERNAL,
                   "grpc: the request stream ended inside a message: unexpected EOF");
        raw_expect(f, ok, ELEMENTSOF(ok), "", 0, 200, RPC_INTERNAL,
                   "grpc: the request stream ended without a message");
        call_ok(f->c, SVC("Echo"), "after", "after");
}

static void test_wire_header_list_too_large(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *big = xmalloc(GRPC_MAX_HEADER_LIST + 1);
        const char *hdrs[][2] = {REQ_HEADERS("POST", "application/grpc"), {"x-big", big}};

        memset(big, 'b', GRPC_MAX_HEADER_LIST);
        big[GRPC_MAX_HEADER_LIST] = 0;
        raw_expect(f, hdrs, ELEMENTSOF(hdrs), "\0\0\0\0\0", 5, 200, RPC_RESOURCE_EXHAUSTED,
                   "grpc: request header list size 16721 exceeds the limit 16384");
}

static void test_wire_concurrent_streams_capped(void **state)
{
        struct fixture *f = *state;
        static const char *const hdrs[][2] = {
                {":method", "POST"},
                {":scheme", "http"},
                {":path", SVC("Never")},
                {":authority", "localhost"},
                {"content-type", "application/grpc"},
        };
        struct raw_h2 *h = raw_h2_new(f);
        struct raw_stream *rs[6];

        /* all six go out before the client has read our SETTINGS (MAX_CONCURRENT_STREAMS 4) */
        for (size_t i = 0; i < ELEMENTSOF(rs); i++)
                rs[i] = raw_request(h, hdrs, ELEMENTSOF(hdrs), "\0\0\0\0\0", 5);
        raw_wait(h, rs[5]);
        raw_wait(h, rs[4]);
        assert_int_equal(rs[4]->rst_code, NGHTTP2_REFUSED_STREAM);
        assert_int_equal(rs[5]->rst_code, NGHTTP2_REFUSED_STREAM);
        for (size_t i = 0; i < 4; i++)
                assert_false(rs[i]->is_closed);
        raw_h2_free(h);
}

/* Reads until the server closes fd; returns whether a GOAWAY frame came. */
static bool raw_read_until_closed(int fd)
{
        int64_t deadline = now_ms() + WAIT_MS;
        uint8_t buf[4096];
        bool has_goaway = false;
        size_t off = 0, len = 0;

        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                ssize_t n;

                assert_true(now_ms() < deadline);
                if (poll(&p, 1, 100) <= 0)
                        continue;
                n = recv(fd, buf + len, sizeof(buf) - len, 0);
                if (n <= 0)
                        return has_goaway;
                len += (size_t) n;
                /* walk whole frames: 3 bytes length, type, flags, stream id */
                while (len - off >= 9) {
                        size_t flen =
                                (size_t) buf[off] << 16 | (size_t) buf[off + 1] << 8 | buf[off + 2];

                        if (len - off < 9 + flen)
                                break;
                        has_goaway |= buf[off + 3] == NGHTTP2_GOAWAY;
                        off += 9 + flen;
                }
                memmove(buf, buf + off, len - off);
                len -= off;
                off = 0;
        }
}

static void test_garbage_closes_only_that_connection(void **state)
{
        struct fixture *f = *state;
        static const char http1[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        /* the preface and empty SETTINGS, then DATA on stream 0: a connection error */
        static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                      "\0\0\0\4\0\0\0\0\0"
                                      "\0\0\0\0\0\0\0\0\0";
        _cleanup_free_ uint8_t *msg = NULL;
        struct grpc_client_stream *st;
        int fd1 = raw_connect(f), fd2 = raw_connect(f);
        enum rpc_code code;
        size_t len = 0;

        /* a call in progress on the good connection survives */
        pthread_mutex_lock(&f->lock);
        f->gate_target = 2;
        pthread_mutex_unlock(&f->lock);
        st = stream_start(f->c, SVC("Gate"), "", WAIT_MS);
        assert_int_equal(write_all(fd1, http1, sizeof(http1) - 1), 0);
        assert_false(raw_read_until_closed(fd1));
        assert_int_equal(write_all(fd2, preface, sizeof(preface) - 1), 0);
        assert_true(raw_read_until_closed(fd2));
        (void) close(fd1);
        (void) close(fd2);
        wait_calls(f, 1);
        call_ok(f->c, SVC("Echo"), "alive", "alive");
        assert_int_equal(cancelled(f, &code), 0);
        /* the second call opens the gate for both */
        call_ok(f->c, SVC("Gate"), "", SVC("Gate"));
        assert_int_equal(grpc_client_stream_recv(st, &msg, &len, NULL), 1);
        assert_string_equal((char *) msg, SVC("Gate"));
        st = grpc_client_stream_free(st);
}

/* --- the pure parts ------------------------------------------------------------------------ */

struct collected {
        uint8_t *all;
        size_t len;
        size_t n;
};

static int collect(const uint8_t *msg, size_t len, void *userdata)
{
        struct collected *c = userdata;

        c->all = xrealloc(c->all, c->len + len + 1);
        memcpy(c->all + c->len, msg, len);
        c->len += len;
        c->all[c->len++] = '|';
        c->n++;
        return 0;
}

static void test_reader_reassembles_any_split(void **state)
{
        static const size_t chunks[] = {1, 2, 3, 5, 7, 4096, 100000};
        const size_t big = 70000;
        _cleanup_free_ uint8_t *wire = xmalloc(3 * GRPC_PREFIX_SIZE + 4 + big);
        _cleanup_free_ uint8_t *a = grpc_message_frame(NULL, 0);
        _cleanup_free_ uint8_t *b = grpc_message_frame((const uint8_t *) "abcd", 4);
        _cleanup_free_ uint8_t *payload = xmalloc(big), *c = NULL;
        size_t n = 0;

        (void) state;
        memset(payload, 'z', big);
        c = grpc_message_frame(payload, big);
        memcpy(wire, a, GRPC_PREFIX_SIZE);
        n += GRPC_PREFIX_SIZE;
        memcpy(wire + n, b, GRPC_PREFIX_SIZE + 4);
        n += GRPC_PREFIX_SIZE + 4;
        memcpy(wire + n, c, GRPC_PREFIX_SIZE + big);
        n += GRPC_PREFIX_SIZE + big;
        for (size_t i = 0; i < ELEMENTSOF(chunks); i++) {
                struct collected got = {0};
                struct grpc_reader r;

                grpc_reader_init(&r, big);
                for (size_t off = 0; off < n; off += chunks[i]) {
                        assert_int_equal(grpc_reader_feed(&r, wire + off, MIN(chunks[i], n - off),
                                                          collect, &got, NULL),
                                         0);
                        assert_true(r.alloc <= big);
                }
                assert_false(grpc_reader_is_partial(&r));
                assert_int_equal(got.n, 3);
                assert_int_equal(got.len, 3 + 4 + big);
                assert_memory_equal(got.all, "|abcd|zzz", 9);
                /* the buffer of a large message is not kept */
                assert_true(r.alloc <= 64u << 10);
                grpc_reader_release(&r);
                free(got.all);
        }
}

static void test_reader_refuses_and_does_not_trust_length(void **state)
{
        struct collected got = {0};
        struct grpc_reader r;
        struct errmsg err = {0};

        (void) state;
        grpc_reader_init(&r, 1u << 20);
        /* announces 1 MiB, sends 10 bytes: the buffer follows the bytes */
        assert_int_equal(grpc_reader_feed(&r,
                                          (const uint8_t *) "\0\0\x10\0\0"
                                                            "0123456789",
                                          15, collect, &got, &err),
                         0);
        assert_true(grpc_reader_is_partial(&r));
        assert_true(r.alloc <= 4096);
        grpc_reader_release(&r);
        r.max_size = 1000;
        assert_int_equal(
                grpc_reader_feed(&r, (const uint8_t *) "\0\0\0\3\xe9", 5, collect, &got, &err),
                -EMSGSIZE);
        assert_string_equal(err.msg, "grpc: received message larger than max (1001 vs. 1000)");
        grpc_reader_release(&r);
        assert_int_equal(
                grpc_reader_feed(&r, (const uint8_t *) "\1\0\0\0\0", 5, collect, &got, &err),
                -EPROTONOSUPPORT);
        grpc_reader_release(&r);
        assert_int_equal(grpc_reader_feed(&r, (const uint8_t *) "\2\0", 2, collect, &got, &err), 0);
        assert_int_equal(grpc_reader_feed(&r, (const uint8_t *) "\0\0\0", 3, collect, &got, &err),
                         -EPROTO);
        assert_string_equal(err.msg, "grpc: received unexpected payload format 2");
        grpc_reader_release(&r);
        assert_int_equal(got.n, 0);
}

static void test_timeout_parse_and_format(void **state)
{
        static const struct {
                const char *s;
                uint64_t ns;
        } good[] = {
                {"10S", 10000000000ull},
                {"100m", 100000000ull},
                {"5000000n", 5000000ull},
                {"1H", 3600000000000ull},
                {"2M", 120000000000ull},
                {"7u", 7000ull},
                {"99999999H", UINT64_MAX}, /* 3.6e20 ns: saturated */
                {"0n", 0},
        };
        static const char *const bad[] = {"",     "S",   "10",   "10s",  "123456789S",
                                          "1.5S", "-1S", "10SS", " 10S", "18f6n"};
        char buf[GRPC_TIMEOUT_MAX];
        uint64_t ns = 42;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                assert_int_equal(grpc_timeout_parse(good[i].s, &ns), 0);
                assert_true(ns == good[i].ns);
        }
        ns = 42;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(grpc_timeout_parse(bad[i], &ns), -EINVAL);
        assert_int_equal(ns, 42);
        grpc_timeout_format(200, buf);
        assert_string_equal(buf, "200m");
        grpc_timeout_format(99999999, buf);
        assert_string_equal(buf, "99999999m");
        /* rounded up, never shorter */
        grpc_timeout_format(100000001, buf);
        assert_string_equal(buf, "100001S");
        grpc_timeout_format(UINT64_MAX, buf);
        assert_string_equal(buf, "99999999H");
}

static void test_percent_encoding(void **state)
{
        _cleanup_free_ char *e = NULL, *d = NULL, *broken = NULL;

        (void) state;
        e = grpc_percent_encode("a b%c\té\x7f~");
        assert_string_equal(e, "a b%25c%09%C3%A9%7F~");
        d = grpc_percent_decode(e, strlen(e));
        assert_string_equal(d, "a b%c\té\x7f~");
        /* broken escapes stay as they are */
        broken = grpc_percent_decode("100%!%4%zz%41", 13);
        assert_string_equal(broken, "100%!%4%zzA");
}

static void test_path_content_type_and_code_maps(void **state)
{
        char *svc = NULL, *method = NULL;

        (void) state;
        assert_int_equal(grpc_path_split("/a.b.Svc/Get", &svc, &method), 0);
        assert_string_equal(svc, "a.b.Svc");
        assert_string_equal(method, "Get");
        free(svc);
        free(method);
        assert_int_equal(grpc_path_split("noslash", &svc, &method), -EINVAL);
        assert_true(grpc_content_type_is_grpc("application/grpc"));
        assert_true(grpc_content_type_is_grpc("application/grpc+proto"));
        assert_true(grpc_content_type_is_grpc("Application/GRPC;charset=x"));
        assert_false(grpc_content_type_is_grpc("application/grpcx"));
        assert_false(grpc_content_type_is_grpc("application/json"));
        assert_false(grpc_content_type_is_grpc(NULL));
        assert_int_equal(grpc_code_from_http_status(404), RPC_UNIMPLEMENTED);
        assert_int_equal(grpc_code_from_http_status(503), RPC_UNAVAILABLE);
        assert_int_equal(grpc_code_from_http_status(418), RPC_UNKNOWN);
        assert_int_equal(grpc_code_from_rst_stream(NGHTTP2_CANCEL), RPC_CANCELLED);
        assert_int_equal(grpc_code_from_rst_stream(NGHTTP2_REFUSED_STREAM), RPC_UNAVAILABLE);
        assert_int_equal(grpc_code_from_rst_stream(NGHTTP2_NO_ERROR), RPC_INTERNAL);
        for (int k = 0; k < _GRPC_METHOD_KIND_MAX; k++)
                assert_int_equal(grpc_method_kind_from_string(
                                         grpc_method_kind_to_string((enum grpc_method_kind) k)),
                                 k);
        assert_null(grpc_method_kind_to_string(_GRPC_METHOD_KIND_MAX));
        assert_int_equal(grpc_method_kind_from_string("nope"), -EINVAL);
}

static void test_client_connect_errors(void **state)
{
        struct grpc_client *c = NULL;
        struct errmsg err = {0};
        char long_path[200];

        (void) state;
        assert_int_equal(grpc_client_connect("unix://", &c, &err), -EINVAL);
        memset(long_path, 'a', sizeof(long_path) - 1);
        long_path[sizeof(long_path) - 1] = 0;
        assert_int_equal(grpc_client_connect(long_path, &c, &err), -ENAMETOOLONG);
        assert_int_equal(grpc_client_connect("/nonexistent/berth.sock", &c, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/berth.sock"));
        assert_null(c);
}

#define SERVER_TEST(t)       cmocka_unit_test_setup_teardown(t, setup, teardown)
#define SMALL_SERVER_TEST(t) cmocka_unit_test_setup_teardown(t, setup_small, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                SERVER_TEST(test_unary_round_trip_protobuf),
                SERVER_TEST(test_metadata_delivered),
                SERVER_TEST(test_large_messages_both_ways),
                SERVER_TEST(test_many_concurrent_streams),
                SERVER_TEST(test_server_stream_slow_reader_bounded),
                SERVER_TEST(test_client_streaming),
                SERVER_TEST(test_bidi_streaming),
                SERVER_TEST(test_deadline_exceeded),
                SERVER_TEST(test_unknown_method_unimplemented),
                SMALL_SERVER_TEST(test_oversize_message_then_next_call),
                SERVER_TEST(test_handler_errors_and_status_messages),
                SERVER_TEST(test_client_reset_and_disconnect_cancel),
                SERVER_TEST(test_server_free_ends_calls),
                SERVER_TEST(test_wire_ok_response_shape),
                SERVER_TEST(test_wire_malformed_requests),
                SERVER_TEST(test_wire_header_list_too_large),
                cmocka_unit_test_setup_teardown(test_wire_concurrent_streams_capped, setup_tiny,
                                                teardown),
                SERVER_TEST(test_garbage_closes_only_that_connection),
                cmocka_unit_test(test_reader_reassembles_any_split),
                cmocka_unit_test(test_reader_refuses_and_does_not_trust_length),
                cmocka_unit_test(test_timeout_parse_and_format),
                cmocka_unit_test(test_percent_encoding),
                cmocka_unit_test(test_path_content_type_and_code_maps),
                cmocka_unit_test(test_client_connect_errors),
        };

        if (getenv("GRPC_TEST_DEBUG"))
                log_set_level(LOG_LEVEL_DEBUG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
