"""Remedies: planned as data (patches, commands, safety)."""

from podmortem.remedies.plan import attach

__all__ = ["attach"]
