"""The Markdown report, for pasting into a ticket or a pull request (GitHub-flavoured tables and fences)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from podmortem.report.common import (
    confidence_label,
    counts_label,
    fields,
    items,
    patch_yaml,
    plural,
    ref_label,
    s,
    source_label,
)

TIMELINE_SHORT = 8
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_BACKTICKS = re.compile(r"`+")


def escape(text: str) -> str:
    """Prose with Markdown syntax characters escaped (one line)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def code(text: str, *, in_table: bool = False) -> str:
    """An inline code span that holds ``text`` literally, whatever backticks it contains."""
    flat = " ".join(text.split())
    if not flat:
        return ""
    longest = max((len(m) for m in _BACKTICKS.findall(flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    span = f"{fence}{pad}{flat}{pad}{fence}"
    return span.replace("|", "\\|") if in_table else span


def fenced(body: str, lang: str, indent: str = "") -> list[str]:
    """A fenced code block, the fence longer than any backtick run inside."""
    longest = max((len(m) for m in _BACKTICKS.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [indent + fence + lang]
    lines.extend((indent + line) if line else "" for line in body.splitlines())
    lines.append(indent + fence)
    return lines


def render_markdown(doc: Mapping[str, Any], *, verbose: bool = False) -> str:
    """The Markdown report of a (redacted) report document."""
    summary = fields(doc.get("summary"))
    lines = ["# podmortem diagnosis", ""]
    lines.append(f"{escape(source_label(doc.get('source')))}: {escape(counts_label(summary))}.")
    for f in items(doc.get("findings")):
        lines.append("")
        lines.extend(_finding(fields(f), verbose))
    warnings = [s(w) for w in items(summary.get("warnings"))]
    if warnings:
        lines += ["", "## Warnings", ""]
        lines.extend(f"- {escape(w)}" for w in warnings)
    tool = fields(doc.get("tool"))
    if tool.get("version"):
        lines += [
            "",
            f"<sub>podmortem {escape(s(tool.get('version')))}, schema {escape(s(doc.get('schema')))}</sub>",
        ]
    return _tidy(lines)


def _tidy(lines: list[str]) -> str:
    """Join lines, with at most one blank line in a row outside code fences."""
    out: list[str] = []
    fence = ""
    for line in lines:
        for part in line.split("\n"):
            stripped = part.strip()
            if fence:
                if stripped == fence:
                    fence = ""
            elif stripped.startswith("```"):
                fence = stripped[: len(stripped) - len(stripped.lstrip("`"))]
            elif not stripped and out and not out[-1].strip():
                continue
            out.append(part)
    return "\n".join(out).strip("\n") + "\n"


def _cell(values: list[str]) -> str:
    return ", ".join(code(v, in_table=True) for v in values if v) or "none"


def _finding(f: Mapping[str, Any], verbose: bool) -> list[str]:
    out = [f"## {escape(s(f.get('title'))) or 'Finding'}", ""]
    rows = [
        ("Workload", code(ref_label(f.get("workload")), in_table=True)),
        ("Pods", _cell([s(p) for p in items(f.get("pods"))])),
        ("Containers", _cell([s(c) for c in items(f.get("containers"))])),
        ("Symptom", escape(s(f.get("symptom")))),
        ("Category", escape(s(f.get("category")))),
        ("Rule", code(s(f.get("rule")), in_table=True)),
        ("Confidence", escape(confidence_label(f.get("confidence")))),
        ("Injectors", _cell([s(i) for i in items(f.get("injectors"))])),
    ]
    if verbose and f.get("id"):
        rows.append(("Finding id", code(s(f.get("id")), in_table=True)))
    out += ["| Field | Value |", "| --- | --- |"]
    out.extend(f"| {k} | {v} |" for k, v in rows)
    explanation = s(f.get("explanation"))
    if explanation:
        out.append("")
        paras = [escape(p) for p in explanation.replace("\r\n", "\n").split("\n\n") if p.strip()]
        out.append("\n\n".join(paras))

    evidence = [fields(e) for e in items(f.get("evidence"))]
    if evidence:
        out += ["", "### Evidence", ""]
        for e in evidence:
            out.extend(_evidence(e))

    remedies = [fields(r) for r in items(f.get("remedies"))]
    if remedies:
        out += ["", "### Fix", ""]
        for n, r in enumerate(remedies, 1):
            out.extend(_remedy(n, r, f))

    timeline = [fields(t) for t in items(f.get("timeline"))]
    if timeline:
        out += ["", "### Timeline", ""]
        shown = timeline if verbose or len(timeline) <= TIMELINE_SHORT else timeline[-TIMELINE_SHORT:]
        if len(shown) < len(timeline):
            earlier = plural(len(timeline) - len(shown), "earlier entry", "earlier entries")
            out += [f"{earlier} not shown.", ""]
        out += ["| Time | Event |", "| --- | --- |"]
        out.extend(f"| {code(s(t.get('time')), in_table=True)} | {escape(s(t.get('event')))} |" for t in shown)
    return out


def _evidence(e: Mapping[str, Any]) -> list[str]:
    kind = escape(s(e.get("type")) or "fact")
    summary = s(e.get("summary"))
    ref = s(e.get("ref"))
    where = f" ({code(ref)})" if ref else ""
    lines = summary.splitlines()
    if len(lines) > 1:
        # a multi-line log excerpt: keep its lines in a block under the item
        return [f"- **{kind}**{where}", "", *fenced(summary, "text", "  "), ""]
    text = code(summary) if kind in ("log", "event") else escape(summary)
    return [f"- **{kind}**: {text}{where}"]


def _remedy(n: int, r: Mapping[str, Any], f: Mapping[str, Any]) -> list[str]:
    safety = s(r.get("safety")) or "manual"
    out = [f"{n}. **[{escape(safety)}]** {escape(s(r.get('title')))}"]
    indent = " " * (len(str(n)) + 2)
    target = r.get("target")
    if fields(target):
        out.append(f"{indent}Target: {code(ref_label(target))}")
    notes = s(r.get("notes"))
    if notes:
        out += ["", indent + escape(notes)]
    commands = [s(c) for c in items(r.get("commands"))]
    if commands:
        out.append("")
        out.extend(fenced("\n".join(commands), "sh", indent))
    patch = fields(r.get("patch"))
    if patch and patch.get("body") is not None:
        ptype = s(patch.get("type")) or "strategic"
        header = f"# {ptype} patch for {ref_label(target or f.get('workload'))}"
        out.append("")
        out.extend(fenced(header + "\n" + patch_yaml(patch.get("body"), 100), "yaml", indent))
    out.append("")
    return out
