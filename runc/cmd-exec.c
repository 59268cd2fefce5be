/* SPDX-License-Identifier: Apache-2.0 */
/* "exec": runc exec [flags] <container-id> <command> [args...] (man/runc-exec.8.md). */
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runc/cmd.h"
#include "runc/container.h"

enum {
        OPT_CONSOLE = 256,
        OPT_CWD,
        OPT_PIDFILE,
        OPT_LABEL,
        OPT_APPARMOR,
        OPT_NNP,
        OPT_PRESERVE,
        OPT_CGROUP,
        OPT_IGNORE_PAUSED,
};

static const struct option exec_options[] = {
        {"console-socket", required_argument, NULL, OPT_CONSOLE},
        {"cwd", required_argument, NULL, OPT_CWD},
        {"env", required_argument, NULL, 'e'},
        {"tty", no_argument, NULL, 't'},
        {"user", required_argument, NULL, 'u'},
        {"additional-gids", required_argument, NULL, 'g'},
        {"process", required_argument, NULL, 'p'},
        {"detach", no_argument, NULL, 'd'},
        {"pid-file", required_argument, NULL, OPT_PIDFILE},
        {"process-label", required_argument, NULL, OPT_LABEL},
        {"apparmor", required_argument, NULL, OPT_APPARMOR},
        {"no-new-privs", no_argument, NULL, OPT_NNP},
        {"cap", required_argument, NULL, 'c'},
        {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
        {"cgroup", required_argument, NULL, OPT_CGROUP},
        {"ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED},
        {NULL, 0, NULL, 0},
};

static int add_gid(struct exec_opts *o, const char *s)
{
        uint64_t v;

        if (parse_uint64(s, &v) < 0 || v > UINT32_MAX) {
                log_error("invalid value \"%s\" for flag --additional-gids", s);
                return -EINVAL;
        }
        o->additional_gids =
                xrealloc(o->additional_gids, (o->n_additional_gids + 1) * sizeof(uint32_t));
        o->additional_gids[o->n_additional_gids++] = (uint32_t) v;
        return 0;
}

static int parse_one(int opt, struct exec_opts *o)
{
        switch (opt) {
        case OPT_CONSOLE:
                o->console_socket = optarg;
                break;
        case OPT_CWD:
                o->cwd = optarg;
                break;
        case 'e':
                (void) strv_push(&o->env, optarg);
                break;
        case 't':
                o->tty = true;
                break;
        case 'u':
                o->user = optarg;
                break;
        case 'g':
                return add_gid(o, optarg);
        case 'p':
                o->process_file = optarg;
                break;
        case 'd':
                o->detach = true;
                break;
        case OPT_PIDFILE:
                o->pid_file = optarg;
                break;
        case OPT_LABEL:
        case OPT_APPARMOR:
                break; /* no LSM support: accepted, ignored */
        case OPT_NNP:
                o->no_new_privs = true;
                break;
        case 'c':
                (void) strv_push(&o->caps, optarg);
                break;
        case OPT_PRESERVE:
                return cmd_parse_uint("preserve-fds", optarg, &o->preserve_fds);
        case OPT_CGROUP:
                break; /* sub-cgroups: the container's own cgroup is used */
        case OPT_IGNORE_PAUSED:
                o->ignore_paused = true;
                break;
        default:
                return -EINVAL;
        }
        return 0;
}

int cmd_exec(const struct runc_global *g, int argc, char **argv)
{
        struct exec_opts o = {0};
        struct errmsg err = {0};
        int opt, status = 0, r = 0;

        cmd_normalize_args(argc, argv, exec_options);
        while (r >= 0 && (opt = getopt_long(argc, argv, "+e:tu:g:p:dc:", exec_options, NULL)) != -1)
                r = parse_one(opt, &o);
        if (r >= 0 && argc - optind < 1) {
                log_error(
                        "exec: usage: berth-runc exec [options] <container-id> <command> [args...]");
                r = -EINVAL;
        }
        if (r >= 0) {
                o.id = argv[optind];
                o.args = argv + optind + 1;
                r = container_exec(g, &o, &status, &err);
                if (r < 0)
                        (void) cmd_fail(&err, r);
        }
        strv_free(o.env);
        strv_free(o.caps);
        free(o.additional_gids);
        return r < 0 ? 255 : status;
}
