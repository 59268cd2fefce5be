/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The start command (runtime/v2/README.md "start"; containerd 1.6's runc manager Start):
 * compute the socket address, reuse a shim that already answers there, or listen on it and
 * launch the long-lived shim, which inherits the listening socket as fd 3. The address goes
 * to ./address and, without a newline, to stdout, which containerd reads together with
 * stderr: nothing else may be written to either.
 *
 * The long-lived shim is this binary executed anew (as containerd-shim-runc-v2 does),
 * without "start": a fresh image keeps its memory small (nothing of what start touched, such
 * as libcrypto's state, stays resident).
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/ttrpc.h"
#include "lib/xalloc.h"
#include "shim/shim.h"

#define OOM_SCORE_MAX 1000

extern char **environ;

static bool can_connect(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return false;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
}

/* containerd writes runtime options to stdin; only a shim cgroup would matter here. */
static void drain_stdin(void)
{
        _cleanup_free_ char *data = NULL;
        size_t len;

        if (!isatty(STDIN_FILENO))
                (void) read_fd_all(STDIN_FILENO, SHIM_OPTIONS_MAX_BYTES, &data, &len);
}

/* The long-lived shim's argv: the same flags, without the action. */
static char **daemon_argv(const struct shim_opts *o)
{
        char **argv = NULL;

        (void) strv_push(&argv, o->self);
        (void) strv_push(&argv, "-namespace");
        (void) strv_push(&argv, o->namespace);
        (void) strv_push(&argv, "-id");
        (void) strv_push(&argv, o->id);
        (void) strv_push(&argv, "-address");
        (void) strv_push(&argv, o->address);
        if (o->debug)
                (void) strv_push(&argv, "-debug");
        return argv;
}

/*
 * The static serve-only daemon next to our real executable (a fraction of the resident
 * memory: no shared libc, no libcrypto), else ourselves.
 */
static char *daemon_path(void)
{
        _cleanup_free_ char *self = realpath("/proc/self/exe", NULL);
        char *slash = self ? strrchr(self, '/') : NULL;
        char *path;

        if (!slash)
                return xstrdup("/proc/self/exe");
        *slash = '\0';
        path = xasprintf("%s/" SHIM_DAEMON_NAME, self);
        if (access(path, X_OK) == 0)
                return path;
        free(path);
        return xstrdup("/proc/self/exe");
}

static int spawn_daemon(const struct shim_opts *o, int listen_fd, pid_t *ret_pid)
{
        _cleanup_free_ char *exe = daemon_path();
        _cleanup_strv_ char **argv = daemon_argv(o);
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none;
        int r;

        (void) sigemptyset(&none);
        if (posix_spawn_file_actions_init(&fa) != 0)
                return -ENOMEM;
        if (posix_spawnattr_init(&attr) != 0) {
                (void) posix_spawn_file_actions_destroy(&fa);
                return -ENOMEM;
        }
        /* stdio to /dev/null, or containerd would wait for the shim to close its pipes */
        (void) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        (void) posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        (void) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        (void) posix_spawn_file_actions_adddup2(&fa, listen_fd, 3);
        (void) posix_spawnattr_setsigmask(&attr, &none);
        (void) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
        r = posix_spawn(ret_pid, exe, &fa, &attr, argv, environ);
        (void) posix_spawn_file_actions_destroy(&fa);
        (void) posix_spawnattr_destroy(&attr);
        return -r;
}

/* Gives the shim containerd's oom_score_adj + 1, so the kernel kills it before containerd. */
static void adjust_oom_score(pid_t shim)
{
        _cleanup_free_ char *path = xasprintf("/proc/%d/oom_score_adj", (int) getppid());
        _cleanup_free_ char *text = NULL;
        int64_t score;
        size_t len;
        char buf[32];

        if (read_file_at(AT_FDCWD, path, 32, &text, &len) < 0)
                return;
        text[strcspn(text, "\n")] = '\0';
        if (parse_int64(text, &score) < 0)
                return;
        (void) snprintf(buf, sizeof(buf), "%d", (int) MIN(score + 1, OOM_SCORE_MAX));
        free(path);
        path = xasprintf("/proc/%d/oom_score_adj", (int) shim);
        (void) write_string_at(AT_FDCWD, path, buf);
}

static int write_address_file(const char *address, struct errmsg *err)
{
        int r = write_file_replace_at(AT_FDCWD, "address", address, strlen(address), 0600);

        if (r < 0)
                return errmsg_set(err, r, "write address file: %s", strerror(-r));
        return 0;
}

static int print_address(const char *address, struct errmsg *err)
{
        int r = write_all(STDOUT_FILENO, address, strlen(address));

        if (r < 0)
                return errmsg_set(err, r, "write address: %s", strerror(-r));
        return 0;
}

int shim_start(const struct shim_opts *o, struct errmsg *err)
{
        _cleanup_free_ char *address = NULL;
        _cleanup_close_ int lfd = -EBADF;
        const char *path;
        pid_t pid;
        int r;

        if (!o->id || !o->id[0] || !o->address || !o->address[0])
                return errmsg_set(err, -EINVAL, "start: -id and -address are required");
        drain_stdin();
        r = shim_socket_address(o->address, o->namespace, o->id, &address);
        if (r < 0)
                return errmsg_set(err, r, "start: sha256 of the shim address (libcrypto): %s",
                                  strerror(-r));
        path = address + STRLEN("unix://");
        if (can_connect(path)) {
                /* a shim serves this id already */
                r = write_address_file(address, err);
                return r < 0 ? r : print_address(address, err);
        }
        r = mkdir_p_at(AT_FDCWD, SHIM_SOCKET_DIR, 0711);
        if (r < 0)
                return errmsg_set(err, r, "create %s: %s", SHIM_SOCKET_DIR, strerror(-r));
        r = ttrpc_listen_unix(path, &lfd, err);
        if (r < 0)
                return r;
        r = write_address_file(address, err);
        if (r >= 0) {
                r = spawn_daemon(o, lfd, &pid);
                if (r < 0)
                        (void) errmsg_set(err, r, "start shim: %s", strerror(-r));
        }
        if (r < 0) {
                (void) unlink(path);
                return r;
        }
        adjust_oom_score(pid);
        return print_address(address, err);
}
