/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the host contributes to a spec (spec.h): the hostname, the caller's effective
 * capabilities by name (containerd's pkg/cap: Current, with capsLatest's names) and the
 * devices under /dev (oci.HostDevices: sorted, skipping pts, shm, fd, mqueue, .lxc,
 * .lxd-mounts, .udev, console and FIFOs).
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ctr/spec.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#define STATUS_MAX (64u << 10)

static const char *const cap_names[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};

#define GO_STRERROR_MAX 128

/* Go's text of an errno: the C library's, lowercase; in buf. */
static const char *go_strerror(int e, char buf[GO_STRERROR_MAX])
{
        snprintf(buf, GO_STRERROR_MAX, "%s", strerror(e));
        buf[0] = (char) tolower((unsigned char) buf[0]);
        return buf;
}

static int current_caps(char ***ret, struct errmsg *err)
{
        _cleanup_free_ char *text = NULL;
        unsigned long long eff;
        const char *line;
        char **caps = NULL;
        size_t len;
        int r;

        r = read_file_at(AT_FDCWD, "/proc/self/status", STATUS_MAX, &text, &len);
        if (r < 0)
                return errmsg_set(err, r, "open /proc/self/status: %s", strerror(-r));
        line = strstr(text, "\nCapEff:");
        if (!line)
                return errmsg_set(err, -EINVAL, "/proc/self/status: no CapEff");
        eff = strtoull(line + STRLEN("\nCapEff:"), NULL, 16);
        for (size_t i = 0; i < ELEMENTSOF(cap_names); i++)
                if (eff & (1ULL << i))
                        strv_push(&caps, cap_names[i]);
        *ret = caps;
        return 0;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool skipped_dir(const char *name)
{
        static const char *const dirs[] = {"pts",  "shm",         "fd",    "mqueue",
                                           ".lxc", ".lxd-mounts", ".udev", NULL};

        for (const char *const *d = dirs; *d; d++)
                if (STREQ(*d, name))
                        return true;
        return false;
}

static int host_devices(const char *path, json_t *out, struct errmsg *err);

static void add_device(const char *path, const struct stat *st, json_t *out)
{
        const char *type = S_ISBLK(st->st_mode) ? "b" : S_ISFIFO(st->st_mode) ? "p" : "c";

        json_array_append_new(out,
                              json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", path, "type",
                                        type, "major", (json_int_t) major(st->st_rdev), "minor",
                                        (json_int_t) minor(st->st_rdev), "fileMode",
                                        (json_int_t) (st->st_mode & ~S_IFMT), "uid",
                                        (json_int_t) st->st_uid, "gid", (json_int_t) st->st_gid));
}

/* One directory entry of a /dev walk (os.ReadDir's types: symlinks are not followed). */
static int host_device(const char *dir, const char *name, json_t *out, struct errmsg *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        char why[GO_STRERROR_MAX];
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0
                                       : errmsg_set(err, -errno, "lstat %s: %s", path,
                                                    go_strerror(errno, why));
        if (S_ISDIR(st.st_mode))
                return skipped_dir(name) ? 0 : host_devices(path, out, err);
        if (STREQ(name, "console") || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
                return 0;
        add_device(path, &st, out);
        return 0;
}

static int host_devices(const char *path, json_t *out, struct errmsg *err)
{
        _cleanup_strv_ char **names = NULL;
        char why[GO_STRERROR_MAX];
        struct dirent *de;
        DIR *d = opendir(path);
        int r = 0;

        if (!d)
                return errmsg_set(err, -errno, "open %s: %s", path, go_strerror(errno, why));
        while ((de = readdir(d)))
                if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, ".."))
                        strv_push(&names, de->d_name);
        closedir(d);
        if (names)
                qsort(names, strv_length(names), sizeof(char *), compare_names);
        strv_foreach (n, names) {
                r = host_device(path, *n, out, err);
                if (r < 0)
                        break;
        }
        return r;
}

/* --device: a device node, or a directory walked as /dev is (oci.WithDevices). */
static int user_devices(char **paths, json_t *out, struct errmsg *err)
{
        strv_foreach (p, paths) {
                char why[GO_STRERROR_MAX];
                struct stat st;
                int r;

                if (stat(*p, &st) < 0)
                        return errmsg_set(err, -errno, "error stating device path: stat %s: %s", *p,
                                          go_strerror(errno, why));
                if (S_ISDIR(st.st_mode)) {
                        r = host_devices(*p, out, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (lstat(*p, &st) < 0)
                        return errmsg_set(err, -errno, "lstat %s: %s", *p, go_strerror(errno, why));
                if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISFIFO(st.st_mode))
                        return errmsg_set(err, -EINVAL, "not a device node");
                add_device(*p, &st, out);
        }
        return 0;
}

int spec_host_probe(struct spec_host *ret, bool with_devices, char **device_paths,
                    struct errmsg *err)
{
        struct spec_host h = {0};
        char name[256] = "";
        int r;

        if (gethostname(name, sizeof(name) - 1) < 0)
                return errmsg_set(err, -errno, "get hostname: %m");
        h.hostname = xstrdup(name);
        h.devices = json_array();
        h.user_devices = json_array();
        r = current_caps(&h.caps, err);
        if (r >= 0 && with_devices)
                r = host_devices("/dev", h.devices, err);
        if (r >= 0)
                r = user_devices(device_paths, h.user_devices, err);
        if (r < 0) {
                spec_host_release(&h);
                return r;
        }
        *ret = h;
        return 0;
}

void spec_host_release(struct spec_host *h)
{
        free((char *) h->hostname);
        strv_free(h->caps);
        json_decref(h->devices);
        json_decref(h->user_devices);
        *h = (struct spec_host){0};
}
