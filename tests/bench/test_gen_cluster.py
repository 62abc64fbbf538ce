"""Structure of the synthetic cluster bundle written by bench/gen_cluster.py (a tiny one)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

GEN_PATH = Path(__file__).resolve().parents[2] / "bench" / "gen_cluster.py"
PARAMS: dict[str, Any] = {
    "pods": 50,
    "deployments": 10,
    "events": 300,
    "failing": 6,
    "nodes": 3,
    "namespaces": 12,
    "jobs": 1,
}
INJECTED_MARKERS = ("istio-proxy", "oneagent-bin", "datadog-auto-instrumentation", "dynatrace-operator")


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cluster", GEN_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_cluster"] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="module")
def bundle(gen: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("cluster") / "bundle"
    summary = gen.generate(out, seed=7, **PARAMS)
    return out, summary


def lists(root: Path, name: str) -> dict[str, list[dict[str, Any]]]:
    """namespace -> items of <ns>/<name>.json"""
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(root.glob(f"*/{name}.json")):
        out[path.parent.name] = json.loads(path.read_text())["items"]
    return out


def test_every_file_parses_and_lists_look_like_the_dump(bundle: tuple[Path, dict[str, Any]]) -> None:
    root, _ = bundle
    json_files = sorted(root.rglob("*.json"))
    assert json_files
    kinds = Counter()
    for path in json_files:
        doc = json.loads(path.read_text())
        assert doc["kind"].endswith("List"), path
        assert doc["apiVersion"] in ("v1", "apps/v1")
        assert "resourceVersion" in doc["metadata"]
        for item in doc["items"]:
            # the typed client leaves TypeMeta empty in list items, and kubectl prints no managedFields
            assert "kind" not in item and "apiVersion" not in item
            assert "managedFields" not in item["metadata"]
            assert item["metadata"]["uid"] and item["metadata"]["creationTimestamp"]
        kinds[path.name] += 1
    namespaces = {p.parent.name for p in root.glob("*/pods.json")}
    for name in ("events", "deployments", "replicasets", "daemonsets", "services", "replication-controllers"):
        assert kinds[f"{name}.json"] == len(namespaces), name
    assert (root / "nodes.json").is_file()
    scoped = yaml.safe_load((root / "cluster-scoped.yaml").read_text())
    assert scoped["kind"] == "List"
    by_kind = Counter(item["kind"] for item in scoped["items"])
    assert by_kind["MutatingWebhookConfiguration"] == 3
    assert by_kind["Namespace"] == len(namespaces) == PARAMS["namespaces"]


def test_counts(bundle: tuple[Path, dict[str, Any]]) -> None:
    root, summary = bundle
    deployments = [d for items in lists(root, "deployments").values() for d in items]
    replicasets = [r for items in lists(root, "replicasets").values() for r in items]
    pods = [p for items in lists(root, "pods").values() for p in items]
    events = [e for items in lists(root, "events").values() for e in items]
    nodes = json.loads((root / "nodes.json").read_text())["items"]
    assert len(deployments) == PARAMS["deployments"]
    assert len(replicasets) == PARAMS["deployments"]
    rs_pods = [p for p in pods if p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"]
    assert len(rs_pods) == PARAMS["pods"]
    assert sum(d["spec"]["replicas"] for d in deployments) == PARAMS["pods"]
    assert len(nodes) == PARAMS["nodes"]
    assert {n["metadata"]["labels"]["agentpool"] for n in nodes} == {"system", "apps", "agents"}
    assert len(events) == PARAMS["events"]
    assert summary["counts"]["failing_pods"] == PARAMS["failing"]
    assert sum(len(t["pods"]) for t in summary["truth"]) == PARAMS["failing"]
    # a small failing budget is spread over several causes
    assert len({t["cause"] for t in summary["truth"]}) >= 4


def test_owner_chain_pod_replicaset_deployment(bundle: tuple[Path, dict[str, Any]]) -> None:
    root, _ = bundle
    deps = lists(root, "deployments")
    rss = lists(root, "replicasets")
    pods = lists(root, "pods")
    for ns, items in pods.items():
        rs_by_uid = {r["metadata"]["uid"]: r for r in rss.get(ns, [])}
        dep_by_uid = {d["metadata"]["uid"]: d for d in deps.get(ns, [])}
        for pod in items:
            (owner,) = pod["metadata"]["ownerReferences"]
            assert owner["controller"] is True
            if owner["kind"] != "ReplicaSet":
                assert owner["kind"] == "DaemonSet"
                continue
            rs = rs_by_uid[owner["uid"]]
            assert rs["metadata"]["name"] == owner["name"]
            assert pod["metadata"]["name"].startswith(owner["name"] + "-")
            selector = rs["spec"]["selector"]["matchLabels"]
            assert selector.items() <= pod["metadata"]["labels"].items()
            (rs_owner,) = rs["metadata"]["ownerReferences"]
            dep = dep_by_uid[rs_owner["uid"]]
            assert rs_owner["kind"] == "Deployment" and dep["metadata"]["name"] == rs_owner["name"]
            assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()


def test_failing_pods_show_it_and_healthy_pods_do_not(bundle: tuple[Path, dict[str, Any]]) -> None:
    root, summary = bundle
    failing = {(t["namespace"], p): t for t in summary["truth"] for p in t["pods"]}
    warned = {
        (ns, e["involvedObject"]["uid"])
        for ns, items in lists(root, "events").items()
        for e in items
        if e["type"] == "Warning"
    }
    seen_failing = 0
    for ns, items in lists(root, "pods").items():
        for pod in items:
            uid = pod["metadata"]["uid"]
            statuses = pod["status"].get("containerStatuses", [])
            all_running = bool(statuses) and all("running" in s["state"] and s["ready"] for s in statuses)
            if (ns, pod["metadata"]["name"]) in failing:
                seen_failing += 1
                assert (ns, uid) in warned or not all_running
                assert pod["status"]["phase"] in ("Pending", "Running")
            else:
                assert all_running and pod["status"]["phase"] == "Running"
                assert (ns, uid) not in warned
    assert seen_failing == PARAMS["failing"]


def test_failure_evidence_matches_the_cause(bundle: tuple[Path, dict[str, Any]]) -> None:
    root, summary = bundle
    pods = {(ns, p["metadata"]["name"]): p for ns, items in lists(root, "pods").items() for p in items}
    for t in summary["truth"]:
        for name in t["pods"]:
            pod = pods[(t["namespace"], name)]
            logs = root / t["namespace"] / name / "logs.txt"
            text = logs.read_text()
            containers = [c["name"] for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]]
            for c in containers:
                start = f"==== START logs for container {c} of pod {t['namespace']}/{name} ====\n"
                end = f"==== END logs for container {c} of pod {t['namespace']}/{name} ====\n"
                assert text.index(start) < text.index(end)
            previous = root / "logs" / t["namespace"] / name / f"{t['container']}.previous.log"
            status = next((s for s in pod["status"].get("containerStatuses", []) if s["name"] == t["container"]), None)
            if t["cause"] == "dynatrace-dotnet":
                assert "System.InvalidProgramException" in previous.read_text()
                assert status is not None
                assert status["lastState"]["terminated"]["exitCode"] == 134
                assert "dynatrace" in t["injectors"]
            elif t["cause"] == "datadog-java-agent":
                assert "Error opening zip file or JAR manifest missing" in previous.read_text()
                assert "datadog" in t["injectors"]
            elif t["cause"] == "oom":
                assert status is not None
                assert status["lastState"]["terminated"]["reason"] == "OOMKilled"
                assert status["lastState"]["terminated"]["exitCode"] == 137
            elif t["cause"] == "app-crash":
                assert "Traceback (most recent call last):" in previous.read_text()
            elif t["cause"] == "image-pull":
                assert status is not None and status["state"]["waiting"]["reason"] == "ImagePullBackOff"
                assert not previous.exists()
            elif t["cause"] == "config":
                assert status is not None
                assert status["state"]["waiting"]["reason"] == "CreateContainerConfigError"
            elif t["cause"] == "unschedulable":
                assert "nodeName" not in pod["spec"]
                cond = pod["status"]["conditions"][0]
                assert cond["type"] == "PodScheduled" and cond["reason"] == "Unschedulable"
            elif t["cause"] == "liveness":
                assert status is not None and status["restartCount"] > 0


def test_injection_follows_namespace_labels_and_never_touches_templates(
    bundle: tuple[Path, dict[str, Any]],
) -> None:
    root, _ = bundle
    scoped = yaml.safe_load((root / "cluster-scoped.yaml").read_text())
    ns_labels = {i["metadata"]["name"]: i["metadata"]["labels"] for i in scoped["items"] if i["kind"] == "Namespace"}
    for ns, items in lists(root, "pods").items():
        dt_mapped = "dynakube.internal.dynatrace.com/instance" in ns_labels[ns]
        istio = ns_labels[ns].get("istio-injection") == "enabled"
        for pod in items:
            if pod["metadata"]["ownerReferences"][0]["kind"] != "ReplicaSet":
                continue
            annotations = pod["metadata"].get("annotations", {})
            volumes = {v["name"] for v in pod["spec"]["volumes"]}
            opted_out = annotations.get("dynatrace.com/inject") == "false"
            assert ("oneagent-bin" in volumes) == (dt_mapped and not opted_out)
            assert ("sidecar.istio.io/status" in annotations) == (istio and ns not in ("kube-system",))
            assert any(v.startswith("kube-api-access-") for v in volumes)
    for items in lists(root, "deployments").values():
        for dep in items:
            template = json.dumps(dep["spec"]["template"])
            for marker in INJECTED_MARKERS:
                assert marker not in template


def test_same_seed_same_bytes_other_seed_differs(gen: ModuleType, tmp_path: Path) -> None:
    a = gen.generate(tmp_path / "a", seed=3, **PARAMS)
    b = gen.generate(tmp_path / "b", seed=3, **PARAMS)
    c = gen.generate(tmp_path / "c", seed=4, **PARAMS)
    assert a["truth"] == b["truth"]
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert (tmp_path / "a" / "nodes.json").read_bytes() != (tmp_path / "c" / "nodes.json").read_bytes()
    assert c["truth"] != a["truth"]


def test_cli_refuses_a_non_empty_directory(gen: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "x").write_text("keep me")
    assert gen.main([str(tmp_path), "--pods", "10", "--deployments", "2"]) == 2
    assert (tmp_path / "x").read_text() == "keep me"
