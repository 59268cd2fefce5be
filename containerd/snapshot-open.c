/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening a snapshotter (its directories, the overlay module's options, the removal of
 * directories a crash left without a record) and disk usage of one snapshot.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "containerd/metadata-internal.h"
#include "containerd/snapshot-internal.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

#define USAGE_DEPTH_MAX 512

struct snapshotter *snapshotter_free(struct snapshotter *s)
{
        if (!s)
                return NULL;
        safe_close(s->snapshots_fd);
        free(s->root);
        free(s);
        return NULL;
}

void snapshot_remove_dir(struct snapshotter *s, int64_t id)
{
        char dir[32];

        (void) snprintf(dir, sizeof(dir), "%" PRId64, id);
        (void) rm_rf_at(s->snapshots_fd, dir);
}

static int has_row(sqlite3 *db, const struct snapshotter *s, int64_t id, bool *ret,
                   struct errmsg *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = db_prepare(db, "SELECT 1 FROM snapshots WHERE id = ?1 AND snapshotter = ?2", &st, err);
        if (r < 0)
                return r;
        (void) sqlite3_bind_int64(st, 1, id);
        db_bind_text(st, 2, snapshotter_name(s));
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return db_error(db, rc, err, "snapshot");
        *ret = rc == SQLITE_ROW;
        return 0;
}

/* Removes snapshots/<id> directories without a record (a crash during create or remove). */
static int cleanup_txn(sqlite3 *db, void *userdata, struct errmsg *err)
{
        struct snapshotter *s = userdata;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd;

        fd = openat(s->snapshots_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd))) {
                int r = negative_errno();

                safe_close(fd);
                return errmsg_set(err, r, "%s/snapshots: %s", s->root, strerror(-r));
        }
        while ((de = readdir(d))) {
                uint64_t id;
                bool exists = true;
                int r;

                if (de->d_name[0] == '.' || parse_uint64(de->d_name, &id) < 0)
                        continue;
                r = has_row(db, s, (int64_t) id, &exists, err);
                if (r < 0)
                        return r;
                if (!exists)
                        (void) rm_rf_at(s->snapshots_fd, de->d_name);
        }
        return 0;
}

int snapshotter_remove_orphans(struct snapshotter *s, struct errmsg *err)
{
        return metadata_transaction(s->md, cleanup_txn, s, err);
}

int snapshotter_open(struct metadata *md, enum snapshotter_type type, const char *root,
                     struct snapshotter **ret, struct errmsg *err)
{
        _cleanup_(snapshotter_freep) struct snapshotter *s = xnew0(struct snapshotter, 1);
        _cleanup_free_ char *dir = xasprintf("%s/snapshots", root);
        int r;

        *s = (struct snapshotter){
                .md = md, .type = type, .root = xstrdup(root), .snapshots_fd = -EBADF};
        r = mkdir_p_at(AT_FDCWD, dir, 0700);
        if (r < 0 && r != -EEXIST)
                return errmsg_set(err, r, "snapshotter %s: %s", dir, strerror(-r));
        s->snapshots_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->snapshots_fd < 0)
                return errmsg_set(err, -errno, "snapshotter %s: %s", dir, strerror(errno));
        /* containerd passes index=off whenever the overlay module has the parameter */
        s->has_index_off = access("/sys/module/overlay/parameters/index", F_OK) == 0;
        r = snapshotter_remove_orphans(s, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

struct usage {
        int64_t size;
        int64_t inodes;
        struct {
                dev_t dev;
                ino_t ino;
        } * seen; /* inodes with more than one link, counted once */
        size_t n_seen;
        size_t alloc_seen;
};

static bool seen_before(struct usage *u, const struct stat *st)
{
        for (size_t i = 0; i < u->n_seen; i++)
                if (u->seen[i].dev == st->st_dev && u->seen[i].ino == st->st_ino)
                        return true;
        u->seen = xgrow(u->seen, &u->alloc_seen, u->n_seen + 1, sizeof(*u->seen));
        u->seen[u->n_seen].dev = st->st_dev;
        u->seen[u->n_seen++].ino = st->st_ino;
        return false;
}

static int usage_walk(int dir_fd, struct usage *u, unsigned depth)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd;

        if (depth > USAGE_DEPTH_MAX)
                return -ELOOP;
        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd))) {
                int r = negative_errno();

                safe_close(fd);
                return r;
        }
        while ((de = readdir(d))) {
                _cleanup_close_ int sub = -EBADF;
                struct stat st;
                int r;

                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return negative_errno();
                if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && seen_before(u, &st))
                        continue;
                u->inodes++;
                u->size += (int64_t) st.st_blocks * 512;
                if (!S_ISDIR(st.st_mode))
                        continue;
                sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return negative_errno();
                r = usage_walk(sub, u, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int snapshot_usage(struct snapshotter *s, const char *ns, const char *key, int64_t *ret_size,
                   int64_t *ret_inodes, struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;
        struct usage u = {0};
        int r;

        r = snapshot_dir_fd(s, ns, key, false, &fd, err);
        if (r < 0)
                return r;
        r = usage_walk(fd, &u, 0);
        free(u.seen);
        if (r < 0)
                return errmsg_set(err, r, "usage of snapshot %s: %s", key, strerror(-r));
        *ret_size = u.size;
        *ret_inodes = u.inodes;
        return 0;
}
