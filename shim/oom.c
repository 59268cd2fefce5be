/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OOM events of a memory cgroup (see oom.h): finding the cgroup of the init process, the
 * cgroup v1 eventfd and the cgroup v2 memory.events watch.
 */
#include "shim/oom.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"

struct oom_watch {
        struct evloop *loop;
        bool is_v2;
        int fd;            /* v1: the eventfd; v2: the inotify fd */
        int file_fd;       /* v1: memory.oom_control; v2: memory.events */
        uint64_t oom_kill; /* v2: the counter last seen */
        oom_fn fn;
        void *userdata;
};

/* Does the comma-separated list have item? */
static bool list_has(const char *list, size_t len, const char *item)
{
        size_t n = strlen(item);

        for (const char *p = list, *end = list + len; p < end;) {
                const char *comma = memchr(p, ',', (size_t) (end - p));
                size_t l = comma ? (size_t) (comma - p) : (size_t) (end - p);

                if (l == n && memcmp(p, item, n) == 0)
                        return true;
                p += l + 1;
        }
        return false;
}

static char *unified_dir(const char *path)
{
        /* Pure v2 has cgroup.controllers at the top; hybrid mounts v2 at "unified". */
        if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
                return xasprintf("/sys/fs/cgroup%s", STREQ(path, "/") ? "" : path);
        return xasprintf("/sys/fs/cgroup/unified%s", STREQ(path, "/") ? "" : path);
}

int oom_cgroup_find(pid_t pid, char **ret_dir, bool *ret_is_v2, struct errmsg *err)
{
        _cleanup_free_ char *proc = xasprintf("/proc/%d/cgroup", (int) pid);
        _cleanup_free_ char *text = NULL, *v2 = NULL;
        char *line, *save = NULL;
        size_t len;
        int r;

        r = read_file_at(AT_FDCWD, proc, OOM_FILE_MAX_BYTES, &text, &len);
        if (r < 0)
                return errmsg_set(err, r, "read %s: %s", proc, strerror(-r));
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* "<hierarchy id>:<controllers>:<path>" */
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                size_t n_ctl;

                if (!c2 || c2[1] != '/')
                        continue;
                n_ctl = (size_t) (c2 - c1 - 1);
                if (list_has(c1 + 1, n_ctl, "memory")) {
                        *ret_dir = xasprintf("/sys/fs/cgroup/%.*s%s", (int) n_ctl, c1 + 1,
                                             STREQ(c2 + 1, "/") ? "" : c2 + 1);
                        *ret_is_v2 = false;
                        return 0;
                }
                if (c1 - line == 1 && line[0] == '0' && n_ctl == 0 && !v2)
                        v2 = xstrdup(c2 + 1);
        }
        if (!v2)
                return errmsg_set(err, -ENOENT, "%s: no memory cgroup", proc);
        *ret_dir = unified_dir(v2);
        *ret_is_v2 = true;
        return 0;
}

/* Is the v1 cgroup still there? A removed cgroup's files read as errors (ENODEV). */
static bool v1_cgroup_alive(const struct oom_watch *w)
{
        char buf[256];

        return pread(w->file_fd, buf, sizeof(buf), 0) > 0;
}

/* Reads the v2 oom_kill counter into *ret. */
static int v2_read_oom_kill(const struct oom_watch *w, uint64_t *ret)
{
        char buf[4096];
        ssize_t n = pread(w->file_fd, buf, sizeof(buf) - 1, 0);

        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return oom_events_parse(buf, ret);
}

static void stop(struct oom_watch *w)
{
        if (w->fd >= 0)
                (void) evloop_remove(w->loop, w->fd);
        w->fd = safe_close(w->fd);
}

static void on_v1_event(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct oom_watch *w = userdata;
        uint64_t count;

        (void) loop;
        (void) events;
        if (read(fd, &count, sizeof(count)) != (ssize_t) sizeof(count)) {
                if (errno != EAGAIN && errno != EINTR)
                        stop(w);
                return;
        }
        if (!v1_cgroup_alive(w)) {
                log_debug("oom: memory cgroup removed, stop watching");
                stop(w);
                return;
        }
        w->fn(w->userdata);
}

static void on_v2_event(struct evloop *loop, int fd, uint32_t events, void *userdata)
{
        struct oom_watch *w = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool gone = false;
        uint64_t kills;
        ssize_t n;

        (void) loop;
        (void) events;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;

                        gone = gone || (ev->mask & IN_IGNORED);
                        p += sizeof(*ev) + ev->len;
                }
        if (v2_read_oom_kill(w, &kills) >= 0 && kills > w->oom_kill) {
                w->oom_kill = kills;
                w->fn(w->userdata);
        }
        if (gone)
                stop(w);
}

static int open_file(const char *dir, const char *name, int flags, int *ret, struct errmsg *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        int fd = open(path, flags | O_CLOEXEC);

        if (fd < 0)
                return errmsg_set(err, -errno, "open %s: %s", path, strerror(errno));
        *ret = fd;
        return 0;
}

static int watch_v1(struct oom_watch *w, const char *dir, struct errmsg *err)
{
        _cleanup_close_ int control = -EBADF;
        char line[32];
        int r;

        r = open_file(dir, "memory.oom_control", O_RDONLY, &w->file_fd, err);
        if (r < 0)
                return r;
        r = open_file(dir, "cgroup.event_control", O_WRONLY, &control, err);
        if (r < 0)
                return r;
        w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->fd < 0)
                return errmsg_set(err, -errno, "eventfd: %s", strerror(errno));
        (void) snprintf(line, sizeof(line), "%d %d", w->fd, w->file_fd);
        r = write_all(control, line, strlen(line));
        if (r < 0)
                return errmsg_set(err, r, "register oom eventfd in %s/cgroup.event_control: %s",
                                  dir, strerror(-r));
        r = evloop_add(w->loop, w->fd, EPOLLIN, on_v1_event, w);
        if (r < 0)
                return errmsg_set(err, r, "watch oom eventfd: %s", strerror(-r));
        return 0;
}

static int watch_v2(struct oom_watch *w, const char *dir, struct errmsg *err)
{
        _cleanup_free_ char *path = xasprintf("%s/memory.events", dir);
        int r;

        r = open_file(dir, "memory.events", O_RDONLY, &w->file_fd, err);
        if (r < 0)
                return r;
        r = v2_read_oom_kill(w, &w->oom_kill);
        if (r < 0)
                return errmsg_set(err, r, "read %s: %s", path, strerror(-r));
        w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (w->fd < 0)
                return errmsg_set(err, -errno, "inotify: %s", strerror(errno));
        if (inotify_add_watch(w->fd, path, IN_MODIFY) < 0)
                return errmsg_set(err, -errno, "watch %s: %s", path, strerror(errno));
        r = evloop_add(w->loop, w->fd, EPOLLIN, on_v2_event, w);
        if (r < 0)
                return errmsg_set(err, r, "watch %s: %s", path, strerror(-r));
        return 0;
}

int oom_watch_new(struct evloop *loop, const char *dir, bool is_v2, oom_fn fn, void *userdata,
                  struct oom_watch **ret, struct errmsg *err)
{
        _cleanup_(oom_watch_freep) struct oom_watch *w = xnew0(struct oom_watch, 1);
        int r;

        w->loop = loop;
        w->is_v2 = is_v2;
        w->fn = fn;
        w->userdata = userdata;
        w->fd = w->file_fd = -EBADF;
        r = is_v2 ? watch_v2(w, dir, err) : watch_v1(w, dir, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

int oom_watch_pid(struct evloop *loop, pid_t pid, oom_fn fn, void *userdata, struct oom_watch **ret,
                  struct errmsg *err)
{
        _cleanup_free_ char *dir = NULL;
        bool is_v2;
        int r;

        r = oom_cgroup_find(pid, &dir, &is_v2, err);
        if (r < 0)
                return r;
        return oom_watch_new(loop, dir, is_v2, fn, userdata, ret, err);
}

struct oom_watch *oom_watch_free(struct oom_watch *w)
{
        if (!w)
                return NULL;
        stop(w);
        w->file_fd = safe_close(w->file_fd);
        free(w);
        return NULL;
}

int oom_events_parse(const char *text, uint64_t *ret_oom_kill)
{
        const char *p = text;
        uint64_t v = 0;

        while (*p) {
                const char *eol = strchrnul(p, '\n');

                if (strncmp(p, "oom_kill ", 9) == 0) {
                        char num[32];
                        size_t n = (size_t) (eol - p - 9);

                        if (n == 0 || n >= sizeof(num))
                                return -EINVAL;
                        memcpy(num, p + 9, n);
                        num[n] = '\0';
                        if (parse_uint64(num, &v) < 0)
                                return -EINVAL;
                }
                p = *eol ? eol + 1 : eol;
        }
        *ret_oom_kill = v;
        return 0;
}
