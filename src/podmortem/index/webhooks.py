"""Which MutatingWebhookConfigurations would be called for a pod (namespaceSelector, objectSelector, rules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podmortem.index.selectors import describe_selector, selector_matches
from podmortem.model.objects import RawObject, as_dict, as_list, as_str, labels, name


@dataclass(frozen=True)
class WebhookMatch:
    """A webhook whose rules and selectors select a pod."""

    configuration: str
    webhook: str
    failure_policy: str
    service: str  # namespace/name[:path] or URL
    namespace_selector: str
    object_selector: str
    namespace_known: bool  # False when the Namespace object was missing and only its name label was used


def _rule_selects_pod_create(rule: dict[str, Any]) -> bool:
    ops = [o for o in as_list(rule.get("operations")) if isinstance(o, str)]
    groups = [g for g in as_list(rule.get("apiGroups")) if isinstance(g, str)]
    versions = [v for v in as_list(rule.get("apiVersions")) if isinstance(v, str)]
    resources = [r for r in as_list(rule.get("resources")) if isinstance(r, str)]
    return (
        ("CREATE" in ops or "*" in ops)
        and ("" in groups or "*" in groups)
        and ("v1" in versions or "*" in versions)
        and any(r in ("pods", "*", "*/*") for r in resources)
    )


def _service(hook: dict[str, Any]) -> str:
    cc = as_dict(hook.get("clientConfig"))
    svc = as_dict(cc.get("service"))
    if svc:
        path = as_str(svc.get("path"))
        return f"{as_str(svc.get('namespace'))}/{as_str(svc.get('name'))}{path}"
    return as_str(cc.get("url"))


def webhooks_for_pod(
    pod: RawObject, ns_labels: dict[str, str], ns_known: bool, configs: list[RawObject]
) -> list[WebhookMatch]:
    """Every mutating webhook that would be called when this pod is created."""
    out: list[WebhookMatch] = []
    plabels = labels(pod)
    for cfg in configs:
        for hook in [as_dict(h) for h in as_list(cfg.get("webhooks"))]:
            if not any(_rule_selects_pod_create(as_dict(r)) for r in as_list(hook.get("rules"))):
                continue
            nsel = hook.get("namespaceSelector")
            osel = hook.get("objectSelector")
            if not selector_matches(nsel, ns_labels) or not selector_matches(osel, plabels):
                continue
            out.append(
                WebhookMatch(
                    configuration=name(cfg),
                    webhook=as_str(hook.get("name")),
                    failure_policy=as_str(hook.get("failurePolicy")) or "Fail",
                    service=_service(hook),
                    namespace_selector=describe_selector(nsel),
                    object_selector=describe_selector(osel),
                    namespace_known=ns_known,
                )
            )
    return out
