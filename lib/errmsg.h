/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An error message owned by the caller, on its stack: a negative errno plus "what: why".
 * Functions that can fail because of their input take "struct errmsg *err" last; NULL means
 * the caller only wants the code.
 */
#pragma once

#include "common.h"

struct errmsg {
        int code;      /* negative errno; 0 while unset */
        char msg[512]; /* "what: why", no trailing newline */
};

/* Sets err to code and the formatted message. Returns code; err may be NULL. */
int errmsg_set(struct errmsg *err, int code, const char *fmt, ...) _printf_(3, 4);
/*
 * Prefixes err's message with the formatted text and ": ". If err holds no message yet,
 * the prefix plus strerror(-code) becomes the message. Returns code; err may be NULL.
 */
int errmsg_prefix(struct errmsg *err, int code, const char *fmt, ...) _printf_(3, 4);
