"""A written bundle reads back as the same snapshot and gives the same diagnosis (examples and rule fixtures)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from bundle_fixtures import ROOT, bundle_texts, comparable

from podmortem.api import diagnose
from podmortem.bundle import SCHEMA, write_bundle
from podmortem.bundle.layout import DUMP_FILES
from podmortem.model.snapshot import Snapshot
from podmortem.sources import open_source

SOURCES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
SOURCES += sorted(ROOT.glob("tests/rules/*/fail.*"))


def _id(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def _findings(snap: Snapshot) -> list[dict[str, Any]]:
    return [f.to_dict() for f in diagnose(snap).findings]


@pytest.fixture(scope="module")
def loaded() -> dict[Path, tuple[Snapshot, list[dict[str, Any]]]]:
    return {}


def _load(cache: dict[Path, tuple[Snapshot, list[dict[str, Any]]]], src: Path) -> tuple[Snapshot, list[dict[str, Any]]]:
    if src not in cache:
        snap = open_source(src)
        cache[src] = (snap, _findings(snap))
    return cache[src]


def test_there_is_something_to_round_trip() -> None:
    assert len(SOURCES) >= 20
    assert any(p.parent.name == "examples" for p in SOURCES)


@pytest.mark.parametrize("src", SOURCES, ids=_id)
def test_unredacted_directory_reads_back_the_same(
    src: Path, tmp_path: Path, loaded: dict[Path, tuple[Snapshot, list[dict[str, Any]]]]
) -> None:
    snap, findings = _load(loaded, src)
    out = tmp_path / "bundle"
    write_bundle(snap, str(out), tool_version="9.9.9", redact=False)
    back = open_source(out)
    assert comparable(back) == comparable(snap)
    assert _findings(back) == findings
    assert not back.warnings


@pytest.mark.parametrize("src", SOURCES, ids=_id)
def test_redacted_archive_gives_the_same_findings(
    src: Path, tmp_path: Path, loaded: dict[Path, tuple[Snapshot, list[dict[str, Any]]]]
) -> None:
    snap, findings = _load(loaded, src)
    out = tmp_path / "bundle.tar.gz"
    manifest = write_bundle(snap, str(out), tool_version="9.9.9")
    back = open_source(out)
    assert _findings(back) == findings
    assert back.source.collected_at == manifest.collected_at
    # Redaction changes values, never which objects and logs there are.
    assert {k: set(v) for k, v in back.objects.items()} == {k: set(v) for k, v in snap.objects.items()}
    assert set(back.logs) == set(snap.logs)


@pytest.mark.parametrize("src", SOURCES[:3], ids=_id)
def test_directory_and_archive_hold_the_same_files(src: Path, tmp_path: Path) -> None:
    snap = open_source(src)
    snap.source.collected_at = "2024-08-13T07:30:00Z"  # else the time of writing, which may tick between the two
    write_bundle(snap, str(tmp_path / "d"), tool_version="1")
    write_bundle(snap, str(tmp_path / "a.tgz"), tool_version="1")
    assert bundle_texts(tmp_path / "d") == bundle_texts(tmp_path / "a.tgz")
    assert comparable(open_source(tmp_path / "d")) == comparable(open_source(tmp_path / "a.tgz"))


def test_manifest_describes_the_bundle(tmp_path: Path) -> None:
    src = ROOT / "examples" / "aks-azure-pipelines-dynatrace"
    snap = open_source(src)
    out = tmp_path / "b"
    manifest = write_bundle(snap, str(out), tool_version="1.2.3")
    files = bundle_texts(out)
    doc = json.loads(files.pop("manifest.json"))
    assert doc == manifest.to_dict()
    assert doc["schema"] == SCHEMA
    assert doc["tool"] == {"name": "podmortem", "version": "1.2.3"}
    assert doc["source"]["type"] == "bundle"
    assert doc["source"]["collected_at"] == doc["collected_at"] != ""
    # every other file is listed with its sha256, and nothing else is
    assert set(doc["files"]) == set(files)
    for rel, digest in doc["files"].items():
        assert hashlib.sha256(files[rel]).hexdigest() == digest, rel
    # kinds and logs counted as written
    written = open_source(out)
    assert doc["kinds"] == {k: len(v) for k, v in sorted(written.objects.items()) if v}
    assert doc["logs"]["current"] == sum(1 for k in snap.logs if not k.previous)
    assert doc["logs"]["previous"] == sum(1 for k in snap.logs if k.previous)
    red = doc["redaction"]
    assert red["enabled"] is True
    assert set(red["by_place"]) >= {"env", "annotations", "args", "logs", "events"}
    assert red["total"] == sum(red["by_place"].values())
    # the example's canary agent has its PAT as a literal env value: masked in the pod, RS and Deployment,
    # and inside the Deployment's last-applied-configuration
    assert red["by_place"]["env"] >= 3
    assert red["by_place"]["annotations"] >= 1
    assert not any(b"3uj3pzga7lap2zeipeeeqwesryft57bprbvrtxacaubxhsqwcgga" in data for data in files.values())


def test_layout_is_that_of_kubectl_cluster_info_dump(tmp_path: Path) -> None:
    snap = open_source(ROOT / "examples" / "aks-azure-pipelines-dynatrace")
    out = tmp_path / "b"
    write_bundle(snap, str(out), tool_version="1")
    files = bundle_texts(out)
    namespaces = sorted(k[1] for k in snap.objects["Namespace"])
    for ns in namespaces:
        for base in DUMP_FILES:
            assert f"{ns}/{base}.json" in files
    pods = files["build-agents/pods.json"].decode()
    assert pods.startswith('{\n    "kind": "PodList",\n    "apiVersion": "v1",\n    "metadata": {')
    assert pods.endswith("}\n")
    doc = json.loads(pods)
    assert doc["items"] and all(i["kind"] == "Pod" and i["apiVersion"] == "v1" for i in doc["items"])
    assert json.loads(files["build-agents/deployments.json"])["kind"] == "DeploymentList"
    assert json.loads(files["build-agents/deployments.json"])["apiVersion"] == "apps/v1"
    assert json.loads(files["nodes.json"])["kind"] == "NodeList"
    cluster = json.loads(files["cluster-scoped.json"])
    assert cluster["kind"] == "List"
    assert {i["kind"] for i in cluster["items"]} >= {"Namespace", "MutatingWebhookConfiguration", "CSIDriver"}
    assert json.loads(files["dynatrace/dynakubes.json"])["items"][0]["kind"] == "DynaKube"
    logs = [p for p in files if p.startswith("logs/")]
    assert logs and all(p.endswith(".log") and p.count("/") == 3 for p in logs)
    assert not any(p.endswith("logs.txt") for p in files)
