/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/evloop.c: dispatch, the exit code, and fds added and removed (and their
 * numbers reused) by callbacks while a batch is being dispatched.
 */
#include <fcntl.h>

#include "lib/evloop.h"
#include "tests/unit/unit.h"

struct pipe_pair {
        int r, w;
};

static void pipe_open(struct pipe_pair *p)
{
        int fds[2];

        assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
        p->r = fds[0];
        p->w = fds[1];
}

static void pipe_close(struct pipe_pair *p)
{
        p->r = safe_close(p->r);
        p->w = safe_close(p->w);
}

struct counter {
        unsigned n_calls;
        int other_fd; /* removed and closed by the first callback that runs */
        int exit_code;
};

static void on_readable_exit(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct counter *c = userdata;
        char buf[16];

        assert_true(events & EPOLLIN);
        assert_true(read(fd, buf, sizeof(buf)) > 0);
        c->n_calls++;
        evloop_exit(loop, c->exit_code);
}

static void test_run_returns_exit_code(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        struct counter c = {.exit_code = 42};
        struct pipe_pair p;

        (void) state;
        pipe_open(&p);
        assert_int_equal(evloop_new(&loop), 0);
        assert_int_equal(evloop_add(loop, p.r, EPOLLIN, on_readable_exit, &c), 0);
        assert_int_equal(evloop_add(loop, p.r, EPOLLIN, on_readable_exit, &c), -EEXIST);
        assert_int_equal(write(p.w, "x", 1), 1);
        assert_int_equal(evloop_run(loop), 42);
        assert_int_equal(c.n_calls, 1);
        /* nothing ready: a step times out */
        assert_int_equal(evloop_step(loop, 10), 0);
        /* an exit asked before the run returns at once; then the loop runs again */
        evloop_exit(loop, 7);
        assert_int_equal(evloop_run(loop), 7);
        assert_int_equal(evloop_remove(loop, p.r), 0);
        assert_int_equal(evloop_remove(loop, p.r), -ENOENT);
        assert_int_equal(evloop_modify(loop, p.r, EPOLLIN), -ENOENT);
        pipe_close(&p);
}

static void on_readable_remove_other(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct counter *c = userdata;

        (void) events;
        c->n_calls++;
        assert_int_equal(evloop_remove(loop, fd), 0);
        if (c->other_fd >= 0) {
                assert_int_equal(evloop_remove(loop, c->other_fd), 0);
                c->other_fd = -EBADF;
        }
}

static void test_remove_other_fd_during_dispatch(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        struct counter c1 = {0}, c2 = {0};
        struct pipe_pair a, b;

        (void) state;
        pipe_open(&a);
        pipe_open(&b);
        assert_int_equal(evloop_new(&loop), 0);
        c1.other_fd = b.r;
        c2.other_fd = a.r;
        assert_int_equal(evloop_add(loop, a.r, EPOLLIN, on_readable_remove_other, &c1), 0);
        assert_int_equal(evloop_add(loop, b.r, EPOLLIN, on_readable_remove_other, &c2), 0);
        assert_int_equal(write(a.w, "x", 1), 1);
        assert_int_equal(write(b.w, "x", 1), 1);
        /* both are ready in one batch; whichever runs first removes the other */
        assert_int_equal(evloop_step(loop, 1000), 1);
        assert_int_equal(c1.n_calls + c2.n_calls, 1);
        assert_int_equal(evloop_step(loop, 10), 0);
        pipe_close(&a);
        pipe_close(&b);
}

struct reuse {
        int victim_fd;       /* closed by the first callback, its number reused */
        struct pipe_pair np; /* the pipe that got the number */
        unsigned n_stale;    /* calls of the victim's callback: must stay 0 */
        unsigned n_new;
};

static void on_victim(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct reuse *u = userdata;

        (void) loop;
        (void) fd;
        (void) events;
        u->n_stale++;
}

static void on_new(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct reuse *u = userdata;

        (void) loop;
        (void) fd;
        (void) events;
        u->n_new++;
}

static void on_closer(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct reuse *u = userdata;

        (void) events;
        assert_int_equal(evloop_remove(loop, fd), 0);
        if (u->victim_fd < 0)
                return;
        assert_int_equal(evloop_remove(loop, u->victim_fd), 0);
        (void) close(u->victim_fd);
        pipe_open(&u->np);
        /* the lowest free number: the victim's read end, most likely */
        assert_int_equal(evloop_add(loop, u->np.r, EPOLLIN, on_new, u), 0);
        u->victim_fd = -EBADF;
}

static void test_fd_number_reused_during_dispatch(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        struct pipe_pair closer, victim;
        struct reuse u = {0};

        (void) state;
        pipe_open(&closer);
        pipe_open(&victim);
        assert_int_equal(evloop_new(&loop), 0);
        u.victim_fd = victim.r;
        assert_int_equal(evloop_add(loop, closer.r, EPOLLIN, on_closer, &u), 0);
        assert_int_equal(evloop_add(loop, victim.r, EPOLLIN, on_victim, &u), 0);
        assert_int_equal(write(closer.w, "x", 1), 1);
        assert_int_equal(write(victim.w, "x", 1), 1);
        /*
         * epoll reports ready fds in the order they became ready, so the closer comes first
         * and the victim's event is stale; were it the other way round, the victim ran once
         * before the closer, which is fine too.
         */
        (void) evloop_step(loop, 1000);
        assert_int_equal(u.victim_fd, -EBADF);
        assert_int_equal(u.np.r, victim.r);
        assert_true(u.n_stale <= 1);
        /* the stale event did not reach the new pipe's callback */
        assert_int_equal(u.n_new, 0);
        assert_int_equal(evloop_step(loop, 10), 0);
        assert_int_equal(write(u.np.w, "y", 1), 1);
        assert_int_equal(evloop_step(loop, 1000), 1);
        assert_int_equal(u.n_new, 1);
        pipe_close(&u.np);
        (void) close(victim.w);
        pipe_close(&closer);
}

static void on_never(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        (void) loop;
        (void) fd;
        (void) events;
        (void) userdata;
        fail();
}

static void on_add_new(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct pipe_pair *p = userdata;

        (void) events;
        /* a callback adds another fd and changes its own events */
        assert_int_equal(evloop_add(loop, p->r, EPOLLIN, on_never, NULL), 0);
        assert_int_equal(evloop_modify(loop, fd, 0), 0);
}

static void test_add_during_dispatch(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        struct pipe_pair a, b;

        (void) state;
        pipe_open(&a);
        pipe_open(&b);
        assert_int_equal(evloop_new(&loop), 0);
        assert_int_equal(evloop_add(loop, a.r, EPOLLIN, on_add_new, &b), 0);
        assert_int_equal(write(a.w, "x", 1), 1);
        assert_int_equal(evloop_step(loop, 1000), 1);
        /* a.r is readable still but watched for nothing now; b.r is not readable yet */
        assert_int_equal(evloop_step(loop, 10), 0);
        assert_int_equal(evloop_remove(loop, b.r), 0);
        /* the loop is freed with a.r still registered */
        pipe_close(&a);
        pipe_close(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_run_returns_exit_code),
                cmocka_unit_test(test_remove_other_fd_during_dispatch),
                cmocka_unit_test(test_fd_number_reused_during_dispatch),
                cmocka_unit_test(test_add_during_dispatch),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
