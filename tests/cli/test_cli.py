"""The command line as a user meets it: exit codes, one-line errors, formats, filters, partial input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from podmortem.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "aks-azure-pipelines-dynatrace"
PLANTED_PAT = "kq3vwsx7fmt4b5n2yzhjcd6ra5eptlgbq6mzwno3xu4vjfkidh2a"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess (it ends with os._exit)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "podmortem", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_seed_example_text_names_dynatrace_with_evidence_and_patch() -> None:
    out = run("diagnose", str(SEED), "--no-color")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Cause: Dynatrace code module breaks the .NET runtime of azp-agent" in text
    for tag in ("[log]", "[exit-code]", "[mutation]", "[webhook]", "[peer]", "[timeline]"):
        assert tag in text, tag
    assert "container.inject.dynatrace.com/azp-agent" in text
    assert "dynatrace.com/inject" in text
    assert "Traceback" not in out.stderr


def test_json_output_matches_schema_shape() -> None:
    out = run("diagnose", str(SEED), "-o", "json")
    doc = json.loads(out.stdout)
    assert doc["schema"] == "podmortem/diagnosis/v1"
    assert set(doc) >= {"tool", "source", "summary", "findings"}
    f = doc["findings"][0]
    assert f["workload"] == {"kind": "Deployment", "namespace": "build-agents", "name": "azure-devops-agent"}
    assert f["category"] == "injection" and f["injectors"] == ["dynatrace"]
    assert {e["type"] for e in f["evidence"]} >= {"log", "exit-code", "mutation", "webhook", "peer", "timeline"}
    assert {r["safety"] for r in f["remedies"]} <= {"safe", "unsafe", "manual"}


def test_no_secret_in_any_format(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(SEED, copy)
    # A PAT that the failing line itself carries, so the log evidence would quote it.
    for prev in (copy / "logs" / "build-agents").glob("*/azp-agent.previous.log"):
        text = prev.read_text(encoding="utf-8")
        marker = "Common Language Runtime detected an invalid program."
        prev.write_text(text.replace(marker, f"{marker} (agent --token {PLANTED_PAT})"), encoding="utf-8")
    assert PLANTED_PAT in "".join(p.read_text() for p in (copy / "logs").rglob("*.log"))
    for fmt in ("text", "json", "markdown"):
        out = run("diagnose", str(copy), "-o", fmt, "-v")
        assert out.returncode == 0
        assert "InvalidProgramException" in out.stdout
        assert PLANTED_PAT not in out.stdout


def test_missing_path_is_one_line_exit_2() -> None:
    out = run("diagnose", "/no/such/bundle")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert out.stderr.startswith("podmortem: error:") and "/no/such/bundle" in out.stderr


def test_corrupt_archive_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bundle.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    out = run("diagnose", str(bad))
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_logs_without_source_is_usage_error() -> None:
    out = run("diagnose", "--previous-logs", "prev.log")
    assert out.returncode == 2 and "need pod manifests or a bundle" in out.stderr


def test_broken_file_is_a_warning_and_the_rest_is_diagnosed(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(SEED, copy)
    (copy / "build-agents" / "replicasets.json").write_text('{"kind": "ReplicaSetList", "items": [', encoding="utf-8")
    out = run("diagnose", str(copy), "-o", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert any("build-agents/replicasets.json" in w for w in doc["summary"]["warnings"])
    # Still diagnosed, from the live pods alone (the template diff is unavailable, so lower confidence).
    assert [f["rule"] for f in doc["findings"]] == ["injection.clr-profiler"]


def test_fail_on_threshold_sets_exit_1() -> None:
    assert run("diagnose", str(SEED), "--fail-on", "high", "-q").returncode == 1
    assert run("diagnose", str(SEED), "--fail-on", "none", "-q").returncode == 0


def test_namespace_filter() -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["diagnose", str(SEED), "-n", "kube-system", "-o", "json"])
    assert res.exit_code == 0
    assert json.loads(res.output)["findings"] == []
    res = runner.invoke(cli, ["diagnose", str(SEED), "-n", "build-agents", "-A"])
    assert res.exit_code == 2


def test_selector_filter() -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["diagnose", str(SEED), "-l", "app=does-not-exist", "-o", "json"])
    assert json.loads(res.output)["findings"] == []
    res = runner.invoke(cli, ["diagnose", str(SEED), "-l", "=bad", "-o", "json"])
    assert res.exit_code == 2


def test_markdown_is_a_ticket() -> None:
    res = CliRunner().invoke(cli, ["diagnose", str(SEED), "-o", "markdown"])
    assert res.exit_code == 0
    assert res.output.lstrip().startswith("#") and "```" in res.output


@pytest.mark.parametrize("args", [["rules"], ["rules", "-o", "json"], ["explain", "injection.clr-profiler"]])
def test_catalog_commands(args: list[str]) -> None:
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0 and res.output


def test_single_pod_manifest_with_previous_log(tmp_path: Path) -> None:
    pods = json.loads((SEED / "build-agents" / "pods.json").read_text(encoding="utf-8"))["items"]
    pod = next(p for p in pods if p["metadata"]["name"].startswith("azure-devops-agent-6d9f7c8b45"))
    pod.setdefault("kind", "Pod")
    pod.setdefault("apiVersion", "v1")
    (tmp_path / "pod.json").write_text(json.dumps(pod), encoding="utf-8")
    name = pod["metadata"]["name"]
    prev = SEED / "logs" / "build-agents" / name / "azp-agent.previous.log"
    out = run("diagnose", str(tmp_path / "pod.json"), "--previous-logs", str(prev), "-o", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["source"]["type"] == "manifests"
    assert [f["rule"] for f in doc["findings"]] == ["injection.clr-profiler"]
    assert doc["findings"][0]["injectors"] == ["dynatrace"]
