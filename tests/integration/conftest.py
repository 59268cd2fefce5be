# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the OCI runtime integration suite.

The suite drives any runc-compatible binary, chosen by $BERTH_RUNTIME
(default: build/runc/berth-runc in this repository). Every test gets:

  rt       a Runtime bound to a private --root state dir; it records every
           container the test touches, force-deletes them at teardown and
           fails the test if a state dir, cgroup dir or process is left.
  bundle   a factory making OCI bundles: a private copy of the busybox
           rootfs (built once per session) and a config.json from
           tests/images/make_config.py that the test may tweak.

Run with Debian's pytest:  /usr/bin/python3 -m pytest tests/integration
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ocitest  # noqa: E402
from ocitest import (  # noqa: E402
    Bundle,
    Runtime,
    cleanup_cgroup_parent,
    leftovers,
)


def pytest_configure(config):
    # Markers are registered in pytest.ini too; this keeps the suite
    # working when run from another rootdir.
    for line in (
        "interop: drives real containerd/dockerd with the runtime under test",
        "berth_only: expected to fail with runc/crun; skipped for them",
        "slow: takes more than a few seconds",
    ):
        config.addinivalue_line("markers", line)


def pytest_collection_modifyitems(config, items):
    name = os.path.basename(ocitest.runtime_path())
    if name not in ocitest.REFERENCE_RUNTIMES:
        return
    skip = pytest.mark.skip(
        reason=f"berth_only: the reference runtime {name} is known not to do this"
    )
    for item in items:
        if "berth_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def runtime():
    """Absolute path of the runtime binary under test."""
    path = ocitest.runtime_path()
    if not os.access(path, os.X_OK):
        if os.environ.get("BERTH_RUNTIME"):
            pytest.fail(f"BERTH_RUNTIME={path} is not an executable file")
        pytest.skip(f"{path} is not built; set BERTH_RUNTIME=/usr/sbin/runc to "
                    "run the suite against runc")
    return path


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory):
    """The busybox rootfs, built once per session; bundles copy it."""
    dest = tmp_path_factory.mktemp("image") / "rootfs"
    ocitest.build_rootfs(str(dest))
    return str(dest)


@pytest.fixture(scope="session", autouse=True)
def _cgroup_parent_cleanup():
    yield
    cleanup_cgroup_parent()


@pytest.fixture
def workdir():
    """A short private directory (unix socket paths must stay < 108 bytes)."""
    path = ocitest.make_workdir()
    yield path
    ocitest.remove_workdir(path)


@pytest.fixture
def rt(runtime, workdir):
    r = Runtime(runtime, os.path.join(workdir, "state"), workdir)
    yield r
    problems = []
    for cid in list(r.tracked):
        r.force_delete(cid)
    for cid, cgroups_path in r.tracked.items():
        problems += leftovers(r.root, cid, cgroups_path)
    assert not problems, "runtime left debris:\n  " + "\n  ".join(problems)


@pytest.fixture
def bundle(rt, rootfs_template, workdir):
    """bundle(args, tweak=None, **kw) -> Bundle (see ocitest.Bundle.make)."""
    counter = [0]

    def make(args=None, tweak=None, **kw):
        counter[0] += 1
        b = Bundle.make(
            os.path.join(workdir, f"bundle{counter[0]}"),
            rootfs_template,
            args=args,
            tweak=tweak,
            **kw,
        )
        rt.track(b.id, b.cgroups_path)
        return b

    return make



@pytest.fixture(scope="session", autouse=True)
def _host_network_untouched():
    """Tests must never change the host's own network settings."""
    before = ocitest.host_network_settings()
    yield
    after = ocitest.host_network_settings()
    assert after == before, f"the suite changed the host's network settings: {before} -> {after}"
