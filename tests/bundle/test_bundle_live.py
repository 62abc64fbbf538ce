"""``podmortem collect --for`` end to end: a (fake) live cluster → select_for → write_bundle → diagnose offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bundle_fixtures import ROOT, bundle_texts

from podmortem.api import diagnose
from podmortem.bundle import select_for, write_bundle
from podmortem.sources import open_source

fakeapi = pytest.importorskip("fakeapi")
live = pytest.importorskip("podmortem.sources.live")
http = pytest.importorskip("podmortem.sources.http")
kubeconfig = pytest.importorskip("podmortem.sources.kubeconfig")

EXAMPLE = ROOT / "examples" / "aks-azure-pipelines-dynatrace"
WORKLOAD = "Deployment/build-agents/azure-devops-agent"


def test_collect_for_a_workload_from_a_live_cluster(tmp_path: Path) -> None:
    example = open_source(EXAMPLE)
    expected = [f.to_dict() for f in diagnose(example).findings]
    wanted = [
        f
        for f in expected
        if f["workload"] == {"kind": "Deployment", "namespace": "build-agents", "name": "azure-devops-agent"}
    ]
    assert wanted, "the example's agent deployment is diagnosed"
    with fakeapi.FakeApiServer(example) as srv:
        cfg = kubeconfig.load_kubeconfig([str(srv.kubeconfig(tmp_path))], context=None, environ={})
        with http.ApiClient(cfg, backoff=0.01, timeout=5.0, max_workers=4) as client:
            snap = live.load_live(client, cfg)
    out = tmp_path / "agent.tgz"
    manifest = write_bundle(select_for(snap, WORKLOAD), str(out), tool_version="1.0.0", selection=WORKLOAD)
    back = open_source(out)
    again = [f.to_dict() for f in diagnose(back).findings]
    assert [f for f in again if f["workload"] == wanted[0]["workload"]] == wanted
    doc = json.loads(bundle_texts(out)["manifest.json"])
    assert doc["source"]["type"] == "live"
    assert doc["context"] == manifest.context and doc["server"] == srv.url
    assert doc["selection"] == WORKLOAD
    assert doc["kinds"]["Deployment"] == 1
    assert doc["logs"]["previous"] >= 1
