"""Fixtures for the renderer tests."""

from __future__ import annotations

import pytest
from report_cases import seed_report

from podmortem.model.findings import Report


@pytest.fixture
def report() -> Report:
    """The seed-case report (Dynatrace finding, an OOM finding, warnings, a rule error)."""
    return seed_report()
