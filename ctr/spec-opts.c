/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The spec options of `ctr run` and `ctr containers create` (cmd/ctr/commands/run/run_unix.go
 * NewContainer and containerd 1.6's oci/spec_opts*.go), applied to the default spec in ctr's
 * order, with ctr's error messages.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>

#include "ctr/spec.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define ENV_FILE_MAX (1u << 20)

/* The object under key in parent, made when absent. */
static json_t *object_at(json_t *parent, const char *key)
{
        json_t *o = json_object_get(parent, key);

        if (!json_is_object(o)) {
                o = json_object();
                json_object_set_new(parent, key, o);
        }
        return o;
}

static json_t *array_at(json_t *parent, const char *key)
{
        json_t *a = json_object_get(parent, key);

        if (!json_is_array(a)) {
                a = json_array();
                json_object_set_new(parent, key, a);
        }
        return a;
}

static const char *env_key_end(const char *e)
{
        const char *eq = strchr(e, '=');

        return eq ? eq : e + strlen(e);
}

void spec_env_merge(json_t *env, char **overrides)
{
        strv_foreach (o, overrides) {
                size_t klen = (size_t) (env_key_end(*o) - *o), i;
                bool unset = !strchr(*o, '='), found = false;
                json_t *e;

                json_array_foreach (env, i, e) {
                        const char *s = json_string_value(e);

                        if (!s || (size_t) (env_key_end(s) - s) != klen ||
                            strncmp(s, *o, klen) != 0)
                                continue;
                        found = true;
                        if (unset)
                                json_array_remove(env, i);
                        else
                                json_array_set_new(env, i, json_string(*o));
                        break;
                }
                if (!found && !unset)
                        json_array_append_new(env, json_string(*o));
        }
}

/* oci.WithEnv: only when there is something to add (an empty list changes nothing). */
static void with_env(json_t *spec, char **vars)
{
        json_t *process = object_at(spec, "process");

        if (strv_length(vars) == 0)
                return;
        spec_env_merge(array_at(process, "env"), vars);
}

/* oci.WithEnvFile: one variable per line. */
static int with_env_file(json_t *spec, const char *path, struct errmsg *err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_strv_ char **vars = NULL;
        size_t len;
        char *line, *next;
        int r;

        r = read_file_at(AT_FDCWD, path, ENV_FILE_MAX, &text, &len);
        if (r < 0) {
                char why[128];

                /* Go's error text: the C library's, lowercase */
                snprintf(why, sizeof(why), "%s", strerror(-r));
                why[0] = (char) tolower((unsigned char) why[0]);
                return errmsg_set(err, r, "open %s: %s", path, why);
        }
        for (line = text; line < text + len; line = next) {
                char *nl = memchr(line, '\n', (size_t) (text + len - line));

                next = nl ? nl + 1 : text + len;
                if (nl)
                        *nl = '\0';
                if (nl && nl > line && nl[-1] == '\r')
                        nl[-1] = '\0';
                strv_push(&vars, line);
        }
        with_env(spec, vars);
        return 0;
}

/* One field of Go's encoding/csv (RFC 4180 quotes); *p moves past it and its ','. */
static int csv_field(const char **p, char **ret, struct errmsg *err)
{
        const char *s = *p, *start = s;
        _cleanup_free_ char *out = xmalloc(strlen(s) + 1);
        size_t n = 0;

        if (*s == '"') {
                for (s++;; s++) {
                        if (*s == '\0')
                                return errmsg_set(err, -EINVAL,
                                                  "parse error on line 1, column %zu: extraneous "
                                                  "or missing \" in quoted-field",
                                                  (size_t) (s - start) + 1);
                        if (*s == '"' && s[1] == '"')
                                out[n++] = *s++;
                        else if (*s == '"')
                                break;
                        else
                                out[n++] = *s;
                }
                s++;
                if (*s && *s != ',')
                        return errmsg_set(err, -EINVAL,
                                          "parse error on line 1, column %zu: extraneous or "
                                          "missing \" in quoted-field",
                                          (size_t) (s - start) + 1);
        } else {
                for (; *s && *s != ','; s++) {
                        if (*s == '"')
                                return errmsg_set(err, -EINVAL,
                                                  "parse error on line 1, column %zu: bare \" in "
                                                  "non-quoted-field",
                                                  (size_t) (s - start) + 1);
                        out[n++] = *s;
                }
        }
        out[n] = '\0';
        *p = *s == ',' ? s + 1 : s;
        *ret = TAKE_PTR(out);
        return *s == ',' ? 1 : 0;
}

static json_t *split_options(const char *val)
{
        json_t *a = json_array();
        const char *p = val;

        for (;;) {
                const char *colon = strchr(p, ':');

                json_array_append_new(a, json_stringn(p, colon ? (size_t) (colon - p) : strlen(p)));
                if (!colon)
                        return a;
                p = colon + 1;
        }
}

static int mount_set(json_t *m, const char *field, struct errmsg *err)
{
        const char *eq = strchr(field, '=');
        _cleanup_free_ char *key = NULL;

        if (!eq)
                return errmsg_set(err, -EINVAL, "invalid mount specification: expected key=val");
        key = xstrndup(field, (size_t) (eq - field));
        if (STREQ(key, "type"))
                json_object_set_new(m, "type", json_string(eq + 1));
        else if (STREQ(key, "source") || STREQ(key, "src"))
                json_object_set_new(m, "source", json_string(eq + 1));
        else if (STREQ(key, "destination") || STREQ(key, "dst"))
                json_object_set_new(m, "destination", json_string(eq + 1));
        else if (STREQ(key, "options"))
                json_object_set_new(m, "options", split_options(eq + 1));
        else
                return errmsg_set(err, -EINVAL, "mount option \"%s\" not supported", key);
        return 0;
}

int spec_parse_mount(const char *s, json_t **ret, struct errmsg *err)
{
        json_t *m, *v;
        const char *p = s;
        int more = 1, r;

        if (!*s)
                return errmsg_set(err, -EINVAL, "EOF");
        m = json_object();
        while (more) {
                _cleanup_free_ char *field = NULL;

                more = csv_field(&p, &field, err);
                r = more < 0 ? more : mount_set(m, field, err);
                if (r < 0) {
                        json_decref(m);
                        return r;
                }
        }
        /* specs.Mount: destination always, the others when not empty */
        v = json_object_get(m, "destination");
        if (!v)
                json_object_set_new(m, "destination", json_string(""));
        for (const char *const *k = (const char *const[]){"type", "source", NULL}; *k; k++) {
                v = json_object_get(m, *k);
                if (v && !*json_string_value(v))
                        json_object_del(m, *k);
        }
        *ret = m;
        return 0;
}

static int with_mounts(json_t *spec, char **mounts, struct errmsg *err)
{
        json_t *list = array_at(spec, "mounts");

        strv_foreach (s, mounts) {
                json_t *m;
                int r = spec_parse_mount(*s, &m, err);

                if (r < 0)
                        return r;
                json_array_append_new(list, m);
        }
        return 0;
}

/* A read-only bind mount of the host's path (WithHostHostsFile, WithHostResolvconf). */
static json_t *mount_new_bind(const char *path)
{
        return json_pack("{s:s, s:s, s:s, s:[s, s]}", "destination", path, "type", "bind", "source",
                         path, "options", "rbind", "ro");
}

/* --- the image's config (oci.WithImageConfig) ------------------------------------------- */

static char **config_strv(const json_t *config, const char *key)
{
        char **v = NULL;
        json_t *item;
        size_t i;

        json_array_foreach (json_object_get(config, key), i, item)
                if (json_is_string(item))
                        strv_push(&v, json_string_value(item));
        return v;
}

/* key of process set to the array, or removed when it is empty (omitempty). */
static void set_list(json_t *process, const char *key, json_t *list)
{
        if (json_array_size(list) > 0)
                json_object_set_new(process, key, list);
        else {
                json_decref(list);
                json_object_del(process, key);
        }
}

/* The image's Env (or the default PATH), with what the options set before on top. */
static void image_env(json_t *process, const json_t *config)
{
        _cleanup_strv_ char **defaults = config_strv(config, "Env"), **current = NULL;
        json_t *env, *e;
        size_t i;

        json_array_foreach (json_object_get(process, "env"), i, e)
                strv_push(&current, json_string_value(e));
        env = json_array();
        if (strv_length(defaults) == 0)
                json_array_append_new(env, json_string("PATH=/usr/local/sbin:/usr/local/bin:"
                                                       "/usr/sbin:/usr/bin:/sbin:/bin"));
        strv_foreach (d, defaults)
                json_array_append_new(env, json_string(*d));
        spec_env_merge(env, current);
        set_list(process, "env", env);
}

static int with_image_config(json_t *spec, const json_t *doc, const struct spec_rootfs *fs,
                             struct errmsg *err)
{
        const json_t *config = json_object_get(doc, "config");
        json_t *process = object_at(spec, "process"), *args = json_array();
        _cleanup_strv_ char **entrypoint = config_strv(config, "Entrypoint");
        _cleanup_strv_ char **cmd = config_strv(config, "Cmd");
        const char *cwd = json_string_value(json_object_get(config, "WorkingDir"));
        const char *user = json_string_value(json_object_get(config, "User"));
        char uid[24];
        int r;

        image_env(process, config);
        strv_foreach (a, entrypoint)
                json_array_append_new(args, json_string(*a));
        strv_foreach (a, cmd)
                json_array_append_new(args, json_string(*a));
        set_list(process, "args", args);
        json_object_set_new(process, "cwd", json_string(cwd && *cwd ? cwd : "/"));
        if (!user || !*user) {
                spec_with_additional_gids(spec, "root", fs);
                return 0;
        }
        r = spec_with_user(spec, user, fs, err);
        if (r < 0)
                return r;
        snprintf(
                uid, sizeof(uid), "%lld",
                (long long) json_integer_value(json_object_get(object_at(process, "user"), "uid")));
        spec_with_additional_gids(spec, uid, fs);
        return 0;
}

/* --- host namespaces, devices, privileges ------------------------------------------------ */

static void remove_namespace(json_t *spec, const char *type)
{
        json_t *nss = json_object_get(object_at(spec, "linux"), "namespaces"), *ns;
        size_t i;

        json_array_foreach (nss, i, ns)
                if (STREQ_PTR(json_string_value(json_object_get(ns, "type")), type)) {
                        json_array_remove(nss, i);
                        return;
                }
}

static void with_net_host(json_t *spec, const struct spec_host *host)
{
        json_t *mounts = array_at(spec, "mounts");
        _cleanup_free_ char *hostname = xasprintf("HOSTNAME=%s", host->hostname ?: "");

        remove_namespace(spec, "network");
        json_array_append_new(mounts, mount_new_bind("/etc/hosts"));
        json_array_append_new(mounts, mount_new_bind("/etc/resolv.conf"));
        with_env(spec, (char *[]){hostname, NULL});
}

static void set_caps(json_t *process, char **caps)
{
        json_t *c = object_at(process, "capabilities");

        for (const char *const *k =
                     (const char *const[]){"bounding", "effective", "permitted", NULL};
             *k; k++) {
                json_t *a = json_array();

                strv_foreach (cap, caps)
                        json_array_append_new(a, json_string(*cap));
                if (json_array_size(a) > 0)
                        json_object_set_new(c, *k, a);
                else {
                        json_decref(a);
                        json_object_del(c, *k);
                }
        }
}

/* Mounts of type: their "ro" option becomes "rw" (WithWriteableSysfs/Cgroupfs). */
static void mounts_writable(json_t *spec, const char *type)
{
        json_t *m, *o;
        size_t i, j;

        json_array_foreach (json_object_get(spec, "mounts"), i, m) {
                if (!STREQ_PTR(json_string_value(json_object_get(m, "type")), type))
                        continue;
                json_array_foreach (json_object_get(m, "options"), j, o)
                        if (STREQ_PTR(json_string_value(o), "ro"))
                                json_string_set(o, "rw");
        }
}

/* WithPrivileged, WithAllDevicesAllowed, WithHostDevices. */
static void with_privileged(json_t *spec, const struct spec_host *host)
{
        json_t *process = object_at(spec, "process"), *linux_ = object_at(spec, "linux");
        json_t *devices = array_at(linux_, "devices"), *d;
        size_t i;

        set_caps(process, host->caps);
        json_object_del(linux_, "maskedPaths");
        json_object_del(linux_, "readonlyPaths");
        mounts_writable(spec, "sysfs");
        mounts_writable(spec, "cgroup");
        json_object_del(process, "selinuxLabel");
        json_object_del(process, "apparmorProfile");
        json_object_del(linux_, "seccomp");
        json_object_set_new(object_at(linux_, "resources"), "devices",
                            json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm"));
        json_array_foreach (host->devices, i, d)
                json_array_append(devices, d);
        if (json_array_size(devices) == 0)
                json_object_del(linux_, "devices");
}

static int with_caps(json_t *spec, char **caps, bool add, struct errmsg *err)
{
        json_t *c = object_at(object_at(spec, "process"), "capabilities");

        strv_foreach (cap, caps)
                if (strncmp(*cap, "CAP_", 4) != 0)
                        return errmsg_set(err, -EINVAL,
                                          "capabilities must be specified with 'CAP_' prefix");
        strv_foreach (cap, caps) {
                for (const char *const *k =
                             (const char *const[]){"bounding", "effective", "permitted", NULL};
                     *k; k++) {
                        json_t *set = array_at(c, *k), *v;
                        bool found = false;
                        size_t i;

                        json_array_foreach (set, i, v)
                                if (STREQ_PTR(json_string_value(v), *cap)) {
                                        found = true;
                                        if (!add)
                                                json_array_remove(set, i--);
                                }
                        if (add && !found)
                                json_array_append_new(set, json_string(*cap));
                        if (json_array_size(set) == 0)
                                json_object_del(c, *k);
                }
        }
        return 0;
}

static bool valid_namespace(const char *type)
{
        static const char *const types[] = {"pid",  "network", "uts",    "mount",
                                            "user", "ipc",     "cgroup", NULL};

        for (const char *const *t = types; *t; t++)
                if (STREQ(*t, type))
                        return true;
        return false;
}

static int with_namespaces(json_t *spec, char **with_ns, struct errmsg *err)
{
        json_t *nss = array_at(object_at(spec, "linux"), "namespaces");

        strv_foreach (s, with_ns) {
                const char *colon = strchr(*s, ':');
                _cleanup_free_ char *type = NULL;
                json_t *ns, *n;
                size_t i;

                if (!colon || strchr(colon + 1, ':'))
                        return errmsg_set(err, -EINVAL,
                                          "joining a Linux namespace using --with-ns requires the "
                                          "format 'nstype:path'");
                type = xstrndup(*s, (size_t) (colon - *s));
                if (!valid_namespace(type))
                        return errmsg_set(err, -EINVAL,
                                          "the Linux namespace type specified in --with-ns is "
                                          "not valid: %s",
                                          type);
                ns = json_pack("{s:s, s:s}", "type", type, "path", colon + 1);
                if (!*(colon + 1))
                        json_object_del(ns, "path");
                json_array_foreach (nss, i, n)
                        if (STREQ_PTR(json_string_value(json_object_get(n, "type")), type))
                                break;
                if (i < json_array_size(nss))
                        json_array_set_new(nss, i, ns);
                else
                        json_array_append_new(nss, ns);
        }
        return 0;
}

/* Labels and annotations: "k=v" (LabelArgs: a bare key means "true"); annotations must have
 * their '='. */
static int with_annotations(json_t *spec, char **items, bool is_label, struct errmsg *err)
{
        strv_foreach (s, items) {
                const char *eq = strchr(*s, '=');
                _cleanup_free_ char *key = xstrndup(*s, eq ? (size_t) (eq - *s) : strlen(*s));

                if (!eq && !is_label)
                        return errmsg_set(err, -EINVAL, "invalid key=value format annotation: %s",
                                          *s);
                json_object_set_new(object_at(spec, "annotations"), key,
                                    json_string(eq ? eq + 1 : "true"));
        }
        return 0;
}

/* --- resources ---------------------------------------------------------------------------- */

static json_t *resources_of(json_t *spec)
{
        return object_at(object_at(spec, "linux"), "resources");
}

static int with_cpu(json_t *spec, const struct spec_opts *o, struct errmsg *err)
{
        if (o->cpus > 0) {
                json_t *cpu = object_at(resources_of(spec), "cpu");

                json_object_set_new(cpu, "quota", json_integer((int64_t) (o->cpus * 100000.0)));
                json_object_set_new(cpu, "period", json_integer(100000));
        }
        if (o->cpu_shares > 0)
                json_object_set_new(object_at(resources_of(spec), "cpu"), "shares",
                                    json_integer((json_int_t) o->cpu_shares));
        if (o->cpu_quota != -1 || o->cpu_period != 0) {
                json_t *cpu;

                if (o->cpus > 0)
                        return errmsg_set(err, -EINVAL,
                                          "cpus and quota/period should be used separately");
                cpu = object_at(resources_of(spec), "cpu");
                json_object_set_new(cpu, "quota", json_integer(o->cpu_quota));
                json_object_set_new(cpu, "period", json_integer((json_int_t) o->cpu_period));
        }
        return 0;
}

/* The options between the image config and the namespaces, in ctr's order. */
static int with_process_opts(json_t *spec, const struct spec_opts *o, const struct spec_host *host,
                             const struct spec_rootfs *fs, struct errmsg *err)
{
        json_t *process = object_at(spec, "process");
        int r;

        if (o->read_only)
                json_object_set_new(object_at(spec, "root"), "readonly", json_true());
        if (strv_length(o->args) > 0) {
                json_t *args = json_array();

                strv_foreach (a, o->args)
                        json_array_append_new(args, json_string(*a));
                json_object_set_new(process, "args", args);
                json_object_del(process, "commandLine");
        }
        if (o->cwd && *o->cwd)
                json_object_set_new(process, "cwd", json_string(o->cwd));
        if (o->hostname && *o->hostname)
                json_object_set_new(spec, "hostname", json_string(o->hostname));
        if (o->user && *o->user) {
                r = spec_with_user(spec, o->user, fs, err);
                if (r < 0)
                        return r;
        }
        if (o->tty) {
                json_object_set_new(process, "terminal", json_true());
                json_array_append_new(array_at(process, "env"), json_string("TERM=xterm"));
        }
        if (o->privileged)
                with_privileged(spec, host);
        if (o->net_host)
                with_net_host(spec, host);
        r = with_annotations(spec, o->annotations, false, err);
        if (r >= 0)
                r = with_caps(spec, o->cap_add, true, err);
        if (r >= 0)
                r = with_caps(spec, o->cap_drop, false, err);
        return r;
}

/* WithDevices(dev, "", "rwm"): each device and a cgroup rule allowing it. */
static void with_devices(json_t *spec, const json_t *devices)
{
        json_t *linux_ = object_at(spec, "linux"), *d;
        size_t i;

        json_array_foreach (devices, i, d) {
                json_array_append(array_at(linux_, "devices"), d);
                json_array_append_new(array_at(resources_of(spec), "devices"),
                                      json_pack("{s:b, s:O, s:O, s:O, s:s}", "allow", 1, "type",
                                                json_object_get(d, "type"), "major",
                                                json_object_get(d, "major"), "minor",
                                                json_object_get(d, "minor"), "access", "rwm"));
        }
}

static int with_linux_opts(json_t *spec, const struct spec_opts *o, const struct spec_host *host,
                           struct errmsg *err)
{
        json_t *linux_ = object_at(spec, "linux");
        int r;

        r = with_cpu(spec, o, err);
        if (r >= 0)
                r = with_namespaces(spec, o->with_ns, err);
        if (r < 0)
                return r;
        if (o->allow_new_privs)
                json_object_del(object_at(spec, "process"), "noNewPrivileges");
        if (o->is_cgroup_set) {
                if (o->cgroup && *o->cgroup)
                        json_object_set_new(linux_, "cgroupsPath", json_string(o->cgroup));
                else
                        json_object_del(linux_, "cgroupsPath");
        }
        if (o->memory_limit != 0)
                json_object_set_new(object_at(resources_of(spec), "memory"), "limit",
                                    json_integer((json_int_t) o->memory_limit));
        with_devices(spec, host->user_devices);
        if (o->rootfs_propagation && *o->rootfs_propagation)
                json_object_set_new(linux_, "rootfsPropagation",
                                    json_string(o->rootfs_propagation));
        return 0;
}

int spec_build(const char *ns, const char *id, const struct spec_opts *o, const json_t *config,
               const struct spec_host *host, const struct spec_rootfs *fs, json_t **ret,
               struct errmsg *err)
{
        json_t *spec = spec_default(ns, id);
        int r = 0;

        if (o->env_file && *o->env_file)
                r = with_env_file(spec, o->env_file, err);
        if (r >= 0) {
                with_env(spec, o->env);
                r = with_mounts(spec, o->mounts, err);
        }
        if (r >= 0 && o->rootfs)
                json_object_set_new(object_at(spec, "root"), "path", json_string(o->rootfs));
        else if (r >= 0 && config)
                r = with_image_config(spec, config, fs, err);
        if (r >= 0)
                r = with_process_opts(spec, o, host, fs, err);
        if (r >= 0)
                r = with_linux_opts(spec, o, host, err);
        if (r >= 0)
                r = with_annotations(spec, o->labels, true, err);
        if (r < 0) {
                json_decref(spec);
                return r;
        }
        spec_order(spec);
        *ret = spec;
        return 0;
}
