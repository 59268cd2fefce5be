/* SPDX-License-Identifier: Apache-2.0 */
/* berth-ctr plugins ls (-q, -d, filters): Introspection.Plugins as ctr prints it. */
#include <stdlib.h>

#include "containerd/services/introspection/v1/introspection.pb-c.h"
#include "ctr/commands.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

typedef Containerd__Services__Introspection__V1__Plugin plugin_t;

/* grpc-go's codes.Code.String() */
static const char *code_name(int32_t code)
{
        static const char *const names[] = {
                "OK",
                "Canceled",
                "Unknown",
                "InvalidArgument",
                "DeadlineExceeded",
                "NotFound",
                "AlreadyExists",
                "PermissionDenied",
                "ResourceExhausted",
                "FailedPrecondition",
                "Aborted",
                "OutOfRange",
                "Unimplemented",
                "Internal",
                "Unavailable",
                "DataLoss",
                "Unauthenticated",
        };

        return code >= 0 && (size_t) code < ELEMENTSOF(names) ? names[code] : "Unknown";
}

static bool has(char *const *v, const char *s)
{
        strv_foreach (e, (char **) v)
                if (STREQ(*e, s))
                        return true;
        return false;
}

/* v joined by sep (the caller's). */
static char *join(char *const *v, size_t n, const char *sep)
{
        char *out = xstrdup("");

        for (size_t i = 0; i < n; i++) {
                char *next = xasprintf("%s%s%s", out, i ? sep : "", v[i]);

                free(out);
                out = next;
        }
        return out;
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* ctr's prettyPlatforms: "os/arch[/variant]", each once, sorted, joined by ','. */
static char *platforms_string(const plugin_t *p)
{
        _cleanup_strv_ char **v = NULL;

        for (size_t i = 0; i < p->n_platforms; i++) {
                const Containerd__Types__Platform *pl = p->platforms[i];
                _cleanup_free_ char *s =
                        pl->variant && *pl->variant
                                ? xasprintf("%s/%s/%s", pl->os, pl->architecture, pl->variant)
                                : xasprintf("%s/%s", pl->os, pl->architecture);

                if (!has(v, s))
                        strv_push(&v, s);
        }
        if (v)
                qsort(v, strv_length(v), sizeof(char *), compare_strings);
        return join(v, strv_length(v), ",");
}

static void print_detailed(struct table *t, const plugin_t *p)
{
        table_printf(t, "Type:\t %s\n", p->type);
        table_printf(t, "ID:\t %s\n", p->id);
        if (p->n_requires > 0) {
                table_printf(t, "Requires:\t\n");
                for (size_t i = 0; i < p->n_requires; i++)
                        table_printf(t, "\t %s\n", p->requires[i]);
        }
        if (p->n_platforms > 0) {
                _cleanup_free_ char *pl = platforms_string(p);

                table_printf(t, "Platforms:\t %s\n", pl);
        }
        if (p->n_exports > 0) {
                table_printf(t, "Exports:\t\n");
                for (size_t i = 0; i < p->n_exports; i++)
                        table_printf(t, "\t %s \t %s\n", p->exports[i]->key, p->exports[i]->value);
        }
        if (p->n_capabilities > 0) {
                _cleanup_free_ char *caps = join(p->capabilities, p->n_capabilities, ",");

                table_printf(t, "Capabilities:\t %s\n", caps);
        }
        if (p->init_err) {
                table_printf(t, "Error:\t\n");
                table_printf(t, "\t Code:\t %s\n", code_name(p->init_err->code));
                table_printf(t, "\t Message:\t %s\n", p->init_err->message);
        }
}

static void print_row(struct table *t, const plugin_t *p)
{
        _cleanup_free_ char *pl = p->n_platforms > 0 ? platforms_string(p) : xstrdup("-");
        const char *status = "ok";

        if (p->init_err)
                status = strstr(p->init_err->message, "skip plugin") ? "skip" : "error";
        table_printf(t, "%s\t%s\t%s\t%s\t\n", p->type, p->id, pl, status);
}

static int plugins_list(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Introspection__V1__PluginsRequest req =
                CONTAINERD__SERVICES__INTROSPECTION__V1__PLUGINS_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Introspection__V1__PluginsResponse *resp = NULL;
        bool quiet = false, detailed = false;
        struct table *t;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{"quiet", 'q', CTR_FLAG_BOOL, &quiet},
                                                      {"detailed", 'd', CTR_FLAG_BOOL, &detailed},
                                                      {NULL}},
                            argc, argv, &index, err);
        if (r < 0)
                return r;
        req.filters = argv + index;
        req.n_filters = (size_t) (argc - index);
        r = ctr_rpc(c, "/containerd.services.introspection.v1.Introspection/Plugins", &req.base,
                    &containerd__services__introspection__v1__plugins_response__descriptor, &resp,
                    err);
        if (r < 0)
                return r;
        if (quiet) {
                for (size_t i = 0; i < resp->n_plugins; i++)
                        printf("%s\n", resp->plugins[i]->id);
                return 0;
        }
        t = table_new_padchar(stdout, 4, 8, 4, ' ');
        if (!detailed)
                table_printf(t, "TYPE\tID\tPLATFORMS\tSTATUS\t\n");
        for (size_t i = 0; i < resp->n_plugins; i++) {
                if (detailed && i > 0)
                        table_printf(t, "\t\t\t\n");
                (detailed ? print_detailed : print_row)(t, resp->plugins[i]);
        }
        table_flush(t);
        return 0;
}

const struct ctr_command cmd_plugins[] = {
        {{"list", "ls"}, "lists containerd plugins", plugins_list, NULL},
        {{NULL}},
};
