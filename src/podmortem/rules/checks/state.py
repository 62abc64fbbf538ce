"""Rules decided by container state, pod conditions and events: the specific, non-log causes."""

from __future__ import annotations

import re
from collections.abc import Iterator

from podmortem.index import PodEntry
from podmortem.index.events import Ev
from podmortem.model.findings import Evidence
from podmortem.model.objects import as_dict, as_str
from podmortem.rules.checks._common import candidate, group_by_container, plural
from podmortem.rules.checks.logs import classified
from podmortem.rules.context import Failure, WorkloadContext
from podmortem.rules.evidence import (
    clip,
    exit_evidence,
    last_line,
    log_evidence,
    mutation_evidence,
    webhook_evidence,
)
from podmortem.rules.registry import TIER_EVENT, TIER_LOG, TIER_STATE, Candidate, rule

IMAGE_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
START_REASONS = ("RunContainerError", "StartError", "CreateContainerError")
_VOLUME_QUOTED = re.compile(r'volume "([^"]+)"')
_VOLUME_LIST = re.compile(r"unmounted volumes=\[([^\]]*)\]")
_WEBHOOK = re.compile(r'failed calling webhook "([^"]+)"')
_PROBE_KILL = re.compile(r"failed (liveness|startup) probe", re.IGNORECASE)
_PROBE_FAIL = re.compile(r"^(Liveness|Startup) probe failed", re.IGNORECASE)


def _event_evidence(f: Failure, reasons: tuple[str, ...], weight: float) -> Evidence | None:
    for e in reversed(f.events):
        if e.reason in reasons and e.type == "Warning":
            times = f" ({e.count}x)" if e.count > 1 else ""
            return Evidence("event", f"{e.reason}: {clip(e.message)}{times}", f"events for pod/{f.pod.name}", weight)
    return None


def _kb_event_match(ctx: WorkloadContext, ev: Ev) -> str:
    """The title of the most specific event signature that matches, else ""."""
    for sig in ctx.index.knowledge.signatures:
        if sig.events and sig.matches_event(ev.reason, ev.message):
            return sig.title
    return ""


@rule("oom.killed")
def oom_killed(ctx: WorkloadContext) -> Iterator[Candidate]:
    """Containers killed by the kernel for using more memory than their limit."""
    hits = [f for f in ctx.failures if f.state.reason == "OOMKilled"]
    if not hits:
        return
    for cname, fs in group_by_container(hits).items():
        f = fs[0]
        spec = f.pod.container_spec(cname)
        limit = as_str(as_dict(as_dict(spec.get("resources")).get("limits")).get("memory"))
        ev = [
            Evidence(
                "exit-code",
                f"{cname} was OOMKilled (exit code {f.state.exit_code}) in {plural(len(fs), 'pod')}; "
                f"{f.state.restart_count} restarts",
                f"pod/{f.pod.name} status.containerStatuses[{cname}].lastState.terminated.reason",
                0.9,
            )
        ]
        if limit:
            ev.append(Evidence("state", f"memory limit of {cname} is {limit}", f"pod/{f.pod.name} spec", 0.1))
        kb = ctx.index.knowledge
        inj = [kb.injectors[i].vendor if i in kb.injectors else i for i in ctx.injectors]
        extra = (
            f" {', '.join(inj)} also injected into the pod; injected agents add some memory overhead, so size the "
            "limit with the agent included, but the kill itself is the memory limit, not a broken hook."
            if inj
            else ""
        )
        yield candidate(
            ctx,
            "oom.killed",
            TIER_STATE,
            fs,
            f"{cname} runs out of memory{f' (limit {limit})' if limit else ''} and is OOMKilled",
            f"The kernel killed {cname} because it used more memory than its limit"
            f"{f' of {limit}' if limit else ''}; Kubernetes then restarts it and backs off.{extra}",
            ev,
            symptom=f.state.symptom,
            hints={"container": cname, "memory_limit": limit},
        )


@rule("image-pull.failed")
def image_pull(ctx: WorkloadContext) -> Iterator[Candidate]:
    """Images that cannot be pulled."""
    hits = [f for f in ctx.failures if f.state.waiting_reason in IMAGE_REASONS]
    for cname, fs in group_by_container(hits).items():
        f = fs[0]
        image = f.state.image
        ev = [
            Evidence(
                "state",
                f"{cname} is waiting in {f.state.waiting_reason}: {clip(f.state.waiting_message) or image}",
                f"pod/{f.pod.name} status",
                0.7,
            )
        ]
        detail = ""
        for e in reversed(f.events):
            if e.reason in ("Failed", "ErrImagePull", "InspectFailed") and e.type == "Warning":
                title = _kb_event_match(ctx, e)
                detail = title
                ev.append(Evidence("event", f"{e.reason}: {clip(e.message)}", f"events for pod/{f.pod.name}", 0.8))
                break
        good = _healthy_images(ctx, cname, image)
        if good:
            ev.append(Evidence("peer", f"other pods of {ctx.ref} run {cname} with image {good}", "", 0.1))
        yield candidate(
            ctx,
            "image-pull.failed",
            TIER_STATE,
            fs,
            f"image {image} for {cname} cannot be pulled" + (f" ({detail.lower()})" if detail else ""),
            f"The kubelet cannot pull {image}, so {cname} never starts. "
            + (f"{detail}. " if detail else "")
            + (f"Other pods of the workload run {good}." if good else ""),
            ev,
            symptom=f.state.waiting_reason,
            hints={"container": cname, "image": image, "good_image": good},
        )


def _healthy_images(ctx: WorkloadContext, cname: str, bad: str) -> str:
    for p in ctx.workload.pods:
        if p.health.failing_containers:
            continue
        img = as_str(p.container_spec(cname).get("image"))
        if img and img != bad:
            return img
    return ""


@rule("config.missing-reference")
def missing_reference(ctx: WorkloadContext) -> Iterator[Candidate]:
    """Containers that cannot be created because a ConfigMap, Secret or key they reference is missing."""
    hits = [f for f in ctx.failures if f.state.waiting_reason == "CreateContainerConfigError"]
    for cname, fs in group_by_container(hits).items():
        f = fs[0]
        msg = f.state.waiting_message
        ev = [Evidence("state", f"{cname}: CreateContainerConfigError: {clip(msg)}", f"pod/{f.pod.name} status", 0.85)]
        e = _event_evidence(f, ("Failed",), 0.3)
        if e:
            ev.append(e)
        yield candidate(
            ctx,
            "config.missing-reference",
            TIER_STATE,
            fs,
            f"{cname} references configuration that does not exist: {clip(msg, 100)}",
            f"The kubelet cannot build the environment or volumes of {cname}: {clip(msg)}. The container is never "
            "created until the referenced object or key exists.",
            ev,
            symptom="CreateContainerConfigError",
            hints={"container": cname, "message": msg},
        )


@rule("application.start-error")
def start_error(ctx: WorkloadContext) -> Iterator[Candidate]:
    """Containers whose process cannot be started (missing executable, bad entrypoint)."""
    hits: dict[int, tuple[Failure, int, str]] = {}
    for f in ctx.failures:
        if f.state.waiting_reason in START_REASONS:
            hits[id(f)] = (f, TIER_STATE, f.state.waiting_message)
        elif f.state.reason in ("StartError", "ContainerCannotRun") or _cannot_exec(f.state.last_message):
            hits[id(f)] = (f, TIER_STATE, f.state.last_message)
        elif _cannot_exec(f.state.waiting_message):
            hits[id(f)] = (f, TIER_STATE, f.state.waiting_message)
    log_items = {id(f): m for f, m, _ in classified(ctx, "application.start-error")}
    for f in ctx.failures:
        if id(f) in log_items and id(f) not in hits:
            hits[id(f)] = (f, TIER_LOG, "")
        elif id(f) not in hits and f.state.exit_code in (126, 127) and not f.matches:
            hits[id(f)] = (f, TIER_EVENT, "")
    by: dict[str, list[tuple[Failure, int, str]]] = {}
    for item in hits.values():
        by.setdefault(item[0].container, []).append(item)
    for cname, items in by.items():
        fs = [f for f, _, _ in items]
        tier = min(t for _, t, _ in items)
        f, _, msg = items[0]
        ev = [exit_evidence(f, ctx.index.knowledge, 0.4 if f.state.exit_code in (126, 127) else 0.1)]
        if msg:
            ev.append(Evidence("state", f"{cname}: {clip(msg)}", f"pod/{f.pod.name} status", 0.7))
        m = log_items.get(id(f))
        if m is not None:
            ev.append(log_evidence(f, m, 0.6 * m.signature.specificity))
        detail = clip(msg, 200) if msg else (clip(m.hit.line, 200) if m is not None else "")
        yield candidate(
            ctx,
            "application.start-error",
            tier,
            fs,
            f"{cname} cannot start its process",
            f"The runtime could not start the command of {cname}"
            + (f": {detail}" if detail else f" (exit code {f.state.exit_code})")
            + ". Check the image's entrypoint and the container's command and args.",
            ev,
            hints={"container": cname},
        )


def _cannot_exec(message: str) -> bool:
    return (
        "executable file not found" in message
        or "exec format error" in message
        or ("no such file or directory" in message and "exec" in message)
    )


@rule("probe.liveness")
def probe_kill(ctx: WorkloadContext) -> Iterator[Candidate]:
    """Containers restarted because a liveness or startup probe keeps failing."""
    hits: list[tuple[Failure, Ev, Ev | None]] = []
    for f in ctx.failures:
        if f.state.reason == "OOMKilled":
            continue
        kill = next((e for e in reversed(f.events) if e.reason == "Killing" and _PROBE_KILL.search(e.message)), None)
        if kill is None:
            continue
        unhealthy = next(
            (e for e in reversed(f.events) if e.reason == "Unhealthy" and _PROBE_FAIL.search(e.message)), None
        )
        hits.append((f, kill, unhealthy))
    by: dict[str, list[tuple[Failure, Ev, Ev | None]]] = {}
    for item in hits:
        by.setdefault(item[0].container, []).append(item)
    for cname, items in by.items():
        f, kill, unhealthy = items[0]
        kind = _PROBE_KILL.search(kill.message)
        probe = kind.group(1).lower() if kind else "liveness"
        ev = [Evidence("event", f"Killing: {clip(kill.message)} ({kill.count}x)", f"events for pod/{f.pod.name}", 0.8)]
        if unhealthy is not None:
            ev.append(
                Evidence(
                    "event",
                    f"Unhealthy: {clip(unhealthy.message)} ({unhealthy.count}x)",
                    f"events for pod/{f.pod.name}",
                    0.4,
                )
            )
        ev.append(exit_evidence(f, ctx.index.knowledge, 0.05))
        run = _run_seconds(f)
        yield candidate(
            ctx,
            "probe.liveness",
            TIER_STATE,
            [i[0] for i in items],
            f"the {probe} probe of {cname} fails and the kubelet kills it",
            f"The kubelet restarts {cname} because its {probe} probe keeps failing"
            + (f"; each run lasted about {run} s" if run is not None else "")
            + ". Either the app is too slow to become healthy within the probe's budget, or the probe checks the "
            "wrong port or path.",
            ev,
            hints={"container": cname, "probe": probe, "run_seconds": run},
        )


def _run_seconds(f: Failure) -> int | None:
    from podmortem.rules.context import seconds_between

    s = seconds_between(f.state.last_started, f.state.last_finished)
    return int(s) if s is not None else None


@rule("scheduling.unschedulable")
def unschedulable(ctx: WorkloadContext) -> Iterator[Candidate]:
    """Pods the scheduler cannot place on any node."""
    pods = ctx.unschedulable
    if not pods:
        return
    p = pods[0]
    msg = p.health.unschedulable
    ev = [Evidence("state", f"pod {p.name} is Pending: {clip(msg)}", f"pod/{p.name} status.conditions", 0.8)]
    fs = next((e for e in reversed(ctx.index.pod_events(p)) if e.reason == "FailedScheduling"), None)
    if fs is not None:
        ev.append(
            Evidence(
                "event",
                f"FailedScheduling: {clip(fs.message)} ({fs.count}x)",
                f"events for pod/{p.name}",
                0.5,
            )
        )
    yield candidate(
        ctx,
        "scheduling.unschedulable",
        TIER_STATE,
        [],
        f"{plural(len(pods), 'pod')} cannot be scheduled",
        f"The scheduler finds no node for the pods: {clip(msg, 300)}",
        ev,
        symptom="Pending",
        claims={(q.name, "") for q in pods},
        pods=sorted(q.name for q in pods),
        hints={"message": msg},
    )


def event_volumes(message: str) -> list[str]:
    """Volume names a mount/attach event names (``for volume "x"`` or ``unmounted volumes=[a b]``)."""
    names = _VOLUME_QUOTED.findall(message)
    for group in _VOLUME_LIST.findall(message):
        names.extend(n for n in group.replace(",", " ").split() if n not in names)
    return names


def _volume_failures(ctx: WorkloadContext) -> Iterator[tuple[PodEntry, Ev, str]]:
    """``(pod, event, volume)`` for stuck pods; the volume an injector added is preferred when several fail."""
    kb = ctx.index.knowledge
    for p in ctx.stuck_creating:
        evs = [
            e for e in ctx.index.pod_events(p) if e.reason in ("FailedMount", "FailedAttachVolume", "FailedMapVolume")
        ]
        if not evs:
            continue

        def telling(e: Ev) -> float:
            return max(
                (s.specificity for s in kb.signatures if s.events and s.matches_event(e.reason, e.message)),
                default=0.0,
            )

        e = max(reversed(evs), key=telling)
        vols = event_volumes(e.message) or [v for x in evs for v in event_volumes(x.message)]
        injected = [v for v in vols if _injected_volume(p, v)]
        yield p, e, (injected or vols or [""])[0]


@rule("volume.mount-failed")
def volume_mount(ctx: WorkloadContext) -> Iterator[Candidate]:
    """Pods stuck because a volume from their own template cannot be attached or mounted."""
    found = [(p, e, v) for p, e, v in _volume_failures(ctx) if not _injected_volume(p, v)]
    if not found:
        return
    p, e, vol = found[0]
    ev = [Evidence("event", f"{e.reason}: {clip(e.message)} ({e.count}x)", f"events for pod/{p.name}", 0.85)]
    yield candidate(
        ctx,
        "volume.mount-failed",
        TIER_STATE,
        [],
        f"volume {vol or '(unknown)'} cannot be mounted",
        f"The kubelet cannot mount volume {vol or '(unknown)'} of the pod, so its containers never start: "
        f"{clip(e.message, 300)}",
        ev,
        symptom="ContainerCreating",
        claims={(q.name, "") for q, _, _ in found},
        pods=sorted({q.name for q, _, _ in found}),
        hints={"volume": vol},
    )


def _injected_volume(p: PodEntry, vol: str) -> str:
    for inj in p.injections.values():
        if any(h.where == "volume" and h.name == vol for h in inj.hits):
            return inj.id
    return ""


@rule("injection.volume-mount")
def injected_volume_mount(ctx: WorkloadContext) -> Iterator[Candidate]:
    """Pods stuck because a volume an injector added cannot be mounted (e.g. its CSI driver is missing)."""
    found = [(p, e, v, _injected_volume(p, v)) for p, e, v in _volume_failures(ctx)]
    found = [x for x in found if x[3]]
    if not found:
        return
    p, e, vol, inj_id = found[0]
    inj = p.injections[inj_id]
    ev = [
        Evidence("event", f"{e.reason}: {clip(e.message)} ({e.count}x)", f"events for pod/{p.name}", 0.7),
        mutation_evidence(p, inj, "", 0.6 if inj.verified else 0.4),
    ]
    wh = webhook_evidence(ctx, p, inj_id, 0.2)
    if wh:
        ev.append(wh)
    node = p.node
    yield candidate(
        ctx,
        "injection.volume-mount",
        TIER_STATE,
        [],
        f"{inj.injector.vendor} volume {vol} cannot be mounted" + (f" on node {node}" if node else ""),
        f"{inj.injector.vendor}'s webhook added volume {vol} to the pod when it was created; the kubelet"
        + (f" on {node}" if node else "")
        + f" cannot mount it, so the pod never starts: {clip(e.message, 300)}",
        ev,
        symptom="ContainerCreating",
        blamed=inj_id,
        claims={(q.name, "") for q, _, _, _ in found},
        pods=sorted({q.name for q, _, _, _ in found}),
        hints={"volume": vol, "node": node},
    )


@rule("injection.webhook-unavailable")
def webhook_unavailable(ctx: WorkloadContext) -> Iterator[Candidate]:
    """Pods cannot be created at all because a mutating webhook call fails."""
    if not ctx.missing_pods:
        return
    evs = [e for e in ctx.controller_events if e.reason == "FailedCreate" and _WEBHOOK.search(e.message)]
    if not evs:
        return
    e = evs[-1]
    m = _WEBHOOK.search(e.message)
    hook = m.group(1) if m else ""
    injector = ""
    for inj in ctx.index.knowledge.injectors.values():
        for pat in inj.section("webhooks").get("webhooks", []) or []:
            if isinstance(pat, str) and re.search(pat, hook):
                injector = inj.id
                break
        if injector:
            break
    vendor = ctx.index.knowledge.injectors[injector].vendor if injector else "A"
    ev = [
        Evidence(
            "event",
            f"{e.kind} {e.name}: FailedCreate: {clip(e.message)} ({e.count}x)",
            f"events for {e.kind.lower()}/{e.name}",
            0.9,
        )
    ]
    yield candidate(
        ctx,
        "injection.webhook-unavailable",
        TIER_STATE,
        [],
        f"{vendor} mutating webhook {hook} blocks pod creation",
        f"The API server must call webhook {hook} before it creates a pod, and the call fails, so {e.kind} "
        f"{e.name} cannot create pods. The webhook's failurePolicy is Fail, so an unavailable webhook backend "
        "blocks every pod it selects.",
        ev,
        symptom="FailedCreate",
        blamed=injector,
        claims={("", "")},
        pods=[],
        hints={"webhook": hook},
    )


@rule("injection.init-container")
def injected_init(ctx: WorkloadContext) -> Iterator[Candidate]:
    """An init container that an injector added fails, so the app containers never start."""
    hits = [f for f in ctx.failures if f.state.init and f.added_by]
    for cname, fs in group_by_container(hits).items():
        f = fs[0]
        inj = f.injections[f.added_by]
        ev = [
            exit_evidence(f, ctx.index.knowledge, 0.3),
            mutation_evidence(f.pod, inj, cname, 0.6 if inj.verified else 0.4),
        ]
        if f.top is not None:
            ev.append(log_evidence(f, f.top, 0.3))
        else:
            which = "previous" if "previous" in f.logs else "current"
            last = last_line(f.logs.get(which, ""))
            if last:
                prev = " --previous" if which == "previous" else ""
                ev.append(
                    Evidence(
                        "log",
                        f"last line of its log: {clip(last)}",
                        f"kubectl logs -n {f.pod.namespace} {f.pod.name} -c {cname}{prev}",
                        0.1,
                    )
                )
        wh = webhook_evidence(ctx, f.pod, inj.id, 0.2)
        if wh:
            ev.append(wh)
        yield candidate(
            ctx,
            "injection.init-container",
            TIER_STATE,
            fs,
            f"{inj.injector.vendor} init container {cname} fails, so the pod never starts",
            f"{inj.injector.vendor}'s webhook added init container {cname} to the pod (the owner's template does "
            f"not have it). It fails ({f.state.symptom}, exit code {f.state.exit_code}), and Kubernetes does not "
            "start the app containers until every init container succeeds.",
            ev,
            blamed=inj.id,
            hints={"container": cname},
        )
