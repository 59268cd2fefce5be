/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the pure parts of the shim's runtime calls and task handling: the runtime's
 * argv (as containerd-shim-runc-v2 builds it), its JSON log, ps output, pid namespaces,
 * rootfs mount options and exit statuses.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lib/fs.h"
#include "lib/xalloc.h"
#include "shim/mount.h"
#include "shim/reaper.h"
#include "shim/runtime.h"
#include "shim/task.h"
#include "tests/unit/unit.h"

static void test_argv_matches_containerd_shim_runc_v2(void **state)
{
        /* traces/containerd-shim-runc-execs.txt */
        const char *args[] = {"create",         "--bundle", "/b/t2", "--pid-file",
                              "/b/t2/init.pid", "t2",       NULL};
        const char *want[] = {"runc",  "--root",         "/run/containerd/runc/default",
                              "--log", "/b/t2/log.json", "--log-format",
                              "json",  "create",         "--bundle",
                              "/b/t2", "--pid-file",     "/b/t2/init.pid",
                              "t2"};
        struct runtime rt;
        _cleanup_strv_ char **argv = NULL;

        (void) state;
        runtime_init(&rt, "runc", "/run/containerd/runc", "default", "/b/t2");
        argv = runtime_argv(&rt, args);
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_string_equal(argv[i], want[i]);
        assert_null(argv[ELEMENTSOF(want)]);
        runtime_release(&rt);
}

static void test_systemd_cgroup_is_a_global_option(void **state)
{
        const char *args[] = {"start", "x", NULL};
        struct runtime rt;
        _cleanup_strv_ char **argv = NULL;

        (void) state;
        runtime_init(&rt, "crun", "/r", "ns", "/b");
        rt.systemd_cgroup = true;
        argv = runtime_argv(&rt, args);
        assert_string_equal(argv[7], "--systemd-cgroup");
        assert_string_equal(argv[8], "start");
        runtime_release(&rt);
}

static void test_log_last_error_prefers_error_records(void **state)
{
        const char *log = "{\"level\":\"info\",\"msg\":\"starting\",\"time\":\"t\"}\n"
                          "{\"level\":\"error\",\"msg\":\"first failure\",\"time\":\"t\"}\n"
                          "not json at all\n"
                          "{\"level\":\"error\",\"msg\":\"exec: \\\"nope\\\": not found\"}\n"
                          "{\"level\":\"warning\",\"msg\":\"later warning\"}";
        _cleanup_free_ char *msg = runtime_log_last_error(log, strlen(log));
        _cleanup_free_ char *none = runtime_log_last_error("", 0);
        _cleanup_free_ char *info = runtime_log_last_error("{\"msg\":\"only\"}\n", 15);

        (void) state;
        assert_string_equal(msg, "exec: \"nope\": not found");
        assert_null(none);
        assert_string_equal(info, "only");
}

static void test_runtime_failure_carries_the_log_message(void **state)
{
        char dir[] = "/tmp/berth-test-runtime-XXXXXX";
        _cleanup_free_ char *script = NULL;
        const char *args[] = {"create", "c1", NULL};
        const int no_stdio[3] = {-EBADF, -EBADF, -EBADF};
        struct errmsg err = {0};
        struct runtime rt;
        FILE *f;

        (void) state;
        assert_non_null(mkdtemp(dir));
        /* A fake runtime that logs like runc --log-format json and fails. */
        script = xasprintf("%s/fake-runtime", dir);
        f = fopen(script, "we");
        assert_non_null(f);
        fprintf(f, "#!/bin/sh\nwhile [ \"$1\" != --log ]; do shift; done\n"
                   "echo '{\"level\":\"error\",\"msg\":\"container_linux.go: boom\"}' >> \"$2\"\n"
                   "exit 1\n");
        fclose(f);
        assert_int_equal(chmod(script, 0700), 0);
        runtime_init(&rt, script, dir, "ns", dir);
        assert_int_equal(runtime_run(&rt, args, no_stdio, &err), -EIO);
        assert_string_equal(err.msg, "OCI runtime create failed: container_linux.go: boom");
        runtime_release(&rt);
        runtime_init(&rt, "/nonexistent/runtime", dir, "ns", dir);
        assert_int_equal(runtime_run(&rt, args, no_stdio, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/runtime"));
        runtime_release(&rt);
        assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

static void test_find_binary_searches_dirs_then_path(void **state)
{
        const char *dirs[] = {"/nonexistent", "/bin", NULL};
        char *path = NULL;

        (void) state;
        assert_int_equal(runtime_find_binary("sh", dirs, &path), 0);
        assert_string_equal(path, "/bin/sh");
        free(path);
        assert_int_equal(runtime_find_binary("/x/y", dirs, &path), 0);
        assert_string_equal(path, "/x/y");
        free(path);
        path = (char *) "untouched";
        assert_int_equal(runtime_find_binary("berth-no-such-runtime", dirs, &path), -ENOENT);
        assert_string_equal(path, "untouched");
}

static void test_ps_json_output(void **state)
{
        _cleanup_free_ pid_t *pids = NULL;
        pid_t *bad = NULL;
        size_t n = 0;

        (void) state;
        assert_int_equal(task_parse_pids("[1234,5678]\n", 12, &pids, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(pids[0], 1234);
        assert_int_equal(pids[1], 5678);
        assert_int_equal(task_parse_pids("{}", 2, &bad, &n), -EBADMSG);
        assert_int_equal(task_parse_pids("[-1]", 4, &bad, &n), -EBADMSG);
        assert_int_equal(task_parse_pids("[\"1\"]", 5, &bad, &n), -EBADMSG);
        assert_null(bad);
}

static void test_pid_namespace_decides_kill_all_on_exit(void **state)
{
        const char *own = "{\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"pid\"}]}}";
        const char *joined =
                "{\"linux\":{\"namespaces\":[{\"type\":\"pid\",\"path\":\"/proc/1/ns/pid\"}]}}";
        const char *host = "{\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}";

        (void) state;
        assert_false(task_spec_shares_pid_ns(own, strlen(own)));
        assert_true(task_spec_shares_pid_ns(joined, strlen(joined)));
        assert_true(task_spec_shares_pid_ns(host, strlen(host)));
        assert_true(task_spec_shares_pid_ns("garbage", 7));
}

static void test_mount_options_split_flags_and_data(void **state)
{
        char *overlay[] = {"index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2", "ro"};
        char *bind[] = {"rbind", "rw", "nosuid"};
        char *big[] = {NULL};
        _cleanup_free_ char *data = NULL, *long_opt = NULL;
        unsigned long flags = 0;
        char *none = NULL;

        (void) state;
        assert_int_equal(rootfs_mount_options(overlay, 5, &flags, &data), 0);
        assert_int_equal(flags, MS_RDONLY);
        assert_string_equal(data, "index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2");
        assert_int_equal(rootfs_mount_options(bind, 3, &flags, &none), 0);
        assert_int_equal(flags, MS_BIND | MS_REC | MS_NOSUID);
        assert_null(none);
        long_opt = xmalloc(ROOTFS_MOUNT_DATA_MAX + 2);
        memset(long_opt, 'a', ROOTFS_MOUNT_DATA_MAX + 1);
        long_opt[ROOTFS_MOUNT_DATA_MAX + 1] = '\0';
        big[0] = long_opt;
        assert_int_equal(rootfs_mount_options(big, 1, &flags, &none), -E2BIG);
        assert_null(none);
}

static void test_exit_status_of_signals_is_128_plus_n(void **state)
{
        pid_t pid;
        int status;

        (void) state;
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void) raise(SIGKILL);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(reaper_exit_status(status), 137);
        pid = fork();
        if (pid == 0)
                _exit(3);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(reaper_exit_status(status), 3);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_argv_matches_containerd_shim_runc_v2),
                cmocka_unit_test(test_systemd_cgroup_is_a_global_option),
                cmocka_unit_test(test_log_last_error_prefers_error_records),
                cmocka_unit_test(test_runtime_failure_carries_the_log_message),
                cmocka_unit_test(test_find_binary_searches_dirs_then_path),
                cmocka_unit_test(test_ps_json_output),
                cmocka_unit_test(test_pid_namespace_decides_kill_all_on_exit),
                cmocka_unit_test(test_mount_options_split_flags_and_data),
                cmocka_unit_test(test_exit_status_of_signals_is_128_plus_n),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
