"""What is on the swarm: a stack's services and their state, a service's running container, its
healthcheck output and logs, and the secrets a deploy creates.

Reads for messages (health log, task logs) answer "" when the engine cannot tell; everything
else lets the engine's errors through, for the facade's boundary to turn into InfraError.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.text import one_line
from pytest_ccci.swarm.convergence import ServiceState, read_service_state
from pytest_ccci.swarm.stack import STACK_LABEL

# The label swarm puts on each task's container, naming its service.
SERVICE_NAME_LABEL = "com.docker.swarm.service.name"


def services(api: docker.APIClient, stack: str) -> list[dict[str, Any]]:
    """The services of a stack (any state)."""
    return list(api.services(filters={"label": f"{STACK_LABEL}={stack}"}))


def service(api: docker.APIClient, name: str) -> dict[str, Any] | None:
    """The service of exactly that name, or None."""
    # The name filter matches prefixes: only an exact name counts.
    found = [s for s in api.services(filters={"name": name}) if s["Spec"]["Name"] == name]
    return found[0] if found else None


def service_labels(api: docker.APIClient, name: str) -> dict[str, str]:
    svc = service(api, name)
    return dict(svc["Spec"].get("Labels") or {}) if svc else {}


def service_state(api: docker.APIClient, svc: Mapping[str, Any], since: float) -> ServiceState:
    """The service's replicas, failures and update state, counting only what happened since `since`."""
    return read_service_state(svc, api.tasks(filters={"service": svc["ID"]}), since)


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
    return f": last task {status.get('State')}: {status.get('Err') or 'no error given'}"


def health_log(api: docker.APIClient, service: str) -> str:
    """The last healthcheck output of the service's most recent container, for messages."""
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
            return f"last healthcheck exit {last.get('ExitCode')}: {one_line(last.get('Output', ''))}"
    return ""


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
