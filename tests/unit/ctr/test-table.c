/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for berth-ctr's output helpers (ctr/table.c): Go's text/tabwriter as ctr uses it
 * (column blocks, space and tab padding, widths in runes), go-units' HumanSize and
 * HumanDuration and containerd's progress.Bytes; and go-digest's validation words and ctr's
 * LabelArgs (ctr/content-api.c). The expected texts are what the real ctr 1.6 prints.
 */
#include <stdlib.h>

#include "ctr/image.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

/* Formats the rows into a table (minwidth 1, padding 1, padchar) and returns the text. */
static char *format(char padchar, const char *const *rows)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct table *t;

        assert_non_null(f);
        t = table_new_padchar(f, 1, 8, 1, padchar);
        for (size_t i = 0; rows[i]; i++)
                table_printf(t, "%s", rows[i]);
        table_flush(t);
        assert_int_equal(fclose(f), 0);
        return text;
}

static void test_columns_are_padded_to_the_widest_cell(void **state)
{
        _cleanup_free_ char *s = NULL;

        (void) state;
        s = format(' ', (const char *const[]){"A\tBB\t\n", "CCC\tD\t\n", NULL});
        assert_string_equal(s, "A   BB \nCCC D  \n");
}

static void test_a_line_without_the_column_ends_its_block(void **state)
{
        _cleanup_free_ char *s = NULL;

        (void) state;
        /* Go's tabwriter: each block of consecutive lines has its own width */
        s = format(' ', (const char *const[]){"a\tb\t\n", "ccccc\n", "dd\te\t\n", NULL});
        assert_string_equal(s, "a b \nccccc\ndd e \n");
}

static void test_the_last_cell_is_not_padded(void **state)
{
        _cleanup_free_ char *s = NULL;

        (void) state;
        /* ctr images check: the header ends with a tab, the rows do not */
        s = format(' ', (const char *const[]){"REF\tUNPACKED\t\n", "x\ttrue\n", NULL});
        assert_string_equal(s, "REF UNPACKED \nx   true\n");
}

static void test_tab_padding_rounds_up_to_the_tab_width(void **state)
{
        static const char digest[] =
                "sha256:0499454025912adcff78069a3cadf34dec26c627236c06c9944d798046edc83d";
        _cleanup_free_ char *row = NULL, *want = NULL, *s = NULL;

        (void) state;
        /* ctr content ls: a 71-byte digest makes a 72-wide column, nine tabs after DIGEST */
        row = xasprintf("%s\t120B\t9 seconds\tlabels\n", digest);
        s = format('\t', (const char *const[]){"DIGEST\tSIZE\tAGE\tLABELS\n", row, NULL});
        want = xasprintf(
                "DIGEST\t\t\t\t\t\t\t\t\tSIZE\tAGE\t\tLABELS\n%s\t120B\t9 seconds\tlabels\n",
                digest);
        assert_string_equal(s, want);
}

static void test_widths_count_runes(void **state)
{
        _cleanup_free_ char *s = NULL;

        (void) state;
        s = format(' ', (const char *const[]){"\xc3\xa9\tx\t\n", "ab\ty\t\n", NULL});
        assert_string_equal(s, "\xc3\xa9  x \nab y \n");
}

static void test_empty_table_prints_nothing(void **state)
{
        _cleanup_free_ char *s = NULL;

        (void) state;
        s = format(' ', (const char *const[]){NULL});
        assert_string_equal(s, "");
}

static void test_human_units(void **state)
{
        char buf[64];

        (void) state;
        human_size(120, buf, sizeof(buf));
        assert_string_equal(buf, "120B");
        human_size(1039086, buf, sizeof(buf));
        assert_string_equal(buf, "1.039MB");
        human_size(2140160, buf, sizeof(buf));
        assert_string_equal(buf, "2.14MB");
        human_bytes(0, buf, sizeof(buf));
        assert_string_equal(buf, "0.0 B");
        human_bytes(1039086, buf, sizeof(buf));
        assert_string_equal(buf, "1014.7 KiB");
        human_bytes(2052096, buf, sizeof(buf));
        assert_string_equal(buf, "2.0 MiB");
        human_duration(0, buf, sizeof(buf));
        assert_string_equal(buf, "Less than a second");
        human_duration(1, buf, sizeof(buf));
        assert_string_equal(buf, "1 second");
        human_duration(59, buf, sizeof(buf));
        assert_string_equal(buf, "59 seconds");
        human_duration(60, buf, sizeof(buf));
        assert_string_equal(buf, "About a minute");
        human_duration(3600, buf, sizeof(buf));
        assert_string_equal(buf, "About an hour");
        human_duration(7200, buf, sizeof(buf));
        assert_string_equal(buf, "2 hours");
}

static void test_digests_are_refused_with_go_digest_words(void **state)
{
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(ctr_digest_validate("sha256:"
                                             "0499454025912adcff78069a3cadf34dec26c627236c06c9944d"
                                             "798046edc83d",
                                             NULL),
                         0);
        assert_int_equal(ctr_digest_validate("sha256:1234", &err), -EINVAL);
        assert_string_equal(err.msg, "invalid checksum digest length");
        assert_int_equal(ctr_digest_validate("nothex", &err), -EINVAL);
        assert_string_equal(err.msg, "invalid checksum digest format");
        assert_int_equal(ctr_digest_validate("", &err), -EINVAL);
        assert_string_equal(err.msg, "invalid checksum digest format");
        assert_int_equal(ctr_digest_validate("md5:abcd", &err), -EINVAL);
        assert_string_equal(err.msg, "unsupported digest algorithm");
        assert_int_equal(ctr_digest_validate("sha256:ZZ", &err), -EINVAL);
        assert_string_equal(err.msg, "invalid checksum digest length");
}

static void test_label_args_as_ctr(void **state)
{
        char *args[] = {(char *) "a=1", (char *) "flag", (char *) "a=2", (char *) "b=x=y", NULL};
        _cleanup_strv_ char **labels = NULL;

        (void) state;
        labels = ctr_label_args(args);
        assert_int_equal(strv_length(labels), 6);
        assert_string_equal(labels[0], "a");
        assert_string_equal(labels[1], "2"); /* a later one wins, as in a Go map */
        assert_string_equal(labels[2], "flag");
        assert_string_equal(labels[3], "true");
        assert_string_equal(labels[4], "b");
        assert_string_equal(labels[5], "x=y");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_columns_are_padded_to_the_widest_cell),
                cmocka_unit_test(test_a_line_without_the_column_ends_its_block),
                cmocka_unit_test(test_the_last_cell_is_not_padded),
                cmocka_unit_test(test_tab_padding_rounds_up_to_the_tab_width),
                cmocka_unit_test(test_widths_count_runes),
                cmocka_unit_test(test_empty_table_prints_nothing),
                cmocka_unit_test(test_human_units),
                cmocka_unit_test(test_digests_are_refused_with_go_digest_words),
                cmocka_unit_test(test_label_args_as_ctr),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
