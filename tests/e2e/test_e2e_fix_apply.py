"""`podmortem fix --apply --wait` and `podmortem undo` on the live cluster: the first safe fix (exclude the agent
container from Dynatrace injection on the pod template) rolls out, the new pods are not injected and run, and the
undo brings the injection — and the crash loop — back (the rollout of the undo stalls on its first crashing pod,
as a real one does).

Skipped (with that reason) while `podmortem --help` does not list `fix` and `undo`."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest
from e2e_scenario import E2E, is_crashlooping, is_injected
from e2e_seed import agent_deployment

EXCLUDE = "container.inject.dynatrace.com/azp-agent"


def _has_commands(e2e: E2E, *names: str) -> bool:
    proc = e2e.podmortem("--help")
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.startswith("  ") and line.split()}
    return proc.returncode == 0 and set(names) <= listed


def _template_annotations(e2e: E2E, ns: str, name: str) -> dict[str, str]:
    dep = e2e.kube.get("Deployment", name, ns)
    ann: dict[str, str] = dep["spec"]["template"]["metadata"].get("annotations") or {}
    return ann


def test_fix_apply_wait_then_undo(e2e: E2E, tmp_path: Path) -> None:
    if not _has_commands(e2e, "fix", "undo"):
        pytest.skip("PENDING: `podmortem fix --apply --wait` / `podmortem undo` are not written yet")
    ns, name = "build-agents-fix", "azure-devops-agent"
    e2e.agent_namespace(ns)
    e2e.kube.create(agent_deployment(ns, name, replicas=2))
    e2e.wait_pods(ns, f"app={name}", 2, "crashloop")
    kc, backups = str(e2e.kubeconfig), tmp_path / "backups"

    # the plan alone changes nothing
    proc = e2e.podmortem("fix", "--kubeconfig", kc, "-n", ns, "--workload", f"deployment/{ns}/{name}")
    assert proc.returncode == 0, proc.stderr
    assert EXCLUDE in proc.stdout
    assert EXCLUDE not in _template_annotations(e2e, ns, name)

    proc = e2e.podmortem(
        "fix", "--kubeconfig", kc, "-n", ns, "--workload", f"deployment/{ns}/{name}",
        "--apply", "--wait", "--timeout", "120", "--backup-dir", str(backups),
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.returncode, proc.stderr, proc.stdout[-2000:])
    assert _template_annotations(e2e, ns, name).get(EXCLUDE) == "false"
    pods = e2e.wait_pods(ns, f"app={name}", 2, "running")
    assert not any(is_injected(p) for p in pods), "the new pods are still injected"
    assert e2e.diagnose_live("-n", ns)["findings"] == []
    managed = e2e.kube.get("Deployment", name, ns)["metadata"].get("managedFields") or []
    assert any(m.get("manager") == "podmortem" for m in managed), [m.get("manager") for m in managed]

    files = glob.glob(str(backups / "*.json"))
    assert len(files) == 1, files
    assert json.loads(Path(files[0]).read_text())["schema"] == "podmortem/backup/v1"
    proc = e2e.podmortem("undo", files[0], "--kubeconfig", kc, timeout=300)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert EXCLUDE not in _template_annotations(e2e, ns, name)
    # the rollout back stalls as a real one does: the first injected pod crash-loops, the fixed ones keep running
    crashing = e2e.kube.wait_for(
        "an injected, crash-looping pod after the undo",
        lambda: [p for p in e2e.pods(ns, f"app={name}") if is_injected(p) and is_crashlooping(p, "azp-agent")],
        timeout=120,
    )
    doc = e2e.diagnose_live("-n", ns)
    found = [f for f in doc["findings"] if f["workload"]["name"] == name]
    assert found and found[0]["rule"] == "injection.clr-profiler", [f["rule"] for f in doc["findings"]]
    assert crashing[0]["metadata"]["name"] in found[0]["pods"]
    e2e.delete_namespace(ns)
