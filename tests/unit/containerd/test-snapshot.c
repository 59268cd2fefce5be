/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd/snapshot*.c on the real kernel (root): overlay and native snapshotters, their
 * mounts actually mounted, parent chains, commits, removal rules, leftovers after a crash.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "containerd/snapshot.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

struct fixture {
        char dir[64];
        struct metadata *md;
        struct snapshotter *sn;
};

static int setup_type(void **state, enum snapshotter_type type)
{
        struct fixture *f = xnew0(struct fixture, 1);
        _cleanup_free_ char *db = NULL, *root = NULL;

        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-snap-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        db = xasprintf("%s/meta.db", f->dir);
        root = xasprintf("%s/%s", f->dir, snapshotter_type_to_string(type));
        assert_int_equal(metadata_open(db, &f->md, NULL), 0);
        assert_int_equal(snapshotter_open(f->md, type, root, &f->sn, NULL), 0);
        *state = f;
        return 0;
}

static int setup_overlay(void **state)
{
        return setup_type(state, SNAPSHOTTER_OVERLAYFS);
}

static int setup_native(void **state)
{
        return setup_type(state, SNAPSHOTTER_NATIVE);
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        snapshotter_free(f->sn);
        metadata_free(f->md);
        assert_int_equal(rm_rf_at(AT_FDCWD, f->dir), 0);
        free(f);
        return 0;
}

/* Writes name=content into an active snapshot's own directory. */
static void put_file(struct fixture *f, const char *key, const char *name, const char *content)
{
        _cleanup_close_ int fd = -EBADF;

        assert_int_equal(snapshot_open_dir(f->sn, "default", key, &fd, NULL), 0);
        assert_int_equal(write_file_atomic_at(fd, name, content, strlen(content), 0644), 0);
}

static char *joined_options(const struct mount_spec *m)
{
        char *s = xstrdup("");

        strv_foreach (o, m->options) {
                char *next = xasprintf("%s%s%s", s, s[0] ? "," : "", *o);

                free(s);
                s = next;
        }
        return s;
}

/*
 * Mounts m at target in a child with its own mount namespace and checks that path reads
 * want (NULL: absent). Runs in a child so that nothing stays mounted on the host.
 */
static void expect_mounted_file(const struct mount_spec *m, const char *target, const char *path,
                                const char *want)
{
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                _cleanup_free_ char *opts = joined_options(m), *text = NULL;
                _cleanup_close_ int fd = -EBADF;
                unsigned long flags = STREQ(m->type, "bind") ? MS_BIND | MS_REC : 0;
                size_t len;
                int r;

                if (unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(10);
                if (mount(m->source, target, m->type, flags, flags ? NULL : opts) < 0)
                        _exit(11);
                fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = read_file_at(fd, path, 4096, &text, &len);
                if (want ? r < 0 || !STREQ(text, want) : r != -ENOENT)
                        _exit(12);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_overlay_chain_mounts_like_containerd(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *target = xasprintf("%s/mnt", f->dir);
        struct mount_spec *m = NULL;
        size_t n = 0;

        assert_int_equal(mkdir(target, 0755), 0);
        assert_int_equal(snapshot_prepare(f->sn, "default", "base-tmp", NULL, NULL, &m, &n, NULL),
                         0);
        assert_int_equal(n, 1);
        assert_string_equal(m[0].type, "bind");
        assert_string_equal(m[0].options[0], "rw");
        assert_string_equal(m[0].options[1], "rbind");
        mount_specs_free(m, n);
        put_file(f, "base-tmp", "base.txt", "base");
        assert_int_equal(snapshot_commit(f->sn, "default", "base", "base-tmp", NULL, NULL), 0);

        assert_int_equal(snapshot_prepare(f->sn, "default", "top", "base", NULL, &m, &n, NULL), 0);
        assert_string_equal(m[0].type, "overlay");
        assert_string_equal(m[0].source, "overlay");
        assert_non_null(strstr(m[0].options[strv_length(m[0].options) - 1], "lowerdir="));
        assert_non_null(strstr(m[0].options[strv_length(m[0].options) - 2], "upperdir="));
        expect_mounted_file(&m[0], target, "base.txt", "base");
        mount_specs_free(m, n);
        put_file(f, "top", "top.txt", "top");
        assert_int_equal(snapshot_commit(f->sn, "default", "layer2", "top", NULL, NULL), 0);

        /* a view of two layers: read-only overlay with only lowerdir */
        assert_int_equal(snapshot_view(f->sn, "default", "v2", "layer2", NULL, &m, &n, NULL), 0);
        assert_string_equal(m[0].type, "overlay");
        assert_int_equal(strncmp(m[0].options[strv_length(m[0].options) - 1], "lowerdir=", 9), 0);
        assert_null(strstr(m[0].options[0], "upperdir"));
        expect_mounted_file(&m[0], target, "top.txt", "top");
        expect_mounted_file(&m[0], target, "base.txt", "base");
        mount_specs_free(m, n);
        /* a view of one layer: a read-only bind of it */
        assert_int_equal(snapshot_view(f->sn, "default", "v1", "base", NULL, &m, &n, NULL), 0);
        assert_string_equal(m[0].type, "bind");
        assert_string_equal(m[0].options[0], "ro");
        expect_mounted_file(&m[0], target, "top.txt", NULL);
        mount_specs_free(m, n);
}

static void test_kinds_parents_and_removal(void **state)
{
        struct fixture *f = *state;
        struct snapshot_info info, *all = NULL;
        struct errmsg err = {0};
        int64_t size = 0, inodes = 0;
        size_t n = 0;
        char *labels[] = {"containerd.io/gc.root", "x", NULL};

        assert_int_equal(snapshot_prepare(f->sn, "default", "a", "missing", NULL, NULL, NULL, &err),
                         -ENOENT);
        assert_int_equal(snapshot_prepare(f->sn, "default", "a", NULL, labels, NULL, NULL, NULL),
                         0);
        assert_int_equal(snapshot_prepare(f->sn, "default", "a", NULL, NULL, NULL, NULL, NULL),
                         -EEXIST);
        assert_int_equal(snapshot_prepare(f->sn, "default", "b", "a", NULL, NULL, NULL, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "not committed"));
        put_file(f, "a", "f", "0123456789");
        assert_int_equal(snapshot_usage(f->sn, "default", "a", &size, &inodes, NULL), 0);
        assert_int_equal(inodes, 1);
        assert_true(size > 0);
        assert_int_equal(snapshot_commit(f->sn, "default", "A", "a", NULL, NULL), 0);
        assert_int_equal(snapshot_stat(f->sn, "default", "a", &info, NULL), -ENOENT);
        assert_int_equal(snapshot_commit(f->sn, "default", "A2", "A", NULL, &err), -EINVAL);
        assert_int_equal(snapshot_prepare(f->sn, "default", "b", "A", NULL, NULL, NULL, NULL), 0);
        assert_int_equal(snapshot_stat(f->sn, "default", "b", &info, NULL), 0);
        assert_string_equal(info.parent, "A");
        assert_int_equal(info.kind, SNAPSHOT_KIND_ACTIVE);
        snapshot_info_release(&info);
        assert_int_equal(snapshot_update_labels(f->sn, "default", "A", labels, false, NULL), 0);
        assert_int_equal(snapshot_stat(f->sn, "default", "A", &info, NULL), 0);
        assert_string_equal(info.labels[0], "containerd.io/gc.root");
        assert_int_equal(info.kind, SNAPSHOT_KIND_COMMITTED);
        snapshot_info_release(&info);
        assert_int_equal(snapshot_list(f->sn, "default", &all, &n, NULL), 0);
        assert_int_equal(n, 2);
        snapshot_infos_free(all, n);
        assert_int_equal(snapshot_remove(f->sn, "default", "A", &err), -EBUSY);
        assert_non_null(strstr(err.msg, "child"));
        assert_int_equal(snapshot_remove(f->sn, "default", "b", NULL), 0);
        assert_int_equal(snapshot_remove(f->sn, "default", "A", NULL), 0);
        assert_int_equal(snapshot_list(f->sn, "default", &all, &n, NULL), 0);
        assert_int_equal(n, 0);
        snapshot_infos_free(all, n);
}

static void test_unpack_in_parallel_then_commit_in_order(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd1 = -EBADF, fd2 = -EBADF;
        struct snapshot_info info;

        assert_int_equal(snapshot_prepare_unpack(f->sn, "default", "unpack-1", &fd1, NULL), 0);
        assert_int_equal(snapshot_prepare_unpack(f->sn, "default", "unpack-2", &fd2, NULL), 0);
        assert_int_equal(write_file_atomic_at(fd2, "two", "2", 1, 0644), 0);
        assert_int_equal(write_file_atomic_at(fd1, "one", "1", 1, 0644), 0);
        /* the upper layer cannot go on a parent that is not committed yet */
        assert_int_equal(snapshot_commit_onto(f->sn, "default", "chain-2", "unpack-2", "chain-1",
                                              NULL, NULL),
                         -ENOENT);
        assert_int_equal(
                snapshot_commit_onto(f->sn, "default", "chain-1", "unpack-1", NULL, NULL, NULL), 0);
        assert_int_equal(snapshot_commit_onto(f->sn, "default", "chain-2", "unpack-2", "chain-1",
                                              NULL, NULL),
                         0);
        assert_int_equal(snapshot_stat(f->sn, "default", "chain-2", &info, NULL), 0);
        assert_string_equal(info.parent, "chain-1");
        snapshot_info_release(&info);
}

static void test_leftover_directories_are_removed_on_open(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *root = xasprintf("%s/overlayfs", f->dir);
        _cleanup_free_ char *stray = xasprintf("%s/snapshots/999/fs", root);
        _cleanup_free_ char *kept = NULL;
        struct snapshotter *again = NULL;

        assert_int_equal(snapshot_prepare(f->sn, "default", "live", NULL, NULL, NULL, NULL, NULL),
                         0);
        assert_int_equal(mkdir_p_at(AT_FDCWD, stray, 0755), 0);
        assert_int_equal(snapshotter_open(f->md, SNAPSHOTTER_OVERLAYFS, root, &again, NULL), 0);
        assert_int_equal(access(stray, F_OK), -1);
        kept = xasprintf("%s/snapshots/1/fs", root);
        assert_int_equal(access(kept, F_OK), 0);
        snapshotter_free(again);
}

static void test_native_copies_the_parent(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *target = xasprintf("%s/mnt", f->dir);
        _cleanup_close_ int fd = -EBADF;
        struct mount_spec *m = NULL;
        struct stat a, b;
        size_t n = 0;

        assert_int_equal(mkdir(target, 0755), 0);
        assert_int_equal(
                snapshot_prepare(f->sn, "default", "base-tmp", NULL, NULL, NULL, NULL, NULL), 0);
        assert_int_equal(snapshot_open_dir(f->sn, "default", "base-tmp", &fd, NULL), 0);
        assert_int_equal(mkdirat(fd, "d", 0750), 0);
        assert_int_equal(write_file_atomic_at(fd, "d/f", "data", 4, 0640), 0);
        assert_int_equal(linkat(fd, "d/f", fd, "hard", 0), 0);
        assert_int_equal(symlinkat("d/f", fd, "sym"), 0);
        assert_int_equal(mknodat(fd, "fifo", S_IFIFO | 0600, 0), 0);
        assert_int_equal(fchownat(fd, "d/f", 1000, 1001, 0), 0);
        fd = safe_close(fd);
        assert_int_equal(snapshot_commit(f->sn, "default", "base", "base-tmp", NULL, NULL), 0);
        assert_int_equal(snapshot_prepare(f->sn, "default", "child", "base", NULL, &m, &n, NULL),
                         0);
        assert_string_equal(m[0].type, "bind");
        assert_string_equal(m[0].options[0], "rw");
        expect_mounted_file(&m[0], target, "d/f", "data");
        mount_specs_free(m, n);
        assert_int_equal(snapshot_open_dir(f->sn, "default", "child", &fd, NULL), 0);
        assert_int_equal(fstatat(fd, "d/f", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fstatat(fd, "hard", &b, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        assert_int_equal(a.st_uid, 1000);
        assert_int_equal(a.st_gid, 1001);
        assert_int_equal(a.st_mode & 07777, 0640);
        assert_int_equal(fstatat(fd, "sym", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISLNK(a.st_mode));
        assert_int_equal(fstatat(fd, "fifo", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISFIFO(a.st_mode));
        assert_int_equal(fstatat(fd, "d", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(a.st_mode & 07777, 0750);
        assert_int_equal(snapshot_prepare_unpack(f->sn, "default", "x", &fd, NULL), -EOPNOTSUPP);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_overlay_chain_mounts_like_containerd,
                                                setup_overlay, teardown),
                cmocka_unit_test_setup_teardown(test_kinds_parents_and_removal, setup_overlay,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_kinds_parents_and_removal, setup_native,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_unpack_in_parallel_then_commit_in_order,
                                                setup_overlay, teardown),
                cmocka_unit_test_setup_teardown(test_leftover_directories_are_removed_on_open,
                                                setup_overlay, teardown),
                cmocka_unit_test_setup_teardown(test_native_copies_the_parent, setup_native,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
