/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The blocking gRPC client (see grpc.h): one nghttp2 client session on a non-blocking unix
 * socket, pumped with poll() by whichever call waits, so that several streams can be open
 * at once and answers for one are kept while another is read. Memory stays bounded without
 * the caller reading: the connection window is given back at once, a stream's only while it
 * holds less than GRPC_CALL_MAX_QUEUED bytes of whole messages, so a server that streams
 * faster than we read is held back by HTTP/2 flow control. Request messages go through a
 * data provider that reads the stream's send queue, as on the server.
 *
 * A local deadline is the grpc-timeout sent plus a grace of CLIENT_DEADLINE_GRACE_MS: the
 * server ends the call with DEADLINE_EXCEEDED itself, and we would rather report its status
 * than a guess. After it, or when the stream is freed early, the stream is reset with CANCEL.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "fs.h"
#include "grpc-internal.h"
#include "xalloc.h"

#define CLIENT_READ_CHUNK        (64u << 10)
#define CLIENT_STREAM_WINDOW     (1 << 20)
#define CLIENT_WINDOW            (16 << 20)
#define CLIENT_DEADLINE_GRACE_MS 500

struct cbuf {
        struct cbuf *next;
        uint8_t *data;
        size_t size;
        size_t offset;
};

struct grpc_client {
        int fd;
        nghttp2_session *session;
        int broken; /* 0, or the -errno every later call gets (-ENOTCONN) */
        uint8_t *wbuf;
        size_t wbuf_len;
        size_t wbuf_off;
        size_t wbuf_alloc;
        uint8_t *rbuf;
        struct grpc_client_stream *streams;
};

struct grpc_client_stream {
        struct grpc_client *client; /* NULL once the client is freed */
        struct grpc_client_stream *prev, *next;
        int32_t stream_id;
        int64_t deadline_ms;          /* CLOCK_MONOTONIC; -1: none */
        struct cbuf *s_head, *s_tail; /* to send */
        size_t s_queued;
        bool is_send_closed;
        bool is_deferred;
        struct grpc_reader reader;
        struct cbuf *r_head, *r_tail; /* received whole messages */
        size_t r_queued;
        size_t unconsumed; /* bytes not yet given back to the stream window */
        int http_status;
        int status; /* grpc-status, -ENODATA while unknown */
        char *message;
        bool is_closed;
        struct errmsg failure; /* a local failure, given to every later call */
};

static int64_t now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cbuf_free_all(struct cbuf **head, struct cbuf **tail)
{
        while (*head) {
                struct cbuf *b = *head;

                *head = b->next;
                free(b->data);
                free(b);
        }
        *tail = NULL;
}

static void cbuf_append(struct cbuf **head, struct cbuf **tail, uint8_t *data, size_t size)
{
        struct cbuf *b = xnew0(struct cbuf, 1);

        *b = (struct cbuf){.data = data, .size = size};
        if (*tail)
                (*tail)->next = b;
        else
                *head = b;
        *tail = b;
}

/* Records a local failure of the stream (the first one wins). */
static void stream_fail(struct grpc_client_stream *st, int r, const char *fmt, ...) _printf_(3, 4);
static void stream_fail(struct grpc_client_stream *st, int r, const char *fmt, ...)
{
        va_list ap;

        if (st->failure.code < 0)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(st->failure.msg, sizeof(st->failure.msg), fmt, ap);
        va_end(ap);
        st->failure.code = r;
}

/* The transport is gone: every open stream fails with r, later calls with -ENOTCONN. */
static int client_break(struct grpc_client *c, int r, const char *why)
{
        if (c->broken)
                return c->broken;
        c->broken = -ENOTCONN;
        for (struct grpc_client_stream *st = c->streams; st; st = st->next)
                if (!st->is_closed)
                        stream_fail(st, r, "grpc connection: %s", why);
        return r;
}

static struct grpc_client_stream *stream_of(struct grpc_client *c, int32_t stream_id)
{
        return nghttp2_session_get_stream_user_data(c->session, stream_id);
}

/* --- nghttp2 callbacks --------------------------------------------------------------------- */

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
        struct grpc_client_stream *st = stream_of(user_data, frame->hd.stream_id);
        _cleanup_free_ char *v = NULL;
        uint64_t n;

        (void) session;
        (void) flags;
        if (!st || frame->hd.type != NGHTTP2_HEADERS)
                return 0;
        v = xstrndup((const char *) value, valuelen);
        if (namelen == 7 && memcmp(name, ":status", 7) == 0 && parse_uint64(v, &n) == 0)
                st->http_status = (int) MIN(n, (uint64_t) 999);
        else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0 && parse_uint64(v, &n) == 0)
                st->status = (int) MIN(n, (uint64_t) INT32_MAX);
        else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
                free(st->message);
                st->message = grpc_percent_decode(v, valuelen);
        }
        return 0;
}

static int stream_on_message(const uint8_t *msg, size_t len, void *userdata)
{
        struct grpc_client_stream *st = userdata;
        uint8_t *copy = xmalloc(len + 1);

        memcpy(copy, msg, len);
        copy[len] = 0;
        cbuf_append(&st->r_head, &st->r_tail, copy, len);
        st->r_queued += len;
        return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
        struct grpc_client_stream *st = stream_of(user_data, stream_id);
        struct errmsg err = {0};

        (void) flags;
        /* the connection window goes back at once, so that one stream cannot block others */
        (void) nghttp2_session_consume_connection(session, len);
        if (!st || st->failure.code < 0)
                return 0;
        if (st->r_queued < GRPC_CALL_MAX_QUEUED)
                (void) nghttp2_session_consume_stream(session, stream_id, len);
        else
                st->unconsumed += len;
        if (grpc_reader_feed(&st->reader, data, len, stream_on_message, st, &err) < 0) {
                stream_fail(st, err.code == -EMSGSIZE ? -EMSGSIZE : -EBADMSG, "%s", err.msg);
                (void) nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id,
                                                 NGHTTP2_CANCEL);
        }
        return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
        struct grpc_client_stream *st = stream_of(user_data, stream_id);

        (void) session;
        if (!st)
                return 0;
        st->is_closed = true;
        if (st->status >= 0)
                return 0;
        /* no grpc-status: synthesize one, as PROTOCOL-HTTP2.md asks */
        free(st->message);
        if (error_code != NGHTTP2_NO_ERROR) {
                st->status = grpc_code_from_rst_stream(error_code);
                st->message = xasprintf("stream reset by the server (HTTP/2 error %" PRIu32 ")",
                                        error_code);
        } else if (st->http_status != 200) {
                st->status = grpc_code_from_http_status(st->http_status);
                st->message = xasprintf("unexpected HTTP status code %d", st->http_status);
        } else {
                st->status = RPC_INTERNAL;
                st->message = xstrdup("server closed the stream without sending trailers");
        }
        return 0;
}

static ssize_t stream_read_data(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                                size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                                void *user_data)
{
        struct grpc_client_stream *st = source->ptr;
        size_t n = 0;

        (void) session;
        (void) stream_id;
        (void) user_data;
        if (!st) {
                *data_flags |= NGHTTP2_DATA_FLAG_EOF;
                return 0;
        }
        while (n < length && st->s_head) {
                struct cbuf *b = st->s_head;
                size_t k = MIN(length - n, b->size - b->offset);

                memcpy(buf + n, b->data + b->offset, k);
                n += k;
                b->offset += k;
                if (b->offset < b->size)
                        continue;
                st->s_head = b->next;
                if (!st->s_head)
                        st->s_tail = NULL;
                free(b->data);
                free(b);
        }
        st->s_queued -= n;
        if (!st->s_head && st->is_send_closed)
                *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        else if (n == 0) {
                st->is_deferred = true;
                return NGHTTP2_ERR_DEFERRED;
        }
        return (ssize_t) n;
}

/* --- the socket ------------------------------------------------------------------------------ */

/* Writes what nghttp2 has until the socket is full (the rest waits in wbuf). */
static int client_flush(struct grpc_client *c)
{
        for (;;) {
                const uint8_t *data;
                ssize_t n;

                while (c->wbuf_off < c->wbuf_len) {
                        n = send(c->fd, c->wbuf + c->wbuf_off, c->wbuf_len - c->wbuf_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 && errno == EAGAIN)
                                return 0;
                        if (n < 0)
                                return client_break(c, -errno, strerror(errno));
                        c->wbuf_off += (size_t) n;
                }
                c->wbuf_off = c->wbuf_len = 0;
                n = nghttp2_session_mem_send(c->session, &data);
                if (n < 0)
                        return client_break(c, -EPROTO, nghttp2_strerror((int) n));
                if (n == 0)
                        return 0;
                c->wbuf = xgrow(c->wbuf, &c->wbuf_alloc, (size_t) n, 1);
                memcpy(c->wbuf, data, (size_t) n);
                c->wbuf_len = (size_t) n;
        }
}

static int client_read(struct grpc_client *c)
{
        ssize_t n = recv(c->fd, c->rbuf, CLIENT_READ_CHUNK, MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n < 0)
                return client_break(c, -errno, strerror(errno));
        if (n == 0)
                return client_break(c, -ECONNRESET, "closed by the server");
        n = nghttp2_session_mem_recv(c->session, c->rbuf, (size_t) n);
        if (n < 0)
                return client_break(c, -EPROTO, nghttp2_strerror((int) n));
        return 0;
}

/*
 * Moves bytes both ways once, waiting at most until deadline_ms (-1: forever): 0, or
 * -ETIMEDOUT, or the transport's failure.
 */
static int client_pump(struct grpc_client *c, int64_t deadline_ms)
{
        struct pollfd p = {.fd = c->fd};
        int timeout = -1, n, r;

        if (c->broken)
                return c->broken;
        r = client_flush(c);
        if (r < 0)
                return r;
        p.events = (short) (POLLIN | (c->wbuf_len > c->wbuf_off ? POLLOUT : 0));
        if (deadline_ms >= 0)
                timeout = (int) MIN(MAX(deadline_ms - now_ms(), (int64_t) 0), (int64_t) INT32_MAX);
        n = poll(&p, 1, timeout);
        if (n < 0 && errno != EINTR)
                return client_break(c, -errno, strerror(errno));
        if (n == 0)
                return -ETIMEDOUT;
        if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
                r = client_read(c);
                if (r < 0)
                        return r;
        }
        return client_flush(c);
}

/* --- the client ------------------------------------------------------------------------------ */

static int client_session_new(struct grpc_client *c)
{
        const nghttp2_settings_entry iv[] = {
                {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, CLIENT_STREAM_WINDOW},
                {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, GRPC_MAX_HEADER_LIST},
        };
        nghttp2_session_callbacks *cb = NULL;
        nghttp2_option *opt = NULL;
        int r;

        if (nghttp2_session_callbacks_new(&cb) < 0 || nghttp2_option_new(&opt) < 0) {
                nghttp2_session_callbacks_del(cb);
                return -ENOMEM;
        }
        nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
        /* windows go back as the caller takes messages (see the top of this file) */
        nghttp2_option_set_no_auto_window_update(opt, 1);
        r = nghttp2_session_client_new2(&c->session, cb, c, opt);
        nghttp2_session_callbacks_del(cb);
        nghttp2_option_del(opt);
        if (r < 0)
                return -ENOMEM;
        r = nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, ELEMENTSOF(iv));
        if (r == 0)
                r = nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
                                                          CLIENT_WINDOW);
        return r < 0 ? -EIO : 0;
}

int grpc_client_connect(const char *address, struct grpc_client **ret, struct errmsg *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_(grpc_client_freep) struct grpc_client *c = NULL;
        const char *path = address;
        int r;

        if (strncmp(path, "unix://", STRLEN("unix://")) == 0)
                path += STRLEN("unix://");
        if (!path[0])
                return errmsg_set(err, -EINVAL, "grpc address %s: no socket path", address);
        if (strlen(path) >= sizeof(sa.sun_path))
                return errmsg_set(err, -ENAMETOOLONG, "grpc address %s: path too long", address);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        c = xnew0(struct grpc_client, 1);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return errmsg_set(err, -errno, "socket: %s", strerror(errno));
        if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return errmsg_set(err, -errno, "connect %s: %s", path, strerror(errno));
        if (fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0)
                return errmsg_set(err, -errno, "connect %s: %s", path, strerror(errno));
        c->rbuf = xmalloc(CLIENT_READ_CHUNK);
        r = client_session_new(c);
        if (r < 0)
                return errmsg_set(err, r, "grpc session: %s", strerror(-r));
        /* the preface and our SETTINGS, as far as the socket takes them now */
        r = client_flush(c);
        if (r < 0)
                return errmsg_set(err, r, "connect %s: %s", path, strerror(-r));
        *ret = TAKE_PTR(c);
        return 0;
}

struct grpc_client *grpc_client_free(struct grpc_client *c)
{
        if (!c)
                return NULL;
        for (struct grpc_client_stream *st = c->streams; st; st = st->next) {
                stream_fail(st, -ENOTCONN, "grpc client closed");
                st->client = NULL;
        }
        nghttp2_session_del(c->session);
        (void) safe_close(c->fd);
        free(c->wbuf);
        free(c->rbuf);
        free(c);
        return NULL;
}

/* --- streams ------------------------------------------------------------------------------ */

static int metadata_check(const struct grpc_metadata *md, size_t n, struct errmsg *err)
{
        for (size_t i = 0; i < n; i++) {
                const char *k = md[i].key;

                if (!k[0] || k[0] == ':' || strpbrk(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ \t\r\n"))
                        return errmsg_set(err, -EINVAL, "grpc metadata key \"%s\": invalid", k);
                if (strpbrk(md[i].value, "\r\n"))
                        return errmsg_set(err, -EINVAL, "grpc metadata %s: invalid value", k);
        }
        return 0;
}

static nghttp2_nv nv_make(const char *name, const char *value)
{
        return (nghttp2_nv){(uint8_t *) name, (uint8_t *) value, strlen(name), strlen(value),
                            NGHTTP2_NV_FLAG_NONE};
}

static int stream_submit(struct grpc_client *c, struct grpc_client_stream *st, const char *path,
                         const struct grpc_metadata *md, size_t n_md, int timeout_ms)
{
        _cleanup_free_ nghttp2_nv *nva = xnew0(nghttp2_nv, n_md + 8);
        nghttp2_data_provider prd = {.source.ptr = st, .read_callback = stream_read_data};
        static const char *const fixed[][2] = {
                {":method", "POST"},         {":scheme", "http"},
                {":authority", "localhost"}, {"content-type", "application/grpc"},
                {"te", "trailers"},          {"user-agent", "grpc-c-berth/0.1"},
        };
        char timeout[GRPC_TIMEOUT_MAX];
        size_t n = 0;

        nva[n++] = nv_make(":path", path);
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                nva[n++] = nv_make(fixed[i][0], fixed[i][1]);
        if (timeout_ms > 0) {
                grpc_timeout_format((uint64_t) timeout_ms, timeout);
                nva[n++] = nv_make("grpc-timeout", timeout);
        }
        for (size_t i = 0; i < n_md; i++)
                nva[n++] = nv_make(md[i].key, md[i].value);
        st->stream_id = nghttp2_submit_request(c->session, NULL, nva, n, &prd, st);
        return st->stream_id < 0 ? -EIO : 0;
}

int grpc_client_stream_open(struct grpc_client *c, const char *path,
                            const struct grpc_metadata *metadata, size_t n_metadata, int timeout_ms,
                            struct grpc_client_stream **ret, struct errmsg *err)
{
        struct grpc_client_stream *st;
        int r;

        if (c->broken)
                return errmsg_set(err, c->broken, "grpc connection: broken");
        r = metadata_check(metadata, n_metadata, err);
        if (r < 0)
                return r;
        st = xnew0(struct grpc_client_stream, 1);
        *st = (struct grpc_client_stream){.client = c, .status = -ENODATA, .deadline_ms = -1};
        grpc_reader_init(&st->reader, GRPC_MAX_MESSAGE);
        if (timeout_ms > 0)
                st->deadline_ms = now_ms() + timeout_ms + CLIENT_DEADLINE_GRACE_MS;
        r = stream_submit(c, st, path, metadata, n_metadata, timeout_ms);
        if (r < 0) {
                free(st);
                return errmsg_set(err, r, "grpc %s: cannot start a stream", path);
        }
        st->next = c->streams;
        if (c->streams)
                c->streams->prev = st;
        c->streams = st;
        (void) client_flush(c);
        *ret = st;
        return 0;
}

/* Gives the stream window back for what the caller took, once below the limit again. */
static void stream_consume(struct grpc_client_stream *st)
{
        if (!st->client || st->unconsumed == 0 || st->r_queued >= GRPC_CALL_MAX_QUEUED)
                return;
        (void) nghttp2_session_consume_stream(st->client->session, st->stream_id, st->unconsumed);
        st->unconsumed = 0;
}

/* Resets the stream after a local failure or deadline. */
static void stream_cancel(struct grpc_client_stream *st)
{
        if (!st->client || st->is_closed)
                return;
        (void) nghttp2_submit_rst_stream(st->client->session, NGHTTP2_FLAG_NONE, st->stream_id,
                                         NGHTTP2_CANCEL);
        (void) nghttp2_session_set_stream_user_data(st->client->session, st->stream_id, NULL);
        st->is_closed = true;
        (void) client_flush(st->client);
}

/* Waits once for progress; fails the stream at its deadline. */
static int stream_wait(struct grpc_client_stream *st)
{
        int r;

        if (!st->client)
                return -ENOTCONN;
        r = client_pump(st->client, st->deadline_ms);
        if (r == -ETIMEDOUT) {
                stream_fail(st, -ETIMEDOUT, "grpc: deadline exceeded");
                stream_cancel(st);
        }
        return r;
}

static int stream_resume(struct grpc_client_stream *st)
{
        if (!st->is_deferred)
                return 0;
        st->is_deferred = false;
        return nghttp2_session_resume_data(st->client->session, st->stream_id) < 0 ? -EIO : 0;
}

/* Queues a message without sending it yet. */
static int stream_queue(struct grpc_client_stream *st, const uint8_t *msg, size_t len,
                        struct errmsg *err)
{
        if (st->failure.code < 0)
                return errmsg_set(err, st->failure.code, "%s", st->failure.msg);
        if (!st->client || st->is_closed)
                return errmsg_set(err, -ENOTCONN, "grpc stream: closed");
        if (st->is_send_closed)
                return errmsg_set(err, -EALREADY, "grpc stream: send side closed");
        if (len > GRPC_MAX_MESSAGE)
                return errmsg_set(err, -EMSGSIZE,
                                  "grpc: trying to send message larger than max (%zu vs. %u)", len,
                                  GRPC_MAX_MESSAGE);
        cbuf_append(&st->s_head, &st->s_tail, grpc_message_frame(msg, len), GRPC_PREFIX_SIZE + len);
        st->s_queued += GRPC_PREFIX_SIZE + len;
        if (stream_resume(st) < 0)
                return errmsg_set(err, -EIO, "grpc stream: cannot send");
        return 0;
}

int grpc_client_stream_send(struct grpc_client_stream *st, const uint8_t *msg, size_t len,
                            struct errmsg *err)
{
        int r = stream_queue(st, msg, len, err);

        if (r < 0)
                return r;
        while (st->s_queued > GRPC_CALL_MAX_QUEUED && st->failure.code == 0 && !st->is_closed)
                (void) stream_wait(st);
        if (st->failure.code < 0)
                return errmsg_set(err, st->failure.code, "%s", st->failure.msg);
        if (st->client)
                (void) client_flush(st->client);
        return 0;
}

int grpc_client_stream_close_send(struct grpc_client_stream *st, struct errmsg *err)
{
        if (st->failure.code < 0)
                return errmsg_set(err, st->failure.code, "%s", st->failure.msg);
        if (!st->client)
                return errmsg_set(err, -ENOTCONN, "grpc stream: closed");
        if (st->is_send_closed || st->is_closed)
                return 0;
        st->is_send_closed = true;
        if (stream_resume(st) < 0)
                return errmsg_set(err, -EIO, "grpc stream: cannot send");
        (void) client_flush(st->client);
        return 0;
}

/* The outcome of a stream that ended: 0 for OK, or the status as an errno. */
static int stream_status(struct grpc_client_stream *st, struct errmsg *err)
{
        if (st->status == RPC_OK)
                return 0;
        return errmsg_set(err, rpc_code_to_errno((enum rpc_code) st->status), "%s",
                          st->message ? st->message : "");
}

int grpc_client_stream_recv(struct grpc_client_stream *st, uint8_t **ret_msg, size_t *ret_len,
                            struct errmsg *err)
{
        int r;

        for (;;) {
                struct cbuf *b = st->r_head;

                if (b) {
                        st->r_head = b->next;
                        if (!st->r_head)
                                st->r_tail = NULL;
                        st->r_queued -= b->size;
                        stream_consume(st);
                        *ret_msg = b->data;
                        *ret_len = b->size;
                        free(b);
                        return 1;
                }
                if (st->failure.code < 0)
                        return errmsg_set(err, st->failure.code, "%s", st->failure.msg);
                if (st->is_closed && st->status >= 0)
                        return stream_status(st, err);
                if (!st->client)
                        return errmsg_set(err, -ENOTCONN, "grpc stream: closed");
                r = stream_wait(st);
                if (r < 0 && st->failure.code == 0)
                        stream_fail(st, r, "grpc stream: %s", strerror(-r));
        }
}

int grpc_client_stream_status(const struct grpc_client_stream *st)
{
        return st->is_closed && st->status >= 0 ? st->status : -ENODATA;
}

struct grpc_client_stream *grpc_client_stream_free(struct grpc_client_stream *st)
{
        struct grpc_client *c;

        if (!st)
                return NULL;
        c = st->client;
        if (c) {
                stream_cancel(st);
                /* nghttp2 may still ask the data provider: it finds no stream */
                (void) nghttp2_session_set_stream_user_data(c->session, st->stream_id, NULL);
                if (st->prev)
                        st->prev->next = st->next;
                else
                        c->streams = st->next;
                if (st->next)
                        st->next->prev = st->prev;
        }
        cbuf_free_all(&st->s_head, &st->s_tail);
        cbuf_free_all(&st->r_head, &st->r_tail);
        grpc_reader_release(&st->reader);
        free(st->message);
        free(st);
        return NULL;
}

int grpc_client_call(struct grpc_client *c, const char *path, const struct grpc_metadata *metadata,
                     size_t n_metadata, const uint8_t *msg, size_t len, int timeout_ms,
                     uint8_t **ret_msg, size_t *ret_len, struct errmsg *err)
{
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        _cleanup_free_ uint8_t *answer = NULL, *extra = NULL;
        size_t answer_len = 0, extra_len = 0;
        int r;

        r = grpc_client_stream_open(c, path, metadata, n_metadata, timeout_ms, &st, err);
        if (r < 0)
                return r;
        /* queued, then half-closed: END_STREAM goes with the message, as grpc-go sends it */
        r = stream_queue(st, msg, len, err);
        if (r >= 0)
                r = grpc_client_stream_close_send(st, err);
        if (r >= 0)
                r = grpc_client_stream_recv(st, &answer, &answer_len, err);
        if (r == 0)
                return errmsg_set(err, -EBADMSG, "grpc %s: OK status without a message", path);
        if (r < 0)
                return r;
        r = grpc_client_stream_recv(st, &extra, &extra_len, err);
        if (r > 0)
                return errmsg_set(err, -EBADMSG, "grpc %s: more than one answer message", path);
        if (r < 0)
                return r;
        *ret_msg = TAKE_PTR(answer);
        *ret_len = answer_len;
        return 0;
}
