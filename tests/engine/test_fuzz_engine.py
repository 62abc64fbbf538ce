"""Arbitrary, half-broken objects never crash the index, the rules or the renderers."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podmortem.api import diagnose
from podmortem.model.snapshot import LogKey, Snapshot, SourceInfo
from podmortem.report import OutputFormat, render

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.text(max_size=12))
junk: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
names = st.sampled_from(["app", "azp-agent", "istio-proxy", "install-oneagent", ""])


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, junk)


container = st.fixed_dictionaries(
    {"name": maybe(names), "image": maybe(st.sampled_from(["img:1", "img:2"]))},
    optional={
        "env": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "name": maybe(st.sampled_from(["LD_PRELOAD", "JAVA_TOOL_OPTIONS"])),
                        "value": maybe(st.text(max_size=40)),
                    }
                ),
                max_size=3,
            )
        ),
        "volumeMounts": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {"name": maybe(names), "mountPath": maybe(st.sampled_from(["/etc/ld.so.preload", "/x"]))}
                ),
                max_size=2,
            )
        ),
    },
)
cstatus = st.fixed_dictionaries(
    {"name": maybe(names)},
    optional={
        "restartCount": maybe(st.integers(0, 30)),
        "ready": maybe(st.booleans()),
        "state": maybe(
            st.sampled_from(
                [{"waiting": {"reason": "CrashLoopBackOff"}}, {"running": {}}, {"terminated": {"exitCode": 139}}]
            )
        ),
        "lastState": maybe(
            st.sampled_from(
                [
                    {
                        "terminated": {
                            "exitCode": 134,
                            "reason": "Error",
                            "startedAt": "2024-08-13T09:00:00Z",
                            "finishedAt": "x",
                        }
                    },
                    {},
                ]
            )
        ),
    },
)
pod = st.fixed_dictionaries(
    {
        "kind": st.just("Pod"),
        "metadata": maybe(
            st.fixed_dictionaries(
                {"name": st.sampled_from(["p1", "p2", "p3"]), "namespace": st.sampled_from(["a", "b"])},
                optional={
                    "ownerReferences": maybe(
                        st.lists(
                            st.fixed_dictionaries(
                                {
                                    "kind": maybe(st.sampled_from(["ReplicaSet", "Job"])),
                                    "name": maybe(st.sampled_from(["rs-abcde", "job-28700000"])),
                                    "controller": maybe(st.booleans()),
                                }
                            ),
                            max_size=2,
                        )
                    ),
                    "annotations": maybe(
                        st.dictionaries(
                            st.sampled_from(["oneagent.dynatrace.com/injected", "x"]),
                            maybe(st.text(max_size=5)),
                            max_size=2,
                        )
                    ),
                    "labels": maybe(
                        st.dictionaries(
                            st.sampled_from(["app", "pod-template-hash"]), maybe(st.text(max_size=5)), max_size=2
                        )
                    ),
                },
            )
        ),
    },
    optional={
        "spec": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "containers": maybe(st.lists(container, max_size=2)),
                    "initContainers": maybe(st.lists(container, max_size=1)),
                    "volumes": junk,
                },
            )
        ),
        "status": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "phase": maybe(st.sampled_from(["Running", "Pending"])),
                    "containerStatuses": maybe(st.lists(cstatus, max_size=2)),
                    "conditions": junk,
                },
            )
        ),
    },
)
other = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(
            ["ReplicaSet", "Deployment", "Event", "MutatingWebhookConfiguration", "Namespace", "Job"]
        ),
        "metadata": maybe(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["rs-abcde", "rs", "job-28700000", "a"]),
                    "namespace": st.sampled_from(["a", "b", ""]),
                }
            )
        ),
    },
    optional={"spec": junk, "involvedObject": junk, "webhooks": junk, "reason": junk, "message": junk, "status": junk},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objs=st.lists(st.one_of(pod, other), max_size=8), log=st.text(max_size=300))
def test_diagnose_never_crashes(objs: list[dict[str, Any]], log: str) -> None:
    snap = Snapshot(SourceInfo("bundle", "fuzz"))
    for o in objs:
        snap.add(o)
    snap.add_log(LogKey("a", "p1", "app", True), log)
    report = diagnose(snap)
    assert not report.errors, report.errors
    for fmt in OutputFormat:
        assert isinstance(render(report, fmt), str)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=2000))
def test_signature_search_on_arbitrary_text(text: str) -> None:
    from podmortem.knowledge import load

    for sig in load().signatures:
        hit = sig.search(text)
        if hit is not None:
            assert hit.line in text and 1 <= hit.line_no <= text.count("\n") + 1
