"""Bundles as archives, and the inputs that are errors (SourceError) rather than warnings."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from kube_fixtures import (
    cluster,
    comparable,
    kube_list,
    pod,
    tar_bytes,
    tar_dir,
    write_cluster_info_dump,
    write_files,
    zip_bytes,
    zip_dir,
)

import podmortem.sources._reader as reader
from podmortem.sources import SourceError, load_bundle, open_source

NS = "build-agents"
AGENT = "azure-devops-agent-6d9f7c8b45-f6cz6"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = write_cluster_info_dump(tmp_path / "bundle", cluster(), "json")
    write_files(
        root,
        {
            f"logs/{NS}/{AGENT}/azp-agent.previous.log": b"Unhandled exception.\n",
            "audit/kube-apiserver.log": (
                b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"x"}\nnot json\n'
            ),
            "extra/broken.yaml": b"kind: [",
            "manifest.json": b'{"collected_at": "2024-08-13T07:25:00Z"}',
        },
    )
    return root


@pytest.mark.parametrize(
    ("name", "mode", "arcname"),
    [
        ("bundle.tar.gz", "w:gz", "bundle"),
        ("bundle.tgz", "w:gz", ""),
        ("bundle.tar", "w", "bundle"),
        ("bundle.tar.xz", "w:xz", "bundle"),
        ("bundle.tar.bz2", "w:bz2", ""),
    ],
)
def test_tar_archives_give_the_same_snapshot_as_the_directory(
    bundle: Path, tmp_path: Path, name: str, mode: str, arcname: str
) -> None:
    expected = load_bundle(bundle)
    assert len(expected.warnings) == 2 and expected.count() == 6  # the fixture really has warnings to compare

    archive = tar_dir(bundle, tmp_path / name, mode=mode, arcname=arcname)
    got = load_bundle(archive)

    assert got.source.to_dict() == {
        "type": "bundle",
        "name": str(archive),
        "collected_at": "2024-08-13T07:25:00Z",
    }
    assert comparable(got) == comparable(expected)


@pytest.mark.parametrize("arcname", ["bundle", ""])
def test_zip_gives_the_same_snapshot_as_the_directory(bundle: Path, tmp_path: Path, arcname: str) -> None:
    archive = zip_dir(bundle, tmp_path / "bundle.zip", arcname=arcname)
    assert comparable(load_bundle(archive)) == comparable(load_bundle(bundle))


def test_tar_made_by_the_tar_command(bundle: Path, tmp_path: Path) -> None:
    archive = tmp_path / "b.tgz"
    try:
        subprocess.run(["tar", "czf", str(archive), "-C", str(bundle), "."], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("no tar command")
    assert comparable(load_bundle(archive)) == comparable(load_bundle(bundle))


def test_archive_of_a_bundle_with_only_an_audit_dir_keeps_its_paths(tmp_path: Path) -> None:
    files = {"audit/a.log": b"junk\n"}
    snap_dir = load_bundle(write_files(tmp_path / "d", files))
    (tmp_path / "a.zip").write_bytes(zip_bytes(files))
    (tmp_path / "b.tgz").write_bytes(tar_bytes({"./audit/a.log": b"junk\n"}))
    expected = [
        "skipped 1 of 1 lines of audit/a.log that are not audit events "
        "(line 1: invalid JSON: Expecting value at line 1 column 1)"
    ]
    assert snap_dir.warnings == expected
    assert load_bundle(tmp_path / "a.zip").warnings == expected
    assert load_bundle(tmp_path / "b.tgz").warnings == expected


def test_archive_found_by_content_whatever_its_name(bundle: Path, tmp_path: Path) -> None:
    archive = tar_dir(bundle, tmp_path / "support-bundle.bin", arcname="x")
    assert load_bundle(archive).count() == 6
    assert open_source(archive).count() == 6


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        load_bundle(tmp_path / "nope.tgz")
    assert str(err.value) == f"cannot read bundle '{tmp_path / 'nope.tgz'}': no such file or directory"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("x.tgz", b"this is not gzip at all", "not a gzip file"),
        ("x.tar.gz", b"", "empty file"),
        ("x.zip", b"PK\x03\x04 truncated zip", "not a zip file"),
        ("x.zip", b"plain text", "not a zip file"),
        ("x.tgz", gzip.compress(b'{"kind": "Pod"}'), "not a valid tar archive"),
        ("x.tgz", gzip.compress(b""), "empty archive"),
        ("x.tar", b"\x00" * 100, "not a valid tar archive (truncated header)"),
        ("x.txt", b"hello", "not a directory or a .tar.gz, .tgz or .zip archive"),
        ("pod.yaml", b"kind: Pod", "not a directory or a .tar.gz, .tgz or .zip archive"),
    ],
)
def test_unreadable_archives_raise_one_line_source_error(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError) as err:
        load_bundle(path)
    message = str(err.value)
    assert message.startswith(f"cannot read bundle '{path}': {reason}")
    assert "\n" not in message


def test_truncated_gzip_archive_is_an_error(bundle: Path, tmp_path: Path) -> None:
    data = tar_dir(bundle, tmp_path / "ok.tgz", arcname="b").read_bytes()
    for cut in (len(data) // 3, len(data) - 12, len(data) - 3):
        path = tmp_path / f"cut{cut}.tgz"
        path.write_bytes(data[:cut])
        with pytest.raises(SourceError) as err:
            load_bundle(path)
        assert str(err.value).startswith(f"cannot read bundle '{path}': ")
        assert "\n" not in str(err.value)


def test_gzip_checksum_error_is_an_error(tmp_path: Path) -> None:
    data = bytearray(tar_bytes({"pods.json": json.dumps(pod("ns", "p")).encode()}))
    data[-8] ^= 0xFF  # CRC32 in the gzip trailer
    path = tmp_path / "crc.tgz"
    path.write_bytes(bytes(data))
    with pytest.raises(SourceError, match="corrupt archive"):
        load_bundle(path)


def test_zip_member_with_bad_crc_is_a_warning(tmp_path: Path) -> None:
    good = json.dumps(kube_list("PodList", [pod("ns", "good")])).encode()
    bad = json.dumps(kube_list("PodList", [pod("ns", "bad")])).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("b/ns/pods.json", good)
        zf.writestr("b/other/pods.json", bad)
    data = bytearray(buf.getvalue())
    at = bytes(data).index(b'"bad"')
    data[at + 1] = ord("B")  # stored data changed, CRC no longer matches
    path = tmp_path / "crc.zip"
    path.write_bytes(bytes(data))

    snap = load_bundle(path)

    assert snap.get("Pod", "ns", "good") is not None
    assert snap.warnings == [
        "skipped other/pods.json: cannot read it from the archive: Bad CRC-32 for file 'b/other/pods.json'"
    ]


def test_member_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = json.dumps(kube_list("PodList", [pod("ns", f"p{i}") for i in range(5)])).encode()
    small = json.dumps(pod("ns", "small")).encode()
    files = {"b/ns/pods.json": big, "b/small.json": small}
    (tmp_path / "b.tgz").write_bytes(tar_bytes(files))
    (tmp_path / "b.zip").write_bytes(zip_bytes(files))
    write_files(tmp_path / "dir", {"ns/pods.json": big, "small.json": small})
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", len(small) + 10)
    for path in (tmp_path / "b.tgz", tmp_path / "b.zip", tmp_path / "dir"):
        snap = load_bundle(path)
        assert [n for _, n in snap.objects["Pod"]] == ["small"]
        assert len(snap.warnings) == 1
        assert snap.warnings[0].startswith("skipped ns/pods.json: ")
        assert "limit for one file" in snap.warnings[0]


def test_zip_bomb_declared_small_is_cut_at_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b" " * 200_000
    path = tmp_path / "bomb.zip"
    path.write_bytes(zip_bytes({"pods.json": payload}))
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 50_000)
    snap = load_bundle(path)
    assert snap.warnings and "limit for one file" in snap.warnings[0]


def test_total_size_limit_stops_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {f"b/ns{i}/pods.json": json.dumps(pod(f"ns{i}", "p")).encode() for i in range(5)}
    (tmp_path / "b.tgz").write_bytes(tar_bytes(files))
    monkeypatch.setattr(reader, "MAX_TOTAL_BYTES", sum(len(v) for v in files.values()) - 1)
    snap = load_bundle(tmp_path / "b.tgz")
    assert len(snap.of_kind("Pod")) == 4
    assert snap.warnings == [f"skipped ns4/pods.json: the archive holds more than {reader.MAX_TOTAL_BYTES} bytes"]


def test_symlinks_and_directories_in_tar_are_not_read(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        d = tarfile.TarInfo("b/ns")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        link = tarfile.TarInfo("b/ns/pods.json")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
        data = json.dumps(pod("ns", "p")).encode()
        f = tarfile.TarInfo("b/p.json")
        f.size = len(data)
        tar.addfile(f, io.BytesIO(data))
    (tmp_path / "l.tgz").write_bytes(buf.getvalue())
    snap = load_bundle(tmp_path / "l.tgz")
    assert snap.count() == 1 and snap.warnings == []


def test_macos_zip_with_resource_forks_still_strips_the_top_directory(tmp_path: Path) -> None:
    files = {
        "bundle/extra/broken.json": b"{",
        "__MACOSX/bundle/extra/._broken.json": b"\x00\x05\x16\x07",
    }
    (tmp_path / "mac.zip").write_bytes(zip_bytes(files))
    assert load_bundle(tmp_path / "mac.zip").warnings == [
        "skipped extra/broken.json: invalid JSON: Expecting property name enclosed in double quotes at line 1 column 2"
    ]


def test_encrypted_zip_member_is_a_warning(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("b/secret.json", b"{}")
        zf.writestr("b/ok.json", json.dumps(pod("ns", "ok")).encode())
    data = bytearray(buf.getvalue())
    central = data.index(b"PK\x01\x02")  # central directory entry of b/secret.json
    data[central + 8] |= 0x01  # general purpose flag: encrypted
    (tmp_path / "enc.zip").write_bytes(bytes(data))
    snap = load_bundle(tmp_path / "enc.zip")
    assert snap.warnings == ["skipped secret.json: cannot read it from the archive: it is encrypted"]
    assert snap.get("Pod", "ns", "ok") is not None
