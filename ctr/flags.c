/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Command dispatch and flag parsing with the rules of ctr's CLI library (urfave/cli v1 over
 * Go's flag package): one or two dashes, "name=value" or "name value", booleans without a
 * value (or "=true"/"=false"), parsing stops at the first operand or after "--".
 */
#include <stdlib.h>

#include "ctr/ctr.h"
#include "lib/strv.h"

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

int ctr_flags_parse(const struct ctr_flag *flags, int argc, char **argv, int *ret_index,
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
