/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers as ctr's client library makes and removes them (containerd 1.6's client.go
 * NewContainer, container.go Delete, cmd/ctr/commands/run NewContainer): the flags `ctr run`
 * and `ctr containers create` share, the record (an image's snapshot prepared under a lease,
 * the OCI spec, runtime and labels) and its removal with the snapshot. Shared by
 * cmd-containers.c, cmd-run.c and cmd-tasks.c.
 */
#pragma once

#include <jansson.h>

#include "containerd/services/containers/v1/containers.pb-c.h"
#include "ctr/ctr.h"
#include "ctr/spec.h"

#define CTR_DEFAULT_RUNTIME     "io.containerd.runc.v2"
#define CTR_DEFAULT_SNAPSHOTTER "overlayfs"
#define RUNC_OPTIONS_TYPE_URL   "containerd.runc.v1.Options"

typedef Containerd__Services__Containers__V1__Container ctr_container;

/* The flags of `ctr containers create`; run adds its own (is_run). */
struct container_flags {
        struct spec_opts spec;
        bool is_run;
        const char *snapshotter; /* --snapshotter, $CONTAINERD_SNAPSHOTTER */
        char **snapshotter_labels;
        const char *runtime; /* --runtime */
        const char *runtime_config_path;
        const char *runc_binary, *runc_root; /* run only */
        bool runc_systemd_cgroup;
        const char *config; /* --config, -c: the spec from a file */
        const char *platform;
        bool rootfs;   /* --rootfs: the first operand is a directory */
        bool no_pivot; /* a task option */
        const char *pid_file;
        /* run only */
        bool rm, detach, null_io;
        const char *log_uri, *fifo_dir;
        /* numeric flags, parsed after the others */
        const char *memory_limit, *cpus, *cpu_shares, *cpu_quota, *cpu_period;
};

/* Parses the flags of argv (argv[0] the command); *ret_index is the first operand. */
int container_flags_parse(struct container_flags *f, bool is_run, int argc, char **argv,
                          int *ret_index, struct errmsg *err);
void container_flags_release(struct container_flags *f);

/*
 * ctr's NewContainer: the container id with the image ref (or --rootfs directory, or nothing
 * with --config) and args (the command; NULL for the image's). Nothing is left behind on
 * failure (the snapshot is removed, the lease dropped).
 */
int container_new(struct ctr *c, const struct container_flags *f, const char *ref, const char *id,
                  char **args, struct errmsg *err);

/* Containers.Get: *ret is the response (free with protobuf_c_message_free_unpacked); its
 * container is (*ret)->container. */
int container_get(struct ctr *c, const char *id,
                  Containerd__Services__Containers__V1__GetContainerResponse **ret,
                  struct errmsg *err);
/* The container's spec decoded from its Any; -EINVAL when it is not a runtime spec. */
int container_spec(const ctr_container *ct, json_t **ret, struct errmsg *err);

/* container.Delete: refused while it has a task; the snapshot goes too unless keep_snapshot. */
int container_delete(struct ctr *c, const char *id, bool keep_snapshot, struct errmsg *err);

/* The string members of obj as a strv of key, value pairs sorted by key (for ctr_map_new()). */
char **labels_pairs(const json_t *obj);
