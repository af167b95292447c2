"""What is on the swarm: a stack's services and their state, a service's running container, its
healthcheck output and logs, and the secrets a deploy creates.

Above the swarm layer a service is a `ServiceView` (name, task template, labels, image, update
status) and a stack's state before a deploy a snapshot of them with their running tasks
(model/idempotence.py's ServiceSnapshot): nothing outside swarm/ indexes the engine's JSON.

Reads for messages (health log, task logs) answer "" when the engine cannot tell; everything
else lets the engine's errors through, for the facade's boundary to turn into InfraError.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.idempotence import ServiceSnapshot, task_template
from pytest_ccci.model.naming import SERVICE_NAME_LABEL
from pytest_ccci.model.text import one_line
from pytest_ccci.swarm.convergence import LOG_TAIL_LINES, ServiceState, oom_text, read_service_state, task_memory_limit
from pytest_ccci.swarm.stack import STACK_LABEL

# How a container killed by SIGKILL exits (the OOM killer's signal, among others').
SIGKILL_EXIT = 137
# The labels swarm puts on each task's container: its task's name and id (its service's: naming.py).
TASK_NAME_LABEL = "com.docker.swarm.task.name"
TASK_ID_LABEL = "com.docker.swarm.task.id"


@dataclass(frozen=True)
class ServiceView:
    """A service as the engine describes it now, in the terms pytest-ccci reads."""

    name: str
    spec: Mapping[str, Any] = field(repr=False)  # the engine's whole Spec: the idempotence diff reads it
    update_status: Mapping[str, Any] | None = None  # the engine's UpdateStatus (None: never updated)

    @classmethod
    def of(cls, svc: Mapping[str, Any]) -> ServiceView:
        return cls(svc["Spec"]["Name"], svc["Spec"], svc.get("UpdateStatus"))

    @property
    def task_template(self) -> Mapping[str, Any]:
        return task_template(self.spec)

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.spec.get("Labels") or {})

    @property
    def image(self) -> str | None:
        return (self.task_template.get("ContainerSpec") or {}).get("Image")

    @property
    def update_state(self) -> str | None:
        """The update's state (`updating`, `completed`, `rollback_completed`...), None if none."""
        return (self.update_status or {}).get("State")


def services(api: docker.APIClient, stack: str) -> list[dict[str, Any]]:
    """The services of a stack (any state), as the engine lists them."""
    return list(api.services(filters={"label": f"{STACK_LABEL}={stack}"}))


def service_views(api: docker.APIClient, stack: str) -> list[ServiceView]:
    """The services of a stack (any state)."""
    return [ServiceView.of(svc) for svc in services(api, stack)]


def snapshot(api: docker.APIClient, stack: str) -> dict[str, ServiceSnapshot]:
    """Each service of the stack, by name: its spec and the tasks swarm wants running."""
    return {
        view.name: ServiceSnapshot(view.spec, running_task_ids(api, view.name)) for view in service_views(api, stack)
    }


def stack_containers(api: docker.APIClient, stack: str) -> list[dict[str, Any]]:
    """The containers of a stack's tasks (any state), found by the namespace label swarm copies
    onto them: they carry none of the run's labels, and may outlive their service."""
    return list(api.containers(all=True, filters={"label": f"{STACK_LABEL}={stack}"}))


def service(api: docker.APIClient, name: str) -> dict[str, Any] | None:
    """The service of exactly that name, or None."""
    # The name filter matches prefixes: only an exact name counts.
    found = [s for s in api.services(filters={"name": name}) if s["Spec"]["Name"] == name]
    return found[0] if found else None


def service_view(api: docker.APIClient, name: str) -> ServiceView | None:
    """The service of exactly that name, or None."""
    svc = service(api, name)
    return ServiceView.of(svc) if svc else None


def service_labels(api: docker.APIClient, name: str) -> dict[str, str]:
    view = service_view(api, name)
    return view.labels if view else {}


def service_state(
    api: docker.APIClient, svc: Mapping[str, Any], since: float, oomed: frozenset[str] = frozenset()
) -> ServiceState:
    """The service's replicas, failures and update state, counting only what happened since
    `since`; `oomed`: containers the engine's `oom` events named (its OOMKilled flag may lag)."""
    tasks = api.tasks(filters={"service": svc["ID"]})
    return read_service_state(svc, tasks, since, oom_killed(api, tasks) | oomed)


def oom_killed(api: docker.APIClient, tasks: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The containers of tasks that died of SIGKILL (exit 137) whose state says OOMKilled: a
    task's own status cannot tell the kernel's OOM killer from any other kill."""
    killed = set()
    for task in tasks:
        container = (task.get("Status") or {}).get("ContainerStatus") or {}
        if container.get("ExitCode") != SIGKILL_EXIT or not container.get("ContainerID"):
            continue
        try:
            state = api.inspect_container(container["ContainerID"]).get("State") or {}
        except docker.errors.NotFound:
            continue  # pruned with the task history: it stays a plain exit 137
        if state.get("OOMKilled"):
            killed.add(container["ContainerID"])
    return frozenset(killed)


def running_task_ids(api: docker.APIClient, service: str) -> frozenset[str]:
    """The ids of the tasks swarm wants running for the service (whatever state they reached)."""
    return frozenset(t["ID"] for t in api.tasks(filters={"service": service, "desired-state": "running"}))


def running_container(client: docker.DockerClient, service: str) -> Container:
    """The container of a running task of `service` (single-node swarm: it is local)."""
    for task in client.api.tasks(filters={"service": service, "desired-state": "running"}):
        cid = (task.get("Status", {}).get("ContainerStatus") or {}).get("ContainerID")
        if task["Status"].get("State") == "running" and cid:
            try:
                return client.containers.get(cid)
            except docker.errors.NotFound:
                continue
    # The daemon answered: the app is not running (it crashed after a restore, say). That is
    # the recipe's doing, named with its last task's own words.
    raise RecipeError(f"service {service} has no running task{_last_task(client.api, service)}")


def _last_task(api: docker.APIClient, service: str) -> str:
    tasks = sorted(api.tasks(filters={"service": service}), key=lambda t: t["Status"].get("Timestamp", ""))
    if not tasks:
        return ""
    status = tasks[-1]["Status"]
    if oom_killed(api, tasks[-1:]):  # never a bare exit 137
        return f": last task {status.get('State')}: {oom_text(task_memory_limit(tasks[-1]))}"
    return f": last task {status.get('State')}: {status.get('Err') or 'no error given'}"


def health_log(api: docker.APIClient, service: str) -> str:
    """The last healthcheck output of the service's most recent container, naming the task it
    came from (an old task's check can pass while the new one fails), for messages."""
    try:
        listed = api.containers(all=True, filters={"label": f"{SERVICE_NAME_LABEL}={service}"})
    except docker.errors.APIError:
        return ""
    for entry in sorted(listed, key=lambda c: c.get("Created", 0), reverse=True):
        try:
            state = api.inspect_container(entry["Id"]).get("State", {})
        except docker.errors.NotFound:
            continue
        log = (state.get("Health") or {}).get("Log") or []
        # The newest check that said something (a check cut off by the kill says nothing).
        said = [check for check in log if (check.get("Output") or "").strip()]
        if said:
            last = said[-1]
            task = _task_of(entry.get("Labels") or {}, entry["Id"])
            return f"last healthcheck ({task}) exit {last.get('ExitCode')}: {one_line(last.get('Output', ''))}"
    return ""


def _task_of(labels: Mapping[str, str], container_id: str) -> str:
    """`task <service>.<slot> (<task id>)` as convergence names tasks, from swarm's container labels."""
    name, task_id = labels.get(TASK_NAME_LABEL, ""), labels.get(TASK_ID_LABEL, "")
    prefix = name[: -len(task_id) - 1] if task_id and name.endswith("." + task_id) else name
    if not prefix:
        return f"container {container_id[:12]}"
    return f"task {prefix} ({task_id[:12]})"


def container_log_tail(api: docker.APIClient, container_id: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines a task's container wrote ("" when it is gone or said nothing)."""
    if not container_id:
        return ""
    try:
        raw = api.logs(container_id, stdout=True, stderr=True, tail=lines, timestamps=False)
    except docker.errors.APIError:
        return ""
    return raw.decode(errors="replace") if isinstance(raw, bytes) else ""


def task_logs(api: docker.APIClient, service: str, lines: int = 20) -> str:
    """The last `lines` lines the service's tasks wrote, for messages."""
    try:
        raw = api.service_logs(service, stdout=True, stderr=True, tail=str(lines), timestamps=False)
    except docker.errors.APIError:
        return ""
    data = raw if isinstance(raw, bytes) else b"".join(raw)
    return data.decode(errors="replace")


def ensure_secret(api: docker.APIClient, name: str, value: str, labels: Mapping[str, str]) -> bool:
    """Create a secret unless one of that name exists (a redeploy keeps its secrets)."""
    # The name filter matches prefixes: only an exact name counts as existing.
    if any(s["Spec"]["Name"] == name for s in api.secrets(filters={"name": name})):
        return False
    api.create_secret(name=name, data=value.encode(), labels=dict(labels))
    return True
