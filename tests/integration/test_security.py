# SPDX-License-Identifier: Apache-2.0
"""seccomp, and the CVE-2019-5736 class: a container must never get the
host runtime binary open for writing."""

import os
import platform

import pytest

from ocitest import assert_no_debris, proc_status_field, read_file, sha256_file, wait_for

SECCOMP_ARCHES = {
    "x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
}


def seccomp_profile(rules, default="SCMP_ACT_ALLOW"):
    arches = SECCOMP_ARCHES.get(platform.machine())
    if arches is None:
        pytest.skip(f"no seccomp arch list for {platform.machine()}")
    return {"defaultAction": default, "architectures": arches, "syscalls": rules}


def test_seccomp_errno(rt, bundle):
    b = bundle(["sh", "-c", "mkdir /tmp/x; grep Seccomp: /proc/self/status"])
    b.add_mount("/tmp", "tmpfs", "tmpfs", ["mode=1777"])
    b.linux["seccomp"] = seccomp_profile([
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
    ])
    b.save()
    r = rt.run(b)
    assert "Operation not permitted" in r.err, f"mkdir must fail with EPERM:\n{r}"
    assert proc_status_field(r.out, "Seccomp") == "2", "a seccomp filter must be loaded"


def test_seccomp_errno_ret(rt, bundle):
    b = bundle(["sh", "-c", "mkdir /tmp/x; touch /tmp/ok && echo touch-ok"])
    b.add_mount("/tmp", "tmpfs", "tmpfs", ["mode=1777"])
    b.linux["seccomp"] = seccomp_profile([
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
    ])
    b.save()
    r = rt.run(b)
    assert "Permission denied" in r.err, f"errnoRet 13 must give EACCES:\n{r}"
    assert "touch-ok" in r.out, "syscalls not in the profile must be allowed"


def test_seccomp_kill(rt, bundle):
    b = bundle(["mkdir", "/x"])
    b.linux["seccomp"] = seccomp_profile([
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"},
    ])
    b.save()
    r = rt.run(b)
    assert r.rc == 128 + 31, f"SCMP_ACT_KILL_PROCESS gives SIGSYS (159):\n{r}"


def test_seccomp_unknown_action_fails(rt, bundle):
    b = bundle(["true"])
    b.linux["seccomp"] = seccomp_profile([
        {"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"},
    ])
    b.save()
    r = rt.run(b)
    assert r.rc != 0, str(r)
    assert "SCMP_ACT_BOGUS" in r.err, f"message must name the action:\n{r}"
    assert_no_debris(rt, b)


# --- CVE-2019-5736 class ----------------------------------------------------

def test_exec_cannot_open_init_exe_for_writing(rt, bundle):
    before = sha256_file(rt.path)
    b = bundle(["sleep", "1000"])
    rt.start_running(b)
    r = rt.exec(b.id, "sh", "-c",
                "{ echo opened-rw; } 3>>/proc/1/exe || echo denied;"
                " { echo opened-rw; } 3>>/proc/self/exe || echo denied")
    assert r.out.split() == ["denied", "denied"], \
        f"/proc/1/exe and /proc/self/exe must not open for writing:\n{r}"
    assert sha256_file(rt.path) == before, "the runtime binary changed"


def test_runtime_binary_not_reachable_from_created_container(rt, bundle, workdir):
    """The CVE-2019-5736 attack: while the runtime's own init is pid 1 of a
    created container, a process in the container grabs /proc/1/exe; once
    the runtime is gone it reopens that fd for writing. Neither step may
    give it the host runtime binary (we open with O_APPEND and write nothing,
    so even a vulnerable runtime is not damaged)."""
    before = sha256_file(rt.path)
    out = os.path.join(workdir, "out")
    os.mkdir(out)
    log = os.path.join(out, "log")
    b = bundle(["sleep", "1000"])
    b.bind(out, "/out")
    b.save()
    rt.create_ok(b)
    script = (
        "exec >>/out/log 2>&1; "
        "{ echo ro-opened $(readlink /proc/self/fd/3); "
        "  while [ ! -e /out/go ]; do sleep 0.02; done; "
        "  { echo RW-OPENED; } 4>>/proc/self/fd/3 || echo rw-denied; "
        "} 3</proc/1/exe || echo ro-denied; "
        "echo finished")
    rt.exec_ok(b.id, "sh", "-c", script, opts=("--detach",))
    wait_for(lambda: "-denied" in read_file(log, "") or "ro-opened" in read_file(log, ""),
             what="the attacker to try /proc/1/exe")
    rt.start(b.id)
    rt.wait_status(b.id, "running")
    with open(os.path.join(out, "go"), "w", encoding="utf-8"):
        pass
    wait_for(lambda: "finished" in read_file(log, ""), what="the attacker to finish")
    text = read_file(log)
    assert "RW-OPENED" not in text, f"the container got the runtime exe for writing:\n{text}"
    assert sha256_file(rt.path) == before, "the runtime binary changed"
