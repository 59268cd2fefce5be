/* SPDX-License-Identifier: Apache-2.0 */
/* Calling the OCI runtime (see runtime.h). */
#include "shim/runtime.h"

#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

extern char **environ;

void runtime_init(struct runtime *rt, const char *binary, const char *root, const char *ns,
                  const char *bundle)
{
        *rt = (struct runtime){.binary = xstrdup(binary),
                               .root = xasprintf("%s/%s", root, ns),
                               .log_path = xasprintf("%s/log.json", bundle)};
}

void runtime_release(struct runtime *rt)
{
        free(rt->binary);
        free(rt->root);
        free(rt->log_path);
        *rt = (struct runtime){0};
}

char **runtime_argv(const struct runtime *rt, const char *const *args)
{
        const char *global[] = {rt->binary,   "--root",       rt->root, "--log",
                                rt->log_path, "--log-format", "json"};
        char **argv = NULL;

        for (size_t i = 0; i < ELEMENTSOF(global); i++)
                (void) strv_push(&argv, global[i]);
        if (rt->systemd_cgroup)
                (void) strv_push(&argv, "--systemd-cgroup");
        for (size_t i = 0; args[i]; i++)
                (void) strv_push(&argv, args[i]);
        return argv;
}

char *runtime_log_last_error(const char *text, size_t len)
{
        char *last = NULL, *last_error = NULL;
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                json_t *rec = json_loadb(p, n, 0, NULL);
                const char *msg = json_string_value(json_object_get(rec, "msg"));
                const char *level = json_string_value(json_object_get(rec, "level"));

                if (msg) {
                        free(last);
                        last = xstrdup(msg);
                        if (STREQ_PTR(level, "error")) {
                                free(last_error);
                                last_error = xstrdup(msg);
                        }
                }
                json_decref(rec);
                p += n + 1;
        }
        if (last_error) {
                free(last);
                return last_error;
        }
        return last;
}

/* The last error of the runtime's log file, or NULL. */
static char *runtime_last_error(const struct runtime *rt)
{
        _cleanup_close_ int fd = open(rt->log_path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t len;

        if (fd < 0 || fstat(fd, &st) < 0)
                return NULL;
        if ((size_t) st.st_size > RUNTIME_LOG_TAIL_BYTES &&
            lseek(fd, st.st_size - (off_t) RUNTIME_LOG_TAIL_BYTES, SEEK_SET) < 0)
                return NULL;
        if (read_fd_all(fd, RUNTIME_LOG_TAIL_BYTES, &text, &len) < 0)
                return NULL;
        return runtime_log_last_error(text, len);
}

static int spawn_attrs_init(posix_spawnattr_t *attr)
{
        sigset_t none, dfl;

        (void) sigemptyset(&none);
        (void) sigemptyset(&dfl);
        /* The shim ignores SIGPIPE and blocks the signals its signalfd reads. */
        (void) sigaddset(&dfl, SIGPIPE);
        if (posix_spawnattr_init(attr) != 0)
                return -ENOMEM;
        (void) posix_spawnattr_setsigmask(attr, &none);
        (void) posix_spawnattr_setsigdefault(attr, &dfl);
        (void) posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        return 0;
}

static int spawn_actions_init(posix_spawn_file_actions_t *fa, const int stdio[3])
{
        static const int flags[3] = {O_RDONLY, O_WRONLY, O_WRONLY};

        if (posix_spawn_file_actions_init(fa) != 0)
                return -ENOMEM;
        for (int i = 0; i < 3; i++) {
                int r = stdio[i] >= 0
                                ? posix_spawn_file_actions_adddup2(fa, stdio[i], i)
                                : posix_spawn_file_actions_addopen(fa, i, "/dev/null", flags[i], 0);
                if (r != 0) {
                        (void) posix_spawn_file_actions_destroy(fa);
                        return -r;
                }
        }
        return 0;
}

static int spawn_runtime(const struct runtime *rt, char **argv, const int stdio[3], pid_t *ret)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        int r;

        r = spawn_actions_init(&fa, stdio);
        if (r < 0)
                return r;
        r = spawn_attrs_init(&attr);
        if (r < 0) {
                (void) posix_spawn_file_actions_destroy(&fa);
                return r;
        }
        r = posix_spawnp(ret, rt->binary, &fa, &attr, argv, environ);
        (void) posix_spawn_file_actions_destroy(&fa);
        (void) posix_spawnattr_destroy(&attr);
        return -r;
}

static int wait_runtime(pid_t pid, int *ret_status)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_status = status;
        return 0;
}

int runtime_run(const struct runtime *rt, const char *const *args, const int stdio[3],
                struct errmsg *err)
{
        _cleanup_strv_ char **argv = runtime_argv(rt, args);
        _cleanup_free_ char *msg = NULL;
        pid_t pid;
        int r, status;

        r = spawn_runtime(rt, argv, stdio, &pid);
        if (r < 0)
                return errmsg_set(err, r, "OCI runtime %s failed: exec %s: %s", args[0], rt->binary,
                                  strerror(-r));
        r = wait_runtime(pid, &status);
        if (r < 0)
                return errmsg_set(err, r, "OCI runtime %s: wait: %s", args[0], strerror(-r));
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        msg = runtime_last_error(rt);
        if (msg)
                return errmsg_set(err, -EIO, "OCI runtime %s failed: %s", args[0], msg);
        if (WIFSIGNALED(status))
                return errmsg_set(err, -EIO, "OCI runtime %s failed: killed by signal %d", args[0],
                                  WTERMSIG(status));
        return errmsg_set(err, -EIO, "OCI runtime %s failed: exit status %d", args[0],
                          WEXITSTATUS(status));
}

static bool is_executable(const char *path)
{
        struct stat st;

        return access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int runtime_find_binary(const char *name, const char *const *dirs, char **ret_path)
{
        const char *path_env = getenv("PATH");
        _cleanup_free_ char *path = NULL;

        if (strchr(name, '/')) {
                *ret_path = xstrdup(name);
                return 0;
        }
        for (size_t i = 0; dirs && dirs[i]; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dirs[i], name);

                if (is_executable(p)) {
                        *ret_path = TAKE_PTR(p);
                        return 0;
                }
        }
        path = xstrdup(path_env ? path_env : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
        for (char *save = NULL, *d = strtok_r(path, ":", &save); d;
             d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *p = xasprintf("%s/%s", d, name);

                if (is_executable(p)) {
                        *ret_path = TAKE_PTR(p);
                        return 0;
                }
        }
        return -ENOENT;
}

void runtime_self_dirs(const char *argv0, char *ret_dirs[3])
{
        _cleanup_free_ char *a = xstrdup(argv0 ? argv0 : "");
        char exe[4096];
        size_t n = 0;
        ssize_t len;

        ret_dirs[0] = ret_dirs[1] = ret_dirs[2] = NULL;
        if (strchr(a, '/'))
                ret_dirs[n++] = xstrdup(dirname(a));
        len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (len > 0) {
                exe[len] = '\0';
                ret_dirs[n++] = xstrdup(dirname(exe));
        }
}

int memfd_with_data(const char *name, const void *data, size_t len, int *ret_fd)
{
        _cleanup_close_ int fd = memfd_create(name, MFD_CLOEXEC);
        int r;

        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
