/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.services.diff.v1.Diff, as containerd's diff/apply and diff/walking:
 *   Apply  unpacks a layer blob of the namespace's content onto the mounts the client gives
 *          (a snapshot's). A single overlay mount whose upperdir is one of our snapshots' is
 *          unpacked straight into that dir with overlay whiteouts, a bind mount straight into
 *          its source with whiteouts applied; anything else is mounted in a private mount
 *          namespace (a forked child that unshares it, so nothing leaks to the host's
 *          mounts, and the mounts die with it) and unpacked there. The answer is the
 *          uncompressed layer: tar media type, diff id, size.
 *   Diff   writes the changes from the left mounts to the right ones as a new blob in the
 *          content store: from the overlay upper dir when right is one of our overlays,
 *          else by comparing the two trees; compressed as the media type asks (gzip by
 *          default), labelled with the request's labels and containerd.io/uncompressed.
 * The daemon waits for the unpack: containerd's clients wait for these calls too.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "containerd/image.h"
#include "containerd/layer.h"
#include "containerd/services/diff/v1/diff.pb-c.h"
#include "containerd/svc.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

typedef Containerd__Types__Mount mount_msg_t;

/* mount(2) flags of the options containerd's mounts carry; others go in the data string. */
static const struct {
        const char *name;
        unsigned long set, clear;
} mount_flags[] = {
        {"ro", MS_RDONLY, 0},           {"rw", 0, MS_RDONLY},       {"bind", MS_BIND, 0},
        {"rbind", MS_BIND | MS_REC, 0}, {"nosuid", MS_NOSUID, 0},   {"nodev", MS_NODEV, 0},
        {"noexec", MS_NOEXEC, 0},       {"noatime", MS_NOATIME, 0}, {"relatime", MS_RELATIME, 0},
        {"suid", 0, MS_NOSUID},         {"dev", 0, MS_NODEV},       {"exec", 0, MS_NOEXEC},
};

static unsigned long parse_options(const mount_msg_t *m, char **ret_data)
{
        unsigned long flags = 0;
        char *data = NULL;

        for (size_t i = 0; i < m->n_options; i++) {
                bool known = false;

                for (size_t f = 0; f < ELEMENTSOF(mount_flags); f++)
                        if (STREQ(m->options[i], mount_flags[f].name)) {
                                flags = (flags | mount_flags[f].set) & ~mount_flags[f].clear;
                                known = true;
                        }
                if (!known) {
                        char *joined = data ? xasprintf("%s,%s", data, m->options[i])
                                            : xstrdup(m->options[i]);

                        free(data);
                        data = joined;
                }
        }
        if (STREQ(m->type, "bind"))
                flags |= MS_BIND;
        *ret_data = data;
        return flags;
}

/* The value of option "<key>=" of m, or NULL. */
static const char *mount_option(const mount_msg_t *m, const char *key)
{
        size_t n = strlen(key);

        for (size_t i = 0; i < m->n_options; i++)
                if (strncmp(m->options[i], key, n) == 0 && m->options[i][n] == '=')
                        return m->options[i] + n + 1;
        return NULL;
}

static bool is_bind(const mount_msg_t *m)
{
        _cleanup_free_ char *data = NULL;

        return (parse_options(m, &data) & MS_BIND) != 0;
}

/* The upper dir of a single overlay mount, when it is one of our overlayfs snapshots'. */
static const char *our_upperdir(struct daemon *d, mount_msg_t *const *m, size_t n)
{
        _cleanup_free_ char *prefix = NULL;
        const char *upper;

        if (n != 1 || !STREQ(m[0]->type, "overlay"))
                return NULL;
        upper = mount_option(m[0], "upperdir");
        if (!upper || strstr(upper, "/../") || strstr(upper, "/./"))
                return NULL;
        prefix = xasprintf("%s/io.containerd.snapshotter.v1.overlayfs/snapshots/", d->st->root);
        return strncmp(upper, prefix, strlen(prefix)) == 0 ? upper : NULL;
}

/* Mounts m[0..n) on target, in the calling (private) mount namespace. */
static int mount_all(mount_msg_t *const *m, size_t n, const char *target, struct errmsg *err)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *data = NULL;
                unsigned long flags = parse_options(m[i], &data);

                if (flags & MS_BIND) {
                        if (mount(m[i]->source, target, NULL, flags & (MS_BIND | MS_REC), NULL) <
                                    0 ||
                            ((flags & MS_RDONLY) &&
                             mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0))
                                return errmsg_set(err, -errno, "mount %s on %s: %s", m[i]->source,
                                                  target, strerror(errno));
                        continue;
                }
                if (mount(m[i]->source, target, m[i]->type, flags, data) < 0)
                        return errmsg_set(err, -errno, "mount %s (%s) on %s: %s", m[i]->source,
                                          m[i]->type, target, strerror(errno));
        }
        return 0;
}

/* Work on mounted trees, done in a child in its own mount namespace. */
struct mounted_job {
        mount_msg_t *const *mounts[2]; /* left (or the only one), right */
        size_t n_mounts[2];
        int in_fd;  /* the layer blob (Apply) */
        int out_fd; /* the tar written (Diff) */
        struct layer_diff_opts diff_opts;
};

struct mounted_result {
        int r;
        struct errmsg err;
        struct layer_apply_result apply;
        struct layer_diff_result diff;
};

static int child_work(const struct mounted_job *job, char *const dirs[2],
                      struct mounted_result *res)
{
        _cleanup_close_ int fd0 = -EBADF, fd1 = -EBADF;
        const struct layer_apply_opts ao = {.whiteouts = LAYER_WHITEOUTS_APPLY};

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return errmsg_set(&res->err, -errno, "private mount namespace: %s",
                                  strerror(errno));
        for (size_t g = 0; g < 2; g++) {
                int r;

                if (job->n_mounts[g] == 0)
                        continue;
                r = mount_all(job->mounts[g], job->n_mounts[g], dirs[g], &res->err);
                if (r < 0)
                        return r;
        }
        fd0 = open(dirs[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd0 < 0)
                return errmsg_set(&res->err, -errno, "%s: %s", dirs[0], strerror(errno));
        if (job->n_mounts[1] == 0)
                return layer_apply(fd0, job->in_fd, &ao, &res->apply, &res->err);
        fd1 = open(dirs[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd1 < 0)
                return errmsg_set(&res->err, -errno, "%s: %s", dirs[1], strerror(errno));
        return layer_diff_trees(fd0, fd1, job->out_fd, &job->diff_opts, &res->diff, &res->err);
}

/* Runs job in a forked child in a private mount namespace, on temporary mount points under
 * the daemon's state dir (removed afterwards: the mounts die with the child's namespace). */
static int run_mounted(struct daemon *d, const struct mounted_job *job, struct mounted_result *res,
                       struct errmsg *err)
{
        char *dirs[2] = {NULL, NULL};
        int p[2], r, status;
        pid_t pid;
        ssize_t k;

        for (size_t g = 0; g < 2; g++) {
                dirs[g] = xasprintf("%s/tmpmounts-XXXXXX", d->o.state);
                if (!mkdtemp(dirs[g])) {
                        r = errmsg_set(err, -errno, "%s: %s", dirs[g], strerror(errno));
                        goto out;
                }
        }
        if (pipe2(p, O_CLOEXEC) < 0) {
                r = errmsg_set(err, -errno, "pipe: %s", strerror(errno));
                goto out;
        }
        pid = fork();
        if (pid == 0) {
                *res = (struct mounted_result){0};
                res->r = child_work(job, dirs, res);
                k = write(p[1], res, sizeof(*res));
                _exit(k == (ssize_t) sizeof(*res) ? 0 : 1);
        }
        (void) close(p[1]);
        if (pid < 0) {
                r = errmsg_set(err, -errno, "fork: %s", strerror(errno));
                (void) close(p[0]);
                goto out;
        }
        do
                k = read(p[0], res, sizeof(*res));
        while (k < 0 && errno == EINTR);
        (void) close(p[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (k != (ssize_t) sizeof(*res))
                r = errmsg_set(err, -EIO, "mount helper died (status %d)", status);
        else if (res->r < 0)
                r = errmsg_set(err, res->r, "%s", res->err.msg);
        else
                r = 0;
out:
        for (size_t g = 0; g < 2; g++)
                if (dirs[g]) {
                        (void) rmdir(dirs[g]);
                        free(dirs[g]);
                }
        return r;
}

/* Applies the layer from blob_fd onto the mounts. */
static int apply_layer(struct daemon *d, mount_msg_t *const *m, size_t n, int blob_fd,
                       struct layer_apply_result *ret, struct errmsg *err)
{
        struct mounted_job job = {.mounts = {m}, .n_mounts = {n}, .in_fd = blob_fd};
        struct layer_apply_opts o = {.whiteouts = LAYER_WHITEOUTS_OVERLAY};
        const char *dir = our_upperdir(d, m, n);
        struct mounted_result res;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!dir && n == 1 && is_bind(m[0])) {
                dir = m[0]->source;
                o.whiteouts = LAYER_WHITEOUTS_APPLY;
        }
        if (!dir) {
                if (n == 0)
                        return errmsg_set(err, -EINVAL, "no mounts to apply the layer to");
                r = run_mounted(d, &job, &res, err);
                if (r >= 0)
                        *ret = res.apply;
                return r;
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errmsg_set(err, -errno, "%s: %s", dir, strerror(errno));
        return layer_apply(fd, blob_fd, &o, ret, err);
}

static int apply_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                    struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Diff__V1__ApplyRequest *in = NULL;
        Containerd__Services__Diff__V1__ApplyResponse out =
                CONTAINERD__SERVICES__DIFF__V1__APPLY_RESPONSE__INIT;
        Containerd__Types__Descriptor applied = CONTAINERD__TYPES__DESCRIPTOR__INIT;
        struct daemon *d = userdata;
        struct content_record rec;
        struct layer_apply_result res;
        _cleanup_close_ int blob = -EBADF;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__diff__v1__apply_request__descriptor, msg, len,
                        &in, &ns, err);
        if (r >= 0 && (!in->diff || !in->diff->digest[0]))
                r = errmsg_set(err, -EINVAL, "diff: descriptor missing");
        if (r >= 0 && media_type_kind(in->diff->media_type) != MEDIA_KIND_LAYER)
                r = errmsg_set(err, -EOPNOTSUPP, "unsupported diff media type: %s",
                               in->diff->media_type);
        if (r >= 0)
                r = content_record_get(d->st->md, ns, in->diff->digest, &rec, err);
        if (r < 0)
                return r;
        content_record_release(&rec);
        r = content_store_open_blob(d->st->cs, in->diff->digest, &blob, err);
        if (r >= 0)
                r = apply_layer(d, in->mounts, in->n_mounts, blob, &res, err);
        if (r < 0)
                return errmsg_prefix(err, r, "apply layer %s", in->diff->digest);
        applied.media_type = (char *) MEDIA_TYPE_OCI_LAYER;
        applied.digest = res.diff_id;
        applied.size = (int64_t) res.tar_size;
        out.applied = &applied;
        return svc_reply(call, &out.base);
}

/* Writes the changes from left to right as a tar into out_fd. */
static int diff_mounts(struct daemon *d, const Containerd__Services__Diff__V1__DiffRequest *in,
                       int out_fd, const struct layer_diff_opts *o, struct layer_diff_result *ret,
                       struct errmsg *err)
{
        struct mounted_job job = {.mounts = {in->left, in->right},
                                  .n_mounts = {in->n_left, in->n_right},
                                  .in_fd = -EBADF,
                                  .out_fd = out_fd,
                                  .diff_opts = *o};
        const char *upper = our_upperdir(d, in->right, in->n_right);
        mount_msg_t empty = CONTAINERD__TYPES__MOUNT__INIT, *empty_v[] = {&empty};
        _cleanup_close_ int rfd = -EBADF;
        struct mounted_result res;
        int r;

        if (upper) {
                rfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (rfd < 0)
                        return errmsg_set(err, -errno, "%s: %s", upper, strerror(errno));
                return layer_diff_overlay(rfd, out_fd, o, ret, err);
        }
        if (in->n_right == 0)
                return errmsg_set(err, -EINVAL, "right: no mounts");
        if (in->n_left == 0) {
                /* an empty lower tree: compare with an empty tmpfs */
                empty.type = (char *) "tmpfs";
                empty.source = (char *) "tmpfs";
                job.mounts[0] = empty_v;
                job.n_mounts[0] = 1;
        }
        r = run_mounted(d, &job, &res, err);
        if (r >= 0)
                *ret = res.diff;
        return r;
}

/* The compression for a Diff media type ("" the gzip default). */
static int diff_compression(const char *media_type, enum layer_compression *ret,
                            const char **ret_media_type, struct errmsg *err)
{
        if (!media_type || !media_type[0])
                media_type = MEDIA_TYPE_OCI_LAYER_GZIP;
        if (media_type_kind(media_type) != MEDIA_KIND_LAYER)
                return errmsg_set(err, -EOPNOTSUPP, "unsupported diff media type: %s", media_type);
        *ret = media_type_compression(media_type);
        *ret_media_type = media_type;
        return 0;
}

/* Copies the tar in fd (size bytes) into the content store as digest, under ref. */
static int store_blob(struct daemon *d, const char *ref, int fd,
                      const struct layer_diff_result *res, struct errmsg *err)
{
        _cleanup_(content_writer_freep) struct content_writer *w = NULL;
        char buf[64 << 10];
        ssize_t k;
        int r;

        r = content_writer_open(d->st->cs, ref, res->size, res->digest, &w, err);
        if (r == -EEXIST)
                return 0;
        if (r >= 0)
                r = content_writer_truncate(w, 0, err);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return errmsg_set(err, -errno, "diff file: %s", strerror(errno));
        while ((k = read(fd, buf, sizeof(buf))) != 0) {
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errmsg_set(err, -errno, "diff file: %s", strerror(errno));
                r = content_writer_write(w, buf, (size_t) k, err);
                if (r < 0)
                        return r;
        }
        return content_writer_commit(TAKE_PTR(w), res->size, res->digest, NULL, err);
}

/* Records the blob in ns with its labels, and in the call's lease. */
static int record_blob(struct grpc_call *call, struct daemon *d, const char *ns,
                       const Containerd__Services__Diff__V1__DiffRequest *in,
                       const struct layer_diff_result *res, struct errmsg *err)
{
        _cleanup_strv_ char **labels =
                svc_labels_from_map((void *const *) in->labels, in->n_labels);
        int r;

        (void) strv_push(&labels, LABEL_UNCOMPRESSED);
        (void) strv_push(&labels, res->diff_id);
        r = svc_lease_add(call, d, ns, "content", res->digest, err);
        if (r >= 0)
                r = content_record_add(d->st->md, ns, res->digest, (int64_t) res->size, err);
        if (r >= 0)
                r = content_record_update_labels(d->st->md, ns, res->digest, labels, false, err);
        return r;
}

static int diff_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Diff__V1__DiffRequest *in = NULL;
        Containerd__Services__Diff__V1__DiffResponse out =
                CONTAINERD__SERVICES__DIFF__V1__DIFF_RESPONSE__INIT;
        Containerd__Types__Descriptor desc = CONTAINERD__TYPES__DESCRIPTOR__INIT;
        struct daemon *d = userdata;
        struct layer_diff_opts o = {0};
        struct layer_diff_result res;
        _cleanup_free_ char *ref = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *ns, *media_type = NULL;
        int r;

        r = svc_request(call, &containerd__services__diff__v1__diff_request__descriptor, msg, len,
                        &in, &ns, err);
        if (r >= 0)
                r = diff_compression(in->media_type, &o.compression, &media_type, err);
        if (r < 0)
                return r;
        fd = open(d->o.state, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return errmsg_set(err, -errno, "diff file in %s: %s", d->o.state, strerror(errno));
        r = diff_mounts(d, in, fd, &o, &res, err);
        if (r >= 0) {
                ref = in->ref[0] ? xstrdup(in->ref) : xasprintf("diff-%s", res.digest);
                r = store_blob(d, ref, fd, &res, err);
        }
        if (r >= 0)
                r = record_blob(call, d, ns, in, &res, err);
        if (r < 0)
                return errmsg_prefix(err, r, "diff");
        desc.media_type = (char *) media_type;
        desc.digest = res.digest;
        desc.size = (int64_t) res.size;
        out.diff = &desc;
        return svc_reply(call, &out.base);
}

const struct grpc_method svc_diff_methods[] = {
        {"/containerd.services.diff.v1.Diff/Apply", GRPC_UNARY, apply_fn},
        {"/containerd.services.diff.v1.Diff/Diff", GRPC_UNARY, diff_fn},
        {NULL},
};
