/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for shim/stats.c: cgroup v1 metrics read from a fake hierarchy laid out as
 * systemd mounts it, found through a /proc/<pid>/cgroup text.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "containerd/cgroups/v1/metrics.pb-c.h"
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

static void test_cgroup_v2_only_is_not_supported(void **state)
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_v1_metrics_from_the_process_cgroups),
                cmocka_unit_test(test_cgroup_v2_only_is_not_supported),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
