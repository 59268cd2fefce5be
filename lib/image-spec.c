/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI and Docker image documents (see image-spec.h): the media type table, the parsers of
 * manifests, indexes and configs over jansson, and platform normalisation and matching as
 * containerd 1.6.20's platforms package does it. The parsers fill zeroed structs whose free
 * functions release them however far the parse got, so no error path needs its own cleanup;
 * arrays are allocated at their final size (json_array_size()) and stored before their
 * elements are parsed for the same reason.
 */
#include "image-spec.h"

#include <inttypes.h>
#include <strings.h>
#include <sys/utsname.h>

#include "digest.h"
#include "xalloc.h"

/* Media types */

struct media_type_info {
        const char *type;
        enum media_kind kind;
        enum layer_compression compression;
};

static const struct media_type_info media_types[] = {
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
};

/* Media types compare without parameters and case-insensitively (RFC 6838 section 4.2). */
static const struct media_type_info *media_type_lookup(const char *media_type)
{
        size_t len;

        if (!media_type)
                return NULL;
        len = strcspn(media_type, ";");
        while (len > 0 && (media_type[len - 1] == ' ' || media_type[len - 1] == '\t'))
                len--;
        for (size_t i = 0; i < ELEMENTSOF(media_types); i++)
                if (strlen(media_types[i].type) == len &&
                    strncasecmp(media_types[i].type, media_type, len) == 0)
                        return &media_types[i];
        return NULL;
}

enum media_kind media_type_kind(const char *media_type)
{
        const struct media_type_info *info = media_type_lookup(media_type);

        return info ? info->kind : MEDIA_KIND_UNKNOWN;
}

enum layer_compression media_type_compression(const char *media_type)
{
        const struct media_type_info *info = media_type_lookup(media_type);

        return info ? info->compression : LAYER_COMPRESSION_NONE;
}

static const char *const media_kind_names[_MEDIA_KIND_MAX] = {
        [MEDIA_KIND_UNKNOWN] = "unknown", [MEDIA_KIND_MANIFEST] = "manifest",
        [MEDIA_KIND_INDEX] = "index",     [MEDIA_KIND_CONFIG] = "config",
        [MEDIA_KIND_LAYER] = "layer",
};

static const char *const layer_compression_names[_LAYER_COMPRESSION_MAX] = {
        [LAYER_COMPRESSION_NONE] = "none",
        [LAYER_COMPRESSION_GZIP] = "gzip",
        [LAYER_COMPRESSION_ZSTD] = "zstd",
};

const char *media_kind_to_string(enum media_kind k)
{
        return (unsigned) k < _MEDIA_KIND_MAX ? media_kind_names[k] : NULL;
}

int media_kind_from_string(const char *s)
{
        for (size_t i = 0; i < _MEDIA_KIND_MAX; i++)
                if (STREQ_PTR(media_kind_names[i], s))
                        return (int) i;
        return -EINVAL;
}

const char *layer_compression_to_string(enum layer_compression c)
{
        return (unsigned) c < _LAYER_COMPRESSION_MAX ? layer_compression_names[c] : NULL;
}

int layer_compression_from_string(const char *s)
{
        for (size_t i = 0; i < _LAYER_COMPRESSION_MAX; i++)
                if (STREQ_PTR(layer_compression_names[i], s))
                        return (int) i;
        return -EINVAL;
}

/*
 * Typed access to jansson values. Each helper names the field's full path in err
 * ("layers[1].digest: expected a string"); path is the enclosing value's, "" at the top.
 */

#define JPATH_MAX 256

/* A path cut short (an annotation key can be long) ends in "...". */
static const char *jpath_mark_truncated(char buf[static JPATH_MAX], int n)
{
        if (n >= JPATH_MAX)
                memcpy(buf + JPATH_MAX - 4, "...", 4);
        return buf;
}

static const char *jpath_key(char buf[static JPATH_MAX], const char *path, const char *key)
{
        return jpath_mark_truncated(
                buf, snprintf(buf, JPATH_MAX, "%s%s%s", path, *path ? "." : "", key));
}

static const char *jpath_index(char buf[static JPATH_MAX], const char *path, size_t i)
{
        return jpath_mark_truncated(buf, snprintf(buf, JPATH_MAX, "%s[%zu]", path, i));
}

static const char *json_type_name(json_type type)
{
        switch (type) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        default:
                return "another type";
        }
}

/*
 * Looks key up in obj. Returns 1 and the borrowed value when it has the type; 0 when it is
 * absent or null (-EINVAL "path.key: required" when required); -EINVAL for another type.
 */
static int jget(json_t *obj, const char *path, const char *key, json_type type, bool required,
                json_t **ret, struct errmsg *err)
{
        char p[JPATH_MAX];
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v))
                return required ? errmsg_set(err, -EINVAL, "%s: required", jpath_key(p, path, key))
                                : 0;
        if (json_typeof(v) != type)
                return errmsg_set(err, -EINVAL, "%s: expected %s", jpath_key(p, path, key),
                                  json_type_name(type));
        *ret = v;
        return 1;
}

/* A string, borrowed from obj. */
static int jget_string(json_t *obj, const char *path, const char *key, bool required,
                       const char **ret, struct errmsg *err)
{
        json_t *v = NULL;
        int r;

        r = jget(obj, path, key, JSON_STRING, required, &v, err);
        if (r > 0)
                *ret = json_string_value(v);
        return r;
}

/* A string copied into *ret; an empty one counts as absent. */
static int jget_dup_string(json_t *obj, const char *path, const char *key, bool required,
                           char **ret, struct errmsg *err)
{
        const char *s = NULL;
        char p[JPATH_MAX];
        int r;

        r = jget_string(obj, path, key, required, &s, err);
        if (r <= 0)
                return r;
        if (!*s)
                return required ? errmsg_set(err, -EINVAL, "%s: empty", jpath_key(p, path, key))
                                : 0;
        *ret = xstrdup(s);
        return 1;
}

/* A required digest, checked by digest_validate() and copied into *ret. */
static int jget_digest(json_t *obj, const char *path, const char *key, char **ret,
                       struct errmsg *err)
{
        const char *s = NULL;
        char p[JPATH_MAX];
        int r;

        r = jget_string(obj, path, key, true, &s, err);
        if (r < 0)
                return r;
        r = digest_validate(s, err);
        if (r < 0)
                return errmsg_prefix(err, r, "%s", jpath_key(p, path, key));
        *ret = xstrdup(s);
        return 1;
}

/* An array of strings as a strv (the caller's). */
static int jget_strv(json_t *obj, const char *path, const char *key, char ***ret,
                     struct errmsg *err)
{
        _cleanup_strv_ char **v = NULL;
        char p[JPATH_MAX], q[JPATH_MAX];
        json_t *arr, *elem;
        size_t i;
        int r;

        r = jget(obj, path, key, JSON_ARRAY, false, &arr, err);
        if (r <= 0)
                return r;
        v = xnew0(char *, json_array_size(arr) + 1);
        json_array_foreach (arr, i, elem) {
                if (!json_is_string(elem))
                        return errmsg_set(err, -EINVAL, "%s: expected a string",
                                          jpath_index(q, jpath_key(p, path, key), i));
                v[i] = xstrdup(json_string_value(elem));
        }
        *ret = TAKE_PTR(v);
        return 1;
}

/* An object of strings as a strv of alternating keys and values (the caller's). */
static int jget_annotations(json_t *obj, const char *path, const char *key, char ***ret,
                            struct errmsg *err)
{
        _cleanup_strv_ char **v = NULL;
        char p[JPATH_MAX], q[JPATH_MAX];
        const char *k;
        json_t *map, *value;
        size_t n = 0;
        int r;

        r = jget(obj, path, key, JSON_OBJECT, false, &map, err);
        if (r <= 0)
                return r;
        v = xnew0(char *, 2 * json_object_size(map) + 1);
        json_object_foreach (map, k, value) {
                if (!json_is_string(value))
                        return errmsg_set(err, -EINVAL, "%s: expected a string",
                                          jpath_key(q, jpath_key(p, path, key), k));
                v[n++] = xstrdup(k);
                v[n++] = xstrdup(json_string_value(value));
        }
        *ret = TAKE_PTR(v);
        return 1;
}

/* Loads text as a JSON object into *ret (the caller's reference). */
static int load_object(const char *text, size_t len, json_t **ret, struct errmsg *err)
{
        json_error_t jerr;
        json_t *root;

        if (len > MANIFEST_MAX_BYTES)
                return errmsg_set(err, -EFBIG, "%zu bytes, more than the limit of %u", len,
                                  MANIFEST_MAX_BYTES);
        root = json_loadb(len > 0 ? text : "", len, 0, &jerr);
        if (!root)
                return errmsg_set(err, -EINVAL, "line %d column %d: %s", jerr.line, jerr.column,
                                  jerr.text);
        if (!json_is_object(root)) {
                json_decref(root);
                return errmsg_set(err, -EINVAL, "expected a JSON object");
        }
        *ret = root;
        return 0;
}

/* Descriptors and platforms */

/* os, architecture (required), variant and os.version of obj into the zeroed *p. */
static int platform_from_json(json_t *obj, const char *path, struct oci_platform *p,
                              struct errmsg *err)
{
        int r;

        r = jget_dup_string(obj, path, "architecture", true, &p->architecture, err);
        if (r < 0)
                return r;
        r = jget_dup_string(obj, path, "os", true, &p->os, err);
        if (r < 0)
                return r;
        r = jget_dup_string(obj, path, "variant", false, &p->variant, err);
        if (r < 0)
                return r;
        r = jget_dup_string(obj, path, "os.version", false, &p->os_version, err);
        return r < 0 ? r : 0;
}

int oci_descriptor_from_json(json_t *obj, const char *path, struct oci_descriptor *ret,
                             struct errmsg *err)
{
        char p[JPATH_MAX];
        json_t *platform;
        int64_t size;
        json_t *v = NULL;
        int r;

        if (!json_is_object(obj))
                return errmsg_set(err, -EINVAL, "%s: expected an object",
                                  *path ? path : "descriptor");
        r = jget_dup_string(obj, path, "mediaType", true, &ret->media_type, err);
        if (r < 0)
                return r;
        r = jget_digest(obj, path, "digest", &ret->digest, err);
        if (r < 0)
                return r;
        r = jget(obj, path, "size", JSON_INTEGER, true, &v, err);
        if (r < 0)
                return r;
        size = json_integer_value(v);
        if (size < 0)
                return errmsg_set(err, -EINVAL, "%s: %" PRId64 " is negative",
                                  jpath_key(p, path, "size"), size);
        ret->size = size;
        r = jget_strv(obj, path, "urls", &ret->urls, err);
        if (r < 0)
                return r;
        r = jget_annotations(obj, path, "annotations", &ret->annotations, err);
        if (r < 0)
                return r;
        r = jget(obj, path, "platform", JSON_OBJECT, false, &platform, err);
        if (r <= 0)
                return r;
        ret->platform = xnew0(struct oci_platform, 1);
        return platform_from_json(platform, jpath_key(p, path, "platform"), ret->platform, err);
}

void oci_descriptor_release(struct oci_descriptor *d)
{
        if (!d)
                return;
        free(d->media_type);
        free(d->digest);
        strv_free(d->urls);
        strv_free(d->annotations);
        if (d->platform) {
                oci_platform_release(d->platform);
                free(d->platform);
        }
        *d = (struct oci_descriptor){0};
}

const char *oci_annotation_get(char *const *annotations, const char *key)
{
        for (size_t i = 0; annotations && annotations[i] && annotations[i + 1]; i += 2)
                if (STREQ(annotations[i], key))
                        return annotations[i + 1];
        return NULL;
}

static void descriptors_free(struct oci_descriptor *d, size_t n)
{
        for (size_t i = 0; i < n; i++)
                oci_descriptor_release(&d[i]);
        free(d);
}

/*
 * The required array key of root into *ret_items and *ret_n, which are stored (zeroed, at full
 * size) before the elements are parsed, so that the owner's free function cleans up.
 */
static int jget_descriptors(json_t *root, const char *key, struct oci_descriptor **ret_items,
                            size_t *ret_n, struct errmsg *err)
{
        char p[JPATH_MAX];
        json_t *arr, *elem;
        size_t i;
        int r;

        r = jget(root, "", key, JSON_ARRAY, true, &arr, err);
        if (r < 0)
                return r;
        *ret_n = json_array_size(arr);
        *ret_items = xnew0(struct oci_descriptor, *ret_n);
        json_array_foreach (arr, i, elem) {
                r = oci_descriptor_from_json(elem, jpath_index(p, key, i), &(*ret_items)[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* schemaVersion (must be 2) and the optional mediaType, which must be of kind. */
static int parse_header(json_t *root, enum media_kind kind, int *ret_version, char **ret_media_type,
                        struct errmsg *err)
{
        const char *mt = NULL;
        json_t *v = NULL;
        int r;

        r = jget(root, "", "schemaVersion", JSON_INTEGER, true, &v, err);
        if (r < 0)
                return r;
        if (json_integer_value(v) != 2)
                return errmsg_set(err, -EINVAL,
                                  "schemaVersion: %" JSON_INTEGER_FORMAT ", only 2 is supported",
                                  json_integer_value(v));
        *ret_version = 2;
        r = jget_string(root, "", "mediaType", false, &mt, err);
        if (r <= 0)
                return r;
        if (media_type_kind(mt) != kind)
                return errmsg_set(err, -EINVAL, "mediaType: \"%s\" is not an image %s media type",
                                  mt, media_kind_to_string(kind));
        *ret_media_type = xstrdup(mt);
        return 0;
}

/* Whether root has key as anything but null or an empty array (containerd's check). */
static bool has_nonempty(json_t *root, const char *key)
{
        json_t *v = json_object_get(root, key);

        return v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0);
}

/* Manifests */

int oci_manifest_parse(const char *json, size_t len, struct oci_manifest **ret, struct errmsg *err)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_(json_decrefp) json_t *root = NULL;
        json_t *config;
        int r;

        r = load_object(json, len, &root, err);
        if (r < 0)
                return r;
        m = xnew0(struct oci_manifest, 1);
        r = parse_header(root, MEDIA_KIND_MANIFEST, &m->schema_version, &m->media_type, err);
        if (r < 0)
                return r;
        if (has_nonempty(root, "manifests"))
                return errmsg_set(err, -EINVAL,
                                  "manifests: an image manifest has none (is this an index?)");
        r = jget(root, "", "config", JSON_OBJECT, true, &config, err);
        if (r < 0)
                return r;
        r = oci_descriptor_from_json(config, "config", &m->config, err);
        if (r < 0)
                return r;
        r = jget_descriptors(root, "layers", &m->layers, &m->n_layers, err);
        if (r < 0)
                return r;
        r = jget_annotations(root, "", "annotations", &m->annotations, err);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

struct oci_manifest *oci_manifest_free(struct oci_manifest *m)
{
        if (m) {
                free(m->media_type);
                oci_descriptor_release(&m->config);
                descriptors_free(m->layers, m->n_layers);
                strv_free(m->annotations);
                free(m);
        }
        return NULL;
}

int oci_index_parse(const char *json, size_t len, struct oci_index **ret, struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_(json_decrefp) json_t *root = NULL;
        int r;

        r = load_object(json, len, &root, err);
        if (r < 0)
                return r;
        idx = xnew0(struct oci_index, 1);
        r = parse_header(root, MEDIA_KIND_INDEX, &idx->schema_version, &idx->media_type, err);
        if (r < 0)
                return r;
        if (json_object_get(root, "config") && !json_is_null(json_object_get(root, "config")))
                return errmsg_set(err, -EINVAL,
                                  "config: an image index has none (is this a manifest?)");
        if (has_nonempty(root, "layers"))
                return errmsg_set(err, -EINVAL,
                                  "layers: an image index has none (is this a manifest?)");
        r = jget_descriptors(root, "manifests", &idx->manifests, &idx->n_manifests, err);
        if (r < 0)
                return r;
        r = jget_annotations(root, "", "annotations", &idx->annotations, err);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(idx);
        return 0;
}

struct oci_index *oci_index_free(struct oci_index *idx)
{
        if (idx) {
                free(idx->media_type);
                descriptors_free(idx->manifests, idx->n_manifests);
                strv_free(idx->annotations);
                free(idx);
        }
        return NULL;
}

/* Configs */

/* rootfs {type: "layers", diff_ids: [digest...]} into c. */
static int parse_rootfs(json_t *root, struct oci_image_config *c, struct errmsg *err)
{
        char p[JPATH_MAX];
        json_t *rootfs, *arr, *elem;
        const char *type = NULL;
        size_t i;
        int r;

        r = jget(root, "", "rootfs", JSON_OBJECT, true, &rootfs, err);
        if (r < 0)
                return r;
        r = jget_string(rootfs, "rootfs", "type", true, &type, err);
        if (r < 0)
                return r;
        if (!STREQ(type, "layers"))
                return errmsg_set(err, -EINVAL, "rootfs.type: \"%s\", expected \"layers\"", type);
        r = jget(rootfs, "rootfs", "diff_ids", JSON_ARRAY, true, &arr, err);
        if (r < 0)
                return r;
        c->diff_ids = xnew0(char *, json_array_size(arr) + 1);
        json_array_foreach (arr, i, elem) {
                jpath_index(p, "rootfs.diff_ids", i);
                if (!json_is_string(elem))
                        return errmsg_set(err, -EINVAL, "%s: expected a string", p);
                r = digest_validate(json_string_value(elem), err);
                if (r < 0)
                        return errmsg_prefix(err, r, "%s", p);
                c->diff_ids[i] = xstrdup(json_string_value(elem));
                c->n_diff_ids = i + 1;
        }
        return 0;
}

int oci_image_config_parse(const char *json, size_t len, struct oci_image_config **ret,
                           struct errmsg *err)
{
        _cleanup_(oci_image_config_freep) struct oci_image_config *c = NULL;
        _cleanup_(json_decrefp) json_t *root = NULL;
        int r;

        r = load_object(json, len, &root, err);
        if (r < 0)
                return r;
        c = xnew0(struct oci_image_config, 1);
        r = platform_from_json(root, "", &c->platform, err);
        if (r < 0)
                return r;
        r = parse_rootfs(root, c, err);
        if (r < 0)
                return r;
        r = jget_dup_string(root, "", "created", false, &c->created, err);
        if (r < 0)
                return r;
        c->json = TAKE_PTR(root);

        *ret = TAKE_PTR(c);
        return 0;
}

struct oci_image_config *oci_image_config_free(struct oci_image_config *c)
{
        if (c) {
                oci_platform_release(&c->platform);
                strv_free(c->diff_ids);
                free(c->created);
                json_decref(c->json);
                free(c);
        }
        return NULL;
}

enum media_kind manifest_body_kind(const char *json, size_t len)
{
        _cleanup_(json_decrefp) json_t *root = NULL;
        enum media_kind kind;
        bool has_manifests, has_layers;
        json_t *mt;

        if (load_object(json, len, &root, NULL) < 0)
                return MEDIA_KIND_UNKNOWN;
        mt = json_object_get(root, "mediaType");
        kind = json_is_string(mt) ? media_type_kind(json_string_value(mt)) : MEDIA_KIND_UNKNOWN;
        if (kind != MEDIA_KIND_UNKNOWN)
                return kind;
        has_manifests = json_is_array(json_object_get(root, "manifests"));
        has_layers = json_is_array(json_object_get(root, "layers"));
        if (has_manifests == has_layers)
                return MEDIA_KIND_UNKNOWN;
        return has_manifests ? MEDIA_KIND_INDEX : MEDIA_KIND_MANIFEST;
}

/* Platforms (containerd 1.6.20 platforms/database.go, platforms.go, compare.go) */

static const char *const known_os[] = {
        "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios", "js",
        "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "windows", "zos",
};

static const char *const known_arch[] = {
        "386",     "amd64",    "amd64p32",  "arm",         "armbe",   "arm64",
        "arm64be", "ppc64",    "ppc64le",   "loong64",     "mips",    "mipsle",
        "mips64",  "mips64le", "mips64p32", "mips64p32le", "ppc",     "riscv",
        "riscv64", "s390",     "s390x",     "sparc",       "sparc64", "wasm",
};

static bool in_list(const char *const *list, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (STREQ(list[i], s))
                        return true;
        return false;
}

static bool is_empty(const char *s)
{
        return !s || !*s;
}

/* Equal, with NULL and "" the same. */
static bool streq_empty(const char *a, const char *b)
{
        return STREQ(a ? a : "", b ? b : "");
}

/*
 * strings.ToLower() for platform names: ASCII only, whatever the locale (Go also folds
 * non-ASCII letters, which no os or architecture name has).
 */
static void lowercase(char *s)
{
        for (char *p = s; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
}

/* A lowercase copy (the caller's); NULL gives NULL. */
static char *lowercase_dup(const char *s)
{
        char *copy;

        if (!s)
                return NULL;
        copy = xstrdup(s);
        lowercase(copy);
        return copy;
}

/* Replaces *field with a copy of value, NULL when value is empty. value may not be *field. */
static void set_field(char **field, const char *value)
{
        free(*field);
        *field = is_empty(value) ? NULL : xstrdup(value);
}

/* normalizeOS() on a lowercase os: none is linux, macos is darwin. */
static const char *normalize_os(const char *os)
{
        if (is_empty(os))
                return "linux";
        if (STREQ(os, "macos"))
                return "darwin";
        return os;
}

/*
 * normalizeArch() on lowercase strings: points *arch and *variant at their canonical forms,
 * string constants or the inputs themselves ("" for none).
 */
static void normalize_arch(const char **arch, const char **variant)
{
        const char *a = *arch ? *arch : "", *v = *variant ? *variant : "";

        if (STREQ(a, "i386")) {
                a = "386";
                v = "";
        } else if (STREQ(a, "x86_64") || STREQ(a, "x86-64") || STREQ(a, "amd64")) {
                a = "amd64";
                if (STREQ(v, "v1"))
                        v = "";
        } else if (STREQ(a, "aarch64") || STREQ(a, "arm64")) {
                a = "arm64";
                if (STREQ(v, "8") || STREQ(v, "v8"))
                        v = "";
        } else if (STREQ(a, "armhf")) {
                a = "arm";
                v = "v7";
        } else if (STREQ(a, "armel")) {
                a = "arm";
                v = "v6";
        } else if (STREQ(a, "arm")) {
                if (STREQ(v, "") || STREQ(v, "7"))
                        v = "v7";
                else if (STREQ(v, "5"))
                        v = "v5";
                else if (STREQ(v, "6"))
                        v = "v6";
                else if (STREQ(v, "8"))
                        v = "v8";
        }
        *arch = a;
        *variant = v;
}

void oci_platform_normalize(struct oci_platform *p)
{
        _cleanup_free_ char *os = lowercase_dup(p->os);
        _cleanup_free_ char *arch = lowercase_dup(p->architecture);
        _cleanup_free_ char *variant = lowercase_dup(p->variant);
        const char *a = arch, *v = variant;

        normalize_arch(&a, &v);
        set_field(&p->os, normalize_os(os));
        set_field(&p->architecture, a);
        set_field(&p->variant, v);
}

void oci_platform_copy(const struct oci_platform *src, struct oci_platform *ret)
{
        *ret = (struct oci_platform){
                .os = src->os ? xstrdup(src->os) : NULL,
                .architecture = src->architecture ? xstrdup(src->architecture) : NULL,
                .variant = src->variant ? xstrdup(src->variant) : NULL,
                .os_version = src->os_version ? xstrdup(src->os_version) : NULL,
        };
}

void oci_platform_release(struct oci_platform *p)
{
        if (!p)
                return;
        free(p->os);
        free(p->architecture);
        free(p->variant);
        free(p->os_version);
        *p = (struct oci_platform){0};
}

char *oci_platform_string(const struct oci_platform *p)
{
        const char *arch = p->architecture, *variant = p->variant;

        if (is_empty(p->os))
                return xstrdup("unknown");
        return xasprintf("%s%s%s%s%s", p->os, is_empty(arch) ? "" : "/", arch ? arch : "",
                         is_empty(variant) ? "" : "/", variant ? variant : "");
}

static bool platform_equal(const struct oci_platform *a, const struct oci_platform *b)
{
        return streq_empty(a->os, b->os) && streq_empty(a->architecture, b->architecture) &&
               streq_empty(a->variant, b->variant);
}

bool oci_platform_matches(const struct oci_platform *want, const struct oci_platform *have)
{
        struct oci_platform a, b;
        bool match;

        oci_platform_copy(want, &a);
        oci_platform_copy(have, &b);
        oci_platform_normalize(&a);
        oci_platform_normalize(&b);
        match = platform_equal(&a, &b);
        oci_platform_release(&a);
        oci_platform_release(&b);
        return match;
}

/*
 * This host's architecture and variant from uname's machine: "armv7l" is arm/v7 (containerd
 * reads the variant from /proc/cpuinfo instead; the kernel's machine name says the same for
 * the CPUs it knows), "aarch64" arm64/v8, the rest through normalize_arch().
 */
static void host_arch(const char *machine, char **ret_arch, char **ret_variant)
{
        _cleanup_free_ char *lower = lowercase_dup(machine);
        const char *a = lower, *v = NULL;
        size_t digits;

        if (strncmp(lower, "armv", 4) == 0 && (digits = strspn(lower + 4, "0123456789")) > 0) {
                *ret_arch = xstrdup("arm");
                *ret_variant = xasprintf("v%.*s", (int) digits, lower + 4);
                return;
        }
        if (strlen(lower) == 4 && lower[0] == 'i' && strchr("3456", lower[1]) &&
            STREQ(lower + 2, "86"))
                a = "i386";
        normalize_arch(&a, &v);
        *ret_arch = xstrdup(a);
        *ret_variant = STREQ(a, "arm64") ? xstrdup("v8") : NULL;
}

void oci_platform_default(struct oci_platform *ret)
{
        struct utsname u = {0};
        struct oci_platform p = {0};

        if (uname(&u) < 0 || !u.machine[0])
                (void) snprintf(u.machine, sizeof(u.machine), "unknown");
        p.os = xstrdup("linux");
        host_arch(u.machine, &p.architecture, &p.variant);
        *ret = p;
}

/* Splits s at '/' into parts[0..*ret_n), each checked against [A-Za-z0-9_-]+. */
static int platform_split(const char *s, char *parts[static 3], size_t *ret_n, struct errmsg *err)
{
        size_t n = 0;
        const char *p = s;

        if (strchr(s, '*'))
                return errmsg_set(err, -EINVAL, "platform \"%s\": wildcards not supported", s);
        for (;;) {
                size_t len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789_-");

                if (len == 0 || (p[len] != '/' && p[len] != '\0'))
                        return errmsg_set(err, -EINVAL,
                                          "platform \"%s\": each part must match [A-Za-z0-9_-]+",
                                          s);
                if (n == 3)
                        return errmsg_set(err, -EINVAL,
                                          "platform \"%s\": more than os/architecture/variant", s);
                parts[n] = xstrndup(p, len);
                lowercase(parts[n++]);
                if (p[len] == '\0')
                        break;
                p += len + 1;
        }
        *ret_n = n;
        return 0;
}

/* A single os or architecture: the other part comes from this host or is linux. */
static int platform_single(const char *s, const char *part, struct oci_platform *p,
                           struct errmsg *err)
{
        const char *os = normalize_os(part), *a = part, *v = NULL;
        struct oci_platform host;

        if (in_list(known_os, ELEMENTSOF(known_os), os)) {
                oci_platform_default(&host);
                set_field(&p->os, os);
                set_field(&p->architecture, host.architecture);
                if (STREQ(host.architecture, "arm") && !STREQ_PTR(host.variant, "v7"))
                        set_field(&p->variant, host.variant);
                oci_platform_release(&host);
                return 0;
        }
        normalize_arch(&a, &v);
        if (!in_list(known_arch, ELEMENTSOF(known_arch), a))
                return errmsg_set(err, -EINVAL,
                                  "platform \"%s\": unknown operating system or architecture", s);
        set_field(&p->os, "linux");
        set_field(&p->architecture, a);
        if (!(STREQ(a, "arm") && STREQ(v, "v7")))
                set_field(&p->variant, v);
        return 0;
}

int oci_platform_parse(const char *s, struct oci_platform *ret, struct errmsg *err)
{
        char *parts[3] = {NULL, NULL, NULL};
        struct oci_platform p = {0};
        const char *a, *v;
        size_t n = 0;
        int r;

        assert(s);
        r = platform_split(s, parts, &n, err);
        if (r >= 0 && n == 1) {
                r = platform_single(s, parts[0], &p, err);
        } else if (r >= 0) {
                /* containerd leaves arm's default v7 out of "os/arm", but keeps arm64's v8 of
                 * "os/arm64/v8" */
                a = parts[1];
                v = n == 3 ? parts[2] : NULL;
                normalize_arch(&a, &v);
                if (n == 2 && STREQ(a, "arm") && STREQ(v, "v7"))
                        v = NULL;
                if (n == 3 && STREQ(a, "arm64") && is_empty(v))
                        v = "v8";
                set_field(&p.os, normalize_os(parts[0]));
                set_field(&p.architecture, a);
                set_field(&p.variant, v);
        }
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                free(parts[i]);
        if (r < 0) {
                oci_platform_release(&p);
                return r;
        }
        *ret = p;
        return 0;
}

/*
 * Index selection: containerd's platformVector() lists, best first, the platforms that can
 * serve want; each entry is normalised as its matcher would. Variant numbers are capped
 * so that the list has a fixed bound ("v99999" gets no lower variants).
 */

#define VARIANT_NUMBER_MAX  64
#define PLATFORM_VECTOR_MAX (2 * VARIANT_NUMBER_MAX + 4)

struct platform_key {
        const char *os;
        const char *architecture;
        const char *variant;
        char buf[16]; /* "v<N>" when variant is generated */
};

/* N of "vN" or "N" (strconv.Atoi after TrimPrefix "v"), or -1. */
static int variant_number(const char *variant)
{
        const char *s = variant ? variant : "";
        size_t digits;
        long number;

        if (*s == 'v')
                s++;
        digits = strspn(s, "0123456789");
        if (digits == 0 || digits > 2 || s[digits] != '\0')
                return -1;
        number = strtol(s, NULL, 10);
        return number <= VARIANT_NUMBER_MAX ? (int) number : -1;
}

static void push_key(struct platform_key *vec, size_t *n, const char *os, const char *arch,
                     const char *variant, int number)
{
        struct platform_key *k = &vec[*n];

        assert(*n < PLATFORM_VECTOR_MAX);
        if (number >= 0) {
                (void) snprintf(k->buf, sizeof(k->buf), "v%d", number);
                variant = k->buf;
        }
        normalize_arch(&arch, &variant);
        k->os = os;
        k->architecture = arch;
        k->variant = variant;
        (*n)++;
}

/* want is normalised; vec has room for PLATFORM_VECTOR_MAX keys that borrow from want. */
static size_t platform_vector(const struct oci_platform *want, struct platform_key *vec)
{
        const char *arch = want->architecture ? want->architecture : "";
        size_t n = 0;
        int v;

        push_key(vec, &n, want->os, arch, want->variant, -1);
        if (STREQ(arch, "amd64")) {
                for (v = variant_number(want->variant) - 1; v >= 1; v--)
                        push_key(vec, &n, want->os, "amd64", NULL, v);
                push_key(vec, &n, want->os, "386", NULL, -1);
        } else if (STREQ(arch, "arm")) {
                for (v = variant_number(want->variant) - 1; v >= 5; v--)
                        push_key(vec, &n, want->os, "arm", NULL, v);
        } else if (STREQ(arch, "arm64")) {
                const char *variant = is_empty(want->variant) ? "v8" : want->variant;

                push_key(vec, &n, want->os, "arm", variant, -1);
                for (v = variant_number(variant) - 1; v >= 5; v--)
                        push_key(vec, &n, want->os, "arm", NULL, v);
        }
        return n;
}

/* The position in vec of the first key have matches, or SIZE_MAX. */
static size_t platform_rank(const struct platform_key *vec, size_t n,
                            const struct oci_platform *have)
{
        struct oci_platform h;
        size_t rank = SIZE_MAX;

        oci_platform_copy(have, &h);
        oci_platform_normalize(&h);
        for (size_t i = 0; i < n && rank == SIZE_MAX; i++)
                if (streq_empty(vec[i].os, h.os) &&
                    streq_empty(vec[i].architecture, h.architecture) &&
                    streq_empty(vec[i].variant, h.variant))
                        rank = i;
        oci_platform_release(&h);
        return rank;
}

const struct oci_descriptor *oci_index_select(const struct oci_index *idx,
                                              const struct oci_platform *want)
{
        struct platform_key vec[PLATFORM_VECTOR_MAX];
        const struct oci_descriptor *best = NULL;
        size_t n, best_rank = SIZE_MAX;
        struct oci_platform w;

        oci_platform_copy(want, &w);
        oci_platform_normalize(&w);
        n = platform_vector(&w, vec);
        for (size_t i = 0; i < idx->n_manifests && best_rank > 0; i++) {
                const struct oci_descriptor *d = &idx->manifests[i];
                size_t rank;

                if (!d->platform)
                        continue;
                rank = platform_rank(vec, n, d->platform);
                if (rank < best_rank) {
                        best = d;
                        best_rank = rank;
                }
        }
        oci_platform_release(&w);
        return best;
}

void image_chain_id(const char *parent, const char *diff_id, char ret[DIGEST_STR_MAX])
{
        _cleanup_free_ char *text = NULL;

        if (!parent) {
                (void) snprintf(ret, DIGEST_STR_MAX, "%s", diff_id);
                return;
        }
        text = xasprintf("%s %s", parent, diff_id);
        digest_bytes(text, strlen(text), ret);
}
