"""Output formats and the one entry point that renders a report in any of them."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, assert_never

from podmortem.model.findings import Report
from podmortem.model.redact import redact_tree
from podmortem.report.markdown import render_markdown
from podmortem.report.text import render_text


class OutputFormat(StrEnum):
    """The report formats ``-o`` accepts (a ``str`` enum: ``OutputFormat("json")``)."""

    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


def report_document(report: Report) -> dict[str, Any]:
    """``Report.to_dict()`` with every secret masked: what every renderer starts from."""
    doc, _ = redact_tree(report.to_dict())
    if not isinstance(doc, dict):  # pragma: no cover - redact_tree keeps the shape of its input
        raise TypeError("a report document must be an object")
    return doc


def render_json(doc: dict[str, Any]) -> str:
    """The ``podmortem/diagnosis/v1`` JSON document, indented, keys in their contract order."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render(report: Report, fmt: OutputFormat, *, color: bool = False, width: int = 80, verbose: bool = False) -> str:
    """Render a report; secrets are masked first whatever a rule put into evidence, patches or notes."""
    doc = report_document(report)
    match fmt:
        case OutputFormat.TEXT:
            return render_text(doc, color=color, width=width, verbose=verbose)
        case OutputFormat.JSON:
            return render_json(doc)
        case OutputFormat.MARKDOWN:
            return render_markdown(doc, verbose=verbose)
        case _:
            assert_never(fmt)
