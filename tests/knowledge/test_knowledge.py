"""Fixture tests for the knowledge files (injector fingerprints and failure signatures).

Layout (one folder per id, outcome in the file name):
  injectors/<injector-id>/fires.<case>.json    a Pod the injector mutated  -> some strong marker hit
  injectors/<injector-id>/silent.<case>.json   a Pod it did not mutate     -> no strong marker hit
  signatures/<signature-id>/fires.<case>.log   a container log             -> search() finds a line
  signatures/<signature-id>/silent.<case>.log                              -> search() is None
  signatures/<signature-id>/{fires,silent}.<case>.json   for signatures without patterns: a `kind: List`
      holding the Pod(s) and Events; fires -> some container state or Event matches, silent -> none does.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from podmortem.knowledge import Injector, Signature, load

HERE = Path(__file__).parent
INJECTOR_FIXTURES = HERE / "injectors"
SIGNATURE_FIXTURES = HERE / "signatures"
FIXTURE_NAME = re.compile(r"^(?P<outcome>fires|silent)\.(?P<case>[a-z0-9][a-z0-9-]*)\.(?P<ext>json|log)$")

# A source either points into the shared research notes or names an upstream: a URL, or a GitHub
# repository (owner/name), optionally with @ref and :path.
SHARED_SOURCE = re.compile(r"^shared/knowledge/[a-z0-9-]+\.md §")
UPSTREAM_SOURCE = re.compile(r"^(https?://\S+|[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?(:\S+)?)$")


def _signatures() -> dict[str, Signature]:
    return {s.id: s for s in load().signatures}


def _fixture_files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*") if p.is_file())


def _params(root: Path) -> list[Any]:
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in _fixture_files(root)]


def _outcome(path: Path) -> str:
    m = FIXTURE_NAME.match(path.name)
    assert m, f"{path}: fixture names are fires.<case>.<ext> or silent.<case>.<ext>"
    return m["outcome"]


def _by_outcome(root: Path, ident: str, ext: str) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {"fires": [], "silent": []}
    for p in sorted((root / ident).glob(f"*.{ext}")):
        m = FIXTURE_NAME.match(p.name)
        if m:
            out[m["outcome"]].append(p)
    return out


# --------------------------------------------------------------------------------------------- coverage


def test_knowledge_loads_every_injector() -> None:
    expected = {
        "dynatrace",
        "datadog",
        "opentelemetry",
        "newrelic",
        "appdynamics",
        "instana",
        "elastic",
        "contrast",
        "istio",
        "linkerd",
        "vault",
    }
    assert set(load().injectors) == expected


@pytest.mark.parametrize("injector_id", sorted(load().injectors))
def test_every_injector_has_fires_and_silent_fixtures(injector_id: str) -> None:
    found = _by_outcome(INJECTOR_FIXTURES, injector_id, "json")
    assert found["fires"], f"no injectors/{injector_id}/fires.*.json"
    assert found["silent"], f"no injectors/{injector_id}/silent.*.json"


@pytest.mark.parametrize("signature_id", sorted(_signatures()))
def test_every_signature_has_fires_and_silent_fixtures(signature_id: str) -> None:
    sig = _signatures()[signature_id]
    ext = "log" if sig.patterns else "json"
    found = _by_outcome(SIGNATURE_FIXTURES, signature_id, ext)
    assert found["fires"], f"no signatures/{signature_id}/fires.*.{ext}"
    assert found["silent"], f"no signatures/{signature_id}/silent.*.{ext}"


def test_no_fixture_folder_names_an_unknown_id() -> None:
    injectors = {p.name for p in INJECTOR_FIXTURES.iterdir() if p.is_dir()}
    signatures = {p.name for p in SIGNATURE_FIXTURES.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert not injectors - set(load().injectors), "fixture folders for unknown injectors"
    assert not signatures - set(_signatures()), "fixture folders for unknown signatures"


@pytest.mark.parametrize("path", _params(INJECTOR_FIXTURES) + _params(SIGNATURE_FIXTURES))
def test_fixture_file_is_named_for_its_kind(path: Path) -> None:
    m = FIXTURE_NAME.match(path.name)
    assert m, f"{path.name}: expected fires.<case>.<ext> or silent.<case>.<ext>"
    if path.parent.parent == INJECTOR_FIXTURES:
        assert m["ext"] == "json", "injector fixtures are Pod JSON"
    else:
        sig = _signatures().get(path.parent.name)
        assert sig is not None, f"unknown signature folder {path.parent.name}"
        assert m["ext"] == ("log" if sig.patterns else "json"), (
            "signatures with patterns take .log fixtures, the others a kind: List .json"
        )


# ------------------------------------------------------------------------------------------- injectors


def _strong_hits(inj: Injector, pod: dict[str, Any]) -> list[str]:
    return [f"{h.where}:{h.name}={h.detail}" for h in inj.detect(pod) if h.strength == "strong"]


@pytest.mark.parametrize("path", _params(INJECTOR_FIXTURES))
def test_injector_fixture(path: Path) -> None:
    inj = load().injectors[path.parent.name]
    pod = json.loads(path.read_text(encoding="utf-8"))
    assert pod.get("kind") == "Pod", "injector fixtures hold one Pod"
    strong = _strong_hits(inj, pod)
    if _outcome(path) == "fires":
        assert strong, f"{inj.id}: no strong marker found in {path.name}"
        assert all(h.injector == inj.id for h in inj.detect(pod))
    else:
        assert not strong, f"{inj.id}: strong markers in a pod it did not mutate: {strong}"


# ------------------------------------------------------------------------------------------ signatures


def _log_params() -> list[Any]:
    sigs = _signatures()
    return [p for p in _params(SIGNATURE_FIXTURES) if p.values[0].suffix == ".log" and p.values[0].parent.name in sigs]


def _state_params() -> list[Any]:
    sigs = _signatures()
    return [p for p in _params(SIGNATURE_FIXTURES) if p.values[0].suffix == ".json" and p.values[0].parent.name in sigs]


@pytest.mark.parametrize("path", _log_params())
def test_log_signature_fixture(path: Path) -> None:
    sig = _signatures()[path.parent.name]
    text = path.read_text(encoding="utf-8")
    hit = sig.search(text)
    if _outcome(path) == "fires":
        assert hit is not None, f"{sig.id}: no pattern matched {path.name}"
        lines = text.split("\n")
        assert 1 <= hit.line_no <= len(lines)
        assert lines[hit.line_no - 1].rstrip("\r") == hit.line, "LogHit must report the matching line"
    else:
        assert hit is None, f"{sig.id}: matched line {hit.line_no if hit else 0} of {path.name}: {hit}"


@pytest.mark.parametrize("path", _log_params())
def test_patterns_never_match_across_lines(path: Path) -> None:
    """Patterns are meant per line: a match that spans a newline means a character class is too wide."""
    text = path.read_text(encoding="utf-8")
    for sig in load().signatures:
        for pat in sig.patterns:
            for m in pat.finditer(text):
                where = f"{sig.id}: {pat.pattern!r} in {path.name}"
                assert "\n" not in m.group(0), f"{where} matched across lines"


def _container_states(pod: dict[str, Any]) -> Iterator[tuple[int | None, str | None]]:
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(key) or []:
            for which in ("state", "lastState"):
                state = cs.get(which) or {}
                term = state.get("terminated")
                if term:
                    yield term.get("exitCode"), term.get("reason")
                wait = state.get("waiting")
                if wait:
                    yield None, wait.get("reason")


def _state_matches(sig: Signature, items: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for obj in items:
        if obj.get("kind") == "Pod":
            for code, reason in _container_states(obj):
                if sig.matches_state(code, reason):
                    found.append(f"state {reason} {code}")
        elif obj.get("kind") == "Event" and sig.matches_event(str(obj.get("reason", "")), str(obj.get("message", ""))):
            found.append(f"event {obj.get('reason')}: {obj.get('message')}")
    return found


@pytest.mark.parametrize("path", _state_params())
def test_state_signature_fixture(path: Path) -> None:
    sig = _signatures()[path.parent.name]
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc.get("kind") == "List" and isinstance(doc.get("items"), list), "state fixtures are a kind: List"
    found = _state_matches(sig, doc["items"])
    if _outcome(path) == "fires":
        assert found, f"{sig.id}: no container state or event in {path.name} matched"
    else:
        assert not found, f"{sig.id}: matched in {path.name}: {found}"


# ------------------------------------------------------------------------------------ fixture realism


# Fields the API server sets on every pod, so `kubectl get -o json` always shows them.
POD_SPEC_DEFAULTS = (
    "dnsPolicy",
    "restartPolicy",
    "schedulerName",
    "terminationGracePeriodSeconds",
    "tolerations",
)
CONTAINER_DEFAULTS = (
    "image",
    "imagePullPolicy",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "resources",
)


def _pods_in(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    items = doc["items"] if doc.get("kind") == "List" else [doc]
    return [o for o in items if o.get("kind") == "Pod"]


@pytest.mark.parametrize("path", _params(INJECTOR_FIXTURES) + _state_params())
def test_fixture_pods_are_shaped_like_api_output(path: Path) -> None:
    for pod in _pods_in(path):
        meta, spec, status = pod["metadata"], pod["spec"], pod["status"]
        assert pod["apiVersion"] == "v1"
        for key in ("name", "namespace", "uid", "creationTimestamp", "resourceVersion"):
            assert meta.get(key), f"metadata.{key} missing"
        for key in POD_SPEC_DEFAULTS:
            assert key in spec, f"spec.{key} missing (the API server defaults it)"
        assert any(v["name"].startswith("kube-api-access-") for v in spec["volumes"])
        for c in spec["containers"] + spec.get("initContainers", []):
            for key in CONTAINER_DEFAULTS:
                assert key in c, f"container {c.get('name')}: {key} missing"
        assert status.get("phase")


@pytest.mark.parametrize("path", _state_params())
def test_fixture_events_are_core_v1(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    events = [o for o in doc["items"] if o.get("kind") == "Event"]
    for ev in events:
        assert ev["apiVersion"] == "v1"
        for key in ("involvedObject", "reason", "message", "type", "source", "metadata"):
            assert key in ev, f"Event {key} missing"
        assert ev["firstTimestamp"] or ev.get("eventTime"), "an Event has firstTimestamp or eventTime"
        involved = ev["involvedObject"]
        assert involved["uid"] and involved["kind"] and involved["name"]
        targets = {o["metadata"]["uid"] for o in doc["items"] if o.get("kind") != "Event"}
        assert involved["uid"] in targets, "each Event refers to an object of the List"


# ---------------------------------------------------------------------------------- sources and regexes


def _source_ok(ref: str) -> bool:
    return bool(SHARED_SOURCE.match(ref) or UPSTREAM_SOURCE.match(ref))


@pytest.mark.parametrize("injector_id", sorted(load().injectors))
def test_injector_cites_sources(injector_id: str) -> None:
    refs = load().injectors[injector_id].sources
    assert any(SHARED_SOURCE.match(r) for r in refs), "cite the shared knowledge section"
    assert any(UPSTREAM_SOURCE.match(r) for r in refs), "cite an upstream (repo path, doc or issue URL)"
    bad = [r for r in refs if not _source_ok(r)]
    assert not bad, f"unrecognised source refs: {bad}"


@pytest.mark.parametrize("signature_id", sorted(_signatures()))
def test_signature_cites_sources(signature_id: str) -> None:
    refs = _signatures()[signature_id].sources
    assert refs and any(_source_ok(r) for r in refs)
    bad = [r for r in refs if not _source_ok(r)]
    assert not bad, f"unrecognised source refs: {bad}"


def _mechanism_names() -> set[str]:
    schema_file = resources.files("podmortem.knowledge").joinpath("schema", "injector.schema.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    return set(schema["$defs"]["mechanism"]["enum"])


def test_signature_mechanisms_are_injector_mechanisms() -> None:
    """Signatures name mechanisms so they can be joined with injector markers; the names must agree."""
    known = _mechanism_names()
    for sig in load().signatures:
        unknown = set(sig.mechanisms) - known
        assert not unknown, f"{sig.id}: unknown mechanisms {sorted(unknown)}"


def test_injection_only_signatures_are_injection() -> None:
    for sig in load().signatures:
        if sig.injection_only:
            assert sig.category == "injection", sig.id
            assert sig.mechanisms, f"{sig.id}: an injection-only signature says which mechanisms it implies"


def test_patterns_stay_fast_on_huge_lines() -> None:
    """Logs can hold multi-MB lines: every pattern must scan them in roughly linear time."""
    size = 1_000_000
    hostile = [
        "A" * size,
        " " * size + "at",
        "ERROR: ld.so: object '" + "x" * size,
        "Error relocating " + "a" * size,
        "environment variable " * (size // 21),
        "Picked up JAVA_TOOL_OPTIONS: " + "-" * size,
        'Failed to pull image "' + "x" * size,
    ]
    start = time.perf_counter()
    for sig in load().signatures:
        for line in hostile:
            sig.search(line)
            for reason, _ in sig.events:
                sig.matches_event(reason, line)
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"patterns took {elapsed:.1f}s on 7 one-megabyte lines"
