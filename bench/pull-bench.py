#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Cold pull of a ~100 MB (compressed) three-layer image from a private docker-registry on
127.0.0.1, side by side and interleaved:

  berth      berth-store pull --snapshotter overlayfs (download, verify, unpack)
  ctr        `ctr images pull --plain-http` on a real containerd 1.6 (download, unpack)
  skopeo     `skopeo copy docker://... oci:DIR` (download only, no unpack)
  floor      per layer `gzip -dc | tar -x` with sha256 of the blob, one layer after the
             other (single-threaded floor) and the slowest layer alone (parallel floor)

Every round starts from empty stores (a new berth root, a new containerd root); nothing is
deleted until the end, because ext4 makes new inodes slow for a while after many were freed
(recently_deleted()), which would penalise whoever runs after a deletion. The image:
a debootstrap'd Debian minbase (built once into /var/cache/berth-bench, needs Debian's
mirror), a layer of large incompressible files and a layer of many small files.
Prints medians and ratios (peer / berth; above 1.00 berth is faster). Not a test."""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
CACHE = "/var/cache/berth-bench"
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import registry  # noqa: E402


def load_interop():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "interop_conftest", os.path.join(TOP, "tests", "interop", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)


def build_minbase():
    root = os.path.join(CACHE, "minbase")
    if not os.path.isdir(root):
        sh(["debootstrap", "--variant=minbase", "bookworm", root, "http://deb.debian.org/debian"])
        for deb in os.listdir(os.path.join(root, "var/cache/apt/archives")):
            if deb.endswith(".deb"):
                os.unlink(os.path.join(root, "var/cache/apt/archives", deb))
    return root


def tar_gz_dir(src, out):
    with open(out, "wb") as f:
        tar = subprocess.Popen(["tar", "--numeric-owner", "--sort=name", "-C", src, "-cf", "-",
                                "."], stdout=subprocess.PIPE)
        subprocess.run(["gzip", "-6", "-n"], stdin=tar.stdout, stdout=f, check=True)
        tar.wait()


def tar_gz_files(files, out):
    """files: [(name, bytes)] as one gzip'ed tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    with open(out, "wb") as f:
        f.write(gzip.compress(buf.getvalue(), 6, mtime=0))


def build_layers():
    """The three layers (cached): [(path of .tar.gz, diff id)]."""
    out = os.path.join(CACHE, "pull-image")
    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, n) for n in ("base.tar.gz", "large.tar.gz", "small.tar.gz")]
    if not os.path.exists(paths[0]):
        tar_gz_dir(build_minbase(), paths[0] + ".tmp")
        os.rename(paths[0] + ".tmp", paths[0])
    if not os.path.exists(paths[1]):
        rnd = random.Random(1)
        tar_gz_files([(f"opt/large/blob{i}", rnd.randbytes(10 << 20)) for i in range(4)],
                     paths[1])
    if not os.path.exists(paths[2]):
        rnd = random.Random(2)
        words = [rnd.randbytes(6).hex() for _ in range(4000)]
        tar_gz_files([(f"usr/share/small/{i // 500}/f{i}.txt",
                       " ".join(rnd.choice(words) for _ in range(rnd.randint(20, 300))).encode())
                      for i in range(20000)], paths[2])
    return [(p, "sha256:" + hashlib.sha256(gzip.open(p).read()).hexdigest()) for p in paths]


def push(reg, layers):
    descs = []
    for path, _ in layers:
        with open(path, "rb") as f:
            data = f.read()
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": reg.upload_blob("bench/image", data), "size": len(data)})
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers",
                                    "diff_ids": [d for _, d in layers]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": registry.OCI_MANIFEST,
                "config": {"mediaType": registry.OCI_CONFIG, "size": len(config),
                           "digest": reg.upload_blob("bench/image", config)},
                "layers": descs}
    reg.put_manifest("bench/image", "latest", manifest, registry.OCI_MANIFEST)
    return sum(d["size"] for d in descs)


def timed(fn):
    os.sync()  # every contender starts with no one else's dirty pages left to write back
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def floor(layers, work, round_):
    """(sequential, slowest single layer) seconds for sha256 + gunzip + untar."""
    each = []
    for i, (path, _) in enumerate(layers):
        d = os.path.join(work, f"floor{round_}-{i}")
        os.makedirs(d)
        each.append(timed(lambda: sh(["sh", "-c", f"tee < '{path}' >(sha256sum >/dev/null) |"
                                      f" gzip -dc | tar -x -C '{d}'"], executable="/bin/bash")))
    return sum(each), max(each)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5, help="rounds")
    ap.add_argument("--build", default=os.path.join(TOP, "build-release"))
    args = ap.parse_args()
    store = os.path.join(args.build, "tests", "store-tool", "berth-store")
    layers = build_layers()
    interop = load_interop()
    work = tempfile.mkdtemp(prefix="berth-pull-bench-")
    reg = registry.Registry(os.path.join(work, "registry"))
    times = {"berth": [], "ctr": [], "skopeo": [], "floor (sequential)": [],
             "floor (slowest layer)": []}
    try:
        reg.start()
        size = push(reg, layers)
        ref = f"{reg.host}/bench/image:latest"
        for i in range(args.n):
            root = os.path.join(work, f"berth{i}")
            times["berth"].append(timed(lambda: sh([store, "--root", root, "pull",
                                                    "--snapshotter", "overlayfs", ref])))
            cdir = os.path.join(work, f"containerd{i}")
            os.makedirs(cdir)
            c = interop.Containerd(cdir, "/usr/sbin/runc")
            try:
                times["ctr"].append(timed(lambda: c.ctr_ok("images", "pull", "--plain-http",
                                                           ref, timeout=600)))
            finally:
                c.stop()
            oci = os.path.join(work, f"oci{i}")
            times["skopeo"].append(timed(lambda: sh(["skopeo", "copy", "--src-tls-verify=false",
                                                     f"docker://{ref}", f"oci:{oci}:latest"])))
            seq, slowest = floor(layers, work, i)
            times["floor (sequential)"].append(seq)
            times["floor (slowest layer)"].append(slowest)
        base = statistics.median(times["berth"])
        print(f"image: 3 layers, {size / 1e6:.1f} MB compressed; {args.n} rounds, median s")
        print(f"{'':24} {'seconds':>8} {'ratio':>7}")
        for name, v in times.items():
            m = statistics.median(v)
            print(f"{name:24} {m:8.2f} {m / base:7.2f}")
        print("ratio = that / berth: above 1.00 berth is faster; the floors are lower bounds")
    finally:
        reg.stop()
        reg.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
