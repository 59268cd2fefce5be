/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images as ctr's commands see them through the API: a blob read from the content store
 * (Content.Read), and an image record resolved for a platform to its manifest, config and
 * layer chain ids (Images.Get, then the index, manifest and config blobs).
 */
#pragma once

#include "ctr/ctr.h"
#include "lib/image-spec.h"

/* Reads the blob digest whole (at most max bytes: -EFBIG) into *ret (NUL-terminated, the
 * caller's); -ENOENT with containerd's words when the store has no such blob. */
int ctr_content_read(struct ctr *c, const char *digest, size_t max, char **ret, size_t *ret_len,
                     struct errmsg *err);

struct ctr_image {
        char *name;
        char *target_digest; /* the record's target (index or manifest) */
        char *target_media_type;
        char *manifest_digest; /* the manifest for the platform */
        struct oci_manifest *manifest;
        char *config_digest;
        struct oci_image_config *config; /* config->json has Env, Cmd, ... */
        char **chain_ids;                /* strv, bottom layer first */
};

/*
 * Images.Get name, then the manifest that serves platform (NULL: the host's, as
 * oci_platform_default) and its config. -ENOENT "image \"%s\": not found" as ctr words it.
 */
int ctr_image_resolve(struct ctr *c, const char *name, const struct oci_platform *platform,
                      struct ctr_image **ret, struct errmsg *err);
struct ctr_image *ctr_image_free(struct ctr_image *img);
DEFINE_CLEANUP_FUNC(struct ctr_image, ctr_image_free)
