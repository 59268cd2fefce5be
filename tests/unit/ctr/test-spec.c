/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for berth-ctr's OCI spec (ctr/spec*.c): the bytes of the spec ctr 1.6 sends for
 * `ctr containers create` and for `ctr run` with many options (captured from the real ctr
 * against the busybox test image), --mount parsing as ctr's parseMountFlag, env merging
 * (replaceOrAppendEnvValues), users and groups from the image's files, and the errors.
 */
#include <stdlib.h>

#include "ctr/spec.h"
#include "lib/strv.h"
#include "tests/unit/unit.h"

/* The busybox test image's config and files (tests/images). */
static const char image_config[] =
        "{\"architecture\":\"amd64\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:"
        "/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\"},\"os\":\"linux\"}";
static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "tester:x:1000:1000:tester:/tmp:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char group[] = "root:x:0:\n"
                            "tester:x:1000:\n"
                            "nogroup:x:65534:\n"
                            "wheel:x:10:root,tester\n"
                            "audio:x:29:tester\n";

/* ctr containers create --label a=b --env X=1 busybox c1 echo hi */
static const char expected_create[] =
        "{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"additionalGid"
        "s\":[0]},\"args\":[\"echo\",\"hi\"],\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/"
        "sbin:/usr/bin:/sbin:/bin\",\"X=1\"],\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"CAP_"
        "CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\",\"CAP_NET_RAW\""
        ",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\",\"CAP_NET_BIND_SERVICE\","
        "\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"],\"effective\":[\"CAP_CHOWN\",\"CAP_"
        "DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\",\"CAP_NET_RAW\",\"CAP_SETGID"
        "\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\",\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHR"
        "OOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"],\"permitted\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE"
        "\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\",\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETU"
        "ID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\",\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_K"
        "ILL\",\"CAP_AUDIT_WRITE\"]},\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"sof"
        "t\":1024}],\"noNewPrivileges\":true},\"root\":{\"path\":\"rootfs\"},\"mounts\":[{\"desti"
        "nation\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\",\"options\":[\"nosuid\",\"noexe"
        "c\",\"nodev\"]},{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"opti"
        "ons\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},{\"destination\":\"/dev"
        "/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"ne"
        "winstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},{\"destination\":\"/dev/shm\",\""
        "type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode="
        "1777\",\"size=65536k\"]},{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\""
        ":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},{\"destination\":\"/sys\",\"t"
        "ype\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\""
        "]},{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosu"
        "id\",\"strictatime\",\"mode=755\",\"size=65536k\"]}],\"annotations\":{\"a\":\"b\"},\"lin"
        "ux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,"
        "\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c"
        "\",\"major\":1,\"minor\":8,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":"
        "1,\"minor\":7,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":0"
        ",\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":"
        "\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":9,\"access\":\"rwm\"},{\"a"
        "llow\":true,\"type\":\"c\",\"major\":5,\"minor\":1,\"access\":\"rwm\"},{\"allow\":true,"
        "\"type\":\"c\",\"major\":136,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major"
        "\":5,\"minor\":2,\"access\":\"rwm\"}]},\"cgroupsPath\":\"/default/c1\",\"namespaces\":[{"
        "\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":"
        "\"network\"}],\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/k"
        "eys\",\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_d"
        "ebug\",\"/sys/firmware\",\"/proc/scsi\"],\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\","
        "\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}}";
/* ctr run -d --net-host --mount type=bind,src=/tmp,dst=/host,options=rbind:ro --cwd /tmp
 *   --memory-limit 100000000 --with-ns network:/proc/1/ns/net --read-only --env-file F
 *   --env B=3 --cap-add CAP_SYS_ADMIN --cap-drop CAP_CHOWN --annotation x=y --label l=1
 *   --cpus 1.5 busybox c2 sleep 100, with F = "A=1\r\nB=2\nPATH=/x\n" and hostname "vm" */
static const char expected_run[] =
        "{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"additionalGid"
        "s\":[0]},\"args\":[\"sleep\",\"100\"],\"env\":[\"PATH=/x\",\"A=1\",\"B=3\",\"HOSTNAME=vm"
        "\"],\"cwd\":\"/tmp\",\"capabilities\":{\"bounding\":[\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\""
        ",\"CAP_FOWNER\",\"CAP_MKNOD\",\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCA"
        "P\",\"CAP_SETPCAP\",\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT"
        "_WRITE\",\"CAP_SYS_ADMIN\"],\"effective\":[\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOW"
        "NER\",\"CAP_MKNOD\",\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_"
        "SETPCAP\",\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\","
        "\"CAP_SYS_ADMIN\"],\"permitted\":[\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"C"
        "AP_MKNOD\",\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\""
        ",\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\",\"CAP_SYS_"
        "ADMIN\"]},\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],\"noNew"
        "Privileges\":true},\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"mounts\":[{\"desti"
        "nation\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\",\"options\":[\"nosuid\",\"noexe"
        "c\",\"nodev\"]},{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"opti"
        "ons\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},{\"destination\":\"/dev"
        "/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"ne"
        "winstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},{\"destination\":\"/dev/shm\",\""
        "type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode="
        "1777\",\"size=65536k\"]},{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\""
        ":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},{\"destination\":\"/sys\",\"t"
        "ype\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\""
        "]},{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosu"
        "id\",\"strictatime\",\"mode=755\",\"size=65536k\"]},{\"destination\":\"/host\",\"type\":"
        "\"bind\",\"source\":\"/tmp\",\"options\":[\"rbind\",\"ro\"]},{\"destination\":\"/etc/hos"
        "ts\",\"type\":\"bind\",\"source\":\"/etc/hosts\",\"options\":[\"rbind\",\"ro\"]},{\"dest"
        "ination\":\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":\"/etc/resolv.conf\",\"optio"
        "ns\":[\"rbind\",\"ro\"]}],\"annotations\":{\"l\":\"1\",\"x\":\"y\"},\"linux\":{\"resourc"
        "es\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\","
        "\"major\":1,\"minor\":3,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":1,"
        "\"minor\":8,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":7,"
        "\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":0,\"access\":\""
        "rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"rwm\"},{\"all"
        "ow\":true,\"type\":\"c\",\"major\":1,\"minor\":9,\"access\":\"rwm\"},{\"allow\":true,\"t"
        "ype\":\"c\",\"major\":5,\"minor\":1,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\","
        "\"major\":136,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":2"
        ",\"access\":\"rwm\"}],\"memory\":{\"limit\":100000000},\"cpu\":{\"shares\":1024,\"quota"
        "\":150000,\"period\":100000}},\"cgroupsPath\":\"/default/c2\",\"namespaces\":[{\"type\":"
        "\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"network"
        "\",\"path\":\"/proc/1/ns/net\"}],\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/pro"
        "c/kcore\",\"/proc/keys\",\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stat"
        "s\",\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],\"readonlyPaths\":[\"/proc/b"
        "us\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}}";
static json_t *config(void)
{
        json_t *c = json_loads(image_config, 0, NULL);

        assert_non_null(c);
        return c;
}

/* /etc/group without the extra groups, as the test image has it */
static struct spec_rootfs image_files(void)
{
        return (struct spec_rootfs){
                .passwd = strdup(passwd),
                .group = strdup("root:x:0:\ntester:x:1000:\nnogroup:x:65534:\n")};
}

static char *build(const char *id, const struct spec_opts *o, const struct spec_host *host)
{
        struct spec_rootfs fs = image_files();
        struct errmsg err = {0};
        json_t *c = config(), *spec = NULL;
        char *text;

        assert_int_equal(spec_build("default", id, o, c, host, &fs, &spec, &err), 0);
        text = spec_dump(spec);
        json_decref(spec);
        json_decref(c);
        spec_rootfs_release(&fs);
        return text;
}

static void test_create_spec_is_ctrs(void **state)
{
        char *env[] = {"X=1", NULL}, *labels[] = {"a=b", NULL}, *args[] = {"echo", "hi", NULL};
        struct spec_opts o = {.env = env, .labels = labels, .args = args, .cpu_quota = -1};
        struct spec_host host = {.hostname = "vm"};
        _cleanup_free_ char *text = NULL;

        (void) state;
        text = build("c1", &o, &host);
        assert_string_equal(text, expected_create);
}

static void test_run_spec_is_ctrs(void **state)
{
        char path[] = "/tmp/berth-ctr-test-envXXXXXX";
        char *env[] = {"B=3", NULL}, *labels[] = {"l=1", NULL}, *args[] = {"sleep", "100", NULL};
        char *mounts[] = {"type=bind,src=/tmp,dst=/host,options=rbind:ro", NULL};
        char *with_ns[] = {"network:/proc/1/ns/net", NULL}, *annotations[] = {"x=y", NULL};
        char *cap_add[] = {"CAP_SYS_ADMIN", NULL}, *cap_drop[] = {"CAP_CHOWN", NULL};
        struct spec_host host = {.hostname = "vm"};
        _cleanup_free_ char *text = NULL;
        int fd = mkstemp(path);

        (void) state;
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "A=1\r\nB=2\nPATH=/x\n", 17), 17);
        close(fd);
        text = build("c2",
                     &(struct spec_opts){.env = env,
                                         .env_file = path,
                                         .labels = labels,
                                         .args = args,
                                         .mounts = mounts,
                                         .with_ns = with_ns,
                                         .annotations = annotations,
                                         .cap_add = cap_add,
                                         .cap_drop = cap_drop,
                                         .cwd = "/tmp",
                                         .net_host = true,
                                         .read_only = true,
                                         .memory_limit = 100000000,
                                         .cpus = 1.5,
                                         .cpu_shares = 1024,
                                         .cpu_quota = -1},
                     &host);
        unlink(path);
        assert_string_equal(text, expected_run);
}

static void test_default_spec_has_ctrs_defaults(void **state)
{
        json_t *spec = spec_default("ns1", "id1");
        json_t *linux_ = json_object_get(spec, "linux");

        (void) state;
        assert_string_equal(json_string_value(json_object_get(linux_, "cgroupsPath")), "/ns1/id1");
        assert_int_equal(json_array_size(json_object_get(spec, "mounts")), 7);
        assert_int_equal(json_array_size(json_object_get(linux_, "namespaces")), 5);
        /* deny all, then the 9 default devices */
        assert_int_equal(
                json_array_size(json_object_get(json_object_get(linux_, "resources"), "devices")),
                10);
        json_decref(spec);
}

static void test_tty_privileged_and_user(void **state)
{
        char *caps[] = {"CAP_CHOWN", "CAP_SYS_ADMIN", NULL};
        json_t *devices =
                json_pack("[{s:s, s:s, s:i, s:i, s:i, s:i, s:i}]", "path", "/dev/null", "type", "c",
                          "major", 1, "minor", 3, "fileMode", 438, "uid", 0, "gid", 0);
        struct spec_host host = {.hostname = "vm", .caps = caps, .devices = devices};
        struct spec_opts o = {.tty = true,
                              .privileged = true,
                              .user = "tester",
                              .hostname = "box",
                              .cpu_quota = -1};
        _cleanup_free_ char *text = NULL;

        (void) state;
        text = build("c3", &o, &host);
        assert_non_null(strstr(text, "\"process\":{\"terminal\":true,\"user\":{\"uid\":1000,"
                                     "\"gid\":1000,\"additionalGids\":[1000]}"));
        assert_non_null(strstr(text, "\"TERM=xterm\"]"));
        assert_non_null(strstr(text, "\"hostname\":\"box\""));
        assert_non_null(strstr(text, "\"bounding\":[\"CAP_CHOWN\",\"CAP_SYS_ADMIN\"]"));
        assert_non_null(strstr(text, "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"rw\"]"));
        assert_non_null(strstr(text, "\"resources\":{\"devices\":[{\"allow\":true,\"access\":"
                                     "\"rwm\"}]}"));
        assert_non_null(strstr(text, "\"devices\":[{\"path\":\"/dev/null\",\"type\":\"c\","
                                     "\"major\":1,\"minor\":3,\"fileMode\":438,\"uid\":0,"
                                     "\"gid\":0}]"));
        assert_null(strstr(text, "maskedPaths"));
        assert_null(strstr(text, "readonlyPaths"));
        json_decref(devices);
}

/* --- --mount --------------------------------------------------------------------------- */

static void test_mount_flag(void **state)
{
        struct errmsg err = {0};
        json_t *m = NULL;

        (void) state;
        assert_int_equal(spec_parse_mount("type=bind,src=/a,dst=/b,options=rbind:ro", &m, &err), 0);
        assert_string_equal(json_string_value(json_object_get(m, "type")), "bind");
        assert_string_equal(json_string_value(json_object_get(m, "source")), "/a");
        assert_string_equal(json_string_value(json_object_get(m, "destination")), "/b");
        assert_int_equal(json_array_size(json_object_get(m, "options")), 2);
        json_decref(m);

        /* CSV quotes, as Go's encoding/csv reads them */
        assert_int_equal(spec_parse_mount("\"source=/a,b\",destination=/c", &m, &err), 0);
        assert_string_equal(json_string_value(json_object_get(m, "source")), "/a,b");
        assert_null(json_object_get(m, "type"));
        json_decref(m);
}

static void test_mount_flag_errors(void **state)
{
        struct errmsg err = {0};
        json_t *m = (json_t *) 0x1;

        (void) state;
        assert_int_equal(spec_parse_mount("type=bind,src", &m, &err), -EINVAL);
        assert_string_equal(err.msg, "invalid mount specification: expected key=val");
        assert_ptr_equal(m, (json_t *) 0x1);
        assert_int_equal(spec_parse_mount("type=bind,size=1", &m, &err), -EINVAL);
        assert_string_equal(err.msg, "mount option \"size\" not supported");
        assert_int_equal(spec_parse_mount("", &m, &err), -EINVAL);
        assert_string_equal(err.msg, "EOF");
        assert_int_equal(spec_parse_mount("src=a\"b", &m, &err), -EINVAL);
        assert_string_equal(err.msg,
                            "parse error on line 1, column 6: bare \" in non-quoted-field");
        assert_ptr_equal(m, (json_t *) 0x1);
}

/* --- env, users ------------------------------------------------------------------------- */

static void test_env_merge(void **state)
{
        json_t *env = json_pack("[s, s, s]", "PATH=/bin", "A=1", "B=2");
        char *over[] = {"A=3", "B", "C=4", "PATH=/x", NULL};
        _cleanup_free_ char *text = NULL;

        (void) state;
        spec_env_merge(env, over);
        text = json_dumps(env, JSON_COMPACT);
        assert_string_equal(text, "[\"PATH=/x\",\"A=3\",\"C=4\"]");
        json_decref(env);
}

static json_t *user_of(json_t *spec)
{
        return json_object_get(json_object_get(spec, "process"), "user");
}

static void test_users(void **state)
{
        struct spec_rootfs fs = {.passwd = (char *) passwd, .group = (char *) group};
        struct errmsg err = {0};
        json_t *spec = spec_default("n", "i");
        _cleanup_free_ char *text = NULL;

        (void) state;
        assert_int_equal(spec_with_user(spec, "tester", &fs, &err), 0);
        spec_with_additional_gids(spec, "1000", &fs);
        text = json_dumps(user_of(spec), JSON_COMPACT);
        assert_string_equal(text, "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,10,29]}");
        free(text);
        /* a uid the image does not know: gid 0 */
        assert_int_equal(spec_with_user(spec, "4242", &fs, &err), 0);
        text = json_dumps(user_of(spec), JSON_COMPACT);
        assert_string_equal(text, "{\"uid\":4242,\"gid\":0,\"additionalGids\":[0]}");
        free(text);
        assert_int_equal(spec_with_user(spec, "tester:nogroup", &fs, &err), 0);
        text = json_dumps(user_of(spec), JSON_COMPACT);
        assert_string_equal(text, "{\"uid\":1000,\"gid\":65534,\"additionalGids\":[65534]}");
        /* root's supplementary groups: wheel */
        spec_with_additional_gids(spec, "root", &fs);
        assert_int_equal(json_array_size(json_object_get(user_of(spec), "additionalGids")), 2);
        json_decref(spec);
}

static void test_user_errors(void **state)
{
        struct spec_rootfs fs = {.passwd = (char *) passwd, .group = (char *) group};
        struct spec_rootfs none = {0};
        struct errmsg err = {0};
        json_t *spec = spec_default("n", "i");

        (void) state;
        assert_int_equal(spec_with_user(spec, "nosuch", &fs, &err), -ENOENT);
        assert_string_equal(err.msg, "no users found");
        assert_int_equal(spec_with_user(spec, "tester:nosuch", &fs, &err), -ENOENT);
        assert_string_equal(err.msg, "no groups found");
        assert_int_equal(spec_with_user(spec, "a:b:c", &fs, &err), -EINVAL);
        assert_string_equal(err.msg, "invalid USER value a:b:c");
        assert_int_equal(spec_with_user(spec, "tester", &none, &err), -ENOENT);
        assert_string_equal(err.msg, "open /etc/passwd: no such file or directory");
        /* untouched by the failures */
        assert_int_equal(json_integer_value(json_object_get(user_of(spec), "uid")), 0);
        json_decref(spec);
}

static void test_option_errors(void **state)
{
        char *bad_ns[] = {"network", NULL}, *bad_type[] = {"time:/x", NULL};
        char *bad_cap[] = {"SYS_ADMIN", NULL}, *bad_anno[] = {"novalue", NULL};
        char *bad_mount[] = {"type=bind,foo=bar", NULL};
        struct spec_host host = {0};
        struct spec_rootfs fs = {0};
        struct {
                struct spec_opts o;
                const char *msg;
        } cases[] = {
                {{.with_ns = bad_ns, .cpu_quota = -1},
                 "joining a Linux namespace using --with-ns requires the format 'nstype:path'"},
                {{.with_ns = bad_type, .cpu_quota = -1},
                 "the Linux namespace type specified in --with-ns is not valid: time"},
                {{.cap_add = bad_cap, .cpu_quota = -1},
                 "capabilities must be specified with 'CAP_' prefix"},
                {{.annotations = bad_anno, .cpu_quota = -1},
                 "invalid key=value format annotation: novalue"},
                {{.mounts = bad_mount, .cpu_quota = -1}, "mount option \"foo\" not supported"},
                {{.cpus = 1, .cpu_quota = 5000}, "cpus and quota/period should be used separately"},
                {{.env_file = "/nonexistent/env", .cpu_quota = -1},
                 "open /nonexistent/env: no such file or directory"},
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct errmsg err = {0};
                json_t *spec = (json_t *) 0x1;

                assert_int_not_equal(
                        spec_build("n", "i", &cases[i].o, NULL, &host, &fs, &spec, &err), 0);
                assert_string_equal(err.msg, cases[i].msg);
                assert_ptr_equal(spec, (json_t *) 0x1);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_create_spec_is_ctrs),
                cmocka_unit_test(test_run_spec_is_ctrs),
                cmocka_unit_test(test_default_spec_has_ctrs_defaults),
                cmocka_unit_test(test_tty_privileged_and_user),
                cmocka_unit_test(test_mount_flag),
                cmocka_unit_test(test_mount_flag_errors),
                cmocka_unit_test(test_env_merge),
                cmocka_unit_test(test_users),
                cmocka_unit_test(test_user_errors),
                cmocka_unit_test(test_option_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
