"""Last-resort rules: injection correlated with failure, and crash-loops nothing else explains."""

from __future__ import annotations

from collections.abc import Iterator

from podmortem.model.findings import Evidence
from podmortem.rules.checks._common import candidate, group_by_container
from podmortem.rules.checks.logs import cause_match
from podmortem.rules.context import Failure, WorkloadContext
from podmortem.rules.evidence import clip, exit_evidence, mutation_evidence, peer_evidence, webhook_evidence
from podmortem.rules.registry import TIER_FALLBACK, Candidate, rule


def _unexplained(ctx: WorkloadContext) -> list[Failure]:
    return [f for f in ctx.failures if cause_match(f) is None]


@rule("injection.correlated")
def correlated(ctx: WorkloadContext) -> Iterator[Candidate]:
    """Injected pods crash with no telling log, while uninjected pods with the same image are healthy."""
    for cname, fs in group_by_container(_unexplained(ctx)).items():
        f = fs[0]
        best = None
        for inj in f.injections.values():
            if not inj.verified and not inj.in_template:
                continue
            clean, dirty = ctx.peers(f.state.image, inj.id)
            if f.added_by == inj.id or (clean and not dirty):
                best = (inj, clean, dirty)
                break
        if best is None:
            continue
        inj, clean, dirty = best
        vendor = inj.injector.vendor
        ev = [
            exit_evidence(f, ctx.index.knowledge, 0.1),
            mutation_evidence(f.pod, inj, cname, 0.3),
            *peer_evidence(clean, dirty, f.state.image, inj.id, vendor),
        ]
        for e in ev:
            if e.type == "peer" and e.weight:
                e.weight = 0.35
        if f.added_by:
            ev.append(Evidence("mutation", f"{cname} itself was added by {vendor}'s webhook", "", 0.3))
        wh = webhook_evidence(ctx, f.pod, inj.id, 0.1)
        if wh:
            ev.append(wh)
        yield candidate(
            ctx,
            "injection.correlated",
            TIER_FALLBACK,
            fs,
            f"{cname} fails only where {vendor} injected it",
            f"{cname} crashes without a log line that names a cause, but "
            + (f"it is {vendor}'s own container" if f.added_by else f"only pods that {vendor} injected fail")
            + (", while a pod with the same image and no injection is healthy" if clean else "")
            + ". This is a correlation, not proof: exclude one pod from injection to confirm.",
            ev,
            cap=0.6,
            blamed=inj.id,
            hints={"container": cname},
        )


@rule("unknown.crash-loop")
def unknown(ctx: WorkloadContext) -> Iterator[Candidate]:
    """A failing container that no more specific rule explains (or a controller that cannot create pods)."""
    created = [e for e in ctx.controller_events if e.reason == "FailedCreate" and e.type == "Warning"]
    created = [e for e in created if "failed calling webhook" not in e.message]
    if created and ctx.missing_pods:
        e = created[-1]
        yield candidate(
            ctx,
            "unknown.crash-loop",
            TIER_FALLBACK + 1,
            [],
            f"{e.kind} {e.name} cannot create pods",
            f"{e.kind} {e.name} fails to create pods: {clip(e.message, 300)}",
            [
                Evidence(
                    "event",
                    f"FailedCreate: {clip(e.message)} ({e.count}x)",
                    f"events for {e.kind.lower()}/{e.name}",
                    0.3,
                )
            ],
            symptom="FailedCreate",
            claims={("", "")},
            pods=[],
            cap=0.3,
        )
    for cname, fs in group_by_container(ctx.failures).items():
        f = fs[0]
        ev = [exit_evidence(f, ctx.index.knowledge, 0.15)]
        tail = _tail(f)
        if tail:
            ev.append(
                Evidence(
                    "log",
                    f"last log line: {clip(tail)}",
                    f"kubectl logs {f.pod.name} -c {cname} --previous",
                    0.05,
                )
            )
        elif not f.logs:
            ev.append(Evidence("log", "no log of this container was in the source", "", 0.0))
        yield candidate(
            ctx,
            "unknown.crash-loop",
            TIER_FALLBACK + 1,
            fs,
            f"{cname} keeps failing ({f.state.symptom}, exit code {f.state.exit_code}) for a reason not identified",
            f"{cname} fails with exit code {f.state.exit_code} but no known failure signature matched"
            + (" its logs" if f.logs else " (no logs were available)")
            + ". Read the previous log and the pod's events; collect a bundle with previous logs if it is missing.",
            ev,
            cap=0.3,
            hints={"container": cname},
        )


def _tail(f: Failure) -> str:
    text = f.logs.get("previous") or f.logs.get("current") or ""
    for line in reversed(text.splitlines()[-50:]):
        if line.strip():
            return line
    return ""
