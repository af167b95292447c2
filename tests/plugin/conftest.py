"""Fixtures for the pytester-driven plugin tests (helpers: ccci_testkit.py)."""

from __future__ import annotations

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
    # Checkouts go under each run's own basetemp (test_checkouts_go_under_the_basetemp), inside
    # pytester's dir: nothing of a run is left anywhere else to take back.
    yield CcciProject(pytester, cache, lock_dir)
