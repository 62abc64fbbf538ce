"""The planning API of ``podmortem fix`` on the fixture cases: what the plans change, and what they say."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from remedy_cases import HERE, Case, load_case

from podmortem.index import Index
from podmortem.model.findings import Patch
from podmortem.model.objects import ObjectRef
from podmortem.model.snapshot import Snapshot
from podmortem.remedies import plan as plan_module
from podmortem.remedies.common import PlannedRemedy, template_of
from podmortem.remedies.fix import (
    SCHEMA,
    Change,
    choose_remedy,
    diagnose_index,
    index_with,
    plan_fix,
    plan_to_dict,
    to_yaml_documents,
    unified_diff,
    would_inject,
)
from podmortem.rules.registry import TIER_STATE, Candidate

AGENT = ObjectRef("Deployment", "build-agents", "azure-devops-agent")


def case(name: str) -> Case:
    return load_case(HERE / name)


def plan_of(name: str, remedy_id: str):  # type: ignore[no-untyped-def]
    c = case(name)
    return plan_fix(c.index, c.finding, choose_remedy(c.finding, remedy_id))


def agent_template(index: Index) -> dict:  # type: ignore[type-arg]
    tpl = template_of(index.snap.get("Deployment", "build-agents", "azure-devops-agent"))
    assert tpl is not None
    return tpl


# --- the seed case -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "remedy_id",
    ["dynatrace.container-inject-false", "dynatrace.dynatrace-inject-false", "dynatrace.oneagent-inject-false"],
)
def test_seed_pod_exclusion_stops_injection_of_new_pods(remedy_id: str) -> None:
    c = case("dynatrace-seed-v1beta2")
    assert would_inject(c.index, "dynatrace", agent_template(c.index), "build-agents")
    plan = plan_fix(c.index, c.finding, choose_remedy(c.finding, remedy_id))
    (change,) = plan.changes
    assert change.target == AGENT
    after = template_of(change.after)
    assert after is not None
    assert not would_inject(c.index, "dynatrace", after, "build-agents")
    assert not would_inject(c.index, "dynatrace", after, "build-agents", container="azp-agent")
    # the key is on the pod template, never on the Deployment's own metadata
    assert change.after["metadata"] == change.before["metadata"]
    assert any("Selection check" in n and "would not inject" in n for n in plan.notes)


def test_default_remedy_is_the_per_container_exclusion() -> None:
    c = case("dynatrace-seed-v1beta2")
    remedy = choose_remedy(c.finding)
    assert remedy.id == "dynatrace.container-inject-false"
    assert remedy.safety == "safe"
    assert remedy.patch is not None
    assert remedy.patch.body == {
        "spec": {"template": {"metadata": {"annotations": {"container.inject.dynatrace.com/azp-agent": "false"}}}}
    }


def test_choose_remedy_by_short_id_and_errors() -> None:
    c = case("dynatrace-seed-v1beta2")
    assert choose_remedy(c.finding, "dynakube-ignored-namespaces").id == "dynatrace.dynakube-ignored-namespaces"
    with pytest.raises(ValueError, match="no remedy 'frobnicate'") as err:
        choose_remedy(c.finding, "frobnicate")
    assert "\n" not in str(err.value)
    assert "dynatrace.container-inject-false (safe)" in str(err.value)
    oom = case("oom-deployment")
    with pytest.raises(ValueError, match="no safe remedy"):
        choose_remedy(oom.finding)


def test_namespace_selector_placement_depends_on_the_dynakube_api_version() -> None:
    v2 = plan_of("dynatrace-seed-v1beta2", "dynatrace.dynakube-namespace-selector-notin")
    v1 = plan_of("dynatrace-v1beta1", "dynatrace.dynakube-namespace-selector-notin")
    v3 = plan_of("dynatrace-v1beta3-appmon", "dynatrace.dynakube-namespace-selector-notin")
    assert v2.changes[0].patch.body == [
        {
            "op": "add",
            "path": "/spec/oneAgent/cloudNativeFullStack/namespaceSelector",
            "value": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["build-agents"]}
                ]
            },
        }
    ]
    # v1beta1: one global selector, and its existing NotIn expression on the same key gets the namespace
    ops1 = v1.changes[0].patch.body
    assert [o["op"] for o in ops1] == ["test", "add"]
    assert ops1[1] == {
        "op": "add",
        "path": "/spec/namespaceSelector/matchExpressions/0/values/-",
        "value": "build-agents",
    }
    assert v1.changes[0].after["spec"]["namespaceSelector"]["matchExpressions"][0]["values"] == [
        "monitoring",
        "build-agents",
    ]
    assert "namespaceSelector" not in v1.changes[0].after["spec"]["oneAgent"]["cloudNativeFullStack"]
    # v1beta3 in applicationMonitoring: the mode actually set, and the matchLabels stay
    sel = v3.changes[0].after["spec"]["oneAgent"]["applicationMonitoring"]["namespaceSelector"]
    assert sel["matchLabels"] == {"monitoring.contoso.io/apm": "dynatrace"}
    assert sel["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["build-agents"]}
    ]
    for name, plan in (("dynatrace-seed-v1beta2", v2), ("dynatrace-v1beta1", v1), ("dynatrace-v1beta3-appmon", v3)):
        index = case(name).index
        assert would_inject(index, "dynatrace", agent_template(index), "build-agents"), name
        after = index_with(index, plan.changes)
        assert not would_inject(after, "dynatrace", agent_template(after), "build-agents"), name


def test_ignored_namespaces_keep_the_defaults_and_existing_entries() -> None:
    seed = plan_of("dynatrace-seed-v1beta2", "dynatrace.dynakube-ignored-namespaces")
    value = json.loads(seed.changes[0].after["metadata"]["annotations"]["feature.dynatrace.com/ignored-namespaces"])
    assert value == ["^dynatrace$", "^kube-.*", "^openshift(-.*)?", "^gke-.*", "^gmp-.*", "^build-agents$"]
    v1 = plan_of("dynatrace-v1beta1", "dynatrace.dynakube-ignored-namespaces")
    value = json.loads(v1.changes[0].after["metadata"]["annotations"]["feature.dynatrace.com/ignored-namespaces"])
    assert value[:-1] == ["^dynatrace$", "^kube-.*", "^openshift(-.*)?", "^gke-.*", "^gmp-.*", "^sandbox-.*"]
    assert value[-1] == "^build-agents$"


def test_node_pool_plan_lists_the_csi_driver_and_the_webhook() -> None:
    plan = plan_of("dynatrace-seed-v1beta2", "dynatrace.node-pool-isolation")
    targets = [ch.target for ch in plan.changes]
    assert targets[0] == AGENT
    assert sorted(t.name for t in targets if t.kind == "Node") == [
        "aks-agentpool-31498826-vmss000000",
        "aks-agentpool-31498826-vmss000001",
    ]
    for ch in plan.changes[1:]:
        assert {"key": "dedicated", "value": "build-agents", "effect": "NoSchedule"} in ch.after["spec"]["taints"]
    spec = plan.changes[0].after["spec"]["template"]["spec"]
    assert {"key": "dedicated", "operator": "Equal", "value": "build-agents", "effect": "NoSchedule"} in spec[
        "tolerations"
    ]
    assert spec["nodeSelector"] == {"kubernetes.azure.com/agentpool": "agentpool"}
    annotations = plan.changes[0].after["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"container.inject.dynatrace.com/azp-agent": "false"}
    text = "\n".join(plan.notes)
    assert "dynatrace/dynatrace-oneagent-csi-driver (CSI driver csi.oneagent.dynatrace.com)" in text
    assert "would no longer run on agentpool" in text
    assert (
        "Webhook dynatrace-webhook/webhook.pod.dynatrace.com (Dynatrace) is still called but leaves them alone" in text
    )
    assert "Deployment/build-agents/azure-devops-agent-canary" in text
    index = case("dynatrace-seed-v1beta2").index
    assert not would_inject(
        index_with(index, plan.changes), "dynatrace", template_of(plan.changes[0].after) or {}, "build-agents"
    )


def test_node_pool_remedy_in_the_report_does_not_depend_on_node_names() -> None:
    c = case("dynatrace-seed-v1beta2")
    remedy = choose_remedy(c.finding, "dynatrace.node-pool-isolation")
    assert remedy.target == AGENT
    assert (
        "kubectl taint nodes -l kubernetes.azure.com/agentpool=agentpool dedicated=build-agents:NoSchedule"
        in "\n".join(remedy.commands)
    )
    assert remedy.commands[0].startswith("az aks nodepool update")


# --- pins and rollbacks --------------------------------------------------------------------------------------


def test_code_modules_pin_uses_the_version_a_healthy_pod_runs() -> None:
    plan = plan_of("dynatrace-pin-v1beta2", "dynatrace.dynakube-code-modules-image")
    (ch,) = plan.changes
    assert ch.patch == Patch(
        "merge",
        {
            "spec": {
                "oneAgent": {
                    "cloudNativeFullStack": {
                        "codeModulesImage": "public.ecr.aws/dynatrace/dynatrace-codemodules:1.293.165.20240723-130512"
                    }
                }
            }
        },
    )
    assert not any(n.startswith("Selection check") for n in plan.notes)
    assert any("1.293.165.20240723-130512 is the newest version" in n for n in plan.notes)
    # without such a pod there is nothing to pin to: manual, no change
    seed = case("dynatrace-seed-v1beta2")
    remedy = choose_remedy(seed.finding, "dynatrace.dynakube-code-modules-image")
    assert remedy.safety == "manual" and remedy.patch is None
    assert "no known-good version" in remedy.notes
    # cloudNativeFullStack.version pins code modules only from operator 1.4; the seed runs 1.2.2
    ids = {r.id for r in seed.finding.remedies}
    assert "dynatrace.dynakube-code-modules-version-cloudnative" not in ids
    assert "dynatrace.dynakube-code-modules-version" not in ids  # applicationMonitoring only


def test_operator_rollback_finds_the_previous_images() -> None:
    plan = plan_of("dynatrace-operator-upgrade", "dynatrace.operator-helm-rollback")
    refs = {str(ch.target) for ch in plan.changes}
    assert refs == {
        "Deployment/dynatrace/dynatrace-operator",
        "Deployment/dynatrace/dynatrace-webhook",
        "DaemonSet/dynatrace/dynatrace-oneagent-csi-driver",
    }
    for ch in plan.changes:
        assert ch.managed_by == "Helm"
        spec = ch.after["spec"]["template"]["spec"]
        images = [
            c["image"]
            for c in spec.get("initContainers", []) + spec["containers"]
            if "dynatrace-operator" in c["image"]
        ]
        assert images and all(i.endswith(":v1.1.0") for i in images), images
    assert any("helm rollback" in n for n in plan.notes)
    assert choose_remedy(case("dynatrace-seed-v1beta2").finding, "dynatrace.operator-helm-rollback").safety == "manual"


# --- managed objects, other injectors ---------------------------------------------------------------------------


def test_gitops_managed_workload_is_flagged() -> None:
    plan = plan_of("dynatrace-gitops", "dynatrace.container-inject-false")
    assert plan.changes[0].managed_by == "Argo CD"
    assert any("managed by Argo CD" in n and "reverted" in n for n in plan.notes)
    seed = plan_of("dynatrace-seed-v1beta2", "dynatrace.container-inject-false")
    assert seed.changes[0].managed_by == ""


def test_appdynamics_plan_says_patching_pods_will_not_stick() -> None:
    c = case("appdynamics-workload")
    plan = plan_fix(c.index, c.finding, choose_remedy(c.finding, "appdynamics.appd-narrow-rules"))
    assert any("patching pods won't stick" in n for n in plan.notes)
    assert [str(ch.target) for ch in plan.changes] == [
        "Clusteragent/appdynamics/k8s-cluster-agent",
        "Deployment/build-agents/azure-devops-agent",
    ]
    assert plan.changes[0].after["spec"]["nsToInstrumentRegex"] == "^(payments)$"
    tpl_after = template_of(plan.changes[1].after) or {}
    assert "initContainers" not in tpl_after["spec"]
    env = [e["name"] for e in tpl_after["spec"]["containers"][0]["env"]]
    assert not [n for n in env if n.startswith(("APPDYNAMICS_", "CORECLR_"))]
    assert would_inject(c.index, "appdynamics", agent_template(c.index), "build-agents")
    # the template alone is not enough while the Cluster Agent still selects the namespace
    strip_only = [ch for ch in plan.changes if ch.target.kind == "Deployment"]
    assert would_inject(index_with(c.index, strip_only), "appdynamics", tpl_after, "build-agents")
    assert not would_inject(index_with(c.index, plan.changes), "appdynamics", tpl_after, "build-agents")
    for r in c.finding.remedies:
        assert not r.patch or r.target != ObjectRef("Pod", "build-agents", r.target.name if r.target else "")


def test_datadog_namespace_list_does_not_help_a_pod_that_opts_in() -> None:
    c = case("datadog-operator")
    remedy = choose_remedy(c.finding, "datadog.datadog-ssi-disabled-namespaces")
    assert remedy.safety == "manual"
    assert "Check failed" in remedy.notes and "admission.datadoghq.com/java-lib.version" in remedy.notes
    helm = case("datadog-helm")
    manual = choose_remedy(helm.finding, "datadog.datadog-ssi-disabled-namespaces")
    assert manual.patch is None
    assert any(
        "--set-json 'datadog.apm.instrumentation.disabledNamespaces=[\"billing\"]'" in cmd for cmd in manual.commands
    )


def test_webhook_down_offers_only_selector_level_exclusions() -> None:
    c = case("istio-webhook-down")
    ids = [r.id for r in c.finding.remedies]
    assert ids[0] == "istio.restore-webhook"
    assert "istio.istio-inject-false-label" in ids
    assert "istio.istio-inject-false-annotation" not in ids  # the API server calls the webhook before reading it


def test_opentelemetry_offers_only_the_language_it_injects() -> None:
    ids = [r.id for r in case("opentelemetry-dotnet").finding.remedies]
    assert "opentelemetry.otel-inject-dotnet-false" in ids
    assert not [
        i for i in ids if i.startswith("opentelemetry.otel-inject-") and i != "opentelemetry.otel-inject-dotnet-false"
    ]


def test_annotation_on_the_deployment_metadata_is_called_out() -> None:
    base = case("dynatrace-seed-v1beta2").index
    dep = copy.deepcopy(base.snap.get("Deployment", "build-agents", "azure-devops-agent"))
    assert dep is not None
    dep["metadata"]["annotations"]["dynatrace.com/inject"] = "false"
    index = index_with(base, [Change(AGENT, {}, dep, Patch("merge", {}), "")])
    assert would_inject(index, "dynatrace", agent_template(index), "build-agents")
    finding = next(f for f in diagnose_index(index) if f.workload == AGENT)
    plan = plan_fix(index, finding, choose_remedy(finding, "dynatrace.dynatrace-inject-false"))
    assert any("on its own metadata, where it does nothing" in n for n in plan.notes)


# --- the plan's outputs ---------------------------------------------------------------------------------------


def test_plan_fix_fails_in_one_line_when_the_target_is_missing() -> None:
    c = case("dynatrace-seed-v1beta2")
    remedy = choose_remedy(c.finding, "dynatrace.dynakube-namespace-selector-notin")
    objects = {k: dict(v) for k, v in c.index.snap.objects.items() if k != "DynaKube"}
    index = Index(Snapshot(c.index.snap.source, objects=objects), c.index.knowledge)
    with pytest.raises(ValueError) as err:
        plan_fix(index, c.finding, remedy)
    assert str(err.value).startswith("DynaKube/dynatrace/dynakube is not in the snapshot")
    assert "\n" not in str(err.value)


def test_unified_diff_is_labelled_and_masks_secrets() -> None:
    plan = plan_of("dynatrace-seed-v1beta2", "dynatrace.node-pool-isolation")
    diff = unified_diff(plan.changes[0])
    assert diff.startswith(
        "--- a/Deployment/build-agents/azure-devops-agent\n+++ b/Deployment/build-agents/azure-devops-agent\n"
    )
    assert "+        container.inject.dynatrace.com/azp-agent: 'false'\n" in diff
    assert unified_diff(plan.changes[1]).startswith("--- a/Node/aks-agentpool-31498826-vmss000000\n")
    canary = case("dynatrace-seed-v1beta2").index.snap.get("Deployment", "build-agents", "azure-devops-agent-canary")
    assert canary is not None
    token = next(
        e["value"]
        for e in canary["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"] == "AZP_TOKEN" and "value" in e
    )
    after = copy.deepcopy(canary)
    after["spec"]["replicas"] = 2
    change = Change(ObjectRef.of(canary), canary, after, Patch("merge", {"spec": {"replicas": 2}}), "")
    text = unified_diff(change)
    assert "+  replicas: 2" in text
    assert token not in text


def test_yaml_documents_full_and_patch_forms() -> None:
    plan = plan_of("dynatrace-seed-v1beta2", "dynatrace.dynakube-namespace-label-notin")
    full = list(yaml.safe_load_all(to_yaml_documents(plan)))
    assert [d["kind"] for d in full] == ["Namespace", "DynaKube"]
    for d in full:
        assert list(d)[:3] == ["apiVersion", "kind", "metadata"]
        assert "status" not in d
        for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"):
            assert key not in d["metadata"]
    assert full[0]["metadata"]["labels"]["dt-injection"] == "disabled"
    patches = list(yaml.safe_load_all(to_yaml_documents(plan, full=False)))
    assert patches[0] == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "build-agents", "labels": {"dt-injection": "disabled"}},
    }
    # the JSON patch of the DynaKube becomes the equivalent partial manifest
    assert patches[1] == {
        "apiVersion": "dynatrace.com/v1beta2",
        "kind": "DynaKube",
        "metadata": {"name": "dynakube", "namespace": "dynatrace"},
        "spec": {
            "oneAgent": {
                "cloudNativeFullStack": {
                    "namespaceSelector": {
                        "matchExpressions": [{"key": "dt-injection", "operator": "NotIn", "values": ["disabled"]}]
                    }
                }
            }
        },
    }
    workload = plan_of("dynatrace-seed-v1beta2", "dynatrace.container-inject-false")
    (doc,) = yaml.safe_load_all(to_yaml_documents(workload, full=False))
    assert doc == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "azure-devops-agent", "namespace": "build-agents"},
        "spec": {"template": {"metadata": {"annotations": {"container.inject.dynatrace.com/azp-agent": "false"}}}},
    }
    (full_dep,) = yaml.safe_load_all(to_yaml_documents(workload))
    assert "kubectl.kubernetes.io/last-applied-configuration" not in full_dep["metadata"].get("annotations", {})


def test_full_manifests_refuse_masked_values() -> None:
    plan = plan_of("dynatrace-seed-v1beta2", "dynatrace.container-inject-false")
    masked = copy.deepcopy(plan.changes[0].after)
    masked["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "AZP_PAT", "value": "<redacted>"})
    plan.changes[0].after = masked
    with pytest.raises(ValueError, match="masked values"):
        to_yaml_documents(plan)
    assert to_yaml_documents(plan, full=False)


def test_plan_to_dict_is_json() -> None:
    plan = plan_of("dynatrace-seed-v1beta2", "dynatrace.node-pool-isolation")
    doc = plan_to_dict(plan)
    json.dumps(doc)
    assert doc["schema"] == SCHEMA
    assert doc["finding"]["workload"] == AGENT.to_dict()
    assert doc["remedy"]["id"] == "dynatrace.node-pool-isolation"
    assert [c["target"]["kind"] for c in doc["changes"]] == ["Deployment", "Node", "Node"]
    assert all(c["diff"].startswith("--- a/") for c in doc["changes"])
    assert doc["notes"] == plan.notes


def test_manual_remedy_plans_no_change() -> None:
    c = case("dynatrace-seed-v1beta2")
    remedy = choose_remedy(c.finding, "dynatrace.operator-helm-rollback")
    plan = plan_fix(c.index, c.finding, remedy)
    assert plan.changes == []
    assert plan.notes[0].startswith("dynatrace.operator-helm-rollback is a manual remedy")


def test_a_crashing_planner_leaves_a_manual_remedy(monkeypatch: pytest.MonkeyPatch) -> None:
    c = case("oom-deployment")

    def boom(*_: object) -> list[PlannedRemedy]:
        raise KeyError("spec")

    monkeypatch.setattr(plan_module, "other_remedies", boom)
    cand = Candidate(copy.copy(c.finding), TIER_STATE, set(), hints={"container": "pricing-engine"})
    plan_module.attach(c.index, [cand])
    (remedy,) = cand.finding.remedies
    assert remedy.id == "remedy-planning-failed" and remedy.safety == "manual"
    assert "KeyError" in remedy.notes


def test_case_folders_exist() -> None:
    assert (HERE / "dynatrace-seed-v1beta2" / "case.yaml").exists()
    assert isinstance(HERE, Path)


# --- values taken from the snapshot ---------------------------------------------------------------------------


def _healthy_copy(pod: dict, name: str, created: str) -> dict:  # type: ignore[type-arg]
    """A running, ready copy of a pod (as if created earlier and never failing)."""
    out = copy.deepcopy(pod)
    out["metadata"]["name"] = name
    out["metadata"]["uid"] = f"uid-{name}"
    out["metadata"]["creationTimestamp"] = created
    st = out["status"]
    st["phase"] = "Running"
    for cond in st.get("conditions", []):
        cond["status"] = "True"
    for cs in st.get("containerStatuses", []):
        cs.update(ready=True, started=True, restartCount=0, lastState={}, state={"running": {"startedAt": created}})
    return out


def _with_objects(index: Index, objs: list[dict]) -> Index:  # type: ignore[type-arg]
    return index_with(index, [Change(ObjectRef.of(o), {}, o, Patch("merge", {}), "") for o in objs])


def test_operator_era_decides_the_container_exclusion() -> None:
    base = case("dynatrace-seed-v1beta2").index
    old = []
    for p in base.snap.of_kind("Pod"):
        if p["metadata"]["name"].startswith("azure-devops-agent-6d9f7c8b45-"):
            q = copy.deepcopy(p)
            for c in q["spec"]["initContainers"]:
                c["image"] = c["image"].replace(":v1.2.2", ":v0.15.0")
            old.append(q)
    index = _with_objects(base, old)
    finding = next(f for f in diagnose_index(index) if f.workload == AGENT)
    ids = [r.id for r in finding.remedies]
    assert "dynatrace.container-inject-false" not in ids  # container.inject.dynatrace.com needs operator 1.0
    assert choose_remedy(finding).id == "dynatrace.dynatrace-inject-false"


def test_opentelemetry_pin_takes_the_image_a_healthy_pod_runs() -> None:
    c = case("opentelemetry-dotnet")
    pod = c.index.snap.get("Pod", "orders", "orders-api-5f7d9c8b6d-c49jw")
    assert pod is not None
    good = _healthy_copy(pod, "orders-api-5f7d9c8b6d-q8h2m", "2024-06-11T07:40:12Z")
    good["spec"]["initContainers"][0]["image"] = "shopacr.azurecr.io/platform/otel-dotnet-autoinstr:2024.04"
    index = _with_objects(c.index, [good])
    finding = next(f for f in diagnose_index(index) if f.workload == c.finding.workload)
    plan = plan_fix(index, finding, choose_remedy(finding, "opentelemetry.otel-instrumentation-image"))
    (ch,) = plan.changes
    assert ch.target.kind == "Instrumentation"
    assert ch.after["spec"]["dotnet"]["image"] == "shopacr.azurecr.io/platform/otel-dotnet-autoinstr:2024.04"


def test_startup_probe_is_sized_from_a_start_that_succeeded() -> None:
    c = case("probe-liveness")
    pod = c.index.snap.get("Pod", "api", "quotes-api-g69w64xlmd-wndqx")
    assert pod is not None
    peer = _healthy_copy(pod, "quotes-api-g69w64xlmd-p2x7k", "2024-08-14T08:00:00Z")
    peer["status"]["containerStatuses"][0]["state"] = {"running": {"startedAt": "2024-08-14T08:00:05Z"}}
    for cond in peer["status"]["conditions"]:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["lastTransitionTime"] = "2024-08-14T08:02:15Z"  # ready 130 s after the start
    index = _with_objects(c.index, [peer])
    finding = next(f for f in diagnose_index(index) if f.workload == c.finding.workload and f.rule == "probe.liveness")
    remedy = choose_remedy(finding, "probe.add-startup-probe")
    assert remedy.safety == "safe"  # based on a start that worked, not on a guess
    probe = remedy.patch.body["spec"]["template"]["spec"]["containers"][0]["startupProbe"]  # type: ignore[union-attr]
    assert probe["periodSeconds"] == 10 and probe["failureThreshold"] == 26  # 2 x 130 s
    assert probe["httpGet"] == {"path": "/healthz", "port": 8080, "scheme": "HTTP"}
    # without it the plan falls back on the killed runs and says it is a guess
    assert choose_remedy(c.finding, "probe.add-startup-probe").safety == "unsafe"


def test_memory_limit_comes_from_an_earlier_revision() -> None:
    c = case("oom-deployment")
    rs = c.index.snap.get("ReplicaSet", "pricing", "pricing-engine-68f4b9d7c5")
    assert rs is not None
    older = copy.deepcopy(rs)
    older["metadata"]["name"] = "pricing-engine-7c9d8b6f54"
    older["metadata"]["uid"] = "uid-pricing-engine-7c9d8b6f54"
    older["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "15"
    older["spec"]["replicas"] = 0
    res = older["spec"]["template"]["spec"]["containers"][0]["resources"]
    res["limits"]["memory"] = "384Mi"
    res["requests"]["memory"] = "384Mi"
    index = _with_objects(c.index, [older])
    finding = next(f for f in diagnose_index(index) if f.workload == c.finding.workload)
    remedy = choose_remedy(finding, "oom.raise-memory-limit")
    assert remedy.title == "raise the memory limit of pricing-engine from 256Mi to 384Mi"
    assert "revision 15 of Deployment/pricing/pricing-engine" in remedy.notes
    body = remedy.patch.body  # type: ignore[union-attr]
    assert body["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "limits": {"memory": "384Mi"},
        "requests": {"memory": "384Mi"},  # request == limit before: Guaranteed QoS is kept
    }
