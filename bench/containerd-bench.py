#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""berth-containerd side by side with Debian's containerd 1.6, driven by the same real ctr,
on private sockets and directories (tests/interop's fixtures):

1. idle resident memory of each daemon after start (and after the image import below);
2. `ctr images import` of tests/images' busybox docker-save tar, interleaved;
3. `ctr run --rm IMAGE id /bin/true`, interleaved, twice:
   - "same shim": both daemons start Debian's containerd-shim-runc-v2 with berth-runc, so
     only the daemons differ;
   - "as shipped": each daemon's default for io.containerd.runc.v2 (containerd:
     containerd-shim-runc-v2 + Debian's runc; berth-containerd: berth-containerd-shim +
     berth-runc, from the build).

Prints ratios peer / berth (above 1.00: berth is smaller or faster). Not a test."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "tests", "interop"))
import conftest  # noqa: E402  (tests/interop: Containerd, Daemon, make_workdir)
import ocitest  # noqa: E402
from test_berth_containerd_ctr import daemon_path  # noqa: E402

IMAGE = "docker.io/library/busybox:latest"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def timed(fn):
    start = time.perf_counter()
    ok = fn()
    return time.perf_counter() - start, ok


class BerthDaemon:
    """berth-containerd as installed: berth-containerd-shim and berth-runc (the build's) on
    its PATH, io.containerd.runc.v2 left to its default unless runtimes (the config's
    "runtimes" object) say otherwise."""

    def __init__(self, workdir, build, runtimes=None):
        bin_dir = os.path.join(workdir, "bin")
        os.makedirs(bin_dir)
        for rel, name in (("shim/berth-containerd-shim", "berth-containerd-shim"),
                          ("runc/berth-runc", "berth-runc")):
            os.symlink(os.path.join(build, rel), os.path.join(bin_dir, name))
        self.address = os.path.join(workdir, "containerd.sock")
        env = dict(os.environ, PATH=bin_dir + ":" + os.environ.get("PATH", ""))
        argv = [daemon_path(), "--address", self.address, "--root",
                os.path.join(workdir, "root"), "--state", os.path.join(workdir, "state")]
        if runtimes:
            config = os.path.join(workdir, "config.json")
            with open(config, "w") as f:
                json.dump({"runtimes": runtimes}, f)
            argv += ["--config", config]
        self.daemon = conftest.Daemon("berth-containerd", workdir, argv, env=env)
        self.daemon.wait_ready(lambda: self.ctr("version").returncode == 0)

    def ctr(self, *args):
        return conftest.run(["ctr", "--address", self.address, *args])

    def stop(self):
        self.daemon.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--build", default=os.path.join(TOP, "build-release"))
    args = ap.parse_args()
    os.environ["BERTH_BUILD"] = args.build
    berth_runc = os.path.join(args.build, "runc", "berth-runc")
    work = conftest.make_workdir("btbench-")
    tar = os.path.join(work, "busybox.tar")
    subprocess.run([os.path.join(ocitest.IMAGES, "build-docker-save.sh"), tar], check=True,
                   stdout=subprocess.DEVNULL)
    daemons = {}
    try:
        for sub in ("cd", "bc", "bc2"):
            os.makedirs(os.path.join(work, sub))
        daemons["containerd"] = conftest.Containerd(os.path.join(work, "cd"), berth_runc)
        daemons["berth-containerd"] = BerthDaemon(os.path.join(work, "bc"), args.build)
        # the "same shim" runs: a second berth-containerd whose io.containerd.runc.v2 is
        # Debian's containerd-shim-runc-v2 (ctr allows --runc-binary only for that name)
        daemons["berth-containerd runc-v2"] = BerthDaemon(
            os.path.join(work, "bc2"), args.build,
            {"io.containerd.runc.v2": {"shim": "/usr/bin/containerd-shim-runc-v2"}})
        time.sleep(2)
        pid = {"containerd": daemons["containerd"].daemon.proc.pid,
               "berth-containerd": daemons["berth-containerd"].daemon.proc.pid}
        idle = {k: rss_kib(p) for k, p in pid.items()}
        ctr = {"containerd": daemons["containerd"].ctr,
               "berth-containerd": daemons["berth-containerd"].ctr}
        imports = {k: [] for k in ctr}
        same = {k: [] for k in ctr}
        shipped = {k: [] for k in ctr}
        same_ctr = {"containerd": ctr["containerd"],
                    "berth-containerd": daemons["berth-containerd runc-v2"].ctr}
        for i in range(args.n):
            for name, c in ctr.items():
                t, ok = timed(lambda: c("images", "import", tar).returncode == 0)
                imports[name].append(t if ok else None)
            daemons["berth-containerd runc-v2"].ctr("images", "import", tar)
        after = {k: rss_kib(p) for k, p in pid.items()}
        for i in range(args.n):
            for name, c in ctr.items():
                t, ok = timed(lambda: same_ctr[name]("run", "--rm", "--runc-binary", berth_runc,
                                                     IMAGE, f"b{i}", "/bin/true").returncode
                              == 0)
                same[name].append(t if ok else None)
                t, ok = timed(lambda: c("run", "--rm", IMAGE, f"s{i}",
                                        "/bin/true").returncode == 0)
                shipped[name].append(t if ok else None)

        def median_ms(v):
            return statistics.median(v) * 1000 if v and None not in v else None

        base = "berth-containerd"
        print(f"{'':18} {'idle RSS KiB':>12} {'ratio':>6} {'RSS after import':>16} "
              f"{'import ms':>10} {'ratio':>6} {'run, same shim':>14} {'ratio':>6} "
              f"{'run, shipped':>12} {'ratio':>6}")
        for name in ctr:
            row = [f"{idle[name]:12d}", f"{idle[name] / idle[base]:6.2f}", f"{after[name]:16d}"]
            for series, w in ((imports, 10), (same, 14), (shipped, 12)):
                m, b = median_ms(series[name]), median_ms(series[base])
                row += [f"{m:{w}.1f}" if m else f"{'n/a':>{w}}",
                        f"{m / b:6.2f}" if m and b else f"{'-':>6}"]
            print(f"{name:18} " + " ".join(row))
        print("ratio = that / berth-containerd: above 1.00 berth is smaller or faster")
    finally:
        for d in daemons.values():
            d.stop()
        conftest.remove_workdir(work)


if __name__ == "__main__":
    sys.exit(main())
