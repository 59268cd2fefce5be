/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for auth_challenge_parse() (lib/registry-auth.c): a registry's
 * WWW-Authenticate value is untrusted text. The input is one header value; a successful parse
 * must give a lowercase scheme.
 */
#include <ctype.h>

#include "lib/registry.h"
#include "lib/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = NULL;
        struct auth_challenge c = {0};
        struct errmsg err = {0};

        if (size > 16384)
                return 0;
        s = xstrndup((const char *) data, size);
        if (auth_challenge_parse(s, &c, &err) == 0) {
                assert(c.scheme && *c.scheme);
                for (const char *p = c.scheme; *p; p++)
                        assert(!isupper((unsigned char) *p));
                auth_challenge_release(&c);
        } else {
                assert(err.code < 0 && err.msg[0]);
        }
        return 0;
}
