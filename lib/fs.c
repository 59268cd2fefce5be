/* SPDX-License-Identifier: Apache-2.0 */
/* File-system helpers on dirfd + relative path (see fs.h). */
#include "fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "xalloc.h"

int read_fd_all(int fd, size_t max_size, char **ret_text, size_t *ret_len)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, alloc = 0;

        for (;;) {
                ssize_t n;

                buf = xgrow(buf, &alloc, len + 4097, 1);
                n = read(fd, buf + len, alloc - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max_size)
                        return -EFBIG;
        }
        buf[len] = '\0';
        *ret_text = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int read_file_at(int dirfd, const char *path, size_t max_size, char **ret_text, size_t *ret_len)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return -errno;
        return read_fd_all(fd, max_size, ret_text, ret_len);
}

int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static int write_via_rename(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
                            bool sync)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp-%d", path, (int) getpid());
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r >= 0 && sync && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dirfd, tmp, dirfd, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dirfd, tmp, 0);
        return r;
}

int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode)
{
        return write_via_rename(dirfd, path, data, len, mode, true);
}

int write_file_replace_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode)
{
        return write_via_rename(dirfd, path, data, len, mode, false);
}

int write_string_at(int dirfd, const char *path, const char *s)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        ssize_t n;

        if (fd < 0)
                return -errno;
        /* cgroupfs and procfs take one write per value; a short write is an error. */
        n = write(fd, s, strlen(s));
        if (n < 0)
                return -errno;
        if ((size_t) n != strlen(s))
                return -EIO;
        return 0;
}

int mkdir_p_at(int dirfd, const char *path, mode_t mode)
{
        _cleanup_free_ char *copy = xstrdup(path);

        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdirat(dirfd, copy, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdirat(dirfd, copy, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int rm_rf_children(int fd, dev_t dev)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                struct stat st;

                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        int cfd;

                        if (st.st_dev != dev)
                                continue; /* never cross into a mount */
                        cfd = openat(dirfd(d), de->d_name,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd >= 0)
                                (void) rm_rf_children(cfd, dev);
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && r == 0)
                                r = -errno;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && r == 0) {
                        r = -errno;
                }
        }
        return r;
}

int rm_rf_at(int dirfd, const char *path)
{
        struct stat st;
        int fd, r;

        if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dirfd, path, 0) < 0 ? -errno : 0;
        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = rm_rf_children(fd, st.st_dev);
        if (unlinkat(dirfd, path, AT_REMOVEDIR) < 0 && r == 0)
                r = -errno;
        return r;
}

int parse_uint64(const char *s, uint64_t *ret)
{
        unsigned long long v;
        char *end;

        if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_int64(const char *s, int64_t *ret)
{
        long long v;
        char *end;

        if (!s || !*s || *s == ' ')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}
