"""The change operations a fingerprint's remedy records name (``changes: [{op: selector-notin, ...}]``).

Each operation is computed against the object in the snapshot, so a JSON patch appends to the list that is
really there (or creates it), a JSON-array annotation keeps its entries, and so on. An operation that cannot
be computed raises :class:`NotApplicable` with the reason, and the remedy falls back to manual steps.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from podmortem.knowledge import Injector, PodFeatures
from podmortem.model.findings import Patch
from podmortem.model.objects import (
    ObjectRef,
    RawObject,
    annotations_of,
    as_dict,
    as_list,
    as_str,
    labels,
    name,
    namespace,
)
from podmortem.remedies.common import (
    TEMPLATE_PATH,
    PlannedChange,
    dotted,
    fill,
    get_path,
    index_cache,
    nest,
    template_of,
)
from podmortem.remedies.patching import to_pointer
from podmortem.remedies.selection import View, cr_mode, selector_path


class NotApplicable(Exception):
    """An operation cannot be computed from the snapshot (the reason is the message)."""


class NothingToDo(NotApplicable):
    """The object already is as the operation would make it."""


@dataclass
class OpContext:
    """What an operation needs: the view, the injector, the workload, the CRs that select it, placeholders."""

    view: View
    inj: Injector
    workload: ObjectRef
    workload_obj: RawObject | None
    crs: list[RawObject]
    values: dict[str, str]
    helm_values: list[str] = field(default_factory=list)  # Helm value fragments when a CR is absent


def compute(ctx: OpContext, op: dict[str, Any]) -> list[PlannedChange]:
    """The changes one operation makes (one per target object)."""
    kind = as_str(op.get("op"))
    target = as_str(op.get("target"))
    if kind == "rollback-images":
        pattern = as_str(op.get("image_pattern"))
        if ctx.view.overrides:
            return rollback_images(ctx, pattern)
        cache = index_cache(ctx.view.index)
        key = ("rollback-images", pattern)
        if key not in cache:
            try:
                cache[key] = rollback_images(ctx, pattern)
            except NotApplicable as exc:
                cache[key] = exc
        found = cache[key]
        if isinstance(found, NotApplicable):
            raise NotApplicable(str(found))
        return list(found)
    if kind == "strip-template":
        return [strip_template(ctx, as_str(op.get("env_pattern")))]
    if kind == "set-template-annotation":
        return [template_annotation(ctx, op)]
    if target == "namespace":
        return [namespace_meta(ctx, op)]
    if target == "cr":
        if not ctx.crs:
            if kind == "list-add" and op.get("helm_path"):
                ctx.helm_values.append(helm_list_values(ctx, op))
            raise NotApplicable(f"no {cr_kind(ctx)} that selects the workload is in the snapshot")
        return [cr_change(ctx, cr, op) for cr in ctx.crs]
    raise NotApplicable(f"operation {kind} on {target} is not supported")


def cr_kind(ctx: OpContext) -> str:
    """The injector's CR kind (for messages)."""
    return as_str(as_dict(ctx.inj.section("selection").get("custom_resource")).get("kind")) or "custom resource"


def _ref(obj: RawObject) -> ObjectRef:
    return ObjectRef.of(obj)


def _values(ctx: OpContext, cr: RawObject | None = None) -> dict[str, str]:
    vals = dict(ctx.values)
    if cr is not None:
        crd = as_dict(ctx.inj.section("selection").get("custom_resource"))
        vals["mode"] = cr_mode(cr, crd)
        vals.setdefault("cr_namespace", namespace(cr))
    return vals


# --- custom resources -------------------------------------------------------------------------------------------


def cr_change(ctx: OpContext, cr: RawObject, op: dict[str, Any]) -> PlannedChange:
    """One operation on one CR."""
    kind = as_str(op.get("op"))
    vals = _values(ctx, cr)
    value = op.get("value")
    text = fill(as_str(value), vals) if isinstance(value, str) else None
    if kind == "selector-notin":
        crd = as_dict(ctx.inj.section("selection").get("custom_resource"))
        path = dotted(as_str(op.get("path")), vals) if op.get("path") else selector_path(crd, "namespace_selectors", cr)
        if not path:
            raise NotApplicable(f"{_ref(cr)} ({as_str(cr.get('apiVersion'))}) has no namespace selector to extend")
        key = fill(as_str(op.get("key")) or "kubernetes.io/metadata.name", vals)
        ops = selector_notin_ops(cr, path, key, text or "")
        if not ops:
            raise NothingToDo(f"{_ref(cr)} already excludes {key}={text} in {'.'.join(path)}")
        return PlannedChange(_ref(cr), Patch("json", ops), f"add {key} NotIn [{text}] to {'.'.join(path)}")
    if kind == "json-list-annotation":
        return json_list_annotation(ctx, cr, op, text or "")
    if kind in ("set-annotation", "set-label"):
        return meta_change(cr, op, vals, "annotations" if kind == "set-annotation" else "labels", merge=True)
    if kind == "set-field":
        path = dotted(as_str(op.get("path")), vals)
        if "{" in (text or "") or "{" in ".".join(path):
            raise NotApplicable("no known-good version was found in the snapshot")
        if get_path(cr, path) == text:
            raise NothingToDo(f"{_ref(cr)} already has {'.'.join(path)}={text}")
        return PlannedChange(_ref(cr), Patch("merge", nest(path, text)), f"set {'.'.join(path)} to {text}")
    if kind == "list-add":
        return list_add(cr, op, vals, text or "")
    if kind == "regex-exclude":
        return regex_exclude(cr, op, vals, text or "")
    raise NotApplicable(f"operation {kind} is not supported on a custom resource")


def selector_notin_ops(obj: RawObject, path: tuple[str, ...], key: str, value: str) -> list[dict[str, Any]]:
    """JSON patch operations that add ``key NotIn [value]`` to the label selector at ``path``.

    The selector's existing ``matchExpressions`` are kept: an existing ``NotIn`` on the same key gets the value
    appended, otherwise the expression is appended (a ``test`` guards the list as it was in the snapshot);
    a missing selector or list is created. Empty when the value is already excluded.
    """
    expr = {"key": key, "operator": "NotIn", "values": [value]}
    sel = get_path(obj, path)
    ptr = to_pointer(list(path))
    if not isinstance(sel, dict):
        return create_at(obj, path, {"matchExpressions": [expr]})
    exprs = sel.get("matchExpressions")
    if not isinstance(exprs, list):
        return [{"op": "add", "path": ptr + "/matchExpressions", "value": [expr]}]
    for i, e in enumerate(exprs):
        ed = as_dict(e)
        if ed.get("key") == key and ed.get("operator") == "NotIn":
            current = ed.get("values")
            if isinstance(current, list) and value in current:
                return []
            item = f"{ptr}/matchExpressions/{i}"
            add = (
                {"op": "add", "path": item + "/values/-", "value": value}
                if isinstance(current, list)
                else {"op": "add", "path": item + "/values", "value": [value]}
            )
            return [{"op": "test", "path": item, "value": e}, add]
    return [
        {"op": "test", "path": ptr + "/matchExpressions", "value": exprs},
        {"op": "add", "path": ptr + "/matchExpressions/-", "value": expr},
    ]


def create_at(obj: RawObject, path: tuple[str, ...], leaf: Any) -> list[dict[str, Any]]:
    """One JSON patch ``add`` that creates ``leaf`` at ``path``, with the missing parent objects around it."""
    cur: dict[str, Any] = obj
    i = 0
    while i < len(path) - 1:
        nxt = cur.get(path[i])
        if not isinstance(nxt, dict):
            break
        cur = nxt
        i += 1
    return [{"op": "add", "path": to_pointer(list(path[: i + 1])), "value": nest(path[i + 1 :], leaf)}]


def json_list_annotation(ctx: OpContext, cr: RawObject, op: dict[str, Any], item: str) -> PlannedChange:
    """Add an item to an annotation that holds a JSON array, keeping its entries (or the defaults)."""
    key = as_str(op.get("key"))
    current = annotations_of(cr).get(key)
    if current is not None:
        try:
            data = json.loads(current)
        except ValueError as exc:
            raise NotApplicable(f"{_ref(cr)} annotation {key} is not a JSON array: {exc}") from None
        if not isinstance(data, list):
            raise NotApplicable(f"{_ref(cr)} annotation {key} is not a JSON array")
        entries = [str(x) for x in data]
        kept = "the entries already there"
    else:
        defaults = as_list(op.get("defaults")) or as_list(
            as_dict(as_dict(ctx.inj.section("selection").get("custom_resource")).get("ignored_namespaces")).get(
                "defaults"
            )
        )
        entries = [as_str(d).replace("{operator_namespace}", namespace(cr)) for d in defaults]
        kept = "the defaults"
    if item in entries:
        raise NothingToDo(f"{_ref(cr)} annotation {key} already holds {item}")
    new = [*entries, item]
    body = {"metadata": {"annotations": {key: json.dumps(new, separators=(",", ":"))}}}
    return PlannedChange(_ref(cr), Patch("merge", body), f"add {item} to annotation {key} (keeping {kept})")


def meta_change(obj: RawObject, op: dict[str, Any], vals: dict[str, str], where: str, *, merge: bool) -> PlannedChange:
    """Set (or, with a null value, remove) labels or annotations of an object."""
    current = annotations_of(obj) if where == "annotations" else labels(obj)
    value = op.get("value")
    text = fill(value, vals) if isinstance(value, str) else None
    pattern = as_str(op.get("key_pattern"))
    keys = [k for k in current if re.search(pattern, k)] if pattern else [fill(as_str(op.get("key")), vals)]
    items: dict[str, str | None] = {}
    for k in keys:
        if text is None:
            if k in current:
                items[k] = None
        elif current.get(k) != text:
            items[k] = text
    if not items:
        what = f"keys matching {pattern}" if pattern else ", ".join(keys)
        raise NothingToDo(f"{_ref(obj)} needs no change to its {where} ({what})")
    desc = ", ".join(f"{k}={v}" if v is not None else f"remove {k}" for k, v in items.items())
    return PlannedChange(_ref(obj), Patch("merge" if merge else "strategic", {"metadata": {where: items}}), desc)


def list_add(cr: RawObject, op: dict[str, Any], vals: dict[str, str], value: str) -> PlannedChange:
    """Add a value to a list field, or remove it from the exclusive list (enabled vs disabled) when that is set."""
    unless = dotted(as_str(op.get("unless_path")), vals) if op.get("unless_path") else ()
    other = get_path(cr, unless) if unless else None
    ops: list[dict[str, Any]]
    if isinstance(other, list) and other:
        if value not in other:
            raise NotApplicable(f"{_ref(cr)} {'.'.join(unless)} does not hold {value}")
        i = other.index(value)
        ptr = to_pointer([*unless, str(i)])
        ops = [{"op": "test", "path": ptr, "value": value}, {"op": "remove", "path": ptr}]
        return PlannedChange(_ref(cr), Patch("json", ops), f"remove {value} from {'.'.join(unless)}")
    path = dotted(as_str(op.get("path")), vals)
    cur = get_path(cr, path)
    if isinstance(cur, list):
        if value in cur:
            raise NothingToDo(f"{_ref(cr)} {'.'.join(path)} already holds {value}")
        ptr = to_pointer(list(path))
        ops = [{"op": "test", "path": ptr, "value": cur}, {"op": "add", "path": ptr + "/-", "value": value}]
    else:
        ops = create_at(cr, path, [value])
    return PlannedChange(_ref(cr), Patch("json", ops), f"add {value} to {'.'.join(path)}")


def helm_list_values(ctx: OpContext, op: dict[str, Any]) -> str:
    """``<chart value>=<JSON list>``: the list with the value added, carrying the entries the operator shows now."""
    value = fill(as_str(op.get("value")), ctx.values)
    env = as_str(op.get("env"))
    cache = index_cache(ctx.view.index)
    key = ("env-list", env)
    if key not in cache:
        cache[key] = []
        for obj in ctx.view.of_kind("Deployment") if env else []:
            tpl = template_of(obj)
            for c in as_list(as_dict(as_dict(tpl).get("spec")).get("containers")):
                for e in as_list(as_dict(c).get("env")):
                    ed = as_dict(e)
                    if ed.get("name") == env and isinstance(ed.get("value"), str):
                        cache[key] = _parse_list(ed["value"])
    current: list[str] = list(cache[key])
    items = [*current, value] if value not in current else current
    return f"{as_str(op.get('helm_path'))}={json.dumps(items, separators=(',', ':'))}"


def _parse_list(text: str) -> list[str]:
    try:
        data = json.loads(text)
    except ValueError:
        return [t for t in re.split(r"[\s,]+", text) if t]
    return [str(x) for x in data] if isinstance(data, list) else []


_LITERAL = re.compile(r"^[A-Za-z0-9_-]+$")


def regex_exclude(cr: RawObject, op: dict[str, Any], vals: dict[str, str], value: str) -> PlannedChange:
    """Drop one name from a regex that is an alternation of literal names (``^(a|b|c)$``)."""
    path = dotted(as_str(op.get("path")), vals)
    regex = as_str(get_path(cr, path))
    body = regex
    anchored = body.startswith("^") and body.endswith("$")
    if anchored:
        body = body[1:-1]
    if body.startswith("(") and body.endswith(")") and body.count("(") == 1:
        body = body[1:-1]
    names = body.split("|") if body else []
    if not names or not all(_LITERAL.match(n) for n in names):
        raise NotApplicable(
            f"{_ref(cr)} {'.'.join(path)} is {regex!r}, not a list of names: exclude {value} by hand "
            "(RE2, the Go regex engine, has no negative lookahead)"
        )
    if value not in names:
        raise NotApplicable(f"{_ref(cr)} {'.'.join(path)} ({regex!r}) does not name {value}")
    rest = [n for n in names if n != value]
    if not rest:
        raise NotApplicable(f"{value} is the only namespace in {'.'.join(path)}: turn instrumentation off instead")
    new = "^(" + "|".join(rest) + ")$"
    ptr = to_pointer(list(path))
    ops = [{"op": "test", "path": ptr, "value": regex}, {"op": "replace", "path": ptr, "value": new}]
    return PlannedChange(_ref(cr), Patch("json", ops), f"{'.'.join(path)}: {regex!r} -> {new!r}")


# --- namespaces and workloads -------------------------------------------------------------------------------------


def namespace_meta(ctx: OpContext, op: dict[str, Any]) -> PlannedChange:
    """Set a label or annotation on the workload's namespace."""
    ns = ctx.workload.namespace
    obj = ctx.view.get(ObjectRef("Namespace", "", ns)) or {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ns},
    }
    where = "annotations" if as_str(op.get("op")) == "set-annotation" else "labels"
    return meta_change(obj, op, _values(ctx), where, merge=True)


def template_annotation(ctx: OpContext, op: dict[str, Any]) -> PlannedChange:
    """Set an annotation on the workload's pod template."""
    path = TEMPLATE_PATH.get(ctx.workload.kind)
    if path is None:
        raise NotApplicable(f"a {ctx.workload.kind}'s pod template cannot be patched in place")
    key = fill(as_str(op.get("key")), ctx.values)
    value = fill(as_str(op.get("value")), ctx.values)
    if "{" in key or "{" in value:
        raise NotApplicable("no known-good version was found in the snapshot")
    body = nest((*path, "metadata", "annotations"), {key: value})
    return PlannedChange(ctx.workload, Patch("strategic", body), f"pod template annotation {key}={value}")


def strip_template(ctx: OpContext, env_pattern: str = "") -> PlannedChange:
    """Remove what the injector wrote into the workload's own pod template (init containers, volumes, env).

    What goes: the template items the fingerprint's markers recognise, plus env vars matching ``env_pattern``
    (the rest of the agent's settings, which carry no marker of their own).
    """
    path = TEMPLATE_PATH.get(ctx.workload.kind)
    tpl = template_of(ctx.workload_obj)
    if path is None or tpl is None:
        raise NotApplicable(f"{ctx.workload}'s pod template is not in the snapshot")
    hits = ctx.inj.detect(tpl, PodFeatures.of(tpl))
    if not any(h.strength == "strong" for h in hits):
        raise NothingToDo(f"{ctx.workload}'s pod template carries nothing from {ctx.inj.vendor}")
    env_rx = re.compile(env_pattern) if env_pattern else None
    spec = as_dict(tpl.get("spec"))
    base = to_pointer(list(path)) + "/spec"
    ops: list[dict[str, Any]] = []
    removed: list[str] = []

    def drop(list_path: str, items: list[Any], gone: list[int], what: str) -> None:
        if not gone:
            return
        if len(gone) == len(items):
            ops.append({"op": "remove", "path": list_path})
        else:
            ops.extend({"op": "remove", "path": f"{list_path}/{i}"} for i in sorted(gone, reverse=True))
        removed.append(what)

    init_names = {h.name for h in hits if h.where == "init-container"}
    vol_names = {h.name for h in hits if h.where == "volume"}
    env_hits = {(h.container, h.name) for h in hits if h.where == "env"}
    mount_hits = {(h.container, h.name) for h in hits if h.where == "mount"}
    for ci, c in enumerate(as_list(spec.get("containers"))):
        cd = as_dict(c)
        cname = as_str(cd.get("name"))
        mounts = as_list(cd.get("volumeMounts"))
        gone = [
            i
            for i, m in enumerate(mounts)
            if (cname, as_str(as_dict(m).get("mountPath"))) in mount_hits or as_dict(m).get("name") in vol_names
        ]
        drop(f"{base}/containers/{ci}/volumeMounts", mounts, gone, f"{len(gone)} mount(s) of {cname}")
        envs = as_list(cd.get("env"))
        gone = [
            i
            for i, e in enumerate(envs)
            if (cname, as_str(as_dict(e).get("name"))) in env_hits
            or (env_rx is not None and env_rx.search(as_str(as_dict(e).get("name"))))
        ]
        names = ", ".join(as_str(as_dict(envs[i]).get("name")) for i in gone)
        drop(f"{base}/containers/{ci}/env", envs, gone, f"env {names} of {cname}")
    for key, wanted in (("initContainers", init_names), ("volumes", vol_names)):
        items = as_list(spec.get(key))
        gone = [i for i, item in enumerate(items) if as_str(as_dict(item).get("name")) in wanted]
        names = ", ".join(as_str(as_dict(items[i]).get("name")) for i in gone)
        drop(f"{base}/{key}", items, gone, f"{key} {names}")
    if not ops:
        raise NothingToDo(f"{ctx.workload}'s pod template carries nothing from {ctx.inj.vendor}")
    return PlannedChange(ctx.workload, Patch("json", ops), "remove " + "; ".join(removed))


def rollback_images(ctx: OpContext, pattern: str) -> list[PlannedChange]:
    """Set the operator's workloads back to the images of their previous revision (old ReplicaSets, revisions)."""
    rx = re.compile(pattern) if pattern else None
    out: list[PlannedChange] = []
    for kind in ("Deployment", "DaemonSet", "StatefulSet"):
        for obj in ctx.view.of_kind(kind):
            spec = as_dict(as_dict(template_of(obj)).get("spec"))
            groups = {key: [as_dict(c) for c in as_list(spec.get(key))] for key in ("initContainers", "containers")}
            if rx is None or not any(rx.search(as_str(c.get("image"))) for c in groups["containers"]):
                continue
            previous = previous_template(ctx.view, obj)
            if previous is None:
                continue
            prev_spec = as_dict(previous.get("spec"))
            fields: dict[str, Any] = {}
            imgs: set[str] = set()
            for key, conts in groups.items():
                old = {
                    as_str(as_dict(c).get("name")): as_str(as_dict(c).get("image")) for c in as_list(prev_spec.get(key))
                }
                changed = [
                    {"name": as_str(c.get("name")), "image": old[as_str(c.get("name"))]}
                    for c in conts
                    if old.get(as_str(c.get("name"))) and old[as_str(c.get("name"))] != as_str(c.get("image"))
                ]
                if changed:
                    fields[key] = changed
                    imgs.update(c["image"] for c in changed)
            if not fields:
                continue
            body = nest((*TEMPLATE_PATH[kind], "spec"), fields)
            out.append(
                PlannedChange(ObjectRef.of(obj), Patch("strategic", body), "image back to " + ", ".join(sorted(imgs)))
            )
    if not out:
        raise NotApplicable("no earlier operator image was found in old ReplicaSets or ControllerRevisions")
    return out


def _containers(tpl: dict[str, Any]) -> list[Any]:
    return as_list(as_dict(tpl.get("spec")).get("containers"))


def _revision(obj: RawObject) -> int:
    if as_str(obj.get("kind")) == "ControllerRevision":
        rev = obj.get("revision")
        return rev if isinstance(rev, int) else 0
    text = annotations_of(obj).get("deployment.kubernetes.io/revision", "")
    return int(text) if text.isdigit() else 0


def _children(view: View, kind: str, ns: str) -> list[RawObject]:
    """Objects of a kind in one namespace (grouped once per snapshot when nothing is replaced)."""
    if view.overrides:
        return [o for o in view.of_kind(kind) if namespace(o) == ns]
    cache = index_cache(view.index)
    key = ("by-namespace", kind)
    if key not in cache:
        grouped: dict[str, list[RawObject]] = {}
        for o in view.of_kind(kind):
            grouped.setdefault(namespace(o), []).append(o)
        cache[key] = grouped
    found: list[RawObject] = cache[key].get(ns, [])
    return found


def revisions(view: View, obj: RawObject) -> list[tuple[int, dict[str, Any]]]:
    """``(revision, pod template)`` of a workload's recorded revisions, newest first (old ReplicaSets of a
    Deployment, ControllerRevisions of a DaemonSet or StatefulSet); the current one included."""
    uid = as_str(as_dict(obj.get("metadata")).get("uid"))
    kind = as_str(obj.get("kind"))
    revs: list[tuple[int, dict[str, Any]]] = []
    child_kind = "ReplicaSet" if kind == "Deployment" else "ControllerRevision"
    for child in _children(view, child_kind, namespace(obj)):
        owners = [as_dict(r) for r in as_list(as_dict(child.get("metadata")).get("ownerReferences"))]
        if not any(r.get("uid") == uid or (r.get("kind") == kind and r.get("name") == name(obj)) for r in owners):
            continue
        tpl = template_of(child) if kind == "Deployment" else as_dict(get_path(child, ("data", "spec", "template")))
        if tpl:
            revs.append((_revision(child), tpl))
    revs.sort(key=lambda r: -r[0])
    return revs


def previous_template(view: View, obj: RawObject) -> dict[str, Any] | None:
    """The pod template of the newest revision whose images differ from the current ones (None when none)."""
    cur_images = sorted(as_str(as_dict(c).get("image")) for c in _containers(as_dict(template_of(obj))))
    for _, tpl in revisions(view, obj):
        images = sorted(as_str(as_dict(c).get("image")) for c in _containers(tpl))
        if images != cur_images:
            return tpl
    return None
