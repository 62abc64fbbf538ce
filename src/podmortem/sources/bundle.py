"""Offline bundles: a directory, or a ``.tar.gz``/``.tgz``/``.zip`` of one (ARCHITECTURE.md §3.1).

A bundle may hold the output of ``kubectl cluster-info dump`` (JSON or YAML), any other Kubernetes objects as
JSON/YAML (single objects, ``List``/``*List``, multi-document streams), container logs under
``logs/<ns>/<pod>/``, API server audit logs under ``audit/`` and the ``manifest.json`` written by ``collect``.
Everything is optional; a file that cannot be parsed becomes a warning and the rest is read.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from podmortem.model.snapshot import Snapshot, SourceInfo
from podmortem.sources._reader import Collector, Progress, archive_kind, read_archive, read_directory
from podmortem.sources.errors import SourceError

_TIME_KEYS = ("collected_at", "collectedAt", "time", "timestamp")


def load_bundle(path: str | os.PathLike[str], *, progress: Callable[[str], None] | None = None) -> Snapshot:
    """Read a bundle directory or archive into a :class:`Snapshot`.

    ``progress`` receives short messages such as ``"read 120/800 files"``, at most about ten a second.
    Raises :class:`SourceError` (one-line message) when the path is missing, is neither a directory nor a
    supported archive, or the archive itself is corrupt. Problems with single files are snapshot warnings.

    The cyclic garbage collector is paused while reading and the objects alive afterwards are frozen
    (:func:`gc.freeze`): the parsed objects hold no reference cycles and live as long as the snapshot, so
    scanning them again and again would only cost time. They are still freed when no longer referenced.
    """
    given = os.fspath(path)
    with paused_gc():
        collector = read_bundle_files(given, progress=progress, what="bundle")
        snapshot = Snapshot(SourceInfo(type="bundle", name=given))
        collector.finish(snapshot)
        manifest = collector.manifest()
        if manifest is not None:
            snapshot.source.collected_at = manifest_time(manifest)
        del collector
    return snapshot


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector; after success freeze what is alive; resume it if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if enabled:
            gc.enable()
        raise
    if enabled:
        gc.freeze()
        gc.enable()


def read_bundle_files(given: str, *, progress: Callable[[str], None] | None = None, what: str = "bundle") -> Collector:
    """Read and parse every file of a bundle directory or archive (not yet merged into a snapshot)."""

    def fail(reason: str) -> NoReturn:
        raise SourceError(f"cannot read {what} '{given}': {reason}")

    if not os.path.exists(given):
        fail("no such file or directory")
    collector = Collector()
    ticker = Progress(progress)
    if os.path.isdir(given):
        read_directory(given, collector, ticker, fail)
    elif os.path.isfile(given) and archive_kind(given) is not None:
        read_archive(given, collector, ticker, fail)
    else:
        fail("not a directory or a .tar.gz, .tgz or .zip archive")
    return collector


def manifest_time(manifest: dict[str, Any]) -> str:
    """When a bundle was collected, from its ``manifest.json`` ("" when it does not say)."""
    for key in _TIME_KEYS:
        value = manifest.get(key)
        if isinstance(value, str) and value:
            return value
    return ""
