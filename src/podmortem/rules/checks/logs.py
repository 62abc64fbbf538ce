"""Rules decided by the failing container's log: injected hooks that break a runtime, and app errors."""

from __future__ import annotations

from collections.abc import Iterator

from podmortem.knowledge import LogHit
from podmortem.model.findings import Evidence
from podmortem.rules.checks._common import candidate, plural
from podmortem.rules.context import Failure, InjectionLink, SignatureMatch, WorkloadContext
from podmortem.rules.evidence import (
    clip,
    exit_evidence,
    first_start_evidence,
    last_line,
    log_evidence,
    mutation_evidence,
    peer_evidence,
    webhook_evidence,
)
from podmortem.rules.registry import TIER_EVENT, TIER_LOG, Candidate, rule

# A log signature weaker than this supports a cause but never is one (e.g. "Picked up JAVA_TOOL_OPTIONS").
MIN_CAUSE_SPECIFICITY = 0.3

MECHANISM_RULES = {
    "clr-profiler": "injection.clr-profiler",
    "startup-hook": "injection.startup-hook",
    "ld-preload": "injection.native-preload",
    "java-agent": "injection.java-agent",
    "node-preload": "injection.node-preload",
    "python-path": "injection.python-path",
}
MECHANISM_WORDS = {
    "clr-profiler": ("its .NET profiler", "breaks the .NET runtime of"),
    "startup-hook": ("a .NET startup hook (DOTNET_STARTUP_HOOKS)", "stops the .NET app in"),
    "ld-preload": ("a preloaded native library (LD_PRELOAD / /etc/ld.so.preload)", "breaks"),
    "java-agent": ("a Java agent (JAVA_TOOL_OPTIONS -javaagent)", "stops the JVM of"),
    "node-preload": ("a Node.js preload module (NODE_OPTIONS --require)", "stops the Node.js process of"),
    "python-path": ("Python instrumentation on PYTHONPATH (sitecustomize)", "breaks the Python process of"),
}
CATEGORY_RULES = {
    "config": "config.app-reported",
    "application": "application.exception",
    "oom": "oom.killed",
    "probe": "probe.liveness",
    "image-pull": "image-pull.failed",
    "volume": "volume.mount-failed",
}


def first_sentences(text: str, n: int = 2) -> str:
    """The first ``n`` sentences of a signature's explanation (the rest is reference material)."""
    words = " ".join(text.split())
    out: list[str] = []
    start = 0
    depth = 0
    for i, ch in enumerate(words):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "." and depth <= 0 and (i + 1 == len(words) or words[i + 1] == " "):
            out.append(words[start : i + 1].strip())
            start = i + 1
            if len(out) == n:
                break
    if len(out) < n and words[start:].strip():
        out.append(words[start:].strip())
    return " ".join(out)


def cause_match(f: Failure) -> SignatureMatch | None:
    """The most specific log signature that can be a cause by itself."""
    for m in f.matches:
        if m.signature.specificity >= MIN_CAUSE_SPECIFICITY:
            return m
    return None


def classify(f: Failure) -> tuple[str, SignatureMatch, InjectionLink | None] | None:
    """The rule a failure's log (or, failing that, its exit code) points to, the match, and any injection link."""
    if f.added_by and f.state.init:
        return None
    m = cause_match(f)
    if m is None:
        return _exit_code_link(f)
    sig = m.signature
    link = f.link(sig, m.hit.line) if sig.mechanisms else None
    if link is not None:
        return MECHANISM_RULES.get(link.mechanism, "injection.correlated"), m, link
    if sig.category == "injection":
        mech = sig.mechanisms[0] if sig.mechanisms else ""
        return MECHANISM_RULES.get(mech, "application.exception"), m, None
    rid = sig.rule or CATEGORY_RULES.get(sig.category)
    return (rid, m, None) if rid else None


def _exit_code_link(f: Failure) -> tuple[str, SignatureMatch, InjectionLink | None] | None:
    """An exit code that an injected hook can cause (SIGSEGV from preloaded native code), with no telling log."""
    code = f.state.exit_code
    if code is None:
        return None
    for sig in f.ctx.index.knowledge.signatures:
        if sig.patterns or sig.reasons or code not in sig.exit_codes or not sig.mechanisms:
            continue
        link = f.link(sig, "")
        if link is not None and link.mechanism in MECHANISM_RULES:
            hit = LogHit(0, f"{f.container} terminated with exit code {code} ({f.state.reason or 'Error'})")
            return MECHANISM_RULES[link.mechanism], SignatureMatch(sig, hit, "state"), link
    return None


def with_siblings(ctx: WorkloadContext, fails: list[Failure]) -> tuple[list[Failure], list[Failure]]:
    """Add the failures of the same container whose logs were not read but that end the same way.

    Live reads are capped (``--max-log-containers``): a cause read in one pod's log covers the other pods of the
    workload whose same container stops with the same exit code and reason.
    """
    seen = {id(f) for f in fails}
    shapes = {(f.container, f.state.exit_code, f.state.reason) for f in fails}
    extra = [
        f
        for f in ctx.failures
        if id(f) not in seen and not f.logs and (f.container, f.state.exit_code, f.state.reason) in shapes
    ]
    return fails + extra, extra


def unread_evidence(unread: list[Failure]) -> Evidence:
    """Evidence that names the pods whose logs were not read but which fail the same way."""
    names = sorted({f.pod.name for f in unread})
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return Evidence(
        "state",
        f"{len(names)} more pods ({shown}) stop the same way (exit code {unread[0].state.exit_code}); their logs "
        "were not read",
        "",
        0.0,
    )


def classified(ctx: WorkloadContext, rule_id: str) -> list[tuple[Failure, SignatureMatch, InjectionLink | None]]:
    out = []
    for f in ctx.failures:
        c = classify(f)
        if c is not None and c[0] == rule_id:
            out.append((f, c[1], c[2]))
    return out


def _injection_rule(ctx: WorkloadContext, rule_id: str) -> Iterator[Candidate]:
    items = classified(ctx, rule_id)
    if not items:
        return
    f, m, link = items[0]
    sig = m.signature
    kb = ctx.index.knowledge
    fails, unread = with_siblings(ctx, [i[0] for i in items])
    if link is None:
        # The text names an agent, but no injector's mutation was found in the pod.
        bare = [log_evidence(f, m, 0.5 * sig.specificity), exit_evidence(f, kb, 0.1)]
        yield candidate(
            ctx,
            rule_id,
            TIER_LOG,
            fails,
            f"an instrumentation agent breaks {f.container}: {sig.title}",
            f"{f.container} fails with {sig.title}. {sig.explanation} No injector's mutation was found in the "
            "pod, so the agent may be part of the image or set by the workload's own configuration.",
            bare,
            cap=0.6,
            hints={"container": f.container},
        )
        return
    inj = link.injection
    vendor = inj.injector.vendor
    hook, verb = MECHANISM_WORDS.get(link.mechanism, ("its hooks", "breaks"))
    ev: list[Evidence] = [log_evidence(f, m, 0.5 * sig.specificity)]
    if link.path:
        ev.append(
            Evidence(
                "log",
                f"the failing line names {link.path}, a path {vendor} put into the container",
                ev[0].ref,
                0.4,
            )
        )
    ev.append(exit_evidence(f, kb, 0.1))
    ev.append(mutation_evidence(f.pod, inj, f.container, 0.6 if inj.verified else 0.4))
    wh = webhook_evidence(ctx, f.pod, inj.id, 0.2)
    if wh:
        ev.append(wh)
    image = f.state.image
    clean, dirty = ctx.peers(image, inj.id)
    ev.extend(peer_evidence(clean, dirty, image, inj.id, vendor))
    fs_ev = next((e for e in (first_start_evidence(x) for x in fails) if e is not None), None)
    if fs_ev:
        ev.append(fs_ev)
    supporting = [
        x for x in f.matches if x is not m and x.signature.mechanisms and link.mechanism in x.signature.mechanisms
    ]
    for x in supporting[:2]:
        ev.append(log_evidence(f, x, 0.1))
    if unread:
        ev.append(unread_evidence(unread))
    pods_failing = len({x.pod.name for x in fails})
    injected_pods = [p for p in ctx.workload.pods if inj.id in p.injections]
    if pods_failing > 1:
        ev.append(
            Evidence(
                "state",
                f"{pods_failing} of {len(injected_pods)} injected pods of {ctx.ref} fail the same way",
                "",
                0.1,
            )
        )
    title = f"{vendor} {hook.split(' (')[0].replace('its ', '')} {verb} {f.container}"
    if link.mechanism == "clr-profiler" and inj.id == "dynatrace":
        title = f"{vendor} code module {verb} {f.container}"
    where = (
        "The owner's pod template has none of this: the webhook added it when each pod was created, which is "
        "why the workload itself looks unchanged."
        if inj.verified
        else ""
    )
    explanation = (
        f"{vendor}'s mutating webhook injected {hook} into {f.container}, and the container now fails: "
        f"{sig.title.rstrip('.')}. {first_sentences(sig.explanation)} {where}"
    )
    if fs_ev is not None:
        explanation += " The first start after the pod was created ran normally and later starts fail within seconds."
        if any(h.where == "volume" and h.detail for h in inj.hits):
            explanation += (
                f" One possible reason (not confirmed by this data): {vendor} delivers its code through a CSI "
                "volume, and a first start can get an empty volume while the driver is still downloading, later "
                "starts the real module."
            )
    if clean:
        explanation += f" A pod with the same image that {vendor} did not inject is healthy."
    cand = candidate(
        ctx,
        rule_id,
        TIER_EVENT if m.log == "state" else TIER_LOG,
        fails,
        title,
        " ".join(explanation.split()),
        ev,
        blamed=inj.id,
        hints={"container": f.container, "mechanism": link.mechanism, "image": image},
    )
    if dirty and not clean:
        cand.finding.confidence *= 0.75
    if cand.finding.confidence < 0.5 and pods_failing:
        cand.finding.explanation += f" Confidence is limited: only {plural(len(ev), 'piece')} of evidence."
    yield cand


for _rid in sorted(set(MECHANISM_RULES.values())):

    def _make(rid: str) -> None:
        @rule(rid)
        def _fn(ctx: WorkloadContext) -> Iterator[Candidate]:
            return _injection_rule(ctx, rid)

    _make(_rid)


def _plain_rule(ctx: WorkloadContext, rule_id: str, title_fmt: str) -> Iterator[Candidate]:
    items = classified(ctx, rule_id)
    if not items:
        return
    f, m, _ = items[0]
    sig = m.signature
    kb = ctx.index.knowledge
    ev = [log_evidence(f, m, 0.8 * sig.specificity), exit_evidence(f, kb, 0.2)]
    last = last_line(f.logs.get(m.log, ""))
    if last and last.strip() != m.hit.line.strip():
        ev.append(Evidence("log", f"last line of the log: {clip(last)}", ev[0].ref.rsplit(" (line", 1)[0], 0.0))
    if ctx.injectors:
        kb_inj = ctx.index.knowledge.injectors
        names = ", ".join(kb_inj[i].vendor if i in kb_inj else i for i in ctx.injectors)
        ev.append(
            Evidence(
                "mutation",
                f"{names} also injected into the pod, but none of its hooks explains {sig.title.rstrip('.')}",
                "",
                0.0,
            )
        )
    fails, unread = with_siblings(ctx, [i[0] for i in items])
    if unread:
        ev.append(unread_evidence(unread))
    yield candidate(
        ctx,
        rule_id,
        TIER_LOG,
        fails,
        title_fmt.format(container=f.container, title=sig.title.rstrip(".")),
        " ".join(f"{f.container} fails: {sig.title.rstrip('.')}. {first_sentences(sig.explanation, 3)}".split()),
        ev,
        hints={"container": f.container},
    )


@rule("config.app-reported")
def app_config(ctx: WorkloadContext) -> Iterator[Candidate]:
    """The application itself reports missing or invalid configuration."""
    return _plain_rule(ctx, "config.app-reported", "{container} stops on a configuration error: {title}")


@rule("application.exception")
def app_exception(ctx: WorkloadContext) -> Iterator[Candidate]:
    """The application crashes with an error of its own."""
    return _plain_rule(ctx, "application.exception", "{container} crashes: {title}")
