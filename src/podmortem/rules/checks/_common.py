"""Small helpers for building candidates."""

from __future__ import annotations

from podmortem.model.findings import Evidence, Finding
from podmortem.rules.context import Failure, WorkloadContext
from podmortem.rules.evidence import timeline
from podmortem.rules.registry import Candidate, confidence


def candidate(
    ctx: WorkloadContext,
    rule_id: str,
    tier: int,
    failures: list[Failure],
    title: str,
    explanation: str,
    evidence: list[Evidence],
    *,
    symptom: str = "",
    blamed: str = "",
    claims: set[tuple[str, str]] | None = None,
    pods: list[str] | None = None,
    cap: float = 0.99,
    hints: dict[str, object] | None = None,
) -> Candidate:
    """A candidate cause covering ``failures``, with its confidence computed from the evidence."""
    pod_names = pods if pods is not None else sorted({f.pod.name for f in failures})
    containers = sorted({f.container for f in failures})
    sym = symptom or (failures[0].state.symptom if failures else "")
    finding = Finding(
        workload=ctx.ref,
        rule=rule_id,
        category=rule_id.split(".", 1)[0],
        title=title,
        symptom=sym,
        confidence=confidence(evidence, cap),
        pods=pod_names,
        containers=containers,
        injectors=list(ctx.injectors),
        evidence=evidence,
        timeline=timeline(ctx, failures),
        explanation=explanation,
    )
    return Candidate(
        finding,
        tier,
        claims if claims is not None else {(f.pod.name, f.container) for f in failures},
        blamed,
        dict(hints or {}),
    )


def group_by_container(failures: list[Failure]) -> dict[str, list[Failure]]:
    """Failures grouped by container name, in first-seen order."""
    out: dict[str, list[Failure]] = {}
    for f in failures:
        out.setdefault(f.container, []).append(f)
    return out


def plural(n: int, word: str) -> str:
    """``1 pod`` / ``3 pods``."""
    return f"{n} {word}" + ("" if n == 1 else "s")
