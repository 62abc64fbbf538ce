"""Indexes over a snapshot: owners, template diffs, webhook matching, node pools, events and pod health."""

from podmortem.index.index import Index, Injection, PodEntry, Workload

__all__ = ["Index", "Injection", "PodEntry", "Workload"]
