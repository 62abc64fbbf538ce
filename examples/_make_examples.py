#!/usr/bin/env python3
"""Write the example bundles under ``examples/``.

Every bundle is generated from code so that it is internally consistent (owner references and uids,
pod-template hashes, timestamps, restart counts, event counts) and shaped like the output of the
kubectl command that would have produced it:

* ``kubectl cluster-info dump --output-directory DIR --all-namespaces`` (JSON, and ``-o yaml``): typed
  lists whose items carry no ``kind``/``apiVersion``, fields in Go struct order, 4-space indent,
  ``<``/``>``/``&`` escaped as Go's encoding/json does, ``replication-controllers.json``, and
  ``<ns>/<pod>/logs.txt`` with every init container and container between START/END markers;
* ``kubectl get ... -o json`` (unstructured: keys sorted) and ``kubectl get ... -o yaml`` (go-yaml v2
  style: sorted keys, indentless sequences, quoting and 80-column folding as that emitter does);
* ``kubectl logs [--previous]`` text as the runtimes print it.

Stdlib only and deterministic: uids, names, digests and times are derived from fixed seeds, so running
this twice writes identical files. Run from anywhere: ``python3 examples/_make_examples.py``.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
import hashlib
import itertools
import json
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent

Obj = dict[str, Any]

# --------------------------------------------------------------------------------------------------
# Determinism helpers
# --------------------------------------------------------------------------------------------------

SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand alphabet


def h(*parts: object) -> str:
    """sha256 hex of the parts (the only source of 'randomness')."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def hint(*parts: object) -> int:
    return int(h(*parts)[:12], 16)


def uid(*parts: object) -> str:
    """A UUIDv4-shaped uid derived from the parts."""
    x = h("uid", *parts)
    variant = "89ab"[int(x[16], 16) % 4]
    return f"{x[0:8]}-{x[8:12]}-4{x[13:16]}-{variant}{x[17:20]}-{x[20:32]}"


def hex64(*parts: object) -> str:
    return h("hex", *parts)


def rand_str(n: int, *parts: object) -> str:
    x = h("rand", *parts)
    return "".join(SAFE_ALPHANUMS[int(x[i * 2 : i * 2 + 2], 16) % len(SAFE_ALPHANUMS)] for i in range(n))


def pod_template_hash(*parts: object) -> str:
    return rand_str(10, "pth", *parts)


def pick(seq: list[Any], *parts: object) -> Any:
    return seq[hint(*parts) % len(seq)]


def T(s: str) -> dt.datetime:
    """Parse ``2024-08-13T06:58:07Z`` (optionally with fractions)."""
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def ts(t: dt.datetime) -> str:
    """metav1.Time: RFC 3339, seconds."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ts_micro(t: dt.datetime) -> str:
    """metav1.MicroTime."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ts_milli(t: dt.datetime) -> str:
    """zap ISO8601 encoder."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def sec(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def gomap(d: dict[str, Any] | None) -> dict[str, Any]:
    """A Go map: encoding/json writes its keys sorted."""
    return {k: d[k] for k in sorted(d or {})}


def ordered(d: Obj, keys: Iterable[str]) -> Obj:
    """Reorder a struct-like dict to Go field order, dropping None values."""
    out: Obj = {}
    for k in keys:
        if k in d and d[k] is not None:
            out[k] = d[k]
    for k, v in d.items():
        if k not in out and v is not None:
            out[k] = v
    return out


class Counter:
    """Monotonic resourceVersion source for one cluster."""

    def __init__(self, start: int) -> None:
        self.n = start

    def __call__(self, step: int = 1) -> str:
        self.n += step + hint("rv", self.n) % 37
        return str(self.n)


# --------------------------------------------------------------------------------------------------
# Emitters
# --------------------------------------------------------------------------------------------------


def go_json(obj: Any, *, sort_keys: bool = False) -> str:
    """encoding/json MarshalIndent(obj, "", "    ") plus the newline kubectl appends.

    ``sort_keys`` emulates unstructured objects (``kubectl get -o json``); without it the insertion
    order (Go struct order) is kept, as for typed objects (``kubectl cluster-info dump``).
    """
    s = json.dumps(obj, indent=4, ensure_ascii=False, sort_keys=sort_keys)
    s = s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return s + "\n"


def _go_yaml_key_cmp(a: str, b: str) -> int:
    """gopkg.in/yaml.v2 keyList.Less for string keys (numbers inside keys compare numerically)."""

    def less(x: str, y: str) -> bool:
        ar, br = list(x), list(y)
        for i in range(min(len(ar), len(br))):
            if ar[i] == br[i]:
                continue
            al, bl = ar[i].isalpha(), br[i].isalpha()
            if al and bl:
                return ar[i] < br[i]
            if al or bl:
                return bl
            an = bn = 0
            if ar[i] == "0" or br[i] == "0":
                j = i - 1
                while j >= 0 and ar[j].isdigit():
                    if ar[j] != "0":
                        an = bn = 1
                        break
                    j -= 1
            ai = i
            while ai < len(ar) and ar[ai].isdigit():
                an = an * 10 + int(ar[ai])
                ai += 1
            bi = i
            while bi < len(br) and br[bi].isdigit():
                bn = bn * 10 + int(br[bi])
                bi += 1
            if an != bn:
                return an < bn
            if ai != bi:
                return ai < bi
            return ar[i] < br[i]
        return len(ar) < len(br)

    if a == b:
        return 0
    return -1 if less(a, b) else 1


_YAML_BOOL_NULL = {
    "y",
    "Y",
    "yes",
    "Yes",
    "YES",
    "n",
    "N",
    "no",
    "No",
    "NO",
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    "FALSE",
    "on",
    "On",
    "ON",
    "off",
    "Off",
    "OFF",
    "",
    "~",
    "null",
    "Null",
    "NULL",
    ".inf",
    ".Inf",
    ".INF",
    "+.inf",
    "+.Inf",
    "+.INF",
    "-.inf",
    "-.Inf",
    "-.INF",
    ".nan",
    ".NaN",
    ".NAN",
    "<<",
}
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_YAML_INT = re.compile(r"^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$")
_YAML_TIMESTAMP = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|\s+)\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}(?::?\d{2})?))?)?$"
)
_YAML_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


def _resolves_to_non_string(s: str) -> bool:
    return bool(
        s in _YAML_BOOL_NULL
        or _YAML_INT.match(s)
        or _YAML_FLOAT.match(s)
        or _YAML_TIMESTAMP.match(s)
        or _YAML_BASE60.match(s)
    )


def _printable(c: str) -> bool:
    o = ord(c)
    return (
        c == "\n"
        or 0x20 <= o <= 0x7E
        or o == 0x85
        or (0xA0 <= o <= 0xD7FF)
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
        or o >= 0x10000
    )


def _analyze(s: str) -> tuple[bool, bool, bool]:
    """libyaml yaml_emitter_analyze_scalar reduced to (block_plain_allowed, single_allowed, block_allowed)."""
    if s == "":
        return False, True, False
    block_ind = s.startswith(("---", "..."))
    special = False
    line_breaks = False
    leading_space = s[0] == " "
    leading_break = s[0] == "\n"
    trailing_space = s[-1] == " "
    trailing_break = s[-1] == "\n"
    space_break = False
    break_space = False
    for i, c in enumerate(s):
        nxt = s[i + 1] if i + 1 < len(s) else ""
        prev = s[i - 1] if i > 0 else ""
        if i == 0:
            if c in "#,[]{}&*!|>'\"%@`":
                block_ind = True
            if c in "?:" and (nxt in ("", " ", "\n")):
                block_ind = True
            if c == "-" and nxt in ("", " ", "\n"):
                block_ind = True
        else:
            if c == ":" and nxt in ("", " ", "\n"):
                block_ind = True
            if c == "#" and prev in (" ", "\n"):
                block_ind = True
        if not _printable(c) or c == "\ufeff":
            special = True
        if c == "\n":
            line_breaks = True
        if c == " " and nxt == "\n":
            space_break = True
        if c == "\n" and nxt == " ":
            break_space = True
    block_plain = True
    single = True
    block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        block_plain = False
    if trailing_space:
        block = False
    if break_space:
        block_plain = False
        single = False
    if space_break or special:
        block_plain = False
        single = False
        block = False
    if line_breaks:
        block_plain = False
    if block_ind:
        block_plain = False
    return block_plain, single, block


BEST_WIDTH = 80


class _Line:
    """Output buffer that tracks the current column (libyaml's emitter->column)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.column = 0

    def put(self, s: str) -> None:
        for c in s:
            self.parts.append(c)
            if c == "\n":
                self.column = 0
            else:
                self.column += 1

    def indent(self, n: int) -> None:
        self.put("\n" + " " * n)

    def text(self) -> str:
        return "".join(self.parts)


def _write_plain(out: _Line, s: str, indent: int, allow_breaks: bool) -> None:
    spaces = False
    for i, c in enumerate(s):
        if c == " ":
            nxt = s[i + 1] if i + 1 < len(s) else ""
            if allow_breaks and not spaces and out.column > BEST_WIDTH and nxt != " ":
                out.indent(indent)
            else:
                out.put(c)
            spaces = True
        else:
            out.put(c)
            spaces = False


def _write_single(out: _Line, s: str, indent: int, allow_breaks: bool) -> None:
    out.put("'")
    spaces = False
    for i, c in enumerate(s):
        if c == " ":
            nxt = s[i + 1] if i + 1 < len(s) else ""
            if allow_breaks and not spaces and out.column > BEST_WIDTH and i != 0 and i != len(s) - 1 and nxt != " ":
                out.indent(indent)
            else:
                out.put(c)
            spaces = True
        else:
            if c == "'":
                out.put("'")
            out.put(c)
            spaces = False
    out.put("'")


_DQ_ESCAPES = {
    "\0": "0",
    "\a": "a",
    "\b": "b",
    "\t": "t",
    "\n": "n",
    "\v": "v",
    "\f": "f",
    "\r": "r",
    "\x1b": "e",
    '"': '"',
    "\\": "\\",
    "\x85": "N",
    "\xa0": "_",
    "\u2028": "L",
    "\u2029": "P",
}


def _write_double(out: _Line, s: str, indent: int, allow_breaks: bool) -> None:
    out.put('"')
    spaces = False
    for i, c in enumerate(s):
        if not _printable(c) or c in ('"', "\\", "\n") or c == "\ufeff":
            out.put("\\")
            if c in _DQ_ESCAPES:
                out.put(_DQ_ESCAPES[c])
            elif ord(c) <= 0xFF:
                out.put(f"x{ord(c):02X}")
            elif ord(c) <= 0xFFFF:
                out.put(f"u{ord(c):04X}")
            else:
                out.put(f"U{ord(c):08X}")
            spaces = False
        elif c == " ":
            if allow_breaks and not spaces and out.column > BEST_WIDTH and i != 0 and i != len(s) - 1:
                out.indent(indent)
                if i + 1 < len(s) and s[i + 1] == " ":
                    out.put("\\")
            else:
                out.put(c)
            spaces = True
        else:
            out.put(c)
            spaces = False
    out.put('"')


def _write_literal(out: _Line, s: str, indent: int) -> None:
    chomp = ""
    if not s.endswith("\n"):
        chomp = "-"
    elif s.endswith("\n\n"):
        chomp = "+"
    hint_ = "2" if s[:1] in (" ", "\n") else ""
    out.put("|" + hint_ + chomp)
    body = s[:-1] if s.endswith("\n") else s
    for line in body.split("\n"):
        if line:
            out.indent(indent)
            out.put(line)
        else:
            out.put("\n")
    if s.endswith("\n\n"):
        # keep ('+') chomping: the extra trailing newlines are content
        out.put("\n" * (len(s) - len(s.rstrip("\n")) - 1))


def _scalar(out: _Line, v: Any, indent: int, *, key: bool = False) -> None:
    """Write one scalar after the indicator; ``indent`` is the continuation indentation."""
    if v is None:
        out.put("null")
        return
    if v is True:
        out.put("true")
        return
    if v is False:
        out.put("false")
        return
    if isinstance(v, int):
        out.put(str(v))
        return
    if isinstance(v, float):
        out.put(repr(v))
        return
    s = str(v)
    style = "plain"
    if _resolves_to_non_string(s):
        style = "double"
    elif "\n" in s:
        style = "literal"
    block_plain, single_ok, block_ok = _analyze(s)
    if style == "plain" and not block_plain:
        style = "single"
    if style == "literal" and (key or not block_ok):
        style = "double"
    if style == "single" and not single_ok:
        style = "double"
    allow = not key
    if style == "plain":
        _write_plain(out, s, indent, allow)
    elif style == "single":
        _write_single(out, s, indent, allow)
    elif style == "double":
        _write_double(out, s, indent, allow)
    else:
        _write_literal(out, s, indent)


def _yaml_node(out: _Line, v: Any, indent: int, *, in_seq: bool) -> None:
    """Emit a mapping or sequence whose first line continues the current line (after '- ' or a key)."""
    if isinstance(v, dict):
        keys = sorted(v, key=functools.cmp_to_key(_go_yaml_key_cmp))
        for n, k in enumerate(keys):
            if n > 0 or not in_seq:
                out.indent(indent)
            _scalar(out, k, indent, key=True)
            out.put(":")
            _yaml_value(out, v[k], indent)
    else:
        for n, item in enumerate(v):
            if n > 0 or not in_seq:
                out.indent(indent)
            out.put("-")
            _yaml_item(out, item, indent)


def _yaml_value(out: _Line, v: Any, indent: int) -> None:
    """After 'key:' in a block mapping whose keys are at ``indent``."""
    if isinstance(v, dict) and v:
        _yaml_node(out, v, indent + 2, in_seq=False)
    elif isinstance(v, list) and v:
        _yaml_node(out, v, indent, in_seq=False)  # go-yaml v2: indentless sequence inside a mapping
    elif isinstance(v, dict):
        out.put(" {}")
    elif isinstance(v, list):
        out.put(" []")
    else:
        out.put(" ")
        _scalar(out, v, indent + 2)


def _yaml_item(out: _Line, v: Any, indent: int) -> None:
    """After '-' of a sequence item at ``indent``."""
    if isinstance(v, (dict, list)) and v:
        out.put(" ")
        _yaml_node(out, v, indent + 2, in_seq=True)
    elif isinstance(v, dict):
        out.put(" {}")
    elif isinstance(v, list):
        out.put(" []")
    else:
        out.put(" ")
        _scalar(out, v, indent + 2)


def go_yaml(obj: Obj) -> str:
    """sigs.k8s.io/yaml (go-yaml v2) rendering of a JSON object, as ``kubectl -o yaml`` prints it."""
    out = _Line()
    _yaml_node(out, obj, 0, in_seq=True)
    text = out.text()
    return text + "\n"


def yaml_stream(docs: list[Obj]) -> str:
    return "---\n".join(go_yaml(d) for d in docs)


# --------------------------------------------------------------------------------------------------
# Kubernetes object builders (Go struct field order; maps sorted)
# --------------------------------------------------------------------------------------------------

META_ORDER = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
]


def meta(
    name: str,
    ns: str | None = None,
    *,
    uid_: str,
    rv: str,
    created: dt.datetime | None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    owners: list[Obj] | None = None,
    generate_name: str | None = None,
    generation: int | None = None,
    finalizers: list[str] | None = None,
) -> Obj:
    return ordered(
        {
            "name": name,
            "generateName": generate_name,
            "namespace": ns,
            "uid": uid_,
            "resourceVersion": rv,
            "generation": generation,
            "creationTimestamp": ts(created) if created else None,
            "labels": gomap(labels) if labels else None,
            "annotations": gomap(annotations) if annotations else None,
            "ownerReferences": owners or None,
            "finalizers": finalizers or None,
        },
        META_ORDER,
    )


def owner_ref(kind: str, name: str, uid_: str, api: str = "apps/v1") -> Obj:
    return {
        "apiVersion": api,
        "kind": kind,
        "name": name,
        "uid": uid_,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def ev(name: str, value: str | None = None) -> Obj:
    return {"name": name, "value": value} if value else {"name": name}


def ev_field(name: str, path: str) -> Obj:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def ev_secret(name: str, secret: str, key: str) -> Obj:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def ev_cm(name: str, cm: str, key: str, optional: bool | None = None) -> Obj:
    ref: Obj = {"name": cm, "key": key}
    if optional is not None:
        ref["optional"] = optional
    return {"name": name, "valueFrom": {"configMapKeyRef": ref}}


def ev_resource(name: str, container: str, resource: str, divisor: str = "0") -> Obj:
    return {
        "name": name,
        "valueFrom": {"resourceFieldRef": {"containerName": container, "resource": resource, "divisor": divisor}},
    }


def vm(name: str, path: str, *, ro: bool = False, sub_path: str | None = None, propagation: str | None = None) -> Obj:
    d: Obj = {"name": name}
    if ro:
        d["readOnly"] = True
    d["mountPath"] = path
    if sub_path:
        d["subPath"] = sub_path
    if propagation:
        d["mountPropagation"] = propagation
    return d


def vol_empty(name: str, *, size: str | None = None, medium: str | None = None) -> Obj:
    e: Obj = {}
    if medium:
        e["medium"] = medium
    if size:
        e["sizeLimit"] = size
    return {"name": name, "emptyDir": e}


def vol_secret(name: str, secret: str, *, mode: int = 420, optional: bool | None = None) -> Obj:
    s: Obj = {"secretName": secret, "defaultMode": mode}
    if optional is not None:
        s["optional"] = optional
    return {"name": name, "secret": s}


def vol_cm(name: str, cm: str, *, mode: int = 420, items: list[Obj] | None = None) -> Obj:
    c: Obj = {"name": cm}
    if items:
        c["items"] = items
    c["defaultMode"] = mode
    return {"name": name, "configMap": c}


def vol_host(name: str, path: str, type_: str | None = None) -> Obj:
    hp: Obj = {"path": path}
    if type_ is not None:
        hp["type"] = type_
    return {"name": name, "hostPath": hp}


def vol_csi(name: str, driver: str, attrs: dict[str, str], *, ro: bool | None) -> Obj:
    c: Obj = {"driver": driver}
    if ro is not None:
        c["readOnly"] = ro
    c["volumeAttributes"] = gomap(attrs)
    return {"name": name, "csi": c}


def vol_sa_token(name: str) -> Obj:
    return {
        "name": name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
            "defaultMode": 420,
        },
    }


def res(
    req_cpu: str | None = None,
    req_mem: str | None = None,
    lim_cpu: str | None = None,
    lim_mem: str | None = None,
) -> Obj:
    r: Obj = {}
    lim = {k: v for k, v in (("cpu", lim_cpu), ("memory", lim_mem)) if v}
    req = {k: v for k, v in (("cpu", req_cpu), ("memory", req_mem)) if v}
    if lim:
        r["limits"] = gomap(lim)
    if req:
        r["requests"] = gomap(req)
    return r


def probe_http(
    path: str,
    port: Any,
    *,
    initial: int | None = None,
    period: int = 10,
    timeout: int = 1,
    failure: int = 3,
    scheme: str = "HTTP",
) -> Obj:
    p: Obj = {"httpGet": {"path": path, "port": port, "scheme": scheme}}
    if initial:
        p["initialDelaySeconds"] = initial
    p.update(
        {
            "timeoutSeconds": timeout,
            "periodSeconds": period,
            "successThreshold": 1,
            "failureThreshold": failure,
        }
    )
    return p


def port(container_port: int, name: str | None = None, protocol: str = "TCP") -> Obj:
    p: Obj = {}
    if name:
        p["name"] = name
    p["containerPort"] = container_port
    p["protocol"] = protocol
    return p


CONTAINER_ORDER = [
    "name",
    "image",
    "command",
    "args",
    "workingDir",
    "ports",
    "envFrom",
    "env",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "volumeMounts",
    "volumeDevices",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
    "securityContext",
    "stdin",
    "stdinOnce",
    "tty",
]

SECCTX_ORDER = [
    "capabilities",
    "privileged",
    "seLinuxOptions",
    "windowsOptions",
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "procMount",
    "seccompProfile",
    "appArmorProfile",
]


def secctx(**kw: Any) -> Obj:
    return ordered(kw, SECCTX_ORDER)


def container(name: str, image: str, **kw: Any) -> Obj:
    """A container as the API server stores it (defaults filled in)."""
    d: Obj = {"name": name, "image": image}
    d.update(kw)
    d.setdefault("resources", {})
    d.setdefault("terminationMessagePath", "/dev/termination-log")
    d.setdefault("terminationMessagePolicy", "File")
    if "imagePullPolicy" not in d:
        tag = image.rsplit("/", 1)[-1]
        d["imagePullPolicy"] = (
            "Always" if (":" not in tag or tag.endswith(":latest")) and "@" not in tag else "IfNotPresent"
        )
    return ordered(d, CONTAINER_ORDER)


PODSPEC_ORDER = [
    "volumes",
    "initContainers",
    "containers",
    "ephemeralContainers",
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "activeDeadlineSeconds",
    "dnsPolicy",
    "nodeSelector",
    "serviceAccountName",
    "serviceAccount",
    "automountServiceAccountToken",
    "nodeName",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "shareProcessNamespace",
    "securityContext",
    "imagePullSecrets",
    "hostname",
    "subdomain",
    "affinity",
    "schedulerName",
    "tolerations",
    "hostAliases",
    "priorityClassName",
    "priority",
    "dnsConfig",
    "readinessGates",
    "runtimeClassName",
    "enableServiceLinks",
    "preemptionPolicy",
    "overhead",
    "topologySpreadConstraints",
]


def pod_spec(containers_: list[Obj], **kw: Any) -> Obj:
    """A pod template spec as the API server stores it (template defaults only)."""
    d: Obj = {"containers": containers_}
    d.update(kw)
    d.setdefault("restartPolicy", "Always")
    d.setdefault("terminationGracePeriodSeconds", 30)
    d.setdefault("dnsPolicy", "ClusterFirst")
    d.setdefault("securityContext", {})
    d.setdefault("schedulerName", "default-scheduler")
    if d.get("serviceAccountName"):
        d["serviceAccount"] = d["serviceAccountName"]
    if d.get("nodeSelector") is not None:
        d["nodeSelector"] = gomap(d["nodeSelector"])
    return ordered(d, PODSPEC_ORDER)


def template(labels: dict[str, str], spec: Obj, annotations: dict[str, str] | None = None) -> Obj:
    m: Obj = {"creationTimestamp": None, "labels": gomap(labels)}
    if annotations:
        m["annotations"] = gomap(annotations)
    return {"metadata": m, "spec": spec}


def toleration(
    key: str | None,
    operator: str,
    effect: str | None = None,
    value: str | None = None,
    seconds: int | None = None,
) -> Obj:
    return ordered(
        {"key": key, "operator": operator, "value": value, "effect": effect, "tolerationSeconds": seconds},
        ["key", "operator", "value", "effect", "tolerationSeconds"],
    )


DEFAULT_TOLERATIONS = [
    toleration("node.kubernetes.io/not-ready", "Exists", "NoExecute", seconds=300),
    toleration("node.kubernetes.io/unreachable", "Exists", "NoExecute", seconds=300),
]

DS_TOLERATIONS = [
    toleration("node.kubernetes.io/not-ready", "Exists", "NoExecute"),
    toleration("node.kubernetes.io/unreachable", "Exists", "NoExecute"),
    toleration("node.kubernetes.io/disk-pressure", "Exists", "NoSchedule"),
    toleration("node.kubernetes.io/memory-pressure", "Exists", "NoSchedule"),
    toleration("node.kubernetes.io/pid-pressure", "Exists", "NoSchedule"),
    toleration("node.kubernetes.io/unschedulable", "Exists", "NoSchedule"),
]


def last_applied(manifest: Obj) -> str:
    """kubectl apply's annotation: the applied manifest, compact JSON with sorted keys, and a newline."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")) + "\n"


def image_ref(image: str) -> str:
    """The image reference as containerd reports it in status.containerStatuses[].image."""
    first = image.split("/", 1)[0]
    if "/" not in image or ("." not in first and ":" not in first and first != "localhost"):
        image = ("docker.io/library/" + image) if "/" not in image else ("docker.io/" + image)
    if "@" not in image and ":" not in image.rsplit("/", 1)[-1]:
        image += ":latest"
    return image


def image_id(image: str) -> str:
    ref = image_ref(image)
    repo = ref.split("@", 1)[0]
    last = repo.rsplit("/", 1)
    if ":" in last[-1]:
        repo = last[0] + "/" + last[-1].split(":", 1)[0]
    return f"{repo}@sha256:{hex64('digest', ref)}"


def containerd_id(*parts: object) -> str:
    return "containerd://" + hex64("ctr", *parts)


# --------------------------------------------------------------------------------------------------
# Cluster model: one object store per bundle, plus helpers that mimic controllers and admission
# --------------------------------------------------------------------------------------------------

LIST_KINDS = {
    "Node": ("NodeList", "v1"),
    "Pod": ("PodList", "v1"),
    "Event": ("EventList", "v1"),
    "Service": ("ServiceList", "v1"),
    "ReplicationController": ("ReplicationControllerList", "v1"),
    "Deployment": ("DeploymentList", "apps/v1"),
    "ReplicaSet": ("ReplicaSetList", "apps/v1"),
    "DaemonSet": ("DaemonSetList", "apps/v1"),
}

API_VERSION = {
    "Node": "v1",
    "Pod": "v1",
    "Event": "v1",
    "Service": "v1",
    "Namespace": "v1",
    "ConfigMap": "v1",
    "ReplicationController": "v1",
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "MutatingWebhookConfiguration": "admissionregistration.k8s.io/v1",
    "CSIDriver": "storage.k8s.io/v1",
}


class Cluster:
    """All objects of one example cluster, kept in creation order."""

    def __init__(self, name: str, k8s_version: str, rv_start: int) -> None:
        self.name = name
        self.k8s_version = k8s_version  # e.g. "1.29.7"
        self.minor = int(k8s_version.split(".")[1])
        self.rv = Counter(rv_start)
        self.objects: list[Obj] = []  # with "kind" (and apiVersion) kept for bookkeeping
        self.logs: dict[tuple[str, str, str], str] = {}  # current log (namespace, pod, container)
        self.previous_logs: dict[tuple[str, str, str], str] = {}
        self.nodes: dict[str, Obj] = {}

    def add(self, kind: str, obj: Obj) -> Obj:
        o = {"kind": kind, "apiVersion": obj.pop("apiVersion", API_VERSION.get(kind, "v1"))}
        o.update(obj)
        self.objects.append(o)
        return o

    def of(self, kind: str, ns: str | None = None) -> list[Obj]:
        out = [o for o in self.objects if o["kind"] == kind and (ns is None or o["metadata"].get("namespace") == ns)]
        return sorted(out, key=lambda o: o["metadata"]["name"])

    def namespaces(self) -> list[str]:
        return [o["metadata"]["name"] for o in self.of("Namespace")]

    def get(self, kind: str, ns: str | None, name: str) -> Obj:
        for o in self.objects:
            if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace") == ns:
                return o
        raise KeyError((kind, ns, name))


def typed(o: Obj) -> Obj:
    """An item of a typed list (cluster-info dump): no kind/apiVersion."""
    return {k: v for k, v in o.items() if k not in ("kind", "apiVersion")}


def unstructured(o: Obj) -> Obj:
    """As ``kubectl get -o json|yaml`` prints one object."""
    out = {"apiVersion": o["apiVersion"], "kind": o["kind"]}
    out.update({k: v for k, v in o.items() if k not in ("kind", "apiVersion")})
    return out


def typed_list(cl: Cluster, kind: str, items: list[Obj]) -> Obj:
    list_kind, api = LIST_KINDS[kind]
    return {
        "kind": list_kind,
        "apiVersion": api,
        "metadata": {"resourceVersion": str(cl.rv.n + 1)},
        "items": [typed(i) for i in items],
    }


def get_list(items: list[Obj]) -> Obj:
    """``kubectl get a,b,c -o json|yaml``: a v1 List of full objects."""
    return {
        "apiVersion": "v1",
        "items": [unstructured(i) for i in items],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


# --------------------------------------------------------------------------------------------------
# Nodes (AKS)
# --------------------------------------------------------------------------------------------------

VM_SIZES = {
    "Standard_D4ds_v5": ("4", "3860m", "16375292Ki", "12834300Ki", "153634796Ki", "141591153102"),
    "Standard_D8ds_v5": ("8", "7820m", "32864352Ki", "28101280Ki", "303520684Ki", "279724474057"),
    "Standard_D4s_v5": ("4", "3860m", "16375292Ki", "12834300Ki", "129886128Ki", "119703055367"),
}


def aks_node(
    cl: Cluster,
    *,
    cluster_rg: str,
    cluster_name: str,
    region: str,
    pool: str,
    vmss_id: str,
    index: int,
    mode: str,
    vm_size: str,
    zone: int,
    ip: str,
    pod_cidr: str,
    created: dt.datetime,
    node_image: str,
    subscription: str,
    heartbeat: dt.datetime,
    taints: list[Obj] | None = None,
    images: list[tuple[str, int]] | None = None,
    csi_drivers: list[str] | None = None,
    extra_labels: dict[str, str] | None = None,
) -> Obj:
    name = f"aks-{pool}-{vmss_id}-vmss{index:06d}"
    cpu, acpu, mem, amem, eph, aeph = VM_SIZES[vm_size]
    mc = f"MC_{cluster_rg}_{cluster_name}_{region}"
    z = f"{region}-{zone}"
    labels = {
        "agentpool": pool,
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": vm_size,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": region,
        "failure-domain.beta.kubernetes.io/zone": z,
        "kubernetes.azure.com/agentpool": pool,
        "kubernetes.azure.com/cluster": mc,
        "kubernetes.azure.com/consolidated-additional-properties": uid(cl.name, pool, "props"),
        "kubernetes.azure.com/kubelet-identity-client-id": uid(cl.name, "kubelet-identity"),
        "kubernetes.azure.com/mode": mode,
        "kubernetes.azure.com/node-image-version": node_image,
        "kubernetes.azure.com/nodepool-type": "VirtualMachineScaleSets",
        "kubernetes.azure.com/os-sku": "Ubuntu",
        "kubernetes.azure.com/role": "agent",
        "kubernetes.azure.com/storageprofile": "managed",
        "kubernetes.azure.com/storagetier": "Premium_LRS",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/role": "agent",
        "node-role.kubernetes.io/agent": "",
        "node.kubernetes.io/instance-type": vm_size,
        "storageprofile": "managed",
        "storagetier": "Premium_LRS",
        "topology.disk.csi.azure.com/zone": z,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": z,
    }
    labels.update(extra_labels or {})
    drivers = sorted(["disk.csi.azure.com", "file.csi.azure.com", *(csi_drivers or [])])
    annotations = {
        "csi.volume.kubernetes.io/nodeid": json.dumps({d: name for d in drivers}, separators=(",", ":")),
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    }
    spec: Obj = {
        "podCIDR": pod_cidr,
        "podCIDRs": [pod_cidr],
        "providerID": (
            f"azure:///subscriptions/{subscription}/resourceGroups/{mc.lower()}/providers/Microsoft.Compute/"
            f"virtualMachineScaleSets/aks-{pool}-{vmss_id}-vmss/virtualMachines/{index}"
        ),
    }
    if taints:
        spec["taints"] = taints
    hb = ts(heartbeat)
    boot = ts(created + sec(41))
    npd = [
        ("KernelDeadlock", "False", "KernelHasNoDeadlock", "kernel has no deadlock"),
        (
            "FrequentContainerdRestart",
            "False",
            "NoFrequentContainerdRestart",
            "containerd is functioning properly",
        ),
        ("FrequentDockerRestart", "False", "NoFrequentDockerRestart", "docker is functioning properly"),
        ("FilesystemCorruptionProblem", "False", "FilesystemIsOK", "Filesystem is healthy"),
        ("ContainerRuntimeProblem", "False", "ContainerRuntimeIsUp", "container runtime service is up"),
        ("KubeletProblem", "False", "KubeletIsUp", "kubelet service is up"),
        ("VMEventScheduled", "False", "NoVMEventScheduled", "VM has no scheduled event"),
        (
            "FrequentUnregisterNetDevice",
            "False",
            "NoFrequentUnregisterNetDevice",
            "node is functioning properly",
        ),
        ("ReadonlyFilesystem", "False", "FilesystemIsNotReadOnly", "Filesystem is not read-only"),
        ("FrequentKubeletRestart", "False", "NoFrequentKubeletRestart", "kubelet is functioning properly"),
    ]
    conditions = [
        {
            "type": t,
            "status": s,
            "lastHeartbeatTime": ts(heartbeat - sec(hint(name, t) % 50)),
            "lastTransitionTime": boot,
            "reason": r,
            "message": m,
        }
        for t, s, r, m in npd
    ]
    conditions += [
        {
            "type": "MemoryPressure",
            "status": "False",
            "lastHeartbeatTime": hb,
            "lastTransitionTime": boot,
            "reason": "KubeletHasSufficientMemory",
            "message": "kubelet has sufficient memory available",
        },
        {
            "type": "DiskPressure",
            "status": "False",
            "lastHeartbeatTime": hb,
            "lastTransitionTime": boot,
            "reason": "KubeletHasNoDiskPressure",
            "message": "kubelet has no disk pressure",
        },
        {
            "type": "PIDPressure",
            "status": "False",
            "lastHeartbeatTime": hb,
            "lastTransitionTime": boot,
            "reason": "KubeletHasSufficientPID",
            "message": "kubelet has sufficient PID available",
        },
        {
            "type": "Ready",
            "status": "True",
            "lastHeartbeatTime": hb,
            "lastTransitionTime": ts(created + sec(63)),
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status. AppArmor enabled",
        },
    ]
    status = {
        "capacity": gomap(
            {
                "cpu": cpu,
                "ephemeral-storage": eph,
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": mem,
                "pods": "110",
            }
        ),
        "allocatable": gomap(
            {
                "cpu": acpu,
                "ephemeral-storage": aeph,
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": amem,
                "pods": "110",
            }
        ),
        "conditions": conditions,
        "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": hex64("machine", name)[:32],
            "systemUUID": uid("system", name),
            "bootID": uid("boot", name),
            "kernelVersion": "5.15.0-1068-azure" if cl.minor <= 29 else "5.15.0-1079-azure",
            "osImage": "Ubuntu 22.04.4 LTS" if cl.minor <= 29 else "Ubuntu 22.04.5 LTS",
            "containerRuntimeVersion": "containerd://1.7.20-1" if cl.minor <= 29 else "containerd://1.7.25-1",
            "kubeletVersion": f"v{cl.k8s_version}",
            "kubeProxyVersion": f"v{cl.k8s_version}",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
        "images": [{"names": [image_id(img), image_ref(img)], "sizeBytes": size} for img, size in (images or [])],
    }
    node = {
        "metadata": meta(
            name,
            uid_=uid(cl.name, "node", name),
            rv=cl.rv(),
            created=created,
            labels=labels,
            annotations=annotations,
        ),
        "spec": spec,
        "status": status,
    }
    cl.nodes[name] = {"ip": ip, "cidr": pod_cidr, "zone": z}
    cl.add("Node", node)
    return node


def pod_ip(cl: Cluster, node: str, *parts: object) -> str:
    if not cl.nodes[node]["cidr"]:
        return pod_ip_any(cl, node, *parts)
    base = cl.nodes[node]["cidr"].rsplit(".", 1)[0]
    return f"{base}.{10 + hint('ip', node, *parts) % 230}"


# --------------------------------------------------------------------------------------------------
# Workload controllers
# --------------------------------------------------------------------------------------------------


def deployment(
    cl: Cluster,
    name: str,
    ns: str,
    *,
    labels: dict[str, str],
    selector: dict[str, str],
    tmpl: Obj,
    replicas: int,
    created: dt.datetime,
    generation: int,
    revision: int,
    status: Obj,
    annotations: dict[str, str] | None = None,
    strategy: Obj | None = None,
    revision_history: int = 10,
    progress_deadline: int = 600,
) -> Obj:
    ann = {"deployment.kubernetes.io/revision": str(revision)}
    ann.update(annotations or {})
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": gomap(selector)},
        "template": tmpl,
        "strategy": strategy
        or {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        "revisionHistoryLimit": revision_history,
        "progressDeadlineSeconds": progress_deadline,
    }
    d = {
        "metadata": meta(
            name,
            ns,
            uid_=uid(cl.name, "deploy", ns, name),
            rv=cl.rv(),
            created=created,
            labels=labels,
            annotations=ann,
            generation=generation,
        ),
        "spec": spec,
        "status": status,
    }
    return cl.add("Deployment", d)


def deploy_status(
    *, generation: int, replicas: int, updated: int, ready: int, available: int, conditions: list[Obj]
) -> Obj:
    st: Obj = {"observedGeneration": generation, "replicas": replicas, "updatedReplicas": updated}
    if ready:
        st["readyReplicas"] = ready
    if available:
        st["availableReplicas"] = available
    if replicas - available > 0:
        st["unavailableReplicas"] = replicas - available
    st["conditions"] = conditions
    return st


def cond_deploy(
    type_: str, status: str, reason: str, message: str, updated: dt.datetime, transitioned: dt.datetime
) -> Obj:
    return {
        "type": type_,
        "status": status,
        "lastUpdateTime": ts(updated),
        "lastTransitionTime": ts(transitioned),
        "reason": reason,
        "message": message,
    }


def available_cond(ok: bool, t_update: dt.datetime, t_trans: dt.datetime) -> Obj:
    if ok:
        return cond_deploy(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            t_update,
            t_trans,
        )
    return cond_deploy(
        "Available",
        "False",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
        t_update,
        t_trans,
    )


def progressing_done(rs_name: str, t_update: dt.datetime, t_trans: dt.datetime) -> Obj:
    return cond_deploy(
        "Progressing",
        "True",
        "NewReplicaSetAvailable",
        f'ReplicaSet "{rs_name}" has successfully progressed.',
        t_update,
        t_trans,
    )


def replicaset(
    cl: Cluster,
    dep: Obj,
    tmpl: Obj,
    *,
    hash_: str,
    revision: int,
    replicas: int,
    created: dt.datetime,
    generation: int,
    ready: int,
    available: int,
    max_surge: int = 1,
    desired: int | None = None,
) -> Obj:
    """A ReplicaSet owned by ``dep`` whose template is ``tmpl`` plus the pod-template-hash label.

    ``desired`` is the Deployment's replica count when the controller last touched this ReplicaSet.
    """
    dmeta = dep["metadata"]
    name = f"{dmeta['name']}-{hash_}"
    t = copy.deepcopy(tmpl)
    t["metadata"]["labels"] = gomap({**t["metadata"]["labels"], "pod-template-hash": hash_})
    sel = gomap({**dep["spec"]["selector"]["matchLabels"], "pod-template-hash": hash_})
    desired = dep["spec"]["replicas"] if desired is None else desired
    ann = {
        "deployment.kubernetes.io/desired-replicas": str(desired),
        "deployment.kubernetes.io/max-replicas": str(desired + max_surge),
        "deployment.kubernetes.io/revision": str(revision),
    }
    for k, v in (dmeta.get("annotations") or {}).items():
        if k not in ("kubectl.kubernetes.io/last-applied-configuration",) and not k.startswith(
            "deployment.kubernetes.io/"
        ):
            ann[k] = v
    labels = dict(t["metadata"]["labels"])
    status: Obj = {"replicas": replicas}
    if replicas:
        status["fullyLabeledReplicas"] = replicas
    if ready:
        status["readyReplicas"] = ready
    if available:
        status["availableReplicas"] = available
    status["observedGeneration"] = generation
    rs = {
        "metadata": meta(
            name,
            dmeta["namespace"],
            uid_=uid(cl.name, "rs", dmeta["namespace"], name),
            rv=cl.rv(),
            created=created,
            labels=labels,
            annotations=ann,
            generation=generation,
            owners=[owner_ref("Deployment", dmeta["name"], dmeta["uid"])],
        ),
        "spec": {"replicas": replicas, "selector": {"matchLabels": sel}, "template": t},
        "status": status,
    }
    return cl.add("ReplicaSet", rs)


def daemonset(
    cl: Cluster,
    name: str,
    ns: str,
    *,
    labels: dict[str, str],
    selector: dict[str, str],
    tmpl: Obj,
    created: dt.datetime,
    generation: int,
    nodes: int,
    annotations: dict[str, str] | None = None,
) -> Obj:
    ann = {"deprecated.daemonset.template.generation": str(generation)}
    ann.update(annotations or {})
    d = {
        "metadata": meta(
            name,
            ns,
            uid_=uid(cl.name, "ds", ns, name),
            rv=cl.rv(),
            created=created,
            labels=labels,
            annotations=ann,
            generation=generation,
        ),
        "spec": {
            "selector": {"matchLabels": gomap(selector)},
            "template": tmpl,
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
            },
            "revisionHistoryLimit": 10,
        },
        "status": {
            "currentNumberScheduled": nodes,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": nodes,
            "numberReady": nodes,
            "observedGeneration": generation,
            "updatedNumberScheduled": nodes,
            "numberAvailable": nodes,
        },
    }
    return cl.add("DaemonSet", d)


def service(
    cl: Cluster,
    name: str,
    ns: str,
    *,
    created: dt.datetime,
    selector: dict[str, str] | None,
    ports: list[Obj],
    cluster_ip: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    spec: Obj = {"ports": ports}
    if selector:
        spec["selector"] = gomap(selector)
    spec.update(
        {
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        }
    )
    s = {
        "metadata": meta(
            name,
            ns,
            uid_=uid(cl.name, "svc", ns, name),
            rv=cl.rv(),
            created=created,
            labels=labels,
            annotations=annotations,
        ),
        "spec": spec,
        "status": {"loadBalancer": {}},
    }
    return cl.add("Service", s)


def svc_port(port_: int, target: Any, name: str | None = None, protocol: str = "TCP") -> Obj:
    p: Obj = {}
    if name:
        p["name"] = name
    p.update({"protocol": protocol, "port": port_, "targetPort": target})
    return p


def namespace(
    cl: Cluster,
    name: str,
    *,
    created: dt.datetime,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    lab = {"kubernetes.io/metadata.name": name}
    lab.update(labels or {})
    n = {
        "metadata": meta(
            name,
            uid_=uid(cl.name, "ns", name),
            rv=cl.rv(),
            created=created,
            labels=lab,
            annotations=annotations,
        ),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
    return cl.add("Namespace", n)


# --------------------------------------------------------------------------------------------------
# Pods: admission (service account, default tolerations, priority), webhooks, scheduling, status
# --------------------------------------------------------------------------------------------------


Mutator = Callable[[Obj], None]


def admit_pod(
    cl: Cluster,
    *,
    name: str,
    ns: str,
    tmpl: Obj,
    owner: Obj,
    created: dt.datetime,
    node: str,
    mutators: Iterable[Mutator] = (),
    generate_name: str | None = None,
    extra_tolerations: list[Obj] | None = None,
    daemonset_node_affinity: bool = False,
) -> Obj:
    """The pod the API server stores when ``owner`` creates one from ``tmpl``.

    Built-in admission first (ServiceAccount adds the token volume and mounts, DefaultTolerationSeconds,
    Priority), then the mutating webhooks in order, then the scheduler's binding.
    """
    t = copy.deepcopy(tmpl)
    spec = t["spec"]
    labels = dict(t["metadata"].get("labels") or {})
    annotations = dict(t["metadata"].get("annotations") or {})
    token_vol = f"kube-api-access-{rand_str(5, cl.name, ns, name, 'token')}"
    if spec.get("automountServiceAccountToken") is not False:
        spec.setdefault("volumes", []).append(vol_sa_token(token_vol))
        for c in spec.get("initContainers", []) + spec["containers"]:
            c.setdefault("volumeMounts", []).append(
                vm(token_vol, "/var/run/secrets/kubernetes.io/serviceaccount", ro=True)
            )
    spec.setdefault("serviceAccountName", "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    if daemonset_node_affinity:
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
                    ]
                }
            }
        }
    tol = list(spec.get("tolerations") or [])
    if daemonset_node_affinity:
        ds_tols = list(DS_TOLERATIONS)
        if spec.get("hostNetwork"):
            ds_tols.append(toleration("node.kubernetes.io/network-unavailable", "Exists", "NoSchedule"))
        for dtol in ds_tols:
            if not any(x.get("key") == dtol["key"] for x in tol):
                tol.append(dtol)
    else:
        for dtol in DEFAULT_TOLERATIONS:
            if not any(x.get("key") == dtol["key"] for x in tol):
                tol.append(dtol)
    tol += extra_tolerations or []
    spec["tolerations"] = tol
    spec.setdefault("priority", 0)
    spec["enableServiceLinks"] = True
    spec["preemptionPolicy"] = "PreemptLowerPriority"
    om = owner["metadata"]
    gen_name = generate_name if generate_name is not None else om["name"] + "-"
    pod: Obj = {
        "metadata": {
            "generateName": gen_name,
            "namespace": ns,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner_ref(owner["kind"], om["name"], om["uid"])],
        },
        "spec": spec,
    }
    for m in mutators:
        m(pod)
    for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
        c.setdefault("resources", {})
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("imagePullPolicy", "IfNotPresent")
        c.update(ordered(c, CONTAINER_ORDER))
    pod["spec"]["nodeName"] = node
    for c in pod["spec"].get("initContainers", []):
        ordered_c = ordered(c, CONTAINER_ORDER)
        c.clear()
        c.update(ordered_c)
    for c in pod["spec"]["containers"]:
        ordered_c = ordered(c, CONTAINER_ORDER)
        c.clear()
        c.update(ordered_c)
    p = {
        "metadata": meta(
            name,
            ns,
            uid_=uid(cl.name, "pod", ns, name),
            rv=cl.rv(),
            created=created,
            labels=pod["metadata"]["labels"],
            annotations=pod["metadata"]["annotations"] or None,
            generate_name=gen_name,
            owners=[owner_ref(owner["kind"], om["name"], om["uid"])],
        ),
        "spec": ordered(pod["spec"], PODSPEC_ORDER),
        "status": {},
    }
    return cl.add("Pod", p)


def qos_class(pod: Obj) -> str:
    cs = pod["spec"].get("initContainers", []) + pod["spec"]["containers"]
    any_set = False
    guaranteed = True
    for c in cs:
        r = c.get("resources") or {}
        lim, req = r.get("limits") or {}, r.get("requests") or {}
        if lim or req:
            any_set = True
        for k in ("cpu", "memory"):
            if k not in lim or (k in req and req[k] != lim[k]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def st_running(started: dt.datetime) -> Obj:
    return {"running": {"startedAt": ts(started)}}


def st_waiting(reason: str, message: str | None = None) -> Obj:
    w: Obj = {"reason": reason}
    if message:
        w["message"] = message
    return {"waiting": w}


def st_terminated(
    exit_code: int,
    reason: str,
    started: dt.datetime,
    finished: dt.datetime,
    cid: str,
    message: str | None = None,
) -> Obj:
    t: Obj = {"exitCode": exit_code, "reason": reason}
    if message:
        t["message"] = message
    t.update({"startedAt": ts(started), "finishedAt": ts(finished), "containerID": cid})
    return {"terminated": t}


def cstatus(
    name: str,
    image: str,
    *,
    state: Obj,
    last: Obj | None = None,
    ready: bool,
    restarts: int,
    cid: str | None,
    started: bool | None,
    image_present: bool = True,
) -> Obj:
    d: Obj = {
        "name": name,
        "state": state,
        "lastState": last or {},
        "ready": ready,
        "restartCount": restarts,
        "image": image_ref(image) if image_present else image,
        "imageID": image_id(image) if image_present else "",
    }
    if cid:
        d["containerID"] = cid
    if started is not None:
        d["started"] = started
    return d


def pod_cond(
    type_: str, status: str, t: dt.datetime | None, reason: str | None = None, message: str | None = None
) -> Obj:
    c: Obj = {
        "type": type_,
        "status": status,
        "lastProbeTime": None,
        "lastTransitionTime": ts(t) if t else None,
    }
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def set_pod_status(
    cl: Cluster,
    pod: Obj,
    *,
    phase: str,
    scheduled: dt.datetime,
    sandbox_ready: dt.datetime | None,
    initialized: dt.datetime | None,
    ready: tuple[bool, dt.datetime],
    init_statuses: list[Obj] | None,
    statuses: list[Obj],
    host_ip: str,
    ip: str | None,
    not_ready: list[str] | None = None,
    not_initialized: list[str] | None = None,
) -> None:
    conds: list[Obj] = []
    if cl.minor >= 29:
        conds.append(
            pod_cond("PodReadyToStartContainers", "True" if sandbox_ready else "False", sandbox_ready or scheduled)
        )
    if initialized:
        conds.append(pod_cond("Initialized", "True", initialized))
    else:
        conds.append(
            pod_cond(
                "Initialized",
                "False",
                scheduled,
                "ContainersNotInitialized",
                f"containers with incomplete status: [{' '.join(not_initialized or [])}]",
            )
        )
    ok, t_ready = ready
    if ok:
        conds.append(pod_cond("Ready", "True", t_ready))
        conds.append(pod_cond("ContainersReady", "True", t_ready))
    else:
        msg = f"containers with unready status: [{' '.join(not_ready or [])}]"
        conds.append(pod_cond("Ready", "False", t_ready, "ContainersNotReady", msg))
        conds.append(pod_cond("ContainersReady", "False", t_ready, "ContainersNotReady", msg))
    conds.append(pod_cond("PodScheduled", "True", scheduled))
    st: Obj = {"phase": phase, "conditions": conds, "hostIP": host_ip}
    if cl.minor >= 29:
        st["hostIPs"] = [{"ip": host_ip}]
    if ip:
        st["podIP"] = ip
        st["podIPs"] = [{"ip": ip}]
    st["startTime"] = ts(scheduled)
    if init_statuses:
        st["initContainerStatuses"] = init_statuses
    st["containerStatuses"] = statuses
    st["qosClass"] = qos_class(pod)
    pod["status"] = st


# --------------------------------------------------------------------------------------------------
# Events (core/v1 view)
# --------------------------------------------------------------------------------------------------

EVENT_ORDER = [
    "metadata",
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "type",
    "eventTime",
    "series",
    "action",
    "related",
    "reportingComponent",
    "reportingInstance",
]


def _event_name(obj_name: str, first: dt.datetime, *parts: object) -> str:
    ns_ = int(first.timestamp()) * 1_000_000_000 + (hint("evns", obj_name, first.isoformat(), *parts) % 1_000_000_000)
    return f"{obj_name}.{ns_:x}"


def involved(o: Obj, field_path: str | None = None) -> Obj:
    m = o["metadata"]
    ref: Obj = {
        "kind": o["kind"],
        "namespace": m.get("namespace"),
        "name": m["name"],
        "uid": m["uid"],
        "apiVersion": o["apiVersion"],
        "resourceVersion": m["resourceVersion"],
    }
    if field_path:
        ref["fieldPath"] = field_path
    return ordered(ref, ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"])


def event(
    cl: Cluster,
    obj: Obj,
    *,
    reason: str,
    message: str,
    first: dt.datetime,
    last: dt.datetime | None = None,
    count: int = 1,
    type_: str = "Normal",
    component: str,
    host: str | None = None,
    field_path: str | None = None,
    ns: str | None = None,
) -> Obj:
    """An event recorded through client-go's record.EventRecorder (kubelet, controllers, operators)."""
    namespace_ = ns or obj["metadata"].get("namespace") or "default"
    name = _event_name(obj["metadata"]["name"], first, reason, message)
    src: Obj = {"component": component}
    if host:
        src["host"] = host
    e = {
        "metadata": meta(name, namespace_, uid_=uid(cl.name, "event", name), rv=cl.rv(), created=first),
        "involvedObject": involved(obj, field_path),
        "reason": reason,
        "message": message,
        "source": src,
        "firstTimestamp": ts(first),
        "lastTimestamp": ts(last or first),
        "count": count,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": host or "",
    }
    return cl.add("Event", e)


def sched_event(cl: Cluster, pod: Obj, node: str, t: dt.datetime, scheduler_instance: str) -> Obj:
    """events.k8s.io/v1 event of the scheduler, read back through core/v1."""
    m = pod["metadata"]
    name = _event_name(m["name"], t, "Scheduled")
    e = {
        "metadata": meta(name, m["namespace"], uid_=uid(cl.name, "event", name), rv=cl.rv(), created=t),
        "involvedObject": involved(pod),
        "reason": "Scheduled",
        "message": f"Successfully assigned {m['namespace']}/{m['name']} to {node}",
        "source": {},
        "firstTimestamp": None,
        "lastTimestamp": None,
        "type": "Normal",
        "eventTime": ts_micro(t),
        "action": "Binding",
        "reportingComponent": "default-scheduler",
        "reportingInstance": scheduler_instance,
    }
    return cl.add("Event", e)


def keep_recent(cl: Cluster, now: dt.datetime, ttl: dt.timedelta = dt.timedelta(hours=1)) -> None:
    """Drop events the API server has already expired (--event-ttl, 1h by default and on AKS)."""

    def last_seen(e: Obj) -> dt.datetime:
        v = e.get("lastTimestamp") or e.get("eventTime")
        return T(v)

    cl.objects = [o for o in cl.objects if o["kind"] != "Event" or now - last_seen(o) <= ttl]


# --------------------------------------------------------------------------------------------------
# Crash-loop timeline (kubelet back-off: 10s doubling to 5m, reset only after 10 minutes of running)
# --------------------------------------------------------------------------------------------------


class Run:
    def __init__(self, start: dt.datetime, finish: dt.datetime, cid: str) -> None:
        self.start = start
        self.finish = finish
        self.cid = cid


def crash_loop(
    first_start: dt.datetime,
    first_run: float,
    *,
    until: dt.datetime,
    seed: str,
    run_s: tuple[int, int] = (3, 5),
) -> list[Run]:
    runs: list[Run] = []
    start = first_start
    dur = first_run
    k = 0
    while start <= until:
        finish = start + sec(dur)
        runs.append(Run(start, finish, containerd_id(seed, k)))
        k += 1
        backoff = min(10 * 2 ** (k - 1), 300)
        start = finish + sec(backoff + 1 + hint(seed, "jitter", k) % 9)
        dur = run_s[0] + hint(seed, "dur", k) % (run_s[1] - run_s[0] + 1)
    return runs


def backoff_count(runs: list[Run], now: dt.datetime) -> int:
    """How many times the kubelet reported BackOff while the container waited (about every 13s)."""
    waited = 0.0
    for a, b in itertools.pairwise(runs):
        waited += (b.start - a.finish).total_seconds()
    if runs and runs[-1].finish < now:
        waited += (now - runs[-1].finish).total_seconds()
    return max(1, int(waited // 13))


def format_pod(pod: Obj) -> str:
    """kubelet's format.Pod: name_namespace(uid)."""
    m = pod["metadata"]
    return f"{m['name']}_{m['namespace']}({m['uid']})"


# --------------------------------------------------------------------------------------------------
# Generic helpers for running pods, logs and writers
# --------------------------------------------------------------------------------------------------


def running_pod(
    cl: Cluster,
    *,
    name: str,
    ns: str,
    tmpl: Obj,
    owner: Obj,
    created: dt.datetime,
    node: str,
    mutators: Iterable[Mutator] = (),
    ds: bool = False,
    restarts: dict[str, int] | None = None,
    host_network: bool = False,
    image_on_node: bool = True,
) -> Obj:
    """A pod that started normally and is Running/Ready."""
    pod = admit_pod(
        cl,
        name=name,
        ns=ns,
        tmpl=tmpl,
        owner=owner,
        created=created,
        node=node,
        mutators=mutators,
        daemonset_node_affinity=ds,
    )
    sched = created
    t = created + sec(2)
    init_st = []
    for c in pod["spec"].get("initContainers", []):
        s0 = t + sec(1)
        f0 = s0 + sec(1 + hint(name, c["name"]) % 3)
        init_st.append(
            cstatus(
                c["name"],
                c["image"],
                state=st_terminated(0, "Completed", s0, f0, containerd_id(cl.name, name, c["name"])),
                ready=True,
                restarts=0,
                cid=containerd_id(cl.name, name, c["name"]),
                started=False,
            )
        )
        t = f0
    statuses = []
    started = t + sec(1)
    for c in pod["spec"]["containers"]:
        cid = containerd_id(cl.name, name, c["name"])
        r = (restarts or {}).get(c["name"], 0)
        statuses.append(
            cstatus(
                c["name"],
                c["image"],
                state=st_running(started),
                ready=True,
                restarts=r,
                cid=cid,
                started=True,
            )
        )
    node_ip = cl.nodes[node]["ip"]
    ip = node_ip if host_network else pod_ip(cl, node, ns, name)
    ready_t = started + sec(1 + hint(name, "ready") % 20)
    set_pod_status(
        cl,
        pod,
        phase="Running",
        scheduled=sched,
        sandbox_ready=created + sec(2),
        initialized=t if init_st else sched + sec(0),
        ready=(True, ready_t),
        init_statuses=init_st or None,
        statuses=statuses,
        host_ip=node_ip,
        ip=ip,
    )
    if not init_st:
        pod["status"]["conditions"] = [
            c if c["type"] != "Initialized" else pod_cond("Initialized", "True", sched)
            for c in pod["status"]["conditions"]
        ]
    return pod


def ds_pod_name(ds_name: str, *parts: object) -> str:
    return f"{ds_name}-{rand_str(5, ds_name, *parts)}"


def ds_template(tmpl: Obj, revision_hash: str, generation: int) -> Obj:
    t = copy.deepcopy(tmpl)
    t["metadata"]["labels"] = gomap(
        {
            **t["metadata"]["labels"],
            "controller-revision-hash": revision_hash,
            "pod-template-generation": str(generation),
        }
    )
    return t


def set_log(cl: Cluster, ns: str, pod: str, container_: str, text: str, *, previous: bool = False) -> None:
    (cl.previous_logs if previous else cl.logs)[(ns, pod, container_)] = text


def zap(t: dt.datetime, logger: str, msg: str, level: str = "info", **kv: Any) -> str:
    d: dict[str, Any] = {"level": level, "ts": ts_milli(t), "logger": logger, "msg": msg}
    d.update(kv)
    return json.dumps(d, separators=(",", ":")) + "\n"


def klog(t: dt.datetime, level: str, src: str, msg: str, pid: int = 1) -> str:
    return f"{level}{t.strftime('%m%d %H:%M:%S.%f')}       {pid} {src}] {msg}\n"


# --------------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------------

DUMP_FILES = [
    ("events", "Event"),
    ("replication-controllers", "ReplicationController"),
    ("services", "Service"),
    ("daemonsets", "DaemonSet"),
    ("deployments", "Deployment"),
    ("replicasets", "ReplicaSet"),
    ("pods", "Pod"),
]


def reflow(markdown: str, width: int = 110) -> str:
    """Re-wrap prose paragraphs and bullets (after names were filled in); headings, tables, code stay as they are."""
    out: list[str] = []
    item: list[str] = []
    bullet = False

    def flush() -> None:
        nonlocal item
        if item:
            text = " ".join(x.strip() for x in item)
            out.extend(
                textwrap.wrap(
                    text,
                    width,
                    subsequent_indent="  " if bullet else "",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
            item = []

    for line in markdown.split("\n"):
        if not line.strip() or line.startswith(("    ", "|", "#")):
            flush()
            out.append(line)
        elif line.startswith("* "):
            flush()
            bullet = True
            item = [line]
        else:
            if not item:
                bullet = False
            item.append(line)
    flush()
    return "\n".join(out)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name == "README.md":
        text = reflow(text)
    path.write_text(text, encoding="utf-8")


def render(obj: Obj, fmt: str, *, typed_order: bool) -> str:
    if fmt == "json":
        return go_json(obj, sort_keys=not typed_order)
    return go_yaml(obj)


def logs_txt(cl: Cluster, pod: Obj) -> str:
    m = pod["metadata"]
    out = []
    for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
        key = (m["namespace"], m["name"], c["name"])
        out.append(f"==== START logs for container {c['name']} of pod {m['namespace']}/{m['name']} ====\n")
        text = cl.logs.get(key, "")
        if key in cl.logs and text.startswith("Request log error"):
            out.append(text)
        else:
            out.append(text)
        out.append(f"==== END logs for container {c['name']} of pod {m['namespace']}/{m['name']} ====\n")
    return "".join(out)


def write_cluster_info_dump(cl: Cluster, out: Path, fmt: str = "json") -> None:
    """The tree ``kubectl cluster-info dump --output-directory out --all-namespaces [-o yaml]`` writes."""
    ext = "." + fmt
    write(out / f"nodes{ext}", render(typed_list(cl, "Node", cl.of("Node")), fmt, typed_order=True))
    for ns in cl.namespaces():
        for fname, kind in DUMP_FILES:
            write(
                out / ns / f"{fname}{ext}",
                render(typed_list(cl, kind, cl.of(kind, ns)), fmt, typed_order=True),
            )
        for pod in cl.of("Pod", ns):
            write(out / ns / pod["metadata"]["name"] / "logs.txt", logs_txt(cl, pod))


def write_log_files(cl: Cluster, out: Path, *, current: bool = False) -> None:
    """``logs/<ns>/<pod>/<container>[.previous].log`` (bundle layout item 3)."""
    for (ns, pod, c), text in sorted(cl.previous_logs.items()):
        write(out / "logs" / ns / pod / f"{c}.previous.log", text)
    if current:
        for (ns, pod, c), text in sorted(cl.logs.items()):
            write(out / "logs" / ns / pod / f"{c}.log", text)


def pem_bundle(*parts: object) -> str:
    """A base64 caBundle holding a PEM block (random bytes; only its shape matters)."""
    raw = b"".join(hashlib.sha512(f"{parts}-{i}".encode()).digest() for i in range(12))
    body = base64.b64encode(b"\x30\x82\x03\x1f" + raw[:790]).decode()
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    pem += "\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()


def fake_pat(*parts: object) -> str:
    """A string shaped like an Azure DevOps PAT (52 chars of base32) - not a credential."""
    return base64.b32encode(hashlib.sha256(repr(parts).encode()).digest()).decode().lower().rstrip("=")[:52]


# ==================================================================================================
# Dynatrace Operator pod mutation, as the webhook of operator v1.2.x writes it (init "install-oneagent")
# Source: Dynatrace/dynatrace-operator v1.2.2 pkg/webhook/mutation/pod/{webhook.go,init_container.go},
#         oneagent/{mutator,volumes,env,containers,annotations}.go, metadata/{mutator,volumes,env}.go
# ==================================================================================================

DT_OPERATOR_V12_IMAGE = "public.ecr.aws/dynatrace/dynatrace-operator:v1.2.2"


def _false(v: str | None) -> bool:
    return (v or "").strip() in ("0", "f", "F", "false", "False", "FALSE")


def dynatrace_v12_webhook(
    *,
    dynakube: str,
    cluster_id: str,
    image: str,
    code_modules_version: str,
    workload_kind: str,
    workload_name: str,
    operator_version: str,
) -> Mutator:
    def mutate(pod: Obj) -> None:
        ann = pod["metadata"]["annotations"]
        if _false(ann.get("dynatrace.com/inject")):
            return  # mutationRequired() == false: pod left untouched
        spec = pod["spec"]
        gen = pod["metadata"]["generateName"]
        base = gen[: gen.rfind("-")] if "-" in gen else gen
        init_env = [
            ev("FAILURE_POLICY", "silent"),
            ev_field("K8S_PODNAME", "metadata.name"),
            ev_field("K8S_PODUID", "metadata.uid"),
            ev("K8S_BASEPODNAME", base),
            ev("K8S_CLUSTER_ID", cluster_id),
            ev_field("K8S_NAMESPACE", "metadata.namespace"),
            ev_field("K8S_NODE_NAME", "spec.nodeName"),
        ]
        init: Obj = {
            "name": "install-oneagent",
            "image": image,
            "args": ["init"],
            "env": init_env,
            "resources": res("30m", "30Mi", "100m", "60Mi"),
            "volumeMounts": [],
            "imagePullPolicy": "IfNotPresent",
            "securityContext": secctx(
                capabilities={"drop": ["ALL"]},
                privileged=False,
                runAsUser=1001,
                runAsGroup=1001,
                runAsNonRoot=True,
                readOnlyRootFilesystem=True,
                allowPrivilegeEscalation=False,
            ),
        }
        # OneAgent mutator
        spec.setdefault("volumes", []).extend(
            [
                vol_secret("injection-config", "dynatrace-dynakube-config"),
                vol_csi(
                    "oneagent-bin",
                    "csi.oneagent.dynatrace.com",
                    {"dynakube": dynakube, "mode": "app"},
                    ro=False,
                ),
                vol_empty("oneagent-share"),
            ]
        )
        init_env.extend(
            [
                ev("FLAVOR"),
                ev("TECHNOLOGIES", "all"),
                ev("INSTALLPATH", "/opt/dynatrace/oneagent-paas"),
                ev("INSTALLER_URL"),
                ev("VERSION", code_modules_version),
                ev("ONEAGENT_INJECTED", "true"),
            ]
        )
        init["volumeMounts"] += [vm("oneagent-bin", "/mnt/bin"), vm("oneagent-share", "/mnt/share")]
        injected = 0
        for c in spec["containers"]:
            if ann.get(f"container.inject.dynatrace.com/{c['name']}") == "false":
                continue
            injected += 1
            init_env.extend(
                [ev(f"CONTAINER_{injected}_NAME", c["name"]), ev(f"CONTAINER_{injected}_IMAGE", c["image"])]
            )
            c.setdefault("volumeMounts", []).extend(
                [
                    vm("oneagent-share", "/etc/ld.so.preload", sub_path="ld.so.preload"),
                    vm("oneagent-bin", "/opt/dynatrace/oneagent-paas"),
                    vm(
                        "oneagent-share",
                        "/var/lib/dynatrace/oneagent/agent/config/container.conf",
                        sub_path=f"container_{c['name']}.conf",
                    ),
                ]
            )
            env = c.setdefault("env", [])
            env.append(
                ev(
                    "DT_DEPLOYMENT_METADATA",
                    f"orchestration_tech=Operator-cloud_native_fullstack;script_version={operator_version};"
                    f"orchestrator_id={cluster_id}",
                )
            )
            env.append(ev("LD_PRELOAD", "/opt/dynatrace/oneagent-paas/agent/lib64/liboneagentproc.so"))
        init_env.append(ev("CONTAINERS_COUNT", str(injected)))
        init["volumeMounts"].append(vm("injection-config", "/mnt/config"))
        ann["oneagent.dynatrace.com/injected"] = "true"
        # metadata-enrichment mutator
        spec["volumes"].extend(
            [
                vol_secret("metadata-enrichment-endpoint", "dynatrace-metadata-enrichment-endpoint"),
                vol_empty("metadata-enrichment"),
            ]
        )
        for c in spec["containers"]:
            if ann.get(f"container.inject.dynatrace.com/{c['name']}") == "false":
                continue
            c["volumeMounts"].extend(
                [
                    vm(
                        "metadata-enrichment",
                        "/var/lib/dynatrace/enrichment/dt_metadata.properties",
                        sub_path="dt_metadata.properties",
                    ),
                    vm(
                        "metadata-enrichment",
                        "/var/lib/dynatrace/enrichment/dt_metadata.json",
                        sub_path="dt_metadata.json",
                    ),
                    vm("metadata-enrichment-endpoint", "/var/lib/dynatrace/enrichment/endpoint"),
                ]
            )
        init_env.extend(
            [
                ev("DT_WORKLOAD_KIND", workload_kind),
                ev("DT_WORKLOAD_NAME", workload_name),
                ev("METADATA_ENRICHMENT_INJECTED", "true"),
            ]
        )
        init["volumeMounts"].append(vm("metadata-enrichment", "/tmp/enrichment"))
        ann["metadata-enrichment.dynatrace.com/injected"] = "true"
        ann["metadata.dynatrace.com/k8s.workload.kind"] = workload_kind.lower()
        ann["metadata.dynatrace.com/k8s.workload.name"] = workload_name
        spec.setdefault("initContainers", []).append(ordered(init, CONTAINER_ORDER))
        ann["dynakube.dynatrace.com/injected"] = "true"
        pod["metadata"]["annotations"] = gomap(ann)

    return mutate


def install_oneagent_log(
    t: dt.datetime, pod_name: str, containers_: list[tuple[str, str]], tenant: str, node: str
) -> str:
    lines = [
        zap(t, "injection-startup", "creating standalone runner"),
        zap(t + sec(0.004), "injection-startup", "checking envvars"),
        zap(t + sec(0.006), "injection-startup", "standalone runner created successfully"),
        zap(t + sec(0.006), "injection-startup", "standalone agent init started"),
        zap(t + sec(0.007), "injection-startup", "setting host tenant"),
        zap(t + sec(0.007), "injection-startup", "host tenant set to TenantUUID"),
        zap(t + sec(0.007), "injection-startup", "successfully set host tenant", hostTenant=tenant),
        zap(t + sec(0.008), "injection-startup", "configuring standalone OneAgent"),
        zap(t + sec(0.009), "injection-startup", "creating enrichment files"),
        zap(t + sec(0.011), "injection-startup", "created file", filePath="/tmp/enrichment/dt_metadata.json"),
        zap(
            t + sec(0.012),
            "injection-startup",
            "created file",
            filePath="/tmp/enrichment/dt_metadata.properties",
        ),
        zap(t + sec(0.012), "injection-startup", "setting ld.so.preload"),
        zap(
            t + sec(0.013),
            "injection-startup",
            "created file",
            filePath="/mnt/share/ld.so.preload",
            content="/opt/dynatrace/oneagent-paas/agent/lib64/liboneagentproc.so",
        ),
        zap(t + sec(0.013), "injection-startup", "creating container configuration files"),
    ]
    for c, image in containers_:
        lines += [
            zap(
                t + sec(0.014),
                "injection-startup",
                "creating conf file for container",
                container={"name": c, "image": image},
            ),
            zap(t + sec(0.014), "injection-startup", "adding k8s cluster id"),
            zap(t + sec(0.014), "injection-startup", "adding k8s node name"),
            zap(t + sec(0.015), "injection-startup", "created file", filePath=f"/mnt/share/container_{c}.conf"),
        ]
    lines.append(zap(t + sec(0.016), "injection-startup", "standalone agent init completed"))
    del pod_name, node
    return "".join(lines)


# ==================================================================================================
# Azure Pipelines agent output (Microsoft's start.sh; agent banner and configure output)
# ==================================================================================================

ESC = "\x1b"


def azp_header(text: str) -> str:
    """start.sh print_header(): echo -e "\\n${lightcyan}$1${nocolor}\\n"."""
    return f"\n{ESC}[1;36m{text}{ESC}[0m\n\n"


AZP_STEP1 = azp_header("1. Determining matching Azure Pipelines agent...")
AZP_STEP2 = azp_header("2. Downloading and extracting Azure Pipelines agent...")
AZP_STEP3 = azp_header("3. Configuring Azure Pipelines agent...")
AZP_STEP4 = azp_header("4. Running Azure Pipelines agent...")

AZP_CRASH = (
    "Unhandled exception. System.TypeInitializationException: The type initializer for '<Module>' threw an exception.\n"
    " ---> System.InvalidProgramException: Common Language Runtime detected an invalid program.\n"
    "   at <Module>..cctor()\n"
    "   --- End of inner exception stack trace ---\n"
    "   at Microsoft.VisualStudio.Services.Agent.Listener.Program.MainAsync(IHostContext context, String[] args)\n"
    "--- End of stack trace from previous location ---\n"
    "   at Microsoft.VisualStudio.Services.Agent.Listener.Program.Main(String[] args)\n"
)

AZP_BANNER = (
    "\n"
    "  ___                      ______ _            _ _\n"
    " / _ \\                     | ___ (_)          | (_)\n"
    "/ /_\\ \\_____   _ _ __ ___  | |_/ /_ _ __   ___| |_ _ __   ___  ___\n"
    "|  _  |_  / | | | '__/ _ \\ |  __/| | '_ \\ / _ \\ | | '_ \\ / _ \\/ __|\n"
    "| | | |/ /| |_| | | |  __/ | |   | | |_) |  __/ | | | | |  __/\\__ \\\n"
    "\\_| |_/___|\\__,_|_|  \\___| \\_|   |_| .__/ \\___|_|_|_| |_|\\___||___/\n"
    "                                   | |\n"
    "        agent v3.242.1             |_|          (commit 8e3a1c2)\n"
    "\n"
    "\n"
)


def azp_crash_log(pid: int) -> str:
    return (
        AZP_STEP1
        + AZP_STEP2
        + AZP_STEP3
        + AZP_CRASH
        + f'./config.sh: line 90: {pid:5d} Aborted                 (core dumped) ./bin/Agent.Listener configure "$@"\n'
    )


def azp_healthy_log(configured: dt.datetime, listening: dt.datetime) -> str:
    return (
        AZP_STEP1 + AZP_STEP2 + AZP_STEP3 + AZP_BANNER + ">> End User License Agreements:\n\n"
        "Building sources from a TFVC repository requires accepting the Team Explorer Everywhere End User License "
        "Agreement. This step is not required for building sources from Git repositories.\n\n"
        "A copy of the Team Explorer Everywhere license agreement can be found at:\n"
        "  /azp/license.html\n\n\n"
        ">> Connect:\n\n"
        "Connecting to server ...\n\n"
        ">> Register Agent:\n\n"
        "Scanning for tool capabilities.\n"
        "Connecting to the server.\n"
        "Successfully added the agent\n"
        "Testing agent connection.\n"
        f"{configured.strftime('%Y-%m-%d %H:%M:%SZ')}: Settings Saved.\n"
        + AZP_STEP4
        + "Scanning for tool capabilities.\n"
        "Connecting to the server.\n"
        f"{listening.strftime('%Y-%m-%d %H:%M:%SZ')}: Listening for Jobs\n"
    )


# ==================================================================================================
# Bundle 1: aks-azure-pipelines-dynatrace (the seed case)
# ==================================================================================================

SEED = "aks-azure-pipelines-dynatrace"
AZP_IMAGE = "myacr.azurecr.io/azp-agent:ubuntu-22.04-3.242.1"
AZP_IMAGE_OLD = "myacr.azurecr.io/azp-agent:ubuntu-22.04-3.241.0"
DT_TENANT = "kvx94521"
CM_VERSION = "1.294.128.20240809-142157"
HELM_LABELS_122 = {
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/name": "dynatrace-operator",
    "app.kubernetes.io/version": "1.2.2",
    "helm.sh/chart": "dynatrace-operator-1.2.2",
}
HELM_ANN = {"meta.helm.sh/release-name": "dynatrace-operator", "meta.helm.sh/release-namespace": "dynatrace"}
DT_NODE_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/arch",
                            "operator": "In",
                            "values": ["amd64", "arm64", "ppc64le", "s390x"],
                        },
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    ]
                }
            ]
        }
    }
}
DT_SECCTX = secctx(
    capabilities={"drop": ["ALL"]},
    privileged=False,
    runAsUser=1001,
    runAsGroup=1001,
    runAsNonRoot=True,
    readOnlyRootFilesystem=True,
    allowPrivilegeEscalation=False,
    seccompProfile={"type": "RuntimeDefault"},
)


def agent_template(pool_env: str, token_env: Obj, annotations: dict[str, str] | None, app: str, image: str) -> Obj:
    c = container(
        "azp-agent",
        image,
        env=[
            ev("AZP_URL", "https://dev.azure.com/contoso-platform"),
            ev("AZP_POOL", pool_env),
            token_env,
            ev("AZP_WORK", "_work"),
        ],
        resources=res("500m", "1Gi", "2", "4Gi"),
        volumeMounts=[vm("azp-work", "/azp/_work")],
        imagePullPolicy="IfNotPresent",
    )
    spec = pod_spec(
        [c],
        volumes=[vol_empty("azp-work")],
        nodeSelector={"kubernetes.azure.com/agentpool": "agentpool"},
        terminationGracePeriodSeconds=300,
    )
    return template({"app": app}, spec, annotations)


def agent_manifest(
    name: str,
    replicas: int,
    pool_env: str,
    token_env: Obj,
    annotations: dict[str, str] | None,
    app: str,
    image: str,
) -> Obj:
    """What the team applied (kubectl apply keeps it in last-applied-configuration)."""
    tmeta: Obj = {"labels": {"app": app}}
    if annotations:
        tmeta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"annotations": {}, "labels": {"app": app}, "name": name, "namespace": "build-agents"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": tmeta,
                "spec": {
                    "containers": [
                        {
                            "env": [
                                {"name": "AZP_URL", "value": "https://dev.azure.com/contoso-platform"},
                                {"name": "AZP_POOL", "value": pool_env},
                                token_env,
                                {"name": "AZP_WORK", "value": "_work"},
                            ],
                            "image": image,
                            "name": "azp-agent",
                            "resources": {
                                "limits": {"cpu": "2", "memory": "4Gi"},
                                "requests": {"cpu": "500m", "memory": "1Gi"},
                            },
                            "volumeMounts": [{"mountPath": "/azp/_work", "name": "azp-work"}],
                        }
                    ],
                    "nodeSelector": {"kubernetes.azure.com/agentpool": "agentpool"},
                    "terminationGracePeriodSeconds": 300,
                    "volumes": [{"emptyDir": {}, "name": "azp-work"}],
                },
            },
        },
    }


def add_coredns(
    cl: Cluster,
    *,
    node: str,
    cluster_created: dt.datetime,
    rs_created: dt.datetime,
    pods_created: dt.datetime,
    image: str,
) -> None:
    """AKS's coredns Deployment (2 replicas on the system pool) and the kube-dns Service."""
    sys_tol = [toleration("CriticalAddonsOnly", "Exists")]
    coredns_tmpl = template(
        {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "version": "v20"},
        pod_spec(
            [
                container(
                    "coredns",
                    image,
                    args=["-conf", "/etc/coredns/Corefile"],
                    ports=[port(53, "dns", "UDP"), port(53, "dns-tcp"), port(9153, "metrics")],
                    resources=res("100m", "70Mi", None, "500Mi"),
                    volumeMounts=[
                        vm("config-volume", "/etc/coredns", ro=True),
                        vm("custom-config-volume", "/etc/coredns/custom", ro=True),
                        vm("tmp", "/tmp"),
                    ],
                    livenessProbe=probe_http("/health", 8080, initial=60, timeout=5, failure=5),
                    readinessProbe=probe_http("/ready", 8181, period=10),
                    securityContext=secctx(
                        capabilities={"add": ["NET_BIND_SERVICE"], "drop": ["all"]},
                        readOnlyRootFilesystem=True,
                        allowPrivilegeEscalation=False,
                    ),
                )
            ],
            volumes=[
                vol_cm("config-volume", "coredns", items=[{"key": "Corefile", "path": "Corefile"}]),
                {
                    "name": "custom-config-volume",
                    "configMap": {"name": "coredns-custom", "defaultMode": 420, "optional": True},
                },
                vol_empty("tmp"),
            ],
            dnsPolicy="Default",
            serviceAccountName="coredns",
            priorityClassName="system-node-critical",
            nodeSelector={"kubernetes.io/os": "linux"},
            tolerations=sys_tol,
        ),
        {"prometheus.io/port": "9153"},
    )
    h_ = pod_template_hash(cl.name, "coredns", image)
    coredns = deployment(
        cl,
        "coredns",
        "kube-system",
        labels={
            "addonmanager.kubernetes.io/mode": "Reconcile",
            "k8s-app": "kube-dns",
            "kubernetes.io/cluster-service": "true",
            "kubernetes.io/name": "CoreDNS",
            "version": "v20",
        },
        selector={"k8s-app": "kube-dns"},
        tmpl=coredns_tmpl,
        replicas=2,
        created=cluster_created,
        generation=9,
        revision=6,
        status=deploy_status(
            generation=9,
            replicas=2,
            updated=2,
            ready=2,
            available=2,
            conditions=[
                available_cond(True, pods_created + sec(42), pods_created + sec(42)),
                progressing_done(f"coredns-{h_}", pods_created + sec(64), cluster_created),
            ],
        ),
    )
    coredns_rs = replicaset(
        cl,
        coredns,
        coredns_tmpl,
        hash_=h_,
        revision=6,
        replicas=2,
        created=rs_created,
        generation=1,
        ready=2,
        available=2,
    )
    for i in range(2):
        pname = f"coredns-{h_}-{rand_str(5, cl.name, 'coredns', i)}"
        p = running_pod(
            cl,
            name=pname,
            ns="kube-system",
            tmpl=coredns_rs["spec"]["template"],
            owner=coredns_rs,
            created=pods_created + sec(i * 3),
            node=node,
        )
        p["spec"]["priority"] = 2000001000
        set_log(
            cl,
            "kube-system",
            pname,
            "coredns",
            ".:53\n[INFO] plugin/reload: Running configuration SHA512 = "
            f"{hex64('corefile')}{hex64('corefile2')[:64]}\nCoreDNS-1.9.4\nlinux/amd64, go1.21.12, 1f0a41a\n",
        )
    service(
        cl,
        "kube-dns",
        "kube-system",
        created=cluster_created,
        selector={"k8s-app": "kube-dns"},
        ports=[svc_port(53, 53, "dns", "UDP"), svc_port(53, 53, "dns-tcp")],
        cluster_ip="10.0.0.10",
        labels={
            "addonmanager.kubernetes.io/mode": "Reconcile",
            "k8s-app": "kube-dns",
            "kubernetes.io/cluster-service": "true",
            "kubernetes.io/name": "CoreDNS",
        },
    )


def build_seed() -> tuple[Cluster, dict[str, Any]]:
    cl = Cluster(SEED, "1.29.7", 48_110_000)
    cluster_rg, cluster_name, region = "rg-aks-prod", "aks-prod-weu", "westeurope"
    sub = uid("subscription", "contoso-prod")
    node_image = "AKSUbuntu-2204gen2containerd-202407.29.0"
    kube_system_uid = uid(cl.name, "ns", "kube-system")
    sched_inst = "default-scheduler-kube-scheduler-6f7c9d5b8-ql8zt"

    # ---- the moment the bundle was taken (derived from pod B's crash loop below) ----
    t_a_created = T("2024-08-13T06:58:06Z")
    t_b_created = T("2024-08-13T07:51:12Z")
    t_c_created = T("2024-08-13T08:41:27Z")
    t_canary = T("2024-08-13T08:47:02Z")
    probe_until = T("2024-08-13T09:30:00Z")
    runs_b_all = crash_loop(t_b_created + sec(26), 17, until=probe_until, seed="seed-b", run_s=(14, 22))
    first_after = next(r for r in runs_b_all if r.start >= T("2024-08-13T09:23:00Z"))
    now = first_after.start + sec(6)

    # ---- nodes ----
    nodes_def = [
        (
            "system",
            "24810374",
            0,
            "system",
            "Standard_D4ds_v5",
            1,
            "10.224.0.4",
            "10.244.0.0/24",
            T("2024-07-29T04:12:51Z"),
            [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}],
        ),
        (
            "agentpool",
            "31498826",
            0,
            "user",
            "Standard_D8ds_v5",
            1,
            "10.224.0.5",
            "10.244.1.0/24",
            T("2024-07-29T04:19:07Z"),
            None,
        ),
        (
            "agentpool",
            "31498826",
            1,
            "user",
            "Standard_D8ds_v5",
            2,
            "10.224.0.6",
            "10.244.2.0/24",
            T("2024-07-29T04:19:12Z"),
            None,
        ),
        (
            "userpool",
            "17753420",
            0,
            "user",
            "Standard_D4ds_v5",
            1,
            "10.224.0.7",
            "10.244.3.0/24",
            T("2024-07-29T04:25:33Z"),
            None,
        ),
        (
            "userpool",
            "17753420",
            1,
            "user",
            "Standard_D4ds_v5",
            3,
            "10.224.0.8",
            "10.244.4.0/24",
            T("2024-07-29T04:25:40Z"),
            None,
        ),
    ]
    base_images = [
        ("mcr.microsoft.com/oss/kubernetes/kube-proxy:v1.29.7-hotfix.20240712", 29_873_655),
        ("mcr.microsoft.com/oss/kubernetes-csi/azuredisk-csi:v1.30.1", 76_412_110),
        ("mcr.microsoft.com/oss/kubernetes-csi/azurefile-csi:v1.30.2", 81_245_532),
        (DT_OPERATOR_V12_IMAGE, 37_112_530),
        (f"{DT_TENANT}.live.dynatrace.com/linux/oneagent:{CM_VERSION}", 243_981_254),
    ]
    node_names = []
    for pool, vmss, idx, mode, size, zone, ip, cidr, created, taints in nodes_def:
        imgs = list(base_images)
        if pool == "agentpool":
            imgs.append((AZP_IMAGE, 1_318_092_440))
            if idx == 0:
                imgs.append((AZP_IMAGE_OLD, 1_311_771_015))
        if pool == "system":
            imgs.append(("mcr.microsoft.com/oss/kubernetes/coredns:v1.9.4-hotfix.20240704", 15_391_202))
            imgs.append(("mcr.microsoft.com/oss/kubernetes/metrics-server:v0.6.3", 27_501_842))
        n = aks_node(
            cl,
            cluster_rg=cluster_rg,
            cluster_name=cluster_name,
            region=region,
            pool=pool,
            vmss_id=vmss,
            index=idx,
            mode=mode,
            vm_size=size,
            zone=zone,
            ip=ip,
            pod_cidr=cidr,
            created=created,
            node_image=node_image,
            subscription=sub,
            heartbeat=now - sec(hint(pool, idx) % 40),
            taints=taints,
            images=imgs,
            csi_drivers=["csi.oneagent.dynatrace.com"],
        )
        node_names.append(n["metadata"]["name"])
    n_sys, n_a0, n_a1, n_u0, n_u1 = node_names

    # ---- namespaces ----
    cluster_created = T("2023-11-07T09:44:18Z")
    for ns_name in ("default", "kube-node-lease", "kube-public", "kube-system"):
        namespace(cl, ns_name, created=cluster_created)
    namespace(cl, "dynatrace", created=T("2024-03-14T10:02:55Z"))
    namespace(
        cl,
        "build-agents",
        created=T("2024-05-22T08:01:12Z"),
        labels={"dynakube.internal.dynatrace.com/instance": "dynakube"},
    )

    # ---- default / kube-system ----
    service(
        cl,
        "kubernetes",
        "default",
        created=cluster_created,
        selector=None,
        ports=[svc_port(443, 443, "https")],
        cluster_ip="10.0.0.1",
        labels={"component": "apiserver", "provider": "kubernetes"},
    )
    sys_tol = [toleration("CriticalAddonsOnly", "Exists")]
    sys_tol = [toleration("CriticalAddonsOnly", "Exists")]
    add_coredns(
        cl,
        node=n_sys,
        cluster_created=cluster_created,
        rs_created=T("2024-07-23T02:11:08Z"),
        pods_created=T("2024-07-29T04:13:58Z"),
        image="mcr.microsoft.com/oss/kubernetes/coredns:v1.9.4-hotfix.20240704",
    )
    ms_tmpl = template(
        {"k8s-app": "metrics-server"},
        pod_spec(
            [
                container(
                    "metrics-server",
                    "mcr.microsoft.com/oss/kubernetes/metrics-server:v0.6.3",
                    command=[
                        "/metrics-server",
                        "--kubelet-insecure-tls",
                        "--kubelet-preferred-address-types=InternalIP",
                        "--cert-dir=/tmp",
                        "--secure-port=4443",
                        "--metric-resolution=15s",
                    ],
                    ports=[port(4443, "https")],
                    resources=res("150m", "100Mi", "1", "400Mi"),
                    volumeMounts=[vm("tmp-dir", "/tmp")],
                    livenessProbe=probe_http("/livez", "https", period=10, scheme="HTTPS"),
                    readinessProbe=probe_http("/readyz", "https", initial=20, period=10, scheme="HTTPS"),
                    securityContext=secctx(
                        runAsUser=1000,
                        runAsNonRoot=True,
                        readOnlyRootFilesystem=True,
                        allowPrivilegeEscalation=False,
                    ),
                )
            ],
            volumes=[vol_empty("tmp-dir")],
            serviceAccountName="metrics-server",
            priorityClassName="system-cluster-critical",
            nodeSelector={"kubernetes.io/os": "linux"},
            tolerations=sys_tol,
        ),
    )
    msd = deployment(
        cl,
        "metrics-server",
        "kube-system",
        labels={"addonmanager.kubernetes.io/mode": "Reconcile", "k8s-app": "metrics-server"},
        selector={"k8s-app": "metrics-server"},
        tmpl=ms_tmpl,
        replicas=1,
        created=cluster_created,
        generation=4,
        revision=3,
        status=deploy_status(
            generation=4,
            replicas=1,
            updated=1,
            ready=1,
            available=1,
            conditions=[
                available_cond(True, T("2024-07-29T04:14:51Z"), T("2024-07-29T04:14:51Z")),
                progressing_done("metrics-server-7d8c6b9f4f", T("2024-07-29T04:15:10Z"), cluster_created),
            ],
        ),
    )
    ms_rs = replicaset(
        cl,
        msd,
        ms_tmpl,
        hash_="7d8c6b9f4f",
        revision=3,
        replicas=1,
        created=T("2024-07-23T02:11:09Z"),
        generation=1,
        ready=1,
        available=1,
    )
    ms_pod = f"metrics-server-7d8c6b9f4f-{rand_str(5, 'ms')}"
    p = running_pod(
        cl,
        name=ms_pod,
        ns="kube-system",
        tmpl=ms_rs["spec"]["template"],
        owner=ms_rs,
        created=T("2024-07-29T04:14:02Z"),
        node=n_sys,
    )
    p["spec"]["priority"] = 2000000000
    set_log(
        cl,
        "kube-system",
        ms_pod,
        "metrics-server",
        klog(
            T("2024-07-29T04:14:21.118311Z"),
            "I",
            "serving.go:342",
            "Generated self-signed cert (/tmp/apiserver.crt, /tmp/apiserver.key)",
        )
        + klog(
            T("2024-07-29T04:14:21.880410Z"),
            "I",
            "handler.go:232",
            "Adding GroupVersion metrics.k8s.io v1beta1 to ResourceManager",
        )
        + klog(T("2024-07-29T04:14:21.989112Z"), "I", "secure_serving.go:267", "Serving securely on [::]:4443"),
    )
    service(
        cl,
        "metrics-server",
        "kube-system",
        created=cluster_created,
        selector={"k8s-app": "metrics-server"},
        ports=[svc_port(443, "https")],
        cluster_ip="10.0.160.118",
        labels={
            "addonmanager.kubernetes.io/mode": "Reconcile",
            "kubernetes.io/cluster-service": "true",
            "kubernetes.io/name": "Metrics-server",
        },
    )

    # ---- dynatrace namespace (operator v1.2.2 via Helm on 2024-08-09) ----
    t_helm = T("2024-08-09T10:21:37Z")

    def inject_lines(times: list[dt.datetime]) -> str:
        out = ""
        for tt in times:
            pname = "azure-devops-agent-6d9f7c8b45-"
            out += zap(tt, "oneagent-pod-mutation", "injecting OneAgent into pod", podName=pname)
            out += zap(tt + sec(0.01), "oneagent-pod-mutation", "adding OneAgent to container", name="azp-agent")
            out += zap(
                tt + sec(0.02),
                "metadata-enrichment-pod-mutation",
                "injecting metadata-enrichment into pod",
                podName=pname,
            )
            out += zap(
                tt + sec(0.03),
                "pod-mutation",
                "injection finished for pod",
                podName=pname,
                namespace="build-agents",
            )
        return out

    def provisioner(i: int, t0: dt.datetime) -> str:
        del t0
        return zap(
            T("2024-08-13T07:34:15.012Z") + sec(i * 2),
            "csi-provisioner",
            "downloading OneAgent zip",
            version=CM_VERSION,
        ) + zap(
            T("2024-08-13T07:34:58.441Z") + sec(i * 2),
            "csi-provisioner",
            "successfully installed agent",
            version=CM_VERSION,
        )

    dynatrace_stack(
        cl,
        version="1.2.2",
        image=DT_OPERATOR_V12_IMAGE,
        nodes=node_names,
        installed=t_helm,
        helm_created=T("2024-03-14T10:02:58Z"),
        now=now,
        operator_node=n_u0,
        webhook_nodes=[n_u0, n_u1],
        webhook_logs=[inject_lines([t_a_created, t_c_created]), inject_lines([t_b_created, t_b_created])],
        provisioner_log=provisioner,
        csi_tolerations=[toleration("CriticalAddonsOnly", "Equal", "NoSchedule", "true")],
    )

    oa_labels = {
        "app.kubernetes.io/component": "oneagent",
        "app.kubernetes.io/created-by": "dynakube",
        "app.kubernetes.io/managed-by": "dynatrace-operator",
        "app.kubernetes.io/name": "oneagent",
        "app.kubernetes.io/version": CM_VERSION,
        "component.dynatrace.com/feature": "cloud_native_fullstack",
    }
    oa_sel = {
        "app.kubernetes.io/created-by": "dynakube",
        "app.kubernetes.io/managed-by": "dynatrace-operator",
        "app.kubernetes.io/name": "oneagent",
    }
    oa_image = f"{DT_TENANT}.live.dynatrace.com/linux/oneagent:{CM_VERSION}"
    oa_tmpl = template(
        oa_labels,
        pod_spec(
            [
                container(
                    "dynatrace-oneagent",
                    oa_image,
                    args=[
                        "--set-host-property=OperatorVersion=$(DT_OPERATOR_VERSION)",
                        "--set-tenant=$(DT_TENANT)",
                        "--set-server={$(DT_SERVER)}",
                        "--set-host-id-source=auto",
                    ],
                    env=[
                        ev_field("DT_K8S_NODE_NAME", "spec.nodeName"),
                        ev("DT_K8S_CLUSTER_ID", kube_system_uid),
                        ev_cm("DT_DEPLOYMENT_METADATA", "dynakube-deployment-metadata", "oneagent", False),
                        ev_cm("DT_OPERATOR_VERSION", "dynakube-deployment-metadata", "operator", False),
                        ev_cm("DT_TENANT", "dynakube-oneagent-connection-info", "tenant-uuid", False),
                        ev_cm("DT_SERVER", "dynakube-oneagent-connection-info", "communication-endpoints", False),
                        ev("ONEAGENT_READ_ONLY_MODE", "true"),
                    ],
                    resources=res("100m", "512Mi", "300m", "1536Mi"),
                    volumeMounts=[
                        vm(
                            "oneagent-tenant-secret",
                            "/var/lib/dynatrace/secrets/tokens/tenant-token",
                            ro=True,
                            sub_path="tenant-token",
                        ),
                        vm("host-root", "/mnt/root", ro=True),
                        vm("osagent-storage", "/mnt/volume_storage_mount"),
                    ],
                    readinessProbe={
                        "exec": {"command": ["/bin/sh", "-c", "grep -q oneagentwatchdo /proc/[0-9]*/stat"]},
                        "initialDelaySeconds": 30,
                        "timeoutSeconds": 1,
                        "periodSeconds": 30,
                        "successThreshold": 1,
                        "failureThreshold": 3,
                    },
                    imagePullPolicy="IfNotPresent",
                    securityContext=secctx(
                        capabilities={
                            "add": [
                                "CHOWN",
                                "DAC_OVERRIDE",
                                "DAC_READ_SEARCH",
                                "FOWNER",
                                "FSETID",
                                "KILL",
                                "NET_ADMIN",
                                "NET_RAW",
                                "SETFCAP",
                                "SETGID",
                                "SETUID",
                                "SYS_ADMIN",
                                "SYS_CHROOT",
                                "SYS_PTRACE",
                                "SYS_RESOURCE",
                            ],
                            "drop": ["ALL"],
                        },
                        privileged=False,
                        seLinuxOptions={"level": "s0"},
                        runAsUser=1000,
                        runAsGroup=1000,
                        runAsNonRoot=True,
                        readOnlyRootFilesystem=True,
                        allowPrivilegeEscalation=True,
                        seccompProfile={"type": "Unconfined"},
                    ),
                )
            ],
            volumes=[
                vol_host("host-root", "/"),
                vol_secret("oneagent-tenant-secret", "dynakube-oneagent-tenant-secret"),
                vol_csi(
                    "osagent-storage",
                    "csi.oneagent.dynatrace.com",
                    {"dynakube": "dynakube", "mode": "host"},
                    ro=None,
                ),
            ],
            dnsPolicy="ClusterFirstWithHostNet",
            serviceAccountName="dynatrace-dynakube-oneagent",
            hostNetwork=True,
            hostPID=True,
            priorityClassName="dynatrace-high-priority",
            affinity=DT_NODE_AFFINITY,
            tolerations=[
                toleration("node-role.kubernetes.io/master", "Exists", "NoSchedule"),
                toleration("node-role.kubernetes.io/control-plane", "Exists", "NoSchedule"),
                toleration("CriticalAddonsOnly", "Equal", "NoSchedule", "true"),
            ],
        ),
        {"dynatrace.com/inject": "false", "internal.oneagent.dynatrace.com/fingerprint": h("fp")[:40]},
    )
    dk_uid = uid(cl.name, "dynakube", "dynatrace", "dynakube")
    oa_ds = daemonset(
        cl,
        "dynakube-oneagent",
        "dynatrace",
        labels=oa_labels,
        selector=oa_sel,
        tmpl=oa_tmpl,
        created=T("2024-03-14T10:04:12Z"),
        generation=19,
        nodes=5,
    )
    oa_ds["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "dynatrace.com/v1beta2",
            "kind": "DynaKube",
            "name": "dynakube",
            "uid": dk_uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    oa_ds["metadata"] = ordered(oa_ds["metadata"], META_ORDER)
    for i, nd in enumerate(node_names):
        op_ = ds_pod_name("dynakube-oneagent", i)
        t0 = T("2024-08-09T10:24:02Z") + sec(71 * i)
        p = running_pod(
            cl,
            name=op_,
            ns="dynatrace",
            tmpl=ds_template(oa_tmpl, "84c7b6d9f5", 19),
            owner=oa_ds,
            created=t0,
            node=nd,
            ds=True,
            host_network=True,
        )
        p["spec"]["priority"] = 1000000
        set_log(
            cl,
            "dynatrace",
            op_,
            "dynatrace-oneagent",
            f"{t0.strftime('%H:%M:%S')} Bootstrap log written to: "
            "/mnt/host_root/var/log/dynatrace/oneagent/installer/bootstrap.log\n"
            f"{t0.strftime('%H:%M:%S')} Started agent deployment as a container, PID 1234.\n"
            f"{(t0 + sec(1)).strftime('%H:%M:%S')} System version: Linux {nd} 5.15.0-1068-azure #77-Ubuntu SMP x86_64\n"
            f"{(t0 + sec(12)).strftime('%H:%M:%S')} Deployment finished successfully.\n",
        )

    # ---- build-agents namespace ----
    ns_ = "build-agents"
    secret_token = ev_secret("AZP_TOKEN", "azp-agent", "AZP_TOKEN")
    tmpl_v7 = agent_template("aks-linux", secret_token, None, "azure-devops-agent", AZP_IMAGE)
    tmpl_v6 = agent_template("aks-linux", secret_token, None, "azure-devops-agent", AZP_IMAGE_OLD)
    tmpl_v5 = copy.deepcopy(tmpl_v6)
    tmpl_v5["spec"]["containers"][0]["image"] = "myacr.azurecr.io/azp-agent:ubuntu-22.04-3.240.1"
    tmpl_v5["spec"]["containers"][0]["resources"] = res("500m", "1Gi", "2", "2Gi")
    manifest = agent_manifest(
        "azure-devops-agent",
        1,
        "aks-linux",
        {"name": "AZP_TOKEN", "valueFrom": {"secretKeyRef": {"key": "AZP_TOKEN", "name": "azp-agent"}}},
        None,
        "azure-devops-agent",
        AZP_IMAGE,
    )
    dep_created = T("2024-05-22T08:03:40Z")
    t_ready_b = first_after.start
    agent = deployment(
        cl,
        "azure-devops-agent",
        ns_,
        labels={"app": "azure-devops-agent"},
        selector={"app": "azure-devops-agent"},
        tmpl=tmpl_v7,
        replicas=3,
        created=dep_created,
        generation=23,
        revision=7,
        annotations={"kubectl.kubernetes.io/last-applied-configuration": last_applied(manifest)},
        status=deploy_status(
            generation=23,
            replicas=3,
            updated=3,
            ready=1,
            available=1,
            conditions=[
                progressing_done("azure-devops-agent-6d9f7c8b45", T("2024-08-13T06:58:32Z"), dep_created + sec(1)),
                available_cond(False, t_ready_b, T("2024-08-13T07:51:12Z")),
            ],
        ),
    )
    rs7 = replicaset(
        cl,
        agent,
        tmpl_v7,
        hash_="6d9f7c8b45",
        revision=7,
        replicas=3,
        created=T("2024-08-13T06:58:05Z"),
        generation=2,
        ready=1,
        available=1,
    )
    replicaset(
        cl,
        agent,
        tmpl_v6,
        hash_="7b5c6d8f9a",
        desired=1,
        revision=6,
        replicas=0,
        created=T("2024-07-16T13:20:05Z"),
        generation=3,
        ready=0,
        available=0,
    )
    replicaset(
        cl,
        agent,
        tmpl_v5,
        hash_="58d4f7c9b6",
        desired=1,
        revision=5,
        replicas=0,
        created=T("2024-06-25T09:41:27Z"),
        generation=3,
        ready=0,
        available=0,
    )

    mut = dynatrace_v12_webhook(
        dynakube="dynakube",
        cluster_id=kube_system_uid,
        image=DT_OPERATOR_V12_IMAGE,
        code_modules_version=CM_VERSION,
        workload_kind="Deployment",
        workload_name="azure-devops-agent",
        operator_version="v1.2.2",
    )

    def agent_pod(
        suffix: str,
        created: dt.datetime,
        node: str,
        runs: list[Run],
        *,
        pulled: float | None,
        deleted: dt.datetime | None = None,
    ) -> Obj | None:
        name = f"azure-devops-agent-6d9f7c8b45-{suffix}"
        sandbox = created + sec(2)
        init_start = created + sec(3)
        init_end = init_start + sec(1)
        if deleted is None:
            pod = admit_pod(
                cl,
                name=name,
                ns=ns_,
                tmpl=rs7["spec"]["template"],
                owner=rs7,
                created=created,
                node=node,
                mutators=[mut],
            )
        else:
            # a pod deleted before the dump: only its events remain; a stand-in object gives them an owner
            pod = {
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {
                    "name": name,
                    "namespace": ns_,
                    "uid": uid(cl.name, "pod", ns_, name),
                    "resourceVersion": cl.rv(),
                },
            }
        init_id = containerd_id(cl.name, name, "install-oneagent")
        started_runs = [r for r in runs if r.start <= now and (deleted is None or r.start <= deleted)]
        last = started_runs[-1]
        restarts = len(started_runs) - 1
        fp_main = "spec.containers{azp-agent}"
        fp_init = "spec.initContainers{install-oneagent}"
        # events (kubelet, scheduler)
        sched_event(cl, pod, node, created + sec(0.21), sched_inst)
        event(
            cl,
            pod,
            reason="Pulled",
            message=f'Container image "{DT_OPERATOR_V12_IMAGE}" already present on machine',
            first=init_start,
            component="kubelet",
            host=node,
            field_path=fp_init,
        )
        event(
            cl,
            pod,
            reason="Created",
            message="Created container install-oneagent",
            first=init_start,
            component="kubelet",
            host=node,
            field_path=fp_init,
        )
        event(
            cl,
            pod,
            reason="Started",
            message="Started container install-oneagent",
            first=init_start,
            component="kubelet",
            host=node,
            field_path=fp_init,
        )
        present_runs = started_runs
        if pulled is not None:
            event(
                cl,
                pod,
                reason="Pulling",
                message=f'Pulling image "{AZP_IMAGE}"',
                first=init_end + sec(1),
                component="kubelet",
                host=node,
                field_path=fp_main,
            )
            event(
                cl,
                pod,
                reason="Pulled",
                message=f'Successfully pulled image "{AZP_IMAGE}" in {pulled:.3f}s ({pulled:.3f}s including waiting)',
                first=started_runs[0].start - sec(1),
                component="kubelet",
                host=node,
                field_path=fp_main,
            )
            present_runs = started_runs[1:]
        if present_runs:
            event(
                cl,
                pod,
                reason="Pulled",
                message=f'Container image "{AZP_IMAGE}" already present on machine',
                first=present_runs[0].start,
                last=present_runs[-1].start,
                count=len(present_runs),
                component="kubelet",
                host=node,
                field_path=fp_main,
            )
        event(
            cl,
            pod,
            reason="Created",
            message="Created container azp-agent",
            first=started_runs[0].start,
            last=last.start,
            count=len(started_runs),
            component="kubelet",
            host=node,
            field_path=fp_main,
        )
        event(
            cl,
            pod,
            reason="Started",
            message="Started container azp-agent",
            first=started_runs[0].start,
            last=last.start,
            count=len(started_runs),
            component="kubelet",
            host=node,
            field_path=fp_main,
        )
        stop = deleted or now
        bo_last = stop - sec(2) if last.finish < stop else last.start - sec(3)
        event(
            cl,
            pod,
            reason="BackOff",
            message=f"Back-off restarting failed container azp-agent in pod {format_pod(pod)}",
            first=started_runs[0].finish + sec(1),
            last=bo_last,
            count=backoff_count(started_runs, stop),
            type_="Warning",
            component="kubelet",
            host=node,
            field_path=fp_main,
        )
        if deleted is not None:
            if last.finish > deleted:  # only a running container is stopped (and reported) on deletion
                event(
                    cl,
                    pod,
                    reason="Killing",
                    message="Stopping container azp-agent",
                    first=deleted,
                    component="kubelet",
                    host=node,
                    field_path=fp_main,
                )
            return None
        # status
        main_image = AZP_IMAGE
        prev = started_runs[-2] if len(started_runs) > 1 else None
        init_status = cstatus(
            "install-oneagent",
            DT_OPERATOR_V12_IMAGE,
            state=st_terminated(0, "Completed", init_start, init_end, init_id),
            ready=True,
            restarts=0,
            cid=init_id,
            started=False,
        )
        if last.finish > now:  # caught while running again
            state = st_running(last.start)
            lst = st_terminated(134, "Error", prev.start, prev.finish, prev.cid) if prev else {}
            cs = cstatus(
                "azp-agent",
                main_image,
                state=state,
                last=lst,
                ready=True,
                restarts=restarts,
                cid=last.cid,
                started=True,
            )
            ready = (True, last.start)
        else:
            state = st_waiting(
                "CrashLoopBackOff",
                f"back-off 5m0s restarting failed container=azp-agent pod={format_pod(pod)}",
            )
            lst = st_terminated(134, "Error", last.start, last.finish, last.cid)
            cs = cstatus(
                "azp-agent",
                main_image,
                state=state,
                last=lst,
                ready=False,
                restarts=restarts,
                cid=last.cid,
                started=False,
            )
            ready = (False, last.finish)
        set_pod_status(
            cl,
            pod,
            phase="Running",
            scheduled=created,
            sandbox_ready=sandbox,
            initialized=init_end,
            ready=ready,
            init_statuses=[init_status],
            statuses=[cs],
            host_ip=cl.nodes[node]["ip"],
            ip=pod_ip(cl, node, ns_, name),
            not_ready=["azp-agent"],
        )
        # logs
        pid = 50 + hint(name, "pid") % 20
        set_log(
            cl,
            ns_,
            name,
            "install-oneagent",
            install_oneagent_log(init_start + sec(0.31), name, [("azp-agent", AZP_IMAGE)], DT_TENANT, node),
        )
        if last.finish > now:
            set_log(cl, ns_, name, "azp-agent", AZP_STEP1 + AZP_STEP2)
        else:
            set_log(cl, ns_, name, "azp-agent", azp_crash_log(pid))
        set_log(cl, ns_, name, "azp-agent", azp_crash_log(pid + 3), previous=True)
        return pod

    runs_a = crash_loop(T("2024-08-13T06:58:31Z"), 2664, until=now, seed="seed-a", run_s=(14, 22))
    runs_b = [r for r in runs_b_all if r.start <= now]
    runs_d = crash_loop(t_b_created + sec(7), 16, until=T("2024-08-13T08:41:26Z"), seed="seed-d", run_s=(14, 22))
    runs_c = crash_loop(t_c_created + sec(6), 15, until=now, seed="seed-c", run_s=(14, 22))
    sfx = {k: rand_str(5, "agent-pod", k) for k in "abcd"}
    pod_a = agent_pod(sfx["a"], t_a_created, n_a0, runs_a, pulled=17.412)
    pod_b = agent_pod(sfx["b"], t_b_created, n_a1, runs_b, pulled=18.093)
    agent_pod(sfx["d"], t_b_created, n_a0, runs_d, pulled=None, deleted=T("2024-08-13T08:41:26Z"))
    pod_c = agent_pod(sfx["c"], t_c_created, n_a0, runs_c, pulled=None)
    assert pod_a and pod_b and pod_c
    event(
        cl,
        rs7,
        reason="SuccessfulCreate",
        message=f"Created pod: {pod_c['metadata']['name']}",
        first=t_c_created,
        component="replicaset-controller",
    )

    # the healthy peer: same image, opted out of Dynatrace injection, PAT pasted as a literal value
    pat = fake_pat("canary-pat")
    canary_token = ev("AZP_TOKEN", pat)
    canary_ann = {"dynatrace.com/inject": "false"}
    tmpl_canary = agent_template("aks-linux-canary", canary_token, canary_ann, "azure-devops-agent-canary", AZP_IMAGE)
    manifest_c = agent_manifest(
        "azure-devops-agent-canary",
        1,
        "aks-linux-canary",
        {"name": "AZP_TOKEN", "value": pat},
        canary_ann,
        "azure-devops-agent-canary",
        AZP_IMAGE,
    )
    canary = deployment(
        cl,
        "azure-devops-agent-canary",
        ns_,
        labels={"app": "azure-devops-agent-canary"},
        selector={"app": "azure-devops-agent-canary"},
        tmpl=tmpl_canary,
        replicas=1,
        created=t_canary,
        generation=1,
        revision=1,
        annotations={"kubectl.kubernetes.io/last-applied-configuration": last_applied(manifest_c)},
        status=deploy_status(
            generation=1,
            replicas=1,
            updated=1,
            ready=1,
            available=1,
            conditions=[
                available_cond(True, t_canary + sec(6), t_canary + sec(6)),
                progressing_done("azure-devops-agent-canary-5c8b7d9f6d", t_canary + sec(6), t_canary),
            ],
        ),
    )
    rs_c = replicaset(
        cl,
        canary,
        tmpl_canary,
        hash_="5c8b7d9f6d",
        revision=1,
        replicas=1,
        created=t_canary,
        generation=1,
        ready=1,
        available=1,
    )
    cpod_name = f"azure-devops-agent-canary-5c8b7d9f6d-{rand_str(5, 'canary')}"
    cpod = running_pod(
        cl,
        name=cpod_name,
        ns=ns_,
        tmpl=rs_c["spec"]["template"],
        owner=rs_c,
        created=t_canary + sec(0.4),
        node=n_a1,
        mutators=[mut],
    )
    t_cs = T(cpod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"])
    sched_event(cl, cpod, n_a1, t_canary + sec(0.6), sched_inst)
    for reason, msg in (
        ("Pulled", f'Container image "{AZP_IMAGE}" already present on machine'),
        ("Created", "Created container azp-agent"),
        ("Started", "Started container azp-agent"),
    ):
        event(
            cl,
            cpod,
            reason=reason,
            message=msg,
            first=t_cs,
            component="kubelet",
            host=n_a1,
            field_path="spec.containers{azp-agent}",
        )
    event(
        cl,
        canary,
        reason="ScalingReplicaSet",
        message="Scaled up replica set azure-devops-agent-canary-5c8b7d9f6d to 1",
        first=t_canary,
        component="deployment-controller",
    )
    event(
        cl,
        rs_c,
        reason="SuccessfulCreate",
        message=f"Created pod: {cpod_name}",
        first=t_canary,
        component="replicaset-controller",
    )
    set_log(cl, ns_, cpod_name, "azp-agent", azp_healthy_log(t_cs + sec(27), t_cs + sec(33)))

    # ---- DynaKube, webhook configuration, CSIDriver (the engineer's `kubectl get -o yaml` files) ----
    dynakube = {
        "apiVersion": "dynatrace.com/v1beta2",
        "kind": "DynaKube",
        "metadata": {
            "creationTimestamp": "2024-03-14T10:04:09Z",
            "generation": 7,
            "name": "dynakube",
            "namespace": "dynatrace",
            "resourceVersion": cl.rv(),
            "uid": dk_uid,
        },
        "spec": {
            "apiUrl": f"https://{DT_TENANT}.live.dynatrace.com/api",
            "dynatraceApiRequestThreshold": 15,
            "metadataEnrichment": {"enabled": True, "namespaceSelector": {}},
            "oneAgent": {
                "cloudNativeFullStack": {
                    "tolerations": [
                        {
                            "effect": "NoSchedule",
                            "key": "node-role.kubernetes.io/master",
                            "operator": "Exists",
                        },
                        {
                            "effect": "NoSchedule",
                            "key": "node-role.kubernetes.io/control-plane",
                            "operator": "Exists",
                        },
                        {
                            "effect": "NoSchedule",
                            "key": "CriticalAddonsOnly",
                            "operator": "Equal",
                            "value": "true",
                        },
                    ],
                },
            },
            "skipCertCheck": False,
            "tokens": "dynakube",
        },
        "status": {
            "codeModules": {
                "lastProbeTimestamp": ts(now - sec(611)),
                "source": "tenant-registry",
                "version": CM_VERSION,
            },
            "conditions": [
                {
                    "lastTransitionTime": "2024-03-14T10:04:21Z",
                    "message": "Version verified for component.",
                    "reason": "Verified",
                    "status": "True",
                    "type": "CodeModulesVersion",
                },
                {
                    "lastTransitionTime": "2024-03-14T10:04:21Z",
                    "message": "The OneAgent DaemonSet was created successfully.",
                    "reason": "DaemonSetCreated",
                    "status": "True",
                    "type": "OneAgentDaemonSet",
                },
                {
                    "lastTransitionTime": "2024-03-14T10:04:21Z",
                    "message": "Version verified for component.",
                    "reason": "Verified",
                    "status": "True",
                    "type": "OneAgentVersion",
                },
            ],
            "dynatraceApi": {"lastTokenScopeRequest": ts(now - sec(611))},
            "kubeSystemUUID": kube_system_uid,
            "oneAgent": {
                "connectionInfoStatus": {
                    "communicationHosts": [
                        {
                            "host": "sg-eu-west-1-18-202-14-77-prod19-ireland.live.dynatrace.com",
                            "port": 443,
                            "protocol": "https",
                        }
                    ],
                    "endpoints": "https://sg-eu-west-1-18-202-14-77-prod19-ireland.live.dynatrace.com/communication",
                    "lastRequest": ts(now - sec(611)),
                    "tenantUUID": DT_TENANT,
                },
                "healthcheck": {
                    "Interval": 10_000_000_000,
                    "Retries": 3,
                    "StartPeriod": 1_200_000_000_000,
                    "Test": ["CMD-SHELL", "/usr/bin/watchdog-healthcheck64"],
                    "Timeout": 30_000_000_000,
                },
                "instances": {
                    nd: {"ipAddress": cl.nodes[nd]["ip"], "podName": ds_pod_name("dynakube-oneagent", i)}
                    for i, nd in enumerate(node_names)
                },
                "lastInstanceStatusUpdate": ts(now - sec(12)),
                "lastProbeTimestamp": ts(now - sec(611)),
                "source": "tenant-registry",
                "version": CM_VERSION,
            },
            "phase": "Running",
            "updatedTimestamp": ts(now - sec(12)),
        },
    }
    event(
        cl,
        {"kind": "DynaKube", "apiVersion": "dynatrace.com/v1beta2", "metadata": dynakube["metadata"]},
        reason="Inject",
        message="Injecting the necessary info into pod azure-devops-agent-6d9f7c8b45- in namespace build-agents",
        first=t_a_created,
        last=t_c_created,
        count=4,
        component="dynatrace-webhook",
    )

    ca = pem_bundle("dynatrace-webhook-ca")
    mwc = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "annotations": dict(HELM_ANN),
            "creationTimestamp": "2024-03-14T10:02:58Z",
            "generation": 27,
            "labels": {**HELM_LABELS_122, "app.kubernetes.io/component": "webhook"},
            "name": "dynatrace-webhook",
            "resourceVersion": cl.rv(),
            "uid": uid(cl.name, "mwc", "dynatrace-webhook"),
        },
        "webhooks": [
            {
                "admissionReviewVersions": ["v1beta1", "v1"],
                "clientConfig": {
                    "caBundle": ca,
                    "service": {
                        "name": "dynatrace-webhook",
                        "namespace": "dynatrace",
                        "path": "/inject",
                        "port": 443,
                    },
                },
                "failurePolicy": "Ignore",
                "matchPolicy": "Equivalent",
                "name": "webhook.pod.dynatrace.com",
                "namespaceSelector": {
                    "matchExpressions": [{"key": "dynakube.internal.dynatrace.com/instance", "operator": "Exists"}]
                },
                "objectSelector": {},
                "reinvocationPolicy": "IfNeeded",
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["pods"],
                        "scope": "Namespaced",
                    }
                ],
                "sideEffects": "None",
                "timeoutSeconds": 10,
            },
            {
                "admissionReviewVersions": ["v1beta1", "v1"],
                "clientConfig": {
                    "caBundle": ca,
                    "service": {
                        "name": "dynatrace-webhook",
                        "namespace": "dynatrace",
                        "path": "/label-ns",
                        "port": 443,
                    },
                },
                "failurePolicy": "Ignore",
                "matchPolicy": "Equivalent",
                "name": "webhook.ns.dynatrace.com",
                "namespaceSelector": {},
                "objectSelector": {},
                "reinvocationPolicy": "IfNeeded",
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["namespaces"],
                        "scope": "Cluster",
                    }
                ],
                "sideEffects": "None",
                "timeoutSeconds": 10,
            },
        ],
    }
    csidriver = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {
            "annotations": dict(HELM_ANN),
            "creationTimestamp": "2024-03-14T10:02:58Z",
            "labels": {**HELM_LABELS_122, "app.kubernetes.io/component": "csi-driver"},
            "name": "csi.oneagent.dynatrace.com",
            "resourceVersion": cl.rv(),
            "uid": uid(cl.name, "csidriver"),
        },
        "spec": {
            "attachRequired": False,
            "fsGroupPolicy": "ReadWriteOnceWithFSType",
            "podInfoOnMount": True,
            "requiresRepublish": False,
            "seLinuxMount": False,
            "storageCapacity": False,
            "volumeLifecycleModes": ["Ephemeral"],
        },
    }
    keep_recent(cl, now)
    extras = {
        "dynakube": dynakube,
        "mwc": mwc,
        "csidriver": csidriver,
        "now": now,
        "pods": {
            "a": pod_a,
            "b": pod_b,
            "c": pod_c,
            "canary": cpod,
            "d": f"azure-devops-agent-6d9f7c8b45-{sfx['d']}",
        },
        "pat": pat,
        "runs": {"a": runs_a, "b": runs_b, "c": runs_c},
    }
    return cl, extras


def write_seed(out: Path) -> None:
    cl, x = build_seed()
    write_cluster_info_dump(cl, out, "json")
    write_log_files(cl, out)
    namespaces_ = [o for o in cl.objects if o["kind"] == "Namespace"]
    cluster_scoped = get_list(
        [
            {"kind": "MutatingWebhookConfiguration", **{k: v for k, v in x["mwc"].items() if k != "kind"}},
            *sorted(namespaces_, key=lambda o: o["metadata"]["name"]),
            {"kind": "CSIDriver", **{k: v for k, v in x["csidriver"].items() if k != "kind"}},
        ]
    )
    write(out / "cluster-scoped.yaml", go_yaml(cluster_scoped))
    write(out / "dynakube.yaml", go_yaml(x["dynakube"]))
    p = x["pods"]
    runs = x["runs"]
    a, b, c = p["a"]["metadata"]["name"], p["b"]["metadata"]["name"], p["c"]["metadata"]["name"]
    readme = SEED_README.format(
        now=ts(x["now"]),
        a=a,
        b=b,
        c=c,
        d=p["d"],
        canary=p["canary"]["metadata"]["name"],
        ra=len(runs["a"]) - 1,
        rb=len(runs["b"]) - 1,
        rc=len(runs["c"]) - 1,
        a_first=ts(runs["a"][0].start),
        a_fail=ts(runs["a"][0].finish),
        cm=CM_VERSION,
    )
    write(out / "README.md", readme)


# ==================================================================================================
# Dynatrace operator v1.7 (bootstrapper) mutation: init "dynatrace-operator", dynatrace-config/-input
# Source: Dynatrace/dynatrace-operator v1.7.2 pkg/webhook/mutation/pod/{handle,init,attributes}.go,
#         mutator/oneagent/{init,mutator,volumes,env}.go, mutator/metadata/mutator.go, volumes/volumes.go
# ==================================================================================================


def dynatrace_v17_webhook(
    *,
    dynakube: str,
    cluster_uid: str,
    image: str,
    tenant: str,
    operator_version: str,
    workload_kind: str,
    workload_name: str,
    namespace_: str,
    cluster_name: str,
    cluster_entity: str,
) -> Mutator:
    def mutate(pod: Obj) -> None:
        ann = pod["metadata"]["annotations"]
        if _false(ann.get("dynatrace.com/inject")):
            return
        spec = pod["spec"]
        init: Obj = {
            "name": "dynatrace-operator",
            "image": image,
            "args": [
                "bootstrap",
                "--config-directory=/mnt/config",
                "--input-directory=/mnt/input",
                "--suppress-error",
            ],
            "resources": res("30m", "30Mi", "100m", "60Mi"),
            "volumeMounts": [],
            "imagePullPolicy": "IfNotPresent",
            "securityContext": secctx(
                capabilities={"drop": ["ALL"]},
                privileged=False,
                runAsUser=1001,
                runAsGroup=1001,
                runAsNonRoot=True,
                readOnlyRootFilesystem=True,
                allowPrivilegeEscalation=False,
                seccompProfile={"type": "RuntimeDefault"},
            ),
        }
        # OneAgent: CSI bin volume, read-only bin mount for the init container, fullstack args
        spec.setdefault("volumes", []).append(
            vol_csi(
                "oneagent-bin",
                "csi.oneagent.dynatrace.com",
                {"dynakube": dynakube, "mode": "app", "retryTimeout": "10m0s"},
                ro=True,
            )
        )
        init["volumeMounts"].append(vm("oneagent-bin", "/mnt/bin", ro=True))
        init["args"] += [
            "--source=/opt/dynatrace/oneagent",
            "--target=/mnt/bin",
            "--install-path=/opt/dynatrace/oneagent-paas",
            "--fullstack",
            f"--tenant={tenant}",
        ]
        for c in spec["containers"]:
            c.setdefault("volumeMounts", []).extend(
                [
                    vm("oneagent-bin", "/opt/dynatrace/oneagent-paas", ro=True),
                    vm("dynatrace-config", "/etc/ld.so.preload", sub_path="oneagent/ld.so.preload"),
                ]
            )
            env = c.setdefault("env", [])
            env.append(
                ev(
                    "DT_DEPLOYMENT_METADATA",
                    f"orchestration_tech=Operator-cloud_native_fullstack;script_version={operator_version};"
                    f"orchestrator_id={cluster_uid}",
                )
            )
            env.append(ev("LD_PRELOAD", "/opt/dynatrace/oneagent-paas/agent/lib64/liboneagentproc.so"))
            env.append(ev("DT_STORAGE", "/var/lib/dynatrace/oneagent"))
        ann["oneagent.dynatrace.com/injected"] = "true"
        # metadata enrichment
        ann["metadata.dynatrace.com"] = "{}"
        ann["metadata-enrichment.dynatrace.com/injected"] = "true"
        ann["metadata.dynatrace.com/k8s.workload.kind"] = workload_kind.lower()
        ann["metadata.dynatrace.com/k8s.workload.name"] = workload_name
        init["args"] += [
            f"--attribute=k8s.workload.kind={workload_kind.lower()}",
            f"--attribute=k8s.workload.name={workload_name}",
            "--metadata-enrichment",
        ]
        # container and pod attributes
        for c in spec["containers"]:
            registry, _, rest = c["image"].partition("/")
            repo, _, tag = rest.rpartition(":")
            attrs = {
                "container_image.registry": registry,
                "container_image.repository": repo,
                "container_image.tags": tag,
                "k8s.container.name": c["name"],
            }
            init["args"].append("--attribute-container=" + json.dumps(attrs, separators=(",", ":")))
            c["volumeMounts"].append(vm("dynatrace-config", "/var/lib/dynatrace", sub_path=c["name"]))
        init["env"] = [
            ev_field("K8S_PODNAME", "metadata.name"),
            ev_field("K8S_PODUID", "metadata.uid"),
            ev_field("K8S_NODE_NAME", "spec.nodeName"),
        ]
        init["args"] += [
            "--attribute=k8s.pod.name=$(K8S_PODNAME)",
            "--attribute=k8s.pod.uid=$(K8S_PODUID)",
            "--attribute=k8s.node.name=$(K8S_NODE_NAME)",
            f"--attribute=k8s.namespace.name={namespace_}",
            f"--attribute=k8s.cluster.uid={cluster_uid}",
            f"--attribute=dt.entity.kubernetes_cluster={cluster_entity}",
            f"--attribute=k8s.cluster.name={cluster_name}",
        ]
        init["volumeMounts"] += [
            vm("dynatrace-config", "/mnt/config"),
            vm("dynatrace-input", "/mnt/input", ro=True),
        ]
        spec["volumes"].append(
            {
                "name": "dynatrace-input",
                "projected": {
                    "sources": [
                        {"secret": {"name": "dynatrace-bootstrapper-config", "optional": False}},
                        {"secret": {"name": "dynatrace-bootstrapper-certs", "optional": True}},
                    ],
                    "defaultMode": 420,
                },
            }
        )
        spec["volumes"].append(vol_empty("dynatrace-config"))
        spec.setdefault("initContainers", []).append(ordered(init, CONTAINER_ORDER))
        ann["dynakube.dynatrace.com/injected"] = "true"
        pod["metadata"]["annotations"] = gomap(ann)

    return mutate


def dynatrace_stack(
    cl: Cluster,
    *,
    version: str,
    image: str,
    nodes: list[str],
    installed: dt.datetime,
    helm_created: dt.datetime,
    now: dt.datetime,
    webhook_logs: list[str] | None = None,
    provisioner_log: Callable[[int, dt.datetime], str] | None = None,
    webhook_replicas: int = 2,
    csi_tolerations: list[Obj] | None = None,
    operator_node: str,
    webhook_nodes: list[str],
) -> dict[str, Obj]:
    """Operator, webhook and CSI driver as the Helm chart of ``version`` installs them in ``dynatrace``."""
    helm = {
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/name": "dynatrace-operator",
        "app.kubernetes.io/version": version,
        "helm.sh/chart": f"dynatrace-operator-{version}",
    }
    rev = 4
    op_labels = {**helm, "app.kubernetes.io/component": "operator"}
    op_tmpl = template(
        {**op_labels, "name": "dynatrace-operator"},
        pod_spec(
            [
                container(
                    "operator",
                    image,
                    args=["operator"],
                    ports=[port(10080, "server-port")],
                    env=[
                        ev_field("POD_NAMESPACE", "metadata.namespace"),
                        ev_field("POD_NAME", "metadata.name"),
                    ],
                    resources=res("50m", "64Mi", "100m", "128Mi"),
                    volumeMounts=[vm("tmp-cert-dir", "/tmp/dynatrace-operator")],
                    livenessProbe=probe_http("/livez", "server-port", initial=15, period=10),
                    imagePullPolicy="Always",
                    securityContext=DT_SECCTX,
                )
            ],
            volumes=[vol_empty("tmp-cert-dir")],
            serviceAccountName="dynatrace-operator",
            securityContext={"seccompProfile": {"type": "RuntimeDefault"}},
            affinity=DT_NODE_AFFINITY,
        ),
        {"dynatrace.com/inject": "false"},
    )
    h_op = pod_template_hash(cl.name, "operator", version)
    op = deployment(
        cl,
        "dynatrace-operator",
        "dynatrace",
        labels=op_labels,
        selector={"name": "dynatrace-operator"},
        tmpl=op_tmpl,
        replicas=1,
        created=helm_created,
        generation=rev,
        revision=rev,
        annotations=HELM_ANN,
        revision_history=1,
        status=deploy_status(
            generation=rev,
            replicas=1,
            updated=1,
            ready=1,
            available=1,
            conditions=[
                available_cond(True, installed + sec(31), installed + sec(31)),
                progressing_done(f"dynatrace-operator-{h_op}", installed + sec(31), helm_created),
            ],
        ),
    )
    op_rs = replicaset(
        cl,
        op,
        op_tmpl,
        hash_=h_op,
        revision=rev,
        replicas=1,
        created=installed,
        generation=1,
        ready=1,
        available=1,
    )
    op_pod = f"dynatrace-operator-{h_op}-{rand_str(5, cl.name, 'op')}"
    running_pod(
        cl,
        name=op_pod,
        ns="dynatrace",
        tmpl=op_rs["spec"]["template"],
        owner=op_rs,
        created=installed + sec(1),
        node=operator_node,
    )
    set_log(
        cl,
        "dynatrace",
        op_pod,
        "operator",
        "".join(
            [
                zap(
                    installed + sec(9.2),
                    "main",
                    "dynatrace-operator",
                    version=f"v{version}",
                    goVersion="go1.22.6",
                    platform="linux/amd64",
                ),
                zap(
                    installed + sec(9.9),
                    "dynakube",
                    "reconciling DynaKube",
                    namespace="dynatrace",
                    name="dynakube",
                ),
                zap(now - sec(12), "dynakube", "reconciling DynaKube", namespace="dynatrace", name="dynakube"),
            ]
        ),
    )

    wh_labels = {**helm, "app.kubernetes.io/component": "webhook"}
    wh_sel = {"internal.dynatrace.com/app": "webhook", "internal.dynatrace.com/component": "webhook"}
    wh_tmpl = template(
        {**wh_labels, **wh_sel},
        pod_spec(
            [
                container(
                    "webhook",
                    image,
                    args=["webhook-server", "--certs-dir=/tmp/k8s-webhook-server/serving-certs/"],
                    ports=[port(8443, "server-port"), port(10080, "livez")],
                    env=[
                        ev_field("POD_NAMESPACE", "metadata.namespace"),
                        ev_field("POD_NAME", "metadata.name"),
                    ],
                    resources=res("300m", "128Mi", "300m", "128Mi"),
                    volumeMounts=[vm("certs-dir", "/tmp/k8s-webhook-server/serving-certs/")],
                    livenessProbe=probe_http("/livez", "livez", initial=15, period=10),
                    readinessProbe=probe_http("/readyz", "livez", initial=15, period=10),
                    imagePullPolicy="Always",
                    securityContext=DT_SECCTX,
                )
            ],
            volumes=[vol_empty("certs-dir")],
            serviceAccountName="dynatrace-webhook",
            securityContext={"seccompProfile": {"type": "RuntimeDefault"}},
            affinity=DT_NODE_AFFINITY,
            topologySpreadConstraints=[
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": gomap(wh_sel)},
                },
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": gomap(wh_sel)},
                },
            ],
        ),
        {"dynatrace.com/inject": "false", "kubectl.kubernetes.io/default-container": "webhook"},
    )
    h_wh = pod_template_hash(cl.name, "webhook", version)
    wh = deployment(
        cl,
        "dynatrace-webhook",
        "dynatrace",
        labels=wh_labels,
        selector=wh_sel,
        tmpl=wh_tmpl,
        replicas=webhook_replicas,
        created=helm_created,
        generation=rev,
        revision=rev,
        annotations=HELM_ANN,
        revision_history=1,
        status=deploy_status(
            generation=rev,
            replicas=webhook_replicas,
            updated=webhook_replicas,
            ready=webhook_replicas,
            available=webhook_replicas,
            conditions=[
                available_cond(True, installed + sec(44), installed + sec(44)),
                progressing_done(f"dynatrace-webhook-{h_wh}", installed + sec(44), helm_created),
            ],
        ),
    )
    wh_rs = replicaset(
        cl,
        wh,
        wh_tmpl,
        hash_=h_wh,
        revision=rev,
        replicas=webhook_replicas,
        created=installed,
        generation=1,
        ready=webhook_replicas,
        available=webhook_replicas,
    )
    for i in range(webhook_replicas):
        wp = f"dynatrace-webhook-{h_wh}-{rand_str(5, cl.name, 'wh', i)}"
        running_pod(
            cl,
            name=wp,
            ns="dynatrace",
            tmpl=wh_rs["spec"]["template"],
            owner=wh_rs,
            created=installed + sec(1 + i),
            node=webhook_nodes[i % len(webhook_nodes)],
        )
        log = zap(
            installed + sec(12.3),
            "main",
            "dynatrace-operator",
            version=f"v{version}",
            goVersion="go1.22.6",
            platform="linux/amd64",
        )
        log += zap(installed + sec(13.0), "pod-mutation", "registered /inject endpoint")
        log += zap(installed + sec(13.0), "pod-mutation", "registered /livez endpoint")
        if webhook_logs and i < len(webhook_logs):
            log += webhook_logs[i]
        set_log(cl, "dynatrace", wp, "webhook", log)
    service(
        cl,
        "dynatrace-webhook",
        "dynatrace",
        created=helm_created,
        selector=wh_labels,
        ports=[svc_port(443, "server-port")],
        cluster_ip=f"10.0.{hint(cl.name, 'whsvc') % 200 + 20}.177",
        labels=wh_labels,
        annotations=HELM_ANN,
    )

    csi_labels = {**helm, "app.kubernetes.io/component": "csi-driver"}
    csi_sel = {
        "internal.oneagent.dynatrace.com/app": "csi-driver",
        "internal.oneagent.dynatrace.com/component": "csi-driver",
    }
    priv = secctx(
        privileged=True,
        seLinuxOptions={"level": "s0"},
        runAsUser=0,
        runAsNonRoot=False,
        readOnlyRootFilesystem=True,
        allowPrivilegeEscalation=True,
        seccompProfile={"type": "RuntimeDefault"},
    )
    plain = secctx(
        privileged=False,
        runAsUser=0,
        runAsNonRoot=False,
        readOnlyRootFilesystem=True,
        allowPrivilegeEscalation=False,
        seccompProfile={"type": "RuntimeDefault"},
    )
    csi_tmpl = template(
        {**csi_labels, **csi_sel},
        pod_spec(
            [
                container(
                    "server",
                    image,
                    args=[
                        "csi-server",
                        "--endpoint=unix://csi/csi.sock",
                        "--node-id=$(KUBE_NODE_NAME)",
                        "--health-probe-bind-address=:10080",
                    ],
                    ports=[port(10080, "livez")],
                    env=[
                        ev_field("POD_NAMESPACE", "metadata.namespace"),
                        ev_field("KUBE_NODE_NAME", "spec.nodeName"),
                    ],
                    resources=res("50m", "100Mi", "50m", "100Mi"),
                    volumeMounts=[
                        vm("plugin-dir", "/csi"),
                        vm("mountpoint-dir", "/var/lib/kubelet/pods/", propagation="Bidirectional"),
                        vm("data-dir", "/data", propagation="Bidirectional"),
                        vm("tmp-dir", "/tmp"),
                    ],
                    livenessProbe=probe_http("/livez", "livez", initial=5, period=5),
                    imagePullPolicy="Always",
                    securityContext=priv,
                ),
                container(
                    "provisioner",
                    image,
                    args=["csi-provisioner", "--health-probe-bind-address=:10090"],
                    ports=[port(10090, "livez")],
                    env=[ev_field("POD_NAMESPACE", "metadata.namespace")],
                    resources=res("300m", "100Mi"),
                    volumeMounts=[
                        vm("data-dir", "/data", propagation="Bidirectional"),
                        vm("tmp-dir", "/tmp"),
                    ],
                    livenessProbe=probe_http("/livez", "livez", initial=5, period=5),
                    imagePullPolicy="Always",
                    securityContext=priv,
                ),
                container(
                    "registrar",
                    image,
                    command=["csi-node-driver-registrar"],
                    args=[
                        "--csi-address=/csi/csi.sock",
                        "--kubelet-registration-path=$(DRIVER_REG_SOCK_PATH)",
                    ],
                    env=[
                        ev(
                            "DRIVER_REG_SOCK_PATH",
                            "/var/lib/kubelet/plugins/csi.oneagent.dynatrace.com/csi.sock",
                        )
                    ],
                    resources=res("20m", "30Mi", "20m", "30Mi"),
                    volumeMounts=[
                        vm("plugin-dir", "/csi"),
                        vm("registration-dir", "/registration"),
                        vm("lockfile-dir", "/var/lib/kubelet/plugins/csi.oneagent.dynatrace.com/"),
                    ],
                    imagePullPolicy="Always",
                    securityContext=plain,
                ),
                container(
                    "liveness-probe",
                    image,
                    command=["livenessprobe"],
                    args=["--csi-address=/csi/csi.sock", "--health-port=9898"],
                    resources=res("20m", "30Mi", "20m", "30Mi"),
                    volumeMounts=[vm("plugin-dir", "/csi")],
                    imagePullPolicy="Always",
                    securityContext=plain,
                ),
            ],
            initContainers=[
                container(
                    "csi-init",
                    image,
                    args=["csi-init"],
                    resources=res("50m", "100Mi", "50m", "100Mi"),
                    volumeMounts=[vm("data-dir", "/data")],
                    imagePullPolicy="Always",
                    securityContext=plain,
                )
            ],
            volumes=[
                vol_host("registration-dir", "/var/lib/kubelet/plugins_registry/", "Directory"),
                vol_host("plugin-dir", "/var/lib/kubelet/plugins/csi.oneagent.dynatrace.com/", "DirectoryOrCreate"),
                vol_host(
                    "data-dir",
                    "/var/lib/kubelet/plugins/csi.oneagent.dynatrace.com/data",
                    "DirectoryOrCreate",
                ),
                vol_host("mountpoint-dir", "/var/lib/kubelet/pods/", "DirectoryOrCreate"),
                vol_empty("lockfile-dir"),
                vol_empty("tmp-dir"),
            ],
            serviceAccountName="dynatrace-oneagent-csi-driver",
            priorityClassName="dynatrace-high-priority",
            affinity=DT_NODE_AFFINITY,
            tolerations=[
                toleration("node-role.kubernetes.io/master", "Exists", "NoSchedule"),
                toleration("node-role.kubernetes.io/control-plane", "Exists", "NoSchedule"),
                *(csi_tolerations or []),
                toleration("ToBeDeletedByClusterAutoscaler", "Exists", "NoSchedule"),
            ],
        ),
        {
            "cluster-autoscaler.kubernetes.io/enable-ds-eviction": "false",
            "dynatrace.com/inject": "false",
            "kubectl.kubernetes.io/default-container": "provisioner",
        },
    )
    csi_ds = daemonset(
        cl,
        "dynatrace-oneagent-csi-driver",
        "dynatrace",
        labels=csi_labels,
        selector=csi_sel,
        tmpl=csi_tmpl,
        created=helm_created,
        generation=rev,
        nodes=len(nodes),
        annotations=HELM_ANN,
    )
    csi_rev = rand_str(10, cl.name, "csirev")
    for i, nd in enumerate(nodes):
        cp = ds_pod_name("dynatrace-oneagent-csi-driver", cl.name, i)
        t0 = installed + sec(4 + 37 * i)
        p = running_pod(
            cl,
            name=cp,
            ns="dynatrace",
            tmpl=ds_template(csi_tmpl, csi_rev, rev),
            owner=csi_ds,
            created=t0,
            node=nd,
            ds=True,
        )
        p["spec"]["priority"] = 1000000
        set_log(cl, "dynatrace", cp, "csi-init", zap(t0 + sec(4.1), "csi-init", "checking csi metadata database"))
        set_log(
            cl,
            "dynatrace",
            cp,
            "server",
            zap(t0 + sec(6.2), "csi-driver", "starting listener", protocol="unix", address="csi/csi.sock")
            + zap(t0 + sec(6.3), "csi-driver", "server started"),
        )
        prov = zap(
            t0 + sec(6.8),
            "csi-provisioner",
            "reconciling DynaKube",
            namespace="dynatrace",
            dynakube="dynakube",
        )
        if provisioner_log:
            prov += provisioner_log(i, t0)
        prov += zap(
            now - sec(303 - i),
            "csi-provisioner",
            "reconciling DynaKube",
            namespace="dynatrace",
            dynakube="dynakube",
        )
        set_log(cl, "dynatrace", cp, "provisioner", prov)
        set_log(
            cl,
            "dynatrace",
            cp,
            "registrar",
            klog(t0 + sec(6.1), "I", "main.go:135", "Version: v2.10.1")
            + klog(
                t0 + sec(6.4),
                "I",
                "node_register.go:53",
                "Starting Registration Server at: /registration/csi.oneagent.dynatrace.com-reg.sock",
            )
            + klog(
                t0 + sec(7.2),
                "I",
                "main.go:101",
                "Received NotifyRegistrationStatus call: &RegistrationStatus{PluginRegistered:true,Error:,}",
            ),
        )
        set_log(
            cl,
            "dynatrace",
            cp,
            "liveness-probe",
            klog(t0 + sec(6.6), "I", "main.go:155", 'CSI driver name: "csi.oneagent.dynatrace.com"'),
        )
    return {"operator": op, "webhook": wh, "csi": csi_ds}


def dynatrace_mwc(cl: Cluster, *, version: str, created: str) -> Obj:
    helm = {
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/name": "dynatrace-operator",
        "app.kubernetes.io/version": version,
        "helm.sh/chart": f"dynatrace-operator-{version}",
        "app.kubernetes.io/component": "webhook",
    }
    ca = pem_bundle(cl.name, "dynatrace-webhook-ca")

    def wh(name: str, path: str, ops: list[str], resource: str, scope: str, ns_sel: Obj) -> Obj:
        return {
            "admissionReviewVersions": ["v1beta1", "v1"],
            "clientConfig": {
                "caBundle": ca,
                "service": {"name": "dynatrace-webhook", "namespace": "dynatrace", "path": path, "port": 443},
            },
            "failurePolicy": "Ignore",
            "matchPolicy": "Equivalent",
            "name": name,
            "namespaceSelector": ns_sel,
            "objectSelector": {},
            "reinvocationPolicy": "IfNeeded",
            "rules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ops,
                    "resources": [resource],
                    "scope": scope,
                }
            ],
            "sideEffects": "None",
            "timeoutSeconds": 10,
        }

    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "annotations": dict(HELM_ANN),
            "creationTimestamp": created,
            "generation": 9,
            "labels": helm,
            "name": "dynatrace-webhook",
            "resourceVersion": cl.rv(),
            "uid": uid(cl.name, "mwc", "dynatrace"),
        },
        "webhooks": [
            wh(
                "webhook.pod.dynatrace.com",
                "/inject",
                ["CREATE"],
                "pods",
                "Namespaced",
                {"matchExpressions": [{"key": "dynakube.internal.dynatrace.com/instance", "operator": "Exists"}]},
            ),
            wh("webhook.ns.dynatrace.com", "/label-ns", ["CREATE", "UPDATE"], "namespaces", "Cluster", {}),
        ],
    }


def small_aks_cluster(
    cl: Cluster,
    *,
    name: str,
    rg: str,
    region: str,
    pools: list[tuple[str, str, int, str]],
    created: dt.datetime,
    now: dt.datetime,
    node_image: str,
    images: list[tuple[str, int]],
    csi_drivers: list[str] | None = None,
) -> list[str]:
    """AKS nodes: pools given as (pool, vmss id, count, mode); the first pool is the tainted system pool."""
    sub = uid("subscription", name)
    out = []
    n = 0
    for pool, vmss, count, mode in pools:
        for i in range(count):
            taints = (
                [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}] if mode == "system" else None
            )
            node = aks_node(
                cl,
                cluster_rg=rg,
                cluster_name=name,
                region=region,
                pool=pool,
                vmss_id=vmss,
                index=i,
                mode=mode,
                vm_size="Standard_D4s_v5",
                zone=1 + n % 3,
                ip=f"10.224.0.{4 + n}",
                pod_cidr=f"10.244.{n}.0/24",
                created=created + sec(n * 7),
                node_image=node_image,
                subscription=sub,
                heartbeat=now - sec(hint(name, pool, i) % 40),
                taints=taints,
                images=images,
                csi_drivers=csi_drivers,
            )
            out.append(node["metadata"]["name"])
            n += 1
    return out


def default_namespaces(cl: Cluster, created: dt.datetime) -> None:
    for ns_name in ("default", "kube-node-lease", "kube-public", "kube-system"):
        namespace(cl, ns_name, created=created)
    service(
        cl,
        "kubernetes",
        "default",
        created=created,
        selector=None,
        ports=[svc_port(443, 443, "https")],
        cluster_ip="10.0.0.1",
        labels={"component": "apiserver", "provider": "kubernetes"},
    )


def crashing_pod(
    cl: Cluster,
    *,
    name: str,
    ns: str,
    rs: Obj,
    created: dt.datetime,
    node: str,
    now: dt.datetime,
    mutators: Iterable[Mutator],
    runs: list[Run],
    container_name: str,
    exit_code: int,
    reason: str,
    log: str,
    image_pulled: float | None = None,
    init_images_present: bool = True,
    pull_bytes: int | None = None,
) -> Obj:
    """A pod whose main container crash-loops (waiting CrashLoopBackOff at ``now``), with its events."""
    pod = admit_pod(
        cl,
        name=name,
        ns=ns,
        tmpl=rs["spec"]["template"],
        owner=rs,
        created=created,
        node=node,
        mutators=mutators,
    )
    main = next(c for c in pod["spec"]["containers"] if c["name"] == container_name)
    t = created + sec(2)
    init_st = []
    sched_event(cl, pod, node, created + sec(0.2), "default-scheduler-" + rand_str(5, cl.name, "sched"))
    for c in pod["spec"].get("initContainers", []):
        s0 = t + sec(1)
        f0 = s0 + sec(1 + hint(name, c["name"]) % 2)
        cid = containerd_id(cl.name, name, c["name"])
        init_st.append(
            cstatus(
                c["name"],
                c["image"],
                state=st_terminated(0, "Completed", s0, f0, cid),
                ready=True,
                restarts=0,
                cid=cid,
                started=False,
            )
        )
        fp = f"spec.initContainers{{{c['name']}}}"
        if init_images_present:
            event(
                cl,
                pod,
                reason="Pulled",
                message=f'Container image "{c["image"]}" already present on machine',
                first=s0,
                component="kubelet",
                host=node,
                field_path=fp,
            )
        else:
            event(
                cl,
                pod,
                reason="Pulling",
                message=f'Pulling image "{c["image"]}"',
                first=s0 - sec(3),
                component="kubelet",
                host=node,
                field_path=fp,
            )
            event(
                cl,
                pod,
                reason="Pulled",
                message=pulled_message(cl, c["image"], 2.871, 31_457_280),
                first=s0,
                component="kubelet",
                host=node,
                field_path=fp,
            )
        event(
            cl,
            pod,
            reason="Created",
            message=created_message(cl, c["name"]),
            first=s0,
            component="kubelet",
            host=node,
            field_path=fp,
        )
        event(
            cl,
            pod,
            reason="Started",
            message=started_message(cl, c["name"]),
            first=s0,
            component="kubelet",
            host=node,
            field_path=fp,
        )
        t = f0
    started_runs = [r for r in runs if r.start <= now]
    last = started_runs[-1]
    fp = f"spec.containers{{{container_name}}}"
    present = started_runs
    if image_pulled is not None:
        event(
            cl,
            pod,
            reason="Pulling",
            message=f'Pulling image "{main["image"]}"',
            first=t + sec(1),
            component="kubelet",
            host=node,
            field_path=fp,
        )
        event(
            cl,
            pod,
            reason="Pulled",
            message=pulled_message(cl, main["image"], image_pulled, pull_bytes or 201_326_592),
            first=started_runs[0].start,
            component="kubelet",
            host=node,
            field_path=fp,
        )
        present = started_runs[1:]
    if present:
        event(
            cl,
            pod,
            reason="Pulled",
            message=f'Container image "{main["image"]}" already present on machine',
            first=present[0].start,
            last=present[-1].start,
            count=len(present),
            component="kubelet",
            host=node,
            field_path=fp,
        )
    event(
        cl,
        pod,
        reason="Created",
        message=created_message(cl, container_name),
        first=started_runs[0].start,
        last=last.start,
        count=len(started_runs),
        component="kubelet",
        host=node,
        field_path=fp,
    )
    event(
        cl,
        pod,
        reason="Started",
        message=started_message(cl, container_name),
        first=started_runs[0].start,
        last=last.start,
        count=len(started_runs),
        component="kubelet",
        host=node,
        field_path=fp,
    )
    event(
        cl,
        pod,
        reason="BackOff",
        message=f"Back-off restarting failed container {container_name} in pod {format_pod(pod)}",
        first=started_runs[0].finish + sec(1),
        last=now - sec(2),
        count=backoff_count(started_runs, now),
        type_="Warning",
        component="kubelet",
        host=node,
        field_path=fp,
    )
    statuses = []
    for c in pod["spec"]["containers"]:
        if c["name"] == container_name:
            backoff = min(10 * 2 ** (len(started_runs) - 1), 300)
            human = f"{backoff // 60}m{backoff % 60}s" if backoff >= 60 else f"{backoff}s"
            statuses.append(
                cstatus(
                    c["name"],
                    c["image"],
                    state=st_waiting(
                        "CrashLoopBackOff",
                        f"back-off {human} restarting failed container={c['name']} pod={format_pod(pod)}",
                    ),
                    last=st_terminated(exit_code, reason, last.start, last.finish, last.cid),
                    ready=False,
                    restarts=len(started_runs) - 1,
                    cid=last.cid,
                    started=False,
                )
            )
        else:
            cid = containerd_id(cl.name, name, c["name"])
            statuses.append(
                cstatus(
                    c["name"],
                    c["image"],
                    state=st_running(t + sec(1)),
                    ready=True,
                    restarts=0,
                    cid=cid,
                    started=True,
                )
            )
    set_pod_status(
        cl,
        pod,
        phase="Running",
        scheduled=created,
        sandbox_ready=created + sec(2),
        initialized=t if init_st else created,
        ready=(False, last.finish),
        init_statuses=init_st or None,
        statuses=statuses,
        host_ip=cl.nodes[node]["ip"] if node in cl.nodes else node_ip_of(cl, node),
        ip=pod_ip_any(cl, node, ns, name),
        not_ready=[container_name],
    )
    set_log(cl, ns, name, container_name, log)
    set_log(cl, ns, name, container_name, log, previous=True)
    return pod


def pulled_message(cl: Cluster, image: str, secs: float, size: int) -> str:
    base = f'Successfully pulled image "{image}" in {secs:.3f}s ({secs:.3f}s including waiting)'
    if cl.minor >= 30:
        base += f". Image size: {size} bytes."
    return base


def created_message(cl: Cluster, c: str) -> str:
    return f"Created container: {c}" if cl.minor >= 32 else f"Created container {c}"


def started_message(cl: Cluster, c: str) -> str:
    return f"Started container: {c}" if cl.minor >= 32 else f"Started container {c}"


# Plain-directory bundles have no Node objects; nodes get a synthetic address plan.
def node_ip_of(cl: Cluster, node: str) -> str:
    return f"10.20.{8 + hint(cl.name, node, 'subnet') % 3 * 16}.{10 + hint(cl.name, node) % 200}"


def pod_ip_any(cl: Cluster, node: str, *parts: object) -> str:
    if node in cl.nodes and cl.nodes[node]["cidr"]:
        return pod_ip(cl, node, *parts)
    third = 8 + hint(cl.name, node, "subnet") % 3 * 16 + 1 + hint(cl.name, *parts) % 14
    return f"10.20.{third}.{10 + hint(cl.name, 'pod', *parts) % 240}"


def register_plain_nodes(cl: Cluster, nodes: list[str]) -> None:
    for n in nodes:
        cl.nodes[n] = {"ip": node_ip_of(cl, n), "cidr": "", "zone": ""}


def plain_running_pod(cl: Cluster, **kw: Any) -> Obj:
    """running_pod for clusters whose nodes are not part of the bundle."""
    return running_pod(cl, **kw)


# ==================================================================================================
# Bundle 2: datadog-java-agent (Datadog admission controller, library injection v1 layout)
# Source: DataDog/datadog-agent pkg/clusteragent/admission/mutate/{config,autoinstrumentation}, common.InjectEnv
# ==================================================================================================


def datadog_config_webhook() -> Mutator:
    """datadog.webhook.agent.config (hostip mode): DD_AGENT_HOST, DD_ENTITY_ID, prepended."""

    def mutate(pod: Obj) -> None:
        if pod["metadata"]["labels"].get("admission.datadoghq.com/enabled") != "true":
            return
        for env in (ev_field("DD_AGENT_HOST", "status.hostIP"), ev_field("DD_ENTITY_ID", "metadata.uid")):
            for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
                if not any(e["name"] == env["name"] for e in c.get("env", [])):
                    c["env"] = [copy.deepcopy(env), *c.get("env", [])]

    return mutate


def datadog_lib_webhook(lang: str, version: str, *, install_time: str, install_id: str) -> Mutator:
    """datadog.webhook.lib.injection for an opted-in pod carrying admission.datadoghq.com/<lang>-lib.version."""
    env_by_lang = {
        "java": (
            "JAVA_TOOL_OPTIONS",
            " -javaagent:/datadog-lib/dd-java-agent.jar -XX:OnError=/datadog-lib/"
            "continuousprofiler/tmp/dd_crash_uploader.sh -XX:ErrorFile=/datadog-lib/continuousprofiler/tmp/"
            "hs_err_pid_%p.log",
        ),
        "js": ("NODE_OPTIONS", " --require=/datadog-lib/node_modules/dd-trace/init"),
    }

    def inject_env(pod: Obj, env: Obj) -> None:
        for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
            if not any(e["name"] == env["name"] for e in c.get("env", [])):
                c["env"] = [copy.deepcopy(env), *c.get("env", [])]

    def mutate(pod: Obj) -> None:
        if pod["metadata"]["labels"].get("admission.datadoghq.com/enabled") != "true":
            return
        if any(c["name"] == f"datadog-lib-{lang}-init" for c in pod["spec"].get("initContainers", [])):
            return
        inject_env(pod, ev("DD_INSTRUMENTATION_INSTALL_TIME", install_time))
        inject_env(pod, ev("DD_INSTRUMENTATION_INSTALL_ID", install_id))
        inject_env(pod, ev("DD_INSTRUMENTATION_INSTALL_TYPE", "k8s_lib_injection"))
        key, value = env_by_lang[lang]
        for c in pod["spec"]["containers"]:
            env = c.setdefault("env", [])
            existing = next((e for e in env if e["name"] == key), None)
            if existing is None:
                env.append(ev(key, value))
            else:
                existing["value"] = existing.get("value", "") + value
            if not any(m["name"] == "datadog-auto-instrumentation" for m in c.get("volumeMounts", [])):
                c.setdefault("volumeMounts", []).append(vm("datadog-auto-instrumentation", "/datadog-lib"))
        init = container(
            f"datadog-lib-{lang}-init",
            f"gcr.io/datadoghq/dd-lib-{lang}-init:{version}",
            command=["sh", "copy-lib.sh", "/datadog-lib"],
            resources={
                "limits": {"cpu": "50m", "memory": "20971520"},
                "requests": {"cpu": "50m", "memory": "20971520"},
            },
            volumeMounts=[vm("datadog-auto-instrumentation", "/datadog-lib")],
        )
        pod["spec"]["initContainers"] = [init, *pod["spec"].get("initContainers", [])]
        pod["spec"].setdefault("volumes", []).append(vol_empty("datadog-auto-instrumentation"))

    return mutate


def datadog_mwc(cl: Cluster, created: str) -> Obj:
    ca = pem_bundle(cl.name, "datadog")

    def wh(name: str, path: str) -> Obj:
        return {
            "admissionReviewVersions": ["v1", "v1beta1"],
            "clientConfig": {
                "caBundle": ca,
                "service": {
                    "name": "datadog-admission-controller",
                    "namespace": "datadog",
                    "path": path,
                    "port": 443,
                },
            },
            "failurePolicy": "Ignore",
            "matchPolicy": "Exact",
            "name": name,
            "namespaceSelector": {},
            "objectSelector": {"matchLabels": {"admission.datadoghq.com/enabled": "true"}},
            "reinvocationPolicy": "IfNeeded",
            "rules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE"],
                    "resources": ["pods"],
                    "scope": "*",
                }
            ],
            "sideEffects": "None",
            "timeoutSeconds": 10,
        }

    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "creationTimestamp": created,
            "generation": 4,
            "name": "datadog-webhook",
            "resourceVersion": cl.rv(),
            "uid": uid(cl.name, "mwc", "datadog-webhook"),
        },
        "webhooks": [
            wh("datadog.webhook.agent.config", "/injectconfig"),
            wh("datadog.webhook.standard.tags", "/injecttags"),
            wh("datadog.webhook.lib.injection", "/injectlib"),
        ],
    }


JAVA_AGENT_FAILURE = (
    "Picked up JAVA_TOOL_OPTIONS:  -javaagent:/datadog-lib/dd-java-agent.jar -XX:OnError=/datadog-lib/"
    "continuousprofiler/tmp/dd_crash_uploader.sh -XX:ErrorFile=/datadog-lib/continuousprofiler/tmp/hs_err_pid_%p.log\n"
    "Error opening zip file or JAR manifest missing : /datadog-lib/dd-java-agent.jar\n"
    "Error occurred during initialization of VM\n"
    "agent library failed to init: instrument\n"
)


def dd_template(
    app: str,
    image: str,
    version: str,
    extra_labels: dict[str, str],
    extra_ann: dict[str, str],
    env: list[Obj],
    port_: int,
    mem: str,
    sc: Obj | None = None,
) -> Obj:
    labels = {
        "app": app,
        "tags.datadoghq.com/env": "prod",
        "tags.datadoghq.com/service": app,
        "tags.datadoghq.com/version": version,
        **extra_labels,
    }
    c = container(
        app,
        image,
        env=[
            ev_field("DD_ENV", "metadata.labels['tags.datadoghq.com/env']"),
            ev_field("DD_SERVICE", "metadata.labels['tags.datadoghq.com/service']"),
            ev_field("DD_VERSION", "metadata.labels['tags.datadoghq.com/version']"),
            *env,
        ],
        ports=[port(port_, "http")],
        resources=res("250m", mem, "1", mem),
        readinessProbe=probe_http("/healthz", "http", initial=10, period=10),
        imagePullPolicy="IfNotPresent",
    )
    kw: dict[str, Any] = {}
    if sc:
        kw["securityContext"] = sc
    return template(labels, pod_spec([c], serviceAccountName=app, **kw), extra_ann or None)


def build_datadog(out: Path) -> None:
    cl = Cluster("datadog-java-agent", "1.28.9", 913_440_000)
    now = T("2024-05-14T13:54:08Z")
    nodes = [
        "ip-10-20-41-17.eu-west-1.compute.internal",
        "ip-10-20-58-203.eu-west-1.compute.internal",
        "ip-10-20-73-9.eu-west-1.compute.internal",
    ]
    register_plain_nodes(cl, nodes)
    ns_ = "billing"
    nso = namespace(cl, ns_, created=T("2023-09-04T08:12:44Z"))
    img_new = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/billing/invoice-service:2.14.0"
    img_old = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/billing/invoice-service:2.13.2"
    app_env = [ev("SPRING_PROFILES_ACTIVE", "prod"), ev("SERVER_PORT", "8080")]
    sc = {"runAsUser": 10001, "runAsGroup": 10001, "runAsNonRoot": True}
    t_new = dd_template(
        "invoice-service",
        img_new,
        "2.14.0",
        {"admission.datadoghq.com/enabled": "true"},
        {"admission.datadoghq.com/java-lib.version": "v1.34.0"},
        app_env,
        8080,
        "768Mi",
        sc,
    )
    t_old = dd_template("invoice-service", img_old, "2.13.2", {}, {}, app_env, 8080, "768Mi", sc)
    t_rollout = T("2024-05-14T13:02:11Z")
    dep = deployment(
        cl,
        "invoice-service",
        ns_,
        labels={"app": "invoice-service"},
        selector={"app": "invoice-service"},
        tmpl=t_new,
        replicas=2,
        created=T("2023-09-04T08:14:02Z"),
        generation=9,
        revision=9,
        status=deploy_status(
            generation=9,
            replicas=3,
            updated=1,
            ready=2,
            available=2,
            conditions=[
                available_cond(True, T("2024-04-30T09:20:41Z"), T("2024-04-30T09:20:41Z")),
                cond_deploy(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    'ReplicaSet "invoice-service-7d9c5b8f6c" has timed out progressing.',
                    t_rollout + sec(601),
                    t_rollout + sec(601),
                ),
            ],
        ),
    )
    rs_new = replicaset(
        cl,
        dep,
        t_new,
        hash_="7d9c5b8f6c",
        revision=9,
        replicas=1,
        created=t_rollout,
        generation=1,
        ready=0,
        available=0,
    )
    rs_old = replicaset(
        cl,
        dep,
        t_old,
        hash_="6b4f8d7c59",
        revision=8,
        replicas=2,
        created=T("2024-04-30T09:19:55Z"),
        generation=1,
        ready=2,
        available=2,
    )
    muts = [
        datadog_config_webhook(),
        datadog_lib_webhook("java", "v1.34.0", install_time="1715585437", install_id=uid("dd-install")),
    ]
    for i, nd in enumerate(nodes[:2]):
        pn = f"invoice-service-6b4f8d7c59-{rand_str(5, 'dd-old', i)}"
        plain_running_pod(
            cl,
            name=pn,
            ns=ns_,
            tmpl=rs_old["spec"]["template"],
            owner=rs_old,
            created=T("2024-04-30T09:19:56Z") + sec(31 * i),
            node=nd,
            mutators=muts,
        )
    pname = f"invoice-service-7d9c5b8f6c-{rand_str(5, 'dd-new')}"
    runs = crash_loop(t_rollout + sec(9), 1, until=now, seed="dd-java", run_s=(1, 1))
    crashing_pod(
        cl,
        name=pname,
        ns=ns_,
        rs=rs_new,
        created=t_rollout + sec(0.3),
        node=nodes[2],
        now=now,
        mutators=muts,
        runs=runs,
        container_name="invoice-service",
        exit_code=1,
        reason="Error",
        log=JAVA_AGENT_FAILURE,
        image_pulled=6.218,
        init_images_present=False,
    )
    cl.logs[(ns_, pname, "datadog-lib-java-init")] = ""
    event(
        cl,
        dep,
        reason="ScalingReplicaSet",
        message="Scaled up replica set invoice-service-7d9c5b8f6c to 1",
        first=t_rollout,
        component="deployment-controller",
    )
    event(
        cl,
        rs_new,
        reason="SuccessfulCreate",
        message=f"Created pod: {pname}",
        first=t_rollout + sec(0.3),
        component="replicaset-controller",
    )
    keep_recent(cl, now)
    docs = [
        unstructured(nso),
        unstructured(dep),
        unstructured(rs_new),
        unstructured(rs_old),
        *[unstructured(p) for p in cl.of("Pod", ns_)],
        datadog_mwc(cl, "2023-06-12T10:41:07Z"),
    ]
    write(out / "objects.yaml", yaml_stream(docs))
    write(out / "events.json", go_json(get_list(cl.of("Event", ns_)), sort_keys=True))
    write_log_files(cl, out, current=True)
    restarts = len([r for r in runs if r.start <= now]) - 1
    write(out / "README.md", DATADOG_README.format(pod=pname, restarts=restarts, now=ts(now)))


# ==================================================================================================
# Bundle 3: opentelemetry-dotnet-startup-hook (OTel operator .NET auto-instrumentation; YAML cluster-info dump)
# Source: open-telemetry/opentelemetry-operator pkg/instrumentation/{dotnet,sdk}.go (0.10x)
# ==================================================================================================


def otel_dotnet_webhook(
    *,
    image: str,
    endpoint: str,
    rs_name: str,
    deployment_name: str,
    ns: str,
    version: str,
    sampler: tuple[str, str],
) -> Mutator:
    def mutate(pod: Obj) -> None:
        c = pod["spec"]["containers"][0]
        env = c.setdefault("env", [])
        home = "/otel-auto-instrumentation-dotnet"
        for k, v in (
            ("CORECLR_ENABLE_PROFILING", "1"),
            ("CORECLR_PROFILER", "{918728DD-259F-4A6A-AC2B-B85E1B658318}"),
            ("CORECLR_PROFILER_PATH", f"{home}/linux-x64/OpenTelemetry.AutoInstrumentation.Native.so"),
            ("DOTNET_STARTUP_HOOKS", f"{home}/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll"),
            ("DOTNET_ADDITIONAL_DEPS", f"{home}/AdditionalDeps"),
            ("OTEL_DOTNET_AUTO_HOME", home),
            ("DOTNET_SHARED_STORE", f"{home}/store"),
        ):
            env.append(ev(k, v))
        c.setdefault("volumeMounts", []).append(vm("opentelemetry-auto-instrumentation-dotnet", home))
        pod["spec"].setdefault("volumes", []).append(
            vol_empty("opentelemetry-auto-instrumentation-dotnet", size="200Mi")
        )
        init = container(
            "opentelemetry-auto-instrumentation-dotnet",
            image,
            command=["cp", "-r", "/autoinstrumentation/.", home],
            resources=res("50m", "128Mi", "500m", "128Mi"),
            volumeMounts=[vm("opentelemetry-auto-instrumentation-dotnet", home)],
            imagePullPolicy="IfNotPresent",
        )
        if c.get("securityContext"):
            init["securityContext"] = copy.deepcopy(c["securityContext"])
            init = ordered(init, CONTAINER_ORDER)
        pod["spec"].setdefault("initContainers", []).append(init)
        c["env"] = [
            ev_field("OTEL_NODE_IP", "status.hostIP"),
            ev_field("OTEL_POD_IP", "status.podIP"),
            *c["env"],
        ]
        c["env"] += [
            ev("OTEL_SERVICE_NAME", deployment_name),
            ev("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ev_field("OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "metadata.name"),
            ev_field("OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "spec.nodeName"),
            ev("OTEL_PROPAGATORS", "tracecontext,baggage"),
            ev("OTEL_TRACES_SAMPLER", sampler[0]),
            ev("OTEL_TRACES_SAMPLER_ARG", sampler[1]),
            ev(
                "OTEL_RESOURCE_ATTRIBUTES",
                f"k8s.container.name={c['name']},k8s.deployment.name={deployment_name},k8s.namespace.name={ns},"
                "k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),"
                f"k8s.replicaset.name={rs_name},service.version={version}",
            ),
        ]

    return mutate


OTEL_STARTUP_HOOK_FAILURE = (
    "Unhandled exception. System.ArgumentException: Startup hook assembly '/otel-auto-instrumentation-dotnet/net/"
    "OpenTelemetry.AutoInstrumentation.StartupHook.dll' failed to load. See inner exception for details.\n"
    " ---> System.IO.FileNotFoundException: Could not load file or assembly '/otel-auto-instrumentation-dotnet/net/"
    "OpenTelemetry.AutoInstrumentation.StartupHook.dll'. The system cannot find the file specified.\n"
    "\n"
    "File name: '/otel-auto-instrumentation-dotnet/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll'\n"
    "   at System.Runtime.Loader.AssemblyLoadContext.LoadFromAssemblyPath(String assemblyPath)\n"
    "   at System.Reflection.Assembly.LoadFrom(String assemblyFile)\n"
    "   at System.StartupHookProvider.CallStartupHook(StartupHookNameOrPath startupHook)\n"
    "   --- End of inner exception stack trace ---\n"
    "   at System.StartupHookProvider.CallStartupHook(StartupHookNameOrPath startupHook)\n"
    "   at System.StartupHookProvider.ProcessStartupHooks(String diagnosticStartupHooks)\n"
)


def build_otel(out: Path) -> None:
    cl = Cluster("opentelemetry-dotnet-startup-hook", "1.29.4", 61_020_000)
    now = T("2024-06-18T11:05:43Z")
    created = T("2024-02-20T15:31:09Z")
    images = [("mcr.microsoft.com/oss/kubernetes/coredns:v1.9.4-hotfix.20240314", 15_371_002)]
    nodes = small_aks_cluster(
        cl,
        name="aks-shop-neu",
        rg="rg-shop",
        region="northeurope",
        pools=[("system", "40193874", 1, "system"), ("apps", "51288403", 2, "user")],
        created=T("2024-06-03T03:58:12Z"),
        now=now,
        node_image="AKSUbuntu-2204gen2containerd-202405.27.0",
        images=images,
    )
    default_namespaces(cl, created)
    add_coredns(
        cl,
        node=nodes[0],
        cluster_created=created,
        rs_created=T("2024-05-30T01:12:09Z"),
        pods_created=T("2024-06-03T04:00:31Z"),
        image="mcr.microsoft.com/oss/kubernetes/coredns:v1.9.4-hotfix.20240314",
    )
    namespace(cl, "opentelemetry-operator-system", created=T("2024-03-05T12:01:40Z"))
    ns_ = "orders"
    ns_obj = namespace(
        cl,
        ns_,
        created=T("2024-02-21T09:10:11Z"),
        annotations={"instrumentation.opentelemetry.io/inject-dotnet": "true"},
    )
    # operator
    op_img = "ghcr.io/open-telemetry/opentelemetry-operator/opentelemetry-operator:0.102.0"
    op_tmpl = template(
        {"app.kubernetes.io/name": "opentelemetry-operator", "control-plane": "controller-manager"},
        pod_spec(
            [
                container(
                    "manager",
                    op_img,
                    args=[
                        "--metrics-addr=127.0.0.1:8080",
                        "--enable-leader-election",
                        "--zap-log-level=info",
                        "--zap-time-encoding=rfc3339nano",
                        "--enable-nginx-instrumentation=true",
                    ],
                    ports=[port(9443, "webhook-server")],
                    env=[ev("ENABLE_WEBHOOKS", "true")],
                    resources=res("100m", "64Mi"),
                    volumeMounts=[vm("cert", "/tmp/k8s-webhook-server/serving-certs", ro=True)],
                    livenessProbe=probe_http("/healthz", 8081, initial=15, period=20),
                    readinessProbe=probe_http("/readyz", 8081, initial=5, period=10),
                )
            ],
            serviceAccountName="opentelemetry-operator-controller-manager",
            volumes=[vol_secret("cert", "opentelemetry-operator-controller-manager-service-cert")],
        ),
    )
    op = deployment(
        cl,
        "opentelemetry-operator-controller-manager",
        "opentelemetry-operator-system",
        labels={"app.kubernetes.io/name": "opentelemetry-operator", "control-plane": "controller-manager"},
        selector={"app.kubernetes.io/name": "opentelemetry-operator", "control-plane": "controller-manager"},
        tmpl=op_tmpl,
        replicas=1,
        created=T("2024-03-05T12:01:44Z"),
        generation=3,
        revision=3,
        status=deploy_status(
            generation=3,
            replicas=1,
            updated=1,
            ready=1,
            available=1,
            conditions=[
                available_cond(True, T("2024-06-10T08:12:20Z"), T("2024-06-10T08:12:20Z")),
                progressing_done(
                    "opentelemetry-operator-controller-manager-7c6f9d8b5c",
                    T("2024-06-10T08:12:20Z"),
                    T("2024-03-05T12:01:44Z"),
                ),
            ],
        ),
    )
    op_rs = replicaset(
        cl,
        op,
        op_tmpl,
        hash_="7c6f9d8b5c",
        revision=3,
        replicas=1,
        created=T("2024-06-10T08:12:01Z"),
        generation=1,
        ready=1,
        available=1,
    )
    op_pod = f"opentelemetry-operator-controller-manager-7c6f9d8b5c-{rand_str(5, 'otelop')}"
    running_pod(
        cl,
        name=op_pod,
        ns="opentelemetry-operator-system",
        tmpl=op_rs["spec"]["template"],
        owner=op_rs,
        created=T("2024-06-10T08:12:02Z"),
        node=nodes[1],
    )
    t_app = T("2024-06-18T10:12:37Z")
    app_img = "shopacr.azurecr.io/orders/orders-api:3.4.1"
    rs_hash = "5f7d9c8b6d"
    otel_logs = ""
    for i in range(2):
        tt = t_app + sec(0.4 + i * 0.2)
        otel_logs += (
            json.dumps(
                {
                    "level": "info",
                    "ts": ts_micro(tt).replace("Z", "") + "123Z",
                    "logger": "instrumentation",
                    "msg": "injecting DotNet instrumentation into pod",
                    "otelinst-namespace": ns_,
                    "otelinst-name": "default",
                },
                separators=(",", ":"),
            )
            + "\n"
        )
    set_log(
        cl,
        "opentelemetry-operator-system",
        op_pod,
        "manager",
        json.dumps(
            {
                "level": "info",
                "ts": "2024-06-10T08:12:19.004711231Z",
                "msg": "Starting the OpenTelemetry Operator",
                "opentelemetry-operator": "0.102.0",
            },
            separators=(",", ":"),
        )
        + "\n"
        + otel_logs,
    )
    svc_created = T("2024-03-05T12:01:44Z")
    service(
        cl,
        "opentelemetry-operator-webhook",
        "opentelemetry-operator-system",
        created=svc_created,
        selector={"app.kubernetes.io/name": "opentelemetry-operator", "control-plane": "controller-manager"},
        ports=[svc_port(443, "webhook-server")],
        cluster_ip="10.0.211.40",
    )
    # the application
    app_tmpl = template(
        {"app": "orders-api", "app.kubernetes.io/version": "3.4.1"},
        pod_spec(
            [
                container(
                    "orders-api",
                    app_img,
                    env=[
                        ev("ASPNETCORE_URLS", "http://+:8080"),
                        ev("ASPNETCORE_ENVIRONMENT", "Production"),
                        ev_secret("ConnectionStrings__Orders", "orders-db", "connectionString"),
                    ],
                    ports=[port(8080, "http")],
                    resources=res("250m", "256Mi", "1", "512Mi"),
                    livenessProbe=probe_http("/health/live", "http", initial=10, period=10),
                    readinessProbe=probe_http("/health/ready", "http", initial=5, period=5),
                    imagePullPolicy="IfNotPresent",
                )
            ],
            nodeSelector={"kubernetes.azure.com/agentpool": "apps"},
        ),
    )
    dep = deployment(
        cl,
        "orders-api",
        ns_,
        labels={"app": "orders-api"},
        selector={"app": "orders-api"},
        tmpl=app_tmpl,
        replicas=2,
        created=T("2024-02-21T09:12:40Z"),
        generation=14,
        revision=12,
        status=deploy_status(
            generation=14,
            replicas=2,
            updated=2,
            ready=0,
            available=0,
            conditions=[
                available_cond(False, t_app + sec(602), t_app + sec(602)),
                cond_deploy(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "orders-api-{rs_hash}" has timed out progressing.',
                    t_app + sec(602),
                    t_app + sec(602),
                ),
            ],
        ),
    )
    rs = replicaset(
        cl,
        dep,
        app_tmpl,
        hash_=rs_hash,
        revision=12,
        replicas=2,
        created=t_app,
        generation=1,
        ready=0,
        available=0,
    )
    replicaset(
        cl,
        dep,
        app_tmpl | {},
        hash_="6c8b5d7f94",
        revision=11,
        replicas=0,
        created=T("2024-06-11T14:20:03Z"),
        generation=3,
        ready=0,
        available=0,
    )
    mut = otel_dotnet_webhook(
        image="shopacr.azurecr.io/platform/otel-dotnet-autoinstr:2024.05",
        endpoint="http://otel-collector.observability.svc.cluster.local:4318",
        rs_name=f"orders-api-{rs_hash}",
        deployment_name="orders-api",
        ns=ns_,
        version="3.4.1",
        sampler=("parentbased_traceidratio", "0.25"),
    )
    pods = []
    for i in range(2):
        pn = f"orders-api-{rs_hash}-{rand_str(5, 'otel', i)}"
        runs = crash_loop(t_app + sec(14 + i), 1, until=now, seed=f"otel-{i}", run_s=(1, 2))
        crashing_pod(
            cl,
            name=pn,
            ns=ns_,
            rs=rs,
            created=t_app + sec(0.4 + i * 0.2),
            node=nodes[1 + i],
            now=now,
            mutators=[mut],
            runs=runs,
            container_name="orders-api",
            exit_code=134,
            reason="Error",
            log=OTEL_STARTUP_HOOK_FAILURE,
            image_pulled=4.402 + i,
            init_images_present=False,
            pull_bytes=88_412_203,
        )
        cl.logs[(ns_, pn, "opentelemetry-auto-instrumentation-dotnet")] = ""
        pods.append((pn, len([r for r in runs if r.start <= now]) - 1))
    event(
        cl,
        rs,
        reason="SuccessfulCreate",
        message=f"Created pod: {pods[0][0]}",
        first=t_app + sec(0.4),
        component="replicaset-controller",
    )
    event(
        cl,
        rs,
        reason="SuccessfulCreate",
        message=f"Created pod: {pods[1][0]}",
        first=t_app + sec(0.6),
        component="replicaset-controller",
    )
    event(
        cl,
        dep,
        reason="ScalingReplicaSet",
        message=f"Scaled up replica set orders-api-{rs_hash} to 2",
        first=t_app,
        component="deployment-controller",
    )
    keep_recent(cl, now)
    write_cluster_info_dump(cl, out, "yaml")
    write_log_files(cl, out)
    inst = {
        "apiVersion": "opentelemetry.io/v1alpha1",
        "kind": "Instrumentation",
        "metadata": {
            "creationTimestamp": "2024-03-05T12:20:31Z",
            "generation": 4,
            "name": "default",
            "namespace": ns_,
            "resourceVersion": cl.rv(),
            "uid": uid(cl.name, "instrumentation"),
        },
        "spec": {
            "dotnet": {
                "image": "shopacr.azurecr.io/platform/otel-dotnet-autoinstr:2024.05",
                "resourceRequirements": {
                    "limits": {"cpu": "500m", "memory": "128Mi"},
                    "requests": {"cpu": "50m", "memory": "128Mi"},
                },
            },
            "exporter": {"endpoint": "http://otel-collector.observability.svc.cluster.local:4318"},
            "propagators": ["tracecontext", "baggage"],
            "resource": {},
            "sampler": {"argument": "0.25", "type": "parentbased_traceidratio"},
        },
    }
    ca = pem_bundle(cl.name, "otel")
    mwc = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "annotations": {
                "cert-manager.io/inject-ca-from": "opentelemetry-operator-system/opentelemetry-operator-serving-cert"
            },
            "creationTimestamp": "2024-03-05T12:01:44Z",
            "generation": 6,
            "labels": {"app.kubernetes.io/name": "opentelemetry-operator"},
            "name": "opentelemetry-operator-mutating-webhook-configuration",
            "resourceVersion": cl.rv(),
            "uid": uid(cl.name, "mwc"),
        },
        "webhooks": [
            {
                "admissionReviewVersions": ["v1"],
                "clientConfig": {
                    "caBundle": ca,
                    "service": {
                        "name": "opentelemetry-operator-webhook",
                        "namespace": "opentelemetry-operator-system",
                        "path": "/mutate-opentelemetry-io-v1alpha1-instrumentation",
                        "port": 443,
                    },
                },
                "failurePolicy": "Fail",
                "matchPolicy": "Equivalent",
                "name": "minstrumentation.kb.io",
                "namespaceSelector": {},
                "objectSelector": {},
                "reinvocationPolicy": "Never",
                "rules": [
                    {
                        "apiGroups": ["opentelemetry.io"],
                        "apiVersions": ["v1alpha1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["instrumentations"],
                        "scope": "*",
                    }
                ],
                "sideEffects": "None",
                "timeoutSeconds": 10,
            },
            {
                "admissionReviewVersions": ["v1"],
                "clientConfig": {
                    "caBundle": ca,
                    "service": {
                        "name": "opentelemetry-operator-webhook",
                        "namespace": "opentelemetry-operator-system",
                        "path": "/mutate-v1-pod",
                        "port": 443,
                    },
                },
                "failurePolicy": "Ignore",
                "matchPolicy": "Equivalent",
                "name": "mpod.kb.io",
                "namespaceSelector": {},
                "objectSelector": {},
                "reinvocationPolicy": "Never",
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["pods"],
                        "scope": "*",
                    }
                ],
                "sideEffects": "None",
                "timeoutSeconds": 10,
            },
        ],
    }
    write(out / "namespace-orders.yaml", go_yaml(unstructured(ns_obj)))
    write(out / "instrumentation.yaml", go_yaml(inst))
    write(out / "mutatingwebhookconfiguration.yaml", go_yaml(mwc))
    write(
        out / "README.md",
        OTEL_README.format(p0=pods[0][0], p1=pods[1][0], r0=pods[0][1], r1=pods[1][1], now=ts(now)),
    )


# ==================================================================================================
# Bundle 4: instana-alpine-musl (Instana AutoTrace webhook; glibc library preloaded into a musl process)
# ==================================================================================================


def instana_webhook(version: str) -> Mutator:
    def mutate(pod: Obj) -> None:
        if pod["metadata"]["labels"].get("instana-autotrace") == "false":
            return
        spec = pod["spec"]
        spec.setdefault("volumes", []).append(vol_empty("instana-instrumentation-volume"))
        init = container(
            "instana-instrumentation-init",
            f"icr.io/instana/instrumentation:{version}",
            command=["cp", "-r", "/instana/.", "/opt/instana/instrumentation/"],
            resources=res("150m", "64Mi", "250m", "256Mi"),
            volumeMounts=[vm("instana-instrumentation-volume", "/opt/instana/instrumentation")],
            imagePullPolicy="IfNotPresent",
        )
        spec.setdefault("initContainers", []).append(init)
        for c in spec["containers"]:
            c.setdefault("volumeMounts", []).append(
                vm("instana-instrumentation-volume", "/opt/instana/instrumentation")
            )
            env = c.setdefault("env", [])
            env += [
                ev_field("INSTANA_AGENT_HOST", "status.hostIP"),
                ev("LD_PRELOAD", "/opt/instana/instrumentation/libinstana_init/libinstana_init.so"),
                ev(
                    "NODE_OPTIONS",
                    "--require /opt/instana/instrumentation/nodejs/node_modules/@instana/collector/src/immediate",
                ),
                ev("INSTANA_INSTRUMENT_NODEJS", "true"),
            ]
        pod["metadata"]["labels"]["instana-autotrace-applied"] = "true"
        pod["metadata"]["labels"]["instana-autotrace-version"] = version
        pod["metadata"]["labels"] = gomap(pod["metadata"]["labels"])

    return mutate


MUSL_RELOCATION_FAILURE = (
    "Error relocating /opt/instana/instrumentation/libinstana_init/libinstana_init.so: "
    "__snprintf_chk: symbol not found\n"
    "Error relocating /opt/instana/instrumentation/libinstana_init/libinstana_init.so: "
    "__vfprintf_chk: symbol not found\n"
)


def build_instana(out: Path) -> None:
    cl = Cluster("instana-alpine-musl", "1.28.11", 2_210_500)
    now = T("2024-09-03T16:41:19Z")
    nodes = ["worker-04.k8s.prod.internal", "worker-07.k8s.prod.internal"]
    register_plain_nodes(cl, nodes)
    ns_ = "storefront"
    nso = namespace(cl, ns_, created=T("2024-01-15T10:00:03Z"))
    img = "registry.example.com/storefront/catalog-web:4.7.2-alpine"
    tmpl = template(
        {"app": "catalog-web"},
        pod_spec(
            [
                container(
                    "catalog-web",
                    img,
                    command=["node", "dist/server.js"],
                    env=[ev("NODE_ENV", "production"), ev("PORT", "3000")],
                    ports=[port(3000, "http")],
                    resources=res("100m", "192Mi", "500m", "384Mi"),
                    readinessProbe=probe_http("/healthz", "http", initial=5, period=10),
                    imagePullPolicy="IfNotPresent",
                )
            ]
        ),
    )
    t0 = T("2024-09-03T15:58:40Z")
    dep = deployment(
        cl,
        "catalog-web",
        ns_,
        labels={"app": "catalog-web"},
        selector={"app": "catalog-web"},
        tmpl=tmpl,
        replicas=2,
        created=T("2024-01-15T10:02:51Z"),
        generation=31,
        revision=27,
        status=deploy_status(
            generation=31,
            replicas=2,
            updated=2,
            ready=0,
            available=0,
            conditions=[
                cond_deploy(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    'ReplicaSet "catalog-web-84d5c9f7b8" has successfully progressed.',
                    T("2024-08-27T11:03:12Z"),
                    T("2024-01-15T10:02:51Z"),
                ),
                available_cond(False, t0 + sec(31), t0 + sec(31)),
            ],
        ),
    )
    rs = replicaset(
        cl,
        dep,
        tmpl,
        hash_="84d5c9f7b8",
        revision=27,
        replicas=2,
        created=T("2024-08-27T11:02:50Z"),
        generation=1,
        ready=0,
        available=0,
    )
    mut = instana_webhook("1.290.3")
    pods = []
    for i in range(2):
        pn = f"catalog-web-84d5c9f7b8-{rand_str(5, 'instana', i)}"
        runs = crash_loop(t0 + sec(8 + i), 0, until=now, seed=f"instana-{i}", run_s=(0, 0))
        crashing_pod(
            cl,
            name=pn,
            ns=ns_,
            rs=rs,
            created=t0 + sec(i * 1.3),
            node=nodes[i],
            now=now,
            mutators=[mut],
            runs=runs,
            container_name="catalog-web",
            exit_code=127,
            reason="Error",
            log=MUSL_RELOCATION_FAILURE,
            init_images_present=True,
        )
        cl.logs[(ns_, pn, "instana-instrumentation-init")] = ""
        pods.append((pn, len([r for r in runs if r.start <= now]) - 1))
    keep_recent(cl, now)
    ca = pem_bundle(cl.name, "instana")
    mwc = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "annotations": {
                "meta.helm.sh/release-name": "instana-autotrace-webhook",
                "meta.helm.sh/release-namespace": "instana-autotrace-webhook",
            },
            "creationTimestamp": "2024-02-02T09:30:12Z",
            "generation": 14,
            "labels": {"app.kubernetes.io/managed-by": "Helm", "autotrace": "instana-autotrace-webhook-impl"},
            "name": "instana-autotrace-webhook",
            "resourceVersion": cl.rv(),
            "uid": uid(cl.name, "mwc"),
        },
        "webhooks": [
            {
                "admissionReviewVersions": ["v1", "v1beta1"],
                "clientConfig": {
                    "caBundle": ca,
                    "service": {
                        "name": "instana-autotrace-webhook",
                        "namespace": "instana-autotrace-webhook",
                        "path": "/mutate",
                        "port": 42650,
                    },
                },
                "failurePolicy": "Ignore",
                "matchPolicy": "Equivalent",
                "name": "autotrace-webhook.instana.com",
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "NotIn",
                            "values": [
                                "pks-system",
                                "kube-system",
                                "kube-public",
                                "kube-node-lease",
                                "instana-autotrace-webhook",
                            ],
                        }
                    ]
                },
                "objectSelector": {},
                "reinvocationPolicy": "IfNeeded",
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1", "v1beta1"],
                        "operations": ["CREATE"],
                        "resources": ["pods", "configmaps"],
                        "scope": "*",
                    },
                    {
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1", "v1beta1"],
                        "operations": ["CREATE"],
                        "resources": ["deployments", "daemonsets", "replicaset", "statefulset"],
                        "scope": "*",
                    },
                ],
                "sideEffects": "NoneOnDryRun",
                "timeoutSeconds": 30,
            }
        ],
    }
    listed = get_list([nso, dep, rs, *cl.of("Pod", ns_)])
    listed["items"].append(mwc)
    write(out / "cluster-state.yaml", go_yaml(listed))
    write(out / "events.yaml", go_yaml(get_list(cl.of("Event", ns_))))
    write_log_files(cl, out, current=True)
    write(out / "README.md", INSTANA_README.format(p0=pods[0][0], p1=pods[1][0], r0=pods[0][1], now=ts(now)))


# ==================================================================================================
# Bundle 5: negative-oom-injected (Dynatrace v1.7 injected Java service, killed by the memory limit)
# ==================================================================================================

SPRING_BANNER = (
    "\n"
    "  .   ____          _            __ _ _\n"
    " /\\\\ / ___'_ __ _ _(_)_ __  __ _ \\ \\ \\ \\\n"
    "( ( )\\___ | '_ | '_| | '_ \\/ _` | \\ \\ \\ \\\n"
    " \\\\/  ___)| |_)| | | | | || (_| |  ) ) ) )\n"
    "  '  |____| .__|_| |_|_| |_\\__, | / / / /\n"
    " =========|_|==============|___/=/_/_/_/\n"
    "\n"
    " :: Spring Boot ::                (v3.3.4)\n"
    "\n"
)


def spring_line(t: dt.datetime, level: str, thread: str, logger: str, msg: str) -> str:
    t = t + sec((hint("spring", t.isoformat(), msg) % 97) / 1000)
    return f"{ts_milli(t)} {level:>5} 1 --- [pricing-engine] [{thread:>15}] {logger:<40} : {msg}\n"


def oom_log(start: dt.datetime) -> str:
    t = start
    out = SPRING_BANNER
    out += spring_line(
        t + sec(2.1),
        "INFO",
        "main",
        "c.c.pricing.PricingEngineApplication",
        "Starting PricingEngineApplication v5.2.0 using Java 21.0.4 with PID 1 (/app/app.jar started by app in /app)",
    )
    out += spring_line(
        t + sec(2.2),
        "INFO",
        "main",
        "c.c.pricing.PricingEngineApplication",
        'The following 1 profile is active: "prod"',
    )
    out += spring_line(
        t + sec(6.8),
        "INFO",
        "main",
        "o.s.b.w.embedded.tomcat.TomcatWebServer",
        "Tomcat initialized with port 8080 (http)",
    )
    out += spring_line(
        t + sec(7.0), "INFO", "main", "o.apache.catalina.core.StandardService", "Starting service [Tomcat]"
    )
    out += spring_line(
        t + sec(7.0),
        "INFO",
        "main",
        "o.apache.catalina.core.StandardEngine",
        "Starting Servlet engine: [Apache Tomcat/10.1.30]",
    )
    out += spring_line(
        t + sec(7.4),
        "INFO",
        "main",
        "o.a.c.c.C.[Tomcat].[localhost].[/]",
        "Initializing Spring embedded WebApplicationContext",
    )
    out += spring_line(
        t + sec(7.4),
        "INFO",
        "main",
        "w.s.c.ServletWebServerApplicationContext",
        "Root WebApplicationContext: initialization completed in 4961 ms",
    )
    out += spring_line(
        t + sec(11.9), "INFO", "main", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Starting..."
    )
    out += spring_line(
        t + sec(12.6),
        "INFO",
        "main",
        "com.zaxxer.hikari.pool.HikariPool",
        "HikariPool-1 - Added connection org.postgresql.jdbc.PgConnection@5a2f016d",
    )
    out += spring_line(
        t + sec(12.6), "INFO", "main", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Start completed."
    )
    out += spring_line(
        t + sec(15.3),
        "INFO",
        "main",
        "o.hibernate.jpa.internal.util.LogHelper",
        "HHH000204: Processing PersistenceUnitInfo [name: default]",
    )
    out += spring_line(
        t + sec(18.9),
        "INFO",
        "main",
        "c.c.pricing.cache.RateTableLoader",
        "Loading rate tables into memory (regions=42)",
    )
    return out


def build_oom(out: Path) -> None:
    cl = Cluster("negative-oom-injected", "1.30.10", 77_400_000)
    now = T("2025-09-23T14:51:06Z")
    version = "1.7.1"
    op_image = f"public.ecr.aws/dynatrace/dynatrace-operator:v{version}"
    images = [(op_image, 41_220_118), ("pricingacr.azurecr.io/pricing/pricing-engine:5.2.0", 289_104_882)]
    nodes = small_aks_cluster(
        cl,
        name="aks-pricing-weu",
        rg="rg-pricing",
        region="westeurope",
        pools=[("system", "61740221", 1, "system"), ("apps", "33901846", 2, "user")],
        created=T("2025-09-08T02:41:19Z"),
        now=now,
        node_image="AKSUbuntu-2204gen2containerd-202509.01.0",
        images=images,
        csi_drivers=["csi.oneagent.dynatrace.com"],
    )
    created = T("2024-11-12T10:02:11Z")
    default_namespaces(cl, created)
    add_coredns(
        cl,
        node=nodes[0],
        cluster_created=created,
        rs_created=T("2025-08-29T02:40:11Z"),
        pods_created=T("2025-09-08T02:44:03Z"),
        image="mcr.microsoft.com/oss/v2/kubernetes/coredns:v1.11.3-8",
    )
    namespace(cl, "dynatrace", created=T("2025-02-03T08:41:00Z"))
    ns_ = "pricing"
    namespace(
        cl,
        ns_,
        created=T("2025-02-10T13:14:15Z"),
        labels={"dynakube.internal.dynatrace.com/instance": "dynakube"},
    )
    installed = T("2025-09-15T07:12:40Z")
    dynatrace_stack(
        cl,
        version=version,
        image=op_image,
        nodes=nodes,
        installed=installed,
        helm_created=T("2025-02-03T08:41:03Z"),
        now=now,
        operator_node=nodes[1],
        webhook_nodes=nodes[1:],
        csi_tolerations=[toleration("CriticalAddonsOnly", "Equal", "NoSchedule", "true")],
    )
    cluster_uid = uid(cl.name, "ns", "kube-system")
    mut = dynatrace_v17_webhook(
        dynakube="dynakube",
        cluster_uid=cluster_uid,
        image=op_image,
        tenant="wbx20173",
        operator_version=f"v{version}",
        workload_kind="Deployment",
        workload_name="pricing-engine",
        namespace_=ns_,
        cluster_name="aks-pricing-weu",
        cluster_entity="KUBERNETES_CLUSTER-6C4E2A9B1F0D3E57",
    )
    img = "pricingacr.azurecr.io/pricing/pricing-engine:5.2.0"
    tmpl = template(
        {"app": "pricing-engine", "app.kubernetes.io/part-of": "pricing"},
        pod_spec(
            [
                container(
                    "pricing-engine",
                    img,
                    env=[
                        ev("SPRING_PROFILES_ACTIVE", "prod"),
                        ev_secret("SPRING_DATASOURCE_PASSWORD", "pricing-db", "password"),
                    ],
                    ports=[port(8080, "http")],
                    resources=res("250m", "256Mi", "1", "256Mi"),
                    readinessProbe=probe_http("/actuator/health/readiness", "http", initial=20),
                    livenessProbe=probe_http("/actuator/health/liveness", "http", initial=60),
                    imagePullPolicy="IfNotPresent",
                )
            ],
            nodeSelector={"kubernetes.azure.com/agentpool": "apps"},
        ),
    )
    t0 = T("2025-09-23T14:01:52Z")
    dep = deployment(
        cl,
        "pricing-engine",
        ns_,
        labels={"app": "pricing-engine"},
        selector={"app": "pricing-engine"},
        tmpl=tmpl,
        replicas=2,
        created=T("2025-02-10T13:20:02Z"),
        generation=18,
        revision=16,
        status=deploy_status(
            generation=18,
            replicas=2,
            updated=2,
            ready=0,
            available=0,
            conditions=[
                available_cond(False, t0 + sec(95), t0 + sec(95)),
                cond_deploy(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    'ReplicaSet "pricing-engine-68f4b9d7c5" has timed out progressing.',
                    t0 + sec(601),
                    t0 + sec(601),
                ),
            ],
        ),
    )
    rs = replicaset(
        cl,
        dep,
        tmpl,
        hash_="68f4b9d7c5",
        revision=16,
        replicas=2,
        created=t0,
        generation=1,
        ready=0,
        available=0,
    )
    pods = []
    for i in range(2):
        pn = f"pricing-engine-68f4b9d7c5-{rand_str(5, 'oom', i)}"
        first = t0 + sec(9 + i)
        runs = crash_loop(first, 21.4, until=now, seed=f"oom-{i}", run_s=(19, 24))
        pod = crashing_pod(
            cl,
            name=pn,
            ns=ns_,
            rs=rs,
            created=t0 + sec(0.3 + i * 0.2),
            node=nodes[1 + i],
            now=now,
            mutators=[mut],
            runs=runs,
            container_name="pricing-engine",
            exit_code=137,
            reason="OOMKilled",
            log=oom_log(runs[-1].start),
            init_images_present=True,
        )
        last = [r for r in runs if r.start <= now]
        set_log(cl, ns_, pn, "pricing-engine", oom_log(last[-2].start), previous=True)
        set_log(
            cl,
            ns_,
            pn,
            "dynatrace-operator",
            zap(t0 + sec(3.2), "bootstrapper", "starting bootstrapper", version="v1.1.1")
            + zap(
                t0 + sec(3.3),
                "bootstrapper",
                "configuring OneAgent",
                installPath="/opt/dynatrace/oneagent-paas",
            )
            + zap(t0 + sec(3.4), "bootstrapper", "configuring metadata enrichment")
            + zap(t0 + sec(3.4), "bootstrapper", "bootstrapping finished successfully"),
        )
        pods.append((pn, len(last) - 1, pod))
    keep_recent(cl, now)
    write_cluster_info_dump(cl, out, "json")
    write_log_files(cl, out)
    nss = sorted((o for o in cl.objects if o["kind"] == "Namespace"), key=lambda o: o["metadata"]["name"])
    write(
        out / "cluster-scoped.yaml",
        go_yaml(get_list([*nss, dynatrace_mwc(cl, version=version, created="2025-02-03T08:41:03Z")])),
    )
    write(
        out / "README.md",
        OOM_README.format(p0=pods[0][0], p1=pods[1][0], r0=pods[0][1], r1=pods[1][1], now=ts(now)),
    )


# ==================================================================================================
# Bundle 6: negative-image-pull-injected (Datadog-injected Node.js service, new tag does not exist)
# ==================================================================================================


def build_image_pull(out: Path) -> None:
    cl = Cluster("negative-image-pull-injected", "1.29.9", 5_530_100)
    now = T("2024-10-08T09:27:44Z")
    nodes = ["aks-apps-28417730-vmss000003", "aks-apps-28417730-vmss000004", "aks-apps-28417730-vmss000007"]
    register_plain_nodes(cl, nodes)
    ns_ = "checkout"
    nso = namespace(cl, ns_, created=T("2024-03-01T07:44:12Z"))
    repo = "checkoutacr.azurecr.io/checkout/cart-service"
    old_img, new_img = f"{repo}:1.18.4", f"{repo}:1.19.0-rc3"
    dd_lbl = {"admission.datadoghq.com/enabled": "true"}
    dd_ann = {"admission.datadoghq.com/js-lib.version": "v5.12.0"}
    env = [ev("NODE_ENV", "production"), ev("PORT", "8080"), ev_secret("REDIS_URL", "cart-redis", "url")]
    t_new = dd_template("cart-service", new_img, "1.19.0-rc3", dd_lbl, dd_ann, env, 8080, "512Mi")
    t_old = dd_template("cart-service", old_img, "1.18.4", dd_lbl, dd_ann, env, 8080, "512Mi")
    t_roll = T("2024-10-08T09:20:31Z")
    new_hash, old_hash = "6b8d4f9c77", "59c7d8b6f4"
    dep = deployment(
        cl,
        "cart-service",
        ns_,
        labels={"app": "cart-service"},
        selector={"app": "cart-service"},
        tmpl=t_new,
        replicas=3,
        created=T("2024-03-01T07:50:33Z"),
        generation=21,
        revision=15,
        status=deploy_status(
            generation=21,
            replicas=4,
            updated=1,
            ready=3,
            available=3,
            conditions=[
                available_cond(True, T("2024-10-01T12:02:19Z"), T("2024-10-01T12:02:19Z")),
                cond_deploy(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    f'ReplicaSet "cart-service-{new_hash}" is progressing.',
                    t_roll,
                    T("2024-03-01T07:50:33Z"),
                ),
            ],
        ),
    )
    rs_new = replicaset(
        cl,
        dep,
        t_new,
        hash_=new_hash,
        revision=15,
        replicas=1,
        created=t_roll,
        generation=1,
        ready=0,
        available=0,
    )
    rs_old = replicaset(
        cl,
        dep,
        t_old,
        hash_=old_hash,
        revision=14,
        replicas=3,
        created=T("2024-10-01T12:01:02Z"),
        generation=1,
        ready=3,
        available=3,
    )
    muts = [
        datadog_config_webhook(),
        datadog_lib_webhook("js", "v5.12.0", install_time="1727340521", install_id=uid("dd-install-checkout")),
    ]
    for i in range(3):
        plain_running_pod(
            cl,
            name=f"cart-service-{old_hash}-{rand_str(5, 'cart-old', i)}",
            ns=ns_,
            tmpl=rs_old["spec"]["template"],
            owner=rs_old,
            created=T("2024-10-01T12:01:03Z") + sec(21 * i),
            node=nodes[i],
            mutators=muts,
        )
    # the new pod: the library init container ran, the application image cannot be pulled
    node = nodes[1]
    pn = f"cart-service-{new_hash}-{rand_str(5, 'cart-new')}"
    created = t_roll + sec(0.2)
    pod = admit_pod(
        cl,
        name=pn,
        ns=ns_,
        tmpl=rs_new["spec"]["template"],
        owner=rs_new,
        created=created,
        node=node,
        mutators=muts,
    )
    init = pod["spec"]["initContainers"][0]
    s0, f0 = created + sec(3), created + sec(4)
    init_cid = containerd_id(cl.name, pn, init["name"])
    fp_i = f"spec.initContainers{{{init['name']}}}"
    sched_event(cl, pod, node, created + sec(0.2), "default-scheduler-kube-scheduler-5b7d8c4f9-mm2xk")
    event(
        cl,
        pod,
        reason="Pulled",
        message=f'Container image "{init["image"]}" already present on machine',
        first=s0,
        component="kubelet",
        host=node,
        field_path=fp_i,
    )
    event(
        cl,
        pod,
        reason="Created",
        message=f"Created container {init['name']}",
        first=s0,
        component="kubelet",
        host=node,
        field_path=fp_i,
    )
    event(
        cl,
        pod,
        reason="Started",
        message=f"Started container {init['name']}",
        first=s0,
        component="kubelet",
        host=node,
        field_path=fp_i,
    )
    pulls = [f0 + sec(1)]
    for k in range(10):
        nxt = pulls[-1] + sec(min(10 * 2**k, 300) + 1 + hint("pull", k) % 6)
        if nxt > now:
            break
        pulls.append(nxt)
    fp = "spec.containers{cart-service}"
    err = f'failed to pull and unpack image "{new_img}": failed to resolve reference "{new_img}": {new_img}: not found'
    event(
        cl,
        pod,
        reason="Pulling",
        message=f'Pulling image "{new_img}"',
        first=pulls[0],
        last=pulls[-1],
        count=len(pulls),
        component="kubelet",
        host=node,
        field_path=fp,
    )
    event(
        cl,
        pod,
        reason="Failed",
        message=f'Failed to pull image "{new_img}": rpc error: code = NotFound desc = {err}',
        first=pulls[0] + sec(1),
        last=pulls[-1] + sec(1),
        count=len(pulls),
        type_="Warning",
        component="kubelet",
        host=node,
        field_path=fp,
    )
    event(
        cl,
        pod,
        reason="Failed",
        message="Error: ErrImagePull",
        first=pulls[0] + sec(1),
        last=pulls[-1] + sec(1),
        count=len(pulls),
        type_="Warning",
        component="kubelet",
        host=node,
        field_path=fp,
    )
    waited = sum((b - a).total_seconds() for a, b in itertools.pairwise(pulls)) + (now - pulls[-1]).total_seconds()
    n_bo = int(waited // 12)
    event(
        cl,
        pod,
        reason="BackOff",
        message=f'Back-off pulling image "{new_img}"',
        first=pulls[0] + sec(2),
        last=now - sec(3),
        count=n_bo,
        component="kubelet",
        host=node,
        field_path=fp,
    )
    event(
        cl,
        pod,
        reason="Failed",
        message="Error: ImagePullBackOff",
        first=pulls[0] + sec(2),
        last=now - sec(3),
        count=n_bo,
        type_="Warning",
        component="kubelet",
        host=node,
        field_path=fp,
    )
    set_pod_status(
        cl,
        pod,
        phase="Pending",
        scheduled=created,
        sandbox_ready=created + sec(2),
        initialized=f0,
        ready=(False, created),
        host_ip=cl.nodes[node]["ip"],
        ip=pod_ip_any(cl, node, ns_, pn),
        not_ready=["cart-service"],
        init_statuses=[
            cstatus(
                init["name"],
                init["image"],
                state=st_terminated(0, "Completed", s0, f0, init_cid),
                ready=True,
                restarts=0,
                cid=init_cid,
                started=False,
            )
        ],
        statuses=[
            cstatus(
                "cart-service",
                new_img,
                state=st_waiting("ImagePullBackOff", f'Back-off pulling image "{new_img}"'),
                ready=False,
                restarts=0,
                cid=None,
                started=False,
                image_present=False,
            )
        ],
    )
    event(
        cl,
        dep,
        reason="ScalingReplicaSet",
        message=f"Scaled up replica set cart-service-{new_hash} to 1",
        first=t_roll,
        component="deployment-controller",
    )
    event(
        cl,
        rs_new,
        reason="SuccessfulCreate",
        message=f"Created pod: {pn}",
        first=created,
        component="replicaset-controller",
    )
    keep_recent(cl, now)
    docs = [
        unstructured(nso),
        unstructured(dep),
        unstructured(rs_new),
        unstructured(rs_old),
        *[unstructured(p) for p in cl.of("Pod", ns_)],
        datadog_mwc(cl, "2024-02-12T15:03:58Z"),
    ]
    write(out / "objects.yaml", yaml_stream(docs))
    write(out / "events.json", go_json(get_list(cl.of("Event", ns_)), sort_keys=True))
    write(
        out / "README.md",
        IMAGE_PULL_README.format(pod=pn, now=ts(now), img=new_img, old=old_img, pulls=len(pulls)),
    )


# ==================================================================================================
# Bundle 7: negative-config-istio (Istio sidecar injected; application container lacks its ConfigMap)
# Source: istio/istio manifests/charts/istio-control/istio-discovery/files/injection-template.yaml (1.22)
# ==================================================================================================

ISTIO_PROXY = "docker.io/istio/proxyv2:1.22.3"


def istio_webhook(*, app: str, ns: str, deployment_name: str, pod_ports: list[int]) -> Mutator:
    def mutate(pod: Obj) -> None:
        meta_ = pod["metadata"]
        if meta_["labels"].get("sidecar.istio.io/inject") == "false":
            return
        spec = pod["spec"]
        token = next(v["name"] for v in spec["volumes"] if v["name"].startswith("kube-api-access-"))
        meta_["labels"].update(
            {
                "security.istio.io/tlsMode": "istio",
                "service.istio.io/canonical-name": app,
                "service.istio.io/canonical-revision": "latest",
            }
        )
        meta_["labels"] = gomap(meta_["labels"])
        status = {
            "initContainers": ["istio-init"],
            "containers": ["istio-proxy"],
            "volumes": [
                "workload-socket",
                "credential-socket",
                "workload-certs",
                "istio-envoy",
                "istio-data",
                "istio-podinfo",
                "istio-token",
                "istiod-ca-cert",
            ],
            "imagePullSecrets": None,
            "revision": "default",
        }
        meta_["annotations"].update(
            {
                "istio.io/rev": "default",
                "kubectl.kubernetes.io/default-container": app,
                "kubectl.kubernetes.io/default-logs-container": app,
                "prometheus.io/path": "/stats/prometheus",
                "prometheus.io/port": "15020",
                "prometheus.io/scrape": "true",
                "sidecar.istio.io/status": json.dumps(status, separators=(",", ":")),
            }
        )
        meta_["annotations"] = gomap(meta_["annotations"])
        resources = res("100m", "128Mi", "2", "1Gi")
        init = container(
            "istio-init",
            ISTIO_PROXY,
            args=[
                "istio-iptables",
                "-p",
                "15001",
                "-z",
                "15006",
                "-u",
                "1337",
                "-m",
                "REDIRECT",
                "-i",
                "*",
                "-x",
                "",
                "-b",
                "*",
                "-d",
                "15090,15021,15020",
                "--log_output_level=default:info",
            ],
            resources=resources,
            imagePullPolicy="IfNotPresent",
            securityContext=secctx(
                capabilities={"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                privileged=False,
                runAsUser=0,
                runAsGroup=0,
                runAsNonRoot=False,
                readOnlyRootFilesystem=False,
                allowPrivilegeEscalation=False,
            ),
        )
        spec.setdefault("initContainers", []).append(init)
        ports_json = "[\n" + ",\n".join(f'    {{"containerPort":{p},"protocol":"TCP"}}' for p in pod_ports) + "\n]"
        proxy = container(
            "istio-proxy",
            ISTIO_PROXY,
            args=[
                "proxy",
                "sidecar",
                "--domain",
                "$(POD_NAMESPACE).svc.cluster.local",
                "--proxyLogLevel=warning",
                "--proxyComponentLogLevel=misc:error",
                "--log_output_level=default:info",
            ],
            ports=[port(15090, "http-envoy-prom")],
            env=[
                ev("PILOT_CERT_PROVIDER", "istiod"),
                ev("CA_ADDR", "istiod.istio-system.svc:15012"),
                ev_field("POD_NAME", "metadata.name"),
                ev_field("POD_NAMESPACE", "metadata.namespace"),
                ev_field("INSTANCE_IP", "status.podIP"),
                ev_field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
                ev_field("HOST_IP", "status.hostIP"),
                ev("ISTIO_CPU_LIMIT"),
                ev("PROXY_CONFIG", "{}\n"),
                ev("ISTIO_META_POD_PORTS", ports_json),
                ev("ISTIO_META_APP_CONTAINERS", app),
                {
                    "name": "GOMEMLIMIT",
                    "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "0"}},
                },
                {
                    "name": "GOMAXPROCS",
                    "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "0"}},
                },
                ev("ISTIO_META_CLUSTER_ID", "Kubernetes"),
                ev_field("ISTIO_META_NODE_NAME", "spec.nodeName"),
                ev("ISTIO_META_INTERCEPTION_MODE", "REDIRECT"),
                ev("ISTIO_META_WORKLOAD_NAME", deployment_name),
                ev(
                    "ISTIO_META_OWNER",
                    f"kubernetes://apis/apps/v1/namespaces/{ns}/deployments/{deployment_name}",
                ),
                ev("ISTIO_META_MESH_ID", "cluster.local"),
                ev("TRUST_DOMAIN", "cluster.local"),
            ],
            resources=resources,
            volumeMounts=[
                vm("workload-socket", "/var/run/secrets/workload-spiffe-uds"),
                vm("credential-socket", "/var/run/secrets/credential-uds"),
                vm("workload-certs", "/var/run/secrets/workload-spiffe-credentials"),
                vm("istiod-ca-cert", "/var/run/secrets/istio"),
                vm("istio-data", "/var/lib/istio/data"),
                vm("istio-envoy", "/etc/istio/proxy"),
                vm("istio-token", "/var/run/secrets/tokens"),
                vm("istio-podinfo", "/etc/istio/pod"),
                vm(token, "/var/run/secrets/kubernetes.io/serviceaccount", ro=True),
            ],
            readinessProbe={
                "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                "timeoutSeconds": 3,
                "periodSeconds": 15,
                "successThreshold": 1,
                "failureThreshold": 4,
            },
            startupProbe={
                "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                "timeoutSeconds": 3,
                "periodSeconds": 1,
                "successThreshold": 1,
                "failureThreshold": 600,
            },
            imagePullPolicy="IfNotPresent",
            securityContext=secctx(
                capabilities={"drop": ["ALL"]},
                privileged=False,
                runAsUser=1337,
                runAsGroup=1337,
                runAsNonRoot=True,
                readOnlyRootFilesystem=True,
                allowPrivilegeEscalation=False,
            ),
        )
        spec["containers"].append(proxy)
        spec["volumes"] += [
            vol_empty("workload-socket"),
            vol_empty("credential-socket"),
            vol_empty("workload-certs"),
            vol_empty("istio-envoy", medium="Memory"),
            vol_empty("istio-data"),
            {
                "name": "istio-podinfo",
                "downwardAPI": {
                    "items": [
                        {"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}},
                        {
                            "path": "annotations",
                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"},
                        },
                    ],
                    "defaultMode": 420,
                },
            },
            {
                "name": "istio-token",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": "istio-ca",
                                "expirationSeconds": 43200,
                                "path": "istio-token",
                            }
                        }
                    ],
                    "defaultMode": 420,
                },
            },
            vol_cm("istiod-ca-cert", "istio-ca-root-cert"),
        ]

    return mutate


def build_istio(out: Path) -> None:
    cl = Cluster("negative-config-istio", "1.30.6", 33_870_000)
    now = T("2025-01-21T10:18:26Z")
    nodes = ["gke-prod-eu-default-pool-5d1a7c2e-k8v2", "gke-prod-eu-default-pool-5d1a7c2e-q4zt"]
    register_plain_nodes(cl, nodes)
    ns_ = "payments"
    nso = namespace(cl, ns_, created=T("2024-06-12T12:00:41Z"), labels={"istio-injection": "enabled"})
    img = "europe-west1-docker.pkg.dev/acme-prod/payments/payments-api:2.31.0"
    tmpl = template(
        {"app": "payments-api", "version": "v2"},
        pod_spec(
            [
                container(
                    "payments-api",
                    img,
                    envFrom=[{"configMapRef": {"name": "payments-config"}}],
                    env=[ev_secret("DB_PASSWORD", "payments-db", "password")],
                    ports=[port(8080, "http")],
                    resources=res("200m", "256Mi", "1", "512Mi"),
                    readinessProbe=probe_http("/ready", "http", initial=5, period=10),
                    imagePullPolicy="IfNotPresent",
                )
            ],
            serviceAccountName="payments-api",
        ),
    )
    t0 = T("2025-01-21T09:58:02Z")
    dep = deployment(
        cl,
        "payments-api",
        ns_,
        labels={"app": "payments-api"},
        selector={"app": "payments-api"},
        tmpl=tmpl,
        replicas=1,
        created=t0 - sec(2),
        generation=1,
        revision=1,
        status=deploy_status(
            generation=1,
            replicas=1,
            updated=1,
            ready=0,
            available=0,
            conditions=[
                available_cond(False, t0, t0),
                cond_deploy(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    'ReplicaSet "payments-api-7f6c9b5d8d" has timed out progressing.',
                    t0 + sec(601),
                    t0 + sec(601),
                ),
            ],
        ),
    )
    rs = replicaset(
        cl,
        dep,
        tmpl,
        hash_="7f6c9b5d8d",
        revision=1,
        replicas=1,
        created=t0 - sec(1),
        generation=1,
        ready=0,
        available=0,
    )
    pn = f"payments-api-7f6c9b5d8d-{rand_str(5, 'istio')}"
    node = nodes[0]
    pod = admit_pod(
        cl,
        name=pn,
        ns=ns_,
        tmpl=rs["spec"]["template"],
        owner=rs,
        created=t0,
        node=node,
        mutators=[istio_webhook(app="payments-api", ns=ns_, deployment_name="payments-api", pod_ports=[8080])],
    )
    s0, f0 = t0 + sec(3), t0 + sec(4)
    init_cid = containerd_id(cl.name, pn, "istio-init")
    proxy_start = f0 + sec(2)
    sched_event(cl, pod, node, t0 + sec(0.1), "default-scheduler-gke-prod-eu-master")
    for cname, fpk, when in (
        ("istio-init", "initContainers", s0),
        ("istio-proxy", "containers", proxy_start),
    ):
        fpx = f"spec.{fpk}{{{cname}}}"
        event(
            cl,
            pod,
            reason="Pulled",
            message=f'Container image "{ISTIO_PROXY}" already present on machine',
            first=when,
            component="kubelet",
            host=node,
            field_path=fpx,
        )
        event(
            cl,
            pod,
            reason="Created",
            message=f"Created container {cname}",
            first=when,
            component="kubelet",
            host=node,
            field_path=fpx,
        )
        event(
            cl,
            pod,
            reason="Started",
            message=f"Started container {cname}",
            first=when,
            component="kubelet",
            host=node,
            field_path=fpx,
        )
    tries = [f0 + sec(1)]
    while True:
        nxt = tries[-1] + sec(10 + hint("cfg", len(tries)) % 8)
        if nxt > now:
            break
        tries.append(nxt)
    fp = "spec.containers{payments-api}"
    event(
        cl,
        pod,
        reason="Pulling",
        message=f'Pulling image "{img}"',
        first=f0 + sec(0.5),
        component="kubelet",
        host=node,
        field_path=fp,
    )
    event(
        cl,
        pod,
        reason="Pulled",
        message=f'Successfully pulled image "{img}" in 3.902s (3.902s including waiting). Image size: 71830544 bytes.',
        first=tries[0],
        component="kubelet",
        host=node,
        field_path=fp,
    )
    event(
        cl,
        pod,
        reason="Pulled",
        message=f'Container image "{img}" already present on machine',
        first=tries[1],
        last=tries[-1],
        count=len(tries) - 1,
        component="kubelet",
        host=node,
        field_path=fp,
    )
    event(
        cl,
        pod,
        reason="Failed",
        message='Error: configmap "payments-config" not found',
        first=tries[0],
        last=tries[-1],
        count=len(tries),
        type_="Warning",
        component="kubelet",
        host=node,
        field_path=fp,
    )
    proxy_cid = containerd_id(cl.name, pn, "istio-proxy")
    set_pod_status(
        cl,
        pod,
        phase="Pending",
        scheduled=t0,
        sandbox_ready=t0 + sec(2),
        initialized=f0,
        ready=(False, t0),
        host_ip=cl.nodes[node]["ip"],
        ip=pod_ip_any(cl, node, ns_, pn),
        not_ready=["payments-api"],
        init_statuses=[
            cstatus(
                "istio-init",
                ISTIO_PROXY,
                state=st_terminated(0, "Completed", s0, f0, init_cid),
                ready=True,
                restarts=0,
                cid=init_cid,
                started=False,
            )
        ],
        statuses=[
            cstatus(
                "istio-proxy",
                ISTIO_PROXY,
                state=st_running(proxy_start),
                ready=True,
                restarts=0,
                cid=proxy_cid,
                started=True,
            ),
            cstatus(
                "payments-api",
                img,
                state=st_waiting("CreateContainerConfigError", 'configmap "payments-config" not found'),
                ready=False,
                restarts=0,
                cid=None,
                started=False,
                image_present=False,
            ),
        ],
    )
    event(
        cl,
        dep,
        reason="ScalingReplicaSet",
        message="Scaled up replica set payments-api-7f6c9b5d8d to 1",
        first=t0 - sec(1),
        component="deployment-controller",
    )
    event(
        cl,
        rs,
        reason="SuccessfulCreate",
        message=f"Created pod: {pn}",
        first=t0,
        component="replicaset-controller",
    )
    set_log(
        cl,
        ns_,
        pn,
        "istio-proxy",
        f'{ts_micro(proxy_start + sec(0.21))}\tinfo\tFLAG: --concurrency="0"\n'
        f"{ts_micro(proxy_start + sec(0.35))}\tinfo\tVersion 1.22.3-dcd2d8c0d8f2d9e8b8e7d0b1c5f8e6a4a7c9b2d1-Clean\n"
        f"{ts_micro(proxy_start + sec(1.62))}\tinfo\tcache\tgenerated new workload certificate\tlatency=112.47ms "
        "ttl=23h59m59.887541s\n"
        f"{ts_micro(proxy_start + sec(2.04))}\tinfo\tReadiness succeeded in 1.872331712s\n"
        f"{ts_micro(proxy_start + sec(2.04))}\tinfo\tEnvoy proxy is ready\n",
        previous=False,
    )
    keep_recent(cl, now)
    ca = pem_bundle(cl.name, "istio")

    def iwh(name: str, ns_sel: Obj, obj_sel: Obj) -> Obj:
        return {
            "admissionReviewVersions": ["v1beta1", "v1"],
            "clientConfig": {
                "caBundle": ca,
                "service": {"name": "istiod", "namespace": "istio-system", "path": "/inject", "port": 443},
            },
            "failurePolicy": "Fail",
            "matchPolicy": "Equivalent",
            "name": name,
            "namespaceSelector": ns_sel,
            "objectSelector": obj_sel,
            "reinvocationPolicy": "Never",
            "rules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE"],
                    "resources": ["pods"],
                    "scope": "*",
                }
            ],
            "sideEffects": "None",
            "timeoutSeconds": 10,
        }

    mwc = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "creationTimestamp": "2024-05-30T08:12:40Z",
            "generation": 3,
            "labels": {
                "app": "sidecar-injector",
                "install.operator.istio.io/owning-resource": "unknown",
                "istio.io/rev": "default",
                "operator.istio.io/component": "Pilot",
                "release": "istio",
            },
            "name": "istio-sidecar-injector",
            "resourceVersion": cl.rv(),
            "uid": uid(cl.name, "mwc"),
        },
        "webhooks": [
            iwh(
                "namespace.sidecar-injector.istio.io",
                {"matchExpressions": [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}]},
                {"matchExpressions": [{"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}]},
            ),
            iwh(
                "object.sidecar-injector.istio.io",
                {
                    "matchExpressions": [
                        {"key": "istio-injection", "operator": "DoesNotExist"},
                        {"key": "istio.io/rev", "operator": "DoesNotExist"},
                    ]
                },
                {
                    "matchExpressions": [
                        {"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]},
                        {"key": "istio.io/rev", "operator": "DoesNotExist"},
                    ]
                },
            ),
        ],
    }
    listed = get_list([nso, dep, rs, pod])
    listed["items"].append(mwc)
    write(out / "objects.json", go_json(listed, sort_keys=True))
    write(out / "events.json", go_json(get_list(cl.of("Event", ns_)), sort_keys=True))
    write_log_files(cl, out, current=True)
    write(out / "README.md", ISTIO_README.format(pod=pn, now=ts(now), tries=len(tries)))


# ==================================================================================================
# Bundle 8: healthy-injected (Dynatrace v1.2 layout; everything runs)
# ==================================================================================================


def build_healthy(out: Path) -> None:
    cl = Cluster("healthy-injected", "1.29.8", 12_004_000)
    now = T("2024-09-12T08:30:05Z")
    img_api = "invacr.azurecr.io/inventory/inventory-api:1.12.3"
    img_wrk = "invacr.azurecr.io/inventory/inventory-worker:1.12.3"
    images = [(DT_OPERATOR_V12_IMAGE, 37_112_530), (img_api, 21_884_120), (img_wrk, 198_203_511)]
    nodes = small_aks_cluster(
        cl,
        name="aks-inventory-weu",
        rg="rg-inventory",
        region="westeurope",
        pools=[("system", "12093847", 1, "system"), ("apps", "77123095", 2, "user")],
        created=T("2024-09-02T03:10:44Z"),
        now=now,
        node_image="AKSUbuntu-2204gen2containerd-202408.27.0",
        images=images,
        csi_drivers=["csi.oneagent.dynatrace.com"],
    )
    created = T("2024-01-09T14:22:31Z")
    default_namespaces(cl, created)
    add_coredns(
        cl,
        node=nodes[0],
        cluster_created=created,
        rs_created=T("2024-08-27T02:14:51Z"),
        pods_created=T("2024-09-02T03:13:20Z"),
        image="mcr.microsoft.com/oss/kubernetes/coredns:v1.9.4-hotfix.20240704",
    )
    namespace(cl, "dynatrace", created=T("2024-04-02T09:00:12Z"))
    ns_ = "inventory"
    namespace(
        cl,
        ns_,
        created=T("2024-04-02T09:30:55Z"),
        labels={"dynakube.internal.dynatrace.com/instance": "dynakube"},
    )
    installed = T("2024-09-05T11:40:02Z")
    dynatrace_stack(
        cl,
        version="1.2.2",
        image=DT_OPERATOR_V12_IMAGE,
        nodes=nodes,
        installed=installed,
        helm_created=T("2024-04-02T09:00:15Z"),
        now=now,
        operator_node=nodes[1],
        webhook_nodes=nodes[1:],
        csi_tolerations=[toleration("CriticalAddonsOnly", "Equal", "NoSchedule", "true")],
    )
    ks_uid = uid(cl.name, "ns", "kube-system")
    specs = [
        (
            "inventory-api",
            img_api,
            2,
            "7bd9c6f58d",
            [ev("LISTEN_ADDR", ":8080")],
            res("100m", "128Mi", "500m", "256Mi"),
            T("2024-09-12T08:05:14Z"),
        ),
        (
            "inventory-worker",
            img_wrk,
            1,
            "5d8f7c6b49",
            [
                ev("JAVA_OPTS", "-XX:MaxRAMPercentage=60"),
                ev_secret("DB_PASSWORD", "inventory-db", "password"),
            ],
            res("250m", "768Mi", "1", "1Gi"),
            T("2024-09-12T08:11:40Z"),
        ),
    ]
    for name, img, replicas, hsh, env, resources, t_roll in specs:
        tmpl = template(
            {"app": name},
            pod_spec(
                [
                    container(
                        name,
                        img,
                        env=env,
                        ports=[port(8080, "http")],
                        resources=resources,
                        readinessProbe=probe_http("/healthz", "http", initial=5),
                        imagePullPolicy="IfNotPresent",
                    )
                ],
                nodeSelector={"kubernetes.azure.com/agentpool": "apps"},
            ),
        )
        dep = deployment(
            cl,
            name,
            ns_,
            labels={"app": name},
            selector={"app": name},
            tmpl=tmpl,
            replicas=replicas,
            created=T("2024-04-02T09:41:10Z"),
            generation=11,
            revision=9,
            status=deploy_status(
                generation=11,
                replicas=replicas,
                updated=replicas,
                ready=replicas,
                available=replicas,
                conditions=[
                    available_cond(True, t_roll + sec(40), t_roll + sec(40)),
                    progressing_done(f"{name}-{hsh}", t_roll + sec(40), T("2024-04-02T09:41:10Z")),
                ],
            ),
        )
        rs = replicaset(
            cl,
            dep,
            tmpl,
            hash_=hsh,
            revision=9,
            replicas=replicas,
            created=t_roll,
            generation=1,
            ready=replicas,
            available=replicas,
        )
        mut = dynatrace_v12_webhook(
            dynakube="dynakube",
            cluster_id=ks_uid,
            image=DT_OPERATOR_V12_IMAGE,
            code_modules_version="1.297.55.20240903-120312",
            workload_kind="Deployment",
            workload_name=name,
            operator_version="v1.2.2",
        )
        event(
            cl,
            dep,
            reason="ScalingReplicaSet",
            message=f"Scaled up replica set {name}-{hsh} to {replicas}",
            first=t_roll,
            component="deployment-controller",
        )
        for i in range(replicas):
            pn = f"{name}-{hsh}-{rand_str(5, 'healthy', name, i)}"
            nd = nodes[1 + i % 2]
            pc = t_roll + sec(0.3 + i)
            pod = running_pod(
                cl,
                name=pn,
                ns=ns_,
                tmpl=rs["spec"]["template"],
                owner=rs,
                created=pc,
                node=nd,
                mutators=[mut],
            )
            st = pod["status"]
            t_init = T(st["initContainerStatuses"][0]["state"]["terminated"]["startedAt"])
            t_main = T(st["containerStatuses"][0]["state"]["running"]["startedAt"])
            event(
                cl,
                rs,
                reason="SuccessfulCreate",
                message=f"Created pod: {pn}",
                first=pc,
                component="replicaset-controller",
            )
            sched_event(cl, pod, nd, pc + sec(0.1), "default-scheduler-kube-scheduler-7d9f6b8c5-2xq7p")
            for reason, msg, t, fpx in (
                (
                    "Pulled",
                    f'Container image "{DT_OPERATOR_V12_IMAGE}" already present on machine',
                    t_init,
                    "spec.initContainers{install-oneagent}",
                ),
                (
                    "Created",
                    "Created container install-oneagent",
                    t_init,
                    "spec.initContainers{install-oneagent}",
                ),
                (
                    "Started",
                    "Started container install-oneagent",
                    t_init,
                    "spec.initContainers{install-oneagent}",
                ),
                (
                    "Pulled",
                    f'Container image "{img}" already present on machine',
                    t_main,
                    f"spec.containers{{{name}}}",
                ),
                ("Created", f"Created container {name}", t_main, f"spec.containers{{{name}}}"),
                ("Started", f"Started container {name}", t_main, f"spec.containers{{{name}}}"),
            ):
                event(cl, pod, reason=reason, message=msg, first=t, component="kubelet", host=nd, field_path=fpx)
            set_log(
                cl,
                ns_,
                pn,
                "install-oneagent",
                install_oneagent_log(t_init + sec(0.3), pn, [(name, img)], "wbx88105", nd),
            )
            if name == "inventory-api":
                set_log(
                    cl,
                    ns_,
                    pn,
                    name,
                    f'{{"time":"{ts_milli(t_main + sec(0.2))}","level":"INFO","msg":"listening","addr":":8080"}}\n',
                )
            else:
                set_log(
                    cl,
                    ns_,
                    pn,
                    name,
                    f"{ts_milli(t_main + sec(4.1))} INFO  [main] c.e.inventory.Worker - "
                    "consumer group inventory-sync started (partitions=12)\n",
                )
    keep_recent(cl, now)
    write_cluster_info_dump(cl, out, "json")
    nss = sorted((o for o in cl.objects if o["kind"] == "Namespace"), key=lambda o: o["metadata"]["name"])
    write(
        out / "cluster-scoped.yaml",
        go_yaml(get_list([*nss, dynatrace_mwc(cl, version="1.2.2", created="2024-04-02T09:00:15Z")])),
    )
    write(out / "README.md", HEALTHY_README.format(now=ts(now)))


# ==================================================================================================
# READMEs
# ==================================================================================================

SEED_README = """\
# Azure Pipelines agents on AKS crash-loop after Dynatrace injection (the seed case)

Self-hosted Azure Pipelines agents (`build-agents/azure-devops-agent`, image
`myacr.azurecr.io/azp-agent:ubuntu-22.04-3.242.1`) crash-loop on AKS. The namespace is mapped to the DynaKube
`dynatrace/dynakube` (label `dynakube.internal.dynatrace.com/instance: dynakube`), so the webhook of Dynatrace
Operator v1.2.2 injected OneAgent code modules (cloudNativeFullStack, CSI driver, code modules {cm}) into every
agent pod. The agent's .NET runtime dies while `Agent.Listener` starts:
`System.TypeInitializationException` -> `System.InvalidProgramException: Common Language Runtime detected an
invalid program.` in `Microsoft.VisualStudio.Services.Agent.Listener.Program.MainAsync`. Modelled on
microsoft/azure-pipelines-agent#4938 (see `shared/knowledge/dynatrace.md` §1.1).

Collected at {now}.

## Layout

* `kubectl cluster-info dump --all-namespaces --output-directory .` (JSON): `nodes.json` (5 AKS nodes in
  pools `system` (tainted `CriticalAddonsOnly=true:NoSchedule`), `agentpool`, `userpool`) and, per namespace,
  `events.json`, `replication-controllers.json`, `services.json`, `daemonsets.json`, `deployments.json`,
  `replicasets.json`, `pods.json`, `<pod>/logs.txt` (init containers first, then containers, each between
  `==== START/END logs for container C of pod NS/P ====`). Real kubectl names the controller file
  `replication-controllers.json` (hyphen); typed-list items carry no `kind`/`apiVersion`.
* `cluster-scoped.yaml`: what `kubectl get -o yaml` prints for the MutatingWebhookConfiguration
  `dynatrace-webhook`, the namespaces and the CSIDriver `csi.oneagent.dynatrace.com`, in one `List`; and
  `dynakube.yaml` (`kubectl get dynakube dynakube -n dynatrace -o yaml`).
* `logs/build-agents/<pod>/azp-agent.previous.log`: `kubectl logs --previous` of the three agent pods.

## What is in it

* `azure-devops-agent` (3 replicas, revision 7): pods `{a}` (oldest), `{b}`, `{c}`.
  Each carries what the v1.2 webhook adds and nothing else beyond the usual admission defaults: init container
  `install-oneagent`, volumes `injection-config`, `oneagent-bin` (CSI `csi.oneagent.dynatrace.com`,
  `mode: app`), `oneagent-share`, `metadata-enrichment(-endpoint)`, mounts `/etc/ld.so.preload`,
  `/opt/dynatrace/oneagent-paas`, `container.conf`, env `DT_DEPLOYMENT_METADATA` and `LD_PRELOAD`,
  annotations `oneagent.dynatrace.com/injected`, `dynakube.dynatrace.com/injected`, `metadata-enrichment...`.
* Exit code 134 (SIGABRT: an unhandled .NET exception aborts), reason `Error`, restart counts {ra}, {rb}, {rc}.
  `{a}` and `{c}` wait in `CrashLoopBackOff` (`back-off 5m0s restarting failed container=...`); their current
  log (`logs.txt`) is the crash of the last instance, as `kubectl logs` returns it. `{b}` was caught a few
  seconds into a restart: state `running`, `ready: true`, lastState terminated 134, and its current log shows
  only the first `start.sh` headers. The previous logs hold the full crash.
* Timeline: `{a}`'s first container ran from {a_first} to {a_fail} (44 minutes); every later start dies within
  about 20 seconds. Its aggregated `Created`/`Started` events keep that first timestamp, its `BackOff` event
  starts at the first failure.
* The healthy peer `azure-devops-agent-canary` runs the same image with `dynatrace.com/inject: "false"` on its
  pod template: pod `{canary}` is not mutated and is `Running`, restartCount 0, agent "Listening for Jobs".
  Its manifest carries an Azure DevOps PAT as a literal `AZP_TOKEN` value (in the pod spec and in the
  `kubectl.kubernetes.io/last-applied-configuration` annotation): a report must mask it.
* Events follow the API server's 1h event TTL: single events older than an hour (the failing pods' `Scheduled`,
  first `Pulling`) are gone; aggregated events that kept being updated survive. Pod `{d}` was deleted at
  08:41:26 (its events remain; `{c}` replaced it). In `dynatrace`, one `Inject` event on the DynaKube counts
  the four agent pods the webhook mutated.

## What a correct diagnosis says

* One finding for `Deployment build-agents/azure-devops-agent`, symptom `CrashLoopBackOff`, category
  `injection`, injectors `["dynatrace"]`, high confidence, built on independent evidence: the .NET signature
  (`InvalidProgramException` / `TypeInitializationException` in the previous logs, exit 134), the Dynatrace
  mutation found by diffing the pods against their ReplicaSet template (init container, CSI volume,
  `/etc/ld.so.preload`, `LD_PRELOAD`), the matching webhook `webhook.pod.dynatrace.com` (namespace label), and
  the healthy non-injected peer on the same image.
* Remedies, least invasive first: add `dynatrace.com/inject: "false"` (or `oneagent.dynatrace.com/inject:
  "false"`) to the Deployment's pod template and let it roll; or exclude the namespace through the DynaKube
  `namespaceSelector`; or pin the code modules (`codeModulesImage`) to the previous version. Do not remove the
  namespace label by hand (the operator puts it back).
* Not a finding: the canary, anything in `dynatrace` or `kube-system`. Not a cause: the image (the canary runs
  the same image) or the revision 7 rollout.
* The PAT never appears in any output.
"""

DATADOG_README = """\
# Datadog library injection breaks the JVM of a Java service

`billing/invoice-service` revision 9 opts into Datadog's admission controller (pod label
`admission.datadoghq.com/enabled: "true"`, annotation `admission.datadoghq.com/java-lib.version: v1.34.0`).
The webhooks `datadog.webhook.agent.config` and `datadog.webhook.lib.injection` of `datadog-webhook` add
`DD_AGENT_HOST`/`DD_ENTITY_ID`, the `DD_INSTRUMENTATION_INSTALL_*` variables, the init container
`datadog-lib-java-init` (copies the tracer into the emptyDir `datadog-auto-instrumentation`, mounted at
`/datadog-lib`) and `JAVA_TOOL_OPTIONS= -javaagent:/datadog-lib/dd-java-agent.jar ...`. The JVM cannot open
the agent jar and refuses to start (exit code 1):

    Picked up JAVA_TOOL_OPTIONS:  -javaagent:/datadog-lib/dd-java-agent.jar ...
    Error opening zip file or JAR manifest missing : /datadog-lib/dd-java-agent.jar
    Error occurred during initialization of VM
    agent library failed to init: instrument

The application runs as uid 10001 (`runAsNonRoot`) while the init container the webhook adds runs with the
image's default user, which is one way the jar ends up unreadable; the bundle shows the effect, not the
file mode.

Collected at {now}. Layout: `objects.yaml` (multi-document YAML as `kubectl get ... -o yaml` prints each
object: Namespace, Deployment, both ReplicaSets, the three pods, MutatingWebhookConfiguration
`datadog-webhook`), `events.json` (`kubectl get events -n billing -o json`), and
`logs/billing/<pod>/<container>.log|.previous.log`.

The rollout is stuck: the new ReplicaSet's pod `{pod}` is in `CrashLoopBackOff` ({restarts} restarts,
lastState terminated exit 1 reason `Error`), the Deployment reports `ProgressDeadlineExceeded`, and the two pods
of revision 8 (same application, not opted in, not mutated) keep serving.

## What a correct diagnosis says

* One finding for `Deployment billing/invoice-service`, `CrashLoopBackOff`, category `injection`, injectors
  `["datadog"]`; evidence: the JVM agent-load signature, `Picked up JAVA_TOOL_OPTIONS` pointing into
  `/datadog-lib`, the webhook-added init container/volume/env (template diff), the opt-in label matching the
  webhook's objectSelector, and the healthy revision-8 pods without the injection.
* Remedies: set the pod-template label `admission.datadoghq.com/enabled: "false"` (or drop the lib annotation)
  to roll back to a working state, then fix the library version or the pod's user/permissions before opting in
  again.
"""

OTEL_README = """\
# OpenTelemetry .NET auto-instrumentation: the startup hook is missing

Namespace `orders` carries `instrumentation.opentelemetry.io/inject-dotnet: "true"`, so the OpenTelemetry
Operator's `mpod.kb.io` webhook instruments the first container of every new pod with the namespace's
`Instrumentation` `default`: init container `opentelemetry-auto-instrumentation-dotnet` (copies
`/autoinstrumentation/.` into an emptyDir), `CORECLR_ENABLE_PROFILING=1`,
`CORECLR_PROFILER={{918728DD-259F-4A6A-AC2B-B85E1B658318}}`, `CORECLR_PROFILER_PATH`,
`DOTNET_STARTUP_HOOKS=/otel-auto-instrumentation-dotnet/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll`,
`DOTNET_ADDITIONAL_DEPS`, `DOTNET_SHARED_STORE`, `OTEL_DOTNET_AUTO_HOME` and the `OTEL_*` SDK settings. The
Instrumentation pins an internally rebuilt image (`shopacr.azurecr.io/platform/otel-dotnet-autoinstr:2024.05`)
that does not contain the startup-hook assembly at that path, so the .NET host aborts before `Main`:

    Unhandled exception. System.ArgumentException: Startup hook assembly '/otel-auto-instrumentation-dotnet/net/...
     ---> System.IO.FileNotFoundException: Could not load file or assembly '...'. The system cannot find ...
       at System.StartupHookProvider.CallStartupHook(StartupHookNameOrPath startupHook)

Exit code 134 (SIGABRT after the unhandled exception; the image's entrypoint script starts `dotnet`).
Pods `{p0}` ({r0} restarts) and `{p1}` ({r1} restarts) are in `CrashLoopBackOff`.

Collected at {now}. Layout: the YAML form of the cluster-info dump (`kubectl cluster-info dump -A -o yaml
--output-directory .`: `nodes.yaml`, `<ns>/{{events,replication-controllers,services,daemonsets,deployments,
replicasets,pods}}.yaml`, `<ns>/<pod>/logs.txt`), plus `namespace-orders.yaml`, `instrumentation.yaml`,
`mutatingwebhookconfiguration.yaml` (single objects from `kubectl get -o yaml`) and previous logs under `logs/`.
Note that the mutation is visible only in the pods and on the namespace annotation: the operator writes no
marker annotation on the pod.

## What a correct diagnosis says

* One finding for `Deployment orders/orders-api`, `CrashLoopBackOff`, category `injection`, injectors
  `["opentelemetry"]`; evidence: the startup-hook signature naming `/otel-auto-instrumentation-dotnet`, exit 134,
  the injected init container/volume/env (template diff), the namespace annotation that opted the pods in.
* Remedies: pod-template annotation `instrumentation.opentelemetry.io/inject-dotnet: "false"` (beats the
  namespace annotation) to restore service, then point the Instrumentation at a published
  `autoinstrumentation-dotnet` image.
"""

INSTANA_README = """\
# Instana AutoTrace preloads a glibc library into an Alpine (musl) Node.js process

The Instana AutoTrace webhook (`autotrace-webhook.instana.com`, opt-out by default) mutated the pods of
`storefront/catalog-web`, a Node.js 20 service built on Alpine: init container `instana-instrumentation-init`,
emptyDir `instana-instrumentation-volume` at `/opt/instana/instrumentation`,
`LD_PRELOAD=/opt/instana/instrumentation/libinstana_init/libinstana_init.so`, `NODE_OPTIONS=--require ...`,
labels `instana-autotrace-applied`/`instana-autotrace-version`. The preloaded library references glibc's
fortified functions, which musl does not provide, so the dynamic loader refuses to start `node`:

    Error relocating /opt/instana/instrumentation/libinstana_init/libinstana_init.so: __snprintf_chk: symbol not found
    Error relocating /opt/instana/instrumentation/libinstana_init/libinstana_init.so: __vfprintf_chk: symbol not found

This is the failure mode the webhook's CHANGELOG describes for Alpine/musl containers (v0.8.0); the example
shows what it looks like in a cluster, not a claim about a particular current release.

**Exit code 127.** musl's loader (`ldso/dynlink.c`) reports every relocation error while the process starts,
then, because it is still in the startup phase, exits with `_exit(127)` instead of running the program; the
application never starts, so nothing else is logged. (A glibc loader would instead print `ERROR: ld.so: object
... cannot be preloaded ...: ignored.` and carry on.) Exit 127 is also what a shell reports for "command not
found", so the log line, not the code alone, carries the diagnosis.

Collected at {now}. Layout: `cluster-state.yaml` (`kubectl get ns,deploy,rs,pods -n storefront -o yaml` plus
the MutatingWebhookConfiguration, one `List`), `events.yaml` (`kubectl get events -n storefront -o yaml`),
`logs/storefront/<pod>/catalog-web.log|.previous.log`. Pods `{p0}` ({r0} restarts) and `{p1}` crash-loop.

## What a correct diagnosis says

* One finding for `Deployment storefront/catalog-web`, `CrashLoopBackOff`, category `injection`, injectors
  `["instana"]`; evidence: the musl relocation error naming the injected library, exit 127, `LD_PRELOAD` and
  the init container/volume added by the webhook (template diff), the webhook's namespaceSelector matching.
* Remedies: label the pod template `instana-autotrace: "false"` (or the namespace), or turn off
  `autotrace.libinstana_init` / use a musl-compatible build; do not try to fix the application image.
"""

OOM_README = """\
# Negative case: a Dynatrace-injected Java service that is simply out of memory

`pricing/pricing-engine` runs in a namespace mapped to a DynaKube; Dynatrace Operator v1.7 injected its pods
(init container `dynatrace-operator` running the bootstrapper, volumes `oneagent-bin` (CSI), `dynatrace-input`,
`dynatrace-config`, mounts `/opt/dynatrace/oneagent-paas`, `/etc/ld.so.preload`, `/var/lib/dynatrace`, env
`LD_PRELOAD`, `DT_DEPLOYMENT_METADATA`, `DT_STORAGE`). The service itself has a 256Mi memory limit and loads
rate tables into memory at startup: each start gets about 20 seconds into Spring Boot and is killed by the
kernel. lastState `terminated`, reason `OOMKilled`, exit code 137; pods `{p0}` ({r0} restarts) and `{p1}` ({r1}
restarts) wait in `CrashLoopBackOff`. The logs stop mid-startup without an error (the JVM gets no chance to
print one).

Collected at {now}. Layout: `kubectl cluster-info dump -A --output-directory .` (JSON) plus
`cluster-scoped.yaml` (namespaces and the `dynatrace-webhook` MutatingWebhookConfiguration) and
`logs/pricing/<pod>/pricing-engine.previous.log`.

## What a correct diagnosis says

* One finding for `Deployment pricing/pricing-engine`, `CrashLoopBackOff`, category `oom` (not `injection`),
  with `injectors: ["dynatrace"]` because the mutation is present. The decisive evidence is the termination
  reason `OOMKilled`/137 with a 256Mi limit; the injection may add some memory overhead and can be mentioned as
  context, but it must not be named the cause.
* Remedy: raise the memory limit/request (and size the heap, e.g. `-XX:MaxRAMPercentage`), not an injection
  exclusion.
"""

IMAGE_PULL_README = """\
# Negative case: a Datadog-injected service whose new image tag does not exist

`checkout/cart-service` is opted into Datadog library injection (Node.js, `datadog-lib-js-init`,
`NODE_OPTIONS= --require=/datadog-lib/node_modules/dd-trace/init`). A rollout to `{img}` started; that tag was
never pushed. The new pod `{pod}` ran its (injected) init container, then cannot pull the application image:
`Failed to pull image ... rpc error: code = NotFound desc = failed to pull and unpack image ...: not found`,
`Error: ErrImagePull`, then `Back-off pulling image` / `Error: ImagePullBackOff` ({pulls} pull attempts so
far). The container waits with reason `ImagePullBackOff`, the pod is `Pending`. The three pods of the previous
ReplicaSet (`{old}`, injected the same way) are healthy, so the rollout is only stuck, not down.

Collected at {now}. Layout: `objects.yaml` (multi-document `kubectl get -o yaml` output: Namespace,
Deployment, both ReplicaSets, four pods, `datadog-webhook`) and `events.json`.

## What a correct diagnosis says

* One finding for `Deployment checkout/cart-service`, symptom `ImagePullBackOff`, category `image-pull`,
  `injectors: ["datadog"]` (present in every pod, healthy ones included, and not the cause).
* Remedy: push the tag or roll back to `{old}` (`kubectl rollout undo deployment/cart-service -n checkout`);
  nothing about Datadog.
"""

ISTIO_README = """\
# Negative case: Istio sidecar injected, but the application lacks its ConfigMap

Namespace `payments` has `istio-injection=enabled`, so `istio-sidecar-injector` added `istio-init`,
`istio-proxy` and their volumes to `payments-api`'s pod (annotation `sidecar.istio.io/status`). The proxy is
running and ready. The application container cannot be created: its `envFrom` references the ConfigMap
`payments-config`, which does not exist. The container waits with reason `CreateContainerConfigError`, message
`configmap "payments-config" not found`; the kubelet retried {tries} times (`Warning Failed Error: configmap
"payments-config" not found`). The pod is `Pending` and the Deployment has exceeded its progress deadline.

Collected at {now}. Layout: `objects.json` (`kubectl get ns,deploy,rs,pods -n payments -o json` plus
`mutatingwebhookconfiguration istio-sidecar-injector`, one `List`), `events.json`,
`logs/payments/<pod>/istio-proxy.log`.

## What a correct diagnosis says

* One finding for `Deployment payments/payments-api`, symptom `CreateContainerConfigError`, category
  `config`, `injectors: ["istio"]`, naming the missing ConfigMap `payments/payments-config`.
* Remedy: create the ConfigMap (or fix the reference); nothing about Istio.
"""

HEALTHY_README = """\
# Healthy: Dynatrace-injected workloads that run fine

Namespace `inventory` is mapped to the DynaKube (`dynakube.internal.dynatrace.com/instance: dynakube`); the
pods of `inventory-api` (2 replicas) and `inventory-worker` (1 replica) carry the full Dynatrace Operator
v1.2 mutation (`install-oneagent`, CSI `oneagent-bin`, `/etc/ld.so.preload`, `LD_PRELOAD`, ...). Everything is
`Running`/`Ready` with no restarts; the namespace's events are the normal ones of a rollout twenty minutes
earlier (`ScalingReplicaSet`, `SuccessfulCreate`, `Scheduled`, `Pulled`, `Created`, `Started`).

Collected at {now}. Layout: `kubectl cluster-info dump -A --output-directory .` (JSON) plus
`cluster-scoped.yaml` (namespaces and `dynatrace-webhook`).

## What a correct diagnosis says

No finding (`summary.findings == 0`, `workloads_failing == 0`). The presence of an injector is not a problem.
"""

README_INDEX = """\
# Example bundles

Each directory is a bundle `podmortem diagnose` reads offline (layouts in ARCHITECTURE.md §3.1). They are
generated by `_make_examples.py` (stdlib only, deterministic); edit the generator, not the files, and re-run
`python3 examples/_make_examples.py`.

| bundle | layout | a correct diagnosis |
|---|---|---|
| `aks-azure-pipelines-dynatrace/` | cluster-info dump (JSON), extra YAML, previous logs | injection: dynatrace |
| `datadog-java-agent/` | multi-doc YAML, events.json, logs | injection: datadog |
| `opentelemetry-dotnet-startup-hook/` | cluster-info dump (YAML), extra YAML, logs | injection: opentelemetry |
| `instana-alpine-musl/` | List YAML, events.yaml, logs | injection: instana |
| `negative-oom-injected/` | cluster-info dump (JSON), extra YAML, previous logs | oom (dynatrace present) |
| `negative-image-pull-injected/` | multi-doc YAML, events.json | image-pull (datadog present) |
| `negative-config-istio/` | List JSON, events.json, logs | config (istio present) |
| `healthy-injected/` | cluster-info dump (JSON), extra YAML | no finding (dynatrace present) |

Each bundle's README.md says what the case is and what a correct diagnosis must and must not say.
All names, uids, digests, IPs and tokens are synthetic. The `AZP_TOKEN` value in the seed bundle only looks
like an Azure DevOps PAT so that redaction is exercised.
"""


# ==================================================================================================
# main
# ==================================================================================================

BUNDLES: list[tuple[str, Callable[[Path], None]]] = [
    (SEED, write_seed),
    ("datadog-java-agent", build_datadog),
    ("opentelemetry-dotnet-startup-hook", build_otel),
    ("instana-alpine-musl", build_instana),
    ("negative-oom-injected", build_oom),
    ("negative-image-pull-injected", build_image_pull),
    ("negative-config-istio", build_istio),
    ("healthy-injected", build_healthy),
]


def main(argv: list[str]) -> int:
    only = set(argv[1:])
    for name, build in BUNDLES:
        if only and name not in only:
            continue
        out = ROOT / name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        build(out)
        n = sum(1 for p in out.rglob("*") if p.is_file())
        print(f"{name}: {n} files")
    if not only:
        write(ROOT / "README.md", README_INDEX)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
