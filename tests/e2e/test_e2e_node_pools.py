"""Node pools: the real scheduler honours the AKS system-pool taint, and a dedicated agent pool (a taint plus the
agent Deployment's nodeSelector and toleration) keeps the agents — and only them — on that pool. Moving the
agents to their own pool does not stop the Dynatrace webhook, which never looks at nodes: podmortem still finds
the injection there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from e2e_scenario import E2E, is_injected
from e2e_seed import agent_deployment

TAINT = {"key": "pool", "value": "azp-agents", "effect": "NoSchedule"}


@pytest.fixture
def dedicated_agent_pool(e2e: E2E) -> Iterator[list[str]]:
    nodes = [n for n in e2e.kube.list("Node", selector="kubernetes.azure.com/agentpool=agentpool")]
    names = [n["metadata"]["name"] for n in nodes]
    for n in nodes:
        taints = [*(n["spec"].get("taints") or []), TAINT]
        e2e.kube.patch("Node", n["metadata"]["name"], {"spec": {"taints": taints}}, kind_merge=True)
    yield names
    for name in names:
        node = e2e.kube.get("Node", name)
        taints = [t for t in node["spec"].get("taints") or [] if t.get("key") != TAINT["key"]]
        e2e.kube.patch("Node", name, {"spec": {"taints": taints or None}}, kind_merge=True)


def _node_of(pods: list[dict[str, Any]]) -> set[str]:
    return {p["spec"]["nodeName"] for p in pods}


def test_agents_land_only_on_the_dedicated_pool(e2e: E2E, dedicated_agent_pool: list[str]) -> None:
    ns = "build-agents-pool"
    e2e.agent_namespace(ns)
    toleration = {"key": TAINT["key"], "operator": "Equal", "value": TAINT["value"], "effect": "NoSchedule"}
    e2e.kube.create(agent_deployment(ns, "azure-devops-agent", replicas=4, tolerations=[toleration]))
    # an ordinary workload without the toleration and without a nodeSelector
    e2e.kube.create(
        agent_deployment(ns, "other", replicas=4, node_pool=None, pod_annotations={"dynatrace.com/inject": "false"})
    )
    agents = e2e.wait_pods(ns, "app=azure-devops-agent", 4, "crashloop")
    others = e2e.wait_pods(ns, "app=other", 4, "running")

    assert _node_of(agents) <= set(dedicated_agent_pool), _node_of(agents)
    assert not _node_of(others) & set(dedicated_agent_pool), "a pod without the toleration landed on the tainted pool"
    assert not any(n.startswith("aks-system-") for n in _node_of(others)), "CriticalAddonsOnly taint ignored"
    assert _node_of(others) and all(n.startswith("aks-userpool-") for n in _node_of(others))

    # the webhook does not look at nodes: the agents on their own pool are still injected, and podmortem says so
    assert all(is_injected(p) for p in agents)
    doc = e2e.diagnose_live("-n", ns)
    rules = {(f["workload"]["name"], f["rule"]) for f in doc["findings"]}
    assert ("azure-devops-agent", "injection.clr-profiler") in rules, rules
    assert not [f for f in doc["findings"] if f["workload"]["name"] == "other"]
    e2e.delete_namespace(ns)


def test_pending_when_no_pool_fits(e2e: E2E) -> None:
    """A nodeSelector for a pool that does not exist leaves the pods Pending with the scheduler's own reason."""
    ns = "build-agents-nopool"
    e2e.agent_namespace(ns)
    e2e.kube.create(agent_deployment(ns, "azure-devops-agent", replicas=1, node_pool="gpupool"))

    def unschedulable() -> bool:
        pods = e2e.pods(ns, "app=azure-devops-agent")
        return bool(pods) and all(
            any(
                c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
                for c in p["status"].get("conditions", [])
            )
            for p in pods
        )

    e2e.kube.wait_for("an unschedulable agent pod", unschedulable)
    doc = e2e.diagnose_live("-n", ns)
    hits = [f for f in doc["findings"] if f["workload"]["name"] == "azure-devops-agent"]
    assert hits, doc["findings"]
    assert hits[0]["category"] != "injection"
    assert "node" in (hits[0]["title"] + hits[0]["symptom"]).lower() or "schedul" in hits[0]["rule"], hits[0]
    e2e.delete_namespace(ns)
