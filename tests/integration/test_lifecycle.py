# SPDX-License-Identifier: Apache-2.0
"""create/start/run/kill/delete/state/list and the error paths around them."""

import datetime
import json
import os
import re
import shutil

import pytest

from ocitest import assert_no_debris, pid_alive, read_file, wait_for

LONG = ["sleep", "1000"]


def parse_created(value):
    # RFC 3339 with nanoseconds (Go's time.Time JSON): keep microseconds.
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    assert m, f"created {value!r} is not RFC 3339"
    frac = (m.group(2) or ".0")[:7]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.datetime.fromisoformat(m.group(1) + frac + tz)


# --- run and exit codes -----------------------------------------------------

def test_run_prints_and_exits_zero(rt, bundle):
    b = bundle(["echo", "hello from berth"])
    assert rt.run_ok(b) == "hello from berth\n"


def test_run_returns_process_exit_code(rt, bundle):
    b = bundle(["sh", "-c", "exit 3"])
    r = rt.run(b)
    assert r.rc == 3, f"exit code of the container process must be returned:\n{r}"


def test_run_returns_128_plus_signal(rt, bundle):
    # Without a pid namespace the process is not an init, so SIGKILL to
    # itself really kills it (an init ignores it).
    b = bundle(["sh", "-c", "kill -KILL $$; sleep 5"])
    b.remove_namespace("pid")
    b.save()
    r = rt.run(b)
    assert r.rc == 128 + 9, f"a process killed by SIGKILL must give 137:\n{r}"


def test_run_removes_state_after_exit(rt, bundle):
    b = bundle(["true"])
    rt.run_ok(b)
    assert_no_debris(rt, b)


def test_run_detach(rt, bundle):
    b = bundle(LONG)
    rt.ok("run", "--detach", "--bundle", b.dir, b.id,
          stdout_path=b.stdout_path, stderr_path=b.stderr_path)
    assert rt.state(b.id)["status"] == "running"


# --- lifecycle --------------------------------------------------------------

def test_create_does_not_run_process_until_start(rt, bundle, workdir):
    host = os.path.join(workdir, "shared")
    os.mkdir(host)
    b = bundle(["touch", "/shared/x"])
    b.bind(host, "/shared")
    b.save()
    marker = os.path.join(host, "x")

    rt.create_ok(b)
    st = rt.state(b.id)
    assert st["status"] == "created", st
    assert pid_alive(st["pid"]), f"init pid {st['pid']} of a created container must exist"
    assert not os.path.exists(marker), "process ran before start"

    rt.start(b.id)
    wait_for(lambda: os.path.exists(marker), what="the process to run after start")
    rt.wait_status(b.id, "stopped")
    rt.delete(b.id)
    assert rt.cmd("state", b.id).rc != 0, "state of a deleted container must fail"
    assert_no_debris(rt, b)


def test_start_kill_delete(rt, bundle):
    b = bundle(LONG)
    st = rt.start_running(b)
    pid = st["pid"]
    assert pid_alive(pid)

    r = rt.cmd("delete", b.id)
    assert r.rc != 0, f"delete of a running container without --force must fail:\n{r}"
    assert rt.status(b.id) == "running"

    rt.kill(b.id, "KILL")
    rt.wait_status(b.id, "stopped")
    wait_for(lambda: not pid_alive(pid), what=f"pid {pid} to die")
    rt.delete(b.id)
    assert_no_debris(rt, b)


def test_kill_by_signal_name_and_number(rt, bundle):
    # A trap makes SIGUSR1 observable; then 9 (a number) stops it.
    b = bundle(["sh", "-c", "trap 'echo got-usr1' USR1; while true; do sleep 0.05; done"])
    rt.start_running(b)
    rt.kill(b.id, "SIGUSR1")
    wait_for(lambda: "got-usr1" in b.stdout(), what="the USR1 trap to run")
    assert rt.status(b.id) == "running"
    rt.kill(b.id, "9")
    rt.wait_status(b.id, "stopped")


def test_start_twice_fails(rt, bundle):
    b = bundle(LONG)
    rt.start_running(b)
    r = rt.cmd("start", b.id)
    assert r.rc != 0, f"a second start must fail:\n{r}"
    assert rt.status(b.id) == "running"


def test_delete_force_running(rt, bundle):
    b = bundle(LONG)
    pid = rt.start_running(b)["pid"]
    rt.delete(b.id, force=True)
    assert rt.cmd("state", b.id).rc != 0
    assert not pid_alive(pid), f"pid {pid} survived delete --force"
    assert_no_debris(rt, b)


def test_delete_force_created(rt, bundle):
    b = bundle(LONG)
    rt.create_ok(b)
    pid = rt.state(b.id)["pid"]
    rt.delete(b.id, force=True)
    assert not pid_alive(pid), f"init pid {pid} survived delete --force"
    assert_no_debris(rt, b)


def test_pid_file(rt, bundle, workdir):
    b = bundle(LONG)
    pid_file = os.path.join(workdir, "init.pid")
    rt.create_ok(b, "--pid-file", pid_file)
    text = read_file(pid_file)
    assert text.strip().isdigit(), f"pid file holds {text!r}"
    assert int(text) == rt.state(b.id)["pid"]


# --- state and list ---------------------------------------------------------

STATE_FIELDS = ("ociVersion", "id", "pid", "status", "bundle", "rootfs",
                "created", "owner")


def test_state_fields(rt, bundle):
    b = bundle(LONG)
    b.config["annotations"] = {"org.berth.test": "yes", "a.b": "c"}
    b.save()
    rt.create_ok(b)
    st = rt.state(b.id)
    for field in STATE_FIELDS + ("annotations",):
        assert field in st, f"state lacks {field}: {st}"
    assert re.match(r"^1\.\d+\.\d+", st["ociVersion"]), st["ociVersion"]
    assert st["id"] == b.id
    assert isinstance(st["pid"], int) and pid_alive(st["pid"])
    assert st["status"] == "created"
    assert st["bundle"] == os.path.realpath(b.dir)
    assert st["rootfs"] == os.path.realpath(b.rootfs)
    assert isinstance(st["owner"], str)
    created = parse_created(st["created"])
    age = datetime.datetime.now(datetime.timezone.utc) - created
    assert datetime.timedelta(0) <= age < datetime.timedelta(minutes=1), created
    assert st["annotations"] == {"org.berth.test": "yes", "a.b": "c"}

    rt.start(b.id)
    st = rt.state(b.id)
    assert st["status"] == "running"
    rt.kill(b.id)
    rt.wait_status(b.id, "stopped")
    st = rt.state(b.id)
    assert st["pid"] == 0, f"a stopped container reports pid 0: {st}"


def test_state_of_unknown_container_fails(rt):
    r = rt.cmd("state", "no-such-container")
    assert r.rc != 0, str(r)
    assert "does not exist" in r.err or "not exist" in r.err.lower(), str(r)


def test_list_table_json_quiet(rt, bundle):
    running = bundle(LONG)
    created = bundle(LONG)
    rt.start_running(running)
    rt.create_ok(created)
    pid = rt.state(running.id)["pid"]

    table = rt.ok("list").out.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], table
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert rows[running.id][1:3] == [str(pid), "running"], rows
    assert rows[running.id][3] == os.path.realpath(running.dir)
    assert rows[created.id][2] == "created", rows

    listed = json.loads(rt.ok("list", "--format", "json").out)
    by_id = {c["id"]: c for c in listed}
    assert set(by_id) == {running.id, created.id}
    for field in STATE_FIELDS:
        assert field in by_id[running.id], f"list JSON lacks {field}"
    assert by_id[running.id]["status"] == "running"
    assert by_id[running.id]["pid"] == pid
    assert by_id[created.id]["status"] == "created"

    quiet = rt.ok("list", "-q").out.split()
    assert sorted(quiet) == sorted([running.id, created.id])


def test_list_empty_root(rt):
    r = rt.ok("list", "--format", "json")
    assert json.loads(r.out or "null") in (None, []), r.out
    assert rt.ok("list", "-q").out.strip() == ""


# --- errors leave nothing behind --------------------------------------------

def test_duplicate_id_fails_and_keeps_first(rt, bundle):
    first = bundle(LONG)
    rt.create_ok(first)
    before = rt.state(first.id)
    second = bundle(LONG, cid=first.id)
    r = rt.create(second)
    assert r.rc != 0, f"creating a second container with the same id must fail:\n{r}"
    assert "exist" in r.err.lower(), f"message must say the id exists:\n{r}"
    after = rt.state(first.id)
    assert after["pid"] == before["pid"] and after["status"] == "created"
    assert after["bundle"] == os.path.realpath(first.dir)
    assert pid_alive(after["pid"])


@pytest.mark.berth_only
def test_duplicate_id_message_names_id(rt, bundle):
    # runc says only "container with given ID already exists".
    first = bundle(LONG)
    rt.create_ok(first)
    r = rt.create(bundle(LONG, cid=first.id))
    assert r.rc != 0 and first.id in r.err, f"message must name {first.id}:\n{r}"


def test_missing_rootfs(rt, bundle):
    b = bundle(LONG)
    shutil.rmtree(b.rootfs)
    r = rt.create(b)
    assert r.rc != 0, str(r)
    assert "rootfs" in r.err, f"message must name the rootfs:\n{r}"
    assert_no_debris(rt, b)


def test_truncated_config(rt, bundle):
    b = bundle(LONG)
    text = read_file(b.config_path)
    with open(b.config_path, "w", encoding="utf-8") as f:
        f.write(text[: len(text) // 2])
    r = rt.create(b)
    assert r.rc != 0, str(r)
    assert re.search(r"EOF|end of|premature|truncated|unexpected|parse", r.err, re.I), \
        f"message must say the JSON ended early:\n{r}"
    assert_no_debris(rt, b)


@pytest.mark.berth_only
def test_truncated_config_message_names_file(rt, bundle):
    # runc says only "unexpected EOF".
    b = bundle(LONG)
    text = read_file(b.config_path)
    with open(b.config_path, "w", encoding="utf-8") as f:
        f.write(text[: len(text) // 2])
    r = rt.create(b)
    assert r.rc != 0 and "config.json" in r.err, str(r)


def test_config_field_of_wrong_type(rt, bundle):
    b = bundle(LONG)
    b.process["args"] = "sleep 1000"
    b.save()
    r = rt.create(b)
    assert r.rc != 0, str(r)
    assert "args" in r.err, f"message must name process.args:\n{r}"
    assert_no_debris(rt, b)


def test_missing_config(rt, bundle):
    b = bundle(LONG)
    os.unlink(b.config_path)
    r = rt.create(b)
    assert r.rc != 0, str(r)
    assert "config.json" in r.err, f"message must name config.json:\n{r}"
    assert_no_debris(rt, b)


def test_unknown_namespace_type(rt, bundle):
    b = bundle(LONG)
    b.linux["namespaces"].append({"type": "bogusns"})
    b.save()
    r = rt.create(b)
    assert r.rc != 0, str(r)
    assert "bogusns" in r.err, f"message must name the namespace type:\n{r}"
    assert_no_debris(rt, b)


def test_missing_executable(rt, bundle):
    b = bundle(["/no/such/binary"])
    r = rt.run(b)
    assert r.rc != 0, str(r)
    assert "/no/such/binary" in r.err or "no such file" in r.err.lower(), str(r)
    assert_no_debris(rt, b)


def test_start_unknown_container_fails(rt):
    r = rt.cmd("start", "no-such-container")
    assert r.rc != 0, str(r)
    assert "not exist" in r.err.lower(), str(r)


def test_log_json_on_error(rt, workdir):
    log = os.path.join(workdir, "runtime-log.json")
    argv = [rt.path, "--root", rt.root, "--log", log, "--log-format", "json",
            "start", "no-such-container"]
    r = rt.cmd(argv=argv)
    assert r.rc != 0, str(r)
    lines = [line for line in read_file(log, "").splitlines() if line.strip()]
    assert lines, f"--log {log} is empty after an error:\n{r}"
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"log line is not JSON: {line!r}") from None
    errors = [e for e in entries if e.get("level") == "error"]
    assert errors, f"no level=error entry in {entries}"
    assert errors[-1].get("msg"), errors[-1]
    assert "time" in errors[-1], errors[-1]
