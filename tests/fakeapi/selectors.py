"""Label and field selectors with the grammar and semantics of the Kubernetes API server.

Label selectors (``labelSelector=``): ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``
(exists), ``!k`` (does not exist), ``k>1``/``k<1`` (integer comparison); requirements are ANDed. ``!=`` and
``notin`` also match objects without the label, as on a real server.

Field selectors (``fieldSelector=``): ``f=v``, ``f==v``, ``f!=v`` joined by ``,``, with ``\\`` escapes. Which
fields a kind supports is the API server's list (pods: ``spec.nodeName``, ``status.phase``...; core events:
``involvedObject.*``, ``reason``, ``type``...); anything else is answered with 400, as the server does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class SelectorError(ValueError):
    """A selector the API server would refuse with 400 Bad Request; ``str()`` is the server's message."""


# --------------------------------------------------------------------------------------------- label selectors

_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS1123_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SPECIAL = "!=(),<>"
_OPS = ("=", "==", "!=", "in", "notin", "exists", "!", ">", "<")


@dataclass(frozen=True)
class Requirement:
    """One label requirement: ``key op values``."""

    key: str
    op: str  # one of _OPS ("!" = does not exist)
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this requirement."""
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "==", "in"):
            return present and labels[self.key] in self.values
        if self.op in ("!=", "notin"):
            return not present or labels[self.key] not in self.values
        if not present:
            return False
        try:
            have = int(labels[self.key])
        except ValueError:
            return False
        want = int(self.values[0])
        return have > want if self.op == ">" else have < want


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector (all requirements must hold). The empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies every requirement."""
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        """True when the selector selects everything."""
        return not self.requirements


def _label_tokens(text: str) -> list[tuple[str, str]]:
    """Split a label selector into (type, text) tokens: id, op, '(', ')', ','."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "(),":
            out.append((c, c))
            i += 1
            continue
        if c in "!=<>":
            two = text[i : i + 2]
            if two in ("==", "!="):
                out.append(("op", two))
                i += 2
            else:
                out.append(("op", c))
                i += 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in _SPECIAL:
            j += 1
        word = text[i:j]
        out.append(("op" if word in ("in", "notin") else "id", word))
        i = j
    return out


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN_RE.match(prefix)):
        raise SelectorError(
            f'unable to parse requirement: <nil>: Invalid value: "{key}": prefix part a lowercase RFC 1123 subdomain '
            "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character"
        )
    if not name or len(name) > 63 or not _NAME_RE.match(name):
        raise SelectorError(
            f'unable to parse requirement: <nil>: Invalid value: "{key}": name part must consist of alphanumeric '
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )


def _check_value(key: str, value: str) -> None:
    if value and (len(value) > 63 or not _NAME_RE.match(value)):
        raise SelectorError(
            f'unable to parse requirement: values[0][{key}]: Invalid value: "{value}": a valid label must be an empty '
            "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character"
        )


def parse_label_selector(text: str) -> LabelSelector:
    """Parse ``labelSelector``; raises :class:`SelectorError` with a server-like message when invalid."""
    tokens = _label_tokens(text)
    reqs: list[Requirement] = []
    pos = 0

    def peek() -> tuple[str, str]:
        return tokens[pos] if pos < len(tokens) else ("end", "")

    while pos < len(tokens):
        negate = False
        if peek() == ("op", "!"):
            negate = True
            pos += 1
        kind_, key = peek()
        if kind_ != "id":
            raise SelectorError(f"unable to parse requirement: found '{key}', expected: identifier")
        _check_key(key)
        pos += 1
        kind_, tok = peek()
        if negate:
            if kind_ not in ("end", ","):
                raise SelectorError(f"unable to parse requirement: found '{tok}', expected: ',' or 'end of string'")
            reqs.append(Requirement(key, "!"))
        elif kind_ in ("end", ","):
            reqs.append(Requirement(key, "exists"))
        elif kind_ == "op" and tok in ("=", "==", "!=", ">", "<"):
            pos += 1
            kind2, value = peek()
            if kind2 == "id":
                pos += 1
            elif kind2 in ("end", ","):
                value = ""
            else:
                raise SelectorError(f"unable to parse requirement: found '{value}', expected: identifier")
            if tok in (">", "<"):
                try:
                    int(value)
                except ValueError:
                    raise SelectorError(
                        f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {value}"
                    ) from None
            else:
                _check_value(key, value)
            reqs.append(Requirement(key, tok, (value,)))
        elif kind_ == "op" and tok in ("in", "notin"):
            pos += 1
            if peek()[0] != "(":
                raise SelectorError(f"unable to parse requirement: found '{peek()[1]}', expected: '('")
            pos += 1
            values: list[str] = []
            while True:
                k3, v3 = peek()
                if k3 == "id":
                    _check_value(key, v3)
                    values.append(v3)
                    pos += 1
                    k3, v3 = peek()
                elif k3 in (",", ")"):
                    values.append("")
                if k3 == ",":
                    pos += 1
                    continue
                if k3 == ")":
                    pos += 1
                    break
                raise SelectorError(f"unable to parse requirement: found '{v3}', expected: ',', ')' or identifier")
            reqs.append(Requirement(key, tok, tuple(values)))
        else:
            raise SelectorError(f"unable to parse requirement: found '{tok}', expected: in, notin, =, ==, !=, gt, lt")
        kind_, tok = peek()
        if kind_ == ",":
            pos += 1
            if peek()[0] == "end":
                raise SelectorError("unable to parse requirement: found '', expected: identifier")
        elif kind_ != "end":
            raise SelectorError(f"found '{tok}', expected: ',' or 'end of string'")
    return LabelSelector(tuple(reqs))


# --------------------------------------------------------------------------------------------- field selectors


@dataclass(frozen=True)
class FieldTerm:
    """One field requirement: ``field op value`` with op ``=`` or ``!=``."""

    field: str
    op: str
    value: str


@dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector (all terms must hold)."""

    terms: tuple[FieldTerm, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the selector selects everything."""
        return not self.terms

    def matches(self, fields: Mapping[str, str]) -> bool:
        """Whether an object's selectable fields satisfy every term (a missing field reads as "")."""
        for t in self.terms:
            have = fields.get(t.field, "")
            if (have == t.value) != (t.op == "="):
                return False
        return True


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "\\,=!":
            out.append(text[i + 1])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def parse_field_selector(text: str) -> FieldSelector:
    """Parse ``fieldSelector``; raises :class:`SelectorError` with a server-like message when invalid."""
    terms: list[FieldTerm] = []
    if not text.strip():
        return FieldSelector()
    for part in _split_unescaped(text, ","):
        found: tuple[int, str] | None = None
        i = 0
        while i < len(part) and found is None:
            if part[i] == "\\":
                i += 2
                continue
            for op in ("!=", "==", "="):
                if part.startswith(op, i):
                    found = (i, op)
                    break
            i += 1
        if found is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        at, op = found
        terms.append(
            FieldTerm(_unescape(part[:at]).strip(), "!=" if op == "!=" else "=", _unescape(part[at + len(op) :]))
        )
    return FieldSelector(tuple(terms))


# ------------------------------------------------------------------------------ selectable fields, by kind

FieldGetter = Callable[[dict[str, Any]], dict[str, str]]


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _s(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) else ""


def _meta_fields(obj: dict[str, Any], namespaced: bool) -> dict[str, str]:
    md = _d(obj.get("metadata"))
    out = {"metadata.name": _s(md.get("name"))}
    if namespaced:
        out["metadata.namespace"] = _s(md.get("namespace"))
    return out


def _pod_fields(obj: dict[str, Any]) -> dict[str, str]:
    spec, st = _d(obj.get("spec")), _d(obj.get("status"))
    ips = st.get("podIPs")
    first_ip = _s(_d(ips[0]).get("ip")) if isinstance(ips, list) and ips else _s(st.get("podIP"))
    return {
        "spec.nodeName": _s(spec.get("nodeName")),
        "spec.restartPolicy": _s(spec.get("restartPolicy")),
        "spec.schedulerName": _s(spec.get("schedulerName")),
        "spec.serviceAccountName": _s(spec.get("serviceAccountName")),
        "spec.hostNetwork": "true" if spec.get("hostNetwork") is True else "false",
        "status.phase": _s(st.get("phase")),
        "status.podIP": first_ip,
        "status.nominatedNodeName": _s(st.get("nominatedNodeName")),
    }


def _event_fields(obj: dict[str, Any]) -> dict[str, str]:
    ref = _d(obj.get("involvedObject"))
    source = _s(_d(obj.get("source")).get("component")) or _s(obj.get("reportingComponent"))
    return {
        "involvedObject.kind": _s(ref.get("kind")),
        "involvedObject.namespace": _s(ref.get("namespace")),
        "involvedObject.name": _s(ref.get("name")),
        "involvedObject.uid": _s(ref.get("uid")),
        "involvedObject.apiVersion": _s(ref.get("apiVersion")),
        "involvedObject.resourceVersion": _s(ref.get("resourceVersion")),
        "involvedObject.fieldPath": _s(ref.get("fieldPath")),
        "reason": _s(obj.get("reason")),
        "reportingComponent": _s(obj.get("reportingComponent")),
        "source": source,
        "type": _s(obj.get("type")),
    }


def _replicas(obj: dict[str, Any]) -> dict[str, str]:
    return {"status.replicas": _s(_d(obj.get("status")).get("replicas"))}


# (group, kind) → extra fields beyond metadata.name/metadata.namespace
_EXTRA: dict[tuple[str, str], FieldGetter] = {
    ("", "Pod"): _pod_fields,
    ("", "Event"): _event_fields,
    ("", "Node"): lambda o: {
        "spec.unschedulable": "true" if _d(o.get("spec")).get("unschedulable") is True else "false"
    },
    ("", "Namespace"): lambda o: {"status.phase": _s(_d(o.get("status")).get("phase"))},
    ("", "Secret"): lambda o: {"type": _s(o.get("type"))},
    ("", "ReplicationController"): _replicas,
    ("apps", "ReplicaSet"): _replicas,
    ("batch", "Job"): lambda o: {"status.successful": _s(_d(o.get("status")).get("succeeded"))},
}


def selectable_fields(group: str, kind: str, namespaced: bool, obj: dict[str, Any]) -> dict[str, str]:
    """The fields of ``obj`` that a field selector can name, with their string values."""
    out = _meta_fields(obj, namespaced)
    extra = _EXTRA.get((group, kind))
    if extra is not None:
        out.update(extra(obj))
    return out


def check_fields(group: str, kind: str, namespaced: bool, selector: FieldSelector, *, builtin: bool) -> None:
    """Raise :class:`SelectorError` (the server's message) for a field the kind cannot be selected by."""
    if selector.empty:
        return
    allowed = set(selectable_fields(group, kind, namespaced, {}))
    for t in selector.terms:
        if t.field in allowed:
            continue
        if builtin and group == "":
            raise SelectorError(f"field label not supported: {t.field}")
        raise SelectorError(f'"{t.field}" is not a known field selector: only "metadata.name", "metadata.namespace"')
