/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `tasks` subcommands that live outside cmd-tasks.c (its table lists them): exec
 * (task-exec.c), ps and metrics (task-metrics.c), and what they share with it.
 */
#pragma once

#include "ctr/task.h"

int task_cmd_exec(struct ctr *c, int argc, char **argv, struct errmsg *err);
int task_cmd_ps(struct ctr *c, int argc, char **argv, struct errmsg *err);
int task_cmd_metrics(struct ctr *c, int argc, char **argv, struct errmsg *err);

/* client.LoadContainer then container.Task: the container must exist, then its task. */
int task_load(struct ctr *c, const char *id, Containerd__Services__Tasks__V1__GetResponse **ret,
              struct errmsg *err);
