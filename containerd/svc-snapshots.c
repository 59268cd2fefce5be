/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.services.snapshots.v1.Snapshots over the snapshotters (snapshot.h). The
 * request's snapshotter name picks one of the store's ("" the daemon's default); keys are per
 * namespace. Snapshots made under a lease ("containerd-lease" metadata) are added to it as
 * "snapshots/<snapshotter>" resources, so that garbage collection keeps them until the
 * client is done. Errors carry containerd's words (metadata/snapshot.go).
 */
#include "containerd/events.h"
#include "containerd/events/snapshot.pb-c.h"
#include "containerd/services/snapshots/v1/snapshots.pb-c.h"
#include "containerd/svc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

typedef Containerd__Services__Snapshots__V1__Info info_msg_t;

/* Infos per List answer: containerd's service sends them in batches too. */
#define LIST_BATCH 100

/* The snapshotter the request names; containerd: INVALID_ARGUMENT "snapshotter not loaded". */
static int pick(struct daemon *d, const char *name, struct snapshotter **ret, struct errmsg *err)
{
        struct snapshotter *s = NULL;

        if (!name || !name[0])
                name = d->o.default_snapshotter ? d->o.default_snapshotter : "overlayfs";
        s = store_snapshotter(d->st, name, NULL);
        if (!s)
                return errmsg_set(err, -EINVAL, "snapshotter not loaded: %s", name);
        *ret = s;
        return 0;
}

/* Adds key to the call's lease, if it has one. */
static int lease_snapshot(struct grpc_call *call, struct daemon *d, const char *ns,
                          struct snapshotter *s, const char *key, struct errmsg *err)
{
        _cleanup_free_ char *type = xasprintf("snapshots/%s", snapshotter_name(s));

        return svc_lease_add(call, d, ns, type, key, err);
}

/* Answers with mounts, in a response whose only field is the mounts (Prepare, View and Mounts
 * share that layout). */
static int reply_mounts(struct grpc_call *call, const ProtobufCMessageDescriptor *desc,
                        const struct mount_spec *m, size_t n)
{
        Containerd__Services__Snapshots__V1__MountsResponse out =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__MOUNTS_RESPONSE__INIT;
        _cleanup_free_ Containerd__Types__Mount *mounts = xnew0(Containerd__Types__Mount, n + 1);
        _cleanup_free_ Containerd__Types__Mount **ptrs = xnew0(Containerd__Types__Mount *, n + 1);

        out.base.descriptor = desc;
        for (size_t i = 0; i < n; i++) {
                mounts[i] = (Containerd__Types__Mount) CONTAINERD__TYPES__MOUNT__INIT;
                mounts[i].type = m[i].type;
                mounts[i].source = m[i].source;
                mounts[i].n_options = strv_length(m[i].options);
                mounts[i].options = m[i].options;
                ptrs[i] = &mounts[i];
        }
        out.n_mounts = n;
        out.mounts = ptrs;
        return svc_reply(call, &out.base);
}

/* Prepare and View: the requests and answers have the same layout. */
static int create_common(struct grpc_call *call, struct daemon *d, const uint8_t *msg, size_t len,
                         bool is_view, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Snapshots__V1__PrepareSnapshotRequest *in = NULL;
        struct mount_spec *m = NULL;
        struct snapshot_info pinfo;
        struct snapshotter *s = NULL;
        char **labels = NULL;
        const char *ns, *parent;
        size_t n = 0;
        int r;

        r = svc_namespace(call, &ns, err);
        if (r >= 0)
                r = svc_unpack(
                        is_view ? &containerd__services__snapshots__v1__view_snapshot_request__descriptor
                                : &containerd__services__snapshots__v1__prepare_snapshot_request__descriptor,
                        msg, len, &in, err);
        if (r >= 0)
                r = pick(d, in->snapshotter, &s, err);
        if (r < 0)
                return r;
        parent = in->parent && in->parent[0] ? in->parent : NULL;
        if (parent) {
                r = snapshot_stat(s, ns, parent, &pinfo, NULL);
                if (r == -ENOENT)
                        return errmsg_set(err, r, "parent snapshot %s does not exist", parent);
                if (r >= 0)
                        snapshot_info_release(&pinfo);
        }
        labels = svc_labels_from_map((void *const *) in->labels, in->n_labels);
        r = (is_view ? snapshot_view : snapshot_prepare)(s, ns, in->key, parent, labels, &m, &n,
                                                         err);
        strv_free(labels);
        if (r == -EEXIST)
                return errmsg_set(err, r, "snapshot \"%s\"", in->key);
        if (r >= 0)
                r = lease_snapshot(call, d, ns, s, in->key, err);
        if (r >= 0)
                r = reply_mounts(
                        call,
                        is_view ? &containerd__services__snapshots__v1__view_snapshot_response__descriptor
                                : &containerd__services__snapshots__v1__prepare_snapshot_response__descriptor,
                        m, n);
        mount_specs_free(m, n);
        /* containerd publishes Prepare, not View */
        if (r >= 0 && !is_view) {
                Containerd__Events__SnapshotPrepare ev = CONTAINERD__EVENTS__SNAPSHOT_PREPARE__INIT;

                ev.key = in->key;
                ev.parent = in->parent;
                (void) events_publish(d->events, ns, "/snapshot/prepare", &ev.base);
        }
        return r;
}

static int prepare_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                      struct errmsg *err)
{
        return create_common(call, userdata, msg, len, false, err);
}

static int view_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        return create_common(call, userdata, msg, len, true, err);
}

static int mounts_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Snapshots__V1__MountsRequest *in = NULL;
        struct mount_spec *m = NULL;
        struct snapshotter *s = NULL;
        const char *ns;
        size_t n = 0;
        int r;

        r = svc_request(call, &containerd__services__snapshots__v1__mounts_request__descriptor, msg,
                        len, &in, &ns, err);
        if (r >= 0)
                r = pick(userdata, in->snapshotter, &s, err);
        if (r >= 0)
                r = snapshot_mounts(s, ns, in->key, &m, &n, err);
        if (r < 0)
                return r;
        r = reply_mounts(call, &containerd__services__snapshots__v1__mounts_response__descriptor, m,
                         n);
        mount_specs_free(m, n);
        return r;
}

static int commit_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Snapshots__V1__CommitSnapshotRequest *in = NULL;
        struct daemon *d = userdata;
        struct snapshotter *s = NULL;
        char **labels;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__snapshots__v1__commit_snapshot_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = pick(d, in->snapshotter, &s, err);
        if (r < 0)
                return r;
        labels = svc_labels_from_map((void *const *) in->labels, in->n_labels);
        r = snapshot_commit(s, ns, in->name, in->key, labels, err);
        strv_free(labels);
        if (r == -EEXIST)
                return errmsg_set(err, r, "snapshot \"%s\"", in->name);
        if (r == -EINVAL && err && strstr(err->msg, "is not active"))
                /* containerd's storage.CommitActive names the backend's key
                 * "<namespace>/<bolt id>/<key>"; we have no bolt id to give */
                return errmsg_set(err, -EBUSY,
                                  "failed to commit snapshot: snapshot \"%s/%s\" is not active", ns,
                                  in->key);
        if (r >= 0)
                r = lease_snapshot(call, d, ns, s, in->name, err);
        if (r >= 0)
                r = svc_reply_empty(call);
        if (r >= 0) {
                Containerd__Events__SnapshotCommit ev = CONTAINERD__EVENTS__SNAPSHOT_COMMIT__INIT;

                ev.key = in->key;
                ev.name = in->name;
                (void) events_publish(d->events, ns, "/snapshot/commit", &ev.base);
        }
        return r;
}

static int remove_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Snapshots__V1__RemoveSnapshotRequest *in = NULL;
        struct snapshotter *s = NULL;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__snapshots__v1__remove_snapshot_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = pick(userdata, in->snapshotter, &s, err);
        if (r >= 0)
                r = snapshot_remove(s, ns, in->key, err);
        if (r == -EBUSY)
                return errmsg_set(err, r, "cannot remove snapshot with child");
        if (r >= 0)
                r = svc_reply_empty(call);
        if (r >= 0) {
                struct daemon *d = userdata;
                Containerd__Events__SnapshotRemove ev = CONTAINERD__EVENTS__SNAPSHOT_REMOVE__INIT;

                ev.key = in->key;
                (void) events_publish(d->events, ns, "/snapshot/remove", &ev.base);
        }
        return r;
}

/* An Info message for i; free with info_out_release. */
static void info_from_snapshot(const struct snapshot_info *i, info_msg_t *o,
                               Google__Protobuf__Timestamp ts[2])
{
        size_t n;

        *o = (info_msg_t) CONTAINERD__SERVICES__SNAPSHOTS__V1__INFO__INIT;
        o->name = i->key;
        o->parent = i->parent ? i->parent : (char *) "";
        o->kind = (Containerd__Services__Snapshots__V1__Kind) i->kind;
        svc_timestamp(&i->created_at, &ts[0]);
        svc_timestamp(&i->updated_at, &ts[1]);
        o->created_at = &ts[0];
        o->updated_at = &ts[1];
        o->labels = (Containerd__Services__Snapshots__V1__Info__LabelsEntry **) svc_map_from_labels(
                i->labels, &containerd__services__snapshots__v1__info__labels_entry__descriptor,
                &n);
        o->n_labels = n;
}

static void info_out_release(info_msg_t *o)
{
        svc_map_free((void **) o->labels, o->n_labels);
}

/* Answers with key's info in a response whose only field is the info (Stat, Update). */
static int reply_info(struct grpc_call *call, struct snapshotter *s, const char *ns,
                      const char *key, const ProtobufCMessageDescriptor *desc, struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__StatSnapshotResponse out =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__STAT_SNAPSHOT_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts[2];
        struct snapshot_info i;
        info_msg_t o;
        int r;

        r = snapshot_stat(s, ns, key, &i, err);
        if (r < 0)
                return r;
        info_from_snapshot(&i, &o, ts);
        out.base.descriptor = desc;
        out.info = &o;
        r = svc_reply(call, &out.base);
        info_out_release(&o);
        snapshot_info_release(&i);
        return r;
}

static int stat_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Snapshots__V1__StatSnapshotRequest *in = NULL;
        struct snapshotter *s = NULL;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__snapshots__v1__stat_snapshot_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = pick(userdata, in->snapshotter, &s, err);
        return r < 0 ? r
                     : reply_info(
                               call, s, ns, in->key,
                               &containerd__services__snapshots__v1__stat_snapshot_response__descriptor,
                               err);
}

/* The labels to set for the update's field paths (an empty value removes a key), and whether
 * they replace all; containerd accepts only labels and labels.<key>. */
static int update_labels(const Containerd__Services__Snapshots__V1__UpdateSnapshotRequest *in,
                         char ***ret, bool *ret_replace_all, struct errmsg *err)
{
        _cleanup_strv_ char **all = NULL;
        char **set = NULL;
        bool replace_all = false;

        all = svc_labels_from_map((void *const *) in->info->labels, in->info->n_labels);
        if (!in->update_mask || in->update_mask->n_paths == 0) {
                *ret = TAKE_PTR(all);
                *ret_replace_all = true;
                return 0;
        }
        for (size_t i = 0; i < in->update_mask->n_paths; i++) {
                const char *p = in->update_mask->paths[i];
                const char *v;

                if (STREQ(p, "labels")) {
                        replace_all = true;
                        continue;
                }
                if (strncmp(p, "labels.", 7) != 0) {
                        strv_free(set);
                        return errmsg_set(err, -EINVAL,
                                          "cannot update \"%s\" field on snapshot \"%s\"", p,
                                          in->info->name);
                }
                v = svc_label_field(p, all);
                (void) strv_push(&set, p + 7);
                (void) strv_push(&set, v ? v : "");
        }
        if (replace_all) {
                /* "labels" wins: the labels become exactly the info's */
                strv_free(set);
                set = TAKE_PTR(all);
        }
        *ret = set;
        *ret_replace_all = replace_all;
        return 0;
}

static int update_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Snapshots__V1__UpdateSnapshotRequest *in = NULL;
        _cleanup_strv_ char **labels = NULL;
        struct snapshotter *s = NULL;
        bool replace_all;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__snapshots__v1__update_snapshot_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0 && (!in->info || !in->info->name[0]))
                r = errmsg_set(err, -EINVAL, "snapshot name is required");
        if (r >= 0)
                r = pick(userdata, in->snapshotter, &s, err);
        if (r >= 0)
                r = update_labels(in, &labels, &replace_all, err);
        if (r >= 0)
                r = snapshot_update_labels(s, ns, in->info->name, labels, replace_all, err);
        return r < 0 ? r
                     : reply_info(
                               call, s, ns, in->info->name,
                               &containerd__services__snapshots__v1__update_snapshot_response__descriptor,
                               err);
}

static const char *info_field(const char *field, void *object)
{
        const struct snapshot_info *i = object;

        if (STREQ(field, "name"))
                return i->key;
        if (STREQ(field, "parent"))
                return i->parent;
        if (STREQ(field, "kind"))
                return snapshot_kind_to_string(i->kind);
        return svc_label_field(field, i->labels);
}

/* Sends infos[0..n) as one ListSnapshotsResponse. */
static int send_batch(struct grpc_call *call, const struct snapshot_info *const *v, size_t n)
{
        Containerd__Services__Snapshots__V1__ListSnapshotsResponse out =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__LIST_SNAPSHOTS_RESPONSE__INIT;
        _cleanup_free_ info_msg_t *o = xnew0(info_msg_t, n + 1);
        _cleanup_free_ info_msg_t **ptrs = xnew0(info_msg_t *, n + 1);
        _cleanup_free_ Google__Protobuf__Timestamp *ts =
                xnew0(Google__Protobuf__Timestamp, 2 * n + 2);
        int r;

        for (size_t i = 0; i < n; i++) {
                info_from_snapshot(v[i], &o[i], &ts[2 * i]);
                ptrs[i] = &o[i];
        }
        out.n_info = n;
        out.info = ptrs;
        r = svc_send(call, &out.base);
        for (size_t i = 0; i < n; i++)
                info_out_release(&o[i]);
        return r;
}

static int list_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Snapshots__V1__ListSnapshotsRequest *in = NULL;
        const struct snapshot_info *batch[LIST_BATCH];
        struct snapshot_info *v = NULL;
        struct snapshotter *s = NULL;
        size_t n = 0, k = 0;
        const char *ns;
        int r;

        r = svc_request(call,
                        &containerd__services__snapshots__v1__list_snapshots_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = pick(userdata, in->snapshotter, &s, err);
        if (r >= 0)
                r = snapshot_list(s, ns, &v, &n, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                bool match;

                r = svc_filters_match(in->filters, in->n_filters, info_field, &v[i], &match, err);
                if (r < 0 || !match)
                        continue;
                batch[k++] = &v[i];
                if (k == LIST_BATCH) {
                        r = send_batch(call, batch, k);
                        k = 0;
                }
        }
        if (r >= 0 && k > 0)
                r = send_batch(call, batch, k);
        if (r >= 0)
                r = grpc_call_finish(call, RPC_OK, NULL);
        snapshot_infos_free(v, n);
        return r;
}

static int usage_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                    struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Snapshots__V1__UsageRequest *in = NULL;
        Containerd__Services__Snapshots__V1__UsageResponse out =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__USAGE_RESPONSE__INIT;
        struct snapshotter *s = NULL;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__snapshots__v1__usage_request__descriptor, msg,
                        len, &in, &ns, err);
        if (r >= 0)
                r = pick(userdata, in->snapshotter, &s, err);
        if (r >= 0)
                r = snapshot_usage(s, ns, in->key, &out.size, &out.inodes, err);
        return r < 0 ? r : svc_reply(call, &out.base);
}

/* Cleanup: snapshot directories never outlive their records here (snapshot_remove removes
 * both, snapshotter_open the leftovers of a crash), so there is nothing to clean. */
static int cleanup_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                      struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Snapshots__V1__CleanupRequest *in = NULL;
        struct snapshotter *s = NULL;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__snapshots__v1__cleanup_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = pick(userdata, in->snapshotter, &s, err);
        return r < 0 ? r : svc_reply_empty(call);
}

const struct grpc_method svc_snapshots_methods[] = {
        {"/containerd.services.snapshots.v1.Snapshots/Prepare", GRPC_UNARY, prepare_fn},
        {"/containerd.services.snapshots.v1.Snapshots/View", GRPC_UNARY, view_fn},
        {"/containerd.services.snapshots.v1.Snapshots/Mounts", GRPC_UNARY, mounts_fn},
        {"/containerd.services.snapshots.v1.Snapshots/Commit", GRPC_UNARY, commit_fn},
        {"/containerd.services.snapshots.v1.Snapshots/Remove", GRPC_UNARY, remove_fn},
        {"/containerd.services.snapshots.v1.Snapshots/Stat", GRPC_UNARY, stat_fn},
        {"/containerd.services.snapshots.v1.Snapshots/Update", GRPC_UNARY, update_fn},
        {"/containerd.services.snapshots.v1.Snapshots/List", GRPC_SERVER_STREAMING, list_fn},
        {"/containerd.services.snapshots.v1.Snapshots/Usage", GRPC_UNARY, usage_fn},
        {"/containerd.services.snapshots.v1.Snapshots/Cleanup", GRPC_UNARY, cleanup_fn},
        {NULL},
};
