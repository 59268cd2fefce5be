/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd/image-archive.c over lib/image-archive-import.c and -export.c: archives built here
 * with libarchive (a docker save with two layers, one gzip'ed with a whiteout, and a repeated layer
 * as a symlink; an OCI layout whose index has two platforms) are imported into a fresh store:
 * records, labels and unpacked trees are checked, and so are the refusals (truncated tar,
 * bad manifest.json, missing layer, blob not matching its digest, index.json pointing
 * nowhere), each with a clear message, no image recorded, no ingest and no lease left.
 * Exports are read back member by member and imported again.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "containerd/image-archive.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

#define NS      "default"
#define TAR_MAX (8u << 20)

struct fixture {
        char dir[64];
        struct store *st;
        struct oci_platform host;
};

/* --- archives in memory --------------------------------------------------------------- */

struct tar {
        struct archive *a;
        char *buf;
        size_t used;
};

static struct tar *tar_new(bool is_gzip)
{
        struct tar *t = xnew0(struct tar, 1);

        t->buf = xmalloc(TAR_MAX);
        t->a = archive_write_new();
        assert_int_equal(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
        if (is_gzip)
                assert_int_equal(archive_write_add_filter_gzip(t->a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_memory(t->a, t->buf, TAR_MAX, &t->used), ARCHIVE_OK);
        return t;
}

static void tar_entry(struct tar *t, const char *name, mode_t type, const char *data, size_t len,
                      const char *link)
{
        struct archive_entry *e = archive_entry_new();

        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t) len : 0);
        archive_entry_set_mtime(e, 1600000000, 0);
        if (link)
                archive_entry_set_symlink(e, link);
        assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
        if (len)
                assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t) len);
        archive_entry_free(e);
}

static void tar_file(struct tar *t, const char *name, const char *data, size_t len)
{
        tar_entry(t, name, AE_IFREG, data, len, NULL);
}

static void tar_text(struct tar *t, const char *name, const char *text)
{
        tar_file(t, name, text, strlen(text));
}

/* Ends the tar: the bytes (the caller's) and their length. */
static char *tar_finish(struct tar *t, size_t *ret_len)
{
        char *buf;

        assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
        assert_int_equal(archive_write_free(t->a), ARCHIVE_OK);
        buf = t->buf;
        *ret_len = t->used;
        free(t);
        return buf;
}

/* buf gzip-compressed (one member), the caller's. */
static char *gzip_bytes(const char *buf, size_t len, size_t *ret_len)
{
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        char *out = xmalloc(len + 4096);
        size_t used = 0;

        assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_memory(a, out, len + 4096, &used), ARCHIVE_OK);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_pathname(e, "x");
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, buf, len), (la_ssize_t) len);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        archive_entry_free(e);
        *ret_len = used;
        return out;
}

/* An fd reading len bytes of buf from the start (a memfd). */
static int bytes_fd(const char *buf, size_t len)
{
        int fd = memfd_create("archive", MFD_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, buf, len), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

/* A layer: etc/ with a and b (layer 1), or the whiteout of b and a new c (layer 2). */
static char *layer_tar(int which, size_t *ret_len)
{
        struct tar *t = tar_new(false);

        tar_entry(t, "etc/", AE_IFDIR, NULL, 0, NULL);
        if (which == 1) {
                tar_text(t, "etc/a", "hello\n");
                tar_text(t, "etc/b", "to be deleted\n");
        } else {
                tar_text(t, "etc/.wh.b", "");
                tar_text(t, "etc/c", "new\n");
        }
        return tar_finish(t, ret_len);
}

static char *config_json(const struct oci_platform *p, char *const *diff_ids)
{
        json_t *ids = json_array();
        char *text;
        json_t *c;

        for (size_t i = 0; diff_ids[i]; i++)
                json_array_append_new(ids, json_string(diff_ids[i]));
        c = json_pack("{s:s, s:s, s:{s:s, s:o}}", "architecture", p->architecture, "os", p->os,
                      "rootfs", "type", "layers", "diff_ids", ids);
        text = json_dumps(c, JSON_COMPACT);
        json_decref(c);
        return text;
}

struct docker_save {
        char *tar;
        size_t len;
        char config[DIGEST_STR_MAX];
        char layer1[DIGEST_STR_MAX], layer2[DIGEST_STR_MAX];
        char diff1[DIGEST_STR_MAX], diff2[DIGEST_STR_MAX];
};

enum docker_fault { FAULT_NONE, FAULT_BAD_JSON, FAULT_NO_LAYER2 };

/*
 * A docker save: manifest.json first (import must not depend on the order), a plain and a
 * gzip'ed layer, and a second image whose only layer is a symlink to the first one's.
 */
static void docker_save(const struct fixture *f, enum docker_fault fault, bool is_gzip,
                        struct docker_save *ret)
{
        _cleanup_free_ char *l1 = NULL, *l2 = NULL, *l2gz = NULL, *cfg = NULL, *cfg1 = NULL;
        char *ids[3] = {ret->diff1, ret->diff2, NULL}, *ids1[2] = {ret->diff1, NULL};
        size_t l1_len, l2_len, l2gz_len;
        struct tar *t = tar_new(is_gzip);

        l1 = layer_tar(1, &l1_len);
        l2 = layer_tar(2, &l2_len);
        l2gz = gzip_bytes(l2, l2_len, &l2gz_len);
        digest_bytes(l1, l1_len, ret->diff1);
        digest_bytes(l2, l2_len, ret->diff2);
        digest_bytes(l1, l1_len, ret->layer1);
        digest_bytes(l2gz, l2gz_len, ret->layer2);
        cfg = config_json(&f->host, ids);
        cfg1 = config_json(&f->host, ids1);
        digest_bytes(cfg, strlen(cfg), ret->config);
        tar_text(t, "manifest.json",
                 fault == FAULT_BAD_JSON
                         ? "[{\"Config\": \"cfg.json\",, }]"
                         : "[{\"Config\":\"cfg.json\",\"RepoTags\":[\"busybox:1\","
                           "\"example.com/x/y:2\"],\"Layers\":[\"l1/layer.tar\","
                           "\"l2/layer.tar\"]},{\"Config\":\"./cfg1.json\",\"RepoTags\":"
                           "[\"one:latest\"],\"Layers\":[\"l3/layer.tar\"]}]");
        tar_text(t, "cfg.json", cfg);
        tar_text(t, "cfg1.json", cfg1);
        tar_entry(t, "l1/", AE_IFDIR, NULL, 0, NULL);
        tar_file(t, "l1/layer.tar", l1, l1_len);
        tar_text(t, "l1/VERSION", "1.0");
        if (fault != FAULT_NO_LAYER2)
                tar_file(t, "l2/layer.tar", l2gz, l2gz_len);
        tar_text(t, "l2/VERSION", "1.0"); /* the same blob again */
        tar_entry(t, "l3/layer.tar", AE_IFLNK, NULL, 0, "../l1/layer.tar");
        tar_text(t, "repositories", "{}");
        ret->tar = tar_finish(t, &ret->len);
}

/* A blob of the OCI layout: its bytes and descriptor. */
struct blob {
        char *data;
        size_t len;
        char digest[DIGEST_STR_MAX];
};

static void blob_set(struct blob *b, char *data, size_t len)
{
        b->data = data;
        b->len = len;
        digest_bytes(data, len, b->digest);
}

struct oci_layout {
        char *tar;
        size_t len;
        struct blob index, manifest[2], config[2], layer[2];
};

enum oci_fault { OCI_NONE, OCI_BAD_BLOB, OCI_MISSING_INDEX_TARGET, OCI_NO_OTHER_PLATFORM };

static char *manifest_json(const struct blob *config, const struct blob *layer)
{
        return xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
                         "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
                         "\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
                         MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_OCI_CONFIG, config->digest,
                         config->len, MEDIA_TYPE_OCI_LAYER, layer->digest, layer->len);
}

static void oci_blobs(const struct fixture *f, struct oci_layout *o)
{
        const char *other = STREQ(f->host.architecture, "s390x") ? "ppc64le" : "s390x";
        struct oci_platform p[2] = {f->host,
                                    {.os = (char *) "linux", .architecture = (char *) other}};

        for (int i = 0; i < 2; i++) {
                char diff[DIGEST_STR_MAX], *ids[2] = {diff, NULL}, *m;
                size_t len;
                char *l = layer_tar(i + 1, &len);

                blob_set(&o->layer[i], l, len);
                digest_bytes(l, len, diff);
                m = config_json(&p[i], ids);
                blob_set(&o->config[i], m, strlen(m));
                m = manifest_json(&o->config[i], &o->layer[i]);
                blob_set(&o->manifest[i], m, strlen(m));
        }
        _cleanup_free_ char *plat =
                xasprintf("{\"os\":\"linux\",\"architecture\":\"%s\"%s%s%s}", f->host.architecture,
                          f->host.variant ? ",\"variant\":\"" : "",
                          f->host.variant ? f->host.variant : "", f->host.variant ? "\"" : "");
        char *idx = xasprintf(
                "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":\"%s\","
                "\"digest\":\"%s\",\"size\":%zu,\"platform\":%s},{\"mediaType\":\"%s\","
                "\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"os\":\"linux\","
                "\"architecture\":\"%s\"}}]}",
                MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST, o->manifest[0].digest,
                o->manifest[0].len, plat, MEDIA_TYPE_OCI_MANIFEST, o->manifest[1].digest,
                o->manifest[1].len, other);
        blob_set(&o->index, idx, strlen(idx));
}

static void tar_blob(struct tar *t, const struct blob *b, const char *data)
{
        _cleanup_free_ char *name = xasprintf("blobs/sha256/%s", digest_hex(b->digest));

        tar_file(t, name, data ? data : b->data, b->len);
}

/*
 * An OCI layout: index.json (one entry, the two-platform index, named by annotations) before
 * the blobs, the index blob last.
 */
static void oci_layout(const struct fixture *f, enum oci_fault fault, const char *annotations,
                       struct oci_layout *o)
{
        _cleanup_free_ char *index_json = NULL, *corrupt = NULL;
        struct tar *t = tar_new(false);

        oci_blobs(f, o);
        index_json = xasprintf(
                "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
                "\"size\":%zu,\"annotations\":{%s}}]}",
                MEDIA_TYPE_OCI_INDEX,
                fault == OCI_MISSING_INDEX_TARGET
                        ? "sha256:0000000000000000000000000000000000000000000000000000000000000000"
                        : o->index.digest,
                o->index.len, annotations);
        tar_text(t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
        tar_text(t, "index.json", index_json);
        tar_entry(t, "blobs/", AE_IFDIR, NULL, 0, NULL);
        for (int i = 0; i < 2; i++) {
                if (i == 1 && fault == OCI_NO_OTHER_PLATFORM)
                        continue;
                if (i == 0 && fault == OCI_BAD_BLOB) {
                        corrupt = xmalloc(o->layer[0].len);
                        memcpy(corrupt, o->layer[0].data, o->layer[0].len);
                        corrupt[600] ^= 1; /* within etc/a's header */
                }
                tar_blob(t, &o->layer[i], i == 0 ? corrupt : NULL);
                tar_blob(t, &o->config[i], NULL);
                tar_blob(t, &o->manifest[i], NULL);
        }
        tar_blob(t, &o->index, NULL);
        o->tar = tar_finish(t, &o->len);
}

static void oci_layout_release(struct oci_layout *o)
{
        free(o->tar);
        free(o->index.data);
        for (int i = 0; i < 2; i++) {
                free(o->manifest[i].data);
                free(o->config[i].data);
                free(o->layer[i].data);
        }
}

/* --- fixture and checks --------------------------------------------------------------- */

static int setup(void **state)
{
        struct fixture *f = xnew0(struct fixture, 1);

        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-archive-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        assert_int_equal(store_open(f->dir, &f->st, NULL), 0);
        oci_platform_default(&f->host);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        store_free(f->st);
        oci_platform_release(&f->host);
        assert_int_equal(rm_rf_at(AT_FDCWD, f->dir), 0);
        free(f);
        return 0;
}

static int import_bytes(struct fixture *f, const char *buf, size_t len,
                        const struct image_import_opts *o, char ***ret, struct errmsg *err)
{
        _cleanup_close_ int fd = bytes_fd(buf, len);

        return image_import(f->st, NS, fd, o, ret, err);
}

static size_t n_images(struct fixture *f)
{
        struct image_record *v = NULL;
        size_t n = 0;

        assert_int_equal(image_list(f->st->md, NS, &v, &n, NULL), 0);
        image_records_free(v, n);
        return n;
}

static int count_ingest(const struct content_status *s, void *userdata)
{
        (void) s;
        (*(size_t *) userdata)++;
        return 0;
}

/* A failed import left no image, no ingest and no lease; ret_names was not touched. */
static void assert_nothing_left(struct fixture *f, char **names)
{
        struct lease_record *leases = NULL;
        size_t n_ingests = 0, n_leases = 0;

        assert_ptr_equal(names, (char **) 0x1);
        assert_int_equal(n_images(f), 0);
        assert_int_equal(content_store_walk_ingests(f->st->cs, count_ingest, &n_ingests), 0);
        assert_int_equal(n_ingests, 0);
        assert_int_equal(lease_list(f->st->md, NS, &leases, &n_leases, NULL), 0);
        assert_int_equal(n_leases, 0);
        lease_records_free(leases, n_leases);
}

static const char *label(char *const *labels, const char *key)
{
        for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2)
                if (STREQ(labels[i], key))
                        return labels[i + 1];
        return NULL;
}

/* The value of key on ns's record of digest, "" when the label is not there, NULL when the
 * record is not there (the caller's). */
static char *record_label(struct fixture *f, const char *digest, const char *key)
{
        struct content_record rec;
        char *value;

        if (content_record_get(f->st->md, NS, digest, &rec, NULL) < 0)
                return NULL;
        value = xstrdup(label(rec.labels, key) ? label(rec.labels, key) : "");
        content_record_release(&rec);
        return value;
}

static void assert_label(struct fixture *f, const char *digest, const char *key, const char *want)
{
        _cleanup_free_ char *value = record_label(f, digest, key);

        assert_non_null(value);
        assert_string_equal(value, want);
}

static bool is_recorded(struct fixture *f, const char *digest)
{
        _cleanup_free_ char *value = record_label(f, digest, "x");

        return value != NULL;
}

/* The contents of path in the native snapshot key's tree, or NULL when it is absent. */
static char *snapshot_file(struct fixture *f, const char *key, const char *path)
{
        struct snapshotter *sn = f->st->snapshotters[SNAPSHOTTER_NATIVE];
        _cleanup_free_ char *view = xasprintf("view-%s", key), *full = NULL;
        struct mount_spec *m = NULL;
        char *text = NULL;
        size_t n = 0, len;

        assert_int_equal(snapshot_view(sn, NS, view, key, NULL, &m, &n, NULL), 0);
        assert_int_equal(n, 1);
        full = xasprintf("%s/%s", m[0].source, path);
        if (read_file_at(AT_FDCWD, full, 4096, &text, &len) < 0)
                text = NULL;
        mount_specs_free(m, n);
        assert_int_equal(snapshot_remove(sn, NS, view, NULL), 0);
        return text;
}

/* --- docker save ---------------------------------------------------------------------- */

/* The manifest of image name (the caller's) and, in *ret_text, its bytes. */
static struct oci_manifest *image_manifest(struct fixture *f, const char *name, char **ret_text)
{
        struct oci_manifest *m = NULL;
        struct image_record img;
        char *text = NULL;
        size_t len;

        assert_int_equal(image_get(f->st->md, NS, name, &img, NULL), 0);
        assert_string_equal(img.target.media_type, MEDIA_TYPE_DOCKER_MANIFEST);
        assert_int_equal(
                image_read_blob(f->st, img.target.digest, MANIFEST_MAX_BYTES, &text, &len, NULL),
                0);
        assert_int_equal(oci_manifest_parse(text, len, &m, NULL), 0);
        image_record_release(&img);
        *ret_text = text;
        return m;
}

static void test_docker_save_import(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {.snapshotter = "native"};
        _cleanup_free_ char *text = NULL, *text1 = NULL;
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL, *m1 = NULL;
        _cleanup_strv_ char **names = NULL;
        struct docker_save ds;
        char digest[DIGEST_STR_MAX];

        docker_save(f, FAULT_NONE, false, &ds);
        assert_int_equal(import_bytes(f, ds.tar, ds.len, &o, &names, NULL), 0);
        assert_int_equal(strv_length(names), 3);
        assert_string_equal(names[0], "docker.io/library/busybox:1");
        assert_string_equal(names[1], "example.com/x/y:2");
        assert_string_equal(names[2], "docker.io/library/one:latest");

        m = image_manifest(f, "example.com/x/y:2", &text);
        assert_string_equal(m->media_type, MEDIA_TYPE_DOCKER_MANIFEST);
        assert_string_equal(m->config.media_type, MEDIA_TYPE_DOCKER_CONFIG);
        assert_string_equal(m->config.digest, ds.config);
        assert_int_equal(m->n_layers, 2);
        assert_string_equal(m->layers[0].media_type, MEDIA_TYPE_DOCKER_LAYER);
        assert_string_equal(m->layers[0].digest, ds.layer1);
        assert_string_equal(m->layers[1].media_type, MEDIA_TYPE_DOCKER_LAYER_GZIP);
        assert_string_equal(m->layers[1].digest, ds.layer2);
        /* containerd's compact field order, so that ctr import names the same digest */
        assert_true(strncmp(text, "{\"schemaVersion\":2,\"mediaType\":", 31) == 0);

        /* labels for the garbage collector */
        digest_bytes(text, strlen(text), digest);
        assert_label(f, digest, "containerd.io/gc.ref.content.config", ds.config);
        assert_label(f, digest, "containerd.io/gc.ref.content.l.0", ds.layer1);
        assert_label(f, digest, "containerd.io/gc.ref.content.l.1", ds.layer2);

        /* the symlinked layer of the second image is the first one's */
        m1 = image_manifest(f, "docker.io/library/one:latest", &text1);
        assert_int_equal(m1->n_layers, 1);
        assert_string_equal(m1->layers[0].digest, ds.layer1);
        free(ds.tar);
}

static void test_docker_save_unpacked(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {.snapshotter = "native"};
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        struct docker_save ds;
        char chain[DIGEST_STR_MAX];

        docker_save(f, FAULT_NONE, false, &ds);
        assert_int_equal(import_bytes(f, ds.tar, ds.len, &o, NULL, NULL), 0);
        image_chain_id(NULL, ds.diff1, chain);
        image_chain_id(chain, ds.diff2, chain);
        assert_label(f, ds.config, "containerd.io/gc.ref.snapshot.native", chain);
        assert_label(f, ds.layer2, LABEL_UNCOMPRESSED, ds.diff2);
        /* the second layer's whiteout removed etc/b */
        a = snapshot_file(f, chain, "etc/a");
        assert_string_equal(a, "hello\n");
        c = snapshot_file(f, chain, "etc/c");
        assert_string_equal(c, "new\n");
        b = snapshot_file(f, chain, "etc/b");
        assert_null(b);
        free(ds.tar);
}

static void test_docker_save_gzip_archive_without_unpack(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {0};
        _cleanup_strv_ char **names = NULL;
        struct snapshot_info *snaps = NULL;
        struct docker_save ds;
        size_t n = 0;

        docker_save(f, FAULT_NONE, true, &ds);
        assert_int_equal(import_bytes(f, ds.tar, ds.len, &o, &names, NULL), 0);
        assert_int_equal(strv_length(names), 3);
        assert_int_equal(n_images(f), 3);
        assert_true(is_recorded(f, ds.layer1) && is_recorded(f, ds.layer2));
        assert_int_equal(
                snapshot_list(f->st->snapshotters[SNAPSHOTTER_OVERLAYFS], NS, &snaps, &n, NULL), 0);
        assert_int_equal(n, 0);
        snapshot_infos_free(snaps, n);
        free(ds.tar);
}

static void test_truncated_tar(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {0};
        char **names = (char **) 0x1;
        struct errmsg err = {0};
        struct docker_save ds;

        docker_save(f, FAULT_NONE, false, &ds);
        /* in the middle of l1/layer.tar's data */
        assert_int_equal(import_bytes(f, ds.tar, 6000, &o, &names, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "import: "));
        assert_non_null(strstr(err.msg, "runcated"));
        assert_nothing_left(f, names);
        free(ds.tar);
}

static void test_manifest_json_not_json(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {0};
        char **names = (char **) 0x1;
        struct errmsg err = {0};
        struct docker_save ds;

        docker_save(f, FAULT_BAD_JSON, false, &ds);
        assert_int_equal(import_bytes(f, ds.tar, ds.len, &o, &names, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "import: manifest.json: line 1 column"));
        assert_nothing_left(f, names);
        free(ds.tar);
}

static void test_layer_missing_from_the_archive(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {.snapshotter = "native"};
        char **names = (char **) 0x1;
        struct errmsg err = {0};
        struct docker_save ds;

        docker_save(f, FAULT_NO_LAYER2, false, &ds);
        assert_int_equal(import_bytes(f, ds.tar, ds.len, &o, &names, &err), -EINVAL);
        assert_string_equal(err.msg, "import: manifest.json: [0]: Layers[1] \"l2/layer.tar\": not"
                                     " in the archive");
        assert_nothing_left(f, names);
        free(ds.tar);
}

static void test_not_an_image_archive(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {0};
        char **names = (char **) 0x1;
        struct errmsg err = {0};
        struct tar *t = tar_new(false);
        _cleanup_free_ char *buf = NULL;
        size_t len;

        tar_text(t, "hello.txt", "hi");
        buf = tar_finish(t, &len);
        assert_int_equal(import_bytes(f, buf, len, &o, &names, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "neither oci-layout nor manifest.json"));
        assert_int_equal(import_bytes(f, "plain text, no tar", 18, &o, &names, &err), -EINVAL);
        assert_nothing_left(f, names);
}

/* --- OCI layout ----------------------------------------------------------------------- */

static void test_oci_layout_host_platform(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {.snapshotter = "native", .base_name = "example.com/multi"};
        _cleanup_strv_ char **names = NULL;
        _cleanup_free_ char *file = NULL;
        struct content_info info;
        struct image_record img;
        struct oci_layout ol = {0};
        char chain[DIGEST_STR_MAX];

        oci_layout(f, OCI_NONE, "\"org.opencontainers.image.ref.name\":\"1.0\"", &ol);
        assert_int_equal(import_bytes(f, ol.tar, ol.len, &o, &names, NULL), 0);
        assert_int_equal(strv_length(names), 1);
        assert_string_equal(names[0], "example.com/multi:1.0");
        assert_int_equal(image_get(f->st->md, NS, names[0], &img, NULL), 0);
        assert_string_equal(img.target.media_type, MEDIA_TYPE_OCI_INDEX);
        assert_string_equal(img.target.digest, ol.index.digest);
        assert_int_equal(img.target.size, (int64_t) ol.index.len);
        image_record_release(&img);

        /* only the host's platform is recorded; the other one's blobs are there, unrecorded */
        assert_label(f, ol.index.digest, "containerd.io/gc.ref.content.m.0", ol.manifest[0].digest);
        assert_label(f, ol.index.digest, "containerd.io/gc.ref.content.m.1", "");
        assert_label(f, ol.manifest[0].digest, "containerd.io/gc.ref.content.l.0",
                     ol.layer[0].digest);
        assert_true(is_recorded(f, ol.config[0].digest) && is_recorded(f, ol.layer[0].digest));
        assert_false(is_recorded(f, ol.manifest[1].digest) || is_recorded(f, ol.layer[1].digest));
        assert_int_equal(content_store_info(f->st->cs, ol.layer[1].digest, &info, NULL), 0);

        image_chain_id(NULL, ol.layer[0].digest, chain); /* uncompressed: digest = diff id */
        file = snapshot_file(f, chain, "etc/b");
        assert_string_equal(file, "to be deleted\n");
        oci_layout_release(&ol);
}

static void test_oci_layout_all_platforms(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {.all_platforms = true};
        _cleanup_strv_ char **names = NULL;
        struct oci_layout ol = {0};

        oci_layout(f, OCI_NONE,
                   "\"io.containerd.image.name\":\"registry.test/keep:as-is\","
                   "\"org.opencontainers.image.ref.name\":\"ignored\"",
                   &ol);
        assert_int_equal(import_bytes(f, ol.tar, ol.len, &o, &names, NULL), 0);
        assert_string_equal(names[0], "registry.test/keep:as-is");
        assert_label(f, ol.index.digest, "containerd.io/gc.ref.content.m.1", ol.manifest[1].digest);
        assert_true(is_recorded(f, ol.manifest[1].digest) && is_recorded(f, ol.layer[1].digest));
        oci_layout_release(&ol);
}

static void test_oci_layout_other_platform_missing(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {0};
        _cleanup_strv_ char **names = NULL;
        char **untouched = (char **) 0x1;
        struct errmsg err = {0};
        struct oci_layout ol = {0};

        oci_layout(f, OCI_NO_OTHER_PLATFORM, "\"org.opencontainers.image.ref.name\":\"a/b:c\"",
                   &ol);
        assert_int_equal(import_bytes(f, ol.tar, ol.len, &o, &names, NULL), 0);
        assert_string_equal(names[0], "docker.io/a/b:c");
        assert_int_equal(image_delete(f->st->md, NS, names[0], NULL), 0);
        o.all_platforms = true;
        assert_int_equal(import_bytes(f, ol.tar, ol.len, &o, &untouched, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "manifests[1]"));
        assert_non_null(strstr(err.msg, "not in the archive"));
        assert_nothing_left(f, untouched);
        oci_layout_release(&ol);
}

static void test_oci_blob_not_matching_its_digest(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {0};
        char **names = (char **) 0x1;
        struct errmsg err = {0};
        struct oci_layout ol = {0};
        _cleanup_free_ char *want = NULL;

        oci_layout(f, OCI_BAD_BLOB, "\"org.opencontainers.image.ref.name\":\"x:1\"", &ol);
        want = xasprintf("import: blobs/sha256/%s: bytes do not match the digest",
                         digest_hex(ol.layer[0].digest));
        assert_int_equal(import_bytes(f, ol.tar, ol.len, &o, &names, &err), -EBADMSG);
        assert_true(strncmp(err.msg, want, strlen(want)) == 0);
        assert_nothing_left(f, names);
        oci_layout_release(&ol);
}

static void test_index_json_pointing_nowhere(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {0};
        char **names = (char **) 0x1;
        struct errmsg err = {0};
        struct oci_layout ol = {0};

        oci_layout(f, OCI_MISSING_INDEX_TARGET, "\"org.opencontainers.image.ref.name\":\"x:1\"",
                   &ol);
        assert_int_equal(import_bytes(f, ol.tar, ol.len, &o, &names, &err), -ENOENT);
        assert_string_equal(err.msg, "import: index.json: manifests[0] sha256:00000000000000000000"
                                     "00000000000000000000000000000000000000000000: not in the"
                                     " archive");
        assert_nothing_left(f, names);
        oci_layout_release(&ol);
}

static void test_oci_layout_without_names(void **state)
{
        struct fixture *f = *state;
        struct image_import_opts o = {0};
        char **names = (char **) 0x1;
        struct errmsg err = {0};
        struct oci_layout ol = {0};

        oci_layout(f, OCI_NONE, "\"org.opencontainers.image.ref.name\":\"1.0\"", &ol);
        assert_int_equal(import_bytes(f, ol.tar, ol.len, &o, &names, &err), -EINVAL);
        assert_string_equal(err.msg, "import: no image has a name (give a base name)");
        assert_nothing_left(f, names);
        oci_layout_release(&ol);
}

/* --- export --------------------------------------------------------------------------- */

/* Exports names into memory (the caller's). */
static int export_bytes(struct fixture *f, char *const *names, enum image_export_format format,
                        bool all_platforms, char **ret, size_t *ret_len, struct errmsg *err)
{
        struct image_export_opts o = {.format = format, .all_platforms = all_platforms};
        _cleanup_close_ int fd = memfd_create("export", MFD_CLOEXEC);
        int r;

        assert_true(fd >= 0);
        r = image_export(f->st, NS, names, fd, &o, err);
        if (r < 0)
                return r;
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(read_fd_all(fd, TAR_MAX, ret, ret_len), 0);
        return 0;
}

/* "name mode size" per member, and the contents of the member called want (the caller's). */
static char *listing(const char *buf, size_t len, const char *want, char **ret_member)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char *out = xstrdup("");

        assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
        assert_int_equal(archive_read_open_memory(a, buf, len), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                char *line = xasprintf("%s%s %o %lld\n", out, archive_entry_pathname(e),
                                       (unsigned) archive_entry_mode(e),
                                       (long long) archive_entry_size(e));

                assert_int_equal(archive_entry_mtime(e), 0);
                free(out);
                out = line;
                if (want && STREQ(archive_entry_pathname(e), want)) {
                        *ret_member = xnew0(char, (size_t) archive_entry_size(e) + 1);
                        archive_read_data(a, *ret_member, (size_t) archive_entry_size(e));
                }
        }
        archive_read_free(a);
        return out;
}

static void test_export_then_import(void **state)
{
        struct fixture *f = *state;
        char *names[] = {(char *) "example.com/x/y:2", (char *) "docker.io/library/busybox:1",
                         (char *) "example.com/x/y:2", NULL};
        _cleanup_free_ char *tar1 = NULL, *tar2 = NULL, *list = NULL, *manifest_json = NULL;
        _cleanup_free_ char *want = NULL, *index = NULL, *list_oci = NULL;
        struct image_import_opts o = {0};
        _cleanup_strv_ char **imported = NULL;
        struct image_record before, after;
        struct docker_save ds;
        size_t len1, len2;

        docker_save(f, FAULT_NONE, false, &ds);
        assert_int_equal(import_bytes(f, ds.tar, ds.len, &o, NULL, NULL), 0);
        assert_int_equal(image_get(f->st->md, NS, "example.com/x/y:2", &before, NULL), 0);
        assert_int_equal(
                export_bytes(f, names, IMAGE_EXPORT_OCI_AND_DOCKER, false, &tar1, &len1, NULL), 0);
        /* the same images give the same bytes */
        assert_int_equal(
                export_bytes(f, names, IMAGE_EXPORT_OCI_AND_DOCKER, false, &tar2, &len2, NULL), 0);
        assert_int_equal(len1, len2);
        assert_memory_equal(tar1, tar2, len1);

        list = listing(tar1, len1, "manifest.json", &manifest_json);
        assert_true(strncmp(list, "blobs/ 40755 0\nblobs/sha256/ 40755 0\nblobs/sha256/", 49) == 0);
        assert_non_null(strstr(list, "\nindex.json 100644 "));
        assert_non_null(strstr(list, "\noci-layout 100444 30\n"));
        want = xasprintf("[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[\"busybox:1\","
                         "\"example.com/x/y:2\"],\"Layers\":[\"blobs/sha256/%s\","
                         "\"blobs/sha256/%s\"]}]",
                         digest_hex(ds.config), digest_hex(ds.layer1), digest_hex(ds.layer2));
        assert_string_equal(manifest_json, want);
        free(tar2);
        tar2 = NULL;
        assert_int_equal(export_bytes(f, names, IMAGE_EXPORT_OCI, false, &tar2, &len2, NULL), 0);
        list_oci = listing(tar2, len2, "index.json", &index);
        assert_null(strstr(list_oci, "manifest.json"));
        assert_non_null(strstr(index, "\"io.containerd.image.name\":\"docker.io/library/busybox:1\""
                                      ",\"org.opencontainers.image.ref.name\":\"1\""));

        /* into an empty namespace of the same store: the same targets */
        assert_int_equal(image_delete(f->st->md, NS, "example.com/x/y:2", NULL), 0);
        assert_int_equal(image_delete(f->st->md, NS, "docker.io/library/busybox:1", NULL), 0);
        assert_int_equal(import_bytes(f, tar1, len1, &o, &imported, NULL), 0);
        assert_int_equal(strv_length(imported), 2);
        assert_int_equal(image_get(f->st->md, NS, "example.com/x/y:2", &after, NULL), 0);
        assert_string_equal(after.target.digest, before.target.digest);
        assert_string_equal(after.target.media_type, before.target.media_type);
        image_record_release(&before);
        image_record_release(&after);
        free(ds.tar);
}

static void test_export_platforms_and_errors(void **state)
{
        struct fixture *f = *state;
        char *names[] = {(char *) "example.com/multi:1", NULL};
        char *missing[] = {(char *) "nope:1", NULL};
        struct image_import_opts o = {.base_name = "example.com/multi"};
        _cleanup_free_ char *tar = NULL, *list = NULL;
        struct errmsg err = {0};
        struct oci_layout ol = {0};
        size_t len;

        oci_layout(f, OCI_NO_OTHER_PLATFORM, "\"org.opencontainers.image.ref.name\":\"1\"", &ol);
        assert_int_equal(import_bytes(f, ol.tar, ol.len, &o, NULL, NULL), 0);
        /* the other platform's blobs are not in the store: left out, unless all are asked for */
        assert_int_equal(
                export_bytes(f, names, IMAGE_EXPORT_OCI_AND_DOCKER, false, &tar, &len, NULL), 0);
        list = listing(tar, len, NULL, NULL);
        assert_non_null(strstr(list, digest_hex(ol.manifest[0].digest)));
        assert_null(strstr(list, digest_hex(ol.manifest[1].digest)));
        assert_int_equal(export_bytes(f, names, IMAGE_EXPORT_OCI, true, &tar, &len, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "export: image \"example.com/multi:1\""));
        assert_non_null(strstr(err.msg, "not in the store"));
        assert_int_equal(export_bytes(f, missing, IMAGE_EXPORT_OCI, false, &tar, &len, &err),
                         -ENOENT);
        assert_string_equal(err.msg, "export: image \"nope:1\": not found");
        oci_layout_release(&ol);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_docker_save_import, setup, teardown),
                cmocka_unit_test_setup_teardown(test_docker_save_unpacked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_docker_save_gzip_archive_without_unpack, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_truncated_tar, setup, teardown),
                cmocka_unit_test_setup_teardown(test_manifest_json_not_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_layer_missing_from_the_archive, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_not_an_image_archive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oci_layout_host_platform, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oci_layout_all_platforms, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oci_layout_other_platform_missing, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_oci_blob_not_matching_its_digest, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_index_json_pointing_nowhere, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oci_layout_without_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_export_then_import, setup, teardown),
                cmocka_unit_test_setup_teardown(test_export_platforms_and_errors, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
