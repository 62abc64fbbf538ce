"""API server audit logs: JSON lines of ``audit.k8s.io/v1`` Event (the audit log backend's format)."""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from typing import Any

from podmortem.sources._parse import describe_error


@dataclass
class AuditRead:
    """The audit events of one file, and how many lines were not audit events."""

    events: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    bad_lines: int = 0
    first_problem: str = ""


def _is_audit_event(obj: dict[str, Any]) -> bool:
    api = obj.get("apiVersion")
    if isinstance(api, str) and api.startswith("audit.k8s.io/"):
        return obj.get("kind") in ("Event", None)
    return obj.get("kind") in ("Event", None) and "auditID" in obj and "stage" in obj


def parse_audit_log(data: bytes) -> AuditRead:
    """Parse audit JSON lines. Blank lines are skipped; lines that are not audit events are counted.

    A line may also hold an ``EventList`` (as the webhook backend batches events); its items are used.
    """
    out = AuditRead()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        data = data.decode(json.detect_encoding(data), "replace").lstrip("\ufeff").encode()
    elif data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        out.lines += 1
        problem = ""
        try:
            doc = json.loads(line)
        except Exception as exc:  # any parse failure of one line is that line's problem only
            doc = None
            problem = describe_error(exc)
        if isinstance(doc, dict):
            items = doc.get("items")
            if doc.get("kind") == "EventList" and isinstance(items, list):
                good = [i for i in items if isinstance(i, dict)]
                for item in good:
                    item.setdefault("kind", "Event")
                    if "apiVersion" in doc:
                        item.setdefault("apiVersion", doc["apiVersion"])
                out.events.extend(good)
                continue
            if _is_audit_event(doc):
                out.events.append(doc)
                continue
            problem = "not an audit event"
        elif not problem:
            problem = "not a JSON object"
        out.bad_lines += 1
        if not out.first_problem:
            out.first_problem = f"line {number}: {problem}"
    return out
