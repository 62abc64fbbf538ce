"""Offline patch application: strategic merge, JSON merge and JSON patch, as the API server applies them."""

from __future__ import annotations

import copy

import pytest

from podmortem.model.findings import Patch
from podmortem.remedies.patching import (
    PatchError,
    apply_patch,
    json_patch,
    merge_diff,
    merge_patch,
    pointer,
    strategic_merge,
    to_pointer,
)

DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "api", "namespace": "shop", "annotations": {"a": "1"}},
    "spec": {
        "template": {
            "metadata": {"labels": {"app": "api"}},
            "spec": {
                "containers": [
                    {
                        "name": "api",
                        "image": "api:1",
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    },
                    {"name": "sidecar", "image": "side:1"},
                ],
                "tolerations": [{"key": "x", "operator": "Exists"}],
                "volumes": [{"name": "data", "emptyDir": {}}],
            },
        }
    },
}


def test_strategic_merge_keys_containers_env_and_mounts() -> None:
    body = {
        "spec": {
            "template": {
                "metadata": {"annotations": {"k": "v"}},
                "spec": {
                    "containers": [
                        {
                            "name": "api",
                            "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                        }
                    ],
                    "tolerations": [{"key": "y", "operator": "Exists"}],
                },
            }
        }
    }
    out = apply_patch(DEPLOY, Patch("strategic", body))
    spec = out["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["api", "sidecar"]
    assert spec["containers"][0]["image"] == "api:1"
    assert spec["containers"][0]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
    ]
    assert [m["mountPath"] for m in spec["containers"][0]["volumeMounts"]] == ["/data", "/cache"]
    assert spec["tolerations"] == [{"key": "y", "operator": "Exists"}]  # no merge key: replaced
    assert out["spec"]["template"]["metadata"] == {"labels": {"app": "api"}, "annotations": {"k": "v"}}
    assert DEPLOY["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] == "2"  # input untouched


def test_strategic_merge_directives_and_nulls() -> None:
    body = {
        "metadata": {"annotations": {"a": None}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "sidecar", "$patch": "delete"}],
                    "volumes": {"$patch": "replace"},
                }
            }
        },
    }
    out = strategic_merge(copy.deepcopy(DEPLOY), body)
    assert out["metadata"]["annotations"] == {}
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["api"]
    assert out["spec"]["template"]["spec"]["volumes"] == {}


def test_json_merge_patch() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}, "l": [1, 2]}, {"a": {"b": None, "d": 3}, "l": [3]}) == {
        "a": {"c": 2, "d": 3},
        "l": [3],
    }
    before = {"a": {"b": 1, "c": [1]}, "x": 1}
    after = {"a": {"b": 2, "c": [1, 2]}, "y": 2}
    diff = merge_diff(before, after)
    assert diff == {"x": None, "a": {"b": 2, "c": [1, 2]}, "y": 2}
    assert merge_patch(before, diff) == after


def test_json_patch_operations() -> None:
    doc = {"spec": {"list": [1, 2], "m": {"a": 1, "b": 2}}}
    out = json_patch(
        copy.deepcopy(doc),
        [
            {"op": "test", "path": "/spec/list", "value": [1, 2]},
            {"op": "add", "path": "/spec/list/-", "value": 3},
            {"op": "add", "path": "/spec/list/0", "value": 0},
            {"op": "replace", "path": "/spec/m/a", "value": 9},
            {"op": "remove", "path": "/spec/m/b"},
            {"op": "copy", "from": "/spec/m/a", "path": "/spec/c"},
            {"op": "move", "from": "/spec/c", "path": "/spec/d"},
            {"op": "add", "path": "/spec/n~1x", "value": True},
        ],
    )
    assert out == {"spec": {"list": [0, 1, 2, 3], "m": {"a": 9}, "d": 9, "n/x": True}}
    assert list(out["spec"]) == ["list", "m", "d", "n/x"]


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/spec/list", "value": [2]}],
        [{"op": "add", "path": "/spec/missing/x", "value": 1}],
        [{"op": "remove", "path": "/spec/nope"}],
        [{"op": "replace", "path": "/spec/list/5", "value": 1}],
        [{"op": "add", "path": "/spec/list/01", "value": 1}],
        [{"op": "frob", "path": "/spec"}],
        [{"op": "add", "path": "spec", "value": 1}],
    ],
)
def test_json_patch_errors(ops: list[dict[str, object]]) -> None:
    with pytest.raises(PatchError):
        json_patch({"spec": {"list": [1, 2]}}, ops)


def test_pointer_round_trip() -> None:
    parts = ["metadata", "annotations", "container.inject.dynatrace.com/azp-agent", "a~b"]
    assert pointer(to_pointer(parts)) == parts
    assert to_pointer(parts) == "/metadata/annotations/container.inject.dynatrace.com~1azp-agent/a~0b"


def test_apply_patch_rejects_wrong_bodies() -> None:
    with pytest.raises(PatchError):
        apply_patch(DEPLOY, Patch("strategic", []))
    with pytest.raises(PatchError):
        apply_patch(DEPLOY, Patch("json", {}))
    with pytest.raises(PatchError):
        apply_patch(DEPLOY, Patch("apply", {}))
