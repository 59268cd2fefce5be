/* SPDX-License-Identifier: Apache-2.0 */
/* "create" and "run": runc create|run [flags] <container-id> (man/runc-create.8.md). */
#include <signal.h>

#include "lib/log.h"
#include "runc/cmd.h"
#include "runc/container.h"

enum { OPT_CONSOLE = 256, OPT_PIDFILE, OPT_NOPIVOT, OPT_NOKEYRING, OPT_PRESERVE, OPT_KEEP };

static const struct option create_options[] = {
        {"bundle", required_argument, NULL, 'b'},
        {"console-socket", required_argument, NULL, OPT_CONSOLE},
        {"pid-file", required_argument, NULL, OPT_PIDFILE},
        {"no-pivot", no_argument, NULL, OPT_NOPIVOT},
        {"no-new-keyring", no_argument, NULL, OPT_NOKEYRING},
        {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
        {"detach", no_argument, NULL, 'd'},
        {"keep", no_argument, NULL, OPT_KEEP},
        {"no-subreaper", no_argument, NULL, OPT_KEEP},
        {NULL, 0, NULL, 0},
};

struct create_cmd {
        struct create_opts o;
        bool detach;
        bool keep;
};

static int parse(int argc, char **argv, bool is_run, struct create_cmd *c)
{
        int opt;

        cmd_normalize_args(argc, argv, create_options);
        while ((opt = getopt_long(argc, argv, is_run ? "+b:d" : "+b:", create_options, NULL)) !=
               -1) {
                switch (opt) {
                case 'b':
                        c->o.bundle = optarg;
                        break;
                case OPT_CONSOLE:
                        c->o.console_socket = optarg;
                        break;
                case OPT_PIDFILE:
                        c->o.pid_file = optarg;
                        break;
                case OPT_NOPIVOT:
                        c->o.no_pivot = true;
                        break;
                case OPT_NOKEYRING:
                        c->o.no_new_keyring = true;
                        break;
                case OPT_PRESERVE:
                        if (cmd_parse_uint("preserve-fds", optarg, &c->o.preserve_fds) < 0)
                                return -EINVAL;
                        break;
                case 'd':
                        c->detach = true;
                        break;
                case OPT_KEEP:
                        c->keep = true;
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (!cmd_want_args(is_run ? "run" : "create", argc, optind, 1, "[options] <container-id>"))
                return -EINVAL;
        c->o.id = argv[optind];
        return 0;
}

int cmd_create(const struct runc_global *g, int argc, char **argv)
{
        struct create_cmd c = {.o.console_fd = -EBADF};
        struct create_result res;
        struct errmsg err = {0};
        int r;

        if (parse(argc, argv, false, &c) < 0)
                return 1;
        r = container_create(g, &c.o, &res, &err);
        if (r < 0)
                return cmd_fail(&err, r);
        return 0;
}

/* Without --console-socket a foreground "run" keeps the terminal itself, as runc does. */
static int run_foreground(const struct runc_global *g, struct create_cmd *c, int console_ours)
{
        _cleanup_close_ int master = -EBADF;
        struct create_result res;
        struct errmsg err = {0};
        int status = 0, r;

        r = container_create(g, &c->o, &res, &err);
        c->o.console_fd = safe_close(c->o.console_fd);
        if (r < 0)
                return cmd_fail(&err, r);
        if (res.terminal && recv_fd(console_ours, &master) < 0)
                r = errmsg_set(&err, -EPROTO, "receive the container's pty master");
        if (r >= 0)
                r = container_start(g, c->o.id, &err);
        if (r < 0) {
                (void) container_delete(g, c->o.id, true, NULL);
                return cmd_fail(&err, r);
        }
        r = wait_foreground(res.pid, master, &status);
        if (r < 0)
                log_error_errno(r, "wait for container %s", c->o.id);
        if (!c->keep) {
                r = container_delete(g, c->o.id, true, &err);
                if (r < 0)
                        log_warn("delete %s: %s, ignoring", c->o.id, err.msg);
        }
        return status;
}

int cmd_run(const struct runc_global *g, int argc, char **argv)
{
        _cleanup_close_ int console_ours = -EBADF;
        struct create_cmd c = {.o.console_fd = -EBADF};
        struct create_result res;
        struct errmsg err = {0};
        int r;

        if (parse(argc, argv, true, &c) < 0)
                return 1;
        if (!c.detach) {
                if (!c.o.console_socket) {
                        r = console_pair(&console_ours, &c.o.console_fd);
                        if (r < 0)
                                return cmd_fail(NULL, r);
                }
                return run_foreground(g, &c, console_ours);
        }
        r = container_create(g, &c.o, &res, &err);
        if (r >= 0)
                r = container_start(g, c.o.id, &err);
        if (r < 0) {
                (void) container_delete(g, c.o.id, true, NULL);
                return cmd_fail(&err, r);
        }
        return 0;
}
