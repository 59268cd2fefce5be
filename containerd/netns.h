/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Persistent network namespaces (what containerd's pkg/netns does for CRI sandboxes): a new
 * network namespace bind-mounted on a file, so it outlives every process in it and other
 * containers can join it by path (runtime-spec linux.namespaces[].path). No addresses or
 * routes are configured here; a fresh namespace has only its loopback device, down.
 *
 * A container asks for one with the label NETNS_LABEL=NETNS_NEW on Containers.Create: the
 * daemon makes <state>/netns/<namespace>/<id>, points the spec's network namespace at it and
 * records the path in the label NETNS_PATH_LABEL; Containers.Delete removes it.
 */
#pragma once

#include "lib/errmsg.h"

#define NETNS_LABEL      "io.berth.netns"
#define NETNS_NEW        "new"
#define NETNS_PATH_LABEL "io.berth.netns.path"

/* Creates dir/ns/id (dirs as needed) with a new network namespace bound on it; *ret_path is
 * the caller's. -EEXIST when the file is there; on failure nothing is left. */
int netns_create(const char *dir, const char *ns, const char *id, char **ret_path,
                 struct errmsg *err);
/* Unmounts and removes path; 0 when it is not there. */
int netns_remove(const char *path, struct errmsg *err);

/*
 * Points the network namespace entry of spec (runtime-spec JSON, spec_len bytes) at path;
 * *ret is the new JSON (the caller's). -EINVAL when the spec is not JSON or has no network
 * namespace to point (it shares the host's network).
 */
int netns_spec_join(const char *spec, size_t spec_len, const char *path, char **ret,
                    size_t *ret_len, struct errmsg *err);
