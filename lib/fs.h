/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File-system helpers on dirfd + relative path. All fds returned are O_CLOEXEC and the
 * caller's. Errors are -errno; no helper logs.
 */
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include "common.h"

DEFINE_CLEANUP_FUNC(DIR, closedir)

/*
 * Reads the whole file at dirfd/path into a NUL-terminated buffer (the caller's). Fails
 * with -EFBIG when the file is larger than max_size bytes.
 */
int read_file_at(int dirfd, const char *path, size_t max_size, char **ret_text, size_t *ret_len);
/* Reads all of fd (up to max_size bytes) into a NUL-terminated buffer. */
int read_fd_all(int fd, size_t max_size, char **ret_text, size_t *ret_len);
/* Writes data to dirfd/path through a temporary name, fsync and rename (atomic replace). */
int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode);
/*
 * The same without fsync: readers never see a torn file, but a power loss may lose it. For
 * files on tmpfs (/run) that do not outlive a reboot anyway.
 */
int write_file_replace_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode);
/* Opens dirfd/path O_WRONLY (no create, no truncate) and writes s: for /proc and cgroupfs. */
int write_string_at(int dirfd, const char *path, const char *s);
/* Writes all of buf to fd, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);
/* Creates path and its missing parents relative to dirfd, each with mode. */
int mkdir_p_at(int dirfd, const char *path, mode_t mode);
/* Removes dirfd/path recursively, without following symlinks or crossing mounts. */
int rm_rf_at(int dirfd, const char *path);
/* Parses a decimal unsigned integer (no sign, no trailing garbage): -EINVAL or -ERANGE. */
int parse_uint64(const char *s, uint64_t *ret);
int parse_int64(const char *s, int64_t *ret);
