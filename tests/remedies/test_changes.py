"""The change operations of remedy records, computed against the object as the snapshot holds it."""

from __future__ import annotations

from typing import Any

import pytest

from podmortem.remedies.changes import (
    NotApplicable,
    NothingToDo,
    create_at,
    list_add,
    regex_exclude,
    selector_notin_ops,
)
from podmortem.remedies.patching import json_patch

EXPR = {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["ci"]}
PATH = ("spec", "oneAgent", "cloudNativeFullStack", "namespaceSelector")


def dk(selector: Any = None, mode: Any = None) -> dict[str, Any]:
    cnfs: Any = {} if mode is None else mode
    if selector is not None:
        cnfs["namespaceSelector"] = selector
    return {
        "apiVersion": "dynatrace.com/v1beta2",
        "kind": "DynaKube",
        "spec": {"oneAgent": {"cloudNativeFullStack": cnfs}},
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (dk(), {"matchExpressions": [EXPR]}),
        (dk({}), {"matchExpressions": [EXPR]}),
        (dk({"matchLabels": {"team": "a"}}), {"matchLabels": {"team": "a"}, "matchExpressions": [EXPR]}),
        (
            dk({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}),
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}, EXPR]},
        ),
        (
            dk({"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["x"]}]}),
            {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["x", "ci"]}]},
        ),
    ],
)
def test_selector_notin_merges_with_what_is_there(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    ops = selector_notin_ops(obj, PATH, "kubernetes.io/metadata.name", "ci")
    after = json_patch(obj, ops)
    assert after["spec"]["oneAgent"]["cloudNativeFullStack"]["namespaceSelector"] == expected


def test_selector_notin_creates_missing_parents_and_skips_done_work() -> None:
    bare = {"apiVersion": "dynatrace.com/v1beta1", "kind": "DynaKube", "spec": {"apiUrl": "x"}}
    ops = selector_notin_ops(bare, ("spec", "namespaceSelector"), "kubernetes.io/metadata.name", "ci")
    assert ops == [{"op": "add", "path": "/spec/namespaceSelector", "value": {"matchExpressions": [EXPR]}}]
    null_mode = {"spec": {"oneAgent": {"cloudNativeFullStack": None}}}
    assert create_at(null_mode, PATH, {"a": 1}) == [
        {"op": "add", "path": "/spec/oneAgent/cloudNativeFullStack", "value": {"namespaceSelector": {"a": 1}}}
    ]
    assert selector_notin_ops(dk({"matchExpressions": [EXPR]}), PATH, "kubernetes.io/metadata.name", "ci") == []


def test_list_add_and_the_exclusive_list() -> None:
    agent = {"kind": "DatadogAgent", "metadata": {"name": "datadog", "namespace": "datadog"}, "spec": {}}
    op = {
        "path": "spec.features.apm.instrumentation.disabledNamespaces",
        "unless_path": "spec.features.apm.instrumentation.enabledNamespaces",
    }
    ch = list_add(agent, op, {}, "billing")
    assert json_patch(agent, ch.patch.body)["spec"] == {
        "features": {"apm": {"instrumentation": {"disabledNamespaces": ["billing"]}}}
    }
    enabled = {**agent, "spec": {"features": {"apm": {"instrumentation": {"enabledNamespaces": ["web", "billing"]}}}}}
    ch = list_add(enabled, op, {}, "billing")
    assert json_patch(enabled, ch.patch.body)["spec"]["features"]["apm"]["instrumentation"] == {
        "enabledNamespaces": ["web"]
    }
    with pytest.raises(NothingToDo):
        list_add(
            {**agent, "spec": {"features": {"apm": {"instrumentation": {"disabledNamespaces": ["billing"]}}}}},
            op,
            {},
            "billing",
        )


def test_regex_exclude_only_edits_lists_of_names() -> None:
    ca = {
        "kind": "Clusteragent",
        "metadata": {"name": "ca", "namespace": "appd"},
        "spec": {"nsToInstrumentRegex": "ci|web|api"},
    }
    ch = regex_exclude(ca, {"path": "spec.nsToInstrumentRegex"}, {}, "web")
    assert json_patch(ca, ch.patch.body)["spec"]["nsToInstrumentRegex"] == "^(ci|api)$"
    for regex in (".*", "team-.*|ci", "^(ci)$"):
        obj = {**ca, "spec": {"nsToInstrumentRegex": regex}}
        with pytest.raises(NotApplicable):
            regex_exclude(obj, {"path": "spec.nsToInstrumentRegex"}, {}, "ci" if regex == "^(ci)$" else "web")
