/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for image_import() (containerd/image-archive.c, lib/image-archive-import.c): a
 * docker-save or OCI layout tar is untrusted input. Each input is imported into a fresh store in a
 * fresh temporary directory twice, first without unpacking, then into the native snapshotter (the
 * second import finds the first one's blobs in the store), and the directory is removed. After
 * every import, success or not, the contract's invariants must hold, else this aborts so that
 * libFuzzer reports it: no ingest, lease or active snapshot is left; a failure sets err,
 * leaves ret_names untouched and records or changes no image.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "containerd/image-archive.h"
#include "containerd/store.h"
#include "lib/fs.h"
#include "lib/strv.h"

#define NS        "fuzz"
#define INPUT_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_ingest(const struct content_status *s, void *userdata)
{
        (void) s;
        (*(size_t *) userdata)++;
        return 0;
}

static size_t n_images(struct store *st)
{
        struct image_record *v = NULL;
        size_t n = 0;

        if (image_list(st->md, NS, &v, &n, NULL) < 0)
                abort();
        image_records_free(v, n);
        return n;
}

/* Aborts when an import, whatever its outcome, left an ingest, a lease or an active snapshot. */
static void check_no_debris(struct store *st)
{
        struct snapshot_info *snaps = NULL;
        struct lease_record *leases = NULL;
        size_t n_ingests = 0, n_leases = 0, n_snaps = 0;

        if (content_store_walk_ingests(st->cs, count_ingest, &n_ingests) < 0 || n_ingests > 0)
                abort();
        if (lease_list(st->md, NS, &leases, &n_leases, NULL) < 0 || n_leases > 0)
                abort();
        lease_records_free(leases, n_leases);
        if (snapshot_list(st->snapshotters[SNAPSHOTTER_NATIVE], NS, &snaps, &n_snaps, NULL) < 0)
                abort();
        for (size_t i = 0; i < n_snaps; i++)
                if (snaps[i].kind != SNAPSHOT_KIND_COMMITTED)
                        abort();
        snapshot_infos_free(snaps, n_snaps);
}

static void import_once(struct store *st, int fd, const char *snapshotter)
{
        struct image_import_opts o = {.snapshotter = snapshotter, .base_name = "fuzz.example/x"};
        char **names = (char **) 0x1;
        struct errmsg err = {0};
        size_t before = n_images(st);
        int r;

        if (lseek(fd, 0, SEEK_SET) != 0)
                abort();
        r = image_import(st, NS, fd, &o, &names, &err);
        check_no_debris(st);
        if (r >= 0) {
                if (!names || names == (char **) 0x1 || !names[0])
                        abort();
                strv_free(names);
                return;
        }
        if (names != (char **) 0x1 || err.code != r || !err.msg[0] || n_images(st) != before)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char path[] = "/tmp/berth-fuzz-import-XXXXXX";
        _cleanup_close_ int fd = -EBADF;
        struct store *st = NULL;

        if (size > INPUT_MAX)
                return 0;
        fd = memfd_create("fuzz-image-import", MFD_CLOEXEC);
        if (fd < 0 || write_all(fd, data, size) < 0)
                abort();
        if (!mkdtemp(path) || store_open(path, &st, NULL) < 0 ||
            !st->snapshotters[SNAPSHOTTER_NATIVE])
                abort();
        import_once(st, fd, NULL);
        import_once(st, fd, "native");
        store_free(st);
        if (rm_rf_at(AT_FDCWD, path) < 0)
                abort();
        return 0;
}
