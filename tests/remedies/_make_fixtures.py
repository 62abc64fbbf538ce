#!/usr/bin/env python3
"""Write the fixture folders of tests/remedies/ (``case.yaml`` and, where needed, overlay objects).

Each case reuses a bundle that already exists (an example under ``examples/`` or a rule fixture under
``tests/rules/``) and, when the remedy needs something that bundle lacks, adds objects derived from that
bundle's own objects (deep copies with a few fields changed), shaped like ``kubectl get -o yaml`` output.
Overlay files are listed first in ``sources``, so their objects replace the bundle's (same kind, namespace,
name). The expected results, ``fixed.<remedy-id>.yaml``, are written by the test itself with
``PODMORTEM_UPDATE_GOLDEN=1`` and reviewed by hand.

Deterministic: run it twice, get identical files. ``python3 tests/remedies/_make_fixtures.py``
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEED = ROOT / "examples" / "aks-azure-pipelines-dynatrace"
RULES = ROOT / "tests" / "rules"

Obj = dict[str, Any]


def uid(*parts: object) -> str:
    x = hashlib.sha256("\x1f".join(str(p) for p in ("remedies", *parts)).encode()).hexdigest()
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{'89ab'[int(x[16], 16) % 4]}{x[17:20]}-{x[20:32]}"


def typed_items(path: Path, kind: str, api: str) -> list[Obj]:
    doc = json.loads(path.read_text())
    out = []
    for item in doc["items"]:
        obj = {"apiVersion": api, "kind": kind, **item}
        out.append(obj)
    return out


def seed(ns: str, file: str, kind: str, api: str, name: str) -> Obj:
    for obj in typed_items(SEED / ns / file, kind, api):
        if obj["metadata"]["name"] == name:
            return copy.deepcopy(obj)
    raise KeyError(name)


def seed_dynakube() -> Obj:
    return yaml.safe_load((SEED / "dynakube.yaml").read_text())


def rule_objects(case: str) -> list[Obj]:
    folder = RULES / case
    out: list[Obj] = []
    for f in sorted(folder.glob("objects.*")):
        docs = [json.loads(f.read_text())] if f.suffix == ".json" else list(yaml.safe_load_all(f.read_text()))
        for d in docs:
            if d:
                out.extend(d["items"] if d.get("kind") == "List" else [d])
    return out


def as_list_doc(objs: list[Obj]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "items": objs, "kind": "List", "metadata": {"resourceVersion": ""}})


def write_case(name: str, spec: Obj, overlay: list[Obj] | None = None, logs: dict[str, str] | None = None) -> None:
    """Write ``case.yaml`` and the overlay: ``objects.yaml`` beside it, or a ``bundle/`` folder when it has logs."""
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    sources = list(spec.pop("sources"))
    if overlay and logs:
        (folder / "bundle").mkdir(exist_ok=True)
        (folder / "bundle" / "objects.yaml").write_text(as_list_doc(overlay))
        for rel, text in logs.items():
            p = folder / "bundle" / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        sources.insert(0, "bundle")
    elif overlay:
        (folder / "objects.yaml").write_text(as_list_doc(overlay))
        sources.insert(0, "objects.yaml")
    doc = {"description": spec.pop("description"), "sources": sources, **spec}
    (folder / "case.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=110))


EXAMPLE = "../../../examples/"
RULE = "../../rules/"

# --- DynaKube variants ---------------------------------------------------------------------------------------


def dynakube_v1beta1() -> Obj:
    dk = seed_dynakube()
    dk["apiVersion"] = "dynatrace.com/v1beta1"
    dk["metadata"]["annotations"] = {
        "feature.dynatrace.com/ignored-namespaces": '["^dynatrace$","^kube-.*","^openshift(-.*)?","^gke-.*",'
        '"^gmp-.*","^sandbox-.*"]'
    }
    spec = dk["spec"]
    spec.pop("metadataEnrichment")
    spec["namespaceSelector"] = {
        "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["monitoring"]}]
    }
    return dk


def dynakube_v1beta3_appmon() -> Obj:
    dk = seed_dynakube()
    dk["apiVersion"] = "dynatrace.com/v1beta3"
    spec = dk["spec"]
    spec["metadataEnrichment"] = {"enabled": False}
    spec["oneAgent"] = {
        "applicationMonitoring": {"namespaceSelector": {"matchLabels": {"monitoring.contoso.io/apm": "dynatrace"}}}
    }
    dk["status"]["codeModules"]["source"] = "tenant-registry"
    return dk


def healthy_injected_pod(version: str) -> Obj:
    """An agent pod created before the code-modules update, injected with an older version, running fine."""
    pod = seed("build-agents", "pods.json", "Pod", "v1", "azure-devops-agent-6d9f7c8b45-mkklc")
    name = "azure-devops-agent-6d9f7c8b45-w8fzq"
    md = pod["metadata"]
    md["name"] = name
    md["uid"] = uid("pod", name)
    md["creationTimestamp"] = "2024-08-08T14:12:40Z"
    md["resourceVersion"] = "47020551"
    for c in pod["spec"]["initContainers"]:
        for e in c.get("env", []):
            if e["name"] == "VERSION":
                e["value"] = version
            if e["name"] == "K8S_BASEPODNAME":
                e["value"] = "azure-devops-agent-6d9f7c8b45"
    pod["spec"]["nodeName"] = "aks-agentpool-31498826-vmss000001"
    st = pod["status"]
    st["phase"] = "Running"
    st["startTime"] = "2024-08-08T14:12:40Z"
    for cond in st["conditions"]:
        cond["status"] = "True"
        cond["lastTransitionTime"] = "2024-08-08T14:13:09Z"
        cond.pop("reason", None)
        cond.pop("message", None)
    for cs in st.get("initContainerStatuses", []):
        term = cs["state"]["terminated"]
        term["startedAt"] = "2024-08-08T14:12:44Z"
        term["finishedAt"] = "2024-08-08T14:12:52Z"
        cs["containerID"] = "containerd://" + hashlib.sha256(f"{name}/init".encode()).hexdigest()
    for cs in st["containerStatuses"]:
        cs["ready"] = True
        cs["started"] = True
        cs["restartCount"] = 0
        cs["state"] = {"running": {"startedAt": "2024-08-08T14:12:53Z"}}
        cs["lastState"] = {}
        cs["containerID"] = "containerd://" + hashlib.sha256(f"{name}/app".encode()).hexdigest()
    st["podIP"] = "10.244.2.31"
    st["podIPs"] = [{"ip": "10.244.2.31"}]
    return pod


def namespace_with(labels: dict[str, str]) -> Obj:
    doc = yaml.safe_load((SEED / "cluster-scoped.yaml").read_text())
    for item in doc["items"]:
        if item["kind"] == "Namespace" and item["metadata"]["name"] == "build-agents":
            ns = copy.deepcopy(item)
            ns["metadata"]["labels"].update(labels)
            return ns
    raise KeyError("build-agents")


# --- operator revisions ----------------------------------------------------------------------------------------


def old_replicaset(deploy: str, hash_: str, revision: int, image_tag: str) -> Obj:
    rs = next(
        copy.deepcopy(o)
        for o in typed_items(SEED / "dynatrace" / "replicasets.json", "ReplicaSet", "apps/v1")
        if o["metadata"]["name"].startswith(deploy + "-")
    )
    old = rs["metadata"]["name"].rsplit("-", 1)[1]
    name = f"{deploy}-{hash_}"
    md = rs["metadata"]
    md["name"] = name
    md["uid"] = uid("rs", name)
    md["creationTimestamp"] = "2024-06-18T09:41:12Z"
    md["resourceVersion"] = "39881220"
    md["generation"] = 3
    md["labels"]["pod-template-hash"] = hash_
    md["labels"]["app.kubernetes.io/version"] = image_tag.lstrip("v")
    md["labels"]["helm.sh/chart"] = f"dynatrace-operator-{image_tag.lstrip('v')}"
    md["annotations"]["deployment.kubernetes.io/revision"] = str(revision)
    rs["spec"]["replicas"] = 0
    rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] = hash_
    tpl = rs["spec"]["template"]
    tpl["metadata"]["labels"]["pod-template-hash"] = hash_
    tpl["metadata"]["labels"]["app.kubernetes.io/version"] = image_tag.lstrip("v")
    tpl["metadata"]["labels"]["helm.sh/chart"] = f"dynatrace-operator-{image_tag.lstrip('v')}"
    for c in tpl["spec"]["containers"]:
        c["image"] = c["image"].rsplit(":", 1)[0] + ":" + image_tag
    rs["status"] = {"observedGeneration": 3, "replicas": 0}
    assert old != hash_
    return rs


def csi_revisions() -> list[Obj]:
    ds = seed("dynatrace", "daemonsets.json", "DaemonSet", "apps/v1", "dynatrace-oneagent-csi-driver")
    out = []
    for rev, tag, hash_, created in (
        (3, "v1.1.0", "7b9d5c8f64", "2024-06-18T09:41:15Z"),
        (4, "v1.2.2", "5d6f8b9c47", "2024-07-23T08:02:31Z"),
    ):
        tpl = copy.deepcopy(ds["spec"]["template"])
        for c in tpl["spec"].get("initContainers", []) + tpl["spec"]["containers"]:
            if "dynatrace-operator:" in c["image"]:
                c["image"] = c["image"].rsplit(":", 1)[0] + ":" + tag
        tpl["metadata"]["labels"]["app.kubernetes.io/version"] = tag.lstrip("v")
        tpl["$patch"] = "replace"
        name = f"dynatrace-oneagent-csi-driver-{hash_}"
        labels = dict(ds["spec"]["selector"]["matchLabels"])
        labels["controller-revision-hash"] = hash_
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "ControllerRevision",
                "metadata": {
                    "annotations": {"deprecated.daemonset.template.generation": str(rev)},
                    "creationTimestamp": created,
                    "labels": labels,
                    "name": name,
                    "namespace": "dynatrace",
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "blockOwnerDeletion": True,
                            "controller": True,
                            "kind": "DaemonSet",
                            "name": ds["metadata"]["name"],
                            "uid": ds["metadata"]["uid"],
                        }
                    ],
                    "resourceVersion": str(40000000 + rev),
                    "uid": uid("cr", name),
                },
                "data": {"spec": {"template": tpl}},
                "revision": rev,
            }
        )
    return out


# --- other injectors ---------------------------------------------------------------------------------------------


def datadog_agent() -> Obj:
    return {
        "apiVersion": "datadoghq.com/v2alpha1",
        "kind": "DatadogAgent",
        "metadata": {
            "creationTimestamp": "2024-04-02T11:20:05Z",
            "generation": 4,
            "name": "datadog",
            "namespace": "datadog",
            "resourceVersion": "31877204",
            "uid": uid("datadogagent"),
        },
        "spec": {
            "features": {
                "admissionController": {"enabled": True, "mutateUnlabelled": False},
                "apm": {
                    "enabled": True,
                    "instrumentation": {"disabledNamespaces": ["kube-public", "monitoring"], "enabled": True},
                },
            },
            "global": {
                "clusterName": "aks-prod-weu",
                "credentials": {"apiSecret": {"keyName": "api-key", "secretName": "datadog-secret"}},
                "site": "datadoghq.eu",
            },
        },
        "status": {
            "conditions": [
                {
                    "lastTransitionTime": "2024-04-02T11:20:41Z",
                    "message": "DatadogAgent reconciled",
                    "reason": "Reconciled",
                    "status": "True",
                    "type": "DatadogAgentReconcileSuccess",
                }
            ]
        },
    }


def newrelic_instrumentation() -> Obj:
    return {
        "apiVersion": "newrelic.com/v1beta2",
        "kind": "Instrumentation",
        "metadata": {
            "creationTimestamp": "2024-05-06T08:14:52Z",
            "generation": 2,
            "name": "newrelic-java",
            "namespace": "newrelic",
            "resourceVersion": "33410987",
            "uid": "bc36ffd4-5026-584f-8623-42cfdf6eb762",
        },
        "spec": {
            "agent": {"image": "newrelic/newrelic-java-init:8.12.0", "language": "java"},
            "licenseKeySecret": "newrelic-key-secret",
            "namespaceLabelSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "newrelic"]}
                ]
            },
            "podLabelSelector": {},
        },
    }


def gitops_deployment() -> Obj:
    dep = seed("build-agents", "deployments.json", "Deployment", "apps/v1", "azure-devops-agent")
    dep["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = (
        "build-agents:apps/Deployment:build-agents/azure-devops-agent"
    )
    dep["metadata"]["annotations"].pop("kubectl.kubernetes.io/last-applied-configuration")
    return dep


APPD_ENV = [
    {"name": "CORECLR_ENABLE_PROFILING", "value": "1"},
    {"name": "CORECLR_PROFILER", "value": "{57e1aa68-2229-41aa-9931-a6e93bbc64d8}"},
    {"name": "CORECLR_PROFILER_PATH", "value": "/opt/appdynamics-dotnetcore/libappdprofiler.so"},
    {"name": "LD_LIBRARY_PATH", "value": "/opt/appdynamics-dotnetcore"},
    {"name": "APPDYNAMICS_AGENT_APPLICATION_NAME", "value": "build-agents"},
    {"name": "APPDYNAMICS_AGENT_TIER_NAME", "value": "azure-devops-agent"},
    {"name": "APPDYNAMICS_AGENT_REUSE_NODE_NAME_PREFIX", "value": "azure-devops-agent"},
    {"name": "APPDYNAMICS_CONTROLLER_HOST_NAME", "value": "contoso.saas.appdynamics.com"},
    {"name": "APPDYNAMICS_CONTROLLER_PORT", "value": "443"},
    {"name": "APPDYNAMICS_CONTROLLER_SSL_ENABLED", "value": "true"},
]
APPD_INIT = {
    "name": "appd-agent-attach-dotnetcore",
    "image": "docker.io/appdynamics/dotnet-core-agent:24.8.0",
    "command": ["cp", "-r", "/opt/appdynamics/.", "/opt/appdynamics-dotnetcore"],
    "resources": {"limits": {"cpu": "200m", "memory": "75M"}, "requests": {"cpu": "100m", "memory": "50M"}},
    "volumeMounts": [{"name": "appd-agent-repo-dotnetcore", "mountPath": "/opt/appdynamics-dotnetcore"}],
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "imagePullPolicy": "IfNotPresent",
}


def appd_template(tpl: Obj) -> None:
    """What the Cluster Agent writes into a workload's pod template (and what its pods then carry)."""
    spec = tpl["spec"]
    spec.setdefault("initContainers", []).insert(0, copy.deepcopy(APPD_INIT))
    spec["volumes"].append({"name": "appd-agent-repo-dotnetcore", "emptyDir": {}})
    c = spec["containers"][0]
    c["env"] = c["env"] + copy.deepcopy(APPD_ENV)
    c["volumeMounts"].append({"name": "appd-agent-repo-dotnetcore", "mountPath": "/opt/appdynamics-dotnetcore"})


def strip_dynatrace(pod: Obj) -> None:
    """Undo the Dynatrace webhook's mutation of a seed pod (the AppDynamics case has no Dynatrace)."""
    md = pod["metadata"]
    for key in list(md.get("annotations", {})):
        if "dynatrace.com" in key:
            del md["annotations"][key]
    if not md.get("annotations"):
        md.pop("annotations", None)
    spec = pod["spec"]
    dt_vols = {
        "oneagent-bin",
        "oneagent-share",
        "injection-config",
        "metadata-enrichment",
        "metadata-enrichment-endpoint",
    }
    spec["initContainers"] = [c for c in spec.get("initContainers", []) if c["name"] != "install-oneagent"]
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] not in dt_vols]
    for c in spec["containers"]:
        c["env"] = [e for e in c.get("env", []) if e["name"] not in ("LD_PRELOAD", "DT_DEPLOYMENT_METADATA")]
        c["volumeMounts"] = [m for m in c.get("volumeMounts", []) if m["name"] not in dt_vols]
    st = pod["status"]
    st["initContainerStatuses"] = [s for s in st.get("initContainerStatuses", []) if s["name"] != "install-oneagent"]
    if not st["initContainerStatuses"]:
        st.pop("initContainerStatuses")


def appdynamics_bundle() -> tuple[list[Obj], dict[str, str]]:
    """The seed's agent workload, instrumented by the AppDynamics Cluster Agent instead of Dynatrace."""
    dep = seed("build-agents", "deployments.json", "Deployment", "apps/v1", "azure-devops-agent")
    appd_template(dep["spec"]["template"])
    rs = seed("build-agents", "replicasets.json", "ReplicaSet", "apps/v1", "azure-devops-agent-6d9f7c8b45")
    appd_template(rs["spec"]["template"])
    pods = [
        p
        for p in typed_items(SEED / "build-agents" / "pods.json", "Pod", "v1")
        if p["metadata"]["name"].startswith("azure-devops-agent-6d9f7c8b45-")
    ]
    logs: dict[str, str] = {}
    for p in pods:
        strip_dynatrace(p)
        appd_template(p)
        st = p["status"]
        st.setdefault("initContainerStatuses", []).insert(
            0,
            {
                "name": "appd-agent-attach-dotnetcore",
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": st["startTime"],
                        "finishedAt": st["startTime"],
                        "containerID": "containerd://" + hashlib.sha256(p["metadata"]["name"].encode()).hexdigest(),
                    }
                },
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": "docker.io/appdynamics/dotnet-core-agent:24.8.0",
                "imageID": "docker.io/appdynamics/dotnet-core-agent@sha256:"
                + hashlib.sha256(b"appd-dotnet-core-agent-24.8.0").hexdigest(),
                "containerID": "containerd://" + hashlib.sha256(p["metadata"]["name"].encode()).hexdigest(),
                "started": False,
            },
        )
        prev = SEED / "logs" / "build-agents" / p["metadata"]["name"] / "azp-agent.previous.log"
        if prev.exists():
            logs[f"logs/build-agents/{p['metadata']['name']}/azp-agent.previous.log"] = prev.read_text()
    ns = namespace_with({})
    ns["metadata"]["labels"].pop("dynakube.internal.dynatrace.com/instance")
    nodes = typed_items(SEED / "nodes.json", "Node", "v1")
    cluster_agent = {
        "apiVersion": "cluster.appdynamics.com/v1alpha1",
        "kind": "Clusteragent",
        "metadata": {
            "creationTimestamp": "2024-03-11T15:02:19Z",
            "generation": 6,
            "name": "k8s-cluster-agent",
            "namespace": "appdynamics",
            "resourceVersion": "46115502",
            "uid": uid("clusteragent"),
        },
        "spec": {
            "account": "contoso",
            "appName": "aks-prod-weu",
            "controllerUrl": "https://contoso.saas.appdynamics.com:443",
            "defaultAppName": "aks-prod-weu",
            "image": "docker.io/appdynamics/cluster-agent:24.8.0",
            "instrumentationMethod": "Env",
            "instrumentationRules": [
                {
                    "imageInfo": {
                        "agentMountPath": "/opt/appdynamics-dotnetcore",
                        "image": "docker.io/appdynamics/dotnet-core-agent:24.8.0",
                        "imagePullPolicy": "IfNotPresent",
                    },
                    "language": "dotnetcore",
                    "namespaceRegex": "build-agents|payments",
                }
            ],
            "nsToInstrumentRegex": "^(build-agents|payments)$",
            "nsToMonitorRegex": ".*",
            "serviceAccountName": "appdynamics-cluster-agent",
        },
    }
    return [ns, *nodes, dep, rs, *pods, cluster_agent], logs


def csi_daemonset_for_ci() -> Obj:
    """The seed's CSI driver DaemonSet (not in the rule fixture), with its default tolerations."""
    return seed("dynatrace", "daemonsets.json", "DaemonSet", "apps/v1", "dynatrace-oneagent-csi-driver")


# --- the cases -------------------------------------------------------------------------------------------------

SEED_DT = {"rule": "injection.clr-profiler", "workload": "Deployment/build-agents/azure-devops-agent"}


def main() -> None:
    for d in HERE.iterdir():
        if d.is_dir() and not d.name.startswith(("_", ".")) and (d / "case.yaml").exists():
            for f in d.iterdir():
                if f.name in ("case.yaml", "objects.yaml", "bundle"):
                    shutil.rmtree(f) if f.is_dir() else f.unlink()
    seed_src = EXAMPLE + "aks-azure-pipelines-dynatrace"
    write_case(
        "dynatrace-seed-v1beta2",
        {
            "description": "The seed case: DynaKube dynatrace.com/v1beta2 in cloudNativeFullStack, operator 1.2.2 "
            "(install-oneagent era), CSI code modules; every pod-level, namespace-level and node-pool "
            "remedy.",
            "sources": [seed_src],
            "finding": SEED_DT,
            "remedies": [
                "dynatrace.container-inject-false",
                "dynatrace.dynatrace-inject-false",
                "dynatrace.oneagent-inject-false",
                "dynatrace.dynakube-namespace-selector-notin",
                "dynatrace.dynakube-namespace-label-notin",
                "dynatrace.dynakube-ignored-namespaces",
                "dynatrace.dynakube-automatic-injection-off",
                "dynatrace.node-pool-isolation",
            ],
        },
    )
    write_case(
        "dynatrace-v1beta1",
        {
            "description": "The seed with its DynaKube served as dynatrace.com/v1beta1: one global "
            "spec.namespaceSelector that already excludes a namespace, and an ignored-namespaces flag with an entry "
            "of its own.",
            "sources": [seed_src],
            "finding": SEED_DT,
            "remedies": ["dynatrace.dynakube-namespace-selector-notin", "dynatrace.dynakube-ignored-namespaces"],
        },
        [dynakube_v1beta1()],
    )
    write_case(
        "dynatrace-v1beta3-appmon",
        {
            "description": "The seed with a dynatrace.com/v1beta3 DynaKube in applicationMonitoring whose selector has "
            "matchLabels only, and an agent pod created before the code-modules update that still runs "
            "healthy with the previous version.",
            "sources": [seed_src],
            "finding": SEED_DT,
            "remedies": [
                "dynatrace.dynakube-namespace-selector-notin",
                "dynatrace.dynakube-code-modules-image",
                "dynatrace.dynakube-code-modules-version",
            ],
        },
        [
            dynakube_v1beta3_appmon(),
            namespace_with({"monitoring.contoso.io/apm": "dynatrace"}),
            healthy_injected_pod("1.293.165.20240723-130512"),
        ],
    )
    write_case(
        "dynatrace-pin-v1beta2",
        {
            "description": "The seed plus an agent pod injected before the tenant rolled out 1.294 that runs healthy: "
            "the code-modules image pin (the only pin for cloudNativeFullStack before operator 1.4).",
            "sources": [seed_src],
            "finding": SEED_DT,
            "remedies": ["dynatrace.dynakube-code-modules-image"],
        },
        [healthy_injected_pod("1.293.165.20240723-130512")],
    )
    write_case(
        "dynatrace-operator-upgrade",
        {
            "description": "The seed plus the operator's history: old ReplicaSets of dynatrace-operator and "
            "dynatrace-webhook (v1.1.0) and ControllerRevisions of the CSI driver DaemonSet.",
            "sources": [seed_src],
            "finding": SEED_DT,
            "remedies": ["dynatrace.operator-helm-rollback"],
        },
        [
            old_replicaset("dynatrace-operator", "6c8d7f5b9x", 3, "v1.1.0"),
            old_replicaset("dynatrace-webhook", "7d9f6c4b8z", 3, "v1.1.0"),
            *csi_revisions(),
        ],
    )
    write_case(
        "dynatrace-gitops",
        {
            "description": "The seed's agent Deployment tracked by Argo CD (argocd.argoproj.io/tracking-id).",
            "sources": [seed_src],
            "finding": SEED_DT,
            "remedies": ["dynatrace.container-inject-false"],
        },
        [gitops_deployment()],
    )
    write_case(
        "dynatrace-legacy-statefulset",
        {
            "description": "Operator 1.2.2 injection into a StatefulSet (rule fixture).",
            "sources": [RULE + "injection.clr-profiler/fail.dynatrace-legacy-statefulset"],
            "finding": {"rule": "injection.clr-profiler", "workload": "StatefulSet/reporting/report-worker"},
            "remedies": ["dynatrace.container-inject-false", "dynatrace.dynatrace-inject-false"],
        },
    )
    write_case(
        "dynatrace-bootstrapper-daemonset",
        {
            "description": "Operator 1.7.2 (bootstrapper era) injection into a DaemonSet (rule fixture).",
            "sources": [RULE + "injection.native-preload/fail.dynatrace-segv-daemonset"],
            "finding": {"rule": "injection.native-preload", "workload": "DaemonSet/edge/node-cache"},
            "remedies": ["dynatrace.container-inject-false", "dynatrace.dynatrace-inject-false"],
        },
    )
    write_case(
        "dynatrace-csi-not-on-pool",
        {
            "description": "Injected CSI volume on a tainted pool where the CSI driver does not run (rule fixture plus "
            "the seed's CSI driver DaemonSet).",
            "sources": [RULE + "injection.volume-mount/fail.dynatrace-csi-driver-not-on-pool"],
            "finding": {"rule": "injection.volume-mount", "workload": "Deployment/ci/build-agent"},
            "remedies": ["dynatrace.dynatrace-inject-false", "dynatrace.csi-driver-tolerations"],
        },
        [csi_daemonset_for_ci()],
    )
    write_case(
        "datadog-helm",
        {
            "description": "Datadog SSI through the Helm chart (no DatadogAgent): pod label exclusion.",
            "sources": [EXAMPLE + "datadog-java-agent"],
            "finding": {"rule": "injection.java-agent", "workload": "Deployment/billing/invoice-service"},
            "remedies": ["datadog.datadog-admission-disabled"],
        },
    )
    write_case(
        "datadog-operator",
        {
            "description": "Datadog SSI through the Datadog Operator: disabledNamespaces patched on the DatadogAgent.",
            "sources": [EXAMPLE + "datadog-java-agent"],
            "finding": {"rule": "injection.java-agent", "workload": "Deployment/billing/invoice-service"},
            "remedies": ["datadog.datadog-ssi-disabled-namespaces"],
        },
        [datadog_agent()],
    )
    write_case(
        "opentelemetry-dotnet",
        {
            "description": "OpenTelemetry .NET auto-instrumentation opted in by the namespace annotation.",
            "sources": [EXAMPLE + "opentelemetry-dotnet-startup-hook"],
            "finding": {"rule": "injection.startup-hook", "workload": "Deployment/orders/orders-api"},
            "remedies": ["opentelemetry.otel-inject-dotnet-false", "opentelemetry.otel-namespace-annotation-remove"],
        },
    )
    write_case(
        "instana-musl",
        {
            "description": "Instana AutoTrace on an Alpine image: pod label and namespace label.",
            "sources": [EXAMPLE + "instana-alpine-musl"],
            "finding": {"rule": "injection.native-preload", "workload": "Deployment/storefront/catalog-web"},
            "remedies": ["instana.instana-autotrace-false", "instana.instana-namespace-label"],
        },
    )
    write_case(
        "istio-webhook-down",
        {
            "description": "istiod down with failurePolicy Fail: only a label that leaves the objectSelector helps.",
            "sources": [RULE + "injection.webhook-unavailable/fail.istiod-down"],
            "finding": {"rule": "injection.webhook-unavailable", "workload": "Deployment/shop/checkout"},
            "remedies": ["istio.istio-inject-false-label", "istio.istio-namespace-injection-disabled"],
        },
    )
    write_case(
        "linkerd-meshed",
        {
            "description": "A Linkerd-meshed workload (rule fixture), planned as if Linkerd were blamed.",
            "sources": [RULE + "injection.node-preload/fail.datadog-dd-trace-missing-linkerd"],
            "finding": {"rule": "injection.node-preload", "workload": "Deployment/web/checkout-web"},
            "blame": "linkerd",
            "remedies": ["linkerd.linkerd-inject-disabled", "linkerd.linkerd-namespace-webhooks-disabled"],
        },
    )
    write_case(
        "newrelic-statefulset",
        {
            "description": "New Relic Java agent in a StatefulSet, selected by an Instrumentation in the operator "
            "namespace whose namespaceLabelSelector already has a NotIn expression.",
            "sources": [RULE + "injection.java-agent/fail.newrelic-premain-statefulset"],
            "finding": {"rule": "injection.java-agent", "workload": "StatefulSet/search/indexer"},
            "remedies": ["newrelic.newrelic-instrumentation-namespace-selector"],
        },
        [newrelic_instrumentation()],
    )
    objs, logs = appdynamics_bundle()
    write_case(
        "appdynamics-workload",
        {
            "description": "The agent workload instrumented by the AppDynamics Cluster Agent, which writes into the "
            "Deployment itself; planned with AppDynamics blamed.",
            "sources": [],
            "finding": {"workload": "Deployment/build-agents/azure-devops-agent"},
            "blame": "appdynamics",
            "remedies": ["appdynamics.appd-narrow-rules"],
        },
        objs,
        logs,
    )
    write_case(
        "oom-deployment",
        {
            "description": "A Java service OOMKilled at 256Mi with Guaranteed QoS (example).",
            "sources": [EXAMPLE + "negative-oom-injected"],
            "finding": {"rule": "oom.killed", "workload": "Deployment/pricing/pricing-engine"},
            "remedies": ["oom.raise-memory-limit"],
        },
    )
    write_case(
        "oom-cronjob",
        {
            "description": "A CronJob whose Jobs are OOMKilled (rule fixture): the CronJob's job template changes.",
            "sources": [RULE + "oom.killed/fail.cronjob-oom-no-injector"],
            "finding": {"rule": "oom.killed", "workload": "CronJob/reports/nightly-export"},
            "remedies": ["oom.raise-memory-limit"],
        },
    )
    write_case(
        "probe-liveness",
        {
            "description": "A liveness probe kills the container (rule fixture): a startupProbe is added.",
            "sources": [RULE + "probe.liveness/fail.liveness-http-500-newrelic"],
            "finding": {"rule": "probe.liveness", "workload": "Deployment/api/quotes-api"},
            "remedies": ["probe.add-startup-probe"],
        },
    )
    write_case(
        "probe-startup-statefulset",
        {
            "description": "A startup probe too short for a slow start (rule fixture): its failureThreshold grows.",
            "sources": [RULE + "probe.liveness/fail.startup-probe-dynatrace-statefulset"],
            "finding": {"rule": "probe.liveness", "workload": "StatefulSet/search/solr"},
            "remedies": ["probe.relax-startup-probe"],
        },
    )
    write_case(
        "image-pull",
        {
            "description": "A release candidate tag that does not exist; healthy pods run the previous tag (example).",
            "sources": [EXAMPLE + "negative-image-pull-injected"],
            "finding": {"rule": "image-pull.failed", "workload": "Deployment/checkout/cart-service"},
            "remedies": ["image-pull.use-running-image"],
        },
    )


if __name__ == "__main__":
    main()
