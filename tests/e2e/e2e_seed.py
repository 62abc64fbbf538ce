"""The seed case as a cluster holds it: the DynaKube, its CSI driver and webhook configuration, the namespaces, the
Azure Pipelines agent Deployment and the log text its containers print. Objects are what a user or the Dynatrace
operator would create through the API; the API server fills in every default."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

AGENT_NS = "build-agents"
OPERATOR_NS = "dynatrace"
DYNAKUBE = "dynakube"
AGENT_IMAGE = "myacr.azurecr.io/azp-agent:ubuntu-22.04-3.242.1"
OPERATOR_IMAGE = "public.ecr.aws/dynatrace/dynatrace-operator:v1.2.2"
CODE_MODULES_VERSION = "1.294.128.20240809-142157"
NS_INSTANCE_LABEL = "dynakube.internal.dynatrace.com/instance"

# What the agent image prints. start.sh colours its headers (print_header: ESC[1;36m ... ESC[0m); the crash is the
# .NET runtime aborting on an unhandled exception (SIGABRT, exit code 134) inside config.sh.
_HEADER = "\x1b[1;36m{}\x1b[0m"
AGENT_CRASH_LOG = [
    "",
    _HEADER.format("1. Determining matching Azure Pipelines agent..."),
    "",
    "",
    _HEADER.format("2. Downloading and extracting Azure Pipelines agent..."),
    "",
    "",
    _HEADER.format("3. Configuring Azure Pipelines agent..."),
    "",
    "Unhandled exception. System.TypeInitializationException: The type initializer for '<Module>' threw an exception.",
    " ---> System.InvalidProgramException: Common Language Runtime detected an invalid program.",
    "   at <Module>..cctor()",
    "   --- End of inner exception stack trace ---",
    "   at Microsoft.VisualStudio.Services.Agent.Listener.Program.MainAsync(IHostContext context, String[] args)",
    "--- End of stack trace from previous location ---",
    "   at Microsoft.VisualStudio.Services.Agent.Listener.Program.Main(String[] args)",
    './config.sh: line 90:    55 Aborted                 (core dumped) ./bin/Agent.Listener configure "$@"',
]
AGENT_HEALTHY_LOG = [
    "",
    _HEADER.format("1. Determining matching Azure Pipelines agent..."),
    "",
    "",
    _HEADER.format("2. Downloading and extracting Azure Pipelines agent..."),
    "",
    "",
    _HEADER.format("3. Configuring Azure Pipelines agent..."),
    "",
    "",
    ">> Connect:",
    "",
    "Connecting to server ...",
    "",
    ">> Register Agent:",
    "",
    "Scanning for tool capabilities.",
    "Connecting to the server.",
    "Successfully replaced the agent",
    "Testing agent connection.",
    "Settings Saved.",
    "",
    _HEADER.format("4. Running Azure Pipelines agent..."),
    "",
    "Scanning for tool capabilities.",
    "Connecting to the server.",
    "Listening for Jobs",
]
GENERIC_LOG = ["started"]


def namespace(name: str, labels: dict[str, str] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels or {})}}


def injected_namespace(name: str) -> Obj:
    """A namespace the operator mapped to the DynaKube (it sets this label from the DynaKube namespaceSelector)."""
    return namespace(name, {NS_INSTANCE_LABEL: DYNAKUBE})


def dynakube_crd() -> Obj:
    """The DynaKube CRD, reduced to what the API needs to store and serve the object (no schema validation)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "dynakubes.dynatrace.com"},
        "spec": {
            "group": "dynatrace.com",
            "names": {"kind": "DynaKube", "listKind": "DynaKubeList", "plural": "dynakubes", "singular": "dynakube"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1beta2",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


def dynakube() -> Obj:
    return {
        "apiVersion": "dynatrace.com/v1beta2",
        "kind": "DynaKube",
        "metadata": {
            "name": DYNAKUBE,
            "namespace": OPERATOR_NS,
            "annotations": {"feature.dynatrace.com/automatic-injection": "true"},
        },
        "spec": {
            "apiUrl": "https://abc12345.live.dynatrace.com/api",
            "metadataEnrichment": {"enabled": True},
            "oneAgent": {"cloudNativeFullStack": {"tolerations": [{"operator": "Exists"}]}},
            "activeGate": {"capabilities": ["routing", "kubernetes-monitoring"]},
        },
    }


def dynakube_status() -> Obj:
    return {
        "status": {
            "phase": "Running",
            "codeModules": {"version": CODE_MODULES_VERSION},
            "oneAgent": {"version": "1.294.128.20240809-142157"},
        }
    }


def csi_driver() -> Obj:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"name": "csi.oneagent.dynatrace.com"},
        "spec": {
            "attachRequired": False,
            "podInfoOnMount": True,
            "volumeLifecycleModes": ["Ephemeral"],
            "fsGroupPolicy": "None",
        },
    }


def webhook_configuration(url_base: str, ca_bundle_b64: str) -> Obj:
    """The operator's MutatingWebhookConfiguration (Helm chart, v1.2.x): the pod webhook with its namespace
    selector, CREATE only, failurePolicy Ignore; the namespace webhook. The test webhook listens on loopback, so
    the client configuration is a URL instead of the operator's Service."""

    def hook(name: str, path: str, resource: str, operations: list[str]) -> Obj:
        h: Obj = {
            "name": name,
            "admissionReviewVersions": ["v1beta1", "v1"],
            "clientConfig": {"url": f"{url_base}{path}", "caBundle": ca_bundle_b64},
            "failurePolicy": "Ignore",
            "matchPolicy": "Equivalent",
            "reinvocationPolicy": "IfNeeded",
            "rules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": operations,
                    "resources": [resource],
                    "scope": "*",
                }
            ],
            "sideEffects": "None",
            "timeoutSeconds": 10,
        }
        return h

    pod_hook = hook("webhook.pod.dynatrace.com", "/inject", "pods", ["CREATE"])
    pod_hook["namespaceSelector"] = {"matchExpressions": [{"key": NS_INSTANCE_LABEL, "operator": "Exists"}]}
    ns_hook = hook("webhook.ns.dynatrace.com", "/label-ns", "namespaces", ["CREATE", "UPDATE"])
    ns_hook["namespaceSelector"] = {
        "matchExpressions": [
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": ["kube-system", "kube-public", "kube-node-lease", OPERATOR_NS],
            }
        ]
    }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "name": "dynatrace-webhook",
            "labels": {
                "app.kubernetes.io/component": "webhook",
                "app.kubernetes.io/name": "dynatrace-operator",
                "app.kubernetes.io/version": "1.2.2",
            },
        },
        "webhooks": [pod_hook, ns_hook],
    }


def operator_secrets(ns: str) -> list[Obj]:
    """The per-namespace secrets the operator's namespace reconciler writes into every mapped namespace."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "dynatrace-dynakube-config", "namespace": ns},
            "type": "Opaque",
            "stringData": {"config": '{"tenantUUID":"abc12345"}'},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "dynatrace-metadata-enrichment-endpoint", "namespace": ns},
            "type": "Opaque",
            "stringData": {"endpoint.properties": "DT_METRICS_INGEST_URL=https://abc12345.live.dynatrace.com/api"},
        },
    ]


def agent_secret(ns: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "azp-agent", "namespace": ns},
        "type": "Opaque",
        "stringData": {"AZP_TOKEN": "e2e-not-a-real-token"},
    }


def agent_deployment(
    ns: str,
    name: str = "azure-devops-agent",
    replicas: int = 2,
    pod_annotations: dict[str, str] | None = None,
    node_pool: str | None = "agentpool",
    tolerations: list[Obj] | None = None,
) -> Obj:
    """The self-hosted agent Deployment as Microsoft's "Run a self-hosted agent in Docker" guide writes it."""
    pod_spec: Obj = {
        "terminationGracePeriodSeconds": 300,
        "containers": [
            {
                "name": "azp-agent",
                "image": AGENT_IMAGE,
                "env": [
                    {"name": "AZP_URL", "value": "https://dev.azure.com/contoso-platform"},
                    {"name": "AZP_POOL", "value": "aks-linux"},
                    {"name": "AZP_TOKEN", "valueFrom": {"secretKeyRef": {"name": "azp-agent", "key": "AZP_TOKEN"}}},
                    {"name": "AZP_WORK", "value": "_work"},
                ],
                "resources": {
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                    "limits": {"cpu": "2", "memory": "4Gi"},
                },
                "volumeMounts": [{"name": "azp-work", "mountPath": "/azp/_work"}],
            }
        ],
        "volumes": [{"name": "azp-work", "emptyDir": {}}],
    }
    if node_pool:
        pod_spec["nodeSelector"] = {"kubernetes.azure.com/agentpool": node_pool}
    if tolerations:
        pod_spec["tolerations"] = tolerations
    template_md: Obj = {"labels": {"app": name}}
    if pod_annotations:
        template_md["annotations"] = dict(pod_annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": template_md, "spec": pod_spec},
        },
    }
