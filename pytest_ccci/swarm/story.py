"""What the engine can tell of each service of a stack, for a failed tier's story (model/story.py
turns it into text): the service's whole log (streamed, bounded: the tail is kept), its task
history (shut-down and failed tasks included, as long as swarm's task history keeps them), its
UpdateStatus, Spec and PreviousSpec as the engine reports them.

Read once, just before teardown; every engine error leaves through the facade as InfraError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

from pytest_ccci.model.story import LOG_BYTES, TailBuffer, TaskRecord, log_text
from pytest_ccci.swarm.inventory import services


@dataclass(frozen=True)
class ServiceStory:
    """One service as the engine describes it, with its log (bounded) and task history."""

    name: str
    log: str
    tasks: list[TaskRecord]
    update_status: Mapping[str, Any] | None
    spec: Mapping[str, Any] = field(repr=False)
    previous_spec: Mapping[str, Any] | None = field(repr=False, default=None)


def stack_story(api: docker.APIClient, stack: str, log_bytes: int = LOG_BYTES) -> list[ServiceStory]:
    """Each service of the stack, by name."""
    stories = []
    for svc in sorted(services(api, stack), key=lambda s: s["Spec"]["Name"]):
        name = svc["Spec"]["Name"]
        raw_tasks = api.tasks(filters={"service": svc["ID"]})
        tasks = [task_record(name, t, last_check(api, t)) for t in raw_tasks]
        names = {t.id: f"{t.name}.{t.id[:12]}" for t in tasks}
        stories.append(
            ServiceStory(
                name=name,
                log=log_text(service_log(api, svc["ID"], log_bytes), names),
                tasks=tasks,
                update_status=svc.get("UpdateStatus"),
                spec=svc["Spec"],
                previous_spec=svc.get("PreviousSpec"),
            )
        )
    return stories


def service_log(api: docker.APIClient, service_id: str, limit: int) -> str:
    """The service's whole log (every task's, stdout and stderr, timestamped, with the task it
    came from), streamed into a buffer that keeps the last `limit` bytes."""
    buffer = TailBuffer(limit)
    stream = api.service_logs(service_id, stdout=True, stderr=True, timestamps=True, details=True, follow=False)
    for chunk in [stream] if isinstance(stream, bytes) else stream:
        buffer.feed(chunk)
    return buffer.text()


def last_check(api: docker.APIClient, task: Mapping[str, Any]) -> str:
    """The last healthcheck of the task's container that said something: `exit N: output`
    ("" when it has none, or the container is gone)."""
    container = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID")
    if not container:
        return ""
    try:
        state = api.inspect_container(container).get("State") or {}
    except docker.errors.NotFound:
        return ""
    said = [c for c in (state.get("Health") or {}).get("Log") or [] if (c.get("Output") or "").strip()]
    return f"exit {said[-1].get('ExitCode')}: {said[-1].get('Output')}" if said else ""


def task_record(service: str, task: Mapping[str, Any], health: str = "") -> TaskRecord:
    """A task as `docker service ps` lists it (and its last healthcheck, read apart)."""
    status = task.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    spec = (task.get("Spec") or {}).get("ContainerSpec") or {}
    slot = task.get("Slot")
    image = str(spec.get("Image") or "").split("@", 1)[0]  # as ps shows it: without the digest
    return TaskRecord(
        id=str(task.get("ID", "")),
        name=f"{service}.{slot}" if slot is not None else f"{service}.{task.get('NodeID', '')}",
        image=image,
        desired=str(task.get("DesiredState", "")),
        state=str(status.get("State", "")),
        since=str(status.get("Timestamp", "")),
        error=str(status.get("Err") or ""),
        exit_code=container.get("ExitCode") if "ExitCode" in container else None,
        health=health,
    )
