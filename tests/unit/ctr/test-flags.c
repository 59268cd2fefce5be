/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for berth-ctr's flag parsing (ctr/flags.c): Go's flag rules, urfave/cli's
 * reordering of flags written after operands ("ctr tasks kill c1 -s 9"), and its absence for
 * run and tasks exec, whose operands end with a command line.
 */
#include <stdlib.h>

#include "ctr/ctr.h"
#include "lib/strv.h"
#include "tests/unit/unit.h"

struct parsed {
        bool all;
        const char *signal;
        char **env;
};

static int parse(bool in_order, char **argv, struct parsed *p, int *ret_index, struct errmsg *err)
{
        const struct ctr_flag flags[] = {
                {"all", 'a', CTR_FLAG_BOOL, &p->all},
                {"signal", 's', CTR_FLAG_STRING, &p->signal},
                {"env", 'e', CTR_FLAG_LIST, &p->env},
                {NULL},
        };
        int argc = (int) strv_length(argv);

        return (in_order ? ctr_flags_parse_in_order : ctr_flags_parse)(flags, argc, argv, ret_index,
                                                                       err);
}

static void test_flags_after_operands_move_before_them(void **state)
{
        char *argv[] = {"kill", "c1", "-s", "9", "-e=A=1", "--all", "-", "--", "-s", NULL};
        struct parsed p = {0};
        struct errmsg err = {0};
        int index = 0;

        (void) state;
        assert_int_equal(parse(false, argv, &p, &index, &err), 0);
        assert_string_equal(p.signal, "9");
        assert_true(p.all);
        assert_non_null(p.env);
        assert_string_equal(p.env[0], "A=1");
        /* "-" went with --all (its value, for all urfave/cli knows) and ends the flags; "--"
         * and what follows it stay behind the operands, in order */
        assert_string_equal(argv[index], "-");
        assert_string_equal(argv[index + 1], "--");
        assert_string_equal(argv[index + 2], "c1");
        assert_string_equal(argv[index + 3], "-s");
        strv_free(p.env);
}

static void test_an_operand_after_a_moved_boolean_ends_the_flags(void **state)
{
        /* urfave/cli moves "x" with --all (it may be its value); Go's flag package then
         * stops at it, so -e is an operand: what ctr does */
        char *argv[] = {"kill", "c1", "--all", "x", "-e", "A=1", NULL};
        struct parsed p = {0};
        struct errmsg err = {0};
        int index = 0;

        (void) state;
        assert_int_equal(parse(false, argv, &p, &index, &err), 0);
        assert_true(p.all);
        assert_null(p.env);
        assert_string_equal(argv[index], "x");
}

static void test_in_order_stops_at_the_first_operand(void **state)
{
        char *argv[] = {"run", "-s", "TERM", "img", "id", "sh", "-s", "x", NULL};
        struct parsed p = {0};
        struct errmsg err = {0};
        int index = 0;

        (void) state;
        assert_int_equal(parse(true, argv, &p, &index, &err), 0);
        assert_string_equal(p.signal, "TERM");
        assert_int_equal(index, 3);
        assert_string_equal(argv[6], "-s"); /* the container's own flag, untouched */
}

static void test_unknown_and_incomplete_flags_are_errors(void **state)
{
        char *unknown[] = {"kill", "--bogus", "c1", NULL};
        char *missing[] = {"kill", "-s", NULL};
        struct parsed p = {0};
        struct errmsg err = {0};
        int index = 42;

        (void) state;
        assert_int_equal(parse(false, unknown, &p, &index, &err), -EINVAL);
        assert_string_equal(err.msg, "flag provided but not defined: -bogus");
        err = (struct errmsg){0};
        assert_int_equal(parse(false, missing, &p, &index, &err), -EINVAL);
        assert_string_equal(err.msg, "flag needs an argument: -s");
        assert_int_equal(index, 42);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_flags_after_operands_move_before_them),
                cmocka_unit_test(test_an_operand_after_a_moved_boolean_ends_the_flags),
                cmocka_unit_test(test_in_order_stops_at_the_first_operand),
                cmocka_unit_test(test_unknown_and_incomplete_flags_are_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
