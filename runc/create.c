/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "create": the parent's side. Prepares the state directory, cgroup and exec fifo, forks
 * stage 1 (init.c), answers its requests (id maps, hooks) and records the state once the
 * container process waits for start. Every failure undoes what was made, in reverse.
 */
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runc/cgroup.h"
#include "runc/console.h"
#include "runc/container.h"
#include "runc/hooks.h"
#include "runc/init.h"
#include "runc/sync.h"

struct create_ctx {
        const struct runc_global *g;
        const struct create_opts *o;
        struct oci_spec *spec;
        char *bundle;
        char *rootfs;
        char *annotations_json;
        int root_fd;
        struct cgroup *cg;
        struct init_ctx init;
        int sync_fd; /* the parent's end */
        pid_t stage1;
        pid_t pid;
};

static void create_ctx_release(struct create_ctx *c)
{
        oci_spec_free(c->spec);
        free(c->bundle);
        free(c->rootfs);
        free(c->annotations_json);
        cgroup_free(c->cg);
        c->root_fd = safe_close(c->root_fd);
        c->sync_fd = safe_close(c->sync_fd);
        c->init.sync_fd = safe_close(c->init.sync_fd);
        c->init.fifo_fd = safe_close(c->init.fifo_fd);
        c->init.console_fd = safe_close(c->init.console_fd);
        for (size_t i = 0; i < _NS_TYPE_MAX; i++)
                c->init.ns_fds[i] = safe_close(c->init.ns_fds[i]);
}

int bundle_load_spec(const char *bundle, struct oci_spec **ret, struct errmsg *err)
{
        _cleanup_close_ int fd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (fd < 0)
                return errmsg_set(err, -errno, "bundle %s: %s", bundle, strerror(errno));
        r = read_file_at(fd, "config.json", SPEC_MAX_BYTES, &text, &len);
        if (r < 0)
                return errmsg_set(err, r, "read %s/config.json: %s", bundle, strerror(-r));
        r = oci_spec_parse(text, len, ret, err);
        if (r < 0)
                return errmsg_prefix(err, r, "config.json");
        return 0;
}

static char *annotations_to_json(const struct oci_spec *spec)
{
        json_t *o = json_object();
        char *text;

        for (size_t i = 0; i < spec->n_annotations; i++)
                (void) json_object_set_new(o, spec->annotations[i].key,
                                           json_string(spec->annotations[i].value));
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        return text;
}

static int resolve_paths(struct create_ctx *c, struct errmsg *err)
{
        struct stat st;
        char *abs;

        abs = realpath(c->o->bundle ? c->o->bundle : ".", NULL);
        if (!abs)
                return errmsg_set(err, -errno, "bundle %s: %s", c->o->bundle ? c->o->bundle : ".",
                                  strerror(errno));
        c->bundle = abs;
        if (!c->spec->root_path)
                return errmsg_set(err, -EINVAL, "config.json: root.path is required");
        c->rootfs = c->spec->root_path[0] == '/'
                            ? xstrdup(c->spec->root_path)
                            : xasprintf("%s/%s", c->bundle, c->spec->root_path);
        if (stat(c->rootfs, &st) < 0)
                return errmsg_set(err, -errno, "root.path %s: %s", c->rootfs, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return errmsg_set(err, -ENOTDIR, "root.path %s: not a directory", c->rootfs);
        abs = realpath(c->rootfs, NULL);
        if (!abs)
                return errmsg_set(err, -errno, "root.path %s: %s", c->rootfs, strerror(errno));
        free(c->rootfs);
        c->rootfs = abs;
        return 0;
}

static int prepare_namespaces(struct create_ctx *c, struct errmsg *err)
{
        const struct oci_linux *l = &c->spec->linux;

        if (!oci_spec_find_namespace(c->spec, NS_MOUNT))
                return errmsg_set(err, -EINVAL, "linux.namespaces: a mount namespace is required");
        for (size_t i = 0; i < l->n_namespaces; i++) {
                const struct oci_namespace *ns = &l->namespaces[i];

                if (!ns->path) {
                        c->init.new_ns_flags |= ns_type_to_clone_flag(ns->type);
                        continue;
                }
                c->init.ns_fds[ns->type] = open(ns->path, O_RDONLY | O_CLOEXEC);
                if (c->init.ns_fds[ns->type] < 0)
                        return errmsg_set(err, -errno, "linux.namespaces[%zu].path %s: %s", i,
                                          ns->path, strerror(errno));
        }
        if ((l->n_uid_mappings || l->n_gid_mappings) && !(c->init.new_ns_flags & CLONE_NEWUSER))
                return errmsg_set(
                        err, -EINVAL,
                        "linux.uidMappings: user namespace mappings need a new user namespace");
        return 0;
}

static bool is_ipc_sysctl(const char *key)
{
        static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                          "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                          "kernel.shmmni", "kernel.shm_rmid_forced"};

        for (size_t i = 0; i < ELEMENTSOF(ipc); i++)
                if (STREQ(key, ipc[i]))
                        return true;
        return strncmp(key, "fs.mqueue.", 10) == 0;
}

/* Is the namespace at path the one this process is in (the host's)? */
static bool is_own_namespace(const char *path, const char *proc_name)
{
        struct stat a, b;
        char own[64];

        (void) snprintf(own, sizeof(own), "/proc/self/ns/%s", proc_name);
        return stat(path, &a) == 0 && stat(own, &b) == 0 && a.st_ino == b.st_ino &&
               a.st_dev == b.st_dev;
}

/*
 * A sysctl is only written inside a namespace of the container's own (runc's validator):
 * never into the host's kernel settings.
 */
static int check_sysctls(const struct oci_spec *spec, struct errmsg *err)
{
        const struct oci_namespace *net = oci_spec_find_namespace(spec, NS_NETWORK);

        for (size_t i = 0; i < spec->linux.n_sysctl; i++) {
                const char *key = spec->linux.sysctl[i].key;
                enum ns_type need;

                if (is_ipc_sysctl(key))
                        need = NS_IPC;
                else if (strncmp(key, "net.", 4) == 0)
                        need = NS_NETWORK;
                else if (STREQ(key, "kernel.hostname") || STREQ(key, "kernel.domainname"))
                        need = NS_UTS;
                else
                        return errmsg_set(
                                err, -EINVAL,
                                "linux.sysctl: \"%s\" is not in a separate kernel namespace", key);
                if (!oci_spec_find_namespace(spec, need))
                        return errmsg_set(err, -EINVAL, "linux.sysctl: \"%s\" needs a %s namespace",
                                          key, ns_type_to_string(need));
                if (need == NS_NETWORK && net->path && is_own_namespace(net->path, "net"))
                        return errmsg_set(
                                err, -EINVAL,
                                "linux.sysctl: \"%s\" is not allowed in the host's network namespace",
                                key);
        }
        return 0;
}

static int prepare_console(struct create_ctx *c, struct errmsg *err)
{
        if (!c->spec->process.terminal)
                return 0;
        if (c->o->console_fd >= 0) {
                c->init.console_fd = fcntl(c->o->console_fd, F_DUPFD_CLOEXEC, 3);
                return c->init.console_fd < 0 ? errmsg_set(err, -errno, "dup: %s", strerror(errno))
                                              : 0;
        }
        if (!c->o->console_socket)
                return errmsg_set(err, -EINVAL,
                                  "process.terminal is set: --console-socket is required");
        return console_socket_connect(c->o->console_socket, &c->init.console_fd, err);
}

static int open_exec_fifo(struct create_ctx *c, struct errmsg *err)
{
        _cleanup_free_ char *path = xasprintf("%s/" EXEC_FIFO, c->o->id);

        if (mkfifoat(c->root_fd, path, 0622) < 0)
                return errmsg_set(err, -errno, "create %s: %s", path, strerror(errno));
        /* O_RDWR: holding both ends, the container process blocks in read() until start. */
        c->init.fifo_fd = openat(c->root_fd, path, O_RDWR | O_CLOEXEC);
        if (c->init.fifo_fd < 0)
                return errmsg_set(err, -errno, "open %s: %s", path, strerror(errno));
        return 0;
}

static int write_id_map(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
                        struct errmsg *err)
{
        char path[64], buf[4096];
        size_t len = 0;
        int r;

        for (size_t i = 0; i < n && len < sizeof(buf); i++)
                len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n",
                                         m[i].container_id, m[i].host_id, m[i].size);
        if (len == 0)
                return 0;
        (void) snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        r = write_string_at(AT_FDCWD, path, buf);
        if (r < 0)
                return errmsg_set(err, r, "write %s: %s", path, strerror(-r));
        return 0;
}

static int handle_usermap(struct create_ctx *c, pid_t pid, struct errmsg *err)
{
        const struct oci_linux *l = &c->spec->linux;
        int r;

        r = write_id_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err);
        if (r >= 0)
                r = write_id_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err);
        if (r < 0)
                return r;
        return sync_send(c->sync_fd, SYNC_GO, 0);
}

static char *creating_state_json(struct create_ctx *c)
{
        struct container_state st = {.id = (char *) c->o->id,
                                     .pid = c->pid,
                                     .bundle = c->bundle,
                                     .rootfs = c->rootfs,
                                     .created = (char *) "",
                                     .annotations_json = c->annotations_json};

        return state_to_oci_json(&st, STATUS_CREATING);
}

static int handle_hooks(struct create_ctx *c, struct errmsg *err)
{
        _cleanup_free_ char *state = creating_state_json(c);
        int r;

        r = hooks_run(&c->spec->hooks, HOOK_PRESTART, state, err);
        if (r >= 0)
                r = hooks_run(&c->spec->hooks, HOOK_CREATE_RUNTIME, state, err);
        if (r < 0)
                return r;
        return sync_send(c->sync_fd, SYNC_GO, (int) c->pid);
}

/* Answers the children until the container process says it waits for start. */
static int serve_children(struct create_ctx *c, struct errmsg *err)
{
        bool hooks_pending = false;

        for (;;) {
                struct sync_msg m;
                int r = sync_recv(c->sync_fd, &m);

                if (r == -EPIPE)
                        return errmsg_set(err, -EPROTO, "container process exited during setup");
                if (r < 0)
                        return errmsg_set(err, r, "sync: %s", strerror(-r));
                switch (m.type) {
                case SYNC_USERMAP_REQ:
                        r = handle_usermap(c, m.value, err);
                        break;
                case SYNC_PID:
                        c->pid = m.value;
                        (void) waitpid(c->stage1, NULL, 0);
                        c->stage1 = 0;
                        if (hooks_pending)
                                r = handle_hooks(c, err);
                        break;
                case SYNC_HOOKS_REQ:
                        hooks_pending = c->pid == 0;
                        if (!hooks_pending)
                                r = handle_hooks(c, err);
                        break;
                case SYNC_READY:
                        return 0;
                case SYNC_ERROR:
                        return errmsg_set(err, m.code < 0 ? m.code : -EIO, "%s", m.msg);
                default:
                        return errmsg_set(err, -EPROTO, "unexpected message %u", m.type);
                }
                if (r < 0)
                        return r;
        }
}

static int spawn(struct create_ctx *c, struct errmsg *err)
{
        int r = init_spawn(&c->init, c->cg, &c->sync_fd, &c->stage1, err);

        return r < 0 ? r : serve_children(c, err);
}

static int record_state(struct create_ctx *c, struct errmsg *err)
{
        struct container_state st = {.id = (char *) c->o->id,
                                     .pid = c->pid,
                                     .bundle = c->bundle,
                                     .rootfs = c->rootfs,
                                     .owner = geteuid(),
                                     .systemd_cgroup = c->g->systemd_cgroup,
                                     .annotations_json = c->annotations_json};
        _cleanup_free_ char *created = rfc3339_now();
        _cleanup_free_ char *cgroup_json = NULL;
        json_t *cg = cgroup_to_json(c->cg);
        int r;

        cgroup_json = json_dumps(cg, JSON_COMPACT);
        json_decref(cg);
        st.cgroup_json = cgroup_json;
        st.created = created;
        r = process_start_time(c->pid, &st.start_time);
        if (r < 0)
                return errmsg_set(err, r, "read start time of %d: %s", (int) c->pid, strerror(-r));
        r = state_save(c->root_fd, &st, err);
        if (r < 0)
                return r;
        if (c->o->pid_file)
                return pid_file_write(c->o->pid_file, c->pid, err);
        return 0;
}

static void kill_children(struct create_ctx *c)
{
        if (c->pid > 0) {
                (void) kill(c->pid, SIGKILL);
                (void) waitpid(c->pid, NULL, 0);
        }
        if (c->stage1 > 0) {
                (void) kill(c->stage1, SIGKILL);
                (void) waitpid(c->stage1, NULL, 0);
        }
}

static int load_and_check(struct create_ctx *c, struct errmsg *err)
{
        int r;

        if (!container_id_is_valid(c->o->id))
                return errmsg_set(err, -EINVAL, "invalid container id \"%s\"", c->o->id);
        r = bundle_load_spec(c->o->bundle ? c->o->bundle : ".", &c->spec, err);
        if (r < 0)
                return r;
        if (!c->spec->has_process)
                return errmsg_set(err, -EINVAL, "config.json: process is required");
        r = resolve_paths(c, err);
        if (r < 0)
                return r;
        r = prepare_namespaces(c, err);
        if (r < 0)
                return r;
        r = check_sysctls(c->spec, err);
        if (r < 0)
                return r;
        return prepare_console(c, err);
}

static void init_fill(struct create_ctx *c)
{
        c->annotations_json = annotations_to_json(c->spec);
        c->init.spec = c->spec;
        c->init.process = &c->spec->process;
        c->init.id = c->o->id;
        c->init.rootfs = c->rootfs;
        c->init.bundle = c->bundle;
        c->init.annotations_json = c->annotations_json;
        c->init.preserve_fds = c->o->preserve_fds;
        c->init.no_new_keyring = c->o->no_new_keyring;
        c->init.no_pivot = c->o->no_pivot;
}

/*
 * The device rules runc writes: the spec's own, then an allow rule for each linux.devices
 * entry, then the default devices every container gets (/dev/null, …, pts).
 */
static int apply_resources(struct create_ctx *c, struct errmsg *err)
{
        const struct oci_linux *l = &c->spec->linux;
        struct oci_resources res = l->resources;
        _cleanup_free_ struct oci_device_rule *rules = NULL;
        const struct oci_device_rule *defaults;
        size_t n_defaults = cgroup_default_device_rules(&defaults), n = 0;

        rules = xnew0(struct oci_device_rule, res.n_devices + l->n_devices + n_defaults);
        for (size_t i = 0; i < res.n_devices; i++)
                rules[n++] = res.devices[i];
        for (size_t i = 0; i < l->n_devices; i++)
                rules[n++] = (struct oci_device_rule){.allow = true,
                                                      .type = l->devices[i].type == 'b' ? 'b' : 'c',
                                                      .major = l->devices[i].major,
                                                      .minor = l->devices[i].minor,
                                                      .access = "rwm"};
        for (size_t i = 0; i < n_defaults; i++)
                rules[n++] = defaults[i];
        res.devices = rules;
        res.n_devices = n;
        return cgroup_apply(c->cg, &res, err);
}

static int create_in_state_dir(struct create_ctx *c, struct errmsg *err)
{
        int r;

        r = cgroup_open(c->spec->linux.cgroups_path, c->o->id, c->g->systemd_cgroup, &c->cg, err);
        if (r < 0)
                return r;
        r = cgroup_create(c->cg, err);
        if (r < 0)
                return r;
        r = apply_resources(c, err);
        if (r < 0)
                goto undo_cgroup;
        r = open_exec_fifo(c, err);
        if (r >= 0)
                r = spawn(c, err);
        if (r >= 0)
                r = record_state(c, err);
        if (r >= 0)
                return 0;
        kill_children(c);
undo_cgroup:
        (void) cgroup_destroy(c->cg);
        return r;
}

int container_create(const struct runc_global *g, const struct create_opts *o,
                     struct create_result *ret, struct errmsg *err)
{
        struct create_ctx c = {.g = g, .o = o, .root_fd = -EBADF, .sync_fd = -EBADF};
        int r;

        init_ctx_init(&c.init);
        r = load_and_check(&c, err);
        if (r < 0)
                goto out;
        init_fill(&c);
        r = state_root_open(g->root, true, &c.root_fd, err);
        if (r < 0)
                goto out;
        if (mkdirat(c.root_fd, o->id, 0711) < 0) {
                r = errno == EEXIST
                            ? errmsg_set(err, -EEXIST, "container with id exists: %s", o->id)
                            : errmsg_set(err, -errno, "create state dir %s: %s", o->id,
                                         strerror(errno));
                goto out;
        }
        r = create_in_state_dir(&c, err);
        if (r < 0)
                (void) rm_rf_at(c.root_fd, o->id);
        else
                *ret = (struct create_result){.pid = c.pid, .terminal = c.spec->process.terminal};
out:
        create_ctx_release(&c);
        return r;
}

int pid_file_write(const char *path, pid_t pid, struct errmsg *err)
{
        char buf[32];
        int r;

        (void) snprintf(buf, sizeof(buf), "%d", (int) pid);
        r = write_file_replace_at(AT_FDCWD, path, buf, strlen(buf), 0644);
        if (r < 0)
                return errmsg_set(err, r, "--pid-file %s: %s", path, strerror(-r));
        return 0;
}
