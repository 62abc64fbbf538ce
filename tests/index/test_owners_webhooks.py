from typing import Any

from podmortem.index import Index
from podmortem.index.owners import resolve
from podmortem.index.webhooks import webhooks_for_pod
from podmortem.model.objects import ObjectRef
from podmortem.model.snapshot import Snapshot, SourceInfo

DT_WEBHOOK = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "MutatingWebhookConfiguration",
    "metadata": {"name": "dynatrace-webhook"},
    "webhooks": [
        {
            "name": "webhook.pod.dynatrace.com",
            "admissionReviewVersions": ["v1beta1", "v1"],
            "clientConfig": {
                "service": {
                    "name": "dynatrace-webhook",
                    "namespace": "dynatrace",
                    "path": "/inject",
                    "port": 443,
                }
            },
            "failurePolicy": "Ignore",
            "reinvocationPolicy": "IfNeeded",
            "namespaceSelector": {
                "matchExpressions": [{"key": "dynakube.internal.dynatrace.com/instance", "operator": "Exists"}]
            },
            "objectSelector": {},
            "rules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE"],
                    "resources": ["pods"],
                    "scope": "*",
                }
            ],
            "sideEffects": "None",
            "timeoutSeconds": 10,
        },
        {
            "name": "webhook.ns.dynatrace.com",
            "clientConfig": {"service": {"name": "dynatrace-webhook", "namespace": "dynatrace", "path": "/label-ns"}},
            "rules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["namespaces"],
                }
            ],
        },
    ],
}


def snap(*objs: dict[str, Any]) -> Snapshot:
    s = Snapshot(SourceInfo("bundle", "test"))
    for o in objs:
        s.add(o)
    return s


def test_owner_chain_to_deployment(
    plain_pod: dict[str, Any], replicaset: dict[str, Any], deployment: dict[str, Any]
) -> None:
    own = resolve(snap(plain_pod, replicaset, deployment), plain_pod)
    assert own.workload == ObjectRef("Deployment", "build-agents", "azure-devops-agent")
    assert own.controller == ObjectRef("ReplicaSet", "build-agents", "azure-devops-agent-6d9f7c8b45")
    assert own.template is replicaset["spec"]["template"]
    assert not own.inferred


def test_owner_inferred_when_replicaset_missing(plain_pod: dict[str, Any]) -> None:
    own = resolve(snap(plain_pod), plain_pod)
    assert own.workload == ObjectRef("Deployment", "build-agents", "azure-devops-agent")
    assert own.inferred and own.template is None


def test_bare_pod_is_its_own_workload(plain_pod: dict[str, Any]) -> None:
    del plain_pod["metadata"]["ownerReferences"]
    assert resolve(snap(plain_pod), plain_pod).workload == ObjectRef(
        "Pod", "build-agents", plain_pod["metadata"]["name"]
    )


def test_webhook_selects_pod_only_in_labelled_namespace(plain_pod: dict[str, Any]) -> None:
    labelled = {
        "kubernetes.io/metadata.name": "build-agents",
        "dynakube.internal.dynatrace.com/instance": "dynakube",
    }
    hits = webhooks_for_pod(plain_pod, labelled, True, [DT_WEBHOOK])
    assert [(h.configuration, h.webhook, h.failure_policy, h.service) for h in hits] == [
        ("dynatrace-webhook", "webhook.pod.dynatrace.com", "Ignore", "dynatrace/dynatrace-webhook/inject")
    ]
    assert webhooks_for_pod(plain_pod, {"kubernetes.io/metadata.name": "build-agents"}, True, [DT_WEBHOOK]) == []


def test_injection_is_verified_against_template(
    injected_pod: dict[str, Any],
    plain_pod: dict[str, Any],
    replicaset: dict[str, Any],
    deployment: dict[str, Any],
) -> None:
    plain_pod["metadata"]["name"] += "x"
    plain_pod["metadata"]["uid"] = "9f9f9f9f-0000-4000-8000-000000000001"
    idx = Index(snap(injected_pod, plain_pod, replicaset, deployment))
    by_name = {p.name: p for p in idx.pods}
    inj = by_name[injected_pod["metadata"]["name"]].injections
    assert list(inj) == ["dynatrace"]
    assert inj["dynatrace"].verified
    assert {"ld-preload"} <= inj["dynatrace"].mechanisms_in("azp-agent")
    assert by_name[plain_pod["metadata"]["name"]].injections == {}
    # The same markers baked into the template are not a mutation.
    replicaset["spec"]["template"] = {"metadata": injected_pod["metadata"], "spec": injected_pod["spec"]}
    idx2 = Index(snap(injected_pod, replicaset, deployment))
    assert idx2.pods[0].injections == {}
