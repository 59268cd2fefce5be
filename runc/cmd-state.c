/* SPDX-License-Identifier: Apache-2.0 */
/* "state" and "list" (man/runc-state.8.md, runc-list.8.md). */
#include <dirent.h>
#include <jansson.h>
#include <pwd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "runc/cmd.h"
#include "runc/container.h"

int cmd_state(const struct runc_global *g, int argc, char **argv)
{
        static const struct option opts[] = {{NULL, 0, NULL, 0}};
        _cleanup_(container_state_freep) struct container_state *st = NULL;
        _cleanup_free_ char *text = NULL;
        enum container_status status;
        struct errmsg err = {0};
        int r;

        cmd_normalize_args(argc, argv, opts);
        if (getopt_long(argc, argv, "+", opts, NULL) != -1 ||
            !cmd_want_args("state", argc, optind, 1, "<container-id>"))
                return 1;
        r = container_open(g, argv[optind], &st, &status, &err);
        if (r < 0)
                return cmd_fail(&err, r);
        text = state_to_oci_json(st, status);
        printf("%s\n", text);
        return 0;
}

struct list_row {
        struct container_state *st;
        enum container_status status;
};

static int row_compare(const void *a, const void *b)
{
        return strcmp(((const struct list_row *) a)->st->id, ((const struct list_row *) b)->st->id);
}

/* Loads every container under root, sorted by id; unreadable entries are skipped. */
static size_t load_all(int root_fd, struct list_row **ret)
{
        _cleanup_(closedirp) DIR *d = fdopendir(dup(root_fd));
        struct list_row *rows = NULL;
        size_t n = 0, alloc = 0;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                struct container_state *st;

                if (de->d_name[0] == '.' || state_load(root_fd, de->d_name, &st, NULL) < 0)
                        continue;
                rows = xgrow(rows, &alloc, n + 1, sizeof(*rows));
                rows[n].st = st;
                rows[n++].status = state_status(root_fd, st);
        }
        if (n > 0)
                qsort(rows, n, sizeof(*rows), row_compare);
        *ret = rows;
        return n;
}

static const char *owner_name(uid_t uid, char *buf, size_t size)
{
        struct passwd *pw = getpwuid(uid);

        if (pw)
                return pw->pw_name;
        (void) snprintf(buf, size, "#%u", (unsigned) uid);
        return buf;
}

static void print_json(const struct list_row *rows, size_t n)
{
        json_t *a = json_array();
        char *text;

        if (n == 0) {
                printf("null\n"); /* what runc prints (a nil Go slice) */
                json_decref(a);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *one = state_to_oci_json(rows[i].st, rows[i].status);
                json_t *o = json_loads(one, 0, NULL);
                char buf[32];

                (void) json_object_set_new(o, "owner",
                                           json_string(owner_name(rows[i].st->owner, buf, 32)));
                (void) json_array_append_new(a, o);
        }
        text = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(a);
}

static void print_table(const struct list_row *rows, size_t n)
{
        size_t w_id = 2, w_bundle = 6;

        for (size_t i = 0; i < n; i++) {
                w_id = MAX(w_id, strlen(rows[i].st->id));
                w_bundle = MAX(w_bundle, strlen(rows[i].st->bundle));
        }
        /* text/tabwriter with minwidth 12, padding 1, as runc prints it */
        w_id = MAX(w_id + 1, (size_t) 12);
        w_bundle = MAX(w_bundle + 1, (size_t) 12);
        printf("%-*s%-12s%-12s%-*s%-31s%s\n", (int) w_id, "ID", "PID", "STATUS", (int) w_bundle,
               "BUNDLE", "CREATED", "OWNER");
        for (size_t i = 0; i < n; i++) {
                char pid[16], buf[32];

                (void) snprintf(pid, sizeof(pid), "%d",
                                rows[i].status == STATUS_STOPPED ? 0 : (int) rows[i].st->pid);
                printf("%-*s%-12s%-12s%-*s%-31s%s\n", (int) w_id, rows[i].st->id, pid,
                       container_status_to_string(rows[i].status), (int) w_bundle,
                       rows[i].st->bundle, rows[i].st->created,
                       owner_name(rows[i].st->owner, buf, sizeof(buf)));
        }
}

int cmd_list(const struct runc_global *g, int argc, char **argv)
{
        static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {NULL, 0, NULL, 0}};
        _cleanup_close_ int root_fd = -EBADF;
        struct list_row *rows = NULL;
        const char *format = "table";
        bool quiet = false;
        size_t n = 0;
        int opt;

        cmd_normalize_args(argc, argv, opts);
        while ((opt = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
                if (opt == 'f')
                        format = optarg;
                else if (opt == 'q')
                        quiet = true;
                else
                        return 1;
        }
        if (!STREQ(format, "table") && !STREQ(format, "json")) {
                log_error("invalid format option \"%s\"", format);
                return 1;
        }
        if (state_root_open(g->root, false, &root_fd, NULL) >= 0)
                n = load_all(root_fd, &rows);
        if (quiet)
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", rows[i].st->id);
        else if (STREQ(format, "json"))
                print_json(rows, n);
        else
                print_table(rows, n);
        for (size_t i = 0; i < n; i++)
                container_state_free(rows[i].st);
        free(rows);
        return 0;
}
