"""A small Kubernetes REST client for the end-to-end tests: just what setting up scenarios needs (create, get,
list, patch, delete, wait), over HTTPS with client certificates or a bearer token. podmortem itself is always run
as a separate process against the kubeconfig; this client never stands in for it."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Obj = dict[str, Any]

# kind -> (API path prefix, plural, namespaced)
_KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Node": ("/api/v1", "nodes", False),
    "Pod": ("/api/v1", "pods", True),
    "Event": ("/api/v1", "events", True),
    "Secret": ("/api/v1", "secrets", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Service": ("/api/v1", "services", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "ReplicaSet": ("/apis/apps/v1", "replicasets", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "MutatingWebhookConfiguration": (
        "/apis/admissionregistration.k8s.io/v1",
        "mutatingwebhookconfigurations",
        False,
    ),
    "CustomResourceDefinition": ("/apis/apiextensions.k8s.io/v1", "customresourcedefinitions", False),
    "CSIDriver": ("/apis/storage.k8s.io/v1", "csidrivers", False),
    "DynaKube": ("/apis/dynatrace.com/v1beta2", "dynakubes", True),
}


class KubeError(Exception):
    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(f"{method} {path}: {status} {body[:400]}")
        self.status = status
        self.body = body


@dataclass
class Kube:
    server: str
    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None
    token: str | None = None

    def __post_init__(self) -> None:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        if self.cert_file is not None and self.key_file is not None:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        self._ctx = ctx

    # --- raw requests
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Any:
        url = self.server + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise KubeError(exc.code, method, path, exc.read().decode(errors="replace")) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    # --- typed helpers
    @staticmethod
    def path(kind: str, namespace: str | None = None, name: str | None = None) -> str:
        prefix, plural, namespaced = _KINDS[kind]
        p = prefix
        if namespaced and namespace:
            p += f"/namespaces/{namespace}"
        p += f"/{plural}"
        if name:
            p += f"/{name}"
        return p

    def create(self, obj: Obj) -> Obj:
        md = obj["metadata"]
        result: Obj = self.request("POST", self.path(obj["kind"], md.get("namespace")), obj)
        return result

    def apply(self, obj: Obj) -> Obj:
        """Create, or replace the spec/labels/annotations of an existing object (good enough for set-up)."""
        try:
            return self.create(obj)
        except KubeError as exc:
            if exc.status != 409:
                raise
        md = obj["metadata"]
        patch = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status")}
        return self.patch(obj["kind"], md["name"], patch, namespace=md.get("namespace"), kind_merge=True)

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        result: Obj = self.request("GET", self.path(kind, namespace, name))
        return result

    def list(self, kind: str, namespace: str | None = None, selector: str | None = None) -> list[Obj]:
        params = {"labelSelector": selector} if selector else None
        result: Obj = self.request("GET", self.path(kind, namespace), params=params)
        items: list[Obj] = result.get("items", [])
        return items

    def patch(self, kind: str, name: str, patch: Obj, namespace: str | None = None, kind_merge: bool = False) -> Obj:
        ctype = "application/merge-patch+json" if kind_merge else "application/strategic-merge-patch+json"
        result: Obj = self.request("PATCH", self.path(kind, namespace, name), patch, content_type=ctype)
        return result

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        try:
            self.request("DELETE", self.path(kind, namespace, name), {"propagationPolicy": "Background"})
        except KubeError as exc:
            if exc.status != 404:
                raise

    def logs(self, namespace: str, pod: str, container: str, previous: bool = False) -> str:
        params = {"container": container}
        if previous:
            params["previous"] = "true"
        text = self.request("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log", params=params)
        return text if isinstance(text, str) else json.dumps(text)

    def token_for(self, namespace: str, service_account: str, seconds: int = 3600) -> str:
        review = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        }
        result = self.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token", review)
        token: str = result["status"]["token"]
        return token

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 90.0, interval: float = 0.5) -> Any:
        """Poll ``check`` until it returns something truthy; fail with ``what`` and the last value or error."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                last = check()
                if last:
                    return last
            except (KubeError, OSError) as exc:
                last = exc
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}"[:2000])
            time.sleep(interval)
