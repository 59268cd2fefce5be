/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr: the debug client for containerd's gRPC API, with ctr's commands, flags and
 * output. Global flags come before the command, as ctr's: --address/-a
 * ($CONTAINERD_ADDRESS), --namespace/-n ($CONTAINERD_NAMESPACE), --timeout,
 * --connect-timeout, --debug. Errors print as "ctr: <message>" with exit status 1.
 */
#include <stdlib.h>

#include "ctr/commands.h"
#include "lib/log.h"

static const struct ctr_command commands[] = {
        {{"plugins", "plugin"}, "provides information about containerd plugins", NULL, cmd_plugins},
        {{"version"}, "print the client and server versions", cmd_version, NULL},
        {{"namespaces", "namespace", "ns"}, "manage namespaces", NULL, cmd_namespaces},
        {{"containers", "c", "container"}, "manage containers", NULL, cmd_containers},
        {{"tasks", "t", "task"}, "manage tasks", NULL, cmd_tasks},
        {{"run"}, "run a container", cmd_run, NULL},
        {{"events", "event"}, "display containerd events", cmd_events, NULL},
        {{"images", "image", "i"}, "manage images", NULL, cmd_images},
        {{"content"}, "manage content", NULL, cmd_content},
        {{"snapshots", "snapshot"}, "manage snapshots", cmd_snapshots, NULL},
        {{"leases"}, "manage leases", NULL, cmd_leases},
        {{NULL}},
};

/* A Go duration ("10s", "1m30s", "500ms") in milliseconds; -EINVAL when it is not one. */
static int parse_duration(const char *s, int *ret_ms)
{
        static const struct {
                const char *unit;
                double ms;
        } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3},  {"ms", 1},
                     {"s", 1000},  {"m", 60000}, {"h", 3600000}};
        double total = 0;

        if (STREQ(s, "0"))
                return *ret_ms = 0;
        while (*s) {
                char *end;
                double v = strtod(s, &end);
                size_t i;

                if (end == s)
                        return -EINVAL;
                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (strncmp(end, units[i].unit, strlen(units[i].unit)) == 0 &&
                            !(STREQ(units[i].unit, "m") && end[1] == 's'))
                                break;
                if (i == ELEMENTSOF(units))
                        return -EINVAL;
                total += v * units[i].ms;
                s = end + strlen(units[i].unit);
        }
        *ret_ms = total > 0 && total < 1 ? 1 : (int) total;
        return 0;
}

static int parse_global(int argc, char **argv, struct ctr_opts *o, int *ret_index,
                        struct errmsg *err)
{
        const char *timeout = NULL, *connect_timeout = NULL;
        const struct ctr_flag flags[] = {
                {"debug", 0, CTR_FLAG_BOOL, &o->debug},
                {"address", 'a', CTR_FLAG_STRING, &o->address},
                {"timeout", 0, CTR_FLAG_STRING, &timeout},
                {"connect-timeout", 0, CTR_FLAG_STRING, &connect_timeout},
                {"namespace", 'n', CTR_FLAG_STRING, &o->namespace},
                {NULL},
        };
        int r;

        /* the global flags come before the command: nothing is reordered here */
        r = ctr_flags_parse_in_order(flags, argc, argv, ret_index, err);
        if (r < 0)
                return r;
        if (timeout && parse_duration(timeout, &o->timeout_ms) < 0)
                return errmsg_set(err, -EINVAL,
                                  "invalid value \"%s\" for flag -timeout: parse error", timeout);
        if (connect_timeout && parse_duration(connect_timeout, &(int){0}) < 0)
                return errmsg_set(err, -EINVAL,
                                  "invalid value \"%s\" for flag -connect-timeout: parse error",
                                  connect_timeout);
        return 0;
}

int main(int argc, char **argv)
{
        struct ctr_opts o = {
                .address = getenv("CONTAINERD_ADDRESS"),
                .namespace = getenv("CONTAINERD_NAMESPACE"),
        };
        struct ctr c = {.opts = &o};
        struct errmsg err = {0};
        int r, index;

        r = parse_global(argc, argv, &o, &index, &err);
        if (r >= 0) {
                if (!o.address || !*o.address)
                        o.address = CTR_DEFAULT_ADDRESS;
                if (!o.namespace || !*o.namespace)
                        o.namespace = CTR_DEFAULT_NAMESPACE;
                log_set_level(o.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
                r = ctr_dispatch(commands, &c, argc - index, argv + index, &err);
        }
        ctr_release(&c);
        if (r > 0)
                return r; /* a process's exit status (run, tasks start/attach/exec) */
        if (r < 0) {
                fflush(stdout);
                fprintf(stderr, "ctr: %s\n", err.msg[0] ? err.msg : strerror(-r));
                return 1;
        }
        return 0;
}
