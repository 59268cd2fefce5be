# SPDX-License-Identifier: Apache-2.0
"""The real ctr (containerd 1.6) against berth-containerd's Images, Snapshots and
Diff services: snapshots with real overlay mounts, image records, and a pull
from a private registry (Content, Leases, Diff Apply, Snapshots, Images).
Error wording is compared with the real containerd's.
"""

import io
import os
import subprocess
import tarfile

import pytest

from conftest import Containerd, make_workdir, remove_workdir, run
from registry import Registry
from test_berth_containerd_ctr import BerthContainerd, daemon_path

pytestmark = pytest.mark.interop


def layer(files):
    """An uncompressed layer tar of {name: bytes} (names ending in "/" are dirs)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = 1700000000
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                t.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def mounted(berth, key, command):
    """Runs command (sh) with key's mounts (as ctr prints them) on a private
    mount point in a private mount namespace; returns its output."""
    target = os.path.join(berth.dir, "mnt")
    os.makedirs(target, exist_ok=True)
    mount = berth.ok("snapshots", "mounts", target, key).strip()
    script = f"mount --make-rprivate / && {mount} && cd {target} && {command}"
    p = run(["unshare", "-m", "sh", "-c", script])
    assert p.returncode == 0, f"{script}: {p.returncode}\n{p.stderr}"
    return p.stdout


@pytest.fixture
def berth():
    """test_berth_containerd_ctr's fixture, and after the daemon stopped (leaks are
    reported at exit), its log must hold no sanitizer report (ASan builds)."""
    path = daemon_path()
    assert os.access(path, os.X_OK), f"{path} is not built"
    workdir = make_workdir("btbci-")
    d = None
    try:
        d = BerthContainerd(workdir)
        yield d
        d.stop()
        with open(d.daemon.log, errors="replace") as f:
            log = f.read()
        assert "Sanitizer" not in log and "runtime error:" not in log, log[-4000:]
    finally:
        if d:
            d.stop()
        remove_workdir(workdir)


@pytest.fixture
def real(runtime):
    """The real containerd, for comparing error words."""
    workdir = make_workdir("btcdi-")
    c = None
    try:
        c = Containerd(workdir, runtime)
        yield c
    finally:
        if c:
            c.stop()
        remove_workdir(workdir)


@pytest.fixture
def registry():
    workdir = make_workdir("btreg-")
    r = Registry(workdir)
    try:
        r.start()
        yield r
    finally:
        r.stop()
        remove_workdir(workdir)


def test_snapshots_prepare_mount_commit_view(berth):
    berth.ok("snapshots", "prepare", "a1")
    mounted(berth, "a1", "mkdir etc && echo one > etc/hello && echo two > gone")
    berth.ok("snapshots", "commit", "c1", "a1")
    berth.ok("snapshots", "prepare", "a2", "c1")
    mounts = berth.ok("snapshots", "mounts", "/x", "a2")
    assert "-t overlay" in mounts and "upperdir=" in mounts and "lowerdir=" in mounts
    assert mounted(berth, "a2", "cat etc/hello && rm gone && echo three > new") == "one\n"
    berth.ok("snapshots", "commit", "c2", "a2")
    berth.ok("snapshots", "view", "v2", "c2")
    assert mounted(berth, "v2", "cat etc/hello new; ls") == "one\nthree\netc\nnew\n"

    ls = berth.ok("snapshots", "ls").splitlines()
    rows = sorted(tuple(line.split()) for line in ls[1:])
    assert rows == [("c1", "Committed"), ("c2", "c1", "Committed"), ("v2", "c2", "View")]
    info = berth.ok("snapshots", "info", "c2")
    assert '"Kind": "Committed"' in info and '"Parent": "c1"' in info

    berth.ok("snapshots", "label", "c2", "team=berth")
    assert '"team": "berth"' in berth.ok("snapshots", "info", "c2")
    berth.ok("snapshots", "label", "c2", "team=")
    assert '"team"' not in berth.ok("snapshots", "info", "c2")

    usage = berth.ok("snapshots", "usage", "c1").splitlines()
    assert usage[1].split()[0] == "c1"

    berth.ok("snapshots", "rm", "v2")
    berth.ok("snapshots", "rm", "c2")
    berth.ok("snapshots", "rm", "c1")
    assert berth.ok("snapshots", "ls").splitlines()[1:] == []


def test_snapshots_native(berth):
    berth.ok("snapshots", "--snapshotter", "native", "prepare", "n1")
    assert "-t bind" in berth.ok("snapshots", "--snapshotter", "native", "mounts", "/x", "n1")
    berth.ok("snapshots", "--snapshotter", "native", "commit", "nc", "n1")
    assert "nc" in berth.ok("snapshots", "--snapshotter", "native", "ls")
    assert "nc" not in berth.ok("snapshots", "ls")


def snapshot_errors(ctr):
    """The stderr of each error case, run through ctr (a callable like ok/fail)."""
    out = {}
    ctr("snapshots", "prepare", "e1", ok=True)
    ctr("snapshots", "commit", "ec", "e1", ok=True)
    ctr("snapshots", "view", "ev", "ec", ok=True)
    ctr("snapshots", "prepare", "ea", "ec", ok=True)
    out["missing parent"] = ctr("snapshots", "prepare", "x", "nope")
    out["commit a view"] = ctr("snapshots", "commit", "x2", "ev")
    out["remove a parent"] = ctr("snapshots", "rm", "ec")
    out["exists"] = ctr("snapshots", "prepare", "ea")
    out["missing"] = ctr("snapshots", "info", "nope")
    out["unknown snapshotter"] = ctr("snapshots", "--snapshotter", "bogus", "ls")
    return out


def test_snapshot_errors_match_containerd(berth, real):
    def on_berth(*args, ok=False):
        return berth.ok(*args) if ok else berth.fail(*args)

    def on_real(*args, ok=False):
        p = real.ctr(*args)
        assert (p.returncode == 0) == ok, f"{args}: {p.returncode}\n{p.stderr}"
        return p.stderr

    ours, theirs = snapshot_errors(on_berth), snapshot_errors(on_real)
    assert ours["missing parent"] == "ctr: parent snapshot nope does not exist: not found\n"
    assert ours["remove a parent"].endswith(
        "cannot remove snapshot with child: failed precondition\n")
    for case in ("missing parent", "remove a parent", "missing", "unknown snapshotter"):
        assert ours[case] == theirs[case], case
    # containerd names its backend key "<namespace>/<bolt id>/<key>"; berth has no bolt id
    for words in (ours["commit a view"], theirs["commit a view"]):
        assert words.startswith("ctr: failed to commit snapshot: snapshot \"")
        assert words.endswith("/ev\" is not active: failed precondition\n")
    # containerd: snapshot "e1": already exists
    assert ours["exists"].endswith("already exists\n") and theirs["exists"].endswith(
        "already exists\n")


def test_images_pull_label_rm(berth, registry):
    base = layer({"etc/": b"", "etc/os-release": b"ID=berth\n", "bin/": b"",
                  "bin/sh": b"#!fake\n"})
    top = layer({"etc/.wh.os-release": b"", "etc/motd": b"hello\n"})
    img = registry.push_image("test/pull", "v1", [base, top])
    ref = f"{registry.host}/test/pull:v1"

    pulled = berth.ctr("images", "pull", "--plain-http", ref)
    assert pulled.returncode == 0, pulled.stderr + pulled.stdout
    ls = berth.ok("images", "ls")
    assert ref in ls and img.digest in ls

    # the chain of two committed snapshots, named by chain id
    rows = [line.split() for line in berth.ok("snapshots", "ls").splitlines()[1:]]
    assert len(rows) == 2 and all(r[-1] == "Committed" for r in rows)
    top_key = [r[0] for r in rows if len(r) == 3][0]
    berth.ok("snapshots", "prepare", "work", top_key)
    assert mounted(berth, "work", "ls etc; cat etc/motd") == "motd\nhello\n"
    berth.ok("snapshots", "rm", "work")

    berth.ok("images", "label", ref, "owner=berth")
    assert "owner=berth" in berth.ok("images", "ls")
    assert berth.ok("images", "ls", "-q", "labels.owner==berth").split() == [ref]
    assert berth.ok("images", "ls", "-q", "labels.owner==other").split() == []
    berth.ok("images", "label", ref, "owner=")
    assert "owner=berth" not in berth.ok("images", "ls")

    berth.ok("images", "rm", "--sync", ref)
    assert ref not in berth.ok("images", "ls")
    # garbage collection took the image's snapshots with it
    assert berth.ok("snapshots", "ls").splitlines()[1:] == []
    # ctr only warns about a missing image (containerd's NotFound)
    gone = berth.ctr("images", "rm", ref)
    assert gone.returncode == 0 and "image not found" in gone.stderr


def tar_names(data, mode="r:gz"):
    with tarfile.open(fileobj=io.BytesIO(data), mode=mode) as t:
        return sorted(m.name for m in t.getmembers())


def test_snapshots_diff(berth):
    """ctr snapshots diff: Diff of views (a bind mount, an overlay without upper dir
    mounted in a private namespace), written to the content store."""
    berth.ok("snapshots", "prepare", "a1")
    mounted(berth, "a1", "echo hi > f && mkdir d")
    berth.ok("snapshots", "commit", "c1", "a1")
    berth.ok("snapshots", "prepare", "a2", "c1")
    mounted(berth, "a2", "rm f && echo x > d/g")
    berth.ok("snapshots", "commit", "c2", "a2")
    berth.ok("snapshots", "prepare", "a3", "c2")
    berth.ok("snapshots", "commit", "c3", "a3")

    def diff(*args):
        p = subprocess.run(["ctr", "--address", berth.address, "--namespace", "default",
                            "snapshots", "diff", *args], capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        return p.stdout

    assert tar_names(diff("c1")) == ["d", "f"]
    assert tar_names(diff("c2")) == [".wh.f", "d", "d/g"]
    assert tar_names(diff("c3")) == []
    assert tar_names(diff("c1", "c3")) == [".wh.f", "d", "d/g"]
    plain = diff("--media-type", "application/vnd.oci.image.layer.v1.tar", "c2")
    assert tar_names(plain, "r:") == [".wh.f", "d", "d/g"]


def test_images_pull_native(berth, registry):
    """Diff Apply onto native snapshots (bind mounts): whiteouts applied."""
    base = layer({"etc/": b"", "etc/a": b"a\n", "etc/b": b"b\n"})
    top = layer({"etc/.wh.a": b"", "etc/c": b"c\n"})
    registry.push_image("test/native", "v1", [base, top])
    ref = f"{registry.host}/test/native:v1"
    pulled = berth.ctr("images", "pull", "--plain-http", "--snapshotter", "native", ref)
    assert pulled.returncode == 0, pulled.stderr + pulled.stdout
    rows = [line.split() for line in
            berth.ok("snapshots", "--snapshotter", "native", "ls").splitlines()[1:]]
    assert len(rows) == 2
    top_key = [r[0] for r in rows if len(r) == 3][0]
    berth.ok("snapshots", "--snapshotter", "native", "view", "v", top_key)
    target = os.path.join(berth.dir, "mnt")
    os.makedirs(target, exist_ok=True)
    mount = berth.ok("snapshots", "--snapshotter", "native", "mounts", target, "v").strip()
    p = run(["unshare", "-m", "sh", "-c",
             f"mount --make-rprivate / && {mount} && ls {target}/etc"])
    assert p.returncode == 0 and p.stdout == "b\nc\n", p.stderr


def test_images_tag_filters_and_errors(berth, registry, real):
    """Images Create (ctr images tag), List filters, and the words of NotFound and
    AlreadyExists compared with containerd's."""
    img = registry.push_image("test/tag", "v1", [layer({"f": b"f\n"})])
    ref = f"{registry.host}/test/tag:v1"
    pulled = berth.ctr("images", "pull", "--plain-http", ref)
    assert pulled.returncode == 0, pulled.stderr + pulled.stdout
    berth.ok("images", "tag", ref, "berth.test/copy:1")
    assert sorted(berth.ok("images", "ls", "-q").split()) == sorted(["berth.test/copy:1", ref])
    assert berth.ok("images", "ls", "-q", "name==berth.test/copy:1").split() == [
        "berth.test/copy:1"]
    media = "application/vnd.oci.image.manifest.v1+json"
    assert len(berth.ok("images", "ls", "-q", f"target.mediatype=={media}").split()) == 2
    assert img.digest in berth.ok("images", "ls", "name==berth.test/copy:1")

    for args in (("images", "label", "nope", "a=b"), ("images", "tag", "nope", "new"),
                 ("images", "tag", ref, "berth.test/copy:1")):
        ours = berth.fail(*args)
        if args[-1] == "berth.test/copy:1":
            assert ours == 'ctr: image "berth.test/copy:1": already exists\n'
            continue
        theirs = real.ctr(*args)
        assert theirs.returncode != 0 and ours == theirs.stderr, args
