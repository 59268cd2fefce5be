/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container records through the API as ctr's client library reads and removes them
 * (container.go: Info, Spec, Delete with WithSnapshotCleanup), the snapshotter a container
 * gets by default (the namespace's containerd.io/defaults/snapshotter label, else overlayfs),
 * protobuf map entries, and errdefs.FromGRPC's wording of errors.
 */
#include <stdlib.h>

#include "containerd/services/snapshots/v1/snapshots.pb-c.h"
#include "ctr/container.h"
#include "ctr/task.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define CONTAINERS "/containerd.services.containers.v1.Containers/"

static int compare_keys(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

char **labels_pairs(const json_t *obj)
{
        size_t n = json_object_size(obj), i = 0;
        _cleanup_free_ const char **keys = xnew0(const char *, n + 1);
        char **pairs = NULL;
        const char *key;
        json_t *val;

        json_object_foreach ((json_t *) obj, key, val)
                keys[i++] = key;
        qsort(keys, n, sizeof(*keys), compare_keys);
        for (i = 0; i < n; i++) {
                strv_push(&pairs, keys[i]);
                strv_push(&pairs, json_string_value(json_object_get(obj, keys[i])) ?: "");
        }
        return pairs;
}

int container_get(struct ctr *c, const char *id,
                  Containerd__Services__Containers__V1__GetContainerResponse **ret,
                  struct errmsg *err)
{
        Containerd__Services__Containers__V1__GetContainerRequest req =
                CONTAINERD__SERVICES__CONTAINERS__V1__GET_CONTAINER_REQUEST__INIT;
        Containerd__Services__Containers__V1__GetContainerResponse *resp = NULL;
        int r;

        req.id = (char *) id;
        r = ctr_rpc(c, CONTAINERS "Get", &req.base,
                    &containerd__services__containers__v1__get_container_response__descriptor,
                    &resp, err);
        if (r < 0)
                return r;
        if (!resp->container) {
                protobuf_c_message_free_unpacked(&resp->base, NULL);
                return errmsg_set(err, -EBADMSG, "container %s: empty answer", id);
        }
        *ret = resp;
        return 0;
}

int container_spec(const ctr_container *ct, json_t **ret, struct errmsg *err)
{
        json_error_t jerr;
        json_t *spec;

        if (!ct->spec || !ct->spec->value.len)
                return errmsg_set(err, -EINVAL, "container \"%s\" has no spec", ct->id);
        spec = json_loadb((const char *) ct->spec->value.data, ct->spec->value.len, 0, &jerr);
        if (!json_is_object(spec)) {
                json_decref(spec);
                return errmsg_set(err, -EINVAL, "container \"%s\": spec: %s", ct->id, jerr.text);
        }
        *ret = spec;
        return 0;
}

/* WithSnapshotCleanup: the snapshot goes; one already gone is fine. */
static int snapshot_cleanup(struct ctr *c, const ctr_container *ct, struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__RemoveSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__REMOVE_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;
        int r;

        if (!ct->snapshot_key || !*ct->snapshot_key)
                return 0;
        if (!ct->snapshotter || !*ct->snapshotter)
                return errmsg_set(err, -EINVAL,
                                  "container.Snapshotter must be set to cleanup rootfs snapshot: "
                                  "invalid argument");
        req.snapshotter = ct->snapshotter;
        req.key = ct->snapshot_key;
        r = ctr_call(c, "/containerd.services.snapshots.v1.Snapshots/Remove", &req.base,
                     &google__protobuf__empty__descriptor, &resp, err);
        return r == -ENOENT ? 0 : ctr_errdefs(r, err);
}

int container_delete(struct ctr *c, const char *id, bool keep_snapshot, struct errmsg *err)
{
        Containerd__Services__Containers__V1__DeleteContainerRequest req =
                CONTAINERD__SERVICES__CONTAINERS__V1__DELETE_CONTAINER_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Containers__V1__GetContainerResponse *got = NULL;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;
        _cleanup_pb_ ProtobufCMessage *task = NULL;
        struct errmsg e = {0};
        int r;

        if (task_get(c, id, NULL, (void *) &task, &e) >= 0)
                return errmsg_set(err, -EBUSY, "cannot delete running task %s: failed precondition",
                                  id);
        r = container_get(c, id, &got, err);
        if (r >= 0 && !keep_snapshot)
                r = snapshot_cleanup(c, got->container, err);
        if (r < 0)
                return r;
        req.id = (char *) id;
        return ctr_rpc(c, CONTAINERS "Delete", &req.base, &google__protobuf__empty__descriptor,
                       &resp, err);
}
