/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "features": what this runtime implements, as JSON (runtime-spec v1.1 features.md,
 * features-linux.md; runc 1.1.5 prints the same shape).
 */
#include <jansson.h>
#include <seccomp.h>

#include "config.h"
#include "runc/cmd.h"
#include "runc/mount-options.h"
#include "runc/seccomp.h"
#include "runc/spec.h"

static json_t *names_array(const char *const *names)
{
        json_t *a = json_array();

        for (; names && *names; names++)
                (void) json_array_append_new(a, json_string(*names));
        return a;
}

static json_t *namespaces_and_caps(json_t *linux_)
{
        json_t *ns = json_array(), *caps = json_array();

        for (int t = 0; t < _NS_TYPE_MAX; t++)
                (void) json_array_append_new(ns, json_string(ns_type_to_string(t)));
        for (int cap = 0; cap <= capability_last_cap(); cap++)
                if (capability_to_name(cap))
                        (void) json_array_append_new(caps, json_string(capability_to_name(cap)));
        (void) json_object_set_new(linux_, "namespaces", ns);
        (void) json_object_set_new(linux_, "capabilities", caps);
        return linux_;
}

static json_t *seccomp_section(void)
{
        return json_pack("{s:b, s:o, s:o, s:o}", "enabled", 1, "actions",
                         names_array(seccomp_action_names()), "operators",
                         names_array(seccomp_operator_names()), "archs",
                         names_array(seccomp_arch_names()));
}

int cmd_features(const struct runc_global *g, int argc, char **argv)
{
        const struct scmp_version *v = seccomp_version();
        json_t *hooks = json_array(), *linux_, *root;
        char version[32];
        char *text;

        (void) g, (void) argc, (void) argv;
        for (int k = 0; k < _HOOK_KIND_MAX; k++)
                (void) json_array_append_new(hooks, json_string(hook_kind_to_string(k)));
        linux_ = namespaces_and_caps(json_object());
        (void) json_object_set_new(linux_, "cgroup",
                                   json_pack("{s:b, s:b, s:b, s:b}", "v1", 1, "v2", 1, "systemd", 0,
                                             "systemdUser", 0));
        (void) json_object_set_new(linux_, "seccomp", seccomp_section());
        (void) json_object_set_new(linux_, "apparmor", json_pack("{s:b}", "enabled", 0));
        (void) json_object_set_new(linux_, "selinux", json_pack("{s:b}", "enabled", 0));
        (void) snprintf(version, sizeof(version), "%u.%u.%u", v->major, v->minor, v->micro);
        root = json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:s, s:s}}", "ociVersionMin", "1.0.0",
                         "ociVersionMax", "1.0.2", "hooks", hooks, "mountOptions",
                         names_array(mount_option_names()), "linux", linux_, "annotations",
                         "io.github.seccomp.libseccomp.version", version,
                         "org.berth.runtime.version", BERTH_VERSION);
        text = json_dumps(root, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(root);
        return 0;
}
