"""Host-wide locks: one app domain, one lifecycle; at most N deploys in flight.

Locks live in a stable directory (never a per-run temp dir) so that separate pytest processes
and xdist workers on one host see each other. Whoever holds a lock says so in a holder file
beside it, so a waiting run can name the holder.

A kept app (--ccci-keep-failed) holds its domain past its process's exit by a marker file
beside the lock (documents/kept.py): `acquire` treats the domain as held until the marker's
deadline (waiting for it, or failing at once with one line naming the marker and `pytest-ccci
release` when the deadline is beyond the wait), and removes a marker past its deadline once it
holds the lock (the caller then reaps what is on the domain).

A lock is the process's, not a thread's: a lifecycle may take its lock in one thread and
release it in another (an overlapped run tears down in the background, run/overlap.py), and two
threads of one process never take the same deploy slot. A wait can be `cancelled` (a stopping
run's background work must not sit out the lock timeout).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from pytest_ccci.documents.kept import deadline_seconds, expired, marker_text, parse_marker
from pytest_ccci.documents.results import KeptApp
from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.text import PROGRESS_EVERY_SECONDS

# Two FileLock objects on one path in one process deadlock each other: one object per path.
_PROCESS_LOCKS: dict[str, FileLock] = {}
# Taking a free lock is look-then-take: threads of one process do both under this guard (a
# process's lock is reentrant, so two threads could otherwise both "take" one slot).
_IN_PROCESS = threading.Lock()
# How often a waiter tries again: a freed lock or slot is taken within a fifth of a second,
# without a busy loop (deploys take tens of seconds; this delay is lost in them).
POLL_SECONDS = 0.2
# The host-wide lock dir unless ini ccci_lock_dir says otherwise (`pytest-ccci release` too).
DEFAULT_LOCK_DIR = Path("/tmp/pytest-ccci/locks")
MEMINFO = Path("/proc/meminfo")


def process_lock(path: Path) -> FileLock:
    key = str(path)
    with _IN_PROCESS:
        if key not in _PROCESS_LOCKS:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Not thread-local: held by the process, released by whichever thread closes.
            _PROCESS_LOCKS[key] = FileLock(key, thread_local=False)
        return _PROCESS_LOCKS[key]


@dataclass
class Holder:
    pid: int
    host: str
    run_id: str
    since: float
    what: str

    def describe(self) -> str:
        held = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"pid {self.pid} on {self.host} (run {self.run_id}, {self.what}) since {held}"


def _holder_file(lock_path: Path) -> Path:
    return lock_path.with_suffix(".holder.json")


def _write_holder(lock_path: Path, run_id: str, what: str) -> None:
    holder = Holder(os.getpid(), socket.gethostname(), run_id, time.time(), what)
    _holder_file(lock_path).write_text(json.dumps(holder.__dict__))


def read_holder(lock_path: Path) -> Holder | None:
    try:
        return Holder(**json.loads(_holder_file(lock_path).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def acquire(
    lock_path: Path,
    run_id: str,
    what: str,
    timeout: float,
    progress: Callable[[str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> FileLock:
    """Take the lock, saying who holds it while waiting; InfraError if not obtained in time, or
    once `cancelled()` says the run is stopping. A kept app's marker holds the domain as the lock
    would, until its deadline."""
    lock = process_lock(lock_path)
    start = time.monotonic()
    announced = -PROGRESS_EVERY_SECONDS
    while True:
        waited = time.monotonic() - start
        try:
            lock.acquire(timeout=POLL_SECONDS)
        except Timeout:
            holder = read_holder(lock_path)
            who = holder.describe() if holder else "another process"
        else:
            kept = _live_kept(lock, lock_path)
            if kept is None:
                break
            who = kept_description(kept, kept_marker_path(lock_path))
            if deadline_seconds(kept) - time.time() > timeout - waited:
                raise InfraError(f"{who}; not waiting the {timeout:.0f}s lock timeout for it")
            time.sleep(POLL_SECONDS)  # the marker is a file: nothing to be woken by
        if cancelled is not None and cancelled():
            raise InfraError(f"lock {lock_path.name} no longer awaited: the run is stopping") from None
        if waited >= timeout:
            raise InfraError(f"lock {lock_path.name} not obtained within {timeout:.0f}s: held by {who}") from None
        if progress and waited - announced >= PROGRESS_EVERY_SECONDS:
            progress(f"waiting for lock {lock_path.name}, held by {who}: {waited:.0f}s of {timeout:.0f}s")
            announced = waited
    if lock.lock_counter == 1:
        _write_holder(lock_path, run_id, what)
    return lock


def _live_kept(lock: FileLock, lock_path: Path) -> KeptApp | None:
    """Just after `lock` was taken: the kept app whose marker still holds the domain (the lock
    given back), or None (an expired marker removed: the domain is the caller's to reap)."""
    if lock.lock_counter > 1:
        return None  # this process held it already: it passed the marker then
    kept = read_kept_marker(lock_path)
    if kept is None:
        return None
    if expired(kept, time.time()):
        kept_marker_path(lock_path).unlink(missing_ok=True)
        return None
    lock.release()
    return kept


# -- kept apps (--ccci-keep-failed) ---------------------------------------------------------


def kept_marker_path(lock_path: Path) -> Path:
    return lock_path.with_suffix(".kept.json")


def write_kept_marker(lock_path: Path, kept: KeptApp) -> Path:
    """The marker that holds the domain once the lock is released (atomically: a waiting run
    never reads half of it)."""
    path = kept_marker_path(lock_path)
    partial = path.with_suffix(".partial")
    partial.write_text(marker_text(kept))
    partial.replace(path)
    return path


def read_kept_marker(lock_path: Path) -> KeptApp | None:
    """The kept app beside the lock; None when there is none, or it is no marker (ignored)."""
    try:
        return parse_marker(kept_marker_path(lock_path).read_text())
    except (OSError, ValueError):
        return None


def kept_description(kept: KeptApp, marker: Path) -> str:
    """One line naming the kept app, its marker and how to free it."""
    return (
        f"{kept.domain} is kept (--ccci-keep-failed) until {kept.deadline} by run {kept.run_id}: "
        f"free it with `pytest-ccci release {kept.domain}` (marker {marker})"
    )


def release(lock: FileLock) -> None:
    with _IN_PROCESS:
        if lock.is_locked:
            if lock.lock_counter == 1:
                _holder_file(Path(lock.lock_file)).unlink(missing_ok=True)
            lock.release()


def try_acquire(lock_path: Path) -> FileLock | None:
    """The lock if it is free right now, else None (the janitor never waits)."""
    lock = process_lock(lock_path)
    with _IN_PROCESS:
        if lock.is_locked:  # held by this very process (any thread of it): in use
            return None
        try:
            lock.acquire(timeout=0)
            return lock
        except Timeout:
            return None


def app_lock_path(lock_dir: Path, domain: str) -> Path:
    return lock_dir / f"app-{domain}.lock"


class DeployAdmission:
    """At most `slots` deploys in flight on the host, and only while declared memory fits.

    `memory_available()` gives the bytes free now and `memory_total()` the host's total, each
    None where unknown: an unknown amount never holds a deploy back (the slots still do). A need
    larger than the host's total memory can never fit: it is the recipe's error at once, not a
    wait for the whole lock timeout."""

    def __init__(
        self,
        lock_dir: Path,
        slots: int,
        memory_available: Callable[[], int | None] | None = None,
        memory_total: Callable[[], int | None] | None = None,
    ):
        self.lock_dir = lock_dir
        self.slots = slots
        self.memory_available = memory_available or available_memory
        self.memory_total = memory_total or total_memory

    def admit(
        self,
        run_id: str,
        what: str,
        needs_bytes: int,
        timeout: float,
        progress: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> FileLock:
        self._check_need_fits_the_host(what, needs_bytes)
        start = time.monotonic()
        announced = -PROGRESS_EVERY_SECONDS
        while True:
            lock, reason = self._try_admit(run_id, what, needs_bytes)
            if lock is not None:
                return lock
            if cancelled is not None and cancelled():
                raise InfraError(f"deploy of {what} no longer awaited: the run is stopping")
            waited = time.monotonic() - start
            if waited >= timeout:
                raise InfraError(f"deploy of {what} not admitted within {timeout:.0f}s: {reason}")
            if progress and waited - announced >= PROGRESS_EVERY_SECONDS:
                progress(f"deploy of {what} waiting: {reason} ({waited:.0f}s of {timeout:.0f}s)")
                announced = waited
            time.sleep(POLL_SECONDS)

    def _check_need_fits_the_host(self, what: str, needs_bytes: int) -> None:
        total = self.memory_total() if needs_bytes else None
        if total is not None and needs_bytes > total:
            raise RecipeError(
                f"deploy of {what} declares {needs_bytes >> 20} MiB of memory, more than this host's "
                f"{total >> 20} MiB in total: it can never be admitted"
            )

    def _try_admit(self, run_id: str, what: str, needs_bytes: int) -> tuple[FileLock | None, str]:
        """(a free slot, "") now, or (None, why not). Free memory is read while holding the slot:
        read before it, two deploys could both see the same free memory and both go."""
        for i in range(self.slots):
            lock = try_acquire(self.lock_dir / f"deploy-slot-{i}.lock")
            if lock is not None:
                break
        else:
            return None, f"all {self.slots} deploy slots busy"
        free = self.memory_available() if needs_bytes else None  # read once: the reason names what blocked
        if free is not None and needs_bytes > free:
            release(lock)
            return None, f"{needs_bytes >> 20} MiB declared, {free >> 20} MiB free"
        _write_holder(Path(lock.lock_file), run_id, what)
        return lock, ""


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes; None where unknown (never blocks a deploy)."""
    return _meminfo("MemAvailable")


def total_memory() -> int | None:
    """MemTotal from /proc/meminfo, in bytes; None where unknown (never fails a deploy)."""
    return _meminfo("MemTotal")


def _meminfo(field: str) -> int | None:
    try:
        with MEMINFO.open() as fh:
            for line in fh:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass  # no /proc (not Linux), or a line in a shape we do not know
    return None
