/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v1 and v2 metrics for Stats (see stats.h). */
#include "shim/stats.h"

#include <fcntl.h>

#include "containerd/cgroups/v1/metrics.pb-c.h"
#include "containerd/cgroups/v2/metrics.pb-c.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

#define NSEC_PER_SEC 1000000000ull

typedef Io__Containerd__Cgroups__V1__MemoryStat memory_stat_t;
typedef Io__Containerd__Cgroups__V2__MemoryStat memory_stat_v2_t;

/* memory.stat keys and where they go (containerd/cgroups memory.go). */
static const struct {
        const char *key;
        size_t offset;
} memory_stat_keys[] = {
#define KEY(k, f)                             \
        {                                     \
                k, offsetof(memory_stat_t, f) \
        }
        KEY("cache", cache),
        KEY("rss", rss),
        KEY("rss_huge", rss_huge),
        KEY("mapped_file", mapped_file),
        KEY("dirty", dirty),
        KEY("writeback", writeback),
        KEY("pgpgin", pg_pg_in),
        KEY("pgpgout", pg_pg_out),
        KEY("pgfault", pg_fault),
        KEY("pgmajfault", pg_maj_fault),
        KEY("inactive_anon", inactive_anon),
        KEY("active_anon", active_anon),
        KEY("inactive_file", inactive_file),
        KEY("active_file", active_file),
        KEY("unevictable", unevictable),
        KEY("hierarchical_memory_limit", hierarchical_memory_limit),
        KEY("hierarchical_memsw_limit", hierarchical_swap_limit),
        KEY("total_cache", total_cache),
        KEY("total_rss", total_rss),
        KEY("total_rss_huge", total_rss_huge),
        KEY("total_mapped_file", total_mapped_file),
        KEY("total_dirty", total_dirty),
        KEY("total_writeback", total_writeback),
        KEY("total_pgpgin", total_pg_pg_in),
        KEY("total_pgpgout", total_pg_pg_out),
        KEY("total_pgfault", total_pg_fault),
        KEY("total_pgmajfault", total_pg_maj_fault),
        KEY("total_inactive_anon", total_inactive_anon),
        KEY("total_active_anon", total_active_anon),
        KEY("total_inactive_file", total_inactive_file),
        KEY("total_active_file", total_active_file),
        KEY("total_unevictable", total_unevictable),
#undef KEY
};

static bool list_has(const char *list, const char *controller)
{
        size_t n = strlen(controller);

        for (const char *p = list;;) {
                size_t len = strcspn(p, ",");

                if (len == n && strncmp(p, controller, n) == 0)
                        return true;
                if (!p[len])
                        return false;
                p += len + 1;
        }
}

/* The directory of controller's hierarchy for a /proc/<pid>/cgroup text, or NULL. */
static char *controller_dir(const char *root, const char *proc_cgroup, const char *controller)
{
        _cleanup_free_ char *text = xstrdup(proc_cgroup);

        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                /* "<id>:<controller,list>:<path>" */
                char *list = strchr(line, ':'), *path;

                if (!list || !(path = strchr(list + 1, ':')))
                        continue;
                *path++ = '\0';
                list++;
                if (list[0] && list_has(list, controller))
                        return xasprintf("%s/%s%s", root, list, path);
        }
        return NULL;
}

static char *read_text(const char *dir, const char *file)
{
        _cleanup_free_ char *path = NULL;
        char *text = NULL;
        size_t len;

        if (!dir)
                return NULL;
        path = xasprintf("%s/%s", dir, file);
        if (read_file_at(AT_FDCWD, path, STATS_FILE_MAX_BYTES, &text, &len) < 0)
                return NULL;
        return text;
}

/* A file holding one number ("max" is 0, as containerd's cgroups package reads it). */
static uint64_t read_u64(const char *dir, const char *file)
{
        _cleanup_free_ char *text = read_text(dir, file);
        uint64_t v = 0;

        if (text) {
                text[strcspn(text, "\n")] = '\0';
                (void) parse_uint64(text, &v);
        }
        return v;
}

/* The decimal number at the start of s, and where it ended; no sscanf: it would pull glibc's
 * whole scanf engine into the static daemon (100 KiB resident per shim). */
static bool leading_u64(const char *s, uint64_t *ret, const char **ret_end)
{
        char *end;

        if (*s < '0' || *s > '9')
                return false;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        if (errno)
                return false;
        if (ret_end)
                *ret_end = end;
        return true;
}

/* The value of key in a "key value" per line file, or 0. */
static uint64_t keyed_u64(const char *text, const char *key)
{
        size_t n = strlen(key);
        const char *p = text;

        while (p && *p) {
                uint64_t v;

                if (strncmp(p, key, n) == 0 && p[n] == ' ' && leading_u64(p + n + 1, &v, NULL))
                        return v;
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return 0;
}

static void fill_pids(Io__Containerd__Cgroups__V1__PidsStat *pids, const char *dir)
{
        pids->current = read_u64(dir, "pids.current");
        pids->limit = read_u64(dir, "pids.max");
}

static void fill_cpu(Io__Containerd__Cgroups__V1__CPUUsage *usage,
                     Io__Containerd__Cgroups__V1__Throttle *throttle, const char *acct,
                     const char *cpu)
{
        _cleanup_free_ char *stat = read_text(acct, "cpuacct.stat");
        _cleanup_free_ char *percpu = read_text(acct, "cpuacct.usage_percpu");
        _cleanup_free_ char *cfs = read_text(cpu, "cpu.stat");
        uint64_t tick_ns = NSEC_PER_SEC / (uint64_t) MAX(sysconf(_SC_CLK_TCK), 1);
        size_t n = 0;

        usage->total = read_u64(acct, "cpuacct.usage");
        usage->user = keyed_u64(stat, "user") * tick_ns;
        usage->kernel = keyed_u64(stat, "system") * tick_ns;
        usage->per_cpu = xnew0(uint64_t, percpu ? strlen(percpu) / 2 + 1 : 1);
        for (char *p = percpu, *end; p && *p; p = end) {
                unsigned long long v = strtoull(p, &end, 10);

                if (end == p)
                        break;
                usage->per_cpu[n++] = v;
        }
        usage->n_per_cpu = n;
        throttle->periods = keyed_u64(cfs, "nr_periods");
        throttle->throttled_periods = keyed_u64(cfs, "nr_throttled");
        throttle->throttled_time = keyed_u64(cfs, "throttled_time");
}

static void fill_memory_entry(Io__Containerd__Cgroups__V1__MemoryEntry *e, const char *dir,
                              const char *prefix)
{
        char name[64];

        (void) snprintf(name, sizeof(name), "%s.usage_in_bytes", prefix);
        e->usage = read_u64(dir, name);
        (void) snprintf(name, sizeof(name), "%s.limit_in_bytes", prefix);
        e->limit = read_u64(dir, name);
        (void) snprintf(name, sizeof(name), "%s.max_usage_in_bytes", prefix);
        e->max = read_u64(dir, name);
        (void) snprintf(name, sizeof(name), "%s.failcnt", prefix);
        e->failcnt = read_u64(dir, name);
}

static void fill_memory(memory_stat_t *m, Io__Containerd__Cgroups__V1__MemoryOomControl *oom,
                        const char *dir)
{
        _cleanup_free_ char *stat = read_text(dir, "memory.stat");
        _cleanup_free_ char *control = read_text(dir, "memory.oom_control");

        for (size_t i = 0; i < ELEMENTSOF(memory_stat_keys); i++)
                *(uint64_t *) ((char *) m + memory_stat_keys[i].offset) =
                        keyed_u64(stat, memory_stat_keys[i].key);
        fill_memory_entry(m->usage, dir, "memory");
        fill_memory_entry(m->swap, dir, "memory.memsw");
        fill_memory_entry(m->kernel, dir, "memory.kmem");
        fill_memory_entry(m->kernel_tcp, dir, "memory.kmem.tcp");
        oom->oom_kill_disable = keyed_u64(control, "oom_kill_disable");
        oom->under_oom = keyed_u64(control, "under_oom");
        oom->oom_kill = keyed_u64(control, "oom_kill");
}

int stats_cgroup_v1(const char *cgroup_root, const char *proc_cgroup, uint8_t **ret,
                    size_t *ret_len, struct errmsg *err)
{
        Io__Containerd__Cgroups__V1__Metrics m = IO__CONTAINERD__CGROUPS__V1__METRICS__INIT;
        Io__Containerd__Cgroups__V1__PidsStat pids = IO__CONTAINERD__CGROUPS__V1__PIDS_STAT__INIT;
        Io__Containerd__Cgroups__V1__CPUStat cpu = IO__CONTAINERD__CGROUPS__V1__CPUSTAT__INIT;
        Io__Containerd__Cgroups__V1__CPUUsage usage = IO__CONTAINERD__CGROUPS__V1__CPUUSAGE__INIT;
        Io__Containerd__Cgroups__V1__Throttle thr = IO__CONTAINERD__CGROUPS__V1__THROTTLE__INIT;
        memory_stat_t mem = IO__CONTAINERD__CGROUPS__V1__MEMORY_STAT__INIT;
        Io__Containerd__Cgroups__V1__MemoryEntry e[4] = {
                IO__CONTAINERD__CGROUPS__V1__MEMORY_ENTRY__INIT,
                IO__CONTAINERD__CGROUPS__V1__MEMORY_ENTRY__INIT,
                IO__CONTAINERD__CGROUPS__V1__MEMORY_ENTRY__INIT,
                IO__CONTAINERD__CGROUPS__V1__MEMORY_ENTRY__INIT};
        Io__Containerd__Cgroups__V1__MemoryOomControl oom =
                IO__CONTAINERD__CGROUPS__V1__MEMORY_OOM_CONTROL__INIT;
        _cleanup_free_ char *pids_dir = controller_dir(cgroup_root, proc_cgroup, "pids");
        _cleanup_free_ char *acct_dir = controller_dir(cgroup_root, proc_cgroup, "cpuacct");
        _cleanup_free_ char *cpu_dir = controller_dir(cgroup_root, proc_cgroup, "cpu");
        _cleanup_free_ char *mem_dir = controller_dir(cgroup_root, proc_cgroup, "memory");

        if (!pids_dir && !acct_dir && !mem_dir)
                return errmsg_set(err, -EOPNOTSUPP,
                                  "stats: no cgroup v1 hierarchy (cgroup v2 only)");
        if (pids_dir) {
                fill_pids(&pids, pids_dir);
                m.pids = &pids;
        }
        if (acct_dir) {
                fill_cpu(&usage, &thr, acct_dir, cpu_dir);
                cpu.usage = &usage;
                cpu.throttling = &thr;
                m.cpu = &cpu;
        }
        if (mem_dir) {
                mem.usage = &e[0];
                mem.swap = &e[1];
                mem.kernel = &e[2];
                mem.kernel_tcp = &e[3];
                fill_memory(&mem, &oom, mem_dir);
                m.memory = &mem;
                m.memory_oom_control = &oom;
        }
        *ret = xmalloc(protobuf_c_message_get_packed_size(&m.base) + 1);
        *ret_len = protobuf_c_message_pack(&m.base, *ret);
        free(usage.per_cpu);
        return 0;
}

/* memory.stat keys of cgroup v2 and where they go (containerd/cgroups v2 manager.go). */
static const struct {
        const char *key;
        size_t offset;
} memory_stat_v2_keys[] = {
#define KEY(k)                                    \
        {                                         \
#k, offsetof(memory_stat_v2_t, k) \
        }
        KEY(anon),
        KEY(file),
        KEY(kernel_stack),
        KEY(slab),
        KEY(sock),
        KEY(shmem),
        KEY(file_mapped),
        KEY(file_dirty),
        KEY(file_writeback),
        KEY(anon_thp),
        KEY(inactive_anon),
        KEY(active_anon),
        KEY(inactive_file),
        KEY(active_file),
        KEY(unevictable),
        KEY(slab_reclaimable),
        KEY(slab_unreclaimable),
        KEY(pgfault),
        KEY(pgmajfault),
        KEY(workingset_refault),
        KEY(workingset_activate),
        KEY(workingset_nodereclaim),
        KEY(pgrefill),
        KEY(pgscan),
        KEY(pgsteal),
        KEY(pgactivate),
        KEY(pgdeactivate),
        KEY(pglazyfree),
        KEY(pglazyfreed),
        KEY(thp_fault_alloc),
        KEY(thp_collapse_alloc),
#undef KEY
};

bool stats_is_cgroup_v2(const char *proc_cgroup)
{
        bool has_unified = false;

        for (const char *line = proc_cgroup; line && *line;) {
                size_t len = strcspn(line, "\n");

                if (len > 0 && strncmp(line, "0::", 3) != 0)
                        return false; /* a v1 controller or named hierarchy: hybrid */
                has_unified |= len > 0;
                line += len;
                if (*line)
                        line++;
        }
        return has_unified;
}

/* The unified cgroup's directory for a /proc/<pid>/cgroup text, or NULL. */
static char *unified_dir(const char *root, const char *proc_cgroup)
{
        for (const char *line = proc_cgroup; line && *line;) {
                size_t len = strcspn(line, "\n");

                if (strncmp(line, "0::", 3) == 0 && len > 3)
                        return xasprintf("%s%.*s", root, (int) (len - 3), line + 3);
                line += len;
                if (*line)
                        line++;
        }
        return NULL;
}

/* A cgroup v2 file holding one number or "max" (UINT64_MAX, as containerd/cgroups v2). */
static uint64_t read_u64_or_max(const char *dir, const char *file)
{
        _cleanup_free_ char *text = read_text(dir, file);
        uint64_t v = 0;

        if (!text)
                return 0;
        text[strcspn(text, "\n")] = '\0';
        if (STREQ(text, "max"))
                return UINT64_MAX;
        (void) parse_uint64(text, &v);
        return v;
}

static void fill_cpu_v2(Io__Containerd__Cgroups__V2__CPUStat *cpu, const char *dir)
{
        _cleanup_free_ char *stat = read_text(dir, "cpu.stat");

        cpu->usage_usec = keyed_u64(stat, "usage_usec");
        cpu->user_usec = keyed_u64(stat, "user_usec");
        cpu->system_usec = keyed_u64(stat, "system_usec");
        cpu->nr_periods = keyed_u64(stat, "nr_periods");
        cpu->nr_throttled = keyed_u64(stat, "nr_throttled");
        cpu->throttled_usec = keyed_u64(stat, "throttled_usec");
}

static void fill_memory_v2(memory_stat_v2_t *m, const char *dir)
{
        _cleanup_free_ char *stat = read_text(dir, "memory.stat");

        for (size_t i = 0; i < ELEMENTSOF(memory_stat_v2_keys); i++)
                *(uint64_t *) ((char *) m + memory_stat_v2_keys[i].offset) =
                        keyed_u64(stat, memory_stat_v2_keys[i].key);
        m->usage = read_u64_or_max(dir, "memory.current");
        m->usage_limit = read_u64_or_max(dir, "memory.max");
        m->swap_usage = read_u64_or_max(dir, "memory.swap.current");
        m->swap_limit = read_u64_or_max(dir, "memory.swap.max");
}

/* memory.events; false when the file is missing (containerd then sends no MemoryEvents). */
static bool fill_memory_events(Io__Containerd__Cgroups__V2__MemoryEvents *ev, const char *dir)
{
        _cleanup_free_ char *text = read_text(dir, "memory.events");

        if (!text)
                return false;
        ev->low = keyed_u64(text, "low");
        ev->high = keyed_u64(text, "high");
        ev->max = keyed_u64(text, "max");
        ev->oom = keyed_u64(text, "oom");
        ev->oom_kill = keyed_u64(text, "oom_kill");
        return true;
}

/* One io.stat line: "<major>:<minor> rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N". */
static bool parse_io_line(const char *line, Io__Containerd__Cgroups__V2__IOEntry *e)
{
        const char *p = line;
        uint64_t major, minor;

        if (!leading_u64(p, &major, &p) || *p != ':' || !leading_u64(p + 1, &minor, &p) ||
            (*p != ' ' && *p))
                return false;
        e->major = major;
        e->minor = minor;
        while (*p == ' ') {
                const char *key = ++p, *eq = strchr(key, '=');
                uint64_t v;

                if (!eq || !leading_u64(eq + 1, &v, &p))
                        break;
                if (strncmp(key, "rbytes=", 7) == 0)
                        e->rbytes = v;
                else if (strncmp(key, "wbytes=", 7) == 0)
                        e->wbytes = v;
                else if (strncmp(key, "rios=", 5) == 0)
                        e->rios = v;
                else if (strncmp(key, "wios=", 5) == 0)
                        e->wios = v;
        }
        return true;
}

/* io.stat's devices: entries (one allocation, the array then the entries) in *ret. */
static size_t read_io_stat(const char *dir, Io__Containerd__Cgroups__V2__IOEntry ***ret)
{
        _cleanup_free_ char *text = read_text(dir, "io.stat");
        Io__Containerd__Cgroups__V2__IOEntry **v, *entries;
        size_t n_lines = 1, n = 0;

        *ret = NULL;
        if (!text)
                return 0;
        for (const char *p = text; *p; p++)
                n_lines += *p == '\n';
        v = xmalloc(n_lines * (sizeof(*v) + sizeof(*entries)));
        entries = (Io__Containerd__Cgroups__V2__IOEntry *) (v + n_lines);
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                entries[n] = (Io__Containerd__Cgroups__V2__IOEntry)
                        IO__CONTAINERD__CGROUPS__V2__IOENTRY__INIT;
                if (parse_io_line(line, &entries[n])) {
                        v[n] = &entries[n];
                        n++;
                }
        }
        *ret = v;
        return n;
}

int stats_cgroup_v2(const char *cgroup_root, const char *proc_cgroup, uint8_t **ret,
                    size_t *ret_len, struct errmsg *err)
{
        Io__Containerd__Cgroups__V2__Metrics m = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
        Io__Containerd__Cgroups__V2__PidsStat pids = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
        Io__Containerd__Cgroups__V2__CPUStat cpu = IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT;
        memory_stat_v2_t mem = IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
        Io__Containerd__Cgroups__V2__MemoryEvents events =
                IO__CONTAINERD__CGROUPS__V2__MEMORY_EVENTS__INIT;
        Io__Containerd__Cgroups__V2__IOStat io = IO__CONTAINERD__CGROUPS__V2__IOSTAT__INIT;
        _cleanup_free_ char *dir = unified_dir(cgroup_root, proc_cgroup);
        _cleanup_free_ Io__Containerd__Cgroups__V2__IOEntry **io_usage = NULL;

        if (!dir)
                return errmsg_set(err, -EOPNOTSUPP, "stats: not in a cgroup v2 hierarchy");
        if (access(dir, F_OK) < 0)
                return errmsg_set(err, -ENOENT, "stats: cgroup %s: %s", dir, strerror(errno));
        pids.current = read_u64_or_max(dir, "pids.current");
        pids.limit = read_u64_or_max(dir, "pids.max");
        fill_cpu_v2(&cpu, dir);
        fill_memory_v2(&mem, dir);
        io.n_usage = read_io_stat(dir, &io_usage);
        io.usage = io_usage;
        m.pids = &pids;
        m.cpu = &cpu;
        m.memory = &mem;
        m.io = &io;
        if (fill_memory_events(&events, dir))
                m.memory_events = &events;
        *ret = xmalloc(protobuf_c_message_get_packed_size(&m.base) + 1);
        *ret_len = protobuf_c_message_pack(&m.base, *ret);
        return 0;
}

int stats_cgroup(const char *cgroup_root, const char *proc_cgroup, const char **ret_type,
                 uint8_t **ret, size_t *ret_len, struct errmsg *err)
{
        int r;

        if (stats_is_cgroup_v2(proc_cgroup)) {
                r = stats_cgroup_v2(cgroup_root, proc_cgroup, ret, ret_len, err);
                if (r >= 0)
                        *ret_type = STATS_V2_TYPE;
        } else {
                r = stats_cgroup_v1(cgroup_root, proc_cgroup, ret, ret_len, err);
                if (r >= 0)
                        *ret_type = STATS_V1_TYPE;
        }
        return r;
}
