/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "ps": the container's processes (man/runc-ps.8.md). json prints the pids of its cgroup;
 * table runs ps(1) with the given options (default -ef) and keeps the header and the lines
 * whose PID column belongs to the container, as runc does.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "runc/cgroup.h"
#include "runc/cmd.h"
#include "runc/container.h"

#define PS_OUTPUT_MAX (16u << 20)

static int container_pids(const struct runc_global *g, const char *id, pid_t **ret, size_t *ret_n)
{
        _cleanup_(container_state_freep) struct container_state *st = NULL;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        enum container_status status;
        struct errmsg err = {0};
        int r;

        r = container_open(g, id, &st, &status, &err);
        if (r >= 0)
                r = state_open_cgroup(st, &cg, &err);
        if (r < 0)
                return cmd_fail(&err, r);
        r = cgroup_get_pids(cg, ret, ret_n);
        if (r < 0)
                return cmd_fail(NULL, r);
        return 0;
}

/* Runs ps with args and returns its standard output. */
static int run_ps(char **args, int n_args, char **ret)
{
        _cleanup_free_ char **argv = xnew0(char *, (size_t) n_args + 2);
        int p[2], status, r;
        pid_t pid;

        argv[0] = (char *) "ps";
        if (n_args == 0)
                argv[1] = (char *) "-ef";
        for (int i = 0; i < n_args; i++)
                argv[i + 1] = args[i];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid == 0) {
                (void) dup2(p[1], STDOUT_FILENO);
                execvp("ps", argv);
                _exit(127);
        }
        (void) close(p[1]);
        r = pid < 0 ? -errno : read_fd_all(p[0], PS_OUTPUT_MAX, ret, NULL);
        (void) close(p[0]);
        if (pid > 0 && (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)))
                r = r < 0 ? r : -EIO;
        return r;
}

/* Index of the PID column in the header, counted in whitespace-separated fields. */
static int pid_column(const char *header)
{
        int col = 0;

        for (const char *p = header; *p;) {
                size_t len;

                p += strspn(p, " \t");
                len = strcspn(p, " \t\n");
                if (len == 3 && strncmp(p, "PID", 3) == 0)
                        return col;
                if (len == 0)
                        break;
                p += len;
                col++;
        }
        return -1;
}

static bool line_has_pid(const char *line, int col, const pid_t *pids, size_t n)
{
        const char *p = line;
        long v;

        for (int i = 0; i <= col; i++) {
                p += strspn(p, " \t");
                if (i < col)
                        p += strcspn(p, " \t\n");
        }
        v = strtol(p, NULL, 10);
        for (size_t i = 0; i < n; i++)
                if (pids[i] == v)
                        return true;
        return false;
}

static int print_table(char **args, int n_args, const pid_t *pids, size_t n)
{
        _cleanup_free_ char *out = NULL;
        char *save = NULL, *line;
        int col, r;

        r = run_ps(args, n_args, &out);
        if (r < 0) {
                log_error_errno(r, "ps");
                return 1;
        }
        line = strtok_r(out, "\n", &save);
        col = line ? pid_column(line) : -1;
        if (col < 0) {
                log_error("ps: could not find the PID field in its output");
                return 1;
        }
        printf("%s\n", line);
        while ((line = strtok_r(NULL, "\n", &save)))
                if (line_has_pid(line, col, pids, n))
                        printf("%s\n", line);
        return 0;
}

int cmd_ps(const struct runc_global *g, int argc, char **argv)
{
        static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                             {NULL, 0, NULL, 0}};
        _cleanup_free_ pid_t *pids = NULL;
        const char *format = "table";
        size_t n = 0;
        int opt, r;

        cmd_normalize_args(argc, argv, opts);
        while ((opt = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
                if (opt != 'f')
                        return 1;
                format = optarg;
        }
        if (argc - optind < 1 || (!STREQ(format, "table") && !STREQ(format, "json"))) {
                log_error(
                        "ps: usage: berth-runc ps [--format table|json] <container-id> [ps options]");
                return 1;
        }
        r = container_pids(g, argv[optind], &pids, &n);
        if (r != 0)
                return r;
        if (STREQ(format, "table"))
                return print_table(argv + optind + 1, argc - optind - 1, pids, n);
        printf("[");
        for (size_t i = 0; i < n; i++)
                printf("%s%d", i ? "," : "", (int) pids[i]);
        printf("]\n");
        return 0;
}
