"""A tiny scripted HTTP(S) server on 127.0.0.1 for the live-source tests: answers come from per-path queues,
then from a fallback handler; every request is recorded."""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from podmortem.sources.kubeconfig import ClusterConfig


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = None  # dict → JSON, str/bytes → as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop_after: bool = False  # close the connection after answering, without saying so
    gzip: bool = False


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    peer: tuple[str, int]


Handler = Callable[[Seen], Reply]


class ScriptedServer:
    """A keep-alive HTTP/1.1 server whose answers come from queues per path, then from a fallback handler."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.queues: dict[str, list[Reply]] = {}
        self.fallback: Handler = lambda seen: Reply(200, {"kind": "APIVersions", "versions": ["v1"]})
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                seen = Seen(
                    parts.path,
                    {k: v[0] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    self.client_address,
                )
                with outer.lock:
                    outer.seen.append(seen)
                    queue = outer.queues.get(parts.path)
                    reply = queue.pop(0) if queue else None
                if reply is None:
                    reply = outer.fallback(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if isinstance(body, (dict, list)):
                    data = json.dumps(body).encode()
                    ctype = "application/json"
                elif isinstance(body, str):
                    data, ctype = body.encode(), "text/plain"
                else:
                    data, ctype = body or b"", "application/octet-stream"
                if reply.gzip:
                    data = gzip.compress(data)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    if reply.gzip:
                        self.send_header("Content-Encoding", "gzip")
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    self.close_connection = True
                    return
                if reply.drop_after:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def url(self, scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}"

    def script(self, path: str, *replies: Reply) -> None:
        self.queues.setdefault(path, []).extend(replies)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def config(server: str, **kw: Any) -> ClusterConfig:
    return ClusterConfig(server=server, context=kw.pop("context", "test"), cluster="test", **kw)
