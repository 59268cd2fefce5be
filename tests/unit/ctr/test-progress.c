/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for berth-ctr's pull progress (ctr/progress.c): the bar, a whole block compared
 * byte for byte with one the real ctr 1.6 printed while pulling, the terminal line count
 * pkg/progress clears with, and Go's Duration formatting of "done: ...".
 */
#include <stdlib.h>

#include "ctr/progress.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

#define GREEN "\x1b[32m"
#define RESET "\x1b[0m"
#define FULL  "|" GREEN "++++++++++++++++++++++++++++++++++++++" RESET "|"
#define EMPTY "|" GREEN RESET "--------------------------------------|"

static void test_bar(void **state)
{
        char buf[64];

        (void) state;
        progress_bar(1.0, 40, buf, sizeof(buf));
        assert_string_equal(buf, FULL);
        progress_bar(0.0, 40, buf, sizeof(buf));
        assert_string_equal(buf, EMPTY);
        progress_bar(0.5, 40, buf, sizeof(buf));
        assert_string_equal(buf, "|" GREEN "+++++++++++++++++++" RESET "-------------------|");
        progress_bar(7.0, 40, buf, sizeof(buf));
        assert_string_equal(buf, FULL);
        progress_bar(-1.0, 40, buf, sizeof(buf));
        assert_string_equal(buf, EMPTY);
        progress_bar(0.5, 40, buf, 8); /* too small: nothing */
        assert_string_equal(buf, "");
}

/* A block the real `ctr images pull` printed 0.1 s into a pull. */
static const char ctr_block[] =
        "127.0.0.1:57189/library/busybox:latest:                                           "
        "resolved       " FULL " \n"
        "manifest-sha256:6292d9fbbab0dea8f4581936bbcd345b5848ec18930ae0901f12120fe1111b78: "
        "done           " FULL " \n"
        "layer-sha256:0499454025912adcff78069a3cadf34dec26c627236c06c9944d798046edc83d:    "
        "done           " FULL " \n"
        "config-sha256:4ba7e45c76e989a67b9bf31af614d2309a69020ee54b47ffeedd325725c03b08:   "
        "done           " FULL " \n"
        "layer-sha256:ea53d8e9dd324464f850e5b52aa62756bc9c61e870479a7facbdc1e321b2e43e:    "
        "downloading    " EMPTY "    0.0 B/1014.7 KiB \n"
        "elapsed: 0.1 s                                                                    "
        "total:  996.0  (8.9 KiB/s)                                       \n";

static void test_block_is_ctrs(void **state)
{
        const struct progress_status v[] = {
                {"127.0.0.1:57189/library/busybox:latest", PROGRESS_RESOLVED, 0, 0},
                {"manifest-sha256:6292d9fbbab0dea8f4581936bbcd345b5848ec18930ae0901f12120fe1111b78",
                 PROGRESS_DONE, 610, 610},
                {"layer-sha256:0499454025912adcff78069a3cadf34dec26c627236c06c9944d798046edc83d",
                 PROGRESS_DONE, 120, 120},
                {"config-sha256:4ba7e45c76e989a67b9bf31af614d2309a69020ee54b47ffeedd325725c03b08",
                 PROGRESS_DONE, 266, 266},
                {"layer-sha256:ea53d8e9dd324464f850e5b52aa62756bc9c61e870479a7facbdc1e321b2e43e",
                 PROGRESS_DOWNLOADING, 0, 1039086},
        };
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct table *t;

        (void) state;
        assert_non_null(f);
        t = table_new_padchar(f, 1, 8, 1, ' ');
        progress_display(t, v, ELEMENTSOF(v), 0.109);
        table_flush(t);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(text, ctr_block);
}

static void test_states_and_waiting_lines(void **state)
{
        const struct progress_status v[] = {
                {"x", PROGRESS_RESOLVING, 0, 0},
                {"layer-a", PROGRESS_WAITING, 0, 0},
                {"layer-b", PROGRESS_EXISTS, 0, 0},
        };
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct table *t;

        (void) state;
        assert_string_equal(progress_state_to_string(PROGRESS_DOWNLOADING), "downloading");
        assert_null(progress_state_to_string(_PROGRESS_STATE_MAX));
        t = table_new_padchar(f, 1, 8, 1, ' ');
        progress_display(t, v, ELEMENTSOF(v), 0.0);
        table_flush(t);
        assert_int_equal(fclose(f), 0);
        /* the bars are 49 runes wide, their escapes counted as Go's tabwriter counts them */
        assert_string_equal(text, "x:             resolving      " EMPTY " \n"
                                  "layer-a:       waiting        " EMPTY " \n"
                                  "layer-b:       exists         " FULL " \n"
                                  "elapsed: 0.0 s total:   0.0 B (0.0 B/s)"
                                  "                                         \n");
}

static void test_count_lines_as_pkg_progress(void **state)
{
        (void) state;
        assert_int_equal(progress_count_lines("a\nb\n", 80), 2);
        assert_int_equal(progress_count_lines("a\nb\n", 0), 0);
        /* 10 characters on a 4-column terminal take 3 lines; the escapes take none */
        assert_int_equal(progress_count_lines("0123456789\n", 4), 3);
        assert_int_equal(progress_count_lines(GREEN "0123" RESET "\n", 4), 1);
        assert_int_equal(progress_count_lines(ctr_block, 300), 6);
}

static void test_duration_as_go(void **state)
{
        char buf[64];

        (void) state;
        progress_duration(0, buf, sizeof(buf));
        assert_string_equal(buf, "0s");
        progress_duration(850, buf, sizeof(buf));
        assert_string_equal(buf, "850ns");
        progress_duration(1500, buf, sizeof(buf));
        assert_string_equal(buf, "1.5µs");
        progress_duration(113491382, buf, sizeof(buf));
        assert_string_equal(buf, "113.491382ms");
        progress_duration(2000000, buf, sizeof(buf));
        assert_string_equal(buf, "2ms");
        progress_duration(2500000000, buf, sizeof(buf));
        assert_string_equal(buf, "2.5s");
        progress_duration(90000000000, buf, sizeof(buf));
        assert_string_equal(buf, "1m30s");
        progress_duration(3600500000000, buf, sizeof(buf));
        assert_string_equal(buf, "1h0m0.5s");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bar),
                cmocka_unit_test(test_block_is_ctrs),
                cmocka_unit_test(test_states_and_waiting_lines),
                cmocka_unit_test(test_count_lines_as_pkg_progress),
                cmocka_unit_test(test_duration_as_go),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
