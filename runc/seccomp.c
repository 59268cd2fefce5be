/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.seccomp (runtime-spec v1.0.2 config-linux.md "Seccomp", plus v1.1's
 * defaultErrnoRet, errnoRet, flags and listenerPath): the JSON section into struct
 * oci_seccomp, with every name (action, architecture, operator, flag) checked here so that
 * a bad profile fails at create time, and the libseccomp filter built from it and loaded
 * into the calling process, with runc's rules for syscall names and argument conditions.
 */
#include "runc/seccomp.h"

#include <assert.h>
#include <seccomp.h>

#include "lib/xalloc.h"
#include "runc/spec-json.h"

/* Name tables: the names (NULL-terminated, for "features") and their values, in order. */

static const char *const action_names[] = {
        "SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
        "SCMP_ACT_TRACE",        "SCMP_ACT_TRAP",        NULL,
};
static const uint32_t action_values[] = {
        SCMP_ACT_ALLOW,       SCMP_ACT_ERRNO(0), SCMP_ACT_KILL,     SCMP_ACT_KILL_PROCESS,
        SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG,      SCMP_ACT_TRACE(0), SCMP_ACT_TRAP,
};
_Static_assert(ELEMENTSOF(action_names) == ELEMENTSOF(action_values) + 1, "action table");

static const char *const arch_names[] = {
        "SCMP_ARCH_AARCH64",   "SCMP_ARCH_ARM",      "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64", "SCMP_ARCH_PPC",      "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_RISCV64",  "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
        "SCMP_ARCH_X32",       "SCMP_ARCH_X86",      "SCMP_ARCH_X86_64",   NULL,
};
static const uint32_t arch_values[] = {
        SCMP_ARCH_AARCH64,   SCMP_ARCH_ARM,      SCMP_ARCH_MIPS,     SCMP_ARCH_MIPS64,
        SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL,   SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPSEL64N32,
        SCMP_ARCH_PARISC,    SCMP_ARCH_PARISC64, SCMP_ARCH_PPC,      SCMP_ARCH_PPC64,
        SCMP_ARCH_PPC64LE,   SCMP_ARCH_RISCV64,  SCMP_ARCH_S390,     SCMP_ARCH_S390X,
        SCMP_ARCH_X32,       SCMP_ARCH_X86,      SCMP_ARCH_X86_64,
};
_Static_assert(ELEMENTSOF(arch_names) == ELEMENTSOF(arch_values) + 1, "arch table");

static const char *const operator_names[] = {
        "SCMP_CMP_EQ", "SCMP_CMP_GE",        "SCMP_CMP_GT", "SCMP_CMP_LE",
        "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL,
};
static const int operator_values[] = {
        SCMP_CMP_EQ, SCMP_CMP_GE,        SCMP_CMP_GT, SCMP_CMP_LE,
        SCMP_CMP_LT, SCMP_CMP_MASKED_EQ, SCMP_CMP_NE,
};
_Static_assert(ELEMENTSOF(operator_names) == ELEMENTSOF(operator_values) + 1, "op table");

/* seccomp(2) flags and the libseccomp attribute that asks for each. */
static const char *const flag_names[] = {
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_TSYNC",
        NULL,
};
static const unsigned flag_values[] = {
        SECCOMP_FILTER_FLAG_LOG,
        SECCOMP_FILTER_FLAG_SPEC_ALLOW,
        SECCOMP_FILTER_FLAG_TSYNC,
};
static const enum scmp_filter_attr flag_attrs[] = {
        SCMP_FLTATR_CTL_LOG,
        SCMP_FLTATR_CTL_SSB,
        SCMP_FLTATR_CTL_TSYNC,
};
_Static_assert(ELEMENTSOF(flag_names) == ELEMENTSOF(flag_values) + 1, "flag table");
_Static_assert(ELEMENTSOF(flag_values) == ELEMENTSOF(flag_attrs), "flag attr table");

static int name_index(const char *const *names, const char *name)
{
        for (size_t i = 0; names[i]; i++)
                if (STREQ(names[i], name))
                        return (int) i;
        return -EINVAL;
}

const char *const *seccomp_action_names(void)
{
        return action_names;
}

const char *const *seccomp_arch_names(void)
{
        return arch_names;
}

const char *const *seccomp_operator_names(void)
{
        return operator_names;
}

const char *const *seccomp_flag_names(void)
{
        return flag_names;
}

/* Parsing */

static bool action_takes_errno(uint32_t action)
{
        return action == SCMP_ACT_ERRNO(0) || action == SCMP_ACT_TRACE(0);
}

/*
 * Reads an action and its errno (action_key and errno_key of obj) into *ret, with the errno
 * folded in: EPERM when absent, as the spec says; an errno for any other action is an error.
 */
static int parse_action(json_t *obj, const char *path, const char *action_key,
                        const char *errno_key, uint32_t *ret, struct errmsg *err)
{
        _cleanup_free_ char *name = NULL;
        char pk[JPATH_MAX];
        uint16_t errno_ret = EPERM;
        uint32_t action;
        int i, r;

        r = jget_string(obj, path, action_key, JSON_REQUIRED, &name, err);
        if (r < 0)
                return r;
        (void) jpath_key(pk, path, action_key);
        if (STREQ(name, "SCMP_ACT_NOTIFY"))
                return errmsg_set(err, -EOPNOTSUPP, "%s: SCMP_ACT_NOTIFY is not supported", pk);
        i = name_index(action_names, name);
        if (i < 0)
                return errmsg_set(err, -EINVAL, "%s: unknown action \"%s\"", pk, name);
        action = action_values[i];
        r = jget_uint16(obj, path, errno_key, 0, &errno_ret, err);
        if (r < 0)
                return r;
        if (r > 0 && !action_takes_errno(action))
                return errmsg_set(err, -EINVAL, "%s: %s does not take an errno",
                                  jpath_key(pk, path, errno_key), name);
        *ret = action_takes_errno(action) ? action | errno_ret : action;
        return 0;
}

static int parse_arg(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_seccomp_arg *a = item;
        _cleanup_free_ char *op = NULL;
        char pk[JPATH_MAX];
        uint64_t index;
        json_t *v;
        int i, r;

        r = jget(obj, path, "index", JSON_REQUIRED, &v, err);
        if (r < 0)
                return r;
        /* syscalls take six arguments at most */
        r = jval_uint64(v, jpath_key(pk, path, "index"), 5, &index, err);
        if (r < 0)
                return r;
        a->index = (unsigned) index;
        r = jget_uint64(obj, path, "value", JSON_REQUIRED, &a->value, err);
        if (r < 0)
                return r;
        r = jget_uint64(obj, path, "valueTwo", 0, &a->value_two, err);
        if (r < 0)
                return r;
        r = jget_string(obj, path, "op", JSON_REQUIRED, &op, err);
        if (r < 0)
                return r;
        i = name_index(operator_names, op);
        if (i < 0)
                return errmsg_set(err, -EINVAL, "%s.op: unknown operator \"%s\"", path, op);
        a->op = operator_values[i];
        return 0;
}

static int parse_syscall(json_t *obj, const char *path, void *item, struct errmsg *err)
{
        struct oci_seccomp_syscall *s = item;
        int r;

        r = jget_strv(obj, path, "names", JSON_REQUIRED, &s->names, err);
        if (r < 0)
                return r;
        if (!s->names[0])
                return errmsg_set(err, -EINVAL, "%s.names: must not be empty", path);
        r = parse_action(obj, path, "action", "errnoRet", &s->action, err);
        if (r < 0)
                return r;
        r = jget_objects(obj, path, "args", sizeof(*s->args), parse_arg, &s->args, &s->n_args, err);
        return r < 0 ? r : 0;
}

static int parse_architectures(json_t *obj, const char *path, struct oci_seccomp *sc,
                               struct errmsg *err)
{
        _cleanup_strv_ char **names = NULL;
        size_t n = 0;
        int r;

        r = jget_strv(obj, path, "architectures", 0, &names, err);
        if (r <= 0)
                return r;
        while (names[n])
                n++;
        sc->architectures = xnew0(uint32_t, n);
        for (size_t i = 0; i < n; i++) {
                int a = name_index(arch_names, names[i]);

                if (a < 0)
                        return errmsg_set(err, -EINVAL,
                                          "%s.architectures[%zu]: unknown architecture \"%s\"",
                                          path, i, names[i]);
                sc->architectures[sc->n_architectures++] = arch_values[a];
        }
        return 0;
}

static int parse_flags(json_t *obj, const char *path, struct oci_seccomp *sc, struct errmsg *err)
{
        _cleanup_strv_ char **names = NULL;
        int r;

        r = jget_strv(obj, path, "flags", 0, &names, err);
        if (r <= 0)
                return r;
        for (size_t i = 0; names[i]; i++) {
                int f = name_index(flag_names, names[i]);

                if (f < 0)
                        return errmsg_set(err, -EINVAL, "%s.flags[%zu]: unknown flag \"%s\"", path,
                                          i, names[i]);
                sc->flags |= flag_values[f];
        }
        return 0;
}

static int parse_seccomp(json_t *obj, const char *path, struct oci_seccomp *sc, struct errmsg *err)
{
        int r;

        r = parse_action(obj, path, "defaultAction", "defaultErrnoRet", &sc->default_action, err);
        if (r < 0)
                return r;
        r = parse_architectures(obj, path, sc, err);
        if (r < 0)
                return r;
        r = parse_flags(obj, path, sc, err);
        if (r < 0)
                return r;
        r = jget_string(obj, path, "listenerPath", 0, &sc->listener_path, err);
        if (r < 0)
                return r;
        r = jget_objects(obj, path, "syscalls", sizeof(*sc->syscalls), parse_syscall, &sc->syscalls,
                         &sc->n_syscalls, err);
        return r < 0 ? r : 0;
}

int seccomp_spec_parse(json_t *obj, const char *path, struct oci_seccomp **ret, struct errmsg *err)
{
        _cleanup_(oci_seccomp_freep) struct oci_seccomp *sc = NULL;
        int r;

        r = jval_object(obj, path, err);
        if (r < 0)
                return r;
        sc = xnew0(struct oci_seccomp, 1);
        r = parse_seccomp(obj, path, sc, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(sc);
        return 0;
}

struct oci_seccomp *oci_seccomp_free(struct oci_seccomp *sc)
{
        if (!sc)
                return NULL;
        free(sc->architectures);
        for (size_t i = 0; sc->syscalls && i < sc->n_syscalls; i++) {
                strv_free(sc->syscalls[i].names);
                free(sc->syscalls[i].args);
        }
        free(sc->syscalls);
        free(sc->listener_path);
        free(sc);
        return NULL;
}

/* Loading */

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}

static int filter_set_attrs(scmp_filter_ctx ctx, const struct oci_seccomp *sc, struct errmsg *err)
{
        int r;

        /* The caller sets no_new_privs when the spec asks for it; libseccomp must not. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return errmsg_set(err, r, "seccomp: clear the no_new_privs attribute: %s",
                                  strerror(-r));
        /* Report the kernel's errno from seccomp_load(), not libseccomp's -ECANCELED. */
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
        for (size_t i = 0; i < ELEMENTSOF(flag_values); i++) {
                if (!(sc->flags & flag_values[i]))
                        continue;
                r = seccomp_attr_set(ctx, flag_attrs[i], 1);
                if (r < 0)
                        return errmsg_set(err, r, "linux.seccomp.flags: %s: %s", flag_names[i],
                                          strerror(-r));
        }
        return 0;
}

static const char *arch_name(uint32_t arch)
{
        for (size_t i = 0; i < ELEMENTSOF(arch_values); i++)
                if (arch_values[i] == arch)
                        return arch_names[i];
        return "?";
}

static int filter_add_archs(scmp_filter_ctx ctx, const struct oci_seccomp *sc, struct errmsg *err)
{
        for (size_t i = 0; i < sc->n_architectures; i++) {
                int r = seccomp_arch_add(ctx, sc->architectures[i]);

                /* the native architecture is in the filter already */
                if (r < 0 && r != -EEXIST)
                        return errmsg_set(err, r, "linux.seccomp.architectures[%zu]: add %s: %s", i,
                                          arch_name(sc->architectures[i]), strerror(-r));
        }
        return 0;
}

static bool args_repeat_an_index(const struct oci_seccomp_syscall *s)
{
        unsigned seen = 0;

        for (size_t i = 0; i < s->n_args; i++) {
                if (seen & (1u << s->args[i].index))
                        return true;
                seen |= 1u << s->args[i].index;
        }
        return false;
}

static struct scmp_arg_cmp arg_cmp(const struct oci_seccomp_arg *a)
{
        /* for SCMP_CMP_MASKED_EQ, value is the mask and valueTwo the value to compare */
        return (struct scmp_arg_cmp){
                .arg = a->index,
                .op = (enum scmp_compare) a->op,
                .datum_a = a->value,
                .datum_b = a->value_two,
        };
}

/*
 * Adds the rules of syscall entry s for syscall number nr, as runc does: all conditions in
 * one rule (AND) when each argument index appears once; when an index repeats, libseccomp
 * cannot AND them, and runc falls back to one rule per condition (OR of all). A rule that
 * exists already (-EEXIST) is no error.
 */
static int filter_add_rules(scmp_filter_ctx ctx, const struct oci_seccomp_syscall *s, int nr)
{
        struct scmp_arg_cmp cmp[6];
        int r;

        if (!args_repeat_an_index(s)) {
                assert(s->n_args <= ELEMENTSOF(cmp)); /* distinct indexes 0..5 */
                for (size_t i = 0; i < s->n_args; i++)
                        cmp[i] = arg_cmp(&s->args[i]);
                r = seccomp_rule_add_array(ctx, s->action, nr, (unsigned) s->n_args, cmp);
                return r == -EEXIST ? 0 : r;
        }
        for (size_t i = 0; i < s->n_args; i++) {
                cmp[0] = arg_cmp(&s->args[i]);
                r = seccomp_rule_add_array(ctx, s->action, nr, 1, cmp);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        return 0;
}

static int filter_add_syscalls(scmp_filter_ctx ctx, const struct oci_seccomp *sc,
                               struct errmsg *err)
{
        for (size_t i = 0; i < sc->n_syscalls; i++) {
                const struct oci_seccomp_syscall *s = &sc->syscalls[i];

                /* libseccomp refuses a rule whose action is the default one; it is a no-op */
                if (s->action == sc->default_action)
                        continue;
                strv_foreach (name, s->names) {
                        int nr = seccomp_syscall_resolve_name(*name);
                        int r;

                        /* unknown to this libseccomp: skipped, as runc does */
                        if (nr == __NR_SCMP_ERROR)
                                continue;
                        r = filter_add_rules(ctx, s, nr);
                        if (r < 0)
                                return errmsg_set(
                                        err, r, "linux.seccomp.syscalls[%zu]: add rule for %s: %s",
                                        i, *name, strerror(-r));
                }
        }
        return 0;
}

int seccomp_filter_load(const struct oci_seccomp *sc, struct errmsg *err)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        ctx = seccomp_init(sc->default_action);
        if (!ctx)
                return errmsg_set(err, -EINVAL, "seccomp: cannot create a filter");
        r = filter_set_attrs(ctx, sc, err);
        if (r < 0)
                return r;
        r = filter_add_archs(ctx, sc, err);
        if (r < 0)
                return r;
        r = filter_add_syscalls(ctx, sc, err);
        if (r < 0)
                return r;
        r = seccomp_load(ctx);
        if (r < 0)
                return errmsg_set(err, r, "seccomp: load filter: %s%s", strerror(-r),
                                  r == -EACCES ? " (needs no_new_privs or CAP_SYS_ADMIN)" : "");
        return 0;
}
