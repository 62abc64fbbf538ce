"""Kubernetes label selectors (matchLabels / matchExpressions), as the API server evaluates them."""

from __future__ import annotations

from typing import Any

from podmortem.model.objects import as_dict, as_list, as_str


def selector_matches(selector: Any, labels: dict[str, str], *, empty_matches: bool = True) -> bool:
    """Whether ``labels`` satisfy a LabelSelector.

    A missing selector matches everything, as for webhook namespaceSelector/objectSelector; an empty one
    (``{}``) matches everything too unless ``empty_matches`` is False (e.g. a Service selector).
    """
    if selector is None:
        return True
    sel = as_dict(selector)
    match_labels = as_dict(sel.get("matchLabels"))
    exprs = [as_dict(e) for e in as_list(sel.get("matchExpressions"))]
    if not match_labels and not exprs:
        return empty_matches
    for key, value in match_labels.items():
        if labels.get(key) != value:
            return False
    for expr in exprs:
        key = as_str(expr.get("key"))
        op = as_str(expr.get("operator"))
        values = [v for v in as_list(expr.get("values")) if isinstance(v, str)]
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def describe_selector(selector: Any) -> str:
    """A selector in kubectl's ``-l`` syntax, for evidence text."""
    if selector is None:
        return "(everything)"
    sel = as_dict(selector)
    parts = [f"{k}={v}" for k, v in as_dict(sel.get("matchLabels")).items()]
    for expr in [as_dict(e) for e in as_list(sel.get("matchExpressions"))]:
        key, op = as_str(expr.get("key")), as_str(expr.get("operator"))
        values = ",".join(v for v in as_list(expr.get("values")) if isinstance(v, str))
        if op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        elif op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
    return ",".join(parts) if parts else "(everything)"
