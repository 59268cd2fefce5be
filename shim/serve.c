/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The long-lived shim: the event loop with the ttrpc server, the reaper and the Task
 * service, until Shutdown or SIGTERM. Its log goes to the "log" FIFO containerd opened in the
 * bundle (runtime/v2/README.md, "Debugging and Shim Logs"); containerd copies it into its own.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "shim/reaper.h"
#include "shim/service.h"

#define ADDRESS_FILE_MAX_BYTES 4096

static void on_terminate(int signo, void *userdata)
{
        struct shim_service *s = userdata;

        log_info("signal %d: shutting down", signo);
        evloop_exit(s->loop, 0);
}

/*
 * Logs to the bundle's "log" FIFO when containerd reads it. Non-blocking: a full FIFO
 * (containerd stalled or gone) loses lines instead of stopping the loop.
 */
static void open_log_fifo(void)
{
        int fd = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

        if (fd < 0)
                return;
        if (dup2(fd, STDERR_FILENO) < 0)
                log_debug_errno(-errno, "log fifo");
        (void) close(fd);
}

/* Removes the socket named by ./address, as containerd-shim-runc-v2 does when it exits. */
static void remove_socket(void)
{
        _cleanup_free_ char *address = NULL;
        size_t len;

        if (read_file_at(AT_FDCWD, "address", ADDRESS_FILE_MAX_BYTES, &address, &len) < 0)
                return;
        if (strncmp(address, "unix://", 7) == 0)
                (void) unlink(address + 7);
}

int shim_serve(const struct shim_opts *opts, int listen_fd, struct errmsg *err)
{
        _cleanup_close_ int lfd = listen_fd;
        struct evloop *loop = NULL;
        struct reaper *reaper = NULL;
        struct ttrpc_server *server = NULL;
        struct shim_service s;
        int r;

        open_log_fifo();
        r = evloop_new(&loop);
        if (r < 0)
                return errmsg_set(err, r, "event loop: %s", strerror(-r));
        shim_service_init(&s, opts, loop, getenv("TTRPC_ADDRESS"));
        r = reaper_new(loop, shim_service_on_exit, on_terminate, &s, &reaper, err);
        if (r >= 0) {
                r = ttrpc_server_new(loop, TAKE_FD(lfd), shim_task_methods, &s, &server);
                if (r < 0)
                        (void) errmsg_set(err, r, "ttrpc server: %s", strerror(-r));
        }
        if (r >= 0) {
                log_debug("serving task %s in namespace %s", opts->id, opts->namespace);
                r = evloop_run(loop);
                if (r < 0)
                        (void) errmsg_set(err, r, "event loop: %s", strerror(-r));
        }
        server = ttrpc_server_free(server);
        shim_service_release(&s);
        reaper = reaper_free(reaper);
        loop = evloop_free(loop);
        remove_socket();
        return r;
}

/* fd of the listening socket the start command hands to the long-lived shim. */
#define INHERITED_LISTEN_FD 3

static int listen_fd(const struct shim_opts *o, int *ret_fd, struct errmsg *err)
{
        struct stat st;

        if (o->socket)
                return ttrpc_listen_unix(o->socket, ret_fd, err);
        if (fstat(INHERITED_LISTEN_FD, &st) < 0 || !S_ISSOCK(st.st_mode))
                return errmsg_set(err, -EBADF, "no listening socket on fd %d (and no -socket)",
                                  INHERITED_LISTEN_FD);
        /* inherited without O_CLOEXEC: the runtimes we run must not get it */
        if (fcntl(INHERITED_LISTEN_FD, F_SETFD, FD_CLOEXEC) < 0)
                return errmsg_set(err, -errno, "fd %d: %s", INHERITED_LISTEN_FD, strerror(errno));
        *ret_fd = INHERITED_LISTEN_FD;
        return 0;
}

int shim_serve_main(const struct shim_opts *o, struct errmsg *err)
{
        int fd, r;

        r = listen_fd(o, &fd, err);
        return r < 0 ? r : shim_serve(o, fd, err);
}
