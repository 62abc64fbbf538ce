"""Pod health facts, and the cheap first look agreeing with the full one."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from podmortem.index.health import looks_healthy, pod_health

REASONS = ["CrashLoopBackOff", "ImagePullBackOff", "ContainerCreating", "CreateContainerConfigError", "PodInitializing"]


def state() -> st.SearchStrategy[dict[str, Any]]:
    running = st.builds(lambda: {"running": {"startedAt": "2024-08-13T09:00:00Z"}})
    waiting = st.sampled_from(REASONS).map(lambda r: {"waiting": {"reason": r, "message": "back-off"}})
    terminated = st.tuples(
        st.sampled_from([0, 1, 134, 137, 139]), st.sampled_from(["Error", "OOMKilled", "Completed"])
    ).map(lambda t: {"terminated": {"exitCode": t[0], "reason": t[1], "startedAt": "2024-08-13T09:00:00Z"}})
    return st.one_of(running, waiting, terminated)


status = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["app", "istio-proxy", "agent"]),
        "ready": st.booleans(),
        "restartCount": st.integers(0, 40),
        "state": state(),
        "lastState": st.one_of(st.just({}), state()),
    }
)


@settings(max_examples=300, deadline=None)
@given(
    phase=st.sampled_from(["Running", "Pending", "Succeeded", "Failed"]),
    statuses=st.lists(status, min_size=0, max_size=3),
    init=st.lists(status, min_size=0, max_size=2),
)
def test_cheap_look_never_hides_a_failing_container(
    phase: str, statuses: list[dict[str, Any]], init: list[dict[str, Any]]
) -> None:
    pod = {"kind": "Pod", "status": {"phase": phase, "containerStatuses": statuses, "initContainerStatuses": init}}
    if looks_healthy(pod):
        h = pod_health(pod)
        assert not h.failing_containers
        assert not h.unschedulable


def test_crash_looping_container_is_failing() -> None:
    pod = {
        "kind": "Pod",
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "containerStatuses": [
                {
                    "name": "azp-agent",
                    "ready": False,
                    "restartCount": 22,
                    "started": False,
                    "state": {
                        "waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": "back-off 5m0s restarting failed container=azp-agent pod=x",
                        }
                    },
                    "lastState": {
                        "terminated": {
                            "exitCode": 134,
                            "reason": "Error",
                            "startedAt": "2024-08-13T09:20:54Z",
                            "finishedAt": "2024-08-13T09:20:57Z",
                        }
                    },
                }
            ],
        },
    }
    assert not looks_healthy(pod)
    (c,) = pod_health(pod).failing_containers
    assert (c.name, c.symptom, c.exit_code, c.restart_count) == ("azp-agent", "CrashLoopBackOff", 134, 22)


def test_unschedulable_pod() -> None:
    pod = {
        "kind": "Pod",
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/5 nodes are available: 5 Insufficient memory.",
                }
            ],
        },
    }
    h = pod_health(pod)
    assert h.unschedulable == "0/5 nodes are available: 5 Insufficient memory."
    assert not looks_healthy(pod)
