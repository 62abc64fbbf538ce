"""Narrow a snapshot to a namespace and/or a label selector, as kubectl's ``-n`` and ``-l`` do."""

from __future__ import annotations

from podmortem.model.objects import CONTROLLER_KINDS, RawObject, as_dict, labels, namespace, pod_template
from podmortem.model.snapshot import Snapshot

WORKLOAD_KINDS = frozenset(CONTROLLER_KINDS)


def parse_selector(text: str) -> list[tuple[str, str, str]]:
    """Parse ``a=b,c!=d,e,!f`` into ``(key, op, value)`` triples; raises ValueError on bad syntax."""
    out: list[tuple[str, str, str]] = []
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        if "!=" in part:
            k, v = part.split("!=", 1)
            out.append((k.strip(), "!=", v.strip()))
        elif "==" in part or "=" in part:
            k, v = part.split("==", 1) if "==" in part else part.split("=", 1)
            out.append((k.strip(), "=", v.strip()))
        elif part.startswith("!"):
            out.append((part[1:].strip(), "!", ""))
        else:
            out.append((part, "exists", ""))
        if not out[-1][0]:
            raise ValueError(f"bad label selector {text!r}")
    return out


def selector_ok(sel: list[tuple[str, str, str]], lab: dict[str, str]) -> bool:
    """Whether labels match a parsed selector."""
    for key, op, value in sel:
        if (
            (op == "=" and lab.get(key) != value)
            or (op == "!=" and lab.get(key) == value)
            or (op == "exists" and key not in lab)
            or (op == "!" and key in lab)
        ):
            return False
    return True


def _labels_for_selection(obj: RawObject) -> dict[str, str]:
    kind = obj.get("kind")
    if kind in WORKLOAD_KINDS:
        tpl = pod_template(obj)
        if tpl is not None:
            return {k: v for k, v in as_dict(as_dict(tpl.get("metadata")).get("labels")).items() if isinstance(v, str)}
    return labels(obj)


def filter_snapshot(snap: Snapshot, *, namespace: str | None = None, selector: str | None = None) -> Snapshot:
    """A snapshot with only the objects in ``namespace`` and the pods/workloads matching ``selector``.

    Cluster-scoped objects (nodes, namespaces, webhooks) and events are kept so evidence stays complete.
    """
    if not namespace and not selector:
        return snap
    sel = parse_selector(selector) if selector else []
    out = Snapshot(snap.source, audit_events=snap.audit_events, warnings=list(snap.warnings))
    for kind, bucket in snap.objects.items():
        for obj in bucket.values():
            ns = _ns(obj)
            if namespace and ns and ns != namespace:
                continue
            if sel and (kind == "Pod" or kind in WORKLOAD_KINDS) and not selector_ok(sel, _labels_for_selection(obj)):
                continue
            out.add(obj)
    for key, text in snap.logs.items():
        if not namespace or key.namespace == namespace:
            out.logs[key] = text
    return out


def _ns(obj: RawObject) -> str:
    return namespace(obj)
