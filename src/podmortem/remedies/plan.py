"""Plan remedies for findings, as data: patches and commands graded safe / unsafe / manual."""

from __future__ import annotations

import json
import re
from typing import Any

from podmortem.index import Index
from podmortem.knowledge import Injector
from podmortem.model.findings import Patch, Remedy
from podmortem.model.objects import ObjectRef, RawObject, as_dict, as_list, as_str, labels, name, namespace
from podmortem.rules.registry import Candidate

TEMPLATE_PATH = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
RESOURCE = {
    "Deployment": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "ReplicaSet": "replicaset",
    "ReplicationController": "replicationcontroller",
    "CronJob": "cronjob",
    "Job": "job",
    "Pod": "pod",
}
GITOPS_MARKERS = (
    ("label", "app.kubernetes.io/managed-by", "Helm", "Helm"),
    ("label", "argocd.argoproj.io/instance", "", "Argo CD"),
    ("annotation", "argocd.argoproj.io/tracking-id", "", "Argo CD"),
    ("label", "kustomize.toolkit.fluxcd.io/name", "", "Flux"),
    ("label", "helm.toolkit.fluxcd.io/name", "", "Flux"),
    ("annotation", "meta.helm.sh/release-name", "", "Helm"),
)
_QTY = re.compile(r"^(\d+(?:\.\d+)?)([A-Za-z]*)$")


def _nest(path: tuple[str, ...], leaf: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = leaf
    for key in reversed(path):
        body = {key: body}
    return body


def managed_by(obj: RawObject | None) -> str:
    """The tool that owns a workload's manifest (Helm, Argo CD, Flux), else ""."""
    if obj is None:
        return ""
    lab = labels(obj)
    ann = as_dict(as_dict(obj.get("metadata")).get("annotations"))
    for where, key, value, tool in GITOPS_MARKERS:
        src = lab if where == "label" else ann
        if key in src and (not value or src[key] == value):
            return tool
    return ""


def _patch_command(ref: ObjectRef, body: dict[str, Any], ptype: str = "strategic") -> str:
    res = RESOURCE.get(ref.kind, ref.kind.lower())
    ns = f"-n {ref.namespace} " if ref.namespace else ""
    return f"kubectl {ns}patch {res} {ref.name} --type {ptype} -p '{json.dumps(body, separators=(',', ':'))}'"


def _fmt(text: str, values: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        return values.get(m.group(1), m.group(0))

    return re.sub(r"\{([a-z_]+)\}", sub, text)


def _gitops_note(tool: str) -> str:
    if not tool:
        return ""
    return (
        f" The workload is managed by {tool}: a live patch would be reverted, so make the same change in its "
        "source (chart values, Git repository) instead."
    )


def _template_patch(
    wl: ObjectRef, meta_key: str, items: dict[str, str], containers_note: str
) -> tuple[Patch | None, list[str], str]:
    """A strategic merge patch that sets pod-template labels/annotations, with its commands."""
    path = TEMPLATE_PATH.get(wl.kind)
    if path is None:
        note = (
            f"A {wl.kind}'s pod template cannot be changed in place: recreate it with these "
            f"{meta_key} on its pod template{containers_note}."
        )
        return None, [], note
    body = _nest((*path, "metadata"), {meta_key: dict(items)})
    cmds = [_patch_command(wl, body)]
    if wl.kind in ("Deployment", "StatefulSet", "DaemonSet"):
        cmds.append(f"kubectl -n {wl.namespace} rollout status {RESOURCE[wl.kind]}/{wl.name}")
    elif wl.kind in ("ReplicaSet", "ReplicationController"):
        cmds.append(f"kubectl -n {wl.namespace} delete pod -l <the {wl.kind}'s selector>  # recreate the pods")
    return Patch("strategic", body), cmds, ""


def _custom_resource(index: Index, inj: Injector) -> RawObject | None:
    for cr in inj.raw.get("custom_resources", []) or []:
        kind = as_str(as_dict(cr).get("kind"))
        objs = index.snap.of_kind(kind)
        if objs:
            return objs[0]
    return None


def _operator_namespace(index: Index, inj: Injector, wl: ObjectRef) -> str:
    """Where the injector's operator runs: the namespace of its webhook's service, else a placeholder."""
    workload = index.workloads.get(wl)
    for pod in workload.pods if workload else []:
        for m in pod.webhooks:
            if index.injector_of_webhook(m) == inj.id and "/" in m.service:
                return m.service.split("/", 1)[0]
    return f"<{inj.id} operator namespace>"


def injection_remedies(index: Index, cand: Candidate) -> list[Remedy]:
    """Exclusion from injection (pod template, namespace), version pinning and node-pool notes."""
    f = cand.finding
    inj = index.knowledge.injectors.get(cand.blamed)
    if inj is None:
        return []
    wl = f.workload
    wl_obj = index.workloads[wl].obj if wl in index.workloads else None
    tool = managed_by(wl_obj)
    containers = f.containers or [as_str(cand.hints.get("container"))]
    excl = inj.section("exclusion")
    cr = _custom_resource(index, inj)
    values = {
        "namespace": wl.namespace,
        "workload": wl.name,
        "name": name(cr) if cr else f"<{inj.id} custom resource>",
        "kind": RESOURCE.get(wl.kind, wl.kind.lower()),
        "container": containers[0] if containers else "",
        "cr_name": name(cr) if cr else f"<{inj.id} custom resource>",
        "cr_namespace": namespace(cr) if cr else _operator_namespace(index, inj, wl),
    }
    out: list[Remedy] = []
    pod_entries = [as_dict(e) for e in as_list(excl.get("pod"))]
    container_scoped = [e for e in pod_entries if e.get("scope") == "container"]
    pod_scoped = [e for e in pod_entries if e.get("scope") == "pod"]
    # Every container of the pod fails the same way -> a pod-wide exclusion is as narrow as it gets.
    ordered = container_scoped + pod_scoped
    for entry in ordered:
        meta_key = "labels" if entry.get("on") == "label" else "annotations"
        items: dict[str, str] = {}
        keys = (
            [as_str(entry.get("key")).replace("{container}", c) for c in containers]
            if entry.get("scope") == "container"
            else [as_str(entry.get("key"))]
        )
        for k in keys:
            items[k] = as_str(entry.get("value"))
        for extra in as_list(entry.get("also")):
            items[as_str(as_dict(extra).get("key"))] = as_str(as_dict(extra).get("value"))
        scope = f", container {', '.join(containers)}" if entry.get("scope") == "container" else ""
        patch, cmds, manual_note = _template_patch(wl, meta_key, items, scope)
        safety = as_str(entry.get("safety")) or "safe"
        if patch is None or tool:
            safety = "manual" if patch is None else safety
        out.append(
            Remedy(
                id=f"{inj.id}.{as_str(entry.get('id'))}",
                title=_fmt(as_str(entry.get("title")), values) + f" ({wl.kind} {wl.name} pod template{scope})",
                safety=safety,
                target=wl if patch is not None else None,
                patch=patch,
                commands=cmds,
                notes=" ".join(
                    (
                        as_str(entry.get("notes"))
                        + " The webhook only acts when a pod is created, so the change takes effect for the new "
                        "pods of the rollout." + manual_note + _gitops_note(tool)
                    ).split()
                ),
            )
        )
    for entry in [as_dict(e) for e in as_list(excl.get("namespace"))]:
        out.append(_manual(inj, entry, values, default_target=ObjectRef("Namespace", "", wl.namespace)))
    for entry in [as_dict(e) for e in as_list(inj.raw.get("pin"))]:
        target = ObjectRef(cr.get("kind", ""), namespace(cr), name(cr)) if cr else None
        out.append(_manual(inj, entry, values, default_target=target))
    node_pool = as_str(excl.get("node_pool"))
    if node_pool:
        out.append(
            Remedy(
                id=f"{inj.id}.node-pool-isolation",
                title=f"run {wl.name} on a node pool that {inj.vendor} injection does not reach",
                safety="manual",
                target=wl,
                notes=" ".join(node_pool.split()),
            )
        )
    if not pod_entries and excl.get("notes"):
        out.insert(
            0,
            Remedy(
                id=f"{inj.id}.exclusion-notes",
                title=f"{inj.vendor} has no pod-level opt-out: narrow its selection instead",
                safety="manual",
                notes=" ".join(as_str(excl.get("notes")).split()),
            ),
        )
    return out


def _manual(inj: Injector, entry: dict[str, Any], values: dict[str, str], default_target: ObjectRef | None) -> Remedy:
    patch = None
    target = default_target
    ns_label = as_dict(entry.get("namespace_label"))
    ns_ann = as_dict(entry.get("namespace_annotation"))
    if ns_label or ns_ann:
        key = "labels" if ns_label else "annotations"
        kv = ns_label or ns_ann
        patch = Patch("merge", {"metadata": {key: {as_str(kv.get("key")): as_str(kv.get("value")) or None}}})
        target = ObjectRef("Namespace", "", values["namespace"])
    return Remedy(
        id=f"{inj.id}.{as_str(entry.get('id'))}",
        title=_fmt(as_str(entry.get("title")), values),
        safety=as_str(entry.get("safety")) or "manual",
        target=target,
        patch=patch,
        commands=[_fmt(c, values) for c in as_list(entry.get("commands")) if isinstance(c, str)],
        notes=" ".join(_fmt(as_str(entry.get("notes")), values).split()),
    )


def _double(qty: str) -> str:
    m = _QTY.match(qty)
    if not m:
        return ""
    num = float(m.group(1)) * 2
    text = str(int(num)) if num.is_integer() else f"{num:g}"
    return text + m.group(2)


def _container_patch(wl: ObjectRef, cname: str, fields: dict[str, Any]) -> Patch | None:
    path = TEMPLATE_PATH.get(wl.kind)
    if path is None:
        return None
    return Patch("strategic", _nest((*path, "spec"), {"containers": [{"name": cname, **fields}]}))


def other_remedies(index: Index, cand: Candidate) -> list[Remedy]:
    """Remedies for the non-injection causes."""
    f = cand.finding
    wl = f.workload
    h = cand.hints
    cname = as_str(h.get("container"))
    tool = managed_by(index.workloads[wl].obj if wl in index.workloads else None)
    res = RESOURCE.get(wl.kind, wl.kind.lower())
    out: list[Remedy] = []
    if f.rule == "oom.killed":
        limit = as_str(h.get("memory_limit"))
        new = _double(limit) if limit else ""
        patch = _container_patch(wl, cname, {"resources": {"limits": {"memory": new}}}) if new else None
        out.append(
            Remedy(
                id="oom.raise-memory-limit",
                title=f"raise the memory limit of {cname}" + (f" from {limit} to {new}" if new else ""),
                safety="unsafe" if patch else "manual",
                target=wl if patch else None,
                patch=patch,
                commands=[_patch_command(wl, patch.body)] if patch else [],
                notes=" ".join(
                    (
                        "Doubling is a starting point, not a measurement: check the container's real usage "
                        "(kubectl top pod, or the memory metrics before the kill) and the node's capacity; a higher "
                        "limit also raises what the pod may take from its node. Fix a leak in the app instead if "
                        "usage grows without bound." + _gitops_note(tool)
                    ).split()
                ),
            )
        )
    elif f.rule == "image-pull.failed":
        good = as_str(h.get("good_image"))
        if good:
            patch = _container_patch(wl, cname, {"image": good})
            out.append(
                Remedy(
                    id="image-pull.use-running-image",
                    title=f"roll {cname} back to the image the healthy pods run ({good})",
                    safety="unsafe",
                    target=wl if patch else None,
                    patch=patch,
                    commands=[f"kubectl -n {wl.namespace} set image {res}/{wl.name} {cname}={good}"],
                    notes="This undoes the image change of the rollout." + _gitops_note(tool),
                )
            )
        out.append(
            Remedy(
                id="image-pull.check-image",
                title=f"check that {h.get('image')} exists and the pull credentials can read it",
                safety="manual",
                commands=[f"kubectl -n {wl.namespace} describe pod {f.pods[0] if f.pods else ''}".strip()],
                notes="A NotFound error means the tag or digest does not exist in the registry; an "
                "Unauthorized/Forbidden error means imagePullSecrets or the node's registry identity lack access.",
            )
        )
    elif f.rule == "config.missing-reference":
        out.append(
            Remedy(
                id="config.create-reference",
                title=f"create the missing object or fix the reference in {cname}",
                safety="manual",
                commands=[f"kubectl -n {wl.namespace} get configmaps,secrets"],
                notes=f"The kubelet reported: {h.get('message')}. Create it in namespace {wl.namespace}, or mark "
                "the reference optional: true if the app can run without it.",
            )
        )
    elif f.rule == "probe.liveness":
        run = h.get("run_seconds")
        out.append(
            Remedy(
                id="probe.add-startup-probe",
                title=f"give {cname} time to start: add a startupProbe or relax the {h.get('probe')} probe",
                safety="manual",
                target=wl,
                commands=[
                    f"kubectl -n {wl.namespace} get {res} {wl.name} -o jsonpath="
                    f"'{{.spec.template.spec.containers[?(@.name==\"{cname}\")].livenessProbe}}'"
                ],
                notes="Add a startupProbe with the same check and failureThreshold × periodSeconds longer than the "
                "slowest observed start" + (f" (runs ended after about {run} s)" if run else "") + "; also check "
                "that the probe's port and path are the ones the app serves.",
            )
        )
    else:
        guidance = {
            "scheduling.unschedulable": "Free or add capacity in a pool the pods may use, or relax their node "
            "selector, affinity, tolerations or resource requests; the scheduler message above says which.",
            "volume.mount-failed": "Check the volume's PersistentVolumeClaim, storage class and CSI driver on the "
            "node.",
            "config.app-reported": "Set the configuration the application asks for (environment, mounted files).",
            "application.exception": "Fix the application error shown in the log; it is not caused by the platform.",
            "application.start-error": "Fix the image entrypoint or the container's command and args.",
            "unknown.crash-loop": "Read the previous log and events; collect a bundle with previous logs.",
        }.get(f.rule, "")
        if guidance:
            cmd = f"kubectl -n {wl.namespace} logs {f.pods[0]} -c {cname} --previous" if f.pods and cname else ""
            out.append(
                Remedy(
                    id=f"{f.rule}.manual",
                    title="what to do",
                    safety="manual",
                    commands=[cmd] if cmd else [],
                    notes=guidance,
                )
            )
    return out


def attach(index: Index, candidates: list[Candidate]) -> None:
    """Fill every candidate's finding with its remedies."""
    for cand in candidates:
        if cand.finding.category == "injection" and cand.blamed:
            cand.finding.remedies = injection_remedies(index, cand)
        else:
            cand.finding.remedies = other_remedies(index, cand)
