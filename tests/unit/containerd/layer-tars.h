/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the layer tests: crafted layer tars built in memory with libarchive's writer
 * (then gzip- or zstd-compressed), a reader over memory, and a textual manifest of a tree
 * so that two trees compare with one string comparison. Everything aborts on failure: these
 * are test fixtures, not code under test.
 */
#pragma once

#include <sys/types.h>

#include "containerd/layer.h"

/* One tar entry; zero fields mean: regular file, mode 0644 (0755 for dirs), root, mtime T0. */
struct tar_spec {
        const char *name;
        mode_t type; /* S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO; 0: regular */
        mode_t perm;
        const char *content; /* regular files (with size: may hold NULs) */
        size_t size;         /* 0: strlen(content) */
        const char *target;  /* symlinks */
        const char *hardlink;
        unsigned uid, gid;
        int64_t mtime; /* 0: TAR_T0 */
        long mtime_nsec;
        unsigned rdev_major, rdev_minor;
        const char *xattr_name; /* one xattr, written as SCHILY.xattr */
        const char *xattr_value;
};

#define TAR_T0 1600000000 /* the default mtime */

struct tar_builder;

struct tar_builder *tar_builder_new(void);
void tar_add(struct tar_builder *b, const struct tar_spec *s);
/* Shorthands: a regular file with content, a directory, a symlink. */
void tar_add_file(struct tar_builder *b, const char *name, const char *content);
void tar_add_dir(struct tar_builder *b, const char *name);
void tar_add_symlink(struct tar_builder *b, const char *name, const char *target);
/* Ends the tar; *ret (the caller's) holds the uncompressed bytes. Frees b. */
void tar_builder_finish(struct tar_builder *b, char **ret, size_t *ret_len);

/* buf compressed as c (NONE copies), into *ret (the caller's). */
void tar_compress(const char *buf, size_t len, enum layer_compression c, char **ret,
                  size_t *ret_len);

/* A layer_read_fn over memory, handing out at most chunk bytes per call (0: any). */
struct mem_reader {
        const char *buf;
        size_t len, pos, chunk;
};
ssize_t mem_read(void *userdata, void *buf, size_t size);

/* layer_apply_from() over memory. */
int apply_buf(int root_fd, const char *buf, size_t len, enum layer_whiteouts w,
              struct layer_apply_result *ret, struct errmsg *err);

/*
 * One line per entry below dfd, sorted: path, type, mode, owner, size, mtime (not for
 * directories, which applying touches), content digest or symlink target or device numbers,
 * link count, and the xattrs (trusted.overlay.* left out). The caller's.
 */
char *tree_manifest(int dfd);

/* Entries of a tar (any compression) as "name type[ -> link]" lines, in tar order. */
char *tar_listing(const char *buf, size_t len);

/* A fresh directory under /tmp (path into buf) and an O_PATH-less fd on it. */
int make_temp_dir(char buf[64]);
