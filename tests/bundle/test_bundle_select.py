"""select_for: what one workload's bundle keeps, and how workloads are named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bundle_fixtures import (
    ROOT,
    configmap,
    container,
    csidriver,
    deployment,
    dynakube,
    event,
    namespace,
    node,
    pod,
    replicaset,
    secret,
    snapshot_of,
    uid_of,
    webhook_config,
)

from podmortem.api import diagnose
from podmortem.bundle import MAX_PEERS, parse_workload, select_for
from podmortem.model.objects import ObjectRef
from podmortem.model.snapshot import LogKey, Snapshot
from podmortem.sources import open_source

AGENT = "myacr.azurecr.io/azp-agent:ubuntu-22.04-3.242.1"
OTHER = "mcr.microsoft.com/dotnet/aspnet:8.0"
NODE_A = "aks-buildpool-12345678-vmss000001"
NODE_B = "aks-buildpool-12345678-vmss000002"
NODE_C = "aks-system-87654321-vmss000000"


def _refs(snap: Snapshot, kind: str) -> set[str]:
    return {f"{ns}/{name}" if ns else name for ns, name in snap.objects.get(kind, {})}


def cluster() -> Snapshot:
    """A build-agents Deployment (two ReplicaSets, two crash-looping pods) in a cluster with plenty else."""
    dep = deployment("build-agents", "azure-devops-agent", [container("azp-agent", AGENT)])
    rs_new = replicaset(dep, 2)
    rs_old = replicaset(dep, 1, replicas=0)
    p1 = pod(
        "build-agents",
        rs_new["metadata"]["name"] + "-9d62c",
        [container("azp-agent", AGENT)],
        owner=rs_new,
        node_name=NODE_A,
    )
    p2 = pod(
        "build-agents",
        rs_new["metadata"]["name"] + "-cvckk",
        [container("azp-agent", AGENT)],
        owner=rs_new,
        node_name=NODE_B,
    )
    # a second, unrelated deployment in the same namespace
    web = deployment("build-agents", "azure-devops-agent-canary", [container("web", OTHER)])
    web_rs = replicaset(web)
    web_pod = pod(
        "build-agents", web_rs["metadata"]["name"] + "-n22w2", [container("web", OTHER)], owner=web_rs, node_name=NODE_C
    )
    # healthy pods elsewhere running the agent image: seven, more than are kept
    peers = []
    for i in range(7):
        ns = f"team-{i}"
        peers.append(namespace(ns))
        peers.append(pod(ns, f"agent-{i}", [container("azp-agent", AGENT)], healthy=True, node_name=NODE_C))
    sick_peer = pod("team-x", "agent-sick", [container("azp-agent", AGENT)], node_name=NODE_C)
    objects: list[dict[str, Any]] = [
        namespace("build-agents", {"dynakube.internal.dynatrace.com/instance": "dynakube"}),
        namespace("dynatrace"),
        namespace("team-x"),
        node(NODE_A),
        node(NODE_B),
        node(NODE_C),
        dep,
        rs_new,
        rs_old,
        p1,
        p2,
        web,
        web_rs,
        web_pod,
        *peers,
        sick_peer,
        event(p1, "BackOff", "Back-off restarting failed container azp-agent", n=1),
        event(rs_new, "SuccessfulCreate", "Created pod: x", etype="Normal", n=2),
        event(dep, "ScalingReplicaSet", "Scaled up replica set", etype="Normal", n=3),
        event(node(NODE_A), "NodeHasDiskPressure", "Node status is now: NodeHasDiskPressure", n=4),
        event(node(NODE_C), "Rebooted", "Node rebooted", n=5),
        event(web_pod, "BackOff", "Back-off restarting failed container web", n=6),
        webhook_config(),
        webhook_config("istio-sidecar-injector"),
        csidriver(),
        dynakube(),
        configmap("build-agents", "agent-config", {"AZP_POOL": "linux"}),
        secret("build-agents", "azdevops", {"AZP_TOKEN": "t" * 52}),
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny-all", "namespace": "build-agents", "uid": uid_of("np")},
            "spec": {"podSelector": {}},
        },
    ]
    logs = {
        LogKey("build-agents", p1["metadata"]["name"], "azp-agent", previous=True): "Unhandled exception.\n",
        LogKey("build-agents", web_pod["metadata"]["name"], "web", previous=True): "boom\n",
        LogKey("team-0", "agent-0", "azp-agent"): "4. Running Azure Pipelines agent...\n",
    }
    snap = snapshot_of(objects, logs)
    snap.warn("cannot list datadogagents: forbidden (403)")
    snap.stats = {"api": {"calls": 20}}
    snap.audit_events = [
        {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Event",
            "verb": "create",
            "objectRef": {"resource": "pods", "namespace": "build-agents"},
        },
        {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Event",
            "verb": "create",
            "objectRef": {"resource": "pods", "namespace": "kube-system"},
        },
    ]
    return snap


@pytest.fixture()
def snap() -> Snapshot:
    return cluster()


def test_keeps_what_the_workload_needs(snap: Snapshot) -> None:
    sub = select_for(snap, "build-agents/azure-devops-agent")
    dep = "build-agents/azure-devops-agent"
    assert _refs(sub, "Deployment") == {dep}
    rs_names = {
        f"build-agents/{n}"
        for _, n in snap.objects["ReplicaSet"]
        if n.startswith("azure-devops-agent-") and "canary" not in n
    }
    assert _refs(sub, "ReplicaSet") == rs_names and len(rs_names) == 2  # the old, pod-less one too
    agent_pods = {r for r in _refs(sub, "Pod") if r.startswith("build-agents/")}
    assert len(agent_pods) == 2 and not any("canary" in r for r in agent_pods)
    assert _refs(sub, "Node") == {NODE_A, NODE_B}
    assert "build-agents" in _refs(sub, "Namespace") and "dynatrace" not in _refs(sub, "Namespace")
    assert _refs(sub, "MutatingWebhookConfiguration") == {"dynatrace-webhook", "istio-sidecar-injector"}
    assert _refs(sub, "CSIDriver") == {"csi.oneagent.dynatrace.com"}
    assert _refs(sub, "DynaKube") == {"dynatrace/dynakube"}
    for absent in ("Secret", "ConfigMap", "NetworkPolicy"):
        assert absent not in sub.objects
    reasons = sorted(e["reason"] for e in sub.of_kind("Event"))
    assert reasons == ["BackOff", "NodeHasDiskPressure", "ScalingReplicaSet", "SuccessfulCreate"]
    assert sub.warnings == snap.warnings and sub.stats == snap.stats
    assert sub.source.name == snap.source.name
    assert [a["objectRef"]["namespace"] for a in sub.audit_events] == ["build-agents"]
    # objects are shared, not copied: nothing is mutated
    assert all(o is snap.get(k, *key) for k, b in sub.objects.items() for key, o in b.items())


def test_peers_are_healthy_pods_with_the_same_images_at_most_five(snap: Snapshot) -> None:
    sub = select_for(snap, "build-agents/azure-devops-agent")
    peers = {r for r in _refs(sub, "Pod") if not r.startswith("build-agents/")}
    assert len(peers) == MAX_PEERS == 5
    assert peers == {f"team-{i}/agent-{i}" for i in range(5)}  # sorted by namespace; the crash-looping one left out
    assert {f"team-{i}" for i in range(5)} <= _refs(sub, "Namespace")
    assert "team-x" not in _refs(sub, "Namespace")
    assert NODE_C not in _refs(sub, "Node")  # peers' nodes are not the workload's
    assert {(k.namespace, k.container) for k in sub.logs} == {("build-agents", "azp-agent"), ("team-0", "azp-agent")}


def test_logs_kept_are_those_of_kept_pods(snap: Snapshot) -> None:
    sub = select_for(snap, "build-agents/azure-devops-agent-canary")
    assert {k.container for k in sub.logs} == {"web"}
    assert _refs(sub, "Deployment") == {"build-agents/azure-devops-agent-canary"}
    assert _refs(sub, "Node") == {NODE_C}
    assert not any(r.startswith("team-") for r in _refs(sub, "Pod"))  # nobody else runs its image


@pytest.mark.parametrize(
    "spec",
    [
        "build-agents/azure-devops-agent",
        "Deployment/build-agents/azure-devops-agent",
        "deploy/build-agents/azure-devops-agent",
        "deployments.apps/build-agents/azure-devops-agent",
        "deploy/azure-devops-agent",
    ],
)
def test_ways_to_name_a_deployment(snap: Snapshot, spec: str) -> None:
    sub = select_for(snap, spec)
    assert _refs(sub, "Deployment") == {"build-agents/azure-devops-agent"}


def test_a_replicaset_or_a_pod_can_be_named(snap: Snapshot) -> None:
    rs = next(
        n
        for _, n in snap.objects["ReplicaSet"]
        if n.startswith("azure-devops-agent-")
        and "canary" not in n
        and snap.get("ReplicaSet", "build-agents", n)["spec"]["replicas"] == 2
    )  # type: ignore[index]
    sub = select_for(snap, f"rs/build-agents/{rs}")
    assert len([r for r in _refs(sub, "Pod") if r.startswith("build-agents/")]) == 2
    assert _refs(sub, "Deployment") == {"build-agents/azure-devops-agent"}  # its owner
    one = next(r for r in _refs(sub, "Pod") if r.startswith("build-agents/"))
    sub = select_for(snap, f"pod/{one}")
    assert {r for r in _refs(sub, "Pod") if r.startswith("build-agents/")} == {one}
    assert _refs(sub, "ReplicaSet") == {f"build-agents/{rs}"}
    assert _refs(sub, "Deployment") == {"build-agents/azure-devops-agent"}


def test_unknown_workload_lists_close_matches(snap: Snapshot) -> None:
    with pytest.raises(ValueError) as err:
        select_for(snap, "build-agents/azure-devops-agnt")
    msg = str(err.value)
    assert "\n" not in msg
    assert "Deployment/build-agents/azure-devops-agnt" in msg
    assert "Deployment/build-agents/azure-devops-agent" in msg
    with pytest.raises(ValueError, match="close matches: Deployment/build-agents/azure-devops-agent"):
        select_for(snap, "other-ns/azure-devops-agent")
    with pytest.raises(ValueError, match="no close match"):
        select_for(snap, "sts/nowhere/zzzzqqqq")


@pytest.mark.parametrize("bad", ["", "a", "a/b/c/d", "/x", "frob/ns/name"])
def test_malformed_workloads(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_workload(bad)


def test_parse_workload() -> None:
    assert parse_workload("sts/db/ledger") == ObjectRef("StatefulSet", "db", "ledger")
    assert parse_workload("CronJob/db/pg-backup") == ObjectRef("CronJob", "db", "pg-backup")
    assert parse_workload("ns/app") == ObjectRef("Deployment", "ns", "app")


def test_a_workload_known_only_from_its_pods_is_found() -> None:
    dep = deployment("ci", "runner", [container("runner", AGENT)])
    rs = replicaset(dep)
    p = pod("ci", rs["metadata"]["name"] + "-abcde", [container("runner", AGENT)], owner=rs)
    snap = snapshot_of([p])  # neither the ReplicaSet nor the Deployment was collected
    sub = select_for(snap, f"rs/ci/{rs['metadata']['name']}")
    assert _refs(sub, "Pod") == {f"ci/{p['metadata']['name']}"}


EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
FIXTURES = sorted(ROOT.glob("tests/rules/*/fail.*"))


@pytest.mark.parametrize("src", EXAMPLES + FIXTURES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_selection_keeps_each_finding(src: Path) -> None:
    snap = open_source(src)
    findings = [f.to_dict() for f in diagnose(snap).findings]
    for finding in findings:
        w = finding["workload"]
        sub = select_for(snap, f"{w['kind']}/{w['namespace']}/{w['name']}")
        assert sub.count() <= snap.count()
        again = [f.to_dict() for f in diagnose(sub).findings if f.to_dict()["workload"] == w]
        assert again == [finding]
