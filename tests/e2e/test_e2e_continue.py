"""An expired ``continue`` token on a real API server: podmortem lists pods two at a time, and between the first
and the second page etcd is compacted past the revision the token carries. kube-apiserver answers the next page
with 410 Gone (reason Expired); podmortem's live source lists again from the start, warns, and returns every pod
exactly once — including one created while the first list was under way.

Since Kubernetes 1.34 an API server serves the next pages from a snapshot of its watch cache (kept about 75 s),
so a compaction alone does not expire a fresh token on the server that gave it. The fault is therefore played on
a second kube-apiserver of the same cluster (same etcd, certificates and flags) started with ``--watch-cache=false``:
every page goes to etcd, as it does on an HA control plane when the next page reaches another instance or the
snapshot has aged out."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from e2e_cluster import free_port, write_kubeconfig
from e2e_kube import Kube
from e2e_scenario import E2E
from e2e_seed import agent_deployment

from podmortem.sources.http import ApiClient, ApiError
from podmortem.sources.kubeconfig import load_kubeconfig
from podmortem.sources.live import load_live

NS = "build-agents-continue"


def _etcd(e2e: E2E, call: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to etcd's v3 HTTP gateway on the e2e etcd client port."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{e2e.cluster.ports['etcd']}/v3/{call}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        doc: dict[str, Any] = json.loads(resp.read())
        return doc


def _etcd_revision(e2e: E2E) -> int:
    doc = _etcd(e2e, "kv/range", {"key": base64.b64encode(b"/registry/namespaces/default").decode()})
    return int(doc["header"]["revision"])


@pytest.fixture
def uncached_apiserver(e2e: E2E, tmp_path: Path) -> Iterator[Path]:
    """A second kube-apiserver on the session's etcd, with the running one's flags plus ``--watch-cache=false``;
    yields an admin kubeconfig for it."""
    main = next(p for p in e2e.cluster.procs if p.name == "kube-apiserver")
    argv = Path(f"/proc/{main.popen.pid}/cmdline").read_bytes().split(b"\0")
    args = [a.decode() for a in argv[1:] if a]
    port = free_port()
    replaced = {"--secure-port": str(port), "--audit-log-path": str(tmp_path / "audit.log")}
    args = [a for a in args if a.split("=", 1)[0] not in replaced]
    args += [f"{k}={v}" for k, v in replaced.items()] + ["--watch-cache=false"]
    log = (tmp_path / "kube-apiserver-uncached.log").open("wb")
    proc = subprocess.Popen(
        [argv[0].decode(), *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path
    )
    log.close()
    pki = e2e.cluster.pki
    server = f"https://127.0.0.1:{port}"
    kube = Kube(server, pki / "ca.crt", pki / "admin.crt", pki / "admin.key")
    try:
        kube.wait_for("the second kube-apiserver /readyz", lambda: kube.request("GET", "/readyz") == "ok", 90)
        user = {
            "client-certificate-data": base64.b64encode((pki / "admin.crt").read_bytes()).decode(),
            "client-key-data": base64.b64encode((pki / "admin.key").read_bytes()).decode(),
        }
        yield write_kubeconfig(tmp_path / "uncached.kubeconfig", server, pki / "ca.crt", user, name="aks-e2e-2")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if os.environ.get("PODMORTEM_E2E_KEEP") != "1":
            (tmp_path / "audit.log").unlink(missing_ok=True)


def _bare_pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "late"}},
        "spec": {"containers": [{"name": "main", "image": "mcr.microsoft.com/cbl-mariner/base/core:2.0"}]},
    }


class _CompactingClient(ApiClient):
    """The real client, plus one side effect: just before the first page that carries a ``continue`` token for the
    pod list, a pod is created (the revision moves on) and etcd is compacted at the new revision. Every status
    the server answers for that list is recorded; nothing is answered on the server's behalf."""

    def __init__(self, e2e: E2E, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.e2e = e2e
        self.pod_pages: list[tuple[bool, int | str]] = []  # (sent a continue token, status or reason)
        self.compacted_at = 0
        self.token_rv = 0
        self.last_error: ApiError | None = None

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        is_pods = path == f"/api/v1/namespaces/{NS}/pods"
        cont = (params or {}).get("continue", "")
        if is_pods and cont and not self.compacted_at:
            self.token_rv = json.loads(base64.urlsafe_b64decode(cont + "=" * (-len(cont) % 4)))["rv"]
            self.e2e.kube.create(_bare_pod("late-arrival"))
            self.compacted_at = _etcd_revision(self.e2e)
            assert self.compacted_at > self.token_rv
            _etcd(self.e2e, "kv/compaction", {"revision": str(self.compacted_at), "physical": True})
        try:
            doc = super().get_json(path, params)
        except ApiError as exc:
            if is_pods:
                self.pod_pages.append((bool(cont), exc.status))
                self.last_error = exc
            raise
        if is_pods:
            self.pod_pages.append((bool(cont), 200))
        return doc


def test_expired_continue_token_restarts_the_list(e2e: E2E, uncached_apiserver: Path) -> None:
    e2e.agent_namespace(NS, injected=False)
    e2e.kube.create(
        agent_deployment(NS, "azure-devops-agent", replicas=5, pod_annotations={"dynatrace.com/inject": "false"})
    )
    e2e.wait_pods(NS, "app=azure-devops-agent", 5, "running")

    config = load_kubeconfig([str(uncached_apiserver)], context=None, environ={})
    warnings: list[str] = []
    client = _CompactingClient(e2e, config, max_workers=2)
    try:
        snap = load_live(
            client, config, kinds=["Pod"], namespace=NS, page_size=2, injectors=False, warn=warnings.append
        )
    finally:
        client.close()

    # the real server refused the stale token with 410 Expired, then the list started over without a token
    assert client.compacted_at, "the pod list never asked for a second page"
    assert (True, 410) in client.pod_pages, client.pod_pages
    err = client.last_error
    assert err is not None and err.status == 410
    assert err.reason == "Expired" or "continue" in err.message.lower(), (err.reason, err.message)
    first_410 = client.pod_pages.index((True, 410))
    assert client.pod_pages[first_410 + 1] == (False, 200), client.pod_pages
    assert any("/pods" in w and "continue token expired" in w for w in warnings), warnings
    assert any("continue token expired" in w for w in snap.warnings), snap.warnings

    # every pod exactly once, the one created mid-list included
    pods = snap.of_kind("Pod")
    uids = [p["metadata"]["uid"] for p in pods]
    assert len(uids) == len(set(uids)), sorted(p["metadata"]["name"] for p in pods)
    expected = {p["metadata"]["uid"] for p in e2e.pods(NS)}
    assert set(uids) == expected, (len(uids), len(expected))
    assert len(expected) == 6
    assert "late-arrival" in {p["metadata"]["name"] for p in pods}
    e2e.delete_namespace(NS)
