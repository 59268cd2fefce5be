/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Importing docker-save and OCI layout tars (image-archive.h) into a store given as
 * callbacks. One pass over the tar writes every regular file into the store, keeping only its
 * name, digest, size and first bytes, and the JSON files in memory; then the format is
 * decided (oci-layout wins, as in containerd's importer) and the images are walked from their
 * targets down to the layers, with each blob checked and each index and manifest labelled.
 * Naming, recording and unpacking the images is the caller's.
 */
#include <archive.h>
#include <archive_entry.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>

#include "lib/image-archive.h"
#include "lib/reference.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define COPY_BUF_SIZE      (1u << 20)
#define READ_BLOCK_SIZE    (64u << 10)
#define LINK_HOPS_MAX      16
#define WALK_DEPTH_MAX     8
#define OCI_LAYOUT_VERSION "1.0.0"
#define LABEL_GC_REF       "containerd.io/gc.ref.content"
#define MAGIC_SIZE         4

/* A member of the archive: a file now in the store, or a link to another member. */
struct member {
        char *name; /* cleaned: no "./", no "//", ".." resolved */
        char *link; /* cleaned target of a symlink or hardlink; NULL for files */
        char digest[DIGEST_STR_MAX];
        int64_t size;
        uint8_t magic[MAGIC_SIZE]; /* the first bytes (compression), n_magic of them */
        size_t n_magic;
};

struct importer {
        const struct image_archive_store *s;
        const struct image_archive_import_opts *o;
        struct oci_platform platform; /* o->platform or this host's */
        struct archive *a;
        uint8_t *buf;
        size_t n_entries;
        struct member *members;
        size_t n_members, alloc_members;
        char *manifest_json, *index_json, *oci_layout;
        size_t manifest_json_len, index_json_len, oci_layout_len;
        struct image_archive_result res;
        size_t alloc_entries;
        char (*walked)[DIGEST_STR_MAX];
        size_t n_walked, alloc_walked;
};

void image_archive_result_release(struct image_archive_result *r)
{
        for (size_t i = 0; i < r->n_entries; i++) {
                free(r->entries[i].image_name);
                free(r->entries[i].ref_name);
                oci_descriptor_release(&r->entries[i].target);
        }
        free(r->entries);
        oci_descriptor_release(&r->index);
        *r = (struct image_archive_result){0};
}

static void importer_release(struct importer *imp)
{
        if (imp->a)
                (void) archive_read_free(imp->a);
        for (size_t i = 0; i < imp->n_members; i++) {
                free(imp->members[i].name);
                free(imp->members[i].link);
        }
        free(imp->members);
        image_archive_result_release(&imp->res);
        free(imp->walked);
        free(imp->manifest_json);
        free(imp->index_json);
        free(imp->oci_layout);
        free(imp->buf);
        oci_platform_release(&imp->platform);
}

/*
 * path joined onto the directory of base (NULL: the archive's root), with ".", empty
 * components and ".." resolved lexically (".." at the root stays at the root). The caller's.
 */
static char *path_clean(const char *path, const char *base)
{
        _cleanup_free_ char *joined = NULL;
        const char *slash = base && path[0] != '/' ? strrchr(base, '/') : NULL;
        char *out, *p, *next;
        size_t len = 0, size;

        joined = slash ? xasprintf("%.*s/%s", (int) (slash - base), base, path) : xstrdup(path);
        size = strlen(joined) + 1;
        out = xnew0(char, size);
        for (p = joined; p; p = next) {
                next = strchr(p, '/');
                if (next)
                        *next++ = '\0';
                if (!p[0] || STREQ(p, "."))
                        continue;
                if (STREQ(p, "..")) {
                        char *up = len ? memrchr(out, '/', len) : NULL;

                        len = up ? (size_t) (up - out) : 0;
                        out[len] = '\0';
                        continue;
                }
                len += (size_t) snprintf(out + len, size - len, "%s%s", len ? "/" : "", p);
        }
        return out;
}

static struct member *member_get(struct importer *imp, const char *name)
{
        for (size_t i = imp->n_members; i > 0; i--)
                if (STREQ(imp->members[i - 1].name, name))
                        return &imp->members[i - 1];
        return NULL;
}

/* Adds or replaces (a later member of the same name wins, as when extracting) name. */
static struct member *member_put(struct importer *imp, const char *name)
{
        struct member *m = member_get(imp, name);

        if (m) {
                free(m->link);
                m->link = NULL;
                return m;
        }
        imp->members =
                xgrow(imp->members, &imp->alloc_members, imp->n_members + 1, sizeof(*imp->members));
        m = &imp->members[imp->n_members++];
        *m = (struct member){.name = xstrdup(name)};
        return m;
}

/* The file a member name leads to, through links; NULL when there is none. */
static const struct member *member_resolve(struct importer *imp, const char *name)
{
        _cleanup_free_ char *clean = path_clean(name, NULL);
        const struct member *m = member_get(imp, clean);

        for (unsigned hops = 0; m && m->link && hops < LINK_HOPS_MAX; hops++)
                m = member_get(imp, m->link);
        return m && !m->link ? m : NULL;
}

/* err = libarchive's complaint, after "what: " unless what is NULL. */
static int archive_fail(struct importer *imp, const char *what, struct errmsg *err)
{
        const char *s = archive_error_string(imp->a);
        int e = archive_errno(imp->a);

        /* libarchive reports damaged input with its own codes (or none): that is bad input */
        if (e != ENOMEM && e != EIO && e != EINTR)
                e = EINVAL;
        if (what)
                return errmsg_set(err, -e, "%s: %s", what, s ? s : "corrupt tar archive");
        return errmsg_set(err, -e, "%s", s ? s : "corrupt tar archive");
}

/* A JSON member read whole into memory (capped at MANIFEST_MAX_BYTES). */
static int read_json_member(struct importer *imp, const char *name, struct archive_entry *e,
                            char **ret, size_t *ret_len, struct errmsg *err)
{
        la_int64_t size = archive_entry_size(e);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        la_ssize_t n;

        if (size < 0 || size > (la_int64_t) MANIFEST_MAX_BYTES)
                return errmsg_set(err, -EFBIG, "%s: larger than %u bytes", name,
                                  MANIFEST_MAX_BYTES);
        text = xmalloc((size_t) size + 1);
        while (len < (size_t) size &&
               (n = archive_read_data(imp->a, text + len, (size_t) size - len)) > 0)
                len += (size_t) n;
        if (len < (size_t) size)
                return archive_fail(imp, name, err);
        text[len] = '\0';
        free(*ret);
        *ret = TAKE_PTR(text);
        *ret_len = len;
        return 0;
}

/* "sha256:<hex>" when name is blobs/sha256/<64 lowercase hex>, else "". */
static void blob_name_digest(const char *name, char ret[DIGEST_STR_MAX])
{
        const char *hex = name + STRLEN("blobs/sha256/");

        ret[0] = '\0';
        if (strncmp(name, "blobs/sha256/", STRLEN("blobs/sha256/")) != 0)
                return;
        (void) snprintf(ret, DIGEST_STR_MAX, "sha256:%s", hex);
        if (digest_validate(ret, NULL) < 0)
                ret[0] = '\0';
}

/* Reads the next chunk of the current member into imp->buf: its length, 0 at the end. */
static la_ssize_t read_chunk(struct importer *imp, struct errmsg *err)
{
        la_ssize_t n = archive_read_data(imp->a, imp->buf, COPY_BUF_SIZE);

        /* the caller names the member */
        return n < 0 ? archive_fail(imp, NULL, err) : n;
}

/* Writes the current member into writer, starting with the first chunk (n bytes) in buf. */
static int copy_data(struct importer *imp, void *writer, la_ssize_t n, struct errmsg *err)
{
        for (; n > 0; n = read_chunk(imp, err)) {
                int r = imp->s->blob_write(writer, imp->buf, (size_t) n, err);

                if (r < 0)
                        return r;
        }
        return (int) n;
}

/* Streams the current member (size bytes) into the store; digest = what it hashes to. */
static int write_member(struct importer *imp, const char *name, int64_t size,
                        char digest[DIGEST_STR_MAX], uint8_t magic[MAGIC_SIZE], size_t *ret_n_magic,
                        struct errmsg *err)
{
        char expected[DIGEST_STR_MAX];
        void *writer = NULL;
        la_ssize_t first;
        int r;

        blob_name_digest(name, expected);
        /* the first bytes say how a docker save layer is compressed, even when it is in the
         * store already */
        first = read_chunk(imp, err);
        if (first < 0)
                return (int) first;
        *ret_n_magic = MIN((size_t) first, (size_t) MAGIC_SIZE);
        memcpy(magic, imp->buf, *ret_n_magic);
        r = imp->s->blob_open(imp->s->userdata, name, size, expected[0] ? expected : NULL, &writer,
                              err);
        if (r == -EEXIST) { /* in the store already: trust it, skip the bytes */
                memcpy(digest, expected, DIGEST_STR_MAX);
                return 0;
        }
        if (r < 0)
                return r;
        r = copy_data(imp, writer, first, err);
        if (r < 0) {
                imp->s->blob_abort(writer);
                return r;
        }
        r = imp->s->blob_commit(writer, digest, err);
        if (r == -EBADMSG && expected[0])
                return errmsg_prefix(err, r, "bytes do not match the digest");
        return r;
}

static int ingest_member(struct importer *imp, const char *name, struct archive_entry *e,
                         struct errmsg *err)
{
        int64_t size = MAX(archive_entry_size(e), 0);
        uint8_t magic[MAGIC_SIZE];
        char digest[DIGEST_STR_MAX];
        struct member *m;
        size_t n_magic;
        int r;

        r = write_member(imp, name, size, digest, magic, &n_magic, err);
        if (r < 0)
                return errmsg_prefix(err, r, "%s", name);
        m = member_put(imp, name);
        memcpy(m->digest, digest, DIGEST_STR_MAX);
        m->size = size;
        memcpy(m->magic, magic, n_magic);
        m->n_magic = n_magic;
        return 0;
}

static int read_member(struct importer *imp, struct archive_entry *e, struct errmsg *err)
{
        const char *raw = archive_entry_pathname(e), *hardlink = archive_entry_hardlink(e);
        mode_t type = archive_entry_filetype(e);
        _cleanup_free_ char *name = NULL;

        if (!raw)
                return errmsg_set(err, -EINVAL, "a member without a name");
        if (++imp->n_entries > IMAGE_ARCHIVE_MAX_ENTRIES)
                return errmsg_set(err, -EINVAL, "more than %d members", IMAGE_ARCHIVE_MAX_ENTRIES);
        name = path_clean(raw, NULL);
        if (hardlink || type == AE_IFLNK) {
                const char *target = hardlink ? hardlink : archive_entry_symlink(e);

                if (!target)
                        return errmsg_set(err, -EINVAL, "\"%s\": link without a target", raw);
                /* hardlinks name a member; symlinks are relative to their own directory */
                member_put(imp, name)->link = path_clean(target, hardlink ? NULL : name);
                return 0;
        }
        if (type != AE_IFREG)
                return 0; /* directories and the like carry nothing */
        if (STREQ(name, "manifest.json"))
                return read_json_member(imp, name, e, &imp->manifest_json, &imp->manifest_json_len,
                                        err);
        if (STREQ(name, "index.json"))
                return read_json_member(imp, name, e, &imp->index_json, &imp->index_json_len, err);
        if (STREQ(name, "repositories"))
                return 0; /* docker save's legacy names: manifest.json says it all */
        if (STREQ(name, "oci-layout"))
                return read_json_member(imp, name, e, &imp->oci_layout, &imp->oci_layout_len, err);
        return ingest_member(imp, name, e, err);
}

static int read_archive(struct importer *imp, int fd, struct errmsg *err)
{
        struct archive_entry *e;
        int rc;

        imp->a = archive_read_new();
        if (!imp->a)
                abort(); /* only fails on OOM */
        /* docker save writes plain tars, but a gzip'ed (or xz, zstd ...) one is fine too */
        (void) archive_read_support_filter_all(imp->a);
        (void) archive_read_support_format_tar(imp->a);
        if (archive_read_open_fd(imp->a, fd, READ_BLOCK_SIZE) != ARCHIVE_OK)
                return archive_fail(imp, "archive", err);
        while ((rc = archive_read_next_header(imp->a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
                int r = read_member(imp, e, err);

                if (r < 0)
                        return r;
        }
        if (rc != ARCHIVE_EOF)
                return archive_fail(imp, "archive", err);
        return 0;
}

static bool is_walked(struct importer *imp, const char *digest)
{
        for (size_t i = 0; i < imp->n_walked; i++)
                if (STREQ(imp->walked[i], digest))
                        return true;
        return false;
}

/* Whether the import keeps child d of an index: see image_import_opts.all_platforms. */
static bool keep_child(struct importer *imp, const struct oci_index *idx,
                       const struct oci_descriptor *d)
{
        return imp->o->all_platforms || !d->platform ||
               oci_platform_matches(&imp->platform, d->platform) ||
               oci_index_select(idx, &imp->platform) == d;
}

/* Sets labels (a strv of key, value) on digest; frees them. */
static int set_labels(struct importer *imp, const char *digest, char **labels, struct errmsg *err)
{
        _cleanup_strv_ char **l = labels;

        return l ? imp->s->blob_label(imp->s->userdata, digest, l, err) : 0;
}

static void push_label(char ***labels, const char *key, const char *value)
{
        (void) strv_push(labels, key);
        (void) strv_push(labels, value);
}

static int walk(struct importer *imp, const struct oci_descriptor *d, unsigned depth,
                struct errmsg *err);

static int walk_index(struct importer *imp, const struct oci_descriptor *d, const char *body,
                      size_t len, unsigned depth, struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_strv_ char **labels = NULL;
        size_t n_kept = 0;
        int r;

        r = oci_index_parse(body, len, &idx, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const struct oci_descriptor *c = &idx->manifests[i];
                _cleanup_free_ char *key = NULL;

                if (!keep_child(imp, idx, c))
                        continue;
                r = walk(imp, c, depth + 1, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "manifests[%zu] %s", i, c->digest);
                key = xasprintf(LABEL_GC_REF ".m.%zu", n_kept++);
                push_label(&labels, key, c->digest);
        }
        return set_labels(imp, d->digest, TAKE_PTR(labels), err);
}

static int walk_manifest(struct importer *imp, const struct oci_descriptor *d, const char *body,
                         size_t len, unsigned depth, struct errmsg *err)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_strv_ char **labels = NULL;
        int r;

        r = oci_manifest_parse(body, len, &m, err);
        if (r >= 0 && m->n_layers > IMAGE_ARCHIVE_MAX_LAYERS)
                r = errmsg_set(err, -EINVAL, "more than %d layers", IMAGE_ARCHIVE_MAX_LAYERS);
        if (r < 0)
                return r;
        r = walk(imp, &m->config, depth + 1, err);
        if (r < 0)
                return errmsg_prefix(err, r, "config %s", m->config.digest);
        push_label(&labels, LABEL_GC_REF ".config", m->config.digest);
        for (size_t i = 0; i < m->n_layers; i++) {
                _cleanup_free_ char *key = xasprintf(LABEL_GC_REF ".l.%zu", i);

                r = walk(imp, &m->layers[i], depth + 1, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "layers[%zu] %s", i, m->layers[i].digest);
                push_label(&labels, key, m->layers[i].digest);
        }
        return set_labels(imp, d->digest, TAKE_PTR(labels), err);
}

/*
 * Checks that the blob of d is in the store with d's size, records it in ns and, for an
 * index or a manifest, walks its children and labels it. Each blob is walked once.
 */
static int walk(struct importer *imp, const struct oci_descriptor *d, unsigned depth,
                struct errmsg *err)
{
        enum media_kind kind = media_type_kind(d->media_type);
        _cleanup_free_ char *body = NULL;
        int64_t size;
        size_t len;
        int r;

        if (is_walked(imp, d->digest))
                return 0;
        if (depth > WALK_DEPTH_MAX)
                return errmsg_set(err, -EINVAL, "indexes nested deeper than %d", WALK_DEPTH_MAX);
        r = imp->s->blob_check(imp->s->userdata, d->digest, &size, err);
        if (r == -ENOENT)
                return errmsg_set(err, r, "not in the archive");
        if (r < 0)
                return r;
        if (size != d->size)
                return errmsg_set(err, -EINVAL, "size %" PRId64 " but the blob has %" PRId64,
                                  d->size, size);
        imp->walked =
                xgrow(imp->walked, &imp->alloc_walked, imp->n_walked + 1, sizeof(*imp->walked));
        (void) snprintf(imp->walked[imp->n_walked++], DIGEST_STR_MAX, "%s", d->digest);
        if (kind != MEDIA_KIND_INDEX && kind != MEDIA_KIND_MANIFEST)
                return 0;
        r = imp->s->blob_read(imp->s->userdata, d->digest, MANIFEST_MAX_BYTES, &body, &len, err);
        if (r < 0)
                return r;
        if (kind == MEDIA_KIND_INDEX)
                return walk_index(imp, d, body, len, depth, err);
        return walk_manifest(imp, d, body, len, depth, err);
}

static void descriptor_copy(const struct oci_descriptor *d, struct oci_descriptor *ret)
{
        *ret = (struct oci_descriptor){.media_type = xstrdup(d->media_type),
                                       .digest = xstrdup(d->digest),
                                       .size = d->size,
                                       .urls = strv_copy(d->urls),
                                       .annotations = strv_copy(d->annotations)};
        if (d->platform) {
                ret->platform = xnew0(struct oci_platform, 1);
                oci_platform_copy(d->platform, ret->platform);
        }
}

/* Adds an entry of the archive's index (names may be NULL). */
static void add_entry(struct importer *imp, const char *image_name, const char *ref_name,
                      const struct oci_descriptor *d, size_t position)
{
        struct image_archive_entry *e;

        imp->res.entries = xgrow(imp->res.entries, &imp->alloc_entries, imp->res.n_entries + 1,
                                 sizeof(*imp->res.entries));
        e = &imp->res.entries[imp->res.n_entries++];
        *e = (struct image_archive_entry){
                .image_name = image_name ? xstrdup(image_name) : NULL,
                .ref_name = ref_name ? xstrdup(ref_name) : NULL,
                .position = position,
        };
        descriptor_copy(d, &e->target);
}

/* --- docker save ---------------------------------------------------------------------- */

static int json_fail(const char *what, const json_error_t *je, struct errmsg *err)
{
        return errmsg_set(err, -EINVAL, "%s: line %d column %d: %s", what, je->line, je->column,
                          je->text);
}

/* The media type of a layer file from its first bytes, as containerd's importer says it. */
static const char *layer_media_type(const struct member *m)
{
        static const uint8_t gzip_magic[] = {0x1f, 0x8b}, zstd_magic[] = {0x28, 0xb5, 0x2f, 0xfd};

        if (m->n_magic >= 2 && memcmp(m->magic, gzip_magic, sizeof(gzip_magic)) == 0)
                return MEDIA_TYPE_DOCKER_LAYER_GZIP;
        if (m->n_magic >= 4 && memcmp(m->magic, zstd_magic, sizeof(zstd_magic)) == 0)
                return MEDIA_TYPE_OCI_LAYER_ZSTD;
        return MEDIA_TYPE_DOCKER_LAYER;
}

static json_t *descriptor_json(const char *media_type, const char *digest, int64_t size)
{
        return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
                         (json_int_t) size);
}

/* The Config member: its descriptor, after checking it parses with one diff id per layer. */
static int docker_config(struct importer *imp, json_t *elem, size_t n_layers, json_t **ret,
                         struct errmsg *err)
{
        _cleanup_(oci_image_config_freep) struct oci_image_config *c = NULL;
        const char *path = json_string_value(json_object_get(elem, "Config"));
        _cleanup_free_ char *body = NULL;
        const struct member *m;
        size_t len;
        int r;

        if (!path)
                return errmsg_set(err, -EINVAL, "Config: missing or not a string");
        m = member_resolve(imp, path);
        if (!m)
                return errmsg_set(err, -EINVAL, "Config \"%s\": not in the archive", path);
        r = imp->s->blob_read(imp->s->userdata, m->digest, IMAGE_ARCHIVE_CONFIG_MAX, &body, &len,
                              err);
        if (r >= 0)
                r = oci_image_config_parse(body, len, &c, err);
        if (r >= 0 && c->n_diff_ids != n_layers)
                r = errmsg_set(err, -EINVAL, "%zu diff ids for %zu layers", c->n_diff_ids,
                               n_layers);
        if (r < 0)
                return errmsg_prefix(err, r, "Config \"%s\"", path);
        *ret = descriptor_json(MEDIA_TYPE_DOCKER_CONFIG, m->digest, m->size);
        return 0;
}

static int docker_layers(struct importer *imp, json_t *layers, json_t **ret, struct errmsg *err)
{
        _cleanup_(json_decrefp) json_t *out = json_array();
        json_t *v;
        size_t i;

        json_array_foreach (layers, i, v) {
                const char *path = json_string_value(v);
                const struct member *m;

                if (!path)
                        return errmsg_set(err, -EINVAL, "Layers[%zu]: not a string", i);
                m = member_resolve(imp, path);
                if (!m)
                        return errmsg_set(err, -EINVAL, "Layers[%zu] \"%s\": not in the archive", i,
                                          path);
                (void) json_array_append_new(
                        out, descriptor_json(layer_media_type(m), m->digest, m->size));
        }
        *ret = TAKE_PTR(out);
        return 0;
}

/* Writes a blob the import makes (a manifest, an index) from memory; ret describes it. */
static int put_blob(struct importer *imp, const char *media_type, const char *text,
                    struct oci_descriptor *ret, struct errmsg *err)
{
        size_t len = strlen(text);
        char digest[DIGEST_STR_MAX], got[DIGEST_STR_MAX];
        _cleanup_free_ char *member = NULL;
        void *writer = NULL;
        int r;

        digest_bytes(text, len, digest);
        member = xasprintf("manifest-%s", digest); /* containerd's importer's ref */
        r = imp->s->blob_open(imp->s->userdata, member, (int64_t) len, digest, &writer, err);
        if (r >= 0) {
                r = imp->s->blob_write(writer, text, len, err);
                if (r < 0)
                        imp->s->blob_abort(writer);
                else
                        r = imp->s->blob_commit(writer, got, err);
        }
        if (r < 0 && r != -EEXIST)
                return r;
        *ret = (struct oci_descriptor){.media_type = xstrdup(media_type),
                                       .digest = xstrdup(digest),
                                       .size = (int64_t) len};
        return 0;
}

/* Writes the schema 2 manifest of one manifest.json element; *ret describes it. */
static int docker_manifest(struct importer *imp, json_t *elem, struct oci_descriptor *ret,
                           struct errmsg *err)
{
        _cleanup_(json_decrefp) json_t *manifest = NULL;
        json_t *layers = json_object_get(elem, "Layers"), *config = NULL, *descs = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        if (!json_is_array(layers))
                return errmsg_set(err, -EINVAL, "Layers: missing or not an array");
        if (json_array_size(layers) > IMAGE_ARCHIVE_MAX_LAYERS)
                return errmsg_set(err, -EINVAL, "Layers: more than %d", IMAGE_ARCHIVE_MAX_LAYERS);
        r = docker_config(imp, elem, json_array_size(layers), &config, err);
        if (r >= 0)
                r = docker_layers(imp, layers, &descs, err);
        if (r < 0) {
                json_decref(config);
                return r;
        }
        /* containerd's field order and compact form, so ctr import gives the same digest */
        manifest = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
                             MEDIA_TYPE_DOCKER_MANIFEST, "config", config, "layers", descs);
        text = json_dumps(manifest, JSON_COMPACT);
        if (!manifest || !text)
                abort(); /* jansson fails only on OOM here */
        return put_blob(imp, MEDIA_TYPE_DOCKER_MANIFEST, text, ret, err);
}

/*
 * The platform of a docker save image, from its config (os and architecture, normalised), as
 * containerd's importer puts it on the manifest's descriptor.
 */
static int docker_platform(struct importer *imp, json_t *elem, struct oci_platform **ret,
                           struct errmsg *err)
{
        _cleanup_(oci_image_config_freep) struct oci_image_config *c = NULL;
        const struct member *m =
                member_resolve(imp, json_string_value(json_object_get(elem, "Config")));
        _cleanup_free_ char *body = NULL;
        struct oci_platform *p;
        size_t len;
        int r;

        r = m ? imp->s->blob_read(imp->s->userdata, m->digest, IMAGE_ARCHIVE_CONFIG_MAX, &body,
                                  &len, err)
              : -ENOENT;
        if (r >= 0)
                r = oci_image_config_parse(body, len, &c, err);
        if (r < 0)
                return r;
        p = xnew0(struct oci_platform, 1);
        p->os = xstrdup(c->platform.os);
        p->architecture = xstrdup(c->platform.architecture);
        oci_platform_normalize(p);
        *ret = p;
        return 0;
}

/* The OCI ref name containerd gives a normalised name: what follows the repository. */
static char *ref_name_of(const struct image_ref *ref)
{
        if (ref->tag && ref->digest)
                return xasprintf("%s@%s", ref->tag, ref->digest);
        if (ref->tag)
                return xstrdup(ref->tag);
        return xasprintf("@%s", ref->digest);
}

static int docker_names(struct importer *imp, json_t *elem, const struct oci_descriptor *d,
                        size_t position, struct errmsg *err)
{
        json_t *tags = json_object_get(elem, "RepoTags"), *v;
        size_t i;

        if (tags && !json_is_null(tags) && !json_is_array(tags))
                return errmsg_set(err, -EINVAL, "RepoTags: not an array");
        if (json_array_size(tags) == 0)
                add_entry(imp, NULL, NULL, d, position);
        json_array_foreach (tags, i, v) {
                _cleanup_(image_ref_freep) struct image_ref *ref = NULL;
                _cleanup_free_ char *name = NULL, *ref_name = NULL;
                int r;

                if (!json_is_string(v))
                        return errmsg_set(err, -EINVAL, "RepoTags[%zu]: not a string", i);
                r = image_ref_parse(json_string_value(v), &ref, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "RepoTags[%zu]", i);
                name = image_ref_string(ref);
                ref_name = ref_name_of(ref);
                add_entry(imp, name, ref_name, d, position);
        }
        return 0;
}

static int import_docker(struct importer *imp, struct errmsg *err)
{
        _cleanup_(json_decrefp) json_t *root = NULL;
        json_error_t je;
        json_t *elem;
        size_t i;

        root = json_loadb(imp->manifest_json, imp->manifest_json_len, JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return json_fail("manifest.json", &je, err);
        if (!json_is_array(root))
                return errmsg_set(err, -EINVAL, "manifest.json: not an array");
        if (json_array_size(root) > IMAGE_ARCHIVE_MAX_IMAGES)
                return errmsg_set(err, -EINVAL, "manifest.json: more than %d images",
                                  IMAGE_ARCHIVE_MAX_IMAGES);
        json_array_foreach (root, i, elem) {
                struct oci_descriptor d = {0};
                int r = json_is_object(elem) ? 0 : errmsg_set(err, -EINVAL, "not an object");

                if (r >= 0)
                        r = docker_manifest(imp, elem, &d, err);
                if (r >= 0)
                        r = walk(imp, &d, 0, err);
                if (r >= 0)
                        r = docker_platform(imp, elem, &d.platform, err);
                if (r >= 0)
                        r = docker_names(imp, elem, &d, i, err);
                oci_descriptor_release(&d);
                if (r < 0)
                        return errmsg_prefix(err, r, "manifest.json: [%zu]", i);
        }
        return 0;
}

/* --- OCI layout ----------------------------------------------------------------------- */

static int check_layout(struct importer *imp, struct errmsg *err)
{
        _cleanup_(json_decrefp) json_t *root = NULL;
        const char *version;
        json_error_t je;

        root = json_loadb(imp->oci_layout, imp->oci_layout_len, 0, &je);
        if (!root)
                return json_fail("oci-layout", &je, err);
        version = json_string_value(json_object_get(root, "imageLayoutVersion"));
        if (!version)
                return errmsg_set(err, -EINVAL, "oci-layout: imageLayoutVersion missing");
        if (!STREQ(version, OCI_LAYOUT_VERSION))
                return errmsg_set(err, -EOPNOTSUPP, "oci-layout: version \"%s\" unsupported",
                                  version);
        if (!imp->index_json)
                return errmsg_set(err, -EINVAL, "index.json: not in the archive");
        return 0;
}

static int import_oci(struct importer *imp, struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        int r;

        r = check_layout(imp, err);
        if (r < 0)
                return r;
        r = oci_index_parse(imp->index_json, imp->index_json_len, &idx, err);
        if (r >= 0 && idx->n_manifests > IMAGE_ARCHIVE_MAX_IMAGES)
                r = errmsg_set(err, -EINVAL, "more than %d images", IMAGE_ARCHIVE_MAX_IMAGES);
        if (r < 0)
                return errmsg_prefix(err, r, "index.json");
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const struct oci_descriptor *d = &idx->manifests[i];

                /* the entries themselves are what was asked for: walked whatever the platform */
                r = walk(imp, d, 0, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "index.json: manifests[%zu] %s", i, d->digest);
                add_entry(imp,
                          oci_annotation_get(d->annotations, IMAGE_ARCHIVE_ANNOTATION_IMAGE_NAME),
                          oci_annotation_get(d->annotations, IMAGE_ARCHIVE_ANNOTATION_REF_NAME), d,
                          i);
        }
        return 0;
}

/* --- the index kept (ctr import --index-name) ----------------------------------------- */

static json_t *entry_json(const struct image_archive_entry *e)
{
        json_t *o = json_pack("{s:s, s:s, s:I}", "mediaType", e->target.media_type, "digest",
                              e->target.digest, "size", (json_int_t) e->target.size);

        if (e->image_name)
                (void) json_object_set_new(
                        o, "annotations",
                        json_pack("{s:s, s:s}", IMAGE_ARCHIVE_ANNOTATION_IMAGE_NAME, e->image_name,
                                  IMAGE_ARCHIVE_ANNOTATION_REF_NAME, e->ref_name));
        if (e->target.platform) {
                const struct oci_platform *p = e->target.platform;
                json_t *platform =
                        json_pack("{s:s, s:s}", "architecture", p->architecture, "os", p->os);

                if (p->variant)
                        (void) json_object_set_new(platform, "variant", json_string(p->variant));
                (void) json_object_set_new(o, "platform", platform);
        }
        return o;
}

/* The index containerd's importer writes for a docker save archive (Go's field order). */
static char *docker_index_json(struct importer *imp)
{
        _cleanup_(json_decrefp) json_t *root = NULL;
        json_t *manifests = json_array();
        char *text;

        for (size_t i = 0; i < imp->res.n_entries; i++)
                (void) json_array_append_new(manifests, entry_json(&imp->res.entries[i]));
        root = json_pack("{s:i, s:o}", "schemaVersion", 2, "manifests", manifests);
        text = root ? json_dumps(root, JSON_COMPACT) : NULL;
        if (!text)
                abort(); /* jansson fails only on OOM here */
        return text;
}

/* Writes the index and labels it with the entries it keeps for the platform. */
static int keep_index(struct importer *imp, struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_free_ char *text = NULL;
        struct oci_descriptor d = {0};
        int r;

        text = imp->oci_layout ? xstrndup(imp->index_json, imp->index_json_len)
                               : docker_index_json(imp);
        r = put_blob(imp, MEDIA_TYPE_OCI_INDEX, text, &d, err);
        if (r >= 0)
                r = oci_index_parse(text, strlen(text), &idx, err);
        if (r >= 0) {
                imp->res.index = d;
                d = (struct oci_descriptor){0};
                r = walk_index(imp, &imp->res.index, text, strlen(text), 0, err);
        }
        oci_descriptor_release(&d);
        return r < 0 ? errmsg_prefix(err, r, "index") : 0;
}

static int import_run(struct importer *imp, int fd, struct errmsg *err)
{
        int r = read_archive(imp, fd, err);

        if (r < 0)
                return r;
        if (imp->oci_layout)
                r = import_oci(imp, err);
        else if (imp->manifest_json)
                r = import_docker(imp, err);
        else
                r = errmsg_set(err, -EINVAL,
                               "neither oci-layout nor manifest.json in the"
                               " archive: not an image archive");
        if (r >= 0 && imp->o->keep_index)
                r = keep_index(imp, err);
        return r;
}

int image_archive_import(const struct image_archive_store *s, int tar_fd,
                         const struct image_archive_import_opts *o,
                         struct image_archive_result *ret, struct errmsg *err)
{
        struct importer imp = {.s = s, .o = o, .buf = xmalloc(COPY_BUF_SIZE)};
        int r;

        if (o->platform)
                oci_platform_copy(o->platform, &imp.platform);
        else
                oci_platform_default(&imp.platform);
        r = import_run(&imp, tar_fd, err);
        if (r >= 0) {
                imp.res.is_oci = imp.oci_layout != NULL;
                *ret = imp.res;
                imp.res = (struct image_archive_result){0};
        }
        importer_release(&imp);
        return r;
}
