/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-store's commands on images and content: images, rm, unpack, gc, check, content and
 * ls-blobs (the blob files themselves, recorded or not).
 */
#include <getopt.h>
#include <inttypes.h>

#include "containerd/gc.h"
#include "containerd/image.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "tests/store-tool/store-tool.h"

static int no_options(int argc, char **argv, const char *usage, struct errmsg *err)
{
        static const struct option opts[] = {{0}};

        if (tool_getopt(argc, argv, opts) != -1 || optind != argc)
                return errmsg_set(err, -EINVAL, "usage: %s", usage);
        return 0;
}

/* What ctr images ls shows as SIZE: the sizes of the target and, for this host's platform,
 * the manifest, config and layers; -1 when they cannot be resolved. */
static int64_t image_size(struct tool *t, const struct descriptor *target)
{
        struct image_resolved res = {0};
        struct content_info info;
        int64_t size;

        if (image_resolve(t->st, target, NULL, &res, NULL) < 0)
                return -1;
        size = STREQ(res.manifest_digest, target->digest) ? 0 : target->size; /* an index */
        if (content_store_info(t->st->cs, res.manifest_digest, &info, NULL) >= 0)
                size += (int64_t) info.size;
        size += res.manifest->config.size;
        for (size_t i = 0; i < res.manifest->n_layers; i++)
                size += res.manifest->layers[i].size;
        image_resolved_release(&res);
        return size;
}

int cmd_images(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        struct image_record *v = NULL;
        size_t n = 0;
        int r = no_options(argc, argv, "images", err);

        if (r >= 0)
                r = image_list(t->st->md, t->ns, &v, &n, err);
        if (r < 0)
                return r;
        printf("REF\tTYPE\tDIGEST\tSIZE\n");
        for (size_t i = 0; i < n; i++) {
                int64_t size = image_size(t, &v[i].target);

                if (size < 0)
                        printf("%s\t%s\t%s\t-\n", v[i].name, v[i].target.media_type,
                               v[i].target.digest);
                else
                        printf("%s\t%s\t%s\t%" PRId64 "\n", v[i].name, v[i].target.media_type,
                               v[i].target.digest, size);
        }
        image_records_free(v, n);
        return 0;
}

int cmd_rm(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        static const struct option opts[] = {{0}};
        int r = 0;

        if (tool_getopt(argc, argv, opts) != -1 || optind >= argc)
                return errmsg_set(err, -EINVAL, "usage: rm NAME...");
        for (int i = optind; i < argc && r >= 0; i++)
                r = image_delete(t->st->md, t->ns, argv[i], err);
        return r;
}

int cmd_unpack(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        static const struct option opts[] = {
                {"snapshotter", required_argument, NULL, 's'},
                {"platform", required_argument, NULL, 'p'},
                {0},
        };
        const char *snapshotter = "overlayfs";
        struct oci_platform platform = {0};
        struct image_record img = {0};
        char chain[DIGEST_STR_MAX];
        bool has_platform = false;
        int c, r = 0;

        while (r >= 0 && (c = tool_getopt(argc, argv, opts)) != -1) {
                if (c == 's')
                        snapshotter = optarg;
                else if (c == 'p')
                        has_platform = (r = tool_platform(optarg, &platform, err)) >= 0;
                else
                        r = errmsg_set(err, -EINVAL, "unpack: unknown option");
        }
        if (r >= 0 && optind != argc - 1)
                r = errmsg_set(err, -EINVAL, "usage: unpack NAME [--snapshotter S]");
        if (r >= 0)
                r = image_get(t->st->md, t->ns, argv[optind], &img, err);
        if (r >= 0)
                r = image_unpack(t->st, t->ns, &img.target, has_platform ? &platform : NULL,
                                 snapshotter, chain, err);
        if (r >= 0)
                printf("%s\n", chain);
        image_record_release(&img);
        oci_platform_release(&platform);
        return r;
}

int cmd_gc(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        struct gc_result res;
        int r = no_options(argc, argv, "gc", err);

        if (r >= 0)
                r = metadata_gc(t->st->md, t->st->cs, t->st->snapshotters, _SNAPSHOTTER_TYPE_MAX,
                                &res, err);
        if (r < 0)
                return r;
        printf("content_records=%zu snapshots=%zu blobs=%zu blob_bytes=%" PRIu64 "\n",
               res.n_content_records, res.n_snapshots, res.n_blobs, res.blob_bytes);
        return 0;
}

int cmd_check(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        static const struct option opts[] = {
                {"hash-budget", required_argument, NULL, 'b'},
                {0},
        };
        struct store_check_result res;
        uint64_t budget = UINT64_MAX;
        int c, r;

        while ((c = tool_getopt(argc, argv, opts)) != -1)
                if (c != 'b' || parse_uint64(optarg, &budget) < 0)
                        return errmsg_set(err, -EINVAL, "usage: check [--hash-budget BYTES]");
        if (optind != argc)
                return errmsg_set(err, -EINVAL, "usage: check [--hash-budget BYTES]");
        r = store_check(t->st, budget, &res, err);
        if (r < 0)
                return r;
        printf("blobs_checked=%zu blobs_hashed=%zu blobs_damaged=%zu snapshots_damaged=%zu\n",
               res.n_blobs_checked, res.n_blobs_hashed, res.n_blobs_damaged,
               res.n_snapshots_damaged);
        return 0;
}

/* "k=v,k=v" (sorted as stored) or "-". */
static void print_labels(char *const *labels)
{
        if (!labels || !labels[0]) {
                printf("-");
                return;
        }
        for (size_t i = 0; labels[i] && labels[i + 1]; i += 2)
                printf("%s%s=%s", i ? "," : "", labels[i], labels[i + 1]);
}

int cmd_content(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        struct content_record *v = NULL;
        size_t n = 0;
        int r = no_options(argc, argv, "content", err);

        if (r >= 0)
                r = content_record_list(t->st->md, t->ns, &v, &n, err);
        if (r < 0)
                return r;
        printf("DIGEST\tSIZE\tLABELS\n");
        for (size_t i = 0; i < n; i++) {
                printf("%s\t%" PRId64 "\t", v[i].digest, v[i].size);
                print_labels(v[i].labels);
                printf("\n");
        }
        content_records_free(v, n);
        return 0;
}

struct blob_list {
        char **lines;
        size_t n, alloc;
};

static int add_blob(const struct content_info *info, void *userdata)
{
        struct blob_list *l = userdata;

        l->lines = xgrow(l->lines, &l->alloc, l->n + 1, sizeof(*l->lines));
        l->lines[l->n++] = xasprintf("%s\t%" PRIu64, info->digest, info->size);
        return 0;
}

static int compare_lines(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int cmd_ls_blobs(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        struct blob_list l = {0};
        int r = no_options(argc, argv, "ls-blobs", err);

        if (r >= 0) {
                r = content_store_walk(t->st->cs, add_blob, &l);
                if (r < 0)
                        (void) errmsg_set(err, r, "ls-blobs: %s", strerror(-r));
        }
        if (l.n > 0)
                qsort(l.lines, l.n, sizeof(*l.lines), compare_lines);
        if (r >= 0)
                printf("DIGEST\tSIZE\n");
        for (size_t i = 0; i < l.n; i++) {
                if (r >= 0)
                        printf("%s\n", l.lines[i]);
                free(l.lines[i]);
        }
        free(l.lines);
        return r;
}
