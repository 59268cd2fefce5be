#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write an OCI runtime config.json with the defaults of `runc spec` (runc 1.1.5).

Usable as a module (tests import default_config()) and as a command:

    make_config.py [-o FILE] [--terminal] [--rootless] [--rootfs PATH]
                   [--hostname NAME] [--cgroups-path PATH] [-- ARGS...]

The only deliberate difference from `runc spec` is process.terminal, which is
false unless --terminal is given, so a bundle runs with pass-through stdio.
No runtime is needed to produce the file.
"""

import argparse
import copy
import json
import os
import sys

OCI_VERSION = "1.0.2-dev"

DEFAULT_ENV = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
]

DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

MASKED_PATHS = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
]

READONLY_PATHS = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
]


def _mounts(rootless):
    devpts_opts = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]
    if not rootless:
        devpts_opts.append("gid=5")
    if rootless:
        sys_mount = {
            "destination": "/sys",
            "type": "none",
            "source": "/sys",
            "options": ["rbind", "nosuid", "noexec", "nodev", "ro"],
        }
    else:
        sys_mount = {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        }
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": devpts_opts,
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        sys_mount,
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
        },
    ]


def default_config(args=None, terminal=False, rootless=False, rootfs="rootfs",
                   hostname="runc", cgroups_path=None):
    """Return a fresh config dict; callers may change it freely."""
    caps = list(DEFAULT_CAPS)
    config = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": list(args) if args else ["sh"],
            "env": list(DEFAULT_ENV),
            "cwd": "/",
            "capabilities": {
                "bounding": list(caps),
                "effective": list(caps),
                "permitted": list(caps),
                "ambient": list(caps),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": True},
        "hostname": hostname,
        "mounts": _mounts(rootless),
        "linux": {
            "namespaces": [
                {"type": "pid"},
                {"type": "network"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
            ],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }
    if rootless:
        uid, gid = os.geteuid(), os.getegid()
        namespaces = [ns for ns in config["linux"]["namespaces"]
                      if ns["type"] != "network"] + [{"type": "user"}]
        config["linux"] = {
            "uidMappings": [{"containerID": 0, "hostID": uid, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": gid, "size": 1}],
            "namespaces": namespaces,
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        }
    else:
        config["linux"] = {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            **config["linux"],
        }
    linux = config["linux"]
    if cgroups_path:
        linux["cgroupsPath"] = cgroups_path
    return copy.deepcopy(config)


def write_config(path, config):
    """Write config as runc does (tab indented), atomically."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(config, f, indent="\t")
        f.write("\n")
    os.replace(tmp, path)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-o", "--output", default="-", help="file to write, - for stdout")
    p.add_argument("--terminal", action="store_true")
    p.add_argument("--rootless", action="store_true")
    p.add_argument("--rootfs", default="rootfs")
    p.add_argument("--hostname", default="runc")
    p.add_argument("--cgroups-path", default=None)
    p.add_argument("args", nargs="*", help="process.args (default: sh)")
    opts = p.parse_args(argv)
    config = default_config(args=opts.args, terminal=opts.terminal,
                            rootless=opts.rootless, rootfs=opts.rootfs,
                            hostname=opts.hostname, cgroups_path=opts.cgroups_path)
    if opts.output == "-":
        json.dump(config, sys.stdout, indent="\t")
        sys.stdout.write("\n")
    else:
        write_config(opts.output, config)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
