# SPDX-License-Identifier: Apache-2.0
"""Helpers for test_shim.py: berth-containerd-shim driven without containerd.

  FakeContainerd  containerd's ttrpc events endpoint (TTRPC_ADDRESS): answers
                  every request with an empty OK Response and records the
                  topics of the Events/Forward calls the shim makes.
  Shim            one shim started as containerd starts it ("... start" with
                  the bundle as cwd), its log FIFO, and berth-shim-client
                  calls to it; cleanup() leaves nothing behind.
  Fifo            a stdio FIFO as containerd makes them, read by a thread.

The ttrpc wire format (containerd/ttrpc v1.1): a 10-byte header (length u32
BE, stream id u32 BE, type u8, flags u8), then a protobuf Request {1 service,
2 method, 3 payload, 4 timeout_nano, 5 metadata} or Response {1 status,
2 payload}.
"""

import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading

import ocitest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SHIM = os.path.join(REPO, "build", "shim", "berth-containerd-shim")
RUNTIME_ROOT = "/run/containerd/runc"  # the shim's default, plus "/<namespace>"
CALL_TIMEOUT = 30

FRAME_HEADER = struct.Struct(">IIBB")
TYPE_REQUEST = 1
TYPE_RESPONSE = 2
EMPTY_OK_RESPONSE = b"\x0a\x00"  # Response{status: {}}


def shim_path():
    """$BERTH_SHIM, else the shim built next to $BERTH_RUNTIME (the same build
    dir), else build/shim/berth-containerd-shim."""
    if os.environ.get("BERTH_SHIM"):
        return os.path.abspath(os.environ["BERTH_SHIM"])
    build = os.path.dirname(os.path.dirname(ocitest.runtime_path()))
    sibling = os.path.join(build, "shim", "berth-containerd-shim")
    return sibling if os.path.exists(sibling) else DEFAULT_SHIM


def client_path():
    """berth-shim-client of the shim's build dir (build/tests/shim-client)."""
    if os.environ.get("BERTH_SHIM_CLIENT"):
        return os.path.abspath(os.environ["BERTH_SHIM_CLIENT"])
    build = os.path.dirname(os.path.dirname(shim_path()))
    return os.path.join(build, "tests", "shim-client", "berth-shim-client")


# --- protobuf, by hand --------------------------------------------------------

def _varint(buf, pos):
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def pb_fields(buf):
    """{field number: [values]}: bytes for length-delimited, int for varints."""
    fields = {}
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value = bytes(buf[pos:pos + n])
            if len(value) != n:
                raise ValueError("truncated field")
            pos += n
        elif wire == 1:
            value, pos = bytes(buf[pos:pos + 8]), pos + 8
        elif wire == 5:
            value, pos = bytes(buf[pos:pos + 4]), pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def pb_first(fields, number, default=b""):
    return fields.get(number, [default])[0]


def pb_string(number, text):
    data = text.encode() if isinstance(text, str) else text
    out = bytearray([number << 3 | 2])
    n = len(data)
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + data


def frame(stream_id, ftype, payload, flags=0):
    return FRAME_HEADER.pack(len(payload), stream_id, ftype, flags) + payload


def request_frame(stream_id, service, method, payload):
    """A Request frame (no timeout, no metadata)."""
    req = pb_string(1, service) + pb_string(2, method) + pb_string(3, payload)
    return frame(stream_id, TYPE_REQUEST, req)


def read_response(sock, stream_id):
    """The next frame on sock, checked to be the Response on stream_id:
    (status code, status message, payload)."""
    header = recv_exact(sock, FRAME_HEADER.size)
    assert header, "connection closed without an answer"
    length, sid, ftype, _ = FRAME_HEADER.unpack(header)
    assert (sid, ftype) == (stream_id, TYPE_RESPONSE), \
        f"expected the Response on stream {stream_id}, got type {ftype} on {sid}"
    body = recv_exact(sock, length)
    assert body is not None, "connection closed in the middle of an answer"
    resp = pb_fields(body)
    status = pb_fields(pb_first(resp, 1))
    return (pb_first(status, 1, 0), pb_first(status, 2).decode(errors="replace"),
            pb_first(resp, 2))


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


# --- containerd's events endpoint ------------------------------------------------

class FakeContainerd:
    """A ttrpc server at path; events holds (namespace, topic) in arrival order."""

    def __init__(self, path):
        self.path = path
        self.events = []
        self.calls = []  # (service, method)
        self.errors = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn):
        conn.settimeout(0.1)
        buf = b""
        with conn:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                while len(buf) >= FRAME_HEADER.size:
                    length, stream_id, ftype, _ = FRAME_HEADER.unpack_from(buf)
                    if len(buf) < FRAME_HEADER.size + length:
                        break
                    payload = buf[FRAME_HEADER.size:FRAME_HEADER.size + length]
                    buf = buf[FRAME_HEADER.size + length:]
                    if ftype == TYPE_REQUEST:
                        self._record(payload)
                        conn.sendall(frame(stream_id, TYPE_RESPONSE, EMPTY_OK_RESPONSE))

    def _record(self, payload):
        try:
            req = pb_fields(payload)
            service = pb_first(req, 1).decode()
            method = pb_first(req, 2).decode()
            namespace = ""
            for kv in req.get(5, []):
                pair = pb_fields(kv)
                if pb_first(pair, 1) == b"containerd-namespace-ttrpc":
                    namespace = pb_first(pair, 2).decode()
            topic = None
            if method == "Forward":
                envelope = pb_fields(pb_first(pb_fields(pb_first(req, 3)), 1))
                topic = pb_first(envelope, 3).decode()
        except (ValueError, UnicodeDecodeError) as e:
            with self._lock:
                self.errors.append(f"undecodable request {payload!r}: {e}")
            return
        with self._lock:
            self.calls.append((service, method))
            if topic is not None:
                self.events.append((namespace, topic))

    def topics(self):
        with self._lock:
            return [t for _, t in self.events]

    def wait_topic(self, topic, timeout=10.0):
        ocitest.wait_for(lambda: topic in self.topics(), timeout=timeout,
                         what=f"event {topic} (got {self.topics()})")

    def close(self):
        self._stop.set()
        self._sock.close()
        for t in self._threads:
            t.join(timeout=5)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# --- stdio FIFOs --------------------------------------------------------------

class Fifo:
    """A FIFO at path whose reader thread collects everything written to it
    until end of file (all writers gone) or close()."""

    def __init__(self, path):
        self.path = path
        os.mkfifo(path, 0o600)
        # O_NONBLOCK: a FIFO opens for reading without a writer.
        self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        self._data = b""
        self._eof = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        # On Linux a FIFO no writer has opened yet never polls readable; after
        # that, readable with nothing to read means every writer has gone.
        while not self._stop.is_set():
            r, _, _ = select.select([self._fd], [], [], 0.05)
            if not r:
                continue
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                self._eof.set()
                return
            self._data += chunk

    def output(self):
        return self._data.decode(errors="replace")

    def wait_eof(self, timeout=10.0):
        assert self._eof.wait(timeout), \
            f"{self.path}: no end of file after {timeout}s (read so far: {self.output()!r})"
        return self.output()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self._fd)


# --- the shim -----------------------------------------------------------------

class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    def __str__(self):
        return (f"$ {' '.join(self.argv)}\nexit status {self.rc}\n"
                f"stdout: {self.out!r}\nstderr: {self.err!r}")


class Shim:
    """One berth-containerd-shim serving container cid of bundle b, started
    by start() as containerd does, in namespace ns."""

    def __init__(self, shim, runtime, workdir, b, ns):
        self.shim = shim
        self.runtime = runtime
        self.workdir = workdir
        self.bundle = b
        self.id = b.id
        self.ns = ns
        self.containerd_address = os.path.join(workdir, f"fake-containerd-{self.id}.sock")
        self.ttrpc_address = self.containerd_address + ".ttrpc"
        self.address = None
        self.socket_path = None
        self.pid = None
        self.containerd = FakeContainerd(self.ttrpc_address)
        self.fifos = []
        self._log_fd = None
        self._log = b""

    def env(self):
        env = dict(os.environ)
        env["TTRPC_ADDRESS"] = self.ttrpc_address
        env["PATH"] = os.path.dirname(self.runtime) + ":" + env.get("PATH", "/usr/bin:/bin")
        return env

    def start(self):
        # containerd makes the log FIFO and reads it; the shim writes when it is open
        log = os.path.join(self.bundle.dir, "log")
        os.mkfifo(log, 0o600)
        self._log_fd = os.open(log, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        argv = [self.shim, "-namespace", self.ns, "-address", self.containerd_address,
                "-publish-binary", "/bin/false", "-id", self.id, "-debug", "start"]
        p = subprocess.run(argv, cwd=self.bundle.dir, env=self.env(), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=CALL_TIMEOUT, check=False)
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        assert p.returncode == 0, f"shim start failed:\n{Result(argv, p.returncode, out, err)}"
        assert out.startswith("unix:///run/containerd/s/") and "\n" not in out, \
            f"shim start printed no address:\n{Result(argv, p.returncode, out, err)}"
        self.address = out
        self.socket_path = out[len("unix://"):]
        r = self.call("connect", self.id)
        assert r.rc == 0, f"Connect to a new shim failed:\n{r}\n{self.log()}"
        self.pid = int(r.out.split()[0])
        return self.address

    def log(self):
        """What the shim wrote to its log FIFO so far."""
        if self._log_fd is not None:
            while True:
                try:
                    chunk = os.read(self._log_fd, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                self._log += chunk
        return "shim log:\n" + self._log.decode(errors="replace")

    def call(self, method, *args, timeout=CALL_TIMEOUT):
        argv = [client_path(), "-t", str(timeout * 1000), self.address, self.ns, method,
                *[str(a) for a in args]]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout + 10, check=False)
        return Result(argv, p.returncode, p.stdout.decode(errors="replace"),
                      p.stderr.decode(errors="replace"))

    def call_async(self, method, *args, timeout=CALL_TIMEOUT):
        """Starts a call in the background; finish it with wait_call()."""
        argv = [client_path(), "-t", str(timeout * 1000), self.address, self.ns, method,
                *[str(a) for a in args]]
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    @staticmethod
    def wait_sent(p, timeout=10.0):
        """Waits until the background call p has sent its request: the client
        polls for the answer only after the whole request went out."""
        def polling():
            assert p.poll() is None, f"{' '.join(p.args)} ended early (status {p.returncode})"
            return ocitest.read_file(f"/proc/{p.pid}/wchan", "?") in (
                "poll_schedule_timeout.constprop.0", "poll_schedule_timeout", "do_sys_poll")
        ocitest.wait_for(polling, timeout=timeout, what=f"{' '.join(p.args)} to send")

    @staticmethod
    def wait_call(p, timeout=CALL_TIMEOUT):
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise AssertionError(f"no answer after {timeout}s: {' '.join(p.args)}") from None
        return Result(p.args, p.returncode, out.decode(errors="replace"),
                      err.decode(errors="replace"))

    def ok(self, method, *args, **kw):
        r = self.call(method, *args, **kw)
        assert r.rc == 0, f"{method} failed:\n{r}\n{self.log()}"
        return r.out.strip()

    def fail(self, method, *args, **kw):
        r = self.call(method, *args, **kw)
        assert r.rc == 1, f"{method} should have failed with an error status:\n{r}"
        return r.err.strip()

    def state(self, exec_id=None):
        """(status, pid, exit_status) of the init process or of exec_id."""
        out = self.ok("state", self.id, *([exec_id] if exec_id else []))
        status, pid, exit_status = out.split()
        return status, int(pid), int(exit_status)

    def stdio(self, name):
        """Paths of (stdin, stdout, stderr) for a process: "" stdin, and
        FIFOs read by threads for stdout and stderr."""
        fifos = [Fifo(os.path.join(self.workdir, f"{name}-{s}")) for s in ("out", "err")]
        self.fifos += fifos
        return fifos

    def create(self, stdout_fifo, stderr_fifo):
        return int(self.ok("create", self.id, self.bundle.dir, "", stdout_fifo.path,
                           stderr_fifo.path))

    def wait_gone(self, timeout=10.0):
        ocitest.wait_for(lambda: not ocitest.pid_alive(self.pid), timeout=timeout,
                         what=f"shim pid {self.pid} to exit")

    def cleanup(self):
        """Kill and remove everything the shim and its containers may have left."""
        problems = []
        root = os.path.join(RUNTIME_ROOT, self.ns)
        if os.path.isdir(os.path.join(root, self.id)):
            # resume first: berth-runc's delete --force cannot kill a frozen container
            for args in (["resume", self.id], ["delete", "--force", self.id]):
                subprocess.run([self.runtime, "--root", root, *args],
                               stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=CALL_TIMEOUT, check=False)
        if self.pid and ocitest.pid_alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)
            try:
                self.wait_gone()
            except AssertionError as e:
                problems.append(str(e))
        if self.socket_path and os.path.lexists(self.socket_path):
            os.unlink(self.socket_path)
        shutil.rmtree(root, ignore_errors=True)
        self.containerd.close()
        for f in self.fifos:
            f.close()
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None
        return problems
