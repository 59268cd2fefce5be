# SPDX-License-Identifier: Apache-2.0
"""Real dockerd 20.10 (with its own containerd) and the docker 28 CLI,
running containers with `--runtime berth` = the runtime under test."""

import json

import pytest

pytestmark = pytest.mark.interop


def test_image_loaded(dockerd):
    out = dockerd.docker_ok("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert "busybox:latest" in out.split(), out


def test_run_rm_echo(dockerd):
    out = dockerd.docker_ok("run", "--runtime", "berth", "--rm", "busybox", "echo", "ok")
    assert out == "ok\n", out


def test_run_exit_code(dockerd):
    p = dockerd.docker("run", "--runtime", "berth", "--rm", "busybox", "sh", "-c", "exit 3")
    assert p.returncode == 3, f"docker run must return the exit code:\n{p.stderr}"


def test_run_tty(dockerd):
    # -t makes the shim ask the runtime for a pty over --console-socket.
    out = dockerd.docker_ok("run", "--runtime", "berth", "--rm", "-t", "busybox",
                            "sh", "-c", "test -t 1 && echo tty-ok")
    assert out.strip() == "tty-ok", repr(out)


def test_run_detached_exec(dockerd):
    cid = dockerd.docker_ok("run", "-d", "--runtime", "berth", "--name", "s1",
                            "busybox", "sleep", "1000").strip()
    try:
        inspect = json.loads(dockerd.docker_ok("inspect", cid))[0]
        assert inspect["HostConfig"]["Runtime"] == "berth"
        assert inspect["State"]["Running"] is True, inspect["State"]
        assert dockerd.runtime_root_of(cid), f"no runtime state dir for {cid}"
        state = dockerd.runtime_state(cid)
        assert state and state["status"] == "running", \
            f"the runtime under test does not list {cid} as running: {state}"
        assert state["pid"] == inspect["State"]["Pid"]

        assert dockerd.docker_ok("exec", "s1", "echo", "exec-ok") == "exec-ok\n"
        out = dockerd.docker_ok("exec", "-u", "1000:1000", "-w", "/tmp", "-e", "X=y",
                                "s1", "sh", "-c", 'id -u; pwd; echo "$X"')
        assert out.split() == ["1000", "/tmp", "y"], out
        p = dockerd.docker("exec", "s1", "sh", "-c", "exit 4")
        assert p.returncode == 4, p.stderr
    finally:
        dockerd.docker_ok("rm", "-f", "s1")
    assert dockerd.runtime_state(cid) is None, "runtime state left after docker rm"


def test_lifecycle_commands(dockerd):
    """pause/unpause (freezer), top (ps), update (cgroup), exec -t, stop (SIGTERM)."""
    dockerd.docker_ok("run", "-d", "--runtime", "berth", "--name", "s2", "--memory", "64m",
                      "busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done")
    try:
        dockerd.docker_ok("pause", "s2")
        assert json.loads(dockerd.docker_ok("inspect", "s2"))[0]["State"]["Paused"] is True
        dockerd.docker_ok("unpause", "s2")
        assert dockerd.docker_ok("exec", "s2", "echo", "thawed") == "thawed\n"

        top = dockerd.docker_ok("top", "s2")
        assert "sleep" in top or "sh -c" in top, top

        dockerd.docker_ok("update", "--memory", "96m", "--memory-swap", "-1", "s2")
        mem = json.loads(dockerd.docker_ok("inspect", "s2"))[0]["HostConfig"]["Memory"]
        assert mem == 96 * 1024 * 1024, mem

        out = dockerd.docker_ok("exec", "-t", "s2", "sh", "-c", "test -t 1 && echo exec-tty")
        assert out.strip() == "exec-tty", repr(out)

        dockerd.docker_ok("stop", "-t", "10", "s2")
        state = json.loads(dockerd.docker_ok("inspect", "s2"))[0]["State"]
        assert state["Running"] is False and state["ExitCode"] == 0, state
    finally:
        dockerd.docker_ok("rm", "-f", "s2")


def test_run_with_security_options(dockerd):
    """docker's default seccomp profile, --read-only, --cap-drop, --user."""
    out = dockerd.docker_ok(
        "run", "--runtime", "berth", "--rm", "--read-only", "--cap-drop", "NET_RAW",
        "--user", "1000:1000", "busybox", "sh", "-c",
        "id -u; grep Seccomp: /proc/self/status; touch /x 2>&1 || echo ro-ok; "
        "grep CapBnd /proc/self/status")
    lines = out.splitlines()
    assert lines[0] == "1000", out
    assert lines[1].split() == ["Seccomp:", "2"], out
    assert "ro-ok" in out, out
    capbnd = int(lines[-1].split()[1], 16)
    assert not capbnd & (1 << 13), f"CAP_NET_RAW still in the bounding set: {out}"
