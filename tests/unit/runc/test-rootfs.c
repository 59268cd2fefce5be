/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for runc/rootfs.c, mount.c and devices.c. The resolver tests run anywhere; the
 * others need root: each builds a small rootfs under /tmp and sets it up in a forked child
 * that has its own mount namespace, which reports failed checks back through a pipe. The
 * parent then checks that no mount leaked into its namespace.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "lib/errmsg.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runc/mount.h"
#include "runc/rootfs.h"
#include "tests/unit/unit.h"

#define S(s) ((char *) (s))

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

/* A temporary directory holding rootfs/ and what gets bound into it. */
struct fixture {
        char dir[64];
        char rootfs[96];
        char src_dir[96];
        char src_file[96];
};

static void fixture_file(const char *dir, const char *path, const char *text, mode_t mode)
{
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

        assert_true(dfd >= 0);
        assert_int_equal(write_file_atomic_at(dfd, path, text, strlen(text), mode), 0);
}

static void fixture_init(struct fixture *f)
{
        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-rootfs-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void) snprintf(f->rootfs, sizeof(f->rootfs), "%s/rootfs", f->dir);
        (void) snprintf(f->src_dir, sizeof(f->src_dir), "%s/src", f->dir);
        (void) snprintf(f->src_file, sizeof(f->src_file), "%s/src-file", f->dir);
        assert_int_equal(mkdir_p_at(AT_FDCWD, f->src_dir, 0755), 0);
        fixture_file(f->src_dir, "f", "from the host", 0644);
        fixture_file(f->dir, "src-file", "bound file", 0644);
        assert_int_equal(mkdir_p_at(AT_FDCWD, f->rootfs, 0755), 0);
}

static void fixture_mkdir(const struct fixture *f, const char *path, mode_t mode)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", f->rootfs, path);

        assert_int_equal(mkdir_p_at(AT_FDCWD, p, 0755), 0);
        assert_int_equal(chmod(p, mode), 0);
}

static bool mountinfo_mentions(const char *s)
{
        _cleanup_free_ char *text = NULL;

        assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16u << 20, &text, NULL), 0);
        return strstr(text, s) != NULL;
}

static void fixture_release(struct fixture *f)
{
        assert_false(mountinfo_mentions(f->dir));
        assert_int_equal(rm_rf_at(AT_FDCWD, f->dir), 0);
}

static bool skip_unless_root(void)
{
        if (geteuid() == 0)
                return false;
        print_message("needs root, skipped\n");
        return true;
}

/* ---- running a child in its own mount namespace ---------------------------------------- */

typedef int (*child_fn)(int out_fd, void *userdata);

/* Runs fn in a child with a new mount namespace; returns its exit status, out its report. */
static int run_in_mount_ns(child_fn fn, void *userdata, char *out, size_t out_size)
{
        int pipefd[2], status = -1;
        size_t len = 0;
        ssize_t n;
        pid_t pid;

        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void) close(pipefd[0]);
                if (unshare(CLONE_NEWNS) < 0)
                        _exit(100);
                _exit(fn(pipefd[1], userdata));
        }
        (void) close(pipefd[1]);
        while (len + 1 < out_size && (n = read(pipefd[0], out + len, out_size - 1 - len)) > 0)
                len += (size_t) n;
        out[len] = '\0';
        (void) close(pipefd[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* In the child: report a failed check and return its exit status. */
#define CHECK(cond)                                                                        \
        do {                                                                               \
                if (!(cond)) {                                                             \
                        dprintf(out_fd, "%s:%d: check failed: %s (errno: %s)\n", __FILE__, \
                                __LINE__, #cond, strerror(errno));                         \
                        return 1;                                                          \
                }                                                                          \
        } while (0)

static bool fs_is(const char *path, long magic)
{
        struct statfs sfs;

        return statfs(path, &sfs) == 0 && sfs.f_type == magic;
}

static bool char_dev_is(const char *path, unsigned major_nr, unsigned minor_nr, mode_t mode)
{
        struct stat st;

        return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == major_nr &&
               minor(st.st_rdev) == minor_nr && (st.st_mode & 07777) == mode;
}

static bool link_is(const char *path, const char *target)
{
        char buf[PATH_MAX];
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);

        if (n < 0)
                return false;
        buf[n] = '\0';
        return STREQ(buf, target);
}

static bool file_is(const char *path, const char *text)
{
        _cleanup_free_ char *got = NULL;

        return read_file_at(AT_FDCWD, path, 4096, &got, NULL) == 0 && STREQ(got, text);
}

static bool open_fails_erofs(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

        if (fd >= 0) {
                (void) close(fd);
                return false;
        }
        return errno == EROFS;
}

static bool dir_is_empty(const char *path)
{
        _cleanup_(closedirp) DIR *d = opendir(path);
        struct dirent *de;

        if (!d)
                return false;
        while ((de = readdir(d)))
                if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, ".."))
                        return false;
        return true;
}

/* ---- the whole sequence --------------------------------------------------------------- */

static char *opts_proc[] = {S("nosuid"), S("noexec"), S("nodev"), NULL};
static char *opts_dev[] = {S("nosuid"), S("strictatime"), S("mode=755"), S("size=65536k"), NULL};
static char *opts_pts[] = {S("nosuid"),        S("noexec"),    S("newinstance"),
                           S("ptmxmode=0666"), S("mode=0620"), NULL};
static char *opts_rbind_ro[] = {S("rbind"), S("ro"), NULL};
static char *opts_bind_ro[] = {S("bind"), S("ro"), NULL};
static char *opts_copyup[] = {S("tmpcopyup"), NULL};
static char *opts_sys[] = {S("nosuid"), S("noexec"), S("nodev"), S("ro"), NULL};
static char *opts_cgroup[] = {S("nosuid"), S("noexec"), S("nodev"), S("relatime"), S("ro"), NULL};
static char *opts_ro[] = {S("ro"), NULL};
static char *masked[] = {S("/secret"), S("/masked-dir"), S("/nonexistent"), S("/proc/kcore"), NULL};
static char *readonly[] = {S("/rodir"), S("/proc/sys"), NULL};

struct full_case {
        const struct fixture *f;
        struct oci_spec *spec;
        long host_cgroup_magic;
};

/* Before pivot_root: the symlinked destination landed inside the rootfs. */
static int check_before_pivot(int out_fd, const struct fixture *f)
{
        _cleanup_free_ char *etc = xasprintf("%s/etc", f->rootfs);

        CHECK(fs_is(etc, TMPFS_MAGIC));
        CHECK(!fs_is("/etc", TMPFS_MAGIC));
        CHECK(access("/etc/passwd", F_OK) == 0);
        return 0;
}

static int check_dev(int out_fd)
{
        struct stat st;

        CHECK(char_dev_is("/dev/null", 1, 3, 0666));
        CHECK(char_dev_is("/dev/urandom", 1, 9, 0666));
        CHECK(char_dev_is("/dev/tty", 5, 0, 0666));
        CHECK(char_dev_is("/dev/sub/zero2", 1, 5, 0600));
        CHECK(stat("/dev/sub/zero2", &st) == 0 && st.st_uid == 1000 && st.st_gid == 1001);
        CHECK(link_is("/dev/ptmx", "pts/ptmx"));
        CHECK(link_is("/dev/fd", "/proc/self/fd"));
        CHECK(link_is("/dev/stderr", "/proc/self/fd/2"));
        CHECK(access("/dev/pts/ptmx", F_OK) == 0);
        CHECK(fs_is("/dev", TMPFS_MAGIC));
        CHECK(fs_is("/dev/mqueue", MQUEUE_MAGIC));
        return 0;
}

static int check_mounts(int out_fd, long host_cgroup_magic)
{
        struct stat st;

        CHECK(access("/proc/self", F_OK) == 0);
        CHECK(file_is("/data/f", "from the host"));
        CHECK(open_fails_erofs("/data/new"));
        CHECK(file_is("/hostfile", "bound file"));
        CHECK(open_fails_erofs("/hostfile"));
        CHECK(lstat("/evil", &st) == 0 && S_ISLNK(st.st_mode));
        CHECK(fs_is("/etc", TMPFS_MAGIC));
        CHECK(fs_is("/tc", TMPFS_MAGIC));
        CHECK(file_is("/tc/hello", "copied"));
        CHECK(stat("/tc/hello", &st) == 0 && (st.st_mode & 07777) == 0640);
        CHECK(stat("/tc", &st) == 0 && (st.st_mode & 07777) == 0750);
        CHECK(link_is("/tc/link", "hello"));
        CHECK(file_is("/tc/sub/deep", "deeper"));
        CHECK(mkdir("/tc/new", 0755) == 0);
        CHECK(fs_is("/sys", SYSFS_MAGIC));
        CHECK(fs_is("/sys/fs/cgroup",
                    host_cgroup_magic == CGROUP2_SUPER_MAGIC ? CGROUP2_SUPER_MAGIC : TMPFS_MAGIC));
        if (host_cgroup_magic != CGROUP2_SUPER_MAGIC &&
            access("/sys/fs/cgroup/memory", F_OK) == 0) {
                CHECK(fs_is("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC));
                CHECK(mkdir("/sys/fs/cgroup/memory/berth-test-rootfs-ro", 0755) < 0 &&
                      errno == EROFS);
        }
        CHECK(mkdir("/sys/fs/cgroup/x", 0755) < 0 && errno == EROFS);
        CHECK(mkdir("/rotmp/x", 0755) < 0 && errno == EROFS);
        return 0;
}

static int check_finish(int out_fd)
{
        CHECK(file_is("/secret", ""));
        CHECK(dir_is_empty("/masked-dir"));
        CHECK(mkdir("/masked-dir/x", 0755) < 0 && errno == EROFS);
        CHECK(file_is("/proc/kcore", "") || access("/proc/kcore", F_OK) < 0);
        CHECK(open_fails_erofs("/rodir/f"));
        CHECK(open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS);
        CHECK(mkdir("/newdir", 0755) < 0 && errno == EROFS);
        return 0;
}

static int child_full(int out_fd, void *userdata)
{
        struct full_case *c = userdata;
        struct errmsg err = {0};
        int r;

        if (rootfs_setup(c->spec, c->f->rootfs, false, &err) < 0)
                return dprintf(out_fd, "rootfs_setup: %s\n", err.msg), 2;
        r = check_before_pivot(out_fd, c->f);
        if (r != 0)
                return r;
        if (rootfs_pivot(c->f->rootfs, false, &err) < 0)
                return dprintf(out_fd, "rootfs_pivot: %s\n", err.msg), 3;
        if (rootfs_finish(c->spec, &err) < 0)
                return dprintf(out_fd, "rootfs_finish: %s\n", err.msg), 4;
        r = check_dev(out_fd);
        if (r == 0)
                r = check_mounts(out_fd, c->host_cgroup_magic);
        if (r == 0)
                r = check_finish(out_fd);
        return r;
}

static void fixture_full_tree(const struct fixture *f)
{
        _cleanup_free_ char *evil = xasprintf("%s/evil", f->rootfs);
        _cleanup_free_ char *tc = xasprintf("%s/tc", f->rootfs);
        _cleanup_free_ char *sub = xasprintf("%s/tc/sub", f->rootfs);
        _cleanup_free_ char *link = xasprintf("%s/tc/link", f->rootfs);
        _cleanup_free_ char *masked_dir = xasprintf("%s/masked-dir", f->rootfs);
        _cleanup_free_ char *rodir = xasprintf("%s/rodir", f->rootfs);

        fixture_mkdir(f, "proc", 0555);
        fixture_mkdir(f, "etc", 0755);
        fixture_mkdir(f, "tc/sub", 0755);
        fixture_mkdir(f, "masked-dir", 0755);
        fixture_mkdir(f, "rodir", 0755);
        fixture_file(f->rootfs, "etc/marker", "rootfs etc", 0644);
        fixture_file(tc, "hello", "copied", 0640);
        fixture_file(sub, "deep", "deeper", 0644);
        fixture_file(masked_dir, "file", "hidden", 0644);
        fixture_file(rodir, "f", "ro", 0644);
        fixture_file(f->rootfs, "secret", "secret", 0644);
        assert_int_equal(chmod(tc, 0750), 0);
        assert_int_equal(symlink("hello", link), 0);
        assert_int_equal(symlink("/etc", evil), 0);
}

static void test_setup_pivot_finish(void **state)
{
        struct fixture f;
        struct oci_mount mounts[11];
        struct oci_device devices[1];
        struct oci_spec spec = {0};
        struct full_case c = {.f = &f, .spec = &spec};
        struct statfs sfs;
        char out[4096];

        (void) state;
        if (skip_unless_root())
                return;
        fixture_init(&f);
        fixture_full_tree(&f);
        assert_int_equal(statfs("/sys/fs/cgroup", &sfs), 0);
        c.host_cgroup_magic = (long) sfs.f_type;
        mounts[0] = (struct oci_mount){S("/proc"), S("proc"), S("proc"), opts_proc};
        mounts[1] = (struct oci_mount){S("/dev"), S("tmpfs"), S("tmpfs"), opts_dev};
        mounts[2] = (struct oci_mount){S("/dev/pts"), S("devpts"), S("devpts"), opts_pts};
        mounts[3] = (struct oci_mount){S("/data"), S("bind"), f.src_dir, opts_rbind_ro};
        mounts[4] = (struct oci_mount){S("/evil"), S("tmpfs"), S("tmpfs"), NULL};
        mounts[5] = (struct oci_mount){S("/tc"), S("tmpfs"), S("tmpfs"), opts_copyup};
        mounts[6] = (struct oci_mount){S("/sys"), S("sysfs"), S("sysfs"), opts_sys};
        mounts[7] = (struct oci_mount){S("/sys/fs/cgroup"), S("cgroup"), S("cgroup"), opts_cgroup};
        mounts[8] = (struct oci_mount){S("/dev/mqueue"), S("mqueue"), S("mqueue"), opts_proc};
        mounts[9] = (struct oci_mount){S("/hostfile"), S("none"), f.src_file, opts_bind_ro};
        mounts[10] = (struct oci_mount){S("/rotmp"), S("tmpfs"), S("tmpfs"), opts_ro};
        devices[0] = (struct oci_device){.path = S("/dev/sub/zero2"),
                                         .type = 'c',
                                         .major = 1,
                                         .minor = 5,
                                         .has_file_mode = true,
                                         .file_mode = 0600,
                                         .has_uid = true,
                                         .uid = 1000,
                                         .has_gid = true,
                                         .gid = 1001};
        spec.mounts = mounts;
        spec.n_mounts = ELEMENTSOF(mounts);
        spec.linux.devices = devices;
        spec.linux.n_devices = ELEMENTSOF(devices);
        spec.linux.masked_paths = masked;
        spec.linux.readonly_paths = readonly;
        spec.root_readonly = true;

        if (run_in_mount_ns(child_full, &c, out, sizeof(out)) != 0)
                fail_msg("child: %s", out);
        /* nothing leaked: the host's /etc and the rootfs's own etc are untouched */
        assert_false(fs_is("/etc", TMPFS_MAGIC));
        assert_int_equal(access("/etc/passwd", F_OK), 0);
        fixture_release(&f);
}

/* ---- devices in a user namespace: bound from the host ---------------------------------- */

static int child_userns_devices(int out_fd, void *userdata)
{
        struct oci_spec *spec = userdata;
        const char *rootfs = spec->root_path;
        _cleanup_free_ char *null = xasprintf("%s/dev/null", rootfs);
        _cleanup_free_ char *tty = xasprintf("%s/dev/tty", rootfs);
        _cleanup_free_ char *ptmx = xasprintf("%s/dev/ptmx", rootfs);
        struct errmsg err = {0};
        struct stat host_null, st;

        if (rootfs_setup(spec, rootfs, true, &err) < 0)
                return dprintf(out_fd, "rootfs_setup: %s\n", err.msg), 2;
        CHECK(stat("/dev/null", &host_null) == 0);
        CHECK(char_dev_is(null, 1, 3, host_null.st_mode & 07777));
        /* the host's node itself, not a new one on the tmpfs */
        CHECK(stat(null, &st) == 0 && st.st_dev == host_null.st_dev &&
              st.st_ino == host_null.st_ino);
        CHECK(access(tty, F_OK) == 0);
        CHECK(link_is(ptmx, "pts/ptmx"));
        return 0;
}

static void test_devices_bound_in_userns(void **state)
{
        static char *opts[] = {S("mode=755"), NULL};
        struct fixture f;
        struct oci_mount mounts[1];
        struct oci_spec spec = {0};
        char out[4096];

        (void) state;
        if (skip_unless_root())
                return;
        fixture_init(&f);
        mounts[0] = (struct oci_mount){S("/dev"), S("tmpfs"), S("tmpfs"), opts};
        spec.mounts = mounts;
        spec.n_mounts = 1;
        spec.root_path = f.rootfs;
        if (run_in_mount_ns(child_userns_devices, &spec, out, sizeof(out)) != 0)
                fail_msg("child: %s", out);
        fixture_release(&f);
}

/* ---- failures name the entry ------------------------------------------------------------ */

struct error_case {
        struct oci_spec *spec;
        const char *rootfs;
};

static int child_report_error(int out_fd, void *userdata)
{
        struct error_case *c = userdata;
        struct errmsg err = {0};
        int r = rootfs_setup(c->spec, c->rootfs, false, &err);

        dprintf(out_fd, "%d|%s", r, err.msg);
        return 0;
}

/* Runs rootfs_setup in a child; returns "code|message". */
static void setup_expect(struct oci_spec *spec, const char *rootfs, const char *expected)
{
        struct error_case c = {.spec = spec, .rootfs = rootfs};
        char out[1024];

        assert_int_equal(run_in_mount_ns(child_report_error, &c, out, sizeof(out)), 0);
        assert_string_equal(out, expected);
}

static void test_errors_name_the_entry(void **state)
{
        static char *bind[] = {S("bind"), NULL};
        struct fixture f;
        struct oci_mount mounts[2];
        struct oci_spec spec = {.mounts = mounts, .n_mounts = 2};
        _cleanup_free_ char *p_link = NULL;

        (void) state;
        if (skip_unless_root())
                return;
        fixture_init(&f);
        mounts[0] = (struct oci_mount){S("/data"), S("bind"), S("/nonexistent-berth"), bind};
        spec.n_mounts = 1;
        setup_expect(
                &spec, f.rootfs,
                "-2|mounts[0] (/data): mount bind /nonexistent-berth: No such file or directory");

        /* over /proc's entries, directly or through a symlink: refused */
        mounts[0] = (struct oci_mount){S("/proc"), S("proc"), S("proc"), NULL};
        mounts[1] = (struct oci_mount){S("/proc/sys"), S("bind"), f.src_dir, bind};
        spec.n_mounts = 2;
        setup_expect(&spec, f.rootfs,
                     "-22|mounts[1] (/proc/sys): cannot mount over /proc/sys: it is inside /proc");
        p_link = xasprintf("%s/p", f.rootfs);
        assert_int_equal(symlink("/proc", p_link), 0);
        mounts[1].destination = S("/p/sys");
        setup_expect(&spec, f.rootfs,
                     "-22|mounts[1] (/p/sys): cannot mount over /proc/sys: it is inside /proc");
        /* the files lxcfs emulates are allowed */
        mounts[1] = (struct oci_mount){S("/proc/uptime"), S("bind"), f.src_file, bind};
        setup_expect(&spec, f.rootfs, "0|");

        /* proc on a symlink */
        mounts[0] = (struct oci_mount){S("/p"), S("proc"), S("proc"), NULL};
        spec.n_mounts = 1;
        setup_expect(
                &spec, f.rootfs,
                "-22|mounts[0] (/p): filesystem proc must be mounted on an ordinary directory");
        fixture_release(&f);
}

/* ---- the resolver ----------------------------------------------------------------------- */

typedef int (*resolve_fn)(int root_fd, const char *path, unsigned flags, int *ret_fd);

static bool same_file(int fd, int dirfd, const char *path)
{
        struct stat a, b;

        return fstat(fd, &a) == 0 && fstatat(dirfd, path, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
               a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void expect_resolves(resolve_fn fn, int root_fd, const char *path, unsigned flags,
                            const char *expected)
{
        _cleanup_close_ int fd = -EBADF;

        assert_int_equal(fn(root_fd, path, flags, &fd), 0);
        if (!same_file(fd, root_fd, expected))
                fail_msg("%s resolved elsewhere than %s", path, expected);
}

static void check_resolver(resolve_fn fn, const char *tag)
{
        char dir[] = "/tmp/berth-test-resolve-XXXXXX";
        _cleanup_close_ int root_fd = -EBADF;
        _cleanup_free_ char *host_new = NULL;
        int fd = 12345;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(root_fd >= 0);
        assert_int_equal(mkdirat(root_fd, "etc", 0755), 0);
        assert_int_equal(mkdirat(root_fd, "d", 0755), 0);
        assert_int_equal(symlinkat("/etc", root_fd, "evil"), 0);
        assert_int_equal(symlinkat("../../../../../etc", root_fd, "up"), 0);
        assert_int_equal(symlinkat("loop", root_fd, "loop"), 0);
        assert_int_equal(symlinkat("d", root_fd, "dl"), 0);
        assert_int_equal(symlinkat("/made/here", root_fd, "dangling"), 0);

        expect_resolves(fn, root_fd, "/evil", 0, "etc");
        expect_resolves(fn, root_fd, "up", 0, "etc");
        expect_resolves(fn, root_fd, "/evil/../../..", 0, ".");
        expect_resolves(fn, root_fd, "/", 0, ".");
        expect_resolves(fn, root_fd, "//dl/./", 0, "d");
        assert_int_equal(fn(root_fd, "/loop", 0, &fd), -ELOOP);
        assert_int_equal(fn(root_fd, "/dl/x", ROOT_PATH_MKDIR | ROOT_PATH_NOFOLLOW, &fd), -ELOOP);
        assert_int_equal(fn(root_fd, "/missing", 0, &fd), -ENOENT);
        assert_int_equal(fd, 12345); /* untouched on failure */

        /* creation stays inside too */
        host_new = xasprintf("/etc/%s-%s", dir + 5, tag);
        expect_resolves(fn, root_fd, host_new, ROOT_PATH_MKDIR, host_new + 1);
        {
                _cleanup_free_ char *via_link = xasprintf("/evil/%s", host_new + 5);

                expect_resolves(fn, root_fd, via_link, ROOT_PATH_MKDIR, host_new + 1);
        }
        assert_int_equal(access(host_new, F_OK), -1);
        expect_resolves(fn, root_fd, "/dangling/x", ROOT_PATH_MKDIR, "made/here/x");
        expect_resolves(fn, root_fd, "/d/file", ROOT_PATH_MKDIR | ROOT_PATH_MKFILE, "d/file");
        assert_int_equal(fstatat(root_fd, "d/file", &st, 0), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(fn(root_fd, "/d/file/x", ROOT_PATH_MKDIR, &fd), -ENOTDIR);

        assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

static void test_resolver_stays_inside_root(void **state)
{
        (void) state;
        check_resolver(root_path_open, "openat2");
        check_resolver(root_path_walk, "walk");
}

static void test_path_helpers(void **state)
{
        (void) state;
        assert_true(path_equal("/dev/", "//dev"));
        assert_false(path_equal("/dev/pts", "/dev"));
        assert_false(path_equal("/devices", "/dev"));
        assert_string_equal(path_startswith("/proc/sys/kernel", "/proc"), "sys/kernel");
        assert_string_equal(path_startswith("/proc", "/proc/"), "");
        assert_null(path_startswith("/procfs", "/proc"));
        assert_null(path_startswith("proc", "/proc"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_helpers),
                cmocka_unit_test(test_resolver_stays_inside_root),
                cmocka_unit_test(test_setup_pivot_finish),
                cmocka_unit_test(test_devices_bound_in_userns),
                cmocka_unit_test(test_errors_name_the_entry),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
