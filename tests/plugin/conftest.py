"""Fixtures for the pytester-driven plugin tests (helpers: ccci_testkit.py)."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccci_testkit import CcciProject


@pytest.fixture
def project(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CcciProject]:
    cache = tmp_path / "xdg-cache"
    lock_dir = tmp_path / "locks"
    cache.mkdir()
    lock_dir.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    for var in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(var, raising=False)  # when this suite itself runs under xdist
    project = CcciProject(pytester, cache, lock_dir)
    yield project
    # plugin.py falls back to /tmp/ccci for checkouts (see test_checkouts_go_under_the_basetemp):
    # take back what this test's runs left there. Commits are unique per test, so this is ours.
    for name, sha in project.made:
        shutil.rmtree(Path("/tmp/ccci/checkouts") / f"{name}-{sha[:8]}", ignore_errors=True)


@pytest.fixture(autouse=True)
def _keep_sigterm_handler():
    """In-process runs let the plugin install its SIGTERM handler here; put ours back after."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)
