"""A small, thread-safe Kubernetes API client on the standard library (``http.client`` and ``ssl``).

Only GET is needed to read a cluster. Connections are kept alive and reused: a request takes an idle connection
(or opens one) and holds it alone until its answer is read, so each thread running a request uses exactly one
connection, and no more connections stay open than requests ran at once. Responses are
decoded as raw JSON (no typed models). 429 and 5xx answers and dropped connections are retried with exponential
backoff and jitter, honouring ``Retry-After``; every request has a timeout. Failures to reach the cluster at all
raise :class:`ClusterUnreachable`; error answers that remain after retrying raise :class:`ApiError`.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import os
import random
import socket
import ssl
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from podmortem import __version__
from podmortem.sources.errors import SourceError
from podmortem.sources.kubeconfig import ClusterConfig, Credentials

USER_AGENT = f"podmortem/{__version__}"
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_DROPPED = (
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    http.client.RemoteDisconnected,
    http.client.IncompleteRead,
    http.client.BadStatusLine,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)


class ApiError(SourceError):
    """The API server answered with an error status (after retries, for 429 and 5xx)."""

    def __init__(self, status: int, reason: str, path: str, message: str = "") -> None:
        """Record the status, its reason (``Forbidden``, ``NotFound``, ...), the request path and the message."""
        self.status = status
        self.reason = reason
        self.path = path
        self.message = message
        text = f"GET {path}: {status} {reason}"
        super().__init__(text + (f": {message}" if message else ""))


class ClusterUnreachable(SourceError):
    """The cluster could not be reached: connection refused, DNS or TLS failure, timeout."""

    def __init__(self, server: str, context: str, detail: str) -> None:
        """One line naming the context and the server, and what went wrong."""
        self.server = server
        self.context = context
        self.detail = detail
        super().__init__(f"cannot reach cluster '{context}' at {server}: {detail}")


class RequestTimeout(ClusterUnreachable):
    """A request got no answer within the timeout (the server may still be reachable for other requests)."""


@dataclass
class ApiStats:
    """What reading a cluster cost: requests sent, bytes received, retries, wall seconds per phase."""

    calls: int = 0
    bytes: int = 0
    retries: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_call(self, nbytes: int) -> None:
        """Count one request and the bytes its answer carried."""
        with self._lock:
            self.calls += 1
            self.bytes += nbytes

    def add_retry(self) -> None:
        """Count one retry."""
        with self._lock:
            self.retries += 1

    def add_seconds(self, phase: str, seconds: float) -> None:
        """Add wall time to a phase (``discovery``, ``list``, ``logs``)."""
        with self._lock:
            self.seconds[phase] = round(self.seconds.get(phase, 0.0) + seconds, 3)

    def to_dict(self) -> dict[str, Any]:
        """As ``snapshot.stats["api"]``."""
        with self._lock:
            return {"calls": self.calls, "bytes": self.bytes, "retries": self.retries, "seconds": dict(self.seconds)}


class _HTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection whose TLS server name (SNI and certificate check) can differ from the host dialled."""

    def __init__(self, host: str, port: int | None, *, timeout: float, context: ssl.SSLContext, sni: str | None):
        super().__init__(host, port, timeout=timeout, context=context)
        self._sni = sni
        self._ctx = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        tunnel_host: str | None = getattr(self, "_tunnel_host", None)
        name = self._sni or tunnel_host or self.host
        self.sock = self._ctx.wrap_socket(self.sock, server_hostname=name)


@dataclass
class _Slot:
    """A pooled connection and the TLS client identity it was made with."""

    conn: http.client.HTTPConnection
    identity: tuple[bytes | None, bytes | None]


class ApiClient:
    """GETs against one API server; safe to share between threads (one connection per thread)."""

    def __init__(
        self,
        config: ClusterConfig,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_workers: int = 8,
        stats: ApiStats | None = None,
        max_backoff: float = 30.0,
        plugin_stderr: Callable[[str], None] | None = None,
    ) -> None:
        """Prepare a client; nothing is sent until the first request.

        ``timeout`` bounds each request (connect and each read), ``retries`` how often a 429/5xx answer or a
        dropped connection is retried, ``backoff`` the first retry delay (doubled each time, with jitter, at most
        ``max_backoff``, which also caps ``Retry-After``). ``max_workers`` is how many requests callers may run
        at once. ``plugin_stderr`` receives what an exec credential plugin prints on stderr.
        """
        self.config = config
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_workers = max(1, max_workers)
        self.stats = stats if stats is not None else ApiStats()
        self.plugin_stderr = plugin_stderr
        parts = urlsplit(config.server)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClusterUnreachable(config.server, config.context, "the server URL is not http(s)://host[:port]")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._lock = threading.Lock()
        self._idle: list[_Slot] = []  # keep-alive connections no request is using
        self._contexts: dict[tuple[bytes | None, bytes | None], ssl.SSLContext] = {}
        self._reached = False
        self._closed = False

    # ------------------------------------------------------------------------------------------------ public

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET ``path`` and decode the JSON object it returns."""
        return _json_object(self._get(path, params, "application/json"), path)

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """Send ``body`` as JSON with ``method`` (PATCH, POST, PUT) and decode the JSON object answered.

        Only the fix step (``remedies/apply.py``) writes; everything else in podmortem reads.
        """
        data = json.dumps(body).encode() if body is not None else None
        return _json_object(self._request(method, path, params, "application/json", data, content_type), path)

    def get_text(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """GET ``path`` as text (container logs), decoded as UTF-8 with replacement characters."""
        return self._get(path, params, "*/*").decode("utf-8", "replace")

    def list_all(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        limit: int = 500,
        warn: Callable[[str], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated LIST (``limit`` + ``continue``), with ``kind``/``apiVersion`` filled in.

        When a ``continue`` token has expired (410 Gone), the list restarts once from the beginning and ``warn``
        is told; items already yielded (by uid) are not yielded again. A second expiry raises :class:`ApiError`.
        """
        base = dict(params or {})
        cont = ""
        restarted = False
        seen: set[str] = set()
        while True:
            query = dict(base)
            query["limit"] = str(limit)
            if cont:
                query["continue"] = cont
            try:
                page = self.get_json(path, query)
            except ApiError as exc:
                if exc.status == 410 and cont and not restarted:
                    restarted = True
                    cont = ""
                    if warn is not None:
                        warn(f"listing {path} took too long (continue token expired); listed it again from the start")
                    continue
                raise
            list_kind = page.get("kind")
            item_kind = list_kind[:-4] if isinstance(list_kind, str) and list_kind.endswith("List") else ""
            api_version = page.get("apiVersion") if isinstance(page.get("apiVersion"), str) else ""
            items = page.get("items")
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict):
                    continue
                if not item.get("kind") or not item.get("apiVersion"):
                    item = {
                        "apiVersion": item.get("apiVersion") or api_version,
                        "kind": item.get("kind") or item_kind,
                        **item,
                    }
                md = item.get("metadata")
                uid = md.get("uid") if isinstance(md, dict) else None
                if isinstance(uid, str) and uid:
                    if uid in seen:
                        continue
                    seen.add(uid)
                yield item
            md = page.get("metadata")
            cont = md.get("continue", "") if isinstance(md, dict) else ""
            if not isinstance(cont, str) or not cont:
                return

    def close(self) -> None:
        """Close the idle connections; those in use are closed when their request ends."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._closed = True
        for slot in idle:
            slot.conn.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------------ internals

    def _unreachable(self, detail: str, *, timeout: bool = False) -> ClusterUnreachable:
        cls = RequestTimeout if timeout else ClusterUnreachable
        return cls(self.config.server, self.config.context, detail)

    def _credentials(self, refresh: bool = False) -> Credentials:
        return self.config.credentials(refresh=refresh, plugin_stderr=self.plugin_stderr)

    def _ssl_context(self, identity: tuple[bytes | None, bytes | None]) -> ssl.SSLContext:
        with self._lock:
            ctx = self._contexts.get(identity)
            if ctx is not None:
                return ctx
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if self.config.insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            elif self.config.ca_data:
                try:
                    ctx.load_verify_locations(cadata=self.config.ca_data.decode("ascii", "replace"))
                except (ssl.SSLError, ValueError) as exc:
                    raise self._unreachable(f"the cluster's certificate authority data is not usable ({exc})") from exc
            else:
                ctx.load_default_certs()
            cert, key = identity
            if cert and key:
                _load_client_cert(ctx, cert, key, self._unreachable)
            self._contexts[identity] = ctx
            return ctx

    def _acquire(self, creds: Credentials) -> _Slot:
        """A connection for one request, used by nobody else until released: the most recently used idle one
        (keep-alive), else a new one. So each thread running a request holds exactly one connection."""
        identity = (creds.client_cert, creds.client_key)
        stale: list[_Slot] = []
        found: _Slot | None = None
        with self._lock:
            while self._idle:
                slot = self._idle.pop()
                if slot.identity == identity:
                    found = slot
                    break
                stale.append(slot)  # made with a client certificate that has since been replaced
        for slot in stale:
            slot.conn.close()
        return found if found is not None else _Slot(self._new_connection(identity), identity)

    def _release(self, slot: _Slot, reusable: bool) -> None:
        """Give a connection back for reuse, or close it (the server said it closes it, or too many are idle)."""
        if reusable:
            with self._lock:
                if not self._closed and len(self._idle) < self.max_workers:
                    self._idle.append(slot)
                    return
        slot.conn.close()

    def _new_connection(self, identity: tuple[bytes | None, bytes | None]) -> http.client.HTTPConnection:
        host, port = self._host, self._port
        tunnel: tuple[str, int, dict[str, str]] | None = None
        proxy = self.config.proxy_url
        if proxy:
            pp = urlsplit(proxy)
            if pp.scheme != "http" or not pp.hostname:
                raise self._unreachable(
                    f"proxy '{pp.scheme}://{pp.hostname or ''}' is not supported (only http:// proxies)"
                )
            headers: dict[str, str] = {}
            if pp.username:
                userinfo = f"{unquote(pp.username)}:{unquote(pp.password or '')}"
                headers["Proxy-Authorization"] = "Basic " + base64.b64encode(userinfo.encode()).decode("ascii")
            tunnel = (host, port, headers)
            host, port = pp.hostname, pp.port or 80
        conn: http.client.HTTPConnection
        if self._https:
            conn = _HTTPSConnection(
                host, port, timeout=self.timeout, context=self._ssl_context(identity), sni=self.config.tls_server_name
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        if tunnel is not None:
            conn.set_tunnel(tunnel[0], tunnel[1], headers=tunnel[2])
        return conn

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff)
        base = self.backoff * (2.0**attempt)
        return min(base * (0.5 + random.random() / 2), self.max_backoff)

    def _get(self, path: str, params: Mapping[str, str] | None, accept: str) -> bytes:
        return self._request("GET", path, params, accept)

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        accept: str,
        payload: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        if self._closed:
            raise RuntimeError("ApiClient is closed")
        url = self._prefix + quote(path, safe="/:@!$&'()*+,;=-._~")
        if params:
            url += "?" + urlencode(params)
        attempt = 0
        refreshed = False
        creds = self._credentials()
        while True:
            if creds.expired():
                creds = self._credentials()
            headers = {"Accept": accept, "User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
            if content_type:
                headers["Content-Type"] = content_type
            if creds.token:
                headers["Authorization"] = f"Bearer {creds.token}"
            retry_after: float | None = None
            slot: _Slot | None = None
            try:
                slot = self._acquire(creds)
                slot.conn.request(method, url, body=payload, headers=headers)
                resp = slot.conn.getresponse()
                raw = resp.read()
            except TimeoutError as exc:
                _discard(slot)
                self.stats.add_call(0)
                if self._reached and attempt < min(self.retries, 1):
                    attempt += 1
                    self.stats.add_retry()
                    continue
                raise self._unreachable(f"{method} {path} timed out after {self.timeout:g}s", timeout=True) from exc
            except _DROPPED as exc:
                # a keep-alive connection the server closed, or a reset: retry on a fresh connection
                _discard(slot)
                self.stats.add_call(0)
                if attempt < self.retries:
                    attempt += 1
                    self.stats.add_retry()
                    if attempt > 1:
                        time.sleep(self._delay(attempt - 2, None))
                    continue
                raise self._unreachable(f"connection dropped ({type(exc).__name__})") from exc
            except ssl.SSLCertVerificationError as exc:
                _discard(slot)
                raise self._unreachable(f"TLS certificate verification failed: {exc.verify_message or exc}") from exc
            except ssl.SSLError as exc:
                _discard(slot)
                raise self._unreachable(f"TLS handshake failed: {exc.reason or exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                # refused, no route, DNS failure: fail fast unless the server answered before (it may be restarting)
                _discard(slot)
                self.stats.add_call(0)
                if self._reached and attempt < self.retries:
                    attempt += 1
                    self.stats.add_retry()
                    time.sleep(self._delay(attempt - 1, None))
                    continue
                raise self._unreachable(_describe_os_error(exc)) from exc
            self._release(slot, reusable=not resp.will_close)
            self._reached = True
            self.stats.add_call(len(raw))
            status = resp.status
            body = _decode_body(raw, resp.getheader("Content-Encoding"))
            if 200 <= status < 300:
                return body
            if status == 401 and self.config.exec_spec is not None and not refreshed:
                refreshed = True
                creds = self._credentials(refresh=True)
                continue
            # A write is retried only when the server says it did not process it (429); a 5xx may have applied it.
            if status in _RETRY_STATUS and attempt < self.retries and (method == "GET" or status == 429):
                retry_after = _retry_after(resp.getheader("Retry-After"))
                time.sleep(self._delay(attempt, retry_after))
                attempt += 1
                self.stats.add_retry()
                continue
            reason, message = _status_detail(body, resp.reason)
            raise ApiError(status, reason, path, message)


def _json_object(raw: bytes, path: str) -> dict[str, Any]:
    """The JSON object an answer holds (ApiError when it is not one)."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(200, "InvalidResponse", path, "the answer is not JSON") from exc
    if not isinstance(doc, dict):
        raise ApiError(200, "InvalidResponse", path, "the answer is not a JSON object")
    return doc


def _discard(slot: _Slot | None) -> None:
    if slot is not None:
        slot.conn.close()


def _decode_body(raw: bytes, encoding: str | None) -> bytes:
    if encoding and encoding.lower() == "gzip":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            return raw
    return raw


def _load_client_cert(
    ctx: ssl.SSLContext, cert: bytes, key: bytes, unreachable: Callable[[str], ClusterUnreachable]
) -> None:
    """Load a PEM client certificate and key held in memory (ssl only reads files: use private temp files)."""
    with tempfile.TemporaryDirectory(prefix="podmortem-tls-") as tmp:
        cert_path = os.path.join(tmp, "client.crt")
        key_path = os.path.join(tmp, "client.key")
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except (ssl.SSLError, OSError) as exc:
            raise unreachable(f"the client certificate or key is not usable ({exc})") from exc


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _status_detail(body: bytes, http_reason: str) -> tuple[str, str]:
    """The reason and message of an error answer (a ``Status`` object when the API server wrote it)."""
    reason, message = http_reason or "Error", ""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        if isinstance(doc.get("reason"), str) and doc["reason"]:
            reason = doc["reason"]
        if isinstance(doc.get("message"), str):
            message = doc["message"]
    elif body:
        message = body[:300].decode("utf-8", "replace").strip().splitlines()[0] if body.strip() else ""
    return reason, message


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__
