/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr images: ls, rm, tag, check and label as ctr's (cmd/ctr/commands/images); pull
 * is pull.c's, import and export import.c's. Sizes, platforms and completeness are worked out
 * client-side from the blobs, as containerd's images package does (Size, Platforms, Check).
 */
#include <stdlib.h>

#include "containerd/services/images/v1/images.pb-c.h"
#include "containerd/services/snapshots/v1/snapshots.pb-c.h"
#include "ctr/commands.h"
#include "ctr/image.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define IMAGES_SERVICE "/containerd.services.images.v1.Images/"
#define WALK_DEPTH_MAX 8

typedef Containerd__Services__Images__V1__Image image_msg;

static int images_list(struct ctr *c, char **filters, size_t n_filters,
                       Containerd__Services__Images__V1__ListImagesResponse **ret,
                       struct errmsg *err)
{
        Containerd__Services__Images__V1__ListImagesRequest req =
                CONTAINERD__SERVICES__IMAGES__V1__LIST_IMAGES_REQUEST__INIT;

        req.filters = filters;
        req.n_filters = n_filters;
        return ctr_call(c, IMAGES_SERVICE "List", &req.base,
                        &containerd__services__images__v1__list_images_response__descriptor, ret,
                        err);
}

/* --- what an image holds -------------------------------------------------------------- */

/* images.Size for the host's platform: the target, and below an index the best manifest
 * only (LimitManifests 1), each manifest's config and layers. */
static int image_size(struct ctr *c, const char *media_type, const char *digest, int64_t size,
                      const struct oci_platform *platform, unsigned depth, int64_t *total,
                      struct errmsg *err)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        enum media_kind kind = media_type_kind(media_type);
        _cleanup_free_ char *body = NULL;
        const struct oci_descriptor *d;
        size_t len;
        int r;

        *total += size;
        if ((kind != MEDIA_KIND_INDEX && kind != MEDIA_KIND_MANIFEST) || depth > WALK_DEPTH_MAX)
                return 0;
        r = ctr_content_read(c, digest, MANIFEST_MAX_BYTES, &body, &len, err);
        if (r < 0)
                return r;
        if (kind == MEDIA_KIND_INDEX) {
                r = oci_index_parse(body, len, &idx, err);
                if (r < 0)
                        return r;
                d = oci_index_select(idx, platform);
                return d ? image_size(c, d->media_type, d->digest, d->size, platform, depth + 1,
                                      total, err)
                         : 0;
        }
        r = oci_manifest_parse(body, len, &m, err);
        if (r < 0)
                return r;
        *total += m->config.size;
        for (size_t i = 0; i < m->n_layers; i++)
                *total += m->layers[i].size;
        return 0;
}

static void platforms_add(char ***platforms, const struct oci_platform *p)
{
        _cleanup_free_ char *s = NULL;
        struct oci_platform n = {0};

        oci_platform_copy(p, &n);
        oci_platform_normalize(&n);
        s = oci_platform_string(&n);
        oci_platform_release(&n);
        strv_foreach (have, *platforms)
                if (STREQ(*have, s))
                        return;
        strv_push(platforms, s);
}

/* images.Platforms: the platforms of an index's entries, else of the manifests' configs. */
static int image_platforms(struct ctr *c, const char *media_type, const char *digest,
                           unsigned depth, char ***platforms, struct errmsg *err)
{
        _cleanup_(oci_image_config_freep) struct oci_image_config *cfg = NULL;
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        enum media_kind kind = media_type_kind(media_type);
        _cleanup_free_ char *body = NULL;
        size_t len;
        int r;

        if ((kind != MEDIA_KIND_INDEX && kind != MEDIA_KIND_MANIFEST &&
             kind != MEDIA_KIND_CONFIG) ||
            depth > WALK_DEPTH_MAX)
                return 0;
        r = ctr_content_read(c, digest, MANIFEST_MAX_BYTES, &body, &len, err);
        if (r >= 0 && kind == MEDIA_KIND_INDEX)
                r = oci_index_parse(body, len, &idx, err);
        for (size_t i = 0; r >= 0 && idx && i < idx->n_manifests; i++) {
                const struct oci_descriptor *d = &idx->manifests[i];

                if (d->platform)
                        platforms_add(platforms, d->platform);
                else
                        r = image_platforms(c, d->media_type, d->digest, depth + 1, platforms, err);
        }
        if (r >= 0 && kind == MEDIA_KIND_MANIFEST) {
                r = oci_manifest_parse(body, len, &m, err);
                if (r >= 0)
                        r = image_platforms(c, m->config.media_type, m->config.digest, depth + 1,
                                            platforms, err);
        }
        if (r >= 0 && kind == MEDIA_KIND_CONFIG) {
                r = oci_image_config_parse(body, len, &cfg, err);
                if (r >= 0)
                        platforms_add(platforms, &cfg->platform);
        }
        return r;
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *platforms_column(struct ctr *c, const image_msg *img)
{
        _cleanup_strv_ char **platforms = NULL;
        struct errmsg err = {0};
        size_t n, len = 1;
        char *s;

        if (image_platforms(c, img->target->media_type, img->target->digest, 0, &platforms, &err) <
            0) {
                log_error("failed resolving platform for image %s: %s", img->name, err.msg);
                return xstrdup("-");
        }
        n = strv_length(platforms);
        if (n == 0)
                return xstrdup("-");
        qsort(platforms, n, sizeof(char *), compare_strings);
        for (size_t i = 0; i < n; i++)
                len += strlen(platforms[i]) + 1;
        s = xnew0(char, len);
        for (size_t i = 0, at = 0; i < n; i++)
                at += (size_t) snprintf(s + at, len - at, "%s%s", i ? "," : "", platforms[i]);
        return s;
}

/* --- ls ------------------------------------------------------------------------------- */

static void list_row(struct ctr *c, struct table *t, const image_msg *img,
                     const struct oci_platform *host)
{
        _cleanup_free_ char *platforms = NULL, *labels = NULL;
        struct errmsg err = {0};
        int64_t size = 0;
        char human[32];

        if (image_size(c, img->target->media_type, img->target->digest, img->target->size, host, 0,
                       &size, &err) < 0)
                log_error("failed calculating size for image %s: %s", img->name, err.msg);
        human_bytes(size, human, sizeof(human));
        platforms = platforms_column(c, img);
        labels = labels_string((void *const *) img->labels, img->n_labels);
        table_printf(t, "%s\t%s\t%s\t%s\t%s\t%s\t\n", img->name, img->target->media_type,
                     img->target->digest, human, platforms, labels);
}

static int cmd_list(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Images__V1__ListImagesResponse *resp = NULL;
        struct oci_platform host = {0};
        bool quiet = false;
        struct table *t;
        int r, index;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"quiet", 'q', CTR_FLAG_BOOL, &quiet}, {NULL}}, argc,
                argv, &index, err);
        if (r < 0)
                return r;
        r = images_list(c, argv + index, (size_t) (argc - index), &resp, err);
        if (r < 0)
                return errmsg_prefix(err, r, "failed to list images");
        if (quiet) {
                for (size_t i = 0; i < resp->n_images; i++)
                        printf("%s\n", resp->images[i]->name);
                return 0;
        }
        oci_platform_default(&host);
        t = table_new(stdout, 1, 1);
        table_printf(t, "REF\tTYPE\tDIGEST\tSIZE\tPLATFORMS\tLABELS\t\n");
        for (size_t i = 0; i < resp->n_images; i++)
                if (resp->images[i]->target)
                        list_row(c, t, resp->images[i], &host);
        table_flush(t);
        oci_platform_release(&host);
        return 0;
}

/* --- rm, tag, label ------------------------------------------------------------------- */

static int image_delete(struct ctr *c, const char *name, bool sync, struct errmsg *err)
{
        Containerd__Services__Images__V1__DeleteImageRequest req =
                CONTAINERD__SERVICES__IMAGES__V1__DELETE_IMAGE_REQUEST__INIT;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;

        req.name = (char *) name;
        req.sync = sync;
        return ctr_call(c, IMAGES_SERVICE "Delete", &req.base, &google__protobuf__empty__descriptor,
                        &resp, err);
}

static int cmd_remove(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        bool sync = false;
        int r, index, failed = 0;

        r = ctr_flags_parse((const struct ctr_flag[]){{"sync", 0, CTR_FLAG_BOOL, &sync}, {NULL}},
                            argc, argv, &index, err);
        if (r < 0)
                return r;
        for (int i = index; i < argc; i++) {
                struct errmsg e = {0};

                /* --sync waits for the collection once, with the last image */
                r = image_delete(c, argv[i], sync && i == argc - 1, &e);
                if (r == -ENOENT) {
                        log_warn("%s: image not found", argv[i]);
                        continue;
                }
                if (r < 0) {
                        if (failed++ == 0)
                                errmsg_set(err, r, "unable to delete %s: %s", argv[i], e.msg);
                        log_error("unable to delete %s: %s", argv[i], e.msg);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return failed ? err->code : 0;
}

static int image_get(struct ctr *c, const char *name,
                     Containerd__Services__Images__V1__GetImageResponse **ret, struct errmsg *err)
{
        Containerd__Services__Images__V1__GetImageRequest req =
                CONTAINERD__SERVICES__IMAGES__V1__GET_IMAGE_REQUEST__INIT;
        int r;

        req.name = (char *) name;
        r = ctr_call(c, IMAGES_SERVICE "Get", &req.base,
                     &containerd__services__images__v1__get_image_response__descriptor, ret, err);
        if (r >= 0 && (!(*ret)->image || !(*ret)->image->target)) {
                protobuf_c_message_free_unpacked(&(*ret)->base, NULL);
                return errmsg_set(err, -EBADMSG, "image \"%s\": no target", name);
        }
        return r;
}

static int image_create(struct ctr *c, image_msg *img, struct errmsg *err)
{
        Containerd__Services__Images__V1__CreateImageRequest req =
                CONTAINERD__SERVICES__IMAGES__V1__CREATE_IMAGE_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Images__V1__CreateImageResponse *resp = NULL;

        req.image = img;
        return ctr_call(c, IMAGES_SERVICE "Create", &req.base,
                        &containerd__services__images__v1__create_image_response__descriptor, &resp,
                        err);
}

static int tag_run(struct ctr *c, int argc, char **argv, bool force, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Images__V1__GetImageResponse *src = NULL;
        int r;

        r = image_get(c, argv[0], &src, err);
        if (r < 0)
                return r;
        for (int i = 1; i < argc; i++) {
                char *name = src->image->name;

                src->image->name = argv[i];
                r = image_create(c, src->image, err);
                /* --force: the existing target is deleted, then created again */
                if (r == -EEXIST && force) {
                        r = image_delete(c, argv[i], false, err);
                        if (r >= 0)
                                r = image_create(c, src->image, err);
                }
                src->image->name = name;
                if (r < 0)
                        return r;
                printf("%s\n", argv[i]);
        }
        return 0;
}

static int cmd_tag(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        bool force = false;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{"force", 0, CTR_FLAG_BOOL, &force}, {NULL}},
                            argc, argv, &index, err);
        if (r < 0)
                return r;
        if (index >= argc || !*argv[index])
                return errmsg_set(err, -EINVAL, "please provide an image reference to tag from");
        if (argc - index <= 1)
                return errmsg_set(err, -EINVAL, "please provide an image reference to tag to");
        r = ctr_lease_begin(c, err);
        if (r < 0)
                return r;
        r = tag_run(c, argc - index, argv + index, force, err);
        ctr_lease_end(c);
        return r;
}

static int cmd_label(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Images__V1__UpdateImageRequest req =
                CONTAINERD__SERVICES__IMAGES__V1__UPDATE_IMAGE_REQUEST__INIT;
        image_msg img = CONTAINERD__SERVICES__IMAGES__V1__IMAGE__INIT;
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        _cleanup_pb_ Containerd__Services__Images__V1__UpdateImageResponse *resp = NULL;
        _cleanup_strv_ char **labels = NULL, **paths = NULL, **set = NULL;
        _cleanup_free_ char *out = NULL;
        bool replace_all = false;
        const char *name;
        int r, index;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"replace-all", 'r', CTR_FLAG_BOOL, &replace_all},
                                          {NULL}},
                argc, argv, &index, err);
        if (r < 0)
                return r;
        ctr_object_with_labels(argc - index, argv + index, &name, &labels);
        if (!*name)
                return errmsg_set(err, -EINVAL, "please specify an image");
        for (size_t i = 0; labels && labels[i]; i += 2) {
                _cleanup_free_ char *path =
                        replace_all ? xstrdup("labels") : xasprintf("labels.%s", labels[i]);

                strv_push(&paths, path);
                if (labels[i + 1][0]) {
                        strv_push(&set, labels[i]);
                        strv_push(&set, labels[i + 1]);
                }
        }
        img.name = (char *) name;
        img.labels = (Containerd__Services__Images__V1__Image__LabelsEntry **) ctr_map_new(
                &containerd__services__images__v1__image__labels_entry__descriptor, set,
                &img.n_labels);
        mask.paths = paths;
        mask.n_paths = strv_length(paths);
        req.image = &img;
        req.update_mask = &mask;
        r = ctr_call(c, IMAGES_SERVICE "Update", &req.base,
                     &containerd__services__images__v1__update_image_response__descriptor, &resp,
                     err);
        ctr_map_free((void **) img.labels, img.n_labels);
        if (r < 0)
                return r;
        out = resp->image && resp->image->n_labels
                      ? labels_string((void *const *) resp->image->labels, resp->image->n_labels)
                      : xstrdup("");
        printf("%s\n", out);
        return 0;
}

/* --- check ---------------------------------------------------------------------------- */

struct check {
        bool is_available;
        size_t n_required, n_present;
        int64_t required, present;
};

/* images.Check for the host's platform: the manifest's config and layers that are there. */
static int check_image(struct ctr *c, const image_msg *img, struct ctr_image **ret_resolved,
                       struct check *ret, struct errmsg *err)
{
        _cleanup_(ctr_image_freep) struct ctr_image *resolved = NULL;
        struct errmsg e = {0};
        int r;

        *ret = (struct check){0};
        r = ctr_image_resolve_manifest(c, img->name, NULL, &resolved, &e);
        if (r == -ENOENT) /* the index or the manifest is not there */
                return 0;
        if (r < 0)
                return errmsg_set(err, r, "failed to check image %s: %s", img->target->digest,
                                  e.msg);
        ret->is_available = true;
        for (size_t i = 0; i <= resolved->manifest->n_layers; i++) {
                const struct oci_descriptor *d =
                        i == 0 ? &resolved->manifest->config : &resolved->manifest->layers[i - 1];

                ret->n_required++;
                ret->required += d->size;
                if (ctr_content_info(c, d->digest, NULL, NULL, &e) >= 0) {
                        ret->n_present++;
                        ret->present += d->size;
                }
        }
        *ret_resolved = TAKE_PTR(resolved);
        return 0;
}

/* image.IsUnpacked: the top chain id is a snapshot of the snapshotter. */
static int is_unpacked(struct ctr *c, const struct ctr_image *img, const char *snapshotter,
                       bool *ret, struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__StatSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__STAT_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Snapshots__V1__StatSnapshotResponse *resp = NULL;
        size_t n;
        int r;

        *ret = false;
        if (!img)
                return 0;
        if (!img->config) {
                r = ctr_image_load_config(c, (struct ctr_image *) img, err);
                if (r < 0)
                        return r;
        }
        n = strv_length(img->chain_ids);
        if (n == 0)
                return 0;
        req.snapshotter = (char *) snapshotter;
        req.key = img->chain_ids[n - 1];
        r = ctr_call(c, "/containerd.services.snapshots.v1.Snapshots/Stat", &req.base,
                     &containerd__services__snapshots__v1__stat_snapshot_response__descriptor,
                     &resp, err);
        if (r == -ENOENT)
                return 0;
        *ret = r >= 0;
        return r;
}

static void check_row(struct table *t, const image_msg *img, const struct check *k, int error,
                      bool unpacked)
{
        char present[32], required[32];
        _cleanup_free_ char *status = NULL, *size = NULL;

        human_bytes(k->present, present, sizeof(present));
        human_bytes(k->required, required, sizeof(required));
        if (error < 0) {
                status = xstrdup("error");
                size = xstrdup("-");
        } else if (k->is_available) {
                status = xasprintf("%s (%zu/%zu)",
                                   k->n_present < k->n_required ? "incomplete" : "complete",
                                   k->n_present, k->n_required);
                size = xasprintf("%s/%s", present, required);
        } else {
                status = xasprintf("unavailable (%zu/?)", k->n_present);
                size = xasprintf("%s/?", present);
        }
        table_printf(t, "%s\t%s\t%s\t%s\t%s\t%s\n", img->name, img->target->media_type,
                     img->target->digest, status, size, unpacked ? "true" : "false");
}

static int check_one(struct ctr *c, struct table *t, const image_msg *img, const char *snapshotter,
                     struct errmsg *err)
{
        _cleanup_(ctr_image_freep) struct ctr_image *resolved = NULL;
        struct errmsg e = {0}, u = {0};
        bool unpacked = false;
        struct check k;
        int r, ru;

        r = check_image(c, img, &resolved, &k, &e);
        if (r < 0) {
                log_error("unable to check %s: %s", img->name, e.msg);
                if (err->code == 0)
                        errmsg_set(err, r, "unable to check %s: %s", img->name, e.msg);
        }
        ru = is_unpacked(c, resolved, snapshotter, &unpacked, &u);
        if (ru < 0) {
                log_error("unable to check unpack for %s: %s", img->name, u.msg);
                if (err->code == 0)
                        errmsg_set(err, ru, "unable to check unpack for %s: %s", img->name, u.msg);
        }
        if (t)
                check_row(t, img, &k, r, unpacked);
        else if (r >= 0 && k.is_available && k.n_present == k.n_required)
                printf("%s\n", img->name);
        return 0;
}

static int cmd_check(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Images__V1__ListImagesResponse *resp = NULL;
        const char *flag = getenv("CONTAINERD_SNAPSHOTTER");
        _cleanup_free_ char *snapshotter = NULL;
        struct table *t = NULL;
        bool quiet = false;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{"quiet", 'q', CTR_FLAG_BOOL, &quiet},
                                                      {"snapshotter", 0, CTR_FLAG_STRING, &flag},
                                                      {NULL}},
                            argc, argv, &index, err);
        if (r < 0)
                return r;
        r = images_list(c, argv + index, (size_t) (argc - index), &resp, err);
        if (r < 0)
                return errmsg_prefix(err, r, "failed listing images");
        if (resp->n_images == 0)
                return 0;
        r = ctr_snapshotter_name(c, flag, &snapshotter, err);
        if (r < 0)
                return r;
        if (!quiet) {
                t = table_new(stdout, 1, 1);
                table_printf(t, "REF\tTYPE\tDIGEST\tSTATUS\tSIZE\tUNPACKED\t\n");
        }
        for (size_t i = 0; i < resp->n_images; i++)
                if (resp->images[i]->target)
                        (void) check_one(c, t, resp->images[i], snapshotter, err);
        if (t)
                table_flush(t);
        return err->code < 0 ? err->code : 0;
}

const struct ctr_command cmd_images[] = {
        {{"check"},
         "check existing images to ensure all content is available locally",
         cmd_check,
         NULL},
        {{"export"}, "export images", images_export, NULL},
        {{"import"}, "import images", images_import, NULL},
        {{"list", "ls"}, "list images known to containerd", cmd_list, NULL},
        {{"pull"}, "pull an image from a remote", images_pull, NULL},
        {{"delete", "del", "remove", "rm"},
         "remove one or more images by reference",
         cmd_remove,
         NULL},
        {{"tag"}, "tag an image", cmd_tag, NULL},
        {{"label"}, "set and clear labels for an image", cmd_label, NULL},
        {{NULL}},
};
