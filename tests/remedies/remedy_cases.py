"""Fixture cases of tests/remedies/: each folder's ``case.yaml`` names its sources, the finding and the remedies
whose patched objects are kept as ``fixed.<remedy-id>.yaml`` beside it (see ``_make_fixtures.py``)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from podmortem.index import Index
from podmortem.model.findings import Finding
from podmortem.model.objects import ObjectRef
from podmortem.remedies.fix import diagnose_index
from podmortem.remedies.plan import plan_remedies
from podmortem.rules.registry import TIER_LOG, Candidate
from podmortem.sources import open_source

HERE = Path(__file__).resolve().parent
UPDATE = os.environ.get("PODMORTEM_UPDATE_GOLDEN") == "1"


@dataclass
class Case:
    folder: Path
    spec: dict[str, Any]
    index: Index
    finding: Finding


def case_dirs() -> list[Path]:
    return sorted(d for d in HERE.iterdir() if d.is_dir() and (d / "case.yaml").exists())


def ref(text: str) -> ObjectRef:
    kind, ns, name = text.split("/")
    return ObjectRef(kind, ns, name)


def open_case_sources(folder: Path, spec: dict[str, Any]) -> Index:
    paths = [folder / s for s in spec["sources"]]
    snap = open_source(paths[0], more_paths=paths[1:]) if len(paths) > 1 else open_source(paths[0])
    return Index(snap)


@cache
def load_case(folder: Path) -> Case:
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    index = open_case_sources(folder, spec)
    want = spec["finding"]
    wl = ref(want["workload"])
    found = [f for f in diagnose_index(index) if f.workload == wl and f.rule == want.get("rule", f.rule)]
    assert found, f"{folder.name}: no finding {want} in {[(f.rule, str(f.workload)) for f in diagnose_index(index)]}"
    finding = found[0]
    blame = spec.get("blame")
    if blame:
        finding = dataclasses.replace(finding, category="injection", remedies=[])
        hints = {"container": finding.containers[0] if finding.containers else ""}
        cand = Candidate(finding, TIER_LOG, set(), blamed=blame, hints=hints)
        finding.remedies = list(plan_remedies(index, cand))
    return Case(folder, spec, index, finding)


def golden_path(folder: Path, remedy_id: str) -> Path:
    return folder / f"fixed.{remedy_id}.yaml"


def read_docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def write_docs(path: Path, docs: list[Any]) -> None:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False, width=120))
