/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the shim's stdio (shim/io.c) and terminal relay (shim/relay.c), with real
 * FIFOs and pipes: what the runtime's fds write reaches the FIFO's reader, readers see end of
 * file once the process has exited, a full destination stops the relay without blocking, and
 * draining copies what is left.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/evloop.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "shim/io.h"
#include "shim/relay.h"
#include "tests/unit/unit.h"

struct fixture {
        char dir[64];
        char *in, *out, *err;
};

static int setup(void **state)
{
        struct fixture *f = xnew0(struct fixture, 1);

        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-io-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->in = xasprintf("%s/stdin", f->dir);
        f->out = xasprintf("%s/stdout", f->dir);
        f->err = xasprintf("%s/stderr", f->dir);
        assert_int_equal(mkfifo(f->in, 0600), 0);
        assert_int_equal(mkfifo(f->out, 0600), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        (void) rm_rf_at(AT_FDCWD, f->dir);
        free(f->in);
        free(f->out);
        free(f->err);
        free(f);
        return 0;
}

static void test_fifos_pass_through_and_end_at_exit(void **state)
{
        struct fixture *f = *state;
        struct stdio_paths paths = {f->in, f->out, f->err, false};
        _cleanup_(process_io_freep) struct process_io *io = NULL;
        _cleanup_close_ int reader = -EBADF;
        _cleanup_free_ char *text = NULL, *logged = NULL;
        const int *fds;
        size_t len;

        /* Opening never blocks, though no client has the FIFOs open. */
        assert_int_equal(process_io_open(&paths, &io, NULL), 0);
        fds = process_io_runtime_fds(io);
        assert_true(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
        assert_null(process_io_console_socket(io));
        reader = open(f->out, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(reader >= 0);
        assert_int_equal(write_all(fds[1], "hello\n", 6), 0);
        assert_int_equal(write_all(fds[2], "to file\n", 8), 0);
        assert_int_equal(process_io_runtime_done(io, NULL, NULL), 0);
        /* The shim's own end still holds the FIFO open: no end of file yet. */
        process_io_exited(io, 0);
        assert_int_equal(fcntl(reader, F_SETFL, 0), 0);
        assert_int_equal(read_fd_all(reader, 100, &text, &len), 0);
        assert_string_equal(text, "hello\n");
        assert_int_equal(read_file_at(AT_FDCWD, f->err, 100, &logged, &len), 0);
        assert_string_equal(logged, "to file\n");
}

static void test_empty_paths_mean_dev_null_and_schemes_are_checked(void **state)
{
        struct fixture *f = *state;
        struct stdio_paths none = {"", "", "", false};
        struct stdio_paths binary = {"", "binary:///usr/bin/logger?x=y", "", false};
        struct stdio_paths missing = {"", "/nonexistent/dir/fifo", "", false};
        _cleanup_(process_io_freep) struct process_io *io = NULL;
        struct process_io *untouched = NULL;
        struct errmsg err = {0};

        (void) f;
        assert_int_equal(process_io_open(&none, &io, NULL), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(process_io_runtime_fds(io)[i], -EBADF);
        assert_int_equal(process_io_resize(io, 80, 24), -ENOTTY);
        assert_int_equal(process_io_open(&binary, &untouched, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.msg, "binary://"));
        assert_int_equal(process_io_open(&missing, &untouched, &err), -ENOENT);
        assert_null(untouched);
}

static void test_terminal_gets_a_console_socket(void **state)
{
        struct fixture *f = *state;
        struct stdio_paths paths = {f->in, f->out, "", true};
        _cleanup_(process_io_freep) struct process_io *io = NULL;
        _cleanup_free_ char *dir = NULL;
        struct errmsg err = {0};
        struct stat st;

        assert_int_equal(process_io_open(&paths, &io, NULL), 0);
        assert_non_null(process_io_console_socket(io));
        assert_int_equal(stat(process_io_console_socket(io), &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        dir = xstrdup(process_io_console_socket(io));
        *strrchr(dir, '/') = '\0';
        /* A runtime that never connected: a clear error, and the socket is gone. */
        assert_int_equal(process_io_runtime_done(io, NULL, &err), -EPROTO);
        assert_non_null(strstr(err.msg, "console socket"));
        assert_int_equal(access(dir, F_OK), -1);
}

static void run_until(struct evloop *loop, struct relay *r, int rounds)
{
        for (int i = 0; i < rounds && !relay_is_done(r); i++)
                (void) evloop_step(loop, 10);
}

static void test_relay_copies_and_ends_at_eof(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        _cleanup_(relay_freep) struct relay *r = NULL;
        _cleanup_free_ char *text = NULL;
        int a[2], b[2];
        size_t len;

        (void) state;
        assert_int_equal(evloop_new(&loop), 0);
        assert_int_equal(pipe2(a, O_CLOEXEC), 0);
        assert_int_equal(pipe2(b, O_CLOEXEC), 0);
        assert_int_equal(relay_new(loop, a[0], b[1], &r), 0);
        assert_int_equal(write_all(a[1], "abc", 3), 0);
        (void) close(a[1]);
        run_until(loop, r, 100);
        assert_true(relay_is_done(r));
        assert_int_equal(read_fd_all(b[0], 100, &text, &len), 0);
        assert_string_equal(text, "abc");
        (void) close(b[0]);
}

static void test_relay_backpressure_loses_nothing(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        _cleanup_(relay_freep) struct relay *r = NULL;
        _cleanup_free_ char *chunk = xmalloc(65536);
        size_t total_in = 0, total_out = 0;
        char buf[65536];
        int a[2], b[2];
        ssize_t n;

        (void) state;
        memset(chunk, 'x', 65536);
        assert_int_equal(evloop_new(&loop), 0);
        assert_int_equal(pipe2(a, O_CLOEXEC | O_NONBLOCK), 0);
        assert_int_equal(pipe2(b, O_CLOEXEC | O_NONBLOCK), 0);
        assert_int_equal(relay_new(loop, a[0], b[1], &r), 0);
        /* Nobody reads b: both pipes and the relay's buffer fill, the loop never blocks. */
        for (int i = 0; i < 50; i++) {
                n = write(a[1], chunk, 65536);
                if (n > 0)
                        total_in += (size_t) n;
                (void) evloop_step(loop, 0);
        }
        assert_false(relay_is_done(r));
        (void) close(a[1]);
        for (int i = 0; i < 10000 && !relay_is_done(r); i++) {
                while ((n = read(b[0], buf, sizeof(buf))) > 0)
                        total_out += (size_t) n;
                (void) evloop_step(loop, 10);
        }
        while ((n = read(b[0], buf, sizeof(buf))) > 0)
                total_out += (size_t) n;
        assert_true(relay_is_done(r));
        assert_int_equal(total_out, total_in);
        (void) close(b[0]);
}

static void test_relay_drain_copies_what_is_left(void **state)
{
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        _cleanup_(relay_freep) struct relay *r = NULL;
        _cleanup_free_ char *text = NULL;
        int a[2], b[2];
        size_t len;

        (void) state;
        assert_int_equal(evloop_new(&loop), 0);
        assert_int_equal(pipe2(a, O_CLOEXEC), 0);
        assert_int_equal(pipe2(b, O_CLOEXEC), 0);
        assert_int_equal(relay_new(loop, a[0], b[1], &r), 0);
        /* The writer stays open (a process's orphaned child): drain stops when empty. */
        assert_int_equal(write_all(a[1], "last words", 10), 0);
        relay_drain(r, 100);
        assert_true(relay_is_done(r));
        assert_int_equal(read_fd_all(b[0], 100, &text, &len), 0);
        assert_string_equal(text, "last words");
        (void) close(a[1]);
        (void) close(b[0]);
}

static void test_file_uri_creates_dir_and_appends(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *uri = xasprintf("file://%s/log%%20dir/c.log?x=1", f->dir);
        _cleanup_free_ char *path = xasprintf("%s/log dir/c.log", f->dir);
        struct stdio_paths paths = {"", uri, uri, false};
        _cleanup_(process_io_freep) struct process_io *io = NULL;
        _cleanup_free_ char *text = NULL;
        const int *fds;
        struct stat st;
        mode_t mask;
        size_t len;

        assert_int_equal(process_io_open(&paths, &io, NULL), 0);
        fds = process_io_runtime_fds(io);
        assert_true(fds[0] < 0 && fds[1] >= 0 && fds[2] >= 0);
        assert_int_equal(write_all(fds[1], "out\n", 4), 0);
        assert_int_equal(write_all(fds[2], "err\n", 4), 0);
        assert_int_equal(write_all(fds[1], "out2\n", 5), 0);
        assert_int_equal(process_io_runtime_done(io, NULL, NULL), 0);
        process_io_exited(io, 0);
        assert_int_equal(read_file_at(AT_FDCWD, path, 100, &text, &len), 0);
        assert_string_equal(text, "out\nerr\nout2\n");
        assert_int_equal(stat(path, &st), 0);
        mask = umask(0);
        (void) umask(mask);
        assert_int_equal(st.st_mode & 0777, 0644 & ~mask);
}

static void test_file_uri_path(void **state)
{
        struct errmsg err = {0};
        char *path = (char *) "untouched";

        (void) state;
        assert_int_equal(stdio_file_uri_path("file:///a/b%2fc#frag", &path, NULL), 0);
        assert_string_equal(path, "/a/b/c");
        free(path);
        assert_int_equal(stdio_file_uri_path("file://host/var/log/x", &path, NULL), 0);
        assert_string_equal(path, "/var/log/x");
        free(path);
        path = (char *) "untouched";
        assert_int_equal(stdio_file_uri_path("file://relative", &path, &err), -EINVAL);
        assert_string_equal(err.msg, "stdio file://relative: no absolute path");
        assert_int_equal(stdio_file_uri_path("file:///a%2", &path, &err), -EINVAL);
        assert_int_equal(stdio_file_uri_path("file:///a%00b", &path, &err), -EINVAL);
        assert_string_equal(err.msg, "stdio file:///a%00b: bad escape");
        assert_string_equal(path, "untouched");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fifos_pass_through_and_end_at_exit, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_empty_paths_mean_dev_null_and_schemes_are_checked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_terminal_gets_a_console_socket, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_file_uri_creates_dir_and_appends, setup,
                                                teardown),
                cmocka_unit_test(test_file_uri_path),
                cmocka_unit_test(test_relay_copies_and_ends_at_eof),
                cmocka_unit_test(test_relay_backpressure_loses_nothing),
                cmocka_unit_test(test_relay_drain_copies_what_is_left),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
