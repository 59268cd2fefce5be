/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr images import and export: the archive formats are lib/image-archive.h's (the code
 * berth-containerd's store uses too); here they run over containerd's API as ctr's client does
 * it (containerd 1.6 import.go, images/archive): blobs written with Content.Write (ref
 * "tar-<member>", manifests "manifest-<digest>") under a lease, parents labelled with their
 * children, the images named as ctr names them (--base-name, "import-<date>" otherwise,
 * --digests, --index-name) and recorded (Images.Update of the target, else Create), then each
 * unpacked. Export reads the records and blobs back with Images.Get and Content.Read.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "containerd/services/content/v1/content.pb-c.h"
#include "containerd/services/images/v1/images.pb-c.h"
#include "ctr/image.h"
#include "lib/image-archive.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

/* --- the archive code's store: containerd's API --------------------------------------- */

struct api_writer {
        struct ctr *c;
        struct ctr_writer *w;
        char *ref;
        int64_t size;
        int64_t skip; /* bytes still to drop: the store had them */
        char *expected;
        struct digester *dg; /* every byte of the member, as containerd's importer hashes */
};

static void api_writer_free(struct api_writer *w)
{
        ctr_writer_free(w->w);
        free(w->ref);
        free(w->expected);
        digester_free(w->dg);
        free(w);
}

static int blob_open(void *userdata, const char *member, int64_t size, const char *expected,
                     void **ret_writer, struct errmsg *err)
{
        struct ctr *c = userdata;
        struct api_writer *w = xnew0(struct api_writer, 1);
        int r;

        *w = (struct api_writer){
                .c = c,
                /* containerd's importer: "tar-<member>"; the manifests it makes are named */
                .ref = strncmp(member, "manifest-", 9) == 0 ? xstrdup(member)
                                                            : xasprintf("tar-%s", member),
                .size = size,
                .expected = expected ? xstrdup(expected) : NULL,
                .dg = digester_new(),
        };
        r = ctr_writer_open(c, w->ref, size, expected, &w->w, err);
        if (r < 0) {
                api_writer_free(w);
                return r;
        }
        /* as content.Copy: what the store has already (a resumed ingest, or all of it for a
         * blob another namespace holds) is skipped */
        w->skip = ctr_writer_offset(w->w);
        *ret_writer = w;
        return 0;
}

static int blob_write(void *writer, const void *buf, size_t len, struct errmsg *err)
{
        struct api_writer *w = writer;
        size_t skip = (size_t) MIN((int64_t) len, w->skip);

        digester_update(w->dg, buf, len);
        w->skip -= (int64_t) skip;
        return len > skip ? ctr_writer_write(w->w, (const uint8_t *) buf + skip, len - skip, err)
                          : 0;
}

static void blob_abort(void *writer)
{
        struct api_writer *w = writer;

        w->w = ctr_writer_free(w->w);
        (void) ctr_content_abort(w->c, w->ref, NULL);
        api_writer_free(w);
}

static int blob_commit(void *writer, char ret_digest[DIGEST_STR_MAX], struct errmsg *err)
{
        struct api_writer *w = writer;
        char digest[DIGEST_STR_MAX];
        int r;

        /* the digest the bytes have, so that a blob the store has already is known by it */
        digester_final(w->dg, digest);
        if (w->expected && !STREQ(w->expected, digest)) {
                r = errmsg_set(err, -EBADMSG, "unexpected digest: %s != %s", digest, w->expected);
                blob_abort(w); /* frees w */
                return r;
        }
        r = ctr_writer_commit(w->w, w->size, digest, NULL, NULL, err);
        if (r >= 0)
                memcpy(ret_digest, digest, DIGEST_STR_MAX);
        if (r < 0) {
                blob_abort(w);
                return r;
        }
        api_writer_free(w);
        return 0;
}

static int blob_check(void *userdata, const char *digest, int64_t *ret_size, struct errmsg *err)
{
        return ctr_content_info(userdata, digest, ret_size, NULL, err);
}

static int blob_read(void *userdata, const char *digest, size_t max, char **ret, size_t *ret_len,
                     struct errmsg *err)
{
        return ctr_content_read(userdata, digest, max, ret, ret_len, err);
}

static int blob_label(void *userdata, const char *digest, char *const *labels, struct errmsg *err)
{
        return ctr_content_label(userdata, digest, labels, err);
}

static int blob_copy(void *userdata, const char *digest,
                     int (*sink)(void *sink_userdata, const void *buf, size_t len),
                     void *sink_userdata, struct errmsg *err)
{
        Containerd__Services__Content__V1__ReadContentRequest req =
                CONTAINERD__SERVICES__CONTENT__V1__READ_CONTENT_REQUEST__INIT;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        int r;

        req.digest = (char *) digest;
        r = ctr_stream_open(userdata, "/containerd.services.content.v1.Content/Read", &st, err);
        if (r >= 0)
                r = ctr_stream_send(st, &req.base, err);
        if (r >= 0)
                r = grpc_client_stream_close_send(st, err);
        while (r >= 0) {
                _cleanup_pb_ Containerd__Services__Content__V1__ReadContentResponse *resp = NULL;

                r = ctr_stream_recv(
                        st, &containerd__services__content__v1__read_content_response__descriptor,
                        &resp, err);
                if (r <= 0)
                        break;
                r = sink(sink_userdata, resp->data.data, resp->data.len);
        }
        return r < 0 ? r : 0;
}

static int image_get(void *userdata, const char *name, struct oci_descriptor *ret,
                     struct errmsg *err)
{
        Containerd__Services__Images__V1__GetImageRequest req =
                CONTAINERD__SERVICES__IMAGES__V1__GET_IMAGE_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Images__V1__GetImageResponse *resp = NULL;
        const Containerd__Types__Descriptor *t;
        int r;

        req.name = (char *) name;
        r = ctr_call(userdata, "/containerd.services.images.v1.Images/Get", &req.base,
                     &containerd__services__images__v1__get_image_response__descriptor, &resp, err);
        if (r < 0)
                return r;
        t = resp->image ? resp->image->target : NULL;
        if (!t || !t->digest)
                return errmsg_set(err, -EBADMSG, "image \"%s\": no target", name);
        *ret = (struct oci_descriptor){.media_type = xstrdup(t->media_type ?: ""),
                                       .digest = xstrdup(t->digest),
                                       .size = t->size};
        return 0;
}

static void api_store(struct ctr *c, struct image_archive_store *ret)
{
        *ret = (struct image_archive_store){
                .userdata = c,
                .blob_open = blob_open,
                .blob_write = blob_write,
                .blob_commit = blob_commit,
                .blob_abort = blob_abort,
                .blob_check = blob_check,
                .blob_read = blob_read,
                .blob_label = blob_label,
                .blob_copy = blob_copy,
                .image_get = image_get,
        };
}

/* --- import --------------------------------------------------------------------------- */

struct import_opts {
        const char *base_name, *index_name, *platform, *snapshotter;
        bool digests, skip_digest_for_named, all_platforms, no_unpack, compress_blobs;
};

struct named {
        char *name;
        const struct oci_descriptor *target; /* borrowed from the result */
        char **annotations;                  /* strv of key, value for the record's target */
};

struct named_list {
        struct named *v;
        size_t n, alloc;
};

static void named_list_release(struct named_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].name);
                strv_free(l->v[i].annotations);
        }
        free(l->v);
}

static void named_add(struct named_list *l, const char *name, const struct oci_descriptor *d,
                      char **annotations)
{
        l->v = xgrow(l->v, &l->alloc, l->n + 1, sizeof(*l->v));
        l->v[l->n++] = (struct named){
                .name = xstrdup(name), .target = d, .annotations = strv_copy(annotations)};
}

/* archive.FilterRefPrefix (--base-name) and AddRefPrefix ("import-<date>"): a tag gets the
 * prefix; a full reference is kept, unless filtering and it is not under the prefix. */
static char *translate_ref(const char *ref, const char *prefix, bool filter)
{
        size_t n = strlen(prefix);

        if (!strpbrk(ref, "/:@"))
                return xasprintf("%s:%s", prefix, ref);
        if (filter && (strncmp(ref, prefix, n) != 0 || (ref[n] && !strchr("/:@", ref[n]))))
                return NULL;
        return xstrdup(ref);
}

/* The images of the import, as client.Import names them. */
static void name_entries(const struct image_archive_result *res, const struct import_opts *o,
                         const char *prefix, struct named_list *ret)
{
        if (o->index_name)
                named_add(ret, o->index_name, &res->index, NULL);
        for (size_t i = 0; i < res->n_entries; i++) {
                const struct image_archive_entry *e = &res->entries[i];
                _cleanup_free_ char *name = NULL, *digest_name = NULL;
                _cleanup_strv_ char **annotations = NULL;

                if (e->image_name)
                        name = xstrdup(e->image_name);
                else if (e->ref_name && *e->ref_name)
                        name = translate_ref(e->ref_name, prefix, o->base_name != NULL);
                if (!res->is_oci && e->image_name) {
                        /* the index containerd makes of a docker save names its entries */
                        strv_push(&annotations, IMAGE_ARCHIVE_ANNOTATION_IMAGE_NAME);
                        strv_push(&annotations, e->image_name);
                        strv_push(&annotations, IMAGE_ARCHIVE_ANNOTATION_REF_NAME);
                        strv_push(&annotations, e->ref_name);
                } else
                        annotations = strv_copy(e->target.annotations);
                if (name && *name)
                        named_add(ret, name, &e->target, annotations);
                if (!o->digests || (o->skip_digest_for_named && name && *name))
                        continue;
                digest_name = xasprintf("%s@%s", prefix, e->target.digest);
                named_add(ret, digest_name, &e->target, annotations);
        }
}

/* client.Import's recording: Images.Update of the target, or Create when it is new. */
static int record(struct ctr *c, const struct named *n, struct errmsg *err)
{
        Containerd__Services__Images__V1__UpdateImageRequest req =
                CONTAINERD__SERVICES__IMAGES__V1__UPDATE_IMAGE_REQUEST__INIT;
        Containerd__Services__Images__V1__Image img = CONTAINERD__SERVICES__IMAGES__V1__IMAGE__INIT;
        Containerd__Types__Descriptor d = CONTAINERD__TYPES__DESCRIPTOR__INIT;
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        _cleanup_pb_ Containerd__Services__Images__V1__UpdateImageResponse *resp = NULL;
        char *paths[] = {(char *) "target"};
        const struct ctr_target target = {.media_type = n->target->media_type,
                                          .digest = n->target->digest,
                                          .size = n->target->size,
                                          .annotations = n->annotations};
        int r;

        d.media_type = n->target->media_type;
        d.digest = n->target->digest;
        d.size = n->target->size;
        d.annotations = (Containerd__Types__Descriptor__AnnotationsEntry **) ctr_map_new(
                &containerd__types__descriptor__annotations_entry__descriptor, n->annotations,
                &d.n_annotations);
        img.name = n->name;
        img.target = &d;
        mask.paths = paths;
        mask.n_paths = 1;
        req.image = &img;
        req.update_mask = &mask;
        r = ctr_call(c, "/containerd.services.images.v1.Images/Update", &req.base,
                     &containerd__services__images__v1__update_image_response__descriptor, &resp,
                     err);
        ctr_map_free((void **) d.annotations, d.n_annotations);
        if (r == -ENOENT)
                r = ctr_image_put(c, n->name, &target, NULL, err);
        return r;
}

static int unpack_all(struct ctr *c, const struct named_list *l,
                      const struct oci_platform *platform, const char *flag, struct errmsg *err)
{
        _cleanup_free_ char *snapshotter = NULL;
        int r;

        r = ctr_snapshotter_name(c, flag, &snapshotter, err);
        for (size_t i = 0; r >= 0 && i < l->n; i++) {
                _cleanup_(ctr_image_freep) struct ctr_image *img = NULL;

                printf("unpacking %s (%s)...", l->v[i].name, l->v[i].target->digest);
                fflush(stdout);
                r = ctr_image_resolve(c, l->v[i].name, platform, &img, err);
                if (r >= 0)
                        r = ctr_unpack(c, img, snapshotter, err);
                if (r >= 0)
                        printf("done\n");
        }
        return r;
}

static int import_run(struct ctr *c, int fd, const struct import_opts *o,
                      const struct oci_platform *platform, struct errmsg *err)
{
        const struct image_archive_import_opts ao = {.platform = platform,
                                                     .all_platforms = o->all_platforms,
                                                     .keep_index = o->index_name != NULL};
        struct image_archive_result res = {0};
        struct named_list l = {0};
        _cleanup_free_ char *prefix = NULL;
        struct image_archive_store s;
        char date[16];
        time_t now = time(NULL);
        struct tm tm;
        int r;

        (void) localtime_r(&now, &tm);
        (void) strftime(date, sizeof(date), "%Y-%m-%d", &tm);
        prefix = o->base_name ? xstrdup(o->base_name) : xasprintf("import-%s", date);
        api_store(c, &s);
        r = ctr_lease_begin(c, err);
        if (r < 0)
                return r;
        r = image_archive_import(&s, fd, &ao, &res, err);
        if (r >= 0)
                name_entries(&res, o, prefix, &l);
        for (size_t i = 0; r >= 0 && i < l.n; i++)
                r = record(c, &l.v[i], err);
        ctr_lease_end(c);
        if (r >= 0 && !o->no_unpack)
                r = unpack_all(c, &l, platform, o->snapshotter, err);
        named_list_release(&l);
        image_archive_result_release(&res);
        return r;
}

int images_import(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        struct import_opts o = {.snapshotter = getenv("CONTAINERD_SNAPSHOTTER")};
        const struct ctr_flag flags[] = {
                {"base-name", 0, CTR_FLAG_STRING, &o.base_name},
                {"digests", 0, CTR_FLAG_BOOL, &o.digests},
                {"skip-digest-for-named", 0, CTR_FLAG_BOOL, &o.skip_digest_for_named},
                {"index-name", 0, CTR_FLAG_STRING, &o.index_name},
                {"all-platforms", 0, CTR_FLAG_BOOL, &o.all_platforms},
                {"platform", 0, CTR_FLAG_STRING, &o.platform},
                {"no-unpack", 0, CTR_FLAG_BOOL, &o.no_unpack},
                {"compress-blobs", 0, CTR_FLAG_BOOL, &o.compress_blobs},
                {"snapshotter", 0, CTR_FLAG_STRING, &o.snapshotter},
                {NULL},
        };
        struct oci_platform platform = {0};
        _cleanup_close_ int fd = -EBADF;
        const char *in;
        int r, index;

        r = ctr_flags_parse(flags, argc, argv, &index, err);
        if (r < 0)
                return r;
        if (o.base_name && !*o.base_name)
                o.base_name = NULL;
        if (o.index_name && !*o.index_name)
                o.index_name = NULL;
        if (o.skip_digest_for_named && !o.digests)
                return errmsg_set(
                        err, -EINVAL,
                        "--skip-digest-for-named must be specified with --digests option");
        if (o.compress_blobs)
                return errmsg_set(err, -EOPNOTSUPP, "--compress-blobs: not supported");
        if (o.platform && *o.platform) {
                r = oci_platform_parse(o.platform, &platform, err);
                if (r < 0)
                        return r;
        }
        in = index < argc ? argv[index] : "";
        if (!STREQ(in, "-")) {
                fd = open(in, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        oci_platform_release(&platform);
                        return errmsg_set(err, -errno, "open %s: %s", in, strerror(errno));
                }
        }
        r = import_run(c, fd >= 0 ? fd : STDIN_FILENO, &o, platform.os ? &platform : NULL, err);
        oci_platform_release(&platform);
        return r;
}

/* --- export --------------------------------------------------------------------------- */

int images_export(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        _cleanup_strv_ char **platforms = NULL;
        bool skip_manifest_json = false, skip_non_distributable = false, all_platforms = false;
        const struct ctr_flag flags[] = {
                {"skip-manifest-json", 0, CTR_FLAG_BOOL, &skip_manifest_json},
                {"skip-non-distributable", 0, CTR_FLAG_BOOL, &skip_non_distributable},
                {"platform", 0, CTR_FLAG_LIST, &platforms},
                {"all-platforms", 0, CTR_FLAG_BOOL, &all_platforms},
                {NULL},
        };
        struct oci_platform platform = {0};
        struct image_export_opts o = {0};
        _cleanup_close_ int fd = -EBADF;
        struct image_archive_store s;
        const char *out;
        int r, index;

        r = ctr_flags_parse(flags, argc, argv, &index, err);
        if (r < 0)
                return r;
        if (argc - index < 2 || !*argv[index])
                return errmsg_set(err, -EINVAL,
                                  "please provide both an output filename and an "
                                  "image reference to export");
        /* the first platform given is the one exported (ctr orders several) */
        if (platforms) {
                r = oci_platform_parse(platforms[0], &platform, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "invalid platform \"%s\"", platforms[0]);
        }
        o = (struct image_export_opts){
                .format = skip_manifest_json ? IMAGE_EXPORT_OCI : IMAGE_EXPORT_OCI_AND_DOCKER,
                .platform = platforms ? &platform : NULL,
                .all_platforms = all_platforms,
                .skip_repositories = true, /* as ctr 1.6 */
                .keep_order = true,
        };
        out = argv[index];
        if (!STREQ(out, "-")) {
                fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
                if (fd < 0) {
                        oci_platform_release(&platform);
                        return errmsg_set(err, -errno, "open %s: %s", out, strerror(errno));
                }
        }
        api_store(c, &s);
        r = image_archive_export(&s, argv + index + 1, fd >= 0 ? fd : STDOUT_FILENO, &o, err);
        if (r < 0 && fd >= 0)
                (void) unlink(out); /* no half archive left behind */
        oci_platform_release(&platform);
        return r;
}
