/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr snapshots: ls, usage, rm, info, tree, prepare, view, mounts, commit and label, as
 * ctr's (cmd/ctr/commands/snapshots). The snapshotter is the command's own flag, before the
 * subcommand ("ctr snapshots --snapshotter native ls"), or $CONTAINERD_SNAPSHOTTER, else the
 * namespace's default, else overlayfs.
 */
#include <jansson.h>
#include <stdlib.h>
#include <time.h>

#include "containerd/services/snapshots/v1/snapshots.pb-c.h"
#include "ctr/commands.h"
#include "ctr/image.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define SNAPSHOTS_SERVICE "/containerd.services.snapshots.v1.Snapshots/"
#define LABEL_GC_ROOT     "containerd.io/gc.root"

typedef Containerd__Services__Snapshots__V1__Info info_msg;
typedef Containerd__Types__Mount mount_msg;

struct snapshots_command {
        const char *names[5];
        int (*run)(struct ctr *c, const char *snapshotter, int argc, char **argv,
                   struct errmsg *err);
};

static const char *kind_string(int kind)
{
        switch (kind) {
        case CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__VIEW:
                return "View";
        case CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__ACTIVE:
                return "Active";
        case CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__COMMITTED:
                return "Committed";
        default:
                return "Unknown";
        }
}

/* ctr prints the subcommand's help for a wrong number of operands and exits 0. */
static int show_usage(const char *name, const char *usage)
{
        printf("NAME:\n   ctr snapshots %s\n\nUSAGE:\n   ctr snapshots %s\n", name, usage);
        return 0;
}

/* Every snapshot (Snapshots.List, a server stream): fn for each, in order. */
static int walk(struct ctr *c, const char *snapshotter,
                int (*fn)(struct ctr *c, const char *snapshotter, const info_msg *info,
                          void *userdata, struct errmsg *err),
                void *userdata, struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__ListSnapshotsRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__LIST_SNAPSHOTS_REQUEST__INIT;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        int r;

        req.snapshotter = (char *) snapshotter;
        r = ctr_stream_open(c, SNAPSHOTS_SERVICE "List", &st, err);
        if (r >= 0)
                r = ctr_stream_send(st, &req.base, err);
        if (r >= 0)
                r = grpc_client_stream_close_send(st, err);
        while (r >= 0) {
                _cleanup_pb_ Containerd__Services__Snapshots__V1__ListSnapshotsResponse *resp =
                        NULL;

                r = ctr_stream_recv(
                        st,
                        &containerd__services__snapshots__v1__list_snapshots_response__descriptor,
                        &resp, err);
                if (r <= 0)
                        break;
                for (size_t i = 0; r >= 0 && i < resp->n_info; i++)
                        r = fn(c, snapshotter, resp->info[i], userdata, err);
        }
        return r < 0 ? r : 0;
}

/* --- ls, usage, tree ------------------------------------------------------------------ */

static int list_one(struct ctr *c, const char *snapshotter, const info_msg *info, void *userdata,
                    struct errmsg *err)
{
        (void) c, (void) snapshotter, (void) err;
        table_printf(userdata, "%s\t%s\t%s\t\n", info->name, info->parent ? info->parent : "",
                     kind_string(info->kind));
        return 0;
}

static int snapshots_list(struct ctr *c, const char *snapshotter, int argc, char **argv,
                          struct errmsg *err)
{
        struct table *t;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        t = table_new(stdout, 1, 1);
        table_printf(t, "KEY\tPARENT\tKIND\t\n");
        r = walk(c, snapshotter, list_one, t, err);
        table_flush(t);
        return r;
}

struct usage_ctx {
        struct table *t;
        bool bytes;
};

static int usage_of(struct ctr *c, const char *snapshotter, const char *key, struct usage_ctx *u,
                    struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__UsageRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__USAGE_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Snapshots__V1__UsageResponse *resp = NULL;
        char size[32];
        int r;

        req.snapshotter = (char *) snapshotter;
        req.key = (char *) key;
        r = ctr_call(c, SNAPSHOTS_SERVICE "Usage", &req.base,
                     &containerd__services__snapshots__v1__usage_response__descriptor, &resp, err);
        if (r < 0)
                return r;
        if (u->bytes)
                (void) snprintf(size, sizeof(size), "%lld", (long long) resp->size);
        else
                human_bytes(resp->size, size, sizeof(size));
        table_printf(u->t, "%s\t%s\t%lld\t\n", key, size, (long long) resp->inodes);
        return 0;
}

static int usage_one(struct ctr *c, const char *snapshotter, const info_msg *info, void *userdata,
                     struct errmsg *err)
{
        return usage_of(c, snapshotter, info->name, userdata, err);
}

static int snapshots_usage(struct ctr *c, const char *snapshotter, int argc, char **argv,
                           struct errmsg *err)
{
        struct usage_ctx u = {0};
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{"b", 0, CTR_FLAG_BOOL, &u.bytes}, {NULL}},
                            argc, argv, &index, err);
        if (r < 0)
                return r;
        u.t = table_new(stdout, 1, 1);
        table_printf(u.t, "KEY\tSIZE\tINODES\t\n");
        if (index == argc)
                r = walk(c, snapshotter, usage_one, &u, err);
        for (int i = index; r >= 0 && i < argc; i++)
                r = usage_of(c, snapshotter, argv[i], &u, err);
        table_flush(u.t);
        return r < 0 ? r : 0;
}

struct tree_node {
        char *name;
        char *parent;
        char **children;
};

struct tree {
        struct tree_node *v;
        size_t n, alloc;
};

static struct tree_node *tree_get(struct tree *t, const char *name)
{
        for (size_t i = 0; i < t->n; i++)
                if (STREQ(t->v[i].name, name))
                        return &t->v[i];
        return NULL;
}

/* snapshotTree.add: an entry per snapshot, placeholders for parents not seen yet. */
static struct tree_node *tree_add(struct tree *t, const char *name, const char *parent)
{
        struct tree_node *n = tree_get(t, name);

        if (!n) {
                t->v = xgrow(t->v, &t->alloc, t->n + 1, sizeof(*t->v));
                n = &t->v[t->n++];
                *n = (struct tree_node){.name = xstrdup(name)};
        }
        if (parent && *parent) {
                struct tree_node *p;
                size_t i = (size_t) (n - t->v);

                free(n->parent);
                n->parent = xstrdup(parent);
                p = tree_get(t, parent);
                if (!p)
                        p = tree_add(t, parent, NULL);
                strv_push(&p->children, name);
                n = &t->v[i]; /* the array may have moved */
        }
        return n;
}

static int tree_one(struct ctr *c, const char *snapshotter, const info_msg *info, void *userdata,
                    struct errmsg *err)
{
        (void) c, (void) snapshotter, (void) err;
        tree_add(userdata, info->name, info->parent);
        return 0;
}

static void tree_print(const struct tree *t, const char *name, int level)
{
        struct tree_node *n = tree_get((struct tree *) t, name);

        for (int i = 0; i < level; i++)
                fputs("  ", stdout);
        printf("%s %s\n", level > 0 ? "\\_" : "", name);
        strv_foreach (child, n->children)
                tree_print(t, *child, level + 1);
}

static int snapshots_tree(struct ctr *c, const char *snapshotter, int argc, char **argv,
                          struct errmsg *err)
{
        struct tree t = {0};
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r >= 0)
                r = walk(c, snapshotter, tree_one, &t, err);
        for (size_t i = 0; r >= 0 && i < t.n; i++)
                if (!t.v[i].parent)
                        tree_print(&t, t.v[i].name, 0);
        for (size_t i = 0; i < t.n; i++) {
                free(t.v[i].name);
                free(t.v[i].parent);
                strv_free(t.v[i].children);
        }
        free(t.v);
        return r;
}

/* --- rm, info, label ------------------------------------------------------------------ */

static int snapshots_remove(struct ctr *c, const char *snapshotter, int argc, char **argv,
                            struct errmsg *err)
{
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        for (int i = index; i < argc; i++) {
                Containerd__Services__Snapshots__V1__RemoveSnapshotRequest req =
                        CONTAINERD__SERVICES__SNAPSHOTS__V1__REMOVE_SNAPSHOT_REQUEST__INIT;
                _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;

                req.snapshotter = (char *) snapshotter;
                req.key = argv[i];
                r = ctr_call(c, SNAPSHOTS_SERVICE "Remove", &req.base,
                             &google__protobuf__empty__descriptor, &resp, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "failed to remove \"%s\"", argv[i]);
        }
        return 0;
}

/* Go's time.Time JSON: RFC 3339 with nanoseconds, trailing zeros dropped, in UTC. */
static json_t *time_json(const Google__Protobuf__Timestamp *ts)
{
        char buf[64], frac[16] = "";
        time_t t = ts ? (time_t) ts->seconds : 0;
        int32_t nanos = ts ? ts->nanos : 0;
        struct tm tm;
        size_t len;

        (void) gmtime_r(&t, &tm);
        len = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        if (nanos > 0) {
                int n = snprintf(frac, sizeof(frac), ".%09d", nanos);

                while (n > 1 && frac[n - 1] == '0')
                        frac[--n] = '\0';
        }
        (void) snprintf(buf + len, sizeof(buf) - len, "%sZ", frac);
        return json_string(buf);
}

static int compare_pairs(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Sorts a strv of key, value pairs by key. */
static void sort_pairs(char **kv)
{
        size_t n = strv_length(kv) / 2;
        char *(*pairs)[2] = (char *(*) [2]) kv;

        qsort(pairs, n, sizeof(*pairs), compare_pairs);
}

static void print_json(json_t *v)
{
        _cleanup_free_ char *text = json_dumps(v, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

        if (!text)
                abort(); /* jansson fails only on OOM here */
        printf("%s\n", text);
        json_decref(v);
}

/* commands.PrintAsJSON(snapshots.Info): Kind, Name, Parent, Labels, Created, Updated. */
static void print_info(const info_msg *info)
{
        json_t *o = json_object();

        (void) json_object_set_new(o, "Kind", json_string(kind_string(info->kind)));
        (void) json_object_set_new(o, "Name", json_string(info->name ? info->name : ""));
        if (info->parent && *info->parent)
                (void) json_object_set_new(o, "Parent", json_string(info->parent));
        if (info->n_labels) {
                _cleanup_strv_ char **labels =
                        ctr_map_labels((void *const *) info->labels, info->n_labels);
                json_t *l = json_object();

                /* Go marshals a map sorted by key */
                sort_pairs(labels);
                for (size_t i = 0; labels[i]; i += 2)
                        (void) json_object_set_new(l, labels[i], json_string(labels[i + 1]));
                (void) json_object_set_new(o, "Labels", l);
        }
        (void) json_object_set_new(o, "Created", time_json(info->created_at));
        (void) json_object_set_new(o, "Updated", time_json(info->updated_at));
        print_json(o);
}

static int snapshots_info(struct ctr *c, const char *snapshotter, int argc, char **argv,
                          struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__StatSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__STAT_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Snapshots__V1__StatSnapshotResponse *resp = NULL;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        if (argc - index != 1)
                return show_usage("info - get info about a snapshot", "info <key>");
        req.snapshotter = (char *) snapshotter;
        req.key = argv[index];
        r = ctr_call(c, SNAPSHOTS_SERVICE "Stat", &req.base,
                     &containerd__services__snapshots__v1__stat_snapshot_response__descriptor,
                     &resp, err);
        if (r < 0)
                return r;
        if (resp->info)
                print_info(resp->info);
        return 0;
}

static int snapshots_label(struct ctr *c, const char *snapshotter, int argc, char **argv,
                           struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__UpdateSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__UPDATE_SNAPSHOT_REQUEST__INIT;
        info_msg info = CONTAINERD__SERVICES__SNAPSHOTS__V1__INFO__INIT;
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        _cleanup_pb_ Containerd__Services__Snapshots__V1__UpdateSnapshotResponse *resp = NULL;
        _cleanup_strv_ char **labels = NULL, **paths = NULL, **set = NULL;
        _cleanup_free_ char *out = NULL;
        const char *key;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        ctr_object_with_labels(argc - index, argv + index, &key, &labels);
        for (size_t i = 0; labels && labels[i]; i += 2) {
                _cleanup_free_ char *path = xasprintf("labels.%s", labels[i]);

                strv_push(&paths, path);
                if (labels[i + 1][0]) {
                        strv_push(&set, labels[i]);
                        strv_push(&set, labels[i + 1]);
                }
        }
        info.name = (char *) key;
        info.labels = (Containerd__Services__Snapshots__V1__Info__LabelsEntry **) ctr_map_new(
                &containerd__services__snapshots__v1__info__labels_entry__descriptor, set,
                &info.n_labels);
        mask.paths = paths;
        mask.n_paths = strv_length(paths);
        req.snapshotter = (char *) snapshotter;
        req.info = &info;
        req.update_mask = &mask;
        r = ctr_call(c, SNAPSHOTS_SERVICE "Update", &req.base,
                     &containerd__services__snapshots__v1__update_snapshot_response__descriptor,
                     &resp, err);
        ctr_map_free((void **) info.labels, info.n_labels);
        if (r < 0)
                return r;
        out = resp->info && resp->info->n_labels
                      ? labels_string((void *const *) resp->info->labels, resp->info->n_labels)
                      : xstrdup("");
        printf("%s\n", out);
        return 0;
}

/* --- prepare, view, mounts, commit ---------------------------------------------------- */

static void print_mounts(const char *target, mount_msg **mounts, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                printf("mount -t %s %s %s -o ", mounts[i]->type, mounts[i]->source, target);
                for (size_t j = 0; j < mounts[i]->n_options; j++)
                        printf("%s%s", j ? "," : "", mounts[i]->options[j]);
                printf("\n");
        }
}

static void print_mounts_json(mount_msg **mounts, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; i < n; i++) {
                json_t *options = json_array();

                for (size_t j = 0; j < mounts[i]->n_options; j++)
                        (void) json_array_append_new(options, json_string(mounts[i]->options[j]));
                (void) json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "Type",
                                                          mounts[i]->type, "Source",
                                                          mounts[i]->source, "Options", options));
        }
        print_json(a);
}

/* The gc.root label ctr puts on what it prepares and commits: now, UTC, RFC 3339. */
static char **gc_root_labels(void)
{
        char now[64];
        time_t t = time(NULL);
        struct tm tm;
        char **labels = NULL;

        (void) gmtime_r(&t, &tm);
        (void) strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
        strv_push(&labels, LABEL_GC_ROOT);
        strv_push(&labels, now);
        return labels;
}

/* Prepare (is_view false) or View of key on parent, with the mounts printed as asked. */
static int make_snapshot(struct ctr *c, const char *snapshotter, int argc, char **argv,
                         bool is_view, struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__PrepareSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Snapshots__V1__PrepareSnapshotResponse *resp = NULL;
        _cleanup_strv_ char **labels = is_view ? NULL : gc_root_labels();
        const char *target = NULL;
        bool mounts = false;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{"target", 't', CTR_FLAG_STRING, &target},
                                                      {"mounts", 0, CTR_FLAG_BOOL, &mounts},
                                                      {NULL}},
                            argc, argv, &index, err);
        if (r < 0)
                return r;
        if (argc - index < 1 || argc - index > 2)
                return is_view ? show_usage("view - create a read-only snapshot from a committed "
                                            "snapshot",
                                            "view [command options] [flags] <key> [<parent>]")
                               : show_usage("prepare - prepare a snapshot from a committed "
                                            "snapshot",
                                            "prepare [command options] [flags] <key> [<parent>]");
        req.snapshotter = (char *) snapshotter;
        req.key = argv[index];
        req.parent = argc - index > 1 ? argv[index + 1] : "";
        req.labels = (Containerd__Services__Snapshots__V1__PrepareSnapshotRequest__LabelsEntry **)
                ctr_map_new(
                        &containerd__services__snapshots__v1__prepare_snapshot_request__labels_entry__descriptor,
                        labels, &req.n_labels);
        /* View's request and answer have Prepare's layout */
        r = ctr_call(c, is_view ? SNAPSHOTS_SERVICE "View" : SNAPSHOTS_SERVICE "Prepare", &req.base,
                     &containerd__services__snapshots__v1__prepare_snapshot_response__descriptor,
                     &resp, err);
        ctr_map_free((void **) req.labels, req.n_labels);
        if (r < 0)
                return r;
        if (target && *target)
                print_mounts(target, resp->mounts, resp->n_mounts);
        if (mounts)
                print_mounts_json(resp->mounts, resp->n_mounts);
        return 0;
}

static int snapshots_prepare(struct ctr *c, const char *snapshotter, int argc, char **argv,
                             struct errmsg *err)
{
        return make_snapshot(c, snapshotter, argc, argv, false, err);
}

static int snapshots_view(struct ctr *c, const char *snapshotter, int argc, char **argv,
                          struct errmsg *err)
{
        return make_snapshot(c, snapshotter, argc, argv, true, err);
}

static int snapshots_mounts(struct ctr *c, const char *snapshotter, int argc, char **argv,
                            struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__MountsRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__MOUNTS_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Snapshots__V1__MountsResponse *resp = NULL;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        if (argc - index != 2)
                return show_usage("mounts - mount gets mount commands for the snapshots",
                                  "mounts <target> <key>");
        req.snapshotter = (char *) snapshotter;
        req.key = argv[index + 1];
        r = ctr_call(c, SNAPSHOTS_SERVICE "Mounts", &req.base,
                     &containerd__services__snapshots__v1__mounts_response__descriptor, &resp, err);
        if (r < 0)
                return r;
        print_mounts(argv[index], resp->mounts, resp->n_mounts);
        return 0;
}

static int snapshots_commit(struct ctr *c, const char *snapshotter, int argc, char **argv,
                            struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__CommitSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__COMMIT_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;
        _cleanup_strv_ char **labels = gc_root_labels();
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        if (argc - index != 2)
                return show_usage("commit - commit an active snapshot into the provided name",
                                  "commit <key> <active>");
        req.snapshotter = (char *) snapshotter;
        req.name = argv[index];
        req.key = argv[index + 1];
        req.labels = (Containerd__Services__Snapshots__V1__CommitSnapshotRequest__LabelsEntry **)
                ctr_map_new(
                        &containerd__services__snapshots__v1__commit_snapshot_request__labels_entry__descriptor,
                        labels, &req.n_labels);
        r = ctr_call(c, SNAPSHOTS_SERVICE "Commit", &req.base, &google__protobuf__empty__descriptor,
                     &resp, err);
        ctr_map_free((void **) req.labels, req.n_labels);
        return r;
}

static const struct snapshots_command commands[] = {
        {{"commit"}, snapshots_commit},
        {{"info"}, snapshots_info},
        {{"list", "ls"}, snapshots_list},
        {{"mounts", "m", "mount"}, snapshots_mounts},
        {{"prepare"}, snapshots_prepare},
        {{"delete", "del", "remove", "rm"}, snapshots_remove},
        {{"label"}, snapshots_label},
        {{"tree"}, snapshots_tree},
        {{"usage"}, snapshots_usage},
        {{"view"}, snapshots_view},
        {{NULL}},
};

int cmd_snapshots(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        const char *flag = getenv("CONTAINERD_SNAPSHOTTER");
        _cleanup_free_ char *snapshotter = NULL;
        int r, index;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"snapshotter", 0, CTR_FLAG_STRING, &flag}, {NULL}}, argc,
                argv, &index, err);
        if (r < 0)
                return r;
        if (index >= argc)
                return errmsg_set(err, -EINVAL, "%s: a subcommand is required", argv[0]);
        for (const struct snapshots_command *cmd = commands; cmd->names[0]; cmd++)
                for (size_t i = 0; i < ELEMENTSOF(cmd->names) && cmd->names[i]; i++) {
                        if (!STREQ(cmd->names[i], argv[index]))
                                continue;
                        /* as SnapshotService(): a failed lookup of the default is overlayfs */
                        if (ctr_snapshotter_name(c, flag, &snapshotter, NULL) < 0)
                                snapshotter = xstrdup("overlayfs");
                        return cmd->run(c, snapshotter, argc - index, argv + index, err);
                }
        return errmsg_set(err, -EINVAL, "No help topic for '%s'", argv[index]);
}
