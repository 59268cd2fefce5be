/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device rules on cgroup v2, which has no devices controller. As runc 1.1.5 does it: the
 * ordered rule list is replayed onto an emulator of v1's controller (a default plus a list of
 * exceptions), that state becomes a small BPF_PROG_TYPE_CGROUP_DEVICE program that checks the
 * exceptions and falls back to the default, and the program is attached (BPF_CGROUP_DEVICE,
 * BPF_F_ALLOW_MULTI) to the container's cgroup2 directory in place of the one attached before.
 *
 * The decisions are those of v1's controller (security/device_cgroup.c) after cgroup_apply()
 * on v1 wrote "a" to devices.deny and then each rule, in order, to devices.allow or .deny:
 * - The start is deny-all with no exceptions.
 * - A rule of type 'a' resets: allow makes the default allow, deny makes it deny, and both
 *   drop every exception (v1 reads only the 'a'; numbers and access do not matter).
 * - Any other rule whose action differs from the default (allow while denying by default,
 *   deny while allowing) adds its access bits to the exception with exactly its type, major
 *   and minor, creating it if needed. A rule whose action is the default's removes its bits
 *   from that exact exception, and an exception left without bits goes. Removal never looks at
 *   wildcards: after "allow c *:* m", "deny c 1:3 m" changes nothing and mknod of c 1:3 stays
 *   allowed. v1 is silent about it; runc 1.1.5's emulator refuses such a rule with an error.
 *   We keep v1's result, so that a config means the same on v1, hybrid and v2.
 * - A request (type, major, minor, access bits; open() asks for r and w at once, mknod() for
 *   m) matches an exception of its type whose major and minor are equal or wildcards. With a
 *   deny default it is allowed when one matching exception holds every requested bit (so
 *   O_RDWR needs "rw" within a single exception). With an allow default it is denied when a
 *   matching exception holds any requested bit: "deny c 1:5 w" refuses O_RDWR of /dev/zero
 *   as v1 does. runc 1.1.5's program asks for every bit there too, so under runc on v2
 *   O_RDWR would pass that rule; we follow v1.
 * - An empty access means "rwm", as cgroup_v1_device_rule() writes it; numbers above
 *   UINT32_MAX are refused, as v1 refuses to parse them. The programs of parent cgroups run
 *   as well (BPF_F_ALLOW_MULTI): all must allow, as v1's hierarchy only narrows too.
 *
 * The program is hand-assembled from struct bpf_insn, not built with libbpf: it is a straight
 * line of compare-and-return blocks with no maps, no helpers and no relocations, which is a
 * few dozen lines to emit and keeps berth-runc free of a libbpf/libelf dependency for it.
 */
#include <inttypes.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "lib/errmsg.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "runc/cgroup-internal.h"

static_assert(CGROUP_DEV_ACC_MKNOD == BPF_DEVCG_ACC_MKNOD, "v1 and BPF access bits differ");
static_assert(CGROUP_DEV_ACC_READ == BPF_DEVCG_ACC_READ, "v1 and BPF access bits differ");
static_assert(CGROUP_DEV_ACC_WRITE == BPF_DEVCG_ACC_WRITE, "v1 and BPF access bits differ");

/* The kernel keeps at most 64 programs per cgroup and attach type (BPF_CGROUP_MAX_PROGS). */
#define CGROUP_BPF_MAX_PROGS 64u
/* Asked for only after a failed load: the verifier's log is for the error message. */
#define VERIFIER_LOG_SIZE (64u << 10)
/* What err gets of that log: its end, where the verifier says what it refused. */
#define VERIFIER_LOG_TAIL 320u
/* Cgroup device programs call no GPL-only helper, so any license string loads. */
#define PROGRAM_LICENSE "Apache-2.0"
#define PROGRAM_NAME    "berth_devices"

/* --- the emulator ---------------------------------------------------------------------- */

/* Letters already checked by cgroup_v1_device_rule(); empty is "rwm", as v1 gets it. */
static unsigned access_bits(const char access[4])
{
        size_t n = strnlen(access, 4);
        unsigned bits = 0;

        if (n == 0)
                return CGROUP_DEV_ACC_ALL;
        for (size_t i = 0; i < n; i++)
                bits |= access[i] == 'm'   ? CGROUP_DEV_ACC_MKNOD
                        : access[i] == 'r' ? CGROUP_DEV_ACC_READ
                                           : CGROUP_DEV_ACC_WRITE;
        return bits;
}

static int rule_parse(const struct oci_device_rule *rule, struct cgroup_dev_exception *ret,
                      struct errmsg *err)
{
        char v1[80];
        int r;

        /* The same checks and messages as on v1: type, negative numbers, access letters. */
        r = cgroup_v1_device_rule(rule, v1, sizeof(v1), err);
        if (r < 0)
                return r;
        if (rule->type != 'a' && (rule->major > UINT32_MAX || rule->minor > UINT32_MAX))
                return errmsg_set(err, -EINVAL,
                                  "major/minor %" PRIi64 ":%" PRIi64 ": above %" PRIu32,
                                  rule->major, rule->minor, UINT32_MAX);
        *ret = (struct cgroup_dev_exception){
                .type = rule->type,
                .major = rule->major < 0 ? CGROUP_DEV_ANY : (uint32_t) rule->major,
                .minor = rule->minor < 0 ? CGROUP_DEV_ANY : (uint32_t) rule->minor,
                .access = access_bits(rule->access),
        };
        return 0;
}

static struct cgroup_dev_exception *policy_find(struct cgroup_dev_policy *p,
                                                const struct cgroup_dev_exception *key)
{
        for (size_t i = 0; i < p->n_exceptions; i++) {
                struct cgroup_dev_exception *ex = &p->exceptions[i];

                if (ex->type == key->type && ex->major == key->major && ex->minor == key->minor)
                        return ex;
        }
        return NULL;
}

/* One devices.allow (allow) or devices.deny write of a 'c' or 'b' rule. */
static void policy_update(struct cgroup_dev_policy *p, bool allow,
                          const struct cgroup_dev_exception *rule)
{
        struct cgroup_dev_exception *ex = policy_find(p, rule);

        if (allow != p->default_allow) {
                if (ex)
                        ex->access |= rule->access;
                else
                        p->exceptions[p->n_exceptions++] = *rule;
                return;
        }
        if (!ex)
                return;
        ex->access &= ~rule->access;
        if (ex->access == 0) {
                size_t i = (size_t) (ex - p->exceptions);

                memmove(ex, ex + 1, (p->n_exceptions - i - 1) * sizeof(*ex));
                p->n_exceptions--;
        }
}

int cgroup_dev_policy_build(const struct oci_device_rule *rules, size_t n_rules,
                            struct cgroup_dev_policy *ret, struct errmsg *err)
{
        /* Each rule adds one exception at most, so n_rules slots never overflow. */
        _cleanup_free_ struct cgroup_dev_exception *exceptions =
                xnew0(struct cgroup_dev_exception, MAX(n_rules, (size_t) 1));
        struct cgroup_dev_policy p = {.default_allow = false, .exceptions = exceptions};

        for (size_t i = 0; i < n_rules; i++) {
                struct cgroup_dev_exception rule;
                int r;

                r = rule_parse(&rules[i], &rule, err);
                if (r < 0)
                        return errmsg_prefix(err, r, "devices[%zu]", i);
                if (rule.type == 'a') {
                        p.default_allow = rules[i].allow;
                        p.n_exceptions = 0;
                        continue;
                }
                policy_update(&p, rules[i].allow, &rule);
        }
        p.exceptions = TAKE_PTR(exceptions);
        *ret = p;
        return 0;
}

void cgroup_dev_policy_release(struct cgroup_dev_policy *p)
{
        free(p->exceptions);
        *p = (struct cgroup_dev_policy){0};
}

static bool exception_matches(const struct cgroup_dev_exception *ex, char type, uint32_t major,
                              uint32_t minor)
{
        return ex->type == type && (ex->major == CGROUP_DEV_ANY || ex->major == major) &&
               (ex->minor == CGROUP_DEV_ANY || ex->minor == minor);
}

bool cgroup_dev_policy_allows(const struct cgroup_dev_policy *p, char type, uint32_t major,
                              uint32_t minor, unsigned access)
{
        for (size_t i = 0; i < p->n_exceptions; i++) {
                const struct cgroup_dev_exception *ex = &p->exceptions[i];

                if (!exception_matches(ex, type, major, minor))
                        continue;
                /* v1's match_exception_partial() with an allow default, else match_exception() */
                if (p->default_allow ? (access & ex->access) != 0 : (access & ~ex->access) == 0)
                        return !p->default_allow;
        }
        return p->default_allow;
}

/* --- the program ----------------------------------------------------------------------- */

/*
 * Registers after the prologue: r2 the requested access bits, r3 the device type, r4 the
 * major, r5 the minor (all 32-bit, from struct bpf_cgroup_dev_ctx); r0 is scratch until it
 * takes the verdict. Compares are BPF_JMP32, so that numbers of 2^31 and above compare as
 * the kernel's u32 rather than as a sign-extended immediate.
 */
enum {
        REG_ACCESS = BPF_REG_2,
        REG_TYPE = BPF_REG_3,
        REG_MAJOR = BPF_REG_4,
        REG_MINOR = BPF_REG_5,
};

struct program {
        struct bpf_insn *insns;
        size_t n;
};

/* Returns the new instruction's index, for a jump to be patched. */
static size_t emit(struct program *prog, uint8_t code, uint8_t dst, uint8_t src, int32_t imm)
{
        prog->insns[prog->n] = (struct bpf_insn){
                .code = code, .dst_reg = dst, .src_reg = src, .off = 0, .imm = imm};
        return prog->n++;
}

/* dst = the u32 at offset in struct bpf_cgroup_dev_ctx (r1 points to it on entry). */
static void emit_load_ctx(struct program *prog, uint8_t dst, size_t offset)
{
        size_t i = emit(prog, BPF_LDX | BPF_W | BPF_MEM, dst, BPF_REG_1, 0);

        prog->insns[i].off = (int16_t) offset;
}

static void emit_return(struct program *prog, bool allow)
{
        (void) emit(prog, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, allow ? 1 : 0);
        (void) emit(prog, BPF_JMP | BPF_EXIT, 0, 0, 0);
}

/* A block that returns the exception's verdict when it matches, else falls to the next. */
static void emit_exception(struct program *prog, const struct cgroup_dev_exception *ex,
                           bool default_allow)
{
        size_t skips[4], n_skips = 0;

        skips[n_skips++] = emit(prog, BPF_JMP32 | BPF_JNE | BPF_K, REG_TYPE, 0,
                                ex->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
        (void) emit(prog, BPF_ALU | BPF_MOV | BPF_X, BPF_REG_0, REG_ACCESS, 0);
        if (default_allow) {
                /* a deny exception: any requested bit in it */
                (void) emit(prog, BPF_ALU | BPF_AND | BPF_K, BPF_REG_0, 0, (int32_t) ex->access);
                skips[n_skips++] = emit(prog, BPF_JMP32 | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0);
        } else {
                /* an allow exception: no requested bit outside it */
                (void) emit(prog, BPF_ALU | BPF_AND | BPF_K, BPF_REG_0, 0, (int32_t) ~ex->access);
                skips[n_skips++] = emit(prog, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_0, 0, 0);
        }
        if (ex->major != CGROUP_DEV_ANY)
                skips[n_skips++] =
                        emit(prog, BPF_JMP32 | BPF_JNE | BPF_K, REG_MAJOR, 0, (int32_t) ex->major);
        if (ex->minor != CGROUP_DEV_ANY)
                skips[n_skips++] =
                        emit(prog, BPF_JMP32 | BPF_JNE | BPF_K, REG_MINOR, 0, (int32_t) ex->minor);
        emit_return(prog, !default_allow);
        /* Every mismatch jumps past the block's return, to the next block. */
        for (size_t i = 0; i < n_skips; i++)
                prog->insns[skips[i]].off = (int16_t) (prog->n - skips[i] - 1);
}

/* Longest block: 4 jumps, mov, and, and the 2-instruction return. */
#define BLOCK_MAX_INSNS 8u
#define PROLOGUE_INSNS  6u

size_t cgroup_dev_policy_program(const struct cgroup_dev_policy *p, struct bpf_insn **ret)
{
        struct program prog = {
                .insns = xnew0(struct bpf_insn,
                               PROLOGUE_INSNS + p->n_exceptions * BLOCK_MAX_INSNS + 2)};

        emit_load_ctx(&prog, REG_ACCESS, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        (void) emit(&prog, BPF_ALU | BPF_MOV | BPF_X, REG_TYPE, REG_ACCESS, 0);
        (void) emit(&prog, BPF_ALU | BPF_AND | BPF_K, REG_TYPE, 0, 0xffff);
        (void) emit(&prog, BPF_ALU | BPF_RSH | BPF_K, REG_ACCESS, 0, 16);
        emit_load_ctx(&prog, REG_MAJOR, offsetof(struct bpf_cgroup_dev_ctx, major));
        emit_load_ctx(&prog, REG_MINOR, offsetof(struct bpf_cgroup_dev_ctx, minor));
        assert(prog.n == PROLOGUE_INSNS);
        for (size_t i = 0; i < p->n_exceptions; i++)
                emit_exception(&prog, &p->exceptions[i], p->default_allow);
        emit_return(&prog, p->default_allow);
        *ret = prog.insns;
        return prog.n;
}

/* --- loading and attaching ------------------------------------------------------------- */

/* bpf(2) has no glibc wrapper. The fds it returns are always O_CLOEXEC. */
static int bpf_call(enum bpf_cmd cmd, union bpf_attr *attr)
{
        long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));

        return r < 0 ? -errno : (int) r;
}

/* The last lines of the verifier's log, on one line, within VERIFIER_LOG_TAIL bytes. */
static const char *log_tail(char *log)
{
        size_t n = strlen(log);
        char *start;

        while (n > 0 && (log[n - 1] == '\n' || log[n - 1] == ' '))
                log[--n] = '\0';
        start = log + (n > VERIFIER_LOG_TAIL ? n - VERIFIER_LOG_TAIL : 0);
        if (start > log && strchr(start, '\n'))
                start = strchr(start, '\n') + 1;
        for (char *c = start; *c; c++)
                if (*c == '\n')
                        *c = '|';
        return start;
}

static int program_load(const struct bpf_insn *insns, size_t n, int *ret_fd, struct errmsg *err)
{
        _cleanup_free_ char *log = NULL;
        union bpf_attr attr;
        int fd, r;

        memset(&attr, 0, sizeof(attr));
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t) (uintptr_t) insns;
        attr.insn_cnt = (uint32_t) n;
        attr.license = (uint64_t) (uintptr_t) PROGRAM_LICENSE;
        memcpy(attr.prog_name, PROGRAM_NAME, sizeof(PROGRAM_NAME));
        r = fd = bpf_call(BPF_PROG_LOAD, &attr);
        if (r == -EPERM || r == -ENOSYS)
                return errmsg_set(err, r, "load eBPF device program: %s", strerror(-r));
        if (r < 0) {
                /* Again with the verifier's log, which a load that works need not pay for. */
                log = xnew0(char, VERIFIER_LOG_SIZE);
                attr.log_level = 1;
                attr.log_buf = (uint64_t) (uintptr_t) log;
                attr.log_size = VERIFIER_LOG_SIZE;
                fd = bpf_call(BPF_PROG_LOAD, &attr);
                if (fd < 0)
                        return errmsg_set(err, r,
                                          "load eBPF device program (%zu instructions): %s%s%s", n,
                                          strerror(-r), *log ? ": " : "", log_tail(log));
        }
        *ret_fd = fd;
        return 0;
}

/* The ids of the device programs attached to dfd itself (not those inherited). */
static int programs_query(int dfd, uint32_t ids[CGROUP_BPF_MAX_PROGS], size_t *ret_n,
                          struct errmsg *err)
{
        union bpf_attr attr;
        int r;

        memset(&attr, 0, sizeof(attr));
        attr.query.target_fd = (uint32_t) dfd;
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = (uint64_t) (uintptr_t) ids;
        attr.query.prog_cnt = CGROUP_BPF_MAX_PROGS;
        r = bpf_call(BPF_PROG_QUERY, &attr);
        if (r < 0)
                return errmsg_set(err, r, "query attached eBPF device programs: %s", strerror(-r));
        *ret_n = MIN(attr.query.prog_cnt, CGROUP_BPF_MAX_PROGS);
        return 0;
}

static int program_detach(int dfd, uint32_t id, struct errmsg *err)
{
        _cleanup_close_ int fd = -EBADF;
        union bpf_attr attr;
        int r;

        memset(&attr, 0, sizeof(attr));
        attr.prog_id = id;
        r = fd = bpf_call(BPF_PROG_GET_FD_BY_ID, &attr);
        /*
         * Gone meanwhile; or hidden by an LSM, like runc we leave such a program be: another
         * device program can only narrow what ours allows.
         */
        if (r == -ENOENT)
                return 0;
        if (r == -EPERM || r == -EACCES) {
                log_debug("cgroup: eBPF device program %" PRIu32 " not accessible, keeping it", id);
                return 0;
        }
        if (r < 0)
                return errmsg_set(err, r, "open eBPF device program %" PRIu32 ": %s", id,
                                  strerror(-r));
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t) dfd;
        attr.attach_bpf_fd = (uint32_t) fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        r = bpf_call(BPF_PROG_DETACH, &attr);
        if (r < 0 && r != -ENOENT)
                return errmsg_set(err, r, "detach eBPF device program %" PRIu32 ": %s", id,
                                  strerror(-r));
        return 0;
}

static int program_attach(int dfd, int prog_fd, struct errmsg *err)
{
        union bpf_attr attr;
        int r;

        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t) dfd;
        attr.attach_bpf_fd = (uint32_t) prog_fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        r = bpf_call(BPF_PROG_ATTACH, &attr);
        if (r < 0)
                return errmsg_set(err, r, "attach eBPF device program: %s", strerror(-r));
        return 0;
}

/*
 * Kernels before 5.11 charge programs to RLIMIT_MEMLOCK, which runc raises; we do not, since
 * the container's init, forked later, would inherit it. Debian 12's 6.1 charges the memcg.
 */
int cgroup_v2_devices_set(int dfd, const struct oci_device_rule *rules, size_t n_rules,
                          struct errmsg *err)
{
        _cleanup_(cgroup_dev_policy_release) struct cgroup_dev_policy policy = {0};
        _cleanup_free_ struct bpf_insn *insns = NULL;
        _cleanup_close_ int prog_fd = -EBADF;
        uint32_t old[CGROUP_BPF_MAX_PROGS];
        size_t n_insns, n_old = 0;
        int r;

        r = cgroup_dev_policy_build(rules, n_rules, &policy, err);
        if (r < 0)
                return r; /* err names devices[i] */
        n_insns = cgroup_dev_policy_program(&policy, &insns);
        r = programs_query(dfd, old, &n_old, err);
        if (r >= 0)
                r = program_load(insns, n_insns, &prog_fd, err);
        /*
         * The new program goes on before the old ones come off: in between both run and
         * both must allow, so there is never a moment without a filter.
         */
        if (r >= 0)
                r = program_attach(dfd, prog_fd, err);
        for (size_t i = 0; r >= 0 && i < n_old; i++)
                r = program_detach(dfd, old[i], err);
        if (r < 0)
                return errmsg_prefix(err, r, "devices");
        log_debug("cgroup: eBPF device program of %zu instructions attached, %zu replaced", n_insns,
                  n_old);
        return 0;
}
