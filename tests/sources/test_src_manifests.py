"""Manifests mode: ``podmortem diagnose pod.yaml [more.yaml] --logs ... --previous-logs ...``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kube_fixtures import AGENT_LOG, cluster, deployment, kube_list, pod, write_cluster_info_dump, write_files

from podmortem.model.snapshot import LogKey
from podmortem.sources import SourceError, load_manifests, open_source
from podmortem.sources.manifests import parse_log_value

NS = "build-agents"
AGENT = "azure-devops-agent-6d9f7c8b45-f6cz6"


def agent_pod() -> dict[str, object]:
    return pod(
        NS,
        AGENT,
        containers=["azp-agent", "oneagent-log"],
        init_containers=["install-oneagent"],
        crashing=["azp-agent"],
        owner="azure-devops-agent-6d9f7c8b45",
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    write_files(
        tmp_path,
        {
            "agent.yaml": yaml.safe_dump(agent_pod()).encode(),
            "healthy.json": json.dumps(pod("web", "frontend-7b9c5d6f4-x2x9q", containers=["nginx"])).encode(),
            "healthy2.yaml": yaml.safe_dump(pod("web", "api-5d4f8b7c6-q8k2z", containers=["api"])).encode(),
            "previous.log": AGENT_LOG.encode(),
            "current.log": b"Starting Azure Pipelines agent\n",
            "other.log": b"nginx: ready\n",
        },
    )
    return tmp_path


def test_single_pod_file_with_bare_logs(files: Path) -> None:
    snap = load_manifests(
        [files / "agent.yaml"], logs=[str(files / "current.log")], previous_logs=[str(files / "previous.log")]
    )
    assert snap.source.to_dict() == {
        "type": "manifests",
        "name": str(files / "agent.yaml"),
        "collected_at": "",
    }
    assert snap.get("Pod", NS, AGENT) is not None
    # The bare FILE goes to the crash-looping container, not to the first one in the spec.
    assert snap.logs == {
        LogKey(NS, AGENT, "azp-agent"): "Starting Azure Pipelines agent\n",
        LogKey(NS, AGENT, "azp-agent", previous=True): AGENT_LOG,
    }
    assert snap.warnings == []


def test_bare_log_goes_to_the_only_failing_pod_among_several(files: Path) -> None:
    paths = [files / "healthy.json", files / "agent.yaml", files / "healthy2.yaml"]
    snap = load_manifests(paths, previous_logs=[str(files / "previous.log")])
    assert snap.source.name == ", ".join(str(p) for p in paths)
    assert list(snap.logs) == [LogKey(NS, AGENT, "azp-agent", previous=True)]


def test_bare_log_on_a_healthy_single_pod_goes_to_its_first_container(files: Path) -> None:
    snap = load_manifests([files / "healthy.json"], logs=[str(files / "other.log")])
    assert list(snap.logs) == [LogKey("web", "frontend-7b9c5d6f4-x2x9q", "nginx")]


def test_bare_log_with_several_healthy_pods_is_ambiguous(files: Path) -> None:
    with pytest.raises(SourceError) as err:
        load_manifests([files / "healthy.json", files / "healthy2.yaml"], logs=[str(files / "other.log")])
    assert str(err.value) == (
        f"--logs: cannot tell which of the 2 pods '{files / 'other.log'}' belongs to; "
        f"use --logs POD/CONTAINER={files / 'other.log'}"
    )


def test_bare_log_with_two_failing_pods_is_ambiguous(tmp_path: Path) -> None:
    a = pod("ci", "a", crashing=["main"])
    b = pod("ci", "b", crashing=["main"])
    write_files(tmp_path, {"pods.json": json.dumps(kube_list("PodList", [a, b])).encode(), "x.log": b"x"})
    with pytest.raises(SourceError, match="use --previous-logs POD/CONTAINER="):
        load_manifests([tmp_path / "pods.json"], previous_logs=[str(tmp_path / "x.log")])
    snap = load_manifests([tmp_path / "pods.json"], previous_logs=[f"b/main={tmp_path / 'x.log'}"])
    assert list(snap.logs) == [LogKey("ci", "b", "main", previous=True)]


def test_container_pod_and_namespace_forms(files: Path) -> None:
    snap = load_manifests(
        [files / "agent.yaml", files / "healthy.json"],
        logs=[
            f"oneagent-log={files / 'other.log'}",
            f"frontend-7b9c5d6f4-x2x9q/nginx={files / 'other.log'}",
            f"{NS}/{AGENT}/install-oneagent={files / 'current.log'}",
        ],
        previous_logs=[f"azp-agent={files / 'previous.log'}"],
    )
    assert snap.logs == {
        LogKey(NS, AGENT, "oneagent-log"): "nginx: ready\n",
        LogKey("web", "frontend-7b9c5d6f4-x2x9q", "nginx"): "nginx: ready\n",
        LogKey(NS, AGENT, "install-oneagent"): "Starting Azure Pipelines agent\n",
        LogKey(NS, AGENT, "azp-agent", previous=True): AGENT_LOG,
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nope={log}", "--logs: no pod in the input has a container named 'nope'"),
        ("ghost/azp-agent={log}", "--logs: no pod named 'ghost' in the input"),
        (
            f"{AGENT}/nope={{log}}",
            f"--logs: pod {NS}/{AGENT} has no container 'nope' (it has install-oneagent, azp-agent, oneagent-log)",
        ),
        (f"other-ns/{AGENT}/azp-agent={{log}}", f"--logs: no pod other-ns/{AGENT} in the input"),
        ("{missing}", "cannot read log file '{missing}': No such file or directory"),
        ("azp-agent={missing}", "cannot read log file '{missing}': No such file or directory"),
        ("", "--logs: empty value; give FILE, CONTAINER=FILE or POD/CONTAINER=FILE"),
    ],
)
def test_log_value_errors(files: Path, value: str, message: str) -> None:
    fmt = {"log": files / "other.log", "missing": files / "missing.log"}
    with pytest.raises(SourceError) as err:
        load_manifests([files / "agent.yaml"], logs=[value.format(**fmt)])
    assert str(err.value) == message.format(**fmt)


def test_same_container_twice_is_an_error(files: Path) -> None:
    with pytest.raises(SourceError, match="two files for container azp-agent"):
        load_manifests([files / "agent.yaml"], logs=[str(files / "current.log"), f"azp-agent={files / 'other.log'}"])


def test_pod_name_in_two_namespaces_needs_the_namespace(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "a.yaml": yaml.safe_dump(pod("team-a", "worker", crashing=["main"])).encode(),
            "b.yaml": yaml.safe_dump(pod("team-b", "worker")).encode(),
            "w.log": b"boom\n",
        },
    )
    with pytest.raises(SourceError, match=r"several pods are named 'worker' .*use --logs NS/POD/CONTAINER="):
        load_manifests([tmp_path / "a.yaml", tmp_path / "b.yaml"], logs=[f"worker/main={tmp_path / 'w.log'}"])
    # CONTAINER=FILE picks the pod where that container is failing.
    snap = load_manifests([tmp_path / "a.yaml", tmp_path / "b.yaml"], logs=[f"main={tmp_path / 'w.log'}"])
    assert list(snap.logs) == [LogKey("team-a", "worker", "main")]


def test_parse_log_value_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_log_value("app.log") == ((), "app.log")
    assert parse_log_value("c=app.log") == (("c",), "app.log")
    assert parse_log_value("p/c=/tmp/a=b.log") == (("p", "c"), "/tmp/a=b.log")
    assert parse_log_value("ns/p/c=x") == (("ns", "p", "c"), "x")
    assert parse_log_value("a/b/c/d=x") == ((), "a/b/c/d=x")
    assert parse_log_value("C:\\logs\\x.log") == ((), "C:\\logs\\x.log")
    # A file whose name has "=" in it, which exists while the part after "=" does not, is a bare FILE.
    monkeypatch.chdir(tmp_path)
    assert parse_log_value("run=1.log") == (("run",), "1.log")
    (tmp_path / "run=1.log").write_text("x")
    assert parse_log_value("run=1.log") == ((), "run=1.log")


def test_manifest_file_errors(tmp_path: Path) -> None:
    write_files(tmp_path, {"bad.yaml": b"kind: Pod\n  metadata: [\n", "bad.json": b"{", "none.yaml": b"a: 1\n"})
    with pytest.raises(SourceError) as err:
        load_manifests([tmp_path / "missing.yaml"])
    assert str(err.value) == f"cannot read manifest '{tmp_path / 'missing.yaml'}': no such file or directory"
    with pytest.raises(SourceError, match=r"cannot read manifest '.*bad\.yaml': invalid YAML"):
        load_manifests([tmp_path / "bad.yaml"])
    with pytest.raises(SourceError, match=r"cannot read manifest '.*bad\.json': invalid JSON"):
        load_manifests([tmp_path / "bad.json"])
    with pytest.raises(SourceError, match="no manifest files given"):
        load_manifests([])
    snap = load_manifests([tmp_path / "none.yaml"])
    assert snap.count() == 0 and snap.warnings == [f"no Kubernetes object in {tmp_path / 'none.yaml'}"]


def test_directory_of_manifests_and_multi_document_file(tmp_path: Path) -> None:
    stream = "---\n".join(
        yaml.safe_dump(o)
        for o in (
            deployment("ci", "agent", image="agent:1"),
            pod("ci", "agent-1", crashing=["agent"], containers=["agent"]),
        )
    )
    write_files(
        tmp_path / "k8s",
        {"all.yaml": stream.encode(), "sub/broken.yaml": b"kind: [", "notes.txt": b"x", "x.log": b"oops\n"},
    )
    snap = load_manifests([tmp_path / "k8s"], previous_logs=[str(tmp_path / "k8s" / "x.log")])
    assert snap.source.type == "manifests"
    assert snap.get("Deployment", "ci", "agent") is not None
    assert snap.log("ci", "agent-1", "agent", previous=True) == "oops\n"
    assert len(snap.warnings) == 1 and snap.warnings[0].startswith(f"skipped {tmp_path / 'k8s'}/sub/broken.yaml: ")


def test_open_source_routes_by_path(tmp_path: Path, files: Path) -> None:
    bundle = write_cluster_info_dump(tmp_path / "dump", cluster(), "json")
    assert open_source(bundle).source.type == "bundle"
    assert open_source(str(files / "agent.yaml")).source.type == "manifests"
    assert open_source(files / "healthy.json").source.type == "manifests"
    snap = open_source(files / "agent.yaml", more_paths=[files / "healthy.json"], logs=[str(files / "current.log")])
    assert snap.source.type == "manifests" and snap.count() == 2
    # --logs also works with a bundle and replaces the log the bundle had.
    snap = open_source(bundle, logs=[f"{NS}/{AGENT}/azp-agent={files / 'current.log'}"])
    assert snap.log(NS, AGENT, "azp-agent") == "Starting Azure Pipelines agent\n"
    with pytest.raises(SourceError, match="no such file or directory"):
        open_source(tmp_path / "nothing")
    with pytest.raises(SourceError) as err:
        open_source(files / "other.log")
    assert str(err.value) == (
        f"cannot read '{files / 'other.log'}': not a bundle (a directory, .tar.gz, .tgz or .zip) "
        "or a manifest (.json, .yaml, .yml)"
    )
