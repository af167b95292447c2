"""A RunContext for unit tests of run/: options under a test's tmp_path, a run directory there,
no progress printed, and a connection that fails unless the test gives one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_ccci.run.context import RunContext, RunOptions


def _no_engine() -> Any:
    raise AssertionError("this test must not connect to the engine")


def offline_context(
    tmp_path: Path,
    run_id: str = "run",
    connect: Callable[[], Any] = _no_engine,
    lock_timeout: float = 1,
    max_deploys: int = 1,
    keep_failed_hours: float | None = None,
) -> RunContext:
    options = RunOptions(
        recipes_dir=tmp_path / "recipes",
        ref=None,
        base_domain="ccci.test",
        cache_dir=tmp_path / "cache",
        lock_dir=tmp_path / "locks",
        lock_timeout=lock_timeout,
        max_deploys=max_deploys,
        keep_failed_hours=keep_failed_hours,
    )
    return RunContext(options, lambda: tmp_path / "run", run_id, lambda message: None, connect)
