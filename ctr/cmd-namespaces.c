/* SPDX-License-Identifier: Apache-2.0 */
/* berth-ctr namespaces: create, ls, rm, label, as ctr's. */
#include <stdlib.h>

#include "containerd/services/namespaces/v1/namespace.pb-c.h"
#include "ctr/commands.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define NS_SERVICE "/containerd.services.namespaces.v1.Namespaces/"

typedef Containerd__Services__Namespaces__V1__Namespace__LabelsEntry label_entry;

static void **labels_entries(char *const *labels, size_t *ret_n)
{
        size_t n = strv_length(labels) / 2;
        label_entry *e = n ? xnew0(label_entry, n) : NULL;
        void **v = xnew0(void *, n ? n : 1);

        for (size_t i = 0; i < n; i++) {
                containerd__services__namespaces__v1__namespace__labels_entry__init(&e[i]);
                e[i].key = labels[2 * i];
                e[i].value = labels[2 * i + 1];
                v[i] = &e[i];
        }
        *ret_n = n;
        return v;
}

static void labels_entries_free(void **v, size_t n)
{
        if (n)
                free(v[0]); /* the entries' array */
        free(v);
}

int ctr_object_with_labels(int argc, char **argv, const char **ret_name, char ***ret_labels)
{
        char **labels = NULL;

        *ret_name = argc > 0 ? argv[0] : "";
        for (int i = 1; i < argc; i++) {
                const char *eq = strchr(argv[i], '=');
                _cleanup_free_ char *key =
                        xstrndup(argv[i], eq ? (size_t) (eq - argv[i]) : strlen(argv[i]));

                strv_push(&labels, key);
                strv_push(&labels, eq ? eq + 1 : "");
        }
        *ret_labels = labels;
        return 0;
}

static int ns_create(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Namespaces__V1__CreateNamespaceRequest req =
                CONTAINERD__SERVICES__NAMESPACES__V1__CREATE_NAMESPACE_REQUEST__INIT;
        Containerd__Services__Namespaces__V1__Namespace ns =
                CONTAINERD__SERVICES__NAMESPACES__V1__NAMESPACE__INIT;
        _cleanup_pb_ Containerd__Services__Namespaces__V1__CreateNamespaceResponse *resp = NULL;
        _cleanup_strv_ char **labels = NULL;
        const char *name;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        ctr_object_with_labels(argc - index, argv + index, &name, &labels);
        if (!*name)
                return errmsg_set(err, -EINVAL, "please specify a namespace");
        ns.name = (char *) name;
        ns.labels =
                (Containerd__Services__Namespaces__V1__Namespace__LabelsEntry **) labels_entries(
                        labels, &ns.n_labels);
        req.namespace_ = &ns;
        r = ctr_call(c, NS_SERVICE "Create", &req.base,
                     &containerd__services__namespaces__v1__create_namespace_response__descriptor,
                     &resp, err);
        labels_entries_free((void **) ns.labels, ns.n_labels);
        return r;
}

static int ns_label(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Namespaces__V1__UpdateNamespaceRequest req =
                CONTAINERD__SERVICES__NAMESPACES__V1__UPDATE_NAMESPACE_REQUEST__INIT;
        Containerd__Services__Namespaces__V1__Namespace ns =
                CONTAINERD__SERVICES__NAMESPACES__V1__NAMESPACE__INIT;
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        _cleanup_strv_ char **labels = NULL;
        const char *name;
        int r = 0, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        ctr_object_with_labels(argc - index, argv + index, &name, &labels);
        if (!*name)
                return errmsg_set(err, -EINVAL, "please specify a namespace");
        /* One update per label, as ctr's SetLabel: the mask names "labels.<key>". */
        for (size_t i = 0; labels && labels[i]; i += 2) {
                _cleanup_pb_ Containerd__Services__Namespaces__V1__UpdateNamespaceResponse *resp =
                        NULL;
                _cleanup_free_ char *path = xasprintf("labels.%s", labels[i]);
                char *paths[] = {path};

                ns.name = (char *) name;
                ns.labels = (Containerd__Services__Namespaces__V1__Namespace__LabelsEntry **)
                        labels_entries(labels + i, &ns.n_labels);
                ns.n_labels = labels[i + 1][0] ? 1 : 0;
                mask.paths = paths;
                mask.n_paths = 1;
                req.namespace_ = &ns;
                req.update_mask = &mask;
                r = ctr_call(
                        c, NS_SERVICE "Update", &req.base,
                        &containerd__services__namespaces__v1__update_namespace_response__descriptor,
                        &resp, err);
                labels_entries_free((void **) ns.labels, 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int ns_list(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Namespaces__V1__ListNamespacesRequest req =
                CONTAINERD__SERVICES__NAMESPACES__V1__LIST_NAMESPACES_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Namespaces__V1__ListNamespacesResponse *resp = NULL;
        bool quiet = false;
        struct table *t;
        int r, index;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"quiet", 'q', CTR_FLAG_BOOL, &quiet}, {NULL}}, argc,
                argv, &index, err);
        if (r < 0)
                return r;
        r = ctr_call(c, NS_SERVICE "List", &req.base,
                     &containerd__services__namespaces__v1__list_namespaces_response__descriptor,
                     &resp, err);
        if (r < 0)
                return r;
        if (quiet) {
                for (size_t i = 0; i < resp->n_namespaces; i++)
                        printf("%s\n", resp->namespaces[i]->name);
                return 0;
        }
        t = table_new(stdout, 1, 1);
        table_printf(t, "NAME\tLABELS\t\n");
        for (size_t i = 0; i < resp->n_namespaces; i++) {
                const Containerd__Services__Namespaces__V1__Namespace *ns = resp->namespaces[i];
                _cleanup_free_ char *labels =
                        ns->n_labels ? labels_string((void *const *) ns->labels, ns->n_labels)
                                     : xstrdup("");

                table_printf(t, "%s\t%s\t\n", ns->name, labels);
        }
        table_flush(t);
        return 0;
}

static int ns_remove(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        bool cgroup = false;
        int r, index, failed = 0;

        r = ctr_flags_parse(
                (const struct ctr_flag[]){{"cgroup", 'c', CTR_FLAG_BOOL, &cgroup}, {NULL}}, argc,
                argv, &index, err);
        if (r < 0)
                return r;
        /* As ctr: each name is tried; failures are reported and the last one is returned. */
        for (int i = index; i < argc; i++) {
                Containerd__Services__Namespaces__V1__DeleteNamespaceRequest req =
                        CONTAINERD__SERVICES__NAMESPACES__V1__DELETE_NAMESPACE_REQUEST__INIT;
                _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;
                struct errmsg e = {0};

                req.name = argv[i];
                r = ctr_call(c, NS_SERVICE "Delete", &req.base,
                             &google__protobuf__empty__descriptor, &resp, &e);
                /* As ctr: a namespace that is not there counts as removed. */
                if (r < 0 && r != -ENOENT) {
                        if (failed++ == 0)
                                errmsg_set(err, r, "unable to delete %s: %s", argv[i], e.msg);
                        log_error("unable to delete %s: %s", argv[i], e.msg);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return failed ? err->code : 0;
}

const struct ctr_command cmd_namespaces[] = {
        {{"create", "c"}, "create a new namespace", ns_create, NULL},
        {{"list", "ls"}, "list namespaces", ns_list, NULL},
        {{"remove", "rm"}, "remove one or more namespaces", ns_remove, NULL},
        {{"label"}, "set and clear labels for a namespace", ns_label, NULL},
        {{NULL}},
};
