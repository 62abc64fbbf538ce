"""Knowledge as data: injector fingerprints and failure signatures, loaded from YAML and validated.

Files live beside this module: ``injectors/<id>.yaml`` (one per injector) and ``signatures/<area>.yaml``;
each is validated against the JSON Schemas in ``schema/``. Nothing here touches a cluster.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import yaml

from podmortem.model.objects import annotations_of, as_dict, as_list, as_str, containers, labels, spec

# libyaml when PyYAML was built with it (much faster), else the pure-Python loader; both are safe loaders.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KnowledgeError(Exception):
    """A knowledge file is missing, malformed or does not validate."""


@dataclass(frozen=True)
class MarkerHit:
    """One injector marker found on a pod."""

    injector: str
    where: str  # init-container | container | volume | mount | env | annotation | label
    name: str  # the container / volume / env / annotation / label name, or the mount path
    container: str  # the container it was found in ("" for pod-level items)
    detail: str  # the matched value (env value, image, CSI driver, annotation value)
    strength: str
    mechanisms: tuple[str, ...]
    era: str = ""


@dataclass(frozen=True)
class Marker:
    """Something an injector adds to a pod, by which it can be recognised."""

    where: str
    strength: str
    name: str = ""
    name_re: re.Pattern[str] | None = None
    value_re: re.Pattern[str] | None = None
    mechanisms: tuple[str, ...] = ()
    era: str = ""

    def name_matches(self, candidate: str) -> bool:
        """Whether a name (or mount path) matches this marker."""
        if self.name:
            return candidate == self.name
        return bool(self.name_re and self.name_re.search(candidate))

    def value_matches(self, value: str) -> bool:
        """Whether a value matches (always true when the marker has no value pattern)."""
        return self.value_re is None or bool(self.value_re.search(value))


@dataclass(frozen=True)
class Injector:
    """An injector fingerprint (see ``schema/injector.schema.json``)."""

    id: str
    vendor: str
    title: str
    mutates: str
    markers: tuple[Marker, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @property
    def sources(self) -> list[str]:
        """The refs this fingerprint cites."""
        return [as_str(s.get("ref")) for s in as_list(self.raw.get("sources")) if isinstance(s, dict)]

    def section(self, key: str) -> dict[str, Any]:
        """A top-level mapping of the raw record (``exclusion``, ``selection``, ``webhooks``...)."""
        return as_dict(self.raw.get(key))

    def detect(self, pod: dict[str, Any], features: PodFeatures | None = None) -> list[MarkerHit]:
        """Every marker of this injector present in a pod (or pod template): its spec and metadata."""
        feats = features if features is not None else PodFeatures.of(pod)
        hits: list[MarkerHit] = []
        for m in self.markers:
            items = feats.by_name.get((m.where, m.name), ()) if m.name else feats.by_where.get(m.where, ())
            for fname, container, value in items:
                if (m.name or m.name_matches(fname)) and m.value_matches(value):
                    hits.append(MarkerHit(self.id, m.where, fname, container, value, m.strength, m.mechanisms, m.era))
        return hits


@dataclass
class PodFeatures:
    """A pod's markable items, computed once: ``(name, container, value)`` by kind of item and by name."""

    by_where: dict[str, list[tuple[str, str, str]]]
    by_name: dict[tuple[str, str], list[tuple[str, str, str]]]

    @classmethod
    def of(cls, pod: dict[str, Any]) -> PodFeatures:
        """Collect containers, volumes, mounts, env, annotations and labels of a pod or pod template."""
        by_where: dict[str, list[tuple[str, str, str]]] = {}

        def add(where: str, name: str, container: str, value: str) -> None:
            by_where.setdefault(where, []).append((name, container, value))

        pspec = spec(pod)
        init, main = containers(pspec, init=True), containers(pspec)
        for where, group in (("init-container", init), ("container", main)):
            for c in group:
                cname = as_str(c.get("name"))
                add(where, cname, cname, as_str(c.get("image")))
        for c in main + init:
            cname = as_str(c.get("name"))
            for vm in as_list(c.get("volumeMounts")):
                vmd = as_dict(vm)
                add("mount", as_str(vmd.get("mountPath")), cname, as_str(vmd.get("name")))
            for e in as_list(c.get("env")):
                ed = as_dict(e)
                add("env", as_str(ed.get("name")), cname, as_str(ed.get("value")))
        for v in as_list(pspec.get("volumes")):
            vd = as_dict(v)
            add("volume", as_str(vd.get("name")), "", as_str(as_dict(vd.get("csi")).get("driver")))
        for key, value in annotations_of(pod).items():
            add("annotation", key, "", value)
        for key, value in labels(pod).items():
            add("label", key, "", value)
        by_name: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for where, items in by_where.items():
            for item in items:
                by_name.setdefault((where, item[0]), []).append(item)
        return cls(by_where, by_name)


@dataclass(frozen=True)
class LogHit:
    """A signature's match in a log: the 1-based line number and the line."""

    line_no: int
    line: str


@dataclass(frozen=True)
class Signature:
    """A failure signature (see ``schema/signatures.schema.json``)."""

    id: str
    area: str
    title: str
    category: str
    specificity: float
    explanation: str
    runtime: str = "any"
    patterns: tuple[re.Pattern[str], ...] = ()
    exit_codes: tuple[int, ...] = ()
    reasons: tuple[str, ...] = ()
    events: tuple[tuple[str, re.Pattern[str] | None], ...] = ()
    mechanisms: tuple[str, ...] = ()
    injection_only: bool = False
    fix: str = ""
    sources: tuple[str, ...] = ()
    rule: str = ""

    def search(self, text: str) -> LogHit | None:
        """The first line of ``text`` matching one of the patterns (patterns tried in order of the file)."""
        if not self.patterns or not text:
            return None
        best: LogHit | None = None
        for pat in self.patterns:
            mt = pat.search(text)
            if mt is None:
                continue
            start = text.rfind("\n", 0, mt.start()) + 1
            end = text.find("\n", mt.start())
            line = text[start : end if end >= 0 else len(text)]
            line_no = text.count("\n", 0, start) + 1
            if best is None or line_no < best.line_no:
                best = LogHit(line_no, line.rstrip("\r"))
        return best

    def matches_state(self, exit_code: int | None, reason: str | None) -> bool:
        """Whether a container state (exit code and/or reason) matches; only for signatures without patterns."""
        if self.patterns:
            return False
        if self.reasons:
            if not reason or reason not in self.reasons:
                return False
            return not self.exit_codes or exit_code in self.exit_codes
        return bool(self.exit_codes) and exit_code in self.exit_codes

    def matches_event(self, reason: str, message: str) -> bool:
        """Whether an event (reason and message) matches one of the event patterns."""
        for ev_reason, msg_re in self.events:
            if reason == ev_reason and (msg_re is None or msg_re.search(message)):
                return True
        return False


@dataclass(frozen=True)
class Knowledge:
    """All injector fingerprints and failure signatures."""

    injectors: dict[str, Injector]
    signatures: list[Signature]

    def signature(self, sig_id: str) -> Signature:
        """A signature by id (KeyError when unknown)."""
        for s in self.signatures:
            if s.id == sig_id:
                return s
        raise KeyError(sig_id)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        raise KnowledgeError(f"{where}: bad regular expression {pattern!r}: {exc}") from exc


def _schema(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath("schema", name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _read_dir(sub: str, schema_name: str) -> list[tuple[str, dict[str, Any]]]:
    validator = jsonschema.Draft202012Validator(_schema(schema_name))
    out: list[tuple[str, dict[str, Any]]] = []
    folder = resources.files(__package__).joinpath(sub)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        where = f"{sub}/{entry.name}"
        try:
            data = yaml.load(entry.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        except yaml.YAMLError as exc:
            raise KnowledgeError(f"{where}: not valid YAML: {exc}") from exc
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            path = "/".join(str(p) for p in first.path)
            raise KnowledgeError(f"{where}: {path}: {first.message}")
        out.append((where, data))
    return out


def _marker(raw: dict[str, Any], where: str) -> Marker:
    return Marker(
        where=raw["where"],
        strength=raw["strength"],
        name=as_str(raw.get("name")),
        name_re=_compile(raw["name_pattern"], where) if raw.get("name_pattern") else None,
        value_re=_compile(raw["value_pattern"], where) if raw.get("value_pattern") else None,
        mechanisms=tuple(raw.get("mechanisms", ())),
        era=as_str(raw.get("era")),
    )


def _signature(raw: dict[str, Any], area: str, where: str) -> Signature:
    events = tuple(
        (as_str(e["reason"]), _compile(e["message_pattern"], where) if e.get("message_pattern") else None)
        for e in raw.get("events", ())
    )
    return Signature(
        id=raw["id"],
        area=area,
        title=raw["title"],
        category=raw["category"],
        specificity=float(raw["specificity"]),
        explanation=raw["explanation"],
        runtime=as_str(raw.get("runtime")) or "any",
        patterns=tuple(_compile(p, where) for p in raw.get("patterns", ())),
        exit_codes=tuple(int(c) for c in raw.get("exit_codes", ())),
        reasons=tuple(raw.get("reasons", ())),
        events=events,
        mechanisms=tuple(raw.get("mechanisms", ())),
        injection_only=bool(raw.get("injection_only", False)),
        fix=as_str(raw.get("fix")),
        rule=as_str(raw.get("rule")),
        sources=tuple(as_str(s.get("ref")) for s in raw.get("sources", ())),
    )


@cache
def load() -> Knowledge:
    """Load and validate every knowledge file (cached for the process)."""
    injectors: dict[str, Injector] = {}
    for where, data in _read_dir("injectors", "injector.schema.json"):
        if data["id"] in injectors:
            raise KnowledgeError(f"{where}: duplicate injector id {data['id']!r}")
        markers = tuple(_marker(m, where) for m in data["markers"])
        injectors[data["id"]] = Injector(data["id"], data["vendor"], data["title"], data["mutates"], markers, data)
    signatures: list[Signature] = []
    seen: set[str] = set()
    for where, data in _read_dir("signatures", "signatures.schema.json"):
        for raw in data["signatures"]:
            if raw["id"] in seen:
                raise KnowledgeError(f"{where}: duplicate signature id {raw['id']!r}")
            seen.add(raw["id"])
            signatures.append(_signature(raw, data["area"], where))
    signatures.sort(key=lambda s: -s.specificity)
    return Knowledge(injectors, signatures)
