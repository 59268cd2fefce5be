/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for image references (lib/reference.c): any input gives a reference or
 * an error, without crash or leak; a parsed reference's full string parses again to the
 * same string. The same bytes also go through digest_validate().
 */
#include "lib/digest.h"
#include "lib/reference.h"
#include "lib/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct image_ref *r)
{
        _cleanup_(image_ref_freep) struct image_ref *again = NULL;
        _cleanup_free_ char *full = image_ref_string(r), *full2 = NULL;
        _cleanup_free_ char *familiar = image_ref_familiar(r);
        _cleanup_free_ char *repo = image_ref_repository(r);

        if (!image_ref_object(r) || image_ref_parse(full, &again, NULL) < 0)
                abort();
        full2 = image_ref_string(again);
        if (!STREQ(full, full2) || !familiar[0] || !repo[0])
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(image_ref_freep) struct image_ref *r = NULL;
        _cleanup_free_ char *s = NULL;
        struct errmsg err = {0};

        if (size > 2 * IMAGE_REF_MAX)
                return 0;
        s = xstrndup((const char *) data, size);
        (void) digest_validate(s, &err);
        if (image_ref_parse(s, &r, &err) == 0)
                check_round_trip(r);
        return 0;
}
