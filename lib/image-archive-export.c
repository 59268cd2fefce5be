/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exporting images as one tar (image-archive.h) from a store given as callbacks: the blobs
 * each image references are collected from its target down, then the tar is written in ctr
 * export's layout and order, blobs streamed from the store in chunks. The docker
 * manifest.json is made from each image's manifest for the platform, with paths into blobs/,
 * so docker load finds the same files the OCI layout names.
 */
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "lib/image-archive.h"
#include "lib/reference.h"
#include "lib/xalloc.h"

#define COLLECT_DEPTH_MAX     8
#define ANNOTATION_IMAGE_NAME IMAGE_ARCHIVE_ANNOTATION_IMAGE_NAME
#define ANNOTATION_REF_NAME   IMAGE_ARCHIVE_ANNOTATION_REF_NAME

static const char *const format_names[_IMAGE_EXPORT_FORMAT_MAX] = {
        [IMAGE_EXPORT_OCI_AND_DOCKER] = "oci+docker",
        [IMAGE_EXPORT_OCI] = "oci",
};

const char *image_export_format_to_string(enum image_export_format f)
{
        return (unsigned) f < _IMAGE_EXPORT_FORMAT_MAX ? format_names[f] : NULL;
}

int image_export_format_from_string(const char *s)
{
        for (size_t i = 0; s && i < _IMAGE_EXPORT_FORMAT_MAX; i++)
                if (STREQ(format_names[i], s))
                        return (int) i;
        return -EINVAL;
}

struct image {
        const char *name; /* borrowed from the caller's names */
        struct oci_descriptor target;
};

struct exporter {
        const struct image_archive_store *s;
        const struct image_export_opts *o;
        struct oci_platform platform; /* o->platform or this host's */
        struct image *images;         /* sorted by name */
        size_t n_images;
        char (*blobs)[DIGEST_STR_MAX];
        size_t n_blobs, alloc_blobs;
        struct archive *a;
};

static void exporter_release(struct exporter *ex)
{
        if (ex->a)
                (void) archive_write_free(ex->a);
        for (size_t i = 0; i < ex->n_images; i++)
                oci_descriptor_release(&ex->images[i].target);
        free(ex->images);
        free(ex->blobs);
        oci_platform_release(&ex->platform);
}

static int compare_images(const void *a, const void *b)
{
        return strcmp(((const struct image *) a)->name, ((const struct image *) b)->name);
}

static int compare_digests(const void *a, const void *b)
{
        return strcmp(a, b);
}

/* The records of names, sorted, each once. */
static int load_images(struct exporter *ex, char *const *names, struct errmsg *err)
{
        size_t n = 0;

        while (names && names[n])
                n++;
        if (n == 0)
                return errmsg_set(err, -EINVAL, "no image named");
        ex->images = xnew0(struct image, n);
        for (size_t i = 0; i < n; i++) {
                bool is_repeated = false;
                int r;

                for (size_t j = 0; j < i && !is_repeated; j++)
                        is_repeated = STREQ(names[i], names[j]);
                if (is_repeated)
                        continue;
                r = ex->s->image_get(ex->s->userdata, names[i], &ex->images[ex->n_images].target,
                                     err);
                if (r < 0)
                        return r;
                ex->images[ex->n_images++].name = names[i];
        }
        if (!ex->o->keep_order)
                qsort(ex->images, ex->n_images, sizeof(*ex->images), compare_images);
        return 0;
}

static bool has_blob(struct exporter *ex, const char *digest)
{
        for (size_t i = 0; i < ex->n_blobs; i++)
                if (STREQ(ex->blobs[i], digest))
                        return true;
        return false;
}

/* Whether child d of idx is the platform's (see image_import_opts.all_platforms). */
static bool is_platform_child(struct exporter *ex, const struct oci_index *idx,
                              const struct oci_descriptor *d)
{
        return !d->platform || oci_platform_matches(&ex->platform, d->platform) ||
               oci_index_select(idx, &ex->platform) == d;
}

static int collect(struct exporter *ex, const char *media_type, const char *digest,
                   bool is_required, unsigned depth, struct errmsg *err);

static int collect_index(struct exporter *ex, const char *body, size_t len, bool is_required,
                         unsigned depth, struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        int r = oci_index_parse(body, len, &idx, err);

        for (size_t i = 0; r >= 0 && i < idx->n_manifests; i++) {
                const struct oci_descriptor *c = &idx->manifests[i];
                bool is_needed = ex->o->all_platforms || is_platform_child(ex, idx, c);

                r = collect(ex, c->media_type, c->digest, is_required && is_needed, depth + 1, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "manifests[%zu] %s", i, c->digest);
        }
        return r;
}

static int collect_manifest(struct exporter *ex, const char *body, size_t len, bool is_required,
                            unsigned depth, struct errmsg *err)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        int r = oci_manifest_parse(body, len, &m, err);

        if (r < 0)
                return r;
        r = collect(ex, m->config.media_type, m->config.digest, is_required, depth + 1, err);
        if (r < 0)
                return errmsg_prefix(err, r, "config %s", m->config.digest);
        for (size_t i = 0; i < m->n_layers; i++) {
                r = collect(ex, m->layers[i].media_type, m->layers[i].digest, is_required,
                            depth + 1, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "layers[%zu] %s", i, m->layers[i].digest);
        }
        return 0;
}

/*
 * Adds digest and, for an index or a manifest, what it references to the blobs to write.
 * A blob not in the store is an error when is_required, else it is left out with its
 * children.
 */
static int collect(struct exporter *ex, const char *media_type, const char *digest,
                   bool is_required, unsigned depth, struct errmsg *err)
{
        enum media_kind kind = media_type_kind(media_type);
        _cleanup_free_ char *body = NULL;
        struct errmsg e = {0};
        int64_t size;
        size_t len;
        int r;

        if (has_blob(ex, digest))
                return 0;
        if (depth > COLLECT_DEPTH_MAX)
                return errmsg_set(err, -EINVAL, "indexes nested deeper than %d", COLLECT_DEPTH_MAX);
        r = ex->s->blob_check(ex->s->userdata, digest, &size, &e);
        if (r == -ENOENT && !is_required)
                return 0;
        if (r == -ENOENT)
                return errmsg_set(err, r, "not in the store");
        if (r < 0)
                return errmsg_set(err, r, "%s", e.msg);
        ex->blobs = xgrow(ex->blobs, &ex->alloc_blobs, ex->n_blobs + 1, sizeof(*ex->blobs));
        (void) snprintf(ex->blobs[ex->n_blobs++], DIGEST_STR_MAX, "%s", digest);
        if (kind != MEDIA_KIND_INDEX && kind != MEDIA_KIND_MANIFEST)
                return 0;
        r = ex->s->blob_read(ex->s->userdata, digest, MANIFEST_MAX_BYTES, &body, &len, err);
        if (r < 0)
                return r;
        if (kind == MEDIA_KIND_INDEX)
                return collect_index(ex, body, len, is_required, depth, err);
        return collect_manifest(ex, body, len, is_required, depth, err);
}

/* --- the JSON files ------------------------------------------------------------------- */

/* v in compact JSON (the caller's); drops v. */
static char *dump(json_t *v)
{
        char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;

        if (!text)
                abort(); /* jansson fails only on OOM here */
        json_decref(v);
        return text;
}

/* "name:tag" as docker prints it, for RepoTags; NULL when name has no tag or no parse. */
static char *familiar_tag(const char *name, struct image_ref **ret_ref)
{
        _cleanup_(image_ref_freep) struct image_ref *ref = NULL;
        struct image_ref tagged;

        if (image_ref_parse(name, &ref, NULL) < 0 || !ref->tag)
                return NULL;
        tagged = *ref;
        tagged.digest = NULL; /* docker load wants a NamedTagged: "repo:tag" */
        if (ret_ref)
                *ret_ref = TAKE_PTR(ref);
        return image_ref_familiar(&tagged);
}

static char *index_json(struct exporter *ex)
{
        json_t *manifests = json_array();

        for (size_t i = 0; i < ex->n_images; i++) {
                const struct image *img = &ex->images[i];
                _cleanup_(image_ref_freep) struct image_ref *ref = NULL;
                json_t *annotations = json_pack("{s:s}", ANNOTATION_IMAGE_NAME, img->name);

                if (image_ref_parse(img->name, &ref, NULL) >= 0 && ref->tag)
                        (void) json_object_set_new(annotations, ANNOTATION_REF_NAME,
                                                   json_string(ref->tag));
                (void) json_array_append_new(
                        manifests,
                        json_pack("{s:s, s:s, s:I, s:o}", "mediaType", img->target.media_type,
                                  "digest", img->target.digest, "size",
                                  (json_int_t) img->target.size, "annotations", annotations));
        }
        return dump(json_pack("{s:i, s:o}", "schemaVersion", 2, "manifests", manifests));
}

static char *blob_path(const char *digest)
{
        return xasprintf("blobs/sha256/%s", digest_hex(digest));
}

/* The platform's manifest of target: *ret_digest (borrowed from target or *ret_index). */
static int pick_manifest(struct exporter *ex, const struct oci_descriptor *target,
                         struct oci_index **ret_index, const char **ret_digest, struct errmsg *err)
{
        _cleanup_free_ char *body = NULL;
        const struct oci_descriptor *d;
        size_t len;
        int r;

        if (media_type_kind(target->media_type) != MEDIA_KIND_INDEX) {
                *ret_digest = target->digest;
                return 0;
        }
        r = ex->s->blob_read(ex->s->userdata, target->digest, MANIFEST_MAX_BYTES, &body, &len, err);
        if (r >= 0)
                r = oci_index_parse(body, len, ret_index, err);
        if (r < 0)
                return errmsg_prefix(err, r, "index %s", target->digest);
        d = oci_index_select(*ret_index, &ex->platform);
        if (!d) {
                _cleanup_free_ char *want = oci_platform_string(&ex->platform);

                return errmsg_set(err, -EINVAL, "index %s: no manifest for platform %s",
                                  target->digest, want);
        }
        *ret_digest = d->digest;
        return 0;
}

/* The manifest of target for the platform; ret_digest gets its digest. */
static int resolve(struct exporter *ex, const struct oci_descriptor *target,
                   struct oci_manifest **ret, char ret_digest[DIGEST_STR_MAX], struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_free_ char *body = NULL;
        const char *digest = NULL;
        size_t len;
        int r;

        r = pick_manifest(ex, target, &idx, &digest, err);
        if (r >= 0)
                r = ex->s->blob_read(ex->s->userdata, digest, MANIFEST_MAX_BYTES, &body, &len, err);
        if (r >= 0)
                r = oci_manifest_parse(body, len, ret, err);
        if (r < 0)
                return r;
        (void) snprintf(ret_digest, DIGEST_STR_MAX, "%s", digest);
        return 0;
}

/* A new element of manifest.json for m: Config and Layers as paths into blobs/. */
static json_t *docker_element(const struct oci_manifest *m)
{
        _cleanup_free_ char *config = blob_path(m->config.digest);
        json_t *layers = json_array();

        for (size_t i = 0; i < m->n_layers; i++) {
                _cleanup_free_ char *path = blob_path(m->layers[i].digest);

                (void) json_array_append_new(layers, json_string(path));
        }
        return json_pack("{s:s, s:[], s:o}", "Config", config, "RepoTags", "Layers", layers);
}

/* Adds img to manifest.json (list; seen[i] is the manifest of list[i]) and repositories. */
static int docker_add(struct exporter *ex, const struct image *img, json_t *list,
                      char (*seen)[DIGEST_STR_MAX], json_t *repos, struct errmsg *err)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_(image_ref_freep) struct image_ref *ref = NULL;
        _cleanup_free_ char *tag = NULL, *repo = NULL;
        char digest[DIGEST_STR_MAX];
        json_t *elem = NULL;
        size_t i;
        int r;

        r = resolve(ex, &img->target, &m, digest, err);
        if (r < 0)
                return errmsg_prefix(err, r, "image \"%s\"", img->name);
        for (i = 0; i < json_array_size(list) && !elem; i++)
                if (STREQ(seen[i], digest))
                        elem = json_array_get(list, i);
        if (!elem) {
                elem = docker_element(m);
                memcpy(seen[json_array_size(list)], digest, DIGEST_STR_MAX);
                (void) json_array_append_new(list, elem);
        }
        tag = familiar_tag(img->name, &ref);
        if (tag) {
                struct image_ref bare = {.domain = ref->domain, .path = ref->path};
                size_t n = m->n_layers;

                (void) json_array_append_new(json_object_get(elem, "RepoTags"), json_string(tag));
                repo = image_ref_familiar(&bare);
                if (!json_object_get(repos, repo))
                        (void) json_object_set_new(repos, repo, json_object());
                if (n > 0)
                        (void) json_object_set_new(
                                json_object_get(repos, repo), ref->tag,
                                json_string(digest_hex(m->layers[n - 1].digest)));
        }
        return 0;
}

/* manifest.json and repositories (the caller's), for the platform. */
static int docker_json(struct exporter *ex, char **ret_manifest, char **ret_repos,
                       struct errmsg *err)
{
        json_t *list = json_array(), *repos = json_object();
        char(*seen)[DIGEST_STR_MAX] = xcalloc(MAX(ex->n_images, 1), DIGEST_STR_MAX);
        int r = 0;

        for (size_t i = 0; i < ex->n_images && r >= 0; i++)
                r = docker_add(ex, &ex->images[i], list, seen, repos, err);
        free(seen);
        if (r < 0) {
                json_decref(list);
                json_decref(repos);
                return r;
        }
        *ret_manifest = dump(list);
        *ret_repos = dump(repos);
        return 0;
}

/* --- the tar -------------------------------------------------------------------------- */

static int write_fail(struct exporter *ex, const char *name, struct errmsg *err)
{
        const char *s = archive_error_string(ex->a);
        int e = archive_errno(ex->a);

        return errmsg_set(err, e > 0 ? -e : -EIO, "write %s: %s", name,
                          s ? s : strerror(e > 0 ? e : EIO));
}

/* A member header: owned by 0:0, mtime 0, so that the same images give the same bytes. */
static int write_header(struct exporter *ex, const char *name, mode_t type, mode_t perm,
                        int64_t size, struct errmsg *err)
{
        struct archive_entry *e = archive_entry_new();
        int rc;

        if (!e)
                abort();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_size(e, size);
        archive_entry_set_mtime(e, 0, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        rc = archive_write_header(ex->a, e);
        archive_entry_free(e);
        return rc == ARCHIVE_OK ? 0 : write_fail(ex, name, err);
}

static int write_data(struct exporter *ex, const char *name, const void *buf, size_t len,
                      struct errmsg *err)
{
        la_ssize_t n = archive_write_data(ex->a, buf, len);

        return n >= 0 && (size_t) n == len ? 0 : write_fail(ex, name, err);
}

static int write_text(struct exporter *ex, const char *name, const char *text, mode_t perm,
                      struct errmsg *err)
{
        size_t len = strlen(text);
        int r = write_header(ex, name, AE_IFREG, perm, (int64_t) len, err);

        return r < 0 ? r : write_data(ex, name, text, len, err);
}

/* Where a blob's bytes go: into the current member, at most size of them. */
struct blob_sink {
        struct exporter *ex;
        const char *name;
        int64_t size, done;
        struct errmsg err;
};

static int blob_sink(void *userdata, const void *buf, size_t len)
{
        struct blob_sink *b = userdata;

        if ((int64_t) len > b->size - b->done)
                return errmsg_set(&b->err, -EIO, "content of %s: longer than its %lld bytes",
                                  b->name, (long long) b->size);
        b->done += (int64_t) len;
        return write_data(b->ex, b->name, buf, len, &b->err);
}

static int write_blob(struct exporter *ex, const char *digest, struct errmsg *err)
{
        _cleanup_free_ char *name = blob_path(digest);
        struct blob_sink b = {.ex = ex, .name = name};
        int r;

        r = ex->s->blob_check(ex->s->userdata, digest, &b.size, err);
        if (r >= 0)
                r = write_header(ex, name, AE_IFREG, 0444, b.size, err);
        if (r < 0)
                return r;
        r = ex->s->blob_copy(ex->s->userdata, digest, blob_sink, &b, err);
        if (r < 0)
                return b.err.code < 0 ? errmsg_set(err, b.err.code, "%s", b.err.msg) : r;
        if (b.done != b.size)
                return errmsg_set(err, -EIO, "content %s: shorter than its %lld bytes", digest,
                                  (long long) b.size);
        return 0;
}

static int write_archive(struct exporter *ex, int fd, const char *index, const char *manifest,
                         const char *repos, struct errmsg *err)
{
        int r;

        ex->a = archive_write_new();
        if (!ex->a)
                abort();
        /* ustar unless a member needs more (a blob over 8 GiB), as ctr export writes ustar */
        if (archive_write_set_format_pax_restricted(ex->a) != ARCHIVE_OK ||
            archive_write_add_filter_none(ex->a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(ex->a, 1) != ARCHIVE_OK ||
            archive_write_open_fd(ex->a, fd) != ARCHIVE_OK)
                return write_fail(ex, "archive", err);
        r = write_header(ex, "blobs/", AE_IFDIR, 0755, 0, err);
        if (r >= 0)
                r = write_header(ex, "blobs/sha256/", AE_IFDIR, 0755, 0, err);
        if (ex->n_blobs > 0)
                qsort(ex->blobs, ex->n_blobs, sizeof(*ex->blobs), compare_digests);
        for (size_t i = 0; r >= 0 && i < ex->n_blobs; i++)
                r = write_blob(ex, ex->blobs[i], err);
        if (r >= 0)
                r = write_text(ex, "index.json", index, 0644, err);
        if (r >= 0 && manifest)
                r = write_text(ex, "manifest.json", manifest, 0644, err);
        if (r >= 0)
                r = write_text(ex, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 0444, err);
        if (r >= 0 && repos && !ex->o->skip_repositories)
                r = write_text(ex, "repositories", repos, 0644, err);
        if (r >= 0 && archive_write_close(ex->a) != ARCHIVE_OK)
                r = write_fail(ex, "archive", err);
        return r;
}

static int export_run(struct exporter *ex, char *const *names, int fd, struct errmsg *err)
{
        _cleanup_free_ char *index = NULL, *manifest = NULL, *repos = NULL;
        int r = load_images(ex, names, err);

        for (size_t i = 0; r >= 0 && i < ex->n_images; i++) {
                const struct image *img = &ex->images[i];

                r = collect(ex, img->target.media_type, img->target.digest, true, 0, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "image \"%s\": %s", img->name,
                                             img->target.digest);
        }
        if (r >= 0 && ex->o->format == IMAGE_EXPORT_OCI_AND_DOCKER)
                r = docker_json(ex, &manifest, &repos, err);
        if (r < 0)
                return r;
        index = index_json(ex);
        return write_archive(ex, fd, index, manifest, repos, err);
}

int image_archive_export(const struct image_archive_store *s, char *const *names, int out_fd,
                         const struct image_export_opts *o, struct errmsg *err)
{
        struct exporter ex = {.s = s, .o = o};
        int r;

        if ((unsigned) o->format >= _IMAGE_EXPORT_FORMAT_MAX)
                return errmsg_set(err, -EINVAL, "format %d: unknown", (int) o->format);
        if (o->platform)
                oci_platform_copy(o->platform, &ex.platform);
        else
                oci_platform_default(&ex.platform);
        r = export_run(&ex, names, out_fd, err);
        exporter_release(&ex);
        return r;
}
