"""`podmortem fix --apply` and `podmortem undo` against the fake API server: dry run, backup, conflicts, GitOps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fakeapi import FakeApiServer
from podmortem.cli.main import cli
from podmortem.index import Index
from podmortem.remedies.apply import ApplyError, Conflict, apply_plan
from podmortem.remedies.fix import choose_remedy, diagnose_index, plan_fix
from podmortem.sources import open_source
from podmortem.sources.http import ApiClient, ApiStats
from podmortem.sources.kubeconfig import load_kubeconfig
from podmortem.sources.live import load_live

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "aks-azure-pipelines-dynatrace"
KEY = "container.inject.dynatrace.com/azp-agent"


def template_annotations(srv: FakeApiServer) -> dict[str, str]:
    dep = srv.object("deployments", "build-agents", "azure-devops-agent", group="apps")
    assert dep is not None
    return dep["spec"]["template"]["metadata"].get("annotations", {})


def test_fix_apply_then_undo_round_trips(tmp_path: Path) -> None:
    with FakeApiServer(open_source(str(SEED))) as srv:
        kc = str(srv.kubeconfig(tmp_path / "kc"))
        before = srv.object("deployments", "build-agents", "azure-devops-agent", group="apps")
        runner = CliRunner()
        args = ["fix", "--kubeconfig", kc, "--workload", "deployment/build-agents/azure-devops-agent"]
        # Without --apply nothing changes.
        res = runner.invoke(cli, args)
        assert res.exit_code == 0, res.output
        assert KEY not in template_annotations(srv)
        assert not srv.calls(verb="patch")
        # --apply --dry-run: the server-side dry run only.
        res = runner.invoke(cli, [*args, "--apply", "--dry-run", "--backup-dir", str(tmp_path / "b")])
        assert res.exit_code == 0, res.output
        assert "dry run passed" in res.output and KEY not in template_annotations(srv)
        assert all(r.query.get("dryRun") == "All" for r in srv.calls(verb="patch"))
        # --apply: dry run, backup, patch with field manager podmortem.
        res = runner.invoke(cli, [*args, "--apply", "--backup-dir", str(tmp_path / "b")])
        assert res.exit_code == 0, res.output
        assert template_annotations(srv)[KEY] == "false"
        patches = srv.calls(verb="patch")
        assert all(r.query.get("fieldManager") == "podmortem" for r in patches)
        assert [r.query.get("dryRun", "") for r in patches][-2:] == ["All", ""]
        (backup,) = (tmp_path / "b").iterdir()
        doc = json.loads(backup.read_text())
        assert doc["schema"] == "podmortem/backup/v1" and doc["changes"][0]["original"]["metadata"]["name"]
        # undo restores the original template.
        res = runner.invoke(cli, ["undo", str(backup), "--kubeconfig", kc])
        assert res.exit_code == 0, res.output
        assert "restored Deployment/build-agents/azure-devops-agent" in res.output
        after = srv.object("deployments", "build-agents", "azure-devops-agent", group="apps")
        assert after is not None and before is not None
        assert after["spec"]["template"] == before["spec"]["template"]


def _plan(srv: FakeApiServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    cfg = load_kubeconfig([str(srv.kubeconfig(tmp_path / "kc"))], context=None, environ={})
    client = ApiClient(cfg, timeout=5, stats=ApiStats())
    index = Index(load_live(client, cfg, all_namespaces=True))
    (finding,) = diagnose_index(index)
    return client, plan_fix(index, finding, choose_remedy(finding))


def test_a_change_between_plan_and_apply_is_a_conflict(tmp_path: Path) -> None:
    with FakeApiServer(open_source(str(SEED))) as srv:
        client, plan = _plan(srv, tmp_path)
        # Someone else edits the Deployment after the plan was made.
        client.request_json(
            "PATCH",
            "/apis/apps/v1/namespaces/build-agents/deployments/azure-devops-agent",
            body={"metadata": {"labels": {"team": "ci"}}},
            content_type="application/merge-patch+json",
        )
        with pytest.raises(Conflict):
            apply_plan(client, plan, backup_dir=str(tmp_path / "b"))
        assert KEY not in template_annotations(srv)
        assert not (tmp_path / "b").exists()


def test_gitops_managed_objects_are_refused_without_force(tmp_path: Path) -> None:
    with FakeApiServer(open_source(str(SEED))) as srv:
        client, plan = _plan(srv, tmp_path)
        plan.changes[0].managed_by = "Argo CD"
        with pytest.raises(ApplyError, match="Argo CD"):
            apply_plan(client, plan, backup_dir=str(tmp_path / "b"))
        assert KEY not in template_annotations(srv)
        apply_plan(client, plan, backup_dir=str(tmp_path / "b"), force=True)
        assert template_annotations(srv)[KEY] == "false"


def test_apply_needs_a_live_cluster() -> None:
    res = CliRunner().invoke(cli, ["fix", str(SEED), "--apply"])
    assert res.exit_code == 2 and "live cluster" in res.output


def test_fix_yaml_is_appliable_manifest() -> None:
    import yaml

    res = CliRunner().invoke(cli, ["fix", str(SEED), "-o", "yaml"])
    assert res.exit_code == 0, res.output
    (doc,) = [d for d in yaml.safe_load_all(res.output) if d]
    assert doc["kind"] == "Deployment" and "status" not in doc
    assert doc["spec"]["template"]["metadata"]["annotations"][KEY] == "false"
    res = CliRunner().invoke(cli, ["fix", str(SEED), "-o", "yaml", "--patch-only"])
    (patch,) = [d for d in yaml.safe_load_all(res.output) if d]
    assert set(patch) >= {"apiVersion", "kind", "metadata", "spec"} and "containers" not in json.dumps(patch)
