"""would_inject: each injector's own selection logic, from its fingerprint and the snapshot's webhooks and CRs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podmortem.index import Index
from podmortem.model.objects import ObjectRef
from podmortem.model.snapshot import Snapshot, SourceInfo
from podmortem.remedies.fix import would_inject
from podmortem.remedies.nodepool import lands, node_fits, tolerates
from podmortem.remedies.selection import View, decide, webhook_owner

Obj = dict[str, Any]


def namespace(name: str, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> Obj:
    md: Obj = {
        "name": name,
        "uid": f"ns-{name}",
        "resourceVersion": "101",
        "creationTimestamp": "2024-05-02T08:00:00Z",
        "labels": {"kubernetes.io/metadata.name": name, **(labels or {})},
    }
    if annotations:
        md["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": md,
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def webhook(cfg: str, name: str, svc_ns: str, svc: str, *, nsel: Obj | None = None, osel: Obj | None = None) -> Obj:
    hook: Obj = {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": {"service": {"name": svc, "namespace": svc_ns, "path": "/inject", "port": 443}},
        "failurePolicy": "Ignore",
        "matchPolicy": "Equivalent",
        "namespaceSelector": nsel or {},
        "objectSelector": osel or {},
        "reinvocationPolicy": "IfNeeded",
        "rules": [
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"], "scope": "*"}
        ],
        "sideEffects": "None",
        "timeoutSeconds": 10,
    }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": cfg, "uid": f"mwc-{cfg}", "resourceVersion": "7", "generation": 1},
        "webhooks": [hook],
    }


def template(labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> Obj:
    md: Obj = {"creationTimestamp": None, "labels": {"app": "api", **(labels or {})}}
    if annotations:
        md["annotations"] = annotations
    return {
        "metadata": md,
        "spec": {
            "containers": [
                {"name": "api", "image": "registry.acme.io/api:2.1.0", "imagePullPolicy": "IfNotPresent"},
                {"name": "log-shipper", "image": "fluent/fluent-bit:3.0.7", "imagePullPolicy": "IfNotPresent"},
            ],
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
        },
    }


DT_HOOK = webhook(
    "dynatrace-webhook",
    "webhook.pod.dynatrace.com",
    "dynatrace",
    "dynatrace-webhook",
    nsel={"matchExpressions": [{"key": "dynakube.internal.dynatrace.com/instance", "operator": "Exists"}]},
)


def dynakube(
    api: str = "v1beta2", mode: str = "cloudNativeFullStack", annotations: dict[str, str] | None = None
) -> Obj:
    md: Obj = {"name": "dynakube", "namespace": "dynatrace", "uid": "dk-1", "generation": 3}
    if annotations:
        md["annotations"] = annotations
    return {
        "apiVersion": f"dynatrace.com/{api}",
        "kind": "DynaKube",
        "metadata": md,
        "spec": {"apiUrl": "https://abc12345.live.dynatrace.com/api", "oneAgent": {mode: {}}},
        "status": {"phase": "Running"},
    }


def index_of(*objs: Obj) -> Index:
    snap = Snapshot(SourceInfo("manifests", "test"))
    for o in objs:
        snap.add(copy.deepcopy(o))
    return Index(snap)


MAPPED = namespace("apps", {"dynakube.internal.dynatrace.com/instance": "dynakube"})


# --- Dynatrace ------------------------------------------------------------------------------------------------


def test_dynatrace_pod_annotations() -> None:
    index = index_of(MAPPED, DT_HOOK, dynakube())
    assert would_inject(index, "dynatrace", template(), "apps")
    for value in ("false", "False", "0", "f"):
        assert not would_inject(index, "dynatrace", template(annotations={"dynatrace.com/inject": value}), "apps")
    assert would_inject(index, "dynatrace", template(annotations={"dynatrace.com/inject": "no"}), "apps")
    one = template(annotations={"container.inject.dynatrace.com/api": "false"})
    assert would_inject(index, "dynatrace", one, "apps")  # log-shipper is still injected
    assert not would_inject(index, "dynatrace", one, "apps", container="api")
    both = template(
        annotations={
            "container.inject.dynatrace.com/api": "false",
            "container.inject.dynatrace.com/log-shipper": "false",
        }
    )
    assert not would_inject(index, "dynatrace", both, "apps")
    # exactly "false" for the container key
    assert would_inject(
        index,
        "dynatrace",
        template(annotations={"container.inject.dynatrace.com/api": "False"}),
        "apps",
        container="api",
    )


def test_dynatrace_namespace_must_be_mapped() -> None:
    index = index_of(namespace("apps"), DT_HOOK, dynakube())
    assert not would_inject(index, "dynatrace", template(), "apps")


@pytest.mark.parametrize(
    ("api", "path"),
    [
        ("v1beta1", ("spec", "namespaceSelector")),
        ("v1beta2", ("spec", "oneAgent", "cloudNativeFullStack", "namespaceSelector")),
    ],
)
def test_dynatrace_selector_lives_where_the_api_version_says(api: str, path: tuple[str, ...]) -> None:
    dk = dynakube(api)
    sel = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["apps"]}]}
    cur = dk
    for key in path[:-1]:
        cur = cur.setdefault(key, {})
    cur[path[-1]] = sel
    assert not would_inject(index_of(MAPPED, DT_HOOK, dk), "dynatrace", template(), "apps")
    other = "v1beta2" if api == "v1beta1" else "v1beta1"
    dk["apiVersion"] = f"dynatrace.com/{other}"  # same selector in the place the other version does not read
    assert would_inject(index_of(MAPPED, DT_HOOK, dk), "dynatrace", template(), "apps")


def test_dynatrace_feature_flags() -> None:
    off = dynakube(annotations={"feature.dynatrace.com/automatic-injection": "false"})
    index = index_of(MAPPED, DT_HOOK, off)
    assert not would_inject(index, "dynatrace", template(), "apps")
    assert would_inject(index, "dynatrace", template(annotations={"oneagent.dynatrace.com/inject": "true"}), "apps")
    ignored = dynakube(annotations={"feature.dynatrace.com/ignored-namespaces": '["^apps$"]'})
    assert not would_inject(index_of(MAPPED, DT_HOOK, ignored), "dynatrace", template(), "apps")
    # the defaults ignore the operator's own namespace and kube-*
    ops = namespace("dynatrace", {"dynakube.internal.dynatrace.com/instance": "dynakube"})
    assert not would_inject(index_of(ops, DT_HOOK, dynakube()), "dynatrace", template(), "dynatrace")
    by_dk = dynakube(annotations={"container.inject.dynatrace.com/api": "false"})
    assert not would_inject(index_of(MAPPED, DT_HOOK, by_dk), "dynatrace", template(), "apps", container="api")


def test_dynatrace_modes() -> None:
    assert not would_inject(index_of(MAPPED, DT_HOOK, dynakube(mode="hostMonitoring")), "dynatrace", template(), "apps")
    classic = index_of(namespace("apps"), DT_HOOK, dynakube(mode="classicFullStack"))
    opted_out = template(annotations={"dynatrace.com/inject": "false"})
    assert would_inject(classic, "dynatrace", opted_out, "apps")  # the host OneAgent ignores annotations
    # no DynaKube in the snapshot: the webhook's selectors decide, and the pod's own opt-out
    bare = index_of(MAPPED, DT_HOOK)
    assert would_inject(bare, "dynatrace", template(), "apps")
    assert not would_inject(bare, "dynatrace", opted_out, "apps")


def test_overrides_are_the_state_after_a_fix() -> None:
    index = index_of(MAPPED, DT_HOOK, dynakube())
    excluded = dynakube(annotations={"feature.dynatrace.com/ignored-namespaces": '["^apps$"]'})
    over = {ObjectRef("DynaKube", "dynatrace", "dynakube"): excluded}
    assert would_inject(index, "dynatrace", template(), "apps")
    assert not would_inject(index, "dynatrace", template(), "apps", overrides=over)
    verdict = decide(View(index, over), index.knowledge.injectors["dynatrace"], template(), "apps")
    assert verdict.reason == "DynaKube dynatrace/dynakube ignores namespace apps (^apps$)"


# --- other injectors --------------------------------------------------------------------------------------------


def test_istio_object_selector_label() -> None:
    hook = webhook(
        "istio-sidecar-injector",
        "namespace.sidecar-injector.istio.io",
        "istio-system",
        "istiod",
        nsel={"matchExpressions": [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}]},
        osel={"matchExpressions": [{"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}]},
    )
    index = index_of(namespace("shop", {"istio-injection": "enabled"}), hook)
    assert would_inject(index, "istio", template(), "shop")
    assert not would_inject(index, "istio", template(labels={"sidecar.istio.io/inject": "false"}), "shop")
    plain = index_of(namespace("shop"), hook)
    assert not would_inject(plain, "istio", template(), "shop")


def test_opentelemetry_pod_value_wins() -> None:
    hook = webhook(
        "opentelemetry-operator-mutation",
        "mpod.kb.io",
        "opentelemetry-operator-system",
        "opentelemetry-operator-webhook-service",
    )
    ns = namespace("orders", annotations={"instrumentation.opentelemetry.io/inject-dotnet": "true"})
    index = index_of(ns, hook)
    assert webhook_owner(index, "opentelemetry-operator-mutation", "mpod.kb.io", "x/y") == "opentelemetry"
    assert would_inject(index, "opentelemetry", template(), "orders")
    off = template(annotations={"instrumentation.opentelemetry.io/inject-dotnet": "false"})
    assert not would_inject(index, "opentelemetry", off, "orders")
    plain = index_of(namespace("orders"), hook)
    assert not would_inject(plain, "opentelemetry", template(), "orders")
    assert would_inject(
        plain, "opentelemetry", template(annotations={"instrumentation.opentelemetry.io/inject-java": "true"}), "orders"
    )


def test_datadog_label_and_namespace_lists() -> None:
    hook = webhook(
        "datadog-webhook",
        "datadog.webhook.auto.instrumentation",
        "datadog",
        "datadog-admission-controller",
        osel={
            "matchExpressions": [{"key": "admission.datadoghq.com/enabled", "operator": "NotIn", "values": ["false"]}]
        },
    )
    agent = {
        "apiVersion": "datadoghq.com/v2alpha1",
        "kind": "DatadogAgent",
        "metadata": {"name": "datadog", "namespace": "datadog", "uid": "dda-1"},
        "spec": {"features": {"apm": {"instrumentation": {"enabled": True, "disabledNamespaces": ["batch"]}}}},
    }
    index = index_of(namespace("billing"), namespace("batch"), namespace("kube-system"), hook, agent)
    assert would_inject(index, "datadog", template(), "billing")
    assert not would_inject(index, "datadog", template(labels={"admission.datadoghq.com/enabled": "false"}), "billing")
    assert not would_inject(index, "datadog", template(), "batch")
    assert not would_inject(index, "datadog", template(), "kube-system")
    assert not would_inject(index, "datadog", template(), "datadog")  # the agent's own namespace


def test_instana_namespace_label_and_pod_override() -> None:
    hook = webhook(
        "instana-autotrace-webhook",
        "autotrace-webhook.instana.com",
        "instana-autotrace-webhook",
        "instana-autotrace-webhook",
    )
    index = index_of(namespace("shop", {"instana-autotrace": "false"}), namespace("web"), hook)
    assert would_inject(index, "instana", template(), "web")
    assert not would_inject(index, "instana", template(), "shop")
    assert would_inject(index, "instana", template(labels={"instana-autotrace": "true"}), "shop")
    assert not would_inject(index, "instana", template(), "kube-system")


def test_newrelic_instrumentation_selectors() -> None:
    inst = {
        "apiVersion": "newrelic.com/v1beta2",
        "kind": "Instrumentation",
        "metadata": {"name": "newrelic-java", "namespace": "newrelic", "uid": "nr-1"},
        "spec": {
            "agent": {"language": "java"},
            "namespaceLabelSelector": {},
            "podLabelSelector": {"matchLabels": {"apm": "newrelic"}},
        },
    }
    otel = {
        "apiVersion": "opentelemetry.io/v1alpha1",
        "kind": "Instrumentation",
        "metadata": {"name": "default", "namespace": "search", "uid": "otel-1"},
        "spec": {},
    }
    index = index_of(namespace("search"), inst, otel)
    assert not would_inject(index, "newrelic", template(), "search")
    assert would_inject(index, "newrelic", template(labels={"apm": "newrelic"}), "search")


def test_linkerd_namespace_label_keeps_the_webhook_away() -> None:
    hook = webhook(
        "linkerd-proxy-injector-webhook-config",
        "linkerd-proxy-injector.linkerd.io",
        "linkerd",
        "linkerd-proxy-injector",
        nsel={
            "matchExpressions": [
                {"key": "config.linkerd.io/admission-webhooks", "operator": "NotIn", "values": ["disabled"]}
            ]
        },
    )
    meshed = namespace("web", annotations={"linkerd.io/inject": "enabled"})
    index = index_of(meshed, hook)
    assert would_inject(index, "linkerd", template(), "web")
    assert not would_inject(index, "linkerd", template(annotations={"linkerd.io/inject": "disabled"}), "web")
    away = namespace("web", {"config.linkerd.io/admission-webhooks": "disabled"}, {"linkerd.io/inject": "enabled"})
    assert not would_inject(index_of(away, hook), "linkerd", template(), "web")


def test_unknown_injector() -> None:
    with pytest.raises(ValueError, match="unknown injector"):
        would_inject(index_of(), "frobtrace", template(), "apps")


# --- node placement -------------------------------------------------------------------------------------------------


def test_tolerations_and_node_fit() -> None:
    taint = {"key": "dedicated", "value": "ci", "effect": "NoSchedule"}
    assert tolerates([{"key": "dedicated", "operator": "Equal", "value": "ci", "effect": "NoSchedule"}], taint)
    assert tolerates([{"key": "dedicated", "operator": "Exists"}], taint)
    assert tolerates([{"operator": "Exists"}], taint)
    assert not tolerates([{"key": "dedicated", "operator": "Equal", "value": "web"}], taint)
    assert not tolerates([{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}], taint)
    assert tolerates([], {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}, daemonset=True)
    node = {
        "kind": "Node",
        "metadata": {
            "name": "aks-ci-1",
            "labels": {"kubernetes.azure.com/agentpool": "ci", "kubernetes.io/os": "linux"},
        },
        "spec": {"taints": [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}]},
    }
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}
                ]
            }
        }
    }
    assert node_fits({"affinity": affinity}, node)
    assert not node_fits({"nodeSelector": {"kubernetes.azure.com/agentpool": "web"}}, node)
    spec = {"affinity": affinity, "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]}
    assert lands(spec, node, [], daemonset=True)
    assert not lands(spec, node, [taint], daemonset=True)
