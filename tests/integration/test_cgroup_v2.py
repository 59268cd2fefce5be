# SPDX-License-Identifier: Apache-2.0
"""The runtime on a pure cgroup v2 host, simulated on this hybrid machine.

Each runtime command runs in a private mount namespace where the cgroup2
hierarchy (normally at /sys/fs/cgroup/unified) is mounted at /sys/fs/cgroup and
the v1 hierarchies are gone, so the runtime detects cgroup v2. It is the same
hierarchy the host sees under /sys/fs/cgroup/unified, so the test checks the
effects from outside. The v1 hierarchies keep their controllers, so no
resource limits can be set here: this covers creation, membership, the v2
freezer, kill, ps and removal.
"""
import json
import os
import stat

import pytest

from ocitest import Runtime, read_file, wait_for

UNIFIED = "/sys/fs/cgroup/unified"

WRAPPER = """#!/bin/sh
# Runs the runtime with cgroup2 at /sys/fs/cgroup and no v1 hierarchies.
exec unshare --mount --propagation private /bin/sh -c '
set -e
mnt=$(mktemp -d /tmp/berth-v2-XXXXXX)
mount --bind {unified} "$mnt"
umount -l /sys/fs/cgroup
mount --move "$mnt" /sys/fs/cgroup
rmdir "$mnt"
exec "$0" "$@"' {runtime} "$@"
"""


@pytest.fixture
def v2rt(runtime, workdir):
    if not os.path.isfile(os.path.join(UNIFIED, "cgroup.procs")):
        pytest.skip("no cgroup2 hierarchy at /sys/fs/cgroup/unified")
    path = os.path.join(workdir, "runtime-on-v2")
    with open(path, "w") as f:
        f.write(WRAPPER.format(unified=UNIFIED, runtime=runtime))
    os.chmod(path, stat.S_IRWXU)
    return Runtime(path, os.path.join(workdir, "state-v2"), workdir)


def unified_dir(b):
    return os.path.join(UNIFIED, b.cgroups_path.lstrip("/"))


def test_lifecycle_on_cgroup_v2(v2rt, bundle):
    b = bundle(["sh", "-c", "cat /proc/self/cgroup; sleep 300"])
    # v2 without controllers here: no resources (device rules are not v2 files)
    b.linux["resources"] = {}
    b.save()
    v2rt.track(b.id, b.cgroups_path)
    try:
        v2rt.start_running(b)
        pid = v2rt.state(b.id)["pid"]
        cgdir = unified_dir(b)
        procs = read_file(os.path.join(cgdir, "cgroup.procs")).split()
        assert str(pid) in procs, f"init {pid} not in {cgdir}/cgroup.procs: {procs}"
        wait_for(lambda: "0::" in b.stdout(), what="the container's /proc/self/cgroup")

        assert json.loads(v2rt.ok("ps", "--format", "json", b.id).out) == [pid]

        v2rt.ok("pause", b.id)
        assert read_file(os.path.join(cgdir, "cgroup.freeze")).strip() == "1"
        assert v2rt.status(b.id) == "paused"
        v2rt.ok("resume", b.id)
        assert read_file(os.path.join(cgdir, "cgroup.freeze")).strip() == "0"
        assert v2rt.status(b.id) == "running"

        assert v2rt.exec_ok(b.id, "echo", "in v2") == "in v2\n"

        v2rt.kill(b.id, "KILL")
        v2rt.wait_status(b.id, "stopped")
        v2rt.delete(b.id)
        assert not os.path.exists(cgdir), f"{cgdir} left behind"
    finally:
        v2rt.force_delete(b.id)


def test_default_device_rules_on_cgroup_v2(v2rt, bundle):
    """v2 has no devices controller: the rules become an eBPF program on the
    container's cgroup. The default char devices work, and a block device the
    defaults let it mknod (b *:* m) cannot be opened. /tmp is a tmpfs without
    nodev, and a char node made there works, so only the program refuses."""
    b = bundle(["sh", "-c",
                "head -c1 /dev/zero | wc -c"
                "; mknod /tmp/zero c 1 5 && head -c1 /tmp/zero | wc -c"
                "; mknod /tmp/sda b 8 0 && echo mknod-ok"
                "; head -c1 /tmp/sda; echo rc=$?"])
    for kind in ("bounding", "effective", "permitted"):
        b.process["capabilities"][kind].append("CAP_MKNOD")
    b.add_mount("/tmp", "tmpfs", "tmpfs", ["nosuid", "mode=1777"])
    b.save()
    try:
        r = v2rt.run(b)
        assert r.rc == 0, f"container run failed:\n{r}"
        assert r.out.split() == ["1", "1", "mknod-ok", "rc=1"], str(r)
        assert "Operation not permitted" in r.err, str(r)
    finally:
        v2rt.force_delete(b.id)
    assert not os.path.exists(unified_dir(b)), f"{unified_dir(b)} left behind"
