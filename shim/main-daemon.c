/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-containerd-shim-daemon: the long-lived shim alone, which "start" spawns with the
 * listening socket as fd 3. Built statically where possible: one shim per container stays
 * resident, so it carries no shared libc and no libcrypto (start's address hash).
 */
#include "lib/log.h"
#include "shim/shim.h"

int main(int argc, char **argv)
{
        struct errmsg err = {0};
        struct shim_opts o;
        int r;

        if (shim_main_setup(argc, argv, &o) < 0)
                return 2;
        if (o.action) {
                log_error("%s serves only; \"%s\" is the shim's (berth-containerd-shim)",
                          SHIM_DAEMON_NAME, o.action);
                return 2;
        }
        r = shim_serve_main(&o, &err);
        if (r < 0) {
                log_error("%s", err.msg[0] ? err.msg : strerror(-r));
                return 1;
        }
        return 0;
}
