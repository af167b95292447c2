"""Waiting on the swarm through its events: a stack converging, a removed stack's tasks going.

Each engine event wakes the waiter, which then reads the state it needs; there is no sleep
loop. Transitions that emit no event are caught by EventFeed's follow-up re-reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import docker

from pytest_ccci.model.text import PROGRESS_EVERY_SECONDS
from pytest_ccci.swarm import inventory
from pytest_ccci.swarm.convergence import (
    Convergence,
    ServiceState,
    TaskFailure,
    culprit_task,
    judge_convergence,
    log_note,
    progress_line,
    record_update_states,
    timeout_reason,
)
from pytest_ccci.swarm.events import EventFeed
from pytest_ccci.swarm.stack import STACK_LABEL

# A removed service's tasks stop within swarm's stop grace period (10 s by default) and then
# their containers go: a removal still not done after this is stuck, and teardown reports it.
REMOVAL_TIMEOUT_SECONDS = 60.0
# How long a verdict on a bare exit 137 under a memory limit awaits the engine's word that the
# kernel killed it for memory (docker 20.10 reports it a moment after the exit at times).
OOM_WORD_SECONDS = 3.0


def wait_converged(
    api: docker.APIClient,
    stack: str,
    since: float,
    timeout: float,
    max_task_failures: int,
    expect_update: Iterable[str] = (),
    progress: Callable[[str], None] | None = None,
) -> Convergence:
    """Wait until every service of the stack runs its desired replicas of its current spec,
    healthy (swarm counts a task running only once its healthcheck passes), and every
    expected update completed; or until the swarm shows it will not get there."""
    expected = set(expect_update)
    start = time.monotonic()
    deadline = start + timeout
    seen_updates: dict[str, list[str]] = {}
    next_progress = start + PROGRESS_EVERY_SECONDS
    had_services = False
    oomed: frozenset[str] = frozenset()  # containers the engine said `oom` of
    oom_grace: float | None = None  # when a verdict on a bare exit 137 stops awaiting its `oom`
    with EventFeed(api, since, kinds=("service", "container")) as feed:
        while True:
            events = feed.drain()
            record_update_states(seen_updates, events)
            oomed |= oom_events(events)
            states = _read_states(api, stack, since, oomed)
            elapsed = time.monotonic() - start
            if had_services and not states:
                # Removed under the wait (a stopping run tears its stacks down): it will never converge.
                removed = f"stack {stack} was removed while it converged"
                return Convergence(False, removed, states, elapsed, seen_updates)
            had_services = had_services or bool(states)
            outcome = judge_convergence(states, expected, max_task_failures, seen_updates)
            if outcome is not None and _may_be_oom(culprit_task(states, outcome.culprit)):
                # The engine's `oom` event (and its OOMKilled flag) may come a moment after the
                # exit: a verdict naming a bare exit 137 under a memory limit awaits it, bounded.
                oom_grace = oom_grace or time.monotonic() + OOM_WORD_SECONDS
                if time.monotonic() < oom_grace:
                    feed.wait(oom_grace - time.monotonic())
                    continue
            if outcome is not None:
                reason = outcome.reason + _health_note(api, outcome.culprit)
                task = culprit_task(states, outcome.culprit)
                if task:  # the failed task's own last words end the verdict
                    reason += log_note(task, inventory.container_log_tail(api, task.container_id))
                return Convergence(outcome.ok, reason, states, elapsed, seen_updates)
            now = time.monotonic()
            if now >= deadline:
                reason = timeout_reason(
                    states,
                    timeout,
                    lambda name: inventory.health_log(api, name),
                    lambda task: inventory.container_log_tail(api, task.container_id),
                )
                return Convergence(False, reason, states, elapsed, seen_updates)
            if progress and now >= next_progress:
                progress(progress_line(stack, states, elapsed, timeout))
                next_progress = now + PROGRESS_EVERY_SECONDS
            feed.wait(deadline - now)


def _read_states(api: docker.APIClient, stack: str, since: float, oomed: frozenset[str]) -> dict[str, ServiceState]:
    return {s["Spec"]["Name"]: inventory.service_state(api, s, since, oomed) for s in inventory.services(api, stack)}


def oom_events(events: Iterable[dict[str, Any]]) -> frozenset[str]:
    """The containers the engine's events say the kernel OOM-killed."""
    return frozenset(
        e.get("Actor", {}).get("ID", "") for e in events if e.get("Type") == "container" and e.get("Action") == "oom"
    )


def _may_be_oom(task: TaskFailure | None) -> bool:
    """A failed task killed (exit 137) under a memory limit, not (yet) known to be OOM-killed."""
    return (
        task is not None
        and task.exit_code == inventory.SIGKILL_EXIT
        and bool(task.memory_limit)
        and not task.oom_killed
    )


def _health_note(api: docker.APIClient, culprit: str | None) -> str:
    health = inventory.health_log(api, culprit) if culprit else ""
    return f"; {health}" if health else ""


def wait_gone(
    api: docker.APIClient, stack: str, timeout: float = REMOVAL_TIMEOUT_SECONDS, service_ids: Iterable[str] = ()
) -> bool:
    """After removing services: wait until their tasks and containers are gone (a task still
    preparing creates its container, and so its volume, after the service is removed)."""
    deadline = time.monotonic() + timeout
    removed = list(service_ids)
    with EventFeed(api, time.time(), kinds=("container",)) as feed:
        while time.monotonic() < deadline:
            feed.drain()  # events only wake this loop: one left buffered would make wait() spin
            # The low-level list: no per-container inspect that races the removal.
            containers = api.containers(all=True, filters={"label": f"{STACK_LABEL}={stack}"})
            # (Filtering tasks by a removed service's id is a 404: list them all, then match.)
            tasks = [t for t in api.tasks() if t.get("ServiceID") in removed] if removed else []
            if not containers and not tasks:
                return True
            feed.wait(max(0.0, deadline - time.monotonic()))
    return False
