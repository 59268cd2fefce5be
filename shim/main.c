/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-containerd-shim (installed also as containerd-shim-berth-v2): parses the command
 * line containerd gives a shim v2 and dispatches to start, delete, or the long-lived shim.
 */
#include "config.h"
#include "lib/log.h"
#include "shim/shim.h"

int main(int argc, char **argv)
{
        struct shim_opts o;
        struct errmsg err = {0};
        int r;

        if (shim_main_setup(argc, argv, &o) < 0)
                return 2;
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
        else
                r = shim_serve_main(&o, &err);
        if (r < 0) {
                log_error("%s", err.msg[0] ? err.msg : strerror(-r));
                return 1;
        }
        return 0;
}
