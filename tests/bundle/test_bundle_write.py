"""Where and how bundles are written: deterministic archives, directories that must be empty, odd names."""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path

import pytest
from bundle_fixtures import (
    T0,
    bundle_texts,
    comparable,
    configmap,
    container,
    deployment,
    event,
    namespace,
    node,
    pod,
    replicaset,
    secret,
    snapshot_of,
    tar_members,
)

from podmortem.bundle import BundleError, write_bundle
from podmortem.bundle.collect import archive_top
from podmortem.bundle.layout import plural
from podmortem.model.snapshot import LogKey, Snapshot
from podmortem.sources import open_source

IMAGE = "myacr.azurecr.io/azp-agent:ubuntu-22.04-3.242.1"


def small_snapshot() -> Snapshot:
    dep = deployment("build-agents", "azure-devops-agent", [container("azp-agent", IMAGE)])
    rs = replicaset(dep)
    p = pod("build-agents", rs["metadata"]["name"] + "-9d62c", [container("azp-agent", IMAGE)], owner=rs)
    objects = [
        namespace("build-agents"),
        node("aks-buildpool-12345678-vmss000001"),
        dep,
        rs,
        p,
        event(p, "BackOff", "Back-off restarting failed container azp-agent in pod"),
        configmap("build-agents", "agent-config", {"AZP_POOL": "linux-pool"}),
        secret("build-agents", "azdevops", {"AZP_TOKEN": "x" * 52}),
    ]
    name = p["metadata"]["name"]
    logs = {
        LogKey("build-agents", name, "azp-agent"): "4. Running Azure Pipelines agent...\n",
        LogKey(
            "build-agents", name, "azp-agent", previous=True
        ): "Unhandled exception. System.TypeInitializationException\n",
    }
    return snapshot_of(objects, logs)


def test_archive_is_deterministic(tmp_path: Path) -> None:
    snap = small_snapshot()
    a = tmp_path / "one" / "podmortem-bundle.tar.gz"
    b = tmp_path / "two" / "podmortem-bundle.tar.gz"
    write_bundle(snap, str(a), tool_version="1.0.0")
    write_bundle(snap, str(b), tool_version="1.0.0")
    assert a.read_bytes() == b.read_bytes()
    data = a.read_bytes()
    # gzip header: mtime is the collection time, no file name
    assert int.from_bytes(data[4:8], "little") == 1723532286  # 2024-08-13T06:58:06Z
    assert not data[3] & 0x08  # FNAME flag
    members = tar_members(data)
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: n.split("/"))
    assert all(n == "podmortem-bundle" or n.startswith("podmortem-bundle/") for n in names)
    for m in members:
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", "")
        assert m.mtime == 1723532286
        assert m.mode == (0o755 if m.isdir() else 0o644)
        assert m.isdir() or m.isfile()
    assert "podmortem-bundle/manifest.json" in names
    assert "podmortem-bundle/logs/build-agents" in names


def test_archive_reads_back_like_the_directory(tmp_path: Path) -> None:
    snap = small_snapshot()
    write_bundle(snap, str(tmp_path / "b.tgz"), tool_version="1", redact=False)
    write_bundle(snap, str(tmp_path / "d"), tool_version="1", redact=False)
    back = open_source(tmp_path / "b.tgz")
    expected = comparable(snap)
    del expected["objects"]["Secret"]
    assert comparable(back) == expected
    assert comparable(open_source(tmp_path / "d")) == expected
    assert back.source.collected_at == T0


def test_secrets_are_never_written_even_unredacted(tmp_path: Path) -> None:
    snap = small_snapshot()
    manifest = write_bundle(snap, str(tmp_path / "d"), tool_version="1", redact=False)
    files = bundle_texts(tmp_path / "d")
    assert not any(b'"Secret"' in data for data in files.values())
    assert not any(b"azdevops" in data for data in files.values())
    assert manifest.redaction["secrets_dropped"] == 1
    assert manifest.redaction["enabled"] is False and manifest.redaction["total"] == 0
    assert "Secret" not in manifest.kinds


def test_directory_must_be_absent_or_empty(tmp_path: Path) -> None:
    snap = small_snapshot()
    empty = tmp_path / "empty"
    empty.mkdir()
    write_bundle(snap, str(empty), tool_version="1")
    assert (empty / "manifest.json").is_file()
    with pytest.raises(BundleError, match="not empty"):
        write_bundle(snap, str(empty), tool_version="1")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(BundleError, match="not a directory"):
        write_bundle(snap, str(a_file), tool_version="1")
    a_dir = tmp_path / "dir.tar.gz"
    a_dir.mkdir()
    with pytest.raises(BundleError, match="is a directory"):
        write_bundle(snap, str(a_dir), tool_version="1")
    # nothing is left behind by the refused writes, and a nested new directory is created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.tar.gz", "empty", "file"]
    write_bundle(snap, str(tmp_path / "x" / "y" / "z"), tool_version="1")
    assert (tmp_path / "x" / "y" / "z" / "manifest.json").is_file()


def test_an_existing_archive_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "b.tgz"
    out.write_bytes(b"old")
    write_bundle(small_snapshot(), str(out), tool_version="1")
    with tarfile.open(out) as tar:
        assert "b/manifest.json" in tar.getnames()
    assert [p.name for p in tmp_path.iterdir()] == ["b.tgz"]


def test_manifest_names_the_live_cluster(tmp_path: Path) -> None:
    snap = small_snapshot()
    m = write_bundle(snap, str(tmp_path / "d"), tool_version="1", cluster="aks-prod", selection="build-agents/x")
    doc = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert doc["context"] == m.context == "aks-prod"
    assert doc["server"] == "https://aks-prod-dns-1a2b3c4d.hcp.westeurope.azmk8s.io:443"
    assert doc["cluster"] == "aks-prod"
    assert doc["selection"] == "build-agents/x"
    assert doc["source"] == {"type": "live", "name": snap.source.name, "collected_at": T0}


def test_warnings_and_stats_are_carried(tmp_path: Path) -> None:
    snap = small_snapshot()
    snap.warn("cannot list mutatingwebhookconfigurations: forbidden (403)")
    snap.stats = {"api": {"calls": 14, "bytes": 123456, "retries": 1, "seconds": {"list": 0.5}}}
    m = write_bundle(snap, str(tmp_path / "d"), tool_version="1")
    assert m.warnings == ["cannot list mutatingwebhookconfigurations: forbidden (403)"]
    assert m.stats["api"]["calls"] == 14


def test_names_that_cannot_be_paths_are_reported_not_written(tmp_path: Path) -> None:
    snap = small_snapshot()
    snap.add_log(LogKey("build-agents", "../../etc", "passwd"), "nope\n")
    snap.add_log(LogKey("build-agents", ".hidden", "c"), "nope\n")
    m = write_bundle(snap, str(tmp_path / "d"), tool_version="1")
    assert not any("etc" in p or "hidden" in p for p in m.files)
    assert sum("not written" in w for w in m.warnings) == 2
    assert not (tmp_path / "etc").exists()


def test_custom_and_unusual_kinds_round_trip(tmp_path: Path) -> None:
    snap = small_snapshot()
    otel = {
        "apiVersion": "opentelemetry.io/v1alpha1",
        "kind": "Instrumentation",
        "metadata": {"name": "default", "namespace": "build-agents", "uid": "u-otel"},
        "spec": {"exporter": {"endpoint": "http://otel-collector:4317"}},
    }
    nr = {
        "apiVersion": "newrelic.com/v1beta1",
        "kind": "Instrumentation",
        "metadata": {"name": "newrelic", "namespace": "build-agents", "uid": "u-nr"},
        "spec": {"agent": {"language": "dotnet"}},
    }
    no_api = {"kind": "Widget", "metadata": {"name": "w", "namespace": "build-agents"}}
    cluster_cr = {"apiVersion": "example.com/v1", "kind": "Policy", "metadata": {"name": "p", "uid": "u-p"}}
    for obj in (otel, nr, no_api, cluster_cr):
        snap.add(obj)
    write_bundle(snap, str(tmp_path / "d"), tool_version="1", redact=False)
    files = bundle_texts(tmp_path / "d")
    insts = json.loads(files["build-agents/instrumentations.json"])
    assert insts["kind"] == "List"  # two groups: each item keeps its own apiVersion
    assert {i["apiVersion"] for i in insts["items"]} == {"opentelemetry.io/v1alpha1", "newrelic.com/v1beta1"}
    widgets = json.loads(files["build-agents/widgets.json"])
    assert widgets["kind"] == "List" and "apiVersion" not in widgets["items"][0]
    back = comparable(open_source(tmp_path / "d"))
    expected = comparable(snap)
    del expected["objects"]["Secret"]
    assert back == expected


def test_plural() -> None:
    assert [plural(k) for k in ("DynaKube", "Ingress", "Policy", "Gateway", "Endpoints", "Mesh")] == [
        "dynakubes",
        "ingresses",
        "policies",
        "gateways",
        "endpoints",
        "meshes",
    ]


def test_archive_top_directory() -> None:
    assert archive_top("/tmp/out/podmortem-2024.tar.gz") == "podmortem-2024"
    assert archive_top("x.TGZ") == "x"
    assert archive_top(".tgz") == "bundle"


def test_non_utf8_safe_text_still_writes_valid_json(tmp_path: Path) -> None:
    snap = small_snapshot()
    snap.add(configmap("build-agents", "odd", {"k": "bad \udcff surrogate"}))
    write_bundle(snap, str(tmp_path / "d"), tool_version="1", redact=False)
    back = open_source(tmp_path / "d")
    assert back.get("ConfigMap", "build-agents", "odd") is not None
    assert not back.warnings
    gz = tmp_path / "b.tgz"
    write_bundle(snap, str(gz), tool_version="1", redact=False)
    assert gzip.decompress(gz.read_bytes())
