"""Run the rules over every failing workload, isolate crashing rules, and choose one cause per failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from podmortem.index import Index
from podmortem.model.findings import Finding, RuleError
from podmortem.rules.context import WorkloadContext
from podmortem.rules.registry import Candidate, Rule, all_rules


@dataclass
class EngineResult:
    """Findings (with the candidates behind them), rule errors and counts."""

    findings: list[Finding] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    workloads_checked: int = 0
    workloads_failing: int = 0
    seconds: float = 0.0


def choose(cands: list[Candidate]) -> list[Candidate]:
    """Give each failing container to the best candidate: lowest tier first, then highest confidence.

    A candidate keeps only the containers it wins; one that wins none is dropped. Workload-level claims
    (``("", "")``) never conflict.
    """
    order = sorted(cands, key=lambda c: (c.tier, -c.finding.confidence, c.finding.rule))
    taken: set[tuple[str, str]] = set()
    out: list[Candidate] = []
    for c in order:
        won = {k for k in c.claims if k == ("", "") or k not in taken}
        # A pod-level claim also blocks the pod's containers, and the other way round.
        won = {k for k in won if k == ("", "") or (k[0], "") not in taken}
        if not won:
            continue
        taken.update(k for k in won if k != ("", ""))
        taken.update((k[0], "") for k in won if k[1] and k != ("", ""))
        if won != c.claims:
            f = c.finding
            f.pods = sorted({p for p, _ in won if p}) or f.pods
            f.containers = sorted({ct for _, ct in won if ct}) or f.containers
        out.append(c)
    return out


def run(
    index: Index,
    *,
    rules: list[Rule] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> EngineResult:
    """Diagnose every workload of the index."""
    start = time.perf_counter()
    rules = rules if rules is not None else all_rules()
    result = EngineResult()
    workloads = sorted(index.workloads.values(), key=lambda w: (w.ref.namespace, w.ref.kind, w.ref.name))
    total = len(workloads)
    for n, wl in enumerate(workloads, 1):
        if on_progress is not None and (n % 500 == 0 or n == total):
            on_progress(n, total)
        result.workloads_checked += 1
        ctx = WorkloadContext(index, wl)
        if not ctx.failing:
            continue
        result.workloads_failing += 1
        cands: list[Candidate] = []
        for r in rules:
            try:
                cands.extend(r.fn(ctx))
            except Exception as exc:  # a broken rule must not end the run
                result.errors.append(RuleError(r.id, str(wl.ref), f"{type(exc).__name__}: {exc}"))
        chosen = choose(cands)
        result.candidates.extend(chosen)
        result.findings.extend(c.finding for c in chosen)
    result.findings.sort(key=lambda f: (-f.confidence, f.workload.namespace, f.workload.name, f.rule))
    result.seconds = time.perf_counter() - start
    return result
