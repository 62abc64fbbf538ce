"""Writing a snapshot as a support bundle: a directory or a deterministic ``.tar.gz`` (ARCHITECTURE.md §3.1)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from podmortem.bundle.layout import AUDIT_FILE, MANIFEST_FILE, audit_file, log_path, object_files
from podmortem.bundle.scrub import Scrubber
from podmortem.model.objects import RawObject, kind, name
from podmortem.model.snapshot import Snapshot

SCHEMA = "podmortem/bundle/v1"
TOOL_NAME = "podmortem"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")

_LIVE_NAME = re.compile(r"(?P<context>.*) \((?P<server>[^()\s]*)\)")


class BundleError(ValueError):
    """The bundle cannot be written where asked (a non-empty directory, a directory named like an archive)."""


@dataclass
class Manifest:
    """What a bundle holds: written as its ``manifest.json`` and returned by :func:`write_bundle`."""

    path: str
    tool: dict[str, str]
    source: dict[str, str]
    collected_at: str
    cluster: str | None = None
    context: str | None = None
    server: str | None = None
    selection: str | None = None
    kinds: dict[str, int] = field(default_factory=dict)
    logs: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    redaction: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The ``manifest.json`` document (``path`` is where it was written, not part of it)."""
        doc: dict[str, Any] = {
            "schema": self.schema,
            "tool": dict(self.tool),
            "source": dict(self.source),
            "collected_at": self.collected_at,
        }
        for key in ("cluster", "context", "server", "selection"):
            value = getattr(self, key)
            if value:
                doc[key] = value
        doc["kinds"] = dict(self.kinds)
        doc["logs"] = dict(self.logs)
        doc["warnings"] = list(self.warnings)
        doc["redaction"] = self.redaction
        if self.stats:
            doc["stats"] = self.stats
        doc["files"] = dict(self.files)
        return doc


def is_archive_path(out: str) -> bool:
    """True when ``out`` names a ``.tar.gz``/``.tgz`` archive rather than a directory."""
    return out.lower().endswith(ARCHIVE_SUFFIXES)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(stamp: str) -> int:
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int(moment.timestamp()))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _without_managed_fields(obj: RawObject) -> RawObject:
    """The object without ``metadata.managedFields``, which kubectl leaves out of its output too."""
    md = obj.get("metadata")
    if isinstance(md, dict) and "managedFields" in md:
        return {**obj, "metadata": {k: v for k, v in md.items() if k != "managedFields"}}
    return obj


def build_files(
    snapshot: Snapshot,
    *,
    tool_version: str,
    redact: bool = True,
    cluster: str | None = None,
    context: str | None = None,
    server: str | None = None,
    selection: str | None = None,
) -> tuple[dict[str, bytes], Manifest]:
    """Every file of the bundle of ``snapshot`` (relative path → bytes, ``manifest.json`` included)."""
    scrub = Scrubber(enabled=redact)
    notes: list[str] = []

    objects: list[RawObject] = []
    for bucket in snapshot.objects.values():
        for obj in bucket.values():
            written = scrub.object(_without_managed_fields(obj))
            if written is not None:
                objects.append(written)
    audit: list[RawObject] = []
    for event in snapshot.audit_events:
        written = scrub.object(event, place="audit")
        if written is not None:
            audit.append(written)
    scrub.finish_objects(objects)
    scrub.finish_objects(audit, place="audit")

    namespaces = [name(o) for o in objects if kind(o) == "Namespace"]
    files = object_files(objects, namespaces)
    log_counts: Counter[str] = Counter({"current": 0, "previous": 0})
    for key in sorted(snapshot.logs, key=lambda k: (k.namespace, k.pod, k.container, k.previous)):
        path = log_path(key)
        if path is None:
            notes.append(
                f"log of container {key.container!r} of pod {key.namespace}/{key.pod} not written: "
                "a name cannot be a file name"
            )
            continue
        files[path] = scrub.log(snapshot.logs[key]).encode("utf-8", "replace")
        log_counts["previous" if key.previous else "current"] += 1
    if audit:
        files[AUDIT_FILE] = audit_file(audit)

    src = snapshot.source
    collected_at = src.collected_at or _now()
    if src.type == "live" and (context is None or server is None):
        m = _LIVE_NAME.fullmatch(src.name)
        if m:
            context = context or m.group("context")
            server = server or m.group("server")
    warnings = [scrub.text(w) for w in [*snapshot.warnings, *notes]]
    source = {"type": src.type, "name": scrub.text(src.name), "collected_at": collected_at}
    manifest = Manifest(
        path="",
        tool={"name": TOOL_NAME, "version": tool_version},
        source=source,
        collected_at=collected_at,
        cluster=cluster,
        context=scrub.text(context) if context else None,
        server=scrub.text(server) if server else None,
        selection=selection,
        kinds=dict(sorted(Counter(kind(o) for o in objects).items())),
        logs=dict(log_counts),
        warnings=warnings,
        redaction=scrub.summary(),
        stats=json.loads(json.dumps(snapshot.stats, default=str)) if snapshot.stats else {},
        files={path: _sha256(files[path]) for path in sorted(files)},
    )
    files[MANIFEST_FILE] = (json.dumps(manifest.to_dict(), indent=4, ensure_ascii=False) + "\n").encode("utf-8")
    return files, manifest


def write_bundle(
    snapshot: Snapshot,
    out: str | os.PathLike[str],
    *,
    tool_version: str,
    redact: bool = True,
    cluster: str | None = None,
    context: str | None = None,
    server: str | None = None,
    selection: str | None = None,
) -> Manifest:
    """Write ``snapshot`` as a bundle that ``podmortem diagnose`` reads back to the same objects and logs.

    ``out`` ending in ``.tar.gz``/``.tgz`` is an archive (written deterministically: members sorted under one
    top directory named like the archive, fixed owner, modes and times; an existing file is replaced
    atomically); anything else is a directory, created, which must be absent or empty. Secrets are never
    written. With ``redact`` (the default) every object, log, event, audit event and warning is masked
    (:mod:`podmortem.bundle.scrub`) and the manifest counts what was masked where. ``cluster``, ``context``
    and ``server`` describe where a live snapshot came from (read from its source name when not given);
    ``selection`` is the workload the snapshot was narrowed to, if any. Raises :class:`BundleError` when
    ``out`` cannot be used, OSError when writing fails.
    """
    target = os.fspath(out)
    files, manifest = build_files(
        snapshot,
        tool_version=tool_version,
        redact=redact,
        cluster=cluster,
        context=context,
        server=server,
        selection=selection,
    )
    manifest.path = target
    if is_archive_path(target):
        _write_archive(target, files, mtime=_epoch(manifest.collected_at))
    else:
        _write_directory(target, files)
    return manifest


def _mode(bits: int) -> int:
    """``bits`` as the process umask lets new files have them."""
    mask = os.umask(0)
    os.umask(mask)
    return bits & ~mask


def _write_directory(target: str, files: dict[str, bytes]) -> None:
    if os.path.lexists(target):
        if not os.path.isdir(target):
            raise BundleError(f"cannot write bundle '{target}': it exists and is not a directory")
        if os.listdir(target):
            raise BundleError(f"cannot write bundle '{target}': the directory is not empty")
    parent = os.path.dirname(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(target))}.", dir=parent)
    try:
        for rel in sorted(files):
            full = os.path.join(staging, *rel.split("/"))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as fh:
                fh.write(files[rel])
        os.chmod(staging, _mode(0o777))
        if os.path.isdir(target):
            os.rmdir(target)  # empty, checked above
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def archive_top(target: str) -> str:
    """The directory every member of an archive bundle sits under: the archive's name without suffix."""
    base = os.path.basename(target)
    for suffix in ARCHIVE_SUFFIXES:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
            break
    base = base.strip().lstrip(".")
    return base or "bundle"


def write_archive(fileobj: BinaryIO, top: str, files: dict[str, bytes], *, mtime: int) -> None:
    """A gzip-compressed tar of ``files`` under ``top/``: sorted, owner 0:0, modes 0755/0644, one mtime."""
    dirs: set[str] = {top}
    members = {f"{top}/{rel}": data for rel, data in files.items()}
    for path in members:
        parts = path.split("/")
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=fileobj, mtime=mtime, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in sorted(dirs | set(members), key=lambda p: p.split("/")):
            info = tarfile.TarInfo(path)
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path in members:
                data = members[path]
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
            else:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)


def _write_archive(target: str, files: dict[str, bytes], *, mtime: int) -> None:
    if os.path.isdir(target):
        raise BundleError(f"cannot write bundle '{target}': it is a directory")
    parent = os.path.dirname(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write_archive(fh, archive_top(target), files, mtime=mtime)
        os.chmod(tmp, _mode(0o666))
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
