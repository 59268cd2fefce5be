/* SPDX-License-Identifier: Apache-2.0 */
/* lib/log: the hand-made RFC 3339 timestamps, checked against glibc's gmtime_r + strftime. */
#include <time.h>

#include "lib/log.h"
#include "tests/unit/unit.h"

static void expect_same_as_libc(time_t sec, long nsec)
{
        struct timespec ts = {.tv_sec = sec, .tv_nsec = nsec};
        char ours[LOG_TIME_MAX], want[LOG_TIME_MAX];
        struct tm tm;
        size_t n;

        assert_non_null(gmtime_r(&sec, &tm));
        n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
        (void) snprintf(want + n, sizeof(want) - n, ".%09ldZ", nsec);
        log_format_time(&ts, ours, sizeof(ours));
        assert_string_equal(ours, want);
}

static void test_known_instants(void **state)
{
        struct timespec ts = {.tv_sec = 1795908513, .tv_nsec = 1};
        char buf[LOG_TIME_MAX];

        (void) state;
        log_format_time(&ts, buf, sizeof(buf));
        assert_string_equal(buf, "2026-11-28T23:28:33.000000001Z");
        ts = (struct timespec){0};
        log_format_time(&ts, buf, sizeof(buf));
        assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
}

static void test_leap_days_and_century_rules(void **state)
{
        (void) state;
        expect_same_as_libc(951782400, 0);         /* 2000-02-29 (divisible by 400) */
        expect_same_as_libc(951868799, 999999999); /* 2000-03-01 23:59:59 */
        expect_same_as_libc(4107542400, 5);        /* 2100-03-01 (2100 is not a leap year) */
        expect_same_as_libc(1709164800, 7);        /* 2024-02-29 */
        expect_same_as_libc(-1, 0);                /* 1969-12-31T23:59:59 */
        expect_same_as_libc(-86400 * 366, 0);      /* 1968 */
}

static void test_every_day_for_four_centuries(void **state)
{
        (void) state;
        /* 1900..2300 a day at a time, at a time of day that moves through the day */
        for (time_t sec = -2208988800; sec < 10413792000; sec += 86400 + 3607)
                expect_same_as_libc(sec, sec % 1000000000);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_known_instants),
                cmocka_unit_test(test_leap_days_and_century_rules),
                cmocka_unit_test(test_every_day_for_four_centuries),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
