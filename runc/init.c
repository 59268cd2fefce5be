/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stage 1 and the container process (see init.h). Everything here runs in forked children
 * of berth-runc: errors go back to the parent over the sync socket, then _exit().
 */
#include "runc/init.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runc/console.h"
#include "runc/hooks.h"
#include "runc/process.h"
#include "runc/rootfs.h"
#include "runc/seccomp.h"
#include "runc/state.h"
#include "runc/sync.h"

#define KEYCTL_JOIN_SESSION_KEYRING 1

/* The order namespaces are joined in: the user namespace first, so its caps apply. */
static const enum ns_type join_order[] = {NS_USER, NS_IPC,    NS_UTS,  NS_NETWORK,
                                          NS_PID,  NS_CGROUP, NS_TIME, NS_MOUNT};

void init_ctx_init(struct init_ctx *c)
{
        *c = (struct init_ctx){.sync_fd = -EBADF, .fifo_fd = -EBADF, .console_fd = -EBADF};
        for (size_t i = 0; i < _NS_TYPE_MAX; i++)
                c->ns_fds[i] = -EBADF;
}

static _noreturn_ void child_fail(const struct init_ctx *c, const struct errmsg *err)
{
        if (sync_send_error(c->sync_fd, err) < 0)
                dprintf(STDERR_FILENO, "berth-runc: %s\n", err->msg);
        _exit(1);
}

int init_spawn(struct init_ctx *c, struct cgroup *cg, int *ret_sync_fd, pid_t *ret_stage1,
               struct errmsg *err)
{
        _cleanup_close_ int parent_fd = -EBADF;
        int fds[2], r;
        pid_t pid;

        r = sync_pair(fds);
        if (r < 0)
                return errmsg_set(err, r, "socketpair: %s", strerror(-r));
        parent_fd = fds[0];
        c->sync_fd = fds[1];
        pid = fork();
        if (pid < 0)
                return errmsg_set(err, -errno, "fork: %s", strerror(errno));
        if (pid == 0) {
                parent_fd = safe_close(parent_fd);
                init_stage1(c);
        }
        *ret_stage1 = pid;
        c->sync_fd = safe_close(c->sync_fd);
        c->fifo_fd = safe_close(c->fifo_fd);
        c->console_fd = safe_close(c->console_fd);
        r = cgroup_add_pid(cg, pid, err);
        if (r < 0)
                return r;
        r = sync_send(parent_fd, SYNC_GO, 0);
        if (r < 0)
                return errmsg_set(err, r, "sync: %s", strerror(-r));
        *ret_sync_fd = TAKE_FD(parent_fd);
        return 0;
}

static int join_namespaces(const struct init_ctx *c, struct errmsg *err)
{
        for (size_t i = 0; i < ELEMENTSOF(join_order); i++) {
                enum ns_type t = join_order[i];

                if (c->ns_fds[t] < 0)
                        continue;
                if (setns(c->ns_fds[t], ns_type_to_clone_flag(t)) < 0)
                        return errmsg_set(err, -errno, "join %s namespace: %s",
                                          ns_type_to_string(t), strerror(errno));
        }
        return 0;
}

static int write_time_offsets(const struct oci_linux *l, struct errmsg *err)
{
        char buf[128];
        int r;

        (void) snprintf(buf, sizeof(buf), "monotonic %lld %lld\nboottime %lld %lld\n",
                        (long long) l->time_offsets[0][0], (long long) l->time_offsets[0][1],
                        (long long) l->time_offsets[1][0], (long long) l->time_offsets[1][1]);
        r = write_string_at(AT_FDCWD, "/proc/self/timens_offsets", buf);
        if (r < 0)
                return errmsg_set(err, r, "linux.timeOffsets: %s", strerror(-r));
        return 0;
}

/* The user namespace comes first: the parent maps it while we wait. */
static int unshare_user_namespace(const struct init_ctx *c, struct errmsg *err)
{
        int r;

        if (unshare(CLONE_NEWUSER) < 0)
                return errmsg_set(err, -errno, "unshare user namespace: %s", strerror(errno));
        r = sync_send(c->sync_fd, SYNC_USERMAP_REQ, (int) getpid());
        if (r < 0)
                return errmsg_set(err, r, "request id maps: %s", strerror(-r));
        r = sync_expect(c->sync_fd, SYNC_GO, NULL, err);
        if (r < 0)
                return r;
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return errmsg_set(err, -errno, "become root in the user namespace: %s",
                                  strerror(errno));
        return 0;
}

static int stage1_namespaces(const struct init_ctx *c, struct errmsg *err)
{
        int flags = c->new_ns_flags & ~CLONE_NEWUSER;
        int r;

        r = join_namespaces(c, err);
        if (r < 0)
                return r;
        if (c->new_ns_flags & CLONE_NEWUSER) {
                r = unshare_user_namespace(c, err);
                if (r < 0)
                        return r;
        }
        if (flags && unshare(flags) < 0)
                return errmsg_set(err, -errno, "unshare namespaces (flags 0x%x): %s", flags,
                                  strerror(errno));
        if ((flags & CLONE_NEWTIME) && c->spec->linux.has_time_offsets)
                return write_time_offsets(&c->spec->linux, err);
        return 0;
}

static _noreturn_ void container_main(struct init_ctx *c);

_noreturn_ void init_stage1(struct init_ctx *c)
{
        struct errmsg err = {0};
        pid_t pid;
        int r;

        r = sync_expect(c->sync_fd, SYNC_GO, NULL, &err);
        if (r < 0)
                child_fail(c, &err);
        r = stage1_namespaces(c, &err);
        if (r < 0)
                child_fail(c, &err);
        /* CLONE_PARENT: the container process is the runtime's child, not ours. */
        pid = (pid_t) syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
        if (pid < 0) {
                errmsg_set(&err, -errno, "clone container process: %s", strerror(errno));
                child_fail(c, &err);
        }
        if (pid == 0)
                container_main(c);
        (void) sync_send(c->sync_fd, SYNC_PID, (int) pid);
        _exit(0);
}

static int set_hostname(const struct oci_spec *spec, bool new_uts, struct errmsg *err)
{
        if (!spec->hostname && !spec->domainname)
                return 0;
        if (!new_uts)
                return errmsg_set(
                        err, -EINVAL,
                        "hostname: unable to set the hostname without a private UTS namespace");
        if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
                return errmsg_set(err, -errno, "hostname \"%s\": %s", spec->hostname,
                                  strerror(errno));
        if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
                return errmsg_set(err, -errno, "domainname \"%s\": %s", spec->domainname,
                                  strerror(errno));
        return 0;
}

static int write_sysctls(const struct oci_linux *l, struct errmsg *err)
{
        for (size_t i = 0; i < l->n_sysctl; i++) {
                _cleanup_free_ char *path = xasprintf("/proc/sys/%s", l->sysctl[i].key);
                int r;

                for (char *p = path + STRLEN("/proc/sys/"); *p; p++)
                        if (*p == '.')
                                *p = '/';
                if (strstr(path, ".."))
                        return errmsg_set(err, -EINVAL, "linux.sysctl: invalid key \"%s\"",
                                          l->sysctl[i].key);
                r = write_string_at(AT_FDCWD, path, l->sysctl[i].value);
                if (r < 0)
                        return errmsg_set(err, r, "linux.sysctl: %s=%s: %s", l->sysctl[i].key,
                                          l->sysctl[i].value, strerror(-r));
        }
        return 0;
}

/* The state JSON for hooks run inside the container; the host pid came with GO. */
static char *hook_state_json(const struct init_ctx *c, pid_t host_pid, enum container_status st)
{
        struct container_state cs = {.id = (char *) c->id,
                                     .pid = host_pid,
                                     .bundle = (char *) c->bundle,
                                     .rootfs = (char *) c->rootfs,
                                     .created = (char *) "",
                                     .annotations_json = (char *) c->annotations_json};

        return state_to_oci_json(&cs, st);
}

static int run_create_hooks(struct init_ctx *c, pid_t *ret_host_pid, struct errmsg *err)
{
        _cleanup_free_ char *state = NULL;
        struct sync_msg m;
        int r;

        r = sync_send(c->sync_fd, SYNC_HOOKS_REQ, 0);
        if (r < 0)
                return errmsg_set(err, r, "sync: %s", strerror(-r));
        r = sync_expect(c->sync_fd, SYNC_GO, &m, err);
        if (r < 0)
                return r;
        *ret_host_pid = m.value;
        if (c->spec->hooks.n[HOOK_CREATE_CONTAINER] == 0)
                return 0;
        state = hook_state_json(c, m.value, STATUS_CREATING);
        return hooks_run(&c->spec->hooks, HOOK_CREATE_CONTAINER, state, err);
}

static int setup_filesystem(struct init_ctx *c, pid_t *ret_host_pid, struct errmsg *err)
{
        bool in_userns = c->spec->linux.uid_mappings || oci_spec_find_namespace(c->spec, NS_USER);
        int r;

        r = rootfs_setup(c->spec, c->rootfs, in_userns, err);
        if (r < 0)
                return r;
        r = run_create_hooks(c, ret_host_pid, err);
        if (r < 0)
                return r;
        r = rootfs_pivot(c->rootfs, c->no_pivot, err);
        if (r < 0)
                return r;
        r = write_sysctls(&c->spec->linux, err);
        if (r < 0)
                return r;
        /* runc creates a missing cwd, owned by root */
        r = c->process->cwd ? mkdir_p_at(AT_FDCWD, c->process->cwd, 0755) : 0;
        if (r < 0)
                return errmsg_set(err, r, "process.cwd: create %s: %s", c->process->cwd,
                                  strerror(-r));
        return rootfs_finish(c->spec, err);
}

static int join_session_keyring(const char *id)
{
        _cleanup_free_ char *name = xasprintf("_ses.%s", id);

        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) < 0 && errno != ENOSYS &&
            errno != EPERM)
                return -errno;
        return 0;
}

/* Steps shared by init and exec once the process is inside the container's root. */
static int prepare_process(struct init_ctx *c, char **ret_exe, struct errmsg *err)
{
        const struct oci_process *p = c->process;
        const struct oci_linux *l = &c->spec->linux;
        int r;

        if (p->has_oom_score_adj && !c->is_exec) {
                r = process_set_oom_score_adj(p->oom_score_adj, err);
                if (r < 0)
                        return r;
        }
        if (p->terminal) {
                r = console_setup(c->console_fd, p, err);
                if (r < 0)
                        return r;
                c->console_fd = safe_close(c->console_fd);
        }
        if (!c->no_new_keyring && !c->is_exec && join_session_keyring(c->id) < 0)
                return errmsg_set(err, -errno, "join session keyring: %s", strerror(errno));
        r = process_find_executable(p, ret_exe, err);
        if (r < 0)
                return r;
        r = process_apply_rlimits(p, err);
        if (r < 0)
                return r;
        /* Without no_new_privs the filter needs CAP_SYS_ADMIN: load it before caps drop. */
        if (l->seccomp && !p->no_new_privileges) {
                r = seccomp_filter_load(l->seccomp, err);
                if (r < 0)
                        return r;
        }
        r = process_apply_user_and_caps(p, err);
        if (r < 0)
                return r;
        return process_apply_misc(p, l->personality, l->has_personality, err);
}

static int wait_for_start(struct init_ctx *c)
{
        char byte;
        ssize_t n;

        do
                n = read(c->fifo_fd, &byte, 1);
        while (n < 0 && errno == EINTR);
        c->fifo_fd = safe_close(c->fifo_fd);
        return n == 1 ? 0 : -EPIPE;
}

static int init_setup(struct init_ctx *c, char **ret_exe, struct errmsg *err)
{
        int r;

        r = set_hostname(c->spec, c->new_ns_flags & CLONE_NEWUTS, err);
        if (r < 0)
                return r;
        r = setup_filesystem(c, &c->host_pid, err);
        if (r < 0)
                return r;
        return prepare_process(c, ret_exe, err);
}

/* After start: startContainer hooks, the late seccomp filter, exec. */
static _noreturn_ void init_after_start(struct init_ctx *c, const char *exe)
{
        const struct oci_process *p = c->process;
        _cleanup_free_ char *state = NULL;
        struct errmsg err = {0};

        if (c->spec->hooks.n[HOOK_START_CONTAINER] > 0) {
                state = hook_state_json(c, c->host_pid, STATUS_CREATED);
                if (hooks_run(&c->spec->hooks, HOOK_START_CONTAINER, state, &err) < 0)
                        goto fail;
        }
        if (c->spec->linux.seccomp && p->no_new_privileges &&
            seccomp_filter_load(c->spec->linux.seccomp, &err) < 0)
                goto fail;
        (void) process_exec(p, exe, c->preserve_fds, &err);
fail:
        /* The runtime that created us is gone: tell the container's stderr. */
        if (c->is_exec)
                child_fail(c, &err);
        dprintf(STDERR_FILENO, "berth-runc: %s\n", err.msg);
        _exit(127);
}

static _noreturn_ void container_main(struct init_ctx *c)
{
        _cleanup_free_ char *exe = NULL;
        struct errmsg err = {0};
        int r;

        /* The parent's death must not leave a half-made container waiting forever. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        r = c->is_exec ? prepare_process(c, &exe, &err) : init_setup(c, &exe, &err);
        if (r < 0)
                child_fail(c, &err);
        /* From here the runtime may exit (create, exec --detach) and we live on. */
        (void) prctl(PR_SET_PDEATHSIG, 0);
        if (c->is_exec)
                init_after_start(c, exe);
        (void) sync_send(c->sync_fd, SYNC_READY, 0);
        if (wait_for_start(c) < 0)
                _exit(1);
        init_after_start(c, exe);
}
