/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr tasks ps and tasks metrics, as ctr 1.6 prints them (cmd/ctr/commands/tasks/
 * ps.go, metrics.go): the pids with their details as Go's %+v shows the gogo struct, and one
 * data point of a task's cgroup metrics (v1 or v2) as a table or as encoding/json's JSON.
 */
#include <stdlib.h>

#include "containerd/cgroups/v1/metrics.pb-c.h"
#include "containerd/cgroups/v2/metrics.pb-c.h"
#include "containerd/runc/options/oci.pb-c.h"
#include "ctr/pb-json.h"
#include "ctr/task-commands.h"
#include "lib/xalloc.h"

#define TASKS "/containerd.services.tasks.v1.Tasks/"

/* A loaded task's id from the one operand (ctr takes Args().First(), empty or not). */
static int load_operand(struct ctr *c, const struct ctr_flag *flags, int argc, char **argv,
                        const char **ret_id, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *task = NULL;
        int r, index;

        r = ctr_flags_parse(flags, argc, argv, &index, err);
        if (r < 0)
                return r;
        *ret_id = index < argc ? argv[index] : "";
        return task_load(c, *ret_id, &task, err);
}

/* ps's INFO: "-", or %+v of the decoded details. */
static char *process_info(const Google__Protobuf__Any *info, struct errmsg *err)
{
        ProtobufCMessage *m = NULL;
        char *s;

        if (!info)
                return xstrdup("-");
        if (pb_any_unpack(info, &m, err) < 0)
                return NULL;
        if (m->descriptor == &containerd__runc__v1__process_details__descriptor)
                s = xasprintf("&ProcessDetails{ExecID:%s,XXX_unrecognized:[],}",
                              ((Containerd__Runc__V1__ProcessDetails *) m)->exec_id);
        else {
                struct gojson *w = gojson_new(NULL);

                pb_json_message(w, m);
                s = gojson_finish(w);
        }
        protobuf_c_message_free_unpacked(m, NULL);
        return s;
}

int task_cmd_ps(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Tasks__V1__ListPidsRequest req =
                CONTAINERD__SERVICES__TASKS__V1__LIST_PIDS_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Tasks__V1__ListPidsResponse *resp = NULL;
        const char *id;
        struct table *t;
        int r, index;
        _cleanup_pb_ Containerd__Services__Tasks__V1__GetResponse *task = NULL;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        id = index < argc ? argv[index] : "";
        if (!*id)
                return errmsg_set(err, -EINVAL, "container id must be provided");
        r = task_load(c, id, &task, err);
        if (r < 0)
                return r;
        req.container_id = (char *) id;
        r = ctr_rpc(c, TASKS "ListPids", &req.base,
                    &containerd__services__tasks__v1__list_pids_response__descriptor, &resp, err);
        if (r < 0)
                return r;
        t = table_new(stdout, 1, 4);
        table_printf(t, "PID\tINFO\n");
        for (size_t i = 0; i < resp->n_processes; i++) {
                _cleanup_free_ char *info = process_info(resp->processes[i]->info, err);

                if (!info) {
                        table_flush(t);
                        return err->code;
                }
                table_printf(t, "%u\t%s\n", resp->processes[i]->pid, info);
        }
        table_flush(t);
        return 0;
}

/* --- metrics ----------------------------------------------------------------------------- */

/* Go's %v of a []uint64: "[1 2 3]". */
static char *uint_list(const uint64_t *v, size_t n)
{
        char *s = xstrdup("[");

        for (size_t i = 0; i < n; i++) {
                char *next = xasprintf("%s%s%llu", s, i ? " " : "", (unsigned long long) v[i]);

                free(s);
                s = next;
        }
        {
                char *next = xasprintf("%s]", s);

                free(s);
                s = next;
        }
        return s;
}

static void table_v1(struct table *t, const Io__Containerd__Cgroups__V1__Metrics *m)
{
        table_printf(t, "METRIC\tVALUE\t\n");
        if (m->memory) {
                const Io__Containerd__Cgroups__V1__MemoryEntry *u = m->memory->usage;

                table_printf(t, "memory.usage_in_bytes\t%llu\t\n",
                             (unsigned long long) (u ? u->usage : 0));
                table_printf(t, "memory.limit_in_bytes\t%llu\t\n",
                             (unsigned long long) (u ? u->limit : 0));
                table_printf(t, "memory.stat.cache\t%llu\t\n",
                             (unsigned long long) m->memory->total_cache);
        }
        if (m->cpu) {
                const Io__Containerd__Cgroups__V1__CPUUsage *u = m->cpu->usage;
                _cleanup_free_ char *percpu =
                        uint_list(u ? u->per_cpu : NULL, u ? u->n_per_cpu : 0);

                table_printf(t, "cpuacct.usage\t%llu\t\n", (unsigned long long) (u ? u->total : 0));
                table_printf(t, "cpuacct.usage_percpu\t%s\t\n", percpu);
        }
        if (m->pids) {
                table_printf(t, "pids.current\t%llu\t\n", (unsigned long long) m->pids->current);
                table_printf(t, "pids.limit\t%llu\t\n", (unsigned long long) m->pids->limit);
        }
}

static void table_v2(struct table *t, const Io__Containerd__Cgroups__V2__Metrics *m)
{
        table_printf(t, "METRIC\tVALUE\t\n");
        if (m->pids) {
                table_printf(t, "pids.current\t%llu\t\n", (unsigned long long) m->pids->current);
                table_printf(t, "pids.limit\t%llu\t\n", (unsigned long long) m->pids->limit);
        }
        if (m->cpu) {
                table_printf(t, "cpu.usage_usec\t%llu\t\n",
                             (unsigned long long) m->cpu->usage_usec);
                table_printf(t, "cpu.user_usec\t%llu\t\n", (unsigned long long) m->cpu->user_usec);
                table_printf(t, "cpu.system_usec\t%llu\t\n",
                             (unsigned long long) m->cpu->system_usec);
                table_printf(t, "cpu.nr_periods\t%llu\t\n",
                             (unsigned long long) m->cpu->nr_periods);
                table_printf(t, "cpu.nr_throttled\t%llu\t\n",
                             (unsigned long long) m->cpu->nr_throttled);
                table_printf(t, "cpu.throttled_usec\t%llu\t\n",
                             (unsigned long long) m->cpu->throttled_usec);
        }
        if (m->memory) {
                table_printf(t, "memory.usage\t%llu\t\n", (unsigned long long) m->memory->usage);
                table_printf(t, "memory.usage_limit\t%llu\t\n",
                             (unsigned long long) m->memory->usage_limit);
                table_printf(t, "memory.swap_usage\t%llu\t\n",
                             (unsigned long long) m->memory->swap_usage);
                table_printf(t, "memory.swap_limit\t%llu\t\n",
                             (unsigned long long) m->memory->swap_limit);
        }
}

static int print_metrics(const Containerd__Types__Metric *metric, const ProtobufCMessage *data,
                         bool json, struct errmsg *err)
{
        char ts[GO_TIME_MAX];
        struct table *t;

        if (json) {
                struct gojson *w = gojson_new("  ");
                _cleanup_free_ char *text = NULL;

                pb_json_message(w, data);
                text = gojson_finish(w);
                printf("%s\n", text);
                return 0;
        }
        go_time_string(metric->timestamp ? metric->timestamp->seconds : -62135596800LL,
                       metric->timestamp ? metric->timestamp->nanos : 0, ts);
        /* two column blocks, as the empty line makes them in Go's tabwriter */
        t = table_new(stdout, 1, 4);
        table_printf(t, "ID\tTIMESTAMP\t\n");
        table_printf(t, "%s\t%s\t\n", metric->id, ts);
        table_flush(t);
        printf("\n");
        t = table_new(stdout, 1, 4);
        if (data->descriptor == &io__containerd__cgroups__v1__metrics__descriptor)
                table_v1(t, (const Io__Containerd__Cgroups__V1__Metrics *) data);
        else if (data->descriptor == &io__containerd__cgroups__v2__metrics__descriptor)
                table_v2(t, (const Io__Containerd__Cgroups__V2__Metrics *) data);
        else {
                table_flush(t);
                return errmsg_set(err, -EINVAL,
                                  "cannot convert metric data to cgroups.Metrics or "
                                  "windows.Statistics");
        }
        table_flush(t);
        return 0;
}

int task_cmd_metrics(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Tasks__V1__MetricsRequest req =
                CONTAINERD__SERVICES__TASKS__V1__METRICS_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Tasks__V1__MetricsResponse *resp = NULL;
        _cleanup_pb_ ProtobufCMessage *data = NULL;
        _cleanup_free_ char *filter = NULL;
        const char *format = NULL, *id;
        int r;

        r = load_operand(c,
                         (const struct ctr_flag[]){{"format", 0, CTR_FLAG_STRING, &format}, {NULL}},
                         argc, argv, &id, err);
        if (r < 0)
                return r;
        filter = xasprintf("id==%s", id);
        req.filters = &filter;
        req.n_filters = 1;
        r = ctr_rpc(c, TASKS "Metrics", &req.base,
                    &containerd__services__tasks__v1__metrics_response__descriptor, &resp, err);
        if (r < 0)
                return r;
        if (resp->n_metrics == 0)
                return errmsg_set(err, -ENOENT, "no metrics received");
        if (!resp->metrics[0]->data)
                return errmsg_set(err, -EINVAL,
                                  "cannot convert metric data to cgroups.Metrics or "
                                  "windows.Statistics");
        r = pb_any_unpack(resp->metrics[0]->data, &data, err);
        if (r < 0)
                return r;
        if (format && !STREQ(format, "table") && !STREQ(format, "json"))
                return errmsg_set(err, -EINVAL, "format must be table or json");
        return print_metrics(resp->metrics[0], data, format && STREQ(format, "json"), err);
}
