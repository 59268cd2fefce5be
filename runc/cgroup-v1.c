/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup v1 (also the controllers of a hybrid host): writing OCI resources to each
 * controller's files the way runc 1.1's cgroupfs driver does (same files, same order, same
 * "0 means unset"), the cpuset parents' inheritance, device rules, and the v1 freezer.
 */
#include <fcntl.h>
#include <inttypes.h>

#include "lib/errmsg.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "runc/cgroup-internal.h"

/* runc treats 0 as "not set" for these; so does the kernel's default. */
#define IS_SET(res, field) ((res)->has_##field && (res)->field != 0)

/* --- memory ---------------------------------------------------------------------------- */

static bool memory_wanted(const struct oci_resources *res)
{
        return IS_SET(res, memory_limit) || IS_SET(res, memory_reservation) ||
               IS_SET(res, memory_swap) || IS_SET(res, memory_kernel) ||
               IS_SET(res, memory_kernel_tcp) || res->has_memory_swappiness ||
               IS_SET(res, memory_disable_oom_killer);
}

static int write_limit(int dfd, const char *file, int64_t value, struct errmsg *err)
{
        _cleanup_free_ char *usage = NULL;
        int r;

        r = cg_write_i64(dfd, file, value, err);
        if (r != -EBUSY || !STREQ(file, "memory.limit_in_bytes"))
                return r;
        /* The kernel refuses a limit below what the cgroup uses already: say how much. */
        if (cg_read(dfd, "memory.usage_in_bytes", &usage) >= 0)
                return errmsg_set(err, r, "memory.limit_in_bytes=%" PRIi64 ": %s (usage is %s)",
                                  value, strerror(-r), usage);
        return r;
}

/*
 * memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes at every step, so raising
 * both writes memsw first and lowering writes memory first (as runc's setMemoryAndSwap).
 */
static int memory_and_swap(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        int64_t mem = IS_SET(res, memory_limit) ? res->memory_limit : 0;
        int64_t swap = IS_SET(res, memory_swap) ? res->memory_swap : 0;
        bool has_memsw = cg_exists(dfd, "memory.memsw.limit_in_bytes");
        int r;

        /* Unlimited memory with swap unset means unlimited swap too. */
        if (mem == -1 && swap == 0 && has_memsw)
                swap = -1;
        if (swap != 0 && !has_memsw) {
                /* Without swap accounting, "as much swap as memory" and "unlimited" are moot. */
                if (swap != -1 && swap != mem)
                        return errmsg_set(
                                err, -EOPNOTSUPP,
                                "memory.swap=%" PRIi64
                                ": swap accounting is not enabled (no memory.memsw.limit_in_bytes)",
                                swap);
                swap = 0;
        }
        if (mem != 0 && swap != 0) {
                _cleanup_free_ char *cur_text = NULL;
                uint64_t cur = 0;

                r = cg_read(dfd, "memory.limit_in_bytes", &cur_text);
                if (r < 0 || parse_uint64(cur_text, &cur) < 0)
                        return errmsg_set(err, r < 0 ? r : -EIO,
                                          "memory.limit_in_bytes: cannot read the current limit");
                if (swap == -1 || cur < (uint64_t) swap) {
                        r = write_limit(dfd, "memory.memsw.limit_in_bytes", swap, err);
                        if (r < 0)
                                return r;
                        return write_limit(dfd, "memory.limit_in_bytes", mem, err);
                }
        }
        if (mem != 0) {
                r = write_limit(dfd, "memory.limit_in_bytes", mem, err);
                if (r < 0)
                        return r;
        }
        if (swap != 0)
                return write_limit(dfd, "memory.memsw.limit_in_bytes", swap, err);
        return 0;
}

/* Kernel memory limits: gone from Linux 6.x (no file, or the write is refused). */
static int memory_kernel(int dfd, const char *file, int64_t value, struct errmsg *err)
{
        int r;

        if (!cg_exists(dfd, file)) {
                log_debug("cgroup: %s does not exist, ignoring memory.kernel limits", file);
                return 0;
        }
        r = cg_write_i64(dfd, file, value, err);
        if (r == -EOPNOTSUPP || r == -ENOTSUP) {
                log_debug("cgroup: %s not supported by the kernel, ignoring", file);
                return 0;
        }
        return r;
}

static int memory_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        int r;

        r = memory_and_swap(dfd, res, err);
        if (r >= 0 && IS_SET(res, memory_reservation))
                r = cg_write_i64(dfd, "memory.soft_limit_in_bytes", res->memory_reservation, err);
        if (r >= 0 && IS_SET(res, memory_kernel))
                r = memory_kernel(dfd, "memory.kmem.limit_in_bytes", res->memory_kernel, err);
        if (r >= 0 && IS_SET(res, memory_kernel_tcp))
                r = memory_kernel(dfd, "memory.kmem.tcp.limit_in_bytes", res->memory_kernel_tcp,
                                  err);
        if (r < 0)
                return r;
        if (IS_SET(res, memory_disable_oom_killer)) {
                r = cg_write(dfd, "memory.oom_control", "1", err);
                if (r < 0)
                        return r;
        }
        /* Docker sends swappiness -1, read as UINT64_MAX, for "leave it alone". */
        if (res->has_memory_swappiness && res->memory_swappiness != UINT64_MAX) {
                if (res->memory_swappiness > 100)
                        return errmsg_set(err, -EINVAL,
                                          "memory.swappiness=%" PRIu64 ": not in 0..100",
                                          res->memory_swappiness);
                return cg_write_u64(dfd, "memory.swappiness", res->memory_swappiness, err);
        }
        return 0;
}

/* --- cpu, cpuset, pids ----------------------------------------------------------------- */

static bool cpu_wanted(const struct oci_resources *res)
{
        return IS_SET(res, cpu_shares) || IS_SET(res, cpu_quota) || IS_SET(res, cpu_period) ||
               IS_SET(res, cpu_realtime_runtime) || IS_SET(res, cpu_realtime_period);
}

static int cpu_shares(int dfd, uint64_t shares, struct errmsg *err)
{
        _cleanup_free_ char *text = NULL;
        uint64_t got;
        int r;

        r = cg_write_u64(dfd, "cpu.shares", shares, err);
        if (r < 0)
                return r;
        /* The kernel clamps to 2..262144 silently; runc reports it, so do we. */
        if (cg_read(dfd, "cpu.shares", &text) >= 0 && parse_uint64(text, &got) >= 0 &&
            got != shares)
                return errmsg_set(err, -EINVAL,
                                  "cpu.shares=%" PRIu64 ": the kernel allows %s %" PRIu64, shares,
                                  shares > got ? "at most" : "at least", got);
        return 0;
}

static int cpu_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        bool period_pending = false;
        int r;

        if (IS_SET(res, cpu_shares)) {
                r = cpu_shares(dfd, res->cpu_shares, err);
                if (r < 0)
                        return r;
        }
        if (IS_SET(res, cpu_period)) {
                r = cg_write_u64(dfd, "cpu.cfs_period_us", res->cpu_period, err);
                /*
                 * A shorter period can make old_quota/new_period exceed the parent's limit
                 * (EINVAL); when a quota follows, retry the period after it.
                 */
                if (r == -EINVAL && IS_SET(res, cpu_quota))
                        period_pending = true;
                else if (r < 0)
                        return r;
        }
        if (IS_SET(res, cpu_quota)) {
                r = cg_write_i64(dfd, "cpu.cfs_quota_us", res->cpu_quota, err);
                if (r < 0)
                        return r;
                if (period_pending) {
                        r = cg_write_u64(dfd, "cpu.cfs_period_us", res->cpu_period, err);
                        if (r < 0)
                                return r;
                }
        }
        if (IS_SET(res, cpu_realtime_period)) {
                r = cg_write_u64(dfd, "cpu.rt_period_us", res->cpu_realtime_period, err);
                if (r < 0)
                        return r;
        }
        if (IS_SET(res, cpu_realtime_runtime))
                return cg_write_i64(dfd, "cpu.rt_runtime_us", res->cpu_realtime_runtime, err);
        return 0;
}

static bool cpuset_wanted(const struct oci_resources *res)
{
        return (res->cpu_cpus && *res->cpu_cpus) || (res->cpu_mems && *res->cpu_mems);
}

static int cpuset_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        int r = 0;

        if (res->cpu_cpus && *res->cpu_cpus)
                r = cg_write(dfd, "cpuset.cpus", res->cpu_cpus, err);
        if (r >= 0 && res->cpu_mems && *res->cpu_mems)
                r = cg_write(dfd, "cpuset.mems", res->cpu_mems, err);
        return r;
}

static int inherit_file(int dfd, int parent_fd, const char *file, struct errmsg *err)
{
        _cleanup_free_ char *mine = NULL, *parent = NULL;
        int r;

        r = cg_read(dfd, file, &mine);
        if (r < 0)
                return errmsg_set(err, r, "read %s: %s", file, strerror(-r));
        if (*mine)
                return 0;
        r = cg_read(parent_fd, file, &parent);
        if (r < 0)
                return errmsg_set(err, r, "read the parent's %s: %s", file, strerror(-r));
        return cg_write(dfd, file, parent, err);
}

int cgroup_v1_cpuset_inherit(const char *dir, struct errmsg *err)
{
        _cleanup_close_ int dfd = -EBADF, parent_fd = -EBADF;
        int r;

        r = cg_open_dir(dir, &dfd, err);
        if (r < 0)
                return r;
        parent_fd = openat(dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent_fd < 0)
                return errmsg_set(err, -errno, "open %s/..: %s", dir, strerror(errno));
        r = inherit_file(dfd, parent_fd, "cpuset.cpus", err);
        if (r >= 0)
                r = inherit_file(dfd, parent_fd, "cpuset.mems", err);
        if (r < 0)
                return errmsg_prefix(err, r, "%s", dir);
        return 0;
}

static bool pids_wanted(const struct oci_resources *res)
{
        return res->has_pids_limit;
}

static int pids_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        /* runc: zero or negative means unlimited. */
        if (res->pids_limit <= 0)
                return cg_write(dfd, "pids.max", "max", err);
        return cg_write_i64(dfd, "pids.max", res->pids_limit, err);
}

/* --- blkio, hugetlb, net_cls ----------------------------------------------------------- */

static bool blkio_wanted(const struct oci_resources *res)
{
        size_t n = res->n_blkio_weight_devices;

        for (size_t i = 0; i < ELEMENTSOF(res->n_blkio_throttle); i++)
                n += res->n_blkio_throttle[i];
        return IS_SET(res, blkio_weight) || IS_SET(res, blkio_leaf_weight) || n > 0;
}

static int write_dev_value(int dfd, const char *file, int64_t major, int64_t minor, uint64_t value,
                           struct errmsg *err)
{
        char buf[96];

        (void) snprintf(buf, sizeof(buf), "%" PRIi64 ":%" PRIi64 " %" PRIu64, major, minor, value);
        return cg_write(dfd, file, buf, err);
}

static int blkio_weights(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        /* With the BFQ scheduler (CFQ is gone) only the blkio.bfq.* files exist. */
        bool plain = cg_exists(dfd, "blkio.weight");
        const char *weight = plain ? "blkio.weight" : "blkio.bfq.weight";
        const char *weight_dev = plain ? "blkio.weight_device" : "blkio.bfq.weight_device";
        int r = 0;

        if (IS_SET(res, blkio_weight))
                r = cg_write_u64(dfd, weight, res->blkio_weight, err);
        if (r >= 0 && IS_SET(res, blkio_leaf_weight))
                r = cg_write_u64(dfd, "blkio.leaf_weight", res->blkio_leaf_weight, err);
        for (size_t i = 0; r >= 0 && i < res->n_blkio_weight_devices; i++) {
                const struct oci_weight_device *wd = &res->blkio_weight_devices[i];

                if (wd->has_weight && wd->weight != 0)
                        r = write_dev_value(dfd, weight_dev, wd->major, wd->minor, wd->weight, err);
                if (r >= 0 && wd->has_leaf_weight && wd->leaf_weight != 0)
                        r = write_dev_value(dfd, "blkio.leaf_weight_device", wd->major, wd->minor,
                                            wd->leaf_weight, err);
        }
        return r;
}

static int blkio_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        static const char *const files[] = {
                "blkio.throttle.read_bps_device",
                "blkio.throttle.write_bps_device",
                "blkio.throttle.read_iops_device",
                "blkio.throttle.write_iops_device",
        };
        int r;

        r = blkio_weights(dfd, res, err);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(files); i++)
                for (size_t j = 0; r >= 0 && j < res->n_blkio_throttle[i]; j++) {
                        const struct oci_throttle_device *td = &res->blkio_throttle[i][j];

                        r = write_dev_value(dfd, files[i], td->major, td->minor, td->rate, err);
                }
        return r;
}

static bool hugetlb_wanted(const struct oci_resources *res)
{
        return res->n_hugepages > 0;
}

static int hugetlb_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        return cg_write_hugetlb(dfd, res, "limit_in_bytes", err);
}

static bool net_cls_wanted(const struct oci_resources *res)
{
        return IS_SET(res, net_class_id);
}

static int net_cls_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        return cg_write_u64(dfd, "net_cls.classid", res->net_class_id, err);
}

/* --- devices --------------------------------------------------------------------------- */

int cgroup_v1_device_rule(const struct oci_device_rule *rule, char *buf, size_t size,
                          struct errmsg *err)
{
        size_t n = strnlen(rule->access, sizeof(rule->access));
        char access[sizeof(rule->access) + 1] = "rwm", major[24] = "*", minor[24] = "*";

        if (rule->type != 'a' && rule->type != 'c' && rule->type != 'b')
                return errmsg_set(err, -EINVAL, "type '%c': not a, b or c", rule->type);
        if (rule->major < -1 || rule->minor < -1)
                return errmsg_set(err, -EINVAL, "major/minor %" PRIi64 ":%" PRIi64 ": negative",
                                  rule->major, rule->minor);
        if (n > 0) {
                memcpy(access, rule->access, n);
                access[n] = '\0';
        }
        if (strspn(access, "rwm") != strlen(access))
                return errmsg_set(err, -EINVAL, "access \"%s\": not a subset of \"rwm\"", access);
        /* "a" means every device: the kernel ignores numbers and access after it. */
        if (rule->type == 'a') {
                (void) snprintf(buf, size, "a *:* rwm");
                return 0;
        }
        if (rule->major >= 0)
                (void) snprintf(major, sizeof(major), "%" PRIi64, rule->major);
        if (rule->minor >= 0)
                (void) snprintf(minor, sizeof(minor), "%" PRIi64, rule->minor);
        (void) snprintf(buf, size, "%c %s:%s %s", rule->type, major, minor, access);
        return 0;
}

static bool devices_wanted(const struct oci_resources *res)
{
        return res->n_devices > 0;
}

/*
 * Deny everything, then replay the rules in order: the end state is the one the rule list
 * describes whatever the cgroup allowed before (runc 1.1 reaches it through an emulator).
 */
static int devices_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        int r;

        r = cg_write(dfd, "devices.deny", "a", err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < res->n_devices; i++) {
                const struct oci_device_rule *rule = &res->devices[i];
                char buf[80];

                r = cgroup_v1_device_rule(rule, buf, sizeof(buf), err);
                if (r < 0)
                        return errmsg_prefix(err, r, "devices[%zu]", i);
                r = cg_write(dfd, rule->allow ? "devices.allow" : "devices.deny", buf, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- dispatch -------------------------------------------------------------------------- */

struct v1_controller {
        const char *name;
        const char *field; /* config.json's name, for errors */
        bool (*wanted)(const struct oci_resources *res);
        int (*set)(int dfd, const struct oci_resources *res, struct errmsg *err);
};

/* runc's order of subsystems. */
static const struct v1_controller controllers[] = {
        {"cpuset", "cpu.cpus", cpuset_wanted, cpuset_set},
        {"devices", "devices", devices_wanted, devices_set},
        {"memory", "memory", memory_wanted, memory_set},
        {"cpu", "cpu", cpu_wanted, cpu_set},
        {"pids", "pids", pids_wanted, pids_set},
        {"blkio", "blockIO", blkio_wanted, blkio_set},
        {"hugetlb", "hugepageLimits", hugetlb_wanted, hugetlb_set},
        {"net_cls", "network.classID", net_cls_wanted, net_cls_set},
};

int cgroup_v1_apply(struct cgroup *cg, const struct oci_resources *res, struct errmsg *err)
{
        if (res->n_unified > 0)
                return errmsg_set(
                        err, -EOPNOTSUPP,
                        "unified: \"%s\" and the rest need cgroup v2; this host uses v1 controllers",
                        res->unified[0].key);
        for (size_t i = 0; i < ELEMENTSOF(controllers); i++) {
                const struct v1_controller *c = &controllers[i];
                _cleanup_close_ int dfd = -EBADF;
                const struct cgroup_hier *h;
                int r;

                if (!c->wanted(res))
                        continue;
                h = cgroup_find_hier(cg, c->name);
                if (!h)
                        return errmsg_set(err, -EOPNOTSUPP,
                                          "%s: the %s cgroup controller is not mounted", c->field,
                                          c->name);
                r = cg_open_dir(h->dir, &dfd, err);
                if (r < 0)
                        return r;
                r = c->set(dfd, res, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- freezer --------------------------------------------------------------------------- */

int cgroup_v1_is_frozen(int dfd, bool *ret)
{
        _cleanup_free_ char *state = NULL;
        int r;

        r = cg_read(dfd, "freezer.state", &state);
        if (r < 0)
                return r;
        *ret = STREQ(state, "FROZEN");
        return 0;
}

static int thaw(int dfd, struct errmsg *err)
{
        uint64_t deadline = cg_now_usec() + CGROUP_FREEZE_TIMEOUT_USEC;
        int r;

        r = cg_write(dfd, "freezer.state", "THAWED", err);
        while (r >= 0) {
                bool frozen = true;

                r = cgroup_v1_is_frozen(dfd, &frozen);
                if (r >= 0 && !frozen)
                        return 0;
                if (r >= 0 && cg_now_usec() > deadline)
                        return errmsg_set(err, -EBUSY, "freezer.state=THAWED: still frozen");
                cg_sleep_usec(1000);
        }
        return r;
}

/*
 * v1 can stay in FREEZING while processes keep forking or joining. Like runc, write FROZEN
 * again until it sticks, thawing for a moment now and then; give up (thawed) after a while.
 */
static int freeze(int dfd, struct errmsg *err)
{
        uint64_t deadline = cg_now_usec() + CGROUP_FREEZE_TIMEOUT_USEC, delay = 100;
        int r;

        for (unsigned i = 1;; i++) {
                _cleanup_free_ char *state = NULL;

                if (i % 50 == 0) {
                        (void) write_string_at(dfd, "freezer.state", "THAWED");
                        cg_sleep_usec(10000);
                }
                r = cg_write(dfd, "freezer.state", "FROZEN", err);
                if (r < 0)
                        return r;
                r = cg_read(dfd, "freezer.state", &state);
                if (r < 0)
                        return errmsg_set(err, r, "read freezer.state: %s", strerror(-r));
                if (STREQ(state, "FROZEN"))
                        return 0;
                if (!STREQ(state, "FREEZING"))
                        return errmsg_set(err, -EIO, "freezer.state: unexpected \"%s\"", state);
                if (cg_now_usec() > deadline)
                        break;
                cg_sleep_usec(delay);
                delay = MIN(delay * 2, 10000u);
        }
        (void) write_string_at(dfd, "freezer.state", "THAWED");
        return errmsg_set(err, -EBUSY, "freezer.state=FROZEN: still FREEZING after %u ms, thawed",
                          CGROUP_FREEZE_TIMEOUT_USEC / 1000);
}

int cgroup_v1_freeze(int dfd, bool frozen, struct errmsg *err)
{
        return frozen ? freeze(dfd, err) : thaw(dfd, err);
}
