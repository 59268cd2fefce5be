/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/digest.c: sha256 vectors (FIPS 180-2), streaming, validation. */
#include "lib/digest.h"
#include "lib/errmsg.h"
#include "tests/unit/unit.h"

#define SHA256_EMPTY      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA256_MILLION_A  "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
#define SHA256_TWO_BLOCKS "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define TWO_BLOCKS        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

static void test_digest_bytes_known_vectors(void **state)
{
        char d[DIGEST_STR_MAX];

        (void) state;
        digest_bytes("", 0, d);
        assert_string_equal(d, SHA256_EMPTY);
        digest_bytes(NULL, 0, d);
        assert_string_equal(d, SHA256_EMPTY);
        digest_bytes("abc", 3, d);
        assert_string_equal(d, SHA256_ABC);
        digest_bytes(TWO_BLOCKS, strlen(TWO_BLOCKS), d);
        assert_string_equal(d, SHA256_TWO_BLOCKS);
        assert_int_equal(strlen(d), DIGEST_STR_MAX - 1);
}

static void test_digester_streaming_equals_one_shot(void **state)
{
        _cleanup_(digester_freep) struct digester *dg = digester_new();
        char a[DIGEST_STR_MAX], b[DIGEST_STR_MAX];

        (void) state;
        for (size_t i = 0; i < strlen(TWO_BLOCKS); i++)
                digester_update(dg, &TWO_BLOCKS[i], 1);
        digester_final(dg, a);
        digest_bytes(TWO_BLOCKS, strlen(TWO_BLOCKS), b);
        assert_string_equal(a, b);

        /* after final the digester starts a new stream */
        digester_update(dg, "ab", 2);
        digester_update(dg, "", 0);
        digester_update(dg, "c", 1);
        digester_final(dg, a);
        assert_string_equal(a, SHA256_ABC);
        digester_final(dg, a);
        assert_string_equal(a, SHA256_EMPTY);
}

static void test_digester_million_a(void **state)
{
        _cleanup_(digester_freep) struct digester *dg = digester_new();
        char chunk[1000], d[DIGEST_STR_MAX];

        (void) state;
        memset(chunk, 'a', sizeof(chunk));
        for (int i = 0; i < 1000; i++)
                digester_update(dg, chunk, sizeof(chunk));
        digester_final(dg, d);
        assert_string_equal(d, SHA256_MILLION_A);
        assert_null(digester_free(NULL));
}

static void test_digest_validate_accepts_sha256(void **state)
{
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(digest_validate(SHA256_ABC, &err), 0);
        assert_int_equal(digest_validate(SHA256_EMPTY, NULL), 0);
        assert_int_equal(err.code, 0);
        assert_string_equal(digest_hex(SHA256_ABC), &SHA256_ABC[STRLEN("sha256:")]);
        assert_string_equal(digest_hex("nocolon"), "nocolon");
}

static void test_digest_validate_rejects(void **state)
{
        static const struct {
                const char *digest;
                int code;
                const char *msg;
        } cases[] = {
                {"", -EINVAL, "missing \"algorithm:\" prefix"},
                {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", -EINVAL,
                 "missing"},
                {"sha256:", -EINVAL, "empty encoded part"},
                {":abc", -EINVAL, "invalid algorithm"},
                {"SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", -EINVAL,
                 "invalid algorithm"},
                {"sha256+:abc", -EINVAL, "invalid algorithm"},
                {"sha..256:abc", -EINVAL, "invalid algorithm"},
                {"sha256:short", -EINVAL, "sha256 needs 64 lowercase hex digits"},
                {"sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", -EINVAL,
                 "sha256 needs 64"},
                {"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
                 -EINVAL, "sha256 needs 64"},
                {"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a!", -EINVAL,
                 "invalid character"},
                {"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a\n",
                 -EINVAL, "invalid character"},
                {"sha512:abc", -EINVAL, "sha512 needs 128 lowercase hex digits"},
                {"sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d"
                 "85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
                 -EOPNOTSUPP, "unsupported algorithm \"sha512\""},
                {"sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe7"
                 "6f65fbd51ad2f14898b95b",
                 -EOPNOTSUPP, "unsupported algorithm \"sha384\""},
                {"multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", -EOPNOTSUPP,
                 "unsupported algorithm \"multihash+base58\""},
                {"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", -EOPNOTSUPP,
                 "unsupported"},
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct errmsg err = {0};
                char prefix[256];

                assert_int_equal(digest_validate(cases[i].digest, &err), cases[i].code);
                assert_int_equal(err.code, cases[i].code);
                (void) snprintf(prefix, sizeof(prefix), "digest \"%s\": ", cases[i].digest);
                assert_memory_equal(err.msg, prefix, strlen(prefix));
                if (!strstr(err.msg, cases[i].msg))
                        fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].digest, err.msg, cases[i].msg);
                assert_int_equal(digest_validate(cases[i].digest, NULL), cases[i].code);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_digest_bytes_known_vectors),
                cmocka_unit_test(test_digester_streaming_equals_one_shot),
                cmocka_unit_test(test_digester_million_a),
                cmocka_unit_test(test_digest_validate_accepts_sha256),
                cmocka_unit_test(test_digest_validate_rejects),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
