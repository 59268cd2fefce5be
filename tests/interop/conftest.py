# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the interop suite: real containerd 1.6 and dockerd 20.10
from Debian's packages, started by the tests on private sockets and
directories, driving the runtime under test ($BERTH_RUNTIME, as in
tests/integration).

Run with Debian's pytest:
    BERTH_RUNTIME=/usr/sbin/runc /usr/bin/python3 -m pytest tests/interop
"""

import json
import os
import signal
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import ocitest  # noqa: E402
from ocitest import (make_workdir, new_id, pids_mentioning, remove_workdir,  # noqa: E402
                     wait_for)

DOCKER_CLI = "/usr/local/bin/docker"
DAEMON_START_TIMEOUT = 60
CMD_TIMEOUT = 120

# Host paths that containerd, its shims and dockerd create whatever their
# flags say (hard-coded in those versions). Removed at session end if the
# suite created them and they are empty again.
HARDCODED_HOST_PATHS = [
    "/run/containerd/s",
    "/run/containerd/fifo",
    "/run/containerd",
    "/run/docker/plugins",
    "/run/docker",
    "/etc/docker/key.json",
]


def pytest_configure(config):
    for line in (
        "interop: drives real containerd/dockerd with the runtime under test",
        "berth_only: expected to fail with runc/crun; skipped for them",
        "slow: takes more than a few seconds",
    ):
        config.addinivalue_line("markers", line)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.fspath).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def runtime():
    path = ocitest.runtime_path()
    if not os.access(path, os.X_OK):
        if os.environ.get("BERTH_RUNTIME"):
            pytest.fail(f"BERTH_RUNTIME={path} is not an executable file")
        pytest.skip(f"{path} is not built; set BERTH_RUNTIME=/usr/sbin/runc")
    return path


@pytest.fixture(scope="session", autouse=True)
def _restore_host_paths():
    existed = {p for p in HARDCODED_HOST_PATHS if os.path.lexists(p)}
    yield
    for p in HARDCODED_HOST_PATHS:
        if p in existed or not os.path.lexists(p):
            continue
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                os.rmdir(p)  # only if empty
            else:
                os.unlink(p)
        except OSError:
            pass


@pytest.fixture(scope="session")
def image_tar(tmp_path_factory):
    """A docker-save archive of the busybox rootfs, tagged busybox:latest."""
    path = str(tmp_path_factory.mktemp("image") / "busybox.tar")
    subprocess.run([os.path.join(ocitest.IMAGES, "build-docker-save.sh"), path,
                    "busybox:latest"], check=True)
    return path


# --- processes ----------------------------------------------------------------

def run(argv, timeout=CMD_TIMEOUT, env=None, input=None):
    """Run a client command; return CompletedProcess with text output."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env=env, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"timed out after {timeout}s: {' '.join(argv)}\n"
                             f"stdout: {e.stdout}\nstderr: {e.stderr}") from None


def describe(p):
    return (f"$ {' '.join(p.args)}\nexit {p.returncode}\n"
            f"--- stdout\n{p.stdout}--- stderr\n{p.stderr}")


def tail(path, lines=40):
    return "\n".join(ocitest.read_file(path, "").splitlines()[-lines:])


def stop_process(proc, timeout=20):
    """SIGTERM, then SIGKILL after timeout, a daemon we started."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def runtime_state(runtime, root, cid):
    p = run([runtime, "--root", root, "state", cid])
    return json.loads(p.stdout) if p.returncode == 0 else None


def force_delete_all(runtime, root):
    """Last resort after the daemons are gone: delete what the runtime
    still lists under root, so no container process outlives the test."""
    if not os.path.isdir(root):
        return
    for cid in run([runtime, "--root", root, "list", "-q"]).stdout.split():
        run([runtime, "--root", root, "delete", "--force", cid])


def remove_empty_cgroup(rel):
    """rmdir /sys/fs/cgroup/*/<rel> (and empty children) left by runtimes,
    which remove a container's leaf cgroup but not its parents."""
    for d in ocitest.cgroup_dirs("/" + rel):
        if not os.path.isdir(d):
            continue
        for dirpath, dirnames, _ in os.walk(d, topdown=False):
            for name in dirnames:
                try:
                    os.rmdir(os.path.join(dirpath, name))
                except OSError:
                    pass
        try:
            os.rmdir(d)
        except OSError:
            pass


class Daemon:
    """A daemon process of ours, with its private directory."""

    def __init__(self, name, workdir, argv, env=None):
        self.name = name
        self.workdir = workdir
        self.log = os.path.join(workdir, f"{name}.log")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, env=env, start_new_session=True)

    def wait_ready(self, probe):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n"
                                     f"{tail(self.log)}")
            return probe()
        try:
            wait_for(ready, timeout=DAEMON_START_TIMEOUT, interval=0.1,
                     what=f"{self.name} to answer")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.name} log:\n{tail(self.log)}") from None

    def stop(self):
        stop_process(self.proc)
        # Shims and daemon-started children name our directory in argv.
        kill_pids(pids_mentioning(self.workdir))


# --- containerd ---------------------------------------------------------------

CONTAINERD_CONFIG = """\
version = 2
root = "{d}/root"
state = "{d}/state"
# CRI and the snapshotters this host cannot use are off. The v1 runtime
# plugin stays on: containerd 1.6's tasks service fails to load without it.
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "{d}/containerd.sock"

[ttrpc]
  address = "{d}/containerd.sock.ttrpc"

[debug]
  address = "{d}/debug.sock"
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"

[plugins."io.containerd.runtime.v2.task"]
  platforms = ["linux/amd64", "linux/arm64"]
"""


class Containerd:
    def __init__(self, workdir, runtime):
        self.dir = workdir
        self.runtime = runtime
        self.address = os.path.join(workdir, "containerd.sock")
        self.namespace = new_id("btns")
        self.runc_root = os.path.join(workdir, "runc")
        self.fifo_dir = os.path.join(workdir, "fifo")
        os.makedirs(self.fifo_dir)
        config = os.path.join(workdir, "config.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(CONTAINERD_CONFIG.format(d=workdir))
        self.daemon = Daemon("containerd", workdir,
                             ["containerd", "--config", config])
        self.daemon.wait_ready(lambda: self.ctr("version").returncode == 0)

    def ctr(self, *args, timeout=CMD_TIMEOUT):
        return run(["ctr", "--address", self.address, "--namespace", self.namespace,
                    *args], timeout=timeout)

    def ctr_ok(self, *args, **kw):
        p = self.ctr(*args, **kw)
        assert p.returncode == 0, f"ctr failed:\n{describe(p)}"
        return p.stdout

    def run_args(self):
        """ctr run flags that select the runtime under test, privately."""
        return ["--runc-binary", self.runtime, "--runc-root", self.runc_root,
                "--fifo-dir", self.fifo_dir]

    @property
    def runtime_root(self):
        """--root the shim passes to the runtime: <runc-root>/<namespace>."""
        return os.path.join(self.runc_root, self.namespace)

    def runtime_state(self, cid):
        """The state the runtime under test reports for cid under the shim's
        --root (proof that this runtime ran it), or None."""
        return runtime_state(self.runtime, self.runtime_root, cid)

    def cleanup_containers(self):
        for line in self.ctr("tasks", "ls", "-q").stdout.split():
            self.ctr("tasks", "kill", "-s", "SIGKILL", line)
            self.ctr("tasks", "delete", "--force", line)
        for line in self.ctr("containers", "ls", "-q").stdout.split():
            self.ctr("containers", "delete", line)

    def stop(self):
        try:
            self.cleanup_containers()
        finally:
            self.daemon.stop()
            force_delete_all(self.runtime, self.runtime_root)
            remove_empty_cgroup(self.namespace)


@pytest.fixture(scope="module")
def containerd(runtime, image_tar):
    workdir = make_workdir("btcd-")
    c = None
    try:
        c = Containerd(workdir, runtime)
        c.ctr_ok("images", "import", image_tar)
        yield c
    finally:
        if c:
            c.stop()
        remove_workdir(workdir)


# --- dockerd ------------------------------------------------------------------

class Dockerd:
    def __init__(self, workdir, runtime):
        self.dir = workdir
        self.runtime = runtime
        self.host = f"unix://{workdir}/docker.sock"
        self.data_root = os.path.join(workdir, "data")
        self.exec_root = os.path.join(workdir, "exec")
        self.had_docker_cgroup = any(os.path.isdir(d) for d in ocitest.cgroup_dirs("/docker"))
        config_file = os.path.join(workdir, "daemon.json")
        with open(config_file, "w", encoding="utf-8") as f:
            f.write("{}\n")
        # The CLI's own config (contexts, auth) stays private too.
        self.env = dict(os.environ, DOCKER_CONFIG=os.path.join(workdir, "cli"))
        self.env.pop("DOCKER_HOST", None)
        self.env.pop("DOCKER_CONTEXT", None)
        # No --containerd: dockerd starts its own containerd under exec-root.
        argv = ["dockerd",
                "--config-file", config_file,
                "--data-root", self.data_root,
                "--exec-root", self.exec_root,
                "-H", self.host,
                "--pidfile", os.path.join(workdir, "docker.pid"),
                "--bridge=none", "--iptables=false", "--ip6tables=false",
                # dockerd turns the host's net.ipv4.ip_forward on unless told not to
                "--ip-forward=false", "--ip-masq=false",
                "--add-runtime", f"berth={runtime}"]
        self.daemon = Daemon("dockerd", workdir, argv, env=self.env)
        self.daemon.wait_ready(lambda: self.docker("version").returncode == 0)

    def docker(self, *args, timeout=CMD_TIMEOUT, input=None):
        return run([DOCKER_CLI, "-H", self.host, *args], timeout=timeout, env=self.env,
                   input=input)

    def docker_ok(self, *args, **kw):
        p = self.docker(*args, **kw)
        assert p.returncode == 0, f"docker failed:\n{describe(p)}"
        return p.stdout

    def runtime_state(self, container_id):
        root = self.runtime_root_of(container_id)
        return runtime_state(self.runtime, root, container_id) if root else None

    def runtime_root_of(self, container_id):
        """The --root dockerd's shim gave the runtime for this container."""
        for d in sorted(os.listdir(self.exec_root)):
            if not d.startswith("runtime-"):
                continue
            root = os.path.join(self.exec_root, d, "moby")
            if os.path.isdir(os.path.join(root, container_id)):
                return root
        return None

    def stop(self):
        ids = self.docker("ps", "-aq").stdout.split()
        if ids:
            self.docker("rm", "-f", *ids)
        self.daemon.stop()
        if os.path.isdir(self.exec_root):
            for d in os.listdir(self.exec_root):
                if d.startswith("runtime-"):
                    force_delete_all(self.runtime,
                                     os.path.join(self.exec_root, d, "moby"))
        if not self.had_docker_cgroup:
            remove_empty_cgroup("docker")


@pytest.fixture(scope="module")
def dockerd(runtime, image_tar):
    if not os.access(DOCKER_CLI, os.X_OK):
        pytest.skip(f"{DOCKER_CLI} is missing")
    workdir = make_workdir("btdk-")
    d = None
    try:
        d = Dockerd(workdir, runtime)
        d.docker_ok("load", "-i", image_tar)
        yield d
    finally:
        if d:
            d.stop()
        remove_workdir(workdir)



@pytest.fixture(scope="session", autouse=True)
def _host_network_untouched():
    """Tests must never change the host's own network settings."""
    before = ocitest.host_network_settings()
    yield
    after = ocitest.host_network_settings()
    assert after == before, f"the suite changed the host's network settings: {before} -> {after}"


# --- berth-containerd-shim ------------------------------------------------------
# For tests/interop/test_shim_containerd.py: real containerd running our shim as
# runtime io.containerd.berth.v2. Added in its own block; nothing above changes.

SHIM_RUNTIME = "io.containerd.berth.v2"
# The shim gives the runtime --root <this>/<namespace> unless the task's options
# say otherwise (containerd-shim-runc-v2's default too); ctr passes no options
# for runtimes other than runc.v2.
SHIM_RUNTIME_ROOT = "/run/containerd/runc"


def shim_path():
    return os.path.abspath(os.environ.get("BERTH_SHIM") or
                           os.path.join(ocitest.REPO, "build", "shim",
                                        "berth-containerd-shim"))


class ShimContainerd(Containerd):
    """containerd whose PATH finds containerd-shim-berth-v2 (our shim) and, in
    the same directory, berth-runc (a link to the runtime under test)."""

    def __init__(self, workdir, runtime, shim):
        self.shim = shim
        self.bin_dir = os.path.join(workdir, "bin")
        os.makedirs(self.bin_dir)
        os.symlink(shim, os.path.join(self.bin_dir, "containerd-shim-berth-v2"))
        os.symlink(runtime, os.path.join(self.bin_dir, "berth-runc"))
        self.env = dict(os.environ, PATH=self.bin_dir + ":" + os.environ.get("PATH", ""))
        self.had_runtime_root = os.path.isdir(SHIM_RUNTIME_ROOT)
        saved = os.environ.get("PATH", "")
        os.environ["PATH"] = self.env["PATH"]  # the daemon Containerd starts inherits it
        try:
            super().__init__(workdir, runtime)
        finally:
            os.environ["PATH"] = saved

    def run_args(self):
        return ["--runtime", SHIM_RUNTIME, "--fifo-dir", self.fifo_dir]

    @property
    def runtime_root(self):
        return os.path.join(SHIM_RUNTIME_ROOT, self.namespace)

    def kill9_and_restart(self):
        """SIGKILL containerd (shims and containers stay), then start it again."""
        self.daemon.proc.kill()
        self.daemon.proc.wait()
        self.daemon = Daemon("containerd", self.dir,
                             ["containerd", "--config", os.path.join(self.dir, "config.toml")],
                             env=self.env)
        self.daemon.wait_ready(lambda: self.ctr("version").returncode == 0)

    def shim_binaries(self):
        """The binaries a long-lived shim may run: the serve-only daemon that `start`
        spawns when it is installed next to the shim, or the shim itself."""
        shim = os.path.realpath(self.shim)
        return {shim, os.path.join(os.path.dirname(shim), "berth-containerd-shim-daemon")}

    def shim_pids(self):
        """Pids of our long-lived shims serving this containerd."""
        found = []
        binaries = self.shim_binaries()
        for pid in pids_mentioning(f"-address {self.address}"):
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue
            if exe in binaries:
                found.append(pid)
        return found

    def stop(self):
        try:
            super().stop()
        finally:
            for d in ([self.runtime_root] +
                      ([] if self.had_runtime_root else [SHIM_RUNTIME_ROOT])):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


@pytest.fixture(scope="module")
def shim_containerd(runtime, image_tar):
    shim = shim_path()
    if not os.access(shim, os.X_OK):
        if os.environ.get("BERTH_SHIM"):
            pytest.fail(f"BERTH_SHIM={shim} is not an executable file")
        pytest.skip(f"{shim} is not built; set BERTH_SHIM")
    workdir = make_workdir("btsh-")
    c = None
    try:
        c = ShimContainerd(workdir, runtime, shim)
        c.ctr_ok("images", "import", image_tar)
        yield c
    finally:
        if c:
            c.stop()
        remove_workdir(workdir)
