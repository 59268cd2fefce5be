# SPDX-License-Identifier: Apache-2.0
"""Import and export of image archives through the storage core, driven by
berth-store ($BERTH_STORE, default build-release/tests/store-tool/berth-store)
on private store directories: the docker-save and OCI layout tars of
tests/images are imported and unpacked, the snapshot is mounted in a private
mount namespace and busybox runs from it under chroot; exports import again
to the same digests; garbage collection after rm frees blobs and snapshot
directories; bad archives are refused with a message and leave no image.

Run as root with Debian's pytest:
    /usr/bin/python3 -m pytest tests/integration/test_store_archive.py
"""

import os
import subprocess
import tarfile

import pytest

import ocitest

DEFAULT_STORE_TOOL = os.path.join(ocitest.REPO, "build-release", "tests", "store-tool",
                                  "berth-store")
TIMEOUT = 120
SNAPSHOTTERS = ("overlayfs", "native")


def store_tool_path():
    return os.path.abspath(os.environ.get("BERTH_STORE") or DEFAULT_STORE_TOOL)


class Store:
    """A berth-store root directory and namespace."""

    def __init__(self, tool, root, namespace="default"):
        self.tool = tool
        self.root = root
        self.namespace = namespace

    def run(self, *args, input=None):
        return subprocess.run([self.tool, "--root", self.root, "--namespace", self.namespace,
                               *args], capture_output=True, input=input, timeout=TIMEOUT,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def ok(self, *args, input=None):
        p = self.run(*args, input=input)
        assert p.returncode == 0, (f"berth-store {' '.join(args)} failed ({p.returncode}):\n"
                                   f"{p.stderr.decode(errors='replace')}")
        return p.stdout.decode()

    def table(self, *args):
        """Rows (lists of columns) of a listing command, header dropped."""
        return [line.split("\t") for line in self.ok(*args).splitlines()[1:]]

    def images(self):
        """{name: (media type, digest)}"""
        return {row[0]: (row[1], row[2]) for row in self.table("images")}

    def blobs(self):
        return {row[0] for row in self.table("ls-blobs")}

    def snapshot_dirs(self, snapshotter):
        d = os.path.join(self.root, f"io.containerd.snapshotter.v1.{snapshotter}", "snapshots")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []


@pytest.fixture(scope="session")
def store_tool():
    path = store_tool_path()
    if not os.access(path, os.X_OK):
        if os.environ.get("BERTH_STORE"):
            pytest.fail(f"BERTH_STORE={path} is not an executable file")
        pytest.skip(f"{path} is not built; set BERTH_STORE")
    return path


@pytest.fixture(scope="session")
def archives(tmp_path_factory):
    """{"docker": docker-save tar, "oci": OCI layout tar} of busybox:latest."""
    d = tmp_path_factory.mktemp("archives")
    out = {"docker": str(d / "docker-save.tar"), "oci": str(d / "oci-layout.tar")}
    subprocess.run([os.path.join(ocitest.IMAGES, "build-docker-save.sh"), out["docker"]],
                   check=True)
    subprocess.run([os.path.join(ocitest.IMAGES, "build-oci-layout.sh"), out["oci"]],
                   check=True)
    return out


@pytest.fixture
def store(store_tool, workdir):
    return Store(store_tool, os.path.join(workdir, "store"))


def top_chain(store, name, snapshotter):
    """The top chain id of an imported image: unpacking again is a no-op that says it."""
    return store.ok("unpack", name, "--snapshotter", snapshotter).strip()


def run_in_snapshot(store, workdir, parent, snapshotter, *argv):
    """Prepare an active snapshot on parent, mount it in a private mount
    namespace and run argv chrooted into it; returns the output."""
    key = f"run-{ocitest.new_id()}"
    target = os.path.join(workdir, key)
    os.makedirs(target)
    store.ok("prepare", key, parent, "--snapshotter", snapshotter)
    mount = store.ok("mounts", key, target, "--snapshotter", snapshotter).strip()
    assert mount.startswith("mount -t "), mount
    script = f"{mount} && exec chroot {target} {' '.join(argv)}"
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, f"{script}\nexit {p.returncode}\n{p.stderr}"
    return p.stdout


@pytest.mark.parametrize("snapshotter", SNAPSHOTTERS)
@pytest.mark.parametrize("kind", ["docker", "oci"])
def test_import_unpack_and_run(store, workdir, archives, kind, snapshotter):
    names = store.ok("import", "--snapshotter", snapshotter, archives[kind]).split()
    assert names == ["docker.io/library/busybox:latest"]
    media_type, digest = store.images()[names[0]]
    assert media_type == ("application/vnd.docker.distribution.manifest.v2+json"
                          if kind == "docker" else "application/vnd.oci.image.manifest.v1+json")
    chain = top_chain(store, names[0], snapshotter)
    snaps = store.table("snapshots", "--snapshotter", snapshotter)
    assert [chain, "", "Committed"] in snaps, snaps
    out = run_in_snapshot(store, workdir, chain, snapshotter, "/bin/busybox", "echo", "ok")
    assert out == "ok\n"
    # the layer's files are there, owned as in the tar
    out = run_in_snapshot(store, workdir, chain, snapshotter, "/bin/busybox", "stat", "-c",
                          "%u:%g:%a", "/tmp", "/bin/busybox")
    assert out.split() == ["0:0:1777", "0:0:755"], out


def test_docker_save_manifest_is_what_ctr_writes(store, archives):
    """Same bytes as containerd 1.6's importer: compact JSON, its field order,
    labels for the garbage collector on the manifest."""
    store.ok("import", "--no-unpack", archives["docker"])
    _, digest = store.images()["docker.io/library/busybox:latest"]
    content = {row[0]: row for row in store.table("content")}
    labels = dict(kv.split("=", 1) for kv in content[digest][2].split(","))
    assert set(labels) == {"containerd.io/gc.ref.content.config",
                           "containerd.io/gc.ref.content.l.0"}
    assert set(labels.values()) | {digest} == set(content)


def read_members(path):
    with tarfile.open(path) as t:
        return {m.name: (m.mode, m.mtime, t.extractfile(m).read() if m.isfile() else None)
                for m in t.getmembers()}


def test_export_then_import_again(store, store_tool, workdir, archives):
    store.ok("import", archives["docker"])
    exported = os.path.join(workdir, "export.tar")
    store.ok("export", exported, "docker.io/library/busybox:latest")
    members = read_members(exported)
    assert {"index.json", "manifest.json", "oci-layout", "repositories", "blobs",
            "blobs/sha256"} <= set(members), sorted(members)
    assert all(mtime == 0 for _, mtime, _ in members.values())
    before = store.images()

    other = Store(store_tool, os.path.join(workdir, "other"))
    assert other.ok("import", exported).split() == ["docker.io/library/busybox:latest"]
    assert other.images() == before
    assert len(other.blobs()) == 3 and other.blobs() <= store.blobs()
    again = os.path.join(workdir, "again.tar")
    other.ok("export", again, "docker.io/library/busybox:latest")
    with open(exported, "rb") as a, open(again, "rb") as b:
        assert a.read() == b.read(), "the same image must export to the same bytes"

    # --oci leaves the docker files out; stdout works as the file
    p = store.run("export", "--oci", "-", "docker.io/library/busybox:latest")
    assert p.returncode == 0, p.stderr
    oci = os.path.join(workdir, "oci.tar")
    with open(oci, "wb") as f:
        f.write(p.stdout)
    assert "manifest.json" not in read_members(oci)
    # and stdin works as the source, a stream read once
    third = Store(store_tool, os.path.join(workdir, "third"))
    assert third.ok("import", "-", input=p.stdout).split() == \
        ["docker.io/library/busybox:latest"]
    assert third.images() == before


def test_gc_after_rm_frees_blobs_and_snapshots(store, archives):
    store.ok("import", archives["docker"])
    store.ok("unpack", "docker.io/library/busybox:latest", "--snapshotter", "native")
    assert store.snapshot_dirs("overlayfs") and store.snapshot_dirs("native")
    # only what the image does not reference goes: the docker-save's VERSION and json files
    out = store.ok("gc")
    assert "snapshots=0 blobs=2 " in out, out
    assert len(store.blobs()) == 3
    store.ok("rm", "docker.io/library/busybox:latest")
    out = store.ok("gc")
    assert "content_records=3 snapshots=2 blobs=3 " in out, out
    assert store.blobs() == set()
    assert store.table("snapshots") == []
    assert store.table("snapshots", "--snapshotter", "native") == []
    assert store.snapshot_dirs("overlayfs") == [] and store.snapshot_dirs("native") == []
    assert store.table("content") == []


def test_check_counts(store, archives):
    store.ok("import", "--no-unpack", archives["docker"])
    out = store.ok("check").split()
    assert "blobs_checked=3" in out and "blobs_damaged=0" in out, out


def assert_refused(store, p, *needles):
    err = p.stderr.decode()
    assert p.returncode == 1, f"exit {p.returncode}: {err}"
    assert err.startswith("berth-store: import: "), err
    for n in needles:
        assert n in err, err
    assert store.images() == {}


def test_bad_archives_are_refused(store, workdir, archives):
    with open(archives["docker"], "rb") as f:
        data = f.read()
    truncated = os.path.join(workdir, "truncated.tar")
    with open(truncated, "wb") as f:
        f.write(data[:len(data) // 2])
    assert_refused(store, store.run("import", truncated), "Truncated tar archive")
    assert_refused(store, store.run("import", "-", input=b"not a tar at all"),
                   "archive: ")
    assert_refused(store, store.run("import", os.path.join(workdir, "missing.tar")),
                   "No such file")

    # a layer named in manifest.json that is not in the archive
    broken = os.path.join(workdir, "broken.tar")
    with tarfile.open(archives["docker"]) as src, tarfile.open(broken, "w") as dst:
        for m in src.getmembers():
            if not m.name.endswith("/layer.tar"):
                dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    assert_refused(store, store.run("import", broken), "manifest.json: [0]: Layers[0]",
                   "not in the archive")
    # nothing holds what the failed imports wrote
    store.ok("gc")
    assert store.blobs() == set()
