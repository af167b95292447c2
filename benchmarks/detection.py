"""Detection latency: from the moment the swarm reaches a state to the moment the waiter's
verdict returns (`Swarm.wait_converged`), driven through `SwarmBackend.deploy` directly.

Three transitions, each timed against the swarm's own clock:

* completed: an update reaching `completed` (hello redeployed head <-> 0.2.0). The service
  event `updatestate.new` wakes the waiter; its `timeNano` is the start of the latency.
* rollback: `rollback_started` (hello-rollback's head), the same way.
* healthy: a fresh install's task turning `running` once its healthcheck passes. Swarm sends
  no event for a task's state: the container's `health_status: healthy` event wakes the waiter
  a moment before the task follows it, so the waiter re-reads 50 ms later and then backs off,
  doubling up to 1 s (EventFeed). The start of the latency is the task's `Status.Timestamp`.

A separate event stream records the event times; `wait_converged` is wrapped to stamp its return.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import LOCK_DIR, Lab, cleanup_domains, contention, log

from pytest_ccci.model.app import App
from pytest_ccci.model.naming import service_name
from pytest_ccci.model.runner import RunnerChoices
from pytest_ccci.model.secrets import SecretVault
from pytest_ccci.model.settings import load_settings
from pytest_ccci.run.backend import SwarmBackend
from pytest_ccci.run.locks import acquire, app_lock_path, release
from pytest_ccci.run.repo import Checkout, RecipeRepo
from pytest_ccci.swarm.convergence import docker_timestamp
from pytest_ccci.swarm.facade import Swarm

HEALTHY = "health_status: healthy"


class EngineEvents:
    """Our own event stream: (service, state, event time) of every service `updatestate.new`
    and every swarm container turning healthy."""

    def __init__(self, sw: Swarm):
        self.seen: list[tuple[str, str, float]] = []
        self.lock = threading.Lock()
        self.stream = sw.api.events(since=int(time.time()) - 1, decode=True, filters={"type": ["service", "container"]})
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    @staticmethod
    def _entry(ev: dict[str, Any]) -> tuple[str, str, float] | None:
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        when = ev["timeNano"] / 1e9
        if ev.get("Type") == "service" and attrs.get("updatestate.new"):
            return attrs.get("name", "?"), attrs["updatestate.new"], when
        if ev.get("Type") == "container" and ev.get("Action") == HEALTHY:
            return attrs.get("com.docker.swarm.service.name", "?"), "healthy", when
        return None

    def _pump(self) -> None:
        try:
            for ev in self.stream:
                entry = self._entry(ev)
                if entry is not None:
                    with self.lock:
                        self.seen.append(entry)
        except Exception:  # close() below ends the stream by breaking it: that ends the pump
            pass

    def first(self, service: str, state: str, after: float, timeout: float = 10) -> float | None:
        """The earliest time `service` reached `state` at or after `after`, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                hits = [t for s, st, t in self.seen if s == service and st == state and t >= after]
            if hits:
                return min(hits)
            time.sleep(0.05)  # the benchmark's own bookkeeping, not what is measured
        return None

    def close(self) -> None:
        self.stream.close()


@contextmanager
def stamped_returns(sw: Swarm) -> Iterator[list[float]]:
    """While inside: the wall-clock time of each return of `sw.wait_converged`."""
    returned: list[float] = []
    real_wait = sw.wait_converged

    def timed_wait(*args: Any, **kwargs: Any) -> Any:
        convergence = real_wait(*args, **kwargs)
        returned.append(time.time())
        return convergence

    sw.wait_converged = timed_wait  # type: ignore[method-assign]  # stamps each return, for this measure only
    try:
        yield returned
    finally:
        sw.wait_converged = real_wait  # type: ignore[method-assign]


@dataclass
class Target:
    app: App
    backend: SwarmBackend
    head: Checkout
    base: Checkout | None
    service: str


@contextmanager
def target(lab: Lab, sw: Swarm, name: str, example: str, base_tag: str | None) -> Iterator[Target]:
    """A recipe checked out at its head (and `base_tag`), its app-domain lock held as a lifecycle
    holds it; torn down on the way out."""
    lab.enroll(name, example)
    settings = load_settings(lab.recipes / name)
    repo = RecipeRepo(name, settings.source, lab.tmp / "cache")
    repo.fetch()
    head = repo.checkout(repo.resolve(None), lab.tmp / f"{name}-head")
    base = repo.checkout(repo.resolve(base_tag), lab.tmp / f"{name}-base") if base_tag else None
    app = App.for_checkout(settings, head.head_sha, "ccci.test", f"bench-{int(time.time())}")
    never_pull = RunnerChoices(pull="never")  # the examples' images are built here: never pulled
    backend = SwarmBackend(sw, lab.tmp / "deploy", SecretVault(), lock_dir=LOCK_DIR, runner=never_pull)
    lock = acquire(app_lock_path(LOCK_DIR, app.domain), app.run_id, "benchmark", timeout=300)
    try:
        yield Target(app, backend, head, base, service_name(app.stack, "app"))
    finally:
        backend.teardown(app)
        release(lock)


def measure(key: str, latencies: list[float], notes: list[str]) -> dict[str, Any]:
    return {
        key: {
            "value": round(statistics.median(latencies), 3) if latencies else None,
            "valid": bool(latencies) and not notes,
            "detail": {"latencies": latencies, "notes": notes, "contention": contention()},
        }
    }


# -- transitions with an event -------------------------------------------------------------------


def _wait_rolled_back(sw: Swarm, service: str) -> None:
    """Before the head is redeployed again, swarm must have finished rolling it back."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        svc = sw.service(service) or {}
        if (svc.get("UpdateStatus") or {}).get("State") == "rollback_completed":
            return
        time.sleep(0.5)  # the benchmark's own pacing between runs, not what is measured


def updates(lab: Lab, sw: Swarm, events: EngineEvents, state: str, case: tuple[str, str, str], runs: int) -> dict:
    """Redeploys that end in `state`; latency from its `updatestate.new` event to the verdict."""
    name, example, base_tag = case
    latencies: list[float] = []
    notes: list[str] = []
    with target(lab, sw, name, example, base_tag) as t, stamped_returns(sw) as returned:
        assert t.base is not None
        log(f"detection {state}: deploy base {base_tag} of {name}")
        first = t.backend.deploy(t.app, t.base, "release")
        if not first.convergence.ok:
            raise RuntimeError(f"base did not converge: {first.convergence.reason}")
        checkout, last_event = t.head, 0.0
        for i in range(runs):
            mark = time.time()
            dep = t.backend.deploy(t.app, checkout, "chaos" if checkout is t.head else "release")
            # Strictly after this redeploy began and after the previous run's event: one event is
            # never counted for two runs. (The waiter itself drops events older than its deploy,
            # by timeNano, so runs may follow each other back to back.)
            event = events.first(t.service, state, max(mark, last_event + 1e-6))
            conv = dep.convergence
            if event is None:
                notes.append(f"run {i}: no {state} event seen (verdict: {conv.ok} {conv.reason[:80]})")
            else:
                last_event = event
                latencies.append(round(returned[-1] - event, 3))
                log(
                    f"detection {state} run {i + 1}/{runs}: {latencies[-1]:.3f}s (deploy {dep.deploy_seconds:.1f}s, "
                    f"ok={conv.ok}: {conv.reason[:90]})"
                )
                if returned[-1] < event:
                    notes.append(
                        f"run {i}: wait_converged returned {event - returned[-1]:.3f}s BEFORE the {state} event"
                    )
            if state == "completed":
                checkout = t.base if checkout is t.head else t.head  # every redeploy is an update
            else:
                _wait_rolled_back(sw, t.service)
    return measure("detection_completed" if state == "completed" else "detection_rollback", latencies, notes)


# -- a transition without an event ---------------------------------------------------------------


def running_since(sw: Swarm, service: str) -> float | None:
    """When the service's running task turned `running` (swarm's own clock)."""
    svc = sw.service(service)
    tasks = sw.api.tasks(filters={"service": svc["ID"], "desired-state": "running"}) if svc else []
    times = [docker_timestamp(t["Status"].get("Timestamp")) for t in tasks if t["Status"].get("State") == "running"]
    return max(times) if times else None


def healthy(lab: Lab, sw: Swarm, events: EngineEvents, runs: int) -> dict:
    """Fresh installs; latency from the task turning `running` (no event) to the verdict. The
    container's `healthy` event, which woke the waiter, is kept to show how far the task trails it."""
    latencies: list[float] = []
    notes: list[str] = []
    trails: list[float] = []
    with target(lab, sw, "benchhealthy", "hello", None) as t, stamped_returns(sw) as returned:
        for i in range(runs):
            mark = time.time()
            dep = t.backend.deploy(t.app, t.head, "chaos")
            running = running_since(sw, t.service)
            woke = events.first(t.service, "healthy", mark)
            if not dep.convergence.ok or running is None:
                notes.append(f"run {i}: no running task (verdict: {dep.convergence.ok} {dep.convergence.reason[:80]})")
            else:
                latencies.append(round(returned[-1] - running, 3))
                if woke is not None:
                    trails.append(round(running - woke, 3))
                log(
                    f"detection healthy run {i + 1}/{runs}: {latencies[-1]:.3f}s (task running "
                    f"{trails[-1] if woke is not None else '?'}s after its container's healthy event)"
                )
            left = t.backend.teardown(t.app)  # the next run is a fresh install again
            if left:
                notes.append(f"run {i}: teardown left {left}")
    result = measure("detection_healthy", latencies, notes)
    result["detection_healthy"]["detail"]["task_running_after_healthy_event"] = trails
    return result


def bench_detection(quick: bool, sw: Swarm) -> dict:
    runs = 2 if quick else 4
    lab = Lab(Path(tempfile.mkdtemp(prefix="ccci-bench-detect-")))
    events = EngineEvents(sw)
    out: dict = {}
    try:
        out |= updates(lab, sw, events, "completed", ("benchdetect", "hello", "0.2.0+1.35.0"), runs)
        out |= updates(lab, sw, events, "rollback_started", ("benchrollback", "hello-rollback", "0.3.0+1.35.0"), runs)
        out |= healthy(lab, sw, events, runs)
    finally:
        cleanup_domains(sw, lab.domains)
        shutil.rmtree(lab.tmp, ignore_errors=True)
        events.close()
    return out


# Measures this module adds to run.py's table: (unit, comparison, target).
TARGETS: dict[str, tuple[str, str | None, float | None]] = {
    "detection_completed": ("median s", "<=", 0.5),
    "detection_rollback": ("median s", "<=", 0.5),
    # An event-less transition is caught by a re-read: at worst the waiter's back-off ceiling.
    "detection_healthy": ("median s", "<=", 1.0),
}
BENCHES: dict[str, Callable[[bool, Swarm], dict]] = {"detection": bench_detection}
