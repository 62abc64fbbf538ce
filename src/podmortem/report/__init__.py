"""Report renderers: one per output format, chosen from :class:`OutputFormat`."""

from podmortem.report.formats import OutputFormat, render, report_document

__all__ = ["OutputFormat", "render", "report_document"]
