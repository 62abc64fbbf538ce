"""The index over a snapshot: workloads and their pods, owners, template diffs, injections, webhooks, events."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from podmortem.index.audit import AuditIndex, AuditMutation
from podmortem.index.events import Ev, normalise
from podmortem.index.health import PodHealth, looks_healthy, pod_health
from podmortem.index.nodes import node_pool
from podmortem.index.owners import Ownership, resolve
from podmortem.index.template import Mutation, diff_pod
from podmortem.index.webhooks import WebhookMatch, webhooks_for_pod
from podmortem.knowledge import Injector, Knowledge, MarkerHit, PodFeatures
from podmortem.knowledge import load as load_knowledge
from podmortem.model.objects import (
    CONTROLLER_KINDS,
    ObjectRef,
    RawObject,
    as_dict,
    as_list,
    as_str,
    containers,
    labels,
    name,
    namespace,
    spec,
)
from podmortem.model.snapshot import Snapshot

WORKLOAD_KINDS = CONTROLLER_KINDS


@dataclass
class Injection:
    """One injector's presence in one pod."""

    injector: Injector
    hits: list[MarkerHit]  # the markers that count (those the webhook added, when a template is known)
    verified: bool  # True when the hits were confirmed as additions against the owner's template
    in_template: bool = False  # the injector edits the workload itself (AppDynamics): hits are in the template

    @property
    def id(self) -> str:
        """The injector id."""
        return self.injector.id

    def mechanisms_in(self, container: str) -> set[str]:
        """Runtime hooks this injector put into one container (env and mounts in that container)."""
        out: set[str] = set()
        for h in self.hits:
            if h.container == container and h.where in ("env", "mount"):
                out.update(h.mechanisms)
        return out


@dataclass
class PodEntry:
    """A pod with its owner, and (lazily) its health, mutations, injections and matching webhooks."""

    pod: RawObject
    owner: Ownership
    index: Index = field(repr=False)

    @cached_property
    def looks_healthy(self) -> bool:
        """True when a cheap look shows the pod is not failing (see :func:`looks_healthy`)."""
        return looks_healthy(self.pod)

    @cached_property
    def health(self) -> PodHealth:
        """Phase, scheduling state and container states."""
        return pod_health(self.pod)

    @property
    def name(self) -> str:
        """The pod's name."""
        return name(self.pod)

    @property
    def namespace(self) -> str:
        """The pod's namespace."""
        return namespace(self.pod)

    @cached_property
    def mutations(self) -> list[Mutation] | None:
        """What admission added to this pod compared with its owner's template (None: no template known)."""
        if self.owner.template is None:
            return None
        return diff_pod(self.pod, self.owner.template)

    @cached_property
    def injections(self) -> dict[str, Injection]:
        """Injectors whose mutation is present in this pod, by id."""
        muts = self.mutations
        added = {(m.what, m.container, m.name) for m in muts} if muts is not None else None
        out: dict[str, Injection] = {}
        feats = PodFeatures.of(self.pod)
        for inj in self.index.knowledge.injectors.values():
            hits = inj.detect(self.pod, feats)
            if not hits:
                continue
            in_template = False
            if added is None:
                counted, verified = hits, False
            elif inj.mutates == "workload":
                counted, verified, in_template = hits, False, True
            else:
                counted = [h for h in hits if (h.where, h.container, h.name) in added]
                verified = True
            if any(h.strength == "strong" for h in counted):
                out[inj.id] = Injection(inj, counted, verified, in_template)
        return out

    @cached_property
    def audit(self) -> list[AuditMutation]:
        """Webhook calls the API server's audit log recorded when this pod was created."""
        return self.index.audit.for_pod(self.pod)

    @cached_property
    def webhooks(self) -> list[WebhookMatch]:
        """Mutating webhooks whose selectors and rules select this pod."""
        ns_labels, known = self.index.namespace_labels(self.namespace)
        return webhooks_for_pod(self.pod, ns_labels, known, self.index.webhook_configs)

    def container_spec(self, cname: str) -> RawObject:
        """A container (or init container) of the pod spec by name."""
        for init in (False, True):
            for c in containers(spec(self.pod), init=init):
                if c.get("name") == cname:
                    return c
        return {}

    @property
    def node(self) -> str:
        """The node the pod runs on ("" when unscheduled)."""
        return as_str(spec(self.pod).get("nodeName"))

    @property
    def images(self) -> set[str]:
        """Images of the pod's app containers."""
        return {as_str(c.get("image")) for c in containers(spec(self.pod))}


@dataclass
class Workload:
    """A top-level workload and its pods."""

    ref: ObjectRef
    obj: RawObject | None
    pods: list[PodEntry] = field(default_factory=list)
    controllers: set[ObjectRef] = field(default_factory=set)  # immediate controllers (ReplicaSets, Jobs)


class Index:
    """Everything rules need, computed once per snapshot."""

    def __init__(self, snap: Snapshot, knowledge: Knowledge | None = None) -> None:
        """Build the index (owners and health eagerly; diffs and injections lazily)."""
        self.snap = snap
        self.knowledge = knowledge or load_knowledge()
        self.namespaces = {name(o): o for o in snap.of_kind("Namespace")}
        self.nodes = {name(o): o for o in snap.of_kind("Node")}
        self.webhook_configs = snap.of_kind("MutatingWebhookConfiguration")
        # Events are grouped by the object they are about; each is put in one shape only when a rule asks.
        self._raw_events: dict[tuple[str, str, str], list[RawObject]] = defaultdict(list)
        for obj in snap.of_kind("Event"):
            ref = obj.get("involvedObject") or obj.get("regarding")
            if isinstance(ref, dict):
                ns = ref.get("namespace") or namespace(obj)
                self._raw_events[(as_str(ref.get("kind")), as_str(ns), as_str(ref.get("name")))].append(obj)
        self._events: dict[tuple[str, str, str], list[Ev]] = {}
        self.workloads: dict[ObjectRef, Workload] = {}
        self.pods: list[PodEntry] = []
        memo: dict[tuple[str, str, str, str], Ownership] = {}
        for pod in snap.of_kind("Pod"):
            entry = PodEntry(pod, resolve(snap, pod, memo), self)
            self.pods.append(entry)
            wl = self.workloads.get(entry.owner.workload)
            if wl is None:
                wl = self.workloads[entry.owner.workload] = Workload(entry.owner.workload, entry.owner.workload_obj)
            wl.pods.append(entry)
            if entry.owner.controller is not None:
                wl.controllers.add(entry.owner.controller)
        self._add_podless_workloads()
        self.audit = AuditIndex(snap.audit_events)

    def _add_podless_workloads(self) -> None:
        """Workloads that have no pods (their controller may be failing to create them)."""
        by_uid: dict[str, RawObject] = {}
        for kind in WORKLOAD_KINDS:
            for obj in self.snap.of_kind(kind):
                u = as_str(as_dict(obj.get("metadata")).get("uid"))
                if u:
                    by_uid[u] = obj
        for kind in WORKLOAD_KINDS:
            for obj in self.snap.of_kind(kind):
                top = obj
                for _ in range(3):
                    refs = [as_dict(r) for r in as_list(as_dict(top.get("metadata")).get("ownerReferences"))]
                    parent = next((by_uid[as_str(r.get("uid"))] for r in refs if as_str(r.get("uid")) in by_uid), None)
                    if parent is None:
                        break
                    top = parent
                ref = ObjectRef.of(top)
                wl = self.workloads.get(ref)
                if wl is None:
                    wl = self.workloads[ref] = Workload(ref, top)
                elif wl.obj is None:
                    wl.obj = top
                if obj is not top:
                    wl.controllers.add(ObjectRef.of(obj))

    def namespace_labels(self, ns: str) -> tuple[dict[str, str], bool]:
        """A namespace's labels (with the automatic name label), and whether the Namespace object was seen."""
        obj = self.namespaces.get(ns)
        lab = labels(obj) if obj is not None else {}
        lab.setdefault("kubernetes.io/metadata.name", ns)
        return lab, obj is not None

    def events_for(self, ref: ObjectRef) -> list[Ev]:
        """Events about one object, oldest first."""
        key = (ref.kind, ref.namespace, ref.name)
        evs = self._events.get(key)
        if evs is None:
            evs = [e for e in (normalise(o) for o in self._raw_events.get(key, ())) if e is not None]
            evs.sort(key=lambda e: (e.first, e.last))
            self._events[key] = evs
        return evs

    def pod_events(self, entry: PodEntry) -> list[Ev]:
        """Events about one pod, oldest first."""
        return self.events_for(ObjectRef("Pod", entry.namespace, entry.name))

    @cached_property
    def _pods_by_image(self) -> dict[str, list[PodEntry]]:
        out: dict[str, list[PodEntry]] = defaultdict(list)
        for p in self.pods:
            for img in p.images:
                out[img].append(p)
        return out

    def pods_with_image(self, image: str) -> list[PodEntry]:
        """Pods running a container with this image (the tag-less repository also matches when no exact hit)."""
        exact = self._pods_by_image.get(image, [])
        if exact:
            return list(exact)
        repo = _repo(image)
        return [p for img, ps in self._pods_by_image.items() if _repo(img) == repo for p in ps]

    def node_pool_of(self, entry: PodEntry) -> tuple[str, str, str]:
        """The node pool a pod runs in."""
        return node_pool(self.nodes.get(entry.node))

    def injector_of_webhook(self, match: WebhookMatch | AuditMutation) -> str:
        """The injector id a webhook belongs to ("" if none).

        Configuration names are the most specific, so every fingerprint is tried on them first, then on the
        webhook's service, then on the webhook's own name (generic ones such as ``mpod.kb.io`` come last).
        """
        service = match.service if isinstance(match, WebhookMatch) else ""
        svc_name = service.split("/", 1)[-1].split("/", 1)[0] if service else ""
        for key, value in (
            ("configurations", match.configuration),
            ("services", svc_name),
            ("webhooks", match.webhook),
        ):
            if not value:
                continue
            for inj in self.knowledge.injectors.values():
                for pat in inj.section("webhooks").get(key, []) or []:
                    if isinstance(pat, str) and re.search(pat, value):
                        return inj.id
        return ""


def _repo(image: str) -> str:
    base = image.split("@", 1)[0]
    slash = base.rfind("/")
    colon = base.rfind(":")
    return base[:colon] if colon > slash else base
