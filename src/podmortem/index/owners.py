"""Owner chains: Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob, StatefulSet, DaemonSet, bare pods."""

from __future__ import annotations

import re
from dataclasses import dataclass

from podmortem.model.objects import (
    ObjectRef,
    RawObject,
    as_str,
    controller_ref,
    labels,
    namespace,
    pod_template,
    uid,
)
from podmortem.model.snapshot import Snapshot

_RS_HASH = re.compile(r"^(?P<base>.+)-(?P<hash>[a-z0-9]{5,10})$")
_JOB_SUFFIX = re.compile(r"^(?P<base>.+)-(?P<n>\d{8,})$")


@dataclass(frozen=True)
class Ownership:
    """Where a pod belongs: its top workload, its immediate controller, and the template it was made from."""

    workload: ObjectRef
    workload_obj: RawObject | None
    controller: ObjectRef | None
    controller_obj: RawObject | None
    template: RawObject | None  # the pod template of the immediate controller, when known
    inferred: bool  # the workload was guessed from names because an owner object was missing


def _lookup(snap: Snapshot, kind: str, ns: str, name: str, ref_uid: str) -> RawObject | None:
    obj = snap.get(kind, ns, name)
    if obj is not None and ref_uid and uid(obj) and uid(obj) != ref_uid:
        return None  # a different object of the same name (recreated)
    return obj


def resolve(
    snap: Snapshot, pod: RawObject, memo: dict[tuple[str, str, str, str], Ownership] | None = None
) -> Ownership:
    """Follow a pod's controller references up to its top workload.

    ``memo`` caches the answer per controller, for the many pods that share one (inferred owners excepted,
    since those depend on the pod's own labels).
    """
    ns = namespace(pod)
    ref = controller_ref(pod)
    if ref is None:
        me = ObjectRef.of(pod)
        return Ownership(me, pod, None, None, None, False)
    ckind, cname, cuid = as_str(ref.get("kind")), as_str(ref.get("name")), as_str(ref.get("uid"))
    key = (ckind, ns, cname, cuid)
    if memo is not None and key in memo:
        return memo[key]
    own = _resolve_controller(snap, pod, ns, ckind, cname, cuid)
    if memo is not None and not own.inferred:
        memo[key] = own
    return own


def _resolve_controller(snap: Snapshot, pod: RawObject, ns: str, ckind: str, cname: str, cuid: str) -> Ownership:
    controller = ObjectRef(ckind, ns, cname)
    cobj = _lookup(snap, ckind, ns, cname, cuid)
    template = pod_template(cobj) if cobj is not None else None
    top, top_obj, inferred = controller, cobj, cobj is None
    current = cobj
    # Walk up at most a few levels (RS -> Deployment, Job -> CronJob).
    for _ in range(4):
        if current is None:
            break
        up = controller_ref(current)
        if up is None:
            break
        ukind, uname, uuid = as_str(up.get("kind")), as_str(up.get("name")), as_str(up.get("uid"))
        uobj = _lookup(snap, ukind, ns, uname, uuid)
        top = ObjectRef(ukind, ns, uname)
        top_obj = uobj
        inferred = uobj is None
        current = uobj
    if cobj is None:
        top = _infer_top(pod, controller)
    return Ownership(top, top_obj, controller, cobj, template, inferred)


def _infer_top(pod: RawObject, controller: ObjectRef) -> ObjectRef:
    """Guess the top workload when the controller object is not in the snapshot."""
    lab = labels(pod)
    if controller.kind == "ReplicaSet":
        h = lab.get("pod-template-hash", "")
        if h and controller.name.endswith("-" + h):
            return ObjectRef("Deployment", controller.namespace, controller.name[: -len(h) - 1])
        m = _RS_HASH.match(controller.name)
        if m:
            return ObjectRef("Deployment", controller.namespace, m.group("base"))
    if controller.kind == "Job":
        m = _JOB_SUFFIX.match(controller.name)
        if m:
            return ObjectRef("CronJob", controller.namespace, m.group("base"))
    return controller
