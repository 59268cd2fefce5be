/* SPDX-License-Identifier: Apache-2.0 */
/* berth-store's commands on snapshots: snapshots (list), mounts and prepare. */
#include <getopt.h>

#include "tests/store-tool/store-tool.h"

/* Options --snapshotter S and positional arguments, between min and max of them. */
static int parse(struct tool *t, int argc, char **argv, int min, int max, const char *usage,
                 struct snapshotter **ret, struct errmsg *err)
{
        static const struct option opts[] = {
                {"snapshotter", required_argument, NULL, 's'},
                {0},
        };
        const char *name = "overlayfs";
        int c;

        while ((c = tool_getopt(argc, argv, opts)) != -1) {
                if (c != 's')
                        return errmsg_set(err, -EINVAL, "usage: %s", usage);
                name = optarg;
        }
        if (argc - optind < min || argc - optind > max)
                return errmsg_set(err, -EINVAL, "usage: %s", usage);
        *ret = store_snapshotter(t->st, name, err);
        return *ret ? 0 : -EINVAL;
}

int cmd_snapshots(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        struct snapshot_info *v = NULL;
        struct snapshotter *sn = NULL;
        size_t n = 0;
        int r = parse(t, argc, argv, 0, 0, "snapshots [--snapshotter S]", &sn, err);

        if (r >= 0)
                r = snapshot_list(sn, t->ns, &v, &n, err);
        if (r < 0)
                return r;
        printf("KEY\tPARENT\tKIND\n");
        for (size_t i = 0; i < n; i++)
                printf("%s\t%s\t%s\n", v[i].key, v[i].parent ? v[i].parent : "",
                       snapshot_kind_to_string(v[i].kind));
        snapshot_infos_free(v, n);
        return 0;
}

static void print_options(char *const *options, const char *sep)
{
        for (size_t i = 0; options && options[i]; i++)
                printf("%s%s", i ? "," : sep, options[i]);
}

/* With a target, as ctr snapshots mounts prints them: shell commands that mount it there. */
static void print_mounts(const struct mount_spec *v, size_t n, const char *target)
{
        for (size_t i = 0; i < n; i++) {
                if (target) {
                        printf("mount -t %s %s %s", v[i].type, v[i].source, target);
                        print_options(v[i].options, " -o ");
                } else {
                        printf("%s\t%s\t", v[i].type, v[i].source);
                        print_options(v[i].options, "");
                }
                printf("\n");
        }
}

int cmd_mounts(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        struct mount_spec *v = NULL;
        struct snapshotter *sn = NULL;
        size_t n = 0;
        int r = parse(t, argc, argv, 1, 2, "mounts KEY [TARGET] [--snapshotter S]", &sn, err);

        if (r >= 0)
                r = snapshot_mounts(sn, t->ns, argv[optind], &v, &n, err);
        if (r < 0)
                return r;
        print_mounts(v, n, optind + 1 < argc ? argv[optind + 1] : NULL);
        mount_specs_free(v, n);
        return 0;
}

int cmd_prepare(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        struct mount_spec *v = NULL;
        struct snapshotter *sn = NULL;
        size_t n = 0;
        int r = parse(t, argc, argv, 1, 2, "prepare KEY [PARENT] [--snapshotter S]", &sn, err);

        if (r >= 0)
                r = snapshot_prepare(sn, t->ns, argv[optind],
                                     optind + 1 < argc ? argv[optind + 1] : NULL, NULL, &v, &n,
                                     err);
        mount_specs_free(v, n);
        return r;
}
