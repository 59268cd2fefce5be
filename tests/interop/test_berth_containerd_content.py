# SPDX-License-Identifier: Apache-2.0
"""The real ctr (containerd 1.6) against berth-containerd's Content and Leases services.

Ingest (Write), ls (List), get (Read), label (Update), rm (Delete), active (ListStatuses),
leases create/ls/rm, and ctr images import (which writes content under a lease). Error
wording is compared with what the real containerd answers where a client may match it.
"""

import concurrent.futures
import hashlib
import os
import subprocess
import time

import pytest

from conftest import Containerd, make_workdir, remove_workdir
from test_berth_containerd_ctr import berth  # noqa: F401  (the fixture)

pytestmark = pytest.mark.interop

ZERO = "sha256:" + "0" * 64
ONES = "sha256:" + "1" * 64


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def ctr_bytes(d, *args, input=None, namespace="default"):
    """ctr with bytes in and out (content get/ingest)."""
    return subprocess.run(["ctr", "--address", d.address, "--namespace", namespace, *args],
                          input=input, capture_output=True, timeout=60,
                          stdin=None if input is not None else subprocess.DEVNULL)


def content_rows(d, namespace="default"):
    """{digest: (size column, labels column)} from ctr content ls."""
    out = d.ok("content", "ls", namespace=namespace)
    rows = {}
    for line in out.splitlines()[1:]:
        cols = line.split("\t")
        cols = [c for c in cols if c]
        rows[cols[0]] = (cols[1], ",".join(sorted(cols[-1].split(","))))  # Go map order
    return rows


@pytest.fixture(scope="module")
def real():
    """The real containerd, for wording comparisons."""
    workdir = make_workdir("btcc-")
    c = None
    try:
        c = Containerd(workdir, "runc")
        yield c
    finally:
        if c:
            c.stop()
        remove_workdir(workdir)


@pytest.fixture(autouse=True)
def no_sanitizer_report(berth):
    """After each test, the daemon stopped (stopping twice is harmless): its log holds no
    sanitizer report (the ASan build: BERTH_BUILD=build-asan)."""
    yield
    berth.stop()
    with open(berth.daemon.log, encoding="utf-8", errors="replace") as f:
        log = f.read()
    for word in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert word not in log, log[-4000:]


def test_ingest_ls_get_label_rm(berth):
    data = os.urandom(3 * 1024 * 1024 + 17)  # several Read chunks
    dgst = digest_of(data)
    p = ctr_bytes(berth, "content", "ingest", "--expected-digest", dgst, "--expected-size",
                  str(len(data)), "ref1", input=data)
    assert p.returncode == 0, p.stderr
    rows = content_rows(berth)
    assert rows[dgst] == ("3.146MB", "-"), rows
    p = ctr_bytes(berth, "content", "get", dgst)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data
    # other namespaces do not see it
    assert dgst not in content_rows(berth, namespace="other")
    assert ctr_bytes(berth, "content", "get", dgst, namespace="other").returncode != 0

    out = berth.ok("content", "label", dgst, "a=b", "c=d")  # ctr prints Go map order
    assert sorted(out.strip().split(",")) == ["a=b", "c=d"], out
    assert content_rows(berth)[dgst][1] == "a=b,c=d"
    berth.ok("content", "label", dgst, "a=")  # an empty value removes the label
    assert content_rows(berth)[dgst][1] == "c=d"

    # ingesting it again is AlreadyExists, which ctr counts as success
    p = ctr_bytes(berth, "content", "ingest", "--expected-digest", dgst, "ref2", input=data)
    assert p.returncode == 0, p.stderr
    assert berth.ok("content", "active").splitlines()[1:] == []

    assert berth.ok("content", "rm", dgst) == dgst + "\n"
    assert dgst not in content_rows(berth)
    err = berth.fail("content", "get", dgst)
    assert err == f"ctr: content digest {dgst}: not found\n", err


def test_large_read_is_paced(berth):
    """24 MiB through Read: many 1 MiB answers, more than the call may queue at once, so
    the server waits for the client (back-pressure) and resumes."""
    data = os.urandom(24 * 1024 * 1024)
    p = ctr_bytes(berth, "content", "ingest", "big", input=data)
    assert p.returncode == 0, p.stderr
    p = ctr_bytes(berth, "content", "get", digest_of(data))
    assert p.returncode == 0, p.stderr
    assert hashlib.sha256(p.stdout).hexdigest() == hashlib.sha256(data).hexdigest()
    # a reader that goes away mid-stream: the daemon carries on
    proc = subprocess.Popen(["ctr", "--address", berth.address, "--namespace", "default",
                             "content", "get", digest_of(data)], stdout=subprocess.PIPE)
    proc.stdout.read(1024)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    assert berth.ok("version")


@pytest.mark.slow
def test_large_list_is_paced(berth):
    """210 records with 12 kB of labels each: List answers in blocks of 100 (about 1.2 MB
    each, more than a call may queue), paced by the client."""
    big = ["k%d=%s" % (i, str(i) * 4000) for i in range(3)]

    def one(i):
        data = b"blob %d\n" % i
        p = ctr_bytes(berth, "content", "ingest", f"many-{i}", input=data)
        assert p.returncode == 0, p.stderr
        berth.ok("content", "label", digest_of(data), *big)
        return digest_of(data)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        digests = set(pool.map(one, range(210)))
    rows = content_rows(berth)
    assert set(rows) == digests
    assert all(len(labels) > 12000 for _, labels in rows.values())
    filtered = berth.ok("content", "ls", "-q", "labels.k0==" + "0" * 4000).split()
    assert len(filtered) == 210
    assert berth.ok("content", "ls", "-q", "labels.k0==x") == ""


def test_ingest_without_expected_digest(berth):
    data = b"no digest given\n"
    p = ctr_bytes(berth, "content", "ingest", "plain", input=data)
    assert p.returncode == 0, p.stderr
    assert ctr_bytes(berth, "content", "get", digest_of(data)).stdout == data
    empty = ctr_bytes(berth, "content", "ingest", "empty", input=b"")
    assert empty.returncode == 0, empty.stderr
    assert ctr_bytes(berth, "content", "get", digest_of(b"")).stdout == b""


def errors_of(d):
    """The stderr of the failing content and lease commands."""
    out = {}
    out["get"] = d.ctr("content", "get", ZERO).stderr
    out["label"] = d.ctr("content", "label", ZERO, "a=b").stderr
    p = ctr_bytes(d, "content", "ingest", "--expected-digest", ONES, "r3", input=b"hello\n",
                  namespace=d_namespace(d))
    out["ingest digest"] = p.stderr.decode()
    p = ctr_bytes(d, "content", "ingest", "--expected-size", "3", "r4", input=b"hello\n",
                  namespace=d_namespace(d))
    out["ingest size"] = p.stderr.decode()
    out["lease rm"] = d.ctr("leases", "rm", "nope").stderr
    return out


def d_namespace(d):
    return getattr(d, "namespace", "default")


def test_errors_match_containerd(berth, real):
    ours = errors_of(berth)
    theirs = errors_of(real)
    assert ours == theirs
    assert ours["get"] == f"ctr: content digest {ZERO}: not found\n"
    assert "unexpected commit digest " + digest_of(b"hello\n") in ours["ingest digest"]
    assert ours["ingest digest"].endswith(f"expected {ONES}: failed precondition\n")
    # nothing committed by the failed ingests
    assert digest_of(b"hello\n") not in content_rows(berth)
    # rm of something absent: ctr says nothing and succeeds, with both
    assert berth.ctr("content", "rm", ZERO).returncode == 0
    assert real.ctr("content", "rm", ZERO).returncode == 0


def test_interrupted_ingest_is_active_and_resumes(berth):
    data = os.urandom(4 * 1024 * 1024)
    argv = ["ctr", "--address", berth.address, "--namespace", "default", "content", "ingest",
            "--expected-digest", digest_of(data), "slow-ref"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        # ctr sends in 1 MiB pieces: more than two of them, and stdin kept open
        proc.stdin.write(data[:5 * 1024 * 1024 // 2])
        proc.stdin.flush()
        deadline = time.monotonic() + 20
        rows = []
        while time.monotonic() < deadline:
            rows = [line.split("\t") for line in berth.ok("content", "active").splitlines()[1:]]
            if rows and rows[0][1] == "2.097MB":
                break
            time.sleep(0.1)
        assert rows and rows[0][:2] == ["slow-ref", "2.097MB"], rows
    finally:
        proc.kill()
        proc.wait()
    # the ingest stays after the client is gone, and only in its namespace
    active = berth.ok("content", "active").splitlines()[1:]
    assert [line.split("\t")[:2] for line in active] == [["slow-ref", "2.097MB"]], active
    assert berth.ok("content", "active", namespace="other").splitlines()[1:] == []
    # the same ref again, from a file: ctr asks where the ingest stands (STAT), seeks there
    # and sends the rest at that offset
    path = os.path.join(berth.dir, "blob")
    with open(path, "wb") as f:
        f.write(data)
    with open(path, "rb") as f:
        p = subprocess.run(argv, stdin=f, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert ctr_bytes(berth, "content", "get", digest_of(data)).stdout == data
    assert berth.ok("content", "active").splitlines()[1:] == []


def lease_rows(d):
    return {line.split()[0]: line.split()[-1]
            for line in d.ok("leases", "ls").splitlines()[1:]}


def test_leases_create_ls_rm(berth):
    assert berth.ok("leases", "create", "--id", "l1", "x=y") == "l1\n"
    rows = lease_rows(berth)
    assert "x=y" in rows["l1"].split(","), rows
    assert any(lbl.startswith("containerd.io/gc.expire=") for lbl in rows["l1"].split(","))
    err = berth.fail("leases", "create", "--id", "l1")
    assert err == 'ctr: lease "l1": already exists\n', err
    generated = berth.ok("leases", "create").strip()
    assert generated and generated != "l1"
    assert set(lease_rows(berth)) == {"l1", generated}
    assert set(d.split()[0] for d in berth.ok("leases", "ls", "id==l1").splitlines()[1:]) \
        == {"l1"}
    assert berth.ok("leases", "ls", "labels.x==y").splitlines()[1].split()[0] == "l1"
    berth.ok("leases", "rm", "l1")
    berth.ok("leases", "rm", "--sync", generated)
    assert lease_rows(berth) == {}
    err = berth.fail("leases", "rm", "nope")
    assert err == 'ctr: lease "nope": not found\n', err
    assert berth.ok("leases", "ls", namespace="other").splitlines()[1:] == []


def test_gc_after_lease_rm_keeps_only_rooted_content(berth, real):
    """An ingest without a lease leaves content that nothing references: the collection
    after a lease's deletion removes it unless it is a gc root, in both daemons."""
    kept, lost = b"rooted\n", b"loose\n"
    for d in (berth, real):
        ns = d_namespace(d)
        for i, data in enumerate((kept, lost)):
            p = ctr_bytes(d, "content", "ingest", f"gc-{i}", input=data, namespace=ns)
            assert p.returncode == 0, p.stderr
        d.ctr("content", "label", digest_of(kept), "containerd.io/gc.root=1")
        assert d.ctr("leases", "create", "--id", "gc-trigger").returncode == 0
        assert d.ctr("leases", "rm", "--sync", "gc-trigger").returncode == 0
        rows = d.ctr("content", "ls", "-q").stdout.split()
        assert digest_of(kept) in rows and digest_of(lost) not in rows, (d, rows)


def test_images_import(berth, image_tar):
    probe = berth.ctr("images", "ls")
    if probe.returncode != 0:
        pytest.skip(f"Images is not served yet: {probe.stderr.strip()}")
    p = berth.ctr("images", "import", "--no-unpack", image_tar)
    assert p.returncode == 0, p.stderr
    assert "docker.io/library/busybox:latest" in berth.ok("images", "ls", "-q")
    rows = content_rows(berth)
    assert len(rows) >= 3, rows  # manifest, config, layer
    # the import's lease is gone and what it wrote is referenced by the image
    assert lease_rows(berth) == {}
    for dgst in rows:
        assert ctr_bytes(berth, "content", "get", dgst).returncode == 0
