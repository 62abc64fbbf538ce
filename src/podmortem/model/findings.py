"""Findings, evidence and remedies: the data the engine produces and every renderer reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from podmortem.model.objects import ObjectRef

SCHEMA = "podmortem/diagnosis/v1"

CATEGORIES = (
    "injection",
    "oom",
    "image-pull",
    "config",
    "application",
    "probe",
    "scheduling",
    "volume",
    "node",
    "unknown",
)

EVIDENCE_TYPES = ("log", "exit-code", "event", "mutation", "webhook", "timeline", "peer", "state", "audit")

SAFETIES = ("safe", "unsafe", "manual")


@dataclass
class Evidence:
    """One fact behind a finding: which log line, exit code, mutation, webhook, peer or timeline fact."""

    type: str
    summary: str
    ref: str = ""
    weight: float = 0.0  # how much this piece carried the decision (0..1); not part of the JSON contract

    def to_dict(self) -> dict[str, Any]:
        """As the report's evidence object."""
        return {"type": self.type, "summary": self.summary, "ref": self.ref}


@dataclass
class Patch:
    """A patch body and its type (strategic merge, JSON merge, or JSON patch)."""

    type: str  # strategic | merge | json
    body: Any

    def to_dict(self) -> dict[str, Any]:
        """As the report's patch object."""
        return {"type": self.type, "body": self.body}


@dataclass
class Remedy:
    """One way to fix a finding, graded for safety, with the patch or commands to do it."""

    id: str
    title: str
    safety: str  # safe | unsafe | manual
    target: ObjectRef | None = None
    patch: Patch | None = None
    commands: list[str] = field(default_factory=list)
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        """As the report's remedy object."""
        return {
            "id": self.id,
            "title": self.title,
            "safety": self.safety,
            "target": self.target.to_dict() if self.target else None,
            "patch": self.patch.to_dict() if self.patch else None,
            "commands": list(self.commands),
            "notes": self.notes,
        }


@dataclass
class TimelineEntry:
    """One dated fact about a workload."""

    time: str
    event: str

    def to_dict(self) -> dict[str, str]:
        """As the report's timeline object."""
        return {"time": self.time, "event": self.event}


@dataclass
class Finding:
    """Why one failing workload fails, for one cause."""

    workload: ObjectRef
    rule: str
    category: str
    title: str
    symptom: str
    confidence: float
    pods: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    injectors: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    remedies: list[Remedy] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    explanation: str = ""

    @property
    def id(self) -> str:
        """A stable id: a hash of the workload and the rule."""
        text = f"{self.workload.kind}/{self.workload.namespace}/{self.workload.name}#{self.rule}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """As the report's finding object (ARCHITECTURE §3.2)."""
        return {
            "id": self.id,
            "workload": self.workload.to_dict(),
            "pods": list(self.pods),
            "containers": list(self.containers),
            "symptom": self.symptom,
            "category": self.category,
            "rule": self.rule,
            "title": self.title,
            "confidence": round(self.confidence, 2),
            "injectors": list(self.injectors),
            "explanation": self.explanation,
            "evidence": [e.to_dict() for e in self.evidence],
            "remedies": [r.to_dict() for r in self.remedies],
            "timeline": [t.to_dict() for t in self.timeline],
        }


@dataclass
class RuleError:
    """A rule that crashed; the run goes on and the report says so."""

    rule: str
    workload: str
    error: str


@dataclass
class Report:
    """A whole diagnosis."""

    tool_version: str
    source: dict[str, str]
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    workloads_failing: int = 0
    workloads_checked: int = 0
    errors: list[RuleError] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As the ``podmortem/diagnosis/v1`` JSON document."""
        warnings = list(self.warnings) + [f"rule {e.rule} failed on {e.workload}: {e.error}" for e in self.errors]
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "tool": {"name": "podmortem", "version": self.tool_version},
            "source": dict(self.source),
            "summary": {
                "workloads_failing": self.workloads_failing,
                "workloads_checked": self.workloads_checked,
                "findings": len(self.findings),
                "warnings": warnings,
            },
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.stats:
            out["stats"] = dict(self.stats)
        return out
