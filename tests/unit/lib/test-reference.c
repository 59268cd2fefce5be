/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/reference.c: docker's normalisation (distribution v2.8.2
 * ParseNormalizedNamed + TagNameOnly), full and familiar strings, and the errors.
 */
#include "lib/digest.h"
#include "lib/reference.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

#define HEX  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define DGST "sha256:" HEX

struct ref_case {
        const char *input;
        const char *domain, *path, *tag, *digest;
        const char *full, *familiar;
};

static const struct ref_case good[] = {
        {"ubuntu", "docker.io", "library/ubuntu", "latest", NULL, "docker.io/library/ubuntu:latest",
         "ubuntu:latest"},
        {"library/ubuntu:20.04", "docker.io", "library/ubuntu", "20.04", NULL,
         "docker.io/library/ubuntu:20.04", "ubuntu:20.04"},
        {"docker.io/library/ubuntu", "docker.io", "library/ubuntu", "latest", NULL,
         "docker.io/library/ubuntu:latest", "ubuntu:latest"},
        {"docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", NULL,
         "docker.io/library/ubuntu:latest", "ubuntu:latest"},
        {"index.docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", NULL,
         "docker.io/library/ubuntu:latest", "ubuntu:latest"},
        {"index.docker.io/user/app:1.0", "docker.io", "user/app", "1.0", NULL,
         "docker.io/user/app:1.0", "user/app:1.0"},
        {"user/app", "docker.io", "user/app", "latest", NULL, "docker.io/user/app:latest",
         "user/app:latest"},
        {"library/a/b", "docker.io", "library/a/b", "latest", NULL, "docker.io/library/a/b:latest",
         "library/a/b:latest"},
        {"foo/bar/baz/qux", "docker.io", "foo/bar/baz/qux", "latest", NULL,
         "docker.io/foo/bar/baz/qux:latest", "foo/bar/baz/qux:latest"},
        {"localhost/foo", "localhost", "foo", "latest", NULL, "localhost/foo:latest",
         "localhost/foo:latest"},
        {"localhost:5000/foo/bar:tag", "localhost:5000", "foo/bar", "tag", NULL,
         "localhost:5000/foo/bar:tag", "localhost:5000/foo/bar:tag"},
        {"127.0.0.1:5000/x@" DGST, "127.0.0.1:5000", "x", NULL, DGST, "127.0.0.1:5000/x@" DGST,
         "127.0.0.1:5000/x@" DGST},
        {"localhost:5000/a/b:tag@" DGST, "localhost:5000", "a/b", "tag", DGST,
         "localhost:5000/a/b:tag@" DGST, "localhost:5000/a/b:tag@" DGST},
        {"127.0.0.1:5000/a:b", "127.0.0.1:5000", "a", "b", NULL, "127.0.0.1:5000/a:b",
         "127.0.0.1:5000/a:b"},
        {"busybox@" DGST, "docker.io", "library/busybox", NULL, DGST,
         "docker.io/library/busybox@" DGST, "busybox@" DGST},
        {"ubuntu:22.04@" DGST, "docker.io", "library/ubuntu", "22.04", DGST,
         "docker.io/library/ubuntu:22.04@" DGST, "ubuntu:22.04@" DGST},
        /* no '/': "foo:5000" is a name and a tag, not a host and a port */
        {"foo:5000", "docker.io", "library/foo", "5000", NULL, "docker.io/library/foo:5000",
         "foo:5000"},
        {"Example.COM/foo", "Example.COM", "foo", "latest", NULL, "Example.COM/foo:latest",
         "Example.COM/foo:latest"},
        {"a-b.example.com:443/x-y/c__d/e.f/g---h:V1.0_beta-2", "a-b.example.com:443",
         "x-y/c__d/e.f/g---h", "V1.0_beta-2", NULL,
         "a-b.example.com:443/x-y/c__d/e.f/g---h:V1.0_beta-2",
         "a-b.example.com:443/x-y/c__d/e.f/g---h:V1.0_beta-2"},
        {"registry:5000/app", "registry:5000", "app", "latest", NULL, "registry:5000/app:latest",
         "registry:5000/app:latest"},
        /* the first component of a docker.io path can look like a host */
        {"docker.io/example.com/app", "docker.io", "example.com/app", "latest", NULL,
         "docker.io/example.com/app:latest", "example.com/app:latest"},
        {"x:_x", "docker.io", "library/x", "_x", NULL, "docker.io/library/x:_x", "x:_x"},
        /* no '/' after it: a name and a tag again */
        {"localhost:5000", "docker.io", "library/localhost", "5000", NULL,
         "docker.io/library/localhost:5000", "localhost:5000"},
        /* as in docker: a digest-looking short name is a name and a tag */
        {"sha256:" HEX, "docker.io", "library/sha256", HEX, NULL, "docker.io/library/sha256:" HEX,
         "sha256:" HEX},
};

static void check_good(const struct ref_case *c)
{
        _cleanup_(image_ref_freep) struct image_ref *r = NULL;
        _cleanup_free_ char *full = NULL, *familiar = NULL, *repo = NULL;
        struct errmsg err = {0};
        int k;

        k = image_ref_parse(c->input, &r, &err);
        if (k < 0)
                fail_msg("%s: %s", c->input, err.msg);
        assert_string_equal(r->domain, c->domain);
        assert_string_equal(r->path, c->path);
        if (c->tag)
                assert_string_equal(r->tag, c->tag);
        else
                assert_null(r->tag);
        if (c->digest)
                assert_string_equal(r->digest, c->digest);
        else
                assert_null(r->digest);
        assert_string_equal(image_ref_object(r), c->digest ? c->digest : c->tag);
        repo = image_ref_repository(r);
        assert_memory_equal(repo, c->domain, strlen(c->domain));
        assert_string_equal(repo + strlen(c->domain) + 1, c->path);
        full = image_ref_string(r);
        familiar = image_ref_familiar(r);
        if (c->full)
                assert_string_equal(full, c->full);
        if (c->familiar)
                assert_string_equal(familiar, c->familiar);
}

static void test_ref_normalization_table(void **state)
{
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                check_good(&good[i]);
}

/* Parsing the full string gives it back; so does parsing the familiar one, for these. */
static void test_ref_round_trips(void **state)
{
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_(image_ref_freep) struct image_ref *r = NULL, *again = NULL, *fam = NULL;
                _cleanup_free_ char *full = NULL, *full2 = NULL, *familiar = NULL;
                _cleanup_free_ char *full3 = NULL;

                assert_int_equal(image_ref_parse(good[i].input, &r, NULL), 0);
                full = image_ref_string(r);
                assert_int_equal(image_ref_parse(full, &again, NULL), 0);
                full2 = image_ref_string(again);
                assert_string_equal(full, full2);
                if (STREQ(good[i].input, "docker.io/example.com/app"))
                        continue; /* familiar form reads as domain example.com, as in docker */
                familiar = image_ref_familiar(r);
                assert_int_equal(image_ref_parse(familiar, &fam, NULL), 0);
                full3 = image_ref_string(fam);
                assert_string_equal(full, full3);
        }
}

static void test_ref_default_tag_only_without_tag_and_digest(void **state)
{
        _cleanup_(image_ref_freep) struct image_ref *a = NULL, *b = NULL;

        (void) state;
        assert_int_equal(image_ref_parse("alpine", &a, NULL), 0);
        assert_string_equal(a->tag, "latest");
        assert_string_equal(image_ref_object(a), "latest");
        assert_int_equal(image_ref_parse("alpine@" DGST, &b, NULL), 0);
        assert_null(b->tag);
        assert_string_equal(image_ref_object(b), DGST);
}

struct bad_case {
        const char *input;
        int code;
        const char *msg;
};

static const struct bad_case bad[] = {
        {"", -EINVAL, "empty"},
        {"UPPER", -EINVAL, "repository name must be lowercase"},
        {"docker.io/Library/x", -EINVAL, "must be lowercase"},
        {"a:b:c", -EINVAL, "invalid tag \"b:c\""},
        {"foo:", -EINVAL, "invalid tag \"\""},
        {"foo:tag with space", -EINVAL, "invalid tag"},
        {"foo:.tag", -EINVAL, "invalid tag \".tag\""},
        {"foo:-tag", -EINVAL, "invalid tag"},
        {"foo@sha256:short", -EINVAL, "digest \"sha256:short\": sha256 needs 64"},
        {"foo@" DGST "0", -EINVAL, "sha256 needs 64"},
        {"foo@sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", -EINVAL,
         "sha256 needs 64"},
        {"foo@", -EINVAL, "digest \"\""},
        {"foo@" DGST "@" DGST, -EINVAL, "digest"},
        {"foo@sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d"
         "85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
         -EOPNOTSUPP, "unsupported algorithm"},
        {":tag", -EINVAL, "invalid repository name \"library/\""},
        {"@" DGST, -EINVAL, "invalid repository name"},
        {HEX, -EINVAL, "image id"},
        {"[::1]:5000/x", -EINVAL, "invalid domain \"[::1]:5000\""},
        {"localhost:/x", -EINVAL, "invalid domain"},
        {"localhost:50a0/x", -EINVAL, "invalid domain"},
        {"local_host.com/x", -EINVAL, "invalid domain"},
        {"-a.com/x", -EINVAL, "invalid domain"},
        {"a-.com/x", -EINVAL, "invalid domain"},
        {"a..com/x", -EINVAL, "invalid domain"},
        {"a..b", -EINVAL, "invalid repository name \"library/a..b\""},
        {"a___b", -EINVAL, "invalid repository name"},
        {"a._b", -EINVAL, "invalid repository name"},
        {"-a", -EINVAL, "invalid repository name"},
        {"a-", -EINVAL, "invalid repository name"},
        {"a//b", -EINVAL, "invalid repository name"},
        {"a/", -EINVAL, "invalid repository name"},
        {"/a", -EINVAL, "invalid repository name"},
        {"foo bar", -EINVAL, "invalid repository name"},
        {"example.com/", -EINVAL, "invalid repository name \"\""},
};

static void test_ref_errors_name_the_part(void **state)
{
        struct image_ref sentinel = {0};

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct image_ref *r = &sentinel;
                struct errmsg err = {0};
                char prefix[512];
                int k;

                k = image_ref_parse(bad[i].input, &r, &err);
                if (k != bad[i].code)
                        fail_msg("%s: got %d (%s)", bad[i].input, k, err.msg);
                assert_ptr_equal(r, &sentinel);
                (void) snprintf(prefix, sizeof(prefix), "reference \"%s\": ", bad[i].input);
                assert_memory_equal(err.msg, prefix, strlen(prefix));
                if (!strstr(err.msg, bad[i].msg))
                        fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].input, err.msg, bad[i].msg);
                assert_int_equal(image_ref_parse(bad[i].input, &r, NULL), bad[i].code);
        }
}

static void test_ref_length_limits(void **state)
{
        char name[IMAGE_REF_NAME_MAX + 16], tag[IMAGE_REF_TAG_MAX + 16];
        char long_input[IMAGE_REF_MAX + 2];
        _cleanup_free_ char *s = NULL, *t = NULL;
        struct image_ref *r = NULL;
        struct errmsg err = {0};
        const size_t prefix = STRLEN("example.com/");

        (void) state;
        /* "example.com/" + 243 characters is exactly 255 */
        memset(name, 'a', sizeof(name));
        name[IMAGE_REF_NAME_MAX - prefix] = '\0';
        s = xasprintf("example.com/%s", name);
        assert_int_equal(image_ref_parse(s, &r, NULL), 0);
        r = image_ref_free(r);
        free(s);
        name[IMAGE_REF_NAME_MAX - prefix] = 'a';
        name[IMAGE_REF_NAME_MAX - prefix + 1] = '\0';
        s = xasprintf("example.com/%s", name);
        assert_int_equal(image_ref_parse(s, &r, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "must not be more than 255 characters"));

        memset(tag, 'T', sizeof(tag));
        tag[IMAGE_REF_TAG_MAX] = '\0';
        t = xasprintf("x:%s", tag);
        assert_int_equal(image_ref_parse(t, &r, NULL), 0);
        r = image_ref_free(r);
        free(t);
        tag[IMAGE_REF_TAG_MAX] = 'T';
        tag[IMAGE_REF_TAG_MAX + 1] = '\0';
        t = xasprintf("x:%s", tag);
        assert_int_equal(image_ref_parse(t, &r, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "invalid tag"));

        memset(long_input, 'a', sizeof(long_input) - 1);
        long_input[sizeof(long_input) - 1] = '\0';
        assert_int_equal(image_ref_parse(long_input, &r, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "longer than 1024 bytes"));
        assert_null(r);
}

static void test_ref_free_accepts_null(void **state)
{
        (void) state;
        assert_null(image_ref_free(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ref_normalization_table),
                cmocka_unit_test(test_ref_round_trips),
                cmocka_unit_test(test_ref_default_tag_only_without_tag_and_digest),
                cmocka_unit_test(test_ref_errors_name_the_part),
                cmocka_unit_test(test_ref_length_limits),
                cmocka_unit_test(test_ref_free_accepts_null),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
