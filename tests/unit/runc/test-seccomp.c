/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for runc/seccomp.c: parsing linux.seccomp (names resolved, errors naming the
 * field) and loading filters, each in a forked child that sets no_new_privs first.
 */
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lib/xalloc.h"
#include "runc/seccomp.h"
#include "tests/unit/unit.h"

static char *dq(const char *s)
{
        char *t = xstrdup(s);

        for (char *p = t; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return t;
}

static int parse(const char *squoted, struct oci_seccomp **ret, struct errmsg *err)
{
        _cleanup_free_ char *text = dq(squoted);
        json_error_t jerr;
        json_t *obj;
        int r;

        obj = json_loads(text, 0, &jerr);
        if (!obj)
                fail_msg("bad test JSON: %s: %s", text, jerr.text);
        r = seccomp_spec_parse(obj, "linux.seccomp", ret, err);
        json_decref(obj);
        return r;
}

static struct oci_seccomp *parse_ok(const char *squoted)
{
        struct oci_seccomp *sc = NULL;
        struct errmsg err = {0};

        if (parse(squoted, &sc, &err) < 0)
                fail_msg("parse failed: %s", err.msg);
        return sc;
}

/* A cut of docker's default profile, with the fields of runtime-spec v1.1. */
static const char profile[] =
        "{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
        " 'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32'],"
        " 'flags':['SECCOMP_FILTER_FLAG_LOG','SECCOMP_FILTER_FLAG_SPEC_ALLOW'],"
        " 'listenerPath':'/run/agent.sock','listenerMetadata':'x',"
        " 'syscalls':["
        "  {'names':['accept','read','write'],'action':'SCMP_ACT_ALLOW'},"
        "  {'names':['personality'],'action':'SCMP_ACT_ALLOW',"
        "   'args':[{'index':0,'value':0,'op':'SCMP_CMP_EQ'}]},"
        "  {'names':['clone'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,"
        "   'value':2114060288,'valueTwo':0,'op':'SCMP_CMP_MASKED_EQ'}]},"
        "  {'names':['clone3'],'action':'SCMP_ACT_ERRNO','errnoRet':38},"
        "  {'names':['ptrace'],'action':'SCMP_ACT_TRACE'},"
        "  {'names':['kexec_load'],'action':'SCMP_ACT_KILL_PROCESS'},"
        "  {'names':['reboot'],'action':'SCMP_ACT_KILL'},"
        "  {'names':['syslog'],'action':'SCMP_ACT_LOG'},"
        "  {'names':['acct'],'action':'SCMP_ACT_TRAP'},"
        "  {'names':['no_such_syscall'],'action':'SCMP_ACT_KILL_THREAD',"
        "   'args':[{'index':5,'value':18446744073709551615,'op':'SCMP_CMP_NE'}]}]}";

static void test_parse_profile(void **state)
{
        _cleanup_(oci_seccomp_freep) struct oci_seccomp *sc = NULL;

        (void) state;
        /* jansson alone cannot hold 2^64-1; go through the spec parser's loader instead */
        {
                _cleanup_free_ char *text = NULL;
                _cleanup_(oci_spec_freep) struct oci_spec *spec = NULL;
                struct errmsg err = {0};

                text = xasprintf("{'ociVersion':'1','linux':{'seccomp':%s}}", profile);
                for (char *p = text; *p; p++)
                        if (*p == '\'')
                                *p = '"';
                if (oci_spec_parse(text, strlen(text), &spec, &err) < 0)
                        fail_msg("%s", err.msg);
                sc = TAKE_PTR(spec->linux.seccomp);
        }
        assert_int_equal(sc->default_action, SCMP_ACT_ERRNO(1));
        assert_int_equal(sc->n_architectures, 3);
        assert_int_equal(sc->architectures[0], SCMP_ARCH_X86_64);
        assert_int_equal(sc->architectures[2], SCMP_ARCH_X32);
        assert_int_equal(sc->flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
        assert_string_equal(sc->listener_path, "/run/agent.sock");
        assert_int_equal(sc->n_syscalls, 10);
        assert_string_equal(sc->syscalls[0].names[2], "write");
        assert_null(sc->syscalls[0].names[3]);
        assert_int_equal(sc->syscalls[0].action, SCMP_ACT_ALLOW);
        assert_int_equal(sc->syscalls[0].n_args, 0);
        assert_int_equal(sc->syscalls[2].n_args, 1);
        assert_int_equal(sc->syscalls[2].args[0].op, SCMP_CMP_MASKED_EQ);
        assert_int_equal(sc->syscalls[2].args[0].value, 2114060288);
        assert_int_equal(sc->syscalls[3].action, SCMP_ACT_ERRNO(38));
        assert_int_equal(sc->syscalls[4].action, SCMP_ACT_TRACE(EPERM));
        assert_int_equal(sc->syscalls[5].action, SCMP_ACT_KILL_PROCESS);
        assert_int_equal(sc->syscalls[6].action, SCMP_ACT_KILL);
        assert_int_equal(sc->syscalls[7].action, SCMP_ACT_LOG);
        assert_int_equal(sc->syscalls[8].action, SCMP_ACT_TRAP);
        assert_int_equal(sc->syscalls[9].args[0].index, 5);
        assert_true(sc->syscalls[9].args[0].value == UINT64_MAX);
        assert_int_equal(sc->syscalls[9].args[0].op, SCMP_CMP_NE);
}

static void test_errno_defaults_to_eperm(void **state)
{
        _cleanup_(oci_seccomp_freep) struct oci_seccomp *sc =
                parse_ok("{'defaultAction':'SCMP_ACT_ERRNO',"
                         "'syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO'}]}");

        (void) state;
        assert_int_equal(sc->default_action, SCMP_ACT_ERRNO(EPERM));
        assert_int_equal(sc->syscalls[0].action, SCMP_ACT_ERRNO(EPERM));
        assert_int_equal(sc->n_architectures, 0);
        assert_null(sc->listener_path);
}

struct error_case {
        const char *json;
        int code;
        const char *msg;
};

static const struct error_case error_cases[] = {
        {"[]", -EINVAL, "linux.seccomp: expected object"},
        {"{}", -EINVAL, "linux.seccomp.defaultAction: required"},
        {"{'defaultAction':'SCMP_ACT_NOPE'}", -EINVAL,
         "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\""},
        {"{'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':1}", -EINVAL,
         "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW does not take an errno"},
        {"{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':65536}", -ERANGE,
         "linux.seccomp.defaultErrnoRet: 65536 is out of range [0, 65535]"},
        {"{'defaultAction':'SCMP_ACT_NOTIFY'}", -EOPNOTSUPP,
         "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86','SCMP_ARCH_Z80']}",
         -EINVAL, "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\""},
        {"{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_TSYNC','X']}", -EINVAL,
         "linux.seccomp.flags[1]: unknown flag \"X\""},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':{}}", -EINVAL,
         "linux.seccomp.syscalls: expected array"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'action':'SCMP_ACT_LOG'}]}", -EINVAL,
         "linux.seccomp.syscalls[0].names: required"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],'action':'SCMP_ACT_LOG'}]}",
         -EINVAL, "linux.seccomp.syscalls[0].names: must not be empty"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read']}]}", -EINVAL,
         "linux.seccomp.syscalls[0].action: required"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_LOG'},"
         "{'names':['b'],'action':'SCMP_ACT_NOTIFY'}]}",
         -EOPNOTSUPP, "linux.seccomp.syscalls[1].action: SCMP_ACT_NOTIFY is not supported"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_LOG',"
         "'errnoRet':1}]}",
         -EINVAL, "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_LOG does not take an errno"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_LOG',"
         "'args':[{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]}",
         -ERANGE, "linux.seccomp.syscalls[0].args[0].index: 6 is out of range [0, 5]"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_LOG',"
         "'args':[{'index':0,'op':'SCMP_CMP_EQ'}]}]}",
         -EINVAL, "linux.seccomp.syscalls[0].args[0].value: required"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_LOG',"
         "'args':[{'index':0,'value':1}]}]}",
         -EINVAL, "linux.seccomp.syscalls[0].args[0].op: required"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':7}", -EINVAL,
         "linux.seccomp.listenerPath: expected string"},
};

static void test_errors_name_the_field(void **state)
{
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
                const struct error_case *c = &error_cases[i];
                struct oci_seccomp *sc = (struct oci_seccomp *) 0x1;
                struct errmsg err = {0};
                int r;

                r = parse(c->json, &sc, &err);
                if (r != c->code || strcmp(err.msg, c->msg) != 0)
                        fail_msg("case %zu: %s\n  got %d \"%s\"\n  want %d \"%s\"", i, c->json, r,
                                 err.msg, c->code, c->msg);
                assert_ptr_equal(sc, (struct oci_seccomp *) 0x1);
        }
}

static void test_name_lists(void **state)
{
        static const struct {
                const char *const *(*list)(void);
                const char *member;
                size_t n;
        } lists[] = {
                {seccomp_action_names, "SCMP_ACT_KILL_PROCESS", 8},
                {seccomp_arch_names, "SCMP_ARCH_RISCV64", 19},
                {seccomp_operator_names, "SCMP_CMP_MASKED_EQ", 7},
                {seccomp_flag_names, "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 3},
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                const char *const *names = lists[i].list();
                bool found = false;
                size_t n = 0;

                for (; names[n]; n++) {
                        found = found || STREQ(names[n], lists[i].member);
                        if (n > 0)
                                assert_true(strcmp(names[n - 1], names[n]) < 0);
                }
                assert_true(found);
                assert_int_equal(n, lists[i].n);
        }
}

/*
 * Runs check() in a child that loaded the filter of squoted; returns the child's exit
 * status (0 when check() passed).
 */
static int run_filtered(const char *squoted, int (*check)(void))
{
        _cleanup_(oci_seccomp_freep) struct oci_seccomp *sc = parse_ok(squoted);
        int status;
        pid_t pid;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct errmsg err = {0};

                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(100);
                if (seccomp_filter_load(sc, &err) < 0) {
                        fprintf(stderr, "seccomp_filter_load: %s\n", err.msg);
                        _exit(101);
                }
                _exit(check());
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int check_mkdir_fails_with_enosys(void)
{
        char path[64];

        /* the filter answers before the kernel looks at the path */
        (void) snprintf(path, sizeof(path), "/tmp/berth-test-seccomp-%d", (int) getpid());
        if (mkdir(path, 0700) == 0) {
                (void) rmdir(path);
                return 1;
        }
        if (errno != 38)
                return 2;
        /* other syscalls still work */
        return getpid() > 0 ? 0 : 3;
}

static void test_load_errno_rule(void **state)
{
        (void) state;
        assert_int_equal(run_filtered("{'defaultAction':'SCMP_ACT_ALLOW',"
                                      "'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86',"
                                      "'SCMP_ARCH_X32'],'flags':['SECCOMP_FILTER_FLAG_TSYNC'],"
                                      "'syscalls':[{'names':['mkdir','mkdirat','nonexistent'],"
                                      "'action':'SCMP_ACT_ERRNO','errnoRet':38},"
                                      "{'names':['getpid'],'action':'SCMP_ACT_ALLOW'}]}",
                                      check_mkdir_fails_with_enosys),
                         0);
}

/* getpgid(pid): the rule below denies pids 11111 and 22222 only. */
static int check_same_index_is_or(void)
{
        errno = 0;
        if (getpgid(11111) != -1 || errno != 38)
                return 1;
        errno = 0;
        if (getpgid(22222) != -1 || errno != 38)
                return 2;
        return getpgid(0) >= 0 ? 0 : 3;
}

/* getpriority(which, who): denied only for which == PRIO_PGRP and who == 4242. */
static int check_different_indexes_are_and(void)
{
        errno = 0;
        if (getpriority(PRIO_PGRP, 4242) != -1 || errno != 38)
                return 1;
        errno = 0;
        (void) getpriority(PRIO_PROCESS, 4242);
        if (errno == 38)
                return 2;
        errno = 0;
        (void) getpriority(PRIO_PGRP, 0);
        if (errno == 38)
                return 3;
        return 0;
}

static void test_load_argument_conditions(void **state)
{
        (void) state;
        assert_int_equal(run_filtered("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{"
                                      "'names':['getpgid'],'action':'SCMP_ACT_ERRNO',"
                                      "'errnoRet':38,'args':["
                                      "{'index':0,'value':11111,'op':'SCMP_CMP_EQ'},"
                                      "{'index':0,'value':22222,'op':'SCMP_CMP_EQ'}]}]}",
                                      check_same_index_is_or),
                         0);
        assert_int_equal(run_filtered("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{"
                                      "'names':['getpriority'],'action':'SCMP_ACT_ERRNO',"
                                      "'errnoRet':38,'args':["
                                      "{'index':0,'value':1,'op':'SCMP_CMP_EQ'},"
                                      "{'index':1,'value':4242,'op':'SCMP_CMP_EQ'}]}]}",
                                      check_different_indexes_are_and),
                         0);
}

static int check_nothing(void)
{
        return 0;
}

static void test_load_rule_with_default_action_is_skipped(void **state)
{
        (void) state;
        /* libseccomp refuses a rule whose action is the default one; runc skips it */
        assert_int_equal(run_filtered("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':["
                                      "{'names':['read'],'action':'SCMP_ACT_ALLOW'}]}",
                                      check_nothing),
                         0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_profile),
                cmocka_unit_test(test_errno_defaults_to_eperm),
                cmocka_unit_test(test_errors_name_the_field),
                cmocka_unit_test(test_name_lists),
                cmocka_unit_test(test_load_errno_rule),
                cmocka_unit_test(test_load_argument_conditions),
                cmocka_unit_test(test_load_rule_with_default_action_is_skipped),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
