"""A stand-in for the Dynatrace operator's pod webhook (operator v1.2.x, cloudNativeFullStack with the CSI
driver): served over TLS on loopback, registered with the operator's own selectors, and mutating pods the way
``pkg/webhook/mutation/pod`` of that release does (see shared/knowledge/dynatrace.md §2.2 and §2.4):

* no mutation when the pod says ``dynatrace.com/inject: "false"``, when it is already injected, or when every
  container is excluded with ``container.inject.dynatrace.com/<container>: "false"`` (pod or DynaKube);
* OneAgent (unless ``oneagent.dynatrace.com/inject: "false"``): init container ``install-oneagent``, volumes
  ``injection-config``, ``oneagent-bin`` (CSI ``csi.oneagent.dynatrace.com``) and ``oneagent-share``, and in each
  injected container the mounts ``/etc/ld.so.preload``, ``/opt/dynatrace/oneagent-paas``, ``container.conf`` and
  the env ``DT_DEPLOYMENT_METADATA`` and ``LD_PRELOAD``;
* metadata enrichment (unless ``metadata-enrichment.dynatrace.com/inject: "false"``): its volumes, mounts, init
  env and the workload annotations;
* annotations ``oneagent.dynatrace.com/injected``, ``metadata-enrichment.dynatrace.com/injected``,
  ``dynakube.dynatrace.com/injected``.
"""

from __future__ import annotations

import base64
import copy
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from e2e_kube import Kube, KubeError
from e2e_seed import CODE_MODULES_VERSION, NS_INSTANCE_LABEL, OPERATOR_IMAGE, OPERATOR_NS

Obj = dict[str, Any]

INSTALL_CONTAINER = "install-oneagent"
DEFAULT_INSTALL_PATH = "/opt/dynatrace/oneagent-paas"
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _parse_bool(annotations: dict[str, str], key: str, default: bool) -> bool:
    """Go's strconv.ParseBool with a default for a missing or unparsable value (maputils.GetFieldBool)."""
    value = annotations.get(key)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return default


def _field_env(name: str, path: str) -> Obj:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def _env(name: str, value: str) -> Obj:
    return {"name": name, "value": value} if value else {"name": name}


def _selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


class Mutator:
    """The decision and the mutation, independent of HTTP."""

    def __init__(self, kube: Kube, cluster_id: str) -> None:
        self.kube = kube
        self.cluster_id = cluster_id

    # --- look-ups the operator makes
    def _dynakube(self, namespace: Obj) -> Obj | None:
        name = (namespace.get("metadata", {}).get("labels") or {}).get(NS_INSTANCE_LABEL)
        if not name:
            return None
        try:
            return self.kube.get("DynaKube", name, OPERATOR_NS)
        except KubeError:
            return None  # the operator emits a MissingDynakube event and leaves the pod alone

    def _workload(self, pod: Obj, ns: str) -> tuple[str, str]:
        """The root owner if it is a well-known workload (metadata/workload.go: findRootOwnerOfPod)."""
        md = pod.get("metadata", {})
        kind, name = "Pod", md.get("name") or md.get("generateName", "")
        known = {
            ("ReplicaSet", "apps/v1"),
            ("Deployment", "apps/v1"),
            ("StatefulSet", "apps/v1"),
            ("DaemonSet", "apps/v1"),
            ("Job", "batch/v1"),
            ("CronJob", "batch/v1"),
        }
        refs = md.get("ownerReferences") or []
        current: list[Obj] = refs
        found: tuple[str, str] | None = None
        while True:
            ctrl = next((r for r in current if r.get("controller")), None)
            if ctrl is None or (ctrl["kind"], ctrl["apiVersion"]) not in known:
                break
            found = (ctrl["kind"], ctrl["name"])
            try:
                owner = self.kube.get(ctrl["kind"], ctrl["name"], ns)
            except (KubeError, KeyError):
                break
            current = owner.get("metadata", {}).get("ownerReferences") or []
        if found:
            kind, name = found
        return kind, name

    # --- the mutation
    def mutate(self, pod_in: Obj, ns_name: str) -> Obj | None:
        """The mutated pod, or None when the webhook leaves the pod as it is."""
        pod = copy.deepcopy(pod_in)
        md = pod.setdefault("metadata", {})
        ann: dict[str, str] = md.setdefault("annotations", {}) or {}
        md["annotations"] = ann
        spec = pod.setdefault("spec", {})
        if not _parse_bool(ann, "dynatrace.com/inject", True):
            return None
        try:
            namespace = self.kube.get("Namespace", ns_name)
        except KubeError:
            return None
        dk = self._dynakube(namespace)
        if dk is None:
            return None
        dk_ann: dict[str, str] = dk.get("metadata", {}).get("annotations") or {}
        ns_labels: dict[str, str] = namespace.get("metadata", {}).get("labels") or {}
        # already injected: reinvocation only patches containers added since (none are, here)
        if _parse_bool(ann, "oneagent.dynatrace.com/injected", False) or _parse_bool(
            ann, "metadata-enrichment.dynatrace.com/injected", False
        ):
            return None
        if any(c.get("name") == INSTALL_CONTAINER for c in spec.get("initContainers") or []):
            return None

        def excluded(container: str) -> bool:
            key = f"container.inject.dynatrace.com/{container}"
            return dk_ann.get(key) == "false" or ann.get(key) == "false"

        containers: list[Obj] = spec.get("containers") or []
        if all(excluded(c["name"]) for c in containers):
            return None

        automatic = _parse_bool(dk_ann, "feature.dynatrace.com/automatic-injection", True)
        dk_spec = dk.get("spec", {})
        one_agent = dk_spec.get("oneAgent") or {}
        app_mode = one_agent.get("cloudNativeFullStack") or one_agent.get("applicationMonitoring")
        oneagent_on = (
            _parse_bool(ann, "oneagent.dynatrace.com/inject", automatic)
            and app_mode is not None
            and _selector_matches((app_mode or {}).get("namespaceSelector"), ns_labels)
        )
        meta = dk_spec.get("metadataEnrichment") or {}
        metadata_on = (
            _parse_bool(ann, "metadata-enrichment.dynatrace.com/inject", automatic)
            and bool(meta.get("enabled"))
            and _selector_matches(meta.get("namespaceSelector"), ns_labels)
        )
        if not oneagent_on and not metadata_on:
            return None

        base_name = md.get("name") or md.get("generateName", "")
        if "-" in base_name:
            base_name = base_name[: base_name.rfind("-")]
        first_sc = containers[0].get("securityContext") or {}
        pod_sc = spec.get("securityContext") or {}
        run_as_user = first_sc.get("runAsUser", pod_sc.get("runAsUser", 1001))
        run_as_group = first_sc.get("runAsGroup", pod_sc.get("runAsGroup", 1001))
        install: Obj = {
            "name": INSTALL_CONTAINER,
            "image": OPERATOR_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "args": ["init"],
            "env": [
                _env("FAILURE_POLICY", ann.get("oneagent.dynatrace.com/failure-policy", "silent")),
                _field_env("K8S_PODNAME", "metadata.name"),
                _field_env("K8S_PODUID", "metadata.uid"),
                _env("K8S_BASEPODNAME", base_name),
                _env("K8S_CLUSTER_ID", self.cluster_id),
                _field_env("K8S_NAMESPACE", "metadata.namespace"),
                _field_env("K8S_NODE_NAME", "spec.nodeName"),
            ],
            "securityContext": {
                "capabilities": {"drop": ["ALL"]},
                "privileged": False,
                "runAsUser": run_as_user,
                "runAsGroup": run_as_group,
                "runAsNonRoot": run_as_user != 0 and run_as_group != 0,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
            },
            "resources": {
                "requests": {"cpu": "30m", "memory": "30Mi"},
                "limits": {"cpu": "100m", "memory": "60Mi"},
            },
            "volumeMounts": [],
        }
        volumes: list[Obj] = spec.setdefault("volumes", [])

        if oneagent_on:
            install_path = ann.get("oneagent.dynatrace.com/install-path", DEFAULT_INSTALL_PATH)
            volumes += [
                {"name": "injection-config", "secret": {"secretName": "dynatrace-dynakube-config"}},
                {
                    "name": "oneagent-bin",
                    "csi": {
                        "driver": "csi.oneagent.dynatrace.com",
                        "readOnly": False,
                        "volumeAttributes": {"dynakube": dk["metadata"]["name"], "mode": "app"},
                    },
                },
                {"name": "oneagent-share", "emptyDir": {}},
            ]
            version = (dk.get("status", {}).get("codeModules") or {}).get("version", CODE_MODULES_VERSION)
            install["env"] += [
                _env("FLAVOR", ann.get("oneagent.dynatrace.com/flavor", "")),
                _env("TECHNOLOGIES", ann.get("oneagent.dynatrace.com/technologies", "all")),
                _env("INSTALLPATH", install_path),
                _env("INSTALLER_URL", ann.get("oneagent.dynatrace.com/installer-url", "")),
                _env("VERSION", version),
                _env("ONEAGENT_INJECTED", "true"),
            ]
            install["volumeMounts"] += [
                {"name": "oneagent-bin", "mountPath": "/mnt/bin"},
                {"name": "oneagent-share", "mountPath": "/mnt/share"},
            ]
            metadata_value = (
                "orchestration_tech=Operator-cloud_native_fullstack;script_version=v1.2.2;"
                f"orchestrator_id={self.cluster_id}"
            )
            count = 0
            for c in containers:
                if excluded(c["name"]):
                    continue
                count += 1
                install["env"] += [
                    _env(f"CONTAINER_{count}_NAME", c["name"]),
                    _env(f"CONTAINER_{count}_IMAGE", c.get("image", "")),
                ]
                c.setdefault("volumeMounts", []).extend(
                    [
                        {"name": "oneagent-share", "mountPath": "/etc/ld.so.preload", "subPath": "ld.so.preload"},
                        {"name": "oneagent-bin", "mountPath": install_path},
                        {
                            "name": "oneagent-share",
                            "mountPath": "/var/lib/dynatrace/oneagent/agent/config/container.conf",
                            "subPath": f"container_{c['name']}.conf",
                        },
                    ]
                )
                env: list[Obj] = c.setdefault("env", [])
                if not any(e.get("name") == "DT_DEPLOYMENT_METADATA" for e in env):
                    env.append({"name": "DT_DEPLOYMENT_METADATA", "value": metadata_value})
                preload = f"{install_path}/agent/lib64/liboneagentproc.so"
                existing = next((e for e in env if e.get("name") == "LD_PRELOAD"), None)
                if existing is None:
                    env.append({"name": "LD_PRELOAD", "value": preload})
                elif install_path not in existing.get("value", ""):
                    sep = " " if " " in existing.get("value", "") else ":"
                    existing["value"] = existing.get("value", "") + sep + preload
            install["env"].append(_env("CONTAINERS_COUNT", str(count)))
            install["volumeMounts"].append({"name": "injection-config", "mountPath": "/mnt/config"})
            ann["oneagent.dynatrace.com/injected"] = "true"

        if metadata_on:
            kind, name = self._workload(pod, ns_name)
            volumes += [
                {
                    "name": "metadata-enrichment-endpoint",
                    "secret": {"secretName": "dynatrace-metadata-enrichment-endpoint"},
                },
                {"name": "metadata-enrichment", "emptyDir": {}},
            ]
            for c in containers:
                if excluded(c["name"]):
                    continue
                c.setdefault("volumeMounts", []).extend(
                    [
                        {
                            "name": "metadata-enrichment",
                            "mountPath": "/var/lib/dynatrace/enrichment/dt_metadata.properties",
                            "subPath": "dt_metadata.properties",
                        },
                        {
                            "name": "metadata-enrichment",
                            "mountPath": "/var/lib/dynatrace/enrichment/dt_metadata.json",
                            "subPath": "dt_metadata.json",
                        },
                        {
                            "name": "metadata-enrichment-endpoint",
                            "mountPath": "/var/lib/dynatrace/enrichment/endpoint",
                        },
                    ]
                )
            install["env"] += [
                _env("DT_WORKLOAD_KIND", kind),
                _env("DT_WORKLOAD_NAME", name),
                _env("METADATA_ENRICHMENT_INJECTED", "true"),
            ]
            install["volumeMounts"].append({"name": "metadata-enrichment", "mountPath": "/tmp/enrichment"})
            ann["metadata-enrichment.dynatrace.com/injected"] = "true"
            ann["metadata.dynatrace.com/k8s.workload.kind"] = kind.lower()
            ann["metadata.dynatrace.com/k8s.workload.name"] = name

        spec.setdefault("initContainers", []).append(install)
        ann["dynakube.dynatrace.com/injected"] = "true"
        return pod


def _patch(before: Obj, after: Obj) -> list[Obj]:
    ops: list[Obj] = []
    if before.get("metadata", {}).get("annotations") != after["metadata"].get("annotations"):
        ops.append({"op": "add", "path": "/metadata/annotations", "value": after["metadata"]["annotations"]})
    for key in ("initContainers", "containers", "volumes"):
        if before.get("spec", {}).get(key) != after["spec"].get(key):
            ops.append({"op": "add", "path": f"/spec/{key}", "value": after["spec"][key]})
    return ops


class DynatraceWebhook:
    """The HTTPS server. ``start()``/``stop()`` may be called repeatedly (the fault scenario stops it)."""

    def __init__(self, mutator: Mutator, cert: Path, key: Path, port: int) -> None:
        self.mutator = mutator
        self.port = port
        self.requests: list[Obj] = []  # every admission request seen: {"kind", "namespace", "mutated"}
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(str(cert), str(key))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                review = json.loads(self.rfile.read(length) or b"{}")
                body = json.dumps(hook.review(self.path, review)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.socket = self._ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="dynatrace-webhook", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def review(self, path: str, review: Obj) -> Obj:
        req = review.get("request") or {}
        response: Obj = {"uid": req.get("uid", ""), "allowed": True}
        out = {"apiVersion": review.get("apiVersion", "admission.k8s.io/v1"), "kind": "AdmissionReview"}
        record: Obj = {"path": path, "kind": (req.get("kind") or {}).get("kind"), "namespace": req.get("namespace")}
        self.requests.append(record)
        if path.startswith("/inject") and record["kind"] == "Pod":
            pod = req.get("object") or {}
            try:
                mutated = self.mutator.mutate(pod, req.get("namespace", ""))
            except Exception as exc:  # the operator answers errors with an empty patch and a message
                response["status"] = {"message": f"Failed to inject into pod: {exc}"}
                mutated = None
            record["mutated"] = mutated is not None
            if mutated is not None:
                ops = _patch(pod, mutated)
                response["patchType"] = "JSONPatch"
                response["patch"] = base64.b64encode(json.dumps(ops).encode()).decode()
        out["response"] = response
        return out
