/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "update": change a container's cgroup limits (man/runc-update.8.md). --resources takes
 * linux.resources JSON (a file or "-"); the flags override single values. Both go through
 * the config.json parser, so validation is the same as at create.
 */
#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "runc/cgroup.h"
#include "runc/cmd.h"
#include "runc/container.h"

enum {
        OPT_BLKIO = 256,
        OPT_CPU_PERIOD,
        OPT_CPU_QUOTA,
        OPT_CPU_SHARE,
        OPT_RT_PERIOD,
        OPT_RT_RUNTIME,
        OPT_CPUS,
        OPT_MEMS,
        OPT_KMEM,
        OPT_KMEM_TCP,
        OPT_MEMORY,
        OPT_MEM_RESERVATION,
        OPT_SWAP,
        OPT_PIDS,
        OPT_L3,
        OPT_MEMBW,
};

/* Each flag: where its value goes in linux.resources, and whether it takes a size. */
static const struct update_flag {
        struct option opt;
        const char *section;
        const char *key;
        bool is_size;
        bool is_string;
} update_flags[] = {
        {{"blkio-weight", required_argument, NULL, OPT_BLKIO}, "blockIO", "weight", false, false},
        {{"cpu-period", required_argument, NULL, OPT_CPU_PERIOD}, "cpu", "period", false, false},
        {{"cpu-quota", required_argument, NULL, OPT_CPU_QUOTA}, "cpu", "quota", false, false},
        {{"cpu-share", required_argument, NULL, OPT_CPU_SHARE}, "cpu", "shares", false, false},
        {{"cpu-rt-period", required_argument, NULL, OPT_RT_PERIOD},
         "cpu",
         "realtimePeriod",
         false,
         false},
        {{"cpu-rt-runtime", required_argument, NULL, OPT_RT_RUNTIME},
         "cpu",
         "realtimeRuntime",
         false,
         false},
        {{"cpuset-cpus", required_argument, NULL, OPT_CPUS}, "cpu", "cpus", false, true},
        {{"cpuset-mems", required_argument, NULL, OPT_MEMS}, "cpu", "mems", false, true},
        {{"kernel-memory", required_argument, NULL, OPT_KMEM}, "memory", "kernel", true, false},
        {{"kernel-memory-tcp", required_argument, NULL, OPT_KMEM_TCP},
         "memory",
         "kernelTCP",
         true,
         false},
        {{"memory", required_argument, NULL, OPT_MEMORY}, "memory", "limit", true, false},
        {{"memory-reservation", required_argument, NULL, OPT_MEM_RESERVATION},
         "memory",
         "reservation",
         true,
         false},
        {{"memory-swap", required_argument, NULL, OPT_SWAP}, "memory", "swap", true, false},
        {{"pids-limit", required_argument, NULL, OPT_PIDS}, "pids", "limit", false, false},
        {{"l3-cache-schema", required_argument, NULL, OPT_L3}, NULL, NULL, false, true},
        {{"mem-bw-schema", required_argument, NULL, OPT_MEMBW}, NULL, NULL, false, true},
};

/* Docker's units.RAMInBytes: "512", "64m", "1.5g", "1GiB"; binary multiples. -1 passes. */
static int parse_size(const char *s, int64_t *ret)
{
        static const char units[] = "bkmgtp";
        char *end;
        double v;
        int64_t mult = 1;

        if (STREQ(s, "-1")) {
                *ret = -1;
                return 0;
        }
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || v < 0)
                return -EINVAL;
        if (*end) {
                const char *u = strchr(units, tolower((unsigned char) *end));

                if (!u)
                        return -EINVAL;
                for (long i = 0; i < u - units; i++)
                        mult *= 1024;
                end++;
                if (*end && strcasecmp(end, "b") != 0 && strcasecmp(end, "ib") != 0)
                        return -EINVAL;
        }
        *ret = (int64_t) (v * (double) mult);
        return 0;
}

static int set_value(json_t *res, const struct update_flag *f, const char *value)
{
        json_t *section, *v;
        int64_t n;

        if (!f->section)
                return 0; /* Intel RDT: not supported, accepted for compatibility */
        if (f->is_string)
                v = json_string(value);
        else if (f->is_size ? parse_size(value, &n) == 0 : parse_int64(value, &n) == 0)
                v = json_integer(n);
        else {
                log_error("invalid value \"%s\" for flag --%s", value, f->opt.name);
                return -EINVAL;
        }
        section = json_object_get(res, f->section);
        if (!section) {
                section = json_object();
                (void) json_object_set_new(res, f->section, section);
        }
        (void) json_object_set_new(section, f->key, v);
        return 0;
}

static json_t *load_resources(const char *path)
{
        _cleanup_free_ char *text = NULL;
        json_error_t jerr;
        json_t *j;
        int r;

        r = STREQ(path, "-") ? read_fd_all(STDIN_FILENO, SPEC_MAX_BYTES, &text, NULL)
                             : read_file_at(AT_FDCWD, path, SPEC_MAX_BYTES, &text, NULL);
        if (r < 0) {
                log_error_errno(r, "--resources %s", path);
                return NULL;
        }
        j = json_loads(text, 0, &jerr);
        if (!j || !json_is_object(j)) {
                log_error("--resources %s: line %d, column %d: %s", path, jerr.line, jerr.column,
                          j ? "expected an object" : jerr.text);
                json_decref(j);
                return NULL;
        }
        return j;
}

static int apply(const struct runc_global *g, const char *id, json_t *res)
{
        _cleanup_(container_state_freep) struct container_state *st = NULL;
        _cleanup_(oci_spec_freep) struct oci_spec *spec = NULL;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        _cleanup_free_ char *text = NULL;
        enum container_status status;
        struct errmsg err = {0};
        json_t *cfg;
        int r;

        cfg = json_pack("{s:s, s:{s:O}}", "ociVersion", "1.0.2", "linux", "resources", res);
        text = json_dumps(cfg, JSON_COMPACT);
        json_decref(cfg);
        r = oci_spec_parse(text, strlen(text), &spec, &err);
        if (r < 0)
                return cmd_fail(&err, r);
        r = container_open(g, id, &st, &status, &err);
        if (r >= 0 && status == STATUS_STOPPED)
                r = errmsg_set(&err, -ESRCH, "container not running");
        if (r >= 0)
                r = state_open_cgroup(st, &cg, &err);
        /* runc's update never touches device rules: a bare list would drop the defaults */
        spec->linux.resources.n_devices = 0;
        if (r >= 0)
                r = cgroup_apply(cg, &spec->linux.resources, &err);
        return r < 0 ? cmd_fail(&err, r) : 0;
}

static void build_options(struct option *opts)
{
        for (size_t i = 0; i < ELEMENTSOF(update_flags); i++)
                opts[i] = update_flags[i].opt;
        opts[ELEMENTSOF(update_flags)] = (struct option){"resources", required_argument, NULL, 'r'};
        opts[ELEMENTSOF(update_flags) + 1] = (struct option){NULL, 0, NULL, 0};
}

/* Pass 1 finds --resources (the base); pass 2 lets each flag override a value, as runc. */
static json_t *parse(int argc, char **argv, const struct option *opts)
{
        const char *resources = NULL;
        json_t *res;
        int opt, r = 0;

        while ((opt = getopt_long(argc, argv, "+r:", opts, NULL)) != -1) {
                if (opt == '?')
                        return NULL;
                if (opt == 'r')
                        resources = optarg;
        }
        res = resources ? load_resources(resources) : json_object();
        optind = 0;
        while (res && r >= 0 && (opt = getopt_long(argc, argv, "+r:", opts, NULL)) != -1)
                for (size_t i = 0; i < ELEMENTSOF(update_flags); i++)
                        if (update_flags[i].opt.val == opt)
                                r = set_value(res, &update_flags[i], optarg);
        if (r < 0) {
                json_decref(res);
                return NULL;
        }
        return res;
}

int cmd_update(const struct runc_global *g, int argc, char **argv)
{
        struct option opts[ELEMENTSOF(update_flags) + 2];
        json_t *res;
        int r;

        build_options(opts);
        cmd_normalize_args(argc, argv, opts);
        res = parse(argc, argv, opts);
        if (!res)
                return 1;
        r = cmd_want_args("update", argc, optind, 1, "[options] <container-id>")
                    ? apply(g, argv[optind], res)
                    : 1;
        json_decref(res);
        return r;
}
