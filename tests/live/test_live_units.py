"""The live source's choices: which kinds, which logs, in what order (podmortem.sources.live), and a small run
against the scripted server: discovery of injector CRDs, namespace scope, selector, 403s and the log budget."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from scripted import Reply, ScriptedServer, Seen, config, status

from podmortem.model.snapshot import LogKey
from podmortem.sources.http import ApiClient, ApiError, ClusterUnreachable
from podmortem.sources.live import DEFAULT_KINDS, KindSpec, _fair_order, _log_jobs, kind_specs, load_live


def container_status(name: str, state: dict[str, Any], *, restarts: int = 0, last: dict[str, Any] | None = None) -> Any:
    cs: dict[str, Any] = {
        "name": name,
        "state": state,
        "lastState": {"terminated": last} if last else {},
        "ready": "running" in state,
        "restartCount": restarts,
        "image": f"example.azurecr.io/{name}:1.0",
        "imageID": "",
        "started": "running" in state,
    }
    return cs


CRASHED = {
    "exitCode": 134,
    "reason": "Error",
    "startedAt": "2024-05-02T09:14:01Z",
    "finishedAt": "2024-05-02T09:14:03Z",
}


def pod(name: str, statuses: list[Any], *, owner: str | None = "agent-6d9f7c8b45", ns: str = "build-agents") -> Any:
    md: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}"}
    if owner:
        md["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": "rs", "controller": True}
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": md,
        "spec": {"containers": [{"name": cs["name"], "image": cs["image"]} for cs in statuses]},
        "status": {"phase": "Running", "containerStatuses": statuses},
    }


def crashlooping(name: str, **kw: Any) -> Any:
    waiting = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}
    return pod(name, [container_status("azp-agent", waiting, restarts=7, last=CRASHED)], **kw)


# ------------------------------------------------------------------------------------------------ kinds


def test_kind_specs_by_kind_plural_or_group_and_never_secrets() -> None:
    warnings: list[str] = []
    specs = kind_specs(
        ["Pod", "deployments", "Instrumentation", "dynakubes.dynatrace.com", "Secret", "Widget"], warnings.append
    )
    assert [(s.kind, s.group) for s in specs] == [
        ("Pod", ""),
        ("Deployment", "apps"),
        ("Instrumentation", "opentelemetry.io"),
        ("Instrumentation", "newrelic.com"),
        ("DynaKube", "dynatrace.com"),
    ]
    assert warnings == ["Secrets are never read", "unknown kind 'Widget': not read"]
    assert not any(s.kind == "Secret" for s in DEFAULT_KINDS)


def test_kind_spec_paths() -> None:
    pods = KindSpec("Pod", "", "v1", "pods", True)
    nodes = KindSpec("Node", "", "v1", "nodes", False)
    dk = KindSpec("DynaKube", "dynatrace.com", "v1beta2", "dynakubes", True)
    assert pods.path() == "/api/v1/pods"
    assert pods.path("build-agents") == "/api/v1/namespaces/build-agents/pods"
    assert nodes.path("build-agents") == "/api/v1/nodes"
    assert dk.path("dynatrace", "dynakube") == "/apis/dynatrace.com/v1beta2/namespaces/dynatrace/dynakubes/dynakube"
    assert (dk.api_version, dk.label) == ("dynatrace.com/v1beta2", "dynakubes.dynatrace.com")


# ------------------------------------------------------------------------------------------------ which logs


def test_log_jobs_follow_what_the_kubelet_can_return() -> None:
    pull = pod("pull", [container_status("app", {"waiting": {"reason": "ImagePullBackOff", "message": "x"}})])
    flapping = pod(
        "flap",
        [container_status("app", {"running": {"startedAt": "2024-05-02T09:20:00Z"}}, restarts=4, last=CRASHED)],
    )
    dead = pod("dead", [container_status("app", {"terminated": {**CRASHED, "exitCode": 1}})], owner=None)
    healthy = pod("ok", [container_status("app", {"running": {"startedAt": "2024-05-02T09:20:00Z"}})])
    jobs = [j for group in _log_jobs([pull, crashlooping("crash"), flapping, dead, healthy]) for j in group]
    got = {(j.pod, j.container): (j.current, j.previous, j.same) for j in jobs}
    assert got == {
        ("crash", "azp-agent"): (False, True, True),  # waiting: current == previous, read once
        ("flap", "app"): (True, True, False),
        ("dead", "app"): (True, False, False),
    }


def test_fair_order_spreads_a_cap_over_workloads() -> None:
    pods = [crashlooping(f"a-{i}", owner="rs-a") for i in range(3)] + [crashlooping("b-0", owner="rs-b")]
    order = [j.pod for j in _fair_order(_log_jobs(pods))]
    assert order == ["a-0", "b-0", "a-1", "a-2"]


# ------------------------------------------------------------------------------------------------ load_live


API_GROUPS = {
    "kind": "APIGroupList",
    "apiVersion": "v1",
    "groups": [
        {
            "name": n,
            "versions": [{"groupVersion": f"{n}/{v}", "version": v} for v in vs],
            "preferredVersion": {"groupVersion": f"{n}/{vs[0]}", "version": vs[0]},
        }
        for n, vs in (
            ("apps", ["v1"]),
            ("batch", ["v1"]),
            ("admissionregistration.k8s.io", ["v1"]),
            ("storage.k8s.io", ["v1"]),
            ("opentelemetry.io", ["v1beta1", "v1alpha1"]),
        )
    ],
}


def resource_list(gv: str, *entries: tuple[str, str, bool]) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": [
            {"name": n, "singularName": "", "namespaced": ns, "kind": k, "verbs": ["get", "list"]}
            for n, k, ns in entries
        ],
    }


def empty_list(kind: str, api: str) -> dict[str, Any]:
    return {"kind": f"{kind}List", "apiVersion": api, "metadata": {"resourceVersion": "1"}, "items": []}


class Cluster:
    """Answers discovery, lists and logs for a handful of objects."""

    def __init__(self) -> None:
        self.pods = [crashlooping("agent-1"), crashlooping("agent-2")]
        self.forbidden: set[str] = set()

    def __call__(self, seen: Seen) -> Reply:
        p = seen.path
        parts = p.strip("/").split("/")
        if p == "/api":
            return Reply(200, {"kind": "APIVersions", "versions": ["v1"]})
        if p == "/apis":
            return Reply(200, API_GROUPS)
        if p == "/apis/opentelemetry.io/v1beta1":
            return Reply(
                200,
                resource_list("opentelemetry.io/v1beta1", ("opentelemetrycollectors", "OpenTelemetryCollector", True)),
            )
        if p == "/apis/opentelemetry.io/v1alpha1":
            return Reply(
                200,
                resource_list(
                    "opentelemetry.io/v1alpha1",
                    ("instrumentations", "Instrumentation", True),
                    ("opentelemetrycollectors", "OpenTelemetryCollector", True),
                ),
            )
        if p.endswith("/log"):
            if "pods/log" in self.forbidden:
                return Reply(
                    403, status(403, "Forbidden", f'pods "{parts[-2]}" is forbidden: cannot get resource "pods/log"')
                )
            which = "previous" if seen.query.get("previous") == "true" else "current"
            return Reply(200, f"{which} log of {parts[-2]}/{seen.query['container']}\n")
        resource = parts[-1]
        if resource in self.forbidden:
            return Reply(
                403, status(403, "Forbidden", f'{resource} is forbidden: User "ci" cannot list resource "{resource}"')
            )
        if resource == "pods":
            return Reply(
                200,
                {
                    "kind": "PodList",
                    "apiVersion": "v1",
                    "metadata": {},
                    "items": [{k: v for k, v in q.items() if k not in ("kind", "apiVersion")} for q in self.pods],
                },
            )
        if len(parts) >= 2 and parts[-2] == "namespaces" and parts[0] == "api":
            return Reply(
                200, {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": parts[-1], "uid": "ns-uid"}}
            )
        api = "/".join(parts[1:3]) if parts[0] == "apis" else "v1"
        return Reply(200, empty_list(resource.capitalize(), api))


@pytest.fixture
def cluster() -> Iterator[tuple[ScriptedServer, Cluster]]:
    state = Cluster()
    with ScriptedServer() as srv:
        srv.fallback = state
        yield srv, state


def test_load_live_reads_kinds_discovers_crds_and_reads_previous_logs(cluster: tuple[ScriptedServer, Cluster]) -> None:
    srv, _ = cluster
    progress: list[str] = []
    cfg = config(srv.url(), context="aks-build")
    with ApiClient(cfg, backoff=0.01, max_workers=4) as client:
        snap = load_live(client, cfg, progress=progress.append)
    paths = [s.path for s in srv.seen]
    assert paths.count("/api") == 1 and paths.count("/apis") == 1
    assert "/apis/opentelemetry.io/v1alpha1/instrumentations" in paths  # found in the group's second version
    assert "/apis/opentelemetry.io/v1beta1/opentelemetrycollectors" in paths
    assert not any("dynatrace.com" in p or "secrets" in p for p in paths)  # absent group: not asked for
    lists = [s for s in srv.seen if s.query.get("limit") == "500"]
    assert len(lists) == len({s.path for s in lists}) == 12 + 2  # one LIST per kind served
    logs = [s for s in srv.seen if s.path.endswith("/log")]
    assert sorted((s.path, s.query.get("previous")) for s in logs) == [
        ("/api/v1/namespaces/build-agents/pods/agent-1/log", "true"),
        ("/api/v1/namespaces/build-agents/pods/agent-2/log", "true"),
    ]
    assert logs[0].query["tailLines"] == "2000" and logs[0].query["limitBytes"] == "1048576"
    assert snap.log("build-agents", "agent-1", "azp-agent", previous=True) == "previous log of agent-1/azp-agent\n"
    assert snap.log("build-agents", "agent-1", "azp-agent") == "previous log of agent-1/azp-agent\n"
    assert [p["kind"] for p in snap.of_kind("Pod")] == ["Pod", "Pod"]
    assert snap.source.type == "live" and snap.source.name == f"aks-build ({srv.url()})"
    api = snap.stats["api"]
    assert api["calls"] == len(srv.seen) and set(api["seconds"]) == {"discovery", "list", "logs"}
    assert snap.warnings == []
    assert progress and progress[0] == "discovering API resources"


def test_namespace_scope_selector_and_forbidden_kinds(cluster: tuple[ScriptedServer, Cluster]) -> None:
    srv, state = cluster
    state.forbidden = {"nodes", "mutatingwebhookconfigurations", "pods/log"}
    cfg = config(srv.url(), context="ci")
    warned: list[str] = []
    with ApiClient(cfg, backoff=0.01) as client:
        snap = load_live(client, cfg, namespace="build-agents", selector="app=azp-agent", warn=warned.append)
    paths = {s.path: s.query for s in srv.seen}
    assert paths["/api/v1/namespaces/build-agents/pods"]["labelSelector"] == "app=azp-agent"
    assert "labelSelector" not in paths["/api/v1/namespaces/build-agents/events"]
    assert "/api/v1/namespaces/build-agents" in paths  # a GET of the one namespace, not a LIST of all
    assert "/api/v1/namespaces" not in paths
    assert snap.get("Namespace", "", "build-agents") is not None
    assert snap.warnings == warned
    assert snap.warnings[:2] == [
        'cannot list nodes: forbidden (nodes is forbidden: User "ci" cannot list resource "nodes")',
        "cannot list mutatingwebhookconfigurations.admissionregistration.k8s.io: forbidden "
        '(mutatingwebhookconfigurations is forbidden: User "ci" cannot list resource "mutatingwebhookconfigurations")',
    ]
    assert snap.warnings[2:] == ["cannot read pod logs: forbidden (the user may not get pods/log)"]  # once, not per pod
    assert len(snap.of_kind("Pod")) == 2 and snap.logs == {}


def test_log_cap_is_a_warning(cluster: tuple[ScriptedServer, Cluster]) -> None:
    srv, state = cluster
    state.pods = [crashlooping(f"agent-{i}") for i in range(5)]
    cfg = config(srv.url())
    with ApiClient(cfg, backoff=0.01) as client:
        snap = load_live(client, cfg, kinds=["Pod"], max_log_containers=3)
    assert len([s for s in srv.seen if s.path.endswith("/log")]) == 3
    assert snap.warnings == ["logs read for 3 of 5 failing containers (raise the limit with --max-log-containers)"]
    assert len({k for k in snap.logs if k.previous}) == 3
    assert LogKey("build-agents", "agent-0", "azp-agent", True) in snap.logs


def test_everything_forbidden_is_an_error(cluster: tuple[ScriptedServer, Cluster]) -> None:
    srv, state = cluster
    state.forbidden = {"pods", "events"}
    cfg = config(srv.url())
    with ApiClient(cfg, backoff=0.01) as client, pytest.raises(ApiError) as err:
        load_live(client, cfg, kinds=["Pod", "Event"], injectors=False)
    assert err.value.status == 403 and "every kind is forbidden" in str(err.value)


def test_unauthorized_is_an_error() -> None:
    with ScriptedServer() as srv:
        srv.fallback = lambda seen: Reply(401, status(401, "Unauthorized", "Unauthorized"))
        cfg = config(srv.url())
        with ApiClient(cfg, backoff=0.01) as client, pytest.raises(ApiError) as err:
            load_live(client, cfg)
    assert err.value.status == 401
    assert len(srv.seen) == 1


def test_unreachable_cluster() -> None:
    cfg = config("http://127.0.0.1:9", context="gone")
    with ApiClient(cfg, backoff=0.01) as client, pytest.raises(ClusterUnreachable) as err:
        load_live(client, cfg)
    assert str(err.value).startswith("cannot reach cluster 'gone' at http://127.0.0.1:9: ")
