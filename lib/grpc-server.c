/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gRPC server (see grpc.h): one nghttp2 server session per connection, fed with
 * nghttp2_session_mem_recv() and drained with nghttp2_session_mem_send(), so that the socket
 * stays ours: non-blocking, read in chunks on EPOLLIN, and not read while the socket does not
 * take what we write (the client must read to be served). nghttp2 answers SETTINGS and PING,
 * keeps the flow-control windows and enforces SETTINGS_MAX_CONCURRENT_STREAMS; a connection
 * that breaks HTTP/2 makes mem_recv fail (or queue GOAWAY) and is closed alone.
 *
 * Each request stream is a call. Answers go through a data provider that reads the call's
 * queue of framed messages: an empty queue defers the stream (NGHTTP2_ERR_DEFERRED) until
 * the handler sends more or finishes, and a full one (GRPC_CALL_MAX_QUEUED) refuses sends
 * until flow control lets the client take half of it, so a slow reader bounds the memory.
 * The status goes as trailers after the queue, or as Trailers-Only when no message was
 * sent. A status sent before the client's END_STREAM is followed by RST_STREAM NO_ERROR
 * (PROTOCOL-HTTP2.md, "Early Server Closure"). Deadlines sit in a min-heap with one timerfd
 * per server.
 *
 * Lifetimes. A call is refcounted by the server while it still has to dispatch request
 * messages to the handler, and by the handler; its memory also lives while its stream is
 * open (call->conn set), since nghttp2 holds it as stream user data. When the last
 * reference goes, an unanswered call is answered INTERNAL. A connection is refcounted too,
 * so that code in the middle of it survives its closing. nghttp2 is never re-entered: code
 * that wants output while a session is busy (inside mem_recv or mem_send, or a callback of
 * ours) only marks the connection, and the outermost caller writes.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <nghttp2/nghttp2.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>

#include "grpc-internal.h"
#include "log.h"
#include "xalloc.h"

#define CONN_READ_CHUNK    (64u << 10)
#define CONN_STREAM_WINDOW (1 << 20)
#define CONN_WINDOW        (16 << 20)
#define NSEC_PER_SEC       1000000000ull

struct qbuf {
        struct qbuf *next;
        uint8_t *data; /* a framed message */
        size_t size;
        size_t offset; /* taken by nghttp2 so far */
};

struct grpc_call {
        unsigned n_ref;
        struct grpc_conn *conn; /* NULL once the stream closed */
        struct grpc_call *prev, *next;
        int32_t stream_id;
        const struct grpc_method *method; /* set once the headers were accepted */
        char *http_method;
        char *path;
        struct grpc_metadata *metadata; /* strings owned */
        size_t n_metadata;
        size_t alloc_metadata;
        size_t header_size; /* as HTTP/2 counts it: name + value + 32 */
        uint64_t deadline;  /* CLOCK_MONOTONIC ns; 0: none */
        size_t heap_index;  /* in server->heap, SIZE_MAX when not there */
        struct grpc_reader reader;
        size_t n_received;
        size_t n_sent;
        bool has_dispatch_ref; /* the server still dispatches request messages */
        bool is_dispatched;    /* the handler has seen the call */
        bool is_half_closed;
        bool is_finished;  /* a status is given */
        bool is_cancelled; /* ... by the server, not by the handler */
        bool has_response; /* response headers submitted */
        bool is_deferred;  /* the data provider waits for grpc_call_send/finish */
        bool wants_writable;
        enum rpc_code code;
        char *message; /* percent-encoded */
        struct qbuf *q_head, *q_tail;
        size_t queued;
        void *userdata;
        grpc_call_cancel_fn on_cancel;
        grpc_call_writable_fn on_writable;
};

struct grpc_conn {
        unsigned n_ref;
        struct grpc_server *server;
        bool is_closed;
        int fd;
        uint32_t events;
        nghttp2_session *session;
        uint8_t *wbuf; /* output the socket did not take */
        size_t wbuf_len;
        size_t wbuf_off;
        size_t wbuf_alloc;
        struct grpc_call *calls;
        size_t n_calls;
        size_t buffered; /* reassembly bytes of its calls */
        bool is_busy;
        bool needs_run;
        bool has_writable;
        struct grpc_conn *prev, *next;
};

struct grpc_server {
        struct evloop *loop;
        int listen_fd;
        int timer_fd;
        uint64_t timer_armed; /* 0: disarmed */
        const struct grpc_method *methods;
        void *userdata;
        struct grpc_server_opts opts;
        nghttp2_session_callbacks *callbacks;
        nghttp2_option *option;
        uint8_t *rbuf;
        struct grpc_conn *conns;
        size_t n_conns;
        size_t n_calls;
        size_t buffered;
        struct grpc_call **heap; /* deadlines, earliest first */
        size_t n_heap;
        size_t alloc_heap;
};

static void conn_run(struct grpc_conn *conn);
static void conn_close(struct grpc_conn *conn, const char *why);

static uint64_t now_ns(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * NSEC_PER_SEC + (uint64_t) ts.tv_nsec;
}

static bool conn_is_closed(const struct grpc_conn *conn)
{
        return conn->is_closed;
}

static struct grpc_conn *conn_ref(struct grpc_conn *conn)
{
        conn->n_ref++;
        return conn;
}

static struct grpc_conn *conn_unref(struct grpc_conn *conn)
{
        if (!conn || --conn->n_ref > 0)
                return NULL;
        assert(conn_is_closed(conn));
        /* frees the streams without calling back: the calls were detached when it closed */
        nghttp2_session_del(conn->session);
        free(conn->wbuf);
        free(conn);
        return NULL;
}

static nghttp2_nv nv_make(const char *name, const char *value)
{
        return (nghttp2_nv){(uint8_t *) name, (uint8_t *) value, strlen(name), strlen(value),
                            NGHTTP2_NV_FLAG_NONE};
}

/* --- deadlines: a min-heap of calls, and the timerfd armed for the first ------------------ */

static bool heap_less(const struct grpc_server *s, size_t a, size_t b)
{
        return s->heap[a]->deadline < s->heap[b]->deadline;
}

static void heap_swap(struct grpc_server *s, size_t a, size_t b)
{
        struct grpc_call *t = s->heap[a];

        s->heap[a] = s->heap[b];
        s->heap[b] = t;
        s->heap[a]->heap_index = a;
        s->heap[b]->heap_index = b;
}

static void heap_fix(struct grpc_server *s, size_t i)
{
        while (i > 0 && heap_less(s, i, (i - 1) / 2)) {
                heap_swap(s, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
        for (;;) {
                size_t l = 2 * i + 1, m = i;

                if (l < s->n_heap && heap_less(s, l, m))
                        m = l;
                if (l + 1 < s->n_heap && heap_less(s, l + 1, m))
                        m = l + 1;
                if (m == i)
                        return;
                heap_swap(s, i, m);
                i = m;
        }
}

static void heap_push(struct grpc_server *s, struct grpc_call *call)
{
        s->heap = xgrow(s->heap, &s->alloc_heap, s->n_heap + 1, sizeof(*s->heap));
        s->heap[s->n_heap] = call;
        call->heap_index = s->n_heap++;
        heap_fix(s, call->heap_index);
}

static void heap_remove(struct grpc_server *s, struct grpc_call *call)
{
        size_t i = call->heap_index;

        if (i == SIZE_MAX)
                return;
        call->heap_index = SIZE_MAX;
        if (i == --s->n_heap)
                return;
        s->heap[i] = s->heap[s->n_heap];
        s->heap[i]->heap_index = i;
        heap_fix(s, i);
}

static void server_timer_update(struct grpc_server *s)
{
        uint64_t next = s->n_heap > 0 ? s->heap[0]->deadline : 0;
        struct itimerspec its = {0};

        if (next == s->timer_armed || s->timer_fd < 0)
                return;
        /* an absolute time; 0 disarms */
        its.it_value.tv_sec = (time_t) (next / NSEC_PER_SEC);
        its.it_value.tv_nsec = (long) (next % NSEC_PER_SEC);
        if (timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
                log_debug("grpc: arm deadline timer: %s", strerror(errno));
                return;
        }
        s->timer_armed = next;
}

/* --- calls --------------------------------------------------------------------------------- */

static bool kind_is_single_request(enum grpc_method_kind kind)
{
        return kind == GRPC_UNARY || kind == GRPC_SERVER_STREAMING;
}

static bool kind_is_single_response(enum grpc_method_kind kind)
{
        return kind == GRPC_UNARY || kind == GRPC_CLIENT_STREAMING;
}

static struct grpc_call *call_new(struct grpc_conn *conn, int32_t stream_id)
{
        struct grpc_call *call = xnew0(struct grpc_call, 1);

        /* the first reference is the server's, dropped once it dispatched the request */
        *call = (struct grpc_call){.n_ref = 1,
                                   .conn = conn,
                                   .stream_id = stream_id,
                                   .heap_index = SIZE_MAX,
                                   .has_dispatch_ref = true};
        grpc_reader_init(&call->reader, conn->server->opts.max_message_size);
        call->next = conn->calls;
        if (conn->calls)
                conn->calls->prev = call;
        conn->calls = call;
        conn->n_calls++;
        conn->server->n_calls++;
        return call;
}

static void call_free(struct grpc_call *call)
{
        for (size_t i = 0; i < call->n_metadata; i++) {
                free((char *) call->metadata[i].key);
                free((char *) call->metadata[i].value);
        }
        free(call->metadata);
        free(call->http_method);
        free(call->path);
        free(call->message);
        free(call);
}

/* Frees the call once nobody refers to it: no reference, and no open stream. */
static void call_maybe_free(struct grpc_call *call)
{
        if (call->n_ref == 0 && !call->conn)
                call_free(call);
}

/* Adds the change of the call's reassembly buffer to its connection's and server's totals. */
static void call_account(struct grpc_call *call, size_t old_alloc)
{
        struct grpc_conn *conn = call->conn;

        conn->buffered = conn->buffered - old_alloc + call->reader.alloc;
        conn->server->buffered = conn->server->buffered - old_alloc + call->reader.alloc;
}

static void call_queue_free(struct grpc_call *call, bool keep_started)
{
        struct qbuf **p = &call->q_head;

        call->q_tail = NULL;
        while (*p) {
                struct qbuf *q = *p;

                if (keep_started && q->offset > 0) {
                        /* half sent: the rest must follow, or the client sees garbage */
                        call->q_tail = q;
                        p = &q->next;
                        continue;
                }
                *p = q->next;
                call->queued -= q->size - q->offset;
                free(q->data);
                free(q);
        }
}

/* Unlinks the call from its connection (its stream closed, or the connection did). */
static void call_detach(struct grpc_call *call)
{
        struct grpc_conn *conn = call->conn;
        struct grpc_server *s = conn->server;
        size_t old = call->reader.alloc;

        heap_remove(s, call);
        server_timer_update(s);
        grpc_reader_release(&call->reader);
        call_account(call, old);
        call_queue_free(call, false);
        if (call->prev)
                call->prev->next = call->next;
        else
                conn->calls = call->next;
        if (call->next)
                call->next->prev = call->prev;
        call->prev = call->next = NULL;
        conn->n_calls--;
        s->n_calls--;
        call->conn = NULL;
}

static void call_drop_dispatch_ref(struct grpc_call *call)
{
        if (!call->has_dispatch_ref)
                return;
        call->has_dispatch_ref = false;
        (void) grpc_call_unref(call);
}

/* The status and message as trailers; nghttp2 copies them. */
static int call_submit_trailer(struct grpc_call *call)
{
        char code[16];
        nghttp2_nv nva[2];

        /* the values' lengths are taken here: fill them first */
        (void) snprintf(code, sizeof(code), "%d", (int) call->code);
        nva[0] = nv_make("grpc-status", code);
        nva[1] = nv_make("grpc-message", call->message);
        return nghttp2_submit_trailer(call->conn->session, call->stream_id, nva, ELEMENTSOF(nva));
}

static ssize_t call_read_data(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                              size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                              void *user_data)
{
        struct grpc_call *call = source->ptr;
        size_t n = 0;

        (void) session;
        (void) stream_id;
        (void) user_data;
        while (n < length && call->q_head) {
                struct qbuf *q = call->q_head;
                size_t k = MIN(length - n, q->size - q->offset);

                memcpy(buf + n, q->data + q->offset, k);
                n += k;
                q->offset += k;
                if (q->offset < q->size)
                        continue;
                call->q_head = q->next;
                if (!call->q_head)
                        call->q_tail = NULL;
                free(q->data);
                free(q);
        }
        call->queued -= n;
        if (call->wants_writable && call->queued < GRPC_CALL_MAX_QUEUED / 2)
                call->conn->has_writable = true;
        if (call->q_head)
                return (ssize_t) n;
        if (call->is_finished) {
                *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
                return call_submit_trailer(call) < 0 ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE
                                                     : (ssize_t) n;
        }
        if (n > 0)
                return (ssize_t) n;
        call->is_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
}

/* Makes nghttp2 read the call's queue: response headers with the data provider, or a resume. */
static int call_resume(struct grpc_call *call)
{
        const nghttp2_nv nva[] = {nv_make(":status", "200"),
                                  nv_make("content-type", "application/grpc")};
        nghttp2_data_provider prd = {.source.ptr = call, .read_callback = call_read_data};
        int r = 0;

        if (!call->has_response) {
                call->has_response = true;
                r = nghttp2_submit_response(call->conn->session, call->stream_id, nva,
                                            ELEMENTSOF(nva), &prd);
        } else if (call->is_deferred) {
                call->is_deferred = false;
                r = nghttp2_session_resume_data(call->conn->session, call->stream_id);
        }
        if (r < 0) {
                log_debug("grpc: stream %d: %s", call->stream_id, nghttp2_strerror(r));
                return -EIO;
        }
        return 0;
}

/* A response of headers only, with END_STREAM: for errors before any message. */
static int call_submit_trailers_only(struct grpc_call *call, int http_status)
{
        char status[16], code[16];
        nghttp2_nv nva[4];
        int r;

        (void) snprintf(status, sizeof(status), "%d", http_status);
        (void) snprintf(code, sizeof(code), "%d", (int) call->code);
        nva[0] = nv_make(":status", status);
        nva[1] = nv_make("content-type", "application/grpc");
        nva[2] = nv_make("grpc-status", code);
        nva[3] = nv_make("grpc-message", call->message);
        call->has_response = true;
        r = nghttp2_submit_response(call->conn->session, call->stream_id, nva, ELEMENTSOF(nva),
                                    NULL);
        if (r < 0) {
                log_debug("grpc: stream %d: %s", call->stream_id, nghttp2_strerror(r));
                return -EIO;
        }
        return 0;
}

/* Gives the call its status; it goes after the queued messages. */
static int call_submit_status(struct grpc_call *call, int http_status, enum rpc_code code,
                              const char *message)
{
        struct grpc_conn *conn = call->conn;
        int r;

        call->is_finished = true;
        call->wants_writable = false;
        call->code = code;
        call->message = grpc_percent_encode(message ? message : "");
        if (!conn || conn_is_closed(conn))
                return 0;
        if (call->has_response)
                r = call_resume(call);
        else
                r = call_submit_trailers_only(call, http_status);
        conn_run(conn);
        return r;
}

/*
 * Ends a call that the handler did not finish, for the server's reason (deadline, broken
 * request stream): the status goes out, the handler hears of it once.
 */
static void call_abort(struct grpc_call *call, enum rpc_code code, const char *message)
{
        if (call->is_finished)
                return;
        call->n_ref++;
        call_queue_free(call, true);
        /* the handler hears first: sends and finishes are refused from now on */
        call->is_cancelled = true;
        if (call->is_dispatched && call->on_cancel)
                call->on_cancel(call, code, call->userdata);
        (void) call_submit_status(call, 200, code, message);
        call_drop_dispatch_ref(call);
        (void) grpc_call_unref(call);
}

/* Its stream closed, or its connection: nothing more goes out. */
static void call_close(struct grpc_call *call, enum rpc_code code)
{
        call->n_ref++;
        call_detach(call);
        if (!call->is_finished) {
                call->is_finished = true;
                call->is_cancelled = true;
                if (call->is_dispatched && call->on_cancel)
                        call->on_cancel(call, code, call->userdata);
        }
        call_drop_dispatch_ref(call);
        (void) grpc_call_unref(call);
}

static void call_dispatch(struct grpc_call *call, const uint8_t *msg, size_t len)
{
        void *userdata = call->conn->server->userdata;
        struct errmsg err = {0};
        int r;

        call->is_dispatched = true;
        r = call->method->fn(call, msg, len, userdata, &err);
        if (r >= 0)
                return;
        if (!call->is_finished)
                (void) call_submit_status(call, 200, rpc_code_from_errno(r),
                                          err.msg[0] ? err.msg : strerror(-r));
        else
                log_debug("grpc: %s failed after answering: %s", call->path,
                          err.msg[0] ? err.msg : strerror(-r));
}

/* A whole request message (from the reader). */
static int call_on_message(const uint8_t *msg, size_t len, void *userdata)
{
        struct grpc_call *call = userdata;
        enum grpc_method_kind kind = call->method->kind;

        /* more than one message for a unary request: grpc-go reads one and ignores the rest */
        if (kind_is_single_request(kind) && call->n_received++ > 0)
                return 0;
        call_dispatch(call, msg, len);
        if (kind_is_single_request(kind))
                call_drop_dispatch_ref(call);
        return call->is_finished ? 1 : 0;
}

/* The client's END_STREAM: the last request message came. */
static void call_half_close(struct grpc_call *call)
{
        call->is_half_closed = true;
        if (call->is_finished)
                return;
        if (grpc_reader_is_partial(&call->reader)) {
                call_abort(call, RPC_INTERNAL,
                           "grpc: the request stream ended inside a message: unexpected EOF");
                return;
        }
        if (kind_is_single_request(call->method->kind)) {
                if (call->n_received == 0)
                        call_abort(call, RPC_INTERNAL,
                                   "grpc: the request stream ended without a message");
                return;
        }
        call_dispatch(call, NULL, 0);
        call_drop_dispatch_ref(call);
}

/* Answers a request that is refused before any handler saw it. */
static void call_reject(struct grpc_call *call, int http_status, enum rpc_code code,
                        const char *fmt, ...) _printf_(4, 5);
static void call_reject(struct grpc_call *call, int http_status, enum rpc_code code,
                        const char *fmt, ...)
{
        _cleanup_free_ char *message = NULL;
        va_list ap;

        va_start(ap, fmt);
        message = xvasprintf(fmt, ap);
        va_end(ap);
        log_debug("grpc: stream %d: %s", call->stream_id, message);
        (void) call_submit_status(call, http_status, code, message);
        call_drop_dispatch_ref(call);
}

static bool method_has_service(const struct grpc_method *m, const char *service)
{
        size_t n = strlen(service);

        return m->path[0] == '/' && strncmp(m->path + 1, service, n) == 0 && m->path[n + 1] == '/';
}

/* The method for :path, matched as grpc-go splits it; NULL with the UNIMPLEMENTED words. */
static const struct grpc_method *server_find_method(const struct grpc_server *s, const char *path,
                                                    char **ret_what)
{
        _cleanup_free_ char *service = NULL, *method = NULL;
        bool has_service = false;

        if (grpc_path_split(path, &service, &method) < 0) {
                *ret_what = xasprintf("malformed method name: \"%s\"", path);
                return NULL;
        }
        for (const struct grpc_method *m = s->methods; m->path; m++) {
                if (!method_has_service(m, service))
                        continue;
                has_service = true;
                if (STREQ(m->path + strlen(service) + 2, method))
                        return m;
        }
        *ret_what = has_service ? xasprintf("unknown method %s for service %s", method, service)
                                : xasprintf("unknown service %s", service);
        return NULL;
}

static void call_route(struct grpc_call *call, bool has_timeout, uint64_t timeout_ns)
{
        struct grpc_server *s = call->conn->server;
        _cleanup_free_ char *what = NULL;
        uint64_t now;

        call->method = server_find_method(s, call->path, &what);
        if (!call->method) {
                call_reject(call, 200, RPC_UNIMPLEMENTED, "%s", what);
                return;
        }
        if (!has_timeout)
                return;
        now = now_ns();
        call->deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
        heap_push(s, call);
        server_timer_update(s);
}

/* The request headers are complete: checks them in grpc-go's order, then routes. */
static void call_start(struct grpc_call *call)
{
        const struct grpc_server_opts *o = &call->conn->server->opts;
        const char *content_type = grpc_call_metadata(call, "content-type");
        const char *timeout = grpc_call_metadata(call, "grpc-timeout");
        const char *encoding = grpc_call_metadata(call, "grpc-encoding");
        uint64_t timeout_ns = 0;

        if (call->header_size > o->max_header_list_size)
                call_reject(call, 200, RPC_RESOURCE_EXHAUSTED,
                            "grpc: request header list size %zu exceeds the limit %" PRIu32,
                            call->header_size, o->max_header_list_size);
        else if (!grpc_content_type_is_grpc(content_type))
                call_reject(call, 415, RPC_INVALID_ARGUMENT,
                            "invalid gRPC request content-type \"%s\"",
                            content_type ? content_type : "");
        else if (!STREQ_PTR(call->http_method, "POST"))
                call_reject(
                        call, 405, RPC_INTERNAL,
                        "http2Server.operateHeaders parsed a :method field: %s which should be POST",
                        call->http_method ? call->http_method : "");
        else if (timeout && grpc_timeout_parse(timeout, &timeout_ns) < 0)
                call_reject(call, 400, RPC_INTERNAL, "malformed grpc-timeout: \"%s\"", timeout);
        else if (encoding && !STREQ(encoding, "identity"))
                call_reject(call, 200, RPC_UNIMPLEMENTED,
                            "grpc: Decompressor is not installed for grpc-encoding \"%s\"",
                            encoding);
        else if (!call->path)
                call_reject(call, 200, RPC_UNIMPLEMENTED, "malformed method name: \"\"");
        else
                call_route(call, timeout != NULL, timeout_ns);
}

static void call_add_header(struct grpc_call *call, const uint8_t *name, size_t namelen,
                            const uint8_t *value, size_t valuelen)
{
        struct grpc_metadata *md;

        call->header_size += namelen + valuelen + 32;
        /* past the limit: nothing more is kept, and call_start() refuses the call */
        if (call->header_size > call->conn->server->opts.max_header_list_size)
                return;
        if (namelen == 7 && memcmp(name, ":method", 7) == 0 && !call->http_method)
                call->http_method = xstrndup((const char *) value, valuelen);
        else if (namelen == 5 && memcmp(name, ":path", 5) == 0 && !call->path)
                call->path = xstrndup((const char *) value, valuelen);
        if (namelen == 0 || name[0] == ':')
                return;
        call->metadata = xgrow(call->metadata, &call->alloc_metadata, call->n_metadata + 1,
                               sizeof(*call->metadata));
        md = &call->metadata[call->n_metadata++];
        md->key = xstrndup((const char *) name, namelen);
        md->value = xstrndup((const char *) value, valuelen);
}

/* --- the call API ------------------------------------------------------------------------ */

void grpc_call_set_userdata(struct grpc_call *call, void *userdata, grpc_call_cancel_fn on_cancel,
                            grpc_call_writable_fn on_writable)
{
        call->userdata = userdata;
        call->on_cancel = on_cancel;
        call->on_writable = on_writable;
}

void *grpc_call_get_userdata(const struct grpc_call *call)
{
        return call->userdata;
}

const char *grpc_call_path(const struct grpc_call *call)
{
        return call->path;
}

const char *grpc_call_metadata(const struct grpc_call *call, const char *key)
{
        for (size_t i = 0; i < call->n_metadata; i++)
                if (STREQ(call->metadata[i].key, key))
                        return call->metadata[i].value;
        return NULL;
}

uint64_t grpc_call_deadline(const struct grpc_call *call)
{
        return call->deadline;
}

bool grpc_call_is_cancelled(const struct grpc_call *call)
{
        return call->is_cancelled;
}

size_t grpc_call_queued(const struct grpc_call *call)
{
        return call->queued;
}

int grpc_call_send(struct grpc_call *call, const uint8_t *msg, size_t len)
{
        struct qbuf *q;
        int r;

        if (call->is_cancelled || (!call->is_finished && !call->conn))
                return -ECANCELED;
        if (call->is_finished)
                return -EALREADY;
        if (conn_is_closed(call->conn))
                return -ECANCELED;
        if (len > call->conn->server->opts.max_message_size)
                return -EMSGSIZE;
        if (kind_is_single_response(call->method->kind) && call->n_sent > 0)
                return -EINVAL;
        if (call->queued >= GRPC_CALL_MAX_QUEUED) {
                call->wants_writable = true;
                return -ENOBUFS;
        }
        q = xnew0(struct qbuf, 1);
        *q = (struct qbuf){.data = grpc_message_frame(msg, len), .size = GRPC_PREFIX_SIZE + len};
        if (call->q_tail)
                call->q_tail->next = q;
        else
                call->q_head = q;
        call->q_tail = q;
        call->queued += q->size;
        call->n_sent++;
        r = call_resume(call);
        conn_run(call->conn);
        return r;
}

int grpc_call_finish(struct grpc_call *call, enum rpc_code code, const char *message)
{
        if (call->is_cancelled)
                return 0;
        if (call->is_finished)
                return -EALREADY;
        if ((unsigned) code >= _RPC_CODE_MAX)
                code = RPC_UNKNOWN;
        return call_submit_status(call, 200, code, message);
}

int grpc_call_reply(struct grpc_call *call, const uint8_t *msg, size_t len)
{
        _cleanup_free_ char *what = NULL;
        int r = grpc_call_send(call, msg, len);

        if (r == -EMSGSIZE) {
                what = xasprintf("grpc: trying to send message larger than max (%zu vs. %zu)", len,
                                 call->conn->server->opts.max_message_size);
                return grpc_call_finish(call, RPC_RESOURCE_EXHAUSTED, what);
        }
        if (r < 0)
                return r;
        return grpc_call_finish(call, RPC_OK, NULL);
}

struct grpc_call *grpc_call_ref(struct grpc_call *call)
{
        call->n_ref++;
        return call;
}

struct grpc_call *grpc_call_unref(struct grpc_call *call)
{
        if (!call)
                return NULL;
        assert(call->n_ref > 0);
        if (--call->n_ref > 0)
                return NULL;
        if (!call->is_finished && call->conn) {
                /* nobody will answer: do not leave the client waiting (held across the send) */
                call->n_ref++;
                (void) call_submit_status(call, 200, RPC_INTERNAL,
                                          "call dropped without an answer");
                call->n_ref--;
        }
        call_maybe_free(call);
        return NULL;
}

/* --- nghttp2 callbacks --------------------------------------------------------------------- */

static struct grpc_call *stream_call(nghttp2_session *session, int32_t stream_id)
{
        return nghttp2_session_get_stream_user_data(session, stream_id);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
        struct grpc_conn *conn = user_data;
        struct grpc_call *call;

        if (conn_is_closed(conn))
                return NGHTTP2_ERR_CALLBACK_FAILURE;
        if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
                return 0;
        /* nghttp2 refuses streams past our SETTINGS once acknowledged; this covers before */
        if (conn->n_calls >= conn->server->opts.max_concurrent_streams) {
                (void) nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                                 NGHTTP2_REFUSED_STREAM);
                return 0;
        }
        call = call_new(conn, frame->hd.stream_id);
        if (nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call) < 0) {
                call_close(call, RPC_INTERNAL);
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
        struct grpc_conn *conn = user_data;
        struct grpc_call *call;

        (void) flags;
        if (conn_is_closed(conn))
                return NGHTTP2_ERR_CALLBACK_FAILURE;
        /* request trailers carry nothing gRPC reads */
        if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
                return 0;
        call = stream_call(session, frame->hd.stream_id);
        if (call)
                call_add_header(call, name, namelen, value, valuelen);
        return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
        struct grpc_conn *conn = user_data;
        struct grpc_call *call;

        if (conn_is_closed(conn))
                return NGHTTP2_ERR_CALLBACK_FAILURE;
        if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
                return 0;
        call = stream_call(session, frame->hd.stream_id);
        if (!call)
                return 0;
        if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
                call_start(call);
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
                call_half_close(call);
        return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
        struct grpc_conn *conn = user_data;
        struct grpc_server *s = conn->server;
        struct grpc_call *call;
        struct errmsg err = {0};
        size_t old;
        int r;

        (void) flags;
        if (conn_is_closed(conn))
                return NGHTTP2_ERR_CALLBACK_FAILURE;
        call = stream_call(session, stream_id);
        if (!call || call->is_finished || !call->method)
                return 0;
        old = call->reader.alloc;
        r = grpc_reader_feed(&call->reader, data, len, call_on_message, call, &err);
        if (call->conn)
                call_account(call, old);
        if (r < 0)
                call_abort(call, r == -EMSGSIZE ? RPC_RESOURCE_EXHAUSTED : RPC_INTERNAL, err.msg);
        else if (conn->buffered > 4 * s->opts.max_message_size ||
                 s->buffered > 16 * s->opts.max_message_size)
                call_abort(call, RPC_RESOURCE_EXHAUSTED,
                           "grpc: too many bytes of partial messages buffered by the server");
        return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
        int32_t id = frame->hd.stream_id;

        (void) user_data;
        /* a status before the client's END_STREAM: free the stream (Early Server Closure) */
        if (frame->hd.type == NGHTTP2_HEADERS && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
            nghttp2_session_get_stream_remote_close(session, id) == 0)
                (void) nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
        return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
        struct grpc_call *call = stream_call(session, stream_id);

        (void) user_data;
        if (call && call->conn) {
                log_debug("grpc: stream %d closed (%" PRIu32 ")", stream_id, error_code);
                call_close(call, RPC_CANCELLED);
        }
        return 0;
}

/* --- connections ----------------------------------------------------------------------------- */

/* Closes the socket, cancels the calls and drops the server's reference. */
static void conn_close(struct grpc_conn *conn, const char *why)
{
        struct grpc_server *s = conn->server;

        if (conn_is_closed(conn))
                return;
        conn->is_closed = true;
        log_debug("grpc: closing connection %d: %s", conn->fd, why);
        (void) evloop_remove(s->loop, conn->fd);
        conn->fd = safe_close(conn->fd);
        while (conn->calls)
                call_close(conn->calls, RPC_CANCELLED);
        if (conn->prev)
                conn->prev->next = conn->next;
        else
                s->conns = conn->next;
        if (conn->next)
                conn->next->prev = conn->prev;
        s->n_conns--;
        (void) conn_unref(conn);
}

/* Sends bytes; what the socket does not take goes to wbuf. */
static void conn_write(struct grpc_conn *conn, const uint8_t *data, size_t len)
{
        ssize_t n = send(conn->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno != EAGAIN && errno != EINTR) {
                conn_close(conn, strerror(errno));
                return;
        }
        n = MAX(n, (ssize_t) 0);
        if ((size_t) n == len)
                return;
        conn->wbuf = xgrow(conn->wbuf, &conn->wbuf_alloc, len - (size_t) n, 1);
        memcpy(conn->wbuf, data + n, len - (size_t) n);
        conn->wbuf_len = len - (size_t) n;
        conn->wbuf_off = 0;
}

/* Writes wbuf: true when it is empty. */
static bool conn_write_pending(struct grpc_conn *conn)
{
        while (conn->wbuf_off < conn->wbuf_len) {
                ssize_t n = send(conn->fd, conn->wbuf + conn->wbuf_off,
                                 conn->wbuf_len - conn->wbuf_off, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return false;
                if (n < 0) {
                        conn_close(conn, strerror(errno));
                        return false;
                }
                conn->wbuf_off += (size_t) n;
        }
        conn->wbuf_len = conn->wbuf_off = 0;
        return true;
}

/* Sends what nghttp2 has, until it has nothing or the socket is full. */
static void conn_flush(struct grpc_conn *conn)
{
        while (!conn_is_closed(conn) && conn_write_pending(conn)) {
                const uint8_t *data;
                ssize_t n = nghttp2_session_mem_send(conn->session, &data);

                if (n < 0) {
                        conn_close(conn, nghttp2_strerror((int) n));
                        return;
                }
                if (n == 0)
                        return;
                conn_write(conn, data, (size_t) n);
        }
}

static void conn_notify_writable(struct grpc_conn *conn)
{
        conn->has_writable = false;
        /* the list is stable here: calls detach only inside nghttp2, which is not running */
        for (struct grpc_call *call = conn->calls, *next; call; call = next) {
                next = call->next;
                if (!call->wants_writable || call->queued >= GRPC_CALL_MAX_QUEUED / 2 ||
                    call->is_finished)
                        continue;
                call->wants_writable = false;
                if (!call->on_writable)
                        continue;
                call->n_ref++;
                call->on_writable(call, call->userdata);
                (void) grpc_call_unref(call);
        }
}

/* Watches for input, or for room to write when output waits; closes a finished session. */
static void conn_update_events(struct grpc_conn *conn)
{
        bool has_output = conn->wbuf_len > 0;
        uint32_t events = has_output ? EPOLLOUT : EPOLLIN;

        if (!has_output && !nghttp2_session_want_read(conn->session) &&
            !nghttp2_session_want_write(conn->session)) {
                conn_close(conn, "session finished");
                return;
        }
        if (events == conn->events)
                return;
        if (evloop_modify(conn->server->loop, conn->fd, events) < 0) {
                conn_close(conn, "cannot watch socket");
                return;
        }
        conn->events = events;
}

/* Writes and notifies; inside nghttp2 or another run it only asks the outer one to go on. */
static void conn_run(struct grpc_conn *conn)
{
        if (conn_is_closed(conn))
                return;
        if (conn->is_busy) {
                conn->needs_run = true;
                return;
        }
        conn_ref(conn);
        conn->is_busy = true;
        do {
                conn->needs_run = false;
                conn_flush(conn);
                if (!conn_is_closed(conn) && conn->has_writable)
                        conn_notify_writable(conn);
        } while (!conn_is_closed(conn) && conn->needs_run);
        conn->is_busy = false;
        if (!conn_is_closed(conn))
                conn_update_events(conn);
        (void) conn_unref(conn);
}

static void conn_read(struct grpc_conn *conn)
{
        ssize_t n = recv(conn->fd, conn->server->rbuf, CONN_READ_CHUNK, MSG_DONTWAIT);
        ssize_t r;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                conn_close(conn, n < 0 ? strerror(errno) : "end of stream");
                return;
        }
        conn->is_busy = true;
        r = nghttp2_session_mem_recv(conn->session, conn->server->rbuf, (size_t) n);
        conn->is_busy = false;
        /* bad preface, flood, …: nghttp2 gives up on the connection (others are queued GOAWAY) */
        if (r < 0)
                conn_close(conn, nghttp2_strerror((int) r));
}

static void conn_io(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct grpc_conn *conn = conn_ref(userdata);

        (void) loop;
        (void) fd;
        if (events & EPOLLERR)
                conn_close(conn, "socket error");
        else if (conn->wbuf_len == 0 && (events & (EPOLLIN | EPOLLHUP)))
                conn_read(conn);
        /* also on EPOLLOUT: writes wbuf and what nghttp2 has */
        conn_run(conn);
        (void) conn_unref(conn);
}

static int conn_session_new(struct grpc_server *s, struct grpc_conn *conn)
{
        const nghttp2_settings_entry iv[] = {
                {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->opts.max_concurrent_streams},
                {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, CONN_STREAM_WINDOW},
                {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, s->opts.max_header_list_size},
        };
        int r;

        r = nghttp2_session_server_new2(&conn->session, s->callbacks, conn, s->option);
        if (r < 0)
                return -ENOMEM;
        r = nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, iv, ELEMENTSOF(iv));
        if (r == 0)
                r = nghttp2_session_set_local_window_size(conn->session, NGHTTP2_FLAG_NONE, 0,
                                                          CONN_WINDOW);
        return r < 0 ? -EIO : 0;
}

static void server_accept_one(struct grpc_server *s, int fd)
{
        struct grpc_conn *conn;
        int r;

        if (s->n_conns >= s->opts.max_connections) {
                log_debug("grpc: %zu connections already, refusing another", s->n_conns);
                (void) safe_close(fd);
                return;
        }
        conn = xnew0(struct grpc_conn, 1);
        *conn = (struct grpc_conn){.n_ref = 1, .server = s, .fd = fd, .events = EPOLLIN};
        r = conn_session_new(s, conn);
        if (r == 0)
                r = evloop_add(s->loop, fd, EPOLLIN, conn_io, conn);
        if (r < 0) {
                log_debug_errno(r, "grpc: set up connection");
                nghttp2_session_del(conn->session);
                (void) safe_close(fd);
                free(conn);
                return;
        }
        conn->next = s->conns;
        if (s->conns)
                s->conns->prev = conn;
        s->conns = conn;
        s->n_conns++;
        /* our SETTINGS go first */
        conn_run(conn);
}

static void accept_one(void *userdata, int fd)
{
        server_accept_one(userdata, fd);
}

static void server_accept(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        (void) loop;
        (void) events;
        evloop_accept_batch(fd, accept_one, userdata, "grpc");
}

/* The deadline timer: ends the calls whose deadline passed. */
static void server_timer(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct grpc_server *s = userdata;
        uint64_t expirations, now = now_ns();

        (void) loop;
        (void) events;
        (void) !read(fd, &expirations, sizeof(expirations));
        s->timer_armed = 0;
        while (s->n_heap > 0 && s->heap[0]->deadline <= now) {
                struct grpc_call *call = s->heap[0];
                struct grpc_conn *conn = conn_ref(call->conn);

                heap_remove(s, call);
                call->n_ref++;
                /* finished, but the client has not read the status: give up on it */
                if (call->is_finished)
                        (void) nghttp2_submit_rst_stream(conn->session, NGHTTP2_FLAG_NONE,
                                                         call->stream_id, NGHTTP2_CANCEL);
                else
                        call_abort(call, RPC_DEADLINE_EXCEEDED, "deadline exceeded");
                conn_run(conn);
                (void) grpc_call_unref(call);
                (void) conn_unref(conn);
        }
        server_timer_update(s);
}

/* --- the server ---------------------------------------------------------------------------- */

static void opts_resolve(const struct grpc_server_opts *in, struct grpc_server_opts *out)
{
        *out = in ? *in : (struct grpc_server_opts){0};
        if (out->max_message_size == 0 || out->max_message_size > INT32_MAX)
                out->max_message_size = GRPC_MAX_MESSAGE;
        if (out->max_concurrent_streams == 0)
                out->max_concurrent_streams = GRPC_MAX_STREAMS;
        if (out->max_connections == 0)
                out->max_connections = GRPC_MAX_CONNECTIONS;
        if (out->max_header_list_size == 0)
                out->max_header_list_size = GRPC_MAX_HEADER_LIST;
}

static int server_nghttp2_setup(struct grpc_server *s)
{
        nghttp2_session_callbacks *cb;

        if (nghttp2_session_callbacks_new(&s->callbacks) < 0 || nghttp2_option_new(&s->option) < 0)
                return -ENOMEM;
        cb = s->callbacks;
        nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
        nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
        nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
        /* closed streams are kept only for the priority tree, which gRPC does not use */
        nghttp2_option_set_no_closed_streams(s->option, 1);
        return 0;
}

int grpc_server_new(struct evloop *loop, int listen_fd, const struct grpc_method *methods,
                    void *userdata, const struct grpc_server_opts *opts, struct grpc_server **ret)
{
        _cleanup_(grpc_server_freep) struct grpc_server *s = NULL;
        _cleanup_close_ int fd = listen_fd;
        int flags, r;

        assert(loop && methods);
        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        s = xnew0(struct grpc_server, 1);
        *s = (struct grpc_server){.loop = loop,
                                  .listen_fd = -EBADF,
                                  .timer_fd = -EBADF,
                                  .methods = methods,
                                  .userdata = userdata};
        opts_resolve(opts, &s->opts);
        s->rbuf = xmalloc(CONN_READ_CHUNK);
        r = server_nghttp2_setup(s);
        if (r < 0)
                return r;
        s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (s->timer_fd < 0)
                return -errno;
        r = evloop_add(loop, s->timer_fd, EPOLLIN, server_timer, s);
        if (r < 0) {
                s->timer_fd = safe_close(s->timer_fd);
                return r;
        }
        r = evloop_add(loop, fd, EPOLLIN, server_accept, s);
        if (r < 0)
                return r;
        s->listen_fd = TAKE_FD(fd);
        *ret = TAKE_PTR(s);
        return 0;
}

struct grpc_server *grpc_server_free(struct grpc_server *s)
{
        if (!s)
                return NULL;
        while (s->conns) {
                struct grpc_conn *conn = conn_ref(s->conns);

                /* GOAWAY, and what else the socket takes now (it may close the connection) */
                (void) nghttp2_session_terminate_session(conn->session, NGHTTP2_NO_ERROR);
                conn_run(conn);
                conn_close(conn, "server shut down");
                (void) conn_unref(conn);
        }
        if (s->listen_fd >= 0)
                (void) evloop_remove(s->loop, s->listen_fd);
        if (s->timer_fd >= 0)
                (void) evloop_remove(s->loop, s->timer_fd);
        s->listen_fd = safe_close(s->listen_fd);
        s->timer_fd = safe_close(s->timer_fd);
        nghttp2_session_callbacks_del(s->callbacks);
        nghttp2_option_del(s->option);
        free(s->heap);
        free(s->rbuf);
        free(s);
        return NULL;
}

size_t grpc_server_connections(const struct grpc_server *s)
{
        return s->n_conns;
}

size_t grpc_server_calls(const struct grpc_server *s)
{
        return s->n_calls;
}
