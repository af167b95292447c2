"""One recipe's two lifecycles overlapped: the upgrade lifecycle (its own app domain and lock,
lifecycle.py's `upgrade_lifecycle()`) runs in a background thread while the install chain runs
in the main thread, and the install's teardown runs in the background once its tiers are done.

- `overlaps()`: only when this process has two deploy slots of its own (ini ccci_max_deploys
  shared by the run's xdist workers); otherwise today's order: install, its teardown, upgrade.
- `start_upgrade()` starts the upgrade chain (base deployed, seeded, head redeployed) at the
  recipe's first swarm tier, when its upgrade item is to run; `upgraded()` awaits it
  (test_upgrade then checks it, in the main thread), or runs it here when it was not started
  (serial, or --upgrade-from all's bases).
- `close_in_background()` tears a finished lifecycle down off the critical path; `close_now()`
  awaits one lifecycle's job (bounded) and closes it (a rerun's retirement, plugin/reruns.py);
  `settle()` does so for both lifecycles of a recipe, at the recipe's last item,
  so its last report carries both teardowns; `stop_and_close()` is the session end's, an
  interrupted run's included: no new deploy starts, a job's stack under way is removed (which
  ends a wait on it) where the job holds its domain's lock, the jobs are awaited (bounded) and
  both lifecycles closed from the main thread. A job still running past its bound is never
  closed under: its lock stays held until it ends or the process exits.

While a lifecycle's job runs, reports carry the copy of its facts made when the job started
(`snapshot`, and only the domain of its hold): the job goes on writing them. The main thread
still records what its own tiers learn (the upgrade's stamp, say) in the install's facts, other
fields than a teardown writes; the recipe's last report, after settle(), carries them all. Jobs
run on daemon threads: one stuck past its bound cannot keep the process alive; awaiting one
says so every PROGRESS_EVERY_SECONDS, which also lets out its progress lines (only the main
thread prints them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from pytest_ccci.errors import InfraError
from pytest_ccci.model.text import PROGRESS_EVERY_SECONDS

if TYPE_CHECKING:
    from pytest_ccci.model.versions import Release
    from pytest_ccci.run.lifecycle import RecipeLifecycle, UpgradeRun

T = TypeVar("T")

# How long the main thread waits for a background job it must see end (a teardown: swarm's stop
# grace and the removal wait; an upgrade chain: its deploy, then again once its stack is removed).
BACKGROUND_BOUND_SECONDS = 180.0


def overlaps(max_deploys: int, workers: int) -> bool:
    """Whether this process may run two deploys of one recipe at once: the run's share of the
    host's deploy slots (`workers` processes of this run share them) is two or more. Other runs on
    the same lock dir share them too: admission (run/locks.py) still bounds the host."""
    return max_deploys // max(1, workers) >= 2


class Background(Generic[T]):
    """One job on a daemon thread: its value or its exception, once done."""

    def __init__(self, name: str, fn: Callable[[], T], kind: str = ""):
        self.kind = kind  # "upgrade" (a chain that deploys) or "teardown"
        self._fn = fn
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to whoever awaits the job
            self._error = exc
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the job ended within `timeout` (None: however long it takes)."""
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> T:
        if not self.wait(timeout):
            raise InfraError(f"{self.thread.name} did not end within {timeout:.0f}s")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set whenever there is no error


def _start(lifecycle: RecipeLifecycle, what: str, fn: Callable[[], T]) -> Background[T]:
    lifecycle.snapshot = lifecycle.facts.copy()  # what reports carry while the job writes the facts
    job = Background(f"ccci {what} of {lifecycle.name}", fn, kind=what)
    lifecycle.background = job
    return job


def _finished(lifecycle: RecipeLifecycle, timeout: float | None) -> BaseException | None:
    """Await the lifecycle's job; once it ended its facts are the main thread's again. Returns
    the job's error, if any (a job still running after `timeout` is one)."""
    job = lifecycle.background
    if job is None:
        return None
    if not _await(lifecycle, job, timeout):
        return InfraError(f"recipe {lifecycle.name}: {job.thread.name} did not end within {timeout:.0f}s")
    lifecycle.background, lifecycle.snapshot = None, None
    try:
        job.result()
    except BaseException as exc:
        return exc
    return None


def _await(lifecycle: RecipeLifecycle, job: Background[T], timeout: float | None) -> bool:
    """Whether `job` ended within `timeout` (None: however long it takes). Every
    PROGRESS_EVERY_SECONDS the wait is said: that line also lets out the job's own progress
    lines, which only the main thread prints (plugin/state.py)."""
    start = time.monotonic()
    while True:
        waited = time.monotonic() - start
        left = PROGRESS_EVERY_SECONDS if timeout is None else min(PROGRESS_EVERY_SECONDS, timeout - waited)
        if left <= 0:
            return False
        if job.wait(left):  # interruptible: a Ctrl-C here ends the run, stop_and_close() cleans up
            return True
        lifecycle.ctx.progress(f"awaiting the {job.thread.name} (in the background): {waited + left:.0f}s")


def _remove_under_way(lifecycle: RecipeLifecycle) -> None:
    """An upgrade chain that must end now: its stack removed (a convergence wait on it ends), only
    while the lifecycle holds its domain's lock (before that, whatever is there is another run's).
    A teardown job is left to end by itself: it frees the lock when done, and removing beside it
    could outlive that."""
    job = lifecycle.background
    if job is not None and job.kind == "upgrade" and lifecycle.holds_lock and lifecycle.ctx.connected:
        try:
            lifecycle.ctx.backend.teardown(lifecycle.app())
        except Exception as exc:  # close() tears down again, and says what is left
            lifecycle.ctx.progress(f"removing the {lifecycle.name} stack under way failed: {type(exc).__name__}: {exc}")


def start_upgrade(lifecycle: RecipeLifecycle, base: Release) -> None:
    """The upgrade chain from `base`, on the upgrade lifecycle, in the background. Everything it
    shares with the main thread (settings, checkout, the engine connection) exists before."""
    upgrade = lifecycle.upgrade_lifecycle()
    if upgrade.background is not None or upgrade.upgrade_started is not None:
        return
    lifecycle.checkout()
    lifecycle.ctx.backend  # noqa: B018  # connected here, not raced for by two threads
    upgrade.upgrade_started = base.tag
    _start(upgrade, "upgrade", lambda: upgrade.upgrade(base))


def upgraded(lifecycle: RecipeLifecycle, base: Release) -> UpgradeRun:
    """The upgrade from `base`: the background chain's result when it was started from this
    base, else the chain run here and now."""
    upgrade = lifecycle.upgrade_lifecycle()
    job = upgrade.background
    if job is None:
        return upgrade.upgrade(base)
    _await(upgrade, job, None)
    upgrade.background, upgrade.snapshot = None, None
    if upgrade.upgrade_started != base.tag:  # the base chosen changed since (never two chains at once)
        upgrade.ctx.progress(f"{lifecycle.name}: the upgrade started from {upgrade.upgrade_started}, not {base.tag}")
        return upgrade.upgrade(base)
    return cast("UpgradeRun", job.result())  # the job is upgrade.upgrade's


def close_in_background(lifecycle: RecipeLifecycle) -> None:
    """Tear the lifecycle down off the critical path (settle() awaits it)."""
    if lifecycle.background is None:
        _start(lifecycle, "teardown", lifecycle.close)


def close_now(lifecycle: RecipeLifecycle, timeout: float = BACKGROUND_BOUND_SECONDS) -> BaseException | None:
    """Await the lifecycle's background job (bounded) and close the lifecycle here. A job still
    running past the bound is stopped from starting more and its stack removed, then awaited
    once more; one still running after that is left, not closed: closing would free its lock
    under a deploy (the lock goes when the process exits, the janitor reaps the domain). Returns
    the first error the job or the close met."""
    error = _finished(lifecycle, timeout)
    if lifecycle.background is not None:
        lifecycle.stop(with_upgrade=False)  # this lifecycle only: a rerun's retirement stops no upgrade
        _remove_under_way(lifecycle)
        error = _finished(lifecycle, timeout)  # the bound's error while it still runs, else its own
        if lifecycle.background is not None:
            return error
    try:
        lifecycle.close()
    except Exception as exc:  # said by the caller, who still closes what else it must
        error = error or exc
    return error


def settle(lifecycle: RecipeLifecycle, timeout: float = BACKGROUND_BOUND_SECONDS) -> None:
    """The recipe is done: await its jobs (bounded), close both lifecycles here, and raise the
    first error a job or a close met."""
    errors = [e for lc in _both(lifecycle) if (e := close_now(lc, timeout)) is not None]
    if errors:
        raise errors[0]


def stop_and_close(lifecycle: RecipeLifecycle, timeout: float = BACKGROUND_BOUND_SECONDS) -> None:
    """The session ends (interrupted, perhaps): nothing new starts, a job's stack under way is
    removed so a wait on it ends, the jobs are awaited (bounded), both lifecycles closed."""
    lifecycle.stop()
    for lc in _both(lifecycle):
        if lc.background is not None and not lc.background.done:
            _remove_under_way(lc)
    for lc in _both(lifecycle):
        _finished(lc, timeout)  # a stopped job's own error says only that it stopped: not reported
    settle(lifecycle, timeout)


def _both(lifecycle: RecipeLifecycle) -> list[RecipeLifecycle]:
    """The recipe's install lifecycle, and its upgrade lifecycle once there is one."""
    return [lifecycle, *([lifecycle.upgrade_lifecycle()] if lifecycle.has_upgrade else [])]
