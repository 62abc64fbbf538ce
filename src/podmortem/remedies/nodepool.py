"""Node-pool isolation: taint a pool, pin the workload there, and keep the injector's exclusion.

Node placement alone never stops a webhook (it does not look at nodes), so the plan always carries the
exclusion the injector needs. It lists what else the taint changes: every DaemonSet that would still land on
the pool and every one that would stop (the injector's CSI driver among them), and every mutating webhook that
would still be called for the workload's pods, with whether it would still mutate them.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from podmortem.index import PodEntry
from podmortem.index.nodes import POOL_LABELS
from podmortem.index.webhooks import webhooks_for_pod
from podmortem.model.findings import Patch
from podmortem.model.objects import ObjectRef, RawObject, as_dict, as_list, as_str, labels, name
from podmortem.remedies.common import (
    TEMPLATE_PATH,
    PlannedChange,
    PlannedRemedy,
    build,
    get_path,
    gitops_note,
    index_cache,
    nest,
    patch_command,
    rollout_commands,
    template_of,
)
from podmortem.remedies.patching import strategic_merge
from podmortem.remedies.selection import View, cr_mode, decide, hook_service, webhook_owner

if TYPE_CHECKING:
    from podmortem.remedies.injection import Planner

TAINT_KEY = "dedicated"
# Taints the DaemonSet controller tolerates on its own (pkg/controller/daemon/util: AddOrUpdateDaemonPodTolerations).
DAEMONSET_AUTO_TOLERATED = (
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
    "node.kubernetes.io/disk-pressure",
    "node.kubernetes.io/memory-pressure",
    "node.kubernetes.io/pid-pressure",
    "node.kubernetes.io/unschedulable",
    "node.kubernetes.io/network-unavailable",
)


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any], *, daemonset: bool = False) -> bool:
    """Whether a pod with these tolerations tolerates a taint (as the scheduler decides)."""
    if daemonset and as_str(taint.get("key")) in DAEMONSET_AUTO_TOLERATED:
        return True
    for tol in tolerations:
        effect = as_str(tol.get("effect"))
        if effect and effect != as_str(taint.get("effect")):
            continue
        key = as_str(tol.get("key"))
        op = as_str(tol.get("operator")) or "Equal"
        if not key:
            if op == "Exists":
                return True
            continue
        if key != as_str(taint.get("key")):
            continue
        if op == "Exists" or as_str(tol.get("value")) == as_str(taint.get("value")):
            return True
    return False


def _expr_holds(expr: dict[str, Any], value: str | None) -> bool:
    op = as_str(expr.get("operator"))
    values = [as_str(v) for v in as_list(expr.get("values"))]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            a, b = int(value), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def node_fits(pod_spec: dict[str, Any], node: RawObject) -> bool:
    """Whether a pod spec's nodeSelector and required node affinity accept a node (taints aside)."""
    lab = labels(node)
    for k, v in as_dict(pod_spec.get("nodeSelector")).items():
        if lab.get(k) != v:
            return False
    terms = as_list(
        get_path(
            pod_spec,
            ("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"),
        )
    )
    if not terms:
        return True
    for term in [as_dict(t) for t in terms]:
        exprs = [as_dict(e) for e in as_list(term.get("matchExpressions"))]
        fields = [as_dict(e) for e in as_list(term.get("matchFields"))]
        ok = all(_expr_holds(e, lab.get(as_str(e.get("key")))) for e in exprs)
        ok = ok and all(_expr_holds(e, name(node) if e.get("key") == "metadata.name" else None) for e in fields)
        if ok and (exprs or fields):
            return True
    return False


def lands(pod_spec: dict[str, Any], node: RawObject, extra_taints: list[dict[str, Any]], *, daemonset: bool) -> bool:
    """Whether a pod with this spec can run on the node once it also carries ``extra_taints``."""
    if not node_fits(pod_spec, node):
        return False
    tols = [as_dict(t) for t in as_list(pod_spec.get("tolerations"))]
    taints = [as_dict(t) for t in as_list(as_dict(node.get("spec")).get("taints"))] + extra_taints
    return all(
        tolerates(tols, t, daemonset=daemonset)
        for t in taints
        if as_str(t.get("effect")) in ("NoSchedule", "NoExecute")
    )


def choose_pool(planner: Planner) -> tuple[str, str, str]:
    """``(provider, label key, pool)``: the pool the workload is pinned to, else where its failing pods run."""
    spec = as_dict(as_dict(planner.template).get("spec"))
    selector = as_dict(spec.get("nodeSelector"))
    for provider, key in POOL_LABELS:
        if selector.get(key):
            return provider, key, as_str(selector[key])
    counts: Counter[tuple[str, str, str]] = Counter()
    for p in planner.pods:
        pool = planner.index.node_pool_of(p)
        if pool[2]:
            counts[pool] += 2 if p.name in planner.finding.pods else 1
    if counts:
        return counts.most_common(1)[0][0]
    return "", "", ""


def pool_commands(provider: str, pool: str, taint: str, ns: str) -> list[str]:
    """How to set the taint on the pool itself, so nodes the provider adds or replaces carry it."""
    key, _, rest = taint.partition("=")
    value, _, effect = rest.partition(":")
    if provider == "aks":
        return [
            f"az aks nodepool update --resource-group <resource-group> --cluster-name <cluster> --name {pool} "
            f"--node-taints {taint}  # replaces the pool's taint list: add its existing taints"
        ]
    if provider == "eks":
        aws_effect = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
        return [
            f"aws eks update-nodegroup-config --cluster-name <cluster> --nodegroup-name {pool} "
            f"--taints 'addOrUpdateTaints=[{{key={key},value={value},effect={aws_effect.get(effect, effect)}}}]'"
        ]
    if provider == "gke":
        return [f"gcloud container node-pools update {pool} --cluster <cluster> --node-taints {taint}"]
    if provider == "karpenter":
        taint_json = json.dumps([{"key": key, "value": value, "effect": effect}])
        return [
            f"kubectl patch nodepool {pool} --type merge -p "
            f'\'{{"spec":{{"template":{{"spec":{{"taints":{taint_json}}}}}}}}}\'  # merge with existing taints'
        ]
    return [f"# no node-pool label found: label the nodes for {ns} and taint them with {taint}"]


def node_pool_remedy(planner: Planner, base: PlannedRemedy | None) -> PlannedRemedy:
    """The isolation plan, combined with ``base`` (the exclusion the injector needs)."""
    inj = planner.inj
    wl = planner.wl
    rid = f"{inj.id}.node-pool-isolation"
    title = f"run {wl.name} on a node pool that {inj.vendor} injection does not reach"
    node_text = as_str(inj.section("exclusion").get("node_pool"))
    provider, key, pool = choose_pool(planner)
    nodes = sorted(
        (n for n in planner.index.nodes.values() if key and labels(n).get(key) == pool), key=lambda n: name(n)
    )
    path = TEMPLATE_PATH.get(wl.kind)
    if not nodes or path is None or planner.wl_obj is None or planner.template is None:
        why = (
            "no node pool found for the workload (no pool label on its nodes or in its nodeSelector)"
            if not nodes
            else f"{wl} or its pod template is not in the snapshot"
        )
        return build(rid, title, "manual", effect=node_text, notes=[f"Not computed: {why}."], injector=inj.id)
    ns = wl.namespace
    taint = {"key": TAINT_KEY, "value": ns, "effect": "NoSchedule"}
    taint_text = f"{TAINT_KEY}={ns}:NoSchedule"
    changes: list[PlannedChange] = []
    for node in nodes:
        taints = as_list(as_dict(node.get("spec")).get("taints"))
        if any(as_dict(t).get("key") == TAINT_KEY and as_dict(t).get("value") == ns for t in taints):
            continue
        ops: list[dict[str, Any]]
        if isinstance(as_dict(node.get("spec")).get("taints"), list):
            ops = [
                {"op": "test", "path": "/spec/taints", "value": taints},
                {"op": "add", "path": "/spec/taints/-", "value": taint},
            ]
        else:
            ops = [{"op": "add", "path": "/spec/taints", "value": [taint]}]
        changes.append(PlannedChange(ObjectRef("Node", "", name(node)), Patch("json", ops), f"taint {taint_text}"))
    spec = as_dict(planner.template.get("spec"))
    tols = [copy.deepcopy(as_dict(t)) for t in as_list(spec.get("tolerations"))]
    toleration = {"key": TAINT_KEY, "operator": "Equal", "value": ns, "effect": "NoSchedule"}
    if not tolerates(tols, taint):
        tols.append(toleration)
    body: dict[str, Any] = nest((*path, "spec"), {"tolerations": tols, "nodeSelector": {key: pool}})
    others: list[PlannedChange] = []
    exclusion = ""
    if base is not None:
        for ch in base.changes:
            if ch.target == wl and ch.patch.type == "strategic":
                body = strategic_merge(body, copy.deepcopy(ch.patch.body))
                exclusion = ch.why
            else:
                others.append(ch)
                exclusion = exclusion or ch.why
    workload_change = PlannedChange(
        wl,
        Patch("strategic", body),
        f"tolerate {taint_text}, nodeSelector {key}={pool}" + (f", {exclusion}" if exclusion else ""),
    )
    changes = [workload_change, *changes, *others]
    over = planner.overrides(changes)
    view = View(planner.index, over)
    after_tpl = template_of(over.get(wl)) or planner.template
    plan_notes = _daemonset_notes(planner, view, nodes, taint, pool)
    plan_notes += _webhook_notes(planner, view, after_tpl)
    plan_notes += _shared_pool_notes(planner, nodes, pool)
    plan_notes.append(
        f"NoSchedule keeps new pods off {pool}; pods already running there stay until they are recreated."
    )
    for crd_mode in _host_modes(planner):
        plan_notes.append(
            f"The DynaKube runs in {crd_mode}: the host OneAgent injects on every node it runs on, so the pool must "
            "not run the OneAgent DaemonSet (check it in the list above) and webhook annotations do not apply."
        )
    tool = planner.tool
    if tool:
        plan_notes.append(gitops_note(tool, wl))
    check = planner.check([workload_change, *others]) if base is not None else ""
    cmds = pool_commands(provider, pool, taint_text, ns)
    cmds.append(f"kubectl taint nodes -l {key}={pool} {taint_text}  # the nodes there now")
    cmds += [patch_command(wl, workload_change.patch), *rollout_commands(wl)]
    cmds += [patch_command(ch.target, ch.patch) for ch in others]
    return build(
        rid,
        f"isolate {wl.name} on node pool {pool}: taint it {taint_text}, pin the workload there, and keep "
        f"{inj.vendor} out of its pods",
        "unsafe",
        changes=changes,
        commands=cmds,
        effect=(
            f"Only pods that tolerate {taint_text} schedule on {pool} from now on; {wl.name} is pinned to it and "
            f"tolerates the taint. Node placement alone does not stop {inj.vendor}: the webhook never looks at "
            "nodes, so the plan keeps the exclusion in the same change" + (f" ({exclusion})." if exclusion else ".")
        ),
        side_effects=(
            f"New pods of other workloads can no longer schedule on {pool}, and DaemonSets that do not tolerate the "
            "taint stop landing there when their pods are recreated (listed in the plan). Set the taint on the "
            "pool itself (first command) or nodes the provider adds or replaces come up without it."
        ),
        notes=[node_text, check],
        injector=inj.id,
        plan_notes=plan_notes,
        exclusion=base is not None,
    )


def _csi_drivers(planner: Planner) -> set[str]:
    drivers: set[str] = set()
    for p in planner.pods:
        inj = p.injections.get(planner.inj.id)
        vols = {h.name for h in inj.hits if h.where == "volume"} if inj else set()
        for v in as_list(as_dict(p.pod.get("spec")).get("volumes")):
            vd = as_dict(v)
            driver = as_str(as_dict(vd.get("csi")).get("driver"))
            if driver and vd.get("name") in vols:
                drivers.add(driver)
    return drivers


def _daemonset_notes(
    planner: Planner, view: View, nodes: list[RawObject], taint: dict[str, Any], pool: str
) -> list[str]:
    stays, stops = [], []
    drivers = _csi_drivers(planner)
    csi_notes = []
    for ds in sorted(view.of_kind("DaemonSet"), key=lambda o: (ObjectRef.of(o).namespace, name(o))):
        spec = as_dict(as_dict(template_of(ds)).get("spec"))
        ref = ObjectRef.of(ds)
        now = any(lands(spec, n, [], daemonset=True) for n in nodes)
        after = any(lands(spec, n, [taint], daemonset=True) for n in nodes)
        label = f"{ref.namespace}/{ref.name}"
        paths = [as_str(as_dict(as_dict(v).get("hostPath")).get("path")) for v in as_list(spec.get("volumes"))]
        csi = [d for d in drivers if any(f"/plugins/{d}" in p for p in paths)]
        if csi:
            label += f" (CSI driver {', '.join(csi)})"
        if now and after:
            stays.append(label)
        elif now:
            stops.append(label)
        if csi:
            csi_notes.append(
                f"CSI driver DaemonSet {ref.namespace}/{ref.name} ({', '.join(csi)}) "
                + (
                    f"keeps running on {pool}."
                    if after
                    else f"would no longer run on {pool}: a pod there that still got a {', '.join(csi)} volume would "
                    "fail with FailedMount, so the exclusion in this plan is required, not optional."
                )
            )
    out = [
        f"DaemonSets that would still land on {pool}: {', '.join(stays) if stays else 'none'}.",
        f"DaemonSets that would stop landing on {pool} (their running pods stay until recreated): "
        f"{', '.join(stops) if stops else 'none'}.",
    ]
    return out + csi_notes


def _webhook_notes(planner: Planner, view: View, tpl: dict[str, Any]) -> list[str]:
    ns = planner.wl.namespace
    ns_labels, _, known = view.namespace(ns)
    meta = as_dict(tpl.get("metadata"))
    pod = {"metadata": {**meta, "namespace": ns}, "spec": as_dict(tpl.get("spec"))}
    out = []
    for cfg in view.of_kind("MutatingWebhookConfiguration"):
        for hook in [as_dict(h) for h in as_list(cfg.get("webhooks"))]:
            one = {"metadata": as_dict(cfg.get("metadata")), "webhooks": [hook]}
            if not webhooks_for_pod(pod, ns_labels, known, [one]):
                continue
            owner = webhook_owner(planner.index, name(cfg), as_str(hook.get("name")), hook_service(hook))
            inj = planner.index.knowledge.injectors.get(owner)
            what = f"{name(cfg)}/{as_str(hook.get('name'))}"
            if inj is None:
                out.append(f"Webhook {what} would still be called for the pods (not a known injector).")
                continue
            v = decide(view, inj, tpl, ns)
            state = "would still mutate them" if v.injects else "is still called but leaves them alone"
            out.append(f"Webhook {what} ({inj.vendor}) {state}: {v.reason}.")
    if not out:
        out.append("No mutating webhook in the snapshot would be called for the pods.")
    return out


def _pods_by_node(planner: Planner) -> dict[str, list[PodEntry]]:
    cache = index_cache(planner.index)
    if "pods-by-node" not in cache:
        by: dict[str, list[PodEntry]] = {}
        for p in planner.index.pods:
            by.setdefault(p.node, []).append(p)
        cache["pods-by-node"] = by
    out: dict[str, list[PodEntry]] = cache["pods-by-node"]
    return out


def _shared_pool_notes(planner: Planner, nodes: list[RawObject], pool: str) -> list[str]:
    by_node = _pods_by_node(planner)
    refs: set[ObjectRef] = set()
    for p in (p for n in nodes for p in by_node.get(name(n), [])):
        own = p.owner
        if own.workload == planner.wl or own.workload.kind == "DaemonSet":
            continue
        if own.controller is not None and own.controller.kind == "DaemonSet":
            continue
        refs.add(own.workload)
    others = {str(r) for r in refs}
    if not others:
        return []
    listed = sorted(others)
    more = f" and {len(listed) - 8} more" if len(listed) > 8 else ""
    return [
        f"Other workloads run on {pool} and would need the toleration to come back there: "
        f"{', '.join(listed[:8])}{more}."
    ]


def _host_modes(planner: Planner) -> list[str]:
    host = [as_str(m) for m in as_list(planner.crd.get("host_injecting_modes"))]
    return sorted({m for m in (cr_mode(cr, planner.crd) for cr in planner.crs) if m in host})
