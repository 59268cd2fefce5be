# SPDX-License-Identifier: Apache-2.0
"""Commands that need no container: spec, features, --version, help."""

import json
import os

EXPECTED_HOOKS = {"prestart", "createRuntime", "createContainer", "startContainer",
                  "poststart", "poststop"}
EXPECTED_NAMESPACES = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def test_version(rt):
    out = rt.ok("--version").out
    assert "version" in out and "spec: 1.0." in out, out


def test_spec_writes_config(rt, workdir):
    d = os.path.join(workdir, "spec")
    os.mkdir(d)
    rt.ok("spec", "--bundle", d)
    config = load_json(os.path.join(d, "config.json"))
    assert config["ociVersion"].startswith("1.0."), config["ociVersion"]
    assert config["root"] == {"path": "rootfs", "readonly": True}
    assert config["process"]["terminal"] is True
    assert config["process"]["args"] == ["sh"]
    types = {ns["type"] for ns in config["linux"]["namespaces"]}
    assert types == {"pid", "network", "ipc", "uts", "mount"}, types
    assert "/proc/kcore" in config["linux"]["maskedPaths"]
    assert "/proc/sys" in config["linux"]["readonlyPaths"]
    dests = [m["destination"] for m in config["mounts"]]
    for dest in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/sys"):
        assert dest in dests, f"spec lacks the {dest} mount"


def test_spec_refuses_to_overwrite(rt, workdir):
    d = os.path.join(workdir, "spec")
    os.mkdir(d)
    with open(os.path.join(d, "config.json"), "w", encoding="utf-8") as f:
        f.write("{}")
    r = rt.fail("spec", "--bundle", d)
    assert "config.json" in r.err, str(r)
    assert load_json(os.path.join(d, "config.json")) == {}


def test_spec_rootless(rt, workdir):
    d = os.path.join(workdir, "spec")
    os.mkdir(d)
    rt.ok("spec", "--rootless", "--bundle", d)
    linux = load_json(os.path.join(d, "config.json"))["linux"]
    types = {ns["type"] for ns in linux["namespaces"]}
    assert "user" in types and "network" not in types, types
    for key, host_id in (("uidMappings", os.geteuid()), ("gidMappings", os.getegid())):
        assert linux[key] == [{"containerID": 0, "hostID": host_id, "size": 1}], linux[key]


def test_spec_output_runs(rt, bundle):
    b = bundle()
    os.unlink(b.config_path)
    rt.ok("spec", "--bundle", b.dir)
    config = load_json(b.config_path)
    config["process"]["terminal"] = False
    config["process"]["args"] = ["echo", "spec-ok"]
    config["linux"]["cgroupsPath"] = b.cgroups_path
    b.config = config
    b.save()
    assert rt.run_ok(b) == "spec-ok\n"


def test_features(rt):
    features = json.loads(rt.ok("features").out)
    assert features["ociVersionMin"] == "1.0.0", features["ociVersionMin"]
    assert features["ociVersionMax"].startswith("1.0.2"), features["ociVersionMax"]
    assert EXPECTED_HOOKS <= set(features["hooks"]), features["hooks"]
    for opt in ("bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "rprivate"):
        assert opt in features["mountOptions"], f"mountOptions lacks {opt}"
    linux = features["linux"]
    assert EXPECTED_NAMESPACES <= set(linux["namespaces"]), linux["namespaces"]
    for cap in ("CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_RAW"):
        assert cap in linux["capabilities"], f"capabilities lacks {cap}"
    assert linux["cgroup"]["v1"] is True and linux["cgroup"]["v2"] is True, linux["cgroup"]
    seccomp = linux["seccomp"]
    assert seccomp["enabled"] is True
    for action in ("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"):
        assert action in seccomp["actions"], f"seccomp actions lack {action}"
    assert "SCMP_CMP_EQ" in seccomp["operators"]
    assert "SCMP_ARCH_X86_64" in seccomp["archs"]


def test_unknown_command_fails(rt):
    r = rt.fail("no-such-command")
    assert "no-such-command" in r.err or "no-such-command" in r.out, str(r)
