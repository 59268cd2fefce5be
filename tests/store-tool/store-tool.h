/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-store's commands (berth-store.c has the table and main). Each command gets argv
 * starting at its own name, parses its options with getopt_long, prints its results on stdout
 * and, on failure, returns a negative errno with err set; main prints err and exits 1. A
 * usage error returns -EINVAL with err saying what was wrong.
 */
#pragma once

#include "containerd/store.h"
#include "lib/image-spec.h"

struct tool {
        const char *root;
        const char *ns;
        struct store *st;
};

typedef int (*command_fn)(struct tool *t, int argc, char **argv, struct errmsg *err);

/* getopt_long over argv from its start (resets getopt's state): the option, -1 at the end. */
struct option;
int tool_getopt(int argc, char **argv, const struct option *opts);
/* Parses a "--platform" argument into *p (released by the caller). */
int tool_platform(const char *s, struct oci_platform *p, struct errmsg *err);

/* cmd-archive.c */
int cmd_import(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_export(struct tool *t, int argc, char **argv, struct errmsg *err);
/* cmd-images.c */
int cmd_images(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_rm(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_unpack(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_gc(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_check(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_content(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_ls_blobs(struct tool *t, int argc, char **argv, struct errmsg *err);
/* cmd-snapshots.c */
int cmd_snapshots(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_mounts(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_prepare(struct tool *t, int argc, char **argv, struct errmsg *err);
/* cmd-pull.c */
int cmd_pull(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_push(struct tool *t, int argc, char **argv, struct errmsg *err);
int cmd_ingests(struct tool *t, int argc, char **argv, struct errmsg *err);
