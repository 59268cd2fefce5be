/* SPDX-License-Identifier: Apache-2.0 */
/* containerd/content.c: blobs, resumable ingests, verification and locking on a real disk. */
#include <fcntl.h>
#include <sys/stat.h>

#include "containerd/content.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

/* sha256("hello world") */
#define HELLO_DIGEST "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"

struct fixture {
        char root[64];
        struct content_store *cs;
};

static int setup(void **state)
{
        struct fixture *f = xnew0(struct fixture, 1);

        (void) snprintf(f->root, sizeof(f->root), "/tmp/berth-test-content-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        assert_int_equal(content_store_open(f->root, &f->cs, NULL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        content_store_free(f->cs);
        assert_int_equal(rm_rf_at(AT_FDCWD, f->root), 0);
        free(f);
        return 0;
}

static int count_blob(const struct content_info *info, void *userdata)
{
        (void) info;
        (*(int *) userdata)++;
        return 0;
}

static int count_ingest(const struct content_status *st, void *userdata)
{
        (void) st;
        (*(int *) userdata)++;
        return 0;
}

static int n_ingests(struct content_store *cs)
{
        int n = 0;

        assert_int_equal(content_store_walk_ingests(cs, count_ingest, &n), 0);
        return n;
}

static void test_put_info_read_walk_delete(void **state)
{
        struct fixture *f = *state;
        char digest[DIGEST_STR_MAX], buf[32] = {0};
        _cleanup_close_ int fd = -EBADF;
        struct content_info info;
        struct stat st;
        int n = 0;

        assert_int_equal(content_store_put(f->cs, "hello world", 11, digest, NULL), 0);
        assert_string_equal(digest, HELLO_DIGEST);
        /* a second put of the same bytes is a no-op success */
        assert_int_equal(content_store_put(f->cs, "hello world", 11, NULL, NULL), 0);
        assert_int_equal(content_store_info(f->cs, HELLO_DIGEST, &info, NULL), 0);
        assert_int_equal(info.size, 11);
        assert_int_equal(content_store_open_blob(f->cs, HELLO_DIGEST, &fd, NULL), 0);
        assert_int_equal(read(fd, buf, sizeof(buf)), 11);
        assert_string_equal(buf, "hello world");
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0444);
        assert_int_equal(content_store_walk(f->cs, count_blob, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(n_ingests(f->cs), 0);
        assert_int_equal(content_store_delete(f->cs, HELLO_DIGEST, NULL), 0);
        assert_int_equal(content_store_delete(f->cs, HELLO_DIGEST, NULL), -ENOENT);
        assert_int_equal(content_store_info(f->cs, HELLO_DIGEST, &info, NULL), -ENOENT);
}

static void test_bad_digests_are_refused(void **state)
{
        struct fixture *f = *state;
        struct content_info info = {.size = 77};
        struct errmsg err = {0};
        int fd = 1234;

        assert_int_equal(content_store_info(f->cs, "sha256:abc", &info, &err), -EINVAL);
        assert_int_equal(info.size, 77);
        assert_non_null(strstr(err.msg, "sha256:abc"));
        assert_int_equal(content_store_open_blob(f->cs, "../../etc/passwd", &fd, NULL), -EINVAL);
        assert_int_equal(fd, 1234);
}

static void test_ingest_resumes_where_it_stopped(void **state)
{
        struct fixture *f = *state;
        struct content_writer *w = NULL;
        struct content_status st;
        char digest[DIGEST_STR_MAX];

        assert_int_equal(content_writer_open(f->cs, "pull-1", 11, HELLO_DIGEST, &w, NULL), 0);
        assert_int_equal(content_writer_offset(w), 0);
        assert_int_equal(content_writer_write(w, "hello ", 6, NULL), 0);
        w = content_writer_free(w); /* e.g. the daemon was killed: the ingest stays */
        assert_int_equal(content_store_status(f->cs, "pull-1", &st, NULL), 0);
        assert_string_equal(st.ref, "pull-1");
        assert_int_equal(st.offset, 6);
        assert_int_equal(st.total, 11);
        content_status_release(&st);
        assert_int_equal(n_ingests(f->cs), 1);

        assert_int_equal(content_writer_open(f->cs, "pull-1", 11, HELLO_DIGEST, &w, NULL), 0);
        assert_int_equal(content_writer_offset(w), 6);
        assert_int_equal(content_writer_write(w, "world", 5, NULL), 0);
        assert_int_equal(content_writer_commit(w, 11, NULL, digest, NULL), 0);
        assert_string_equal(digest, HELLO_DIGEST);
        assert_int_equal(n_ingests(f->cs), 0);
        assert_int_equal(content_store_status(f->cs, "pull-1", &st, NULL), -ENOENT);
}

static void test_wrong_digest_or_size_commits_nothing(void **state)
{
        struct fixture *f = *state;
        struct content_writer *w = NULL;
        struct content_info info;
        struct errmsg err = {0};
        int n = 0;

        assert_int_equal(content_writer_open(f->cs, "bad", 0, HELLO_DIGEST, &w, NULL), 0);
        assert_int_equal(content_writer_write(w, "hello there", 11, NULL), 0);
        assert_int_equal(content_writer_commit(w, 0, NULL, NULL, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "unexpected commit digest"));
        assert_int_equal(content_store_info(f->cs, HELLO_DIGEST, &info, NULL), -ENOENT);
        assert_int_equal(n_ingests(f->cs), 0); /* wrong bytes are not kept for resuming */

        assert_int_equal(content_writer_open(f->cs, "short", 0, NULL, &w, NULL), 0);
        assert_int_equal(content_writer_write(w, "hello", 5, NULL), 0);
        assert_int_equal(content_writer_commit(w, 11, NULL, NULL, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "unexpected commit size"));
        assert_int_equal(content_store_walk(f->cs, count_blob, &n), 0);
        assert_int_equal(n, 0);
}

static void test_write_past_total_is_refused(void **state)
{
        struct fixture *f = *state;
        _cleanup_(content_writer_freep) struct content_writer *w = NULL;
        struct errmsg err = {0};

        assert_int_equal(content_writer_open(f->cs, "big", 4, NULL, &w, NULL), 0);
        assert_int_equal(content_writer_write(w, "hello", 5, &err), -EFBIG);
        assert_int_equal(content_writer_offset(w), 0);
        assert_int_equal(content_writer_write(w, "hell", 4, NULL), 0);
        assert_int_equal(content_writer_truncate(w, 2, NULL), 0);
        assert_int_equal(content_writer_offset(w), 2);
        assert_int_equal(content_writer_write(w, "ll", 2, NULL), 0);
}

static void test_one_writer_per_ref_and_abort(void **state)
{
        struct fixture *f = *state;
        _cleanup_(content_writer_freep) struct content_writer *w = NULL;
        struct content_writer *w2 = NULL;
        struct errmsg err = {0};

        assert_int_equal(content_writer_open(f->cs, "busy", 0, NULL, &w, NULL), 0);
        assert_int_equal(content_writer_open(f->cs, "busy", 0, NULL, &w2, &err), -EBUSY);
        assert_null(w2);
        assert_non_null(strstr(err.msg, "locked"));
        assert_int_equal(content_store_abort(f->cs, "busy", NULL), -EBUSY);
        w = content_writer_free(w);
        assert_int_equal(content_store_abort(f->cs, "busy", NULL), 0);
        assert_int_equal(content_store_abort(f->cs, "busy", NULL), -ENOENT);
        assert_int_equal(n_ingests(f->cs), 0);
}

static void test_existing_blob_needs_no_writer(void **state)
{
        struct fixture *f = *state;
        struct content_writer *w = NULL;

        assert_int_equal(content_store_put(f->cs, "hello world", 11, NULL, NULL), 0);
        assert_int_equal(content_writer_open(f->cs, "again", 11, HELLO_DIGEST, &w, NULL), -EEXIST);
        assert_null(w);
        assert_int_equal(n_ingests(f->cs), 0);
        assert_int_equal(content_writer_open(f->cs, "", 0, NULL, &w, NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_put_info_read_walk_delete, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_digests_are_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ingest_resumes_where_it_stopped, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_wrong_digest_or_size_commits_nothing, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_write_past_total_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_one_writer_per_ref_and_abort, setup, teardown),
                cmocka_unit_test_setup_teardown(test_existing_blob_needs_no_writer, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
