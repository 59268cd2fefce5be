# SPDX-License-Identifier: Apache-2.0
"""The real dockerd 20.10 (Debian's docker.io) on berth-containerd.

dockerd runs with --containerd=<berth-containerd's socket> and private data root, exec
root, API socket and pid file, without a bridge or iptables (the host's network stays as
it is). It uses berth-containerd's namespaces "moby" and "plugins.moby", Events, Leases,
Containers, Tasks (FIFO stdio under its exec root, runtime io.containerd.runc.v2 with runc
options), Version and the gRPC health service. Two stacks, each a dockerd and a
berth-containerd of its own:

  runc   Debian's containerd-shim-runc-v2 (named in berth-containerd's "runtimes" config
         for io.containerd.runc.v2, the only runtime dockerd 20.10 asks for) and Debian's
         runc (dockerd's default runtime "runc")
  berth  berth-containerd-shim (berth-containerd's default for io.containerd.runc.v2) and
         berth-runc as dockerd's default runtime (--add-runtime, --default-runtime)

berth-containerd is $BERTH_CONTAINERD, else the one in $BERTH_BUILD; the shim $BERTH_SHIM,
the runtime $BERTH_RUNTIME. Every container, shim, mount and directory made here is removed;
berth-containerd's log must hold no sanitizer report (BERTH_BUILD=build-asan).
"""

import hashlib
import json
import os
import shutil

import pytest

from conftest import (DOCKER_CLI, Daemon, describe, force_delete_all, make_workdir,
                      remove_empty_cgroup, remove_workdir, run, shim_path, stop_process, tail,
                      wait_for)
import ocitest
from test_berth_containerd_ctr import daemon_path

pytestmark = pytest.mark.interop

NAMESPACE = "moby"  # dockerd's namespace in containerd
SHIM_SOCKETS = "/run/containerd/s"
# A container that stops on SIGTERM with exit code 0 (137 would mean SIGKILL).
TRAP_LOOP = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


class Stack:
    """berth-containerd, then dockerd on its socket, both in workdir."""

    def __init__(self, workdir, kind, runtime, shim):
        self.dir = workdir
        self.kind = kind
        self.address = os.path.join(workdir, "c.sock")
        self.exec_root = os.path.join(workdir, "exec")
        self.host = f"unix://{workdir}/docker.sock"
        self.cids = []  # every container id docker run wrote to its --cidfile
        self.n_cidfiles = 0
        self.had_docker_cgroup = any(os.path.isdir(d) for d in ocitest.cgroup_dirs("/docker"))
        env = dict(os.environ)
        config = {}
        if kind == "berth":
            # io.containerd.runc.v2 is berth-containerd-shim by default, found next to
            # berth-containerd or on its PATH: the one under test first
            bin_dir = os.path.join(workdir, "bin")
            os.makedirs(bin_dir)
            os.symlink(shim, os.path.join(bin_dir, "berth-containerd-shim"))
            env["PATH"] = bin_dir + ":" + env.get("PATH", "")
            self.runtime = runtime
            self.shim_exes = {os.path.realpath(shim),
                              os.path.join(os.path.dirname(os.path.realpath(shim)),
                                           "berth-containerd-shim-daemon")}
        else:
            shim = shutil.which("containerd-shim-runc-v2")
            config = {"runtimes": {"io.containerd.runc.v2": {"shim": shim}}}
            self.runtime = shutil.which("runc")
            self.shim_exes = {os.path.realpath(shim)}
        config_file = os.path.join(workdir, "containerd.json")
        with open(config_file, "w", encoding="utf-8") as f:
            json.dump(config, f)
        self.containerd_env = env
        self.containerd_argv = [daemon_path(), "--config", config_file, "--address",
                                self.address, "--root", os.path.join(workdir, "root"),
                                "--state", os.path.join(workdir, "state"), "--log-level",
                                "debug"]
        self.containerd = None
        self.dockerd = None
        self.env = None

    # --- the daemons ----------------------------------------------------------------------

    def start_containerd(self):
        self.containerd = Daemon("berth-containerd", self.dir, self.containerd_argv,
                                 env=self.containerd_env)
        self.containerd.wait_ready(lambda: self.ctr("version").returncode == 0)

    def start_dockerd(self):
        config_file = os.path.join(self.dir, "daemon.json")
        with open(config_file, "w", encoding="utf-8") as f:
            f.write("{}\n")
        # The CLI's own config (contexts, auth) stays private too.
        self.env = dict(os.environ, DOCKER_CONFIG=os.path.join(self.dir, "cli"))
        self.env.pop("DOCKER_HOST", None)
        self.env.pop("DOCKER_CONTEXT", None)
        argv = ["dockerd", "--containerd", self.address,
                "--config-file", config_file,
                "--data-root", os.path.join(self.dir, "data"),
                "--exec-root", self.exec_root,
                "-H", self.host,
                "--pidfile", os.path.join(self.dir, "docker.pid"),
                "--bridge=none", "--iptables=false", "--ip6tables=false",
                # dockerd turns the host's net.ipv4.ip_forward on unless told not to
                "--ip-forward=false", "--ip-masq=false", "--userland-proxy=false"]
        if self.kind == "berth":
            argv += ["--add-runtime", f"berth={self.runtime}", "--default-runtime", "berth"]
        self.dockerd = Daemon("dockerd", self.dir, argv, env=self.env)
        self.dockerd.wait_ready(lambda: self.docker("version").returncode == 0)

    def kill9_containerd(self):
        """SIGKILL berth-containerd; its shims and their containers stay."""
        self.containerd.proc.kill()
        self.containerd.proc.wait()

    def containerd_log(self):
        return ocitest.read_file(self.containerd.log, "")

    def stop(self):
        """Removes dockerd's containers, stops both daemons; may be called again."""
        try:
            if self.dockerd and self.dockerd.proc.poll() is None:
                ids = self.docker("ps", "-aq").stdout.split()
                if ids:
                    self.docker("rm", "-f", *ids)
        finally:
            if self.dockerd:
                stop_process(self.dockerd.proc)
            if self.containerd:
                # SIGTERM; then whatever still names our directory (shims) gets SIGKILL
                self.containerd.stop()
            if self.runtime:
                force_delete_all(self.runtime, self.runtime_root)
            if not self.had_docker_cgroup:
                remove_empty_cgroup("docker")

    # --- clients --------------------------------------------------------------------------

    def ctr(self, *args):
        return run(["ctr", "--address", self.address, "--namespace", NAMESPACE, *args],
                   timeout=60)

    def docker(self, *args, timeout=60):
        return run([DOCKER_CLI, "-H", self.host, *args], timeout=timeout, env=self.env)

    def docker_ok(self, *args, **kw):
        p = self.docker(*args, **kw)
        assert p.returncode == 0, f"docker failed:\n{describe(p)}\n{self.logs()}"
        return p.stdout

    def docker_run(self, *args, check=True):
        """docker run, noting the container's id (for the shim sockets checked at the end)."""
        self.n_cidfiles += 1
        cidfile = os.path.join(self.dir, f"cid-{self.n_cidfiles}")
        p = self.docker("run", "--cidfile", cidfile, *args)
        cid = ocitest.read_file(cidfile, "").strip()
        if cid:
            self.cids.append(cid)
        if check:
            assert p.returncode == 0, f"docker run failed:\n{describe(p)}\n{self.logs()}"
        return p

    def inspect_state(self, name):
        return json.loads(self.docker_ok("inspect", name))[0]["State"]

    def tasks(self):
        """{id: (pid, status)} of berth-containerd's tasks in dockerd's namespace."""
        p = self.ctr("task", "ls")
        assert p.returncode == 0, describe(p)
        out = {}
        for line in p.stdout.splitlines()[1:]:
            f = line.split()
            out[f[0]] = (int(f[1]), f[2])
        return out

    @property
    def runtime_root(self):
        """dockerd 20.10 gives every runtime --root <exec-root>/runtime-runc/<namespace>."""
        return os.path.join(self.exec_root, "runtime-runc", NAMESPACE)

    def shim_socket(self, cid):
        """Where a shim of this daemon listens for cid (containerd's shim.SocketAddress)."""
        name = hashlib.sha256(f"{self.address}/{NAMESPACE}/{cid}".encode()).hexdigest()
        return os.path.join(SHIM_SOCKETS, name)

    def logs(self):
        return (f"--- berth-containerd log\n{tail(self.containerd.log)}\n"
                f"--- dockerd log\n{tail(self.dockerd.log) if self.dockerd else ''}")


@pytest.fixture(scope="module", params=["runc", "berth"], ids=["runc-shim", "berth-shim"])
def stack(request, image_tar):
    kind = request.param
    if not os.access(DOCKER_CLI, os.X_OK):
        pytest.skip(f"{DOCKER_CLI} is missing")
    path = daemon_path()
    assert os.access(path, os.X_OK), f"{path} is not built"
    runtime = shim = None
    if kind == "runc":
        for tool in ("containerd-shim-runc-v2", "runc"):
            if not shutil.which(tool):
                pytest.skip(f"{tool} is not installed")
    else:
        runtime, shim = ocitest.runtime_path(), shim_path()
        for what in (runtime, shim):
            if not os.access(what, os.X_OK):
                pytest.skip(f"{what} is not built")
    workdir = make_workdir("btbd-")
    s = None
    try:
        s = Stack(workdir, kind, runtime, shim)
        s.start_containerd()
        s.start_dockerd()
        s.docker_ok("load", "-i", image_tar)
        yield s
        # what the tests left is removed through dockerd; then nothing of it may remain
        ids = s.docker("ps", "-aq").stdout.split()
        if ids:
            s.docker_ok("rm", "-f", *ids)
        assert s.tasks() == {}
        assert s.ctr("containers", "ls", "-q").stdout == ""
        bundles = os.path.join(workdir, "state", "io.containerd.runtime.v2.task", NAMESPACE)
        assert not os.path.isdir(bundles) or not os.listdir(bundles), os.listdir(bundles)
        left = [c for c in s.cids if os.path.lexists(s.shim_socket(c))]
        assert not left, f"shim sockets left for {left}"
        s.stop()  # a sanitizer's leak report comes at exit
        log = s.containerd_log()
        assert "Sanitizer" not in log and "runtime error:" not in log, log[-4000:]
    finally:
        if s:
            s.stop()
            for cid in s.cids:
                try:
                    os.unlink(s.shim_socket(cid))
                except OSError:
                    pass
        remove_workdir(workdir)


@pytest.fixture(autouse=True)
def _independent(stack):
    """What a failed test left does not fail the next one: its containers are removed, a
    berth-containerd it killed runs again."""
    yield
    if stack.containerd.proc.poll() is not None:
        stack.start_containerd()
    ids = stack.docker("ps", "-aq").stdout.split()
    if ids:
        stack.docker("rm", "-f", *ids)


# --- the tests --------------------------------------------------------------------------


def test_run_rm_echo(stack):
    p = stack.docker_run("--rm", "busybox", "echo", "ok")
    assert p.stdout == "ok\n", describe(p)
    assert stack.tasks() == {}
    assert stack.ctr("containers", "ls", "-q").stdout == ""


def test_run_exit_code(stack):
    p = stack.docker_run("--rm", "busybox", "sh", "-c", "exit 3", check=False)
    assert p.returncode == 3, f"docker run must return the exit code:\n{describe(p)}"


def test_run_tty(stack):
    # -t: the shim asks the runtime for a pty, relayed to dockerd's FIFOs; then ResizePty
    p = stack.docker_run("--rm", "-t", "busybox", "sh", "-c", "test -t 1 && echo tty-ok")
    assert p.stdout.strip() == "tty-ok", describe(p)


def test_detached_ps_exec_logs_stop_rm(stack):
    cid = stack.docker_run("-d", "--name", "d1", "busybox", "sh", "-c",
                           "echo out; echo err >&2; " + TRAP_LOOP).stdout.strip()
    state = stack.inspect_state("d1")
    assert state["Running"] is True, state
    pid = state["Pid"]

    ps = stack.docker_ok("ps", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.Status}}")
    assert [cid, "d1", "Up"] in [line.split()[:3] for line in ps.splitlines()], ps
    # through berth-containerd: its task, run by the runtime and shim of this stack
    assert stack.tasks() == {cid: (pid, "RUNNING")}
    rstate = json.loads(run([stack.runtime, "--root", stack.runtime_root, "state", cid]).stdout)
    assert rstate["status"] == "running" and rstate["pid"] == pid, rstate
    shim_pid = int(ocitest.read_file(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()[1])
    assert os.readlink(f"/proc/{shim_pid}/exe") in stack.shim_exes, shim_pid

    assert stack.docker_ok("exec", "d1", "echo", "exec-ok") == "exec-ok\n"
    out = stack.docker_ok("exec", "-u", "1000:1000", "-w", "/tmp", "-e", "X=y", "d1",
                          "sh", "-c", 'id -u; pwd; echo "$X"')
    assert out.split() == ["1000", "/tmp", "y"], out
    p = stack.docker("exec", "d1", "sh", "-c", "exit 4")
    assert p.returncode == 4, describe(p)

    def logged():
        p = stack.docker("logs", "d1")
        return p if (p.stdout, p.stderr) == ("out\n", "err\n") else None
    wait_for(logged, timeout=30, interval=0.1, what="docker logs d1 to show out and err")

    stack.docker_ok("stop", "-t", "30", "d1")
    state = stack.inspect_state("d1")
    assert state["Running"] is False and state["ExitCode"] == 0, state
    assert not os.path.exists(f"/proc/{pid}")
    assert stack.tasks() == {}
    stack.docker_ok("rm", "d1")
    assert cid not in stack.docker_ok("ps", "-aq", "--no-trunc").split()
    assert stack.ctr("containers", "ls", "-q").stdout == ""


def test_pause_top_stats_update(stack):
    """Tasks Pause/Resume, ListPids, Metrics and Update, as dockerd calls them."""
    cid = stack.docker_run("-d", "--name", "p1", "--memory", "64m", "busybox", "sh", "-c",
                           TRAP_LOOP).stdout.strip()
    stack.docker_ok("pause", "p1")
    assert stack.inspect_state("p1")["Paused"] is True
    assert stack.tasks()[cid][1] == "PAUSED"
    stack.docker_ok("unpause", "p1")
    assert stack.docker_ok("exec", "p1", "echo", "thawed") == "thawed\n"

    top = stack.docker_ok("top", "p1")
    assert "sh -c" in top, top

    stats = stack.docker_ok("stats", "--no-stream", "--format", "{{.MemUsage}}", "p1")
    assert stats.strip().endswith("/ 64MiB"), stats

    stack.docker_ok("update", "--memory", "96m", "--memory-swap", "-1", "p1")
    stats = stack.docker_ok("stats", "--no-stream", "--format", "{{.MemUsage}}", "p1")
    assert stats.strip().endswith("/ 96MiB"), stats
    stack.docker_ok("rm", "-f", "p1")
    assert stack.tasks() == {}


def test_berth_containerd_killed_and_restarted(stack):
    """kill -9 of berth-containerd while dockerd's containers run; restarted on the same
    directories and socket, it finds them running and dockerd reconnects by itself."""
    stop_me = stack.docker_run("-d", "--name", "k1", "busybox", "sh", "-c",
                               TRAP_LOOP).stdout.strip()
    wait_me = stack.docker_run("-d", "--name", "k2", "busybox", "sh", "-c",
                               "until [ -f /tmp/go ]; do sleep 0.1; done; exit 7").stdout.strip()
    before = stack.tasks()
    assert set(before) == {stop_me, wait_me}, before
    assert all(status == "RUNNING" for _, status in before.values()), before

    stack.kill9_containerd()
    for pid, _ in before.values():
        assert os.path.exists(f"/proc/{pid}"), f"container process {pid} died with the daemon"
    offset = len(stack.containerd_log())
    stack.start_containerd()
    assert stack.tasks() == before

    # dockerd's events stream broke; it waits for the health service to say SERVING and
    # subscribes again, on its own
    def resubscribed():
        return "/containerd.services.events.v1.Events/Subscribe (namespace moby): ok" in \
            stack.containerd_log()[offset:]
    wait_for(resubscribed, timeout=60, interval=0.1, what="dockerd to subscribe again")

    assert stack.inspect_state("k1")["Running"] is True
    assert stack.docker_ok("exec", "k1", "echo", "alive") == "alive\n"
    # k2's exit reaches dockerd only as an event on the new subscription
    stack.docker_ok("exec", "k2", "touch", "/tmp/go")
    assert stack.docker_ok("wait", "k2").strip() == "7"
    # and dockerd still stops k1 (SIGTERM through the reconnected shim: exit code 0)
    stack.docker_ok("stop", "-t", "30", "k1")
    state = stack.inspect_state("k1")
    assert state["Running"] is False and state["ExitCode"] == 0, state
    for pid, _ in before.values():
        assert not os.path.exists(f"/proc/{pid}")
    stack.docker_ok("rm", "k1", "k2")
    assert stack.tasks() == {}


# --- what dockerd's containerd client asks that ctr does not ---------------------------


def raw_call(address, path, body, namespace=NAMESPACE):
    import grpc  # Debian's python3-grpcio (scripts/deps.sh)
    with grpc.insecure_channel(f"unix://{address}") as channel:
        call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        return call(body, metadata=[("containerd-namespace", namespace)], timeout=10)


def test_health_check_serves(stack):
    """grpc.health.v1.Health/Check as grpc-go's health server answers it in containerd:
    the server ("") is SERVING; a named service is NOT_FOUND."""
    import grpc
    # HealthCheckResponse{status: SERVING (1)}
    assert raw_call(stack.address, "/grpc.health.v1.Health/Check", b"") == b"\x08\x01"
    with pytest.raises(grpc.RpcError) as e:
        raw_call(stack.address, "/grpc.health.v1.Health/Check", b"\x0a\x04nope")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND, e.value


def test_get_of_an_unknown_namespace_has_no_labels(stack):
    """containerd's client reads its default namespace's labels in New() (dockerd: "moby",
    before anything made it); containerd answers an unknown name with no labels."""
    name = b"nosuch-ns"
    request = b"\x0a" + bytes([len(name)]) + name  # GetNamespaceRequest{name}
    namespace = b"\x0a" + bytes([len(name)]) + name  # Namespace{name}, no labels
    answer = raw_call(stack.address, "/containerd.services.namespaces.v1.Namespaces/Get",
                      request)
    assert answer == b"\x0a" + bytes([len(namespace)]) + namespace, answer
    # asking made nothing
    assert "nosuch-ns" not in run(["ctr", "--address", stack.address, "namespaces",
                                   "ls", "-q"]).stdout
