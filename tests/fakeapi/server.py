"""An in-process Kubernetes API server that serves a podmortem Snapshot, for tests.

``FakeApiServer(snapshot)`` listens on 127.0.0.1 (HTTP, or HTTPS with a throwaway CA when ``tls=True``) and
answers like a v1.31 kube-apiserver: discovery, LIST (cluster-wide and per namespace, limit/continue, label and
field selectors), GET, pod logs, PATCH (merge, JSON and strategic merge patch, ``dryRun=All``, resourceVersion
conflicts) and SelfSubjectAccessReview. Faults (forbidden, 429 with Retry-After, 500, delays, expired continue
tokens, refused connections) are set per resource through :class:`Faults`; every request is recorded as a
:class:`RequestRecord`.

Adding a verb: write ``def _xxx(self, ctx: Ctx) -> Response`` and register it in ``FakeApiServer._handlers``
under ``(verb, subresource)``; verbs are named as the API server's authorizer names them (get, list, watch,
create, update, patch, delete, deletecollection). Faults, authentication and recording apply to it unchanged.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from podmortem.model.snapshot import LogKey, Snapshot

from .discovery import Registry, ResourceInfo, build_registry
from .patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from .selectors import SelectorError, check_fields, parse_field_selector, parse_label_selector
from .store import Entry, Store, StoreError, dumps

TOO_MANY_REQUESTS_TEXT = "Too many requests, please try again later.\n"
INTERNAL_ERROR_CAUSE = "etcdserver: request timed out"
_FLOWSCHEMA_UID = "f42a019f-a8a3-4566-b6e7-f97a7c2bfec9"
_PRIORITYLEVEL_UID = "1ad36276-ea1a-4d25-b93a-3e3b59edf609"
_REVIEWS = {"selfsubjectaccessreviews"}
_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
_SMP = "application/strategic-merge-patch+json"


@dataclass
class Faults:
    """Failures to inject. Keys name a resource as RBAC does: ``pods``, ``pods/log``, ``deployments``
    (or ``deployments.apps``), optionally prefixed by a verb (``patch:deployments``); ``*`` matches every
    request; a path (``/apis``) matches a discovery request. Counters are consumed as faults fire, so a test
    can read what is left.
    """

    forbidden: set[str] = field(default_factory=set)  # → 403 Forbidden, RBAC's message
    throttle: dict[str, int] = field(default_factory=dict)  # key → how many 429s come first
    retry_after: float = 1.0  # seconds for Retry-After on 429 (sent rounded up to a whole second)
    errors_500: dict[str, int] = field(default_factory=dict)  # key → how many 500s come first
    delay: float = 0.0  # seconds every request waits before it is answered
    expire_continue: set[str] = field(default_factory=set)  # key → the first LIST with continue gets 410 Expired
    fail_all: bool = False  # refuse connections (set before start: port closed; later: connections dropped)
    delays: dict[str, float] = field(default_factory=dict)  # key → extra seconds for matching requests
    conflicts: dict[str, int] = field(default_factory=dict)  # key → how many writes first get 409 Conflict
    throttle_status: bool = False  # 429 body as a Status object; False: the API server's plain-text body


@dataclass(frozen=True)
class RequestRecord:
    """One request the server received and what it answered (status 0: the connection was dropped)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    bytes: int  # body bytes sent
    verb: str = ""  # get, list, patch... ("" for discovery and unknown paths)
    resource: str = ""  # pods, pods/log, deployments.apps... ("" for non-resource paths)
    namespace: str = ""
    accept: str = ""
    content_type: str = ""  # of the request body
    user_agent: str = ""


@dataclass
class Response:
    """An answer: status, body, content type and extra headers."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Route:
    """What a request path names, parsed as the API server's RequestInfoFactory does."""

    kind: str  # version | api | apis | group | resources | resource | unknown
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""


@dataclass
class Ctx:
    """Everything a verb handler needs."""

    method: str
    route: Route
    verb: str
    info: ResourceInfo
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    fault_keys: list[str] = field(default_factory=list)


class ApiError(Exception):
    """Raised by handlers to answer with a Status."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def status_response(
    code: int,
    reason: str,
    message: str,
    details: dict[str, Any] | None = None,
    *,
    list_continue: str = "",
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """A ``Status`` failure as the API server encodes it (Go field order; empty reason/details left out)."""
    doc: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {"continue": list_continue} if list_continue else {},
    }
    doc["status"] = "Failure"
    doc["message"] = message
    if reason:
        doc["reason"] = reason
    if details is not None:
        doc["details"] = details
    doc["code"] = code
    return Response(code, dumps(doc) + b"\n", headers=list(headers or []))


def _details(info: ResourceInfo | None, name: str = "", resource: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if info is not None and info.group:
        out["group"] = info.group
    kind = info.resource if info is not None else resource
    if kind:
        out["kind"] = kind
    return out


def not_found_path() -> Response:
    """404 for a path the server does not serve."""
    return status_response(404, "NotFound", "the server could not find the requested resource", {})


def parse_route(path: str) -> Route:
    """Split an API path into group/version/namespace/resource/name/subresource."""
    parts = [p for p in path.split("/") if p]
    if parts == ["version"]:
        return Route("version")
    if not parts or parts[0] not in ("api", "apis"):
        return Route("unknown")
    if parts[0] == "api":
        if len(parts) == 1:
            return Route("api")
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) == 1:
            return Route("apis")
        if len(parts) == 2:
            return Route("group", group=parts[1])
        group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:
        return Route("resources", group=group, version=version)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    if len(rest) > 3:
        return Route("unknown")
    return Route(
        "resource",
        group=group,
        version=version,
        namespace=namespace,
        resource=rest[0],
        name=rest[1] if len(rest) > 1 else "",
        subresource=rest[2] if len(rest) > 2 else "",
    )


def _verb(method: str, route: Route, query: dict[str, str]) -> str:
    if method in ("GET", "HEAD"):
        if query.get("watch") in ("1", "true"):
            return "watch"
        return "get" if route.name else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(
        method, ("delete" if route.name else "deletecollection") if method == "DELETE" else method.lower()
    )


# ---------------------------------------------------------------------------------------------- TLS

_TLS_LOCK = threading.Lock()
_TLS_CACHE: dict[str, Path] = {}


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def throwaway_tls() -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost, made once per process with the openssl CLI.

    Skips the calling test when openssl is not installed.
    """
    with _TLS_LOCK:
        if _TLS_CACHE:
            return dict(_TLS_CACHE)
        if shutil.which("openssl") is None:
            import pytest

            pytest.skip("openssl is not installed: cannot make a certificate for the fake API server")
        d = Path(tempfile.mkdtemp(prefix="fakeapi-tls-"))
        atexit.register(shutil.rmtree, d, True)
        ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
        _openssl(
            "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=fakeapi-ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=d,
        )  # fmt: skip
        _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver", cwd=d)
        (d / "server.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        )
        _openssl(
            "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "server.ext", cwd=d,
        )  # fmt: skip
        _TLS_CACHE.update({"ca": d / "ca.crt", "cert": d / "server.crt", "key": d / "server.key"})
        return dict(_TLS_CACHE)


# ------------------------------------------------------------------------------------------ HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, app: FakeApiServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self.ssl_context: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.ssl_context.wrap_socket(request, server_side=True)  # handshake in this worker thread
        except (ssl.SSLError, OSError):
            return
        try:
            _Handler(wrapped, client_address, self)
        finally:
            wrapped.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away is not a test failure


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi"
    sys_version = ""
    timeout = 60
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def _any(self) -> None:
        self.server.app._serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any


# ------------------------------------------------------------------------------------------ the server


class FakeApiServer:
    """A fake kube-apiserver serving ``snapshot``; use as a context manager (or call start()/close())."""

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        faults: Faults | None = None,
        token: str | None = None,
        tls: bool = False,
        user: str | None = None,
        server_version: str = "v1.31.2",
    ) -> None:
        self.snapshot = snapshot
        self.faults = faults if faults is not None else Faults()
        self.token = token
        self.tls = tls
        self.user = user or ("system:serviceaccount:podmortem:podmortem" if token else "system:anonymous")
        self.server_version = server_version
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        objects = [obj for bucket in snapshot.objects.values() for obj in bucket.values()]
        self.registry: Registry = build_registry(objects)
        self.store = Store(self.registry, objects)
        self._logs: dict[LogKey, str] = dict(snapshot.logs)
        self._handlers: dict[tuple[str, str], Callable[[Ctx], Response]] = {
            ("list", ""): self._list,
            ("get", ""): self._get,
            ("get", "status"): self._get,
            ("get", "log"): self._log,
            ("patch", ""): self._patch,
            ("create", ""): self._create,
        }
        self.ca_pem: bytes | None = None
        self._http = _HTTPServer(self)
        if tls:
            paths = throwaway_tls()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(paths["cert"], paths["key"])
            self._http.ssl_context = ctx
            self.ca_pem = paths["ca"].read_bytes()
        port = self._http.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------ lifecycle

    def start(self) -> FakeApiServer:
        """Start serving (a ``fail_all`` fault set now closes the port, so connections are refused)."""
        if self._thread is not None:
            return self
        if self.faults.fail_all:
            self._http.server_close()
            self._thread = threading.Thread(target=lambda: None)
            return self
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and free the port."""
        self._stopping.set()
        if self._thread is not None and self._thread.is_alive():
            self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------ helpers for tests

    def kubeconfig(self, path: Path, *, context: str = "fake", namespace: str | None = None) -> Path:
        """Write a kubeconfig for this server (a directory gets a file named ``kubeconfig``); returns its path."""
        path = Path(path)
        if path.is_dir():
            path = path / "kubeconfig"
        cluster: dict[str, Any] = {"server": self.url}
        if self.ca_pem is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        user: dict[str, Any] = {"token": self.token} if self.token else {}
        ctx: dict[str, Any] = {"cluster": f"{context}-cluster", "user": f"{context}-user"}
        if namespace:
            ctx["namespace"] = namespace
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": f"{context}-cluster", "cluster": cluster}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
            "preferences": {},
            "users": [{"name": f"{context}-user", "user": user}],
        }
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def calls(self, *, verb: str | None = None, resource: str | None = None) -> list[RequestRecord]:
        """The recorded requests, optionally only those of a verb and/or resource (``pods``, ``pods/log``)."""
        with self._lock:
            recs = list(self.requests)
        return [
            r
            for r in recs
            if (verb is None or r.verb == verb)
            and (resource is None or r.resource == resource or r.resource.split(".", 1)[0] == resource)
        ]

    def object(self, resource: str, namespace: str, name: str, *, group: str = "") -> dict[str, Any] | None:
        """The object as currently stored (after any PATCH), or None."""
        for info in self.registry.all():
            if info.resource == resource and info.group == group:
                entry = self.store.get(info, namespace, name)
                return None if entry is None else json.loads(entry.single(info))
        return None

    def served(self, resource: str, *, group: str = "", namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of a resource as a GET returns it (with kind and apiVersion), in list order."""
        out = []
        for info in self.registry.all():
            if info.resource == resource and info.group == group:
                for e in self.store.all_entries(info):
                    if namespace is None or e.namespace == namespace:
                        out.append(json.loads(e.single(info)))
                break
        return out

    # ------------------------------------------------------------------------------ request processing

    def _fault_keys(self, verb: str, route: Route, info: ResourceInfo | None, path: str) -> list[str]:
        if route.kind != "resource":
            return ["*", path]
        res = route.resource + (f"/{route.subresource}" if route.subresource else "")
        keys = ["*", res]
        if info is not None and info.group:
            keys.append(f"{info.resource}.{info.group}" + (f"/{route.subresource}" if route.subresource else ""))
        keys += [f"{verb}:{k}" for k in keys[1:]]
        return keys

    def _take(self, counters: dict[str, int], keys: Iterable[str]) -> bool:
        with self._lock:
            for k in keys:
                if counters.get(k, 0) > 0:
                    counters[k] -= 1
                    return True
        return False

    def _forbidden(self, verb: str, route: Route, info: ResourceInfo | None, path: str) -> Response:
        if route.kind != "resource":
            return status_response(403, "Forbidden", f'forbidden: User "{self.user}" cannot {verb} path "{path}"', {})
        res = route.resource + (f"/{route.subresource}" if route.subresource else "")
        group = info.group if info is not None else route.group
        qualified = info.qualified if info is not None else route.resource
        where = f'in the namespace "{route.namespace}"' if route.namespace else "at the cluster scope"
        why = f'User "{self.user}" cannot {verb} resource "{res}" in API group "{group}" {where}'
        what = f'{qualified} "{route.name}"' if route.name else qualified
        return status_response(
            403, "Forbidden", f"{what} is forbidden: {why}", _details(info, route.name, route.resource)
        )

    def _throttled(self) -> Response:
        seconds = max(0, int(-(-self.faults.retry_after // 1)))
        headers = [("Retry-After", str(seconds))]
        if self.faults.throttle_status:
            return status_response(
                429,
                "TooManyRequests",
                TOO_MANY_REQUESTS_TEXT.strip(),
                {"retryAfterSeconds": seconds},
                headers=headers,
            )
        headers.append(("X-Content-Type-Options", "nosniff"))
        return Response(429, TOO_MANY_REQUESTS_TEXT.encode(), "text/plain; charset=utf-8", headers)

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[Response, str, str, str]:
        route = parse_route(path)
        verb = (
            _verb(method, route, query) if route.kind == "resource" else ("get" if method == "GET" else method.lower())
        )
        info = self.registry.lookup(route.group, route.version, route.resource) if route.kind == "resource" else None
        resource = ""
        if route.kind == "resource":
            resource = (info.qualified if info is not None else route.resource) + (
                f"/{route.subresource}" if route.subresource else ""
            )
        keys = self._fault_keys(verb, route, info, path)
        delay = self.faults.delay + max((self.faults.delays.get(k, 0.0) for k in keys), default=0.0)
        if delay > 0:
            self._stopping.wait(delay)
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            return status_response(401, "Unauthorized", "Unauthorized"), verb, resource, route.namespace
        if self._take(self.faults.throttle, keys):
            return self._throttled(), verb, resource, route.namespace
        with self._lock:
            denied = any(k in self.faults.forbidden for k in keys)
        if denied:
            return self._forbidden(verb, route, info, path), verb, resource, route.namespace
        if self._take(self.faults.errors_500, keys):
            msg = f"Internal error occurred: {INTERNAL_ERROR_CAUSE}"
            return (
                status_response(500, "InternalError", msg, {"causes": [{"message": INTERNAL_ERROR_CAUSE}]}),
                verb,
                resource,
                route.namespace,
            )
        try:
            return self._route(method, route, verb, info, query, headers, body, keys), verb, resource, route.namespace
        except ApiError as exc:
            return exc.response, verb, resource, route.namespace
        except StoreError as exc:
            return (
                status_response(exc.code, exc.reason, exc.message, exc.details, list_continue=exc.list_continue),
                verb,
                resource,
                route.namespace,
            )

    def _route(
        self,
        method: str,
        route: Route,
        verb: str,
        info: ResourceInfo | None,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        keys: list[str],
    ) -> Response:
        if route.kind != "resource":
            if method not in ("GET", "HEAD"):
                return not_found_path()
            return self._discovery(route)
        if info is None:
            return not_found_path()
        if route.namespace and not info.namespaced and not (info.resource == "namespaces" and route.name):
            return not_found_path()
        sub = info.subresource(route.subresource) if route.subresource else None
        if route.subresource and sub is None:
            return not_found_path()
        handler = self._handlers.get((verb, route.subresource))
        if handler is None:
            # a verb the resource does not have, or one this fake does not implement yet (see the module docstring)
            served = verb in (sub.verbs if sub is not None else info.verbs)
            return status_response(
                405,
                "MethodNotAllowed",
                f'{verb} is not supported on resources of kind "{info.qualified}"'
                + (" by this fake API server" if served else ""),
                _details(info),
            )
        return handler(Ctx(method, route, verb, info, query, headers, body, keys))

    def _serve(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in h.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = h.rfile.read(length) if length > 0 else b""
        method = h.command
        if self.faults.fail_all:
            h.close_connection = True
            self._record(RequestRecord(method, path, query, 0, 0, accept=headers.get("accept", "")))
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            response, verb, resource, namespace = self._dispatch(method, path, query, headers, body)
        except Exception as exc:  # a bug in the fake: answer 500 so the test sees it, and record it
            msg = f"Internal error occurred: fake API server: {type(exc).__name__}: {exc}"
            response, verb, resource, namespace = status_response(500, "InternalError", msg), "", "", ""
        payload = b"" if method == "HEAD" else response.body
        # recorded before the answer goes out, so a client that has its answer always finds the record
        self._record(
            RequestRecord(
                method,
                path,
                query,
                response.status,
                len(payload),
                verb,
                resource,
                namespace,
                headers.get("accept", ""),
                headers.get("content-type", ""),
                headers.get("user-agent", ""),
            )
        )
        try:
            h.send_response(response.status)
            h.send_header("Audit-Id", str(uuid.uuid4()))
            h.send_header("Cache-Control", "no-cache, private")
            h.send_header("Content-Type", response.content_type)
            for k, v in response.headers:
                h.send_header(k, v)
            h.send_header("X-Kubernetes-Pf-Flowschema-Uid", _FLOWSCHEMA_UID)
            h.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", _PRIORITYLEVEL_UID)
            h.send_header("Content-Length", str(len(response.body)))
            h.end_headers()
            h.wfile.write(payload)
            h.wfile.flush()
        except OSError:
            h.close_connection = True

    def _record(self, rec: RequestRecord) -> None:
        with self._lock:
            self.requests.append(rec)

    # ------------------------------------------------------------------------------ discovery

    def _discovery(self, route: Route) -> Response:
        doc: dict[str, Any] | None
        if route.kind == "version":
            doc = self._version_doc()
        elif route.kind == "api":
            doc = self.registry.api_versions(self.url.split("://", 1)[1])
        elif route.kind == "apis":
            doc = self.registry.group_list()
        elif route.kind == "group":
            g = self.registry.group_doc(route.group)
            doc = None if g is None else {"kind": "APIGroup", "apiVersion": "v1", **g}
        elif route.kind == "resources":
            doc = self.registry.resource_list(route.group, route.version)
        else:
            doc = None
        if doc is None:
            return not_found_path()
        return Response(200, dumps(doc) + b"\n")

    def _version_doc(self) -> dict[str, Any]:
        major, minor = self.server_version.lstrip("v").split(".")[:2]
        return {
            "major": major,
            "minor": minor,
            "gitVersion": self.server_version,
            "gitCommit": hashlib.sha1(self.server_version.encode()).hexdigest(),
            "gitTreeState": "clean",
            "buildDate": "2024-10-22T20:28:14Z",
            "goVersion": "go1.22.8",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    # ------------------------------------------------------------------------------ reads

    def _list(self, ctx: Ctx) -> Response:
        info, q = ctx.info, ctx.query
        try:
            labels = parse_label_selector(q.get("labelSelector", ""))
            fields = parse_field_selector(q.get("fieldSelector", ""))
            check_fields(info.group, info.kind, info.namespaced, fields, builtin=info.builtin)
        except SelectorError as exc:
            raise ApiError(status_response(400, "BadRequest", str(exc))) from None
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            msg = f'strconv.ParseInt: parsing "{q["limit"]}": invalid syntax'
            raise ApiError(status_response(400, "BadRequest", msg)) from None
        token = q.get("continue", "")
        namespace = ctx.route.namespace or None
        if token:
            with self._lock:
                hit = next((k for k in ctx.fault_keys if k in self.faults.expire_continue), None)
                if hit is not None:
                    self.faults.expire_continue.discard(hit)
            if hit is not None:
                raise self.store.expired_continue(info, namespace, token)
        page = self.store.list_page(
            info,
            namespace,
            labels=labels,
            fields=fields,
            limit=limit,
            continue_token=token,
            resource_version=q.get("resourceVersion", ""),
        )
        return Response(200, self.store.list_body(info, page))

    def _entry(self, ctx: Ctx) -> Entry:
        entry = self.store.get(ctx.info, ctx.route.namespace, ctx.route.name)
        if entry is None:
            raise ApiError(
                status_response(
                    404,
                    "NotFound",
                    f'{ctx.info.qualified} "{ctx.route.name}" not found',
                    _details(ctx.info, ctx.route.name),
                )
            )
        return entry

    def _get(self, ctx: Ctx) -> Response:
        return Response(200, self._entry(ctx).single(ctx.info) + b"\n")

    def _log(self, ctx: Ctx) -> Response:
        pod = self._entry(ctx).obj
        q, name, ns = ctx.query, ctx.route.name, ctx.route.namespace
        spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
        assert isinstance(spec, dict)

        def names(key: str) -> list[str]:
            return [str(c.get("name")) for c in spec.get(key) or [] if isinstance(c, dict)]

        containers, inits, ephemeral = names("containers"), names("initContainers"), names("ephemeralContainers")
        container = q.get("container", "")
        if not container:
            if len(containers) == 1:
                container = containers[0]
            elif not containers:
                raise ApiError(status_response(400, "BadRequest", f"a container name must be specified for pod {name}"))
            else:
                msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
                if inits:
                    msg += f" or one of the init containers: [{' '.join(inits)}]"
                if ephemeral:
                    msg += f" or one of the ephemeral containers: [{' '.join(ephemeral)}]"
                raise ApiError(status_response(400, "BadRequest", msg))
        elif container not in (*containers, *inits, *ephemeral):
            raise ApiError(status_response(400, "BadRequest", f"container {container} is not valid for pod {name}"))
        for param, minimum in (("tailLines", 0), ("limitBytes", 1)):
            raw = q.get(param)
            if raw is None:
                continue
            if not raw.lstrip("-").isdigit() or int(raw) < minimum:
                rule = "must be greater than or equal to 0" if minimum == 0 else "must be greater than 0"
                raise ApiError(
                    status_response(
                        422,
                        "Invalid",
                        f'PodLogOptions "{name}" is invalid: {param}: Invalid value: {raw}: {rule}',
                        {
                            "name": name,
                            "kind": "PodLogOptions",
                            "causes": [{"reason": "FieldValueInvalid", "field": param}],
                        },
                    )
                )
        if not spec.get("nodeName"):
            return Response(200, b"", "text/plain")  # not scheduled: the API server streams nothing
        previous = q.get("previous") in ("true", "1")
        text = self._logs.get(LogKey(ns, name, container, previous))
        if text is None:
            problem = _kubelet_log_problem(pod, name, container, previous)
            if problem:
                raise ApiError(status_response(400, "BadRequest", problem))
            text = ""
        data = text.encode()
        tail = q.get("tailLines")
        if tail is not None:
            n = int(tail)
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[len(lines) - n :]) if n < len(lines) else data
            if n == 0:
                data = b""
        limit = q.get("limitBytes")
        if limit is not None:
            data = data[: int(limit)]
        return Response(200, data, "text/plain")

    # ------------------------------------------------------------------------------ writes

    def _conflict(self, info: ResourceInfo, name: str) -> ApiError:
        return ApiError(
            status_response(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {info.qualified} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                _details(info, name),
            )
        )

    def _patch(self, ctx: Ctx) -> Response:
        info, name = ctx.info, ctx.route.name
        entry = self._entry(ctx)
        dry_run = ctx.query.get("dryRun", "")
        if dry_run not in ("", "All"):
            raise ApiError(
                status_response(400, "BadRequest", f'Unsupported value: "{dry_run}": supported values: "All"')
            )
        ctype = ctx.headers.get("content-type", "").split(";", 1)[0].strip()
        current = json.loads(entry.single(info))
        try:
            if ctype == "application/merge-patch+json":
                result = merge_patch(current, json.loads(ctx.body or b"null"))
            elif ctype == "application/json-patch+json":
                result = json_patch(current, json.loads(ctx.body or b"null"))
            elif ctype == _SMP and info.builtin:
                result = strategic_merge_patch(current, json.loads(ctx.body or b"null"), info.kind)
            elif ctype == "application/apply-patch+yaml":
                result = self._apply(ctx, current)
            else:
                accepted = ", ".join((*_PATCH_TYPES, _SMP) if info.builtin else _PATCH_TYPES)
                raise ApiError(
                    status_response(
                        415,
                        "UnsupportedMediaType",
                        f"the body of the request was in an unknown format - accepted media types include: {accepted}",
                    )
                )
        except json.JSONDecodeError as exc:
            raise ApiError(status_response(400, "BadRequest", f"error decoding patch: {exc}")) from None
        except PatchError as exc:
            raise ApiError(status_response(422, "Invalid", str(exc))) from None
        if not isinstance(result, dict):
            raise ApiError(status_response(400, "BadRequest", "the patch did not produce an object"))
        md = result.get("metadata") if isinstance(result.get("metadata"), dict) else {}
        assert isinstance(md, dict)
        if md.get("name") != name:
            raise ApiError(
                status_response(
                    400,
                    "BadRequest",
                    f"the name of the object ({md.get('name')}) does not match the name on the URL ({name})",
                )
            )
        _omit_empty_maps(result)  # as Go's omitempty does when the API server encodes the object
        sent_rv = md.get("resourceVersion")
        if sent_rv not in (None, "", str(entry.rv)) or self._take(self.faults.conflicts, ctx.fault_keys):
            raise self._conflict(info, name)
        md["resourceVersion"] = str(entry.rv)
        if result.get("spec") != current.get("spec") and isinstance(md.get("generation"), int):
            md["generation"] += 1
        if info.builtin:
            result.pop("kind", None)
            result.pop("apiVersion", None)
            result = {"kind": info.kind, "apiVersion": info.group_version, **result}
        if dry_run == "All":
            preview = Entry(entry.key, entry.namespace, entry.name, result, entry.rv)
            return Response(200, preview.single(info) + b"\n")
        fresh = self.store.replace(info, entry, result)
        return Response(200, fresh.single(info) + b"\n")

    def _apply(self, ctx: Ctx, current: dict[str, Any]) -> Any:
        """Server-side apply, approximated: the applied configuration is merged in (no field ownership)."""
        if not ctx.query.get("fieldManager"):
            raise ApiError(
                status_response(
                    422,
                    "Invalid",
                    'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                )
            )
        applied = yaml.safe_load(ctx.body or b"{}")
        if not isinstance(applied, dict):
            raise PatchError("the applied configuration is not an object")
        if applied.get("kind") != ctx.info.kind or applied.get("apiVersion") != ctx.info.group_version:
            raise PatchError("the applied configuration's kind/apiVersion do not match the resource")
        return (
            strategic_merge_patch(current, applied, ctx.info.kind)
            if ctx.info.builtin
            else merge_patch(current, applied)
        )

    def _create(self, ctx: Ctx) -> Response:
        if ctx.info.resource not in _REVIEWS:
            raise ApiError(
                status_response(
                    405,
                    "MethodNotAllowed",
                    f'create is not supported on resources of kind "{ctx.info.qualified}" by this fake API server',
                    _details(ctx.info),
                )
            )
        try:
            review = json.loads(ctx.body or b"{}")
        except json.JSONDecodeError as exc:
            raise ApiError(status_response(400, "BadRequest", f"error decoding body: {exc}")) from None
        spec: dict[str, Any] = {}
        if isinstance(review, dict) and isinstance(review.get("spec"), dict):
            spec = review["spec"]
        attrs = spec.get("resourceAttributes") if isinstance(spec.get("resourceAttributes"), dict) else None
        if attrs is not None:
            res = str(attrs.get("resource", "")) + (f"/{attrs['subresource']}" if attrs.get("subresource") else "")
            group, verb = str(attrs.get("group", "")), str(attrs.get("verb", ""))
            keys = ["*", res] + (
                [f"{res.split('/', 1)[0]}.{group}" + res[len(res.split("/", 1)[0]) :]] if group else []
            )
        else:
            nra = spec.get("nonResourceAttributes") if isinstance(spec.get("nonResourceAttributes"), dict) else {}
            assert isinstance(nra, dict)
            verb = str(nra.get("verb", ""))
            keys = ["*", str(nra.get("path", ""))]
        keys += [f"{verb}:{k}" for k in keys[1:]]
        with self._lock:
            allowed = not any(k in self.faults.forbidden for k in keys)
        out = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": {"allowed": allowed},
        }
        return Response(201, dumps(out) + b"\n")


def _kubelet_log_problem(pod: dict[str, Any], name: str, container: str, previous: bool) -> str:
    """What the kubelet says when a container has no log to give (empty: it has one, possibly empty)."""
    st = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    assert isinstance(st, dict)
    cs: dict[str, Any] | None = None
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for c in st.get(key) or []:
            if isinstance(c, dict) and c.get("name") == container:
                cs = c
                break
        if cs is not None:
            break
    if cs is None:
        return f'container "{container}" in pod "{name}" is not available'
    last = (cs.get("lastState") or {}).get("terminated")
    state = cs.get("state") or {}
    waiting, running, terminated = state.get("waiting"), state.get("running"), state.get("terminated")
    if previous:
        if not isinstance(last, dict) or not last.get("containerID"):
            return f'previous terminated container "{container}" in pod "{name}" not found'
        return ""
    if running is not None:
        return ""
    if terminated is not None:
        if terminated.get("containerID") or (isinstance(last, dict) and last.get("containerID")):
            return ""
        return f'container "{container}" in pod "{name}" is terminated'
    if isinstance(last, dict):
        return "" if last.get("containerID") else f'container "{container}" in pod "{name}" is terminated'
    if isinstance(waiting, dict):
        reason = str(waiting.get("reason", ""))
        if reason == "ErrImagePull":
            return f'container "{container}" in pod "{name}" is waiting to start: image can\'t be pulled'
        if reason == "ImagePullBackOff":
            return f'container "{container}" in pod "{name}" is waiting to start: trying and failing to pull image'
        return f'container "{container}" in pod "{name}" is waiting to start: {reason}'
    return f'container "{container}" in pod "{name}" is waiting to start - no logs yet'


def _omit_empty_maps(obj: Any) -> None:
    """Drop the empty labels/annotations maps a patch can leave (the real server's omitempty does the same)."""
    if isinstance(obj, dict):
        md = obj.get("metadata")
        if isinstance(md, dict):
            for key in ("labels", "annotations"):
                if md.get(key) == {}:
                    del md[key]
        for value in obj.values():
            if isinstance(value, (dict, list)):
                _omit_empty_maps(value)
    elif isinstance(obj, list):
        for item in obj:
            _omit_empty_maps(item)
