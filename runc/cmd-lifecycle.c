/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one-container commands: start, kill, delete, pause, resume (man/runc-start.8.md,
 * runc-kill.8.md, runc-delete.8.md, runc-pause.8.md, runc-resume.8.md).
 */
#include <signal.h>

#include "lib/log.h"
#include "runc/cgroup.h"
#include "runc/cmd.h"
#include "runc/container.h"

static const struct option no_options[] = {{NULL, 0, NULL, 0}};

/* Parses options that none of these commands have beyond the listed ones. */
static int parse_plain(const char *cmd, int argc, char **argv, int n_args, const char *usage)
{
        cmd_normalize_args(argc, argv, no_options);
        if (getopt_long(argc, argv, "+", no_options, NULL) != -1)
                return -EINVAL;
        return cmd_want_args(cmd, argc, optind, n_args, usage) ? 0 : -EINVAL;
}

int cmd_start(const struct runc_global *g, int argc, char **argv)
{
        struct errmsg err = {0};
        int r;

        if (parse_plain("start", argc, argv, 1, "<container-id>") < 0)
                return 1;
        r = container_start(g, argv[optind], &err);
        return r < 0 ? cmd_fail(&err, r) : 0;
}

int cmd_kill(const struct runc_global *g, int argc, char **argv)
{
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
        struct errmsg err = {0};
        bool all = false;
        int opt, sig = SIGTERM, r;

        cmd_normalize_args(argc, argv, opts);
        while ((opt = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
                if (opt != 'a')
                        return 1;
                all = true;
        }
        if (argc - optind < 1 || argc - optind > 2) {
                log_error("kill: usage: berth-runc kill [--all] <container-id> [signal]");
                return 1;
        }
        if (argc - optind == 2) {
                sig = signal_from_string(argv[optind + 1]);
                if (sig < 0) {
                        log_error("invalid signal \"%s\"", argv[optind + 1]);
                        return 1;
                }
        }
        r = container_kill(g, argv[optind], sig, all, &err);
        return r < 0 ? cmd_fail(&err, r) : 0;
}

int cmd_delete(const struct runc_global *g, int argc, char **argv)
{
        static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
        struct errmsg err = {0};
        bool force = false;
        int opt, r;

        cmd_normalize_args(argc, argv, opts);
        while ((opt = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
                if (opt != 'f')
                        return 1;
                force = true;
        }
        if (!cmd_want_args("delete", argc, optind, 1, "[--force] <container-id>"))
                return 1;
        r = container_delete(g, argv[optind], force, &err);
        /* runc: deleting what does not exist is fine with --force */
        if (r == -ENOENT && force)
                return 0;
        return r < 0 ? cmd_fail(&err, r) : 0;
}

static int pause_or_resume(const struct runc_global *g, int argc, char **argv, bool pause)
{
        const char *cmd = pause ? "pause" : "resume";
        _cleanup_(container_state_freep) struct container_state *st = NULL;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        struct errmsg err = {0};
        enum container_status status;
        int r;

        if (parse_plain(cmd, argc, argv, 1, "<container-id>") < 0)
                return 1;
        r = container_open(g, argv[optind], &st, &status, &err);
        if (r < 0)
                return cmd_fail(&err, r);
        if (pause ? status != STATUS_RUNNING && status != STATUS_CREATED
                  : status != STATUS_PAUSED) {
                log_error("container not %s", pause ? "running" : "paused");
                return 1;
        }
        r = state_open_cgroup(st, &cg, &err);
        if (r >= 0)
                r = cgroup_freeze(cg, pause, &err);
        return r < 0 ? cmd_fail(&err, r) : 0;
}

int cmd_pause(const struct runc_global *g, int argc, char **argv)
{
        return pause_or_resume(g, argc, argv, true);
}

int cmd_resume(const struct runc_global *g, int argc, char **argv)
{
        return pause_or_resume(g, argc, argv, false);
}
