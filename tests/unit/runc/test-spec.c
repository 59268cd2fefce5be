/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for runc/spec.c and runc/spec-linux.c: config.json as "runc spec" writes it,
 * a config with every section, and each error path, whose message names the field while
 * *ret_spec stays untouched.
 */
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include "lib/xalloc.h"
#include "runc/seccomp.h"
#include "runc/spec.h"
#include "tests/unit/unit.h"

/* JSON is written with single quotes here, to spare the backslashes. */
static char *dq(const char *s)
{
        char *t = xstrdup(s);

        for (char *p = t; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return t;
}

static struct oci_spec *parse_ok(const char *squoted)
{
        _cleanup_free_ char *text = dq(squoted);
        struct oci_spec *spec = NULL;
        struct errmsg err = {0};
        int r;

        r = oci_spec_parse(text, strlen(text), &spec, &err);
        if (r < 0)
                fail_msg("parse failed: %s", err.msg);
        assert_non_null(spec);
        return spec;
}

/* The output of "runc spec" (runc 1.1.5). */
static const char runc_spec_json[] =
        "{'ociVersion':'1.0.2-dev','process':{'terminal':true,'user':{'uid':0,'gid':0},"
        "'args':['sh'],"
        "'env':['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',"
        "'TERM=xterm'],'cwd':'/','capabilities':{'bounding':['CAP_AUDIT_WRITE','CAP_KILL',"
        "'CAP_NET_BIND_SERVICE'],'effective':['CAP_AUDIT_WRITE','CAP_KILL',"
        "'CAP_NET_BIND_SERVICE'],'permitted':['CAP_AUDIT_WRITE','CAP_KILL',"
        "'CAP_NET_BIND_SERVICE'],'ambient':['CAP_AUDIT_WRITE','CAP_KILL',"
        "'CAP_NET_BIND_SERVICE']},'rlimits':[{'type':'RLIMIT_NOFILE','hard':1024,"
        "'soft':1024}],'noNewPrivileges':true},'root':{'path':'rootfs','readonly':true},"
        "'hostname':'runc','mounts':[{'destination':'/proc','type':'proc','source':'proc'},"
        "{'destination':'/dev','type':'tmpfs','source':'tmpfs','options':['nosuid',"
        "'strictatime','mode=755','size=65536k']},{'destination':'/dev/pts','type':'devpts',"
        "'source':'devpts','options':['nosuid','noexec','newinstance','ptmxmode=0666',"
        "'mode=0620','gid=5']},{'destination':'/dev/shm','type':'tmpfs','source':'shm',"
        "'options':['nosuid','noexec','nodev','mode=1777','size=65536k']},"
        "{'destination':'/dev/mqueue','type':'mqueue','source':'mqueue','options':['nosuid',"
        "'noexec','nodev']},{'destination':'/sys','type':'sysfs','source':'sysfs',"
        "'options':['nosuid','noexec','nodev','ro']},{'destination':'/sys/fs/cgroup',"
        "'type':'cgroup','source':'cgroup','options':['nosuid','noexec','nodev','relatime',"
        "'ro']}],'linux':{'resources':{'devices':[{'allow':false,'access':'rwm'}]},"
        "'namespaces':[{'type':'pid'},{'type':'network'},{'type':'ipc'},{'type':'uts'},"
        "{'type':'mount'}],'maskedPaths':['/proc/acpi','/proc/asound','/proc/kcore',"
        "'/proc/keys','/proc/latency_stats','/proc/timer_list','/proc/timer_stats',"
        "'/proc/sched_debug','/sys/firmware','/proc/scsi'],'readonlyPaths':['/proc/bus',"
        "'/proc/fs','/proc/irq','/proc/sys','/proc/sysrq-trigger']}}";

static void test_runc_spec_output(void **state)
{
        _cleanup_(oci_spec_freep) struct oci_spec *spec = parse_ok(runc_spec_json);
        const struct oci_process *p = &spec->process;

        (void) state;
        assert_string_equal(spec->oci_version, "1.0.2-dev");
        assert_string_equal(spec->root_path, "rootfs");
        assert_true(spec->root_readonly);
        assert_string_equal(spec->hostname, "runc");
        assert_true(spec->has_process);
        assert_true(p->terminal);
        assert_int_equal(p->user.uid, 0);
        assert_string_equal(p->args[0], "sh");
        assert_null(p->args[1]);
        assert_string_equal(p->env[1], "TERM=xterm");
        assert_null(p->env[2]);
        assert_string_equal(p->cwd, "/");
        assert_true(p->has_caps);
        assert_int_equal(p->caps[CAP_SET_BOUNDING], (1ull << 29) | (1ull << 5) | (1ull << 10));
        assert_int_equal(p->caps[CAP_SET_AMBIENT], p->caps[CAP_SET_BOUNDING]);
        assert_int_equal(p->caps[CAP_SET_INHERITABLE], 0);
        assert_int_equal(p->n_rlimits, 1);
        assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
        assert_int_equal(p->rlimits[0].soft, 1024);
        assert_true(p->no_new_privileges);
        assert_false(p->has_oom_score_adj);
        assert_int_equal(spec->n_mounts, 7);
        assert_string_equal(spec->mounts[1].destination, "/dev");
        assert_string_equal(spec->mounts[1].type, "tmpfs");
        assert_string_equal(spec->mounts[1].options[3], "size=65536k");
        assert_null(spec->mounts[0].options);
        assert_true(spec->linux.has_resources);
        assert_int_equal(spec->linux.resources.n_devices, 1);
        assert_false(spec->linux.resources.devices[0].allow);
        assert_int_equal(spec->linux.resources.devices[0].type, 'a');
        assert_int_equal(spec->linux.resources.devices[0].major, -1);
        assert_string_equal(spec->linux.resources.devices[0].access, "rwm");
        assert_int_equal(spec->linux.n_namespaces, 5);
        assert_non_null(oci_spec_find_namespace(spec, NS_MOUNT));
        assert_null(oci_spec_find_namespace(spec, NS_USER));
        assert_null(oci_spec_find_namespace(spec, NS_PID)->path);
        assert_string_equal(spec->linux.masked_paths[9], "/proc/scsi");
        assert_string_equal(spec->linux.readonly_paths[4], "/proc/sysrq-trigger");
        assert_null(spec->linux.seccomp);
        assert_int_equal(spec->linux.rootfs_propagation, 0);
}

static const char full_json[] =
        "{'ociVersion':'1.0.2','hostname':'h','domainname':'example.org',"
        "'root':{'path':'/abs/rootfs'},"
        "'process':{'terminal':false,'consoleSize':{'height':25,'width':80},"
        " 'user':{'uid':1000,'gid':1000,'umask':18,'additionalGids':[5,6],'username':'u'},"
        " 'args':['/bin/sh','-c','true'],'env':['A=1','B='],'cwd':'/root',"
        " 'capabilities':{'effective':['CAP_CHOWN'],'permitted':['CAP_CHOWN','CAP_BPF']},"
        " 'rlimits':[{'type':'RLIMIT_MEMLOCK','soft':18446744073709551615,"
        "   'hard':18446744073709551615},{'type':'RLIMIT_CORE','soft':0,'hard':0}],"
        " 'oomScoreAdj':-500,'apparmorProfile':'docker-default','selinuxLabel':'l',"
        " 'commandLine':'ignored','unknownField':{'x':[1]}},"
        "'mounts':[{'destination':'/data','type':'bind','source':'/src',"
        " 'options':['rbind','ro']}],"
        "'hooks':{'prestart':[{'path':'/bin/a','args':['a','1'],'env':['X=1'],'timeout':5}],"
        " 'createRuntime':[{'path':'/bin/b'},{'path':'/bin/c'}],'createContainer':null,"
        " 'startContainer':[],'poststart':[{'path':'/bin/d'}],'poststop':[{'path':'/bin/e'}]},"
        "'annotations':{'org.example.k':'v','x':''},"
        "'linux':{"
        " 'namespaces':[{'type':'user'},{'type':'network','path':'/var/run/netns/n'},"
        "  {'type':'time'},{'type':'cgroup'}],"
        " 'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
        " 'gidMappings':[{'containerID':0,'hostID':200000,'size':1}],"
        " 'devices':[{'type':'c','path':'/dev/fuse','major':10,'minor':229,'fileMode':438,"
        "  'uid':0,'gid':0},{'type':'p','path':'/dev/fifo'}],"
        " 'cgroupsPath':'/berth/c1',"
        " 'resources':{'devices':[{'allow':false,'access':'rwm'},"
        "   {'allow':true,'type':'c','major':10,'minor':229,'access':'rw'}],"
        "  'memory':{'limit':536870912,'reservation':1,'swap':-1,'kernel':2,'kernelTCP':3,"
        "   'swappiness':60,'disableOOMKiller':true,'useHierarchy':false},"
        "  'cpu':{'shares':1024,'quota':50000,'period':100000,'realtimeRuntime':7,"
        "   'realtimePeriod':8,'cpus':'0-1','mems':'0'},"
        "  'pids':{'limit':100},"
        "  'blockIO':{'weight':500,'leafWeight':300,"
        "   'weightDevice':[{'major':8,'minor':0,'weight':600},"
        "    {'major':8,'minor':16,'leafWeight':10}],"
        "   'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':1048576}],"
        "   'throttleWriteIOPSDevice':[{'major':8,'minor':0,'rate':100}]},"
        "  'hugepageLimits':[{'pageSize':'2MB','limit':209715200}],"
        "  'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':1}]},"
        "  'rdma':{'mlx':{'hcaHandles':1}},"
        "  'unified':{'memory.high':'1G','io.weight':'default 100'}},"
        " 'rootfsPropagation':'rslave',"
        " 'maskedPaths':['/proc/kcore'],'readonlyPaths':['/proc/sys'],"
        " 'sysctl':{'net.ipv4.ip_forward':'1'},"
        " 'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
        "  'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86'],"
        "  'syscalls':[{'names':['read','write'],'action':'SCMP_ACT_ALLOW'}]},"
        " 'personality':{'domain':'LINUX32','flags':[]},"
        " 'mountLabel':'system_u:object_r:container_file_t:s0',"
        " 'timeOffsets':{'monotonic':{'secs':10,'nanosecs':5},'boottime':{'secs':-3}},"
        " 'intelRdt':{'closID':'x'}}}";

static void test_full_config_process_mounts_hooks(void **state)
{
        _cleanup_(oci_spec_freep) struct oci_spec *spec = parse_ok(full_json);
        const struct oci_process *p = &spec->process;

        (void) state;
        assert_string_equal(spec->domainname, "example.org");
        assert_false(spec->root_readonly);
        assert_true(p->has_console_size);
        assert_int_equal(p->console_height, 25);
        assert_int_equal(p->console_width, 80);
        assert_int_equal(p->user.uid, 1000);
        assert_true(p->user.has_umask);
        assert_int_equal(p->user.umask, 18);
        assert_int_equal(p->user.n_additional_gids, 2);
        assert_int_equal(p->user.additional_gids[1], 6);
        assert_string_equal(p->user.username, "u");
        assert_string_equal(p->args[2], "true");
        assert_int_equal(p->caps[CAP_SET_PERMITTED], (1ull << 0) | (1ull << 39));
        assert_int_equal(p->caps[CAP_SET_BOUNDING], 0);
        assert_int_equal(p->rlimits[0].resource, RLIMIT_MEMLOCK);
        assert_true(p->rlimits[0].soft == UINT64_MAX);
        assert_true(p->rlimits[0].hard == UINT64_MAX);
        assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
        assert_false(p->no_new_privileges);
        assert_true(p->has_oom_score_adj);
        assert_int_equal(p->oom_score_adj, -500);
        assert_string_equal(p->apparmor_profile, "docker-default");
        assert_string_equal(p->selinux_label, "l");
        assert_string_equal(spec->mounts[0].source, "/src");
        assert_string_equal(spec->mounts[0].options[1], "ro");
        assert_int_equal(spec->hooks.n[HOOK_PRESTART], 1);
        assert_int_equal(spec->hooks.list[HOOK_PRESTART][0].timeout, 5);
        assert_string_equal(spec->hooks.list[HOOK_PRESTART][0].args[1], "1");
        assert_string_equal(spec->hooks.list[HOOK_PRESTART][0].env[0], "X=1");
        assert_int_equal(spec->hooks.n[HOOK_CREATE_RUNTIME], 2);
        assert_string_equal(spec->hooks.list[HOOK_CREATE_RUNTIME][1].path, "/bin/c");
        assert_int_equal(spec->hooks.list[HOOK_CREATE_RUNTIME][1].timeout, 0);
        assert_int_equal(spec->hooks.n[HOOK_CREATE_CONTAINER], 0);
        assert_int_equal(spec->hooks.n[HOOK_START_CONTAINER], 0);
        assert_string_equal(spec->hooks.list[HOOK_POSTSTOP][0].path, "/bin/e");
        assert_int_equal(spec->n_annotations, 2);
        assert_string_equal(spec->annotations[0].key, "org.example.k");
        assert_string_equal(spec->annotations[1].value, "");
}

static void test_full_config_linux(void **state)
{
        _cleanup_(oci_spec_freep) struct oci_spec *spec = parse_ok(full_json);
        const struct oci_linux *l = &spec->linux;

        (void) state;
        assert_int_equal(l->n_namespaces, 4);
        assert_string_equal(oci_spec_find_namespace(spec, NS_NETWORK)->path, "/var/run/netns/n");
        assert_non_null(oci_spec_find_namespace(spec, NS_TIME));
        assert_null(oci_spec_find_namespace(spec, NS_PID));
        assert_int_equal(l->uid_mappings[0].host_id, 100000);
        assert_int_equal(l->uid_mappings[0].size, 65536);
        assert_int_equal(l->gid_mappings[0].host_id, 200000);
        assert_int_equal(l->n_devices, 2);
        assert_int_equal(l->devices[0].type, 'c');
        assert_int_equal(l->devices[0].minor, 229);
        assert_true(l->devices[0].has_file_mode);
        assert_int_equal(l->devices[0].file_mode, 0666);
        assert_true(l->devices[0].has_gid);
        assert_int_equal(l->devices[1].type, 'p');
        assert_false(l->devices[1].has_uid);
        assert_string_equal(l->cgroups_path, "/berth/c1");
        assert_int_equal(l->rootfs_propagation, MS_SLAVE | MS_REC);
        assert_string_equal(l->masked_paths[0], "/proc/kcore");
        assert_string_equal(l->readonly_paths[0], "/proc/sys");
        assert_int_equal(l->n_sysctl, 1);
        assert_string_equal(l->sysctl[0].key, "net.ipv4.ip_forward");
        assert_non_null(l->seccomp);
        assert_int_equal(l->seccomp->n_architectures, 2);
        assert_true(l->has_personality);
        assert_int_equal(l->personality, PER_LINUX32);
        assert_string_equal(l->mount_label, "system_u:object_r:container_file_t:s0");
        assert_true(l->has_time_offsets);
        assert_int_equal(l->time_offsets[0][0], 10);
        assert_int_equal(l->time_offsets[0][1], 5);
        assert_int_equal(l->time_offsets[1][0], -3);
}

static void test_full_config_resources(void **state)
{
        _cleanup_(oci_spec_freep) struct oci_spec *spec = parse_ok(full_json);
        const struct oci_resources *rs = &spec->linux.resources;

        (void) state;
        assert_int_equal(rs->n_devices, 2);
        assert_true(rs->devices[1].allow);
        assert_int_equal(rs->devices[1].type, 'c');
        assert_int_equal(rs->devices[1].major, 10);
        assert_string_equal(rs->devices[1].access, "rw");
        assert_true(rs->has_memory_limit);
        assert_int_equal(rs->memory_limit, 536870912);
        assert_int_equal(rs->memory_reservation, 1);
        assert_int_equal(rs->memory_swap, -1);
        assert_int_equal(rs->memory_kernel, 2);
        assert_int_equal(rs->memory_kernel_tcp, 3);
        assert_int_equal(rs->memory_swappiness, 60);
        assert_true(rs->has_memory_disable_oom_killer && rs->memory_disable_oom_killer);
        assert_true(rs->has_memory_use_hierarchy);
        assert_false(rs->memory_use_hierarchy);
        assert_int_equal(rs->cpu_shares, 1024);
        assert_int_equal(rs->cpu_quota, 50000);
        assert_int_equal(rs->cpu_period, 100000);
        assert_int_equal(rs->cpu_realtime_runtime, 7);
        assert_int_equal(rs->cpu_realtime_period, 8);
        assert_string_equal(rs->cpu_cpus, "0-1");
        assert_string_equal(rs->cpu_mems, "0");
        assert_true(rs->has_pids_limit);
        assert_int_equal(rs->pids_limit, 100);
        assert_int_equal(rs->blkio_weight, 500);
        assert_int_equal(rs->blkio_leaf_weight, 300);
        assert_int_equal(rs->n_blkio_weight_devices, 2);
        assert_true(rs->blkio_weight_devices[0].has_weight);
        assert_false(rs->blkio_weight_devices[0].has_leaf_weight);
        assert_int_equal(rs->blkio_weight_devices[1].leaf_weight, 10);
        assert_int_equal(rs->n_blkio_throttle[0], 1);
        assert_int_equal(rs->blkio_throttle[0][0].rate, 1048576);
        assert_int_equal(rs->n_blkio_throttle[1], 0);
        assert_int_equal(rs->n_blkio_throttle[3], 1);
        assert_int_equal(rs->blkio_throttle[3][0].rate, 100);
        assert_string_equal(rs->hugepages[0].page_size, "2MB");
        assert_int_equal(rs->hugepages[0].limit, 209715200);
        assert_true(rs->has_net_class_id);
        assert_int_equal(rs->net_class_id, 1048577);
        assert_int_equal(rs->n_unified, 2);
        assert_string_equal(rs->unified[1].value, "default 100");
}

static void test_minimal_config_leaves_everything_unset(void **state)
{
        _cleanup_(oci_spec_freep) struct oci_spec *spec = parse_ok("{'ociVersion':'1.0.0'}");

        (void) state;
        assert_null(spec->root_path);
        assert_false(spec->has_process);
        assert_int_equal(spec->n_mounts, 0);
        assert_false(spec->linux.has_resources);
        assert_false(spec->linux.has_personality);
        assert_null(oci_spec_find_namespace(spec, NS_PID));
        /* null reads as absent, as Go's encoding/json does */
        oci_spec_free(TAKE_PTR(spec));
        spec = parse_ok("{'ociVersion':'1','mounts':null,'linux':{'resources':null}}");
        assert_false(spec->linux.has_resources);
}

struct error_case {
        const char *json; /* single-quoted */
        int code;
        const char *msg;
};

static const struct error_case error_cases[] = {
        {"", -EINVAL, "line 1, column 0: '[' or '{' expected near end of file"},
        {"{'ociVersion':\n  '1',,}", -EINVAL, "line 2, column 7: string or '}' expected near ','"},
        {"[]", -EINVAL, "expected a JSON object"},
        {"{}", -EINVAL, "ociVersion: required"},
        {"{'ociVersion':1}", -EINVAL, "ociVersion: expected string"},
        {"{'ociVersion':'1','hostname':'a\\u0000b'}", -EINVAL,
         "hostname: string contains a NUL character"},
        {"{'ociVersion':'1','root':{}}", -EINVAL, "root.path: required"},
        {"{'ociVersion':'1','root':'/'}", -EINVAL, "root: expected object"},
        {"{'ociVersion':'1','root':{'path':'r','readonly':1}}", -EINVAL,
         "root.readonly: expected boolean"},
        {"{'ociVersion':'1','process':{'cwd':'/'}}", -EINVAL, "process.args: required"},
        {"{'ociVersion':'1','process':{'args':[],'cwd':'/'}}", -EINVAL,
         "process.args: must not be empty"},
        {"{'ociVersion':'1','process':{'args':['a',2],'cwd':'/'}}", -EINVAL,
         "process.args[1]: expected string"},
        {"{'ociVersion':'1','process':{'args':['a']}}", -EINVAL, "process.cwd: required"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'tmp'}}", -EINVAL,
         "process.cwd: not an absolute path"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','env':['A']}}", -EINVAL,
         "process.env[0]: \"A\" has no '='"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','env':['A=1','=x']}}", -EINVAL,
         "process.env[1]: empty variable name"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','terminal':'yes'}}", -EINVAL,
         "process.terminal: expected boolean"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','consoleSize':{'width':1}}}", -EINVAL,
         "process.consoleSize.height: required"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','user':{'gid':0}}}", -EINVAL,
         "process.user.uid: required"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','user':{'uid':4294967296,"
         "'gid':0}}}",
         -ERANGE, "process.user.uid: 4294967296 is out of range [0, 4294967295]"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','user':{'uid':1.5,'gid':0}}}",
         -EINVAL, "process.user.uid: expected integer, got 1.5"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','user':{'uid':0,'gid':0,"
         "'additionalGids':[1,-2]}}}",
         -ERANGE, "process.user.additionalGids[1]: -2 is negative"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','capabilities':{'bounding':"
         "['CAP_CHOWN','CAP_KILL','CAP_SYS_ADMIN','CAP_FOO']}}}",
         -EINVAL, "process.capabilities.bounding[3]: unknown capability \"CAP_FOO\""},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','capabilities':{'ambient':"
         "'CAP_KILL'}}}",
         -EINVAL, "process.capabilities.ambient: expected array"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_X',"
         "'soft':1,'hard':1}]}}",
         -EINVAL, "process.rlimits[0].type: unknown rlimit \"RLIMIT_X\""},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_CPU',"
         "'soft':1}]}}",
         -EINVAL, "process.rlimits[0].hard: required"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_CPU',"
         "'soft':-1,'hard':1}]}}",
         -ERANGE, "process.rlimits[0].soft: -1 is negative"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_CPU',"
         "'soft':1,'hard':1},{'type':'RLIMIT_CPU','soft':1,'hard':1}]}}",
         -EINVAL, "process.rlimits[1].type: duplicate of process.rlimits[0]"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_CPU',"
         "'soft':18446744073709551616,'hard':1}]}}",
         -EINVAL, "line 1, column 111: too big integer near '18446744073709551616'"},
        {"{'ociVersion':'1','process':{'args':['a'],'cwd':'/','oomScoreAdj':1001}}", -ERANGE,
         "process.oomScoreAdj: 1001 is out of range [-1000, 1000]"},
        {"{'ociVersion':'1','mounts':{}}", -EINVAL, "mounts: expected array"},
        {"{'ociVersion':'1','mounts':[1]}", -EINVAL, "mounts[0]: expected object"},
        {"{'ociVersion':'1','mounts':[{'destination':'/a'},{'destination':'/b'},"
         "{'destination':'c'}]}",
         -EINVAL, "mounts[2].destination: not an absolute path"},
        {"{'ociVersion':'1','mounts':[{'destination':'/a','options':'ro'}]}", -EINVAL,
         "mounts[0].options: expected array"},
        {"{'ociVersion':'1','hooks':{'poststop':[{'path':'rel'}]}}", -EINVAL,
         "hooks.poststop[0].path: not an absolute path"},
        {"{'ociVersion':'1','hooks':{'prestart':[{'path':'/a','timeout':0}]}}", -EINVAL,
         "hooks.prestart[0].timeout: must be greater than zero"},
        {"{'ociVersion':'1','hooks':{'createContainer':[{'path':'/a','args':[1]}]}}", -EINVAL,
         "hooks.createContainer[0].args[0]: expected string"},
        {"{'ociVersion':'1','annotations':{'foo':1}}", -EINVAL, "annotations.foo: expected string"},
        {"{'ociVersion':'1','annotations':{'':'x'}}", -EINVAL, "annotations: empty key"},
        {"{'ociVersion':'1','linux':[]}", -EINVAL, "linux: expected object"},
        {"{'ociVersion':'1','linux':{'namespaces':[{'type':'pid'},{'type':'foo'}]}}", -EINVAL,
         "linux.namespaces[1].type: unknown namespace type \"foo\""},
        {"{'ociVersion':'1','linux':{'namespaces':[{'type':'pid'},{'type':'ipc'},"
         "{'type':'pid'}]}}",
         -EINVAL, "linux.namespaces[2].type: duplicate namespace type \"pid\""},
        {"{'ociVersion':'1','linux':{'namespaces':[{'type':'network','path':'netns'}]}}", -EINVAL,
         "linux.namespaces[0].path: not an absolute path"},
        {"{'ociVersion':'1','linux':{'uidMappings':[{'containerID':0,'hostID':0}]}}", -EINVAL,
         "linux.uidMappings[0].size: required"},
        {"{'ociVersion':'1','linux':{'devices':[{'type':'x','path':'/dev/x'}]}}", -EINVAL,
         "linux.devices[0].type: unknown device type \"x\""},
        {"{'ociVersion':'1','linux':{'devices':[{'type':'c','path':'dev/x','major':1,"
         "'minor':1}]}}",
         -EINVAL, "linux.devices[0].path: not an absolute path"},
        {"{'ociVersion':'1','linux':{'devices':[{'type':'b','path':'/dev/x','minor':1}]}}", -EINVAL,
         "linux.devices[0].major: required"},
        {"{'ociVersion':'1','linux':{'resources':{'devices':[{'access':'rwm'}]}}}", -EINVAL,
         "linux.resources.devices[0].allow: required"},
        {"{'ociVersion':'1','linux':{'resources':{'devices':[{'allow':true,'access':'rwx'}]}}}",
         -EINVAL, "linux.resources.devices[0].access: \"rwx\" is not a subset of \"rwm\""},
        {"{'ociVersion':'1','linux':{'resources':{'devices':[{'allow':true,'type':'p'}]}}}",
         -EINVAL, "linux.resources.devices[0].type: unknown device type \"p\""},
        {"{'ociVersion':'1','linux':{'resources':{'memory':{'limit':'1g'}}}}", -EINVAL,
         "linux.resources.memory.limit: expected number"},
        {"{'ociVersion':'1','linux':{'resources':{'memory':{'limit':9223372036854775808}}}}",
         -ERANGE, "linux.resources.memory.limit: 9223372036854775808 is out of range"},
        {"{'ociVersion':'1','linux':{'resources':{'cpu':{'cpus':1}}}}", -EINVAL,
         "linux.resources.cpu.cpus: expected string"},
        {"{'ociVersion':'1','linux':{'resources':{'pids':{}}}}", -EINVAL,
         "linux.resources.pids.limit: required"},
        {"{'ociVersion':'1','linux':{'resources':{'blockIO':{'weight':65536}}}}", -ERANGE,
         "linux.resources.blockIO.weight: 65536 is out of range [0, 65535]"},
        {"{'ociVersion':'1','linux':{'resources':{'blockIO':{'weightDevice':[{'major':8,"
         "'minor':0}]}}}}",
         -EINVAL, "linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight"},
        {"{'ociVersion':'1','linux':{'resources':{'blockIO':{'throttleWriteBpsDevice':"
         "[{'major':8,'minor':0}]}}}}",
         -EINVAL, "linux.resources.blockIO.throttleWriteBpsDevice[0].rate: required"},
        {"{'ociVersion':'1','linux':{'resources':{'hugepageLimits':[{'limit':1}]}}}", -EINVAL,
         "linux.resources.hugepageLimits[0].pageSize: required"},
        {"{'ociVersion':'1','linux':{'resources':{'network':{'classID':-1}}}}", -ERANGE,
         "linux.resources.network.classID: -1 is negative"},
        {"{'ociVersion':'1','linux':{'resources':{'unified':{'cpu.max':5}}}}", -EINVAL,
         "linux.resources.unified.cpu.max: expected string"},
        {"{'ociVersion':'1','linux':{'rootfsPropagation':'bogus'}}", -EINVAL,
         "linux.rootfsPropagation: unknown propagation \"bogus\""},
        {"{'ociVersion':'1','linux':{'maskedPaths':['/a','b']}}", -EINVAL,
         "linux.maskedPaths[1]: not an absolute path"},
        {"{'ociVersion':'1','linux':{'readonlyPaths':'/a'}}", -EINVAL,
         "linux.readonlyPaths: expected array"},
        {"{'ociVersion':'1','linux':{'sysctl':{'kernel.shmmax':1}}}", -EINVAL,
         "linux.sysctl.kernel.shmmax: expected string"},
        {"{'ociVersion':'1','linux':{'personality':{'domain':'LINUX64'}}}", -EINVAL,
         "linux.personality.domain: unknown domain \"LINUX64\""},
        {"{'ociVersion':'1','linux':{'personality':{'domain':'LINUX','flags':['X']}}}", -EINVAL,
         "linux.personality.flags[0]: unsupported flag \"X\""},
        {"{'ociVersion':'1','linux':{'mountLabel':false}}", -EINVAL,
         "linux.mountLabel: expected string"},
        {"{'ociVersion':'1','linux':{'timeOffsets':{'realtime':{'secs':1}}}}", -EINVAL,
         "linux.timeOffsets: unknown clock \"realtime\""},
        {"{'ociVersion':'1','linux':{'timeOffsets':{'boottime':{'nanosecs':1000000000}}}}", -ERANGE,
         "linux.timeOffsets.boottime.nanosecs: 1000000000 is not below 1000000000"},
        {"{'ociVersion':'1','linux':{'seccomp':{'defaultAction':'SCMP_ACT_BOGUS'}}}", -EINVAL,
         "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_BOGUS\""},
        {"{'ociVersion':'1','linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
         "'syscalls':[{'names':['a'],'action':'SCMP_ACT_ERRNO','args':[{'index':0,"
         "'value':1,'op':'SCMP_CMP_XX'}]}]}}}",
         -EINVAL, "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_XX\""},
};

static void test_errors_name_the_field_and_leave_ret_untouched(void **state)
{
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
                const struct error_case *c = &error_cases[i];
                _cleanup_free_ char *text = dq(c->json);
                struct oci_spec *spec = (struct oci_spec *) 0x1;
                struct errmsg err = {0};
                int r;

                r = oci_spec_parse(text, strlen(text), &spec, &err);
                if (r != c->code || strcmp(err.msg, c->msg) != 0)
                        fail_msg("case %zu: %s\n  got %d \"%s\"\n  want %d \"%s\"", i, text, r,
                                 err.msg, c->code, c->msg);
                assert_int_equal(err.code, c->code);
                assert_ptr_equal(spec, (struct oci_spec *) 0x1);
                /* and the code alone without err */
                assert_int_equal(oci_spec_parse(text, strlen(text), &spec, NULL), c->code);
        }
}

static void test_oversize_is_efbig(void **state)
{
        size_t len = SPEC_MAX_BYTES + 1;
        _cleanup_free_ char *text = xmalloc(len);
        struct oci_spec *spec = NULL;
        struct errmsg err = {0};

        (void) state;
        memset(text, ' ', len);
        assert_int_equal(oci_spec_parse(text, len, &spec, &err), -EFBIG);
        assert_null(spec);
        assert_non_null(strstr(err.msg, "limit"));
}

static void test_text_is_not_nul_terminated(void **state)
{
        static const char text[] = "{\"ociVersion\":\"1\"}garbage";
        _cleanup_(oci_spec_freep) struct oci_spec *spec = NULL;

        (void) state;
        assert_int_equal(oci_spec_parse(text, strlen("{\"ociVersion\":\"1\"}"), &spec, NULL), 0);
        assert_string_equal(spec->oci_version, "1");
        oci_spec_free(TAKE_PTR(spec));
        assert_int_equal(oci_spec_parse(text, strlen(text), &spec, NULL), -EINVAL);
        assert_null(spec);
}

static void test_process_parse_text(void **state)
{
        _cleanup_free_ char *ok = dq("{'args':['ls','-l'],'cwd':'/tmp','env':['A=b'],"
                                     "'user':{'uid':5,'gid':6},'noNewPrivileges':true}");
        _cleanup_free_ char *bad = dq("{'args':['ls'],'cwd':'/',"
                                      "'capabilities':{'effective':['CAP_NOPE']}}");
        struct oci_process p = {0};
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(oci_process_parse_text(ok, strlen(ok), &p, &err), 0);
        assert_string_equal(p.args[1], "-l");
        assert_string_equal(p.cwd, "/tmp");
        assert_int_equal(p.user.gid, 6);
        assert_true(p.no_new_privileges);
        oci_process_release(&p);
        assert_null(p.args);

        assert_int_equal(oci_process_parse_text(bad, strlen(bad), &p, &err), -EINVAL);
        assert_string_equal(err.msg, "capabilities.effective[0]: unknown capability \"CAP_NOPE\"");
        assert_null(p.args);
        assert_null(p.cwd);
        assert_int_equal(oci_process_parse_text("{}", 2, &p, &err), -EINVAL);
        assert_string_equal(err.msg, "args: required");
        assert_int_equal(oci_process_parse_text("[", 1, &p, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "line 1, column 1: "));
}

static void test_name_tables(void **state)
{
        (void) state;
        assert_int_equal(ns_type_from_string("network"), NS_NETWORK);
        assert_int_equal(ns_type_from_string("net"), -EINVAL);
        assert_string_equal(ns_type_to_string(NS_MOUNT), "mount");
        assert_null(ns_type_to_string(_NS_TYPE_MAX));
        assert_string_equal(ns_type_to_proc_name(NS_NETWORK), "net");
        assert_string_equal(ns_type_to_proc_name(NS_MOUNT), "mnt");
        assert_int_equal(ns_type_to_clone_flag(NS_USER), CLONE_NEWUSER);
        assert_int_equal(ns_type_to_clone_flag(NS_TIME), CLONE_NEWTIME);
        for (int t = 0; t < _NS_TYPE_MAX; t++) {
                assert_int_equal(ns_type_from_string(ns_type_to_string(t)), t);
                assert_true(ns_type_to_clone_flag(t) != 0);
        }
        assert_string_equal(hook_kind_to_string(HOOK_CREATE_RUNTIME), "createRuntime");
        assert_string_equal(hook_kind_to_string(HOOK_POSTSTOP), "poststop");
        assert_null(hook_kind_to_string(_HOOK_KIND_MAX));
        assert_int_equal(capability_from_name("CAP_CHOWN"), 0);
        assert_int_equal(capability_from_name("CAP_SYS_ADMIN"), 21);
        assert_int_equal(capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
        assert_int_equal(capability_from_name("cap_chown"), -EINVAL);
        assert_int_equal(capability_from_name("CAP_FOO"), -EINVAL);
        assert_string_equal(capability_to_name(21), "CAP_SYS_ADMIN");
        assert_null(capability_to_name(-1));
        assert_null(capability_to_name(64));
        for (int c = 0; c <= 40; c++)
                assert_int_equal(capability_from_name(capability_to_name(c)), c);
        assert_true(capability_last_cap() >= 36 && capability_last_cap() < 64);
        assert_int_equal(rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
        assert_int_equal(rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
        assert_int_equal(rlimit_from_name("RLIMIT_AS"), RLIMIT_AS);
        assert_int_equal(rlimit_from_name("NOFILE"), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_runc_spec_output),
                cmocka_unit_test(test_full_config_process_mounts_hooks),
                cmocka_unit_test(test_full_config_linux),
                cmocka_unit_test(test_full_config_resources),
                cmocka_unit_test(test_minimal_config_leaves_everything_unset),
                cmocka_unit_test(test_errors_name_the_field_and_leave_ret_untouched),
                cmocka_unit_test(test_oversize_is_efbig),
                cmocka_unit_test(test_text_is_not_nul_terminated),
                cmocka_unit_test(test_process_parse_text),
                cmocka_unit_test(test_name_tables),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
