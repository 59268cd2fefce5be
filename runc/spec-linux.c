/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The linux section of config.json (runtime-spec v1.0.2 config-linux.md, plus v1.1's
 * timeOffsets) into struct oci_linux: namespaces, id mappings, devices, cgroup resources,
 * rootfs propagation, masked and read-only paths, sysctl, seccomp (seccomp.c),
 * personality and the mount label. Unknown fields (intelRdt, rdma, network.priorities)
 * are ignored, as the spec asks.
 */
#include <stddef.h>
#include <sys/mount.h>
#include <sys/personality.h>

#include "lib/xalloc.h"
#include "runc/seccomp.h"
#include "runc/spec-json.h"
#include "runc/spec.h"

/* Namespaces and id mappings */

static int parse_namespace(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_namespace *ns = item;
        _cleanup_free_ char *type = NULL;
        int r, t;

        r = jget_string(obj, path, "type", JSON_REQUIRED, &type, err);
        if (r < 0)
                return r;
        t = ns_type_from_string(type);
        if (t < 0)
                return errmsg_set(err, -EINVAL, "%s.type: unknown namespace type \"%s\"", path,
                                  type);
        ns->type = t;
        r = jget_abs_path(obj, path, "path", 0, &ns->path, err);
        return r < 0 ? r : 0;
}

static int parse_namespaces(json_t *obj, const char *path, struct oci_linux *l, struct errmsg *err)
{
        char pn[JPATH_MAX];
        int r;

        r = jget_objects(obj, path, "namespaces", sizeof(*l->namespaces), parse_namespace,
                         &l->namespaces, &l->n_namespaces, err);
        if (r <= 0)
                return r;
        /* config-linux.md: duplicated namespaces with the same type are an error */
        (void) jpath_key(pn, path, "namespaces");
        for (size_t i = 1; i < l->n_namespaces; i++)
                for (size_t j = 0; j < i; j++)
                        if (l->namespaces[i].type == l->namespaces[j].type)
                                return errmsg_set(err, -EINVAL,
                                                  "%s[%zu].type: duplicate namespace type \"%s\"",
                                                  pn, i, ns_type_to_string(l->namespaces[i].type));
        return 0;
}

static int parse_id_mapping(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_id_mapping *m = item;
        int r;

        r = jget_uint32(obj, path, "containerID", JSON_REQUIRED, &m->container_id, err);
        if (r < 0)
                return r;
        r = jget_uint32(obj, path, "hostID", JSON_REQUIRED, &m->host_id, err);
        if (r < 0)
                return r;
        r = jget_uint32(obj, path, "size", JSON_REQUIRED, &m->size, err);
        return r < 0 ? r : 0;
}

/* Devices to create */

static int parse_device(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_device *d = item;
        _cleanup_free_ char *type = NULL;
        unsigned flags;
        int r;

        r = jget_string(obj, path, "type", JSON_REQUIRED, &type, err);
        if (r < 0)
                return r;
        if (strlen(type) != 1 || !strchr("cbup", type[0]))
                return errmsg_set(err, -EINVAL, "%s.type: unknown device type \"%s\"", path, type);
        d->type = type[0];
        r = jget_abs_path(obj, path, "path", JSON_REQUIRED, &d->path, err);
        if (r < 0)
                return r;
        /* major and minor are required unless the device is a fifo */
        flags = d->type == 'p' ? 0 : JSON_REQUIRED;
        r = jget_int64(obj, path, "major", flags, &d->major, err);
        if (r < 0)
                return r;
        r = jget_int64(obj, path, "minor", flags, &d->minor, err);
        if (r < 0)
                return r;
        r = jget_uint32(obj, path, "fileMode", 0, &d->file_mode, err);
        if (r < 0)
                return r;
        d->has_file_mode = r > 0;
        r = jget_uint32(obj, path, "uid", 0, &d->uid, err);
        if (r < 0)
                return r;
        d->has_uid = r > 0;
        r = jget_uint32(obj, path, "gid", 0, &d->gid, err);
        if (r < 0)
                return r;
        d->has_gid = r > 0;
        return 0;
}

/* resources.devices: the device cgroup's allow/deny list */

static int parse_device_access(json_t *obj, const char *path, struct oci_device_rule *d,
                               struct errmsg *err)
{
        _cleanup_free_ char *access = NULL;
        int r;

        r = jget_string(obj, path, "access", 0, &access, err);
        if (r <= 0)
                return r;
        for (size_t i = 0; access[i]; i++)
                if (!strchr("rwm", access[i]) || strchr(access + i + 1, access[i]))
                        return errmsg_set(err, -EINVAL,
                                          "%s.access: \"%s\" is not a subset of \"rwm\"", path,
                                          access);
        /* three distinct letters at most, so it fits */
        (void) snprintf(d->access, sizeof(d->access), "%s", access);
        return 0;
}

static int parse_device_rule(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_device_rule *d = item;
        _cleanup_free_ char *type = NULL;
        char pk[JPATH_MAX];
        json_t *v;
        int r;

        r = jget_bool(obj, path, "allow", JSON_REQUIRED, &d->allow, err);
        if (r < 0)
                return r;
        d->type = 'a';
        r = jget_string(obj, path, "type", 0, &type, err);
        if (r < 0)
                return r;
        if (r > 0 && (strlen(type) != 1 || !strchr("acb", type[0])))
                return errmsg_set(err, -EINVAL, "%s.type: unknown device type \"%s\"", path, type);
        if (r > 0)
                d->type = type[0];
        d->major = d->minor = -1;
        if (jget(obj, path, "major", 0, &v, NULL) > 0) {
                r = jval_int64(v, jpath_key(pk, path, "major"), -1, INT64_MAX, &d->major, err);
                if (r < 0)
                        return r;
        }
        if (jget(obj, path, "minor", 0, &v, NULL) > 0) {
                r = jval_int64(v, jpath_key(pk, path, "minor"), -1, INT64_MAX, &d->minor, err);
                if (r < 0)
                        return r;
        }
        return parse_device_access(obj, path, d, err);
}

/*
 * Optional numbers of the resources object, table driven: each entry says where the value
 * and its has_ flag live in struct oci_resources.
 */

enum num_kind {
        NUM_INT64,
        NUM_UINT64,
        NUM_UINT32,
        NUM_UINT16,
        NUM_BOOL,
};

struct num_field {
        const char *key;
        enum num_kind kind;
        size_t offset;
        size_t has_offset;
};

#define NUM_FIELD(key, kind, name)                                 \
        {                                                          \
                key, kind, offsetof(struct oci_resources, name),   \
                        offsetof(struct oci_resources, has_##name) \
        }

static const struct num_field memory_fields[] = {
        NUM_FIELD("limit", NUM_INT64, memory_limit),
        NUM_FIELD("reservation", NUM_INT64, memory_reservation),
        NUM_FIELD("swap", NUM_INT64, memory_swap),
        NUM_FIELD("kernel", NUM_INT64, memory_kernel),
        NUM_FIELD("kernelTCP", NUM_INT64, memory_kernel_tcp),
        NUM_FIELD("swappiness", NUM_UINT64, memory_swappiness),
        NUM_FIELD("disableOOMKiller", NUM_BOOL, memory_disable_oom_killer),
        NUM_FIELD("useHierarchy", NUM_BOOL, memory_use_hierarchy),
        {0},
};

static const struct num_field cpu_fields[] = {
        NUM_FIELD("shares", NUM_UINT64, cpu_shares),
        NUM_FIELD("quota", NUM_INT64, cpu_quota),
        NUM_FIELD("period", NUM_UINT64, cpu_period),
        NUM_FIELD("realtimeRuntime", NUM_INT64, cpu_realtime_runtime),
        NUM_FIELD("realtimePeriod", NUM_UINT64, cpu_realtime_period),
        {0},
};

static const struct num_field blkio_fields[] = {
        NUM_FIELD("weight", NUM_UINT16, blkio_weight),
        NUM_FIELD("leafWeight", NUM_UINT16, blkio_leaf_weight),
        {0},
};

static const struct num_field network_fields[] = {
        NUM_FIELD("classID", NUM_UINT32, net_class_id),
        {0},
};

static int parse_num_field(json_t *obj, const char *path, const struct num_field *f,
                           struct oci_resources *rs, struct errmsg *err)
{
        char *p = (char *) rs + f->offset;
        int r = 0;

        switch (f->kind) {
        case NUM_INT64:
                r = jget_int64(obj, path, f->key, 0, (int64_t *) p, err);
                break;
        case NUM_UINT64:
                r = jget_uint64(obj, path, f->key, 0, (uint64_t *) p, err);
                break;
        case NUM_UINT32:
                r = jget_uint32(obj, path, f->key, 0, (uint32_t *) p, err);
                break;
        case NUM_UINT16:
                r = jget_uint16(obj, path, f->key, 0, (uint16_t *) p, err);
                break;
        case NUM_BOOL:
                r = jget_bool(obj, path, f->key, 0, (bool *) p, err);
                break;
        }
        if (r > 0)
                *((bool *) ((char *) rs + f->has_offset)) = true;
        return r;
}

/* Parses rs's section key (an object) by fields; returns the section in *ret_obj. */
static int parse_num_section(json_t *res, const char *path, const char *key,
                             const struct num_field *fields, struct oci_resources *rs,
                             json_t **ret_obj, struct errmsg *err)
{
        char ps[JPATH_MAX];
        json_t *obj;
        int r;

        r = jget_object(res, path, key, 0, &obj, err);
        if (r <= 0)
                return r;
        (void) jpath_key(ps, path, key);
        for (const struct num_field *f = fields; f->key; f++) {
                r = parse_num_field(obj, ps, f, rs, err);
                if (r < 0)
                        return r;
        }
        if (ret_obj)
                *ret_obj = obj;
        return 1;
}

static int parse_cpu(json_t *res, const char *path, struct oci_resources *rs, struct errmsg *err)
{
        char pc[JPATH_MAX];
        json_t *cpu;
        int r;

        r = parse_num_section(res, path, "cpu", cpu_fields, rs, &cpu, err);
        if (r <= 0)
                return r;
        (void) jpath_key(pc, path, "cpu");
        r = jget_string(cpu, pc, "cpus", 0, &rs->cpu_cpus, err);
        if (r < 0)
                return r;
        r = jget_string(cpu, pc, "mems", 0, &rs->cpu_mems, err);
        return r < 0 ? r : 0;
}

static int parse_pids(json_t *res, const char *path, struct oci_resources *rs, struct errmsg *err)
{
        char pp[JPATH_MAX];
        json_t *pids;
        int r;

        r = jget_object(res, path, "pids", 0, &pids, err);
        if (r <= 0)
                return r;
        r = jget_int64(pids, jpath_key(pp, path, "pids"), "limit", JSON_REQUIRED, &rs->pids_limit,
                       err);
        if (r < 0)
                return r;
        rs->has_pids_limit = true;
        return 0;
}

/* blockIO */

/* Every blockIO device entry starts with the device's numbers, both required. */
static int parse_major_minor(json_t *obj, const char *path, int64_t *major, int64_t *minor,
                             struct errmsg *err)
{
        int r = jget_int64(obj, path, "major", JSON_REQUIRED, major, err);

        if (r < 0)
                return r;
        r = jget_int64(obj, path, "minor", JSON_REQUIRED, minor, err);
        return r < 0 ? r : 0;
}

static int parse_weight_device(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_weight_device *d = item;
        int r;

        r = parse_major_minor(obj, path, &d->major, &d->minor, err);
        if (r < 0)
                return r;
        r = jget_uint16(obj, path, "weight", 0, &d->weight, err);
        if (r < 0)
                return r;
        d->has_weight = r > 0;
        r = jget_uint16(obj, path, "leafWeight", 0, &d->leaf_weight, err);
        if (r < 0)
                return r;
        d->has_leaf_weight = r > 0;
        if (!d->has_weight && !d->has_leaf_weight)
                return errmsg_set(err, -EINVAL, "%s: needs weight or leafWeight", path);
        return 0;
}

static int parse_throttle_device(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_throttle_device *d = item;
        int r;

        r = parse_major_minor(obj, path, &d->major, &d->minor, err);
        if (r < 0)
                return r;
        r = jget_uint64(obj, path, "rate", JSON_REQUIRED, &d->rate, err);
        return r < 0 ? r : 0;
}

static int parse_blkio(json_t *res, const char *path, struct oci_resources *rs, struct errmsg *err)
{
        static const char *const throttle_keys[4] = {
                "throttleReadBpsDevice",
                "throttleWriteBpsDevice",
                "throttleReadIOPSDevice",
                "throttleWriteIOPSDevice",
        };
        char pb[JPATH_MAX];
        json_t *blkio;
        int r;

        r = parse_num_section(res, path, "blockIO", blkio_fields, rs, &blkio, err);
        if (r <= 0)
                return r;
        (void) jpath_key(pb, path, "blockIO");
        r = jget_objects(blkio, pb, "weightDevice", sizeof(*rs->blkio_weight_devices),
                         parse_weight_device, &rs->blkio_weight_devices,
                         &rs->n_blkio_weight_devices, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(throttle_keys); i++) {
                r = jget_objects(blkio, pb, throttle_keys[i], sizeof(struct oci_throttle_device),
                                 parse_throttle_device, &rs->blkio_throttle[i],
                                 &rs->n_blkio_throttle[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_hugepage_limit(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_hugepage_limit *h = item;
        int r;

        r = jget_string(obj, path, "pageSize", JSON_REQUIRED, &h->page_size, err);
        if (r < 0)
                return r;
        r = jget_uint64(obj, path, "limit", JSON_REQUIRED, &h->limit, err);
        return r < 0 ? r : 0;
}

static int parse_resources(json_t *obj, const char *path, struct oci_linux *l, struct errmsg *err)
{
        struct oci_resources *rs = &l->resources;
        char pr[JPATH_MAX];
        json_t *res;
        int r;

        r = jget_object(obj, path, "resources", 0, &res, err);
        if (r <= 0)
                return r;
        l->has_resources = true;
        (void) jpath_key(pr, path, "resources");
        r = jget_objects(res, pr, "devices", sizeof(*rs->devices), parse_device_rule, &rs->devices,
                         &rs->n_devices, err);
        if (r >= 0)
                r = parse_num_section(res, pr, "memory", memory_fields, rs, NULL, err);
        if (r >= 0)
                r = parse_cpu(res, pr, rs, err);
        if (r >= 0)
                r = parse_pids(res, pr, rs, err);
        if (r >= 0)
                r = parse_blkio(res, pr, rs, err);
        if (r >= 0)
                r = jget_objects(res, pr, "hugepageLimits", sizeof(*rs->hugepages),
                                 parse_hugepage_limit, &rs->hugepages, &rs->n_hugepages, err);
        if (r >= 0)
                r = parse_num_section(res, pr, "network", network_fields, rs, NULL, err);
        if (r >= 0)
                r = jget_string_map(res, pr, "unified", &rs->unified, &rs->n_unified, err);
        return r < 0 ? r : 0;
}

static void oci_resources_release(struct oci_resources *rs)
{
        free(rs->devices);
        free(rs->cpu_cpus);
        free(rs->cpu_mems);
        free(rs->blkio_weight_devices);
        for (size_t i = 0; i < ELEMENTSOF(rs->blkio_throttle); i++)
                free(rs->blkio_throttle[i]);
        for (size_t i = 0; rs->hugepages && i < rs->n_hugepages; i++)
                free(rs->hugepages[i].page_size);
        free(rs->hugepages);
        oci_key_values_free(rs->unified, rs->n_unified);
}

/* rootfsPropagation, maskedPaths, readonlyPaths */

static const struct {
        const char *name;
        unsigned long flags;
} propagation_table[] = {
        {"shared", MS_SHARED},
        {"slave", MS_SLAVE},
        {"private", MS_PRIVATE},
        {"unbindable", MS_UNBINDABLE},
        {"rshared", MS_SHARED | MS_REC},
        {"rslave", MS_SLAVE | MS_REC},
        {"rprivate", MS_PRIVATE | MS_REC},
        {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int parse_rootfs_propagation(json_t *obj, const char *path, struct oci_linux *l,
                                    struct errmsg *err)
{
        _cleanup_free_ char *s = NULL;
        char pk[JPATH_MAX];
        int r;

        r = jget_string(obj, path, "rootfsPropagation", 0, &s, err);
        if (r <= 0 || !s[0]) /* Go writes "" for unset: the default */
                return r;
        for (size_t i = 0; i < ELEMENTSOF(propagation_table); i++)
                if (STREQ(propagation_table[i].name, s)) {
                        l->rootfs_propagation = propagation_table[i].flags;
                        return 0;
                }
        return errmsg_set(err, -EINVAL, "%s: unknown propagation \"%s\"",
                          jpath_key(pk, path, "rootfsPropagation"), s);
}

static int parse_abs_paths(json_t *obj, const char *path, const char *key, char ***ret,
                           struct errmsg *err)
{
        char pk[JPATH_MAX];
        int r;

        r = jget_strv(obj, path, key, 0, ret, err);
        if (r <= 0)
                return r;
        for (size_t i = 0; (*ret)[i]; i++)
                if ((*ret)[i][0] != '/')
                        return errmsg_set(err, -EINVAL, "%s[%zu]: not an absolute path",
                                          jpath_key(pk, path, key), i);
        return 0;
}

/* personality, timeOffsets */

static int parse_personality(json_t *obj, const char *path, struct oci_linux *l, struct errmsg *err)
{
        _cleanup_free_ char *domain = NULL;
        _cleanup_strv_ char **flags = NULL;
        char pp[JPATH_MAX];
        json_t *o;
        int r;

        r = jget_object(obj, path, "personality", 0, &o, err);
        if (r <= 0)
                return r;
        (void) jpath_key(pp, path, "personality");
        r = jget_string(o, pp, "domain", JSON_REQUIRED, &domain, err);
        if (r < 0)
                return r;
        if (STREQ(domain, "LINUX"))
                l->personality = PER_LINUX;
        else if (STREQ(domain, "LINUX32"))
                l->personality = PER_LINUX32;
        else
                return errmsg_set(err, -EINVAL, "%s.domain: unknown domain \"%s\"", pp, domain);
        /* config-linux.md: "Currently no flag values are supported." */
        r = jget_strv(o, pp, "flags", 0, &flags, err);
        if (r < 0)
                return r;
        if (flags && flags[0])
                return errmsg_set(err, -EINVAL, "%s.flags[0]: unsupported flag \"%s\"", pp,
                                  flags[0]);
        l->has_personality = true;
        return 0;
}

static int parse_time_offset(json_t *v, const char *path, int64_t offset[2], struct errmsg *err)
{
        uint32_t nsecs = 0;
        int r;

        r = jval_object(v, path, err);
        if (r < 0)
                return r;
        r = jget_int64(v, path, "secs", 0, &offset[0], err);
        if (r < 0)
                return r;
        r = jget_uint32(v, path, "nanosecs", 0, &nsecs, err);
        if (r < 0)
                return r;
        /* time_namespaces(7): the kernel takes nanoseconds below one second */
        if (nsecs >= 1000000000u)
                return errmsg_set(err, -ERANGE, "%s.nanosecs: %u is not below 1000000000", path,
                                  nsecs);
        offset[1] = nsecs;
        return 0;
}

static int parse_time_offsets(json_t *obj, const char *path, struct oci_linux *l,
                              struct errmsg *err)
{
        char pt[JPATH_MAX], pc[JPATH_MAX];
        const char *clock;
        json_t *o, *v;
        int r;

        r = jget_object(obj, path, "timeOffsets", 0, &o, err);
        if (r <= 0)
                return r;
        (void) jpath_key(pt, path, "timeOffsets");
        json_object_foreach (o, clock, v) {
                int i = STREQ(clock, "monotonic") ? 0 : STREQ(clock, "boottime") ? 1 : -1;

                if (i < 0)
                        return errmsg_set(err, -EINVAL, "%s: unknown clock \"%s\"", pt, clock);
                r = parse_time_offset(v, jpath_key(pc, pt, clock), l->time_offsets[i], err);
                if (r < 0)
                        return r;
        }
        l->has_time_offsets = true;
        return 0;
}

/* The section */

static int parse_linux_namespaced(json_t *obj, const char *path, struct oci_linux *l,
                                  struct errmsg *err)
{
        int r;

        r = parse_namespaces(obj, path, l, err);
        if (r < 0)
                return r;
        r = jget_objects(obj, path, "uidMappings", sizeof(*l->uid_mappings), parse_id_mapping,
                         &l->uid_mappings, &l->n_uid_mappings, err);
        if (r < 0)
                return r;
        r = jget_objects(obj, path, "gidMappings", sizeof(*l->gid_mappings), parse_id_mapping,
                         &l->gid_mappings, &l->n_gid_mappings, err);
        if (r < 0)
                return r;
        r = jget_objects(obj, path, "devices", sizeof(*l->devices), parse_device, &l->devices,
                         &l->n_devices, err);
        if (r < 0)
                return r;
        r = jget_string(obj, path, "cgroupsPath", 0, &l->cgroups_path, err);
        if (r < 0)
                return r;
        r = parse_resources(obj, path, l, err);
        if (r < 0)
                return r;
        return parse_time_offsets(obj, path, l, err);
}

static int parse_linux_security(json_t *obj, const char *path, struct oci_linux *l,
                                struct errmsg *err)
{
        char pk[JPATH_MAX];
        json_t *sc;
        int r;

        r = parse_rootfs_propagation(obj, path, l, err);
        if (r < 0)
                return r;
        r = parse_abs_paths(obj, path, "maskedPaths", &l->masked_paths, err);
        if (r < 0)
                return r;
        r = parse_abs_paths(obj, path, "readonlyPaths", &l->readonly_paths, err);
        if (r < 0)
                return r;
        r = jget_string_map(obj, path, "sysctl", &l->sysctl, &l->n_sysctl, err);
        if (r < 0)
                return r;
        r = jget_object(obj, path, "seccomp", 0, &sc, err);
        if (r < 0)
                return r;
        if (r > 0) {
                r = seccomp_spec_parse(sc, jpath_key(pk, path, "seccomp"), &l->seccomp, err);
                if (r < 0)
                        return r;
        }
        r = parse_personality(obj, path, l, err);
        if (r < 0)
                return r;
        r = jget_string(obj, path, "mountLabel", 0, &l->mount_label, err);
        return r < 0 ? r : 0;
}

int oci_linux_parse(json_t *obj, const char *path, struct oci_linux *l, struct errmsg *err)
{
        int r;

        r = parse_linux_namespaced(obj, path, l, err);
        if (r < 0)
                return r;
        return parse_linux_security(obj, path, l, err);
}

void oci_linux_release(struct oci_linux *l)
{
        for (size_t i = 0; l->namespaces && i < l->n_namespaces; i++)
                free(l->namespaces[i].path);
        free(l->namespaces);
        free(l->uid_mappings);
        free(l->gid_mappings);
        for (size_t i = 0; l->devices && i < l->n_devices; i++)
                free(l->devices[i].path);
        free(l->devices);
        free(l->cgroups_path);
        oci_resources_release(&l->resources);
        strv_free(l->masked_paths);
        strv_free(l->readonly_paths);
        oci_key_values_free(l->sysctl, l->n_sysctl);
        oci_seccomp_free(l->seccomp);
        free(l->mount_label);
}
