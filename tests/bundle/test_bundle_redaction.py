"""Redaction of bundles: no planted secret survives anywhere, non-secrets do, the manifest counts and hashes."""

from __future__ import annotations

import hashlib
import json
import string
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bundle_fixtures import (
    bundle_texts,
    configmap,
    container,
    deployment,
    event,
    namespace,
    pod,
    replicaset,
    secret,
    snapshot_of,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from podmortem.bundle import write_bundle
from podmortem.bundle.scrub import Scrubber
from podmortem.model.snapshot import LogKey, Snapshot
from podmortem.sources import open_source

NS = "build-agents"
IMAGE = "myacr.azurecr.io/azp-agent:ubuntu-22.04-3.242.1"
ALNUM = string.ascii_letters + string.digits
B32 = "abcdefghijklmnopqrstuvwxyz234567"

# ---------------------------------------------------------------------------------------------------------
# Generated secrets: random credentials (caught by where they sit) and token shapes (caught by their shape)


def _mixed(s: str) -> bool:
    return any(c.islower() for c in s) and any(c.isupper() for c in s) and any(c.isdigit() for c in s)


random_credential = st.text(alphabet=ALNUM, min_size=16, max_size=40).filter(_mixed)
github_token = st.text(alphabet=ALNUM, min_size=36, max_size=36).map(lambda s: "ghp_" + s)
ado_pat = st.text(alphabet=B32, min_size=52, max_size=52).filter(
    lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s)
)
jwt = st.tuples(
    st.text(alphabet=ALNUM + "-_", min_size=10, max_size=30),
    st.text(alphabet=ALNUM + "-_", min_size=20, max_size=60),
    st.text(alphabet=ALNUM + "-_", min_size=20, max_size=60),
).map(lambda t: f"eyJhbGciOiJSUzI1NiJ9{t[0]}.eyJzdWIiOiJ4In0{t[1]}.{t[2]}")
secrets = st.one_of(random_credential, random_credential, github_token, ado_pat, jwt)

SENSITIVE_ENV = ["AZP_TOKEN", "JENKINS_SECRET", "DD_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "RUNNER_TOKEN"]
SENSITIVE_ANNOTATIONS = ["ci.example.com/access-token", "example.com/api-key", "vendor.io/client-secret"]
FLAGS = ["--token", "--password", "--api-key"]
PLACES = ["env", "annotation", "last-applied", "args", "event", "log", "log-literal", "configmap", "custom-resource"]


@dataclass
class World:
    """A small cluster with secrets planted in it, and the non-secret values that must survive."""

    deployment: dict[str, Any]
    pod: dict[str, Any]
    objects: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[LogKey, str] = field(default_factory=dict)
    planted: list[tuple[str, str]] = field(default_factory=list)  # (place, secret)

    @property
    def container(self) -> dict[str, Any]:
        c = self.pod["spec"]["containers"][0]
        assert isinstance(c, dict)
        return c

    @property
    def log_key(self) -> LogKey:
        return LogKey(NS, self.pod["metadata"]["name"], "azp-agent", previous=True)


def build_world() -> World:
    env = [
        {"name": "LOG_LEVEL", "value": "debug-verbose-7"},
        {"name": "AZP_URL", "value": "https://dev.azure.com/contoso"},
    ]
    dep = deployment(NS, "azure-devops-agent", [container("azp-agent", IMAGE, env=env, args=["--once"])])
    rs = replicaset(dep)
    p = pod(
        NS,
        rs["metadata"]["name"] + "-9d62c",
        [container("azp-agent", IMAGE, env=list(env), args=["--once"])],
        owner=rs,
        labels={"team": "platform-blue"},
    )
    w = World(dep, p)
    w.objects = [namespace(NS), dep, rs, p, configmap(NS, "agent-config", {"AZP_POOL": "linux-pool-7"})]
    w.objects.append(event(p, "BackOff", "Back-off restarting failed container azp-agent in pod", n=1))
    w.logs[w.log_key] = "4. Running Azure Pipelines agent...\nUnhandled exception. System.TypeInitializationException\n"
    return w


def plant(w: World, place: str, value: str, pick: int) -> None:
    w.planted.append((place, value))
    if place == "env":
        w.container["env"].append({"name": SENSITIVE_ENV[pick % len(SENSITIVE_ENV)], "value": value})
    elif place == "annotation":
        w.pod["metadata"].setdefault("annotations", {})[SENSITIVE_ANNOTATIONS[pick % 3]] = value
    elif place == "last-applied":
        applied = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"annotations": {}, "name": "azure-devops-agent", "namespace": NS},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "env": [{"name": SENSITIVE_ENV[pick % len(SENSITIVE_ENV)], "value": value}],
                                "image": IMAGE,
                                "name": "azp-agent",
                            }
                        ]
                    }
                }
            },
        }
        w.deployment["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = (
            json.dumps(applied, separators=(",", ":")) + "\n"
        )
    elif place == "args":
        flag = FLAGS[pick % len(FLAGS)]
        w.container["args"] += [f"{flag}={value}"] if pick % 2 else [flag, value]
    elif place == "event":
        msg = (
            f"Error: failed to register agent: token={value}"
            if pick % 2
            else f"Readiness probe failed: GET /health with Authorization: Bearer {value} returned 401"
        )
        w.objects.append(event(w.pod, "Unhealthy", msg, n=10 + len(w.planted)))
    elif place == "log":
        line = f"curl -H 'Authorization: Bearer {value}' https://dev.azure.com" if pick % 2 else f"password={value}"
        w.logs[w.log_key] += line + "\n"
    elif place == "log-literal":
        # a literal env value, repeated bare in a log where nothing else says it is a secret
        w.container["env"].append({"name": "AZP_TOKEN", "value": value})
        w.logs[w.log_key] += f"Registering agent using {value} for pool linux-pool-7\n"
    elif place == "configmap":
        data = (
            {"password": value}
            if pick % 3 == 0
            else {"app.conf": f"db_password = {value}\n"}
            if pick % 3 == 1
            else {"config.toml": f'[runner]\ntoken = "{value}"\n'}
        )
        w.objects.append(configmap(NS, f"cm-{len(w.planted)}", data))
    elif place == "custom-resource":
        # an injector's own configuration: Instana's agent key sits under a bare "key", Datadog's under apiKey
        if pick % 2:
            spec: dict[str, Any] = {"agent": {"key": value, "endpointHost": "ingress-red-saas.instana.io"}}
            kind, api, name = "InstanaAgent", "instana.io/v1", "instana-agent"
        else:
            spec = {"global": {"credentials": {"apiKey": value}, "site": "datadoghq.eu"}}
            kind, api, name = "DatadogAgent", "datadoghq.com/v2alpha1", "datadog"
        w.objects.append(
            {
                "apiVersion": api,
                "kind": kind,
                "metadata": {
                    "name": f"{name}-{len(w.planted)}",
                    "namespace": "monitoring",
                    "uid": f"u-{len(w.planted)}",
                },
                "spec": spec,
            }
        )
    else:  # pragma: no cover - the list above is exhaustive
        raise AssertionError(place)


def snapshot_from(w: World) -> Snapshot:
    return snapshot_of(w.objects, w.logs)


EXPECTED_PLACE = {
    "env": "env",
    "annotation": "annotations",
    "last-applied": "annotations",
    "args": "args",
    "event": "events",
    "log": "logs",
    "log-literal": "logs",
    "configmap": "other",
    "custom-resource": "other",
}


def check_bundle(out: Path, w: World, *, manifest_total: int) -> None:
    files = bundle_texts(out)
    text = {rel: data.decode("utf-8") for rel, data in files.items()}
    for place, value in w.planted:
        for rel, body in text.items():
            assert value not in body, f"secret planted in {place} found in {rel}"
    # manifest: every other file hashed, and the hashes verify
    manifest = json.loads(text.pop("manifest.json"))
    assert set(manifest["files"]) == set(text)
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256(files[rel]).hexdigest() == digest
    red = manifest["redaction"]
    assert red["total"] == manifest_total == sum(red["by_place"].values())
    for place, _ in w.planted:
        assert red["by_place"][EXPECTED_PLACE[place]] >= 1, place
    # what is not secret survives
    back = open_source(out)
    p = back.get("Pod", NS, w.pod["metadata"]["name"])
    assert p is not None
    env = {e["name"]: e.get("value") for e in p["spec"]["containers"][0]["env"]}
    assert env["LOG_LEVEL"] == "debug-verbose-7"
    assert env["AZP_URL"] == "https://dev.azure.com/contoso"
    assert p["spec"]["containers"][0]["image"] == IMAGE
    assert p["spec"]["containers"][0]["args"][0] == "--once"
    assert p["metadata"]["labels"]["team"] == "platform-blue"
    assert p["spec"]["tolerations"] == w.pod["spec"]["tolerations"]  # a bare "key" that is not a credential
    assert p["spec"]["volumes"] == w.pod["spec"]["volumes"]
    log = back.log(NS, w.pod["metadata"]["name"], "azp-agent", previous=True)
    assert log is not None
    assert log.startswith(
        "4. Running Azure Pipelines agent...\nUnhandled exception. System.TypeInitializationException\n"
    )
    cm = back.get("ConfigMap", NS, "agent-config")
    assert cm is not None and cm["data"] == {"AZP_POOL": "linux-pool-7"}
    reasons = sorted(e["reason"] for e in back.of_kind("Event"))
    assert reasons == sorted(e["reason"] for e in w.objects if e["kind"] == "Event")
    assert not back.warnings


@settings(max_examples=200, deadline=None)
@given(
    plants=st.lists(st.tuples(st.sampled_from(PLACES), secrets, st.integers(0, 11)), min_size=1, max_size=6),
    archive=st.booleans(),
)
def test_planted_secrets_never_reach_a_bundle(plants: list[tuple[str, str, int]], archive: bool) -> None:
    w = build_world()
    for place, value, pick in plants:
        plant(w, place, value, pick)
    snap = snapshot_from(w)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / ("b.tar.gz" if archive else "b")
        manifest = write_bundle(snap, str(out), tool_version="1")
        check_bundle(out, w, manifest_total=manifest.redaction["total"])


@pytest.mark.parametrize("place", PLACES)
def test_each_place_unredacted_would_leak(place: str, tmp_path: Path) -> None:
    """The property above can fail: without redaction each planted secret is in the bundle."""
    w = build_world()
    value = "Zx9" + "kQ7mP2vL8nR4tW6yB3cD"
    plant(w, place, value, 1)
    write_bundle(snapshot_from(w), str(tmp_path / "b"), tool_version="1", redact=False)
    assert any(value in data.decode() for data in bundle_texts(tmp_path / "b").values())
    m = write_bundle(snapshot_from(w), str(tmp_path / "r"), tool_version="1")
    check_bundle(tmp_path / "r", w, manifest_total=m.redaction["total"])


def test_counts_by_place(tmp_path: Path) -> None:
    w = build_world()
    plant(w, "env", "Pq8" + "x" * 20 + "Z1", 0)  # AZP_TOKEN on the pod
    plant(w, "annotation", "Ann0tati0nSecretValue99", 0)
    plant(w, "args", "ArgSecretValue0123456789", 0)  # "--token", value
    plant(w, "event", "EventSecret0123456789xyz", 1)  # token=...
    plant(w, "log", "LogSecret0123456789abcXYZ", 0)  # password=...
    plant(w, "configmap", "ConfigMapSecret0123456789", 0)  # {"password": ...}
    m = write_bundle(snapshot_from(w), str(tmp_path / "b"), tool_version="1")
    assert m.redaction["by_place"] == {
        "env": 1,
        "annotations": 1,
        "args": 1,
        "logs": 1,
        "events": 1,
        "audit": 0,
        "other": 1,
    }
    assert m.redaction["total"] == 6


def test_a_pat_set_as_a_literal_is_masked_wherever_it_is_repeated(tmp_path: Path) -> None:
    w = build_world()
    pat = "Lit3ralPat0123456789abcdefXYZ"  # no token shape: only known because of the env name
    w.container["env"].append({"name": "AZP_TOKEN", "value": pat})
    w.logs[w.log_key] += f"using {pat}\n"
    w.objects.append(event(w.pod, "Failed", f"Error: exec ./config.sh --url x {pat}", n=30))
    w.objects.append(configmap(NS, "notes", {"README": f"the agent registers with {pat}"}))
    m = write_bundle(snapshot_from(w), str(tmp_path / "b"), tool_version="1")
    assert not any(pat in d.decode() for d in bundle_texts(tmp_path / "b").values())
    assert m.redaction["by_place"]["logs"] == 1
    assert m.redaction["by_place"]["events"] == 1
    assert m.redaction["by_place"]["other"] == 1


def test_secret_objects_are_dropped_and_their_values_masked_in_logs(tmp_path: Path) -> None:
    w = build_world()
    token = "SecretData0123456789abcdefGH"
    w.objects.append(secret(NS, "azdevops", {"AZP_TOKEN": token, "AZP_URL": "https://dev.azure.com/contoso"}))
    w.logs[w.log_key] += f"token is {token}\nurl is https://dev.azure.com/contoso\n"
    m = write_bundle(snapshot_from(w), str(tmp_path / "b"), tool_version="1")
    files = bundle_texts(tmp_path / "b")
    assert not any(token in d.decode() for d in files.values())
    assert not any(b'"kind": "Secret"' in d for d in files.values())
    assert m.redaction["secrets_dropped"] == 1
    log = open_source(tmp_path / "b").log(NS, w.pod["metadata"]["name"], "azp-agent", previous=True)
    assert log is not None and "url is https://dev.azure.com/contoso" in log  # not a secret: kept


def test_values_that_only_look_sensitive_are_not_spread(tmp_path: Path) -> None:
    """A masked Vault path or timestamp is not hunted for in logs and other objects (they are evidence)."""
    w = build_world()
    w.pod["metadata"]["annotations"] = {"vault.hashicorp.com/agent-inject-secret-db": "secret/data/payments/db"}
    w.logs[w.log_key] += "vault.read(secret/data/payments/db): Code: 403\n"
    dk = {
        "apiVersion": "dynatrace.com/v1beta2",
        "kind": "DynaKube",
        "metadata": {"name": "dynakube", "namespace": "dynatrace", "uid": "u-dk"},
        "spec": {"tokens": "dynakube"},
        "status": {"lastTokenScopeRequest": "2024-08-13T09:14:56Z", "lastProbeTimestamp": "2024-08-13T09:14:56Z"},
    }
    w.objects.append(dk)
    w.logs[w.log_key] += '{"msg":"reconciling DynaKube","dynakube":"dynakube"}\n'
    write_bundle(snapshot_from(w), str(tmp_path / "b"), tool_version="1")
    back = open_source(tmp_path / "b")
    log = back.log(NS, w.pod["metadata"]["name"], "azp-agent", previous=True)
    assert log is not None
    assert "vault.read(secret/data/payments/db)" in log
    assert '"dynakube":"dynakube"' in log
    obj = back.get("DynaKube", "dynatrace", "dynakube")
    assert obj is not None and obj["status"]["lastProbeTimestamp"] == "2024-08-13T09:14:56Z"


def test_audit_events_are_redacted(tmp_path: Path) -> None:
    w = build_world()
    snap = snapshot_from(w)
    pat = "AuditSecret0123456789abcXYZ"
    snap.audit_events.append(
        {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Event",
            "level": "RequestResponse",
            "auditID": "6c2f0c3e-1d1c-4c59-9a1e-0c1c2e3f4a5b",
            "stage": "ResponseComplete",
            "verb": "create",
            "objectRef": {"resource": "pods", "namespace": NS, "apiVersion": "v1"},
            "requestObject": {
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {"name": "x"},
                "spec": {"containers": [{"name": "c", "env": [{"name": "AZP_TOKEN", "value": pat}]}]},
            },
            "annotations": {
                "mutation.webhook.admission.k8s.io/round_0_index_0": json.dumps(
                    {"configuration": "dynatrace-webhook", "webhook": "webhook.pod.dynatrace.com", "mutated": True},
                    separators=(",", ":"),
                )
            },
        }
    )
    m = write_bundle(snap, str(tmp_path / "b"), tool_version="1")
    files = bundle_texts(tmp_path / "b")
    assert "audit/events.jsonl" in files
    assert pat.encode() not in files["audit/events.jsonl"]
    assert m.redaction["by_place"]["audit"] == 1
    back = open_source(tmp_path / "b")
    assert len(back.audit_events) == 1
    assert back.audit_events[0]["annotations"] == snap.audit_events[0]["annotations"]


def test_scrubber_disabled_passes_everything_but_secrets() -> None:
    s = Scrubber(enabled=False)
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"password": "Hunter2Hunter2"}}
    assert s.object(obj) is obj
    assert s.object(secret("ns", "s", {"token": "x"})) is None
    assert s.log("password=Hunter2Hunter2") == "password=Hunter2Hunter2"
    assert s.summary() == {
        "enabled": False,
        "total": 0,
        "by_place": {p: 0 for p in ("env", "annotations", "args", "logs", "events", "audit", "other")},
        "secrets_dropped": 1,
    }
