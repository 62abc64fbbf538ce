"""Property tests and fuzzing of the offline loaders: whatever the files hold, loading never raises (except
SourceError for an unreadable archive), never hangs, and a directory and its archives agree."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from kube_fixtures import comparable, kube_list, logs_txt, pod, tar_bytes, write_files, zip_bytes

from podmortem.model.snapshot import Snapshot
from podmortem.sources import SourceError, load_bundle
from podmortem.sources._parse import split_dump_logs

# PODMORTEM_FUZZ_EXAMPLES=5000 runs a longer fuzz session; the default keeps each test to a few seconds.
EXAMPLES = int(os.environ.get("PODMORTEM_FUZZ_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Paths that exercise every way a bundle file is read.
PATHS = [
    "nodes.json",
    "ns/pods.json",
    "ns/pods.yaml",
    "extra/all.yml",
    "ns/pod-1/logs.txt",
    "logs/ns/pod-1/app.log",
    "logs/ns/pod-1/app.previous.log",
    "audit/kube-apiserver.log",
    "audit/batch.jsonl",
    "manifest.json",
]

VALID_POD = json.dumps(kube_list("PodList", [pod("ns", "pod-1", containers=["app"], crashing=["app"])])).encode()
VALID_YAML = yaml.safe_dump(pod("ns", "pod-2")).encode()
VALID_LOGS = logs_txt("ns", "pod-1", {"app": "hello\n", "side": "x"}).encode()
VALID_AUDIT = (
    json.dumps({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "1", "stage": "ResponseComplete"}) + "\n"
).encode()


def mutated(base: bytes) -> st.SearchStrategy[bytes]:
    """Truncations, byte flips and insertions of a valid file."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 4))):
            op = draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
            at = draw(st.integers(0, max(0, len(data) - 1)))
            if op == "cut":
                del data[at:]
            elif op == "flip" and data:
                data[at] ^= draw(st.integers(1, 255))
            elif op == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=8))
            elif data:
                del data[at : at + draw(st.integers(1, 16))]
        return bytes(data)

    return build()


CONTENT = st.one_of(
    st.binary(max_size=300),
    mutated(VALID_POD),
    mutated(VALID_YAML),
    mutated(VALID_LOGS),
    mutated(VALID_AUDIT),
    st.text(max_size=200).map(lambda t: t.encode("utf-16")),
    st.text(max_size=200).map(lambda t: t.encode("latin-1", "replace")),
    st.sampled_from([VALID_POD, VALID_YAML, VALID_LOGS, VALID_AUDIT, b"", b"\xef\xbb\xbf", b"\xff\xfe"]),
)
BUNDLES = st.dictionaries(st.sampled_from(PATHS), CONTENT, min_size=1, max_size=6)


def check(snapshot: Snapshot) -> None:
    assert isinstance(snapshot, Snapshot)
    for warning in snapshot.warnings:
        assert isinstance(warning, str) and "\n" not in warning and warning
    for text in snapshot.logs.values():
        assert isinstance(text, str)


@SETTINGS
@given(files=BUNDLES)
def test_any_file_contents_in_a_directory_tar_and_zip(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        from_dir = load_bundle(write_files(root / "bundle", files))
        check(from_dir)
        # The usual layouts: `tar czf b.tgz bundle/`, `tar cf b.tar -C bundle .`, `zip -r b.zip bundle`.
        (root / "b.tgz").write_bytes(tar_bytes({f"bundle/{k}": v for k, v in files.items()}))
        (root / "b.tar").write_bytes(tar_bytes({f"./{k}": v for k, v in files.items()}, mode="w"))
        (root / "b.zip").write_bytes(zip_bytes({f"bundle/{k}": v for k, v in files.items()}))
        for archive in (root / "b.tgz", root / "b.tar", root / "b.zip"):
            from_archive = load_bundle(archive)
            check(from_archive)
            assert comparable(from_archive) == comparable(from_dir)


@SETTINGS
@given(data=st.binary(max_size=2000), name=st.sampled_from(["b.tgz", "b.tar.gz", "b.zip", "b.tar", "b.tar.xz"]))
def test_arbitrary_bytes_as_an_archive_raise_only_source_error(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            check(load_bundle(path))
        except SourceError as exc:
            assert str(exc).startswith(f"cannot read bundle '{path}': ") and "\n" not in str(exc)


ARCHIVE_FILES = {"b/ns/pods.json": VALID_POD, "b/ns/pod-1/logs.txt": VALID_LOGS, "b/audit/a.log": VALID_AUDIT}


@SETTINGS
@given(
    fmt=st.sampled_from(["tgz", "zip", "tar"]),
    data=st.data(),
)
def test_damaged_archives_raise_only_source_error(fmt: str, data: st.DataObject) -> None:
    good = zip_bytes(ARCHIVE_FILES) if fmt == "zip" else tar_bytes(ARCHIVE_FILES, mode="w:gz" if fmt == "tgz" else "w")
    damaged = data.draw(mutated(good))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"b.{fmt}"
        path.write_bytes(damaged)
        try:
            check(load_bundle(path))
        except SourceError as exc:
            assert "\n" not in str(exc)


LOG_PIECES = [
    *"ab =\n\r\t/é✓",
    "==== START logs for container ",
    "==== END logs for container ",
    " of pod ns/pod-1 ====\n",
    " of pod other/pod-9 ====\n",
    "app",
]
LOG_TEXT = st.lists(st.sampled_from(LOG_PIECES), max_size=40).map("".join)
CONTAINER = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)


@SETTINGS
@given(logs=st.dictionaries(CONTAINER, LOG_TEXT, min_size=1, max_size=4))
def test_logs_txt_round_trip(logs: dict[str, str]) -> None:
    ns, pod_name = "ns", "pod-1"
    for container, text in logs.items():
        assume(f"==== END logs for container {container} of pod {ns}/{pod_name} ====" not in text)
        assume(not text.startswith(("Create log request error: ", "Request log error: ")))
        # A log line equal to a START marker of this very pod is indistinguishable from a real one.
        assume("==== START logs for container " not in text or f"of pod {ns}/{pod_name}" not in text)
    got = split_dump_logs(logs_txt(ns, pod_name, logs), ns, pod_name)
    assert got == [(ns, pod_name, c, t) for c, t in logs.items()]


@SETTINGS
@given(text=st.text(max_size=300), encoding=st.sampled_from(["utf-16", "utf-32", "utf-8-sig", "latin-1"]))
def test_odd_encodings_of_a_valid_object(text: str, encoding: str) -> None:
    obj = pod("ns", "p")
    obj["metadata"]["annotations"] = {"note": text}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = {}
        for name, body in (("p.json", json.dumps(obj, ensure_ascii=False)), ("p.yaml", yaml.safe_dump(obj))):
            try:
                files[name] = body.encode(encoding)
            except UnicodeEncodeError:
                files[name] = body.encode(encoding, "replace")
        snap = load_bundle(write_files(root, files))
        check(snap)
        if encoding != "latin-1" or text.isascii():
            loaded = snap.get("Pod", "ns", "p")
            assert loaded is not None, snap.warnings
            if encoding != "latin-1":
                assert loaded["metadata"]["annotations"]["note"] in (text, text.replace("\r\n", "\n"))


HUGE = 5 * 1024 * 1024 + 17


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("big.json", b'{"kind": "Pod", "metadata": {"name": "' + b"x" * HUGE + b'"}}'),
        ("bad.json", b'{"kind": "Pod", "a": "' + b"y" * HUGE),
        ("big.yaml", b"kind: Pod\nmetadata: {name: " + b"z" * HUGE + b"}\n"),
        ("bad.yaml", b"kind: [" + b"w" * HUGE),
        ("nest.json", b"[" * HUGE),
        ("nest.yaml", b"[" * HUGE),
        ("ns/p/logs.txt", b"==== START logs for container c of pod ns/p ====\n" + b"q" * HUGE),
        ("ns/q/logs.txt", b"==== START logs for container " + b"c" * HUGE),
        ("logs/ns/p/c.log", b"\xff" * HUGE),
        ("audit/a.log", b"{" * HUGE + b"\n" + b"x" * HUGE),
    ],
)
def test_huge_lines_load_quickly(tmp_path: Path, path: str, content: bytes) -> None:
    root = write_files(tmp_path / "bundle", {path: content})
    (tmp_path / "b.tgz").write_bytes(tar_bytes({f"bundle/{path}": content}))
    (tmp_path / "b.zip").write_bytes(zip_bytes({f"bundle/{path}": content}))
    snaps = []
    for source in (root, tmp_path / "b.tgz", tmp_path / "b.zip"):
        started = time.monotonic()
        snaps.append(load_bundle(source))
        assert time.monotonic() - started < 10
        check(snaps[-1])
    snap = snaps[0]
    assert comparable(snaps[1]) == comparable(snap) == comparable(snaps[2])
    if path.startswith("big"):
        assert snap.count() == 1 and snap.warnings == []
    if path.startswith(("bad", "nest")):
        assert len(snap.warnings) == 1 and snap.warnings[0].startswith(f"skipped {path}: ")


def test_deep_nesting_that_parses_is_kept_or_warned(tmp_path: Path) -> None:
    deep = '{"kind": "ConfigMap", "metadata": {"name": "deep"}, "data": ' + "[" * 50_000 + "]" * 50_000 + "}"
    write_files(tmp_path, {"deep.json": deep.encode()})
    snap = load_bundle(tmp_path)
    assert snap.warnings == ["skipped deep.json: nesting too deep"] or snap.get("ConfigMap", "", "deep")
