# SPDX-License-Identifier: Apache-2.0
"""linux.namespaces: new ones, joined ones (path), user namespace mappings."""

import os
import socket
import subprocess

import pytest

from ocitest import assert_no_debris, new_id, proc_status_field, read_file

ALL_TYPES = {
    # config type -> /proc/self/ns entry
    "pid": "pid",
    "network": "net",
    "ipc": "ipc",
    "uts": "uts",
    "mount": "mnt",
    "cgroup": "cgroup",
}


def host_ns(name):
    return os.readlink(f"/proc/self/ns/{name}")


def container_ns(rt, b):
    """{ns name: link} as seen by the container process."""
    names = sorted(ALL_TYPES.values())
    b.process["args"] = ["sh", "-c",
                         "for n in " + " ".join(names) + "; do "
                         "echo $n $(readlink /proc/self/ns/$n); done"]
    b.save()
    out = rt.run_ok(b)
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_new_namespaces_differ_from_host(rt, bundle):
    b = bundle()
    b.set_namespace("cgroup")
    seen = container_ns(rt, b)
    for ns_type, name in ALL_TYPES.items():
        assert seen[name] != host_ns(name), f"{ns_type} namespace must be new"


def test_omitted_namespaces_are_shared_with_host(rt, bundle):
    b = bundle()
    for ns_type in ("network", "ipc", "uts"):
        b.remove_namespace(ns_type)
    del b.config["hostname"]  # a hostname needs a private uts namespace
    seen = container_ns(rt, b)
    for name in ("net", "ipc", "uts"):
        assert seen[name] == host_ns(name), f"{name} namespace must be the host's"
    assert seen["pid"] != host_ns("pid")


def test_pid_namespace_init_is_pid_1(rt, bundle):
    b = bundle(["sh", "-c", "echo $$; ps -o pid | wc -l"])
    pid, lines = rt.run_ok(b).split()
    assert pid == "1"
    assert int(lines) <= 4, "a new pid namespace shows only the container's processes"


def test_uts_namespace_hostname(rt, bundle):
    before = socket.gethostname()
    b = bundle(["hostname"])
    b.config["hostname"] = "berth-uts-" + b.id[-4:]
    b.save()
    assert rt.run_ok(b).strip() == b.config["hostname"]
    assert socket.gethostname() == before, "the host's hostname changed"


def test_hostname_without_uts_namespace_fails(rt, bundle):
    b = bundle(["true"])
    b.config["hostname"] = "not-allowed"
    b.remove_namespace("uts")
    b.save()
    r = rt.run(b)
    assert r.rc != 0, f"hostname without a uts namespace must be refused:\n{r}"
    assert "hostname" in r.err.lower() or "uts" in r.err.lower(), str(r)
    assert_no_debris(rt, b)


def test_network_namespace_has_only_lo(rt, bundle):
    b = bundle(["cat", "/proc/net/dev"])
    lines = rt.run_ok(b).splitlines()[2:]
    ifaces = sorted(line.split(":")[0].strip() for line in lines)
    assert ifaces == ["lo"], f"a new network namespace must have only lo: {ifaces}"


@pytest.fixture
def netns():
    """A named network namespace (ip netns add) with 10.99.1.1 on lo."""
    name = new_id("btns")
    had_run_netns = os.path.exists("/run/netns")
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", name, "addr", "add", "10.99.1.1/32", "dev", "lo"],
                       check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
        # `ip netns add` made /run/netns a mount point; undo that if we did.
        if not had_run_netns and os.path.isdir("/run/netns") \
                and not os.listdir("/run/netns"):
            subprocess.run(["umount", "/run/netns"], check=False,
                           stderr=subprocess.DEVNULL)
            try:
                os.rmdir("/run/netns")
            except OSError:
                pass


def test_join_network_namespace_by_path(rt, bundle, netns):
    path = f"/run/netns/{netns}"
    b = bundle(["sh", "-c", "readlink /proc/self/ns/net; ip -o addr show dev lo"])
    b.set_namespace("network", path)
    b.save()
    out = rt.run_ok(b)
    link, addrs = out.split("\n", 1)
    assert link == f"net:[{os.stat(path).st_ino}]", "container is not in the given netns"
    assert "10.99.1.1/32" in addrs, addrs


def test_join_missing_namespace_path_fails(rt, bundle):
    b = bundle(["true"])
    b.set_namespace("network", "/run/netns/does-not-exist-" + b.id)
    b.save()
    r = rt.run(b)
    assert r.rc != 0, str(r)
    assert "does-not-exist" in r.err, f"message must name the path:\n{r}"
    assert_no_debris(rt, b)


def userns_bundle(bundle, args):
    b = bundle(args)
    b.set_namespace("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.save()
    return b


def test_user_namespace_mappings(rt, bundle):
    b = userns_bundle(bundle, ["sh", "-c", "id -u; id -g; cat /proc/self/uid_map "
                                           "/proc/self/gid_map"])
    lines = rt.run_ok(b).splitlines()
    assert lines[:2] == ["0", "0"], lines
    assert lines[2].split() == ["0", "100000", "65536"], f"uid_map: {lines[2]!r}"
    assert lines[3].split() == ["0", "100000", "65536"], f"gid_map: {lines[3]!r}"


def test_user_namespace_host_uid(rt, bundle):
    b = userns_bundle(bundle, ["sleep", "1000"])
    pid = rt.start_running(b)["pid"]
    status = read_file(f"/proc/{pid}/status")
    assert proc_status_field(status, "Uid").split()[0] == "100000"
    assert proc_status_field(status, "Gid").split()[0] == "100000"


def test_cgroup_namespace_root(rt, bundle):
    b = bundle(["cat", "/proc/self/cgroup"])
    b.set_namespace("cgroup")
    b.save()
    for line in rt.run_ok(b).splitlines():
        assert line.split(":", 2)[2] == "/", f"cgroup ns must hide the path: {line}"
