# ruff: noqa: E501  (log texts and API messages are kept verbatim, whatever their length)
"""Generate the per-rule fixture bundles under tests/rules/<rule-id>/{fail,pass}.<case>/.

Run: python tests/rules/_make_fixtures.py   (stdlib + PyYAML; deterministic: same output on every run)

Every bundle is shaped like `kubectl get -o json|yaml` output plus `logs/<ns>/<pod>/<container>[.previous].log`.
Pods are built from their owner's pod template with the fields the API server adds (service-account volume,
default tolerations, node, priority) and then mutated by the injector helpers below, exactly as each
injector's admission webhook would, so the difference between a pod and its template is what the webhook
added. Facts behind the injector shapes: shared/knowledge/injectors.md Part A and dynatrace.md §2.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import shutil
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
NOW = datetime(2024, 8, 14, 9, 30, 0, tzinfo=UTC)  # when every bundle was "collected"
UID_NS = uuid.UUID("6f1c2b9e-4d0a-4c33-9a55-0b7d2a1e9c10")
SAFE = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery rand.SafeEncodeString alphabet
KUBE_SYSTEM_UID = "8d3c7f61-5a0e-4d8b-b5f2-2f1d6f0e9a47"

Obj = dict[str, Any]

# ----------------------------------------------------------------------------------------------------------
# deterministic values


def _h(*parts: object) -> bytes:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()


def uid(*parts: object) -> str:
    return str(uuid.uuid5(UID_NS, "/".join(str(p) for p in parts)))


def hexid(n: int, *parts: object) -> str:
    out = ""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(("/".join(str(p) for p in parts) + f"#{i}").encode()).hexdigest()
        i += 1
    return out[:n]


def token(n: int, *parts: object) -> str:
    raw = _h(*parts)
    return "".join(SAFE[b % len(SAFE)] for b in raw[:n])


def ts(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ts_micro(minutes_ago: float, salt: object = "") -> str:
    t = NOW - timedelta(minutes=minutes_ago)
    micro = int.from_bytes(_h("us", salt, minutes_ago)[:3], "big") % 1_000_000
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{micro:06d}Z"


def full_image(image: str) -> str:
    """How the kubelet reports an image in containerStatuses (docker.io/library/... normalised)."""
    first = image.split("/", 1)[0]
    if "/" not in image:
        return "docker.io/library/" + image
    if "." not in first and ":" not in first and first != "localhost":
        return "docker.io/" + image
    return image


def image_id(image: str) -> str:
    repo = full_image(image)
    if "@" in repo:
        return repo
    name = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
    return f"{name}@sha256:{hexid(64, 'img', image)}"


def container_id(*parts: object) -> str:
    return "containerd://" + hexid(64, "cid", *parts)


# ----------------------------------------------------------------------------------------------------------
# bundle


@dataclass
class Bundle:
    """Objects and logs of one fixture folder."""

    seed: str
    objects: list[Obj] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    rv: int = 0

    def __post_init__(self) -> None:
        self.rv = 1_000_000 + int.from_bytes(_h("rv", self.seed)[:3], "big") % 8_000_000

    def add(self, *objs: Obj) -> None:
        for o in objs:
            md = o.setdefault("metadata", {})
            if "resourceVersion" not in md:
                self.rv += 1 + int.from_bytes(_h("rvstep", self.seed, self.rv)[:1], "big") % 40
                md["resourceVersion"] = str(self.rv)
            self.objects.append(o)

    def log(self, pod: Obj, container: str, text: str, *, previous: bool = False) -> None:
        md = pod["metadata"]
        suffix = ".previous.log" if previous else ".log"
        self.logs[f"logs/{md['namespace']}/{md['name']}/{container}{suffix}"] = text.strip("\n") + "\n"


# ----------------------------------------------------------------------------------------------------------
# cluster-scoped objects


def make_namespace(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    age_days: float = 200,
) -> Obj:
    lb = {"kubernetes.io/metadata.name": name}
    lb.update(labels or {})
    md: Obj = {"creationTimestamp": ts(age_days * 1440), "labels": lb, "name": name, "uid": uid("ns", name)}
    if annotations:
        md["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": md,
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


@dataclass(frozen=True)
class NodeInfo:
    name: str
    pool: str
    cloud: str = "aks"  # aks | eks | gke
    ip: str = "10.224.0.4"
    cpu: str = "4"
    memory_ki: int = 16_375_244
    alloc_cpu: str = "3860m"
    alloc_memory_ki: int = 12_881_868
    taints: tuple[tuple[str, str, str], ...] = ()
    extra_labels: tuple[tuple[str, str], ...] = ()
    instance: str = "Standard_D4s_v5"
    zone: str = "westeurope-1"


def aks_node(pool: str, idx: int, *, ip: str, **kw: Any) -> NodeInfo:
    vm = 10_000_000 + int.from_bytes(_h("vmss", pool)[:4], "big") % 89_999_999
    return NodeInfo(name=f"aks-{pool}-{vm}-vmss{idx:06d}", pool=pool, ip=ip, **kw)


def make_node(n: NodeInfo, *, age_days: float = 30) -> Obj:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": n.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": n.instance,
        "topology.kubernetes.io/region": n.zone.rsplit("-", 1)[0],
        "topology.kubernetes.io/zone": n.zone,
    }
    if n.cloud == "aks":
        labels.update(
            {
                "agentpool": n.pool,
                "kubernetes.azure.com/agentpool": n.pool,
                "kubernetes.azure.com/cluster": "MC_rg-platform_aks-platform_westeurope",
                "kubernetes.azure.com/mode": "system" if n.pool in ("agentpool", "system") else "user",
                "kubernetes.azure.com/node-image-version": "AKSUbuntu-2204gen2containerd-202407.29.0",
                "kubernetes.azure.com/os-sku": "Ubuntu",
                "kubernetes.azure.com/role": "agent",
            }
        )
        provider = f"azure:///subscriptions/3b7f0c52-1d4e-4a8e-9c71-2e5d8f6a0b13/resourceGroups/mc_rg-platform_aks-platform_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/{n.name[:-12]}/virtualMachines/{int(n.name[-6:])}"
        kubelet, os_image, kernel = "v1.29.7", "Ubuntu 22.04.4 LTS", "5.15.0-1068-azure"
    elif n.cloud == "eks":
        labels.update({"eks.amazonaws.com/nodegroup": n.pool, "eks.amazonaws.com/capacityType": "ON_DEMAND"})
        provider = f"aws:///{n.zone}/i-0{hexid(16, 'ec2', n.name)}"
        kubelet, os_image, kernel = (
            "v1.29.6-eks-1552ad0",
            "Amazon Linux 2023.5.20240805",
            "6.1.102-108.177.amzn2023.x86_64",
        )
    else:
        labels.update({"cloud.google.com/gke-nodepool": n.pool, "cloud.google.com/gke-os-distribution": "cos"})
        provider = f"gce://acme-prod/{n.zone}/{n.name}"
        kubelet, os_image, kernel = "v1.29.6-gke.1326000", "Container-Optimized OS from Google", "6.1.85+"
    labels.update(dict(n.extra_labels))
    spec: Obj = {"providerID": provider}
    if n.taints:
        spec["taints"] = [{"effect": e, "key": k, "value": v} for k, v, e in n.taints]
    cond_t = ts(age_days * 1440)
    beat = ts(1)
    conditions = [
        {
            "lastHeartbeatTime": beat,
            "lastTransitionTime": cond_t,
            "message": "kubelet has sufficient memory available",
            "reason": "KubeletHasSufficientMemory",
            "status": "False",
            "type": "MemoryPressure",
        },
        {
            "lastHeartbeatTime": beat,
            "lastTransitionTime": cond_t,
            "message": "kubelet has no disk pressure",
            "reason": "KubeletHasNoDiskPressure",
            "status": "False",
            "type": "DiskPressure",
        },
        {
            "lastHeartbeatTime": beat,
            "lastTransitionTime": cond_t,
            "message": "kubelet has sufficient PID available",
            "reason": "KubeletHasSufficientPID",
            "status": "False",
            "type": "PIDPressure",
        },
        {
            "lastHeartbeatTime": beat,
            "lastTransitionTime": cond_t,
            "message": "kubelet is posting ready status",
            "reason": "KubeletReady",
            "status": "True",
            "type": "Ready",
        },
    ]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": ts(age_days * 1440),
            "labels": labels,
            "name": n.name,
            "uid": uid("node", n.name),
        },
        "spec": spec,
        "status": {
            "addresses": [{"address": n.ip, "type": "InternalIP"}, {"address": n.name, "type": "Hostname"}],
            "allocatable": {
                "cpu": n.alloc_cpu,
                "ephemeral-storage": "119703055367",
                "memory": f"{n.alloc_memory_ki}Ki",
                "pods": "110",
            },
            "capacity": {
                "cpu": n.cpu,
                "ephemeral-storage": "129886128Ki",
                "memory": f"{n.memory_ki}Ki",
                "pods": "110",
            },
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": uid("boot", n.name),
                "containerRuntimeVersion": "containerd://1.7.15-1",
                "kernelVersion": kernel,
                "kubeProxyVersion": kubelet,
                "kubeletVersion": kubelet,
                "machineID": hexid(32, "mid", n.name),
                "operatingSystem": "linux",
                "osImage": os_image,
                "systemUUID": uid("sys", n.name),
            },
        },
    }


# ----------------------------------------------------------------------------------------------------------
# containers and templates (with the defaults the API server applies to pod templates)


def env(name: str, value: str) -> Obj:
    return {"name": name, "value": value}


def env_field(name: str, path: str) -> Obj:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def env_secret(name: str, secret: str, key: str, optional: bool | None = None) -> Obj:
    ref: Obj = {"key": key, "name": secret}
    if optional is not None:
        ref["optional"] = optional
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def env_cm(name: str, cm: str, key: str) -> Obj:
    return {"name": name, "valueFrom": {"configMapKeyRef": {"key": key, "name": cm}}}


def mount(name: str, path: str, *, ro: bool = False, sub: str | None = None) -> Obj:
    m: Obj = {"mountPath": path, "name": name}
    if ro:
        m["readOnly"] = True
    if sub:
        m["subPath"] = sub
    return m


def http_probe(
    path: str, port: int | str, *, delay: int = 0, period: int = 10, timeout: int = 1, failures: int = 3
) -> Obj:
    p: Obj = {
        "failureThreshold": failures,
        "httpGet": {"path": path, "port": port, "scheme": "HTTP"},
        "periodSeconds": period,
        "successThreshold": 1,
        "timeoutSeconds": timeout,
    }
    if delay:
        p["initialDelaySeconds"] = delay
    return p


def res(
    req_cpu: str | None = None,
    req_mem: str | None = None,
    lim_cpu: str | None = None,
    lim_mem: str | None = None,
) -> Obj:
    out: Obj = {}
    lim = {k: v for k, v in (("cpu", lim_cpu), ("memory", lim_mem)) if v}
    req = {k: v for k, v in (("cpu", req_cpu), ("memory", req_mem)) if v}
    if lim:
        out["limits"] = lim
    if req:
        out["requests"] = req
    return out


def container(
    name: str,
    image: str,
    *,
    command: list[str] | None = None,
    args: list[str] | None = None,
    envs: list[Obj] | None = None,
    env_from: list[Obj] | None = None,
    ports: list[tuple[str, int]] | None = None,
    resources: Obj | None = None,
    mounts: list[Obj] | None = None,
    liveness: Obj | None = None,
    readiness: Obj | None = None,
    startup: Obj | None = None,
    security: Obj | None = None,
    workdir: str | None = None,
    pull: str | None = None,
) -> Obj:
    c: Obj = {"name": name, "image": image}
    if command:
        c["command"] = list(command)
    if args:
        c["args"] = list(args)
    if envs:
        c["env"] = copy.deepcopy(envs)
    if env_from:
        c["envFrom"] = copy.deepcopy(env_from)
    last = image.rsplit("/", 1)[-1]
    c["imagePullPolicy"] = pull or ("Always" if ":" not in last or last.endswith(":latest") else "IfNotPresent")
    if ports:
        c["ports"] = [{"containerPort": p, "name": n, "protocol": "TCP"} for n, p in ports]
    if liveness:
        c["livenessProbe"] = liveness
    if readiness:
        c["readinessProbe"] = readiness
    if startup:
        c["startupProbe"] = startup
    c["resources"] = resources or {}
    if security:
        c["securityContext"] = security
    c["terminationMessagePath"] = "/dev/termination-log"
    c["terminationMessagePolicy"] = "File"
    if mounts:
        c["volumeMounts"] = copy.deepcopy(mounts)
    if workdir:
        c["workingDir"] = workdir
    return c


def pod_spec(
    containers: list[Obj],
    *,
    init: list[Obj] | None = None,
    volumes: list[Obj] | None = None,
    restart: str = "Always",
    node_selector: dict[str, str] | None = None,
    tolerations: list[Obj] | None = None,
    sa: str | None = None,
    grace: int = 30,
    security: Obj | None = None,
    affinity: Obj | None = None,
    pull_secrets: list[str] | None = None,
    automount: bool | None = None,
) -> Obj:
    s: Obj = {
        "containers": copy.deepcopy(containers),
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": restart,
        "schedulerName": "default-scheduler",
        "securityContext": security or {},
        "terminationGracePeriodSeconds": grace,
    }
    if init:
        s["initContainers"] = copy.deepcopy(init)
    if volumes:
        s["volumes"] = copy.deepcopy(volumes)
    if node_selector:
        s["nodeSelector"] = dict(node_selector)
    if tolerations:
        s["tolerations"] = copy.deepcopy(tolerations)
    if sa:
        s["serviceAccountName"] = sa
        s["serviceAccount"] = sa
    if affinity:
        s["affinity"] = affinity
    if pull_secrets:
        s["imagePullSecrets"] = [{"name": n} for n in pull_secrets]
    if automount is not None:
        s["automountServiceAccountToken"] = automount
    return s


def template(labels: dict[str, str], spec: Obj, annotations: dict[str, str] | None = None) -> Obj:
    md: Obj = {"creationTimestamp": None, "labels": dict(labels)}
    if annotations:
        md["annotations"] = dict(annotations)
    return {"metadata": md, "spec": spec}


def all_containers(spec: Obj) -> list[Obj]:
    return list(spec.get("initContainers", [])) + list(spec.get("containers", []))


def qos_class(spec: Obj) -> str:
    cs = all_containers(spec)
    if not any(c.get("resources") for c in cs):
        return "BestEffort"
    for c in cs:
        r = c.get("resources", {})
        lim = r.get("limits", {})
        req = r.get("requests", lim)
        if set(lim) != {"cpu", "memory"} or any(req.get(k) != lim.get(k) for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


# ----------------------------------------------------------------------------------------------------------
# workload controllers


def owner_ref(obj: Obj) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "blockOwnerDeletion": True,
        "controller": True,
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
    }


def _meta(
    kind: str,
    ns: str,
    name: str,
    age_min: float,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    md: Obj = {
        "creationTimestamp": ts(age_min),
        "generation": 1,
        "name": name,
        "namespace": ns,
        "uid": uid(kind, ns, name),
    }
    if labels:
        md["labels"] = dict(labels)
    if annotations:
        md["annotations"] = dict(annotations)
    return md


def pod_template_hash(tpl: Obj) -> str:
    return token(10, "pth", json.dumps(tpl, sort_keys=True))


@dataclass
class Workload:
    """A controller (or none, for a bare pod) with its pod template; builds pods the way controllers do."""

    kind: str  # Deployment | StatefulSet | DaemonSet | CronJob | Job | Pod
    ns: str
    name: str
    tpl: Obj
    replicas: int = 1
    age_min: float = 60 * 24 * 3
    objects: list[Obj] = field(default_factory=list)
    pod_owner: Obj | None = None
    pod_tpl: Obj | None = None  # the template the pods are made from (the RS's / Job's)
    top: Obj | None = None
    extra_pod_labels: Callable[[int], dict[str, str]] | None = None
    service: str | None = None
    claim_templates: list[Obj] = field(default_factory=list)
    job_name: str | None = None
    backoff_limit: int = 6

    def __post_init__(self) -> None:
        k, ns, name, tpl = self.kind, self.ns, self.name, self.tpl
        sel = {k2: v for k2, v in tpl["metadata"]["labels"].items() if k2 in ("app", "app.kubernetes.io/name")}
        sel = sel or dict(tpl["metadata"]["labels"])
        app_labels = {"app": tpl["metadata"]["labels"].get("app", name)}
        if k == "Deployment":
            d = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": _meta(k, ns, name, self.age_min, app_labels, {"deployment.kubernetes.io/revision": "1"}),
                "spec": {
                    "progressDeadlineSeconds": 600,
                    "replicas": self.replicas,
                    "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": sel},
                    "strategy": {
                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                        "type": "RollingUpdate",
                    },
                    "template": copy.deepcopy(tpl),
                },
                "status": {},
            }
            h = pod_template_hash(tpl)
            rtpl = copy.deepcopy(tpl)
            rtpl["metadata"]["labels"]["pod-template-hash"] = h
            rs_labels = dict(rtpl["metadata"]["labels"])
            rs: Obj = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": _meta(
                    "ReplicaSet",
                    ns,
                    f"{name}-{h}",
                    self.age_min - 0.01,
                    rs_labels,
                    {
                        "deployment.kubernetes.io/desired-replicas": str(self.replicas),
                        "deployment.kubernetes.io/max-replicas": str(self.replicas + math.ceil(self.replicas * 0.25)),
                        "deployment.kubernetes.io/revision": "1",
                    },
                ),
                "spec": {
                    "replicas": self.replicas,
                    "selector": {"matchLabels": {**sel, "pod-template-hash": h}},
                    "template": rtpl,
                },
                "status": {},
            }
            rs["metadata"]["ownerReferences"] = [owner_ref(d)]
            self.objects = [d, rs]
            self.pod_owner, self.pod_tpl, self.top = rs, rtpl, d
        elif k == "StatefulSet":
            rev = f"{name}-{token(10, 'crh', name)}"
            spec: Obj = {
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "podManagementPolicy": "OrderedReady",
                "replicas": self.replicas,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": sel},
                "serviceName": self.service or name,
                "template": copy.deepcopy(tpl),
                "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
            }
            if self.claim_templates:
                spec["volumeClaimTemplates"] = copy.deepcopy(self.claim_templates)
            s = {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": _meta(k, ns, name, self.age_min, app_labels),
                "spec": spec,
                "status": {"currentRevision": rev, "updateRevision": rev},
            }
            self.objects = [s]
            self.pod_owner, self.pod_tpl, self.top = s, copy.deepcopy(tpl), s
            self.extra_pod_labels = lambda i: {
                "apps.kubernetes.io/pod-index": str(i),
                "controller-revision-hash": rev,
                "statefulset.kubernetes.io/pod-name": f"{name}-{i}",
            }
        elif k == "DaemonSet":
            crh = token(9, "ds-crh", name)
            ds = {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": _meta(
                    k, ns, name, self.age_min, app_labels, {"deprecated.daemonset.template.generation": "1"}
                ),
                "spec": {
                    "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": sel},
                    "template": copy.deepcopy(tpl),
                    "updateStrategy": {
                        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                        "type": "RollingUpdate",
                    },
                },
                "status": {},
            }
            self.objects = [ds]
            self.pod_owner, self.pod_tpl, self.top = ds, copy.deepcopy(tpl), ds
            self.extra_pod_labels = lambda i: {
                "controller-revision-hash": crh,
                "pod-template-generation": "1",
            }
        elif k in ("CronJob", "Job"):
            objs: list[Obj] = []
            job_name = self.job_name or name
            job_md_labels: dict[str, str] = {}
            job_ann: dict[str, str] = {}
            cj = None
            if k == "CronJob":
                cj = {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "metadata": _meta(k, ns, name, self.age_min, app_labels),
                    "spec": {
                        "concurrencyPolicy": "Forbid",
                        "failedJobsHistoryLimit": 1,
                        "jobTemplate": {
                            "metadata": {"creationTimestamp": None},
                            "spec": {"backoffLimit": self.backoff_limit, "template": copy.deepcopy(tpl)},
                        },
                        "schedule": "30 2 * * *",
                        "successfulJobsHistoryLimit": 3,
                        "suspend": False,
                        "timeZone": "Etc/UTC",
                    },
                    "status": {},
                }
                objs.append(cj)
                job_ann = {"batch.kubernetes.io/cronjob-scheduled-timestamp": "2024-08-14T02:30:00Z"}
            juid = uid("Job", ns, job_name)
            ctl = {
                "batch.kubernetes.io/controller-uid": juid,
                "batch.kubernetes.io/job-name": job_name,
                "controller-uid": juid,
                "job-name": job_name,
            }
            jtpl = copy.deepcopy(tpl)
            jtpl["metadata"]["labels"].update(ctl)
            job_md_labels = {**ctl, **app_labels}
            job: Obj = {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": _meta(
                    "Job", ns, job_name, self.age_min if k == "Job" else 420, job_md_labels, job_ann or None
                ),
                "spec": {
                    "backoffLimit": self.backoff_limit,
                    "completionMode": "NonIndexed",
                    "completions": 1,
                    "manualSelector": False,
                    "parallelism": 1,
                    "podReplacementPolicy": "TerminatingOrFailed",
                    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": juid}},
                    "suspend": False,
                    "template": jtpl,
                },
                "status": {},
            }
            job["metadata"]["uid"] = juid
            if cj is not None:
                job["metadata"]["ownerReferences"] = [owner_ref(cj)]
            objs.append(job)
            self.objects = objs
            self.pod_owner, self.pod_tpl, self.top = job, jtpl, cj or job
        elif k == "Pod":
            self.objects = []
            self.pod_owner, self.pod_tpl, self.top = None, copy.deepcopy(tpl), None
        else:
            raise ValueError(k)

    @property
    def ref(self) -> dict[str, str]:
        return {"kind": self.kind, "namespace": self.ns, "name": self.name}

    def pod_name(self, i: int) -> str:
        if self.kind == "Deployment":
            assert self.pod_owner is not None
            return f"{self.pod_owner['metadata']['name']}-{token(5, 'pod', self.ns, self.name, i)}"
        if self.kind == "StatefulSet":
            return f"{self.name}-{i}"
        if self.kind == "DaemonSet":
            return f"{self.name}-{token(5, 'dspod', self.ns, self.name, i)}"
        if self.kind in ("CronJob", "Job"):
            assert self.pod_owner is not None
            return f"{self.pod_owner['metadata']['name']}-{token(5, 'jobpod', self.ns, self.name, i)}"
        return self.name

    def new_pod(self, i: int, node: NodeInfo | None, *, age_min: float, ip: str | None = None) -> Obj:
        assert self.pod_tpl is not None
        tpl = copy.deepcopy(self.pod_tpl)
        name = self.pod_name(i)
        md: Obj = {
            "creationTimestamp": ts(age_min),
            "labels": tpl["metadata"].get("labels", {}),
            "name": name,
            "namespace": self.ns,
            "uid": uid("Pod", self.ns, name, age_min),
        }
        if tpl["metadata"].get("annotations"):
            md["annotations"] = tpl["metadata"]["annotations"]
        if self.extra_pod_labels:
            md["labels"].update(self.extra_pod_labels(i))
        if self.pod_owner is not None:
            md["ownerReferences"] = [owner_ref(self.pod_owner)]
            if self.kind in ("Deployment", "DaemonSet", "CronJob", "Job"):
                md["generateName"] = name[:-5] if self.kind != "DaemonSet" else f"{self.name}-"
        spec = tpl["spec"]
        if self.kind == "StatefulSet":
            spec["hostname"] = name
            spec["subdomain"] = self.service or self.name
            for ct in self.claim_templates:
                cn = ct["metadata"]["name"]
                spec.setdefault("volumes", []).insert(
                    0, {"name": cn, "persistentVolumeClaim": {"claimName": f"{cn}-{name}"}}
                )
        if self.kind == "DaemonSet" and node is not None:
            spec["affinity"] = {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node.name]}]}
                        ]
                    }
                }
            }
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": {}}
        admit_pod(pod, daemon=self.kind == "DaemonSet")
        if node is not None:
            spec["nodeName"] = node.name
        pod["_node"] = node
        pod["_age"] = age_min
        pod["_ip"] = ip or f"10.244.{_h('ip', name)[0] % 32}.{_h('ip', name)[1] % 250 + 2}"
        return pod


def admit_pod(pod: Obj, *, daemon: bool = False) -> None:
    """What the API server's built-in admission adds to every pod (ServiceAccount, DefaultTolerationSeconds...)."""
    spec = pod["spec"]
    spec.setdefault("serviceAccountName", "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    spec["enableServiceLinks"] = True
    spec["preemptionPolicy"] = "PreemptLowerPriority"
    spec["priority"] = 0
    tol = spec.setdefault("tolerations", [])
    if daemon:
        for key, eff in (
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ):
            tol.append({"effect": eff, "key": key, "operator": "Exists"})
    else:
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            tol.append({"effect": "NoExecute", "key": key, "operator": "Exists", "tolerationSeconds": 300})
    if spec.get("automountServiceAccountToken") is False:
        return
    vname = f"kube-api-access-{token(5, 'kaa', pod['metadata']['name'])}"
    spec.setdefault("volumes", []).append(
        {
            "name": vname,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {
                        "configMap": {
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                            "name": "kube-root-ca.crt",
                        }
                    },
                    {
                        "downwardAPI": {
                            "items": [
                                {
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    "path": "namespace",
                                }
                            ]
                        }
                    },
                ],
            },
        }
    )
    pod["_sa_volume"] = vname
    sa_mounts(pod)


def sa_mounts(pod: Obj) -> None:
    """The service-account token mount in every (also injected) container: admission is re-run after webhooks."""
    vname = pod.get("_sa_volume")
    if not vname:
        return
    for c in all_containers(pod["spec"]):
        ms = c.setdefault("volumeMounts", [])
        if not any(m["name"] == vname for m in ms):
            ms.append(
                {
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "name": vname,
                    "readOnly": True,
                }
            )


# ----------------------------------------------------------------------------------------------------------
# injectors: each helper applies to a pod what that injector's webhook adds (and nothing else)


def _app_containers(pod: Obj) -> list[Obj]:
    injected = set(pod.get("_injected_containers", ()))
    return [c for c in pod["spec"]["containers"] if c["name"] not in injected]


def _mark(pod: Obj, injector: str, *containers: str) -> None:
    pod.setdefault("_injectors", set()).add(injector)
    pod.setdefault("_injected_containers", set()).update(containers)


def _add_env(c: Obj, items: list[Obj]) -> None:
    c.setdefault("env", []).extend(copy.deepcopy(items))


def _set_or_append_env(c: Obj, name: str, value: str, sep: str) -> None:
    for e in c.setdefault("env", []):
        if e["name"] == name and "value" in e:
            e["value"] = e["value"] + sep + value if e["value"] else value
            return
    c["env"].append(env(name, value))


def _ann(pod: Obj, values: dict[str, str]) -> None:
    pod["metadata"].setdefault("annotations", {}).update(values)


def _lab(pod: Obj, values: dict[str, str]) -> None:
    pod["metadata"].setdefault("labels", {}).update(values)


def inject_dynatrace(
    pod: Obj,
    *,
    era: str,
    workload_kind: str,
    workload_name: str,
    dynakube: str = "dynakube",
    tenant: str = "abc12345",
    csi: bool = True,
) -> None:
    """Dynatrace operator webhook (webhook.pod.dynatrace.com). era: 'current' (>= v1.7, bootstrapper) or
    'legacy' (v1.2.x, install-oneagent). dynatrace.md §2.3 / §2.4."""
    spec = pod["spec"]
    apps = _app_containers(pod)
    wk = workload_kind.lower()
    _ann(
        pod,
        {
            "dynakube.dynatrace.com/injected": "true",
            "oneagent.dynatrace.com/injected": "true",
            "metadata-enrichment.dynatrace.com/injected": "true",
            "metadata.dynatrace.com/k8s.workload.kind": wk,
            "metadata.dynatrace.com/k8s.workload.name": workload_name,
        },
    )
    preload = "/opt/dynatrace/oneagent-paas/agent/lib64/liboneagentproc.so"
    sec = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsGroup": 1001,
        "runAsNonRoot": True,
        "runAsUser": 1001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    csi_res = res("30m", "30Mi", "100m", "60Mi") if csi else {}
    if era == "current":
        attrs = [
            f"--attribute=k8s.workload.kind={wk}",
            f"--attribute=k8s.workload.name={workload_name}",
            f"--attribute=k8s.namespace.name={pod['metadata']['namespace']}",
        ]
        for c in apps:
            attrs.append(
                "--attribute-container="
                + json.dumps(
                    {
                        "container_image.registry": c["image"].split("/", 1)[0],
                        "container_image.repository": c["image"].split("/", 1)[-1].rsplit(":", 1)[0],
                        "container_image.tags": c["image"].rsplit(":", 1)[-1],
                        "k8s.container.name": c["name"],
                    },
                    separators=(",", ":"),
                    sort_keys=True,
                )
            )
        init = container(
            "dynatrace-operator",
            "public.ecr.aws/dynatrace/dynatrace-operator:v1.7.2",
            args=[
                "bootstrap",
                "--config-directory=/mnt/config",
                "--input-directory=/mnt/input",
                "--suppress-error",
                "--source=/opt/dynatrace/oneagent",
                "--target=/mnt/bin",
                "--install-path=/opt/dynatrace/oneagent-paas",
                "--fullstack",
                f"--tenant={tenant}",
                "--metadata-enrichment",
                *attrs,
            ],
            envs=[
                env_field("K8S_PODNAME", "metadata.name"),
                env_field("K8S_PODUID", "metadata.uid"),
                env_field("K8S_NODE_NAME", "spec.nodeName"),
            ],
            resources=csi_res,
            security=sec,
            mounts=[
                mount("oneagent-bin", "/mnt/bin", ro=csi),
                mount("dynatrace-config", "/mnt/config"),
                mount("dynatrace-input", "/mnt/input", ro=True),
            ],
            pull="IfNotPresent",
        )
        vols = [
            {
                "csi": {
                    "driver": "csi.oneagent.dynatrace.com",
                    "readOnly": True,
                    "volumeAttributes": {"dynakube": dynakube, "mode": "app", "retryTimeout": "10m"},
                },
                "name": "oneagent-bin",
            }
            if csi
            else {"emptyDir": {}, "name": "oneagent-bin"},
            {"emptyDir": {}, "name": "dynatrace-config"},
            {
                "name": "dynatrace-input",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"secret": {"name": "dynatrace-bootstrapper-config"}},
                        {"secret": {"name": "dynatrace-bootstrapper-certs", "optional": True}},
                    ],
                },
            },
        ]
        for c in apps:
            c.setdefault("volumeMounts", []).extend(
                [
                    mount("oneagent-bin", "/opt/dynatrace/oneagent-paas", ro=True),
                    mount("dynatrace-config", "/etc/ld.so.preload", ro=True, sub="oneagent/ld.so.preload"),
                    mount("dynatrace-config", "/var/lib/dynatrace", sub=c["name"]),
                ]
            )
            _set_or_append_env(c, "LD_PRELOAD", preload, ":")
            _add_env(
                c,
                [
                    env(
                        "DT_DEPLOYMENT_METADATA",
                        f"orchestration_tech=Operator-cloud_native_fullstack;script_version=v1.7.2;orchestrator_id={KUBE_SYSTEM_UID}",
                    ),
                    env("DT_STORAGE", "/var/lib/dynatrace/oneagent"),
                ],
            )
    elif era == "legacy":
        init_env = [
            env("FAILURE_POLICY", "silent"),
            env_field("K8S_PODNAME", "metadata.name"),
            env_field("K8S_PODUID", "metadata.uid"),
            env("K8S_BASEPODNAME", workload_name),
            env("K8S_CLUSTER_ID", KUBE_SYSTEM_UID),
            env_field("K8S_NAMESPACE", "metadata.namespace"),
            env_field("K8S_NODE_NAME", "spec.nodeName"),
            env("FLAVOR", ""),
            env("TECHNOLOGIES", "all"),
            env("INSTALLPATH", "/opt/dynatrace/oneagent-paas"),
            env("INSTALLER_URL", ""),
            env("VERSION", ""),
            env("ONEAGENT_INJECTED", "true"),
            env("CONTAINERS_COUNT", str(len(apps))),
        ]
        for i, c in enumerate(apps, 1):
            init_env += [env(f"CONTAINER_{i}_NAME", c["name"]), env(f"CONTAINER_{i}_IMAGE", c["image"])]
        init_env += [
            env("DT_WORKLOAD_KIND", wk),
            env("DT_WORKLOAD_NAME", workload_name),
            env("METADATA_ENRICHMENT_INJECTED", "true"),
        ]
        init = container(
            "install-oneagent",
            "docker.io/dynatrace/dynatrace-operator:v1.2.2",
            args=["init"],
            envs=init_env,
            resources=csi_res,
            security=sec,
            mounts=[
                mount("oneagent-bin", "/mnt/bin"),
                mount("oneagent-share", "/mnt/share"),
                mount("injection-config", "/mnt/config"),
                mount("metadata-enrichment", "/tmp/enrichment"),
            ],
            pull="IfNotPresent",
        )
        vols = [
            {
                "csi": {
                    "driver": "csi.oneagent.dynatrace.com",
                    "volumeAttributes": {"dynakube": dynakube, "mode": "app"},
                },
                "name": "oneagent-bin",
            }
            if csi
            else {"emptyDir": {}, "name": "oneagent-bin"},
            {"emptyDir": {}, "name": "oneagent-share"},
            {
                "name": "injection-config",
                "secret": {"defaultMode": 420, "secretName": "dynatrace-dynakube-config"},
            },
            {"emptyDir": {}, "name": "metadata-enrichment"},
            {
                "name": "metadata-enrichment-endpoint",
                "secret": {"defaultMode": 420, "secretName": "dynatrace-metadata-enrichment-endpoint"},
            },
        ]
        for c in apps:
            c.setdefault("volumeMounts", []).extend(
                [
                    mount("oneagent-share", "/etc/ld.so.preload", sub="ld.so.preload"),
                    mount("oneagent-bin", "/opt/dynatrace/oneagent-paas"),
                    mount(
                        "oneagent-share",
                        "/var/lib/dynatrace/oneagent/agent/config/container.conf",
                        sub=f"container_{c['name']}.conf",
                    ),
                    mount(
                        "metadata-enrichment",
                        "/var/lib/dynatrace/enrichment/dt_metadata.properties",
                        sub="dt_metadata.properties",
                    ),
                    mount(
                        "metadata-enrichment",
                        "/var/lib/dynatrace/enrichment/dt_metadata.json",
                        sub="dt_metadata.json",
                    ),
                    mount("metadata-enrichment-endpoint", "/var/lib/dynatrace/enrichment/endpoint"),
                ]
            )
            _set_or_append_env(c, "LD_PRELOAD", preload, ":")
            _add_env(
                c,
                [
                    env(
                        "DT_DEPLOYMENT_METADATA",
                        f"orchestration_tech=Operator-cloud_native_fullstack;script_version=v1.2.2;orchestrator_id={KUBE_SYSTEM_UID}",
                    )
                ],
            )
    else:
        raise ValueError(era)
    spec.setdefault("initContainers", []).append(init)
    spec.setdefault("volumes", []).extend(vols)
    _mark(pod, "dynatrace", init["name"])


def _otel_common(c: Obj, pod: Obj, service: str, owner: tuple[str, str] | None, endpoint: str) -> list[Obj]:
    ns = pod["metadata"]["namespace"]
    attrs = [f"k8s.container.name={c['name']}"]
    if owner:
        attrs.append(f"k8s.{owner[0].lower()}.name={owner[1]}")
    attrs += [
        f"k8s.namespace.name={ns}",
        "k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME)",
        "k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME)",
        f"service.instance.id={ns}.$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).{c['name']}",
        f"service.version={c['image'].rsplit(':', 1)[-1]}",
    ]
    return [
        env("OTEL_SERVICE_NAME", service),
        env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        env_field("OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "metadata.name"),
        env_field("OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "spec.nodeName"),
        env("OTEL_PROPAGATORS", "tracecontext,baggage"),
        env("OTEL_RESOURCE_ATTRIBUTES", ",".join(attrs)),
    ]


OTEL_IMAGES = {
    "dotnet": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-dotnet:1.7.0",
    "java": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-java:1.33.5",
    "python": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-python:0.46b0",
    "nodejs": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-nodejs:0.52.1",
}


def inject_otel(
    pod: Obj, lang: str, *, service: str, owner: tuple[str, str] | None, runtime: str = "linux-x64"
) -> None:
    """OpenTelemetry operator pod webhook (mpod.kb.io), first container only. injectors.md §2.2."""
    c = _app_containers(pod)[0]
    vol = f"opentelemetry-auto-instrumentation-{lang}"
    path = f"/otel-auto-instrumentation-{lang}"
    init = container(
        vol,
        OTEL_IMAGES[lang],
        command=(
            ["cp", "/javaagent.jar", f"{path}/javaagent.jar"]
            if lang == "java"
            else ["cp", "-r", "/autoinstrumentation/.", path]
        ),
        resources=res("50m", "128Mi", "500m", "128Mi"),
        mounts=[mount(vol, path)],
        pull="IfNotPresent",
    )
    endpoint = (
        "http://otel-collector.observability.svc.cluster.local:4317"
        if lang == "java"
        else "http://otel-collector.observability.svc.cluster.local:4318"
    )
    if lang == "dotnet":
        _add_env(
            c,
            [
                env("OTEL_DOTNET_AUTO_HOME", path),
                env("CORECLR_ENABLE_PROFILING", "1"),
                env("CORECLR_PROFILER", "{918728DD-259F-4A6A-AC2B-B85E1B658318}"),
                env("CORECLR_PROFILER_PATH", f"{path}/{runtime}/OpenTelemetry.AutoInstrumentation.Native.so"),
            ],
        )
        _set_or_append_env(
            c, "DOTNET_STARTUP_HOOKS", f"{path}/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll", ":"
        )
        _set_or_append_env(c, "DOTNET_ADDITIONAL_DEPS", f"{path}/AdditionalDeps", ":")
        _set_or_append_env(c, "DOTNET_SHARED_STORE", f"{path}/store", ":")
    elif lang == "java":
        _set_or_append_env(c, "JAVA_TOOL_OPTIONS", f" -javaagent:{path}/javaagent.jar", "")
    elif lang == "python":
        pp = [e for e in c.get("env", []) if e["name"] == "PYTHONPATH"]
        if pp:
            pp[0]["value"] = f"{path}/opentelemetry/instrumentation/auto_instrumentation:{pp[0]['value']}:{path}"
        else:
            _add_env(c, [env("PYTHONPATH", f"{path}/opentelemetry/instrumentation/auto_instrumentation:{path}")])
        _add_env(
            c,
            [
                env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                env("OTEL_TRACES_EXPORTER", "otlp"),
                env("OTEL_METRICS_EXPORTER", "otlp"),
                env("OTEL_LOGS_EXPORTER", "otlp"),
            ],
        )
    elif lang == "nodejs":
        _set_or_append_env(c, "NODE_OPTIONS", f" --require {path}/autoinstrumentation.js", "")
    _add_env(c, _otel_common(c, pod, service, owner, endpoint))
    c.setdefault("volumeMounts", []).append(mount(vol, path))
    pod["spec"].setdefault("initContainers", []).append(init)
    pod["spec"].setdefault("volumes", []).append({"emptyDir": {"sizeLimit": "200Mi"}, "name": vol})
    _mark(pod, "opentelemetry", init["name"])


DD_LIB_VERSIONS = {"java": "v1.38.1", "js": "v5.21.0", "python": "v2.10.2", "dotnet": "v2.49.0"}


def inject_datadog_lib(pod: Obj, lang: str) -> None:
    """Datadog admission controller, local library injection (v1 layout: /datadog-lib). injectors.md §1.2."""
    c = _app_containers(pod)[0]
    ver = DD_LIB_VERSIONS[lang]
    init = container(
        f"datadog-lib-{lang}-init",
        f"gcr.io/datadoghq/dd-lib-{lang}-init:{ver}",
        command=["sh", "copy-lib.sh", "/datadog-lib"],
        resources=res("50m", "20Mi", "50m", "20Mi"),
        mounts=[mount("datadog-auto-instrumentation", "/datadog-lib")],
        pull="IfNotPresent",
    )
    if lang == "js":
        _set_or_append_env(c, "NODE_OPTIONS", " --require=/datadog-lib/node_modules/dd-trace/init", "")
    elif lang == "python":
        pp = [e for e in c.get("env", []) if e["name"] == "PYTHONPATH"]
        if pp:
            pp[0]["value"] = "/datadog-lib/:" + pp[0]["value"]
        else:
            _add_env(c, [env("PYTHONPATH", "/datadog-lib/")])
    elif lang == "java":
        _set_or_append_env(
            c,
            "JAVA_TOOL_OPTIONS",
            " -javaagent:/datadog-lib/dd-java-agent.jar "
            "-XX:OnError=/datadog-lib/java/continuousprofiler/tmp/dd_crash_uploader.sh "
            "-XX:ErrorFile=/datadog-lib/java/continuousprofiler/tmp/hs_err_pid_%p.log",
            "",
        )
    elif lang == "dotnet":
        _add_env(
            c,
            [
                env("CORECLR_ENABLE_PROFILING", "1"),
                env("CORECLR_PROFILER", "{846F5F1C-F9AE-4B07-969E-05C26BC060D8}"),
                env("CORECLR_PROFILER_PATH", "/datadog-lib/Datadog.Trace.ClrProfiler.Native.so"),
                env("DD_DOTNET_TRACER_HOME", "/datadog-lib"),
                env("DD_TRACE_LOG_DIRECTORY", "/datadog-lib/logs"),
            ],
        )
        _set_or_append_env(c, "LD_PRELOAD", "/datadog-lib/continuousprofiler/Datadog.Linux.ApiWrapper.x64.so", ":")
    _add_env(
        c,
        [
            env("DD_INSTRUMENTATION_INSTALL_TYPE", "k8s_lib_injection"),
            env("DD_INSTRUMENTATION_INSTALL_ID", uid("dd-install", pod["metadata"]["name"])),
            env("DD_INSTRUMENTATION_INSTALL_TIME", "1723539600"),
            env_field("DD_AGENT_HOST", "status.hostIP"),
            env_field("DD_ENTITY_ID", "metadata.uid"),
        ],
    )
    c.setdefault("volumeMounts", []).append(mount("datadog-auto-instrumentation", "/datadog-lib"))
    pod["spec"].setdefault("initContainers", []).append(init)
    pod["spec"].setdefault("volumes", []).append({"emptyDir": {}, "name": "datadog-auto-instrumentation"})
    _ann(pod, {"cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes": "datadog-auto-instrumentation"})
    _mark(pod, "datadog", init["name"])


def inject_datadog_ssi(pod: Obj, lang: str) -> None:
    """Datadog Single Step Instrumentation (injector mode: launcher preloaded). injectors.md §1.2."""
    ver = DD_LIB_VERSIONS[lang]
    inj = container(
        "datadog-init-apm-inject",
        "gcr.io/datadoghq/apm-inject:0.21.0",
        command=["/bin/sh", "-c", "--"],
        args=[
            "cp -r /opt/datadog-packages/datadog-apm-inject/* /datadog-inject && echo "
            "/opt/datadog-packages/datadog-apm-inject/stable/inject/launcher.preload.so > "
            "/datadog-etc/ld.so.preload && echo $(date +%s) >> "
            "/datadog-inject/c-init-time.datadog-init-apm-inject"
        ],
        resources=res("50m", "100Mi", "50m", "100Mi"),
        mounts=[
            mount(
                "datadog-auto-instrumentation",
                "/datadog-inject",
                sub="opt/datadog-packages/datadog-apm-inject",
            ),
            mount("datadog-auto-instrumentation-etc", "/datadog-etc"),
        ],
        pull="IfNotPresent",
    )
    lib = container(
        f"datadog-lib-{lang}-init",
        f"gcr.io/datadoghq/dd-lib-{lang}-init:{ver}",
        command=["/bin/sh", "-c", "--"],
        args=[f"sh copy-lib.sh /datadog-lib && echo $(date +%s) >> /datadog-lib/c-init-time.datadog-lib-{lang}-init"],
        resources=res("50m", "100Mi", "50m", "100Mi"),
        mounts=[mount("datadog-auto-instrumentation", "/datadog-lib", sub=f"opt/datadog/apm/library/{lang}")],
        pull="IfNotPresent",
    )
    for c in _app_containers(pod):
        c.setdefault("volumeMounts", []).extend(
            [
                mount(
                    "datadog-auto-instrumentation",
                    "/opt/datadog-packages/datadog-apm-inject",
                    ro=True,
                    sub="opt/datadog-packages/datadog-apm-inject",
                ),
                mount("datadog-auto-instrumentation-etc", "/etc/ld.so.preload", ro=True, sub="ld.so.preload"),
                mount(
                    "datadog-auto-instrumentation",
                    "/opt/datadog/apm/library",
                    ro=True,
                    sub="opt/datadog/apm/library",
                ),
            ]
        )
        _set_or_append_env(
            c, "LD_PRELOAD", "/opt/datadog-packages/datadog-apm-inject/stable/inject/launcher.preload.so", ":"
        )
        _add_env(
            c,
            [
                env("DD_INJECT_SENDER_TYPE", "k8s"),
                env("DD_INJECT_START_TIME", "1723539600"),
                env("DD_INSTRUMENTATION_INSTALL_TYPE", "k8s_single_step"),
                env("DD_INSTRUMENTATION_INSTALL_ID", uid("dd-install", pod["metadata"]["name"])),
                env("DD_INSTRUMENTATION_INSTALL_TIME", "1723539600"),
                env_field("DD_AGENT_HOST", "status.hostIP"),
                env_field("DD_ENTITY_ID", "metadata.uid"),
            ],
        )
    pod["spec"].setdefault("initContainers", []).extend([inj, lib])
    pod["spec"].setdefault("volumes", []).extend(
        [
            {"emptyDir": {}, "name": "datadog-auto-instrumentation"},
            {"emptyDir": {}, "name": "datadog-auto-instrumentation-etc"},
        ]
    )
    _ann(
        pod,
        {
            "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes": "datadog-auto-instrumentation,datadog-auto-instrumentation-etc",
            "internal.apm.datadoghq.com/injector-canonical-version": "0.21.0",
            f"internal.apm.datadoghq.com/{lang}-canonical-version": ver.lstrip("v"),
        },
    )
    _mark(pod, "datadog", inj["name"], lib["name"])


def inject_newrelic(pod: Obj, lang: str, *, app_name: str) -> None:
    """New Relic k8s-agents-operator (older layout: /newrelic-instrumentation). injectors.md §3.2."""
    c = _app_containers(pod)[0]
    images = {"java": "newrelic/newrelic-java-init:8.12.0", "dotnet": "newrelic/newrelic-dotnet-init:10.27.0"}
    cmd = (
        ["cp", "/newrelic-agent.jar", "/newrelic-instrumentation/newrelic-agent.jar"]
        if lang == "java"
        else ["cp", "-a", "/instrumentation/.", "/newrelic-instrumentation/"]
    )
    init = container(
        f"newrelic-instrumentation-{lang}",
        images[lang],
        command=cmd,
        mounts=[mount("newrelic-instrumentation", "/newrelic-instrumentation")],
        pull="IfNotPresent",
    )
    if lang == "java":
        _set_or_append_env(c, "JAVA_TOOL_OPTIONS", " -javaagent:/newrelic-instrumentation/newrelic-agent.jar", "")
    else:
        _add_env(
            c,
            [
                env("CORECLR_ENABLE_PROFILING", "1"),
                env("CORECLR_PROFILER", "{36032161-FFC0-4B61-B559-F6C5D41BAE5A}"),
                env("CORECLR_PROFILER_PATH", "/newrelic-instrumentation/libNewRelicProfiler.so"),
                env("CORECLR_NEWRELIC_HOME", "/newrelic-instrumentation"),
            ],
        )
    _add_env(
        c,
        [
            env("NEW_RELIC_APP_NAME", app_name),
            env("NEW_RELIC_LABELS", "operator:auto-injection"),
            env("NEW_RELIC_K8S_OPERATOR_ENABLED", "true"),
            env_secret("NEW_RELIC_LICENSE_KEY", "newrelic-key-secret", "new_relic_license_key", True),
        ],
    )
    c.setdefault("volumeMounts", []).append(mount("newrelic-instrumentation", "/newrelic-instrumentation"))
    pod["spec"].setdefault("initContainers", []).append(init)
    pod["spec"].setdefault("volumes", []).append({"emptyDir": {}, "name": "newrelic-instrumentation"})
    _lab(pod, {"newrelic-k8s-agents-operator-version": "0.13.0"})
    _ann(
        pod,
        {
            "newrelic.com/instrumentation-versions": json.dumps(
                {f"newrelic/newrelic-{lang}": f"{uid('nri', lang)}/1"}, separators=(",", ":")
            )
        },
    )
    _mark(pod, "newrelic", init["name"])


def inject_instana(pod: Obj, *, node: bool = False) -> None:
    """Instana AutoTrace webhook (autotrace-webhook.instana.com). injectors.md §5."""
    init = container(
        "instana-instrumentation-init",
        "icr.io/instana/instrumentation:1.299.3",
        command=["cp", "-r", "/instana/.", "/opt/instana/instrumentation/"],
        resources=res("150m", "16Mi", "250m", "128Mi"),
        mounts=[mount("instana-instrumentation-volume", "/opt/instana/instrumentation")],
        pull="IfNotPresent",
    )
    for c in _app_containers(pod):
        c.setdefault("volumeMounts", []).append(mount("instana-instrumentation-volume", "/opt/instana/instrumentation"))
        _set_or_append_env(c, "LD_PRELOAD", "/opt/instana/instrumentation/libinstana_init/libinstana_init.so", ":")
        if node:
            _set_or_append_env(
                c,
                "NODE_OPTIONS",
                "--require /opt/instana/instrumentation/nodejs/node_modules/@instana/collector/src/immediate",
                " ",
            )
        _add_env(c, [env_field("INSTANA_AGENT_HOST", "status.hostIP")])
    pod["spec"].setdefault("initContainers", []).append(init)
    pod["spec"].setdefault("volumes", []).append({"emptyDir": {}, "name": "instana-instrumentation-volume"})
    _lab(pod, {"instana-autotrace-applied": "true", "instana-autotrace-version": "1.299.3"})
    _mark(pod, "instana", init["name"])


ISTIO_IMG = "docker.io/istio/proxyv2:1.22.3"


def inject_istio(pod: Obj, *, owner: tuple[str, str, str], cni: bool = False) -> None:
    """Istio sidecar injector (istio-sidecar-injector, failurePolicy Fail). injectors.md §8."""
    spec = pod["spec"]
    ns = pod["metadata"]["namespace"]
    apps = _app_containers(pod)
    app = apps[0]["name"]
    ports = [
        {"containerPort": p["containerPort"], "name": p.get("name", ""), "protocol": "TCP"}
        for c in apps
        for p in c.get("ports", [])
    ]
    probers: dict[str, Obj] = {}
    for c in apps:  # istiod rewrites HTTP probes to the agent's /app-health endpoint
        for key, short in (
            ("livenessProbe", "livez"),
            ("readinessProbe", "readyz"),
            ("startupProbe", "startupz"),
        ):
            p = c.get(key)
            if p and "httpGet" in p:
                path = f"/app-health/{c['name']}/{short}"
                probers[path] = {
                    "httpGet": {"path": p["httpGet"]["path"], "port": p["httpGet"]["port"], "scheme": "HTTP"},
                    "timeoutSeconds": p.get("timeoutSeconds", 1),
                }
                p["httpGet"] = {"path": path, "port": 15020, "scheme": "HTTP"}
    lim = res("100m", "128Mi", "2", "1Gi")
    iptables = [
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
    ]
    if cni:
        init = container(
            "istio-validation",
            ISTIO_IMG,
            args=[*iptables, "--run-validation", "--skip-rule-apply"],
            resources=lim,
            pull="IfNotPresent",
            security={
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "privileged": False,
                "readOnlyRootFilesystem": True,
                "runAsGroup": 1337,
                "runAsNonRoot": True,
                "runAsUser": 1337,
            },
        )
    else:
        init = container(
            "istio-init",
            ISTIO_IMG,
            args=iptables,
            resources=lim,
            pull="IfNotPresent",
            security={
                "allowPrivilegeEscalation": False,
                "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                "privileged": False,
                "readOnlyRootFilesystem": False,
                "runAsGroup": 0,
                "runAsNonRoot": False,
                "runAsUser": 0,
            },
        )
    kind, wname, api = owner
    penv = [
        env("PILOT_CERT_PROVIDER", "istiod"),
        env("CA_ADDR", "istiod.istio-system.svc:15012"),
        env_field("POD_NAME", "metadata.name"),
        env_field("POD_NAMESPACE", "metadata.namespace"),
        env_field("INSTANCE_IP", "status.podIP"),
        env_field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        env_field("HOST_IP", "status.hostIP"),
        env("ISTIO_CPU_LIMIT", "2"),
        env("PROXY_CONFIG", "{}\n"),
        env("ISTIO_META_POD_PORTS", json.dumps(ports, indent=1) if ports else "[\n]"),
        env("ISTIO_META_APP_CONTAINERS", ",".join(c["name"] for c in apps)),
        env("GOMEMLIMIT", "1073741824"),
        env("GOMAXPROCS", "2"),
        env("ISTIO_META_CLUSTER_ID", "Kubernetes"),
        env_field("ISTIO_META_NODE_NAME", "spec.nodeName"),
        env("ISTIO_META_INTERCEPTION_MODE", "REDIRECT"),
        env("ISTIO_META_WORKLOAD_NAME", wname),
        env("ISTIO_META_OWNER", f"kubernetes://apis/{api}/namespaces/{ns}/{kind.lower()}s/{wname}"),
        env("ISTIO_META_MESH_ID", "cluster.local"),
        env("TRUST_DOMAIN", "cluster.local"),
    ]
    if probers:
        penv.append(env("ISTIO_KUBE_APP_PROBERS", json.dumps(probers, separators=(",", ":"), sort_keys=True)))
    proxy = container(
        "istio-proxy",
        ISTIO_IMG,
        args=[
            "proxy",
            "sidecar",
            "--domain",
            "$(POD_NAMESPACE).svc.cluster.local",
            "--proxyLogLevel=warning",
            "--proxyComponentLogLevel=misc:error",
            "--log_output_level=default:info",
        ],
        envs=penv,
        ports=[("http-envoy-prom", 15090)],
        resources=lim,
        pull="IfNotPresent",
        readiness={
            "failureThreshold": 4,
            "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
            "periodSeconds": 15,
            "successThreshold": 1,
            "timeoutSeconds": 3,
        },
        startup={
            "failureThreshold": 600,
            "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
            "periodSeconds": 1,
            "successThreshold": 1,
            "timeoutSeconds": 3,
        },
        security={
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsGroup": 1337,
            "runAsNonRoot": True,
            "runAsUser": 1337,
        },
        mounts=[
            mount("workload-socket", "/var/run/secrets/workload-spiffe-uds"),
            mount("credential-socket", "/var/run/secrets/credential-uds"),
            mount("workload-certs", "/var/run/secrets/workload-spiffe-credentials"),
            mount("istiod-ca-cert", "/var/run/secrets/istio"),
            mount("istio-data", "/var/lib/istio/data"),
            mount("istio-envoy", "/etc/istio/proxy"),
            mount("istio-token", "/var/run/secrets/tokens"),
            mount("istio-podinfo", "/etc/istio/pod"),
        ],
    )
    proxy["ports"][0]["protocol"] = "TCP"
    vols = [
        {"emptyDir": {}, "name": "workload-socket"},
        {"emptyDir": {}, "name": "credential-socket"},
        {"emptyDir": {}, "name": "workload-certs"},
        {"emptyDir": {"medium": "Memory"}, "name": "istio-envoy"},
        {"emptyDir": {}, "name": "istio-data"},
        {
            "downwardAPI": {
                "defaultMode": 420,
                "items": [
                    {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}, "path": "labels"},
                    {
                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"},
                        "path": "annotations",
                    },
                ],
            },
            "name": "istio-podinfo",
        },
        {
            "name": "istio-token",
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {
                        "serviceAccountToken": {
                            "audience": "istio-ca",
                            "expirationSeconds": 43200,
                            "path": "istio-token",
                        }
                    }
                ],
            },
        },
        {"configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}, "name": "istiod-ca-cert"},
    ]
    spec.setdefault("initContainers", []).insert(0, init)
    spec["containers"].append(proxy)
    spec.setdefault("volumes", []).extend(vols)
    status = {
        "initContainers": [init["name"]],
        "containers": ["istio-proxy"],
        "volumes": [v["name"] for v in vols],
        "imagePullSecrets": None,
        "revision": "default",
    }
    _ann(
        pod,
        {
            "istio.io/rev": "default",
            "kubectl.kubernetes.io/default-container": app,
            "kubectl.kubernetes.io/default-logs-container": app,
            "prometheus.io/path": "/stats/prometheus",
            "prometheus.io/port": "15020",
            "prometheus.io/scrape": "true",
            "sidecar.istio.io/status": json.dumps(status, separators=(",", ":")),
        },
    )
    labels = pod["metadata"]["labels"]
    _lab(
        pod,
        {
            "security.istio.io/tlsMode": "istio",
            "service.istio.io/canonical-name": labels.get("app", wname),
            "service.istio.io/canonical-revision": labels.get("version", "latest"),
        },
    )
    _mark(pod, "istio", init["name"], "istio-proxy")


LINKERD_VERSION = "stable-2.14.10"


def inject_linkerd(pod: Obj, *, owner_kind: str, owner_name: str) -> None:
    """Linkerd proxy injector (proxy first, with linkerd-await). injectors.md §8."""
    ns = pod["metadata"]["namespace"]
    init = container(
        "linkerd-init",
        "cr.l5d.io/linkerd/proxy-init:v2.2.3",
        args=[
            "--incoming-proxy-port",
            "4143",
            "--outgoing-proxy-port",
            "4140",
            "--proxy-uid",
            "2102",
            "--inbound-ports-to-ignore",
            "4190,4191,4567,4568",
            "--outbound-ports-to-ignore",
            "4567,4568",
        ],
        resources=res("100m", "20Mi", "100m", "20Mi"),
        pull="IfNotPresent",
        security={
            "allowPrivilegeEscalation": False,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"]},
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsGroup": 65534,
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        mounts=[mount("linkerd-proxy-init-xtables-lock", "/run")],
    )
    penv = [
        env_field("_pod_name", "metadata.name"),
        env_field("_pod_ns", "metadata.namespace"),
        env_field("_pod_nodeName", "spec.nodeName"),
        env("LINKERD2_PROXY_LOG", "warn,linkerd=info,hickory=error"),
        env("LINKERD2_PROXY_LOG_FORMAT", "plain"),
        env("LINKERD2_PROXY_DESTINATION_SVC_ADDR", "linkerd-dst-headless.linkerd.svc.cluster.local.:8086"),
        env("LINKERD2_PROXY_CONTROL_LISTEN_ADDR", "0.0.0.0:4190"),
        env("LINKERD2_PROXY_ADMIN_LISTEN_ADDR", "0.0.0.0:4191"),
        env("LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR", "127.0.0.1:4140"),
        env("LINKERD2_PROXY_INBOUND_LISTEN_ADDR", "0.0.0.0:4143"),
        env("LINKERD2_PROXY_IDENTITY_DIR", "/var/run/linkerd/identity/end-entity"),
        env("LINKERD2_PROXY_IDENTITY_TOKEN_FILE", "/var/run/secrets/tokens/linkerd-identity-token"),
        env("LINKERD2_PROXY_IDENTITY_SVC_ADDR", "linkerd-identity-headless.linkerd.svc.cluster.local.:8080"),
        env(
            "LINKERD2_PROXY_DESTINATION_CONTEXT",
            json.dumps({"ns": ns, "nodeName": "$(_pod_nodeName)", "pod": "$(_pod_name)"}, separators=(",", ":")),
        ),
    ]
    proxy = container(
        "linkerd-proxy",
        f"cr.l5d.io/linkerd/proxy:{LINKERD_VERSION}",
        envs=penv,
        ports=[("linkerd-proxy", 4143), ("linkerd-admin", 4191)],
        pull="IfNotPresent",
        liveness=http_probe("/live", 4191, delay=10, timeout=1),
        readiness=http_probe("/ready", 4191, delay=2, timeout=1),
        security={
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsGroup": 2102,
            "runAsNonRoot": True,
            "runAsUser": 2102,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        mounts=[
            mount("linkerd-identity-end-entity", "/var/run/linkerd/identity/end-entity"),
            mount("linkerd-identity-token", "/var/run/secrets/tokens"),
        ],
    )
    proxy["lifecycle"] = {
        "postStart": {"exec": {"command": ["/usr/lib/linkerd/linkerd-await", "--timeout=2m", "--port=4191"]}}
    }
    spec = pod["spec"]
    spec.setdefault("initContainers", []).insert(0, init)
    spec["containers"].insert(0, proxy)
    spec.setdefault("volumes", []).extend(
        [
            {"emptyDir": {}, "name": "linkerd-proxy-init-xtables-lock"},
            {"emptyDir": {"medium": "Memory"}, "name": "linkerd-identity-end-entity"},
            {
                "name": "linkerd-identity-token",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": "identity.l5d.io",
                                "expirationSeconds": 86400,
                                "path": "linkerd-identity-token",
                            }
                        }
                    ],
                },
            },
        ]
    )
    _ann(
        pod,
        {
            "linkerd.io/created-by": f"linkerd/proxy-injector {LINKERD_VERSION}",
            "linkerd.io/proxy-version": LINKERD_VERSION,
            "linkerd.io/trust-root-sha256": hexid(64, "l5d-root"),
        },
    )
    _lab(
        pod,
        {
            "linkerd.io/control-plane-ns": "linkerd",
            f"linkerd.io/proxy-{owner_kind.lower()}": owner_name,
            "linkerd.io/workload-ns": ns,
        },
    )
    _mark(pod, "linkerd", "linkerd-init", "linkerd-proxy")


def inject_vault(pod: Obj, *, role: str, secrets: dict[str, str], pre_populate_only: bool = False) -> None:
    """HashiCorp Vault agent injector (vault.hashicorp.com). injectors.md §8."""
    cfg = {
        "auto_auth": {
            "method": {
                "type": "kubernetes",
                "mount_path": "auth/kubernetes",
                "config": {"role": role, "token_path": "/var/run/secrets/kubernetes.io/serviceaccount/token"},
            },
            "sink": [{"type": "file", "config": {"path": "/home/vault/.vault-token"}}],
        },
        "exit_after_auth": True,
        "pid_file": "/home/vault/.pid",
        "vault": {"address": "http://vault.vault.svc:8200"},
        "template": [
            {
                "destination": f"/vault/secrets/{k}",
                "contents": f'{{{{ with secret "{v}" }}}}{{{{ range $k, $v := .Data }}}}{{{{ $k }}}}: {{{{ $v }}}}\n{{{{ end }}}}{{{{ end }}}}',
                "left_delimiter": "{{",
                "right_delimiter": "}}",
            }
            for k, v in secrets.items()
        ],
        "template_config": {"exit_on_retry_failure": True},
    }
    import base64

    b64 = base64.b64encode(json.dumps(cfg, separators=(",", ":")).encode()).decode()
    sec = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsGroup": 1000,
        "runAsNonRoot": True,
        "runAsUser": 100,
    }
    venv = [
        env_field("NAMESPACE", "metadata.namespace"),
        env_field("HOST_IP", "status.hostIP"),
        env_field("POD_IP", "status.podIP"),
        env("VAULT_LOG_LEVEL", "info"),
        env("VAULT_LOG_FORMAT", "standard"),
        env("VAULT_CONFIG", b64),
    ]
    cmd = ["/bin/sh", "-ec"]
    args = [
        "echo ${VAULT_CONFIG?} | base64 -d > /home/vault/config.json && vault agent -config=/home/vault/config.json"
    ]
    init = container(
        "vault-agent-init",
        "hashicorp/vault:1.16.1",
        command=cmd,
        args=args,
        envs=venv,
        resources=res("250m", "64Mi", "500m", "128Mi"),
        security=sec,
        pull="IfNotPresent",
        mounts=[mount("home-init", "/home/vault"), mount("vault-secrets", "/vault/secrets")],
    )
    for c in _app_containers(pod):
        c.setdefault("volumeMounts", []).append(mount("vault-secrets", "/vault/secrets"))
    spec = pod["spec"]
    spec.setdefault("initContainers", []).append(init)
    vols = [
        {"emptyDir": {"medium": "Memory"}, "name": "home-init"},
        {"emptyDir": {"medium": "Memory"}, "name": "vault-secrets"},
    ]
    names = ["vault-agent-init"]
    if not pre_populate_only:
        side_env = [e for e in venv if e["name"] != "VAULT_CONFIG"]
        side_cfg = dict(cfg, exit_after_auth=False)
        side_env.append(
            env(
                "VAULT_CONFIG",
                base64.b64encode(json.dumps(side_cfg, separators=(",", ":")).encode()).decode(),
            )
        )
        side = container(
            "vault-agent",
            "hashicorp/vault:1.16.1",
            command=cmd,
            args=args,
            envs=side_env,
            resources=res("250m", "64Mi", "500m", "128Mi"),
            security=sec,
            pull="IfNotPresent",
            mounts=[mount("home-sidecar", "/home/vault"), mount("vault-secrets", "/vault/secrets")],
        )
        spec["containers"].append(side)
        vols.insert(1, {"emptyDir": {"medium": "Memory"}, "name": "home-sidecar"})
        names.append("vault-agent")
    spec.setdefault("volumes", []).extend(vols)
    _ann(pod, {"vault.hashicorp.com/agent-inject-status": "injected"})
    _mark(pod, "vault", *names)


def inject_elastic(pod: Obj, agent: str = "java") -> None:
    """Elastic APM attacher (failurePolicy Fail); env already on a container is not overwritten. injectors.md §6."""
    imgs = {
        "java": (
            "apm-agent-java",
            "docker.elastic.co/observability/apm-agent-java:1.50.0",
            "/usr/agent/elastic-apm-agent.jar",
            {
                "JAVA_TOOL_OPTIONS": "-javaagent:/elastic/apm/agent/elastic-apm-agent.jar -Delastic.apm.activation_method=K8S"
            },
        )
    }
    name, image, artifact, agent_env = imgs[agent]
    init = container(
        name,
        image,
        command=["cp", "-v", "-r", artifact, "/elastic/apm/agent"],
        mounts=[mount("elastic-apm-agent", "/elastic/apm/agent")],
        pull="IfNotPresent",
    )
    for c in _app_containers(pod):
        have = {e["name"] for e in c.get("env", [])}
        items = [
            env_secret("ELASTIC_APM_SECRET_TOKEN", "apm-agent-auth", "secret_token", True),
            env_secret("ELASTIC_APM_API_KEY", "apm-agent-auth", "api_key", True),
            env_field("HOST_IP", "status.hostIP"),
            env("ELASTIC_APM_SERVER_URL", "http://$(HOST_IP):8200"),
            env_field("KUBERNETES_NAMESPACE", "metadata.namespace"),
            env_field("KUBERNETES_NODE_NAME", "spec.nodeName"),
            env_field("KUBERNETES_POD_NAME", "metadata.name"),
            env_field("KUBERNETES_POD_UID", "metadata.uid"),
        ]
        items += [env(k, v) for k, v in agent_env.items()]
        _add_env(c, [e for e in items if e["name"] not in have])
        c.setdefault("volumeMounts", []).append(mount("elastic-apm-agent", "/elastic/apm/agent"))
    pod["spec"].setdefault("initContainers", []).append(init)
    pod["spec"].setdefault("volumes", []).append({"emptyDir": {}, "name": "elastic-apm-agent"})
    _mark(pod, "elastic", init["name"])


# ----------------------------------------------------------------------------------------------------------
# pod status


def running(since_min: float) -> Obj:
    return {"running": {"startedAt": ts(since_min)}}


def waiting(reason: str, message: str | None = None) -> Obj:
    w: Obj = {"reason": reason}
    if message:
        w["message"] = message
    return {"waiting": w}


def terminated(
    code: int, reason: str, start_min: float | None, end_min: float, *, cid: str, message: str | None = None
) -> Obj:
    t: Obj = {
        "containerID": cid,
        "exitCode": code,
        "finishedAt": ts(end_min),
        "reason": reason,
        "startedAt": ts(start_min) if start_min is not None else "1970-01-01T00:00:00Z",
    }
    if message:
        t["message"] = message
    return {"terminated": t}


@dataclass
class CS:
    """Desired status of one container; helpers below fill the kubelet's fields."""

    state: Obj
    last: Obj | None = None
    restarts: int = 0
    ready: bool = False
    started: bool | None = None


def crashloop(
    pod: Obj,
    cname: str,
    *,
    code: int,
    reason: str = "Error",
    restarts: int,
    ran_s: float = 6,
    last_end_min: float = 2.5,
    message: str | None = None,
) -> CS:
    """A container in CrashLoopBackOff whose last run ended `last_end_min` ago after `ran_s` seconds."""
    cid = container_id(pod["metadata"]["uid"], cname, restarts)
    start = last_end_min + ran_s / 60
    backoff = "5m0s" if restarts >= 5 else f"{10 * 2 ** max(restarts - 1, 0)}s"
    if backoff.endswith("s") and not backoff.endswith("m0s"):
        secs = int(backoff[:-1])
        backoff = f"{secs // 60}m{secs % 60}s" if secs >= 60 else backoff
    msg = (
        f"back-off {backoff} restarting failed container={cname} pod={pod['metadata']['name']}_"
        f"{pod['metadata']['namespace']}({pod['metadata']['uid']})"
    )
    return CS(
        state=waiting("CrashLoopBackOff", msg),
        last=terminated(code, reason, start, last_end_min, cid=cid, message=message),
        restarts=restarts,
        started=False,
    )


def schedule(age_min: float, n_init: int) -> tuple[list[float], float]:
    """When each init container started, and when the app containers started (minutes ago)."""
    starts = [age_min - 0.08 - 0.05 * i for i in range(n_init)]
    return starts, age_min - 0.08 - 0.05 * n_init - 0.01


def set_status(
    pod: Obj,
    *,
    age_min: float,
    cs: dict[str, CS] | None = None,
    phase: str | None = None,
    sandbox: bool = True,
    scheduled: bool = True,
    unschedulable_msg: str | None = None,
) -> None:
    """Fill status the way the kubelet reports it (Kubernetes 1.29)."""
    sa_mounts(pod)
    spec = pod["spec"]
    cs = cs or {}
    node: NodeInfo | None = pod.get("_node")
    status: Obj = {}
    if not scheduled:
        status = {
            "conditions": [
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": ts(age_min),
                    "message": unschedulable_msg,
                    "reason": "Unschedulable",
                    "status": "False",
                    "type": "PodScheduled",
                }
            ],
            "phase": "Pending",
            "qosClass": qos_class(spec),
        }
        pod["status"] = status
        return
    inits = spec.get("initContainers", [])
    init_starts, main_start = schedule(age_min, len(inits))
    start = main_start

    def entry(c: Obj, s: CS) -> Obj:
        e: Obj = {
            "image": full_image(c["image"]),
            "imageID": "",
            "lastState": s.last or {},
            "name": c["name"],
            "ready": s.ready,
            "restartCount": s.restarts,
            "started": bool(s.started),
            "state": s.state,
        }
        ran = "running" in s.state or "terminated" in s.state or (s.last and "terminated" in s.last)
        if ran:
            e["imageID"] = image_id(c["image"])
            if "terminated" in s.state:
                e["containerID"] = s.state["terminated"]["containerID"]
            elif "running" in s.state:
                e["containerID"] = container_id(pod["metadata"]["uid"], c["name"], s.restarts)
            else:
                assert s.last is not None
                e["containerID"] = s.last["terminated"]["containerID"]
        return e

    init_entries = []
    init_done = True
    for i, c in enumerate(inits):
        if not init_done or not sandbox:  # volumes not mounted: no container (init or app) starts
            s = cs.get(c["name"], CS(state=waiting("PodInitializing")))
        else:
            s = cs.get(c["name"]) or CS(
                state=terminated(
                    0,
                    "Completed",
                    init_starts[i],
                    init_starts[i] - 0.02,
                    cid=container_id(pod["metadata"]["uid"], c["name"], 0),
                )
            )
        if not ("terminated" in s.state and s.state["terminated"]["exitCode"] == 0):
            init_done = False
        init_entries.append(entry(c, s))
    main_entries = []
    for c in spec["containers"]:
        if init_done and sandbox:
            s = cs.get(c["name"]) or CS(state=running(start), ready=True, started=True)
        else:
            s = cs.get(c["name"]) or CS(
                state=waiting("PodInitializing" if spec.get("initContainers") else "ContainerCreating")
            )
        main_entries.append(entry(c, s))
    all_ready = all(e["ready"] for e in main_entries)
    unready = [e["name"] for e in main_entries if not e["ready"]]
    # kubelet getPhase: a container that is waiting and never terminated keeps the pod Pending
    never_ran = any("waiting" in e["state"] and "terminated" not in e["lastState"] for e in main_entries)
    if phase is None:
        restart = spec.get("restartPolicy", "Always")
        states = [e["state"] for e in main_entries]
        if restart != "Always" and all("terminated" in st for st in states):
            phase = "Failed" if any(st["terminated"]["exitCode"] != 0 for st in states) else "Succeeded"
        elif not init_done or never_ran:
            phase = "Pending"
        else:
            phase = "Running"
    conds = [
        {
            "lastProbeTime": None,
            "lastTransitionTime": ts(age_min - 0.05),
            "status": "True" if sandbox else "False",
            "type": "PodReadyToStartContainers",
        }
    ]
    if init_done:
        conds.append(
            {
                "lastProbeTime": None,
                "lastTransitionTime": ts(main_start + 0.01),
                "status": "True",
                "type": "Initialized",
            }
        )
    else:
        pending = [
            e["name"]
            for e in init_entries
            if not ("terminated" in e["state"] and e["state"]["terminated"]["exitCode"] == 0)
        ]
        conds.append(
            {
                "lastProbeTime": None,
                "lastTransitionTime": ts(age_min),
                "message": f"containers with incomplete status: [{' '.join(pending)}]",
                "reason": "ContainersNotInitialized",
                "status": "False",
                "type": "Initialized",
            }
        )
    if phase == "Failed":
        ended = max(e["state"]["terminated"]["finishedAt"] for e in main_entries if "terminated" in e["state"])
        for typ in ("Ready", "ContainersReady"):
            conds.append(
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": ended,
                    "reason": "PodFailed",
                    "status": "False",
                    "type": typ,
                }
            )
    elif all_ready:
        for typ in ("Ready", "ContainersReady"):
            conds.append({"lastProbeTime": None, "lastTransitionTime": ts(start - 0.2), "status": "True", "type": typ})
    else:
        for typ in ("Ready", "ContainersReady"):
            conds.append(
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": ts(3),
                    "message": f"containers with unready status: [{' '.join(unready)}]",
                    "reason": "ContainersNotReady",
                    "status": "False",
                    "type": typ,
                }
            )
    conds.append({"lastProbeTime": None, "lastTransitionTime": ts(age_min), "status": "True", "type": "PodScheduled"})
    status = {"conditions": conds}
    if main_entries:
        status["containerStatuses"] = main_entries
    if node is not None:
        status["hostIP"] = node.ip
        status["hostIPs"] = [{"ip": node.ip}]
    if init_entries:
        status["initContainerStatuses"] = init_entries
    status["phase"] = phase
    if sandbox:
        status["podIP"] = pod["_ip"]
        status["podIPs"] = [{"ip": pod["_ip"]}]
    status["qosClass"] = qos_class(spec)
    status["startTime"] = ts(age_min)
    pod["status"] = status


# ----------------------------------------------------------------------------------------------------------
# events


def _ref(obj: Obj, field_path: str | None = None) -> Obj:
    md = obj["metadata"]
    r: Obj = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": md["name"],
        "namespace": md["namespace"],
        "resourceVersion": md.get("resourceVersion", ""),
        "uid": md["uid"],
    }
    if field_path:
        r["fieldPath"] = field_path
    return r


def event(
    b: Bundle,
    obj: Obj,
    reason: str,
    message: str,
    *,
    warn: bool = False,
    count: int = 1,
    first_min: float,
    last_min: float | None = None,
    component: str = "kubelet",
    host: str | None = None,
    field_path: str | None = None,
) -> None:
    """A core/v1 Event as recorded by the legacy recorder (kubelet, controllers)."""
    md = obj["metadata"]
    last = first_min if last_min is None else last_min
    name = f"{md['name']}.{hexid(16, 'ev', md['name'], reason, message, first_min)}"
    src: Obj = {"component": component}
    if host:
        src["host"] = host
    e = {
        "apiVersion": "v1",
        "kind": "Event",
        "count": count,
        "eventTime": None,
        "firstTimestamp": ts(first_min),
        "involvedObject": _ref(obj, field_path),
        "lastTimestamp": ts(last),
        "message": message,
        "metadata": {
            "creationTimestamp": ts(first_min),
            "name": name,
            "namespace": md["namespace"],
            "uid": uid("ev", name),
        },
        "reason": reason,
        "reportingComponent": component if component == "kubelet" else "",
        "reportingInstance": host or "",
        "source": src,
        "type": "Warning" if warn else "Normal",
    }
    if component != "kubelet":
        e["reportingComponent"] = component
    b.add(e)


def sched_event(
    b: Bundle,
    pod: Obj,
    reason: str,
    message: str,
    *,
    at_min: float,
    warn: bool = False,
    series: tuple[int, float] | None = None,
) -> None:
    """A scheduler event (events.k8s.io recorder, read back through core/v1: eventTime, no timestamps)."""
    md = pod["metadata"]
    name = f"{md['name']}.{hexid(16, 'sev', md['name'], reason, at_min)}"
    e: Obj = {
        "action": "Binding" if reason == "Scheduled" else "Scheduling",
        "apiVersion": "v1",
        "kind": "Event",
        "eventTime": ts_micro(at_min, name),
        "firstTimestamp": None,
        "involvedObject": _ref(pod),
        "lastTimestamp": None,
        "message": message,
        "metadata": {
            "creationTimestamp": ts(at_min),
            "name": name,
            "namespace": md["namespace"],
            "uid": uid("ev", name),
        },
        "reason": reason,
        "reportingComponent": "default-scheduler",
        "reportingInstance": "default-scheduler-kube-scheduler-6f7c9d8b5d-xk2pl",
        "source": {},
        "type": "Warning" if warn else "Normal",
    }
    if series:
        e["series"] = {"count": series[0], "lastObservedTime": ts_micro(series[1], name + "s")}
    b.add(e)


def start_events(
    b: Bundle,
    pod: Obj,
    age_min: float,
    *,
    skip: tuple[str, ...] = (),
    restarts: dict[str, int] | None = None,
    pulled: bool = True,
) -> None:
    """Scheduled, then Pulled/Created/Started per init and app container (counts grow with restarts)."""
    node: NodeInfo = pod["_node"]
    md = pod["metadata"]
    sched_event(
        b,
        pod,
        "Scheduled",
        f"Successfully assigned {md['namespace']}/{md['name']} to {node.name}",
        at_min=age_min,
    )
    restarts = restarts or {}
    init_starts, main_start = schedule(age_min, len(pod["spec"].get("initContainers", [])))
    for kind_, key in (("initContainers", "spec.initContainers"), ("containers", "spec.containers")):
        for i, c in enumerate(pod["spec"].get(kind_, [])):
            if c["name"] in skip:
                continue
            t = init_starts[i] + 0.01 if kind_ == "initContainers" else main_start + 0.01
            n = restarts.get(c["name"], 0) + 1
            last = 2.6 if n > 1 else None
            fp = f"{key}{{{c['name']}}}"
            if pulled:
                event(
                    b,
                    pod,
                    "Pulled",
                    f'Container image "{c["image"]}" already present on machine',
                    count=n,
                    first_min=t,
                    last_min=last,
                    host=node.name,
                    field_path=fp,
                )
            event(
                b,
                pod,
                "Created",
                f"Created container {c['name']}",
                count=n,
                first_min=t,
                last_min=last,
                host=node.name,
                field_path=fp,
            )
            event(
                b,
                pod,
                "Started",
                f"Started container {c['name']}",
                count=n,
                first_min=t - 0.01,
                last_min=last,
                host=node.name,
                field_path=fp,
            )


def backoff_event(b: Bundle, pod: Obj, cname: str, *, count: int, first_min: float, init: bool = False) -> None:
    md = pod["metadata"]
    event(
        b,
        pod,
        "BackOff",
        f"Back-off restarting failed container {cname} in pod {md['name']}_{md['namespace']}({md['uid']})",
        warn=True,
        count=count,
        first_min=first_min,
        last_min=0.4,
        host=pod["_node"].name,
        field_path=f"spec.{'initContainers' if init else 'containers'}{{{cname}}}",
    )


# ----------------------------------------------------------------------------------------------------------
# controller status


def settle(b: Bundle, w: Workload, pods: list[Obj], *, failed_create: str | None = None) -> None:
    """Fill the controllers' status from their pods, add them and the pods to the bundle, and the
    controller events."""
    n = len(pods)
    ready = sum(
        1
        for p in pods
        if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
    )
    if w.kind == "Deployment":
        d, rs = w.objects
        rsn = rs["metadata"]["name"]
        rs_status: Obj = {"fullyLabeledReplicas": n, "observedGeneration": 1, "replicas": n}
        if ready:
            rs_status.update(availableReplicas=ready, readyReplicas=ready)
        dconds: list[Obj]
        if ready >= w.replicas and not failed_create:
            dconds = [
                {
                    "lastTransitionTime": ts(w.age_min - 1),
                    "lastUpdateTime": ts(w.age_min - 1),
                    "message": "Deployment has minimum availability.",
                    "reason": "MinimumReplicasAvailable",
                    "status": "True",
                    "type": "Available",
                },
                {
                    "lastTransitionTime": ts(w.age_min),
                    "lastUpdateTime": ts(w.age_min - 1),
                    "message": f'ReplicaSet "{rsn}" has successfully progressed.',
                    "reason": "NewReplicaSetAvailable",
                    "status": "True",
                    "type": "Progressing",
                },
            ]
        else:
            dconds = [
                {
                    "lastTransitionTime": ts(min(w.age_min, 180)),
                    "lastUpdateTime": ts(min(w.age_min, 180)),
                    "message": "Deployment does not have minimum availability.",
                    "reason": "MinimumReplicasUnavailable",
                    "status": "False",
                    "type": "Available",
                }
            ]
            if failed_create:
                cond = {
                    "lastTransitionTime": ts(min(w.age_min, 60)),
                    "message": failed_create,
                    "reason": "FailedCreate",
                    "status": "True",
                    "type": "ReplicaFailure",
                }
                rs_status["conditions"] = [cond]
                dconds.append(dict(cond, lastUpdateTime=cond["lastTransitionTime"]))
            dconds.append(
                {
                    "lastTransitionTime": ts(min(w.age_min, 180) - 10),
                    "lastUpdateTime": ts(min(w.age_min, 180) - 10),
                    "message": f'ReplicaSet "{rsn}" has timed out progressing.',
                    "reason": "ProgressDeadlineExceeded",
                    "status": "False",
                    "type": "Progressing",
                }
            )
        rs["status"] = rs_status
        ds: Obj = {"conditions": dconds, "observedGeneration": 1, "replicas": n, "updatedReplicas": n}
        if ready:
            ds.update(availableReplicas=ready, readyReplicas=ready)
        if w.replicas - ready > 0:
            ds["unavailableReplicas"] = w.replicas - ready
        d["status"] = ds
        b.add(d, rs)
        event(
            b,
            d,
            "ScalingReplicaSet",
            f"Scaled up replica set {rsn} to {w.replicas}",
            first_min=w.age_min,
            component="deployment-controller",
        )
        for p in pods:
            event(
                b,
                rs,
                "SuccessfulCreate",
                f"Created pod: {p['metadata']['name']}",
                first_min=float(p.get("_age", w.age_min)),
                component="replicaset-controller",
            )
    elif w.kind == "StatefulSet":
        (s,) = w.objects
        s["status"].update(
            {
                "availableReplicas": ready,
                "collisionCount": 0,
                "currentReplicas": n,
                "observedGeneration": 1,
                "replicas": n,
                "updatedReplicas": n,
            }
        )
        if ready:
            s["status"]["readyReplicas"] = ready
        b.add(s)
        for p in pods:
            event(
                b,
                s,
                "SuccessfulCreate",
                f"create Pod {p['metadata']['name']} in StatefulSet {w.name} successful",
                first_min=w.age_min,
                component="statefulset-controller",
            )
    elif w.kind == "DaemonSet":
        (ds_,) = w.objects
        st: Obj = {
            "currentNumberScheduled": n,
            "desiredNumberScheduled": n,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "observedGeneration": 1,
            "updatedNumberScheduled": n,
        }
        if ready:
            st["numberAvailable"] = ready
        if n - ready:
            st["numberUnavailable"] = n - ready
        ds_["status"] = st
        b.add(ds_)
        for p in pods:
            event(
                b,
                ds_,
                "SuccessfulCreate",
                f"Created pod: {p['metadata']['name']}",
                first_min=w.age_min,
                component="daemonset-controller",
            )
    elif w.kind in ("CronJob", "Job"):
        job = w.objects[-1]
        js: Obj = {
            "ready": 0,
            "startTime": job["metadata"]["creationTimestamp"],
            "terminating": 0,
            "uncountedTerminatedPods": {},
        }
        failed = [p for p in pods if p["status"].get("phase") == "Failed"]
        active = [p for p in pods if p["status"].get("phase") in ("Pending", "Running")]
        if active:
            js["active"] = len(active)
        if failed:
            js["failed"] = len(failed)
        if failed and not active and len(failed) > w.backoff_limit:
            ended = max(
                c["state"]["terminated"]["finishedAt"]
                for p in failed
                for c in p["status"]["containerStatuses"]
                if "terminated" in c["state"]
            )
            js["conditions"] = [
                {
                    "lastProbeTime": ended,
                    "lastTransitionTime": ended,
                    "message": "Job has reached the specified backoff limit",
                    "reason": "BackoffLimitExceeded",
                    "status": "True",
                    "type": "Failed",
                }
            ]
        job["status"] = js
        if w.kind == "CronJob":
            cj = w.objects[0]
            cj["status"] = {"lastScheduleTime": "2024-08-14T02:30:00Z"}
            b.add(cj)
            event(
                b,
                cj,
                "SuccessfulCreate",
                f"Created job {job['metadata']['name']}",
                first_min=420,
                component="cronjob-controller",
            )
        b.add(job)
        if w.kind == "CronJob" and active:
            cj = w.objects[0]
            cj["status"]["active"] = [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": job["metadata"]["name"],
                    "namespace": w.ns,
                    "resourceVersion": job["metadata"]["resourceVersion"],
                    "uid": job["metadata"]["uid"],
                }
            ]
        for p in pods:
            event(
                b,
                job,
                "SuccessfulCreate",
                f"Created pod: {p['metadata']['name']}",
                first_min=float(p.get("_age", 400)),
                component="job-controller",
            )
        if "conditions" in js:
            done_min = min(float(p["_age"]) for p in failed) - 0.2
            event(
                b,
                job,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                warn=True,
                first_min=done_min,
                component="job-controller",
            )
            if w.kind == "CronJob":
                event(
                    b,
                    w.objects[0],
                    "SawCompletedJob",
                    f"Saw completed job: {job['metadata']['name']}, status: Failed",
                    first_min=done_min - 0.1,
                    component="cronjob-controller",
                )


def _clean(objs: list[Obj]) -> list[Obj]:
    """Drop the generator's private bookkeeping keys (top-level keys starting with "_")."""
    return [{k: v for k, v in o.items() if not k.startswith("_")} for o in objs]


# ----------------------------------------------------------------------------------------------------------
# cluster objects of the injectors (what `kubectl get mutatingwebhookconfigurations,csidrivers -o yaml` shows)


def _webhook(
    name: str,
    svc: tuple[str, str, str],
    *,
    policy: str,
    ns_sel: Obj | None = None,
    obj_sel: Obj | None = None,
    resources: tuple[str, ...] = ("pods",),
    ops: tuple[str, ...] = ("CREATE",),
    reinvoke: str = "Never",
    timeout: int = 10,
) -> Obj:
    return {
        "admissionReviewVersions": ["v1", "v1beta1"],
        "clientConfig": {
            "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=",
            "service": {"name": svc[1], "namespace": svc[0], "path": svc[2], "port": 443},
        },
        "failurePolicy": policy,
        "matchPolicy": "Equivalent",
        "name": name,
        "namespaceSelector": ns_sel or {},
        "objectSelector": obj_sel or {},
        "reinvocationPolicy": reinvoke,
        "rules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": list(ops),
                "resources": list(resources),
                "scope": "*",
            }
        ],
        "sideEffects": "None",
        "timeoutSeconds": timeout,
    }


def mwc(name: str, webhooks: list[Obj], labels: dict[str, str] | None = None) -> Obj:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "creationTimestamp": ts(90 * 1440),
            "generation": 1,
            "labels": labels or {},
            "name": name,
            "uid": uid("mwc", name),
        },
        "webhooks": webhooks,
    }


def webhooks_for(*injectors: str) -> list[Obj]:
    out = []
    for i in injectors:
        if i == "dynatrace":
            out.append(
                mwc(
                    "dynatrace-webhook",
                    [
                        _webhook(
                            "webhook.pod.dynatrace.com",
                            ("dynatrace", "dynatrace-webhook", "/inject"),
                            policy="Ignore",
                            ns_sel={
                                "matchExpressions": [
                                    {"key": "dynakube.internal.dynatrace.com/instance", "operator": "Exists"}
                                ]
                            },
                            reinvoke="IfNeeded",
                        ),
                        _webhook(
                            "webhook.ns.dynatrace.com",
                            ("dynatrace", "dynatrace-webhook", "/label-ns"),
                            policy="Ignore",
                            resources=("namespaces",),
                            ops=("CREATE", "UPDATE"),
                        ),
                    ],
                    {
                        "app.kubernetes.io/component": "webhook",
                        "app.kubernetes.io/name": "dynatrace-operator",
                    },
                )
            )
        elif i == "istio":
            nsel_default = {"matchExpressions": [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}]}
            osel_default = {
                "matchExpressions": [{"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}]
            }
            out.append(
                mwc(
                    "istio-sidecar-injector",
                    [
                        _webhook(
                            "rev.namespace.sidecar-injector.istio.io",
                            ("istio-system", "istiod", "/inject"),
                            policy="Fail",
                            ns_sel={
                                "matchExpressions": [
                                    {"key": "istio.io/rev", "operator": "In", "values": ["default"]},
                                    {"key": "istio-injection", "operator": "DoesNotExist"},
                                ]
                            },
                            obj_sel=osel_default,
                        ),
                        _webhook(
                            "rev.object.sidecar-injector.istio.io",
                            ("istio-system", "istiod", "/inject"),
                            policy="Fail",
                            ns_sel={
                                "matchExpressions": [
                                    {"key": "istio.io/rev", "operator": "DoesNotExist"},
                                    {"key": "istio-injection", "operator": "DoesNotExist"},
                                ]
                            },
                            obj_sel={
                                "matchExpressions": [
                                    {
                                        "key": "sidecar.istio.io/inject",
                                        "operator": "NotIn",
                                        "values": ["false"],
                                    },
                                    {"key": "istio.io/rev", "operator": "In", "values": ["default"]},
                                ]
                            },
                        ),
                        _webhook(
                            "namespace.sidecar-injector.istio.io",
                            ("istio-system", "istiod", "/inject"),
                            policy="Fail",
                            ns_sel=nsel_default,
                            obj_sel=osel_default,
                        ),
                        _webhook(
                            "object.sidecar-injector.istio.io",
                            ("istio-system", "istiod", "/inject"),
                            policy="Fail",
                            ns_sel={
                                "matchExpressions": [
                                    {"key": "istio-injection", "operator": "DoesNotExist"},
                                    {"key": "istio.io/rev", "operator": "DoesNotExist"},
                                ]
                            },
                            obj_sel={
                                "matchExpressions": [
                                    {"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]},
                                    {"key": "istio.io/rev", "operator": "DoesNotExist"},
                                ]
                            },
                        ),
                    ],
                    {
                        "app": "sidecar-injector",
                        "install.operator.istio.io/owning-resource": "unknown",
                        "istio.io/rev": "default",
                        "operator.istio.io/component": "Pilot",
                        "release": "istiod",
                    },
                )
            )
        elif i == "linkerd":
            out.append(
                mwc(
                    "linkerd-proxy-injector-webhook-config",
                    [
                        _webhook(
                            "linkerd-proxy-injector.linkerd.io",
                            ("linkerd", "linkerd-proxy-injector", "/"),
                            policy="Ignore",
                            ns_sel={
                                "matchExpressions": [
                                    {
                                        "key": "config.linkerd.io/admission-webhooks",
                                        "operator": "NotIn",
                                        "values": ["disabled"],
                                    },
                                    {
                                        "key": "kubernetes.io/metadata.name",
                                        "operator": "NotIn",
                                        "values": ["kube-system", "cert-manager"],
                                    },
                                ]
                            },
                            obj_sel={
                                "matchExpressions": [
                                    {"key": "linkerd.io/control-plane-component", "operator": "DoesNotExist"},
                                    {"key": "linkerd.io/cni-resource", "operator": "DoesNotExist"},
                                ]
                            },
                            resources=("pods", "services"),
                        )
                    ],
                    {
                        "linkerd.io/control-plane-component": "proxy-injector",
                        "linkerd.io/control-plane-ns": "linkerd",
                    },
                )
            )
        elif i == "vault":
            out.append(
                mwc(
                    "vault-agent-injector-cfg",
                    [
                        _webhook(
                            "vault.hashicorp.com",
                            ("vault", "vault-agent-injector-svc", "/mutate"),
                            policy="Ignore",
                            obj_sel={
                                "matchExpressions": [
                                    {
                                        "key": "app.kubernetes.io/name",
                                        "operator": "NotIn",
                                        "values": ["vault-agent-injector"],
                                    }
                                ]
                            },
                            ops=("CREATE", "UPDATE"),
                        )
                    ],
                    {
                        "app.kubernetes.io/instance": "vault",
                        "app.kubernetes.io/managed-by": "Helm",
                        "app.kubernetes.io/name": "vault-agent-injector",
                    },
                )
            )
        elif i == "datadog":
            optout = {
                "matchExpressions": [
                    {"key": "admission.datadoghq.com/enabled", "operator": "NotIn", "values": ["false"]}
                ]
            }
            svc = "datadog-cluster-agent-admission-controller"
            out.append(
                mwc(
                    "datadog-webhook",
                    [
                        _webhook(
                            "datadog.webhook.agent.config",
                            ("datadog", svc, "/injectconfig"),
                            policy="Ignore",
                            obj_sel=optout,
                        ),
                        _webhook(
                            "datadog.webhook.standard.tags",
                            ("datadog", svc, "/injecttags"),
                            policy="Ignore",
                            obj_sel=optout,
                        ),
                        _webhook(
                            "datadog.webhook.auto.instrumentation",
                            ("datadog", svc, "/injectlib"),
                            policy="Ignore",
                            obj_sel=optout,
                        ),
                    ],
                )
            )
        elif i == "opentelemetry":
            out.append(
                mwc(
                    "opentelemetry-operator-mutation",
                    [
                        _webhook(
                            "mpod.kb.io",
                            (
                                "opentelemetry-operator-system",
                                "opentelemetry-operator-webhook",
                                "/mutate-v1-pod",
                            ),
                            policy="Ignore",
                            ops=("CREATE",),
                        )
                    ],
                    {"app.kubernetes.io/name": "opentelemetry-operator"},
                )
            )
        elif i == "newrelic":
            out.append(
                mwc(
                    "newrelic-k8s-agents-operator-mutation",
                    [
                        _webhook(
                            "mpod.kb.io",
                            ("newrelic", "newrelic-k8s-agents-operator-webhook-service", "/mutate-v1-pod"),
                            policy="Ignore",
                        )
                    ],
                    {"app.kubernetes.io/name": "k8s-agents-operator"},
                )
            )
        elif i == "instana":
            out.append(
                mwc(
                    "instana-autotrace-webhook",
                    [
                        _webhook(
                            "autotrace-webhook.instana.com",
                            ("instana-autotrace-webhook", "instana-autotrace-webhook", "/mutate"),
                            policy="Ignore",
                            ns_sel={
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/metadata.name",
                                        "operator": "NotIn",
                                        "values": ["instana-autotrace-webhook", "instana-agent"],
                                    }
                                ]
                            },
                            resources=("pods", "configmaps"),
                            ops=("CREATE", "UPDATE"),
                            reinvoke="IfNeeded",
                        )
                    ],
                    {"app.kubernetes.io/name": "instana-autotrace-webhook"},
                )
            )
        elif i == "elastic":
            out.append(
                mwc(
                    "apm-attacher",
                    [
                        _webhook(
                            "apm-attacher.elastic-apm.svc.cluster.local",
                            ("elastic-apm", "apm-attacher", "/"),
                            policy="Fail",
                            ns_sel={
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/metadata.name",
                                        "operator": "NotIn",
                                        "values": ["kube-system", "kube-public", "elastic-apm"],
                                    }
                                ]
                            },
                        )
                    ],
                    {
                        "app.kubernetes.io/component": "webhook",
                        "app.kubernetes.io/instance": "apm-attacher",
                        "app.kubernetes.io/name": "apm-attacher",
                    },
                )
            )
        else:
            raise ValueError(i)
    return out


def dynatrace_csidriver() -> Obj:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {
            "creationTimestamp": ts(90 * 1440),
            "labels": {
                "app.kubernetes.io/component": "csi-driver",
                "app.kubernetes.io/name": "dynatrace-operator",
            },
            "name": "csi.oneagent.dynatrace.com",
            "uid": uid("csidriver", "dynatrace"),
        },
        "spec": {
            "attachRequired": False,
            "fsGroupPolicy": "None",
            "podInfoOnMount": True,
            "requiresRepublish": False,
            "seLinuxMount": False,
            "storageCapacity": False,
            "volumeLifecycleModes": ["Ephemeral"],
        },
    }


# ----------------------------------------------------------------------------------------------------------
# writing


def write(folder: Path, b: Bundle, expected: Obj | None, fmt: str) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    objs = json.loads(json.dumps(_clean(b.objects)))  # plain data, no shared references
    if fmt == "json":
        doc = {"apiVersion": "v1", "items": objs, "kind": "List", "metadata": {"resourceVersion": ""}}
        (folder / "objects.json").write_text(json.dumps(doc, indent=4, sort_keys=True) + "\n")
    else:
        text = yaml.safe_dump_all(objs, sort_keys=True, default_flow_style=False, width=100000, explicit_start=True)
        (folder / "objects.yaml").write_text(text)
    for rel, text in sorted(b.logs.items()):
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    if expected is not None:
        (folder / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")


# ----------------------------------------------------------------------------------------------------------
# scenario plumbing

CaseFn = Callable[[Bundle], Obj | None]
CASES: list[tuple[str, str, str, CaseFn]] = []


def case(rule: str, name: str, fmt: str = "yaml") -> Callable[[CaseFn], CaseFn]:
    def deco(fn: CaseFn) -> CaseFn:
        CASES.append((rule, name, fmt, fn))
        return fn

    return deco


def expect(
    rule: str,
    w: Workload,
    containers: list[str],
    injectors: list[str],
    min_conf: float,
    rules: list[str] | None = None,
) -> Obj:
    e: Obj = {
        "rule": rule,
        "category": rule.split(".", 1)[0],
        "workload": w.ref,
        "containers": sorted(containers),
        "injectors": sorted(injectors),
        "min_confidence": min_conf,
    }
    if rules is not None:
        e["rules"] = sorted(rules)
    return e


def only(*rules: str) -> Obj:
    return {"rules": sorted(rules)}


def cluster(b: Bundle, nodes: Sequence[NodeInfo], injectors: tuple[str, ...], namespaces: list[Obj]) -> None:
    b.add(*namespaces)
    seen = set()
    for n in nodes:
        if n.name not in seen:
            seen.add(n.name)
            b.add(make_node(n))
    b.add(*webhooks_for(*injectors))
    if "dynatrace" in injectors:
        b.add(dynatrace_csidriver())


DT_NS = {"dynakube.internal.dynatrace.com/instance": "dynakube"}


def restarts_for(age_min: float) -> int:
    """Restart count the kubelet's back-off (10s doubling, capped at 5m) reaches after age_min minutes."""
    if age_min < 16:
        return max(1, int(math.log2(max(age_min * 6, 1))))
    return 6 + int((age_min - 16) / 5.2)


def crash_flow(
    b: Bundle,
    w: Workload,
    nodes: Sequence[NodeInfo | None],
    *,
    inject: Callable[[Obj], None] | None,
    cname: str,
    code: int,
    log: Callable[[Obj, bool], str] | str | None,
    reason: str = "Error",
    ages: list[float] | None = None,
    ran_s: float = 6,
    message: str | None = None,
    prev: bool = True,
    cur: bool = True,
    failed_create: str | None = None,
) -> list[Obj]:
    """Pods whose container `cname` crash-loops; everything else in the pod runs."""
    pods = []
    for i, node in enumerate(nodes):
        age = ages[i] if ages else 95 + 7 * i
        p = w.new_pod(i, node, age_min=age)
        if inject:
            inject(p)
        r = restarts_for(age)
        set_status(
            p,
            age_min=age,
            cs={cname: crashloop(p, cname, code=code, reason=reason, restarts=r, ran_s=ran_s, message=message)},
        )
        pods.append(p)
    settle(b, w, pods, failed_create=failed_create)
    b.add(*pods)
    for p in pods:
        r = restarts_for(p["_age"])
        start_events(b, p, p["_age"], restarts={cname: r})
        backoff_event(b, p, cname, count=max(r * 4 - 5, 1), first_min=p["_age"] - 1.5)
        if log:
            for previous, wanted in ((True, prev), (False, cur)):
                if wanted:
                    b.log(p, cname, log(p, previous) if callable(log) else log, previous=previous)
    return pods


def healthy_flow(
    b: Bundle,
    w: Workload,
    nodes: Sequence[NodeInfo | None],
    *,
    inject: Callable[[Obj], None] | None,
    ages: list[float] | None = None,
    logs: dict[str, str] | None = None,
) -> list[Obj]:
    pods = []
    for i, node in enumerate(nodes):
        age = ages[i] if ages else 300 + 11 * i
        p = w.new_pod(i, node, age_min=age)
        if inject:
            inject(p)
        set_status(p, age_min=age)
        pods.append(p)
    settle(b, w, pods)
    b.add(*pods)
    for p in pods:
        start_events(b, p, p["_age"])
        for cname, text in (logs or {}).items():
            b.log(p, cname, text)
    return pods


def failed_job_flow(
    b: Bundle,
    w: Workload,
    node: NodeInfo,
    *,
    inject: Callable[[Obj], None] | None,
    cname: str,
    code: int,
    reason: str,
    count: int,
    log: str | None,
    ran_s: float = 4,
) -> list[Obj]:
    """restartPolicy Never: one Failed pod per attempt, retried with the Job controller's back-off."""
    pods = []
    for i in range(count):
        age = 420 - 0.4 - sum(10 * 2**k for k in range(i)) / 60 - i * ran_s / 60
        p = w.new_pod(i, node, age_min=age)
        if inject:
            inject(p)
        cid = container_id(p["metadata"]["uid"], cname, 0)
        st = CS(state=terminated(code, reason, age - 0.1, age - 0.1 - ran_s / 60, cid=cid), started=False)
        set_status(p, age_min=age, cs={cname: st})
        pods.append(p)
    settle(b, w, pods)
    b.add(*pods)
    for p in pods:
        start_events(b, p, p["_age"])
        if log:
            b.log(p, cname, log)
    return pods


# ----------------------------------------------------------------------------------------------------------
# application templates and their logs

AZP_IMAGE = "acrplatform.azurecr.io/build/azp-agent:3.242.1-ubuntu22.04"
AKS_POOL = [
    aks_node("agentpool", 0, ip="10.224.0.4"),
    aks_node("agentpool", 1, ip="10.224.0.5"),
    aks_node("agentpool", 2, ip="10.224.0.6"),
]


def tpl_azp(
    *,
    annotations: dict[str, str] | None = None,
    url: bool = True,
    env_from: list[Obj] | None = None,
    mem_limit: str = "4Gi",
) -> Obj:
    envs = [env("AZP_URL", "https://dev.azure.com/contoso")] if url else []
    envs += [
        env("AZP_POOL", "aks-linux-x64"),
        env_field("AZP_AGENT_NAME", "metadata.name"),
        env_secret("AZP_TOKEN", "azp-agent", "AZP_TOKEN"),
    ]
    c = container(
        "azp-agent",
        AZP_IMAGE,
        envs=envs,
        env_from=env_from,
        resources=res("500m", "1Gi", "2", mem_limit),
        mounts=[mount("work", "/azp/_work")],
    )
    return template(
        {"app": "azure-devops-agent"},
        pod_spec([c], volumes=[{"emptyDir": {}, "name": "work"}], sa="azp-agent", grace=3600),
        annotations,
    )


AZP_BANNER = r"""1. Determining matching Azure Pipelines agent...
2. Downloading and extracting Azure Pipelines agent...
3. Configuring Azure Pipelines agent...

  ___                      ______ _            _ _
 / _ \                     | ___ (_)          | (_)
/ /_\ \_____   _ _ __ ___  | |_/ /_ _ __   ___| |_ _ __   ___  ___
|  _  |_  / | | | '__/ _ \ |  __/| | '_ \ / _ \ | | '_ \ / _ \/ __|
| | | |/ /| |_| | | |  __/ | |   | | |_) |  __/ | | | | |  __/\__ \
\_| |_/___|\__,_|_|  \___| \_|   |_| .__/ \___|_|_|_| |_|\___||___/
                                   | |
        agent v3.242.1             |_|          (commit 7b0b4ff)


>> Connect:

Connecting to server ...

>> Register Agent:

Scanning for tool capabilities.
Connecting to the server.
Successfully replaced the agent
Testing agent connection.
2024-08-14 09:{m:02d}:31Z: Settings Saved.
4. Running Azure Pipelines agent...
"""

AZP_CLR_CRASH = """Unhandled exception. System.TypeInitializationException: The type initializer for '<Module>' threw an exception.
 ---> System.InvalidProgramException: Common Language Runtime detected an invalid program.
   at Microsoft.VisualStudio.Services.Agent.Listener.Program.MainAsync(IHostContext context, String[] args)
   --- End of inner exception stack trace ---
   at Microsoft.VisualStudio.Services.Agent.Listener.Program.Main(String[] args)
./run.sh: line 52:    71 Aborted                 (core dumped) "$DIR"/bin/Agent.Listener run $*
"""


def azp_crash_log(p: Obj, previous: bool) -> str:
    return AZP_BANNER.format(m=22 if previous else 27) + AZP_CLR_CRASH


def azp_cluster(b: Bundle, ns_labels: dict[str, str] | None, injectors: tuple[str, ...]) -> None:
    cluster(b, AKS_POOL, injectors, [make_namespace("build-agents", labels=ns_labels)])


# ==========================================================================================================
# injection.clr-profiler


def dt(era: str, kind: str, name: str) -> Callable[[Obj], None]:
    return lambda p: inject_dynatrace(p, era=era, workload_kind=kind, workload_name=name)


@case("injection.clr-profiler", "fail.azp-agent-dynatrace-csi")
def _clr_seed(b: Bundle) -> Obj:
    """The seed case: Azure Pipelines agents on AKS, Dynatrace cloud-native full-stack with the CSI driver."""
    azp_cluster(b, DT_NS, ("dynatrace",))
    w = Workload("Deployment", "build-agents", "azure-devops-agent", tpl_azp(), replicas=2, age_min=60 * 24 * 41)
    crash_flow(
        b,
        w,
        AKS_POOL[:2],
        inject=dt("current", "Deployment", w.name),
        cname="azp-agent",
        code=134,
        log=azp_crash_log,
        ran_s=38,
        ages=[96, 88],
    )
    return expect("injection.clr-profiler", w, ["azp-agent"], ["dynatrace"], 0.8, rules=["injection.clr-profiler"])


LEDGER_TYPELOAD = """info: Ledger.Api.Startup[0]
      Applying ledger schema migrations (target 2024.08.2)
Unhandled exception. System.TypeLoadException: Could not load type 'Datadog.Trace.ClrProfiler.CallTarget.CallTargetInvoker' from assembly 'Datadog.Trace, Version=2.49.0.0, Culture=neutral, PublicKeyToken=def86d061d0d2eeb'.
   at Npgsql.NpgsqlConnection.Open()
   at Ledger.Api.Data.SchemaMigrator.Apply(CancellationToken ct) in /src/Ledger.Api/Data/SchemaMigrator.cs:line 41
   at Program.<Main>$(String[] args) in /src/Ledger.Api/Program.cs:line 37
"""


@case("injection.clr-profiler", "fail.datadog-dotnet-typeload-istio", fmt="json")
def _clr_datadog(b: Bundle) -> Obj:
    nodes = [
        NodeInfo(
            "ip-10-40-12-87.eu-west-1.compute.internal",
            "general",
            cloud="eks",
            ip="10.40.12.87",
            instance="m6i.xlarge",
            zone="eu-west-1a",
        )
    ]
    cluster(b, nodes, ("datadog", "istio"), [make_namespace("payments", labels={"istio-injection": "enabled"})])
    c = container(
        "ledger-api",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/ledger-api:2024.08.2",
        envs=[env("ASPNETCORE_URLS", "http://+:8080"), env("DOTNET_ENVIRONMENT", "Production")],
        ports=[("http", 8080)],
        resources=res("250m", "512Mi", "1", "1Gi"),
    )
    tpl = template(
        {"app": "ledger-api", "version": "2024.08.2", "admission.datadoghq.com/enabled": "true"},
        pod_spec([c], sa="ledger-api"),
        {"admission.datadoghq.com/dotnet-lib.version": "v2.49.0"},
    )
    w = Workload("Deployment", "payments", "ledger-api", tpl, replicas=1, age_min=60 * 24 * 9)

    def inject(p: Obj) -> None:
        inject_datadog_lib(p, "dotnet")
        inject_istio(p, owner=("Deployment", w.name, "apps/v1"))

    crash_flow(b, w, nodes, inject=inject, cname="ledger-api", code=134, log=LEDGER_TYPELOAD, ran_s=3)
    return expect(
        "injection.clr-profiler",
        w,
        ["ledger-api"],
        ["datadog", "istio"],
        0.8,
        rules=["injection.clr-profiler"],
    )


REPORT_WORKER_IPE = """warn: Microsoft.AspNetCore.DataProtection.Repositories.FileSystemXmlRepository[60]
      Storing keys in a directory '/home/app/.aspnet/DataProtection-Keys' that may not be persisted outside of the container. Protected data will be unavailable when container is destroyed. For more information go to https://aka.ms/aspnet/dataprotectionwarning
info: Reporting.Worker.QueueConsumer[0]
      Connecting to queue reporting-jobs on amqp://rabbitmq.reporting.svc:5672
Unhandled exception. System.InvalidProgramException: Common Language Runtime detected an invalid program.
   at Reporting.Worker.Rendering.PdfRenderer..ctor(IOptions`1 options, ILogger`1 logger)
   at System.RuntimeMethodHandle.InvokeMethod(Object target, Void** arguments, Signature sig, Boolean isConstructor)
   at System.Reflection.ConstructorInvoker.Invoke(Object obj, IntPtr* args, BindingFlags invokeAttr)
   at System.Reflection.RuntimeConstructorInfo.Invoke(BindingFlags invokeAttr, Binder binder, Object[] parameters, CultureInfo culture)
   at Microsoft.Extensions.DependencyInjection.ServiceLookup.CallSiteRuntimeResolver.VisitConstructor(ConstructorCallSite constructorCallSite, RuntimeResolverContext context)
   at Microsoft.Extensions.DependencyInjection.ServiceProvider.GetService(Type serviceType, ServiceProviderEngineScope serviceProviderEngineScope)
   at Microsoft.Extensions.Hosting.Internal.Host.StartAsync(CancellationToken cancellationToken)
   at Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.RunAsync(IHost host, CancellationToken token)
   at Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.Run(IHost host)
   at Program.<Main>$(String[] args) in /src/Reporting.Worker/Program.cs:line 22
"""


@case("injection.clr-profiler", "fail.dynatrace-legacy-statefulset")
def _clr_legacy(b: Bundle) -> Obj:
    nodes = [aks_node("workers", 0, ip="10.224.1.4")]
    cluster(b, nodes, ("dynatrace",), [make_namespace("reporting", labels=DT_NS)])
    c = container(
        "report-worker",
        "acrplatform.azurecr.io/reporting/report-worker:6.3.0",
        envs=[env("DOTNET_ENVIRONMENT", "Production")],
        resources=res("500m", "768Mi", "2", "1536Mi"),
        mounts=[mount("spool", "/var/spool/reports")],
    )
    tpl = template({"app": "report-worker"}, pod_spec([c], sa="report-worker"))
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"creationTimestamp": None, "name": "spool"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "20Gi"}},
            "storageClassName": "managed-csi",
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Pending"},
    }
    w = Workload(
        "StatefulSet",
        "reporting",
        "report-worker",
        tpl,
        replicas=1,
        age_min=60 * 24 * 120,
        claim_templates=[claim],
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=dt("legacy", "StatefulSet", w.name),
        cname="report-worker",
        code=134,
        log=REPORT_WORKER_IPE,
        ran_s=4,
        ages=[64],
    )
    return expect("injection.clr-profiler", w, ["report-worker"], ["dynatrace"], 0.8, rules=["injection.clr-profiler"])


@case("injection.clr-profiler", "pass.same-crash-no-injector")
def _clr_pass_noinj(b: Bundle) -> Obj:
    """The same log in a namespace Dynatrace does not map: nothing was injected."""
    azp_cluster(b, None, ("dynatrace",))
    w = Workload("Deployment", "build-agents", "azure-devops-agent", tpl_azp(), replicas=1, age_min=60 * 24 * 41)
    crash_flow(b, w, AKS_POOL[:1], inject=None, cname="azp-agent", code=134, log=azp_crash_log, ran_s=38)
    return only("application.exception")


AZP_RUNNING = (
    AZP_BANNER.format(m=21)
    + """2024-08-14 09:21:40Z: Listening for Jobs
2024-08-14 09:24:03Z: Running job: Build linux-x64 (Release)
"""
)


@case("injection.clr-profiler", "pass.injected-oomkilled", fmt="json")
def _clr_pass_oom(b: Bundle) -> Obj:
    azp_cluster(b, DT_NS, ("dynatrace",))
    w = Workload(
        "Deployment",
        "build-agents",
        "azure-devops-agent",
        tpl_azp(mem_limit="2Gi"),
        replicas=1,
        age_min=60 * 24 * 41,
    )
    crash_flow(
        b,
        w,
        AKS_POOL[1:2],
        inject=dt("current", "Deployment", w.name),
        cname="azp-agent",
        code=137,
        reason="OOMKilled",
        log=AZP_RUNNING,
        ran_s=190,
        ages=[70],
    )
    return only("oom.killed")


@case("injection.clr-profiler", "pass.injected-healthy")
def _clr_pass_healthy(b: Bundle) -> Obj:
    azp_cluster(b, DT_NS, ("dynatrace",))
    w = Workload("Deployment", "build-agents", "azure-devops-agent", tpl_azp(), replicas=2, age_min=60 * 24 * 41)
    healthy_flow(
        b,
        w,
        AKS_POOL[:2],
        inject=dt("current", "Deployment", w.name),
        logs={"azp-agent": AZP_BANNER.format(m=2) + "2024-08-14 04:02:40Z: Listening for Jobs\n"},
    )
    return only()


SNAPSHOT_IPE = """info: Orders.Snapshots.Worker[0]
      Snapshotting 1842 open orders
Unhandled exception. System.InvalidProgramException: Common Language Runtime detected an invalid program.
   at DynamicClass.Serialize_OrderSnapshot(Object, Utf8JsonWriter)
   at Orders.Snapshots.Serialization.EmittedSerializer`1.Write(Utf8JsonWriter writer, T value) in /src/Orders.Snapshots/Serialization/EmittedSerializer.cs:line 88
   at Orders.Snapshots.SnapshotWriter.Write(OrderSnapshot snapshot) in /src/Orders.Snapshots/SnapshotWriter.cs:line 58
   at Orders.Snapshots.Worker.ExecuteAsync(CancellationToken stoppingToken) in /src/Orders.Snapshots/Worker.cs:line 41
   at Microsoft.Extensions.Hosting.Internal.Host.TryExecuteBackgroundServiceAsync(BackgroundService backgroundService)
"""


@case("injection.clr-profiler", "pass.mesh-sidecar-only")
def _clr_pass_linkerd(b: Bundle) -> Obj:
    """InvalidProgramException with only a Linkerd proxy injected: no hook in the CLR, so no injection cause."""
    nodes = [
        NodeInfo(
            "gke-prod-default-pool-4f2a9c1d-x7k2",
            "default-pool",
            cloud="gke",
            ip="10.128.0.21",
            instance="e2-standard-4",
            zone="europe-west1-b",
        )
    ]
    cluster(b, nodes, ("linkerd",), [make_namespace("orders", annotations={"linkerd.io/inject": "enabled"})])
    c = container(
        "snapshot-worker",
        "europe-docker.pkg.dev/acme-prod/orders/snapshot-worker:1.14.0",
        resources=res("200m", "256Mi", "1", "512Mi"),
    )
    w = Workload(
        "Deployment",
        "orders",
        "snapshot-worker",
        template({"app": "snapshot-worker"}, pod_spec([c])),
        age_min=60 * 24 * 2,
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_linkerd(p, owner_kind="deployment", owner_name=w.name),
        cname="snapshot-worker",
        code=134,
        log=SNAPSHOT_IPE,
        ran_s=9,
    )
    return only("application.exception")


# ==========================================================================================================
# injection.startup-hook

OTEL_HOOK_MISSING = """Unhandled exception. System.ArgumentException: Startup hook assembly '/otel-auto-instrumentation-dotnet/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll' failed to load. See inner exception for details.
 ---> System.IO.FileNotFoundException: Could not load file or assembly '/otel-auto-instrumentation-dotnet/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll'. The system cannot find the file specified.

File name: '/otel-auto-instrumentation-dotnet/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll'
   at System.Runtime.Loader.AssemblyLoadContext.LoadFromAssemblyPath(String assemblyPath)
   at System.Reflection.Assembly.LoadFrom(String assemblyFile)
   at System.StartupHookProvider.CallStartupHook(StartupHookNameOrPath startupHook)
   --- End of inner exception stack trace ---
   at System.StartupHookProvider.CallStartupHook(StartupHookNameOrPath startupHook)
   at System.StartupHookProvider.ProcessStartupHooks(String diagnosticStartupHooks)
"""


def orders_api_tpl(annotations: dict[str, str] | None = None, extra_env: list[Obj] | None = None) -> Obj:
    c = container(
        "orders-api",
        "registry.acme.io/orders/orders-api:5.2.0",
        envs=[env("ASPNETCORE_URLS", "http://+:8080"), *(extra_env or [])],
        ports=[("http", 8080)],
        resources=res("250m", "256Mi", "1", "512Mi"),
        readiness=http_probe("/health/ready", 8080, delay=5),
    )
    return template({"app": "orders-api", "version": "5.2.0"}, pod_spec([c], sa="orders-api"), annotations)


@case("injection.startup-hook", "fail.otel-hook-missing")
def _hook_missing(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4"), aks_node("apps", 1, ip="10.224.2.5")]
    cluster(b, nodes, ("opentelemetry",), [make_namespace("orders")])
    w = Workload(
        "Deployment",
        "orders",
        "orders-api",
        orders_api_tpl({"instrumentation.opentelemetry.io/inject-dotnet": "observability/dotnet"}),
        replicas=2,
        age_min=60 * 30,
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_otel(p, "dotnet", service=w.name, owner=("Deployment", w.name)),
        cname="orders-api",
        code=134,
        log=OTEL_HOOK_MISSING,
        ran_s=1,
        ages=[52, 51],
    )
    return expect("injection.startup-hook", w, ["orders-api"], ["opentelemetry"], 0.8, rules=["injection.startup-hook"])


HOOK_RUNTIME_MISMATCH = """Unhandled exception. System.IO.FileNotFoundException: Could not load file or assembly 'System.Runtime, Version=6.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a'. The system cannot find the file specified.

File name: 'System.Runtime, Version=6.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a'
   at System.StartupHookProvider.CallStartupHook(StartupHookNameOrPath startupHook)
   at System.StartupHookProvider.ProcessStartupHooks()
"""


@case("injection.startup-hook", "fail.otel-runtime-mismatch-cronjob", fmt="json")
def _hook_cronjob(b: Bundle) -> Obj:
    nodes = [aks_node("batch", 0, ip="10.224.3.4")]
    cluster(
        b,
        nodes,
        ("opentelemetry",),
        [make_namespace("billing", annotations={"instrumentation.opentelemetry.io/inject-dotnet": "true"})],
    )
    c = container(
        "invoice-export",
        "registry.acme.io/billing/invoice-export:3.1.12",
        args=["--period", "previous-day"],
        resources=res("100m", "256Mi", "1", "512Mi"),
    )
    tpl = template({"app": "invoice-export"}, pod_spec([c], restart="Never", sa="invoice-export"))
    w = Workload(
        "CronJob",
        "billing",
        "invoice-export",
        tpl,
        age_min=60 * 24 * 300,
        job_name="invoice-export-28727790",
        backoff_limit=1,
    )
    failed_job_flow(
        b,
        w,
        nodes[0],
        inject=lambda p: inject_otel(p, "dotnet", service=w.name, owner=("Job", w.job_name or "")),
        cname="invoice-export",
        code=134,
        reason="Error",
        count=2,
        log=HOOK_RUNTIME_MISMATCH,
    )
    return expect(
        "injection.startup-hook",
        w,
        ["invoice-export"],
        ["opentelemetry"],
        0.8,
        rules=["injection.startup-hook"],
    )


OWN_HOOK_FAIL = """Unhandled exception. System.ArgumentException: Startup hook assembly '/app/hooks/Acme.Diagnostics.StartupHook.dll' failed to load. See inner exception for details.
 ---> System.BadImageFormatException: Could not load file or assembly '/app/hooks/Acme.Diagnostics.StartupHook.dll'. Format of the executable (.exe) or library (.dll) is invalid.

File name: '/app/hooks/Acme.Diagnostics.StartupHook.dll'
   at System.Runtime.Loader.AssemblyLoadContext.LoadFromAssemblyPath(String assemblyPath)
   at System.Reflection.Assembly.LoadFrom(String assemblyFile)
   at System.StartupHookProvider.CallStartupHook(StartupHookNameOrPath startupHook)
   --- End of inner exception stack trace ---
   at System.StartupHookProvider.CallStartupHook(StartupHookNameOrPath startupHook)
   at System.StartupHookProvider.ProcessStartupHooks(String diagnosticStartupHooks)
"""


@case("injection.startup-hook", "pass.app-own-hook-with-vault-and-istio")
def _hook_pass_own(b: Bundle) -> None:
    """The hook that fails is the application's own (set in the template); Vault and Istio are injected."""
    nodes = [aks_node("apps", 0, ip="10.224.2.4")]
    cluster(b, nodes, ("vault", "istio"), [make_namespace("orders", labels={"istio-injection": "enabled"})])
    tpl = orders_api_tpl(
        {
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/role": "orders-api",
            "vault.hashicorp.com/agent-inject-secret-db": "secret/data/orders/db",
        },
        [env("DOTNET_STARTUP_HOOKS", "/app/hooks/Acme.Diagnostics.StartupHook.dll")],
    )
    w = Workload("Deployment", "orders", "orders-api", tpl, age_min=60 * 26)

    def inject(p: Obj) -> None:
        inject_istio(p, owner=("Deployment", w.name, "apps/v1"))
        inject_vault(p, role="orders-api", secrets={"db": "secret/data/orders/db"})

    crash_flow(b, w, nodes, inject=inject, cname="orders-api", code=134, log=OWN_HOOK_FAIL, ran_s=1)
    return None  # the cause is the workload's own hook; whether that is "config" or "application" is left open


@case("injection.startup-hook", "pass.otel-hook-healthy", fmt="json")
def _hook_pass_healthy(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4"), aks_node("apps", 1, ip="10.224.2.5")]
    cluster(b, nodes, ("opentelemetry",), [make_namespace("orders")])
    w = Workload(
        "Deployment",
        "orders",
        "orders-api",
        orders_api_tpl({"instrumentation.opentelemetry.io/inject-dotnet": "observability/dotnet"}),
        replicas=2,
        age_min=60 * 30,
    )
    healthy_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_otel(p, "dotnet", service=w.name, owner=("Deployment", w.name)),
        logs={
            "orders-api": "info: Microsoft.Hosting.Lifetime[14]\n      Now listening on: http://[::]:8080\n"
            "info: Microsoft.Hosting.Lifetime[0]\n      Application started. Press Ctrl+C to shut down.\n"
        },
    )
    return only()


# ==========================================================================================================
# injection.native-preload

MUSL_RELOC = """Error relocating /opt/instana/instrumentation/libinstana_init/libinstana_init.so: __snprintf_chk: symbol not found
Error relocating /opt/instana/instrumentation/libinstana_init/libinstana_init.so: __vfprintf_chk: symbol not found
"""


def storefront_tpl() -> Obj:
    c = container(
        "storefront",
        "ghcr.io/acme-retail/storefront:2.31.0-alpine",
        command=["node", "server.js"],
        envs=[env("NODE_ENV", "production"), env("PORT", "3000")],
        ports=[("http", 3000)],
        resources=res("100m", "192Mi", "500m", "384Mi"),
        workdir="/usr/src/app",
    )
    return template({"app": "storefront"}, pod_spec([c]))


@case("injection.native-preload", "fail.instana-musl-relocating")
def _preload_musl(b: Bundle) -> Obj:
    nodes = [
        NodeInfo(
            "gke-shop-default-pool-8d1e2f3a-q9wm",
            "default-pool",
            cloud="gke",
            ip="10.132.0.14",
            instance="e2-standard-4",
            zone="europe-west4-a",
        )
    ]
    cluster(b, nodes, ("instana",), [make_namespace("shop")])
    w = Workload("Deployment", "shop", "storefront", storefront_tpl(), age_min=60 * 24 * 12)
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_instana(p, node=True),
        cname="storefront",
        code=127,
        log=MUSL_RELOC,
        ran_s=0.2,
    )
    return expect("injection.native-preload", w, ["storefront"], ["instana"], 0.8, rules=["injection.native-preload"])


NGINX_BOOT = """/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration
/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/
/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh
10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf
10-listen-on-ipv6-by-default.sh: info: /etc/nginx/conf.d/default.conf differs from the packaged version
/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh
/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh
20-envsubst-on-templates.sh: Running envsubst on /etc/nginx/templates/cache.conf.template to /etc/nginx/conf.d/cache.conf
/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh
/docker-entrypoint.sh: Configuration complete; ready for start up
"""


@case("injection.native-preload", "fail.dynatrace-segv-daemonset", fmt="json")
def _preload_segv(b: Bundle) -> Obj:
    nodes = [aks_node("agentpool", i, ip=f"10.224.0.{4 + i}") for i in range(2)]
    cluster(b, nodes, ("dynatrace",), [make_namespace("edge", labels=DT_NS)])
    c = container(
        "nginx",
        "nginx:1.27.0",
        ports=[("http", 8080)],
        resources=res("50m", "64Mi", "500m", "256Mi"),
        mounts=[mount("templates", "/etc/nginx/templates", ro=True), mount("cache", "/var/cache/nginx")],
    )
    tpl = template(
        {"app": "node-cache"},
        pod_spec(
            [c],
            volumes=[
                {"configMap": {"defaultMode": 420, "name": "node-cache-templates"}, "name": "templates"},
                {"hostPath": {"path": "/var/cache/node-cache", "type": "DirectoryOrCreate"}, "name": "cache"},
            ],
            tolerations=[{"effect": "NoSchedule", "key": "CriticalAddonsOnly", "operator": "Exists"}],
        ),
    )
    w = Workload("DaemonSet", "edge", "node-cache", tpl, age_min=60 * 24 * 60)
    crash_flow(
        b,
        w,
        nodes,
        inject=dt("current", "DaemonSet", w.name),
        cname="nginx",
        code=139,
        log=NGINX_BOOT,
        ran_s=1,
        ages=[118, 117],
    )
    return expect("injection.native-preload", w, ["nginx"], ["dynatrace"], 0.7, rules=["injection.native-preload"])


DD_PRELOAD_NOISE = """ERROR: ld.so: object '/opt/datadog-packages/datadog-apm-inject/stable/inject/launcher.preload.so' from /etc/ld.so.preload cannot be preloaded (cannot open shared object file): ignored.
ERROR: ld.so: object '/opt/datadog-packages/datadog-apm-inject/stable/inject/launcher.preload.so' from /etc/ld.so.preload cannot be preloaded (cannot open shared object file): ignored.
2024-08-14 09:25:02,881 INFO [feature_builder] loading training window 2024-07-15..2024-08-13
ERROR: ld.so: object '/opt/datadog-packages/datadog-apm-inject/stable/inject/launcher.preload.so' from /etc/ld.so.preload cannot be preloaded (cannot open shared object file): ignored.
2024-08-14 09:25:40,113 INFO [feature_builder] joined 18234117 rows from events_daily
2024-08-14 09:26:51,502 INFO [feature_builder] pivoting 412 feature columns
"""


@case("injection.native-preload", "pass.preload-noise-then-oomkilled")
def _preload_pass_oom(b: Bundle) -> Obj:
    nodes = [
        NodeInfo(
            "ip-10-40-22-19.eu-west-1.compute.internal",
            "memory",
            cloud="eks",
            ip="10.40.22.19",
            instance="r6i.2xlarge",
            zone="eu-west-1b",
        )
    ]
    cluster(b, nodes, ("datadog",), [make_namespace("ml")])
    c = container(
        "feature-builder",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml/feature-builder:0.19.3",
        command=["python", "-m", "feature_builder"],
        resources=res("1", "2Gi", "2", "3Gi"),
    )
    w = Workload(
        "Deployment",
        "ml",
        "feature-builder",
        template({"app": "feature-builder"}, pod_spec([c])),
        age_min=60 * 24 * 5,
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_datadog_ssi(p, "python"),
        cname="feature-builder",
        code=137,
        reason="OOMKilled",
        log=DD_PRELOAD_NOISE,
        ran_s=140,
        ages=[80],
    )
    return only("oom.killed")


@case("injection.native-preload", "pass.own-ld-preload-segv-linkerd")
def _preload_pass_own(b: Bundle) -> Obj:
    """SIGSEGV with LD_PRELOAD, but the LD_PRELOAD is the application's own (jemalloc, in the template)."""
    nodes = [aks_node("apps", 0, ip="10.224.2.4")]
    cluster(b, nodes, ("linkerd",), [make_namespace("maps", annotations={"linkerd.io/inject": "enabled"})])
    c = container(
        "tile-renderer",
        "registry.acme.io/maps/tile-renderer:4.0.2",
        envs=[
            env("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"),
            env("MALLOC_CONF", "background_thread:true,dirty_decay_ms:5000"),
        ],
        ports=[("http", 8080)],
        resources=res("500m", "1Gi", "2", "2Gi"),
    )
    w = Workload(
        "Deployment",
        "maps",
        "tile-renderer",
        template({"app": "tile-renderer"}, pod_spec([c])),
        age_min=60 * 24 * 3,
    )
    log = (
        "I0814 09:27:31.114201       1 main.go:44] tile-renderer 4.0.2 (mapnik 3.1.0)\n"
        "I0814 09:27:31.390556       1 styles.go:88] loaded 14 styles from /etc/tile-renderer/styles\n"
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_linkerd(p, owner_kind="deployment", owner_name=w.name),
        cname="tile-renderer",
        code=139,
        log=log,
        ran_s=2,
    )
    return only("unknown.crash-loop")


# ==========================================================================================================
# injection.java-agent

OTEL_JAR_MISSING = """Picked up JAVA_TOOL_OPTIONS:  -javaagent:/otel-auto-instrumentation-java/javaagent.jar
Error opening zip file or JAR manifest missing : /otel-auto-instrumentation-java/javaagent.jar
Error occurred during initialization of VM
agent library failed to init: instrument
"""


def inventory_tpl(
    annotations: dict[str, str] | None = None,
    extra_env: list[Obj] | None = None,
    mem: str = "1Gi",
    liveness: Obj | None = None,
) -> Obj:
    c = container(
        "inventory-service",
        "registry.acme.io/retail/inventory-service:4.8.1",
        envs=[env("SPRING_PROFILES_ACTIVE", "prod"), *(extra_env or [])],
        ports=[("http", 8080)],
        resources=res("500m", mem, "2", mem),
        liveness=liveness,
        readiness=http_probe("/actuator/health/readiness", 8080, delay=20),
    )
    return template({"app": "inventory-service"}, pod_spec([c], sa="inventory-service"), annotations)


@case("injection.java-agent", "fail.otel-jar-missing")
def _java_otel(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4")]
    cluster(b, nodes, ("opentelemetry",), [make_namespace("inventory")])
    w = Workload(
        "Deployment",
        "inventory",
        "inventory-service",
        inventory_tpl({"instrumentation.opentelemetry.io/inject-java": "observability/java"}),
        age_min=60 * 5,
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_otel(p, "java", service=w.name, owner=("Deployment", w.name)),
        cname="inventory-service",
        code=1,
        log=OTEL_JAR_MISSING,
        ran_s=0.3,
    )
    return expect(
        "injection.java-agent",
        w,
        ["inventory-service"],
        ["opentelemetry"],
        0.8,
        rules=["injection.java-agent"],
    )


NR_PREMAIN = """Picked up JAVA_TOOL_OPTIONS:  -javaagent:/newrelic-instrumentation/newrelic-agent.jar
Failed to find Premain-Class manifest attribute in /newrelic-instrumentation/newrelic-agent.jar
Error occurred during initialization of VM
agent library failed to init: instrument
"""


@case("injection.java-agent", "fail.newrelic-premain-statefulset", fmt="json")
def _java_nr(b: Bundle) -> Obj:
    nodes = [
        NodeInfo(
            "ip-10-40-31-201.eu-west-1.compute.internal",
            "search",
            cloud="eks",
            ip="10.40.31.201",
            instance="m6i.2xlarge",
            zone="eu-west-1c",
        )
    ]
    cluster(b, nodes, ("newrelic", "vault"), [make_namespace("search")])
    c = container(
        "indexer",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/search/indexer:11.2.0",
        envs=[env("JAVA_OPTS", "-XX:MaxRAMPercentage=75")],
        ports=[("http", 9200)],
        resources=res("1", "2Gi", "2", "2Gi"),
    )
    tpl = template(
        {"app": "indexer"},
        pod_spec([c], sa="indexer"),
        {
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/role": "indexer",
            "vault.hashicorp.com/agent-inject-secret-es": "secret/data/search/es",
        },
    )
    w = Workload("StatefulSet", "search", "indexer", tpl, replicas=2, age_min=60 * 24 * 30, service="indexer-headless")

    def inject(p: Obj) -> None:
        inject_newrelic(p, "java", app_name="indexer")
        inject_vault(p, role="indexer", secrets={"es": "secret/data/search/es"})

    crash_flow(b, w, nodes * 2, inject=inject, cname="indexer", code=1, log=NR_PREMAIN, ran_s=0.4, ages=[40, 38])
    return expect("injection.java-agent", w, ["indexer"], ["newrelic", "vault"], 0.8, rules=["injection.java-agent"])


SPRING_NPE = r"""Picked up JAVA_TOOL_OPTIONS:  -javaagent:/otel-auto-instrumentation-java/javaagent.jar
OpenJDK 64-Bit Server VM warning: Sharing is only supported for boot loader classes because bootstrap classpath has been appended
[otel.javaagent 2024-08-14 09:27:02:114 +0000] [main] INFO io.opentelemetry.javaagent.tooling.VersionLogger - opentelemetry-javaagent - version: 1.33.5

  .   ____          _            __ _ _
 /\\ / ___'_ __ _ _(_)_ __  __ _ \ \ \ \
( ( )\___ | '_ | '_| | '_ \/ _` | \ \ \ \
 \\/  ___)| |_)| | | | | || (_| |  ) ) ) )
  '  |____| .__|_| |_|_| |_\__, | / / / /
 =========|_|==============|___/=/_/_/_/
 :: Spring Boot ::                (v3.2.5)

2024-08-14T09:27:05.431Z  INFO 1 --- [           main] c.a.inventory.InventoryApplication       : Starting InventoryApplication v4.8.1 using Java 17.0.12 with PID 1 (/app/inventory.jar started by app in /app)
2024-08-14T09:27:05.436Z  INFO 1 --- [           main] c.a.inventory.InventoryApplication       : The following 1 profile is active: "prod"
2024-08-14T09:27:09.872Z  WARN 1 --- [           main] ConfigServletWebServerApplicationContext : Exception encountered during context initialization - cancelling refresh attempt: org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'stockLevels' defined in URL [jar:nested:/app/inventory.jar/!BOOT-INF/classes/!/com/acme/inventory/StockLevels.class]: Failed to instantiate [com.acme.inventory.StockLevels]: Constructor threw exception
2024-08-14T09:27:09.990Z ERROR 1 --- [           main] o.s.boot.SpringApplication               : Application run failed

org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'stockLevels' defined in URL [jar:nested:/app/inventory.jar/!BOOT-INF/classes/!/com/acme/inventory/StockLevels.class]: Failed to instantiate [com.acme.inventory.StockLevels]: Constructor threw exception
	at org.springframework.beans.factory.support.ConstructorResolver.instantiate(ConstructorResolver.java:321)
	at org.springframework.beans.factory.support.ConstructorResolver.autowireConstructor(ConstructorResolver.java:309)
	at org.springframework.boot.SpringApplication.run(SpringApplication.java:335)
	at com.acme.inventory.InventoryApplication.main(InventoryApplication.java:12)
Caused by: java.lang.NullPointerException: Cannot invoke "java.util.Map.get(Object)" because "this.warehouseIndex" is null
	at com.acme.inventory.StockLevels.<init>(StockLevels.java:34)
	at java.base/jdk.internal.reflect.DirectConstructorHandleAccessor.newInstance(DirectConstructorHandleAccessor.java:62)
	at org.springframework.beans.BeanUtils.instantiateClass(BeanUtils.java:195)
	... 21 common frames omitted
"""


@case("injection.java-agent", "pass.agent-loaded-app-npe")
def _java_pass_npe(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4")]
    cluster(b, nodes, ("opentelemetry",), [make_namespace("inventory")])
    w = Workload(
        "Deployment",
        "inventory",
        "inventory-service",
        inventory_tpl({"instrumentation.opentelemetry.io/inject-java": "observability/java"}),
        age_min=60 * 5,
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_otel(p, "java", service=w.name, owner=("Deployment", w.name)),
        cname="inventory-service",
        code=1,
        log=SPRING_NPE,
        ran_s=9,
    )
    return only("application.exception")


USER_AGENT_MISSING = """Picked up JAVA_TOOL_OPTIONS: -javaagent:/opt/agents/jmx_prometheus_javaagent.jar=9404:/etc/jmx/config.yaml
Error opening zip file or JAR manifest missing : /opt/agents/jmx_prometheus_javaagent.jar
Error occurred during initialization of VM
agent library failed to init: instrument
"""


@case("injection.java-agent", "pass.own-agent-elastic-present")
def _java_pass_own(b: Bundle) -> None:
    """The -javaagent that fails is the template's own; Elastic is injected but left JAVA_TOOL_OPTIONS alone."""
    nodes = [aks_node("apps", 1, ip="10.224.2.5")]
    cluster(b, nodes, ("elastic",), [make_namespace("inventory")])
    w = Workload(
        "Deployment",
        "inventory",
        "inventory-service",
        inventory_tpl(
            {"co.elastic.apm/attach": "java"},
            [
                env(
                    "JAVA_TOOL_OPTIONS",
                    "-javaagent:/opt/agents/jmx_prometheus_javaagent.jar=9404:/etc/jmx/config.yaml",
                )
            ],
        ),
        age_min=60 * 5,
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_elastic(p, "java"),
        cname="inventory-service",
        code=1,
        log=USER_AGENT_MISSING,
        ran_s=0.3,
    )
    return None


# ==========================================================================================================
# injection.node-preload

DD_NODE_PRELOAD = """node:internal/modules/cjs/loader:1148
  throw err;
  ^

Error: Cannot find module '/datadog-lib/node_modules/dd-trace/init'
Require stack:
- internal/preload
    at Module._resolveFilename (node:internal/modules/cjs/loader:1145:15)
    at Module._load (node:internal/modules/cjs/loader:986:27)
    at internalRequire (node:internal/modules/cjs/loader:216:19)
    at Module._preloadModules (node:internal/modules/cjs/loader:1499:5)
    at loadPreloadModules (node:internal/process/pre_execution:727:5)
    at setupUserModules (node:internal/process/pre_execution:205:5)
    at prepareExecution (node:internal/process/pre_execution:158:5)
    at prepareMainThreadExecution (node:internal/process/pre_execution:55:10)
    at node:internal/main/run_main_module:30:49 {
  code: 'MODULE_NOT_FOUND',
  requireStack: [ 'internal/preload' ]
}

Node.js v20.15.1
"""


@case("injection.node-preload", "fail.datadog-dd-trace-missing-linkerd")
def _node_dd(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4"), aks_node("apps", 1, ip="10.224.2.5")]
    cluster(
        b,
        nodes,
        ("datadog", "linkerd"),
        [make_namespace("web", annotations={"linkerd.io/inject": "enabled"})],
    )
    c = container(
        "checkout-web",
        "registry.acme.io/web/checkout-web:8.4.0",
        command=["node", "dist/server.js"],
        envs=[env("NODE_ENV", "production")],
        ports=[("http", 3000)],
        resources=res("200m", "256Mi", "1", "512Mi"),
        workdir="/app",
    )
    tpl = template(
        {"app": "checkout-web", "admission.datadoghq.com/enabled": "true"},
        pod_spec([c]),
        {"admission.datadoghq.com/js-lib.version": "latest"},
    )
    w = Workload("Deployment", "web", "checkout-web", tpl, replicas=2, age_min=60 * 3)

    def inject(p: Obj) -> None:
        inject_datadog_lib(p, "js")
        inject_linkerd(p, owner_kind="deployment", owner_name=w.name)

    crash_flow(
        b,
        w,
        nodes,
        inject=inject,
        cname="checkout-web",
        code=1,
        log=DD_NODE_PRELOAD,
        ran_s=0.5,
        ages=[61, 60],
    )
    return expect(
        "injection.node-preload",
        w,
        ["checkout-web"],
        ["datadog", "linkerd"],
        0.8,
        rules=["injection.node-preload"],
    )


OTEL_NODE_DEP = """node:internal/modules/cjs/loader:1148
  throw err;
  ^

Error: Cannot find module '@langchain/core/callbacks/base'
Require stack:
- /otel-auto-instrumentation-nodejs/node_modules/@traceloop/instrumentation-langchain/dist/index.js
- /otel-auto-instrumentation-nodejs/node_modules/@traceloop/node-server-sdk/dist/index.js
- /otel-auto-instrumentation-nodejs/autoinstrumentation.js
- internal/preload
    at Module._resolveFilename (node:internal/modules/cjs/loader:1145:15)
    at Module._load (node:internal/modules/cjs/loader:986:27)
    at Module.require (node:internal/modules/cjs/loader:1233:19)
    at require (node:internal/modules/helpers:179:18)
    at Object.<anonymous> (/otel-auto-instrumentation-nodejs/node_modules/@traceloop/instrumentation-langchain/dist/index.js:7:16)
    at Module._compile (node:internal/modules/cjs/loader:1358:14)
    at Module._extensions..js (node:internal/modules/cjs/loader:1416:10)
    at Module.load (node:internal/modules/cjs/loader:1208:32)
    at Module._load (node:internal/modules/cjs/loader:1024:12)
    at Module.require (node:internal/modules/cjs/loader:1233:19) {
  code: 'MODULE_NOT_FOUND',
  requireStack: [
    '/otel-auto-instrumentation-nodejs/node_modules/@traceloop/instrumentation-langchain/dist/index.js',
    '/otel-auto-instrumentation-nodejs/node_modules/@traceloop/node-server-sdk/dist/index.js',
    '/otel-auto-instrumentation-nodejs/autoinstrumentation.js',
    'internal/preload'
  ]
}

Node.js v20.15.1
"""


@case("injection.node-preload", "fail.otel-agent-dependency-bare-pod", fmt="json")
def _node_otel_pod(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 1, ip="10.224.2.5")]
    cluster(
        b,
        nodes,
        ("opentelemetry",),
        [make_namespace("ai", annotations={"instrumentation.opentelemetry.io/inject-nodejs": "observability/nodejs"})],
    )
    c = container(
        "summarizer",
        "registry.acme.io/ai/summarizer:0.7.0",
        command=["node", "index.js"],
        envs=[env("NODE_ENV", "production")],
        resources=res("250m", "512Mi", "1", "1Gi"),
        workdir="/srv",
    )
    w = Workload(
        "Pod",
        "ai",
        "summarizer-debug",
        template({"app": "summarizer", "run": "summarizer-debug"}, pod_spec([c])),
        age_min=45,
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_otel(p, "nodejs", service="summarizer", owner=None),
        cname="summarizer",
        code=1,
        log=OTEL_NODE_DEP,
        ran_s=1.2,
        ages=[45],
    )
    return expect("injection.node-preload", w, ["summarizer"], ["opentelemetry"], 0.7, rules=["injection.node-preload"])


APP_MISSING_MODULE = """node:internal/modules/cjs/loader:1148
  throw err;
  ^

Error: Cannot find module 'express'
Require stack:
- /usr/src/app/server.js
    at Module._resolveFilename (node:internal/modules/cjs/loader:1145:15)
    at Module._load (node:internal/modules/cjs/loader:986:27)
    at Module.require (node:internal/modules/cjs/loader:1233:19)
    at require (node:internal/modules/helpers:179:18)
    at Object.<anonymous> (/usr/src/app/server.js:3:17)
    at Module._compile (node:internal/modules/cjs/loader:1358:14)
    at Module._extensions..js (node:internal/modules/cjs/loader:1416:10)
    at Module.load (node:internal/modules/cjs/loader:1208:32)
    at Module._load (node:internal/modules/cjs/loader:1024:12)
    at Function.executeUserEntryPoint [as runMain] (node:internal/modules/run_main:174:12) {
  code: 'MODULE_NOT_FOUND',
  requireStack: [ '/usr/src/app/server.js' ]
}

Node.js v20.15.1
"""


@case("injection.node-preload", "pass.app-module-missing-instana")
def _node_pass_app(b: Bundle) -> Obj:
    nodes = [
        NodeInfo(
            "gke-shop-default-pool-8d1e2f3a-q9wm",
            "default-pool",
            cloud="gke",
            ip="10.132.0.14",
            instance="e2-standard-4",
            zone="europe-west4-a",
        )
    ]
    cluster(b, nodes, ("instana",), [make_namespace("shop")])
    c = container(
        "storefront",
        "ghcr.io/acme-retail/storefront:2.32.0",
        command=["node", "server.js"],
        envs=[env("NODE_ENV", "production"), env("PORT", "3000")],
        ports=[("http", 3000)],
        resources=res("100m", "192Mi", "500m", "384Mi"),
        workdir="/usr/src/app",
    )
    w = Workload("Deployment", "shop", "storefront", template({"app": "storefront"}, pod_spec([c])), age_min=60 * 2)
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_instana(p, node=True),
        cname="storefront",
        code=1,
        log=APP_MISSING_MODULE,
        ran_s=0.6,
    )
    return only("application.exception")


# ==========================================================================================================
# injection.python-path

OTEL_PROTOBUF = """Traceback (most recent call last):
  File "/usr/local/bin/uvicorn", line 8, in <module>
    sys.exit(main())
             ^^^^^^
  File "/usr/local/lib/python3.12/site-packages/uvicorn/config.py", line 435, in load
    self.loaded_app = import_from_string(self.app)
                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/app/feature_api/main.py", line 9, in <module>
    from feature_api.store import FeatureStoreClient
  File "/app/feature_api/store.py", line 4, in <module>
    from google.cloud import bigtable
  File "/usr/local/lib/python3.12/site-packages/google/cloud/bigtable/__init__.py", line 17, in <module>
    from google.cloud.bigtable.client import Client
  File "/usr/local/lib/python3.12/site-packages/google/api_core/grpc_helpers.py", line 29, in <module>
    from grpc_status import rpc_status
  File "/usr/local/lib/python3.12/site-packages/grpc_status/rpc_status.py", line 18, in <module>
    from google.rpc import status_pb2
  File "/usr/local/lib/python3.12/site-packages/google/rpc/status_pb2.py", line 20, in <module>
    from google.protobuf import runtime_version as _runtime_version
ImportError: cannot import name 'runtime_version' from 'google.protobuf' (/otel-auto-instrumentation-python/google/protobuf/__init__.py)
"""


@case("injection.python-path", "fail.otel-protobuf-shadowed")
def _py_otel(b: Bundle) -> Obj:
    nodes = [
        NodeInfo(
            "gke-ml-pool-2b7c9e10-h3kd",
            "ml-pool",
            cloud="gke",
            ip="10.128.0.33",
            instance="n2-standard-8",
            zone="europe-west1-c",
        )
    ]
    cluster(b, nodes, ("opentelemetry",), [make_namespace("ml")])
    c = container(
        "feature-api",
        "europe-docker.pkg.dev/acme-prod/ml/feature-api:2.3.1",
        command=["uvicorn", "feature_api.main:app", "--host", "0.0.0.0", "--port", "8000"],
        ports=[("http", 8000)],
        resources=res("250m", "512Mi", "1", "1Gi"),
    )
    tpl = template({"app": "feature-api"}, pod_spec([c]), {"instrumentation.opentelemetry.io/inject-python": "true"})
    w = Workload("Deployment", "ml", "feature-api", tpl, replicas=1, age_min=60 * 8)
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_otel(p, "python", service=w.name, owner=("Deployment", w.name)),
        cname="feature-api",
        code=1,
        log=OTEL_PROTOBUF,
        ran_s=2,
    )
    return expect("injection.python-path", w, ["feature-api"], ["opentelemetry"], 0.8, rules=["injection.python-path"])


DD_TYPING = """Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "<frozen runpy>", line 88, in _run_code
  File "/app/rollup/__main__.py", line 4, in <module>
    from rollup.pipeline import run
  File "/app/rollup/pipeline.py", line 7, in <module>
    import pydantic
  File "/usr/local/lib/python3.11/site-packages/pydantic/__init__.py", line 5, in <module>
    from ._migration import getattr_migration
  File "/usr/local/lib/python3.11/site-packages/pydantic/_migration.py", line 4, in <module>
    from .version import version_short
  File "/usr/local/lib/python3.11/site-packages/pydantic/version.py", line 5, in <module>
    from pydantic_core import __version__ as __pydantic_core_version__
  File "/usr/local/lib/python3.11/site-packages/pydantic_core/__init__.py", line 6, in <module>
    from typing_extensions import Sentinel
ImportError: cannot import name 'Sentinel' from 'typing_extensions' (/datadog-lib/ddtrace_pkgs/site-packages-ddtrace-py3.11-manylinux2014/typing_extensions.py)
"""


@case("injection.python-path", "fail.datadog-typing-extensions-cronjob", fmt="json")
def _py_dd_cron(b: Bundle) -> Obj:
    nodes = [aks_node("batch", 0, ip="10.224.3.4")]
    cluster(b, nodes, ("datadog",), [make_namespace("analytics")])
    c = container(
        "daily-rollup",
        "acrplatform.azurecr.io/analytics/daily-rollup:1.12.0",
        command=["python", "-m", "rollup"],
        args=["--date", "yesterday"],
        resources=res("500m", "1Gi", "2", "2Gi"),
    )
    tpl = template(
        {"app": "daily-rollup", "admission.datadoghq.com/enabled": "true"},
        pod_spec([c], restart="OnFailure"),
        {"admission.datadoghq.com/python-lib.version": "v2.10.2"},
    )
    w = Workload("CronJob", "analytics", "daily-rollup", tpl, age_min=60 * 24 * 200, job_name="daily-rollup-28727790")
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_datadog_lib(p, "python"),
        cname="daily-rollup",
        code=1,
        log=DD_TYPING,
        ran_s=3,
        ages=[420],
    )
    return expect("injection.python-path", w, ["daily-rollup"], ["datadog"], 0.8, rules=["injection.python-path"])


APP_IMPORT = """Traceback (most recent call last):
  File "/usr/local/bin/uvicorn", line 8, in <module>
    sys.exit(main())
             ^^^^^^
  File "/usr/local/lib/python3.12/site-packages/uvicorn/config.py", line 435, in load
    self.loaded_app = import_from_string(self.app)
                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/app/feature_api/main.py", line 7, in <module>
    from feature_api.db import Session
  File "/app/feature_api/db.py", line 3, in <module>
    import psycopg2
ModuleNotFoundError: No module named 'psycopg2'
"""


@case("injection.python-path", "pass.app-module-missing-otel")
def _py_pass_app(b: Bundle) -> Obj:
    nodes = [
        NodeInfo(
            "gke-ml-pool-2b7c9e10-h3kd",
            "ml-pool",
            cloud="gke",
            ip="10.128.0.33",
            instance="n2-standard-8",
            zone="europe-west1-c",
        )
    ]
    cluster(b, nodes, ("opentelemetry",), [make_namespace("ml")])
    c = container(
        "feature-api",
        "europe-docker.pkg.dev/acme-prod/ml/feature-api:2.4.0",
        command=["uvicorn", "feature_api.main:app", "--host", "0.0.0.0", "--port", "8000"],
        ports=[("http", 8000)],
        resources=res("250m", "512Mi", "1", "1Gi"),
    )
    tpl = template({"app": "feature-api"}, pod_spec([c]), {"instrumentation.opentelemetry.io/inject-python": "true"})
    w = Workload("Deployment", "ml", "feature-api", tpl, age_min=60 * 8)
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_otel(p, "python", service=w.name, owner=("Deployment", w.name)),
        cname="feature-api",
        code=1,
        log=APP_IMPORT,
        ran_s=2,
    )
    return only("application.exception")


# ==========================================================================================================
# injection.init-container


def init_crash_flow(
    b: Bundle,
    w: Workload,
    nodes: Sequence[NodeInfo],
    *,
    inject: Callable[[Obj], None] | None,
    cname: str,
    code: int,
    log: str | None,
    ages: list[float] | None = None,
    ran_s: float = 5,
) -> list[Obj]:
    """Pods whose init container `cname` crash-loops, so the app containers never start."""
    pods = []
    for i, node in enumerate(nodes):
        age = ages[i] if ages else 48 + 3 * i
        p = w.new_pod(i, node, age_min=age)
        if inject:
            inject(p)
        r = restarts_for(age)
        set_status(p, age_min=age, cs={cname: crashloop(p, cname, code=code, restarts=r, ran_s=ran_s)})
        pods.append(p)
    settle(b, w, pods)
    b.add(*pods)
    for p in pods:
        names = [c["name"] for c in p["spec"]["initContainers"]]
        later = tuple(names[names.index(cname) + 1 :]) + tuple(c["name"] for c in p["spec"]["containers"])
        r = restarts_for(p["_age"])
        start_events(b, p, p["_age"], skip=later, restarts={cname: r})
        backoff_event(b, p, cname, count=max(r * 4 - 5, 1), first_min=p["_age"] - 1.5, init=True)
        if log:
            b.log(p, cname, log, previous=True)
            b.log(p, cname, log)
    return pods


VAULT_403 = """==> Vault Agent started! Log data will stream in below:

==> Vault Agent configuration:

           Api Address 1: http://bufconn
                     Cgo: disabled
               Log Level: info
                 Version: Vault v1.16.1, built 2024-04-03T12:35:53Z
             Version Sha: 6b5986790d7748100de77f7f127119c4a0f78946

2024-08-14T09:26:40.905Z [INFO]  agent.sink.file: creating file sink
2024-08-14T09:26:40.905Z [INFO]  agent.sink.file: file sink configured: path=/home/vault/.vault-token mode=-rw-r-----
2024-08-14T09:26:40.905Z [INFO]  agent.template.server: starting template server
2024-08-14T09:26:40.905Z [INFO]  agent.auth.handler: starting auth handler
2024-08-14T09:26:40.905Z [INFO]  agent.auth.handler: authenticating
2024-08-14T09:26:40.906Z [INFO]  agent.sink.server: starting sink server
2024-08-14T09:26:40.931Z [INFO]  agent.auth.handler: authentication successful, sending token to sinks
2024-08-14T09:26:40.931Z [INFO]  agent.auth.handler: starting renewal process
2024-08-14T09:26:40.931Z [INFO]  agent.sink.file: token written: path=/home/vault/.vault-token
2024-08-14T09:26:40.931Z [INFO]  agent.template.server: template server received new token
2024-08-14T09:26:40.932Z [INFO]  (runner) creating new runner (dry: false, once: false)
2024-08-14T09:26:40.932Z [INFO]  (runner) creating watcher
2024-08-14T09:26:40.932Z [INFO]  (runner) starting
2024-08-14T09:26:40.951Z [WARN]  (view) vault.read(secret/data/payments/db): vault.read(secret/data/payments/db): Error making API request.

URL: GET http://vault.vault.svc:8200/v1/secret/data/payments/db
Code: 403. Errors:

* 1 error occurred:
	* permission denied

 (retry attempt 1 after "250ms")
2024-08-14T09:27:52.411Z [ERROR] (view) vault.read(secret/data/payments/db): vault.read(secret/data/payments/db): Error making API request.

URL: GET http://vault.vault.svc:8200/v1/secret/data/payments/db
Code: 403. Errors:

* 1 error occurred:
	* permission denied

 (exceeded maximum retries)
2024-08-14T09:27:52.411Z [ERROR] (runner) sending server error back to caller: vault.read(secret/data/payments/db): vault.read(secret/data/payments/db): Error making API request.

URL: GET http://vault.vault.svc:8200/v1/secret/data/payments/db
Code: 403. Errors:

* 1 error occurred:
	* permission denied

2024-08-14T09:27:52.411Z [ERROR] agent: runtime error encountered: error="template server: (view) vault.read(secret/data/payments/db): Error making API request. Code: 403. Errors: * 1 error occurred: * permission denied"
2024-08-14T09:27:52.411Z [INFO]  (runner) stopping
2024-08-14T09:27:52.411Z [INFO]  agent.template.server: template server stopped
2024-08-14T09:27:52.412Z [INFO]  agent.auth.handler: shutdown triggered, stopping lifetime watcher
2024-08-14T09:27:52.412Z [INFO]  agent.auth.handler: auth handler stopped
2024-08-14T09:27:52.412Z [INFO]  agent.sink.server: sink server stopped
2024-08-14T09:27:52.412Z [INFO]  agent: sinks finished, exiting
Error encountered during run, refer to logs for more details.
"""


def payments_tpl() -> Obj:
    c = container(
        "payments-api",
        "registry.acme.io/payments/payments-api:7.0.3",
        ports=[("http", 8080)],
        envs=[env("DB_CONFIG_FILE", "/vault/secrets/db")],
        resources=res("250m", "384Mi", "1", "768Mi"),
    )
    return template(
        {"app": "payments-api"},
        pod_spec([c], sa="payments-api"),
        {
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/role": "payments-api",
            "vault.hashicorp.com/agent-inject-secret-db": "secret/data/payments/db",
        },
    )


@case("injection.init-container", "fail.vault-agent-init-403")
def _init_vault(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4"), aks_node("apps", 1, ip="10.224.2.5")]
    cluster(b, nodes, ("vault",), [make_namespace("payments")])
    w = Workload("Deployment", "payments", "payments-api", payments_tpl(), replicas=2, age_min=60 * 24 * 7)
    init_crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_vault(p, role="payments-api", secrets={"db": "secret/data/payments/db"}),
        cname="vault-agent-init",
        code=1,
        log=VAULT_403,
        ran_s=72,
        ages=[58, 57],
    )
    return expect(
        "injection.init-container",
        w,
        ["vault-agent-init"],
        ["vault"],
        0.7,
        rules=["injection.init-container"],
    )


ISTIO_VALIDATION = """2024-08-14T09:27:58.104223Z	info	Starting iptables validation. This check verifies that iptables rules are properly established for the network.
2024-08-14T09:27:58.104300Z	info	Listening on 127.0.0.1:15001
2024-08-14T09:27:58.104419Z	info	Listening on 127.0.0.1:15006
2024-08-14T09:28:00.105132Z	error	iptables validation failed; workload is not ready for Istio.
When using Istio CNI, this can occur if a pod is scheduled before the node is ready.

If installed with 'cni.repair.deletePods=true', this pod should automatically be deleted and retry.
Otherwise, this pod will need to be manually removed so that it is scheduled on a node with istio-cni running, allowing iptables rules to be established.
"""


@case("injection.init-container", "fail.istio-validation-statefulset", fmt="json")
def _init_istio(b: Bundle) -> Obj:
    nodes = [aks_node("data", 3, ip="10.224.4.7")]
    cluster(b, nodes, ("istio",), [make_namespace("data", labels={"istio-injection": "enabled"})])
    c = container(
        "kafka-connect",
        "registry.acme.io/data/kafka-connect:3.7.1",
        ports=[("rest", 8083)],
        envs=[env("CONNECT_BOOTSTRAP_SERVERS", "kafka.data.svc:9092")],
        resources=res("500m", "1Gi", "2", "2Gi"),
    )
    w = Workload(
        "StatefulSet",
        "data",
        "kafka-connect",
        template({"app": "kafka-connect"}, pod_spec([c])),
        age_min=60 * 24 * 14,
        service="kafka-connect",
    )
    init_crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_istio(p, owner=("StatefulSet", w.name, "apps/v1"), cni=True),
        cname="istio-validation",
        code=126,
        log=ISTIO_VALIDATION,
        ran_s=2,
        ages=[33],
    )
    return expect(
        "injection.init-container",
        w,
        ["istio-validation"],
        ["istio"],
        0.7,
        rules=["injection.init-container"],
    )


ALEMBIC_FAIL = """INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.
INFO  [alembic.runtime.migration] Will assume transactional DDL.
INFO  [alembic.runtime.migration] Running upgrade 3b8e0c2a7d10 -> 7c1d2e9f4b31, add settlement batches index
Traceback (most recent call last):
  File "/usr/local/bin/alembic", line 8, in <module>
    sys.exit(main())
             ^^^^^^
  File "/usr/local/lib/python3.12/site-packages/alembic/config.py", line 641, in main
    CommandLine(prog=prog).main(argv=argv)
  File "/usr/local/lib/python3.12/site-packages/alembic/command.py", line 403, in upgrade
    script.run_env()
  File "/app/migrations/env.py", line 72, in <module>
    run_migrations_online()
  File "/app/migrations/versions/7c1d2e9f4b31_add_settlement_batches_index.py", line 24, in upgrade
    op.create_index("ix_settlement_batch_ref", "settlement_batches", ["batch_ref"], unique=True)
  File "/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/default.py", line 924, in do_execute
    cursor.execute(statement, parameters)
sqlalchemy.exc.ProgrammingError: (psycopg2.errors.UndefinedTable) relation "settlement_batches" does not exist

[SQL: CREATE UNIQUE INDEX ix_settlement_batch_ref ON settlement_batches (batch_ref)]
(Background on this error at: https://sqlalche.me/e/20/f405)
"""


@case("injection.init-container", "pass.template-init-fails-dynatrace")
def _init_pass_template(b: Bundle) -> Obj:
    """The failing init container is the workload's own migration step; Dynatrace's init container waits behind it."""
    nodes = [aks_node("apps", 0, ip="10.224.2.4")]
    cluster(b, nodes, ("dynatrace",), [make_namespace("settlement", labels=DT_NS)])
    mig = container(
        "db-migrate",
        "registry.acme.io/settlement/settlement-svc:2.9.0",
        command=["alembic", "upgrade", "head"],
        envs=[env_secret("DATABASE_URL", "settlement-db", "url")],
        resources=res("100m", "128Mi", "500m", "256Mi"),
    )
    app = container(
        "settlement-svc",
        "registry.acme.io/settlement/settlement-svc:2.9.0",
        ports=[("http", 8000)],
        envs=[env_secret("DATABASE_URL", "settlement-db", "url")],
        resources=res("250m", "256Mi", "1", "512Mi"),
    )
    w = Workload(
        "Deployment",
        "settlement",
        "settlement-svc",
        template({"app": "settlement-svc"}, pod_spec([app], init=[mig])),
        age_min=60 * 4,
    )
    init_crash_flow(
        b,
        w,
        nodes,
        inject=dt("current", "Deployment", w.name),
        cname="db-migrate",
        code=1,
        log=ALEMBIC_FAIL,
        ran_s=3,
        ages=[44],
    )
    return only("application.exception")


@case("injection.init-container", "pass.injected-init-ok-app-config", fmt="json")
def _init_pass_config(b: Bundle) -> Obj:
    azp_cluster(b, DT_NS, ("dynatrace",))
    w = Workload("Deployment", "build-agents", "azure-devops-agent", tpl_azp(url=False), age_min=60 * 3)
    crash_flow(
        b,
        w,
        AKS_POOL[2:3],
        inject=dt("legacy", "Deployment", w.name),
        cname="azp-agent",
        code=1,
        log="error: missing AZP_URL environment variable\n",
        ran_s=0.1,
        ages=[170],
    )
    return only("config.app-reported")


# ==========================================================================================================
# injection.volume-mount


def stuck_mount_flow(
    b: Bundle,
    w: Workload,
    nodes: Sequence[NodeInfo],
    *,
    inject: Callable[[Obj], None] | None,
    failures: list[tuple[str, str, str, str]],
    ages: list[float] | None = None,
) -> list[Obj]:
    """Pods that never leave ContainerCreating / Init:0/N because a volume cannot be attached or mounted.
    failures: (reason, message, component, kind: 'pod'|'attach')."""
    pods = []
    for i, node in enumerate(nodes):
        age = ages[i] if ages else 31 + 2 * i
        p = w.new_pod(i, node, age_min=age)
        if inject:
            inject(p)
        set_status(p, age_min=age, sandbox=False)
        pods.append(p)
    settle(b, w, pods)
    b.add(*pods)
    for p in pods:
        age = p["_age"]
        md = p["metadata"]
        sched_event(
            b,
            p,
            "Scheduled",
            f"Successfully assigned {md['namespace']}/{md['name']} to {p['_node'].name}",
            at_min=age,
        )
        for j, (reason, msg, comp, _) in enumerate(failures):
            count = max(int(age / 2.2) - j * 2, 1)
            if reason == "FailedMount" and msg.startswith("Unable to attach"):
                count = max(int((age - 2) / 2.2), 1)
            event(
                b,
                p,
                reason,
                msg,
                warn=True,
                count=count,
                first_min=age - 0.05 - 2 * (msg.startswith("Unable")),
                last_min=0.8 + j * 0.3,
                component=comp,
                host=p["_node"].name if comp == "kubelet" else None,
            )
    return pods


@case("injection.volume-mount", "fail.dynatrace-csi-driver-not-on-pool")
def _vol_dt_csi(b: Bundle) -> Obj:
    nodes = [
        aks_node(
            "ciagents",
            i,
            ip=f"10.224.5.{4 + i}",
            taints=(("workload", "ci", "NoSchedule"),),
            extra_labels=(("workload", "ci"),),
        )
        for i in range(2)
    ]
    cluster(b, nodes + AKS_POOL[:1], ("dynatrace",), [make_namespace("ci", labels=DT_NS)])
    c = container(
        "build-agent",
        "acrplatform.azurecr.io/build/azp-agent:3.242.1-ubuntu22.04",
        envs=[
            env("AZP_URL", "https://dev.azure.com/contoso"),
            env("AZP_POOL", "aks-ci"),
            env_secret("AZP_TOKEN", "azp-agent", "AZP_TOKEN"),
        ],
        resources=res("1", "2Gi", "4", "8Gi"),
    )
    tpl = template(
        {"app": "build-agent"},
        pod_spec(
            [c],
            node_selector={"workload": "ci"},
            tolerations=[{"effect": "NoSchedule", "key": "workload", "operator": "Equal", "value": "ci"}],
        ),
    )
    w = Workload("Deployment", "ci", "build-agent", tpl, replicas=2, age_min=60 * 24 * 2)
    msg = (
        'MountVolume.SetUp failed for volume "oneagent-bin" : kubernetes.io/csi: mounter.SetUpAt failed to get CSI '
        "client: driver name csi.oneagent.dynatrace.com not found in the list of registered CSI drivers"
    )
    stuck_mount_flow(
        b,
        w,
        nodes,
        inject=dt("current", "Deployment", w.name),
        ages=[29, 27],
        failures=[
            ("FailedMount", msg, "kubelet", "pod"),
            (
                "FailedMount",
                "Unable to attach or mount volumes: unmounted volumes=[oneagent-bin], unattached volumes=[], "
                "failed to process volumes=[]: timed out waiting for the condition",
                "kubelet",
                "pod",
            ),
        ],
    )
    return expect("injection.volume-mount", w, [], ["dynatrace"], 0.8, rules=["injection.volume-mount"])


@case("injection.volume-mount", "fail.istio-root-cert-missing-statefulset", fmt="json")
def _vol_istio(b: Bundle) -> Obj:
    nodes = [aks_node("data", 0, ip="10.224.4.4")]
    cluster(b, nodes, ("istio",), [make_namespace("ledger", labels={"istio-injection": "enabled"}, age_days=0.03)])
    c = container(
        "ledger",
        "registry.acme.io/ledger/ledger:1.4.0",
        ports=[("grpc", 9090)],
        resources=res("250m", "256Mi", "1", "512Mi"),
    )
    w = Workload(
        "StatefulSet",
        "ledger",
        "ledger",
        template({"app": "ledger"}, pod_spec([c])),
        age_min=40,
        service="ledger",
    )
    stuck_mount_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_istio(p, owner=("StatefulSet", w.name, "apps/v1")),
        ages=[39],
        failures=[
            (
                "FailedMount",
                'MountVolume.SetUp failed for volume "istiod-ca-cert" : configmap "istio-ca-root-cert" not found',
                "kubelet",
                "pod",
            )
        ],
    )
    return expect("injection.volume-mount", w, [], ["istio"], 0.8, rules=["injection.volume-mount"])


def gateway_tpl() -> Obj:
    c = container(
        "gateway",
        "registry.acme.io/api/gateway:3.3.0",
        ports=[("https", 8443)],
        resources=res("250m", "256Mi", "1", "512Mi"),
        mounts=[mount("tls", "/etc/gateway/tls", ro=True)],
    )
    return template(
        {"app": "gateway"},
        pod_spec([c], volumes=[{"name": "tls", "secret": {"defaultMode": 420, "secretName": "api-tls"}}]),
    )


@case("injection.volume-mount", "pass.template-secret-missing-dynatrace")
def _vol_pass_template(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4")]
    cluster(b, nodes, ("dynatrace",), [make_namespace("api", labels=DT_NS)])
    w = Workload("Deployment", "api", "gateway", gateway_tpl(), age_min=60 * 24)
    stuck_mount_flow(
        b,
        w,
        nodes,
        inject=dt("current", "Deployment", w.name),
        ages=[22],
        failures=[
            (
                "FailedMount",
                'MountVolume.SetUp failed for volume "tls" : secret "api-tls" not found',
                "kubelet",
                "pod",
            )
        ],
    )
    return only("volume.mount-failed")


@case("injection.volume-mount", "pass.csi-mount-recovered", fmt="json")
def _vol_pass_recovered(b: Bundle) -> Obj:
    nodes = [
        aks_node(
            "ciagents",
            0,
            ip="10.224.5.4",
            taints=(("workload", "ci", "NoSchedule"),),
            extra_labels=(("workload", "ci"),),
        )
    ]
    cluster(b, nodes, ("dynatrace",), [make_namespace("ci", labels=DT_NS)])
    c = container(
        "build-agent",
        "acrplatform.azurecr.io/build/azp-agent:3.242.1-ubuntu22.04",
        envs=[
            env("AZP_URL", "https://dev.azure.com/contoso"),
            env("AZP_POOL", "aks-ci"),
            env_secret("AZP_TOKEN", "azp-agent", "AZP_TOKEN"),
        ],
        resources=res("1", "2Gi", "4", "8Gi"),
    )
    tpl = template(
        {"app": "build-agent"},
        pod_spec(
            [c],
            node_selector={"workload": "ci"},
            tolerations=[{"effect": "NoSchedule", "key": "workload", "operator": "Equal", "value": "ci"}],
        ),
    )
    w = Workload("Deployment", "ci", "build-agent", tpl, age_min=60 * 24 * 2)
    pods = healthy_flow(
        b,
        w,
        nodes,
        inject=dt("current", "Deployment", w.name),
        ages=[210],
        logs={"build-agent": AZP_BANNER.format(m=0) + "2024-08-14 06:03:12Z: Listening for Jobs\n"},
    )
    msg = (
        'MountVolume.SetUp failed for volume "oneagent-bin" : kubernetes.io/csi: mounter.SetUpAt failed to get CSI '
        "client: driver name csi.oneagent.dynatrace.com not found in the list of registered CSI drivers"
    )
    event(
        b,
        pods[0],
        "FailedMount",
        msg,
        warn=True,
        count=3,
        first_min=209.9,
        last_min=209.2,
        host=nodes[0].name,
    )
    return only()


# ==========================================================================================================
# injection.webhook-unavailable

ISTIO_DOWN = (
    'Error creating: Internal error occurred: failed calling webhook "namespace.sidecar-injector.istio.io": '
    'failed to call webhook: Post "https://istiod.istio-system.svc:443/inject?timeout=10s": dial tcp '
    "10.0.182.41:443: connect: connection refused"
)


def checkout_tpl() -> Obj:
    c = container(
        "checkout",
        "registry.acme.io/shop/checkout:9.1.0",
        ports=[("http", 8080)],
        resources=res("1", "512Mi", "2", "1Gi"),
    )
    return template({"app": "checkout", "version": "9.1.0"}, pod_spec([c], sa="checkout"))


@case("injection.webhook-unavailable", "fail.istiod-down")
def _wh_istio(b: Bundle) -> Obj:
    nodes = AKS_POOL
    cluster(b, nodes, ("istio",), [make_namespace("shop", labels={"istio-injection": "enabled"})])
    w = Workload("Deployment", "shop", "checkout", checkout_tpl(), replicas=3, age_min=42)
    settle(b, w, [], failed_create=ISTIO_DOWN.removeprefix("Error creating: "))
    rs = w.objects[1]
    event(
        b,
        rs,
        "FailedCreate",
        ISTIO_DOWN,
        warn=True,
        count=19,
        first_min=41.9,
        last_min=0.7,
        component="replicaset-controller",
    )
    return expect("injection.webhook-unavailable", w, [], [], 0.7, rules=["injection.webhook-unavailable"])


ELASTIC_DOWN = (
    "Error creating: Internal error occurred: failed calling webhook "
    '"apm-attacher.elastic-apm.svc.cluster.local": failed to call webhook: Post '
    '"https://apm-attacher.elastic-apm.svc:443/?timeout=10s": no endpoints available for service "apm-attacher"'
)


@case("injection.webhook-unavailable", "fail.elastic-attacher-job", fmt="json")
def _wh_elastic(b: Bundle) -> Obj:
    cluster(b, AKS_POOL[:1], ("elastic",), [make_namespace("batch")])
    c = container(
        "reindex",
        "registry.acme.io/search/reindex-orders:2.0.4",
        args=["--since", "2024-08-01"],
        resources=res("500m", "1Gi", "1", "1Gi"),
    )
    tpl = template({"app": "reindex-orders"}, pod_spec([c], restart="Never"), {"co.elastic.apm/attach": "java"})
    w = Workload("Job", "batch", "reindex-orders", tpl, age_min=26, backoff_limit=4)
    settle(b, w, [])
    event(
        b,
        w.objects[-1],
        "FailedCreate",
        ELASTIC_DOWN,
        warn=True,
        count=11,
        first_min=25.9,
        last_min=1.1,
        component="job-controller",
    )
    return expect("injection.webhook-unavailable", w, [], [], 0.7, rules=["injection.webhook-unavailable"])


@case("injection.webhook-unavailable", "pass.webhook-recovered")
def _wh_pass_recovered(b: Bundle) -> Obj:
    nodes = AKS_POOL[:2]
    cluster(b, nodes, ("istio",), [make_namespace("shop", labels={"istio-injection": "enabled"})])
    w = Workload("Deployment", "shop", "checkout", checkout_tpl(), replicas=2, age_min=140)
    healthy_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_istio(p, owner=("Deployment", w.name, "apps/v1")),
        ages=[117, 117],
    )
    event(
        b,
        w.objects[1],
        "FailedCreate",
        ISTIO_DOWN,
        warn=True,
        count=6,
        first_min=139.9,
        last_min=118,
        component="replicaset-controller",
    )
    return only()


@case("injection.webhook-unavailable", "pass.quota-exceeded-istio-present")
def _wh_pass_quota(b: Bundle) -> Obj:
    """FailedCreate for a ResourceQuota, in a namespace whose pods the (working) Istio webhook mutates. The
    workload is failing (fewer pods than desired, FailedCreate) and no specific rule covers quotas."""
    nodes = AKS_POOL[:2]
    cluster(b, nodes, ("istio",), [make_namespace("shop", labels={"istio-injection": "enabled"})])
    b.add(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {
                "creationTimestamp": ts(60 * 24 * 90),
                "name": "compute-quota",
                "namespace": "shop",
                "uid": uid("quota", "shop"),
            },
            "spec": {"hard": {"requests.cpu": "4", "requests.memory": "8Gi"}},
            "status": {
                "hard": {"requests.cpu": "4", "requests.memory": "8Gi"},
                "used": {"requests.cpu": "3800m", "requests.memory": "5632Mi"},
            },
        }
    )
    w = Workload("Deployment", "shop", "checkout", checkout_tpl(), replicas=3, age_min=60 * 24)
    pods = healthy_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_istio(p, owner=("Deployment", w.name, "apps/v1")),
        ages=[300, 300],
    )
    rs = w.objects[1]
    d = w.objects[0]
    quota_msg = (
        f'pods "{rs["metadata"]["name"]}-x9k2m" is forbidden: exceeded quota: compute-quota, requested: '
        "requests.cpu=1100m, used: requests.cpu=3800m, limited: requests.cpu=4"
    )
    cond = {
        "lastTransitionTime": ts(55),
        "message": quota_msg,
        "reason": "FailedCreate",
        "status": "True",
        "type": "ReplicaFailure",
    }
    rs["status"]["conditions"] = [cond]
    d["status"]["conditions"].insert(1, dict(cond, lastUpdateTime=ts(55)))
    event(
        b,
        rs,
        "FailedCreate",
        "Error creating: " + quota_msg,
        warn=True,
        count=14,
        first_min=55,
        last_min=0.9,
        component="replicaset-controller",
    )
    del pods
    return only("unknown.crash-loop")


# ==========================================================================================================
# injection.correlated

GUNICORN_EXIT = """[2024-08-14 09:27:33 +0000] [1] [INFO] Starting gunicorn 22.0.0
[2024-08-14 09:27:33 +0000] [1] [INFO] Listening at: http://0.0.0.0:8000 (1)
[2024-08-14 09:27:33 +0000] [1] [INFO] Using worker: gthread
[2024-08-14 09:27:33 +0000] [7] [INFO] Booting worker with pid: 7
[2024-08-14 09:27:35 +0000] [1] [ERROR] Worker (pid:7) exited with code 3
[2024-08-14 09:27:35 +0000] [1] [ERROR] Shutting down: Master
[2024-08-14 09:27:35 +0000] [1] [ERROR] Reason: Worker failed to boot.
"""

GUNICORN_OK = """[2024-08-05 11:02:10 +0000] [1] [INFO] Starting gunicorn 22.0.0
[2024-08-05 11:02:10 +0000] [1] [INFO] Listening at: http://0.0.0.0:8000 (1)
[2024-08-05 11:02:10 +0000] [1] [INFO] Using worker: gthread
[2024-08-05 11:02:10 +0000] [7] [INFO] Booting worker with pid: 7
[2024-08-05 11:02:10 +0000] [8] [INFO] Booting worker with pid: 8
"""


def catalog_tpl() -> Obj:
    c = container(
        "catalog",
        "registry.acme.io/retail/catalog:5.6.2",
        command=["gunicorn", "catalog.wsgi", "--bind", "0.0.0.0:8000", "--threads", "4"],
        ports=[("http", 8000)],
        resources=res("250m", "512Mi", "1", "1Gi"),
    )
    return template({"app": "catalog"}, pod_spec([c]))


@case("injection.correlated", "fail.pods-created-after-instana-fail")
def _corr_instana(b: Bundle) -> Obj:
    """One pod created before Instana AutoTrace was installed still runs; every pod created since is injected
    and crash-loops without a recognisable error."""
    nodes = AKS_POOL
    cluster(b, nodes, (), [make_namespace("retail")])
    hook = webhooks_for("instana")[0]
    hook["metadata"]["creationTimestamp"] = ts(200)
    b.add(hook)
    w = Workload("Deployment", "retail", "catalog", catalog_tpl(), replicas=3, age_min=60 * 24 * 30)
    old = w.new_pod(0, nodes[0], age_min=60 * 24 * 9)
    set_status(old, age_min=old["_age"])
    new = []
    for i in (1, 2):
        p = w.new_pod(i, nodes[i], age_min=170 - 4 * i)
        inject_instana(p)
        set_status(
            p,
            age_min=p["_age"],
            cs={"catalog": crashloop(p, "catalog", code=3, restarts=restarts_for(p["_age"]), ran_s=2)},
        )
        new.append(p)
    settle(b, w, [old, *new])
    b.add(old, *new)
    start_events(b, old, old["_age"])
    b.log(old, "catalog", GUNICORN_OK)
    for p in new:
        r = restarts_for(p["_age"])
        start_events(b, p, p["_age"], restarts={"catalog": r})
        backoff_event(b, p, "catalog", count=r * 4 - 5, first_min=p["_age"] - 1.5)
        b.log(p, "catalog", GUNICORN_EXIT, previous=True)
        b.log(p, "catalog", GUNICORN_EXIT)
    return expect("injection.correlated", w, ["catalog"], ["instana"], 0.3, rules=["injection.correlated"])


INVOICE_WORKER = """> invoice-worker@3.4.0 start
> node dist/main.js

[2024-08-14T09:27:12.381Z] info: invoice-worker 3.4.0 starting (node v20.15.1, pid 18)
[2024-08-14T09:27:12.402Z] info: connecting to amqp://rabbitmq.{ns}.svc:5672
[2024-08-14T09:27:12.655Z] info: consumer ready on queue invoices.render
"""


def invoice_tpl(labels: dict[str, str] | None = None) -> Obj:
    c = container(
        "invoice-worker",
        "ghcr.io/acme-billing/invoice-worker:3.4.0",
        command=["npm", "start"],
        resources=res("200m", "256Mi", "1", "512Mi"),
    )
    return template({"app": "invoice-worker", **(labels or {})}, pod_spec([c]))


@case("injection.correlated", "fail.peer-without-datadog-healthy", fmt="json")
def _corr_dd_peer(b: Bundle) -> Obj:
    nodes = AKS_POOL[:2]
    cluster(b, nodes, ("datadog",), [make_namespace("billing"), make_namespace("billing-staging")])
    w = Workload("Deployment", "billing", "invoice-worker", invoice_tpl(), age_min=60 * 24 * 4)
    crash_flow(
        b,
        w,
        nodes[:1],
        inject=lambda p: inject_datadog_ssi(p, "js"),
        cname="invoice-worker",
        code=1,
        log=INVOICE_WORKER.replace("{ns}", "billing"),
        ran_s=2,
        ages=[300],
    )
    peer = Workload(
        "Deployment",
        "billing-staging",
        "invoice-worker",
        invoice_tpl({"admission.datadoghq.com/enabled": "false"}),
        age_min=60 * 24 * 4,
    )
    healthy_flow(
        b,
        peer,
        nodes[1:],
        inject=None,
        ages=[310],
        logs={"invoice-worker": INVOICE_WORKER.replace("{ns}", "billing-staging").replace("09:27", "04:20")},
    )
    return expect("injection.correlated", w, ["invoice-worker"], ["datadog"], 0.3, rules=["injection.correlated"])


@case("injection.correlated", "pass.peer-also-injected-healthy")
def _corr_pass_both(b: Bundle) -> Obj:
    nodes = AKS_POOL[:2]
    cluster(
        b,
        nodes,
        ("dynatrace",),
        [make_namespace("billing", labels=DT_NS), make_namespace("billing-staging", labels=DT_NS)],
    )
    w = Workload("Deployment", "billing", "invoice-worker", invoice_tpl(), age_min=60 * 24 * 4)
    crash_flow(
        b,
        w,
        nodes[:1],
        inject=dt("legacy", "Deployment", w.name),
        cname="invoice-worker",
        code=1,
        log=INVOICE_WORKER.replace("{ns}", "billing"),
        ran_s=2,
        ages=[300],
    )
    peer = Workload("Deployment", "billing-staging", "invoice-worker", invoice_tpl(), age_min=60 * 24 * 4)
    healthy_flow(
        b,
        peer,
        nodes[1:],
        inject=dt("legacy", "Deployment", peer.name),
        ages=[310],
        logs={"invoice-worker": INVOICE_WORKER.replace("{ns}", "billing-staging").replace("09:27", "04:20")},
    )
    return only("unknown.crash-loop")


@case("injection.correlated", "pass.failing-pod-not-injected")
def _corr_pass_reverse(b: Bundle) -> Obj:
    nodes = AKS_POOL[:2]
    cluster(b, nodes, ("dynatrace",), [make_namespace("billing"), make_namespace("billing-staging", labels=DT_NS)])
    w = Workload("Deployment", "billing", "invoice-worker", invoice_tpl(), age_min=60 * 24 * 4)
    crash_flow(
        b,
        w,
        nodes[:1],
        inject=None,
        cname="invoice-worker",
        code=1,
        log=INVOICE_WORKER.replace("{ns}", "billing"),
        ran_s=2,
        ages=[300],
    )
    peer = Workload("Deployment", "billing-staging", "invoice-worker", invoice_tpl(), age_min=60 * 24 * 4)
    healthy_flow(
        b,
        peer,
        nodes[1:],
        inject=dt("current", "Deployment", peer.name),
        ages=[310],
        logs={"invoice-worker": INVOICE_WORKER.replace("{ns}", "billing-staging").replace("09:27", "04:20")},
    )
    return only("unknown.crash-loop")


# ==========================================================================================================
# generic flows for the ordinary causes


def waiting_flow(
    b: Bundle,
    w: Workload,
    nodes: Sequence[NodeInfo],
    *,
    inject: Callable[[Obj], None] | None,
    cname: str,
    reason: str,
    message: str,
    events: Callable[[Bundle, Obj], None],
    ages: list[float] | None = None,
) -> list[Obj]:
    """Pods whose container `cname` never starts (image pull, config error); other containers run."""
    pods = []
    for i, node in enumerate(nodes):
        age = ages[i] if ages else 36 + 2 * i
        p = w.new_pod(i, node, age_min=age)
        if inject:
            inject(p)
        set_status(p, age_min=age, cs={cname: CS(state=waiting(reason, message), started=False)})
        pods.append(p)
    settle(b, w, pods)
    b.add(*pods)
    for p in pods:
        start_events(b, p, p["_age"], skip=(cname,))
        events(b, p)
    return pods


def pull_events(image: str, error: str) -> Callable[[Bundle, Obj], None]:
    def add(b: Bundle, p: Obj) -> None:
        age, host = p["_age"], p["_node"].name
        n = max(int(age / 5.3), 2)
        fp = f"spec.containers{{{cname_of(p, image)}}}"
        event(
            b,
            p,
            "Pulling",
            f'Pulling image "{image}"',
            count=n,
            first_min=age - 0.2,
            last_min=2.1,
            host=host,
            field_path=fp,
        )
        event(
            b,
            p,
            "Failed",
            f'Failed to pull image "{image}": {error}',
            warn=True,
            count=n,
            first_min=age - 0.21,
            last_min=2.1,
            host=host,
            field_path=fp,
        )
        event(
            b,
            p,
            "Failed",
            "Error: ErrImagePull",
            warn=True,
            count=n,
            first_min=age - 0.21,
            last_min=2.1,
            host=host,
            field_path=fp,
        )
        event(
            b,
            p,
            "BackOff",
            f'Back-off pulling image "{image}"',
            count=n * 6,
            first_min=age - 0.25,
            last_min=0.3,
            host=host,
            field_path=fp,
        )
        event(
            b,
            p,
            "Failed",
            "Error: ImagePullBackOff",
            warn=True,
            count=n * 6,
            first_min=age - 0.25,
            last_min=0.3,
            host=host,
            field_path=fp,
        )

    return add


def cname_of(p: Obj, image: str) -> str:
    return str(next(c["name"] for c in p["spec"]["containers"] if c["image"] == image))


def config_events(cname: str, error: str) -> Callable[[Bundle, Obj], None]:
    def add(b: Bundle, p: Obj) -> None:
        age, host = p["_age"], p["_node"].name
        n = max(int(age * 60 / 12), 3)
        c = next(c for c in p["spec"]["containers"] if c["name"] == cname)
        fp = f"spec.containers{{{cname}}}"
        event(
            b,
            p,
            "Pulled",
            f'Container image "{c["image"]}" already present on machine',
            count=n,
            first_min=age - 0.2,
            last_min=0.2,
            host=host,
            field_path=fp,
        )
        event(
            b,
            p,
            "Failed",
            f"Error: {error}",
            warn=True,
            count=n,
            first_min=age - 0.2,
            last_min=0.2,
            host=host,
            field_path=fp,
        )

    return add


# ==========================================================================================================
# oom.killed

PRICING_LOG = """Picked up JAVA_TOOL_OPTIONS:  -javaagent:/otel-auto-instrumentation-java/javaagent.jar
[otel.javaagent 2024-08-14 09:23:58:902 +0000] [main] INFO io.opentelemetry.javaagent.tooling.VersionLogger - opentelemetry-javaagent - version: 1.33.5
2024-08-14T09:24:12.118Z  INFO 1 --- [           main] c.acme.pricing.PricingEngineApplication  : Started PricingEngineApplication in 13.212 seconds (process running for 15.03)
2024-08-14T09:24:40.557Z  INFO 1 --- [pool-3-thread-1] c.acme.pricing.catalog.CatalogLoader     : Loading price catalog snapshot 2024-08-14 (4812337 rows)
2024-08-14T09:25:31.020Z  INFO 1 --- [pool-3-thread-1] c.acme.pricing.catalog.CatalogLoader     : 2500000 rows loaded
"""


@case("oom.killed", "fail.java-oom-otel-injected")
def _oom_java(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4"), aks_node("apps", 1, ip="10.224.2.5")]
    cluster(b, nodes, ("opentelemetry",), [make_namespace("pricing")])
    c = container(
        "pricing-engine",
        "registry.acme.io/pricing/pricing-engine:12.0.1",
        ports=[("http", 8080)],
        envs=[env("JAVA_OPTS", "-Xms768m -Xmx896m")],
        resources=res("500m", "1Gi", "2", "1Gi"),
    )
    tpl = template({"app": "pricing-engine"}, pod_spec([c]), {"instrumentation.opentelemetry.io/inject-java": "true"})
    w = Workload("Deployment", "pricing", "pricing-engine", tpl, replicas=2, age_min=60 * 24 * 6)
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_otel(p, "java", service=w.name, owner=("Deployment", w.name)),
        cname="pricing-engine",
        code=137,
        reason="OOMKilled",
        log=PRICING_LOG,
        ran_s=95,
        ages=[75, 73],
    )
    return expect("oom.killed", w, ["pricing-engine"], ["opentelemetry"], 0.8, rules=["oom.killed"])


@case("oom.killed", "fail.cronjob-oom-no-injector", fmt="json")
def _oom_cron(b: Bundle) -> Obj:
    nodes = [aks_node("batch", 0, ip="10.224.3.4")]
    cluster(b, nodes, (), [make_namespace("reports")])
    c = container(
        "nightly-export",
        "acrplatform.azurecr.io/reports/nightly-export:2.2.0",
        command=["python", "/app/export.py"],
        resources=res("250m", "512Mi", "1", "512Mi"),
    )
    tpl = template({"app": "nightly-export"}, pod_spec([c], restart="Never"))
    w = Workload(
        "CronJob",
        "reports",
        "nightly-export",
        tpl,
        age_min=60 * 24 * 90,
        job_name="nightly-export-28727790",
        backoff_limit=2,
    )
    log = (
        "2024-08-14 02:30:14 INFO export: querying orders for 2024-08-13\n"
        "2024-08-14 02:30:41 INFO export: 1204331 rows fetched, building workbook\n"
    )
    failed_job_flow(
        b,
        w,
        nodes[0],
        inject=None,
        cname="nightly-export",
        code=137,
        reason="OOMKilled",
        count=3,
        log=log,
        ran_s=50,
    )
    return expect("oom.killed", w, ["nightly-export"], [], 0.8, rules=["oom.killed"])


def quotes_tpl(*, liveness: Obj | None = None, readiness: Obj | None = None) -> Obj:
    c = container(
        "quotes-api",
        "registry.acme.io/api/quotes-api:3.9.4",
        ports=[("http", 8080)],
        resources=res("500m", "768Mi", "2", "1536Mi"),
        liveness=liveness,
        readiness=readiness,
    )
    return template({"app": "quotes-api"}, pod_spec([c]))


def liveness_flow(
    b: Bundle,
    w: Workload,
    nodes: Sequence[NodeInfo],
    *,
    inject: Callable[[Obj], None] | None,
    cname: str,
    code: int,
    probe_msg: str,
    kind: str = "liveness",
    restarts: int = 9,
    crashloop_now: bool = False,
    reason: str = "Error",
    killing: bool = True,
    ages: list[float] | None = None,
) -> list[Obj]:
    pods = []
    for i, node in enumerate(nodes):
        age = ages[i] if ages else 70
        p = w.new_pod(i, node, age_min=age)
        if inject:
            inject(p)
        cid = container_id(p["metadata"]["uid"], cname, restarts - 1)
        if crashloop_now:
            st = crashloop(p, cname, code=code, reason=reason, restarts=restarts, ran_s=95)
        else:
            st = CS(
                state=running(1.2),
                last=terminated(code, reason, 4.4, 1.25, cid=cid),
                restarts=restarts,
                ready=False,
                started=True,
            )
        set_status(p, age_min=age, cs={cname: st})
        pods.append(p)
    settle(b, w, pods)
    b.add(*pods)
    for p in pods:
        host = p["_node"].name
        fp = f"spec.containers{{{cname}}}"
        start_events(b, p, p["_age"], restarts={cname: restarts})
        event(
            b,
            p,
            "Unhealthy",
            f"{kind.capitalize()} probe failed: {probe_msg}",
            warn=True,
            count=restarts * 3 + 2,
            first_min=p["_age"] - 1.5,
            last_min=0.5,
            host=host,
            field_path=fp,
        )
        if killing:
            event(
                b,
                p,
                "Killing",
                f"Container {cname} failed {kind} probe, will be restarted",
                count=restarts,
                first_min=p["_age"] - 2,
                last_min=1.3,
                host=host,
                field_path=fp,
            )
    return pods


@case("oom.killed", "pass.liveness-kill-137-newrelic")
def _oom_pass_liveness(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4")]
    cluster(b, nodes, ("newrelic",), [make_namespace("api")])
    w = Workload(
        "Deployment",
        "api",
        "quotes-api",
        quotes_tpl(liveness=http_probe("/healthz", 8080, delay=30)),
        age_min=60 * 24,
    )
    pods = liveness_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_newrelic(p, "java", app_name="quotes-api"),
        cname="quotes-api",
        code=137,
        probe_msg="HTTP probe failed with statuscode: 500",
    )
    b.log(
        pods[0],
        "quotes-api",
        "Picked up JAVA_TOOL_OPTIONS:  -javaagent:/newrelic-instrumentation/newrelic-agent.jar\n"
        "2024-08-14T09:24:51.004Z  INFO 1 --- [main] c.a.quotes.QuotesApplication : Started QuotesApplication in 21.7 seconds\n"
        "2024-08-14T09:25:20.311Z ERROR 1 --- [nio-8080-exec-3] c.a.quotes.health.HealthController : rate provider unreachable: "
        "connect timed out (fx-rates.partner.example:443)\n",
        previous=True,
    )
    return only("probe.liveness")


@case("oom.killed", "pass.oomkilled-once-recovered", fmt="json")
def _oom_pass_recovered(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 1, ip="10.224.2.5")]
    cluster(b, nodes, ("opentelemetry",), [make_namespace("pricing")])
    c = container(
        "pricing-engine",
        "registry.acme.io/pricing/pricing-engine:12.0.2",
        ports=[("http", 8080)],
        resources=res("500m", "1536Mi", "2", "1536Mi"),
    )
    tpl = template({"app": "pricing-engine"}, pod_spec([c]), {"instrumentation.opentelemetry.io/inject-java": "true"})
    w = Workload("Deployment", "pricing", "pricing-engine", tpl, age_min=60 * 24 * 6)
    p = w.new_pod(0, nodes[0], age_min=600)
    inject_otel(p, "java", service=w.name, owner=("Deployment", w.name))
    cid = container_id(p["metadata"]["uid"], "pricing-engine", 0)
    set_status(
        p,
        age_min=600,
        cs={
            "pricing-engine": CS(
                state=running(410),
                last=terminated(137, "OOMKilled", 590, 410.2, cid=cid),
                restarts=1,
                ready=True,
                started=True,
            )
        },
    )
    settle(b, w, [p])
    b.add(p)
    start_events(b, p, 600, restarts={"pricing-engine": 1})
    return only()


# ==========================================================================================================
# image-pull.failed


def web_tpl(image: str) -> Obj:
    c = container("web", image, ports=[("http", 8080)], resources=res("100m", "128Mi", "500m", "256Mi"))
    return template({"app": "web", "version": image.rsplit(":", 1)[-1]}, pod_spec([c]))


@case("image-pull.failed", "fail.tag-not-found-istio")
def _pull_tag(b: Bundle) -> Obj:
    image = "ghcr.io/acme-retail/web:v2.3.9"
    nodes = AKS_POOL[:2]
    cluster(b, nodes, ("istio",), [make_namespace("shop", labels={"istio-injection": "enabled"})])
    w = Workload("Deployment", "shop", "web", web_tpl(image), replicas=2, age_min=40)
    err = (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": failed to resolve reference '
        f'"{image}": {image}: not found'
    )
    waiting_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_istio(p, owner=("Deployment", w.name, "apps/v1")),
        cname="web",
        reason="ImagePullBackOff",
        message=f'Back-off pulling image "{image}"',
        events=pull_events(image, err),
        ages=[39, 39],
    )
    return expect("image-pull.failed", w, ["web"], ["istio"], 0.8, rules=["image-pull.failed"])


@case("image-pull.failed", "fail.registry-unauthorized-daemonset", fmt="json")
def _pull_auth(b: Bundle) -> Obj:
    image = "acrplatform.azurecr.io/monitoring/node-inventory:1.4.0"
    nodes = AKS_POOL
    cluster(b, nodes, ("dynatrace",), [make_namespace("monitoring", labels=DT_NS)])
    c = container(
        "node-inventory",
        image,
        resources=res("20m", "32Mi", "100m", "64Mi"),
        mounts=[mount("host-os", "/host/etc/os-release", ro=True)],
    )
    tpl = template(
        {"app": "node-inventory"},
        pod_spec([c], volumes=[{"hostPath": {"path": "/etc/os-release", "type": "File"}, "name": "host-os"}]),
    )
    w = Workload("DaemonSet", "monitoring", "node-inventory", tpl, age_min=25)
    err = (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{image}": failed to resolve reference '
        f'"{image}": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to '
        "https://acrplatform.azurecr.io/oauth2/token?scope=repository%3Amonitoring%2Fnode-inventory%3Apull&service="
        "acrplatform.azurecr.io: 401 Unauthorized"
    )
    waiting_flow(
        b,
        w,
        nodes,
        inject=dt("current", "DaemonSet", w.name),
        cname="node-inventory",
        reason="ImagePullBackOff",
        message=f'Back-off pulling image "{image}"',
        events=pull_events(image, err),
        ages=[24, 24, 24],
    )
    return expect("image-pull.failed", w, ["node-inventory"], ["dynatrace"], 0.8, rules=["image-pull.failed"])


@case("image-pull.failed", "fail.invalid-image-name-bare-pod")
def _pull_invalid(b: Bundle) -> Obj:
    image = "registry.acme.io/tools/Debug-Shell:1.0"
    nodes = AKS_POOL[:1]
    cluster(b, nodes, (), [make_namespace("tools")])
    c = container("shell", image, command=["sleep", "infinity"])
    w = Workload("Pod", "tools", "debug-shell", template({"run": "debug-shell"}, pod_spec([c])), age_min=12)
    msg = (
        f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": invalid reference '
        "format: repository name (tools/Debug-Shell) must be lowercase"
    )

    def evs(b: Bundle, p: Obj) -> None:
        fp = "spec.containers{shell}"
        event(
            b,
            p,
            "InspectFailed",
            msg,
            warn=True,
            count=55,
            first_min=11.9,
            last_min=0.1,
            host=p["_node"].name,
            field_path=fp,
        )
        event(
            b,
            p,
            "Failed",
            "Error: InvalidImageName",
            warn=True,
            count=55,
            first_min=11.9,
            last_min=0.1,
            host=p["_node"].name,
            field_path=fp,
        )

    waiting_flow(b, w, nodes, inject=None, cname="shell", reason="InvalidImageName", message=msg, events=evs, ages=[12])
    return expect("image-pull.failed", w, ["shell"], [], 0.8, rules=["image-pull.failed"])


@case("image-pull.failed", "pass.pull-retried-then-running")
def _pull_pass_recovered(b: Bundle) -> Obj:
    image = "ghcr.io/acme-retail/web:v2.3.8"
    nodes = AKS_POOL[:1]
    cluster(b, nodes, ("istio",), [make_namespace("shop", labels={"istio-injection": "enabled"})])
    w = Workload("Deployment", "shop", "web", web_tpl(image), age_min=60 * 24)
    pods = healthy_flow(
        b, w, nodes, inject=lambda p: inject_istio(p, owner=("Deployment", w.name, "apps/v1")), ages=[180]
    )
    p = pods[0]
    err = (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{image}": failed to resolve reference '
        f'"{image}": failed to do request: Head "https://ghcr.io/v2/acme-retail/web/manifests/v2.3.8": dial tcp '
        "140.82.121.34:443: i/o timeout"
    )
    event(
        b,
        p,
        "Failed",
        f'Failed to pull image "{image}": {err}',
        warn=True,
        count=2,
        first_min=179.8,
        last_min=179.1,
        host=nodes[0].name,
        field_path="spec.containers{web}",
    )
    event(
        b,
        p,
        "Failed",
        "Error: ErrImagePull",
        warn=True,
        count=2,
        first_min=179.8,
        last_min=179.1,
        host=nodes[0].name,
        field_path="spec.containers{web}",
    )
    return only()


def orders_tpl(extra_env: list[Obj]) -> Obj:
    c = container(
        "orders",
        "registry.acme.io/orders/orders:14.2.0",
        ports=[("http", 8080)],
        envs=[env("LOG_FORMAT", "json"), *extra_env],
        resources=res("250m", "256Mi", "1", "512Mi"),
    )
    return template(
        {"app": "orders"},
        pod_spec([c], sa="orders"),
        {
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/role": "orders",
            "vault.hashicorp.com/agent-inject-secret-api": "secret/data/orders/api",
        },
    )


def _secret_missing_orders(b: Bundle) -> Workload:
    nodes = AKS_POOL[:2]
    cluster(b, nodes, ("vault",), [make_namespace("orders")])
    w = Workload(
        "Deployment",
        "orders",
        "orders",
        orders_tpl([env_secret("DB_PASSWORD", "orders-db", "password")]),
        replicas=2,
        age_min=60 * 24 * 2,
    )
    waiting_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_vault(p, role="orders", secrets={"api": "secret/data/orders/api"}),
        cname="orders",
        reason="CreateContainerConfigError",
        message='secret "orders-db" not found',
        events=config_events("orders", 'secret "orders-db" not found'),
        ages=[18, 17],
    )
    return w


@case("image-pull.failed", "pass.config-error-not-pull-vault", fmt="json")
def _pull_pass_config(b: Bundle) -> Obj:
    _secret_missing_orders(b)
    return only("config.missing-reference")


# ==========================================================================================================
# config.missing-reference


@case("config.missing-reference", "fail.secret-not-found-vault")
def _cfg_secret(b: Bundle) -> Obj:
    w = _secret_missing_orders(b)
    return expect("config.missing-reference", w, ["orders"], ["vault"], 0.8, rules=["config.missing-reference"])


def ledger_tpl(envs: list[Obj]) -> Obj:
    c = container(
        "ledger",
        "registry.acme.io/ledger/ledger:1.5.0",
        ports=[("grpc", 9090)],
        envs=envs,
        resources=res("250m", "256Mi", "1", "512Mi"),
    )
    return template({"app": "ledger"}, pod_spec([c], sa="ledger"))


@case("config.missing-reference", "fail.configmap-key-missing-linkerd-statefulset", fmt="json")
def _cfg_cm(b: Bundle) -> Obj:
    nodes = [aks_node("data", 0, ip="10.224.4.4"), aks_node("data", 1, ip="10.224.4.5")]
    cluster(b, nodes, ("linkerd",), [make_namespace("ledger", annotations={"linkerd.io/inject": "enabled"})])
    b.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "data": {
                "LEDGER_DB_DSN": "postgres://ledger@ledger-db.ledger.svc:5432/ledger?sslmode=require",
                "LEDGER_REGION": "westeurope",
            },
            "metadata": {
                "creationTimestamp": ts(60 * 24 * 20),
                "name": "ledger-config",
                "namespace": "ledger",
                "uid": uid("cm", "ledger-config"),
            },
        }
    )
    w = Workload(
        "StatefulSet",
        "ledger",
        "ledger",
        ledger_tpl(
            [
                env_cm("LEDGER_DB_DSN", "ledger-config", "LEDGER_DB_DSN"),
                env_cm("LOG_LEVEL", "ledger-config", "LOG_LEVEL"),
            ]
        ),
        replicas=2,
        age_min=60 * 24 * 20,
        service="ledger",
    )
    msg = "couldn't find key LOG_LEVEL in ConfigMap ledger/ledger-config"
    waiting_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_linkerd(p, owner_kind="statefulset", owner_name=w.name),
        cname="ledger",
        reason="CreateContainerConfigError",
        message=msg,
        events=config_events("ledger", msg),
        ages=[26, 24],
    )
    return expect("config.missing-reference", w, ["ledger"], ["linkerd"], 0.8, rules=["config.missing-reference"])


LEDGER_FATAL = (
    '{"level":"fatal","ts":1723627661.1204,"caller":"ledger/main.go:58","msg":"invalid configuration",'
    '"error":"required key LEDGER_DB_DSN missing value"}\n'
)


def _ledger_app_reported(b: Bundle) -> Workload:
    nodes = [aks_node("data", 0, ip="10.224.4.4")]
    cluster(b, nodes, ("linkerd",), [make_namespace("ledger", annotations={"linkerd.io/inject": "enabled"})])
    w = Workload(
        "StatefulSet",
        "ledger",
        "ledger",
        ledger_tpl([env("LEDGER_REGION", "westeurope")]),
        replicas=1,
        age_min=60 * 24 * 20,
        service="ledger",
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_linkerd(p, owner_kind="statefulset", owner_name=w.name),
        cname="ledger",
        code=1,
        log=LEDGER_FATAL,
        ran_s=0.2,
        ages=[50],
    )
    return w


@case("config.missing-reference", "pass.app-reports-config-linkerd")
def _cfg_pass_app(b: Bundle) -> Obj:
    _ledger_app_reported(b)
    return only("config.app-reported")


# ==========================================================================================================
# config.app-reported


@case("config.app-reported", "fail.azp-missing-url-dynatrace")
def _app_cfg_azp(b: Bundle) -> Obj:
    azp_cluster(b, DT_NS, ("dynatrace",))
    w = Workload(
        "Deployment",
        "build-agents",
        "azure-devops-agent",
        tpl_azp(url=False, env_from=[{"configMapRef": {"name": "azp-agent-config"}}]),
        replicas=2,
        age_min=60 * 2,
    )
    b.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "data": {"AZURE_DEVOPS_URL": "https://dev.azure.com/contoso"},
            "metadata": {
                "creationTimestamp": ts(121),
                "name": "azp-agent-config",
                "namespace": "build-agents",
                "uid": uid("cm", "azp-agent-config"),
            },
        }
    )
    crash_flow(
        b,
        w,
        AKS_POOL[:2],
        inject=dt("current", "Deployment", w.name),
        cname="azp-agent",
        code=1,
        log="error: missing AZP_URL environment variable\n",
        ran_s=0.1,
        ages=[118, 118],
    )
    return expect("config.app-reported", w, ["azp-agent"], ["dynatrace"], 0.6, rules=["config.app-reported"])


@case("config.app-reported", "fail.required-key-missing-linkerd-statefulset", fmt="json")
def _app_cfg_ledger(b: Bundle) -> Obj:
    w = _ledger_app_reported(b)
    return expect("config.app-reported", w, ["ledger"], ["linkerd"], 0.6, rules=["config.app-reported"])


@case("config.app-reported", "pass.clr-crash-dynatrace")
def _app_cfg_pass_clr(b: Bundle) -> Obj:
    _clr_seed(b)
    return only("injection.clr-profiler")


@case("config.app-reported", "pass.missing-secret-reference", fmt="json")
def _app_cfg_pass_ref(b: Bundle) -> Obj:
    _secret_missing_orders(b)
    return only("config.missing-reference")


# ==========================================================================================================
# application.exception

ORDER_EVENTS_TB = """2024-08-14 09:27:20,114 INFO order_events.consumer: subscribed to topic orders.v2 (group order-events)
2024-08-14 09:27:20,889 INFO order_events.consumer: processing offset 88231944
Traceback (most recent call last):
  File "/app/order_events/__main__.py", line 4, in <module>
    main()
  File "/app/order_events/consumer.py", line 61, in main
    handle(message)
  File "/app/order_events/handlers.py", line 27, in handle
    sku, _, region = event["line_items"][0]["sku"].partition(":")
                     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
AttributeError: 'NoneType' object has no attribute 'partition'
"""


@case("application.exception", "fail.python-traceback-istio")
def _app_py(b: Bundle) -> Obj:
    nodes = AKS_POOL[:1]
    cluster(b, nodes, ("istio",), [make_namespace("orders", labels={"istio-injection": "enabled"})])
    c = container(
        "order-events",
        "registry.acme.io/orders/order-events:2.0.7",
        command=["python", "-m", "order_events"],
        envs=[env("KAFKA_BOOTSTRAP", "kafka.data.svc:9092")],
        resources=res("100m", "128Mi", "500m", "256Mi"),
    )
    w = Workload(
        "Deployment",
        "orders",
        "order-events",
        template({"app": "order-events"}, pod_spec([c])),
        age_min=60 * 24 * 3,
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_istio(p, owner=("Deployment", w.name, "apps/v1")),
        cname="order-events",
        code=1,
        log=ORDER_EVENTS_TB,
        ran_s=2,
    )
    return expect("application.exception", w, ["order-events"], ["istio"], 0.4, rules=["application.exception"])


GO_PANIC = """{"level":"info","ts":"2024-08-14T09:27:44.102Z","msg":"starting shard rebalancer","shards":64}
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x28 pc=0x9a3f12]

goroutine 1 [running]:
github.com/acme/geo-index/internal/shard.(*Rebalancer).assign(0xc0001a2000, {0x0, 0x0, 0x0})
	/src/internal/shard/rebalancer.go:118 +0x52
github.com/acme/geo-index/internal/shard.(*Rebalancer).Run(0xc0001a2000, {0xc16f40, 0xc00012e0a0})
	/src/internal/shard/rebalancer.go:74 +0x1a5
main.main()
	/src/cmd/geo-index/main.go:63 +0x6d8
"""


@case("application.exception", "fail.go-panic-datadog-ssi-statefulset", fmt="json")
def _app_go(b: Bundle) -> Obj:
    nodes = [
        NodeInfo(
            "ip-10-40-12-87.eu-west-1.compute.internal",
            "general",
            cloud="eks",
            ip="10.40.12.87",
            instance="m6i.xlarge",
            zone="eu-west-1a",
        )
    ]
    cluster(b, nodes, ("datadog",), [make_namespace("geo")])
    c = container(
        "geo-index",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/geo/geo-index:0.31.0",
        ports=[("grpc", 7000)],
        resources=res("250m", "512Mi", "1", "1Gi"),
    )
    w = Workload(
        "StatefulSet",
        "geo",
        "geo-index",
        template({"app": "geo-index"}, pod_spec([c])),
        age_min=60 * 24 * 8,
        service="geo-index",
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_datadog_ssi(p, "java"),
        cname="geo-index",
        code=2,
        log=GO_PANIC,
        ran_s=1,
    )
    return expect("application.exception", w, ["geo-index"], ["datadog"], 0.4, rules=["application.exception"])


@case("application.exception", "pass.clr-crash-dynatrace-legacy")
def _app_pass_clr(b: Bundle) -> Obj:
    _clr_legacy(b)
    return only("injection.clr-profiler")


@case("application.exception", "pass.injected-java-agent-fails", fmt="json")
def _app_pass_java(b: Bundle) -> Obj:
    _java_otel(b)
    return only("injection.java-agent")


# ==========================================================================================================
# application.start-error


@case("application.start-error", "fail.exec-not-found-dynatrace")
def _start_exec(b: Bundle) -> Obj:
    nodes = AKS_POOL[:1]
    cluster(b, nodes, ("dynatrace",), [make_namespace("search", labels=DT_NS)])
    c = container(
        "query-api",
        "acrplatform.azurecr.io/search/query-api:6.0.0",
        command=["/app/entrypoint.sh"],
        ports=[("http", 8080)],
        resources=res("250m", "256Mi", "1", "512Mi"),
    )
    w = Workload("Deployment", "search", "query-api", template({"app": "query-api"}, pod_spec([c])), age_min=60)
    msg = (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: "
        'unable to start container process: exec: "/app/entrypoint.sh": stat /app/entrypoint.sh: no such file or '
        "directory: unknown"
    )
    pods = []
    p = w.new_pod(0, nodes[0], age_min=58)
    inject_dynatrace(p, era="current", workload_kind="Deployment", workload_name=w.name)
    r = restarts_for(58)
    cid = container_id(p["metadata"]["uid"], "query-api", r)
    st = CS(
        state=crashloop(p, "query-api", code=128, restarts=r).state,
        last={
            "terminated": {
                "containerID": cid,
                "exitCode": 128,
                "finishedAt": ts(2.5),
                "message": msg,
                "reason": "StartError",
                "startedAt": "1970-01-01T00:00:00Z",
            }
        },
        restarts=r,
        started=False,
    )
    set_status(p, age_min=58, cs={"query-api": st})
    pods.append(p)
    settle(b, w, pods)
    b.add(p)
    start_events(b, p, 58, restarts={"query-api": r})
    event(
        b,
        p,
        "Failed",
        f"Error: {msg}",
        warn=True,
        count=r + 1,
        first_min=57.8,
        last_min=2.5,
        host=nodes[0].name,
        field_path="spec.containers{query-api}",
    )
    backoff_event(b, p, "query-api", count=r * 4, first_min=57.5)
    return expect("application.start-error", w, ["query-api"], ["dynatrace"], 0.7, rules=["application.start-error"])


@case("application.start-error", "fail.command-not-found-cronjob-vault", fmt="json")
def _start_127(b: Bundle) -> Obj:
    nodes = [aks_node("batch", 0, ip="10.224.3.4")]
    cluster(b, nodes, ("vault",), [make_namespace("db")])
    c = container(
        "pg-backup",
        "registry.acme.io/platform/backup-runner:1.3.0",
        command=["/bin/sh", "-c"],
        args=['. /vault/secrets/pg && pg_dump --format=custom "$PG_URL" | gzip > /backup/orders-$(date +%F).dump.gz'],
        resources=res("100m", "128Mi", "500m", "512Mi"),
        mounts=[mount("backup", "/backup")],
    )
    tpl = template(
        {"app": "pg-backup"},
        pod_spec(
            [c],
            restart="Never",
            sa="pg-backup",
            volumes=[{"name": "backup", "persistentVolumeClaim": {"claimName": "pg-backup"}}],
        ),
        {
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/agent-pre-populate-only": "true",
            "vault.hashicorp.com/role": "pg-backup",
            "vault.hashicorp.com/agent-inject-secret-pg": "database/creds/orders-ro",
        },
    )
    w = Workload(
        "CronJob",
        "db",
        "pg-backup",
        tpl,
        age_min=60 * 24 * 40,
        job_name="pg-backup-28727790",
        backoff_limit=2,
    )
    failed_job_flow(
        b,
        w,
        nodes[0],
        inject=lambda p: inject_vault(
            p, role="pg-backup", secrets={"pg": "database/creds/orders-ro"}, pre_populate_only=True
        ),
        cname="pg-backup",
        code=127,
        reason="Error",
        count=3,
        log="/bin/sh: 1: pg_dump: not found\n",
        ran_s=0.1,
    )
    return expect("application.start-error", w, ["pg-backup"], ["vault"], 0.6, rules=["application.start-error"])


@case("application.start-error", "pass.musl-loader-127-instana")
def _start_pass_musl(b: Bundle) -> Obj:
    _preload_musl(b)
    return only("injection.native-preload")


@case("application.start-error", "pass.istio-validation-126", fmt="json")
def _start_pass_126(b: Bundle) -> Obj:
    _init_istio(b)
    return only("injection.init-container")


# ==========================================================================================================
# probe.liveness


@case("probe.liveness", "fail.liveness-http-500-newrelic")
def _probe_live(b: Bundle) -> Obj:
    _oom_pass_liveness(b)
    w = Workload(
        "Deployment",
        "api",
        "quotes-api",
        quotes_tpl(liveness=http_probe("/healthz", 8080, delay=30)),
        age_min=60 * 24,
    )
    return expect("probe.liveness", w, ["quotes-api"], ["newrelic"], 0.7, rules=["probe.liveness"])


@case("probe.liveness", "fail.startup-probe-dynatrace-statefulset", fmt="json")
def _probe_startup(b: Bundle) -> Obj:
    nodes = [aks_node("data", 2, ip="10.224.4.6")]
    cluster(b, nodes, ("dynatrace",), [make_namespace("search", labels=DT_NS)])
    c = container(
        "solr",
        "solr:9.6.1",
        ports=[("http", 8983)],
        envs=[env("SOLR_HEAP", "2g")],
        resources=res("1", "3Gi", "2", "3Gi"),
        startup=http_probe("/solr/admin/info/system", 8983, period=5, failures=12),
        liveness=http_probe("/solr/admin/info/system", 8983, period=10),
    )
    w = Workload(
        "StatefulSet",
        "search",
        "solr",
        template({"app": "solr"}, pod_spec([c])),
        age_min=60 * 24 * 3,
        service="solr-headless",
    )
    pods = liveness_flow(
        b,
        w,
        nodes,
        inject=dt("legacy", "StatefulSet", w.name),
        cname="solr",
        code=143,
        kind="startup",
        probe_msg='Get "http://10.244.17.31:8983/solr/admin/info/system": dial tcp 10.244.17.31:8983: '
        "connect: connection refused",
        restarts=12,
        crashloop_now=True,
        ages=[84],
    )
    b.log(
        pods[0],
        "solr",
        "Starting Solr on port 8983 from /opt/solr/server\n"
        "2024-08-14 09:24:31.802 INFO  (main) [] o.e.j.s.Server jetty-10.0.20; built: 2024-01-29T20:46:45.278Z; jvm 17.0.11+9\n"
        "2024-08-14 09:25:18.116 INFO  (main) [] o.a.s.c.CoreContainer Loading cores into CoreContainer [instanceDir=/var/solr/data]\n",
        previous=True,
    )
    return expect("probe.liveness", w, ["solr"], ["dynatrace"], 0.7, rules=["probe.liveness"])


@case("probe.liveness", "pass.readiness-failing-no-restarts")
def _probe_pass_ready(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4")]
    cluster(b, nodes, ("newrelic",), [make_namespace("api")])
    w = Workload(
        "Deployment",
        "api",
        "quotes-api",
        quotes_tpl(readiness=http_probe("/ready", 8080, delay=10)),
        age_min=60 * 24,
    )
    p = w.new_pod(0, nodes[0], age_min=90)
    inject_newrelic(p, "java", app_name="quotes-api")
    set_status(p, age_min=90, cs={"quotes-api": CS(state=running(89.8), ready=False, started=True)})
    settle(b, w, [p])
    b.add(p)
    start_events(b, p, 90)
    event(
        b,
        p,
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
        warn=True,
        count=412,
        first_min=89.5,
        last_min=0.2,
        host=nodes[0].name,
        field_path="spec.containers{quotes-api}",
    )
    return only()


@case("probe.liveness", "pass.oomkilled-with-unhealthy-events", fmt="json")
def _probe_pass_oom(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 1, ip="10.224.2.5")]
    cluster(b, nodes, ("newrelic",), [make_namespace("api")])
    w = Workload(
        "Deployment",
        "api",
        "quotes-api",
        quotes_tpl(liveness=http_probe("/healthz", 8080, delay=30, timeout=2)),
        age_min=60 * 24,
    )
    liveness_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_newrelic(p, "java", app_name="quotes-api"),
        cname="quotes-api",
        code=137,
        reason="OOMKilled",
        killing=False,
        restarts=6,
        probe_msg='Get "http://10.244.9.12:8080/healthz": context deadline exceeded (Client.Timeout exceeded '
        "while awaiting headers)",
        crashloop_now=True,
        ages=[66],
    )
    return only("oom.killed")


# ==========================================================================================================
# scheduling.unschedulable


@case("scheduling.unschedulable", "fail.insufficient-memory-dynatrace")
def _sched_mem(b: Bundle) -> Obj:
    system = [
        aks_node("system", i, ip=f"10.224.0.{10 + i}", taints=(("CriticalAddonsOnly", "true", "NoSchedule"),))
        for i in range(3)
    ]
    apps = [aks_node("apps", i, ip=f"10.224.2.{4 + i}") for i in range(3)]
    cluster(b, system + apps, ("dynatrace",), [make_namespace("analytics", labels=DT_NS)])
    c = container(
        "query-engine",
        "acrplatform.azurecr.io/analytics/query-engine:8.1.0",
        ports=[("http", 8080)],
        resources=res("1", "6Gi", "2", "6Gi"),
    )
    w = Workload(
        "Deployment",
        "analytics",
        "query-engine",
        template({"app": "query-engine"}, pod_spec([c])),
        replicas=3,
        age_min=60 * 24 * 10,
    )
    pods = []
    for i in range(2):
        p = w.new_pod(i, apps[i], age_min=60 * 24 * 2)
        inject_dynatrace(p, era="current", workload_kind="Deployment", workload_name=w.name)
        set_status(p, age_min=p["_age"])
        pods.append(p)
    pend = w.new_pod(2, None, age_min=47)
    inject_dynatrace(pend, era="current", workload_kind="Deployment", workload_name=w.name)
    msg = (
        "0/6 nodes are available: 3 Insufficient memory, 3 node(s) had untolerated taint {CriticalAddonsOnly: true}. "
        "preemption: 0/6 nodes are available: 3 No preemption victims found for incoming pod, 3 Preemption is not "
        "helpful for scheduling."
    )
    set_status(pend, age_min=47, scheduled=False, unschedulable_msg=msg)
    settle(b, w, [*pods, pend])
    b.add(*pods, pend)
    for p in pods:
        start_events(b, p, p["_age"])
    sched_event(b, pend, "FailedScheduling", msg, at_min=46.9, warn=True, series=(11, 1.6))
    event(
        b,
        pend,
        "NotTriggerScaleUp",
        "pod didn't trigger scale-up: 1 max node group size reached, 1 node(s) had "
        "untolerated taint {CriticalAddonsOnly: true}",
        count=281,
        first_min=46.8,
        last_min=0.3,
        component="cluster-autoscaler",
    )
    return expect("scheduling.unschedulable", w, [], ["dynatrace"], 0.8, rules=["scheduling.unschedulable"])


@case("scheduling.unschedulable", "fail.node-selector-no-match-statefulset", fmt="json")
def _sched_selector(b: Bundle) -> Obj:
    nodes = [
        aks_node("system", 0, ip="10.224.0.10", taints=(("CriticalAddonsOnly", "true", "NoSchedule"),)),
        *[aks_node("apps", i, ip=f"10.224.2.{4 + i}") for i in range(3)],
    ]
    cluster(b, nodes, (), [make_namespace("training")])
    c = container("trainer", "acrplatform.azurecr.io/ml/trainer:2.4.0", resources=res("4", "16Gi", "8", "16Gi"))
    w = Workload(
        "StatefulSet",
        "training",
        "trainer",
        template({"app": "trainer"}, pod_spec([c], node_selector={"agentpool": "gpupool"})),
        age_min=60 * 5,
        service="trainer",
    )
    p = w.new_pod(0, None, age_min=300)
    msg = (
        "0/4 nodes are available: 1 node(s) had untolerated taint {CriticalAddonsOnly: true}, 3 node(s) didn't match "
        "Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
    )
    set_status(p, age_min=300, scheduled=False, unschedulable_msg=msg)
    settle(b, w, [p])
    b.add(p)
    sched_event(b, p, "FailedScheduling", msg, at_min=299.9, warn=True, series=(64, 3.2))
    return expect("scheduling.unschedulable", w, [], [], 0.8, rules=["scheduling.unschedulable"])


@case("scheduling.unschedulable", "pass.scheduled-after-scale-up")
def _sched_pass(b: Bundle) -> Obj:
    apps = [aks_node("apps", i, ip=f"10.224.2.{4 + i}") for i in range(4)]
    cluster(b, apps, ("dynatrace",), [make_namespace("analytics", labels=DT_NS)])
    c = container(
        "query-engine",
        "acrplatform.azurecr.io/analytics/query-engine:8.1.0",
        ports=[("http", 8080)],
        resources=res("1", "6Gi", "2", "6Gi"),
    )
    w = Workload(
        "Deployment",
        "analytics",
        "query-engine",
        template({"app": "query-engine"}, pod_spec([c])),
        replicas=1,
        age_min=60 * 24 * 10,
    )
    p = w.new_pod(0, apps[3], age_min=48)
    inject_dynatrace(p, era="current", workload_kind="Deployment", workload_name=w.name)
    set_status(p, age_min=40)
    p["status"]["conditions"][-1]["lastTransitionTime"] = ts(40)
    settle(b, w, [p])
    b.add(p)
    msg = (
        "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption "
        "victims found for incoming pod."
    )
    sched_event(b, p, "FailedScheduling", msg, at_min=47.9, warn=True, series=(4, 41))
    event(
        b,
        p,
        "TriggeredScaleUp",
        "pod triggered scale-up: [{aks-apps-vmss 3->4 (max: 6)}]",
        first_min=47.8,
        component="cluster-autoscaler",
    )
    start_events(b, p, 40)
    return only()


# ==========================================================================================================
# volume.mount-failed


@case("volume.mount-failed", "fail.configmap-volume-missing-datadog")
def _vol_cm(b: Bundle) -> Obj:
    nodes = [
        NodeInfo(
            "ip-10-40-22-19.eu-west-1.compute.internal",
            "general",
            cloud="eks",
            ip="10.40.22.19",
            instance="m6i.xlarge",
            zone="eu-west-1b",
        )
    ]
    cluster(b, nodes, ("datadog",), [make_namespace("portal")])
    c = container(
        "portal",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/portal/portal:5.0.0",
        ports=[("http", 8080)],
        resources=res("250m", "512Mi", "1", "1Gi"),
        mounts=[mount("config", "/etc/portal", ro=True)],
    )
    tpl = template(
        {"app": "portal"},
        pod_spec([c], volumes=[{"configMap": {"defaultMode": 420, "name": "portal-config"}, "name": "config"}]),
    )
    w = Workload("Deployment", "portal", "portal", tpl, age_min=60 * 24)
    stuck_mount_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_datadog_ssi(p, "java"),
        ages=[16],
        failures=[
            (
                "FailedMount",
                'MountVolume.SetUp failed for volume "config" : configmap "portal-config" not found',
                "kubelet",
                "pod",
            )
        ],
    )
    return expect("volume.mount-failed", w, [], ["datadog"], 0.7, rules=["volume.mount-failed"])


@case("volume.mount-failed", "fail.multi-attach-istio-statefulset", fmt="json")
def _vol_multiattach(b: Bundle) -> Obj:
    nodes = [aks_node("data", 0, ip="10.224.4.4"), aks_node("data", 1, ip="10.224.4.5")]
    cluster(b, nodes, ("istio",), [make_namespace("ledger", labels={"istio-injection": "enabled"})])
    c = container(
        "postgres",
        "postgres:16.3",
        ports=[("postgres", 5432)],
        envs=[
            env("PGDATA", "/var/lib/postgresql/data/pgdata"),
            env_secret("POSTGRES_PASSWORD", "ledger-db", "password"),
        ],
        resources=res("500m", "1Gi", "2", "2Gi"),
        mounts=[mount("data", "/var/lib/postgresql/data")],
    )
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"creationTimestamp": None, "name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "64Gi"}},
            "storageClassName": "managed-csi-premium",
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Pending"},
    }
    w = Workload(
        "StatefulSet",
        "ledger",
        "ledger-db",
        template({"app": "ledger-db"}, pod_spec([c])),
        age_min=60 * 24 * 60,
        service="ledger-db",
        claim_templates=[claim],
    )
    pv = "pvc-5b0c4d1e-7a2f-4e4b-9b51-0f3c2d8e6a71"
    b.add(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {
                "annotations": {
                    "pv.kubernetes.io/bind-completed": "yes",
                    "volume.kubernetes.io/storage-provisioner": "disk.csi.azure.com",
                    "volume.kubernetes.io/selected-node": nodes[0].name,
                },
                "creationTimestamp": ts(60 * 24 * 60),
                "finalizers": ["kubernetes.io/pvc-protection"],
                "labels": {"app": "ledger-db"},
                "name": "data-ledger-db-0",
                "namespace": "ledger",
                "uid": pv.removeprefix("pvc-"),
            },
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "64Gi"}},
                "storageClassName": "managed-csi-premium",
                "volumeMode": "Filesystem",
                "volumeName": pv,
            },
            "status": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "64Gi"}, "phase": "Bound"},
        }
    )
    stuck_mount_flow(
        b,
        w,
        nodes[1:],
        inject=lambda p: inject_istio(p, owner=("StatefulSet", w.name, "apps/v1")),
        ages=[21],
        failures=[
            (
                "FailedAttachVolume",
                f'Multi-Attach error for volume "{pv}" Volume is already exclusively '
                "attached to one node and can't be attached to another",
                "attachdetach-controller",
                "attach",
            ),
            (
                "FailedMount",
                "Unable to attach or mount volumes: unmounted volumes=[data], unattached "
                "volumes=[data], failed to process volumes=[]: timed out waiting for the condition",
                "kubelet",
                "pod",
            ),
        ],
    )
    return expect("volume.mount-failed", w, [], ["istio"], 0.7, rules=["volume.mount-failed"])


@case("volume.mount-failed", "pass.injected-csi-volume-dynatrace")
def _vol_pass_csi(b: Bundle) -> Obj:
    _vol_dt_csi(b)
    return only("injection.volume-mount")


@case("volume.mount-failed", "pass.secret-created-pod-running", fmt="json")
def _vol_pass_recovered2(b: Bundle) -> Obj:
    nodes = [aks_node("apps", 0, ip="10.224.2.4")]
    cluster(b, nodes, ("dynatrace",), [make_namespace("api", labels=DT_NS)])
    w = Workload("Deployment", "api", "gateway", gateway_tpl(), age_min=60 * 24)
    pods = healthy_flow(b, w, nodes, inject=dt("current", "Deployment", w.name), ages=[95])
    p = pods[0]
    p["status"]["startTime"] = ts(95)
    event(
        b,
        p,
        "FailedMount",
        'MountVolume.SetUp failed for volume "tls" : secret "api-tls" not found',
        warn=True,
        count=4,
        first_min=94.9,
        last_min=91.1,
        host=nodes[0].name,
    )
    return only()


# ==========================================================================================================
# unknown.crash-loop

SYNC_LOG = """time="2024-08-14T09:27:51Z" level=info msg="sync-daemon 1.9.2 starting"
time="2024-08-14T09:27:51Z" level=info msg="watching bucket s3://acme-artifacts/releases"
"""


@case("unknown.crash-loop", "fail.silent-exit-no-injector")
def _unk_silent(b: Bundle) -> Obj:
    nodes = AKS_POOL[:1]
    cluster(b, nodes, (), [make_namespace("tools")])
    c = container(
        "sync-daemon",
        "registry.acme.io/tools/sync-daemon:1.9.2",
        resources=res("50m", "64Mi", "200m", "128Mi"),
    )
    w = Workload("Deployment", "tools", "sync-daemon", template({"app": "sync-daemon"}, pod_spec([c])), age_min=60 * 24)
    crash_flow(b, w, nodes, inject=None, cname="sync-daemon", code=1, log=SYNC_LOG, ran_s=1)
    return expect("unknown.crash-loop", w, ["sync-daemon"], [], 0.1, rules=["unknown.crash-loop"])


@case("unknown.crash-loop", "fail.exit-3-vault-sidecar-statefulset", fmt="json")
def _unk_vault(b: Bundle) -> Obj:
    nodes = [aks_node("data", 1, ip="10.224.4.5")]
    cluster(b, nodes, ("vault",), [make_namespace("events")])
    c = container(
        "event-router",
        "registry.acme.io/events/event-router:0.9.4",
        ports=[("http", 8080)],
        resources=res("100m", "128Mi", "500m", "256Mi"),
    )
    tpl = template(
        {"app": "event-router"},
        pod_spec([c], sa="event-router"),
        {
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/role": "event-router",
            "vault.hashicorp.com/agent-inject-secret-nats": "secret/data/events/nats",
        },
    )
    w = Workload("StatefulSet", "events", "event-router", tpl, age_min=60 * 24 * 5, service="event-router")
    log = (
        "2024/08/14 09:27:40 event-router 0.9.4 starting, partition 0 of 1\n"
        "2024/08/14 09:27:40 loaded routes from /etc/event-router/routes.yaml (42 routes)\n"
    )
    crash_flow(
        b,
        w,
        nodes,
        inject=lambda p: inject_vault(p, role="event-router", secrets={"nats": "secret/data/events/nats"}),
        cname="event-router",
        code=3,
        log=log,
        ran_s=1,
        ages=[130],
    )
    return expect("unknown.crash-loop", w, ["event-router"], ["vault"], 0.1, rules=["unknown.crash-loop"])


@case("unknown.crash-loop", "pass.correlated-with-uninjected-peer")
def _unk_pass_corr(b: Bundle) -> Obj:
    _corr_dd_peer(b)
    return only("injection.correlated")


@case("unknown.crash-loop", "pass.two-restarts-now-running", fmt="json")
def _unk_pass_restarts(b: Bundle) -> Obj:
    nodes = AKS_POOL[:1]
    cluster(b, nodes, (), [make_namespace("tools")])
    c = container(
        "sync-daemon",
        "registry.acme.io/tools/sync-daemon:1.9.2",
        resources=res("50m", "64Mi", "200m", "128Mi"),
    )
    w = Workload("Deployment", "tools", "sync-daemon", template({"app": "sync-daemon"}, pod_spec([c])), age_min=60 * 24)
    p = w.new_pod(0, nodes[0], age_min=240)
    cid = container_id(p["metadata"]["uid"], "sync-daemon", 1)
    set_status(
        p,
        age_min=240,
        cs={
            "sync-daemon": CS(
                state=running(238.9),
                last=terminated(1, "Error", 239.2, 239.0, cid=cid),
                restarts=2,
                ready=True,
                started=True,
            )
        },
    )
    settle(b, w, [p])
    b.add(p)
    start_events(b, p, 240, restarts={"sync-daemon": 2})
    b.log(
        p,
        "sync-daemon",
        SYNC_LOG.replace("09:27:51", "05:30:58")
        + 'time="2024-08-14T05:31:02Z" level=info msg="initial sync done" objects=1841\n',
    )
    return only()


# ==========================================================================================================
# main


def main(argv: list[str]) -> int:
    only_rule = argv[1] if len(argv) > 1 else None
    seen: set[Path] = set()
    for rule, name, fmt, fn in CASES:
        if only_rule and rule != only_rule:
            continue
        folder = HERE / rule / name
        assert folder not in seen, folder
        seen.add(folder)
        b = Bundle(f"{rule}/{name}")
        expected = fn(b)
        write(folder, b, expected, fmt)
    if not only_rule:  # drop folders of cases that no longer exist
        for d in sorted(HERE.glob("*/*")):
            if d.is_dir() and d.name.split(".", 1)[0] in ("fail", "pass") and d not in seen:
                shutil.rmtree(d)
    print(f"wrote {len(seen)} fixture folders")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
