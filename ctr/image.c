/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading images through containerd's API: blobs with Content.Read, and an image record's
 * manifest for a platform, its config and chain ids, as ctr's client library resolves them.
 */
#include "ctr/image.h"

#include <stdlib.h>

#include "containerd/services/content/v1/content.pb-c.h"
#include "containerd/services/images/v1/images.pb-c.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define IMAGES_SERVICE "/containerd.services.images.v1.Images/"

int ctr_content_read(struct ctr *c, const char *digest, size_t max, char **ret, size_t *ret_len,
                     struct errmsg *err)
{
        Containerd__Services__Content__V1__ReadContentRequest req =
                CONTAINERD__SERVICES__CONTENT__V1__READ_CONTENT_REQUEST__INIT;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, alloc = 0;
        int r;

        req.digest = (char *) digest;
        r = ctr_stream_open(c, "/containerd.services.content.v1.Content/Read", &st, err);
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
                if (len + resp->data.len > max)
                        return errmsg_set(err, -EFBIG, "%s: larger than %zu bytes", digest, max);
                buf = xgrow(buf, &alloc, len + resp->data.len + 1, 1);
                memcpy(buf + len, resp->data.data, resp->data.len);
                len += resp->data.len;
        }
        if (r < 0)
                return r;
        buf = xgrow(buf, &alloc, len + 1, 1);
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

struct ctr_image *ctr_image_free(struct ctr_image *img)
{
        if (!img)
                return NULL;
        free(img->name);
        free(img->target_digest);
        free(img->target_media_type);
        free(img->manifest_digest);
        oci_manifest_free(img->manifest);
        free(img->config_digest);
        oci_image_config_free(img->config);
        strv_free(img->chain_ids);
        free(img);
        return NULL;
}

/* The manifest digest of target for platform: target itself, or the index's best match. */
static int select_manifest(struct ctr *c, struct ctr_image *img, const struct oci_platform *want,
                           struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_free_ char *text = NULL;
        const struct oci_descriptor *d;
        size_t len;
        int r;

        if (media_type_kind(img->target_media_type) != MEDIA_KIND_INDEX) {
                img->manifest_digest = xstrdup(img->target_digest);
                return 0;
        }
        r = ctr_content_read(c, img->target_digest, MANIFEST_MAX_BYTES, &text, &len, err);
        if (r >= 0)
                r = oci_index_parse(text, len, &idx, err);
        if (r < 0)
                return errmsg_prefix(err, r, "index %s", img->target_digest);
        d = oci_index_select(idx, want);
        if (!d) {
                _cleanup_free_ char *p = oci_platform_string(want);

                return errmsg_set(err, -ENOENT,
                                  "no match for platform in manifest %s: %s: not found",
                                  img->target_digest, p);
        }
        img->manifest_digest = xstrdup(d->digest);
        return 0;
}

static int load_manifest(struct ctr *c, struct ctr_image *img, struct errmsg *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = ctr_content_read(c, img->manifest_digest, MANIFEST_MAX_BYTES, &text, &len, err);
        if (r >= 0)
                r = oci_manifest_parse(text, len, &img->manifest, err);
        if (r < 0)
                return errmsg_prefix(err, r, "manifest %s", img->manifest_digest);
        img->config_digest = xstrdup(img->manifest->config.digest);
        return 0;
}

int ctr_image_load_config(struct ctr *c, struct ctr_image *img, struct errmsg *err)
{
        _cleanup_free_ char *config = NULL;
        size_t len;
        int r;

        r = ctr_content_read(c, img->config_digest, MANIFEST_MAX_BYTES, &config, &len, err);
        if (r >= 0)
                r = oci_image_config_parse(config, len, &img->config, err);
        if (r < 0)
                return errmsg_prefix(err, r, "config %s", img->config_digest);
        for (size_t i = 0; i < img->config->n_diff_ids; i++) {
                char chain[DIGEST_STR_MAX];

                image_chain_id(i ? img->chain_ids[i - 1] : NULL, img->config->diff_ids[i], chain);
                strv_push(&img->chain_ids, chain);
        }
        return 0;
}

int ctr_image_resolve_manifest(struct ctr *c, const char *name, const struct oci_platform *platform,
                               struct ctr_image **ret, struct errmsg *err)
{
        Containerd__Services__Images__V1__GetImageRequest req =
                CONTAINERD__SERVICES__IMAGES__V1__GET_IMAGE_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Images__V1__GetImageResponse *resp = NULL;
        _cleanup_(ctr_image_freep) struct ctr_image *img = NULL;
        struct oci_platform host = {0};
        int r;

        req.name = (char *) name;
        r = ctr_call(c, IMAGES_SERVICE "Get", &req.base,
                     &containerd__services__images__v1__get_image_response__descriptor, &resp, err);
        if (r < 0)
                return r;
        if (!resp->image || !resp->image->target || !resp->image->target->digest)
                return errmsg_set(err, -EBADMSG, "image \"%s\": no target", name);
        img = xnew0(struct ctr_image, 1);
        img->name = xstrdup(name);
        img->target_digest = xstrdup(resp->image->target->digest);
        img->target_media_type = xstrdup(resp->image->target->media_type ?: "");
        if (!platform) {
                oci_platform_default(&host);
                platform = &host;
        }
        r = select_manifest(c, img, platform, err);
        oci_platform_release(&host);
        if (r >= 0)
                r = load_manifest(c, img, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(img);
        return 0;
}

int ctr_image_resolve(struct ctr *c, const char *name, const struct oci_platform *platform,
                      struct ctr_image **ret, struct errmsg *err)
{
        _cleanup_(ctr_image_freep) struct ctr_image *img = NULL;
        int r;

        r = ctr_image_resolve_manifest(c, name, platform, &img, err);
        if (r >= 0)
                r = ctr_image_load_config(c, img, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(img);
        return 0;
}

int ctr_image_put(struct ctr *c, const char *name, const struct ctr_target *target,
                  char *const *labels, struct errmsg *err)
{
        Containerd__Services__Images__V1__Image img = CONTAINERD__SERVICES__IMAGES__V1__IMAGE__INIT;
        Containerd__Types__Descriptor d = CONTAINERD__TYPES__DESCRIPTOR__INIT;
        int r = -ENOENT;

        img.name = (char *) name;
        img.labels = (Containerd__Services__Images__V1__Image__LabelsEntry **) ctr_map_new(
                &containerd__services__images__v1__image__labels_entry__descriptor, labels,
                &img.n_labels);
        d.media_type = (char *) target->media_type;
        d.digest = (char *) target->digest;
        d.size = target->size;
        d.annotations = (Containerd__Types__Descriptor__AnnotationsEntry **) ctr_map_new(
                &containerd__types__descriptor__annotations_entry__descriptor, target->annotations,
                &d.n_annotations);
        img.target = &d;
        /* as createNewImage: an update when it exists, a create again when it vanished */
        for (int attempt = 0; attempt < 3 && r == -ENOENT; attempt++) {
                Containerd__Services__Images__V1__CreateImageRequest cr =
                        CONTAINERD__SERVICES__IMAGES__V1__CREATE_IMAGE_REQUEST__INIT;
                Containerd__Services__Images__V1__UpdateImageRequest ur =
                        CONTAINERD__SERVICES__IMAGES__V1__UPDATE_IMAGE_REQUEST__INIT;
                _cleanup_pb_ ProtobufCMessage *resp = NULL;

                cr.image = &img;
                r = ctr_call(c, IMAGES_SERVICE "Create", &cr.base,
                             &containerd__services__images__v1__create_image_response__descriptor,
                             &resp, err);
                if (r != -EEXIST)
                        break;
                ur.image = &img;
                r = ctr_call(c, IMAGES_SERVICE "Update", &ur.base,
                             &containerd__services__images__v1__update_image_response__descriptor,
                             &resp, err);
        }
        ctr_map_free((void **) img.labels, img.n_labels);
        ctr_map_free((void **) d.annotations, d.n_annotations);
        return r;
}
