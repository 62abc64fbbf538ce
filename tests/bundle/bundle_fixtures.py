"""Kubernetes objects shaped like ``kubectl get -o json`` output, and small snapshot helpers, for bundle tests."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import tarfile
import uuid
from pathlib import Path
from typing import Any

from podmortem.model.snapshot import LogKey, Snapshot, SourceInfo, slim

Obj = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
T0 = "2024-08-13T06:58:06Z"


def uid_of(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def _hash(seed: str, n: int = 10) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


def namespace(name: str, labels: dict[str, str] | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "creationTimestamp": "2024-03-01T10:00:00Z",
            "labels": {"kubernetes.io/metadata.name": name, **(labels or {})},
            "name": name,
            "uid": uid_of(f"ns/{name}"),
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def node(name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "creationTimestamp": "2024-07-30T08:00:00Z",
            "labels": {
                "agentpool": "buildpool",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": "Standard_D4s_v5",
            },
            "name": name,
            "uid": uid_of(f"node/{name}"),
        },
        "spec": {"podCIDR": "10.244.3.0/24", "providerID": f"azure:///subscriptions/x/{name}"},
        "status": {
            "conditions": [
                {
                    "lastHeartbeatTime": T0,
                    "lastTransitionTime": "2024-07-30T08:01:00Z",
                    "message": "kubelet is posting ready status",
                    "reason": "KubeletReady",
                    "status": "True",
                    "type": "Ready",
                }
            ],
            "nodeInfo": {"containerRuntimeVersion": "containerd://1.7.15-1", "kubeletVersion": "v1.29.7"},
        },
    }


def container(name: str, image: str, *, env: list[Obj] | None = None, args: list[str] | None = None) -> Obj:
    c: Obj = {
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "name": name,
        "resources": {"limits": {"memory": "2Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    if env is not None:
        c["env"] = env
    if args is not None:
        c["args"] = args
    return c


def pod_spec(containers: list[Obj], *, node_name: str = "", sa_suffix: str = "x7k2p") -> Obj:
    spec: Obj = {
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
        ],
        "volumes": [
            {
                "name": f"kube-api-access-{sa_suffix}",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                    ],
                },
            }
        ],
    }
    if node_name:
        spec["nodeName"] = node_name
    for c in containers:
        c.setdefault(
            "volumeMounts",
            [
                {
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "name": f"kube-api-access-{sa_suffix}",
                    "readOnly": True,
                }
            ],
        )
    return spec


def deployment(ns: str, name: str, containers: list[Obj], *, annotations: dict[str, str] | None = None) -> Obj:
    md: Obj = {
        "annotations": {"deployment.kubernetes.io/revision": "2", **(annotations or {})},
        "creationTimestamp": "2024-08-01T09:12:44Z",
        "generation": 2,
        "labels": {"app": name},
        "name": name,
        "namespace": ns,
        "uid": uid_of(f"deploy/{ns}/{name}"),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": md,
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": 2,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"app": name}},
                "spec": {k: v for k, v in pod_spec(copy.deepcopy(containers)).items() if k != "volumes"},
            },
        },
        "status": {"observedGeneration": 2, "replicas": 2, "unavailableReplicas": 2, "updatedReplicas": 2},
    }


def replicaset(deploy: Obj, revision: int = 2, *, replicas: int = 2) -> Obj:
    ns, dname = deploy["metadata"]["namespace"], deploy["metadata"]["name"]
    h = _hash(f"{dname}/{revision}")
    template = copy.deepcopy(deploy["spec"]["template"])
    template["metadata"]["labels"]["pod-template-hash"] = h
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "creationTimestamp": "2024-08-13T06:58:00Z",
            "generation": 1,
            "labels": {"app": dname, "pod-template-hash": h},
            "name": f"{dname}-{h}",
            "namespace": ns,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "blockOwnerDeletion": True,
                    "controller": True,
                    "kind": "Deployment",
                    "name": dname,
                    "uid": deploy["metadata"]["uid"],
                }
            ],
            "uid": uid_of(f"rs/{ns}/{dname}-{h}"),
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": dname, "pod-template-hash": h}},
            "template": template,
        },
        "status": {"observedGeneration": 1, "replicas": replicas},
    }


def _owner(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "blockOwnerDeletion": True,
        "controller": True,
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }


def pod(
    ns: str,
    name: str,
    containers: list[Obj],
    *,
    owner: Obj | None = None,
    node_name: str = "aks-buildpool-12345678-vmss000001",
    healthy: bool = False,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> Obj:
    md: Obj = {
        "creationTimestamp": T0,
        "labels": dict(labels or {}),
        "name": name,
        "namespace": ns,
        "uid": uid_of(f"pod/{ns}/{name}"),
    }
    if annotations:
        md["annotations"] = dict(annotations)
    if owner is not None:
        md["generateName"] = owner["metadata"]["name"] + "-"
        md["ownerReferences"] = [_owner(owner)]
        md["labels"].update(owner["spec"].get("template", {}).get("metadata", {}).get("labels", {}))
    statuses = []
    for c in containers:
        cs: Obj = {
            "containerID": "containerd://" + hashlib.sha256(f"{name}/{c['name']}".encode()).hexdigest(),
            "image": c["image"],
            "imageID": c["image"].split(":")[0] + "@sha256:" + hashlib.sha256(c["image"].encode()).hexdigest(),
            "name": c["name"],
            "started": healthy,
        }
        if healthy:
            cs.update(ready=True, restartCount=0, state={"running": {"startedAt": T0}}, lastState={})
        else:
            cs.update(
                ready=False,
                restartCount=7,
                state={
                    "waiting": {
                        "message": f"back-off 5m0s restarting failed container={c['name']} pod={name}_{ns}",
                        "reason": "CrashLoopBackOff",
                    }
                },
                lastState={
                    "terminated": {
                        "containerID": cs["containerID"],
                        "exitCode": 134,
                        "finishedAt": "2024-08-13T07:20:31Z",
                        "reason": "Error",
                        "startedAt": "2024-08-13T07:20:29Z",
                    }
                },
            )
        statuses.append(cs)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": md,
        "spec": pod_spec(containers, node_name=node_name, sa_suffix=_hash(name, 5)),
        "status": {
            "conditions": [
                {"lastProbeTime": None, "lastTransitionTime": T0, "status": "True", "type": "PodScheduled"},
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": T0,
                    "status": "True" if healthy else "False",
                    "type": "Ready",
                },
            ],
            "containerStatuses": statuses,
            "hostIP": "10.224.0.5",
            "phase": "Running",
            "podIP": "10.244.3.17",
            "qosClass": "Burstable",
            "startTime": T0,
        },
    }


def event(about: Obj, reason: str, message: str, *, etype: str = "Warning", n: int = 0) -> Obj:
    md = about["metadata"]
    ns = md.get("namespace") or "default"
    return {
        "apiVersion": "v1",
        "count": 12,
        "firstTimestamp": "2024-08-13T06:58:10Z",
        "involvedObject": {
            "apiVersion": about["apiVersion"],
            "kind": about["kind"],
            "name": md["name"],
            "namespace": md.get("namespace", ""),
            "uid": md["uid"],
        },
        "kind": "Event",
        "lastTimestamp": "2024-08-13T07:20:31Z",
        "message": message,
        "metadata": {
            "creationTimestamp": "2024-08-13T06:58:10Z",
            "name": f"{md['name']}.{17000000000000000 + n:x}",
            "namespace": ns,
            "uid": uid_of(f"event/{md['name']}/{reason}/{n}"),
        },
        "reason": reason,
        "source": {"component": "kubelet", "host": "aks-buildpool-12345678-vmss000001"},
        "type": etype,
    }


def webhook_config(name: str = "dynatrace-webhook") -> Obj:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"creationTimestamp": "2024-07-01T00:00:00Z", "name": name, "uid": uid_of(f"mwc/{name}")},
        "webhooks": [
            {
                "admissionReviewVersions": ["v1beta1", "v1"],
                "clientConfig": {"service": {"name": name, "namespace": "dynatrace", "path": "/inject", "port": 443}},
                "failurePolicy": "Ignore",
                "matchPolicy": "Equivalent",
                "name": "webhook.pod.dynatrace.com",
                "namespaceSelector": {
                    "matchExpressions": [{"key": "dynakube.internal.dynatrace.com/instance", "operator": "Exists"}]
                },
                "objectSelector": {},
                "reinvocationPolicy": "IfNeeded",
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
            }
        ],
    }


def csidriver(name: str = "csi.oneagent.dynatrace.com") -> Obj:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"creationTimestamp": "2024-07-01T00:00:00Z", "name": name, "uid": uid_of(f"csi/{name}")},
        "spec": {"attachRequired": False, "podInfoOnMount": True, "volumeLifecycleModes": ["Ephemeral"]},
    }


def dynakube(ns: str = "dynatrace", name: str = "dynakube") -> Obj:
    return {
        "apiVersion": "dynatrace.com/v1beta2",
        "kind": "DynaKube",
        "metadata": {
            "creationTimestamp": "2024-07-01T00:00:00Z",
            "name": name,
            "namespace": ns,
            "uid": uid_of(f"dk/{ns}/{name}"),
        },
        "spec": {"apiUrl": "https://abc12345.live.dynatrace.com/api", "oneAgent": {"applicationMonitoring": {}}},
    }


def configmap(ns: str, name: str, data: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"creationTimestamp": T0, "name": name, "namespace": ns, "uid": uid_of(f"cm/{ns}/{name}")},
        "data": dict(data),
    }


def secret(ns: str, name: str, data: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"creationTimestamp": T0, "name": name, "namespace": ns, "uid": uid_of(f"secret/{ns}/{name}")},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def snapshot_of(objects: list[Obj], logs: dict[LogKey, str] | None = None, *, collected_at: str = T0) -> Snapshot:
    snap = Snapshot(
        SourceInfo("live", "aks-prod (https://aks-prod-dns-1a2b3c4d.hcp.westeurope.azmk8s.io:443)", collected_at)
    )
    for obj in objects:
        slim(obj)  # as every source does: the loader drops the same fields when it reads the bundle back
        snap.add(obj)
    for key, text in (logs or {}).items():
        snap.add_log(key, text)
    return snap


def comparable(snap: Snapshot) -> dict[str, Any]:
    return {"objects": {k: dict(v) for k, v in snap.objects.items() if v}, "logs": dict(snap.logs)}


def bundle_texts(out: Path) -> dict[str, bytes]:
    """Every file of a bundle directory or .tar.gz, by path relative to the bundle root."""
    files: dict[str, bytes] = {}
    if out.is_dir():
        for p in sorted(out.rglob("*")):
            if p.is_file():
                files[p.relative_to(out).as_posix()] = p.read_bytes()
        return files
    with tarfile.open(out, "r:gz") as tar:
        for m in tar.getmembers():
            if m.isfile():
                fh = tar.extractfile(m)
                assert fh is not None
                files[m.name.split("/", 1)[1]] = fh.read()
    return files


def manifest_of(out: Path) -> dict[str, Any]:
    doc = json.loads(bundle_texts(out)["manifest.json"])
    assert isinstance(doc, dict)
    return doc


def tar_members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getmembers()
