"""Facts about one workload that every rule reads: failing containers, log matches, injections, peers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from podmortem.index import Index, Injection, PodEntry, Workload
from podmortem.index.events import Ev
from podmortem.index.health import ContainerState
from podmortem.knowledge import LogHit, Signature
from podmortem.model.objects import ObjectRef

FIRST_RUN_OK_SECONDS = 300  # a first run this long, then short runs: "the first start worked"
SHORT_RUN_SECONDS = 60
_PATH = re.compile(r"/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")


def parse_time(value: str) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime (None when absent or malformed)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def seconds_between(start: str, end: str) -> float | None:
    """Seconds from ``start`` to ``end`` (None when either is unknown)."""
    a, b = parse_time(start), parse_time(end)
    if a is None or b is None:
        return None
    return (b - a).total_seconds()


@dataclass(frozen=True)
class SignatureMatch:
    """A failure signature found in a container's previous or current log."""

    signature: Signature
    hit: LogHit
    log: str  # previous | current

    @property
    def ref(self) -> str:
        """Where the line is, as ``logs <pod>/<container> [--previous] line N``."""
        return f"{self.log} log, line {self.hit.line_no}"


@dataclass(frozen=True)
class InjectionLink:
    """Why a failure is tied to an injector: the mechanism it added, and any injected path the log names."""

    injection: Injection
    mechanism: str
    path: str  # an injected path named by the failing log line ("" when none)


@dataclass
class Failure:
    """One failing container of one pod, with everything known about it."""

    pod: PodEntry
    state: ContainerState
    ctx: WorkloadContext = field(repr=False)

    @property
    def container(self) -> str:
        """The container name."""
        return self.state.name

    @cached_property
    def logs(self) -> dict[str, str]:
        """The previous and current logs the source had, by ``previous``/``current``."""
        snap = self.ctx.index.snap
        out: dict[str, str] = {}
        for which, prev in (("previous", True), ("current", False)):
            text = snap.log(self.pod.namespace, self.pod.name, self.container, previous=prev)
            if text:
                out[which] = text
        return out

    @cached_property
    def matches(self) -> list[SignatureMatch]:
        """Log signatures found, most specific first (previous log searched before current)."""
        out: list[SignatureMatch] = []
        for sig in self.ctx.index.knowledge.signatures:
            if not sig.patterns:
                continue
            for which in ("previous", "current"):
                text = self.logs.get(which)
                if not text:
                    continue
                hit = sig.search(text)
                if hit is not None:
                    out.append(SignatureMatch(sig, hit, which))
                    break
        return out

    @property
    def top(self) -> SignatureMatch | None:
        """The most specific log signature."""
        return self.matches[0] if self.matches else None

    @property
    def injections(self) -> dict[str, Injection]:
        """Injectors present in this failure's pod."""
        return self.pod.injections

    @cached_property
    def added_by(self) -> str:
        """The injector that added this container itself (an init container or sidecar), else ""."""
        what = "init-container" if self.state.init else "container"
        for inj in self.injections.values():
            for h in inj.hits:
                if h.where == what and h.name == self.container:
                    return inj.id
        return ""

    def link(self, sig: Signature, line: str) -> InjectionLink | None:
        """Tie a signature to an injector that put one of its mechanisms (or a path it names) in this container."""
        best: InjectionLink | None = None
        for inj in self.injections.values():
            mechs = inj.mechanisms_in(self.container)
            path = injected_path_in(line, inj)
            mech = next((m for m in sig.mechanisms if m in mechs), "")
            if not mech and path and sig.mechanisms:
                mech = sig.mechanisms[0]
            if mech:
                cand = InjectionLink(inj, mech, path)
                if (
                    best is None
                    or (path and not best.path)
                    or (cand.injection.verified and not best.injection.verified)
                ):
                    best = cand
        return best

    @cached_property
    def events(self) -> list[Ev]:
        """Events about this failure's pod that concern this container (or the whole pod)."""
        return [e for e in self.ctx.index.pod_events(self.pod) if e.container in ("", self.container)]

    @cached_property
    def first_start_worked(self) -> tuple[str, str, float] | None:
        """``(first Started, first BackOff, seconds)`` when the first run lasted long and later runs are short."""
        started = [e for e in self.events if e.reason == "Started" and e.container == self.container]
        backoff = [e for e in self.events if e.reason == "BackOff" and e.container in ("", self.container)]
        if not started or not backoff:
            return None
        first_start = min(e.first for e in started)
        first_backoff = min(e.first for e in backoff)
        gap = seconds_between(first_start, first_backoff)
        run = seconds_between(self.state.last_started, self.state.last_finished)
        if gap is None or gap < FIRST_RUN_OK_SECONDS or (run is not None and run > SHORT_RUN_SECONDS):
            return None
        return (first_start, first_backoff, gap)


def injected_path_in(line: str, inj: Injection) -> str:
    """An injected path (from the injector's env values or mounts) that a log line names, else ""."""
    if "/" not in line:
        return ""
    for h in inj.hits:
        for candidate in [h.name, *(_PATH.findall(h.detail))] if h.where == "mount" else _PATH.findall(h.detail):
            if not candidate.startswith("/") or candidate in ("/", "/etc/ld.so.preload"):
                continue
            parts = candidate.strip("/").split("/")
            prefix = "/" + "/".join(parts[:2]) if len(parts) >= 2 else candidate
            if len(prefix) > 4 and prefix in line:
                return prefix
    return ""


@dataclass
class Peer:
    """A healthy pod that runs the same image as a failing one."""

    pod: PodEntry
    injected_by: set[str]


@dataclass
class WorkloadContext:
    """One workload as the rules see it."""

    index: Index
    workload: Workload

    @property
    def ref(self) -> ObjectRef:
        """The workload reference."""
        return self.workload.ref

    @cached_property
    def failures(self) -> list[Failure]:
        """Every failing container of every pod of the workload."""
        return [
            Failure(p, c, self) for p in self.workload.pods if not p.looks_healthy for c in p.health.failing_containers
        ]

    @cached_property
    def unschedulable(self) -> list[PodEntry]:
        """Pods the scheduler could not place."""
        pods = [p for p in self.workload.pods if not p.looks_healthy]
        return [p for p in pods if p.health.unschedulable and p.health.phase == "Pending"]

    @cached_property
    def stuck_creating(self) -> list[PodEntry]:
        """Scheduled pods whose containers never started (ContainerCreating / PodInitializing), with warnings."""
        out = []
        for p in self.workload.pods:
            if p.looks_healthy or not p.health.pending_creation:
                continue
            if any(e.type == "Warning" for e in self.index.pod_events(p)):
                out.append(p)
        return out

    @cached_property
    def controller_events(self) -> list[Ev]:
        """Events on the workload and its immediate controllers (ReplicaSets, Jobs...)."""
        refs = {self.ref, *self.workload.controllers}
        out: list[Ev] = []
        for r in refs:
            out.extend(self.index.events_for(r))
        return sorted(out, key=lambda e: e.first)

    @property
    def failing(self) -> bool:
        """Whether anything about this workload is failing."""
        if self.failures or self.unschedulable or self.stuck_creating:
            return True
        return any(e.reason == "FailedCreate" and e.type == "Warning" for e in self.controller_events) and (
            self.missing_pods
        )

    @property
    def missing_pods(self) -> bool:
        """Whether the workload has fewer pods than it wants (or its state is unknown)."""
        obj = self.workload.obj
        if obj is None:
            return True
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
        want = spec.get("replicas") if isinstance(spec, dict) else None
        have = status.get("readyReplicas", 0) if isinstance(status, dict) else 0
        if isinstance(want, int):
            return not isinstance(have, int) or have < want
        return not self.workload.pods

    @cached_property
    def injectors(self) -> list[str]:
        """Every injector whose mutation is present in the failing pods (all pods if none is failing)."""
        pods = {id(f.pod): f.pod for f in self.failures}
        for p in self.unschedulable + self.stuck_creating:
            pods[id(p)] = p
        if not pods:
            pods = {id(p): p for p in self.workload.pods}
        ids: set[str] = set()
        for p in pods.values():
            ids.update(p.injections)
        return sorted(ids)

    def peers(self, image: str, injector: str, *, enough: int = 3) -> tuple[list[Peer], list[Peer]]:
        """Healthy pods with this image: those NOT injected by ``injector``, and those that are.

        Pods of the same namespace are looked at first; the search stops once ``enough`` of each were found.
        """
        clean: list[Peer] = []
        dirty: list[Peer] = []
        ns = self.ref.namespace
        pods = sorted(self.index.pods_with_image(image), key=lambda p: p.namespace != ns)
        for p in pods:
            if len(clean) >= enough and len(dirty) >= enough:
                break
            if p.health.failing_containers or not p.health.ready or p.health.phase != "Running":
                continue
            inj = set(p.injections)
            (dirty if injector in inj else clean).append(Peer(p, inj))
        return clean, dirty
