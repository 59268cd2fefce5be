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
