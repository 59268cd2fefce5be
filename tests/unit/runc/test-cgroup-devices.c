/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for runc/cgroup-v2-devices.c. Without a kernel: rule lists replayed by the
 * emulator give v1's decisions (deny-all plus exceptions, allow-all minus exceptions,
 * wildcards, access subsets, merges, resets, errors), and every policy's generated program,
 * run by a small interpreter of the instructions it may use, decides as the emulator on a
 * grid of devices. As root on the real kernel: a program attached to a cgroup2 directory
 * (/sys/fs/cgroup/unified on this hybrid host) is enforced on a child that joins it, a
 * re-apply replaces the program instead of stacking, and, where v1's devices controller is
 * mounted, the same rule lists give the same results there as under the program. Teardown
 * removes the cgroups and the scratch directory even when a test failed.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "lib/errmsg.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runc/cgroup-internal.h"
#include "tests/unit/unit.h"

#define M   CGROUP_DEV_ACC_MKNOD
#define R   CGROUP_DEV_ACC_READ
#define W   CGROUP_DEV_ACC_WRITE
#define RW  (R | W)
#define ANY (-1)

static struct oci_device_rule rule(bool allow, char type, int64_t major, int64_t minor,
                                   const char *access)
{
        struct oci_device_rule r = {.allow = allow, .type = type, .major = major, .minor = minor};

        memcpy(r.access, access, strnlen(access, sizeof(r.access)));
        return r;
}

/* --- the generated program, interpreted ------------------------------------------------ */

/* The instructions cgroup_dev_policy_program() may emit, and nothing else. */
static bool program_run(const struct bpf_insn *insns, size_t n,
                        const struct bpf_cgroup_dev_ctx *ctx)
{
        uint64_t reg[MAX_BPF_REG] = {0};

        for (size_t pc = 0; pc < n; pc++) {
                const struct bpf_insn *in = &insns[pc];
                uint32_t dst = (uint32_t) reg[in->dst_reg], k = (uint32_t) in->imm;
                uint32_t word;

                switch (in->code) {
                case BPF_LDX | BPF_W | BPF_MEM:
                        assert_int_equal(in->src_reg, BPF_REG_1);
                        assert_true(in->off >= 0 && (size_t) in->off + 4 <= sizeof(*ctx));
                        memcpy(&word, (const char *) ctx + in->off, sizeof(word));
                        reg[in->dst_reg] = word;
                        break;
                case BPF_ALU | BPF_MOV | BPF_X:
                        reg[in->dst_reg] = (uint32_t) reg[in->src_reg];
                        break;
                case BPF_ALU | BPF_MOV | BPF_K:
                        reg[in->dst_reg] = k;
                        break;
                case BPF_ALU | BPF_AND | BPF_K:
                        reg[in->dst_reg] = dst & k;
                        break;
                case BPF_ALU | BPF_RSH | BPF_K:
                        reg[in->dst_reg] = dst >> k;
                        break;
                case BPF_JMP32 | BPF_JNE | BPF_K:
                case BPF_JMP32 | BPF_JEQ | BPF_K:
                        assert_true(in->off > 0 && pc + (size_t) in->off < n);
                        if ((dst != k) == (BPF_OP(in->code) == BPF_JNE))
                                pc += (size_t) in->off;
                        break;
                case BPF_JMP | BPF_EXIT:
                        assert_true(reg[BPF_REG_0] <= 1);
                        return reg[BPF_REG_0] == 1;
                default:
                        fail_msg("unexpected opcode 0x%02x at %zu", in->code, pc);
                }
        }
        fail_msg("the program runs past its end");
        return false;
}

static void assert_agree_on(const struct cgroup_dev_policy *p, const struct bpf_insn *insns,
                            size_t n, char type, uint32_t major, uint32_t minor)
{
        for (unsigned acc = 0; acc <= CGROUP_DEV_ACC_ALL; acc++) {
                struct bpf_cgroup_dev_ctx ctx = {
                        .access_type = (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR) |
                                       (acc << 16),
                        .major = major,
                        .minor = minor,
                };
                bool want = cgroup_dev_policy_allows(p, type, major, minor, acc);

                if (program_run(insns, n, &ctx) != want)
                        fail_msg("program says %s for %c %" PRIu32 ":%" PRIu32 " access %u",
                                 want ? "deny" : "allow", type, major, minor, acc);
        }
}

/* The program and the emulator agree on every device and access of a grid. */
static void assert_program_agrees(const struct cgroup_dev_policy *p)
{
        static const uint32_t majors[] = {0, 1, 5, 8, 136, 0x80000000u, UINT32_MAX - 1};
        static const uint32_t minors[] = {0, 1, 3, 5, 7, 0x80000001u};
        _cleanup_free_ struct bpf_insn *insns = NULL;
        size_t n = cgroup_dev_policy_program(p, &insns);

        for (size_t i = 0; i < ELEMENTSOF(majors); i++)
                for (size_t j = 0; j < ELEMENTSOF(minors); j++) {
                        assert_agree_on(p, insns, n, 'c', majors[i], minors[j]);
                        assert_agree_on(p, insns, n, 'b', majors[i], minors[j]);
                }
}

/* --- the emulator ---------------------------------------------------------------------- */

struct want {
        char type;
        uint32_t major, minor;
        unsigned access;
        bool allow;
};

static void assert_decisions(const struct oci_device_rule *rules, size_t n_rules,
                             const struct want *wants, size_t n_wants)
{
        _cleanup_(cgroup_dev_policy_release) struct cgroup_dev_policy p = {0};
        struct errmsg err = {0};

        if (cgroup_dev_policy_build(rules, n_rules, &p, &err) < 0)
                fail_msg("build: %s", err.msg);
        for (size_t i = 0; i < n_wants; i++) {
                const struct want *w = &wants[i];

                if (cgroup_dev_policy_allows(&p, w->type, w->major, w->minor, w->access) !=
                    w->allow)
                        fail_msg("want[%zu]: %c %" PRIu32 ":%" PRIu32 " access %u should be %s", i,
                                 w->type, w->major, w->minor, w->access,
                                 w->allow ? "allowed" : "denied");
        }
        assert_program_agrees(&p);
}

static void test_deny_all_then_allow_null(void **state)
{
        const struct oci_device_rule rules[] = {rule(false, 'a', ANY, ANY, "rwm"),
                                                rule(true, 'c', 1, 3, "rwm")};
        const struct want wants[] = {
                {'c', 1, 3, R, true},      {'c', 1, 3, W, true},  {'c', 1, 3, M, true},
                {'c', 1, 3, RW | M, true}, {'c', 1, 5, R, false}, {'c', 2, 3, R, false},
                {'b', 1, 3, R, false},     {'b', 8, 0, M, false},
        };

        (void) state;
        assert_decisions(rules, ELEMENTSOF(rules), wants, ELEMENTSOF(wants));
}

/* v1 denies an access sharing any bit with a deny exception: O_RDWR of /dev/zero too. */
static void test_allow_all_then_deny_zero_write(void **state)
{
        const struct oci_device_rule rules[] = {rule(true, 'a', ANY, ANY, ""),
                                                rule(false, 'c', 1, 5, "w")};
        const struct want wants[] = {
                {'c', 1, 5, R, true},  {'c', 1, 5, W, false}, {'c', 1, 5, RW, false},
                {'c', 1, 5, M, true},  {'c', 1, 3, W, true},  {'b', 1, 5, W, true},
                {'c', 1, 6, RW, true},
        };

        (void) state;
        assert_decisions(rules, ELEMENTSOF(rules), wants, ELEMENTSOF(wants));
}

static void test_wildcards(void **state)
{
        const struct oci_device_rule rules[] = {
                rule(false, 'a', ANY, ANY, "rwm"), rule(true, 'c', ANY, ANY, "m"),
                rule(true, 'b', 8, ANY, "r"),      rule(true, 'c', ANY, 1, "w"),
                rule(true, 'c', 136, ANY, "rwm"),
        };
        const struct want wants[] = {
                {'c', 4, 1, M, true},
                {'c', 4, 1, W, true},
                {'c', 4, 2, W, false},
                /* m and w sit in two exceptions: v1 wants one exception to hold them all */
                {'c', 4, 1, M | W, false},
                {'b', 8, 3, R, true},
                {'b', 8, 3, W, false},
                {'b', 9, 0, R, false},
                {'b', 9, 0, M, false},
                {'c', 136, 7, RW, true},
                {'c', 137, 7, R, false},
                {'c', UINT32_MAX - 1, 0, M, true},
        };

        (void) state;
        assert_decisions(rules, ELEMENTSOF(rules), wants, ELEMENTSOF(wants));
}

/* Rules on the same device merge and subtract bits; an emptied exception goes. */
static void test_access_subsets(void **state)
{
        const struct oci_device_rule rules[] = {
                rule(false, 'a', ANY, ANY, "rwm"), rule(true, 'c', 1, 3, "r"),
                rule(true, 'c', 1, 3, "w"),        rule(true, 'c', 1, 5, "rw"),
                rule(false, 'c', 1, 5, "r"),       rule(true, 'c', 1, 7, "m"),
                rule(false, 'c', 1, 7, "rwm"),     rule(true, 'c', 1, 8, ""),
        };
        const struct want wants[] = {
                {'c', 1, 3, RW, true},     {'c', 1, 3, M, false},  {'c', 1, 5, W, true},
                {'c', 1, 5, R, false},     {'c', 1, 5, RW, false}, {'c', 1, 7, M, false},
                {'c', 1, 8, RW | M, true},
        };

        (void) state;
        assert_decisions(rules, ELEMENTSOF(rules), wants, ELEMENTSOF(wants));
}

/* v1 removes exceptions by exact key only; runc 1.1.5 would refuse this list instead. */
static void test_deny_does_not_punch_wildcards(void **state)
{
        const struct oci_device_rule rules[] = {
                rule(false, 'a', ANY, ANY, "rwm"), rule(true, 'c', ANY, ANY, "m"),
                rule(false, 'c', 1, 3, "m"),       rule(true, 'a', ANY, ANY, "rwm"),
                rule(false, 'c', 1, ANY, "w"),     rule(true, 'c', 1, 5, "w"),
        };
        const struct want wants[] = {
                {'c', 1, 5, W, false},
                {'c', 1, 5, R, true},
                {'c', 2, 5, W, true},
        };
        const struct oci_device_rule first[] = {rules[0], rules[1], rules[2]};
        const struct want first_wants[] = {{'c', 1, 3, M, true}, {'c', 1, 3, R, false}};

        (void) state;
        assert_decisions(first, ELEMENTSOF(first), first_wants, ELEMENTSOF(first_wants));
        assert_decisions(rules, ELEMENTSOF(rules), wants, ELEMENTSOF(wants));
}

/* 'a' resets the default and drops every exception, whatever numbers and access it has. */
static void test_type_a_resets(void **state)
{
        const struct oci_device_rule allow_last[] = {
                rule(false, 'a', ANY, ANY, "rwm"),
                rule(true, 'c', 1, 3, "rwm"),
                rule(true, 'a', 5, 5, "r"),
        };
        const struct oci_device_rule deny_last[] = {
                rule(true, 'a', ANY, ANY, "rwm"),
                rule(false, 'c', 1, 3, "rwm"),
                rule(false, 'a', 1, 1, "m"),
                rule(true, 'c', 1, 5, "r"),
        };
        const struct want allowed[] = {{'c', 1, 3, RW, true}, {'b', 8, 0, RW | M, true}};
        const struct want denied[] = {{'c', 1, 3, RW, false}, {'c', 1, 5, R, true}};

        (void) state;
        assert_decisions(allow_last, ELEMENTSOF(allow_last), allowed, ELEMENTSOF(allowed));
        assert_decisions(deny_last, ELEMENTSOF(deny_last), denied, ELEMENTSOF(denied));
}

/* What every container gets: mknod of anything, use of null, zero, … and pts only. */
static void test_default_rules(void **state)
{
        const struct oci_device_rule *defaults;
        size_t n = cgroup_default_device_rules(&defaults);
        _cleanup_free_ struct oci_device_rule *rules = xnew0(struct oci_device_rule, n + 1);
        const struct want wants[] = {
                {'c', 1, 3, RW, true},    {'c', 1, 5, RW, true},   {'c', 1, 9, R, true},
                {'c', 5, 2, RW, true},    {'c', 136, 0, RW, true}, {'c', 10, 200, RW, true},
                {'b', 8, 0, M, true},     {'b', 8, 0, R, false},   {'c', 4, 0, RW, false},
                {'c', 10, 229, R, false}, {'c', 4, 0, M, true},
        };

        (void) state;
        rules[0] = rule(false, 'a', ANY, ANY, "rwm");
        memcpy(rules + 1, defaults, n * sizeof(*rules));
        assert_decisions(rules, n + 1, wants, ELEMENTSOF(wants));
        /* an empty list is deny-all: the start state */
        assert_decisions(NULL, 0, wants + 7, 2);
}

static void assert_build_fails(const struct oci_device_rule *rules, size_t n, const char *want)
{
        struct cgroup_dev_exception untouched = {.type = 'x'};
        struct cgroup_dev_policy p = {.default_allow = true, .exceptions = &untouched};
        struct errmsg err = {0};

        assert_int_equal(cgroup_dev_policy_build(rules, n, &p, &err), -EINVAL);
        assert_string_equal(err.msg, want);
        assert_true(p.default_allow);
        assert_ptr_equal(p.exceptions, &untouched);
}

static void test_bad_rules(void **state)
{
        const struct oci_device_rule bad_type[] = {rule(true, 'c', 1, 3, "r"),
                                                   rule(true, 'x', 1, 3, "r")};
        const struct oci_device_rule bad_access[] = {rule(true, 'c', 1, 3, "rx")};
        const struct oci_device_rule negative[] = {rule(true, 'b', -2, 0, "r")};
        const struct oci_device_rule too_big[] = {rule(true, 'c', 1, 4294967296, "r")};

        (void) state;
        assert_build_fails(bad_type, 2, "devices[1]: type 'x': not a, b or c");
        assert_build_fails(bad_access, 1, "devices[0]: access \"rx\": not a subset of \"rwm\"");
        assert_build_fails(negative, 1, "devices[0]: major/minor -2:0: negative");
        assert_build_fails(too_big, 1, "devices[0]: major/minor 1:4294967296: above 4294967295");
}

/* --- the real kernel (root) ------------------------------------------------------------ */

/*
 * Each probe is one access a child makes; its result is '1' (done), '0' (EPERM) or 'x' (any
 * other error), and the emulator predicts '1' or '0' from the probe's device and access.
 */
struct probe {
        const char *path; /* open() it with flags; NULL: mknod() the device in the scratch dir */
        int flags;
        char type;
        uint32_t major, minor;
        unsigned access;
};

static const struct probe probes[] = {
        {"/dev/null", O_RDWR, 'c', 1, 3, RW},
        {"/dev/zero", O_RDONLY, 'c', 1, 5, R},
        {"/dev/zero", O_WRONLY, 'c', 1, 5, W},
        {"/dev/zero", O_RDWR, 'c', 1, 5, RW},
        {"/dev/full", O_RDONLY, 'c', 1, 7, R},
        {NULL, 0, 'c', 1, 7, M},
        {NULL, 0, 'c', 1, 3, M},
        {NULL, 0, 'b', 8, 0, M},
};

#define N_PROBES ELEMENTSOF(probes)

struct dev_fixture {
        char *scratch; /* mknod target directory */
        char *v2_dir;  /* a cgroup2 directory of the test, rmdir'd at teardown */
        char *v1_path; /* cgroupsPath of the v1 comparison, destroyed at teardown */
        pid_t child;
};

static int dev_setup(void **state)
{
        struct dev_fixture *f = xnew0(struct dev_fixture, 1);

        f->child = -1;
        *state = f;
        return 0;
}

static int dev_teardown(void **state)
{
        struct dev_fixture *f = *state;
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;

        if (f->child > 0) {
                (void) kill(f->child, SIGKILL);
                (void) waitpid(f->child, NULL, 0);
        }
        if (f->v2_dir)
                (void) rmdir(f->v2_dir);
        if (f->v1_path && cgroup_open(f->v1_path, "x", false, &cg, NULL) >= 0)
                (void) cgroup_destroy(cg);
        if (f->scratch)
                (void) rm_rf_at(AT_FDCWD, f->scratch);
        free(f->scratch);
        free(f->v2_dir);
        free(f->v1_path);
        free(f);
        return 0;
}

static char probe_one(const struct probe *p, const char *scratch)
{
        char node[256];
        int fd, r;

        if (p->path) {
                fd = open(p->path, p->flags | O_CLOEXEC | O_NOCTTY);
                r = fd < 0 ? -errno : 0;
                if (fd >= 0)
                        (void) close(fd);
        } else {
                (void) snprintf(node, sizeof(node), "%s/node", scratch);
                r = mknod(node, (p->type == 'b' ? S_IFBLK : S_IFCHR) | 0600,
                          makedev(p->major, p->minor)) < 0
                            ? -errno
                            : 0;
                (void) unlink(node);
        }
        return r == 0 ? '1' : r == -EPERM ? '0' : 'x';
}

/*
 * In a child that first joins: cgroup2 directory join_dir (writing 0 to cgroup.procs moves
 * the writer), or every hierarchy of cg, or nothing. The results come back through a pipe.
 */
static void run_probes(struct dev_fixture *f, const char *join_dir, struct cgroup *cg,
                       char ret[N_PROBES + 1])
{
        int fds[2], status = 0;
        ssize_t n;

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        f->child = fork();
        assert_true(f->child >= 0);
        if (f->child == 0) {
                char out[N_PROBES];
                _cleanup_free_ char *procs =
                        join_dir ? xasprintf("%s/cgroup.procs", join_dir) : NULL;

                if (procs && write_string_at(AT_FDCWD, procs, "0") < 0)
                        _exit(2);
                if (cg && cgroup_add_pid(cg, getpid(), NULL) < 0)
                        _exit(3);
                for (size_t i = 0; i < N_PROBES; i++)
                        out[i] = probe_one(&probes[i], f->scratch);
                _exit(write(fds[1], out, sizeof(out)) == (ssize_t) sizeof(out) ? 0 : 4);
        }
        (void) close(fds[1]);
        n = read(fds[0], ret, N_PROBES);
        (void) close(fds[0]);
        assert_int_equal(waitpid(f->child, &status, 0), f->child);
        f->child = -1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("probe child failed: status 0x%x", (unsigned) status);
        assert_int_equal(n, (ssize_t) N_PROBES);
        ret[N_PROBES] = '\0';
}

static void predict(const struct oci_device_rule *rules, size_t n, char ret[N_PROBES + 1])
{
        _cleanup_(cgroup_dev_policy_release) struct cgroup_dev_policy p = {0};

        assert_int_equal(cgroup_dev_policy_build(rules, n, &p, NULL), 0);
        for (size_t i = 0; i < N_PROBES; i++)
                ret[i] = cgroup_dev_policy_allows(&p, probes[i].type, probes[i].major,
                                                  probes[i].minor, probes[i].access)
                                 ? '1'
                                 : '0';
        ret[N_PROBES] = '\0';
}

/* Root, a cgroup2 mount (pure v2 or hybrid) and devices the test process may use. */
static const char *cgroup2_root_or_skip(struct dev_fixture *f)
{
        char got[N_PROBES + 1];
        enum cgroup_mode mode = CGROUP_MODE_V1;

        if (geteuid() != 0 || cgroup_detect_mode(&mode) < 0 || mode == CGROUP_MODE_V1)
                skip();
        f->scratch = xstrdup("/tmp/berth-unit-dev-XXXXXX");
        assert_non_null(mkdtemp(f->scratch));
        run_probes(f, NULL, NULL, got);
        if (!STREQ(got, "11111111"))
                skip(); /* already restricted (a container?): nothing to learn here */
        return mode == CGROUP_MODE_V2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
}

static int make_v2_dir(struct dev_fixture *f, const char *root)
{
        int dfd;

        f->v2_dir = xasprintf("%s/berth-unit-dev-%d", root, (int) getpid());
        assert_int_equal(mkdir(f->v2_dir, 0755), 0);
        dfd = open(f->v2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        return dfd;
}

static void set_rules(int dfd, const struct oci_device_rule *rules, size_t n)
{
        struct errmsg err = {0};

        if (cgroup_v2_devices_set(dfd, rules, n, &err) < 0)
                fail_msg("set: %s", err.msg);
}

static uint32_t n_attached(int dfd)
{
        uint32_t ids[64];
        union bpf_attr attr;

        memset(&attr, 0, sizeof(attr));
        attr.query.target_fd = (uint32_t) dfd;
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = (uint64_t) (uintptr_t) ids;
        attr.query.prog_cnt = ELEMENTSOF(ids);
        assert_int_equal(syscall(__NR_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)), 0);
        return attr.query.prog_cnt;
}

static void test_kernel_program_enforced(void **state)
{
        struct dev_fixture *f = *state;
        const struct oci_device_rule rules[] = {
                rule(false, 'a', ANY, ANY, "rwm"), rule(true, 'c', 1, 3, "rwm"), /* null */
                rule(true, 'c', 1, 5, "r"),                                      /* zero */
        };
        const char *root = cgroup2_root_or_skip(f);
        _cleanup_close_ int dfd = make_v2_dir(f, root);
        char got[N_PROBES + 1], want[N_PROBES + 1];

        set_rules(dfd, rules, ELEMENTSOF(rules));
        assert_int_equal(n_attached(dfd), 1);
        run_probes(f, f->v2_dir, NULL, got);
        /* null rw; zero r, not w nor rw; full not r; mknod only of 1:3 */
        assert_string_equal(got, "11000010");
        predict(rules, ELEMENTSOF(rules), want);
        assert_string_equal(got, want);
        assert_int_equal(rmdir(f->v2_dir), 0);
}

static void test_kernel_reapply_replaces(void **state)
{
        struct dev_fixture *f = *state;
        const struct oci_device_rule deny_all[] = {rule(false, 'a', ANY, ANY, "rwm")};
        const struct oci_device_rule allow_all[] = {rule(true, 'a', ANY, ANY, "rwm")};
        const char *root = cgroup2_root_or_skip(f);
        _cleanup_close_ int dfd = make_v2_dir(f, root);
        char got[N_PROBES + 1];

        set_rules(dfd, deny_all, 1);
        run_probes(f, f->v2_dir, NULL, got);
        assert_string_equal(got, "00000000");
        set_rules(dfd, allow_all, 1);
        assert_int_equal(n_attached(dfd), 1);
        run_probes(f, f->v2_dir, NULL, got);
        assert_string_equal(got, "11111111");
        set_rules(dfd, deny_all, 1);
        set_rules(dfd, deny_all, 1);
        assert_int_equal(n_attached(dfd), 1);
}

/* The same lists in v1's devices controller and under the program: the same results. */
static void test_kernel_same_as_v1(void **state)
{
        struct dev_fixture *f = *state;
        const struct oci_device_rule lists[][6] = {
                {rule(true, 'a', ANY, ANY, ""), rule(false, 'c', 1, 5, "w"),
                 rule(false, 'c', 1, 7, "m")},
                {rule(true, 'c', ANY, ANY, "m"), rule(true, 'c', 1, 3, "rw"),
                 rule(false, 'c', 1, 3, "m"), rule(true, 'c', 1, 5, "r"),
                 rule(true, 'c', 1, 5, "w"), rule(false, 'c', 1, 5, "w")},
                {rule(true, 'c', 1, ANY, "r"), rule(true, 'c', ANY, 3, "w"),
                 rule(true, 'b', 8, 0, "m")},
                {rule(true, 'c', 1, 3, "r"), rule(true, 'c', 1, 3, "w"),
                 rule(true, 'a', ANY, ANY, "rwm"), rule(false, 'b', ANY, ANY, "m"),
                 rule(false, 'c', 1, 5, "rwm"), rule(true, 'c', 1, 5, "r")},
        };
        const size_t counts[] = {3, 6, 3, 6};
        const char *root = cgroup2_root_or_skip(f);
        _cleanup_close_ int dfd = make_v2_dir(f, root);
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        struct errmsg err = {0};

        f->v1_path = xasprintf("/berth-unit-dev-%d-v1", (int) getpid());
        assert_int_equal(cgroup_open(f->v1_path, "x", false, &cg, &err), 0);
        if (!cgroup_find_hier(cg, "devices"))
                skip();
        if (cgroup_create(cg, &err) < 0)
                fail_msg("create: %s", err.msg);
        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                struct oci_resources res = {.devices = (struct oci_device_rule *) lists[i],
                                            .n_devices = counts[i]};
                char v1[N_PROBES + 1], bpf[N_PROBES + 1], want[N_PROBES + 1];

                if (cgroup_apply(cg, &res, &err) < 0)
                        fail_msg("list %zu: v1 apply: %s", i, err.msg);
                set_rules(dfd, lists[i], counts[i]);
                run_probes(f, NULL, cg, v1);
                run_probes(f, f->v2_dir, NULL, bpf);
                predict(lists[i], counts[i], want);
                if (!STREQ(v1, want) || !STREQ(bpf, want))
                        fail_msg("list %zu: v1 %s, eBPF %s, emulator %s", i, v1, bpf, want);
        }
        assert_int_equal(cgroup_destroy(cg), 0);
}

/* Not a cgroup: the error names the step, after "devices". */
static void test_kernel_not_a_cgroup(void **state)
{
        struct dev_fixture *f = *state;
        const struct oci_device_rule rules[] = {rule(true, 'c', 1, 3, "rwm")};
        _cleanup_close_ int dfd = -EBADF;
        struct errmsg err = {0};

        (void) cgroup2_root_or_skip(f);
        dfd = open(f->scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_true(cgroup_v2_devices_set(dfd, rules, 1, &err) < 0);
        assert_true(strncmp(err.msg, "devices: ", STRLEN("devices: ")) == 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_deny_all_then_allow_null),
                cmocka_unit_test(test_allow_all_then_deny_zero_write),
                cmocka_unit_test(test_wildcards),
                cmocka_unit_test(test_access_subsets),
                cmocka_unit_test(test_deny_does_not_punch_wildcards),
                cmocka_unit_test(test_type_a_resets),
                cmocka_unit_test(test_default_rules),
                cmocka_unit_test(test_bad_rules),
                cmocka_unit_test_setup_teardown(test_kernel_program_enforced, dev_setup,
                                                dev_teardown),
                cmocka_unit_test_setup_teardown(test_kernel_reapply_replaces, dev_setup,
                                                dev_teardown),
                cmocka_unit_test_setup_teardown(test_kernel_same_as_v1, dev_setup, dev_teardown),
                cmocka_unit_test_setup_teardown(test_kernel_not_a_cgroup, dev_setup, dev_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
