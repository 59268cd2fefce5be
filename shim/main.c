/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-containerd-shim (installed also as containerd-shim-berth-v2): parses the command
 * line containerd gives a shim v2 and dispatches to start, delete, or the long-lived shim.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "config.h"
#include "lib/log.h"
#include "lib/ttrpc.h"
#include "shim/shim.h"

/* fd of the listening socket the start command hands to the long-lived shim. */
#define INHERITED_LISTEN_FD 3

static int listen_fd(const struct shim_opts *o, int *ret_fd, struct errmsg *err)
{
        struct stat st;

        if (o->socket)
                return ttrpc_listen_unix(o->socket, ret_fd, err);
        if (fstat(INHERITED_LISTEN_FD, &st) < 0 || !S_ISSOCK(st.st_mode))
                return errmsg_set(err, -EBADF, "no listening socket on fd %d (and no -socket)",
                                  INHERITED_LISTEN_FD);
        /* inherited without O_CLOEXEC: the runtimes we run must not get it */
        if (fcntl(INHERITED_LISTEN_FD, F_SETFD, FD_CLOEXEC) < 0)
                return errmsg_set(err, -errno, "fd %d: %s", INHERITED_LISTEN_FD, strerror(errno));
        *ret_fd = INHERITED_LISTEN_FD;
        return 0;
}

int main(int argc, char **argv)
{
        struct shim_opts o;
        struct errmsg err = {0};
        int r, fd;

        (void) signal(SIGPIPE, SIG_IGN);
        log_set_format(LOG_FORMAT_TEXT);
        if (shim_opts_parse(argc, argv, &o, &err) < 0) {
                log_error("%s", err.msg);
                return 2;
        }
        log_set_level(o.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
        if (o.version) {
                printf("%s:\n  Version:  %s\n  Revision: %s\n", argv[0], BERTH_VERSION,
                       BERTH_COMMIT);
                return 0;
        }
        if (!o.namespace || !o.namespace[0]) {
                log_error("shim namespace cannot be empty");
                return 1;
        }
        if (o.action && STREQ(o.action, "start"))
                r = shim_start(&o, &err);
        else if (o.action && STREQ(o.action, "delete"))
                r = shim_delete(&o, &err);
        else if ((r = listen_fd(&o, &fd, &err)) >= 0)
                r = shim_serve(&o, fd, &err);
        if (r < 0) {
                log_error("%s", err.msg[0] ? err.msg : strerror(-r));
                return 1;
        }
        return 0;
}
