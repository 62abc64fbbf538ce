"""`podmortem collect` and `podmortem rbac` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from podmortem.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "aks-azure-pipelines-dynatrace"


def findings(path: Path) -> list[tuple[str, str, float]]:
    res = CliRunner().invoke(cli, ["diagnose", str(path), "-o", "json", "-q"])
    assert res.exit_code == 0, res.output
    return [(f["rule"], f["workload"]["name"], f["confidence"]) for f in json.loads(res.output)["findings"]]


def test_collect_from_a_bundle_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "seed.tar.gz"
    res = CliRunner().invoke(cli, ["collect", str(SEED), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"wrote {out}:") and "values masked" in res.output
    assert findings(out) == findings(SEED)


def test_collect_for_one_workload(tmp_path: Path) -> None:
    out = tmp_path / "agent"
    res = CliRunner().invoke(
        cli, ["collect", str(SEED), "--for", "deployment/build-agents/azure-devops-agent", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kinds"]["Deployment"] >= 1 and "DynaKube" in manifest["kinds"]
    assert findings(out) == [f for f in findings(SEED) if f[1] == "azure-devops-agent"]


def test_collect_unknown_workload_is_exit_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["collect", str(SEED), "--for", "deployment/build-agents/nope", "-o", str(tmp_path / "x")]
    )
    assert res.exit_code == 2 and "nope" in res.output


def test_rbac_is_read_only_yaml() -> None:
    res = CliRunner().invoke(cli, ["rbac"])
    assert res.exit_code == 0
    docs = [d for d in yaml.safe_load_all(res.output) if d]
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert verbs <= {"get", "list", "watch"}
    assert not any("secrets" in rule.get("resources", []) for rule in role["rules"])
