# SPDX-License-Identifier: Apache-2.0
"""Config sections and flags not covered elsewhere: --no-pivot, a bad console
socket, kill --all, personality, oomScoreAdj, domainname, time namespace."""
import fcntl
import json
import os
import select
import signal
import socket
import subprocess
import termios
import time

import pytest

from ocitest import assert_no_debris, pid_alive, read_file, wait_for

LONG = ["sleep", "300"]


def test_no_pivot_runs_in_rootfs(rt, bundle):
    b = bundle(["cat", "/etc/hostname"])
    b.config["hostname"] = "nopivot"
    b.save()
    with open(os.path.join(b.rootfs, "etc/hostname"), "w") as f:
        f.write("from-the-rootfs\n")
    assert rt.run_ok(b, "--no-pivot") == "from-the-rootfs\n"


@pytest.mark.parametrize("kind", ["missing", "not-a-socket"])
def test_bad_console_socket(rt, bundle, workdir, kind):
    b = bundle(["true"], terminal=True)
    path = os.path.join(workdir, "console.sock")
    if kind == "not-a-socket":
        with open(path, "w") as f:
            f.write("x")
    r = rt.create(b, "--console-socket", path)
    assert r.rc != 0, f"create with a {kind} console socket must fail:\n{r}"
    assert "console" in r.err, f"the error must name the console socket:\n{r}"
    assert_no_debris(rt, b)


def test_console_socket_that_closes_early(rt, bundle, workdir):
    """A listener that accepts and closes at once: create fails cleanly."""
    b = bundle(["true"], terminal=True)
    path = os.path.join(workdir, "closing.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.close()  # nobody accepts: connect is refused
    r = rt.create(b, "--console-socket", path)
    assert r.rc != 0, str(r)
    assert_no_debris(rt, b)


def test_kill_all_reaches_every_process(rt, bundle):
    b = bundle(["sh", "-c", "sleep 300 & sleep 300 & wait"])
    state = rt.start_running(b)
    wait_for(lambda: len(pids_of(rt, b.id)) >= 3, what="three processes")
    pids = pids_of(rt, b.id)
    rt.kill(b.id, "KILL", "--all")
    wait_for(lambda: not any(pid_alive(p) for p in pids), what="every process to die")
    rt.wait_status(b.id, "stopped")
    assert state["pid"] in pids


def pids_of(rt, cid):
    return json.loads(rt.ok("ps", "--format", "json", cid).out)


@pytest.mark.berth_only  # runc 1.1.5 ignores linux.personality (added in runc 1.2)
def test_personality_linux32(rt, bundle):
    b = bundle(["uname", "-m"])
    b.linux["personality"] = {"domain": "LINUX32"}
    b.save()
    assert rt.run_ok(b).strip() in ("i686", "i386")


def test_oom_score_adj_raised(rt, bundle):
    # Raising is always allowed; lowering needs CAP_SYS_RESOURCE, which this machine lacks.
    own = int(read_file("/proc/self/oom_score_adj"))
    want = min(own + 100, 1000)
    b = bundle(["cat", "/proc/self/oom_score_adj"])
    b.process["oomScoreAdj"] = want
    b.save()
    assert rt.run_ok(b).strip() == str(want)


@pytest.mark.berth_only  # runc 1.1.5 ignores domainname (added in runc 1.2)
def test_domainname(rt, bundle):
    b = bundle(["cat", "/proc/sys/kernel/domainname"])
    b.config["domainname"] = "example.test"
    b.save()
    assert rt.run_ok(b).strip() == "example.test"


@pytest.mark.skipif(not os.path.exists("/proc/self/ns/time"), reason="kernel without time namespaces")
@pytest.mark.berth_only  # runc 1.1.5 has no time namespaces (added in runc 1.2)
def test_time_namespace_offsets(rt, bundle):
    b = bundle(["cat", "/proc/uptime"])
    b.linux["namespaces"].append({"type": "time"})
    b.linux["timeOffsets"] = {"boottime": {"secs": 86400 * 400, "nanosecs": 0}}
    b.save()
    host_uptime = float(read_file("/proc/uptime").split()[0])
    uptime = float(rt.run_ok(b).split()[0])
    assert uptime >= 86400 * 400 + host_uptime - 5, f"uptime {uptime} lacks the offset"


def test_run_forwards_signals_to_the_container(rt, bundle):
    b = bundle(["sh", "-c", 'trap "echo got TERM; exit 5" TERM; echo ready; sleep 100 & wait'])
    rt.track(b.id, b.cgroups_path)
    with open(b.stdout_path, "wb") as out:
        p = subprocess.Popen(rt.argv("run", "--bundle", b.dir, b.id), stdout=out,
                             stderr=subprocess.DEVNULL)
        wait_for(lambda: "ready" in b.stdout(), what="the container to trap TERM")
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 5
    assert "got TERM" in b.stdout()


def run_on_a_terminal(argv, text, timeout=20):
    """Runs argv with a new pty as its controlling terminal and stdio (as a user at a
    terminal would), types text, and returns (exit code, everything it printed)."""
    master, slave = os.openpty()

    def take_terminal():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                         preexec_fn=take_terminal)
    os.close(slave)
    os.write(master, text.encode())
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every slave fd is closed
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    return p.wait(timeout=timeout), out.decode(errors="replace")


def test_run_foreground_terminal_without_console_socket(rt, bundle):
    """runc run keeps the pty itself when no --console-socket is given."""
    b = bundle(["sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty; read x; echo got-$x"],
               terminal=True)
    rc, out = run_on_a_terminal(rt.argv("run", "--bundle", b.dir, b.id), "hello\n")
    assert rc == 0, out
    assert "on-a-tty" in out and "got-hello" in out, out


def test_exec_tty_without_console_socket(rt, bundle):
    b = bundle(LONG)
    rt.start_running(b)
    rc, out = run_on_a_terminal(
        rt.argv("exec", "-t", b.id, "sh", "-c", "test -t 1 && echo exec-on-a-tty; exit 3"), "")
    assert rc == 3, out
    assert "exec-on-a-tty" in out, out
    r = rt.exec(b.id, "true", opts=("-t", "-d"))
    assert r.rc != 0 and "console" in r.err, f"--tty --detach needs a console socket:\n{r}"


def test_delete_force_paused_container(rt, bundle):
    """A frozen process cannot die until thawed: delete --force must thaw (as runc)."""
    b = bundle(["sh", "-c", "sleep 300 & sleep 300"])
    state = rt.start_running(b)
    rt.ok("pause", b.id)
    assert rt.status(b.id) == "paused"
    r = rt.cmd("delete", "--force", b.id, timeout=8)
    assert r.rc == 0, str(r)
    assert not pid_alive(state["pid"])
    assert_no_debris(rt, b)
