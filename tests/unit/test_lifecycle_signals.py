"""A SIGTERM (or Ctrl-C) landing inside a lifecycle's critical sections takes effect after them:
the app lock is either not taken, or taken with its holder file written and recorded for
close(); a teardown runs to its end and releases the lock. Waiting for the lock stays
interruptible. Real file locks and real signals; the swarm is a stand-in that records calls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from offline_context import offline_context

from pytest_ccci.model.app import App
from pytest_ccci.model.settings import parse_settings
from pytest_ccci.run.lifecycle import RecipeLifecycle
from pytest_ccci.run.locks import acquire, app_lock_path, process_lock, read_holder, release


class RecordingBackend:
    """Stands in for the swarm backend: records teardowns, and runs `during_teardown` inside one."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.during_teardown: Any = None

    def teardown(self, app: App, stopped: Any = None) -> list[str]:
        self.events.append("teardown started")
        if self.during_teardown:
            self.during_teardown()
        self.events.append("teardown finished")
        return []


@pytest.fixture
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as the plugin makes it do (the default would kill the
    test process: a deferral that does not work must fail the test, not end the run)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)


def _lifecycle(tmp_path: Path, lock_timeout: float = 10) -> tuple[RecipeLifecycle, RecordingBackend, Path]:
    backend = RecordingBackend()
    ctx = offline_context(tmp_path, run_id="signal-test", lock_timeout=lock_timeout)
    ctx._backend = backend  # type: ignore[assignment]
    lifecycle = RecipeLifecycle(ctx, "hello")
    app = App.for_checkout(parse_settings("hello", {"source": "/x"}, "ccci.yml"), "a" * 40, "ccci.test", "signal-test")
    lifecycle.app = lambda: app  # type: ignore[method-assign]
    return lifecycle, backend, app_lock_path(ctx.lock_dir, app.domain)


def test_sigterm_right_after_the_lock_is_taken_waits_for_its_holder_file(tmp_path, monkeypatch, sigterm_interrupts):
    lifecycle, backend, path = _lifecycle(tmp_path)
    file_lock = process_lock(path)
    real_acquire = file_lock.acquire
    seen: dict[str, Any] = {}

    def acquire_then_signal(*args: Any, **kwargs: Any) -> Any:
        # The signal lands the moment the file lock is ours, before acquire() writes the holder.
        taken = real_acquire(*args, **kwargs)
        seen["holder when signalled"] = read_holder(path)
        signal.raise_signal(signal.SIGTERM)
        return taken

    monkeypatch.setattr(file_lock, "acquire", acquire_then_signal)
    with pytest.raises(KeyboardInterrupt):
        lifecycle.hold_lock()
    monkeypatch.undo()

    assert seen["holder when signalled"] is None  # the signal did land inside the critical section
    holder = read_holder(path)
    assert holder is not None and holder.run_id == "signal-test", "the holder file was not written"
    assert lifecycle._lock is file_lock and lifecycle.facts.lock.acquired is not None, "the lock was not recorded"
    assert backend.events == [], "the interrupt must come right after the section, not after the domain sweep"
    lifecycle.close()  # a recorded lock is released, holder file and all
    assert not file_lock.is_locked and read_holder(path) is None


def test_sigterm_during_teardown_lets_it_finish_and_release_the_lock(tmp_path, sigterm_interrupts):
    lifecycle, backend, path = _lifecycle(tmp_path)
    lifecycle.hold_lock()
    backend.events.clear()
    lifecycle._deployed.add(lifecycle.app().stack)
    backend.during_teardown = lambda: signal.raise_signal(signal.SIGTERM)

    with pytest.raises(KeyboardInterrupt):
        lifecycle.close()

    assert backend.events == ["teardown started", "teardown finished"]
    assert lifecycle.facts.clean_teardown is True and lifecycle.facts.lock.released is not None
    assert lifecycle._lock is None and not process_lock(path).is_locked and read_holder(path) is None


def test_waiting_for_a_lock_held_elsewhere_stays_interruptible(tmp_path, sigterm_interrupts):
    lifecycle, backend, path = _lifecycle(tmp_path, lock_timeout=60)
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('held', flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
        start = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            lifecycle.hold_lock()
        waited = time.monotonic() - start
    finally:
        holder.kill()
        holder.wait()
    assert waited < 5, f"the interrupt took {waited:.1f}s to end a wait for a lock held elsewhere"
    assert lifecycle._lock is None and not process_lock(path).is_locked


def test_a_deferred_signal_does_not_outlive_the_section(tmp_path, sigterm_interrupts):
    """After the section, SIGTERM is handled as before it (the plugin's handler is back)."""
    lifecycle, _backend, path = _lifecycle(tmp_path)
    before = signal.getsignal(signal.SIGTERM)
    lifecycle.hold_lock()
    assert signal.getsignal(signal.SIGTERM) is before
    lifecycle.close()
    assert signal.getsignal(signal.SIGTERM) is before
    other = acquire(path, "other", "after close", timeout=1)  # free again
    release(other)
