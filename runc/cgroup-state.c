/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's cgroup as stored in state.json: every hierarchy's absolute directory, so
 * that a later command finds the cgroup whatever cgroups the caller itself is in (a relative
 * cgroupsPath resolves against the creator's own cgroups, which differ per hierarchy).
 */
#include <jansson.h>

#include "lib/xalloc.h"
#include "runc/cgroup-internal.h"

json_t *cgroup_to_json(const struct cgroup *cg)
{
        json_t *hiers = json_array();

        for (size_t i = 0; i < cg->n_hiers; i++) {
                const struct cgroup_hier *h = &cg->hiers[i];

                (void) json_array_append_new(hiers, json_pack("{s:s, s:s, s:s, s:b}", "controllers",
                                                              h->controllers, "mount", h->mount,
                                                              "dir", h->dir, "v2", h->is_v2));
        }
        return json_pack("{s:i, s:s, s:o}", "mode", (int) cg->mode, "path", cg->path, "hierarchies",
                         hiers);
}

static int hier_from_json(json_t *j, struct cgroup_hier *h)
{
        const char *controllers = json_string_value(json_object_get(j, "controllers"));
        const char *mount = json_string_value(json_object_get(j, "mount"));
        const char *dir = json_string_value(json_object_get(j, "dir"));

        if (!controllers || !mount || !dir || dir[0] != '/')
                return -EBADMSG;
        h->controllers = xstrdup(controllers);
        h->mount = xstrdup(mount);
        h->dir = xstrdup(dir);
        h->is_v2 = json_is_true(json_object_get(j, "v2"));
        return 0;
}

int cgroup_from_json(json_t *j, struct cgroup **ret, struct errmsg *err)
{
        _cleanup_(cgroup_freep) struct cgroup *cg = xnew0(struct cgroup, 1);
        json_t *hiers = json_object_get(j, "hierarchies");
        const char *path = json_string_value(json_object_get(j, "path"));
        json_int_t mode = json_integer_value(json_object_get(j, "mode"));
        size_t i;
        json_t *h;

        if (!path || !json_is_array(hiers) || mode < 0 || mode >= _CGROUP_MODE_MAX)
                return errmsg_set(err, -EBADMSG, "state: malformed cgroup");
        cg->mode = (enum cgroup_mode) mode;
        cg->path = xstrdup(path);
        cg->hiers = xnew0(struct cgroup_hier, json_array_size(hiers));
        json_array_foreach (hiers, i, h) {
                if (hier_from_json(h, &cg->hiers[i]) < 0)
                        return errmsg_set(err, -EBADMSG, "state: malformed cgroup hierarchy %zu",
                                          i);
                cg->n_hiers = i + 1;
        }
        *ret = TAKE_PTR(cg);
        return 0;
}
