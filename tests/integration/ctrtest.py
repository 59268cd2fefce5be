# SPDX-License-Identifier: Apache-2.0
"""Helpers for the tests of berth-ctr's images, content, snapshots and leases commands
(test_ctr_images.py, test_ctr_content_snapshots_leases.py, and
tests/interop/test_berth_ctr_interop.py).

  Daemon        berth-containerd, or the real containerd 1.6 (kind="containerd"), on a
                private root, state and socket; run(), ok() and fail() drive berth-ctr
                (or, with tool="ctr", the real ctr) against it.
  push_images   a busybox image (two gzip layers, Docker media types) and a two-platform
                index pushed to a registry.Registry with plain urllib.
  content_rows, final_block, ...  output normalisers: only ages, timestamps and the order
                of labels (a Go map's) are taken out.

Binaries come from $BERTH_BUILD (default build-release); $BERTH_CTR and $BERTH_CONTAINERD
override them. Nothing here talks to anything but 127.0.0.1.
"""

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import tarfile

import pytest

import ocitest
import registry
from ocitest import make_workdir, remove_workdir, wait_for

TIMEOUT = 60
REAL_CTR = "/usr/bin/ctr"
REAL_CONTAINERD = "/usr/bin/containerd"

CONTAINERD_CONFIG = """\
version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]
[grpc]
  address = "{d}/c.sock"
[ttrpc]
  address = "{d}/c.sock.ttrpc"
[debug]
  address = "{d}/debug.sock"
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"""


def build_dir():
    return os.path.abspath(os.environ.get("BERTH_BUILD") or
                           os.path.join(ocitest.REPO, "build-release"))


def binary(env, rel):
    path = os.path.abspath(os.environ.get(env) or os.path.join(build_dir(), rel))
    if not os.access(path, os.X_OK):
        if os.environ.get(env):
            pytest.fail(f"{env}={path} is not an executable file")
        pytest.skip(f"{path} is not built")
    return path


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Daemon:
    """A containerd API server of its own: berth-containerd or the real containerd."""

    def __init__(self, kind="berth"):
        self.kind = kind
        self.dir = make_workdir("btci-")
        self.address = os.path.join(self.dir, "c.sock")
        self.root = os.path.join(self.dir, "root")
        self.log = os.path.join(self.dir, "daemon.log")
        self.berth_ctr = binary("BERTH_CTR", "ctr/berth-ctr")
        if kind == "berth":
            argv = [binary("BERTH_CONTAINERD", "containerd/berth-containerd"), "--address",
                    self.address, "--root", self.root, "--state",
                    os.path.join(self.dir, "state"), "--log-level", "debug"]
        else:
            config = os.path.join(self.dir, "config.toml")
            with open(config, "w", encoding="utf-8") as f:
                f.write(CONTAINERD_CONFIG.format(d=self.dir))
            argv = [REAL_CONTAINERD, "--config", config]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        try:
            wait_for(self._ready, timeout=TIMEOUT, interval=0.05, what=kind)
        except BaseException:
            self.stop()
            raise

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.kind} exited {self.proc.returncode}:\n"
                                 f"{ocitest.read_file(self.log, '')[-3000:]}")
        return os.path.exists(self.address) and self.run("version").returncode == 0

    def run(self, *args, tool="berth", namespace="default", input=None, timeout=TIMEOUT,
            env=None, text=True):
        exe = self.berth_ctr if tool == "berth" else REAL_CTR
        return subprocess.run([exe, "--address", self.address, "--namespace", namespace, *args],
                              capture_output=True, text=text, input=input, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL, env=env)

    def ok(self, *args, **kw):
        p = self.run(*args, **kw)
        assert p.returncode == 0, f"{kw.get('tool', 'berth')} {' '.join(args)}: " \
                                  f"{p.returncode}\n{p.stdout}\n{p.stderr}"
        return p.stdout

    def fail(self, *args, **kw):
        p = self.run(*args, **kw)
        assert p.returncode == 1, f"{kw.get('tool', 'berth')} {' '.join(args)} gave " \
                                  f"{p.returncode}:\n{p.stdout}"
        return p.stderr

    def blobs(self):
        """The blob files of the content store (digest hex), whatever the namespaces."""
        d = os.path.join(self.root, "io.containerd.content.v1.content", "blobs", "sha256")
        return set(os.listdir(d)) if os.path.isdir(d) else set()

    def ingests(self):
        d = os.path.join(self.root, "io.containerd.content.v1.content", "ingest")
        return set(os.listdir(d)) if os.path.isdir(d) else set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        log = ocitest.read_file(self.log, "")
        remove_workdir(self.dir)
        return log


@pytest.fixture(scope="module")
def daemon():
    d = Daemon("berth")
    try:
        yield d
    finally:
        log = d.stop()
        assert "Sanitizer" not in log and "runtime error:" not in log, log[-4000:]


# --- images in a registry -----------------------------------------------------------------


def tar_of(entries):
    """A layer tar of (name, bytes) files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def busybox_layer(directory):
    """tests/images' busybox rootfs as an uncompressed layer tar (owned by root)."""
    root = os.path.join(directory, "rootfs")
    ocitest.build_rootfs(root)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def owner(info):
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            return info
        for name in sorted(os.listdir(root)):
            t.add(os.path.join(root, name), arcname=name, filter=owner)
    return buf.getvalue()


class Pushed:
    """What push_images made: {name: digest} of manifests, the index, and blobs."""

    def __init__(self):
        self.manifest = None  # the amd64 image's manifest digest
        self.index = None
        self.config = None
        self.layers = []      # compressed digests, bottom first
        self.diff_ids = []
        self.arm_manifest = None
        self.arm_config = None


def push_images(reg, base, repo="library/busybox"):
    """Pushes repo:latest (linux/amd64, a busybox layer and a small one, gzip, Docker media
    types) and repo:multi (an index of it and a linux/arm64 image sharing the small layer)."""
    p = Pushed()
    tars = [base, tar_of([("hello.txt", b"hello\n")])]
    blobs = [gzip.compress(t, 6, mtime=0) for t in tars]
    p.diff_ids = [digest_of(t) for t in tars]
    layers = [{"mediaType": registry.DOCKER_LAYER + ".gzip",
               "digest": reg.upload_blob(repo, b), "size": len(b)} for b in blobs]
    p.layers = [d["digest"] for d in layers]
    images = []
    for arch, idx in (("amd64", [0, 1]), ("arm64", [1])):
        config = json.dumps({"architecture": arch, "os": "linux",
                             "config": {"Cmd": ["/bin/sh"]},
                             "rootfs": {"type": "layers",
                                        "diff_ids": [p.diff_ids[i] for i in idx]}}).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": registry.DOCKER_MANIFEST,
            "config": {"mediaType": registry.DOCKER_CONFIG,
                       "digest": reg.upload_blob(repo, config), "size": len(config)},
            "layers": [layers[i] for i in idx]}).encode()
        digest = digest_of(manifest)
        reg.put_manifest(repo, "latest" if arch == "amd64" else digest, manifest,
                         registry.DOCKER_MANIFEST)
        images.append({"mediaType": registry.DOCKER_MANIFEST, "digest": digest,
                       "size": len(manifest), "platform": {"architecture": arch, "os": "linux"}})
        if arch == "amd64":
            p.manifest, p.config = digest, digest_of(config)
        else:
            p.arm_manifest, p.arm_config = digest, digest_of(config)
    index = json.dumps({"schemaVersion": 2, "mediaType": registry.DOCKER_LIST,
                        "manifests": images}).encode()
    reg.put_manifest(repo, "multi", index, registry.DOCKER_LIST)
    p.index = digest_of(index)
    return p


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    """A docker-registry on 127.0.0.1 with push_images' images; reg.pushed tells what."""
    workdir = str(tmp_path_factory.mktemp("registry"))
    with registry.Registry(workdir) as r:
        r.pushed = push_images(r, busybox_layer(workdir))
        yield r


@pytest.fixture(scope="session")
def archives(tmp_path_factory):
    """A docker-save tar (busybox:latest) and an OCI layout tar (example.test/oci/busybox:v1)
    of the busybox rootfs, from tests/images."""
    d = tmp_path_factory.mktemp("archives")
    out = {"docker": str(d / "docker.tar"), "oci": str(d / "oci.tar")}
    subprocess.run([os.path.join(ocitest.IMAGES, "build-docker-save.sh"), out["docker"],
                    "busybox:latest"], check=True, capture_output=True)
    subprocess.run([os.path.join(ocitest.IMAGES, "build-oci-layout.sh"), out["oci"],
                    "example.test/oci/busybox:v1"], check=True, capture_output=True)
    return out


# --- output -------------------------------------------------------------------------------

def table(text):
    """Rows of a space-padded table (header first), split on runs of spaces."""
    return [line.split() for line in text.splitlines()]


def content_rows(text):
    """`content ls` without its AGE column, labels sorted: {digest: (size, labels)}."""
    rows = {}
    for line in text.splitlines()[1:]:
        cells = [c for c in line.split("\t") if c]
        rows[cells[0]] = (cells[1], ",".join(sorted(cells[3].split(","))))
    return rows


def blocks(text):
    """The blocks of a pull's progress (each ends with its "elapsed:" line)."""
    out, cur = [], []
    for line in text.splitlines():
        if line.startswith(("unpacking ", "done: ", "image chain ID")):
            continue
        cur.append(line)
        if line.startswith("elapsed: "):
            out.append(cur)
            cur = []
    return out


def final_block(text):
    """The last progress block as (the name's line, the job lines sorted: ctr runs its jobs
    concurrently, the "elapsed: ..." line)."""
    block = blocks(text)[-1]
    return block[0], sorted(block[1:-1]), block[-1]
