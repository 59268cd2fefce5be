/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image archives in berth-containerd's store (image-archive.h): the callbacks of
 * lib/image-archive.h over the content store and the namespace's records, and around the
 * import the lease that holds what it writes, the naming of the entries (berth's rules, see
 * image_import()), unpacking and recording.
 */
#include "containerd/image-archive.h"

#include <stdlib.h>

#include "lib/reference.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define COPY_BUF_SIZE (1u << 20)

struct backend {
        struct store *st;
        const char *ns;
        const char *lease; /* NULL: nothing is written (export) */
        unsigned n_ingests;
};

struct writer {
        struct backend *b;
        struct content_writer *w;
        char *ref;
        int64_t size;
        bool has_expected;
};

static int hold(struct backend *b, const char *digest, struct errmsg *err)
{
        return lease_add_resource(b->st->md, b->ns, b->lease, "content", digest, err);
}

static struct writer *writer_free(struct writer *w)
{
        if (!w)
                return NULL;
        content_writer_free(w->w);
        free(w->ref);
        free(w);
        return NULL;
}

static int blob_open(void *userdata, const char *member, int64_t size, const char *expected,
                     void **ret_writer, struct errmsg *err)
{
        struct backend *b = userdata;
        struct writer *w;
        int r;

        (void) member;
        r = expected ? hold(b, expected, err) : 0;
        if (r < 0)
                return r;
        w = xnew0(struct writer, 1);
        *w = (struct writer){.b = b,
                             .ref = xasprintf("%s-%u", b->lease, b->n_ingests++),
                             .size = size,
                             .has_expected = expected != NULL};
        r = content_writer_open(b->st->cs, w->ref, (uint64_t) size, expected, &w->w, err);
        if (r < 0) {
                writer_free(w);
                return r;
        }
        *ret_writer = w;
        return 0;
}

static int blob_write(void *writer, const void *buf, size_t len, struct errmsg *err)
{
        struct writer *w = writer;

        return content_writer_write(w->w, buf, len, err);
}

static int blob_commit(void *writer, char ret_digest[DIGEST_STR_MAX], struct errmsg *err)
{
        struct writer *w = writer;
        int r;

        r = content_writer_commit(TAKE_PTR(w->w), (uint64_t) w->size, NULL, ret_digest, err);
        if (r < 0)
                (void) content_store_abort(w->b->st->cs, w->ref, NULL);
        else if (!w->has_expected)
                r = hold(w->b, ret_digest, err);
        writer_free(w);
        return r;
}

static void blob_abort(void *writer)
{
        struct writer *w = writer;

        w->w = content_writer_free(w->w);
        (void) content_store_abort(w->b->st->cs, w->ref, NULL);
        writer_free(w);
}

/* Found in the store: recorded in the namespace (with the size the blob has). */
static int blob_check(void *userdata, const char *digest, int64_t *ret_size, struct errmsg *err)
{
        struct backend *b = userdata;
        struct content_info info;
        int r;

        r = content_store_info(b->st->cs, digest, &info, NULL);
        if (r < 0)
                return errmsg_set(err, r, "content %s: %s", digest, strerror(-r));
        if (b->lease) {
                r = content_record_add(b->st->md, b->ns, digest, (int64_t) info.size, err);
                if (r < 0)
                        return r;
        }
        *ret_size = (int64_t) info.size;
        return 0;
}

static int blob_read(void *userdata, const char *digest, size_t max, char **ret, size_t *ret_len,
                     struct errmsg *err)
{
        struct backend *b = userdata;

        return image_read_blob(b->st, digest, max, ret, ret_len, err);
}

static int blob_label(void *userdata, const char *digest, char *const *labels, struct errmsg *err)
{
        struct backend *b = userdata;

        return content_record_update_labels(b->st->md, b->ns, digest, labels, false, err);
}

static int blob_copy(void *userdata, const char *digest,
                     int (*sink)(void *sink_userdata, const void *buf, size_t len),
                     void *sink_userdata, struct errmsg *err)
{
        struct backend *b = userdata;
        _cleanup_free_ uint8_t *buf = xmalloc(COPY_BUF_SIZE);
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = content_store_open_blob(b->st->cs, digest, &fd, err);
        while (r >= 0) {
                ssize_t n = read(fd, buf, COPY_BUF_SIZE);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errmsg_set(err, -errno, "content %s: %s", digest, strerror(errno));
                if (n == 0)
                        break;
                r = sink(sink_userdata, buf, (size_t) n);
        }
        return r < 0 ? r : 0;
}

static int image_target(void *userdata, const char *name, struct oci_descriptor *ret,
                        struct errmsg *err)
{
        struct backend *b = userdata;
        struct image_record rec = {0};
        int r;

        r = image_get(b->st->md, b->ns, name, &rec, err);
        if (r < 0)
                return r;
        *ret = (struct oci_descriptor){.media_type = TAKE_PTR(rec.target.media_type),
                                       .digest = xstrdup(rec.target.digest),
                                       .size = rec.target.size};
        image_record_release(&rec);
        return 0;
}

static void backend_init(struct backend *b, struct image_archive_store *s)
{
        *s = (struct image_archive_store){
                .userdata = b,
                .blob_open = blob_open,
                .blob_write = blob_write,
                .blob_commit = blob_commit,
                .blob_abort = blob_abort,
                .blob_check = blob_check,
                .blob_read = blob_read,
                .blob_label = blob_label,
                .blob_copy = blob_copy,
                .image_get = image_target,
        };
}

/* --- import: naming, unpacking, recording --------------------------------------------- */

struct named {
        char *name;
        struct descriptor target;
};

struct named_list {
        struct named *v;
        size_t n, alloc;
};

static void named_list_release(struct named_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].name);
                descriptor_release(&l->v[i].target);
        }
        free(l->v);
}

/* Adds name -> target; a later one of the same name wins (keeping the first's place). */
static void named_add(struct named_list *l, const char *name, const struct oci_descriptor *d)
{
        struct named *n = NULL;

        for (size_t i = 0; i < l->n && !n; i++)
                if (STREQ(l->v[i].name, name))
                        n = &l->v[i];
        if (!n) {
                l->v = xgrow(l->v, &l->alloc, l->n + 1, sizeof(*l->v));
                n = &l->v[l->n++];
                *n = (struct named){.name = xstrdup(name)};
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

/* The name of an entry by berth's rules (see image_import()); *ret NULL when it has none. */
static int entry_name(const struct image_archive_entry *e, const char *base_name, char **ret,
                      struct errmsg *err)
{
        _cleanup_free_ char *full = NULL;

        *ret = NULL;
        if (e->image_name) {
                if (!e->image_name[0] || strlen(e->image_name) > ID_MAX_BYTES)
                        return errmsg_set(err, -EINVAL, "annotation %s: empty or too long",
                                          IMAGE_ARCHIVE_ANNOTATION_IMAGE_NAME);
                *ret = xstrdup(e->image_name);
                return 0;
        }
        if (!e->ref_name || !e->ref_name[0])
                return 0;
        if (strpbrk(e->ref_name, "/:@"))
                full = xstrdup(e->ref_name);
        else if (base_name)
                full = xasprintf("%s:%s", base_name, e->ref_name);
        else
                return 0;
        return normalize_name(full, ret, err);
}

static int name_entries(const struct image_archive_result *res, const char *base_name,
                        struct named_list *ret, struct errmsg *err)
{
        for (size_t i = 0; i < res->n_entries; i++) {
                const struct image_archive_entry *e = &res->entries[i];
                _cleanup_free_ char *name = NULL;
                int r;

                r = entry_name(e, base_name, &name, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "index.json: manifests[%zu] %s", e->position,
                                             e->target.digest);
                if (name)
                        named_add(ret, name, &e->target);
        }
        if (ret->n == 0)
                return errmsg_set(err, -EINVAL, "no image has a name (%s)",
                                  res->is_oci ? "give a base name" : "no RepoTags");
        return 0;
}

static int unpack_images(struct store *st, const char *ns, const struct named_list *l,
                         const struct image_import_opts *o, struct errmsg *err)
{
        for (size_t i = 0; i < l->n; i++) {
                bool is_done = false;
                int r;

                for (size_t j = 0; j < i && !is_done; j++)
                        is_done = STREQ(l->v[j].target.digest, l->v[i].target.digest);
                if (is_done)
                        continue;
                r = image_unpack(st, ns, &l->v[i].target, o->platform, o->snapshotter, NULL, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "unpack %s", l->v[i].name);
        }
        return 0;
}

/* Puts back what record_images changed before l->v[n] (records olds[i] held before). */
static void unrecord_images(struct store *st, const char *ns, const struct named_list *l,
                            struct image_record *olds, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (olds[i].name)
                        (void) image_put(st->md, ns, &olds[i], true, NULL);
                else
                        (void) image_delete(st->md, ns, l->v[i].name, NULL);
        }
}

static int record_images(struct store *st, const char *ns, const struct named_list *l,
                         struct errmsg *err)
{
        struct image_record *olds = xnew0(struct image_record, l->n);
        int r = 0;
        size_t i;

        for (i = 0; i < l->n; i++) {
                struct image_record rec = {.name = l->v[i].name, .target = l->v[i].target};

                if (image_get(st->md, ns, rec.name, &olds[i], NULL) < 0)
                        olds[i] = (struct image_record){0};
                r = image_put(st->md, ns, &rec, olds[i].name != NULL, err);
                if (r < 0)
                        break;
        }
        if (r < 0)
                unrecord_images(st, ns, l, olds, i);
        image_records_free(olds, l->n);
        return r;
}

static int import_run(struct store *st, const char *ns, const char *lease, int fd,
                      const struct image_import_opts *o, struct named_list *ret, struct errmsg *err)
{
        const struct image_archive_import_opts ao = {.platform = o->platform,
                                                     .all_platforms = o->all_platforms};
        struct image_archive_result res = {0};
        struct backend b = {.st = st, .ns = ns, .lease = lease};
        struct image_archive_store s;
        int r;

        backend_init(&b, &s);
        r = image_archive_import(&s, fd, &ao, &res, err);
        if (r >= 0)
                r = name_entries(&res, o->base_name, ret, err);
        image_archive_result_release(&res);
        if (r >= 0 && o->snapshotter)
                r = unpack_images(st, ns, ret, o, err);
        if (r >= 0)
                r = record_images(st, ns, ret, err);
        return r;
}

int image_import(struct store *st, const char *ns, int tar_fd, const struct image_import_opts *o,
                 char ***ret_names, struct errmsg *err)
{
        _cleanup_free_ char *lease = NULL;
        struct named_list l = {0};
        int r;

        r = image_lease_create(st, ns, "import", &lease, err);
        if (r >= 0) {
                r = import_run(st, ns, lease, tar_fd, o, &l, err);
                (void) lease_delete(st->md, ns, lease, NULL);
        }
        if (r >= 0 && ret_names) {
                char **names = xnew0(char *, l.n + 1);

                for (size_t i = 0; i < l.n; i++)
                        names[i] = xstrdup(l.v[i].name);
                *ret_names = names;
        }
        named_list_release(&l);
        return r < 0 ? errmsg_prefix(err, r, "import") : 0;
}

int image_export(struct store *st, const char *ns, char *const *names, int out_fd,
                 const struct image_export_opts *o, struct errmsg *err)
{
        struct backend b = {.st = st, .ns = ns};
        struct image_archive_store s;
        int r;

        backend_init(&b, &s);
        r = image_archive_export(&s, names, out_fd, o, err);
        return r < 0 ? errmsg_prefix(err, r, "export") : 0;
}
