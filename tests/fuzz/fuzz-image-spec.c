/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the image document parsers (lib/image-spec.c): the same bytes go
 * through the manifest, index and config parsers, manifest_body_kind() and, as a string,
 * oci_platform_parse(); any input must give a result or an error, without crash or leak.
 * A parsed index is also searched for a few platforms.
 */
#include "lib/image-spec.h"
#include "lib/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void select_some(const struct oci_index *idx)
{
        static const char *const wants[] = {"linux/amd64", "linux/arm64", "linux/arm/v7",
                                            "windows/amd64/v3"};

        for (size_t i = 0; i < ELEMENTSOF(wants); i++) {
                struct oci_platform want = {0};

                if (oci_platform_parse(wants[i], &want, NULL) < 0)
                        abort();
                (void) oci_index_select(idx, &want);
                oci_platform_release(&want);
        }
        for (size_t i = 0; i < idx->n_manifests; i++)
                if (idx->manifests[i].platform)
                        free(oci_platform_string(idx->manifests[i].platform));
}

static void parse_platform(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = NULL;
        struct oci_platform p = {0};

        if (size > 256)
                return;
        s = xstrndup((const char *) data, size);
        if (oci_platform_parse(s, &p, NULL) == 0) {
                free(oci_platform_string(&p));
                oci_platform_normalize(&p);
                oci_platform_release(&p);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_(oci_image_config_freep) struct oci_image_config *c = NULL;
        const char *json = (const char *) data;
        struct errmsg err = {0};

        if (size > MANIFEST_MAX_BYTES)
                return 0;
        (void) oci_manifest_parse(json, size, &m, &err);
        if (oci_index_parse(json, size, &idx, &err) == 0)
                select_some(idx);
        (void) oci_image_config_parse(json, size, &c, &err);
        (void) media_kind_to_string(manifest_body_kind(json, size));
        parse_platform(data, size);
        return 0;
}
