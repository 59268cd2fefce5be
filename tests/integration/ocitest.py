# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the integration and interop suites.

Nothing here knows which runtime it drives: every call goes through the
runc command line (runc 1.1.5), so the same tests run against runc, crun
and berth-runc.
"""

import json
import os
import re
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
IMAGES = os.path.join(REPO, "tests", "images")
sys.path.insert(0, IMAGES)

import make_config  # noqa: E402

DEFAULT_RUNTIME = os.path.join(REPO, "build", "runc", "berth-runc")
# Runtimes that are references, not berth: berth_only tests are skipped.
REFERENCE_RUNTIMES = {"runc", "crun"}
DEFAULT_TIMEOUT = 30
CGROUP_PARENT = "berth-test"
CGROUP_ROOT = "/sys/fs/cgroup"


def runtime_path():
    return os.path.abspath(os.environ.get("BERTH_RUNTIME") or DEFAULT_RUNTIME)


def runtime_name():
    return os.path.basename(runtime_path())


def is_reference_runtime():
    return runtime_name() in REFERENCE_RUNTIMES


def build_rootfs(dest):
    subprocess.run([os.path.join(IMAGES, "build-busybox-rootfs.sh"), dest],
                   check=True)


def new_id(prefix="bt"):
    return f"{prefix}{secrets.token_hex(5)}"


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Poll predicate() until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_file(path, default=None):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        if default is None:
            raise
        return default


# --- mounts and work directories -------------------------------------------

def mountinfo():
    """[(mountpoint, fstype, super_options)] of this mount namespace."""
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            pre, _, post = line.rstrip("\n").partition(" - ")
            fields = pre.split(" ")
            post_fields = post.split(" ")
            mountpoint = fields[4].replace("\\040", " ")
            out.append((mountpoint, post_fields[0],
                        post_fields[2] if len(post_fields) > 2 else ""))
    return out


def unmount_under(path):
    """Lazily unmount everything mounted at or below path, deepest first."""
    path = os.path.realpath(path)
    points = [m for m, _, _ in mountinfo()
              if m == path or m.startswith(path + "/")]
    for m in sorted(set(points), key=len, reverse=True):
        subprocess.run(["umount", "-l", m], check=False,
                       stderr=subprocess.DEVNULL)


def make_workdir(prefix="bt-"):
    # Short, so unix socket paths inside stay far below 108 bytes; 0755 so
    # a container root mapped to an unprivileged host uid can reach its rootfs.
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(path, 0o755)
    return path


def remove_workdir(path):
    unmount_under(path)
    shutil.rmtree(path, ignore_errors=True)


# --- cgroups ----------------------------------------------------------------

def cgroup_mounts():
    """Mount points of every cgroup v1 hierarchy and of cgroup2."""
    return [(m, fstype, opts) for m, fstype, opts in mountinfo()
            if fstype in ("cgroup", "cgroup2")]


def cgroup_dirs(cgroups_path):
    rel = cgroups_path.lstrip("/")
    return [os.path.join(m, rel) for m, _, _ in cgroup_mounts()]


def cgroup_v2_only():
    mounts = cgroup_mounts()
    return bool(mounts) and all(fstype == "cgroup2" for _, fstype, _ in mounts)


def cgroup_path(controller, cgroups_path):
    """Host directory of the container's cgroup for a controller.

    controller is a v1 controller name ("memory", "pids", "freezer"); on a
    pure cgroup v2 host the unified directory is returned.
    """
    rel = cgroups_path.lstrip("/")
    for m, fstype, opts in cgroup_mounts():
        if fstype == "cgroup" and controller in opts.split(","):
            return os.path.join(m, rel)
    for m, fstype, _ in cgroup_mounts():
        if fstype == "cgroup2":
            return os.path.join(m, rel)
    raise AssertionError(f"no cgroup hierarchy has the {controller} controller")


def cgroup_read(controller, cgroups_path, v1_file, v2_file):
    """Read a cgroup file of the container: v1_file if that controller is
    mounted as cgroup v1, else v2_file in the unified hierarchy."""
    d = cgroup_path(controller, cgroups_path)
    name = v1_file if os.path.exists(os.path.join(d, v1_file)) else v2_file
    return read_file(os.path.join(d, name)).strip()


def pids_in_cgroup(cgroups_path):
    """Host pids whose /proc/PID/cgroup names cgroups_path (any hierarchy)."""
    want = "/" + cgroups_path.strip("/")
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cgroup", encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            path = line.split(":", 2)[-1]
            if path == want or path.startswith(want + "/"):
                found.append(int(entry))
                break
    return found


def leftovers(root, cid, cgroups_path):
    """Debris a container may leave behind: state dir, cgroups, processes."""
    problems = []
    state_dir = os.path.join(root, cid)
    if os.path.lexists(state_dir):
        problems.append(f"state dir {state_dir} still exists "
                        f"(contents: {sorted(os.listdir(state_dir))})")
    if cgroups_path:
        for d in cgroup_dirs(cgroups_path):
            if os.path.exists(d):
                problems.append(f"cgroup dir {d} still exists")
        pids = pids_in_cgroup(cgroups_path)
        if pids:
            problems.append(f"processes {pids} still in cgroup {cgroups_path}")
    return problems


def assert_no_debris(rt, b):
    """For error paths: the failed command left no state dir, cgroup or
    process for bundle b (checked before teardown's delete --force)."""
    problems = leftovers(rt.root, b.id, b.cgroups_path)
    assert not problems, "failed command left debris:\n  " + "\n  ".join(problems)


def cleanup_cgroup_parent():
    """Remove the empty per-suite parent cgroup left by runtimes."""
    for m, _, _ in cgroup_mounts():
        parent = os.path.join(m, CGROUP_PARENT)
        if not os.path.isdir(parent):
            continue
        for dirpath, dirnames, _ in os.walk(parent, topdown=False):
            for d in dirnames:
                try:
                    os.rmdir(os.path.join(dirpath, d))
                except OSError:
                    pass
        try:
            os.rmdir(parent)
        except OSError:
            pass


def pids_mentioning(text):
    """Pids whose command line contains text (the shims we caused)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry))
    return found


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# --- bundles ----------------------------------------------------------------

class Bundle:
    """An OCI bundle: dir/rootfs (private copy) and dir/config.json."""

    def __init__(self, path, config, cid, cgroups_path):
        self.dir = path
        self.rootfs = os.path.join(path, "rootfs")
        self.config = config
        self.id = cid
        self.cgroups_path = cgroups_path
        self.stdout_path = os.path.join(path, "stdout.log")
        self.stderr_path = os.path.join(path, "stderr.log")

    @classmethod
    def make(cls, path, rootfs_template, args=None, tweak=None, terminal=False,
             cid=None):
        """Make a bundle at path; tweak(config) may change the config dict
        before it is written. The cgroupsPath is /berth-test/<id>."""
        cid = cid or new_id()
        os.makedirs(path)
        subprocess.run(["cp", "-a", rootfs_template, os.path.join(path, "rootfs")],
                       check=True)
        cgroups_path = f"/{CGROUP_PARENT}/{cid}"
        config = make_config.default_config(args=args, terminal=terminal,
                                            cgroups_path=cgroups_path)
        b = cls(path, config, cid, cgroups_path)
        if tweak:
            tweak(config)
        b.save()
        return b

    @property
    def config_path(self):
        return os.path.join(self.dir, "config.json")

    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config["linux"]

    def save(self):
        make_config.write_config(self.config_path, self.config)

    def stdout(self):
        return read_file(self.stdout_path, default="")

    def stderr(self):
        return read_file(self.stderr_path, default="")

    # config edits used by many tests
    def remove_namespace(self, ns_type):
        self.linux["namespaces"] = [n for n in self.linux["namespaces"]
                                    if n["type"] != ns_type]

    def set_namespace(self, ns_type, path=None):
        self.remove_namespace(ns_type)
        ns = {"type": ns_type}
        if path:
            ns["path"] = path
        self.linux["namespaces"].append(ns)

    def add_mount(self, destination, mtype, source, options=None):
        m = {"destination": destination, "type": mtype, "source": source}
        if options is not None:
            m["options"] = list(options)
        self.config["mounts"].append(m)

    def bind(self, host_path, destination, readonly=False):
        opts = ["rbind", "ro" if readonly else "rw"]
        self.add_mount(destination, "bind", host_path, opts)


# --- running the runtime ----------------------------------------------------

class Result:
    def __init__(self, argv, rc, out, err):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err

    @property
    def text(self):
        return self.out + self.err

    def __str__(self):
        return (f"$ {' '.join(self.argv)}\nexit {self.rc}\n"
                f"--- stdout\n{self.out}--- stderr\n{self.err}")


class Runtime:
    """The runtime under test, bound to a private --root."""

    def __init__(self, path, root, workdir, global_args=()):
        self.path = path
        self.root = root
        self.workdir = workdir
        self.global_args = list(global_args)
        self.tracked = {}  # id -> cgroupsPath
        self._seq = 0

    def argv(self, *args):
        return [self.path, "--root", self.root, *self.global_args, *args]

    def track(self, cid, cgroups_path=None):
        if cid not in self.tracked or cgroups_path:
            self.tracked[cid] = cgroups_path

    def cmd(self, *args, timeout=DEFAULT_TIMEOUT, input=None, stdout_path=None,
            stderr_path=None, env=None, fds=None, argv=None):
        """Run `RUNTIME --root R args...`; stdio goes to files, never pipes
        (a detached container would hold a pipe open and hang us).

        fds maps a child fd number (>= 3) to a host path opened for it.
        """
        self._seq += 1
        argv = argv or self.argv(*args)
        out_path = stdout_path or os.path.join(self.workdir, f"cmd{self._seq}.out")
        err_path = stderr_path or os.path.join(self.workdir, f"cmd{self._seq}.err")
        out_start = os.path.getsize(out_path) if os.path.exists(out_path) else 0
        err_start = os.path.getsize(err_path) if os.path.exists(err_path) else 0
        if fds:
            # Put each extra file at its exact fd number via the shell.
            redirs = " ".join(f"{n}<>'{p}'" for n, p in sorted(fds.items()))
            argv = ["/bin/sh", "-c", f'exec "$@" {redirs}', "sh", *argv]
        stdin = subprocess.DEVNULL if input is None else subprocess.PIPE
        with open(out_path, "ab") as out, open(err_path, "ab") as err:
            p = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err,
                                 env=env, start_new_session=True)
            try:
                if input is not None:
                    p.stdin.write(input.encode() if isinstance(input, str) else input)
                    p.stdin.close()
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise AssertionError(
                    f"timed out after {timeout}s: {' '.join(argv)}\n"
                    f"stdout: {read_file(out_path, '')[out_start:]}\n"
                    f"stderr: {read_file(err_path, '')[err_start:]}") from None
        return Result(argv, rc, read_file(out_path, "")[out_start:],
                      read_file(err_path, "")[err_start:])

    def ok(self, *args, **kw):
        r = self.cmd(*args, **kw)
        assert r.rc == 0, f"expected success:\n{r}"
        return r

    def fail(self, *args, **kw):
        r = self.cmd(*args, **kw)
        assert r.rc != 0, f"expected failure:\n{r}"
        return r

    # lifecycle
    def run(self, b, *extra, **kw):
        self.track(b.id, b.cgroups_path)
        kw.setdefault("stdout_path", b.stdout_path)
        kw.setdefault("stderr_path", b.stderr_path)
        return self.cmd("run", "--bundle", b.dir, *extra, b.id, **kw)

    def run_ok(self, b, *extra, **kw):
        r = self.run(b, *extra, **kw)
        assert r.rc == 0, f"container run failed:\n{r}"
        return r.out

    def create(self, b, *extra, **kw):
        self.track(b.id, b.cgroups_path)
        kw.setdefault("stdout_path", b.stdout_path)
        kw.setdefault("stderr_path", b.stderr_path)
        return self.cmd("create", "--bundle", b.dir, *extra, b.id, **kw)

    def create_ok(self, b, *extra, **kw):
        r = self.create(b, *extra, **kw)
        assert r.rc == 0, f"create failed:\n{r}"
        return r

    def start(self, cid):
        return self.ok("start", cid)

    def state(self, cid):
        r = self.ok("state", cid)
        try:
            return json.loads(r.out)
        except ValueError as e:
            raise AssertionError(f"state is not JSON ({e}):\n{r}") from None

    def status(self, cid):
        r = self.cmd("state", cid)
        if r.rc != 0:
            return None
        return json.loads(r.out)["status"]

    def wait_status(self, cid, want, timeout=10.0):
        return wait_for(lambda: self.status(cid) == want, timeout=timeout,
                        what=f"container {cid} to be {want} "
                             f"(last: {self.status(cid)})")

    def exec(self, cid, *args, opts=(), **kw):
        return self.cmd("exec", *opts, cid, *args, **kw)

    def exec_ok(self, cid, *args, opts=(), **kw):
        r = self.exec(cid, *args, opts=opts, **kw)
        assert r.rc == 0, f"exec failed:\n{r}"
        return r.out

    def kill(self, cid, signal="KILL", *opts):
        return self.ok("kill", *opts, cid, signal)

    def delete(self, cid, force=False):
        return self.ok("delete", *(["--force"] if force else []), cid)

    def force_delete(self, cid):
        return self.cmd("delete", "--force", cid)

    def start_running(self, b, *create_opts):
        """create + start a long-running container; return its state."""
        self.create_ok(b, *create_opts)
        self.start(b.id)
        self.wait_status(b.id, "running")
        return self.state(b.id)


# --- console socket (docs/terminals.md) -------------------------------------

class ConsoleSocket:
    """Unix socket receiving a pty master over SCM_RIGHTS, then reading it."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(0.1)
        self.master = None
        self.error = None
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        try:
            conn = None
            while conn is None:
                if self._stop.is_set():
                    return
                try:
                    conn, _ = self.sock.accept()
                except socket.timeout:
                    continue
            conn.settimeout(DEFAULT_TIMEOUT)
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
            if not fds:
                raise RuntimeError("no fd received over the console socket")
            self.master = fds[0]
            while not self._stop.is_set():
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if not ready:
                    continue
                try:
                    data = os.read(self.master, 4096)
                except OSError:  # EIO: every slave end is closed
                    return
                if not data:
                    return
                with self._lock:
                    self._buf += data
        except Exception as e:  # reported by output()/wait_output()
            self.error = e

    def output(self):
        with self._lock:
            return self._buf.decode(errors="replace")

    def wait_output(self, needle, timeout=10.0):
        def seen():
            if self.error:
                raise AssertionError(f"console socket: {self.error!r}")
            return needle in self.output()
        wait_for(seen, timeout=timeout,
                 what=f"{needle!r} on the console (got {self.output()!r})")
        return self.output()

    def write(self, data):
        wait_for(lambda: self.master is not None, what="the pty master")
        os.write(self.master, data.encode())

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
        if self.master is not None:
            os.close(self.master)
            self.master = None


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def proc_status_field(text, field):
    """Value of 'Field:' in /proc/PID/status text."""
    m = re.search(rf"^{re.escape(field)}:\s*(.*)$", text, re.M)
    assert m, f"{field} not in /proc/self/status output:\n{text}"
    return m.group(1).strip()


# --- the host's own settings ------------------------------------------------

HOST_SYSCTLS = ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding")


def host_network_settings():
    """The host's forwarding sysctls, which no test may change (dockerd would)."""
    return {path: read_file(path) for path in HOST_SYSCTLS if os.path.exists(path)}
