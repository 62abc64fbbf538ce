"""What is wrong with a pod right now, read from its status: the facts every rule starts from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podmortem.model.objects import RawObject, as_dict, as_list, as_str, spec, status

FAILING_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "StartError",
        "PreStartHookError",
        "PostStartHookError",
    }
)
FLAPPING_RESTARTS = 3


@dataclass(frozen=True)
class ContainerState:
    """One container's state as the kubelet reports it, flattened."""

    name: str
    init: bool
    image: str
    ready: bool
    restart_count: int
    waiting_reason: str
    waiting_message: str
    running_since: str
    term_reason: str  # current state terminated
    term_exit: int | None
    last_reason: str  # lastState.terminated
    last_exit: int | None
    last_started: str
    last_finished: str
    last_message: str

    @property
    def failing(self) -> bool:
        """Whether this container is in a failing state."""
        if self.waiting_reason in FAILING_WAITING:
            return True
        if self.term_exit not in (None, 0):
            return True
        return (
            self.restart_count >= FLAPPING_RESTARTS
            and self.last_exit not in (None, 0)
            and not (self.init and self.term_exit == 0)
        )

    @property
    def exit_code(self) -> int | None:
        """The most telling exit code: the current termination, else the last one."""
        return self.term_exit if self.term_exit is not None else self.last_exit

    @property
    def reason(self) -> str:
        """The most telling termination reason."""
        return self.term_reason or self.last_reason

    @property
    def symptom(self) -> str:
        """What ``kubectl get pods`` would show for this container."""
        prefix = "Init:" if self.init else ""
        if self.waiting_reason:
            return prefix + self.waiting_reason
        if self.term_reason:
            return prefix + self.term_reason
        if self.last_reason:
            return prefix + "Restarting"
        return prefix + "NotReady"


def _state(cs: dict[str, Any], init: bool, images: dict[str, str]) -> ContainerState:
    st = as_dict(cs.get("state"))
    waiting = as_dict(st.get("waiting"))
    running = as_dict(st.get("running"))
    term = as_dict(st.get("terminated"))
    last = as_dict(as_dict(cs.get("lastState")).get("terminated"))
    name = as_str(cs.get("name"))

    def code(d: dict[str, Any]) -> int | None:
        v = d.get("exitCode")
        return v if isinstance(v, int) else None

    rc = cs.get("restartCount")
    return ContainerState(
        name=name,
        init=init,
        image=images.get(name) or as_str(cs.get("image")),
        ready=cs.get("ready") is True,
        restart_count=rc if isinstance(rc, int) else 0,
        waiting_reason=as_str(waiting.get("reason")),
        waiting_message=as_str(waiting.get("message")),
        running_since=as_str(running.get("startedAt")),
        term_reason=as_str(term.get("reason")),
        term_exit=code(term),
        last_reason=as_str(last.get("reason")),
        last_exit=code(last),
        last_started=as_str(last.get("startedAt")) or as_str(term.get("startedAt")),
        last_finished=as_str(last.get("finishedAt")) or as_str(term.get("finishedAt")),
        last_message=as_str(last.get("message")) or as_str(term.get("message")),
    )


def container_states(pod: RawObject) -> list[ContainerState]:
    """Init containers first, then app containers, as in the pod's status."""
    st = status(pod)
    ps = spec(pod)
    images = {
        as_str(as_dict(c).get("name")): as_str(as_dict(c).get("image"))
        for key in ("initContainers", "containers")
        for c in as_list(ps.get(key))
    }
    out = [_state(as_dict(cs), True, images) for cs in as_list(st.get("initContainerStatuses"))]
    out += [_state(as_dict(cs), False, images) for cs in as_list(st.get("containerStatuses"))]
    return out


@dataclass(frozen=True)
class PodHealth:
    """A pod's phase, scheduling state and failing containers."""

    phase: str
    unschedulable: str  # the PodScheduled=False message, when unschedulable
    ready: bool
    containers: tuple[ContainerState, ...]

    @property
    def failing_containers(self) -> list[ContainerState]:
        """The containers in a failing state (none once the pod has Succeeded)."""
        if self.phase == "Succeeded":
            return []
        return [c for c in self.containers if c.failing]

    @property
    def pending_creation(self) -> bool:
        """Pending and scheduled, with containers not yet started (e.g. ContainerCreating / PodInitializing)."""
        return self.phase == "Pending" and not self.unschedulable and not self.failing_containers


def looks_healthy(pod: RawObject) -> bool:
    """A cheap first look: Succeeded, or Running with every container ready, no waiting state and few restarts.

    Pods that pass need no closer look to know they are not failing.
    """
    st = pod.get("status")
    if not isinstance(st, dict):
        return False
    phase = st.get("phase")
    if phase == "Succeeded":
        return True
    if phase != "Running":
        return False
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in st.get(key) or ():
            if not isinstance(cs, dict):
                return False
            rc = cs.get("restartCount")
            if isinstance(rc, int) and rc >= FLAPPING_RESTARTS:
                return False
            state = cs.get("state")
            if not isinstance(state, dict):
                return False
            if key == "containerStatuses":
                if cs.get("ready") is not True or "running" not in state:
                    return False
            elif "running" not in state:  # an init container that finished, or a native sidecar that runs
                term = state.get("terminated")
                if not isinstance(term, dict) or term.get("exitCode") != 0:
                    return False
    return True


def pod_health(pod: RawObject) -> PodHealth:
    """Read a pod's health facts from its status."""
    st = status(pod)
    unsched = ""
    ready = False
    for cond in as_list(st.get("conditions")):
        c = as_dict(cond)
        if c.get("type") == "PodScheduled" and c.get("status") == "False":
            unsched = as_str(c.get("message")) or as_str(c.get("reason")) or "Unschedulable"
        if c.get("type") == "Ready" and c.get("status") == "True":
            ready = True
    return PodHealth(
        phase=as_str(st.get("phase")),
        unschedulable=unsched,
        ready=ready,
        containers=tuple(container_states(pod)),
    )
