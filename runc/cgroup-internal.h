/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the cgroup manager (cgroup.c, cgroup-v1.c, cgroup-v2.c) and its unit test: the
 * struct behind struct cgroup, the pure helpers for paths and value conversions (exposed so
 * that they can be tested without a kernel), small cgroupfs file helpers, the per-version
 * entry points that cgroup.c dispatches to, and the device-rule emulator behind v2's eBPF
 * device filter (cgroup-v2-devices.c).
 */
#pragma once

#include "runc/cgroup.h"

/* One mounted hierarchy and the container's directory in it. */
struct cgroup_hier {
        char *controllers; /* "memory", "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
        char *mount;       /* mount point, "/sys/fs/cgroup/memory" */
        char *dir;         /* the container's directory, "/sys/fs/cgroup/memory/c1" */
        char *created_top; /* topmost directory cgroup_create() made; NULL if none */
        bool is_v2;
};

struct cgroup {
        enum cgroup_mode mode;
        char *path; /* cleaned inner path: "/a/b" (absolute) or "a/b" (relative) */
        struct cgroup_hier *hiers;
        size_t n_hiers;
};

/*
 * Lexically cleans a path like Go's filepath.Clean plus runc's CleanPath: "." and empty
 * components go, ".." eats its parent and cannot climb above the start, so "../../a" is "a".
 * An absolute path stays absolute ("/" at least); a relative one may become "". Caller's.
 */
char *cgroup_clean_path(const char *path);
/* "a-b.slice" to "/a.slice/a-b.slice", "-.slice" to "/"; -EINVAL for malformed names. */
int cgroup_expand_slice(const char *slice, char **ret, struct errmsg *err);
/*
 * The inner path of a container's cgroup, the same in every hierarchy (see cgroup_open()).
 * *ret is the caller's; -EINVAL with err set for malformed input.
 */
int cgroup_inner_path(const char *cgroups_path, const char *id, bool systemd, char **ret,
                      struct errmsg *err);
/*
 * cgroup_open() with the host given as text: mode, /proc/self/cgroup and /proc/self/mountinfo.
 * The test feeds it made-up hosts.
 */
int cgroup_open_from(enum cgroup_mode mode, const char *proc_cgroup, const char *mountinfo,
                     const char *cgroups_path, const char *id, bool systemd, struct cgroup **ret,
                     struct errmsg *err);
/*
 * The hierarchy that holds controller ("memory", "name=systemd"); NULL or "" means the
 * cgroup2 one. On pure v2 every controller lives in the one hierarchy. NULL if not mounted.
 */
struct cgroup_hier *cgroup_find_hier(const struct cgroup *cg, const char *controller);

/* cgroupfs files, relative to a directory fd. Errors name the file and the value. */
int cg_open_dir(const char *dir, int *ret_fd, struct errmsg *err);
int cg_write(int dfd, const char *file, const char *value, struct errmsg *err);
int cg_write_u64(int dfd, const char *file, uint64_t value, struct errmsg *err);
/*
 * hugepageLimits into "hugetlb.<pageSize>.<suffix>" ("limit_in_bytes" on v1, "max" on v2);
 * a pageSize that is empty or holds '/' is an input error.
 */
int cg_write_hugetlb(int dfd, const struct oci_resources *res, const char *suffix,
                     struct errmsg *err);
int cg_write_i64(int dfd, const char *file, int64_t value, struct errmsg *err);
/* Reads a (small) file with trailing whitespace removed; *ret is the caller's. */
int cg_read(int dfd, const char *file, char **ret);
bool cg_exists(int dfd, const char *file);
uint64_t cg_now_usec(void);
void cg_sleep_usec(uint64_t usec);

/* How long freezing may take before it is undone and reported as -EBUSY. */
#define CGROUP_FREEZE_TIMEOUT_USEC (2u * 1000 * 1000)

/* cgroup-v1.c */
int cgroup_v1_apply(struct cgroup *cg, const struct oci_resources *res, struct errmsg *err);
/* Gives dir (a cpuset directory just made or on the way down) its parent's cpus and mems. */
int cgroup_v1_cpuset_inherit(const char *dir, struct errmsg *err);
int cgroup_v1_freeze(int dfd, bool frozen, struct errmsg *err);
int cgroup_v1_is_frozen(int dfd, bool *ret);
/* A device rule as devices.allow/deny takes it ("c 1:3 rwm"); -EINVAL for a bad rule. */
int cgroup_v1_device_rule(const struct oci_device_rule *rule, char *buf, size_t size,
                          struct errmsg *err);

/* cgroup-v2.c */
int cgroup_v2_apply(int dfd, const struct oci_resources *res, struct errmsg *err);
/* Enables, in dir's cgroup.subtree_control, every controller dir has; failures are ignored. */
void cgroup_v2_enable_controllers(const char *dir);
int cgroup_v2_freeze(int dfd, bool frozen, struct errmsg *err);
int cgroup_v2_is_frozen(int dfd, bool *ret);
/* cpu.shares (2..262144) to cpu.weight (1..10000); 0 stays 0 (unset). As runc converts. */
uint64_t cgroup_v2_cpu_weight(uint64_t shares);
/* blkio weight (10..1000) to io.weight (1..10000); 0 stays 0 (unset). */
uint64_t cgroup_v2_io_weight(uint64_t weight);
/*
 * The cpu.max value for res's quota and period ("max 100000", "50000 100000", "50000").
 * Returns 1 when there is something to write, 0 when neither is set.
 */
int cgroup_v2_cpu_max(const struct oci_resources *res, char *buf, size_t size);
/*
 * The memory.swap.max value: OCI's swap is memory+swap, v2's is swap alone, so it is
 * swap - limit; -1 is "max". buf becomes "" when nothing is to be written. -EINVAL with err
 * set when swap is set without a memory limit or below it.
 */
int cgroup_v2_swap_max(const struct oci_resources *res, char *buf, size_t size, struct errmsg *err);

/* cgroup-v2-devices.c: device rules as a cgroup-BPF program (v2 has no devices controller) */

/* A major or minor that matches every number; the kernel's v1 "*" is ~0 too. */
#define CGROUP_DEV_ANY UINT32_MAX
/* Access bits: v1's "m", "r", "w", with the values of BPF_DEVCG_ACC_MKNOD/READ/WRITE. */
#define CGROUP_DEV_ACC_MKNOD (1u << 0)
#define CGROUP_DEV_ACC_READ  (1u << 1)
#define CGROUP_DEV_ACC_WRITE (1u << 2)
#define CGROUP_DEV_ACC_ALL   (CGROUP_DEV_ACC_MKNOD | CGROUP_DEV_ACC_READ | CGROUP_DEV_ACC_WRITE)

/* One exception to the default: a device (pattern) and the access bits it concerns. */
struct cgroup_dev_exception {
        char type;       /* 'c' or 'b' */
        uint32_t major;  /* CGROUP_DEV_ANY: any */
        uint32_t minor;  /* CGROUP_DEV_ANY: any */
        unsigned access; /* CGROUP_DEV_ACC_*, never 0 */
};

/*
 * What v1's devices controller holds after the rules: a default and the exceptions to it.
 * Embedded; cgroup_dev_policy_release() frees the exceptions (it fits _cleanup_()).
 */
struct cgroup_dev_policy {
        bool default_allow;
        struct cgroup_dev_exception *exceptions;
        size_t n_exceptions;
};

/*
 * Replays rules in order onto a deny-all state, as v1's devices.allow/deny would take them
 * after cgroup_apply()'s "a" to devices.deny (the semantics are spelled out at the top of
 * cgroup-v2-devices.c). -EINVAL with err naming "devices[i]" for a rule v1 would refuse;
 * *ret is untouched then. On success *ret is the caller's to release.
 */
int cgroup_dev_policy_build(const struct oci_device_rule *rules, size_t n_rules,
                            struct cgroup_dev_policy *ret, struct errmsg *err);
void cgroup_dev_policy_release(struct cgroup_dev_policy *p);
/* Does p let a process have access (CGROUP_DEV_ACC_* bits) to device type ('c', 'b')? */
bool cgroup_dev_policy_allows(const struct cgroup_dev_policy *p, char type, uint32_t major,
                              uint32_t minor, unsigned access);
/*
 * The BPF_PROG_TYPE_CGROUP_DEVICE program deciding as cgroup_dev_policy_allows() does.
 * Returns the number of instructions; *ret is the caller's (an array of struct bpf_insn).
 */
struct bpf_insn;
size_t cgroup_dev_policy_program(const struct cgroup_dev_policy *p, struct bpf_insn **ret);
/*
 * Loads the program for rules and attaches it to the cgroup2 directory dfd, then detaches the
 * device programs attached there before, so that re-applying replaces instead of stacking.
 * Needs CAP_SYS_ADMIN (and kernel 5.1+ for the 32-bit jumps). On a failed load err ends with
 * the verifier's log. Errors from the rules as cgroup_dev_policy_build().
 */
int cgroup_v2_devices_set(int dfd, const struct oci_device_rule *rules, size_t n_rules,
                          struct errmsg *err);
