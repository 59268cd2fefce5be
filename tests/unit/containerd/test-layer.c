/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for containerd/layer-*.c: applying crafted layer tars (every entry type,
 * metadata, overwrites, whiteouts in both modes with a real overlay mount, escapes, corrupt
 * streams, the three compressions) and writing diffs of overlay upper dirs and of two trees.
 * They run as root and work in temporary directories under /tmp.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "containerd/layer.h"
#include "lib/digest.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "tests/unit/containerd/layer-tars.h"
#include "tests/unit/unit.h"

static char *read_text(int dfd, const char *path)
{
        char *text = NULL;

        assert_int_equal(read_file_at(dfd, path, 64u << 20, &text, NULL), 0);
        return text;
}

static void assert_file(int dfd, const char *path, const char *content)
{
        _cleanup_free_ char *text = read_text(dfd, path);

        assert_string_equal(text, content);
}

static void assert_missing(int dfd, const char *path)
{
        struct stat st;

        assert_int_equal(fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(errno, ENOENT);
}

static struct stat lstat_at(int dfd, const char *path)
{
        struct stat st;

        assert_int_equal(fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
        return st;
}

static int open_dir_at(int dfd, const char *path)
{
        int fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        return fd;
}

/* Applies the tar built in b (freed) under root_fd and expects success. */
static void apply_ok(int root_fd, struct tar_builder *b, enum layer_whiteouts w)
{
        struct layer_apply_result res;
        struct errmsg err = {0};
        _cleanup_free_ char *buf = NULL;
        size_t len;

        tar_builder_finish(b, &buf, &len);
        if (apply_buf(root_fd, buf, len, w, &res, &err) < 0)
                fail_msg("apply: %s", err.msg);
}

/* Applies the tar built in b (freed) and expects the error message msg. */
static void apply_fails(int root_fd, struct tar_builder *b, enum layer_whiteouts w, const char *msg)
{
        struct layer_apply_result res = {.n_entries = 4242};
        struct errmsg err = {0};
        _cleanup_free_ char *buf = NULL;
        size_t len;

        tar_builder_finish(b, &buf, &len);
        assert_int_equal(apply_buf(root_fd, buf, len, w, &res, &err), -EINVAL);
        assert_int_equal(err.code, -EINVAL);
        assert_string_equal(err.msg, msg);
        assert_int_equal(res.n_entries, 4242); /* untouched */
}

static void test_whiteouts_names(void **state)
{
        (void) state;
        assert_string_equal(layer_whiteouts_to_string(LAYER_WHITEOUTS_APPLY), "apply");
        assert_int_equal(layer_whiteouts_from_string("overlay"), LAYER_WHITEOUTS_OVERLAY);
        assert_int_equal(layer_whiteouts_from_string("aufs"), -EINVAL);
        assert_null(layer_whiteouts_to_string(_LAYER_WHITEOUTS_MAX));
}

static void build_every_type(struct tar_builder *b)
{
        tar_add(b, &(struct tar_spec){.name = "./etc/",
                                      .type = S_IFDIR,
                                      .perm = 02775,
                                      .uid = 10,
                                      .gid = 20,
                                      .mtime = 1500000000,
                                      .xattr_name = "user.dir",
                                      .xattr_value = "d"});
        tar_add(b, &(struct tar_spec){.name = "./etc/passwd",
                                      .content = "root:x:0:0\n",
                                      .perm = 0640,
                                      .uid = 1000,
                                      .gid = 1001,
                                      .mtime = 1400000000,
                                      .mtime_nsec = 123456789,
                                      .xattr_name = "user.k",
                                      .xattr_value = "v"});
        tar_add(b, &(struct tar_spec){.name = "bin/su", .content = "elf", .perm = 04755});
        tar_add(b, &(struct tar_spec){.name = "tmp/", .type = S_IFDIR, .perm = 01777});
        tar_add(b, &(struct tar_spec){.name = "etc/link",
                                      .type = S_IFLNK,
                                      .target = "passwd",
                                      .perm = 0777,
                                      .uid = 7,
                                      .gid = 8,
                                      .mtime = 1300000000,
                                      .xattr_name = "trusted.sym",
                                      .xattr_value = "s"});
        tar_add(b, &(struct tar_spec){.name = "etc/hard",
                                      .hardlink = "./etc/passwd",
                                      .perm = 0640,
                                      .uid = 1000,
                                      .gid = 1001,
                                      .mtime = 1400000000,
                                      .mtime_nsec = 123456789});
        tar_add(b, &(struct tar_spec){.name = "dev/null",
                                      .type = S_IFCHR,
                                      .perm = 0666,
                                      .rdev_major = 1,
                                      .rdev_minor = 3,
                                      .xattr_name = "trusted.dev",
                                      .xattr_value = "c"});
        tar_add(b, &(struct tar_spec){.name = "dev/loop0",
                                      .type = S_IFBLK,
                                      .perm = 0660,
                                      .rdev_major = 7,
                                      .rdev_minor = 0});
        /* user.* xattrs exist on files and dirs only: skipped, as containerd does */
        tar_add(b, &(struct tar_spec){.name = "run//fifo",
                                      .type = S_IFIFO,
                                      .perm = 0600,
                                      .xattr_name = "user.f",
                                      .xattr_value = "f"});
        tar_add(b, &(struct tar_spec){.name = "etc/over",
                                      .content = "x",
                                      .xattr_name = "trusted.overlay.opaque",
                                      .xattr_value = "y"});
}

static void check_every_type_xattrs(const char *root_path)
{
        _cleanup_free_ char *etc = xasprintf("%s/etc", root_path);
        _cleanup_free_ char *passwd = xasprintf("%s/etc/passwd", root_path);
        _cleanup_free_ char *link = xasprintf("%s/etc/link", root_path);
        _cleanup_free_ char *dev = xasprintf("%s/dev/null", root_path);
        _cleanup_free_ char *fifo = xasprintf("%s/run/fifo", root_path);
        _cleanup_free_ char *over = xasprintf("%s/etc/over", root_path);
        char value[16];

        assert_int_equal(lgetxattr(etc, "user.dir", value, sizeof(value)), 1);
        assert_int_equal(lgetxattr(passwd, "user.k", value, sizeof(value)), 1);
        assert_int_equal(value[0], 'v');
        assert_int_equal(lgetxattr(link, "trusted.sym", value, sizeof(value)), 1);
        assert_int_equal(lgetxattr(passwd, "trusted.sym", value, sizeof(value)), -1);
        assert_int_equal(lgetxattr(dev, "trusted.dev", value, sizeof(value)), 1);
        assert_int_equal(lgetxattr(fifo, "user.f", value, sizeof(value)), -1);
        /* overlay's xattrs never come from a tar */
        assert_int_equal(lgetxattr(over, "trusted.overlay.opaque", value, sizeof(value)), -1);
        assert_int_equal(errno, ENODATA);
}

static void test_apply_every_type(void **state)
{
        struct tar_builder *b = tar_builder_new();
        _cleanup_close_ int root = -EBADF;
        mode_t old_umask;
        char path[64];
        struct stat st;

        (void) state;
        root = make_temp_dir(path);
        build_every_type(b);
        /* modes come from the tar, whatever the umask */
        old_umask = umask(077);
        apply_ok(root, b, LAYER_WHITEOUTS_APPLY);
        umask(old_umask);

        st = lstat_at(root, "etc");
        assert_int_equal(st.st_mode, S_IFDIR | 02775);
        assert_int_equal(st.st_uid, 10);
        assert_int_equal(st.st_gid, 20);
        /* set after its children were written */
        assert_int_equal(st.st_mtim.tv_sec, 1500000000);
        assert_file(root, "etc/passwd", "root:x:0:0\n");
        st = lstat_at(root, "etc/passwd");
        assert_int_equal(st.st_mode, S_IFREG | 0640);
        assert_int_equal(st.st_uid, 1000);
        assert_int_equal(st.st_gid, 1001);
        assert_int_equal(st.st_mtim.tv_sec, 1400000000);
        assert_int_equal(st.st_mtim.tv_nsec, 123456789);
        assert_int_equal(st.st_nlink, 2);
        assert_int_equal(lstat_at(root, "etc/hard").st_ino, st.st_ino);
        assert_int_equal(lstat_at(root, "bin/su").st_mode, S_IFREG | 04755);
        assert_int_equal(lstat_at(root, "bin").st_mode, S_IFDIR | 0755); /* implicit parent */
        assert_int_equal(lstat_at(root, "tmp").st_mode, S_IFDIR | 01777);
        st = lstat_at(root, "etc/link");
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(st.st_uid, 7);
        assert_int_equal(st.st_mtim.tv_sec, 1300000000);
        st = lstat_at(root, "dev/null");
        assert_int_equal(st.st_mode, S_IFCHR | 0666);
        assert_int_equal(st.st_rdev, makedev(1, 3));
        st = lstat_at(root, "dev/loop0");
        assert_int_equal(st.st_mode, S_IFBLK | 0660);
        assert_int_equal(st.st_rdev, makedev(7, 0));
        assert_int_equal(lstat_at(root, "run/fifo").st_mode, S_IFIFO | 0600);
        check_every_type_xattrs(path);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_apply_overwrites(void **state)
{
        struct tar_builder *b = tar_builder_new();
        _cleanup_close_ int root = -EBADF, outside = -EBADF;
        char path[64], opath[64];

        (void) state;
        root = make_temp_dir(path);
        outside = make_temp_dir(opath);
        assert_int_equal(write_file_atomic_at(outside, "target", "outside", 7, 0644), 0);
        assert_int_equal(write_file_atomic_at(root, "file2dir", "f", 1, 0644), 0);
        assert_int_equal(mkdir_p_at(root, "dir2file/deep/er", 0755), 0);
        assert_int_equal(write_file_atomic_at(root, "dir2file/deep/er/x", "x", 1, 0644), 0);
        assert_int_equal(mkdir_p_at(root, "merge", 0700), 0);
        assert_int_equal(write_file_atomic_at(root, "merge/old", "old", 3, 0644), 0);
        assert_int_equal(write_file_atomic_at(root, "replace", "before", 6, 0644), 0);
        _cleanup_free_ char *target = xasprintf("%s/target", opath);
        assert_int_equal(symlinkat(target, root, "through"), 0);

        tar_add_dir(b, "file2dir/");
        tar_add_file(b, "file2dir/inner", "in");
        tar_add_file(b, "dir2file", "now a file");
        tar_add(b, &(struct tar_spec){.name = "merge", .type = S_IFDIR, .perm = 0711});
        tar_add_file(b, "merge/new", "new");
        tar_add_file(b, "replace", "after");
        tar_add_file(b, "through", "not followed");
        apply_ok(root, b, LAYER_WHITEOUTS_APPLY);

        assert_file(root, "file2dir/inner", "in");
        assert_file(root, "dir2file", "now a file");
        assert_int_equal(lstat_at(root, "merge").st_mode, S_IFDIR | 0711);
        assert_file(root, "merge/old", "old");
        assert_file(root, "merge/new", "new");
        assert_file(root, "replace", "after");
        assert_true(S_ISREG(lstat_at(root, "through").st_mode));
        assert_file(root, "through", "not followed");
        assert_file(outside, "target", "outside");
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
        assert_int_equal(rm_rf_at(AT_FDCWD, opath), 0);
}

/* Mounts lower + upper at merged; false (with a message) when the kernel refuses. */
static bool mount_overlay(const char *base, const char *lower, const char *upper)
{
        _cleanup_free_ char *work = xasprintf("%s/work", base), *merged = NULL, *opts = NULL;

        merged = xasprintf("%s/merged", base);
        opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
        assert_int_equal(mkdir(work, 0700), 0);
        assert_int_equal(mkdir(merged, 0755), 0);
        if (mount("overlay", merged, "overlay", 0, opts) < 0) {
                print_message("skipping the overlay mount check: mount overlay: %s\n",
                              strerror(errno));
                return false;
        }
        return true;
}

static void umount_overlay(const char *base)
{
        _cleanup_free_ char *merged = xasprintf("%s/merged", base);

        assert_int_equal(umount2(merged, MNT_DETACH), 0);
}

static void test_whiteouts_overlay(void **state)
{
        _cleanup_close_ int base = -EBADF, lower = -EBADF, upper = -EBADF, merged = -EBADF;
        struct tar_builder *b = tar_builder_new();
        char path[64], value[4];
        struct stat st;

        (void) state;
        base = make_temp_dir(path);
        assert_int_equal(mkdir_p_at(base, "lower/opq/sub", 0755), 0);
        assert_int_equal(mkdir_p_at(base, "lower/dir/gone", 0755), 0);
        assert_int_equal(mkdir_p_at(base, "upper", 0755), 0);
        lower = open_dir_at(base, "lower");
        upper = open_dir_at(base, "upper");
        assert_int_equal(write_file_atomic_at(lower, "dir/file", "f", 1, 0644), 0);
        assert_int_equal(write_file_atomic_at(lower, "dir/kept", "k", 1, 0644), 0);
        assert_int_equal(write_file_atomic_at(lower, "opq/old", "o", 1, 0644), 0);

        tar_add_dir(b, "dir/");
        tar_add(b, &(struct tar_spec){.name = "dir/.wh.file", .uid = 5, .gid = 6});
        tar_add_file(b, "dir/.wh.gone", "");
        tar_add_dir(b, "opq/");
        tar_add_file(b, "opq/.wh..wh..opq", "");
        tar_add_file(b, "opq/new", "n");
        tar_add_file(b, ".wh..wh..plnk", "");
        apply_ok(upper, b, LAYER_WHITEOUTS_OVERLAY);

        st = lstat_at(upper, "dir/file");
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        assert_int_equal(st.st_uid, 5);
        assert_int_equal(st.st_gid, 6);
        assert_true(S_ISCHR(lstat_at(upper, "dir/gone").st_mode));
        _cleanup_close_ int opq = open_dir_at(upper, "opq");
        assert_int_equal(fgetxattr(opq, "trusted.overlay.opaque", value, sizeof(value)), 1);
        assert_int_equal(value[0], 'y');
        assert_missing(upper, ".wh..wh..plnk");
        assert_missing(upper, "opq/.wh..wh..opq");

        _cleanup_free_ char *lp = xasprintf("%s/lower", path), *up = xasprintf("%s/upper", path);
        if (mount_overlay(path, lp, up)) {
                merged = open_dir_at(base, "merged");
                assert_missing(merged, "dir/file");
                assert_missing(merged, "dir/gone");
                assert_file(merged, "dir/kept", "k");
                assert_missing(merged, "opq/old");
                assert_missing(merged, "opq/sub");
                assert_file(merged, "opq/new", "n");
                merged = safe_close(merged);
                umount_overlay(path);
        }
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_whiteouts_apply(void **state)
{
        struct tar_builder *b = tar_builder_new();
        _cleanup_close_ int root = -EBADF;
        char path[64];

        (void) state;
        root = make_temp_dir(path);
        assert_int_equal(mkdir_p_at(root, "dir/gone/deep", 0755), 0);
        assert_int_equal(mkdir_p_at(root, "opq1/sub/keep", 0755), 0);
        assert_int_equal(mkdir_p_at(root, "opq2/old", 0755), 0);
        assert_int_equal(write_file_atomic_at(root, "dir/file", "f", 1, 0644), 0);
        assert_int_equal(write_file_atomic_at(root, "dir/kept", "k", 1, 0644), 0);
        assert_int_equal(write_file_atomic_at(root, "opq1/old", "o", 1, 0644), 0);
        assert_int_equal(write_file_atomic_at(root, "opq1/sub/old", "o", 1, 0644), 0);
        assert_int_equal(write_file_atomic_at(root, "opq2/old/x", "o", 1, 0644), 0);

        tar_add_file(b, "dir/.wh.file", "");
        tar_add_file(b, "dir/.wh.gone", "");
        tar_add_file(b, "dir/.wh.never-there", "");
        tar_add_file(b, "nodir/.wh.x", "");
        /* the marker after the layer's own entries of the dir: those stay */
        tar_add_file(b, "opq1/new", "n");
        tar_add_file(b, "opq1/sub/keep/new", "n");
        tar_add_file(b, "opq1/.wh..wh..opq", "");
        /* the marker first */
        tar_add_file(b, "opq2/.wh..wh..opq", "");
        tar_add_file(b, "opq2/new", "n");
        apply_ok(root, b, LAYER_WHITEOUTS_APPLY);

        assert_missing(root, "dir/file");
        assert_missing(root, "dir/gone");
        assert_file(root, "dir/kept", "k");
        assert_missing(root, "nodir");
        assert_missing(root, "opq1/old");
        assert_missing(root, "opq1/sub/old");
        assert_file(root, "opq1/new", "n");
        assert_file(root, "opq1/sub/keep/new", "n");
        assert_missing(root, "opq2/old");
        assert_file(root, "opq2/new", "n");
        assert_missing(root, "dir/.wh.file");
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_diff_id_every_compression(void **state)
{
        struct tar_builder *b = tar_builder_new();
        _cleanup_free_ char *raw = NULL, *big = xmalloc(3u << 20);
        size_t raw_len;

        (void) state;
        /* a file bigger than the reader's blocks, compressible but not trivially */
        for (size_t i = 0; i < (3u << 20); i++)
                big[i] = (char) ('a' + (i * 7919 + i / 4099) % 23);
        tar_add_dir(b, "data/");
        tar_add(b, &(struct tar_spec){.name = "data/big", .content = big, .size = 3u << 20});
        tar_add_file(b, "data/small", "small");
        tar_builder_finish(b, &raw, &raw_len);
        /* bytes past the end blocks count too */
        raw = xrealloc(raw, raw_len + 700);
        memset(raw + raw_len, 0, 700);
        raw_len += 700;

        for (int c = 0; c < _LAYER_COMPRESSION_MAX; c++) {
                _cleanup_free_ char *z = NULL;
                _cleanup_close_ int root = -EBADF;
                struct layer_apply_result res;
                struct errmsg err = {0};
                char path[64], expected[DIGEST_STR_MAX];
                char big_digest[DIGEST_STR_MAX], got_digest[DIGEST_STR_MAX];
                _cleanup_free_ char *got = NULL;
                size_t z_len, got_len;

                root = make_temp_dir(path);
                tar_compress(raw, raw_len, c, &z, &z_len);
                if (apply_buf(root, z, z_len, LAYER_WHITEOUTS_APPLY, &res, &err) < 0)
                        fail_msg("%s: %s", layer_compression_to_string(c), err.msg);
                digest_bytes(raw, raw_len, expected);
                assert_string_equal(res.diff_id, expected);
                assert_int_equal(res.tar_size, raw_len);
                assert_int_equal(res.n_entries, 3);
                assert_int_equal(read_file_at(root, "data/big", 8u << 20, &got, &got_len), 0);
                assert_int_equal(got_len, 3u << 20);
                digest_bytes(big, 3u << 20, big_digest);
                digest_bytes(got, got_len, got_digest);
                assert_string_equal(got_digest, big_digest);
                assert_file(root, "data/small", "small");
                assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
        }
}

static void test_apply_from_fd_and_empty(void **state)
{
        struct tar_builder *b = tar_builder_new();
        _cleanup_close_ int root = -EBADF;
        _cleanup_free_ char *raw = NULL;
        struct layer_apply_result res;
        struct errmsg err = {0};
        char path[64], empty_digest[DIGEST_STR_MAX];
        size_t raw_len;
        int fds[2];

        (void) state;
        root = make_temp_dir(path);
        tar_add_file(b, "via-pipe", "p");
        tar_builder_finish(b, &raw, &raw_len);
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        assert_int_equal(write_all(fds[1], raw, raw_len), 0);
        fds[1] = safe_close(fds[1]);
        assert_int_equal(layer_apply(root, fds[0], NULL, &res, &err), 0);
        fds[0] = safe_close(fds[0]);
        assert_file(root, "via-pipe", "p");
        assert_int_equal(res.tar_size, raw_len);

        /* an empty stream is an empty layer */
        assert_int_equal(apply_buf(root, "", 0, LAYER_WHITEOUTS_APPLY, &res, &err), 0);
        digest_bytes("", 0, empty_digest);
        assert_string_equal(res.diff_id, empty_digest);
        assert_int_equal(res.n_entries, 0);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_apply_limits_entries(void **state)
{
        struct tar_builder *b = tar_builder_new();
        struct layer_apply_opts o = {.whiteouts = LAYER_WHITEOUTS_APPLY, .max_entries = 2};
        _cleanup_close_ int root = -EBADF;
        _cleanup_free_ char *raw = NULL;
        struct layer_apply_result res;
        struct errmsg err = {0};
        struct mem_reader m;
        char path[64];
        size_t len;

        (void) state;
        root = make_temp_dir(path);
        tar_add_file(b, "a", "");
        tar_add_file(b, "b", "");
        tar_add_file(b, "c", "");
        tar_builder_finish(b, &raw, &len);
        m = (struct mem_reader){.buf = raw, .len = len};
        assert_int_equal(layer_apply_from(root, mem_read, &m, &o, &res, &err), -EINVAL);
        assert_string_equal(err.msg, "layer: more than 2 entries");
        o.whiteouts = _LAYER_WHITEOUTS_MAX;
        assert_int_equal(layer_apply_from(root, mem_read, &m, &o, &res, &err), -EINVAL);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_apply_sparse_entry(void **state)
{
        struct archive *ar = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        _cleanup_close_ int root = -EBADF;
        _cleanup_free_ char *got = NULL;
        struct layer_apply_result res;
        struct errmsg err = {0};
        _cleanup_free_ char *data = xcalloc(1, 1u << 20);
        char buf[1u << 16], path[64];
        size_t used = 0, got_len;

        (void) state;
        root = make_temp_dir(path);
        assert_int_equal(archive_write_set_format_pax(ar), ARCHIVE_OK);
        assert_int_equal(archive_write_open_memory(ar, buf, sizeof(buf), &used), ARCHIVE_OK);
        archive_entry_copy_pathname(e, "sparse");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, 1u << 20);
        archive_entry_sparse_add_entry(e, 512u << 10, 4096);
        assert_int_equal(archive_write_header(ar, e), ARCHIVE_OK);
        /* libarchive's writer takes the whole file and leaves the holes out */
        memset(data + (512u << 10), 'S', 4096);
        assert_int_equal(archive_write_data(ar, data, 1u << 20), 1u << 20);
        assert_int_equal(archive_write_close(ar), ARCHIVE_OK);
        archive_write_free(ar);
        archive_entry_free(e);

        if (apply_buf(root, buf, used, LAYER_WHITEOUTS_APPLY, &res, &err) < 0)
                fail_msg("apply: %s", err.msg);
        assert_int_equal(read_file_at(root, "sparse", 2u << 20, &got, &got_len), 0);
        assert_int_equal(got_len, 1u << 20);
        assert_int_equal(got[0], 0);
        assert_int_equal(got[(512u << 10) - 1], 0);
        assert_int_equal(got[512u << 10], 'S');
        assert_int_equal(got[(512u << 10) + 4095], 'S');
        assert_int_equal(got[(512u << 10) + 4096], 0);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

/*
 * A root next to a sentinel directory: the tar of specs must fail with msg and leave the
 * sentinel and the base directory as they were.
 */
static void check_escape(enum layer_whiteouts w, const char *msg, const struct tar_spec *specs,
                         size_t n_specs)
{
        _cleanup_close_ int base = -EBADF, root = -EBADF, outside = -EBADF;
        struct tar_builder *b = tar_builder_new();
        _cleanup_free_ char *listing = NULL;
        char path[64];

        base = make_temp_dir(path);
        assert_int_equal(mkdir_p_at(base, "root", 0755), 0);
        assert_int_equal(mkdir_p_at(base, "outside", 0755), 0);
        root = open_dir_at(base, "root");
        outside = open_dir_at(base, "outside");
        assert_int_equal(write_file_atomic_at(outside, "sentinel", "keep", 4, 0644), 0);
        for (size_t i = 0; i < n_specs; i++)
                tar_add(b, &specs[i]);
        apply_fails(root, b, w, msg);
        assert_file(outside, "sentinel", "keep");
        listing = tree_manifest(outside);
        assert_int_equal(strchr(listing, '\n') - listing + 1, (ptrdiff_t) strlen(listing));
        assert_missing(base, "escape");
        assert_missing(base, "pwned");
        assert_missing(outside, "pwned");
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

#define SPECS(...) \
        (const struct tar_spec[]){__VA_ARGS__}, ELEMENTSOF(((const struct tar_spec[]){__VA_ARGS__}))
#define FILE_(n)                                \
        {                                       \
                .name = (n), .content = "pwned" \
        }
#define LINK_(n, t)                                         \
        {                                                   \
                .name = (n), .type = S_IFLNK, .target = (t) \
        }
#define HARD_(n, t)                          \
        {                                    \
                .name = (n), .hardlink = (t) \
        }

static void test_escapes_are_refused(void **state)
{
        const enum layer_whiteouts A = LAYER_WHITEOUTS_APPLY, O = LAYER_WHITEOUTS_OVERLAY;

        (void) state;
        check_escape(A, "layer entry \"../escape\": path leaves the layer root",
                     SPECS(FILE_("../escape")));
        check_escape(A, "layer entry \"a/../../escape\": path leaves the layer root",
                     SPECS(FILE_("a/../../escape")));
        check_escape(A, "layer entry \"/abs\": absolute path not allowed", SPECS(FILE_("/abs")));
        check_escape(A, "layer entry \"evil/pwned\": symlink \"evil\" leads outside the layer root",
                     SPECS(LINK_("evil", "../outside"), FILE_("evil/pwned")));
        check_escape(O,
                     "layer entry \"evil/x/pwned\": symlink \"evil\" leads outside the layer root",
                     SPECS(LINK_("evil", "../../../../../../.."), FILE_("evil/x/pwned")));
        check_escape(
                A,
                "layer entry \"d/up/outside/pwned\": symlink \"d/up\" leads outside the layer root",
                SPECS({.name = "d", .type = S_IFDIR}, LINK_("d/up", "../.."),
                      FILE_("d/up/outside/pwned")));
        check_escape(A, "layer entry \"a/pwned\": symlink \"b\" leads outside the layer root",
                     SPECS(LINK_("a", "b"), LINK_("b", "../outside"), FILE_("a/pwned")));
        check_escape(
                A,
                "layer entry \"h\": hardlink target \"../outside/sentinel\": path leaves the layer root",
                SPECS(HARD_("h", "../outside/sentinel")));
        check_escape(
                A,
                "layer entry \"h\": hardlink target \"evil/sentinel\": symlink \"evil\" leads outside the layer root",
                SPECS(LINK_("evil", "../outside"), HARD_("h", "evil/sentinel")));
        check_escape(A, "layer entry \"h\": hardlink target \"missing\" does not exist",
                     SPECS(HARD_("h", "missing")));
        check_escape(A, "layer entry \"h\": hardlink target \"d\" is a directory",
                     SPECS({.name = "d", .type = S_IFDIR}, HARD_("h", "d")));
        check_escape(
                A,
                "layer entry \"evil/.wh.sentinel\": symlink \"evil\" leads outside the layer root",
                SPECS(LINK_("evil", "../outside"), FILE_("evil/.wh.sentinel")));
        check_escape(
                O,
                "layer entry \"evil/.wh.sentinel\": symlink \"evil\" leads outside the layer root",
                SPECS(LINK_("evil", "../outside"), FILE_("evil/.wh.sentinel")));
        check_escape(
                A,
                "layer entry \"evil/.wh..wh..opq\": symlink \"evil\" leads outside the layer root",
                SPECS(LINK_("evil", "../outside"), FILE_("evil/.wh..wh..opq")));
        check_escape(A, "layer entry \".wh...\": invalid whiteout name", SPECS(FILE_(".wh...")));
        check_escape(A, "layer entry \"f/x\": parent \"f\" is not a directory",
                     SPECS(FILE_("f"), FILE_("f/x")));
}

/* Absolute symlinks resolve against the layer root, as in a chroot (see layer.h). */
static void test_absolute_symlinks_stay_inside(void **state)
{
        _cleanup_close_ int base = -EBADF, root = -EBADF, outside = -EBADF;
        struct tar_builder *b = tar_builder_new();
        _cleanup_free_ char *abs = NULL, *inside = NULL;
        char path[64];

        (void) state;
        base = make_temp_dir(path);
        assert_int_equal(mkdir_p_at(base, "root", 0755), 0);
        assert_int_equal(mkdir_p_at(base, "outside", 0755), 0);
        root = open_dir_at(base, "root");
        outside = open_dir_at(base, "outside");
        abs = xasprintf("%s/outside", path);
        tar_add_symlink(b, "abs", abs);
        tar_add_file(b, "abs/new", "inside");
        tar_add_symlink(b, "etc", "/");
        tar_add_file(b, "etc/top", "top");
        tar_add_symlink(b, "var/run", "/run");
        tar_add_file(b, "var/run/foo", "run");
        apply_ok(root, b, LAYER_WHITEOUTS_APPLY);

        inside = xasprintf("%s/new", abs + 1);
        assert_file(root, inside, "inside");
        assert_missing(outside, "new");
        assert_file(root, "top", "top");
        assert_file(root, "run/foo", "run");
        assert_true(S_ISLNK(lstat_at(root, "var/run").st_mode));
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_usrmerge_and_relative_symlinks(void **state)
{
        struct tar_builder *b = tar_builder_new();
        _cleanup_close_ int root = -EBADF;
        char path[64];

        (void) state;
        root = make_temp_dir(path);
        tar_add_dir(b, "usr/");
        tar_add_dir(b, "usr/lib/");
        tar_add_symlink(b, "lib", "usr/lib");
        tar_add_file(b, "lib/libc.so", "libc");
        tar_add_dir(b, "a/");
        tar_add_symlink(b, "a/b", "../c");
        tar_add_file(b, "a/b/f", "via ..");
        tar_add_symlink(b, "lib/dots", "./../../usr/./lib");
        tar_add_file(b, "lib/dots/g", "dots");
        apply_ok(root, b, LAYER_WHITEOUTS_OVERLAY);

        assert_true(S_ISLNK(lstat_at(root, "lib").st_mode));
        assert_file(root, "usr/lib/libc.so", "libc");
        assert_file(root, "c/f", "via ..");
        assert_file(root, "usr/lib/g", "dots");
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);

        b = tar_builder_new();
        root = safe_close(root);
        root = make_temp_dir(path);
        tar_add_symlink(b, "loop1", "loop2");
        tar_add_symlink(b, "loop2", "loop1");
        tar_add_file(b, "loop1/x", "x");
        apply_fails(root, b, LAYER_WHITEOUTS_APPLY,
                    "layer entry \"loop1/x\": too many levels of symlinks at \"loop1\"");
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

/* Applies len bytes of buf and expects a failure whose message contains what. */
static void check_corrupt(const char *buf, size_t len, const char *what)
{
        _cleanup_close_ int root = -EBADF;
        struct layer_apply_result res;
        struct errmsg err = {0};
        char path[64];

        root = make_temp_dir(path);
        assert_int_equal(apply_buf(root, buf, len, LAYER_WHITEOUTS_APPLY, &res, &err), -EINVAL);
        if (!strstr(err.msg, what))
                fail_msg("\"%s\" does not contain \"%s\"", err.msg, what);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_corrupt_streams(void **state)
{
        struct tar_builder *b = tar_builder_new();
        _cleanup_free_ char *raw = NULL, *gz = NULL, *zst = NULL, *junk = xmalloc(4096);
        _cleanup_free_ char *content = xmalloc(20000);
        size_t raw_len, gz_len, zst_len;

        (void) state;
        for (size_t i = 0; i < 20000; i++)
                content[i] = (char) (i * 31 % 251);
        tar_add_file(b, "first", "1");
        tar_add(b, &(struct tar_spec){.name = "big", .content = content, .size = 20000});
        tar_builder_finish(b, &raw, &raw_len);
        tar_compress(raw, raw_len, LAYER_COMPRESSION_GZIP, &gz, &gz_len);
        tar_compress(raw, raw_len, LAYER_COMPRESSION_ZSTD, &zst, &zst_len);
        for (size_t i = 0; i < 4096; i++)
                junk[i] = (char) (i * 131 % 256 | 1);

        check_corrupt(raw, 1024 + 512 + 5000, "layer entry \"big\": Truncated tar archive");
        check_corrupt(raw, 1024 + 100, "layer: entry 2: Truncated tar archive");
        check_corrupt(junk, 4096, "layer: Unrecognized archive format");
        check_corrupt(gz, gz_len / 2, "gzip: unexpected end of stream");
        check_corrupt(zst, zst_len / 2, "zstd: unexpected end of stream");
        /* the CRC-32 is the first word of the 8-byte trailer */
        gz[gz_len - 8] ^= 0x55;
        check_corrupt(gz, gz_len, "gzip: incorrect data check");
        gz[gz_len - 8] ^= 0x55;
        gz = xrealloc(gz, gz_len + 10);
        memcpy(gz + gz_len, "garbage!!!", 10);
        check_corrupt(gz, gz_len + 10, "layer: gzip: data after the compressed stream");
        gz[3] = (char) 0xe0; /* reserved FLG bits */
        check_corrupt(gz, gz_len, "gzip: ");
}

/* Reads all of the regular file fd from its start. */
static char *read_all_fd(int fd, size_t *ret_len)
{
        char *text = NULL;

        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(read_fd_all(fd, 256u << 20, &text, ret_len), 0);
        return text;
}

static int apply_tar_into(int base, const char *dir, const char *buf, size_t len,
                          enum layer_whiteouts w)
{
        struct layer_apply_result res;
        struct errmsg err = {0};
        int fd;

        assert_int_equal(mkdir_p_at(base, dir, 0755), 0);
        fd = open_dir_at(base, dir);
        if (apply_buf(fd, buf, len, w, &res, &err) < 0)
                fail_msg("apply into %s: %s", dir, err.msg);
        return fd;
}

static void build_round_trip_tars(char **lower, size_t *lower_len, char **layer, size_t *layer_len)
{
        struct tar_builder *b = tar_builder_new();

        tar_add_dir(b, "etc/");
        tar_add_file(b, "etc/passwd", "root");
        tar_add_file(b, "etc/gone", "g");
        tar_add_dir(b, "etc/dir/");
        tar_add_file(b, "etc/dir/a", "a");
        tar_add_dir(b, "opq/");
        tar_add_file(b, "opq/old", "old");
        tar_add_file(b, "keep", "k");
        tar_add_file(b, "mod", "before");
        tar_builder_finish(b, lower, lower_len);

        b = tar_builder_new();
        tar_add_dir(b, "etc/");
        tar_add_file(b, "etc/.wh.gone", "");
        tar_add_file(b, "etc/.wh.dir", "");
        tar_add(b, &(struct tar_spec){.name = "opq/", .type = S_IFDIR, .perm = 0700});
        tar_add_file(b, "opq/.wh..wh..opq", "");
        tar_add_file(b, "opq/new", "n");
        tar_add_file(b, "mod", "after-mod");
        tar_add_dir(b, "new/");
        tar_add(b, &(struct tar_spec){.name = "new/file",
                                      .content = "f",
                                      .perm = 04755,
                                      .uid = 33,
                                      .gid = 34,
                                      .xattr_name = "user.a",
                                      .xattr_value = "1"});
        tar_add(b, &(struct tar_spec){.name = "new/link",
                                      .hardlink = "new/file",
                                      .perm = 04755,
                                      .uid = 33,
                                      .gid = 34});
        tar_add_symlink(b, "new/sym", "file");
        tar_add(b, &(struct tar_spec){.name = "new/fifo", .type = S_IFIFO});
        tar_add(b, &(struct tar_spec){.name = "new/null",
                                      .type = S_IFCHR,
                                      .perm = 0666,
                                      .rdev_major = 1,
                                      .rdev_minor = 3});
        tar_builder_finish(b, layer, layer_len);
}

static void check_diff_result(int out_fd, const struct layer_diff_result *res, char **ret_out,
                              size_t *ret_len)
{
        _cleanup_(layer_reader_freep) struct layer_reader *r = NULL;
        struct mem_reader m = {0};
        char digest[DIGEST_STR_MAX];
        uint64_t size;

        *ret_out = read_all_fd(out_fd, ret_len);
        assert_int_equal(res->size, *ret_len);
        digest_bytes(*ret_out, *ret_len, digest);
        assert_string_equal(res->digest, digest);
        m = (struct mem_reader){.buf = *ret_out, .len = *ret_len};
        assert_int_equal(layer_reader_new(mem_read, &m, &r, NULL), 0);
        assert_int_equal(layer_reader_diff_id(r, digest, NULL), -EBUSY);
        assert_int_equal(layer_reader_drain(r, NULL), 0);
        assert_int_equal(layer_reader_diff_id(r, digest, &size), 0);
        assert_string_equal(res->diff_id, digest);
}

/* The kernel's view of base/lower + base/upper is want. */
static void check_overlay_view(const char *base, const char *want)
{
        _cleanup_free_ char *lp = xasprintf("%s/lower", base), *up = xasprintf("%s/upper", base);
        _cleanup_free_ char *mp = xasprintf("%s/merged", base), *seen = NULL;
        _cleanup_close_ int merged = -EBADF;

        if (!mount_overlay(base, lp, up))
                return;
        merged = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(merged >= 0);
        seen = tree_manifest(merged);
        merged = safe_close(merged);
        umount_overlay(base);
        assert_string_equal(seen, want);
}

static void test_diff_overlay_round_trips(void **state)
{
        _cleanup_free_ char *lower = NULL, *layer = NULL, *out = NULL, *listing = NULL;
        _cleanup_free_ char *want = NULL, *got = NULL;
        _cleanup_close_ int base = -EBADF, upper = -EBADF, copy = -EBADF, expected = -EBADF;
        _cleanup_close_ int out_fd = -EBADF, l1 = -EBADF;
        struct layer_diff_opts o = {.compression = LAYER_COMPRESSION_GZIP};
        struct layer_diff_result res = {0};
        struct errmsg err = {0};
        size_t lower_len, layer_len, out_len;
        char path[64];

        (void) state;
        base = make_temp_dir(path);
        build_round_trip_tars(&lower, &lower_len, &layer, &layer_len);
        l1 = apply_tar_into(base, "lower", lower, lower_len, LAYER_WHITEOUTS_APPLY);
        upper = apply_tar_into(base, "upper", layer, layer_len, LAYER_WHITEOUTS_OVERLAY);
        out_fd = openat(base, "diff.tar.gz", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(out_fd >= 0);
        if (layer_diff_overlay(upper, out_fd, &o, &res, &err) < 0)
                fail_msg("diff: %s", err.msg);
        check_diff_result(out_fd, &res, &out, &out_len);
        listing = tar_listing(out, out_len);
        assert_string_equal(listing, "etc/ 40755\n"
                                     "etc/.wh.dir 100600\n"
                                     "etc/.wh.gone 100600\n"
                                     "mod 100644\n"
                                     "new/ 40755\n"
                                     "new/fifo 10644\n"
                                     "new/file 104755\n"
                                     "new/link link -> new/file\n"
                                     "new/null 20666\n"
                                     "new/sym 120777\n"
                                     "opq/ 40700\n"
                                     "opq/.wh..wh..opq 100700\n"
                                     "opq/new 100644\n");

        /* lower + the diff in APPLY mode == lower + the original layer in APPLY mode */
        copy = apply_tar_into(base, "copy", lower, lower_len, LAYER_WHITEOUTS_APPLY);
        assert_int_equal(apply_buf(copy, out, out_len, LAYER_WHITEOUTS_APPLY,
                                   &(struct layer_apply_result){0}, &err),
                         0);
        expected = apply_tar_into(base, "expected", lower, lower_len, LAYER_WHITEOUTS_APPLY);
        assert_int_equal(apply_buf(expected, layer, layer_len, LAYER_WHITEOUTS_APPLY,
                                   &(struct layer_apply_result){0}, &err),
                         0);
        want = tree_manifest(expected);
        got = tree_manifest(copy);
        assert_string_equal(got, want);
        assert_non_null(strstr(want, "new/file 104755 33:34 size=1"));
        assert_null(strstr(want, "opq/old"));
        assert_null(strstr(want, "etc/gone"));

        check_overlay_view(path, want);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void put(int dfd, const char *path, const char *content, mode_t mode, time_t sec, long nsec)
{
        struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};

        assert_int_equal(write_file_atomic_at(dfd, path, content, strlen(content), mode), 0);
        assert_int_equal(fchmodat(dfd, path, mode, 0), 0);
        assert_int_equal(utimensat(dfd, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void put_symlink(int dfd, const char *path, const char *target)
{
        struct timespec ts[2] = {{TAR_T0, 0}, {TAR_T0, 0}};

        assert_int_equal(symlinkat(target, dfd, path), 0);
        assert_int_equal(utimensat(dfd, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static int set_user_xattr(int dfd, const char *path, const char *value)
{
        _cleanup_close_ int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        return fsetxattr(fd, "user.k", value, strlen(value), 0);
}

/* The parts of both trees: what is the same, and what each of the changes starts from. */
static void build_tree(int dfd, bool is_upper)
{
        assert_int_equal(mkdir_p_at(dfd, "sub", 0755), 0);
        assert_int_equal(mkdir_p_at(dfd, "x/y", 0755), 0);
        put(dfd, "same.txt", "same", 0644, TAR_T0, 0);
        put(dfd, "keep-nsec.txt", "x", 0644, TAR_T0, 5);
        put(dfd, "sub/same", "s", 0644, TAR_T0, 0);
        put(dfd, "hl1", "linked", 0644, TAR_T0, 0);
        assert_int_equal(linkat(dfd, "hl1", dfd, "hl2", 0), 0);
        if (!is_upper) {
                put(dfd, "touched.txt", "aaaa", 0644, TAR_T0, 0);
                put(dfd, "mode.txt", "m", 0644, TAR_T0, 0);
                put(dfd, "gone.txt", "g", 0644, TAR_T0, 0);
                assert_int_equal(mkdir_p_at(dfd, "gonedir/a", 0755), 0);
                put(dfd, "gonedir/a/b", "b", 0644, TAR_T0, 0);
                put(dfd, "f2d", "file", 0644, TAR_T0, 0);
                assert_int_equal(mkdir_p_at(dfd, "d2f", 0755), 0);
                put(dfd, "d2f/x", "x", 0644, TAR_T0, 0);
                put_symlink(dfd, "link", "a");
                put(dfd, "sub/old", "o", 0644, TAR_T0, 0);
                put(dfd, "xa", "xa", 0644, TAR_T0, 0);
                assert_int_equal(set_user_xattr(dfd, "xa", "1"), 0);
                return;
        }
        put(dfd, "touched.txt", "bbbb", 0644, TAR_T0, 0);
        put(dfd, "mode.txt", "m", 0600, TAR_T0, 0);
        assert_int_equal(mkdir_p_at(dfd, "f2d", 0755), 0);
        put(dfd, "f2d/inner", "i", 0644, TAR_T0, 0);
        put(dfd, "d2f", "now a file", 0644, TAR_T0, 0);
        put_symlink(dfd, "link", "b");
        put(dfd, "sub/new", "n", 0644, TAR_T0, 0);
        assert_int_equal(linkat(dfd, "hl1", dfd, "hl3", 0), 0);
        assert_int_equal(mkdir_p_at(dfd, "x/y/z", 0755), 0);
        put(dfd, "x/y/z/new", "deep", 0644, TAR_T0, 0);
        put(dfd, "xa", "xa", 0644, TAR_T0, 0);
        assert_int_equal(set_user_xattr(dfd, "xa", "2"), 0);
}

static void test_diff_trees_exact(void **state)
{
        _cleanup_close_ int base = -EBADF, lower = -EBADF, upper = -EBADF, out_fd = -EBADF;
        _cleanup_free_ char *out = NULL, *listing = NULL, *want = NULL, *got = NULL;
        struct layer_diff_opts o = {.compression = LAYER_COMPRESSION_NONE};
        struct layer_diff_result res;
        struct errmsg err = {0};
        size_t out_len;
        char path[64];

        (void) state;
        base = make_temp_dir(path);
        assert_int_equal(mkdir_p_at(base, "lower", 0755), 0);
        assert_int_equal(mkdir_p_at(base, "upper", 0755), 0);
        lower = open_dir_at(base, "lower");
        upper = open_dir_at(base, "upper");
        build_tree(lower, false);
        build_tree(upper, true);
        out_fd = openat(base, "diff.tar", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(out_fd >= 0);
        if (layer_diff_trees(lower, upper, out_fd, &o, &res, &err) < 0)
                fail_msg("diff: %s", err.msg);
        check_diff_result(out_fd, &res, &out, &out_len);
        assert_string_equal(res.digest, res.diff_id);
        listing = tar_listing(out, out_len);
        assert_string_equal(listing, "d2f 100644\n"
                                     "f2d/ 40755\n"
                                     "f2d/inner 100644\n"
                                     ".wh.gone.txt 100000\n"
                                     ".wh.gonedir 100000\n"
                                     "hl3 100644\n"
                                     "hl1 link -> hl3\n"
                                     "hl2 link -> hl3\n"
                                     "link 120777\n"
                                     "mode.txt 100600\n"
                                     "sub/ 40755\n"
                                     "sub/new 100644\n"
                                     "sub/.wh.old 100000\n"
                                     "touched.txt 100644\n"
                                     "x/ 40755\n"
                                     "x/y/ 40755\n"
                                     "x/y/z/ 40755\n"
                                     "x/y/z/new 100644\n"
                                     "xa 100644\n");

        /* lower + the diff == upper */
        assert_int_equal(apply_buf(lower, out, out_len, LAYER_WHITEOUTS_APPLY,
                                   &(struct layer_apply_result){0}, &err),
                         0);
        want = tree_manifest(upper);
        got = tree_manifest(lower);
        assert_string_equal(got, want);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_diff_trees_zstd_and_identical(void **state)
{
        _cleanup_close_ int base = -EBADF, a = -EBADF, out_fd = -EBADF;
        _cleanup_free_ char *out = NULL, *listing = NULL;
        struct layer_diff_opts o = {.compression = LAYER_COMPRESSION_ZSTD};
        struct layer_diff_result res;
        struct errmsg err = {0};
        size_t out_len;
        char path[64];

        (void) state;
        base = make_temp_dir(path);
        assert_int_equal(mkdir_p_at(base, "a", 0755), 0);
        a = open_dir_at(base, "a");
        build_tree(a, false);
        out_fd = openat(base, "diff.tar.zst", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(out_fd >= 0);
        /* a tree against itself: no change at all, only the end blocks */
        if (layer_diff_trees(a, a, out_fd, &o, &res, &err) < 0)
                fail_msg("diff: %s", err.msg);
        check_diff_result(out_fd, &res, &out, &out_len);
        listing = tar_listing(out, out_len);
        assert_string_equal(listing, "");
        o.compression = _LAYER_COMPRESSION_MAX;
        res.size = 4242;
        assert_int_equal(layer_diff_trees(a, a, out_fd, &o, &res, &err), -EINVAL);
        assert_string_equal(err.msg, "layer diff: invalid compression 3");
        assert_int_equal(res.size, 4242); /* untouched */
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_whiteouts_names),
                cmocka_unit_test(test_apply_every_type),
                cmocka_unit_test(test_apply_overwrites),
                cmocka_unit_test(test_whiteouts_overlay),
                cmocka_unit_test(test_whiteouts_apply),
                cmocka_unit_test(test_diff_id_every_compression),
                cmocka_unit_test(test_apply_from_fd_and_empty),
                cmocka_unit_test(test_apply_limits_entries),
                cmocka_unit_test(test_apply_sparse_entry),
                cmocka_unit_test(test_escapes_are_refused),
                cmocka_unit_test(test_absolute_symlinks_stay_inside),
                cmocka_unit_test(test_usrmerge_and_relative_symlinks),
                cmocka_unit_test(test_corrupt_streams),
                cmocka_unit_test(test_diff_overlay_round_trips),
                cmocka_unit_test(test_diff_trees_exact),
                cmocka_unit_test(test_diff_trees_zstd_and_identical),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
