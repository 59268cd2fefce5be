/* SPDX-License-Identifier: Apache-2.0 */
/* Fixtures for the layer tests (see layer-tars.h): crafted tars, memory readers, manifests. */
#include "tests/unit/containerd/layer-tars.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <zlib.h>
#include <zstd.h>

#include "lib/digest.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

#define CHECK(x)                                                                       \
        do {                                                                           \
                if (!(x)) {                                                            \
                        fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #x); \
                        abort();                                                       \
                }                                                                      \
        } while (0)

struct tar_builder {
        struct archive *ar;
        char *buf;
        size_t len, alloc;
};

static la_ssize_t builder_write(struct archive *ar, void *userdata, const void *buf, size_t len)
{
        struct tar_builder *b = userdata;

        (void) ar;
        b->buf = xgrow(b->buf, &b->alloc, b->len + len + 1, 1);
        memcpy(b->buf + b->len, buf, len);
        b->len += len;
        return (la_ssize_t) len;
}

struct tar_builder *tar_builder_new(void)
{
        struct tar_builder *b = xnew0(struct tar_builder, 1);

        b->ar = archive_write_new();
        CHECK(b->ar);
        CHECK(archive_write_set_format_pax(b->ar) == ARCHIVE_OK);
        CHECK(archive_write_set_format_option(b->ar, "pax", "xattrheader", "SCHILY") == ARCHIVE_OK);
        CHECK(archive_write_set_bytes_per_block(b->ar, 0) == ARCHIVE_OK);
        CHECK(archive_write_open2(b->ar, b, NULL, builder_write, NULL, NULL) == ARCHIVE_OK);
        return b;
}

void tar_add(struct tar_builder *b, const struct tar_spec *s)
{
        struct archive_entry *e = archive_entry_new();
        mode_t type = s->type ? s->type : S_IFREG;
        size_t size = s->content ? (s->size ? s->size : strlen(s->content)) : 0;
        int r;

        archive_entry_copy_pathname(e, s->name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, s->perm ? s->perm : type == S_IFDIR ? 0755 : 0644);
        archive_entry_set_uid(e, s->uid);
        archive_entry_set_gid(e, s->gid);
        archive_entry_set_mtime(e, s->mtime ? s->mtime : TAR_T0, s->mtime_nsec);
        if (s->target)
                archive_entry_copy_symlink(e, s->target);
        if (s->hardlink)
                archive_entry_copy_hardlink(e, s->hardlink);
        if (type == S_IFCHR || type == S_IFBLK) {
                archive_entry_set_rdevmajor(e, s->rdev_major);
                archive_entry_set_rdevminor(e, s->rdev_minor);
        }
        if (s->xattr_name)
                archive_entry_xattr_add_entry(e, s->xattr_name, s->xattr_value,
                                              strlen(s->xattr_value));
        archive_entry_set_size(e, s->hardlink ? 0 : (la_int64_t) size);
        r = archive_write_header(b->ar, e);
        CHECK(r == ARCHIVE_OK || r == ARCHIVE_WARN);
        if (size > 0 && !s->hardlink)
                CHECK(archive_write_data(b->ar, s->content, size) == (la_ssize_t) size);
        archive_entry_free(e);
}

void tar_add_file(struct tar_builder *b, const char *name, const char *content)
{
        tar_add(b, &(struct tar_spec){.name = name, .content = content});
}

void tar_add_dir(struct tar_builder *b, const char *name)
{
        tar_add(b, &(struct tar_spec){.name = name, .type = S_IFDIR});
}

void tar_add_symlink(struct tar_builder *b, const char *name, const char *target)
{
        tar_add(b,
                &(struct tar_spec){.name = name, .type = S_IFLNK, .perm = 0777, .target = target});
}

void tar_builder_finish(struct tar_builder *b, char **ret, size_t *ret_len)
{
        CHECK(archive_write_close(b->ar) == ARCHIVE_OK);
        archive_write_free(b->ar);
        *ret = b->buf ? b->buf : xstrdup("");
        *ret_len = b->len;
        free(b);
}

static void compress_gzip(const char *buf, size_t len, char **ret, size_t *ret_len)
{
        z_stream z = {0};
        size_t cap = deflateBound(&z, len) + 64;
        char *out = xmalloc(cap);

        CHECK(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
        z.next_in = (Bytef *) buf;
        z.avail_in = (uInt) len;
        z.next_out = (Bytef *) out;
        z.avail_out = (uInt) cap;
        CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
        *ret_len = cap - z.avail_out;
        deflateEnd(&z);
        *ret = out;
}

void tar_compress(const char *buf, size_t len, enum layer_compression c, char **ret,
                  size_t *ret_len)
{
        size_t cap;
        char *out;

        if (c == LAYER_COMPRESSION_GZIP) {
                compress_gzip(buf, len, ret, ret_len);
                return;
        }
        if (c == LAYER_COMPRESSION_NONE) {
                out = xmalloc(len + 1);
                memcpy(out, buf, len);
                *ret = out;
                *ret_len = len;
                return;
        }
        cap = ZSTD_compressBound(len);
        out = xmalloc(cap);
        *ret_len = ZSTD_compress(out, cap, buf, len, 3);
        CHECK(!ZSTD_isError(*ret_len));
        *ret = out;
}

ssize_t mem_read(void *userdata, void *buf, size_t size)
{
        struct mem_reader *m = userdata;
        size_t n = MIN(size, m->len - m->pos);

        if (m->chunk)
                n = MIN(n, m->chunk);
        memcpy(buf, m->buf + m->pos, n);
        m->pos += n;
        return (ssize_t) n;
}

int apply_buf(int root_fd, const char *buf, size_t len, enum layer_whiteouts w,
              struct layer_apply_result *ret, struct errmsg *err)
{
        struct mem_reader m = {.buf = buf, .len = len, .chunk = 7000};
        struct layer_apply_opts o = {.whiteouts = w};

        return layer_apply_from(root_fd, mem_read, &m, &o, ret, err);
}

static void append(char **text, size_t *len, size_t *alloc, const char *line)
{
        size_t n = strlen(line);

        *text = xgrow(*text, alloc, *len + n + 1, 1);
        memcpy(*text + *len, line, n + 1);
        *len += n;
}

static char *describe_content(int dfd, const char *name, const struct stat *st)
{
        char target[4096];
        ssize_t n;

        if (S_ISLNK(st->st_mode)) {
                n = readlinkat(dfd, name, target, sizeof(target) - 1);
                CHECK(n >= 0);
                target[n] = '\0';
                return xasprintf("-> %s", target);
        }
        if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
                return xasprintf("dev %u:%u", major(st->st_rdev), minor(st->st_rdev));
        if (S_ISREG(st->st_mode)) {
                _cleanup_free_ char *text = NULL;
                char digest[DIGEST_STR_MAX];
                size_t len;

                CHECK(read_file_at(dfd, name, 64u << 20, &text, &len) == 0);
                digest_bytes(text, len, digest);
                return xstrdup(digest + 7 + 52); /* enough to tell contents apart */
        }
        return xstrdup("");
}

static char *describe_xattrs(int dfd, const char *name)
{
        char proc[4200], list[4096], value[1024];
        _cleanup_free_ char *out = xstrdup("");
        ssize_t n;

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dfd, name);
        n = llistxattr(proc, list, sizeof(list));
        for (const char *p = list; n > 0 && p < list + n; p += strlen(p) + 1) {
                ssize_t v;
                char *next;

                if (strncmp(p, "trusted.overlay.", 16) == 0)
                        continue;
                v = lgetxattr(proc, p, value, sizeof(value) - 1);
                CHECK(v >= 0);
                value[v] = '\0';
                next = xasprintf("%s %s=%s", out, p, value);
                free(out);
                out = next;
        }
        return TAKE_PTR(out);
}

static void manifest_dir(int dfd, const char *prefix, char **text, size_t *len, size_t *alloc)
{
        struct dirent **list = NULL;
        _cleanup_free_ char *self = xasprintf("/proc/self/fd/%d", dfd);
        int n = scandir(self, &list, NULL, alphasort);

        CHECK(n >= 0);
        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;
                _cleanup_free_ char *path = NULL, *line = NULL, *content = NULL, *xattrs = NULL;
                struct stat st;

                if (STREQ(name, ".") || STREQ(name, "..")) {
                        free(list[i]);
                        continue;
                }
                path = *prefix ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
                CHECK(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0);
                content = describe_content(dfd, name, &st);
                xattrs = describe_xattrs(dfd, name);
                line = xasprintf("%s %o %u:%u size=%lld mtime=%lld links=%lu %s%s\n", path,
                                 (unsigned) st.st_mode, st.st_uid, st.st_gid,
                                 S_ISDIR(st.st_mode) ? 0LL : (long long) st.st_size,
                                 S_ISDIR(st.st_mode) ? 0LL : (long long) st.st_mtim.tv_sec,
                                 S_ISDIR(st.st_mode) ? 0UL : (unsigned long) st.st_nlink, content,
                                 xattrs);
                append(text, len, alloc, line);
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int child =
                                openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        CHECK(child >= 0);
                        manifest_dir(child, path, text, len, alloc);
                }
                free(list[i]);
        }
        free(list);
}

char *tree_manifest(int dfd)
{
        char *text = xstrdup("");
        size_t len = 0, alloc = 1;

        manifest_dir(dfd, "", &text, &len, &alloc);
        return text;
}

char *tar_listing(const char *buf, size_t len)
{
        struct archive *ar = archive_read_new();
        struct archive_entry *e;
        char *text = xstrdup("");
        size_t n = 0, alloc = 1;
        int r;

        CHECK(archive_read_support_filter_all(ar) == ARCHIVE_OK);
        CHECK(archive_read_support_format_tar(ar) == ARCHIVE_OK);
        CHECK(archive_read_open_memory(ar, buf, len) == ARCHIVE_OK);
        while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                const char *link = archive_entry_hardlink(e);
                _cleanup_free_ char *line = NULL;

                if (link)
                        line = xasprintf("%s link -> %s\n", archive_entry_pathname(e), link);
                else
                        line = xasprintf("%s %o\n", archive_entry_pathname(e),
                                         (unsigned) archive_entry_mode(e));
                append(&text, &n, &alloc, line);
        }
        CHECK(r == ARCHIVE_EOF);
        archive_read_free(ar);
        return text;
}

int make_temp_dir(char buf[64])
{
        int fd;

        snprintf(buf, 64, "/tmp/berth-test-layer-XXXXXX");
        CHECK(mkdtemp(buf));
        fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(fd >= 0);
        return fd;
}
