# SPDX-License-Identifier: Apache-2.0
"""Image archives between berth's storage core (driven by berth-store,
$BERTH_STORE) and the real peers, both ways: containerd 1.6's `ctr images
import` of our export runs with `ctr run`, and our import of `ctr images
export` unpacks and runs; dockerd 20.10's `docker load` of our export runs
with `docker run`, and our import of `docker save` does. The peers are the
private containerd and dockerd of conftest.py, running the runtime under test.
"""

import os
import subprocess

import pytest

from ocitest import IMAGES, make_workdir, new_id, remove_workdir
from test_store_archive import Store, run_in_snapshot, store_tool_path, top_chain

pytestmark = pytest.mark.interop

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture(scope="module")
def store_tool():
    path = store_tool_path()
    if not os.access(path, os.X_OK):
        if os.environ.get("BERTH_STORE"):
            pytest.fail(f"BERTH_STORE={path} is not an executable file")
        pytest.skip(f"{path} is not built; set BERTH_STORE")
    return path


@pytest.fixture
def workdir():
    path = make_workdir("btsa-")
    yield path
    remove_workdir(path)


@pytest.fixture
def store(store_tool, workdir):
    return Store(store_tool, os.path.join(workdir, "store"))


def docker_save_of(workdir, ref):
    """A docker-save tar of the busybox rootfs tagged ref (tests/images)."""
    path = os.path.join(workdir, f"{new_id('ds')}.tar")
    subprocess.run([os.path.join(IMAGES, "build-docker-save.sh"), path, ref], check=True)
    return path


def ctr_image_digest(containerd, name):
    for line in containerd.ctr_ok("images", "ls").splitlines()[1:]:
        fields = line.split()
        if fields[0] == name:
            return fields[2]
    raise AssertionError(f"ctr images ls has no {name}")


def test_ctr_imports_our_export_and_runs_it(containerd, store, workdir):
    name = "docker.io/berth/exported:1"
    store.ok("import", "--no-unpack", docker_save_of(workdir, "berth/exported:1"))
    _, digest = store.images()[name]
    exported = os.path.join(workdir, "export.tar")
    store.ok("export", exported, name)
    containerd.ctr_ok("images", "import", exported)
    try:
        assert ctr_image_digest(containerd, name) == digest
        cid = new_id("sa")
        out = containerd.ctr_ok("run", "--rm", *containerd.run_args(), name, cid, "echo", "ok")
        assert out == "ok\n", out
    finally:
        containerd.ctr("images", "rm", name)


def test_ctr_import_of_docker_save_gives_our_manifest(containerd, store, workdir):
    """Our import writes the manifest of a docker save byte for byte as ctr does."""
    name = "docker.io/berth/same:1"
    tar = docker_save_of(workdir, "berth/same:1")
    store.ok("import", "--no-unpack", tar)
    containerd.ctr_ok("images", "import", "--no-unpack", tar)
    try:
        assert store.images()[name] == (MANIFEST_V2, ctr_image_digest(containerd, name))
    finally:
        containerd.ctr("images", "rm", name)


def test_we_import_ctr_export_and_run_it(containerd, store, workdir):
    name = "docker.io/library/busybox:latest"  # imported by the fixture
    exported = os.path.join(workdir, "ctr-export.tar")
    containerd.ctr_ok("images", "export", exported, name)
    assert store.ok("import", exported).split() == [name]
    assert store.images()[name][1] == ctr_image_digest(containerd, name)
    chain = top_chain(store, name, "overlayfs")
    out = run_in_snapshot(store, workdir, chain, "overlayfs", "/bin/busybox", "echo", "ok")
    assert out == "ok\n"


def test_docker_loads_our_export_and_runs_it(dockerd, store, workdir):
    store.ok("import", "--no-unpack", docker_save_of(workdir, "berth/loaded:1"))
    exported = os.path.join(workdir, "export.tar")
    store.ok("export", exported, "docker.io/berth/loaded:1")
    out = dockerd.docker_ok("load", "-i", exported)
    assert "Loaded image: berth/loaded:1" in out, out
    try:
        out = dockerd.docker_ok("run", "--runtime", "berth", "--rm", "berth/loaded:1",
                                "echo", "ok")
        assert out == "ok\n", out
    finally:
        dockerd.docker("rmi", "berth/loaded:1")


def test_we_import_docker_save_and_run_it(dockerd, store, workdir):
    saved = os.path.join(workdir, "docker-save.tar")
    dockerd.docker_ok("save", "-o", saved, "busybox:latest")  # loaded by the fixture
    name = "docker.io/library/busybox:latest"
    assert store.ok("import", saved).split() == [name]
    media_type, digest = store.images()[name]
    assert media_type == MANIFEST_V2
    # the image id docker reports is the config digest our manifest names
    image_id = dockerd.docker_ok("images", "--no-trunc", "-q", "busybox:latest").strip()
    content = {row[0]: row[2] for row in store.table("content")}
    assert f"containerd.io/gc.ref.content.config={image_id}" in content[digest].split(",")
    chain = top_chain(store, name, "overlayfs")
    out = run_in_snapshot(store, workdir, chain, "overlayfs", "/bin/busybox", "echo", "ok")
    assert out == "ok\n"
