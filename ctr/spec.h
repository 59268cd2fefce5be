/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI runtime spec ctr makes for a container (containerd 1.6's oci package: the default
 * Unix spec, then the spec options `ctr run` and `ctr containers create` apply, in ctr's
 * order), as jansson values printed with Go's field order and formatting, so that the bytes
 * sent are those ctr sends. Pure functions: what they need from the host (hostname, the
 * caller's capabilities, /dev) and from the image's root filesystem (/etc/passwd and
 * /etc/group) comes in through struct spec_host and struct spec_rootfs.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/errmsg.h"

#define SPEC_TYPE_URL    "types.containerd.io/opencontainers/runtime-spec/1/Spec"
#define PROCESS_TYPE_URL "types.containerd.io/opencontainers/runtime-spec/1/Process"
#define SPEC_MAX_BYTES   (4u << 20)

/* The command line options that shape the spec (ctr's ContainerFlags and run's flags). */
struct spec_opts {
        char **env;           /* --env, strv */
        const char *env_file; /* --env-file */
        char **mounts;        /* --mount, strv (parsed by spec_parse_mount) */
        char **labels;        /* --label: also the spec's annotations */
        char **annotations;   /* --annotation */
        char **args;          /* the command after the container id; NULL: the image's */
        const char *cwd;
        const char *user;     /* --user (ctr 1.7's; ctr 1.6 has none) */
        const char *hostname; /* --hostname (ctr 1.7's) */
        const char *cgroup;   /* --cgroup, when is_cgroup_set */
        bool is_cgroup_set;
        char **with_ns; /* --with-ns type:path */
        char **cap_add, **cap_drop;
        char **devices; /* --device: resolved by spec_host_probe() into spec_host */
        bool tty, privileged, net_host, read_only, allow_new_privs;
        const char *rootfs; /* --rootfs: the absolute path (no image) */
        uint64_t memory_limit;
        double cpus;
        uint64_t cpu_shares; /* 0: not set (containers create has no --cpu-shares) */
        int64_t cpu_quota;   /* -1: not set */
        uint64_t cpu_period; /* 0: not set */
        const char *rootfs_propagation;
};

/* What the host contributes: the hostname (--net-host sets HOSTNAME), the caller's
 * effective capabilities and the devices under /dev (--privileged). */
struct spec_host {
        const char *hostname;
        char **caps;          /* strv of "CAP_..." names */
        json_t *devices;      /* array of LinuxDevice objects: those of /dev */
        json_t *user_devices; /* those --device names */
};

/* /etc/passwd and /etc/group of the container's root filesystem; NULL: the file is absent. */
struct spec_rootfs {
        char *passwd;
        char *group;
};
void spec_rootfs_release(struct spec_rootfs *fs);

/* containerd's populateDefaultUnixSpec plus WithDefaultUnixDevices for ns/id. */
json_t *spec_default(const char *ns, const char *id);

/*
 * The whole spec as ctr builds it: the default, the options in ctr's order, and the image's
 * config (config: the image config document, NULL with --rootfs). -EINVAL/-ENOENT with err
 * as ctr words it (a bad --mount, --with-ns or --env-file, an unknown user).
 */
int spec_build(const char *ns, const char *id, const struct spec_opts *o, const json_t *config,
               const struct spec_host *host, const struct spec_rootfs *fs, json_t **ret,
               struct errmsg *err);

/* ctr's parseMountFlag: "type=bind,src=/a,dst=/b,options=rbind:ro" (CSV fields, key=value)
 * into a Mount object. */
int spec_parse_mount(const char *s, json_t **ret, struct errmsg *err);

/* replaceOrAppendEnvValues: overrides replace the same keys in env (an array, changed in
 * place), are appended otherwise; a name without '=' removes it. */
void spec_env_merge(json_t *env, char **overrides);

/* oci.WithUser: "user", "uid", "user:group", "uid:gid" ... resolved in fs. */
int spec_with_user(json_t *spec, const char *user, const struct spec_rootfs *fs,
                   struct errmsg *err);
/* oci.WithAdditionalGIDs: the groups of fs's /etc/group that list user (a name or a uid). */
void spec_with_additional_gids(json_t *spec, const char *user, const struct spec_rootfs *fs);

/* Sorts every object of spec into the Go structs' field order (keys it does not know stay
 * after the known ones, in their order). */
void spec_order(json_t *spec);
/* The spec as json.Marshal writes it: the caller's string. */
char *spec_dump(json_t *spec);

/* The hostname, the caller's effective capabilities (cap.Current), the devices under /dev
 * (oci.HostDevices, with_devices: for --privileged) and those of device_paths (--device, a
 * device node or a directory of them). */
int spec_host_probe(struct spec_host *ret, bool with_devices, char **device_paths,
                    struct errmsg *err);
void spec_host_release(struct spec_host *h);
