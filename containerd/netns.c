/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Persistent network namespaces: a forked child unshares its network namespace and
 * bind-mounts /proc/self/ns/net on a file, then exits; the mount keeps the namespace alive.
 * A child, not a thread of the daemon, so that the daemon's own namespaces never change.
 */
#include "containerd/netns.h"

#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/xalloc.h"

/* In the child: only async-signal-safe calls. */
static _noreturn_ void bind_new_netns(const char *path)
{
        if (unshare(CLONE_NEWNET) < 0)
                _exit(1);
        if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
                _exit(2);
        _exit(0);
}

int netns_create(const char *dir, const char *ns, const char *id, char **ret_path,
                 struct errmsg *err)
{
        _cleanup_free_ char *parent = xasprintf("%s/%s", dir, ns);
        _cleanup_free_ char *path = xasprintf("%s/%s", parent, id);
        int fd, status, r;
        pid_t pid;

        r = mkdir_p_at(AT_FDCWD, parent, 0711);
        if (r < 0)
                return errmsg_set(err, r, "netns %s: %s", parent, strerror(-r));
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        if (fd < 0)
                return errmsg_set(err, -errno, "netns %s: %s", path, strerror(errno));
        safe_close(fd);
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto undo;
        }
        if (pid == 0)
                bind_new_netns(path);
        if (waitpid(pid, &status, 0) < 0) {
                r = -errno;
                goto undo;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                r = -EPERM;
                goto undo;
        }
        *ret_path = TAKE_PTR(path);
        return 0;

undo:
        (void) unlink(path);
        return errmsg_set(err, r, "netns %s: %s", path,
                          r == -EPERM ? "unshare or bind mount failed" : strerror(-r));
}

int netns_remove(const char *path, struct errmsg *err)
{
        if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return errmsg_set(err, -errno, "netns %s: unmount: %s", path, strerror(errno));
        if (unlink(path) < 0 && errno != ENOENT)
                return errmsg_set(err, -errno, "netns %s: remove: %s", path, strerror(errno));
        return 0;
}

static json_t *network_entry(json_t *spec)
{
        json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces"), *e;
        size_t i;

        json_array_foreach (nss, i, e)
                if (json_is_string(json_object_get(e, "type")) &&
                    STREQ(json_string_value(json_object_get(e, "type")), "network"))
                        return e;
        return NULL;
}

int netns_spec_join(const char *spec, size_t spec_len, const char *path, char **ret,
                    size_t *ret_len, struct errmsg *err)
{
        json_t *root, *e;
        json_error_t je;
        char *out;

        root = json_loadb(spec, spec_len, 0, &je);
        if (!json_is_object(root)) {
                json_decref(root);
                return errmsg_set(err, -EINVAL, "spec: line %d column %d: %s", je.line, je.column,
                                  root ? "not an object" : je.text);
        }
        e = network_entry(root);
        if (!e) {
                json_decref(root);
                return errmsg_set(err, -EINVAL,
                                  "label %s: the spec has no network namespace (host network)",
                                  NETNS_LABEL);
        }
        json_object_set_new(e, "path", json_string(path));
        out = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        *ret_len = strlen(out);
        *ret = out;
        return 0;
}
