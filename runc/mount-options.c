/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mounts[].options into mount(2) flags, propagation, mount_setattr(2) attributes and the
 * filesystem's data string, with the option words runc 1.1 knows ("runc features"). As in
 * runc, a later word overrides an earlier one ("ro,rw" is read-write), "defaults" means
 * nothing, and every word that is not ours is passed on as filesystem data.
 */
#include "runc/mount-options.h"

#include <sys/mount.h>

#include "lib/xalloc.h"

enum option_kind {
        OPT_NONE,  /* "defaults" */
        OPT_SET,   /* MS_* flag to set */
        OPT_CLEAR, /* MS_* flag to clear */
        OPT_PROPAGATION,
        OPT_REC_SET,   /* MOUNT_ATTR_* to set recursively */
        OPT_REC_CLEAR, /* MOUNT_ATTR_* to clear recursively */
        OPT_TMPCOPYUP,
};

struct option {
        const char *name;
        enum option_kind kind;
        uint64_t flag;
};

/* Sorted by name, like option_names below. */
static const struct option options[] = {
        {"acl", OPT_SET, MS_POSIXACL},
        {"async", OPT_CLEAR, MS_SYNCHRONOUS},
        {"atime", OPT_CLEAR, MS_NOATIME},
        {"bind", OPT_SET, MS_BIND},
        {"defaults", OPT_NONE, 0},
        {"dev", OPT_CLEAR, MS_NODEV},
        {"diratime", OPT_CLEAR, MS_NODIRATIME},
        {"dirsync", OPT_SET, MS_DIRSYNC},
        {"exec", OPT_CLEAR, MS_NOEXEC},
        {"iversion", OPT_SET, MS_I_VERSION},
        {"lazytime", OPT_SET, MS_LAZYTIME},
        {"loud", OPT_CLEAR, MS_SILENT},
        {"mand", OPT_SET, MS_MANDLOCK},
        {"noacl", OPT_CLEAR, MS_POSIXACL},
        {"noatime", OPT_SET, MS_NOATIME},
        {"nodev", OPT_SET, MS_NODEV},
        {"nodiratime", OPT_SET, MS_NODIRATIME},
        {"noexec", OPT_SET, MS_NOEXEC},
        {"noiversion", OPT_CLEAR, MS_I_VERSION},
        {"nolazytime", OPT_CLEAR, MS_LAZYTIME},
        {"nomand", OPT_CLEAR, MS_MANDLOCK},
        {"norelatime", OPT_CLEAR, MS_RELATIME},
        {"nostrictatime", OPT_CLEAR, MS_STRICTATIME},
        {"nosuid", OPT_SET, MS_NOSUID},
        {"nosymfollow", OPT_SET, MS_NOSYMFOLLOW},
        {"private", OPT_PROPAGATION, MS_PRIVATE},
        {"ratime", OPT_REC_CLEAR, MOUNT_ATTR_NOATIME},
        {"rbind", OPT_SET, MS_BIND | MS_REC},
        {"rdev", OPT_REC_CLEAR, MOUNT_ATTR_NODEV},
        {"rdiratime", OPT_REC_CLEAR, MOUNT_ATTR_NODIRATIME},
        {"relatime", OPT_SET, MS_RELATIME},
        {"remount", OPT_SET, MS_REMOUNT},
        {"rexec", OPT_REC_CLEAR, MOUNT_ATTR_NOEXEC},
        {"rnoatime", OPT_REC_SET, MOUNT_ATTR_NOATIME},
        {"rnodev", OPT_REC_SET, MOUNT_ATTR_NODEV},
        {"rnodiratime", OPT_REC_SET, MOUNT_ATTR_NODIRATIME},
        {"rnoexec", OPT_REC_SET, MOUNT_ATTR_NOEXEC},
        {"rnorelatime", OPT_REC_CLEAR, MOUNT_ATTR_RELATIME},
        {"rnostrictatime", OPT_REC_CLEAR, MOUNT_ATTR_STRICTATIME},
        {"rnosuid", OPT_REC_SET, MOUNT_ATTR_NOSUID},
        {"rnosymfollow", OPT_REC_SET, MOUNT_ATTR_NOSYMFOLLOW},
        {"ro", OPT_SET, MS_RDONLY},
        {"rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC},
        {"rrelatime", OPT_REC_SET, MOUNT_ATTR_RELATIME},
        {"rro", OPT_REC_SET, MOUNT_ATTR_RDONLY},
        {"rrw", OPT_REC_CLEAR, MOUNT_ATTR_RDONLY},
        {"rshared", OPT_PROPAGATION, MS_SHARED | MS_REC},
        {"rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC},
        {"rstrictatime", OPT_REC_SET, MOUNT_ATTR_STRICTATIME},
        {"rsuid", OPT_REC_CLEAR, MOUNT_ATTR_NOSUID},
        {"rsymfollow", OPT_REC_CLEAR, MOUNT_ATTR_NOSYMFOLLOW},
        {"runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC},
        {"rw", OPT_CLEAR, MS_RDONLY},
        {"shared", OPT_PROPAGATION, MS_SHARED},
        {"silent", OPT_SET, MS_SILENT},
        {"slave", OPT_PROPAGATION, MS_SLAVE},
        {"strictatime", OPT_SET, MS_STRICTATIME},
        {"suid", OPT_CLEAR, MS_NOSUID},
        {"symfollow", OPT_CLEAR, MS_NOSYMFOLLOW},
        {"sync", OPT_SET, MS_SYNCHRONOUS},
        {"tmpcopyup", OPT_TMPCOPYUP, 0},
        {"unbindable", OPT_PROPAGATION, MS_UNBINDABLE},
};

static const char *const option_names[] = {
        "acl",
        "async",
        "atime",
        "bind",
        "defaults",
        "dev",
        "diratime",
        "dirsync",
        "exec",
        "iversion",
        "lazytime",
        "loud",
        "mand",
        "noacl",
        "noatime",
        "nodev",
        "nodiratime",
        "noexec",
        "noiversion",
        "nolazytime",
        "nomand",
        "norelatime",
        "nostrictatime",
        "nosuid",
        "nosymfollow",
        "private",
        "ratime",
        "rbind",
        "rdev",
        "rdiratime",
        "relatime",
        "remount",
        "rexec",
        "rnoatime",
        "rnodev",
        "rnodiratime",
        "rnoexec",
        "rnorelatime",
        "rnostrictatime",
        "rnosuid",
        "rnosymfollow",
        "ro",
        "rprivate",
        "rrelatime",
        "rro",
        "rrw",
        "rshared",
        "rslave",
        "rstrictatime",
        "rsuid",
        "rsymfollow",
        "runbindable",
        "rw",
        "shared",
        "silent",
        "slave",
        "strictatime",
        "suid",
        "symfollow",
        "sync",
        "tmpcopyup",
        "unbindable",
        NULL,
};
_Static_assert(ELEMENTSOF(option_names) == ELEMENTSOF(options) + 1, "option tables differ");

static const struct option *option_find(const char *name)
{
        size_t lo = 0, hi = ELEMENTSOF(options);

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(name, options[mid].name);

                if (c == 0)
                        return &options[mid];
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

bool mount_option_is_known(const char *name)
{
        return option_find(name) != NULL;
}

const char *const *mount_option_names(void)
{
        return option_names;
}

/*
 * mount_setattr(2) takes one access-time mode: setting one needs all of MOUNT_ATTR__ATIME
 * in attr_clr, and clearing only some of those bits is EINVAL. So any atime word clears the
 * whole mode, and "r<mode>" sets its mode while "rno<mode>"/"ratime" leave the kernel's
 * default (relatime).
 */
static void apply_rec_attr(const struct option *o, struct mount_flags *m)
{
        bool is_atime = (o->flag & MOUNT_ATTR__ATIME) == o->flag;

        if (is_atime) {
                m->rec_attr_set &= ~(uint64_t) MOUNT_ATTR__ATIME;
                m->rec_attr_clr |= MOUNT_ATTR__ATIME;
                if (o->kind == OPT_REC_SET)
                        m->rec_attr_set |= o->flag;
        } else if (o->kind == OPT_REC_SET) {
                m->rec_attr_set |= o->flag;
                m->rec_attr_clr &= ~o->flag;
        } else {
                m->rec_attr_clr |= o->flag;
                m->rec_attr_set &= ~o->flag;
        }
}

static void apply_option(const struct option *o, struct mount_flags *m)
{
        switch (o->kind) {
        case OPT_NONE:
                break;
        case OPT_SET:
                m->flags |= o->flag;
                m->clear_flags &= ~o->flag;
                break;
        case OPT_CLEAR:
                m->clear_flags |= o->flag;
                m->flags &= ~o->flag;
                break;
        case OPT_PROPAGATION:
                m->propagation = o->flag;
                break;
        case OPT_REC_SET:
        case OPT_REC_CLEAR:
                apply_rec_attr(o, m);
                break;
        case OPT_TMPCOPYUP:
                m->tmpcopyup = true;
                break;
        }
}

void mount_flags_parse(char *const *opts, struct mount_flags *ret)
{
        size_t data_size = 0, n = 0;

        *ret = (struct mount_flags){0};
        for (size_t i = 0; opts && opts[i]; i++) {
                const struct option *o = option_find(opts[i]);

                if (o)
                        apply_option(o, ret);
                else if (opts[i][0])
                        data_size += strlen(opts[i]) + 1;
        }
        if (data_size == 0)
                return;
        ret->data = xmalloc(data_size);
        for (size_t i = 0; opts[i]; i++) {
                size_t len = strlen(opts[i]);

                if (!opts[i][0] || option_find(opts[i]))
                        continue;
                if (n > 0)
                        ret->data[n++] = ',';
                memcpy(ret->data + n, opts[i], len);
                n += len;
        }
        ret->data[n] = '\0';
}

void mount_flags_release(struct mount_flags *m)
{
        if (!m)
                return;
        free(m->data);
        m->data = NULL;
}
