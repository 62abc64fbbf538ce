"""Pure parts of applying: preconditions, reverse patches, rollout status."""

from __future__ import annotations

from typing import Any

from podmortem.model.findings import Patch
from podmortem.model.objects import ObjectRef
from podmortem.remedies.apply import _with_precondition, object_path, reverse_patch, rollout_status, wait_for_rollout


def test_precondition_goes_into_merge_and_json_patches() -> None:
    body, ctype = _with_precondition(Patch("strategic", {"spec": {"replicas": 2}}), "4711")
    assert body == {"spec": {"replicas": 2}, "metadata": {"resourceVersion": "4711"}}
    assert ctype == "application/strategic-merge-patch+json"
    body, ctype = _with_precondition(Patch("json", [{"op": "add", "path": "/x", "value": 1}]), "9")
    assert body[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "9"}
    assert ctype == "application/json-patch+json"


def test_reverse_patch_restores_only_what_was_touched() -> None:
    applied = {"spec": {"template": {"metadata": {"annotations": {"dynatrace.com/inject": "false"}}}}}
    original = {"spec": {"template": {"metadata": {"annotations": {"team": "ci"}}}}}
    assert reverse_patch(applied, original) == {
        "spec": {"template": {"metadata": {"annotations": {"dynatrace.com/inject": None}}}}
    }
    applied = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}, {"name": "new"}]}}}}
    original = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}}
    assert reverse_patch(applied, original) == {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "new", "$patch": "delete"}]}
            }
        }
    }


def test_object_paths() -> None:
    assert object_path(ObjectRef("Deployment", "ns", "d")) == "/apis/apps/v1/namespaces/ns/deployments/d"
    assert object_path(ObjectRef("Namespace", "", "ns")) == "/api/v1/namespaces/ns"
    assert object_path(ObjectRef("DynaKube", "dynatrace", "dk"), "dynatrace.com/v1beta2") == (
        "/apis/dynatrace.com/v1beta2/namespaces/dynatrace/dynakubes/dk"
    )


def dep(gen: int, observed: int, updated: int, available: int, replicas: int = 3) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"generation": gen},
        "spec": {"replicas": 3},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "updatedReplicas": updated,
            "availableReplicas": available,
        },
    }


def test_rollout_status_like_kubectl() -> None:
    assert rollout_status(dep(5, 4, 3, 3)) == (False, "waiting for the controller to observe the change")
    assert rollout_status(dep(5, 5, 1, 3, replicas=4))[0] is False
    assert rollout_status(dep(5, 5, 3, 3)) == (True, "3 of 3 updated replicas, 3 available")


def test_wait_for_rollout_polls_until_done() -> None:
    states = [dep(2, 1, 0, 3), dep(2, 2, 2, 2, replicas=4), dep(2, 2, 3, 3)]

    class Client:
        def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
            return states.pop(0) if len(states) > 1 else states[0]

        def request_json(self, *a: Any, **k: Any) -> dict[str, Any]:
            raise AssertionError("waiting never writes")

    slept: list[float] = []
    done, line = wait_for_rollout(Client(), ObjectRef("Deployment", "ns", "d"), poll=1.0, sleep=slept.append)
    assert done and line == "3 of 3 updated replicas, 3 available" and slept == [1.0, 1.0]
