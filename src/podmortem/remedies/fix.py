"""``podmortem fix``: turn a finding's remedy into concrete changes, preview them, and write them out.

Everything here is pure: the plan is computed from the snapshot (``after`` is the patch applied to the object
the snapshot holds), a diff and kubectl-appliable YAML are rendered from it, and the injector's selection
logic checks that a pod created after the change would not be injected. Applying the plan to a cluster is
someone else's job.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from podmortem.index import Index
from podmortem.model.findings import Finding, Patch, Remedy
from podmortem.model.objects import ObjectRef, RawObject, annotations_of, as_dict, as_str
from podmortem.model.redact import is_masked, redact_object, redact_tree, sensitive_literals
from podmortem.model.snapshot import Snapshot
from podmortem.remedies.common import (
    RESOURCE,
    PlannedChange,
    PlannedRemedy,
    gitops_note,
    managed_by,
    template_of,
)
from podmortem.remedies.patching import apply_patch, merge_diff
from podmortem.remedies.selection import View, decide, would_inject

SCHEMA = "podmortem/fix-plan/v1"
SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

__all__ = [
    "SCHEMA",
    "Change",
    "FixPlan",
    "choose_remedy",
    "diagnose_index",
    "index_with",
    "plan_fix",
    "plan_to_dict",
    "to_yaml_documents",
    "unified_diff",
    "would_inject",
]


@dataclass
class Change:
    """One object a fix changes: as the snapshot has it, as it would be, and the patch between them."""

    target: ObjectRef
    before: dict[str, Any]
    after: dict[str, Any]
    patch: Patch
    managed_by: str  # Helm | Argo CD | Flux | "" (a live patch of a managed object is reverted)
    why: str = ""


@dataclass
class FixPlan:
    """A finding, the remedy chosen for it, the changes it makes, and what a reviewer must know."""

    finding: Finding
    remedy: Remedy
    changes: list[Change]
    notes: list[str] = field(default_factory=list)


def choose_remedy(finding: Finding, remedy_id: str | None = None) -> Remedy:
    """The remedy to apply: ``remedy_id`` (full id, or the part after the injector prefix), else the first safe one.

    Raises ValueError (one line, listing the choices) when there is no such remedy or no safe one.
    """
    choices = ", ".join(f"{r.id} ({r.safety})" for r in finding.remedies) or "none"
    if remedy_id:
        exact = [r for r in finding.remedies if r.id == remedy_id]
        if exact:
            return exact[0]
        short = [r for r in finding.remedies if r.id.split(".", 1)[-1] == remedy_id]
        if len(short) == 1:
            return short[0]
        raise ValueError(f"no remedy {remedy_id!r} for {finding.workload} ({finding.rule}); choose one of: {choices}")
    for r in finding.remedies:
        if r.safety == "safe" and (r.patch is not None or (isinstance(r, PlannedRemedy) and r.changes)):
            return r
    raise ValueError(f"no safe remedy for {finding.workload} ({finding.rule}); choose one with --remedy: {choices}")


def _planned(remedy: Remedy) -> list[PlannedChange]:
    if isinstance(remedy, PlannedRemedy) and remedy.changes:
        return list(remedy.changes)
    if remedy.target is not None and remedy.patch is not None:
        return [PlannedChange(remedy.target, remedy.patch)]
    return []


def _get(index: Index, ref: ObjectRef) -> RawObject | None:
    return index.snap.get(ref.kind, ref.namespace, ref.name)


def plan_fix(index: Index, finding: Finding, remedy: Remedy) -> FixPlan:
    """The concrete changes of a remedy, computed against the snapshot's objects.

    ``after`` is the patch applied to the snapshot object (strategic merge with containers, volumes and env
    merged by name; JSON merge; JSON patch). Raises ValueError (one line) when a target object is not in the
    snapshot or the patch does not apply to it.
    """
    changes: list[Change] = []
    current: dict[ObjectRef, RawObject] = {}
    for pc in _planned(remedy):
        obj = current.get(pc.target) or _get(index, pc.target)
        if obj is None:
            res = RESOURCE.get(pc.target.kind, pc.target.kind.lower())
            ns = f"-n {pc.target.namespace} " if pc.target.namespace else ""
            raise ValueError(
                f"{pc.target} is not in the snapshot; add it (kubectl {ns}get {res} {pc.target.name} -o yaml) "
                "and plan again"
            )
        try:
            after = apply_patch(obj, pc.patch)
        except ValueError as exc:
            raise ValueError(f"the {pc.patch.type} patch does not apply to {pc.target}: {exc}") from None
        current[pc.target] = after
        changes.append(Change(pc.target, copy.deepcopy(obj), after, pc.patch, managed_by(obj), pc.why))
    return FixPlan(finding, remedy, changes, _notes(index, finding, remedy, changes))


def _notes(index: Index, finding: Finding, remedy: Remedy, changes: list[Change]) -> list[str]:
    notes: list[str] = []

    def add(text: str) -> None:
        if text and text not in notes:
            notes.append(text)

    if not changes:
        add(f"{remedy.id} is a manual remedy: it changes nothing by itself. Steps: " + "; ".join(remedy.commands))
    if isinstance(remedy, PlannedRemedy):
        for n in remedy.plan_notes:
            add(n)
    for ch in changes:
        if ch.managed_by:
            add(gitops_note(ch.managed_by, ch.target))
        elif LAST_APPLIED in annotations_of(ch.before):
            add(
                f"{ch.target} was created with kubectl apply: if a pipeline applies it from a file, change that "
                "file too or the next apply undoes this fix."
            )
        if sensitive_literals(ch.before.get("spec")):
            add(
                f"{ch.target} holds literal secret values in its spec: the full manifest repeats them, so prefer "
                "the patch form, and move them to a Secret."
            )
    check = selection_check(index, finding, remedy, changes)
    if check:
        add(check)
    return notes


def selection_check(index: Index, finding: Finding, remedy: Remedy, changes: list[Change]) -> str:
    """Would the injector inject a pod created from the workload's template before and after the changes?"""
    if not isinstance(remedy, PlannedRemedy) or not remedy.exclusion:
        return ""
    inj_id = remedy.injector
    inj = index.knowledge.injectors.get(inj_id)
    wl = finding.workload
    obj = _get(index, wl)
    if inj is None or obj is None or not changes:
        return ""
    over = {c.target: c.after for c in changes}
    before_tpl = template_of(obj)
    after_tpl = template_of(over.get(wl, obj))
    if before_tpl is None or after_tpl is None:
        return ""
    before = decide(View(index), inj, before_tpl, wl.namespace)
    after = decide(View(index, over), inj, after_tpl, wl.namespace)
    if not before.injects and not after.injects:
        return f"Selection check: {inj.vendor} does not select new pods of {wl} either way ({after.reason})."
    state = "would still inject" if after.injects else "would not inject"
    return (
        f"Selection check: a pod created from {wl}'s template is injected by {inj.vendor} now "
        f"({before.reason}); after the change {inj.vendor} {state} it ({after.reason})."
    )


# --- rendering ---------------------------------------------------------------------------------------------------


def strip_server_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without what the API server owns (status, managedFields, uid, ...) and kubectl's last-applied copy."""
    src = copy.deepcopy(dict(obj))
    src.pop("status", None)
    out: dict[str, Any] = {k: src.pop(k) for k in ("apiVersion", "kind", "metadata") if k in src}
    out.update(src)
    meta = as_dict(out.get("metadata"))
    for key in SERVER_FIELDS:
        meta.pop(key, None)
    ann = as_dict(meta.get("annotations"))
    ann.pop(LAST_APPLIED, None)
    if "annotations" in meta and not ann:
        meta.pop("annotations")
    return out


def _label(ref: ObjectRef) -> str:
    return f"{ref.kind}/{ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind}/{ref.name}"


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True)


def unified_diff(change: Change) -> str:
    """The YAML of ``before`` and ``after`` (server fields stripped, secrets masked) as a unified diff."""
    before, _ = redact_object(strip_server_fields(change.before))
    after, _ = redact_object(strip_server_fields(change.after))
    label = _label(change.target)
    lines = difflib.unified_diff(
        _dump(before).splitlines(keepends=True),
        _dump(after).splitlines(keepends=True),
        fromfile=f"a/{label}",
        tofile=f"b/{label}",
    )
    return "".join(lines)


def _masked_anywhere(value: Any) -> bool:
    if isinstance(value, str):
        return is_masked(value)
    if isinstance(value, dict):
        return any(_masked_anywhere(v) for v in value.values())
    if isinstance(value, list):
        return any(_masked_anywhere(v) for v in value)
    return False


def _header(obj: Mapping[str, Any], ref: ObjectRef) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": ref.name}
    if ref.namespace:
        meta["namespace"] = ref.namespace
    return {"apiVersion": as_str(obj.get("apiVersion")), "kind": ref.kind, "metadata": meta}


def patch_document(change: Change) -> dict[str, Any]:
    """A partial manifest: apiVersion, kind, metadata (name, namespace) and only the fields the patch sets.

    Strategic and merge patches are used as they are; a JSON patch becomes the merge patch that has the same
    effect (lists sent whole). Apply with ``kubectl apply --server-side -f`` or ``kubectl patch --patch-file``.
    """
    body = change.patch.body if change.patch.type in ("strategic", "merge") else merge_diff(change.before, change.after)
    return _overlay(_header(change.before, change.target), body)


def _overlay(base: dict[str, Any], top: Any) -> dict[str, Any]:
    """``base`` with ``top`` laid over it, maps merged; nulls are kept (they remove the key when applied)."""
    out = copy.deepcopy(base)
    for key, value in as_dict(top).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _overlay(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def to_yaml_documents(plan: FixPlan, *, full: bool = True) -> str:
    """kubectl-appliable YAML: the full patched manifests, or (``full=False``) one patch document per change.

    Full manifests have status, managedFields, resourceVersion, uid, creationTimestamp, generation and the
    last-applied annotation stripped. Raises ValueError when a full manifest would write masked values
    (a redacted snapshot) back to the cluster: use ``full=False`` then.
    """
    docs = []
    for ch in plan.changes:
        if full:
            doc = strip_server_fields(ch.after)
            if _masked_anywhere(doc.get("spec")) or _masked_anywhere(doc.get("data")):
                raise ValueError(
                    f"{ch.target} holds masked values in the snapshot; a full manifest would write the masks back: "
                    "use the patch documents instead"
                )
        else:
            doc = patch_document(ch)
        docs.append(_dump(doc))
    return "---\n".join(docs)


def plan_to_dict(plan: FixPlan) -> dict[str, Any]:
    """The plan as JSON-ready data (``-o json``), secrets masked."""
    f = plan.finding
    doc = {
        "schema": SCHEMA,
        "finding": {"id": f.id, "rule": f.rule, "title": f.title, "workload": f.workload.to_dict()},
        "remedy": plan.remedy.to_dict(),
        "changes": [
            {
                "target": ch.target.to_dict(),
                "managed_by": ch.managed_by,
                "why": ch.why,
                "patch": ch.patch.to_dict(),
                "diff": unified_diff(ch),
            }
            for ch in plan.changes
        ],
        "notes": list(plan.notes),
    }
    masked, _ = redact_tree(doc)
    out: dict[str, Any] = masked
    return out


# --- helpers for callers -------------------------------------------------------------------------------------------


def index_with(index: Index, changes: list[Change]) -> Index:
    """A new index over the snapshot with the changed objects swapped in (to diagnose "after the fix")."""
    snap = index.snap
    objects = {kind: dict(bucket) for kind, bucket in snap.objects.items()}
    for ch in changes:
        objects.setdefault(ch.target.kind, {})[(ch.target.namespace, ch.target.name)] = ch.after
    new = Snapshot(
        source=snap.source,
        objects=objects,
        logs=snap.logs,
        audit_events=snap.audit_events,
        warnings=list(snap.warnings),
        stats=dict(snap.stats),
    )
    return Index(new, index.knowledge)


def diagnose_index(index: Index) -> list[Finding]:
    """Run the rules over an index and plan the remedies (what ``fix`` needs besides the report)."""
    from podmortem.engine import run
    from podmortem.remedies.plan import attach

    result = run(index)
    attach(index, result.candidates)
    return result.findings
