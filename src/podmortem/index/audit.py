"""Which webhook mutated which pod, from API server audit events (``mutation.webhook.admission.k8s.io``)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from podmortem.model.objects import RawObject, as_dict, as_list, as_str, meta

MUTATION_PREFIX = "mutation.webhook.admission.k8s.io/"
PATCH_PREFIX = "patch.webhook.admission.k8s.io/"


@dataclass(frozen=True)
class AuditMutation:
    """One webhook call recorded by the API server for a pod CREATE."""

    configuration: str
    webhook: str
    round: str  # "round_0_index_2"
    mutated: bool
    patch_ops: int  # JSON patch operations recorded (0 when the audit level did not record patches)
    audit_id: str
    time: str


def _json(value: str) -> dict[str, Any]:
    try:
        doc = json.loads(value)
    except (ValueError, TypeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _pod_keys(ev: dict[str, Any]) -> list[tuple[str, str]]:
    """``(namespace, name)`` / ``(namespace, "uid:" + uid)`` / ``(namespace, "gen:" + generateName + second)``."""
    ref = as_dict(ev.get("objectRef"))
    ns = as_str(ref.get("namespace"))
    keys: list[tuple[str, str]] = []
    if ref.get("name"):
        keys.append((ns, as_str(ref.get("name"))))
    for body_key in ("responseObject", "requestObject"):
        md = as_dict(as_dict(ev.get(body_key)).get("metadata"))
        if md.get("name"):
            keys.append((ns, as_str(md.get("name"))))
        if md.get("uid"):
            keys.append((ns, "uid:" + as_str(md.get("uid"))))
        if md.get("generateName"):
            # The pod's creationTimestamp (whole seconds) falls between the request's arrival and the response.
            for stamp in ("requestReceivedTimestamp", "stageTimestamp"):
                second = as_str(ev.get(stamp))[:19]
                if second:
                    keys.append((ns, f"gen:{as_str(md.get('generateName'))}@{second}"))
    return keys


class AuditIndex:
    """Pod CREATE audit events by pod, with the webhook calls they record."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        """Index the pod-creation events that carry webhook mutation annotations."""
        self._by_pod: dict[tuple[str, str], list[AuditMutation]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        for ev in events:
            ref = as_dict(ev.get("objectRef"))
            if ref.get("resource") != "pods" or ref.get("subresource") or as_str(ev.get("verb")) != "create":
                continue
            ann = as_dict(ev.get("annotations"))
            calls = [k for k in ann if isinstance(k, str) and k.startswith(MUTATION_PREFIX)]
            if not calls:
                continue
            audit_id = as_str(ev.get("auditID"))
            if (audit_id, as_str(ev.get("stage"))) in seen:
                continue
            seen.add((audit_id, as_str(ev.get("stage"))))
            muts = []
            for key in sorted(calls):
                rnd = key[len(MUTATION_PREFIX) :]
                doc = _json(as_str(ann[key]))
                patch = _json(as_str(ann.get(PATCH_PREFIX + rnd, "")))
                muts.append(
                    AuditMutation(
                        configuration=as_str(doc.get("configuration")),
                        webhook=as_str(doc.get("webhook")),
                        round=rnd,
                        mutated=doc.get("mutated") is True,
                        patch_ops=len(as_list(patch.get("patch"))),
                        audit_id=audit_id,
                        time=as_str(ev.get("requestReceivedTimestamp")),
                    )
                )
            for k in _pod_keys(ev):
                self._by_pod[k].extend(m for m in muts if m not in self._by_pod[k])

    def for_pod(self, pod: RawObject) -> list[AuditMutation]:
        """The webhook calls recorded when this pod was created."""
        md = meta(pod)
        ns, name, uid = as_str(md.get("namespace")), as_str(md.get("name")), as_str(md.get("uid"))
        found = self._by_pod.get((ns, name)) or self._by_pod.get((ns, "uid:" + uid))
        if not found and md.get("generateName"):
            second = as_str(md.get("creationTimestamp"))[:19]
            found = self._by_pod.get((ns, f"gen:{as_str(md.get('generateName'))}@{second}"))
        return list(found or [])
