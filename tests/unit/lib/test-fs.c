/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/fs.c, lib/errmsg.c and lib/log.c helpers. */
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/errmsg.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

static void test_write_then_read_round_trips(void **state)
{
        char path[] = "/tmp/berth-test-fs-XXXXXX";
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        (void) state;
        assert_non_null(mkdtemp(path));
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(write_file_atomic_at(dfd, "f", "hello", 5, 0600), 0);
        assert_int_equal(read_file_at(dfd, "f", 100, &text, &len), 0);
        assert_int_equal(len, 5);
        assert_string_equal(text, "hello");
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
        assert_int_equal(access(path, F_OK), -1);
}

static void test_read_rejects_oversize_and_leaves_ret_untouched(void **state)
{
        char path[] = "/tmp/berth-test-fs-XXXXXX";
        _cleanup_close_ int dfd = -EBADF;
        char *text = (char *) "untouched";

        (void) state;
        assert_non_null(mkdtemp(path));
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(write_file_atomic_at(dfd, "f", "0123456789", 10, 0600), 0);
        assert_int_equal(read_file_at(dfd, "f", 4, &text, NULL), -EFBIG);
        assert_string_equal(text, "untouched");
        assert_int_equal(read_file_at(dfd, "missing", 4, &text, NULL), -ENOENT);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_mkdir_p_and_rm_rf_nested(void **state)
{
        char path[] = "/tmp/berth-test-fs-XXXXXX";
        _cleanup_close_ int dfd = -EBADF;
        struct stat st;

        (void) state;
        assert_non_null(mkdtemp(path));
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(mkdir_p_at(dfd, "a/b/c", 0755), 0);
        assert_int_equal(mkdir_p_at(dfd, "a/b/c", 0755), 0);
        assert_int_equal(fstatat(dfd, "a/b/c", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(symlinkat("/etc", dfd, "a/link"), 0);
        assert_int_equal(rm_rf_at(dfd, "a"), 0);
        assert_int_equal(fstatat(dfd, "a", &st, 0), -1);
        /* the symlink's target survives */
        assert_int_equal(access("/etc/passwd", F_OK), 0);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_parse_uint64_rejects_garbage(void **state)
{
        uint64_t v = 7;
        int64_t s = 7;

        (void) state;
        assert_int_equal(parse_uint64("42", &v), 0);
        assert_int_equal(v, 42);
        v = 7;
        assert_int_equal(parse_uint64("-1", &v), -EINVAL);
        assert_int_equal(parse_uint64("12x", &v), -EINVAL);
        assert_int_equal(parse_uint64("", &v), -EINVAL);
        assert_int_equal(parse_uint64("99999999999999999999999", &v), -ERANGE);
        assert_int_equal(v, 7);
        assert_int_equal(parse_int64("-5", &s), 0);
        assert_int_equal(s, -5);
}

static void test_errmsg_prefix_chains(void **state)
{
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(errmsg_set(&err, -EINVAL, "destination: not an absolute path"), -EINVAL);
        assert_int_equal(errmsg_prefix(&err, -EINVAL, "mounts[2]"), -EINVAL);
        assert_string_equal(err.msg, "mounts[2]: destination: not an absolute path");
        assert_int_equal(errmsg_set(NULL, -ENOENT, "x"), -ENOENT);

        struct errmsg empty = {0};
        assert_int_equal(errmsg_prefix(&empty, -ENOENT, "open x"), -ENOENT);
        assert_string_equal(empty.msg, "open x: No such file or directory");
}

static void test_log_json_escapes_and_returns_r(void **state)
{
        char path[] = "/tmp/berth-test-log-XXXXXX";
        _cleanup_free_ char *text = NULL;
        int fd;

        (void) state;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        log_set_fd(fd);
        log_set_format(LOG_FORMAT_JSON);
        assert_int_equal(log_error_errno(-ENOENT, "open \"%s\"", "a\nb"), -ENOENT);
        log_set_fd(-EBADF);
        log_set_format(LOG_FORMAT_TEXT);
        assert_int_equal(read_file_at(AT_FDCWD, path, 4096, &text, NULL), 0);
        assert_non_null(strstr(
                text,
                "{\"level\":\"error\",\"msg\":\"open \\\"a\\nb\\\": No such file or directory\",\"time\":\""));
        assert_int_equal(text[strlen(text) - 1], '\n');
        (void) unlink(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write_then_read_round_trips),
                cmocka_unit_test(test_read_rejects_oversize_and_leaves_ret_untouched),
                cmocka_unit_test(test_mkdir_p_and_rm_rf_nested),
                cmocka_unit_test(test_parse_uint64_rejects_garbage),
                cmocka_unit_test(test_errmsg_prefix_chains),
                cmocka_unit_test(test_log_json_escapes_and_returns_r),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
