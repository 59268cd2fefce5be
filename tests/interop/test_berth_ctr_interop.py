# SPDX-License-Identifier: Apache-2.0
"""berth-ctr driving the REAL containerd 1.6 (Debian's, started on private directories by
ctrtest.Daemon), side by side with the real ctr on the same daemon: pull from Debian's
docker-registry on 127.0.0.1, images ls/check, content ls, snapshots, leases, import and
export. What both print is compared word for word; only ages, timestamps, the order of a Go
map's labels and the order of ctr's concurrent progress lines are normalised.

Run: BERTH_BUILD=build-release /usr/bin/python3 -m pytest -q tests/interop/test_berth_ctr_interop.py
"""

import io
import json
import os
import re
import tarfile

import pytest

import ctrtest
from ctrtest import Daemon, archives, content_rows, final_block, reg  # noqa: F401
from ocitest import new_id

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def containerd():
    if not os.access(ctrtest.REAL_CONTAINERD, os.X_OK) or not os.access(ctrtest.REAL_CTR,
                                                                         os.X_OK):
        pytest.skip("Debian's containerd is not installed")
    d = Daemon("containerd")
    try:
        yield d
    finally:
        d.stop()


def both(d, *args, namespace, text=True):
    """What ctr and berth-ctr print for args: ((rc, stdout, stderr), (rc, stdout, stderr))."""
    out = []
    for tool in ("ctr", "berth"):
        p = d.run(*args, tool=tool, namespace=namespace, text=text)
        out.append((p.returncode, p.stdout, p.stderr))
    return out


def same(d, *args, namespace, text=True):
    (rc, a, ea), (rb, b, eb) = both(d, *args, namespace=namespace, text=text)
    assert (rc, a) == (rb, b), f"{' '.join(args)}\n--- ctr [{rc}]\n{a}{ea}\n" \
                               f"--- berth-ctr [{rb}]\n{b}{eb}"
    return a


def test_pull_records_what_ctr_records(containerd, reg):
    name = f"{reg.host}/library/busybox:latest"
    by = {}
    for tool in ("ctr", "berth"):
        ns = new_id(tool)
        out = containerd.ok("images", "pull", "--plain-http", name, tool=tool, namespace=ns)
        by[tool] = (ns, out)
    (ns_ctr, out_ctr), (ns_berth, out_berth) = by["ctr"], by["berth"]
    head_c, jobs_c, _ = final_block(out_ctr)
    head_b, jobs_b, elapsed = final_block(out_berth)
    assert (head_b, jobs_b) == (head_c, jobs_c)
    assert re.fullmatch(r"elapsed: \d+\.\d ?s +total: .*\(.*/s\) +", elapsed), repr(elapsed)
    assert out_berth.splitlines()[-2] == out_ctr.splitlines()[-2]  # "unpacking ..."
    for args in (("images", "ls"), ("snapshots", "ls"), ("snapshots", "usage", "-b"),
                 ("images", "check"), ("leases", "ls")):
        assert containerd.ok(*args, tool="ctr", namespace=ns_berth) == \
            containerd.ok(*args, tool="ctr", namespace=ns_ctr), args
    assert content_rows(containerd.ok("content", "ls", tool="ctr", namespace=ns_berth)) == \
        content_rows(containerd.ok("content", "ls", tool="ctr", namespace=ns_ctr))
    # both leave no ingest behind
    assert containerd.ok("content", "active", tool="ctr", namespace=ns_berth).split() == \
        ["REF", "SIZE", "AGE"]


def test_pull_index_records_what_ctr_records(containerd, reg):
    name = f"{reg.host}/library/busybox:multi"
    ns = {}
    for tool in ("ctr", "berth"):
        ns[tool] = new_id(tool)
        containerd.ok("images", "pull", "--plain-http", "--all-platforms", name, tool=tool,
                      namespace=ns[tool])
    for args in (("images", "ls"), ("snapshots", "ls")):
        assert containerd.ok(*args, tool="ctr", namespace=ns["berth"]) == \
            containerd.ok(*args, tool="ctr", namespace=ns["ctr"]), args
    assert content_rows(containerd.ok("content", "ls", tool="ctr", namespace=ns["berth"])) == \
        content_rows(containerd.ok("content", "ls", tool="ctr", namespace=ns["ctr"]))


def test_listings_print_what_ctr_prints(containerd, reg, archives):
    ns = new_id("ls")
    containerd.ok("images", "pull", "--plain-http", f"{reg.host}/library/busybox:multi",
                  tool="ctr", namespace=ns)
    containerd.ok("images", "import", archives["oci"], tool="ctr", namespace=ns)
    containerd.ok("leases", "create", "--id", "l1", "b=2", "a=1", tool="ctr", namespace=ns)
    for args in (("images", "ls"), ("images", "ls", "-q"), ("images", "check"),
                 ("images", "ls", "name~=oci"), ("content", "ls", "-q"), ("snapshots", "ls"),
                 ("snapshots", "usage"), ("snapshots", "usage", "-b"), ("snapshots", "tree"),
                 ("leases", "ls"), ("leases", "ls", "-q"), ("namespaces", "ls")):
        same(containerd, *args, namespace=ns)
    (_, a, _), (_, b, _) = both(containerd, "content", "ls", namespace=ns)
    assert content_rows(a) == content_rows(b)
    assert a.splitlines()[0] == b.splitlines()[0]
    for key in containerd.ok("snapshots", "ls", namespace=ns).split()[3::3]:
        same(containerd, "snapshots", "info", key, namespace=ns)
    for digest in containerd.ok("content", "ls", "-q", namespace=ns).split()[:3]:
        same(containerd, "content", "get", digest, namespace=ns, text=False)
    containerd.ok("leases", "rm", "l1", namespace=ns)


def read_member(t, m):
    """A member's bytes; manifest.json's elements sorted (ctr writes them in a Go map's
    order)."""
    if not m.isfile():
        return None
    data = t.extractfile(m).read()
    if m.name == "manifest.json":
        return sorted(json.loads(data), key=lambda e: e["Config"])
    return data


def test_import_export_as_ctr(containerd, archives, tmp_path):
    ns = {tool: new_id(tool) for tool in ("ctr", "berth")}
    for tool in ("ctr", "berth"):
        for kind in ("docker", "oci"):
            out = containerd.ok("images", "import", archives[kind], tool=tool,
                                namespace=ns[tool])
            assert re.fullmatch(r"unpacking \S+ \(sha256:[0-9a-f]{64}\)\.\.\.done\n", out), out
    for args in (("images", "ls"), ("snapshots", "ls"), ("images", "check")):
        assert containerd.ok(*args, tool="ctr", namespace=ns["berth"]) == \
            containerd.ok(*args, tool="ctr", namespace=ns["ctr"]), args
    names = containerd.ok("images", "ls", "-q", namespace=ns["ctr"]).split()
    tars = {}
    for tool in ("ctr", "berth"):
        tars[tool] = str(tmp_path / f"{tool}.tar")
        containerd.ok("images", "export", tars[tool], *names, tool=tool, namespace=ns["ctr"])
    members = {}
    for tool, path in tars.items():
        with tarfile.open(path) as t:
            members[tool] = [(m.name, m.mode, m.size, m.mtime, m.uid, m.gid, m.type,
                              read_member(t, m)) for m in t.getmembers()]
    assert members["berth"] == members["ctr"]
    # what berth-ctr exported, the real ctr imports (and the other way round)
    ns2 = new_id("again")
    containerd.ok("images", "import", tars["berth"], tool="ctr", namespace=ns2)
    assert sorted(containerd.ok("images", "ls", "-q", namespace=ns2).split()) == sorted(names)
    with open(tars["ctr"], "rb") as f:
        data = f.read()
    p = containerd.run("images", "import", "-", input=data, text=False, namespace=new_id("in"))
    assert p.returncode == 0, p.stderr
    assert b"...done" in p.stdout


def test_errors_are_worded_as_ctr_words_them(containerd, reg, tmp_path):
    ns = new_id("err")
    zero = "sha256:" + "0" * 64
    for args in (("images", "pull", "busybox"),
                 ("images", "pull", "docker.io/library/busybox"),
                 ("images", "pull", "--plain-http", f"{reg.host}/library/nope:latest"),
                 ("images", "pull", "--plain-http", f"{reg.host}/library/busybox@sha256:00"),
                 ("images", "pull"),
                 ("images", "tag", "nope", "x"), ("images", "tag"), ("images", "tag", "a"),
                 ("images", "export"), ("images", "export", str(tmp_path / "x.tar"), "nope"),
                 ("content", "get", "sha256:1234"), ("content", "get", "nothex"),
                 ("content", "get", zero), ("content", "get"), ("content", "rm", zero),
                 ("snapshots", "rm", "nope"), ("snapshots", "info", "nope"),
                 ("leases", "rm", "nope")):
        (rc, a, ea), (rb, b, eb) = both(containerd, *args, namespace=ns)
        last = [e.splitlines()[-1] if e else "" for e in (ea, eb)]
        assert (rb, b, last[1]) == (rc, a, last[0]), f"{args}\nctr: {ea}\nberth-ctr: {eb}"
    assert not os.path.exists(tmp_path / "x.tar") or os.path.getsize(tmp_path / "x.tar") == 0
    assert containerd.ok("images", "ls", "-q", namespace=ns) == ""
    assert containerd.ok("content", "ls", "-q", namespace=ns) == ""


def test_leases_as_ctr(containerd):
    ns = new_id("lease")
    for tool in ("ctr", "berth"):
        assert containerd.ok("leases", "create", "--id", f"{tool}-1", "-x", "0", "k=v",
                             tool=tool, namespace=ns) == f"{tool}-1\n"
    rows = ctrtest.table(containerd.ok("leases", "ls", namespace=ns))
    assert [r[2] for r in rows[1:]] == ["k=v", "k=v"], rows
    (rc, a, ea), (rb, b, eb) = both(containerd, "leases", "create", "--id", "ctr-1",
                                    namespace=ns)
    assert (rb, b, eb) == (rc, a, ea)
    out = containerd.ok("leases", "rm", "--sync", "ctr-1", "berth-1", namespace=ns)
    assert out == "ctr-1\nberth-1\n"
    same(containerd, "leases", "ls", namespace=ns)


def test_berth_ctr_export_loads_into_ctr_from_a_pipe(containerd, archives):
    ns = new_id("pipe")
    containerd.ok("images", "import", archives["docker"], namespace=ns)
    p = containerd.run("images", "export", "-", "docker.io/library/busybox:latest", text=False,
                       namespace=ns)
    assert p.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
        assert "manifest.json" in t.getnames()
    q = containerd.run("images", "import", "--no-unpack", "-", tool="ctr", input=p.stdout,
                       text=False, namespace=new_id("load"))
    assert q.returncode == 0 and q.stdout == b"", q.stderr


def test_import_naming_options_as_ctr(containerd, archives):
    """--index-name (the index containerd makes of a docker save: the same bytes, so the
    same digest), --digests, --base-name filtering, --no-unpack."""
    for args in (("--index-name", "idx", "--digests", archives["docker"]),
                 ("--base-name", "example.test/oci/busybox", "--digests",
                  "--skip-digest-for-named", archives["oci"]),
                 ("--base-name", "other/name", archives["oci"]),
                 ("--no-unpack", archives["oci"])):
        ns = {tool: new_id(tool) for tool in ("ctr", "berth")}
        outs = [containerd.ok("images", "import", *args, tool=tool, namespace=ns[tool])
                for tool in ("ctr", "berth")]
        assert outs[1] == outs[0], args
        for listing in (("images", "ls"), ("snapshots", "ls")):
            assert containerd.ok(*listing, tool="ctr", namespace=ns["berth"]) == \
                containerd.ok(*listing, tool="ctr", namespace=ns["ctr"]), (args, listing)
