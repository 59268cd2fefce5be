/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pushing an image (image.h, image_push): blobs first (skipped when the registry has them,
 * mounted from a sibling repository when a distribution-source label says where they came
 * from), then each manifest by digest, then the top manifest or index under its tag.
 */
#include <fcntl.h>

#include "containerd/image.h"
#include "lib/reference.h"
#include "lib/registry.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

struct push {
        struct store *st;
        struct registry_client *c;
        const char *ns;
        const struct push_opts *o;
        struct image_ref *ref;
        char *label; /* LABEL_DISTRIBUTION_SOURCE + the remote's domain */
};

static void report(struct push *p, const struct oci_descriptor *d, enum pull_state state)
{
        struct pull_progress pr = {.digest = d->digest,
                                   .media_type = d->media_type,
                                   .state = state,
                                   .done = (uint64_t) d->size,
                                   .total = (uint64_t) d->size};

        if (p->o->progress)
                p->o->progress(p->o->progress_userdata, &pr);
}

/* The repository d was pulled from on the remote's registry, from its labels (or NULL). */
static char *mount_source(struct push *p, const char *digest)
{
        struct content_record rec;
        const char *repo = NULL;
        char *ret = NULL;

        if (content_record_get(p->st->md, p->ns, digest, &rec, NULL) < 0)
                return NULL;
        for (size_t i = 0; rec.labels && rec.labels[i]; i += 2)
                if (STREQ(rec.labels[i], p->label))
                        repo = rec.labels[i + 1];
        if (repo && !STREQ(repo, p->ref->path))
                ret = xstrdup(repo);
        content_record_release(&rec);
        return ret;
}

static int push_blob(struct push *p, const struct oci_descriptor *d, struct errmsg *err)
{
        _cleanup_free_ char *from = NULL;
        _cleanup_close_ int fd = -EBADF;
        bool exists = false;
        int r;

        r = registry_blob_exists(p->c, p->ref, d->digest, &exists, err);
        if (r >= 0 && exists) {
                report(p, d, PULL_STATE_EXISTS);
                return 0;
        }
        r = r < 0 ? r : content_store_open_blob(p->st->cs, d->digest, &fd, err);
        if (r < 0)
                return r;
        from = mount_source(p, d->digest);
        r = registry_push_blob(p->c, p->ref, d->digest, (uint64_t) d->size, fd, from, err);
        if (r >= 0)
                report(p, d, PULL_STATE_DONE);
        return r;
}

/* Pushes the body of manifest or index digest under reference (a digest or a tag). */
static int push_body(struct push *p, const char *digest, const char *media_type,
                     const char *reference, struct errmsg *err)
{
        _cleanup_free_ char *body = NULL;
        size_t len;
        int r = image_read_blob(p->st, digest, MANIFEST_MAX_BYTES, &body, &len, err);

        return r < 0 ? r
                     : registry_push_manifest(p->c, p->ref, reference, media_type, body, len, err);
}

static int push_manifest(struct push *p, const char *digest, const char *media_type,
                         struct errmsg *err)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_free_ char *body = NULL;
        size_t len;
        int r;

        r = image_read_blob(p->st, digest, MANIFEST_MAX_BYTES, &body, &len, err);
        if (r >= 0)
                r = oci_manifest_parse(body, len, &m, err);
        for (size_t i = 0; r >= 0 && i < m->n_layers; i++)
                r = push_blob(p, &m->layers[i], err);
        if (r >= 0)
                r = push_blob(p, &m->config, err);
        return r < 0 ? r : registry_push_manifest(p->c, p->ref, digest, media_type, body, len, err);
}

/* An index: each manifest the store has whole (or only the platform's), then the index. */
static int push_index(struct push *p, const struct descriptor *target, struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_free_ char *body = NULL;
        size_t len, n_pushed = 0;
        int r;

        r = image_read_blob(p->st, target->digest, MANIFEST_MAX_BYTES, &body, &len, err);
        if (r >= 0)
                r = oci_index_parse(body, len, &idx, err);
        for (size_t i = 0; r >= 0 && i < idx->n_manifests; i++) {
                const struct oci_descriptor *d = &idx->manifests[i];
                struct content_info info;

                if (p->o->platform &&
                    (!d->platform || !oci_platform_matches(p->o->platform, d->platform)))
                        continue;
                if (content_store_info(p->st->cs, d->digest, &info, NULL) < 0)
                        continue; /* another platform, never pulled */
                r = push_manifest(p, d->digest, d->media_type, err);
                n_pushed += r >= 0;
        }
        if (r >= 0 && n_pushed == 0)
                r = errmsg_set(err, -ENOENT, "index %s: no manifest of it is in the store",
                               target->digest);
        return r;
}

static int push_image(struct push *p, const char *name, char ret[DIGEST_STR_MAX],
                      struct errmsg *err)
{
        struct image_record rec;
        const char *tag;
        int r;

        r = image_get(p->st->md, p->ns, name, &rec, err);
        if (r < 0)
                return r;
        if (media_type_kind(rec.target.media_type) == MEDIA_KIND_INDEX)
                r = push_index(p, &rec.target, err);
        else
                r = push_manifest(p, rec.target.digest, rec.target.media_type, err);
        tag = p->ref->tag && !p->ref->digest ? p->ref->tag : NULL;
        if (r >= 0 && media_type_kind(rec.target.media_type) == MEDIA_KIND_INDEX)
                r = push_body(p, rec.target.digest, rec.target.media_type, rec.target.digest, err);
        if (r >= 0 && tag)
                r = push_body(p, rec.target.digest, rec.target.media_type, tag, err);
        if (r >= 0 && ret)
                memcpy(ret, rec.target.digest, DIGEST_STR_MAX);
        image_record_release(&rec);
        return r;
}

int image_push(struct store *st, struct registry_client *c, const char *ns, const char *name,
               const char *remote, const struct push_opts *o, char ret_digest[DIGEST_STR_MAX],
               struct errmsg *err)
{
        struct push p = {.st = st, .c = c, .ns = ns, .o = o};
        int r = image_ref_parse(remote ? remote : name, &p.ref, err);

        if (r >= 0) {
                p.label = xasprintf(LABEL_DISTRIBUTION_SOURCE "%s", p.ref->domain);
                r = push_image(&p, name, ret_digest, err);
        }
        if (r < 0)
                (void) errmsg_prefix(err, r, "push %s", remote ? remote : name);
        free(p.label);
        image_ref_free(p.ref);
        return r;
}
