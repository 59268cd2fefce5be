# SPDX-License-Identifier: Apache-2.0
"""containerd.services.events.v1.Events of berth-containerd: the real ctr's `events`
(Subscribe) and a small grpcio client (Publish, Forward, Subscribe) with hand-encoded
protobuf. What ctr prints was compared with the real containerd 1.6.20: the same line
"<Go time> <namespace> <topic> <event JSON>" and the same topics for ctr namespaces
create/label/rm (/namespaces/update carries the request's labels, deletes under the
deleted namespace).
"""

import queue
import re
import signal
import socket
import subprocess
import threading
import time

import grpc
import pytest

from test_berth_containerd_ctr import berth  # noqa: F401 (fixture)
from test_berth_containerd_images import real  # noqa: F401 (fixture)

pytestmark = pytest.mark.interop

EVENTS = "/containerd.services.events.v1.Events/"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC (\S+) (\S+) (.*)$")
SANITIZER = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


@pytest.fixture
def d(berth):  # noqa: F811
    yield berth
    berth.stop()
    with open(berth.daemon.log, encoding="utf-8", errors="replace") as f:
        log = f.read()
    for word in SANITIZER:
        assert word not in log, log[-4000:]


# --- a tiny protobuf encoder/decoder --------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    """A length-delimited field (string, bytes, message)."""
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def int_field(num, value):
    return varint(num << 3) + varint(value)


def decode(buf):
    """{field number: [values]}; length-delimited values as bytes, varints as int."""
    out, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(buf, i)
        elif wire == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError(f"wire type {wire}")
        out.setdefault(num, []).append(v)
    return out


def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def any_msg(type_url, value=b""):
    return field(1, type_url) + field(2, value)


def namespace_create(name, labels=()):
    return field(1, name) + b"".join(field(2, field(1, k) + field(2, v)) for k, v in labels)


def envelope(buf):
    m = decode(buf)
    ev = decode(m[4][0]) if 4 in m else {}
    ts = decode(m[1][0]) if 1 in m else {}
    return {"seconds": ts.get(1, [0])[0], "nanos": ts.get(2, [0])[0],
            "namespace": m.get(2, [b""])[0].decode(), "topic": m.get(3, [b""])[0].decode(),
            "type_url": ev.get(1, [b""])[0].decode(), "value": ev.get(2, [b""])[0]}


# --- clients ------------------------------------------------------------------------------

class Client:
    def __init__(self, address):
        self.channel = grpc.insecure_channel("unix://" + address)

    def call(self, method, req, namespace="default"):
        md = [("containerd-namespace", namespace)] if namespace else []
        return self.channel.unary_unary(EVENTS + method)(req, metadata=md, timeout=10)

    def publish(self, topic, event, namespace="default"):
        return self.call("Publish", field(1, topic) + field(2, event), namespace)

    def subscribe(self, *filters):
        """Filters get an alternative that lets synced() through."""
        if filters:
            filters += ('topic=="/test/sync"',)
        return Subscriber(self.channel, filters)

    def close(self):
        self.channel.close()


class Subscriber:
    """A Subscribe stream read by a thread into a queue of envelopes."""

    def __init__(self, channel, filters):
        req = b"".join(field(1, f) for f in filters)
        self.stream = channel.unary_stream(EVENTS + "Subscribe")(req)
        self.q = queue.Queue()
        self.error = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for msg in self.stream:
                self.q.put(envelope(msg))
        except grpc.RpcError as e:
            self.error = e

    def get(self, timeout=5):
        return self.q.get(timeout=timeout)

    def none(self, wait=0.3):
        try:
            got = self.q.get(timeout=wait)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected event {got}")

    def cancel(self):
        self.stream.cancel()
        self.thread.join(5)


def synced(client, *subs):
    """Publishes /test/sync until every subscriber has seen one (its Subscribe is live),
    then drains them."""
    deadline = time.monotonic() + 10
    pending = list(subs)
    while pending:
        assert time.monotonic() < deadline, "subscribers never saw /test/sync"
        client.publish("/test/sync", any_msg("test.Sync"))
        for s in list(pending):
            try:
                while s.get(timeout=0.2)["topic"] != "/test/sync":
                    pass
                pending.remove(s)
            except queue.Empty:
                pass
    time.sleep(0.2)
    for s in subs:
        while not s.q.empty():
            s.q.get()


@pytest.fixture
def client(d):
    c = Client(d.address)
    yield c
    c.close()


# --- ctr events ---------------------------------------------------------------------------

def ctr_events(d, *filters):
    return subprocess.Popen(["ctr", "--address", d.address, "events", *filters],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def stop_ctr(p):
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return out, err


def parsed(out):
    rows = []
    for line in out.splitlines():
        m = LINE.match(line)
        assert m, f"not ctr's event line: {line!r}"
        rows.append((m.group(2), m.group(3), m.group(4)))
    return [r for r in rows if r[1] != "/test/sync"]


def wait_ctr_subscribed(client):
    """Gives the ctr processes time to subscribe (ctr prints nothing until an event comes)."""
    time.sleep(0.5)
    client.publish("/test/sync", any_msg("containerd.events.NamespaceDelete",
                                         field(1, "sync")))
    time.sleep(0.5)


def test_ctr_events_namespaces(d, client):
    all_ = ctr_events(d)
    only = ctr_events(d, 'topic~="/namespaces/(create|delete)"')
    ns1 = ctr_events(d, "namespace==ns1")
    wait_ctr_subscribed(client)
    d.ok("namespaces", "create", "ns1", "a=1")
    d.ok("namespaces", "label", "ns1", "b=2")
    d.ok("namespaces", "rm", "ns1")
    time.sleep(0.5)
    out, err = stop_ctr(all_)
    assert parsed(out) == [
        ("default", "/namespaces/create", '{"name":"ns1","labels":{"a":"1"}}'),
        ("default", "/namespaces/update", '{"name":"ns1","labels":{"b":"2"}}'),
        ("ns1", "/namespaces/delete", '{"name":"ns1"}'),
    ], out + err
    out, err = stop_ctr(only)
    assert [r[1] for r in parsed(out)] == ["/namespaces/create", "/namespaces/delete"], out + err
    out, err = stop_ctr(ns1)
    assert parsed(out) == [("ns1", "/namespaces/delete", '{"name":"ns1"}')], out + err


def test_ctr_events_bad_filter(d):
    p = d.ctr("events", "topic~=")
    assert p.returncode != 0
    assert p.stderr.startswith("ctr: rpc error: code = InvalidArgument desc = subscription "
                               "error: failed parsing subscription filters: filters: parse "
                               "error: [topic~=]"), p.stderr
    assert p.stderr.endswith(": invalid argument\n"), p.stderr


def test_publish_seen_by_subscribers(d, client):
    every = client.subscribe()
    ns_a = client.subscribe("namespace==a")
    by_name = client.subscribe('event.name=="x"', 'topic=="/other/topic"')
    labelled = client.subscribe("event.labels.k~=^v")
    synced(client, every, ns_a, by_name, labelled)

    ev = any_msg("containerd.events.NamespaceCreate", namespace_create("x", [("k", "v1")]))
    before = time.time()
    client.publish("/namespaces/create", ev, namespace="a")
    got = every.get()
    assert got["namespace"] == "a" and got["topic"] == "/namespaces/create"
    assert got["type_url"] == "containerd.events.NamespaceCreate"
    assert got["value"] == namespace_create("x", [("k", "v1")])
    assert abs(got["seconds"] + got["nanos"] / 1e9 - before) < 5
    assert ns_a.get() == got
    assert by_name.get() == got
    assert labelled.get() == got

    client.publish("/other/topic", any_msg("test.Other"), namespace="b")
    assert every.get()["topic"] == "/other/topic"
    assert by_name.get()["topic"] == "/other/topic"  # the second filter matches
    ns_a.none()
    labelled.none(0)

    # in order, as published
    for i in range(50):
        client.publish(f"/seq/n{i}", any_msg("test.Seq"))
    assert [every.get()["topic"] for _ in range(50)] == [f"/seq/n{i}" for i in range(50)]
    for s in (every, ns_a, by_name, labelled):
        s.cancel()


def test_disconnected_subscriber_does_not_affect_others(d, client):
    a, b = client.subscribe(), client.subscribe()
    other = Client(d.address)
    c = other.subscribe()
    synced(client, a, b, c)
    a.cancel()
    other.close()  # the whole connection goes
    c.thread.join(5)
    client.publish("/after/cancel", any_msg("test.X"))
    assert b.get()["topic"] == "/after/cancel"
    # a ctr killed mid-stream too
    p = ctr_events(d)
    time.sleep(0.5)
    p.kill()
    p.communicate()
    client.publish("/after/kill", any_msg("test.X"))
    assert b.get()["topic"] == "/after/kill"
    assert d.ok("version")
    b.cancel()


@pytest.mark.parametrize("topic,words", [
    ("nope", "envelope topic \"nope\": must start with '/': invalid argument"),
    ("", "envelope topic \"\": must not be empty: invalid argument"),
    ("/", "envelope topic \"/\": must have at least one component: invalid argument"),
    ("/a//b", 'envelope topic "/a//b": failed validation on component "": identifier must '
              "not be empty: invalid argument"),
    ("/a/b..c", 'envelope topic "/a/b..c": failed validation on component "b..c": '
                'identifier "b..c" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: '
                "invalid argument"),
])
def test_publish_bad_topic(d, client, topic, words):
    with pytest.raises(grpc.RpcError) as e:
        client.publish(topic, any_msg("test.X"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details() == words


def test_publish_needs_namespace(d, client):
    with pytest.raises(grpc.RpcError) as e:
        client.publish("/a", any_msg("test.X"), namespace=None)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert e.value.details() == ("failed publishing event: namespace is required: "
                                 "failed precondition")


def test_forward(d, client):
    s = client.subscribe('topic=="/fwd/x"')
    synced(client, s)
    env = (field(1, int_field(1, 1700000000) + int_field(2, 123)) + field(2, "elsewhere")
           + field(3, "/fwd/x") + field(4, any_msg("test.Fwd", b"\x01\x02")))
    client.call("Forward", field(1, env))
    got = s.get()
    assert (got["seconds"], got["nanos"], got["namespace"], got["topic"], got["type_url"],
            got["value"]) == (1700000000, 123, "elsewhere", "/fwd/x", "test.Fwd", b"\x01\x02")
    for bad, words in [
        (field(2, "ns") + field(3, "/fwd/x"),
         "timestamp must be set on forwarded event: invalid argument"),
        (field(1, int_field(1, 1)) + field(2, "bad ns") + field(3, "/fwd/x"),
         'event envelope has invalid namespace: identifier "bad ns" must match '
         "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument"),
        (field(1, int_field(1, 1)) + field(2, "ns") + field(3, "fwd"),
         "envelope topic \"fwd\": must start with '/': invalid argument"),
    ]:
        with pytest.raises(grpc.RpcError) as e:
            client.call("Forward", field(1, bad))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert e.value.details() == words
    s.none()
    s.cancel()


def hpack_literal(name, value):
    """A header as HPACK "literal without indexing, new name" (RFC 7541 6.2.2)."""
    name, value = name.encode(), value.encode()
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def h2_frame(kind, flags, stream, payload):
    return (len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big")
            + payload)


def stalled_subscriber(address):
    """A Subscribe call over a raw HTTP/2 connection that never reads nor grants window."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    headers = b"".join(hpack_literal(k, v) for k, v in [
        (":method", "POST"), (":scheme", "http"), (":authority", "localhost"),
        (":path", EVENTS + "Subscribe"), ("content-type", "application/grpc"), ("te", "trailers")])
    msg = b"\x00" + (0).to_bytes(4, "big")  # an empty SubscribeRequest
    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(4, 0, 0, b"")
                 + h2_frame(1, 4, 1, headers) + h2_frame(0, 1, 1, msg))
    return sock


def test_slow_subscriber_is_dropped(d, client):
    reader = client.subscribe()
    stalled = stalled_subscriber(d.address)
    synced(client, reader)
    time.sleep(0.3)
    big = any_msg("test.Big", b"x" * 16384)
    n = 1000  # 16 MiB: past gRPC's 1 MiB per call and the exchange's 8 MiB queue
    for i in range(n):
        client.publish(f"/big/n{i}", big)
        assert reader.get()["topic"] == f"/big/n{i}"
    with open(d.daemon.log, encoding="utf-8", errors="replace") as f:
        assert "subscriber fell more than" in f.read()
    stalled.close()
    client.publish("/after/drop", any_msg("test.X"))
    assert reader.get()["topic"] == "/after/drop"
    reader.cancel()


# --- events of the other services, compared with the real containerd ------------------------

# Topics whose payloads hold random keys (unpack's "extract-..." snapshots): compared by topic.
RANDOM_PAYLOAD = ("/snapshot/prepare", "/snapshot/commit", "/snapshot/remove")


def service_events_flow(ctr, image_tar):
    """Images, containers, snapshots and content calls through the real ctr; returns the
    events `ctr events` printed meanwhile as (namespace, topic, payload)."""
    image = "docker.io/library/busybox:latest"
    other = "docker.io/library/other:1"
    events = subprocess.Popen(ctr.base + ["events"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    time.sleep(0.5)
    for args in (("images", "import", image_tar), ("images", "tag", image, other),
                 ("images", "label", other, "a=b"), ("containers", "create", image, "c1"),
                 ("containers", "label", "c1", "x=y"), ("containers", "rm", "c1"),
                 ("images", "rm", other)):
        p = ctr.run(*args)
        assert p.returncode == 0, (args, p.stderr)
    config = [line.split()[0] for line in ctr.run("content", "ls").stdout.splitlines()[1:]
              if "application/vnd.docker.container.image.v1+json" in line
              or "config" in line][:1]
    assert config and ctr.run("content", "rm", config[0]).returncode == 0
    time.sleep(0.5)
    out, err = stop_ctr(events)
    rows = [(ns, topic, "" if topic in RANDOM_PAYLOAD else payload)
            for ns, topic, payload in parsed(out)]
    return rows, config[0]


class Ctr:
    def __init__(self, address, namespace):
        self.base = ["ctr", "--address", address, "--namespace", namespace]

    def run(self, *args):
        return subprocess.run(self.base + list(args), capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)


def test_service_events_match_containerd(d, real, image_tar):
    ours, config = service_events_flow(Ctr(d.address, "default"), image_tar)
    theirs, _ = service_events_flow(Ctr(real.address, real.namespace), image_tar)
    theirs = [(("default" if ns == real.namespace else ns), topic, payload)
              for ns, topic, payload in theirs]
    assert ours == theirs, "\n".join(map(str, ours)) + "\n---\n" + "\n".join(map(str, theirs))
    topics = [t for _, t, _ in ours]
    for topic in ("/images/create", "/images/update", "/images/delete", "/containers/create",
                  "/containers/update", "/containers/delete", "/snapshot/prepare",
                  "/snapshot/commit", "/snapshot/remove", "/content/delete"):
        assert topic in topics, topics
    assert ("default", "/content/delete", '{"digest":"%s"}' % config) in ours
