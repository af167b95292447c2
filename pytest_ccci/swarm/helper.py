"""A short-lived helper container inside a running task's network namespace.

The HTTP probe runs here rather than in the app's own image, which may have no shell, no wget
and no curl (distroless, scratch-based binaries). The helper runs the project's probe image
(`ccci/probe:1`, tagged by scripts/setup-engine.sh) with `network_mode: container:<task's
container>`, so it talks to the app on 127.0.0.1 and nothing leaves the task's namespace:
no container or overlay address is ever dialled from the host.

The helper carries the app's run labels (ccci.domain, ccci.locks, ccci.run) like everything else
of the app: teardown and the janitor remove one that was left behind. It is removed as soon
as its command ended, or was ended by its bound.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.images import PROBE_IMAGE, RUNNER_IMAGES, runner_image
from pytest_ccci.swarm.execution import TIMED_OUT, ended_by_timeout

# The runner's own images are model/images.py's (pure: the deploy policy refuses them too);
# the pull code and the probe import them from here too.
__all__ = ["PROBE_IMAGE", "RUNNER_IMAGES", "run_beside", "runner_image"]

# Past the command's own bound, how long the engine has to report it ended.
WAIT_GRACE_SECONDS = 10.0
# What the engine answers a helper joining a container that is no longer running.
CONFLICT, NOT_RUNNING = 409, "cannot join network of a non running container"


def run_beside(
    client: docker.DockerClient,
    container: Container,
    cmd: list[str],
    labels: Mapping[str, str],
    timeout: float,
    image: str = PROBE_IMAGE,
) -> tuple[int, str]:
    """Run `cmd` in a helper sharing `container`'s network namespace: (exit code, output).
    Bounded by `timeout` inside (busybox `timeout`) and from here; a helper that its bound ended,
    or that ran past it, is exit 124 "timed out after Ns". `container` stopped before the helper
    could join it: RecipeError. An engine that fails meanwhile raises (the facade makes it an
    InfraError). Removed afterwards, whatever happened."""
    bound = max(1, int(timeout))
    helper = client.containers.create(
        image,
        # sh stays PID 1 with `timeout` below it (the `exit` keeps sh from exec'ing it): busybox's
        # timeout execs the command in its own process, and a PID 1 ignores the TERM it sends.
        ["sh", "-c", 'timeout "$0" "$@"; exit $?', str(bound), *cmd],
        network_mode=f"container:{container.id}",
        labels=dict(labels),
        detach=True,
    )
    try:
        started = time.monotonic()  # before start: a command the bound ended never reads as early
        _start_beside(helper, container)
        return _wait(helper, timeout, bound, started)
    finally:
        _remove(helper)


def _start_beside(helper: Container, container: Container) -> None:
    """Start the helper; the app's container having stopped meanwhile (a task that crashed, or was
    replaced, between being found and the helper joining it) is the app's doing, not the engine's."""
    try:
        helper.start()
    except docker.errors.APIError as exc:
        if exc.status_code == CONFLICT and NOT_RUNNING in str(exc.explanation or ""):
            raise RecipeError(
                f"container {container.name} stopped before a probe could start in its network: its task is not running"
            ) from None
        raise


def _wait(helper: Container, timeout: float, bound: int, started: float) -> tuple[int, str]:
    wait_bound = timeout + WAIT_GRACE_SECONDS
    try:
        code = int(helper.wait(timeout=wait_bound).get("StatusCode", -1))
    except requests.exceptions.ReadTimeout:  # the wait's own bound: the helper ran past it
        return TIMED_OUT, f"timed out after {timeout:.0f}s"
    except requests.exceptions.ConnectionError:
        # requests reports a read timeout in the response body as a ConnectionError: one at the
        # wait's own bound is the helper running past it; one before it is the engine failing.
        if time.monotonic() - started >= wait_bound:
            return TIMED_OUT, f"timed out after {timeout:.0f}s"
        raise
    elapsed = time.monotonic() - started
    out = helper.logs(stdout=True, stderr=True).decode(errors="replace")
    if ended_by_timeout(code, elapsed, bound):  # busybox `timeout` ends the command with TERM: 143
        return TIMED_OUT, f"timed out after {timeout:.0f}s" + (f": {out.strip()}" if out.strip() else "")
    return code, out


def _remove(helper: Container) -> None:
    try:
        helper.remove(force=True)
    except docker.errors.NotFound:
        pass
