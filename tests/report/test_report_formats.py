"""Format dispatch, the JSON contract, and redaction in every format."""

from __future__ import annotations

import json
from typing import cast

import pytest
from report_cases import WORKLOAD, dynatrace_finding, seed_report

from podmortem.model.findings import Evidence, Patch, Remedy, Report, TimelineEntry
from podmortem.model.redact import MASK
from podmortem.report import OutputFormat, render, report_document
from podmortem.report.formats import render_json

ALL = list(OutputFormat)


def test_formats_are_the_cli_names() -> None:
    assert {f.value for f in OutputFormat} == {"text", "json", "markdown"}
    assert OutputFormat("json") is OutputFormat.JSON
    assert isinstance(OutputFormat.TEXT, str)


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("verbose", [False, True])
def test_every_format_renders(report: Report, fmt: OutputFormat, color: bool, verbose: bool) -> None:
    # exhaustiveness: a format added to the enum without a renderer reaches assert_never and fails here
    out = render(report, fmt, color=color, verbose=verbose)
    assert out.endswith("\n")
    assert "azure-devops-agent" in out
    assert "Dynatrace code module breaks the .NET runtime of azp-agent" in out


def test_unknown_format_is_refused(report: Report) -> None:
    with pytest.raises(AssertionError):
        render(report, cast(OutputFormat, "yaml"))


def test_json_round_trip_is_to_dict(report: Report) -> None:
    out = render(report, OutputFormat.JSON)
    assert json.loads(out) == report.to_dict()
    assert render(report, OutputFormat.JSON) == out  # stable
    assert out.startswith('{\n  "schema": "podmortem/diagnosis/v1",')


def test_json_contract_fields(report: Report) -> None:
    doc = json.loads(render(report, OutputFormat.JSON))
    assert doc["tool"] == {"name": "podmortem", "version": "0.1.0"}
    assert doc["summary"]["findings"] == 2
    assert doc["summary"]["workloads_failing"] == 2
    assert "rule probe.liveness failed on Deployment/ci/nexus: KeyError: 'httpGet'" in doc["summary"]["warnings"]
    f = doc["findings"][0]
    assert f["workload"] == {"kind": "Deployment", "namespace": "build-agents", "name": "azure-devops-agent"}
    assert [e["type"] for e in f["evidence"]] == [
        "log",
        "exit-code",
        "mutation",
        "webhook",
        "peer",
        "timeline",
    ]
    assert [r["safety"] for r in f["remedies"]] == ["safe", "manual", "unsafe"]
    assert f["remedies"][0]["patch"] == {
        "type": "strategic",
        "body": {"spec": {"template": {"metadata": {"annotations": {"oneagent.dynatrace.com/inject": "false"}}}}},
    }
    assert f["confidence"] == 0.95
    assert f["injectors"] == ["dynatrace"]


def test_empty_report_json() -> None:
    empty = Report(tool_version="0.1.0", source={"type": "bundle", "name": "x"}, workloads_checked=3)
    assert json.loads(render_json(report_document(empty))) == empty.to_dict()


PAT = "q2lmv7xk3c4dz6bn5fa7hgw2ye3js4tr5ku6pi7od2xn3sb4vc5a"  # generated, base32-shaped
JWT_SECRET = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6YWdlbnQifQ."
    "c2lnbmF0dXJlLW5vdC1yZWFsLTEyMzQ1Njc4OTA"
)
PASSWORD = "Tr0ub4dor&3xQ"


def planted_report() -> Report:
    """Secrets a careless rule could have copied into every field a renderer prints."""
    f = dynatrace_finding()
    f.title = f"agent fails with token {JWT_SECRET}"
    f.explanation = f"The pod runs config.sh --auth PAT --token {PAT} and crashes."
    f.evidence.append(Evidence("log", f"curl -u user:{PAT} https://dev.azure.com/contoso", "logs/x.log:2"))
    f.evidence.append(Evidence("mutation", f"env AZP_TOKEN={PAT}", f"ref with Bearer {JWT_SECRET}"))
    f.timeline.append(TimelineEntry("2024-05-02T09:30:00Z", f"password={PASSWORD} rejected"))
    f.remedies.append(
        Remedy(
            id="x.set-env",
            title="Set the token from a Secret",
            safety="manual",
            target=WORKLOAD,
            patch=Patch(
                "strategic",
                {
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [{"name": "azp-agent", "env": [{"name": "AZP_TOKEN", "value": PAT}]}]
                            }
                        }
                    }
                },
            ),
            commands=[f"kubectl -n build-agents set env deployment/azure-devops-agent AZP_TOKEN={PAT}"],
            notes=f"Old value: {PAT}; db password: {PASSWORD}",
        )
    )
    r = seed_report()
    r.findings[0] = f
    r.warnings.append(f"connection string Server=db;Password={PASSWORD}; ignored")
    r.source["name"] = f"https://ci:{PASSWORD}@bundles.example.com/b.tgz"
    return r


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("verbose", [False, True])
def test_no_planted_secret_leaks(fmt: OutputFormat, color: bool, verbose: bool) -> None:
    out = render(planted_report(), fmt, color=color, verbose=verbose, width=60)
    for secret in (PAT, JWT_SECRET, PASSWORD, PASSWORD.split("&")[0]):
        assert secret not in out
    assert "<redacted" in out


def test_redacted_json_keeps_structure() -> None:
    doc = json.loads(render(planted_report(), OutputFormat.JSON))
    env = doc["findings"][0]["remedies"][-1]["patch"]["body"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "AZP_TOKEN", "value": MASK}]
    assert doc["source"]["name"] == "https://ci:<redacted>@bundles.example.com/b.tgz"
    assert doc["findings"][0]["evidence"][0]["ref"].startswith("logs/build-agents/")


def test_render_does_not_change_the_report() -> None:
    r = planted_report()
    before = r.to_dict()
    render(r, OutputFormat.TEXT)
    assert r.to_dict() == before
