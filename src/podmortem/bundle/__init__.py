"""Support bundles: narrow a snapshot to one workload, redact it, and write it as a bundle ``diagnose`` reads.

``select_for`` and ``write_bundle`` work on a :class:`~podmortem.model.snapshot.Snapshot` whatever source it
came from (a live cluster, another bundle, manifests); nothing here reads a cluster. ``rbac_yaml`` is the
read-only RBAC podmortem needs in a cluster.
"""

from __future__ import annotations

from importlib import resources

from podmortem.bundle.collect import SCHEMA, BundleError, Manifest, build_files, write_bundle
from podmortem.bundle.select import MAX_PEERS, parse_workload, select_for

__all__ = [
    "MAX_PEERS",
    "SCHEMA",
    "BundleError",
    "Manifest",
    "build_files",
    "parse_workload",
    "rbac_yaml",
    "select_for",
    "write_bundle",
]


def rbac_yaml() -> str:
    """The ServiceAccount, read-only ClusterRole and ClusterRoleBinding podmortem needs (``podmortem rbac``)."""
    return resources.files("podmortem.bundle").joinpath("rbac.yaml").read_text(encoding="utf-8")
