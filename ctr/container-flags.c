/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The flags of `ctr containers create` and `ctr run` (cmd/ctr/commands: ContainerFlags,
 * SnapshotterFlags, run's own and platformRunFlags), their defaults (runtime
 * io.containerd.runc.v2, run's --cpu-shares 1024, --cpu-quota -1) and the checks ctr makes
 * of their values. Flags of ctr 1.6 that berth-ctr does not implement (--cni, --uidmap,
 * --gidmap, --remap-labels, --gpus, --seccomp*, --apparmor*, --rdt-class) are refused as
 * unknown.
 */
#include <stdlib.h>

#include "ctr/container.h"
#include "lib/fs.h"
#include "lib/strv.h"

#define MAX_FLAGS 64

static size_t add(struct ctr_flag *flags, size_t n, const char *name, char alias,
                  enum ctr_flag_kind kind, void *value)
{
        assert(n < MAX_FLAGS - 1);
        flags[n] = (struct ctr_flag){name, alias, kind, value};
        return n + 1;
}

static size_t container_flags(struct container_flags *f, struct ctr_flag *t)
{
        struct spec_opts *s = &f->spec;
        size_t n = 0;

        n = add(t, n, "snapshotter", 0, CTR_FLAG_STRING, &f->snapshotter);
        n = add(t, n, "snapshotter-label", 0, CTR_FLAG_LIST, &f->snapshotter_labels);
        n = add(t, n, "config", 'c', CTR_FLAG_STRING, &f->config);
        n = add(t, n, "cwd", 0, CTR_FLAG_STRING, &s->cwd);
        n = add(t, n, "env", 'e', CTR_FLAG_LIST, &s->env);
        n = add(t, n, "env-file", 0, CTR_FLAG_STRING, &s->env_file);
        n = add(t, n, "label", 0, CTR_FLAG_LIST, &s->labels);
        n = add(t, n, "annotation", 0, CTR_FLAG_LIST, &s->annotations);
        n = add(t, n, "mount", 0, CTR_FLAG_LIST, &s->mounts);
        n = add(t, n, "net-host", 0, CTR_FLAG_BOOL, &s->net_host);
        n = add(t, n, "privileged", 0, CTR_FLAG_BOOL, &s->privileged);
        n = add(t, n, "read-only", 0, CTR_FLAG_BOOL, &s->read_only);
        n = add(t, n, "runtime", 0, CTR_FLAG_STRING, &f->runtime);
        n = add(t, n, "runtime-config-path", 0, CTR_FLAG_STRING, &f->runtime_config_path);
        n = add(t, n, "tty", 't', CTR_FLAG_BOOL, &s->tty);
        n = add(t, n, "with-ns", 0, CTR_FLAG_LIST, &s->with_ns);
        n = add(t, n, "pid-file", 0, CTR_FLAG_STRING, &f->pid_file);
        n = add(t, n, "allow-new-privs", 0, CTR_FLAG_BOOL, &s->allow_new_privs);
        n = add(t, n, "memory-limit", 0, CTR_FLAG_STRING, &f->memory_limit);
        n = add(t, n, "device", 0, CTR_FLAG_LIST, &s->devices);
        n = add(t, n, "cap-add", 0, CTR_FLAG_LIST, &s->cap_add);
        n = add(t, n, "cap-drop", 0, CTR_FLAG_LIST, &s->cap_drop);
        n = add(t, n, "rootfs", 0, CTR_FLAG_BOOL, &f->rootfs);
        n = add(t, n, "no-pivot", 0, CTR_FLAG_BOOL, &f->no_pivot);
        n = add(t, n, "cpu-quota", 0, CTR_FLAG_STRING, &f->cpu_quota);
        n = add(t, n, "cpu-period", 0, CTR_FLAG_STRING, &f->cpu_period);
        n = add(t, n, "rootfs-propagation", 0, CTR_FLAG_STRING, &s->rootfs_propagation);
        /* ctr 1.7's, which ctr 1.6 lacks */
        n = add(t, n, "user", 'u', CTR_FLAG_STRING, &s->user);
        n = add(t, n, "hostname", 0, CTR_FLAG_STRING, &s->hostname);
        return n;
}

static size_t run_flags(struct container_flags *f, struct ctr_flag *t, size_t n)
{
        n = add(t, n, "rm", 0, CTR_FLAG_BOOL, &f->rm);
        n = add(t, n, "null-io", 0, CTR_FLAG_BOOL, &f->null_io);
        n = add(t, n, "log-uri", 0, CTR_FLAG_STRING, &f->log_uri);
        n = add(t, n, "detach", 'd', CTR_FLAG_BOOL, &f->detach);
        n = add(t, n, "fifo-dir", 0, CTR_FLAG_STRING, &f->fifo_dir);
        n = add(t, n, "cgroup", 0, CTR_FLAG_STRING, &f->spec.cgroup);
        n = add(t, n, "platform", 0, CTR_FLAG_STRING, &f->platform);
        n = add(t, n, "runc-binary", 0, CTR_FLAG_STRING, &f->runc_binary);
        n = add(t, n, "runc-root", 0, CTR_FLAG_STRING, &f->runc_root);
        n = add(t, n, "runc-systemd-cgroup", 0, CTR_FLAG_BOOL, &f->runc_systemd_cgroup);
        n = add(t, n, "cpus", 0, CTR_FLAG_STRING, &f->cpus);
        n = add(t, n, "cpu-shares", 0, CTR_FLAG_STRING, &f->cpu_shares);
        return n;
}

/* Go's strconv for a flag's value: urfave/cli's "invalid value" wording. */
static int parse_number(const char *name, const char *value, bool is_signed, bool is_float,
                        void *ret, struct errmsg *err)
{
        char *end = NULL;

        errno = 0;
        if (is_float)
                *(double *) ret = strtod(value, &end);
        else if (is_signed)
                *(int64_t *) ret = strtoll(value, &end, 0);
        else if (*value != '-')
                *(uint64_t *) ret = strtoull(value, &end, 0);
        if (!end || end == value || *end || errno)
                return errmsg_set(err, -EINVAL, "invalid value \"%s\" for flag -%s: parse error",
                                  value, name);
        return 0;
}

static int parse_numbers(struct container_flags *f, struct errmsg *err)
{
        struct spec_opts *s = &f->spec;
        int r = 0;

        s->cpu_quota = -1;
        s->cpu_shares = f->is_run ? 1024 : 0;
        if (f->memory_limit)
                r = parse_number("memory-limit", f->memory_limit, false, false, &s->memory_limit,
                                 err);
        if (r >= 0 && f->cpus)
                r = parse_number("cpus", f->cpus, false, true, &s->cpus, err);
        if (r >= 0 && f->cpu_shares) {
                int64_t v = 0;

                r = parse_number("cpu-shares", f->cpu_shares, true, false, &v, err);
                s->cpu_shares = v > 0 ? (uint64_t) v : 0;
        }
        if (r >= 0 && f->cpu_quota)
                r = parse_number("cpu-quota", f->cpu_quota, true, false, &s->cpu_quota, err);
        if (r >= 0 && f->cpu_period)
                r = parse_number("cpu-period", f->cpu_period, false, false, &s->cpu_period, err);
        return r;
}

int container_flags_parse(struct container_flags *f, bool is_run, int argc, char **argv,
                          int *ret_index, struct errmsg *err)
{
        struct ctr_flag flags[MAX_FLAGS] = {{0}};
        size_t n;
        int r;

        *f = (struct container_flags){.is_run = is_run};
        n = container_flags(f, flags);
        if (is_run)
                n = run_flags(f, flags, n);
        flags[n] = (struct ctr_flag){NULL};
        /* ctr's run keeps its operands in order (SkipArgReorder); containers create does not */
        r = (is_run ? ctr_flags_parse_in_order : ctr_flags_parse)(flags, argc, argv, ret_index,
                                                                  err);
        if (r >= 0)
                r = parse_numbers(f, err);
        if (r < 0)
                return r;
        if (!f->runtime)
                f->runtime = CTR_DEFAULT_RUNTIME;
        if (!f->snapshotter)
                f->snapshotter = getenv("CONTAINERD_SNAPSHOTTER");
        f->spec.is_cgroup_set = f->spec.cgroup != NULL;
        return 0;
}

void container_flags_release(struct container_flags *f)
{
        struct spec_opts *s = &f->spec;

        strv_free(f->snapshotter_labels);
        strv_free(s->env);
        strv_free(s->labels);
        strv_free(s->annotations);
        strv_free(s->mounts);
        strv_free(s->with_ns);
        strv_free(s->cap_add);
        strv_free(s->cap_drop);
        strv_free(s->devices);
        *f = (struct container_flags){0};
}
