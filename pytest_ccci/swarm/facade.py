"""`Swarm`: the one handle the rest of pytest-ccci holds on the engine, and `connect()` to get it.

A thin facade over the swarm modules (stack CLI, inventory, waiter, execution, archives,
picture, teardown). Services come out as small typed views (inventory.ServiceView, and a stack's
snapshot of them), never as the engine's JSON. Every method is an engine boundary: whatever
docker-py or requests raise leaves it as an InfraError, so no caller needs docker's exception
classes. The UsageError of a missing daemon or CLI and the RecipeError of a recipe the engine
rejects pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import docker
from docker.models.containers import Container

from pytest_ccci.model.app import EXEC_TIMEOUT_SECONDS
from pytest_ccci.model.idempotence import ServiceSnapshot
from pytest_ccci.swarm import archives, execution, helper, images, inventory, networks, picture, story, teardown, waiter
from pytest_ccci.swarm import stack as stack_cli
from pytest_ccci.swarm.connection import API_TIMEOUT_SECONDS, engine_boundary, manager_client, reachable
from pytest_ccci.swarm.convergence import Convergence, ServiceState
from pytest_ccci.swarm.events import EventFeed
from pytest_ccci.swarm.inventory import ServiceView
from pytest_ccci.swarm.waiter import REMOVAL_TIMEOUT_SECONDS


def connect(timeout: float = API_TIMEOUT_SECONDS) -> Swarm:
    """A connected swarm manager, or a UsageError telling how to get one."""
    return Swarm(manager_client(timeout))


class Swarm:
    """The engine of a swarm manager, as pytest-ccci uses it."""

    def __init__(self, client: docker.DockerClient):
        self.client = client
        self.api = client.api

    def reachable(self) -> bool:
        """Whether the engine answers right now (for telling a recipe's failure from the engine's)."""
        return reachable(self.client)

    # -- the stack CLI ---------------------------------------------------------------------------

    @engine_boundary
    def stack_config(self, files: Iterable[Path], cwd: Path) -> dict[str, Any]:
        return stack_cli.stack_config(files, cwd)

    @engine_boundary
    def stack_deploy(self, stack: str, compose_file: Path, cwd: Path) -> None:
        stack_cli.stack_deploy(stack, compose_file, cwd)

    # -- the runner's shared networks ------------------------------------------------------------

    @engine_boundary
    def ensure_networks(self, names: Iterable[str]) -> list[str]:
        """Create the missing ones as the runner's infrastructure (networks.py); those created."""
        return networks.ensure_networks(self.api, names)

    # -- inventory -------------------------------------------------------------------------------

    @engine_boundary
    def ensure_secret(self, name: str, value: str, labels: Mapping[str, str]) -> bool:
        return inventory.ensure_secret(self.api, name, value, labels)

    @engine_boundary
    def services(self, stack: str) -> list[ServiceView]:
        return inventory.service_views(self.api, stack)

    @engine_boundary
    def service(self, name: str) -> ServiceView | None:
        return inventory.service_view(self.api, name)

    @engine_boundary
    def snapshot(self, stack: str) -> dict[str, ServiceSnapshot]:
        """Each service of the stack by name, with the tasks swarm wants running (idempotence)."""
        return inventory.snapshot(self.api, stack)

    @engine_boundary
    def service_labels(self, name: str) -> dict[str, str]:
        return inventory.service_labels(self.api, name)

    @engine_boundary
    def service_state(self, svc: Mapping[str, Any], since: float) -> ServiceState:
        return inventory.service_state(self.api, svc, since)

    @engine_boundary
    def running_task_ids(self, service: str) -> frozenset[str]:
        return inventory.running_task_ids(self.api, service)

    @engine_boundary
    def running_container(self, service: str) -> Container:
        return inventory.running_container(self.client, service)

    @engine_boundary
    def health_log(self, service: str) -> str:
        return inventory.health_log(self.api, service)

    @engine_boundary
    def task_logs(self, service: str, lines: int = 20) -> str:
        return inventory.task_logs(self.api, service, lines)

    # -- waiting ---------------------------------------------------------------------------------

    @engine_boundary
    def events(self, since: float, kinds: tuple[str, ...] = ("service", "container")) -> EventFeed:
        return EventFeed(self.api, since, kinds)

    @engine_boundary
    def wait_converged(
        self,
        stack: str,
        since: float,
        timeout: float,
        max_task_failures: int,
        expect_update: Iterable[str] = (),
        progress: Callable[[str], None] | None = None,
    ) -> Convergence:
        return waiter.wait_converged(self.api, stack, since, timeout, max_task_failures, expect_update, progress)

    @engine_boundary
    def wait_gone(self, stack: str, timeout: float = REMOVAL_TIMEOUT_SECONDS, service_ids: Iterable[str] = ()) -> bool:
        return waiter.wait_gone(self.api, stack, timeout, service_ids)

    # -- exec and archives -----------------------------------------------------------------------

    @engine_boundary
    def exec(self, service: str, cmd: list[str] | str, timeout: float = EXEC_TIMEOUT_SECONDS) -> tuple[int, str]:
        """Run a command inside the service's running task; (exit code, combined output).
        A command ended by its bound, or hung past it, is exit 124 (execution.py)."""
        return execution.execute(self.api, inventory.running_container(self.client, service), cmd, timeout)

    @engine_boundary
    def get_archive(self, service: str, path: str) -> bytes:
        return archives.get_archive(inventory.running_container(self.client, service), service, path)

    @engine_boundary
    def path_kind(self, service: str, path: str) -> str | None:
        """`dir`, `file` or None (missing) for `path` in the service's running task."""
        return archives.path_kind(inventory.running_container(self.client, service), path)

    @engine_boundary
    def put_archive(self, service: str, path: str, data: bytes) -> None:
        archives.put_archive(inventory.running_container(self.client, service), service, path, data)

    # -- images ----------------------------------------------------------------------------------

    @engine_boundary
    def image_present(self, image: str) -> bool:
        return images.image_present(self.api, image)

    @engine_boundary
    def pull(self, image: str, on_event: Callable[[Mapping[str, Any]], None], silence: float | None = None) -> None:
        """Pull `image` (images.py): a RecipeError when the registry does not know it, an
        InfraError when it cannot be reached, stalls (`silence` s) or takes too long;
        `on_event` sees docker's progress stream."""
        images.pull(self.api, image, on_event, silence=silence or images.PULL_SILENCE_SECONDS)

    @engine_boundary
    def run_beside(
        self, service: str, cmd: list[str], labels: Mapping[str, str], timeout: float = EXEC_TIMEOUT_SECONDS
    ) -> tuple[int, str]:
        """Run `cmd` in a helper container sharing the network namespace of the service's running
        task (helper.py); (exit code, output), 124 when its bound ended it."""
        container = inventory.running_container(self.client, service)
        return helper.run_beside(self.client, container, cmd, labels, timeout)

    # -- a picture of the app ----------------------------------------------------------------------

    @engine_boundary
    def picture(
        self,
        stack: str,
        service: str,
        domain: str,
        port: int,
        path: str,
        dest: Path,
        say: Callable[[str], None] | None = None,
    ) -> Path | None:
        """The front page of the stack's service as a PNG at `dest` (picture.py); None, said
        through `say`, when none could be taken."""
        return picture.take_picture(self.client, stack, service, domain, port, path, dest, say)

    # -- a failed tier's story -------------------------------------------------------------------

    @engine_boundary
    def stack_story(self, stack: str) -> list[story.ServiceStory]:
        """Each service of the stack with its bounded log, task history and last update (story.py)."""
        return story.stack_story(self.api, stack)

    # -- teardown and leftovers ------------------------------------------------------------------

    @engine_boundary
    def remove(
        self,
        stack: str,
        label_filter: str,
        timeout: float = REMOVAL_TIMEOUT_SECONDS,
        say: Callable[[str], None] | None = None,
        stopped: teardown.Stopped | None = None,
    ) -> list[str]:
        """Remove the stack and everything labelled; what is left, named. How each service's
        tasks ended goes to `stopped` ({service: StopRecord})."""
        return teardown.remove(self.api, stack, label_filter, timeout, say, stopped)

    @engine_boundary
    def leftovers(self, label_filter: str, stack: str | None = None) -> list[str]:
        return teardown.leftovers(self.api, label_filter, stack)

    @engine_boundary
    def labelled(self, label_key: str, also: str | None = None) -> dict[str, set[str]]:
        return teardown.labelled(self.api, label_key, also)

    @engine_boundary
    def stack_of_domain(self, label_filter: str) -> set[str]:
        return teardown.stack_of_domain(self.api, label_filter)
