/* SPDX-License-Identifier: Apache-2.0 */
/* Non-blocking byte relay between two fds (see relay.h). */
#include "shim/relay.h"

#include <fcntl.h>
#include <poll.h>
#include <time.h>

#include "lib/xalloc.h"

struct relay {
        struct evloop *loop;
        int src, dst;
        bool is_src_watched, is_dst_watched, is_done;
        size_t off, len;
        char buf[RELAY_BUF_SIZE];
};

static void relay_on_src(struct evloop *loop, int fd, uint32_t events, void *userdata);
static void relay_on_dst(struct evloop *loop, int fd, uint32_t events, void *userdata);

static int set_nonblock(int fd)
{
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

static void relay_watch(struct relay *r, bool src, bool dst)
{
        if (r->is_src_watched != src) {
                if (src)
                        r->is_src_watched =
                                evloop_add(r->loop, r->src, EPOLLIN, relay_on_src, r) >= 0;
                else
                        r->is_src_watched = evloop_remove(r->loop, r->src) < 0;
        }
        if (r->is_dst_watched != dst) {
                if (dst)
                        r->is_dst_watched =
                                evloop_add(r->loop, r->dst, EPOLLOUT, relay_on_dst, r) >= 0;
                else
                        r->is_dst_watched = evloop_remove(r->loop, r->dst) < 0;
        }
}

static void relay_finish(struct relay *r)
{
        if (r->is_done)
                return;
        relay_watch(r, false, false);
        r->src = safe_close(r->src);
        r->dst = safe_close(r->dst);
        r->is_done = true;
}

/* Writes what the buffer holds; returns -EAGAIN while dst is full, other errors end it. */
static int relay_flush(struct relay *r)
{
        while (r->off < r->len) {
                ssize_t n = write(r->dst, r->buf + r->off, r->len - r->off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                r->off += (size_t) n;
        }
        r->off = r->len = 0;
        return 0;
}

/* Reads once into the empty buffer: > 0 bytes, -EAGAIN, or 0/-errno at the end. */
static ssize_t relay_fill(struct relay *r)
{
        ssize_t n;

        do
                n = read(r->src, r->buf, sizeof(r->buf));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        r->off = 0;
        r->len = (size_t) n;
        return n;
}

static void relay_pump(struct relay *r)
{
        for (;;) {
                int k = relay_flush(r);
                ssize_t n;

                if (k == -EAGAIN) {
                        relay_watch(r, false, true);
                        return;
                }
                if (k < 0)
                        break;
                n = relay_fill(r);
                if (n == -EAGAIN) {
                        relay_watch(r, true, false);
                        return;
                }
                if (n <= 0)
                        break;
        }
        relay_finish(r);
}

static void relay_on_src(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        (void) loop, (void) fd, (void) events;
        relay_pump(userdata);
}

static void relay_on_dst(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        (void) loop, (void) fd, (void) events;
        relay_pump(userdata);
}

int relay_new(struct evloop *loop, int src, int dst, struct relay **ret)
{
        _cleanup_close_ int s = src, d = dst;
        struct relay *r;
        int k;

        k = set_nonblock(s);
        if (k >= 0)
                k = set_nonblock(d);
        if (k < 0)
                return k;
        r = xnew0(struct relay, 1);
        r->loop = loop;
        r->src = TAKE_FD(s);
        r->dst = TAKE_FD(d);
        k = evloop_add(loop, r->src, EPOLLIN, relay_on_src, r);
        if (k < 0) {
                relay_finish(r);
                free(r);
                return k;
        }
        r->is_src_watched = true;
        *ret = r;
        return 0;
}

struct relay *relay_free(struct relay *r)
{
        if (!r)
                return NULL;
        relay_finish(r);
        free(r);
        return NULL;
}

bool relay_is_done(const struct relay *r)
{
        return r->is_done;
}

static int64_t now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void relay_drain(struct relay *r, int timeout_ms)
{
        int64_t deadline = now_ms() + timeout_ms;

        while (!r->is_done) {
                int k = relay_flush(r);

                if (k == -EAGAIN) {
                        struct pollfd p = {.fd = r->dst, .events = POLLOUT};
                        int64_t left = deadline - now_ms();

                        if (left <= 0 || poll(&p, 1, (int) left) <= 0)
                                break;
                        continue;
                }
                if (k < 0 || relay_fill(r) <= 0)
                        break;
        }
        relay_finish(r);
}
