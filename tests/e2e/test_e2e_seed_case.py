"""The seed case end to end: the Azure Pipelines agent Deployment goes into a namespace the DynaKube maps, the
Dynatrace webhook injects OneAgent when the ReplicaSet creates the pods, the .NET agent crash-loops, and
podmortem — live, and from a support bundle — blames the Dynatrace injection with the webhook as evidence. A
canary of the same image that opts out of injection runs and must not be blamed."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_scenario import E2E, container_status, is_injected
from e2e_seed import AGENT_NS, agent_deployment

AGENT = "azure-devops-agent"
CANARY = "azure-devops-agent-canary"


@pytest.fixture(scope="module")
def seed(e2e: E2E) -> Iterator[E2E]:
    e2e.agent_namespace(AGENT_NS)
    e2e.kube.create(agent_deployment(AGENT_NS, AGENT, replicas=2))
    e2e.kube.create(agent_deployment(AGENT_NS, CANARY, replicas=1, pod_annotations={"dynatrace.com/inject": "false"}))
    e2e.wait_pods(AGENT_NS, f"app={AGENT}", 2, "crashloop")
    e2e.wait_pods(AGENT_NS, f"app={CANARY}", 1, "running")
    yield e2e


def _finding(doc: dict[str, Any], name: str) -> dict[str, Any]:
    findings: list[dict[str, Any]] = doc["findings"]
    hits = [f for f in findings if f["workload"]["name"] == name and f["workload"]["namespace"] == AGENT_NS]
    assert len(hits) == 1, f"expected one finding for {AGENT_NS}/{name}, got {[f['workload'] for f in doc['findings']]}"
    return hits[0]


def _assert_seed_finding(doc: dict[str, Any], audit: bool = False) -> dict[str, Any]:
    f = _finding(doc, AGENT)
    assert f["workload"]["kind"] == "Deployment"
    assert f["rule"] == "injection.clr-profiler", f["rule"]
    assert f["category"] == "injection"
    assert "dynatrace" in f["injectors"]
    assert f["confidence"] >= 0.8
    kinds = {e["type"] for e in f["evidence"]}
    assert {"log", "exit-code", "mutation", "webhook"} <= kinds, kinds
    webhook = [e for e in f["evidence"] if e["type"] == "webhook"]
    if audit:  # attributed by the API server's own record of the admission
        assert any(e["ref"].startswith("audit event ") for e in webhook), webhook
        assert any("MutatingWebhookConfiguration dynatrace-webhook" in e["summary"] for e in webhook), webhook
    else:
        assert any(e["ref"] == "mutatingwebhookconfiguration/dynatrace-webhook" for e in webhook), webhook
    assert any("webhook.pod.dynatrace.com" in e["summary"] for e in webhook), webhook
    logs = " ".join(e["summary"] for e in f["evidence"] if e["type"] == "log")
    assert "InvalidProgramException" in logs
    exit_codes = " ".join(e["summary"] for e in f["evidence"] if e["type"] == "exit-code")
    assert "134" in exit_codes
    mutation = " ".join(e["summary"] for e in f["evidence"] if e["type"] == "mutation")
    for piece in ("install-oneagent", "oneagent-bin", "csi.oneagent.dynatrace.com", "/etc/ld.so.preload"):
        assert piece in mutation, (piece, mutation)
    assert not [x for x in doc["findings"] if x["workload"]["name"] == CANARY], "the healthy canary was blamed"
    return f


def test_the_cluster_replays_the_incident(seed: E2E) -> None:
    """Preconditions, checked through the API: the webhook injected the agent pods and not the canary, the pods
    sit on the agent pool, and the previous log holds the runtime's exception."""
    agents = seed.pods(AGENT_NS, f"app={AGENT}")
    canary = seed.pods(AGENT_NS, f"app={CANARY}")
    assert agents and all(is_injected(p) for p in agents)
    assert canary and not any(is_injected(p) for p in canary)
    for pod in agents:
        init = [c["name"] for c in pod["spec"].get("initContainers", [])]
        assert init == ["install-oneagent"]
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        assert env["LD_PRELOAD"] == "/opt/dynatrace/oneagent-paas/agent/lib64/liboneagentproc.so"
        assert pod["spec"]["nodeName"].startswith("aks-agentpool-")
        cs = container_status(pod, "azp-agent")
        assert cs["lastState"]["terminated"]["exitCode"] == 134
        assert cs["restartCount"] > 0
        # the API server's own defaults are there (what `kubectl get -o json` shows)
        assert any(v["name"].startswith("kube-api-access-") for v in pod["spec"]["volumes"])
    previous = seed.kube.logs(AGENT_NS, agents[0]["metadata"]["name"], "azp-agent", previous=True)
    assert "System.InvalidProgramException: Common Language Runtime detected an invalid program." in previous
    assert any(r.get("mutated") for r in seed.webhook.requests), "the API server never called the webhook"


def test_live_diagnosis_blames_dynatrace(seed: E2E) -> None:
    doc = seed.diagnose_live("-A")
    assert doc["source"]["type"] != "bundle"
    _assert_seed_finding(doc)


def test_live_text_report(seed: E2E) -> None:
    proc = seed.podmortem("diagnose", "--kubeconfig", str(seed.kubeconfig), "-n", AGENT_NS, "--no-color", "-q")
    assert proc.returncode == 0, proc.stderr
    assert f"Deployment {AGENT_NS}/{AGENT}: CrashLoopBackOff" in proc.stdout
    assert "rule injection.clr-profiler" in proc.stdout
    assert "dynatrace-webhook" in proc.stdout
    assert "container.inject.dynatrace.com/azp-agent" in proc.stdout  # the first, safe, fix
    assert CANARY + ":" not in proc.stdout


def test_fail_on_gate(seed: E2E) -> None:
    proc = seed.podmortem("diagnose", "--kubeconfig", str(seed.kubeconfig), "-A", "--fail-on", "high", "-q")
    assert proc.returncode == 1, (proc.returncode, proc.stderr)


def test_audit_log_names_the_webhook(seed: E2E) -> None:
    """The API server's audit log records which webhook patched each pod; podmortem reads it."""
    audit = seed.cluster.audit_log
    seed.kube.wait_for("pod creations in the audit log", lambda: audit.exists() and "dynatrace" in audit.read_text())
    doc = seed.diagnose_live("-n", AGENT_NS, "--audit-log", str(audit))
    f = _assert_seed_finding(doc, audit=True)
    audit_ids = {json.loads(line)["auditID"] for line in audit.read_text().splitlines() if line.strip()}
    refs = [e["ref"] for e in f["evidence"] if e["type"] == "webhook"]
    assert any(r.split()[2] in audit_ids for r in refs if r.startswith("audit event ")), refs


def test_collected_bundle_gives_the_same_finding(seed: E2E, tmp_path: Path) -> None:
    live = _assert_seed_finding(seed.diagnose_live("-A"))
    bundle = tmp_path / "cluster.tar.gz"
    proc = seed.podmortem("collect", "--kubeconfig", str(seed.kubeconfig), "-A", "-o", str(bundle), "-q")
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
    assert any(n.endswith("manifest.json") for n in names), names[:20]
    assert any("azp-agent.previous.log" in n for n in names), names
    offline = _assert_seed_finding(seed.diagnose_json(str(bundle)))
    for key in ("rule", "category", "injectors", "containers", "symptom"):
        assert offline[key] == live[key], key
    assert sorted(offline["pods"]) == sorted(live["pods"])
    assert {e["type"] for e in offline["evidence"]} == {e["type"] for e in live["evidence"]}


def test_collect_for_one_workload(seed: E2E, tmp_path: Path) -> None:
    out = tmp_path / "agent"
    proc = seed.podmortem(
        "collect", "--kubeconfig", str(seed.kubeconfig), "--for", f"deployment/{AGENT_NS}/{AGENT}", "-o", str(out), "-q"
    )
    assert proc.returncode == 0, proc.stderr
    _assert_seed_finding(seed.diagnose_json(str(out)))
