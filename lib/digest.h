/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Content digests: sha256 through OpenSSL's libcrypto (EVP), one-shot or streaming, and the
 * validation of digest strings as the OCI image-spec (descriptor.md, "Digests") defines them.
 * berth computes and stores only sha256 digests, written "sha256:" + 64 lowercase hex digits.
 * libberth is compiled against libcrypto's headers; every executable that uses this module
 * links libcrypto.
 */
#pragma once

#include "errmsg.h"

#define DIGEST_HEX_LEN 64
#define DIGEST_STR_MAX 72 /* "sha256:" + 64 hex + NUL */

/* A streaming sha256. Not thread-safe; one stream at a time. */
struct digester;

/* A digester ready for a new stream (the caller's). Aborts on OOM. */
struct digester *digester_new(void);
/* Feeds len bytes of buf into the stream; len may be 0. */
void digester_update(struct digester *d, const void *buf, size_t len);
/*
 * Writes "sha256:<hex>" of everything fed so far into ret. Afterwards d is reset and hashes a
 * new stream.
 */
void digester_final(struct digester *d, char ret[DIGEST_STR_MAX]);
/* Frees d; accepts NULL and returns NULL. */
struct digester *digester_free(struct digester *d);
DEFINE_CLEANUP_FUNC(struct digester, digester_free)

/* "sha256:<hex>" of the len bytes of buf, into ret. */
void digest_bytes(const void *buf, size_t len, char ret[DIGEST_STR_MAX]);

/*
 * Checks a digest string. Returns 0 when s is "sha256:" + 64 lowercase hex digits.
 * -EOPNOTSUPP when s is well-formed per the image-spec's grammar (algorithm ":" encoded) but
 * of another algorithm: sha384 (96 hex), sha512 (128 hex) or an unregistered one.
 * -EINVAL for anything else, including a sha256/sha384/sha512 digest of the wrong length or
 * with uppercase hex. err (may be NULL) reads "digest \"...\": why".
 */
int digest_validate(const char *s, struct errmsg *err);

/*
 * The encoded part of digest: what follows the first ':' ("sha256:<hex>" gives "<hex>"), or
 * digest itself when it has no ':'. Borrowed from digest.
 */
const char *digest_hex(const char *digest);
