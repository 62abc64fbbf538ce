"""End-to-end tests on a real control plane (kube-apiserver, controller manager, scheduler, etcd) with kwok fake
nodes: the seed case replayed through the API, then podmortem run against it like a user would.

They are not part of the default ``pytest`` run (they need the binaries of ``e2e/build.sh``, whose first build
takes minutes). Run them with ``pytest tests/e2e`` or ``pytest -m e2e``; without the binaries every test is
skipped, and the summary shows that as one line with the reason. ``PODMORTEM_E2E_KEEP=1`` keeps the cluster
folder (logs, kubeconfig) after the session.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from e2e_cluster import ControlPlaneError, binary_dir, missing_binaries  # noqa: E402
from e2e_scenario import E2E, bring_up  # noqa: E402

_SKIP_REASON: str | None = None


def _requested(config: pytest.Config) -> bool:
    """True when this run asks for the end-to-end tests: `-m e2e`, or a path inside tests/e2e on the command line,
    or PODMORTEM_E2E=1."""
    if os.environ.get("PODMORTEM_E2E") == "1":
        return True
    markexpr = str(config.getoption("markexpr", "") or "")
    if "e2e" in markexpr and "not e2e" not in markexpr:
        return True
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == _HERE or _HERE in path.parents:
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end test on a real control plane (pytest tests/e2e)")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name.startswith("test_") and not _requested(config):
        return True
    return None


def _skip_reason() -> str | None:
    global _SKIP_REASON
    if _SKIP_REASON is None:
        try:
            d = binary_dir()
        except Exception as exc:  # no bash, broken script: say so once
            _SKIP_REASON = f"e2e: cannot locate the control-plane binaries ({exc}); run e2e/build.sh"
            return _SKIP_REASON
        missing = missing_binaries(d)
        _SKIP_REASON = (
            f"e2e: control-plane binaries missing in {d} ({', '.join(missing)}): run e2e/build.sh" if missing else ""
        )
    return _SKIP_REASON or None


def pytest_report_header(config: pytest.Config) -> str | None:
    if not _requested(config):
        return None
    reason = _skip_reason()
    return f"SKIPPING ALL E2E TESTS: {reason}" if reason else f"e2e: control-plane binaries in {binary_dir()}"


def _mine(item: pytest.Item) -> bool:
    return _HERE in Path(str(item.fspath)).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _mine(item):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Skipping here (not with a marker or in the fixture) reports every test at this one place, so the summary
    # shows a single line with the count and the reason.
    if _mine(item):
        reason = _skip_reason()
        if reason:
            pytest.skip(reason)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    # Without -rs the skip reason would not be printed at all: say it once, loudly.
    chars = str(getattr(config.option, "reportchars", "") or "")
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "test_e2e_" in str(r.nodeid)]
    reason = _SKIP_REASON
    if reason and skipped and not set(chars) & {"s", "a", "A"}:
        terminalreporter.write_line(f"E2E SKIPPED ({len(skipped)} tests): {reason}", yellow=True, bold=True)


# --- the session cluster ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("e2e-cluster")
    try:
        env = bring_up(binary_dir(), work)
    except ControlPlaneError as exc:
        pytest.fail(f"the control plane did not start: {exc}", pytrace=False)
    try:
        yield env
    finally:
        env.close(keep=os.environ.get("PODMORTEM_E2E_KEEP") == "1")
