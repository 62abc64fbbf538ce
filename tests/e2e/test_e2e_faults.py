"""Faults around the seed case: the webhook is down when the pods are created (failurePolicy Ignore lets them in
uninjected), and podmortem runs with a service account that may only get and list pods."""

from __future__ import annotations

import json
from pathlib import Path

from e2e_cluster import write_kubeconfig
from e2e_scenario import E2E, is_injected
from e2e_seed import agent_deployment


def test_webhook_down_pods_are_admitted_uninjected(e2e: E2E) -> None:
    ns = "build-agents-webhook-down"
    e2e.agent_namespace(ns)
    e2e.webhook.stop()
    try:
        before = len(e2e.webhook.requests)
        e2e.kube.create(agent_deployment(ns, "azure-devops-agent", replicas=2))
        pods = e2e.wait_pods(ns, "app=azure-devops-agent", 2, "running")
        assert len(e2e.webhook.requests) == before, "the webhook answered although it was stopped"
    finally:
        e2e.webhook.start()
    for pod in pods:
        assert not is_injected(pod)
        assert not pod["spec"].get("initContainers")
        assert all(e["name"] != "LD_PRELOAD" for e in pod["spec"]["containers"][0].get("env", []))
    doc = e2e.diagnose_live("-n", ns)
    assert doc["findings"] == [], [f["rule"] for f in doc["findings"]]
    assert doc["summary"]["workloads_failing"] == 0

    # with the webhook back, a new pod of the same Deployment is injected and crash-loops again
    e2e.kube.patch("Deployment", "azure-devops-agent", {"spec": {"replicas": 3}}, namespace=ns)
    e2e.kube.wait_for(
        "an injected, crash-looping third pod",
        lambda: [p for p in e2e.pods(ns, "app=azure-devops-agent") if is_injected(p)],
    )
    e2e.delete_namespace(ns)


def test_rbac_limited_service_account_degrades_with_warnings(e2e: E2E, tmp_path: Path) -> None:
    """A token of a service account that can only get/list pods: no logs, owners, events or webhooks. podmortem
    still exits 0, says what it could not read, and still reports the crash loop from the pods themselves."""
    kube = e2e.kube
    ns = "build-agents-rbac"
    e2e.agent_namespace(ns)
    kube.create(agent_deployment(ns, "azure-devops-agent", replicas=2))
    e2e.wait_pods(ns, "app=azure-devops-agent", 2, "crashloop")

    kube.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "pod-reader", "namespace": "default"}}
    )
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "e2e-pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        }
    )
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "e2e-pod-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "e2e-pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "pod-reader", "namespace": "default"}],
        }
    )
    token = kube.token_for("default", "pod-reader")
    limited = write_kubeconfig(
        tmp_path / "limited.kubeconfig",
        e2e.cluster.server,
        e2e.cluster.pki / "ca.crt",
        {"token": token},
        name="aks-e2e-pod-reader",
    )

    proc = e2e.podmortem("diagnose", "--kubeconfig", str(limited), "-A", "-o", "json", "-q")
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    warnings = doc["summary"]["warnings"]
    text = " ".join(warnings)
    assert warnings, "no warning although most kinds are forbidden"
    assert "forbidden" in text or "403" in text, warnings
    assert "mutatingwebhookconfigurations" in text, warnings
    assert "log" in text, warnings  # pods/log is not granted
    # the crash loop is still found from the pods alone, but nothing is proved about the webhook
    agent = [f for f in doc["findings"] if f["workload"]["namespace"] == ns]
    assert agent, doc["findings"]
    for f in agent:
        assert not [e for e in f["evidence"] if e["type"] == "webhook"]

    # without any access, the cluster refuses every request: exit code 3, one line naming the server
    kube.delete("ClusterRoleBinding", "e2e-pod-reader")
    e2e.kube.wait_for(
        "the binding to be gone",
        lambda: e2e.podmortem("diagnose", "--kubeconfig", str(limited), "-A", "-q").returncode == 3,
    )
    proc = e2e.podmortem("diagnose", "--kubeconfig", str(limited), "-A", "-q")
    assert proc.returncode == 3
    assert "127.0.0.1" in proc.stderr and "Traceback" not in proc.stderr
    e2e.delete_namespace(ns)
