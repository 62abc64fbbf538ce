"""The default text report: readable in 80 columns, the cause first, then evidence, then the fix."""

from __future__ import annotations

import textwrap
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
    wrap_command,
)

TIMELINE_SHORT = 8
REMEDIES_SHORT = 3  # shown in full without --verbose; the rest by title
PODS_SHORT = 3

BOLD, DIM, RED, GREEN, YELLOW, RESET = "\033[1m", "\033[2m", "\033[31m", "\033[32m", "\033[33m", "\033[0m"
SAFETY_COLOR = {"safe": GREEN, "unsafe": RED, "manual": YELLOW}


class _Text:
    """Lines of the report, wrapped to a width, with optional ANSI styles applied after wrapping."""

    def __init__(self, width: int, color: bool) -> None:
        self.width = max(width, 40)
        self.color = color
        self.lines: list[str] = []

    def style(self, text: str, *codes: str) -> str:
        if not self.color or not codes or not text:
            return text
        return "".join(codes) + text + RESET

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def add(self, line: str = "") -> None:
        self.lines.append(line)

    def wrap(self, text: str, indent: int, hanging: int | None = None, *codes: str, first_prefix: str = "") -> None:
        """Wrap one paragraph; ``first_prefix`` (styled, ``indent`` columns wide) starts the first line."""
        hang = indent if hanging is None else hanging
        wrapped = textwrap.wrap(
            text,
            width=self.width,
            initial_indent=" " * indent,
            subsequent_indent=" " * hang,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [" " * indent]
        for i, line in enumerate(wrapped):
            pad = indent if i == 0 else hang
            body = line[pad:]
            lead = " " * pad
            if i == 0 and first_prefix:
                lead = first_prefix
            self.lines.append(lead + self.style(body, *codes))

    def wrap_lines(self, text: str, indent: int, hanging: int | None = None, *codes: str, prefix: str = "") -> None:
        """Wrap text that may hold several lines (log excerpts), each line on its own."""
        for i, line in enumerate(text.splitlines() or [""]):
            self.wrap(line, indent, hanging, *codes, first_prefix=prefix if i == 0 else "")

    def paragraphs(self, text: str, indent: int) -> None:
        """Wrap prose; a blank line separates paragraphs."""
        paras = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n")]
        for i, para in enumerate(p for p in paras if p):
            if i:
                self.add("")
            self.wrap(" ".join(para.split()), indent)

    def render(self) -> str:
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(line.rstrip() for line in self.lines) + "\n"


def render_text(doc: Mapping[str, Any], *, color: bool = False, width: int = 80, verbose: bool = False) -> str:
    """The text report of a (redacted) report document."""
    out = _Text(width, color)
    summary = fields(doc.get("summary"))
    findings = [fields(f) for f in items(doc.get("findings"))]
    tool = fields(doc.get("tool"))
    head = f"{source_label(doc.get('source'))}: {counts_label(summary)}"
    version = s(tool.get("version"))
    if verbose and version:
        head = f"podmortem {version}, {head}"
    out.wrap(head + ".", 0, 2, BOLD)
    for finding in findings:
        out.blank()
        _finding(out, finding, verbose)
    warnings = [s(w) for w in items(summary.get("warnings"))]
    if warnings:
        out.blank()
        for w in warnings:
            out.wrap(w, 9, 9, first_prefix=out.style("warning:", YELLOW) + " ")
    stats = fields(doc.get("stats"))
    if verbose and stats:
        out.blank()
        out.wrap("stats: " + ", ".join(f"{k}={v}" for k, v in stats.items()), 0, 7, DIM)
    return out.render()


def _finding(out: _Text, f: Mapping[str, Any], verbose: bool) -> None:
    workload = ref_label(f.get("workload"))
    symptom = s(f.get("symptom"))
    out.wrap(f"{workload}: {symptom}" if symptom else workload, 0, 2, BOLD)
    pods = [s(p) for p in items(f.get("pods"))]
    if pods:
        shown = pods if verbose or len(pods) <= PODS_SHORT + 1 else pods[:PODS_SHORT]
        more = f" (+{len(pods) - len(shown)} more)" if len(shown) < len(pods) else ""
        out.wrap(("pod: " if len(pods) == 1 else "pods: ") + ", ".join(shown) + more, 2, 4)
    facts = []
    containers = [s(c) for c in items(f.get("containers"))]
    if containers:
        facts.append(("container: " if len(containers) == 1 else "containers: ") + ", ".join(containers))
    injectors = [s(i) for i in items(f.get("injectors"))]
    facts.append("injected by: " + (", ".join(injectors) if injectors else "none"))
    out.wrap("; ".join(facts), 2, 4)

    out.add("")
    out.wrap(s(f.get("title")), 9, 9, BOLD, first_prefix="  " + out.style("Cause:", BOLD) + " ")
    conf = f"{confidence_label(f.get('confidence'))} confidence; {s(f.get('category'))}; rule {s(f.get('rule'))}"
    if verbose and f.get("id"):
        conf += f"; id {s(f.get('id'))}"
    out.wrap(conf, 9, 9)
    explanation = s(f.get("explanation"))
    if explanation:
        out.add("")
        out.paragraphs(explanation, 2)

    evidence = [fields(e) for e in items(f.get("evidence"))]
    if evidence:
        out.add("")
        out.add("  " + out.style("Evidence", BOLD))
        tags = [f"[{s(e.get('type')) or 'fact'}]" for e in evidence]
        col = min(max(len(t) for t in tags) + 1, 14)
        for tag, e in zip(tags, evidence, strict=True):
            hang = 4 + col
            prefix = "    " + tag.ljust(col - 1) + " "
            if len(prefix) > hang:  # an unusually long tag: summary on the next line
                out.add(prefix.rstrip())
                prefix = ""
            out.wrap_lines(s(e.get("summary")), hang, hang, prefix=prefix)
            ref = s(e.get("ref"))
            if ref:
                out.wrap(ref, hang, hang + 2, DIM)

    remedies = [fields(r) for r in items(f.get("remedies"))]
    if remedies:
        out.add("")
        out.add("  " + out.style("Fix", BOLD))
        for n, r in enumerate(remedies, 1):
            if verbose or n <= REMEDIES_SHORT:
                _remedy(out, n, r, f)
            else:
                _remedy_title(out, n, r)
        if not verbose and len(remedies) > REMEDIES_SHORT:
            out.wrap("(commands and notes of fixes 4 and later: -v, or -o json / markdown)", 4, 4, DIM)

    timeline = [fields(t) for t in items(f.get("timeline"))]
    if timeline:
        out.add("")
        if verbose or len(timeline) <= TIMELINE_SHORT:
            out.add("  " + out.style("Timeline", BOLD))
            for t in timeline:
                when = s(t.get("time"))
                col = 6 + len(when)
                out.wrap(s(t.get("event")), col, col, first_prefix="    " + out.style(when, DIM) + "  ")
        else:
            out.wrap(f"Timeline: {plural(len(timeline), 'entry', 'entries')} (shown in verbose output)", 2, 4, DIM)


def _remedy_title(out: _Text, n: int, r: Mapping[str, Any]) -> None:
    safety = s(r.get("safety")) or "manual"
    number, tag = f"{n}. ", f"[{safety}]"
    lead = "    " + number + out.style(tag, SAFETY_COLOR.get(safety, ""), BOLD) + " "
    body_indent = 4 + len(number)
    out.wrap(s(r.get("title")), body_indent + len(tag) + 1, body_indent, first_prefix=lead)


def _remedy(out: _Text, n: int, r: Mapping[str, Any], f: Mapping[str, Any]) -> None:
    safety = s(r.get("safety")) or "manual"
    number = f"{n}. "
    tag = f"[{safety}]"
    lead = "    " + number + out.style(tag, SAFETY_COLOR.get(safety, ""), BOLD) + " "
    body_indent = 4 + len(number)
    out.wrap(s(r.get("title")), body_indent + len(tag) + 1, body_indent, first_prefix=lead)
    detail = body_indent + 2
    for command in items(r.get("commands")):
        for line in wrap_command(s(command), out.width, detail):
            out.add(line)
    patch = fields(r.get("patch"))
    if patch and patch.get("body") is not None:
        target = r.get("target") or f.get("workload")
        ptype = s(patch.get("type")) or "strategic"
        out.wrap(f"{ptype} patch for {ref_label(target)}:", detail, detail + 2, DIM)
        for line in patch_yaml(patch.get("body"), out.width - detail - 2).splitlines():
            out.add(" " * (detail + 2) + line)
    notes = s(r.get("notes"))
    if notes:
        for para in (p for p in notes.split("\n\n") if p.strip()):
            out.wrap(" ".join(para.split()), detail, detail)
