"""Looking at a deployed app: HTTP requests to it from inside its task's network namespace, and
what the swarm says of it when a tier failed (image, update status, last log lines).

Requests run in a short-lived helper container that shares the app task's network namespace
(swarm/helper.py), with the project's probe image: they work whatever the app's image holds
(no shell, no wget), and talk to 127.0.0.1 only, so nothing is dialled from the host. Where the
helper cannot run (the probe image is missing) they fall back to wget inside the app's own task,
and say so once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ccci.errors import InfraError
from pytest_ccci.model.http import last_http_status
from pytest_ccci.model.naming import run_labels, service_name
from pytest_ccci.model.text import inert, one_line
from pytest_ccci.swarm.helper import PROBE_IMAGE

if TYPE_CHECKING:
    from pytest_ccci.run.deploy import Deployment
    from pytest_ccci.swarm.facade import Swarm

# A health endpoint answers at once or not at all; this bounds a hung app, not a slow network.
PROBE_SECONDS = 20
# A functional test's request (a write through the app, say) may take longer than a probe.
REQUEST_SECONDS = 60
# Enough of the log to show why an app failed, few enough to read in a report.
LOG_LINES = 20
# Headers (wget -S) go to stderr and the body to stdout; a marker splits the two in the output.
BODY_MARKER = "::body::"
# sh -c REQUEST <url> [<post data>]: the response headers, the marker, then the body.
REQUEST = (
    'if [ $# -gt 1 ]; then set -- --post-data "$2" "$1"; fi; '
    'wget -S -O - "$@" 2>&1 1>/tmp/.ccci-body; echo \'' + BODY_MARKER + "'; cat /tmp/.ccci-body"
)


class Prober:
    """HTTP requests to deployed apps, from a helper beside their task (or, failing that, from
    inside it)."""

    def __init__(self, swarm: Swarm, lock_dir: Path | None = None, progress: Callable[[str], None] | None = None):
        self.swarm = swarm
        self.lock_dir = lock_dir  # labelled on each helper, for the janitor of this lock dir
        self.progress = progress or (lambda line: None)
        self._helper_ready: bool | None = None

    def helper_ready(self) -> bool:
        """Whether the probe image is there; its absence is said once (then the fallback runs)."""
        if self._helper_ready is None:
            self._helper_ready = self.swarm.image_present(PROBE_IMAGE)
            if not self._helper_ready:
                self.progress(
                    f"probe image {PROBE_IMAGE} is missing (run scripts/setup-engine.sh): "
                    "HTTP probes run wget inside the app's own task instead"
                )
        return self._helper_ready

    def http_status(self, deployment: Deployment) -> tuple[int | None, str]:
        """GET the health path on 127.0.0.1 in the health service's task: (status or None, what happened)."""
        health = deployment.app.settings.health
        service = service_name(deployment.app.stack, health.service)
        url = app_url(deployment) + health.path
        where, (code, out) = self._run(deployment, service, ["wget", "-S", "-O", "/dev/null", url], PROBE_SECONDS)
        status = last_http_status(out)
        if status is None and where.startswith("from inside") and (code in (126, 127) or "not found" in out):
            raise InfraError(
                f"cannot probe {service}: no wget in its image and no probe image {PROBE_IMAGE} "
                "(run scripts/setup-engine.sh, or set health.port/path)"
            )
        if status is None:
            return None, f"GET {url} {where} gave no HTTP status (wget exit {code}): {one_line(out)}"
        return status, f"GET {url} {where} answered {status}"

    def request(
        self, deployment: Deployment, path: str, data: str | None = None, service: str = "app"
    ) -> tuple[int | None, str]:
        """GET (or POST `data` to) the app's URL + `path` in `service`'s task: (status, body)."""
        argv = ["sh", "-c", REQUEST, "request", app_url(deployment) + path, *([data] if data is not None else [])]
        target = service_name(deployment.app.stack, service)
        _where, (_code, out) = self._run(deployment, target, argv, REQUEST_SECONDS)
        headers, _, body = out.partition(BODY_MARKER + "\n")
        return last_http_status(headers), body

    def _run(
        self, deployment: Deployment, service: str, argv: list[str], timeout: float
    ) -> tuple[str, tuple[int, str]]:
        """(where it ran, (exit code, output)): beside the task, or inside it as the fallback."""
        if self.helper_ready():
            app = deployment.app
            labels = run_labels(app.run_id, app.domain, app.recipe, str(self.lock_dir or ""))
            return f"from a probe helper in {service}'s network", self.swarm.run_beside(service, argv, labels, timeout)
        return f"from inside {service}", self.swarm.exec(service, argv, timeout=timeout)


def app_url(deployment: Deployment) -> str:
    """The app's base URL on 127.0.0.1 in its task's namespace: the health port, else its traefik port."""
    health = deployment.app.settings.health
    port = health.probe_port(deployment.config)
    return f"http://127.0.0.1:{port}"


def diagnostics(swarm: Swarm, stack: str) -> list[str]:
    """The app service's image and update status, and its last log lines."""
    service = service_name(stack, "app")
    lines = []
    view = swarm.service(service)
    if view:
        lines.append(f"service {view.name}: image {view.image}")
        lines.append(f"update status: {view.update_status}")
    # An app's log lines are its own text: no escape sequence of theirs reaches a report.
    return [*lines, "last log lines:", inert(swarm.task_logs(service, lines=LOG_LINES))]
