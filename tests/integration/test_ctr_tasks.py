# SPDX-License-Identifier: Apache-2.0
"""berth-ctr's containers, tasks and events commands against berth-containerd (private
directories, ctrdaemon.py): ctr 1.6's output formats and exit statuses, the container record
with its spec, tasks through their life (start, attach, exec, ps, pause, resume, metrics, kill,
delete), the events a run publishes. Every test leaves no task, container or snapshot.
"""

import json
import os
import re
import select
import subprocess

from ctrdaemon import IMAGE, berth, ctr_image_tar, daemon  # noqa: F401  (fixtures)
from ocitest import wait_for


def stopped(berth, cid):
    wait_for(lambda: berth.tasks().get(cid, (0, "STOPPED"))[1] == "STOPPED", timeout=20,
             interval=0.05, what=f"{cid} to stop")


def test_containers_create_list_info_label_delete(berth):
    berth.ok("containers", "create", "--label", "a=b", "--env", "X=1", IMAGE, "c1", "echo", "hi")
    out = berth.ok("containers", "ls")
    lines = out.splitlines()
    assert lines[0] == "CONTAINER    IMAGE                               RUNTIME                  "
    assert lines[1].split() == ["c1", IMAGE, "io.containerd.runc.v2"], out
    assert berth.ok("c", "list", "--quiet") == "c1\n"
    assert berth.ok("container", "ls", "id==nope") == "CONTAINER    IMAGE    RUNTIME    \n"

    info = json.loads(berth.ok("containers", "info", "c1"))
    assert list(info) == ["ID", "Labels", "Image", "Runtime", "SnapshotKey", "Snapshotter",
                          "CreatedAt", "UpdatedAt", "Extensions", "Spec"], list(info)
    assert info["Labels"] == {"a": "b", "io.containerd.image.config.stop-signal": "SIGTERM"}
    assert info["Runtime"] == {"Name": "io.containerd.runc.v2",
                               "Options": {"type_url": "containerd.runc.v1.Options"}}
    assert (info["Image"], info["SnapshotKey"], info["Snapshotter"]) == (IMAGE, "c1", "overlayfs")
    assert info["Extensions"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", info["CreatedAt"])
    spec = info["Spec"]
    assert spec["process"]["args"] == ["echo", "hi"]
    assert spec["process"]["env"] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "X=1"]
    assert spec["process"]["user"] == {"uid": 0, "gid": 0, "additionalGids": [0]}
    assert spec["annotations"] == {"a": "b"}
    assert spec["linux"]["cgroupsPath"] == f"/{berth.ns}/c1"
    # MarshalIndent's layout, the spec's keys in Go's field order
    text = berth.ok("containers", "info", "--spec", "c1")
    assert text.startswith('{\n    "ociVersion": "1.0.2-dev",\n    "process": {\n        "user"')
    assert json.loads(text) == spec

    assert berth.ok("containers", "label", "c1", "x=1", "a=") == \
        "io.containerd.image.config.stop-signal=SIGTERM,x=1\n"
    assert berth.snapshots() == ["c1"]
    assert berth.ok("containers", "rm", "c1") == ""
    assert berth.containers() == [] and berth.snapshots() == []


def test_containers_delete_refusals_and_keep_snapshot(berth):
    berth.ok("containers", "create", IMAGE, "c1")
    # an id in use: refused (its snapshot key is taken), nothing made, nothing removed
    err = berth.fail("containers", "create", "--env", "A=1", IMAGE, "c1")
    assert err == 'ctr: snapshot "c1": already exists\n', err
    assert berth.containers() == ["c1"] and berth.snapshots() == ["c1"]
    assert "A=1" not in berth.ok("containers", "info", "c1")
    berth.ok("containers", "delete", "--keep-snapshot", "c1")
    assert berth.containers() == []
    # what is kept is nobody's: the daemon's garbage collection may take it any time
    if "c1" in berth.snapshots():
        p = berth.ctr("snapshots", "rm", "c1")
        assert p.returncode == 0 or "not found" in p.stderr, p.stderr

    berth.ok("run", "-d", "--fifo-dir", berth.fifo_dir, IMAGE, "c2", "sleep", "1000")
    err = berth.fail("containers", "rm", "c2", "nope")
    assert err.endswith("ctr: cannot delete a non stopped container: "
                        "{running 0 0001-01-01 00:00:00 +0000 UTC}\n"), err
    assert 'failed to delete container \\"nope\\"' in err, err
    berth.ok("tasks", "kill", "-s", "SIGKILL", "c2")
    stopped(berth, "c2")
    berth.ok("containers", "rm", "c2")  # the stopped task goes first, its FIFOs too
    assert berth.fifos() == []


def test_task_lifecycle_ls_ps_exec_pause_metrics_kill_delete(berth):
    berth.ok("run", "-d", "--fifo-dir", berth.fifo_dir, IMAGE, "t1", "sleep", "1000")
    out = berth.ok("tasks", "ls")
    pid = berth.tasks()["t1"][0]
    assert out == ("TASK    PID" + " " * (len(str(pid)) + 4 - 3) + "STATUS    \n"
                   f"t1      {pid}    RUNNING\n"), out
    assert berth.ok("t", "list", "-q") == "t1\n"

    p = berth.ctr("tasks", "exec", "--exec-id", "e1", "--fifo-dir", berth.fifo_dir, "t1",
                  "sh", "-c", "echo hi; echo err >&2; exit 4")
    assert (p.returncode, p.stdout, p.stderr) == (4, "hi\n", "err\n"), p
    assert berth.ok("task", "exec", "--exec-id", "e2", "--cwd", "/tmp", "--env", "Y=2",
                    "--fifo-dir", berth.fifo_dir, "t1", "sh", "-c", "pwd; echo $Y") == "/tmp\n2\n"
    berth.ok("tasks", "exec", "-d", "--exec-id", "e3", "--fifo-dir", berth.fifo_dir, "t1",
             "sleep", "1000")
    ps = berth.ok("tasks", "ps", "t1").splitlines()
    assert ps[0].split() == ["PID", "INFO"], ps
    assert ps[1].split() == [str(pid), "-"], ps
    assert ps[2].split()[1] == "&ProcessDetails{ExecID:e3,XXX_unrecognized:[],}", ps
    berth.ok("tasks", "kill", "--exec-id", "e3", "-s", "KILL", "t1")

    berth.ok("tasks", "pause", "t1")
    assert berth.tasks()["t1"][1] == "PAUSED"
    berth.ok("tasks", "resume", "t1")
    assert berth.tasks()["t1"][1] == "RUNNING"

    table = berth.ok("tasks", "metrics", "t1").splitlines()
    assert table[0].split() == ["ID", "TIMESTAMP"], table
    assert table[1].startswith("t1    ") and table[1].rstrip().endswith("+0000 UTC"), table
    assert table[2] == "" and table[3].split() == ["METRIC", "VALUE"], table
    names = [line.split()[0] for line in table[4:]]
    assert "pids.current" in names, names
    metrics = json.loads(berth.ok("tasks", "metric", "--format", "json", "t1"))
    assert metrics["pids"]["current"] >= 1, metrics
    err = berth.fail("tasks", "metrics", "--format", "yaml", "t1")
    assert err == "ctr: format must be table or json\n", err

    # a running task is not deleted; SIGTERM (the stop signal) is ignored by pid 1
    err = berth.fail("tasks", "rm", "t1")
    assert err.endswith("ctr: task must be stopped before deletion: running: failed "
                        "precondition\n"), err
    berth.ok("tasks", "kill", "t1")
    assert berth.tasks()["t1"][1] == "RUNNING"
    berth.ok("tasks", "kill", "--all", "--signal", "9", "t1")
    stopped(berth, "t1")
    p = berth.ctr("tasks", "delete", "t1")
    assert p.returncode == 0 and "task t1 exit with non-zero exit code 137" in p.stderr, p
    assert berth.tasks() == {}
    berth.ok("containers", "delete", "t1")


def test_tasks_delete_force_and_exec_process(berth):
    berth.ok("run", "-d", "--fifo-dir", berth.fifo_dir, IMAGE, "t1", "sleep", "1000")
    berth.ok("tasks", "exec", "-d", "--exec-id", "e1", "--fifo-dir", berth.fifo_dir, "t1",
             "sh", "-c", "exit 3")
    wait_for(lambda: berth.ctr("tasks", "delete", "--exec-id", "e1", "t1").returncode == 3,
             timeout=20, interval=0.05, what="e1 to exit and be deleted")
    berth.ok("tasks", "rm", "-f", "t1")
    assert berth.tasks() == {}
    berth.ok("containers", "rm", "t1")


def test_tasks_start_and_attach(berth):
    # "--": containers create reorders its flags as ctr does, and -c is its --config
    berth.ok("containers", "create", IMAGE, "s1", "--", "sh", "-c", "echo started; exit 6")
    p = berth.ctr("tasks", "start", "--fifo-dir", berth.fifo_dir, "s1")
    assert (p.returncode, p.stdout) == (6, "started\n"), p
    assert berth.tasks() == {}  # deleted once it exited
    pid_file = os.path.join(berth.dir, "s1.pid")
    berth.ok("tasks", "start", "-d", "--pid-file", pid_file, "--null-io", "s1")
    with open(pid_file, encoding="utf-8") as f:
        assert int(f.read()) == berth.tasks()["s1"][0]
    stopped(berth, "s1")
    berth.ok("tasks", "rm", "s1")
    berth.ok("containers", "rm", "s1")

    berth.ok("run", "-d", "--fifo-dir", berth.fifo_dir, IMAGE, "a1", "sh", "-c",
             "read x; echo \"got $x\"; exit 9")
    p = berth.ctr("tasks", "attach", "a1", input="hello\n")
    assert (p.returncode, p.stdout) == (9, "got hello\n"), p
    assert berth.tasks() == {} and berth.fifos() == []
    berth.ok("containers", "rm", "a1")


def test_task_errors(berth):
    cases = [
        (("tasks", "kill", "nope"),
         f'ctr: container "nope" in namespace "{berth.ns}": not found\n'),
        (("tasks", "ps"), "ctr: container id must be provided\n"),
        (("tasks", "kill", "-a", "--exec-id", "x", "c"),
         "ctr: specify an exec-id or all; not both\n"),
        (("tasks", "exec", "c", "true"), 'ctr: Required flag "exec-id" not set\n'),
        (("tasks", "start", "--bogus", "c"), "ctr: flag provided but not defined: -bogus\n"),
        (("tasks", "frob"), "ctr: No help topic for 'frob'\n"),
    ]
    for args, want in cases:
        assert berth.fail(*args) == want, args
    berth.ok("containers", "create", IMAGE, "c1")
    for args in (("tasks", "kill", "c1"), ("tasks", "pause", "c1"), ("tasks", "ps", "c1"),
                 ("tasks", "metrics", "c1"), ("tasks", "attach", "c1"),
                 ("tasks", "exec", "--exec-id", "e", "c1", "true")):
        assert berth.fail(*args) == "ctr: no running task found: task c1 not found: not found\n"
    assert berth.fail("tasks", "kill", "-s", "SIGNOPE", "c1") == "ctr: invalid signal: SIGNOPE\n"
    err = berth.fail("tasks", "rm", "c1")
    assert err.endswith("ctr: no running task found: task c1 not found: not found\n"), err
    berth.ok("containers", "rm", "c1")
    assert berth.fifos() == []


def _read_until(proc, lines, needle):
    """Lines of proc's stdout (binary, unbuffered reads) until one has needle."""
    buf = b""
    while not any(needle in line for line in lines):
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "\n".join(lines)
        chunk = os.read(proc.stdout.fileno(), 65536)
        assert chunk, "\n".join(lines)
        buf += chunk
        *done, buf = buf.split(b"\n")
        lines += [line.decode() for line in done]
    return lines


def test_events_of_a_run(berth):
    """`events` prints what a run publishes as ctr does; a filter selects topics."""
    events = subprocess.Popen(berth.argv("events"), stdout=subprocess.PIPE)
    other = subprocess.Popen(berth.argv("events", 'topic~="^/(tasks/exit|namespaces/update)$"'),
                             stdout=subprocess.PIPE)
    lines, exits = [], []
    try:
        # both subscriptions are there once a namespace update reaches them
        def subscribed():
            berth.ok("namespaces", "label", berth.ns, "probe=1")
            return (select.select([events.stdout], [], [], 0.2)[0] and
                    select.select([other.stdout], [], [], 0.2)[0])
        wait_for(subscribed, timeout=20, interval=0.05, what="the subscriptions")
        _read_until(events, lines, " /namespaces/update ")
        _read_until(other, exits, " /namespaces/update ")
        p = berth.ctr("run", "--rm", "--fifo-dir", berth.fifo_dir, IMAGE, "ev1", "sh", "-c",
                      "exit 2")
        assert p.returncode == 2, p
        _read_until(events, lines, " /containers/delete ")
        _read_until(other, exits, " /tasks/exit ")
    finally:
        events.kill()
        other.kill()
        events.wait()
        other.wait()
    line_re = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC) (\S+) (\S+) (.*)")
    parsed = [line_re.fullmatch(line) for line in lines if "/namespaces/" not in line]
    assert all(parsed), lines
    assert {m.group(3) for m in parsed} == {berth.ns}
    topics = [m.group(4) for m in parsed]
    assert topics == ["/snapshot/prepare", "/containers/create", "/tasks/create", "/tasks/start",
                      "/tasks/exit", "/tasks/delete", "/snapshot/remove", "/containers/delete"]
    body = {m.group(4): json.loads(m.group(5)) for m in parsed}
    assert body["/containers/create"]["runtime"] == {
        "name": "io.containerd.runc.v2", "options": {"type_url": "containerd.runc.v1.Options"}}
    assert body["/tasks/create"]["io"]["stdout"].startswith(berth.fifo_dir + "/")
    assert body["/tasks/create"]["rootfs"][0]["type"] == "overlay"
    exit_ = body["/tasks/exit"]
    assert (exit_["container_id"], exit_["id"], exit_["exit_status"]) == ("ev1", "ev1", 2)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", exit_["exited_at"])
    assert body["/snapshot/remove"] == {"key": "ev1"}
    assert body["/containers/delete"] == {"id": "ev1"}
    assert {line.split(" ")[5] for line in exits} <= {"/tasks/exit", "/namespaces/update"}
