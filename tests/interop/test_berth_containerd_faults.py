# SPDX-License-Identifier: Apache-2.0
"""berth-containerd killed with SIGKILL in the middle of the real ctr's work, then started
again on the same root, state and socket: during a pull (a layer download held by a proxy),
and during `ctr run` at several moments of the task's creation. Afterwards the store is
consistent (every blob listed reads back with its digest), the pull can be redone and the
image runs, a container started before the crash still runs with the same pid, and what the
interrupted run left can be cleaned up with ctr's own verbs, leaving no shim, bundle or mount.
"""

import hashlib
import io
import json
import os
import signal
import subprocess
import tarfile
import time

import pytest

from conftest import make_workdir, pids_mentioning, remove_workdir, wait_for
from registry import Fault, Proxy, Registry, digest_of
from test_berth_containerd_tasks import (BERTH_SHIM, IMAGE, RUNC_SHIM, Tasks,
                                         leftover_shim_sockets, shim_sockets)

pytestmark = pytest.mark.interop

BIG = 24 << 20  # the held layer: big enough that the first layers are done before it


@pytest.fixture
def tasks(image_tar):
    workdir = make_workdir("btfault-")
    sockets = shim_sockets()
    d = None
    try:
        d = Tasks(workdir)
        d.ok("images", "import", image_tar)
        yield d
        d.cleanup()
        bundles = os.path.join(d.state, "io.containerd.runtime.v2.task", d.ns)
        assert not os.path.isdir(bundles) or not os.listdir(bundles), os.listdir(bundles)
        assert not leftover_shim_sockets(d, sockets), leftover_shim_sockets(d, sockets)
    finally:
        if d:
            d.stop()
        remove_workdir(workdir)


@pytest.fixture
def registry():
    workdir = make_workdir("btfreg-")
    r = Registry(workdir)
    try:
        r.start()
        yield r
    finally:
        r.stop()
        remove_workdir(workdir)


def busybox_layers(image_tar):
    """The layers (uncompressed tars) and config of the docker-save busybox archive."""
    with tarfile.open(image_tar) as t:
        manifest = json.load(t.extractfile("manifest.json"))[0]
        layers = [t.extractfile(name).read() for name in manifest["Layers"]]
        config = json.loads(t.extractfile(manifest["Config"]).read())
    return layers, config


def big_layer():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("big.bin")
        info.size = BIG
        info.mode = 0o644
        t.addfile(info, io.BytesIO(os.urandom(BIG)))
    return buf.getvalue()


def assert_store_consistent(tasks):
    """Every blob `ctr content ls` lists reads back whole with its digest."""
    rows = [line.split() for line in tasks.ok("content", "ls").splitlines()[1:]]
    for row in rows:
        digest = row[0]
        p = subprocess.run(["ctr", "--address", tasks.address, "--namespace", tasks.ns,
                            "content", "get", digest], capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert "sha256:" + hashlib.sha256(p.stdout).hexdigest() == digest, digest
    return [r[0] for r in rows]


def test_kill_during_pull_then_pull_again(tasks, registry, image_tar):
    layers, config = busybox_layers(image_tar)
    big = big_layer()
    config["rootfs"]["diff_ids"] = [digest_of(l) for l in layers] + [digest_of(big)]
    img = registry.push_image("test/fault", "v1", layers + [big], config=config)
    big_digest = img.layers[-1][0]

    proxy = Proxy(registry.port,
                  lambda e: Fault(delay=60) if big_digest in e["path"] else None).start()
    try:
        ref = f"{proxy.host}/test/fault:v1"
        pull = subprocess.Popen(["ctr", "--address", tasks.address, "--namespace", tasks.ns,
                                 "images", "pull", "--plain-http", ref],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: proxy.requests("GET", big_digest), timeout=60, interval=0.05,
                     what="the pull to reach the held layer")
            # the other blobs were being written meanwhile; give them a moment to land
            time.sleep(0.5)
            # the daemon dies; so does the client (it would wait for the held layer)
            tasks.crash_and_restart(lambda: pull.kill())
            assert pull.wait(timeout=30) != 0
        finally:
            if pull.poll() is None:
                pull.kill()
                pull.wait()
    finally:
        proxy.stop()

    assert ref not in tasks.ok("images", "ls", "-q").split()
    before = assert_store_consistent(tasks)
    assert big_digest not in before

    # the same image again, straight from the registry: done, and it runs
    ref = f"{registry.host}/test/fault:v1"
    tasks.ok("images", "pull", "--plain-http", ref, timeout=120)
    after = assert_store_consistent(tasks)
    assert big_digest in after and img.digest in after
    out = tasks.ok("run", "--rm", "--runtime", BERTH_SHIM, ref, "f1", "sh", "-c",
                   "wc -c < /big.bin")
    assert out.strip() == str(BIG), out


@pytest.mark.parametrize("shim", [RUNC_SHIM, BERTH_SHIM])
@pytest.mark.parametrize("moment", ["bundle", "shim", "running"])
def test_kill_during_run(tasks, shim, moment):
    """SIGKILL while `ctr run -d` creates c2 (when its bundle appears, when its shim process
    appears, or once it runs), with c1 running since before: after the restart c1 runs on
    with the same pid; c2 either runs or is gone or is a container without a task, and ctr's
    own verbs clean it up; then c2 can be run again."""
    tasks.ok("run", "-d", "--runtime", shim, IMAGE, "c1", "sleep", "1000")
    pid1 = tasks.tasks()["c1"][0]
    bundle = os.path.join(tasks.state, "io.containerd.runtime.v2.task", tasks.ns, "c2")

    run = subprocess.Popen(["ctr", "--address", tasks.address, "--namespace", tasks.ns, "run",
                            "-d", "--runtime", shim, IMAGE, "c2", "sleep", "1000"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if moment == "bundle":
            wait_for(lambda: os.path.isdir(bundle) or run.poll() is not None, timeout=30,
                     interval=0.001, what="c2's bundle")
        elif moment == "shim":
            wait_for(lambda: any(b"-id\0c2\0" in open(f"/proc/{p}/cmdline", "rb").read()
                                 for p in pids_mentioning("c2"))
                     or run.poll() is not None, timeout=30, interval=0.001, what="c2's shim")
        else:
            assert run.wait(timeout=30) == 0
        tasks.crash_and_restart()
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()

    state = tasks.tasks()
    assert state["c1"] == (pid1, "RUNNING"), state
    if moment == "running":
        assert state.get("c2", (0, ""))[1] == "RUNNING", state
    if "c2" in state:
        tasks.ok("task", "kill", "-s", "SIGKILL", "c2")
        wait_for(lambda: tasks.tasks()["c2"][1] == "STOPPED", timeout=20, interval=0.1,
                 what="c2 to stop")
        tasks.ok("task", "rm", "c2")
    if "c2" in tasks.ok("containers", "ls", "-q").split():
        tasks.ok("containers", "rm", "c2")
    assert "c2" not in tasks.tasks()
    assert not os.path.isdir(bundle)
    assert not [p for p in pids_mentioning("c2") if b"-id\0c2\0" in
                open(f"/proc/{p}/cmdline", "rb").read()]

    # c2 again, from scratch, and c1 still answers
    out = tasks.ok("run", "--rm", "--runtime", shim, IMAGE, "c2", "echo", "again")
    assert out == "again\n", out
    p = tasks.ctr("task", "exec", "--exec-id", "e1", "c1", "echo", "alive")
    assert (p.returncode, p.stdout) == (0, "alive\n"), (p.returncode, p.stdout, p.stderr)
    os.kill(pid1, 0)  # still there
