"""Where each object and log goes in a bundle, and how files are serialised (ARCHITECTURE.md §3.1).

The layout is that of ``kubectl cluster-info dump --output-directory DIR --all-namespaces``: ``nodes.json``
and, per namespace, ``events.json``, ``replication-controllers.json``, ``services.json``, ``daemonsets.json``,
``deployments.json``, ``replicasets.json`` and ``pods.json`` (written even when empty, as kubectl does). Kinds
the dump leaves out go beside them (``<ns>/statefulsets.json``, ``<ns>/jobs.json``, ``<ns>/cronjobs.json``,
``<ns>/<plural>.json`` for custom resources and anything else namespaced); cluster-scoped objects other than
nodes go to ``cluster-scoped.json`` as one ``List``; container logs to ``logs/<ns>/<pod>/<container>.log`` and
``.previous.log``; audit events to ``audit/events.jsonl``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from podmortem.model.objects import RawObject, as_str, kind, namespace
from podmortem.model.snapshot import LogKey

#: File (without ``.json``) of each kind in a namespace directory; the first seven are kubectl's own.
KIND_FILES: dict[str, str] = {
    "Event": "events",
    "ReplicationController": "replication-controllers",
    "Service": "services",
    "DaemonSet": "daemonsets",
    "Deployment": "deployments",
    "ReplicaSet": "replicasets",
    "Pod": "pods",
    "StatefulSet": "statefulsets",
    "Job": "jobs",
    "CronJob": "cronjobs",
}
#: The files kubectl cluster-info dump writes for every namespace.
DUMP_FILES = ("events", "replication-controllers", "services", "daemonsets", "deployments", "replicasets", "pods")
_LIST_API = {
    "Event": "v1",
    "ReplicationController": "v1",
    "Service": "v1",
    "Pod": "v1",
    "Node": "v1",
    "DaemonSet": "apps/v1",
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}
NODES_FILE = "nodes.json"
CLUSTER_FILE = "cluster-scoped.json"
AUDIT_FILE = "audit/events.jsonl"
MANIFEST_FILE = "manifest.json"

# A name usable as one path component: what Kubernetes allows for namespaces, pods and containers.
_SAFE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,252}")
_RESERVED_TOP = frozenset({"logs", "audit"})


def safe_part(part: str) -> bool:
    """True when ``part`` can be one path component of a bundle as it is."""
    return _SAFE_PART.fullmatch(part) is not None


def plural(kind_: str) -> str:
    """The lower-case plural of a kind, as API resources are named (``DynaKube`` → ``dynakubes``)."""
    low = kind_.lower()
    if low.endswith(("ss", "x", "ch", "sh")):
        return low + "es"
    if low.endswith("s"):
        return low
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return low[:-1] + "ies"
    return low + "s"


def _kind_file(kind_: str) -> str:
    base = KIND_FILES.get(kind_)
    if base is not None:
        return base
    base = plural(kind_) if safe_part(plural(kind_)) else "objects"
    return base if base not in KIND_FILES.values() else base + "-" + "other"


def _ns_dir(ns: str) -> str:
    return ns if safe_part(ns) and ns not in _RESERVED_TOP else ""


def kube_list(items: list[RawObject], item_kind: str | None = None) -> dict[str, Any]:
    """A list as kubectl prints it: ``<Kind>List`` when every item has one kind, else ``List``."""
    kinds = {kind(o) for o in items}
    apis = {as_str(o.get("apiVersion")) for o in items}
    list_kind = item_kind or (next(iter(kinds)) if len(kinds) == 1 else "")
    # A typed list only when every item says its apiVersion: a reader gives items without one the list's.
    if list_kind and kinds <= {list_kind} and "" not in apis and (len(apis) <= 1 or list_kind in _LIST_API):
        api = next(iter(apis)) if len(apis) == 1 else _LIST_API.get(list_kind, "v1")
        return {"kind": f"{list_kind}List", "apiVersion": api, "metadata": {"resourceVersion": ""}, "items": items}
    return {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": ""}, "items": items}


def to_json(doc: Any) -> bytes:
    """JSON as kubectl writes it: 4-space indent, UTF-8, a final newline."""
    try:
        return (json.dumps(doc, indent=4, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escape it so the file stays valid UTF-8 JSON
        return (json.dumps(doc, indent=4, ensure_ascii=True) + "\n").encode("ascii")


def object_files(objects: Iterable[RawObject], namespaces: Iterable[str] = ()) -> dict[str, bytes]:
    """The JSON files holding ``objects``, by relative path.

    ``namespaces`` (those with a Namespace object) get kubectl's seven files even when they hold nothing.
    """
    grouped: dict[str, list[RawObject]] = defaultdict(list)
    list_kinds: dict[str, str] = {}
    dirs: set[str] = set()
    for ns in namespaces:
        d = _ns_dir(ns)
        if d:
            dirs.add(d)
    for obj in objects:
        k = kind(obj)
        ns = namespace(obj)
        if not ns:
            path = NODES_FILE if k == "Node" else CLUSTER_FILE
        else:
            d = _ns_dir(ns)
            if not d:
                path = CLUSTER_FILE  # a namespace that cannot be a directory name: items keep their namespace
            else:
                dirs.add(d)
                path = f"{d}/{_kind_file(k)}.json"
        grouped[path].append(obj)
    for d in dirs:
        for base in DUMP_FILES:
            grouped.setdefault(f"{d}/{base}.json", [])
    for k, base in KIND_FILES.items():
        for d in dirs:
            list_kinds[f"{d}/{base}.json"] = k
    list_kinds[NODES_FILE] = "Node"
    out: dict[str, bytes] = {}
    for path, items in grouped.items():
        # Items keep the snapshot's order: rules that pick "the first pod" of a workload then pick the same.
        item_kind = list_kinds.get(path) if path != CLUSTER_FILE else None
        out[path] = to_json(kube_list(items, item_kind))
    return out


def log_path(key: LogKey) -> str | None:
    """``logs/<ns>/<pod>/<container>[.previous].log``, or None when a name cannot be a path component."""
    parts = (key.namespace, key.pod, key.container)
    if not all(safe_part(p) for p in parts) or key.container.endswith(".previous"):
        return None
    suffix = ".previous.log" if key.previous else ".log"
    return f"logs/{key.namespace}/{key.pod}/{key.container}{suffix}"


def audit_file(events: list[dict[str, Any]]) -> bytes:
    """Audit events one per line, as the API server writes its log."""
    lines = []
    for ev in events:
        try:
            lines.append(json.dumps(ev, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        except UnicodeEncodeError:
            lines.append(json.dumps(ev, ensure_ascii=True, separators=(",", ":")).encode("ascii"))
    return b"".join(line + b"\n" for line in lines)
