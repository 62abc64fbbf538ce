"""Narrowing a snapshot to what one workload's diagnosis needs (``podmortem collect --for WORKLOAD``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from podmortem.model.health import looks_healthy
from podmortem.model.objects import (
    CONTROLLER_KINDS,
    ObjectRef,
    RawObject,
    as_dict,
    as_str,
    containers,
    controller_ref,
    name,
    namespace,
    pod_template,
    spec,
    status,
    uid,
)
from podmortem.model.snapshot import Snapshot, SourceInfo

#: Kinds that own pods, from the pod upwards.
OWNER_KINDS = ("ReplicaSet", "Deployment", "Job", "CronJob", "StatefulSet", "DaemonSet", "ReplicationController")
#: Kinds a workload reference may name.
WORKLOAD_KINDS = (*CONTROLLER_KINDS, "Pod")
#: At most this many healthy pods with the same images are kept for comparison.
MAX_PEERS = 5

_ALIASES: dict[str, str] = {}
for _kind, _names in {
    "Pod": ("po", "pod", "pods"),
    "Deployment": ("deploy", "deployment", "deployments"),
    "ReplicaSet": ("rs", "replicaset", "replicasets"),
    "StatefulSet": ("sts", "statefulset", "statefulsets"),
    "DaemonSet": ("ds", "daemonset", "daemonsets"),
    "Job": ("job", "jobs"),
    "CronJob": ("cj", "cronjob", "cronjobs"),
    "ReplicationController": ("rc", "replicationcontroller", "replicationcontrollers"),
}.items():
    for _n in _names:
        _ALIASES[_n] = _kind

_MAX_CHAIN = 6


def kind_alias(text: str) -> str | None:
    """The kind a kubectl-style name stands for (``deploy``, ``Deployment``, ``deployments.apps``), else None."""
    return _ALIASES.get(text.strip().lower().split(".", 1)[0])


def parse_workload(text: str) -> ObjectRef:
    """``KIND/NAMESPACE/NAME`` or ``NAMESPACE/NAME`` (a Deployment) as an :class:`ObjectRef`.

    Raises ValueError (one line) for any other shape or an unknown kind.
    """
    parts = [p.strip() for p in text.strip().split("/")]
    if len(parts) == 3 and all(parts):
        k = kind_alias(parts[0])
        if k is None:
            known = ", ".join(WORKLOAD_KINDS)
            raise ValueError(f"unknown workload kind '{parts[0]}' in '{text}' (one of {known})")
        return ObjectRef(k, parts[1], parts[2])
    if len(parts) == 2 and all(parts):
        return ObjectRef("Deployment", parts[0], parts[1])
    raise ValueError(f"cannot read workload '{text}': expected KIND/NAMESPACE/NAME or NAMESPACE/NAME")


def group_of(obj: RawObject) -> str:
    """The API group of an object ("" for the core group)."""
    api = as_str(obj.get("apiVersion"))
    return api.rsplit("/", 1)[0] if "/" in api else ""


def is_extension(obj: RawObject) -> bool:
    """True for a custom resource: its group is not a built-in one (core, ``apps``, ``batch``, ``*.k8s.io``)."""
    group = group_of(obj)
    return "." in group and not group.endswith(".k8s.io")


@dataclass
class _Chain:
    """A pod's owner chain: the refs from its controller up, and the objects of those present."""

    refs: list[ObjectRef] = field(default_factory=list)
    uids: list[str] = field(default_factory=list)
    objects: list[RawObject] = field(default_factory=list)
    controller: RawObject | None = None  # the immediate controller, when present


class _Owners:
    """Owner lookups over a snapshot (by uid first, then by kind/namespace/name)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.by_uid: dict[str, RawObject] = {}
        for k in OWNER_KINDS:
            for obj in snapshot.of_kind(k):
                u = uid(obj)
                if u:
                    self.by_uid[u] = obj

    def lookup(self, ref_kind: str, ns: str, ref_name: str, ref_uid: str) -> RawObject | None:
        if ref_uid and ref_uid in self.by_uid:
            return self.by_uid[ref_uid]
        obj = self.snapshot.get(ref_kind, ns, ref_name)
        if obj is not None and ref_uid and uid(obj) and uid(obj) != ref_uid:
            return None  # a different object of the same name (recreated)
        return obj

    def chain(self, obj: RawObject) -> _Chain:
        out = _Chain()
        ns = namespace(obj)
        current: RawObject | None = obj
        for _ in range(_MAX_CHAIN):
            if current is None:
                break
            ref = controller_ref(current)
            if ref is None:
                break
            rk, rn, ru = as_str(ref.get("kind")), as_str(ref.get("name")), as_str(ref.get("uid"))
            if not rk or not rn:
                break
            ref_obj = self.lookup(rk, ns, rn, ru)
            out.refs.append(ObjectRef(rk, ns, rn))
            out.uids.append(ru or (uid(ref_obj) if ref_obj is not None else ""))
            if ref_obj is not None:
                out.objects.append(ref_obj)
                if len(out.refs) == 1:
                    out.controller = ref_obj
            current = ref_obj
        return out


def _same(ref: ObjectRef, ref_uid: str, target: ObjectRef, target_uid: str) -> bool:
    if ref != target:
        return False
    return not (ref_uid and target_uid and ref_uid != target_uid)


def _app_images(pod: RawObject, template: RawObject | None) -> set[str]:
    """Images of a pod's app containers; only those its owner's template declares, when the template is known."""
    declared: set[str] | None = None
    if template is not None:
        declared = {as_str(c.get("name")) for c in containers(as_dict(template.get("spec")))}
    return {
        as_str(c.get("image"))
        for c in containers(spec(pod))
        if as_str(c.get("image")) and (declared is None or not declared or as_str(c.get("name")) in declared)
    }


def _candidates(snapshot: Snapshot, owners: _Owners) -> list[str]:
    found: set[str] = set()
    for k in WORKLOAD_KINDS:
        for obj in snapshot.of_kind(k):
            found.add(str(ObjectRef.of(obj)))
    for pod in snapshot.of_kind("Pod"):
        for ref in owners.chain(pod).refs:
            found.add(str(ref))
    return sorted(found)


def _not_found(text: str, target: ObjectRef, candidates: list[str]) -> ValueError:
    wanted = str(target)
    same_name = [c for c in candidates if c.rsplit("/", 1)[-1] == target.name and c != wanted]
    close = difflib.get_close_matches(wanted, candidates, n=5, cutoff=0.6)
    matches = list(dict.fromkeys([*same_name, *close]))[:5]
    if matches:
        hint = "close matches: " + ", ".join(matches)
    elif candidates:
        hint = f"no close match among its {len(candidates)} workloads"
    else:
        hint = "it holds no workloads"
    return ValueError(f"no workload {wanted} ('{text}') in the snapshot; {hint}")


def _event_ref(ev: RawObject) -> tuple[ObjectRef, str] | None:
    ref = ev.get("involvedObject") if "involvedObject" in ev else ev.get("regarding")
    if not isinstance(ref, dict):
        return None
    ns = as_str(ref.get("namespace")) or namespace(ev)
    return ObjectRef(as_str(ref.get("kind")), ns, as_str(ref.get("name"))), as_str(ref.get("uid"))


def _pod_sort_key(pod: RawObject) -> tuple[bool, str, str]:
    return (as_str(status(pod).get("phase")) != "Running", namespace(pod), name(pod))


def select_for(snapshot: Snapshot, workload: str) -> Snapshot:
    """A new snapshot holding only what diagnosing ``workload`` needs.

    ``workload`` is ``KIND/NAMESPACE/NAME`` (kind as kubectl spells it: ``deploy``, ``sts``, ``Job`` …) or
    ``NAMESPACE/NAME`` (a Deployment). Kept: the workload's pods and their owners up the chain (ReplicaSet,
    Deployment, Job, CronJob, StatefulSet, DaemonSet), the workload's other ReplicaSets or Jobs, events about
    any kept object, the namespace, the nodes the pods run on, every MutatingWebhookConfiguration and
    CSIDriver, every custom resource (injector configuration such as DynaKube or Instrumentation), up to
    :data:`MAX_PEERS` healthy pods elsewhere that run the same images, the logs of the kept pods, the audit
    events about objects in the namespaces kept, and the snapshot's warnings and statistics.
    Objects are shared with ``snapshot``, not copied.

    Raises ValueError (one line, listing close matches) when the snapshot holds no such workload.
    """
    target = parse_workload(workload)
    owners = _Owners(snapshot)
    target_obj = snapshot.get(target.kind, target.namespace, target.name)
    if target_obj is None and target.kind == "Deployment" and workload.count("/") == 1:
        # "deploy/NAME" typed without a namespace: accept it when exactly one such workload exists
        alias = kind_alias(target.namespace)
        if alias is not None:
            hits = [o for o in snapshot.of_kind(alias) if name(o) == target.name]
            if len(hits) == 1:
                target, target_obj = ObjectRef.of(hits[0]), hits[0]
    target_uid = uid(target_obj) if target_obj is not None else ""

    keep: dict[int, RawObject] = {}

    def add(obj: RawObject) -> None:
        keep.setdefault(id(obj), obj)

    pods: list[RawObject] = []
    chains: dict[int, _Chain] = {}
    for pod in snapshot.of_kind("Pod"):
        if target.kind == "Pod":
            if ObjectRef.of(pod) == target:
                pods.append(pod)
                chains[id(pod)] = owners.chain(pod)
            continue
        ch = owners.chain(pod)
        if any(_same(r, u, target, target_uid) for r, u in zip(ch.refs, ch.uids, strict=True)):
            pods.append(pod)
            chains[id(pod)] = ch
    if target_obj is None and not pods:
        raise _not_found(workload, target, _candidates(snapshot, owners))

    if target_obj is not None:
        add(target_obj)
    for pod in pods:
        add(pod)
        for obj in chains[id(pod)].objects:
            add(obj)
    # The workload's own controllers that have no pods now (old ReplicaSets, finished Jobs).
    if target.kind != "Pod":
        for k in OWNER_KINDS:
            for obj in snapshot.of_kind(k):
                if namespace(obj) != target.namespace:
                    continue
                ch = owners.chain(obj)
                if any(_same(r, u, target, target_uid) for r, u in zip(ch.refs, ch.uids, strict=True)):
                    add(obj)

    # Healthy pods elsewhere with the same images: what the same software looks like when it works.
    images: set[str] = set()
    for pod in pods:
        images |= _app_images(pod, _template_of(chains[id(pod)]))
    selected_pods = {id(p) for p in pods}
    peers = sorted(
        (
            p
            for p in snapshot.of_kind("Pod")
            if id(p) not in selected_pods and looks_healthy(p) and images & _app_images(p, None)
        ),
        key=_pod_sort_key,
    )[:MAX_PEERS]
    for peer in peers:
        add(peer)

    namespaces = {target.namespace} | {namespace(p) for p in pods} | {namespace(p) for p in peers}
    namespaces.discard("")
    for ns in sorted(namespaces):
        ns_obj = snapshot.get("Namespace", "", ns)
        if ns_obj is not None:
            add(ns_obj)
    for node_name in sorted({as_str(spec(p).get("nodeName")) for p in pods} - {""}):
        node = snapshot.get("Node", "", node_name)
        if node is not None:
            add(node)
    for k in ("MutatingWebhookConfiguration", "CSIDriver"):
        for obj in snapshot.of_kind(k):
            add(obj)
    for k, bucket in snapshot.objects.items():
        if k in ("Event", "Secret"):
            continue
        for obj in bucket.values():
            if is_extension(obj):
                add(obj)

    kept_refs = {_loose(ObjectRef.of(o)) for o in keep.values()}
    kept_uids = {uid(o) for o in keep.values()} - {""}
    events: list[RawObject] = []
    for ev in snapshot.of_kind("Event"):
        about = _event_ref(ev)
        if about is None:
            continue
        ref, ref_uid = about
        if (ref_uid and ref_uid in kept_uids) or _loose(ref) in kept_refs:
            events.append(ev)

    out = Snapshot(
        SourceInfo(snapshot.source.type, snapshot.source.name, snapshot.source.collected_at),
        warnings=list(snapshot.warnings),
        stats=dict(snapshot.stats),
    )
    for obj in _ordered(snapshot, keep.values()):
        out.add(obj)
    for ev in events:
        out.add(ev)
    pod_keys = {(namespace(p), name(p)) for p in pods} | {(namespace(p), name(p)) for p in peers}
    for key, text in snapshot.logs.items():
        if (key.namespace, key.pod) in pod_keys:
            out.add_log(key, text)
    for audit_event in snapshot.audit_events:
        ref_ns = as_str(as_dict(audit_event.get("objectRef")).get("namespace"))
        if ref_ns in namespaces:
            out.audit_events.append(audit_event)
    return out


_CLUSTER_SCOPED = frozenset({"Node", "Namespace", "MutatingWebhookConfiguration", "CSIDriver"})


def _loose(ref: ObjectRef) -> ObjectRef:
    """Cluster-scoped objects are matched by kind and name alone (a node's events live in ``default``)."""
    return ObjectRef(ref.kind, "", ref.name) if ref.kind in _CLUSTER_SCOPED else ref


def _template_of(chain: _Chain) -> RawObject | None:
    return pod_template(chain.controller) if chain.controller is not None else None


def _ordered(snapshot: Snapshot, objects: Iterable[RawObject]) -> list[RawObject]:
    """The kept objects in the order the source snapshot holds them."""
    wanted = {id(o) for o in objects}
    return [o for bucket in snapshot.objects.values() for o in bucket.values() if id(o) in wanted]


__all__ = ["MAX_PEERS", "is_extension", "parse_workload", "select_for"]
