"""Splitting ``<ns>/<pod>/logs.txt`` of ``kubectl cluster-info dump`` into per-container logs."""

from __future__ import annotations

from pathlib import Path

from kube_fixtures import AGENT_LOG, logs_txt, write_files

from podmortem.sources import load_bundle
from podmortem.sources._parse import split_dump_logs

NS, POD = "build-agents", "azure-devops-agent-6d9f7c8b45-f6cz6"


def start(container: str, ns: str = NS, pod: str = POD) -> str:
    return f"==== START logs for container {container} of pod {ns}/{pod} ====\n"


def end(container: str, ns: str = NS, pod: str = POD) -> str:
    return f"==== END logs for container {container} of pod {ns}/{pod} ====\n"


def test_several_containers_including_init_and_an_empty_log() -> None:
    text = logs_txt(NS, POD, {"install-oneagent": "copied 412 files\n", "azp-agent": AGENT_LOG, "side": ""})
    assert split_dump_logs(text, NS, POD) == [
        (NS, POD, "install-oneagent", "copied 412 files\n"),
        (NS, POD, "azp-agent", AGENT_LOG),
        (NS, POD, "side", ""),
    ]


def test_marker_lines_of_another_pod_are_log_text() -> None:
    # A pod that prints another dump (e.g. a CI job running `kubectl cluster-info dump`) must not be split.
    inner = (
        "running diagnostics\n"
        + start("app", "other", "other-pod-1")
        + "hello from the other pod\n"
        + end("app", "other", "other-pod-1")
        + "done\n"
    )
    text = start("azp-agent") + inner + end("azp-agent") + start("sidecar") + "ok\n" + end("sidecar")
    assert split_dump_logs(text, NS, POD) == [
        (NS, POD, "azp-agent", inner),
        (NS, POD, "sidecar", "ok\n"),
    ]


def test_missing_end_marker_before_next_start_and_at_end_of_file() -> None:
    text = start("azp-agent") + AGENT_LOG + start("sidecar") + "ok\n" + end("sidecar") + start("last") + "cut off"
    assert split_dump_logs(text, NS, POD) == [
        (NS, POD, "azp-agent", AGENT_LOG),
        (NS, POD, "sidecar", "ok\n"),
        (NS, POD, "last", "cut off"),
    ]


def test_log_without_final_newline_has_the_end_marker_glued_to_it() -> None:
    text = start("azp-agent") + "last line without newline" + end("azp-agent") + start("b") + "x\n" + end("b")
    assert split_dump_logs(text, NS, POD) == [
        (NS, POD, "azp-agent", "last line without newline"),
        (NS, POD, "b", "x\n"),
    ]


def test_kubectl_request_errors_are_not_logs() -> None:
    text = (
        start("install-oneagent")
        + "Request log error: the server rejected our request for an unknown reason "
        + f"(get pods {POD})\n"
        + end("install-oneagent")
        + start("azp-agent")
        + 'Create log request error: container "azp-agent" in pod "x" is waiting to start: '
        + "ContainerCreating\n"
        + end("azp-agent")
        + start("app")
        + "Request log error: is fine as a line of a real log\nmore\n"
        + end("app")
    )
    assert split_dump_logs(text, NS, POD) == [
        (NS, POD, "app", "Request log error: is fine as a line of a real log\nmore\n"),
    ]


def test_crlf_line_endings() -> None:
    text = (start("a") + "one\n" + end("a") + start("b") + "two\n" + end("b")).replace("\n", "\r\n")
    assert split_dump_logs(text, NS, POD) == [(NS, POD, "a", "one\r\n"), (NS, POD, "b", "two\r\n")]


def test_start_like_line_of_the_same_pod_inside_a_log_with_its_end() -> None:
    inner = "x\n" + start("b") + "not a real block\n"
    text = start("a") + inner + end("a") + start("b") + "real\n" + end("b")
    assert split_dump_logs(text, NS, POD) == [(NS, POD, "a", inner), (NS, POD, "b", "real\n")]


def test_pod_from_the_path_is_preferred_then_the_first_marker() -> None:
    text = start("app", "other", "first") + "o\n" + end("app", "other", "first") + start("a") + "mine\n" + end("a")
    assert split_dump_logs(text, NS, POD) == [(NS, POD, "a", "mine\n")]
    assert split_dump_logs(text, "", "") == [("other", "first", "app", "o\n")]
    assert split_dump_logs("no markers at all\n", NS, POD) == []
    assert split_dump_logs("", NS, POD) == []


def test_text_before_the_first_marker_is_ignored() -> None:
    text = "garbage\n" + start("a") + "log\n" + end("a") + "trailing garbage\n"
    assert split_dump_logs(text, NS, POD) == [(NS, POD, "a", "log\n")]


def test_logs_txt_in_a_bundle_non_utf8_and_utf16(tmp_path: Path) -> None:
    latin = (start("a") + "caf\xe9\n" + end("a")).encode("latin-1")
    write_files(
        tmp_path,
        {
            f"{NS}/{POD}/logs.txt": latin,
            "web/web-1/logs.txt": logs_txt("web", "web-1", {"nginx": "GET / 200\n"}).encode("utf-16"),
            "web/misnamed/logs.txt": logs_txt("web", "real-name", {"nginx": "hi\n"}).encode(),
        },
    )
    snap = load_bundle(tmp_path)
    assert snap.log(NS, POD, "a") == "caf\ufffd\n"
    assert snap.log("web", "web-1", "nginx") == "GET / 200\n"
    # The markers name the pod when the directory does not match them.
    assert snap.log("web", "real-name", "nginx") == "hi\n"
    assert snap.warnings == []
