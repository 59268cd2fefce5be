/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Importing docker-save and OCI layout tars (image-archive.h). One pass over the tar writes
 * every regular file into the content store, keeping only its name, digest and size, and
 * the JSON files in memory; then the format is decided (oci-layout wins, as in containerd's
 * importer), the images are walked from their targets down to the layers, with each blob
 * checked, recorded and labelled; then the images are unpacked and recorded. A lease holds
 * every blob from the moment it is written until the images reference it.
 */
#include <archive.h>
#include <archive_entry.h>
#include <inttypes.h>
#include <jansson.h>

#include "containerd/image-archive.h"
#include "lib/fs.h"
#include "lib/reference.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define COPY_BUF_SIZE         (1u << 20)
#define READ_BLOCK_SIZE       (64u << 10)
#define LINK_HOPS_MAX         16
#define WALK_DEPTH_MAX        8
#define ANNOTATION_IMAGE_NAME "io.containerd.image.name"
#define ANNOTATION_REF_NAME   "org.opencontainers.image.ref.name"
#define OCI_LAYOUT_VERSION    "1.0.0"

/* A member of the archive: a file now in the content store, or a link to another member. */
struct member {
        char *name; /* cleaned: no "./", no "//", ".." resolved */
        char *link; /* cleaned target of a symlink or hardlink; NULL for files */
        char digest[DIGEST_STR_MAX];
        int64_t size;
};

struct named_image {
        char *name;
        struct descriptor target;
};

struct importer {
        struct store *st;
        const char *ns;
        const struct image_import_opts *o;
        struct oci_platform platform; /* o->platform or this host's */
        char *lease;
        struct archive *a;
        uint8_t *buf;
        size_t n_entries;
        unsigned n_ingests;
        struct member *members;
        size_t n_members, alloc_members;
        char *manifest_json, *index_json, *oci_layout;
        size_t manifest_json_len, index_json_len, oci_layout_len;
        struct named_image *images;
        size_t n_images, alloc_images;
        char (*walked)[DIGEST_STR_MAX];
        size_t n_walked, alloc_walked;
};

static void importer_release(struct importer *imp)
{
        if (imp->a)
                (void) archive_read_free(imp->a);
        for (size_t i = 0; i < imp->n_members; i++) {
                free(imp->members[i].name);
                free(imp->members[i].link);
        }
        for (size_t i = 0; i < imp->n_images; i++) {
                free(imp->images[i].name);
                descriptor_release(&imp->images[i].target);
        }
        free(imp->members);
        free(imp->images);
        free(imp->walked);
        free(imp->manifest_json);
        free(imp->index_json);
        free(imp->oci_layout);
        free(imp->buf);
        free(imp->lease);
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

static int hold(struct importer *imp, const char *digest, struct errmsg *err)
{
        return lease_add_resource(imp->st->md, imp->ns, imp->lease, "content", digest, err);
}

/* Copies the current member's data into w. */
static int copy_data(struct importer *imp, struct content_writer *w, struct errmsg *err)
{
        for (;;) {
                la_ssize_t n = archive_read_data(imp->a, imp->buf, COPY_BUF_SIZE);
                int r;

                if (n == 0)
                        return 0;
                if (n < 0)
                        return archive_fail(imp, NULL, err); /* the caller names the member */
                r = content_writer_write(w, imp->buf, (size_t) n, err);
                if (r < 0)
                        return r;
        }
}

/* Streams the current member into the content store; digest = what it hashes to. */
static int ingest_member(struct importer *imp, const char *name, struct archive_entry *e,
                         struct errmsg *err)
{
        _cleanup_(content_writer_freep) struct content_writer *w = NULL;
        _cleanup_free_ char *ref = xasprintf("%s-%u", imp->lease, imp->n_ingests++);
        int64_t size = archive_entry_size(e);
        char expected[DIGEST_STR_MAX], digest[DIGEST_STR_MAX];
        struct member *m;
        int r;

        blob_name_digest(name, expected);
        r = expected[0] ? hold(imp, expected, err) : 0;
        if (r >= 0)
                r = content_writer_open(imp->st->cs, ref, size > 0 ? (uint64_t) size : 0,
                                        expected[0] ? expected : NULL, &w, err);
        if (r == -EEXIST) { /* in the store already: trust it, skip the bytes */
                memcpy(digest, expected, DIGEST_STR_MAX);
                r = 0;
        } else {
                if (r >= 0)
                        r = copy_data(imp, w, err);
                if (r >= 0)
                        r = content_writer_commit(TAKE_PTR(w), (uint64_t) MAX(size, 0), NULL,
                                                  digest, err);
                if (r < 0) {
                        w = content_writer_free(w);
                        (void) content_store_abort(imp->st->cs, ref, NULL);
                        return errmsg_prefix(err, r, "%s%s", name,
                                             r == -EBADMSG && expected[0]
                                                     ? ": bytes do not match the digest"
                                                     : "");
                }
                if (!expected[0])
                        r = hold(imp, digest, err);
        }
        if (r < 0)
                return errmsg_prefix(err, r, "%s", name);
        m = member_put(imp, name);
        memcpy(m->digest, digest, DIGEST_STR_MAX);
        m->size = MAX(size, 0);
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

/* Sets labels (a strv of key, value) on ns's record of digest; frees them. */
static int set_labels(struct importer *imp, const char *digest, char **labels, struct errmsg *err)
{
        _cleanup_strv_ char **l = labels;

        return l ? content_record_update_labels(imp->st->md, imp->ns, digest, l, false, err) : 0;
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
                key = xasprintf(LABEL_GC_REF_CONTENT ".m.%zu", n_kept++);
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
        push_label(&labels, LABEL_GC_REF_CONTENT ".config", m->config.digest);
        for (size_t i = 0; i < m->n_layers; i++) {
                _cleanup_free_ char *key = xasprintf(LABEL_GC_REF_CONTENT ".l.%zu", i);

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
        struct content_info info;
        size_t len;
        int r;

        if (is_walked(imp, d->digest))
                return 0;
        if (depth > WALK_DEPTH_MAX)
                return errmsg_set(err, -EINVAL, "indexes nested deeper than %d", WALK_DEPTH_MAX);
        r = content_store_info(imp->st->cs, d->digest, &info, NULL);
        if (r == -ENOENT)
                return errmsg_set(err, r, "not in the archive");
        if (r < 0)
                return errmsg_set(err, r, "%s", strerror(-r));
        if ((int64_t) info.size != d->size)
                return errmsg_set(err, -EINVAL, "size %" PRId64 " but the blob has %" PRIu64,
                                  d->size, info.size);
        r = content_record_add(imp->st->md, imp->ns, d->digest, d->size, err);
        if (r < 0)
                return r;
        imp->walked =
                xgrow(imp->walked, &imp->alloc_walked, imp->n_walked + 1, sizeof(*imp->walked));
        memcpy(imp->walked[imp->n_walked++], d->digest, DIGEST_STR_MAX);
        if (kind != MEDIA_KIND_INDEX && kind != MEDIA_KIND_MANIFEST)
                return 0;
        r = image_read_blob(imp->st, d->digest, MANIFEST_MAX_BYTES, &body, &len, err);
        if (r < 0)
                return r;
        if (kind == MEDIA_KIND_INDEX)
                return walk_index(imp, d, body, len, depth, err);
        return walk_manifest(imp, d, body, len, depth, err);
}

/* Adds name -> target to the images to record; a later one of the same name wins. */
static void add_image(struct importer *imp, const char *name, const struct oci_descriptor *d)
{
        struct named_image *n = NULL;

        for (size_t i = 0; i < imp->n_images && !n; i++)
                if (STREQ(imp->images[i].name, name))
                        n = &imp->images[i];
        if (!n) {
                imp->images = xgrow(imp->images, &imp->alloc_images, imp->n_images + 1,
                                    sizeof(*imp->images));
                n = &imp->images[imp->n_images++];
                *n = (struct named_image){.name = xstrdup(name)};
        }
        descriptor_release(&n->target);
        n->target.media_type = xstrdup(d->media_type);
        (void) snprintf(n->target.digest, DIGEST_STR_MAX, "%s", d->digest);
        n->target.size = d->size;
}

/* The normalised form of a reference ("busybox:1" -> "docker.io/library/busybox:1"). */
static int normalize_name(const char *s, char **ret, struct errmsg *err)
{
        _cleanup_(image_ref_freep) struct image_ref *ref = NULL;
        int r = image_ref_parse(s, &ref, err);

        if (r < 0)
                return r;
        *ret = image_ref_string(ref);
        return 0;
}

/* --- docker save ---------------------------------------------------------------------- */

static int json_fail(const char *what, const json_error_t *je, struct errmsg *err)
{
        return errmsg_set(err, -EINVAL, "%s: line %d column %d: %s", what, je->line, je->column,
                          je->text);
}

/* The media type of a layer file from its first bytes, as containerd's importer says it. */
static int layer_media_type(struct importer *imp, const char *digest, const char **ret,
                            struct errmsg *err)
{
        static const uint8_t gzip_magic[] = {0x1f, 0x8b}, zstd_magic[] = {0x28, 0xb5, 0x2f, 0xfd};
        _cleanup_close_ int fd = -EBADF;
        uint8_t magic[4] = {0};
        ssize_t n;
        int r;

        r = content_store_open_blob(imp->st->cs, digest, &fd, err);
        if (r < 0)
                return r;
        n = pread(fd, magic, sizeof(magic), 0);
        if (n < 0)
                return errmsg_set(err, -errno, "content %s: %s", digest, strerror(errno));
        if (n >= 2 && memcmp(magic, gzip_magic, sizeof(gzip_magic)) == 0)
                *ret = MEDIA_TYPE_DOCKER_LAYER_GZIP;
        else if (n >= 4 && memcmp(magic, zstd_magic, sizeof(zstd_magic)) == 0)
                *ret = MEDIA_TYPE_OCI_LAYER_ZSTD;
        else
                *ret = MEDIA_TYPE_DOCKER_LAYER;
        return 0;
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
        r = image_read_blob(imp->st, m->digest, CONFIG_MAX_BYTES, &body, &len, err);
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
                const char *path = json_string_value(v), *media_type = NULL;
                const struct member *m;
                int r;

                if (!path)
                        return errmsg_set(err, -EINVAL, "Layers[%zu]: not a string", i);
                m = member_resolve(imp, path);
                if (!m)
                        return errmsg_set(err, -EINVAL, "Layers[%zu] \"%s\": not in the archive", i,
                                          path);
                r = layer_media_type(imp, m->digest, &media_type, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "Layers[%zu] \"%s\"", i, path);
                (void) json_array_append_new(out, descriptor_json(media_type, m->digest, m->size));
        }
        *ret = TAKE_PTR(out);
        return 0;
}

/* Writes the schema 2 manifest of one manifest.json element; *ret describes it. */
static int docker_manifest(struct importer *imp, json_t *elem, struct oci_descriptor *ret,
                           struct errmsg *err)
{
        _cleanup_(json_decrefp) json_t *manifest = NULL;
        json_t *layers = json_object_get(elem, "Layers"), *config = NULL, *descs = NULL;
        _cleanup_free_ char *text = NULL;
        char digest[DIGEST_STR_MAX];
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
        digest_bytes(text, strlen(text), digest);
        r = hold(imp, digest, err);
        if (r >= 0)
                r = content_store_put(imp->st->cs, text, strlen(text), NULL, err);
        if (r < 0)
                return r;
        *ret = (struct oci_descriptor){.media_type = xstrdup(MEDIA_TYPE_DOCKER_MANIFEST),
                                       .digest = xstrdup(digest),
                                       .size = (int64_t) strlen(text)};
        return 0;
}

static int docker_names(struct importer *imp, json_t *elem, const struct oci_descriptor *d,
                        struct errmsg *err)
{
        json_t *tags = json_object_get(elem, "RepoTags"), *v;
        size_t i;

        if (tags && !json_is_null(tags) && !json_is_array(tags))
                return errmsg_set(err, -EINVAL, "RepoTags: not an array");
        json_array_foreach (tags, i, v) {
                _cleanup_free_ char *name = NULL;
                int r;

                if (!json_is_string(v))
                        return errmsg_set(err, -EINVAL, "RepoTags[%zu]: not a string", i);
                r = normalize_name(json_string_value(v), &name, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "RepoTags[%zu]", i);
                add_image(imp, name, d);
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
                        r = docker_names(imp, elem, &d, err);
                oci_descriptor_release(&d);
                if (r < 0)
                        return errmsg_prefix(err, r, "manifest.json: [%zu]", i);
        }
        return 0;
}

/* --- OCI layout ----------------------------------------------------------------------- */

/* The name of index.json's entry d (see image_import()); NULL when it has none. */
static int oci_entry_name(struct importer *imp, const struct oci_descriptor *d, char **ret,
                          struct errmsg *err)
{
        const char *name = oci_annotation_get(d->annotations, ANNOTATION_IMAGE_NAME);
        const char *ref = oci_annotation_get(d->annotations, ANNOTATION_REF_NAME);
        _cleanup_free_ char *full = NULL;

        *ret = NULL;
        if (name) {
                if (!name[0] || strlen(name) > ID_MAX_BYTES)
                        return errmsg_set(err, -EINVAL, "annotation %s: empty or too long",
                                          ANNOTATION_IMAGE_NAME);
                *ret = xstrdup(name);
                return 0;
        }
        if (!ref || !ref[0])
                return 0;
        if (strpbrk(ref, "/:@"))
                full = xstrdup(ref);
        else if (imp->o->base_name)
                full = xasprintf("%s:%s", imp->o->base_name, ref);
        else
                return 0;
        return normalize_name(full, ret, err);
}

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
                _cleanup_free_ char *name = NULL;

                /* the entries themselves are what was asked for: walked whatever the platform */
                r = oci_entry_name(imp, d, &name, err);
                if (r >= 0)
                        r = walk(imp, d, 0, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "index.json: manifests[%zu] %s", i, d->digest);
                if (name)
                        add_image(imp, name, d);
        }
        return 0;
}

/* --- unpacking and recording ---------------------------------------------------------- */

static int unpack_images(struct importer *imp, struct errmsg *err)
{
        for (size_t i = 0; i < imp->n_images; i++) {
                bool is_done = false;
                int r;

                for (size_t j = 0; j < i && !is_done; j++)
                        is_done = STREQ(imp->images[j].target.digest, imp->images[i].target.digest);
                if (is_done)
                        continue;
                r = image_unpack(imp->st, imp->ns, &imp->images[i].target, imp->o->platform,
                                 imp->o->snapshotter, NULL, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "unpack %s", imp->images[i].name);
        }
        return 0;
}

/* Puts back what record_images changed before images[n] (records olds[i] held before). */
static void unrecord_images(struct importer *imp, struct image_record *olds, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (olds[i].name)
                        (void) image_put(imp->st->md, imp->ns, &olds[i], true, NULL);
                else
                        (void) image_delete(imp->st->md, imp->ns, imp->images[i].name, NULL);
        }
}

static int record_images(struct importer *imp, struct errmsg *err)
{
        struct image_record *olds = xnew0(struct image_record, imp->n_images);
        int r = 0;
        size_t i;

        for (i = 0; i < imp->n_images; i++) {
                struct image_record rec = {.name = imp->images[i].name,
                                           .target = imp->images[i].target};

                if (image_get(imp->st->md, imp->ns, rec.name, &olds[i], NULL) < 0)
                        olds[i] = (struct image_record){0};
                r = image_put(imp->st->md, imp->ns, &rec, olds[i].name != NULL, err);
                if (r < 0)
                        break;
        }
        if (r < 0)
                unrecord_images(imp, olds, i);
        image_records_free(olds, imp->n_images);
        return r;
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
        if (r >= 0 && imp->n_images == 0)
                r = errmsg_set(err, -EINVAL, "no image has a name (%s)",
                               imp->oci_layout ? "give a base name" : "no RepoTags");
        if (r >= 0 && imp->o->snapshotter)
                r = unpack_images(imp, err);
        if (r >= 0)
                r = record_images(imp, err);
        return r;
}

int image_import(struct store *st, const char *ns, int tar_fd, const struct image_import_opts *o,
                 char ***ret_names, struct errmsg *err)
{
        struct importer imp = {.st = st, .ns = ns, .o = o, .buf = xmalloc(COPY_BUF_SIZE)};
        int r;

        if (o->platform)
                oci_platform_copy(o->platform, &imp.platform);
        else
                oci_platform_default(&imp.platform);
        r = image_lease_create(st, ns, "import", &imp.lease, err);
        if (r >= 0) {
                r = import_run(&imp, tar_fd, err);
                (void) lease_delete(st->md, ns, imp.lease, NULL);
        }
        if (r >= 0 && ret_names) {
                char **names = xnew0(char *, imp.n_images + 1);

                for (size_t i = 0; i < imp.n_images; i++)
                        names[i] = xstrdup(imp.images[i].name);
                *ret_names = names;
        }
        importer_release(&imp);
        return r < 0 ? errmsg_prefix(err, r, "import") : 0;
}
