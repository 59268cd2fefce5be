/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr containers (aliases c, container): create, list, info, delete, label, as ctr
 * 1.6's (cmd/ctr/commands/containers/containers.go), with its output: the list through Go's
 * tabwriter, info as the JSON ctr prints (the record with its spec decoded).
 */
#include <stdlib.h>

#include "ctr/commands.h"
#include "ctr/container.h"
#include "ctr/image.h"
#include "ctr/io.h"
#include "ctr/pb-json.h"
#include "ctr/task.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define CONTAINERS "/containerd.services.containers.v1.Containers/"
#define CONTAINER_LABELS \
        (&containerd__services__containers__v1__container__labels_entry__descriptor)
#define UPDATE_RESPONSE \
        (&containerd__services__containers__v1__update_container_response__descriptor)

static int containers_create(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        struct container_flags f;
        const char *ref = "", *id;
        int r, index;

        r = container_flags_parse(&f, false, argc, argv, &index, err);
        if (r < 0)
                return r;
        argc -= index;
        argv += index;
        if (f.config) {
                id = argc > 0 ? argv[0] : "";
                if (argc > 1)
                        r = errmsg_set(err, -EINVAL,
                                       "with spec config file, only container id should be "
                                       "provided: invalid argument");
        } else {
                ref = argc > 0 ? argv[0] : "";
                id = argc > 1 ? argv[1] : "";
                if (!*ref)
                        r = errmsg_set(err, -EINVAL,
                                       "image ref must be provided: invalid argument");
        }
        if (r >= 0 && !*id)
                r = errmsg_set(err, -EINVAL, "container id must be provided: invalid argument");
        if (r >= 0)
                r = container_new(c, &f, ref, id, argc > 2 && !f.config ? argv + 2 : NULL, err);
        container_flags_release(&f);
        return r;
}

static int containers_list(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Containers__V1__ListContainersRequest req =
                CONTAINERD__SERVICES__CONTAINERS__V1__LIST_CONTAINERS_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Containers__V1__ListContainersResponse *resp = NULL;
        bool quiet = false;
        struct table *t;
        int r, index;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"quiet", 'q', CTR_FLAG_BOOL, &quiet}, {NULL}}, argc,
                argv, &index, err);
        if (r < 0)
                return r;
        req.filters = argv + index;
        req.n_filters = (size_t) (argc - index);
        r = ctr_rpc(c, CONTAINERS "List", &req.base,
                    &containerd__services__containers__v1__list_containers_response__descriptor,
                    &resp, err);
        if (r < 0)
                return r;
        if (quiet) {
                for (size_t i = 0; i < resp->n_containers; i++)
                        printf("%s\n", resp->containers[i]->id);
                return 0;
        }
        t = table_new(stdout, 4, 4);
        table_printf(t, "CONTAINER\tIMAGE\tRUNTIME\t\n");
        for (size_t i = 0; i < resp->n_containers; i++) {
                const ctr_container *ct = resp->containers[i];

                table_printf(t, "%s\t%s\t%s\t\n", ct->id, ct->image && *ct->image ? ct->image : "-",
                             ct->runtime && ct->runtime->name ? ct->runtime->name : "");
        }
        table_flush(t);
        return 0;
}

/* --- info ------------------------------------------------------------------------------------ */

static void put_any_or_null(struct gojson *w, const Google__Protobuf__Any *any)
{
        if (any)
                pb_json_message(w, &any->base);
        else
                gojson_null(w);
}

static void put_time(struct gojson *w, const Google__Protobuf__Timestamp *ts)
{
        char buf[GO_TIME_MAX];

        go_time_rfc3339nano(ts ? ts->seconds : -62135596800LL, ts ? ts->nanos : 0, buf);
        gojson_string(w, buf);
}

static int compare_entries(const void *a, const void *b)
{
        /* LabelsEntry and ExtensionsEntry: base, then the key */
        const struct {
                ProtobufCMessage base;
                char *key;
        } *const *ea = a, *const *eb = b;

        return strcmp((*ea)->key, (*eb)->key);
}

/* A Go map of a record: null when empty, else its keys sorted. */
static void put_map(struct gojson *w, void *const *entries, size_t n, bool values_are_any)
{
        _cleanup_free_ void **sorted = NULL;

        if (n == 0) {
                gojson_null(w);
                return;
        }
        sorted = xnew0(void *, n);
        memcpy(sorted, entries, n * sizeof(void *));
        qsort(sorted, n, sizeof(void *), compare_entries);
        gojson_begin_object(w);
        for (size_t i = 0; i < n; i++) {
                const ProtobufCMessage *e = sorted[i];
                const ProtobufCFieldDescriptor *kf = &e->descriptor->fields[0];
                const ProtobufCFieldDescriptor *vf = &e->descriptor->fields[1];
                const void *val = (const char *) e + vf->offset;

                gojson_key(w, *(char *const *) ((const char *) e + kf->offset));
                if (values_are_any)
                        put_any_or_null(w, *(Google__Protobuf__Any *const *) val);
                else
                        gojson_string(w, *(char *const *) val);
        }
        gojson_end_object(w);
}

/* containers.Container as encoding/json prints it (its Go field names), then "Spec". */
static void put_record(struct gojson *w, const ctr_container *ct, const json_t *spec)
{
        gojson_key(w, "ID");
        gojson_string(w, ct->id);
        gojson_key(w, "Labels");
        put_map(w, (void *const *) ct->labels, ct->n_labels, false);
        gojson_key(w, "Image");
        gojson_string(w, ct->image);
        gojson_key(w, "Runtime");
        gojson_begin_object(w);
        gojson_key(w, "Name");
        gojson_string(w, ct->runtime ? ct->runtime->name : "");
        gojson_key(w, "Options");
        put_any_or_null(w, ct->runtime ? ct->runtime->options : NULL);
        gojson_end_object(w);
        if (!spec) {
                gojson_key(w, "Spec");
                put_any_or_null(w, ct->spec);
        }
        gojson_key(w, "SnapshotKey");
        gojson_string(w, ct->snapshot_key);
        gojson_key(w, "Snapshotter");
        gojson_string(w, ct->snapshotter);
        gojson_key(w, "CreatedAt");
        put_time(w, ct->created_at);
        gojson_key(w, "UpdatedAt");
        put_time(w, ct->updated_at);
        gojson_key(w, "Extensions");
        put_map(w, (void *const *) ct->extensions, ct->n_extensions, true);
        if (spec) {
                gojson_key(w, "Spec");
                gojson_value(w, spec);
        }
}

static int containers_info(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__GetContainerResponse *got = NULL;
        _cleanup_free_ char *text = NULL;
        json_t *spec = NULL;
        bool spec_only = false;
        struct gojson *w;
        int r, index;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"spec", 0, CTR_FLAG_BOOL, &spec_only}, {NULL}}, argc,
                argv, &index, err);
        if (r >= 0 && index >= argc)
                r = errmsg_set(err, -EINVAL, "container id must be provided: invalid argument");
        if (r >= 0)
                r = container_get(c, argv[index], &got, err);
        if (r >= 0 && (spec_only || (got->container->spec && got->container->spec->value.len)))
                r = container_spec(got->container, &spec, err);
        if (r < 0)
                return r;
        if (spec)
                spec_order(spec);
        w = gojson_new("    ");
        if (spec_only)
                gojson_value(w, spec);
        else {
                gojson_begin_object(w);
                put_record(w, got->container, spec);
                gojson_end_object(w);
        }
        text = gojson_finish(w);
        printf("%s\n", text);
        json_decref(spec);
        return 0;
}

/* --- delete, label ----------------------------------------------------------------------- */

/* A stopped (or created) task's deletion, with its FIFOs (cio.Load's closer). */
static int delete_task(struct ctr *c, const char *id, const ctr_process *p, struct errmsg *err)
{
        int r = task_delete(c, id, false, NULL, err);

        if (r >= 0)
                io_fifos_remove_paths(p->stdin, p->stdout, p->stderr);
        return r;
}

/* ctr's deleteContainer: its stopped task first; a running one refuses. */
static int delete_one(struct ctr *c, const char *id, bool keep_snapshot, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Containers__V1__GetContainerResponse *got = NULL;
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *task = NULL;
        const ctr_process *p;
        char exited[GO_TIME_MAX];
        int r;

        r = container_get(c, id, &got, err);
        if (r < 0)
                return r;
        if (task_get(c, id, NULL, &task, NULL) < 0)
                return container_delete(c, id, keep_snapshot, err);
        p = task->process;
        if (p->status == CONTAINERD__V1__TYPES__STATUS__STOPPED ||
            p->status == CONTAINERD__V1__TYPES__STATUS__CREATED) {
                r = delete_task(c, id, p, err);
                return r < 0 ? r : container_delete(c, id, keep_snapshot, err);
        }
        go_time_string(p->exited_at ? p->exited_at->seconds : -62135596800LL,
                       p->exited_at ? p->exited_at->nanos : 0, exited);
        return errmsg_set(err, -EBUSY, "cannot delete a non stopped container: {%s %u %s}",
                          task_status_lower(p->status), p->exit_status, exited);
}

static int containers_delete(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        bool keep = false;
        int r, index, first = 0;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"keep-snapshot", 0, CTR_FLAG_BOOL, &keep}, {NULL}}, argc,
                argv, &index, err);
        if (r < 0)
                return r;
        if (index >= argc)
                return errmsg_set(err, -EINVAL,
                                  "must specify at least one container to delete: invalid "
                                  "argument");
        for (int i = index; i < argc; i++) {
                struct errmsg e = {0};

                r = delete_one(c, argv[i], keep, &e);
                if (r >= 0)
                        continue;
                log_error("failed to delete container \"%s\": %s", argv[i], e.msg);
                if (!first) {
                        first = r;
                        *err = e;
                }
        }
        return first;
}

static int containers_label(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Containers__V1__UpdateContainerRequest req =
                CONTAINERD__SERVICES__CONTAINERS__V1__UPDATE_CONTAINER_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Containers__V1__UpdateContainerResponse *resp = NULL;
        ctr_container ct = CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__INIT;
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        _cleanup_strv_ char **paths = NULL, **pairs = NULL;
        json_t *labels = json_object();
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r >= 0 && index >= argc)
                r = errmsg_set(err, -EINVAL, "container id must be provided: invalid argument");
        for (int i = index + 1; r >= 0 && i < argc; i++) {
                const char *eq = strchr(argv[i], '=');
                _cleanup_free_ char *key =
                        xstrndup(argv[i], eq ? (size_t) (eq - argv[i]) : strlen(argv[i]));
                _cleanup_free_ char *path = xasprintf("labels.%s", key);

                json_object_set_new(labels, key, json_string(eq ? eq + 1 : "true"));
                strv_push(&paths, path);
        }
        if (r >= 0) {
                ct.id = argv[index];
                pairs = labels_pairs(labels);
                ct.labels = (Containerd__Services__Containers__V1__Container__LabelsEntry **)
                        ctr_map_new(CONTAINER_LABELS, pairs, &ct.n_labels);
                mask.paths = paths;
                mask.n_paths = strv_length(paths);
                req.container = &ct;
                req.update_mask = &mask;
                r = ctr_rpc(c, CONTAINERS "Update", &req.base, UPDATE_RESPONSE, &resp, err);
                ctr_map_free((void **) ct.labels, ct.n_labels);
        }
        json_decref(labels);
        if (r < 0)
                return r;
        if (resp->container) {
                _cleanup_free_ char *s = labels_string((void *const *) resp->container->labels,
                                                       resp->container->n_labels);

                printf("%s\n", resp->container->n_labels ? s : "");
        }
        return 0;
}

const struct ctr_command cmd_containers[] = {
        {{"create"}, "create container", containers_create, NULL},
        {{"delete", "del", "remove", "rm"},
         "delete one or more existing containers",
         containers_delete,
         NULL},
        {{"info"}, "get info about a container", containers_info, NULL},
        {{"list", "ls"}, "list containers", containers_list, NULL},
        {{"label"}, "set and clear labels for a container", containers_label, NULL},
        {{NULL}},
};
