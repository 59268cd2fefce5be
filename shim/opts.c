/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shim's command line. containerd builds it for Go's flag package (runtime/v2/shim in
 * containerd 1.6): single-dash long names, "=value" or a separate value, booleans without
 * one, and the action as the first argument after the flags.
 */
#include <signal.h>

#include "lib/log.h"
#include "shim/shim.h"

enum opt_kind { OPT_STRING, OPT_BOOL };

struct opt_def {
        const char *name;
        enum opt_kind kind;
        size_t offset; /* of the const char * or bool in struct shim_opts */
};

static const struct opt_def opt_defs[] = {
        {"namespace", OPT_STRING, offsetof(struct shim_opts, namespace)},
        {"id", OPT_STRING, offsetof(struct shim_opts, id)},
        {"address", OPT_STRING, offsetof(struct shim_opts, address)},
        {"publish-binary", OPT_STRING, offsetof(struct shim_opts, publish_binary)},
        {"bundle", OPT_STRING, offsetof(struct shim_opts, bundle)},
        {"socket", OPT_STRING, offsetof(struct shim_opts, socket)},
        {"debug", OPT_BOOL, offsetof(struct shim_opts, debug)},
        {"v", OPT_BOOL, offsetof(struct shim_opts, version)},
};

static const struct opt_def *opt_def_find(const char *name, size_t len)
{
        for (size_t i = 0; i < ELEMENTSOF(opt_defs); i++)
                if (strlen(opt_defs[i].name) == len && strncmp(opt_defs[i].name, name, len) == 0)
                        return &opt_defs[i];
        return NULL;
}

/* Go's strconv.ParseBool. */
static int parse_go_bool(const char *s, bool *ret)
{
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (STREQ(s, yes[i])) {
                        *ret = true;
                        return 0;
                }
                if (STREQ(s, no[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Parses argv[*i] (a flag); may consume argv[*i + 1] as its value. */
static int parse_one(int argc, char **argv, int *i, struct shim_opts *o, struct errmsg *err)
{
        const char *a = argv[*i] + (argv[*i][1] == '-' ? 2 : 1);
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t) (eq - a) : strlen(a);
        const struct opt_def *d = opt_def_find(a, len);

        if (len == 0 || a[0] == '-' || a[0] == '=')
                return errmsg_set(err, -EINVAL, "bad flag syntax: %s", argv[*i]);
        if (!d)
                return errmsg_set(err, -EINVAL, "flag provided but not defined: -%.*s", (int) len,
                                  a);
        if (d->kind == OPT_BOOL) {
                bool *b = (bool *) ((char *) o + d->offset);

                if (!eq) {
                        *b = true;
                        return 0;
                }
                if (parse_go_bool(eq + 1, b) < 0)
                        return errmsg_set(err, -EINVAL,
                                          "invalid boolean value \"%s\" for -%s: parse error",
                                          eq + 1, d->name);
                return 0;
        }
        if (eq) {
                *(const char **) ((char *) o + d->offset) = eq + 1;
                return 0;
        }
        if (*i + 1 >= argc)
                return errmsg_set(err, -EINVAL, "flag needs an argument: -%s", d->name);
        *(const char **) ((char *) o + d->offset) = argv[++*i];
        return 0;
}

int shim_opts_parse(int argc, char **argv, struct shim_opts *ret, struct errmsg *err)
{
        struct shim_opts o = {.self = argv[0], .publish_binary = "containerd"};
        int i, r;

        for (i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (a[0] != '-' || a[1] == '\0')
                        break;
                if (STREQ(a, "--")) {
                        i++;
                        break;
                }
                r = parse_one(argc, argv, &i, &o, err);
                if (r < 0)
                        return r;
        }
        if (i < argc) {
                if (!STREQ(argv[i], "start") && !STREQ(argv[i], "delete"))
                        return errmsg_set(err, -EINVAL, "unknown action \"%s\": start or delete",
                                          argv[i]);
                o.action = argv[i];
        }
        *ret = o;
        return 0;
}

int shim_main_setup(int argc, char **argv, struct shim_opts *ret)
{
        struct errmsg err = {0};
        int r;

        (void) signal(SIGPIPE, SIG_IGN);
        log_set_format(LOG_FORMAT_TEXT);
        r = shim_opts_parse(argc, argv, ret, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                return r;
        }
        log_set_level(ret->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
        return 0;
}
