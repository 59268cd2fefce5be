# SPDX-License-Identifier: Apache-2.0
"""Pull and push (containerd/image.h) against Debian's docker-registry, through berth-store.

Images are made here from tests/images' busybox rootfs and pushed with plain urllib
(registry.py); the fault-injecting proxy of registry.py cuts, corrupts or fails exchanges.
Every failure must leave no image recorded and nothing the garbage collector keeps.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_store_pull.py
"""

import gzip
import io
import json
import os
import signal
import subprocess
import tarfile
import time

import pytest

import ocitest
import registry
from registry import Fault, Proxy, Registry, TokenServer, digest_of, write_docker_config
from test_store_archive import Store, archives, run_in_snapshot, store_tool  # noqa: F401

OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


# --- images ----------------------------------------------------------------------------


def tar_bytes(entries):
    """entries: [(name, bytes, mode) or (name, None, mode) for a directory]."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="session")
def busybox_layer(tmp_path_factory):
    """tests/images' busybox rootfs as an uncompressed layer tar (owned by root)."""
    root = str(tmp_path_factory.mktemp("rootfs") / "rootfs")
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


def push_gzip_image(reg, repo, tag, tars, platform=None, diff_ids=None, oci=True):
    """Pushes layers (uncompressed tars, sent gzip'ed) with a config naming their diff
    ids (or diff_ids); returns registry.Image."""
    platform = platform or {"architecture": "amd64", "os": "linux"}
    layers = [gzip.compress(t, 6, mtime=0) for t in tars]
    config = json.dumps({**platform, "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers",
                                    "diff_ids": diff_ids or [digest_of(t) for t in tars]}})
    config = config.encode()
    descs = [{"mediaType": OCI_LAYER_GZIP if oci else DOCKER_LAYER_GZIP,
              "digest": reg.upload_blob(repo, data), "size": len(data)} for data in layers]
    manifest = {"schemaVersion": 2,
                "mediaType": registry.OCI_MANIFEST if oci else registry.DOCKER_MANIFEST,
                "config": {"mediaType": registry.OCI_CONFIG if oci else registry.DOCKER_CONFIG,
                           "digest": reg.upload_blob(repo, config), "size": len(config)},
                "layers": descs}
    body = json.dumps(manifest).encode()
    digest, body = reg.put_manifest(repo, tag or digest_of(body), body, manifest["mediaType"])
    return registry.Image(repo, tag, manifest["mediaType"], digest, body, digest_of(config),
                          config, [(d["digest"], data) for d, data in zip(descs, layers)])


def second_layer():
    """Deletes etc/motd-berth (made by the first extra layer) and adds hello.txt."""
    return tar_bytes([("etc/", None, 0o755), ("etc/.wh.motd-berth", b"", 0o644),
                      ("hello.txt", b"hello from layer 3\n", 0o644)])


def first_extra_layer():
    return tar_bytes([("etc/", None, 0o755), ("etc/motd-berth", b"to be deleted\n", 0o644)])


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("reg"))


@pytest.fixture(scope="module")
def reg(rdir):
    if not os.access(registry.REGISTRY_BIN, os.X_OK):
        pytest.fail("docker-registry is not installed (scripts/deps.sh installs it)")
    with Registry(rdir) as r:
        yield r


@pytest.fixture
def proxy(reg):
    with Proxy(reg.port) as p:
        yield p


@pytest.fixture
def home(tmp_path):
    """An empty HOME and DOCKER_CONFIG, never the invoking user's."""
    os.environ["DOCKER_CONFIG"] = str(tmp_path / "no-docker-config")
    yield tmp_path
    del os.environ["DOCKER_CONFIG"]


@pytest.fixture
def store(store_tool, workdir, home):  # noqa: F811
    return Store(store_tool, os.path.join(workdir, "store"))


@pytest.fixture
def image(reg, busybox_layer):
    repo = f"pull/{ocitest.new_id('img')}"
    return push_gzip_image(reg, repo, "v1", [busybox_layer, first_extra_layer(), second_layer()])


def fail(store, *args):
    p = store.run(*args)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    return p.stderr.decode(errors="replace")


def committed(store, snapshotter="overlayfs"):
    return [row[0] for row in store.table("snapshots", "--snapshotter", snapshotter)
            if row[2] == "Committed"]


def assert_left_nothing(store):
    """After a failed pull: no image; once collected, no blob and no snapshot."""
    assert store.images() == {}
    store.ok("gc")
    assert store.blobs() == set()
    for snapshotter in ("overlayfs", "native"):
        assert store.snapshot_dirs(snapshotter) == []


def chain_ids(img):
    diff_ids = json.loads(img.config)["rootfs"]["diff_ids"]
    chains = [diff_ids[0]]
    for d in diff_ids[1:]:
        chains.append(digest_of(f"{chains[-1]} {d}".encode()))
    return chains


# --- pulls -----------------------------------------------------------------------------


@pytest.mark.parametrize("snapshotter", ["overlayfs", "native"])
def test_pull_unpack_and_run(store, workdir, reg, image, snapshotter):
    ref = f"{reg.host}/{image.repo}:v1"
    out = store.ok("pull", "--snapshotter", snapshotter, ref)
    assert out.split() == [ref, image.digest]
    assert store.images() == {ref: (registry.OCI_MANIFEST, image.digest)}
    chains = chain_ids(image)
    assert sorted(committed(store, snapshotter)) == sorted(chains)
    out = run_in_snapshot(store, workdir, chains[-1], snapshotter, "/bin/busybox", "sh", "-c",
                          "'echo ok; cat /hello.txt; test ! -e /etc/motd-berth && echo gone'")
    assert out == "ok\nhello from layer 3\ngone\n"
    # every blob is in the store under its digest, labelled as containerd labels them
    assert {d for d, _ in image.layers} | {image.digest, image.config_digest} <= store.blobs()
    content = {row[0]: row[2] for row in store.table("content")}
    assert f"containerd.io/gc.ref.content.config={image.config_digest}" in content[image.digest]
    assert (f"containerd.io/gc.ref.snapshot.{snapshotter}={chains[-1]}"
            in content[image.config_digest])
    # pulling again finds everything there
    assert store.ok("pull", "--snapshotter", snapshotter, ref).split() == [ref, image.digest]


def test_pull_by_digest_and_docker_media_types(store, reg, busybox_layer):
    repo = f"pull/{ocitest.new_id('dock')}"
    img = push_gzip_image(reg, repo, None, [busybox_layer], oci=False)
    ref = f"{reg.host}/{repo}@{img.digest}"
    store.ok("pull", ref)
    assert store.images() == {ref: (registry.DOCKER_MANIFEST, img.digest)}


def test_pull_index_fetches_only_the_host_platform(store, reg, proxy, busybox_layer):
    repo = f"pull/{ocitest.new_id('multi')}"
    amd64 = push_gzip_image(reg, repo, None, [busybox_layer])
    arm64 = push_gzip_image(reg, repo, None, [tar_bytes([("arm", b"arm64 only\n", 0o644)])],
                            platform={"architecture": "arm64", "os": "linux", "variant": "v8"})
    index = reg.push_index(repo, "multi", [
        (arm64, {"architecture": "arm64", "os": "linux", "variant": "v8"}),
        (amd64, {"architecture": "amd64", "os": "linux"})])
    ref = f"{proxy.host}/{repo}:multi"
    store.ok("pull", ref)
    assert store.images() == {ref: (registry.OCI_INDEX, index.digest)}
    fetched = {e["path"].rsplit("/", 1)[-1] for e in proxy.requests("GET")}
    assert amd64.digest in fetched and amd64.layers[0][0] in fetched
    assert arm64.digest not in fetched
    assert not {d for d, _ in arm64.layers} & fetched
    assert committed(store) == chain_ids(amd64)
    # a platform the index lacks is a clear error
    err = fail(store, "pull", "--platform", "linux/s390x", ref)
    assert "no manifest for platform linux/s390x" in err


def test_pull_with_basic_and_bearer_auth(store, rdir, busybox_layer, home):
    tokens = TokenServer(rdir, users={"bob": "hunter2"})
    with Registry(rdir, users={"alice": "s3cret"}) as basic, tokens, \
            Registry(rdir, token=tokens) as bearer:
        for reg, user, password in ((basic, "alice", "s3cret"), (bearer, "bob", "hunter2")):
            repo = f"auth/{ocitest.new_id('a')}"
            img = push_gzip_image(reg, repo, "v1", [busybox_layer])
            ref = f"{reg.host}/{repo}:v1"
            bad = write_docker_config(str(home / "bad.json"), {reg.host: (user, "wrong")})
            err = fail(store, "pull", "--docker-config", bad, ref)
            assert "401" in err or "Unauthorized" in err, err
            assert ref not in store.images()
            good = write_docker_config(str(home / "good.json"), {reg.host: (user, password)})
            store.ok("pull", "--docker-config", good, ref)
            assert store.images()[ref] == (registry.OCI_MANIFEST, img.digest)
        asked = [r for r in tokens.requests if r.get("user") == "bob"]
        assert asked, "the token server was never asked with bob's credentials"


# --- interrupted pulls -----------------------------------------------------------------


def test_interrupted_pull_resumes_with_range(store, reg, proxy, busybox_layer):
    repo = f"pull/{ocitest.new_id('cut')}"
    big = tar_bytes([("big.bin", os.urandom(6_000_000), 0o644)])
    img = push_gzip_image(reg, repo, "v1", [busybox_layer, big])
    big_digest = img.layers[1][0]
    proxy.hook = lambda e: (Fault(cut_after=400_000)
                            if e["method"] == "GET" and big_digest in e["path"] else None)
    ref = f"{proxy.host}/{repo}:v1"
    err = fail(store, "pull", "--max-retries", "2", ref)
    assert big_digest in err or "broke" in err or "reset" in err.lower(), err
    assert store.images() == {}
    ingests = store.table("ingests")
    assert [row for row in ingests if big_digest in row[0] and int(row[1]) > 0], ingests
    have = max(int(row[1]) for row in ingests if big_digest in row[0])
    proxy.hook = None
    before = len(proxy.requests("GET", big_digest))
    store.ok("pull", ref)
    resumed = proxy.requests("GET", big_digest)[before:]
    assert resumed[0]["headers"].get("range") == f"bytes={have}-"
    assert resumed[0]["status"] == 206
    assert store.images() == {ref: (registry.OCI_MANIFEST, img.digest)}
    assert sorted(committed(store)) == sorted(chain_ids(img))
    assert store.table("ingests") == []
    check = store.ok("check")
    assert "blobs_damaged=0 snapshots_damaged=0" in check, check


def test_kill_9_during_pull_then_pull_again(store, reg, proxy, busybox_layer):
    repo = f"pull/{ocitest.new_id('kill')}"
    big = tar_bytes([("big.bin", os.urandom(3_000_000), 0o644)])
    img = push_gzip_image(reg, repo, "v1", [busybox_layer, big])
    proxy.hook = lambda e: Fault(delay=30) if img.layers[1][0] in e["path"] else None
    ref = f"{proxy.host}/{repo}:v1"
    p = subprocess.Popen([store.tool, "--root", store.root, "pull", ref],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ocitest.wait_for(lambda: proxy.requests("GET", img.layers[1][0]), timeout=30,
                         what="the slow layer requested")
        time.sleep(0.5)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    proxy.hook = None
    assert store.images() == {}
    store.ok("pull", ref)
    assert store.images() == {ref: (registry.OCI_MANIFEST, img.digest)}
    assert sorted(committed(store)) == sorted(chain_ids(img))


# --- bad input -------------------------------------------------------------------------


def test_blob_not_matching_its_digest(store, reg, proxy, image):
    layer = image.layers[1][0]
    proxy.hook = lambda e: (Fault(body=b"x" * len(image.layers[1][1]))
                            if e["method"] == "GET" and layer in e["path"] else None)
    err = fail(store, "pull", f"{proxy.host}/{image.repo}:v1")
    assert layer in err and "digest" in err, err
    assert_left_nothing(store)


def test_manifest_that_is_not_json(store, reg, proxy, image):
    proxy.hook = lambda e: (Fault(body=b"<html>not json</html>",
                                  drop_response_headers=("docker-content-digest",))
                            if "/manifests/" in e["path"] else None)
    err = fail(store, "pull", f"{proxy.host}/{image.repo}:v1")
    assert "manifest" in err and ("JSON" in err or "json" in err), err
    assert_left_nothing(store)


@pytest.mark.parametrize("fault", [Fault(status=500), Fault(cut_after=10)])
def test_registry_failing_or_closing_early(store, reg, proxy, image, fault):
    layer = image.layers[0][0]
    proxy.hook = lambda e: fault if layer in e["path"] else None
    err = fail(store, "pull", "--max-retries", "1", f"{proxy.host}/{image.repo}:v1")
    assert layer in err, err
    assert_left_nothing(store)


@pytest.mark.parametrize("snapshotter", ["overlayfs", "native"])
def test_truncated_layer_tar(store, reg, busybox_layer, snapshotter):
    repo = f"pull/{ocitest.new_id('trunc')}"
    broken = tar_bytes([("f", os.urandom(100_000), 0o644)])[:50_000]
    push_gzip_image(reg, repo, "v1", [busybox_layer, broken])
    err = fail(store, "pull", "--snapshotter", snapshotter, f"{reg.host}/{repo}:v1")
    assert "layer" in err and "truncated" in err.lower(), err
    assert_left_nothing(store)


def test_diff_id_not_matching_the_config(store, reg, busybox_layer):
    repo = f"pull/{ocitest.new_id('diff')}"
    wrong = "sha256:" + "0" * 64
    push_gzip_image(reg, repo, "v1", [busybox_layer], diff_ids=[wrong])
    err = fail(store, "pull", f"{reg.host}/{repo}:v1")
    assert "diff id" in err and wrong in err, err
    assert_left_nothing(store)


# --- push, and garbage collection of pulled images -------------------------------------


def test_push_then_pull_back_with_identical_digests(store, store_tool, workdir, reg, proxy,  # noqa: F811
                                                    archives):  # noqa: F811
    store.ok("import", "--no-unpack", archives["docker"])
    ref_a = f"{reg.host}/push/{ocitest.new_id('a')}:1"
    digest = store.ok("push", "docker.io/library/busybox:latest", ref_a).strip()
    _, digest_a = store.images()["docker.io/library/busybox:latest"]
    assert digest == digest_a
    status, media_type, body = reg.get_manifest(ref_a.split("/", 1)[1].rsplit(":", 1)[0], "1")
    assert status == 200 and digest_of(body) == digest

    # pulled from a, pushed to b on the same registry: the layers are mounted across
    # repositories (the pull recorded where each blob came from)
    other = Store(store_tool, os.path.join(workdir, "other"))
    via_proxy = f"{proxy.host}/{ref_a.split('/', 1)[1]}"
    other.ok("pull", "--no-unpack", via_proxy)
    repo_b = f"push/{ocitest.new_id('b')}"
    ref_b = f"{proxy.host}/{repo_b}:1"
    other.ok("push", via_proxy, ref_b)
    mounts = proxy.requests("POST", "mount=")
    assert mounts and all(e["status"] == 201 for e in mounts), mounts
    third = Store(store_tool, os.path.join(workdir, "third"))
    third.ok("pull", ref_b)
    assert third.images()[ref_b][1] == digest


def test_gc_after_rm_frees_exactly_the_unreferenced(store, reg, busybox_layer):
    repo = f"pull/{ocitest.new_id('gc')}"
    a = push_gzip_image(reg, repo, "a", [busybox_layer, tar_bytes([("a", b"a\n", 0o644)])])
    b = push_gzip_image(reg, repo, "b", [busybox_layer, tar_bytes([("b", b"b\n", 0o644)])])
    store.ok("pull", f"{reg.host}/{repo}:a")
    store.ok("pull", f"{reg.host}/{repo}:b")
    all_blobs = store.blobs()
    store.ok("rm", f"{reg.host}/{repo}:a")
    store.ok("gc")
    only_a = {a.digest, a.config_digest, a.layers[1][0]}
    assert store.blobs() == all_blobs - only_a
    assert sorted(committed(store)) == sorted(chain_ids(b))
    assert len(store.snapshot_dirs("overlayfs")) == 2


# --- crash damage ----------------------------------------------------------------------


def blob_path(store, digest):
    return os.path.join(store.root, "io.containerd.content.v1.content", "blobs", "sha256",
                        digest.split(":", 1)[1])


def test_check_finds_damage_and_the_next_pull_repairs_it(store, reg, image):
    """What a power loss does to Docker and containerd (metadata says done, files are not):
    a blob cut short, a blob with other bytes of the same size, a committed snapshot whose
    files are gone. check removes them; the next pull fetches and unpacks them again."""
    ref = f"{reg.host}/{image.repo}:v1"
    store.ok("pull", ref)
    chains = chain_ids(image)
    with open(blob_path(store, image.digest), "r+b") as f:
        f.truncate(10)
    layer = image.layers[1][0]
    with open(blob_path(store, layer), "r+b") as f:
        f.seek(20)
        f.write(b"\0\1\2\3")
    snaps = os.path.join(store.root, "io.containerd.snapshotter.v1.overlayfs", "snapshots")
    middle = [d for d in os.listdir(snaps)
              if os.path.isfile(os.path.join(snaps, d, "fs", "etc", "motd-berth"))]
    assert len(middle) == 1
    subprocess.run(["rm", "-rf", os.path.join(snaps, middle[0])], check=True)

    out = store.ok("check", "--hash-budget", "1000000000")
    assert "blobs_damaged=2 snapshots_damaged=1" in out, out
    assert image.digest not in store.blobs() and layer not in store.blobs()
    assert committed(store) == chains[:1]  # the broken one and the one above it are gone

    store.ok("pull", ref)
    assert {image.digest, layer} <= store.blobs()
    assert sorted(committed(store)) == sorted(chains)
    assert "blobs_damaged=0 snapshots_damaged=0" in store.ok("check", "--hash-budget",
                                                            "1000000000")
