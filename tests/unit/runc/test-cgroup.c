/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for runc/cgroup*.c: path rules (cgroupsPath, systemd slices, made-up hosts),
 * value conversions for v2, device rules for v1, v2 resources written into a plain
 * directory, and, as root on the real kernel, a whole lifecycle under
 * /berth-unit-test-<pid>: create, limits, join, list, freeze, kill, destroy. Every kernel
 * test's teardown kills what is left and removes the cgroup, even when the test failed.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lib/errmsg.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runc/cgroup-internal.h"
#include "tests/unit/unit.h"

#define MIB (1024 * 1024)

/* --- paths ----------------------------------------------------------------------------- */

static void assert_clean(const char *in, const char *want)
{
        _cleanup_free_ char *got = cgroup_clean_path(in);

        assert_string_equal(got, want);
}

static void test_clean_path(void **state)
{
        (void) state;
        assert_clean("/a/b", "/a/b");
        assert_clean("/a//b/./c/", "/a/b/c");
        assert_clean("/a/../../b", "/b");
        assert_clean("/..", "/");
        assert_clean("/", "/");
        assert_clean("a/b", "a/b");
        assert_clean("../../a", "a");
        assert_clean("a/../..", "");
        assert_clean("./a/./b/..", "a");
}

static void assert_inner(const char *path, const char *id, bool systemd, const char *want)
{
        _cleanup_free_ char *got = NULL;
        struct errmsg err = {0};

        assert_int_equal(cgroup_inner_path(path, id, systemd, &got, &err), 0);
        assert_string_equal(got, want);
}

static void assert_inner_fails(const char *path, bool systemd, const char *want_msg)
{
        char *got = (char *) "untouched";
        struct errmsg err = {0};

        assert_int_equal(cgroup_inner_path(path, "c1", systemd, &got, &err), -EINVAL);
        assert_int_equal(err.code, -EINVAL);
        assert_string_equal(got, "untouched");
        assert_string_equal(err.msg, want_msg);
}

static void test_inner_path_cgroupfs(void **state)
{
        (void) state;
        assert_inner("/berth/c1", "x", false, "/berth/c1");
        assert_inner("/a/../b/", "x", false, "/b");
        assert_inner("foo/bar", "x", false, "foo/bar");
        assert_inner("../../escape", "x", false, "escape");
        /* Empty: runc names the cgroup after the container, relative to its own. */
        assert_inner(NULL, "c1", false, "c1");
        assert_inner("", "c1", false, "c1");
        assert_inner_fails(
                "/", false,
                "cgroupsPath \"/\": names the hierarchy's root, not a cgroup of its own");
        assert_inner_fails(
                "a/..", false,
                "cgroupsPath \"a/..\": names the hierarchy's root, not a cgroup of its own");
}

static void test_inner_path_systemd(void **state)
{
        (void) state;
        assert_inner("system.slice:docker:abc", "x", true, "/system.slice/docker-abc.scope");
        assert_inner("a-b-c.slice:p:n", "x", true, "/a.slice/a-b.slice/a-b-c.slice/p-n.scope");
        assert_inner(":p:n", "x", true, "/system.slice/p-n.scope");
        assert_inner("-.slice:p:n", "x", true, "/p-n.scope");
        assert_inner("user.slice:p:sub.slice", "x", true, "/user.slice/sub.slice");
        assert_inner(NULL, "c1", true, "/system.slice/runc-c1.scope");
        assert_inner("", "c1", true, "/system.slice/runc-c1.scope");
        assert_inner_fails(
                "x:y", true,
                "cgroupsPath \"x:y\": expected \"slice:prefix:name\" with systemd cgroups");
        assert_inner_fails(
                "a:b:c:d", true,
                "cgroupsPath \"a:b:c:d\": expected \"slice:prefix:name\" with systemd cgroups");
        assert_inner_fails(
                "/berth/c1", true,
                "cgroupsPath \"/berth/c1\": expected \"slice:prefix:name\" with systemd cgroups");
        assert_inner_fails(
                "system.slice:p:", true,
                "cgroupsPath \"system.slice:p:\": the unit name must be a non-empty name without '/'");
        assert_inner_fails(
                "system.slice:p:a/b", true,
                "cgroupsPath \"system.slice:p:a/b\": the unit name must be a non-empty name without '/'");
        assert_inner_fails("foo:p:n", true,
                           "cgroupsPath \"foo:p:n\": slice \"foo\": not a valid slice name");
        assert_inner_fails(
                "a--b.slice:p:n", true,
                "cgroupsPath \"a--b.slice:p:n\": slice \"a--b.slice\": not a valid slice name");
        assert_inner_fails(
                "-a.slice:p:n", true,
                "cgroupsPath \"-a.slice:p:n\": slice \"-a.slice\": not a valid slice name");
        assert_inner_fails(".slice:p:n", true,
                           "cgroupsPath \".slice:p:n\": slice \".slice\": not a valid slice name");
        assert_inner_fails(
                "a/b.slice:p:n", true,
                "cgroupsPath \"a/b.slice:p:n\": slice \"a/b.slice\": not a valid slice name");
}

static void test_expand_slice(void **state)
{
        _cleanup_free_ char *a = NULL, *b = NULL;
        char *untouched = (char *) "untouched";

        (void) state;
        assert_int_equal(cgroup_expand_slice("system.slice", &a, NULL), 0);
        assert_string_equal(a, "/system.slice");
        assert_int_equal(cgroup_expand_slice("-.slice", &b, NULL), 0);
        assert_string_equal(b, "/");
        assert_int_equal(cgroup_expand_slice("a-.slice", &untouched, NULL), -EINVAL);
        assert_string_equal(untouched, "untouched");
}

/* A made-up hybrid host: a bind-mounted pids root, co-mounted cpu,cpuacct, escapes. */
static const char hybrid_cgroup[] = "12:name=foo:/x\n"
                                    "9:name=systemd:/user.slice/s.scope\n"
                                    "8:pids:/user.slice\n"
                                    "7:blkio:/\n"
                                    "4:memory:/process_api/abc\n"
                                    "3:cpu,cpuacct:/\n"
                                    "2:net_cls:/\n"
                                    "0::/own\n";
static const char hybrid_mountinfo[] =
        "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "32 30 0:29 / /sys/fs/cgroup/blk\\040io rw - cgroup cgroup rw,blkio\n"
        "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "35 30 0:35 /user.slice /sys/fs/cgroup/pids rw shared:5 - cgroup cgroup rw,pids\n"
        "36 30 0:31 / /mnt/memory-bind rw - cgroup cgroup rw,memory\n"
        "39 30 0:36 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
        "41 30 0:38 / /sys/fs/cgroup/foo rw - cgroup cgroup rw,name=foo\n";

static void test_open_hybrid_relative(void **state)
{
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(cgroup_open_from(CGROUP_MODE_HYBRID, hybrid_cgroup, hybrid_mountinfo, "c1",
                                          "id", false, &cg, &err),
                         0);
        assert_int_equal(cgroup_mode(cg), CGROUP_MODE_HYBRID);
        assert_string_equal(cgroup_path(cg), "c1");
        /* name=foo is not ours, net_cls is not mounted */
        assert_int_equal(cg->n_hiers, 6);
        assert_string_equal(cgroup_dir(cg, "memory"), "/sys/fs/cgroup/memory/process_api/abc/c1");
        assert_string_equal(cgroup_dir(cg, "cpu"), "/sys/fs/cgroup/cpu,cpuacct/c1");
        assert_string_equal(cgroup_dir(cg, "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/c1");
        assert_string_equal(cgroup_dir(cg, "blkio"), "/sys/fs/cgroup/blk io/c1");
        /* the mount's root is the own cgroup already */
        assert_string_equal(cgroup_dir(cg, "pids"), "/sys/fs/cgroup/pids/c1");
        assert_string_equal(cgroup_dir(cg, "name=systemd"),
                            "/sys/fs/cgroup/systemd/user.slice/s.scope/c1");
        assert_string_equal(cgroup_dir(cg, NULL), "/sys/fs/cgroup/unified/own/c1");
        assert_null(cgroup_dir(cg, "net_cls"));
        assert_null(cgroup_dir(cg, "name=foo"));
}

static void test_open_hybrid_absolute_and_systemd(void **state)
{
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL, *sd = NULL;

        (void) state;
        assert_int_equal(cgroup_open_from(CGROUP_MODE_HYBRID, hybrid_cgroup, hybrid_mountinfo,
                                          "/berth/../b/c1", "id", false, &cg, NULL),
                         0);
        assert_string_equal(cgroup_path(cg), "/b/c1");
        assert_string_equal(cgroup_dir(cg, "memory"), "/sys/fs/cgroup/memory/b/c1");
        assert_string_equal(cgroup_dir(cg, "pids"), "/sys/fs/cgroup/pids/b/c1");
        assert_string_equal(cgroup_dir(cg, ""), "/sys/fs/cgroup/unified/b/c1");
        assert_int_equal(cgroup_open_from(CGROUP_MODE_HYBRID, hybrid_cgroup, hybrid_mountinfo,
                                          "system.slice:docker:abc", "id", true, &sd, NULL),
                         0);
        assert_string_equal(cgroup_dir(sd, "memory"),
                            "/sys/fs/cgroup/memory/system.slice/docker-abc.scope");
}

static void test_open_v1_has_no_unified(void **state)
{
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;

        (void) state;
        assert_int_equal(cgroup_open_from(CGROUP_MODE_V1, hybrid_cgroup, hybrid_mountinfo, NULL,
                                          "c7", false, &cg, NULL),
                         0);
        assert_int_equal(cg->n_hiers, 5);
        assert_null(cgroup_dir(cg, NULL));
        assert_string_equal(cgroup_dir(cg, "memory"), "/sys/fs/cgroup/memory/process_api/abc/c7");
}

static void test_open_v2(void **state)
{
        static const char proc[] = "0::/user.slice/user-0.slice/session-1.scope\n";
        static const char mounts[] =
                "25 22 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        _cleanup_(cgroup_freep) struct cgroup *rel = NULL, *abs = NULL;
        struct cgroup *untouched = NULL;
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(
                cgroup_open_from(CGROUP_MODE_V2, proc, mounts, "c1", "id", false, &rel, NULL), 0);
        assert_int_equal(rel->n_hiers, 1);
        /* relative to the parent of the caller's own cgroup, as runc's fs2 */
        assert_string_equal(cgroup_dir(rel, NULL), "/sys/fs/cgroup/user.slice/user-0.slice/c1");
        assert_string_equal(cgroup_dir(rel, "memory"), cgroup_dir(rel, NULL));
        assert_int_equal(
                cgroup_open_from(CGROUP_MODE_V2, proc, mounts, "/x", "id", false, &abs, NULL), 0);
        assert_string_equal(cgroup_dir(abs, "pids"), "/sys/fs/cgroup/x");
        assert_int_equal(cgroup_open_from(CGROUP_MODE_V2, "1:memory:/\n", mounts, "/x", "id", false,
                                          &untouched, &err),
                         -ENOENT);
        assert_null(untouched);
        assert_string_equal(err.msg, "/proc/self/cgroup: no cgroup2 (\"0::\") line");
}

/* --- conversions and rules ------------------------------------------------------------- */

static void test_v2_weights(void **state)
{
        (void) state;
        assert_int_equal(cgroup_v2_cpu_weight(0), 0);
        assert_int_equal(cgroup_v2_cpu_weight(2), 1);
        assert_int_equal(cgroup_v2_cpu_weight(1024), 39);
        assert_int_equal(cgroup_v2_cpu_weight(262144), 10000);
        assert_int_equal(cgroup_v2_cpu_weight(1), 1);
        assert_int_equal(cgroup_v2_cpu_weight(1u << 30), 10000);
        assert_int_equal(cgroup_v2_io_weight(0), 0);
        assert_int_equal(cgroup_v2_io_weight(10), 1);
        assert_int_equal(cgroup_v2_io_weight(500), 4950);
        assert_int_equal(cgroup_v2_io_weight(1000), 10000);
        assert_int_equal(cgroup_v2_io_weight(5), 1);
}

static void assert_cpu_max(bool has_quota, int64_t quota, bool has_period, uint64_t period,
                           const char *want)
{
        struct oci_resources res = {.has_cpu_quota = has_quota,
                                    .cpu_quota = quota,
                                    .has_cpu_period = has_period,
                                    .cpu_period = period};
        char buf[64] = "";

        assert_int_equal(cgroup_v2_cpu_max(&res, buf, sizeof(buf)), want ? 1 : 0);
        if (want)
                assert_string_equal(buf, want);
}

static void test_v2_cpu_max(void **state)
{
        (void) state;
        assert_cpu_max(false, 0, false, 0, NULL);
        assert_cpu_max(true, 50000, true, 100000, "50000 100000");
        assert_cpu_max(true, -1, true, 100000, "max 100000");
        assert_cpu_max(true, 20000, false, 0, "20000");
        assert_cpu_max(false, 0, true, 250000, "max 250000");
}

static void assert_swap(int64_t limit, int64_t swap, const char *want)
{
        struct oci_resources res = {.has_memory_limit = limit != 0,
                                    .memory_limit = limit,
                                    .has_memory_swap = swap != 0,
                                    .memory_swap = swap};
        char buf[32] = "junk";

        assert_int_equal(cgroup_v2_swap_max(&res, buf, sizeof(buf), NULL), 0);
        assert_string_equal(buf, want);
}

static void assert_swap_fails(int64_t limit, int64_t swap, const char *want_msg)
{
        struct oci_resources res = {.has_memory_limit = limit != 0,
                                    .memory_limit = limit,
                                    .has_memory_swap = true,
                                    .memory_swap = swap};
        struct errmsg err = {0};
        char buf[32];

        assert_int_equal(cgroup_v2_swap_max(&res, buf, sizeof(buf), &err), -EINVAL);
        assert_string_equal(err.msg, want_msg);
}

static void test_v2_swap(void **state)
{
        (void) state;
        assert_swap(64 * MIB, 96 * MIB, "33554432");
        assert_swap(64 * MIB, 64 * MIB, "0");
        assert_swap(64 * MIB, -1, "max");
        assert_swap(-1, 0, "max");
        assert_swap(64 * MIB, 0, "");
        assert_swap(0, 0, "");
        assert_swap_fails(0, 96 * MIB, "memory.swap=100663296: a swap limit needs a memory limit");
        assert_swap_fails(-1, 96 * MIB, "memory.swap=100663296: a swap limit needs a memory limit");
        assert_swap_fails(
                64 * MIB, 32 * MIB,
                "memory.swap=33554432: below memory.limit=67108864 (swap is memory+swap)");
}

static void assert_rule(bool allow, char type, int64_t major, int64_t minor, const char *access,
                        const char *want)
{
        struct oci_device_rule rule = {
                .allow = allow, .type = type, .major = major, .minor = minor};
        char buf[80];

        (void) snprintf(rule.access, sizeof(rule.access), "%s", access);
        assert_int_equal(cgroup_v1_device_rule(&rule, buf, sizeof(buf), NULL), 0);
        assert_string_equal(buf, want);
}

static void test_v1_device_rules(void **state)
{
        struct oci_device_rule bad = {.type = 'u', .major = 1, .minor = 3, .access = "rwm"};
        const struct oci_device_rule *defaults;
        struct errmsg err = {0};
        char buf[80];

        (void) state;
        assert_rule(true, 'c', 1, 3, "rwm", "c 1:3 rwm");
        assert_rule(true, 'b', -1, -1, "m", "b *:* m");
        assert_rule(false, 'a', -1, -1, "r", "a *:* rwm");
        assert_rule(true, 'c', 136, -1, "", "c 136:* rwm");
        assert_rule(true, 'c', 10, 200, "rw", "c 10:200 rw");
        assert_int_equal(cgroup_v1_device_rule(&bad, buf, sizeof(buf), &err), -EINVAL);
        assert_string_equal(err.msg, "type 'u': not a, b or c");
        bad.type = 'c';
        memcpy(bad.access, "rwx", 4);
        assert_int_equal(cgroup_v1_device_rule(&bad, buf, sizeof(buf), &err), -EINVAL);
        assert_string_equal(err.msg, "access \"rwx\": not a subset of \"rwm\"");
        assert_int_equal(cgroup_default_device_rules(&defaults), 11);
        assert_int_equal(defaults[2].major, 1);
        assert_int_equal(defaults[2].minor, 3);
}

/* --- v2 resources into a plain directory ------------------------------------------------- */

static const char *const v2_files[] = {
        "memory.max", "memory.swap.max", "memory.low",  "pids.max",        "cpu.weight",
        "cpu.max",    "io.weight",       "cpuset.cpus", "hugetlb.2MB.max", "memory.high",
};

static int make_fake_v2(char *path)
{
        int dfd;

        assert_non_null(mkdtemp(path));
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        for (size_t i = 0; i < ELEMENTSOF(v2_files); i++)
                assert_int_equal(write_file_atomic_at(dfd, v2_files[i], "", 0, 0644), 0);
        return dfd;
}

static void assert_file(int dfd, const char *file, const char *want)
{
        _cleanup_free_ char *got = NULL;

        assert_int_equal(cg_read(dfd, file, &got), 0);
        assert_string_equal(got, want);
}

static void test_v2_apply_writes_converted_values(void **state)
{
        char path[] = "/tmp/berth-test-cgv2-XXXXXX";
        struct oci_hugepage_limit huge = {.page_size = (char *) "2MB", .limit = 4 * MIB};
        struct oci_key_value kv = {.key = (char *) "memory.high", .value = (char *) "max"};
        struct oci_resources res = {
                .has_memory_limit = true,
                .memory_limit = 64 * MIB,
                .has_memory_swap = true,
                .memory_swap = 96 * MIB,
                .has_memory_reservation = true,
                .memory_reservation = 32 * MIB,
                .has_pids_limit = true,
                .pids_limit = 10,
                .has_cpu_shares = true,
                .cpu_shares = 1024,
                .has_cpu_quota = true,
                .cpu_quota = 50000,
                .has_cpu_period = true,
                .cpu_period = 100000,
                .cpu_cpus = (char *) "0",
                .has_blkio_weight = true,
                .blkio_weight = 500,
                .hugepages = &huge,
                .n_hugepages = 1,
                .unified = &kv,
                .n_unified = 1,
        };
        _cleanup_close_ int dfd = make_fake_v2(path);
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(cgroup_v2_apply(dfd, &res, &err), 0);
        assert_file(dfd, "memory.max", "67108864");
        assert_file(dfd, "memory.swap.max", "33554432");
        assert_file(dfd, "memory.low", "33554432");
        assert_file(dfd, "pids.max", "10");
        assert_file(dfd, "cpu.weight", "39");
        assert_file(dfd, "cpu.max", "50000 100000");
        assert_file(dfd, "io.weight", "4950");
        assert_file(dfd, "cpuset.cpus", "0");
        assert_file(dfd, "hugetlb.2MB.max", "4194304");
        assert_file(dfd, "memory.high", "max");
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void assert_unified_fails(int dfd, const char *key, int code, const char *want_msg)
{
        struct oci_key_value kv = {.key = (char *) key, .value = (char *) "1"};
        struct oci_resources res = {.unified = &kv, .n_unified = 1};
        struct errmsg err = {0};

        assert_int_equal(cgroup_v2_apply(dfd, &res, &err), code);
        assert_string_equal(err.msg, want_msg);
}

static void test_v2_unified_rejects_bad_keys(void **state)
{
        char path[] = "/tmp/berth-test-cgv2-XXXXXX";
        _cleanup_close_ int dfd = make_fake_v2(path);
        struct oci_resources res = {.has_memory_swap = true, .memory_swap = 96 * MIB};
        struct errmsg err = {0};

        (void) state;
        assert_unified_fails(dfd, "foo.bar", -ENOENT,
                             "unified: cannot write \"foo.bar\": no such file");
        assert_unified_fails(dfd, "../memory.max", -EINVAL,
                             "unified: \"../memory.max\": not a file name of the cgroup");
        assert_unified_fails(dfd, "a/b", -EINVAL,
                             "unified: \"a/b\": not a file name of the cgroup");
        assert_unified_fails(dfd, "..", -EINVAL, "unified: \"..\": not a file name of the cgroup");
        /* nothing was written by the rejected requests */
        assert_file(dfd, "memory.max", "");
        assert_int_equal(cgroup_v2_apply(dfd, &res, &err), -EINVAL);
        assert_string_equal(err.msg, "memory.swap=100663296: a swap limit needs a memory limit");
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

/* --- the real kernel (root) ------------------------------------------------------------ */

struct kernel_fixture {
        char *top;   /* cgroupsPath of the test's tree; teardown removes it all */
        pid_t child; /* -1 when none */
};

static int kernel_setup(void **state)
{
        struct kernel_fixture *f = xnew0(struct kernel_fixture, 1);

        f->child = -1;
        *state = f;
        return 0;
}

static int kernel_teardown(void **state)
{
        struct kernel_fixture *f = *state;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;

        if (f->child > 0) {
                (void) kill(f->child, SIGKILL);
                (void) waitpid(f->child, NULL, 0);
        }
        if (f->top && cgroup_open(f->top, "x", false, &cg, NULL) >= 0) {
                (void) cgroup_freeze(cg, false, NULL);
                (void) cgroup_kill_all(cg, SIGKILL);
                (void) cgroup_destroy(cg);
        }
        free(f->top);
        free(f);
        return 0;
}

static void skip_unless_root(void)
{
        enum cgroup_mode mode;

        if (geteuid() != 0 || cgroup_detect_mode(&mode) < 0 || access("/sys/fs/cgroup", W_OK) < 0)
                skip();
}

static pid_t spawn_sleeper(void)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                for (;;)
                        pause();
                _exit(0);
        }
        return pid;
}

/* noinline: gcc 12 -O3 reports a false dangling pointer through cmocka's asserts */
static __attribute__((noinline)) char *read_dir_file(const char *dir, const char *file)
{
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char *text = NULL;

        assert_true(dfd >= 0);
        assert_int_equal(cg_read(dfd, file, &text), 0);
        return text;
}

static void assert_dir_file(const char *dir, const char *file, const char *want)
{
        _cleanup_free_ char *got = read_dir_file(dir, file);

        assert_string_equal(got, want);
}

static bool pids_contain(struct cgroup *cg, pid_t pid)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;

        assert_int_equal(cgroup_get_pids(cg, &pids, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

static void assert_all_dirs(const struct cgroup *cg, bool exist)
{
        for (size_t i = 0; i < cg->n_hiers; i++) {
                struct stat st;
                int r = stat(cg->hiers[i].dir, &st);

                if (exist)
                        assert_int_equal(r, 0);
                else
                        assert_true(r < 0 && errno == ENOENT);
        }
}

static void assert_killed_by(pid_t pid, int sig)
{
        int status = 0;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), sig);
}

static void apply_basic_limits(struct cgroup *cg)
{
        const struct oci_device_rule *defaults;
        size_t n_defaults = cgroup_default_device_rules(&defaults);
        _cleanup_free_ struct oci_device_rule *rules =
                xnew0(struct oci_device_rule, n_defaults + 1);
        struct oci_resources res = {
                .has_memory_limit = true,
                .memory_limit = 64 * MIB,
                .has_pids_limit = true,
                .pids_limit = 10,
                .has_cpu_shares = true,
                .cpu_shares = 512,
                .has_cpu_quota = true,
                .cpu_quota = 50000,
                .has_cpu_period = true,
                .cpu_period = 100000,
        };
        struct errmsg err = {0};

        rules[0] = (struct oci_device_rule){
                .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"};
        memcpy(rules + 1, defaults, n_defaults * sizeof(*rules));
        res.devices = rules;
        res.n_devices = n_defaults + 1;
        if (cgroup_apply(cg, &res, &err) < 0)
                fail_msg("apply: %s", err.msg);
}

static void assert_basic_limits(const struct cgroup *cg)
{
        _cleanup_free_ char *devices = NULL;

        if (cgroup_mode(cg) == CGROUP_MODE_V2) {
                assert_dir_file(cgroup_dir(cg, NULL), "memory.max", "67108864");
                assert_dir_file(cgroup_dir(cg, NULL), "pids.max", "10");
                assert_dir_file(cgroup_dir(cg, NULL), "cpu.weight", "20");
                assert_dir_file(cgroup_dir(cg, NULL), "cpu.max", "50000 100000");
                return;
        }
        assert_dir_file(cgroup_dir(cg, "memory"), "memory.limit_in_bytes", "67108864");
        assert_dir_file(cgroup_dir(cg, "pids"), "pids.max", "10");
        assert_dir_file(cgroup_dir(cg, "cpu"), "cpu.shares", "512");
        assert_dir_file(cgroup_dir(cg, "cpu"), "cpu.cfs_period_us", "100000");
        assert_dir_file(cgroup_dir(cg, "cpu"), "cpu.cfs_quota_us", "50000");
        devices = read_dir_file(cgroup_dir(cg, "devices"), "devices.list");
        assert_non_null(strstr(devices, "c 1:3 rwm"));
        assert_non_null(strstr(devices, "c 136:* rwm"));
        assert_null(strstr(devices, "a *:* rwm"));
}

/* Every line of /proc/PID/cgroup names path (absolute cgroupsPath, no cgroup namespace). */
static void assert_in_every_hierarchy(pid_t pid, const char *path)
{
        _cleanup_free_ char *file = xasprintf("/proc/%d/cgroup", (int) pid), *text = NULL;
        char *line, *p;

        assert_int_equal(read_file_at(AT_FDCWD, file, 1 << 20, &text, NULL), 0);
        for (p = text; (line = strsep(&p, "\n"));) {
                const char *cgpath = strrchr(line, ':');

                if (!*line || strstr(line, ":name=") || strstr(line, ":net_") ||
                    strstr(line, ":perf_event:") || strstr(line, ":rdma:") ||
                    strstr(line, ":misc:") || strstr(line, ":hugetlb:"))
                        continue;
                assert_non_null(cgpath);
                assert_string_equal(cgpath + 1, path);
        }
}

static void test_kernel_lifecycle(void **state)
{
        struct kernel_fixture *f = *state;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        _cleanup_free_ char *subtree = NULL;
        struct errmsg err = {0};
        bool frozen = true;

        skip_unless_root();
        f->top = xasprintf("/berth-unit-test-%d", (int) getpid());
        assert_int_equal(cgroup_open(f->top, "ignored", false, &cg, &err), 0);
        assert_string_equal(cgroup_path(cg), f->top);
        if (cgroup_mode(cg) == CGROUP_MODE_HYBRID)
                subtree = read_dir_file("/sys/fs/cgroup/unified", "cgroup.subtree_control");
        if (cgroup_create(cg, &err) < 0)
                fail_msg("create: %s", err.msg);
        assert_all_dirs(cg, true);
        if (cgroup_mode(cg) == CGROUP_MODE_HYBRID) {
                /* membership only, but runc joins these too; no controller gets enabled */
                assert_non_null(cgroup_dir(cg, NULL));
                assert_non_null(cgroup_dir(cg, "name=systemd"));
                assert_dir_file("/sys/fs/cgroup/unified", "cgroup.subtree_control", subtree);
        }
        apply_basic_limits(cg);
        assert_basic_limits(cg);

        f->child = spawn_sleeper();
        if (cgroup_add_pid(cg, f->child, &err) < 0)
                fail_msg("add pid: %s", err.msg);
        assert_true(pids_contain(cg, f->child));
        assert_in_every_hierarchy(f->child, f->top);

        if (cgroup_freeze(cg, true, &err) < 0)
                fail_msg("freeze: %s", err.msg);
        assert_int_equal(cgroup_is_frozen(cg, &frozen), 0);
        assert_true(frozen);
        if (cgroup_dir(cg, "freezer"))
                assert_dir_file(cgroup_dir(cg, "freezer"), "freezer.state", "FROZEN");
        assert_int_equal(cgroup_freeze(cg, false, &err), 0);
        assert_int_equal(cgroup_is_frozen(cg, &frozen), 0);
        assert_false(frozen);

        /* SIGTERM takes the freeze, list, kill, thaw path (SIGKILL may use cgroup.kill) */
        assert_int_equal(cgroup_kill_all(cg, SIGTERM), 0);
        assert_killed_by(f->child, SIGTERM);
        f->child = -1;
        assert_false(pids_contain(cg, f->child));
        assert_int_equal(cgroup_destroy(cg), 0);
        assert_all_dirs(cg, false);
        /* destroying again is fine */
        assert_int_equal(cgroup_destroy(cg), 0);
        assert_int_equal(cgroup_is_frozen(cg, &frozen), -ENOENT);
}

static void test_kernel_kill_reaches_sub_cgroups(void **state)
{
        struct kernel_fixture *f = *state;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        _cleanup_free_ char *sub = NULL, *procs = NULL, *pid_text = NULL;
        struct errmsg err = {0};
        const char *dir;

        skip_unless_root();
        f->top = xasprintf("/berth-unit-test-%d-kill", (int) getpid());
        assert_int_equal(cgroup_open(f->top, "x", false, &cg, &err), 0);
        assert_int_equal(cgroup_create(cg, &err), 0);
        f->child = spawn_sleeper();
        assert_int_equal(cgroup_add_pid(cg, f->child, &err), 0);
        /* a nested cgroup, as a container manages its own */
        dir = cgroup_mode(cg) == CGROUP_MODE_V2 ? cgroup_dir(cg, NULL) : cgroup_dir(cg, "pids");
        sub = xasprintf("%s/sub", dir);
        procs = xasprintf("%s/cgroup.procs", sub);
        pid_text = xasprintf("%d", (int) f->child);
        assert_int_equal(mkdir(sub, 0755), 0);
        assert_int_equal(write_string_at(AT_FDCWD, procs, pid_text), 0);
        assert_true(pids_contain(cg, f->child));

        assert_int_equal(cgroup_kill_all(cg, SIGKILL), 0);
        /* as "delete --force": removal right away, the child not reaped yet */
        assert_int_equal(cgroup_destroy(cg), 0);
        assert_all_dirs(cg, false);
        assert_killed_by(f->child, SIGKILL);
        f->child = -1;
}

/* The directory is the mount, then the caller's own cgroup there, then the relative path. */
static void assert_relative_to_own(const struct cgroup *cg, const char *controller, const char *rel)
{
        _cleanup_free_ char *text = NULL, *key = xasprintf(":%s:", controller), *want = NULL;
        char *own, *end;

        if (cgroup_mode(cg) == CGROUP_MODE_V2 || !cgroup_dir(cg, controller))
                return;
        assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &text, NULL), 0);
        own = strstr(text, key);
        assert_non_null(own);
        own += strlen(key);
        end = strchrnul(own, '\n');
        *end = '\0';
        want = xasprintf("/sys/fs/cgroup/%s%s/%s", controller, STREQ(own, "/") ? "" : own, rel);
        assert_string_equal(cgroup_dir(cg, controller), want);
}

/* Does the level-th parent of the container's directory exist in every hierarchy? */
static void assert_parents(const struct cgroup *cg, unsigned level, bool exist)
{
        for (size_t i = 0; i < cg->n_hiers; i++) {
                _cleanup_free_ char *parent = xstrdup(cg->hiers[i].dir);

                for (unsigned l = 0; l < level; l++)
                        *strrchr(parent, '/') = '\0';
                assert_int_equal(access(parent, F_OK), exist ? 0 : -1);
        }
}

static void test_kernel_relative_path_and_nested_cpuset(void **state)
{
        struct kernel_fixture *f = *state;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        _cleanup_(cgroup_freep) struct cgroup *reopened = NULL;
        _cleanup_free_ char *own = NULL, *own_cpus = NULL, *leaf = NULL;
        struct errmsg err = {0};

        skip_unless_root();
        f->top = xasprintf("berth-unit-test-%d-rel", (int) getpid());
        leaf = xasprintf("%s/a/b", f->top);
        assert_int_equal(cgroup_open(leaf, "x", false, &cg, &err), 0);
        assert_string_equal(cgroup_path(cg), leaf);
        assert_relative_to_own(cg, "memory", leaf);
        if (cgroup_create(cg, &err) < 0)
                fail_msg("create: %s", err.msg);
        assert_all_dirs(cg, true);
        if (cgroup_dir(cg, "cpuset") && cgroup_mode(cg) != CGROUP_MODE_V2) {
                /* every new level got its parent's cpus, or joining fails with ENOSPC */
                own = xstrndup(cgroup_dir(cg, "cpuset"),
                               strlen(cgroup_dir(cg, "cpuset")) - strlen(leaf) - 1);
                own_cpus = read_dir_file(own, "cpuset.cpus");
                assert_dir_file(cgroup_dir(cg, "cpuset"), "cpuset.cpus", own_cpus);
        }
        f->child = spawn_sleeper();
        if (cgroup_add_pid(cg, f->child, &err) < 0)
                fail_msg("add pid: %s", err.msg);
        assert_int_equal(cgroup_kill_all(cg, SIGKILL), 0);
        assert_killed_by(f->child, SIGKILL);
        f->child = -1;
        /* opened afresh (as by "delete"), destroy removes the leaf only, never parents */
        assert_int_equal(cgroup_open(leaf, "x", false, &reopened, &err), 0);
        assert_int_equal(cgroup_destroy(reopened), 0);
        assert_all_dirs(cg, false);
        assert_parents(cg, 1, true);
        /* the struct that created them rolls its parents back too */
        assert_int_equal(cgroup_destroy(cg), 0);
        assert_parents(cg, 2, false);
}

/* The cgroup2 core freezer, tried on a hybrid host's membership-only tree. */
static void test_kernel_v2_freezer_on_hybrid_unified(void **state)
{
        struct kernel_fixture *f = *state;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *events = NULL;
        struct errmsg err = {0};
        bool frozen = false;

        skip_unless_root();
        f->top = xasprintf("/berth-unit-test-%d-v2freeze", (int) getpid());
        assert_int_equal(cgroup_open(f->top, "x", false, &cg, &err), 0);
        if (cgroup_mode(cg) != CGROUP_MODE_HYBRID)
                skip();
        assert_int_equal(cgroup_create(cg, &err), 0);
        f->child = spawn_sleeper();
        assert_int_equal(cgroup_add_pid(cg, f->child, &err), 0);
        assert_int_equal(cg_open_dir(cgroup_dir(cg, NULL), &dfd, &err), 0);
        if (!cg_exists(dfd, "cgroup.freeze"))
                skip();
        if (cgroup_v2_freeze(dfd, true, &err) < 0)
                fail_msg("freeze: %s", err.msg);
        events = read_dir_file(cgroup_dir(cg, NULL), "cgroup.events");
        assert_non_null(strstr(events, "frozen 1"));
        assert_int_equal(cgroup_v2_is_frozen(dfd, &frozen), 0);
        assert_true(frozen);
        assert_int_equal(cgroup_v2_freeze(dfd, false, &err), 0);
        assert_int_equal(cgroup_v2_is_frozen(dfd, &frozen), 0);
        assert_false(frozen);
        assert_int_equal(cgroup_kill_all(cg, SIGKILL), 0);
        assert_killed_by(f->child, SIGKILL);
        f->child = -1;
        assert_int_equal(cgroup_destroy(cg), 0);
}

static void set_memory(struct cgroup *cg, int64_t limit, int64_t swap)
{
        struct oci_resources res = {.has_memory_limit = true,
                                    .memory_limit = limit,
                                    .has_memory_swap = swap != 0,
                                    .memory_swap = swap};
        struct errmsg err = {0};

        if (cgroup_apply(cg, &res, &err) < 0)
                fail_msg("apply memory %" PRIi64 " swap %" PRIi64 ": %s", limit, swap, err.msg);
}

/* memory.limit_in_bytes <= memory.memsw.limit_in_bytes must hold after every single write. */
static void test_kernel_v1_memory_swap_order(void **state)
{
        struct kernel_fixture *f = *state;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        _cleanup_free_ char *memsw = NULL, *unlimited = NULL;
        struct errmsg err = {0};
        const char *dir;

        skip_unless_root();
        f->top = xasprintf("/berth-unit-test-%d-swap", (int) getpid());
        assert_int_equal(cgroup_open(f->top, "x", false, &cg, &err), 0);
        dir = cgroup_dir(cg, "memory");
        if (cgroup_mode(cg) == CGROUP_MODE_V2 || !dir)
                skip();
        assert_int_equal(cgroup_create(cg, &err), 0);
        memsw = xasprintf("%s/memory.memsw.limit_in_bytes", dir);
        if (access(memsw, F_OK) < 0)
                skip();
        set_memory(cg, 64 * MIB, 128 * MIB);
        assert_dir_file(dir, "memory.limit_in_bytes", "67108864");
        assert_dir_file(dir, "memory.memsw.limit_in_bytes", "134217728");
        /* raising both: memsw goes first */
        set_memory(cg, 256 * MIB, 512 * MIB);
        assert_dir_file(dir, "memory.limit_in_bytes", "268435456");
        assert_dir_file(dir, "memory.memsw.limit_in_bytes", "536870912");
        /* lowering both: memory goes first */
        set_memory(cg, 32 * MIB, 48 * MIB);
        assert_dir_file(dir, "memory.limit_in_bytes", "33554432");
        assert_dir_file(dir, "memory.memsw.limit_in_bytes", "50331648");
        /* unlimited memory, swap unset: swap becomes unlimited as well */
        set_memory(cg, -1, 0);
        unlimited = read_dir_file(dir, "memory.limit_in_bytes");
        assert_dir_file(dir, "memory.memsw.limit_in_bytes", unlimited);
        assert_int_equal(cgroup_destroy(cg), 0);
}

static void test_kernel_v1_unsupported_fields(void **state)
{
        struct oci_hugepage_limit huge = {.page_size = (char *) "2MB", .limit = 4 * MIB};
        struct oci_key_value kv = {.key = (char *) "memory.high", .value = (char *) "max"};
        struct oci_resources uni = {.unified = &kv, .n_unified = 1};
        struct oci_resources hp = {.hugepages = &huge, .n_hugepages = 1};
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        struct errmsg err = {0};

        (void) state;
        skip_unless_root();
        assert_int_equal(cgroup_open("/berth-unit-test-never-created", "x", false, &cg, &err), 0);
        if (cgroup_mode(cg) == CGROUP_MODE_V2)
                skip();
        assert_int_equal(cgroup_apply(cg, &uni, &err), -EOPNOTSUPP);
        assert_string_equal(
                err.msg,
                "unified: \"memory.high\" and the rest need cgroup v2; this host uses v1 controllers");
        if (!cgroup_dir(cg, "hugetlb")) {
                assert_int_equal(cgroup_apply(cg, &hp, &err), -EOPNOTSUPP);
                assert_string_equal(err.msg,
                                    "hugepageLimits: the hugetlb cgroup controller is not mounted");
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_clean_path),
                cmocka_unit_test(test_inner_path_cgroupfs),
                cmocka_unit_test(test_inner_path_systemd),
                cmocka_unit_test(test_expand_slice),
                cmocka_unit_test(test_open_hybrid_relative),
                cmocka_unit_test(test_open_hybrid_absolute_and_systemd),
                cmocka_unit_test(test_open_v1_has_no_unified),
                cmocka_unit_test(test_open_v2),
                cmocka_unit_test(test_v2_weights),
                cmocka_unit_test(test_v2_cpu_max),
                cmocka_unit_test(test_v2_swap),
                cmocka_unit_test(test_v1_device_rules),
                cmocka_unit_test(test_v2_apply_writes_converted_values),
                cmocka_unit_test(test_v2_unified_rejects_bad_keys),
                cmocka_unit_test_setup_teardown(test_kernel_lifecycle, kernel_setup,
                                                kernel_teardown),
                cmocka_unit_test_setup_teardown(test_kernel_kill_reaches_sub_cgroups, kernel_setup,
                                                kernel_teardown),
                cmocka_unit_test_setup_teardown(test_kernel_relative_path_and_nested_cpuset,
                                                kernel_setup, kernel_teardown),
                cmocka_unit_test_setup_teardown(test_kernel_v1_memory_swap_order, kernel_setup,
                                                kernel_teardown),
                cmocka_unit_test(test_kernel_v1_unsupported_fields),
                cmocka_unit_test_setup_teardown(test_kernel_v2_freezer_on_hybrid_unified,
                                                kernel_setup, kernel_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
