"""Plan remedies for findings, as data: patches computed against the snapshot, graded safe / unsafe / manual.

Every finding category gets remedies: injection findings from the blamed injector's fingerprint (pod and
namespace exclusions, custom-resource changes, version pins, operator rollback, node-pool isolation), the
ordinary causes from the workload's own facts (memory limits, probes, images) or as guidance.
"""

from __future__ import annotations

from podmortem.index import Index
from podmortem.remedies.common import PlannedRemedy, build, managed_by
from podmortem.remedies.injection import injection_remedies
from podmortem.remedies.workload import other_remedies
from podmortem.rules.registry import Candidate

__all__ = ["attach", "managed_by", "plan_remedies"]


def plan_remedies(index: Index, cand: Candidate) -> list[PlannedRemedy]:
    """Every remedy for one candidate cause, best first."""
    if cand.finding.category == "injection" and cand.blamed and cand.blamed in index.knowledge.injectors:
        return injection_remedies(index, cand)
    return other_remedies(index, cand)


def attach(index: Index, candidates: list[Candidate]) -> None:
    """Fill every candidate's finding with its remedies.

    Planning reads whatever the snapshot holds; should it fail on an object shaped in a way nobody foresaw,
    the finding keeps a manual remedy that says so instead of the whole diagnosis failing.
    """
    for cand in candidates:
        try:
            cand.finding.remedies = list(plan_remedies(index, cand))
        except Exception as exc:  # a remedy planner must never sink the diagnosis
            cand.finding.remedies = [
                build(
                    "remedy-planning-failed",
                    "no remedy could be planned",
                    "manual",
                    effect=f"Planning the remedies failed ({type(exc).__name__}: {exc}); the finding itself stands.",
                )
            ]
