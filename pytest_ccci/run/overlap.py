"""One recipe's two lifecycles overlapped: the upgrade lifecycle (its own app domain and lock,
lifecycle.py's `upgrade_lifecycle()`) runs in a background thread while the install chain runs
in the main thread, and the install's teardown runs in the background once its tiers are done.

- `overlaps()`: only when this process has two deploy slots of its own (ini ccci_max_deploys
  shared by the run's xdist workers); otherwise today's order: install, its teardown, upgrade.
- `start_upgrade()` starts the upgrade chain (base deployed, seeded, head redeployed) at the
  recipe's first swarm tier; `upgraded()` awaits it (test_upgrade then checks it, in the main
  thread), or runs it here when it was not started (serial, or --upgrade-from all's bases).
- `close_in_background()` tears a finished lifecycle down off the critical path; `close_now()`
  awaits one lifecycle's job (bounded) and closes it (a rerun's retirement, plugin/reruns.py);
  `settle()` does so for both lifecycles of a recipe, at the recipe's last item,
  so its last report carries both teardowns; `stop_and_close()` is the session end's, an
  interrupted run's included: no new deploy starts, the upgrade's stack is removed (which ends
  a wait on it), the jobs are awaited (bounded) and both lifecycles closed from the main thread.

While a lifecycle's job runs, reports carry the copy of its facts made when the job started
(`snapshot`): the job goes on writing them, the main thread never reads them meanwhile. Jobs
run on daemon threads: one stuck past its bound cannot keep the process alive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from pytest_ccci.errors import InfraError

if TYPE_CHECKING:
    from pytest_ccci.model.versions import Release
    from pytest_ccci.run.lifecycle import RecipeLifecycle, UpgradeRun

T = TypeVar("T")

# How long the main thread waits for a background job it must see end (a teardown: swarm's stop
# grace and the removal wait; a stopped upgrade: the deploy under way to notice its stack gone).
BACKGROUND_BOUND_SECONDS = 180.0


def overlaps(max_deploys: int, workers: int) -> bool:
    """Whether this process may run two deploys of one recipe at once: it has two of the host's
    deploy slots to itself (`workers` processes of this run share them)."""
    return max_deploys // max(1, workers) >= 2


class Background(Generic[T]):
    """One job on a daemon thread: its value or its exception, once done."""

    def __init__(self, name: str, fn: Callable[[], T]):
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
    job = Background(f"ccci {what} of {lifecycle.name}", fn)
    lifecycle.background = job
    return job


def _finished(lifecycle: RecipeLifecycle, timeout: float | None) -> BaseException | None:
    """Await the lifecycle's job; once it ended its facts are the main thread's again. Returns
    the job's error, if any (a job still running after `timeout` is one)."""
    job = lifecycle.background
    if job is None:
        return None
    if not job.wait(timeout):
        return InfraError(f"recipe {lifecycle.name}: {job.thread.name} did not end within {timeout:.0f}s")
    lifecycle.background, lifecycle.snapshot = None, None
    try:
        job.result()
    except BaseException as exc:
        return exc
    return None


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
    if job is None or upgrade.upgrade_started != base.tag:
        return upgrade.upgrade(base)
    job.wait()  # interruptible: a Ctrl-C here ends the run, and stop_and_close() cleans up
    upgrade.background, upgrade.snapshot = None, None
    return cast("UpgradeRun", job.result())  # the job is upgrade.upgrade's


def close_in_background(lifecycle: RecipeLifecycle) -> None:
    """Tear the lifecycle down off the critical path (settle() awaits it)."""
    if lifecycle.background is None:
        _start(lifecycle, "teardown", lifecycle.close)


def close_now(lifecycle: RecipeLifecycle, timeout: float = BACKGROUND_BOUND_SECONDS) -> BaseException | None:
    """Await the lifecycle's background job (bounded: one still running past it is stopped from
    starting more) and close the lifecycle here. Returns the first error the job or the close met."""
    error = _finished(lifecycle, timeout)
    if lifecycle.background is not None:
        lifecycle.stop()
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
    """The session ends (interrupted, perhaps): nothing new starts, the upgrade's stack under
    way is removed so a wait on it ends, the jobs are awaited (bounded), both lifecycles closed."""
    lifecycle.stop()
    upgrade = lifecycle.upgrade_lifecycle() if lifecycle.has_upgrade else None
    if upgrade is not None and upgrade.background is not None and lifecycle.ctx.connected:
        lifecycle.ctx.backend.teardown(upgrade.app())
    for lc in _both(lifecycle):
        _finished(lc, timeout)
    errors: list[Exception] = []
    for lc in _both(lifecycle):
        try:
            lc.close()
        except Exception as exc:  # the other lifecycle still closes
            errors.append(exc)
    if errors:
        raise errors[0]


def _both(lifecycle: RecipeLifecycle) -> list[RecipeLifecycle]:
    """The recipe's install lifecycle, and its upgrade lifecycle once there is one."""
    return [lifecycle, *([lifecycle.upgrade_lifecycle()] if lifecycle.has_upgrade else [])]
