# SPDX-License-Identifier: Apache-2.0
"""Interop of lib's gRPC server with a real gRPC client: Debian's python3-grpcio
(gRPC C-core) calls berth-grpc-echo ($BERTH_GRPC_ECHO, default
build-release/tests/grpc-server/berth-grpc-echo) on a private unix socket,
with raw bytes as messages (identity serializers). Covered: unary calls and
metadata, large messages, server streaming to a slow reader, client and
bidirectional streaming, many concurrent calls on one channel, deadlines
(the server's cancel callback runs with DEADLINE_EXCEEDED), client
cancellation, every status code with a percent-encoded message, unknown
methods, oversize and compressed requests (the channel keeps working).
Where Debian's ctr is installed, containerd's own client (grpc-go 1.33) calls
the echo server's Version service too: its preface, SETTINGS, window updates,
grpc-timeout and the Trailers-Only UNIMPLEMENTED of the next call.

Run as root with Debian's pytest:
    /usr/bin/python3 -m pytest tests/integration/test_grpc_server.py
"""

import os
import select
import shutil
import subprocess
import threading
import time

import pytest

grpc = pytest.importorskip("grpc")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_ECHO = os.path.join(REPO, "build-release", "tests", "grpc-server", "berth-grpc-echo")
SVC = "/berth.echo.v1.Echo/"
MAX_MESSAGE = 16 << 20
CODES = {c.value[0]: c for c in grpc.StatusCode}


class Echo:
    """berth-grpc-echo running on a socket, its stdout lines collected."""

    def __init__(self, path, sock):
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen([path, sock], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        assert ready and self.proc.stdout.readline() == "ready\n", self.proc.stderr.read()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.strip())
                self.cond.notify_all()

    def wait_line(self, *lines, timeout=5):
        """Waits for one of lines; returns it."""
        with self.cond:
            assert self.cond.wait_for(lambda: set(lines) & set(self.lines), timeout), self.lines
            return (set(lines) & set(self.lines)).pop()

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=10) == 0, self.proc.stderr.read()


@pytest.fixture
def echo(tmp_path):
    path = os.path.abspath(os.environ.get("BERTH_GRPC_ECHO") or DEFAULT_ECHO)
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} not built")
    server = Echo(path, str(tmp_path / "grpc.sock"))
    yield server
    server.stop()


@pytest.fixture
def channel(echo, tmp_path):
    opts = [("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", 2 * MAX_MESSAGE)]
    with grpc.insecure_channel(f"unix:{tmp_path / 'grpc.sock'}", options=opts) as ch:
        yield ch


def unary(ch, method):
    return ch.unary_unary(SVC + method)


def test_unary_and_metadata(channel):
    assert unary(channel, "Unary")(b"hello", timeout=5) == b"hello"
    assert unary(channel, "Unary")(b"", timeout=5) == b""
    md = (("containerd-namespace", "default"),)
    got = unary(channel, "Metadata")(b"containerd-namespace", metadata=md, timeout=5)
    assert got == b"default"
    assert unary(channel, "Metadata")(b"user-agent", timeout=5).startswith(b"grpc-python")
    assert unary(channel, "Metadata")(b"te", timeout=5) == b"trailers"
    # the OK status comes in trailers, with the call's response
    _, call = unary(channel, "Unary").with_call(b"x", timeout=5)
    assert call.code() == grpc.StatusCode.OK
    assert call.details() in ("", None)


def test_large_message_both_ways(channel):
    big = bytes(range(256)) * ((MAX_MESSAGE - 64) // 256)
    assert unary(channel, "Unary")(big, timeout=30) == big


def test_server_stream_to_slow_reader(channel):
    it = channel.unary_stream(SVC + "ServerStream")(b"400 65536", timeout=60)
    first = next(it)
    time.sleep(0.5)  # the server meets flow control and its queue limit meanwhile
    got = [first] + list(it)
    assert len(got) == 400
    for i, m in enumerate(got):
        assert len(m) == 65536 and m.startswith(b"%d " % i)


def test_client_and_bidi_streaming(channel):
    msgs = [b"x" * (i % 9) for i in range(100)]
    assert channel.stream_unary(SVC + "ClientStream")(iter(msgs), timeout=10) == b"100 396"
    got = list(channel.stream_stream(SVC + "Bidi")(iter([b"a", b"bb", b"ccc"]), timeout=10))
    assert got == [b"a", b"bb", b"ccc"]


def test_many_concurrent_calls_on_one_channel(channel, echo):
    sleepers = [unary(channel, "Sleep").future(b"", timeout=10) for _ in range(20)]
    futures = [unary(channel, "Unary").future(b"%d" % i, timeout=10) for i in range(300)]
    assert [f.result() for f in futures] == [b"%d" % i for i in range(300)]
    for f in sleepers:
        f.cancel()
    echo.wait_line(f"cancel {SVC}Sleep CANCELLED")


def test_deadline_exceeded(channel, echo):
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        unary(channel, "Sleep")(b"", timeout=0.3)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - start < 2
    # C-core resets the stream at its deadline too: whichever side is first ends the call
    echo.wait_line(f"cancel {SVC}Sleep DEADLINE_EXCEEDED", f"cancel {SVC}Sleep CANCELLED")
    # the deadline the server got, as C-core writes it (rounded up a little)
    timeout = unary(channel, "Metadata")(b"grpc-timeout", timeout=4).decode()
    units = {"H": 3600, "M": 60, "S": 1, "m": 1e-3, "u": 1e-6, "n": 1e-9}
    assert 3 <= int(timeout[:-1]) * units[timeout[-1]] <= 5, timeout
    assert unary(channel, "Unary")(b"after", timeout=5) == b"after"


def test_status_codes_and_messages(channel):
    for value, code in sorted(CODES.items()):
        if code == grpc.StatusCode.OK:
            continue
        message = f"naïve 100% {code.name}\t\"x\""
        with pytest.raises(grpc.RpcError) as e:
            unary(channel, "Status")(f"{code.name} {message}".encode(), timeout=5)
        assert e.value.code() == code
        assert e.value.details() == message


def test_unknown_methods(channel):
    with pytest.raises(grpc.RpcError) as e:
        unary(channel, "Nope")(b"", timeout=5)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert e.value.details() == "unknown method Nope for service berth.echo.v1.Echo"
    with pytest.raises(grpc.RpcError) as e:
        channel.unary_unary("/nope.v1.Nope/Get")(b"", timeout=5)
    assert e.value.details() == "unknown service nope.v1.Nope"


def test_oversize_and_compressed_requests_keep_the_channel(channel):
    with pytest.raises(grpc.RpcError) as e:
        unary(channel, "Unary")(b"o" * (MAX_MESSAGE + 1), timeout=30)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert e.value.details() == (f"grpc: received message larger than max "
                                 f"({MAX_MESSAGE + 1} vs. {MAX_MESSAGE})")
    with pytest.raises(grpc.RpcError) as e:
        unary(channel, "Unary")(b"zip me" * 100, timeout=5, compression=grpc.Compression.Gzip)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "grpc-encoding" in e.value.details()
    assert unary(channel, "Unary")(b"still here", timeout=5) == b"still here"


def test_containerd_ctr_version(echo, tmp_path):
    ctr = shutil.which("ctr")
    if not ctr:
        pytest.skip("ctr (containerd) not installed")
    p = subprocess.run([ctr, "--address", str(tmp_path / "grpc.sock"), "--timeout", "5s",
                        "version"], capture_output=True, text=True, timeout=30)
    assert "Server:\n  Version:  0.0.0-echo\n  Revision: echo" in p.stdout, p.stderr
    # ctr then asks Introspection/Server, which the echo server does not have
    assert p.returncode == 1
    assert "unknown service containerd.services.introspection.v1.Introspection" in p.stderr
