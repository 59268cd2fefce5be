# SPDX-License-Identifier: Apache-2.0
"""Real containerd 1.6 and ctr with berth-containerd-shim as the runtime
io.containerd.berth.v2 (containerd-shim-berth-v2 on containerd's PATH), which
runs the runtime under test ($BERTH_RUNTIME) as berth-runc.

    BERTH_RUNTIME=build/runc/berth-runc BERTH_SHIM=build/shim/berth-containerd-shim \\
        /usr/bin/python3 -m pytest tests/interop/test_shim_containerd.py
"""

import hashlib
import os
import select
import signal
import subprocess
import time

import pytest

from conftest import tail
from ocitest import cgroup_dirs, cgroup_v2_only, wait_for

pytestmark = pytest.mark.interop

IMAGE = "docker.io/library/busybox:latest"


def task_status(c, cid):
    for line in c.ctr_ok("tasks", "ls").splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == cid:
            return fields[-1]
    return None


def run_detached(c, cid, *cmd):
    c.ctr_ok("run", "-d", *c.run_args(), IMAGE, cid, *cmd)
    assert task_status(c, cid) == "RUNNING"


def kill_and_remove(c, cid):
    c.ctr("tasks", "kill", "--signal", "SIGKILL", cid)
    wait_for(lambda: task_status(c, cid) in ("STOPPED", None), what=f"{cid} to stop")
    c.ctr("tasks", "delete", cid)
    c.ctr_ok("containers", "delete", cid)


def shim_socket(c, cid):
    path = os.path.join(c.dir, "state", "io.containerd.runtime.v2.task", c.namespace,
                        cid, "address")
    with open(path) as f:
        return f.read()


def test_run_rm_echo(shim_containerd):
    c = shim_containerd
    out = c.ctr_ok("run", "--rm", *c.run_args(), IMAGE, "c1", "echo", "ok")
    assert out == "ok\n", out
    assert "c1" not in c.ctr_ok("containers", "ls", "-q").split()
    assert c.runtime_state("c1") is None, "runtime state left after --rm"
    wait_for(lambda: not c.shim_pids(), what="the shim to exit after the task's deletion")
    left = [d for d in cgroup_dirs(f"/{c.namespace}/c1") if os.path.exists(d)]
    assert not left, f"cgroups left: {left}"


def test_run_exit_code(shim_containerd):
    c = shim_containerd
    p = c.ctr("run", "--rm", *c.run_args(), IMAGE, "c3", "sh", "-c", "echo err >&2; exit 3")
    assert p.returncode == 3, f"ctr run must return the exit code:\n{p.stderr}"
    assert "err\n" in p.stderr


def test_socket_address_is_containerds(shim_containerd):
    """The shim's address follows containerd's SocketAddress, and the socket
    goes away with the shim."""
    c = shim_containerd
    run_detached(c, "addr1", "sleep", "1000")
    digest = hashlib.sha256(f"{c.address}/{c.namespace}/addr1".encode()).hexdigest()
    address = shim_socket(c, "addr1")
    assert address == f"unix:///run/containerd/s/{digest}"
    assert os.path.exists(address[len("unix://"):])
    kill_and_remove(c, "addr1")
    wait_for(lambda: not os.path.exists(address[len("unix://"):]),
             what="the shim's socket to be removed")


def test_detached_exec_pause_resume_kill(shim_containerd):
    c = shim_containerd
    cid = "c2"
    run_detached(c, cid, "sleep", "1000")
    state = c.runtime_state(cid)
    assert state and state["status"] == "running", \
        f"the runtime under test does not list {cid} as running: {state}"
    assert len(c.shim_pids()) >= 1, "our shim does not serve the task"

    out = c.ctr_ok("tasks", "exec", "--exec-id", "e1", cid, "echo", "hi")
    assert out == "hi\n", out
    p = c.ctr("tasks", "exec", "--exec-id", "e2", cid, "sh", "-c", "exit 5")
    assert p.returncode == 5, f"exec exit status:\n{p.stderr}"

    pids = c.ctr_ok("tasks", "ps", cid).splitlines()[1:]
    assert str(state["pid"]) in [line.split()[0] for line in pids], pids

    c.ctr_ok("tasks", "pause", cid)
    assert task_status(c, cid) == "PAUSED"
    c.ctr_ok("tasks", "resume", cid)
    assert task_status(c, cid) == "RUNNING"

    c.ctr_ok("tasks", "kill", "--signal", "SIGKILL", cid)
    wait_for(lambda: task_status(c, cid) == "STOPPED", what=f"task {cid} to stop")
    p = c.ctr("tasks", "delete", cid)
    assert p.returncode == 0, p.stderr
    assert "exit code 137" in p.stderr, p.stderr
    c.ctr_ok("containers", "delete", cid)
    assert c.runtime_state(cid) is None, "runtime state left after delete"


def test_metrics_and_unimplemented_checkpoint(shim_containerd):
    c = shim_containerd
    run_detached(c, "c5", "sleep", "1000")
    p = c.ctr("tasks", "checkpoint", "c5")
    assert p.returncode != 0 and "not implemented" in p.stderr, p.stderr
    p = c.ctr("tasks", "metrics", "c5")
    if cgroup_v2_only():
        # io.containerd.cgroups.v2.Metrics, printed by ctr's v2 table
        assert p.returncode == 0, p.stderr
        values = dict(line.split()[:2] for line in p.stdout.splitlines()
                      if line.startswith(("pids.", "memory.", "cpu.")))
        assert values.get("pids.current") == "1", p.stdout
        assert int(values.get("cpu.usage_usec", "0")) > 0, p.stdout
    else:
        assert p.returncode == 0, p.stderr
        values = dict(line.split()[:2] for line in p.stdout.splitlines()
                      if line.startswith(("pids.", "memory.", "cpuacct.usage ")))
        assert values.get("pids.current") == "1", p.stdout
        assert int(values.get("memory.usage_in_bytes", "0")) > 0, p.stdout
        assert int(values.get("cpuacct.usage", "0")) > 0, p.stdout
    assert task_status(c, "c5") == "RUNNING"
    kill_and_remove(c, "c5")


def test_events_in_order(shim_containerd):
    c = shim_containerd
    events = subprocess.Popen(["ctr", "--address", c.address, "--namespace", c.namespace,
                               "events"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        c.ctr_ok("run", "--rm", *c.run_args(), IMAGE, "ev1", "true")
        time.sleep(0.5)
    finally:
        events.send_signal(signal.SIGINT)
        out, _ = events.communicate(timeout=10)
    topics = [w for line in out.splitlines() if '"ev1"' in line
              for w in line.split() if w.startswith("/tasks/")]
    assert topics[:4] == ["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"], out


def test_terminal(shim_containerd):
    """ctr run -t: the pty master comes over the console socket and is relayed."""
    c = shim_containerd
    master, slave = os.openpty()
    p = subprocess.Popen(["ctr", "--address", c.address, "--namespace", c.namespace, "run",
                          "--rm", "-t", *c.run_args(), IMAGE, "tty1", "sh", "-c",
                          "tty; echo term-ok"],
                         stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 1)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    p.wait(timeout=30)
    os.close(master)
    text = out.decode(errors="replace")
    assert p.returncode == 0, text
    assert "/dev/pts/" in text and "term-ok" in text, text


def test_containerd_sigkill_and_restart(shim_containerd):
    """Containers outlive containerd: after kill -9 and a restart the task is
    still RUNNING, can be exec'd into and killed, and its exit is reported; a
    task that exited while containerd was down is STOPPED."""
    c = shim_containerd
    run_detached(c, "k1", "sleep", "1000")
    run_detached(c, "k2", "sh", "-c", "sleep 2; exit 4")
    shims = c.shim_pids()
    c.kill9_and_restart()
    assert set(shims) <= set(c.shim_pids()), "a shim died with containerd"
    assert task_status(c, "k1") == "RUNNING"
    out = c.ctr_ok("tasks", "exec", "--exec-id", "after", "k1", "echo", "still-here")
    assert out == "still-here\n", out
    wait_for(lambda: task_status(c, "k2") == "STOPPED", what="k2 to stop")
    p = c.ctr("tasks", "delete", "k2")
    assert "exit code 4" in p.stderr, p.stderr
    c.ctr_ok("containers", "delete", "k2")
    c.ctr_ok("tasks", "kill", "--signal", "SIGKILL", "k1")
    wait_for(lambda: task_status(c, "k1") == "STOPPED", what="k1 to stop")
    p = c.ctr("tasks", "delete", "k1")
    assert "exit code 137" in p.stderr, p.stderr
    c.ctr_ok("containers", "delete", "k1")


def test_exit_while_containerd_is_down(shim_containerd):
    c = shim_containerd
    run_detached(c, "d1", "sleep", "1000")
    pid = c.runtime_state("d1")["pid"]
    c.daemon.proc.kill()
    c.daemon.proc.wait()
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    c.kill9_and_restart()
    assert task_status(c, "d1") == "STOPPED"
    p = c.ctr("tasks", "delete", "d1")
    assert "exit code 137" in p.stderr, p.stderr
    c.ctr_ok("containers", "delete", "d1")


def test_killed_shim_is_cleaned_up_by_delete(shim_containerd):
    """containerd runs the shim's delete command when the shim dies: the
    runtime deletes the container and the rootfs is unmounted."""
    c = shim_containerd
    run_detached(c, "s1", "sleep", "1000")
    rootfs = os.path.join(c.dir, "state", "io.containerd.runtime.v2.task", c.namespace,
                          "s1", "rootfs")
    assert os.path.ismount(rootfs)
    shims = [pid for pid in c.shim_pids()
             if f"-id s1 " in open(f"/proc/{pid}/cmdline").read().replace("\0", " ")]
    assert len(shims) == 1, shims
    os.kill(shims[0], signal.SIGKILL)
    # ctr stops listing the task at once (its State fails); the cleanup takes longer
    try:
        wait_for(lambda: c.runtime_state("s1") is None and not os.path.ismount(rootfs),
                 timeout=30, what="containerd to clean up after the dead shim")
    except AssertionError as e:
        raise AssertionError(f"{e}; containerd log:\n{tail(c.daemon.log)}") from None
    assert task_status(c, "s1") is None
    c.ctr_ok("containers", "delete", "s1")


def test_oom_event(shim_containerd):
    """A container that outgrows its memory limit: the shim publishes /tasks/oom
    (containerd.events.TaskOOM) and the task exits with 137 (SIGKILL)."""
    c = shim_containerd
    events = subprocess.Popen(["ctr", "--address", c.address, "--namespace", c.namespace,
                               "events"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        p = c.ctr("run", "--rm", "--memory-limit", str(16 << 20), *c.run_args(), IMAGE,
                  "oom1", "sh", "-c", "tail /dev/zero")
        time.sleep(0.5)
    finally:
        events.send_signal(signal.SIGINT)
        out, _ = events.communicate(timeout=10)
    assert p.returncode == 137, f"exit status {p.returncode}:\n{p.stderr}"
    oom = [line for line in out.splitlines() if "/tasks/oom" in line]
    assert oom, f"no /tasks/oom event:\n{out}\ncontainerd log:\n{tail(c.daemon.log)}"
    assert '"oom1"' in oom[0], oom


def test_log_uri_file(shim_containerd, tmp_path):
    """ctr run --log-uri file://PATH: the shim appends the container's stdout and
    stderr to PATH (creating its directory), as containerd-shim-runc-v2."""
    c = shim_containerd
    log = tmp_path / "logs" / "c.log"
    c.ctr_ok("run", "--rm", "--log-uri", f"file://{log}", *c.run_args(), IMAGE, "log1",
             "sh", "-c", "echo hello-log; echo hello-err >&2")
    text = log.read_text()
    assert "hello-log\n" in text and "hello-err\n" in text, text


def test_log_uri_file_survives_containerd_kill(shim_containerd, tmp_path):
    """The container writes the log file itself: what it prints while containerd
    is down reaches the file."""
    c = shim_containerd
    log = tmp_path / "d.log"
    gate = tmp_path / "gate"
    gate.mkdir()
    c.ctr_ok("run", "-d", "--log-uri", f"file://{log}", "--mount",
             f"type=bind,src={gate},dst=/gate,options=rbind:rw", *c.run_args(), IMAGE, "log2",
             "sh", "-c", "echo before; while [ ! -e /gate/go ]; do sleep 0.1; done; "
             "echo while-down; sleep 1000")
    wait_for(lambda: log.exists() and "before" in log.read_text(), what="the first line")
    c.daemon.proc.kill()
    c.daemon.proc.wait()
    (gate / "go").touch()
    wait_for(lambda: "while-down" in log.read_text(), what="output while containerd is down")
    c.kill9_and_restart()
    assert task_status(c, "log2") == "RUNNING"
    kill_and_remove(c, "log2")
    assert log.read_text() == "before\nwhile-down\n", log.read_text()
