"""Realistic objects shaped like `kubectl get -o json` output, for the index tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

RS_UID = "5f0c1b7e-8a44-4c1e-9f3a-0d2b6c7a9e11"
DEP_UID = "a3b2c1d0-1111-4a2b-8c3d-9e8f7a6b5c4d"


def agent_template() -> dict[str, Any]:
    return {
        "metadata": {"creationTimestamp": None, "labels": {"app": "azure-devops-agent"}},
        "spec": {
            "containers": [
                {
                    "name": "azp-agent",
                    "image": "myacr.azurecr.io/azp-agent:ubuntu-22.04-3.242.1",
                    "imagePullPolicy": "IfNotPresent",
                    "env": [
                        {"name": "AZP_URL", "value": "https://dev.azure.com/contoso"},
                        {"name": "AZP_POOL", "value": "aks-linux"},
                        {
                            "name": "AZP_TOKEN",
                            "valueFrom": {"secretKeyRef": {"name": "azp", "key": "AZP_TOKEN"}},
                        },
                    ],
                    "resources": {"limits": {"memory": "2Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }
            ],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30,
        },
    }


@pytest.fixture
def replicaset() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "azure-devops-agent-6d9f7c8b45",
            "namespace": "build-agents",
            "uid": RS_UID,
            "labels": {"app": "azure-devops-agent", "pod-template-hash": "6d9f7c8b45"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "azure-devops-agent",
                    "uid": DEP_UID,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "azure-devops-agent"}},
            "template": agent_template(),
        },
    }


@pytest.fixture
def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "azure-devops-agent", "namespace": "build-agents", "uid": DEP_UID},
        "spec": {"replicas": 1, "template": agent_template()},
        "status": {"replicas": 1, "readyReplicas": 0},
    }


@pytest.fixture
def plain_pod() -> dict[str, Any]:
    tpl = copy.deepcopy(agent_template())
    spec = tpl["spec"]
    spec["containers"][0]["volumeMounts"] = [
        {
            "name": "kube-api-access-x7k2p",
            "readOnly": True,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
        }
    ]
    spec["volumes"] = [
        {
            "name": "kube-api-access-x7k2p",
            "projected": {
                "defaultMode": 420,
                "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}],
            },
        }
    ]
    spec["nodeName"] = "aks-agentpool-12345678-vmss000001"
    spec["tolerations"] = [
        {
            "effect": "NoExecute",
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "tolerationSeconds": 300,
        }
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "azure-devops-agent-6d9f7c8b45-f6cz6",
            "generateName": "azure-devops-agent-6d9f7c8b45-",
            "namespace": "build-agents",
            "uid": "0e1d2c3b-4a59-4867-9a8b-7c6d5e4f3a21",
            "labels": {"app": "azure-devops-agent", "pod-template-hash": "6d9f7c8b45"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "azure-devops-agent-6d9f7c8b45",
                    "uid": RS_UID,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
        "status": {"phase": "Running"},
    }


@pytest.fixture
def injected_pod(plain_pod: dict[str, Any]) -> dict[str, Any]:
    """The same pod as the Dynatrace webhook (operator v1.2) leaves it."""
    pod = copy.deepcopy(plain_pod)
    pod["metadata"]["annotations"] = {
        "dynakube.dynatrace.com/injected": "true",
        "oneagent.dynatrace.com/injected": "true",
        "metadata-enrichment.dynatrace.com/injected": "true",
    }
    spec = pod["spec"]
    spec["initContainers"] = [
        {
            "name": "install-oneagent",
            "image": "public.ecr.aws/dynatrace/dynatrace-operator:v1.2.2",
            "args": ["init"],
        }
    ]
    spec["volumes"] += [
        {
            "name": "oneagent-bin",
            "csi": {
                "driver": "csi.oneagent.dynatrace.com",
                "readOnly": False,
                "volumeAttributes": {"dynakube": "dynakube", "mode": "app"},
            },
        },
        {"name": "oneagent-share", "emptyDir": {}},
    ]
    c = spec["containers"][0]
    c["env"] += [
        {"name": "LD_PRELOAD", "value": "/opt/dynatrace/oneagent-paas/agent/lib64/liboneagentproc.so"},
        {
            "name": "DT_DEPLOYMENT_METADATA",
            "value": "orchestration_tech=Operator-cloud_native_fullstack;script_version=v1.2.2",
        },
    ]
    c["volumeMounts"] += [
        {"name": "oneagent-share", "mountPath": "/etc/ld.so.preload", "subPath": "ld.so.preload"},
        {"name": "oneagent-bin", "mountPath": "/opt/dynatrace/oneagent-paas"},
    ]
    return pod
