"""Builders for Kubernetes objects and bundles shaped like real ``kubectl`` output, for the source tests."""

from __future__ import annotations

import copy
import io
import json
import tarfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]


def _uid(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def deployment(ns: str, name: str, *, image: str, containers: list[str] | None = None) -> Obj:
    """A Deployment as ``kubectl get deploy -o json`` prints it."""
    containers = containers or [name]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "annotations": {"deployment.kubernetes.io/revision": "3"},
            "creationTimestamp": "2024-08-01T09:12:44Z",
            "generation": 3,
            "labels": {"app": name},
            "name": name,
            "namespace": ns,
            "resourceVersion": "4412987",
            "uid": _uid(f"deploy/{ns}/{name}"),
        },
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                "type": "RollingUpdate",
            },
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"app": name}},
                "spec": {
                    "containers": [_container(c, image) for c in containers],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
        "status": {
            "conditions": [
                {
                    "lastTransitionTime": "2024-08-13T07:02:10Z",
                    "lastUpdateTime": "2024-08-13T07:02:10Z",
                    "message": "Deployment does not have minimum availability.",
                    "reason": "MinimumReplicasUnavailable",
                    "status": "False",
                    "type": "Available",
                }
            ],
            "observedGeneration": 3,
            "replicas": 1,
            "unavailableReplicas": 1,
            "updatedReplicas": 1,
        },
    }


def _container(name: str, image: str) -> Obj:
    return {
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "name": name,
        "resources": {"limits": {"memory": "2Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "name": "kube-api-access-7xq2d",
                "readOnly": True,
            }
        ],
    }


def pod(
    ns: str,
    name: str,
    *,
    image: str = "mcr.microsoft.com/azure-pipelines/vsts-agent:ubuntu-22.04",
    containers: list[str] | None = None,
    init_containers: list[str] | None = None,
    crashing: list[str] | None = None,
    owner: str | None = None,
) -> Obj:
    """A Pod as ``kubectl get pod -o json`` prints it; containers in ``crashing`` are in CrashLoopBackOff."""
    containers = containers or ["main"]
    crashing = crashing or []
    init_containers = init_containers or []
    meta: Obj = {
        "creationTimestamp": "2024-08-13T07:01:58Z",
        "labels": {"app": name.rsplit("-", 2)[0], "pod-template-hash": "6d9f7c8b45"},
        "name": name,
        "namespace": ns,
        "resourceVersion": "4413120",
        "uid": _uid(f"pod/{ns}/{name}"),
    }
    if owner:
        meta["generateName"] = f"{owner}-"
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "blockOwnerDeletion": True,
                "controller": True,
                "kind": "ReplicaSet",
                "name": owner,
                "uid": _uid(f"rs/{ns}/{owner}"),
            }
        ]
    statuses = []
    for c in containers:
        cs: Obj = {
            "containerID": f"containerd://{uuid.uuid5(uuid.NAMESPACE_URL, f'{ns}/{name}/{c}').hex * 2}",
            "image": image,
            "imageID": f"{image.split(':')[0]}@sha256:{'ab' * 32}",
            "name": c,
            "ready": c not in crashing,
            "restartCount": 7 if c in crashing else 0,
            "started": c not in crashing,
        }
        if c in crashing:
            cs["state"] = {
                "waiting": {
                    "message": f"back-off 5m0s restarting failed container={c} pod={name}_{ns}({meta['uid']})",
                    "reason": "CrashLoopBackOff",
                }
            }
            cs["lastState"] = {
                "terminated": {
                    "containerID": cs["containerID"],
                    "exitCode": 134,
                    "finishedAt": "2024-08-13T07:19:31Z",
                    "reason": "Error",
                    "startedAt": "2024-08-13T07:19:29Z",
                }
            }
        else:
            cs["state"] = {"running": {"startedAt": "2024-08-13T07:02:03Z"}}
            cs["lastState"] = {}
        statuses.append(cs)
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "containers": [_container(c, image) for c in containers],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "nodeName": "aks-agentpool-26134851-vmss000002",
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
                    "name": "kube-api-access-7xq2d",
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
                                            "fieldRef": {
                                                "apiVersion": "v1",
                                                "fieldPath": "metadata.namespace",
                                            },
                                            "path": "namespace",
                                        }
                                    ]
                                }
                            },
                        ],
                    },
                }
            ],
        },
        "status": {
            "conditions": [
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": "2024-08-13T07:01:58Z",
                    "status": "True",
                    "type": "Initialized",
                },
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": "2024-08-13T07:19:32Z",
                    "status": "False" if crashing else "True",
                    "type": "Ready",
                },
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": "2024-08-13T07:01:58Z",
                    "status": "True",
                    "type": "PodScheduled",
                },
            ],
            "containerStatuses": statuses,
            "hostIP": "10.224.0.6",
            "phase": "Running",
            "podIP": "10.244.2.17",
            "podIPs": [{"ip": "10.244.2.17"}],
            "qosClass": "Burstable",
            "startTime": "2024-08-13T07:01:58Z",
        },
    }
    if init_containers:
        obj["spec"]["initContainers"] = [_container(c, image) for c in init_containers]
        obj["status"]["initContainerStatuses"] = [
            {
                "containerID": f"containerd://{'cd' * 32}",
                "image": image,
                "imageID": f"{image.split(':')[0]}@sha256:{'cd' * 32}",
                "name": c,
                "ready": True,
                "restartCount": 0,
                "state": {
                    "terminated": {
                        "containerID": f"containerd://{'cd' * 32}",
                        "exitCode": 0,
                        "finishedAt": "2024-08-13T07:02:02Z",
                        "reason": "Completed",
                        "startedAt": "2024-08-13T07:02:00Z",
                    }
                },
            }
            for c in init_containers
        ]
    return obj


def event(ns: str, pod_name: str, pod_uid: str, reason: str, message: str, *, n: int = 0) -> Obj:
    """A core/v1 Event about a pod, as ``kubectl get events -o json`` prints it."""
    return {
        "apiVersion": "v1",
        "count": 37,
        "eventTime": None,
        "firstTimestamp": "2024-08-13T07:02:31Z",
        "involvedObject": {
            "apiVersion": "v1",
            "fieldPath": "spec.containers{azp-agent}",
            "kind": "Pod",
            "name": pod_name,
            "namespace": ns,
            "resourceVersion": "4412995",
            "uid": pod_uid,
        },
        "kind": "Event",
        "lastTimestamp": "2024-08-13T07:19:32Z",
        "message": message,
        "metadata": {
            "creationTimestamp": "2024-08-13T07:02:31Z",
            "name": f"{pod_name}.17ead3c1b1f0{n:04x}",
            "namespace": ns,
            "resourceVersion": "4413119",
            "uid": _uid(f"event/{ns}/{pod_name}/{n}"),
        },
        "reason": reason,
        "reportingComponent": "kubelet",
        "reportingInstance": "aks-agentpool-26134851-vmss000002",
        "source": {"component": "kubelet", "host": "aks-agentpool-26134851-vmss000002"},
        "type": "Warning",
    }


def node(name: str) -> Obj:
    """A Node (trimmed to the fields the sources care about, still shaped as the API returns it)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
            "creationTimestamp": "2024-07-30T12:00:01Z",
            "labels": {"agentpool": "agentpool", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
            "name": name,
            "resourceVersion": "4413001",
            "uid": _uid(f"node/{name}"),
        },
        "spec": {"podCIDR": "10.244.2.0/24", "providerID": f"azure:///subscriptions/x/{name}"},
        "status": {
            "conditions": [
                {
                    "lastHeartbeatTime": "2024-08-13T07:19:00Z",
                    "lastTransitionTime": "2024-07-30T12:00:31Z",
                    "message": "kubelet is posting ready status",
                    "reason": "KubeletReady",
                    "status": "True",
                    "type": "Ready",
                }
            ],
            "nodeInfo": {"containerRuntimeVersion": "containerd://1.7.15-1", "kubeletVersion": "v1.29.7"},
        },
    }


def kube_list(kind: str, items: list[Obj], *, api_version: str = "v1", keep_item_type: bool = False) -> Obj:
    """A ``*List`` as kubectl cluster-info dump writes it: items without apiVersion/kind unless asked."""
    out_items = []
    for item in items:
        item = copy.deepcopy(item)
        if not keep_item_type:
            item.pop("apiVersion", None)
            item.pop("kind", None)
        out_items.append(item)
    return {
        "apiVersion": api_version,
        "items": out_items,
        "kind": kind,
        "metadata": {"resourceVersion": "4413200"},
    }


def logs_txt(ns: str, pod_name: str, logs: dict[str, str]) -> str:
    """A cluster-info dump ``logs.txt``: every container's log between START and END markers."""
    parts = []
    for container, text in logs.items():
        parts.append(f"==== START logs for container {container} of pod {ns}/{pod_name} ====\n")
        parts.append(text)
        parts.append(f"==== END logs for container {container} of pod {ns}/{pod_name} ====\n")
    return "".join(parts)


AGENT_LOG = (
    "Starting Azure Pipelines agent\n"
    "1. Determining matching Azure Pipelines agent...\n"
    "2. Downloading and extracting Azure Pipelines agent...\n"
    "3. Configuring Azure Pipelines agent...\n"
    "Unhandled exception. System.TypeInitializationException: The type initializer for "
    "'Microsoft.VisualStudio.Services.Agent.Listener.Program' threw an exception.\n"
    " ---> System.InvalidProgramException: Common Language Runtime detected an invalid program.\n"
    "   at Microsoft.VisualStudio.Services.Agent.Listener.Program.MainAsync("
    "IHostContext context, String[] args)\n"
)


def cluster(ns: str = "build-agents") -> dict[str, Any]:
    """A small cluster: one crash-looping Azure Pipelines agent pod, a healthy web pod, events, a node."""
    agent = pod(
        ns,
        "azure-devops-agent-6d9f7c8b45-f6cz6",
        containers=["azp-agent"],
        crashing=["azp-agent"],
        init_containers=["install-oneagent"],
        owner="azure-devops-agent-6d9f7c8b45",
    )
    web = pod(
        "web",
        "frontend-7b9c5d6f4-x2x9q",
        image="nginx:1.27.0",
        containers=["nginx", "log-shipper"],
        owner="frontend-7b9c5d6f4",
    )
    events = [
        event(
            ns,
            agent["metadata"]["name"],
            agent["metadata"]["uid"],
            "BackOff",
            "Back-off restarting failed container azp-agent in pod "
            f"{agent['metadata']['name']}_{ns}({agent['metadata']['uid']})",
            n=1,
        ),
        event(
            ns,
            agent["metadata"]["name"],
            agent["metadata"]["uid"],
            "Pulled",
            'Container image "mcr.microsoft.com/azure-pipelines/vsts-agent:ubuntu-22.04" already present on machine',
            n=2,
        ),
    ]
    return {
        "nodes": [node("aks-agentpool-26134851-vmss000002")],
        "namespaces": {
            ns: {
                "pods": [agent],
                "events": events,
                "deployments": [
                    deployment(ns, "azure-devops-agent", image="vsts-agent:ubuntu-22.04", containers=["azp-agent"])
                ],
                "replicasets": [],
                "daemonsets": [],
                "services": [],
                "replication-controllers": [],
            },
            "web": {
                "pods": [web],
                "events": [],
                "deployments": [],
                "replicasets": [],
                "daemonsets": [],
                "services": [],
                "replication-controllers": [],
            },
        },
        "logs": {
            (ns, agent["metadata"]["name"]): {
                "install-oneagent": "Installing OneAgent code modules\n",
                "azp-agent": AGENT_LOG,
            },
            ("web", web["metadata"]["name"]): {
                "nginx": '10.244.0.1 - - [13/Aug/2024:07:03:00 +0000] "GET / HTTP/1.1" 200 615 "-" "kube-probe/1.29"\n',
                "log-shipper": "shipping\nstill shipping\n",
            },
        },
    }


_LIST_KINDS = {
    "pods": ("PodList", "v1"),
    "events": ("EventList", "v1"),
    "deployments": ("DeploymentList", "apps/v1"),
    "replicasets": ("ReplicaSetList", "apps/v1"),
    "daemonsets": ("DaemonSetList", "apps/v1"),
    "services": ("ServiceList", "v1"),
    "replication-controllers": ("ReplicationControllerList", "v1"),
}


def dump(obj: Any, fmt: str) -> str:
    """Serialise like kubectl: indented JSON, or YAML with sorted keys."""
    if fmt == "json":
        return json.dumps(obj, indent=4) + "\n"
    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=True)


def write_cluster_info_dump(root: Path, data: dict[str, Any], fmt: str = "json") -> Path:
    """Write ``data`` (see :func:`cluster`) the way ``kubectl cluster-info dump --output-directory`` does."""
    root.mkdir(parents=True, exist_ok=True)
    ext = "json" if fmt == "json" else "yaml"
    (root / f"nodes.{ext}").write_text(dump(kube_list("NodeList", data["nodes"]), fmt))
    for ns, kinds in data["namespaces"].items():
        (root / ns).mkdir(exist_ok=True)
        for fname, (list_kind, api) in _LIST_KINDS.items():
            (root / ns / f"{fname}.{ext}").write_text(
                dump(kube_list(list_kind, kinds.get(fname, []), api_version=api), fmt)
            )
    for (ns, pod_name), logs in data["logs"].items():
        (root / ns / pod_name).mkdir(parents=True, exist_ok=True)
        (root / ns / pod_name / "logs.txt").write_text(logs_txt(ns, pod_name, logs))
    return root


def tar_dir(src: Path, dest: Path, *, mode: str = "w:gz", arcname: str | None = None) -> Path:
    """Archive a directory with tarfile (members under ``arcname``, or at the top when it is ``""``)."""
    with tarfile.open(dest, mode) as tar:
        for path in sorted(src.rglob("*"), reverse=True):  # unusual member order on purpose
            rel = path.relative_to(src).as_posix()
            name = f"{arcname}/{rel}" if arcname else rel
            tar.add(path, arcname=name, recursive=False)
    return dest


def zip_dir(src: Path, dest: Path, *, arcname: str | None = None) -> Path:
    """Zip a directory (members under ``arcname`` when given)."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src).as_posix()
            name = f"{arcname}/{rel}" if arcname else rel
            zf.write(path, name)
    return dest


def tar_bytes(files: dict[str, bytes], *, mode: str = "w:gz") -> bytes:
    """A tar archive (gzip by default) holding ``files`` in memory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1723532400
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip archive holding ``files`` in memory."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def write_files(root: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (relative path -> bytes) under ``root``."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def comparable(snapshot: Any) -> dict[str, Any]:
    """A snapshot's content without its source (which names the path)."""
    return {
        "objects": {k: dict(v) for k, v in snapshot.objects.items()},
        "logs": dict(snapshot.logs),
        "audit": list(snapshot.audit_events),
        "warnings": list(snapshot.warnings),
    }
