"""The objects a fake API server serves: etcd-ordered, resource-versioned, serialised once.

Each object is kept with its etcd-style key (``<namespace>/<name>``, or ``<name>`` when cluster-scoped) in
byte order, which is the order a real server lists in. Its JSON is made on first use and cached, so a paginated
LIST joins ready-made bytes instead of re-encoding objects per page.

Items of built-in kinds are encoded without ``kind``/``apiVersion`` (the typed list encoder leaves TypeMeta
empty), in the key order the source gave them; custom resources are encoded as the API server's unstructured
encoder does: with ``kind``/``apiVersion`` and every map's keys sorted.

Writes (``replace``) take the store's lock, give the object the next resourceVersion and drop its cached JSON;
readers never lock.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import posixpath
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .discovery import Registry, ResourceInfo, resolve_builtin, split_api_version
from .selectors import FieldSelector, LabelSelector, selectable_fields

_CONTINUE_VERSION = "meta.k8s.io/v1"
# The messages of k8s.io/apiserver/pkg/storage (etcd3 errors and continue tokens).
INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list "
    "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show up in the list."
)


class StoreError(Exception):
    """A request the store refuses; carries the Status fields the server answers with."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.list_continue = ""  # a Status's metadata.continue (410 Expired for an expired continue token)


def dumps(value: Any, *, sort: bool = False) -> bytes:
    """Compact JSON as Go's encoder writes it (non-ASCII kept, no spaces)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort).encode()


def _with_rv(obj: dict[str, Any], rv: str) -> dict[str, Any]:
    """A shallow copy of ``obj`` whose metadata carries ``resourceVersion`` (placed after uid, as Go orders it)."""
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = {}
    if md.get("resourceVersion") == rv:
        return obj
    new_md: dict[str, Any] = {}
    placed = False
    for k, v in md.items():
        if k == "resourceVersion":
            continue
        if not placed and k in ("generation", "creationTimestamp", "deletionTimestamp", "labels", "annotations"):
            new_md["resourceVersion"] = rv
            placed = True
        new_md[k] = v
    if not placed:
        new_md["resourceVersion"] = rv
    out = dict(obj)
    out["metadata"] = new_md
    return out


class Entry:
    """One stored object and its cached encodings."""

    __slots__ = ("_cache", "_fields", "key", "labels", "name", "namespace", "obj", "rv")

    def __init__(self, key: str, namespace: str, name: str, obj: dict[str, Any], rv: int) -> None:
        self.key = key
        self.namespace = namespace
        self.name = name
        self.obj = obj
        self.rv = rv
        md = obj.get("metadata")
        raw_labels = md.get("labels") if isinstance(md, dict) else None
        self.labels: dict[str, str] = (
            {k: v for k, v in raw_labels.items() if isinstance(v, str)} if isinstance(raw_labels, dict) else {}
        )
        self._cache: dict[str, bytes] = {}
        self._fields: dict[str, str] | None = None

    def item(self, info: ResourceInfo) -> bytes:
        """The object as a list item at ``info``'s version."""
        ck = "" if info.builtin else info.group_version
        cached = self._cache.get(ck)
        if cached is None:
            if info.builtin:
                cached = dumps({k: v for k, v in self.obj.items() if k not in ("kind", "apiVersion")})
            else:
                cached = dumps({**self.obj, "apiVersion": info.group_version, "kind": info.kind}, sort=True)
            self._cache[ck] = cached
        return cached

    def single(self, info: ResourceInfo) -> bytes:
        """The object as a GET returns it (with kind and apiVersion)."""
        body = self.item(info)
        if not info.builtin:
            return body
        head = dumps({"kind": info.kind, "apiVersion": info.group_version})
        return head[:-1] + b"}" if body == b"{}" else head[:-1] + b"," + body[1:]

    def fields(self, info: ResourceInfo) -> dict[str, str]:
        """The object's selectable fields."""
        if self._fields is None:
            self._fields = selectable_fields(info.group, info.kind, info.namespaced, self.obj)
        return self._fields


class Collection:
    """All objects of one resource (every version of it shares the collection)."""

    def __init__(self, group: str, resource: str, namespaced: bool) -> None:
        self.group = group
        self.resource = resource
        self.namespaced = namespaced
        self.keys: list[str] = []
        self.entries: dict[str, Entry] = {}

    def key(self, namespace: str, name: str) -> str:
        """The etcd-style key of an object."""
        return f"{namespace}/{name}" if self.namespaced else name

    def range(self, namespace: str | None) -> tuple[int, int, str]:
        """(start, stop, key prefix) of the objects a LIST at ``namespace`` (None: all) covers."""
        if namespace is None or not self.namespaced:
            return 0, len(self.keys), ""
        prefix = namespace + "/"
        return bisect.bisect_left(self.keys, prefix), bisect.bisect_left(self.keys, namespace + "0"), prefix


@dataclass
class ListPage:
    """One page of a LIST."""

    entries: list[Entry]
    resource_version: int
    continue_token: str
    remaining: int | None


def encode_continue(start_key: str, rv: int) -> str:
    """A continue token as the API server makes it: base64url(JSON{v, rv, start}) without padding."""
    raw = json.dumps({"v": _CONTINUE_VERSION, "rv": rv, "start": start_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_continue(token: str) -> tuple[str, int]:
    """(start key relative to the list's prefix, resourceVersion); StoreError 400 for a token the server refuses."""

    def bad(why: str) -> StoreError:
        return StoreError(400, "BadRequest", f"invalid continue token: {why}")

    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise bad(f"continue key is not valid: {exc}") from None
    if not isinstance(data, dict) or data.get("v") != _CONTINUE_VERSION:
        version = data.get("v") if isinstance(data, dict) else None
        raise bad(f'continue key is not valid server does not recognize this encoded version "{version}"')
    rv = data.get("rv")
    if not isinstance(rv, int) or rv == 0:
        raise bad("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    start = data.get("start")
    if not isinstance(start, str) or not start:
        raise bad("continue key is not valid: encoded start key empty")
    key = start if start.startswith("/") else "/" + start
    if posixpath.normpath(key) != key and posixpath.normpath(key) + "\x00" != key:
        raise bad(f"continue key is not valid: {start}")
    return start, rv


def core_event_to_events_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """A core/v1 Event as events.k8s.io/v1 shows it (the API server converts between the two)."""
    out: dict[str, Any] = {"kind": "Event", "apiVersion": "events.k8s.io/v1", "metadata": obj.get("metadata", {})}
    out["eventTime"] = obj.get("eventTime")
    for src, dst in (
        ("series", "series"),
        ("reportingComponent", "reportingController"),
        ("reportingInstance", "reportingInstance"),
        ("action", "action"),
        ("reason", "reason"),
        ("involvedObject", "regarding"),
        ("related", "related"),
        ("message", "note"),
        ("type", "type"),
        ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
    ):
        value = obj.get(src)
        if value not in (None, "", {}):
            out[dst] = value
    return out


class Store:
    """Objects by resource, with etcd-like listing, and a global resourceVersion counter."""

    def __init__(self, registry: Registry, objects: Iterable[dict[str, Any]], *, first_rv: int = 1000) -> None:
        self.registry = registry
        self.lock = threading.RLock()
        self.collections: dict[tuple[str, str], Collection] = {}
        staged: list[tuple[Collection, str, str, str, dict[str, Any]]] = []
        highest = first_rv - 1
        for obj in objects:
            info = self.info_for(obj)
            if info is None:
                continue
            md = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            assert isinstance(md, dict)
            ns, name = str(md.get("namespace") or ""), str(md.get("name") or "")
            if not name:
                continue
            coll = self.collection(info.group, info.resource, info.namespaced)
            existing = md.get("resourceVersion")
            if isinstance(existing, str) and existing.isdigit():
                highest = max(highest, int(existing))
            staged.append((coll, coll.key(ns, name), ns, name, obj))
        staged.sort(key=lambda s: (s[0].group, s[0].resource, s[1]))
        rv = highest
        for coll, key, ns, name, obj in staged:
            if key in coll.entries:
                continue
            existing = obj.get("metadata", {}).get("resourceVersion")
            if isinstance(existing, str) and existing.isdigit():
                this_rv = int(existing)
            else:
                rv += 1
                this_rv = rv
            coll.entries[key] = Entry(key, ns, name, _with_rv(obj, str(this_rv)), this_rv)
        for coll in self.collections.values():
            coll.keys = sorted(coll.entries)
        self.revision = max(rv, highest)

    def info_for(self, obj: dict[str, Any]) -> ResourceInfo | None:
        """The resource an object is stored under."""
        group, _version = split_api_version(str(obj.get("apiVersion") or ""))
        kind = str(obj.get("kind") or "")
        builtin = resolve_builtin(group, kind)
        if builtin is not None:
            return builtin
        return self.registry.for_kind(group, kind)

    def collection(self, group: str, resource: str, namespaced: bool) -> Collection:
        """The collection of a resource (created empty if need be)."""
        coll = self.collections.get((group, resource))
        if coll is None:
            coll = self.collections[(group, resource)] = Collection(group, resource, namespaced)
        return coll

    def _coll(self, info: ResourceInfo) -> Collection | None:
        """The collection a resource reads from; events.k8s.io events are converted from core ones on first use."""
        coll = self.collections.get((info.group, info.resource))
        if coll is not None or (info.group, info.resource) != ("events.k8s.io", "events"):
            return coll
        core = self.collections.get(("", "events"))
        if core is None:
            return None
        with self.lock:
            target = Collection("events.k8s.io", "events", True)
            for key in core.keys:
                e = core.entries[key]
                target.entries[key] = Entry(key, e.namespace, e.name, core_event_to_events_v1(e.obj), e.rv)
            target.keys = list(core.keys)
            return self.collections.setdefault(("events.k8s.io", "events"), target)

    # ---------------------------------------------------------------------------------------- reads

    def get(self, info: ResourceInfo, namespace: str, name: str) -> Entry | None:
        """One object, or None."""
        coll = self._coll(info)
        if coll is None:
            return None
        return coll.entries.get(coll.key(namespace, name))

    def list_page(
        self,
        info: ResourceInfo,
        namespace: str | None,
        *,
        labels: LabelSelector,
        fields: FieldSelector,
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
    ) -> ListPage:
        """A LIST as the API server answers it from etcd (limit/continue, selectors applied server-side).

        Like etcd-backed lists, a page holds at most ``limit`` matching objects and carries a continue token when
        keys remain after the last one examined (so with selectors a last page can come back empty);
        ``remainingItemCount`` is only given without selectors. ``resourceVersion=0`` is served whole (the watch
        cache ignores ``limit``).
        """
        coll = self._coll(info) or Collection(info.group, info.resource, info.namespaced)
        keys, entries = coll.keys, coll.entries
        start, stop, prefix = coll.range(namespace)
        rv = self.revision
        if continue_token:
            rel, rv = decode_continue(continue_token)
            if rv < 0:
                rv = self.revision
            start = max(start, bisect.bisect_left(keys, prefix + rel))
        elif resource_version == "0":
            limit = 0
        filtering = not labels.empty or not fields.empty
        out: list[Entry] = []
        i = start
        while i < stop:
            e = entries[keys[i]]
            i += 1
            if filtering and not (labels.matches(e.labels) and fields.matches(e.fields(info))):
                continue
            out.append(e)
            if limit > 0 and len(out) >= limit:
                break
        token, remaining = "", None
        if limit > 0 and i < stop and len(out) >= limit:
            token = encode_continue(keys[i - 1][len(prefix) :] + "\x00", rv)
            if not filtering:
                remaining = stop - i
        return ListPage(out, rv, token, remaining)

    def expired_continue(self, info: ResourceInfo, namespace: str | None, continue_token: str) -> StoreError:
        """The 410 Expired a compacted continue token gets, with the inconsistent-continue token (rv -1)."""
        rel, _rv = decode_continue(continue_token)
        err = StoreError(410, "Expired", INCONSISTENT_CONTINUE)
        err.list_continue = encode_continue(rel, -1)
        return err

    def list_body(self, info: ResourceInfo, page: ListPage) -> bytes:
        """The JSON body of a List response for ``page``."""
        items = b",".join(e.item(info) for e in page.entries)
        if info.builtin:
            md: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
            if page.continue_token:
                md["continue"] = page.continue_token
            if page.remaining is not None:
                md["remainingItemCount"] = page.remaining
            head = dumps({"kind": info.list_kind, "apiVersion": info.group_version, "metadata": md})
            return head[:-1] + b',"items":[' + items + b"]}\n"
        md = {"continue": page.continue_token, "resourceVersion": str(page.resource_version)}
        if page.remaining is not None:
            md["remainingItemCount"] = page.remaining
        tail = dumps({"kind": info.list_kind, "metadata": md}, sort=True)
        return dumps({"apiVersion": info.group_version})[:-1] + b',"items":[' + items + b"]," + tail[1:] + b"\n"

    def all_entries(self, info: ResourceInfo) -> Iterator[Entry]:
        """Every object of a resource, in key order."""
        coll = self._coll(info)
        if coll is not None:
            for key in coll.keys:
                yield coll.entries[key]

    # ---------------------------------------------------------------------------------------- writes

    def replace(self, info: ResourceInfo, entry: Entry, new_obj: dict[str, Any]) -> Entry:
        """Store a new version of an existing object under the next resourceVersion; returns the new entry."""
        with self.lock:
            coll = self.collection(info.group, info.resource, info.namespaced)
            self.revision += 1
            fresh = Entry(entry.key, entry.namespace, entry.name, _with_rv(new_obj, str(self.revision)), self.revision)
            coll.entries[entry.key] = fresh
            return fresh
