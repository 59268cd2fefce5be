/* SPDX-License-Identifier: Apache-2.0 */
/* berth-store import and export: image_import() and image_export() on files or stdio. */
#include <fcntl.h>
#include <getopt.h>

#include "containerd/image-archive.h"
#include "lib/strv.h"
#include "tests/store-tool/store-tool.h"

int cmd_import(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        static const struct option opts[] = {
                {"snapshotter", required_argument, NULL, 's'},
                {"no-unpack", no_argument, NULL, 'n'},
                {"base-name", required_argument, NULL, 'b'},
                {"all-platforms", no_argument, NULL, 'a'},
                {"platform", required_argument, NULL, 'p'},
                {0},
        };
        struct image_import_opts o = {.snapshotter = "overlayfs"};
        struct oci_platform platform = {0};
        _cleanup_strv_ char **names = NULL;
        _cleanup_close_ int fd = -EBADF;
        int c, r = 0;

        while (r >= 0 && (c = tool_getopt(argc, argv, opts)) != -1) {
                if (c == 's')
                        o.snapshotter = optarg;
                else if (c == 'n')
                        o.snapshotter = NULL;
                else if (c == 'b')
                        o.base_name = optarg;
                else if (c == 'a')
                        o.all_platforms = true;
                else if (c == 'p' && (r = tool_platform(optarg, &platform, err)) >= 0)
                        o.platform = &platform;
                else if (c != 'p')
                        r = errmsg_set(err, -EINVAL, "import: unknown option");
        }
        if (r >= 0 && optind != argc - 1)
                r = errmsg_set(err, -EINVAL, "import: usage: import [OPTIONS] FILE|-");
        if (r >= 0 && !STREQ(argv[optind], "-")) {
                fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = errmsg_set(err, -errno, "import: %s: %s", argv[optind],
                                       strerror(errno));
        }
        if (r >= 0)
                r = image_import(t->st, t->ns, fd >= 0 ? fd : STDIN_FILENO, &o, &names, err);
        strv_foreach (n, names)
                printf("%s\n", *n);
        oci_platform_release(&platform);
        return r;
}

static int export_to(struct tool *t, const char *path, char **names,
                     const struct image_export_opts *o, struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (STREQ(path, "-"))
                return image_export(t->st, t->ns, names, STDOUT_FILENO, o, err);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return errmsg_set(err, -errno, "export: %s: %s", path, strerror(errno));
        r = image_export(t->st, t->ns, names, fd, o, err);
        if (r >= 0 && fsync(fd) < 0)
                r = errmsg_set(err, -errno, "export: %s: %s", path, strerror(errno));
        if (r < 0)
                (void) unlink(path); /* no half archive left behind */
        return r;
}

int cmd_export(struct tool *t, int argc, char **argv, struct errmsg *err)
{
        static const struct option opts[] = {
                {"oci", no_argument, NULL, 'o'},
                {"all-platforms", no_argument, NULL, 'a'},
                {"platform", required_argument, NULL, 'p'},
                {0},
        };
        struct image_export_opts o = {.format = IMAGE_EXPORT_OCI_AND_DOCKER};
        struct oci_platform platform = {0};
        int c, r = 0;

        while (r >= 0 && (c = tool_getopt(argc, argv, opts)) != -1) {
                if (c == 'o')
                        o.format = IMAGE_EXPORT_OCI;
                else if (c == 'a')
                        o.all_platforms = true;
                else if (c == 'p' && (r = tool_platform(optarg, &platform, err)) >= 0)
                        o.platform = &platform;
                else if (c != 'p')
                        r = errmsg_set(err, -EINVAL, "export: unknown option");
        }
        if (r >= 0 && argc - optind < 2)
                r = errmsg_set(err, -EINVAL, "export: usage: export [OPTIONS] FILE|- NAME...");
        if (r >= 0)
                r = export_to(t, argv[optind], argv + optind + 1, &o, err);
        oci_platform_release(&platform);
        return r;
}
