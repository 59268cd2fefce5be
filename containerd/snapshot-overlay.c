/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlayfs backend: snapshots/<id>/fs (the upper dir, or the layer's files once
 * committed) and snapshots/<id>/work. Mounts as containerd 1.6's overlay snapshotter returns
 * them (snapshots/overlay/overlay.go): no parent -> bind of fs ("rw"/"ro", "rbind"); a view of
 * one parent -> read-only bind of the parent's fs; otherwise overlay with "index=off" when the
 * kernel knows it, workdir and upperdir for active snapshots, and lowerdir = parents' fs
 * closest first.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "containerd/snapshot-internal.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

int overlay_create_dirs(struct snapshotter *s, int64_t id, struct errmsg *err)
{
        char dir[32], fs[48], work[48];

        (void) snprintf(dir, sizeof(dir), "%" PRId64, id);
        (void) snprintf(fs, sizeof(fs), "%s/fs", dir);
        (void) snprintf(work, sizeof(work), "%s/work", dir);
        if (mkdirat(s->snapshots_fd, dir, 0700) < 0)
                return errmsg_set(err, -errno, "snapshot %s: mkdir: %s", dir, strerror(errno));
        if (mkdirat(s->snapshots_fd, fs, 0755) < 0 || mkdirat(s->snapshots_fd, work, 0711) < 0) {
                int r = -errno;

                (void) rm_rf_at(s->snapshots_fd, dir);
                return errmsg_set(err, r, "snapshot %s: mkdir: %s", dir, strerror(-r));
        }
        return 0;
}

static char *fs_path(const struct snapshotter *s, int64_t id)
{
        return xasprintf("%s/snapshots/%" PRId64 "/fs", s->root, id);
}

static struct mount_spec *bind_mount(char *source, bool is_ro)
{
        struct mount_spec *m = xnew0(struct mount_spec, 1);

        m->type = xstrdup("bind");
        m->source = source;
        (void) strv_push(&m->options, is_ro ? "ro" : "rw");
        (void) strv_push(&m->options, "rbind");
        return m;
}

static char *lowerdir_option(const struct snapshotter *s, const int64_t *parents, size_t n)
{
        size_t len = STRLEN("lowerdir="), alloc = 0;
        char *opt = NULL;

        opt = xgrow(opt, &alloc, len + 1, 1);
        memcpy(opt, "lowerdir=", len + 1);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = fs_path(s, parents[i]);
                size_t plen = strlen(p);

                opt = xgrow(opt, &alloc, len + plen + 2, 1);
                if (i > 0)
                        opt[len++] = ':';
                memcpy(opt + len, p, plen + 1);
                len += plen;
        }
        return opt;
}

int overlay_mounts(const struct snapshotter *s, int64_t id, enum snapshot_kind kind,
                   const int64_t *parents, size_t n_parents, struct mount_spec **ret, size_t *ret_n)
{
        _cleanup_free_ char *lower = NULL;
        struct mount_spec *m;
        char **options = NULL;

        if (n_parents == 0) {
                *ret = bind_mount(fs_path(s, id), kind == SNAPSHOT_KIND_VIEW);
                *ret_n = 1;
                return 0;
        }
        if (kind == SNAPSHOT_KIND_VIEW && n_parents == 1) {
                *ret = bind_mount(fs_path(s, parents[0]), true);
                *ret_n = 1;
                return 0;
        }
        if (s->has_index_off)
                (void) strv_push(&options, "index=off");
        if (kind == SNAPSHOT_KIND_ACTIVE) {
                _cleanup_free_ char *work =
                        xasprintf("workdir=%s/snapshots/%" PRId64 "/work", s->root, id);
                _cleanup_free_ char *upper =
                        xasprintf("upperdir=%s/snapshots/%" PRId64 "/fs", s->root, id);

                (void) strv_push(&options, work);
                (void) strv_push(&options, upper);
        }
        m = xnew0(struct mount_spec, 1);
        m->type = xstrdup("overlay");
        m->source = xstrdup("overlay");
        m->options = options;
        lower = lowerdir_option(s, parents, n_parents);
        (void) strv_push(&m->options, lower);
        *ret = m;
        *ret_n = 1;
        return 0;
}
