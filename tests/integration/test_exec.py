# SPDX-License-Identifier: Apache-2.0
"""exec, ps, pause/resume and update on a running container."""

import json
import os
import time

import pytest

from ocitest import (
    ConsoleSocket,
    cgroup_read,
    pid_alive,
    read_file,
    wait_for,
)

LONG = ["sleep", "1000"]


@pytest.fixture
def running(rt, bundle):
    b = bundle(LONG)
    rt.start_running(b)
    return b


def test_exec_echo(rt, running):
    assert rt.exec_ok(running.id, "echo", "hi") == "hi\n"


def test_exec_exit_code(rt, running):
    r = rt.exec(running.id, "sh", "-c", "exit 7")
    assert r.rc == 7, f"exec must return the process exit code:\n{r}"


def test_exec_env(rt, running):
    out = rt.exec_ok(running.id, "sh", "-c", 'echo "$FOO"',
                     opts=("--env", "FOO=bar baz"))
    assert out == "bar baz\n"


def test_exec_inherits_config_env(rt, running):
    out = rt.exec_ok(running.id, "sh", "-c", 'echo "$PATH"')
    assert out.strip() == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_exec_cwd(rt, running):
    assert rt.exec_ok(running.id, "pwd", opts=("--cwd", "/etc")) == "/etc\n"


def test_exec_user(rt, running):
    out = rt.exec_ok(running.id, "sh", "-c", "id -u; id -g",
                     opts=("--user", "1000:1000"))
    assert out.split() == ["1000", "1000"]


def test_exec_additional_gids(rt, running):
    out = rt.exec_ok(running.id, "id", "-G",
                     opts=("--user", "1000:1000", "--additional-gids", "65534"))
    assert set(out.split()) == {"1000", "65534"}, out


def test_exec_joins_container_namespaces(rt, running):
    out = rt.exec_ok(running.id, "sh", "-c", "hostname; echo $$; cat /proc/1/cmdline")
    hostname, pid, cmdline = out.split("\n")[:3]
    assert hostname == "runc", "exec must run in the container's uts namespace"
    assert int(pid) > 1
    assert cmdline.split("\0")[0] == "sleep", "pid 1 must be the container init"


def test_exec_process_file(rt, running, workdir):
    proc = dict(running.process)
    proc.update(args=["sh", "-c", 'echo "$WHO in $(pwd) as $(id -u)"'],
                env=proc["env"] + ["WHO=process-file"], cwd="/tmp",
                user={"uid": 65534, "gid": 65534})
    path = os.path.join(workdir, "process.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(proc, f)
    out = rt.exec_ok(running.id, opts=("--process", path))
    assert out == "process-file in /tmp as 65534\n"


def test_exec_detach_pid_file(rt, running, workdir):
    pid_file = os.path.join(workdir, "exec.pid")
    rt.exec_ok(running.id, "sleep", "1000", opts=("--detach", "--pid-file", pid_file))
    pid = int(read_file(pid_file))
    assert pid_alive(pid), f"detached exec pid {pid} is not running"
    # The pid may still be the runtime's init for a moment before it execs.
    wait_for(lambda: read_file(f"/proc/{pid}/cmdline").split("\0")[:2] == ["sleep", "1000"],
             what=f"pid {pid} to be the exec'd sleep "
                  f"(cmdline {read_file(f'/proc/{pid}/cmdline')!r})")
    listed = json.loads(rt.ok("ps", "--format", "json", running.id).out)
    assert pid in listed, f"ps does not list the exec'd pid {pid}: {listed}"


def test_exec_tty_console_socket(rt, running, workdir):
    console = ConsoleSocket(os.path.join(workdir, "console.sock"))
    try:
        rt.exec_ok(running.id, "sh", "-c", "test -t 1 && echo hello-tty; sleep 1",
                   opts=("--tty", "--detach", "--console-socket", console.path))
        out = console.wait_output("hello-tty")
        assert "hello-tty" in out
    finally:
        console.close()


def test_exec_in_stopped_container_fails(rt, bundle):
    b = bundle(["true"])
    rt.create_ok(b)
    rt.start(b.id)
    rt.wait_status(b.id, "stopped")
    r = rt.exec(b.id, "echo", "no")
    assert r.rc != 0, f"exec into a stopped container must fail:\n{r}"


# --- ps ---------------------------------------------------------------------

def test_ps_table_and_json(rt, running):
    pid = rt.state(running.id)["pid"]
    table = rt.ok("ps", running.id).out.splitlines()
    header = table[0].split()
    assert "PID" in header and "CMD" in header, table
    pid_col = header.index("PID")
    pids = [int(line.split()[pid_col]) for line in table[1:]]
    assert pid in pids, f"ps table lacks init pid {pid}:\n{table}"
    listed = json.loads(rt.ok("ps", "--format", "json", running.id).out)
    assert isinstance(listed, list) and pid in listed, listed


# --- pause / resume ---------------------------------------------------------

def read_counter(path):
    text = read_file(path, default="")
    return int(text) if text.strip().isdigit() else -1


def test_pause_resume(rt, bundle, workdir):
    host = os.path.join(workdir, "out")
    os.mkdir(host)
    counter = os.path.join(host, "count")
    b = bundle(["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /out/count.tmp;"
                            " mv /out/count.tmp /out/count; sleep 0.02; done"])
    b.bind(host, "/out")
    b.save()
    rt.start_running(b)
    wait_for(lambda: read_counter(counter) > 2, what="the counter to advance")

    rt.ok("pause", b.id)
    assert rt.status(b.id) == "paused"
    frozen = read_counter(counter)
    time.sleep(0.3)
    assert read_counter(counter) == frozen, "counter advanced while paused"

    rt.ok("resume", b.id)
    assert rt.status(b.id) == "running"
    wait_for(lambda: read_counter(counter) > frozen + 2,
             what="the counter to advance after resume")


def test_pause_stopped_container_fails(rt, bundle):
    b = bundle(["true"])
    rt.create_ok(b)
    rt.start(b.id)
    rt.wait_status(b.id, "stopped")
    assert rt.cmd("pause", b.id).rc != 0


# --- update -----------------------------------------------------------------

def test_update_memory_and_pids(rt, running):
    mib = 1024 * 1024
    rt.ok("update", "--memory", str(64 * mib), "--pids-limit", "77", running.id)
    mem = cgroup_read("memory", running.cgroups_path,
                      "memory.limit_in_bytes", "memory.max")
    assert int(mem) == 64 * mib, f"memory limit is {mem}"
    pids = cgroup_read("pids", running.cgroups_path, "pids.max", "pids.max")
    assert pids == "77", f"pids.max is {pids}"


def test_update_resources_json(rt, running, workdir):
    path = os.path.join(workdir, "resources.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"memory": {"limit": 48 * 1024 * 1024}, "pids": {"limit": 55}}, f)
    rt.ok("update", "--resources", path, running.id)
    mem = cgroup_read("memory", running.cgroups_path,
                      "memory.limit_in_bytes", "memory.max")
    assert int(mem) == 48 * 1024 * 1024
    assert cgroup_read("pids", running.cgroups_path, "pids.max", "pids.max") == "55"


def test_pids_limit_enforced(rt, bundle):
    b = bundle(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait"])
    b.linux.setdefault("resources", {})["pids"] = {"limit": 4}
    b.save()
    r = rt.run(b, timeout=20)
    assert "can't fork" in r.err or "Resource temporarily unavailable" in r.err \
        or "fork" in r.err.lower(), f"forking past pids.limit must fail:\n{r}"
