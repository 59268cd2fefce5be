/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup manager's common half: detecting v1/hybrid/v2, resolving cgroupsPath to one
 * directory per mounted hierarchy (runc 1.1's cgroupfs rules), creating, joining, listing,
 * signalling and removing them. Writing resources and freezing differ per version and live in
 * cgroup-v1.c and cgroup-v2.c; this file only dispatches to them.
 */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "lib/errmsg.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "runc/cgroup-internal.h"

#define CGROUP_ROOT      "/sys/fs/cgroup"
#define CGROUP_UNIFIED   CGROUP_ROOT "/unified"
#define PROC_TEXT_MAX    (4u << 20)
#define CGROUP_FILE_MAX  (64u << 10)
#define CGROUP_MAX_DEPTH 64u
#define PIDS_MAX         (4u << 20)

/* runc's default rules (libcontainer/specconv AllowedDevices at v1.1.5), after the spec's. */
static const struct oci_device_rule default_device_rules[] = {
        {.allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m"},
        {.allow = true, .type = 'b', .major = -1, .minor = -1, .access = "m"},
        {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},    /* null */
        {.allow = true, .type = 'c', .major = 1, .minor = 8, .access = "rwm"},    /* random */
        {.allow = true, .type = 'c', .major = 1, .minor = 7, .access = "rwm"},    /* full */
        {.allow = true, .type = 'c', .major = 5, .minor = 0, .access = "rwm"},    /* tty */
        {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rwm"},    /* zero */
        {.allow = true, .type = 'c', .major = 1, .minor = 9, .access = "rwm"},    /* urandom */
        {.allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rwm"}, /* pts/ */
        {.allow = true, .type = 'c', .major = 5, .minor = 2, .access = "rwm"},    /* ptmx */
        {.allow = true, .type = 'c', .major = 10, .minor = 200, .access = "rwm"}, /* net/tun */
};

size_t cgroup_default_device_rules(const struct oci_device_rule **ret)
{
        *ret = default_device_rules;
        return ELEMENTSOF(default_device_rules);
}

int cgroup_detect_mode(enum cgroup_mode *ret)
{
        struct statfs fs;

        if (statfs(CGROUP_ROOT, &fs) < 0)
                return -errno;
        if (fs.f_type == CGROUP2_SUPER_MAGIC) {
                *ret = CGROUP_MODE_V2;
                return 0;
        }
        if (fs.f_type != TMPFS_MAGIC)
                return -ENOMEDIUM;
        if (statfs(CGROUP_UNIFIED, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                *ret = CGROUP_MODE_HYBRID;
        else
                *ret = CGROUP_MODE_V1;
        return 0;
}

/* --- paths ----------------------------------------------------------------------------- */

char *cgroup_clean_path(const char *path)
{
        _cleanup_free_ char *out = xmalloc(strlen(path) + 2);
        bool is_abs = path[0] == '/';
        const char *p = path;
        size_t n = 0;

        /* out collects "/a/b"; ".." pops the last component, never past the start. */
        while (*p) {
                const char *s;
                size_t len;

                while (*p == '/')
                        p++;
                s = p;
                while (*p && *p != '/')
                        p++;
                len = (size_t) (p - s);
                if (len == 0 || (len == 1 && s[0] == '.'))
                        continue;
                if (len == 2 && s[0] == '.' && s[1] == '.') {
                        while (n > 0 && out[n - 1] != '/')
                                n--;
                        if (n > 0)
                                n--;
                        continue;
                }
                out[n++] = '/';
                memcpy(out + n, s, len);
                n += len;
        }
        out[n] = '\0';
        if (is_abs)
                return n > 0 ? TAKE_PTR(out) : xstrdup("/");
        return xstrdup(n > 0 ? out + 1 : "");
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && STREQ(s + n - m, suffix);
}

int cgroup_expand_slice(const char *slice, char **ret, struct errmsg *err)
{
        _cleanup_free_ char *path = xstrdup(""), *prefix = xstrdup(""), *stem = NULL;
        char *p;

        if (!ends_with(slice, ".slice") || strchr(slice, '/'))
                return errmsg_set(err, -EINVAL, "slice \"%s\": not a valid slice name", slice);
        stem = xstrndup(slice, strlen(slice) - STRLEN(".slice"));
        if (STREQ(stem, "-")) {
                *ret = xstrdup("/");
                return 0;
        }
        /* "a-b.slice" lives in "a.slice": each dash opens a level ("a--b" and "-a" are bad). */
        p = stem;
        for (;;) {
                char *dash = strchr(p, '-'), *tmp;

                if (dash)
                        *dash = '\0';
                if (!*p)
                        return errmsg_set(err, -EINVAL, "slice \"%s\": not a valid slice name",
                                          slice);
                tmp = xasprintf("%s/%s%s.slice", path, prefix, p);
                free(path);
                path = tmp;
                tmp = xasprintf("%s%s-", prefix, p);
                free(prefix);
                prefix = tmp;
                if (!dash)
                        break;
                p = dash + 1;
        }
        *ret = TAKE_PTR(path);
        return 0;
}

/* "slice:prefix:name" as runc's systemd driver names the unit, placed through cgroupfs. */
static int systemd_inner_path(const char *spec, char **ret, struct errmsg *err)
{
        _cleanup_free_ char *copy = xstrdup(spec), *slice_path = NULL;
        char *slice = copy, *prefix, *name;
        const char *parent;
        int r;

        prefix = strchr(slice, ':');
        name = prefix ? strchr(prefix + 1, ':') : NULL;
        if (!name || strchr(name + 1, ':'))
                return errmsg_set(
                        err, -EINVAL,
                        "cgroupsPath \"%s\": expected \"slice:prefix:name\" with systemd cgroups",
                        spec);
        *prefix++ = '\0';
        *name++ = '\0';
        if (!*name || strchr(name, '/') || strchr(prefix, '/') || STREQ(name, ".") ||
            STREQ(name, ".."))
                return errmsg_set(
                        err, -EINVAL,
                        "cgroupsPath \"%s\": the unit name must be a non-empty name without '/'",
                        spec);
        r = cgroup_expand_slice(*slice ? slice : "system.slice", &slice_path, err);
        if (r < 0)
                return errmsg_prefix(err, r, "cgroupsPath \"%s\"", spec);
        parent = STREQ(slice_path, "/") ? "" : slice_path;
        /* A name that is a slice is used as is; otherwise the unit is "<prefix>-<name>.scope". */
        if (ends_with(name, ".slice"))
                *ret = xasprintf("%s/%s", parent, name);
        else
                *ret = xasprintf("%s/%s-%s.scope", parent, prefix, name);
        return 0;
}

int cgroup_inner_path(const char *cgroups_path, const char *id, bool systemd, char **ret,
                      struct errmsg *err)
{
        bool is_set = cgroups_path && *cgroups_path;
        _cleanup_free_ char *path = NULL;

        if (!is_set && (!id || !*id))
                return errmsg_set(err, -EINVAL, "cgroupsPath: empty, and no container id");
        if (systemd) {
                _cleanup_free_ char *spec = NULL;

                /* runc's default unit: system.slice/runc-<id>.scope */
                spec = is_set ? xstrdup(cgroups_path) : xasprintf(":runc:%s", id);
                return systemd_inner_path(spec, ret, err);
        }
        /* Empty: runc names the cgroup after the container, relative to the caller's own. */
        path = cgroup_clean_path(is_set ? cgroups_path : id);
        if (STREQ(path, "/") || !*path)
                return errmsg_set(
                        err, -EINVAL,
                        "cgroupsPath \"%s\": names the hierarchy's root, not a cgroup of its own",
                        is_set ? cgroups_path : id);
        *ret = TAKE_PTR(path);
        return 0;
}

/* --- the host's hierarchies ------------------------------------------------------------ */

static bool list_has_token(const char *list, const char *token)
{
        size_t n = strlen(token);

        for (const char *p = list; p && *p;) {
                const char *end = strchrnul(p, ',');

                if ((size_t) (end - p) == n && strncmp(p, token, n) == 0)
                        return true;
                p = *end ? end + 1 : end;
        }
        return false;
}

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape_octal(char *s)
{
        char *w = s;

        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
}

struct mount_entry {
        char *root;       /* borrowed from the line being parsed */
        char *mountpoint; /* idem */
        char *fstype;
        char *superopts;
};

/* Splits one mountinfo line in place: "36 25 0:31 / /sys/fs/cgroup/pids rw - cgroup x rw,pids" */
static bool mount_entry_parse(char *line, struct mount_entry *ret)
{
        char *fields[6], *sep, *p = line;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                fields[i] = strsep(&p, " ");
                if (!fields[i] || !p)
                        return false;
        }
        sep = strstr(p, "- ");
        if (!sep || (sep != p && sep[-1] != ' '))
                return false;
        p = sep + 2;
        ret->fstype = strsep(&p, " ");
        if (!p || !strsep(&p, " ") || !p)
                return false;
        ret->superopts = p;
        ret->root = fields[3];
        ret->mountpoint = fields[4];
        unescape_octal(ret->root);
        unescape_octal(ret->mountpoint);
        return true;
}

/*
 * Finds a mount of fstype that carries token among its super options (NULL: any), or sits at
 * mountpoint (NULL: any). Mounts under /sys/fs/cgroup win over others, e.g. bind mounts.
 */
static bool mountinfo_find(const char *mountinfo, const char *fstype, const char *token,
                           const char *mountpoint, char **ret_mountpoint, char **ret_root)
{
        for (int pass = 0; pass < 2; pass++) {
                _cleanup_free_ char *copy = xstrdup(mountinfo);
                char *line, *p = copy;

                while ((line = strsep(&p, "\n"))) {
                        struct mount_entry m;

                        if (!mount_entry_parse(line, &m) || !STREQ(m.fstype, fstype))
                                continue;
                        if (token && !list_has_token(m.superopts, token))
                                continue;
                        if (mountpoint && !STREQ(m.mountpoint, mountpoint))
                                continue;
                        if (pass == 0 &&
                            strncmp(m.mountpoint, CGROUP_ROOT "/", STRLEN(CGROUP_ROOT "/")) != 0 &&
                            !STREQ(m.mountpoint, CGROUP_ROOT))
                                continue;
                        *ret_mountpoint = xstrdup(m.mountpoint);
                        *ret_root = xstrdup(m.root);
                        return true;
                }
        }
        return false;
}

/* The container's directory in a hierarchy mounted at mount, whose root is mount_root. */
static char *hier_dir(const char *mount, const char *mount_root, const char *own, const char *inner,
                      bool own_parent)
{
        _cleanup_free_ char *rel = NULL, *joined = NULL;
        size_t n = strlen(mount_root);

        if (inner[0] == '/') {
                joined = xasprintf("%s/%s", mount, inner);
                return cgroup_clean_path(joined);
        }
        /* The own cgroup as seen inside the mount (a bind mount may start below the root). */
        if (STREQ(mount_root, "/"))
                rel = xstrdup(own);
        else if (strncmp(own, mount_root, n) == 0 && (own[n] == '\0' || own[n] == '/'))
                rel = xstrdup(own + n);
        else
                rel = xstrdup(own);
        /*
         * On pure v2 runc goes one level up: the caller's own cgroup most likely has processes,
         * and a cgroup with processes cannot enable controllers for its children.
         */
        if (own_parent) {
                char *slash = strrchr(rel, '/');

                if (slash)
                        *slash = '\0';
        }
        joined = xasprintf("%s/%s/%s", mount, rel, inner);
        return cgroup_clean_path(joined);
}

static void hier_add(struct cgroup *cg, size_t *alloc, const char *controllers, char *mount,
                     char *dir, bool is_v2)
{
        struct cgroup_hier *h;

        cg->hiers = xgrow(cg->hiers, alloc, cg->n_hiers + 1, sizeof(*cg->hiers));
        h = &cg->hiers[cg->n_hiers++];
        *h = (struct cgroup_hier){
                .controllers = xstrdup(controllers),
                .mount = mount,
                .dir = dir,
                .is_v2 = is_v2,
        };
}

/* The path of a /proc/self/cgroup line for controllers ("" for the cgroup2 line). Borrowed. */
static char *proc_cgroup_next(char **cursor, char **ret_controllers)
{
        char *line;

        while ((line = strsep(cursor, "\n"))) {
                char *ctrls = strchr(line, ':'), *path;

                if (!ctrls)
                        continue;
                path = strchr(++ctrls, ':');
                if (!path)
                        continue;
                *path++ = '\0';
                *ret_controllers = ctrls;
                return path;
        }
        return NULL;
}

static int add_v1_hiers(struct cgroup *cg, size_t *alloc, const char *proc_cgroup,
                        const char *mountinfo)
{
        _cleanup_free_ char *copy = xstrdup(proc_cgroup);
        char *cursor = copy, *ctrls, *own;

        while ((own = proc_cgroup_next(&cursor, &ctrls))) {
                _cleanup_free_ char *first = NULL;
                char *mount = NULL, *root = NULL;

                /* Named hierarchies other than systemd's are not ours to manage. */
                if (!*ctrls || (strncmp(ctrls, "name=", 5) == 0 && !STREQ(ctrls, "name=systemd")))
                        continue;
                first = xstrndup(ctrls, strcspn(ctrls, ","));
                if (!mountinfo_find(mountinfo, "cgroup", first, NULL, &mount, &root)) {
                        log_debug("cgroup: %s is not mounted, skipping it", ctrls);
                        continue;
                }
                hier_add(cg, alloc, ctrls, mount, hier_dir(mount, root, own, cg->path, false),
                         false);
                free(root);
        }
        return 0;
}

static int add_v2_hier(struct cgroup *cg, size_t *alloc, const char *proc_cgroup,
                       const char *mountinfo, const char *mountpoint, struct errmsg *err)
{
        _cleanup_free_ char *copy = xstrdup(proc_cgroup), *root = NULL, *mount = NULL;
        char *cursor = copy, *ctrls, *own;

        while ((own = proc_cgroup_next(&cursor, &ctrls)))
                if (!*ctrls)
                        break;
        if (!own)
                return errmsg_set(err, -ENOENT, "/proc/self/cgroup: no cgroup2 (\"0::\") line");
        if (!mountinfo_find(mountinfo, "cgroup2", NULL, mountpoint, &mount, &root))
                root = xstrdup("/");
        hier_add(cg, alloc, "", xstrdup(mountpoint),
                 hier_dir(mountpoint, root, own, cg->path, cg->mode == CGROUP_MODE_V2), true);
        return 0;
}

int cgroup_open_from(enum cgroup_mode mode, const char *proc_cgroup, const char *mountinfo,
                     const char *cgroups_path, const char *id, bool systemd, struct cgroup **ret,
                     struct errmsg *err)
{
        _cleanup_(cgroup_freep) struct cgroup *cg = xnew0(struct cgroup, 1);
        size_t alloc = 0;
        int r;

        assert(mode >= 0 && mode < _CGROUP_MODE_MAX);
        cg->mode = mode;
        r = cgroup_inner_path(cgroups_path, id, systemd, &cg->path, err);
        if (r < 0)
                return r;
        if (mode != CGROUP_MODE_V2) {
                r = add_v1_hiers(cg, &alloc, proc_cgroup, mountinfo);
                if (r < 0)
                        return r;
        }
        if (mode != CGROUP_MODE_V1) {
                r = add_v2_hier(cg, &alloc, proc_cgroup, mountinfo,
                                mode == CGROUP_MODE_V2 ? CGROUP_ROOT : CGROUP_UNIFIED, err);
                if (r < 0)
                        return r;
        }
        if (cg->n_hiers == 0)
                return errmsg_set(err, -ENOENT, "no cgroup hierarchy is mounted");
        *ret = TAKE_PTR(cg);
        return 0;
}

int cgroup_open(const char *cgroups_path, const char *id, bool systemd, struct cgroup **ret,
                struct errmsg *err)
{
        _cleanup_free_ char *proc_cgroup = NULL, *mountinfo = NULL;
        enum cgroup_mode mode;
        int r;

        r = cgroup_detect_mode(&mode);
        if (r < 0)
                return errmsg_set(err, r, "detect cgroup version from %s: %s", CGROUP_ROOT,
                                  strerror(-r));
        r = read_file_at(AT_FDCWD, "/proc/self/cgroup", PROC_TEXT_MAX, &proc_cgroup, NULL);
        if (r < 0)
                return errmsg_set(err, r, "read /proc/self/cgroup: %s", strerror(-r));
        r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", PROC_TEXT_MAX, &mountinfo, NULL);
        if (r < 0)
                return errmsg_set(err, r, "read /proc/self/mountinfo: %s", strerror(-r));
        return cgroup_open_from(mode, proc_cgroup, mountinfo, cgroups_path, id, systemd, ret, err);
}

struct cgroup *cgroup_free(struct cgroup *cg)
{
        if (!cg)
                return NULL;
        for (size_t i = 0; i < cg->n_hiers; i++) {
                free(cg->hiers[i].controllers);
                free(cg->hiers[i].mount);
                free(cg->hiers[i].dir);
                free(cg->hiers[i].created_top);
        }
        free(cg->hiers);
        free(cg->path);
        free(cg);
        return NULL;
}

const char *cgroup_path(const struct cgroup *cg)
{
        return cg->path;
}

enum cgroup_mode cgroup_mode(const struct cgroup *cg)
{
        return cg->mode;
}

struct cgroup_hier *cgroup_find_hier(const struct cgroup *cg, const char *controller)
{
        bool want_v2 = !controller || !*controller || cg->mode == CGROUP_MODE_V2;

        for (size_t i = 0; i < cg->n_hiers; i++) {
                struct cgroup_hier *h = &cg->hiers[i];

                if (want_v2 ? h->is_v2 : list_has_token(h->controllers, controller))
                        return h;
        }
        return NULL;
}

const char *cgroup_dir(const struct cgroup *cg, const char *controller)
{
        const struct cgroup_hier *h = cgroup_find_hier(cg, controller);

        return h ? h->dir : NULL;
}

/* --- cgroupfs files -------------------------------------------------------------------- */

int cg_open_dir(const char *dir, int *ret_fd, struct errmsg *err)
{
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return errmsg_set(err, -errno, "open %s: %s", dir, strerror(errno));
        *ret_fd = fd;
        return 0;
}

int cg_write(int dfd, const char *file, const char *value, struct errmsg *err)
{
        int r = write_string_at(dfd, file, value);

        if (r < 0)
                return errmsg_set(err, r, "%s=%s: %s", file, value, strerror(-r));
        log_debug("cgroup: %s=%s", file, value);
        return 0;
}

int cg_write_u64(int dfd, const char *file, uint64_t value, struct errmsg *err)
{
        char buf[32];

        (void) snprintf(buf, sizeof(buf), "%" PRIu64, value);
        return cg_write(dfd, file, buf, err);
}

int cg_write_hugetlb(int dfd, const struct oci_resources *res, const char *suffix,
                     struct errmsg *err)
{
        for (size_t i = 0; i < res->n_hugepages; i++) {
                const struct oci_hugepage_limit *h = &res->hugepages[i];
                _cleanup_free_ char *file = NULL;
                int r;

                if (!h->page_size || !*h->page_size || strchr(h->page_size, '/'))
                        return errmsg_set(err, -EINVAL, "hugepageLimits[%zu].pageSize: invalid", i);
                file = xasprintf("hugetlb.%s.%s", h->page_size, suffix);
                r = cg_write_u64(dfd, file, h->limit, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cg_write_i64(int dfd, const char *file, int64_t value, struct errmsg *err)
{
        char buf[32];

        (void) snprintf(buf, sizeof(buf), "%" PRIi64, value);
        return cg_write(dfd, file, buf, err);
}

int cg_read(int dfd, const char *file, char **ret)
{
        char *text;
        size_t len;
        int r;

        r = read_file_at(dfd, file, CGROUP_FILE_MAX, &text, &len);
        if (r < 0)
                return r;
        while (len > 0 && strchr(" \t\n", text[len - 1]))
                text[--len] = '\0';
        *ret = text;
        return 0;
}

bool cg_exists(int dfd, const char *file)
{
        return faccessat(dfd, file, F_OK, 0) == 0;
}

uint64_t cg_now_usec(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void cg_sleep_usec(uint64_t usec)
{
        struct timespec ts = {.tv_sec = (time_t) (usec / 1000000u),
                              .tv_nsec = (long) (usec % 1000000u) * 1000};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* --- create and join ------------------------------------------------------------------- */

/* Removes what hier_create made, leaf first, up to the topmost directory it created. */
static void hier_rollback(struct cgroup_hier *h)
{
        _cleanup_free_ char *p = NULL;

        if (!h->created_top)
                return;
        p = xstrdup(h->dir);
        for (;;) {
                char *slash;

                if (rmdir(p) < 0 && errno != ENOENT)
                        log_debug("cgroup: rmdir %s: %s, ignoring", p, strerror(errno));
                if (STREQ(p, h->created_top))
                        break;
                slash = strrchr(p, '/');
                if (!slash || slash == p)
                        break;
                *slash = '\0';
        }
        free(h->created_top);
        h->created_top = NULL;
}

static int hier_create(struct cgroup_hier *h, bool delegate, struct errmsg *err)
{
        bool is_cpuset = !h->is_v2 && list_has_token(h->controllers, "cpuset");
        _cleanup_free_ char *cur = xstrdup(h->mount);
        const char *rest = h->dir + strlen(h->mount);
        int r;

        /* Walk down from the mount point, one component at a time. */
        while (*rest) {
                size_t len;
                char *next;

                rest += strspn(rest, "/");
                len = strcspn(rest, "/");
                if (len == 0)
                        break;
                /*
                 * v2: a child only gets the controllers its parent enables for it. Not on
                 * hybrid: there the cgroup2 tree is for membership, the controllers are v1's.
                 */
                if (delegate)
                        cgroup_v2_enable_controllers(cur);
                next = xasprintf("%s/%.*s", cur, (int) len, rest);
                free(cur);
                cur = next;
                rest += len;
                if (mkdir(cur, 0755) < 0) {
                        if (errno != EEXIST)
                                return errmsg_set(err, -errno, "create cgroup %s: %s", cur,
                                                  strerror(errno));
                } else if (!h->created_top) {
                        h->created_top = xstrdup(cur);
                }
                /* v1 cpuset: a cgroup with empty cpus or mems takes no task (ENOSPC). */
                if (is_cpuset) {
                        r = cgroup_v1_cpuset_inherit(cur, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int cgroup_create(struct cgroup *cg, struct errmsg *err)
{
        size_t i;
        int r = 0;

        for (i = 0; i < cg->n_hiers; i++) {
                r = hier_create(&cg->hiers[i], cg->mode == CGROUP_MODE_V2, err);
                if (r < 0)
                        goto rollback;
        }
        return 0;

rollback:
        for (size_t j = i + 1; j-- > 0;)
                hier_rollback(&cg->hiers[j]);
        return r;
}

int cgroup_apply(struct cgroup *cg, const struct oci_resources *res, struct errmsg *err)
{
        _cleanup_close_ int dfd = -EBADF;
        const struct cgroup_hier *h;
        int r;

        if (cg->mode != CGROUP_MODE_V2)
                return cgroup_v1_apply(cg, res, err);
        h = cgroup_find_hier(cg, NULL);
        assert(h);
        r = cg_open_dir(h->dir, &dfd, err);
        if (r < 0)
                return r;
        return cgroup_v2_apply(dfd, res, err);
}

int cgroup_add_pid(struct cgroup *cg, pid_t pid, struct errmsg *err)
{
        char buf[32];

        (void) snprintf(buf, sizeof(buf), "%d", (int) pid);
        for (size_t i = 0; i < cg->n_hiers; i++) {
                _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", cg->hiers[i].dir);
                int r = write_string_at(AT_FDCWD, procs, buf);

                if (r < 0)
                        return errmsg_set(err, r, "add pid %d to %s: %s", (int) pid,
                                          cg->hiers[i].dir, strerror(-r));
        }
        return 0;
}

/* --- freezer --------------------------------------------------------------------------- */

/* v1's freezer controller; else, on hybrid, the cgroup2 core freezer does as well. */
static const struct cgroup_hier *freezer_hier(const struct cgroup *cg)
{
        const struct cgroup_hier *h = NULL;

        if (cg->mode != CGROUP_MODE_V2)
                h = cgroup_find_hier(cg, "freezer");
        if (!h && cg->mode != CGROUP_MODE_V1)
                h = cgroup_find_hier(cg, NULL);
        return h;
}

int cgroup_freeze(struct cgroup *cg, bool frozen, struct errmsg *err)
{
        const struct cgroup_hier *h = freezer_hier(cg);
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (!h)
                return errmsg_set(err, -EOPNOTSUPP,
                                  "freeze: the freezer controller is not mounted");
        r = cg_open_dir(h->dir, &dfd, err);
        if (r < 0)
                return r;
        return h->is_v2 ? cgroup_v2_freeze(dfd, frozen, err) : cgroup_v1_freeze(dfd, frozen, err);
}

int cgroup_is_frozen(struct cgroup *cg, bool *ret)
{
        const struct cgroup_hier *h = freezer_hier(cg);
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (!h)
                return -EOPNOTSUPP;
        r = cg_open_dir(h->dir, &dfd, NULL);
        if (r < 0)
                return r;
        return h->is_v2 ? cgroup_v2_is_frozen(dfd, ret) : cgroup_v1_is_frozen(dfd, ret);
}

/* --- processes ------------------------------------------------------------------------- */

struct pid_list {
        pid_t *pids;
        size_t n;
        size_t alloc;
};

static int read_procs(int dfd, struct pid_list *list)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        int fd;

        fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "re");
        if (!f) {
                (void) close(fd);
                return -errno;
        }
        while (getline(&line, &size, f) > 0) {
                uint64_t pid;

                line[strcspn(line, "\n")] = '\0';
                if (parse_uint64(line, &pid) < 0 || pid == 0 || pid > INT32_MAX)
                        continue;
                if (list->n >= PIDS_MAX)
                        return -E2BIG;
                list->pids = xgrow(list->pids, &list->alloc, list->n + 1, sizeof(pid_t));
                list->pids[list->n++] = (pid_t) pid;
        }
        return ferror(f) ? -EIO : 0;
}

static int collect_pids(int dfd, struct pid_list *list, unsigned depth)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        r = read_procs(dfd, list);
        if (r < 0)
                return r;
        if (depth >= CGROUP_MAX_DEPTH)
                return 0;
        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                _cleanup_close_ int cfd = -EBADF;

                if (de->d_type != DT_DIR || STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (cfd < 0) {
                        if (errno == ENOENT)
                                continue; /* removed meanwhile */
                        return -errno;
                }
                r = collect_pids(cfd, list, depth + 1);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return 0;
}

/* Where to count processes: runc reads one v1 hierarchy; any that every process joins does. */
static const struct cgroup_hier *pids_hier(const struct cgroup *cg)
{
        static const char *const order[] = {"pids", "memory", "devices", "freezer"};

        if (cg->mode == CGROUP_MODE_V2)
                return cgroup_find_hier(cg, NULL);
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                const struct cgroup_hier *h = cgroup_find_hier(cg, order[i]);

                if (h)
                        return h;
        }
        return &cg->hiers[0];
}

int cgroup_get_pids(struct cgroup *cg, pid_t **ret, size_t *ret_n)
{
        struct pid_list list = {0};
        _cleanup_close_ int dfd = -EBADF;
        int r;

        r = cg_open_dir(pids_hier(cg)->dir, &dfd, NULL);
        if (r < 0)
                return r;
        r = collect_pids(dfd, &list, 0);
        if (r < 0) {
                free(list.pids);
                return r;
        }
        *ret = list.pids;
        *ret_n = list.n;
        return 0;
}

/* cgroup.kill (v2, Linux 5.14) kills everything at once, forks racing included. */
static int kill_by_cgroup_kill(const struct cgroup *cg)
{
        const struct cgroup_hier *h =
                cg->mode == CGROUP_MODE_V1 ? NULL : cgroup_find_hier(cg, NULL);
        _cleanup_free_ char *file = NULL;

        if (!h)
                return -EOPNOTSUPP;
        file = xasprintf("%s/cgroup.kill", h->dir);
        return write_string_at(AT_FDCWD, file, "1");
}

int cgroup_kill_all(struct cgroup *cg, int sig)
{
        _cleanup_free_ pid_t *pids = NULL;
        bool was_frozen = false, frozen;
        size_t n = 0;
        int r;

        if (sig == SIGKILL && kill_by_cgroup_kill(cg) >= 0) {
                /* killed, a task frozen by the v1 freezer still only dies once thawed */
                if (cgroup_is_frozen(cg, &was_frozen) >= 0 && was_frozen)
                        (void) cgroup_freeze(cg, false, NULL);
                return 0;
        }
        (void) cgroup_is_frozen(cg, &was_frozen);
        /* Frozen, no process can fork a child that the pid list below would miss. */
        frozen = cgroup_freeze(cg, true, NULL) >= 0;
        r = cgroup_get_pids(cg, &pids, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (kill(pids[i], sig) < 0 && errno != ESRCH)
                        r = -errno;
        /* A paused container stays paused, unless it has to thaw to die. */
        if (frozen && (!was_frozen || sig == SIGKILL))
                (void) cgroup_freeze(cg, false, NULL);
        return r < 0 ? r : 0;
}

/* --- destroy --------------------------------------------------------------------------- */

static DIR *safe_closedir(DIR *d)
{
        if (d)
                (void) closedir(d);
        return NULL;
}

/* A cgroup whose last process just exited may report EBUSY for a moment (runc retries too). */
static int rmdir_retry(int parent_fd, const char *name)
{
        uint64_t delay = 10000;

        for (int attempt = 0; attempt < 6; attempt++) {
                if (unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY)
                        return -errno;
                cg_sleep_usec(delay);
                delay *= 2;
        }
        return -EBUSY;
}

static int remove_tree(int parent_fd, const char *name, unsigned depth)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r = 0;

        fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -errno;
        }
        /* Children first: a cgroup with child cgroups cannot be removed. */
        while (depth < CGROUP_MAX_DEPTH && (de = readdir(d))) {
                int q;

                if (de->d_type != DT_DIR || STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                q = remove_tree(dirfd(d), de->d_name, depth + 1);
                if (q < 0 && r == 0)
                        r = q;
        }
        d = safe_closedir(d);
        if (r < 0)
                return r;
        return rmdir_retry(parent_fd, name);
}

/*
 * Rolling back a cgroup_create() of this same struct: the parents it made go too, while they
 * are empty (one attempt each; another container may have moved in meanwhile).
 */
static void remove_created_parents(struct cgroup_hier *h, char *parent)
{
        size_t top_len = h->created_top ? strlen(h->created_top) : 0;

        if (!h->created_top || strncmp(parent, h->created_top, top_len) != 0 ||
            (parent[top_len] != '\0' && parent[top_len] != '/'))
                return;
        for (;;) {
                char *slash;

                if (rmdir(parent) < 0)
                        return;
                if (strlen(parent) <= top_len)
                        break;
                slash = strrchr(parent, '/');
                *slash = '\0';
        }
        free(h->created_top);
        h->created_top = NULL;
}

int cgroup_destroy(struct cgroup *cg)
{
        int r = 0;

        for (size_t i = 0; i < cg->n_hiers; i++) {
                struct cgroup_hier *h = &cg->hiers[i];
                _cleanup_free_ char *parent = xstrdup(h->dir);
                _cleanup_close_ int pfd = -EBADF;
                char *slash = strrchr(parent, '/');
                int q;

                /* Never the mount point itself, nor anything above the container's directory. */
                if (!slash || STREQ(h->dir, h->mount))
                        continue;
                *slash = '\0';
                pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pfd < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                q = remove_tree(pfd, slash + 1, 0);
                if (q < 0) {
                        log_debug("cgroup: remove %s: %s", h->dir, strerror(-q));
                        if (r == 0)
                                r = q;
                        continue;
                }
                remove_created_parents(h, parent);
        }
        return r;
}
