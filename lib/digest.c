/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sha256 digests through libcrypto's EVP interface, and digest string validation (see
 * digest.h). The grammar checked is the image-spec's (descriptor.md, "Digests"):
 * algorithm components [a-z0-9]+ joined by one of [+._-], a ':', then [a-zA-Z0-9=_-]+.
 */
#include "digest.h"

#include <openssl/evp.h>

#include "xalloc.h"

struct digester {
        EVP_MD_CTX *ctx;
};

static const char hex_digits[] = "0123456789abcdef";

/* libcrypto fails here only without memory or with a broken build: both are fatal. */
static void digester_init(struct digester *d)
{
        if (EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
                abort();
}

struct digester *digester_new(void)
{
        struct digester *d = xnew0(struct digester, 1);

        d->ctx = EVP_MD_CTX_new();
        if (!d->ctx)
                abort();
        digester_init(d);
        return d;
}

void digester_update(struct digester *d, const void *buf, size_t len)
{
        assert(d);
        if (len > 0 && EVP_DigestUpdate(d->ctx, buf, len) != 1)
                abort();
}

void digester_final(struct digester *d, char ret[DIGEST_STR_MAX])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        char *p;

        assert(d);
        if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1 || n * 2 != DIGEST_HEX_LEN)
                abort();
        memcpy(ret, "sha256:", STRLEN("sha256:"));
        p = ret + STRLEN("sha256:");
        for (unsigned int i = 0; i < n; i++) {
                *p++ = hex_digits[md[i] >> 4];
                *p++ = hex_digits[md[i] & 0xf];
        }
        *p = '\0';
        digester_init(d);
}

struct digester *digester_free(struct digester *d)
{
        if (d) {
                EVP_MD_CTX_free(d->ctx);
                free(d);
        }
        return NULL;
}

void digest_bytes(const void *buf, size_t len, char ret[DIGEST_STR_MAX])
{
        _cleanup_(digester_freep) struct digester *d = digester_new();

        digester_update(d, buf, len);
        digester_final(d, ret);
}

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_encoded_char(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' || c == '-';
}

/* algorithm ::= component (separator component)*, component ::= [a-z0-9]+ */
static bool algorithm_is_valid(const char *s, size_t len)
{
        bool after_separator = true;

        for (size_t i = 0; i < len; i++) {
                if (is_lower_alnum(s[i]))
                        after_separator = false;
                else if (strchr("+._-", s[i]) && !after_separator)
                        after_separator = true;
                else
                        return false;
        }
        return !after_separator;
}

static bool is_lower_hex(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* The registered algorithms whose encoded part is lowercase hex of a fixed length. */
static const struct {
        const char *name;
        size_t hex_len;
} hex_algorithms[] = {
        {"sha256", DIGEST_HEX_LEN},
        {"sha384", 96},
        {"sha512", 128},
};

int digest_validate(const char *s, struct errmsg *err)
{
        const char *colon, *encoded;
        size_t alg_len;

        assert(s);
        colon = strchr(s, ':');
        if (!colon)
                return errmsg_set(err, -EINVAL, "digest \"%s\": missing \"algorithm:\" prefix", s);
        alg_len = (size_t) (colon - s);
        encoded = colon + 1;
        if (!algorithm_is_valid(s, alg_len))
                return errmsg_set(err, -EINVAL, "digest \"%s\": invalid algorithm", s);
        if (!*encoded)
                return errmsg_set(err, -EINVAL, "digest \"%s\": empty encoded part", s);
        for (const char *p = encoded; *p; p++)
                if (!is_encoded_char(*p))
                        return errmsg_set(err, -EINVAL, "digest \"%s\": invalid character", s);

        for (size_t i = 0; i < ELEMENTSOF(hex_algorithms); i++) {
                if (strlen(hex_algorithms[i].name) != alg_len ||
                    strncmp(s, hex_algorithms[i].name, alg_len) != 0)
                        continue;
                if (strlen(encoded) != hex_algorithms[i].hex_len ||
                    !is_lower_hex(encoded, strlen(encoded)))
                        return errmsg_set(err, -EINVAL,
                                          "digest \"%s\": %s needs %zu lowercase hex digits", s,
                                          hex_algorithms[i].name, hex_algorithms[i].hex_len);
                if (i == 0)
                        return 0;
                break;
        }
        return errmsg_set(err, -EOPNOTSUPP, "digest \"%s\": unsupported algorithm \"%.*s\"", s,
                          (int) alg_len, s);
}

const char *digest_hex(const char *digest)
{
        const char *colon = strchr(digest, ':');

        return colon ? colon + 1 : digest;
}
