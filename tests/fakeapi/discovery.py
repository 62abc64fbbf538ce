"""API discovery as a kube-apiserver (v1.31) serves it: the built-in resources, plus custom resources.

Custom resources come from ``CustomResourceDefinition`` objects in the snapshot when there are any, else they
are inferred from the objects themselves (group/version from ``apiVersion``, the plural the way client-go
guesses it, namespaced when the objects carry a namespace). A few injector CRDs have known names and
short names (``dynakubes``: ``dk``/``dks``), used when the snapshot holds objects but no CRD.

Documents are shaped like the real ones, quirks included: ``/api`` (APIVersions) and ``/api/v1``
(APIResourceList) carry no ``apiVersion``; ``/apis`` and ``/apis/<g>/<v>`` do.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FULL = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_DELETECOLLECTION = ("create", "delete", "get", "list", "patch", "update", "watch")
STATUS = ("get", "patch", "update")
CREATE = ("create",)
CRD_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")


@dataclass(frozen=True)
class Subresource:
    """A subresource entry in an APIResourceList (``pods/log``, ``deployments/scale``...)."""

    name: str  # "log", "status", "scale"...
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None  # set when the subresource's kind lives in another group (Scale → autoscaling)
    version: str | None = None


@dataclass(frozen=True)
class ResourceInfo:
    """One served resource: what discovery says about it, and how its objects are listed."""

    group: str
    version: str
    resource: str  # plural, e.g. "pods"
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = FULL
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    singular: str = ""
    subresources: tuple[Subresource, ...] = ()
    builtin: bool = True  # typed lists omit kind/apiVersion on items; custom resource lists keep them
    stored: bool = True  # has storage (a storageVersionHash); False for review-style and virtual resources
    storage_version: str = ""  # the version objects are stored in ("" = this version)
    printer_columns: tuple[dict[str, Any], ...] = ()  # a CRD's additionalPrinterColumns

    @property
    def group_version(self) -> str:
        """``v1`` or ``apps/v1``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The group-qualified resource as errors print it: ``pods``, ``deployments.apps``."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def list_kind(self) -> str:
        """``PodList``."""
        return f"{self.kind}List"

    def storage_version_hash(self) -> str:
        """As the API server computes it: base64 of the first 8 bytes of sha256("group/version/kind")."""
        digest = hashlib.sha256(f"{self.group}/{self.storage_version or self.version}/{self.kind}".encode()).digest()
        return base64.b64encode(digest[:8]).decode()

    def subresource(self, name: str) -> Subresource | None:
        """A subresource by name."""
        for s in self.subresources:
            if s.name == name:
                return s
        return None

    def discovery_entries(self) -> list[dict[str, Any]]:
        """The APIResourceList entries for this resource and its subresources (Go field order)."""
        main: dict[str, Any] = {
            "name": self.resource,
            "singularName": self.singular or self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        if self.stored:
            main["storageVersionHash"] = self.storage_version_hash()
        out = [main]
        for sub in self.subresources:
            entry: dict[str, Any] = {
                "name": f"{self.resource}/{sub.name}",
                "singularName": "",
                "namespaced": self.namespaced,
            }
            if sub.group is not None:
                entry["group"] = sub.group
                entry["version"] = sub.version or ""
            entry["kind"] = sub.kind
            entry["verbs"] = list(sub.verbs)
            out.append(entry)
        return out


def _status(kind: str) -> Subresource:
    return Subresource("status", kind, STATUS)


_SCALE = Subresource("scale", "Scale", STATUS, "autoscaling", "v1")


def _r(
    gv: str,
    resource: str,
    kind: str,
    namespaced: bool = True,
    verbs: tuple[str, ...] = FULL,
    short: tuple[str, ...] = (),
    cats: tuple[str, ...] = (),
    subs: tuple[Subresource, ...] = (),
    stored: bool = True,
    singular: str = "",
) -> ResourceInfo:
    group, _, version = gv.rpartition("/")
    return ResourceInfo(group, version, resource, kind, namespaced, verbs, short, cats, singular, subs, True, stored)


_ALL = ("all",)
_EXT = ("api-extensions",)

# The resources of a v1.31 kube-apiserver, in the order and with the names discovery reports.
BUILTIN: tuple[ResourceInfo, ...] = (
    _r("v1", "bindings", "Binding", verbs=CREATE, stored=False),
    _r("v1", "componentstatuses", "ComponentStatus", False, ("get", "list"), ("cs",), stored=False),
    _r("v1", "configmaps", "ConfigMap", short=("cm",)),
    _r("v1", "endpoints", "Endpoints", short=("ep",), singular="endpoints"),
    _r("v1", "events", "Event", short=("ev",)),
    _r("v1", "limitranges", "LimitRange", short=("limits",)),
    _r(
        "v1",
        "namespaces",
        "Namespace",
        False,
        NO_DELETECOLLECTION,
        ("ns",),
        subs=(Subresource("finalize", "Namespace", ("update",)), _status("Namespace")),
    ),
    _r(
        "v1",
        "nodes",
        "Node",
        False,
        short=("no",),
        subs=(
            Subresource("proxy", "NodeProxyOptions", ("create", "delete", "get", "patch", "update")),
            _status("Node"),
        ),
    ),
    _r(
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        short=("pvc",),
        subs=(_status("PersistentVolumeClaim"),),
    ),
    _r("v1", "persistentvolumes", "PersistentVolume", False, short=("pv",), subs=(_status("PersistentVolume"),)),
    _r(
        "v1",
        "pods",
        "Pod",
        short=("po",),
        cats=_ALL,
        subs=(
            Subresource("attach", "PodAttachOptions", ("create", "get")),
            Subresource("binding", "Binding", CREATE),
            Subresource("ephemeralcontainers", "Pod", STATUS),
            Subresource("eviction", "Eviction", CREATE, "policy", "v1"),
            Subresource("exec", "PodExecOptions", ("create", "get")),
            Subresource("log", "Pod", ("get",)),
            Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
            Subresource("proxy", "PodProxyOptions", ("create", "delete", "get", "patch", "update")),
            _status("Pod"),
        ),
    ),
    _r("v1", "podtemplates", "PodTemplate"),
    _r(
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        short=("rc",),
        cats=_ALL,
        subs=(_SCALE, _status("ReplicationController")),
    ),
    _r("v1", "resourcequotas", "ResourceQuota", short=("quota",), subs=(_status("ResourceQuota"),)),
    _r("v1", "secrets", "Secret"),
    _r(
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        short=("sa",),
        subs=(Subresource("token", "TokenRequest", CREATE, "authentication.k8s.io", "v1"),),
    ),
    _r(
        "v1",
        "services",
        "Service",
        short=("svc",),
        cats=_ALL,
        subs=(
            Subresource("proxy", "ServiceProxyOptions", ("create", "delete", "get", "patch", "update")),
            _status("Service"),
        ),
    ),
    _r("apiregistration.k8s.io/v1", "apiservices", "APIService", False, cats=_EXT, subs=(_status("APIService"),)),
    _r("apps/v1", "controllerrevisions", "ControllerRevision"),
    _r("apps/v1", "daemonsets", "DaemonSet", short=("ds",), cats=_ALL, subs=(_status("DaemonSet"),)),
    _r("apps/v1", "deployments", "Deployment", short=("deploy",), cats=_ALL, subs=(_SCALE, _status("Deployment"))),
    _r("apps/v1", "replicasets", "ReplicaSet", short=("rs",), cats=_ALL, subs=(_SCALE, _status("ReplicaSet"))),
    _r("apps/v1", "statefulsets", "StatefulSet", short=("sts",), cats=_ALL, subs=(_SCALE, _status("StatefulSet"))),
    _r("events.k8s.io/v1", "events", "Event", short=("ev",)),
    _r("authentication.k8s.io/v1", "selfsubjectreviews", "SelfSubjectReview", False, CREATE, stored=False),
    _r("authentication.k8s.io/v1", "tokenreviews", "TokenReview", False, CREATE, stored=False),
    _r("authorization.k8s.io/v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", True, CREATE, stored=False),
    _r("authorization.k8s.io/v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, CREATE, stored=False),
    _r("authorization.k8s.io/v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False, CREATE, stored=False),
    _r("authorization.k8s.io/v1", "subjectaccessreviews", "SubjectAccessReview", False, CREATE, stored=False),
    _r(
        "autoscaling/v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        short=("hpa",),
        cats=_ALL,
        subs=(_status("HorizontalPodAutoscaler"),),
    ),
    _r(
        "autoscaling/v1",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        short=("hpa",),
        cats=_ALL,
        subs=(_status("HorizontalPodAutoscaler"),),
    ),
    _r("batch/v1", "cronjobs", "CronJob", short=("cj",), cats=_ALL, subs=(_status("CronJob"),)),
    _r("batch/v1", "jobs", "Job", cats=_ALL, subs=(_status("Job"),)),
    _r(
        "certificates.k8s.io/v1",
        "certificatesigningrequests",
        "CertificateSigningRequest",
        False,
        short=("csr",),
        subs=(Subresource("approval", "CertificateSigningRequest", STATUS), _status("CertificateSigningRequest")),
    ),
    _r("networking.k8s.io/v1", "ingressclasses", "IngressClass", False),
    _r("networking.k8s.io/v1", "ingresses", "Ingress", short=("ing",), subs=(_status("Ingress"),)),
    _r("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", short=("netpol",)),
    _r(
        "policy/v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        short=("pdb",),
        subs=(_status("PodDisruptionBudget"),),
    ),
    _r("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io/v1", "roles", "Role"),
    _r("storage.k8s.io/v1", "csidrivers", "CSIDriver", False),
    _r("storage.k8s.io/v1", "csinodes", "CSINode", False),
    _r("storage.k8s.io/v1", "csistoragecapacities", "CSIStorageCapacity"),
    _r("storage.k8s.io/v1", "storageclasses", "StorageClass", False, short=("sc",)),
    _r("storage.k8s.io/v1", "volumeattachments", "VolumeAttachment", False, subs=(_status("VolumeAttachment"),)),
    _r(
        "admissionregistration.k8s.io/v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        False,
        cats=_EXT,
    ),
    _r(
        "admissionregistration.k8s.io/v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        False,
        cats=_EXT,
        subs=(_status("ValidatingAdmissionPolicy"),),
    ),
    _r(
        "admissionregistration.k8s.io/v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        False,
        cats=_EXT,
    ),
    _r(
        "admissionregistration.k8s.io/v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
        cats=_EXT,
    ),
    _r(
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short=("crd", "crds"),
        cats=_EXT,
        subs=(_status("CustomResourceDefinition"),),
    ),
    _r("scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", False, short=("pc",)),
    _r("coordination.k8s.io/v1", "leases", "Lease"),
    _r("node.k8s.io/v1", "runtimeclasses", "RuntimeClass", False),
    _r("discovery.k8s.io/v1", "endpointslices", "EndpointSlice"),
    _r(
        "flowcontrol.apiserver.k8s.io/v1",
        "flowschemas",
        "FlowSchema",
        False,
        subs=(_status("FlowSchema"),),
    ),
    _r(
        "flowcontrol.apiserver.k8s.io/v1",
        "prioritylevelconfigurations",
        "PriorityLevelConfiguration",
        False,
        subs=(_status("PriorityLevelConfiguration"),),
    ),
)

# Order of the built-in groups in /apis (the API server's group priority).
BUILTIN_GROUP_ORDER = (
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "flowcontrol.apiserver.k8s.io",
)

# Names of injector CRDs, used when the snapshot holds their objects but not the CRD itself.
# (group, kind) → (plural, shortNames, categories)
KNOWN_CRDS: dict[tuple[str, str], tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    ("dynatrace.com", "DynaKube"): ("dynakubes", ("dk", "dks"), ("dynatrace",)),
    ("dynatrace.com", "EdgeConnect"): ("edgeconnects", (), ("dynatrace",)),
    ("opentelemetry.io", "Instrumentation"): ("instrumentations", ("otelinst", "otelinsts"), ()),
    ("opentelemetry.io", "OpenTelemetryCollector"): ("opentelemetrycollectors", ("otelcol", "otelcols"), ()),
}


def guess_plural(kind: str) -> str:
    """The plural client-go guesses for a kind (``UnsafeGuessKindToResource``)."""
    singular = kind.lower()
    if not singular:
        return singular
    if singular.endswith("s"):
        return singular + "es"
    if singular.endswith("y"):
        return singular[:-1] + "ies"
    return singular + "s"


_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key for Kubernetes-style versions: GA before beta before alpha, higher numbers first, then others."""
    m = _VERSION_RE.match(version)
    if not m:
        return (3, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, version)


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` → (``apps``, ``v1``); ``v1`` → (``""``, ``v1``)."""
    group, _, version = api_version.rpartition("/")
    return group, version


def _crd_resources(crd: dict[str, Any]) -> list[ResourceInfo]:
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    assert isinstance(names, dict)
    group, kind = str(spec.get("group") or ""), str(names.get("kind") or "")
    plural = str(names.get("plural") or guess_plural(kind))
    if not group or not kind:
        return []
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
    storage = next((str(v.get("name")) for v in versions if v.get("storage")), "")
    out = []
    for v in versions:
        subs: list[Subresource] = []
        sr = v.get("subresources") if isinstance(v.get("subresources"), dict) else {}
        assert isinstance(sr, dict)
        if "scale" in sr:
            subs.append(Subresource("scale", "Scale", STATUS, "autoscaling", "v1"))
        if "status" in sr:
            subs.append(_status(kind))
        cols = tuple(c for c in v.get("additionalPrinterColumns") or [] if isinstance(c, dict))
        out.append(
            ResourceInfo(
                group=group,
                version=str(v.get("name")),
                resource=plural,
                kind=kind,
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                verbs=CRD_VERBS,
                short_names=tuple(str(s) for s in names.get("shortNames") or []),
                categories=tuple(str(s) for s in names.get("categories") or []),
                singular=str(names.get("singular") or kind.lower()),
                subresources=tuple(sorted(subs, key=lambda s: s.name)),
                builtin=False,
                storage_version=storage,
                printer_columns=cols,
            )
        )
    return out


@dataclass
class Registry:
    """Every served resource, by group/version, and the lookups the server needs."""

    by_gv: dict[str, list[ResourceInfo]] = field(default_factory=dict)  # "apps/v1" → resources
    group_versions: dict[str, list[str]] = field(default_factory=dict)  # group → versions, preferred first

    def add(self, info: ResourceInfo) -> None:
        """Register a resource (a later one with the same group/version/plural is ignored)."""
        bucket = self.by_gv.setdefault(info.group_version, [])
        if any(r.resource == info.resource for r in bucket):
            return
        bucket.append(info)
        versions = self.group_versions.setdefault(info.group, [])
        if info.version not in versions:
            versions.append(info.version)
            if info.builtin:
                return  # built-in versions keep the table's order (autoscaling: v2 then v1)
            versions.sort(key=version_priority)

    def lookup(self, group: str, version: str, resource: str) -> ResourceInfo | None:
        """A resource by group, version and plural."""
        gv = f"{group}/{version}" if group else version
        for r in self.by_gv.get(gv, ()):
            if r.resource == resource:
                return r
        return None

    def for_kind(self, group: str, kind: str) -> ResourceInfo | None:
        """The preferred-version resource of a group/kind."""
        for version in self.group_versions.get(group, ()):
            for r in self.by_gv.get(f"{group}/{version}" if group else version, ()):
                if r.kind == kind:
                    return r
        return None

    def all(self) -> Iterable[ResourceInfo]:
        """Every registered resource."""
        for bucket in self.by_gv.values():
            yield from bucket

    # ---------------------------------------------------------------------------------- documents

    def api_versions(self, server_address: str) -> dict[str, Any]:
        """``/api``: APIVersions (the real server leaves out apiVersion here)."""
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        }

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        """``/api/v1`` or ``/apis/<group>/<version>``: APIResourceList, entries sorted by name."""
        gv = f"{group}/{version}" if group else version
        bucket = self.by_gv.get(gv)
        if bucket is None:
            return None
        entries: list[dict[str, Any]] = []
        for r in bucket:
            entries.extend(r.discovery_entries())
        entries.sort(key=lambda e: str(e["name"]))  # the API server lists resources sorted by name
        doc: dict[str, Any] = {"kind": "APIResourceList"}
        if group:
            doc["apiVersion"] = "v1"
        doc["groupVersion"] = gv
        doc["resources"] = entries
        return doc

    def group_doc(self, group: str) -> dict[str, Any] | None:
        """One APIGroup (``/apis/<group>``)."""
        versions = self.group_versions.get(group)
        if not versions:
            return None
        vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": vs, "preferredVersion": dict(vs[0])}

    def group_list(self) -> dict[str, Any]:
        """``/apis``: APIGroupList, built-in groups in the server's order, then custom groups by name."""
        builtin = [g for g in BUILTIN_GROUP_ORDER if g in self.group_versions]
        custom = sorted(g for g in self.group_versions if g and g not in BUILTIN_GROUP_ORDER)
        groups = [self.group_doc(g) for g in (*builtin, *custom)]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [g for g in groups if g is not None]}


def build_registry(objects: Iterable[dict[str, Any]]) -> Registry:
    """The built-in resources plus the custom resources of the given objects (and of any CRDs among them)."""
    reg = Registry()
    for info in BUILTIN:
        reg.add(info)
    objs = list(objects)
    crd_kinds: set[tuple[str, str]] = set()
    for obj in objs:
        if obj.get("kind") == "CustomResourceDefinition":
            for info in _crd_resources(obj):
                reg.add(info)
                crd_kinds.add((info.group, info.kind))
    inferred: dict[tuple[str, str, str], bool] = {}  # (group, version, kind) → namespaced
    for obj in objs:
        group, version = split_api_version(str(obj.get("apiVersion") or ""))
        kind = str(obj.get("kind") or "")
        if not kind or not version or (group, kind) in crd_kinds or resolve_builtin(group, kind) is not None:
            continue
        md = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        assert isinstance(md, dict)
        key = (group, version, kind)
        inferred[key] = inferred.get(key, False) or bool(md.get("namespace"))
    storage: dict[tuple[str, str], str] = {}
    for (group, version, kind), _ in sorted(inferred.items(), key=lambda kv: version_priority(kv[0][1])):
        storage.setdefault((group, kind), version)
    for (group, version, kind), namespaced in inferred.items():
        plural, short, cats = KNOWN_CRDS.get((group, kind), (guess_plural(kind), (), ()))
        reg.add(
            ResourceInfo(
                group=group,
                version=version,
                resource=plural,
                kind=kind,
                namespaced=namespaced,
                verbs=CRD_VERBS,
                short_names=short,
                categories=cats,
                singular=kind.lower(),
                subresources=(_status(kind),),
                builtin=False,
                storage_version=storage[(group, kind)],
            )
        )
    return reg


_BUILTIN_BY_GK: dict[tuple[str, str], ResourceInfo] = {}
for _info in BUILTIN:
    _BUILTIN_BY_GK.setdefault((_info.group, _info.kind), _info)
_LEGACY_GROUPS = {"extensions": ("apps", "networking.k8s.io", "policy"), "batch": ("batch",)}


def resolve_builtin(group: str, kind: str) -> ResourceInfo | None:
    """The built-in resource of a group/kind (also for old group aliases such as ``extensions/v1beta1``)."""
    found = _BUILTIN_BY_GK.get((group, kind))
    if found is not None:
        return found
    for alias in _LEGACY_GROUPS.get(group, ()):
        found = _BUILTIN_BY_GK.get((alias, kind))
        if found is not None:
            return found
    return None
