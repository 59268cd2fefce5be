/* SPDX-License-Identifier: Apache-2.0 */
/* containerd/metadata*.c: schema and migrations, namespaces, images, content records, leases. */
#include <fcntl.h>
#include <sqlite3.h>

#include "containerd/metadata.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

#define D1 "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
#define D2 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct fixture {
        char dir[64];
        char path[96];
        struct metadata *md;
};

static int setup(void **state)
{
        struct fixture *f = xnew0(struct fixture, 1);

        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-meta-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void) snprintf(f->path, sizeof(f->path), "%s/meta.db", f->dir);
        assert_int_equal(metadata_open(f->path, &f->md, NULL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        metadata_free(f->md);
        assert_int_equal(rm_rf_at(AT_FDCWD, f->dir), 0);
        free(f);
        return 0;
}

static void test_schema_version_and_newer_database(void **state)
{
        struct fixture *f = *state;
        struct errmsg err = {0};
        struct metadata *md = NULL;
        sqlite3 *db;

        assert_int_equal(metadata_schema_version(f->md), METADATA_SCHEMA_VERSION);
        f->md = metadata_free(f->md);
        /* reopening keeps the data and does not migrate twice */
        assert_int_equal(metadata_open(f->path, &md, NULL), 0);
        assert_int_equal(namespace_create(md, "kept", NULL, NULL), 0);
        md = metadata_free(md);
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(metadata_open(f->path, &md, &err), -EPROTO);
        assert_null(md);
        assert_non_null(strstr(err.msg, "newer"));
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(metadata_open(f->path, &f->md, NULL), 0);
}

/* 77 characters: one more than containerd's identifiers may have */
#define TOO_LONG "x123456789x123456789x123456789x123456789x123456789x123456789x123456789x123456"

static void test_namespaces(void **state)
{
        struct fixture *f = *state;
        _cleanup_strv_ char **names = NULL, **labels = NULL;
        char *set[] = {"containerd.io/defaults/snapshotter", "overlayfs", NULL};
        struct errmsg err = {0};
        static const char *const bad[] = {"",    "-lead", "trail-", "a..b",
                                          "a b", "a/b",   "a-.b",   TOO_LONG};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(namespace_create(f->md, bad[i], NULL, NULL), -EINVAL);
        assert_int_equal(namespace_create(f->md, "default", set, NULL), 0);
        assert_int_equal(namespace_create(f->md, "default", NULL, &err), -EEXIST);
        assert_non_null(strstr(err.msg, "already exists"));
        assert_int_equal(namespace_ensure(f->md, "default", NULL), 0);
        assert_int_equal(namespace_create(f->md, "k8s.io", NULL, NULL), 0);
        assert_int_equal(namespace_list(f->md, &names, NULL), 0);
        assert_int_equal(strv_length(names), 2);
        assert_string_equal(names[0], "default");
        assert_string_equal(names[1], "k8s.io");
        assert_int_equal(namespace_labels(f->md, "default", &labels, NULL), 0);
        assert_int_equal(strv_length(labels), 2);
        assert_string_equal(labels[1], "overlayfs");
        assert_int_equal(namespace_set_labels(f->md, "default", NULL, NULL), 0);
        assert_int_equal(namespace_labels(f->md, "nope", &labels, NULL), -ENOENT);
        assert_int_equal(namespace_delete(f->md, "k8s.io", NULL), 0);
        assert_int_equal(namespace_delete(f->md, "k8s.io", NULL), -ENOENT);
}

static struct image_record image(const char *name, const char *digest, char **labels)
{
        struct image_record r = {
                .name = (char *) name,
                .target = {.media_type = (char *) "application/vnd.oci.image.index.v1+json",
                           .size = 42},
                .labels = labels,
        };

        (void) snprintf(r.target.digest, sizeof(r.target.digest), "%s", digest);
        return r;
}

static void test_images(void **state)
{
        struct fixture *f = *state;
        char *labels[] = {"a", "1", NULL};
        struct image_record in = image("docker.io/library/busybox:latest", D1, labels);
        struct image_record out, *all = NULL;
        struct errmsg err = {0};
        size_t n = 0;

        assert_int_equal(image_put(f->md, "default", &in, false, NULL), 0);
        assert_int_equal(image_put(f->md, "default", &in, false, &err), -EEXIST);
        assert_int_equal(image_get(f->md, "default", in.name, &out, NULL), 0);
        assert_string_equal(out.target.digest, D1);
        assert_int_equal(out.target.size, 42);
        assert_string_equal(out.labels[0], "a");
        image_record_release(&out);
        (void) snprintf(in.target.digest, sizeof(in.target.digest), "%s", D2);
        in.labels = NULL;
        assert_int_equal(image_put(f->md, "default", &in, true, NULL), 0);
        assert_int_equal(image_get(f->md, "default", in.name, &out, NULL), 0);
        assert_string_equal(out.target.digest, D2);
        assert_null(out.labels);
        image_record_release(&out);
        in.name = (char *) "missing";
        assert_int_equal(image_put(f->md, "default", &in, true, NULL), -ENOENT);
        (void) snprintf(in.target.digest, sizeof(in.target.digest), "sha256:nothex");
        assert_int_equal(image_put(f->md, "default", &in, false, NULL), -EINVAL);
        assert_int_equal(image_list(f->md, "default", &all, &n, NULL), 0);
        assert_int_equal(n, 1);
        image_records_free(all, n);
        assert_int_equal(image_list(f->md, "other", &all, &n, NULL), 0);
        assert_int_equal(n, 0);
        image_records_free(all, n);
        assert_int_equal(namespace_delete(f->md, "default", &err), -EBUSY);
        assert_non_null(strstr(err.msg, "images"));
        assert_int_equal(image_delete(f->md, "default", "docker.io/library/busybox:latest", NULL),
                         0);
        assert_int_equal(image_delete(f->md, "default", "docker.io/library/busybox:latest", NULL),
                         -ENOENT);
        assert_int_equal(namespace_delete(f->md, "default", NULL), 0);
}

static void test_content_records_and_labels(void **state)
{
        struct fixture *f = *state;
        char *set[] = {"containerd.io/gc.ref.content.config", D2, "keep", "x", NULL};
        char *unset[] = {"keep", "", NULL};
        struct content_record rec, *all = NULL;
        bool referenced = true;
        size_t n = 0;

        assert_int_equal(content_record_add(f->md, "default", D1, 11, NULL), 0);
        assert_int_equal(content_record_add(f->md, "default", D1, 11, NULL), 0);
        assert_int_equal(content_record_add(f->md, "default", "sha256:zz", 1, NULL), -EINVAL);
        assert_int_equal(content_record_update_labels(f->md, "default", D1, set, false, NULL), 0);
        assert_int_equal(content_record_update_labels(f->md, "default", D1, unset, false, NULL), 0);
        assert_int_equal(content_record_get(f->md, "default", D1, &rec, NULL), 0);
        assert_int_equal(rec.size, 11);
        assert_int_equal(strv_length(rec.labels), 2);
        assert_string_equal(rec.labels[0], "containerd.io/gc.ref.content.config");
        content_record_release(&rec);
        assert_int_equal(content_record_update_labels(f->md, "default", D2, set, false, NULL),
                         -ENOENT);
        assert_int_equal(content_record_list(f->md, "default", &all, &n, NULL), 0);
        assert_int_equal(n, 1);
        content_records_free(all, n);
        assert_int_equal(content_is_referenced(f->md, D1, &referenced, NULL), 0);
        assert_true(referenced);
        assert_int_equal(content_record_delete(f->md, "default", D1, NULL), 0);
        assert_int_equal(content_is_referenced(f->md, D1, &referenced, NULL), 0);
        assert_false(referenced);
        assert_int_equal(content_record_get(f->md, "default", D1, &rec, NULL), -ENOENT);
}

static void test_label_limits(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *big = xmalloc(LABEL_MAX_BYTES + 2);
        char *odd[] = {"key", NULL};
        char *empty_key[] = {"", "v", NULL};
        char *too_big[] = {"k", big, NULL};
        struct errmsg err = {0};

        memset(big, 'v', LABEL_MAX_BYTES + 1);
        big[LABEL_MAX_BYTES + 1] = '\0';
        assert_int_equal(namespace_create(f->md, "a", odd, NULL), -EINVAL);
        assert_int_equal(namespace_create(f->md, "a", empty_key, NULL), -EINVAL);
        assert_int_equal(namespace_create(f->md, "a", too_big, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "longer than"));
}

static void test_leases_and_resources(void **state)
{
        struct fixture *f = *state;
        _cleanup_strv_ char **res = NULL;
        struct lease_record *all = NULL;
        size_t n = 0;

        assert_int_equal(lease_create(f->md, "default", "pull-1", NULL, NULL), 0);
        assert_int_equal(lease_create(f->md, "default", "pull-1", NULL, NULL), -EEXIST);
        assert_int_equal(lease_add_resource(f->md, "default", "pull-1", "content", D1, NULL), 0);
        assert_int_equal(lease_add_resource(f->md, "default", "pull-1", "content", D1, NULL), 0);
        assert_int_equal(
                lease_add_resource(f->md, "default", "pull-1", "snapshots/overlayfs", "k", NULL),
                0);
        assert_int_equal(lease_add_resource(f->md, "default", "pull-1", "bogus", "k", NULL),
                         -EINVAL);
        assert_int_equal(lease_add_resource(f->md, "default", "nope", "content", D1, NULL),
                         -ENOENT);
        assert_int_equal(lease_list_resources(f->md, "default", "pull-1", &res, NULL), 0);
        assert_int_equal(strv_length(res), 4);
        assert_string_equal(res[0], "content");
        assert_string_equal(res[2], "snapshots/overlayfs");
        assert_int_equal(lease_delete_resource(f->md, "default", "pull-1", "content", D1, NULL), 0);
        assert_int_equal(lease_list(f->md, "default", &all, &n, NULL), 0);
        assert_int_equal(n, 1);
        assert_string_equal(all[0].id, "pull-1");
        lease_records_free(all, n);
        assert_int_equal(lease_delete(f->md, "default", "pull-1", NULL), 0);
        assert_int_equal(lease_delete(f->md, "default", "pull-1", NULL), -ENOENT);
}

static struct container_record container(const char *id)
{
        return (struct container_record){
                .id = (char *) id,
                .image = (char *) "docker.io/library/busybox:latest",
                .runtime_name = (char *) "io.containerd.runc.v2",
                .runtime_options = (void *) "opts",
                .runtime_options_size = 4,
                .spec = (void *) "spec\0bytes",
                .spec_size = 10,
                .snapshotter = (char *) "overlayfs",
                .snapshot_key = (char *) id,
        };
}

static void test_containers(void **state)
{
        struct fixture *f = *state;
        char *labels[] = {"a", "1", NULL};
        struct container_record in = container("c1"), out, *all = NULL;
        struct errmsg err = {0};
        size_t n = 0;

        in.labels = labels;
        assert_int_equal(container_put(f->md, "default", &in, false, NULL), 0);
        assert_int_equal(container_put(f->md, "default", &in, false, &err), -EEXIST);
        assert_non_null(strstr(err.msg, "already exists"));
        assert_int_equal(container_get(f->md, "default", "c1", &out, NULL), 0);
        assert_string_equal(out.runtime_name, "io.containerd.runc.v2");
        assert_int_equal(out.spec_size, 10);
        assert_memory_equal(out.spec, "spec\0bytes", 10);
        assert_int_equal(out.runtime_options_size, 4);
        assert_null(out.extensions);
        assert_string_equal(out.labels[1], "1");
        container_record_release(&out);
        in.image = (char *) "other";
        in.extensions = (void *) "ext";
        in.extensions_size = 3;
        assert_int_equal(container_put(f->md, "default", &in, true, NULL), 0);
        assert_int_equal(container_get(f->md, "default", "c1", &out, NULL), 0);
        assert_string_equal(out.image, "other");
        assert_int_equal(out.extensions_size, 3);
        container_record_release(&out);
        in.snapshotter = (char *) "native";
        assert_int_equal(container_put(f->md, "default", &in, true, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "immutable"));
        assert_int_equal(container_list(f->md, "default", &all, &n, NULL), 0);
        assert_int_equal(n, 1);
        container_records_free(all, n);
        assert_int_equal(namespace_delete(f->md, "default", &err), -EBUSY);
        assert_int_equal(container_delete(f->md, "default", "c1", NULL), 0);
        assert_int_equal(container_delete(f->md, "default", "c1", &err), -ENOENT);
        assert_non_null(strstr(err.msg, "not found"));
}

static void test_container_validation(void **state)
{
        struct fixture *f = *state;
        struct container_record c = container("c2"), out = {.id = (char *) "untouched"};
        struct errmsg err = {0};

        c.runtime_name = NULL;
        assert_int_equal(container_put(f->md, "default", &c, false, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "Runtime.Name must be set"));
        c = container("c2");
        c.spec_size = 0;
        assert_int_equal(container_put(f->md, "default", &c, false, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "Spec must be set"));
        c = container("c2");
        c.snapshotter = NULL;
        assert_int_equal(container_put(f->md, "default", &c, false, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "Snapshotter must be set"));
        c = container("bad id");
        assert_int_equal(container_put(f->md, "default", &c, false, &err), -EINVAL);
        assert_int_equal(container_get(f->md, "default", "c2", &out, NULL), -ENOENT);
        assert_string_equal(out.id, "untouched");
        c = container("Upper-Case_1.x");
        assert_int_equal(container_put(f->md, "default", &c, false, NULL), 0);
}

static void test_version_1_database_is_migrated(void **state)
{
        struct fixture *f = *state;
        struct container_record out;
        sqlite3 *db;

        f->md = metadata_free(f->md);
        /* what berth's schema version 1 left: containers without extensions */
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(
                sqlite3_exec(db,
                             "ALTER TABLE containers DROP COLUMN extensions;"
                             "INSERT INTO namespaces VALUES ('old', 0, 0);"
                             "INSERT INTO containers (namespace, id, runtime_name, spec,"
                             " created_at, updated_at) VALUES ('old', 'c', 'rt', x'01', 0, 0);"
                             "PRAGMA user_version = 1",
                             NULL, NULL, NULL),
                SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(metadata_open(f->path, &f->md, NULL), 0);
        assert_int_equal(metadata_schema_version(f->md), 2);
        assert_int_equal(container_get(f->md, "old", "c", &out, NULL), 0);
        assert_string_equal(out.runtime_name, "rt");
        assert_null(out.extensions);
        container_record_release(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_schema_version_and_newer_database, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_namespaces, setup, teardown),
                cmocka_unit_test_setup_teardown(test_images, setup, teardown),
                cmocka_unit_test_setup_teardown(test_content_records_and_labels, setup, teardown),
                cmocka_unit_test_setup_teardown(test_label_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_leases_and_resources, setup, teardown),
                cmocka_unit_test_setup_teardown(test_containers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_container_validation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_version_1_database_is_migrated, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
