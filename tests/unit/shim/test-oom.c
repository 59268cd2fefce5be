/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the shim's OOM watch (shim/oom.c). The cgroup v1 path runs on the real
 * kernel: a memory cgroup limited to 16 MiB, a child in it that touches 64 MiB, and the
 * eventfd must fire once the OOM killer acts; removing the cgroup must not count as an OOM.
 * Skipped without root or without a v1 memory hierarchy.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/xalloc.h"
#include "shim/oom.h"
#include "tests/unit/unit.h"

#define V1_MEMORY  "/sys/fs/cgroup/memory"
#define LIMIT      (16u << 20)
#define ALLOC_SIZE (64u << 20)

static void count_oom(void *userdata)
{
        (*(unsigned *) userdata)++;
}

/* Steps loop until *count reaches want or timeout_ms passes. */
static void step_until(struct evloop *loop, const unsigned *count, unsigned want, int timeout_ms)
{
        for (int waited = 0; *count < want && waited < timeout_ms; waited += 50)
                assert_true(evloop_step(loop, 50) >= 0);
}

static int write_at(const char *dir, const char *file, const char *value)
{
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0)
                return -errno;
        return write_string_at(dfd, file, value);
}

/* A child in dir that touches ALLOC_SIZE bytes; the OOM killer ends it. */
static pid_t spawn_hog(const char *dir)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                char self[32];
                char *mem;

                (void) snprintf(self, sizeof(self), "%d", (int) getpid());
                if (write_at(dir, "cgroup.procs", self) < 0)
                        _exit(2);
                mem = mmap(NULL, ALLOC_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);
                if (mem == MAP_FAILED)
                        _exit(3);
                for (size_t i = 0; i < ALLOC_SIZE; i += 4096)
                        mem[i] = 1;
                _exit(0);
        }
        return pid;
}

static void test_v1_eventfd_fires_on_oom(void **state)
{
        _cleanup_free_ char *dir = xasprintf(V1_MEMORY "/berth-unit-oom-%d", (int) getpid());
        _cleanup_(oom_watch_freep) struct oom_watch *w = NULL;
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        struct errmsg err = {0};
        unsigned count = 0;
        char limit[32];
        int status;
        pid_t pid;

        (void) state;
        if (geteuid() != 0 || access(V1_MEMORY "/cgroup.event_control", W_OK) < 0)
                skip();
        assert_int_equal(mkdir(dir, 0755), 0);
        (void) snprintf(limit, sizeof(limit), "%u", LIMIT);
        assert_int_equal(write_at(dir, "memory.limit_in_bytes", limit), 0);
        if (access(V1_MEMORY "/memory.memsw.limit_in_bytes", F_OK) == 0)
                assert_int_equal(write_at(dir, "memory.memsw.limit_in_bytes", limit), 0);
        assert_int_equal(evloop_new(&loop), 0);
        assert_int_equal(oom_watch_new(loop, dir, false, count_oom, &count, &w, &err), 0);

        pid = spawn_hog(dir);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
        step_until(loop, &count, 1, 5000);
        assert_true(count >= 1);

        /* The kernel signals the eventfd when the cgroup goes: that is no OOM. */
        count = 0;
        assert_int_equal(rmdir(dir), 0);
        step_until(loop, &count, 1, 300);
        assert_int_equal(count, 0);
}

/* Rewrites dir/memory.events in place (as the kernel updates it: same inode, IN_MODIFY). */
static void put_events(const char *dir, unsigned oom_kill)
{
        _cleanup_free_ char *path = xasprintf("%s/memory.events", dir);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        char text[128];
        int n = snprintf(text, sizeof(text), "low 0\nhigh 0\nmax 3\noom %u\noom_kill %u\n",
                         oom_kill, oom_kill);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, (size_t) n), n);
}

/*
 * The cgroup v2 path: this host's cgroup2 hierarchy has no memory controller (hybrid, memory
 * is v1), so a kernel OOM cannot be caused there. The watch is run on a file in the shape
 * of memory.events, updated in place as the kernel updates it: only an increase of oom_kill is
 * an OOM, and the watch ends when the file goes (the cgroup removed).
 */
static void test_v2_memory_events_watch(void **state)
{
        char dir[] = "/tmp/berth-test-oom-v2-XXXXXX";
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        _cleanup_(oom_watch_freep) struct oom_watch *w = NULL;
        _cleanup_free_ char *file = NULL;
        unsigned count = 0;

        (void) state;
        assert_non_null(mkdtemp(dir));
        file = xasprintf("%s/memory.events", dir);
        put_events(dir, 2); /* kills before the watch began are not reported */
        assert_int_equal(evloop_new(&loop), 0);
        assert_int_equal(oom_watch_new(loop, dir, true, count_oom, &count, &w, NULL), 0);
        put_events(dir, 2);
        step_until(loop, &count, 1, 200);
        assert_int_equal(count, 0);
        put_events(dir, 3);
        step_until(loop, &count, 1, 2000);
        assert_int_equal(count, 1);
        put_events(dir, 5);
        step_until(loop, &count, 2, 2000);
        assert_int_equal(count, 2);
        assert_int_equal(unlink(file), 0);
        assert_int_equal(rmdir(dir), 0);
        step_until(loop, &count, 3, 300);
        assert_int_equal(count, 2);
}

static void test_missing_cgroup_names_the_file(void **state)
{
        struct oom_watch *w = (struct oom_watch *) 0x1;
        _cleanup_(evloop_freep) struct evloop *loop = NULL;
        struct errmsg err = {0};
        unsigned count = 0;

        (void) state;
        assert_int_equal(evloop_new(&loop), 0);
        assert_int_equal(
                oom_watch_new(loop, "/nonexistent/berth", false, count_oom, &count, &w, &err),
                -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/berth/memory.oom_control"));
        assert_ptr_equal(w, (struct oom_watch *) 0x1);
        assert_int_equal(
                oom_watch_new(loop, "/nonexistent/berth", true, count_oom, &count, &w, &err),
                -ENOENT);
        assert_non_null(strstr(err.msg, "memory.events"));
}

static void test_cgroup_find_self(void **state)
{
        _cleanup_free_ char *dir = NULL, *file = NULL;
        bool is_v2;
        int r;

        (void) state;
        r = oom_cgroup_find(getpid(), &dir, &is_v2, NULL);
        if (r == -ENOENT)
                skip();
        assert_int_equal(r, 0);
        assert_true(strncmp(dir, "/sys/fs/cgroup/", 15) == 0);
        file = xasprintf("%s/%s", dir, is_v2 ? "memory.events" : "memory.oom_control");
        assert_int_equal(access(file, F_OK), 0);
        assert_int_equal(oom_cgroup_find(0x7ffffff0, &dir, &is_v2, NULL), -ENOENT);
}

static void test_events_parse(void **state)
{
        uint64_t v = 42;

        (void) state;
        assert_int_equal(oom_events_parse("low 0\nhigh 0\nmax 5\noom 2\noom_kill 3\n", &v), 0);
        assert_int_equal(v, 3);
        assert_int_equal(oom_events_parse("low 0\noom 1", &v), 0);
        assert_int_equal(v, 0);
        v = 42;
        assert_int_equal(oom_events_parse("oom_kill x\n", &v), -EINVAL);
        assert_int_equal(oom_events_parse("oom_kill \n", &v), -EINVAL);
        assert_int_equal(v, 42);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_v1_eventfd_fires_on_oom),
                cmocka_unit_test(test_v2_memory_events_watch),
                cmocka_unit_test(test_missing_cgroup_names_the_file),
                cmocka_unit_test(test_cgroup_find_self),
                cmocka_unit_test(test_events_parse),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
