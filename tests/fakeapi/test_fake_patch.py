"""The PATCH formats the fake API server applies, checked against what the API server documents for each."""

from __future__ import annotations

from typing import Any

import pytest

from .patch import PatchError, json_patch, merge_patch, strategic_merge_patch


def deployment() -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "d", "finalizers": ["a"], "labels": {"app": "x", "tier": "web"}},
        "spec": {
            "template": {
                "metadata": {"annotations": {"keep": "1"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
                        {"name": "side", "image": "side:1"},
                    ],
                    "volumes": [{"name": "v1", "emptyDir": {}}, {"name": "v2", "emptyDir": {}}],
                    "tolerations": [{"key": "k1"}],
                },
            }
        },
    }


def test_merge_patch_merges_maps_deletes_nulls_and_replaces_lists() -> None:
    doc = deployment()
    out = merge_patch(
        doc, {"metadata": {"labels": {"tier": None, "new": "y"}}, "spec": {"template": {"spec": {"tolerations": []}}}}
    )
    assert out["metadata"]["labels"] == {"app": "x", "new": "y"}
    assert out["spec"]["template"]["spec"]["tolerations"] == []
    assert doc == deployment()  # the original is untouched


def test_json_patch_operations() -> None:
    doc = deployment()
    out = json_patch(
        doc,
        [
            {"op": "add", "path": "/metadata/labels/a~1b", "value": "1"},
            {"op": "add", "path": "/spec/template/spec/tolerations/-", "value": {"key": "k2"}},
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "app:2"},
            {"op": "remove", "path": "/metadata/finalizers/0"},
            {"op": "copy", "from": "/metadata/name", "path": "/metadata/annotations"},
            {"op": "move", "from": "/metadata/annotations", "path": "/metadata/generateName"},
            {"op": "test", "path": "/metadata/generateName", "value": "d"},
        ],
    )
    assert out["metadata"]["labels"]["a/b"] == "1" and out["metadata"]["finalizers"] == []
    assert [t["key"] for t in out["spec"]["template"]["spec"]["tolerations"]] == ["k1", "k2"]
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "app:2"
    assert out["metadata"]["generateName"] == "d" and "annotations" not in out["metadata"]
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "test", "path": "/metadata/name", "value": "other"}])
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "remove", "path": "/metadata/nope"}])


def test_strategic_merge_patch_merges_lists_by_their_keys() -> None:
    doc = deployment()
    patch = {
        "metadata": {"finalizers": ["b"]},
        "spec": {
            "template": {
                "metadata": {"annotations": {"oneagent.dynatrace.com/inject": "false"}},
                "spec": {
                    "containers": [
                        {"name": "app", "env": [{"name": "B", "value": "2"}]},
                        {"name": "side", "$patch": "delete"},
                    ],
                    "volumes": [{"name": "v3", "emptyDir": {}}],
                    "$setElementOrder/volumes": [{"name": "v3"}, {"name": "v1"}, {"name": "v2"}],
                    "tolerations": [{"key": "k9"}],
                },
            }
        },
    }
    out = strategic_merge_patch(doc, patch, "Deployment")
    tpl = out["spec"]["template"]
    assert tpl["metadata"]["annotations"] == {"keep": "1", "oneagent.dynatrace.com/inject": "false"}
    assert [c["name"] for c in tpl["spec"]["containers"]] == ["app"]
    assert tpl["spec"]["containers"][0]["image"] == "app:1"
    assert tpl["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert [v["name"] for v in tpl["spec"]["volumes"]] == ["v3", "v1", "v2"]
    assert tpl["spec"]["tolerations"] == [{"key": "k9"}]  # no merge key: the list is replaced
    assert out["metadata"]["finalizers"] == ["a", "b"]
    removed = strategic_merge_patch(doc, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, "Deployment")
    assert removed["metadata"]["finalizers"] == []
    replaced = strategic_merge_patch(
        doc, {"spec": {"template": {"spec": {"$patch": "replace", "containers": []}}}}, "X"
    )
    assert replaced["spec"]["template"]["spec"] == {"containers": []}


def test_service_ports_merge_by_port() -> None:
    svc = {"kind": "Service", "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}}
    out = strategic_merge_patch(svc, {"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}, "Service")
    assert out["spec"]["ports"] == [{"port": 80, "name": "http", "targetPort": 8080}, {"port": 443, "name": "https"}]
