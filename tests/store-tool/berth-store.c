/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-store: drives the storage core (containerd/store.h, image.h, image-archive.h, gc.h)
 * from the command line for the integration and interop tests
 * (tests/integration/test_store_archive.py, tests/interop/test_store_archive_interop.py), as
 * ctr drives containerd, but on a store directory without a daemon:
 *
 *   berth-store --root DIR [--namespace NS] COMMAND ARGS...
 *
 * Results go to stdout, one line per object with tab-separated columns after a header (see
 * usage()). Any failure, a command's wrong arguments included, prints "berth-store: message"
 * on stderr and exits 1; a missing --root or an unknown command exits 2. Each command is one
 * function in a cmd-*.c file, listed in commands[] below.
 */
#include <getopt.h>
#include <signal.h>

#include "tests/store-tool/store-tool.h"

#define EXIT_USAGE 2

struct command {
        const char *name;
        command_fn run;
};

static const struct command commands[] = {
        {"import", cmd_import},     {"export", cmd_export},
        {"images", cmd_images},     {"rm", cmd_rm},
        {"unpack", cmd_unpack},     {"gc", cmd_gc},
        {"check", cmd_check},       {"content", cmd_content},
        {"ls-blobs", cmd_ls_blobs}, {"snapshots", cmd_snapshots},
        {"mounts", cmd_mounts},     {"prepare", cmd_prepare},
        {"pull", cmd_pull},         {"push", cmd_push},
        {"ingests", cmd_ingests},
};

static void usage(FILE *f)
{
        fputs("usage: berth-store --root DIR [--namespace NS] COMMAND ARGS...\n"
              "  import [--snapshotter S|--no-unpack] [--base-name N] [--all-platforms]\n"
              "         [--platform P] FILE|-           prints the names recorded\n"
              "  export [--oci] [--platform P] [--all-platforms] FILE|- NAME...\n"
              "  images                                 REF TYPE DIGEST SIZE\n"
              "  rm NAME...\n"
              "  unpack NAME [--snapshotter S] [--platform P]   prints the top chain id\n"
              "  gc                                     prints what it removed\n"
              "  check [--hash-budget BYTES]            prints the counts of store_check\n"
              "  content                                DIGEST SIZE LABELS\n"
              "  ls-blobs                               DIGEST SIZE (the blob files)\n"
              "  snapshots [--snapshotter S]            KEY PARENT KIND\n"
              "  mounts KEY [TARGET] [--snapshotter S]  mount commands (with TARGET) or\n"
              "                                         TYPE SOURCE OPTIONS\n"
              "  prepare KEY [PARENT] [--snapshotter S]\n"
              "  pull [--snapshotter S|--no-unpack] [--platform P] [REGISTRY OPTIONS] REF\n"
              "  push [--platform P] [REGISTRY OPTIONS] NAME [REMOTE]\n"
              "  ingests                                REF OFFSET TOTAL\n"
              "Registry options: --docker-config FILE, --insecure HOST, --mirror HOST=URL,\n"
              "  --max-retries N, --max-parallel N.\n"
              "The snapshotter is overlayfs unless given; the namespace \"default\".\n",
              f);
}

int tool_getopt(int argc, char **argv, const struct option *opts)
{
        /* GNU getopt: optind 0 starts over; argv[0] (the command) is skipped */
        return getopt_long(argc, argv, "", opts, NULL);
}

int tool_platform(const char *s, struct oci_platform *p, struct errmsg *err)
{
        int r = oci_platform_parse(s, p, err);

        return r < 0 ? errmsg_prefix(err, r, "--platform") : 0;
}

/* The index of the command in argv, 0 for --help, -1 for a usage error. */
static int parse_global(struct tool *t, int argc, char **argv)
{
        static const struct option opts[] = {
                {"root", required_argument, NULL, 'r'},
                {"namespace", required_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        int c;

        while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
                if (c == 'r')
                        t->root = optarg;
                else if (c == 'n')
                        t->ns = optarg;
                else if (c == 'h')
                        return 0;
                else
                        return -1;
        }
        if (!t->root || optind >= argc)
                return -1;
        return optind;
}

int main(int argc, char **argv)
{
        const struct command *cmd = NULL;
        struct tool t = {.ns = "default"};
        struct errmsg err = {0};
        int first, r;

        first = parse_global(&t, argc, argv);
        if (first <= 0) {
                usage(first == 0 ? stdout : stderr);
                return first == 0 ? 0 : EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (STREQ(argv[first], commands[i].name))
                        cmd = &commands[i];
        if (!cmd) {
                usage(stderr);
                return EXIT_USAGE;
        }
        (void) signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error, not a death */
        r = store_open(t.root, &t.st, &err);
        if (r >= 0) {
                optind = 0;
                r = cmd->run(&t, argc - first, argv + first, &err);
        }
        t.st = store_free(t.st);
        if (fflush(stdout) != 0 && r >= 0)
                r = errmsg_set(&err, -EIO, "stdout: %s", strerror(errno));
        if (r < 0) {
                fprintf(stderr, "berth-store: %s\n", err.msg[0] ? err.msg : strerror(-r));
                return 1;
        }
        return 0;
}
