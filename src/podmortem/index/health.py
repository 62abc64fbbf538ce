"""Pod health facts (they live in :mod:`podmortem.model.health`, so sources can use them too)."""

from podmortem.model.health import (
    FAILING_WAITING,
    FLAPPING_RESTARTS,
    ContainerState,
    PodHealth,
    container_states,
    looks_healthy,
    pod_health,
)

__all__ = [
    "FAILING_WAITING",
    "FLAPPING_RESTARTS",
    "ContainerState",
    "PodHealth",
    "container_states",
    "looks_healthy",
    "pod_health",
]
