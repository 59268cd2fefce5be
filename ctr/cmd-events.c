/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr events (alias event), as ctr 1.6's (cmd/ctr/commands/events/events.go): one
 * Events.Subscribe with the operands as filters, and a line per envelope as fmt.Println
 * prints "<timestamp> <namespace> <topic> <event as JSON>" (the time as Go's time.String(),
 * the event decoded by its type URL and marshalled as encoding/json does). An event of an
 * unknown type is skipped with a warning, as ctr does.
 */
#include <stdlib.h>

#include "containerd/services/events/v1/events.pb-c.h"
#include "ctr/commands.h"
#include "ctr/pb-json.h"
#include "lib/log.h"

static void print_envelope(const Containerd__Services__Events__V1__Envelope *e)
{
        _cleanup_free_ char *json = NULL;
        char ts[GO_TIME_MAX];

        if (e->event) {
                struct errmsg err = {0};

                if (pb_any_to_json(e->event, &json, &err) < 0) {
                        log_warn("cannot unmarshal an event from Any: %s", err.msg);
                        return;
                }
        }
        go_time_string(e->timestamp ? e->timestamp->seconds : -62135596800LL,
                       e->timestamp ? e->timestamp->nanos : 0, ts);
        printf("%s %s %s %s\n", ts, e->namespace_, e->topic, json ? json : "");
        fflush(stdout);
}

int cmd_events(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        Containerd__Services__Events__V1__SubscribeRequest req =
                CONTAINERD__SERVICES__EVENTS__V1__SUBSCRIBE_REQUEST__INIT;
        _cleanup_(grpc_client_stream_freep) struct grpc_client_stream *st = NULL;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        req.filters = argv + index;
        req.n_filters = (size_t) (argc - index);
        r = ctr_stream_open(c, "/containerd.services.events.v1.Events/Subscribe", &st, err);
        if (r >= 0)
                r = ctr_stream_send(st, &req.base, err);
        if (r >= 0)
                r = grpc_client_stream_close_send(st, err);
        while (r >= 0) {
                _cleanup_pb_ Containerd__Services__Events__V1__Envelope *e = NULL;

                r = ctr_stream_recv(st, &containerd__services__events__v1__envelope__descriptor, &e,
                                    err);
                if (r <= 0)
                        break;
                print_envelope(e);
        }
        return r;
}
