"""Fixtures for the pytester-driven plugin tests (helpers: ccci_testkit.py)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from ccci_testkit import CcciProject


@pytest.fixture
def project(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CcciProject:
    cache = tmp_path / "xdg-cache"
    lock_dir = tmp_path / "locks"
    cache.mkdir()
    lock_dir.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return CcciProject(pytester, cache, lock_dir)


@pytest.fixture(autouse=True)
def _keep_sigterm_handler():
    """In-process runs let the plugin install its SIGTERM handler here; put ours back after."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)
