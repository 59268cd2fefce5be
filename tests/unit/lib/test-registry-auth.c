/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the registry client's offline parts: WWW-Authenticate challenge parsing,
 * Docker config.json credential lookup, hosts and URL building, status mapping and error
 * messages (lib/registry-auth.c, registry-client.c, registry-http.c). Exchanges with a real
 * registry are in tests/integration/test_registry_client.py.
 */
#include <fcntl.h>
#include <stdlib.h>

#include "lib/fs.h"
#include "lib/registry-internal.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

static void test_challenge_bearer_full(void **state)
{
        struct auth_challenge c = {0};

        (void) state;
        assert_int_equal(auth_challenge_parse("Bearer realm=\"https://auth.docker.io/token\","
                                              "service=\"registry.docker.io\","
                                              "scope=\"repository:library/busybox:pull\"",
                                              &c, NULL),
                         0);
        assert_string_equal(c.scheme, "bearer");
        assert_string_equal(c.realm, "https://auth.docker.io/token");
        assert_string_equal(c.service, "registry.docker.io");
        assert_string_equal(c.scope, "repository:library/busybox:pull");
        assert_null(c.error);
        auth_challenge_release(&c);
        assert_null(c.scheme);
}

static void test_challenge_commas_in_quotes_and_spaces(void **state)
{
        struct auth_challenge c = {0};

        (void) state;
        assert_int_equal(auth_challenge_parse("  BEARER Realm=\"http://127.0.0.1:1/t?a=b,c\" ,  "
                                              "SERVICE = reg ,scope=\"repository:a:pull,push "
                                              "repository:b:pull\", error=\"insufficient_scope\"",
                                              &c, NULL),
                         0);
        assert_string_equal(c.scheme, "bearer");
        assert_string_equal(c.realm, "http://127.0.0.1:1/t?a=b,c");
        assert_string_equal(c.service, "reg");
        assert_string_equal(c.scope, "repository:a:pull,push repository:b:pull");
        assert_string_equal(c.error, "insufficient_scope");
        auth_challenge_release(&c);
}

static void test_challenge_escapes_unknown_params_and_next_challenge(void **state)
{
        struct auth_challenge c = {0};

        (void) state;
        assert_int_equal(
                auth_challenge_parse(
                        "Basic charset=\"UTF-8\", realm=\"a\\\"b\\\\c\", Bearer realm=x", &c, NULL),
                0);
        assert_string_equal(c.scheme, "basic");
        assert_string_equal(c.realm, "a\"b\\c");
        assert_null(c.service);
        auth_challenge_release(&c);

        assert_int_equal(auth_challenge_parse("Negotiate", &c, NULL), 0);
        assert_string_equal(c.scheme, "negotiate");
        assert_null(c.realm);
        auth_challenge_release(&c);

        assert_int_equal(auth_challenge_parse("Basic, Bearer realm=\"r\"", &c, NULL), 0);
        assert_string_equal(c.scheme, "basic");
        assert_null(c.realm);
        auth_challenge_release(&c);
}

static void test_challenge_bad_syntax(void **state)
{
        static const char *const bad[] = {
                "",
                "   ",
                "=x",
                "\"Bearer\"",
                "Bearer realm",
                "Bearer realm=",
                "Bearer realm=\"unterminated",
                "Bearer realm=\"a\" service=\"b\"",
                "Bearer =\"x\"",
                "Bearer realm=\"a\",realm=\"b\"",
                "Bearer realm=\"tab\tok but \x01 not\"",
                "Bearer realm=\"x\\",
                "Bearer/1 realm=x",
        };
        struct auth_challenge c = {.scheme = (char *) "untouched"};
        struct errmsg err = {0};

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err = (struct errmsg){0};
                assert_int_equal(auth_challenge_parse(bad[i], &c, &err), -EINVAL);
                assert_string_equal(c.scheme, "untouched");
                assert_non_null(strstr(err.msg, "WWW-Authenticate: "));
        }
        assert_int_equal(auth_challenge_parse("Bearer realm=\"unterminated", &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "unterminated quoted string at offset 13"));
        assert_int_equal(auth_challenge_parse(NULL, &c, NULL), -EINVAL);
}

static void test_challenge_too_long(void **state)
{
        _cleanup_free_ char *s = xmalloc(10000);
        struct auth_challenge c = {0};
        struct errmsg err = {0};

        (void) state;
        memcpy(s, "Bearer realm=\"", 14);
        memset(s + 14, 'a', 10000 - 16);
        s[10000 - 2] = '"';
        s[10000 - 1] = '\0';
        assert_int_equal(auth_challenge_parse(s, &c, &err), -E2BIG);
        assert_null(c.scheme);
}

/* "u:p" -> "dTpw" etc., built here to keep the fixtures readable */
static const char config_json[] =
        "{\"auths\": {"
        "\"127.0.0.1:5000\": {\"auth\": \"dTpw\"},"                  /* u:p */
        "\"https://index.docker.io/v1/\": {\"auth\": \"ZDpxOnI=\"}," /* d:q:r */
        "\"http://reg.example:8080/v2/\": {\"auth\": \"aDpz\"},"     /* h:s */
        "\"other.example\": {\"username\": \"a\", \"password\": \"b\"},"
        "\"store.example\": {}"
        "}, \"credsStore\": \"desktop\"}";

static void assert_creds(const struct registry_credentials *c, const char *host, const char *user,
                         const char *password)
{
        const char *u = "untouched", *p = "untouched";

        if (!user) {
                assert_int_equal(registry_credentials_lookup(c, host, &u, &p), 0);
                assert_string_equal(u, "untouched");
                return;
        }
        assert_int_equal(registry_credentials_lookup(c, host, &u, &p), 1);
        assert_string_equal(u, user);
        assert_string_equal(p, password);
}

static void test_credentials_lookup(void **state)
{
        _cleanup_(registry_credentials_freep) struct registry_credentials *c = NULL;

        (void) state;
        assert_int_equal(registry_credentials_parse(config_json, strlen(config_json), &c, NULL), 0);
        assert_creds(c, "127.0.0.1:5000", "u", "p");
        assert_creds(c, "127.0.0.1:5001", NULL, NULL);
        assert_creds(c, "docker.io", "d", "q:r");
        assert_creds(c, "index.docker.io", "d", "q:r");
        assert_creds(c, "registry-1.docker.io", "d", "q:r");
        assert_creds(c, "reg.example:8080", "h", "s");
        assert_creds(c, "REG.example:8080", "h", "s");
        assert_creds(c, "reg.example", NULL, NULL);
        assert_creds(c, "other.example", "a", "b");
        assert_creds(c, "store.example", NULL, NULL);
        assert_null(registry_credentials_path(c));
}

static void test_credentials_docker_io_aliases(void **state)
{
        static const char *const keys[] = {"docker.io", "index.docker.io",
                                           "https://index.docker.io", "registry-1.docker.io"};

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_(registry_credentials_freep) struct registry_credentials *c = NULL;
                _cleanup_free_ char *json =
                        xasprintf("{\"auths\": {\"%s\": {\"auth\": \"dTpw\"}}}", keys[i]);

                assert_int_equal(registry_credentials_parse(json, strlen(json), &c, NULL), 0);
                assert_creds(c, "registry-1.docker.io", "u", "p");
                assert_creds(c, "docker.io", "u", "p");
                assert_creds(c, "quay.io", NULL, NULL);
        }
}

static void test_credentials_errors(void **state)
{
        static const struct {
                const char *json;
                const char *msg;
        } cases[] = {
                {"{\"auths\": ", "1:"},
                {"[]", "not a JSON object"},
                {"{\"auths\": []}", "auths: not an object"},
                {"{\"auths\": {\"h\": 1}}", "auths.\"h\": not an object"},
                {"{\"auths\": {\"h\": {\"auth\": \"!!!!\"}}}", "auths.\"h\".auth: not base64"},
                {"{\"auths\": {\"h\": {\"auth\": \"dXNlcg==\"}}}", "auths.\"h\".auth"}, /* no ':' */
                {"{\"auths\": {\"h\": {\"auth\": \"dTp\"}}}", "auths.\"h\".auth"},
        };
        struct registry_credentials *c = (struct registry_credentials *) 0x1;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct errmsg err = {0};

                assert_int_equal(
                        registry_credentials_parse(cases[i].json, strlen(cases[i].json), &c, &err),
                        -EINVAL);
                assert_ptr_equal(c, (void *) 0x1);
                assert_non_null(strstr(err.msg, cases[i].msg));
        }
}

static void test_credentials_load_files(void **state)
{
        char dir[] = "/tmp/berth-test-registry-XXXXXX";
        _cleanup_(registry_credentials_freep) struct registry_credentials *c = NULL;
        _cleanup_free_ char *path = NULL, *missing = NULL;
        _cleanup_close_ int dfd = -EBADF;
        struct registry_client *client = NULL;
        struct errmsg err = {0};

        (void) state;
        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        path = xasprintf("%s/config.json", dir);
        missing = xasprintf("%s/missing.json", dir);

        assert_int_equal(registry_credentials_load(missing, &c, NULL), 0);
        assert_creds(c, "127.0.0.1:5000", NULL, NULL);
        assert_string_equal(registry_credentials_path(c), missing);
        c = registry_credentials_free(c);

        assert_int_equal(
                write_file_atomic_at(dfd, "config.json", config_json, strlen(config_json), 0600),
                0);
        assert_int_equal(setenv("DOCKER_CONFIG", dir, 1), 0);
        assert_int_equal(registry_credentials_load(NULL, &c, NULL), 0);
        assert_creds(c, "127.0.0.1:5000", "u", "p");
        assert_string_equal(registry_credentials_path(c), path);
        assert_int_equal(unsetenv("DOCKER_CONFIG"), 0);

        assert_int_equal(write_file_atomic_at(dfd, "config.json", "{", 1, 0600), 0);
        assert_int_equal(
                registry_client_new(&(struct registry_opts){.docker_config = path}, &client, &err),
                -EINVAL);
        assert_null(client);
        assert_non_null(strstr(err.msg, path));
        assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

static void test_client_rejects_bad_mirror(void **state)
{
        struct registry_mirror m = {"docker.io", "mirror.example"};
        struct registry_opts o = {
                .docker_config = "/nonexistent/config.json", .mirrors = &m, .n_mirrors = 1};
        struct registry_client *c = NULL;
        struct errmsg err = {0};

        (void) state;
        assert_int_equal(registry_client_new(&o, &c, &err), -EINVAL);
        assert_null(c);
        assert_non_null(strstr(err.msg, "mirror \"docker.io\""));
        m.endpoint = "http://127.0.0.1:5001/";
        assert_int_equal(registry_client_new(&o, &c, &err), 0);
        c = registry_client_free(c);
}

static void assert_base(const char *domain, char *const *insecure, const char *want)
{
        _cleanup_free_ char *base = registry_base_url(domain, insecure);

        assert_string_equal(base, want);
}

static void test_hosts(void **state)
{
        char *insecure[] = {(char *) "reg.example", (char *) "other.example:6000", NULL};

        (void) state;
        assert_string_equal(registry_api_host("docker.io"), "registry-1.docker.io");
        assert_string_equal(registry_api_host("quay.io"), "quay.io");
        assert_base("docker.io", NULL, "https://registry-1.docker.io");
        assert_base("index.docker.io", NULL, "https://registry-1.docker.io");
        assert_base("127.0.0.1:5000", NULL, "http://127.0.0.1:5000");
        assert_base("127.42.0.9", NULL, "http://127.42.0.9");
        assert_base("localhost:5000", NULL, "http://localhost:5000");
        assert_base("localhost", NULL, "http://localhost");
        assert_base("[::1]:5000", NULL, "http://[::1]:5000");
        assert_base("128.0.0.1:5000", NULL, "https://128.0.0.1:5000");
        assert_base("quay.io", NULL, "https://quay.io");
        assert_base("reg.example:5000", insecure, "http://reg.example:5000");
        assert_base("reg.example", insecure, "http://reg.example");
        assert_base("other.example:6000", insecure, "http://other.example:6000");
        assert_base("other.example:6001", insecure, "https://other.example:6001");
        assert_base("other.example", insecure, "https://other.example");
        assert_false(registry_host_is_insecure("localhost.example", NULL));
}

static void assert_str_free(char *got, const char *want)
{
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
}

static void test_urls(void **state)
{
        const char *base = "http://127.0.0.1:5000";

        (void) state;
        assert_str_free(registry_url(base, "library/busybox", "manifests", "latest", NULL),
                        "http://127.0.0.1:5000/v2/library/busybox/manifests/latest");
        assert_str_free(registry_url("https://m.example", "library/busybox", "blobs", "sha256:ab",
                                     "docker.io"),
                        "https://m.example/v2/library/busybox/blobs/sha256:ab?ns=docker.io");
        assert_str_free(registry_url(base, "a/b", "blobs", "uploads/", NULL),
                        "http://127.0.0.1:5000/v2/a/b/blobs/uploads/");
        assert_str_free(
                registry_location_url(base, "/v2/a/blobs/uploads/u1?_state=x%3D", "digest",
                                      "sha256:ab"),
                "http://127.0.0.1:5000/v2/a/blobs/uploads/u1?_state=x%3D&digest=sha256%3Aab");
        assert_str_free(registry_location_url(base, "https://up.example/x", "digest", "sha256:ab"),
                        "https://up.example/x?digest=sha256%3Aab");
        assert_str_free(registry_location_url(base, "up.example:1/x?", "k", "a b/c"),
                        "http://up.example:1/x?k=a%20b%2Fc");
        assert_str_free(registry_location_url(base, "/v2/x", NULL, NULL),
                        "http://127.0.0.1:5000/v2/x");
        assert_str_free(registry_location_url(NULL, "http://t.example/token?a=1", "scope",
                                              "repository:a/b:pull,push"),
                        "http://t.example/token?a=1&scope=repository%3Aa%2Fb%3Apull%2Cpush");
        assert_str_free(registry_url_authority("http://u:p@h.example:5000/v2/?x"),
                        "h.example:5000");
        assert_str_free(registry_url_authority("https://[::1]:5000"), "[::1]:5000");
        assert_null(registry_url_authority("h.example/v2"));
        assert_null(registry_url_authority("http:///v2"));
        assert_str_free(registry_scope("library/busybox", "pull"),
                        "repository:library/busybox:pull");
}

static void test_status_errors(void **state)
{
        struct registry_request q = {.method = "GET",
                                     .url = "http://127.0.0.1:5000/v2/a/manifests/latest"};
        char body[] = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest "
                      "unknown\",\"detail\":{\"Tag\":\"latest\"}}]}";
        struct registry_response r = {.status = 404, .body = body, .len = strlen(body)};
        struct errmsg err = {0};
        char text[] = "oops\nbad gateway";

        (void) state;
        assert_int_equal(registry_status_error(&q, &r, &err), -ENOENT);
        assert_string_equal(err.msg, "GET http://127.0.0.1:5000/v2/a/manifests/latest: 404 Not "
                                     "Found: MANIFEST_UNKNOWN: manifest unknown");
        r = (struct registry_response){.status = 502, .body = text, .len = strlen(text)};
        assert_int_equal(registry_status_error(&q, &r, &err), -EIO);
        assert_non_null(strstr(err.msg, ": 502 Bad Gateway: oops bad gateway"));
        r = (struct registry_response){.status = 200};
        assert_int_equal(registry_status_error(&q, &r, &err), -EPROTO);
        assert_int_equal(registry_status_to_errno(201), 0);
        assert_int_equal(registry_status_to_errno(401), -EACCES);
        assert_int_equal(registry_status_to_errno(403), -EACCES);
        assert_int_equal(registry_status_to_errno(400), -EINVAL);
        assert_int_equal(registry_status_to_errno(429), -EIO);
        assert_int_equal(registry_status_to_errno(503), -EIO);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_challenge_bearer_full),
                cmocka_unit_test(test_challenge_commas_in_quotes_and_spaces),
                cmocka_unit_test(test_challenge_escapes_unknown_params_and_next_challenge),
                cmocka_unit_test(test_challenge_bad_syntax),
                cmocka_unit_test(test_challenge_too_long),
                cmocka_unit_test(test_credentials_lookup),
                cmocka_unit_test(test_credentials_docker_io_aliases),
                cmocka_unit_test(test_credentials_errors),
                cmocka_unit_test(test_credentials_load_files),
                cmocka_unit_test(test_client_rejects_bad_mirror),
                cmocka_unit_test(test_hosts),
                cmocka_unit_test(test_urls),
                cmocka_unit_test(test_status_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
