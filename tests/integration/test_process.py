# SPDX-License-Identifier: Apache-2.0
"""The config's process object: terminal, user, env, cwd, capabilities,
rlimits, noNewPrivileges, hostname, and the fds the process gets."""

import os

import pytest

from ocitest import ConsoleSocket, assert_no_debris, proc_status_field

CAP_NUMBERS = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_RAW": 13,
    "CAP_SYS_CHROOT": 18,
    "CAP_AUDIT_WRITE": 29,
}


def cap_mask(names):
    return f"{sum(1 << CAP_NUMBERS[n] for n in names):016x}"


def set_caps(b, names, ambient=True):
    b.process["capabilities"] = {
        "bounding": list(names),
        "effective": list(names),
        "permitted": list(names),
        "inheritable": list(names),
        "ambient": list(names) if ambient else [],
    }


def test_hostname(rt, bundle):
    b = bundle(["hostname"])
    b.config["hostname"] = "berth-host"
    b.save()
    assert rt.run_ok(b) == "berth-host\n"


def test_env_is_exactly_the_config(rt, bundle):
    b = bundle(["env"])
    b.process["env"] = ["PATH=/bin", "A=1", "B=two words"]
    b.save()
    env = rt.run_ok(b).splitlines()
    assert "A=1" in env and "B=two words" in env and "PATH=/bin" in env, env
    leaked = [e for e in env if e.startswith(("PYTEST_", "BERTH_RUNTIME="))]
    assert not leaked, f"host environment leaked into the container: {leaked}"


def test_cwd(rt, bundle):
    b = bundle(["pwd"])
    b.process["cwd"] = "/etc"
    b.save()
    assert rt.run_ok(b) == "/etc\n"


def test_cwd_created_if_missing(rt, bundle):
    b = bundle(["pwd"])
    b.process["cwd"] = "/new/work/dir"
    b.save()
    assert rt.run_ok(b) == "/new/work/dir\n"


def test_user_uid_gid_additional_gids(rt, bundle):
    b = bundle(["sh", "-c", "id -u; id -g; id -G"])
    b.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [65534, 5]}
    b.save()
    uid, gid, groups = rt.run_ok(b).splitlines()
    assert (uid, gid) == ("1000", "1000")
    assert set(groups.split()) == {"1000", "65534", "5"}, groups


def test_user_without_additional_gids_has_no_groups(rt, bundle):
    b = bundle(["sh", "-c", "grep ^Groups: /proc/self/status"])
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.save()
    assert rt.run_ok(b).split() == ["Groups:"], "supplementary groups must be cleared"


def test_umask(rt, bundle):
    b = bundle(["sh", "-c", "umask; touch /tmp/f; stat -c %a /tmp/f"])
    b.process["user"]["umask"] = 0o077
    b.add_mount("/tmp", "tmpfs", "tmpfs", ["mode=1777"])
    b.save()
    assert rt.run_ok(b).split() == ["0077", "600"]


def test_capabilities_exact_mask(rt, bundle):
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"]
    b = bundle(["cat", "/proc/self/status"])
    set_caps(b, caps)
    b.save()
    status = rt.run_ok(b)
    for field in ("CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"):
        assert proc_status_field(status, field) == cap_mask(caps), \
            f"{field} must be exactly {caps}"


def test_capability_dropped(rt, bundle):
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    b = bundle(["sh", "-c", "grep CapEff /proc/self/status; ping -c1 -W1 127.0.0.1"])
    set_caps(b, caps)
    b.save()
    r = rt.run(b)
    eff = proc_status_field(r.out, "CapEff")
    assert eff == cap_mask(caps), f"CapEff {eff} with CAP_NET_RAW dropped"
    assert int(eff, 16) & (1 << CAP_NUMBERS["CAP_NET_RAW"]) == 0
    assert r.rc != 0, "ping needs CAP_NET_RAW and must fail without it"


def test_nonroot_user_gets_only_ambient_caps(rt, bundle):
    caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    b = bundle(["grep", "CapEff", "/proc/self/status"])
    set_caps(b, caps)
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.save()
    assert proc_status_field(rt.run_ok(b), "CapEff") == cap_mask(caps)


def test_rlimits_lowered(rt, bundle):
    b = bundle(["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"])
    # Lower limits only: this machine lacks CAP_SYS_RESOURCE, so raising a
    # hard limit above the runtime's own would fail with EPERM.
    b.process["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
    ]
    b.save()
    assert rt.run_ok(b).split() == ["256", "512", "0"]


def test_unknown_rlimit_fails(rt, bundle):
    b = bundle(["true"])
    b.process["rlimits"] = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]
    b.save()
    r = rt.run(b)
    assert r.rc != 0 and "RLIMIT_BOGUS" in r.err, str(r)
    assert_no_debris(rt, b)


@pytest.mark.parametrize("nnp,want", [(True, "1"), (False, "0")])
def test_no_new_privileges(rt, bundle, nnp, want):
    b = bundle(["grep", "NoNewPrivs", "/proc/self/status"])
    b.process["noNewPrivileges"] = nnp
    b.save()
    assert proc_status_field(rt.run_ok(b), "NoNewPrivs") == want


def test_no_fd_leak(rt, bundle):
    # "; true" stops sh from exec'ing ls, which would list its own dir fd.
    b = bundle(["sh", "-c", "ls /proc/$$/fd; true"])
    assert rt.run_ok(b).split() == ["0", "1", "2"], "extra fds leaked into the container"


def test_no_fd_leak_in_exec(rt, bundle):
    b = bundle(["sleep", "1000"])
    rt.start_running(b)
    out = rt.exec_ok(b.id, "sh", "-c", "ls /proc/$$/fd; ls /proc/1/fd")
    assert out.split() == ["0", "1", "2", "0", "1", "2"], out


def test_preserve_fds(rt, bundle, workdir):
    extra = os.path.join(workdir, "extra.txt")
    with open(extra, "w", encoding="utf-8") as f:
        f.write("passed-through\n")
    b = bundle(["sh", "-c", "ls /proc/$$/fd; cat <&3"])
    r = rt.run(b, "--preserve-fds", "2", fds={3: extra, 4: extra})
    assert r.rc == 0, str(r)
    lines = r.out.split()
    assert lines[:5] == ["0", "1", "2", "3", "4"], r.out
    assert "passed-through" in r.out


def test_terminal_console_socket(rt, bundle, workdir):
    b = bundle(["sh", "-c", "test -t 0 && test -t 1 && echo hello; sleep 1"],
               terminal=True)
    console = ConsoleSocket(os.path.join(workdir, "console.sock"))
    try:
        rt.create_ok(b, "--console-socket", console.path)
        rt.start(b.id)
        console.wait_output("hello")
    finally:
        console.close()


def test_terminal_echoes_input(rt, bundle, workdir):
    b = bundle(["sh", "-c", "read line; echo got:$line"], terminal=True)
    console = ConsoleSocket(os.path.join(workdir, "console.sock"))
    try:
        rt.create_ok(b, "--console-socket", console.path)
        rt.start(b.id)
        console.write("ping\n")
        console.wait_output("got:ping")
    finally:
        console.close()


def test_terminal_without_console_socket_fails(rt, bundle):
    b = bundle(["true"], terminal=True)
    r = rt.create(b)
    assert r.rc != 0, f"create with terminal=true needs --console-socket:\n{r}"
    assert "console" in r.err.lower(), str(r)
    assert_no_debris(rt, b)


def test_signals_start_at_their_defaults(rt, bundle):
    """No signal is ignored in the container, even when the runtime's parent ignored some
    (a shell's background job, a daemon ignoring SIGPIPE): runc resets them before exec."""
    b = bundle(["grep", "SigIgn", "/proc/self/status"])
    b.save()
    assert rt.run_ok(b) == "SigIgn:\t0000000000000000\n"
    b = bundle(["grep", "-E", "Sig(Ign|Blk)", "/proc/self/status"])
    b.save()
    argv = ["/bin/sh", "-c", "trap '' INT QUIT PIPE; exec \"$@\"", "sh",
            *rt.argv("run", "--bundle", b.dir, b.id)]
    rt.track(b.id, b.cgroups_path)
    r = rt.cmd(argv=argv, stdout_path=b.stdout_path, stderr_path=b.stderr_path)
    assert r.rc == 0 and r.out == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", r
