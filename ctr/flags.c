/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Command dispatch and flag parsing with the rules of ctr's CLI library (urfave/cli v1 over
 * Go's flag package): defined flags after operands are moved before them first (except for
 * run and tasks exec, whose operands are a command line); one or two dashes, "name=value" or
 * "name value", booleans without a value (or "=true"/"=false"), parsing stops at the first
 * operand or after "--".
 */
#include <stdlib.h>

#include "ctr/ctr.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

static const struct ctr_command *command_find(const struct ctr_command *table, const char *name)
{
        for (const struct ctr_command *cmd = table; cmd->names[0]; cmd++)
                for (size_t i = 0; i < ELEMENTSOF(cmd->names) && cmd->names[i]; i++)
                        if (STREQ(cmd->names[i], name))
                                return cmd;
        return NULL;
}

int ctr_dispatch(const struct ctr_command *table, struct ctr *c, int argc, char **argv,
                 struct errmsg *err)
{
        const struct ctr_command *cmd;

        if (argc < 1)
                return errmsg_set(err, -EINVAL, "a command is required");
        cmd = command_find(table, argv[0]);
        if (!cmd)
                return errmsg_set(err, -EINVAL, "No help topic for '%s'", argv[0]);
        if (cmd->run)
                return cmd->run(c, argc, argv, err);
        if (argc < 2)
                return errmsg_set(err, -EINVAL, "%s: a subcommand is required", argv[0]);
        return ctr_dispatch(cmd->subcommands, c, argc - 1, argv + 1, err);
}

static const struct ctr_flag *flag_find(const struct ctr_flag *flags, const char *name, size_t len)
{
        for (const struct ctr_flag *f = flags; f->name; f++) {
                if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
                        return f;
                if (len == 1 && f->alias == name[0])
                        return f;
        }
        return NULL;
}

static int flag_set(const struct ctr_flag *f, const char *value, struct errmsg *err)
{
        char *end;
        long n;

        switch (f->kind) {
        case CTR_FLAG_BOOL:
                if (!value || STREQ(value, "true") || STREQ(value, "1"))
                        *(bool *) f->value = true;
                else if (STREQ(value, "false") || STREQ(value, "0"))
                        *(bool *) f->value = false;
                else
                        return errmsg_set(err, -EINVAL, "invalid boolean value \"%s\" for flag -%s",
                                          value, f->name);
                return 0;
        case CTR_FLAG_STRING:
                *(const char **) f->value = value;
                return 0;
        case CTR_FLAG_INT:
                errno = 0;
                n = strtol(value, &end, 0);
                if (errno || end == value || *end)
                        return errmsg_set(err, -EINVAL, "invalid value \"%s\" for flag -%s", value,
                                          f->name);
                *(long *) f->value = n;
                return 0;
        case CTR_FLAG_LIST:
                strv_push((char ***) f->value, value);
                return 0;
        case _CTR_FLAG_KIND_MAX:
                break;
        }
        return -EINVAL;
}

/* urfave/cli's argIsFlag: "-name", "--name" or "-name=value" of a defined flag. */
static bool arg_is_flag(const struct ctr_flag *flags, const char *a)
{
        const char *name;

        if (a[0] != '-' || STREQ(a, "-") || STREQ(a, "--"))
                return false;
        name = a + (a[1] == '-' ? 2 : 1);
        return flag_find(flags, name, strcspn(name, "=")) != NULL;
}

/*
 * urfave/cli v1.22's reorderArgs (Debian's ctr): the defined flags written after operands
 * move before them ("ctr tasks kill c1 -s 9"), each with the next argument unless that is a
 * defined flag or the flag had "=value"; at "--", it goes before the operands with everything
 * after it, so that the flags end there. In place.
 */
static void reorder_args(const struct ctr_flag *flags, int argc, char **argv)
{
        _cleanup_free_ char **moved = xnew0(char *, (size_t) argc + 1);
        _cleanup_free_ char **rest = xnew0(char *, (size_t) argc + 1);
        size_t n_moved = 0, n_rest = 0;
        bool may_be_value = false;

        for (int i = 1; i < argc; i++) {
                if (may_be_value && !arg_is_flag(flags, argv[i])) {
                        may_be_value = false;
                        moved[n_moved++] = argv[i];
                } else if (STREQ(argv[i], "--")) {
                        memmove(rest + 1, rest, n_rest * sizeof(char *));
                        rest[0] = argv[i];
                        for (n_rest++, i++; i < argc; i++)
                                rest[n_rest++] = argv[i];
                } else if (arg_is_flag(flags, argv[i])) {
                        moved[n_moved++] = argv[i];
                        may_be_value = !strchr(argv[i], '=');
                } else {
                        rest[n_rest++] = argv[i];
                }
        }
        memcpy(argv + 1, moved, n_moved * sizeof(char *));
        memcpy(argv + 1 + n_moved, rest, n_rest * sizeof(char *));
}

int ctr_flags_parse(const struct ctr_flag *flags, int argc, char **argv, int *ret_index,
                    struct errmsg *err)
{
        reorder_args(flags, argc, argv);
        return ctr_flags_parse_in_order(flags, argc, argv, ret_index, err);
}

int ctr_flags_parse_in_order(const struct ctr_flag *flags, int argc, char **argv, int *ret_index,
                             struct errmsg *err)
{
        int i = 1;

        while (i < argc) {
                const char *a = argv[i], *name, *eq, *value = NULL;
                const struct ctr_flag *f;
                size_t len;
                int r;

                if (a[0] != '-' || a[1] == '\0')
                        break;
                i++;
                if (STREQ(a, "--"))
                        break;
                name = a + (a[1] == '-' ? 2 : 1);
                eq = strchr(name, '=');
                len = eq ? (size_t) (eq - name) : strlen(name);
                f = flag_find(flags, name, len);
                if (!f)
                        return errmsg_set(err, -EINVAL, "flag provided but not defined: -%.*s",
                                          (int) len, name);
                if (eq)
                        value = eq + 1;
                else if (f->kind != CTR_FLAG_BOOL) {
                        if (i >= argc)
                                return errmsg_set(err, -EINVAL, "flag needs an argument: -%.*s",
                                                  (int) len, name);
                        value = argv[i++];
                }
                r = flag_set(f, value, err);
                if (r < 0)
                        return r;
        }
        *ret_index = i;
        return 0;
}
