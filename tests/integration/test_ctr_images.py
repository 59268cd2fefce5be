# SPDX-License-Identifier: Apache-2.0
"""berth-ctr images: pull (client-side, over the API, from Debian's docker-registry on
127.0.0.1), ls, check, rm, tag, label, import (docker save and OCI layout) and export,
against berth-containerd on private directories (ctrtest.Daemon).

Run: BERTH_BUILD=build-release /usr/bin/python3 -m pytest -q tests/integration/test_ctr_images.py
"""

import hashlib
import io
import json
import os
import re
import tarfile

import ctrtest
from ctrtest import Daemon, archives, content_rows, daemon, final_block, reg  # noqa: F401
from ocitest import new_id
from registry import Fault, Proxy, Registry

BAR_FULL = "|\x1b[32m" + "+" * 38 + "\x1b[0m|"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def human_bytes(n):
    """containerd's progress.Bytes."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    i, v = 0, float(n)
    while v >= 1024 and i < len(units) - 1:
        v /= 1024
        i += 1
    return f"{v:.1f} {units[i]}"


def ref(reg, tag="latest"):
    return f"{reg.host}/library/busybox:{tag}"


def pull(daemon, reg, ns, *flags, tag="latest"):
    return daemon.ok("images", "pull", "--plain-http", *flags, ref(reg, tag), namespace=ns)


def chain_ids(diff_ids):
    """image-spec's ChainID of each layer."""
    out = [diff_ids[0]]
    for d in diff_ids[1:]:
        out.append("sha256:" + hashlib.sha256(f"{out[-1]} {d}".encode()).hexdigest())
    return out


def test_pull_shows_ctr_progress_and_records_what_ctr_records(daemon, reg):
    ns, p = new_id("pull"), reg.pushed
    out = pull(daemon, reg, ns)
    name, jobs, elapsed = final_block(out)
    assert re.fullmatch(re.escape(ref(reg)) + r": +resolved +" + re.escape(BAR_FULL) + " ",
                        name), repr(name)
    keys = sorted([f"manifest-{p.manifest}", f"config-{p.config}"] +
                  [f"layer-{d}" for d in p.layers])
    assert [j.split()[0] for j in jobs] == sorted(k + ":" for k in keys), jobs
    assert all(j.split()[1] == "done" and j.endswith(BAR_FULL + " ") for j in jobs), jobs
    assert re.fullmatch(r"elapsed: \d+\.\d ?s +total: +\S+ ?\S* +\(\S+ \S+/s\) +", elapsed), \
        repr(elapsed)
    tail = out.splitlines()[-2:]
    assert tail[0] == f"unpacking linux/amd64 {p.manifest}...", tail
    assert re.fullmatch(r"done: [0-9.]+(ms|s|µs)\t", tail[1]), tail

    rows = ctrtest.table(daemon.ok("images", "ls", namespace=ns))
    assert rows[0] == ["REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS", "LABELS"]
    sizes = {d: int(s[0]) for d, s in content_sizes(daemon, ns).items()}
    size = human_bytes(sizes[p.manifest] + sizes[p.config] + sum(sizes[d] for d in p.layers))
    assert rows[1] == [ref(reg), DOCKER_MANIFEST, p.manifest, *size.split(), "linux/amd64", "-"]
    assert daemon.ok("images", "ls", "-q", namespace=ns) == ref(reg) + "\n"

    chains = chain_ids(p.diff_ids)
    source = "containerd.io/distribution.source.127.0.0.1=library/busybox"
    labels = {d: l for d, (_, l) in content_rows(daemon.ok("content", "ls", namespace=ns)).items()}
    assert labels == {
        p.manifest: ",".join(sorted([source, f"containerd.io/gc.ref.content.config={p.config}",
                                     f"containerd.io/gc.ref.content.l.0={p.layers[0]}",
                                     f"containerd.io/gc.ref.content.l.1={p.layers[1]}"])),
        p.config: ",".join(sorted([source,
                                   f"containerd.io/gc.ref.snapshot.overlayfs={chains[1]}"])),
        p.layers[0]: ",".join(sorted([source, f"containerd.io/uncompressed={p.diff_ids[0]}"])),
        p.layers[1]: ",".join(sorted([source, f"containerd.io/uncompressed={p.diff_ids[1]}"])),
    }
    assert sorted(daemon.ok("content", "ls", "-q", namespace=ns).split()) == sorted(labels)
    config = daemon.run("content", "get", p.config, namespace=ns, text=False)
    assert config.returncode == 0 and ctrtest.digest_of(config.stdout) == p.config

    snaps = ctrtest.table(daemon.ok("snapshots", "ls", namespace=ns))
    assert snaps[0] == ["KEY", "PARENT", "KIND"]
    assert sorted(snaps[1:]) == sorted([[chains[1], chains[0], "Committed"],
                                        [chains[0], "Committed"]])
    usage = ctrtest.table(daemon.ok("snapshots", "usage", "-b", namespace=ns))
    assert usage[0] == ["KEY", "SIZE", "INODES"]
    assert sorted(r[0] for r in usage[1:]) == sorted(chains)
    assert all(int(r[1]) > 0 and int(r[2]) > 0 for r in usage[1:]), usage
    check = ctrtest.table(daemon.ok("images", "check", namespace=ns))
    assert check[1][:5] == [ref(reg), DOCKER_MANIFEST, p.manifest, "complete", "(3/3)"], check
    assert check[1][-1] == "true"
    # the pull's lease is gone and so are its ingests
    assert daemon.ok("leases", "ls", "-q", namespace=ns) == ""
    assert daemon.ingests() == set()


def content_sizes(daemon, ns):
    """{digest: (bytes,)} from the content store's Info, through content get."""
    out = {}
    for d in daemon.ok("content", "ls", "-q", namespace=ns).split():
        out[d] = (str(len(daemon.run("content", "get", d, namespace=ns, text=False).stdout)),)
    return out


def test_pull_again_shows_exists_and_keeps_everything(daemon, reg):
    ns = new_id("again")
    pull(daemon, reg, ns)
    before = daemon.ok("content", "ls", "-q", namespace=ns)
    _, jobs, _ = final_block(pull(daemon, reg, ns))
    assert {j.split()[1] for j in jobs} == {"exists"}, jobs
    assert daemon.ok("content", "ls", "-q", namespace=ns) == before


def test_pull_index_for_the_host_and_for_all_platforms(daemon, reg):
    p = reg.pushed
    ns = new_id("multi")
    out = pull(daemon, reg, ns, tag="multi")
    assert f"unpacking linux/amd64 {p.index}...\n" in out
    assert "linux/arm64" not in out
    rows = content_rows(daemon.ok("content", "ls", namespace=ns))
    # as ctr: the index names every manifest, the other platform's is not fetched
    assert f"containerd.io/gc.ref.content.m.1={p.arm_manifest}" in rows[p.index][1]
    assert p.arm_manifest not in rows and p.arm_config not in rows
    rows = ctrtest.table(daemon.ok("images", "ls", namespace=ns))
    assert rows[1][1] == DOCKER_LIST and rows[1][-2] == "linux/amd64,linux/arm64", rows

    ns = new_id("all")
    out = pull(daemon, reg, ns, "--all-platforms", tag="multi")
    assert f"unpacking linux/amd64 {p.index}...\nunpacking linux/arm64 {p.index}...\n" in out
    assert p.arm_config in content_rows(daemon.ok("content", "ls", namespace=ns))
    arm_chain = p.diff_ids[1]
    assert arm_chain in daemon.ok("snapshots", "ls", namespace=ns)
    out = pull(daemon, reg, ns, "--platform", "linux/arm64", "--print-chainid", tag="multi")
    assert f"unpacking linux/arm64 {p.index}...\nimage chain ID: {arm_chain}\n" in out


def test_pull_resumes_an_interrupted_download(reg):
    """A download cut short leaves its ingest; the next pull asks for the rest (Range)."""
    big = reg.pushed.layers[0]
    state = {"broken": True, "cut": False}

    def hook(entry):
        if not state["broken"] or entry["method"] != "GET" or big not in entry["path"]:
            return None
        if not state["cut"]:
            state["cut"] = True
            return Fault(cut_after=300000)
        return Fault(status=500)

    d = Daemon("berth")
    try:
        with Proxy(reg.port, hook) as proxy:
            name = f"{proxy.host}/library/busybox:latest"
            p = d.run("images", "pull", "--plain-http", name)
            assert p.returncode == 1 and "500" in p.stderr, p.stderr
            assert d.ok("images", "ls", "-q") == ""
            active = ctrtest.table(d.ok("content", "active"))
            assert [r[0] for r in active[1:]] == [f"layer-{big}"], active
            assert active[1][1] == "300kB", active
            state["broken"] = False
            d.ok("images", "pull", "--plain-http", name)
            ranges = [e["headers"].get("range") for e in proxy.requests("GET", big)]
            assert ranges[-1] == "bytes=300000-", ranges
        blob = d.run("content", "get", big, text=False).stdout
        assert ctrtest.digest_of(blob) == big
        assert ctrtest.table(d.ok("content", "active")) == [["REF", "SIZE", "AGE"]]
    finally:
        d.stop()


def test_pull_with_user_from_a_registry_that_wants_one(daemon, tmp_path):
    with Registry(str(tmp_path), users={"u": "secret"}) as r:
        r.push_image("a/b", "1", [ctrtest.tar_of([("f", b"x\n")])], oci=False)
        name = f"{r.host}/a/b:1"
        ns = new_id("auth")
        err = daemon.fail("images", "pull", "--plain-http", name, namespace=ns)
        assert err.startswith(f'ctr: failed to resolve reference "{name}": '), err
        daemon.ok("images", "pull", "--plain-http", "-u", "u:secret", name, namespace=ns)
        assert daemon.ok("images", "ls", "-q", namespace=ns) == name + "\n"


def test_rm_frees_content_and_snapshots_after_gc(reg):
    d = Daemon("berth")
    try:
        pull(d, reg, "default")
        d.ok("images", "tag", ref(reg), "other:1")
        assert d.ok("images", "rm", "--sync", ref(reg)) == ref(reg) + "\n"
        # still held by the other name
        assert len(d.ok("content", "ls", "-q").split()) == 4
        assert d.ok("images", "rm", "--sync", "nope", "other:1") == "other:1\n"
        assert d.ok("content", "ls", "-q") == "" and d.ok("images", "ls", "-q") == ""
        assert ctrtest.table(d.ok("snapshots", "ls")) == [["KEY", "PARENT", "KIND"]]
        assert d.blobs() == set() and d.ingests() == set()
        assert d.run("images", "rm", "nope").stderr.endswith('msg="nope: image not found"\n')
    finally:
        d.stop()


def test_tag_force_and_label(daemon, reg):
    ns = new_id("tag")
    pull(daemon, reg, ns)
    assert daemon.ok("images", "tag", ref(reg), "t1", "t2", namespace=ns) == "t1\nt2\n"
    err = daemon.fail("images", "tag", ref(reg), "t1", namespace=ns)
    assert err == 'ctr: image "t1": already exists\n', err
    assert daemon.ok("images", "tag", "--force", ref(reg), "t1", namespace=ns) == "t1\n"
    assert sorted(daemon.ok("images", "ls", "-q", namespace=ns).split()) == \
        sorted([ref(reg), "t1", "t2"])
    err = daemon.fail("images", "tag", "nope", "x", namespace=ns)
    assert err == 'ctr: image "nope": not found\n', err
    assert daemon.fail("images", "tag", ref(reg), namespace=ns) == \
        "ctr: please provide an image reference to tag to\n"
    assert daemon.ok("images", "label", "t1", "a=1", "b=2", namespace=ns) == "a=1,b=2\n"
    rows = ctrtest.table(daemon.ok("images", "ls", "name==t1", namespace=ns))
    assert len(rows) == 2 and rows[1][0] == "t1" and rows[1][-1] == "a=1,b=2", rows


def import_names(out):
    return re.findall(r"^unpacking (\S+) \((sha256:[0-9a-f]{64})\)\.\.\.done$", out, re.M)


def test_import_docker_save_and_oci_layout(daemon, archives):
    ns = new_id("imp")
    out = daemon.ok("images", "import", archives["docker"], namespace=ns)
    (name, digest), = import_names(out)
    assert name == "docker.io/library/busybox:latest"
    out = daemon.ok("images", "import", archives["oci"], namespace=ns)
    assert [n for n, _ in import_names(out)] == ["example.test/oci/busybox:v1"]
    rows = ctrtest.table(daemon.ok("images", "ls", namespace=ns))
    assert [r[0] for r in rows[1:]] == ["docker.io/library/busybox:latest",
                                        "example.test/oci/busybox:v1"], rows
    assert rows[1][2] == digest and rows[1][1] == DOCKER_MANIFEST
    check = ctrtest.table(daemon.ok("images", "check", namespace=ns))
    assert all(r[3] == "complete" and r[-1] == "true" for r in check[1:]), check
    labels = content_rows(daemon.ok("content", "ls", namespace=ns))
    assert "containerd.io/gc.ref.content.config=" in labels[digest][1]
    # the same archive again: the same image, nothing new
    before = daemon.ok("content", "ls", "-q", namespace=ns)
    daemon.ok("images", "import", archives["docker"], namespace=ns)
    assert daemon.ok("content", "ls", "-q", namespace=ns) == before


def oci_with_ref_name(src, dest, ref_name):
    """A copy of the OCI layout src whose index.json entry has ref_name."""
    with tarfile.open(src) as s, tarfile.open(dest, "w") as d:
        for m in s.getmembers():
            data = s.extractfile(m).read() if m.isfile() else None
            if m.name == "index.json":
                index = json.loads(data)
                index["manifests"][0]["annotations"] = {
                    "org.opencontainers.image.ref.name": ref_name}
                data = json.dumps(index).encode()
                m.size = len(data)
            d.addfile(m, io.BytesIO(data) if data is not None else None)


def test_import_names_as_ctr_does(daemon, archives, tmp_path):
    tagged = str(tmp_path / "tagged.tar")
    oci_with_ref_name(archives["oci"], tagged, "v2")
    ns = new_id("names")
    out = daemon.ok("images", "import", "--base-name", "foo/bar", "--no-unpack", tagged,
                    namespace=ns)
    assert out == ""  # --no-unpack: nothing unpacked, nothing said
    assert daemon.ok("images", "ls", "-q", namespace=ns) == "foo/bar:v2\n"
    assert ctrtest.table(daemon.ok("snapshots", "ls", namespace=ns)) == [["KEY", "PARENT", "KIND"]]
    # without --base-name a tag gets "import-<date>"; --digests adds <prefix>@<digest>
    out = daemon.ok("images", "import", "--digests", "--index-name", "idx", tagged, namespace=ns)
    names = [n for n, _ in import_names(out)]
    assert names[0] == "idx" and re.fullmatch(r"import-\d{4}-\d\d-\d\d:v2", names[1]), names
    assert re.fullmatch(r"import-\d{4}-\d\d-\d\d@sha256:[0-9a-f]{64}", names[2]), names
    rows = {r[0]: r for r in ctrtest.table(daemon.ok("images", "ls", namespace=ns))[1:]}
    assert rows["idx"][1] == OCI_INDEX
    # --base-name keeps only the references under it
    out = daemon.ok("images", "import", "--base-name", "other/name", archives["oci"],
                    namespace=ns)
    assert out == ""
    assert "example.test/oci/busybox:v1" not in daemon.ok("images", "ls", "-q", namespace=ns)


def test_export_then_import_gives_the_same_images(daemon, archives, tmp_path):
    ns, ns2 = new_id("exp"), new_id("exp")
    daemon.ok("images", "import", archives["docker"], namespace=ns)
    daemon.ok("images", "import", archives["oci"], namespace=ns)
    names = daemon.ok("images", "ls", "-q", namespace=ns).split()
    first, second = str(tmp_path / "a.tar"), str(tmp_path / "b.tar")
    assert daemon.ok("images", "export", first, *names, namespace=ns) == ""
    with tarfile.open(first) as t:
        members = t.getnames()
        manifest_json = json.loads(t.extractfile("manifest.json").read())
    assert members[:2] == ["blobs", "blobs/sha256"] and members[-3:] == [
        "index.json", "manifest.json", "oci-layout"], members
    assert [m["RepoTags"] for m in manifest_json] == [["busybox:latest"],
                                                      ["example.test/oci/busybox:v1"]]
    out = daemon.ok("images", "import", first, namespace=ns2)
    assert sorted(n for n, _ in import_names(out)) == sorted(names)
    before = ctrtest.table(daemon.ok("images", "ls", namespace=ns))
    assert ctrtest.table(daemon.ok("images", "ls", namespace=ns2)) == before
    daemon.ok("images", "export", second, *names, namespace=ns2)
    with open(first, "rb") as a, open(second, "rb") as b:
        assert a.read() == b.read()
    # --skip-manifest-json: the OCI layout alone; "-" is stdout
    p = daemon.run("images", "export", "--skip-manifest-json", "-", names[0], namespace=ns,
                   text=False)
    assert p.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
        assert "manifest.json" not in t.getnames() and "index.json" in t.getnames()


def test_bad_input_is_refused_and_leaves_nothing(reg, tmp_path, archives):
    d = Daemon("berth")
    try:
        missing = f"{reg.host}/library/nope:latest"
        err = d.fail("images", "pull", "--plain-http", missing)
        assert err == f'ctr: failed to resolve reference "{missing}": {missing}: not found\n'
        assert d.fail("images", "pull", "busybox") == \
            'ctr: failed to resolve reference "busybox": object required\n'
        assert d.fail("images", "pull", "--nope", "x") == \
            "ctr: flag provided but not defined: -nope\n"
        assert d.fail("images", "pull") == "ctr: please provide an image reference to pull\n"
        bad = f"{reg.host}/library/busybox@sha256:00"
        assert d.fail("images", "pull", "--plain-http", bad) == \
            f'ctr: failed to resolve reference "{bad}": invalid checksum digest length\n'
        assert d.fail("content", "get", "sha256:zz") == "ctr: invalid checksum digest length\n"
        assert d.fail("content", "get", "nothex") == "ctr: invalid checksum digest format\n"
        zero = "sha256:" + "0" * 64
        assert d.fail("content", "get", zero) == f"ctr: content digest {zero}: not found\n"
        err = d.fail("images", "export", str(tmp_path / "x.tar"), "nope")
        assert err == 'ctr: image "nope": not found\n', err
        assert not os.path.exists(tmp_path / "x.tar")
        # a truncated archive: refused, and once the import's lease is gone, nothing stays
        with open(archives["docker"], "rb") as f:
            data = f.read()
        truncated = tmp_path / "truncated.tar"
        truncated.write_bytes(data[:len(data) // 2])
        assert "ctr: " in d.fail("images", "import", str(truncated))
        assert d.fail("images", "import", str(tmp_path / "none.tar")).startswith(
            f"ctr: open {tmp_path}/none.tar: ")
        d.ok("leases", "create", "--id", "gc")
        d.ok("leases", "rm", "--sync", "gc")  # a synchronous collection
        assert d.ok("images", "ls", "-q") == "" and d.ok("content", "ls", "-q") == ""
        assert d.blobs() == set() and d.ingests() == set()
        assert ctrtest.table(d.ok("snapshots", "ls")) == [["KEY", "PARENT", "KIND"]]
    finally:
        d.stop()
