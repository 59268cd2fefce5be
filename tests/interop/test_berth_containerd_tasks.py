# SPDX-License-Identifier: Apache-2.0
"""Tasks on berth-containerd, driven by the real ctr (containerd 1.6): `ctr run` through
containerd-shim-runc-v2 (Debian's, with Debian's runc) and through our shim as
io.containerd.berth.v2 (berth-containerd-shim with berth-runc), found on the daemon's PATH
as containerd finds shims. Each test works in a namespace of its own and leaves no task,
shim, mount, bundle or shim socket behind; the daemon's log must hold no sanitizer report
(BERTH_BUILD=build-asan).
"""

import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from conftest import Daemon, make_workdir, pids_mentioning, remove_workdir, run, wait_for
from test_berth_containerd_ctr import REPO, daemon_path

pytestmark = pytest.mark.interop

IMAGE = "docker.io/library/busybox:latest"
RUNC_SHIM = "io.containerd.runc.v2"
BERTH_SHIM = "io.containerd.berth.v2"
SHIM_SOCKETS = "/run/containerd/s"
RUNC_ROOT = "/run/containerd/runc"


def build_dir():
    return os.path.abspath(os.environ.get("BERTH_BUILD") or os.path.join(REPO, "build-release"))


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


# the container ids these tests use; their shims' sockets are checked for leftovers
TEST_IDS = ("c1", "c2", "c3", "j1", "n1", "f1", "b1", "b2")


def leftover_shim_sockets(d, before):
    """Shim sockets that appeared since before and belong to d's namespace (named as
    containerd names them: sha256 of "<address>/<namespace>/<id>"); other sessions' shims
    are left out."""
    ours = {hashlib.sha256(f"{d.address}/{d.ns}/{cid}".encode()).hexdigest()
            for cid in TEST_IDS}
    return (shim_sockets() - before) & ours


def shim_sockets():
    try:
        return set(os.listdir(SHIM_SOCKETS))
    except FileNotFoundError:
        return set()


class Tasks:
    """berth-containerd with containerd-shim-berth-v2 and berth-runc on its PATH."""

    def __init__(self, workdir):
        self.dir = workdir
        self.address = os.path.join(workdir, "c.sock")
        self.state = os.path.join(workdir, "state")
        self.ns = "t" + uuid.uuid4().hex[:12]
        bin_dir = os.path.join(workdir, "bin")
        os.makedirs(bin_dir)
        build = build_dir()
        os.symlink(os.path.join(build, "shim", "berth-containerd-shim"),
                   os.path.join(bin_dir, "containerd-shim-berth-v2"))
        os.symlink(os.path.join(build, "runc", "berth-runc"), os.path.join(bin_dir, "berth-runc"))
        os.symlink(os.path.join(build, "shim", "berth-containerd-shim"),
                   os.path.join(bin_dir, "berth-containerd-shim"))
        env = dict(os.environ, PATH=bin_dir + ":" + os.environ.get("PATH", ""))
        # io.containerd.runc.v2 is berth-containerd-shim by default; these tests run it
        # through Debian's containerd-shim-runc-v2 (RUNC_SHIM) and ours as io.containerd.berth.v2
        config = os.path.join(workdir, "config.json")
        runc_v2 = shutil.which("containerd-shim-runc-v2") or "containerd-shim-runc-v2"
        with open(config, "w") as f:
            json.dump({"runtimes": {RUNC_SHIM: {"shim": runc_v2}}}, f)
        self.argv = [daemon_path(), "--config", config, "--address", self.address, "--root",
                     os.path.join(workdir, "root"), "--state", self.state, "--log-level", "debug"]
        self.env = env
        self.start()

    def start(self):
        self.daemon = Daemon("berth-containerd", self.dir, self.argv, env=self.env)
        self.daemon.wait_ready(lambda: self.ctr("version").returncode == 0)

    def crash_and_restart(self, while_down=None):
        """SIGKILL the daemon (its shims stay), run while_down, start it again on the same
        root, state and address."""
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait()
        if while_down:
            while_down()
        self.start()

    def ctr(self, *args, timeout=60):
        return run(["ctr", "--address", self.address, "--namespace", self.ns, *args],
                   timeout=timeout)

    def ok(self, *args, **kw):
        p = self.ctr(*args, **kw)
        assert p.returncode == 0, f"ctr {' '.join(args)}: {p.returncode}\n{p.stderr}"
        return p.stdout

    def tasks(self):
        """{id: (pid, status)} from `ctr task ls`."""
        out = {}
        for line in self.ok("task", "ls").splitlines()[1:]:
            f = line.split()
            out[f[0]] = (int(f[1]), f[2])
        return out

    def cleanup(self):
        """Kills and removes what a failed test left."""
        for tid in self.tasks():
            self.ctr("task", "kill", "-s", "SIGKILL", tid)
            wait_for(lambda: self.tasks().get(tid, (0, "STOPPED"))[1] == "STOPPED", timeout=20,
                     interval=0.1, what=f"task {tid} to stop")
            self.ok("task", "rm", tid)
        for line in self.ok("containers", "ls", "-q").splitlines():
            self.ok("containers", "rm", line.strip())

    def stop(self):
        self.daemon.stop()


@pytest.fixture
def berth(image_tar):
    path = daemon_path()
    assert os.access(path, os.X_OK), f"{path} is not built"
    workdir = make_workdir("btbt-")
    sockets = shim_sockets()
    d = None
    try:
        d = Tasks(workdir)
        d.ok("images", "import", image_tar)
        yield d
        d.cleanup()
        # both shims give runc --root /run/containerd/runc/<namespace>; runc leaves it
        try:
            os.rmdir(os.path.join(RUNC_ROOT, d.ns))
        except OSError:
            pass
        bundles = os.path.join(d.state, "io.containerd.runtime.v2.task", d.ns)
        assert not os.path.isdir(bundles) or not os.listdir(bundles), os.listdir(bundles)
        assert not leftover_shim_sockets(d, sockets), leftover_shim_sockets(d, sockets)
        d.stop()
        with open(d.daemon.log, errors="replace") as f:
            log = f.read()
        assert "Sanitizer" not in log and "runtime error:" not in log, log[-4000:]
    finally:
        if d:
            d.stop()
        remove_workdir(workdir)


@pytest.fixture(params=[RUNC_SHIM, BERTH_SHIM])
def shim(request):
    if request.param == RUNC_SHIM:
        for tool in ("containerd-shim-runc-v2", "runc"):
            if subprocess.run(["sh", "-c", f"command -v {tool}"],
                              capture_output=True).returncode != 0:
                pytest.skip(f"{tool} is not installed")
    else:
        for rel in ("shim/berth-containerd-shim", "runc/berth-runc"):
            if not os.access(os.path.join(build_dir(), rel), os.X_OK):
                pytest.skip(f"{rel} is not built")
    return request.param


def test_run_rm_echo(berth, shim):
    out = berth.ok("run", "--rm", "--runtime", shim, IMAGE, "c1", "echo", "ok")
    assert out == "ok\n", out
    assert berth.tasks() == {}
    assert berth.ok("containers", "ls", "-q") == ""


def test_run_exit_code(berth, shim):
    p = berth.ctr("run", "--rm", "--runtime", shim, IMAGE, "c1", "sh", "-c", "exit 3")
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert berth.tasks() == {}


def test_run_detached_ls_ps_kill_rm(berth, shim):
    berth.ok("run", "-d", "--runtime", shim, IMAGE, "c1", "sleep", "1000")
    tasks = berth.tasks()
    assert list(tasks) == ["c1"] and tasks["c1"][1] == "RUNNING", tasks
    pid = tasks["c1"][0]
    ps = berth.ok("task", "ps", "c1").splitlines()
    assert ps[0].split() == ["PID", "INFO"] and int(ps[1].split()[0]) == pid, ps
    # a running task cannot be removed
    assert berth.ctr("task", "rm", "c1").returncode != 0
    berth.ok("task", "kill", "-s", "SIGKILL", "c1")
    wait_for(lambda: berth.tasks()["c1"][1] == "STOPPED", timeout=20, interval=0.1,
             what="c1 to stop")
    assert not os.path.exists(f"/proc/{pid}")
    berth.ok("task", "rm", "c1")
    assert berth.tasks() == {}
    berth.ok("containers", "rm", "c1")
    assert berth.ok("containers", "ls", "-q") == ""


def test_task_errors(berth):
    p = berth.ctr("task", "kill", "nope")
    assert p.returncode != 0 and "not found" in p.stderr, p.stderr
    p = berth.ctr("task", "rm", "nope")
    assert p.returncode != 0 and "not found" in p.stderr, p.stderr
    berth.ok("containers", "create", "--runtime", "io.containerd.nosuch.v9", IMAGE, "c2")
    p = berth.ctr("task", "start", "c2")
    assert p.returncode != 0 and "containerd-shim-nosuch-v9" in p.stderr, p.stderr
    assert berth.tasks() == {}
    berth.ok("containers", "rm", "c2")
    # the runtime fails in Create: containerd's words, and no task, shim or bundle is left
    p = berth.ctr("run", "--rm", "--runc-binary", "/nonexistent/runc", IMAGE, "c3", "true")
    assert p.returncode != 0 and "failed to create shim task: OCI runtime create failed" in \
        p.stderr, p.stderr
    assert berth.tasks() == {}
    assert "c3" not in berth.ok("containers", "ls", "-q").split()  # --rm took it


def test_shim_events_reach_ctr_events(berth, shim):
    """The shim Forwards its events to <address>.ttrpc; `ctr events` sees them."""
    events = subprocess.Popen(["ctr", "--address", berth.address, "--namespace", berth.ns,
                               "events"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: berth.ctr("version").returncode == 0, timeout=10, interval=0.1,
                 what="daemon")
        berth.ok("run", "--rm", "--runtime", shim, IMAGE, "c1", "true")

        def topics():
            return [t for t in ("/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete")
                    if t in seen]
        seen = ""
        while len(topics()) < 4:
            ready, _, _ = select.select([events.stdout], [], [], 10)
            assert ready, f"events so far:\n{seen}"
            seen += os.read(events.stdout.fileno(), 65536).decode(errors="replace")
    finally:
        events.kill()
        events.wait()
    assert all(f" {berth.ns} " in line for line in seen.splitlines() if "/tasks/" in line), seen


def test_dead_shim_is_cleaned_up(berth, shim):
    """A shim killed under its task: the next call notices, runs `<shim> delete` (the
    container goes) and removes the task, as containerd does when a shim's connection closes."""
    berth.ok("run", "-d", "--runtime", shim, IMAGE, "c1", "sleep", "1000")
    pid = berth.tasks()["c1"][0]
    shims = [p for p in pids_mentioning(berth.dir) if b"-id\0c1\0" in cmdline(p)]
    assert shims, "no shim for c1"
    for p in shims:
        os.kill(p, signal.SIGKILL)
    wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in shims), timeout=10,
             interval=0.1, what="the shim to exit")
    assert berth.tasks() == {}
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=10, interval=0.1,
             what="the container's process to go")
    p = berth.ctr("task", "rm", "c1")
    assert p.returncode != 0 and "not found" in p.stderr, p.stderr
    berth.ok("containers", "rm", "c1")


def test_exec_pause_resume_metrics(berth, shim):
    berth.ok("run", "-d", "--runtime", shim, IMAGE, "c1", "sleep", "1000")
    p = berth.ctr("task", "exec", "--exec-id", "e1", "c1", "sh", "-c", "echo hi; exit 4")
    assert (p.returncode, p.stdout) == (4, "hi\n"), (p.returncode, p.stdout, p.stderr)
    berth.ok("task", "pause", "c1")
    assert berth.tasks()["c1"][1] == "PAUSED"
    berth.ok("task", "resume", "c1")
    assert berth.tasks()["c1"][1] == "RUNNING"
    out = berth.ok("task", "metrics", "c1")
    assert out.split()[:2] == ["ID", "TIMESTAMP"] and "\nc1 " in out, out
    berth.ok("task", "kill", "-s", "SIGKILL", "c1")
    wait_for(lambda: berth.tasks()["c1"][1] == "STOPPED", timeout=20, interval=0.1,
             what="c1 to stop")
    berth.ok("task", "rm", "c1")
    berth.ok("containers", "rm", "c1")


def test_restart_reconnects_running_task(berth, shim):
    """berth-containerd killed with SIGKILL and started again: the task is back, RUNNING with
    the same pid, and exec, kill, rm work through the reconnected shim."""
    berth.ok("run", "-d", "--runtime", shim, IMAGE, "c1", "sleep", "1000")
    pid = berth.tasks()["c1"][0]
    berth.crash_and_restart()
    assert berth.tasks() == {"c1": (pid, "RUNNING")}
    p = berth.ctr("task", "exec", "--exec-id", "e1", "c1", "sh", "-c", "echo hi; exit 4")
    assert (p.returncode, p.stdout) == (4, "hi\n"), (p.returncode, p.stdout, p.stderr)
    berth.ok("task", "kill", "-s", "SIGKILL", "c1")
    wait_for(lambda: berth.tasks()["c1"][1] == "STOPPED", timeout=20, interval=0.1,
             what="c1 to stop")
    assert not os.path.exists(f"/proc/{pid}")
    p = berth.ctr("task", "rm", "c1")
    assert p.returncode == 0 and "non-zero exit code 137" in p.stderr, p.stderr
    assert berth.tasks() == {}
    berth.ok("containers", "rm", "c1")


def test_restart_reports_exit_while_down(berth, shim):
    """A container that exits while berth-containerd is down is STOPPED with its exit status
    after the restart (its shim kept it)."""
    berth.ok("run", "-d", "--runtime", shim, IMAGE, "c1", "sh", "-c", "sleep 2; exit 7")
    pid = berth.tasks()["c1"][0]
    berth.crash_and_restart(lambda: wait_for(lambda: not os.path.exists(f"/proc/{pid}"),
                                             timeout=20, interval=0.1, what="c1 to exit"))
    assert berth.tasks() == {"c1": (pid, "STOPPED")}
    p = berth.ctr("task", "rm", "c1")
    assert p.returncode == 0 and "non-zero exit code 7\"" in p.stderr, p.stderr
    assert berth.tasks() == {}
    berth.ok("containers", "rm", "c1")


def test_restart_cleans_up_dead_shim(berth, shim):
    """A shim that died while berth-containerd was down: at start its bundle is cleaned up
    (`<shim> delete`, the container goes) and the task is not listed."""
    berth.ok("run", "-d", "--runtime", shim, IMAGE, "c1", "sleep", "1000")
    pid = berth.tasks()["c1"][0]
    shims = [p for p in pids_mentioning(berth.dir) if b"-id\0c1\0" in cmdline(p)]
    assert shims, "no shim for c1"

    def kill_shims():
        for p in shims:
            os.kill(p, signal.SIGKILL)
        wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in shims), timeout=10,
                 interval=0.1, what="the shim to exit")
    berth.crash_and_restart(kill_shims)
    assert berth.tasks() == {}
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=10, interval=0.1,
             what="the container's process to go")
    berth.ok("containers", "rm", "c1")


def test_runc_v2_is_our_shim_by_default(berth):
    """Without a runtimes entry, io.containerd.runc.v2 starts berth-containerd-shim (found on
    the daemon's PATH here, next to berth-containerd when installed)."""
    berth.stop()
    berth.argv = [a for i, a in enumerate(berth.argv)
                  if a != "--config" and (i == 0 or berth.argv[i - 1] != "--config")]
    berth.start()
    berth.ok("run", "-d", IMAGE, "c1", "sleep", "1000")
    shims = [p for p in pids_mentioning(berth.dir) if b"-id\0c1\0" in cmdline(p)]
    assert shims and all(os.path.basename(os.path.realpath(f"/proc/{p}/exe")).startswith(
        "berth-containerd-shim") for p in shims), [cmdline(p) for p in shims]
    berth.ok("task", "kill", "-s", "SIGKILL", "c1")
    wait_for(lambda: berth.tasks()["c1"][1] == "STOPPED", timeout=20, interval=0.1,
             what="c1 to stop")
    berth.ok("task", "rm", "c1")
    berth.ok("containers", "rm", "c1")


def test_bad_runtimes_config_is_refused(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"runtimes": {"io.containerd.runc.v2": {"shim": 7}}}')
    p = run([daemon_path(), "--config", str(config), "--address", str(tmp_path / "c.sock"),
             "--root", str(tmp_path / "root"), "--state", str(tmp_path / "state")], timeout=20)
    assert p.returncode != 0 and "runtimes.io.containerd.runc.v2.shim" in p.stderr, p.stderr
    assert not (tmp_path / "c.sock").exists()


def test_metrics_of_the_named_task(berth):
    """ctr asks Metrics with the filter id==<id> and prints the first answer: each task's own
    metrics come back, not the first task's; a bad filter is INVALID_ARGUMENT."""
    for cid in ("c1", "c2"):
        berth.ok("run", "-d", "--runtime", BERTH_SHIM, IMAGE, cid, "sleep", "1000")
    for cid in ("c2", "c1"):
        rows = berth.ok("task", "metrics", cid).splitlines()
        assert rows[1].split()[0] == cid, rows
    for cid in ("c1", "c2"):
        berth.ok("task", "kill", "-s", "SIGKILL", cid)
        wait_for(lambda: berth.tasks()[cid][1] == "STOPPED", timeout=20, interval=0.1,
                 what=f"{cid} to stop")
        berth.ok("task", "rm", cid)
        berth.ok("containers", "rm", cid)


def test_exit_while_daemon_down_is_published_after_restart(berth, shim):
    """A container exits while berth-containerd is down: its shim keeps retrying the
    /tasks/exit event (containerd-shim-runc-v2 for 15 s, ours on the same schedule), so a
    subscriber of the restarted daemon (dockerd, say) learns of the exit."""
    berth.ok("run", "-d", "--runtime", shim, IMAGE, "c1", "sh", "-c", "sleep 1; exit 7")
    pid = berth.tasks()["c1"][0]

    def exit_then_wait():
        wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=20, interval=0.05,
                 what="c1 to exit")
        time.sleep(2)  # down for longer than a few quick retries

    berth.crash_and_restart(exit_then_wait)
    events = subprocess.Popen(["ctr", "--address", berth.address, "events"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = ""
        deadline = time.monotonic() + 20
        while "/tasks/exit" not in line and time.monotonic() < deadline:
            if select.select([events.stdout], [], [], 1)[0]:
                line = events.stdout.readline()
        assert "/tasks/exit" in line and '"exit_status":7' in line, line
    finally:
        events.kill()
        events.wait()
    berth.ok("task", "rm", "c1")
    berth.ok("containers", "rm", "c1")


def test_daemon_serves_while_a_runtime_is_slow(berth, tmp_path):
    """The shim's Create (runc create) runs off the daemon's loop: while the runtime is held
    at `create`, other calls are answered (before, the daemon answered nothing until runc
    returned). ctr's --runc-binary needs io.containerd.runc.v2 (containerd-shim-runc-v2 in
    this fixture); the daemon's side is the same for every shim."""
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    slow = tmp_path / "slow-runc"
    real = os.path.join(build_dir(), "runc", "berth-runc")
    slow.write_text("#!/bin/sh\n"
                    f'for a in "$@"; do [ "$a" = create ] && read x < {gate}; done\n'
                    f'exec {real} "$@"\n')
    slow.chmod(0o755)
    run = subprocess.Popen(["ctr", "--address", berth.address, "--namespace", berth.ns, "run",
                            "-d", "--runtime", RUNC_SHIM, "--runc-binary", str(slow), IMAGE, "c1",
                            "sleep", "1000"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: any(b"create" in cmdline(p) for p in pids_mentioning(str(slow))),
                 timeout=30, interval=0.05, what="the runtime to be held at create")
        assert berth.ctr("version", timeout=20).returncode == 0
        assert "c1" in berth.ok("containers", "ls", "-q", timeout=20).split()
    finally:
        try:  # let the runtime go on, if it is there to read
            fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
            os.write(fd, b"go\n")
            os.close(fd)
        except OSError:
            pass
        assert run.wait(timeout=60) == 0
    assert berth.tasks()["c1"][1] == "RUNNING"
    berth.ok("task", "kill", "-s", "SIGKILL", "c1")
    wait_for(lambda: berth.tasks()["c1"][1] == "STOPPED", timeout=20, interval=0.1,
             what="c1 to stop")
    berth.ok("task", "rm", "c1")
    berth.ok("containers", "rm", "c1")


def test_restart_with_a_stopped_shim(berth, shim):
    """A shim that does not answer at start-up (stopped here) counts as dead after containerd's
    5 s shim load timeout: the daemon starts and serves (it waited 60 s per such shim before),
    and the task is cleaned up as containerd does."""
    berth.ok("run", "-d", "--runtime", shim, IMAGE, "c1", "sleep", "1000")
    shims = [p for p in pids_mentioning(berth.dir) if b"-id\0c1\0" in cmdline(p)]
    assert shims, "no shim for c1"
    try:
        berth.crash_and_restart(lambda: [os.kill(p, signal.SIGSTOP) for p in shims])
        assert berth.tasks() == {}
    finally:
        for p in shims:
            try:
                os.kill(p, signal.SIGKILL)
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass
    wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in shims), timeout=10,
             interval=0.1, what="the shim to go")
    berth.ok("containers", "rm", "c1")
