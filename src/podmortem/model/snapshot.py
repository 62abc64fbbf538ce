"""Snapshot: everything one source could read about a cluster, as raw objects plus logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from sys import intern as _intern
from typing import Any

from podmortem.model.objects import RawObject

_EVENT_SHARED = ("type", "reason", "firstTimestamp", "lastTimestamp")
_REF_SHARED = ("kind", "namespace", "fieldPath")


def slim(obj: RawObject) -> None:
    """Make a freshly parsed object smaller in memory; sources call it as soon as they parse each object.

    Drops bookkeeping that is never evidence (``managedFields``, events' ``resourceVersion``, a node's list of cached
    images, an event's reporting-controller copies of ``source``) and shares the strings that events repeat.
    """
    kind_ = obj.get("kind")
    md = obj.get("metadata")
    if isinstance(md, dict):
        md.pop("managedFields", None)
    if kind_ == "Event":
        if isinstance(md, dict):
            md.pop("resourceVersion", None)
        for key in ("reportingComponent", "reportingInstance"):
            obj.pop(key, None)
        if obj.get("eventTime") is None:
            obj.pop("eventTime", None)
        for key in _EVENT_SHARED:
            v = obj.get(key)
            if type(v) is str:
                obj[key] = _intern(v)
        ref = obj.get("involvedObject")
        if isinstance(ref, dict):
            ref.pop("resourceVersion", None)
            ref.pop("apiVersion", None)
            for key in _REF_SHARED:
                v = ref.get(key)
                if type(v) is str:
                    ref[key] = _intern(v)
    elif kind_ == "Node":
        st = obj.get("status")
        if isinstance(st, dict):
            st.pop("images", None)


@dataclass(frozen=True)
class LogKey:
    """Identifies one container log: current or previous instance."""

    namespace: str
    pod: str
    container: str
    previous: bool = False


@dataclass
class SourceInfo:
    """Where a snapshot came from (``source`` in the JSON report)."""

    type: str  # bundle | live | manifests
    name: str
    collected_at: str = ""

    def to_dict(self) -> dict[str, str]:
        """As the report's ``source`` object."""
        return {"type": self.type, "name": self.name, "collected_at": self.collected_at}


@dataclass
class Snapshot:
    """Objects by kind, container logs, audit events and the warnings met while reading them."""

    source: SourceInfo
    objects: dict[str, dict[tuple[str, str], RawObject]] = field(default_factory=dict)
    logs: dict[LogKey, str] = field(default_factory=dict)
    audit_events: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)  # what reading cost (live: API calls, bytes, seconds)
    _uids: set[str] = field(default_factory=set, repr=False)

    def add(self, obj: RawObject) -> bool:
        """Add one object; one seen twice (by uid, else kind/namespace/name) is kept once."""
        k = obj.get("kind")
        if type(k) is not str or not k:
            return False
        md = obj.get("metadata")
        if type(md) is not dict:
            md = {}
        ns, nm, u = md.get("namespace"), md.get("name"), md.get("uid")
        key = (ns if type(ns) is str else "", nm if type(nm) is str else "")
        bucket = self.objects.get(k)
        if bucket is None:
            bucket = self.objects[k] = {}
        if key in bucket:
            return False
        if k != "Event" and type(u) is str and u:  # events are unique by name; their uids need no set
            if u in self._uids:
                return False
            self._uids.add(u)
        bucket[key] = obj
        return True

    def of_kind(self, kind_: str) -> list[RawObject]:
        """All objects of a kind."""
        return list(self.objects.get(kind_, {}).values())

    def get(self, kind_: str, ns: str, name_: str) -> RawObject | None:
        """One object by kind, namespace and name."""
        return self.objects.get(kind_, {}).get((ns, name_))

    def add_log(self, key: LogKey, text: str) -> None:
        """Add a container log (the first one read for a key is kept)."""
        self.logs.setdefault(key, text)

    def log(self, ns: str, pod: str, container: str, *, previous: bool = False) -> str | None:
        """A container's current or previous log, if the source had it."""
        return self.logs.get(LogKey(ns, pod, container, previous))

    def warn(self, message: str) -> None:
        """Record a warning (shown in the report's summary)."""
        if message not in self.warnings:
            self.warnings.append(message)

    def count(self) -> int:
        """How many objects the snapshot holds."""
        return sum(len(b) for b in self.objects.values())
