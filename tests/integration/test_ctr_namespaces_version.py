# SPDX-License-Identifier: Apache-2.0
"""berth-ctr's version and namespaces commands and its global flags against berth-containerd:
ctr's output (tabwriter columns, labels sorted), ctr's rules for rm (a namespace that is not
there counts as removed; a namespace in use is an error, exit 1), and its errors for bad input
(unknown command, unknown flag, no daemon)."""

import os
import re
import subprocess

from ctrtest import binary, daemon  # noqa: F401 (fixture)


def test_version_names_client_and_server(daemon):  # noqa: F811
    out = daemon.ok("version")
    m = re.fullmatch(r"Client:\n  Version:  \S+\n  Revision: \S*\n\nServer:\n"
                     r"  Version:  1\.6\.20\+berth\n  Revision: \S+\n  UUID: ([0-9a-f-]{36})\n",
                     out)
    assert m, out
    assert daemon.ok("version") == out  # the uuid is the server's, stable


def test_namespaces_create_label_ls_rm(daemon):  # noqa: F811
    daemon.ok("namespaces", "create", "ns-a", "b=2", "a=1")
    daemon.ok("ns", "create", "ns-bb")
    ls = daemon.ok("namespaces", "ls")
    rows = ls.splitlines()
    assert rows[0].split() == ["NAME", "LABELS"] and ["ns-a", "a=1,b=2"] in [
        r.split() for r in rows] and ["ns-bb"] in [r.split() for r in rows], rows
    # the real ctr prints the same, padding and all, from the same daemon
    assert daemon.ok("namespaces", "ls", tool="ctr") == ls
    assert set(daemon.ok("ns", "ls", "-q").split()) >= {"ns-a", "ns-bb"}
    daemon.ok("namespaces", "label", "ns-a", "a=", "c=3")
    assert ["ns-a", "b=2,c=3"] in [r.split() for r in daemon.ok("namespaces", "ls").splitlines()]

    # create twice: containerd's words; exit status 1
    err = daemon.fail("namespaces", "create", "ns-a")
    assert err == daemon.fail("namespaces", "create", "ns-a", tool="ctr"), err
    assert "already exists" in err, err
    # a bad name is refused by the daemon
    err = daemon.fail("namespaces", "create", "bad..name")
    assert "invalid argument" in err, err

    # a namespace in use cannot go; the others in the same rm still do
    daemon.ok("leases", "create", "--id", "l1", namespace="ns-bb")
    p = daemon.run("namespaces", "rm", "ns-a", "ns-bb", "never-was")
    assert p.returncode == 1 and p.stdout == "ns-a\nnever-was\n", (p.returncode, p.stdout)
    assert "unable to delete ns-bb" in p.stderr and "must be empty" in p.stderr, p.stderr
    daemon.ok("leases", "rm", "l1", namespace="ns-bb")
    assert daemon.ok("namespaces", "rm", "ns-bb") == "ns-bb\n"
    assert not {"ns-a", "ns-bb"} & set(daemon.ok("ns", "ls", "-q").split())


def test_bad_input(daemon):  # noqa: F811
    assert daemon.fail("no-such-command") == "ctr: No help topic for 'no-such-command'\n"
    err = daemon.fail("namespaces", "ls", "--bogus")
    assert err == "ctr: flag provided but not defined: -bogus\n", err
    assert daemon.fail("namespaces", "create") == "ctr: please specify a namespace\n"
    err = daemon.fail("--timeout", "soon", "version")
    assert "invalid value \"soon\" for flag -timeout" in err, err


def test_no_daemon_is_a_clear_error(tmp_path):
    sock = str(tmp_path / "none.sock")
    p = subprocess.run([binary("BERTH_CTR", "ctr/berth-ctr"), "--address", sock, "namespaces",
                        "ls"], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and p.stderr.startswith(f'ctr: failed to dial "{sock}"'), p.stderr
    assert not os.path.exists(sock)


def test_plugins_as_ctr_prints_them(daemon):  # noqa: F811
    for args in (["plugins", "ls"], ["plugin", "ls", "-q"], ["plugins", "ls", "-d"],
                 ["plugins", "ls", "type==io.containerd.snapshotter.v1"]):
        out = daemon.ok(*args)
        assert out and out == daemon.ok(*args, tool="ctr"), out
    assert "io.containerd.snapshotter.v1    overlayfs" in daemon.ok("plugins", "ls")
    err = daemon.fail("plugins", "ls", "type~=")
    assert err == daemon.fail("plugins", "ls", "type~=", tool="ctr"), err
