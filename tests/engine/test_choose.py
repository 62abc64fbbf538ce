from podmortem.engine import choose
from podmortem.model.findings import Finding
from podmortem.model.objects import ObjectRef
from podmortem.rules.registry import TIER_FALLBACK, TIER_LOG, TIER_STATE, Candidate, noisy_or

WL = ObjectRef("Deployment", "ns", "app")


def cand(rule: str, tier: int, conf: float, claims: set[tuple[str, str]]) -> Candidate:
    f = Finding(
        WL,
        rule,
        rule.split(".")[0],
        rule,
        "CrashLoopBackOff",
        conf,
        pods=sorted({p for p, _ in claims if p}),
        containers=sorted({c for _, c in claims if c}),
    )
    return Candidate(f, tier, claims)


def test_state_cause_beats_log_and_fallback() -> None:
    oom = cand("oom.killed", TIER_STATE, 0.9, {("p1", "app")})
    inj = cand("injection.clr-profiler", TIER_LOG, 0.97, {("p1", "app"), ("p2", "app")})
    unk = cand("unknown.crash-loop", TIER_FALLBACK, 0.2, {("p1", "app"), ("p2", "app")})
    chosen = choose([unk, inj, oom])
    assert [c.finding.rule for c in chosen] == ["oom.killed", "injection.clr-profiler"]
    # The injection candidate keeps only the container it won.
    assert chosen[1].finding.pods == ["p2"]


def test_pod_level_claim_blocks_its_containers() -> None:
    sched = cand("scheduling.unschedulable", TIER_STATE, 0.8, {("p1", "")})
    unk = cand("unknown.crash-loop", TIER_FALLBACK, 0.2, {("p1", "app")})
    assert [c.finding.rule for c in choose([unk, sched])] == ["scheduling.unschedulable"]


def test_workload_level_claims_do_not_conflict() -> None:
    a = cand("injection.webhook-unavailable", TIER_STATE, 0.9, {("", "")})
    b = cand("unknown.crash-loop", TIER_FALLBACK, 0.2, {("p1", "app")})
    assert len(choose([a, b])) == 2


def test_noisy_or_combines_independent_evidence() -> None:
    assert noisy_or([]) == 0.0
    assert abs(noisy_or([0.5, 0.5]) - 0.75) < 1e-9
    assert noisy_or([1.2, -1]) == 1.0
