"""Manifests given on the command line: ``podmortem diagnose pod.yaml [more.yaml ...] --logs FILE``.

Each path is a JSON/YAML file (one object, a ``List``/``*List`` or a multi-document stream) or a directory
read like a bundle's loose files. Logs come from ``--logs`` (current) and ``--previous-logs`` values, each
``FILE``, ``CONTAINER=FILE``, ``POD/CONTAINER=FILE`` or ``NS/POD/CONTAINER=FILE``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from podmortem.model.objects import RawObject, as_dict, as_list, as_str, name, namespace, spec, status
from podmortem.model.snapshot import LogKey, Snapshot, SourceInfo, slim
from podmortem.sources._parse import (
    YamlPartial,
    collect_objects,
    decode_text,
    describe_error,
    load_json,
    load_yaml,
)
from podmortem.sources._reader import MAX_FILE_BYTES, archive_kind
from podmortem.sources.bundle import paused_gc, read_bundle_files
from podmortem.sources.errors import SourceError

MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")

_TARGET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*){0,2}")
_FAILING_WAIT = ("CrashLoopBackOff", "Error")


def load_manifests(
    paths: Sequence[str | os.PathLike[str]], *, logs: Sequence[str] = (), previous_logs: Sequence[str] = ()
) -> Snapshot:
    """Read manifest files (or directories of them) and attach the given logs.

    Raises :class:`SourceError` when a path is missing or a named file cannot be parsed, or when a log
    value cannot be read or matched to exactly one container.
    """
    given = [os.fspath(p) for p in paths]
    if not given:
        raise SourceError("no manifest files given")
    snapshot = Snapshot(SourceInfo(type="manifests", name=", ".join(given)))
    with paused_gc():
        for path in given:
            if not os.path.exists(path):
                raise SourceError(f"cannot read manifest '{path}': no such file or directory")
            if os.path.isdir(path):
                read_bundle_files(path, what="directory").finish(snapshot, prefix=path)
            elif not path.lower().endswith(MANIFEST_SUFFIXES) and archive_kind(path) is not None:
                read_bundle_files(path, what="bundle").finish(snapshot)
            else:
                _load_file(path, snapshot)
    attach_logs(snapshot, logs=logs, previous_logs=previous_logs)
    return snapshot


def _load_file(path: str, snapshot: Snapshot) -> None:
    def fail(reason: str) -> SourceError:
        return SourceError(f"cannot read manifest '{path}': {reason}")

    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            raise fail("file too large")
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise fail(exc.strerror or str(exc)) from None
    try:
        docs = load_json(data) if path.lower().endswith(".json") else load_yaml(data)
    except YamlPartial as exc:
        raise fail(str(exc)) from None
    except Exception as exc:
        raise fail(describe_error(exc)) from None
    objects: list[RawObject] = []
    audit: list[dict[str, Any]] = []
    collect_objects(docs, objects, audit)
    if not objects and not audit:
        snapshot.warn(f"no Kubernetes object in {path}")
    for obj in objects:
        slim(obj)
        snapshot.add(obj)
    snapshot.audit_events.extend(audit)


# --- logs -------------------------------------------------------------------------------------------------


def attach_logs(snapshot: Snapshot, *, logs: Sequence[str] = (), previous_logs: Sequence[str] = ()) -> None:
    """Read ``--logs`` / ``--previous-logs`` values and store them as container logs of ``snapshot``.

    A value is ``FILE``, ``CONTAINER=FILE``, ``POD/CONTAINER=FILE`` or ``NS/POD/CONTAINER=FILE``. A bare
    ``FILE`` goes to the failing container of the only failing pod (or the only pod's first container).
    Logs given this way replace logs the source already had for the same container.
    """
    assigned: dict[LogKey, str] = {}
    for flag, values, previous in (("--logs", logs, False), ("--previous-logs", previous_logs, True)):
        for value in values:
            target, file = parse_log_value(value, flag)
            ns, pod, container = _resolve(snapshot, target, file, flag)
            key = LogKey(ns, pod, container, previous)
            if key in assigned:
                raise SourceError(
                    f"{flag}: two files for container {container} of pod {ns}/{pod} ({assigned[key]}, {file})"
                )
            assigned[key] = file
            snapshot.logs[key] = _read_log(file)


def parse_log_value(value: str, flag: str = "--logs") -> tuple[tuple[str, ...], str]:
    """Split a ``--logs`` value into its target (``()``, ``(C,)``, ``(P, C)`` or ``(NS, P, C)``) and file."""
    if not value:
        raise SourceError(f"{flag}: empty value; give FILE, CONTAINER=FILE or POD/CONTAINER=FILE")
    target, sep, file = value.partition("=")
    whole_is_file = os.path.isfile(value) and not os.path.exists(file)
    if sep and file and _TARGET.fullmatch(target) and not whole_is_file:
        return tuple(target.split("/")), file
    return (), value


def _read_log(file: str) -> str:
    try:
        if os.path.getsize(file) > MAX_FILE_BYTES:
            raise SourceError(f"cannot read log file '{file}': file too large")
        with open(file, "rb") as fh:
            return decode_text(fh.read())
    except OSError as exc:
        raise SourceError(f"cannot read log file '{file}': {exc.strerror or exc}") from None


def _container_names(pod: RawObject) -> list[str]:
    names: list[str] = []
    pod_spec = spec(pod)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in as_list(pod_spec.get(key)):
            n = as_str(as_dict(c).get("name"))
            if n and n not in names:
                names.append(n)
    for n in _failure_scores(pod):
        if n not in names:
            names.append(n)
    return names


def _first_container(pod: RawObject) -> str:
    for c in as_list(spec(pod).get("containers")):
        n = as_str(as_dict(c).get("name"))
        if n:
            return n
    return ""


def _failure_score(container_status: dict[str, Any]) -> int:
    """2: crash-looping or exited with an error now; 1: terminated before (lastState); 0: not failing."""
    state = as_dict(container_status.get("state"))
    waiting = as_dict(state.get("waiting"))
    terminated = as_dict(state.get("terminated"))
    if waiting.get("reason") in _FAILING_WAIT:
        return 2
    if terminated and terminated.get("exitCode") not in (0, None):
        return 2
    if as_dict(as_dict(container_status.get("lastState")).get("terminated")):
        return 1
    return 0


def _failure_scores(pod: RawObject) -> dict[str, int]:
    scores: dict[str, int] = {}
    st = status(pod)
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in as_list(st.get(key)):
            n = as_str(as_dict(cs).get("name"))
            if n:
                scores[n] = max(scores.get(n, 0), _failure_score(as_dict(cs)))
    return scores


def _ref(pod: RawObject) -> str:
    return f"{namespace(pod)}/{name(pod)}" if namespace(pod) else name(pod)


def _resolve(snapshot: Snapshot, target: tuple[str, ...], file: str, flag: str) -> tuple[str, str, str]:
    pods = snapshot.of_kind("Pod")
    use_pod = f"use {flag} POD/CONTAINER={file}"
    if len(target) == 3:
        ns, pod_name, container = target
        pod = snapshot.get("Pod", ns, pod_name)
        if pod is None:
            raise SourceError(f"{flag}: no pod {ns}/{pod_name} in the input")
        return ns, pod_name, _check_container(pod, container, flag)
    if len(target) == 2:
        pod_name, container = target
        matches = [p for p in pods if name(p) == pod_name]
        if not matches:
            raise SourceError(f"{flag}: no pod named '{pod_name}' in the input")
        if len(matches) > 1:
            where = ", ".join(sorted(namespace(p) for p in matches))
            raise SourceError(
                f"{flag}: several pods are named '{pod_name}' (namespaces {where}); use {flag} NS/POD/CONTAINER={file}"
            )
        pod = matches[0]
        return namespace(pod), name(pod), _check_container(pod, container, flag)
    if len(target) == 1:
        container = target[0]
        having = [p for p in pods if container in _container_names(p)]
        if not having:
            raise SourceError(f"{flag}: no pod in the input has a container named '{container}'")
        if len(having) > 1:
            scored = [(_failure_scores(p).get(container, 0), p) for p in having]
            best = max(s for s, _ in scored)
            top = [p for s, p in scored if s == best]
            if best == 0 or len(top) > 1:
                raise SourceError(f"{flag}: {len(having)} pods have a container named '{container}'; {use_pod}")
            having = top
        pod = having[0]
        return namespace(pod), name(pod), container
    # A bare FILE: the failing container of the failing pod.
    if not pods:
        raise SourceError(f"{flag}: no pod in the input to attach '{file}' to")
    pod = pods[0]
    if len(pods) > 1:
        scored = [(max(_failure_scores(p).values(), default=0), p) for p in pods]
        best = max(s for s, _ in scored)
        top = [p for s, p in scored if s == best]
        if best == 0 or len(top) > 1:
            raise SourceError(f"{flag}: cannot tell which of the {len(pods)} pods '{file}' belongs to; {use_pod}")
        pod = top[0]
    scores = _failure_scores(pod)
    best = max(scores.values(), default=0)
    failing = [n for n, s in scores.items() if s == best and s > 0]
    if len(failing) > 1:
        raise SourceError(
            f"{flag}: pod {_ref(pod)} has several failing containers ({', '.join(failing)}); "
            f"use {flag} CONTAINER={file}"
        )
    container = failing[0] if failing else _first_container(pod)
    if not container:
        raise SourceError(f"{flag}: pod {_ref(pod)} has no containers to attach '{file}' to")
    return namespace(pod), name(pod), container


def _check_container(pod: RawObject, container: str, flag: str) -> str:
    names = _container_names(pod)
    if names and container not in names:
        raise SourceError(f"{flag}: pod {_ref(pod)} has no container '{container}' (it has {', '.join(names)})")
    return container
