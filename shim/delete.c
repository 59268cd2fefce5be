/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delete command: containerd runs it when it cannot reach a shim (killed, or gone while
 * containerd was down) to release what the shim held. As containerd-shim-runc-v2's Stop: the
 * runtime force-deletes the container, the rootfs is unmounted, and a DeleteResponse with
 * the init pid, exit status 137 (SIGKILL) and the time goes to stdout. Steps that fail are
 * warnings: containerd removes the bundle afterwards anyway.
 */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "shim/mount.h"
#include "shim/runtime.h"
#include "shim/shim.h"
#include "shim/task.h"

#define OPTIONS_FILE_MAX_BYTES (64u << 10)

/* The runtime binary and root recorded by Create in options.json, or the defaults. */
static void read_runtime_options(const char *bundle, const char *self, char **ret_binary,
                                 char **ret_root)
{
        _cleanup_free_ char *path = xasprintf("%s/options.json", bundle);
        _cleanup_free_ char *text = NULL;
        json_t *opts = NULL;
        const char *binary, *root;
        char *dirs[3];
        size_t len;

        if (read_file_at(AT_FDCWD, path, OPTIONS_FILE_MAX_BYTES, &text, &len) >= 0)
                opts = json_loadb(text, len, 0, NULL);
        binary = json_string_value(json_object_get(opts, "binary_name"));
        root = json_string_value(json_object_get(opts, "root"));
        *ret_root = xstrdup(root && root[0] ? root : SHIM_DEFAULT_RUNTIME_ROOT);
        *ret_binary = NULL;
        if (binary && binary[0]) {
                *ret_binary = xstrdup(binary);
        } else {
                runtime_self_dirs(self, dirs);
                if (runtime_find_binary(SHIM_DEFAULT_RUNTIME, (const char *const *) dirs,
                                        ret_binary) < 0)
                        *ret_binary = xstrdup(SHIM_DEFAULT_RUNTIME);
                for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                        free(dirs[i]);
        }
        json_decref(opts);
}

static void runtime_force_delete(const struct shim_opts *o, const char *bundle)
{
        static const int no_stdio[3] = {-EBADF, -EBADF, -EBADF};
        const char *args[] = {"delete", "--force", o->id, NULL};
        _cleanup_free_ char *binary = NULL, *root = NULL;
        struct runtime rt = {0};
        struct errmsg err = {0};

        read_runtime_options(bundle, o->self, &binary, &root);
        runtime_init(&rt, binary, root, o->namespace, bundle);
        if (runtime_run(&rt, args, no_stdio, &err) < 0)
                log_warn("%s, ignoring", err.msg);
        runtime_release(&rt);
}

/* The socket of a dead shim stays in /run/containerd/s otherwise. */
static void remove_dead_socket(const char *bundle)
{
        _cleanup_free_ char *path = xasprintf("%s/address", bundle);
        _cleanup_free_ char *address = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        size_t len;

        if (read_file_at(AT_FDCWD, path, 4096, &address, &len) < 0 ||
            strncmp(address, "unix://", 7) != 0 || strlen(address + 7) >= sizeof(sa.sun_path))
                return;
        memcpy(sa.sun_path, address + 7, strlen(address + 7) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 &&
            errno == ECONNREFUSED)
                (void) unlink(sa.sun_path);
}

int shim_delete(const struct shim_opts *o, struct errmsg *err)
{
        Containerd__Task__V2__DeleteResponse out = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
        Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        _cleanup_free_ char *cwd = NULL, *rootfs = NULL, *pid_file = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        const char *bundle = o->bundle;
        struct timespec now;
        pid_t pid = 0;
        size_t len;
        int r;

        if (!o->id || !o->id[0])
                return errmsg_set(err, -EINVAL, "delete: -id is required");
        if (!bundle || !bundle[0]) {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return errmsg_set(err, -errno, "delete: getcwd: %s", strerror(errno));
                bundle = cwd;
        }
        runtime_force_delete(o, bundle);
        rootfs = xasprintf("%s/rootfs", bundle);
        r = rootfs_unmount_all(rootfs);
        if (r < 0)
                log_warn_errno(r, "unmount %s, ignoring", rootfs);
        pid_file = xasprintf("%s/init.pid", bundle);
        r = pid_file_read(pid_file, &pid);
        if (r < 0)
                log_warn_errno(r, "read %s, ignoring", pid_file);
        remove_dead_socket(bundle);
        (void) clock_gettime(CLOCK_REALTIME, &now);
        at.seconds = now.tv_sec;
        at.nanos = (int32_t) now.tv_nsec;
        out.pid = (uint32_t) pid;
        out.exit_status = 128 + SIGKILL;
        out.exited_at = &at;
        buf = xmalloc(protobuf_c_message_get_packed_size(&out.base) + 1);
        len = protobuf_c_message_pack(&out.base, buf);
        r = write_all(STDOUT_FILENO, buf, len);
        if (r < 0)
                return errmsg_set(err, r, "write DeleteResponse: %s", strerror(-r));
        return 0;
}
