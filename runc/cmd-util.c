/* SPDX-License-Identifier: Apache-2.0 */
/* Option-parsing helpers shared by the commands (see cmd.h). */
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "runc/cmd.h"

static bool is_long_name(const struct option *opts, const char *name, size_t len)
{
        for (const struct option *o = opts; o->name; o++)
                if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                        return true;
        return false;
}

void cmd_normalize_args(int argc, char **argv, const struct option *opts)
{
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                size_t len;

                if (STREQ(a, "--") || a[0] != '-')
                        break;
                if (a[1] == '-' || a[1] == '\0' || a[2] == '\0')
                        continue;
                len = strcspn(a + 1, "=");
                if (is_long_name(opts, a + 1, len))
                        argv[i] = xasprintf("-%s", a); /* lives until exit */
        }
        optind = 0;
}

int cmd_fail(const struct errmsg *err, int r)
{
        log_error("%s", err && err->msg[0] ? err->msg : strerror(-r));
        return 1;
}

bool cmd_want_args(const char *cmd, int argc, int optind_, int n, const char *usage)
{
        if (argc - optind_ == n)
                return true;
        log_error("%s: \"%s\" requires exactly %d argument(s): usage: berth-runc %s %s", cmd, cmd,
                  n, cmd, usage);
        return false;
}

int cmd_parse_uint(const char *flag, const char *s, unsigned *ret)
{
        uint64_t v;

        if (parse_uint64(s, &v) < 0 || v > 1u << 20) {
                log_error("invalid value \"%s\" for flag --%s", s, flag);
                return -EINVAL;
        }
        *ret = (unsigned) v;
        return 0;
}
