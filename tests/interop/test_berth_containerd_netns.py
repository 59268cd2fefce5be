# SPDX-License-Identifier: Apache-2.0
"""Persistent network namespaces of berth-containerd, driven by the real ctr: a container
labelled io.berth.netns=new gets a network namespace bound under <state>/netns/<ns>/<id> that
its spec joins; other containers join it by path (`ctr run --with-ns network:PATH`); it
outlives the container's tasks and a kill -9 of the daemon, and goes with the container.
Bad requests leave no namespace file or mount behind.
"""

import os

import pytest

from conftest import wait_for
from test_berth_containerd_faults import tasks  # noqa: F401 (fixture)
from test_berth_containerd_tasks import BERTH_SHIM, IMAGE

pytestmark = pytest.mark.interop

LABEL = "io.berth.netns"
PATH_LABEL = "io.berth.netns.path"


def netns_path(tasks, cid):
    return os.path.join(tasks.state, "netns", tasks.ns, cid)


def mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def netns_of(pid):
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def stop_task(tasks, cid):
    tasks.ok("task", "kill", "-s", "SIGKILL", cid)
    wait_for(lambda: tasks.tasks()[cid][1] == "STOPPED", timeout=20, interval=0.1,
             what=f"{cid} to stop")
    tasks.ok("task", "rm", cid)


def test_persistent_netns_joined_and_kept_across_restarts(tasks):
    tasks.ok("containers", "create", "--runtime", BERTH_SHIM, "--label", f"{LABEL}=new", IMAGE,
             "n1", "sleep", "1000")
    path = netns_path(tasks, "n1")
    info = tasks.ok("containers", "info", "n1")
    assert f'"{PATH_LABEL}": "{path}"' in info, info
    assert f'"path": "{path}"' in info, info  # the spec's network namespace
    assert mounted(path)
    inode = os.stat(path).st_ino
    assert inode != os.stat("/proc/self/ns/net").st_ino

    tasks.ok("task", "start", "-d", "n1")
    tasks.ok("run", "-d", "--runtime", BERTH_SHIM, "--with-ns", f"network:{path}", IMAGE, "j1",
             "sleep", "1000")
    state = tasks.tasks()
    assert netns_of(state["n1"][0]) == inode and netns_of(state["j1"][0]) == inode, state
    # only the loopback device, and it is down: no addresses are configured yet
    p = tasks.ctr("task", "exec", "--exec-id", "e1", "j1", "cat", "/proc/net/dev")
    devices = [line.split(":")[0].strip() for line in p.stdout.splitlines()[2:]]
    assert p.returncode == 0 and devices == ["lo"], p.stdout + p.stderr

    # the namespace outlives n1's task and a kill -9 of the daemon
    stop_task(tasks, "n1")
    tasks.crash_and_restart()
    assert mounted(path) and os.stat(path).st_ino == inode
    assert netns_of(tasks.tasks()["j1"][0]) == inode
    tasks.ok("task", "start", "-d", "n1")
    assert netns_of(tasks.tasks()["n1"][0]) == inode

    stop_task(tasks, "n1")
    stop_task(tasks, "j1")
    tasks.ok("containers", "rm", "j1", "n1")
    assert not os.path.exists(path) and not mounted(path)


def test_bad_netns_requests_leave_nothing(tasks):
    cases = [
        (["--net-host", "--label", f"{LABEL}=new"], "the spec has no network namespace"),
        (["--label", f"{LABEL}=bogus"], '"bogus": only "new" is known'),
        (["--label", f"{PATH_LABEL}=/tmp"], "set by the daemon"),
    ]
    for flags, words in cases:
        p = tasks.ctr("containers", "create", *flags, IMAGE, "b1")
        assert p.returncode != 0 and words in p.stderr and "invalid argument" in p.stderr, \
            p.stderr
        assert tasks.ok("containers", "ls", "-q") == ""
        assert not os.path.exists(netns_path(tasks, "b1"))
        assert not mounted(netns_path(tasks, "b1"))

    # an existing id keeps its namespace and gets containerd's error
    tasks.ok("containers", "create", "--label", f"{LABEL}=new", IMAGE, "b2")
    inode = os.stat(netns_path(tasks, "b2")).st_ino
    p = tasks.ctr("containers", "create", "--label", f"{LABEL}=new", IMAGE, "b2")
    assert p.returncode != 0 and "already exists" in p.stderr, p.stderr
    assert os.stat(netns_path(tasks, "b2")).st_ino == inode and mounted(netns_path(tasks, "b2"))
    tasks.ok("containers", "rm", "b2")
    assert not os.path.exists(netns_path(tasks, "b2"))
