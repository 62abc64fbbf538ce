"""Reading the files of a bundle: a directory, or a tar (optionally gzip/bzip2/xz) or zip archive of one.

Archives are streamed member by member and never extracted to disk. Each file is parsed once into a
:class:`FileResult`; the results are merged into the snapshot at the end in path order, so a directory and an
archive of it give the same snapshot whatever order the archive lists its members in.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import tarfile
import time
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import Enum
from typing import IO, Any, NoReturn, Protocol

from podmortem.model.objects import RawObject
from podmortem.model.snapshot import LogKey, Snapshot, slim
from podmortem.sources._parse import (
    YamlPartial,
    collect_objects,
    decode_text,
    describe_error,
    load_json,
    load_yaml,
    one_line,
    split_dump_logs,
)
from podmortem.sources.audit import parse_audit_log

#: A single file (or archive member) larger than this is skipped with a warning.
MAX_FILE_BYTES = 1 << 30
#: An archive stops being read once its members add up to this many bytes (a guard against archive bombs).
MAX_TOTAL_BYTES = 32 << 30

_MiB = 1 << 20
_MANIFEST = "manifest.json"


class Role(Enum):
    """What a file in a bundle is, judged from its path."""

    JSON = "json"
    YAML = "yaml"
    DUMP_LOGS = "dump-logs"  # <ns>/<pod>/logs.txt of kubectl cluster-info dump
    CONTAINER_LOG = "container-log"  # logs/<ns>/<pod>/<container>[.previous].log
    AUDIT = "audit"  # audit/*.log, audit/*.jsonl


def normalize(name: str) -> str:
    """An archive member name or relative path as ``a/b/c`` (no leading ``/`` or ``./``, no empty parts)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p and p != "."]
    return "/".join(parts)


def is_hidden(part: str) -> bool:
    """Dot files, AppleDouble files and macOS archive litter are never bundle content."""
    return part.startswith(".") or part == "__MACOSX"


def classify(path: str) -> Role | None:
    """The role of a normalized path, or None when the file is not read at all."""
    parts = path.split("/")
    if any(is_hidden(p) for p in parts):
        return None
    base = parts[-1]
    lower = base.lower()
    if base == "logs.txt":
        return Role.DUMP_LOGS
    if len(parts) >= 4 and parts[-4] == "logs" and lower.endswith(".log") and len(base) > 4:
        return Role.CONTAINER_LOG
    if len(parts) >= 2 and parts[-2] == "audit" and lower.endswith((".log", ".jsonl")):
        return Role.AUDIT
    if lower.endswith(".json"):
        return Role.JSON
    if lower.endswith((".yaml", ".yml")):
        return Role.YAML
    return None


@dataclass
class FileResult:
    """What one file contributed."""

    path: str
    role: Role | None
    objects: list[RawObject] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    logs: list[tuple[LogKey, str]] = field(default_factory=list)
    # Each warning is (text before the file's path, text after it): the path shown is only known at the end.
    warnings: list[tuple[str, str]] = field(default_factory=list)
    manifest: dict[str, Any] | None = None


class Progress:
    """Calls ``callback(message)`` with "read N/M files" at most once per ``interval`` seconds, plus once at
    the end."""

    def __init__(self, callback: Callable[[str], None] | None, interval: float = 0.1) -> None:
        self._callback = callback
        self._interval = interval
        self._last = 0.0

    def __call__(self, done: int, total: int | None = None, *, percent: int | None = None, final: bool = False) -> None:
        """Report ``done`` files out of ``total`` (or ``percent`` of an archive) if the last report is old
        enough (always when ``final``)."""
        if self._callback is None:
            return
        now = time.monotonic()
        if final or now - self._last >= self._interval:
            self._last = now
            if total is not None:
                self._callback(f"read {done}/{total} files")
            elif percent is not None:
                self._callback(f"read {done} file{'' if done == 1 else 's'} ({percent}%)")
            else:
                self._callback(f"read {done} file{'' if done == 1 else 's'}")


def _size(n: int) -> str:
    return f"{n / _MiB:.0f} MiB" if n >= _MiB else f"{n} bytes"


class Collector:
    """Parses files into :class:`FileResult` objects and merges them into a snapshot."""

    def __init__(self) -> None:
        self.results: list[FileResult] = []
        self.files = 0
        self._tops: set[str] = set()
        self._top_files = False

    def problem(self, path: str, role: Role | None, reason: str) -> None:
        """Record a file that could not be read."""
        self.results.append(FileResult(path, role, warnings=[("skipped ", f": {one_line(reason)}")]))

    def too_large(self, path: str, role: Role | None, size: int) -> None:
        """Record a file skipped for its size."""
        self.problem(path, role, f"{_size(size)} is over the {_size(MAX_FILE_BYTES)} limit for one file")

    def file(self, path: str, role: Role, data: bytes) -> None:
        """Parse one file's bytes. Never raises: a malformed file becomes a warning naming it."""
        self.files += 1
        result = FileResult(path, role)
        try:
            _parse_into(result, data)
        except Exception as exc:
            result.warnings.append(("skipped ", f": {describe_error(exc)}"))
        for obj in result.objects:
            slim(obj)  # now, so the memory it frees is reused by the next file
        self.results.append(result)

    def manifest(self) -> dict[str, Any] | None:
        """The bundle's ``manifest.json`` (the one nearest the root), if any."""
        found = [r for r in self.results if r.manifest is not None]
        if not found:
            return None
        return min(found, key=lambda r: (r.path.count("/"), r.path)).manifest

    def note_member(self, raw_name: str, *, is_dir: bool) -> None:
        """Note an archive member's name, to find the directory the archive was made of (see ``finish``)."""
        name = raw_name.replace("\\", "/").lstrip("/")
        head, sep, rest = name.partition("/")
        if is_hidden(head) and head != ".":
            return
        self._tops.add(head)
        if not is_dir and not (sep and rest.strip("/")):
            self._top_files = True

    def finish(self, snapshot: Snapshot, *, prefix: str = "") -> None:
        """Merge all results into ``snapshot`` in path order.

        Per-container log files win over ``logs.txt`` of a cluster-info dump. When every member of an archive
        is under one directory (``tar czf b.tgz bundle/``), that directory is left out of the paths shown in
        warnings, so an archive and its directory give the same snapshot; ``prefix`` goes in front of them.
        """
        top = ""
        if len(self._tops) == 1 and not self._top_files:
            top = next(iter(self._tops))
            if top in (".", "..", "logs", "audit"):
                top = ""
        cut = len(top) + 1 if top else 0

        def shown(path: str) -> str:
            rel = path[cut:] if cut and path.startswith(top + "/") else path
            return f"{prefix.rstrip('/')}/{rel}" if prefix else rel

        ordered = sorted(self.results, key=lambda r: (r.role is Role.DUMP_LOGS, r.path))
        for res in ordered:
            if res.warnings:
                name = shown(res.path)
                for before, after in res.warnings:
                    snapshot.warn(f"{before}{name}{after}")
            for obj in res.objects:
                snapshot.add(obj)
            if res.audit:
                snapshot.audit_events.extend(res.audit)
            for key, text in res.logs:
                snapshot.add_log(key, text)


def _parse_into(result: FileResult, data: bytes) -> None:
    role = result.role
    parts = result.path.split("/")
    if role is Role.JSON:
        docs = load_json(data)
        if parts[-1].lower() == _MANIFEST and len(docs) == 1:
            doc = docs[0]
            if isinstance(doc, dict) and "kind" not in doc:
                result.manifest = doc
                return
        collect_objects(docs, result.objects, result.audit)
    elif role is Role.YAML:
        try:
            docs = load_yaml(data)
        except YamlPartial as partial:
            collect_objects(partial.docs, result.objects, result.audit)
            n = len(partial.docs)
            before = f"skipped the part after document {n} of " if n else "skipped "
            result.warnings.append((before, f": {partial}"))
            return
        collect_objects(docs, result.objects, result.audit)
    elif role is Role.DUMP_LOGS:
        ns_hint, pod_hint = (parts[-3], parts[-2]) if len(parts) >= 3 else ("", "")
        for ns, pod, container, text in split_dump_logs(decode_text(data), ns_hint, pod_hint):
            result.logs.append((LogKey(ns, pod, container), text))
    elif role is Role.CONTAINER_LOG:
        base = parts[-1]
        previous = base.lower().endswith(".previous.log")
        container = base[: -len(".previous.log")] if previous else base[: -len(".log")]
        if container:
            result.logs.append((LogKey(parts[-3], parts[-2], container, previous), decode_text(data)))
    elif role is Role.AUDIT:
        read = parse_audit_log(data)
        result.audit.extend(read.events)
        if read.bad_lines:
            result.warnings.append(
                (
                    f"skipped {read.bad_lines} of {read.lines} lines of ",
                    f" that are not audit events ({read.first_problem})",
                )
            )


# --- directories ------------------------------------------------------------------------------------------


def read_directory(root: str, collector: Collector, progress: Progress, fail: Callable[[str], NoReturn]) -> None:
    """Read every file of interest under ``root`` (sorted, hidden files and special files skipped)."""
    try:
        with os.scandir(root):
            pass
    except OSError as exc:
        fail(exc.strerror or str(exc))

    def walk_error(exc: OSError) -> None:
        where = os.path.relpath(exc.filename, root) if isinstance(exc.filename, str) else "?"
        collector.problem(normalize(where), None, exc.strerror or str(exc))

    entries: list[tuple[str, str, Role]] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=walk_error):
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(d))
        rel_dir = dirpath[len(root) :].lstrip(os.sep + "/")  # os.walk joins onto root: no relpath needed
        for fname in sorted(filenames):
            rel = normalize(f"{rel_dir}/{fname}" if rel_dir else fname)
            role = classify(rel)
            if role is not None:
                entries.append((rel, os.path.join(dirpath, fname), role))
    total = len(entries)
    for i, (rel, full, role) in enumerate(entries, 1):
        try:
            info = os.stat(full)
            if not stat.S_ISREG(info.st_mode):
                continue
            if info.st_size > MAX_FILE_BYTES:
                collector.too_large(rel, role, info.st_size)
                continue
            with open(full, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            collector.problem(rel, role, f"cannot read it: {exc.strerror or exc}")
            continue
        collector.file(rel, role, data)
        progress(i, total)
    progress(total, total, final=True)


# --- archives ---------------------------------------------------------------------------------------------

_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def archive_kind(path: str) -> str | None:
    """``"tar"`` or ``"zip"`` when ``path`` is an archive we can read (by content, then by name)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        head = b""
    if head.startswith(_ZIP):
        return "zip"
    if head.startswith((_GZIP, _BZIP2, _XZ)) or head[257:262] == b"ustar":
        return "tar"
    lower = path.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith(ARCHIVE_SUFFIXES):
        return "tar"
    return None


def read_archive(path: str, collector: Collector, progress: Progress, fail: Callable[[str], NoReturn]) -> None:
    """Read a tar/tar.gz/tgz/tar.bz2/tar.xz or zip archive member by member."""
    with ExitStack() as stack:
        try:
            raw = stack.enter_context(open(path, "rb"))
            head = raw.read(512)
            raw.seek(0)
        except OSError as exc:
            fail(exc.strerror or str(exc))
        lower = path.lower()
        if head.startswith(_ZIP) or (lower.endswith(".zip") and not head.startswith((_GZIP, _BZIP2, _XZ))):
            _read_zip(raw, collector, progress, fail)
            return
        stream: _Stream
        if head.startswith(_GZIP):
            stream = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
        elif head.startswith(_BZIP2):
            stream = stack.enter_context(bz2.BZ2File(raw))
        elif head.startswith(_XZ):
            stream = stack.enter_context(lzma.LZMAFile(raw))
        elif head[257:262] == b"ustar" or lower.endswith(".tar"):
            stream = raw
        elif lower.endswith((".tar.gz", ".tgz")):
            fail("not a gzip file" if head else "empty file")
        else:
            fail("not a supported archive (.tar.gz, .tgz, .tar or .zip)")
        _read_tar(raw, stream, collector, progress, fail)


class _Stream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
    def write(self, b: bytes, /) -> object: ...
    def tell(self) -> int: ...
    def seek(self, pos: int, /) -> object: ...
    def close(self) -> object: ...


def _read_tar(
    raw: IO[bytes],
    stream: _Stream,
    collector: Collector,
    progress: Progress,
    fail: Callable[[str], NoReturn],
) -> None:
    try:
        size = os.fstat(raw.fileno()).st_size or 1
    except (OSError, ValueError):
        size = 1
    with ExitStack() as stack:
        try:
            tar = stack.enter_context(tarfile.open(fileobj=stream, mode="r|", bufsize=64 * 1024))
        except Exception as exc:
            fail(_archive_reason(exc))
        total = 0
        while True:
            try:
                member = tar.next()
            except Exception as exc:
                fail(_archive_reason(exc))
            if member is None:
                break
            seen = getattr(tar, "members", None)
            if isinstance(seen, list):
                seen.clear()  # stream mode: do not keep every header in memory
            collector.note_member(member.name, is_dir=member.isdir())
            if not member.isreg():
                continue
            path = normalize(member.name)
            role = classify(path) if path else None
            if role is None:
                continue
            if member.size > MAX_FILE_BYTES:
                collector.too_large(path, role, member.size)
                continue
            if total + member.size > MAX_TOTAL_BYTES:
                collector.problem(path, role, f"the archive holds more than {_size(MAX_TOTAL_BYTES)}")
                break
            try:
                fh = tar.extractfile(member)
                data = fh.read() if fh is not None else b""
            except Exception as exc:
                fail(_archive_reason(exc))
            total += len(data)
            collector.file(path, role, data)
            progress(collector.files, percent=min(99, 100 * raw.tell() // size))
        if stream is not raw:
            # The tar end marker was seen; reading the compressed stream to its end reveals truncation or a
            # bad checksum. Anything after the tar is bounded so trailing junk cannot make this run forever.
            try:
                left = MAX_FILE_BYTES
                while left > 0:
                    chunk = stream.read(min(left, 16 * _MiB))
                    if not chunk:
                        break
                    left -= len(chunk)
            except Exception as exc:
                fail(_archive_reason(exc))
    progress(collector.files, percent=100, final=True)


def _read_zip(raw: IO[bytes], collector: Collector, progress: Progress, fail: Callable[[str], NoReturn]) -> None:
    try:
        archive = zipfile.ZipFile(raw)
        infos = archive.infolist()
    except Exception as exc:
        fail(_archive_reason(exc))
    with archive:
        members: list[tuple[str, Role, zipfile.ZipInfo]] = []
        for info in infos:
            collector.note_member(info.filename, is_dir=info.is_dir())
            if info.is_dir():
                continue
            path = normalize(info.filename)
            role = classify(path) if path else None
            if role is not None:
                members.append((path, role, info))
        count = len(members)
        total = 0
        for i, (path, role, info) in enumerate(members, 1):
            if info.file_size > MAX_FILE_BYTES:
                collector.too_large(path, role, info.file_size)
                continue
            try:
                with archive.open(info) as fh:
                    data = fh.read(MAX_FILE_BYTES + 1)
            except Exception as exc:
                why = "it is encrypted" if "encrypted" in str(exc) else str(exc) or type(exc).__name__
                collector.problem(path, role, f"cannot read it from the archive: {why}")
                continue
            if len(data) > MAX_FILE_BYTES:
                collector.too_large(path, role, len(data))
                continue
            total += len(data)
            if total > MAX_TOTAL_BYTES:
                collector.problem(path, role, f"the archive holds more than {_size(MAX_TOTAL_BYTES)}")
                break
            collector.file(path, role, data)
            progress(i, count)
    progress(count, count, final=True)


def _archive_reason(exc: BaseException) -> str:
    text = str(exc)
    low = text.lower()
    if isinstance(exc, zipfile.BadZipFile) and "not a zip file" in low:
        return "not a zip file"
    if isinstance(exc, gzip.BadGzipFile) and "not a gzipped file" in low:
        return "not a gzip file"
    if isinstance(exc, EOFError) or "unexpected end of data" in low or "end-of-stream" in low:
        return "the archive is truncated"
    if isinstance(exc, tarfile.ReadError):
        if "empty file" in low:
            return "empty archive"
        return one_line(f"not a valid tar archive ({text})")
    return one_line(f"corrupt archive ({type(exc).__name__}: {text})" if text else f"corrupt archive ({exc!r})")
