/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-runc: an OCI runtime with runc's command line. main() parses the global options
 * and dispatches to a command; nothing else happens here.
 */
#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>

#include "config.h"
#include "lib/log.h"
#include "runc/cmd.h"
#include "runc/reexec.h"

static const struct runc_command commands[] = {
        {"create", cmd_create, "create a container"},
        {"delete", cmd_delete, "delete any resources held by the container"},
        {"exec", cmd_exec, "execute new process inside the container"},
        {"features", cmd_features, "show the enabled features"},
        {"kill", cmd_kill, "send a signal to the container's init process"},
        {"list", cmd_list, "lists containers started by berth-runc with the given root"},
        {"pause", cmd_pause, "suspend all processes inside the container"},
        {"ps", cmd_ps, "ps displays the processes running inside a container"},
        {"resume", cmd_resume, "resumes all processes that have been previously paused"},
        {"run", cmd_run, "create and run a container"},
        {"spec", cmd_spec, "create a new specification file"},
        {"start", cmd_start, "executes the user defined process in a created container"},
        {"state", cmd_state, "output the state of a container"},
        {"update", cmd_update, "update container resource constraints"},
};

enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_ROOTLESS, OPT_CRIU };

static const struct option global_options[] = {
        {"root", required_argument, NULL, OPT_ROOT},
        {"log", required_argument, NULL, OPT_LOG},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"debug", no_argument, NULL, OPT_DEBUG},
        {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
        {"rootless", required_argument, NULL, OPT_ROOTLESS},
        {"criu", required_argument, NULL, OPT_CRIU},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
};

static void print_version(void)
{
        const struct scmp_version *v = seccomp_version();

        printf("berth-runc version %s\ncommit: %s\nspec: 1.0.2\nlibseccomp: %u.%u.%u\n",
               BERTH_VERSION, BERTH_COMMIT, v->major, v->minor, v->micro);
}

static void print_help(void)
{
        printf("usage: berth-runc [global options] command [command options] [arguments...]\n\n"
               "global options: --root DIR (default " RUNC_DEFAULT_ROOT "), --log FILE,\n"
               "  --log-format text|json, --debug, --systemd-cgroup, --rootless, --version\n\n"
               "commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                printf("  %-10s %s\n", commands[i].name, commands[i].summary);
}

/* Returns 0 to go on, 1 for an error exit, 2 for a successful exit (help, version). */
static int parse_global(int argc, char **argv, struct runc_global *g)
{
        int opt;

        cmd_normalize_args(argc, argv, global_options);
        while ((opt = getopt_long(argc, argv, "+hv", global_options, NULL)) != -1) {
                switch (opt) {
                case OPT_ROOT:
                        g->root = optarg;
                        break;
                case OPT_LOG:
                        g->log = optarg;
                        break;
                case OPT_LOG_FORMAT:
                        if (log_format_from_string(optarg) < 0) {
                                log_error("invalid --log-format \"%s\": text or json", optarg);
                                return 1;
                        }
                        g->log_json = STREQ(optarg, "json");
                        break;
                case OPT_DEBUG:
                        g->debug = true;
                        break;
                case OPT_SYSTEMD:
                        g->systemd_cgroup = true;
                        break;
                case OPT_ROOTLESS:
                        g->rootless = optarg;
                        break;
                case OPT_CRIU:
                        break;
                case 'h':
                        print_help();
                        return 2;
                case 'v':
                        print_version();
                        return 2;
                default:
                        return 1;
                }
        }
        return 0;
}

static int setup_logging(const struct runc_global *g)
{
        int r;

        log_set_format(g->log_json ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
        log_set_level(g->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
        if (g->log) {
                r = log_open_file(g->log);
                if (r < 0)
                        return log_error_errno(r, "--log %s", g->log);
        }
        return 0;
}

/* Commands that put processes into containers run from a read-only mount of ourselves. */
static bool enters_container(const char *name)
{
        return STREQ(name, "create") || STREQ(name, "run") || STREQ(name, "exec");
}

int main(int argc, char **argv)
{
        struct runc_global g = {.root = RUNC_DEFAULT_ROOT};
        struct errmsg err = {0};
        int r;

        /* Not dumpable: container processes cannot open our /proc/<pid>/ files. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        (void) signal(SIGPIPE, SIG_IGN);
        r = parse_global(argc, argv, &g);
        if (r != 0)
                return r == 2 ? 0 : 1;
        if (setup_logging(&g) < 0)
                return 1;
        if (optind >= argc) {
                print_help();
                return 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (!STREQ(argv[optind], commands[i].name))
                        continue;
                if (enters_container(commands[i].name) && runtime_binary_protect(argv, &err) < 0)
                        log_warn("%s, continuing without protection of the runtime binary",
                                 err.msg);
                return commands[i].run(&g, argc - optind, argv + optind);
        }
        log_error("unknown command \"%s\"", argv[optind]);
        return 1;
}
