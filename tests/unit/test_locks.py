"""Host-wide locks: the app-domain lock and deploy admission (real file locks, real processes)."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.run import locks
from pytest_ccci.run.locks import (
    DeployAdmission,
    acquire,
    app_lock_path,
    available_memory,
    process_lock,
    read_holder,
    release,
    total_memory,
    try_acquire,
)


# A host of 16 GiB in total, whatever this machine has.
def host_total() -> int:
    return 16 << 30


def _hold(path, ready, stop):
    lock = acquire(path, "other-run", "holding for a test", timeout=10)
    ready.set()
    stop.wait(20)
    release(lock)


@pytest.fixture
def other_process(tmp_path):
    """A second process holding a lock, as a concurrent pytest run would."""
    ctx = multiprocessing.get_context("fork")
    procs = []

    def start(path):
        ready, stop = ctx.Event(), ctx.Event()
        proc = ctx.Process(target=_hold, args=(path, ready, stop))
        proc.start()
        assert ready.wait(10), "the other process never took the lock"
        procs.append((proc, stop))
        return proc

    yield start
    for proc, stop in procs:
        stop.set()
        proc.join(10)


def test_one_lock_object_per_path_in_a_process(tmp_path):
    path = app_lock_path(tmp_path, "hell-abcdef.ccci.test")
    assert process_lock(path) is process_lock(path)
    assert path.name == "app-hell-abcdef.ccci.test.lock"


def test_holder_is_recorded_and_cleared(tmp_path):
    path = app_lock_path(tmp_path, "a.test")
    lock = acquire(path, "run-1", "hello lifecycle", timeout=5)
    holder = read_holder(path)
    assert holder.pid == os.getpid() and holder.run_id == "run-1" and holder.what == "hello lifecycle"
    assert "since" in holder.describe()
    release(lock)
    assert read_holder(path) is None


def test_waiting_says_who_holds_the_lock_and_times_out(tmp_path, other_process):
    path = app_lock_path(tmp_path, "b.test")
    proc = other_process(path)
    said = []
    start = time.monotonic()
    with pytest.raises(InfraError) as err:
        acquire(path, "run-2", "second", timeout=1.0, progress=said.append)
    assert time.monotonic() - start < 5
    assert f"pid {proc.pid}" in str(err.value) and "other-run" in str(err.value)
    assert said and f"held by pid {proc.pid}" in said[0]


def test_try_acquire_never_waits_and_sees_a_held_lock(tmp_path, other_process):
    path = app_lock_path(tmp_path, "c.test")
    other_process(path)
    assert try_acquire(path) is None
    free = try_acquire(app_lock_path(tmp_path, "d.test"))
    assert free is not None
    release(free)


def test_admission_limits_deploys_in_flight(tmp_path, other_process):
    admission = DeployAdmission(tmp_path, slots=1, memory_available=lambda: 1 << 40)
    other_process(tmp_path / "deploy-slot-0.lock")
    said = []
    with pytest.raises(InfraError) as err:
        admission.admit("run", "x_app (chaos)", 0, timeout=0.6, progress=said.append)
    assert "all 1 deploy slots busy" in str(err.value)
    assert said and "waiting" in said[0]


def test_admission_takes_a_free_slot(tmp_path, other_process):
    admission = DeployAdmission(tmp_path, slots=2, memory_available=lambda: 1 << 40)
    other_process(tmp_path / "deploy-slot-0.lock")
    slot = admission.admit("run", "y_app", 0, timeout=2)
    assert slot.lock_file.endswith("deploy-slot-1.lock")
    release(slot)


def test_admission_waits_while_declared_memory_does_not_fit(tmp_path):
    free = iter([100 << 20, 100 << 20, 100 << 20, 4 << 30, 4 << 30])
    admission = DeployAdmission(
        tmp_path, slots=2, memory_available=lambda: next(free, 4 << 30), memory_total=host_total
    )
    said = []
    slot = admission.admit("run", "big_app", 2 << 30, timeout=5, progress=said.append)
    assert said and "2048 MiB declared, 100 MiB free" in said[0]
    release(slot)


def test_admission_gives_up_when_memory_never_fits(tmp_path):
    admission = DeployAdmission(tmp_path, slots=2, memory_available=lambda: 1 << 20, memory_total=host_total)
    with pytest.raises(InfraError, match="not admitted within"):
        admission.admit("run", "huge_app", 4 << 30, timeout=0.5)


def test_admission_reads_free_memory_once_per_try_and_names_what_blocked(tmp_path):
    # Before: it read MemAvailable twice per try, so the reason could name an amount that fits.
    reads = []

    def free_memory():
        reads.append(len(reads))
        return (100 << 20) if len(reads) % 2 else (8 << 30)  # 100 MiB, then 8 GiB, then 100 MiB...

    admission = DeployAdmission(tmp_path, slots=1, memory_available=free_memory, memory_total=host_total)
    said = []
    slot = admission.admit("run", "big_app", 2 << 30, timeout=5, progress=said.append)
    release(slot)
    assert reads == [0, 1]  # blocked by the first reading, admitted on the second
    assert said == [said[0]] and "2048 MiB declared, 100 MiB free" in said[0]


def test_unknown_free_memory_never_blocks_a_deploy(tmp_path):
    admission = DeployAdmission(tmp_path, slots=1, memory_available=lambda: None, memory_total=lambda: None)
    slot = admission.admit("run", "huge_app", 1 << 50, timeout=0.5)
    release(slot)


def test_a_need_beyond_the_hosts_total_memory_is_the_recipes_error_at_once(tmp_path):
    admission = DeployAdmission(tmp_path, slots=1, memory_available=lambda: 8 << 30, memory_total=host_total)
    start = time.monotonic()
    with pytest.raises(RecipeError) as raised:
        admission.admit("run", "huge_app (chaos)", 32 << 30, timeout=30)
    assert time.monotonic() - start < 1  # not the lock timeout
    assert str(raised.value) == (
        "deploy of huge_app (chaos) declares 32768 MiB of memory, more than this host's 16384 MiB in total: "
        "it can never be admitted"
    )
    assert try_acquire(tmp_path / "deploy-slot-0.lock") is not None  # and no slot was kept


def test_free_memory_is_read_while_holding_the_slot(tmp_path):
    slot_path = tmp_path / "deploy-slot-0.lock"
    held_when_read = []

    def free_memory():
        held_when_read.append(process_lock(slot_path).is_locked)
        return 8 << 30

    admission = DeployAdmission(tmp_path, slots=1, memory_available=free_memory, memory_total=host_total)
    release(admission.admit("run", "app", 1 << 30, timeout=2))
    assert held_when_read == [True]


def test_a_slot_taken_while_memory_does_not_fit_is_given_back(tmp_path):
    admission = DeployAdmission(tmp_path, slots=1, memory_available=lambda: 1 << 20, memory_total=host_total)
    with pytest.raises(InfraError, match="2048 MiB declared, 1 MiB free"):
        admission.admit("run", "big_app", 2 << 30, timeout=0.3)
    assert not process_lock(tmp_path / "deploy-slot-0.lock").is_locked


def test_total_memory_reads_meminfo(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemFree:         1000 kB\n")
    monkeypatch.setattr(locks, "MEMINFO", meminfo)
    assert total_memory() == 16000000 * 1024
    assert available_memory() is None


def test_available_memory_reads_meminfo(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    2048000 kB\n")
    monkeypatch.setattr(locks, "MEMINFO", meminfo)
    assert available_memory() == 2048000 * 1024


@pytest.mark.parametrize("content", [None, "MemTotal: 1 kB\n", "MemAvailable: lots\n"])
def test_available_memory_is_none_where_unknown(tmp_path, monkeypatch, content):
    # The docstring said "0 where unknown" while the code returned 1 << 62: now both say None.
    meminfo = tmp_path / "meminfo"
    if content is not None:
        meminfo.write_text(content)
    monkeypatch.setattr(locks, "MEMINFO", meminfo)
    assert available_memory() is None
