/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The default OCI spec of containerd 1.6 (oci/spec.go populateDefaultUnixSpec, oci/mounts.go,
 * WithDefaultUnixDevices) and the Go field order the spec is printed in (runtime-spec's
 * specs-go structs), so that json.Marshal's bytes come out.
 */
#include "ctr/spec.h"

#include <stdlib.h>

#include "ctr/pb-json.h"
#include "lib/xalloc.h"

static const char *const default_caps[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
        NULL,
};

static const char *const masked_paths[] = {
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
        NULL,
};

static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static const char *const namespaces[] = {"pid", "ipc", "uts", "mount", "network", NULL};

static json_t *strings(const char *const *v)
{
        json_t *a = json_array();

        for (; v && *v; v++)
                json_array_append_new(a, json_string(*v));
        return a;
}

static json_t *mount_new(const char *dst, const char *type, const char *src,
                         const char *const *options)
{
        return json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type, "source", src,
                         "options", strings(options));
}

static json_t *default_mounts(void)
{
        json_t *m = json_array();

        json_array_append_new(m,
                              mount_new("/proc", "proc", "proc",
                                        (const char *const[]){"nosuid", "noexec", "nodev", NULL}));
        json_array_append_new(m, mount_new("/dev", "tmpfs", "tmpfs",
                                           (const char *const[]){"nosuid", "strictatime",
                                                                 "mode=755", "size=65536k", NULL}));
        json_array_append_new(
                m, mount_new("/dev/pts", "devpts", "devpts",
                             (const char *const[]){"nosuid", "noexec", "newinstance",
                                                   "ptmxmode=0666", "mode=0620", "gid=5", NULL}));
        json_array_append_new(m,
                              mount_new("/dev/shm", "tmpfs", "shm",
                                        (const char *const[]){"nosuid", "noexec", "nodev",
                                                              "mode=1777", "size=65536k", NULL}));
        json_array_append_new(m,
                              mount_new("/dev/mqueue", "mqueue", "mqueue",
                                        (const char *const[]){"nosuid", "noexec", "nodev", NULL}));
        json_array_append_new(
                m, mount_new("/sys", "sysfs", "sysfs",
                             (const char *const[]){"nosuid", "noexec", "nodev", "ro", NULL}));
        json_array_append_new(m, mount_new("/run", "tmpfs", "tmpfs",
                                           (const char *const[]){"nosuid", "strictatime",
                                                                 "mode=755", "size=65536k", NULL}));
        return m;
}

/* WithDefaultUnixDevices: null, random, full, tty, zero, urandom, console, pts, ptmx. */
static void default_unix_devices(json_t *devices)
{
        static const struct {
                int major, minor; /* minor -1: any */
        } devs[] = {{1, 3}, {1, 8}, {1, 7}, {5, 0}, {1, 5}, {1, 9}, {5, 1}, {136, -1}, {5, 2}};

        for (size_t i = 0; i < ELEMENTSOF(devs); i++) {
                json_t *d = json_pack("{s:b, s:s, s:i}", "allow", 1, "type", "c", "major",
                                      devs[i].major);

                if (devs[i].minor >= 0)
                        json_object_set_new(d, "minor", json_integer(devs[i].minor));
                json_object_set_new(d, "access", json_string("rwm"));
                json_array_append_new(devices, d);
        }
}

static json_t *default_process(void)
{
        json_t *caps = json_pack("{s:o, s:o, s:o}", "bounding", strings(default_caps), "effective",
                                 strings(default_caps), "permitted", strings(default_caps));

        return json_pack("{s:{s:i, s:i}, s:s, s:o, s:[{s:s, s:i, s:i}], s:b}", "user", "uid", 0,
                         "gid", 0, "cwd", "/", "capabilities", caps, "rlimits", "type",
                         "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", 1);
}

static json_t *default_linux(const char *ns, const char *id)
{
        _cleanup_free_ char *cgroups = xasprintf("/%s/%s", ns, id);
        json_t *nss = json_array(), *devices;
        json_t *linux_;

        for (const char *const *n = namespaces; *n; n++)
                json_array_append_new(nss, json_pack("{s:s}", "type", *n));
        devices = json_pack("[{s:b, s:s}]", "allow", 0, "access", "rwm");
        default_unix_devices(devices);
        linux_ = json_pack("{s:{s:o}, s:s, s:o, s:o, s:o}", "resources", "devices", devices,
                           "cgroupsPath", cgroups, "namespaces", nss, "maskedPaths",
                           strings(masked_paths), "readonlyPaths", strings(readonly_paths));
        return linux_;
}

json_t *spec_default(const char *ns, const char *id)
{
        return json_pack("{s:s, s:o, s:{s:s}, s:o, s:o}", "ociVersion", "1.0.2-dev", "process",
                         default_process(), "root", "path", "rootfs", "mounts", default_mounts(),
                         "linux", default_linux(ns, id));
}

/* --- Go's field order ------------------------------------------------------------------- */

static const char *const spec_keys[] = {"ociVersion", "process", "root",        "hostname",
                                        "mounts",     "hooks",   "annotations", "linux",
                                        "solaris",    "windows", "vm",          NULL};
static const char *const process_keys[] = {"terminal",
                                           "consoleSize",
                                           "user",
                                           "args",
                                           "commandLine",
                                           "env",
                                           "cwd",
                                           "capabilities",
                                           "rlimits",
                                           "noNewPrivileges",
                                           "apparmorProfile",
                                           "oomScoreAdj",
                                           "selinuxLabel",
                                           NULL};
static const char *const user_keys[] = {"uid", "gid", "umask", "additionalGids", "username", NULL};
static const char *const caps_keys[] = {"bounding",  "effective", "inheritable",
                                        "permitted", "ambient",   NULL};
static const char *const rlimit_keys[] = {"type", "hard", "soft", NULL};
static const char *const box_keys[] = {"height", "width", NULL};
static const char *const root_keys[] = {"path", "readonly", NULL};
static const char *const mount_keys[] = {"destination", "type", "source", "options", NULL};
static const char *const linux_keys[] = {
        "uidMappings",   "gidMappings", "sysctl",   "resources",         "cgroupsPath",
        "namespaces",    "devices",     "seccomp",  "rootfsPropagation", "maskedPaths",
        "readonlyPaths", "mountLabel",  "intelRdt", "personality",       NULL};
static const char *const resources_keys[] = {
        "devices",        "memory",  "cpu",  "pids",    "blockIO",
        "hugepageLimits", "network", "rdma", "unified", NULL};
static const char *const devcg_keys[] = {"allow", "type", "major", "minor", "access", NULL};
static const char *const memory_keys[] = {
        "limit",      "reservation",      "swap",         "kernel", "kernelTCP",
        "swappiness", "disableOOMKiller", "useHierarchy", NULL};
static const char *const cpu_keys[] = {"shares",         "quota", "period", "realtimeRuntime",
                                       "realtimePeriod", "cpus",  "mems",   NULL};
static const char *const namespace_keys[] = {"type", "path", NULL};
static const char *const device_keys[] = {"path",     "type", "major", "minor",
                                          "fileMode", "uid",  "gid",   NULL};

/* Re-inserts obj's members: keys in that order first, then the others as they were. */
static void order_object(json_t *obj, const char *const *keys)
{
        json_t *sorted, *v;
        const char *key;

        if (!json_is_object(obj))
                return;
        sorted = json_object();
        for (const char *const *k = keys; *k; k++) {
                v = json_object_get(obj, *k);
                if (v)
                        json_object_set(sorted, *k, v);
        }
        json_object_foreach (obj, key, v)
                if (!json_object_get(sorted, key))
                        json_object_set(sorted, key, v);
        json_object_clear(obj);
        json_object_update(obj, sorted);
        json_decref(sorted);
}

static int compare_keys(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* A Go map: keys sorted. */
static void order_map(json_t *obj)
{
        size_t n = json_object_size(obj), i = 0;
        _cleanup_free_ const char **keys = NULL;
        const char *key;
        json_t *v, *sorted;

        if (!json_is_object(obj) || n == 0)
                return;
        keys = xnew0(const char *, n);
        json_object_foreach (obj, key, v)
                keys[i++] = key;
        qsort(keys, n, sizeof(*keys), compare_keys);
        sorted = json_object();
        for (i = 0; i < n; i++)
                json_object_set(sorted, keys[i], json_object_get(obj, keys[i]));
        json_object_clear(obj);
        json_object_update(obj, sorted);
        json_decref(sorted);
}

static void order_each(json_t *array, const char *const *keys)
{
        size_t i;
        json_t *v;

        json_array_foreach (array, i, v)
                order_object(v, keys);
}

static void order_linux(json_t *linux_)
{
        json_t *res = json_object_get(linux_, "resources");

        order_object(linux_, linux_keys);
        order_object(res, resources_keys);
        order_each(json_object_get(res, "devices"), devcg_keys);
        order_object(json_object_get(res, "memory"), memory_keys);
        order_object(json_object_get(res, "cpu"), cpu_keys);
        order_each(json_object_get(linux_, "namespaces"), namespace_keys);
        order_each(json_object_get(linux_, "devices"), device_keys);
        order_map(json_object_get(linux_, "sysctl"));
}

void spec_order(json_t *spec)
{
        json_t *process = json_object_get(spec, "process");

        order_object(spec, spec_keys);
        order_object(process, process_keys);
        order_object(json_object_get(process, "user"), user_keys);
        order_object(json_object_get(process, "capabilities"), caps_keys);
        order_object(json_object_get(process, "consoleSize"), box_keys);
        order_each(json_object_get(process, "rlimits"), rlimit_keys);
        order_object(json_object_get(spec, "root"), root_keys);
        order_each(json_object_get(spec, "mounts"), mount_keys);
        order_map(json_object_get(spec, "annotations"));
        order_linux(json_object_get(spec, "linux"));
}

char *spec_dump(json_t *spec)
{
        spec_order(spec);
        return gojson_dump(spec, NULL);
}

void spec_rootfs_release(struct spec_rootfs *fs)
{
        free(fs->passwd);
        free(fs->group);
        fs->passwd = fs->group = NULL;
}
