/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the event exchange's filters and topics (containerd/events.c): the
 * input, split at newlines, is a Subscribe's filter list; parsed or refused without crash or
 * leak, and a parsed list is matched against envelopes with decoded event fields. Each line
 * also goes through events_validate_topic() and is published as a topic.
 */
#include "containerd/events.h"
#include "containerd/events/namespace.pb-c.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int take(const uint8_t *msg, size_t len, void *userdata)
{
        (void) msg;
        (void) len;
        (void) userdata;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(events_freep) struct events *ex = events_new();
        Containerd__Events__NamespaceCreate ev = CONTAINERD__EVENTS__NAMESPACE_CREATE__INIT;
        Containerd__Events__NamespaceCreate__LabelsEntry e =
                CONTAINERD__EVENTS__NAMESPACE_CREATE__LABELS_ENTRY__INIT;
        Containerd__Events__NamespaceCreate__LabelsEntry *entries[] = {&e};
        struct events_subscriber *sub = NULL;
        _cleanup_free_ char *s = NULL;
        _cleanup_strv_ char **lines = NULL;
        struct errmsg err = {0};
        char *save = NULL;

        if (size > 4 * EVENTS_FILTER_MAX_LEN)
                return 0;
        s = xstrndup((const char *) data, size);
        for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                (void) strv_push(&lines, l);
        ev.name = (char *) "x";
        e.key = (char *) "k";
        e.value = (char *) "v";
        ev.labels = entries;
        ev.n_labels = 1;
        (void) events_subscribe(ex, lines, strv_length(lines), take, NULL, NULL, &sub, &err);
        (void) events_publish(ex, "default", "/namespaces/create", &ev.base);
        for (size_t i = 0; lines && lines[i]; i++) {
                (void) events_validate_topic(lines[i], &err);
                (void) events_publish(ex, "default", lines[i], &ev.base);
        }
        return 0;
}
