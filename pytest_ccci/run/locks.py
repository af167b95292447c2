"""Host-wide locks: one app domain, one lifecycle; at most N deploys in flight.

Locks live in a stable directory (never a per-run temp dir) so that separate pytest processes
and xdist workers on one host see each other.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout

from pytest_ccci.errors import InfraError

# Two FileLock objects on one path in one process deadlock each other: one object per path.
_PROCESS_LOCKS: dict[str, FileLock] = {}
POLL_SECONDS = 0.2
PROGRESS_EVERY = 10.0


def process_lock(path: Path) -> FileLock:
    key = str(path)
    if key not in _PROCESS_LOCKS:
        path.parent.mkdir(parents=True, exist_ok=True)
        _PROCESS_LOCKS[key] = FileLock(key)
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
) -> FileLock:
    """Take the lock, saying who holds it while waiting; InfraError if not obtained in time."""
    lock = process_lock(lock_path)
    start = time.monotonic()
    announced = -PROGRESS_EVERY
    while True:
        try:
            lock.acquire(timeout=POLL_SECONDS)
            break
        except Timeout:
            waited = time.monotonic() - start
            holder = read_holder(lock_path)
            who = holder.describe() if holder else "another process"
            if waited >= timeout:
                raise InfraError(f"lock {lock_path.name} not obtained within {timeout:.0f}s: held by {who}") from None
            if progress and waited - announced >= PROGRESS_EVERY:
                progress(f"waiting for lock {lock_path.name}, held by {who}: {waited:.0f}s of {timeout:.0f}s")
                announced = waited
    if lock.lock_counter == 1:
        holder = Holder(os.getpid(), socket.gethostname(), run_id, time.time(), what)
        _holder_file(lock_path).write_text(json.dumps(holder.__dict__))
    return lock


def release(lock: FileLock) -> None:
    if lock.is_locked:
        if lock.lock_counter == 1:
            _holder_file(Path(lock.lock_file)).unlink(missing_ok=True)
        lock.release()


def try_acquire(lock_path: Path) -> FileLock | None:
    """The lock if it is free right now, else None (the janitor never waits)."""
    lock = process_lock(lock_path)
    if lock.is_locked:  # held by this very process: in use
        return None
    try:
        lock.acquire(timeout=0)
        return lock
    except Timeout:
        return None


def app_lock_path(lock_dir: Path, domain: str) -> Path:
    return lock_dir / f"app-{domain}.lock"


class DeployAdmission:
    """At most `slots` deploys in flight on the host, and only while declared memory fits."""

    def __init__(self, lock_dir: Path, slots: int, memory_available: Callable[[], int] | None = None):
        self.lock_dir = lock_dir
        self.slots = slots
        self.memory_available = memory_available or available_memory

    def admit(
        self, run_id: str, what: str, needs_bytes: int, timeout: float, progress: Callable[[str], None] | None = None
    ) -> FileLock:
        start = time.monotonic()
        announced = -PROGRESS_EVERY
        while True:
            reason = None
            if needs_bytes and needs_bytes > self.memory_available():
                reason = f"{needs_bytes >> 20} MiB declared, {self.memory_available() >> 20} MiB free"
            else:
                for i in range(self.slots):
                    lock = try_acquire(self.lock_dir / f"deploy-slot-{i}.lock")
                    if lock is not None:
                        holder = Holder(os.getpid(), socket.gethostname(), run_id, time.time(), what)
                        _holder_file(Path(lock.lock_file)).write_text(json.dumps(holder.__dict__))
                        return lock
                reason = f"all {self.slots} deploy slots busy"
            waited = time.monotonic() - start
            if waited >= timeout:
                raise InfraError(f"deploy of {what} not admitted within {timeout:.0f}s: {reason}")
            if progress and waited - announced >= PROGRESS_EVERY:
                progress(f"deploy of {what} waiting: {reason} ({waited:.0f}s of {timeout:.0f}s)")
                announced = waited
            time.sleep(POLL_SECONDS)


def available_memory() -> int:
    """MemAvailable from /proc/meminfo, in bytes (0 where unknown: never blocks on memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62
