"""The node-pool isolation plan against reality: `podmortem fix --remedy <...>.node-pool-isolation -o json` says which
DaemonSets would still land on the pool, which would stop, and which webhook would still be called for the agent
pods. The test then applies the plan's taint and toleration for real — first without the injector exclusion the
plan carries, then with it — and checks each claim on the cluster: DaemonSet pods on the pool's nodes, and the
webhook still mutating new agent pods until the exclusion is applied too."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_scenario import E2E, is_injected
from e2e_seed import agent_deployment, namespace

NS, NAME, DS_NS = "build-agents-isolate", "azure-devops-agent", "node-agents"
POOL_LABEL = "kubernetes.azure.com/agentpool"
Obj = dict[str, Any]


def _daemonset(name: str, tolerations: list[Obj], ns: str = DS_NS) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "tolerations": tolerations,
                    "containers": [
                        {
                            "name": name,
                            "image": f"mcr.microsoft.com/oss/kubernetes/{name}:v1.0.0",
                            "resources": {"requests": {"cpu": "10m", "memory": "20Mi"}},
                        }
                    ],
                },
            },
        },
    }


def _strings(doc: Any) -> Iterator[str]:
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for v in doc.values():
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def _nodes_of(e2e: E2E, ns: str, selector: str) -> set[str]:
    return {p["spec"].get("nodeName", "") for p in e2e.pods(ns, selector) if not p["metadata"].get("deletionTimestamp")}


@pytest.fixture
def pool_nodes(e2e: E2E) -> Iterator[list[str]]:
    """The agentpool nodes; whatever taint the test adds with key "dedicated" is removed afterwards."""
    names = sorted(n["metadata"]["name"] for n in e2e.kube.list("Node", selector=f"{POOL_LABEL}=agentpool"))
    yield names
    for name in names:
        node = e2e.kube.get("Node", name)
        taints = [t for t in node["spec"].get("taints") or [] if t.get("key") != "dedicated"]
        e2e.kube.patch("Node", name, {"spec": {"taints": taints or None}}, kind_merge=True)


def test_node_pool_plan_matches_the_cluster(e2e: E2E, pool_nodes: list[str]) -> None:
    kube = e2e.kube
    kube.create(namespace(DS_NS))
    kube.create(_daemonset("node-exporter", [{"operator": "Exists"}]))  # tolerates every taint
    kube.create(_daemonset("log-shipper", []))  # tolerates none
    e2e.agent_namespace(NS)
    kube.create(agent_deployment(NS, NAME, replicas=2))
    e2e.wait_pods(NS, f"app={NAME}", 2, "crashloop")
    kube.wait_for(
        "DaemonSet pods on both agentpool nodes",
        lambda: (
            set(pool_nodes) <= _nodes_of(e2e, DS_NS, "app=node-exporter")
            and set(pool_nodes) <= _nodes_of(e2e, DS_NS, "app=log-shipper")
        ),
    )

    # the remedy id, as the finding lists it
    finding = next(f for f in e2e.diagnose_live("-n", NS)["findings"] if f["workload"]["name"] == NAME)
    rids = sorted({s for s in _strings(finding) if s.endswith(".node-pool-isolation")})
    assert rids, json.dumps(finding)[:2000]
    proc = e2e.podmortem(
        "fix", "--kubeconfig", str(e2e.kubeconfig), "--workload", f"deployment/{NS}/{NAME}",
        "--remedy", rids[0], "-A", "-o", "json",
    )  # fmt: skip
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    plan = json.loads(proc.stdout)
    notes: list[str] = plan["notes"]

    # what the plan claims
    stays = next(n for n in notes if n.startswith("DaemonSets that would still land on agentpool"))
    stops = next(n for n in notes if n.startswith("DaemonSets that would stop landing on agentpool"))
    assert f"{DS_NS}/node-exporter" in stays and f"{DS_NS}/log-shipper" not in stays, stays
    assert f"{DS_NS}/log-shipper" in stops and f"{DS_NS}/node-exporter" not in stops, stops
    hook_notes = [n for n in notes if n.startswith("Webhook ")]
    assert any("dynatrace-webhook/webhook.pod.dynatrace.com" in n for n in hook_notes), notes
    assert all("leaves them alone" in n for n in hook_notes if "dynatrace" in n.lower()), hook_notes
    node_changes = [c for c in plan["changes"] if c["target"]["kind"] == "Node"]
    assert sorted(c["target"]["name"] for c in node_changes) == pool_nodes
    dep_change = next(c for c in plan["changes"] if c["target"]["kind"] == "Deployment")
    tpl = dep_change["patch"]["body"]["spec"]["template"]
    exclusion: dict[str, str] = tpl["metadata"]["annotations"]
    assert exclusion and all(v == "false" for v in exclusion.values()), exclusion
    assert any("webhook never looks at nodes" in s for s in _strings(plan["remedy"])), plan["remedy"]["notes"]

    # 1. the taint and the toleration/nodeSelector for real, without the exclusion
    for ch in node_changes:
        assert ch["patch"]["type"] == "json"
        kube.request(
            "PATCH",
            kube.path("Node", None, ch["target"]["name"]),
            ch["patch"]["body"],
            content_type="application/json-patch+json",
        )
    kube.patch("Deployment", NAME, {"spec": {"template": {"spec": tpl["spec"]}}}, namespace=NS)
    # NoSchedule does not evict: the log shipper's running pods stay on the pool
    assert set(pool_nodes) <= _nodes_of(e2e, DS_NS, "app=log-shipper")
    for pod in kube.list("Pod", DS_NS):
        if pod["spec"].get("nodeName") in pool_nodes:
            kube.delete("Pod", pod["metadata"]["name"], DS_NS)
    kube.wait_for(
        "node-exporter back on the pool",
        lambda: (
            set(pool_nodes)
            <= {
                p["spec"].get("nodeName")
                for p in e2e.pods(DS_NS, "app=node-exporter")
                if not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") == "Running"
            }
        ),
    )
    time.sleep(3)  # the DaemonSet controller handled both in the same pass; give it time to misbehave anyway
    assert not _nodes_of(e2e, DS_NS, "app=log-shipper") & set(pool_nodes), "log-shipper came back on the pool"
    assert _nodes_of(e2e, DS_NS, "app=log-shipper"), "log-shipper vanished from the other pools too"

    seen = len(e2e.webhook.requests)
    tolerating = kube.wait_for(
        "a new agent pod with the toleration",
        lambda: [
            p
            for p in e2e.pods(NS, f"app={NAME}")
            if p["spec"].get("nodeName")
            and any(t.get("key") == "dedicated" for t in p["spec"].get("tolerations") or [])
        ],
    )
    assert all(p["spec"]["nodeName"] in pool_nodes for p in tolerating)
    assert all(is_injected(p) for p in tolerating), "the webhook stopped injecting without the exclusion"

    # 2. the exclusion too: the webhook is still called for the new pods but leaves them alone
    kube.patch("Deployment", NAME, {"spec": {"template": {"metadata": {"annotations": exclusion}}}}, namespace=NS)
    pods = e2e.wait_pods(NS, f"app={NAME}", 2, "running")
    for p in pods:
        assert (p["metadata"].get("annotations") or {}).items() >= exclusion.items()
        assert not is_injected(p)
        assert p["spec"]["nodeName"] in pool_nodes
    calls = [r for r in e2e.webhook.requests[seen:] if r.get("namespace") == NS and r.get("kind") == "Pod"]
    assert calls, "the webhook was not called for the new agent pods"
    assert not calls[-1].get("mutated"), calls[-1]

    e2e.delete_namespace(NS)
    e2e.delete_namespace(DS_NS)


def test_plan_in_default_scope_lists_daemonsets_of_other_namespaces(e2e: E2E) -> None:
    ns, ds_ns = "build-agents-isolate-ns", "node-agents-ns"
    e2e.kube.create(namespace(ds_ns))
    e2e.kube.create(_daemonset("node-exporter", [{"operator": "Exists"}], ds_ns))
    e2e.agent_namespace(ns)
    e2e.kube.create(agent_deployment(ns, NAME, replicas=1))
    e2e.wait_pods(ns, f"app={NAME}", 1, "crashloop")
    pool = {n["metadata"]["name"] for n in e2e.kube.list("Node", selector=f"{POOL_LABEL}=agentpool")}
    e2e.kube.wait_for("node-exporter on the pool", lambda: pool <= _nodes_of(e2e, ds_ns, "app=node-exporter"))
    try:
        proc = e2e.podmortem(
            "fix", "--kubeconfig", str(e2e.kubeconfig), "--workload", f"deployment/{ns}/{NAME}",
            "--remedy", "dynatrace.node-pool-isolation", "-o", "json",
        )  # fmt: skip
        assert proc.returncode == 0, (proc.returncode, proc.stderr)
        notes = json.loads(proc.stdout)["notes"]
        stays = next(n for n in notes if n.startswith("DaemonSets that would still land on agentpool"))
        assert f"{ds_ns}/node-exporter" in stays or "not read" in stays, stays
    finally:
        e2e.delete_namespace(ns)
        e2e.delete_namespace(ds_ns)
