/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images over the store (image.h): chain ids, resolving a target to manifest and config,
 * labels, leases, and unpacking layers one after the other from the content store (import,
 * a resumed pull, the native snapshotter). A pull that streams layers straight from the
 * registry into snapshots is image-pull.c.
 */
#include "containerd/image.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/random.h>

#include "containerd/layer.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define LEASE_LIFETIME_S 3600

int image_read_blob(struct store *st, const char *digest, size_t max, char **ret, size_t *ret_len,
                    struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = content_store_open_blob(st->cs, digest, &fd, err);
        if (r < 0)
                return r;
        r = read_fd_all(fd, max, ret, ret_len);
        if (r < 0)
                return errmsg_set(err, r, "content %s: %s", digest,
                                  r == -EFBIG ? "too large" : strerror(-r));
        return 0;
}

void image_resolved_release(struct image_resolved *r)
{
        r->manifest = oci_manifest_free(r->manifest);
        r->config = oci_image_config_free(r->config);
}

/* The manifest digest for target: itself, or the platform's entry of an index. */
static int pick_manifest(struct store *st, const struct descriptor *target,
                         const struct oci_platform *platform, char ret[DIGEST_STR_MAX],
                         struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_free_ char *body = NULL;
        const struct oci_descriptor *d;
        struct oci_platform host = {0};
        size_t len;
        int r;

        if (media_type_kind(target->media_type) != MEDIA_KIND_INDEX) {
                (void) snprintf(ret, DIGEST_STR_MAX, "%s", target->digest);
                return 0;
        }
        r = image_read_blob(st, target->digest, MANIFEST_MAX_BYTES, &body, &len, err);
        if (r >= 0)
                r = oci_index_parse(body, len, &idx, err);
        if (r < 0)
                return errmsg_prefix(err, r, "index %s", target->digest);
        if (!platform)
                oci_platform_default(&host);
        d = oci_index_select(idx, platform ? platform : &host);
        if (!d) {
                _cleanup_free_ char *want = oci_platform_string(platform ? platform : &host);

                oci_platform_release(&host);
                return errmsg_set(err, -EINVAL, "index %s: no manifest for platform %s",
                                  target->digest, want);
        }
        oci_platform_release(&host);
        (void) snprintf(ret, DIGEST_STR_MAX, "%s", d->digest);
        return 0;
}

int image_resolve(struct store *st, const struct descriptor *target,
                  const struct oci_platform *platform, struct image_resolved *ret,
                  struct errmsg *err)
{
        struct image_resolved res = {0};
        _cleanup_free_ char *manifest = NULL, *config = NULL;
        size_t len;
        int r;

        r = pick_manifest(st, target, platform, res.manifest_digest, err);
        if (r >= 0)
                r = image_read_blob(st, res.manifest_digest, MANIFEST_MAX_BYTES, &manifest, &len,
                                    err);
        if (r >= 0)
                r = oci_manifest_parse(manifest, len, &res.manifest, err);
        if (r >= 0)
                r = image_read_blob(st, res.manifest->config.digest, CONFIG_MAX_BYTES, &config,
                                    &len, err);
        if (r >= 0)
                r = oci_image_config_parse(config, len, &res.config, err);
        if (r >= 0 && res.config->n_diff_ids != res.manifest->n_layers)
                r = errmsg_set(err, -EINVAL,
                               "manifest %s: %zu layers but its config has %zu diff ids",
                               res.manifest_digest, res.manifest->n_layers, res.config->n_diff_ids);
        if (r < 0) {
                image_resolved_release(&res);
                return r;
        }
        *ret = res;
        return 0;
}

int image_label_content(struct store *st, const char *ns, const char *digest, int64_t size,
                        const char *key, const char *value, struct errmsg *err)
{
        char *labels[] = {(char *) key, (char *) value, NULL};
        int r;

        r = content_record_add(st->md, ns, digest, size, err);
        return r < 0 ? r : content_record_update_labels(st->md, ns, digest, labels, false, err);
}

int image_lease_create(struct store *st, const char *ns, const char *prefix, char **ret_id,
                       struct errmsg *err)
{
        struct timespec now;
        uint32_t rnd = 0;
        char expire[64];
        struct tm tm;
        char *labels[] = {(char *) LABEL_GC_EXPIRE, expire, NULL};
        _cleanup_free_ char *id = NULL;
        time_t until;
        int r;

        (void) clock_gettime(CLOCK_REALTIME, &now);
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
                rnd = (uint32_t) now.tv_nsec; /* uniqueness comes from the time anyway */
        until = now.tv_sec + LEASE_LIFETIME_S;
        (void) gmtime_r(&until, &tm);
        (void) strftime(expire, sizeof(expire), "%Y-%m-%dT%H:%M:%SZ", &tm);
        id = xasprintf("%s-%lld%09ld-%08x", prefix, (long long) now.tv_sec, now.tv_nsec, rnd);
        r = lease_create(st->md, ns, id, labels, err);
        if (r < 0)
                return r;
        *ret_id = TAKE_PTR(id);
        return 0;
}

struct unpack {
        struct store *st;
        const char *ns;
        struct snapshotter *sn;
        const char *lease;
        struct image_resolved *res;
};

/* Applies layer i (in the content store) into a new snapshot on parent, committed as chain. */
static int unpack_layer(struct unpack *u, size_t i, const char *parent, const char *chain,
                        struct errmsg *err)
{
        const struct oci_descriptor *layer = &u->res->manifest->layers[i];
        const char *want = u->res->config->diff_ids[i];
        struct layer_apply_opts o = {.whiteouts = u->sn == u->st->snapshotters[SNAPSHOTTER_NATIVE]
                                                          ? LAYER_WHITEOUTS_APPLY
                                                          : LAYER_WHITEOUTS_OVERLAY};
        _cleanup_free_ char *key = xasprintf("extract-%s %s", u->lease, chain);
        _cleanup_free_ char *type = xasprintf("snapshots/%s", snapshotter_name(u->sn));
        _cleanup_close_ int dir_fd = -EBADF, blob_fd = -EBADF;
        struct layer_apply_result res;
        int r;

        r = lease_add_resource(u->st->md, u->ns, u->lease, type, key, err);
        if (r >= 0)
                r = content_store_open_blob(u->st->cs, layer->digest, &blob_fd, err);
        if (r >= 0)
                r = snapshot_prepare(u->sn, u->ns, key, parent, NULL, NULL, NULL, err);
        if (r < 0)
                return r;
        r = snapshot_open_dir(u->sn, u->ns, key, &dir_fd, err);
        if (r >= 0)
                r = layer_apply(dir_fd, blob_fd, &o, &res, err);
        if (r >= 0 && !STREQ(res.diff_id, want))
                r = errmsg_set(err, -EBADMSG, "diff id %s does not match the image's %s",
                               res.diff_id, want);
        if (r >= 0)
                r = snapshot_commit(u->sn, u->ns, chain, key, NULL, err);
        if (r == -EEXIST) /* someone else unpacked the same layer meanwhile */
                r = 0;
        if (r < 0) {
                (void) snapshot_remove(u->sn, u->ns, key, NULL);
                return errmsg_prefix(err, r, "layer %s", layer->digest);
        }
        (void) snapshot_remove(u->sn, u->ns, key, NULL); /* gone after a commit, -EEXIST case */
        return image_label_content(u->st, u->ns, layer->digest, layer->size, LABEL_UNCOMPRESSED,
                                   want, err);
}

static int unpack_layers(struct unpack *u, char ret_chain[DIGEST_STR_MAX], struct errmsg *err)
{
        char chain[DIGEST_STR_MAX], parent[DIGEST_STR_MAX] = "";
        const struct oci_image_config *c = u->res->config;

        for (size_t i = 0; i < c->n_diff_ids; i++) {
                struct snapshot_info info;
                int r;

                image_chain_id(parent[0] ? parent : NULL, c->diff_ids[i], chain);
                r = snapshot_stat(u->sn, u->ns, chain, &info, NULL);
                if (r >= 0)
                        snapshot_info_release(&info);
                else
                        r = unpack_layer(u, i, parent[0] ? parent : NULL, chain, err);
                if (r < 0)
                        return r;
                memcpy(parent, chain, DIGEST_STR_MAX);
        }
        memcpy(ret_chain, parent, DIGEST_STR_MAX);
        return 0;
}

int image_unpack(struct store *st, const char *ns, const struct descriptor *target,
                 const struct oci_platform *platform, const char *snapshotter,
                 char ret_chain_id[DIGEST_STR_MAX], struct errmsg *err)
{
        struct image_resolved res = {0};
        struct unpack u = {.st = st, .ns = ns, .res = &res};
        _cleanup_free_ char *lease = NULL, *label = NULL;
        char top[DIGEST_STR_MAX] = "";
        int r;

        u.sn = store_snapshotter(st, snapshotter, err);
        if (!u.sn)
                return -EINVAL;
        r = image_resolve(st, target, platform, &res, err);
        if (r >= 0)
                r = image_lease_create(st, ns, "unpack", &lease, err);
        if (r < 0) {
                image_resolved_release(&res);
                return r;
        }
        u.lease = lease;
        r = unpack_layers(&u, top, err);
        if (r >= 0 && top[0]) {
                label = xasprintf(LABEL_GC_REF_SNAPSHOT "%s", snapshotter_name(u.sn));
                r = image_label_content(st, ns, res.manifest->config.digest,
                                        res.manifest->config.size, label, top, err);
        }
        (void) lease_delete(st->md, ns, lease, NULL);
        image_resolved_release(&res);
        if (r < 0)
                return r;
        if (ret_chain_id)
                memcpy(ret_chain_id, top, DIGEST_STR_MAX);
        return 0;
}
