/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The blocking ttrpc client (see ttrpc.h): one call at a time on a non-blocking socket,
 * with poll() bounding each call by its timeout. Stream ids go 1, 3, 5, … as with
 * containerd/ttrpc's client. The answer of a call that timed out may still come; it is read
 * and dropped by the next call (its stream id does not match). A call that could not send its
 * whole frame, or a peer that breaks the framing, leaves the client unusable (-ENOTCONN).
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "ttrpc-internal.h"
#include "xalloc.h"

#define CLIENT_RBUF_MAX (TTRPC_HEADER_SIZE + TTRPC_MAX_MESSAGE)

struct ttrpc_client {
        int fd;
        uint32_t next_stream_id;
        bool is_broken;
        uint8_t *rbuf;
        size_t rbuf_len;
        size_t rbuf_alloc;
};

int ttrpc_client_connect(const char *address, struct ttrpc_client **ret, struct errmsg *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        const char *path = address;
        struct ttrpc_client *c;

        if (strncmp(path, "unix://", STRLEN("unix://")) == 0)
                path += STRLEN("unix://");
        if (!path[0])
                return errmsg_set(err, -EINVAL, "ttrpc address %s: no socket path", address);
        if (strlen(path) >= sizeof(sa.sun_path))
                return errmsg_set(err, -ENAMETOOLONG, "ttrpc address %s: path too long", address);
        memcpy(sa.sun_path, path, strlen(path) + 1);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return errmsg_set(err, -errno, "socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return errmsg_set(err, -errno, "connect %s: %s", path, strerror(errno));
        /* the calls poll with their timeout, so neither send nor recv may block */
        if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
                return errmsg_set(err, -errno, "connect %s: %s", path, strerror(errno));

        c = xnew0(struct ttrpc_client, 1);
        c->fd = TAKE_FD(fd);
        c->next_stream_id = 1;
        *ret = c;
        return 0;
}

struct ttrpc_client *ttrpc_client_free(struct ttrpc_client *c)
{
        if (!c)
                return NULL;
        (void) safe_close(c->fd);
        free(c->rbuf);
        free(c);
        return NULL;
}

static int64_t now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on the socket until deadline_ms (-1: none): 0, or -ETIMEDOUT, -errno. */
static int client_wait(struct ttrpc_client *c, short events, int64_t deadline_ms)
{
        struct pollfd p = {.fd = c->fd, .events = events};
        int timeout = -1, n;

        if (deadline_ms >= 0)
                timeout = (int) MIN(MAX(deadline_ms - now_ms(), (int64_t) 0), (int64_t) INT32_MAX);
        n = poll(&p, 1, timeout);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        return n == 0 ? -ETIMEDOUT : 0;
}

static int client_send(struct ttrpc_client *c, const uint8_t *frame, size_t size,
                       int64_t deadline_ms)
{
        size_t done = 0;
        int r;

        while (done < size) {
                ssize_t n = send(c->fd, frame + done, size - done, MSG_NOSIGNAL);

                if (n >= 0) {
                        done += (size_t) n;
                        continue;
                }
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
                r = client_wait(c, POLLOUT, deadline_ms);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Reads what the socket has into the buffer: > 0, or -ECONNRESET at the end of stream. */
static int client_read(struct ttrpc_client *c, int64_t deadline_ms)
{
        size_t want = MIN((size_t) (64u << 10), CLIENT_RBUF_MAX - c->rbuf_len);
        ssize_t n;
        int r;

        for (;;) {
                c->rbuf = xgrow(c->rbuf, &c->rbuf_alloc, c->rbuf_len + want, 1);
                n = recv(c->fd, c->rbuf + c->rbuf_len, want, 0);
                if (n > 0) {
                        c->rbuf_len += (size_t) n;
                        return 1;
                }
                if (n == 0)
                        return -ECONNRESET;
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
                r = client_wait(c, POLLIN, deadline_ms);
                if (r < 0)
                        return r;
        }
}

struct client_match {
        uint32_t stream_id;
        uint8_t *payload; /* the matching response's, copied */
        size_t len;
        bool is_found;
};

static int client_match_frame(const struct ttrpc_frame *f, void *userdata)
{
        struct client_match *m = userdata;

        if (f->type != TTRPC_TYPE_RESPONSE)
                return -EPROTO;
        if (f->stream_id != m->stream_id)
                return 0; /* the late answer of a call that timed out */
        m->payload = xmalloc(MAX(f->length, 1u));
        memcpy(m->payload, f->payload, f->length);
        m->len = f->length;
        m->is_found = true;
        return 1;
}

/* Reads frames until the response on stream_id; its payload (a Response message) is copied. */
static int client_receive(struct ttrpc_client *c, uint32_t stream_id, int64_t deadline_ms,
                          uint8_t **ret_msg, size_t *ret_len)
{
        struct client_match m = {.stream_id = stream_id};
        int r;

        for (;;) {
                size_t consumed = 0;

                r = ttrpc_parse_frames(c->rbuf, c->rbuf_len, client_match_frame, &m, &consumed);
                if (consumed > 0) {
                        memmove(c->rbuf, c->rbuf + consumed, c->rbuf_len - consumed);
                        c->rbuf_len -= consumed;
                }
                if (r < 0)
                        return r;
                if (m.is_found) {
                        *ret_msg = m.payload;
                        *ret_len = m.len;
                        return 0;
                }
                r = client_read(c, deadline_ms);
                if (r < 0)
                        return r;
        }
}

static int client_error(struct ttrpc_client *c, int r, const struct ttrpc_call *call,
                        struct errmsg *err)
{
        const char *why = r == -ETIMEDOUT    ? "timed out"
                          : r == -ECONNRESET ? "connection closed by peer"
                          : r == -EMSGSIZE   ? "response exceeds the maximum message size"
                          : r == -EPROTO     ? "unexpected frame type"
                                             : strerror(-r);

        /* a timeout leaves the stream in sync only if the whole request went out */
        if (r != -ETIMEDOUT)
                c->is_broken = true;
        return errmsg_set(err, r, "ttrpc %s/%s: %s", call->service, call->method, why);
}

int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                      const struct ttrpc_metadata *metadata, size_t n_metadata,
                      const uint8_t *payload, size_t len, int timeout_ms, uint8_t **ret_payload,
                      size_t *ret_len, struct errmsg *err)
{
        const struct ttrpc_call call = {
                .service = service,
                .method = method,
                .payload = payload,
                .payload_len = payload ? len : 0,
                .timeout_nano = timeout_ms > 0 ? (int64_t) timeout_ms * 1000000 : 0,
                .metadata = metadata,
                .n_metadata = n_metadata,
        };
        int64_t deadline_ms = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
        _cleanup_free_ uint8_t *frame = NULL, *msg = NULL;
        uint32_t stream_id;
        size_t size, msg_len;
        int r;

        if (c->is_broken)
                return errmsg_set(err, -ENOTCONN,
                                  "ttrpc %s/%s: connection unusable after an earlier error",
                                  service, method);
        stream_id = c->next_stream_id;
        /* odd ids, wrapping as uint32 like the Go client */
        c->next_stream_id += 2;
        r = ttrpc_request_encode(stream_id, &call, &frame, &size);
        if (r < 0)
                return errmsg_set(err, r, "ttrpc %s/%s: %s", service, method,
                                  r == -EMSGSIZE ? "request exceeds the maximum message size"
                                                 : "too many metadata pairs");
        r = client_send(c, frame, size, deadline_ms);
        if (r < 0) {
                c->is_broken = true; /* part of the frame may have gone out */
                return client_error(c, r, &call, err);
        }
        r = client_receive(c, stream_id, deadline_ms, &msg, &msg_len);
        if (r < 0)
                return client_error(c, r, &call, err);
        return ttrpc_response_parse(msg, msg_len, ret_payload, ret_len, err);
}
