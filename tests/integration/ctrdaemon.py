# SPDX-License-Identifier: Apache-2.0
"""berth-containerd on private directories, driven by berth-ctr, for the tests of berth-ctr's
containers, tasks, run and events commands (test_ctr_tasks.py, test_ctr_run.py).

The busybox test image (tests/images/build-docker-save.sh) is imported into the daemon's
root with the store tool ($BERTH_STORE) before the daemon starts; tasks run through
berth-containerd-shim ($BERTH_SHIM) as runtime io.containerd.runc.v2 (the daemon finds it on
its PATH as containerd-shim-runc-v2) with berth-runc ($BERTH_RUNTIME). Binaries come from
$BERTH_BUILD (default build-release).
"""

import os
import signal
import subprocess

import pytest

import ocitest
from ctrtest import binary
from ocitest import make_workdir, new_id, pids_mentioning, remove_workdir, wait_for

IMAGE = "docker.io/library/busybox:latest"
TIMEOUT = 60
RUNC_ROOT = "/run/containerd/runc"
SHIM_SOCKETS = "/run/containerd/s"


class BerthDaemon:
    """berth-containerd with its own root, state and socket, and one namespace for the tests."""

    def __init__(self, image_tar):
        self.dir = make_workdir("btct-")
        self.address = os.path.join(self.dir, "c.sock")
        self.root = os.path.join(self.dir, "root")
        self.state = os.path.join(self.dir, "state")
        self.fifo_dir = os.path.join(self.dir, "fifo")
        self.log = os.path.join(self.dir, "daemon.log")
        self.ns = new_id("ctr")
        self.proc = None
        try:
            self._start(image_tar)
        except BaseException:
            self.stop()
            raise

    def _start(self, image_tar):
        self.ctr_path = binary("BERTH_CTR", "ctr/berth-ctr")
        bin_dir = os.path.join(self.dir, "bin")
        os.makedirs(bin_dir)
        os.makedirs(self.fifo_dir)
        os.symlink(binary("BERTH_SHIM", "shim/berth-containerd-shim"),
                   os.path.join(bin_dir, "containerd-shim-runc-v2"))
        os.symlink(binary("BERTH_RUNTIME", "runc/berth-runc"), os.path.join(bin_dir, "berth-runc"))
        store = binary("BERTH_STORE", "tests/store-tool/berth-store")
        subprocess.run([store, "--root", self.root, "--namespace", self.ns, "import", image_tar],
                       check=True, capture_output=True, timeout=TIMEOUT)
        env = dict(os.environ, PATH=bin_dir + ":" + os.environ.get("PATH", ""))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [binary("BERTH_CONTAINERD", "containerd/berth-containerd"), "--address",
                 self.address, "--root", self.root, "--state", self.state, "--log-level",
                 "debug"], stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                start_new_session=True)
        wait_for(self._ready, timeout=TIMEOUT, interval=0.05, what="berth-containerd")

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"berth-containerd exited {self.proc.returncode}:\n"
                                 f"{ocitest.read_file(self.log, '')[-3000:]}")
        return self.ctr("version").returncode == 0

    def argv(self, *args, namespace=None):
        return [self.ctr_path, "--address", self.address, "--namespace", namespace or self.ns,
                *args]

    def ctr(self, *args, input=None, timeout=TIMEOUT, namespace=None):
        return subprocess.run(self.argv(*args, namespace=namespace), capture_output=True,
                              text=True, input=input, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def ok(self, *args, **kw):
        p = self.ctr(*args, **kw)
        assert p.returncode == 0, f"berth-ctr {' '.join(args)}: {p.returncode}\n{p.stderr}"
        return p.stdout

    def fail(self, *args, **kw):
        p = self.ctr(*args, **kw)
        assert p.returncode == 1, f"berth-ctr {' '.join(args)}: {p.returncode}\n{p.stdout}"
        return p.stderr

    def tasks(self):
        """{id: (pid, status)} from `tasks ls`."""
        rows = [line.split() for line in self.ok("tasks", "ls").splitlines()[1:]]
        return {r[0]: (int(r[1]), r[2]) for r in rows}

    def containers(self):
        return self.ok("containers", "ls", "-q").split()

    def snapshots(self):
        """The active snapshots (containers' rootfs) of the namespace, from the store tool."""
        store = binary("BERTH_STORE", "tests/store-tool/berth-store")
        p = subprocess.run([store, "--root", self.root, "--namespace", self.ns, "snapshots"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        return [line.split("\t")[0] for line in p.stdout.splitlines()[1:]
                if line.split("\t")[-1] == "Active"]

    def fifos(self):
        return sorted(os.listdir(self.fifo_dir))

    def cleanup(self):
        """Kills and removes what a test left (and says what that was)."""
        left = {"tasks": sorted(self.tasks()), "containers": self.containers()}
        for tid in left["tasks"]:
            self.ctr("tasks", "delete", "--force", tid)
        for cid in self.containers():
            self.ctr("containers", "delete", cid)
        for d in self.fifos():
            subprocess.run(["rm", "-rf", os.path.join(self.fifo_dir, d)], check=False)
        return left

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in pids_mentioning(self.address):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.rmdir(os.path.join(RUNC_ROOT, self.ns))  # the shim's runtime root; runc leaves it
        except OSError:
            pass
        for d in ocitest.cgroup_dirs("/" + self.ns):  # the containers' parent cgroups
            for dirpath, dirnames, _ in os.walk(d, topdown=False) if os.path.isdir(d) else ():
                for name in dirnames:
                    try:
                        os.rmdir(os.path.join(dirpath, name))
                    except OSError:
                        pass
            try:
                os.rmdir(d)
            except OSError:
                pass
        log = ocitest.read_file(self.log, "")
        remove_workdir(self.dir)
        return log


@pytest.fixture(scope="session")
def ctr_image_tar(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("ctr-image") / "busybox.tar")
    subprocess.run([os.path.join(ocitest.IMAGES, "build-docker-save.sh"), path, "busybox:latest"],
                   check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def daemon(ctr_image_tar):
    d = BerthDaemon(ctr_image_tar)
    try:
        yield d
    finally:
        log = d.stop()
        assert "Sanitizer" not in log and "runtime error:" not in log, log[-4000:]


@pytest.fixture
def berth(daemon):
    """The module's daemon; the test must leave no task, container, snapshot or FIFO."""
    yield daemon
    left = daemon.cleanup()
    snapshots = daemon.snapshots()
    assert left == {"tasks": [], "containers": []}, left
    assert snapshots == [], snapshots
