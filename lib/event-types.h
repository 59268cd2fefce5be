/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event messages containerd 1.6 publishes (the protos of api/events and the image events of
 * services/images/v1), found by the type URL of the Any that carries them: the name
 * ("containerd.events.TaskExit"), or a URL ending in "/<name>" as typeurl accepts.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>

/* The descriptor of the event type_url names, or NULL. */
const ProtobufCMessageDescriptor *event_type_lookup(const char *type_url);
