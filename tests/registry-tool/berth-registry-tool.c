/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-registry-tool: drives lib/registry.h's client from the command line for the
 * integration tests (tests/integration/test_registry_client.py):
 *
 *   berth-registry-tool [OPTIONS] COMMAND ARGS...
 *
 * Results go to stdout as plain words (see usage()). Any failure prints "COMMAND: message" on
 * stderr and exits 1; a usage error exits 2. Blobs written by fetch and fetch-all are checked
 * against their digest once complete, as the content store would.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "lib/fs.h"
#include "lib/image-spec.h"
#include "lib/log.h"
#include "lib/registry.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define EXIT_USAGE  2
#define MIRRORS_MAX 16

struct tool {
        struct registry_opts opts;
        struct registry_mirror mirrors[MIRRORS_MAX];
        char **insecure;
        char **resolve;
        struct registry_client *client;
        struct image_ref *ref;
        /* subcommand options */
        uint64_t offset;
        uint64_t size;
        const char *mount_from;
};

struct command {
        const char *name;
        int min_args;
        int max_args; /* -1: any */
        int (*run)(struct tool *t, char **args, int n, struct errmsg *err);
};

static void usage(FILE *f)
{
        fputs("usage: berth-registry-tool [OPTIONS] COMMAND ARGS...\n"
              "options: --docker-config PATH, --insecure HOST, --mirror HOST=URL (repeatable),\n"
              "         --max-parallel N, --retries N, --chunk-size BYTES, --user-agent S,\n"
              "         --ca-file PEM, --resolve HOST:PORT:ADDR (repeatable),\n"
              "         --debug (the client's debug log on stderr: each request's URL, status)\n"
              "  manifest REF [REFERENCE]     prints the media type, the digest, then the body\n"
              "  head REF [REFERENCE]         prints the media type, the digest, the size\n"
              "  exists REF DIGEST            prints \"yes\" or \"no\"\n"
              "  fetch REF DIGEST OUT [--offset N] [--size N]   prints \"DIGEST SIZE\"\n"
              "  fetch-all REF OUTDIR DIGEST[:SIZE]...   writes OUTDIR/<hex>; prints \"DIGEST "
              "SIZE\" each\n"
              "  push-blob REF FILE [--mount-from REPO]  prints the digest\n"
              "  push-manifest REF FILE MEDIATYPE        prints the digest\n",
              f);
}

static int parse_size(const char *s, uint64_t *ret, struct errmsg *err)
{
        if (parse_uint64(s, ret) < 0)
                return errmsg_set(err, -EINVAL, "\"%s\": not a number", s);
        return 0;
}

/* sha256 of the whole file at path, into ret. */
static int file_digest(int fd, char ret[DIGEST_STR_MAX], uint64_t *ret_size)
{
        _cleanup_(digester_freep) struct digester *d = digester_new();
        char buf[65536];
        uint64_t total = 0;
        ssize_t n;

        for (off_t off = 0;; off += n) {
                n = pread(fd, buf, sizeof(buf), off);
                if (n < 0 && errno == EINTR)
                        n = 0;
                else if (n < 0)
                        return -errno;
                else if (n == 0)
                        break;
                digester_update(d, buf, (size_t) n);
                total += (uint64_t) n;
        }
        digester_final(d, ret);
        *ret_size = total;
        return 0;
}

static int verify_blob(int fd, const char *digest, const char *path, struct errmsg *err)
{
        char got[DIGEST_STR_MAX];
        uint64_t size = 0;
        int r;

        r = file_digest(fd, got, &size);
        if (r < 0)
                return errmsg_set(err, r, "read %s: %s", path, strerror(-r));
        if (!STREQ(got, digest))
                return errmsg_set(err, -EBADMSG, "%s: digest mismatch: got %s, want %s", path, got,
                                  digest);
        printf("%s %" PRIu64 "\n", digest, size);
        return 0;
}

static int sink_fd(void *userdata, const void *buf, size_t len)
{
        return write_all(*(int *) userdata, buf, len);
}

static int cmd_manifest(struct tool *t, char **args, int n, struct errmsg *err)
{
        struct registry_manifest m = {0};
        int r;

        r = registry_get_manifest(t->client, t->ref, n > 1 ? args[1] : NULL, &m, err);
        if (r < 0)
                return r;
        printf("%s\n%s\n", m.media_type, m.digest);
        fwrite(m.body, 1, m.len, stdout);
        registry_manifest_release(&m);
        return 0;
}

static int cmd_head(struct tool *t, char **args, int n, struct errmsg *err)
{
        struct registry_manifest m = {0};
        int r;

        r = registry_head_manifest(t->client, t->ref, n > 1 ? args[1] : NULL, &m, err);
        if (r < 0)
                return r;
        printf("%s\n%s\n%zu\n", m.media_type, m.digest, m.len);
        registry_manifest_release(&m);
        return 0;
}

static int cmd_exists(struct tool *t, char **args, int n, struct errmsg *err)
{
        bool exists = false;
        int r;

        (void) n;
        r = registry_blob_exists(t->client, t->ref, args[1], &exists, err);
        if (r < 0)
                return r;
        puts(exists ? "yes" : "no");
        return 0;
}

/* Opens path for a blob download that keeps its first offset bytes. */
static int open_out(int dirfd, const char *path, uint64_t offset, int *ret_fd, struct errmsg *err)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

        if (fd < 0)
                return errmsg_set(err, -errno, "open %s: %s", path, strerror(errno));
        if (ftruncate(fd, (off_t) offset) < 0 || lseek(fd, (off_t) offset, SEEK_SET) < 0)
                return errmsg_set(err, -errno, "truncate %s: %s", path, strerror(errno));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int cmd_fetch(struct tool *t, char **args, int n, struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;
        struct registry_blob_fetch f = {
                .digest = args[1], .size = t->size, .offset = t->offset, .sink = sink_fd};
        int r;

        (void) n;
        r = open_out(AT_FDCWD, args[2], t->offset, &fd, err);
        if (r < 0)
                return r;
        f.userdata = &fd;
        r = registry_fetch_blobs(t->client, t->ref, &f, 1, NULL, NULL, err);
        if (r < 0)
                return r;
        return verify_blob(fd, args[1], args[2], err);
}

/* "sha256:<hex>[:SIZE]" -> digest and size (0: unknown). */
static int split_digest_size(char *s, uint64_t *ret_size, struct errmsg *err)
{
        char *first = strchr(s, ':'), *second = first ? strchr(first + 1, ':') : NULL;

        *ret_size = 0;
        if (!second)
                return 0;
        *second = '\0';
        return parse_size(second + 1, ret_size, err);
}

static int cmd_fetch_all(struct tool *t, char **args, int n, struct errmsg *err)
{
        size_t count = (size_t) n - 2;
        _cleanup_free_ struct registry_blob_fetch *v = xnew0(struct registry_blob_fetch, count);
        _cleanup_free_ int *fds = xnew0(int, count);
        _cleanup_close_ int dfd = open(args[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = 0;

        if (dfd < 0)
                return errmsg_set(err, -errno, "open %s: %s", args[1], strerror(errno));
        for (size_t i = 0; i < count; i++)
                fds[i] = -EBADF;
        for (size_t i = 0; i < count && r >= 0; i++) {
                r = split_digest_size(args[i + 2], &v[i].size, err);
                v[i].digest = args[i + 2];
                v[i].sink = sink_fd;
                v[i].userdata = &fds[i];
                if (r >= 0)
                        r = open_out(dfd, digest_hex(v[i].digest), 0, &fds[i], err);
        }
        if (r >= 0)
                r = registry_fetch_blobs(t->client, t->ref, v, count, NULL, NULL, err);
        for (size_t i = 0; i < count && r >= 0; i++)
                r = verify_blob(fds[i], v[i].digest, digest_hex(v[i].digest), err);
        for (size_t i = 0; i < count; i++)
                fds[i] = safe_close(fds[i]);
        return r;
}

static int cmd_push_blob(struct tool *t, char **args, int n, struct errmsg *err)
{
        _cleanup_close_ int fd = open(args[1], O_RDONLY | O_CLOEXEC);
        char digest[DIGEST_STR_MAX];
        uint64_t size = 0;
        int r;

        (void) n;
        if (fd < 0)
                return errmsg_set(err, -errno, "open %s: %s", args[1], strerror(errno));
        r = file_digest(fd, digest, &size);
        if (r < 0)
                return errmsg_set(err, r, "read %s: %s", args[1], strerror(-r));
        r = registry_push_blob(t->client, t->ref, digest, size, fd, t->mount_from, err);
        if (r < 0)
                return r;
        puts(digest);
        return 0;
}

static int cmd_push_manifest(struct tool *t, char **args, int n, struct errmsg *err)
{
        _cleanup_free_ char *body = NULL;
        char digest[DIGEST_STR_MAX];
        size_t len = 0;
        int r;

        (void) n;
        r = read_file_at(AT_FDCWD, args[1], MANIFEST_MAX_BYTES, &body, &len);
        if (r < 0)
                return errmsg_set(err, r, "read %s: %s", args[1], strerror(-r));
        r = registry_push_manifest(t->client, t->ref, NULL, args[2], body, len, err);
        if (r < 0)
                return r;
        digest_bytes(body, len, digest);
        puts(digest);
        return 0;
}

static const struct command commands[] = {
        {"manifest", 1, 2, cmd_manifest},
        {"head", 1, 2, cmd_head},
        {"exists", 2, 2, cmd_exists},
        {"fetch", 3, 3, cmd_fetch},
        {"fetch-all", 3, -1, cmd_fetch_all},
        {"push-blob", 2, 2, cmd_push_blob},
        {"push-manifest", 3, 3, cmd_push_manifest},
};

/* Moves the subcommand's own --options out of args; returns the count left. */
static int take_sub_options(struct tool *t, char **args, int n, struct errmsg *err)
{
        int out = 0, r;

        for (int i = 0; i < n; i++) {
                const char *o = args[i];

                if (!STREQ(o, "--offset") && !STREQ(o, "--size") && !STREQ(o, "--mount-from")) {
                        args[out++] = args[i];
                        continue;
                }
                if (i + 1 >= n)
                        return errmsg_set(err, -EINVAL, "%s: needs a value", o);
                if (STREQ(o, "--mount-from"))
                        t->mount_from = args[++i];
                else if ((r = parse_size(args[++i], STREQ(o, "--offset") ? &t->offset : &t->size,
                                         err)) < 0)
                        return r;
        }
        return out;
}

static int add_mirror(struct tool *t, char *arg)
{
        char *eq = strchr(arg, '=');

        if (!eq || t->opts.n_mirrors == MIRRORS_MAX)
                return -EINVAL;
        *eq = '\0';
        t->mirrors[t->opts.n_mirrors++] = (struct registry_mirror){arg, eq + 1};
        return 0;
}

static int parse_global(struct tool *t, int argc, char **argv)
{
        static const struct option options[] = {
                {"docker-config", required_argument, NULL, 'c'},
                {"insecure", required_argument, NULL, 'i'},
                {"mirror", required_argument, NULL, 'm'},
                {"max-parallel", required_argument, NULL, 'p'},
                {"retries", required_argument, NULL, 'r'},
                {"chunk-size", required_argument, NULL, 's'},
                {"user-agent", required_argument, NULL, 'u'},
                {"ca-file", required_argument, NULL, 'a'},
                {"resolve", required_argument, NULL, 'R'},
                {"debug", no_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        uint64_t v;
        int c;

        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                if (c == 'c')
                        t->opts.docker_config = optarg;
                else if (c == 'i')
                        (void) strv_push(&t->insecure, optarg);
                else if (c == 'm' && add_mirror(t, optarg) >= 0)
                        continue;
                else if (c == 'u')
                        t->opts.user_agent = optarg;
                else if (c == 'a')
                        t->opts.ca_file = optarg;
                else if (c == 'R')
                        (void) strv_push(&t->resolve, optarg);
                else if (c == 'd')
                        log_set_level(LOG_LEVEL_DEBUG);
                else if ((c == 'p' || c == 'r' || c == 's') && parse_uint64(optarg, &v) >= 0 &&
                         v <= UINT32_MAX) {
                        if (c == 'p')
                                t->opts.max_parallel = (unsigned) v;
                        else if (c == 'r')
                                t->opts.max_retries = (unsigned) v;
                        else
                                t->opts.push_chunk_size = v;
                } else
                        return c == 'h' ? 0 : -EINVAL;
        }
        t->opts.insecure_hosts = t->insecure;
        t->opts.resolve = t->resolve;
        t->opts.mirrors = t->mirrors;
        return optind < argc ? optind : -EINVAL;
}

static int run(struct tool *t, const struct command *cmd, char **args, int n)
{
        struct errmsg err = {0};
        int r;

        n = take_sub_options(t, args, n, &err);
        if (n < 0) {
                fprintf(stderr, "%s: %s\n", cmd->name, err.msg);
                return EXIT_USAGE;
        }
        if (n < cmd->min_args || (cmd->max_args >= 0 && n > cmd->max_args)) {
                usage(stderr);
                return EXIT_USAGE;
        }
        r = registry_client_new(&t->opts, &t->client, &err);
        if (r >= 0)
                r = image_ref_parse(args[0], &t->ref, &err);
        if (r >= 0)
                r = cmd->run(t, args, n, &err);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", cmd->name, err.msg[0] ? err.msg : strerror(-r));
                return 1;
        }
        return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        const struct command *cmd = NULL;
        struct tool t = {0};
        int first, status = EXIT_USAGE;

        first = parse_global(&t, argc, argv);
        if (first <= 0) {
                usage(first == 0 ? stdout : stderr);
                strv_free(t.insecure);
                strv_free(t.resolve);
                return first == 0 ? 0 : EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (STREQ(argv[first], commands[i].name))
                        cmd = &commands[i];
        if (cmd)
                status = run(&t, cmd, argv + first + 1, argc - first - 1);
        else
                usage(stderr);
        registry_client_free(t.client);
        image_ref_free(t.ref);
        strv_free(t.insecure);
        strv_free(t.resolve);
        return status;
}
