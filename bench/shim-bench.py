#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Side-by-side benchmark of shims under one real containerd 1.6 (private sockets and
directories, as in tests/interop): berth-containerd-shim (runtime io.containerd.berth.v2)
against containerd-shim-runc-v2 (io.containerd.runc.v2), and conmon for resident memory.

1. Resident memory per shim: N long-running containers through each shim; the RSS of each
   shim process (conmon: N containers started with conmon + runc directly).
2. `ctr run --rm IMAGE /bin/true` through each shim, interleaved, ms per container: both
   shims with berth-runc (only the shim differs), and containerd-shim-runc-v2 with Debian's
   runc (the stack as shipped).

Prints the ratios peer / berth (above 1.00: berth is smaller or faster). Not a test."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))


def load_interop_fixtures():
    """tests/interop/conftest.py, which starts a private containerd (ShimContainerd)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "interop_conftest", os.path.join(TOP, "tests", "interop", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


interop = load_interop_fixtures()
import ocitest  # noqa: E402

IMAGE = "docker.io/library/busybox:latest"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def shim_pids(exe):
    """Pids running the binary exe (comm is truncated and the same for both shims)."""
    exe = os.path.realpath(exe)
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/exe") == exe:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def measure_shims(c, runtime, name, exe, n, extra):
    ids = [f"rss-{name[:5]}-{i}" for i in range(n)]
    before = set(shim_pids(exe))
    for cid in ids:
        c.ctr_ok("run", "-d", "--runtime", runtime, *extra, IMAGE, cid, "sleep", "1000")
    time.sleep(1)
    pids = [p for p in shim_pids(exe) if p not in before]
    values = [rss_kib(p) for p in pids]
    for cid in ids:
        c.ctr("tasks", "kill", "-s", "SIGKILL", cid)
    time.sleep(0.5)
    for cid in ids:
        c.ctr("tasks", "delete", cid)
        c.ctr("containers", "delete", cid)
    return statistics.mean(values) if values else 0.0


def measure_conmon(work, n):
    bundle = os.path.join(work, "conmon-bundle")
    subprocess.run(["sh", os.path.join(TOP, "tests/images/build-bundle.sh"), bundle,
                    "sleep", "1000"], check=True, stdout=subprocess.DEVNULL)
    root = os.path.join(work, "conmon-runc")
    values = []
    for i in range(n):
        d = os.path.join(work, f"conmon{i}")
        os.makedirs(os.path.join(d, "exit"))
        subprocess.run(["conmon", "--api-version", "1", "-c", f"cm{i}", "-u", f"cm{i}",
                        "-n", f"cm{i}", "-r", "/usr/sbin/runc", "-b", bundle,
                        "-p", os.path.join(d, "pid"), "-P", os.path.join(d, "conmon.pid"),
                        "-l", f"k8s-file:{d}/log", "--exit-dir", os.path.join(d, "exit"),
                        "--socket-dir-path", d, "--runtime-arg", f"--root={root}"],
                       check=True, stdout=subprocess.DEVNULL)
    time.sleep(1)
    for i in range(n):
        with open(os.path.join(work, f"conmon{i}", "conmon.pid")) as f:
            values.append(rss_kib(int(f.read())))
        subprocess.run(["runc", "--root", root, "delete", "-f", f"cm{i}"],
                       stderr=subprocess.DEVNULL)
    return statistics.mean(values)


def measure_run_rm(c, n, shims):
    times = {k: [] for k in shims}
    for i in range(n):
        for name, (runtime, extra) in shims.items():
            start = time.perf_counter()
            c.ctr_ok("run", "--rm", "--runtime", runtime, *extra, IMAGE, f"t-{name[:5]}-{i}",
                     "/bin/true")
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) * 1000 for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20, help="containers per shim")
    ap.add_argument("--build", default=os.path.join(TOP, "build-release"))
    args = ap.parse_args()
    shim = os.path.join(args.build, "shim", "berth-containerd-shim")
    berth_runc = os.path.join(args.build, "runc", "berth-runc")
    work = tempfile.mkdtemp(prefix="berth-shim-bench-")
    c = None
    try:
        tar = os.path.join(work, "busybox.tar")
        subprocess.run([os.path.join(ocitest.IMAGES, "build-docker-save.sh"), tar],
                       check=True, stdout=subprocess.DEVNULL)
        os.makedirs(os.path.join(work, "cd"))
        # runc.v2 gets BinaryName berth-runc too, so only the shims differ
        c = interop.ShimContainerd(os.path.join(work, "cd"), berth_runc, shim)
        c.ctr_ok("images", "import", tar)
        shims = {
            "berth-containerd-shim": ("io.containerd.berth.v2", []),
            "containerd-shim-runc-v2": ("io.containerd.runc.v2", ["--runc-binary", berth_runc]),
        }
        daemon = os.path.join(os.path.dirname(shim), "berth-containerd-shim-daemon")
        exes = {"berth-containerd-shim": daemon if os.path.exists(daemon) else shim,
                "containerd-shim-runc-v2": shutil.which("containerd-shim-runc-v2")}
        rss = {name: measure_shims(c, rt, name, exes[name], args.n, extra)
               for name, (rt, extra) in shims.items()}
        rss["conmon"] = measure_conmon(work, args.n)
        # the stacks as shipped: containerd-shim-runc-v2 with Debian's runc
        stacks = dict(shims)
        stacks["containerd-shim-runc-v2 + runc"] = (
            "io.containerd.runc.v2", ["--runc-binary", shutil.which("runc")])
        ms = measure_run_rm(c, args.n, stacks)
        base_rss = rss["berth-containerd-shim"]
        base_ms = ms["berth-containerd-shim"]
        print(f"{'shim':31} {'RSS KiB/shim':>12} {'RSS ratio':>10} {'run --rm ms':>12} "
              f"{'time ratio':>10}")
        for name in list(rss) + [k for k in ms if k not in rss]:
            t = ms.get(name)
            timing = f"{t:12.1f} {t / base_ms:10.2f}" if t else f"{'-':>12} {'-':>10}"
            mem = (f"{rss[name]:12.0f} {rss[name] / base_rss:10.2f}" if name in rss
                   else f"{'-':>12} {'-':>10}")
            print(f"{name:31} {mem} {timing}")
        print("ratios are peer / berth: above 1.00 means berth is smaller or faster")
    finally:
        if c:
            c.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
