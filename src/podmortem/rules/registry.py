"""The rule registry: rule functions by id, their catalog records, and the candidate causes they return."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from podmortem.model.findings import Evidence, Finding
from podmortem.rules.context import WorkloadContext

# libyaml when PyYAML was built with it (much faster), else the pure-Python loader; both are safe loaders.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Tiers: a lower tier claims a failing container first. State facts (OOMKilled, image pull, missing config)
# beat log signatures, which beat correlations and the fallback.
TIER_STATE = 1
TIER_LOG = 2
TIER_EVENT = 3
TIER_FALLBACK = 4


@dataclass
class Candidate:
    """A possible cause for some failing containers of a workload."""

    finding: Finding
    tier: int
    claims: set[tuple[str, str]]  # (pod, container); container "" for pod-level, ("", "") for the workload
    blamed: str = ""  # the injector blamed, for injection causes
    hints: dict[str, Any] = field(default_factory=dict)  # facts for remedy planning (container, image, limit...)


RuleFn = Callable[[WorkloadContext], Iterable[Candidate]]


@dataclass(frozen=True)
class Rule:
    """A registered rule: its id, function and catalog record."""

    id: str
    fn: RuleFn
    catalog: dict[str, Any]

    @property
    def category(self) -> str:
        """The rule's category (the part of its id before the first dot)."""
        return self.id.split(".", 1)[0]

    @property
    def title(self) -> str:
        """The catalog title."""
        return str(self.catalog.get("title", self.id))

    @property
    def requires(self) -> list[str]:
        """Kinds the rule reads (from its catalog record)."""
        req = self.catalog.get("requires", [])
        return [r for r in req if isinstance(r, str)] if isinstance(req, list) else []


_FUNCS: dict[str, RuleFn] = {}


def rule(rule_id: str) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function under a stable id."""

    def deco(fn: RuleFn) -> RuleFn:
        if rule_id in _FUNCS:
            raise ValueError(f"rule {rule_id} registered twice")
        _FUNCS[rule_id] = fn
        return fn

    return deco


@cache
def catalog() -> dict[str, dict[str, Any]]:
    """Catalog records (``rules/catalog/<id>.yaml``) by id."""
    out: dict[str, dict[str, Any]] = {}
    folder = resources.files("podmortem.rules").joinpath("catalog")
    if not folder.is_dir():
        return out
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = yaml.load(entry.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                out[data["id"]] = data
    return out


def all_rules() -> list[Rule]:
    """Every registered rule, in id order."""
    from podmortem.rules import checks  # noqa: F401  (registers the rule functions)

    cat = catalog()
    return [Rule(rid, fn, cat.get(rid, {})) for rid, fn in sorted(_FUNCS.items())]


def noisy_or(weights: Iterable[float]) -> float:
    """Combine independent pieces of evidence: 1 - Π(1 - w)."""
    miss = 1.0
    for w in weights:
        miss *= 1.0 - max(0.0, min(1.0, w))
    return 1.0 - miss


def confidence(evidence: list[Evidence], cap: float = 0.99) -> float:
    """The confidence that a set of evidence carries."""
    return min(cap, noisy_or(e.weight for e in evidence))
