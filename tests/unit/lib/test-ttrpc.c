/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/ttrpc-*.c and lib/rpc-status.c. The server runs in this process on a
 * loop the tests step, with raw sockets as clients for the malformed frames; our blocking
 * client talks to a server in a forked child. Frames are compared byte for byte with what
 * containerd 1.6 sent to a shim (traces/shim-ttrpc-frames.txt).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "lib/errmsg.h"
#include "lib/fs.h"
#include "lib/ttrpc-internal.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

#define SERVICE "berth.test.v1.Test"

struct fixture {
        char dir[64];
        char path[128];
        struct evloop *loop;
        struct ttrpc_server *server;
        struct ttrpc_request *held[TTRPC_MAX_PENDING + 1];
        size_t n_held;
        const struct ttrpc_call *last_call; /* of Hold, valid while held */
};

/* --- the test service ------------------------------------------------------------------- */

static int m_echo(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                  struct errmsg *err)
{
        (void) userdata;
        (void) err;
        return ttrpc_respond(req, call->payload, call->payload_len);
}

static int m_metadata(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                      struct errmsg *err)
{
        const char *v = ttrpc_call_metadata(call, "k");
        _cleanup_free_ char *s = NULL;

        (void) userdata;
        (void) err;
        s = xasprintf("%s|%lld|%zu", v ? v : "-", (long long) call->timeout_nano, call->n_metadata);
        return ttrpc_respond(req, (const uint8_t *) s, strlen(s));
}

static int m_fail(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                  struct errmsg *err)
{
        (void) req;
        (void) userdata;
        return errmsg_set(err, -ENOENT, "thing %.*s not found", (int) call->payload_len,
                          (const char *) call->payload);
}

/* Answers with the status named by the payload ("NOT_FOUND"). */
static int m_status(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                    struct errmsg *err)
{
        _cleanup_free_ char *name = xstrndup((const char *) call->payload, call->payload_len);
        int code = rpc_code_from_string(name);

        (void) userdata;
        if (code < 0)
                return errmsg_set(err, -EINVAL, "bad code %s", name);
        return ttrpc_respond_error(req, (enum rpc_code) code, name);
}

static int m_hold(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                  struct errmsg *err)
{
        struct fixture *f = userdata;

        (void) err;
        assert_true(f->n_held < ELEMENTSOF(f->held));
        f->held[f->n_held++] = ttrpc_request_ref(req);
        f->last_call = call;
        return 0;
}

static int m_drop(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                  struct errmsg *err)
{
        (void) req;
        (void) call;
        (void) userdata;
        (void) err;
        return 0;
}

struct later {
        struct ttrpc_request *req;
        int fd;
};

static void later_fire(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct later *l = userdata;

        (void) events;
        assert_int_equal(evloop_remove(loop, fd), 0);
        (void) close(fd);
        (void) ttrpc_respond(l->req, (const uint8_t *) "later", 5);
        (void) ttrpc_request_unref(l->req);
        free(l);
}

/* Answers "later" after the payload's milliseconds (default 20), from a timerfd. */
static int m_later(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                   struct errmsg *err)
{
        _cleanup_free_ char *ms = xstrndup((const char *) call->payload, call->payload_len);
        struct fixture *f = userdata;
        struct itimerspec its = {0};
        struct later *l;
        uint64_t v = 20;
        int fd;

        if (ms[0])
                assert_int_equal(parse_uint64(ms, &v), 0);
        its.it_value.tv_sec = (time_t) (v / 1000);
        its.it_value.tv_nsec = (long) (v % 1000) * 1000000;
        fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0)
                return errmsg_set(err, -errno, "timerfd: %s", strerror(errno));
        l = xnew0(struct later, 1);
        *l = (struct later){.req = ttrpc_request_ref(req), .fd = fd};
        assert_int_equal(evloop_add(f->loop, fd, EPOLLIN, later_fire, l), 0);
        return 0;
}

static int m_exit(struct ttrpc_request *req, const struct ttrpc_call *call, void *userdata,
                  struct errmsg *err)
{
        struct fixture *f = userdata;

        (void) call;
        (void) err;
        evloop_exit(f->loop, 0);
        return ttrpc_respond(req, NULL, 0);
}

static const struct ttrpc_method test_methods[] = {
        {SERVICE, "Echo", m_echo},     {SERVICE, "Metadata", m_metadata}, {SERVICE, "Fail", m_fail},
        {SERVICE, "Status", m_status}, {SERVICE, "Hold", m_hold},         {SERVICE, "Drop", m_drop},
        {SERVICE, "Later", m_later},   {SERVICE, "Exit", m_exit},         {NULL, NULL, NULL},
};

/* --- fixture: a server on a loop in this process ------------------------------------------ */

static int listen_in_tmpdir(struct fixture *f)
{
        int fd = -EBADF;

        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-ttrpc-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void) snprintf(f->path, sizeof(f->path), "%s/ttrpc.sock", f->dir);
        assert_int_equal(ttrpc_listen_unix(f->path, &fd, NULL), 0);
        return fd;
}

static int setup(void **state)
{
        struct fixture *f = xnew0(struct fixture, 1);
        int fd = listen_in_tmpdir(f);

        assert_int_equal(evloop_new(&f->loop), 0);
        assert_int_equal(ttrpc_server_new(f->loop, fd, test_methods, f, &f->server), 0);
        *state = f;
        return 0;
}

static void release_held(struct fixture *f)
{
        for (size_t i = 0; i < f->n_held; i++)
                (void) ttrpc_request_unref(f->held[i]);
        f->n_held = 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        release_held(f);
        f->server = ttrpc_server_free(f->server);
        f->loop = evloop_free(f->loop);
        assert_int_equal(rm_rf_at(AT_FDCWD, f->dir), 0);
        free(f);
        return 0;
}

static void pump(struct fixture *f, unsigned n)
{
        for (unsigned i = 0; i < n; i++)
                assert_true(evloop_step(f->loop, 1) >= 0);
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

/* Sends all of buf, stepping the server while the socket is full. */
static void raw_send(struct fixture *f, int fd, const void *buf, size_t len)
{
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0) {
                        assert_int_equal(errno, EAGAIN);
                        pump(f, 1);
                        continue;
                }
                p += n;
                len -= (size_t) n;
        }
}

static void raw_send_request(struct fixture *f, int fd, uint32_t id, const char *method,
                             const char *payload)
{
        const struct ttrpc_call call = {
                .service = SERVICE,
                .method = method,
                .payload = (const uint8_t *) payload,
                .payload_len = payload ? strlen(payload) : 0,
        };
        _cleanup_free_ uint8_t *frame = NULL;
        size_t size;

        assert_int_equal(ttrpc_request_encode(id, &call, &frame, &size), 0);
        raw_send(f, fd, frame, size);
}

/*
 * Steps the server until a whole frame or the end of stream arrives on fd. Returns 1 with
 * the frame (header included) in *ret, or 0 at the end of stream.
 */
static int raw_recv_frame(struct fixture *f, int fd, uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0, alloc = 0;

        for (unsigned i = 0; i < 5000; i++) {
                size_t need = TTRPC_HEADER_SIZE;
                struct ttrpc_frame fr;
                size_t size;
                ssize_t n;

                if (len > 0 && ttrpc_frame_parse(buf, len, &fr, &size) == 1) {
                        *ret = TAKE_PTR(buf);
                        *ret_size = size;
                        return 1;
                }
                /* read no further than this frame: the next one stays in the socket */
                if (len >= TTRPC_HEADER_SIZE)
                        need += ((size_t) buf[0] << 24 | (size_t) buf[1] << 16 |
                                 (size_t) buf[2] << 8 | buf[3]);
                pump(f, 1);
                buf = xgrow(buf, &alloc, need, 1);
                n = recv(fd, buf + len, MIN((size_t) 65536, need - len), MSG_DONTWAIT);
                if (n == 0)
                        return 0;
                if (n < 0) {
                        assert_true(errno == EAGAIN || errno == ECONNRESET);
                        if (errno == ECONNRESET)
                                return 0;
                        continue;
                }
                len += (size_t) n;
        }
        fail_msg("no answer from the server");
        return -1;
}

/* Receives a Response on id and checks its outcome: r, and for errors err_substr. */
static void raw_expect(struct fixture *f, int fd, uint32_t id, int r, const char *substr)
{
        _cleanup_free_ uint8_t *frame = NULL, *payload = NULL;
        struct errmsg err = {0};
        struct ttrpc_frame fr;
        size_t size, len = 0;

        assert_int_equal(raw_recv_frame(f, fd, &frame, &size), 1);
        assert_int_equal(ttrpc_frame_parse(frame, size, &fr, &size), 1);
        assert_int_equal(fr.type, TTRPC_TYPE_RESPONSE);
        assert_int_equal(fr.stream_id, id);
        assert_int_equal(ttrpc_response_parse(fr.payload, fr.length, &payload, &len, &err), r);
        if (r < 0)
                assert_non_null(strstr(err.msg, substr));
        else if (substr)
                assert_memory_equal(payload, substr, strlen(substr));
}

static void raw_expect_closed(struct fixture *f, int fd)
{
        _cleanup_free_ uint8_t *frame = NULL;
        size_t size;

        assert_int_equal(raw_recv_frame(f, fd, &frame, &size), 0);
}

/* A new, well-behaved connection is served. */
static void assert_serves(struct fixture *f)
{
        size_t n = ttrpc_server_connections(f->server);
        _cleanup_close_ int fd = raw_connect(f);

        raw_send_request(f, fd, 1, "Echo", "ping");
        raw_expect(f, fd, 1, 0, "ping");
        assert_int_equal(ttrpc_server_connections(f->server), n + 1);
}

static void raw_send_header(struct fixture *f, int fd, uint32_t length, uint32_t id, uint8_t type)
{
        uint8_t h[TTRPC_HEADER_SIZE];

        ttrpc_header_write(h, length, id, type, 0);
        raw_send(f, fd, h, sizeof(h));
}

/* --- malformed input, on the in-process server ------------------------------------------- */

static void test_oversize_frame_closes_connection(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f);

        raw_send_header(f, fd, TTRPC_MAX_MESSAGE + 1, 1, TTRPC_TYPE_REQUEST);
        raw_expect_closed(f, fd);
        assert_int_equal(ttrpc_server_connections(f->server), 0);
        assert_serves(f);
}

static void test_unknown_type_closes_connection(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd1 = raw_connect(f), fd2 = raw_connect(f);

        /* ttrpc v1.2's Data frame, and a Response sent to the server */
        raw_send_header(f, fd1, 0, 1, TTRPC_TYPE_DATA);
        raw_expect_closed(f, fd1);
        raw_send_header(f, fd2, 0, 1, TTRPC_TYPE_RESPONSE);
        raw_expect_closed(f, fd2);
        assert_serves(f);
}

static void test_truncated_payload_closes_connection(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f);

        raw_send_header(f, fd, 100, 1, TTRPC_TYPE_REQUEST);
        raw_send(f, fd, "\x0a\x05short", 7);
        pump(f, 3);
        /* half a frame waits for the rest; then the client gives up */
        assert_int_equal(ttrpc_server_connections(f->server), 1);
        assert_int_equal(shutdown(fd, SHUT_WR), 0);
        raw_expect_closed(f, fd);
        assert_int_equal(ttrpc_server_connections(f->server), 0);
        assert_serves(f);
}

static void test_garbage_protobuf_gets_invalid_argument(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f);

        /* field 1, length-delimited, length past the end */
        raw_send_header(f, fd, 3, 5, TTRPC_TYPE_REQUEST);
        raw_send(f, fd, "\x0a\x7f\x01", 3);
        raw_expect(f, fd, 5, -EINVAL, "unmarshal request error");
        /* the connection stays usable */
        raw_send_request(f, fd, 7, "Echo", "again");
        raw_expect(f, fd, 7, 0, "again");
        assert_serves(f);
}

static void test_even_stream_id_gets_invalid_argument(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f);

        raw_send_request(f, fd, 2, "Echo", "x");
        raw_expect(f, fd, 2, -EINVAL, "StreamID must be odd");
        raw_send_request(f, fd, 3, "Echo", "y");
        raw_expect(f, fd, 3, 0, "y");
}

static void test_too_much_metadata_gets_invalid_argument(void **state)
{
        struct fixture *f = *state;
        struct ttrpc_metadata md[TTRPC_MAX_METADATA + 1];
        _cleanup_close_ int fd = raw_connect(f);
        _cleanup_free_ uint8_t *frame = NULL;
        struct ttrpc_call call = {.service = SERVICE, .method = "Echo", .metadata = md};
        size_t size;

        for (size_t i = 0; i < ELEMENTSOF(md); i++)
                md[i] = (struct ttrpc_metadata){"k", "v"};
        call.n_metadata = ELEMENTSOF(md);
        /* our encoder refuses; the bytes by hand: TTRPC_MAX_METADATA + 1 times "2a 00" */
        assert_int_equal(ttrpc_request_encode(1, &call, &frame, &size), -EINVAL);
        raw_send_header(f, fd, 2 * ELEMENTSOF(md), 1, TTRPC_TYPE_REQUEST);
        for (size_t i = 0; i < ELEMENTSOF(md); i++)
                raw_send(f, fd, "\x2a\x00", 2);
        raw_expect(f, fd, 1, -EINVAL, "metadata pairs");
}

static void test_unknown_service_and_method_unimplemented(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f);
        const struct ttrpc_call call = {.service = "nope.v1.Nope", .method = "Echo"};
        _cleanup_free_ uint8_t *frame = NULL;
        size_t size;

        /* containerd/ttrpc's words: "service S", "method M" */
        assert_int_equal(ttrpc_request_encode(1, &call, &frame, &size), 0);
        raw_send(f, fd, frame, size);
        raw_expect(f, fd, 1, -EOPNOTSUPP, "service nope.v1.Nope");
        raw_send_request(f, fd, 3, "Nope", NULL);
        raw_expect(f, fd, 3, -EOPNOTSUPP, "method Nope");
}

/* --- lifetimes and limits ------------------------------------------------------------------ */

static void test_pipelined_requests_answered_in_order(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f);
        const struct ttrpc_call c1 = {.service = SERVICE,
                                      .method = "Echo",
                                      .payload = (const uint8_t *) "one",
                                      .payload_len = 3};
        const struct ttrpc_call c2 = {.service = SERVICE,
                                      .method = "Echo",
                                      .payload = (const uint8_t *) "two",
                                      .payload_len = 3};
        _cleanup_free_ uint8_t *a = NULL, *b = NULL, *both = NULL;
        size_t na, nb;

        assert_int_equal(ttrpc_request_encode(1, &c1, &a, &na), 0);
        assert_int_equal(ttrpc_request_encode(3, &c2, &b, &nb), 0);
        both = xmalloc(na + nb);
        memcpy(both, a, na);
        memcpy(both + na, b, nb);
        /* one write, two frames; the first answer is read before the second is made */
        raw_send(f, fd, both, na + nb);
        raw_expect(f, fd, 1, 0, "one");
        raw_expect(f, fd, 3, 0, "two");
}

static void test_large_message_round_trip(void **state)
{
        struct fixture *f = *state;
        size_t len = TTRPC_MAX_MESSAGE - 64;
        _cleanup_free_ char *big = xmalloc(len + 1);
        _cleanup_close_ int fd = raw_connect(f);

        /* larger than the socket buffers: partial reads, and a queued answer on EPOLLOUT */
        memset(big, 'b', len);
        big[len] = 0;
        raw_send_request(f, fd, 1, "Echo", big);
        raw_expect(f, fd, 1, 0, big);
}

static void test_deferred_answer_and_metadata(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f);
        const struct ttrpc_metadata md[] = {{"containerd-namespace-ttrpc", "default"}};
        const struct ttrpc_call call = {.service = SERVICE,
                                        .method = "Hold",
                                        .timeout_nano = 7,
                                        .metadata = md,
                                        .n_metadata = 1};
        _cleanup_free_ uint8_t *frame = NULL;
        size_t size;

        assert_int_equal(ttrpc_request_encode(9, &call, &frame, &size), 0);
        raw_send(f, fd, frame, size);
        pump(f, 5);
        assert_int_equal(f->n_held, 1);
        assert_string_equal(ttrpc_call_metadata(f->last_call, "containerd-namespace-ttrpc"),
                            "default");
        assert_null(ttrpc_call_metadata(f->last_call, "other"));
        assert_int_equal(f->last_call->timeout_nano, 7);
        assert_false(ttrpc_request_is_orphaned(f->held[0]));
        /* other requests go on meanwhile */
        raw_send_request(f, fd, 11, "Echo", "meanwhile");
        raw_expect(f, fd, 11, 0, "meanwhile");
        assert_int_equal(ttrpc_respond(f->held[0], (const uint8_t *) "done", 4), 0);
        assert_int_equal(ttrpc_respond(f->held[0], (const uint8_t *) "twice", 5), -EALREADY);
        raw_expect(f, fd, 9, 0, "done");
}

static void test_closed_connection_orphans_request(void **state)
{
        struct fixture *f = *state;
        int fd = raw_connect(f);

        raw_send_request(f, fd, 1, "Hold", NULL);
        pump(f, 5);
        assert_int_equal(f->n_held, 1);
        (void) close(fd);
        pump(f, 5);
        assert_int_equal(ttrpc_server_connections(f->server), 0);
        assert_true(ttrpc_request_is_orphaned(f->held[0]));
        /* the call stays readable, the answer goes nowhere */
        assert_string_equal(f->last_call->method, "Hold");
        assert_int_equal(ttrpc_respond(f->held[0], (const uint8_t *) "x", 1), 0);
        assert_serves(f);
}

static void test_server_free_with_pending_request(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f);

        raw_send_request(f, fd, 1, "Hold", NULL);
        pump(f, 5);
        assert_int_equal(f->n_held, 1);
        f->server = ttrpc_server_free(f->server);
        assert_true(ttrpc_request_is_orphaned(f->held[0]));
        assert_int_equal(ttrpc_respond_error(f->held[0], RPC_NOT_FOUND, "gone"), 0);
        assert_int_equal(recv(fd, (char[1]){0}, 1, 0), 0);
}

static void test_dropped_request_gets_internal(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f);

        raw_send_request(f, fd, 1, "Drop", NULL);
        raw_expect(f, fd, 1, -EIO, "request dropped without an answer");
}

static void test_pending_requests_capped(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f);
        uint32_t id = 1;

        for (size_t i = 0; i < TTRPC_MAX_PENDING; i++, id += 2)
                raw_send_request(f, fd, id, "Hold", NULL);
        raw_send_request(f, fd, id, "Hold", NULL);
        raw_expect(f, fd, id, -EIO, "too many requests in progress");
        assert_int_equal(f->n_held, TTRPC_MAX_PENDING);
        /* answering frees the slots */
        assert_int_equal(ttrpc_respond(f->held[0], NULL, 0), 0);
        raw_expect(f, fd, 1, 0, NULL);
        raw_send_request(f, fd, id + 2, "Echo", "room");
        raw_expect(f, fd, id + 2, 0, "room");
}

/* --- wire format ---------------------------------------------------------------------------- */

static void test_request_frame_matches_containerd(void **state)
{
        /* strace of containerd 1.6 calling a shim (traces/shim-ttrpc-frames.txt), the prefix */
        static const char trace[] = "\0\0\2\7\0\0\0\1\1\0\n\27containerd.task.v2.Task\22\6Create";
        static const char forward[] =
                "\0\0\2}\0\0\0\1\1\0\n*containerd.services.events.ttrpc.v1.Events\22\7Forward";
        struct ttrpc_call call = {.service = "containerd.task.v2.Task", .method = "Create"};
        _cleanup_free_ uint8_t *frame = NULL, *payload = xmalloc(483), *frame2 = NULL;
        size_t size;

        (void) state;
        /* a 483-byte CreateTaskRequest makes the 519-byte message of the trace */
        memset(payload, 0x55, 483);
        call.payload = payload;
        call.payload_len = 483;
        assert_int_equal(ttrpc_request_encode(1, &call, &frame, &size), 0);
        assert_int_equal(size, TTRPC_HEADER_SIZE + 0x207);
        assert_memory_equal(frame, trace, sizeof(trace) - 1);
        /* then field 3, payload, length 483 as a varint */
        assert_memory_equal(frame + sizeof(trace) - 1, "\x1a\xe3\x03", 3);

        call = (struct ttrpc_call){.service = "containerd.services.events.ttrpc.v1.Events",
                                   .method = "Forward"};
        assert_int_equal(ttrpc_request_encode(1, &call, &frame2, &size), 0);
        /* same bytes after the length (which counts the envelope we did not add) */
        assert_memory_equal(frame2 + 4, forward + 4, sizeof(forward) - 1 - 4);
}

static void test_response_frame_bytes(void **state)
{
        _cleanup_free_ uint8_t *ok = NULL, *bad = NULL, *payload = NULL;
        struct errmsg err = {0};
        size_t size, len = 7;

        (void) state;
        /* an OK status is sent as an empty message, as ttrpc's Go server does */
        assert_int_equal(
                ttrpc_response_encode(3, RPC_OK, NULL, (const uint8_t *) "hi", 2, &ok, &size), 0);
        assert_int_equal(size, 16);
        assert_memory_equal(ok, "\0\0\0\6\0\0\0\3\2\0\x0a\x00\x12\x02hi", 16);
        assert_int_equal(ttrpc_response_encode(5, RPC_NOT_FOUND, "no", NULL, 0, &bad, &size), 0);
        assert_int_equal(size, 18);
        assert_memory_equal(bad, "\0\0\0\x08\0\0\0\5\2\0\x0a\x06\x08\x05\x12\x02no", 18);
        assert_int_equal(ttrpc_response_parse(bad + 10, 8, &payload, &len, &err), -ENOENT);
        assert_string_equal(err.msg, "no");
        assert_null(payload);
        assert_int_equal(len, 7);
        /* no status at all counts as OK */
        assert_int_equal(
                ttrpc_response_parse((const uint8_t *) "\x12\x01z", 3, &payload, &len, &err), 0);
        assert_int_equal(len, 1);
        assert_memory_equal(payload, "z", 1);
}

static void test_frame_parse_limits(void **state)
{
        uint8_t h[TTRPC_HEADER_SIZE + 1];
        struct ttrpc_frame fr = {0};
        size_t size = 0;

        (void) state;
        ttrpc_header_write(h, 1, 1, TTRPC_TYPE_REQUEST, 0);
        h[TTRPC_HEADER_SIZE] = 0x42;
        assert_int_equal(ttrpc_frame_parse(h, TTRPC_HEADER_SIZE - 1, &fr, &size), 0);
        assert_int_equal(ttrpc_frame_parse(h, TTRPC_HEADER_SIZE, &fr, &size), 0);
        assert_int_equal(ttrpc_frame_parse(h, sizeof(h), &fr, &size), 1);
        assert_int_equal(size, sizeof(h));
        assert_int_equal(fr.payload[0], 0x42);
        ttrpc_header_write(h, TTRPC_MAX_MESSAGE, 1, TTRPC_TYPE_REQUEST, 0);
        assert_int_equal(ttrpc_frame_parse(h, sizeof(h), &fr, &size), 0);
        ttrpc_header_write(h, TTRPC_MAX_MESSAGE + 1, 1, TTRPC_TYPE_REQUEST, 0);
        assert_int_equal(ttrpc_frame_parse(h, sizeof(h), &fr, &size), -EMSGSIZE);
        ttrpc_header_write(h, 0, 1, TTRPC_TYPE_DATA, 0);
        assert_int_equal(ttrpc_frame_parse(h, sizeof(h), &fr, &size), -EPROTO);
        assert_int_equal(fr.type, TTRPC_TYPE_DATA);
}

static void test_rpc_status_table(void **state)
{
        static const struct {
                int r;
                enum rpc_code code;
        } table[] = {
                {-ENOENT, RPC_NOT_FOUND},         {-EEXIST, RPC_ALREADY_EXISTS},
                {-EINVAL, RPC_INVALID_ARGUMENT},  {-EBUSY, RPC_FAILED_PRECONDITION},
                {-EOPNOTSUPP, RPC_UNIMPLEMENTED}, {-ETIMEDOUT, RPC_DEADLINE_EXCEEDED},
                {-ECANCELED, RPC_CANCELLED},      {-EPERM, RPC_PERMISSION_DENIED},
                {-EAGAIN, RPC_UNAVAILABLE},
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                assert_int_equal(rpc_code_from_errno(table[i].r), table[i].code);
                assert_int_equal(rpc_code_to_errno(table[i].code), table[i].r);
        }
        assert_int_equal(rpc_code_from_errno(0), RPC_OK);
        assert_int_equal(rpc_code_from_errno(5), RPC_OK);
        assert_int_equal(rpc_code_from_errno(-ENOSPC), RPC_INTERNAL);
        assert_int_equal(rpc_code_to_errno(RPC_OK), 0);
        assert_int_equal(rpc_code_to_errno(RPC_DATA_LOSS), -EIO);
        assert_int_equal(rpc_code_to_errno(RPC_INTERNAL), -EIO);
        assert_int_equal(rpc_code_to_errno((enum rpc_code) 99), -EIO);
        for (int c = 0; c < _RPC_CODE_MAX; c++) {
                assert_non_null(rpc_code_to_string((enum rpc_code) c));
                assert_int_equal(rpc_code_from_string(rpc_code_to_string((enum rpc_code) c)), c);
        }
        assert_string_equal(rpc_code_to_string(RPC_UNIMPLEMENTED), "UNIMPLEMENTED");
        assert_null(rpc_code_to_string(_RPC_CODE_MAX));
        assert_int_equal(rpc_code_from_string("NOPE"), -EINVAL);
        assert_int_equal(rpc_code_from_string(NULL), -EINVAL);
        /* containerd's errdefs words: the classes only */
        assert_string_equal(rpc_errdefs_word(-ENOENT), "not found");
        assert_string_equal(rpc_errdefs_word(-EBUSY), "failed precondition");
        assert_string_equal(rpc_errdefs_word(-EOPNOTSUPP), "not implemented");
        assert_null(rpc_errdefs_word(-EIO));
        assert_null(rpc_errdefs_word(0));
}

/* --- our client against a server in a child process --------------------------------------- */

static pid_t server_fork(struct fixture *f)
{
        int fd = listen_in_tmpdir(f);
        pid_t parent = getpid();
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                int r;

                /* never outlive a test that failed */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(1);
                r = evloop_new(&f->loop);

                if (r == 0)
                        r = ttrpc_server_new(f->loop, fd, test_methods, f, &f->server);
                if (r == 0)
                        r = evloop_run(f->loop);
                _exit(r == 0 ? 0 : 1);
        }
        (void) close(fd);
        return pid;
}

static void call_ok(struct ttrpc_client *c, const char *method, const char *in, const char *out)
{
        _cleanup_free_ uint8_t *payload = NULL;
        struct errmsg err = {0};
        size_t len = 0;

        assert_int_equal(ttrpc_client_call(c, SERVICE, method, NULL, 0, (const uint8_t *) in,
                                           in ? strlen(in) : 0, 5000, &payload, &len, &err),
                         0);
        assert_int_equal(len, strlen(out));
        assert_memory_equal(payload, out, len);
}

static int call_err(struct ttrpc_client *c, const char *service, const char *method, const char *in,
                    int timeout_ms, struct errmsg *err)
{
        uint8_t *payload = (uint8_t *) "untouched";
        size_t len = 42;
        int r;

        r = ttrpc_client_call(c, service, method, NULL, 0, (const uint8_t *) in,
                              in ? strlen(in) : 0, timeout_ms, &payload, &len, err);
        assert_true(r < 0);
        assert_string_equal((const char *) payload, "untouched");
        assert_int_equal(len, 42);
        return r;
}

/* Our client, connected to a server in a child. */
struct remote {
        struct fixture f;
        pid_t pid;
        struct ttrpc_client *c;
};

static int remote_setup(void **state)
{
        struct remote *rm = xnew0(struct remote, 1);
        _cleanup_free_ char *address = NULL;

        rm->pid = server_fork(&rm->f);
        address = xasprintf("unix://%s", rm->f.path);
        assert_int_equal(ttrpc_client_connect(address, &rm->c, NULL), 0);
        *state = rm;
        return 0;
}

/* Asks the server to exit, checks that it did, and that the client notices. */
static int remote_teardown(void **state)
{
        struct remote *rm = *state;
        struct errmsg err = {0};
        int status, r;

        call_ok(rm->c, "Exit", NULL, "");
        assert_int_equal(waitpid(rm->pid, &status, 0), rm->pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        /* the server is gone: the send fails, or the receive finds the end of the stream */
        r = call_err(rm->c, SERVICE, "Echo", "x", 1000, &err);
        assert_true(r == -EPIPE || r == -ECONNRESET);
        assert_int_equal(call_err(rm->c, SERVICE, "Echo", "x", 1000, &err), -ENOTCONN);
        rm->c = ttrpc_client_free(rm->c);
        assert_int_equal(rm_rf_at(AT_FDCWD, rm->f.dir), 0);
        free(rm);
        return 0;
}

static void test_client_round_trip(void **state)
{
        const struct ttrpc_metadata md[] = {{"other", "x"}, {"k", "v"}, {"k", "second"}};
        struct ttrpc_client *c = ((struct remote *) *state)->c;
        _cleanup_free_ uint8_t *payload = NULL;
        struct errmsg err = {0};
        size_t len = 0;

        call_ok(c, "Echo", "hello", "hello");
        call_ok(c, "Echo", NULL, "");
        assert_int_equal(ttrpc_client_call(c, SERVICE, "Metadata", md, ELEMENTSOF(md), NULL, 0,
                                           1500, &payload, &len, &err),
                         0);
        assert_string_equal((const char *) payload, "v|1500000000|3");
        /* deferred answers: from a timer, and one that comes after the call timed out */
        call_ok(c, "Later", NULL, "later");
        assert_int_equal(call_err(c, SERVICE, "Later", "300", 50, &err), -ETIMEDOUT);
        assert_non_null(strstr(err.msg, "timed out"));
        (void) usleep(400 * 1000);
        call_ok(c, "Echo", "after", "after");
}

static void test_client_error_statuses(void **state)
{
        struct ttrpc_client *c = ((struct remote *) *state)->c;
        struct errmsg err = {0};

        /* handler errno -> status on the wire -> our errno, and the message */
        assert_int_equal(call_err(c, SERVICE, "Fail", "t1", 5000, &err), -ENOENT);
        assert_string_equal(err.msg, "thing t1 not found");
        for (int code = 1; code < _RPC_CODE_MAX; code++) {
                const char *name = rpc_code_to_string((enum rpc_code) code);

                assert_int_equal(call_err(c, SERVICE, "Status", name, 5000, &err),
                                 rpc_code_to_errno((enum rpc_code) code));
                assert_string_equal(err.msg, name);
        }
        assert_int_equal(call_err(c, SERVICE, "Nope", NULL, 5000, &err), -EOPNOTSUPP);
        assert_string_equal(err.msg, "method Nope");
        assert_int_equal(call_err(c, "nope.Nope", "Echo", NULL, 5000, &err), -EOPNOTSUPP);
        assert_string_equal(err.msg, "service nope.Nope");
        assert_int_equal(call_err(c, SERVICE, "Drop", NULL, 5000, &err), -EIO);
        assert_string_equal(err.msg, "request dropped without an answer");
}

static void test_client_connect_errors(void **state)
{
        struct ttrpc_client *c = NULL;
        struct errmsg err = {0};
        char long_path[200];

        (void) state;
        assert_int_equal(ttrpc_client_connect("unix://", &c, &err), -EINVAL);
        memset(long_path, 'a', sizeof(long_path) - 1);
        long_path[sizeof(long_path) - 1] = 0;
        assert_int_equal(ttrpc_client_connect(long_path, &c, &err), -ENAMETOOLONG);
        assert_int_equal(ttrpc_client_connect("/nonexistent/berth.sock", &c, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/berth.sock"));
        assert_null(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_oversize_frame_closes_connection, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_unknown_type_closes_connection, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_truncated_payload_closes_connection, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_garbage_protobuf_gets_invalid_argument, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_even_stream_id_gets_invalid_argument, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_too_much_metadata_gets_invalid_argument, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_unknown_service_and_method_unimplemented,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_pipelined_requests_answered_in_order, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_large_message_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deferred_answer_and_metadata, setup, teardown),
                cmocka_unit_test_setup_teardown(test_closed_connection_orphans_request, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_server_free_with_pending_request, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_dropped_request_gets_internal, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pending_requests_capped, setup, teardown),
                cmocka_unit_test(test_request_frame_matches_containerd),
                cmocka_unit_test(test_response_frame_bytes),
                cmocka_unit_test(test_frame_parse_limits),
                cmocka_unit_test(test_rpc_status_table),
                cmocka_unit_test_setup_teardown(test_client_round_trip, remote_setup,
                                                remote_teardown),
                cmocka_unit_test_setup_teardown(test_client_error_statuses, remote_setup,
                                                remote_teardown),
                cmocka_unit_test(test_client_connect_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
