/* SPDX-License-Identifier: Apache-2.0 */
/* cmocka needs these headers before its own; every unit test includes this first. */
#pragma once

/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
/* clang-format on */
