"""Parsing the contents of one file: JSON, YAML, ``kubectl cluster-info dump`` logs and plain text.

Everything here works on bytes already read and does no I/O. Parse errors are raised to the caller,
which turns them into a warning naming the file.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import yaml

from podmortem.model.objects import RawObject

# --- text -------------------------------------------------------------------------------------------------

_MAX_REASON = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str, limit: int = _MAX_REASON) -> str:
    """``text`` as a single line without control characters, shortened to ``limit`` characters."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def decode_text(data: bytes) -> str:
    """Decode a log: UTF-8 unless a byte-order mark says otherwise; undecodable bytes become U+FFFD."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", "replace")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return data.decode("utf-32", "replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8", "replace")


def describe_error(exc: BaseException) -> str:
    """A short, one-line reason for a parse failure."""
    if isinstance(exc, UnicodeError):
        if isinstance(exc, UnicodeDecodeError):
            return f"not valid {exc.encoding} text (bad byte at offset {exc.start})"
        return one_line(f"bad text encoding: {exc}")
    if isinstance(exc, json.JSONDecodeError):
        return one_line(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if isinstance(exc, yaml.MarkedYAMLError):
        what = exc.problem or exc.context or "syntax error"
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        return one_line(f"invalid YAML: {what}{where}")
    if isinstance(exc, yaml.YAMLError):
        return one_line(f"invalid YAML: {exc}")
    if isinstance(exc, RecursionError):
        return "nesting too deep"
    if isinstance(exc, MemoryError):
        return "out of memory while parsing"
    return one_line(f"{type(exc).__name__}: {exc}")


# --- JSON -------------------------------------------------------------------------------------------------

_WS = re.compile(r"[ \t\r\n]*")


def load_json(data: bytes) -> list[Any]:
    """The JSON documents of a file: one value, or several concatenated / one per line.

    ``json.loads`` on the raw bytes is the fast path (it detects UTF-8/16/32 and byte-order marks);
    only a file holding more than one value is decoded a second time.
    """
    if not data or data.isspace():  # isspace stops at the first other byte; strip() would copy
        return []
    try:
        return [json.loads(data)]
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise
    text = data.decode(json.detect_encoding(data), "surrogatepass")
    if text.startswith("\ufeff"):
        text = text[1:]
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    pos, end = 0, len(text)
    while True:
        match = _WS.match(text, pos)
        pos = match.end() if match else pos
        if pos >= end:
            return docs
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)


# --- YAML -------------------------------------------------------------------------------------------------

_LOADER_BASE: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Timestamps and binary stay strings: objects must look exactly like the JSON the API server returns.
_Loader: type[Any] = type("_PodmortemYamlLoader", (_LOADER_BASE,), {})
_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.constructor.SafeConstructor.construct_yaml_str)
_Loader.add_constructor("tag:yaml.org,2002:binary", yaml.constructor.SafeConstructor.construct_yaml_str)


class YamlPartial(Exception):
    """A YAML stream broke after some documents were read; ``docs`` holds those documents."""

    def __init__(self, docs: list[Any], reason: str) -> None:
        super().__init__(reason)
        self.docs = docs


def load_yaml(data: bytes) -> list[Any]:
    """The documents of a YAML stream (empty documents dropped).

    Raises :class:`YamlPartial` carrying the documents read before the first error.
    """
    docs: list[Any] = []
    try:
        for doc in yaml.load_all(data, Loader=_Loader):
            if doc is not None:
                docs.append(doc)
    except Exception as exc:
        raise YamlPartial(docs, describe_error(exc)) from exc
    if docs and b"*" in data and b"&" in data:
        problem = alias_problem(docs, limit=10 * len(data) + 10_000)
        if problem:
            raise YamlPartial([], problem)
    return docs


def _children(node: dict[Any, Any] | list[Any]) -> Iterator[Any]:
    return iter(node.values()) if isinstance(node, dict) else iter(node)


def alias_problem(root: Any, *, limit: int) -> str | None:
    """Why YAML aliases in ``root`` make it unsafe (a cycle, or an expansion over ``limit`` nodes), else None.

    Walks each distinct container once, so a "billion laughs" document is rejected quickly.
    """
    if not isinstance(root, (dict, list)):
        return None
    sizes: dict[int, int] = {}
    active = {id(root)}
    stack: list[tuple[Any, Iterator[Any]]] = [(root, _children(root))]
    totals = [1]
    done = object()
    while stack:
        node, kids = stack[-1]
        child = next(kids, done)
        if child is done:
            stack.pop()
            active.discard(id(node))
            size = totals.pop()
            sizes[id(node)] = size
            if totals:
                totals[-1] += size
                if totals[-1] > limit:
                    return "YAML aliases expand to too many nodes"
            continue
        if not isinstance(child, (dict, list)):
            totals[-1] += 1
            continue
        cid = id(child)
        if cid in active:
            return "YAML aliases form a cycle"
        if cid in sizes:
            totals[-1] += sizes[cid]
            if totals[-1] > limit:
                return "YAML aliases expand to too many nodes"
            continue
        active.add(cid)
        stack.append((child, _children(child)))
        totals.append(1)
    return None


# --- Kubernetes objects -----------------------------------------------------------------------------------

_MAX_LIST_DEPTH = 4


def collect_objects(docs: Iterable[Any], objects: list[RawObject], audit: list[dict[str, Any]]) -> None:
    """Append the Kubernetes objects found in parsed documents to ``objects``.

    A document may be one object, a ``List``/``*List`` (items of a typed list such as ``PodList`` get the
    item kind and apiVersion when kubectl left them out), or a JSON array of those. API server audit events
    (``audit.k8s.io``) go to ``audit``. Anything without a ``kind`` is ignored. Items are used as parsed,
    not copied.
    """
    for doc in docs:
        _collect(doc, objects, audit, 0)


def _collect(doc: Any, objects: list[RawObject], audit: list[dict[str, Any]], depth: int) -> None:
    if isinstance(doc, list):
        if depth < _MAX_LIST_DEPTH:
            for item in doc:
                if isinstance(item, (dict, list)):
                    _collect(item, objects, audit, depth + 1)
        return
    if not isinstance(doc, dict):
        return
    kind_ = doc.get("kind")
    if not isinstance(kind_, str) or not kind_:
        return
    items = doc.get("items")
    if kind_.endswith("List") and isinstance(items, list):
        if depth < _MAX_LIST_DEPTH:
            _collect_items(kind_[:-4], doc.get("apiVersion"), items, objects, audit, depth + 1)
        return
    api = doc.get("apiVersion")
    if isinstance(api, str) and api.startswith("audit.k8s.io/"):
        audit.append(doc)
    elif isinstance(doc.get("metadata"), dict):
        objects.append(doc)


def _collect_items(
    item_kind: str,
    api: Any,
    items: list[Any],
    objects: list[RawObject],
    audit: list[dict[str, Any]],
    depth: int,
) -> None:
    # The hot loop of a large bundle (every pod and event of a cluster-info dump passes here): keep it flat.
    default_api = api if item_kind and isinstance(api, str) else None
    keep = objects.append
    for item in items:
        if not isinstance(item, dict):
            continue
        kind_ = item.get("kind")
        if not kind_ or not isinstance(kind_, str):
            if not item_kind:
                continue
            item["kind"] = kind_ = item_kind
        if default_api is not None and "apiVersion" not in item:
            item["apiVersion"] = default_api
        if kind_.endswith("List") and "items" in item:
            _collect(item, objects, audit, depth)
            continue
        item_api = item.get("apiVersion")
        if isinstance(item_api, str) and item_api.startswith("audit.k8s.io/"):
            audit.append(item)
        elif isinstance(item.get("metadata"), dict):
            keep(item)


# --- kubectl cluster-info dump logs -----------------------------------------------------------------------

_START = "==== START logs for container "
_START_LINE = re.compile(r"==== START logs for container (\S+) of pod ([^/\s]+)/(\S+) ====[ \t]*\r?$")
_KUBECTL_ERRORS = ("Create log request error: ", "Request log error: ")


def split_dump_logs(text: str, namespace: str = "", pod: str = "") -> list[tuple[str, str, str, str]]:
    """Split a ``kubectl cluster-info dump`` ``logs.txt`` into ``(namespace, pod, container, log)``.

    kubectl writes, for each container of one pod, ``==== START logs for container C of pod NS/P ====``,
    the log as the API returned it, then ``==== END logs for container C of pod NS/P ====`` (glued to the
    last log line when the log does not end with a newline). Marker-like lines naming another pod are log
    text. A missing END marker ends the log at the next START marker of the same pod, or at the end of the
    file. Blocks holding only kubectl's own "Request log error" are not logs and are dropped.
    ``namespace``/``pod`` (from the file's path) pick the pod when the markers name several.
    """
    blocks = _split_well_formed(text, namespace, pod)
    if blocks is None:
        blocks = _split_searching(text, namespace, pod)
    return [b for b in blocks if not (b[3].startswith(_KUBECTL_ERRORS) and b[3].count("\n") <= 1)]


def _start_at(text: str, pos: int) -> tuple[int, re.Match[str]] | None:
    """The START marker line beginning at ``pos`` and the offset just after it, if there is one."""
    if not text.startswith(_START, pos):
        return None
    eol = text.find("\n", pos)
    if eol < 0:
        eol = len(text)
    m = _START_LINE.match(text, pos, eol)
    return (min(eol + 1, len(text)), m) if m else None


def _split_well_formed(text: str, namespace: str, pod: str) -> list[tuple[str, str, str, str]] | None:
    """The common case, in one pass: START, log, END for each container and nothing else. None otherwise."""
    out: list[tuple[str, str, str, str]] = []
    pos, end = 0, len(text)
    while pos < end:
        found = _start_at(text, pos)
        if found is None:
            return None
        log_at, m = found
        container, ns, pod_ = m.group(1), m.group(2), m.group(3)
        if not out and not (namespace and pod):
            namespace, pod = ns, pod_
        if (ns, pod_) != (namespace, pod):
            return None
        end_marker = f"==== END logs for container {container} of pod {ns}/{pod_} ===="
        stop = text.find(end_marker, log_at)
        if stop < 0:
            return None
        out.append((ns, pod_, container, text[log_at:stop]))
        pos = stop + len(end_marker)
        if text.startswith("\r\n", pos):
            pos += 2
        elif text.startswith("\n", pos):
            pos += 1
    return out


def _split_searching(text: str, namespace: str, pod: str) -> list[tuple[str, str, str, str]]:
    """Any other layout: find every START marker of the pod, then each container's END marker."""
    starts: list[tuple[int, int, str, str, str]] = []  # marker offset, log offset, container, ns, pod
    end = len(text)
    pos = text.find(_START)
    while pos >= 0:
        if pos == 0 or text[pos - 1] == "\n":
            found = _start_at(text, pos)
            if found:
                log_at, m = found
                starts.append((pos, log_at, m.group(1), m.group(2), m.group(3)))
        pos = text.find(_START, pos + len(_START))
    if not starts:
        return []
    if not any(s[3] == namespace and s[4] == pod for s in starts):
        namespace, pod = starts[0][3], starts[0][4]
    own = [s for s in starts if s[3] == namespace and s[4] == pod]
    out: list[tuple[str, str, str, str]] = []
    cursor = 0
    for i, (marker_at, log_at, container, _ns, _pod) in enumerate(own):
        if marker_at < cursor:
            continue  # a START-like line inside the previous container's log
        end_marker = f"==== END logs for container {container} of pod {namespace}/{pod} ===="
        stop = text.find(end_marker, log_at)
        if stop >= 0:
            cursor = stop + len(end_marker)
        else:
            later = [s[0] for s in own[i + 1 :] if s[0] >= log_at]
            stop = cursor = later[0] if later else end
        out.append((namespace, pod, container, text[log_at:stop]))
    return out
