# SPDX-License-Identifier: Apache-2.0
"""berth-ctr content, snapshots and leases against berth-containerd on private directories
(ctrtest.Daemon): listings, labels, prepare/view/commit/mounts/tree/info/usage/rm of
snapshots, create/ls/rm of leases, and what bad input gets.

Run: BERTH_BUILD=build-release /usr/bin/python3 -m pytest -q \
        tests/integration/test_ctr_content_snapshots_leases.py
"""

import json
import re

import ctrtest
from ctrtest import archives, daemon  # noqa: F401
from ocitest import new_id

IMAGE = "docker.io/library/busybox:latest"


def imported(daemon, archives, ns):
    daemon.ok("images", "import", archives["docker"], namespace=ns)
    return daemon.ok("content", "ls", "-q", namespace=ns).split()


def test_content_ls_get_label_rm(daemon, archives):
    ns = new_id("content")
    digests = imported(daemon, archives, ns)
    out = daemon.ok("content", "ls", namespace=ns)
    header, *rows = out.splitlines()
    # tab-padded as ctr's tabwriter(1, 8, 1, '\t'): the digest column is 72 wide, 9 tabs
    assert re.fullmatch(r"DIGEST\t{9}SIZE\t+AGE\t+LABELS", header), repr(header)
    assert len(rows) == len(digests) == 3
    for row in rows:
        digest, size, age, labels = [c for c in row.split("\t") if c]
        assert re.fullmatch(r"\d+(\.\d+)?[kMG]?B", size), row
        assert re.fullmatch(r"Less than a second|\d+ seconds|1 second|About a minute", age), row
        assert labels != "-" and digest in digests
    for d in digests:
        blob = daemon.run("content", "get", d, namespace=ns, text=False)
        assert blob.returncode == 0 and ctrtest.digest_of(blob.stdout) == d
    d = digests[0]
    out = daemon.ok("content", "label", d, "x=1", "y=2", namespace=ns)
    assert {"x=1", "y=2"} <= set(out.strip().split(",")), out
    out = daemon.ok("content", "label", d, "x=", namespace=ns)  # removes x
    assert "x=1" not in out and "y=2" in out
    # a blob the namespace does not hold is not an error to remove; a bad digest is
    zero = "sha256:" + "0" * 64
    assert daemon.ok("content", "rm", zero, namespace=ns) == ""
    p = daemon.run("content", "rm", "bad", namespace=ns)
    assert p.returncode == 1 and p.stderr.endswith("ctr: invalid checksum digest format\n")
    daemon.ok("images", "rm", IMAGE, namespace=ns)
    assert sorted(daemon.ok("content", "rm", *digests, namespace=ns).split()) == sorted(digests)
    assert daemon.ok("content", "ls", "-q", namespace=ns) == ""
    assert daemon.ok("content", "active", namespace=ns).split() == ["REF", "SIZE", "AGE"]


def test_snapshots_prepare_view_commit_tree_rm(daemon, archives):
    ns = new_id("snap")
    imported(daemon, archives, ns)
    (top,) = [r[0] for r in ctrtest.table(daemon.ok("snapshots", "ls", namespace=ns))[1:]]
    out = daemon.ok("snapshots", "prepare", "--target", "/mnt", "--mounts", "work", top,
                    namespace=ns)
    lines = out.splitlines()
    assert lines[0].startswith("mount -t overlay overlay /mnt -o ") and "lowerdir=" in lines[0]
    mounts = json.loads("\n".join(lines[1:]))
    assert mounts[0]["Type"] == "overlay" and mounts[0]["Source"] == "overlay"
    info = json.loads(daemon.ok("snapshots", "info", "work", namespace=ns))
    assert list(info) == ["Kind", "Name", "Parent", "Labels", "Created", "Updated"], info
    assert info["Kind"] == "Active" and info["Parent"] == top
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["Labels"]["containerd.io/gc.root"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", info["Created"])
    assert daemon.ok("snapshots", "mounts", "/x", "work", namespace=ns).startswith(
        "mount -t overlay overlay /x -o ")
    assert daemon.ok("snapshots", "commit", "done", "work", namespace=ns) == ""
    daemon.ok("snapshots", "view", "look", "done", namespace=ns)
    assert daemon.ok("snapshots", "tree", namespace=ns) == \
        f" {top}\n  \\_ done\n    \\_ look\n"
    rows = ctrtest.table(daemon.ok("snapshots", "usage", namespace=ns))
    assert rows[0] == ["KEY", "SIZE", "INODES"] and len(rows) == 4
    assert all(re.fullmatch(r"\d+\.\d", r[1]) and r[2] in ("B", "KiB", "MiB") for r in rows[1:])
    assert daemon.ok("snapshots", "label", "done", "a=b", namespace=ns).strip().split(",") == \
        sorted(["a=b", "containerd.io/gc.root=" + json.loads(
            daemon.ok("snapshots", "info", "done", namespace=ns))["Labels"][
            "containerd.io/gc.root"]])
    err = daemon.fail("snapshots", "rm", "done", namespace=ns)  # it has a child
    assert err.startswith('ctr: failed to remove "done": '), err
    assert daemon.ok("snapshots", "rm", "look", "done", namespace=ns) == ""
    err = daemon.fail("snapshots", "rm", "nope", namespace=ns)
    assert err.startswith('ctr: failed to remove "nope": ') and err.endswith(": not found\n")
    assert daemon.ok("snapshots", "commit", namespace=ns).startswith("NAME:")
    # the command's own flag picks the snapshotter
    assert ctrtest.table(daemon.ok("snapshots", "--snapshotter", "native", "ls",
                                   namespace=ns)) == [["KEY", "PARENT", "KIND"]]


def test_leases_create_ls_rm(daemon):
    ns = new_id("lease")
    assert daemon.ok("leases", "create", "--id", "one", "a=b", namespace=ns) == "one\n"
    generated = daemon.ok("leases", "create", "-x", "0", namespace=ns).strip()
    assert re.fullmatch(r"\d+-[A-Za-z0-9_-]{4}", generated), generated
    rows = {r[0]: r for r in ctrtest.table(daemon.ok("leases", "ls", namespace=ns))[1:]}
    assert set(rows) == {"one", generated}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", rows["one"][1])
    labels = rows["one"][2].split(",")
    assert labels[0] == "a=b" and labels[1].startswith("containerd.io/gc.expire="), labels
    assert rows[generated][2] == "-"
    assert sorted(daemon.ok("leases", "ls", "-q", namespace=ns).split()) == \
        sorted(["one", generated])
    err = daemon.fail("leases", "create", "--id", "one", namespace=ns)
    assert err == 'ctr: lease "one": already exists\n', err
    err = daemon.fail("leases", "create", "--expires", "bad", namespace=ns)
    assert err == 'ctr: invalid value "bad" for flag -expires: parse error\n', err
    assert daemon.ok("leases", "rm", "--sync", "one", generated, namespace=ns) == \
        f"one\n{generated}\n"
    assert daemon.fail("leases", "rm", "one", namespace=ns) == 'ctr: lease "one": not found\n'
    assert daemon.ok("leases", "rm", namespace=ns).startswith("NAME:")  # help, as ctr
    assert daemon.ok("leases", "ls", "-q", namespace=ns) == ""
