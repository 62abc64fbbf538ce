"""The text report: order, wording, 80-column wrapping, colour, and the quiet cases."""

from __future__ import annotations

import re

import pytest
from report_cases import dynatrace_finding, oom_finding, seed_report

from podmortem.model.findings import Report, TimelineEntry
from podmortem.report import OutputFormat, render
from podmortem.report.common import shell_words, wrap_command

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def text(report: Report, *, width: int = 80, verbose: bool = False, color: bool = False) -> str:
    return render(report, OutputFormat.TEXT, width=width, verbose=verbose, color=color)


def _unbreakable(line: str) -> bool:
    """A line allowed past the width: one word (after indentation), optionally a shell continuation."""
    body = line.strip()
    body = body.removesuffix(" \\")
    return len(shell_words(body)) <= 1


@pytest.mark.parametrize("width", [80, 60, 100])
@pytest.mark.parametrize("verbose", [False, True])
def test_lines_fit_the_width(report: Report, width: int, verbose: bool) -> None:
    out = text(report, width=width, verbose=verbose)
    long = [ln for ln in out.splitlines() if len(ln) > width and not _unbreakable(ln)]
    assert long == []
    assert max(len(ln) for ln in out.splitlines()) > 40  # not trivially short


def test_order_cause_first_then_evidence_fix_timeline(report: Report) -> None:
    out = text(report)
    lines = out.splitlines()
    assert lines[0].startswith("bundle aks-prod-westeurope.tgz (collected 2024-05-02T09:20:00Z): 148 workloads")
    assert "148 workloads checked, 2 failing, 2 findings." in " ".join(ln.strip() for ln in lines[:2])
    first = out.index("Deployment build-agents/azure-devops-agent: CrashLoopBackOff")
    cause = out.index("Cause: Dynatrace code module breaks the .NET runtime of azp-agent")
    conf = out.index("high (95%) confidence")
    expl = out.index("The Dynatrace operator's webhook injected")
    evidence = out.index("  Evidence\n")
    fix = out.index("  Fix\n")
    timeline = out.index("  Timeline\n")
    second = out.index("StatefulSet ci/sonarqube: CrashLoopBackOff")
    assert first < cause < conf < expl < evidence < fix < timeline < second


def test_evidence_tags_and_refs(report: Report) -> None:
    out = text(report)
    block = out[out.index("  Evidence\n") : out.index("  Fix\n")]
    tags = re.findall(r"^    (\[[a-z-]+\])", block, flags=re.M)
    assert tags == ["[log]", "[exit-code]", "[mutation]", "[webhook]", "[peer]", "[timeline]"]
    assert "logs/build-agents/azure-devops-agent-6d9f7c8b45-f6cz6/azp-agent.previous.log:14" in block
    # the log excerpt keeps its own lines
    assert re.search(r"^ +---> System.InvalidProgramException: Common Language Runtime", block, flags=re.M)


def test_fix_section(report: Report) -> None:
    out = text(report)
    block = out[out.index("  Fix\n") : out.index("  Timeline\n")]
    assert re.findall(r"^    \d\. (\[[a-z]+\])", block, flags=re.M) == ["[safe]", "[manual]", "[unsafe]"]
    # the kubectl command, folded with continuations, still reads as the same command
    cmd_lines = block[block.index("kubectl -n build-agents patch") :].splitlines()
    cmd: list[str] = []
    for ln in cmd_lines:
        cmd.append(ln.strip().removesuffix("\\").strip())
        if not ln.endswith("\\"):
            break
    assert " ".join(cmd) == dynatrace_finding().remedies[0].commands[0]
    assert "strategic patch for Deployment build-agents/azure-devops-agent:" in block
    assert re.search(
        r"^ +spec:\n +template:\n +metadata:\n +annotations:\n +oneagent.dynatrace.com/inject: 'false'$",
        block,
        flags=re.M,
    )
    assert "merge patch for DynaKube dynatrace/dynakube:" in block
    assert "kubectl -n dynatrace edit dynakube dynakube" in block


def test_no_color_means_no_escape_codes(report: Report) -> None:
    assert "\x1b[" not in text(report)


def test_color_only_adds_styles(report: Report) -> None:
    plain = text(report)
    colored = text(report, color=True)
    assert "\x1b[" in colored
    assert ANSI.sub("", colored) == plain
    assert "\x1b[32m\x1b[1m[safe]" in colored
    assert "\x1b[31m\x1b[1m[unsafe]" in colored
    assert "\x1b[33m\x1b[1m[manual]" in colored
    assert "\x1b[1mDynatrace code module breaks the .NET runtime of azp-agent\x1b[0m" in colored


def test_nothing_failing() -> None:
    r = Report(tool_version="0.1.0", source={"type": "bundle", "name": "b.tgz"}, workloads_checked=42)
    assert text(r) == "bundle b.tgz: 42 workloads checked, none failing.\n"


def test_failing_without_finding_and_warnings() -> None:
    r = Report(
        tool_version="0.1.0",
        source={"type": "manifests", "name": "pod.yaml"},
        workloads_checked=1,
        workloads_failing=1,
        warnings=[
            "logs for container azp-agent of pod build-agents/azure-devops-agent-6d9f7c8b45-f6cz6 were "
            "not in the bundle, so log signatures could not be checked"
        ],
    )
    out = text(r)
    lines = out.splitlines()
    assert lines[0] == "manifests pod.yaml: 1 workload checked, 1 failing, no cause found."
    assert lines[2].startswith("warning: logs for container azp-agent")
    assert all(len(ln) <= 80 for ln in lines)
    assert lines[3].startswith(" " * 9)


def test_warnings_come_last(report: Report) -> None:
    lines = text(report).splitlines()
    assert lines[-2] == "warning: file build-agents/events.json: not JSON (line 3), skipped"
    assert lines[-1] == "warning: rule probe.liveness failed on Deployment/ci/nexus: KeyError: 'httpGet'"


def test_long_timeline_only_when_verbose() -> None:
    f = oom_finding()
    f.timeline = [TimelineEntry(f"2024-05-02T09:{m:02d}:00Z", f"restart {m}") for m in range(12)]
    r = Report(
        tool_version="0.1.0",
        source={"type": "bundle", "name": "b"},
        findings=[f],
        workloads_checked=5,
        workloads_failing=1,
    )
    quiet = text(r)
    assert "restart 11" not in quiet
    assert "Timeline: 12 entries (shown in verbose output)" in quiet
    loud = text(r, verbose=True)
    assert all(f"restart {m}" in loud for m in range(12))
    f.timeline = f.timeline[:8]
    assert "restart 7" in text(r)


def test_many_pods_are_shortened_unless_verbose() -> None:
    f = oom_finding()
    f.pods = [f"sonarqube-{i}" for i in range(9)]
    r = Report(
        tool_version="0.1.0",
        source={"type": "bundle", "name": "b"},
        findings=[f],
        workloads_checked=1,
        workloads_failing=1,
    )
    assert "pods: sonarqube-0, sonarqube-1, sonarqube-2 (+6 more)" in text(r)
    assert "sonarqube-8" in text(r, verbose=True)


def test_verbose_shows_ids_and_version(report: Report) -> None:
    out = text(report, verbose=True)
    assert out.startswith("podmortem 0.1.0, bundle")
    assert f"id {dynatrace_finding().id}" in " ".join(out.split())
    assert "stats: seconds=0.42, pods=611" in out


def test_wrap_command_never_splits_quotes() -> None:
    cmd = seed_report().findings[0].remedies[0].commands[0]
    lines = wrap_command(cmd, 50, 4)
    assert len(lines) > 1
    assert all(ln.endswith(" \\") for ln in lines[:-1])
    rejoined = " ".join(ln.strip().removesuffix("\\").strip() for ln in lines)
    assert rejoined == cmd
    assert shell_words("a 'b c' \"d e\" f\\ g") == ["a", "'b c'", '"d e"', "f\\ g"]
