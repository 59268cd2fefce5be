/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-ctr images pull: ctr's pull done client-side over the API, as containerd 1.6's client
 * does it (cmd/ctr/commands/images/pull.go, content/fetch.go, client.Fetch, remotes/
 * handlers.go): under a lease, the reference is resolved at the registry (HEAD), the index or
 * manifest written into the content store (Content.Write, ref "index-<digest>" or
 * "manifest-<digest>"), each parent labelled with its children (containerd.io/gc.ref.content.*)
 * and every blob with its distribution source; the config and layers of the platforms asked
 * for are downloaded concurrently through the registry client and streamed into their ingests
 * ("config-<digest>", "layer-<digest>"; an ingest left by an earlier try is resumed where it
 * stands); then the image is recorded (Images.Create, or Update), unpacked per platform and
 * the lease dropped. The progress is ctr's (progress.h).
 */
#include <stdlib.h>
#include <time.h>

#include "ctr/commands.h"
#include "ctr/image.h"
#include "ctr/progress.h"
#include "lib/log.h"
#include "lib/registry.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define WALK_DEPTH_MAX     8
#define LABEL_SOURCE       "containerd.io/distribution.source."
#define LABEL_GC_CONTENT   "containerd.io/gc.ref.content"
#define LABEL_SIZE_MAX     4096 /* containerd's labels.Validate: key and value together */
#define OBJECT_REQUIRED    "object required"
#define MANIFEST_IN_MEMORY MANIFEST_MAX_BYTES

struct pull_opts {
        bool plain_http, skip_verify;
        const char *user, *tlscacert, *snapshotter;
        long max_concurrent_downloads;
        char **labels; /* --label: strv of key, value */
        struct oci_platform *platforms;
        size_t n_platforms;
        bool all_platforms, all_metadata, print_chainid;
};

/* One blob to fetch: the descriptor, its ingest and its line in the display. */
struct job {
        struct pull *pull;
        struct oci_descriptor desc;
        char *key; /* the ingest ref, as remotes.MakeRefKey */
        size_t line;
        struct ctr_writer *w;
        bool exists;       /* in the store already */
        struct errmsg err; /* why the sink stopped */
        char *body;        /* indexes and manifests: the bytes */
        size_t len;
};

struct pull {
        struct ctr *c;
        const struct pull_opts *o;
        struct registry_client *rc;
        struct image_ref *ref;
        char *source_key, *source_repo; /* the distribution source label */
        struct progress *progress;
        struct job **jobs;
        size_t n_jobs, alloc_jobs;
        struct job **blobs; /* configs and layers, in the order seen */
        size_t n_blobs, alloc_blobs;
        struct job **downloads; /* those being downloaded: registry_fetch_blobs()'s order */
};

static struct job *job_free(struct job *j)
{
        if (!j)
                return NULL;
        oci_descriptor_release(&j->desc);
        free(j->key);
        ctr_writer_free(j->w);
        free(j->body);
        free(j);
        return NULL;
}

static void pull_release(struct pull *p)
{
        for (size_t i = 0; i < p->n_jobs; i++)
                job_free(p->jobs[i]);
        free(p->jobs);
        free(p->blobs);
        free(p->downloads);
        registry_client_free(p->rc);
        image_ref_free(p->ref);
        free(p->source_key);
        free(p->source_repo);
        progress_free(p->progress);
}

/* remotes.MakeRefKey: the ingest ref of a descriptor ("layer-sha256:..."). */
static char *ref_key(const struct oci_descriptor *d)
{
        static const char *const prefix[_MEDIA_KIND_MAX] = {
                [MEDIA_KIND_UNKNOWN] = "unknown", [MEDIA_KIND_MANIFEST] = "manifest",
                [MEDIA_KIND_INDEX] = "index",     [MEDIA_KIND_CONFIG] = "config",
                [MEDIA_KIND_LAYER] = "layer",
        };
        const char *name = oci_annotation_get(d->annotations, "org.opencontainers.image.ref.name");

        if (name)
                return xasprintf("%s-%s@%s", prefix[media_type_kind(d->media_type)], name,
                                 d->digest);
        return xasprintf("%s-%s", prefix[media_type_kind(d->media_type)], d->digest);
}

/* The job of d: the one already made for its digest (as ctr's Jobs dedup), or a new one. */
static struct job *job_get(struct pull *p, const struct oci_descriptor *d, bool *ret_is_new)
{
        struct job *j;

        for (size_t i = 0; i < p->n_jobs; i++)
                if (STREQ(p->jobs[i]->desc.digest, d->digest)) {
                        *ret_is_new = false;
                        return p->jobs[i];
                }
        j = xnew0(struct job, 1);
        j->pull = p;
        j->desc = (struct oci_descriptor){.media_type = xstrdup(d->media_type ?: ""),
                                          .digest = xstrdup(d->digest),
                                          .size = d->size,
                                          .annotations = strv_copy(d->annotations)};
        j->key = ref_key(d);
        j->line = progress_add(p->progress, j->key);
        p->jobs = xgrow(p->jobs, &p->alloc_jobs, p->n_jobs + 1, sizeof(*p->jobs));
        p->jobs[p->n_jobs++] = j;
        *ret_is_new = true;
        return j;
}

/* --- labels --------------------------------------------------------------------------- */

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* docker.appendDistributionSourceLabel: the repositories, sorted, each once. */
static char *append_source(const char *origin, const char *repo)
{
        _cleanup_strv_ char **repos = NULL;
        size_t n, len = 0, at = 0;
        char *s;

        for (const char *p = origin; p && *p;) {
                const char *comma = strchr(p, ',');
                _cleanup_free_ char *one = xstrndup(p, comma ? (size_t) (comma - p) : strlen(p));

                strv_push(&repos, one);
                p = comma ? comma + 1 : p + strlen(p);
        }
        strv_push(&repos, repo);
        n = strv_length(repos);
        qsort(repos, n, sizeof(char *), compare_strings);
        for (size_t i = 0; i < n; i++)
                len += strlen(repos[i]) + 1;
        s = xnew0(char, len + 1);
        for (size_t i = 0; i < n; i++) {
                if (!repos[i][0] || (i > 0 && STREQ(repos[i], repos[i - 1])))
                        continue;
                at += (size_t) snprintf(s + at, len + 1 - at, "%s%s", at ? "," : "", repos[i]);
        }
        return s;
}

/* docker.AppendDistributionSourceLabel's handler: the repository added to the blob's label. */
static int label_source(struct pull *p, const char *digest, struct errmsg *err)
{
        _cleanup_strv_ char **labels = NULL;
        _cleanup_free_ char *value = NULL;
        const char *origin = NULL;
        int r;

        r = ctr_content_info(p->c, digest, NULL, &labels, err);
        if (r < 0)
                return r;
        for (size_t i = 0; labels && labels[i]; i += 2)
                if (STREQ(labels[i], p->source_key))
                        origin = labels[i + 1];
        value = append_source(origin, p->source_repo);
        if (strlen(p->source_key) + strlen(value) > LABEL_SIZE_MAX) {
                log_warn("skip to append distribution label: label key and value length "
                         "(%zu bytes) greater than maximum size (%d bytes)",
                         strlen(p->source_key) + strlen(value), LABEL_SIZE_MAX);
                return 0;
        }
        return ctr_content_label(p->c, digest, (char *const[]){p->source_key, value, NULL}, err);
}

/* images.SetChildrenMappedLabels with ChildGCLabels: the parent's labels for its children. */
static int label_children(struct pull *p, const char *digest, const struct oci_descriptor *children,
                          size_t n, struct errmsg *err)
{
        _cleanup_strv_ char **labels = NULL;
        size_t n_manifests = 0, n_layers = 0, n_other = 0;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *key = NULL;

                switch (media_type_kind(children[i].media_type)) {
                case MEDIA_KIND_CONFIG:
                        key = xstrdup(LABEL_GC_CONTENT ".config");
                        break;
                case MEDIA_KIND_MANIFEST:
                        key = xasprintf(LABEL_GC_CONTENT ".m.%zu", n_manifests++);
                        break;
                case MEDIA_KIND_LAYER:
                        key = xasprintf(LABEL_GC_CONTENT ".l.%zu", n_layers++);
                        break;
                default:
                        key = xasprintf(LABEL_GC_CONTENT ".%zu", n_other++);
                        break;
                }
                strv_push(&labels, key);
                strv_push(&labels, children[i].digest);
        }
        return ctr_content_label(p->c, digest, labels, err);
}

/* --- writing blobs -------------------------------------------------------------------- */

/* Opens j's ingest: j->exists when the store has it; else j->w at its offset. */
static int job_open(struct job *j, struct errmsg *err)
{
        int r;

        if (j->desc.size <= 0)
                return errmsg_set(err, -EINVAL,
                                  "unable to fetch descriptor (%s) which reports content size of "
                                  "zero: invalid argument",
                                  j->desc.digest);
        r = ctr_writer_open(j->pull->c, j->key, j->desc.size, j->desc.digest, &j->w, err);
        if (r == -EEXIST) {
                j->exists = true;
                progress_set(j->pull->progress, j->line, PROGRESS_EXISTS, 0, 0);
                return 0;
        }
        if (r < 0)
                return r;
        progress_set(j->pull->progress, j->line, PROGRESS_DOWNLOADING, ctr_writer_offset(j->w),
                     j->desc.size);
        return 0;
}

static int job_commit(struct job *j, struct errmsg *err)
{
        int r;

        if (j->exists || !j->w)
                return 0;
        r = ctr_writer_commit(j->w, j->desc.size, j->desc.digest, NULL, NULL, err);
        j->w = ctr_writer_free(j->w);
        if (r < 0)
                return r;
        progress_set(j->pull->progress, j->line, PROGRESS_DONE, j->desc.size, j->desc.size);
        return 0;
}

/* An index or manifest: fetched whole (by digest) and written from where the ingest is. */
static int fetch_manifest(struct pull *p, struct job *j, struct errmsg *err)
{
        struct registry_manifest m = {0};
        int64_t offset;
        int r;

        r = job_open(j, err);
        /* all there: another namespace's blob (or a finished ingest), committed as it is */
        if (r >= 0 && !j->exists && ctr_writer_offset(j->w) == j->desc.size)
                r = job_commit(j, err);
        if (r < 0)
                return r;
        if (j->exists || !j->w)
                return ctr_content_read(p->c, j->desc.digest, MANIFEST_IN_MEMORY, &j->body, &j->len,
                                        err);
        r = registry_get_manifest(p->rc, p->ref, j->desc.digest, &m, err);
        if (r >= 0 && (int64_t) m.len != j->desc.size)
                r = errmsg_set(err, -EBADMSG, "manifest %s: %zu bytes, not %lld", j->desc.digest,
                               m.len, (long long) j->desc.size);
        offset = ctr_writer_offset(j->w);
        if (r >= 0 && offset < j->desc.size)
                r = ctr_writer_write(j->w, m.body + offset, m.len - (size_t) offset, err);
        if (r >= 0)
                r = job_commit(j, err);
        if (r >= 0) {
                j->body = TAKE_PTR(m.body);
                j->len = m.len;
        }
        registry_manifest_release(&m);
        return r;
}

static int blob_sink(void *userdata, const void *buf, size_t len)
{
        struct job *j = userdata;

        return ctr_writer_write(j->w, buf, len, &j->err);
}

static void blob_progress(void *userdata, size_t index, uint64_t done, uint64_t total)
{
        struct pull *p = userdata;
        struct job *j = p->downloads[index];

        (void) total;
        progress_set(p->progress, j->line, PROGRESS_DOWNLOADING, (int64_t) done, j->desc.size);
        progress_tick(p->progress);
}

/* Downloads every blob not in the store, concurrently, then commits them in order. */
static int fetch_blobs(struct pull *p, struct errmsg *err)
{
        _cleanup_free_ struct registry_blob_fetch *v =
                xnew0(struct registry_blob_fetch, p->n_blobs + 1);
        struct job **order = xnew0(struct job *, p->n_blobs + 1);
        size_t n = 0;
        int r;

        free(p->downloads);
        p->downloads = order;

        for (size_t i = 0; i < p->n_blobs; i++) {
                struct job *j = p->blobs[i];

                r = job_open(j, err);
                if (r < 0)
                        return r;
                if (j->exists || ctr_writer_offset(j->w) == j->desc.size)
                        continue;
                v[n] = (struct registry_blob_fetch){.digest = j->desc.digest,
                                                    .size = (uint64_t) j->desc.size,
                                                    .offset = (uint64_t) ctr_writer_offset(j->w),
                                                    .sink = blob_sink,
                                                    .userdata = j};
                order[n++] = j;
        }
        r = n ? registry_fetch_blobs(p->rc, p->ref, v, n, blob_progress, p, err) : 0;
        if (r >= 0)
                return 0;
        /* as ctr, whose downloads commit one by one: what is complete is committed, what was
         * cut short stays in its ingest, where the next pull resumes */
        for (size_t i = 0; i < n; i++)
                if (v[i].result < 0 || job_commit(order[i], NULL) < 0)
                        (void) ctr_writer_flush(order[i]->w, NULL);
        for (size_t i = 0; i < n; i++)
                if (v[i].result < 0 && order[i]->err.code < 0)
                        return errmsg_set(err, order[i]->err.code, "%s", order[i]->err.msg);
        return r;
}

/* --- walking the image ---------------------------------------------------------------- */

/* FilterPlatforms with the pull's platforms (all of them with --all-platforms). */
static bool wanted(const struct pull *p, const struct oci_descriptor *d)
{
        if (p->o->all_platforms || !d->platform)
                return true;
        for (size_t i = 0; i < p->o->n_platforms; i++)
                if (oci_platform_matches(&p->o->platforms[i], d->platform))
                        return true;
        return false;
}

static int walk(struct pull *p, const struct oci_descriptor *d, bool metadata_only, unsigned depth,
                struct errmsg *err);

static int walk_index(struct pull *p, struct job *j, unsigned depth, struct errmsg *err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_free_ struct oci_descriptor *kept = NULL;
        size_t n = 0;
        int r;

        r = oci_index_parse(j->body, j->len, &idx, err);
        if (r < 0)
                return errmsg_prefix(err, r, "index %s", j->desc.digest);
        kept = xnew0(struct oci_descriptor, idx->n_manifests + 1);
        for (size_t i = 0; i < idx->n_manifests; i++)
                if (wanted(p, &idx->manifests[i]) || p->o->all_metadata)
                        kept[n++] = idx->manifests[i]; /* borrowed from idx */
        /* as client.fetch: the labels name every child, the platform filter comes after */
        r = label_children(p, j->desc.digest, idx->manifests, idx->n_manifests, err);
        if (r >= 0)
                r = label_source(p, j->desc.digest, err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                /* --all-metadata: other platforms' manifests and configs, not their layers */
                r = walk(p, &kept[i], !wanted(p, &kept[i]), depth + 1, err);
        return r;
}

static int walk_manifest(struct pull *p, struct job *j, bool metadata_only, struct errmsg *err)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_free_ struct oci_descriptor *children = NULL;
        size_t n;
        int r;

        r = oci_manifest_parse(j->body, j->len, &m, err);
        if (r < 0)
                return errmsg_prefix(err, r, "manifest %s", j->desc.digest);
        n = m->n_layers + 1;
        children = xnew0(struct oci_descriptor, n);
        children[0] = m->config; /* borrowed from m */
        for (size_t i = 1; i < n; i++)
                children[i] = m->layers[i - 1];
        /* the labels name every child; --all-metadata fetches only the config of another
         * platform's manifest (FilterManifestByPlatformHandler comes after the labels) */
        r = label_children(p, j->desc.digest, children, n, err);
        if (r >= 0)
                r = label_source(p, j->desc.digest, err);
        if (metadata_only)
                n = 1;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                bool is_new;
                struct job *b = job_get(p, &children[i], &is_new);

                if (is_new) {
                        p->blobs =
                                xgrow(p->blobs, &p->alloc_blobs, p->n_blobs + 1, sizeof(*p->blobs));
                        p->blobs[p->n_blobs++] = b;
                }
        }
        return r;
}

static int walk(struct pull *p, const struct oci_descriptor *d, bool metadata_only, unsigned depth,
                struct errmsg *err)
{
        enum media_kind kind = media_type_kind(d->media_type);
        struct job *j;
        bool is_new;
        int r;

        if (depth > WALK_DEPTH_MAX)
                return errmsg_set(err, -EINVAL, "indexes nested deeper than %d", WALK_DEPTH_MAX);
        if (STREQ(d->media_type ?: "", MEDIA_TYPE_DOCKER_MANIFEST_V1))
                return errmsg_set(err, -EOPNOTSUPP, "%s not supported", d->media_type);
        if (kind != MEDIA_KIND_INDEX && kind != MEDIA_KIND_MANIFEST)
                return errmsg_set(err, -EINVAL, "%s: unexpected media type %s", d->digest,
                                  d->media_type);
        j = job_get(p, d, &is_new);
        if (!is_new)
                return 0;
        r = fetch_manifest(p, j, err);
        if (r < 0)
                return r;
        progress_tick(p->progress);
        if (kind == MEDIA_KIND_INDEX)
                return walk_index(p, j, depth, err);
        return walk_manifest(p, j, metadata_only, err);
}

/* Commits the downloads, then labels each blob with its source, as each fetch handler does. */
static int finish_blobs(struct pull *p, struct errmsg *err)
{
        for (size_t i = 0; i < p->n_jobs; i++) {
                struct job *j = p->jobs[i];
                enum media_kind kind = media_type_kind(j->desc.media_type);
                int r;

                if (kind == MEDIA_KIND_INDEX || kind == MEDIA_KIND_MANIFEST)
                        continue;
                r = job_commit(j, err);
                if (r >= 0)
                        r = label_source(p, j->desc.digest, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- the reference and the registry --------------------------------------------------- */

/*
 * containerd's reference.Parse and the docker resolver's checks: "<host>[:port]/<path>" and
 * an object after the first ':' or '@' of the path ("tag", "tag@digest", "@digest"); no
 * normalisation ("busybox" has no object). *ret holds what the registry client needs.
 */
static int parse_ref(const char *s, struct image_ref **ret, struct errmsg *err)
{
        _cleanup_(image_ref_freep) struct image_ref *ref = xnew0(struct image_ref, 1);
        const char *slash = strchr(s, '/'), *path, *object, *at;
        const char *colon;
        int r;

        if (strstr(s, "://"))
                return errmsg_set(err, -EINVAL, "invalid reference");
        ref->domain = xstrndup(s, slash ? (size_t) (slash - s) : strlen(s));
        colon = strrchr(ref->domain, ':');
        if (colon && strspn(colon + 1, "0123456789") != strlen(colon + 1))
                return errmsg_set(err, -EINVAL,
                                  "parse \"dummy://%s\": invalid port \"%s\" after host", s, colon);
        if (!ref->domain[0])
                return errmsg_set(err, -EINVAL, "hostname required");
        path = slash ? slash + 1 : "";
        object = path + strcspn(path, ":@");
        ref->path = xstrndup(path, (size_t) (object - path));
        object += *object == ':';
        if (!*object)
                return errmsg_set(err, -EINVAL, OBJECT_REQUIRED);
        at = strchr(object, '@');
        if (at != object)
                ref->tag = xstrndup(object, at ? (size_t) (at - object) : strlen(object));
        if (at) {
                r = ctr_digest_validate(at + 1, err);
                if (r < 0)
                        return r;
                ref->digest = xstrdup(at + 1);
        }
        *ret = TAKE_PTR(ref);
        return 0;
}

/* The label key and repository of the distribution source: the host without its port. */
static void distribution_source(struct pull *p)
{
        const char *host = p->ref->domain, *colon = strrchr(host, ':');
        size_t len = colon ? (size_t) (colon - host) : strlen(host);

        if (host[0] == '[' && len > 1 && host[len - 1] == ']') { /* url.Hostname() */
                host++;
                len -= 2;
        }
        p->source_key = xasprintf(LABEL_SOURCE "%.*s", (int) len, host);
        p->source_repo = xstrdup(p->ref->path);
}

/* --user "user[:password]"; without a password it is asked for, as ctr does. */
static int registry_client(struct pull *p, struct errmsg *err)
{
        char *insecure[] = {p->ref->domain, NULL};
        _cleanup_free_ char *user = NULL, *password = NULL;
        struct registry_opts ro = {
                .insecure_hosts = p->o->plain_http ? insecure : NULL,
                .ca_file = p->o->tlscacert,
                .skip_verify = p->o->skip_verify,
                .max_parallel = p->o->max_concurrent_downloads > 0
                                        ? (unsigned) p->o->max_concurrent_downloads
                                        : 0,
        };
        int r;

        if (p->o->user && *p->o->user) {
                const char *colon = strchr(p->o->user, ':');
                size_t n = 0;

                user = xstrndup(p->o->user,
                                colon ? (size_t) (colon - p->o->user) : strlen(p->o->user));
                if (colon)
                        password = xstrdup(colon + 1);
                else {
                        printf("Password: ");
                        fflush(stdout);
                        if (getline(&password, &n, stdin) < 0)
                                return errmsg_set(err, -EINVAL, "reading password: no input");
                        password[strcspn(password, "\n")] = '\0';
                        printf("\n");
                }
                ro.user = user;
                ro.password = password;
        }
        r = registry_client_new(&ro, &p->rc, err);
        if (password)
                explicit_bzero(password, strlen(password));
        return r;
}

/* The descriptor the registry has for the reference (the resolver's HEAD). */
static int resolve(struct pull *p, const char *name, struct oci_descriptor *ret, struct errmsg *err)
{
        struct registry_manifest m = {0};
        int r;

        r = registry_head_manifest(p->rc, p->ref, NULL, &m, err);
        if (r == -ENOENT)
                r = errmsg_set(err, r, "%s: not found", name);
        if (r < 0)
                return errmsg_prefix(err, r, "failed to resolve reference \"%s\"", name);
        *ret = (struct oci_descriptor){.media_type = xstrdup(m.media_type ?: ""),
                                       .digest = xstrdup(m.digest),
                                       .size = (int64_t) m.len};
        registry_manifest_release(&m);
        return 0;
}

/* --- the command ---------------------------------------------------------------------- */

/* Fetch: everything into the content store, then the image record. */
static int fetch(struct pull *p, const char *name, struct oci_descriptor *root, struct errmsg *err)
{
        int r;

        r = resolve(p, name, root, err);
        if (r < 0)
                return r;
        progress_resolved(p->progress);
        r = walk(p, root, false, 0, err);
        if (r >= 0)
                r = fetch_blobs(p, err);
        if (r >= 0)
                r = finish_blobs(p, err);
        if (r >= 0)
                r = ctr_image_put(p->c, name,
                                  &(struct ctr_target){.media_type = root->media_type,
                                                       .digest = root->digest,
                                                       .size = root->size},
                                  p->o->labels, err);
        return r;
}

/* images.Platforms: what the index's entries (or the manifest's config) say. */
static int image_platforms(struct pull *p, const struct oci_descriptor *root,
                           struct oci_platform **ret, size_t *ret_n, struct errmsg *err)
{
        for (size_t i = 0; i < p->n_jobs; i++) {
                const struct job *j = p->jobs[i];
                _cleanup_(oci_index_freep) struct oci_index *idx = NULL;

                if (!STREQ(j->desc.digest, root->digest))
                        continue;
                if (media_type_kind(j->desc.media_type) != MEDIA_KIND_INDEX)
                        break;
                if (oci_index_parse(j->body, j->len, &idx, err) < 0)
                        return -EINVAL;
                *ret = xnew0(struct oci_platform, idx->n_manifests + 1);
                for (size_t k = 0; k < idx->n_manifests; k++)
                        if (idx->manifests[k].platform)
                                oci_platform_copy(idx->manifests[k].platform, &(*ret)[(*ret_n)++]);
                return 0;
        }
        /* a manifest: its config's platform, which the unpack resolves anyway */
        *ret = xnew0(struct oci_platform, 1);
        oci_platform_default(&(*ret)[0]);
        *ret_n = 1;
        return 0;
}

static int unpack_one(struct pull *p, const char *name, const struct oci_descriptor *root,
                      const struct oci_platform *platform, const char *snapshotter,
                      struct errmsg *err)
{
        _cleanup_(ctr_image_freep) struct ctr_image *img = NULL;
        _cleanup_free_ char *ps = oci_platform_string(platform);
        int r;

        printf("unpacking %s %s...\n", ps, root->digest);
        fflush(stdout);
        r = ctr_image_resolve(p->c, name, platform, &img, err);
        if (r >= 0)
                r = ctr_unpack(p->c, img, snapshotter, err);
        if (r >= 0 && p->o->print_chainid)
                printf("image chain ID: %s\n",
                       img->chain_ids ? img->chain_ids[strv_length(img->chain_ids) - 1] : "");
        return r;
}

static int unpack(struct pull *p, const char *name, const struct oci_descriptor *root,
                  struct errmsg *err)
{
        _cleanup_free_ char *snapshotter = NULL;
        struct oci_platform *platforms = NULL;
        struct timespec start, end;
        size_t n = 0;
        char took[64];
        int r;

        (void) clock_gettime(CLOCK_MONOTONIC, &start);
        r = ctr_snapshotter_name(p->c, p->o->snapshotter, &snapshotter, err);
        if (r >= 0 && p->o->all_platforms)
                r = image_platforms(p, root, &platforms, &n, err);
        if (r < 0)
                return errmsg_prefix(err, r, "unable to resolve image platforms");
        for (size_t i = 0; r >= 0 && i < (platforms ? n : p->o->n_platforms); i++)
                r = unpack_one(p, name, root, platforms ? &platforms[i] : &p->o->platforms[i],
                               snapshotter, err);
        for (size_t i = 0; i < n; i++)
                oci_platform_release(&platforms[i]);
        free(platforms);
        if (r < 0)
                return r;
        (void) clock_gettime(CLOCK_MONOTONIC, &end);
        progress_duration((int64_t) (end.tv_sec - start.tv_sec) * 1000000000 +
                                  (end.tv_nsec - start.tv_nsec),
                          took, sizeof(took));
        printf("done: %s\t\n", took);
        return 0;
}

static int pull_run(struct ctr *c, const char *name, const struct pull_opts *o, struct errmsg *err)
{
        struct pull p = {.c = c, .o = o};
        struct oci_descriptor root = {0};
        int r;

        r = parse_ref(name, &p.ref, err);
        if (r < 0)
                return errmsg_prefix(err, r, "failed to resolve reference \"%s\"", name);
        distribution_source(&p);
        r = registry_client(&p, err);
        if (r >= 0)
                r = ctr_lease_begin(c, err);
        if (r < 0) {
                pull_release(&p);
                return r;
        }
        p.progress = progress_new(c->opts->debug ? NULL : stdout, name);
        r = fetch(&p, name, &root, err);
        if (r >= 0) {
                progress_finish(TAKE_PTR(p.progress));
                r = unpack(&p, name, &root, err);
        }
        ctr_lease_end(c);
        oci_descriptor_release(&root);
        pull_release(&p);
        return r;
}

static int parse_platforms(char **specs, struct pull_opts *o, struct errmsg *err)
{
        size_t n = strv_length(specs);

        o->platforms = xnew0(struct oci_platform, MAX(n, 1));
        if (n == 0) {
                oci_platform_default(&o->platforms[o->n_platforms++]);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                int r = oci_platform_parse(specs[i], &o->platforms[o->n_platforms], err);

                if (r < 0)
                        return errmsg_prefix(err, r, "unable to parse platform %s", specs[i]);
                o->n_platforms++;
        }
        return 0;
}

int images_pull(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        _cleanup_strv_ char **platforms = NULL, **labels = NULL;
        struct pull_opts o = {.snapshotter = getenv("CONTAINERD_SNAPSHOTTER")};
        const struct ctr_flag flags[] = {
                {"skip-verify", 'k', CTR_FLAG_BOOL, &o.skip_verify},
                {"plain-http", 0, CTR_FLAG_BOOL, &o.plain_http},
                {"user", 'u', CTR_FLAG_STRING, &o.user},
                {"tlscacert", 0, CTR_FLAG_STRING, &o.tlscacert},
                {"snapshotter", 0, CTR_FLAG_STRING, &o.snapshotter},
                {"label", 0, CTR_FLAG_LIST, &labels},
                {"platform", 0, CTR_FLAG_LIST, &platforms},
                {"all-platforms", 0, CTR_FLAG_BOOL, &o.all_platforms},
                {"all-metadata", 0, CTR_FLAG_BOOL, &o.all_metadata},
                {"print-chainid", 0, CTR_FLAG_BOOL, &o.print_chainid},
                {"max-concurrent-downloads", 0, CTR_FLAG_INT, &o.max_concurrent_downloads},
                {NULL},
        };
        int r, index;

        r = ctr_flags_parse(flags, argc, argv, &index, err);
        if (r < 0)
                return r;
        if (index >= argc || !*argv[index])
                return errmsg_set(err, -EINVAL, "please provide an image reference to pull");
        r = parse_platforms(platforms, &o, err);
        if (r >= 0) {
                o.labels = ctr_label_args(labels);
                r = pull_run(c, argv[index], &o, err);
        }
        strv_free(o.labels);
        for (size_t i = 0; i < o.n_platforms; i++)
                oci_platform_release(&o.platforms[i]);
        free(o.platforms);
        return r;
}
