/* SPDX-License-Identifier: Apache-2.0 */
/* Stdio of container processes: FIFOs passed through, terminals relayed (see io.h). */
#include "shim/io.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>

#include "lib/fs.h"
#include "lib/xalloc.h"
#include "shim/relay.h"

struct process_io {
        bool terminal;
        int keep[3];    /* the shim's O_RDWR ends of FIFOs */
        int runtime[3]; /* the runtime's stdio until it has run */
        /* terminal only */
        int term_in, term_out; /* stdin FIFO reader, stdout writer, until the relays start */
        char *console_dir;
        char *console_path;
        int console_listen;
        int master;
        struct relay *out, *in;
};

static struct process_io *process_io_new(bool terminal)
{
        struct process_io *io = xnew0(struct process_io, 1);

        io->terminal = terminal;
        for (int i = 0; i < 3; i++)
                io->keep[i] = io->runtime[i] = -EBADF;
        io->term_in = io->term_out = io->console_listen = io->master = -EBADF;
        return io;
}

static void console_socket_remove(struct process_io *io)
{
        io->console_listen = safe_close(io->console_listen);
        if (io->console_path)
                (void) unlink(io->console_path);
        if (io->console_dir)
                (void) rmdir(io->console_dir);
        free(io->console_path);
        free(io->console_dir);
        io->console_path = io->console_dir = NULL;
}

struct process_io *process_io_free(struct process_io *io)
{
        if (!io)
                return NULL;
        io->out = relay_free(io->out);
        io->in = relay_free(io->in);
        for (int i = 0; i < 3; i++) {
                io->keep[i] = safe_close(io->keep[i]);
                io->runtime[i] = safe_close(io->runtime[i]);
        }
        io->term_in = safe_close(io->term_in);
        io->term_out = safe_close(io->term_out);
        io->master = safe_close(io->master);
        console_socket_remove(io);
        free(io);
        return NULL;
}

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int stdio_file_uri_path(const char *uri, char **ret, struct errmsg *err)
{
        const char *p = uri + strlen(STDIO_FILE_SCHEME), *end;
        _cleanup_free_ char *path = NULL;
        size_t n = 0;

        assert(strncmp(uri, STDIO_FILE_SCHEME, strlen(STDIO_FILE_SCHEME)) == 0);
        p += strcspn(p, "/?#"); /* the host, which Go's url.Parse keeps apart */
        end = p + strcspn(p, "?#");
        if (*p != '/')
                return errmsg_set(err, -EINVAL, "stdio %s: no absolute path", uri);
        path = xmalloc((size_t) (end - p) + 1);
        while (p < end) {
                if (*p != '%') {
                        path[n++] = *p++;
                        continue;
                }
                if (end - p < 3 || hex_digit(p[1]) < 0 || hex_digit(p[2]) < 0 ||
                    (p[1] == '0' && p[2] == '0'))
                        return errmsg_set(err, -EINVAL, "stdio %s: bad escape", uri);
                path[n++] = (char) (hex_digit(p[1]) * 16 + hex_digit(p[2]));
                p += 3;
        }
        path[n] = '\0';
        *ret = TAKE_PTR(path);
        return 0;
}

/*
 * A "file://" target, as containerd-shim-runc-v2 (pkg/process/io.go): its directory is
 * created (0755), the file opened for appending (0644). Reading one is allowed too.
 */
static int open_file_uri(const char *uri, int flags, int *ret_fd, struct errmsg *err)
{
        _cleanup_free_ char *path = NULL;
        char *slash;
        int fd, r;

        r = stdio_file_uri_path(uri, &path, err);
        if (r < 0)
                return r;
        if ((flags & O_ACCMODE) == O_RDONLY) {
                fd = open(path, O_RDONLY | O_CLOEXEC);
        } else {
                slash = strrchr(path, '/');
                *slash = '\0';
                r = slash == path ? 0 : mkdir_p_at(AT_FDCWD, path, 0755);
                *slash = '/';
                if (r < 0)
                        return errmsg_set(err, r, "stdio %s: create directory: %s", uri,
                                          strerror(-r));
                fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        }
        if (fd < 0)
                return errmsg_set(err, -errno, "open stdio %s: %s", path, strerror(errno));
        *ret_fd = fd;
        return 0;
}

/*
 * Opens one stdio target. FIFOs get the shim's O_RDWR end in *ret_keep first, so that the
 * open of the process's end (flags) returns at once. Plain paths that are no FIFO are files
 * to append to (or read).
 */
static int open_target(const char *path, int flags, int *ret_keep, int *ret_fd, struct errmsg *err)
{
        _cleanup_close_ int keep = -EBADF, fd = -EBADF;
        bool reading = (flags & O_ACCMODE) == O_RDONLY;
        struct stat st;

        *ret_keep = -EBADF;
        if (strncmp(path, STDIO_FILE_SCHEME, strlen(STDIO_FILE_SCHEME)) == 0)
                return open_file_uri(path, flags, ret_fd, err);
        if (strstr(path, "://"))
                return errmsg_set(err, -EOPNOTSUPP, "stdio %s: unsupported scheme", path);
        if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
                keep = open(path, O_RDWR | O_CLOEXEC);
                if (keep < 0)
                        return errmsg_set(err, -errno, "open fifo %s: %s", path, strerror(errno));
                fd = open(path, flags | O_CLOEXEC);
                if (fd < 0)
                        return errmsg_set(err, -errno, "open fifo %s: %s", path, strerror(errno));
                *ret_keep = TAKE_FD(keep);
                *ret_fd = TAKE_FD(fd);
                return 0;
        }
        fd = reading ? open(path, O_RDONLY | O_CLOEXEC)
                     : open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
                return errmsg_set(err, -errno, "open stdio %s: %s", path, strerror(errno));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int console_socket_listen(struct process_io *io, struct errmsg *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char dir[] = "/tmp/berth-shim-XXXXXX";
        _cleanup_close_ int fd = -EBADF;

        if (!mkdtemp(dir))
                return errmsg_set(err, -errno, "console socket dir: %s", strerror(errno));
        io->console_dir = xstrdup(dir);
        io->console_path = xasprintf("%s/pty.sock", dir);
        memcpy(sa.sun_path, io->console_path, strlen(io->console_path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return errmsg_set(err, -errno, "console socket: %s", strerror(errno));
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
                return errmsg_set(err, -errno, "console socket %s: %s", io->console_path,
                                  strerror(errno));
        io->console_listen = TAKE_FD(fd);
        return 0;
}

static int open_terminal(struct process_io *io, const struct stdio_paths *paths, struct errmsg *err)
{
        int r;

        if (paths->in[0]) {
                r = open_target(paths->in, O_RDONLY | O_NONBLOCK, &io->keep[0], &io->term_in, err);
                if (r < 0)
                        return r;
        }
        if (paths->out[0]) {
                r = open_target(paths->out, O_WRONLY | O_NONBLOCK, &io->keep[1], &io->term_out,
                                err);
                if (r < 0)
                        return r;
        }
        return console_socket_listen(io, err);
}

int process_io_open(const struct stdio_paths *paths, struct process_io **ret, struct errmsg *err)
{
        _cleanup_(process_io_freep) struct process_io *io = process_io_new(paths->terminal);
        const char *p[3] = {paths->in, paths->out, paths->err};
        int r;

        if (paths->terminal) {
                r = open_terminal(io, paths, err);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(io);
                return 0;
        }
        for (int i = 0; i < 3; i++) {
                if (!p[i][0])
                        continue;
                r = open_target(p[i], i == 0 ? O_RDONLY : O_WRONLY, &io->keep[i], &io->runtime[i],
                                err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(io);
        return 0;
}

const int *process_io_runtime_fds(const struct process_io *io)
{
        return io->runtime;
}

const char *process_io_console_socket(const struct process_io *io)
{
        return io->console_path;
}

/* Takes the pty master the runtime sent over the console socket. */
static int console_receive(struct process_io *io, int *ret_master, struct errmsg *err)
{
        char control[CMSG_SPACE(sizeof(int) * 4)] = {0}, name[256];
        struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control,
                             .msg_controllen = sizeof(control)};
        _cleanup_close_ int conn = -EBADF;
        int master = -EBADF;

        conn = accept4(io->console_listen, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0)
                return errmsg_set(err, -EPROTO, "console socket: the runtime did not connect");
        if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0)
                return errmsg_set(err, -errno, "console socket: %s", strerror(errno));
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                size_t n;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (master < 0)
                                master = fd;
                        else
                                (void) close(fd);
                }
        }
        if (master < 0)
                return errmsg_set(err, -EPROTO, "console socket: no pty master received");
        *ret_master = master;
        return 0;
}

static int start_relays(struct process_io *io, struct evloop *loop)
{
        int r, fd;

        if (io->term_out >= 0) {
                fd = fcntl(io->master, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
                r = relay_new(loop, fd, TAKE_FD(io->term_out), &io->out);
                if (r < 0)
                        return r;
        }
        if (io->term_in >= 0) {
                fd = fcntl(io->master, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
                r = relay_new(loop, TAKE_FD(io->term_in), fd, &io->in);
                if (r < 0)
                        return r;
        }
        return 0;
}

int process_io_runtime_done(struct process_io *io, struct evloop *loop, struct errmsg *err)
{
        int r;

        for (int i = 0; i < 3; i++)
                io->runtime[i] = safe_close(io->runtime[i]);
        if (!io->terminal)
                return 0;
        r = console_receive(io, &io->master, err);
        console_socket_remove(io);
        if (r < 0)
                return r;
        r = start_relays(io, loop);
        if (r < 0)
                return errmsg_set(err, r, "relay terminal: %s", strerror(-r));
        return 0;
}

int process_io_resize(struct process_io *io, unsigned width, unsigned height)
{
        struct winsize ws = {.ws_col = (unsigned short) width, .ws_row = (unsigned short) height};

        if (io->master < 0)
                return -ENOTTY;
        if (ioctl(io->master, TIOCSWINSZ, &ws) < 0)
                return -errno;
        return 0;
}

void process_io_close_stdin(struct process_io *io)
{
        io->keep[0] = safe_close(io->keep[0]);
}

void process_io_exited(struct process_io *io, int timeout_ms)
{
        if (io->out)
                relay_drain(io->out, timeout_ms);
        io->out = relay_free(io->out);
        io->in = relay_free(io->in);
        io->master = safe_close(io->master);
        for (int i = 0; i < 3; i++)
                io->keep[i] = safe_close(io->keep[i]);
}
