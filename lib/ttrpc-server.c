/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ttrpc server (see ttrpc.h) on an evloop. Each connection assembles frames in a read
 * buffer and queues answers that the socket does not take at once, writing them on EPOLLOUT.
 * Answers mirror containerd/ttrpc v1.1's server (services.go, server.go): an undecodable
 * request or an even stream id gets INVALID_ARGUMENT on the same stream id, an unknown
 * service or method UNIMPLEMENTED "service S" / "method M". Frames that break the framing (an
 * oversize length, a type other than Request) close the connection: unlike the Go server we
 * do not skip 4 MiB nor ignore unknown types, as no peer of ours sends them.
 *
 * Lifetimes: connections and requests are refcounted. A connection lives while the server
 * holds it open, and while its own callback runs (a handler may close it, or even free the
 * server). A request points at its connection until that closes; then answers are dropped.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "log.h"
#include "ttrpc-internal.h"
#include "xalloc.h"

#define CONN_READ_CHUNK (64u << 10)
#define CONN_RBUF_MAX   (TTRPC_HEADER_SIZE + TTRPC_MAX_MESSAGE)

struct wbuf {
        struct wbuf *next;
        uint8_t *data;
        size_t size;
        size_t offset;
};

struct ttrpc_conn {
        unsigned n_ref;
        struct ttrpc_server *server; /* NULL once closed */
        int fd;
        uint32_t events; /* what the loop watches */
        uint8_t *rbuf;
        size_t rbuf_len;
        size_t rbuf_alloc;
        struct wbuf *wq_head;
        struct wbuf *wq_tail;
        size_t wq_size;
        bool has_input;                 /* whole frames wait in rbuf (reading was paused) */
        struct ttrpc_request *requests; /* alive requests of this connection */
        size_t n_pending;               /* of them, unanswered */
        struct ttrpc_conn *prev, *next; /* in server->conns */
};

struct ttrpc_request {
        unsigned n_ref;
        struct ttrpc_conn *conn; /* NULL once the connection closed */
        struct ttrpc_request *prev, *next;
        uint32_t stream_id;
        bool is_answered;
        struct ttrpc_request_msg *msg;
};

struct ttrpc_server {
        struct evloop *loop;
        int listen_fd;
        const struct ttrpc_method *methods;
        void *userdata;
        struct ttrpc_conn *conns;
        size_t n_conns;
};

const char *ttrpc_call_metadata(const struct ttrpc_call *call, const char *key)
{
        for (size_t i = 0; i < call->n_metadata; i++)
                if (STREQ_PTR(call->metadata[i].key, key))
                        return call->metadata[i].value;
        return NULL;
}

static bool conn_is_closed(const struct ttrpc_conn *conn)
{
        return !conn->server;
}

static void wbuf_free_all(struct ttrpc_conn *conn)
{
        while (conn->wq_head) {
                struct wbuf *w = conn->wq_head;

                conn->wq_head = w->next;
                free(w->data);
                free(w);
        }
        conn->wq_tail = NULL;
        conn->wq_size = 0;
}

static struct ttrpc_conn *conn_ref(struct ttrpc_conn *conn)
{
        conn->n_ref++;
        return conn;
}

static struct ttrpc_conn *conn_unref(struct ttrpc_conn *conn)
{
        if (!conn || --conn->n_ref > 0)
                return NULL;
        assert(conn_is_closed(conn));
        free(conn->rbuf);
        free(conn);
        return NULL;
}

/* Closes the socket, orphans the requests and drops the server's reference. */
static void conn_close(struct ttrpc_conn *conn, const char *why)
{
        struct ttrpc_server *s = conn->server;

        if (!s)
                return;
        log_debug("ttrpc: closing connection %d: %s", conn->fd, why);
        (void) evloop_remove(s->loop, conn->fd);
        conn->fd = safe_close(conn->fd);
        while (conn->requests) {
                struct ttrpc_request *req = conn->requests;

                conn->requests = req->next;
                req->conn = NULL;
                req->prev = req->next = NULL;
        }
        conn->n_pending = 0;
        wbuf_free_all(conn);
        if (conn->prev)
                conn->prev->next = conn->next;
        else
                s->conns = conn->next;
        if (conn->next)
                conn->next->prev = conn->prev;
        s->n_conns--;
        conn->server = NULL;
        (void) conn_unref(conn);
}

static bool conn_is_reading(const struct ttrpc_conn *conn)
{
        /* back-pressure on a client that sends but does not read its answers */
        return conn->wq_size < TTRPC_MAX_QUEUED;
}

/*
 * EPOLLIN unless paused; EPOLLOUT for queued answers, and also for frames left in the buffer
 * when reading resumed outside conn_io() (a deferred answer drained the queue): the writable
 * socket calls conn_io() back at once, which handles them.
 */
static void conn_update_events(struct ttrpc_conn *conn)
{
        bool is_reading = conn_is_reading(conn);
        uint32_t events = is_reading ? EPOLLIN : 0;
        int r;

        if (conn->wq_head || (is_reading && conn->has_input))
                events |= EPOLLOUT;
        if (conn_is_closed(conn) || events == conn->events)
                return;
        r = evloop_modify(conn->server->loop, conn->fd, events);
        if (r < 0) {
                conn_close(conn, "cannot watch socket");
                return;
        }
        conn->events = events;
}

/* Writes what the socket takes of the queue. -errno (connection closed) on failure. */
static int conn_flush(struct ttrpc_conn *conn)
{
        while (conn->wq_head) {
                struct wbuf *w = conn->wq_head;
                ssize_t n;

                n = send(conn->fd, w->data + w->offset, w->size - w->offset,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0) {
                        int r = -errno;

                        conn_close(conn, strerror(-r));
                        return r;
                }
                w->offset += (size_t) n;
                conn->wq_size -= (size_t) n;
                if (w->offset < w->size)
                        continue;
                conn->wq_head = w->next;
                if (!conn->wq_head)
                        conn->wq_tail = NULL;
                free(w->data);
                free(w);
        }
        conn_update_events(conn);
        return 0;
}

/* Queues a whole frame (taken over) and writes what the socket takes. */
static int conn_send(struct ttrpc_conn *conn, uint8_t *frame, size_t size)
{
        struct wbuf *w;

        if (conn_is_closed(conn)) {
                free(frame);
                return 0;
        }
        w = xnew0(struct wbuf, 1);
        *w = (struct wbuf){.data = frame, .size = size};
        if (conn->wq_tail)
                conn->wq_tail->next = w;
        else
                conn->wq_head = w;
        conn->wq_tail = w;
        conn->wq_size += size;
        return conn_flush(conn);
}

static int conn_send_status(struct ttrpc_conn *conn, uint32_t stream_id, enum rpc_code code,
                            const char *message, const uint8_t *payload, size_t len)
{
        uint8_t *frame;
        size_t size;
        int r;

        r = ttrpc_response_encode(stream_id, code, message, payload, len, &frame, &size);
        if (r == -EMSGSIZE)
                r = ttrpc_response_encode(stream_id, RPC_RESOURCE_EXHAUSTED,
                                          "response exceeds the maximum message size", NULL, 0,
                                          &frame, &size);
        if (r < 0)
                return r;
        return conn_send(conn, frame, size);
}

static struct ttrpc_request *request_new(struct ttrpc_conn *conn, uint32_t stream_id,
                                         struct ttrpc_request_msg *msg)
{
        struct ttrpc_request *req = xnew0(struct ttrpc_request, 1);

        *req = (struct ttrpc_request){.n_ref = 1, .conn = conn, .stream_id = stream_id, .msg = msg};
        req->next = conn->requests;
        if (conn->requests)
                conn->requests->prev = req;
        conn->requests = req;
        conn->n_pending++;
        return req;
}

static int request_answer(struct ttrpc_request *req, enum rpc_code code, const char *message,
                          const uint8_t *payload, size_t len)
{
        if (req->is_answered)
                return -EALREADY;
        req->is_answered = true;
        if (!req->conn)
                return 0;
        req->conn->n_pending--;
        return conn_send_status(req->conn, req->stream_id, code, message, payload, len);
}

int ttrpc_respond(struct ttrpc_request *req, const uint8_t *payload, size_t len)
{
        return request_answer(req, RPC_OK, NULL, payload, len);
}

int ttrpc_respond_error(struct ttrpc_request *req, enum rpc_code code, const char *message)
{
        if (code == RPC_OK || (unsigned) code >= _RPC_CODE_MAX)
                code = RPC_UNKNOWN;
        return request_answer(req, code, message, NULL, 0);
}

struct ttrpc_request *ttrpc_request_ref(struct ttrpc_request *req)
{
        req->n_ref++;
        return req;
}

struct ttrpc_request *ttrpc_request_unref(struct ttrpc_request *req)
{
        if (!req || --req->n_ref > 0)
                return NULL;
        /* a handler that neither answered nor kept the request: do not leave the client hanging */
        if (!req->is_answered)
                (void) request_answer(req, RPC_INTERNAL, "request dropped without an answer", NULL,
                                      0);
        if (req->conn) {
                if (req->prev)
                        req->prev->next = req->next;
                else
                        req->conn->requests = req->next;
                if (req->next)
                        req->next->prev = req->prev;
        }
        (void) ttrpc_request_msg_free(req->msg);
        free(req);
        return NULL;
}

bool ttrpc_request_is_orphaned(const struct ttrpc_request *req)
{
        return !req->conn;
}

static const struct ttrpc_method *server_find_method(const struct ttrpc_server *s,
                                                     const struct ttrpc_call *call,
                                                     bool *ret_has_service)
{
        *ret_has_service = false;
        for (const struct ttrpc_method *m = s->methods; m->service; m++) {
                if (!STREQ(m->service, call->service))
                        continue;
                *ret_has_service = true;
                if (STREQ(m->method, call->method))
                        return m;
        }
        return NULL;
}

/* Runs the handler for a decoded request (taken over). */
static void conn_dispatch(struct ttrpc_conn *conn, uint32_t stream_id,
                          struct ttrpc_request_msg *msg)
{
        struct ttrpc_server *s = conn->server;
        const struct ttrpc_method *m;
        struct ttrpc_request *req;
        struct errmsg err = {0};
        bool has_service;
        char what[512];
        int r;

        m = server_find_method(s, &msg->call, &has_service);
        if (!m) {
                /* the Go server's words (services.go resolve) */
                (void) snprintf(what, sizeof(what), "%s %s", has_service ? "method" : "service",
                                has_service ? msg->call.method : msg->call.service);
                (void) ttrpc_request_msg_free(msg);
                (void) conn_send_status(conn, stream_id, RPC_UNIMPLEMENTED, what, NULL, 0);
                return;
        }
        req = request_new(conn, stream_id, msg);
        r = m->fn(req, &req->msg->call, s->userdata, &err);
        if (r < 0 && !req->is_answered)
                (void) ttrpc_respond_error(req, rpc_code_from_errno(r),
                                           err.msg[0] ? err.msg : strerror(-r));
        else if (r < 0)
                log_debug("ttrpc: %s/%s failed after answering: %s", req->msg->call.service,
                          req->msg->call.method, err.msg[0] ? err.msg : strerror(-r));
        (void) ttrpc_request_unref(req);
}

static int conn_handle_frame(const struct ttrpc_frame *f, void *userdata)
{
        struct ttrpc_conn *conn = userdata;
        struct ttrpc_request_msg *msg = NULL;
        struct errmsg err = {0};
        char what[600];

        if (f->type != TTRPC_TYPE_REQUEST)
                return -EPROTO;
        if (ttrpc_request_msg_decode(f->payload, f->length, &msg, &err) < 0) {
                (void) snprintf(what, sizeof(what), "unmarshal request error: %s", err.msg);
                (void) conn_send_status(conn, f->stream_id, RPC_INVALID_ARGUMENT, what, NULL, 0);
        } else if (f->stream_id % 2 != 1) {
                (void) ttrpc_request_msg_free(msg);
                (void) conn_send_status(conn, f->stream_id, RPC_INVALID_ARGUMENT,
                                        "StreamID must be odd for client initiated streams", NULL,
                                        0);
        } else if (conn->n_pending >= TTRPC_MAX_PENDING) {
                (void) ttrpc_request_msg_free(msg);
                (void) conn_send_status(conn, f->stream_id, RPC_RESOURCE_EXHAUSTED,
                                        "too many requests in progress", NULL, 0);
        } else {
                conn_dispatch(conn, f->stream_id, msg);
        }
        /* stop when closed, or when the client must read answers before it may send more */
        return conn_is_closed(conn) || !conn_is_reading(conn) ? 1 : 0;
}

/* Handles the whole frames in the read buffer. */
static void conn_process(struct ttrpc_conn *conn)
{
        size_t consumed = 0;
        int r;

        r = ttrpc_parse_frames(conn->rbuf, conn->rbuf_len, conn_handle_frame, conn, &consumed);
        if (conn_is_closed(conn))
                return;
        if (r < 0) {
                conn_close(conn, r == -EMSGSIZE ? "frame exceeds the maximum message size"
                                                : "unexpected frame type");
                return;
        }
        if (consumed > 0) {
                memmove(conn->rbuf, conn->rbuf + consumed, conn->rbuf_len - consumed);
                conn->rbuf_len -= consumed;
        }
        conn->has_input = !conn_is_reading(conn) && conn->rbuf_len > 0;
        if (conn->rbuf_len == 0 && conn->rbuf_alloc > CONN_READ_CHUNK) {
                free(conn->rbuf);
                conn->rbuf = NULL;
                conn->rbuf_alloc = 0;
        }
}

/* Reads what the socket has (one chunk). */
static void conn_read(struct ttrpc_conn *conn)
{
        size_t want = MIN((size_t) CONN_READ_CHUNK, CONN_RBUF_MAX - conn->rbuf_len);
        ssize_t n;

        /* only a whole frame fills the buffer, and conn_process() took it */
        if (want == 0) {
                conn_process(conn);
                return;
        }
        conn->rbuf = xgrow(conn->rbuf, &conn->rbuf_alloc, conn->rbuf_len + want, 1);
        n = recv(conn->fd, conn->rbuf + conn->rbuf_len, want, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                conn_close(conn, n < 0                ? strerror(errno)
                                 : conn->rbuf_len > 0 ? "truncated frame"
                                                      : "end of stream");
                return;
        }
        conn->rbuf_len += (size_t) n;
        conn_process(conn);
}

static void conn_io(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct ttrpc_conn *conn = conn_ref(userdata);

        (void) loop;
        (void) fd;
        if (events & EPOLLERR)
                conn_close(conn, "socket error");
        if (!conn_is_closed(conn) && (events & EPOLLOUT))
                (void) conn_flush(conn);
        /* the queue drained below the limit: first the frames that wait in the buffer */
        if (!conn_is_closed(conn) && conn->has_input && conn_is_reading(conn))
                conn_process(conn);
        if (!conn_is_closed(conn) && conn_is_reading(conn) && (events & (EPOLLIN | EPOLLHUP)))
                conn_read(conn);
        else if (!conn_is_closed(conn) && (events & EPOLLHUP))
                conn_close(conn, "hang-up");
        if (!conn_is_closed(conn))
                conn_update_events(conn);
        (void) conn_unref(conn);
}

static void server_accept_one(struct ttrpc_server *s, int fd)
{
        struct ttrpc_conn *conn;
        int r;

        if (s->n_conns >= TTRPC_MAX_CONNECTIONS) {
                log_debug("ttrpc: %zu connections already, refusing another", s->n_conns);
                (void) safe_close(fd);
                return;
        }
        conn = xnew0(struct ttrpc_conn, 1);
        *conn = (struct ttrpc_conn){.n_ref = 1, .server = s, .fd = fd, .events = EPOLLIN};
        r = evloop_add(s->loop, fd, EPOLLIN, conn_io, conn);
        if (r < 0) {
                log_debug_errno(r, "ttrpc: watch connection");
                (void) safe_close(fd);
                free(conn);
                return;
        }
        conn->next = s->conns;
        if (s->conns)
                s->conns->prev = conn;
        s->conns = conn;
        s->n_conns++;
}

static void accept_one(void *userdata, int fd)
{
        server_accept_one(userdata, fd);
}

static void server_accept(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        (void) loop;
        (void) events;
        evloop_accept_batch(fd, accept_one, userdata, "ttrpc");
}

int ttrpc_server_new(struct evloop *loop, int listen_fd, const struct ttrpc_method *methods,
                     void *userdata, struct ttrpc_server **ret)
{
        _cleanup_close_ int fd = listen_fd;
        struct ttrpc_server *s;
        int flags, r;

        assert(loop && methods);
        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        s = xnew0(struct ttrpc_server, 1);
        *s = (struct ttrpc_server){
                .loop = loop, .listen_fd = -EBADF, .methods = methods, .userdata = userdata};
        r = evloop_add(loop, fd, EPOLLIN, server_accept, s);
        if (r < 0) {
                free(s);
                return r;
        }
        s->listen_fd = TAKE_FD(fd);
        *ret = s;
        return 0;
}

struct ttrpc_server *ttrpc_server_free(struct ttrpc_server *s)
{
        if (!s)
                return NULL;
        if (s->listen_fd >= 0)
                (void) evloop_remove(s->loop, s->listen_fd);
        s->listen_fd = safe_close(s->listen_fd);
        while (s->conns)
                conn_close(s->conns, "server shut down");
        free(s);
        return NULL;
}

size_t ttrpc_server_connections(const struct ttrpc_server *s)
{
        return s->n_conns;
}

int ttrpc_listen_unix(const char *path, int *ret_fd, struct errmsg *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (strlen(path) >= sizeof(sa.sun_path))
                return errmsg_set(err, -ENAMETOOLONG, "socket path %s: too long", path);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
                return errmsg_set(err, -EEXIST, "socket path %s: exists and is no socket", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return errmsg_set(err, -errno, "remove stale socket %s: %s", path, strerror(errno));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return errmsg_set(err, -errno, "socket: %s", strerror(errno));
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return errmsg_set(err, -errno, "bind %s: %s", path, strerror(errno));
        /* the owner only until the caller says otherwise; the peers are root daemons */
        if (chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
                int r = -errno;

                (void) unlink(path);
                return errmsg_set(err, r, "listen on %s: %s", path, strerror(-r));
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}
