"""Read-only helpers over raw Kubernetes API objects (plain dicts as ``kubectl get -o json`` prints them).

Objects are kept as the dicts the API returned; these helpers read them defensively, so an object with
unknown or missing fields never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RawObject = dict[str, Any]

#: Kinds that own pods (controllers), top workloads first.
CONTROLLER_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet", "ReplicationController")


def as_dict(value: Any) -> dict[str, Any]:
    """Return ``value`` if it is a dict, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """Return ``value`` if it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    """Return ``value`` if it is a string, else ``""``."""
    return value if isinstance(value, str) else ""


def meta(obj: RawObject) -> dict[str, Any]:
    """The object's ``metadata``."""
    return as_dict(obj.get("metadata"))


def kind(obj: RawObject) -> str:
    """The object's kind."""
    return as_str(obj.get("kind"))


def name(obj: RawObject) -> str:
    """The object's name."""
    return as_str(meta(obj).get("name"))


def namespace(obj: RawObject) -> str:
    """The object's namespace ("" for cluster-scoped objects)."""
    return as_str(meta(obj).get("namespace"))


def uid(obj: RawObject) -> str:
    """The object's uid ("" when absent)."""
    return as_str(meta(obj).get("uid"))


def labels(obj: RawObject) -> dict[str, str]:
    """The object's labels (string values only)."""
    return {k: v for k, v in as_dict(meta(obj).get("labels")).items() if isinstance(v, str)}


def annotations_of(obj: RawObject) -> dict[str, str]:
    """The object's annotations (string values only)."""
    return {k: v for k, v in as_dict(meta(obj).get("annotations")).items() if isinstance(v, str)}


def created(obj: RawObject) -> str:
    """The object's creationTimestamp ("" when absent)."""
    return as_str(meta(obj).get("creationTimestamp"))


def owner_refs(obj: RawObject) -> list[dict[str, Any]]:
    """The object's ownerReferences."""
    return [as_dict(r) for r in as_list(meta(obj).get("ownerReferences")) if isinstance(r, dict)]


def controller_ref(obj: RawObject) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true``, else the first one, else None."""
    refs = owner_refs(obj)
    for ref in refs:
        if ref.get("controller") is True:
            return ref
    return refs[0] if refs else None


def spec(obj: RawObject) -> dict[str, Any]:
    """The object's ``spec``."""
    return as_dict(obj.get("spec"))


def status(obj: RawObject) -> dict[str, Any]:
    """The object's ``status``."""
    return as_dict(obj.get("status"))


def pod_template(obj: RawObject) -> dict[str, Any] | None:
    """The pod template of a workload object (``spec.template``, or ``spec.jobTemplate.spec.template``)."""
    s = spec(obj)
    if kind(obj) == "CronJob":
        s = as_dict(as_dict(s.get("jobTemplate")).get("spec"))
    tpl = s.get("template")
    return tpl if isinstance(tpl, dict) else None


def containers(pod_spec: dict[str, Any], *, init: bool = False) -> list[dict[str, Any]]:
    """Containers (or init containers) of a pod spec."""
    key = "initContainers" if init else "containers"
    return [c for c in as_list(pod_spec.get(key)) if isinstance(c, dict)]


@dataclass(frozen=True, order=True)
class ObjectRef:
    """A reference to an object by kind, namespace and name."""

    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: RawObject) -> ObjectRef:
        """The reference of a raw object."""
        return cls(kind(obj), namespace(obj), name(obj))

    def to_dict(self) -> dict[str, str]:
        """As the report's ``{"kind", "namespace", "name"}`` object."""
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name}

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"
