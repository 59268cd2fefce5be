/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr run, as ctr 1.6's (cmd/ctr/commands/run/run.go): "[flags] Image|RootFS ID
 * [COMMAND] [ARG...]". The container is made as `containers create` makes it, then its task
 * with stdio FIFOs (or a pty with -t, nothing with --null-io, a log URI); the exit is awaited
 * before the start; without -d the stdio is relayed and signals forwarded until the exit,
 * whose status becomes berth-ctr's exit status, the task is deleted, and with --rm the
 * container and its snapshot too.
 */
#include <stdlib.h>

#include "ctr/commands.h"
#include "ctr/console.h"
#include "ctr/container.h"
#include "ctr/task.h"
#include "lib/log.h"

/* The operands: ref and id (or only id with --config) and the command. */
static int run_operands(const struct container_flags *f, int argc, char **argv, const char **ref,
                        const char **id, char ***args, struct errmsg *err)
{
        *ref = NULL;
        *args = NULL;
        if (f->config) {
                *id = argc > 0 ? argv[0] : "";
                if (argc > 1)
                        return errmsg_set(err, -EINVAL,
                                          "with spec config file, only container id should be "
                                          "provided");
        } else {
                *ref = argc > 0 ? argv[0] : "";
                *id = argc > 1 ? argv[1] : "";
                if (!**ref)
                        return errmsg_set(err, -EINVAL, "image ref must be provided");
                *args = argc > 2 ? argv + 2 : NULL;
        }
        if (!**id)
                return errmsg_set(err, -EINVAL, "container id must be provided");
        return 0;
}

int cmd_run(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        struct container_flags f;
        struct console con = {0};
        const char *ref, *id;
        char **args;
        struct errmsg e = {0};
        int r, index;

        r = container_flags_parse(&f, true, argc, argv, &index, err);
        if (r >= 0)
                r = run_operands(&f, argc - index, argv + index, &ref, &id, &args, err);
        if (r >= 0 && f.rm && f.detach)
                r = errmsg_set(err, -EINVAL,
                               "flags --detach and --rm cannot be specified together");
        /* unlike ctr (which panics after making the container), the terminal is checked first */
        if (r >= 0 && f.spec.tty)
                r = console_current(&con, err);
        if (r >= 0)
                r = container_new(c, &f, ref, id, args, err);
        if (r < 0) {
                container_flags_release(&f);
                return r;
        }
        if (f.spec.tty)
                r = console_set_raw(&con, err);
        if (r >= 0)
                r = task_run_new(c, id,
                                 &(struct task_start_opts){.io = {.null_io = f.null_io,
                                                                  .log_uri = f.log_uri,
                                                                  .fifo_dir = f.fifo_dir,
                                                                  .terminal = f.spec.tty},
                                                           .no_pivot = f.no_pivot,
                                                           .detach = f.detach,
                                                           .pid_file = f.pid_file},
                                 f.spec.tty ? &con : NULL, err);
        console_reset(&con);
        /* as ctr's deferred container.Delete, whose error nobody sees */
        if (f.rm && !f.detach && container_delete(c, id, false, &e) < 0)
                log_debug("delete container %s: %s", id, e.msg);
        container_flags_release(&f);
        return r;
}
