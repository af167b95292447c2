"""Looking at a deployed app: the HTTP probe from inside its own task, and what the swarm says
of it when a tier failed (image, update status, last log lines).

The probe never dials a container IP: it runs wget in the app's task against 127.0.0.1, so
nothing leaves the task's network namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_ccci.errors import InfraError
from pytest_ccci.model import compose
from pytest_ccci.model.http import last_http_status
from pytest_ccci.model.naming import service_name
from pytest_ccci.model.text import one_line

if TYPE_CHECKING:
    from pytest_ccci.run.deploy import Deployment
    from pytest_ccci.swarm.facade import Swarm

# A health endpoint answers at once or not at all; this bounds a hung app, not a slow network.
PROBE_SECONDS = 20
# Enough of the log to show why an app failed, few enough to read in a report.
LOG_LINES = 20


def http_status(swarm: Swarm, deployment: Deployment) -> tuple[int | None, str]:
    """GET the health path from inside the app's own task: (status or None, what happened)."""
    health = deployment.app.settings.health
    service = service_name(deployment.app.stack, health.service)
    port = health.port or compose.http_port(deployment.config, health.service)
    url = f"http://127.0.0.1:{port}{health.path}"
    # No `-T`: busybox 1.35's wget segfaults with it; the exec timeout bounds the call.
    code, out = swarm.exec(service, ["wget", "-S", "-O", "/dev/null", url], timeout=PROBE_SECONDS)
    status = last_http_status(out)
    if status is None and (code in (126, 127) or "not found" in out):
        raise InfraError(
            f"cannot probe {service}: no wget in its image (set health.port/path, or add a functional test)"
        )
    if status is None:
        return None, f"GET {url} from inside {service} gave no HTTP status (wget exit {code}): {one_line(out)}"
    return status, f"GET {url} from inside {service} answered {status}"


def diagnostics(swarm: Swarm, stack: str) -> list[str]:
    """The app service's image and update status, and its last log lines."""
    service = service_name(stack, "app")
    lines = []
    svc = swarm.service(service)
    if svc:
        spec = svc["Spec"]
        lines.append(f"service {spec['Name']}: image {spec['TaskTemplate']['ContainerSpec'].get('Image')}")
        lines.append(f"update status: {svc.get('UpdateStatus')}")
    return [*lines, "last log lines:", swarm.task_logs(service, lines=LOG_LINES)]
