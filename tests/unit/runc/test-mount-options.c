/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for runc/mount-options.c: option words to mount(2) flags, propagation,
 * mount_setattr(2) attributes and filesystem data, and the word list for "features".
 */
#include <sys/mount.h>

#include "runc/mount-options.h"
#include "tests/unit/unit.h"

static void test_runc_spec_dev_mount(void **state)
{
        char *opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
        struct mount_flags m;

        (void) state;
        mount_flags_parse(opts, &m);
        assert_int_equal(m.flags, MS_NOSUID | MS_STRICTATIME);
        assert_int_equal(m.clear_flags, 0);
        assert_int_equal(m.propagation, 0);
        assert_string_equal(m.data, "mode=755,size=65536k");
        assert_false(m.tmpcopyup);
        mount_flags_release(&m);
        assert_null(m.data);
}

static void test_devpts_data_keeps_order(void **state)
{
        char *opts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                        "mode=0620", "gid=5",  NULL};
        struct mount_flags m;

        (void) state;
        mount_flags_parse(opts, &m);
        assert_int_equal(m.flags, MS_NOSUID | MS_NOEXEC);
        assert_string_equal(m.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
        mount_flags_release(&m);
}

static void test_later_word_wins(void **state)
{
        char *opts[] = {"ro", "nodev", "rw", "dev", "nosuid", NULL};
        char *opts2[] = {"rw", "ro", NULL};
        struct mount_flags m;

        (void) state;
        mount_flags_parse(opts, &m);
        assert_int_equal(m.flags, MS_NOSUID);
        assert_int_equal(m.clear_flags, MS_RDONLY | MS_NODEV);
        assert_null(m.data);
        mount_flags_parse(opts2, &m);
        assert_int_equal(m.flags, MS_RDONLY);
        assert_int_equal(m.clear_flags, 0);
}

static void test_bind_and_propagation(void **state)
{
        char *opts[] = {"rbind", "rprivate", "ro", NULL};
        char *opts2[] = {"bind", "shared", "slave", NULL};
        struct mount_flags m;

        (void) state;
        mount_flags_parse(opts, &m);
        assert_int_equal(m.flags, MS_BIND | MS_REC | MS_RDONLY);
        assert_int_equal(m.propagation, MS_PRIVATE | MS_REC);
        mount_flags_parse(opts2, &m);
        assert_int_equal(m.flags, MS_BIND);
        assert_int_equal(m.propagation, MS_SLAVE);
}

static void test_recursive_attributes(void **state)
{
        char *opts[] = {"rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime", NULL};
        char *opts2[] = {"rro", "rrw", "rsuid", "rstrictatime", "ratime", "rnosymfollow", NULL};
        struct mount_flags m;

        (void) state;
        mount_flags_parse(opts, &m);
        assert_int_equal(m.rec_attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                 MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOATIME);
        /* setting an access-time mode needs the whole mode in attr_clr */
        assert_int_equal(m.rec_attr_clr, MOUNT_ATTR__ATIME);
        assert_int_equal(m.flags, MS_BIND | MS_REC);

        mount_flags_parse(opts2, &m);
        assert_int_equal(m.rec_attr_set, MOUNT_ATTR_NOSYMFOLLOW);
        assert_int_equal(m.rec_attr_clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR__ATIME);
}

static void test_tmpcopyup_defaults_and_empty(void **state)
{
        char *opts[] = {"defaults", "tmpcopyup", "", NULL};
        struct mount_flags m;

        (void) state;
        mount_flags_parse(opts, &m);
        assert_true(m.tmpcopyup);
        assert_int_equal(m.flags, 0);
        assert_null(m.data);
        mount_flags_parse(NULL, &m);
        assert_false(m.tmpcopyup);
        assert_null(m.data);
        mount_flags_release(&m);
        mount_flags_release(NULL);
}

static void test_other_flags(void **state)
{
        char *opts[] = {"sync",        "dirsync",  "remount",  "mand",     "noatime",
                        "nodiratime",  "relatime", "lazytime", "iversion", "silent",
                        "nosymfollow", "acl",      NULL};
        char *opts2[] = {"async",         "nomand",     "atime",      "diratime", "norelatime",
                         "nostrictatime", "nolazytime", "noiversion", "loud",     "symfollow",
                         "noacl",         "suid",       "exec",       NULL};
        unsigned long all = MS_SYNCHRONOUS | MS_DIRSYNC | MS_REMOUNT | MS_MANDLOCK | MS_NOATIME |
                            MS_NODIRATIME | MS_RELATIME | MS_LAZYTIME | MS_I_VERSION | MS_SILENT |
                            MS_NOSYMFOLLOW | MS_POSIXACL;
        struct mount_flags m;

        (void) state;
        mount_flags_parse(opts, &m);
        assert_int_equal(m.flags, all);
        mount_flags_parse(opts2, &m);
        assert_int_equal(m.flags, 0);
        assert_int_equal(m.clear_flags, (all & ~(MS_DIRSYNC | MS_REMOUNT)) | MS_STRICTATIME |
                                                MS_NOSUID | MS_NOEXEC);
}

static void test_names_are_sorted_known_and_cover_runc(void **state)
{
        /* "runc features" of runc 1.1.5, mountOptions */
        static const char *const runc_words[] = {
                "acl",          "async",       "atime",          "bind",
                "defaults",     "dev",         "diratime",       "dirsync",
                "exec",         "iversion",    "lazytime",       "loud",
                "mand",         "noacl",       "noatime",        "nodev",
                "nodiratime",   "noexec",      "noiversion",     "nolazytime",
                "nomand",       "norelatime",  "nostrictatime",  "nosuid",
                "nosymfollow",  "private",     "ratime",         "rbind",
                "rdev",         "rdiratime",   "relatime",       "remount",
                "rexec",        "rnoatime",    "rnodev",         "rnodiratime",
                "rnoexec",      "rnorelatime", "rnostrictatime", "rnosuid",
                "rnosymfollow", "ro",          "rprivate",       "rrelatime",
                "rro",          "rrw",         "rshared",        "rslave",
                "rstrictatime", "rsuid",       "rsymfollow",     "runbindable",
                "rw",           "shared",      "silent",         "slave",
                "strictatime",  "suid",        "symfollow",      "sync",
                "tmpcopyup",    "unbindable",
        };
        const char *const *names = mount_option_names();
        size_t n = 0;

        (void) state;
        for (; names[n]; n++) {
                assert_true(mount_option_is_known(names[n]));
                if (n > 0)
                        assert_true(strcmp(names[n - 1], names[n]) < 0);
        }
        assert_int_equal(n, ELEMENTSOF(runc_words));
        for (size_t i = 0; i < ELEMENTSOF(runc_words); i++)
                assert_string_equal(names[i], runc_words[i]);
        assert_false(mount_option_is_known("mode=755"));
        assert_false(mount_option_is_known("newinstance"));
        assert_false(mount_option_is_known(""));
        assert_false(mount_option_is_known("zzz"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_runc_spec_dev_mount),
                cmocka_unit_test(test_devpts_data_keeps_order),
                cmocka_unit_test(test_later_word_wins),
                cmocka_unit_test(test_bind_and_propagation),
                cmocka_unit_test(test_recursive_attributes),
                cmocka_unit_test(test_tmpcopyup_defaults_and_empty),
                cmocka_unit_test(test_other_flags),
                cmocka_unit_test(test_names_are_sorted_known_and_cover_runc),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
