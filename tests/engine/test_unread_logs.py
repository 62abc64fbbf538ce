"""A cause read in one pod's log covers the other pods that stop the same way but whose logs were not read."""

from __future__ import annotations

from pathlib import Path

from podmortem.api import diagnose
from podmortem.sources import open_source

SEED = Path(__file__).resolve().parents[2] / "examples" / "aks-azure-pipelines-dynatrace"


def test_pods_without_logs_join_the_cause_found_in_one_log() -> None:
    snap = open_source(str(SEED))
    keys = sorted(
        (k for k in snap.logs if k.container == "azp-agent" and k.pod.startswith("azure-devops-agent-6d9f")),
        key=lambda k: (k.pod, k.previous),
    )
    keep = keys[0].pod
    for k in keys:
        if k.pod != keep:
            del snap.logs[k]
    (finding,) = diagnose(snap).findings
    assert finding.rule == "injection.clr-profiler"
    assert len(finding.pods) == 3
    assert any("their logs were not read" in e.summary for e in finding.evidence)
