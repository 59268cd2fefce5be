/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A process's stdio FIFOs (io.h), made and removed as containerd 1.6's cio does for ctr
 * (cio/io_unix.go NewFIFOSetInDir, openFifos; container.go loadFifos). Our ends are
 * non-blocking: stdout and stderr are read when poll() says so (a FIFO opened for reading
 * with no writer yet reports nothing until one comes, and POLLHUP once the last one leaves);
 * stdin is opened read-write, which never blocks on a FIFO, and written with a buffer.
 */
#include "ctr/io.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/xalloc.h"

#define TEMP_DIR_TRIES 10000

static struct io_fifos *fifos_alloc(void)
{
        struct io_fifos *f = xnew0(struct io_fifos, 1);

        f->in_fd = f->out_fd = f->err_fd = -EBADF;
        return f;
}

void io_fifos_close(struct io_fifos *f)
{
        if (!f)
                return;
        f->in_fd = safe_close(f->in_fd);
        f->out_fd = safe_close(f->out_fd);
        f->err_fd = safe_close(f->err_fd);
}

struct io_fifos *io_fifos_free(struct io_fifos *f)
{
        if (!f)
                return NULL;
        io_fifos_close(f);
        free(f->dir);
        free(f->in);
        free(f->out);
        free(f->err);
        free(f);
        return NULL;
}

/* os.MkdirTemp(root, ""): a directory named by a random number. */
static int temp_dir(const char *root, char **ret, struct errmsg *err)
{
        for (int i = 0; i < TEMP_DIR_TRIES; i++) {
                uint32_t n = 0;
                char *dir;

                if (getrandom(&n, sizeof(n), 0) != sizeof(n))
                        n = (uint32_t) getpid() ^ (uint32_t) i;
                dir = xasprintf("%s/%u", root, n);
                if (mkdir(dir, 0700) == 0) {
                        *ret = dir;
                        return 0;
                }
                free(dir);
                if (errno != EEXIST)
                        return errmsg_set(err, -errno, "mkdir %s/...: %m", root);
        }
        return errmsg_set(err, -EEXIST, "mkdir %s/...: no free name", root);
}

static int make_fifo(const char *path, int flags, int *ret_fd, struct errmsg *err)
{
        int fd;

        if (mkfifo(path, 0700) < 0 && errno != EEXIST)
                return errmsg_set(err, -errno, "mkfifo %s: %m", path);
        fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(err, -errno, "open %s: %m", path);
        *ret_fd = fd;
        return 0;
}

int io_fifos_new(const char *root, const char *id, bool terminal, struct io_fifos **ret,
                 struct errmsg *err)
{
        _cleanup_(io_fifos_freep) struct io_fifos *f = fifos_alloc();
        int r;

        if (!root || !*root)
                root = CTR_DEFAULT_FIFO_DIR;
        r = mkdir_p_at(AT_FDCWD, root, 0700);
        if (r < 0)
                return errmsg_set(err, r, "mkdir %s: %s", root, strerror(-r));
        r = temp_dir(root, &f->dir, err);
        if (r < 0)
                return r;
        f->terminal = terminal;
        f->in = xasprintf("%s/%s-stdin", f->dir, id);
        f->out = xasprintf("%s/%s-stdout", f->dir, id);
        if (!terminal)
                f->err = xasprintf("%s/%s-stderr", f->dir, id);
        r = make_fifo(f->in, O_RDWR, &f->in_fd, err);
        if (r >= 0)
                r = make_fifo(f->out, O_RDONLY, &f->out_fd, err);
        if (r >= 0 && f->err)
                r = make_fifo(f->err, O_RDONLY, &f->err_fd, err);
        if (r < 0) {
                io_fifos_remove(f);
                return r;
        }
        *ret = TAKE_PTR(f);
        return 0;
}

static int open_existing(const char *path, int flags, char **ret_path, int *ret_fd,
                         struct errmsg *err)
{
        int fd;

        if (!path || !*path)
                return 0;
        fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(err, -errno, "open %s: %m", path);
        *ret_path = xstrdup(path);
        *ret_fd = fd;
        return 0;
}

int io_fifos_open(const char *in, const char *out, const char *errp, bool terminal,
                  struct io_fifos **ret, struct errmsg *err)
{
        _cleanup_(io_fifos_freep) struct io_fifos *f = fifos_alloc();
        int r;

        f->terminal = terminal;
        r = open_existing(in, O_RDWR, &f->in, &f->in_fd, err);
        if (r >= 0)
                r = open_existing(out, O_RDONLY, &f->out, &f->out_fd, err);
        if (r >= 0 && !terminal)
                r = open_existing(errp, O_RDONLY, &f->err, &f->err_fd, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

static bool is_fifo(const char *path)
{
        struct stat st;

        return path && *path && lstat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

void io_fifos_remove_paths(const char *in, const char *out, const char *errp)
{
        const char *paths[] = {in, out, errp};

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_free_ char *dir = NULL;
                char *slash;

                if (!is_fifo(paths[i]))
                        continue;
                (void) unlink(paths[i]);
                dir = xstrdup(paths[i]);
                slash = strrchr(dir, '/');
                if (slash && slash != dir) {
                        *slash = '\0';
                        (void) rmdir(dir); /* only when empty */
                }
        }
}

void io_fifos_remove(struct io_fifos *f)
{
        if (!f)
                return;
        io_fifos_close(f);
        io_fifos_remove_paths(f->in, f->out, f->err);
        if (f->dir)
                (void) rm_rf_at(AT_FDCWD, f->dir);
}
