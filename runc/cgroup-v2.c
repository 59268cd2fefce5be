/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup v2 (unified hierarchy at /sys/fs/cgroup): OCI resources translated to v2 files as
 * runc 1.1's fs2 driver does (cpu.shares to cpu.weight, blkio weight to io.weight, OCI's
 * memory+swap to memory.swap.max), "unified" pairs written verbatim, controller delegation
 * through cgroup.subtree_control, the core freezer (cgroup.freeze, cgroup.events), and
 * device rules through an eBPF program (cgroup-v2-devices.c).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>

#include "lib/errmsg.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "runc/cgroup-internal.h"

#define IS_SET(res, field) ((res)->has_##field && (res)->field != 0)

/* --- conversions ----------------------------------------------------------------------- */

uint64_t cgroup_v2_cpu_weight(uint64_t shares)
{
        if (shares == 0)
                return 0;
        /* Map v1's 2..262144 linearly onto 1..10000 (runc's formula), clamping first. */
        shares = MAX(shares, 2u);
        shares = MIN(shares, 262144u);
        return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroup_v2_io_weight(uint64_t weight)
{
        if (weight == 0)
                return 0;
        weight = MAX(weight, 10u);
        weight = MIN(weight, 1000u);
        return 1 + (weight - 10) * 9999 / 990;
}

int cgroup_v2_cpu_max(const struct oci_resources *res, char *buf, size_t size)
{
        int64_t quota = res->has_cpu_quota ? res->cpu_quota : 0;
        uint64_t period = res->has_cpu_period ? res->cpu_period : 0;
        char quota_text[32] = "max";

        if (quota == 0 && period == 0)
                return 0;
        if (quota > 0)
                (void) snprintf(quota_text, sizeof(quota_text), "%" PRIi64, quota);
        /* Without a period the kernel keeps the current one. */
        if (period != 0)
                (void) snprintf(buf, size, "%s %" PRIu64, quota_text, period);
        else
                (void) snprintf(buf, size, "%s", quota_text);
        return 1;
}

int cgroup_v2_swap_max(const struct oci_resources *res, char *buf, size_t size, struct errmsg *err)
{
        int64_t mem = IS_SET(res, memory_limit) ? res->memory_limit : 0;
        int64_t swap = IS_SET(res, memory_swap) ? res->memory_swap : 0;

        buf[0] = '\0';
        /* As on v1: unlimited memory with swap unset means unlimited swap too. */
        if ((mem == -1 && swap == 0) || swap == -1) {
                (void) snprintf(buf, size, "max");
                return 0;
        }
        if (swap == 0)
                return 0;
        if (swap < -1)
                return errmsg_set(err, -EINVAL, "memory.swap=%" PRIi64 ": invalid", swap);
        if (mem == 0 || mem == -1)
                return errmsg_set(err, -EINVAL,
                                  "memory.swap=%" PRIi64 ": a swap limit needs a memory limit",
                                  swap);
        if (mem < 0)
                return errmsg_set(err, -EINVAL, "memory.limit=%" PRIi64 ": invalid", mem);
        if (swap < mem)
                return errmsg_set(err, -EINVAL,
                                  "memory.swap=%" PRIi64 ": below memory.limit=%" PRIi64
                                  " (swap is memory+swap)",
                                  swap, mem);
        (void) snprintf(buf, size, "%" PRIi64, swap - mem);
        return 0;
}

/* --- resources ------------------------------------------------------------------------- */

/* -1 is "max" in v2 files. */
static int write_max(int dfd, const char *file, int64_t value, struct errmsg *err)
{
        if (value < 0)
                return cg_write(dfd, file, "max", err);
        return cg_write_i64(dfd, file, value, err);
}

static int memory_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        char swap[32];
        int r;

        r = cgroup_v2_swap_max(res, swap, sizeof(swap), err);
        if (r < 0)
                return r;
        if (*swap) {
                r = cg_write(dfd, "memory.swap.max", swap, err);
                /* Without swap accounting, "no limit" and "no swap" hold anyway (runc). */
                if (r == -ENOENT && (STREQ(swap, "max") || STREQ(swap, "0")))
                        r = 0;
                if (r < 0)
                        return r;
        }
        if (IS_SET(res, memory_limit)) {
                r = write_max(dfd, "memory.max", res->memory_limit, err);
                if (r < 0)
                        return r;
        }
        if (IS_SET(res, memory_reservation)) {
                r = write_max(dfd, "memory.low", res->memory_reservation, err);
                if (r < 0)
                        return r;
        }
        /* v1-only knobs: v2 has no equivalent; runc ignores them as well. */
        if (IS_SET(res, memory_kernel) || IS_SET(res, memory_kernel_tcp) ||
            res->has_memory_swappiness || IS_SET(res, memory_disable_oom_killer))
                log_debug("cgroup: v2 has no kernel memory, swappiness or OOM-killer switch, "
                          "ignoring them");
        return 0;
}

static int cpu_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        char max[64];
        int r;

        if (IS_SET(res, cpu_shares)) {
                r = cg_write_u64(dfd, "cpu.weight", cgroup_v2_cpu_weight(res->cpu_shares), err);
                if (r < 0)
                        return r;
        }
        if (cgroup_v2_cpu_max(res, max, sizeof(max)) > 0) {
                r = cg_write(dfd, "cpu.max", max, err);
                if (r < 0)
                        return r;
        }
        if (IS_SET(res, cpu_realtime_runtime) || IS_SET(res, cpu_realtime_period))
                log_debug("cgroup: v2 has no realtime cpu limits, ignoring them");
        if (res->cpu_cpus && *res->cpu_cpus) {
                r = cg_write(dfd, "cpuset.cpus", res->cpu_cpus, err);
                if (r < 0)
                        return r;
        }
        if (res->cpu_mems && *res->cpu_mems)
                return cg_write(dfd, "cpuset.mems", res->cpu_mems, err);
        return 0;
}

static int pids_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        if (!res->has_pids_limit)
                return 0;
        if (res->pids_limit <= 0)
                return cg_write(dfd, "pids.max", "max", err);
        return cg_write_i64(dfd, "pids.max", res->pids_limit, err);
}

/* With BFQ, io.bfq.weight takes v1's scale (and per-device weights); else io.weight. */
static int io_weights(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        bool bfq = cg_exists(dfd, "io.bfq.weight");
        int r = 0;

        if (IS_SET(res, blkio_weight)) {
                if (bfq)
                        r = cg_write_u64(dfd, "io.bfq.weight", res->blkio_weight, err);
                else
                        r = cg_write_u64(dfd, "io.weight", cgroup_v2_io_weight(res->blkio_weight),
                                         err);
        }
        for (size_t i = 0; r >= 0 && i < res->n_blkio_weight_devices; i++) {
                const struct oci_weight_device *wd = &res->blkio_weight_devices[i];
                char buf[96];

                if (!wd->has_weight || wd->weight == 0)
                        continue;
                if (!bfq) {
                        log_debug("cgroup: io.bfq.weight missing, ignoring weightDevice[%zu]", i);
                        continue;
                }
                (void) snprintf(buf, sizeof(buf), "%" PRIi64 ":%" PRIi64 " %u", wd->major,
                                wd->minor, (unsigned) wd->weight);
                r = cg_write(dfd, "io.bfq.weight", buf, err);
        }
        return r;
}

static int io_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        static const char *const keys[] = {"rbps", "wbps", "riops", "wiops"};
        int r;

        r = io_weights(dfd, res, err);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(keys); i++)
                for (size_t j = 0; r >= 0 && j < res->n_blkio_throttle[i]; j++) {
                        const struct oci_throttle_device *td = &res->blkio_throttle[i][j];
                        char buf[96];

                        (void) snprintf(buf, sizeof(buf), "%" PRIi64 ":%" PRIi64 " %s=%" PRIu64,
                                        td->major, td->minor, keys[i], td->rate);
                        r = cg_write(dfd, "io.max", buf, err);
                }
        return r;
}

static int hugetlb_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        return cg_write_hugetlb(dfd, res, "max", err);
}

/* "unified" pairs go last, so that they override what the fields above wrote (runc). */
static int unified_set(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        for (size_t i = 0; i < res->n_unified; i++) {
                const struct oci_key_value *kv = &res->unified[i];
                int r;

                if (!kv->key || !*kv->key || strchr(kv->key, '/') || strstr(kv->key, "..") ||
                    STREQ(kv->key, "."))
                        return errmsg_set(err, -EINVAL,
                                          "unified: \"%s\": not a file name of the cgroup",
                                          kv->key ? kv->key : "");
                if (!cg_exists(dfd, kv->key))
                        return errmsg_set(err, -ENOENT,
                                          "unified: cannot write \"%s\": no such file", kv->key);
                r = cg_write(dfd, kv->key, kv->value ? kv->value : "", err);
                if (r < 0)
                        return errmsg_prefix(err, r, "unified");
        }
        return 0;
}

int cgroup_v2_apply(int dfd, const struct oci_resources *res, struct errmsg *err)
{
        int r;

        r = memory_set(dfd, res, err);
        if (r >= 0)
                r = pids_set(dfd, res, err);
        if (r >= 0)
                r = cpu_set(dfd, res, err);
        if (r >= 0)
                r = io_set(dfd, res, err);
        if (r >= 0)
                r = hugetlb_set(dfd, res, err);
        /* No devices controller on v2: an eBPF program (cgroup-v2-devices.c) takes the rules. */
        if (r >= 0 && res->n_devices > 0)
                r = cgroup_v2_devices_set(dfd, res->devices, res->n_devices, err);
        if (r < 0)
                return r;
        if (IS_SET(res, net_class_id) || IS_SET(res, blkio_leaf_weight))
                log_debug("cgroup: v2 has no net_cls or leaf weights, ignoring them");
        return unified_set(dfd, res, err);
}

void cgroup_v2_enable_controllers(const char *dir)
{
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *avail = NULL, *all = xstrdup("");
        char *p, *c;

        if (dfd < 0 || cg_read(dfd, "cgroup.controllers", &avail) < 0 || !*avail)
                return;
        for (p = avail; (c = strsep(&p, " "));) {
                char *tmp;

                if (!*c)
                        continue;
                tmp = xasprintf("%s%s+%s", all, *all ? " " : "", c);
                free(all);
                all = tmp;
        }
        if (write_string_at(dfd, "cgroup.subtree_control", all) >= 0)
                return;
        /*
         * One at a time then: some may be refused (a cgroup with processes, threaded mode);
         * writing a limit later names what is missing.
         */
        for (p = all; (c = strsep(&p, " "));)
                if (write_string_at(dfd, "cgroup.subtree_control", c) < 0)
                        log_debug("cgroup: %s/cgroup.subtree_control=%s refused, ignoring", dir, c);
}

/* --- freezer --------------------------------------------------------------------------- */

int cgroup_v2_is_frozen(int dfd, bool *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = cg_read(dfd, "cgroup.freeze", &text);
        if (r < 0)
                return r;
        *ret = STREQ(text, "1");
        return 0;
}

static int events_frozen(int fd, bool *ret)
{
        char buf[512];
        const char *p;
        ssize_t n;

        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        p = strstr(buf, "frozen ");
        if (!p)
                return -EIO;
        *ret = p[STRLEN("frozen ")] == '1';
        return 0;
}

/* cgroup.events changes raise POLLPRI: wait for "frozen <want>" without busy polling. */
static int wait_frozen(int dfd, bool want, struct errmsg *err)
{
        uint64_t deadline = cg_now_usec() + CGROUP_FREEZE_TIMEOUT_USEC;
        _cleanup_close_ int fd = openat(dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return errmsg_set(err, -errno, "open cgroup.events: %s", strerror(errno));
        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = POLLPRI};
                uint64_t now;
                bool frozen;
                int r;

                r = events_frozen(fd, &frozen);
                if (r < 0)
                        return errmsg_set(err, r, "read cgroup.events: %s", strerror(-r));
                if (frozen == want)
                        return 0;
                now = cg_now_usec();
                if (now >= deadline)
                        return errmsg_set(err, -EBUSY, "cgroup.freeze=%d: not %s after %u ms", want,
                                          want ? "frozen" : "thawed",
                                          CGROUP_FREEZE_TIMEOUT_USEC / 1000);
                /* Re-read at least every 50 ms, in case an event slips between read and poll. */
                if (poll(&pfd, 1, (int) MIN((deadline - now) / 1000 + 1, 50u)) < 0 &&
                    errno != EINTR)
                        return errmsg_set(err, -errno, "poll cgroup.events: %s", strerror(errno));
        }
}

int cgroup_v2_freeze(int dfd, bool frozen, struct errmsg *err)
{
        int r;

        if (!cg_exists(dfd, "cgroup.freeze"))
                return errmsg_set(
                        err, -EOPNOTSUPP,
                        "cgroup.freeze: missing, the kernel has no cgroup2 freezer (5.2+)");
        r = cg_write(dfd, "cgroup.freeze", frozen ? "1" : "0", err);
        if (r < 0)
                return r;
        r = wait_frozen(dfd, frozen, err);
        if (r < 0 && frozen)
                (void) write_string_at(dfd, "cgroup.freeze", "0");
        return r;
}
