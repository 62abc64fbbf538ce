"""Odd objects never crash the planners: any field of the objects a plan reads may hold anything."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from remedy_cases import HERE, load_case

from podmortem.model.findings import Patch
from podmortem.model.objects import ObjectRef
from podmortem.remedies.fix import Change, index_with, plan_fix, plan_to_dict, to_yaml_documents, unified_diff
from podmortem.remedies.plan import plan_remedies
from podmortem.remedies.selection import View, decide
from podmortem.rules.registry import TIER_LOG, Candidate

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=6))
junk: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=2), st.dictionaries(st.text(max_size=5), inner, max_size=2)),
    max_leaves=5,
)
TARGETS = [
    ObjectRef("DynaKube", "dynatrace", "dynakube"),
    ObjectRef("Namespace", "", "build-agents"),
    ObjectRef("Deployment", "build-agents", "azure-devops-agent"),
    ObjectRef("MutatingWebhookConfiguration", "", "dynatrace-webhook"),
    ObjectRef("Node", "", "aks-agentpool-31498826-vmss000000"),
    ObjectRef("DaemonSet", "dynatrace", "dynatrace-oneagent-csi-driver"),
]
SKIP = {"name", "namespace", "uid", "kind"}  # what identifies the object stays


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in SKIP:
                out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            out += paths(v, (*prefix, i))
    return out


def replace(obj: Any, path: tuple[Any, ...], new: Any) -> None:
    """Set ``path`` to ``new`` when the path still exists (an earlier replacement may have removed it)."""
    cur = obj
    for key in path[:-1]:
        if (isinstance(cur, dict) and key in cur) or (
            isinstance(cur, list) and isinstance(key, int) and key < len(cur)
        ):
            cur = cur[key]
        else:
            return
    if isinstance(cur, dict) or (isinstance(cur, list) and isinstance(path[-1], int) and path[-1] < len(cur)):
        cur[path[-1]] = new


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_planning_survives_odd_objects(data: st.DataObject) -> None:
    case = load_case(HERE / "dynatrace-seed-v1beta2")
    changes = []
    for ref in data.draw(st.lists(st.sampled_from(TARGETS), min_size=1, max_size=3, unique=True)):
        obj = copy.deepcopy(case.index.snap.get(ref.kind, ref.namespace, ref.name))
        assert obj is not None
        options = paths(obj)
        for _ in range(data.draw(st.integers(1, 3))):
            replace(obj, data.draw(st.sampled_from(options)), data.draw(junk))
        changes.append(Change(ref, {}, obj, Patch("merge", {}), ""))
    index = index_with(case.index, changes)
    finding = dataclasses.replace(case.finding, remedies=[])
    cand = Candidate(finding, TIER_LOG, set(), blamed="dynatrace", hints={"container": "azp-agent"})
    finding.remedies = list(plan_remedies(index, cand))
    assert finding.remedies
    tpl = {"metadata": {"labels": {"app": "azure-devops-agent"}}, "spec": {"containers": [{"name": "azp-agent"}]}}
    decide(View(index), index.knowledge.injectors["dynatrace"], tpl, "build-agents")
    for remedy in finding.remedies:
        try:
            plan = plan_fix(index, finding, remedy)
        except ValueError:
            continue
        plan_to_dict(plan)
        for ch in plan.changes:
            unified_diff(ch)
        with contextlib.suppress(ValueError):  # masked values in a full manifest
            to_yaml_documents(plan)
        to_yaml_documents(plan, full=False)
