"""The three PATCH formats of the Kubernetes API: JSON merge patch, JSON patch and strategic merge patch.

* ``application/merge-patch+json`` (RFC 7386): maps merge, ``null`` deletes, anything else replaces.
* ``application/json-patch+json`` (RFC 6902): add, remove, replace, move, copy, test.
* ``application/strategic-merge-patch+json`` (built-in kinds only): like a merge patch, except that lists with a
  patch merge key (containers and volumes by ``name``, volumeMounts by ``mountPath``...) merge element by element,
  ``$patch: delete``/``replace`` directives, ``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>``
  are understood, and ``finalizers`` merge as a set. Enough for pod-template metadata, env, volumes and
  containers, the things remedies patch; unknown lists are replaced, as for an atomic list.

All functions return new values and never change their arguments.
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    """A patch that cannot be applied (the server answers 422, or 400 for malformed JSON patch)."""


# ------------------------------------------------------------------------------------------ merge patch


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# ------------------------------------------------------------------------------------------- JSON patch


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve(doc: Any, parts: list[str], path: str) -> Any:
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise PatchError(f"doc is missing path: {path}: missing value")
    return cur


def _add(doc: Any, parts: list[str], value: Any, path: str) -> Any:
    if not parts:
        return value
    parent = _resolve(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise PatchError(f"add operation does not apply: doc is missing path: {path}")
    else:
        raise PatchError(f"add operation does not apply: doc is missing path: {path}")
    return doc


def _remove(doc: Any, parts: list[str], path: str) -> Any:
    if not parts:
        raise PatchError("remove operation does not apply: cannot remove the whole document")
    parent = _resolve(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise PatchError(f"remove operation does not apply: doc is missing path: {path}")


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch."""
    if not isinstance(operations, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict):
            raise PatchError("json: cannot unmarshal into Go value of type jsonpatch.Operation")
        name, path = op.get("op"), op.get("path")
        if not isinstance(path, str):
            raise PatchError(f"operation missing path: {op}")
        parts = _pointer(path)
        if name == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")), path)
        elif name == "remove":
            _remove(doc, parts, path)
        elif name == "replace":
            _resolve(doc, parts, path)
            if not parts:
                doc = copy.deepcopy(op.get("value"))
            else:
                _remove(doc, parts, path)
                doc = _add(doc, parts, copy.deepcopy(op.get("value")), path)
        elif name in ("move", "copy"):
            src = op.get("from")
            if not isinstance(src, str):
                raise PatchError(f"operation missing from: {op}")
            src_parts = _pointer(src)
            value = _remove(doc, src_parts, src) if name == "move" else copy.deepcopy(_resolve(doc, src_parts, src))
            doc = _add(doc, parts, value, path)
        elif name == "test":
            if _resolve(doc, parts, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {name}")
    return doc


# ------------------------------------------------------------------------------ strategic merge patch

# list field → its patch merge key (k8s.io/api struct tags). Lists not named here are atomic.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "ports": "containerPort",
}
_PRIMITIVE_MERGE = {"finalizers"}
_SERVICE_PORT_KEY = "port"


def _merge_key(field: str, kind: str, path: tuple[str, ...]) -> str | None:
    if field == "ports" and kind == "Service" and path == ("spec",):
        return _SERVICE_PORT_KEY
    return _MERGE_KEYS.get(field)


def _smp_list(
    original: list[Any], patch: list[Any], key: str, kind: str, path: tuple[str, ...], order: list[Any] | None
) -> list[Any]:
    out = [copy.deepcopy(x) for x in original]
    for item in patch:
        if not isinstance(item, dict):
            continue
        directive = item.get("$patch")
        if directive == "replace":
            return [copy.deepcopy({k: v for k, v in i.items() if k != "$patch"}) for i in patch if isinstance(i, dict)]
        idx = next((n for n, x in enumerate(out) if isinstance(x, dict) and x.get(key) == item.get(key)), None)
        if directive == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(_smp_map({}, item, kind, path))
        else:
            out[idx] = _smp_map(out[idx], item, kind, path)
    if order:
        wanted = [o.get(key) for o in order if isinstance(o, dict)]
        rank = {v: n for n, v in enumerate(wanted)}
        out.sort(key=lambda x: rank.get(x.get(key) if isinstance(x, dict) else None, len(rank)))
    return out


def _smp_map(original: dict[str, Any], patch: dict[str, Any], kind: str, path: tuple[str, ...]) -> dict[str, Any]:
    if patch.get("$patch") == "replace":
        return copy.deepcopy({k: v for k, v in patch.items() if k != "$patch"})
    if patch.get("$patch") == "delete":
        return {}
    out = copy.deepcopy(original)
    orders = {k.split("/", 1)[1]: v for k, v in patch.items() if k.startswith("$setElementOrder/")}
    for k, v in patch.items():
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(out.get(field), list) and isinstance(v, list):
                out[field] = [x for x in out[field] if x not in v]
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            out.pop(k, None)
            continue
        cur = out.get(k)
        key = _merge_key(k, kind, path)
        if isinstance(v, dict):
            out[k] = _smp_map(cur if isinstance(cur, dict) else {}, v, kind, (*path, k))
        elif isinstance(v, list) and key is not None:
            order = orders.get(k)
            out[k] = _smp_list(
                cur if isinstance(cur, list) else [],
                v,
                key,
                kind,
                (*path, k),
                order if isinstance(order, list) else None,
            )
        elif isinstance(v, list) and k in _PRIMITIVE_MERGE:
            merged = list(cur) if isinstance(cur, list) else []
            merged.extend(x for x in v if x not in merged)
            out[k] = merged
        else:
            out[k] = copy.deepcopy(v)
    return out


def strategic_merge_patch(target: dict[str, Any], patch: Any, kind: str) -> dict[str, Any]:
    """Strategic merge patch of a built-in object."""
    if not isinstance(patch, dict):
        raise PatchError("json: cannot unmarshal array into Go value of type map[string]interface {}")
    return _smp_map(target, patch, kind, ())
