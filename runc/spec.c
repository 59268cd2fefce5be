/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.json (OCI runtime-spec v1.0.2, config.md) into struct oci_spec: the top level,
 * process, root, mounts, hooks and annotations, plus the name tables of spec.h
 * (namespaces, hooks, capabilities, rlimits). The linux section is in spec-linux.c. Each
 * parser fills a part of a zeroed struct that oci_spec_free() can release however far the
 * parse got, so no error path needs its own cleanup.
 */
#include "runc/spec.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>

#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runc/spec-json.h"

/* Namespace types */

static const char *const ns_type_names[_NS_TYPE_MAX] = {
        [NS_PID] = "pid", [NS_NETWORK] = "network", [NS_MOUNT] = "mount",   [NS_IPC] = "ipc",
        [NS_UTS] = "uts", [NS_USER] = "user",       [NS_CGROUP] = "cgroup", [NS_TIME] = "time",
};

static const char *const ns_proc_names[_NS_TYPE_MAX] = {
        [NS_PID] = "pid", [NS_NETWORK] = "net", [NS_MOUNT] = "mnt",     [NS_IPC] = "ipc",
        [NS_UTS] = "uts", [NS_USER] = "user",   [NS_CGROUP] = "cgroup", [NS_TIME] = "time",
};

static const int ns_clone_flags[_NS_TYPE_MAX] = {
        [NS_PID] = CLONE_NEWPID,       [NS_NETWORK] = CLONE_NEWNET, [NS_MOUNT] = CLONE_NEWNS,
        [NS_IPC] = CLONE_NEWIPC,       [NS_UTS] = CLONE_NEWUTS,     [NS_USER] = CLONE_NEWUSER,
        [NS_CGROUP] = CLONE_NEWCGROUP, [NS_TIME] = CLONE_NEWTIME,
};

const char *ns_type_to_string(enum ns_type type)
{
        return (unsigned) type < _NS_TYPE_MAX ? ns_type_names[type] : NULL;
}

int ns_type_from_string(const char *s)
{
        for (size_t i = 0; i < _NS_TYPE_MAX; i++)
                if (STREQ(ns_type_names[i], s))
                        return (int) i;
        return -EINVAL;
}

int ns_type_to_clone_flag(enum ns_type type)
{
        return (unsigned) type < _NS_TYPE_MAX ? ns_clone_flags[type] : 0;
}

const char *ns_type_to_proc_name(enum ns_type type)
{
        return (unsigned) type < _NS_TYPE_MAX ? ns_proc_names[type] : NULL;
}

/* Hooks */

static const char *const hook_kind_names[_HOOK_KIND_MAX] = {
        [HOOK_PRESTART] = "prestart",
        [HOOK_CREATE_RUNTIME] = "createRuntime",
        [HOOK_CREATE_CONTAINER] = "createContainer",
        [HOOK_START_CONTAINER] = "startContainer",
        [HOOK_POSTSTART] = "poststart",
        [HOOK_POSTSTOP] = "poststop",
};

const char *hook_kind_to_string(enum hook_kind kind)
{
        return (unsigned) kind < _HOOK_KIND_MAX ? hook_kind_names[kind] : NULL;
}

/*
 * Capabilities. A table rather than libcap's cap_from_name(): libcap spells names in lower
 * case and knows only the capabilities of the libcap it was built with, while the spec's
 * names are the upper-case ones of <linux/capability.h>.
 */

static const char *const capability_names[] = {
        [CAP_CHOWN] = "CAP_CHOWN",
        [CAP_DAC_OVERRIDE] = "CAP_DAC_OVERRIDE",
        [CAP_DAC_READ_SEARCH] = "CAP_DAC_READ_SEARCH",
        [CAP_FOWNER] = "CAP_FOWNER",
        [CAP_FSETID] = "CAP_FSETID",
        [CAP_KILL] = "CAP_KILL",
        [CAP_SETGID] = "CAP_SETGID",
        [CAP_SETUID] = "CAP_SETUID",
        [CAP_SETPCAP] = "CAP_SETPCAP",
        [CAP_LINUX_IMMUTABLE] = "CAP_LINUX_IMMUTABLE",
        [CAP_NET_BIND_SERVICE] = "CAP_NET_BIND_SERVICE",
        [CAP_NET_BROADCAST] = "CAP_NET_BROADCAST",
        [CAP_NET_ADMIN] = "CAP_NET_ADMIN",
        [CAP_NET_RAW] = "CAP_NET_RAW",
        [CAP_IPC_LOCK] = "CAP_IPC_LOCK",
        [CAP_IPC_OWNER] = "CAP_IPC_OWNER",
        [CAP_SYS_MODULE] = "CAP_SYS_MODULE",
        [CAP_SYS_RAWIO] = "CAP_SYS_RAWIO",
        [CAP_SYS_CHROOT] = "CAP_SYS_CHROOT",
        [CAP_SYS_PTRACE] = "CAP_SYS_PTRACE",
        [CAP_SYS_PACCT] = "CAP_SYS_PACCT",
        [CAP_SYS_ADMIN] = "CAP_SYS_ADMIN",
        [CAP_SYS_BOOT] = "CAP_SYS_BOOT",
        [CAP_SYS_NICE] = "CAP_SYS_NICE",
        [CAP_SYS_RESOURCE] = "CAP_SYS_RESOURCE",
        [CAP_SYS_TIME] = "CAP_SYS_TIME",
        [CAP_SYS_TTY_CONFIG] = "CAP_SYS_TTY_CONFIG",
        [CAP_MKNOD] = "CAP_MKNOD",
        [CAP_LEASE] = "CAP_LEASE",
        [CAP_AUDIT_WRITE] = "CAP_AUDIT_WRITE",
        [CAP_AUDIT_CONTROL] = "CAP_AUDIT_CONTROL",
        [CAP_SETFCAP] = "CAP_SETFCAP",
        [CAP_MAC_OVERRIDE] = "CAP_MAC_OVERRIDE",
        [CAP_MAC_ADMIN] = "CAP_MAC_ADMIN",
        [CAP_SYSLOG] = "CAP_SYSLOG",
        [CAP_WAKE_ALARM] = "CAP_WAKE_ALARM",
        [CAP_BLOCK_SUSPEND] = "CAP_BLOCK_SUSPEND",
        [CAP_AUDIT_READ] = "CAP_AUDIT_READ",
        [CAP_PERFMON] = "CAP_PERFMON",
        [CAP_BPF] = "CAP_BPF",
        [CAP_CHECKPOINT_RESTORE] = "CAP_CHECKPOINT_RESTORE",
};

int capability_from_name(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(capability_names); i++)
                if (capability_names[i] && STREQ(capability_names[i], name))
                        return (int) i;
        return -EINVAL;
}

const char *capability_to_name(int cap)
{
        if (cap < 0 || (size_t) cap >= ELEMENTSOF(capability_names))
                return NULL;
        return capability_names[cap];
}

int capability_last_cap(void)
{
        _cleanup_free_ char *text = NULL;
        uint64_t last;

        if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 32, &text, NULL) < 0)
                return CAP_LAST_CAP;
        text[strcspn(text, "\n")] = '\0';
        if (parse_uint64(text, &last) < 0 || last > 63)
                return CAP_LAST_CAP;
        return (int) last;
}

/* Resource limits: every RLIMIT_* of getrlimit(2). */

static const struct {
        const char *name;
        int resource;
} rlimit_table[] = {
        {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
        {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
};

int rlimit_from_name(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(rlimit_table); i++)
                if (STREQ(rlimit_table[i].name, name))
                        return rlimit_table[i].resource;
        return -EINVAL;
}

/* process */

static int parse_console_size(json_t *obj, const char *path, struct oci_process *p,
                              struct errmsg *err)
{
        char pc[JPATH_MAX];
        uint32_t height = 0, width = 0;
        json_t *cs;
        int r;

        r = jget_object(obj, path, "consoleSize", 0, &cs, err);
        if (r <= 0)
                return r;
        (void) jpath_key(pc, path, "consoleSize");
        r = jget_uint32(cs, pc, "height", JSON_REQUIRED, &height, err);
        if (r < 0)
                return r;
        r = jget_uint32(cs, pc, "width", JSON_REQUIRED, &width, err);
        if (r < 0)
                return r;
        p->has_console_size = true;
        p->console_height = height;
        p->console_width = width;
        return 0;
}

static int parse_additional_gids(json_t *user, const char *path, struct oci_user *u,
                                 struct errmsg *err)
{
        char pa[JPATH_MAX], pi[JPATH_MAX];
        json_t *arr, *v;
        size_t i;
        int r;

        r = jget_array(user, path, "additionalGids", 0, &arr, err);
        if (r <= 0)
                return r;
        (void) jpath_key(pa, path, "additionalGids");
        u->additional_gids = xnew0(uint32_t, json_array_size(arr));
        json_array_foreach (arr, i, v) {
                uint64_t gid;

                r = jval_uint64(v, jpath_index(pi, pa, i), UINT32_MAX, &gid, err);
                if (r < 0)
                        return r;
                u->additional_gids[u->n_additional_gids++] = (uint32_t) gid;
        }
        return 0;
}

static int parse_user(json_t *obj, const char *path, struct oci_user *u, struct errmsg *err)
{
        char pu[JPATH_MAX];
        json_t *user;
        int r;

        /* Optional, as for runc: a missing user is root. */
        r = jget_object(obj, path, "user", 0, &user, err);
        if (r <= 0)
                return r;
        (void) jpath_key(pu, path, "user");
        r = jget_uint32(user, pu, "uid", JSON_REQUIRED, &u->uid, err);
        if (r < 0)
                return r;
        r = jget_uint32(user, pu, "gid", JSON_REQUIRED, &u->gid, err);
        if (r < 0)
                return r;
        r = jget_uint32(user, pu, "umask", 0, &u->umask, err);
        if (r < 0)
                return r;
        u->has_umask = r > 0;
        r = parse_additional_gids(user, pu, u, err);
        if (r < 0)
                return r;
        r = jget_string(user, pu, "username", 0, &u->username, err);
        return r < 0 ? r : 0;
}

/* runc refuses these when it builds the environment; refuse them up front. */
static int check_env(char **env, const char *path, struct errmsg *err)
{
        for (size_t i = 0; env && env[i]; i++) {
                const char *eq = strchr(env[i], '=');

                if (!eq)
                        return errmsg_set(err, -EINVAL, "%s[%zu]: \"%s\" has no '='", path, i,
                                          env[i]);
                if (eq == env[i])
                        return errmsg_set(err, -EINVAL, "%s[%zu]: empty variable name", path, i);
        }
        return 0;
}

static int parse_args_env_cwd(json_t *obj, const char *path, struct oci_process *p,
                              struct errmsg *err)
{
        char pk[JPATH_MAX];
        int r;

        r = jget_strv(obj, path, "args", JSON_REQUIRED, &p->args, err);
        if (r < 0)
                return r;
        if (!p->args[0])
                return errmsg_set(err, -EINVAL, "%s: must not be empty",
                                  jpath_key(pk, path, "args"));
        r = jget_strv(obj, path, "env", 0, &p->env, err);
        if (r < 0)
                return r;
        r = check_env(p->env, jpath_key(pk, path, "env"), err);
        if (r < 0)
                return r;
        r = jget_abs_path(obj, path, "cwd", JSON_REQUIRED, &p->cwd, err);
        return r < 0 ? r : 0;
}

static int parse_capability_set(json_t *caps, const char *path, const char *key, uint64_t *ret_mask,
                                struct errmsg *err)
{
        char ps[JPATH_MAX], pi[JPATH_MAX];
        json_t *arr, *v;
        size_t i;
        int r;

        r = jget_array(caps, path, key, 0, &arr, err);
        if (r <= 0)
                return r;
        (void) jpath_key(ps, path, key);
        json_array_foreach (arr, i, v) {
                const char *name;
                int cap;

                r = jval_string(v, jpath_index(pi, ps, i), &name, err);
                if (r < 0)
                        return r;
                cap = capability_from_name(name);
                if (cap < 0)
                        return errmsg_set(err, -EINVAL, "%s: unknown capability \"%s\"", pi, name);
                *ret_mask |= UINT64_C(1) << cap;
        }
        return 0;
}

static int parse_capabilities(json_t *obj, const char *path, struct oci_process *p,
                              struct errmsg *err)
{
        static const char *const set_names[_CAP_SET_MAX] = {
                [CAP_SET_BOUNDING] = "bounding",       [CAP_SET_EFFECTIVE] = "effective",
                [CAP_SET_INHERITABLE] = "inheritable", [CAP_SET_PERMITTED] = "permitted",
                [CAP_SET_AMBIENT] = "ambient",
        };
        char pc[JPATH_MAX];
        json_t *caps;
        int r;

        r = jget_object(obj, path, "capabilities", 0, &caps, err);
        if (r <= 0)
                return r;
        (void) jpath_key(pc, path, "capabilities");
        for (size_t i = 0; i < _CAP_SET_MAX; i++) {
                r = parse_capability_set(caps, pc, set_names[i], &p->caps[i], err);
                if (r < 0)
                        return r;
        }
        p->has_caps = true;
        return 0;
}

static int parse_rlimit(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_rlimit *rl = item;
        _cleanup_free_ char *type = NULL;
        int r;

        r = jget_string(obj, path, "type", JSON_REQUIRED, &type, err);
        if (r < 0)
                return r;
        rl->resource = rlimit_from_name(type);
        if (rl->resource < 0)
                return errmsg_set(err, -EINVAL, "%s.type: unknown rlimit \"%s\"", path, type);
        r = jget_uint64(obj, path, "soft", JSON_REQUIRED, &rl->soft, err);
        if (r < 0)
                return r;
        r = jget_uint64(obj, path, "hard", JSON_REQUIRED, &rl->hard, err);
        return r < 0 ? r : 0;
}

static int parse_rlimits(json_t *obj, const char *path, struct oci_process *p, struct errmsg *err)
{
        char pr[JPATH_MAX];
        int r;

        r = jget_objects(obj, path, "rlimits", sizeof(*p->rlimits), parse_rlimit, &p->rlimits,
                         &p->n_rlimits, err);
        if (r <= 0)
                return r;
        /* config.md: duplicated entries with the same type are an error */
        (void) jpath_key(pr, path, "rlimits");
        for (size_t i = 1; i < p->n_rlimits; i++)
                for (size_t j = 0; j < i; j++)
                        if (p->rlimits[i].resource == p->rlimits[j].resource)
                                return errmsg_set(err, -EINVAL,
                                                  "%s[%zu].type: duplicate of %s[%zu]", pr, i, pr,
                                                  j);
        return 0;
}

static int parse_oom_score_adj(json_t *obj, const char *path, struct oci_process *p,
                               struct errmsg *err)
{
        char pk[JPATH_MAX];
        int64_t adj;
        json_t *v;
        int r;

        r = jget(obj, path, "oomScoreAdj", 0, &v, err);
        if (r <= 0)
                return r;
        /* The kernel's range for /proc/PID/oom_score_adj */
        r = jval_int64(v, jpath_key(pk, path, "oomScoreAdj"), -1000, 1000, &adj, err);
        if (r < 0)
                return r;
        p->has_oom_score_adj = true;
        p->oom_score_adj = (int) adj;
        return 0;
}

static int parse_process_linux(json_t *obj, const char *path, struct oci_process *p,
                               struct errmsg *err)
{
        int r;

        r = parse_capabilities(obj, path, p, err);
        if (r < 0)
                return r;
        r = parse_rlimits(obj, path, p, err);
        if (r < 0)
                return r;
        r = jget_bool(obj, path, "noNewPrivileges", 0, &p->no_new_privileges, err);
        if (r < 0)
                return r;
        r = parse_oom_score_adj(obj, path, p, err);
        if (r < 0)
                return r;
        r = jget_string(obj, path, "apparmorProfile", 0, &p->apparmor_profile, err);
        if (r < 0)
                return r;
        r = jget_string(obj, path, "selinuxLabel", 0, &p->selinux_label, err);
        return r < 0 ? r : 0;
}

/* Parses process object obj (at path) into the zeroed *p; on failure *p is half filled. */
static int parse_process(json_t *obj, const char *path, struct oci_process *p, struct errmsg *err)
{
        int r;

        r = jget_bool(obj, path, "terminal", 0, &p->terminal, err);
        if (r < 0)
                return r;
        r = parse_console_size(obj, path, p, err);
        if (r < 0)
                return r;
        r = parse_user(obj, path, &p->user, err);
        if (r < 0)
                return r;
        r = parse_args_env_cwd(obj, path, p, err);
        if (r < 0)
                return r;
        return parse_process_linux(obj, path, p, err);
}

void oci_process_release(struct oci_process *p)
{
        if (!p)
                return;
        free(p->user.additional_gids);
        free(p->user.username);
        p->args = strv_free(p->args);
        p->env = strv_free(p->env);
        free(p->cwd);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        *p = (struct oci_process){0};
}

int oci_process_parse_text(const char *text, size_t len, struct oci_process *ret,
                           struct errmsg *err)
{
        json_t *root = NULL;
        int r;

        r = spec_json_load(text, len, &root, err);
        if (r < 0)
                return r;
        if (json_is_object(root))
                r = parse_process(root, "", ret, err);
        else
                r = errmsg_set(err, -EINVAL, "expected a JSON object");
        json_decref(root);
        if (r < 0)
                oci_process_release(ret);
        return r < 0 ? r : 0;
}

/* root, mounts, hooks */

static int parse_root(json_t *obj, struct oci_spec *spec, struct errmsg *err)
{
        json_t *root;
        int r;

        r = jget_object(obj, "", "root", 0, &root, err);
        if (r <= 0)
                return r;
        r = jget_string(root, "root", "path", JSON_REQUIRED, &spec->root_path, err);
        if (r < 0)
                return r;
        r = jget_bool(root, "root", "readonly", 0, &spec->root_readonly, err);
        return r < 0 ? r : 0;
}

static int parse_mount(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_mount *m = item;
        int r;

        r = jget_abs_path(obj, path, "destination", JSON_REQUIRED, &m->destination, err);
        if (r < 0)
                return r;
        r = jget_string(obj, path, "type", 0, &m->type, err);
        if (r < 0)
                return r;
        r = jget_string(obj, path, "source", 0, &m->source, err);
        if (r < 0)
                return r;
        r = jget_strv(obj, path, "options", 0, &m->options, err);
        return r < 0 ? r : 0;
}

static int parse_mounts(json_t *obj, struct oci_spec *spec, struct errmsg *err)
{
        int r;

        r = jget_objects(obj, "", "mounts", sizeof(*spec->mounts), parse_mount, &spec->mounts,
                         &spec->n_mounts, err);
        return r < 0 ? r : 0;
}

static int parse_hook(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_hook *h = item;
        char pt[JPATH_MAX];
        int64_t timeout;
        json_t *v;
        int r;

        r = jget_abs_path(obj, path, "path", JSON_REQUIRED, &h->path, err);
        if (r < 0)
                return r;
        r = jget_strv(obj, path, "args", 0, &h->args, err);
        if (r < 0)
                return r;
        r = jget_strv(obj, path, "env", 0, &h->env, err);
        if (r < 0)
                return r;
        r = jget(obj, path, "timeout", 0, &v, err);
        if (r <= 0)
                return r;
        r = jval_int64(v, jpath_key(pt, path, "timeout"), INT64_MIN, INT_MAX, &timeout, err);
        if (r < 0)
                return r;
        if (timeout <= 0)
                return errmsg_set(err, -EINVAL, "%s: must be greater than zero", pt);
        h->timeout = (int) timeout;
        return 0;
}

static int parse_hooks(json_t *obj, struct oci_hooks *hooks, struct errmsg *err)
{
        json_t *o;
        int r;

        r = jget_object(obj, "", "hooks", 0, &o, err);
        if (r <= 0)
                return r;
        for (size_t k = 0; k < _HOOK_KIND_MAX; k++) {
                r = jget_objects(o, "hooks", hook_kind_names[k], sizeof(struct oci_hook),
                                 parse_hook, &hooks->list[k], &hooks->n[k], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void oci_hooks_release(struct oci_hooks *hooks)
{
        for (size_t k = 0; k < _HOOK_KIND_MAX; k++) {
                for (size_t i = 0; hooks->list[k] && i < hooks->n[k]; i++) {
                        free(hooks->list[k][i].path);
                        strv_free(hooks->list[k][i].args);
                        strv_free(hooks->list[k][i].env);
                }
                free(hooks->list[k]);
        }
}

/* The top level */

static int parse_top(json_t *obj, struct oci_spec *spec, struct errmsg *err)
{
        int r;

        r = jget_string(obj, "", "ociVersion", JSON_REQUIRED, &spec->oci_version, err);
        if (r < 0)
                return r;
        r = parse_root(obj, spec, err);
        if (r < 0)
                return r;
        r = jget_string(obj, "", "hostname", 0, &spec->hostname, err);
        if (r < 0)
                return r;
        r = jget_string(obj, "", "domainname", 0, &spec->domainname, err);
        if (r < 0)
                return r;
        r = parse_mounts(obj, spec, err);
        if (r < 0)
                return r;
        r = parse_hooks(obj, &spec->hooks, err);
        if (r < 0)
                return r;
        r = jget_string_map(obj, "", "annotations", &spec->annotations, &spec->n_annotations, err);
        return r < 0 ? r : 0;
}

static int parse_spec(json_t *obj, struct oci_spec *spec, struct errmsg *err)
{
        json_t *o;
        int r;

        r = parse_top(obj, spec, err);
        if (r < 0)
                return r;
        r = jget_object(obj, "", "process", 0, &o, err);
        if (r < 0)
                return r;
        spec->has_process = r > 0;
        if (r > 0) {
                r = parse_process(o, "process", &spec->process, err);
                if (r < 0)
                        return r;
        }
        r = jget_object(obj, "", "linux", 0, &o, err);
        if (r <= 0)
                return r;
        return oci_linux_parse(o, "linux", &spec->linux, err);
}

int oci_spec_parse(const char *text, size_t len, struct oci_spec **ret_spec, struct errmsg *err)
{
        _cleanup_(oci_spec_freep) struct oci_spec *spec = NULL;
        json_t *root = NULL;
        int r;

        r = spec_json_load(text, len, &root, err);
        if (r < 0)
                return r;
        spec = xnew0(struct oci_spec, 1);
        if (json_is_object(root))
                r = parse_spec(root, spec, err);
        else
                r = errmsg_set(err, -EINVAL, "expected a JSON object");
        json_decref(root);
        if (r < 0)
                return r;
        *ret_spec = TAKE_PTR(spec);
        return 0;
}

struct oci_spec *oci_spec_free(struct oci_spec *spec)
{
        if (!spec)
                return NULL;
        free(spec->oci_version);
        free(spec->root_path);
        free(spec->hostname);
        free(spec->domainname);
        oci_process_release(&spec->process);
        for (size_t i = 0; spec->mounts && i < spec->n_mounts; i++) {
                free(spec->mounts[i].destination);
                free(spec->mounts[i].type);
                free(spec->mounts[i].source);
                strv_free(spec->mounts[i].options);
        }
        free(spec->mounts);
        oci_hooks_release(&spec->hooks);
        oci_key_values_free(spec->annotations, spec->n_annotations);
        oci_linux_release(&spec->linux);
        free(spec);
        return NULL;
}

const struct oci_namespace *oci_spec_find_namespace(const struct oci_spec *spec, enum ns_type type)
{
        for (size_t i = 0; i < spec->linux.n_namespaces; i++)
                if (spec->linux.namespaces[i].type == type)
                        return &spec->linux.namespaces[i];
        return NULL;
}
