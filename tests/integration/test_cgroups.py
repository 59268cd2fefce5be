# SPDX-License-Identifier: Apache-2.0
"""linux.resources applied to the container's cgroup, seen from the host."""

import os

import pytest

from ocitest import cgroup_dirs, cgroup_path, cgroup_read, read_file

MIB = 1024 * 1024


def test_cgroup_created_at_cgroups_path(rt, bundle):
    b = bundle(["sleep", "1000"])
    pid = rt.start_running(b)["pid"]
    for controller in ("memory", "pids", "freezer", "cpu", "devices"):
        d = cgroup_path(controller, b.cgroups_path)
        assert os.path.isdir(d), f"no {controller} cgroup at {d}"
        procs = read_file(os.path.join(d, "cgroup.procs")).split()
        assert str(pid) in procs, f"init pid {pid} not in {d}/cgroup.procs"


def test_resources_from_config(rt, bundle):
    b = bundle(["sleep", "1000"])
    b.linux["resources"].update({
        "memory": {"limit": 32 * MIB},
        "pids": {"limit": 99},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
    })
    b.save()
    rt.start_running(b)
    path = b.cgroups_path
    assert int(cgroup_read("memory", path, "memory.limit_in_bytes", "memory.max")) == 32 * MIB
    assert cgroup_read("pids", path, "pids.max", "pids.max") == "99"
    if os.path.exists(os.path.join(cgroup_path("cpu", path), "cpu.shares")):
        assert cgroup_read("cpu", path, "cpu.shares", "cpu.weight") == "512"
        assert cgroup_read("cpu", path, "cpu.cfs_quota_us", "cpu.max") == "50000"
        assert cgroup_read("cpu", path, "cpu.cfs_period_us", "cpu.max") == "100000"
    else:
        assert cgroup_read("cpu", path, "cpu.max", "cpu.max") == "50000 100000"


def test_cgroups_removed_after_run(rt, bundle):
    b = bundle(["true"])
    rt.run_ok(b)
    left = [d for d in cgroup_dirs(b.cgroups_path) if os.path.exists(d)]
    assert not left, f"cgroup dirs left after run: {left}"


def test_memory_limit_oom_kill(rt, bundle):
    # dd allocates its 64 MiB buffer and fills it: over a 16 MiB limit the
    # kernel's OOM killer sends SIGKILL, so the exit code is 137.
    b = bundle(["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"])
    b.linux["resources"]["memory"] = {"limit": 16 * MIB}
    b.save()
    r = rt.run(b, timeout=60)
    assert r.rc == 137, f"a process over memory.limit must be OOM-killed (137):\n{r}"


def test_memory_limit_allows_small_process(rt, bundle):
    b = bundle(["dd", "if=/dev/zero", "of=/dev/null", "bs=1M", "count=1"])
    b.linux["resources"]["memory"] = {"limit": 16 * MIB}
    b.save()
    rt.run_ok(b)


@pytest.mark.berth_only
def test_tiny_memory_limit_starts(rt, bundle):
    if os.environ.get("BERTH_SANITIZED"):
        pytest.skip("an ASan/UBSan build's runtime cannot fit in 1 MiB: measured on release")
    # runc moves its Go init (~2 MiB resident) into the cgroup before it
    # writes the limit, so the kernel refuses 1 MiB ("unable to set memory
    # limit to 1048576 (current usage: ...)"). A C runtime's init must fit.
    b = bundle(["/bin/true"])
    b.linux["resources"]["memory"] = {"limit": 1 * MIB}
    b.save()
    rt.run_ok(b, timeout=30)
