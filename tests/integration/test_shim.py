# SPDX-License-Identifier: Apache-2.0
"""berth-containerd-shim driven as containerd drives it, without containerd.

Each test starts the shim with "... start" in a bundle, serves a fake
containerd events endpoint (TTRPC_ADDRESS) and calls the Task service with
tests/shim-client's berth-shim-client. The shim runs berth-runc ($BERTH_RUNTIME,
put first on PATH) under its default root /run/containerd/runc/<namespace>.

$BERTH_SHIM names the shim (default: the one built next to $BERTH_RUNTIME,
else build/shim/berth-containerd-shim); the client, tests/shim-client's, is
taken from the shim's build dir (or $BERTH_SHIM_CLIENT).
"""

import json
import os
import socket
import subprocess
import struct

import pytest

import ocitest
import shimtest

SIGKILL = 9
TASK = "containerd.task.v2.Task"
INVALID_ARGUMENT = 3


@pytest.fixture
def shim_paths(runtime):
    shim, client = shimtest.shim_path(), shimtest.client_path()
    for path, what in ((shim, "BERTH_SHIM"), (client, "BERTH_SHIM_CLIENT")):
        if not os.access(path, os.X_OK):
            if os.environ.get(what):
                pytest.fail(f"{what}={path} is not an executable file")
            pytest.skip(f"{path} is not built; set {what}")
    if os.path.basename(runtime) != "berth-runc":
        pytest.skip(f"the shim runs berth-runc, not {os.path.basename(runtime)}")
    return shim


@pytest.fixture
def new_shim(shim_paths, runtime, workdir, bundle):
    """new_shim(b) -> a started shimtest.Shim for bundle b; all cleaned up after."""
    shims = []

    def start(b):
        s = shimtest.Shim(shim_paths, runtime, workdir, b, ocitest.new_id("ns"))
        shims.append(s)
        s.start()
        return s

    yield start
    problems = []
    for s in shims:
        problems += s.cleanup()
    assert not problems, "shim cleanup:\n  " + "\n  ".join(problems)


def running(new_shim, bundle, args=("sleep", "100")):
    """A shim with its container started; returns (shim, init pid)."""
    s = new_shim(bundle(list(args)))
    out, err = s.stdio("init")
    s.create(out, err)
    pid = int(s.ok("start", s.id))
    assert s.state()[0] == "RUNNING", f"state after Start: {s.state()}"
    return s, pid


def stop(s):
    """Kill the init process and delete the task; returns Delete's exit status."""
    s.ok("kill", s.id, SIGKILL, "all")
    assert s.ok("wait", s.id) == "137"
    return int(s.ok("delete", s.id))


def write_process(s, name, args, base):
    """A specs.Process JSON file for Exec, from the container's own process."""
    process = json.loads(json.dumps(base))
    process["args"] = list(args)
    path = os.path.join(s.workdir, f"{name}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(process, f)
    return path


def test_create_start_wait_echo(new_shim, bundle):
    b = bundle(["echo", "hello"])
    s = new_shim(b)
    out, err = s.stdio("init")
    pid = s.create(out, err)
    assert pid > 0 and ocitest.pid_alive(pid), f"Create answered pid {pid}"
    assert s.state() == ("CREATED", pid, 0)
    assert int(s.ok("start", s.id)) == pid
    assert s.ok("wait", s.id) == "0"
    assert out.wait_eof() == "hello\n", f"container stdout\n{s.log()}"
    assert err.wait_eof() == ""
    assert s.state() == ("STOPPED", pid, 0)
    assert s.ok("delete", s.id) == "0"
    assert "NOT_FOUND" in s.fail("state", s.id)


def test_events_in_order(new_shim, bundle):
    s = new_shim(bundle(["true"]))
    out, err = s.stdio("init")
    s.create(out, err)
    s.ok("start", s.id)
    s.ok("wait", s.id)
    s.ok("delete", s.id)
    s.containerd.wait_topic("/tasks/delete")
    assert s.containerd.topics() == ["/tasks/create", "/tasks/start", "/tasks/exit",
                                     "/tasks/delete"], s.log()
    assert {ns for ns, _ in s.containerd.events} == {s.ns}, \
        f"events not in namespace {s.ns}: {s.containerd.events}"
    assert set(s.containerd.calls) == {("containerd.services.events.ttrpc.v1.Events",
                                        "Forward")}
    assert not s.containerd.errors


def test_exit_code_reported_by_wait_and_delete(new_shim, bundle):
    s = new_shim(bundle(["sh", "-c", "echo bye >&2; exit 3"]))
    out, err = s.stdio("init")
    s.create(out, err)
    s.ok("start", s.id)
    assert s.ok("wait", s.id) == "3"
    assert err.wait_eof() == "bye\n"
    assert s.state()[0::2] == ("STOPPED", 3)
    assert s.ok("delete", s.id) == "3"


def test_exec_in_running_container(new_shim, bundle):
    s, _ = running(new_shim, bundle)
    spec = write_process(s, "e1", ["sh", "-c", "echo from-exec; exit 5"],
                         s.bundle.process)
    out, err = s.stdio("e1")
    s.ok("exec", s.id, "e1", spec, "", out.path, err.path)
    assert s.state("e1")[0] == "CREATED"
    pid = int(s.ok("start", s.id, "e1"))
    assert pid > 0
    assert s.ok("wait", s.id, "e1") == "5"
    assert out.wait_eof() == "from-exec\n", s.log()
    assert s.state("e1") == ("STOPPED", pid, 5)
    assert s.ok("delete", s.id, "e1") == "5"
    assert "NOT_FOUND" in s.fail("state", s.id, "e1")
    assert s.state()[0] == "RUNNING", "the exec's exit stopped the container"
    s.containerd.wait_topic("/tasks/exec-started")
    topics = s.containerd.topics()
    assert topics.index("/tasks/exec-added") < topics.index("/tasks/exec-started"), topics
    assert stop(s) == 137


def test_kill_then_wait_gives_137(new_shim, bundle):
    s, pid = running(new_shim, bundle)
    waiter = s.call_async("wait", s.id)
    s.wait_sent(waiter)
    s.ok("kill", s.id, SIGKILL)
    r = s.wait_call(waiter)
    assert (r.rc, r.out) == (0, "137\n"), f"a Wait made before the kill:\n{r}"
    assert s.ok("wait", s.id) == "137"
    assert s.state() == ("STOPPED", pid, 137)
    assert s.ok("delete", s.id) == "137"
    assert not ocitest.pid_alive(pid)


def test_pause_resume(new_shim, bundle):
    s, pid = running(new_shim, bundle)
    s.ok("pause", s.id)
    assert s.state() == ("PAUSED", pid, 0)
    s.ok("resume", s.id)
    assert s.state() == ("RUNNING", pid, 0)
    s.containerd.wait_topic("/tasks/resumed")
    topics = s.containerd.topics()
    assert topics.index("/tasks/paused") < topics.index("/tasks/resumed"), topics
    stop(s)


def test_pids_lists_init(new_shim, bundle):
    s, pid = running(new_shim, bundle)
    pids = [int(p) for p in s.ok("pids", s.id).split()]
    assert pid in pids, f"Pids {pids} lacks the init pid {pid}"
    stop(s)


def test_connect_names_shim_and_task(new_shim, bundle):
    s, pid = running(new_shim, bundle)
    shim_pid, task_pid = map(int, s.ok("connect", s.id).split())
    assert (shim_pid, task_pid) == (s.pid, pid)
    stop(s)


def test_shutdown_after_delete_exits_and_removes_socket(new_shim, bundle):
    s = new_shim(bundle(["true"]))
    out, err = s.stdio("init")
    s.create(out, err)
    s.ok("start", s.id)
    s.ok("wait", s.id)
    s.ok("delete", s.id)
    r = s.call("shutdown", s.id)
    # the shim may go before its answer does, as with containerd-shim-runc-v2
    assert r.rc == 0 or "connection closed" in r.err, f"Shutdown:\n{r}"
    s.wait_gone()
    assert not os.path.lexists(s.socket_path), f"{s.socket_path} left after Shutdown"


def test_shutdown_with_a_task_keeps_serving(new_shim, bundle):
    s, _ = running(new_shim, bundle)
    r = s.call("shutdown", s.id)
    assert r.rc == 0, f"Shutdown with a live task:\n{r}"
    assert ocitest.pid_alive(s.pid), "the shim exited with a task still running"
    assert s.state()[0] == "RUNNING"
    stop(s)


def test_broken_config_fails_create_cleanly(new_shim, bundle):
    b = bundle(["true"])
    with open(b.config_path, "w", encoding="utf-8") as f:
        f.write('{"ociVersion": "1.0.2", "process": {')
    s = new_shim(b)
    out, err = s.stdio("init")
    msg = s.fail("create", s.id, b.dir, "", out.path, err.path)
    assert "Create: " in msg and "config.json" in msg, f"unclear Create error: {msg!r}"
    state_dir = os.path.join(shimtest.RUNTIME_ROOT, s.ns, s.id)
    assert not os.path.lexists(state_dir), f"runtime state left at {state_dir}"
    assert ocitest.leftovers(os.path.join(shimtest.RUNTIME_ROOT, s.ns), s.id,
                             b.cgroups_path) == []
    assert "NOT_FOUND" in s.fail("state", s.id)
    assert "/tasks/create" not in s.containerd.topics()
    assert ocitest.pid_alive(s.pid), "the shim died of a failed Create"


def test_unknown_method_is_unimplemented(new_shim, bundle):
    s = new_shim(bundle(["true"]))
    msg = s.fail("raw", "containerd.task.v2.Task", "Frobnicate")
    assert "UNIMPLEMENTED" in msg and "Frobnicate" in msg, msg
    msg = s.fail("raw", "containerd.task.v9.Nothing", "State")
    assert "UNIMPLEMENTED" in msg and "containerd.task.v9.Nothing" in msg, msg


def test_undecodable_request_is_invalid_argument(new_shim, bundle):
    s = new_shim(bundle(["true"]))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(10)
        c.connect(s.socket_path)
        c.sendall(shimtest.request_frame(1, TASK, "State", b"\x0a\xff"))
        code, msg, _ = shimtest.read_response(c, 1)
        assert code == INVALID_ARGUMENT, f"undecodable StateRequest: status {code} {msg!r}"
        # the connection stays usable
        c.sendall(shimtest.request_frame(3, TASK, "Connect", shimtest.pb_string(1, s.id)))
        code, msg, _ = shimtest.read_response(c, 3)
        assert code == 0, f"Connect after a bad request: status {code} {msg!r}"


def closed_by_peer(sock, timeout=10.0):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_malformed_frame_closes_only_that_connection(new_shim, bundle):
    s, pid = running(new_shim, bundle)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bystander, \
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bad:
        bystander.connect(s.socket_path)
        bad.connect(s.socket_path)
        bad.sendall(struct.pack(">IIBB", 0xFFFFFFFF, 1, shimtest.TYPE_REQUEST, 0))
        assert closed_by_peer(bad), "an oversize frame did not close its connection"
        # the other connection and new ones are still served
        bystander.settimeout(10)
        bystander.sendall(shimtest.request_frame(1, TASK, "Connect", shimtest.pb_string(1, s.id)))
        code, msg, _ = shimtest.read_response(bystander, 1)
        assert code == 0, f"Connect on the other connection: status {code} {msg!r}"
    assert s.state() == ("RUNNING", pid, 0)
    stop(s)


def test_terminal_output_relayed(new_shim, bundle):
    s = new_shim(bundle(["sh", "-c", "tty; echo hi"], terminal=True))
    out, err = s.stdio("init")
    s.ok("create", s.id, s.bundle.dir, "", out.path, "", "terminal")
    s.ok("start", s.id)
    assert s.ok("wait", s.id) == "0"
    assert out.wait_eof() == "/dev/pts/0\r\nhi\r\n", s.log()
    assert s.ok("delete", s.id) == "0"


def test_duplicate_exec_id_is_rejected(new_shim, bundle):
    s, _ = running(new_shim, bundle)
    spec = write_process(s, "e1", ["true"], s.bundle.process)
    s.ok("exec", s.id, "e1", spec, "", "", "")
    msg = s.fail("exec", s.id, "e1", spec, "", "", "")
    assert "ALREADY_EXISTS" in msg, msg
    assert s.ok("delete", s.id, "e1") == "0"
    stop(s)


@pytest.mark.parametrize("peer", ["runc", "crun"])
def test_other_runtimes_through_binary_name(new_shim, bundle, workdir, peer):
    """containerd.runc.v1.Options' BinaryName and Root pick another OCI runtime: Debian's
    runc, and crun. crun 1.8 refuses hybrid hierarchies such as this host's, so its wrapper
    runs it in a private mount namespace without the cgroup2 mount and with its cgroup
    handling disabled."""
    binary = {"runc": "/usr/sbin/runc", "crun": "/usr/bin/crun"}[peer]
    assert os.access(binary, os.X_OK), f"{binary} is not installed (scripts/deps.sh)"
    if peer == "crun":
        wrapper = os.path.join(workdir, "crun-no-cgroups")
        with open(wrapper, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\nexec unshare -m --propagation private sh -c "
                    "'umount -l /sys/fs/cgroup/unified 2>/dev/null;"
                    f" exec {binary} --cgroup-manager=disabled \"$@\"' sh \"$@\"\n")
        os.chmod(wrapper, 0o755)
        binary = wrapper
    root = os.path.join(workdir, f"{peer}-root")
    s = new_shim(bundle(["sh", "-c", "echo hello from $0", peer]))
    out, err = s.stdio("init")
    try:
        pid = int(s.ok("create", s.id, s.bundle.dir, "", out.path, err.path, f"binary={binary}",
                       f"root={root}"))
        states = [os.path.join(dirpath, d) for dirpath, dirs, _ in os.walk(root)
                  for d in dirs if d == s.id]
        assert states, f"no state of {s.id} under {root}: the runtime was not {peer}"
        assert int(s.ok("start", s.id)) == pid
        assert s.ok("wait", s.id) == "0"
        assert out.wait_eof() == f"hello from {peer}\n", f"container stdout\n{s.log()}"
        assert s.ok("delete", s.id) == "0"
    finally:
        for dirpath, dirs, _ in os.walk(root):
            if s.id in dirs:
                subprocess.run([binary, "--root", dirpath, "delete", "--force", s.id],
                               capture_output=True)
