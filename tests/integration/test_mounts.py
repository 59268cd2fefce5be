# SPDX-License-Identifier: Apache-2.0
"""mounts, root.readonly, maskedPaths, readonlyPaths, sysctl and devices."""

import os

import pytest

from ocitest import assert_no_debris, read_file


def make_host_dir(workdir, name, files=None):
    path = os.path.join(workdir, name)
    os.mkdir(path)
    for fname, text in (files or {}).items():
        with open(os.path.join(path, fname), "w", encoding="utf-8") as f:
            f.write(text)
    return path


def test_tmpfs_size_and_mode(rt, bundle):
    b = bundle(["sh", "-c",
                "stat -c %a /scratch; df -k /scratch | tail -1 | awk '{print $2}';"
                "dd if=/dev/zero of=/scratch/big bs=1024 count=2048 >/dev/null 2>&1"
                " && echo wrote-2m || echo enospc"])
    b.add_mount("/scratch", "tmpfs", "tmpfs", ["size=1m", "mode=0750", "nosuid"])
    b.save()
    mode, size_kib, result = rt.run_ok(b).split()[:3]
    assert mode == "750"
    assert size_kib == "1024", f"tmpfs size=1m shows {size_kib} KiB"
    assert result == "enospc", "writing 2 MiB into a 1 MiB tmpfs must fail"


def test_rw_bind_writes_reach_host(rt, bundle, workdir):
    host = make_host_dir(workdir, "rw")
    b = bundle(["sh", "-c", "echo from-container > /data/out"])
    b.bind(host, "/data")
    b.save()
    rt.run_ok(b)
    assert read_file(os.path.join(host, "out")) == "from-container\n"


def test_ro_bind_refuses_writes(rt, bundle, workdir):
    host = make_host_dir(workdir, "ro", {"keep": "original\n"})
    b = bundle(["sh", "-c", "cat /data/keep; echo x > /data/keep || echo write-failed;"
                            " touch /data/new || echo touch-failed"])
    b.bind(host, "/data", readonly=True)
    b.save()
    out = rt.run(b)
    assert "original" in out.out
    assert "write-failed" in out.out and "touch-failed" in out.out, str(out)
    assert "Read-only file system" in out.err, str(out)
    assert read_file(os.path.join(host, "keep")) == "original\n"
    assert not os.path.exists(os.path.join(host, "new"))


def test_bind_host_file(rt, bundle, workdir):
    host_file = os.path.join(workdir, "hostfile")
    with open(host_file, "w", encoding="utf-8") as f:
        f.write("host-content\n")
    b = bundle(["cat", "/etc/berth-hostfile"])
    b.add_mount("/etc/berth-hostfile", "bind", host_file, ["bind", "ro"])
    b.save()
    assert rt.run_ok(b) == "host-content\n"


def test_bind_missing_source_fails(rt, bundle, workdir):
    missing = os.path.join(workdir, "no-such-source")
    b = bundle(["true"])
    b.bind(missing, "/data")
    b.save()
    r = rt.run(b)
    assert r.rc != 0, str(r)
    assert "no-such-source" in r.err, f"message must name the source:\n{r}"
    assert_no_debris(rt, b)


@pytest.mark.parametrize("target", ["/etc", "../../../../../../../../etc"])
def test_mount_through_symlink_stays_in_rootfs(rt, bundle, workdir, target):
    name = "berth-escape-" + os.path.basename(workdir)
    host = make_host_dir(workdir, "src", {"marker": "inside\n"})
    b = bundle(["sh", "-c", f"cat /etc/{name}/marker"])
    os.symlink(target, os.path.join(b.rootfs, "link"))
    b.add_mount(f"/link/{name}", "bind", host, ["rbind", "ro"])
    b.save()
    try:
        r = rt.run(b)
        assert r.rc == 0 and r.out == "inside\n", \
            f"the mount must land on the rootfs's /etc/{name}:\n{r}"
        assert not os.path.lexists(f"/etc/{name}"), "the mount escaped to the host's /etc"
        assert os.path.isdir(os.path.join(b.rootfs, "etc", name))
    finally:
        if os.path.isdir(f"/etc/{name}"):
            os.rmdir(f"/etc/{name}")


def test_masked_paths(rt, bundle):
    # Masked files read empty (a /dev/null bind); masked dirs list empty.
    # /proc/kcore is checked when this kernel has one (CONFIG_PROC_KCORE).
    files = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list")
             if os.path.exists(p)]
    dirs = [p for p in ("/sys/firmware", "/proc/acpi") if os.path.isdir(p)]
    assert files and dirs, "this kernel has none of the masked paths to check"
    script = "; ".join([f"echo {p} $(wc -c < {p})" for p in files] +
                       [f"echo {p} $(ls -A {p} | wc -l)" for p in dirs])
    b = bundle(["sh", "-c", script])
    assert set(files + dirs) <= set(b.linux["maskedPaths"])
    out = rt.run_ok(b).splitlines()
    for line in out:
        path, count = line.split()
        assert count == "0", f"{path} is in maskedPaths and must look empty"
    assert len(out) == len(files) + len(dirs), out


def test_unmasked_path_is_visible(rt, bundle):
    b = bundle(["sh", "-c", "wc -c < /proc/keys"])
    b.linux["maskedPaths"] = []
    b.save()
    assert int(rt.run_ok(b)) > 0, "without maskedPaths /proc/keys has content"


def test_readonly_paths(rt, bundle):
    b = bundle(["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward && echo wrote;"
                            " cat /proc/sys/net/ipv4/ip_forward"])
    r = rt.run(b)
    assert "wrote" not in r.out, f"/proc/sys is in readonlyPaths:\n{r}"
    assert "Read-only file system" in r.err, str(r)


def test_readonly_root(rt, bundle):
    b = bundle(["sh", "-c", "touch /x 2>&1; test -e /x && echo created"])
    assert b.config["root"]["readonly"] is True
    out = rt.run(b).out
    assert "Read-only file system" in out, out
    assert "created" not in out
    assert not os.path.exists(os.path.join(b.rootfs, "x"))


def test_writable_root(rt, bundle):
    b = bundle(["sh", "-c", "echo hi > /x"])
    b.config["root"]["readonly"] = False
    b.save()
    rt.run_ok(b)
    assert read_file(os.path.join(b.rootfs, "x")) == "hi\n"


def test_sysfs_readonly(rt, bundle):
    b = bundle(["sh", "-c", "mkdir /sys/fs/x 2>&1; grep ' /sys ' /proc/mounts"])
    out = rt.run(b).out
    assert "Read-only file system" in out, out
    assert " ro," in out.splitlines()[-1], out


def test_sysctl_in_new_netns(rt, bundle):
    host_value = read_file("/proc/sys/net/ipv4/ip_forward").strip()
    want = "0" if host_value == "1" else "1"
    b = bundle(["cat", "/proc/sys/net/ipv4/ip_forward"])
    b.linux["sysctl"] = {"net.ipv4.ip_forward": want}
    b.save()
    assert rt.run_ok(b).strip() == want
    assert read_file("/proc/sys/net/ipv4/ip_forward").strip() == host_value, \
        "the host's sysctl changed"


def test_sysctl_without_netns_refused(rt, bundle):
    b = bundle(["true"])
    b.remove_namespace("network")
    b.linux["sysctl"] = {"net.ipv4.ip_forward": "1"}
    b.save()
    host_value = read_file("/proc/sys/net/ipv4/ip_forward")
    r = rt.run(b)
    assert r.rc != 0, f"a net.* sysctl on the host's netns must be refused:\n{r}"
    assert "net.ipv4.ip_forward" in r.err, str(r)
    assert read_file("/proc/sys/net/ipv4/ip_forward") == host_value
    assert_no_debris(rt, b)


def test_linux_devices_node(rt, bundle):
    b = bundle(["stat", "-c", "%F %t:%T %a %u:%g", "/dev/fuse"])
    b.linux["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10,
                           "minor": 229, "fileMode": 0o640, "uid": 0, "gid": 5}]
    b.linux["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"})
    b.save()
    assert rt.run_ok(b).strip() == "character special file a:e5 640 0:5"


DEFAULT_DEVICES = {
    "/dev/null": "1:3",
    "/dev/zero": "1:5",
    "/dev/full": "1:7",
    "/dev/random": "1:8",
    "/dev/urandom": "1:9",
    "/dev/tty": "5:0",
}


def test_default_devices(rt, bundle):
    script = "; ".join(f"stat -c '%n|%F|%t:%T' {d}" for d in DEFAULT_DEVICES)
    script += ("; echo discard > /dev/null && echo null-ok"
               "; head -c 4 /dev/zero | wc -c"
               "; echo x > /dev/full || echo full-enospc"
               "; for l in fd stdin stdout stderr; do readlink /dev/$l; done"
               "; test -c /dev/ptmx -o -L /dev/ptmx && echo ptmx-ok")
    b = bundle(["sh", "-c", script])
    r = rt.run(b)
    lines = r.out.splitlines()
    for i, (dev, nums) in enumerate(DEFAULT_DEVICES.items()):
        name, kind, numbers = lines[i].split("|")
        assert name == dev and kind == "character special file", lines[i]
        major, minor = (int(x, 16) for x in numbers.split(":"))
        assert f"{major}:{minor}" == nums, f"{dev} is {major}:{minor}, want {nums}"
    rest = lines[len(DEFAULT_DEVICES):]
    assert rest[0] == "null-ok"
    assert rest[1].strip() == "4"
    assert "full-enospc" in rest and "No space left" in r.err, str(r)
    assert rest[rest.index("full-enospc") + 1:][:4] == [
        "/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2"], rest
    assert rest[-1] == "ptmx-ok"


def test_devices_cgroup_denies_mknod(rt, bundle):
    b = bundle(["sh", "-c", "mknod /dev/sdx b 8 0 && head -c1 /dev/sdx"])
    b.process["capabilities"]["bounding"].append("CAP_MKNOD")
    b.process["capabilities"]["effective"].append("CAP_MKNOD")
    b.process["capabilities"]["permitted"].append("CAP_MKNOD")
    b.save()
    r = rt.run(b)
    assert r.rc != 0, f"the default device rules must deny block devices:\n{r}"
    assert "Operation not permitted" in r.err, str(r)
