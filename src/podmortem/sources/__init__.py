"""Sources: everything that turns an input (a bundle, manifests, a live cluster) into a Snapshot.

Only this package reads files or clusters. The offline sources never raise anything but
:class:`SourceError`, and only for input that cannot be read at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from podmortem.model.snapshot import Snapshot
from podmortem.sources._reader import archive_kind
from podmortem.sources.bundle import load_bundle
from podmortem.sources.errors import SourceError
from podmortem.sources.manifests import MANIFEST_SUFFIXES, attach_logs, load_manifests

__all__ = ["SourceError", "attach_logs", "load_bundle", "load_manifests", "open_source"]


def open_source(
    path: str | os.PathLike[str],
    *,
    more_paths: Sequence[str | os.PathLike[str]] = (),
    logs: Sequence[str] = (),
    previous_logs: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> Snapshot:
    """Open an offline source by what ``path`` is.

    A directory or a ``.tar.gz``/``.tgz``/``.zip`` archive is a bundle (:func:`load_bundle`); a
    ``.json``/``.yaml``/``.yml`` file, or several paths (``more_paths``), are manifests
    (:func:`load_manifests`). ``logs``/``previous_logs`` take ``FILE``, ``CONTAINER=FILE`` or
    ``POD/CONTAINER=FILE`` values and work with either. Raises :class:`SourceError` for anything else.
    """
    given = os.fspath(path)
    if more_paths:
        return load_manifests([given, *more_paths], logs=logs, previous_logs=previous_logs)
    if not os.path.exists(given):
        raise SourceError(f"cannot read '{given}': no such file or directory")
    if os.path.isfile(given) and given.lower().endswith(MANIFEST_SUFFIXES):
        return load_manifests([given], logs=logs, previous_logs=previous_logs)
    if os.path.isdir(given) or (os.path.isfile(given) and archive_kind(given) is not None):
        snapshot = load_bundle(given, progress=progress)
        attach_logs(snapshot, logs=logs, previous_logs=previous_logs)
        return snapshot
    raise SourceError(
        f"cannot read '{given}': not a bundle (a directory, .tar.gz, .tgz or .zip) or a manifest (.json, .yaml, .yml)"
    )
