# SPDX-License-Identifier: Apache-2.0
"""berth-ctr run against berth-containerd (private directories, ctrdaemon.py): output and exit
statuses as ctr's, stdin, the options that shape the container (env, mounts, cwd, user,
read-only root, host network, joining a network namespace, resources), detached runs, a
terminal through a pty, signals forwarded, and bad input answered with ctr's words, exit
status 1 and nothing left behind (no container, snapshot or FIFO).
"""

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time

import ocitest
from ctrdaemon import IMAGE, berth, ctr_image_tar, daemon  # noqa: F401  (fixtures)
from ocitest import wait_for

DEFAULT_FIFO_DIR = "/run/berth/ctr/fifo"


def run(berth, *args, **kw):
    return berth.ctr("run", "--fifo-dir", berth.fifo_dir, *args, **kw)


def test_run_rm_output_stdin_and_exit_status(berth):
    p = run(berth, "--rm", IMAGE, "r1", "echo", "hi")
    assert (p.returncode, p.stdout, p.stderr) == (0, "hi\n", "")
    p = run(berth, "--rm", IMAGE, "r2", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (p.returncode, p.stdout, p.stderr) == (3, "out\n", "err\n")
    p = run(berth, "--rm", IMAGE, "r3", "sh", "-c", "wc -c; exit 300", input="x" * 100000)
    assert (p.returncode, p.stdout.strip()) == (300 & 0xff, "100000")
    assert berth.containers() == [] and berth.fifos() == []


def test_run_default_fifo_dir_is_berths_own(berth):
    made = [d for d in (DEFAULT_FIFO_DIR, os.path.dirname(DEFAULT_FIFO_DIR), "/run/berth")
            if not os.path.isdir(d)]
    before = set(os.listdir(DEFAULT_FIFO_DIR)) if DEFAULT_FIFO_DIR not in made else set()
    try:
        assert berth.ok("run", "--rm", IMAGE, "r1", "echo", "ok") == "ok\n"
        assert set(os.listdir(DEFAULT_FIFO_DIR)) == before  # its FIFO directory is gone
    finally:
        for d in made:  # deepest first
            try:
                os.rmdir(d)
            except OSError:
                pass


def test_run_env_mount_cwd_user_readonly(berth):
    share = os.path.join(berth.dir, "share")
    os.makedirs(share, exist_ok=True)
    with open(os.path.join(share, "f"), "w", encoding="utf-8") as f:
        f.write("shared\n")
    env_file = os.path.join(berth.dir, "env")
    with open(env_file, "w", encoding="utf-8") as f:
        f.write("A=1\r\nB=2\n")
    out = berth.ok("run", "--rm", "--fifo-dir", berth.fifo_dir, "--env-file", env_file,
                   "--env", "B=3", "--env", "C=4",
                   "--mount", f"type=bind,src={share},dst=/mnt,options=rbind:ro",
                   "--cwd", "/mnt", "--read-only", "--user", "tester", "--hostname", "box",
                   IMAGE, "r1", "sh", "-c",
                   "pwd; cat f; echo $A $B $C; id; hostname; touch /x 2>&1; touch g 2>&1; true")
    lines = out.splitlines()
    assert lines[:5] == ["/mnt", "shared", "1 3 4",
                         "uid=1000(tester) gid=1000(tester) groups=1000(tester)", "box"], out
    assert "Read-only file system" in lines[5] and "Read-only file system" in lines[6], out


def test_run_net_host_and_with_ns(berth):
    host_net = os.readlink("/proc/self/ns/net")
    out = berth.ok("run", "--rm", "--fifo-dir", berth.fifo_dir, "--net-host", IMAGE, "n1",
                   "sh", "-c", "readlink /proc/self/ns/net; hostname; echo $HOSTNAME")
    assert out.splitlines() == [host_net, os.uname().nodename, os.uname().nodename], out
    out = berth.ok("run", "--rm", "--fifo-dir", berth.fifo_dir, IMAGE, "n2", "readlink",
                   "/proc/self/ns/net")
    assert out.strip() != host_net
    # a persistent network namespace (bind-mounted on a file) joined with --with-ns
    ns_file = os.path.join(berth.dir, "netns")
    open(ns_file, "w").close()
    subprocess.run(["unshare", f"--net={ns_file}", "true"], check=True)
    try:
        out = berth.ok("run", "--rm", "--fifo-dir", berth.fifo_dir, "--with-ns",
                       f"network:{ns_file}", IMAGE, "n3", "readlink", "/proc/self/ns/net")
        assert out.strip() == f"net:[{os.stat(ns_file).st_ino}]", out
    finally:
        subprocess.run(["umount", ns_file], check=False)


def test_run_detached_labels_pid_file_memory_limit(berth):
    pid_file = os.path.join(berth.dir, "d1.pid")
    berth.ok("run", "-d", "--fifo-dir", berth.fifo_dir, "--pid-file", pid_file, "--label",
             "role=test", "--memory-limit", "67108864", IMAGE, "d1", "sleep", "1000")
    pid = berth.tasks()["d1"][0]
    with open(pid_file, encoding="utf-8") as f:
        assert f.read() == str(pid)
    info = json.loads(berth.ok("containers", "info", "d1"))
    assert info["Labels"]["role"] == "test" and info["Spec"]["annotations"] == {"role": "test"}
    assert info["Spec"]["linux"]["resources"]["memory"] == {"limit": 67108864}
    assert info["Spec"]["linux"]["resources"]["cpu"] == {"shares": 1024}  # run's default
    limit = ocitest.cgroup_read("memory", f"/{berth.ns}/d1", "memory.limit_in_bytes",
                                "memory.max")
    assert int(limit) == 67108864, limit
    # the FIFOs stay for the detached task until it is deleted
    assert len(berth.fifos()) == 1
    berth.ok("tasks", "kill", "-s", "KILL", "d1")
    wait_for(lambda: berth.tasks()["d1"][1] == "STOPPED", timeout=20, interval=0.05,
             what="d1 to stop")
    berth.ok("tasks", "delete", "d1")
    assert berth.fifos() == []
    berth.ok("containers", "delete", "d1")


def test_run_null_io_and_log_uri(berth):
    p = run(berth, "--rm", "--null-io", IMAGE, "q1", "sh", "-c", "echo nothing; exit 4")
    assert (p.returncode, p.stdout, p.stderr) == (4, "", "")
    log = os.path.join(berth.dir, "logs", "q2.log")
    p = berth.ctr("run", "--rm", "--log-uri", f"file://{log}", IMAGE, "q2", "sh", "-c",
                  "echo to-log; echo err-log >&2")
    assert (p.returncode, p.stdout) == (0, ""), p
    with open(log, encoding="utf-8") as f:
        assert sorted(f.read().split()) == ["err-log", "to-log"]
    assert berth.fifos() == []


def test_run_rootfs_directory(berth):
    rootfs = os.path.join(berth.dir, "rootfs")
    ocitest.build_rootfs(rootfs)
    out = berth.ok("run", "--rm", "--fifo-dir", berth.fifo_dir, "--rootfs", "--env",
                   "PATH=/bin", rootfs, "rf1", "cat", "/etc/hostname")
    assert out == "berth-test\n"


def test_run_forwards_signals(berth):
    p = subprocess.Popen(berth.argv("run", "--rm", "--fifo-dir", berth.fifo_dir, IMAGE, "s1",
                                    "sh", "-c", "trap 'echo got-term; exit 7' TERM; "
                                    "trap 'echo got-usr1' USR1; echo ready; "
                                    "while true; do sleep 0.05; done"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGUSR1)
        assert p.stdout.readline() == "got-usr1\n"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert (p.returncode, out, err) == (7, "got-term\n", "")


def _pty_run(argv, send=None, until=b"", timeout=30):
    """argv on a pty 40x120; writes send once until appears; returns (output, exit status,
    the terminal's local flags before and after)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    before = termios.tcgetattr(fd)[3]
    out, sent = b"", send is None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        if not sent and until in out:
            os.write(fd, send)
            sent = True
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            raise AssertionError("reaped early")
    after = termios.tcgetattr(fd)[3]
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return out, os.waitstatus_to_exitcode(status), before, after


def test_run_tty(berth):
    out, status, before, after = _pty_run(
        berth.argv("run", "--rm", "-t", "--fifo-dir", berth.fifo_dir, IMAGE, "t1", "sh", "-c",
                   "echo READY; read line; echo \"[$line]\"; stty size; tty; exit 5"),
        send=b"typed\r", until=b"READY")
    text = out.decode(errors="replace")
    assert status == 5, text
    assert "[typed]" in text and "40 120" in text and "/dev/pts/0" in text, text
    assert after == before  # the terminal is back in its mode
    assert berth.containers() == [] and berth.fifos() == []


def test_run_bad_input_leaves_nothing(berth):
    berth.ok("containers", "create", IMAGE, "taken")
    cases = [
        (("--rm", "docker.io/library/nope:latest", "b1", "true"),
         'ctr: image "docker.io/library/nope:latest": not found\n'),
        (("--rm", IMAGE, "taken", "true"), 'ctr: snapshot "taken": already exists\n'),
        (("--bogus", IMAGE, "b1"), "ctr: flag provided but not defined: -bogus\n"),
        (("--rm", IMAGE), "ctr: container id must be provided\n"),
        ((), "ctr: image ref must be provided\n"),
        (("-d", "--rm", IMAGE, "b1"),
         "ctr: flags --detach and --rm cannot be specified together\n"),
        (("--rm", "--mount", "type=bind,size=1", IMAGE, "b1", "true"),
         'ctr: mount option "size" not supported\n'),
        (("--rm", "--with-ns", "net:/x", IMAGE, "b1", "true"),
         "ctr: the Linux namespace type specified in --with-ns is not valid: net\n"),
        (("--rm", "--memory-limit", "lots", IMAGE, "b1", "true"),
         'ctr: invalid value "lots" for flag -memory-limit: parse error\n'),
        (("--rm", "-t", IMAGE, "b1", "true"), "ctr: provided file is not a console\n"),
        (("--rm", "--runc-binary", "/x", "--runtime", "io.containerd.other.v1", IMAGE, "b1"),
         'ctr: specifying runc-binary and runc-systemd-cgroup is only supported for '
         '"io.containerd.runc.v2" runtime\n'),
    ]
    for args, want in cases:
        p = run(berth, *args)
        assert (p.returncode, p.stderr) == (1, want), (args, p.stderr)
    assert berth.containers() == ["taken"] and berth.snapshots() == ["taken"]
    assert berth.fifos() == []
    berth.ok("containers", "rm", "taken")
    # a command that does not exist: the task is not made; --rm removes the container
    p = run(berth, "--rm", IMAGE, "b2", "/nonexistent")
    assert p.returncode == 1 and "/nonexistent" in p.stderr, p.stderr
    assert berth.containers() == [] and berth.fifos() == []
    # without --rm the container stays, as ctr leaves it
    p = run(berth, IMAGE, "b3", "/nonexistent")
    assert p.returncode == 1 and berth.containers() == ["b3"] and berth.fifos() == []
    berth.ok("containers", "rm", "b3")
