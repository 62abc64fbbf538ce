"""Remedies for injection findings, computed against the snapshot and checked with the injector's own logic.

For the injector blamed: pod-template exclusions (per container where the injector supports it, else the
whole pod; only those its version honours), namespace / custom-resource exclusions (a DynaKube's
namespaceSelector at the right place for its apiVersion and mode, the ignored-namespaces flag with its
defaults, namespace labels, Datadog namespace lists, the AppDynamics namespace regex), version pins to the
last version seen working, an operator rollback to the image of its previous revision, and a node-pool
isolation plan. Every exclusion is checked: a pod created after the change must not be injected.
"""

from __future__ import annotations

import re
from typing import Any

from podmortem.index import Index, PodEntry
from podmortem.index.webhooks import webhooks_for_pod
from podmortem.knowledge import Injector
from podmortem.model.findings import Finding, Patch
from podmortem.model.objects import (
    ObjectRef,
    RawObject,
    annotations_of,
    as_dict,
    as_list,
    as_str,
    created,
    labels,
    name,
    namespace,
)
from podmortem.remedies.changes import NotApplicable, NothingToDo, OpContext, compute
from podmortem.remedies.common import (
    RESOURCE,
    TEMPLATE_PATH,
    PlannedChange,
    PlannedRemedy,
    build,
    dotted,
    fill,
    get_path,
    gitops_note,
    index_cache,
    managed_by,
    nest,
    patch_command,
    restart_command,
    rollout_commands,
    template_containers,
    template_of,
    version_tuple,
)
from podmortem.remedies.nodepool import node_pool_remedy, tolerates
from podmortem.remedies.patching import apply_patch
from podmortem.remedies.selection import (
    View,
    api_version_of,
    cr_mode,
    custom_resources,
    decide,
    injector_webhooks,
    one_cr,
    operator_namespace,
)
from podmortem.rules.registry import Candidate

TEMPLATE_NOTE = (
    "The key goes on the pod template (spec.template.metadata); on the {kind}'s own metadata it does nothing, "
    "because the webhook reads it from each pod when the pod is created."
)
WORKLOAD_MUTATOR_NOTE = (
    "{vendor} edits the {kind} itself (init container, volumes, agent env in its pod template), not the pods: "
    "patching pods won't stick, and removing the instrumentation from the {kind} is written back while the "
    "{vendor} rules still select it. Take the workload out of scope first, then clean its template."
)


class Planner:
    """Plans every remedy for one injection finding."""

    def __init__(self, index: Index, cand: Candidate, inj: Injector) -> None:
        """Gather the workload, its template, the injector's CRs that select it, and its version."""
        self.index = index
        self.cand = cand
        self.finding: Finding = cand.finding
        self.inj = inj
        self.view = View(index)
        self.wl = self.finding.workload
        wl = index.workloads.get(self.wl)
        self.wl_obj: RawObject | None = wl.obj if wl is not None and wl.obj is not None else None
        if self.wl_obj is None:
            self.wl_obj = index.snap.get(self.wl.kind, self.wl.namespace, self.wl.name)
        self.pods: list[PodEntry] = list(wl.pods) if wl is not None else []
        self.template = template_of(self.wl_obj)
        self.tool = managed_by(self.wl_obj)
        self.crd = as_dict(inj.section("selection").get("custom_resource"))
        names = [as_str(c.get("name")) for c in template_containers(self.template)]
        failing = self.finding.containers or [as_str(cand.hints.get("container"))]
        self.app_containers = [c for c in failing if c and (c in names or not names)]
        self.crs = self._selecting_crs()
        self.version = self._operator_version()
        cr = self.crs[0] if self.crs else None
        self.values: dict[str, str] = {
            "namespace": self.wl.namespace,
            "workload": self.wl.name,
            "kind": RESOURCE.get(self.wl.kind, self.wl.kind.lower()),
            "container": self.app_containers[0] if self.app_containers else "",
            "name": name(cr) if cr else f"<{inj.id} custom resource>",
            "cr_name": name(cr) if cr else f"<{inj.id} custom resource>",
            "cr_namespace": namespace(cr) if cr else operator_namespace(self.view, inj) or f"<{inj.id} namespace>",
        }
        self.known: tuple[str, str] | None = None
        self.known_done = False

    # --- facts -----------------------------------------------------------------------------------------------

    def _selecting_crs(self) -> list[RawObject]:
        crs = custom_resources(self.view, self.crd)
        if not crs or self.template is None:
            return crs
        ns_labels, _, _ = self.view.namespace(self.wl.namespace)
        inst = as_str(self.crd.get("instance_label"))
        if inst and ns_labels.get(inst):
            mapped = [cr for cr in crs if name(cr) == ns_labels[inst]]
            if mapped:
                return mapped
        meta = as_dict(self.template.get("metadata"))
        t_labels = {k: v for k, v in as_dict(meta.get("labels")).items() if isinstance(v, str)}
        names = [as_str(c.get("name")) for c in template_containers(self.template)]
        selecting = [
            cr
            for cr in crs
            if one_cr(self.inj, self.crd, cr, t_labels, {}, self.wl.namespace, ns_labels, names, None).injects
        ]
        return selecting or crs

    def _operator_version(self) -> tuple[int, ...]:
        pats = [
            re.compile(as_str(as_dict(e).get("image_pattern")))
            for e in as_list(as_dict(self.inj.raw.get("versions")).get("operator"))
        ]
        if not pats:
            return ()
        images: list[str] = []
        for p in self.pods:
            images += [as_str(c.get("image")) for c in template_containers(template_of(p.pod), init=True)]
        for img in images:
            found = _match_version(pats, img)
            if found:
                return found
        cache = index_cache(self.index)
        key = ("operator-version", self.inj.id)
        if key not in cache:
            cache[key] = ()
            for kind in ("Deployment", "DaemonSet"):
                for obj in self.view.of_kind(kind):
                    for c in template_containers(template_of(obj)):
                        found = _match_version(pats, as_str(c.get("image")))
                        if found and not cache[key]:
                            cache[key] = found
        out: tuple[int, ...] = cache[key]
        return out

    def version_text(self) -> str:
        """The injector's operator version found in the snapshot ("" when unknown)."""
        return ".".join(str(n) for n in self.version)

    def supported(self, since: str) -> bool:
        """Whether the operator version found honours a feature added in ``since`` (unknown: yes)."""
        return not since or not self.version or self.version >= version_tuple(since)

    def injected_values(self, pod: RawObject) -> list[tuple[str, str]]:
        """``(lang, version)`` pairs a pod shows for this injector (from its init containers)."""
        out: list[tuple[str, str]] = []
        inits = as_list(as_dict(pod.get("spec")).get("initContainers"))
        if not inits:
            return out
        sources = [as_dict(s) for s in as_list(as_dict(self.inj.raw.get("versions")).get("injected"))]
        for c in (as_dict(x) for x in inits):
            cname = as_str(c.get("name"))
            for src in sources:
                lang = ""
                if src.get("container") and cname != src.get("container"):
                    continue
                if src.get("container_pattern"):
                    m = re.search(as_str(src.get("container_pattern")), cname)
                    if not m:
                        continue
                    lang = m.groupdict().get("lang") or ""
                where = as_str(src.get("where"))
                image = as_str(c.get("image"))
                if where == "init-container-env":
                    for e in as_list(c.get("env")):
                        ed = as_dict(e)
                        if ed.get("name") == src.get("name") and isinstance(ed.get("value"), str):
                            out.append((lang, ed["value"]))
                elif where == "init-container-arg":
                    for a in as_list(c.get("args")):
                        m = re.search(as_str(src.get("pattern")), as_str(a))
                        if m and m.groupdict().get("value"):
                            out.append((lang, m.group("value")))
                elif where == "init-container-image" and image:
                    out.append((lang, image))
                elif where == "init-container-image-tag" and image:
                    tag = image.split("@", 1)[0].rsplit("/", 1)[-1]
                    if ":" in tag:
                        out.append((lang, tag.split(":", 1)[1]))
        return out

    def _healthy_versions(self) -> list[tuple[str, str, str, str]]:
        """``(created, lang, version, pod)`` of every healthy pod this injector injected (once per snapshot)."""
        cache = index_cache(self.index)
        key = ("healthy-versions", self.inj.id)
        if key not in cache:
            out: list[tuple[str, str, str, str]] = []
            for p in self.index.pods:
                if not p.looks_healthy:
                    continue
                # the version sources name the injector's own init containers, so a value is proof enough
                out += [(created(p.pod), lang, v, p.name) for lang, v in self.injected_values(p.pod)]
            cache[key] = out
        result: list[tuple[str, str, str, str]] = cache[key]
        return result

    def known_good(self) -> tuple[str, str] | None:
        """The agent version seen in healthy pods of this injector that the failing pods do not run.

        ``(version, lang)``; None when the snapshot shows no such pod.
        """
        if self.known_done:
            return self.known
        self.known_done = True
        failing = set(self.finding.pods)
        bad: set[str] = set()
        langs: set[str] = set()
        for p in self.pods:
            if p.name in failing:
                for lang, v in self.injected_values(p.pod):
                    bad.add(v)
                    langs.add(lang)
        active = as_str(as_dict(self.inj.raw.get("versions")).get("active"))
        for cr in self.crs:
            served = get_path(cr, dotted(active)) if active else None
            if isinstance(served, str) and served:
                bad.add(served)
        found = [
            (when, v, lang)
            for when, lang, v, pod in self._healthy_versions()
            if pod not in failing and v not in bad and (not langs or lang in langs)
        ]
        if found:
            found.sort(reverse=True)
            self.known = (found[0][1], found[0][2])
        return self.known

    # --- the plan --------------------------------------------------------------------------------------------

    def all(self) -> list[PlannedRemedy]:
        """Every remedy, best first."""
        out: list[PlannedRemedy] = []
        down = self.finding.rule == "injection.webhook-unavailable"
        if down:
            out.append(self.restore_webhook())
        excl = self.inj.section("exclusion")
        pods = [r for r in (self.pod_exclusion(as_dict(e)) for e in self._ordered_pod_entries()) if r is not None]
        out.extend(pods)
        namespaced = [self.entry(as_dict(e), exclusion=True) for e in as_list(excl.get("namespace"))]
        out.extend(r for r in namespaced if r is not None and not (down and not r.changes))
        if not down:
            pins = [self.entry(as_dict(e), exclusion=False) for e in as_list(self.inj.raw.get("pin"))]
            out.extend(r for r in pins if r is not None)
        if excl.get("node_pool_plan") and not down:
            base = next((r for r in pods if r.changes), None) or next(
                (r for r in namespaced if r is not None and r.changes), None
            )
            out.append(node_pool_remedy(self, base))
        if self.finding.rule == "injection.volume-mount":
            csi = self.csi_tolerations()
            if csi is not None:
                out.append(csi)
        if not pods and excl.get("notes"):
            out.insert(
                0,
                build(
                    f"{self.inj.id}.exclusion-notes",
                    f"{self.inj.vendor} has no pod-level opt-out: narrow its selection instead",
                    "manual",
                    notes=[as_str(excl.get("notes"))],
                    injector=self.inj.id,
                ),
            )
        if self.inj.mutates == "workload":
            note = WORKLOAD_MUTATOR_NOTE.format(vendor=self.inj.vendor, kind=self.wl.kind)
            for r in out:
                r.plan_notes.insert(0, note)
        return out

    def _ordered_pod_entries(self) -> list[Any]:
        entries = [as_dict(e) for e in as_list(self.inj.section("exclusion").get("pod"))]
        return [e for e in entries if e.get("scope") == "container"] + [
            e for e in entries if e.get("scope") != "container"
        ]

    def _relevant(self, key: str) -> bool:
        """False for one member of a family of per-language keys (inject-java, ...) that nothing here sets."""
        sel = self.inj.section("selection")
        if as_str(sel.get("mode")) != "opt-in":
            return True
        meta = as_dict(as_dict(self.template).get("metadata"))
        _, ns_ann, _ = self.view.namespace(self.wl.namespace)
        present = {**annotations_of({"metadata": meta}), **ns_ann}
        for entry in [as_dict(e) for e in as_list(sel.get("pod_opt_in_annotations"))]:
            pat = as_str(entry.get("key_pattern"))
            if pat and re.search(pat, key):
                family = [k for k in present if re.search(pat, k)]
                return not family or key in family
        return True

    def pod_exclusion(self, entry: dict[str, Any]) -> PlannedRemedy | None:
        """An opt-out on the workload's pod template, verified with the selection check."""
        scope = as_str(entry.get("scope"))
        key = as_str(entry.get("key"))
        value = as_str(entry.get("value"))
        if not self.supported(as_str(entry.get("since"))):
            return None
        if scope != "container" and not self._relevant(key):
            return None
        items: dict[str, str | None] = {}
        if scope == "container":
            if not self.app_containers:
                return None
            for c in self.app_containers:
                items[key.replace("{container}", c)] = value
        else:
            items[key] = value if value else None
        for extra in [as_dict(a) for a in as_list(entry.get("also"))]:
            items[as_str(extra.get("key"))] = as_str(extra.get("value"))
        meta_key = "labels" if entry.get("on") == "label" else "annotations"
        rid = f"{self.inj.id}.{as_str(entry.get('id'))}"
        where = f"{self.wl.kind} {self.wl.name} pod template"
        scope_text = f", container {', '.join(self.app_containers)}" if scope == "container" else ""
        title = f"{as_str(entry.get('title'))} ({where}{scope_text})"
        effect = as_str(entry.get("effect")) or as_str(entry.get("notes"))
        side = as_str(entry.get("side_effects"))
        extra_notes = [as_str(entry.get("notes"))] if entry.get("effect") and entry.get("notes") else []
        path = TEMPLATE_PATH.get(self.wl.kind)
        shown = ", ".join(f"{k}={v}" if v is not None else f"remove {k}" for k, v in items.items())
        if path is None:
            return build(
                rid,
                title,
                "manual",
                commands=[f"kubectl -n {self.wl.namespace} get {self.wl.kind.lower()} {self.wl.name} -o yaml"],
                effect=effect,
                side_effects=side,
                notes=[
                    f"A {self.wl.kind}'s pod template cannot be changed in place: recreate it with {meta_key} "
                    f"{shown} on its pod template.",
                    *extra_notes,
                ],
                injector=self.inj.id,
            )
        body = nest((*path, "metadata", meta_key), items)
        change = PlannedChange(self.wl, Patch("strategic", body), f"pod template {meta_key}: {shown}")
        safety = as_str(entry.get("safety")) or "safe"
        notes = list(extra_notes)
        plan_notes = [TEMPLATE_NOTE.format(kind=self.wl.kind)]
        misplaced = self._misplaced(items, meta_key)
        if misplaced:
            plan_notes.append(misplaced)
        if self.finding.rule == "injection.webhook-unavailable" and self._failing_hook_called([change]):
            return None
        check = self.check([change], containers=self.app_containers if scope == "container" else None)
        if check:
            notes.append(check)
        if check.startswith("Check failed"):
            safety = "manual"
        if self.tool:
            plan_notes.append(gitops_note(self.tool, self.wl))
        return build(
            rid,
            title,
            safety,
            changes=[change],
            commands=[patch_command(self.wl, change.patch), *rollout_commands(self.wl)],
            effect=effect,
            side_effects=side,
            notes=notes,
            injector=self.inj.id,
            plan_notes=plan_notes,
            exclusion=True,
        )

    def _misplaced(self, items: dict[str, str | None], meta_key: str) -> str:
        if self.wl_obj is None:
            return ""
        own = annotations_of(self.wl_obj) if meta_key == "annotations" else labels(self.wl_obj)
        found = [k for k, v in items.items() if v is not None and own.get(k) == v]
        if not found:
            return ""
        return (
            f"{self.wl} already carries {', '.join(found)} on its own metadata, where it does nothing; this plan "
            "puts it on the pod template."
        )

    def overrides(self, changes: list[PlannedChange]) -> dict[ObjectRef, RawObject]:
        """The objects as they would be after the changes (for the selection check)."""
        out: dict[ObjectRef, RawObject] = {}
        for ch in changes:
            base = out.get(ch.target) or self.view.get(ch.target)
            if base is None and ch.target.kind == "Namespace":
                base = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ch.target.name}}
            if base is None:
                continue
            try:
                out[ch.target] = apply_patch(base, ch.patch)
            except ValueError:
                continue
        return out

    def check(self, changes: list[PlannedChange], *, containers: list[str] | None = None) -> str:
        """One sentence: would a pod created after the changes still be injected? ("" when unknown)."""
        if self.template is None:
            return ""
        over = self.overrides(changes)
        view = View(self.index, over)
        after_obj = over.get(self.wl)
        tpl = template_of(after_obj) if after_obj is not None else self.template
        if tpl is None:
            return ""
        before = decide(self.view, self.inj, self.template, self.wl.namespace)
        targets: list[str | None] = list(containers) if containers else [None]
        verdicts = [decide(view, self.inj, tpl, self.wl.namespace, container=c) for c in targets]
        for v in verdicts:
            if v.injects:
                return f"Check failed: {self.inj.vendor} would still inject new pods ({v.reason})."
        if not before.injects:
            return f"Check: {self.inj.vendor}'s selection already skips new pods ({before.reason})."
        return f"Check: after the change {self.inj.vendor} would not inject new pods ({verdicts[-1].reason})."

    def _failing_hook_called(self, changes: list[PlannedChange]) -> bool:
        hook_name = as_str(self.cand.hints.get("webhook"))
        over = self.overrides(changes)
        after = over.get(self.wl)
        tpl = template_of(after) if after is not None else self.template
        if tpl is None:
            return True
        meta = as_dict(tpl.get("metadata"))
        pod = {"metadata": {**meta, "namespace": self.wl.namespace}, "spec": as_dict(tpl.get("spec"))}
        view = View(self.index, over)
        ns_labels, _, known = view.namespace(self.wl.namespace)
        matches = webhooks_for_pod(pod, ns_labels, known, view.of_kind("MutatingWebhookConfiguration"))
        return any(m.webhook == hook_name for m in matches)

    def restore_webhook(self) -> PlannedRemedy:
        """What to check when the webhook's backend is down (the first fix for failurePolicy Fail)."""
        hook = as_str(self.cand.hints.get("webhook"))
        cmds: list[str] = []
        for cfg, h in injector_webhooks(self.view, self.inj.id):
            if as_str(h.get("name")) != hook:
                continue
            svc = as_dict(as_dict(h.get("clientConfig")).get("service"))
            cmds.append(f"kubectl get mutatingwebhookconfiguration {name(cfg)} -o yaml")
            if svc:
                ns, sname = as_str(svc.get("namespace")), as_str(svc.get("name"))
                cmds += [f"kubectl -n {ns} get endpoints {sname}", f"kubectl -n {ns} get pods -o wide"]
        return build(
            f"{self.inj.id}.restore-webhook",
            f"bring {self.inj.vendor}'s webhook {hook} back (its failurePolicy is Fail)",
            "manual",
            commands=cmds or [f"kubectl get mutatingwebhookconfigurations | grep -i {self.inj.id}"],
            effect="Once the webhook answers again, the controller creates the missing pods on its own.",
            side_effects="None on the workload; every pod the webhook selects is blocked until then.",
            notes=[
                "Pod-template annotations cannot help while the call fails: the API server calls the webhook "
                "before it reads anything from the pod. Only a label that takes the pod out of the webhook's "
                "objectSelector (or a namespace label out of its namespaceSelector) avoids the call."
            ],
            injector=self.inj.id,
        )

    # --- namespace / CR / pin entries ----------------------------------------------------------------------------

    def entry(self, entry: dict[str, Any], *, exclusion: bool) -> PlannedRemedy | None:
        """A remedy record with ``changes`` computed against the snapshot (manual steps when it cannot be)."""
        rid = f"{self.inj.id}.{as_str(entry.get('id'))}"
        ops = [as_dict(o) for o in as_list(entry.get("changes"))] or self._legacy_ops(entry)
        crs = list(self.crs)
        versions = [as_str(v) for v in as_list(entry.get("api_versions"))]
        modes = [as_str(m) for m in as_list(entry.get("modes"))]
        if versions and crs:
            crs = [cr for cr in crs if api_version_of(cr) in versions]
            if not crs:
                return None
        if modes and crs:
            crs = [cr for cr in crs if cr_mode(cr, self.crd) in modes]
            if not crs:
                return None
        if not self.supported(as_str(entry.get("since"))):
            return None
        values = dict(self.values)
        reasons: list[str] = []
        if any("{known_good}" in as_str(o.get("value")) for o in ops):
            kg = self.known_good()
            if kg is not None:
                values["known_good"], values["lang"] = kg
        ctx = OpContext(self.view, self.inj, self.wl, self.wl_obj, crs, values)
        changes: list[PlannedChange] = []
        done: list[str] = []
        for op in ops:
            try:
                changes.extend(compute(ctx, op))
            except NothingToDo as exc:
                done.append(str(exc))
            except NotApplicable as exc:
                reasons.append(str(exc))
        if ops and not changes and not reasons:
            reasons = [f"nothing to change ({'; '.join(done)})"]
        if crs:
            cr = crs[0]
            values.update({"name": name(cr), "cr_name": name(cr), "cr_namespace": namespace(cr)})
        title = fill(as_str(entry.get("title")), values)
        effect = as_str(entry.get("effect")) or as_str(entry.get("notes"))
        side = as_str(entry.get("side_effects"))
        extra = [fill(as_str(entry.get("notes")), values)] if entry.get("effect") and entry.get("notes") else []
        if not ops or reasons or not changes:
            if ctx.helm_values:
                cmds = [*self._helm_commands(ctx), restart_command(self.wl)]
            else:
                cmds = [fill(c, values) for c in as_list(entry.get("commands")) if isinstance(c, str)]
            why = [f"Not computed from the snapshot: {'; '.join(reasons)}."] if reasons else []
            return build(
                rid,
                title,
                "manual",
                commands=cmds,
                effect=effect,
                side_effects=side,
                notes=[*why, *extra],
                injector=self.inj.id,
            )
        cmds = [patch_command(ch.target, ch.patch, self._api(ch.target)) for ch in changes]
        touches_workload = any(ch.target == self.wl for ch in changes)
        if touches_workload:
            cmds += rollout_commands(self.wl)
        elif exclusion or any(ch.target.kind not in ("Namespace",) for ch in changes):
            cmds.append(restart_command(self.wl))
        notes = list(extra)
        safety = as_str(entry.get("safety")) or "manual"
        if exclusion:
            check = self.check(changes)
            if check:
                notes.append(check)
            if check.startswith("Check failed"):
                safety = "manual"
        plan_notes = []
        if "known_good" in values:
            known = (
                f"{values['known_good']} is the newest version seen in a healthy {self.inj.vendor}-injected pod "
                "of this snapshot that the failing pods do not run."
            )
            notes.append(known)
            plan_notes.append(known)
        for ch in changes:
            tool = managed_by(self.view.get(ch.target))
            if tool:
                plan_notes.append(gitops_note(tool, ch.target))
        if exclusion and not touches_workload and self.inj.mutates == "pod":
            plan_notes.append(
                "Pods that exist keep their injection: webhooks act only when a pod is created, so restart the "
                "workload after the change."
            )
        if self.inj.id == "dynatrace" and exclusion and any(ch.target.kind == "DynaKube" for ch in changes):
            plan_notes += self._dynakube_notes(crs)
        return build(
            rid,
            title,
            safety,
            changes=changes,
            commands=cmds,
            effect=effect,
            side_effects=side,
            notes=notes,
            injector=self.inj.id,
            plan_notes=plan_notes,
            exclusion=exclusion,
        )

    def _api(self, ref: ObjectRef) -> str:
        obj = self.view.get(ref)
        return as_str(obj.get("apiVersion")) if obj is not None else ""

    def _legacy_ops(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for key, op in (("namespace_label", "set-label"), ("namespace_annotation", "set-annotation")):
            kv = as_dict(entry.get(key))
            if kv:
                out.append({"op": op, "target": "namespace", **kv})
        return out

    def _helm_release(self) -> tuple[str, str]:
        """The Helm release (name, namespace) of the injector's operator, from its Deployment's annotations."""
        cache = index_cache(self.index)
        key = ("helm-release", self.inj.id)
        if key not in cache:
            cache[key] = ("", "")
            for obj in self.view.of_kind("Deployment"):
                ann = annotations_of(obj)
                if not ann.get("meta.helm.sh/release-name"):
                    continue
                imgs = [as_str(c.get("image")) for c in template_containers(template_of(obj))]
                if any(self._is_operator_image(i) for i in imgs):
                    cache[key] = (
                        ann["meta.helm.sh/release-name"],
                        ann.get("meta.helm.sh/release-namespace") or namespace(obj),
                    )
                    break
        found: tuple[str, str] = cache[key]
        return found

    def _helm_commands(self, ctx: OpContext) -> list[str]:
        release, ns = self._helm_release()
        release = release or "<release>"
        ns = ns or self.values["cr_namespace"]
        out = [f"helm -n {ns} get values {release} -o yaml"]
        for frag in ctx.helm_values:
            path, _, items = frag.partition("=")
            out.append(f"helm -n {ns} upgrade {release} <chart> --reuse-values --set-json '{path}={items}'")
        return out

    def _is_operator_image(self, image: str) -> bool:
        for e in as_list(as_dict(self.inj.raw.get("versions")).get("operator")):
            if re.search(as_str(as_dict(e).get("image_pattern")), image):
                return True
        return False

    def _dynakube_notes(self, crs: list[RawObject]) -> list[str]:
        out = []
        for cr in crs:
            enrich = as_dict(get_path(cr, ("spec", "metadataEnrichment")))
            if enrich.get("enabled") is True:
                out.append(
                    f"DynaKube {name(cr)} has metadata enrichment on: its own namespaceSelector "
                    "(spec.metadataEnrichment.namespaceSelector) may keep the namespace mapped, so the webhook still "
                    "adds its init container and /var/lib/dynatrace files, but no code modules or LD_PRELOAD."
                )
            if self.version and self.version < (1, 4):
                out.append(
                    f"Operator {self.version_text()} predates PR #3809 / #3827 (Sept 2024): after the change check "
                    f"that namespace {self.wl.namespace} has lost the dynakube.internal.dynatrace.com/instance label."
                )
        return out

    # --- CSI driver placement --------------------------------------------------------------------------------------

    def csi_tolerations(self) -> PlannedRemedy | None:
        """Let the injector's CSI driver DaemonSet run on the node where the injected volume cannot mount."""
        node_name = as_str(self.cand.hints.get("node"))
        vol = as_str(self.cand.hints.get("volume"))
        driver = ""
        for p in self.pods:
            for v in as_list(as_dict(p.pod.get("spec")).get("volumes")):
                vd = as_dict(v)
                if vd.get("name") == vol and as_dict(vd.get("csi")).get("driver"):
                    driver = as_str(as_dict(vd.get("csi")).get("driver"))
        node = self.index.nodes.get(node_name)
        if not driver or node is None:
            return None
        taints = [as_dict(t) for t in as_list(as_dict(node.get("spec")).get("taints"))]
        for ds in self.view.of_kind("DaemonSet"):
            tpl = template_of(ds)
            paths = [
                as_str(as_dict(v.get("hostPath")).get("path"))
                for v in [as_dict(x) for x in as_list(as_dict(as_dict(tpl).get("spec")).get("volumes"))]
            ]
            if not any(f"/plugins/{driver}" in p for p in paths):
                continue
            spec = as_dict(as_dict(tpl).get("spec"))
            tols = [as_dict(t) for t in as_list(spec.get("tolerations"))]
            missing = [
                t
                for t in taints
                if as_str(t.get("effect")) in ("NoSchedule", "NoExecute") and not tolerates(tols, t, daemonset=True)
            ]
            ref = ObjectRef.of(ds)
            if not missing:
                return build(
                    f"{self.inj.id}.csi-driver-placement",
                    f"check why {ref.name} does not run on {node_name}",
                    "manual",
                    commands=[f"kubectl -n {ref.namespace} get daemonset {ref.name} -o yaml"],
                    effect=f"The {driver} driver tolerates every taint of {node_name}; its nodeSelector or affinity "
                    "must be what keeps it off that node.",
                    injector=self.inj.id,
                )
            new = tols + [_toleration_for(t) for t in missing]
            body = nest((*TEMPLATE_PATH["DaemonSet"], "spec"), {"tolerations": new})
            change = PlannedChange(ref, Patch("strategic", body), f"tolerate {_taints_text(missing)}")
            tool = managed_by(ds)
            return build(
                f"{self.inj.id}.csi-driver-tolerations",
                f"let the {driver} driver ({ref.name}) run on {node_name}: tolerate {_taints_text(missing)}",
                "unsafe",
                changes=[change],
                commands=[
                    patch_command(ref, change.patch),
                    f"kubectl -n {ref.namespace} rollout status daemonset/{ref.name}",
                ],
                effect=f"A {driver} driver pod starts on {node_name} (and nodes with the same taints), so the "
                "injected volume can mount there and the pod starts with monitoring.",
                side_effects="The driver runs on nodes its owners kept it off; the workload stays injected. For the "
                "Dynatrace Helm chart the lasting form is csidriver.tolerations in the values.",
                injector=self.inj.id,
                plan_notes=[gitops_note(tool, ref)] if tool else [],
            )
        return None


def _match_version(patterns: list[re.Pattern[str]], image: str) -> tuple[int, ...]:
    for pat in patterns:
        m = pat.search(image)
        if m and m.groupdict().get("version"):
            return version_tuple(m.group("version"))
    return ()


def _toleration_for(taint: dict[str, Any]) -> dict[str, Any]:
    """The narrowest toleration of a taint (its key, value and effect)."""
    tol: dict[str, Any] = {"key": as_str(taint.get("key"))}
    if taint.get("value"):
        tol.update(operator="Equal", value=as_str(taint.get("value")))
    else:
        tol["operator"] = "Exists"
    tol["effect"] = as_str(taint.get("effect"))
    return tol


def _taints_text(taints: list[dict[str, Any]]) -> str:
    parts = []
    for t in taints:
        kv = as_str(t.get("key")) + (f"={t.get('value')}" if t.get("value") else "")
        parts.append(f"{kv}:{t.get('effect')}")
    return ", ".join(parts)


def injection_remedies(index: Index, cand: Candidate) -> list[PlannedRemedy]:
    """Every remedy for an injection finding whose injector is known."""
    inj = index.knowledge.injectors.get(cand.blamed)
    if inj is None:
        return []
    return Planner(index, cand, inj).all()
