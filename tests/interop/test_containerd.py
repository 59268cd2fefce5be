# SPDX-License-Identifier: Apache-2.0
"""Real containerd 1.6 + containerd-shim-runc-v2 with BinaryName set to the
runtime under test (ctr run --runc-binary)."""

import os
import subprocess

import pytest

import ocitest

from ocitest import cgroup_dirs, wait_for

pytestmark = pytest.mark.interop

IMAGE = "docker.io/library/busybox:latest"


def task_status(c, cid):
    for line in c.ctr_ok("tasks", "ls").splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == cid:
            return fields[-1]
    return None


def test_image_imported(containerd):
    names = containerd.ctr_ok("images", "ls", "-q").split()
    assert IMAGE in names, names


def test_run_rm_echo(containerd):
    cid = "c1"
    out = containerd.ctr_ok("run", "--rm", *containerd.run_args(), IMAGE, cid,
                            "echo", "ok")
    assert out == "ok\n", out
    assert cid not in containerd.ctr_ok("containers", "ls", "-q").split()
    assert containerd.runtime_state(cid) is None, "runtime state left after --rm"
    left = [d for d in cgroup_dirs(f"/{containerd.namespace}/{cid}")
            if os.path.exists(d)]
    assert not left, f"cgroups left: {left}"


def test_run_exit_code(containerd):
    p = containerd.ctr("run", "--rm", *containerd.run_args(), IMAGE, "c3",
                       "sh", "-c", "exit 3")
    assert p.returncode == 3, f"ctr run must return the exit code:\n{p.stderr}"


def test_detached_exec_kill(containerd):
    cid = "c2"
    containerd.ctr_ok("run", "-d", *containerd.run_args(), IMAGE, cid, "sleep", "1000")
    state = containerd.runtime_state(cid)
    assert state and state["status"] == "running", \
        f"the runtime under test does not list {cid} as running: {state}"
    assert task_status(containerd, cid) == "RUNNING"

    out = containerd.ctr_ok("tasks", "exec", "--exec-id", "e1", cid,
                            "sh", "-c", "echo exec-ok; hostname")
    assert out.splitlines()[0] == "exec-ok", out

    containerd.ctr_ok("tasks", "kill", "--signal", "SIGKILL", cid)
    wait_for(lambda: task_status(containerd, cid) == "STOPPED",
             what=f"task {cid} to stop")
    containerd.ctr_ok("tasks", "delete", cid)
    containerd.ctr_ok("containers", "delete", cid)
    assert containerd.runtime_state(cid) is None, "runtime state left after delete"


def test_oci_layout_import_and_run(containerd, tmp_path):
    """tests/images/build-oci-layout.sh makes an image containerd accepts and runs."""
    tar = str(tmp_path / "oci.tar")
    subprocess.run([os.path.join(ocitest.IMAGES, "build-oci-layout.sh"), tar,
                    "example.test/oci/busybox:v1"], check=True)
    containerd.ctr_ok("images", "import", tar)
    name = "example.test/oci/busybox:v1"
    assert name in containerd.ctr_ok("images", "ls", "-q").split()
    out = containerd.ctr_ok("run", "--rm", *containerd.run_args(), name, "oci1",
                            "echo", "from-oci-layout")
    assert out == "from-oci-layout\n", out
