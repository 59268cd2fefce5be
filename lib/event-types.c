/* SPDX-License-Identifier: Apache-2.0 */
/* containerd 1.6's event types by name (see event-types.h). */
#include "event-types.h"

#include "common.h"
#include "containerd/events/container.pb-c.h"
#include "containerd/events/content.pb-c.h"
#include "containerd/events/image.pb-c.h"
#include "containerd/events/namespace.pb-c.h"
#include "containerd/events/snapshot.pb-c.h"
#include "containerd/events/task.pb-c.h"

static const ProtobufCMessageDescriptor *const event_types[] = {
        &containerd__events__container_create__descriptor,
        &containerd__events__container_update__descriptor,
        &containerd__events__container_delete__descriptor,
        &containerd__events__content_delete__descriptor,
        &containerd__services__images__v1__image_create__descriptor,
        &containerd__services__images__v1__image_update__descriptor,
        &containerd__services__images__v1__image_delete__descriptor,
        &containerd__events__namespace_create__descriptor,
        &containerd__events__namespace_update__descriptor,
        &containerd__events__namespace_delete__descriptor,
        &containerd__events__snapshot_prepare__descriptor,
        &containerd__events__snapshot_commit__descriptor,
        &containerd__events__snapshot_remove__descriptor,
        &containerd__events__task_create__descriptor,
        &containerd__events__task_start__descriptor,
        &containerd__events__task_delete__descriptor,
        &containerd__events__task_io__descriptor,
        &containerd__events__task_exit__descriptor,
        &containerd__events__task_oom__descriptor,
        &containerd__events__task_exec_added__descriptor,
        &containerd__events__task_exec_started__descriptor,
        &containerd__events__task_paused__descriptor,
        &containerd__events__task_resumed__descriptor,
        &containerd__events__task_checkpointed__descriptor,
};

const ProtobufCMessageDescriptor *event_type_lookup(const char *type_url)
{
        const char *slash = strrchr(type_url, '/');

        if (slash)
                type_url = slash + 1;
        for (size_t i = 0; i < ELEMENTSOF(event_types); i++)
                if (STREQ(event_types[i]->name, type_url))
                        return event_types[i];
        return NULL;
}
