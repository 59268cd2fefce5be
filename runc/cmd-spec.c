/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "spec": writes a starting config.json (man/runc-spec.8.md), the same defaults runc
 * writes; --rootless adapts it for an unprivileged user (user namespace mapping the
 * caller, no network namespace, /sys bound from the host, no cgroup device rules).
 */
#include <fcntl.h>
#include <jansson.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "runc/cmd.h"

static const char default_spec[] =
        "{\"ociVersion\":\"1.0.2\","
        "\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
        "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
        "\"TERM=xterm\"],\"cwd\":\"/\","
        "\"capabilities\":{"
        "\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
        "\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
        "\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
        "\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
        "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
        "\"noNewPrivileges\":true},"
        "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
        "\"hostname\":\"runc\","
        "\"mounts\":["
        "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
        "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
        "\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
        "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
        "\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\","
        "\"gid=5\"]},"
        "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
        "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
        "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
        "\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
        "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
        "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
        "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
        "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
        "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
        "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
        "{\"type\":\"uts\"},{\"type\":\"mount\"}],"
        "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
        "\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\","
        "\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],"
        "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
        "\"/proc/sysrq-trigger\"]}}";

static json_t *id_mapping(unsigned id)
{
        return json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", (int) id, "size", 1);
}

static void make_rootless(json_t *spec)
{
        json_t *mounts = json_object_get(spec, "mounts");
        json_t *linux_ = json_object_get(spec, "linux");
        json_t *ns = json_object_get(linux_, "namespaces");
        size_t i;
        json_t *m;

        json_array_foreach (mounts, i, m) {
                const char *dest = json_string_value(json_object_get(m, "destination"));

                if (STREQ(dest, "/dev/pts"))
                        (void) json_array_remove(json_object_get(m, "options"), 5); /* gid=5 */
                else if (STREQ(dest, "/sys"))
                        (void) json_array_set_new(mounts, i,
                                                  json_pack("{s:s, s:s, s:s, s:[s,s,s,s,s]}",
                                                            "destination", "/sys", "type", "none",
                                                            "source", "/sys", "options", "rbind",
                                                            "nosuid", "noexec", "nodev", "ro"));
        }
        (void) json_object_del(linux_, "resources");
        (void) json_array_remove(ns, 1); /* network: no veth for unprivileged users */
        (void) json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
        (void) json_object_set_new(linux_, "uidMappings", id_mapping(geteuid()));
        (void) json_object_set_new(linux_, "gidMappings", id_mapping(getegid()));
}

int cmd_spec(const struct runc_global *g, int argc, char **argv)
{
        static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
                                             {"rootless", no_argument, NULL, 'R'},
                                             {NULL, 0, NULL, 0}};
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *text = NULL;
        const char *bundle = ".";
        bool rootless = false;
        json_t *spec;
        int opt, r;

        (void) g;
        cmd_normalize_args(argc, argv, opts);
        while ((opt = getopt_long(argc, argv, "+b:", opts, NULL)) != -1) {
                if (opt == 'b')
                        bundle = optarg;
                else if (opt == 'R')
                        rootless = true;
                else
                        return 1;
        }
        dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                log_error_errno(-errno, "--bundle %s", bundle);
                return 1;
        }
        if (faccessat(dfd, "config.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                log_error("File config.json exists. Remove it first.");
                return 1;
        }
        spec = json_loads(default_spec, 0, NULL);
        assert(spec);
        if (rootless)
                make_rootless(spec);
        text = json_dumps(spec, JSON_INDENT(8) | JSON_PRESERVE_ORDER);
        json_decref(spec);
        r = write_file_atomic_at(dfd, "config.json", text, strlen(text), 0666);
        if (r < 0) {
                log_error_errno(r, "write %s/config.json", bundle);
                return 1;
        }
        return 0;
}
