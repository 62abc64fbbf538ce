"""Golden JSON reports for the bundled examples.

Regenerate after an intended change with ``PODMORTEM_UPDATE_GOLDEN=1 pytest tests/golden`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from podmortem.api import diagnose
from podmortem.report import OutputFormat, render
from podmortem.sources import open_source

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir() and not p.name.startswith("_"))
GOLDEN = Path(__file__).parent


def report_json(bundle: Path) -> dict[str, object]:
    doc: dict[str, object] = json.loads(render(diagnose(open_source(str(bundle))), OutputFormat.JSON))
    doc["tool"] = {"name": "podmortem", "version": "(any)"}
    doc["source"] = {**doc["source"], "name": f"examples/{bundle.name}"}  # type: ignore[dict-item]
    return doc


def test_every_example_has_a_golden_report() -> None:
    assert {p.name for p in EXAMPLES} == {p.stem for p in GOLDEN.glob("*.json")}


@pytest.mark.parametrize("bundle", EXAMPLES, ids=lambda p: p.name)
def test_golden(bundle: Path) -> None:
    got = report_json(bundle)
    path = GOLDEN / f"{bundle.name}.json"
    if os.environ.get("PODMORTEM_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert got == json.loads(path.read_text(encoding="utf-8"))
