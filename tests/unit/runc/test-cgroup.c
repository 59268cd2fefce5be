/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for runc/cgroup*.c (being written). */
#include "tests/unit/unit.h"
#include "runc/cgroup-internal.h"

static void test_placeholder(void **state)
{
        (void) state;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_placeholder),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
