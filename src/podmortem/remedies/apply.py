"""Apply a fix plan to a cluster: server-side dry run first, resourceVersion preconditions, backup, undo.

This module and ``sources/live.py`` are the only ones that talk to a cluster; this is the only one that writes.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from podmortem.model.findings import Patch
from podmortem.model.objects import ObjectRef, RawObject, as_dict, as_str
from podmortem.remedies.fix import FixPlan

FIELD_MANAGER = "podmortem"
BACKUP_SCHEMA = "podmortem/backup/v1"
CONTENT_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}
# group/version and plural of the kinds a fix may change.
RESOURCES: dict[str, tuple[str, str]] = {
    "Deployment": ("apis/apps/v1", "deployments"),
    "StatefulSet": ("apis/apps/v1", "statefulsets"),
    "DaemonSet": ("apis/apps/v1", "daemonsets"),
    "ReplicaSet": ("apis/apps/v1", "replicasets"),
    "CronJob": ("apis/batch/v1", "cronjobs"),
    "Job": ("apis/batch/v1", "jobs"),
    "Namespace": ("api/v1", "namespaces"),
    "Node": ("api/v1", "nodes"),
    "Pod": ("api/v1", "pods"),
}


class ApplyError(Exception):
    """The fix could not be applied (one line); nothing, or only what the message says, was changed."""


class Conflict(ApplyError):
    """The object changed since the plan was made (resourceVersion precondition failed)."""


class Client(Protocol):
    """What applying needs from an API client (``sources.http.ApiClient`` provides it)."""

    def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]: ...

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]: ...


def object_path(ref: ObjectRef, api_version: str = "") -> str:
    """The API path of one object (built-in kinds, or any kind when ``api_version`` and a plural are known)."""
    if ref.kind in RESOURCES:
        prefix, plural = RESOURCES[ref.kind]
    else:
        group_version = api_version or ""
        prefix = f"apis/{group_version}" if "/" in group_version else f"api/{group_version or 'v1'}"
        plural = ref.kind.lower() + "s"
    ns = f"/namespaces/{ref.namespace}" if ref.namespace else ""
    return f"/{prefix}{ns}/{plural}/{ref.name}"


def _with_precondition(patch: Patch, resource_version: str) -> tuple[Any, str]:
    """The patch body carrying a resourceVersion precondition (merge/strategic), and its content type."""
    body = copy.deepcopy(patch.body)
    if patch.type in ("strategic", "merge") and isinstance(body, dict) and resource_version:
        md = body.setdefault("metadata", {})
        if isinstance(md, dict):
            md["resourceVersion"] = resource_version
    elif patch.type == "json" and isinstance(body, list) and resource_version:
        body = [{"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}, *body]
    return body, CONTENT_TYPES[patch.type]


@dataclass
class Applied:
    """One object changed: its reference and the resourceVersions before and after."""

    target: ObjectRef
    before_version: str
    after_version: str


@dataclass
class ApplyResult:
    """What happened: the backup file, the objects changed, and what was refused."""

    backup: str
    applied: list[Applied] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    dry_run_only: bool = False


def _status_of(exc: Exception) -> int:
    status = getattr(exc, "status", 0)
    return status if isinstance(status, int) else 0


def apply_plan(
    client: Client,
    plan: FixPlan,
    *,
    backup_dir: str,
    context: str = "",
    force: bool = False,
    dry_run_only: bool = False,
    now: Callable[[], datetime] | None = None,
) -> ApplyResult:
    """Apply a plan: check preconditions, dry-run every patch, back up the originals, then patch.

    Raises :class:`Conflict` when an object changed since the plan (its resourceVersion differs), and
    :class:`ApplyError` when a GitOps-managed object would be patched without ``force`` or the dry run fails;
    in both cases nothing has been changed.
    """
    clock = now or (lambda: datetime.now(UTC))
    result = ApplyResult(backup="", dry_run_only=dry_run_only)
    live: list[tuple[RawObject, Any, str]] = []
    for change in plan.changes:
        if change.managed_by and not force:
            raise ApplyError(
                f"{change.target} is managed by {change.managed_by}: a live patch would be reverted; put the patch "
                "in its source (podmortem fix -o yaml prints it), or pass --force"
            )
        path = object_path(change.target, as_str(change.before.get("apiVersion")))
        current = client.get_json(path)
        planned_rv = as_str(as_dict(change.before.get("metadata")).get("resourceVersion"))
        current_rv = as_str(as_dict(current.get("metadata")).get("resourceVersion"))
        if planned_rv and current_rv and planned_rv != current_rv:
            raise Conflict(
                f"{change.target} changed since the plan was made (resourceVersion {planned_rv} → {current_rv}); "
                "run podmortem fix again to plan against the current object"
            )
        body, ctype = _with_precondition(change.patch, current_rv)
        live.append((current, body, ctype))
    # Server-side dry run of every change before any is made.
    for change, (_current, body, ctype) in zip(plan.changes, live, strict=True):
        path = object_path(change.target, as_str(change.before.get("apiVersion")))
        try:
            client.request_json(
                "PATCH",
                path,
                params={"dryRun": "All", "fieldManager": FIELD_MANAGER},
                body=body,
                content_type=ctype,
            )
        except Exception as exc:
            if _status_of(exc) == 409:
                raise Conflict(f"{change.target} changed while planning: {exc}") from exc
            raise ApplyError(f"the server-side dry run of the patch to {change.target} failed: {exc}") from exc
    if dry_run_only:
        return result
    result.backup = write_backup([c for c, _, _ in live], plan, backup_dir=backup_dir, context=context, stamp=clock())
    for change, (current, body, ctype) in zip(plan.changes, live, strict=True):
        path = object_path(change.target, as_str(change.before.get("apiVersion")))
        try:
            after = client.request_json(
                "PATCH", path, params={"fieldManager": FIELD_MANAGER}, body=body, content_type=ctype
            )
        except Exception as exc:
            done = ", ".join(str(a.target) for a in result.applied) or "nothing"
            if _status_of(exc) == 409:
                raise Conflict(f"{change.target} changed during apply (already changed: {done}): {exc}") from exc
            raise ApplyError(f"patching {change.target} failed (already changed: {done}): {exc}") from exc
        result.applied.append(
            Applied(
                change.target,
                as_str(as_dict(current.get("metadata")).get("resourceVersion")),
                as_str(as_dict(after.get("metadata")).get("resourceVersion")),
            )
        )
    return result


def write_backup(originals: list[RawObject], plan: FixPlan, *, backup_dir: str, context: str, stamp: datetime) -> str:
    """Save the original objects and the patches about to be applied; returns the backup file's path."""
    os.makedirs(backup_dir, exist_ok=True)
    name = f"podmortem-backup-{stamp.strftime('%Y%m%dT%H%M%SZ')}-{plan.finding.id}.json"
    path = os.path.join(backup_dir, name)
    doc = {
        "schema": BACKUP_SCHEMA,
        "created": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "context": context,
        "finding": plan.finding.id,
        "rule": plan.finding.rule,
        "remedy": plan.remedy.id,
        "changes": [
            {"target": c.target.to_dict(), "patch": c.patch.to_dict(), "original": o}
            for c, o in zip(plan.changes, originals, strict=True)
        ],
    }
    with open(path, "x", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
    return path


def read_backup(path: str) -> dict[str, Any]:
    """Load a backup written by :func:`write_backup` (ApplyError with one line when it is not one)."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ApplyError(f"cannot read backup '{path}': {exc}") from exc
    if not isinstance(doc, dict) or doc.get("schema") != BACKUP_SCHEMA:
        raise ApplyError(f"'{path}' is not a podmortem backup (schema {BACKUP_SCHEMA})")
    return doc


def reverse_patch(applied: Any, original: Any) -> Any:
    """A patch that puts back, at every place ``applied`` touched, what ``original`` had (null: it had nothing).

    Lists of objects with a ``name`` (containers, env, volumes) are matched by name, as strategic merge does.
    """
    if isinstance(applied, dict):
        orig = original if isinstance(original, dict) else {}
        out: dict[str, Any] = {}
        for key, value in applied.items():
            if key == "resourceVersion":
                continue
            if key in orig:
                out[key] = reverse_patch(value, orig[key])
            elif isinstance(value, dict):
                out[key] = reverse_patch(value, {})  # every key it added goes away, nothing else
            else:
                out[key] = None
        return out
    if isinstance(applied, list) and all(isinstance(i, dict) and "name" in i for i in applied):
        by_name = {i.get("name"): i for i in original} if isinstance(original, list) else {}
        result = []
        for item in applied:
            prev = by_name.get(item.get("name"))
            if prev is None:
                result.append({"name": item["name"], "$patch": "delete"})
            else:
                rev = reverse_patch({k: v for k, v in item.items() if k != "name"}, prev)
                result.append({"name": item["name"], **rev})
        return result
    return copy.deepcopy(original)


def _touched_now(applied: Any, current: Any) -> bool:
    """Whether ``current`` still holds every value the applied patch set (nobody changed them since)."""
    if isinstance(applied, dict):
        cur = current if isinstance(current, dict) else {}
        return all(k == "resourceVersion" or _touched_now(v, cur.get(k)) for k, v in applied.items())
    if isinstance(applied, list) and all(isinstance(i, dict) and "name" in i for i in applied):
        by_name = {i.get("name"): i for i in current} if isinstance(current, list) else {}
        return all(_touched_now(i, by_name.get(i.get("name"))) for i in applied)
    return bool(applied == current)


def undo_backup(
    client: Client, backup: dict[str, Any], *, force: bool = False, dry_run_only: bool = False
) -> list[ObjectRef]:
    """Restore what a fix changed, from its backup: conflict check, dry run, then patch back."""
    steps: list[tuple[ObjectRef, str, Any, str]] = []
    for entry in backup.get("changes", []):
        t = as_dict(entry.get("target"))
        ref = ObjectRef(as_str(t.get("kind")), as_str(t.get("namespace")), as_str(t.get("name")))
        original = as_dict(entry.get("original"))
        patch = as_dict(entry.get("patch"))
        ptype = as_str(patch.get("type"))
        if ptype not in ("strategic", "merge"):
            raise ApplyError(f"cannot undo a {ptype or 'unknown'} patch of {ref} automatically; restore it by hand")
        path = object_path(ref, as_str(original.get("apiVersion")))
        current = client.get_json(path)
        if not force and not _touched_now(patch.get("body"), current):
            raise Conflict(
                f"{ref} was changed again after the fix (the patched fields no longer hold the fixed values); "
                "review it, or pass --force to restore the backed-up values anyway"
            )
        body = reverse_patch(patch.get("body"), original)
        rv = as_str(as_dict(current.get("metadata")).get("resourceVersion"))
        if isinstance(body, dict) and rv:
            body.setdefault("metadata", {})["resourceVersion"] = rv
        steps.append((ref, path, body, CONTENT_TYPES[ptype]))
    for ref, path, body, ctype in steps:
        try:
            client.request_json(
                "PATCH", path, params={"dryRun": "All", "fieldManager": FIELD_MANAGER}, body=body, content_type=ctype
            )
        except Exception as exc:
            raise ApplyError(f"the server-side dry run of restoring {ref} failed: {exc}") from exc
    if dry_run_only:
        return [r for r, _, _, _ in steps]
    for _ref, path, body, ctype in steps:
        client.request_json("PATCH", path, params={"fieldManager": FIELD_MANAGER}, body=body, content_type=ctype)
    return [r for r, _, _, _ in steps]


def wait_for_rollout(
    client: Client,
    ref: ObjectRef,
    *,
    timeout: float = 300.0,
    poll: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, str]:
    """Poll a Deployment/StatefulSet/DaemonSet until its rollout is complete; ``(done, last status line)``."""
    path = object_path(ref)
    deadline = time.monotonic() + timeout
    line = ""
    while True:
        obj = client.get_json(path)
        done, line = rollout_status(obj)
        if done or time.monotonic() >= deadline:
            return done, line
        sleep(poll)


def rollout_status(obj: RawObject) -> tuple[bool, str]:
    """Whether a workload's rollout is complete, and a line like kubectl rollout status prints."""
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    gen = as_dict(obj.get("metadata")).get("generation")
    observed = status.get("observedGeneration")
    kind = as_str(obj.get("kind"))
    if isinstance(gen, int) and isinstance(observed, int) and observed < gen:
        return False, "waiting for the controller to observe the change"
    if kind == "DaemonSet":
        want = status.get("desiredNumberScheduled", 0)
        updated = status.get("updatedNumberScheduled", 0)
        ready = status.get("numberAvailable", 0)
    else:
        want = spec.get("replicas", 1)
        updated = status.get("updatedReplicas", 0)
        ready = status.get("availableReplicas", status.get("readyReplicas", 0))
    total = status.get("replicas", want)
    line = f"{updated} of {want} updated replicas, {ready} available"
    done = updated == want and ready == want and total == want
    return bool(done), line
