"""The library entry point: diagnose a snapshot into a report."""

from __future__ import annotations

from collections.abc import Callable

from podmortem import __version__
from podmortem.engine import run
from podmortem.index import Index
from podmortem.model.findings import Report
from podmortem.model.snapshot import Snapshot
from podmortem.remedies import attach


def diagnose(snapshot: Snapshot, *, on_progress: Callable[[int, int], None] | None = None) -> Report:
    """Find why the failing workloads of a snapshot fail, with evidence and remedies."""
    index = Index(snapshot)
    result = run(index, on_progress=on_progress)
    attach(index, result.candidates)
    return Report(
        tool_version=__version__,
        source=snapshot.source.to_dict(),
        findings=result.findings,
        warnings=list(snapshot.warnings),
        workloads_failing=result.workloads_failing,
        workloads_checked=result.workloads_checked,
        errors=result.errors,
        stats={**snapshot.stats, "diagnose_seconds": round(result.seconds, 3)} if snapshot.stats else {},
    )
