"""Helpers shared by the renderers: labels, confidence words, YAML for patches, shell-command wrapping.

Renderers read the report *document* (``Report.to_dict()`` after redaction), never the dataclasses, so
what they print is exactly what the JSON report holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

HIGH = 0.8
MEDIUM = 0.5


def s(value: Any) -> str:
    """A value as display text (``""`` for None)."""
    return "" if value is None else str(value)


def items(value: Any) -> list[Any]:
    """A list field of the document (``[]`` when absent or not a list)."""
    return value if isinstance(value, list) else []


def fields(value: Any) -> Mapping[str, Any]:
    """An object field of the document (``{}`` when absent or not an object)."""
    return value if isinstance(value, Mapping) else {}


def ref_label(ref: Any) -> str:
    """``Deployment build-agents/azure-devops-agent`` (``Node aks-pool-1`` without a namespace)."""
    r = fields(ref)
    ns = s(r.get("namespace"))
    name = s(r.get("name"))
    return f"{s(r.get('kind'))} {ns}/{name}" if ns else f"{s(r.get('kind'))} {name}".strip()


def confidence_word(confidence: float) -> str:
    """``high``, ``medium`` or ``low``."""
    if confidence >= HIGH:
        return "high"
    if confidence >= MEDIUM:
        return "medium"
    return "low"


def confidence_label(value: Any) -> str:
    """``high (95%)``."""
    try:
        confidence = float(value)
    except (TypeError, ValueError):
        confidence = 0.0
    return f"{confidence_word(confidence)} ({round(confidence * 100)}%)"


def plural(n: int, word: str, many: str = "") -> str:
    """``1 finding``, ``2 findings``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def source_label(source: Any) -> str:
    """``bundle support-bundle.tgz (collected 2024-05-02T09:20:00Z)``."""
    src = fields(source)
    label = " ".join(p for p in (s(src.get("type")), s(src.get("name"))) if p) or "unknown source"
    collected = s(src.get("collected_at"))
    return f"{label} (collected {collected})" if collected else label


def counts_label(summary: Any) -> str:
    """``14 workloads checked, 1 failing, 1 finding`` or ``14 workloads checked, none failing``."""
    sm = fields(summary)
    checked = _int(sm.get("workloads_checked"))
    failing = _int(sm.get("workloads_failing"))
    found = _int(sm.get("findings"))
    head = plural(checked, "workload") + " checked"
    if failing == 0 and found == 0:
        return f"{head}, none failing"
    if found == 0:
        return f"{head}, {failing} failing, no cause found"
    return f"{head}, {failing} failing, {plural(found, 'finding')}"


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def patch_yaml(body: Any, width: int = 80) -> str:
    """A patch body as compact block YAML, keys in their given order."""
    text = yaml.safe_dump(body, default_flow_style=False, sort_keys=False, allow_unicode=True, width=max(width, 20))
    return text.rstrip("\n")


def shell_words(command: str) -> list[str]:
    """Split a one-line shell command at the spaces that are outside quotes (the quotes are kept)."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    escaped = False
    for ch in command:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quote != "'":
            current.append(ch)
            escaped = True
        elif quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            current.append(ch)
            quote = ch
        elif ch in " \t":
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return words


def wrap_command(command: str, width: int, indent: int, continuation: int = 2) -> list[str]:
    """A shell command folded with ``\\`` continuations to fit ``width``; never breaks inside a word or quote.

    A single word longer than the room left (a long JSON patch in quotes) stays whole on its own line.
    """
    out: list[str] = []
    for line in command.splitlines() or [""]:
        words = shell_words(line)
        if not words:
            out.append(" " * indent)
            continue
        lines: list[list[str]] = [[]]
        for unit in _units(words, width - indent - continuation - 2):
            current = lines[-1]
            pad = indent if len(lines) == 1 else indent + continuation
            used = pad + len(" ".join([*current, unit])) + 2  # room for " \"
            if current and used > width:
                lines.append([unit])
            else:
                current.append(unit)
        for i, ws in enumerate(lines):
            pad = indent if i == 0 else indent + continuation
            tail = " \\" if i < len(lines) - 1 else ""
            out.append(" " * pad + " ".join(ws) + tail)
    return out


def _units(words: list[str], room: int) -> list[str]:
    """Keep a flag with its value (``--type strategic``) when the pair fits on a line of its own."""
    units: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word.startswith("-") and "=" not in word and nxt and not nxt.startswith("-"):
            pair = f"{word} {nxt}"
            if len(pair) <= room:
                units.append(pair)
                i += 2
                continue
        units.append(word)
        i += 1
    return units
