"""The stdlib API client (podmortem.sources.http) against a tiny scripted HTTP(S) server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from scripted import Reply, ScriptedServer, config, status

from podmortem.sources.http import ApiClient, ApiError, ApiStats, ClusterUnreachable, RequestTimeout, _retry_after
from podmortem.sources.kubeconfig import clear_exec_cache


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


def client_for(srv: ScriptedServer, **kw: Any) -> ApiClient:
    cfg_kw = {k: kw.pop(k) for k in list(kw) if k in {"token", "exec_spec", "environ", "context"}}
    kw.setdefault("backoff", 0.01)
    kw.setdefault("timeout", 2.0)
    return ApiClient(config(srv.url(), **cfg_kw), **kw)


# ------------------------------------------------------------------------------------------------ basics


def test_get_json_sends_bearer_token_and_reuses_one_connection(server: ScriptedServer) -> None:
    with client_for(server, token="sekret-token") as client:
        for _ in range(3):
            assert client.get_json("/api") == {"kind": "APIVersions", "versions": ["v1"]}
    assert [s.headers["authorization"] for s in server.seen] == ["Bearer sekret-token"] * 3
    assert server.seen[0].headers["accept"] == "application/json"
    assert server.seen[0].headers["user-agent"].startswith("podmortem/")
    assert len({s.peer for s in server.seen}) == 1  # keep-alive: one TCP connection
    assert client.stats.calls == 3 and client.stats.retries == 0 and client.stats.bytes > 0


def test_no_authorization_header_without_credentials(server: ScriptedServer) -> None:
    with client_for(server) as client:
        client.get_json("/api")
    assert "authorization" not in server.seen[0].headers


def test_server_path_prefix_and_query(server: ScriptedServer) -> None:
    with ApiClient(config(server.url() + "/k8s/clusters/c-m-abc"), backoff=0.01) as client:
        client.get_json("/api/v1/pods", {"labelSelector": "app in (a,b)", "limit": "5"})
    assert server.seen[0].path == "/k8s/clusters/c-m-abc/api/v1/pods"
    assert server.seen[0].query == {"labelSelector": "app in (a,b)", "limit": "5"}


def test_gzip_answers_are_decoded(server: ScriptedServer) -> None:
    server.script("/apis", Reply(200, {"kind": "APIGroupList", "groups": []}, gzip=True))
    with client_for(server) as client:
        assert client.get_json("/apis") == {"kind": "APIGroupList", "groups": []}
    assert server.seen[0].headers["accept-encoding"] == "gzip"


def test_get_text_returns_log_text(server: ScriptedServer) -> None:
    log = "Unhandled exception. System.TypeInitializationException: ... \u2192 x\n"
    server.script("/api/v1/namespaces/ns/pods/p/log", Reply(200, log))
    with client_for(server) as client:
        assert client.get_text("/api/v1/namespaces/ns/pods/p/log", {"previous": "true"}) == log
    assert server.seen[0].query == {"previous": "true"}


# ------------------------------------------------------------------------------------------------ retries


def test_429_honours_retry_after(server: ScriptedServer) -> None:
    server.script(
        "/api/v1/pods",
        Reply(429, status(429, "TooManyRequests", "Too many requests, please try again later."), {"Retry-After": "1"}),
    )
    with client_for(server, backoff=0.001, max_backoff=0.3) as client:
        t0 = time.monotonic()
        client.get_json("/api/v1/pods")
        waited = time.monotonic() - t0
    assert 0.29 <= waited < 1.0  # Retry-After (1 s) was honoured up to the cap (0.3 s)
    assert client.stats.retries == 1 and client.stats.calls == 2


def test_429_retry_after_short(server: ScriptedServer) -> None:
    server.script("/x", Reply(429, {}, {"Retry-After": "0.25"}), Reply(429, {}, {"Retry-After": "0"}))
    with client_for(server, backoff=0.001) as client:
        t0 = time.monotonic()
        client.get_json("/x")
        assert time.monotonic() - t0 >= 0.25
    assert client.stats.retries == 2


def test_retry_after_parsing() -> None:
    assert _retry_after("3") == 3.0
    assert _retry_after(None) is None and _retry_after("soon") is None
    when = datetime.now(UTC) + timedelta(seconds=30)
    parsed = _retry_after(format_datetime(when, usegmt=True))
    assert parsed is not None and 28 <= parsed <= 31
    assert _retry_after(format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)) == 0.0


def test_500s_then_success(server: ScriptedServer) -> None:
    server.script("/apis", Reply(500, "etcd leader changed"), Reply(503, status(503, "ServiceUnavailable", "")))
    with client_for(server) as client:
        assert client.get_json("/apis")["kind"] == "APIVersions"
    assert client.stats.retries == 2 and client.stats.calls == 3


def test_persistent_500_gives_api_error_after_retries(server: ScriptedServer) -> None:
    server.fallback = lambda seen: Reply(500, status(500, "InternalError", "etcdserver: request timed out"))
    with client_for(server, retries=3) as client, pytest.raises(ApiError) as err:
        client.get_json("/api/v1/events")
    assert (err.value.status, err.value.reason, err.value.path) == (500, "InternalError", "/api/v1/events")
    assert err.value.message == "etcdserver: request timed out"
    assert len(server.seen) == 4


def test_403_is_not_retried_and_carries_the_status_message(server: ScriptedServer) -> None:
    msg = 'nodes is forbidden: User "ci" cannot list resource "nodes" in API group "" at the cluster scope'
    server.script("/api/v1/nodes", Reply(403, status(403, "Forbidden", msg)))
    with client_for(server) as client, pytest.raises(ApiError) as err:
        client.get_json("/api/v1/nodes")
    assert (err.value.status, err.value.reason, err.value.message) == (403, "Forbidden", msg)
    assert len(server.seen) == 1
    assert str(err.value) == f"GET /api/v1/nodes: 403 Forbidden: {msg}"


def test_silently_closed_keepalive_connection_is_retried(server: ScriptedServer) -> None:
    server.script("/a", Reply(200, {"n": 1}, drop_after=True))
    with client_for(server) as client:
        assert client.get_json("/a") == {"n": 1}
        time.sleep(0.05)
        assert client.get_json("/b")["kind"] == "APIVersions"
    assert len({s.peer for s in server.seen}) == 2


# ------------------------------------------------------------------------------------------------ failures


def test_timeout_raises_request_timeout(server: ScriptedServer) -> None:
    server.script("/slow", Reply(200, {}, delay=1.5), Reply(200, {}, delay=1.5))
    with client_for(server, timeout=0.2) as client:
        t0 = time.monotonic()
        with pytest.raises(RequestTimeout) as err:
            client.get_json("/slow")
        assert time.monotonic() - t0 < 1.0
    assert isinstance(err.value, ClusterUnreachable)
    assert str(err.value) == f"cannot reach cluster 'test' at {server.url()}: GET /slow timed out after 0.2s"


def test_connection_refused_is_cluster_unreachable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    cfg = config(f"http://127.0.0.1:{port}", context="aks-prod")
    with ApiClient(cfg, backoff=0.01) as client:
        t0 = time.monotonic()
        with pytest.raises(ClusterUnreachable) as err:
            client.get_json("/api")
        assert time.monotonic() - t0 < 1.0  # fails fast, no retries before the server ever answered
    assert str(err.value) == f"cannot reach cluster 'aks-prod' at http://127.0.0.1:{port}: connection refused"
    assert (err.value.server, err.value.context) == (f"http://127.0.0.1:{port}", "aks-prod")


def test_unresolvable_host_is_cluster_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: Any, **kw: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with (
        ApiClient(config("https://aks-gone.hcp.westeurope.azmk8s.io:443"), backoff=0.01) as client,
        pytest.raises(ClusterUnreachable) as err,
    ):
        client.get_json("/api")
    assert str(err.value) == (
        "cannot reach cluster 'test' at https://aks-gone.hcp.westeurope.azmk8s.io:443: "
        "cannot resolve the host name (Name or service not known)"
    )


# ------------------------------------------------------------------------------------------------ pagination


def pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"}, "spec": {}, "status": {}}


def page(names: list[str], cont: str = "") -> dict[str, Any]:
    md: dict[str, Any] = {"resourceVersion": "12345"}
    if cont:
        md["continue"] = cont
    return {"kind": "PodList", "apiVersion": "v1", "metadata": md, "items": [pod(n) for n in names]}


def test_list_all_pages_and_fills_kind(server: ScriptedServer) -> None:
    server.script("/api/v1/pods", Reply(200, page(["a", "b"], "tok1")), Reply(200, page(["c"])))
    with client_for(server) as client:
        items = list(client.list_all("/api/v1/pods", {"labelSelector": "app=x"}, limit=2))
    assert [i["metadata"]["name"] for i in items] == ["a", "b", "c"]
    assert all(list(i)[:2] == ["apiVersion", "kind"] and i["kind"] == "Pod" and i["apiVersion"] == "v1" for i in items)
    assert [s.query for s in server.seen] == [
        {"labelSelector": "app=x", "limit": "2"},
        {"labelSelector": "app=x", "limit": "2", "continue": "tok1"},
    ]


def test_410_on_continue_restarts_the_list_once(server: ScriptedServer) -> None:
    expired = status(410, "Expired", "The provided continue parameter is too old to display a consistent list result.")
    server.script(
        "/api/v1/pods",
        Reply(200, page(["a", "b"], "tok1")),
        Reply(410, expired),
        Reply(200, page(["a", "b"], "tok2")),
        Reply(200, page(["c"])),
    )
    warnings: list[str] = []
    with client_for(server) as client:
        items = list(client.list_all("/api/v1/pods", limit=2, warn=warnings.append))
    assert [i["metadata"]["name"] for i in items] == ["a", "b", "c"]  # nothing yielded twice
    assert len(warnings) == 1 and "continue token expired" in warnings[0]
    assert [s.query.get("continue") for s in server.seen] == [None, "tok1", None, "tok2"]


def test_second_410_is_an_error(server: ScriptedServer) -> None:
    expired = status(410, "Expired", "too old")
    server.script(
        "/api/v1/events",
        Reply(200, page(["a"], "t1")),
        Reply(410, expired),
        Reply(200, page(["a"], "t2")),
        Reply(410, expired),
    )
    with client_for(server) as client, pytest.raises(ApiError) as err:
        list(client.list_all("/api/v1/events", limit=1))
    assert err.value.status == 410


# ------------------------------------------------------------------------------------------------ threads, exec


def test_thread_safe_one_connection_per_thread(server: ScriptedServer) -> None:
    server.fallback = lambda seen: Reply(200, {"path": seen.path}, delay=0.01)
    with client_for(server) as client, ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: client.get_json(f"/p/{i}"), range(40)))
    assert [r["path"] for r in results] == [f"/p/{i}" for i in range(40)]
    assert len({s.peer for s in server.seen}) <= 4
    assert client.stats.calls == 40


def test_stats_are_thread_safe() -> None:
    stats = ApiStats()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: stats.add_call(10), range(1000)))
    stats.add_seconds("list", 0.5)
    stats.add_seconds("list", 0.25)
    assert stats.to_dict() == {"calls": 1000, "bytes": 10000, "retries": 0, "seconds": {"list": 0.75}}


PLUGIN = """\
import json, os
counter = os.environ["PLUGIN_COUNTER"]
n = int(open(counter).read()) + 1 if os.path.exists(counter) else 1
open(counter, "w").write(str(n))
print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"token": "token-%d" % n}}))
"""


def test_401_with_exec_plugin_refreshes_credentials_once(server: ScriptedServer, tmp_path: Path) -> None:
    clear_exec_cache()
    script = tmp_path / "plugin.py"
    script.write_text(PLUGIN, encoding="utf-8")
    spec = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable,
        "args": [str(script)],
        "env": [{"name": "PLUGIN_COUNTER", "value": str(tmp_path / "n")}],
        "interactiveMode": "Never",
    }
    server.fallback = lambda seen: (
        Reply(200, {"ok": True})
        if seen.headers.get("authorization") == "Bearer token-2"
        else Reply(401, status(401, "Unauthorized", "Unauthorized"))
    )
    with client_for(server, exec_spec=spec, environ=dict(os.environ)) as client:
        assert client.get_json("/api") == {"ok": True}
        assert client.get_json("/apis") == {"ok": True}  # the refreshed token is cached
    assert [s.headers["authorization"] for s in server.seen] == ["Bearer token-1", "Bearer token-2", "Bearer token-2"]
    clear_exec_cache()


# ------------------------------------------------------------------------------------------------ TLS


@dataclass
class Pki:
    ca: bytes
    server_cert: Path
    server_key: Path
    client_cert: bytes
    client_key: bytes
    ca_path: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca", cwd=d)
    (d / "server.ext").write_text(
        "subjectAltName=DNS:kubernetes.example,DNS:localhost\nextendedKeyUsage=serverAuth\n", encoding="utf-8"
    )
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n", encoding="utf-8")
    for who, subj in (("server", "/CN=kube-apiserver"), ("client", "/O=system:masters/CN=admin")):
        _openssl("req", *ec, "-keyout", f"{who}.key", "-out", f"{who}.csr", "-subj", subj, cwd=d)
        _openssl(
            "x509", "-req", "-in", f"{who}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{who}.crt", "-days", "1", "-extfile", f"{who}.ext", cwd=d,
        )  # fmt: skip
    return Pki(
        ca=(d / "ca.crt").read_bytes(),
        server_cert=d / "server.crt",
        server_key=d / "server.key",
        client_cert=(d / "client.crt").read_bytes(),
        client_key=(d / "client.key").read_bytes(),
        ca_path=d / "ca.crt",
    )


def server_tls(pki: Pki, *, require_client: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=str(pki.ca_path))
    return ctx


def tls_client(srv: ScriptedServer, host: str = "localhost", **kw: Any) -> ApiClient:
    return ApiClient(config(srv.url("https", host), **kw), backoff=0.01, timeout=3, retries=1)


def test_tls_with_cluster_ca(pki: Pki) -> None:
    with ScriptedServer(server_tls(pki)) as srv:
        with tls_client(srv, ca_data=pki.ca, token="t") as client:
            assert client.get_json("/api")["versions"] == ["v1"]
            assert client.get_json("/api")["versions"] == ["v1"]
        assert srv.seen[0].headers["authorization"] == "Bearer t"
        assert len({s.peer for s in srv.seen}) == 1


def test_tls_untrusted_certificate_is_unreachable(pki: Pki) -> None:
    with ScriptedServer(server_tls(pki)) as srv, tls_client(srv) as client:
        with pytest.raises(ClusterUnreachable, match="certificate verification failed"):
            client.get_json("/api")
        assert srv.seen == []


def test_tls_host_name_mismatch_and_tls_server_name(pki: Pki) -> None:
    with ScriptedServer(server_tls(pki)) as srv:
        with (
            tls_client(srv, "127.0.0.1", ca_data=pki.ca) as client,
            pytest.raises(ClusterUnreachable, match="certificate verification failed"),
        ):
            client.get_json("/api")
        with tls_client(srv, "127.0.0.1", ca_data=pki.ca, tls_server_name="kubernetes.example") as client:
            assert client.get_json("/api")["kind"] == "APIVersions"


def test_tls_insecure_skip_verify(pki: Pki) -> None:
    with ScriptedServer(server_tls(pki)) as srv, tls_client(srv, "127.0.0.1", insecure=True) as client:
        assert client.get_json("/api")["kind"] == "APIVersions"


def test_tls_client_certificate(pki: Pki) -> None:
    with ScriptedServer(server_tls(pki, require_client=True)) as srv:
        with tls_client(srv, ca_data=pki.ca, client_cert=pki.client_cert, client_key=pki.client_key) as client:
            assert client.get_json("/api")["kind"] == "APIVersions"
        with tls_client(srv, ca_data=pki.ca) as client, pytest.raises(ClusterUnreachable):
            client.get_json("/api")
