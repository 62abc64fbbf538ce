"""Contract tests of the live source against the fake API server serving the AKS / Dynatrace example bundle:
kubeconfig → ApiClient → load_live must give back the bundle's objects and logs, within the API budget, and
degrade (not fail) on 403s, retry 429/500 and restart a list whose continue token expired."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakeapi import FakeApiServer, Faults
from podmortem.model.health import pod_health
from podmortem.model.objects import name, namespace, uid
from podmortem.model.snapshot import Snapshot
from podmortem.sources import open_source
from podmortem.sources.http import ApiClient, ApiError, ClusterUnreachable
from podmortem.sources.kubeconfig import load_kubeconfig
from podmortem.sources.live import load_live

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aks-azure-pipelines-dynatrace"


@pytest.fixture(scope="module")
def example() -> Snapshot:
    return open_source(EXAMPLE)


def run(
    srv: FakeApiServer, tmp_path: Path, *, client_kw: dict[str, Any] | None = None, **kw: Any
) -> tuple[Snapshot, ApiClient]:
    """What `podmortem diagnose` does without SOURCE: kubeconfig, client, load_live."""
    cfg = load_kubeconfig([str(srv.kubeconfig(tmp_path))], context=None, environ={})
    opts = {"backoff": 0.01, "timeout": 5.0, "max_workers": 4, **(client_kw or {})}
    with ApiClient(cfg, **opts) as client:
        return load_live(client, cfg, **kw), client


def by_kind(snap: Snapshot, kinds: set[str] | None = None) -> dict[str, list[str]]:
    return {
        k: sorted(uid(o) for o in bucket.values())
        for k, bucket in snap.objects.items()
        if bucket and (kinds is None or k in kinds)
    }


def failing_containers(snap: Snapshot) -> list[tuple[str, str, str]]:
    return [(namespace(p), name(p), c.name) for p in snap.of_kind("Pod") for c in pod_health(p).failing_containers]


@pytest.fixture
def srv(example: Snapshot) -> Iterator[FakeApiServer]:
    with FakeApiServer(example) as server:
        yield server


def test_same_objects_come_back(srv: FakeApiServer, example: Snapshot, tmp_path: Path) -> None:
    snap, _ = run(srv, tmp_path)
    wanted = set(example.objects) - {"Service"}  # Services are not read by default
    assert by_kind(snap) == by_kind(example, wanted)
    assert {k: len(v) for k, v in snap.objects.items()} == {k: len(example.objects[k]) for k in wanted}
    for kind_ in wanted:  # every object exactly as in the bundle (kind/apiVersion filled in, bookkeeping slimmed)
        for key, obj in example.objects[kind_].items():
            assert snap.objects[kind_][key] == obj, (kind_, key)
    assert snap.warnings == []
    assert snap.source.type == "live" and snap.source.name == f"fake ({srv.url})"

    services, _ = run(srv, tmp_path, kinds=["Service"], injectors=False)
    assert by_kind(services) == by_kind(example, {"Service"})


def test_injector_resources_come_with_any_kinds(srv: FakeApiServer, example: Snapshot, tmp_path: Path) -> None:
    snap, _ = run(srv, tmp_path, kinds=["Pod"])
    assert by_kind(snap) == by_kind(example, {"Pod", "DynaKube"})
    assert [r.path for r in srv.calls(verb="list")] == ["/api/v1/pods", "/apis/dynatrace.com/v1beta2/dynakubes"]


def test_previous_logs_of_crash_looping_agents_and_api_budget(
    srv: FakeApiServer, example: Snapshot, tmp_path: Path
) -> None:
    snap, client = run(srv, tmp_path)
    failing = failing_containers(snap)
    assert [(p, c) for _, p, c in failing] == [
        ("azure-devops-agent-6d9f7c8b45-9d62c", "azp-agent"),
        ("azure-devops-agent-6d9f7c8b45-cvckk", "azp-agent"),
        ("azure-devops-agent-6d9f7c8b45-mkklc", "azp-agent"),
    ]
    for ns, pod, container in failing:
        prev = snap.log(ns, pod, container, previous=True)
        assert prev is not None and "System.InvalidProgramException" in prev
        assert prev == example.log(ns, pod, container, previous=True)
    reads = srv.calls(resource="pods/log")
    assert {(r.path.split("/")[-2], r.query.get("previous", "false")) for r in reads} == {
        ("azure-devops-agent-6d9f7c8b45-9d62c", "true"),  # waiting in CrashLoopBackOff: one read serves both
        ("azure-devops-agent-6d9f7c8b45-cvckk", "true"),
        ("azure-devops-agent-6d9f7c8b45-mkklc", "true"),  # running again after a crash: previous and current
        ("azure-devops-agent-6d9f7c8b45-mkklc", "false"),
    }
    assert snap.log("build-agents", "azure-devops-agent-6d9f7c8b45-mkklc", "azp-agent") == example.log(
        "build-agents", "azure-devops-agent-6d9f7c8b45-mkklc", "azp-agent"
    )
    assert all(r.query["tailLines"] == "2000" and r.query["limitBytes"] == "1048576" for r in reads)

    lists = srv.calls(verb="list")
    discovery = [r for r in srv.requests if r.resource == ""]
    assert {r.path for r in discovery} == {"/api", "/apis", "/apis/dynatrace.com/v1beta2"}
    kinds_listed = len({r.path for r in lists})
    assert len(lists) == kinds_listed  # one LIST per kind: nothing paginated at 500, nothing retried
    assert len(discovery) == 3  # /api, /apis, and the only injector group served (dynatrace.com)
    assert len(srv.requests) <= kinds_listed + len(discovery) + 2 * len(failing)
    assert snap.stats["api"]["calls"] == client.stats.calls == len(srv.requests)
    assert snap.stats["api"]["retries"] == 0 and snap.stats["api"]["bytes"] > 0
    assert not any("secrets" in r.path for r in srv.requests)


def test_forbidden_kind_and_logs_are_warnings(example: Snapshot, tmp_path: Path) -> None:
    faults = Faults(forbidden={"pods/log", "mutatingwebhookconfigurations"})
    with FakeApiServer(example, faults=faults) as srv:
        snap, _ = run(srv, tmp_path)
    assert "MutatingWebhookConfiguration" not in snap.objects
    assert len(snap.of_kind("Pod")) == len(example.of_kind("Pod"))
    assert snap.logs == {}
    assert len(snap.warnings) == 2
    assert snap.warnings[0].startswith(
        "cannot list mutatingwebhookconfigurations.admissionregistration.k8s.io: forbidden "
        "(mutatingwebhookconfigurations.admissionregistration.k8s.io is forbidden"
    )
    assert snap.warnings[1] == "cannot read pod logs: forbidden (the user may not get pods/log)"


def test_throttling_and_server_errors_are_retried(example: Snapshot, tmp_path: Path) -> None:
    faults = Faults(throttle={"pods": 1}, errors_500={"events": 2, "pods/log": 1}, retry_after=0.1)
    with FakeApiServer(example, faults=faults) as srv:
        snap, client = run(srv, tmp_path)
        statuses = [r.status for r in srv.requests]
    assert statuses.count(429) == 1 and statuses.count(500) == 3
    assert client.stats.retries == 4
    assert by_kind(snap) == by_kind(example, set(example.objects) - {"Service"})
    assert len([k for k in snap.logs if k.previous]) == 3
    assert snap.warnings == []


def test_expired_continue_restarts_the_list(example: Snapshot, tmp_path: Path) -> None:
    with FakeApiServer(example, faults=Faults(expire_continue={"pods"})) as srv:
        snap, _ = run(srv, tmp_path, kinds=["Pod"], page_size=6, injectors=False)
        pod_lists = srv.calls(verb="list", resource="pods")
    assert [r.status for r in pod_lists] == [200, 410, 200, 200, 200, 200]
    assert [r.query.get("continue") is None for r in pod_lists] == [True, False, True, False, False, False]
    assert by_kind(snap) == by_kind(example, {"Pod"})
    assert snap.warnings == [
        "listing /api/v1/pods took too long (continue token expired); listed it again from the start"
    ]


def test_namespace_scope(srv: FakeApiServer, example: Snapshot, tmp_path: Path) -> None:
    snap, _ = run(srv, tmp_path, namespace="build-agents", kinds=["Pod", "Namespace", "Node", "Event"])
    assert {namespace(p) for p in snap.of_kind("Pod")} == {"build-agents"}
    assert len(snap.of_kind("Pod")) == len([p for p in example.of_kind("Pod") if namespace(p) == "build-agents"])
    assert [name(n) for n in snap.of_kind("Namespace")] == ["build-agents"]
    assert len(snap.of_kind("Node")) == len(example.of_kind("Node"))  # cluster-scoped: read cluster-wide
    assert {namespace(e) for e in snap.of_kind("Event")} == {"build-agents"}
    assert not any(r.path == "/api/v1/namespaces" for r in srv.requests)


def test_everything_forbidden_is_an_error(example: Snapshot, tmp_path: Path) -> None:
    with FakeApiServer(example, faults=Faults(forbidden={"*"})) as srv, pytest.raises(ApiError) as err:
        run(srv, tmp_path)
    assert err.value.status == 403


def test_unreachable_cluster_names_context_and_server(example: Snapshot, tmp_path: Path) -> None:
    with FakeApiServer(example, faults=Faults(fail_all=True)) as srv, pytest.raises(ClusterUnreachable) as err:
        run(srv, tmp_path)
    assert str(err.value) == f"cannot reach cluster 'fake' at {srv.url}: connection refused"


def test_tls_and_bearer_token(example: Snapshot, tmp_path: Path) -> None:
    with FakeApiServer(example, tls=True, token="kubelogin-token") as srv:
        snap, _ = run(srv, tmp_path, kinds=["Pod", "DynaKube"])
    assert srv.url.startswith("https://")
    assert len(snap.of_kind("Pod")) == len(example.of_kind("Pod"))
    assert len(snap.of_kind("DynaKube")) == 1
    assert snap.warnings == []
