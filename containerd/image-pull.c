/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pulling an image (image.h, image_pull): manifests and config first, then the layers
 * through the registry client's concurrent downloads. Each layer's bytes go to its content
 * ingest and, when unpacking into overlayfs, through a socket to a thread that decompresses
 * and applies them into the layer's own snapshot directory as they arrive, so layers unpack in
 * parallel and while they download (Docker and containerd download first, then unpack one
 * layer at a time). Nothing is trusted before it is verified: blobs by digest at commit, layers
 * by diff id before their snapshot is committed, in chain order. Layers that could not stream
 * (a resumed download, the native snapshotter) are unpacked from the store afterwards.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>

#include "containerd/image.h"
#include "containerd/layer.h"
#include "lib/fs.h"
#include "lib/reference.h"
#include "lib/registry.h"
#include "lib/xalloc.h"

#define STREAM_SOCKET_BUFFER (1 << 20)

static const char *const pull_state_names[_PULL_STATE_MAX] = {
        [PULL_STATE_WAITING] = "waiting",
        [PULL_STATE_DOWNLOADING] = "downloading",
        [PULL_STATE_DONE] = "done",
        [PULL_STATE_EXISTS] = "exists",
};

const char *pull_state_to_string(enum pull_state s)
{
        return s < _PULL_STATE_MAX ? pull_state_names[s] : NULL;
}

struct pull {
        struct store *st;
        struct registry_client *c;
        const char *ns;
        const struct pull_opts *o;
        struct image_ref *ref;
        char *lease;
        struct snapshotter *sn; /* NULL: no unpack */
};

/* One blob to fetch, and for a streamed layer its unpacking. */
struct blob_job {
        struct pull *p;
        const struct oci_descriptor *desc;
        struct content_writer *w; /* NULL when the blob is in the store already */
        struct registry_blob_fetch *fetch;
        bool is_done;
        /* streaming unpack (overlayfs, a download from byte 0, a layer not unpacked yet) */
        int sock; /* our end; -EBADF once closed */
        int peer; /* the unpacking thread's end */
        int dir_fd;
        char *key;
        pthread_t thread;
        bool has_thread;
        int apply_result;
        struct errmsg apply_err;
        struct layer_apply_result applied;
};

static void report(struct pull *p, const struct oci_descriptor *d, enum pull_state state,
                   uint64_t done)
{
        struct pull_progress pr = {.digest = d->digest,
                                   .media_type = d->media_type,
                                   .state = state,
                                   .done = done,
                                   .total = (uint64_t) d->size};

        if (p->o->progress)
                p->o->progress(p->o->progress_userdata, &pr);
}

static int hold(struct pull *p, const char *type, const char *id, struct errmsg *err)
{
        return lease_add_resource(p->st->md, p->ns, p->lease, type, id, err);
}

/* A manifest or index body fetched whole: into the store and the namespace's records. */
static int store_body(struct pull *p, const struct registry_manifest *m, struct errmsg *err)
{
        int r = hold(p, "content", m->digest, err);

        if (r >= 0)
                r = content_store_put(p->st->cs, m->body, m->len, NULL, err);
        return r < 0 ? r : content_record_add(p->st->md, p->ns, m->digest, (int64_t) m->len, err);
}

/* The media type to record for a manifest body: the registry's, or the body's kind. */
static const char *body_media_type(const struct registry_manifest *m)
{
        enum media_kind kind = media_type_kind(m->media_type);

        if (kind == MEDIA_KIND_INDEX || kind == MEDIA_KIND_MANIFEST)
                return m->media_type;
        return manifest_body_kind(m->body, m->len) == MEDIA_KIND_INDEX ? MEDIA_TYPE_OCI_INDEX
                                                                       : MEDIA_TYPE_OCI_MANIFEST;
}

static ssize_t read_socket(void *userdata, void *buf, size_t size)
{
        int fd = *(int *) userdata;

        for (;;) {
                ssize_t n = read(fd, buf, size);

                if (n >= 0)
                        return n;
                if (errno != EINTR)
                        return -errno;
        }
}

static void *unpack_thread(void *userdata)
{
        struct blob_job *j = userdata;
        struct layer_apply_opts o = {.whiteouts = LAYER_WHITEOUTS_OVERLAY};

        j->apply_result =
                layer_apply_from(j->dir_fd, read_socket, &j->peer, &o, &j->applied, &j->apply_err);
        j->peer = safe_close(j->peer); /* the sender sees EPIPE if we stopped early */
        return NULL;
}

/* Starts unpacking job's layer into a new parentless snapshot as its bytes arrive. */
static int stream_start(struct blob_job *j, struct errmsg *err)
{
        struct pull *p = j->p;
        _cleanup_free_ char *type = xasprintf("snapshots/%s", snapshotter_name(p->sn));
        int pair[2], size = STREAM_SOCKET_BUFFER, r;

        j->key = xasprintf("extract-%s %s", p->lease, j->desc->digest);
        r = hold(p, type, j->key, err);
        if (r >= 0)
                r = snapshot_prepare_unpack(p->sn, p->ns, j->key, &j->dir_fd, err);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return errmsg_set(err, -errno, "socketpair: %s", strerror(errno));
        (void) setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        j->sock = pair[0];
        j->peer = pair[1];
        r = -pthread_create(&j->thread, NULL, unpack_thread, j);
        if (r < 0)
                return errmsg_set(err, r, "unpack thread: %s", strerror(-r));
        j->has_thread = true;
        return 0;
}

/* Closes the stream (EOF for the reader) and waits for the unpacking to end. */
static void stream_finish(struct blob_job *j)
{
        j->sock = safe_close(j->sock);
        if (j->has_thread)
                (void) pthread_join(j->thread, NULL);
        j->has_thread = false;
        j->peer = safe_close(j->peer);
        j->dir_fd = safe_close(j->dir_fd);
}

static int send_all(int fd, const void *buf, size_t len)
{
        const uint8_t *b = buf;

        while (len > 0) {
                ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                b += n;
                len -= (size_t) n;
        }
        return 0;
}

static int job_sink(void *userdata, const void *buf, size_t len)
{
        struct blob_job *j = userdata;
        int r = content_writer_write(j->w, buf, len, NULL);

        if (r < 0)
                return r;
        /* the unpacker stopped early (a bad layer): it reports why; keep downloading */
        if (j->sock >= 0 && send_all(j->sock, buf, len) < 0)
                j->sock = safe_close(j->sock);
        return 0;
}

static void on_progress(void *userdata, size_t index, uint64_t done, uint64_t total)
{
        struct blob_job **active = userdata;
        struct blob_job *j = active[index];

        (void) total;
        report(j->p, j->desc, PULL_STATE_DOWNLOADING, done);
}

static void job_release(struct blob_job *j)
{
        stream_finish(j);
        j->w = content_writer_free(j->w); /* an unfinished ingest stays for resuming */
        free(j->key);
        j->key = NULL;
}

/* Opens the ingest of each job; jobs whose blob is present need nothing. */
static int jobs_open(struct pull *p, struct blob_job *jobs, size_t n, struct errmsg *err)
{
        for (size_t i = 0; i < n; i++) {
                const struct oci_descriptor *d = jobs[i].desc;
                _cleanup_free_ char *ref = xasprintf("pull-%s", d->digest);
                int r = hold(p, "content", d->digest, err);

                if (r >= 0)
                        r = content_writer_open(p->st->cs, ref, (uint64_t) d->size, d->digest,
                                                &jobs[i].w, err);
                if (r == -EEXIST) {
                        jobs[i].is_done = true;
                        report(p, d, PULL_STATE_EXISTS, (uint64_t) d->size);
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Where the blob came from, so that a push to the same registry can mount it (containerd's
 * distribution-source label: the repository, on a key naming the registry). */
static int label_source(struct pull *p, const struct oci_descriptor *d, struct errmsg *err)
{
        _cleanup_free_ char *key = xasprintf(LABEL_DISTRIBUTION_SOURCE "%s", p->ref->domain);

        return image_label_content(p->st, p->ns, d->digest, d->size, key, p->ref->path, err);
}

/* Downloads what the jobs still need; then commits each (digest and size verified). */
static int jobs_fetch(struct pull *p, struct blob_job *jobs, size_t n, struct errmsg *err)
{
        _cleanup_free_ struct registry_blob_fetch *f = xnew0(struct registry_blob_fetch, n);
        _cleanup_free_ struct blob_job **active = xnew0(struct blob_job *, n);
        size_t n_active = 0;
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                if (jobs[i].is_done)
                        continue;
                f[n_active] =
                        (struct registry_blob_fetch){.digest = jobs[i].desc->digest,
                                                     .size = (uint64_t) jobs[i].desc->size,
                                                     .offset = content_writer_offset(jobs[i].w),
                                                     .sink = job_sink,
                                                     .userdata = &jobs[i]};
                jobs[i].fetch = &f[n_active];
                active[n_active++] = &jobs[i];
        }
        if (n_active > 0)
                r = registry_fetch_blobs(p->c, p->ref, f, n_active, on_progress, active, err);
        for (size_t i = 0; i < n; i++)
                stream_finish(&jobs[i]);
        for (size_t i = 0; r >= 0 && i < n_active; i++) {
                struct blob_job *j = active[i];

                r = content_writer_commit(TAKE_PTR(j->w), (uint64_t) j->desc->size, j->desc->digest,
                                          NULL, err);
                if (r >= 0)
                        r = content_record_add(p->st->md, p->ns, j->desc->digest, j->desc->size,
                                               err);
                if (r < 0)
                        return errmsg_prefix(err, r, "%s", j->desc->digest);
                j->is_done = true;
                j->fetch = NULL;
                report(p, j->desc, PULL_STATE_DONE, (uint64_t) j->desc->size);
        }
        for (size_t i = 0; i < n; i++) {
                jobs[i].fetch = NULL;
                if (r >= 0)
                        r = label_source(p, jobs[i].desc, err);
        }
        return r;
}

/* Fetches one small blob (the config) and reads it back. */
static int fetch_config(struct pull *p, const struct oci_descriptor *d, char **ret, size_t *ret_len,
                        struct errmsg *err)
{
        struct blob_job job = {.p = p, .desc = d, .sock = -EBADF, .peer = -EBADF, .dir_fd = -EBADF};
        int r;

        r = jobs_open(p, &job, 1, err);
        if (r >= 0)
                r = jobs_fetch(p, &job, 1, err);
        job_release(&job);
        if (r >= 0)
                r = content_record_add(p->st->md, p->ns, d->digest, d->size, err);
        return r < 0 ? r : image_read_blob(p->st, d->digest, CONFIG_MAX_BYTES, ret, ret_len, err);
}

static bool chain_exists(struct pull *p, const char *chain)
{
        struct snapshot_info info;

        if (snapshot_stat(p->sn, p->ns, chain, &info, NULL) < 0)
                return false;
        snapshot_info_release(&info);
        return true;
}

/* A streamed layer's outcome: applied without error, to the diff id the config names. */
static int check_streamed(const struct blob_job *j, const char *want, struct errmsg *err)
{
        if (j->apply_result < 0)
                return errmsg_set(err, j->apply_result, "layer %s: %s", j->desc->digest,
                                  j->apply_err.msg);
        if (!STREQ(j->applied.diff_id, want))
                return errmsg_set(err, -EBADMSG,
                                  "layer %s: diff id %s does not match the image's %s",
                                  j->desc->digest, j->applied.diff_id, want);
        return 0;
}

/* Commits streamed layers onto each other in chain order, as far as the chain is unbroken;
 * image_unpack() does the rest from the store. */
static int commit_chains(struct pull *p, struct blob_job *jobs, char (*chains)[DIGEST_STR_MAX],
                         const struct oci_image_config *c, size_t n, struct errmsg *err)
{
        for (size_t i = 0; i < n; i++) {
                int r;

                if (chain_exists(p, chains[i]))
                        continue;
                if (!jobs[i].key)
                        break;
                r = check_streamed(&jobs[i], c->diff_ids[i], err);
                if (r >= 0)
                        r = snapshot_commit_onto(p->sn, p->ns, chains[i], jobs[i].key,
                                                 i > 0 ? chains[i - 1] : NULL, NULL, err);
                if (r == -EEXIST) /* another pull committed the same chain meanwhile */
                        r = 0;
                if (r >= 0)
                        r = image_label_content(p->st, p->ns, jobs[i].desc->digest,
                                                jobs[i].desc->size, LABEL_UNCOMPRESSED,
                                                c->diff_ids[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool can_stream(struct pull *p, const struct blob_job *j, const char *chain)
{
        return p->sn && p->sn == p->st->snapshotters[SNAPSHOTTER_OVERLAYFS] && j->w &&
               content_writer_offset(j->w) == 0 && !chain_exists(p, chain);
}

static int pull_layers(struct pull *p, const struct oci_manifest *m,
                       const struct oci_image_config *c, struct errmsg *err)
{
        size_t n = m->n_layers;
        struct blob_job *jobs = xnew0(struct blob_job, n);
        char(*chains)[DIGEST_STR_MAX] = xcalloc(n, DIGEST_STR_MAX);
        int r;

        for (size_t i = 0; i < n; i++) {
                jobs[i] = (struct blob_job){.p = p,
                                            .desc = &m->layers[i],
                                            .sock = -EBADF,
                                            .peer = -EBADF,
                                            .dir_fd = -EBADF};
                image_chain_id(i > 0 ? chains[i - 1] : NULL, c->diff_ids[i], chains[i]);
                report(p, jobs[i].desc, PULL_STATE_WAITING, 0);
        }
        r = jobs_open(p, jobs, n, err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (can_stream(p, &jobs[i], chains[i]))
                        r = stream_start(&jobs[i], err);
        if (r >= 0)
                r = jobs_fetch(p, jobs, n, err);
        if (r >= 0 && p->sn)
                r = commit_chains(p, jobs, chains, c, n, err);
        for (size_t i = 0; i < n; i++) {
                stream_finish(&jobs[i]);
                if (jobs[i].key) /* not committed (committed ones have another name now) */
                        (void) snapshot_remove(p->sn, p->ns, jobs[i].key, NULL);
                job_release(&jobs[i]);
        }
        free(jobs);
        free(chains);
        return r;
}

/* Fetches the platform's manifest of an index; labels the index so that GC keeps it. */
static int pull_platform_manifest(struct pull *p, const struct registry_manifest *top,
                                  struct registry_manifest *ret, struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_free_ char *key = NULL;
        struct oci_platform host = {0};
        const struct oci_descriptor *d;
        int r;

        r = oci_index_parse(top->body, top->len, &idx, err);
        if (r < 0)
                return errmsg_prefix(err, r, "index %s", top->digest);
        if (!p->o->platform)
                oci_platform_default(&host);
        d = oci_index_select(idx, p->o->platform ? p->o->platform : &host);
        if (!d) {
                _cleanup_free_ char *want =
                        oci_platform_string(p->o->platform ? p->o->platform : &host);

                oci_platform_release(&host);
                return errmsg_set(err, -ENOENT, "%s: no manifest for platform %s", top->digest,
                                  want);
        }
        oci_platform_release(&host);
        r = registry_get_manifest(p->c, p->ref, d->digest, ret, err);
        if (r >= 0)
                r = store_body(p, ret, err);
        if (r < 0)
                return r;
        key = xasprintf(LABEL_GC_REF_CONTENT ".m.%zu", (size_t) (d - idx->manifests));
        return image_label_content(p->st, p->ns, top->digest, (int64_t) top->len, key, d->digest,
                                   err);
}

static int label_manifest(struct pull *p, const struct registry_manifest *man,
                          const struct oci_manifest *m, struct errmsg *err)
{
        int r = image_label_content(p->st, p->ns, man->digest, (int64_t) man->len,
                                    LABEL_GC_REF_CONTENT ".config", m->config.digest, err);

        for (size_t i = 0; r >= 0 && i < m->n_layers; i++) {
                _cleanup_free_ char *key = xasprintf(LABEL_GC_REF_CONTENT ".l.%zu", i);

                r = image_label_content(p->st, p->ns, man->digest, (int64_t) man->len, key,
                                        m->layers[i].digest, err);
        }
        return r;
}

/* The manifest's config and layers, and the unpack of what did not stream. */
static int pull_manifest(struct pull *p, const struct registry_manifest *man,
                         const struct descriptor *target, struct errmsg *err)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_(oci_image_config_freep) struct oci_image_config *c = NULL;
        _cleanup_free_ char *config = NULL;
        size_t len;
        int r;

        r = oci_manifest_parse(man->body, man->len, &m, err);
        if (r < 0)
                return errmsg_prefix(err, r, "manifest %s", man->digest);
        r = label_manifest(p, man, m, err);
        if (r >= 0)
                r = fetch_config(p, &m->config, &config, &len, err);
        if (r >= 0)
                r = oci_image_config_parse(config, len, &c, err);
        if (r >= 0 && c->n_diff_ids != m->n_layers)
                r = errmsg_set(err, -EINVAL, "manifest %s: %zu layers but %zu diff ids",
                               man->digest, m->n_layers, c->n_diff_ids);
        if (r >= 0)
                r = pull_layers(p, m, c, err);
        if (r >= 0 && p->sn)
                r = image_unpack(p->st, p->ns, target, p->o->platform, snapshotter_name(p->sn),
                                 NULL, err);
        return r;
}

static int record_image(struct pull *p, const struct descriptor *target, struct image_record *ret,
                        struct errmsg *err)
{
        _cleanup_free_ char *name = image_ref_string(p->ref);
        struct image_record rec = {.name = name, .target = *target};
        int r = image_put(p->st->md, p->ns, &rec, false, err);

        if (r == -EEXIST)
                r = image_put(p->st->md, p->ns, &rec, true, err);
        if (r >= 0 && ret)
                r = image_get(p->st->md, p->ns, name, ret, err);
        return r;
}

static int pull_image(struct pull *p, struct image_record *ret, struct errmsg *err)
{
        struct registry_manifest top = {0}, platform = {0};
        struct descriptor target = {0};
        int r;

        r = registry_get_manifest(p->c, p->ref, NULL, &top, err);
        if (r >= 0)
                r = store_body(p, &top, err);
        if (r >= 0) {
                target.media_type = (char *) body_media_type(&top);
                memcpy(target.digest, top.digest, DIGEST_STR_MAX);
                target.size = (int64_t) top.len;
                if (media_type_kind(target.media_type) == MEDIA_KIND_INDEX)
                        r = pull_platform_manifest(p, &top, &platform, err);
        }
        if (r >= 0)
                r = pull_manifest(p, platform.body ? &platform : &top, &target, err);
        if (r >= 0)
                r = record_image(p, &target, ret, err);
        registry_manifest_release(&platform);
        registry_manifest_release(&top);
        return r;
}

int image_pull(struct store *st, struct registry_client *c, const char *ns, const char *ref,
               const struct pull_opts *o, struct image_record *ret, struct errmsg *err)
{
        struct pull p = {.st = st, .c = c, .ns = ns, .o = o};
        int r;

        r = image_ref_parse(ref, &p.ref, err);
        if (r < 0)
                return r;
        if (o->snapshotter && !(p.sn = store_snapshotter(st, o->snapshotter, err)))
                r = -EINVAL;
        if (r >= 0)
                r = image_lease_create(st, ns, "pull", &p.lease, err);
        if (r >= 0) {
                r = pull_image(&p, ret, err);
                (void) lease_delete(st->md, ns, p.lease, NULL);
        }
        if (r < 0)
                (void) errmsg_prefix(err, r, "pull %s", ref);
        free(p.lease);
        image_ref_free(p.ref);
        return r;
}
