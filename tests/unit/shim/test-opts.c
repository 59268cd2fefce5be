/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the shim's command line (shim/opts.c) and its socket address
 * (shim/address.c), checked against the address real containerd 1.6 computed.
 */
#include "lib/xalloc.h"
#include "shim/shim.h"
#include "tests/unit/unit.h"

static int parse(struct shim_opts *o, struct errmsg *err, char **argv)
{
        int argc = 0;

        while (argv[argc])
                argc++;
        return shim_opts_parse(argc, argv, o, err);
}

static void test_start_command_line_as_containerd_builds_it(void **state)
{
        char *argv[] = {"/usr/bin/containerd-shim-berth-v2",
                        "-namespace",
                        "default",
                        "-address",
                        "/run/containerd/containerd.sock",
                        "-publish-binary",
                        "/usr/bin/containerd",
                        "-id",
                        "c1",
                        "-debug",
                        "start",
                        NULL};
        struct shim_opts o;
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(parse(&o, &err, argv), 0);
        assert_string_equal(o.self, "/usr/bin/containerd-shim-berth-v2");
        assert_string_equal(o.namespace, "default");
        assert_string_equal(o.address, "/run/containerd/containerd.sock");
        assert_string_equal(o.publish_binary, "/usr/bin/containerd");
        assert_string_equal(o.id, "c1");
        assert_true(o.debug);
        assert_false(o.version);
        assert_null(o.bundle);
        assert_string_equal(o.action, "start");
}

static void test_go_flag_forms(void **state)
{
        char *argv[] = {"shim", "--namespace=ns", "-id=x",   "--bundle", "/b", "-debug=false",
                        "-v",   "delete",         "ignored", NULL};
        struct shim_opts o;

        (void) state;
        assert_int_equal(parse(&o, NULL, argv), 0);
        assert_string_equal(o.namespace, "ns");
        assert_string_equal(o.id, "x");
        assert_string_equal(o.bundle, "/b");
        assert_false(o.debug);
        assert_true(o.version);
        assert_string_equal(o.publish_binary, "containerd");
        assert_string_equal(o.action, "delete");
}

static void test_serve_without_action_and_double_dash(void **state)
{
        char *plain[] = {"shim", "-namespace", "n", "-id", "i", NULL};
        char *dashes[] = {"shim", "-id", "i", "--", "-not-a-flag", NULL};
        struct shim_opts o;

        (void) state;
        assert_int_equal(parse(&o, NULL, plain), 0);
        assert_null(o.action);
        assert_int_equal(parse(&o, NULL, dashes), -EINVAL); /* "-not-a-flag" is no action */
}

static void test_bad_flags_name_the_flag_and_leave_ret_untouched(void **state)
{
        char *unknown[] = {"shim", "-namespace", "n", "-nope", NULL};
        char *missing[] = {"shim", "-id", NULL};
        char *badbool[] = {"shim", "-debug=maybe", NULL};
        char *action[] = {"shim", "-id", "i", "restart", NULL};
        struct shim_opts o = {.id = "untouched"};
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(parse(&o, &err, unknown), -EINVAL);
        assert_string_equal(err.msg, "flag provided but not defined: -nope");
        assert_int_equal(parse(&o, &err, missing), -EINVAL);
        assert_string_equal(err.msg, "flag needs an argument: -id");
        assert_int_equal(parse(&o, &err, badbool), -EINVAL);
        assert_non_null(strstr(err.msg, "-debug"));
        assert_int_equal(parse(&o, &err, action), -EINVAL);
        assert_non_null(strstr(err.msg, "\"restart\""));
        assert_string_equal(o.id, "untouched");
}

static void check_join(const char *a, const char *b, const char *c, const char *want)
{
        const char *elems[] = {a, b, c};
        _cleanup_free_ char *got = shim_path_join(elems, 3);

        assert_string_equal(got, want);
}

static void test_path_join_cleans_like_go(void **state)
{
        (void) state;
        check_join("/run/containerd/containerd.sock", "default", "c1",
                   "/run/containerd/containerd.sock/default/c1");
        check_join("/a//b/", "ns", "id", "/a/b/ns/id");
        check_join("a", "", "b", "a/b");
        check_join("", "", "", "");
        check_join("/x/../y", "ns", "./id", "/y/ns/id");
        check_join("/..", "a", "", "/a");
        check_join("../a", "..", "b", "../b");
        check_join("a", "../..", "", "..");
        check_join("a", "..", "", ".");
        check_join("/", "", "", "/");
        check_join("a/b/", "./c", "..", "a/b");
}

static void test_socket_address_matches_containerd(void **state)
{
        /* <bundle>/address that containerd 1.6.20 + containerd-shim-runc-v2 wrote for
         * -address /tmp/btshim/containerd.sock -namespace bt -id r1 */
        _cleanup_free_ char *a = NULL, *b = NULL;

        (void) state;
        assert_int_equal(shim_socket_address("/tmp/btshim/containerd.sock", "bt", "r1", &a), 0);
        assert_int_equal(shim_socket_address("/tmp/btshim//containerd.sock", "bt", "r1", &b), 0);
        assert_string_equal(a, "unix:///run/containerd/s/"
                               "bb4426bed3c6d8aaf2700431df775746aad54c6390370c640b46d56dafc7e311");
        assert_string_equal(a, b); /* filepath.Join cleans before hashing */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_start_command_line_as_containerd_builds_it),
                cmocka_unit_test(test_go_flag_forms),
                cmocka_unit_test(test_serve_without_action_and_double_dash),
                cmocka_unit_test(test_bad_flags_name_the_flag_and_leave_ret_untouched),
                cmocka_unit_test(test_path_join_cleans_like_go),
                cmocka_unit_test(test_socket_address_matches_containerd),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
