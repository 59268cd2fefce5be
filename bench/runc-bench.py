#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Side-by-side benchmark of OCI runtimes: `RUNTIME run` of /bin/true (under /usr/bin/time, the same for all), N sequential
containers per runtime, interleaved (berth-runc, runc, crun, berth-runc, ...), on the same
busybox bundle. Prints ms per container, peak RSS of the runtime process, and the ratios
against berth-runc. Not a test: it asserts nothing.

crun 1.8 refuses the hybrid cgroup layout, so the whole comparison runs in a private mount
namespace with /sys/fs/cgroup/unified unmounted (run through bench/runc-bench.sh)."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def make_bundle(dest):
    subprocess.run(["sh", os.path.join(TOP, "tests/images/build-bundle.sh"), dest, "/bin/true"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(dest, "config.json")) as f:
        cfg = json.load(f)
    cfg["root"]["readonly"] = True
    with open(os.path.join(dest, "config.json"), "w") as f:
        json.dump(cfg, f)


def run_once(runtime, root, bundle, cid, rss_file):
    """GNU time forks the runtime from its own small process, so the peak RSS it reports is
    the runtime's (and the container's), not inherited from this Python process."""
    start = time.perf_counter()
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, runtime, "--root", root, "run",
                    "--bundle", bundle, cid], check=True)
    elapsed = time.perf_counter() - start
    with open(rss_file) as f:
        return elapsed, int(f.read().split()[-1])  # KiB


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--berth", default=os.path.join(TOP, "build-release/runc/berth-runc"))
    args = ap.parse_args()
    runtimes = {"berth-runc": args.berth}
    for name in ("runc", "crun"):
        path = shutil.which(name)
        if path:
            runtimes[name] = path
    work = tempfile.mkdtemp(prefix="berth-bench-")
    try:
        bundle = os.path.join(work, "bundle")
        make_bundle(bundle)
        times = {k: [] for k in runtimes}
        rss = {k: 0 for k in runtimes}
        for i in range(args.n):
            for name, path in runtimes.items():
                t, r = run_once(path, os.path.join(work, "root-" + name), bundle, f"b{i}",
                                os.path.join(work, "rss"))
                times[name].append(t)
                rss[name] = max(rss[name], r)
        base = statistics.median(times["berth-runc"])
        print(f"{'runtime':12} {'ms/container':>12} {'median ms':>10} {'peak RSS KiB':>13} "
              f"{'time ratio':>10} {'RSS ratio':>10}")
        for name in runtimes:
            med = statistics.median(times[name])
            mean = statistics.mean(times[name])
            print(f"{name:12} {mean * 1000:12.2f} {med * 1000:10.2f} {rss[name]:13d} "
                  f"{med / base:10.2f} {rss[name] / rss['berth-runc']:10.2f}")
        print("ratios are peer / berth-runc: above 1.00 means berth-runc is faster or smaller")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
