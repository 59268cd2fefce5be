/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-runc's contract: runc's command line (man/runc*.8.md at v1.1.5). Global options
 * come before the command; each command lives in cmd-<verb>.c and is listed in commands[]
 * (main.c). A command returns the process exit status.
 */
#pragma once

#include "lib/common.h"

#define RUNC_DEFAULT_ROOT "/run/berth-runc"

struct runc_global {
        const char *root;     /* state directory root (--root) */
        const char *log;      /* --log file, NULL for stderr */
        bool log_json;        /* --log-format json */
        bool debug;           /* --debug */
        bool systemd_cgroup;  /* --systemd-cgroup */
        const char *rootless; /* --rootless true|false|auto; accepted, NULL if unset */
};

struct runc_command {
        const char *name;
        int (*run)(const struct runc_global *g, int argc, char **argv);
        const char *summary;
};
