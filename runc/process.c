/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container process's own attributes, applied from inside its namespaces just before
 * execve (see process.h).
 */
#include "runc/process.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "lib/fs.h"
#include "lib/xalloc.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_get(char *const *env, const char *name)
{
        size_t n = strlen(name);

        for (char *const *e = env; e && *e; e++)
                if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

static bool is_executable_file(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int process_find_executable(const struct oci_process *p, char **ret_path, struct errmsg *err)
{
        const char *name = p->args[0];
        const char *path = env_get(p->env, "PATH");
        _cleanup_free_ char *dirs = NULL;
        char *save = NULL;

        if (strchr(name, '/')) {
                if (!is_executable_file(name))
                        return errmsg_set(err, -ENOENT, "exec: \"%s\": %s", name,
                                          access(name, F_OK) == 0 ? "permission denied"
                                                                  : "no such file or directory");
                *ret_path = xstrdup(name);
                return 0;
        }
        dirs = xstrdup(path ? path : DEFAULT_PATH);
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *candidate = xasprintf("%s/%s", *d ? d : ".", name);

                if (is_executable_file(candidate)) {
                        *ret_path = TAKE_PTR(candidate);
                        return 0;
                }
        }
        return errmsg_set(err, -ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

int process_apply_rlimits(const struct oci_process *p, struct errmsg *err)
{
        for (size_t i = 0; i < p->n_rlimits; i++) {
                struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};

                if (setrlimit(p->rlimits[i].resource, &rl) < 0)
                        return errmsg_set(err, -errno, "process.rlimits[%zu]: setrlimit: %s", i,
                                          strerror(errno));
        }
        return 0;
}

int process_set_oom_score_adj(int value, struct errmsg *err)
{
        char buf[16];
        int r;

        (void) snprintf(buf, sizeof(buf), "%d", value);
        r = write_string_at(AT_FDCWD, "/proc/self/oom_score_adj", buf);
        if (r < 0)
                return errmsg_set(err, r,
                                  "process.oomScoreAdj: write %s to /proc/self/oom_score_adj: %s",
                                  buf, strerror(-r));
        return 0;
}

static int drop_bounding_set(uint64_t keep, struct errmsg *err)
{
        int last = capability_last_cap();

        for (int cap = 0; cap <= last; cap++) {
                if (keep & (1ull << cap))
                        continue;
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return errmsg_set(err, -errno, "drop %s from the bounding set: %s",
                                          capability_to_name(cap), strerror(errno));
        }
        return 0;
}

static int switch_user(const struct oci_user *u, struct errmsg *err)
{
        gid_t *gids = (gid_t *) u->additional_gids;

        /* In a user namespace with setgroups denied, only an empty list may be ignored. */
        if (setgroups(u->n_additional_gids, gids) < 0 &&
            !(errno == EPERM && u->n_additional_gids == 0))
                return errmsg_set(err, -errno, "setgroups: %s", strerror(errno));
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return errmsg_set(err, -errno, "setgid %u: %s", u->gid, strerror(errno));
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return errmsg_set(err, -errno, "setuid %u: %s", u->uid, strerror(errno));
        return 0;
}

static int set_capabilities(const struct oci_process *p, struct errmsg *err)
{
        static const cap_flag_t flags[] = {CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE};
        static const enum cap_set sets[] = {CAP_SET_EFFECTIVE, CAP_SET_PERMITTED,
                                            CAP_SET_INHERITABLE};
        cap_t caps = cap_init();
        int last = capability_last_cap(), r = 0;

        assert(caps);
        for (size_t s = 0; s < ELEMENTSOF(flags); s++)
                for (int cap = 0; cap <= last; cap++)
                        if (p->has_caps && (p->caps[sets[s]] & (1ull << cap))) {
                                cap_value_t v = cap;
                                (void) cap_set_flag(caps, flags[s], 1, &v, CAP_SET);
                        }
        if (cap_set_proc(caps) < 0)
                r = errmsg_set(err, -errno, "set capabilities: %s", strerror(errno));
        (void) cap_free(caps);
        if (r < 0)
                return r;
        for (int cap = 0; p->has_caps && cap <= last; cap++)
                if ((p->caps[CAP_SET_AMBIENT] & (1ull << cap)) &&
                    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                        /* runc only warns: the cap may be missing from inheritable */
                        continue;
        return 0;
}

int process_apply_user_and_caps(const struct oci_process *p, struct errmsg *err)
{
        int r;

        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return errmsg_set(err, -errno, "keep capabilities: %s", strerror(errno));
        r = drop_bounding_set(p->has_caps ? p->caps[CAP_SET_BOUNDING] : 0, err);
        if (r < 0)
                return r;
        r = switch_user(&p->user, err);
        if (r < 0)
                return r;
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return errmsg_set(err, -errno, "clear keep-capabilities: %s", strerror(errno));
        return set_capabilities(p, err);
}

int process_apply_misc(const struct oci_process *p, unsigned long persona, bool has_personality,
                       struct errmsg *err)
{
        _cleanup_free_ char *cwd = NULL;

        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return errmsg_set(err, -errno, "set no_new_privs: %s", strerror(errno));
        if (has_personality && personality(persona) < 0)
                return errmsg_set(err, -errno, "linux.personality: %s", strerror(errno));
        (void) umask(p->user.has_umask ? p->user.umask : 0022);
        if (chdir(p->cwd ? p->cwd : "/") < 0)
                return errmsg_set(err, -errno, "process.cwd: chdir %s: %s", p->cwd ? p->cwd : "/",
                                  strerror(errno));
        /* A cwd reached through a leaked host fd reads as "(unreachable)" (CVE-2024-21626). */
        cwd = getcwd(NULL, 0);
        if (!cwd || cwd[0] != '/')
                return errmsg_set(err, -EPERM, "process.cwd: %s is outside the container",
                                  p->cwd ? p->cwd : "/");
        return 0;
}

static int home_from_passwd(uid_t uid, char **ret)
{
        _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
        char line[1024];

        while (f && fgets(line, sizeof(line), f)) {
                char *fields[7] = {0}, *s = line;
                size_t n = 0;
                uint64_t id;

                line[strcspn(line, "\n")] = '\0';
                for (char *tok = strsep(&s, ":"); tok && n < 7; tok = strsep(&s, ":"))
                        fields[n++] = tok;
                if (n >= 6 && parse_uint64(fields[2], &id) == 0 && id == uid) {
                        *ret = xstrdup(fields[5]);
                        return 0;
                }
        }
        return -ENOENT;
}

static char **build_env(const struct oci_process *p)
{
        size_t n = 0;
        char **env;

        for (char *const *e = p->env; e && *e; e++)
                n++;
        env = xnew0(char *, n + 2);
        for (size_t i = 0; i < n; i++)
                env[i] = xstrdup(p->env[i]);
        if (!env_get(p->env, "HOME")) {
                _cleanup_free_ char *home = NULL;

                if (home_from_passwd(p->user.uid, &home) < 0)
                        home = xstrdup("/");
                env[n] = xasprintf("HOME=%s", home);
        }
        return env;
}

/* Every signal back to its default and none blocked, as runc's init leaves them: ignored
 * signals survive execve, and we ignore SIGPIPE ourselves (as may whoever started us). */
static void reset_signals(void)
{
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigset_t none;

        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &dfl, NULL); /* EINVAL for glibc's own: fine */
        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
}

int process_exec(const struct oci_process *p, const char *path, unsigned n_preserve,
                 struct errmsg *err)
{
        _cleanup_strv_ char **env = build_env(p);

        if (syscall(SYS_close_range, 3 + n_preserve, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return errmsg_set(err, -errno, "close_range: %s", strerror(errno));
        for (unsigned fd = 3; fd < 3 + n_preserve; fd++) {
                int fl = fcntl((int) fd, F_GETFD);

                if (fl >= 0)
                        (void) fcntl((int) fd, F_SETFD, fl & ~FD_CLOEXEC);
        }
        reset_signals();
        execve(path, p->args, env);
        return errmsg_set(err, -errno, "exec %s: %s", path, strerror(errno));
}
