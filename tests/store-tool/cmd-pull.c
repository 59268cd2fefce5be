/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-store's registry commands: pull and push (containerd/image.h over the registry
 * client), and ingests (the resumable downloads left in the content store).
 *   pull [--snapshotter S|--no-unpack] [--platform P] [REGISTRY OPTIONS] REF
 *   push [--platform P] [REGISTRY OPTIONS] NAME [REMOTE]
 *   ingests
 * Registry options: --docker-config FILE, --insecure HOST, --mirror HOST=URL,
 * --max-retries N, --max-parallel N. Progress goes to stderr, one line per change of state.
 */
#include <getopt.h>
#include <inttypes.h>

#include "containerd/image.h"
#include "lib/fs.h"
#include "lib/registry.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "tests/store-tool/store-tool.h"

#define MIRRORS_MAX 8

struct registry_args {
        struct registry_opts o;
        char **insecure;
        struct registry_mirror mirrors[MIRRORS_MAX];
};

/* Takes a registry option (c is its getopt value); 1 if it was one, 0 if not. */
static int registry_option(struct registry_args *a, int c, const char *arg, struct errmsg *err)
{
        uint64_t v;
        char *eq;

        switch (c) {
        case 'c':
                a->o.docker_config = arg;
                return 1;
        case 'k':
                (void) strv_push(&a->insecure, arg);
                a->o.insecure_hosts = a->insecure;
                return 1;
        case 'm':
                eq = strchr(arg, '=');
                if (!eq || a->o.n_mirrors == MIRRORS_MAX)
                        return errmsg_set(err, -EINVAL, "--mirror %s: HOST=URL (at most %d)", arg,
                                          MIRRORS_MAX);
                *eq = '\0';
                a->mirrors[a->o.n_mirrors++] = (struct registry_mirror){arg, eq + 1};
                a->o.mirrors = a->mirrors;
                return 1;
        case 'R':
        case 'P':
                if (parse_uint64(arg, &v) < 0 || v > 64)
                        return errmsg_set(err, -EINVAL, "%s %s: a number up to 64",
                                          c == 'R' ? "--max-retries" : "--max-parallel", arg);
                *(c == 'R' ? &a->o.max_retries : &a->o.max_parallel) = (unsigned) v;
                return 1;
        default:
                return 0;
        }
}

#define REGISTRY_OPTIONS                                       \
        {"docker-config", required_argument, NULL, 'c'},       \
                {"insecure", required_argument, NULL, 'k'},    \
                {"mirror", required_argument, NULL, 'm'},      \
                {"max-retries", required_argument, NULL, 'R'}, \
        {                                                      \
                "max-parallel", required_argument, NULL, 'P'   \
        }

static void on_progress(void *userdata, const struct pull_progress *p)
{
        (void) userdata;
        /* downloads report every chunk: only the first one and the changes of state */
        if (p->state == PULL_STATE_DOWNLOADING && p->done > 0)
                return;
        fprintf(stderr, "%s\t%s\t%" PRIu64 "/%" PRIu64 "\n", p->digest,
                pull_state_to_string(p->state), p->done, p->total);
}

int cmd_pull(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        static const struct option opts[] = {
                {"snapshotter", required_argument, NULL, 's'},
                {"no-unpack", no_argument, NULL, 'n'},
                {"platform", required_argument, NULL, 'p'},
                REGISTRY_OPTIONS,
                {0},
        };
        _cleanup_(registry_client_freep) struct registry_client *c = NULL;
        struct registry_args a = {0};
        struct oci_platform platform = {0};
        struct pull_opts o = {.snapshotter = "overlayfs", .progress = on_progress};
        struct image_record rec = {0};
        int opt, r = 0;

        while (r >= 0 && (opt = tool_getopt(argc, argv, opts)) != -1) {
                if (opt == 's')
                        o.snapshotter = optarg;
                else if (opt == 'n')
                        o.snapshotter = NULL;
                else if (opt == 'p' && (r = tool_platform(optarg, &platform, err)) >= 0)
                        o.platform = &platform;
                else if (opt != 'p' && (r = registry_option(&a, opt, optarg, err)) == 0)
                        r = errmsg_set(err, -EINVAL, "usage: pull [OPTIONS] REF");
        }
        if (r >= 0 && optind != argc - 1)
                r = errmsg_set(err, -EINVAL, "usage: pull [OPTIONS] REF");
        if (r >= 0)
                r = registry_client_new(&a.o, &c, err);
        if (r >= 0)
                r = image_pull(t->st, c, t->ns, argv[optind], &o, &rec, err);
        if (r >= 0)
                printf("%s\t%s\n", rec.name, rec.target.digest);
        image_record_release(&rec);
        oci_platform_release(&platform);
        strv_free(a.insecure);
        return r;
}

int cmd_push(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        static const struct option opts[] = {
                {"platform", required_argument, NULL, 'p'},
                REGISTRY_OPTIONS,
                {0},
        };
        _cleanup_(registry_client_freep) struct registry_client *c = NULL;
        struct registry_args a = {0};
        struct oci_platform platform = {0};
        struct push_opts o = {.progress = on_progress};
        char digest[DIGEST_STR_MAX];
        int opt, r = 0;

        while (r >= 0 && (opt = tool_getopt(argc, argv, opts)) != -1) {
                if (opt == 'p' && (r = tool_platform(optarg, &platform, err)) >= 0)
                        o.platform = &platform;
                else if (opt != 'p' && (r = registry_option(&a, opt, optarg, err)) == 0)
                        r = errmsg_set(err, -EINVAL, "usage: push [OPTIONS] NAME [REMOTE]");
        }
        if (r >= 0 && (optind >= argc || argc - optind > 2))
                r = errmsg_set(err, -EINVAL, "usage: push [OPTIONS] NAME [REMOTE]");
        if (r >= 0)
                r = registry_client_new(&a.o, &c, err);
        if (r >= 0)
                r = image_push(t->st, c, t->ns, argv[optind],
                               optind + 1 < argc ? argv[optind + 1] : NULL, &o, digest, err);
        if (r >= 0)
                printf("%s\n", digest);
        oci_platform_release(&platform);
        strv_free(a.insecure);
        return r;
}

static int print_ingest(const struct content_status *st, void *userdata)
{
        (void) userdata;
        printf("%s\t%" PRIu64 "\t%" PRIu64 "\n", st->ref, st->offset, st->total);
        return 0;
}

int cmd_ingests(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        static const struct option opts[] = {{0}};

        if (tool_getopt(argc, argv, opts) != -1 || optind != argc)
                return errmsg_set(err, -EINVAL, "usage: ingests");
        printf("REF\tOFFSET\tTOTAL\n");
        return content_store_walk_ingests(t->st->cs, print_ingest, NULL);
}
