/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "exec": a new process inside a running container. Stage 1 (init.c) joins the init
 * process's namespaces through /proc/<pid>/ns, the parent moves it into the container's
 * cgroup first, and the new process applies config.json's linux settings (seccomp,
 * personality) with the process given on the command line.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runc/cgroup.h"
#include "runc/console.h"
#include "runc/container.h"
#include "runc/init.h"
#include "runc/sync.h"

struct exec_ctx {
        struct container_state *st;
        struct oci_spec *spec;
        struct oci_process process; /* from --process, else the config's plus flags */
        bool has_own_process;
        struct cgroup *cg;
        struct init_ctx init;
        int sync_fd;
        int console_ours; /* our end of the console pair (foreground terminal) */
        int master;       /* the pty master received on it */
        pid_t stage1;
        pid_t pid;
};

static void exec_ctx_release(struct exec_ctx *c)
{
        container_state_free(c->st);
        if (c->has_own_process)
                oci_process_release(&c->process);
        oci_spec_free(c->spec);
        cgroup_free(c->cg);
        c->sync_fd = safe_close(c->sync_fd);
        c->console_ours = safe_close(c->console_ours);
        c->master = safe_close(c->master);
        c->init.sync_fd = safe_close(c->init.sync_fd);
        c->init.console_fd = safe_close(c->init.console_fd);
        for (size_t i = 0; i < _NS_TYPE_MAX; i++)
                c->init.ns_fds[i] = safe_close(c->init.ns_fds[i]);
}

static int open_init_namespaces(struct exec_ctx *c, struct errmsg *err)
{
        for (size_t i = 0; i < c->spec->linux.n_namespaces; i++) {
                enum ns_type t = c->spec->linux.namespaces[i].type;
                char path[64];

                (void) snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) c->st->pid,
                                ns_type_to_proc_name(t));
                c->init.ns_fds[t] = open(path, O_RDONLY | O_CLOEXEC);
                if (c->init.ns_fds[t] < 0)
                        return errmsg_set(err, -errno, "open %s: %s", path, strerror(errno));
        }
        return 0;
}

static int load(const struct runc_global *g, const struct exec_opts *o, struct exec_ctx *c,
                struct errmsg *err)
{
        enum container_status status;
        int r;

        r = container_open(g, o->id, &c->st, &status, err);
        if (r < 0)
                return r;
        if (status == STATUS_STOPPED)
                return errmsg_set(err, -ESRCH, "cannot exec in a stopped container");
        if (status == STATUS_PAUSED && !o->ignore_paused)
                return errmsg_set(
                        err, -EBUSY,
                        "cannot exec in a paused container (use --ignore-paused to override)");
        r = bundle_load_spec(c->st->bundle, &c->spec, err);
        if (r < 0)
                return r;
        return state_open_cgroup(c->st, &c->cg, err);
}

/* Stage 1 reports the pid; EOF after that means the process exec'd. */
static int wait_exec(struct exec_ctx *c, struct errmsg *err)
{
        struct sync_msg m;
        int r;

        r = sync_expect(c->sync_fd, SYNC_PID, &m, err);
        (void) waitpid(c->stage1, NULL, 0);
        c->stage1 = 0;
        if (r < 0)
                return r;
        c->pid = m.value;
        r = sync_recv(c->sync_fd, &m);
        if (r == -EPIPE)
                return 0;
        if (r < 0)
                return errmsg_set(err, r, "sync: %s", strerror(-r));
        return errmsg_set(err, m.code < 0 ? m.code : -EIO, "%s",
                          m.type == SYNC_ERROR ? m.msg : "unexpected message");
}

static void init_fill(struct exec_ctx *c, const struct exec_opts *o)
{
        c->init.spec = c->spec;
        c->init.process = c->has_own_process ? &c->process : &c->spec->process;
        c->init.id = o->id;
        c->init.bundle = c->st->bundle;
        c->init.annotations_json = c->st->annotations_json;
        c->init.preserve_fds = o->preserve_fds;
        c->init.is_exec = true;
}

static int load_process_file(struct exec_ctx *c, const char *path, struct errmsg *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = read_file_at(AT_FDCWD, path, SPEC_MAX_BYTES, &text, &len);
        if (r < 0)
                return errmsg_set(err, r, "--process %s: %s", path, strerror(-r));
        r = oci_process_parse_text(text, len, &c->process, err);
        if (r < 0)
                return errmsg_prefix(err, r, "--process %s", path);
        c->has_own_process = true;
        return 0;
}

static int parse_user(const char *s, struct oci_user *u, struct errmsg *err)
{
        _cleanup_free_ char *copy = xstrdup(s);
        char *colon = strchr(copy, ':');
        uint64_t uid, gid = 0;

        if (colon)
                *colon = '\0';
        if (parse_uint64(copy, &uid) < 0 || uid > UINT32_MAX ||
            (colon && (parse_uint64(colon + 1, &gid) < 0 || gid > UINT32_MAX)))
                return errmsg_set(err, -EINVAL, "--user \"%s\": expected uid[:gid]", s);
        u->uid = (uint32_t) uid;
        u->gid = (uint32_t) gid;
        return 0;
}

/* The config's process with the command line's changes (runc's exec semantics). */
static int apply_flags(struct oci_process *p, const struct exec_opts *o, struct errmsg *err)
{
        size_t n_env = 0, n_new = 0;
        int r;

        strv_free(p->args);
        p->args = strv_copy(o->args);
        p->terminal = o->tty;
        if (o->cwd) {
                free(p->cwd);
                p->cwd = xstrdup(o->cwd);
        }
        for (char **e = p->env; e && *e; e++)
                n_env++;
        for (char **e = o->env; e && *e; e++)
                n_new++;
        p->env = xrealloc(p->env, (n_env + n_new + 1) * sizeof(char *));
        for (size_t i = 0; i < n_new; i++)
                p->env[n_env + i] = xstrdup(o->env[i]);
        p->env[n_env + n_new] = NULL;
        if (o->user) {
                r = parse_user(o->user, &p->user, err);
                if (r < 0)
                        return r;
        }
        if (o->n_additional_gids) {
                free(p->user.additional_gids);
                p->user.additional_gids = xmalloc(o->n_additional_gids * sizeof(uint32_t));
                memcpy(p->user.additional_gids, o->additional_gids,
                       o->n_additional_gids * sizeof(uint32_t));
                p->user.n_additional_gids = o->n_additional_gids;
        }
        for (char **cap = o->caps; cap && *cap; cap++) {
                int n = capability_from_name(*cap);

                if (n < 0)
                        return errmsg_set(err, -EINVAL, "--cap: unknown capability \"%s\"", *cap);
                p->has_caps = true;
                for (int set = 0; set < _CAP_SET_MAX; set++)
                        p->caps[set] |= 1ull << n;
        }
        if (o->no_new_privs)
                p->no_new_privileges = true;
        return 0;
}

static int build_process(struct exec_ctx *c, const struct exec_opts *o, struct errmsg *err)
{
        if (o->process_file)
                return load_process_file(c, o->process_file, err);
        if (!o->args || !o->args[0])
                return errmsg_set(err, -EINVAL, "exec: no command given (args or --process)");
        return apply_flags(&c->spec->process, o, err);
}

/*
 * A terminal goes to --console-socket; in the foreground without one, the runtime keeps the
 * pty master itself and relays (runc's behaviour).
 */
static int prepare_console(struct exec_ctx *c, const struct exec_opts *o, struct errmsg *err)
{
        int r;

        if (!c->init.process->terminal)
                return 0;
        if (o->console_socket)
                return console_socket_connect(o->console_socket, &c->init.console_fd, err);
        if (o->detach)
                return errmsg_set(err, -EINVAL, "--tty with --detach requires --console-socket");
        r = console_pair(&c->console_ours, &c->init.console_fd);
        return r < 0 ? errmsg_set(err, r, "socketpair: %s", strerror(-r)) : 0;
}

static int exec_run(const struct exec_opts *o, struct exec_ctx *c, struct errmsg *err)
{
        int r;

        r = open_init_namespaces(c, err);
        if (r < 0)
                return r;
        r = build_process(c, o, err);
        if (r < 0)
                return r;
        init_fill(c, o);
        r = prepare_console(c, o, err);
        if (r < 0)
                return r;
        r = init_spawn(&c->init, c->cg, &c->sync_fd, &c->stage1, err);
        if (r >= 0)
                r = wait_exec(c, err);
        if (r >= 0 && c->console_ours >= 0 && recv_fd(c->console_ours, &c->master) < 0)
                r = errmsg_set(err, -EPROTO, "receive the pty master of the exec process");
        if (r >= 0 && o->pid_file)
                r = pid_file_write(o->pid_file, c->pid, err);
        return r;
}

int container_exec(const struct runc_global *g, const struct exec_opts *o, int *ret_status,
                   struct errmsg *err)
{
        struct exec_ctx c = {.sync_fd = -EBADF, .console_ours = -EBADF, .master = -EBADF};
        int r;

        init_ctx_init(&c.init);
        r = load(g, o, &c, err);
        if (r >= 0)
                r = exec_run(o, &c, err);
        if (r < 0) {
                if (c.stage1 > 0)
                        (void) waitpid(c.stage1, NULL, 0);
                if (c.pid > 0)
                        (void) waitpid(c.pid, NULL, 0);
        } else if (o->detach) {
                *ret_status = 0;
        } else {
                c.sync_fd = safe_close(c.sync_fd);
                c.console_ours = safe_close(c.console_ours);
                r = wait_foreground(c.pid, c.master, ret_status);
                if (r < 0)
                        (void) errmsg_set(err, r, "wait for %d: %s", (int) c.pid, strerror(-r));
        }
        exec_ctx_release(&c);
        return r;
}
