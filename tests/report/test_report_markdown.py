"""The Markdown report: headings, the table, evidence as code spans, fenced fixes, escaping."""

from __future__ import annotations

import re

from report_cases import oom_finding

from podmortem.model.findings import Evidence, Report, TimelineEntry
from podmortem.report import OutputFormat, render
from podmortem.report.markdown import code, escape, fenced


def md(report: Report, verbose: bool = False) -> str:
    return render(report, OutputFormat.MARKDOWN, verbose=verbose)


def test_structure(report: Report) -> None:
    out = md(report)
    assert out.startswith("# podmortem diagnosis\n")
    headings = re.findall(r"^## (.+)$", out, flags=re.M)
    assert headings == [
        "Dynatrace code module breaks the .NET runtime of azp-agent",
        "sonarqube is killed for using more memory than its 2Gi limit",
        "Warnings",
    ]
    first = out[: out.index("## sonarqube")]
    for row in (
        "| Workload | `Deployment build-agents/azure-devops-agent` |",
        "| Containers | `azp-agent` |",
        "| Symptom | CrashLoopBackOff |",
        "| Category | injection |",
        "| Rule | `injection.clr-profiler` |",
        "| Confidence | high (95%) |",
        "| Injectors | `dynatrace` |",
    ):
        assert row in first
    assert "| Pods | `azure-devops-agent-6d9f7c8b45-f6cz6`, `azure-devops-agent-6d9f7c8b45-k2m9x`" in first
    assert first.index("### Evidence") < first.index("### Fix") < first.index("### Timeline")


def test_evidence_items(report: Report) -> None:
    out = md(report)
    ev = out[out.index("### Evidence") : out.index("### Fix")]
    kinds = re.findall(r"^- \*\*([a-z-]+)\*\*", ev, flags=re.M)
    assert kinds == ["log", "exit-code", "mutation", "webhook", "peer", "timeline"]
    assert "(`logs/build-agents/azure-devops-agent-6d9f7c8b45-f6cz6/azp-agent.previous.log:14`)" in ev
    assert "  ```text\n  Unhandled exception. System.TypeInitializationException" in ev
    assert "(`mutatingwebhookconfigurations/dynatrace-webhook`)" in ev


def test_fixes_are_fenced(report: Report) -> None:
    out = md(report)
    fix = out[out.index("### Fix") : out.index("### Timeline")]
    assert re.findall(r"^\d\. \*\*\[([a-z]+)\]\*\*", fix, flags=re.M) == ["safe", "manual", "unsafe"]
    assert "   ```sh\n   kubectl -n build-agents patch deployment azure-devops-agent --type strategic -p '" in fix
    assert (
        "   ```yaml\n   # strategic patch for Deployment build-agents/azure-devops-agent\n   spec:\n"
        "     template:\n       metadata:\n         annotations:\n"
        "           oneagent.dynatrace.com/inject: 'false'\n   ```"
    ) in fix
    assert fix.count("```") % 2 == 0


def test_fences_balanced_and_no_double_blank_lines(report: Report) -> None:
    out = md(report, verbose=True)
    assert len(re.findall(r"^\s*```", out, flags=re.M)) % 2 == 0
    assert "\n\n\n" not in out


def test_escaping() -> None:
    f = oom_finding()
    f.title = "limit *2Gi* | <b>bold</b> `x`"
    f.evidence = [
        Evidence("log", "panic: runtime error: index out of range [3] with length 3 | `tick`", "logs/a|b.log"),
        Evidence("event", "Back-off restarting failed container", "events/ci/sonarqube-0.17c"),
    ]
    f.containers = ["odd|name"]
    r = Report(
        tool_version="0.1.0",
        source={"type": "bundle", "name": "b"},
        findings=[f],
        workloads_checked=1,
        workloads_failing=1,
    )
    out = md(r)
    assert "## limit \\*2Gi\\* \\| \\<b\\>bold\\</b\\> \\`x\\`" in out
    assert "| Containers | `odd\\|name` |" in out
    assert "``panic: runtime error: index out of range [3] with length 3 | `tick```" not in out
    assert "`` panic: runtime error: index out of range [3] with length 3 | `tick` ``" in out
    assert escape("a_b") == "a\\_b"
    assert code("a`b") == "``a`b``"
    assert fenced("x\n```\ny", "text")[0] == "````text"


def test_long_timeline_keeps_the_last_entries() -> None:
    f = oom_finding()
    f.timeline = [TimelineEntry(f"2024-05-02T09:{m:02d}:00Z", f"restart {m}") for m in range(12)]
    r = Report(
        tool_version="0.1.0",
        source={"type": "bundle", "name": "b"},
        findings=[f],
        workloads_checked=1,
        workloads_failing=1,
    )
    out = md(r)
    assert "4 earlier entries not shown." in out
    assert "restart 3 |" not in out and "restart 4 |" in out and "restart 11 |" in out
    assert "restart 0 |" in md(r, verbose=True)


def test_nothing_failing() -> None:
    r = Report(tool_version="0.1.0", source={"type": "live", "name": "aks-prod"}, workloads_checked=7)
    out = md(r)
    assert "live aks-prod: 7 workloads checked, none failing." in out
    assert "## " not in out
