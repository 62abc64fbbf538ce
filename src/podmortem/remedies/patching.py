"""Apply patches to snapshot objects offline: strategic merge, JSON merge (RFC 7386) and JSON patch (RFC 6902).

The API server applies the same three patch types; this module computes what an object would look like after
one, so a fix can be previewed (``before``/``after``, a diff) without a cluster. Strategic merge knows the
merge keys of the core types that remedies touch (containers and volumes by name, mounts by path, ...); any
other list is replaced, as the API server does for lists without a merge key.
"""

from __future__ import annotations

import copy
from typing import Any

from podmortem.model.findings import Patch

# Lists merged by key under strategic merge patch (field name -> merge key), from the Kubernetes core types'
# patchMergeKey tags. Lists not named here (tolerations, taints, args, command, ...) are replaced.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "volumes": "name",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "ownerReferences": "uid",
}


class PatchError(ValueError):
    """A patch cannot be applied to an object (a JSON patch path is missing, a test op fails, ...)."""


def apply_patch(obj: dict[str, Any], patch: Patch) -> dict[str, Any]:
    """A patched deep copy of ``obj`` (the input is never changed)."""
    target = copy.deepcopy(obj)
    if patch.type == "strategic":
        if not isinstance(patch.body, dict):
            raise PatchError("a strategic merge patch must be an object")
        merged = strategic_merge(target, copy.deepcopy(patch.body))
        if not isinstance(merged, dict):
            raise PatchError("a strategic merge patch must leave an object")
        return merged
    if patch.type == "merge":
        out = merge_patch(target, copy.deepcopy(patch.body))
        if not isinstance(out, dict):
            raise PatchError("a merge patch must leave an object")
        return out
    if patch.type == "json":
        if not isinstance(patch.body, list):
            raise PatchError("a JSON patch must be a list of operations")
        out = json_patch(target, copy.deepcopy(patch.body))
        if not isinstance(out, dict):
            raise PatchError("a JSON patch must leave an object")
        return out
    raise PatchError(f"unknown patch type {patch.type!r}")


# --- JSON merge patch (RFC 7386) ---------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def merge_diff(before: Any, after: Any) -> Any:
    """The smallest JSON merge patch that turns ``before`` into ``after`` (lists are sent whole)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return copy.deepcopy(after)
    out: dict[str, Any] = {}
    for key in before:
        if key not in after:
            out[key] = None
    for key, value in after.items():
        if key not in before:
            out[key] = copy.deepcopy(value)
        elif before[key] != value:
            out[key] = merge_diff(before[key], value)
    return out


# --- strategic merge patch ---------------------------------------------------------------------------------


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    """Kubernetes strategic merge: maps merge, keyed lists merge by key, other lists and scalars replace.

    Supports ``null`` (delete a key), ``$patch: replace`` / ``$patch: delete`` in a map, and list items with
    ``$patch: delete`` (remove the item with that key); other directives are ignored.
    """
    if not isinstance(patch, dict):
        return patch
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(out.get(key), list):
            out[key] = _merge_list(out[key], value, MERGE_KEYS[key], key)
        elif isinstance(value, list):
            out[key] = [v for v in value if not (isinstance(v, dict) and v.get("$patch") == "delete")]
        else:
            merged = strategic_merge(out.get(key), value, key)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
    return out


def _merge_list(current: list[Any], patch: list[Any], merge_key: str, field: str) -> list[Any]:
    out = list(current)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            out.append(item)
            continue
        pos = next(
            (i for i, cur in enumerate(out) if isinstance(cur, dict) and cur.get(merge_key) == item[merge_key]),
            None,
        )
        if item.get("$patch") == "delete":
            if pos is not None:
                del out[pos]
            continue
        if pos is None:
            out.append(strategic_merge({}, item, field))
        else:
            out[pos] = strategic_merge(out[pos], item, field)
    return out


# --- JSON patch (RFC 6902) ---------------------------------------------------------------------------------


def pointer(path: str) -> list[str]:
    """The reference tokens of a JSON pointer (``~1`` is ``/``, ``~0`` is ``~``)."""
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"JSON pointer {path!r} must start with /")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def escape_token(token: str) -> str:
    """A reference token escaped for a JSON pointer."""
    return token.replace("~", "~0").replace("/", "~1")


def to_pointer(parts: list[str] | tuple[str, ...]) -> str:
    """A JSON pointer from reference tokens."""
    return "".join("/" + escape_token(p) for p in parts)


def _index(container: list[Any], token: str, path: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"{path}: {token!r} is not an array index")
    i = int(token)
    if i > len(container) or (i == len(container) and not allow_end):
        raise PatchError(f"{path}: index {i} is out of range")
    return i


def _resolve(doc: Any, tokens: list[str], path: str) -> Any:
    cur = doc
    for t in tokens:
        if isinstance(cur, dict):
            if t not in cur:
                raise PatchError(f"{path}: {t!r} does not exist")
            cur = cur[t]
        elif isinstance(cur, list):
            cur = cur[_index(cur, t, path, allow_end=False)]
        else:
            raise PatchError(f"{path}: cannot descend into a scalar")
    return cur


def _add(doc: Any, tokens: list[str], value: Any, path: str) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, allow_end=True), value)
    else:
        raise PatchError(f"{path}: the parent is not an object or array")
    return doc


def _remove(doc: Any, tokens: list[str], path: str) -> tuple[Any, Any]:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _resolve(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{path}: {last!r} does not exist")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, path, allow_end=False))
    raise PatchError(f"{path}: the parent is not an object or array")


def _replace(doc: Any, tokens: list[str], value: Any, path: str) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{path}: {last!r} does not exist")
        parent[last] = value  # in place: the key keeps its position
    elif isinstance(parent, list):
        parent[_index(parent, last, path, allow_end=False)] = value
    else:
        raise PatchError(f"{path}: the parent is not an object or array")
    return doc


def json_patch(doc: Any, ops: list[Any]) -> Any:
    """Apply RFC 6902 operations in order (add, remove, replace, move, copy, test)."""
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError("a JSON patch operation must be an object")
        kind, path = op.get("op"), op.get("path")
        if not isinstance(path, str):
            raise PatchError(f"operation {kind!r} has no path")
        tokens = pointer(path)
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")), path)
        elif kind == "remove":
            doc, _ = _remove(doc, tokens, path)
        elif kind == "replace":
            doc = _replace(doc, tokens, copy.deepcopy(op.get("value")), path)
        elif kind in ("move", "copy"):
            src = op.get("from")
            if not isinstance(src, str):
                raise PatchError(f"operation {kind} has no from")
            src_tokens = pointer(src)
            if kind == "move":
                doc, value = _remove(doc, src_tokens, src)
            else:
                value = copy.deepcopy(_resolve(doc, src_tokens, src))
            doc = _add(doc, tokens, value, path)
        elif kind == "test":
            if _resolve(doc, tokens, path) != op.get("value"):
                raise PatchError(f"test failed at {path}: the object changed since the snapshot")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc
