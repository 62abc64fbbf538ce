"""What every remedy planner shares: the planned-remedy type, object paths, owners of manifests, quantities."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from podmortem.index import Index
from podmortem.model.findings import Patch, Remedy
from podmortem.model.objects import ObjectRef, RawObject, annotations_of, as_dict, as_list, as_str, labels

# Where a workload keeps its pod template.
TEMPLATE_PATH: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# kubectl resource names.
RESOURCE: dict[str, str] = {
    "Deployment": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "ReplicaSet": "replicaset",
    "ReplicationController": "replicationcontroller",
    "CronJob": "cronjob",
    "Job": "job",
    "Pod": "pod",
    "Namespace": "namespace",
    "Node": "node",
    "DynaKube": "dynakube",
    "DatadogAgent": "datadogagent",
    "Clusteragent": "clusteragents.cluster.appdynamics.com",
    "MutatingWebhookConfiguration": "mutatingwebhookconfiguration",
}
CR_RESOURCE_BY_GROUP = {
    ("Instrumentation", "newrelic.com"): "instrumentations.newrelic.com",
    ("Instrumentation", "opentelemetry.io"): "instrumentations.opentelemetry.io",
}
ROLLOUT_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

# How a manifest's owner shows on the object: (where, key, value or "" for any, tool). First hit wins.
GITOPS_MARKERS = (
    ("label", "kustomize.toolkit.fluxcd.io/name", "", "Flux"),
    ("label", "helm.toolkit.fluxcd.io/name", "", "Flux"),
    ("label", "argocd.argoproj.io/instance", "", "Argo CD"),
    ("annotation", "argocd.argoproj.io/tracking-id", "", "Argo CD"),
    ("annotation", "meta.helm.sh/release-name", "", "Helm"),
    ("label", "app.kubernetes.io/managed-by", "Helm", "Helm"),
)


_CACHES: WeakKeyDictionary[Index, dict[Any, Any]] = WeakKeyDictionary()


def index_cache(index: Index) -> dict[Any, Any]:
    """Facts remedy planners compute once per snapshot (shared by every finding of a diagnosis)."""
    cache = _CACHES.get(index)
    if cache is None:
        cache = _CACHES[index] = {}
    return cache


@dataclass
class PlannedChange:
    """One object a remedy changes, and the patch that changes it (computed against the snapshot object)."""

    target: ObjectRef
    patch: Patch
    why: str = ""


@dataclass
class PlannedRemedy(Remedy):
    """A remedy with every change it makes (a remedy may touch several objects: nodes, a workload, a CR).

    ``target``/``patch`` of the base class hold the first change, for the diagnosis report; ``changes`` holds
    them all, for ``podmortem fix``. ``plan_notes`` are facts a reviewer needs before applying (DaemonSets that
    still land on a tainted pool, webhooks that still mutate the pods, why a pod patch would not stick).
    """

    changes: list[PlannedChange] = field(default_factory=list)
    injector: str = ""
    plan_notes: list[str] = field(default_factory=list)
    exclusion: bool = False  # it keeps the injector out of the workload's new pods (checked by plan_fix)


def build(
    rid: str,
    title: str,
    safety: str,
    *,
    changes: list[PlannedChange] | None = None,
    commands: list[str] | None = None,
    effect: str = "",
    side_effects: str = "",
    notes: list[str] | None = None,
    injector: str = "",
    plan_notes: list[str] | None = None,
    exclusion: bool = False,
) -> PlannedRemedy:
    """A planned remedy; its report notes are the effect, the side effects and any further notes."""
    ch = list(changes or [])
    paras = [squash(effect)] if effect else []
    if side_effects:
        paras.append("Side effects: " + squash(side_effects))
    paras.extend(squash(n) for n in notes or [] if n)
    return PlannedRemedy(
        id=rid,
        title=squash(title),
        safety=safety if ch or safety != "safe" else "manual",
        target=ch[0].target if ch else None,
        patch=ch[0].patch if ch else None,
        commands=list(commands or []),
        notes="\n\n".join(p for p in paras if p),
        changes=ch,
        injector=injector,
        plan_notes=[squash(n) for n in plan_notes or [] if n],
        exclusion=exclusion,
    )


def squash(text: str) -> str:
    """Text with runs of whitespace (YAML folding, indentation) made single spaces."""
    return " ".join(text.split())


def nest(path: tuple[str, ...], leaf: Any) -> dict[str, Any]:
    """``{"a": {"b": leaf}}`` for the path ``("a", "b")``."""
    body: Any = leaf
    for key in reversed(path):
        body = {key: body}
    out: dict[str, Any] = body
    return out


def get_path(obj: Any, path: tuple[str, ...] | list[str]) -> Any:
    """The value at a path of keys (None when any step is missing)."""
    cur = obj
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


def dotted(path: str, values: dict[str, str] | None = None) -> tuple[str, ...]:
    """A dotted field path (``spec.oneAgent.{mode}.namespaceSelector``) as keys, placeholders filled."""
    text = fill(path, values or {})
    return tuple(p for p in text.split(".") if p)


def fill(text: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders that have a value; leave the others as they are."""

    def sub(m: re.Match[str]) -> str:
        return values.get(m.group(1), m.group(0))

    return re.sub(r"\{([a-z_]+)\}", sub, text)


def template_of(obj: RawObject | None) -> dict[str, Any] | None:
    """A workload's pod template (a bare Pod is its own template)."""
    if obj is None:
        return None
    kind = as_str(obj.get("kind"))
    if kind == "Pod":
        return {"metadata": as_dict(obj.get("metadata")), "spec": as_dict(obj.get("spec"))}
    path = TEMPLATE_PATH.get(kind) or (("spec", "template") if kind == "Job" else None)
    tpl = get_path(obj, path) if path else None
    return tpl if isinstance(tpl, dict) else None


def template_containers(tpl: dict[str, Any] | None, *, init: bool = False) -> list[dict[str, Any]]:
    """The (init) containers of a pod template."""
    spec = as_dict(as_dict(tpl).get("spec"))
    return [as_dict(c) for c in as_list(spec.get("initContainers" if init else "containers")) if isinstance(c, dict)]


def managed_by(obj: RawObject | None) -> str:
    """The tool that owns an object's manifest (Helm, Argo CD, Flux), else ""."""
    if obj is None:
        return ""
    lab = labels(obj)
    ann = annotations_of(obj)
    for where, key, value, tool in GITOPS_MARKERS:
        src = lab if where == "label" else ann
        if key in src and (not value or src[key] == value):
            return tool
    return ""


def gitops_note(tool: str, ref: ObjectRef) -> str:
    """What to do instead of a live patch when a tool owns the manifest."""
    if not tool:
        return ""
    where = {
        "Helm": "the Helm release (helm upgrade with changed values, or helm rollback)",
        "Argo CD": "the Git repository Argo CD syncs from",
        "Flux": "the Git repository or HelmRelease Flux reconciles",
    }.get(tool, "its source")
    return (
        f"{ref} is managed by {tool}: a live patch is reverted at its next sync or upgrade, so make the same "
        f"change in {where} and let {tool} roll it out."
    )


def resource(ref: ObjectRef, api_version: str = "") -> str:
    """The kubectl resource name of a kind (a custom resource's plural.group when it is ambiguous)."""
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    return CR_RESOURCE_BY_GROUP.get((ref.kind, group)) or RESOURCE.get(ref.kind, ref.kind.lower())


def patch_command(ref: ObjectRef, patch: Patch, api_version: str = "") -> str:
    """The ``kubectl patch`` command that applies a patch."""
    ns = f"-n {ref.namespace} " if ref.namespace else ""
    body = json.dumps(patch.body, separators=(",", ":"))
    return f"kubectl {ns}patch {resource(ref, api_version)} {ref.name} --type {patch.type} -p '{body}'"


def rollout_commands(wl: ObjectRef) -> list[str]:
    """How the change reaches new pods: a rollout, or recreating the pods of a bare controller."""
    if wl.kind in ROLLOUT_KINDS:
        return [f"kubectl -n {wl.namespace} rollout status {RESOURCE[wl.kind]}/{wl.name}"]
    if wl.kind in ("ReplicaSet", "ReplicationController"):
        return [f"kubectl -n {wl.namespace} delete pod -l <the {wl.kind}'s selector>  # recreate the pods"]
    if wl.kind == "CronJob":
        return [f"kubectl -n {wl.namespace} create job --from=cronjob/{wl.name} {wl.name}-check  # optional: run now"]
    return []


def restart_command(wl: ObjectRef) -> str:
    """How to recreate a workload's pods after a namespace- or cluster-level change."""
    if wl.kind in ROLLOUT_KINDS:
        return f"kubectl -n {wl.namespace} rollout restart {RESOURCE[wl.kind]}/{wl.name}"
    if wl.kind == "CronJob":
        return f"# the next Job of cronjob/{wl.name} gets the change"
    return f"kubectl -n {wl.namespace} delete pod <the pods of {wl}>  # recreate them"


# --- quantities -----------------------------------------------------------------------------------------------

_QTY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E))?$")
_FACTOR = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
    "Ti": 1024.0**4,
    "Pi": 1024.0**5,
    "Ei": 1024.0**6,
}


def parse_bytes(qty: str) -> float | None:
    """A Kubernetes quantity in bytes (None when it is not one)."""
    m = _QTY.match(qty.strip())
    if not m:
        return None
    number = float(m.group(1))
    if m.group(2):
        return number * 10.0 ** int(m.group(2)[1:])
    return number * _FACTOR[m.group(3) or ""]


def format_bytes(n: float) -> str:
    """Bytes as a tidy quantity: whole Gi when that is exact, else Mi rounded up to a multiple of 64."""
    mib = n / 1024**2
    if mib >= 1024 and (mib / 1024).is_integer():
        return f"{int(mib / 1024)}Gi"
    step = 64 if mib > 64 else 16
    rounded = int(-(-mib // step) * step)
    if rounded >= 1024 and rounded % 1024 == 0:
        return f"{rounded // 1024}Gi"
    return f"{rounded}Mi"


def version_tuple(text: str) -> tuple[int, ...]:
    """``"v1.2.3"`` as ``(1, 2, 3)`` (empty when no number is found)."""
    nums = re.findall(r"\d+", text.split("-", 1)[0])
    return tuple(int(n) for n in nums[:3])
