"""Would an injector mutate a pod created from this template? The injector's own selection logic, as data.

The decision reads the fingerprint's ``selection`` record (opt-in/opt-out labels and annotations, excluded
namespaces, and ``custom_resource``: how the injector's CR selects namespaces and pods), the snapshot's
MutatingWebhookConfigurations (namespaceSelector, objectSelector, rules) and the CRs themselves (a DynaKube's
namespaceSelector for its mode and apiVersion, feature-flag annotations, New Relic Instrumentation selectors,
Datadog namespace lists, the AppDynamics Cluster Agent's namespace regex). A :class:`View` can replace objects
of the snapshot, so the same check answers "and after the fix?".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podmortem.index import Index
from podmortem.index.selectors import selector_matches
from podmortem.index.webhooks import webhooks_for_pod
from podmortem.knowledge import Injector, PodFeatures
from podmortem.model.objects import (
    ObjectRef,
    RawObject,
    annotations_of,
    as_dict,
    as_list,
    as_str,
    labels,
    name,
    namespace,
)
from podmortem.remedies.common import dotted, get_path, template_containers

FALSE_WORDS = ("false", "disabled")


class View:
    """The snapshot of an index, with some objects replaced by their patched versions."""

    def __init__(self, index: Index, overrides: Mapping[ObjectRef, RawObject] | None = None) -> None:
        """``overrides`` maps an object's reference to the object that replaces it."""
        self.index = index
        self.overrides = dict(overrides or {})

    def of_kind(self, kind: str) -> list[RawObject]:
        """All objects of a kind, replaced ones swapped in."""
        objs = self.index.snap.of_kind(kind)
        if not self.overrides or not any(ref.kind == kind for ref in self.overrides):
            return objs
        return [self.overrides.get(ObjectRef.of(obj), obj) for obj in objs]

    def get(self, ref: ObjectRef) -> RawObject | None:
        """One object (its replacement when there is one)."""
        if ref in self.overrides:
            return self.overrides[ref]
        return self.index.snap.get(ref.kind, ref.namespace, ref.name)

    def namespace(self, ns: str) -> tuple[dict[str, str], dict[str, str], bool]:
        """A namespace's labels (with the automatic name label), annotations, and whether it was seen."""
        obj = self.get(ObjectRef("Namespace", "", ns))
        lab = labels(obj) if obj is not None else {}
        lab.setdefault("kubernetes.io/metadata.name", ns)
        return lab, annotations_of(obj) if obj is not None else {}, obj is not None


@dataclass(frozen=True)
class Verdict:
    """Whether an injector would mutate the pod, and the deciding fact."""

    injects: bool
    reason: str


def webhook_owner(index: Index, configuration: str, webhook: str, service: str) -> str:
    """The injector a webhook belongs to: by configuration name first, then service, then webhook name.

    Two operators register a webhook named ``mpod.kb.io`` (OpenTelemetry, New Relic), so the configuration and
    service names are the stronger clues.
    """
    svc = service.split("/", 2)[1] if service.count("/") >= 1 else service
    for key, value in (("configurations", configuration), ("services", svc), ("webhooks", webhook)):
        for inj in index.knowledge.injectors.values():
            for pat in inj.section("webhooks").get(key, []) or []:
                if isinstance(pat, str) and value and re.search(pat, value):
                    return inj.id
    return ""


def hook_service(hook: dict[str, Any]) -> str:
    """A webhook's service as ``namespace/name/path`` (or its URL)."""
    svc = as_dict(as_dict(hook.get("clientConfig")).get("service"))
    if svc:
        return f"{as_str(svc.get('namespace'))}/{as_str(svc.get('name'))}{as_str(svc.get('path'))}"
    return as_str(as_dict(hook.get("clientConfig")).get("url"))


def injector_webhooks(view: View, injector_id: str) -> list[tuple[RawObject, dict[str, Any]]]:
    """``(configuration, webhook)`` pairs of the snapshot that belong to an injector."""
    out = []
    for cfg in view.of_kind("MutatingWebhookConfiguration"):
        for hook in [as_dict(h) for h in as_list(cfg.get("webhooks"))]:
            if webhook_owner(view.index, name(cfg), as_str(hook.get("name")), hook_service(hook)) == injector_id:
                out.append((cfg, hook))
    return out


def operator_namespace(view: View, inj: Injector) -> str:
    """Where the injector's operator runs: its webhook service's namespace, else its CR's, else ""."""
    for _, hook in injector_webhooks(view, inj.id):
        ns = as_str(as_dict(as_dict(hook.get("clientConfig")).get("service")).get("namespace"))
        if ns:
            return ns
    crd = as_dict(inj.section("selection").get("custom_resource"))
    for cr in custom_resources(view, crd):
        if namespace(cr):
            return namespace(cr)
    return ""


def custom_resources(view: View, crd: dict[str, Any]) -> list[RawObject]:
    """The snapshot's objects of the CR kind (and API group) a selection record names."""
    kind, group = as_str(crd.get("kind")), as_str(crd.get("group"))
    if not kind:
        return []
    out = []
    for obj in view.of_kind(kind):
        api = as_str(obj.get("apiVersion"))
        if not group or api.split("/", 1)[0] == group:
            out.append(obj)
    return sorted(out, key=lambda o: (namespace(o), name(o)))


def api_version_of(obj: RawObject) -> str:
    """The version part of an object's apiVersion (``v1beta2`` of ``dynatrace.com/v1beta2``)."""
    return as_str(obj.get("apiVersion")).rsplit("/", 1)[-1]


def cr_mode(cr: RawObject, crd: dict[str, Any]) -> str:
    """The mode a CR runs in: the key set under its mode field (``cloudNativeFullStack``, ...), else ""."""
    field = as_str(crd.get("mode_field"))
    if not field:
        return ""
    modes = get_path(cr, dotted(field))
    known = [as_str(m) for m in as_list(crd.get("injecting_modes")) + as_list(crd.get("host_injecting_modes"))]
    if isinstance(modes, dict):
        for m in known:
            if m in modes:
                return m
        for m in modes:
            return str(m)
    return ""


def selector_entry(crd: dict[str, Any], key: str, cr: RawObject) -> dict[str, Any] | None:
    """The selector record (``namespace_selectors`` / ``pod_selectors``) that fits a CR's apiVersion."""
    version = api_version_of(cr)
    for entry in [as_dict(e) for e in as_list(crd.get(key))]:
        versions = [as_str(v) for v in as_list(entry.get("api_versions"))]
        if not versions or version in versions:
            return entry
    return None


def selector_path(crd: dict[str, Any], key: str, cr: RawObject) -> tuple[str, ...]:
    """Where a CR keeps the selector of a kind, for its apiVersion and mode (empty when it has none)."""
    entry = selector_entry(crd, key, cr)
    if entry is None:
        return ()
    return dotted(as_str(entry.get("path")), {"mode": cr_mode(cr, crd)})


def ignored_namespace_patterns(cr: RawObject, crd: dict[str, Any]) -> list[str] | None:
    """The namespace regexes a CR ignores (its annotation, else the defaults); None when it has none."""
    spec = as_dict(crd.get("ignored_namespaces"))
    if not spec:
        return None
    raw = annotations_of(cr).get(as_str(spec.get("annotation")))
    if raw is not None:
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return [p for p in data if isinstance(p, str)] if isinstance(data, list) else None
    return [as_str(p).replace("{operator_namespace}", namespace(cr)) for p in as_list(spec.get("defaults"))]


# --- key/value matching ----------------------------------------------------------------------------------------


def _values(entry: dict[str, Any]) -> list[str] | None:
    if "values" in entry:
        return [as_str(v) for v in as_list(entry.get("values"))]
    if "value" in entry:
        return [as_str(entry.get("value"))]
    return None


def kv_hit(entries: list[Any], items: Mapping[str, str], *, opt_out: bool) -> str:
    """The first ``key=value`` of ``items`` that one of the (pod-scoped) entries names, else ""."""
    for entry in [as_dict(e) for e in entries]:
        if entry.get("scope") == "container":
            continue
        key, pat = as_str(entry.get("key")), as_str(entry.get("key_pattern"))
        values = _values(entry)
        for k, v in items.items():
            if not (k == key or (pat and re.search(pat, k))):
                continue
            if values is not None:
                if v in values:
                    return f"{k}={v}"
            elif opt_out or v.strip().lower() not in FALSE_WORDS:
                return f"{k}={v}"
    return ""


def excluded_containers(entries: list[Any], sources: list[Mapping[str, str]], names: list[str]) -> set[str]:
    """Containers a container-scoped opt-out (``container.inject.dynatrace.com/<name>``) excludes."""
    out: set[str] = set()
    for entry in [as_dict(e) for e in entries]:
        if entry.get("scope") != "container":
            continue
        template, values = as_str(entry.get("key")), _values(entry) or ["false"]
        for c in names:
            key = template.replace("<container>", c).replace("{container}", c)
            if any(src.get(key) in values for src in sources):
                out.add(c)
    return out


# --- the decision ------------------------------------------------------------------------------------------------


def decide(view: View, inj: Injector, template: dict[str, Any], ns: str, *, container: str | None = None) -> Verdict:
    """Whether ``inj`` would mutate a pod created from ``template`` in namespace ``ns``, and why."""
    sel = inj.section("selection")
    meta = as_dict(template.get("metadata"))
    t_labels = {k: v for k, v in as_dict(meta.get("labels")).items() if isinstance(v, str)}
    t_ann = {k: v for k, v in as_dict(meta.get("annotations")).items() if isinstance(v, str)}
    ns_labels, ns_ann, ns_known = view.namespace(ns)
    names = [as_str(c.get("name")) for c in template_containers(template)]
    crd = as_dict(sel.get("custom_resource"))

    if inj.mutates == "workload":
        hits = [h for h in inj.detect(template, PodFeatures.of(template)) if h.strength == "strong"]
        if hits:
            return Verdict(True, f"the workload's own pod template carries {inj.vendor}'s {hits[0].name}")
        cr = _cr_verdict(view, inj, crd, t_labels, t_ann, ns, ns_labels, names, container)
        if cr is not None:
            return cr
        return Verdict(True, f"no {crd.get('kind') or 'configuration'} in the snapshot says {inj.vendor} leaves it")

    host = [as_str(m) for m in as_list(crd.get("host_injecting_modes"))]
    for host_cr in custom_resources(view, crd) if host else []:
        mode_ = cr_mode(host_cr, crd)
        if mode_ in host:
            who = f"{host_cr.get('kind')} {namespace(host_cr)}/{name(host_cr)}"
            return Verdict(
                True,
                f"{who} runs in {mode_}: the host agent injects every process on the nodes it runs on, whatever the "
                "pod or namespace says",
            )
    gate = _webhook_gate(view, inj, template, t_labels, t_ann, ns, ns_labels, ns_known)
    if gate is not None:
        return gate

    pod_out = kv_hit(as_list(sel.get("pod_opt_out_annotations")), t_ann, opt_out=True) or kv_hit(
        as_list(sel.get("pod_opt_out_labels")), t_labels, opt_out=True
    )
    if pod_out:
        return Verdict(False, f"the pod template opts out with {pod_out}")
    cont_entries = as_list(sel.get("pod_opt_out_annotations"))
    excluded = excluded_containers(cont_entries, [t_ann], names)
    if container is not None and container in excluded:
        return Verdict(False, f"container {container} is excluded by a pod-template annotation")
    if names and excluded >= set(names):
        return Verdict(False, "every container of the pod template is excluded by annotation")
    pod_in = kv_hit(as_list(sel.get("pod_opt_in_annotations")), t_ann, opt_out=False) or kv_hit(
        as_list(sel.get("pod_opt_in_labels")), t_labels, opt_out=False
    )
    mode = as_str(sel.get("mode"))
    if mode in ("opt-in", "opt-out") and pod_in:
        return Verdict(True, f"the pod template opts in with {pod_in}")
    ops_ns = operator_namespace(view, inj)
    for pat in as_list(sel.get("excluded_namespaces")):
        regex = as_str(pat).replace("{operator_namespace}", ops_ns or "\0")
        if re.search(regex, ns):
            return Verdict(False, f"{inj.vendor} never injects into namespace {ns} (matches {regex})")
    ns_out = kv_hit(as_list(sel.get("namespace_opt_out_labels")), ns_labels, opt_out=True)
    if ns_out:
        return Verdict(False, f"namespace {ns} opts out with label {ns_out}")
    if mode == "opt-in":
        ns_in = kv_hit(as_list(sel.get("namespace_opt_in_labels")), ns_labels, opt_out=False) or kv_hit(
            as_list(sel.get("namespace_opt_in_annotations")), ns_ann, opt_out=False
        )
        if ns_in:
            return Verdict(True, f"namespace {ns} opts in with {ns_in}")
        return Verdict(False, f"neither the pod template nor namespace {ns} opts in to {inj.vendor}")
    cr = _cr_verdict(view, inj, crd, t_labels, t_ann, ns, ns_labels, names, container)
    if cr is not None:
        return cr
    if mode == "opt-out":
        return Verdict(True, f"{inj.vendor} injects every pod that does not opt out")
    kind = as_str(crd.get("kind")) or "custom resource"
    return Verdict(True, f"no {kind} in the snapshot to check; assuming it selects the pod")


def _webhook_gate(
    view: View,
    inj: Injector,
    template: dict[str, Any],
    t_labels: dict[str, str],
    t_ann: dict[str, str],
    ns: str,
    ns_labels: dict[str, str],
    ns_known: bool,
) -> Verdict | None:
    """A negative verdict when the injector's webhooks are in the snapshot and none would be called."""
    hooks = injector_webhooks(view, inj.id)
    if not hooks:
        return None
    pod = {
        "metadata": {"namespace": ns, "labels": t_labels, "annotations": t_ann},
        "spec": as_dict(template.get("spec")),
    }
    for cfg, hook in hooks:
        one = {"metadata": as_dict(cfg.get("metadata")), "webhooks": [hook]}
        if webhooks_for_pod(pod, ns_labels, ns_known, [one]):
            return None
    names = ", ".join(sorted({as_str(h.get("name")) for _, h in hooks}))
    return Verdict(False, f"no {inj.vendor} webhook ({names}) selects the pod (namespaceSelector/objectSelector)")


def _cr_verdict(
    view: View,
    inj: Injector,
    crd: dict[str, Any],
    t_labels: dict[str, str],
    t_ann: dict[str, str],
    ns: str,
    ns_labels: dict[str, str],
    names: list[str],
    container: str | None,
) -> Verdict | None:
    """What the injector's custom resources decide (None when there is none to read)."""
    crs = custom_resources(view, crd)
    if not crs:
        return None
    inst_label = as_str(crd.get("instance_label"))
    if inst_label and ns_labels.get(inst_label):
        mapped = [cr for cr in crs if name(cr) == ns_labels[inst_label]]
        crs = mapped or crs
    reasons = []
    for cr in crs:
        v = one_cr(inj, crd, cr, t_labels, t_ann, ns, ns_labels, names, container)
        if v.injects:
            return v
        reasons.append(v.reason)
    return Verdict(False, "; ".join(reasons))


def one_cr(
    inj: Injector,
    crd: dict[str, Any],
    cr: RawObject,
    t_labels: dict[str, str],
    t_ann: dict[str, str],
    ns: str,
    ns_labels: dict[str, str],
    names: list[str],
    container: str | None,
) -> Verdict:
    """What one CR decides for a pod template in a namespace."""
    kind = as_str(cr.get("kind"))
    who = f"{kind} {namespace(cr)}/{name(cr)}" if namespace(cr) else f"{kind} {name(cr)}"
    enabled = as_dict(crd.get("enabled_field"))
    if enabled:
        value = get_path(cr, dotted(as_str(enabled.get("path"))))
        if as_str(value) in [as_str(v) for v in as_list(enabled.get("off_values"))]:
            return Verdict(False, f"{who} has {enabled.get('path')}={as_str(value) or '(unset)'}")
    mode = cr_mode(cr, crd)
    if as_str(crd.get("mode_field")):
        if mode in [as_str(m) for m in as_list(crd.get("host_injecting_modes"))]:
            return Verdict(True, f"{who} runs in {mode}: the host agent on the node injects every process")
        if mode not in [as_str(m) for m in as_list(crd.get("injecting_modes"))]:
            return Verdict(False, f"{who} runs in mode {mode or '(none)'}, which injects no pods")
    patterns = ignored_namespace_patterns(cr, crd)
    for pat in patterns or []:
        try:
            if re.search(pat, ns):
                return Verdict(False, f"{who} ignores namespace {ns} ({pat})")
        except re.error:
            continue
    regex_field = as_str(crd.get("namespace_regex_field"))
    if regex_field:
        regex = as_str(get_path(cr, dotted(regex_field)))
        try:
            if not regex or not re.fullmatch(regex, ns):
                return Verdict(False, f"{who}: {regex_field} {regex!r} does not match namespace {ns}")
        except re.error:
            pass
    lists = as_dict(crd.get("namespace_lists"))
    if lists:
        enabled_ns = [as_str(v) for v in as_list(get_path(cr, dotted(as_str(lists.get("enabled")))))]
        disabled_ns = [as_str(v) for v in as_list(get_path(cr, dotted(as_str(lists.get("disabled")))))]
        if enabled_ns and ns not in enabled_ns:
            return Verdict(False, f"{who}: namespace {ns} is not in {lists.get('enabled')}")
        if ns in disabled_ns:
            return Verdict(False, f"{who}: namespace {ns} is in {lists.get('disabled')}")
    empty = bool(crd.get("empty_selector_matches", True))
    for key, lab, what in (("namespace_selectors", ns_labels, f"namespace {ns}"), ("pod_selectors", t_labels, "pod")):
        path = selector_path(crd, key, cr)
        if not path:
            continue
        sel = get_path(cr, path)
        if sel is None and not empty:
            return Verdict(False, f"{who} has no {'.'.join(path)}")
        if sel is not None and not selector_matches(sel, lab, empty_matches=empty):
            return Verdict(False, f"{who}: {'.'.join(path)} does not select the {what}")
    if crd.get("container_opt_out_annotations"):
        entries = as_list(inj.section("selection").get("pod_opt_out_annotations"))
        excluded = excluded_containers(entries, [t_ann, annotations_of(cr)], names)
        if container is not None and container in excluded:
            return Verdict(False, f"container {container} is excluded by annotation (pod template or {who})")
        if names and excluded >= set(names):
            return Verdict(False, f"every container is excluded by annotation (pod template or {who})")
    flag = as_dict(crd.get("opt_in_flag"))
    if flag and annotations_of(cr).get(as_str(flag.get("annotation"))) == as_str(flag.get("off_value")):
        sel = inj.section("selection")
        pod_in = kv_hit(as_list(sel.get("pod_opt_in_annotations")), t_ann, opt_out=False)
        if not pod_in:
            off = f"{flag.get('annotation')}={flag.get('off_value')}"
            return Verdict(False, f"{who} has {off} and the pod does not opt in")
    return Verdict(True, f"{who} selects namespace {ns} and the pod" + (f" ({mode})" if mode else ""))


def would_inject(
    index: Index,
    injector_id: str,
    pod_template: dict[str, Any],
    namespace_: str,
    *,
    container: str | None = None,
    overrides: Mapping[ObjectRef, RawObject] | None = None,
) -> bool:
    """Whether the injector would mutate a pod created from ``pod_template`` in ``namespace_``.

    ``container``: whether that container would be injected (a per-container opt-out leaves the others
    injected). ``overrides``: objects replacing snapshot objects (a planned fix), by reference.
    """
    inj = index.knowledge.injectors.get(injector_id)
    if inj is None:
        raise ValueError(f"unknown injector {injector_id!r}")
    return decide(View(index, overrides), inj, pod_template, namespace_, container=container).injects
