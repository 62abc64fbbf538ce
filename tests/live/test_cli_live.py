"""`podmortem diagnose` on a live (fake) API server gives the same findings as on the bundle it serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fakeapi import FakeApiServer, Faults
from podmortem.api import diagnose
from podmortem.cli.main import cli
from podmortem.sources import open_source
from podmortem.sources.http import ApiClient, ApiStats
from podmortem.sources.kubeconfig import load_kubeconfig
from podmortem.sources.live import load_live

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir() and not p.name.startswith("_"))


def essence(doc: dict) -> list[tuple]:
    return sorted(
        (
            f["rule"],
            f["workload"]["kind"],
            f["workload"]["namespace"],
            f["workload"]["name"],
            tuple(f["containers"]),
            tuple(f["injectors"]),
            f["confidence"],
        )
        for f in doc["findings"]
    )


@pytest.mark.parametrize("bundle", EXAMPLES, ids=lambda p: p.name)
def test_live_equals_offline(bundle: Path, tmp_path: Path) -> None:
    snap = open_source(str(bundle))
    offline = diagnose(open_source(str(bundle))).to_dict()
    failing = sum(len(f["containers"]) * len(f["pods"]) for f in offline["findings"])
    with FakeApiServer(snap) as srv:
        kc = srv.kubeconfig(tmp_path / "kubeconfig")
        res = CliRunner().invoke(cli, ["diagnose", "--kubeconfig", str(kc), "-A", "-o", "json", "-q"])
        assert res.exit_code == 0, res.output
        doc = json.loads(res.output)
        served = len(srv.requests)
    assert doc["source"]["type"] == "live"
    assert essence(doc) == essence(offline)
    api = doc["stats"]["api"]
    assert api["calls"] == served
    kinds_listed = 20  # one LIST per kind, however many objects (pages of 500)
    assert api["calls"] <= kinds_listed + 8 + 2 * failing, api


def test_live_with_faults_gives_the_same_finding(tmp_path: Path) -> None:
    seed = ROOT / "examples" / "aks-azure-pipelines-dynatrace"
    offline = essence(diagnose(open_source(str(seed))).to_dict())
    faults = Faults(
        throttle={"pods": 1},
        retry_after=0.01,
        errors_500={"events": 2},
        expire_continue={"pods"},
        forbidden={"csidrivers"},
    )
    with FakeApiServer(open_source(str(seed)), faults=faults) as srv:
        cfg = load_kubeconfig([str(srv.kubeconfig(tmp_path / "kc"))], context=None, environ={})
        client = ApiClient(cfg, timeout=5, backoff=0.01, stats=ApiStats())
        snap = load_live(client, cfg, all_namespaces=True, page_size=2)
        client.close()
    report = diagnose(snap)
    assert essence(report.to_dict()) == offline
    assert any("csidrivers" in w for w in report.warnings)
    assert snap.stats["api"]["retries"] >= 3


def test_unreachable_cluster_exits_3_with_one_line(tmp_path: Path) -> None:
    kc = tmp_path / "kubeconfig"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
        "clusters: [{name: aks-prod, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: abc}}]\n"
        "contexts: [{name: prod, context: {cluster: aks-prod, user: u}}]\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-m", "podmortem", "diagnose", "--kubeconfig", str(kc), "--request-timeout", "2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 3
    line = out.stderr.strip()
    assert "\n" not in line and "prod" in line and "https://127.0.0.1:1" in line


def test_no_kubeconfig_and_no_source_is_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "KUBERNETES_"))}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run([sys.executable, "-m", "podmortem", "diagnose"], capture_output=True, text=True, env=env)
    assert out.returncode == 2 and "no kubeconfig found" in out.stderr
