# SPDX-License-Identifier: Apache-2.0
"""berth-ctr driving the real containerd 1.6 (started privately by conftest.py, its
containerd-shim-runc-v2 running the runtime under test): run, detached tasks, exec, kill,
delete; and berth-ctr's output compared with the real ctr's against the same daemon, word for
word: the tables, `containers info`, the spec each makes for the same flags, the events of a
run, and the errors of bad input.
"""

import os
import re
import select
import subprocess

import pytest

from conftest import run, wait_for

pytestmark = pytest.mark.interop

IMAGE = "docker.io/library/busybox:latest"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def berth_ctr_path():
    build = os.environ.get("BERTH_BUILD") or os.path.join(REPO, "build-release")
    path = os.path.join(os.path.abspath(build), "ctr", "berth-ctr")
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} is not built")
    return path


@pytest.fixture
def c(containerd):
    """The module's containerd, with berth-ctr beside ctr; each test leaves no container."""
    containerd.berth_ctr = berth_ctr_path()
    yield containerd
    left = containerd.ctr_ok("containers", "ls", "-q").split()
    containerd.cleanup_containers()
    assert left == [], left


def bctr(c, *args, input=None):
    return run([c.berth_ctr, "--address", c.address, "--namespace", c.namespace, *args],
               input=input)


def bok(c, *args):
    p = bctr(c, *args)
    assert p.returncode == 0, f"berth-ctr {' '.join(args)}: {p.returncode}\n{p.stderr}"
    return p.stdout


def task_status(c, cid):
    for line in c.ctr_ok("tasks", "ls").splitlines()[1:]:
        if line.split()[0] == cid:
            return line.split()[2]
    return None


def test_run_rm_and_exit_status(c):
    assert bok(c, "run", "--rm", *c.run_args(), IMAGE, "r1", "echo", "ok") == "ok\n"
    p = bctr(c, "run", "--rm", *c.run_args(), IMAGE, "r2", "sh", "-c", "echo e >&2; exit 3")
    assert (p.returncode, p.stderr) == (3, "e\n"), p
    p = bctr(c, "run", "--rm", *c.run_args(), IMAGE, "r3", "wc", "-c", input="x" * 70000)
    assert (p.returncode, p.stdout.strip()) == (0, "70000"), p
    assert c.ctr_ok("containers", "ls", "-q") == ""
    assert os.listdir(c.fifo_dir) == []


def test_detached_task_outputs_match_ctr(c):
    bok(c, "run", "-d", *c.run_args(), IMAGE, "d1", "sleep", "1000")
    state = c.runtime_state("d1")
    assert state and state["status"] == "running", state
    for args in (("tasks", "ls"), ("tasks", "ls", "-q"), ("containers", "ls"),
                 ("containers", "ls", "-q"), ("containers", "info", "d1"),
                 ("containers", "info", "--spec", "d1"), ("tasks", "ps", "d1")):
        assert bok(c, *args) == c.ctr_ok(*args), args
    p = bctr(c, "tasks", "exec", "--exec-id", "e1", "--fifo-dir", c.fifo_dir, "d1", "sh", "-c",
             "echo exec-ok; exit 4")
    assert (p.returncode, p.stdout) == (4, "exec-ok\n"), p
    bok(c, "tasks", "exec", "-d", "--exec-id", "e2", "--fifo-dir", c.fifo_dir, "d1", "sleep",
        "1000")
    assert bok(c, "tasks", "ps", "d1") == c.ctr_ok("tasks", "ps", "d1")
    assert "&ProcessDetails{ExecID:e2,XXX_unrecognized:[],}" in bok(c, "tasks", "ps", "d1")
    bok(c, "tasks", "pause", "d1")
    assert task_status(c, "d1") == "PAUSED"
    bok(c, "tasks", "resume", "d1")
    # metrics: the same rows (values move)
    rows = [line.split()[0] for line in bok(c, "tasks", "metrics", "d1").splitlines()[3:]]
    want = [line.split()[0] for line in c.ctr_ok("tasks", "metrics", "d1").splitlines()[3:]]
    assert rows == want, (rows, want)
    bok(c, "tasks", "kill", "-a", "-s", "SIGKILL", "d1")
    wait_for(lambda: task_status(c, "d1") == "STOPPED", what="d1 to stop")
    p = bctr(c, "tasks", "rm", "d1")
    assert p.returncode == 0 and "task d1 exit with non-zero exit code 137" in p.stderr, p
    bok(c, "containers", "rm", "d1")
    assert c.runtime_state("d1") is None


# The same flags through both: the specs must be the same bytes (once the ids are).
SPEC_FLAGS = [
    [],
    ["--env", "X=1", "--label", "a=b", "--annotation", "k=v", "--cwd", "/tmp", "--read-only"],
    ["--net-host", "--mount", "type=bind,src=/tmp,dst=/host,options=rbind:ro",
     "--with-ns", "network:/proc/1/ns/net", "--memory-limit", "100000000"],
    ["--privileged", "--cap-drop", "CAP_SYS_ADMIN", "--allow-new-privs", "-t"],
    ["--cap-add", "CAP_SYS_TIME", "--cpu-quota", "5000", "--rootfs-propagation", "rshared",
     "--device", "/dev/null", "--device", "/dev/zero"],
]


@pytest.mark.parametrize("flags", SPEC_FLAGS, ids=lambda f: " ".join(f) or "defaults")
def test_containers_match_ctrs(c, flags):
    c.ctr_ok("containers", "create", *flags, IMAGE, "via-ctr", "sleep", "1")
    bok(c, "containers", "create", *flags, IMAGE, "via-bt", "sleep", "1")

    def normal(text, cid):
        text = text.replace(cid, "ID")
        return re.sub(r'"(CreatedAt|UpdatedAt)": "[^"]*"', r'"\1": "T"', text)
    assert normal(c.ctr_ok("containers", "info", "via-bt"), "via-bt") == \
        normal(c.ctr_ok("containers", "info", "via-ctr"), "via-ctr")
    bok(c, "containers", "rm", "via-bt", "via-ctr")


def _read_lines(proc, lines, needle):
    buf = b""
    while not any(needle in line for line in lines):
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "\n".join(lines)
        chunk = os.read(proc.stdout.fileno(), 65536)
        assert chunk, "\n".join(lines)
        buf += chunk
        *done, buf = buf.split(b"\n")
        lines += [line.decode() for line in done]


def test_events_match_ctrs(c):
    subs = [subprocess.Popen([tool, "--address", c.address, "--namespace", c.namespace,
                              "events"], stdout=subprocess.PIPE)
            for tool in ("ctr", c.berth_ctr)]
    outs = [[], []]
    try:
        def subscribed():
            c.ctr_ok("namespaces", "label", c.namespace, "probe=1")
            return all(select.select([s.stdout], [], [], 0.2)[0] for s in subs)
        wait_for(subscribed, timeout=30, interval=0.1, what="the subscriptions")
        bok(c, "run", "--rm", *c.run_args(), IMAGE, "ev1", "true")
        for s, out in zip(subs, outs):
            _read_lines(s, out, " /containers/delete ")
    finally:
        for s in subs:
            s.kill()
            s.wait()
    # the same lines, timestamps included (the envelope's); the probes may differ in number
    outs = [[line for line in out if "/namespaces/" not in line] for out in outs]
    assert outs[1] == outs[0], "\n".join(outs[0] + ["---"] + outs[1])


# "{id}": a container id, one per tool
BAD = [
    ["run", "--rm", "docker.io/library/nope:latest", "{id}", "true"],
    ["run", "--bogus", IMAGE, "{id}"],
    ["run", IMAGE],
    ["run"],
    ["run", "-d", "--rm", IMAGE, "{id}"],
    ["containers", "info", "nope"],
    ["containers", "rm", "nope"],
    ["containers", "create"],
    ["tasks", "kill", "nope"],
    ["tasks", "ps"],
    ["tasks", "exec", "x", "true"],
    ["tasks", "kill", "-a", "--exec-id", "e", "x"],
    ["tasks", "metrics", "nope"],
    ["tasks", "pause", "nope"],
    ["containers", "create", "--device", "/nonexistent", IMAGE, "{id}"],
    ["containers", "create", "--mount", "type=bind,src", IMAGE, "{id}"],
    ["containers", "create", "--with-ns", "pid", IMAGE, "{id}"],
    ["containers", "create", "--cap-add", "NET_ADMIN", IMAGE, "{id}"],
]


def test_errors_match_ctrs(c):
    # each tool and each case its own id: the real ctr leaves a failed create's snapshot to
    # containerd's GC, which may not have run before the next case
    for i, args in enumerate(BAD):
        want = c.ctr(*[a.format(id=f"by-ctr{i}") for a in args])
        got = bctr(c, *[a.format(id=f"by-bt{i}") for a in args])
        last = [p.stderr.splitlines()[-1] if p.stderr else "" for p in (want, got)]
        assert (got.returncode, last[1]) == (want.returncode, last[0]), (args, want.stderr,
                                                                          got.stderr)
    # a container without a task
    c.ctr_ok("containers", "create", IMAGE, "notask")
    for args in (["tasks", "kill", "notask"], ["tasks", "rm", "notask"],
                 ["tasks", "exec", "--exec-id", "e", "notask", "true"]):
        want, got = c.ctr(*args), bctr(c, *args)
        assert (got.returncode, got.stderr.splitlines()[-1]) == \
            (want.returncode, want.stderr.splitlines()[-1]), args
    # an id in use
    want = c.ctr("run", "--rm", *c.run_args(), IMAGE, "notask", "true")
    got = bctr(c, "run", "--rm", *c.run_args(), IMAGE, "notask", "true")
    assert (got.returncode, got.stderr) == (want.returncode, want.stderr)
    bok(c, "containers", "rm", "notask")
