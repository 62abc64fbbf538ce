"""Contract tests of the fake API server: what it answers from Python, and what a real kubectl makes of it.

The same cases run twice where it makes sense: once with a plain HTTP client (exact bodies, headers, status
codes) and once through ``kubectl`` (skipped when kubectl is not installed), which proves the responses are
shaped well enough for client-go: discovery, chunked lists, selectors, logs, Forbidden and throttling.
"""

from __future__ import annotations

import base64
import gc
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from podmortem.model.snapshot import LogKey, Snapshot, SourceInfo
from podmortem.sources import open_source

from .server import FakeApiServer, Faults, RequestRecord
from .store import INCONSISTENT_CONTINUE

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "aks-azure-pipelines-dynatrace"
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (CI installs kubernetes-client)")


# ------------------------------------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def example() -> Snapshot:
    return open_source(EXAMPLE)


@pytest.fixture
def srv(example: Snapshot) -> Iterator[FakeApiServer]:
    with FakeApiServer(example) as server:
        yield server


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    server: FakeApiServer,
    path: str,
    params: dict[str, str] | None = None,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request on a fresh connection."""
    parts = urlsplit(server.url)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        assert server.ca_pem is not None
        ctx = ssl.create_default_context(cadata=server.ca_pem.decode())
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, context=ctx, timeout=10)
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        target = path + ("?" + urlencode(params) if params else "")
        conn.request(method, target, body=body, headers={"Accept": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def list_all(server: FakeApiServer, path: str, limit: int, **params: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """Follow continue tokens to the end; returns (items, metadata of each page)."""
    items: list[dict[str, Any]] = []
    metas: list[Any] = []
    token = ""
    while True:
        q = {"limit": str(limit), **params}
        if token:
            q["continue"] = token
        r = call(server, path, q)
        assert r.status == 200, r.body
        doc = r.json()
        items.extend(doc["items"])
        metas.append(doc["metadata"])
        token = doc["metadata"].get("continue", "")
        if not token:
            return items, metas
        assert len(metas) < 10_000, "pagination does not end"


def pod(
    ns: str, name: str, *, labels: dict[str, str] | None = None, phase: str = "Running", node: str = "n1"
) -> dict[str, Any]:
    """A small pod shaped like the API's (enough for listing and selectors)."""
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", "labels": dict(labels or {})},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.example/app:1"}]},
        "status": {"phase": phase, "containerStatuses": [{"name": "app", "restartCount": 0, "state": {"running": {}}}]},
    }


def synthetic() -> Snapshot:
    """Pods whose namespaces are prefixes of each other (a, a-b, ab), to check etcd key order and ranges."""
    snap = Snapshot(SourceInfo("manifests", "synthetic"))
    for ns in ("a", "a-b", "ab", "b"):
        for i in range(5):
            tier = ("web", "db", "cache")[i % 3]
            labels = {"tier": tier, "idx": str(i)} | ({"canary": ""} if i == 4 else {})
            snap.add(pod(ns, f"p{i}", labels=labels, phase="Pending" if i == 2 else "Running", node=f"n{i % 2}"))
    return snap


# ----------------------------------------------------------------------------------------------- discovery


def test_discovery_documents_are_shaped_like_the_api_servers(srv: FakeApiServer) -> None:
    api = call(srv, "/api").json()
    assert api["kind"] == "APIVersions" and "apiVersion" not in api and api["versions"] == ["v1"]
    core = call(srv, "/api/v1").json()
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1" and "apiVersion" not in core
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"] and by_name["pods"]["namespaced"] is True
    assert by_name["pods"]["storageVersionHash"] == "xPOwRZ+Yhw8="  # what a real server reports for v1 Pod
    assert by_name["pods/log"] == {
        "name": "pods/log",
        "singularName": "",
        "namespaced": True,
        "kind": "Pod",
        "verbs": ["get"],
    }
    assert by_name["nodes"]["namespaced"] is False and "list" in by_name["nodes"]["verbs"]
    groups = call(srv, "/apis").json()
    assert groups["kind"] == "APIGroupList" and groups["apiVersion"] == "v1"
    names = [g["name"] for g in groups["groups"]]
    assert names.index("apps") < names.index("batch") < names.index("dynatrace.com")
    dt = next(g for g in groups["groups"] if g["name"] == "dynatrace.com")
    assert dt["preferredVersion"] == {"groupVersion": "dynatrace.com/v1beta2", "version": "v1beta2"}
    crd = call(srv, "/apis/dynatrace.com/v1beta2").json()
    assert crd["apiVersion"] == "v1" and crd["groupVersion"] == "dynatrace.com/v1beta2"
    dk = next(r for r in crd["resources"] if r["name"] == "dynakubes")
    assert dk["kind"] == "DynaKube" and dk["namespaced"] is True and "dk" in dk["shortNames"]
    apps = call(srv, "/apis/apps/v1").json()
    assert {"deployments", "deployments/scale", "replicasets", "daemonsets", "statefulsets"} <= {
        r["name"] for r in apps["resources"]
    }
    version = call(srv, "/version").json()
    assert version["gitVersion"].startswith(f"v{version['major']}.{version['minor']}.")
    missing = call(srv, "/apis/nothere.example.com/v1")
    assert missing.status == 404 and missing.json()["message"] == "the server could not find the requested resource"


def test_discovery_includes_kinds_only_the_snapshot_knows() -> None:
    snap = Snapshot(SourceInfo("manifests", "t"))
    snap.add({"kind": "Widget", "apiVersion": "example.com/v1alpha1", "metadata": {"name": "w", "namespace": "x"}})
    snap.add({"kind": "Gadget", "apiVersion": "example.com/v1", "metadata": {"name": "g"}})
    with FakeApiServer(snap) as s:
        group = next(g for g in call(s, "/apis").json()["groups"] if g["name"] == "example.com")
        assert [v["version"] for v in group["versions"]] == ["v1", "v1alpha1"]  # GA preferred over alpha
        widget = call(s, "/apis/example.com/v1alpha1").json()["resources"][0]
        assert (widget["name"], widget["namespaced"]) == ("widgets", True)
        gadget = call(s, "/apis/example.com/v1").json()["resources"][0]
        assert (gadget["name"], gadget["namespaced"]) == ("gadgets", False)
        assert [i["metadata"]["name"] for i in call(s, "/apis/example.com/v1alpha1/widgets").json()["items"]] == ["w"]


# ----------------------------------------------------------------------------------------------- lists


def test_typed_list_items_have_no_type_meta_but_custom_resources_do(srv: FakeApiServer) -> None:
    pods = call(srv, "/api/v1/pods").json()
    assert (pods["kind"], pods["apiVersion"]) == ("PodList", "v1")
    assert pods["metadata"]["resourceVersion"].isdigit() and "continue" not in pods["metadata"]
    assert pods["items"] and all("kind" not in i and "apiVersion" not in i for i in pods["items"])
    assert all(i["metadata"]["resourceVersion"].isdigit() for i in pods["items"])
    dks = call(srv, "/apis/dynatrace.com/v1beta2/dynakubes").json()
    assert list(dks) == sorted(dks) and dks["metadata"]["continue"] == ""  # unstructured: sorted keys, continue ""
    assert all(i["kind"] == "DynaKube" and i["apiVersion"] == "dynatrace.com/v1beta2" for i in dks["items"])
    first = pods["items"][0]["metadata"]
    one = call(srv, f"/api/v1/namespaces/{first['namespace']}/pods/{first['name']}").json()
    assert list(one)[:2] == ["kind", "apiVersion"] and one["metadata"] == first


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 500])
def test_pagination_returns_every_item_exactly_once_in_key_order(limit: int) -> None:
    snap = synthetic()
    with FakeApiServer(snap) as s:
        whole = call(s, "/api/v1/pods").json()
        items, metas = list_all(s, "/api/v1/pods", limit)
        keys = [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items]
        assert keys == [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in whole["items"]]
        assert len(keys) == len(set(keys)) == 20
        assert keys == sorted(keys)  # etcd byte order: "a-b/…" < "a/…" < "ab/…"
        assert keys[:5] == [f"a-b/p{i}" for i in range(5)]
        assert all(len(m) and m["resourceVersion"] == metas[0]["resourceVersion"] for m in metas)
        remaining = [m.get("remainingItemCount") for m in metas[:-1]]
        assert remaining == [20 - limit * (n + 1) for n in range(len(metas) - 1)]
        assert "continue" not in metas[-1] and "remainingItemCount" not in metas[-1]
        ns_items, _ = list_all(s, "/api/v1/namespaces/a/pods", limit)
        assert [i["metadata"]["name"] for i in ns_items] == [f"p{i}" for i in range(5)]


def test_continue_tokens_look_like_the_api_servers() -> None:
    with FakeApiServer(synthetic()) as s:
        meta = call(s, "/api/v1/pods", {"limit": "2"}).json()["metadata"]
        token = meta["continue"]
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        assert decoded == {"v": "meta.k8s.io/v1", "rv": int(meta["resourceVersion"]), "start": "a-b/p1\x00"}
        bad = call(s, "/api/v1/pods", {"limit": "2", "continue": "not-a-token"})
        assert bad.status == 400 and bad.json()["message"].startswith("invalid continue token:")


@pytest.mark.parametrize(
    ("selector", "expect"),
    [
        ("tier=web", lambda lab: lab.get("tier") == "web"),
        ("tier==web", lambda lab: lab.get("tier") == "web"),
        ("tier!=web", lambda lab: lab.get("tier") != "web"),
        ("tier in (web, db)", lambda lab: lab.get("tier") in ("web", "db")),
        ("tier notin (web,db)", lambda lab: lab.get("tier") not in ("web", "db")),
        ("canary", lambda lab: "canary" in lab),
        ("!canary", lambda lab: "canary" not in lab),
        ("tier=db,idx!=1", lambda lab: lab.get("tier") == "db" and lab.get("idx") != "1"),
        ("idx>2", lambda lab: int(lab["idx"]) > 2),
        ("nosuch!=x", lambda lab: True),
        ("nosuch in (x)", lambda lab: False),
    ],
)
def test_label_selectors_match_like_the_api_server(selector: str, expect: Any) -> None:
    snap = synthetic()
    with FakeApiServer(snap) as s:
        for limit in (0, 2):
            items, _ = list_all(s, "/api/v1/pods", limit, labelSelector=selector)
            got = sorted((i["metadata"]["namespace"], i["metadata"]["name"]) for i in items)
            want = sorted(k for k, p in snap.objects["Pod"].items() if expect(p["metadata"]["labels"]))
            assert got == want


@pytest.mark.parametrize("selector", ["tier in (web", "=web", "tier=a b", "bad key!=1", "idx>x"])
def test_bad_label_selectors_are_400(selector: str) -> None:
    with FakeApiServer(synthetic()) as s:
        r = call(s, "/api/v1/pods", {"labelSelector": selector})
        assert r.status == 400 and r.json()["reason"] == "BadRequest"


def test_field_selectors(srv: FakeApiServer, example: Snapshot) -> None:
    pods = example.of_kind("Pod")
    node = pods[0]["spec"]["nodeName"]
    r = call(srv, "/api/v1/pods", {"fieldSelector": f"spec.nodeName={node},status.phase=Running"}).json()
    want = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods if p["spec"]["nodeName"] == node}
    assert {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in r["items"]} == want
    target = pods[0]["metadata"]
    ev = call(
        srv,
        f"/api/v1/namespaces/{target['namespace']}/events",
        {"fieldSelector": f"involvedObject.name={target['name']}"},
    )
    wanted = sorted(
        e["metadata"]["name"] for e in example.of_kind("Event") if e["involvedObject"].get("name") == target["name"]
    )
    assert wanted and sorted(i["metadata"]["name"] for i in ev.json()["items"]) == wanted
    neg = call(srv, "/api/v1/pods", {"fieldSelector": f"metadata.namespace!={target['namespace']}"}).json()
    assert neg["items"] and all(i["metadata"]["namespace"] != target["namespace"] for i in neg["items"])
    bad = call(srv, "/api/v1/pods", {"fieldSelector": "spec.nope=1"})
    assert bad.status == 400 and bad.json()["message"] == "field label not supported: spec.nope"
    bad_cr = call(srv, "/apis/dynatrace.com/v1beta2/dynakubes", {"fieldSelector": "spec.apiUrl=x"})
    assert bad_cr.status == 400 and "is not a known field selector" in bad_cr.json()["message"]


def test_resource_version_zero_is_served_whole() -> None:
    with FakeApiServer(synthetic()) as s:
        doc = call(s, "/api/v1/pods", {"limit": "3", "resourceVersion": "0"}).json()
        assert len(doc["items"]) == 20 and "continue" not in doc["metadata"]


def test_events_are_also_served_as_events_k8s_io(srv: FakeApiServer, example: Snapshot) -> None:
    doc = call(srv, "/apis/events.k8s.io/v1/events").json()
    assert doc["kind"] == "EventList" and len(doc["items"]) == len(example.of_kind("Event"))
    first = doc["items"][0]
    assert "regarding" in first and "note" in first and "involvedObject" not in first


# ----------------------------------------------------------------------------------------------- faults


def test_forbidden_is_rbacs_status(example: Snapshot) -> None:
    with FakeApiServer(example, faults=Faults(forbidden={"pods/log", "mutatingwebhookconfigurations"})) as s:
        hooks = call(s, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations")
        assert hooks.status == 403
        assert hooks.json() == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "mutatingwebhookconfigurations.admissionregistration.k8s.io is forbidden: User "
            '"system:anonymous" cannot list resource "mutatingwebhookconfigurations" in API group '
            '"admissionregistration.k8s.io" at the cluster scope',
            "reason": "Forbidden",
            "details": {"group": "admissionregistration.k8s.io", "kind": "mutatingwebhookconfigurations"},
            "code": 403,
        }
        key = next(iter(example.logs))
        log = call(s, f"/api/v1/namespaces/{key.namespace}/pods/{key.pod}/log", {"container": key.container})
        assert log.status == 403
        assert log.json()["message"] == (
            f'pods "{key.pod}" is forbidden: User "system:anonymous" cannot get resource "pods/log" in API group "" '
            f'in the namespace "{key.namespace}"'
        )
        assert call(s, f"/api/v1/namespaces/{key.namespace}/pods/{key.pod}").status == 200  # pods itself is allowed


def test_throttle_answers_429_with_retry_after_then_recovers(example: Snapshot) -> None:
    faults = Faults(throttle={"pods": 2}, retry_after=0.2)
    with FakeApiServer(example, faults=faults) as s:
        first, second, third = (call(s, "/api/v1/pods") for _ in range(3))
        assert (first.status, second.status, third.status) == (429, 429, 200)
        assert first.headers["retry-after"] == "1"  # whole seconds, rounded up
        assert first.headers["content-type"] == "text/plain; charset=utf-8"
        assert first.body == b"Too many requests, please try again later.\n"
        assert faults.throttle == {"pods": 0}
        assert call(s, "/api/v1/nodes").status == 200
    with FakeApiServer(example, faults=Faults(throttle={"*": 1}, throttle_status=True, retry_after=3)) as s:
        doc = call(s, "/api").json()
        assert (doc["reason"], doc["code"], doc["details"]) == ("TooManyRequests", 429, {"retryAfterSeconds": 3})


def test_internal_errors_then_recovery(example: Snapshot) -> None:
    with FakeApiServer(example, faults=Faults(errors_500={"deployments.apps": 1})) as s:
        bad = call(s, "/apis/apps/v1/deployments")
        assert bad.status == 500
        assert bad.json()["reason"] == "InternalError" and bad.json()["message"].startswith("Internal error occurred: ")
        assert call(s, "/apis/apps/v1/deployments").status == 200


def test_expired_continue_is_410_with_the_servers_message_and_a_restart_works() -> None:
    with FakeApiServer(synthetic(), faults=Faults(expire_continue={"pods"})) as s:
        token = call(s, "/api/v1/pods", {"limit": "5"}).json()["metadata"]["continue"]
        gone = call(s, "/api/v1/pods", {"limit": "5", "continue": token})
        assert gone.status == 410
        doc = gone.json()
        assert (doc["reason"], doc["code"], doc["message"]) == ("Expired", 410, INCONSISTENT_CONTINUE)
        inconsistent = doc["metadata"]["continue"]
        rest = call(s, "/api/v1/pods", {"limit": "100", "continue": inconsistent}).json()
        assert len(rest["items"]) == 15  # the rv=-1 token carries on from where the expired one stopped
        items, _ = list_all(s, "/api/v1/pods", 5)
        assert len(items) == 20  # only the first continue expires


def test_delay_and_refused_connections(example: Snapshot) -> None:
    with FakeApiServer(example, faults=Faults(delays={"nodes": 0.3})) as s:
        t0 = time.monotonic()
        assert call(s, "/api/v1/nodes").status == 200
        assert time.monotonic() - t0 >= 0.3
        t0 = time.monotonic()
        assert call(s, "/api/v1/namespaces").status == 200
        assert time.monotonic() - t0 < 0.3
    with FakeApiServer(example, faults=Faults(fail_all=True)) as s, pytest.raises(ConnectionRefusedError):
        call(s, "/api")
    faults = Faults()
    with FakeApiServer(example, faults=faults) as s:
        faults.fail_all = True  # later: connections are dropped without an answer
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            call(s, "/api")
        assert s.requests[-1].status == 0


def test_token_is_required_when_set(example: Snapshot) -> None:
    with FakeApiServer(example, token="s3cret") as s:
        denied = call(s, "/api/v1/pods")
        assert denied.status == 401 and denied.json()["reason"] == "Unauthorized"
        assert call(s, "/api/v1/pods", headers={"Authorization": "Bearer s3cret"}).status == 200
        forbidden_user = FakeApiServer(example, token="t", faults=Faults(forbidden={"pods"}))
        with forbidden_user:
            msg = call(forbidden_user, "/api/v1/pods", headers={"Authorization": "Bearer t"}).json()["message"]
            assert 'User "system:serviceaccount:podmortem:podmortem" cannot list resource "pods"' in msg


def test_every_request_is_recorded(srv: FakeApiServer) -> None:
    r = call(srv, "/api/v1/namespaces/build-agents/pods", {"limit": "1", "labelSelector": "app"})
    call(srv, "/api/v1/namespaces/build-agents/pods/none")
    first, second = srv.requests[-2:]
    assert first == RequestRecord(
        "GET",
        "/api/v1/namespaces/build-agents/pods",
        {"limit": "1", "labelSelector": "app"},
        200,
        len(r.body),
        "list",
        "pods",
        "build-agents",
        "application/json",
        "",
        first.user_agent,
    )
    assert (second.status, second.verb, second.resource) == (404, "get", "pods")
    assert srv.calls(verb="list", resource="pods") == [first]


def test_faults_are_thread_safe(example: Snapshot) -> None:
    faults = Faults(throttle={"pods": 7}, errors_500={"nodes": 5})
    statuses: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()
    with FakeApiServer(example, faults=faults) as s:

        def worker() -> None:
            for _ in range(6):
                for path in ("/api/v1/pods", "/api/v1/nodes"):
                    st = call(s, path).status
                    with lock:
                        statuses[(path, st)] += 1

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses[("/api/v1/pods", 429)] == 7 and statuses[("/api/v1/nodes", 500)] == 5
        assert statuses[("/api/v1/pods", 200)] == 41 and statuses[("/api/v1/nodes", 200)] == 43
        assert len(s.requests) == 96


# ----------------------------------------------------------------------------------------------- logs


def test_logs(srv: FakeApiServer, example: Snapshot) -> None:
    prev = next(k for k in example.logs if k.previous)
    base = f"/api/v1/namespaces/{prev.namespace}/pods/{prev.pod}/log"
    text = example.logs[prev]
    r = call(srv, base, {"container": prev.container, "previous": "true"})
    assert r.status == 200 and r.headers["content-type"] == "text/plain" and r.body.decode() == text
    lines = text.splitlines(keepends=True)
    tail = call(srv, base, {"container": prev.container, "previous": "true", "tailLines": "2"}).body.decode()
    assert tail == "".join(lines[-2:])
    assert call(srv, base, {"container": prev.container, "previous": "true", "tailLines": "0"}).body == b""
    limited = call(srv, base, {"container": prev.container, "previous": "true", "limitBytes": "10"}).body
    assert limited == text.encode()[:10]
    both = call(srv, base, {"container": prev.container, "previous": "true", "tailLines": "3", "limitBytes": "5"})
    assert both.body == "".join(lines[-3:]).encode()[:5]
    current = call(srv, base, {"container": prev.container}).body.decode()
    assert current == example.logs[LogKey(prev.namespace, prev.pod, prev.container)]


def test_log_errors_are_the_kubelets_and_api_servers(srv: FakeApiServer, example: Snapshot) -> None:
    pods = example.objects["Pod"]
    # a container that never restarted has no previous log
    ns, name = next(k for k, p in pods.items() if p["spec"].get("initContainers") and len(p["spec"]["containers"]) == 1)
    init = pods[(ns, name)]["spec"]["initContainers"][0]["name"]
    r = call(srv, f"/api/v1/namespaces/{ns}/pods/{name}/log", {"container": init, "previous": "true"})
    assert r.status == 400
    assert r.json()["message"] == f'previous terminated container "{init}" in pod "{name}" not found'
    assert r.json()["reason"] == "BadRequest"
    r = call(srv, f"/api/v1/namespaces/{ns}/pods/{name}/log", {"container": "nope"})
    assert r.status == 400 and r.json()["message"] == f"container nope is not valid for pod {name}"
    # more than one container and none named
    mns, mname = next(k for k, p in pods.items() if len(p["spec"]["containers"]) > 1)
    spec = pods[(mns, mname)]["spec"]
    r = call(srv, f"/api/v1/namespaces/{mns}/pods/{mname}/log")
    names = " ".join(c["name"] for c in spec["containers"])
    inits = " ".join(c["name"] for c in spec.get("initContainers", []))
    assert r.json()["message"] == (
        f"a container name must be specified for pod {mname}, choose one of: [{names}]"
        + (f" or one of the init containers: [{inits}]" if inits else "")
    )
    r = call(srv, f"/api/v1/namespaces/{ns}/pods/missing/log")
    assert r.status == 404 and r.json()["message"] == 'pods "missing" not found'
    r = call(srv, f"/api/v1/namespaces/{ns}/pods/{name}/log", {"container": init, "tailLines": "-1"})
    assert r.status == 422


def test_log_of_a_waiting_container_without_one() -> None:
    snap = Snapshot(SourceInfo("manifests", "t"))
    p = pod("ns", "p")
    p["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    snap.add(p)
    q = pod("ns", "q", node="")
    snap.add(q)
    with FakeApiServer(snap) as s:
        r = call(s, "/api/v1/namespaces/ns/pods/p/log")
        assert r.status == 400
        assert r.json()["message"] == 'container "app" in pod "p" is waiting to start: trying and failing to pull image'
        unscheduled = call(s, "/api/v1/namespaces/ns/pods/q/log")
        assert (unscheduled.status, unscheduled.body) == (200, b"")


# ----------------------------------------------------------------------------------------------- writes


def test_patch_merge_strategic_json_and_dry_run(srv: FakeApiServer) -> None:
    path = "/apis/apps/v1/namespaces/build-agents/deployments/azure-devops-agent"
    before = call(srv, path).json()
    template = before["spec"]["template"]
    container = template["spec"]["containers"][0]["name"]
    merge = json.dumps(
        {"spec": {"template": {"metadata": {"annotations": {"oneagent.dynatrace.com/inject": "false"}}}}}
    )
    dry = call(
        srv,
        path,
        {"dryRun": "All"},
        method="PATCH",
        body=merge.encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert dry.status == 200
    assert dry.json()["spec"]["template"]["metadata"]["annotations"]["oneagent.dynatrace.com/inject"] == "false"
    assert dry.json()["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert call(srv, path).json() == before  # dry run stored nothing
    smp = {"spec": {"template": {"spec": {"containers": [{"name": container, "env": [{"name": "X", "value": "1"}]}]}}}}
    r = call(
        srv,
        path,
        method="PATCH",
        body=json.dumps(smp).encode(),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    after = r.json()
    assert r.status == 200 and int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    merged = after["spec"]["template"]["spec"]["containers"][0]
    assert merged["image"] == template["spec"]["containers"][0]["image"]  # merged by name, not replaced
    assert {"name": "X", "value": "1"} in merged["env"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert srv.object("deployments", "build-agents", "azure-devops-agent", group="apps") == after
    ops = [{"op": "add", "path": "/metadata/labels/patched", "value": "yes"}]
    jp = call(
        srv,
        path,
        method="PATCH",
        body=json.dumps(ops).encode(),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert jp.json()["metadata"]["labels"]["patched"] == "yes"
    stale = json.dumps({"metadata": {"resourceVersion": before["metadata"]["resourceVersion"], "labels": {"x": "y"}}})
    conflict = call(
        srv, path, method="PATCH", body=stale.encode(), headers={"Content-Type": "application/merge-patch+json"}
    )
    assert conflict.status == 409 and conflict.json()["reason"] == "Conflict"
    assert conflict.json()["message"].startswith(
        'Operation cannot be fulfilled on deployments.apps "azure-devops-agent"'
    )
    cr = call(
        srv,
        "/apis/dynatrace.com/v1beta2/namespaces/dynatrace/dynakubes/dynakube",
        method="PATCH",
        body=b"{}",
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert cr.status == 415


def test_self_subject_access_review_follows_forbidden_faults(example: Snapshot) -> None:
    with FakeApiServer(example, faults=Faults(forbidden={"pods/log"})) as s:

        def review(resource: str, sub: str = "") -> bool:
            body = {"spec": {"resourceAttributes": {"verb": "get", "resource": resource, "subresource": sub}}}
            r = call(
                s,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                method="POST",
                body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            assert r.status == 201
            return bool(r.json()["status"]["allowed"])

        assert review("pods") is True and review("pods", "log") is False


# ----------------------------------------------------------------------------------------------- TLS, speed


def test_tls_with_a_throwaway_ca(example: Snapshot, tmp_path: Path) -> None:
    with FakeApiServer(example, tls=True, token="tok") as s:
        assert s.url.startswith("https://127.0.0.1:") and s.ca_pem is not None
        r = call(s, "/api/v1/namespaces", headers={"Authorization": "Bearer tok"})
        assert r.status == 200 and r.json()["kind"] == "NamespaceList"
        kc = s.kubeconfig(tmp_path)
        text = kc.read_text()
        assert "certificate-authority-data" in text and "token: tok" in text and s.url in text
        with pytest.raises(ssl.SSLError):
            plain = ssl.create_default_context()  # the system CAs do not know the throwaway CA
            host, port = urlsplit(s.url).hostname or "", urlsplit(s.url).port
            with (
                socket.create_connection((host, port), timeout=5) as sock,
                plain.wrap_socket(sock, server_hostname=host),
            ):
                pass


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Cyclic GC off: with 10,000 pods on the heap, the client's json.loads would otherwise dominate."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_ten_thousand_pods_page_quickly(example: Snapshot, no_gc: None) -> None:
    template = json.dumps(min(example.of_kind("Pod"), key=lambda p: len(json.dumps(p))))
    snap = Snapshot(SourceInfo("manifests", "bench"))
    for i in range(10_000):
        p = json.loads(template)
        p["metadata"].update(name=f"pod-{i:05d}", namespace=f"ns-{i % 40:02d}", uid=f"uid-{i}")
        snap.add(p)
    spent: list[float] = []  # seconds waiting for the server, per full paginated LIST
    passes: list[list[str]] = []
    with FakeApiServer(snap) as s:
        for _ in range(2):
            token, uids, waited = "", [], 0.0
            while True:
                t0 = time.perf_counter()
                r = call(s, "/api/v1/pods", {"limit": "500", **({"continue": token} if token else {})})
                waited += time.perf_counter() - t0
                doc = r.json()
                uids += [i["metadata"]["uid"] for i in doc["items"]]
                token = doc["metadata"].get("continue", "")
                if not token:
                    break
            spent.append(waited)
            passes.append(uids)
    assert len(passes[0]) == len(set(passes[0])) == 10_000 and passes[1] == passes[0]
    # the first pass encodes every pod once; the second only joins cached bytes
    assert spent[0] < 3 and spent[1] < 1, spent


# ----------------------------------------------------------------------------------------------- kubectl


def kubectl(
    server: FakeApiServer, tmp_path: Path, *args: str, namespace: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run kubectl against the fake server with its own HOME and cache, so nothing leaks between tests."""
    assert KUBECTL is not None
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    kc = server.kubeconfig(tmp_path / "kubeconfig", namespace=namespace)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update(HOME=str(home), KUBECACHEDIR=str(home / "cache"), KUBECONFIG=str(kc))
    cmd = [KUBECTL, "--kubeconfig", str(kc), "--request-timeout=5s", "--cache-dir", str(home / "cache"), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=20, check=False)


@needs_kubectl
def test_kubectl_chunked_list_equals_the_served_pods(srv: FakeApiServer, tmp_path: Path) -> None:
    out = kubectl(srv, tmp_path, "get", "pods", "-A", "-o", "json", "--chunk-size", "2")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)["items"]
    assert got == srv.served("pods")
    pages = [r for r in srv.calls(verb="list", resource="pods") if r.query.get("limit") == "2"]
    assert len(pages) == -(-len(got) // 2)
    assert all(r.status == 200 for r in pages)


@needs_kubectl
def test_kubectl_label_and_field_selectors(srv: FakeApiServer, example: Snapshot, tmp_path: Path) -> None:
    pods = example.of_kind("Pod")
    labelled = next(p for p in pods if "app" in p["metadata"].get("labels", {}))
    ns, app = labelled["metadata"]["namespace"], labelled["metadata"]["labels"]["app"]
    out = kubectl(srv, tmp_path, "get", "pods", "-n", ns, "-l", f"app={app}", "-o", "name")
    assert out.returncode == 0, out.stderr
    want = sorted(
        f"pod/{p['metadata']['name']}"
        for p in pods
        if p["metadata"]["namespace"] == ns and p["metadata"].get("labels", {}).get("app") == app
    )
    assert sorted(out.stdout.split()) == want
    name = labelled["metadata"]["name"]
    ev = kubectl(
        srv, tmp_path, "get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "name", namespace=ns
    )
    assert ev.returncode == 0, ev.stderr
    wanted = sorted(
        f"event/{e['metadata']['name']}" for e in example.of_kind("Event") if e["involvedObject"].get("name") == name
    )
    assert wanted and sorted(ev.stdout.split()) == wanted
    assert any(r.query.get("fieldSelector") == f"involvedObject.name={name}" for r in srv.calls(resource="events"))


@needs_kubectl
def test_kubectl_logs_previous(srv: FakeApiServer, example: Snapshot, tmp_path: Path) -> None:
    key = next(k for k in example.logs if k.previous)
    out = kubectl(srv, tmp_path, "logs", "--previous", "-c", key.container, key.pod, "-n", key.namespace)
    assert out.returncode == 0, out.stderr
    assert out.stdout == example.logs[key]
    log_calls = srv.calls(resource="pods/log")
    assert log_calls and {"container": key.container, "previous": "true"}.items() <= log_calls[-1].query.items()


@needs_kubectl
def test_kubectl_finds_custom_resources_through_discovery(
    srv: FakeApiServer, example: Snapshot, tmp_path: Path
) -> None:
    out = kubectl(srv, tmp_path, "get", "dynakubes", "-A", "-o", "json")
    assert out.returncode == 0, out.stderr
    got = sorted(i["metadata"]["name"] for i in json.loads(out.stdout)["items"])
    assert got == sorted(d["metadata"]["name"] for d in example.of_kind("DynaKube"))
    short = kubectl(srv, tmp_path, "get", "dk", "-A", "-o", "name")
    assert short.returncode == 0 and short.stdout.split() == [f"dynakube.dynatrace.com/{n}" for n in got]
    assert any(r.path == "/apis/dynatrace.com/v1beta2" for r in srv.requests)


@needs_kubectl
def test_kubectl_prints_forbidden_and_fails(example: Snapshot, tmp_path: Path) -> None:
    with FakeApiServer(example, faults=Faults(forbidden={"pods"})) as s:
        out = kubectl(s, tmp_path, "get", "pods", namespace="build-agents")
    assert out.returncode != 0
    assert (
        'Error from server (Forbidden): pods is forbidden: User "system:anonymous" cannot list resource "pods" in API '
        'group "" in the namespace "build-agents"'
    ) in out.stderr


@needs_kubectl
def test_kubectl_retries_a_429(example: Snapshot, tmp_path: Path) -> None:
    faults = Faults(throttle={"list:pods": 1}, retry_after=1)
    with FakeApiServer(example, faults=faults) as s:
        out = kubectl(s, tmp_path, "get", "pods", "-A", "-o", "name")
        statuses = [r.status for r in s.calls(verb="list", resource="pods")]
    assert out.returncode == 0, out.stderr
    assert statuses == [429, 200] and len(out.stdout.split()) == len(example.of_kind("Pod"))


@needs_kubectl
def test_kubectl_over_tls_with_a_token(example: Snapshot, tmp_path: Path) -> None:
    with FakeApiServer(example, tls=True, token="t0ken") as s:
        out = kubectl(s, tmp_path, "get", "namespaces", "-o", "name")
        assert out.returncode == 0, out.stderr
        assert sorted(out.stdout.split()) == sorted(
            f"namespace/{n['metadata']['name']}" for n in example.of_kind("Namespace")
        )
        assert all(r.status != 401 for r in s.requests)
