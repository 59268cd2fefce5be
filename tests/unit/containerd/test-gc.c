/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd/gc.c: an image's graph (index -> manifest -> config + layer, config -> snapshot
 * chain), a container's snapshot and leases keep exactly what they reference; everything else
 * goes, records, blobs and snapshot directories alike.
 */
#include <fcntl.h>

#include "containerd/gc.h"
#include "containerd/metadata-internal.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

struct fixture {
        char dir[64];
        struct metadata *md;
        struct content_store *cs;
        struct snapshotter *sn;
        char index[DIGEST_STR_MAX], manifest[DIGEST_STR_MAX], config[DIGEST_STR_MAX];
        char layer[DIGEST_STR_MAX], orphan[DIGEST_STR_MAX], unrecorded[DIGEST_STR_MAX];
        char leased[DIGEST_STR_MAX];
};

/* A blob with a content record in "default" (unless is_unrecorded). */
static void blob(struct fixture *f, const char *data, char ret[DIGEST_STR_MAX], bool is_recorded)
{
        assert_int_equal(content_store_put(f->cs, data, strlen(data), ret, NULL), 0);
        if (is_recorded)
                assert_int_equal(
                        content_record_add(f->md, "default", ret, (int64_t) strlen(data), NULL), 0);
}

static void label(struct fixture *f, const char *digest, const char *key, const char *value)
{
        char *labels[] = {(char *) key, (char *) value, NULL};

        assert_int_equal(
                content_record_update_labels(f->md, "default", digest, labels, false, NULL), 0);
}

static void committed(struct fixture *f, const char *name, const char *parent)
{
        _cleanup_free_ char *key = xasprintf("%s-active", name);

        assert_int_equal(snapshot_prepare(f->sn, "default", key, parent, NULL, NULL, NULL, NULL),
                         0);
        assert_int_equal(snapshot_commit(f->sn, "default", name, key, NULL, NULL), 0);
}

static int sql_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        return db_exec(db, userdata, err);
}

static void sql(struct fixture *f, const char *statement)
{
        assert_int_equal(metadata_transaction(f->md, sql_txn, (void *) statement, NULL), 0);
}

static int setup(void **state)
{
        struct fixture *f = xnew0(struct fixture, 1);
        _cleanup_free_ char *db = NULL, *content = NULL, *snaps = NULL;
        struct image_record img = {.name = (char *) "img",
                                   .target = {.media_type = (char *) "index", .size = 5}};

        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-gc-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        db = xasprintf("%s/meta.db", f->dir);
        content = xasprintf("%s/content", f->dir);
        snaps = xasprintf("%s/overlayfs", f->dir);
        assert_int_equal(metadata_open(db, &f->md, NULL), 0);
        assert_int_equal(content_store_open(content, &f->cs, NULL), 0);
        assert_int_equal(snapshotter_open(f->md, SNAPSHOTTER_OVERLAYFS, snaps, &f->sn, NULL), 0);
        blob(f, "index", f->index, true);
        blob(f, "manifest", f->manifest, true);
        blob(f, "config", f->config, true);
        blob(f, "layer", f->layer, true);
        blob(f, "orphan", f->orphan, true);
        blob(f, "unrecorded", f->unrecorded, false);
        blob(f, "leased", f->leased, false);
        label(f, f->index, "containerd.io/gc.ref.content.m.0", f->manifest);
        label(f, f->manifest, "containerd.io/gc.ref.content.config", f->config);
        label(f, f->manifest, "containerd.io/gc.ref.content.l.0", f->layer);
        label(f, f->config, "containerd.io/gc.ref.snapshot.overlayfs", "chain2");
        committed(f, "chain1", NULL);
        committed(f, "chain2", "chain1");
        committed(f, "orphan", NULL);
        assert_int_equal(snapshot_prepare(f->sn, "default", "orphan-child", "orphan", NULL, NULL,
                                          NULL, NULL),
                         0);
        committed(f, "leased-snap", NULL);
        assert_int_equal(
                snapshot_prepare(f->sn, "default", "c1-rw", "chain2", NULL, NULL, NULL, NULL), 0);
        sql(f, "INSERT INTO containers (namespace, id, snapshotter, snapshot_key, created_at,"
               " updated_at) VALUES ('default', 'c1', 'overlayfs', 'c1-rw', 0, 0)");
        assert_int_equal(lease_create(f->md, "default", "l1", NULL, NULL), 0);
        assert_int_equal(lease_add_resource(f->md, "default", "l1", "content", f->leased, NULL), 0);
        assert_int_equal(lease_add_resource(f->md, "default", "l1", "snapshots/overlayfs",
                                            "leased-snap", NULL),
                         0);
        (void) snprintf(img.target.digest, sizeof(img.target.digest), "%s", f->index);
        assert_int_equal(image_put(f->md, "default", &img, false, NULL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        snapshotter_free(f->sn);
        content_store_free(f->cs);
        metadata_free(f->md);
        assert_int_equal(rm_rf_at(AT_FDCWD, f->dir), 0);
        free(f);
        return 0;
}

static bool has_blob(struct fixture *f, const char *digest)
{
        struct content_info info;

        return content_store_info(f->cs, digest, &info, NULL) == 0;
}

static bool has_snapshot(struct fixture *f, const char *key)
{
        struct snapshot_info info;
        bool found = snapshot_stat(f->sn, "default", key, &info, NULL) == 0;

        if (found)
                snapshot_info_release(&info);
        return found;
}

static struct gc_result gc(struct fixture *f)
{
        struct gc_result result;

        assert_int_equal(metadata_gc(f->md, f->cs, &f->sn, 1, &result, NULL), 0);
        return result;
}

static void test_collects_exactly_the_unreferenced(void **state)
{
        struct fixture *f = *state;
        struct gc_result result = gc(f);
        struct content_record rec;

        assert_int_equal(result.n_content_records, 1);
        assert_int_equal(result.n_blobs, 2);
        assert_int_equal(result.n_snapshots, 2);
        assert_false(has_blob(f, f->orphan));
        assert_false(has_blob(f, f->unrecorded));
        assert_int_equal(content_record_get(f->md, "default", f->orphan, &rec, NULL), -ENOENT);
        assert_false(has_snapshot(f, "orphan"));
        assert_false(has_snapshot(f, "orphan-child"));
        assert_true(has_blob(f, f->index) && has_blob(f, f->manifest) && has_blob(f, f->config) &&
                    has_blob(f, f->layer) && has_blob(f, f->leased));
        assert_true(has_snapshot(f, "chain1") && has_snapshot(f, "chain2") &&
                    has_snapshot(f, "c1-rw") && has_snapshot(f, "leased-snap"));
        /* nothing more to collect */
        result = gc(f);
        assert_int_equal(result.n_blobs + result.n_snapshots + result.n_content_records, 0);
}

static void test_removing_the_roots_frees_the_rest(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *snaps = xasprintf("%s/overlayfs/snapshots", f->dir);
        struct gc_result result;

        assert_int_equal(image_delete(f->md, "default", "img", NULL), 0);
        result = gc(f);
        assert_false(has_blob(f, f->index) || has_blob(f, f->manifest) || has_blob(f, f->config) ||
                     has_blob(f, f->layer));
        assert_true(has_snapshot(f, "chain2")); /* still below the container's snapshot */
        assert_int_equal(result.n_snapshots, 2);
        sql(f, "DELETE FROM containers WHERE id = 'c1'");
        result = gc(f);
        assert_int_equal(result.n_snapshots, 3);
        assert_true(has_snapshot(f, "leased-snap") && has_blob(f, f->leased));
        assert_int_equal(lease_delete(f->md, "default", "l1", NULL), 0);
        result = gc(f);
        assert_int_equal(result.n_snapshots, 1);
        assert_int_equal(result.n_blobs, 1);
        /* no snapshot directory is left behind */
        assert_int_equal(rmdir(snaps), 0);
}

static void test_expired_leases_hold_nothing(void **state)
{
        struct fixture *f = *state;
        char *expired[] = {"containerd.io/gc.expire", "2001-01-01T00:00:00Z", NULL};

        assert_int_equal(lease_create(f->md, "default", "old", expired, NULL), 0);
        assert_int_equal(lease_add_resource(f->md, "default", "old", "content", f->orphan, NULL),
                         0);
        (void) gc(f);
        assert_false(has_blob(f, f->orphan));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_collects_exactly_the_unreferenced, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_removing_the_roots_frees_the_rest, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_expired_leases_hold_nothing, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
