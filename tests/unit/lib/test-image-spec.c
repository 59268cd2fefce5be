/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/image-spec.c: OCI and Docker manifests, indexes and configs (valid
 * documents, every error naming its field, ret untouched, the size cap), media kinds, and
 * platform parsing, normalisation, matching and index selection (containerd 1.6.20's rules).
 */
#include "lib/image-spec.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

#define H1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define H4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define H5 "sha256:5555555555555555555555555555555555555555555555555555555555555555"
#define H6 "sha256:6666666666666666666666666666666666666666666666666666666666666666"
#define H7 "sha256:7777777777777777777777777777777777777777777777777777777777777777"

static const char oci_manifest[] =
        "{\n"
        "  \"schemaVersion\": 2,\n"
        "  \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"
        "  \"config\": {\"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n"
        "             \"digest\": \"" H1 "\", \"size\": 1470},\n"
        "  \"layers\": [\n"
        "    {\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n"
        "     \"digest\": \"" H2 "\", \"size\": 32654},\n"
        "    {\"mediaType\": \"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd\",\n"
        "     \"digest\": \"" H3 "\", \"size\": 0, \"urls\": [\"https://example.com/l\"],\n"
        "     \"annotations\": {\"a\": \"1\"}, \"unknown\": [1, 2]}\n"
        "  ],\n"
        "  \"annotations\": {\"org.opencontainers.image.created\": \"2024-01-01T00:00:00Z\",\n"
        "                  \"k\": \"v\"},\n"
        "  \"subject\": null, \"whatever\": {\"x\": 1}\n"
        "}\n";

static const char docker_manifest[] =
        "{\"schemaVersion\": 2,"
        " \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\","
        " \"config\": {\"mediaType\": \"application/vnd.docker.container.image.v1+json\","
        "   \"size\": 7023, \"digest\": \"" H1 "\"},"
        " \"layers\": [{\"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\","
        "   \"size\": 32654, \"digest\": \"" H2 "\"}]}";

/* amd64, arm64/v8, arm/v7, arm/v6, s390x, windows/amd64 and one without a platform */
#define PLATFORM_DESC(h, plat)                                                             \
        "{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" h \
        "\", \"size\": 7143" plat "}"
static const char oci_index[] =
        "{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.oci.image.index.v1+json\","
        " \"manifests\": [" PLATFORM_DESC(H7, "") "," PLATFORM_DESC(H1, ", \"platform\": {\"architecture\": \"amd64\", \"os\": \"linux\"}") "," PLATFORM_DESC(
                H2,
                ", \"platform\": {\"architecture\": \"arm64\", \"os\": \"linux\","
                " \"variant\": \"v8\"}") "," PLATFORM_DESC(H3,
                                                           ", \"platform\": {\"architecture\": \"arm\", \"os\": \"linux\","
                                                           " \"variant\": \"v7\"}") "," PLATFORM_DESC(H4,
                                                                                                      ", \"platform\": {\"architecture\": \"arm\", \"os\": \"linux\","
                                                                                                      " \"variant\": \"v6\"}") "," PLATFORM_DESC(H5,
                                                                                                                                                 ", \"platform\": {\"architecture\": \"s390x\", \"os\": \"linux\"}") "," PLATFORM_DESC(H6,
                                                                                                                                                                                                                                       ", \"platform\": {\"architecture\": \"amd64\", \"os\": \"windows\","
                                                                                                                                                                                                                                       " \"os.version\": \"10.0.17763.1\"}") "], \"annotations\": {\"org.opencontainers.image.ref.name\": \"1.0\"}}";

static const char docker_list[] =
        "{\"schemaVersion\": 2,"
        " \"mediaType\": \"application/vnd.docker.distribution.manifest.list.v2+json\","
        " \"manifests\": [{\"mediaType\": "
        "\"application/vnd.docker.distribution.manifest.v2+json\","
        " \"size\": 7143, \"digest\": \"" H1 "\","
        " \"platform\": {\"architecture\": \"ppc64le\", \"os\": \"linux\","
        " \"features\": [\"sse4\"], \"os.features\": []}}]}";

static const char oci_config[] =
        "{\"created\": \"2015-10-31T22:22:56.015925234Z\", \"author\": \"A <a@example.com>\","
        " \"architecture\": \"arm64\", \"variant\": \"v8\", \"os\": \"linux\","
        " \"config\": {\"Env\": [\"PATH=/bin\"], \"Cmd\": [\"sh\"]},"
        " \"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"" H1 "\", \"" H2 "\"]},"
        " \"history\": [{\"created_by\": \"x\"}]}";

static void test_manifest_oci(void **state)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        struct errmsg err = {0};

        (void) state;
        if (oci_manifest_parse(oci_manifest, strlen(oci_manifest), &m, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(m->schema_version, 2);
        assert_string_equal(m->media_type, MEDIA_TYPE_OCI_MANIFEST);
        assert_string_equal(m->config.media_type, MEDIA_TYPE_OCI_CONFIG);
        assert_string_equal(m->config.digest, H1);
        assert_int_equal(m->config.size, 1470);
        assert_null(m->config.urls);
        assert_null(m->config.platform);
        assert_int_equal(m->n_layers, 2);
        assert_string_equal(m->layers[0].digest, H2);
        assert_int_equal(m->layers[1].size, 0);
        assert_string_equal(m->layers[1].urls[0], "https://example.com/l");
        assert_null(m->layers[1].urls[1]);
        assert_string_equal(oci_annotation_get(m->layers[1].annotations, "a"), "1");
        assert_int_equal(media_type_compression(m->layers[1].media_type), LAYER_COMPRESSION_ZSTD);
        assert_string_equal(oci_annotation_get(m->annotations, "k"), "v");
        assert_null(oci_annotation_get(m->annotations, "v"));
        assert_null(oci_annotation_get(NULL, "k"));
}

static void test_manifest_docker_and_without_media_type(void **state)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL, *bare = NULL;
        const char *s = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x/y\",\"size\":1,"
                        "\"digest\":\"" H1 "\"},\"layers\":[],\"manifests\":[]}";

        (void) state;
        assert_int_equal(oci_manifest_parse(docker_manifest, strlen(docker_manifest), &m, NULL), 0);
        assert_string_equal(m->media_type, MEDIA_TYPE_DOCKER_MANIFEST);
        assert_int_equal(m->config.size, 7023);
        assert_int_equal(m->n_layers, 1);
        assert_int_equal(media_type_kind(m->layers[0].media_type), MEDIA_KIND_LAYER);
        assert_int_equal(oci_manifest_parse(s, strlen(s), &bare, NULL), 0);
        assert_null(bare->media_type);
        assert_int_equal(bare->n_layers, 0);
        assert_null(bare->annotations);
        assert_null(oci_manifest_free(NULL));
}

struct bad_doc {
        const char *json;
        int code;
        const char *msg; /* err.msg starts with it */
};

#define M_CONFIG "\"config\":{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"" H1 "\"}"
#define M_LAYER  "{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"" H2 "\"}"

static const struct bad_doc bad_manifests[] = {
        {"", -EINVAL, "line 1 column 0: "},
        {"{\"schemaVersion\": 2,,}", -EINVAL, "line 1 column 21: "},
        {"{\n\"schemaVersion\": 2,\n\"config\": {]\n}", -EINVAL, "line 3 column 12: "},
        {"{} trailing", -EINVAL, "line 1 column 11: end of file expected"},
        {"[]", -EINVAL, "expected a JSON object"},
        {"{}", -EINVAL, "schemaVersion: required"},
        {"{\"schemaVersion\": null}", -EINVAL, "schemaVersion: required"},
        {"{\"schemaVersion\": \"2\"}", -EINVAL, "schemaVersion: expected an integer"},
        {"{\"schemaVersion\": 1}", -EINVAL, "schemaVersion: 1, only 2 is supported"},
        {"{\"schemaVersion\": 2, \"mediaType\": 5}", -EINVAL, "mediaType: expected a string"},
        {"{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.oci.image.index.v1+json\"}",
         -EINVAL,
         "mediaType: \"application/vnd.oci.image.index.v1+json\" is not an image manifest "
         "media type"},
        {"{\"schemaVersion\": 2, \"manifests\": [{}], " M_CONFIG ", \"layers\": []}", -EINVAL,
         "manifests: an image manifest has none"},
        {"{\"schemaVersion\": 2, \"layers\": []}", -EINVAL, "config: required"},
        {"{\"schemaVersion\": 2, \"config\": [], \"layers\": []}", -EINVAL,
         "config: expected an object"},
        {"{\"schemaVersion\": 2, \"config\": {\"size\": 1, \"digest\": \"" H1
         "\"}, \"layers\": []}",
         -EINVAL, "config.mediaType: required"},
        {"{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"\", \"size\": 1, \"digest\": \"" H1
         "\"}, \"layers\": []}",
         -EINVAL, "config.mediaType: empty"},
        {"{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"a/b\", \"size\": 1},"
         " \"layers\": []}",
         -EINVAL, "config.digest: required"},
        {"{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"a/b\", \"size\": 1, "
         "\"digest\": \"md5:x\"}, \"layers\": []}",
         -EOPNOTSUPP, "config.digest: digest \"md5:x\": unsupported algorithm"},
        {"{\"schemaVersion\": 2, " M_CONFIG "}", -EINVAL, "layers: required"},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": {}}", -EINVAL,
         "layers: expected an array"},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": [" M_LAYER ", 3]}", -EINVAL,
         "layers[1]: expected an object"},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": [" M_LAYER ", {\"mediaType\":\"a/b\","
         "\"size\":1,\"digest\":\"sha256:zz\"}]}",
         -EINVAL, "layers[1].digest: digest \"sha256:zz\": sha256 needs 64 lowercase hex"},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": [{\"mediaType\":\"a/b\",\"size\":-1,"
         "\"digest\":\"" H2 "\"}]}",
         -EINVAL, "layers[0].size: -1 is negative"},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": [{\"mediaType\":\"a/b\",\"size\":1.5,"
         "\"digest\":\"" H2 "\"}]}",
         -EINVAL, "layers[0].size: expected an integer"},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": [{\"mediaType\":\"a/b\","
         "\"digest\":\"" H2 "\"}]}",
         -EINVAL, "layers[0].size: required"},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": [{\"mediaType\":\"a/b\",\"size\":"
         "99999999999999999999,\"digest\":\"" H2 "\"}]}",
         -EINVAL, "line 1 column "},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": [{\"mediaType\":\"a/b\",\"size\":1,"
         "\"digest\":\"" H2 "\",\"urls\":[\"u\",7]}]}",
         -EINVAL, "layers[0].urls[1]: expected a string"},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": [{\"mediaType\":\"a/b\",\"size\":1,"
         "\"digest\":\"" H2 "\",\"annotations\":{\"k\":true}}]}",
         -EINVAL, "layers[0].annotations.k: expected a string"},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": [], \"annotations\": []}", -EINVAL,
         "annotations: expected an object"},
        {"{\"schemaVersion\": 2, " M_CONFIG ", \"layers\": [{\"mediaType\":\"a/b\",\"size\":1,"
         "\"digest\":\"" H2 "\",\"platform\":{\"os\":\"linux\"}}]}",
         -EINVAL, "layers[0].platform.architecture: required"},
        {"{\"schemaVersion\": 2, \"s\": \"\\u0000\"}", -EINVAL, "line 1 column "},
};

/* Runs each document through parse; checks code, message prefix and that ret is untouched. */
typedef int (*parse_fn)(const char *json, size_t len, void *ret, struct errmsg *err);

static void check_bad_docs(const struct bad_doc *docs, size_t n, parse_fn parse)
{
        for (size_t i = 0; i < n; i++) {
                void *sentinel = (void *) &docs[i];
                void *ret = sentinel;
                struct errmsg err = {0};
                int k;

                k = parse(docs[i].json, strlen(docs[i].json), &ret, &err);
                if (k != docs[i].code || strncmp(err.msg, docs[i].msg, strlen(docs[i].msg)) != 0)
                        fail_msg("%s: got %d \"%s\", want %d \"%s\"", docs[i].json, k, err.msg,
                                 docs[i].code, docs[i].msg);
                assert_int_equal(err.code, docs[i].code);
                assert_ptr_equal(ret, sentinel);
        }
}

static int parse_manifest(const char *json, size_t len, void *ret, struct errmsg *err)
{
        return oci_manifest_parse(json, len, ret, err);
}

static int parse_index(const char *json, size_t len, void *ret, struct errmsg *err)
{
        return oci_index_parse(json, len, ret, err);
}

static int parse_config(const char *json, size_t len, void *ret, struct errmsg *err)
{
        return oci_image_config_parse(json, len, ret, err);
}

static void test_manifest_errors_name_the_field(void **state)
{
        (void) state;
        check_bad_docs(bad_manifests, ELEMENTSOF(bad_manifests), parse_manifest);
}

/* Exactly MANIFEST_MAX_BYTES (padded with blanks) is accepted, one byte more is -EFBIG. */
static void test_size_cap(void **state)
{
        _cleanup_free_ char *buf = xmalloc(MANIFEST_MAX_BYTES + 2);
        struct oci_manifest *m = NULL;
        struct oci_index *idx = NULL;
        struct oci_image_config *c = NULL;
        struct errmsg err = {0};

        (void) state;
        memset(buf, ' ', MANIFEST_MAX_BYTES + 1);
        memcpy(buf, docker_manifest, strlen(docker_manifest));
        buf[MANIFEST_MAX_BYTES + 1] = '\0';
        assert_int_equal(oci_manifest_parse(buf, MANIFEST_MAX_BYTES, &m, NULL), 0);
        m = oci_manifest_free(m);
        assert_int_equal(oci_manifest_parse(buf, MANIFEST_MAX_BYTES + 1, &m, &err), -EFBIG);
        assert_null(m);
        assert_string_equal(err.msg, "4194305 bytes, more than the limit of 4194304");
        assert_int_equal(oci_index_parse(buf, MANIFEST_MAX_BYTES + 1, &idx, NULL), -EFBIG);
        assert_int_equal(oci_image_config_parse(buf, MANIFEST_MAX_BYTES + 1, &c, NULL), -EFBIG);
        assert_int_equal(manifest_body_kind(buf, MANIFEST_MAX_BYTES + 1), MEDIA_KIND_UNKNOWN);
        assert_int_equal(manifest_body_kind(buf, MANIFEST_MAX_BYTES), MEDIA_KIND_MANIFEST);
        assert_null(idx);
        assert_null(c);
}

static void test_index_oci_and_docker_list(void **state)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL, *list = NULL;
        const struct oci_platform *p;
        struct errmsg err = {0};

        (void) state;
        if (oci_index_parse(oci_index, strlen(oci_index), &idx, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(idx->n_manifests, 7);
        assert_null(idx->manifests[0].platform);
        p = idx->manifests[2].platform;
        assert_string_equal(p->architecture, "arm64");
        assert_string_equal(p->variant, "v8");
        assert_null(p->os_version);
        assert_string_equal(idx->manifests[6].platform->os_version, "10.0.17763.1");
        assert_null(idx->manifests[1].platform->variant);
        assert_string_equal(
                oci_annotation_get(idx->annotations, "org.opencontainers.image.ref.name"), "1.0");

        assert_int_equal(oci_index_parse(docker_list, strlen(docker_list), &list, NULL), 0);
        assert_string_equal(list->media_type, MEDIA_TYPE_DOCKER_MANIFEST_LIST);
        assert_string_equal(list->manifests[0].platform->architecture, "ppc64le");
        assert_null(oci_index_free(NULL));
}

#define I_DESC "{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"" H1 "\"}"

static const struct bad_doc bad_indexes[] = {
        {"{\"schemaVersion\": 2}", -EINVAL, "manifests: required"},
        {"{\"schemaVersion\": 2, \"mediaType\": \"" MEDIA_TYPE_DOCKER_MANIFEST "\","
         " \"manifests\": []}",
         -EINVAL, "mediaType: \"" MEDIA_TYPE_DOCKER_MANIFEST "\" is not an image index"},
        {"{\"schemaVersion\": 2, \"manifests\": [], " M_CONFIG "}", -EINVAL,
         "config: an image index has none"},
        {"{\"schemaVersion\": 2, \"manifests\": [], \"layers\": [" M_LAYER "]}", -EINVAL,
         "layers: an image index has none"},
        {"{\"schemaVersion\": 2, \"manifests\": [" I_DESC ", " I_DESC ", {\"mediaType\":\"a/b\","
         "\"size\":1,\"digest\":\"sha256:1\"}]}",
         -EINVAL, "manifests[2].digest: digest \"sha256:1\""},
        {"{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\":\"a/b\",\"size\":1,\"digest\":"
         "\"" H1 "\",\"platform\":{\"architecture\":\"amd64\"}}]}",
         -EINVAL, "manifests[0].platform.os: required"},
        {"{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\":\"a/b\",\"size\":1,\"digest\":"
         "\"" H1 "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":1}}]}",
         -EINVAL, "manifests[0].platform.variant: expected a string"},
        {"{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\":\"a/b\",\"size\":1,\"digest\":"
         "\"" H1 "\",\"platform\":[]}]}",
         -EINVAL, "manifests[0].platform: expected an object"},
        {"{\"schemaVersion\": 3, \"manifests\": []}", -EINVAL, "schemaVersion: 3"},
        {"{\"schemaVersion\": 2, \"manifests\": [], \"annotations\": {\"a\": null}}", -EINVAL,
         "annotations.a: expected a string"},
};

static void test_index_errors_name_the_field(void **state)
{
        (void) state;
        check_bad_docs(bad_indexes, ELEMENTSOF(bad_indexes), parse_index);
}

static void test_config(void **state)
{
        _cleanup_(oci_image_config_freep) struct oci_image_config *c = NULL, *d = NULL;
        const char *min = "{\"architecture\":\"amd64\",\"os\":\"linux\","
                          "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
        json_t *env;

        (void) state;
        assert_int_equal(oci_image_config_parse(oci_config, strlen(oci_config), &c, NULL), 0);
        assert_string_equal(c->platform.os, "linux");
        assert_string_equal(c->platform.architecture, "arm64");
        assert_string_equal(c->platform.variant, "v8");
        assert_int_equal(c->n_diff_ids, 2);
        assert_string_equal(c->diff_ids[0], H1);
        assert_string_equal(c->diff_ids[1], H2);
        assert_null(c->diff_ids[2]);
        assert_string_equal(c->created, "2015-10-31T22:22:56.015925234Z");
        env = json_object_get(json_object_get(c->json, "config"), "Env");
        assert_string_equal(json_string_value(json_array_get(env, 0)), "PATH=/bin");

        assert_int_equal(oci_image_config_parse(min, strlen(min), &d, NULL), 0);
        assert_int_equal(d->n_diff_ids, 0);
        assert_non_null(d->diff_ids);
        assert_null(d->diff_ids[0]);
        assert_null(d->created);
        assert_null(oci_image_config_free(NULL));
}

#define C_PLAT "\"architecture\":\"amd64\",\"os\":\"linux\""

static const struct bad_doc bad_configs[] = {
        {"{\"architecture\":\"amd64\",\"rootfs\":{}}", -EINVAL, "os: required"},
        {"{\"os\":\"linux\"}", -EINVAL, "architecture: required"},
        {"{" C_PLAT "}", -EINVAL, "rootfs: required"},
        {"{" C_PLAT ",\"rootfs\":{\"diff_ids\":[]}}", -EINVAL, "rootfs.type: required"},
        {"{" C_PLAT ",\"rootfs\":{\"type\":\"layer\",\"diff_ids\":[]}}", -EINVAL,
         "rootfs.type: \"layer\", expected \"layers\""},
        {"{" C_PLAT ",\"rootfs\":{\"type\":\"layers\"}}", -EINVAL, "rootfs.diff_ids: required"},
        {"{" C_PLAT ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" H1 "\",\"" H1 "0\"]}}",
         -EINVAL, "rootfs.diff_ids[1]: digest \"" H1 "0\": sha256 needs 64"},
        {"{" C_PLAT ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" H1 "\",{}]}}", -EINVAL,
         "rootfs.diff_ids[1]: expected a string"},
        {"{" C_PLAT ",\"created\":5,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", -EINVAL,
         "created: expected a string"},
        {"{" C_PLAT ",\"variant\":[],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", -EINVAL,
         "variant: expected a string"},
        {"{" C_PLAT ",\n\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[}}", -EINVAL,
         "line 2 column 39: "},
};

static void test_config_errors_name_the_field(void **state)
{
        (void) state;
        check_bad_docs(bad_configs, ELEMENTSOF(bad_configs), parse_config);
}

static void test_media_kinds(void **state)
{
        static const struct {
                const char *type;
                enum media_kind kind;
                enum layer_compression compression;
        } cases[] = {
                {MEDIA_TYPE_OCI_MANIFEST, MEDIA_KIND_MANIFEST, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_KIND_MANIFEST, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_OCI_INDEX, MEDIA_KIND_INDEX, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_DOCKER_MANIFEST_LIST, MEDIA_KIND_INDEX, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_OCI_CONFIG, MEDIA_KIND_CONFIG, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_DOCKER_CONFIG, MEDIA_KIND_CONFIG, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_OCI_LAYER, MEDIA_KIND_LAYER, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_OCI_LAYER_GZIP, MEDIA_KIND_LAYER, LAYER_COMPRESSION_GZIP},
                {MEDIA_TYPE_OCI_LAYER_ZSTD, MEDIA_KIND_LAYER, LAYER_COMPRESSION_ZSTD},
                {MEDIA_TYPE_OCI_LAYER_NONDIST, MEDIA_KIND_LAYER, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_OCI_LAYER_NONDIST_GZIP, MEDIA_KIND_LAYER, LAYER_COMPRESSION_GZIP},
                {MEDIA_TYPE_OCI_LAYER_NONDIST_ZSTD, MEDIA_KIND_LAYER, LAYER_COMPRESSION_ZSTD},
                {MEDIA_TYPE_DOCKER_LAYER, MEDIA_KIND_LAYER, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_DOCKER_LAYER_GZIP, MEDIA_KIND_LAYER, LAYER_COMPRESSION_GZIP},
                {MEDIA_TYPE_DOCKER_LAYER_FOREIGN, MEDIA_KIND_LAYER, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_DOCKER_LAYER_FOREIGN_GZIP, MEDIA_KIND_LAYER, LAYER_COMPRESSION_GZIP},
                {"Application/VND.OCI.Image.Manifest.v1+JSON", MEDIA_KIND_MANIFEST,
                 LAYER_COMPRESSION_NONE},
                {"application/vnd.oci.image.layer.v1.tar+gzip ; charset=x", MEDIA_KIND_LAYER,
                 LAYER_COMPRESSION_GZIP},
                {MEDIA_TYPE_OCI_LAYER_GZIP "+encrypted", MEDIA_KIND_UNKNOWN,
                 LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_OCI_LAYOUT_HEADER, MEDIA_KIND_UNKNOWN, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_OCI_EMPTY, MEDIA_KIND_UNKNOWN, LAYER_COMPRESSION_NONE},
                {MEDIA_TYPE_DOCKER_MANIFEST_V1, MEDIA_KIND_UNKNOWN, LAYER_COMPRESSION_NONE},
                {"application/json", MEDIA_KIND_UNKNOWN, LAYER_COMPRESSION_NONE},
                {"", MEDIA_KIND_UNKNOWN, LAYER_COMPRESSION_NONE},
                {NULL, MEDIA_KIND_UNKNOWN, LAYER_COMPRESSION_NONE},
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(media_type_kind(cases[i].type), cases[i].kind);
                assert_int_equal(media_type_compression(cases[i].type), cases[i].compression);
        }
        for (int k = 0; k < _MEDIA_KIND_MAX; k++)
                assert_int_equal(media_kind_from_string(media_kind_to_string(k)), k);
        for (int c = 0; c < _LAYER_COMPRESSION_MAX; c++)
                assert_int_equal(layer_compression_from_string(layer_compression_to_string(c)), c);
        assert_string_equal(media_kind_to_string(MEDIA_KIND_INDEX), "index");
        assert_string_equal(layer_compression_to_string(LAYER_COMPRESSION_ZSTD), "zstd");
        assert_null(media_kind_to_string(_MEDIA_KIND_MAX));
        assert_null(layer_compression_to_string(_LAYER_COMPRESSION_MAX));
        assert_int_equal(media_kind_from_string("manifests"), -EINVAL);
        assert_int_equal(layer_compression_from_string(NULL), -EINVAL);
}

static void test_manifest_body_kind(void **state)
{
        static const struct {
                const char *json;
                enum media_kind kind;
        } cases[] = {
                {"{\"mediaType\": \"" MEDIA_TYPE_OCI_INDEX "\", \"layers\": []}", MEDIA_KIND_INDEX},
                {"{\"mediaType\": \"" MEDIA_TYPE_DOCKER_MANIFEST "\"}", MEDIA_KIND_MANIFEST},
                {"{\"mediaType\": \"application/json\", \"manifests\": []}", MEDIA_KIND_INDEX},
                {"{\"manifests\": [], \"schemaVersion\": 2}", MEDIA_KIND_INDEX},
                {"{\"config\": {}, \"layers\": []}", MEDIA_KIND_MANIFEST},
                {"{\"manifests\": [], \"layers\": []}", MEDIA_KIND_UNKNOWN},
                {"{\"fsLayers\": [], \"schemaVersion\": 1}", MEDIA_KIND_UNKNOWN},
                {"{\"layers\": {}}", MEDIA_KIND_UNKNOWN},
                {"[]", MEDIA_KIND_UNKNOWN},
                {"{", MEDIA_KIND_UNKNOWN},
                {"", MEDIA_KIND_UNKNOWN},
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (manifest_body_kind(cases[i].json, strlen(cases[i].json)) != cases[i].kind)
                        fail_msg("%s: not %s", cases[i].json, media_kind_to_string(cases[i].kind));
        assert_int_equal(manifest_body_kind(oci_index, strlen(oci_index)), MEDIA_KIND_INDEX);
        assert_int_equal(manifest_body_kind(NULL, 0), MEDIA_KIND_UNKNOWN);
}

/* Platforms */

static bool streq_null(const char *a, const char *b)
{
        return a && b ? STREQ(a, b) : a == b;
}

static void assert_platform(const struct oci_platform *p, const char *os, const char *arch,
                            const char *variant, const char *what)
{
        if (!streq_null(p->os, os) || !streq_null(p->architecture, arch) ||
            !streq_null(p->variant, variant))
                fail_msg("%s: got %s/%s/%s, want %s/%s/%s", what, p->os,
                         p->architecture ? p->architecture : "(null)",
                         p->variant ? p->variant : "(null)", os, arch ? arch : "(null)",
                         variant ? variant : "(null)");
}

static void test_platform_parse(void **state)
{
        static const struct {
                const char *s, *os, *arch, *variant, *string;
        } cases[] = {
                {"linux/amd64", "linux", "amd64", NULL, "linux/amd64"},
                {"linux/arm64/v8", "linux", "arm64", "v8", "linux/arm64/v8"},
                {"linux/arm64", "linux", "arm64", NULL, "linux/arm64"},
                {"linux/aarch64/8", "linux", "arm64", "v8", "linux/arm64/v8"},
                {"linux/arm64/v9", "linux", "arm64", "v9", "linux/arm64/v9"},
                {"linux/arm/v7", "linux", "arm", "v7", "linux/arm/v7"},
                {"linux/arm", "linux", "arm", NULL, "linux/arm"},
                {"linux/armhf", "linux", "arm", NULL, "linux/arm"},
                {"linux/arm/6", "linux", "arm", "v6", "linux/arm/v6"},
                {"linux/armel", "linux", "arm", "v6", "linux/arm/v6"},
                {"amd64", "linux", "amd64", NULL, "linux/amd64"},
                {"x86_64", "linux", "amd64", NULL, "linux/amd64"},
                {"aarch64", "linux", "arm64", NULL, "linux/arm64"},
                {"armhf", "linux", "arm", NULL, "linux/arm"},
                {"armel", "linux", "arm", "v6", "linux/arm/v6"},
                {"i386", "linux", "386", NULL, "linux/386"},
                {"riscv64", "linux", "riscv64", NULL, "linux/riscv64"},
                {"Linux/X86_64", "linux", "amd64", NULL, "linux/amd64"},
                {"linux/amd64/v3", "linux", "amd64", "v3", "linux/amd64/v3"},
                {"linux/x86-64/v1", "linux", "amd64", NULL, "linux/amd64"},
                {"windows/amd64", "windows", "amd64", NULL, "windows/amd64"},
                {"macos/arm64", "darwin", "arm64", NULL, "darwin/arm64"},
                {"freebsd/some_arch", "freebsd", "some_arch", NULL, "freebsd/some_arch"},
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct oci_platform p = {0};
                _cleanup_free_ char *s = NULL;
                struct errmsg err = {0};

                if (oci_platform_parse(cases[i].s, &p, &err) < 0)
                        fail_msg("%s: %s", cases[i].s, err.msg);
                assert_platform(&p, cases[i].os, cases[i].arch, cases[i].variant, cases[i].s);
                s = oci_platform_string(&p);
                assert_string_equal(s, cases[i].string);
                oci_platform_release(&p);
        }
}

static void test_platform_parse_os_only_takes_host_arch(void **state)
{
        struct oci_platform p = {0}, host = {0};

        (void) state;
        oci_platform_default(&host);
        assert_int_equal(oci_platform_parse("linux", &p, NULL), 0);
        assert_string_equal(p.os, "linux");
        assert_string_equal(p.architecture, host.architecture);
        if (!STREQ(host.architecture, "arm"))
                assert_null(p.variant);
        oci_platform_release(&p);
        assert_int_equal(oci_platform_parse("windows", &p, NULL), 0);
        assert_string_equal(p.os, "windows");
        assert_string_equal(p.architecture, host.architecture);
        oci_platform_release(&p);
        oci_platform_release(&host);
}

static void test_platform_parse_errors(void **state)
{
        static const struct {
                const char *s, *msg;
        } cases[] = {
                {"", "each part must match"},
                {"linux/", "each part must match"},
                {"/amd64", "each part must match"},
                {"linux//amd64", "each part must match"},
                {"linux/amd 64", "each part must match"},
                {"linux/amd64/v8/x", "more than os/architecture/variant"},
                {"*", "wildcards not supported"},
                {"linux/*", "wildcards not supported"},
                {"foo", "unknown operating system or architecture"},
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct oci_platform p = {.os = (char *) "untouched"};
                struct errmsg err = {0};
                char prefix[128];

                assert_int_equal(oci_platform_parse(cases[i].s, &p, &err), -EINVAL);
                assert_string_equal(p.os, "untouched");
                assert_null(p.architecture);
                (void) snprintf(prefix, sizeof(prefix), "platform \"%s\": ", cases[i].s);
                assert_memory_equal(err.msg, prefix, strlen(prefix));
                if (!strstr(err.msg, cases[i].msg))
                        fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].s, err.msg, cases[i].msg);
        }
}

static void test_platform_normalize(void **state)
{
        static const struct {
                const char *os, *arch, *variant;
                const char *want_os, *want_arch, *want_variant;
        } cases[] = {
                {NULL, "x86_64", NULL, "linux", "amd64", NULL},
                {"Linux", "AMD64", "v1", "linux", "amd64", NULL},
                {"linux", "amd64", "v2", "linux", "amd64", "v2"},
                {"linux", "aarch64", NULL, "linux", "arm64", NULL},
                {"linux", "arm64", "v8", "linux", "arm64", NULL},
                {"linux", "arm64", "8", "linux", "arm64", NULL},
                {"linux", "arm64", "V8", "linux", "arm64", NULL},
                {"linux", "armhf", NULL, "linux", "arm", "v7"},
                {"linux", "armhf", "v6", "linux", "arm", "v7"},
                {"linux", "armel", NULL, "linux", "arm", "v6"},
                {"linux", "arm", NULL, "linux", "arm", "v7"},
                {"linux", "arm", "", "linux", "arm", "v7"},
                {"linux", "arm", "7", "linux", "arm", "v7"},
                {"linux", "arm", "5", "linux", "arm", "v5"},
                {"linux", "arm", "6", "linux", "arm", "v6"},
                {"linux", "arm", "8", "linux", "arm", "v8"},
                {"linux", "i386", "x", "linux", "386", NULL},
                {"macos", "arm64", NULL, "darwin", "arm64", NULL},
                {"", "s390x", NULL, "linux", "s390x", NULL},
                {"windows", "amd64", NULL, "windows", "amd64", NULL},
                {"linux", NULL, NULL, "linux", NULL, NULL},
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct oci_platform p = {
                        .os = cases[i].os ? xstrdup(cases[i].os) : NULL,
                        .architecture = cases[i].arch ? xstrdup(cases[i].arch) : NULL,
                        .variant = cases[i].variant ? xstrdup(cases[i].variant) : NULL,
                        .os_version = xstrdup("10.0"),
                };

                oci_platform_normalize(&p);
                assert_platform(&p, cases[i].want_os, cases[i].want_arch, cases[i].want_variant,
                                cases[i].arch ? cases[i].arch : "(null)");
                assert_string_equal(p.os_version, "10.0");
                oci_platform_release(&p);
                assert_null(p.os);
        }
}

static void test_platform_default_and_string(void **state)
{
        struct oci_platform host = {0};
        struct oci_platform none = {0};
        struct oci_platform os_only = {.os = (char *) "linux"};
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        (void) state;
        oci_platform_default(&host);
        assert_string_equal(host.os, "linux");
        assert_non_null(host.architecture);
#if defined(__x86_64__)
        assert_string_equal(host.architecture, "amd64");
        assert_null(host.variant);
        a = oci_platform_string(&host);
        assert_string_equal(a, "linux/amd64");
#endif
        oci_platform_release(&host);
        b = oci_platform_string(&none);
        assert_string_equal(b, "unknown");
        c = oci_platform_string(&os_only);
        assert_string_equal(c, "linux");
}

static bool matches(const char *want, const char *have)
{
        struct oci_platform w = {0}, h = {0};
        bool r;

        assert_int_equal(oci_platform_parse(want, &w, NULL), 0);
        assert_int_equal(oci_platform_parse(have, &h, NULL), 0);
        r = oci_platform_matches(&w, &h);
        oci_platform_release(&w);
        oci_platform_release(&h);
        return r;
}

static void test_platform_matches(void **state)
{
        (void) state;
        assert_true(matches("linux/arm64", "linux/arm64/v8"));
        assert_true(matches("linux/arm64/v8", "linux/aarch64"));
        assert_true(matches("linux/arm", "linux/arm/v7"));
        assert_true(matches("linux/armhf", "linux/arm/7"));
        assert_true(matches("amd64", "linux/x86_64"));
        assert_true(matches("linux/amd64", "linux/amd64/v1"));
        assert_false(matches("linux/amd64", "linux/amd64/v2"));
        assert_false(matches("linux/arm/v7", "linux/arm/v6"));
        assert_false(matches("linux/amd64", "windows/amd64"));
        assert_false(matches("linux/amd64", "linux/386"));
        assert_false(matches("linux/arm64", "linux/arm/v8"));
}

/* The digest of the descriptor oci_index_select() picks for want, or NULL. */
static const char *select_digest(const struct oci_index *idx, const char *want)
{
        const struct oci_descriptor *d;
        struct oci_platform w = {0};

        assert_int_equal(oci_platform_parse(want, &w, NULL), 0);
        d = oci_index_select(idx, &w);
        oci_platform_release(&w);
        return d ? d->digest : NULL;
}

static void test_index_select(void **state)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;

        (void) state;
        assert_int_equal(oci_index_parse(oci_index, strlen(oci_index), &idx, NULL), 0);
        assert_string_equal(select_digest(idx, "linux/amd64"), H1);
        assert_string_equal(select_digest(idx, "amd64"), H1);
        assert_string_equal(select_digest(idx, "linux/amd64/v3"), H1);
        assert_string_equal(select_digest(idx, "linux/arm64"), H2);
        assert_string_equal(select_digest(idx, "linux/arm64/v8"), H2);
        assert_string_equal(select_digest(idx, "linux/aarch64"), H2);
        assert_string_equal(select_digest(idx, "linux/arm/v7"), H3);
        assert_string_equal(select_digest(idx, "linux/arm"), H3);
        assert_string_equal(select_digest(idx, "linux/arm/v8"), H3);
        assert_string_equal(select_digest(idx, "linux/arm/v6"), H4);
        assert_string_equal(select_digest(idx, "linux/s390x"), H5);
        assert_string_equal(select_digest(idx, "windows/amd64"), H6);
        assert_null(select_digest(idx, "linux/arm/v5"));
        assert_null(select_digest(idx, "linux/riscv64"));
        assert_null(select_digest(idx, "linux/386"));
        assert_null(select_digest(idx, "darwin/arm64"));
}

#define PLAT(h, arch, variant)                                                 \
        "{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"" h "\",\"platform\":" \
        "{\"os\":\"linux\",\"architecture\":\"" arch "\"" variant "}}"

static void test_index_select_fallbacks(void **state)
{
        static const char fallbacks[] = "{\"schemaVersion\":2,\"manifests\":[" PLAT(H1, "arm", ",\"variant\":\"v5\"") "," PLAT(
                H2, "arm",
                ",\"variant\":\"v6\"") "," PLAT(H3, "386",
                                                "") "," PLAT(H4, "amd64",
                                                             ",\"variant\":\"v2\"") "," PLAT(H5,
                                                                                             "x86_64",
                                                                                             "") "," PLAT(H6,
                                                                                                          "amd64",
                                                                                                          "") "]}";
        static const char no_platforms[] =
                "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"a/b\",\"size\":1,"
                "\"digest\":\"" H1 "\"}]}";
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL, *bare = NULL;

        (void) state;
        assert_int_equal(oci_index_parse(fallbacks, strlen(fallbacks), &idx, NULL), 0);
        /* arm/v7 takes v6 before v5, whatever the order in the index */
        assert_string_equal(select_digest(idx, "linux/arm/v7"), H2);
        assert_string_equal(select_digest(idx, "linux/arm/v6"), H2);
        assert_string_equal(select_digest(idx, "linux/arm/v5"), H1);
        /* arm64 without arm64 entries falls back to arm/v8 and down */
        assert_string_equal(select_digest(idx, "linux/arm64"), H2);
        /* amd64/v3 prefers v2 to v1; plain amd64: the first of x86_64 and amd64 */
        assert_string_equal(select_digest(idx, "linux/amd64/v3"), H4);
        assert_string_equal(select_digest(idx, "linux/amd64"), H5);
        assert_string_equal(select_digest(idx, "linux/386"), H3);
        assert_null(select_digest(idx, "linux/arm/v4"));

        assert_int_equal(oci_index_parse(no_platforms, strlen(no_platforms), &bare, NULL), 0);
        assert_null(select_digest(bare, "linux/amd64"));
}

static void test_index_select_amd64_falls_back_to_386(void **state)
{
        static const char only_386[] =
                "{\"schemaVersion\":2,\"manifests\":[" PLAT(H3, "386", "") "]}";
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;

        (void) state;
        assert_int_equal(oci_index_parse(only_386, strlen(only_386), &idx, NULL), 0);
        assert_string_equal(select_digest(idx, "linux/amd64"), H3);
        assert_string_equal(select_digest(idx, "linux/amd64/v99"), H3);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_manifest_oci),
                cmocka_unit_test(test_manifest_docker_and_without_media_type),
                cmocka_unit_test(test_manifest_errors_name_the_field),
                cmocka_unit_test(test_size_cap),
                cmocka_unit_test(test_index_oci_and_docker_list),
                cmocka_unit_test(test_index_errors_name_the_field),
                cmocka_unit_test(test_config),
                cmocka_unit_test(test_config_errors_name_the_field),
                cmocka_unit_test(test_media_kinds),
                cmocka_unit_test(test_manifest_body_kind),
                cmocka_unit_test(test_platform_parse),
                cmocka_unit_test(test_platform_parse_os_only_takes_host_arch),
                cmocka_unit_test(test_platform_parse_errors),
                cmocka_unit_test(test_platform_normalize),
                cmocka_unit_test(test_platform_default_and_string),
                cmocka_unit_test(test_platform_matches),
                cmocka_unit_test(test_index_select),
                cmocka_unit_test(test_index_select_fallbacks),
                cmocka_unit_test(test_index_select_amd64_falls_back_to_386),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
