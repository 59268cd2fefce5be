# SPDX-License-Identifier: Apache-2.0
"""OCI hooks: each gets the container state JSON on stdin."""

import json
import os
import time

import pytest

from ocitest import assert_no_debris, read_file, wait_for

HOST_HOOKS = ("prestart", "createRuntime", "poststart", "poststop")
CONTAINER_HOOKS = ("createContainer", "startContainer")


def save_state_hook(path, env=None, fallback_dir=None):
    """A hook that writes its stdin (the state JSON) to path and $HOOK_ENV
    to path.env. With fallback_dir, the file goes there when path's dir is
    not visible (container hooks see the container's mounts: runc runs
    createContainer before pivot_root, the spec allows after)."""
    d, name = os.path.split(path)
    pick = f'd="{d}"; '
    if fallback_dir:
        pick += f'[ -d "$d" ] || d="{fallback_dir}"; '
    script = (pick + f'cat > "$d/{name}.tmp"; echo "$HOOK_ENV" > "$d/{name}.env";'
              f' mv "$d/{name}.tmp" "$d/{name}"')
    hook = {"path": "/bin/sh", "args": ["sh", "-c", script]}
    if env:
        hook["env"] = env
    return hook


def load_state(path):
    text = read_file(path)
    try:
        return json.loads(text)
    except ValueError:
        raise AssertionError(f"hook stdin is not JSON: {text!r}") from None


def test_hooks_get_state_on_stdin(rt, bundle, workdir):
    host = os.path.join(workdir, "hooks")
    os.mkdir(host)
    b = bundle(["sleep", "1000"])
    b.bind(host, "/hooks")
    hooks = {name: [save_state_hook(os.path.join(host, name), env=[f"HOOK_ENV={name}"])]
             for name in HOST_HOOKS}
    # These two run in the container's namespaces (/bin/sh is in both).
    for name in CONTAINER_HOOKS:
        hooks[name] = [save_state_hook(os.path.join(host, name), fallback_dir="/hooks",
                                       env=[f"HOOK_ENV={name}"])]
    b.config["hooks"] = hooks
    b.save()

    rt.create_ok(b)
    for name in ("prestart", "createRuntime", "createContainer"):
        assert os.path.exists(os.path.join(host, name)), f"{name} did not run at create"
    # poststart is not checked here: runc 1.1 runs it at create (see
    # test_poststart_runs_after_start).
    for name in ("startContainer", "poststop"):
        assert not os.path.exists(os.path.join(host, name)), f"{name} ran too early"
    pid = rt.state(b.id)["pid"]

    rt.start(b.id)
    wait_for(lambda: os.path.exists(os.path.join(host, "poststart")),
             what="the poststart hook")
    assert os.path.exists(os.path.join(host, "startContainer"))
    rt.kill(b.id)
    rt.wait_status(b.id, "stopped")
    rt.delete(b.id)
    assert os.path.exists(os.path.join(host, "poststop")), "poststop did not run at delete"

    want_status = {"prestart": "created", "createRuntime": "created",
                   "createContainer": "created", "startContainer": "created",
                   "poststart": "running", "poststop": "stopped"}
    for name in HOST_HOOKS + CONTAINER_HOOKS:
        state = load_state(os.path.join(host, name))
        assert state["id"] == b.id, f"{name}: {state}"
        assert state["bundle"] == os.path.realpath(b.dir), f"{name}: {state}"
        assert "ociVersion" in state, f"{name}: {state}"
        if name != "poststart":  # see test_poststart_runs_after_start
            assert state["status"] in ("creating", want_status[name]), \
                f"{name} got status {state['status']}"
        # runc 1.1 gives hooks run in the container's pid namespace the pid
        # as seen there (1); the spec says "as seen by the host".
        if name in CONTAINER_HOOKS:
            assert state["pid"] in (pid, 1), f"{name} got pid {state.get('pid')}"
        elif name != "poststop":
            assert state["pid"] == pid, f"{name} got pid {state.get('pid')}, want {pid}"
        assert read_file(os.path.join(host, name) + ".env").strip() == name, \
            f"{name} did not get its env"


@pytest.mark.berth_only
def test_poststart_runs_after_start(rt, bundle, workdir):
    # runtime-spec: poststart hooks run after the user process started.
    # runc 1.1 runs them at the end of `create` with status "created".
    out = os.path.join(workdir, "poststart")
    b = bundle(["sleep", "1000"])
    b.config["hooks"] = {"poststart": [save_state_hook(out)]}
    b.save()
    rt.create_ok(b)
    assert not os.path.exists(out), "poststart ran at create, before start"
    rt.start(b.id)
    wait_for(lambda: os.path.exists(out), what="the poststart hook")
    state = load_state(out)
    assert state["status"] == "running" and state["id"] == b.id, state


def test_failing_hook_fails_create_and_cleans_up(rt, bundle):
    b = bundle(["sleep", "1000"])
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    b.save()
    r = rt.create(b)
    assert r.rc != 0, f"a failing createRuntime hook must fail create:\n{r}"
    assert_no_debris(rt, b)


def test_hook_timeout(rt, bundle):
    b = bundle(["sleep", "1000"])
    b.config["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "10"],
                                       "timeout": 1}]}
    b.save()
    started = time.monotonic()
    r = rt.create(b, timeout=15)
    took = time.monotonic() - started
    assert r.rc != 0, f"a hook over its timeout must fail create:\n{r}"
    assert took < 8, f"create took {took:.1f}s; the 1 s hook timeout was not applied"
    assert "timeout" in r.err.lower() or "timed out" in r.err.lower(), str(r)
    assert_no_debris(rt, b)


def test_poststop_runs_on_force_delete(rt, bundle, workdir):
    out = os.path.join(workdir, "poststop")
    b = bundle(["sleep", "1000"])
    b.config["hooks"] = {"poststop": [save_state_hook(out)]}
    b.save()
    rt.start_running(b)
    rt.delete(b.id, force=True)
    assert load_state(out)["id"] == b.id
