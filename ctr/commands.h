/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr's command table: each top-level command lives in its own cmd-<verb>.c and
 * exports its leaf function or its table of subcommands here.
 */
#pragma once

#include "ctr/ctr.h"

int cmd_version(struct ctr *c, int argc, char **argv, struct errmsg *err);
extern const struct ctr_command cmd_namespaces[];
extern const struct ctr_command cmd_plugins[];
/* containers, tasks, run, events. run, tasks start/attach/exec return a positive value for
 * the process's non-zero exit status, which becomes berth-ctr's (nothing printed). */
extern const struct ctr_command cmd_containers[];
extern const struct ctr_command cmd_tasks[];
int cmd_run(struct ctr *c, int argc, char **argv, struct errmsg *err);
int cmd_events(struct ctr *c, int argc, char **argv, struct errmsg *err);
/* images, content, snapshots (its own --snapshotter flag before the subcommand), leases */
extern const struct ctr_command cmd_images[];
extern const struct ctr_command cmd_content[];
int cmd_snapshots(struct ctr *c, int argc, char **argv, struct errmsg *err);
extern const struct ctr_command cmd_leases[];

/* Object and labels operands as ctr's ObjectWithLabelArgs: "<name> [<key>=<value> ...]";
 * a label without '=' has an empty value. *ret_labels is a strv of key, value pairs. */
int ctr_object_with_labels(int argc, char **argv, const char **ret_name, char ***ret_labels);
