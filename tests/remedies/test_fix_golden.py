"""Golden fixes: for every case folder and remedy it names, plan the fix and compare each changed object
(``after``: the patch applied to the snapshot object) with ``fixed.<remedy-id>.yaml`` exactly.

Regenerate after an intended change with ``PODMORTEM_UPDATE_GOLDEN=1 pytest tests/remedies`` and review the
diff of the ``fixed.*.yaml`` files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from remedy_cases import UPDATE, case_dirs, golden_path, load_case, read_docs, write_docs

from podmortem.remedies.fix import choose_remedy, plan_fix

PAIRS = [
    pytest.param(folder, rid, id=f"{folder.name}/{rid}")
    for folder in case_dirs()
    for rid in yaml.safe_load((folder / "case.yaml").read_text())["remedies"]
]


def test_there_are_cases() -> None:
    assert len(case_dirs()) >= 15
    assert len(PAIRS) >= 30


@pytest.mark.parametrize(("folder", "remedy_id"), PAIRS)
def test_fixed_object_matches_golden(folder: Path, remedy_id: str) -> None:
    case = load_case(folder)
    remedy = choose_remedy(case.finding, remedy_id)
    assert remedy.id == remedy_id
    plan = plan_fix(case.index, case.finding, remedy)
    assert plan.changes, f"{remedy_id} planned no change: {remedy.notes}"
    got = [ch.after for ch in plan.changes]
    path = golden_path(folder, remedy_id)
    if UPDATE or not path.exists():
        write_docs(path, got)
    assert got == read_docs(path)
    for ch in plan.changes:
        assert ch.before != ch.after, f"{ch.target} does not change"


@pytest.mark.parametrize("folder", case_dirs(), ids=lambda p: p.name)
def test_no_stale_golden_files(folder: Path) -> None:
    wanted = {golden_path(folder, rid).name for rid in load_case(folder).spec["remedies"]}
    present = {p.name for p in folder.glob("fixed.*.yaml")}
    assert present <= wanted, f"golden files for remedies the case does not name: {sorted(present - wanted)}"
