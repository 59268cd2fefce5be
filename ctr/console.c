/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local terminal for ctr -t (console.h), as containerd/console's Current, SetRaw, Reset
 * and Size do it.
 */
#include "ctr/console.h"

#include <sys/ioctl.h>
#include <unistd.h>

int console_current(struct console *ret, struct errmsg *err)
{
        for (int fd = 0; fd <= 2; fd++) {
                struct termios t;

                if (tcgetattr(fd, &t) == 0) {
                        *ret = (struct console){.fd = fd, .saved = t};
                        return 0;
                }
        }
        return errmsg_set(err, -ENOTTY, "provided file is not a console");
}

int console_set_raw(struct console *con, struct errmsg *err)
{
        struct termios t = con->saved;

        cfmakeraw(&t);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(con->fd, TCSANOW, &t) < 0)
                return errmsg_set(err, -errno, "set the terminal raw: %m");
        con->is_raw = true;
        return 0;
}

void console_reset(struct console *con)
{
        if (!con || !con->is_raw)
                return;
        (void) tcsetattr(con->fd, TCSANOW, &con->saved);
        con->is_raw = false;
}

int console_size(const struct console *con, unsigned *ret_width, unsigned *ret_height)
{
        struct winsize ws;

        if (ioctl(con->fd, TIOCGWINSZ, &ws) < 0)
                return -errno;
        *ret_width = ws.ws_col;
        *ret_height = ws.ws_row;
        return 0;
}
