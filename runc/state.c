/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state directory and state.json (see state.h). state.json is our own format; the
 * JSON printed by "state" and handed to hooks is the runtime-spec's.
 */
#include "runc/state.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runc/cgroup.h"

#define STATE_MAX_BYTES (1u << 20)
#define OCI_VERSION     "1.0.2"

static const char *const status_names[_STATUS_MAX] = {
        [STATUS_CREATING] = "creating", [STATUS_CREATED] = "created", [STATUS_RUNNING] = "running",
        [STATUS_PAUSED] = "paused",     [STATUS_STOPPED] = "stopped",
};

const char *container_status_to_string(enum container_status s)
{
        return s < _STATUS_MAX ? status_names[s] : NULL;
}

bool container_id_is_valid(const char *id)
{
        size_t len = strlen(id);

        if (len == 0 || len > ID_MAX_LEN || STREQ(id, ".") || STREQ(id, ".."))
                return false;
        for (const char *p = id; *p; p++)
                if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
                    !(*p >= '0' && *p <= '9') && !strchr("_+-.", *p))
                        return false;
        return true;
}

int state_root_open(const char *root, bool create, int *ret_fd, struct errmsg *err)
{
        int fd, r;

        if (create) {
                r = mkdir_p_at(AT_FDCWD, root, 0700);
                if (r < 0)
                        return errmsg_set(err, r, "create state root %s: %s", root, strerror(-r));
        }
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(err, -errno, "open state root %s: %s", root, strerror(errno));
        *ret_fd = fd;
        return 0;
}

struct container_state *container_state_free(struct container_state *st)
{
        if (!st)
                return NULL;
        free(st->id);
        free(st->bundle);
        free(st->rootfs);
        free(st->created);
        free(st->cgroup_json);
        free(st->annotations_json);
        free(st);
        return NULL;
}

static char *json_dup_string(json_t *obj, const char *key)
{
        const char *s = json_string_value(json_object_get(obj, key));

        return s ? xstrdup(s) : NULL;
}

static int state_from_json(json_t *j, struct container_state **ret)
{
        _cleanup_(container_state_freep) struct container_state *st =
                xnew0(struct container_state, 1);
        json_t *ann;

        st->id = json_dup_string(j, "id");
        st->bundle = json_dup_string(j, "bundle");
        st->rootfs = json_dup_string(j, "rootfs");
        st->created = json_dup_string(j, "created");
        st->cgroup_json = json_object_get(j, "cgroup")
                                  ? json_dumps(json_object_get(j, "cgroup"), JSON_COMPACT)
                                  : NULL;
        st->pid = (pid_t) json_integer_value(json_object_get(j, "pid"));
        st->start_time = (uint64_t) json_integer_value(json_object_get(j, "start_time"));
        st->owner = (uid_t) json_integer_value(json_object_get(j, "owner"));
        st->systemd_cgroup = json_is_true(json_object_get(j, "systemd_cgroup"));
        ann = json_object_get(j, "annotations");
        st->annotations_json = json_dumps(ann ? ann : json_object(), JSON_COMPACT);
        if (!st->id || !st->bundle || !st->rootfs || !st->created || st->pid <= 0)
                return -EBADMSG;
        *ret = TAKE_PTR(st);
        return 0;
}

int state_load(int root_fd, const char *id, struct container_state **ret, struct errmsg *err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        json_t *j;
        size_t len;
        int r;

        if (!container_id_is_valid(id))
                return errmsg_set(err, -EINVAL, "invalid container id \"%s\"", id);
        path = xasprintf("%s/" STATE_FILE, id);
        r = read_file_at(root_fd, path, STATE_MAX_BYTES, &text, &len);
        if (r == -ENOENT)
                return errmsg_set(err, r, "container does not exist");
        if (r < 0)
                return errmsg_set(err, r, "read state of %s: %s", id, strerror(-r));
        j = json_loadb(text, len, 0, NULL);
        if (!j)
                return errmsg_set(err, -EBADMSG, "state of %s: not valid JSON", id);
        r = state_from_json(j, ret);
        json_decref(j);
        if (r < 0)
                return errmsg_set(err, r, "state of %s: missing fields", id);
        return 0;
}

int state_save(int root_fd, const struct container_state *st, struct errmsg *err)
{
        _cleanup_free_ char *path = xasprintf("%s/" STATE_FILE, st->id);
        _cleanup_free_ char *text = NULL;
        json_t *ann = json_loads(st->annotations_json ? st->annotations_json : "{}", 0, NULL);
        json_t *cg = st->cgroup_json ? json_loads(st->cgroup_json, 0, NULL) : NULL;
        json_t *j;
        int r;

        j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:I, s:o*, s:b, s:o}", "id", st->id, "pid",
                      (json_int_t) st->pid, "start_time", (json_int_t) st->start_time, "bundle",
                      st->bundle, "rootfs", st->rootfs, "created", st->created, "owner",
                      (json_int_t) st->owner, "cgroup", cg, "systemd_cgroup", st->systemd_cgroup,
                      "annotations", ann ? ann : json_object());
        assert(j);
        text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        /* the state root is a tmpfs (/run) normally: no fsync, runc does none either */
        r = write_file_replace_at(root_fd, path, text, strlen(text), 0600);
        if (r < 0)
                return errmsg_set(err, r, "write state of %s: %s", st->id, strerror(-r));
        return 0;
}

int process_start_time(pid_t pid, uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        char path[64];
        const char *p;
        unsigned long long v;
        int r;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        r = read_file_at(AT_FDCWD, path, 4096, &text, NULL);
        if (r < 0)
                return r;
        /* comm may contain spaces and parentheses: fields resume after the last ')' */
        p = strrchr(text, ')');
        if (!p)
                return -EBADMSG;
        /* after ") " come field 3 (state) … field 22 (starttime): skip 19 fields */
        p++;
        for (int field = 2; field < 21; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
        }
        if (sscanf(p, " %llu", &v) != 1)
                return -EBADMSG;
        *ret = v;
        return 0;
}

bool process_is_alive(pid_t pid, uint64_t start_time)
{
        uint64_t t;
        _cleanup_free_ char *text = NULL;
        char path[64];

        if (pid <= 0 || process_start_time(pid, &t) < 0 || t != start_time)
                return false;
        /* a zombie has exited: the container is stopped even if nobody reaped it yet */
        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        if (read_file_at(AT_FDCWD, path, 4096, &text, NULL) < 0)
                return false;
        const char *p = strrchr(text, ')');
        return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

int state_open_cgroup(const struct container_state *st, struct cgroup **ret, struct errmsg *err)
{
        json_t *j;
        int r;

        if (!st->cgroup_json)
                return errmsg_set(err, -ENOENT, "container %s has no cgroup recorded", st->id);
        j = json_loads(st->cgroup_json, 0, NULL);
        if (!j)
                return errmsg_set(err, -EBADMSG, "state of %s: malformed cgroup", st->id);
        r = cgroup_from_json(j, ret, err);
        json_decref(j);
        return r;
}

enum container_status state_status(int root_fd, const struct container_state *st)
{
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        _cleanup_free_ char *fifo = NULL;
        bool frozen = false;

        if (!process_is_alive(st->pid, st->start_time))
                return STATUS_STOPPED;
        fifo = xasprintf("%s/" EXEC_FIFO, st->id);
        if (faccessat(root_fd, fifo, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return STATUS_CREATED;
        if (state_open_cgroup(st, &cg, NULL) >= 0 && cgroup_is_frozen(cg, &frozen) >= 0 && frozen)
                return STATUS_PAUSED;
        return STATUS_RUNNING;
}

char *state_to_oci_json(const struct container_state *st, enum container_status status)
{
        json_t *ann = json_loads(st->annotations_json ? st->annotations_json : "{}", 0, NULL);
        json_t *j;
        char *text;

        j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "ociVersion", OCI_VERSION, "id",
                      st->id, "pid", (json_int_t) (status == STATUS_STOPPED ? 0 : st->pid),
                      "status", container_status_to_string(status), "bundle", st->bundle, "rootfs",
                      st->rootfs, "created", st->created, "owner", "");
        assert(j);
        if (ann && json_object_size(ann) > 0)
                (void) json_object_set_new(j, "annotations", ann);
        else
                json_decref(ann);
        text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        return text;
}

char *rfc3339_now(void)
{
        struct timespec ts;
        struct tm tm;
        char buf[64];
        size_t n;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        (void) gmtime_r(&ts.tv_sec, &tm);
        n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        (void) snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
        return xstrdup(buf);
}
