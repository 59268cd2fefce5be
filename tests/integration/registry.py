# SPDX-License-Identifier: Apache-2.0
"""A real registry for tests: Debian's docker-registry (distribution 2.8.2).

  Registry      one `docker-registry serve` on 127.0.0.1 and a free port, with
                a private storage dir; anonymous, htpasswd (Basic) or token
                (Bearer) auth; plain http, or https with tls=(cert, key). Its
                helpers upload blobs, manifests, images and indexes with plain
                urllib, so tests make content without berth.
  make_ca, make_server_cert
                a test CA and server certificates it signs (a DNS name plus IP
                SANs), made with the openssl CLI in the test's directory.
  TokenServer   a tiny token service (docs/spec/auth/token.md): GET
                /token?service=&scope= with optional Basic credentials answers
                {"token", "access_token", "expires_in"}; the token is an RS256
                JWT signed with `openssl dgst -sha256 -sign`, the signing cert
                in its "x5c" header, the cert the registry's rootcertbundle
                (registry/auth/token/token.go verifies iss, aud, exp/nbf, the
                x5c chain against the bundle and the signature). Every request
                is recorded (user, service, scopes, user agent).
  Proxy         an HTTP/1.1 proxy in front of a registry that logs every
                exchange and can inject faults per request (a status, a body
                replaced, a response cut after N body bytes, a delay).

Usage:
    with Registry(workdir) as reg:                      # anonymous
        img = reg.push_image("a/b", "latest", [b"layer"])
    with TokenServer(workdir, users={"u": "p"}) as ts, \\
         Registry(workdir, token=ts) as reg: ...
    with Registry(workdir, users={"u": "p"}) as reg: ...  # htpasswd
    ca = make_ca(workdir)
    cert = make_server_cert(workdir, ca, "registry.berth.test")
    with Registry(workdir, tls=cert.tls, ca=ca.cert) as reg: ...  # https
Nothing here talks to anything but 127.0.0.1.
"""

import base64
import hashlib
import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

REGISTRY_BIN = "/usr/bin/docker-registry"
START_TIMEOUT = 15

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=START_TIMEOUT, proc=None, what="server"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} in {timeout}s")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write_docker_config(path, auths):
    """Writes a Docker config.json at path: auths = {key: (user, password)}."""
    doc = {"auths": {
        key: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()}
        for key, (u, p) in auths.items()
    }}
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


@dataclass
class Image:
    """What push_image/push_index made: the manifest and the blobs behind it."""
    repo: str
    tag: str
    media_type: str
    digest: str
    body: bytes
    config_digest: str = None
    config: bytes = None
    layers: list = field(default_factory=list)  # [(digest, bytes)]

    @property
    def size(self):
        return len(self.body)


# --- test certificates ------------------------------------------------------------


@dataclass
class CertFiles:
    """A certificate and its key (PEM files)."""
    cert: str
    key: str

    @property
    def tls(self):
        return (self.cert, self.key)


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


_EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def make_ca(directory, name="berth test CA"):
    """A self-signed CA (2 days, P-256 key) in directory; returns its CertFiles."""
    os.makedirs(directory, exist_ok=True)
    stem = os.path.join(directory, name.replace(" ", "-"))
    ca = CertFiles(stem + ".pem", stem + ".key")
    _openssl("req", "-x509", *_EC_KEY, "-sha256", "-days", "2", "-keyout", ca.key,
             "-out", ca.cert, "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return ca


def make_server_cert(directory, ca, dns_name, ips=("127.0.0.1",)):
    """A server certificate signed by ca (CertFiles) for dns_name plus the IP SANs
    ips, in directory; returns its CertFiles."""
    os.makedirs(directory, exist_ok=True)
    stem = os.path.join(directory, dns_name)
    out = CertFiles(stem + ".pem", stem + ".key")
    san = ",".join([f"DNS:{dns_name}"] + [f"IP:{ip}" for ip in ips])
    _openssl("req", "-new", *_EC_KEY, "-keyout", out.key, "-out", stem + ".csr",
             "-subj", f"/CN={dns_name}", "-addext", f"subjectAltName={san}",
             "-addext", "basicConstraints=critical,CA:FALSE",
             "-addext", "keyUsage=critical,digitalSignature",
             "-addext", "extendedKeyUsage=serverAuth")
    _openssl("x509", "-req", "-in", stem + ".csr", "-CA", ca.cert, "-CAkey", ca.key,
             "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "2",
             "-sha256", "-copy_extensions", "copyall", "-out", out.cert)
    return out


# --- token server ----------------------------------------------------------------


class _TokenHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        ts = self.server.token_server
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self._send(404, b'{"error":"not found"}')
        query = urllib.parse.parse_qs(url.query)
        user, password = None, None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        record = {
            "user": user,
            "service": (query.get("service") or [None])[0],
            "scopes": query.get("scope", []),
            "agent": self.headers.get("User-Agent", ""),
        }
        ok = ts.check(user, password)
        record["granted"] = ok
        with ts.lock:
            ts.requests.append(record)
        if not ok:
            return self._send(401, b'{"details":"bad credentials"}',
                              [("WWW-Authenticate", 'Basic realm="token"')])
        token = ts.make_token(user, record["service"], record["scopes"])
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                           "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        self._send(200, body.encode())


class TokenServer:
    """users: {name: password}; anonymous: whether requests without credentials
    get (pull-only) tokens. grant(user, name, actions) -> actions narrows what a
    token allows (default: all asked when authenticated, else pull only)."""

    def __init__(self, workdir, users=None, anonymous=False, grant=None,
                 service="berth-test-registry", issuer="berth-test-issuer"):
        self.dir = os.path.join(workdir, f"token-{free_port()}")
        self.users = users or {}
        self.anonymous = anonymous
        self.grant = grant
        self.service = service
        self.issuer = issuer
        self.requests = []
        self.lock = threading.Lock()
        self.httpd = None
        self.port = None

    @property
    def realm(self):
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def cert(self):
        return os.path.join(self.dir, "cert.pem")

    def check(self, user, password):
        if user is None:
            return self.anonymous
        return self.users.get(user) == password

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
                        "-keyout", key, "-out", self.cert, "-days", "2",
                        "-subj", "/CN=berth-test-token"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", self.cert, "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.key = key
        self.x5c = base64.b64encode(der).decode()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
        self.httpd.daemon_threads = True
        self.httpd.token_server = self
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _access(self, user, scopes):
        access = []
        for scope in scopes:
            for one in scope.split(" "):
                kind, _, rest = one.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind != "repository" or not name:
                    continue
                want = [a for a in actions.split(",") if a]
                if self.grant:
                    got = self.grant(user, name, want)
                else:
                    got = want if user else [a for a in want if a == "pull"]
                access.append({"type": kind, "name": name, "actions": got})
        return access

    def make_token(self, user, service, scopes):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": self.issuer, "sub": user or "", "aud": service or self.service,
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": base64.b16encode(os.urandom(8)).decode(),
                  "access": self._access(user, scopes)}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                             input=signing_input.encode(), check=True,
                             capture_output=True).stdout
        return signing_input + "." + b64url(sig)

    def fetch(self, scope, user=None, password=None):
        """A token for the test's own helpers (recorded with agent "registry.py")."""
        q = urllib.parse.urlencode({"service": self.service, "scope": scope})
        req = urllib.request.Request(f"{self.realm}?{q}",
                                     headers={"User-Agent": "registry.py"})
        if user is not None:
            cred = base64.b64encode(f"{user}:{password}".encode()).decode()
            req.add_header("Authorization", f"Basic {cred}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)["token"]


# --- registry --------------------------------------------------------------------


class Registry:
    """docker-registry serve on 127.0.0.1:<free port>. users -> htpasswd Basic
    auth (bcrypt, htpasswd -Bbn); token -> a TokenServer's Bearer auth. The
    helpers authenticate as admin (default: the first user). tls=(cert, key)
    -> https (distribution's http.tls); the helpers then verify it against the
    CA file ca, reaching it as 127.0.0.1 (the cert needs that IP SAN)."""

    def __init__(self, workdir, users=None, token=None, admin=None, tls=None, ca=None):
        if tls and not ca:
            raise ValueError("Registry(tls=...) needs ca=, the CA file its helpers trust")
        self.port = free_port()
        self.dir = os.path.join(workdir, f"registry-{self.port}")
        self.users = users
        self.token = token
        self.tls = tls
        self.ssl_context = ssl.create_default_context(cafile=ca) if tls else None
        if admin is None and users:
            admin = next(iter(users.items()))
        if admin is None and token and token.users:
            admin = next(iter(token.users.items()))
        self.admin = admin
        self.proc = None

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def storage(self):
        return os.path.join(self.dir, "storage")

    @property
    def log_path(self):
        return os.path.join(self.dir, "registry.log")

    def _config(self):
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            "    enabled: true",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            "  secret: berth-test-secret",
        ]
        if self.tls:
            lines += ["  tls:", f"    certificate: {self.tls[0]}", f"    key: {self.tls[1]}"]
        if self.users:
            htpasswd = os.path.join(self.dir, "htpasswd")
            with open(htpasswd, "w") as f:
                for user, password in self.users.items():
                    line = subprocess.run(["htpasswd", "-Bbn", user, password], check=True,
                                          capture_output=True, text=True).stdout.strip()
                    f.write(line + "\n")
            lines += ["auth:", "  htpasswd:", "    realm: berth-test", f"    path: {htpasswd}"]
        elif self.token:
            lines += ["auth:", "  token:", f"    realm: {self.token.realm}",
                      f"    service: {self.token.service}", f"    issuer: {self.token.issuer}",
                      f"    rootcertbundle: {self.token.cert}"]
        return "\n".join(lines) + "\n"

    def start(self):
        os.makedirs(self.storage, exist_ok=True)
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write(self._config())
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen([REGISTRY_BIN, "serve", config], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        try:
            wait_port(self.port, proc=self.proc, what="docker-registry")
        except RuntimeError as e:
            self.stop()
            raise RuntimeError(f"{e}; log:\n{self.log()}") from None
        return self

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # --- plain-urllib client ---------------------------------------------------

    def _auth_header(self, scope):
        if self.users and self.admin:
            cred = base64.b64encode("{}:{}".format(*self.admin).encode()).decode()
            return f"Basic {cred}"
        if self.token:
            user, password = self.admin if self.admin else (None, None)
            return "Bearer " + self.token.fetch(scope, user, password)
        return None

    def request(self, method, path, data=None, headers=None, scope=None):
        """One exchange with the registry; returns (status, headers, body) for
        any status. path may be absolute (an upload Location)."""
        url = path if "://" in path else self.url + path
        req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
        req.add_header("User-Agent", "registry.py")
        auth = self._auth_header(scope) if scope else None
        if auth:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ssl_context) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def _expect(self, what, got, *statuses):
        status, _, body = got
        if status not in statuses:
            raise RuntimeError(f"{what}: {status}: {body[:500]!r}")
        return got

    def upload_blob(self, repo, data):
        """A monolithic upload (POST, then PUT ?digest=); returns the digest."""
        digest = digest_of(data)
        scope = f"repository:{repo}:pull,push"
        _, headers, _ = self._expect(f"POST {repo} upload",
                                     self.request("POST", f"/v2/{repo}/blobs/uploads/",
                                                  data=b"", scope=scope), 202)
        location = urllib.parse.urljoin(self.url, headers["Location"])
        sep = "&" if "?" in location else "?"
        self._expect(f"PUT {repo} {digest}",
                     self.request("PUT", f"{location}{sep}digest={urllib.parse.quote(digest)}",
                                  data=data, scope=scope,
                                  headers={"Content-Type": "application/octet-stream"}), 201)
        return digest

    def put_manifest(self, repo, ref, body, media_type):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, indent=2).encode()
        self._expect(f"PUT {repo} manifest {ref}",
                     self.request("PUT", f"/v2/{repo}/manifests/{ref}", data=body,
                                  headers={"Content-Type": media_type},
                                  scope=f"repository:{repo}:pull,push"), 201)
        return digest_of(body), body

    def get_manifest(self, repo, ref, accept=MANIFEST_TYPES):
        status, headers, body = self.request(
            "GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ", ".join(accept)},
            scope=f"repository:{repo}:pull")
        return status, headers.get("Content-Type"), body

    def get_blob(self, repo, digest):
        return self.request("GET", f"/v2/{repo}/blobs/{digest}",
                            scope=f"repository:{repo}:pull")

    def blob_exists(self, repo, digest):
        status, _, _ = self.request("HEAD", f"/v2/{repo}/blobs/{digest}",
                                    scope=f"repository:{repo}:pull")
        return status == 200

    def push_image(self, repo, tag, layers, config=None, oci=True, platform=None):
        """Uploads layers (bytes each, typed as uncompressed tars), a config
        (default: a minimal image config for platform) and the manifest, tagged
        with tag (None: by digest only). Returns an Image."""
        platform = platform or {"architecture": "amd64", "os": "linux"}
        if config is None:
            config = {**platform, "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [digest_of(l) for l in layers]}}
        if isinstance(config, dict):
            config = json.dumps(config).encode()
        layer_descs = []
        for data in layers:
            d = self.upload_blob(repo, data)
            layer_descs.append((d, data))
        config_digest = self.upload_blob(repo, config)
        media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                       "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER if oci else DOCKER_LAYER, "digest": d,
                        "size": len(data)} for d, data in layer_descs],
        }
        body = json.dumps(manifest, indent=2).encode()
        digest, body = self.put_manifest(repo, tag or digest_of(body), body, media_type)
        return Image(repo, tag, media_type, digest, body, config_digest, config, layer_descs)

    def push_index(self, repo, tag, images, oci=True):
        """An OCI index (or a Docker manifest list) of images [(Image,
        platform dict)], tagged with tag. Returns an Image."""
        media_type = OCI_INDEX if oci else DOCKER_LIST
        index = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [{"mediaType": img.media_type, "digest": img.digest,
                           "size": img.size, "platform": plat} for img, plat in images],
        }
        digest, body = self.put_manifest(repo, tag, index, media_type)
        return Image(repo, tag, media_type, digest, body)


# --- fault-injecting proxy ---------------------------------------------------------


@dataclass
class Fault:
    """What the proxy does to one exchange (all optional)."""
    status: int = None        # answer this status (JSON error body) without the upstream
    body: bytes = None        # replace the upstream's body (headers kept, length fixed)
    cut_after: int = None     # send only this many body bytes, then close the connection
    delay: float = 0.0        # wait this long before answering
    drop_request_headers: tuple = ()   # lowercase names not passed upstream ("range")
    drop_response_headers: tuple = ()  # lowercase names not passed back


_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailers", "transfer-encoding", "upgrade", "content-length"}


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _upstream(self, body, fault):
        proxy = self.server.proxy
        conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
        drop = _HOP_BY_HOP | set(fault.drop_request_headers if fault else ())
        headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        out = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
        length = resp.getheader("Content-Length")
        conn.close()
        return resp.status, out, data, length

    def _handle(self):
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        entry = {"method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "request_bytes": len(body), "status": None, "cut": False}
        proxy._enter(entry)
        try:
            fault = proxy.hook(entry) if proxy.hook else None
            if fault and fault.delay:
                time.sleep(fault.delay)
            if fault and fault.status:
                err = json.dumps({"errors": [{"code": "UNKNOWN", "message": "injected by proxy",
                                              "detail": None}]}).encode()
                status, headers, data, length = fault.status, [
                    ("Content-Type", "application/json")], err, None
            else:
                status, headers, data, length = self._upstream(body, fault)
            if fault and fault.body is not None:
                data = fault.body
            if fault and fault.drop_response_headers:
                headers = [(k, v) for k, v in headers
                           if k.lower() not in fault.drop_response_headers]
            entry["status"] = status
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if self.command == "HEAD":
                self.send_header("Content-Length", length or "0")
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if fault and fault.cut_after is not None and fault.cut_after < len(data):
                entry["cut"] = True
                self.wfile.write(data[:fault.cut_after])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(data)
        finally:
            proxy._leave(entry)


class Proxy:
    """An HTTP proxy on 127.0.0.1 in front of upstream_port. hook(entry) ->
    Fault or None decides per exchange; entry has method, path, lowercase
    headers and, once answered, status and cut. log lists every entry."""

    def __init__(self, upstream_port, hook=None):
        self.upstream_port = upstream_port
        self.hook = hook
        self.log = []
        self.lock = threading.Lock()
        self.inflight = 0
        self.max_inflight = 0
        self.httpd = None

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def _enter(self, entry):
        with self.lock:
            self.log.append(entry)
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)

    def _leave(self, entry):
        with self.lock:
            self.inflight -= 1

    def requests(self, method=None, contains=None):
        with self.lock:
            return [e for e in self.log if (method is None or e["method"] == method)
                    and (contains is None or contains in e["path"])]

    def start(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
        self.httpd.daemon_threads = True
        self.httpd.proxy = self
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
