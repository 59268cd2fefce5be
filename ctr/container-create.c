/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctr's NewContainer (cmd/ctr/commands/run/run_unix.go) over the API, as containerd 1.6's
 * client does it: under a lease (24 h expiry, dropped at the end), the image is resolved, its
 * snapshot prepared with the container's id as key on the image's top chain id, the spec
 * built (the image's /etc/passwd and /etc/group read from the snapshot), then
 * Containers.Create with the runtime and its options, the labels (image config labels, image
 * labels, --label, the stop signal) and the spec as an Any. A failure removes the snapshot it
 * prepared, so that nothing is left behind.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "containerd/runc/options/oci.pb-c.h"
#include "containerd/services/images/v1/images.pb-c.h"
#include "containerd/services/snapshots/v1/snapshots.pb-c.h"
#include "ctr/container.h"
#include "ctr/image.h"
#include "ctr/pb-json.h"
#include "ctr/spec-rootfs.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define SNAPSHOTS   "/containerd.services.snapshots.v1.Snapshots/"
#define STOP_SIGNAL "io.containerd.image.config.stop-signal"
#define LABEL_MAX   4096
#define PREPARE_LABELS \
        (&containerd__services__snapshots__v1__prepare_snapshot_request__labels_entry__descriptor)

/* What container_new builds up; released by new_state_release(). */
struct new_state {
        char *snapshotter;
        char *prepared; /* the snapshot key prepared here (removed on failure) */
        json_t *labels; /* the container's labels */
        json_t *spec;
        struct ctr_image *image;
        struct spec_rootfs fs;
        struct spec_host host;
};

static void new_state_release(struct new_state *s)
{
        free(s->snapshotter);
        free(s->prepared);
        json_decref(s->labels);
        json_decref(s->spec);
        ctr_image_free(s->image);
        spec_rootfs_release(&s->fs);
        spec_host_release(&s->host);
}

/* --- runtime options (getRuntimeOptions) ---------------------------------------------- */

static int runtime_options(const struct container_flags *f, Google__Protobuf__Any *any,
                           struct errmsg *err)
{
        bool is_runc_v2 = STREQ(f->runtime, CTR_DEFAULT_RUNTIME);

        if (((f->runc_binary && *f->runc_binary) || f->runc_systemd_cgroup) && !is_runc_v2)
                return errmsg_set(err, -EINVAL,
                                  "specifying runc-binary and runc-systemd-cgroup is only "
                                  "supported for \"io.containerd.runc.v2\" runtime");
        if (is_runc_v2) {
                Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;

                if (f->runc_systemd_cgroup && !(f->spec.cgroup && *f->spec.cgroup))
                        return errmsg_set(err, -EINVAL,
                                          "option --runc-systemd-cgroup requires --cgroup to be "
                                          "set, e.g. \"machine.slice:foo:deadbeef\"");
                o.binary_name = (char *) (f->runc_binary ?: "");
                o.root = (char *) (f->runc_root ?: "");
                o.systemd_cgroup = f->runc_systemd_cgroup;
                any->type_url = xstrdup(RUNC_OPTIONS_TYPE_URL);
                any->value.len = protobuf_c_message_get_packed_size(&o.base);
                any->value.data = xmalloc(any->value.len + 1);
                protobuf_c_message_pack(&o.base, any->value.data);
        } else if (f->runtime_config_path && *f->runtime_config_path) {
                /* runtimeoptions.v1.Options{config_path = 2}, encoded by hand */
                size_t len = strlen(f->runtime_config_path);

                if (len > 127)
                        return errmsg_set(err, -EINVAL, "--runtime-config-path: too long");
                any->type_url = xstrdup("runtimeoptions.v1.Options");
                any->value.len = len + 2;
                any->value.data = xmalloc(len + 2);
                any->value.data[0] = 0x12;
                any->value.data[1] = (uint8_t) len;
                memcpy(any->value.data + 2, f->runtime_config_path, len);
        }
        return 0;
}

/* --- labels ----------------------------------------------------------------------------- */

/* commands.LabelArgs: "k=v", a bare "k" is "true". */
static void label_args(json_t *labels, char **args)
{
        strv_foreach (a, args) {
                const char *eq = strchr(*a, '=');
                _cleanup_free_ char *key = xstrndup(*a, eq ? (size_t) (eq - *a) : strlen(*a));

                json_object_set_new(labels, key, json_string(eq ? eq + 1 : "true"));
        }
}

/* The image record's labels (buildLabels: those too long are skipped with a warning). */
static int image_labels(struct ctr *c, const char *ref, json_t *labels, struct errmsg *err)
{
        Containerd__Services__Images__V1__GetImageRequest req =
                CONTAINERD__SERVICES__IMAGES__V1__GET_IMAGE_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Images__V1__GetImageResponse *resp = NULL;
        int r;

        req.name = (char *) ref;
        r = ctr_rpc(c, "/containerd.services.images.v1.Images/Get", &req.base,
                    &containerd__services__images__v1__get_image_response__descriptor, &resp, err);
        if (r < 0)
                return r;
        for (size_t i = 0; resp->image && i < resp->image->n_labels; i++) {
                const char *k = resp->image->labels[i]->key, *v = resp->image->labels[i]->value;

                if (strlen(k) + strlen(v) > LABEL_MAX) {
                        log_warn("unable to add image label with key %s to the container: label "
                                 "key and value greater than maximum size (%d bytes), key: %s",
                                 k, LABEL_MAX, k);
                        continue;
                }
                json_object_set_new(labels, k, json_string(v));
        }
        return 0;
}

/* WithImageConfigLabels, WithAdditionalContainerLabels(buildLabels), WithImageStopSignal. */
static int image_container_labels(struct ctr *c, const struct container_flags *f, const char *ref,
                                  struct new_state *s, struct errmsg *err)
{
        const json_t *config = json_object_get(s->image->config->json, "config");
        const char *key, *stop = json_string_value(json_object_get(config, "StopSignal"));
        json_t *v, *extra = json_object();
        int r;

        json_object_foreach ((json_t *) json_object_get(config, "Labels"), key, v)
                if (json_is_string(v))
                        json_object_set(s->labels, key, v);
        r = image_labels(c, ref, extra, err);
        if (r >= 0) {
                label_args(extra, f->spec.labels);
                json_object_update(s->labels, extra);
                json_object_set_new(s->labels, STOP_SIGNAL,
                                    json_string(stop && *stop ? stop : "SIGTERM"));
        }
        json_decref(extra);
        return r;
}

/* --- the snapshot ------------------------------------------------------------------------ */

static bool snapshot_exists(struct ctr *c, const char *snapshotter, const char *key,
                            struct errmsg *err, int *ret_r)
{
        Containerd__Services__Snapshots__V1__StatSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__STAT_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ ProtobufCMessage *resp = NULL;
        struct errmsg e = {0};
        int r;

        req.snapshotter = (char *) snapshotter;
        req.key = (char *) key;
        r = ctr_call(c, SNAPSHOTS "Stat", &req.base,
                     &containerd__services__snapshots__v1__stat_snapshot_response__descriptor,
                     &resp, &e);
        *ret_r = r == -ENOENT ? 0 : r;
        if (r < 0 && r != -ENOENT)
                *err = e;
        return r >= 0;
}

static int snapshot_prepare(struct ctr *c, const struct container_flags *f, const char *id,
                            struct new_state *s, struct errmsg *err)
{
        Containerd__Services__Snapshots__V1__PrepareSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Snapshots__V1__PrepareSnapshotResponse *resp = NULL;
        size_t n_chain = strv_length(s->image->chain_ids);
        json_t *labels = json_object();
        _cleanup_strv_ char **pairs = NULL;
        int r;

        label_args(labels, f->snapshotter_labels);
        pairs = labels_pairs(labels);
        req.snapshotter = s->snapshotter;
        req.key = (char *) id;
        req.parent = n_chain ? s->image->chain_ids[n_chain - 1] : (char *) "";
        req.labels = (Containerd__Services__Snapshots__V1__PrepareSnapshotRequest__LabelsEntry **)
                ctr_map_new(PREPARE_LABELS, pairs, &req.n_labels);
        r = ctr_rpc(c, SNAPSHOTS "Prepare", &req.base,
                    &containerd__services__snapshots__v1__prepare_snapshot_response__descriptor,
                    &resp, err);
        ctr_map_free((void **) req.labels, req.n_labels);
        json_decref(labels);
        if (r < 0)
                return r;
        s->prepared = xstrdup(id);
        return spec_rootfs_read_mounts(resp->mounts, resp->n_mounts, &s->fs, err);
}

static void snapshot_remove(struct ctr *c, const char *snapshotter, const char *key)
{
        Containerd__Services__Snapshots__V1__RemoveSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__REMOVE_SNAPSHOT_REQUEST__INIT;
        _cleanup_pb_ Google__Protobuf__Empty *resp = NULL;
        struct errmsg err = {0};

        req.snapshotter = (char *) snapshotter;
        req.key = (char *) key;
        if (ctr_call(c, SNAPSHOTS "Remove", &req.base, &google__protobuf__empty__descriptor, &resp,
                     &err) < 0)
                log_warn("remove snapshot %s: %s, ignoring", key, err.msg);
}

/* --- the record ------------------------------------------------------------------------------ */

static int create_record(struct ctr *c, const struct container_flags *f, const char *id,
                         const char *image, struct new_state *s, struct errmsg *err)
{
        Containerd__Services__Containers__V1__CreateContainerRequest req =
                CONTAINERD__SERVICES__CONTAINERS__V1__CREATE_CONTAINER_REQUEST__INIT;
        _cleanup_pb_ Containerd__Services__Containers__V1__CreateContainerResponse *resp = NULL;
        ctr_container ct = CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__INIT;
        Containerd__Services__Containers__V1__Container__Runtime rt =
                CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__RUNTIME__INIT;
        Google__Protobuf__Any options = GOOGLE__PROTOBUF__ANY__INIT,
                              spec = GOOGLE__PROTOBUF__ANY__INIT;
        _cleanup_strv_ char **pairs = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = runtime_options(f, &options, err);
        if (r < 0)
                return r;
        text = spec_dump(s->spec);
        spec.type_url = (char *) SPEC_TYPE_URL;
        spec.value.data = (uint8_t *) text;
        spec.value.len = strlen(text);
        rt.name = (char *) f->runtime;
        rt.options = options.type_url ? &options : NULL;
        ct.id = (char *) id;
        ct.image = (char *) (image ?: "");
        ct.runtime = &rt;
        ct.spec = &spec;
        ct.snapshotter = s->prepared ? s->snapshotter : (char *) "";
        ct.snapshot_key = s->prepared ? s->prepared : (char *) "";
        pairs = labels_pairs(s->labels);
        ct.labels = (Containerd__Services__Containers__V1__Container__LabelsEntry **) ctr_map_new(
                &containerd__services__containers__v1__container__labels_entry__descriptor, pairs,
                &ct.n_labels);
        req.container = &ct;
        r = ctr_rpc(c, "/containerd.services.containers.v1.Containers/Create", &req.base,
                    &containerd__services__containers__v1__create_container_response__descriptor,
                    &resp, err);
        ctr_map_free((void **) ct.labels, ct.n_labels);
        free(options.type_url);
        free(options.value.data);
        return r;
}

/* The image's part before the lease (as ctr: Images.Get, IsUnpacked): resolve it, check it is
 * unpacked in the snapshotter, the labels it gives the container. */
static int image_resolve(struct ctr *c, const struct container_flags *f, const char *ref,
                         struct new_state *s, struct errmsg *err)
{
        struct oci_platform platform = {0};
        size_t n_chain;
        int r;

        if (f->platform && *f->platform) {
                r = oci_platform_parse(f->platform, &platform, err);
                if (r < 0)
                        return r;
        }
        r = ctr_image_resolve(c, ref, f->platform && *f->platform ? &platform : NULL, &s->image,
                              err);
        oci_platform_release(&platform);
        if (r >= 0)
                r = ctr_snapshotter_name(c, f->snapshotter, &s->snapshotter, err);
        if (r < 0)
                return r;
        /* as ctr: an image not unpacked in the snapshotter is unpacked first */
        n_chain = strv_length(s->image->chain_ids);
        if (n_chain > 0 &&
            !snapshot_exists(c, s->snapshotter, s->image->chain_ids[n_chain - 1], err, &r)) {
                if (r >= 0)
                        r = ctr_unpack(c, s->image, s->snapshotter, err);
                if (r < 0)
                        return r;
        }
        return image_container_labels(c, f, ref, s, err);
}

/* --config FILE: the spec as given (WithSpecFromFile); only --label applies. */
static int spec_from_file(const char *path, json_t **ret, struct errmsg *err)
{
        _cleanup_free_ char *text = NULL;
        json_error_t jerr;
        size_t len;
        json_t *spec;
        int r;

        r = read_file_at(AT_FDCWD, path, SPEC_MAX_BYTES, &text, &len);
        if (r < 0)
                return errmsg_set(err, r, "cannot load spec config file: open %s: %s", path,
                                  strerror(-r));
        spec = json_loadb(text, len, 0, &jerr);
        if (!json_is_object(spec)) {
                json_decref(spec);
                return errmsg_set(err, -EINVAL,
                                  "decoding spec config file failed, current supported OCI "
                                  "runtime-spec : v1.0.2-dev: %s",
                                  jerr.text);
        }
        *ret = spec;
        return 0;
}

/* The spec of a container made from a config file or a --rootfs directory. */
static int unmanaged_spec(const struct container_flags *f, const char *ns, const char *ref,
                          const char *id, char **args, struct new_state *s, struct errmsg *err)
{
        struct spec_opts o = f->spec;
        _cleanup_free_ char *abs = NULL;
        int r;

        label_args(s->labels, f->spec.labels);
        if (f->config) {
                r = spec_from_file(f->config, &s->spec, err);
                if (r < 0)
                        return r;
                /* WithAnnotations(labels) */
                if (json_object_size(s->labels) > 0) {
                        json_t *a = json_object_get(s->spec, "annotations");

                        if (!json_is_object(a))
                                json_object_set_new(s->spec, "annotations", a = json_object());
                        json_object_update(a, s->labels);
                }
                spec_order(s->spec);
                return 0;
        }
        if (ref[0] == '/')
                abs = xstrdup(ref);
        else {
                char cwd[PATH_MAX];

                if (!getcwd(cwd, sizeof(cwd)))
                        return errmsg_set(err, -errno, "getwd: %m");
                abs = xasprintf("%s/%s", cwd, ref);
        }
        o.rootfs = abs;
        o.args = args;
        if (o.user && *o.user) {
                r = spec_rootfs_read_dir(abs, &s->fs, err);
                if (r < 0)
                        return r;
        }
        return spec_build(ns, id, &o, NULL, &s->host, &s->fs, &s->spec, err);
}

int container_new(struct ctr *c, const struct container_flags *f, const char *ref, const char *id,
                  char **args, struct errmsg *err)
{
        struct new_state s = {.labels = json_object()};
        bool is_image = !f->config && !f->rootfs;
        struct spec_opts o = f->spec;
        int r;

        o.args = args;
        r = spec_host_probe(&s.host, f->spec.privileged, f->spec.devices, err);
        if (r >= 0 && is_image)
                r = image_resolve(c, f, ref, &s, err);
        if (r >= 0)
                r = ctr_lease_begin(c, err);
        if (r >= 0 && !is_image)
                r = unmanaged_spec(f, c->opts->namespace, ref, id, args, &s, err);
        else if (r >= 0) {
                r = snapshot_prepare(c, f, id, &s, err);
                if (r >= 0)
                        r = spec_build(c->opts->namespace, id, &o, s.image->config->json, &s.host,
                                       &s.fs, &s.spec, err);
        }
        if (r >= 0)
                r = create_record(c, f, id, is_image ? ref : NULL, &s, err);
        if (r < 0 && s.prepared)
                snapshot_remove(c, s.snapshotter, s.prepared);
        ctr_lease_end(c);
        new_state_release(&s);
        return r;
}
