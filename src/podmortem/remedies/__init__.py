"""Remedies: planned as data (patches computed against the snapshot, graded safe / unsafe / manual), and the
pure planning API of ``podmortem fix`` (plan, preview as a diff, write as kubectl-appliable YAML)."""

from podmortem.remedies.common import PlannedChange, PlannedRemedy
from podmortem.remedies.fix import (
    Change,
    FixPlan,
    choose_remedy,
    plan_fix,
    plan_to_dict,
    to_yaml_documents,
    unified_diff,
    would_inject,
)
from podmortem.remedies.plan import attach

__all__ = [
    "Change",
    "FixPlan",
    "PlannedChange",
    "PlannedRemedy",
    "attach",
    "choose_remedy",
    "plan_fix",
    "plan_to_dict",
    "to_yaml_documents",
    "unified_diff",
    "would_inject",
]
