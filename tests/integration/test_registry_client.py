# SPDX-License-Identifier: Apache-2.0
"""The registry client (lib/registry.h) against Debian's docker-registry.

Every test drives tests/registry-tool's berth-registry-tool: $BERTH_REGISTRY_TOOL,
else the one in $BERTH_BUILD (default: build-release in this repository). The
registries, the token server and the fault-injecting proxy come from
registry.py; content is made there with plain urllib, never with berth. The
https tests run a registry on 127.0.0.1 with a test CA's certificate for
registry.berth.test, which the tool reaches with --resolve (no DNS) and trusts
with --ca-file.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_registry_client.py
"""

import json
import os
import secrets
import shutil
import subprocess

import pytest

import registry
from registry import Fault, Proxy, Registry, TokenServer, digest_of, write_docker_config

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 120
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "ALL_PROXY", "NO_PROXY")


def tool_path():
    if os.environ.get("BERTH_REGISTRY_TOOL"):
        return os.path.abspath(os.environ["BERTH_REGISTRY_TOOL"])
    build = os.environ.get("BERTH_BUILD") or os.path.join(REPO, "build-release")
    return os.path.join(os.path.abspath(build), "tests", "registry-tool", "berth-registry-tool")


class Tool:
    def __init__(self, path, home):
        self.path = path
        self.env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        # never the invoking user's ~/.docker/config.json
        self.env["HOME"] = home
        self.env["DOCKER_CONFIG"] = os.path.join(home, "no-docker-config")

    def run(self, *args, check=True, wrap=()):
        """wrap: a command line the tool runs under (its argv follows)."""
        p = subprocess.run([*wrap, self.path, *map(str, args)], env=self.env,
                           capture_output=True, timeout=TIMEOUT)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, args))}: exit {p.returncode}: "
                                 f"{p.stderr.decode(errors='replace')}")
        return p

    def fail(self, *args, wrap=()):
        p = self.run(*args, check=False, wrap=wrap)
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        return p.stderr.decode(errors="replace")

    def manifest(self, *args, opts=()):
        out = self.run(*opts, "manifest", *args).stdout
        media_type, digest, body = out.split(b"\n", 2)
        return media_type.decode(), digest.decode(), body


@pytest.fixture(scope="module")
def tool(tmp_path_factory):
    path = tool_path()
    if not os.access(path, os.X_OK):
        if os.environ.get("BERTH_REGISTRY_TOOL") or os.environ.get("BERTH_BUILD"):
            pytest.fail(f"{path} is not an executable file")
        pytest.skip(f"{path} is not built")
    if not os.access(registry.REGISTRY_BIN, os.X_OK):
        pytest.skip("docker-registry is not installed")
    return Tool(path, str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="module")
def rdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("reg"))


@pytest.fixture(scope="module")
def anon(rdir):
    with Registry(rdir) as reg:
        yield reg


@pytest.fixture(scope="module")
def basic(rdir):
    with Registry(rdir, users={"alice": "s3cret"}) as reg:
        yield reg


@pytest.fixture(scope="module")
def token_server(rdir):
    with TokenServer(rdir, users={"bob": "hunter2"}) as ts:
        yield ts


@pytest.fixture(scope="module")
def bearer(rdir, token_server):
    with Registry(rdir, token=token_server) as reg:
        yield reg


TLS_NAME = "registry.berth.test"


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory):
    return registry.make_ca(str(tmp_path_factory.mktemp("ca")))


@pytest.fixture(scope="module")
def tls_reg(rdir, test_ca):
    """An https registry on 127.0.0.1 with a certificate for TLS_NAME (and IP 127.0.0.1)."""
    cert = registry.make_server_cert(os.path.join(rdir, "tls"), test_ca, TLS_NAME)
    with Registry(rdir, tls=cert.tls, ca=test_ca.cert) as reg:
        yield reg


def tls_opts(reg, ca=None, name=TLS_NAME):
    """Options that reach reg as name:port over https, trusting the CA file ca."""
    opts = ("--resolve", f"{name}:{reg.port}:127.0.0.1")
    return opts + ("--ca-file", ca) if ca else opts


@pytest.fixture
def proxy(anon):
    with Proxy(anon.port) as p:
        yield p


def new_repo():
    return f"berth/t{secrets.token_hex(4)}"


def berth_token_requests(ts):
    with ts.lock:
        return [r for r in ts.requests if r["agent"].startswith("berth/")]


def is_blob_get(entry, digest=None):
    return (entry["method"] == "GET" and "/blobs/sha256:" in entry["path"]
            and (digest is None or digest in entry["path"]))


# --- pulls -----------------------------------------------------------------------


def test_anonymous_pull_manifest_and_blobs(tool, anon, tmp_path):
    repo = new_repo()
    img = anon.push_image(repo, "v1", [os.urandom(300_000), os.urandom(1000)])
    ref = f"{anon.host}/{repo}:v1"

    assert tool.manifest(ref) == (img.media_type, img.digest, img.body)
    assert tool.manifest(f"{anon.host}/{repo}@{img.digest}")[1] == img.digest
    assert tool.manifest(ref, img.digest)[1] == img.digest
    head = tool.run("head", ref).stdout.decode().split("\n")
    assert head[:3] == [img.media_type, img.digest, str(img.size)]

    for digest, data in img.layers + [(img.config_digest, img.config)]:
        out = tmp_path / digest[7:]
        p = tool.run("fetch", ref, digest, out, "--size", len(data))
        assert p.stdout.decode() == f"{digest} {len(data)}\n"
        assert out.read_bytes() == data
    # a size left unknown: a clean end completes the download
    out = tmp_path / "unknown-size"
    tool.run("fetch", ref, img.layers[0][0], out)
    assert out.read_bytes() == img.layers[0][1]


def test_unknown_manifest_and_blob_are_not_found(tool, anon, tmp_path):
    repo = new_repo()
    anon.push_image(repo, "v1", [b"x"])
    err = tool.fail("manifest", f"{anon.host}/{repo}:nope")
    assert f"GET http://{anon.host}/v2/{repo}/manifests/nope: 404 Not Found: " \
           "MANIFEST_UNKNOWN: manifest unknown" in err
    missing = digest_of(b"missing")
    err = tool.fail("fetch", f"{anon.host}/{repo}", missing, tmp_path / "out")
    assert f"/v2/{repo}/blobs/{missing}: 404 Not Found: BLOB_UNKNOWN" in err


def test_connection_refused(tool):
    port = registry.free_port()
    err = tool.fail("manifest", f"127.0.0.1:{port}/a/b:latest")
    assert f"GET http://127.0.0.1:{port}/v2/a/b/manifests/latest: Connection refused" in err


def test_oci_index_and_docker_manifest_list(tool, anon):
    for oci in (True, False):
        repo = new_repo()
        amd = anon.push_image(repo, None, [os.urandom(100)], oci=oci)
        arm = anon.push_image(repo, None, [os.urandom(100)], oci=oci,
                              platform={"architecture": "arm64", "os": "linux"})
        index = anon.push_index(repo, "multi", [
            (amd, {"architecture": "amd64", "os": "linux"}),
            (arm, {"architecture": "arm64", "os": "linux", "variant": "v8"})], oci=oci)
        media_type, digest, body = tool.manifest(f"{anon.host}/{repo}:multi")
        assert media_type == (registry.OCI_INDEX if oci else registry.DOCKER_LIST)
        assert (digest, body) == (index.digest, index.body)
        assert [m["digest"] for m in json.loads(body)["manifests"]] == [amd.digest, arm.digest]
        child = tool.manifest(f"{anon.host}/{repo}@{arm.digest}")
        assert child == (arm.media_type, arm.digest, arm.body)


def test_mirror_first_then_registry(tool, anon, rdir):
    repo = new_repo()
    with Registry(rdir) as mirror, Proxy(mirror.port) as mp:
        img = mirror.push_image(repo, "m", [os.urandom(5000)])
        ref = f"{anon.host}/{repo}:m"  # only the mirror has it
        got = tool.manifest(ref, opts=("--mirror", f"{anon.host}=http://{mp.host}/"))
        assert got[1] == img.digest
        assert mp.requests("GET", f"/v2/{repo}/manifests/m?ns={anon.host.replace(':', '%3A')}")
        tool.run("--mirror", f"{anon.host}=http://{mp.host}", "fetch", ref, img.layers[0][0],
                 os.path.join(rdir, "mirrored"))
        assert mp.requests("GET", f"/blobs/{img.layers[0][0]}")

    # a mirror that is down: the registry itself answers
    mine = anon.push_image(repo, "r", [os.urandom(10)])
    down = registry.free_port()
    got = tool.manifest(f"{anon.host}/{repo}:r",
                        opts=("--mirror", f"{anon.host}=http://127.0.0.1:{down}"))
    assert got[1] == mine.digest



def test_bad_manifest_from_a_mirror_falls_through_to_the_registry(tool, anon, proxy, rdir):
    """A mirror's manifest that fails the checks (not JSON, digest mismatch, a media type
    that contradicts the body) is not final: the next endpoint, here the registry, answers.
    The registry sits behind `proxy` so that one log shows the order of the requests."""
    repo = new_repo()
    layers = [os.urandom(1000)]
    img = anon.push_image(repo, "v1", layers)
    docker = anon.push_image(new_repo(), "d", [b"d"], oci=False)
    order = []
    proxy.hook = lambda e: order.append(("registry", e["method"], e["path"]))
    with Registry(rdir) as mirror, Proxy(mirror.port) as mp:
        # the mirror has the same image, so it answers 200 to every manifest request
        assert mirror.push_image(repo, "v1", layers).digest == img.digest
        opts = ("--mirror", f"{proxy.host}=http://{mp.host}")
        ns = proxy.host.replace(":", "%3A")
        drop = ("docker-content-digest",)
        cases = [
            ("v1", Fault(body=b"not json", drop_response_headers=drop)),
            (img.digest, Fault(body=docker.body, drop_response_headers=drop)),  # digest
            ("v1", Fault(body=docker.body, drop_response_headers=drop)),  # media type
        ]
        for reference, fault in cases:
            order.clear()
            mp.hook = lambda e, f=fault: order.append(("mirror", e["method"], e["path"])) or (
                f if "/manifests/" in e["path"] else None)
            sep = "@" if reference.startswith("sha256:") else ":"
            got = tool.manifest(f"{proxy.host}/{repo}{sep}{reference}", opts=opts)
            assert got == (img.media_type, img.digest, img.body)
            assert order == [("mirror", "GET", f"/v2/{repo}/manifests/{reference}?ns={ns}"),
                             ("registry", "GET", f"/v2/{repo}/manifests/{reference}")]

        # HEAD: the mirror's answer has no digest, so the GETs decide, mirror first
        order.clear()
        mp.hook = lambda e: order.append(("mirror", e["method"], e["path"])) or Fault(
            body=b"not json", drop_response_headers=drop)
        head = tool.run(*opts, "head", f"{proxy.host}/{repo}:v1").stdout.decode().split("\n")
        assert head[:3] == [img.media_type, img.digest, str(img.size)]
        assert [(who, method) for who, method, _ in order] == [
            ("mirror", "HEAD"), ("mirror", "GET"), ("registry", "GET")]

        # the registry's own answer is final: its error is the one reported
        proxy.hook = lambda e: Fault(body=b"not json either", drop_response_headers=drop)
        err = tool.fail(*opts, "manifest", f"{proxy.host}/{repo}:v1")
        assert f"GET http://{proxy.host}/v2/{repo}/manifests/v1: manifest is not JSON" in err
        assert mp.host not in err


# --- auth ------------------------------------------------------------------------


def test_basic_auth_from_docker_config(tool, basic, tmp_path):
    repo = new_repo()
    img = basic.push_image(repo, "v1", [os.urandom(2000)])
    ref = f"{basic.host}/{repo}:v1"
    good = write_docker_config(str(tmp_path / "good.json"), {basic.host: ("alice", "s3cret")})
    bad = write_docker_config(str(tmp_path / "bad.json"),
                              {f"http://{basic.host}/v2/": ("alice", "wrong")})

    assert tool.manifest(ref, opts=("--docker-config", good))[1] == img.digest
    out = tmp_path / "layer"
    tool.run("--docker-config", good, "fetch", ref, img.layers[0][0], out)
    assert out.read_bytes() == img.layers[0][1]

    err = tool.fail("--docker-config", bad, "manifest", ref)
    assert f"GET http://{basic.host}/v2/{repo}/manifests/v1: 401 Unauthorized" in err
    assert f"credentials for {basic.host} from {bad} rejected" in err
    err = tool.fail("manifest", ref)
    assert "401 Unauthorized" in err and f"no credentials for {basic.host}" in err


def test_malformed_docker_config_is_an_error(tool, anon, tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"auths": {"h": {"auth": "%%%%"}}}')
    err = tool.fail("--docker-config", path, "manifest", f"{anon.host}/a:b")
    assert f'{path}: auths."h".auth: not base64' in err


def test_bearer_token_flow(tool, bearer, token_server, tmp_path):
    repo = new_repo()
    img = bearer.push_image(repo, "v1", [os.urandom(3000), os.urandom(4000), os.urandom(10)])
    ref = f"{bearer.host}/{repo}:v1"
    config = write_docker_config(str(tmp_path / "c.json"), {bearer.host: ("bob", "hunter2")})

    before = len(berth_token_requests(token_server))
    assert tool.manifest(ref, opts=("--docker-config", config))[1] == img.digest
    asked = berth_token_requests(token_server)[before:]
    assert asked == [{"user": "bob", "service": token_server.service,
                      "scopes": [f"repository:{repo}:pull"], "agent": asked[0]["agent"],
                      "granted": True}]

    # one token for several blobs fetched concurrently
    before = len(berth_token_requests(token_server))
    digests = [d for d, _ in img.layers]
    tool.run("--docker-config", config, "fetch-all", ref, tmp_path, *digests)
    for d, data in img.layers:
        assert (tmp_path / d[7:]).read_bytes() == data
    assert len(berth_token_requests(token_server)[before:]) == 1

    # push: the token asked for is pull,push
    before = len(berth_token_requests(token_server))
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(1234))
    tool.run("--docker-config", config, "push-blob", f"{bearer.host}/{repo}", blob)
    scopes = [r["scopes"] for r in berth_token_requests(token_server)[before:]]
    assert [f"repository:{repo}:pull,push"] in scopes
    assert bearer.blob_exists(repo, digest_of(blob.read_bytes()))


def test_bearer_wrong_password_and_anonymous(tool, bearer, token_server, tmp_path):
    repo = new_repo()
    bearer.push_image(repo, "v1", [b"x"])
    ref = f"{bearer.host}/{repo}:v1"
    config = write_docker_config(str(tmp_path / "c.json"), {bearer.host: ("bob", "nope")})
    err = tool.fail("--docker-config", config, "manifest", ref)
    assert f"token for {bearer.host}: GET {token_server.realm}?service=" in err
    assert "401 Unauthorized" in err
    assert berth_token_requests(token_server)[-1]["user"] == "bob"
    err = tool.fail("manifest", ref)  # no credentials: the token server refuses too
    assert "401 Unauthorized" in err


def test_bearer_mount_asks_both_scopes(tool, bearer, token_server, tmp_path):
    src, dst = new_repo(), new_repo()
    data = os.urandom(5000)
    digest = bearer.upload_blob(src, data)
    blob = tmp_path / "blob"
    blob.write_bytes(data)
    config = write_docker_config(str(tmp_path / "c.json"), {bearer.host: ("bob", "hunter2")})
    before = len(berth_token_requests(token_server))
    tool.run("--docker-config", config, "push-blob", f"{bearer.host}/{dst}", blob,
             "--mount-from", src)
    scopes = [r["scopes"] for r in berth_token_requests(token_server)[before:]]
    assert [f"repository:{dst}:pull,push", f"repository:{src}:pull"] in scopes
    assert bearer.blob_exists(dst, digest)


def test_bearer_mount_refused_falls_back_to_upload(tool, bearer, token_server, tmp_path):
    src, dst = new_repo(), new_repo()
    data = os.urandom(5000)
    digest = bearer.upload_blob(src, data)
    blob = tmp_path / "blob"
    blob.write_bytes(data)
    config = write_docker_config(str(tmp_path / "c.json"), {bearer.host: ("bob", "hunter2")})
    before = len(berth_token_requests(token_server))
    token_server.grant = lambda user, name, actions: [] if name == src else actions
    try:
        tool.run("--docker-config", config, "push-blob", f"{bearer.host}/{dst}", blob,
                 "--mount-from", src)
    finally:
        token_server.grant = None
    scopes = [r["scopes"] for r in berth_token_requests(token_server)[before:]]
    # insufficient_scope is final: one token for the mount, then one for the upload
    assert scopes == [[f"repository:{dst}:pull,push", f"repository:{src}:pull"],
                      [f"repository:{dst}:pull,push"]]
    assert bearer.blob_exists(dst, digest)


# --- resume, concurrency, faults ------------------------------------------------------


def test_cut_download_resumes_with_range(tool, anon, proxy, tmp_path):
    repo = new_repo()
    data = os.urandom(1_000_000)
    img = anon.push_image(repo, "v1", [data])
    digest = img.layers[0][0]
    cuts = []

    def hook(e):
        if is_blob_get(e, digest) and not cuts:
            cuts.append(e)
            return Fault(cut_after=300_000)
        return None

    proxy.hook = hook
    out = tmp_path / "blob"
    tool.run("fetch", f"{proxy.host}/{repo}", digest, out, "--size", len(data))
    assert out.read_bytes() == data
    gets = proxy.requests("GET", digest)
    assert [e["cut"] for e in gets] == [True, False]
    assert "range" not in gets[0]["headers"]
    assert gets[1]["headers"]["range"] == "bytes=300000-"
    assert gets[1]["status"] == 206


def test_resume_when_the_server_ignores_range(tool, anon, proxy, tmp_path):
    repo = new_repo()
    data = os.urandom(500_000)
    digest = anon.push_image(repo, "v1", [data]).layers[0][0]
    seen = []

    def hook(e):
        if not is_blob_get(e, digest):
            return None
        seen.append(e)
        if len(seen) == 1:
            return Fault(cut_after=123_457)
        return Fault(drop_request_headers=("range",))  # the registry then answers 200

    proxy.hook = hook
    out = tmp_path / "blob"
    tool.run("fetch", f"{proxy.host}/{repo}", digest, out, "--size", len(data))
    assert out.read_bytes() == data
    assert [e["status"] for e in seen] == [200, 200]
    assert seen[1]["headers"]["range"] == "bytes=123457-"


def test_fetch_from_an_offset(tool, anon, proxy, tmp_path):
    repo = new_repo()
    data = os.urandom(200_000)
    digest = anon.push_image(repo, "v1", [data]).layers[0][0]
    out = tmp_path / "blob"
    out.write_bytes(data[:77_777])
    tool.run("fetch", f"{proxy.host}/{repo}", digest, out, "--offset", 77_777,
             "--size", len(data))
    assert out.read_bytes() == data
    (get,) = proxy.requests("GET", digest)
    assert get["headers"]["range"] == "bytes=77777-"


def test_concurrent_fetch(tool, anon, proxy, tmp_path):
    repo = new_repo()
    layers = [os.urandom(50_000 + i) for i in range(7)]
    img = anon.push_image(repo, "v1", layers)
    proxy.hook = lambda e: Fault(delay=0.3) if is_blob_get(e) else None
    args = [f"{d}:{len(data)}" for d, data in img.layers]
    p = tool.run("--max-parallel", 3, "fetch-all", f"{proxy.host}/{repo}", tmp_path, *args)
    for d, data in img.layers:
        assert (tmp_path / d[7:]).read_bytes() == data
        assert f"{d} {len(data)}" in p.stdout.decode()
    assert len(proxy.requests("GET")) == len(layers)
    assert 2 <= proxy.max_inflight <= 3


def test_server_errors_are_retried_then_reported(tool, anon, proxy, tmp_path):
    repo = new_repo()
    img = anon.push_image(repo, "v1", [os.urandom(1000)])
    proxy.hook = lambda e: Fault(status=500)
    err = tool.fail("manifest", f"{proxy.host}/{repo}:v1")
    assert f"GET http://{proxy.host}/v2/{repo}/manifests/v1: 500 Internal Server Error: " \
           "UNKNOWN: injected by proxy" in err
    assert len(proxy.requests("GET")) == 3

    proxy.log.clear()
    proxy.hook = lambda e: Fault(status=503)
    err = tool.fail("--retries", 2, "fetch", f"{proxy.host}/{repo}", img.layers[0][0],
                    tmp_path / "out", "--size", 1000)
    assert "503 Service Unavailable" in err
    assert len(proxy.requests("GET")) == 3


def test_connection_closed_early_every_time(tool, anon, proxy, tmp_path):
    repo = new_repo()
    data = os.urandom(100_000)
    digest = anon.push_image(repo, "v1", [data]).layers[0][0]
    proxy.hook = lambda e: Fault(cut_after=1000) if is_blob_get(e) else None
    err = tool.fail("--retries", 2, "fetch", f"{proxy.host}/{repo}", digest, tmp_path / "out",
                    "--size", len(data))
    assert f"blob {digest}: gave up after 2 retries: GET http://{proxy.host}/v2/{repo}/blobs/" \
           in err
    gets = proxy.requests("GET", digest)
    assert len(gets) == 3
    assert [e["headers"].get("range") for e in gets] == [None, "bytes=1000-", "bytes=2000-"]


def test_bad_manifests_are_rejected(tool, anon, proxy):
    repo = new_repo()
    img = anon.push_image(repo, "v1", [b"x"])
    other = anon.push_image(repo, "v2", [b"y"])
    ref = f"{proxy.host}/{repo}"
    url = f"GET http://{proxy.host}/v2/{repo}/manifests"

    def replace(body, drop=()):
        return lambda e: (Fault(body=body, drop_response_headers=drop)
                          if "/manifests/" in e["path"] else None)

    proxy.hook = replace(b"this is not JSON", ("docker-content-digest",))
    err = tool.fail("manifest", f"{ref}:v1")
    assert f"{url}/v1: manifest is not JSON" in err

    proxy.hook = replace(b"this is not JSON")
    err = tool.fail("manifest", f"{ref}:v1")
    assert f"{url}/v1: digest mismatch: Docker-Content-Digest {img.digest}" in err

    proxy.hook = replace(other.body, ("docker-content-digest",))
    err = tool.fail("manifest", f"{ref}@{img.digest}")
    assert f"{url}/{img.digest}: digest mismatch: the body's is {other.digest}" in err

    proxy.hook = replace(b"[1, 2]", ("docker-content-digest",))
    err = tool.fail("manifest", f"{ref}:v1")
    assert "manifest is not a JSON object" in err


# --- pushes ----------------------------------------------------------------------


def test_push_blobs_and_manifest_then_pull_back(tool, anon, proxy, tmp_path):
    repo = new_repo()
    ref = f"{anon.host}/{repo}"
    layer = tmp_path / "layer"
    layer.write_bytes(os.urandom(400_000))
    config = tmp_path / "config"
    config.write_bytes(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": [digest_of(layer.read_bytes())]}}).encode())
    layer_digest = digest_of(layer.read_bytes())

    assert tool.run("exists", ref, layer_digest).stdout == b"no\n"
    assert tool.run("push-blob", ref, layer).stdout.decode().strip() == layer_digest
    assert tool.run("exists", ref, layer_digest).stdout == b"yes\n"
    # chunked, through the proxy to see the PATCHes
    config_digest = tool.run("--chunk-size", 100, "push-blob", f"{proxy.host}/{repo}",
                             config).stdout.decode().strip()
    assert config_digest == digest_of(config.read_bytes())
    patches = proxy.requests("PATCH")
    assert len(patches) == (len(config.read_bytes()) + 99) // 100
    assert patches[0]["headers"]["content-range"] == "0-99"
    assert [e["status"] for e in proxy.requests("PUT")] == [201]

    manifest = {"schemaVersion": 2, "mediaType": registry.OCI_MANIFEST,
                "config": {"mediaType": registry.OCI_CONFIG, "digest": config_digest,
                           "size": config.stat().st_size},
                "layers": [{"mediaType": registry.OCI_LAYER, "digest": layer_digest,
                            "size": layer.stat().st_size}]}
    mfile = tmp_path / "manifest.json"
    mfile.write_bytes(json.dumps(manifest).encode())
    mdigest = digest_of(mfile.read_bytes())
    out = tool.run("push-manifest", f"{ref}:pushed", mfile, registry.OCI_MANIFEST).stdout
    assert out.decode().strip() == mdigest

    status, ctype, body = anon.get_manifest(repo, "pushed")
    assert (status, ctype, body) == (200, registry.OCI_MANIFEST, mfile.read_bytes())
    assert tool.manifest(f"{ref}:pushed") == (registry.OCI_MANIFEST, mdigest, body)
    tool.run("fetch-all", ref, tmp_path, layer_digest, config_digest)
    assert (tmp_path / layer_digest[7:]).read_bytes() == layer.read_bytes()
    assert (tmp_path / config_digest[7:]).read_bytes() == config.read_bytes()

    # by digest too; a body that is not that digest never leaves
    tool.run("push-manifest", f"{ref}@{mdigest}", mfile, registry.OCI_MANIFEST)
    err = tool.fail("push-manifest", f"{ref}@{digest_of(b'other')}", mfile,
                    registry.OCI_MANIFEST)
    assert "digest mismatch" in err


def test_push_manifest_with_missing_blobs_is_refused(tool, anon, tmp_path):
    repo = new_repo()
    manifest = {"schemaVersion": 2, "mediaType": registry.OCI_MANIFEST,
                "config": {"mediaType": registry.OCI_CONFIG, "digest": digest_of(b"nope"),
                           "size": 4}, "layers": []}
    mfile = tmp_path / "m.json"
    mfile.write_text(json.dumps(manifest))
    err = tool.fail("push-manifest", f"{anon.host}/{repo}:x", mfile, registry.OCI_MANIFEST)
    assert f"PUT http://{anon.host}/v2/{repo}/manifests/x: 400 Bad Request: " \
           "MANIFEST_BLOB_UNKNOWN" in err


def test_cross_repository_mount(tool, anon, proxy, tmp_path):
    src, dst = new_repo(), new_repo()
    data = os.urandom(20_000)
    digest = anon.upload_blob(src, data)
    blob = tmp_path / "blob"
    blob.write_bytes(data)

    tool.run("push-blob", f"{proxy.host}/{dst}", blob, "--mount-from", src)
    (post,) = proxy.requests("POST")
    assert post["path"] == (f"/v2/{dst}/blobs/uploads/?mount={digest.replace(':', '%3A')}"
                            f"&from={src.replace('/', '%2F')}")
    assert post["status"] == 201
    assert proxy.requests("PUT") == [] and proxy.requests("PATCH") == []
    assert anon.blob_exists(dst, digest)
    assert os.path.isdir(os.path.join(anon.storage, "docker/registry/v2/repositories", dst,
                                      "_layers/sha256", digest[7:]))

    # not in the source repository: the registry opens an upload instead (202)
    proxy.log.clear()
    other = tmp_path / "other"
    other.write_bytes(os.urandom(3000))
    tool.run("push-blob", f"{proxy.host}/{dst}", other, "--mount-from", new_repo())
    assert [e["status"] for e in proxy.requests("POST")] == [202]
    assert [e["status"] for e in proxy.requests("PUT")] == [201]
    assert anon.blob_exists(dst, digest_of(other.read_bytes()))


# --- https --------------------------------------------------------------------------


CERT_UNTRUSTED = ("TLS: server certificate verification failed: SSL certificate problem: "
                  "unable to get local issuer certificate")


def test_https_pull_with_ca_file_and_resolve(tool, tls_reg, test_ca, tmp_path):
    repo = new_repo()
    data = os.urandom(200_000)
    img = tls_reg.push_image(repo, "v1", [data])
    host = f"{TLS_NAME}:{tls_reg.port}"
    opts = tls_opts(tls_reg, test_ca.cert)

    p = tool.run(*opts, "--debug", "manifest", f"{host}/{repo}:v1")
    assert p.stdout.split(b"\n", 2) == [img.media_type.encode(), img.digest.encode(), img.body]
    assert f'msg="GET https://{host}/v2/{repo}/manifests/v1: 200"' in p.stderr.decode()
    head = tool.run(*opts, "head", f"{host}/{repo}:v1").stdout.decode().split("\n")
    assert head[:3] == [img.media_type, img.digest, str(img.size)]
    out = tmp_path / "layer"
    digest = img.layers[0][0]
    p = tool.run(*opts, "fetch", f"{host}/{repo}", digest, out, "--size", len(data))
    assert p.stdout.decode() == f"{digest} {len(data)}\n"
    assert out.read_bytes() == data
    tool.run(*opts, "fetch-all", f"{host}/{repo}", tmp_path, digest, img.config_digest)
    assert (tmp_path / img.config_digest[7:]).read_bytes() == img.config

    # the port speaks TLS only: plain http (what 127.0.0.1 gets) is refused
    assert f"listening on 127.0.0.1:{tls_reg.port}, tls" in tls_reg.log()
    err = tool.fail("manifest", f"127.0.0.1:{tls_reg.port}/{repo}:v1")
    assert f"GET http://127.0.0.1:{tls_reg.port}/v2/{repo}/manifests/v1: 400 Bad Request: " \
           "Client sent an HTTP request to an HTTPS server." in err


def test_https_without_the_ca_is_a_certificate_error(tool, tls_reg, tmp_path):
    """The system's CAs do not know the test CA: a clear error, no retries, exit 1."""
    repo = new_repo()
    img = tls_reg.push_image(repo, "v1", [os.urandom(1000)])
    host = f"{TLS_NAME}:{tls_reg.port}"
    opts = tls_opts(tls_reg)

    err = tool.fail(*opts, "manifest", f"{host}/{repo}:v1")
    assert f"manifest: GET https://{host}/v2/{repo}/manifests/v1: {CERT_UNTRUSTED}" in err
    digest = img.layers[0][0]
    err = tool.fail(*opts, "fetch", f"{host}/{repo}", digest, tmp_path / "out")
    assert f"GET https://{host}/v2/{repo}/blobs/{digest}: {CERT_UNTRUSTED}" in err
    blob = tmp_path / "blob"
    blob.write_bytes(b"never sent")
    err = tool.fail(*opts, "push-blob", f"{host}/{repo}", blob)
    assert f"POST https://{host}/v2/{repo}/blobs/uploads/: {CERT_UNTRUSTED}" in err
    assert not tls_reg.blob_exists(repo, digest_of(b"never sent"))


def test_https_certificate_for_another_name(tool, tls_reg, test_ca, tmp_path):
    repo = new_repo()
    tls_reg.push_image(repo, "v1", [b"x"])
    # the registry's certificate is for TLS_NAME, not for the name asked
    name = "other.berth.test"
    err = tool.fail(*tls_opts(tls_reg, test_ca.cert, name), "manifest",
                    f"{name}:{tls_reg.port}/{repo}:v1")
    assert f"GET https://{name}:{tls_reg.port}/v2/{repo}/manifests/v1: TLS: server " \
           "certificate verification failed: SSL: no alternative certificate subject name " \
           f"matches target host name '{name}'" in err

    # the certificate of a CA that is not the one trusted
    other = registry.make_ca(str(tmp_path / "other"), "other CA")
    err = tool.fail(*tls_opts(tls_reg, other.cert), "manifest",
                    f"{TLS_NAME}:{tls_reg.port}/{repo}:v1")
    assert CERT_UNTRUSTED in err


def test_https_push(tool, tls_reg, test_ca, tmp_path):
    repo = new_repo()
    host = f"{TLS_NAME}:{tls_reg.port}"
    opts = tls_opts(tls_reg, test_ca.cert)
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(300_000))
    digest = digest_of(blob.read_bytes())

    p = tool.run(*opts, "--debug", "push-blob", f"{host}/{repo}", blob)
    assert p.stdout.decode().strip() == digest
    log = p.stderr.decode()
    assert f'msg="POST https://{host}/v2/{repo}/blobs/uploads/: 202"' in log
    assert f'msg="PUT https://{host}/v2/{repo}/blobs/uploads/' in log
    assert tls_reg.blob_exists(repo, digest)
    status, _, body = tls_reg.get_blob(repo, digest)
    assert (status, body) == (200, blob.read_bytes())

    # chunked: PATCHes over https too (the upload Location is https as well)
    chunked = tmp_path / "chunked"
    chunked.write_bytes(os.urandom(5000))
    p = tool.run(*opts, "--debug", "--chunk-size", 2000, "push-blob", f"{host}/{repo}",
                 chunked)
    assert p.stdout.decode().strip() == digest_of(chunked.read_bytes())
    assert p.stderr.decode().count(f'msg="PATCH https://{host}/v2/{repo}/blobs/uploads/') == 3
    assert tls_reg.blob_exists(repo, digest_of(chunked.read_bytes()))
    assert tool.run(*opts, "exists", f"{host}/{repo}", digest).stdout == b"yes\n"


def test_ca_file_replaces_the_system_cas(tool, tls_reg, test_ca, tmp_path):
    """Without --ca-file the client trusts /etc/ssl/certs; with it, only that file (Debian's
    libcurl also reads /etc/ssl/certs as its CA directory, which registry_opts.ca_file clears).
    /etc/ssl/certs is replaced, in a private mount namespace, by one holding the test CA."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) for a private /etc/ssl/certs")
    repo = new_repo()
    img = tls_reg.push_image(repo, "v1", [b"x"])
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(test_ca.cert, certs / "berth-test-ca.pem")
    shutil.copy(test_ca.cert, certs / "ca-certificates.crt")  # libcurl's bundle
    subprocess.run(["openssl", "rehash", str(certs)], check=True, capture_output=True)
    wrap = ("unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/ssl/certs && exec "$@"', str(certs))
    ref = f"{TLS_NAME}:{tls_reg.port}/{repo}:v1"

    p = tool.run(*tls_opts(tls_reg), "manifest", ref, wrap=wrap)
    assert p.stdout.split(b"\n")[1].decode() == img.digest
    other = registry.make_ca(str(tmp_path / "other"), "other CA")
    err = tool.fail(*tls_opts(tls_reg, other.cert), "manifest", ref, wrap=wrap)
    assert CERT_UNTRUSTED in err


def test_tls_options(tool, tls_reg, test_ca, tmp_path):
    repo = new_repo()
    img = tls_reg.push_image(repo, "v1", [b"x"])
    host = f"{TLS_NAME}:{tls_reg.port}"
    ref = f"{host}/{repo}:v1"
    # several addresses, IPv6 bracketed or not: ::1 refuses (the registry listens on
    # 127.0.0.1 only), so curl moves on to the next
    opts = ("--ca-file", test_ca.cert, "--resolve", f"{host}:[::1],::1,127.0.0.1")
    assert tool.manifest(ref, opts=opts)[1] == img.digest

    missing = tmp_path / "missing.pem"
    err = tool.fail("--ca-file", missing, *tls_opts(tls_reg), "manifest", ref)
    assert f"manifest: CA file {missing}: No such file or directory" in err
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    err = tool.fail("--ca-file", not_pem, *tls_opts(tls_reg), "manifest", ref)
    assert f"manifest: GET https://{host}/v2/{repo}/manifests/v1: TLS: cannot load the CA " \
           f"certificates: error setting certificate file: {not_pem}" in err

    for entry, why in [("x:1", "not HOST:PORT:ADDRESS[,ADDRESS...]"),
                       ("x", "not HOST:PORT:ADDRESS[,ADDRESS...]"),
                       (":1:127.0.0.1", "bad host name"),
                       ("-x:1:127.0.0.1", "bad host name"),
                       ("x:0:127.0.0.1", "bad port"),
                       ("x:65536:127.0.0.1", "bad port"),
                       ("x::127.0.0.1", "bad port"),
                       ("x:1:", '"" is not an IP address'),
                       ("x:1:127.0.0.1,", '"" is not an IP address'),
                       ("x:1:127.0.0.1,example.com", '"example.com" is not an IP address'),
                       ("x:1:[127.0.0.1]", '"[127.0.0.1]" is not an IP address')]:
        err = tool.fail("--resolve", entry, "manifest", ref)
        assert f'manifest: resolve "{entry}": {why}' in err, err


def test_usage_errors(tool):
    assert tool.run(check=False).returncode == 2
    assert tool.run("manifest", check=False).returncode == 2
    assert tool.run("frobnicate", "x", check=False).returncode == 2
    err = tool.fail("manifest", "UPPER/case:x")
    assert "reference" in err
