"""Evidence builders shared by the rules: exit codes, log lines, mutations, webhooks, peers, timelines."""

from __future__ import annotations

from podmortem.index import Injection, PodEntry
from podmortem.knowledge import Knowledge
from podmortem.model.findings import Evidence, TimelineEntry
from podmortem.model.objects import created
from podmortem.model.redact import redact_text
from podmortem.rules.context import Failure, Peer, SignatureMatch, WorkloadContext

SIGNALS = {134: "SIGABRT", 137: "SIGKILL", 139: "SIGSEGV", 143: "SIGTERM", 135: "SIGBUS", 136: "SIGFPE"}
MAX_LINE = 240


def clip(text: str, limit: int = MAX_LINE) -> str:
    """A line cut to a readable length, secrets masked."""
    text = redact_text(text.strip())[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exit_code_text(code: int | None, kb: Knowledge) -> str:
    """``134 (SIGABRT, <what the exit-code signature says>)``."""
    if code is None:
        return "an unknown exit code"
    sig = SIGNALS.get(code, "")
    for s in kb.signatures:
        if not s.patterns and not s.reasons and not s.events and code in s.exit_codes:
            meaning = s.title.rstrip(".")
            if str(code) in meaning:
                return meaning[0].lower() + meaning[1:]
            return f"exit code {code}" + (f" ({sig}: {meaning})" if sig else f" ({meaning})")
    return f"exit code {code}" + (f" ({sig})" if sig else "")


def exit_evidence(f: Failure, kb: Knowledge, weight: float = 0.1) -> Evidence:
    """The failing container's exit code and restart count."""
    st = f.state
    code = st.exit_code
    restarts = f" after {st.restart_count} restarts" if st.restart_count else ""
    reason = f", reason {st.reason}" if st.reason else ""
    return Evidence(
        "exit-code",
        f"{f.container} exited with {exit_code_text(code, kb)}{reason}{restarts}",
        f"pod/{f.pod.name} status.containerStatuses[{f.container}].lastState.terminated",
        weight,
    )


def last_line(text: str) -> str:
    """The last non-empty line of a log."""
    end = len(text)
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end].strip()
        if line:
            return line
        end = start - 1
    return ""


def log_evidence(f: Failure, m: SignatureMatch, weight: float) -> Evidence:
    """The failing log line and the signature it matched (or the exit code, for exit-code signatures)."""
    if m.log == "state":
        return Evidence(
            "exit-code",
            f"{m.hit.line}: {m.signature.explanation.strip()}",
            f"pod/{f.pod.name} status.containerStatuses[{f.container}].lastState.terminated",
            weight,
        )
    prev = " --previous" if m.log == "previous" else ""
    return Evidence(
        "log",
        f"{m.signature.title}: {clip(m.hit.line)}",
        f"kubectl logs -n {f.pod.namespace} {f.pod.name} -c {f.container}{prev} (line {m.hit.line_no})",
        weight,
    )


def mutation_evidence(pod: PodEntry, inj: Injection, container: str, weight: float) -> Evidence:
    """What the injector added to the pod, and whether the owner's template has it."""
    parts: list[str] = []
    seen: set[str] = set()
    for h in inj.hits:
        if h.container not in ("", container) and h.where in ("env", "mount"):
            continue
        if h.where == "env":
            text = f"env {h.name}={clip(h.detail, 90)}" if h.detail else f"env {h.name}"
        elif h.where == "mount":
            text = f"mount {h.name}"
        elif h.where == "volume":
            text = f"volume {h.name}" + (f" (CSI {h.detail})" if h.detail else "")
        else:
            text = f"{h.where} {h.name}"
        if text not in seen:
            seen.add(text)
            parts.append(text)
    owner = pod.owner.controller
    if inj.in_template:
        where = f"present in the pod template of {owner}; {inj.injector.vendor} edits the workload itself"
    elif inj.verified and owner is not None:
        where = f"not in the pod template of {owner}: added at admission"
    else:
        where = "owner's pod template not available, so not confirmed as added at admission"
    listed = ", ".join(parts[:8]) + (f" and {len(parts) - 8} more" if len(parts) > 8 else "")
    return Evidence(
        "mutation",
        f"{inj.injector.vendor} injection in pod {pod.name}: {listed} ({where})",
        f"pod/{pod.name} vs {owner}.spec.template" if owner else f"pod/{pod.name}",
        weight,
    )


def audit_evidence(ctx: WorkloadContext, pod: PodEntry, injector: str, weight: float) -> Evidence | None:
    """The API server audit record of ``injector``'s webhook mutating this pod at creation, when present."""
    for a in pod.audit:
        if not a.mutated or ctx.index.injector_of_webhook(a) != injector:
            continue
        ops = f", a JSON patch of {a.patch_ops} operations" if a.patch_ops else ""
        return Evidence(
            "webhook",
            f"API server audit log: webhook {a.webhook} of MutatingWebhookConfiguration {a.configuration} mutated "
            f"pod {pod.name} when it was created ({a.round.replace('_', ' ')}{ops})",
            f"audit event {a.audit_id} at {a.time}",
            weight,
        )
    return None


def webhook_evidence(ctx: WorkloadContext, pod: PodEntry, injector: str, weight: float) -> Evidence | None:
    """The mutating webhook of ``injector`` that selects this pod (audit record first, else selectors)."""
    audited = audit_evidence(ctx, pod, injector, max(weight, 0.3))
    if audited is not None:
        return audited
    for m in pod.webhooks:
        if ctx.index.injector_of_webhook(m) != injector:
            continue
        ns_note = "" if m.namespace_known else " (Namespace object not in the source; matched on its name only)"
        return Evidence(
            "webhook",
            f"MutatingWebhookConfiguration {m.configuration} (webhook {m.webhook}, failurePolicy "
            f"{m.failure_policy}) selects pods created in namespace {pod.namespace}: namespaceSelector "
            f"{m.namespace_selector}, objectSelector {m.object_selector}{ns_note}",
            f"mutatingwebhookconfiguration/{m.configuration}",
            weight,
        )
    return None


def peer_evidence(clean: list[Peer], dirty: list[Peer], image: str, injector: str, vendor: str) -> list[Evidence]:
    """Healthy pods with the same image: not injected (supports the cause) or injected (weakens it)."""
    out: list[Evidence] = []
    if clean:
        p = clean[0].pod
        more = f" (and {len(clean) - 1} more)" if len(clean) > 1 else ""
        out.append(
            Evidence(
                "peer",
                f"pod {p.namespace}/{p.name}{more} runs the same image {image} without {vendor} injection and is "
                f"healthy (Running, Ready, {sum(c.restart_count for c in p.health.containers)} restarts)",
                f"pod/{p.name}",
                0.5,
            )
        )
    if dirty:
        p = dirty[0].pod
        out.append(
            Evidence(
                "peer",
                f"but pod {p.namespace}/{p.name} runs the same image with {vendor} injection and is healthy",
                f"pod/{p.name}",
                0.0,
            )
        )
    return out


def first_start_evidence(f: Failure) -> Evidence | None:
    """The "first start worked, later ones fail" pattern, when the events show it."""
    fs = f.first_start_worked
    if fs is None:
        return None
    first, backoff, gap = fs
    return Evidence(
        "timeline",
        f"the first start of {f.container} in pod {f.pod.name} ran for {int(gap // 60)} min ({first} → first "
        f"back-off {backoff}); every later start failed within seconds",
        f"events for pod/{f.pod.name}",
        0.2,
    )


def timeline(ctx: WorkloadContext, failures: list[Failure], limit: int = 20) -> list[TimelineEntry]:
    """Dated facts about the workload: creation, pod starts, terminations, warning events."""
    items: list[tuple[str, str]] = []
    wl = ctx.workload.obj
    if wl is not None:
        ts = created(wl)
        if ts:
            items.append((ts, f"{ctx.ref} created"))
    for e in ctx.controller_events:
        if e.type == "Warning" or e.reason in ("ScalingReplicaSet", "SuccessfulCreate"):
            items.append((e.first, f"{e.kind} {e.name}: {e.reason}: {clip(e.message, 160)}"))
    seen_pods: set[str] = set()
    for f in failures:
        p = f.pod
        if p.name not in seen_pods:
            seen_pods.add(p.name)
            ts = created(p.pod)
            if ts:
                inj = ", ".join(sorted(p.injections)) or "no injector"
                items.append((ts, f"pod {p.name} created ({inj})"))
            for e in ctx.index.pod_events(p):
                if e.type == "Warning" or e.reason == "Started":
                    times = f" (x{e.count}, last {e.last})" if e.count > 1 else ""
                    items.append((e.first, f"pod {p.name}: {e.reason}: {clip(e.message, 140)}{times}"))
        if f.state.last_finished:
            items.append(
                (
                    f.state.last_finished,
                    f"{f.container} in {p.name} terminated with exit code {f.state.last_exit} "
                    f"({f.state.last_reason or 'Error'}) after starting at {f.state.last_started}",
                )
            )
    items = sorted({(t, e) for t, e in items if t})
    if len(items) > limit:
        items = items[:3] + items[-(limit - 3) :]
    return [TimelineEntry(t, e) for t, e in items]
