#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""berth-ctr side by side with Debian's ctr 1.6, the same commands against the same
berth-containerd (private socket and directories; its shim and berth-runc from the build),
interleaved: version, images ls, content ls, images import of the busybox docker-save tar,
and run --rm IMAGE id /bin/true. Prints the median wall time of each and the ratio
ctr / berth-ctr (above 1.00: berth-ctr is faster), and the clients' peak RSS. Not a test."""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "tests", "interop"))
sys.path.insert(0, HERE)
import conftest  # noqa: E402  (tests/interop: make_workdir, remove_workdir)
import ocitest  # noqa: E402

IMAGE = "docker.io/library/busybox:latest"


def load_containerd_bench():
    """bench/containerd-bench.py's BerthDaemon (the file name has a dash)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("containerd_bench",
                                                  os.path.join(HERE, "containerd-bench.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(argv):
    """Wall seconds and peak RSS (KiB) of argv, or (None, None) when it failed."""
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        sys.stderr.write(f"{' '.join(argv)}: {p.stderr}\n")
        return None, None
    return elapsed, int(p.stderr.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--build", default=os.path.join(TOP, "build-release"))
    args = ap.parse_args()
    os.environ["BERTH_BUILD"] = args.build
    clients = {"berth-ctr": os.path.join(args.build, "ctr", "berth-ctr"), "ctr": "/usr/bin/ctr"}
    work = conftest.make_workdir("btctrbench-")
    tar = os.path.join(work, "busybox.tar")
    subprocess.run([os.path.join(ocitest.IMAGES, "build-docker-save.sh"), tar], check=True,
                   stdout=subprocess.DEVNULL)
    daemon = None
    try:
        os.makedirs(os.path.join(work, "bc"))
        daemon = load_containerd_bench().BerthDaemon(os.path.join(work, "bc"), args.build)
        daemon.ctr("images", "import", tar)
        commands = {
            "version": lambda i: ["version"],
            "images ls": lambda i: ["images", "ls"],
            "content ls": lambda i: ["content", "ls"],
            "images import": lambda i: ["images", "import", tar],
            "run --rm": lambda i: ["run", "--rm", IMAGE, f"r{i}", "/bin/true"],
        }
        times = {(c, k): [] for c in commands for k in clients}
        rss = {k: 0 for k in clients}
        for i in range(args.n):
            for cmd, argv in commands.items():
                for name, exe in clients.items():
                    t, m = timed([exe, "--address", daemon.address, *argv(f"{name[0]}{i}")])
                    times[(cmd, name)].append(t)
                    rss[name] = max(rss[name], m or 0)
        print(f"{'':14} {'berth-ctr ms':>12} {'ctr ms':>9} {'ratio':>6}")
        for cmd in commands:
            b, c = times[(cmd, "berth-ctr")], times[(cmd, "ctr")]
            if None in b or None in c:
                print(f"{cmd:14} {'failed':>12}")
                continue
            mb, mc = statistics.median(b) * 1000, statistics.median(c) * 1000
            print(f"{cmd:14} {mb:12.1f} {mc:9.1f} {mc / mb:6.2f}")
        print(f"{'peak RSS KiB':14} {rss['berth-ctr']:12d} {rss['ctr']:9d} "
              f"{rss['ctr'] / max(rss['berth-ctr'], 1):6.2f}")
        print("ratio = ctr / berth-ctr: above 1.00 berth-ctr is faster or smaller")
    finally:
        if daemon:
            daemon.stop()
        conftest.remove_workdir(work)


if __name__ == "__main__":
    sys.exit(main())
