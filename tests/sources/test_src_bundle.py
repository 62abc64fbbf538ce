"""Loading bundles: kubectl cluster-info dump output (JSON and YAML) and the other files of §3.1."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_fixtures import (
    AGENT_LOG,
    cluster,
    comparable,
    deployment,
    dump,
    kube_list,
    pod,
    write_cluster_info_dump,
    write_files,
)

from podmortem.sources import SourceError, load_bundle
from podmortem.sources._reader import Progress

AGENT = "azure-devops-agent-6d9f7c8b45-f6cz6"
NS = "build-agents"


@pytest.fixture
def json_dump(tmp_path: Path) -> Path:
    return write_cluster_info_dump(tmp_path / "dump", cluster(), "json")


def test_json_dump_loads_every_kind_with_item_kinds_restored(json_dump: Path) -> None:
    # kubectl writes List items without apiVersion/kind; the files must really look like that.
    raw = json.loads((json_dump / NS / "pods.json").read_text())
    assert raw["kind"] == "PodList" and "kind" not in raw["items"][0]

    snap = load_bundle(json_dump)

    assert snap.source.to_dict() == {"type": "bundle", "name": str(json_dump), "collected_at": ""}
    assert snap.warnings == []
    assert {k: sorted(v) for k, v in snap.objects.items()} == {
        "Node": [("", "aks-agentpool-26134851-vmss000002")],
        "Pod": [(NS, AGENT), ("web", "frontend-7b9c5d6f4-x2x9q")],
        "Event": [
            (NS, f"{AGENT}.17ead3c1b1f00001"),
            (NS, f"{AGENT}.17ead3c1b1f00002"),
        ],
        "Deployment": [(NS, "azure-devops-agent")],
    }
    agent = snap.get("Pod", NS, AGENT)
    assert agent is not None
    assert agent["kind"] == "Pod" and agent["apiVersion"] == "v1"
    assert agent["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    dep = snap.get("Deployment", NS, "azure-devops-agent")
    assert dep is not None and dep["apiVersion"] == "apps/v1"
    assert snap.log(NS, AGENT, "azp-agent") == AGENT_LOG
    assert snap.log(NS, AGENT, "install-oneagent") == "Installing OneAgent code modules\n"
    assert snap.log("web", "frontend-7b9c5d6f4-x2x9q", "log-shipper") == "shipping\nstill shipping\n"
    assert snap.log(NS, AGENT, "azp-agent", previous=True) is None


def test_yaml_dump_gives_the_same_snapshot_as_json(tmp_path: Path, json_dump: Path) -> None:
    yaml_dir = write_cluster_info_dump(tmp_path / "yaml", cluster(), "yaml")
    assert (yaml_dir / "nodes.yaml").exists() and not (yaml_dir / "nodes.json").exists()
    # Timestamps look like YAML timestamps when unquoted; they must stay strings.
    text = (yaml_dir / NS / "pods.yaml").read_text().replace("'2024-08-13T07:01:58Z'", "2024-08-13T07:01:58Z")
    (yaml_dir / NS / "pods.yaml").write_text(text)

    from_yaml = load_bundle(yaml_dir)
    from_json = load_bundle(json_dump)

    assert from_yaml.warnings == []
    assert comparable(from_yaml) == comparable(from_json)
    agent = from_yaml.get("Pod", NS, AGENT)
    assert agent is not None and agent["metadata"]["creationTimestamp"] == "2024-08-13T07:01:58Z"


def test_generic_list_keeps_each_items_own_kind(tmp_path: Path) -> None:
    # `kubectl get deploy,pods -o json` gives kind: List with typed items.
    items = [deployment("ci", "agent", image="agent:1"), pod("ci", "agent-5f7d8-abcde", owner="agent-5f7d8")]
    write_files(tmp_path, {"extra/get-all.json": dump(kube_list("List", items, keep_item_type=True), "json").encode()})
    # An item of a generic List without a kind cannot be placed: it is not an object.
    untyped = kube_list("List", [pod("ci", "orphan")])
    write_files(tmp_path, {"extra/untyped.json": json.dumps(untyped).encode()})

    snap = load_bundle(tmp_path)

    assert sorted(snap.objects) == ["Deployment", "Pod"]
    assert snap.get("Pod", "ci", "orphan") is None
    assert snap.warnings == []


def test_item_own_kind_wins_over_the_list_kind(tmp_path: Path) -> None:
    lst = kube_list("PodList", [pod("ci", "a")], keep_item_type=True)
    lst["items"][0]["apiVersion"] = "v1"
    write_files(tmp_path, {"pods.json": json.dumps(lst).encode()})
    snap = load_bundle(tmp_path)
    assert [p["metadata"]["name"] for p in snap.of_kind("Pod")] == ["a"]


def test_extra_multi_document_yaml_with_a_list(tmp_path: Path, json_dump: Path) -> None:
    webhook = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "name": "dynatrace-webhook",
            "uid": "0d1c4b6a-3c5e-4a47-9d61-0b1e0f6b2a11",
            "resourceVersion": "99812",
            "creationTimestamp": "2024-08-08T10:00:00Z",
        },
        "webhooks": [{"name": "webhook.pod.dynatrace.com", "admissionReviewVersions": ["v1beta1", "v1"]}],
    }
    namespaces = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"team": "ci"}}},
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}},
        ],
        "metadata": {"resourceVersion": ""},
    }
    csidriver = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"name": "csi.oneagent.dynatrace.com"},
    }
    stream = "---\n" + "\n---\n".join(yaml.safe_dump(d) for d in (webhook, namespaces, csidriver)) + "\n---\n"
    write_files(json_dump, {"cluster/admission.yaml": stream.encode()})

    snap = load_bundle(json_dump)

    assert snap.get("MutatingWebhookConfiguration", "", "dynatrace-webhook") is not None
    assert sorted(n for _, n in snap.objects["Namespace"]) == [NS, "web"]
    assert snap.get("CSIDriver", "", "csi.oneagent.dynatrace.com") is not None
    assert snap.count() == 6 + 4


def test_same_object_in_two_files_is_loaded_once(tmp_path: Path, json_dump: Path) -> None:
    agent = pod(NS, AGENT, containers=["azp-agent"], crashing=["azp-agent"], owner="azure-devops-agent-6d9f7c8b45")
    agent["metadata"]["annotations"] = {"copied": "yes"}
    write_files(json_dump, {"extra/agent-pod.yaml": yaml.safe_dump(agent).encode()})
    # Same kind/namespace/name without a uid counts as the same object too.
    no_uid = pod("web", "frontend-7b9c5d6f4-x2x9q")
    del no_uid["metadata"]["uid"]
    write_files(json_dump, {"extra/web.json": json.dumps(no_uid).encode()})

    snap = load_bundle(json_dump)

    assert len(snap.of_kind("Pod")) == 2
    kept = snap.get("Pod", NS, AGENT)
    assert kept is not None
    # Files are merged in path order: build-agents/pods.json comes before extra/agent-pod.yaml.
    assert "annotations" not in kept["metadata"]


def test_malformed_file_is_a_warning_naming_it_and_the_rest_loads(tmp_path: Path, json_dump: Path) -> None:
    write_files(
        json_dump,
        {
            "extra/broken.json": b'{"apiVersion": "v1", "kind": "Pod", "metadata": {',
            "extra/broken.yaml": b"kind: Pod\nmetadata:\n  name: [unclosed\n",
            "extra/latin1.json": '{"kind": "ConfigMap", "metadata": {"name": "caf\xe9"}}'.encode("latin-1"),
            "extra/notes.json": b'{"comment": "no kind here"}',
            "extra/values.yaml": b"replicaCount: 2\nimage: nginx\n",
            "extra/empty.json": b"",
            "README.md": b"# not read",
        },
    )

    snap = load_bundle(json_dump)

    assert len(snap.warnings) == 3
    by_file = {w.split(":")[0]: w for w in snap.warnings}
    assert set(by_file) == {
        "skipped extra/broken.json",
        "skipped extra/broken.yaml",
        "skipped extra/latin1.json",
    }
    assert "invalid JSON" in by_file["skipped extra/broken.json"]
    assert "invalid YAML" in by_file["skipped extra/broken.yaml"]
    assert "not valid utf-8" in by_file["skipped extra/latin1.json"].lower()
    assert all("\n" not in w for w in snap.warnings)
    assert len(snap.of_kind("Pod")) == 2 and snap.log(NS, AGENT, "azp-agent") == AGENT_LOG


def test_yaml_stream_broken_midway_keeps_the_documents_before(tmp_path: Path) -> None:
    good = yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ok"}})
    write_files(tmp_path, {"all.yaml": f"{good}---\nkind: Pod\nmetadata: {{name: [x\n".encode()})
    snap = load_bundle(tmp_path)
    assert snap.get("Namespace", "", "ok") is not None
    assert len(snap.warnings) == 1 and "all.yaml" in snap.warnings[0]


def test_container_log_files_current_and_previous(tmp_path: Path, json_dump: Path) -> None:
    write_files(
        json_dump,
        {
            f"logs/{NS}/{AGENT}/azp-agent.log": b"Starting Azure Pipelines agent\n",
            f"logs/{NS}/{AGENT}/azp-agent.previous.log": AGENT_LOG.encode(),
            "logs/web/frontend-7b9c5d6f4-x2x9q/nginx.log": b"caf\xe9 \xff\n",  # latin-1 bytes
            "logs/web/frontend-7b9c5d6f4-x2x9q/log-shipper.log": "shipping ✓\n".encode("utf-16"),
        },
    )

    snap = load_bundle(json_dump)

    # The per-container file wins over the cluster-info dump logs.txt for the current log.
    assert snap.log(NS, AGENT, "azp-agent") == "Starting Azure Pipelines agent\n"
    assert snap.log(NS, AGENT, "azp-agent", previous=True) == AGENT_LOG
    assert snap.log("web", "frontend-7b9c5d6f4-x2x9q", "nginx") == "caf\ufffd \ufffd\n"
    assert snap.log("web", "frontend-7b9c5d6f4-x2x9q", "log-shipper") == "shipping ✓\n"
    assert snap.warnings == []


def test_audit_jsonl_with_bad_lines_warned_once_per_file(tmp_path: Path) -> None:
    def audit_event(i: int) -> dict[str, object]:
        return {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": f"5f0c6a0e-1c7b-4d0e-8f1a-0000000000{i:02d}",
            "stage": "ResponseComplete",
            "requestURI": f"/api/v1/namespaces/{NS}/pods",
            "verb": "create",
            "user": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "objectRef": {"resource": "pods", "namespace": NS, "apiVersion": "v1"},
            "responseStatus": {"metadata": {}, "code": 201},
            "annotations": {"mutation.webhook.admission.k8s.io/round_0_index_0": '{"mutated":true}'},
            "requestReceivedTimestamp": "2024-08-13T07:01:58.120000Z",
            "stageTimestamp": "2024-08-13T07:01:58.190000Z",
        }

    lines = [json.dumps(audit_event(i)) for i in range(3)]
    body = "\n".join([lines[0], "{not json", lines[1], "", '{"kind": "Pod"}', lines[2]]) + "\n"
    write_files(
        tmp_path,
        {
            "audit/kube-apiserver.log": body.encode(),
            "audit/more.jsonl": (json.dumps(audit_event(9)) + "\r\n").encode(),
            "audit/README.txt": b"ignored",
        },
    )

    snap = load_bundle(tmp_path)

    assert [e["auditID"][-2:] for e in snap.audit_events] == ["00", "01", "02", "09"]
    assert snap.objects == {}
    assert snap.warnings == [
        "skipped 2 of 5 lines of audit/kube-apiserver.log that are not audit events "
        "(line 2: invalid JSON: Expecting property name enclosed in double quotes at line 1 column 2)"
    ]


def test_manifest_json_gives_collection_time_and_is_not_an_object(tmp_path: Path, json_dump: Path) -> None:
    manifest = {
        "tool": {"name": "podmortem", "version": "0.1.0"},
        "cluster": "aks-ci-weu",
        "context": "aks-ci-weu-admin",
        "collected_at": "2024-08-13T07:25:00Z",
        "files": {"nodes.json": "sha256:" + "0" * 64},
    }
    write_files(json_dump, {"manifest.json": json.dumps(manifest).encode()})
    snap = load_bundle(json_dump)
    assert snap.source.collected_at == "2024-08-13T07:25:00Z"
    assert snap.warnings == [] and snap.count() == 6


def test_manifest_time_key(tmp_path: Path) -> None:
    write_files(tmp_path, {"manifest.json": b'{"time": "2024-08-13T08:00:00Z", "context": "x"}'})
    assert load_bundle(tmp_path).source.collected_at == "2024-08-13T08:00:00Z"


def test_encodings_utf16_bom_and_utf8_bom(tmp_path: Path) -> None:
    # PowerShell's `kubectl get pod -o json > pod.json` writes UTF-16 LE with a BOM.
    p1 = pod("ci", "ps-written")
    p2 = pod("ci", "bom-written")
    write_files(
        tmp_path,
        {
            "ps.json": json.dumps(p1, indent=2).encode("utf-16"),
            "bom.yaml": b"\xef\xbb\xbf" + yaml.safe_dump(p2).encode(),
            "ps.yaml": yaml.safe_dump(pod("ci", "ps-yaml")).encode("utf-16"),
        },
    )
    snap = load_bundle(tmp_path)
    assert sorted(n for _, n in snap.objects["Pod"]) == ["bom-written", "ps-written", "ps-yaml"]
    assert snap.warnings == []


def test_concatenated_json_documents(tmp_path: Path) -> None:
    text = json.dumps(pod("ci", "a")) + "\n" + json.dumps(kube_list("PodList", [pod("ci", "b")]))
    write_files(tmp_path, {"pods.json": text.encode()})
    snap = load_bundle(tmp_path)
    assert sorted(n for _, n in snap.objects["Pod"]) == ["a", "b"]


def test_yaml_alias_bomb_and_cycle_are_rejected(tmp_path: Path) -> None:
    bomb_lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata: {name: bomb}",
        "x0: &a0 [lol, lol, lol, lol]",
    ]
    for i in range(1, 25):
        prev = f"*a{i - 1}"
        bomb_lines.append(f"x{i}: &a{i} [{prev}, {prev}, {prev}, {prev}, {prev}, {prev}, {prev}, {prev}]")
    cycle = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loop}\ndata: &d {self: *d}\n"
    merge_ok = "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: merged, labels: &l {a: b}}\ndata: {<<: *l, c: d}\n"
    write_files(
        tmp_path,
        {
            "bomb.yaml": "\n".join(bomb_lines).encode(),
            "cycle.yaml": cycle.encode(),
            "merge.yaml": merge_ok.encode(),
        },
    )
    snap = load_bundle(tmp_path)
    assert sorted(snap.warnings) == [
        "skipped bomb.yaml: YAML aliases expand to too many nodes",
        "skipped cycle.yaml: YAML aliases form a cycle",
    ]
    merged = snap.get("ConfigMap", "", "merged")
    assert merged is not None and merged["data"] == {"a": "b", "c": "d"}


def test_hidden_files_and_macos_litter_are_ignored(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            ".git/config.json": b"{bad",
            "__MACOSX/ns/._pods.json": b"\x00\x05\x16\x07binary",
            "ns/._pods.json": b"\x00\x05\x16\x07binary",
            "ns/pods.json": json.dumps(kube_list("PodList", [pod("ns", "p")])).encode(),
        },
    )
    snap = load_bundle(tmp_path)
    assert snap.warnings == [] and snap.get("Pod", "ns", "p") is not None


def test_progress_messages(json_dump: Path) -> None:
    messages: list[str] = []
    load_bundle(json_dump, progress=messages.append)
    assert messages[0] == "read 1/17 files" and messages[-1] == "read 17/17 files"
    assert all(re.fullmatch(r"read \d+/17 files", m) for m in messages)


def test_progress_is_rate_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    import podmortem.sources._reader as reader

    now = [100.0]
    monkeypatch.setattr(reader.time, "monotonic", lambda: now[0])
    seen: list[str] = []
    ticker = Progress(seen.append)
    for i in range(1, 1001):
        now[0] += 0.001  # 1000 files in one second
        ticker(i, 1000)
    ticker(1000, 1000, final=True)
    assert 10 <= len(seen) <= 12
    assert seen[-1] == "read 1000/1000 files"


def test_unreadable_file_is_a_warning(json_dump: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    import podmortem.sources._reader as reader

    def fake_open(file: str, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith("events.json"):
            raise PermissionError(13, "Permission denied", file)
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(reader, "open", fake_open, raising=False)
    snap = load_bundle(json_dump)
    assert sorted(snap.warnings) == [
        f"skipped {NS}/events.json: cannot read it: Permission denied",
        "skipped web/events.json: cannot read it: Permission denied",
    ]
    assert snap.of_kind("Event") == [] and len(snap.of_kind("Pod")) == 2


def test_special_files_are_not_opened(tmp_path: Path) -> None:
    import os

    write_files(tmp_path, {"pods.json": json.dumps(pod("ns", "p")).encode()})
    os.mkfifo(tmp_path / "fifo.json")  # opening it would block forever
    snap = load_bundle(tmp_path)
    assert snap.get("Pod", "ns", "p") is not None and snap.warnings == []


def test_garbage_collector_is_left_as_it_was(json_dump: Path, tmp_path: Path) -> None:
    import gc

    assert gc.isenabled()
    load_bundle(json_dump)
    assert gc.isenabled()
    with pytest.raises(SourceError):
        load_bundle(tmp_path / "missing")
    assert gc.isenabled()
    gc.disable()
    try:
        load_bundle(json_dump)
        assert not gc.isenabled()
    finally:
        gc.enable()
