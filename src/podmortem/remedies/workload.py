"""Remedies for the ordinary causes: memory limits, probes, images, and guidance for the rest.

Values come from the snapshot, not from rules of thumb where it can be helped: a memory limit from the limits
seen on earlier revisions or on healthy pods of the same image, probe timings from observed start durations,
an image from what the healthy peers run.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from podmortem.index import Index, PodEntry
from podmortem.model.findings import Finding, Patch
from podmortem.model.objects import RawObject, as_dict, as_list, as_str, status
from podmortem.remedies.changes import previous_template, revisions
from podmortem.remedies.common import (
    RESOURCE,
    TEMPLATE_PATH,
    PlannedChange,
    PlannedRemedy,
    build,
    format_bytes,
    gitops_note,
    managed_by,
    nest,
    parse_bytes,
    patch_command,
    rollout_commands,
    template_containers,
    template_of,
)
from podmortem.remedies.selection import View
from podmortem.rules.context import seconds_between
from podmortem.rules.registry import Candidate

PROBE_HANDLERS = ("httpGet", "tcpSocket", "exec", "grpc")
PROBE_MARGIN = 2.0  # budget = margin x the slowest start seen
PROBE_MAX_SECONDS = 900


class WorkloadFacts:
    """The failing workload, its object, template and pods."""

    def __init__(self, index: Index, cand: Candidate) -> None:
        """Look the workload up in the index."""
        self.index = index
        self.cand = cand
        self.finding: Finding = cand.finding
        self.wl = self.finding.workload
        w = index.workloads.get(self.wl)
        self.obj: RawObject | None = w.obj if w is not None else None
        if self.obj is None:
            self.obj = index.snap.get(self.wl.kind, self.wl.namespace, self.wl.name)
        self.pods: list[PodEntry] = list(w.pods) if w is not None else []
        self.template = template_of(self.obj)
        self.tool = managed_by(self.obj)
        self.container = as_str(cand.hints.get("container")) or (
            self.finding.containers[0] if self.finding.containers else ""
        )

    def spec_of(self, cname: str) -> dict[str, Any]:
        """A container of the workload's template (of a failing pod when the template is unknown)."""
        for c in template_containers(self.template):
            if c.get("name") == cname:
                return c
        for p in self.pods:
            c = p.container_spec(cname)
            if c:
                return c
        return {}

    def container_patch(self, cname: str, fields: dict[str, Any], why: str) -> PlannedChange | None:
        """A strategic merge patch of one container of the pod template (None for kinds without one)."""
        path = TEMPLATE_PATH.get(self.wl.kind)
        if path is None or not cname:
            return None
        body = nest((*path, "spec"), {"containers": [{"name": cname, **fields}]})
        return PlannedChange(self.wl, Patch("strategic", body), why)

    def plan_notes(self) -> list[str]:
        """Notes every template change of this workload carries."""
        return [gitops_note(self.tool, self.wl)] if self.tool else []

    def commands(self, change: PlannedChange) -> list[str]:
        """The patch command and how to watch the rollout."""
        return [patch_command(self.wl, change.patch), *rollout_commands(self.wl)]


# --- OOM ------------------------------------------------------------------------------------------------------------


def _limits_seen(facts: WorkloadFacts, cname: str, image: str) -> list[tuple[float, str, str]]:
    """``(bytes, quantity, where)`` of memory limits the same container had elsewhere and ran with."""
    out: list[tuple[float, str, str]] = []
    if facts.obj is not None:
        for rev, tpl in revisions(View(facts.index), facts.obj):
            for c in template_containers(tpl):
                if c.get("name") == cname:
                    q = as_str(as_dict(as_dict(c.get("resources")).get("limits")).get("memory"))
                    n = parse_bytes(q) if q else None
                    if n:
                        out.append((n, q, f"revision {rev} of {facts.wl}"))
    repo = image.split("@", 1)[0].rsplit(":", 1)[0] if image else ""
    for p in facts.index.pods_with_image(image) if image else []:
        if p.owner.workload == facts.wl or not p.looks_healthy:
            continue
        for c in template_containers(template_of(p.pod)):
            img = as_str(c.get("image"))
            if not repo or img.split("@", 1)[0].rsplit(":", 1)[0] != repo:
                continue
            q = as_str(as_dict(as_dict(c.get("resources")).get("limits")).get("memory"))
            n = parse_bytes(q) if q else None
            if n:
                out.append((n, q, f"healthy pod {p.namespace}/{p.name} ({img})"))
    return out


def _node_memory(facts: WorkloadFacts) -> float | None:
    """The largest allocatable memory among the nodes the workload can use (its pool when pinned)."""
    spec = as_dict(as_dict(facts.template).get("spec"))
    selector = as_dict(spec.get("nodeSelector"))
    best: float | None = None
    for node in facts.index.nodes.values():
        lab = as_dict(as_dict(node.get("metadata")).get("labels"))
        if any(lab.get(k) != v for k, v in selector.items()):
            continue
        q = as_str(as_dict(status(node).get("allocatable")).get("memory"))
        n = parse_bytes(q) if q else None
        if n and (best is None or n > best):
            best = n
    return best


def oom_remedy(facts: WorkloadFacts) -> PlannedRemedy:
    """Raise the memory limit to one the container ran with elsewhere, else double it."""
    cname = facts.container
    spec = facts.spec_of(cname)
    res = as_dict(spec.get("resources"))
    limit = as_str(as_dict(res.get("limits")).get("memory")) or as_str(facts.cand.hints.get("memory_limit"))
    request = as_str(as_dict(res.get("requests")).get("memory"))
    cur = parse_bytes(limit) if limit else None
    rid, base_title = "oom.raise-memory-limit", f"raise the memory limit of {cname}"
    if cur is None:
        return build(
            rid,
            base_title,
            "manual",
            commands=[f"kubectl -n {facts.wl.namespace} top pod --containers"],
            effect=f"{cname} has no memory limit; it was killed by the node running out of memory, not by its own "
            "limit. Set a request that reflects its real use so the scheduler places it on a node with room.",
        )
    seen = sorted(x for x in _limits_seen(facts, cname, as_str(spec.get("image"))) if x[0] > cur)
    if seen:
        new_bytes, new_q, source = seen[0]
        basis = f"{new_q} is the smallest larger limit this container ran with: {source}."
        safety = "unsafe"
    else:
        new_bytes = cur * 2
        new_q = format_bytes(new_bytes)
        basis = (
            f"No larger limit was seen for this container in the snapshot, so the plan doubles {limit}: a starting "
            "point, not a measurement; check the real usage (kubectl top, the memory metrics before the kill)."
        )
        safety = "unsafe"
    fields: dict[str, Any] = {"resources": {"limits": {"memory": new_q}}}
    req_bytes = parse_bytes(request) if request else None
    qos = ""
    if req_bytes is not None and cur is not None and abs(req_bytes - cur) < 1:
        fields["resources"]["requests"] = {"memory": new_q}
        qos = " The request equals the limit (Guaranteed QoS), so both are raised to keep it so."
    change = facts.container_patch(cname, fields, f"memory limit of {cname}: {limit} -> {new_q}")
    notes = [basis]
    node_mem = _node_memory(facts)
    if node_mem is not None and new_bytes > node_mem:
        notes.append(f"{new_q} is more than any node the workload can use offers ({format_bytes(node_mem)}).")
        safety = "manual"
    if facts.finding.injectors:
        notes.append(
            f"{', '.join(facts.finding.injectors)} injected into the pod: the limit has to cover the agent's "
            "memory as well."
        )
    title = f"{base_title} from {limit} to {new_q}"
    if change is None:
        return build(rid, title, "manual", effect=f"Recreate the {facts.wl.kind} with a memory limit of {new_q}.")
    return build(
        rid,
        title,
        safety,
        changes=[change],
        commands=facts.commands(change),
        effect=f"New pods of {facts.wl.name} may use up to {new_q} before the kernel kills {cname}.{qos}",
        side_effects="The pods may take more of their node's memory; a higher request can leave them Pending "
        "where nodes are full. Fix a leak in the app instead if usage grows without bound.",
        notes=notes,
        plan_notes=facts.plan_notes(),
    )


# --- probes ----------------------------------------------------------------------------------------------------------


def _ready_seconds(p: PodEntry, cname: str) -> float | None:
    """How long a container took from its start to the pod turning Ready (None when it is not ready)."""
    st = status(p.pod)
    for cs in [as_dict(c) for c in as_list(st.get("containerStatuses"))]:
        if cs.get("name") != cname or cs.get("ready") is not True:
            continue
        started = as_str(as_dict(as_dict(cs.get("state")).get("running")).get("startedAt"))
        for cond in [as_dict(c) for c in as_list(st.get("conditions"))]:
            if cond.get("type") == "Ready" and cond.get("status") == "True":
                s = seconds_between(started, as_str(cond.get("lastTransitionTime")))
                if s is not None and s >= 0:
                    return s
    return None


def _killed_runs(facts: WorkloadFacts, cname: str) -> list[float]:
    out = []
    for p in facts.pods:
        for c in p.health.containers:
            if c.name == cname and c.last_started and c.last_finished:
                s = seconds_between(c.last_started, c.last_finished)
                if s is not None and s > 0:
                    out.append(s)
    return out


def probe_remedy(facts: WorkloadFacts) -> PlannedRemedy:
    """A startupProbe (or a longer one) sized from how long the container really takes to start."""
    cname = facts.container
    spec = facts.spec_of(cname)
    probe_kind = as_str(facts.cand.hints.get("probe")) or "liveness"
    liveness = as_dict(spec.get("livenessProbe"))
    startup = as_dict(spec.get("startupProbe"))
    rid = "probe.add-startup-probe" if not startup else "probe.relax-startup-probe"
    image = as_str(spec.get("image"))
    ready = [
        s
        for p in (facts.index.pods_with_image(image) if image else [])
        if image in p.images
        for s in [_ready_seconds(p, cname)]
        if s is not None
    ]
    runs = _killed_runs(facts, cname)
    base = startup or liveness
    period = int(base.get("periodSeconds") or 10)
    window = int(base.get("initialDelaySeconds") or 0) + period * int(base.get("failureThreshold") or 3)
    if ready:
        observed, basis, safety = (
            max(ready),
            f"the slowest start seen was {int(max(ready))} s (pods that became Ready)",
            "safe",
        )
    elif runs:
        observed = max(runs)
        basis = f"killed runs lasted up to {int(observed)} s and no successful start was seen"
        safety = "unsafe"
    else:
        observed, basis, safety = float(window), f"no start was observed; the current window is {window} s", "unsafe"
    budget = min(max(observed * PROBE_MARGIN, window * PROBE_MARGIN), PROBE_MAX_SECONDS)
    threshold = max(math.ceil(budget / period), 1)
    handler = {k: copy.deepcopy(base[k]) for k in PROBE_HANDLERS if k in base}
    title_probe = "add a startupProbe" if not startup else "lengthen its startupProbe"
    if not handler:
        return build(
            rid,
            f"give {cname} time to start: {title_probe}",
            "manual",
            effect=f"{cname} has no probe handler to copy; add a startupProbe that checks what the liveness "
            "probe checks.",
        )
    if startup:
        fields = {"startupProbe": {"failureThreshold": threshold}}
        how = f"startupProbe.failureThreshold {startup.get('failureThreshold', 3)} -> {threshold} (x {period} s)"
    else:
        new_probe: dict[str, Any] = {
            **handler,
            "periodSeconds": period,
            "failureThreshold": threshold,
            "timeoutSeconds": int(base.get("timeoutSeconds") or 1),
            "successThreshold": 1,
        }
        fields = {"startupProbe": new_probe}
        how = f"startupProbe like the {probe_kind} probe, {threshold} x {period} s"
    change = facts.container_patch(cname, fields, how)
    notes = [f"Budget {int(threshold * period)} s: {PROBE_MARGIN:g} x {basis}."]
    if any("statuscode" in e.summary.lower() for e in facts.finding.evidence):
        notes.append(
            "The probe got an HTTP error status, not a timeout: the app answers but reports itself unhealthy. A "
            "startup probe only postpones the kill; check the health endpoint and what it depends on."
        )
    title = f"give {cname} time to start: {title_probe} ({threshold} x {period} s)"
    if change is None:
        return build(rid, title, "manual", effect=f"Recreate the {facts.wl.kind} with {how}.", notes=notes)
    return build(
        rid,
        title,
        safety,
        changes=[change],
        commands=facts.commands(change),
        effect=f"The kubelet holds the liveness probe back until {cname} passes the startup probe, for up to "
        f"{int(threshold * period)} s.",
        side_effects="A container that hangs while starting is restarted later than now. It triggers a rollout.",
        notes=notes,
        plan_notes=facts.plan_notes(),
    )


# --- images ---------------------------------------------------------------------------------------------------------


def image_remedies(facts: WorkloadFacts) -> list[PlannedRemedy]:
    """Roll the container back to the image its healthy peers run (else the previous revision's)."""
    cname = facts.container
    bad = as_str(facts.cand.hints.get("image"))
    good = as_str(facts.cand.hints.get("good_image"))
    source = "the healthy pods of the workload run it"
    safety = "unsafe"
    if not good and facts.obj is not None:
        prev = previous_template(View(facts.index), facts.obj)
        for c in template_containers(prev):
            if c.get("name") == cname and as_str(c.get("image")) != bad:
                good = as_str(c.get("image"))
                source = "the previous revision ran it (not proven healthy in this snapshot)"
    out: list[PlannedRemedy] = []
    res = RESOURCE.get(facts.wl.kind, facts.wl.kind.lower())
    if good:
        change = facts.container_patch(cname, {"image": good}, f"image of {cname}: {bad} -> {good}")
        if change is not None:
            out.append(
                build(
                    "image-pull.use-running-image",
                    f"roll {cname} back to the image the healthy pods run ({good})",
                    safety,
                    changes=[change],
                    commands=[f"kubectl -n {facts.wl.namespace} set image {res}/{facts.wl.name} {cname}={good}"],
                    effect=f"New pods of {facts.wl.name} run {good}; {source}.",
                    side_effects="This undoes the image change of the rollout (and whatever that release fixed).",
                    plan_notes=facts.plan_notes(),
                )
            )
    pod = facts.finding.pods[0] if facts.finding.pods else ""
    out.append(
        build(
            "image-pull.check-image",
            f"check that {bad or 'the image'} exists and the pull credentials can read it",
            "manual",
            commands=[f"kubectl -n {facts.wl.namespace} describe pod {pod}".strip()],
            effect="A NotFound error means the tag or digest does not exist in the registry; an "
            "Unauthorized/Forbidden error means imagePullSecrets or the node's registry identity lack access.",
        )
    )
    return out


GUIDANCE = {
    "scheduling.unschedulable": "Free or add capacity in a pool the pods may use, or relax their node selector, "
    "affinity, tolerations or resource requests; the scheduler message above says which.",
    "volume.mount-failed": "Check the volume's PersistentVolumeClaim, storage class and CSI driver on the node.",
    "config.app-reported": "Set the configuration the application asks for (environment, mounted files).",
    "application.exception": "Fix the application error shown in the log; it is not caused by the platform.",
    "application.start-error": "Fix the image entrypoint or the container's command and args.",
    "unknown.crash-loop": "Read the previous log and events; collect a bundle with previous logs.",
}


def other_remedies(index: Index, cand: Candidate) -> list[PlannedRemedy]:
    """Remedies for the non-injection causes (and injection findings whose injector is unknown)."""
    facts = WorkloadFacts(index, cand)
    f = facts.finding
    wl = facts.wl
    cname = facts.container
    if f.rule == "oom.killed":
        return [oom_remedy(facts)]
    if f.rule == "image-pull.failed":
        return image_remedies(facts)
    if f.rule == "probe.liveness":
        return [probe_remedy(facts)]
    if f.rule == "config.missing-reference":
        return [
            build(
                "config.create-reference",
                f"create the missing object or fix the reference in {cname}",
                "manual",
                commands=[f"kubectl -n {wl.namespace} get configmaps,secrets"],
                effect=f"The kubelet reported: {cand.hints.get('message')}. Create it in namespace {wl.namespace}, "
                "or mark the reference optional: true if the app can run without it.",
            )
        ]
    guidance = GUIDANCE.get(f.rule, "")
    if f.rule == "scheduling.unschedulable":
        cmds = [f"kubectl -n {wl.namespace} describe pod {f.pods[0]}" if f.pods else "", "kubectl describe nodes"]
        return [build(f"{f.rule}.manual", "what to do", "manual", commands=[c for c in cmds if c], effect=guidance)]
    if f.rule == "volume.mount-failed":
        vol = as_str(cand.hints.get("volume"))
        cmds = (
            [f"kubectl -n {wl.namespace} get pvc", f"kubectl -n {wl.namespace} describe pod {f.pods[0]}"]
            if f.pods
            else []
        )
        return [
            build(
                f"{f.rule}.manual",
                f"make volume {vol or '(unknown)'} mountable",
                "manual",
                commands=cmds,
                effect=guidance,
            )
        ]
    if guidance:
        cmd = f"kubectl -n {wl.namespace} logs {f.pods[0]} -c {cname} --previous" if f.pods and cname else ""
        return [build(f"{f.rule}.manual", "what to do", "manual", commands=[cmd] if cmd else [], effect=guidance)]
    return []
