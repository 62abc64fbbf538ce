"""Generate a synthetic, deterministic cluster bundle for benchmarks.

The output has the layout of ``kubectl cluster-info dump --all-namespaces --output-directory DIR -o json``:

    DIR/nodes.json                              NodeList
    DIR/<ns>/pods.json                          PodList
    DIR/<ns>/events.json                        EventList (core/v1)
    DIR/<ns>/deployments.json                   DeploymentList
    DIR/<ns>/replicasets.json                   ReplicaSetList
    DIR/<ns>/daemonsets.json                    DaemonSetList
    DIR/<ns>/services.json                      ServiceList
    DIR/<ns>/replication-controllers.json       ReplicationControllerList (the name kubectl uses)
    DIR/<ns>/<pod>/logs.txt                     ==== START/END logs for container C of pod NS/P ====

plus what ``podmortem collect`` adds next to it:

    DIR/cluster-scoped.yaml                     kubectl get mutatingwebhookconfigurations,namespaces -o yaml
    DIR/logs/<ns>/<pod>/<container>.previous.log

Like the real dump, list items carry no ``kind``/``apiVersion`` (the typed client leaves TypeMeta empty), keys
follow Go struct order, JSON is indented with four spaces, and ``managedFields`` are left out (as
kubectl >= 1.21 prints them) unless ``--managed-fields`` is given.

Usage: python bench/gen_cluster.py OUTDIR [--pods N] [--deployments N] [--events N] [--failing N] [--seed S]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

GENERATOR_VERSION = "1"

# The moment the dump was taken.
NOW = datetime(2024, 8, 13, 9, 30, 0, tzinfo=UTC)

CAUSES = (
    "dynatrace-dotnet",
    "datadog-java-agent",
    "oom",
    "image-pull",
    "config",
    "liveness",
    "unschedulable",
    "app-crash",
)
CATEGORY = {
    "dynatrace-dotnet": "injection",
    "datadog-java-agent": "injection",
    "oom": "oom",
    "image-pull": "image-pull",
    "config": "config",
    "liveness": "probe",
    "unschedulable": "scheduling",
    "app-crash": "application",
}
# Warning events written per failing pod, by cause (fixed so the event total can be planned exactly).
WARNINGS_PER_POD = {
    "dynatrace-dotnet": 1,
    "datadog-java-agent": 1,
    "oom": 1,
    "image-pull": 4,
    "config": 1,
    "liveness": 2,
    "unschedulable": 1,
    "app-crash": 1,
}
# Causes whose containers have run and terminated (and so have a previous log).
TERMINATED_CAUSES = {"dynatrace-dotnet", "datadog-java-agent", "oom", "liveness", "app-crash"}

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
ACR = "acrcontoso.azurecr.io"
CLUSTER = "aks-prod-weu"
NODE_RG = "MC_rg-aks-prod_aks-prod-weu_westeurope"
SUBSCRIPTION = "3f2c9a71-5b0e-4d8a-9c1f-7e6d5b4a3c21"
DYNAKUBE = "aks-prod"
DT_OPERATOR_IMAGE = "public.ecr.aws/dynatrace/dynatrace-operator:v1.7.1"
ISTIO_PROXY_IMAGE = "mcr.microsoft.com/oss/istio/proxyv2:1.22.3-distroless"
DD_JAVA_LIB_IMAGE = "gcr.io/datadoghq/dd-lib-java-init:v1.34.0"
KUBELET_VERSION = "v1.29.7"

TEAM_WORDS = (
    "payments",
    "orders",
    "catalog",
    "checkout",
    "identity",
    "search",
    "notifications",
    "reporting",
    "billing",
    "inventory",
    "shipping",
    "pricing",
    "recommendations",
    "reviews",
    "loyalty",
    "fraud",
    "ledger",
    "analytics",
    "gateway",
    "media",
    "messaging",
    "scheduling",
    "customer-portal",
    "partner-api",
    "data-ingest",
    "ml-serving",
    "backoffice",
    "crm",
    "hr-portal",
    "docs",
    "marketing",
    "support",
    "warehouse",
    "returns",
    "tax",
    "auth",
    "profile",
    "feeds",
    "exports",
    "imports",
)
COMPONENT_WORDS = (
    "api",
    "worker",
    "web",
    "consumer",
    "scheduler",
    "gateway",
    "sync",
    "processor",
    "indexer",
    "frontend",
    "backend",
    "cache-warmer",
    "notifier",
    "exporter",
    "importer",
    "aggregator",
    "router",
    "validator",
)
RUNTIMES = ("dotnet", "java", "python", "node", "go", "nginx")
RUNTIME_WEIGHTS = (25, 25, 20, 15, 10, 5)

# (pool name, vm size, node count share, cpu, memory Ki, taints)
POOLS = (
    (
        "system",
        "Standard_D4ds_v5",
        0.10,
        4,
        16375292,
        [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}],
    ),
    ("apps", "Standard_D8ds_v5", 0.70, 8, 32864464, []),
    (
        "agents",
        "Standard_D4ds_v5",
        0.20,
        4,
        16375292,
        [{"key": "workload", "value": "build-agents", "effect": "NoSchedule"}],
    ),
)

SYSTEM_NAMESPACES = (
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "default",
    "dynatrace",
    "istio-system",
    "datadog",
    "build-agents",
)

DAEMONSETS = (
    # namespace, name, image, system-node-critical
    ("kube-system", "kube-proxy", "mcr.microsoft.com/oss/kubernetes/kube-proxy:v1.29.7-hotfix.20240712"),
    ("kube-system", "azure-ip-masq-agent", "mcr.microsoft.com/oss/kubernetes/ip-masq-agent:v2.5.0.12"),
    (
        "kube-system",
        "cloud-node-manager",
        "mcr.microsoft.com/oss/kubernetes/azure-cloud-node-manager:v1.29.8",
    ),
    ("kube-system", "csi-azuredisk-node", "mcr.microsoft.com/oss/kubernetes-csi/azuredisk-csi:v1.29.8"),
    ("kube-system", "csi-azurefile-node", "mcr.microsoft.com/oss/kubernetes-csi/azurefile-csi:v1.29.6"),
    ("dynatrace", "dynatrace-oneagent-csi-driver", DT_OPERATOR_IMAGE),
    ("datadog", "datadog", "gcr.io/datadoghq/agent:7.55.2"),
)

PLATFORM_DEPLOYMENTS = (
    ("kube-system", "coredns", "mcr.microsoft.com/oss/kubernetes/coredns:v1.9.4-hotfix.20240704"),
    ("kube-system", "metrics-server", "mcr.microsoft.com/oss/kubernetes/metrics-server:v0.6.3"),
    ("dynatrace", "dynatrace-operator", DT_OPERATOR_IMAGE),
    ("dynatrace", "dynatrace-webhook", DT_OPERATOR_IMAGE),
    ("istio-system", "istiod", "mcr.microsoft.com/oss/istio/pilot:1.22.3-distroless"),
    (
        "kube-system",
        "konnectivity-agent",
        "mcr.microsoft.com/oss/kubernetes/apiserver-network-proxy/agent:v0.30.3",
    ),
    ("datadog", "datadog-cluster-agent", "gcr.io/datadoghq/cluster-agent:7.55.2"),
)


# ------------------------------------------------------------------------------------------------------
# small helpers


def ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Rng(random.Random):
    def uid(self) -> str:
        return str(uuid.UUID(int=self.getrandbits(128), version=4))

    def hexstr(self, n: int) -> str:
        return "".join(self.choice("0123456789abcdef") for _ in range(n))

    def suffix(self, n: int) -> str:
        return "".join(self.choice(NAME_ALPHABET) for _ in range(n))


def sub_seed(seed: int, *parts: object) -> int:
    text = "/".join([str(seed), *map(str, parts)])
    value = 0
    for ch in text.encode():
        value = (value * 131 + ch) % (1 << 61)
    return value


# kubectl >= 1.21 leaves managedFields out of its JSON/YAML output unless --show-managed-fields is given, and
# `cluster-info dump` prints through the same printer. They are off by default; --managed-fields turns them on
# (as older kubectl, or a collector that keeps them, would write).
_OPTIONS = {"managed_fields": False}

ATOMIC_LISTS = {
    "containerStatuses",
    "initContainerStatuses",
    "tolerations",
    "args",
    "command",
    "hostIPs",
    "podCIDRs",
    "finalizers",
    "sources",
    "items",
    "matchExpressions",
    "values",
    "names",
    "images",
}
# the merge key of each associative list
LIST_KEYS = {
    "ownerReferences": ("uid",),
    "ports": ("containerPort", "protocol"),
    "volumeMounts": ("mountPath",),
    "conditions": ("type",),
    "podIPs": ("ip",),
    "addresses": ("type",),
}


def fields_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """The FieldsV1 set describing every field present in obj (as server-side field management records it)."""
    if not _OPTIONS["managed_fields"]:
        return {}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"f:{key}"
        if isinstance(value, dict) and value:
            out[name] = {".": {}, **fields_v1(value)}
        elif isinstance(value, list) and value and isinstance(value[0], dict) and key not in ATOMIC_LISTS:
            keys = LIST_KEYS.get(key, ("name",))
            keyed: dict[str, Any] = {}
            for item in value:
                if keys[0] not in item:
                    keyed = {}
                    break
                ident = {k: item.get(k, "TCP") for k in keys}
                keyed[f"k:{json.dumps(ident, separators=(',', ':'))}"] = {".": {}, **fields_v1(item)}
            out[name] = keyed
        else:
            out[name] = {}
    return out


def managed(
    manager: str,
    when: datetime,
    fields: dict[str, Any],
    subresource: str | None = None,
    api_version: str = "v1",
    operation: str = "Update",
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": ts(when),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def write_json(path: Path, obj: Any) -> int:
    """Write obj as kubectl's JSON printer does (4-space indent, trailing newline)."""
    if not _OPTIONS["managed_fields"] and isinstance(obj, dict):
        for item in obj.get("items", ()):
            item.get("metadata", {}).pop("managedFields", None)
    text = json.dumps(obj, indent=4) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text)


# ------------------------------------------------------------------------------------------------------
# plan (cheap, single process): who lives where, who fails and why


@dataclass
class NodePlan:
    name: str
    pool: str
    vm_size: str
    index: int
    ip: str
    pod_cidr: str
    zone: str
    cpu: int
    memory_ki: int
    taints: list[dict[str, str]]
    uid: str
    created: datetime


@dataclass
class DeploymentPlan:
    name: str
    namespace: str
    replicas: int
    runtime: str
    platform_image: str | None = None
    cause: str | None = None
    failing: int = 0
    datadog: bool = False
    dt_opt_out: bool = False
    helm: bool = True
    style: int = 0  # 0-9: how much of the optional pod template detail this team writes
    nodes: list[str] = field(default_factory=list)

    @property
    def config_volume(self) -> bool:
        return self.style in (0, 3, 6, 9) and self.runtime not in ("azp-agent", "nginx") and not self.platform_image

    @property
    def hardened(self) -> bool:
        return self.style < 4 and self.runtime not in ("azp-agent", "nginx")


@dataclass
class NamespacePlan:
    name: str
    index: int
    uid: str
    created: datetime
    labels: dict[str, str]
    deployments: list[DeploymentPlan] = field(default_factory=list)
    daemonsets: list[tuple[str, str]] = field(default_factory=list)
    normal_events: int = 0
    warning_events: int = 0

    @property
    def dynatrace(self) -> bool:
        return "dynakube.internal.dynatrace.com/instance" in self.labels

    @property
    def istio(self) -> bool:
        return self.labels.get("istio-injection") == "enabled"

    def pod_count(self, n_nodes: int) -> int:
        return sum(d.replicas for d in self.deployments) + len(self.daemonsets) * n_nodes


@dataclass
class Plan:
    seed: int
    nodes: list[NodePlan]
    namespaces: list[NamespacePlan]
    kube_system_uid: str
    options: dict[str, Any]


def make_nodes(rng: Rng, count: int) -> list[NodePlan]:
    nodes: list[NodePlan] = []
    counts = [max(1, round(count * share)) for _, _, share, *_ in POOLS]
    counts[1] += count - sum(counts)  # the apps pool takes the rounding
    subnet = 0
    for (pool, vm_size, _, cpu, mem, taints), n in zip(POOLS, counts, strict=True):
        vmss_id = "".join(rng.choice("0123456789") for _ in range(8))
        for i in range(n):
            subnet += 1
            nodes.append(
                NodePlan(
                    name=f"aks-{pool}-{vmss_id}-vmss{i:06x}",
                    pool=pool,
                    vm_size=vm_size,
                    index=i,
                    ip=f"10.224.{subnet // 250}.{subnet % 250 + 4}",
                    pod_cidr=f"10.244.{subnet}.0/24",
                    zone=f"westeurope-{i % 3 + 1}",
                    cpu=cpu,
                    memory_ki=mem,
                    taints=taints,
                    uid=rng.uid(),
                    created=NOW - timedelta(days=rng.randint(3, 40), seconds=rng.randint(0, 86399)),
                )
            )
    return nodes


def make_plan(
    seed: int, pods: int, deployments: int, failing: int, events: int, n_namespaces: int, n_nodes: int
) -> Plan:
    rng = Rng(seed)
    nodes = make_nodes(rng, n_nodes)
    by_pool: dict[str, list[str]] = {}
    for node in nodes:
        by_pool.setdefault(node.pool, []).append(node.name)

    names = list(SYSTEM_NAMESPACES)
    team_count = max(1, n_namespaces - len(names))
    words = list(TEAM_WORDS)
    for i in range(team_count):
        word = words[i % len(words)]
        names.append(word if i < len(words) else f"{word}-{i // len(words) + 1}")

    namespaces: list[NamespacePlan] = []
    for index, name in enumerate(names):
        labels = {"kubernetes.io/metadata.name": name}
        team = name not in SYSTEM_NAMESPACES
        if name == "build-agents" or (team and rng.random() < 0.35):
            labels["dynakube.internal.dynatrace.com/instance"] = DYNAKUBE
        if team and rng.random() < 0.25:
            labels["istio-injection"] = "enabled"
        if team:
            labels["team"] = name.split("-")[0]
        created = NOW - timedelta(days=400 if not team else rng.randint(60, 380), seconds=rng.randint(0, 86399))
        namespaces.append(NamespacePlan(name=name, index=index, uid=rng.uid(), created=created, labels=labels))
    ns_by_name = {ns.name: ns for ns in namespaces}

    for ns_name, ds_name, image in DAEMONSETS:
        ns_by_name[ns_name].daemonsets.append((ds_name, image))

    # Deployments: a few platform ones, the rest spread unevenly over team namespaces (+ build agents).
    per = [pods // deployments + (1 if i < pods % deployments else 0) for i in range(deployments)]
    n_platform = min(len(PLATFORM_DEPLOYMENTS), deployments // 4)
    app_namespaces = [ns for ns in namespaces if ns.name not in SYSTEM_NAMESPACES or ns.name == "build-agents"]
    weights = [3 if ns.name == "build-agents" else rng.choice((1, 1, 2, 3, 5)) for ns in app_namespaces]
    used_names: set[tuple[str, str]] = set()
    all_deps: list[DeploymentPlan] = []
    for i in range(deployments):
        if i < n_platform:
            ns_name, dep_name, image = PLATFORM_DEPLOYMENTS[i]
            dep = DeploymentPlan(name=dep_name, namespace=ns_name, replicas=per[i], runtime="go", platform_image=image)
        else:
            ns = rng.choices(app_namespaces, weights)[0]
            if ns.name == "build-agents":
                runtime = "azp-agent"
                base = "azure-devops-agent"
            else:
                runtime = rng.choices(RUNTIMES, RUNTIME_WEIGHTS)[0]
                base = f"{ns.name.split('-')[0]}-{rng.choice(COMPONENT_WORDS)}"
            dep_name = base
            n = 2
            while (ns.name, dep_name) in used_names:
                dep_name = f"{base}-{n}"
                n += 1
            dep = DeploymentPlan(
                name=dep_name,
                namespace=ns.name,
                replicas=per[i],
                runtime=runtime,
                datadog=runtime == "java" and rng.random() < 0.3,
                dt_opt_out=rng.random() < 0.05,
                helm=rng.random() < 0.6,
                style=rng.randint(0, 9),
            )
        used_names.add((dep.namespace, dep.name))
        all_deps.append(dep)
        ns_by_name[dep.namespace].deployments.append(dep)

    assign_failures(rng, all_deps, ns_by_name, failing)

    for dep in all_deps:
        if dep.runtime == "azp-agent":
            pool = by_pool["agents"]
        elif dep.platform_image:
            pool = by_pool["system"]
        else:
            pool = by_pool["apps"]
        dep.nodes = [rng.choice(pool) for _ in range(dep.replicas)]

    # Events: warnings of failing pods first, the rest Normal, spread by pod count.
    total_warnings = 0
    for ns in namespaces:
        ns.warning_events = sum(WARNINGS_PER_POD[d.cause] * d.failing for d in ns.deployments if d.cause)
        total_warnings += ns.warning_events
    normal_budget = max(0, events - total_warnings)
    pod_counts = [ns.pod_count(len(nodes)) for ns in namespaces]
    total_pods = sum(pod_counts) or 1
    shares = [normal_budget * c / total_pods for c in pod_counts]
    floors = [int(s) for s in shares]
    rest = normal_budget - sum(floors)
    order = sorted(range(len(namespaces)), key=lambda i: shares[i] - floors[i], reverse=True)
    for i in order[:rest]:
        floors[i] += 1
    for ns, n in zip(namespaces, floors, strict=True):
        ns.normal_events = n

    return Plan(
        seed=seed,
        nodes=nodes,
        namespaces=namespaces,
        kube_system_uid=ns_by_name["kube-system"].uid,
        options={"pods": pods, "deployments": deployments, "failing": failing, "events": events},
    )


def assign_failures(rng: Rng, deps: list[DeploymentPlan], ns_by_name: dict[str, NamespacePlan], failing: int) -> None:
    candidates = [d for d in deps if d.platform_image is None and d.replicas > 0]
    rng.shuffle(candidates)
    remaining = failing
    cause_i = 0
    stalled = 0
    dt_picks = 0
    # spread small budgets over many causes; big budgets fail whole deployments
    per_workload = max(1, failing // (2 * len(CAUSES)))
    while remaining > 0 and candidates and stalled < len(CAUSES):
        cause = CAUSES[cause_i % len(CAUSES)]
        cause_i += 1
        pick = None
        for dep in candidates:
            ns = ns_by_name[dep.namespace]
            if cause == "dynatrace-dotnet" and not ns.dynatrace:
                continue
            if cause != "dynatrace-dotnet" and dep.runtime == "azp-agent":
                continue
            pick = dep
            break
        if cause == "dynatrace-dotnet":
            # every other one is the Azure Pipelines agent of the seed case, when there is one
            agents = [d for d in candidates if d.runtime == "azp-agent"]
            if agents and dt_picks % 2 == 0:
                pick = agents[0]
            dt_picks += 1
        if pick is None:
            stalled += 1
            continue
        stalled = 0
        candidates.remove(pick)
        want = rng.randint(1, pick.replicas) if cause in ("oom", "liveness", "unschedulable") else pick.replicas
        want = min(want, per_workload)
        pick.cause = cause
        pick.failing = min(want, remaining)
        remaining -= pick.failing
        if cause == "dynatrace-dotnet":
            pick.dt_opt_out = False
            if pick.runtime != "azp-agent":
                pick.runtime = "dotnet"
        elif cause == "datadog-java-agent":
            pick.runtime = "java"
            pick.datadog = True
        elif cause == "app-crash":
            pick.runtime = "python"
        elif cause in ("liveness", "oom") and pick.runtime == "nginx":
            pick.runtime = "java" if cause == "oom" else "node"
        if pick.runtime != "java":
            pick.datadog = False


# ------------------------------------------------------------------------------------------------------
# rendering one namespace (runs in a worker process)


def probe(path: str, port: int | str, initial: int = 0, period: int = 10, failure: int = 3) -> dict[str, Any]:
    p: dict[str, Any] = {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}}
    if initial:
        p["initialDelaySeconds"] = initial
    p.update({"timeoutSeconds": 1, "periodSeconds": period, "successThreshold": 1, "failureThreshold": failure})
    return p


def env_value(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def env_field(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def env_secret(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def env_cm(name: str, cm: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"configMapKeyRef": {"name": cm, "key": key}}}


def image_of(dep: DeploymentPlan) -> str:
    if dep.platform_image:
        return dep.platform_image
    if dep.runtime == "azp-agent":
        return f"{ACR}/azp-agent:ubuntu-22.04-3.242.1"
    if dep.runtime == "nginx":
        return "docker.io/library/nginx:1.25.4"
    version = 1 + sub_seed(0, dep.name) % 4
    patch = sub_seed(1, dep.name) % 30
    tag = f"{version}.{patch}.{sub_seed(2, dep.namespace) % 9}"
    if dep.cause == "image-pull":
        tag += "-rc1"
    return f"{ACR}/{dep.namespace}/{dep.name}:{tag}"


class NamespaceRenderer:
    def __init__(self, plan: Plan, ns: NamespacePlan, outdir: Path, healthy_logs: bool) -> None:
        self.plan = plan
        self.ns = ns
        self.out = outdir
        self.healthy_logs = healthy_logs
        self.rng = Rng(sub_seed(plan.seed, "ns", ns.name))
        self.rv = 1_000_000 + ns.index * 5_000_000
        self.nodes = {n.name: n for n in plan.nodes}
        self.node_ips = {n.name: n.ip for n in plan.nodes}
        self.pod_ip_counter: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()
        self.truth: list[dict[str, Any]] = []
        self.bytes_written = 0

    # -- ids ---------------------------------------------------------------------------------------
    def next_rv(self) -> str:
        self.rv += self.rng.randint(1, 40)
        return str(self.rv)

    def pod_ip(self, node: str) -> str:
        self.pod_ip_counter[node] += 1
        base = self.nodes[node].pod_cidr.rsplit(".", 1)[0]
        return f"{base}.{self.pod_ip_counter[node] % 250 + 2}"

    # -- containers --------------------------------------------------------------------------------
    def app_container(self, dep: DeploymentPlan) -> dict[str, Any]:
        name = dep.name if len(dep.name) <= 40 else dep.name[:40]
        image = image_of(dep)
        rt = dep.runtime
        c: dict[str, Any] = {"name": name, "image": image}
        env: list[dict[str, Any]] = []
        ports: list[dict[str, Any]] = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        live: dict[str, Any] | None = probe("/healthz", "http", initial=10)
        ready: dict[str, Any] | None = probe("/ready", "http", period=5)
        mem_limit = "512Mi"
        if dep.platform_image:
            c["args"] = ["--v=2", f"--namespace={dep.namespace}"]
            env = [env_field("POD_NAMESPACE", "metadata.namespace"), env_field("POD_NAME", "metadata.name")]
            mem_limit = "256Mi"
        elif rt == "azp-agent":
            ports = []
            live = ready = None
            env = [
                env_value("AZP_URL", "https://dev.azure.com/contoso"),
                env_secret("AZP_TOKEN", "azp-agent-token", "token"),
                env_value("AZP_POOL", "aks-linux"),
                env_field("AZP_AGENT_NAME", "metadata.name"),
                env_value("AZP_WORK", "/azp/_work"),
            ]
            mem_limit = "4Gi"
        elif rt == "dotnet":
            env = [
                env_value("ASPNETCORE_URLS", "http://+:8080"),
                env_value("ASPNETCORE_ENVIRONMENT", "Production"),
                env_value("DOTNET_gcServer", "0"),
                env_value("Logging__LogLevel__Default", "Information"),
                env_secret("ConnectionStrings__Default", f"{dep.name}-db", "connection-string"),
                env_value("OTEL_SERVICE_NAME", dep.name),
            ]
            live = probe("/healthz/live", "http", initial=15)
            ready = probe("/healthz/ready", "http", period=5)
        elif rt == "java":
            env = [
                env_value("JAVA_OPTS", "-XX:MaxRAMPercentage=75.0 -XX:+ExitOnOutOfMemoryError"),
                env_value("SPRING_PROFILES_ACTIVE", "prod"),
                env_value("SERVER_PORT", "8080"),
                env_value(
                    "SPRING_DATASOURCE_URL",
                    f"jdbc:postgresql://pg-{dep.namespace}.postgres.database.azure.com:5432/{dep.namespace}",
                ),
                env_secret("SPRING_DATASOURCE_PASSWORD", f"{dep.name}-db", "password"),
                env_value("MANAGEMENT_ENDPOINT_HEALTH_PROBES_ENABLED", "true"),
            ]
            live = probe("/actuator/health/liveness", "http", initial=30)
            ready = probe("/actuator/health/readiness", "http", period=5)
            mem_limit = "1Gi"
        elif rt == "python":
            c["command"] = ["gunicorn"]
            c["args"] = [
                "app.wsgi:application",
                "--bind",
                "0.0.0.0:8080",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ]
            env = [
                env_value("PORT", "8080"),
                env_secret("DATABASE_URL", f"{dep.name}-db", "url"),
                env_value("LOG_LEVEL", "info"),
                env_field("POD_NAME", "metadata.name"),
            ]
        elif rt == "node":
            env = [
                env_value("NODE_ENV", "production"),
                env_value("PORT", "8080"),
                env_secret("REDIS_URL", f"{dep.name}-redis", "url"),
            ]
            live = probe("/health", "http", initial=5)
        elif rt == "go":
            c["args"] = ["--listen=:8080", "--log-format=json"]
            env = [
                env_value("LOG_LEVEL", "info"),
                {
                    "name": "GOMAXPROCS",
                    "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "0"}},
                },
            ]
            mem_limit = "256Mi"
        elif rt == "nginx":
            ports = [{"name": "http", "containerPort": 80, "protocol": "TCP"}]
            live = probe("/", "http")
            ready = probe("/", "http", period=5)
            mem_limit = "128Mi"
        if dep.style >= 5:
            env = env[:3]
        if dep.cause == "config":
            env.append(env_cm("FEATURE_FLAGS", f"{dep.name}-settings", "feature-flags"))
        if ports:
            c["ports"] = ports
        if dep.config_volume:
            c["envFrom"] = [{"configMapRef": {"name": f"{dep.name}-config"}}]
        c["env"] = env
        requests_mem = "64Gi" if dep.cause == "unschedulable" else ("256Mi" if mem_limit != "4Gi" else "2Gi")
        c["resources"] = {
            "limits": {
                "cpu": "1" if rt != "azp-agent" else "2",
                "memory": "96Gi" if dep.cause == "unschedulable" else mem_limit,
            },
            "requests": {"cpu": "100m" if rt != "azp-agent" else "500m", "memory": requests_mem},
        }
        mounts: list[dict[str, Any]] = []
        if rt == "azp-agent":
            mounts.append({"name": "work", "mountPath": "/azp/_work"})
        elif dep.config_volume:
            mounts.append({"name": "config", "readOnly": True, "mountPath": "/etc/app"})
            mounts.append({"name": "tmp", "mountPath": "/tmp"})
        if mounts:
            c["volumeMounts"] = mounts
        if live:
            c["livenessProbe"] = live
        if ready and dep.style < 7:
            c["readinessProbe"] = ready
        c["terminationMessagePath"] = "/dev/termination-log"
        c["terminationMessagePolicy"] = "File"
        c["imagePullPolicy"] = "IfNotPresent"
        if dep.hardened:
            c["securityContext"] = {
                "capabilities": {"drop": ["ALL"]},
                "runAsNonRoot": True,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
            }
        return c

    def template_spec(self, dep: DeploymentPlan) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        vols: list[dict[str, Any]] = []
        if dep.runtime == "azp-agent":
            vols.append({"name": "work", "emptyDir": {}})
        elif dep.config_volume:
            vols.append({"name": "config", "configMap": {"name": f"{dep.name}-config", "defaultMode": 420}})
            vols.append({"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}})
        if vols:
            spec["volumes"] = vols
        spec["containers"] = [self.app_container(dep)]
        spec["restartPolicy"] = "Always"
        spec["terminationGracePeriodSeconds"] = 30
        spec["dnsPolicy"] = "ClusterFirst"
        if dep.runtime == "azp-agent":
            spec["nodeSelector"] = {"agentpool": "agents"}
        elif dep.platform_image:
            spec["nodeSelector"] = {"kubernetes.io/os": "linux"}
        if not dep.platform_image:
            spec["serviceAccountName"] = dep.name if dep.runtime == "azp-agent" else "default"
            spec["serviceAccount"] = spec["serviceAccountName"]
        spec["securityContext"] = {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001} if dep.hardened else {}
        if dep.style < 2 and dep.runtime != "azp-agent" and not dep.platform_image:
            spec["affinity"] = {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 100,
                            "podAffinityTerm": {
                                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": dep.name}},
                                "topologyKey": "kubernetes.io/hostname",
                            },
                        }
                    ]
                }
            }
        spec["schedulerName"] = "default-scheduler"
        if dep.runtime == "azp-agent":
            spec["tolerations"] = [
                {"key": "workload", "operator": "Equal", "value": "build-agents", "effect": "NoSchedule"}
            ]
        elif dep.platform_image:
            spec["tolerations"] = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
        if dep.platform_image:
            spec["priorityClassName"] = "system-cluster-critical"
        return spec

    def labels(self, dep: DeploymentPlan) -> dict[str, str]:
        labels = {"app.kubernetes.io/name": dep.name, "app.kubernetes.io/instance": dep.name}
        if dep.helm:
            labels["app.kubernetes.io/managed-by"] = "Helm"
            labels["helm.sh/chart"] = f"{dep.name}-0.{sub_seed(3, dep.name) % 20}.0"
        labels["app.kubernetes.io/part-of"] = self.ns.name
        return labels

    def template_metadata(self, dep: DeploymentPlan) -> tuple[dict[str, str], dict[str, str]]:
        labels = {"app.kubernetes.io/name": dep.name, "app.kubernetes.io/instance": dep.name}
        if dep.datadog:
            labels["admission.datadoghq.com/enabled"] = "true"
            labels["tags.datadoghq.com/env"] = "prod"
            labels["tags.datadoghq.com/service"] = dep.name
        annotations: dict[str, str] = {}
        if dep.config_volume:
            annotations["checksum/config"] = self.hash_of(dep.name, 64)
        if dep.datadog:
            annotations["admission.datadoghq.com/java-lib.version"] = "v1.34.0"
        if dep.dt_opt_out:
            annotations["dynatrace.com/inject"] = "false"
        if dep.runtime != "azp-agent" and not dep.platform_image and ports_prometheus(dep):
            annotations["prometheus.io/scrape"] = "true"
            annotations["prometheus.io/port"] = "8080"
        return labels, annotations

    def hash_of(self, text: str, n: int) -> str:
        r = Rng(sub_seed(self.plan.seed, "hash", text))
        return r.hexstr(n)

    # -- injection (what the webhooks add to the Pod, never to the template) -----------------------
    def inject_dynatrace(self, pod_spec: dict[str, Any], annotations: dict[str, str], dep: DeploymentPlan) -> None:
        app = pod_spec["containers"][0]
        init = {
            "name": "dynatrace-operator",
            "image": DT_OPERATOR_IMAGE,
            "args": [
                "bootstrap",
                "--config-directory=/mnt/config",
                "--input-directory=/mnt/input",
                "--suppress-error",
                "--source=/opt/dynatrace/oneagent",
                "--target=/mnt/bin",
                "--install-path=/opt/dynatrace/oneagent-paas",
                "--fullstack",
                "--tenant=abc12345",
                "--metadata-enrichment",
                "--enable-attributes-dt-kubernetes=true",
                "--attribute=k8s.workload.kind=deployment",
                f"--attribute=k8s.workload.name={dep.name}",
                f"--attribute=k8s.namespace.name={dep.namespace}",
                f"--attribute=k8s.cluster.name={CLUSTER}",
                f"--attribute=k8s.cluster.uid={self.plan.kube_system_uid}",
                f'--attribute-container={{"k8s.container.name":"{app["name"]}",'
                f'"container_image.registry":"{ACR}",'
                f'"container_image.repository":"{dep.namespace}/{dep.name}"}}',
            ],
            "env": [
                env_field("K8S_PODNAME", "metadata.name"),
                env_field("K8S_PODUID", "metadata.uid"),
                env_field("K8S_NODE_NAME", "spec.nodeName"),
            ],
            "resources": {
                "limits": {"cpu": "100m", "memory": "60Mi"},
                "requests": {"cpu": "30m", "memory": "30Mi"},
            },
            "volumeMounts": [
                {"name": "oneagent-bin", "readOnly": True, "mountPath": "/mnt/bin"},
                {"name": "dynatrace-config", "mountPath": "/mnt/config"},
                {"name": "dynatrace-input", "readOnly": True, "mountPath": "/mnt/input"},
            ],
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {
                "capabilities": {"drop": ["ALL"]},
                "privileged": False,
                "runAsUser": 1001,
                "runAsGroup": 1001,
                "runAsNonRoot": True,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        }
        pod_spec.setdefault("initContainers", []).insert(0, init)
        pod_spec.setdefault("volumes", []).extend(
            [
                {
                    "name": "oneagent-bin",
                    "csi": {
                        "driver": "csi.oneagent.dynatrace.com",
                        "readOnly": True,
                        "volumeAttributes": {"dynakube": DYNAKUBE, "mode": "app", "retryTimeout": "10m"},
                    },
                },
                {"name": "dynatrace-config", "emptyDir": {}},
                {
                    "name": "dynatrace-input",
                    "projected": {
                        "sources": [
                            {"secret": {"name": "dynatrace-bootstrapper-config"}},
                            {"secret": {"name": "dynatrace-bootstrapper-certs", "optional": True}},
                        ],
                        "defaultMode": 420,
                    },
                },
            ]
        )
        for c in pod_spec["containers"]:
            if c["name"] == "istio-proxy":
                continue
            c.setdefault("env", []).extend(
                [
                    env_value("LD_PRELOAD", "/opt/dynatrace/oneagent-paas/agent/lib64/liboneagentproc.so"),
                    env_value(
                        "DT_DEPLOYMENT_METADATA",
                        "orchestration_tech=Operator-cloud_native_fullstack;script_version=v1.7.1;"
                        f"orchestrator_id={self.plan.kube_system_uid}",
                    ),
                    env_value("DT_STORAGE", "/var/lib/dynatrace/oneagent"),
                ]
            )
            c.setdefault("volumeMounts", []).extend(
                [
                    {"name": "oneagent-bin", "readOnly": True, "mountPath": "/opt/dynatrace/oneagent-paas"},
                    {
                        "name": "dynatrace-config",
                        "readOnly": True,
                        "mountPath": "/etc/ld.so.preload",
                        "subPath": "oneagent/ld.so.preload",
                    },
                    {"name": "dynatrace-config", "mountPath": "/var/lib/dynatrace", "subPath": c["name"]},
                ]
            )
        annotations["dynakube.dynatrace.com/injected"] = "true"
        annotations["oneagent.dynatrace.com/injected"] = "true"
        annotations["metadata-enrichment.dynatrace.com/injected"] = "true"
        annotations["metadata.dynatrace.com"] = json.dumps(
            {"k8s.workload.kind": "deployment", "k8s.workload.name": dep.name}, separators=(",", ":")
        )

    def inject_datadog(self, pod_spec: dict[str, Any], annotations: dict[str, str]) -> None:
        init = {
            "name": "datadog-lib-java-init",
            "image": DD_JAVA_LIB_IMAGE,
            "command": ["sh", "copy-lib.sh", "/datadog-lib"],
            "resources": {
                "limits": {"cpu": "50m", "memory": "20Mi"},
                "requests": {"cpu": "50m", "memory": "20Mi"},
            },
            "volumeMounts": [{"name": "datadog-auto-instrumentation", "mountPath": "/datadog-lib"}],
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }
        pod_spec.setdefault("initContainers", []).append(init)
        pod_spec.setdefault("volumes", []).append({"name": "datadog-auto-instrumentation", "emptyDir": {}})
        app = pod_spec["containers"][0]
        app.setdefault("env", []).extend(
            [
                env_value(
                    "JAVA_TOOL_OPTIONS",
                    " -javaagent:/datadog-lib/dd-java-agent.jar "
                    "-XX:OnError=/datadog-lib/java/continuousprofiler/tmp/dd_crash_uploader.sh "
                    "-XX:ErrorFile=/datadog-lib/java/continuousprofiler/tmp/hs_err_pid_%p.log",
                ),
                env_value("DD_INSTRUMENTATION_INSTALL_TYPE", "k8s_lib_injection"),
                env_value(
                    "DD_INSTRUMENTATION_INSTALL_ID",
                    self.hash_of("dd-install", 8) + "-" + self.hash_of("dd-install-2", 4),
                ),
                env_value("DD_ENV", "prod"),
                env_value("DD_SERVICE", app["name"]),
                env_field("DD_AGENT_HOST", "status.hostIP"),
                env_field("DD_ENTITY_ID", "metadata.uid"),
            ]
        )
        app.setdefault("volumeMounts", []).append({"name": "datadog-auto-instrumentation", "mountPath": "/datadog-lib"})
        annotations["admission.datadoghq.com/java-lib.version"] = "v1.34.0"
        annotations["internal.apm.datadoghq.com/injected-libraries"] = json.dumps(
            [{"name": "java", "image": DD_JAVA_LIB_IMAGE}], separators=(",", ":")
        )
        annotations["cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"] = "datadog-auto-instrumentation"

    def inject_istio(
        self,
        pod_spec: dict[str, Any],
        annotations: dict[str, str],
        labels: dict[str, str],
        dep: DeploymentPlan,
    ) -> None:
        app = pod_spec["containers"][0]
        ports = app.get("ports", [])
        pod_ports = json.dumps(
            [{"name": p["name"], "containerPort": p["containerPort"], "protocol": "TCP"} for p in ports],
            indent=4,
        )
        init = {
            "name": "istio-init",
            "image": ISTIO_PROXY_IMAGE,
            "args": [
                "istio-iptables",
                "-p",
                "15001",
                "-z",
                "15006",
                "-u",
                "1337",
                "-m",
                "REDIRECT",
                "-i",
                "*",
                "-x",
                "",
                "-b",
                "*",
                "-d",
                "15090,15021,15020",
                "--log_output_level=default:info",
            ],
            "resources": {
                "limits": {"cpu": "2", "memory": "1Gi"},
                "requests": {"cpu": "10m", "memory": "40Mi"},
            },
            "volumeMounts": [],
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {
                "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                "privileged": False,
                "runAsUser": 0,
                "runAsGroup": 0,
                "runAsNonRoot": False,
                "readOnlyRootFilesystem": False,
                "allowPrivilegeEscalation": False,
            },
        }
        proxy = {
            "name": "istio-proxy",
            "image": ISTIO_PROXY_IMAGE,
            "args": [
                "proxy",
                "sidecar",
                "--domain",
                "$(POD_NAMESPACE).svc.cluster.local",
                "--proxyLogLevel=warning",
                "--proxyComponentLogLevel=misc:error",
                "--log_output_level=default:info",
            ],
            "ports": [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}],
            "env": [
                env_value("PILOT_CERT_PROVIDER", "istiod"),
                env_value("CA_ADDR", "istiod.istio-system.svc:15012"),
                env_field("POD_NAME", "metadata.name"),
                env_field("POD_NAMESPACE", "metadata.namespace"),
                env_field("INSTANCE_IP", "status.podIP"),
                env_field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
                env_field("HOST_IP", "status.hostIP"),
                {
                    "name": "ISTIO_CPU_LIMIT",
                    "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "0"}},
                },
                env_value("PROXY_CONFIG", "{}\n"),
                env_value("ISTIO_META_POD_PORTS", pod_ports),
                env_value("ISTIO_META_APP_CONTAINERS", app["name"]),
                {
                    "name": "GOMEMLIMIT",
                    "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "0"}},
                },
                {
                    "name": "GOMAXPROCS",
                    "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "0"}},
                },
                env_value("ISTIO_META_CLUSTER_ID", "Kubernetes"),
                env_field("ISTIO_META_NODE_NAME", "spec.nodeName"),
                env_value("ISTIO_META_INTERCEPTION_MODE", "REDIRECT"),
                env_value("ISTIO_META_WORKLOAD_NAME", dep.name),
                env_value(
                    "ISTIO_META_OWNER",
                    f"kubernetes://apis/apps/v1/namespaces/{dep.namespace}/deployments/{dep.name}",
                ),
                env_value("ISTIO_META_MESH_ID", "cluster.local"),
                env_value("TRUST_DOMAIN", "cluster.local"),
            ],
            "resources": {
                "limits": {"cpu": "2", "memory": "1Gi"},
                "requests": {"cpu": "100m", "memory": "128Mi"},
            },
            "volumeMounts": [
                {"name": "workload-socket", "mountPath": "/var/run/secrets/workload-spiffe-uds"},
                {"name": "credential-socket", "mountPath": "/var/run/secrets/credential-uds"},
                {"name": "workload-certs", "mountPath": "/var/run/secrets/workload-spiffe-credentials"},
                {"name": "istiod-ca-cert", "mountPath": "/var/run/secrets/istio"},
                {"name": "istio-data", "mountPath": "/var/lib/istio/data"},
                {"name": "istio-envoy", "mountPath": "/etc/istio/proxy"},
                {"name": "istio-token", "mountPath": "/var/run/secrets/tokens"},
                {"name": "istio-podinfo", "mountPath": "/etc/istio/pod"},
            ],
            "readinessProbe": {
                "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                "timeoutSeconds": 3,
                "periodSeconds": 15,
                "successThreshold": 1,
                "failureThreshold": 4,
            },
            "startupProbe": {
                "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                "timeoutSeconds": 3,
                "periodSeconds": 1,
                "successThreshold": 1,
                "failureThreshold": 600,
            },
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {
                "capabilities": {"drop": ["ALL"]},
                "privileged": False,
                "runAsUser": 1337,
                "runAsGroup": 1337,
                "runAsNonRoot": True,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
            },
        }
        pod_spec.setdefault("initContainers", []).append(init)
        pod_spec["containers"].append(proxy)
        pod_spec.setdefault("volumes", []).extend(
            [
                {"name": "workload-socket", "emptyDir": {}},
                {"name": "credential-socket", "emptyDir": {}},
                {"name": "workload-certs", "emptyDir": {}},
                {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}},
                {"name": "istio-data", "emptyDir": {}},
                {
                    "name": "istio-podinfo",
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "labels",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"},
                            },
                            {
                                "path": "annotations",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"},
                            },
                        ],
                        "defaultMode": 420,
                    },
                },
                {
                    "name": "istio-token",
                    "projected": {
                        "sources": [
                            {
                                "serviceAccountToken": {
                                    "audience": "istio-ca",
                                    "expirationSeconds": 43200,
                                    "path": "istio-token",
                                }
                            }
                        ],
                        "defaultMode": 420,
                    },
                },
                {"name": "istiod-ca-cert", "configMap": {"name": "istio-ca-root-cert", "defaultMode": 420}},
            ]
        )
        annotations["istio.io/rev"] = "default"
        annotations["kubectl.kubernetes.io/default-container"] = app["name"]
        annotations["kubectl.kubernetes.io/default-logs-container"] = app["name"]
        annotations["prometheus.io/path"] = "/stats/prometheus"
        annotations["prometheus.io/port"] = "15020"
        annotations["prometheus.io/scrape"] = "true"
        annotations["sidecar.istio.io/status"] = json.dumps(
            {
                "initContainers": ["istio-init"],
                "containers": ["istio-proxy"],
                "volumes": [
                    "workload-socket",
                    "credential-socket",
                    "workload-certs",
                    "istio-envoy",
                    "istio-data",
                    "istio-podinfo",
                    "istio-token",
                    "istiod-ca-cert",
                ],
                "imagePullSecrets": None,
                "revision": "default",
            },
            separators=(",", ":"),
        )
        labels["security.istio.io/tlsMode"] = "istio"
        labels["service.istio.io/canonical-name"] = dep.name
        labels["service.istio.io/canonical-revision"] = "latest"

    # -- objects -----------------------------------------------------------------------------------
    def deployment_and_rs(self, dep: DeploymentPlan) -> tuple[dict[str, Any], dict[str, Any], str, str]:
        rng = self.rng
        created = NOW - timedelta(days=rng.randint(2, 200), seconds=rng.randint(0, 86399))
        dep_uid, rs_uid = rng.uid(), rng.uid()
        pt_hash = rng.suffix(10)
        labels = self.labels(dep)
        sel = {"app.kubernetes.io/name": dep.name, "app.kubernetes.io/instance": dep.name}
        t_labels, t_annotations = self.template_metadata(dep)
        template_meta: dict[str, Any] = {"creationTimestamp": None, "labels": t_labels}
        if t_annotations:
            template_meta["annotations"] = t_annotations
        spec = self.template_spec(dep)
        failing = dep.failing
        ready = dep.replicas - failing
        max_unavailable = dep.replicas * 25 // 100
        available = ready >= dep.replicas - max_unavailable
        dep_annotations = {"deployment.kubernetes.io/revision": "1"}
        if dep.helm:
            dep_annotations["meta.helm.sh/release-name"] = dep.name
            dep_annotations["meta.helm.sh/release-namespace"] = dep.namespace
        else:
            applied = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "annotations": {},
                    "labels": labels,
                    "name": dep.name,
                    "namespace": dep.namespace,
                },
                "spec": {
                    "replicas": dep.replicas,
                    "selector": {"matchLabels": sel},
                    "template": {
                        "metadata": {"labels": t_labels, "annotations": t_annotations},
                        "spec": {
                            "containers": [
                                {
                                    k: v
                                    for k, v in spec["containers"][0].items()
                                    if k
                                    not in (
                                        "terminationMessagePath",
                                        "terminationMessagePolicy",
                                        "imagePullPolicy",
                                    )
                                }
                            ]
                        },
                    },
                },
            }
            dep_annotations["kubectl.kubernetes.io/last-applied-configuration"] = (
                json.dumps(applied, separators=(",", ":")) + "\n"
            )
        progress_time = created + timedelta(minutes=2)
        dep_spec = {
            "replicas": dep.replicas,
            "selector": {"matchLabels": sel},
            "template": {"metadata": template_meta, "spec": spec},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        }
        status: dict[str, Any] = {
            "observedGeneration": 1,
            "replicas": dep.replicas,
            "updatedReplicas": dep.replicas,
        }
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        if failing:
            status["unavailableReplicas"] = failing
        avail_cond = {
            "type": "Available",
            "status": "True" if available else "False",
            "lastUpdateTime": ts(NOW - timedelta(minutes=30) if failing else progress_time),
            "lastTransitionTime": ts(NOW - timedelta(minutes=30) if failing else progress_time),
            "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "message": "Deployment has minimum availability."
            if available
            else "Deployment does not have minimum availability.",
        }
        prog_cond = {
            "type": "Progressing",
            "status": "True",
            "lastUpdateTime": ts(progress_time),
            "lastTransitionTime": ts(created),
            "reason": "NewReplicaSetAvailable",
            "message": f'ReplicaSet "{dep.name}-{pt_hash}" has successfully progressed.',
        }
        status["conditions"] = [avail_cond, prog_cond]
        manager = "helm" if dep.helm else "kubectl-client-side-apply"
        dep_meta = {
            "name": dep.name,
            "namespace": dep.namespace,
            "uid": dep_uid,
            "resourceVersion": self.next_rv(),
            "generation": 1,
            "creationTimestamp": ts(created),
            "labels": labels,
            "annotations": dep_annotations,
            "managedFields": [
                managed(
                    manager,
                    created,
                    {"f:metadata": fields_v1({"labels": labels}), "f:spec": fields_v1(dep_spec)},
                    api_version="apps/v1",
                ),
                managed(
                    "kube-controller-manager",
                    NOW - timedelta(minutes=5),
                    {
                        "f:metadata": {"f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}}},
                        "f:status": fields_v1(status),
                    },
                    subresource="status",
                    api_version="apps/v1",
                ),
            ],
        }
        deployment = {"metadata": dep_meta, "spec": dep_spec, "status": status}

        rs_labels = dict(sel)
        rs_labels["pod-template-hash"] = pt_hash
        rs_template_labels = dict(t_labels)
        rs_template_labels["pod-template-hash"] = pt_hash
        rs_spec = {
            "replicas": dep.replicas,
            "selector": {"matchLabels": rs_labels},
            "template": {
                "metadata": {
                    "creationTimestamp": None,
                    "labels": rs_template_labels,
                    **({"annotations": t_annotations} if t_annotations else {}),
                },
                "spec": spec,
            },
        }
        rs_status: dict[str, Any] = {"replicas": dep.replicas, "fullyLabeledReplicas": dep.replicas}
        if ready:
            rs_status["readyReplicas"] = ready
            rs_status["availableReplicas"] = ready
        rs_status["observedGeneration"] = 1
        rs_annotations = {
            "deployment.kubernetes.io/desired-replicas": str(dep.replicas),
            "deployment.kubernetes.io/max-replicas": str(dep.replicas + -(-dep.replicas * 25 // 100)),
            "deployment.kubernetes.io/revision": "1",
        }
        if dep.helm:
            rs_annotations["meta.helm.sh/release-name"] = dep.name
            rs_annotations["meta.helm.sh/release-namespace"] = dep.namespace
        owner = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": dep.name,
            "uid": dep_uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
        rs_meta = {
            "name": f"{dep.name}-{pt_hash}",
            "namespace": dep.namespace,
            "uid": rs_uid,
            "resourceVersion": self.next_rv(),
            "generation": 1,
            "creationTimestamp": ts(created),
            "labels": rs_labels,
            "annotations": rs_annotations,
            "ownerReferences": [owner],
            "managedFields": [
                managed(
                    "kube-controller-manager",
                    created,
                    {
                        "f:metadata": fields_v1(
                            {"annotations": rs_annotations, "labels": rs_labels, "ownerReferences": [owner]}
                        ),
                        "f:spec": fields_v1(rs_spec),
                    },
                    api_version="apps/v1",
                ),
                managed(
                    "kube-controller-manager",
                    NOW - timedelta(minutes=5),
                    {"f:status": fields_v1(rs_status)},
                    subresource="status",
                    api_version="apps/v1",
                ),
            ],
        }
        rs = {"metadata": rs_meta, "spec": rs_spec, "status": rs_status}
        return deployment, rs, rs_uid, pt_hash

    def make_pod(
        self, dep: DeploymentPlan, rs_name: str, rs_uid: str, pt_hash: str, index: int, failing: bool
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return (pod, info) where info carries what logs and events need."""
        rng = self.rng
        ns = self.ns
        cause = dep.cause if failing else None
        name = f"{rs_name}-{rng.suffix(5)}"
        uid = rng.uid()
        created = NOW - timedelta(
            minutes=rng.randint(40, 600) if not failing else rng.randint(40, 180), seconds=rng.randint(0, 59)
        )
        labels, annotations = self.template_metadata(dep)
        labels = dict(labels)
        labels["pod-template-hash"] = pt_hash
        annotations = dict(annotations)
        spec = self.template_spec(dep)
        injectors: list[str] = []
        if ns.istio and not dep.platform_image:
            self.inject_istio(spec, annotations, labels, dep)
            injectors.append("istio")
        if dep.datadog:
            self.inject_datadog(spec, annotations)
            injectors.append("datadog")
        if ns.dynatrace and not dep.dt_opt_out:
            self.inject_dynatrace(spec, annotations, dep)
            injectors.append("dynatrace")

        # admission: service account token volume, default tolerations, priority
        token_vol = f"kube-api-access-{rng.suffix(5)}"
        for c in spec.get("initContainers", []) + spec["containers"]:
            c.setdefault("volumeMounts", []).append(
                {
                    "name": token_vol,
                    "readOnly": True,
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                }
            )
        spec.setdefault("volumes", []).append(
            {
                "name": token_vol,
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "name": "kube-root-ca.crt",
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    }
                                ]
                            }
                        },
                    ],
                    "defaultMode": 420,
                },
            }
        )
        if "serviceAccountName" not in spec:
            # keep Go field order: serviceAccountName comes right after nodeSelector/dnsPolicy
            ordered: dict[str, Any] = {}
            for k, v in spec.items():
                ordered[k] = v
                if k == ("nodeSelector" if "nodeSelector" in spec else "dnsPolicy"):
                    ordered["serviceAccountName"] = "default"
                    ordered["serviceAccount"] = "default"
            spec = ordered
        node_name = None if cause == "unschedulable" else dep.nodes[index]
        if node_name:
            ordered = {}
            for k, v in spec.items():
                ordered[k] = v
                if k == "serviceAccount":
                    ordered["nodeName"] = node_name
            spec = ordered
        tolerations = spec.pop("tolerations", [])
        tolerations = [
            *tolerations,
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
        ]
        if dep.platform_image:
            tolerations.insert(
                1, {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}
            )
        rebuilt: dict[str, Any] = {}
        for k, v in spec.items():
            rebuilt[k] = v
            if k == "schedulerName":
                rebuilt["tolerations"] = tolerations
        if dep.platform_image:
            rebuilt.pop("priorityClassName", None)
            rebuilt["priorityClassName"] = "system-cluster-critical"
            rebuilt["priority"] = 2000000000
        else:
            rebuilt["priority"] = 0
        rebuilt["enableServiceLinks"] = True
        rebuilt["preemptionPolicy"] = "PreemptLowerPriority"
        spec = rebuilt

        status, info = self.pod_status(dep, spec, name, uid, node_name, created, cause)
        owner = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": rs_name,
            "uid": rs_uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
        meta: dict[str, Any] = {
            "name": name,
            "generateName": f"{rs_name}-",
            "namespace": ns.name,
            "uid": uid,
            "resourceVersion": self.next_rv(),
            "creationTimestamp": ts(created),
            "labels": labels,
        }
        if annotations:
            meta["annotations"] = annotations
        meta["ownerReferences"] = [owner]
        cm_fields = {
            "f:metadata": fields_v1({"generateName": "", "labels": labels, "ownerReferences": [owner]}),
            "f:spec": fields_v1(
                {k: v for k, v in spec.items() if k not in ("nodeName", "tolerations", "priority", "serviceAccount")}
            ),
        }
        meta["managedFields"] = [
            managed("kube-controller-manager", created, cm_fields),
            managed(
                "kubelet",
                NOW - timedelta(seconds=rng.randint(5, 600)),
                {"f:status": fields_v1(status)},
                subresource="status",
            ),
        ]
        pod = {"metadata": meta, "spec": spec, "status": status}
        info.update(
            {
                "name": name,
                "namespace": ns.name,
                "uid": uid,
                "node": node_name,
                "created": created,
                "injectors": injectors,
                "init": [c["name"] for c in spec.get("initContainers", [])],
                "containers": [c["name"] for c in spec["containers"]],
                "images": {c["name"]: c["image"] for c in spec.get("initContainers", []) + spec["containers"]},
                "rv": meta["resourceVersion"],
            }
        )
        return pod, info

    def image_id(self, image: str) -> str:
        repo = image.rsplit(":", 1)[0]
        return f"{repo}@sha256:{self.hash_of(image, 64)}"

    def pod_status(
        self,
        dep: DeploymentPlan,
        spec: dict[str, Any],
        name: str,
        uid: str,
        node: str | None,
        created: datetime,
        cause: str | None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        rng = self.rng
        info: dict[str, Any] = {"cause": cause}
        scheduled = created + timedelta(seconds=1)
        if node is None:
            msg = self.unschedulable_message()
            info["message"] = msg
            status = {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "lastProbeTime": None,
                        "lastTransitionTime": ts(scheduled),
                        "reason": "Unschedulable",
                        "message": msg,
                    }
                ],
                "qosClass": "Burstable",
            }
            return status, info
        init_done = scheduled + timedelta(seconds=rng.randint(3, 25))
        started = init_done + timedelta(seconds=rng.randint(1, 5))
        host_ip = self.node_ips[node]
        pod_ip = self.pod_ip(node)
        info["pod_ip"] = pod_ip
        init_statuses = []
        for c in spec.get("initContainers", []):
            init_statuses.append(
                {
                    "name": c["name"],
                    "state": {
                        "terminated": {
                            "exitCode": 0,
                            "reason": "Completed",
                            "startedAt": ts(scheduled),
                            "finishedAt": ts(init_done),
                            "containerID": f"containerd://{rng.hexstr(64)}",
                        }
                    },
                    "lastState": {},
                    "ready": True,
                    "restartCount": 0,
                    "image": c["image"],
                    "imageID": self.image_id(c["image"]),
                    "containerID": f"containerd://{rng.hexstr(64)}",
                    "started": False,
                }
            )
        app_name = spec["containers"][0]["name"]
        statuses = []
        ready_all = True
        waiting_reason = None
        for c in spec["containers"]:
            st: dict[str, Any] = {"name": c["name"]}
            is_app = c["name"] == app_name
            if is_app and cause in TERMINATED_CAUSES:
                elapsed = (NOW - started).total_seconds()
                restarts = max(2, int(elapsed // 330))
                exit_code = {
                    "dynatrace-dotnet": 134,
                    "datadog-java-agent": 1,
                    "oom": 137,
                    "liveness": 143,
                    "app-crash": 1,
                }[cause]
                reason = "OOMKilled" if cause == "oom" else "Error"
                last_start = NOW - timedelta(seconds=rng.randint(60, 280))
                run_for = {
                    "dynatrace-dotnet": 3,
                    "datadog-java-agent": 1,
                    "oom": 95,
                    "liveness": 75,
                    "app-crash": 2,
                }[cause]
                last_end = last_start + timedelta(seconds=run_for)
                crashloop = cause != "liveness" or rng.random() < 0.5
                if cause == "oom" and rng.random() < 0.5:
                    crashloop = False
                if crashloop:
                    st["state"] = {
                        "waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": f"back-off 5m0s restarting failed container={c['name']} "
                            f"pod={name}_{self.ns.name}({uid})",
                        }
                    }
                    waiting_reason = "CrashLoopBackOff"
                else:
                    st["state"] = {"running": {"startedAt": ts(last_end + timedelta(seconds=10))}}
                st["lastState"] = {
                    "terminated": {
                        "exitCode": exit_code,
                        "reason": reason,
                        "startedAt": ts(last_start),
                        "finishedAt": ts(last_end),
                        "containerID": f"containerd://{rng.hexstr(64)}",
                    }
                }
                st["ready"] = False
                st["restartCount"] = restarts
                st["image"] = c["image"]
                st["imageID"] = self.image_id(c["image"])
                st["containerID"] = f"containerd://{rng.hexstr(64)}"
                st["started"] = not crashloop
                info.update(
                    {
                        "restarts": restarts,
                        "exit_code": exit_code,
                        "last_start": last_start,
                        "last_end": last_end,
                    }
                )
                ready_all = False
            elif is_app and cause in ("image-pull", "config"):
                if cause == "image-pull":
                    st["state"] = {
                        "waiting": {
                            "reason": "ImagePullBackOff",
                            "message": f'Back-off pulling image "{c["image"]}"',
                        }
                    }
                    waiting_reason = "ImagePullBackOff"
                else:
                    msg = f'configmap "{dep.name}-settings" not found'
                    st["state"] = {"waiting": {"reason": "CreateContainerConfigError", "message": msg}}
                    waiting_reason = "CreateContainerConfigError"
                    info["message"] = msg
                st["lastState"] = {}
                st["ready"] = False
                st["restartCount"] = 0
                st["image"] = c["image"]
                st["imageID"] = "" if cause == "image-pull" else self.image_id(c["image"])
                st["started"] = False
                ready_all = False
            else:
                st["state"] = {"running": {"startedAt": ts(started)}}
                st["lastState"] = {}
                st["ready"] = True
                st["restartCount"] = 0
                st["image"] = c["image"]
                st["imageID"] = self.image_id(c["image"])
                st["containerID"] = f"containerd://{rng.hexstr(64)}"
                st["started"] = True
            statuses.append(st)
        pending = cause in ("image-pull", "config")
        not_ready = {
            "reason": "ContainersNotReady",
            "message": f"containers with unready status: [{app_name}]",
        }
        ready_time = ts(NOW - timedelta(minutes=30)) if not ready_all else ts(started + timedelta(seconds=12))
        conds: list[dict[str, Any]] = [
            {
                "type": "PodReadyToStartContainers",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": ts(scheduled + timedelta(seconds=2)),
            },
            {
                "type": "Initialized",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": ts(init_done),
            },
            {
                "type": "Ready",
                "status": "True" if ready_all else "False",
                "lastProbeTime": None,
                "lastTransitionTime": ready_time,
                **({} if ready_all else not_ready),
            },
            {
                "type": "ContainersReady",
                "status": "True" if ready_all else "False",
                "lastProbeTime": None,
                "lastTransitionTime": ready_time,
                **({} if ready_all else not_ready),
            },
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": ts(scheduled),
            },
        ]
        status: dict[str, Any] = {
            "phase": "Pending" if pending else "Running",
            "conditions": conds,
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": ts(scheduled),
        }
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        status["containerStatuses"] = statuses
        status["qosClass"] = "Burstable"
        info["waiting"] = waiting_reason
        info["started"] = started
        return status, info

    def unschedulable_message(self) -> str:
        counts = Counter(n.pool for n in self.plan.nodes)
        total = len(self.plan.nodes)
        parts = []
        if counts.get("system"):
            parts.append(f"{counts['system']} node(s) had untolerated taint {{CriticalAddonsOnly: true}}")
        if counts.get("agents"):
            parts.append(f"{counts['agents']} node(s) had untolerated taint {{workload: build-agents}}")
        if counts.get("apps"):
            parts.append(f"{counts['apps']} Insufficient memory")
        tainted = counts.get("system", 0) + counts.get("agents", 0)
        pre = []
        if counts.get("apps"):
            pre.append(f"{counts['apps']} No preemption victims found for incoming pod")
        if tainted:
            pre.append(f"{tainted} Preemption is not helpful for scheduling")
        return (
            f"0/{total} nodes are available: {', '.join(sorted(parts))}. preemption: 0/{total} nodes are "
            f"available: {', '.join(sorted(pre))}."
        )

    def daemonset_objects(
        self, ds_name: str, image: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        created = NOW - timedelta(days=rng.randint(3, 40))
        uid = rng.uid()
        rev_hash = rng.suffix(10)
        sel = {"k8s-app": ds_name} if self.ns.name == "kube-system" else {"app.kubernetes.io/name": ds_name}
        container = {
            "name": ds_name.replace("csi-azuredisk-node", "azuredisk").replace("csi-azurefile-node", "azurefile"),
            "image": image,
            "args": ["--v=2"],
            "env": [env_field("NODE_NAME", "spec.nodeName")],
            "resources": {"limits": {"memory": "400Mi"}, "requests": {"cpu": "10m", "memory": "40Mi"}},
            "volumeMounts": [{"name": "host-run", "mountPath": "/run"}],
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"privileged": True},
        }
        tspec: dict[str, Any] = {
            "volumes": [{"name": "host-run", "hostPath": {"path": "/run", "type": ""}}],
            "containers": [container],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "serviceAccountName": ds_name,
            "serviceAccount": ds_name,
            "hostNetwork": True,
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "tolerations": [{"operator": "Exists"}],
            "priorityClassName": "system-node-critical",
        }
        tspec_annotations = {"dynatrace.com/inject": "false"} if ds_name == "dynatrace-oneagent-csi-driver" else {}
        n = len(self.plan.nodes)
        ds_status = {
            "currentNumberScheduled": n,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": n,
            "numberReady": n,
            "observedGeneration": 1,
            "updatedNumberScheduled": n,
            "numberAvailable": n,
        }
        tmeta: dict[str, Any] = {"creationTimestamp": None, "labels": dict(sel)}
        if tspec_annotations:
            tmeta["annotations"] = tspec_annotations
        ds_spec = {
            "selector": {"matchLabels": sel},
            "template": {"metadata": tmeta, "spec": tspec},
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
            },
            "revisionHistoryLimit": 10,
        }
        ds_meta = {
            "name": ds_name,
            "namespace": self.ns.name,
            "uid": uid,
            "resourceVersion": self.next_rv(),
            "generation": 1,
            "creationTimestamp": ts(created),
            "labels": dict(sel),
            "annotations": {"deprecated.daemonset.template.generation": "1"},
            "managedFields": [
                managed(
                    "kube-controller-manager",
                    NOW - timedelta(hours=2),
                    {"f:status": fields_v1(ds_status)},
                    subresource="status",
                    api_version="apps/v1",
                )
            ],
        }
        ds = {"metadata": ds_meta, "spec": ds_spec, "status": ds_status}
        pods: list[dict[str, Any]] = []
        infos: list[dict[str, Any]] = []
        for node in self.plan.nodes:
            pname = f"{ds_name}-{rng.suffix(5)}"
            puid = rng.uid()
            pcreated = node.created + timedelta(seconds=rng.randint(20, 90))
            plabels = {**sel, "controller-revision-hash": rev_hash, "pod-template-generation": "1"}
            pspec = json.loads(json.dumps(tspec))
            tok = f"kube-api-access-{rng.suffix(5)}"
            pspec["volumes"].append(
                {
                    "name": tok,
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "name": "kube-root-ca.crt",
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "path": "namespace",
                                            "fieldRef": {
                                                "apiVersion": "v1",
                                                "fieldPath": "metadata.namespace",
                                            },
                                        }
                                    ]
                                }
                            },
                        ],
                        "defaultMode": 420,
                    },
                }
            )
            pspec["containers"][0]["volumeMounts"].append(
                {"name": tok, "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
            )
            ordered: dict[str, Any] = {}
            for k, v in pspec.items():
                ordered[k] = v
                if k == "serviceAccount":
                    ordered["nodeName"] = node.name
                if k == "securityContext":
                    ordered["affinity"] = {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node.name]}]}
                                ]
                            }
                        }
                    }
            ordered["tolerations"] = [{"operator": "Exists"}] + [
                {"key": f"node.kubernetes.io/{k}", "operator": "Exists", "effect": e}
                for k, e in (
                    ("not-ready", "NoExecute"),
                    ("unreachable", "NoExecute"),
                    ("disk-pressure", "NoSchedule"),
                    ("memory-pressure", "NoSchedule"),
                    ("pid-pressure", "NoSchedule"),
                    ("unschedulable", "NoSchedule"),
                    ("network-unavailable", "NoSchedule"),
                )
            ]
            ordered["priorityClassName"] = "system-node-critical"
            ordered["priority"] = 2000001000
            ordered["enableServiceLinks"] = True
            ordered["preemptionPolicy"] = "PreemptLowerPriority"
            started = pcreated + timedelta(seconds=8)
            pstatus = {
                "phase": "Running",
                "conditions": [
                    {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": ts(started)}
                    for t in (
                        "PodReadyToStartContainers",
                        "Initialized",
                        "Ready",
                        "ContainersReady",
                        "PodScheduled",
                    )
                ],
                "hostIP": node.ip,
                "hostIPs": [{"ip": node.ip}],
                "podIP": node.ip,
                "podIPs": [{"ip": node.ip}],
                "startTime": ts(pcreated),
                "containerStatuses": [
                    {
                        "name": container["name"],
                        "state": {"running": {"startedAt": ts(started)}},
                        "lastState": {},
                        "ready": True,
                        "restartCount": 0,
                        "image": image,
                        "imageID": self.image_id(image),
                        "containerID": f"containerd://{rng.hexstr(64)}",
                        "started": True,
                    }
                ],
                "qosClass": "Burstable",
            }
            owner = {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "name": ds_name,
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
            pmeta: dict[str, Any] = {
                "name": pname,
                "generateName": f"{ds_name}-",
                "namespace": self.ns.name,
                "uid": puid,
                "resourceVersion": self.next_rv(),
                "creationTimestamp": ts(pcreated),
                "labels": plabels,
            }
            if tspec_annotations:
                pmeta["annotations"] = dict(tspec_annotations)
            pmeta["ownerReferences"] = [owner]
            pmeta["managedFields"] = [
                managed(
                    "kube-controller-manager",
                    pcreated,
                    {
                        "f:metadata": fields_v1({"generateName": "", "labels": plabels, "ownerReferences": [owner]}),
                        "f:spec": fields_v1(tspec),
                    },
                ),
                managed("kubelet", started, {"f:status": fields_v1(pstatus)}, subresource="status"),
            ]
            pods.append({"metadata": pmeta, "spec": ordered, "status": pstatus})
            infos.append(
                {
                    "name": pname,
                    "namespace": self.ns.name,
                    "uid": puid,
                    "node": node.name,
                    "created": pcreated,
                    "cause": None,
                    "init": [],
                    "containers": [container["name"]],
                    "images": {container["name"]: image},
                    "rv": pmeta["resourceVersion"],
                    "started": started,
                    "owner": ("DaemonSet", ds_name, uid),
                }
            )
        return ds, pods, infos

    def service(self, dep: DeploymentPlan) -> dict[str, Any]:
        rng = self.rng
        created = NOW - timedelta(days=rng.randint(2, 200))
        port = 80 if dep.runtime == "nginx" else 8080
        ip = f"10.0.{rng.randint(1, 254)}.{rng.randint(1, 254)}"
        sel = {"app.kubernetes.io/name": dep.name, "app.kubernetes.io/instance": dep.name}
        spec = {
            "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": port}],
            "selector": sel,
            "clusterIP": ip,
            "clusterIPs": [ip],
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        }
        labels = self.labels(dep)
        return {
            "metadata": {
                "name": dep.name,
                "namespace": dep.namespace,
                "uid": rng.uid(),
                "resourceVersion": self.next_rv(),
                "creationTimestamp": ts(created),
                "labels": labels,
                "managedFields": [
                    managed(
                        "helm" if dep.helm else "kubectl-client-side-apply",
                        created,
                        {
                            "f:metadata": fields_v1({"labels": labels}),
                            "f:spec": fields_v1(
                                {k: v for k, v in spec.items() if k not in ("clusterIP", "clusterIPs", "ipFamilies")}
                            ),
                        },
                    )
                ],
            },
            "spec": spec,
            "status": {"loadBalancer": {}},
        }

    # -- events ------------------------------------------------------------------------------------
    def event(
        self,
        obj_kind: str,
        obj_name: str,
        obj_uid: str,
        reason: str,
        message: str,
        etype: str = "Normal",
        *,
        when: datetime,
        first: datetime | None = None,
        count: int = 1,
        component: str = "kubelet",
        host: str | None = None,
        field_path: str | None = None,
        obj_rv: str | None = None,
        api_version: str = "v1",
    ) -> dict[str, Any]:
        rng = self.rng
        first = first or when
        nanos = int(first.timestamp() * 1e9) + rng.randint(0, 999_999_999)
        involved: dict[str, Any] = {
            "kind": obj_kind,
            "namespace": self.ns.name,
            "name": obj_name,
            "uid": obj_uid,
            "apiVersion": api_version,
        }
        if obj_rv:
            involved["resourceVersion"] = obj_rv
        if field_path:
            involved["fieldPath"] = field_path
        meta = {
            "name": f"{obj_name}.{nanos:x}",
            "namespace": self.ns.name,
            "uid": rng.uid(),
            "resourceVersion": self.next_rv(),
            "creationTimestamp": ts(first),
        }
        if component == "default-scheduler":
            meta["managedFields"] = [
                managed("kube-scheduler", first, SCHED_EVENT_FIELDS, api_version="events.k8s.io/v1")
            ]
            ev: dict[str, Any] = {
                "metadata": meta,
                "involvedObject": involved,
                "reason": reason,
                "message": message,
                "source": {},
                "firstTimestamp": None,
                "lastTimestamp": None,
                "type": etype,
                "eventTime": micro_ts(first),
                "action": "Binding" if reason == "Scheduled" else "Scheduling",
                "reportingComponent": "default-scheduler",
                "reportingInstance": "default-scheduler-kube-scheduler-7d8f9c5b6-x2k4q",
            }
            if count > 1:
                ev["series"] = {"count": count, "lastObservedTime": micro_ts(when)}
            return ev
        source: dict[str, str] = {"component": component}
        if host:
            source["host"] = host
        meta["managedFields"] = [
            managed(
                component if component == "kubelet" else "kube-controller-manager",
                when,
                KUBELET_EVENT_FIELDS if host else CONTROLLER_EVENT_FIELDS,
            )
        ]
        return {
            "metadata": meta,
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": ts(first),
            "lastTimestamp": ts(when),
            "count": count,
            "type": etype,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }

    def pod_lifecycle_events(self, info: dict[str, Any]) -> list[dict[str, Any]]:
        """Normal events of one pod, in the order they happened."""
        out: list[dict[str, Any]] = []
        name, uid, node, cause = info["name"], info["uid"], info["node"], info["cause"]
        created: datetime = info["created"]
        if node is None:
            return out
        out.append(
            self.event(
                "Pod",
                name,
                uid,
                "Scheduled",
                f"Successfully assigned {self.ns.name}/{name} to {node}",
                when=created + timedelta(seconds=1),
                component="default-scheduler",
            )
        )
        t = created + timedelta(seconds=2)
        for i, c in enumerate(info["init"] + info["containers"]):
            is_init = i < len(info["init"])
            idx = i if is_init else i - len(info["init"])
            fp = f"spec.initContainers{{{c}}}" if is_init else f"spec.containers{{{c}}}"
            image = info["images"][c]
            app = not is_init and idx == 0
            rv = info["rv"]
            if app and cause == "image-pull":
                out.append(
                    self.event(
                        "Pod",
                        name,
                        uid,
                        "Pulling",
                        f'Pulling image "{image}"',
                        when=NOW - timedelta(seconds=self.rng.randint(30, 290)),
                        first=t,
                        count=info.get("pulls", 6),
                        host=node,
                        field_path=fp,
                        obj_rv=rv,
                    )
                )
                continue
            count = info.get("restarts", 0) + 1 if app and cause in TERMINATED_CAUSES else 1
            last = info.get("last_start", t) if count > 1 else t
            if self.rng.random() < 0.3 and count == 1:
                secs = self.rng.uniform(0.4, 9.0)
                out.append(
                    self.event(
                        "Pod",
                        name,
                        uid,
                        "Pulling",
                        f'Pulling image "{image}"',
                        when=t,
                        host=node,
                        field_path=fp,
                        obj_rv=rv,
                    )
                )
                size = self.rng.randint(8_000_000, 420_000_000)
                out.append(
                    self.event(
                        "Pod",
                        name,
                        uid,
                        "Pulled",
                        f'Successfully pulled image "{image}" in {secs:.3f}s ({secs:.3f}s including '
                        f"waiting). Image size: {size} bytes.",
                        when=t + timedelta(seconds=secs),
                        host=node,
                        field_path=fp,
                        obj_rv=rv,
                    )
                )
            else:
                out.append(
                    self.event(
                        "Pod",
                        name,
                        uid,
                        "Pulled",
                        f'Container image "{image}" already present on machine',
                        when=last,
                        first=t,
                        count=count,
                        host=node,
                        field_path=fp,
                        obj_rv=rv,
                    )
                )
            if app and cause == "config":
                continue
            out.append(
                self.event(
                    "Pod",
                    name,
                    uid,
                    "Created",
                    f"Created container {c}",
                    when=last,
                    first=t,
                    count=count,
                    host=node,
                    field_path=fp,
                    obj_rv=rv,
                )
            )
            out.append(
                self.event(
                    "Pod",
                    name,
                    uid,
                    "Started",
                    f"Started container {c}",
                    when=last,
                    first=t,
                    count=count,
                    host=node,
                    field_path=fp,
                    obj_rv=rv,
                )
            )
            if app and cause == "liveness":
                out.append(
                    self.event(
                        "Pod",
                        name,
                        uid,
                        "Killing",
                        f"Container {c} failed liveness probe, will be restarted",
                        when=info["last_end"],
                        first=t + timedelta(seconds=75),
                        count=info["restarts"],
                        host=node,
                        field_path=fp,
                        obj_rv=rv,
                    )
                )
            t += timedelta(seconds=3)
        return out

    def warning_events(self, info: dict[str, Any], dep: DeploymentPlan) -> list[dict[str, Any]]:
        name, uid, node, cause = info["name"], info["uid"], info["node"], info["cause"]
        created: datetime = info["created"]
        app = info["containers"][0]
        fp = f"spec.containers{{{app}}}"
        rv = info["rv"]
        first = created + timedelta(seconds=30)
        n = max(3, int((NOW - first).total_seconds() // 60))
        if cause == "unschedulable":
            return [
                self.event(
                    "Pod",
                    name,
                    uid,
                    "FailedScheduling",
                    info["message"],
                    "Warning",
                    when=NOW - timedelta(seconds=40),
                    first=created,
                    count=n,
                    component="default-scheduler",
                )
            ]
        if cause == "image-pull":
            image = info["images"][app]
            ref = image
            err = (
                f'Failed to pull image "{image}": rpc error: code = NotFound desc = '
                "failed to pull and unpack "
                f'image "{image}": failed to resolve reference "{ref}": {ref}: not found'
            )
            last = NOW - timedelta(seconds=self.rng.randint(20, 280))
            return [
                self.event(
                    "Pod",
                    name,
                    uid,
                    "Failed",
                    err,
                    "Warning",
                    when=last,
                    first=first,
                    count=6,
                    host=node,
                    field_path=fp,
                    obj_rv=rv,
                ),
                self.event(
                    "Pod",
                    name,
                    uid,
                    "Failed",
                    "Error: ErrImagePull",
                    "Warning",
                    when=last,
                    first=first,
                    count=6,
                    host=node,
                    field_path=fp,
                    obj_rv=rv,
                ),
                self.event(
                    "Pod",
                    name,
                    uid,
                    "BackOff",
                    f'Back-off pulling image "{image}"',
                    "Warning",
                    when=NOW - timedelta(seconds=5),
                    first=first,
                    count=n * 2,
                    host=node,
                    field_path=fp,
                    obj_rv=rv,
                ),
                self.event(
                    "Pod",
                    name,
                    uid,
                    "Failed",
                    "Error: ImagePullBackOff",
                    "Warning",
                    when=NOW - timedelta(seconds=5),
                    first=first,
                    count=n * 2,
                    host=node,
                    field_path=fp,
                    obj_rv=rv,
                ),
            ]
        if cause == "config":
            return [
                self.event(
                    "Pod",
                    name,
                    uid,
                    "Failed",
                    f"Error: {info['message']}",
                    "Warning",
                    when=NOW - timedelta(seconds=self.rng.randint(5, 60)),
                    first=first,
                    count=n,
                    host=node,
                    field_path=fp,
                    obj_rv=rv,
                )
            ]
        backoff = self.event(
            "Pod",
            name,
            uid,
            "BackOff",
            f"Back-off restarting failed container {app} in pod {name}_{self.ns.name}({uid})",
            "Warning",
            when=NOW - timedelta(seconds=self.rng.randint(5, 60)),
            first=first,
            count=info["restarts"] * 4 + 3,
            host=node,
            field_path=fp,
            obj_rv=rv,
        )
        if cause == "liveness":
            port = 80 if dep.runtime == "nginx" else 8080
            path = "/healthz"
            if dep.runtime == "dotnet":
                path = "/healthz/live"
            elif dep.runtime == "java":
                path = "/actuator/health/liveness"
            elif dep.runtime == "node":
                path = "/health"
            msg = (
                f'Liveness probe failed: Get "http://{info["pod_ip"]}:{port}{path}": '
                "context deadline exceeded "
                "(Client.Timeout exceeded while awaiting headers)"
            )
            return [
                self.event(
                    "Pod",
                    name,
                    uid,
                    "Unhealthy",
                    msg,
                    "Warning",
                    when=info["last_end"],
                    first=first,
                    count=info["restarts"] * 3,
                    host=node,
                    field_path=fp,
                    obj_rv=rv,
                ),
                backoff,
            ]
        return [backoff]

    def controller_events(
        self, dep: DeploymentPlan, dep_uid: str, rs_name: str, rs_uid: str, pods: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        out = []
        t = min(p["created"] for p in pods) - timedelta(seconds=1) if pods else NOW - timedelta(hours=1)
        out.append(
            self.event(
                "Deployment",
                dep.name,
                dep_uid,
                "ScalingReplicaSet",
                f"Scaled up replica set {rs_name} to {dep.replicas}",
                when=t,
                component="deployment-controller",
                api_version="apps/v1",
            )
        )
        for p in pods:
            out.append(
                self.event(
                    "ReplicaSet",
                    rs_name,
                    rs_uid,
                    "SuccessfulCreate",
                    f"Created pod: {p['name']}",
                    when=p["created"],
                    component="replicaset-controller",
                    api_version="apps/v1",
                )
            )
        return out

    def history_events(self, deps: list[tuple[DeploymentPlan, str]]) -> Any:
        """Endless stream of events from earlier rollouts (pods that no longer exist)."""
        revision = 0
        while deps:
            revision += 1
            for dep, dep_uid in deps:
                old_rs = f"{dep.name}-{self.rng.suffix(10)}"
                old_rs_uid = self.rng.uid()
                when = NOW - timedelta(minutes=50 + revision * 7, seconds=self.rng.randint(0, 59))
                yield self.event(
                    "Deployment",
                    dep.name,
                    dep_uid,
                    "ScalingReplicaSet",
                    f"Scaled down replica set {old_rs} to 0 from {dep.replicas}",
                    when=when,
                    component="deployment-controller",
                    api_version="apps/v1",
                )
                for _ in range(dep.replicas):
                    pod = f"{old_rs}-{self.rng.suffix(5)}"
                    yield self.event(
                        "ReplicaSet",
                        old_rs,
                        old_rs_uid,
                        "SuccessfulDelete",
                        f"Deleted pod: {pod}",
                        when=when,
                        component="replicaset-controller",
                        api_version="apps/v1",
                    )
                    node = self.rng.choice(dep.nodes) if dep.nodes else self.plan.nodes[0].name
                    c = dep.name[:40]
                    yield self.event(
                        "Pod",
                        pod,
                        self.rng.uid(),
                        "Killing",
                        f"Stopping container {c}",
                        when=when,
                        host=node,
                        field_path=f"spec.containers{{{c}}}",
                    )

    # -- logs --------------------------------------------------------------------------------------
    def write_logs(self, dep: DeploymentPlan, info: dict[str, Any], failing: bool) -> None:
        ns = self.ns.name
        name = info["name"]
        cause = info["cause"]
        parts: list[str] = []
        app = info["containers"][0]
        previous: str | None = None
        for c in info["init"] + info["containers"]:
            parts.append(f"==== START logs for container {c} of pod {ns}/{name} ====\n")
            if info["node"] is None:
                parts.append(f"Request log error: pod {name} does not have a host assigned\n")
            elif c == app and cause == "image-pull":
                parts.append(
                    f'Request log error: container "{c}" in pod "{name}" is waiting to start: trying and '
                    "failing to pull image\n"
                )
            elif c == app and cause == "config":
                parts.append(
                    f'Request log error: container "{c}" in pod "{name}" is waiting to start: '
                    "CreateContainerConfigError\n"
                )
            elif c == app and cause in TERMINATED_CAUSES:
                text = failure_log(dep, info, self.rng)
                previous = text
                parts.append(text)
            elif c == app:
                parts.append(healthy_log(dep, info, self.rng))
            else:
                parts.append(sidecar_log(c, info))
            parts.append(f"==== END logs for container {c} of pod {ns}/{name} ====\n")
        if not failing and not self.healthy_logs:
            return
        pod_dir = self.out / ns / name
        pod_dir.mkdir(parents=True, exist_ok=True)
        text = "".join(parts)
        (pod_dir / "logs.txt").write_text(text, encoding="utf-8")
        self.bytes_written += len(text)
        self.stats["logs_txt"] += 1
        if previous is not None:
            prev_dir = self.out / "logs" / ns / name
            prev_dir.mkdir(parents=True, exist_ok=True)
            (prev_dir / f"{app}.previous.log").write_text(previous, encoding="utf-8")
            self.bytes_written += len(previous)
            self.stats["previous_logs"] += 1

    # -- driver ------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        ns = self.ns
        nsdir = self.out / ns.name
        nsdir.mkdir(parents=True, exist_ok=True)
        pods: list[dict[str, Any]] = []
        deployments: list[dict[str, Any]] = []
        replicasets: list[dict[str, Any]] = []
        services: list[dict[str, Any]] = []
        daemonsets: list[dict[str, Any]] = []
        lifecycle: list[list[dict[str, Any]]] = []  # per pod, normal events
        controller: list[dict[str, Any]] = []
        warnings: list[dict[str, Any]] = []
        history_deps: list[tuple[DeploymentPlan, str]] = []
        for dep in ns.deployments:
            d, rs, rs_uid, pt_hash = self.deployment_and_rs(dep)
            deployments.append(d)
            replicasets.append(rs)
            services.append(self.service(dep))
            rs_name = rs["metadata"]["name"]
            infos = []
            failing_pods = []
            for i in range(dep.replicas):
                failing = i < dep.failing
                pod, info = self.make_pod(dep, rs_name, rs_uid, pt_hash, i, failing)
                pods.append(pod)
                infos.append(info)
                self.stats["pods"] += 1
                if failing:
                    self.stats["failing_pods"] += 1
                    failing_pods.append(info["name"])
                    warnings.extend(self.warning_events(info, dep))
                if info["injectors"]:
                    self.stats["injected_pods"] += 1
                    if not failing:
                        self.stats["injected_healthy_pods"] += 1
                self.write_logs(dep, info, failing)
                lifecycle.append(self.pod_lifecycle_events(info))
            controller.extend(self.controller_events(dep, d["metadata"]["uid"], rs_name, rs_uid, infos))
            history_deps.append((dep, d["metadata"]["uid"]))
            if dep.cause:
                injectors = sorted({i for info in infos[: dep.failing] for i in info["injectors"]})
                self.truth.append(
                    {
                        "namespace": ns.name,
                        "kind": "Deployment",
                        "name": dep.name,
                        "cause": dep.cause,
                        "category": CATEGORY[dep.cause],
                        "pods": failing_pods,
                        "container": infos[0]["containers"][0],
                        "injectors": injectors,
                    }
                )
        for ds_name, image in ns.daemonsets:
            ds, ds_pods, ds_infos = self.daemonset_objects(ds_name, image)
            daemonsets.append(ds)
            pods.extend(ds_pods)
            self.stats["pods"] += len(ds_pods)
            self.stats["daemonset_pods"] += len(ds_pods)
            for info in ds_infos:
                lifecycle.append(self.pod_lifecycle_events(info))
                if self.healthy_logs:
                    self.write_logs(
                        DeploymentPlan(name=ds_name, namespace=ns.name, replicas=0, runtime="go"), info, False
                    )
            controller.extend(
                self.event(
                    "DaemonSet",
                    ds_name,
                    ds["metadata"]["uid"],
                    "SuccessfulCreate",
                    f"Created pod: {info['name']}",
                    when=info["created"],
                    component="daemonset-controller",
                    api_version="apps/v1",
                )
                for info in ds_infos
            )

        # Normal events up to the namespace budget: controller events, then pod lifecycles, then history.
        budget = ns.normal_events
        normal: list[dict[str, Any]] = []
        for ev in controller:
            if len(normal) >= budget:
                break
            normal.append(ev)
        for evs in lifecycle:
            if len(normal) >= budget:
                break
            normal.extend(evs[: budget - len(normal)])
        if len(normal) < budget:
            for ev in self.history_events(history_deps):
                normal.append(ev)
                if len(normal) >= budget:
                    break
        events = normal + warnings
        events.sort(key=lambda e: e["lastTimestamp"] or e["eventTime"] or "")
        self.stats["events"] += len(events)
        self.stats["warning_events"] += len(warnings)
        self.stats["deployments"] += len(deployments)
        self.stats["replicasets"] += len(replicasets)
        self.stats["daemonsets"] += len(daemonsets)
        self.stats["services"] += len(services)

        rv = str(self.rv + 7)
        lists = {
            "events": ("EventList", "v1", events),
            "replication-controllers": ("ReplicationControllerList", "v1", []),
            "services": ("ServiceList", "v1", services),
            "daemonsets": ("DaemonSetList", "apps/v1", daemonsets),
            "deployments": ("DeploymentList", "apps/v1", deployments),
            "replicasets": ("ReplicaSetList", "apps/v1", replicasets),
            "pods": ("PodList", "v1", pods),
        }
        file_bytes: dict[str, int] = {}
        for fname, (kind, api_version, items) in lists.items():
            file_bytes[fname] = write_json(
                nsdir / f"{fname}.json",
                {
                    "kind": kind,
                    "apiVersion": api_version,
                    "metadata": {"resourceVersion": rv},
                    "items": items,
                },
            )
            self.bytes_written += file_bytes[fname]
        return {
            "namespace": ns.name,
            "stats": dict(self.stats),
            "truth": self.truth,
            "bytes": self.bytes_written,
            "pods_json_bytes": file_bytes["pods"],
            "events_json_bytes": file_bytes["events"],
        }


def ports_prometheus(dep: DeploymentPlan) -> bool:
    return dep.runtime in ("java", "go")


SCHED_EVENT_FIELDS = {
    "f:action": {},
    "f:eventTime": {},
    "f:note": {},
    "f:reason": {},
    "f:regarding": {},
    "f:reportingController": {},
    "f:reportingInstance": {},
    "f:type": {},
}
KUBELET_EVENT_FIELDS = {
    "f:count": {},
    "f:firstTimestamp": {},
    "f:involvedObject": {},
    "f:lastTimestamp": {},
    "f:message": {},
    "f:reason": {},
    "f:reportingComponent": {},
    "f:reportingInstance": {},
    "f:source": {"f:component": {}, "f:host": {}},
    "f:type": {},
}
CONTROLLER_EVENT_FIELDS = {
    "f:count": {},
    "f:firstTimestamp": {},
    "f:involvedObject": {},
    "f:lastTimestamp": {},
    "f:message": {},
    "f:reason": {},
    "f:reportingComponent": {},
    "f:source": {"f:component": {}},
    "f:type": {},
}


# ------------------------------------------------------------------------------------------------------
# log text


def _log_time(dt: datetime, fmt: str) -> str:
    return dt.strftime(fmt)


def healthy_log(dep: DeploymentPlan, info: dict[str, Any], rng: Rng) -> str:
    t: datetime = info.get("started", NOW)
    rt = dep.runtime
    if rt in ("dotnet", "azp-agent"):
        return (
            "info: Microsoft.Hosting.Lifetime[14]\n      Now listening on: http://[::]:8080\n"
            "info: Microsoft.Hosting.Lifetime[0]\n      Application started. Press Ctrl+C to shut down.\n"
            "info: Microsoft.Hosting.Lifetime[0]\n      Hosting environment: Production\n"
            "info: Microsoft.Hosting.Lifetime[0]\n      Content root path: /app\n"
        )
    if rt == "java":
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        lines = []
        if dep.datadog:
            lines.append(java_tool_options_line())
        cls = "".join(w.capitalize() for w in dep.name.split("-")) + "Application"
        lines.append(
            f"{stamp}  INFO 1 --- [           main] c.c.{dep.namespace.split('-')[0]}.{cls}"
            f"   : Starting {cls} v1.0.0 using Java 17.0.12 with PID 1 (/app/app.jar started by app in /app)"
        )
        lines.append(
            f"{stamp}  INFO 1 --- [           main] o.s.b.w.embedded.tomcat.TomcatWebServer  : "
            "Tomcat started on port 8080 (http) with context path '/'"
        )
        lines.append(
            f"{stamp}  INFO 1 --- [           main] c.c.{dep.namespace.split('-')[0]}.{cls}"
            f"   : Started {cls} in {rng.uniform(5, 14):.3f} seconds (process running for "
            f"{rng.uniform(14, 16):.3f})"
        )
        return "\n".join(lines) + "\n"
    if rt == "python":
        stamp = t.strftime("[%Y-%m-%d %H:%M:%S +0000]")
        return (
            f"{stamp} [1] [INFO] Starting gunicorn 22.0.0\n{stamp} [1] [INFO] Listening at: "
            f"http://0.0.0.0:8080 (1)\n{stamp} [1] [INFO] Using worker: sync\n"
            f"{stamp} [7] [INFO] Booting worker with pid: 7\n{stamp} [8] [INFO] Booting worker with pid: 8\n"
        )
    if rt == "node":
        ms = int(t.timestamp() * 1000)
        return (
            f'{{"level":30,"time":{ms},"pid":1,"hostname":"{info["name"]}","msg":"Server listening at '
            f'http://0.0.0.0:8080"}}\n'
        )
    if rt == "nginx":
        return (
            "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, "
            "will attempt to perform configuration\n"
            "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/\n"
            "/docker-entrypoint.sh: Configuration complete; ready for start up\n"
        )
    stamp = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    return f'{{"time":"{stamp}","level":"INFO","msg":"listening","addr":":8080"}}\n'


def sidecar_log(container: str, info: dict[str, Any]) -> str:
    t: datetime = info.get("started", NOW)
    stamp = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}Z"
    if container == "istio-proxy":
        return (
            f'{stamp}\tinfo\tFLAG: --concurrency="2"\n{stamp}\tinfo\tVersion 1.22.3-distroless\n'
            f"{stamp}\tinfo\tProxy role\tips=[{info.get('pod_ip', '')}] type=sidecar "
            f"id={info['name']}.{info['namespace']} domain=svc.cluster.local\n"
            f"{stamp}\tinfo\tEnvoy proxy is ready\n"
        )
    if container == "istio-init":
        return "2024-08-13T08:00:00.000000Z\tinfo\tIstio iptables environment:\n"
    if container == "dynatrace-operator":
        return (
            f'{{"level":"info","ts":"{stamp}","logger":"bootstrapper","msg":"starting bootstrapper"}}\n'
            f'{{"level":"info","ts":"{stamp}","logger":"bootstrapper","msg":"successfully configured the '
            'code modules"}\n'
        )
    if container == "datadog-lib-java-init":
        return "'/datadog-init/dd-java-agent.jar' -> '/datadog-lib/dd-java-agent.jar'\n"
    return ""


def java_tool_options_line() -> str:
    return (
        "Picked up JAVA_TOOL_OPTIONS:  -javaagent:/datadog-lib/dd-java-agent.jar "
        "-XX:OnError=/datadog-lib/java/continuousprofiler/tmp/dd_crash_uploader.sh "
        "-XX:ErrorFile=/datadog-lib/java/continuousprofiler/tmp/hs_err_pid_%p.log"
    )


def failure_log(dep: DeploymentPlan, info: dict[str, Any], rng: Rng) -> str:
    cause = info["cause"]
    t: datetime = info.get("last_start", NOW)
    if cause == "dynatrace-dotnet":
        if dep.runtime == "azp-agent":
            return (
                "1. Determining matching Azure Pipelines agent...\n"
                "2. Downloading and extracting Azure Pipelines agent...\n"
                "3. Configuring Azure Pipelines agent...\n"
                "Unhandled exception. System.TypeInitializationException: "
                "The type initializer for '<Module>' threw an exception.\n"
                " ---> System.InvalidProgramException: "
                "Common Language Runtime detected an invalid program.\n"
                "   at Microsoft.VisualStudio.Services.Agent.Listener.Program."
                "MainAsync(IHostContext context, "
                "String[] args)\n"
                "   --- End of inner exception stack trace ---\n"
                "   at Microsoft.VisualStudio.Services.Agent.Listener.Program.Main(String[] args)\n"
            )
        ns_word = "".join(w.capitalize() for w in dep.namespace.split("-"))
        app = "".join(w.capitalize() for w in dep.name.split("-"))
        return (
            "Unhandled exception. System.InvalidProgramException: "
            "Common Language Runtime detected an invalid "
            "program.\n"
            "   at Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton"
            "[TService,TImplementation](IServiceCollection services)\n"
            f"   at Contoso.{ns_word}.{app}.Program.Main(String[] args) in /src/Contoso.{ns_word}.{app}/"
            "Program.cs:line 21\n"
        )
    if cause == "datadog-java-agent":
        return (
            java_tool_options_line() + "\n"
            "Error opening zip file or JAR manifest missing : /datadog-lib/dd-java-agent.jar\n"
            "Error occurred during initialization of VM\n"
            "agent library failed to init: instrument\n"
        )
    if cause == "app-crash":
        stamp = t.strftime("[%Y-%m-%d %H:%M:%S +0000]")
        variant = rng.randint(0, 2)
        head = (
            f"{stamp} [1] [INFO] Starting gunicorn 22.0.0\n{stamp} [1] [INFO] Listening at: "
            f"http://0.0.0.0:8080 (1)\n{stamp} [1] [INFO] Using worker: sync\n"
            f"{stamp} [7] [INFO] Booting worker with pid: 7\n"
        )
        if variant == 0:
            tb = (
                "Traceback (most recent call last):\n"
                '  File "/app/app/wsgi.py", line 9, in <module>\n'
                "    application = create_app()\n"
                "                  ^^^^^^^^^^^^\n"
                '  File "/app/app/__init__.py", line 31, in create_app\n'
                "    settings = Settings.from_env(os.environ)\n"
                "               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
                '  File "/app/app/settings.py", line 18, in from_env\n'
                '    redis_url=env["REDIS_URL"],\n'
                "              ~~~^^^^^^^^^^^^^\n"
                "KeyError: 'REDIS_URL'\n"
            )
        elif variant == 1:
            tb = (
                "Traceback (most recent call last):\n"
                '  File "/app/app/wsgi.py", line 9, in <module>\n'
                "    application = create_app()\n"
                "                  ^^^^^^^^^^^^\n"
                '  File "/app/app/__init__.py", line 12, in create_app\n'
                "    from app.reports import exporter\n"
                '  File "/app/app/reports/exporter.py", line 4, in <module>\n'
                "    import pandas as pd\n"
                "ModuleNotFoundError: No module named 'pandas'\n"
            )
        else:
            tb = (
                "Traceback (most recent call last):\n"
                '  File "/app/app/wsgi.py", line 9, in <module>\n'
                "    application = create_app()\n"
                "                  ^^^^^^^^^^^^\n"
                '  File "/app/app/__init__.py", line 40, in create_app\n'
                "    db.migrate(check=True)\n"
                '  File "/app/app/db.py", line 77, in migrate\n'
                '    raise RuntimeError(f"schema version {current} is newer than this build ({target})")\n'
                "RuntimeError: schema version 42 is newer than this build (41)\n"
            )
        return (
            head
            + f"{stamp} [7] [ERROR] Exception in worker process\n"
            + tb
            + f"{stamp} [7] [INFO] Worker exiting (pid: 7)\n"
            + f"{stamp} [1] [ERROR] Worker (pid:7) exited with code 3\n"
            f"{stamp} [1] [ERROR] Shutting down: Master\n{stamp} [1] [ERROR] Reason: Worker failed to boot.\n"
        )
    # oom and liveness: an ordinary service log that just stops (the kernel or the kubelet killed it)
    lines = healthy_log(dep, {**info, "started": t}, rng).splitlines()
    ip = info.get("pod_ip", "10.244.0.1")
    for i in range(rng.randint(20, 60)):
        when = t + timedelta(seconds=2 * i)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        if cause == "oom":
            lines.append(
                f'{{"time":"{stamp}","level":"INFO","msg":"batch loaded","rows":{(i + 1) * 25000},'
                f'"heap_mb":{120 + i * 9}}}'
            )
        else:
            lines.append(
                f'{{"time":"{stamp}","level":"WARN","msg":"slow request","path":"/api/v1/items",'
                f'"duration_ms":{900 + i * 137},"remote":"{ip}"}}'
            )
    if cause == "liveness":
        lines.append('{"level":"INFO","msg":"received SIGTERM, shutting down"}')
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------------
# cluster-scoped objects


def node_objects(plan: Plan) -> list[dict[str, Any]]:
    rng = Rng(sub_seed(plan.seed, "nodes"))
    images_by_node: dict[str, set[str]] = {}
    for ns in plan.namespaces:
        for dep in ns.deployments:
            for node in dep.nodes:
                images_by_node.setdefault(node, set()).add(image_of(dep))
    system_images = (
        [image for _, _, image in DAEMONSETS]
        + [image for _, _, image in PLATFORM_DEPLOYMENTS]
        + [
            ISTIO_PROXY_IMAGE,
            DD_JAVA_LIB_IMAGE,
            "mcr.microsoft.com/oss/kubernetes/pause:3.6",
            "mcr.microsoft.com/oss/kubernetes-csi/csi-node-driver-registrar:v2.10.1",
            "mcr.microsoft.com/oss/kubernetes-csi/livenessprobe:v2.12.0",
            "mcr.microsoft.com/containernetworking/azure-cns:v1.5.32",
            "mcr.microsoft.com/containernetworking/azure-cni:v1.5.32",
            "mcr.microsoft.com/oss/kubernetes/autoscaler/cluster-proportional-autoscaler:v1.8.9",
            "mcr.microsoft.com/aks/ip-masq-agent-v2:v0.1.11",
            "mcr.microsoft.com/oss/kubernetes/kube-state-metrics:v2.10.1",
            "mcr.microsoft.com/azuremonitor/containerinsights/ciprod:3.1.22",
            "mcr.microsoft.com/oss/kubernetes/azure-cloud-node-manager:v1.29.7",
            "docker.io/library/nginx:1.25.4",
        ]
    )
    nodes = []
    npd = [
        ("FrequentUnregisterNetDevice", "NoFrequentUnregisterNetDevice", "node is functioning properly"),
        ("FrequentKubeletRestart", "NoFrequentKubeletRestart", "kubelet is functioning properly"),
        ("FrequentDockerRestart", "NoFrequentDockerRestart", "docker is functioning properly"),
        ("FrequentContainerdRestart", "NoFrequentContainerdRestart", "containerd is functioning properly"),
        ("KernelDeadlock", "KernelHasNoDeadlock", "kernel has no deadlock"),
        ("ReadonlyFilesystem", "FilesystemIsNotReadOnly", "Filesystem is not read-only"),
        ("FilesystemCorruptionProblem", "FilesystemIsOK", "Filesystem is healthy"),
        ("ContainerRuntimeProblem", "ContainerRuntimeIsUp", "container runtime service is up"),
        ("KubeletProblem", "KubeletIsUp", "kubelet service is up"),
        ("VMEventScheduled", "NoVMEventScheduled", "VM has no scheduled event"),
    ]
    for n in plan.nodes:
        labels = {
            "agentpool": n.pool,
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/instance-type": n.vm_size,
            "beta.kubernetes.io/os": "linux",
            "failure-domain.beta.kubernetes.io/region": "westeurope",
            "failure-domain.beta.kubernetes.io/zone": n.zone,
            "kubernetes.azure.com/agentpool": n.pool,
            "kubernetes.azure.com/cluster": NODE_RG,
            "kubernetes.azure.com/consolidated-additional-properties": rng.uid(),
            "kubernetes.azure.com/kubelet-identity-client-id": rng.uid(),
            "kubernetes.azure.com/mode": "system" if n.pool == "system" else "user",
            "kubernetes.azure.com/node-image-version": "AKSUbuntu-2204gen2containerd-202407.29.0",
            "kubernetes.azure.com/nodepool-type": "VirtualMachineScaleSets",
            "kubernetes.azure.com/os-sku": "Ubuntu",
            "kubernetes.azure.com/role": "agent",
            "kubernetes.azure.com/storageprofile": "managed",
            "kubernetes.azure.com/storagetier": "Premium_LRS",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": n.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/role": "agent",
            "node-role.kubernetes.io/agent": "",
            "node.kubernetes.io/instance-type": n.vm_size,
            "storageprofile": "managed",
            "storagetier": "Premium_LRS",
            "topology.disk.csi.azure.com/zone": n.zone,
            "topology.kubernetes.io/region": "westeurope",
            "topology.kubernetes.io/zone": n.zone,
        }
        annotations = {
            "csi.volume.kubernetes.io/nodeid": json.dumps(
                {
                    "csi.oneagent.dynatrace.com": n.name,
                    "disk.csi.azure.com": n.name,
                    "file.csi.azure.com": n.name,
                },
                separators=(",", ":"),
            ),
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }
        hb = NOW - timedelta(seconds=rng.randint(1, 50))
        conds = [
            {
                "type": t,
                "status": "False",
                "lastHeartbeatTime": ts(hb),
                "lastTransitionTime": ts(n.created),
                "reason": r,
                "message": m,
            }
            for t, r, m in npd
        ]
        conds += [
            {
                "type": "MemoryPressure",
                "status": "False",
                "lastHeartbeatTime": ts(hb),
                "lastTransitionTime": ts(n.created),
                "reason": "KubeletHasSufficientMemory",
                "message": "kubelet has sufficient memory available",
            },
            {
                "type": "DiskPressure",
                "status": "False",
                "lastHeartbeatTime": ts(hb),
                "lastTransitionTime": ts(n.created),
                "reason": "KubeletHasNoDiskPressure",
                "message": "kubelet has no disk pressure",
            },
            {
                "type": "PIDPressure",
                "status": "False",
                "lastHeartbeatTime": ts(hb),
                "lastTransitionTime": ts(n.created),
                "reason": "KubeletHasSufficientPID",
                "message": "kubelet has sufficient PID available",
            },
            {
                "type": "Ready",
                "status": "True",
                "lastHeartbeatTime": ts(hb),
                "lastTransitionTime": ts(n.created + timedelta(seconds=30)),
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
            },
        ]
        imgs = sorted(set(system_images) | images_by_node.get(n.name, set()))
        images = [
            {
                "names": [f"{i.rsplit(':', 1)[0]}@sha256:{Rng(sub_seed(plan.seed, 'img', i)).hexstr(64)}", i],
                "sizeBytes": 5_000_000 + sub_seed(7, i) % 400_000_000,
            }
            for i in imgs
        ]
        alloc_mem = n.memory_ki - 2_000_000
        status = {
            "capacity": {
                "cpu": str(n.cpu),
                "ephemeral-storage": "129886128Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": f"{n.memory_ki}Ki",
                "pods": "110",
            },
            "allocatable": {
                "cpu": f"{n.cpu * 1000 - 180}m",
                "ephemeral-storage": "119703055367",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": f"{alloc_mem}Ki",
                "pods": "110",
            },
            "conditions": conds,
            "addresses": [{"type": "InternalIP", "address": n.ip}, {"type": "Hostname", "address": n.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": rng.hexstr(32),
                "systemUUID": rng.uid(),
                "bootID": rng.uid(),
                "kernelVersion": "5.15.0-1068-azure",
                "osImage": "Ubuntu 22.04.4 LTS",
                "containerRuntimeVersion": "containerd://1.7.15-1",
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "images": images,
        }
        vmss = n.name.rsplit("-vmss", 1)[0] + "-vmss"
        spec: dict[str, Any] = {
            "podCIDR": n.pod_cidr,
            "podCIDRs": [n.pod_cidr],
            "providerID": f"azure:///subscriptions/{SUBSCRIPTION}/resourceGroups/{NODE_RG.lower()}/providers/"
            f"Microsoft.Compute/virtualMachineScaleSets/{vmss}/virtualMachines/{n.index}",
        }
        if n.taints:
            spec["taints"] = n.taints
        meta = {
            "name": n.name,
            "uid": n.uid,
            "resourceVersion": str(90_000_000 + rng.randint(0, 9_999_999)),
            "creationTimestamp": ts(n.created),
            "labels": labels,
            "annotations": annotations,
            "managedFields": [
                managed(
                    "kubelet",
                    n.created,
                    {
                        "f:metadata": fields_v1({"annotations": annotations, "labels": labels}),
                        "f:spec": fields_v1({"providerID": ""}),
                    },
                ),
                managed(
                    "kube-controller-manager",
                    n.created + timedelta(seconds=20),
                    {"f:spec": fields_v1({"podCIDR": "", "podCIDRs": []})},
                ),
                managed(
                    "kubelet",
                    hb,
                    {"f:status": fields_v1({k: v for k, v in status.items() if k != "images"}) | {"f:images": {}}},
                    subresource="status",
                ),
            ],
        }
        nodes.append({"metadata": meta, "spec": spec, "status": status})
    return nodes


def cluster_scoped(plan: Plan) -> dict[str, Any]:
    rng = Rng(sub_seed(plan.seed, "cluster-scoped"))

    def ca() -> str:
        pem = "-----BEGIN CERTIFICATE-----\n"
        body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(800))).decode()
        pem += "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        pem += "\n-----END CERTIFICATE-----\n"
        return base64.b64encode(pem.encode()).decode()

    created = ts(NOW - timedelta(days=120))

    def pod_rule() -> list[dict[str, Any]]:
        return [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE"],
                "resources": ["pods"],
                "scope": "*",
            }
        ]

    def webhook(
        name: str,
        svc: str,
        ns: str,
        path: str,
        failure: str,
        ns_sel: dict[str, Any],
        obj_sel: dict[str, Any],
        reinvoke: str = "Never",
        timeout: int = 10,
    ) -> dict[str, Any]:
        return {
            "admissionReviewVersions": ["v1", "v1beta1"],
            "clientConfig": {
                "caBundle": ca(),
                "service": {"name": svc, "namespace": ns, "path": path, "port": 443},
            },
            "failurePolicy": failure,
            "matchPolicy": "Equivalent",
            "name": name,
            "namespaceSelector": ns_sel,
            "objectSelector": obj_sel,
            "reinvocationPolicy": reinvoke,
            "rules": pod_rule(),
            "sideEffects": "None",
            "timeoutSeconds": timeout,
        }

    mwcs = [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {
                "annotations": {
                    "meta.helm.sh/release-name": "dynatrace-operator",
                    "meta.helm.sh/release-namespace": "dynatrace",
                },
                "creationTimestamp": created,
                "generation": 3,
                "labels": {
                    "app.kubernetes.io/component": "webhook",
                    "app.kubernetes.io/managed-by": "Helm",
                    "app.kubernetes.io/name": "dynatrace-operator",
                    "app.kubernetes.io/version": "1.7.1",
                    "helm.sh/chart": "dynatrace-operator-1.7.1",
                },
                "name": "dynatrace-webhook",
                "resourceVersion": str(rng.randint(10**7, 10**8)),
                "uid": rng.uid(),
            },
            "webhooks": [
                webhook(
                    "webhook.pod.dynatrace.com",
                    "dynatrace-webhook",
                    "dynatrace",
                    "/inject",
                    "Ignore",
                    {"matchExpressions": [{"key": "dynakube.internal.dynatrace.com/instance", "operator": "Exists"}]},
                    {},
                    "IfNeeded",
                ),
                {
                    **webhook(
                        "webhook.ns.dynatrace.com",
                        "dynatrace-webhook",
                        "dynatrace",
                        "/label-ns",
                        "Ignore",
                        {},
                        {},
                    ),
                    "rules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["namespaces"],
                            "scope": "*",
                        }
                    ],
                },
            ],
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {
                "creationTimestamp": created,
                "generation": 2,
                "labels": {
                    "app": "sidecar-injector",
                    "istio.io/rev": "default",
                    "operator.istio.io/component": "Pilot",
                },
                "name": "istio-sidecar-injector",
                "resourceVersion": str(rng.randint(10**7, 10**8)),
                "uid": rng.uid(),
            },
            "webhooks": [
                webhook(
                    "namespace.sidecar-injector.istio.io",
                    "istiod",
                    "istio-system",
                    "/inject",
                    "Fail",
                    {"matchExpressions": [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}]},
                    {
                        "matchExpressions": [
                            {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}
                        ]
                    },
                ),
                webhook(
                    "object.sidecar-injector.istio.io",
                    "istiod",
                    "istio-system",
                    "/inject",
                    "Fail",
                    {
                        "matchExpressions": [
                            {"key": "istio-injection", "operator": "DoesNotExist"},
                            {"key": "istio.io/rev", "operator": "DoesNotExist"},
                        ]
                    },
                    {
                        "matchExpressions": [
                            {"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]},
                            {"key": "istio.io/rev", "operator": "DoesNotExist"},
                        ]
                    },
                ),
            ],
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {
                "creationTimestamp": created,
                "generation": 1,
                "labels": {"app.kubernetes.io/managed-by": "datadog-cluster-agent"},
                "name": "datadog-webhook",
                "resourceVersion": str(rng.randint(10**7, 10**8)),
                "uid": rng.uid(),
            },
            "webhooks": [
                webhook(
                    "datadog.webhook.agent.config",
                    "datadog-admission-controller",
                    "datadog",
                    "/injectconfig",
                    "Ignore",
                    {},
                    {"matchLabels": {"admission.datadoghq.com/enabled": "true"}},
                    timeout=10,
                ),
                webhook(
                    "datadog.webhook.lib.injection",
                    "datadog-admission-controller",
                    "datadog",
                    "/injectlib",
                    "Ignore",
                    {},
                    {"matchLabels": {"admission.datadoghq.com/enabled": "true"}},
                    timeout=10,
                ),
            ],
        },
    ]
    namespaces = []
    for ns in plan.namespaces:
        namespaces.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "creationTimestamp": ts(ns.created),
                    "labels": dict(ns.labels),
                    "name": ns.name,
                    "resourceVersion": str(rng.randint(10**5, 10**7)),
                    "uid": ns.uid,
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        )
    extra = [
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "CSIDriver",
            "metadata": {
                "creationTimestamp": created,
                "labels": {
                    "app.kubernetes.io/component": "csi-driver",
                    "app.kubernetes.io/name": "dynatrace-operator",
                },
                "name": "csi.oneagent.dynatrace.com",
                "resourceVersion": str(rng.randint(10**5, 10**7)),
                "uid": rng.uid(),
            },
            "spec": {
                "attachRequired": False,
                "fsGroupPolicy": "ReadWriteOnceWithFSType",
                "podInfoOnMount": True,
                "requiresRepublish": False,
                "seLinuxMount": False,
                "storageCapacity": False,
                "volumeLifecycleModes": ["Ephemeral"],
            },
        },
        {
            "apiVersion": "dynatrace.com/v1beta2",
            "kind": "DynaKube",
            "metadata": {
                "creationTimestamp": created,
                "generation": 4,
                "name": DYNAKUBE,
                "namespace": "dynatrace",
                "resourceVersion": str(rng.randint(10**5, 10**7)),
                "uid": rng.uid(),
            },
            "spec": {
                "apiUrl": "https://abc12345.live.dynatrace.com/api",
                "oneAgent": {
                    "cloudNativeFullStack": {
                        "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Exists"}]},
                        "tolerations": [{"effect": "NoSchedule", "key": "CriticalAddonsOnly", "operator": "Exists"}],
                    }
                },
                "activeGate": {"capabilities": ["routing", "kubernetes-monitoring"]},
            },
            "status": {
                "phase": "Running",
                "codeModules": {
                    "version": "1.295.66.20240725-110315",
                    "source": "tenant-registry",
                    "lastProbeTimestamp": ts(NOW - timedelta(minutes=9)),
                },
            },
        },
    ]
    return {
        "apiVersion": "v1",
        "items": mwcs + namespaces + extra,
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


# ------------------------------------------------------------------------------------------------------
# entry points


def _render_namespace(args: tuple[Plan, int, str, bool]) -> dict[str, Any]:
    plan, index, outdir, healthy_logs = args
    _OPTIONS["managed_fields"] = bool(plan.options.get("managed_fields"))
    return NamespaceRenderer(plan, plan.namespaces[index], Path(outdir), healthy_logs).run()


def generate(
    outdir: str | os.PathLike[str],
    *,
    pods: int = 10_000,
    deployments: int = 2_000,
    events: int = 100_000,
    failing: int = 300,
    seed: int = 1,
    namespaces: int = 40,
    nodes: int = 60,
    healthy_logs: bool = False,
    managed_fields: bool = False,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Write a bundle into outdir (created if needed) and return a summary with the ground truth."""
    if deployments <= 0 or pods < deployments:
        raise ValueError("need at least one deployment and one pod per deployment")
    if failing > pods:
        raise ValueError("cannot have more failing pods than pods")
    if nodes < 3:
        raise ValueError("need at least 3 nodes (one per pool)")
    started = time.perf_counter()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    plan = make_plan(seed, pods, deployments, failing, events, namespaces, nodes)
    plan.options["managed_fields"] = managed_fields
    _OPTIONS["managed_fields"] = managed_fields
    total_bytes = write_json(
        out / "nodes.json",
        {
            "kind": "NodeList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "98765432"},
            "items": node_objects(plan),
        },
    )
    scoped = yaml.dump(
        cluster_scoped(plan),
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        default_flow_style=False,
        sort_keys=True,
        width=1 << 20,
    )
    (out / "cluster-scoped.yaml").write_text(scoped, encoding="utf-8")
    total_bytes += len(scoped)

    tasks = [(plan, i, str(out), healthy_logs) for i in range(len(plan.namespaces))]
    # biggest namespaces first so the pool balances
    tasks.sort(key=lambda t: -plan.namespaces[t[1]].pod_count(len(plan.nodes)))
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_render_namespace, tasks))
    else:
        results = [_render_namespace(t) for t in tasks]
    results.sort(key=lambda r: [ns.name for ns in plan.namespaces].index(r["namespace"]))

    stats: Counter[str] = Counter()
    truth: list[dict[str, Any]] = []
    pods_bytes = events_bytes = 0
    for r in results:
        stats.update(r["stats"])
        truth.extend(r["truth"])
        total_bytes += r["bytes"]
        pods_bytes += r["pods_json_bytes"]
        events_bytes += r["events_json_bytes"]
    summary = {
        "generator_version": GENERATOR_VERSION,
        "params": {
            "pods": pods,
            "deployments": deployments,
            "events": events,
            "failing": failing,
            "seed": seed,
            "namespaces": len(plan.namespaces),
            "nodes": len(plan.nodes),
            "healthy_logs": healthy_logs,
            "managed_fields": managed_fields,
        },
        "counts": {
            "nodes": len(plan.nodes),
            "namespaces": len(plan.namespaces),
            **dict(sorted(stats.items())),
            "failing_workloads": len(truth),
        },
        "failing_workloads_by_category": dict(sorted(Counter(t["category"] for t in truth).items())),
        "failing_workloads_by_cause": dict(sorted(Counter(t["cause"] for t in truth).items())),
        "bytes_written": total_bytes,
        # as laid out in pods.json / events.json (indented inside the list)
        "mean_pod_json_bytes": round(pods_bytes / stats["pods"]) if stats["pods"] else 0,
        "mean_event_json_bytes": round(events_bytes / stats["events"]) if stats["events"] else 0,
        "seconds": round(time.perf_counter() - started, 2),
        "truth": truth,
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--pods", type=int, default=10_000, help="pods owned by Deployments (default 10000)")
    ap.add_argument("--deployments", type=int, default=2_000)
    ap.add_argument("--events", type=int, default=100_000, help="total events (at least the Warning events)")
    ap.add_argument("--failing", type=int, default=300, help="failing pods")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--namespaces", type=int, default=40)
    ap.add_argument("--nodes", type=int, default=60, help="nodes over 3 AKS pools; each runs one pod per DaemonSet")
    ap.add_argument(
        "--healthy-logs",
        action="store_true",
        help="also write <ns>/<pod>/logs.txt for healthy pods, as kubectl does",
    )
    ap.add_argument(
        "--managed-fields",
        action="store_true",
        help="keep metadata.managedFields (kubectl before 1.21, or --show-managed-fields)",
    )
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPU count)")
    ap.add_argument("--truth", help="write the summary and ground truth (JSON) to this file")
    args = ap.parse_args(argv)
    out = Path(args.outdir)
    if out.exists() and any(out.iterdir()):
        print(f"error: {out} exists and is not empty", file=sys.stderr)
        return 2
    try:
        summary = generate(
            out,
            pods=args.pods,
            deployments=args.deployments,
            events=args.events,
            failing=args.failing,
            seed=args.seed,
            namespaces=args.namespaces,
            nodes=args.nodes,
            healthy_logs=args.healthy_logs,
            managed_fields=args.managed_fields,
            jobs=args.jobs,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.truth:
        Path(args.truth).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    brief = {k: v for k, v in summary.items() if k != "truth"}
    print(json.dumps(brief, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
