# SPDX-License-Identifier: Apache-2.0
"""The runtime binary cannot be reopened for writing through /proc/<pid>/exe
(the CVE-2019-5736 class).

The attack: a process in the container gets an O_PATH handle on the runtime's
executable through /proc/<pid>/exe of a runtime process that entered the
container, waits for that process to exit (so ETXTBSY no longer protects the
file) and reopens the handle for writing. berth-runc runs every process that
enters a container from a read-only detached mount of itself, so the reopen
fails with EROFS. The test runs a copy of the binary, so a failure cannot
damage the build.
"""
import errno
import hashlib
import os
import shutil
import subprocess
import time

import pytest

from ocitest import Runtime, wait_for


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def runtime_copy(runtime, workdir):
    path = os.path.join(workdir, "runtime-copy")
    shutil.copy2(runtime, path)
    return path


def reopen_for_write_after_exit(proc, exe_fd):
    proc.wait(timeout=30)
    try:
        fd = os.open(f"/proc/self/fd/{exe_fd}", os.O_WRONLY)
    except OSError as e:
        return e.errno
    os.close(fd)
    return 0


@pytest.mark.berth_only
def test_exec_process_binary_cannot_be_reopened_for_writing(runtime_copy, workdir, bundle):
    rt = Runtime(runtime_copy, os.path.join(workdir, "state-copy"), workdir)
    b = bundle(["sleep", "30"])
    rt.track(b.id, b.cgroups_path)
    before = sha256(runtime_copy)
    try:
        rt.start_running(b)
        # `exec` waits for its process: the runtime stays alive for about a second
        proc = subprocess.Popen(rt.argv("exec", b.id, "sleep", "1"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(f"/proc/{proc.pid}/exe") and
                 os.readlink(f"/proc/{proc.pid}/exe") != "",
                 what="the exec process")
        time.sleep(0.2)  # past the one re-exec of the runtime
        exe_fd = os.open(f"/proc/{proc.pid}/exe", os.O_PATH)
        try:
            code = reopen_for_write_after_exit(proc, exe_fd)
        finally:
            os.close(exe_fd)
        assert code == errno.EROFS, \
            f"reopening the runtime binary for writing gave {errno.errorcode.get(code, code)}"
    finally:
        rt.force_delete(b.id)
    assert sha256(runtime_copy) == before


@pytest.mark.berth_only
def test_container_init_before_start_cannot_be_reopened_for_writing(runtime_copy, workdir,
                                                                   bundle):
    """Between create and start the container process is a fork of the runtime."""
    rt = Runtime(runtime_copy, os.path.join(workdir, "state-copy"), workdir)
    b = bundle(["true"])
    rt.track(b.id, b.cgroups_path)
    try:
        rt.create_ok(b)
        pid = rt.state(b.id)["pid"]
        exe_fd = os.open(f"/proc/{pid}/exe", os.O_PATH)
        try:
            rt.force_delete(b.id)
            wait_for(lambda: not os.path.exists(f"/proc/{pid}/exe"), what="init to exit")
            try:
                fd = os.open(f"/proc/self/fd/{exe_fd}", os.O_WRONLY)
                os.close(fd)
                code = 0
            except OSError as e:
                code = e.errno
        finally:
            os.close(exe_fd)
        assert code == errno.EROFS, f"got {errno.errorcode.get(code, code)}"
    finally:
        rt.force_delete(b.id)
