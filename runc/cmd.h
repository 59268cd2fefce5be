/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the cmd-*.c files share: their entry points (listed in main.c's commands[]) and
 * option-parsing helpers that behave like runc's urfave/cli (flags stop at the first
 * argument; "-flag" means "--flag").
 */
#pragma once

#include <getopt.h>

#include "lib/errmsg.h"
#include "runc/runc.h"

#define DECLARE_COMMAND(verb) int cmd_##verb(const struct runc_global *g, int argc, char **argv)

DECLARE_COMMAND(create);
DECLARE_COMMAND(start);
DECLARE_COMMAND(run);
DECLARE_COMMAND(state);
DECLARE_COMMAND(list);
DECLARE_COMMAND(kill);
DECLARE_COMMAND(delete);
DECLARE_COMMAND(exec);
DECLARE_COMMAND(ps);
DECLARE_COMMAND(pause);
DECLARE_COMMAND(resume);
DECLARE_COMMAND(update);
DECLARE_COMMAND(spec);
DECLARE_COMMAND(features);

/*
 * Rewrites argv in place so that Go-style "-name" and "-name=value" become "--name…" when
 * name is one of opts' long names, then resets getopt. Stops at "--" or the first argument.
 */
void cmd_normalize_args(int argc, char **argv, const struct option *opts);
/* Logs err (or strerror) and returns the exit status 1. */
int cmd_fail(const struct errmsg *err, int r);
/* Checks that exactly n positional arguments remain: logs usage and returns false if not. */
bool cmd_want_args(const char *cmd, int argc, int optind_, int n, const char *usage);
/* Parses a --preserve-fds style unsigned value; logs and returns -EINVAL on garbage. */
int cmd_parse_uint(const char *flag, const char *s, unsigned *ret);
