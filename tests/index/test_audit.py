"""Attributing a pod's mutations to the exact webhook from API server audit events."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from podmortem.api import diagnose
from podmortem.index.audit import AuditIndex
from podmortem.sources import open_source

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "aks-azure-pipelines-dynatrace"

PATCH = [
    {"op": "add", "path": "/spec/initContainers", "value": [{"name": "install-oneagent"}]},
    {"op": "add", "path": "/spec/volumes/-", "value": {"name": "oneagent-bin"}},
    {"op": "add", "path": "/metadata/annotations/oneagent.dynatrace.com~1injected", "value": "true"},
]


def audit_event(name: str, *, level: str = "Metadata", generate: str = "", uid: str = "") -> dict[str, object]:
    ev: dict[str, object] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": "5d8a6f0e-3c1b-4f4e-9d8e-2b7c0a1e9f31",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/build-agents/pods",
        "verb": "create",
        "user": {
            "username": "system:serviceaccount:kube-system:replicaset-controller",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
        },
        "sourceIPs": ["10.224.0.4"],
        "userAgent": "kube-controller-manager/v1.29.7 (linux/amd64) kubernetes/4e7d1e6/"
        "system:serviceaccount:kube-system:replicaset-controller",
        "objectRef": {
            "resource": "pods",
            "namespace": "build-agents",
            "apiVersion": "v1",
            **({"name": name} if name else {}),
        },
        "responseStatus": {"metadata": {}, "code": 201},
        "requestReceivedTimestamp": "2024-08-13T06:58:20.114273Z",
        "stageTimestamp": "2024-08-13T06:58:20.187402Z",
        "annotations": {
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding "
            '"system:controller:replicaset-controller"',
            "mutation.webhook.admission.k8s.io/round_0_index_0": json.dumps(
                {"configuration": "dynatrace-webhook", "webhook": "webhook.pod.dynatrace.com", "mutated": True}
            ),
            "patch.webhook.admission.k8s.io/round_0_index_0": json.dumps(
                {
                    "configuration": "dynatrace-webhook",
                    "webhook": "webhook.pod.dynatrace.com",
                    "patch": PATCH,
                    "patchType": "JSONPatch",
                }
            ),
        },
    }
    if level == "RequestResponse":
        ev["requestObject"] = {"kind": "Pod", "apiVersion": "v1", "metadata": {"generateName": generate}}
        ev["responseObject"] = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": name or "x", "generateName": generate, "uid": uid},
        }
    return ev


def test_metadata_level_event_names_the_pod() -> None:
    idx = AuditIndex([audit_event("azure-devops-agent-6d9f7c8b45-9d62c")])
    pod = {"metadata": {"name": "azure-devops-agent-6d9f7c8b45-9d62c", "namespace": "build-agents"}}
    (m,) = idx.for_pod(pod)
    assert (m.configuration, m.webhook, m.mutated, m.patch_ops, m.round) == (
        "dynatrace-webhook",
        "webhook.pod.dynatrace.com",
        True,
        3,
        "round_0_index_0",
    )
    assert idx.for_pod({"metadata": {"name": "other", "namespace": "build-agents"}}) == []


def test_generate_name_create_is_matched_by_uid() -> None:
    ev = audit_event("", level="RequestResponse", generate="azure-devops-agent-6d9f7c8b45-", uid="u-1")
    ev["responseObject"]["metadata"]["name"] = "azure-devops-agent-6d9f7c8b45-zzzzz"  # type: ignore[index]
    idx = AuditIndex([ev])
    assert idx.for_pod({"metadata": {"name": "renamed", "namespace": "build-agents", "uid": "u-1"}})


def test_other_verbs_and_subresources_are_ignored() -> None:
    ev = audit_event("p")
    ev["verb"] = "update"
    assert AuditIndex([ev]).for_pod({"metadata": {"name": "p", "namespace": "build-agents"}}) == []


def test_audit_log_in_a_bundle_becomes_webhook_evidence(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(SEED, bundle)
    pods = json.loads((SEED / "build-agents" / "pods.json").read_text())["items"]
    names = [p["metadata"]["name"] for p in pods if p["metadata"]["name"].startswith("azure-devops-agent-6d9f")]
    (bundle / "audit").mkdir()
    (bundle / "audit" / "kube-apiserver.log").write_text("\n".join(json.dumps(audit_event(n)) for n in names) + "\n")
    (finding,) = diagnose(open_source(str(bundle))).findings
    audit = [e for e in finding.evidence if e.summary.startswith("API server audit log")]
    assert audit and "webhook.pod.dynatrace.com" in audit[0].summary and audit[0].type == "webhook"


def test_generate_name_create_matches_when_the_second_turns_during_the_request() -> None:
    ev = audit_event("", level="RequestResponse", generate="azure-devops-agent-6d9f7c8b45-")
    ev["responseObject"]["metadata"] = {"generateName": "azure-devops-agent-6d9f7c8b45-"}  # type: ignore[index]
    ev["requestReceivedTimestamp"] = "2024-08-13T06:58:20.990000Z"
    ev["stageTimestamp"] = "2024-08-13T06:58:21.020000Z"
    pod = {
        "metadata": {
            "name": "azure-devops-agent-6d9f7c8b45-9d62c",
            "generateName": "azure-devops-agent-6d9f7c8b45-",
            "namespace": "build-agents",
            "creationTimestamp": "2024-08-13T06:58:21Z",
        }
    }
    assert AuditIndex([ev]).for_pod(pod)
