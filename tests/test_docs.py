"""The README's promises stay true: its two commands, its CLI and rule documentation."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from podmortem.cli.main import cli
from podmortem.rules.registry import all_rules

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def first_commands() -> list[str]:
    block = re.search(r"```(?:sh|bash|console)\n(.*?)```", README, re.S)
    assert block, "README must start with a shell block holding the two commands"
    return [line.strip() for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_starts_with_install_and_test_commands() -> None:
    cmds = first_commands()
    assert len(cmds) == 2
    assert "podmortem diagnose examples/aks-azure-pipelines-dynatrace" in cmds[0]
    assert "pytest" in cmds[1]
    assert README.index("```") < 600, "the two commands come first"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install, test = first_commands()[1].split("&&")
    assert install.strip().replace("python -m pip", "pip") in ci.replace("python -m pip --quiet", "pip").replace(
        "--quiet ", ""
    ).replace("python -m pip", "pip")
    assert "pytest" in test and "python -m pytest" in ci


def test_every_command_is_documented() -> None:
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        assert f"podmortem {name}" in README, f"README does not mention `podmortem {name}`"


def test_every_rule_has_docs_and_explain_works() -> None:
    runner = CliRunner()
    for r in all_rules():
        docs = r.catalog.get("docs", {})
        for section in ("detects", "why", "evidence", "fix", "references"):
            assert docs.get(section), f"{r.id}: catalog docs lack {section}"
        out = runner.invoke(cli, ["explain", r.id])
        assert out.exit_code == 0, out.output
        assert "What it detects" in out.output and r.id in out.output


def test_explain_unknown_rule_is_a_usage_error() -> None:
    out = CliRunner().invoke(cli, ["explain", "no.such-rule"])
    assert out.exit_code == 2
    assert "unknown rule" in out.output
