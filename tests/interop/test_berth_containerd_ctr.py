# SPDX-License-Identifier: Apache-2.0
"""The real ctr (containerd 1.6) against berth-containerd, on private paths.

berth-containerd is $BERTH_CONTAINERD, else the one in $BERTH_BUILD (default
build-release). What ctr prints is compared with what the real containerd answers.
"""

import os

import pytest

from conftest import Daemon, make_workdir, remove_workdir, run

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

pytestmark = pytest.mark.interop


def daemon_path():
    if os.environ.get("BERTH_CONTAINERD"):
        return os.path.abspath(os.environ["BERTH_CONTAINERD"])
    build = os.environ.get("BERTH_BUILD") or os.path.join(REPO, "build-release")
    return os.path.join(os.path.abspath(build), "containerd", "berth-containerd")


class BerthContainerd:
    def __init__(self, workdir):
        self.dir = workdir
        self.address = os.path.join(workdir, "containerd.sock")
        self.root = os.path.join(workdir, "root")
        self.daemon = Daemon("berth-containerd", workdir,
                             [daemon_path(), "--address", self.address, "--root", self.root,
                              "--state", os.path.join(workdir, "state"), "--log-level",
                              "debug"])
        self.daemon.wait_ready(lambda: self.ctr("version").returncode == 0)

    def ctr(self, *args, namespace="default"):
        return run(["ctr", "--address", self.address, "--namespace", namespace, *args])

    def ok(self, *args, **kw):
        p = self.ctr(*args, **kw)
        assert p.returncode == 0, f"ctr {' '.join(args)}: {p.returncode}\n{p.stderr}"
        return p.stdout

    def fail(self, *args, **kw):
        p = self.ctr(*args, **kw)
        assert p.returncode != 0, f"ctr {' '.join(args)} succeeded:\n{p.stdout}"
        return p.stderr

    def stop(self):
        self.daemon.stop()


@pytest.fixture
def berth():
    path = daemon_path()
    assert os.access(path, os.X_OK), f"{path} is not built"
    workdir = make_workdir("btbc-")
    d = None
    try:
        d = BerthContainerd(workdir)
        yield d
    finally:
        if d:
            d.stop()
        remove_workdir(workdir)


def test_version(berth):
    out = berth.ok("version")
    server = out.split("Server:", 1)[1]
    assert "Version:  1.6.20+berth" in server, out
    assert "UUID:" in server
    uuid = server.split("UUID:", 1)[1].split()[0]
    assert len(uuid) == 36
    # the uuid is kept across restarts
    berth.stop()
    again = BerthContainerd(berth.dir)
    try:
        assert uuid in again.ok("version")
    finally:
        again.stop()


def test_namespaces_create_label_list_remove(berth):
    berth.ok("namespaces", "create", "ns1", "a=1", "b=2")
    out = berth.ok("namespaces", "ls")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "LABELS"]
    assert ["ns1", "a=1,b=2"] in [line.split() for line in lines[1:]], out
    berth.ok("namespaces", "label", "ns1", "a=")  # removes a
    berth.ok("namespaces", "label", "ns1", "c=3")
    assert ["ns1", "b=2,c=3"] in [line.split() for line in berth.ok("namespaces", "ls")
                                  .splitlines()[1:]]
    err = berth.fail("namespaces", "create", "ns1")
    assert "already exists" in err
    err = berth.fail("namespaces", "create", "bad..name")
    assert err == ('ctr: identifier "bad..name" must match '
                   '^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument\n'), err
    berth.ok("namespaces", "rm", "ns1")
    assert "ns1" not in berth.ok("namespaces", "ls")
    assert berth.ok("namespaces", "rm", "ns1") == "ns1\n"  # as containerd: not an error


def test_plugins(berth):
    out = berth.ok("plugins", "ls")
    rows = [line.split() for line in out.splitlines()[1:]]
    assert ["io.containerd.snapshotter.v1", "overlayfs"] in [r[:2] for r in rows], out
    assert "io.containerd.grpc.v1" in berth.ok("plugins", "ls", "type==io.containerd.grpc.v1")
    filtered = berth.ok("plugins", "ls", "type==io.containerd.snapshotter.v1")
    assert "io.containerd.grpc.v1" not in filtered and "native" in filtered, filtered


def test_containers_list_info_remove_errors(berth):
    """ctr containers create needs the image service (not served yet); what can be driven
    now is compared word for word with containerd's answers."""
    out = berth.ok("containers", "ls")
    assert out.splitlines()[0].split() == ["CONTAINER", "IMAGE", "RUNTIME"]
    err = berth.fail("containers", "info", "nope")
    assert err == 'ctr: container "nope" in namespace "default": not found\n', err
    err = berth.fail("containers", "rm", "nope")
    assert err.endswith('ctr: container "nope" in namespace "default": not found\n'), err


def test_missing_namespace_is_a_failed_precondition(berth):
    err = berth.fail("containers", "ls", namespace="")
    assert err == "ctr: namespace is required: failed precondition\n", err


# --- bad input: the right status, and the daemon keeps serving --------------------------


def grpc_channel(berth):
    import grpc  # Debian's python3-grpcio (scripts/deps.sh)
    return grpc, grpc.insecure_channel(f"unix://{berth.address}",
                                       options=[("grpc.max_send_message_length", 64 << 20)])


def raw_call(channel, path, body, namespace="default"):
    call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    return call(body, metadata=[("containerd-namespace", namespace)], timeout=10)


def test_bad_input_gets_the_right_status_and_the_daemon_keeps_serving(berth):
    grpc, channel = grpc_channel(berth)
    with channel:
        cases = [
            # a field 1 (name) of wire type 2 whose length runs past the end
            ("/containerd.services.namespaces.v1.Namespaces/Get", b"\x0a\x7f\x01",
             grpc.StatusCode.INVALID_ARGUMENT),
            ("/containerd.services.nope.v1.Nope/Get", b"", grpc.StatusCode.UNIMPLEMENTED),
            ("/containerd.services.namespaces.v1.Namespaces/Nope", b"",
             grpc.StatusCode.UNIMPLEMENTED),
            # a length of 5 with 3 bytes behind it
            ("/containerd.services.namespaces.v1.Namespaces/Get", b"\x0a\x05abc",
             grpc.StatusCode.INVALID_ARGUMENT),
            ("/containerd.services.namespaces.v1.Namespaces/Create", b"x" * (17 << 20),
             grpc.StatusCode.RESOURCE_EXHAUSTED),
        ]
        for path, body, code in cases:
            with pytest.raises(grpc.RpcError) as e:
                raw_call(channel, path, body)
            assert e.value.code() == code, (path, e.value.code(), e.value.details())
            # still serving, on the same connection and on a new one
            assert raw_call(channel, "/containerd.services.version.v1.Version/Version", b"")
    assert "1.6.20+berth" in berth.ok("version")


def test_unknown_method_is_worded_as_grpc_go(berth):
    grpc, channel = grpc_channel(berth)
    with channel, pytest.raises(grpc.RpcError) as e:
        raw_call(channel, "/containerd.services.nope.v1.Nope/Get", b"")
    assert e.value.details() == "unknown service containerd.services.nope.v1.Nope"
