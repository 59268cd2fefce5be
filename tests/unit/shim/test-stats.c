/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for shim/stats.c: cgroup v1 and v2 metrics read from fake hierarchies laid out
 * as systemd mounts them, found through a /proc/<pid>/cgroup text.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "containerd/cgroups/v1/metrics.pb-c.h"
#include "containerd/cgroups/v2/metrics.pb-c.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "shim/stats.h"
#include "tests/unit/unit.h"

static void put(const char *root, const char *dir, const char *file, const char *text)
{
        _cleanup_free_ char *d = xasprintf("%s/%s", root, dir);
        _cleanup_close_ int dfd = -EBADF;

        assert_int_equal(mkdir_p_at(AT_FDCWD, d, 0755), 0);
        dfd = open(d, O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_int_equal(write_file_replace_at(dfd, file, text, strlen(text), 0644), 0);
}

static void test_v1_metrics_from_the_process_cgroups(void **state)
{
        const char *proc = "12:pids:/ns/c1\n"
                           "4:cpu,cpuacct:/ns/c1\n"
                           "3:memory:/ns/c1\n"
                           "1:name=systemd:/ns/c1\n"
                           "0::/ns/c1\n";
        char root[] = "/tmp/berth-test-stats-XXXXXX";
        Io__Containerd__Cgroups__V1__Metrics *m;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;

        (void) state;
        assert_non_null(mkdtemp(root));
        put(root, "pids/ns/c1", "pids.current", "3\n");
        put(root, "pids/ns/c1", "pids.max", "max\n");
        put(root, "cpu,cpuacct/ns/c1", "cpuacct.usage", "5000\n");
        put(root, "cpu,cpuacct/ns/c1", "cpuacct.usage_percpu", "2000 3000 \n");
        put(root, "cpu,cpuacct/ns/c1", "cpu.stat",
            "nr_periods 7\nnr_throttled 2\n"
            "throttled_time 99\n");
        put(root, "memory/ns/c1", "memory.usage_in_bytes", "4096\n");
        put(root, "memory/ns/c1", "memory.limit_in_bytes", "8192\n");
        put(root, "memory/ns/c1", "memory.stat",
            "cache 10\nrss 20\npgpgin 5\ntotal_cache 11\n"
            "hierarchical_memsw_limit 77\n");
        put(root, "memory/ns/c1", "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\n"
            "oom_kill 2\n");
        assert_int_equal(stats_cgroup_v1(root, proc, &buf, &len, NULL), 0);
        m = io__containerd__cgroups__v1__metrics__unpack(NULL, len, buf);
        assert_non_null(m);
        assert_int_equal(m->pids->current, 3);
        assert_int_equal(m->pids->limit, 0);
        assert_int_equal(m->cpu->usage->total, 5000);
        assert_int_equal(m->cpu->usage->n_per_cpu, 2);
        assert_int_equal(m->cpu->usage->per_cpu[1], 3000);
        assert_int_equal(m->cpu->throttling->periods, 7);
        assert_int_equal(m->cpu->throttling->throttled_time, 99);
        assert_int_equal(m->memory->cache, 10);
        assert_int_equal(m->memory->rss, 20);
        assert_int_equal(m->memory->pg_pg_in, 5);
        assert_int_equal(m->memory->total_cache, 11);
        assert_int_equal(m->memory->hierarchical_swap_limit, 77);
        assert_int_equal(m->memory->usage->usage, 4096);
        assert_int_equal(m->memory->usage->limit, 8192);
        assert_int_equal(m->memory->swap->usage, 0); /* no memsw files: 0 */
        assert_int_equal(m->memory_oom_control->oom_kill, 2);
        io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
        assert_int_equal(rm_rf_at(AT_FDCWD, root), 0);
}

static void test_cgroup_v2_only_is_not_v1(void **state)
{
        uint8_t *buf = NULL;
        size_t len = 0;
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(stats_cgroup_v1("/nonexistent", "0::/ns/c1\n", &buf, &len, &err),
                         -EOPNOTSUPP);
        assert_null(buf);
        assert_non_null(strstr(err.msg, "cgroup v2"));
}

static void test_pure_v2_is_told_from_hybrid(void **state)
{
        (void) state;
        assert_true(stats_is_cgroup_v2("0::/ns/c1\n"));
        assert_true(stats_is_cgroup_v2("0::/\n\n"));
        assert_false(stats_is_cgroup_v2("1:name=systemd:/ns/c1\n0::/ns/c1\n"));
        assert_false(stats_is_cgroup_v2("3:memory:/ns/c1\n0::/ns/c1\n"));
        assert_false(stats_is_cgroup_v2(""));
}

static void put_v2_cgroup(const char *root)
{
        put(root, "ns/c1", "pids.current", "4\n");
        put(root, "ns/c1", "pids.max", "max\n");
        put(root, "ns/c1", "cpu.stat",
            "usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_periods 9\n"
            "nr_throttled 3\nthrottled_usec 77\n");
        put(root, "ns/c1", "memory.current", "8192\n");
        put(root, "ns/c1", "memory.max", "1048576\n");
        put(root, "ns/c1", "memory.swap.current", "12\n");
        put(root, "ns/c1", "memory.swap.max", "max\n");
        put(root, "ns/c1", "memory.stat",
            "anon 100\nfile 200\nkernel_stack 16384\nslab 300\nfile_dirty 5\n"
            "pgfault 42\nthp_collapse_alloc 1\n");
        put(root, "ns/c1", "memory.events", "low 0\nhigh 1\nmax 2\noom 3\noom_kill 4\n");
        put(root, "ns/c1", "io.stat",
            "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
            "253:1 rbytes=10 wbytes=20 rios=3 wios=4 dbytes=0 dios=0\n");
}

static void test_v2_metrics_from_the_unified_cgroup(void **state)
{
        char root[] = "/tmp/berth-test-stats-XXXXXX";
        Io__Containerd__Cgroups__V2__Metrics *m;
        _cleanup_free_ uint8_t *buf = NULL;
        const char *type = NULL;
        size_t len = 0;

        (void) state;
        assert_non_null(mkdtemp(root));
        put_v2_cgroup(root);
        assert_int_equal(stats_cgroup(root, "0::/ns/c1\n", &type, &buf, &len, NULL), 0);
        assert_string_equal(type, "io.containerd.cgroups.v2.Metrics");
        m = io__containerd__cgroups__v2__metrics__unpack(NULL, len, buf);
        assert_non_null(m);
        assert_int_equal(m->pids->current, 4);
        assert_true(m->pids->limit == UINT64_MAX);
        assert_int_equal(m->cpu->usage_usec, 1000);
        assert_int_equal(m->cpu->user_usec, 600);
        assert_int_equal(m->cpu->system_usec, 400);
        assert_int_equal(m->cpu->nr_periods, 9);
        assert_int_equal(m->cpu->nr_throttled, 3);
        assert_int_equal(m->cpu->throttled_usec, 77);
        assert_int_equal(m->memory->anon, 100);
        assert_int_equal(m->memory->file, 200);
        assert_int_equal(m->memory->kernel_stack, 16384);
        assert_int_equal(m->memory->slab, 300);
        assert_int_equal(m->memory->file_dirty, 5);
        assert_int_equal(m->memory->pgfault, 42);
        assert_int_equal(m->memory->thp_collapse_alloc, 1);
        assert_int_equal(m->memory->sock, 0);
        assert_int_equal(m->memory->usage, 8192);
        assert_int_equal(m->memory->usage_limit, 1048576);
        assert_int_equal(m->memory->swap_usage, 12);
        assert_true(m->memory->swap_limit == UINT64_MAX);
        assert_non_null(m->memory_events);
        assert_int_equal(m->memory_events->high, 1);
        assert_int_equal(m->memory_events->max, 2);
        assert_int_equal(m->memory_events->oom, 3);
        assert_int_equal(m->memory_events->oom_kill, 4);
        assert_int_equal(m->io->n_usage, 2);
        assert_int_equal(m->io->usage[0]->major, 8);
        assert_int_equal(m->io->usage[0]->minor, 0);
        assert_int_equal(m->io->usage[0]->rbytes, 4096);
        assert_int_equal(m->io->usage[0]->wbytes, 8192);
        assert_int_equal(m->io->usage[0]->rios, 1);
        assert_int_equal(m->io->usage[0]->wios, 2);
        assert_int_equal(m->io->usage[1]->major, 253);
        assert_int_equal(m->io->usage[1]->minor, 1);
        assert_int_equal(m->io->usage[1]->wios, 4);
        io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
        assert_int_equal(rm_rf_at(AT_FDCWD, root), 0);
}

static void test_v2_empty_cgroup_has_zeros_and_no_memory_events(void **state)
{
        char root[] = "/tmp/berth-test-stats-XXXXXX";
        _cleanup_free_ char *dir = NULL;
        Io__Containerd__Cgroups__V2__Metrics *m;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;

        (void) state;
        assert_non_null(mkdtemp(root));
        dir = xasprintf("%s/ns/c2", root);
        assert_int_equal(mkdir_p_at(AT_FDCWD, dir, 0755), 0);
        assert_int_equal(stats_cgroup_v2(root, "0::/ns/c2\n", &buf, &len, NULL), 0);
        m = io__containerd__cgroups__v2__metrics__unpack(NULL, len, buf);
        assert_non_null(m);
        assert_int_equal(m->pids->current, 0);
        assert_int_equal(m->memory->usage, 0);
        assert_null(m->memory_events);
        assert_int_equal(m->io->n_usage, 0);
        io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
        assert_int_equal(rm_rf_at(AT_FDCWD, root), 0);
}

static void test_v2_gone_cgroup_is_not_found(void **state)
{
        uint8_t *buf = NULL;
        const char *type = NULL;
        size_t len = 0;
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(stats_cgroup("/nonexistent", "0::/ns/c1\n", &type, &buf, &len, &err),
                         -ENOENT);
        assert_null(buf);
        assert_null(type);
        assert_non_null(strstr(err.msg, "/nonexistent/ns/c1"));
        assert_int_equal(stats_cgroup_v2("/nonexistent", "1:pids:/x\n", &buf, &len, &err),
                         -EOPNOTSUPP);
}

static void test_hybrid_stays_on_v1(void **state)
{
        char root[] = "/tmp/berth-test-stats-XXXXXX";
        _cleanup_free_ uint8_t *buf = NULL;
        const char *type = NULL;
        size_t len = 0;

        (void) state;
        assert_non_null(mkdtemp(root));
        put(root, "pids/ns/c1", "pids.current", "3\n");
        put_v2_cgroup(root); /* the unified hierarchy is there too, but ignored */
        assert_int_equal(stats_cgroup(root, "12:pids:/ns/c1\n0::/ns/c1\n", &type, &buf, &len, NULL),
                         0);
        assert_string_equal(type, "io.containerd.cgroups.v1.Metrics");
        assert_int_equal(rm_rf_at(AT_FDCWD, root), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_v1_metrics_from_the_process_cgroups),
                cmocka_unit_test(test_cgroup_v2_only_is_not_v1),
                cmocka_unit_test(test_pure_v2_is_told_from_hybrid),
                cmocka_unit_test(test_v2_metrics_from_the_unified_cgroup),
                cmocka_unit_test(test_v2_empty_cgroup_has_zeros_and_no_memory_events),
                cmocka_unit_test(test_v2_gone_cgroup_is_not_found),
                cmocka_unit_test(test_hybrid_stays_on_v1),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
