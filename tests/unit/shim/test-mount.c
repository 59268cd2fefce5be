/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for shim/mount.c on the real kernel: an overlay whose lowerdir list is longer
 * than one page of mount options (many layers) is still mounted, as containerd does it.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "shim/mount.h"
#include "tests/unit/unit.h"

#define N_LAYERS 80
#define LONG_DIR "a-directory-name-long-enough-to-make-eighty-layers-overflow-one-page"

static char *make_layers(const char *top)
{
        char *lower = xstrdup("lowerdir=");

        for (int i = N_LAYERS - 1; i >= 0; i--) {
                _cleanup_free_ char *dir = xasprintf("%s/" LONG_DIR "/layer-%02d/fs", top, i);
                _cleanup_free_ char *file = xasprintf("%s/layer-%02d", dir, i);
                char *next;

                assert_int_equal(mkdir_p_at(AT_FDCWD, dir, 0755), 0);
                assert_int_equal(write_file_replace_at(AT_FDCWD, file, "x", 1, 0644), 0);
                /* the first lowerdir is the top layer */
                next = xasprintf("%s%s%s", lower, i == N_LAYERS - 1 ? "" : ":", dir);
                free(lower);
                lower = next;
        }
        return lower;
}

/* In a private mount namespace: mount, look at the merged tree, unmount. */
static int check_in_child(const char *top, char *lower)
{
        _cleanup_free_ char *target = xasprintf("%s/merged", top);
        _cleanup_free_ char *first = xasprintf("%s/layer-00", target);
        _cleanup_free_ char *last = xasprintf("%s/layer-%02d", target, N_LAYERS - 1);
        char *options[] = {lower, (char *) "ro", NULL};
        struct rootfs_mount m = {
                .type = "overlay", .source = "overlay", .options = options, .n_options = 2};
        struct errmsg err = {0};

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return 10;
        if (mkdir(target, 0755) < 0)
                return 11;
        if (rootfs_mount_all(target, &m, 1, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 12;
        }
        if (access(first, F_OK) < 0 || access(last, F_OK) < 0)
                return 13;
        return rootfs_unmount_all(target) == 0 ? 0 : 14;
}

static void test_overlay_with_more_layers_than_a_page(void **state)
{
        char top[] = "/tmp/berth-test-ovl-XXXXXX";
        _cleanup_free_ char *lower = NULL;
        int status;
        pid_t pid;

        (void) state;
        if (geteuid() != 0)
                skip();
        assert_non_null(mkdtemp(top));
        lower = make_layers(top);
        assert_true(strlen(lower) > ROOTFS_MOUNT_DATA_MAX);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(check_in_child(top, lower));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(rm_rf_at(AT_FDCWD, top), 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_overlay_with_more_layers_than_a_page),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
