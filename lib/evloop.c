/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The epoll event loop (see evloop.h). Level-triggered, one entry per fd, found by fd in
 * an array. epoll hands back a batch of events whose data points at entries; a callback may
 * remove any fd, and may even close it and get the same number back from a new open(), while
 * later events of the batch still point at the old entry. So an entry removed during
 * dispatch is only marked and parked on a list, its stale events are skipped, and the list
 * is freed once the batch is done.
 */
#include "evloop.h"

#include <sys/socket.h>

#include "log.h"
#include "xalloc.h"

#define EVLOOP_BATCH 64

struct evloop_entry {
        int fd;
        evloop_io_fn fn;
        void *userdata;
        bool is_removed;
        struct evloop_entry *next_removed;
};

struct evloop {
        int epoll_fd;
        struct evloop_entry **entries; /* indexed by fd */
        size_t n_entries;              /* capacity of entries */
        struct evloop_entry *removed;  /* removed during dispatch, freed after the batch */
        bool is_dispatching;
        bool is_exiting;
        int exit_code;
};

int evloop_new(struct evloop **ret)
{
        struct evloop *loop;
        int fd;

        fd = epoll_create1(EPOLL_CLOEXEC);
        if (fd < 0)
                return -errno;
        loop = xnew0(struct evloop, 1);
        loop->epoll_fd = fd;
        *ret = loop;
        return 0;
}

static void free_removed(struct evloop *loop)
{
        while (loop->removed) {
                struct evloop_entry *e = loop->removed;

                loop->removed = e->next_removed;
                free(e);
        }
}

struct evloop *evloop_free(struct evloop *loop)
{
        if (!loop)
                return NULL;
        assert(!loop->is_dispatching);
        for (size_t i = 0; i < loop->n_entries; i++)
                free(loop->entries[i]);
        free(loop->entries);
        free_removed(loop);
        (void) safe_close(loop->epoll_fd);
        free(loop);
        return NULL;
}

static struct evloop_entry *entry_get(struct evloop *loop, int fd)
{
        if (fd < 0 || (size_t) fd >= loop->n_entries)
                return NULL;
        return loop->entries[fd];
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_io_fn fn, void *userdata)
{
        struct epoll_event ev = {.events = events};
        struct evloop_entry *e;

        assert(fn);
        if (fd < 0)
                return -EBADF;
        if (entry_get(loop, fd))
                return -EEXIST;
        e = xnew0(struct evloop_entry, 1);
        *e = (struct evloop_entry){.fd = fd, .fn = fn, .userdata = userdata};
        ev.data.ptr = e;
        if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = -errno;

                free(e);
                return r;
        }
        if ((size_t) fd >= loop->n_entries) {
                size_t old = loop->n_entries;

                loop->entries = xgrow(loop->entries, &loop->n_entries, (size_t) fd + 1,
                                      sizeof(*loop->entries));
                memset(loop->entries + old, 0, (loop->n_entries - old) * sizeof(*loop->entries));
        }
        loop->entries[fd] = e;
        return 0;
}

int evloop_modify(struct evloop *loop, int fd, uint32_t events)
{
        struct evloop_entry *e = entry_get(loop, fd);
        struct epoll_event ev = {.events = events};

        if (!e)
                return -ENOENT;
        ev.data.ptr = e;
        if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0)
                return -errno;
        return 0;
}

int evloop_remove(struct evloop *loop, int fd)
{
        struct evloop_entry *e = entry_get(loop, fd);

        if (!e)
                return -ENOENT;
        /* fails only if fd was closed already (then the kernel dropped it): nothing to undo */
        (void) epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        loop->entries[fd] = NULL;
        if (loop->is_dispatching) {
                e->is_removed = true;
                e->next_removed = loop->removed;
                loop->removed = e;
        } else {
                free(e);
        }
        return 0;
}

int evloop_step(struct evloop *loop, int timeout_ms)
{
        struct epoll_event events[EVLOOP_BATCH];
        bool was_exiting = loop->is_exiting;
        int n, n_dispatched = 0;

        assert(!loop->is_dispatching);
        n = epoll_wait(loop->epoll_fd, events, EVLOOP_BATCH, timeout_ms);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;

        loop->is_dispatching = true;
        for (int i = 0; i < n; i++) {
                struct evloop_entry *e = events[i].data.ptr;

                if (e->is_removed)
                        continue;
                e->fn(loop, e->fd, events[i].events, e->userdata);
                n_dispatched++;
                if (loop->is_exiting && !was_exiting)
                        break;
        }
        loop->is_dispatching = false;
        free_removed(loop);
        return n_dispatched;
}

int evloop_run(struct evloop *loop)
{
        int r;

        while (!loop->is_exiting) {
                r = evloop_step(loop, -1);
                if (r < 0)
                        return r;
        }
        /* ready for another run */
        loop->is_exiting = false;
        return loop->exit_code;
}

void evloop_exit(struct evloop *loop, int code)
{
        loop->is_exiting = true;
        loop->exit_code = code;
}

void evloop_accept_batch(int listen_fd, evloop_accept_fn fn, void *userdata, const char *what)
{
        for (int i = 0; i < 16; i++) {
                int cfd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

                if (cfd < 0 && (errno == EINTR || errno == ECONNABORTED))
                        continue;
                if (cfd < 0) {
                        if (errno != EAGAIN)
                                log_debug("%s: accept: %s", what, strerror(errno));
                        return;
                }
                fn(userdata, cfd);
        }
}
