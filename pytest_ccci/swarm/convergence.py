"""Whether a stack has converged, judged from what the swarm reports: pure, no engine calls.

The waiter (waiter.py) reads services, tasks and events from the engine and hands them here:
`read_service_state` condenses one service and its tasks, `judge_convergence` says converged,
failed (with the true cause in the swarm's own words) or not yet, and `timeout_reason` says what
was still missing when time ran out. A verdict about a failed task ends with that task's own
last log lines (`log_note`): the true cause in the app's own words. Docker's JSON objects come
in as plain mappings.
"""

from __future__ import annotations

from calendar import timegm
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from pytest_ccci.model.text import one_line

# Update states after which a service update will not complete on its own.
UPDATE_FAILED = ("rollback_started", "rollback_completed", "rollback_paused", "paused")
# Task states of a task that ended. For a long-running service any of them is a failure, whatever
# the exit code: an app that exits 0 on the SIGTERM swarm sends an unhealthy task ends `complete`,
# not `failed`. (Tasks stopped by an update or a removal end `shutdown`, which is not listed.)
ENDED_ON_ITS_OWN = ("failed", "rejected", "complete")
# A failed task's last log lines that end its verdict: enough for the app's own last words.
LOG_TAIL_LINES = 5
# What makes a running task's container the service's current spec rather than an old one.
SPEC_KEYS = ("Image", "Args", "Command", "Env", "Labels", "Mounts", "Healthcheck")


@dataclass
class TaskFailure:
    service: str
    task_id: str
    slot: Any
    state: str
    error: str
    exit_code: int | None
    container_id: str = ""  # its container, whose log holds the app's own last words
    memory_limit: int | None = None  # bytes, from the task's spec
    oom_killed: bool = False  # its container's state says the kernel killed it for memory

    def describe(self) -> str:
        if self.oom_killed:  # never a bare "exit 137": the kernel killed it for memory
            return f"task {self.service}.{self.slot} ({self.task_id[:12]}) {self.state}: {oom_text(self.memory_limit)}"
        code = f" (exit {self.exit_code})" if self.exit_code not in (None, 0) else ""
        said = self.error or "no error given"
        return f"task {self.service}.{self.slot} ({self.task_id[:12]}) {self.state}: {said}{code}"


@dataclass
class ServiceState:
    name: str
    desired: int
    running: int
    update_state: str | None
    update_message: str
    failures: list[TaskFailure] = field(default_factory=list)
    stale_running: int = 0  # running tasks whose spec is not the service's current spec


@dataclass
class Convergence:
    """What the waiter saw: converged, or the true cause of not converging."""

    ok: bool
    reason: str
    services: dict[str, ServiceState]
    elapsed: float
    update_states: dict[str, list[str]] = field(default_factory=dict)  # every updatestate.new seen, in order


class Outcome(NamedTuple):
    """A convergence verdict: ok, why, and the service to blame (None when ok)."""

    ok: bool
    reason: str
    culprit: str | None


def read_service_state(
    service: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]], since: float, oom_killed: Container[str] = ()
) -> ServiceState:
    """One service and its tasks, as the waiter needs them; failures and updates before `since`
    (an earlier deploy's) do not count. `oom_killed`: the containers the engine says were
    OOM-killed (a task's own status only says exit 137)."""
    spec = service["Spec"]
    name = spec["Name"]
    mode = spec.get("Mode", {})
    desired = mode.get("Replicated", {}).get("Replicas", 1) if "Replicated" in mode else 1
    current = spec["TaskTemplate"].get("ContainerSpec", {})
    running = stale = 0
    failures = []
    for task in tasks:
        if task.get("DesiredState") == "running" and task.get("Status", {}).get("State") == "running":
            if same_container_spec(task["Spec"].get("ContainerSpec", {}), current):
                running += 1
            else:
                stale += 1
        failure = task_failure(name, task, since)
        if failure:
            failure.oom_killed = bool(failure.container_id) and failure.container_id in oom_killed
            failures.append(failure)
    failures.sort(key=lambda f: f.task_id)
    update = service.get("UpdateStatus") or {}
    return ServiceState(
        name=name,
        desired=desired,
        running=running,
        update_state=update.get("State") if docker_timestamp(update.get("StartedAt")) >= since else None,
        update_message=update.get("Message", ""),
        failures=failures,
        stale_running=stale,
    )


def oom_text(memory_limit: int | None) -> str:
    """How a task the kernel killed for memory reads in a verdict, with its limit in MiB."""
    return f"OOM-killed (limit {memory_limit >> 20} MiB)" if memory_limit else "OOM-killed (no memory limit)"


def task_memory_limit(task: Mapping[str, Any]) -> int | None:
    """The memory limit of a task's spec in bytes (None: unbounded)."""
    limit = ((task.get("Spec") or {}).get("Resources") or {}).get("Limits", {}).get("MemoryBytes")
    return int(limit) if limit is not None else None


def task_failure(service: str, task: Mapping[str, Any], since: float) -> TaskFailure | None:
    """The task as a failure, if it ended on its own at or after `since`."""
    status = task.get("Status", {})
    state = status.get("State")
    if state not in ENDED_ON_ITS_OWN or docker_timestamp(status.get("Timestamp")) < since:
        return None
    return TaskFailure(
        service=service,
        task_id=task["ID"],
        slot=task.get("Slot", "?"),
        state=state,
        error=status.get("Err") or ("exited on its own" if state == "complete" else ""),
        exit_code=(status.get("ContainerStatus") or {}).get("ExitCode"),
        container_id=(status.get("ContainerStatus") or {}).get("ContainerID") or "",
        memory_limit=task_memory_limit(task),
    )


def record_update_states(seen: dict[str, list[str]], events: Iterable[Mapping[str, Any]]) -> None:
    """Append each service event's `updatestate.new` to `seen[service]`, in the events' order."""
    for event in events:
        attributes = event.get("Actor", {}).get("Attributes") or {}
        new = attributes.get("updatestate.new")
        if event.get("Type") == "service" and new:
            seen.setdefault(attributes.get("name", "?"), []).append(new)


def judge_convergence(
    states: Mapping[str, ServiceState],
    expect_update: Iterable[str],
    max_task_failures: int,
    seen_updates: Mapping[str, list[str]],
) -> Outcome | None:
    """The outcome once it is known, None while the stack is still converging.

    Failed as soon as any service's update failed (seen as an event or in its UpdateStatus) or
    it lost `max_task_failures` tasks; converged when every service runs its desired replicas of
    its current spec and every service in `expect_update` completed its update."""
    if not states:
        return None
    for name, state in states.items():
        failed = _failure(name, state, max_task_failures, seen_updates.get(name, []))
        if failed:
            return failed
    expected = set(expect_update)
    for name, state in states.items():
        if state.running < state.desired or state.stale_running:
            return None
        completed = state.update_state == "completed" or "completed" in seen_updates.get(name, [])
        if name in expected and not completed:
            return None
    return Outcome(True, "converged", None)


def _failure(name: str, state: ServiceState, max_task_failures: int, seen: list[str]) -> Outcome | None:
    last_task = state.failures[-1].describe() if state.failures else ""
    failed_state = next((st for st in seen if st in UPDATE_FAILED), None) or (
        state.update_state if state.update_state in UPDATE_FAILED else None
    )
    if failed_state:
        verb = "rolled back" if failed_state.startswith("rollback") else "paused"
        message = f": {state.update_message}" if state.update_message else ""
        cause = f"; {last_task}" if last_task else ""
        return Outcome(False, f"swarm {verb} the update of {name} ({failed_state}){message}{cause}", name)
    if len(state.failures) >= max_task_failures:
        return Outcome(False, f"{name} lost {len(state.failures)} tasks; last {last_task}", name)
    return None


def culprit_task(states: Mapping[str, ServiceState], culprit: str | None) -> TaskFailure | None:
    """The failed task a verdict on `culprit` names (its last failure), if any."""
    state = states.get(culprit) if culprit else None
    return state.failures[-1] if state and state.failures else None


def log_note(task: TaskFailure | None, log: str) -> str:
    """The note on a failed task's own last log lines (the last LOG_TAIL_LINES that say
    something, joined by " | "), or "" when it logged nothing. Masking is the report's business, at its redaction
    point; here the lines are only bounded."""
    lines = [" ".join(line.split()) for line in log.splitlines() if line.strip()][-LOG_TAIL_LINES:]
    if not task or not lines:
        return ""
    return f"; task {task.service}.{task.slot} ({task.task_id[:12]}) last logged: " + one_line(" | ".join(lines))


def timeout_reason(
    states: Mapping[str, ServiceState],
    timeout: float,
    health_of: Callable[[str], str],
    log_of: Callable[[TaskFailure], str] = lambda task: "",
) -> str:
    """What the stack was still waiting for when `timeout` ran out; `health_of(service)` gives
    the service's last healthcheck output, if any, and `log_of(task)` a failed task's log."""
    parts = []
    for name, state in states.items():
        if state.running >= state.desired and not state.stale_running:
            continue
        why = f"{name} has {state.running}/{state.desired} running tasks"
        if state.failures:
            why += f"; last {state.failures[-1].describe()}"
        health = health_of(name)
        if health:
            why += f"; {health}"
        if state.failures:
            why += log_note(state.failures[-1], log_of(state.failures[-1]))
        parts.append(why)
    if not states:
        parts.append("the stack has no services")
    elif not parts:
        updates = ", ".join(f"{n} {s.update_state or 'no update state'}" for n, s in states.items())
        parts.append(f"update not completed: {updates}")
    return f"not converged within {timeout:.0f}s: " + "; ".join(parts)


def progress_line(stack: str, states: Mapping[str, ServiceState], elapsed: float, timeout: float) -> str:
    waiting = ", ".join(f"{n} {s.running}/{s.desired}" for n, s in states.items())
    return f"waiting for {stack} to converge ({waiting}): {elapsed:.0f}s of {timeout:.0f}s"


def same_container_spec(task_spec: Mapping[str, Any], service_spec: Mapping[str, Any]) -> bool:
    return all(task_spec.get(k) == service_spec.get(k) for k in SPEC_KEYS)


def docker_timestamp(value: str | None) -> float:
    """Docker's RFC 3339 timestamps (UTC, nanoseconds) as epoch seconds; 0 for none."""
    if not value or value.startswith("0001-"):
        return 0.0
    head, _, fraction = value.rstrip("Z").partition(".")
    base = timegm(datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").timetuple())
    digits = "".join(ch for ch in fraction if ch.isdigit())
    return base + (float("0." + digits[:6]) if digits else 0.0)
