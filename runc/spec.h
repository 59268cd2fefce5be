/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI runtime-spec (v1.0.2) config.json as C structs, and its parser. Parsing checks
 * types and the values the runtime relies on (absolute mount destinations, known namespace
 * types, capability and rlimit names) and names the offending field in err, e.g.
 * "mounts[2].destination: not an absolute path". Unknown fields are ignored, as the spec
 * requires. Every string and array belongs to the struct; oci_spec_free() releases it all.
 */
#pragma once

#include <sys/types.h>

#include "lib/errmsg.h"

/* gcc's GNU modes (c_std=gnu11) predefine "linux" as 1, which would eat oci_spec.linux. */
#undef linux

#define SPEC_MAX_BYTES (4u << 20)

enum ns_type {
        NS_PID,
        NS_NETWORK,
        NS_MOUNT,
        NS_IPC,
        NS_UTS,
        NS_USER,
        NS_CGROUP,
        NS_TIME,
        _NS_TYPE_MAX,
};

/* "pid", "network", …: the spec's names. */
const char *ns_type_to_string(enum ns_type type);
int ns_type_from_string(const char *s);
/* CLONE_NEW* flag of a namespace type; /proc/PID/ns/ entry name ("net" for network). */
int ns_type_to_clone_flag(enum ns_type type);
const char *ns_type_to_proc_name(enum ns_type type);

struct oci_namespace {
        enum ns_type type;
        char *path; /* NULL: create a new one */
};

struct oci_id_mapping {
        uint32_t container_id;
        uint32_t host_id;
        uint32_t size;
};

struct oci_mount {
        char *destination;
        char *type;
        char *source;
        char **options; /* NULL-terminated, may be NULL */
};

struct oci_rlimit {
        int resource; /* RLIMIT_* */
        uint64_t soft;
        uint64_t hard;
};

enum cap_set {
        CAP_SET_BOUNDING,
        CAP_SET_EFFECTIVE,
        CAP_SET_INHERITABLE,
        CAP_SET_PERMITTED,
        CAP_SET_AMBIENT,
        _CAP_SET_MAX,
};

struct oci_user {
        uint32_t uid;
        uint32_t gid;
        bool has_umask;
        uint32_t umask;
        uint32_t *additional_gids;
        size_t n_additional_gids;
        char *username; /* ignored on Linux */
};

struct oci_process {
        bool terminal;
        bool has_console_size;
        unsigned console_height;
        unsigned console_width;
        struct oci_user user;
        char **args; /* NULL-terminated, at least one element */
        char **env;  /* NULL-terminated, may be NULL */
        char *cwd;
        /* Per set: a bit mask of capability numbers; has_caps false means no section. */
        bool has_caps;
        uint64_t caps[_CAP_SET_MAX];
        struct oci_rlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        bool has_oom_score_adj;
        int oom_score_adj;
        char *apparmor_profile;
        char *selinux_label;
};

struct oci_hook {
        char *path;
        char **args; /* NULL-terminated, may be NULL */
        char **env;  /* NULL-terminated, may be NULL */
        int timeout; /* seconds; 0 = none */
};

enum hook_kind {
        HOOK_PRESTART,
        HOOK_CREATE_RUNTIME,
        HOOK_CREATE_CONTAINER,
        HOOK_START_CONTAINER,
        HOOK_POSTSTART,
        HOOK_POSTSTOP,
        _HOOK_KIND_MAX,
};

const char *hook_kind_to_string(enum hook_kind kind);

struct oci_hooks {
        struct oci_hook *list[_HOOK_KIND_MAX];
        size_t n[_HOOK_KIND_MAX];
};

struct oci_device {
        char *path;
        char type; /* 'c', 'b', 'u' or 'p' */
        int64_t major;
        int64_t minor;
        bool has_file_mode;
        uint32_t file_mode;
        bool has_uid;
        uint32_t uid;
        bool has_gid;
        uint32_t gid;
};

struct oci_device_rule {
        bool allow;
        char type;      /* 'a', 'c' or 'b'; 'a' when absent */
        int64_t major;  /* -1: any */
        int64_t minor;  /* -1: any */
        char access[4]; /* subset of "rwm" */
};

struct oci_weight_device {
        int64_t major;
        int64_t minor;
        bool has_weight;
        uint16_t weight;
        bool has_leaf_weight;
        uint16_t leaf_weight;
};

struct oci_throttle_device {
        int64_t major;
        int64_t minor;
        uint64_t rate;
};

struct oci_hugepage_limit {
        char *page_size; /* "2MB" */
        uint64_t limit;
};

struct oci_key_value {
        char *key;
        char *value;
};

/* An optional number: has says whether config.json set it. */
#define OPT_FIELD(type, name) \
        bool has_##name;      \
        type name

struct oci_resources {
        struct oci_device_rule *devices;
        size_t n_devices;
        /* memory */
        OPT_FIELD(int64_t, memory_limit);
        OPT_FIELD(int64_t, memory_reservation);
        OPT_FIELD(int64_t, memory_swap);
        OPT_FIELD(int64_t, memory_kernel);
        OPT_FIELD(int64_t, memory_kernel_tcp);
        OPT_FIELD(uint64_t, memory_swappiness);
        OPT_FIELD(bool, memory_disable_oom_killer);
        OPT_FIELD(bool, memory_use_hierarchy);
        /* cpu */
        OPT_FIELD(uint64_t, cpu_shares);
        OPT_FIELD(int64_t, cpu_quota);
        OPT_FIELD(uint64_t, cpu_period);
        OPT_FIELD(int64_t, cpu_realtime_runtime);
        OPT_FIELD(uint64_t, cpu_realtime_period);
        char *cpu_cpus;
        char *cpu_mems;
        /* pids */
        OPT_FIELD(int64_t, pids_limit);
        /* blockIO */
        OPT_FIELD(uint16_t, blkio_weight);
        OPT_FIELD(uint16_t, blkio_leaf_weight);
        struct oci_weight_device *blkio_weight_devices;
        size_t n_blkio_weight_devices;
        struct oci_throttle_device
                *blkio_throttle[4]; /* read bps, write bps, read iops, write iops */
        size_t n_blkio_throttle[4];
        struct oci_hugepage_limit *hugepages;
        size_t n_hugepages;
        /* network (v1 net_cls/net_prio) */
        OPT_FIELD(uint32_t, net_class_id);
        /* cgroup v2 key/value pairs, written as is */
        struct oci_key_value *unified;
        size_t n_unified;
};

struct oci_seccomp_arg {
        unsigned index;
        uint64_t value;
        uint64_t value_two;
        int op; /* enum scmp_compare */
};

struct oci_seccomp_syscall {
        char **names;    /* NULL-terminated */
        uint32_t action; /* SCMP_ACT_* (with errno folded in for ERRNO/TRACE) */
        struct oci_seccomp_arg *args;
        size_t n_args;
};

struct oci_seccomp {
        uint32_t default_action;
        uint32_t *architectures; /* SCMP_ARCH_* */
        size_t n_architectures;
        unsigned flags; /* SECCOMP_FILTER_FLAG_* */
        struct oci_seccomp_syscall *syscalls;
        size_t n_syscalls;
        char *listener_path;
};

struct oci_linux {
        struct oci_namespace *namespaces;
        size_t n_namespaces;
        struct oci_id_mapping *uid_mappings;
        size_t n_uid_mappings;
        struct oci_id_mapping *gid_mappings;
        size_t n_gid_mappings;
        struct oci_device *devices;
        size_t n_devices;
        char *cgroups_path;
        bool has_resources;
        struct oci_resources resources;
        unsigned long rootfs_propagation; /* MS_* flags; 0 = default (rslave) */
        char **masked_paths;              /* NULL-terminated, may be NULL */
        char **readonly_paths;            /* NULL-terminated, may be NULL */
        struct oci_key_value *sysctl;
        size_t n_sysctl;
        struct oci_seccomp *seccomp; /* NULL: no filter */
        bool has_personality;
        unsigned long personality; /* PER_LINUX or PER_LINUX32 */
        char *mount_label;
        int64_t time_offsets[2][2]; /* [monotonic, boottime][secs, nanosecs] */
        bool has_time_offsets;
};

struct oci_spec {
        char *oci_version;
        char *root_path;
        bool root_readonly;
        char *hostname;
        char *domainname;
        bool has_process;
        struct oci_process process;
        struct oci_mount *mounts;
        size_t n_mounts;
        struct oci_hooks hooks;
        struct oci_key_value *annotations;
        size_t n_annotations;
        struct oci_linux linux;
};

/* Parses config.json text. On failure *ret_spec is untouched and err names the field. */
int oci_spec_parse(const char *text, size_t len, struct oci_spec **ret_spec, struct errmsg *err);
/*
 * Parses a process object alone (the file of "exec --process"), into a zeroed *ret.
 * On failure *ret is released again.
 */
int oci_process_parse_text(const char *text, size_t len, struct oci_process *ret,
                           struct errmsg *err);
void oci_process_release(struct oci_process *p);
struct oci_spec *oci_spec_free(struct oci_spec *spec);
DEFINE_CLEANUP_FUNC(struct oci_spec, oci_spec_free)

/* Does the spec ask for a new namespace of type, or to join one? NULL: not listed. */
const struct oci_namespace *oci_spec_find_namespace(const struct oci_spec *spec, enum ns_type type);

/* Capability names ("CAP_CHOWN") to numbers and back; -EINVAL for unknown. */
int capability_from_name(const char *name);
const char *capability_to_name(int cap);
/* Highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap). */
int capability_last_cap(void);
/* "RLIMIT_NOFILE" to RLIMIT_NOFILE; -EINVAL for unknown. */
int rlimit_from_name(const char *name);
