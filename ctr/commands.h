/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr's command table: each top-level command lives in its own cmd-<verb>.c and
 * exports its leaf function or its table of subcommands here.
 */
#pragma once

#include "ctr/ctr.h"

int cmd_version(struct ctr *c, int argc, char **argv, struct errmsg *err);
extern const struct ctr_command cmd_namespaces[];

/* Object and labels operands as ctr's ObjectWithLabelArgs: "<name> [<key>=<value> ...]";
 * a label without '=' has an empty value. *ret_labels is a strv of key, value pairs. */
int ctr_object_with_labels(int argc, char **argv, const char **ret_name, char ***ret_labels);
