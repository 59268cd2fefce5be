/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local terminal as containerd/console gives it to ctr -t: the first of stdin, stdout
 * and stderr that is a terminal, put in raw mode while a process with a pty runs, and reset
 * afterwards; its size is what the task's pty is resized to.
 */
#pragma once

#include <stdbool.h>
#include <termios.h>

#include "lib/errmsg.h"

struct console {
        int fd; /* borrowed: 0, 1 or 2 */
        struct termios saved;
        bool is_raw;
};

/* console.Current(): -ENOTTY "provided file is not a console" when none is a terminal. */
int console_current(struct console *ret, struct errmsg *err);
int console_set_raw(struct console *con, struct errmsg *err);
/* Restores the saved mode (once; a console not made raw is left alone). */
void console_reset(struct console *con);
int console_size(const struct console *con, unsigned *ret_width, unsigned *ret_height);
