"""The swarm layer on the real swarm: the waiter's verdicts come from this deploy's own events,
and a bounded exec tells a timeout from an exit code and stops a hung command through the engine."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pytest_ccci.model.app import DeployMode
from pytest_ccci.swarm.convergence import docker_timestamp
from pytest_ccci.swarm.execution import HUNG_GRACE_SECONDS, KILL_GRACE_SECONDS
from pytest_ccci.swarm.facade import Swarm
from pytest_ccci.swarm.stack import STACK_LABEL

IMAGE = "ccci/busybox:1.35.0"  # built offline by scripts/setup-engine.sh
TEST_LABEL = "ccci.engine-test"


def test_back_to_back_redeploys_wait_for_their_own_update(direct_hello, swarm):
    """A redeploy right after another update completed must not take that `completed` for its own."""
    backend, app = direct_hello.backend, direct_hello.app
    assert backend.deploy(app, direct_hello.base, DeployMode.RELEASE).convergence.ok
    first = backend.deploy(app, direct_hello.head, DeployMode.CHAOS)
    assert first.convergence.ok, first.convergence.reason
    started = time.time()
    second = backend.deploy(app, direct_hello.base, DeployMode.RELEASE)  # within a second of the first `completed`
    assert second.convergence.ok, second.convergence.reason
    view = swarm.service(second.app_service)
    status = view.update_status if view else None
    assert status is not None
    assert status["State"] == "completed"
    assert docker_timestamp(status["StartedAt"]) >= started, "returned on an update that started before this deploy"
    assert "completed" in second.convergence.update_states.get(second.app_service, [])
    assert backend.read_stamp(second)["version"] == "0.2.0+1.35.0"


# -- exec, on a bare busybox service of the test's own -------------------------------------------


@dataclass
class Sleeper:
    """A one-replica busybox service that only sleeps: a running task to exec in."""

    swarm: Swarm
    stack: str
    service: str

    def processes(self) -> str:
        code, out = self.swarm.exec(self.service, ["ps"], timeout=10)
        assert code == 0, out
        return out


def start_sleeper(swarm: Swarm, read_only: bool = False) -> Iterator[Sleeper]:
    token = secrets.token_hex(3)
    stack = f"ccci-engine-{token}"
    service = f"{stack}_app"
    labels = {STACK_LABEL: stack, TEST_LABEL: token}
    since = time.time()
    swarm.client.services.create(
        IMAGE, ["sleep", "3600"], name=service, labels=labels, container_labels=labels, read_only=read_only
    )
    try:
        converged = swarm.wait_converged(stack, since, timeout=60, max_task_failures=2)
        assert converged.ok, converged.reason
        yield Sleeper(swarm, stack, service)
    finally:
        left = swarm.remove(stack, f"{TEST_LABEL}={token}")
    assert not left, f"left on the swarm: {left}"


@pytest.fixture(scope="module")
def sleeper(swarm) -> Iterator[Sleeper]:
    yield from start_sleeper(swarm)


@pytest.fixture
def read_only_sleeper(swarm) -> Iterator[Sleeper]:
    yield from start_sleeper(swarm, read_only=True)


def test_exec_returns_the_commands_exit_code_and_output(sleeper):
    code, out = sleeper.swarm.exec(sleeper.service, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert code == 3 and sorted(out.splitlines()) == ["err", "out"]  # two streams: either may come first
    assert sleeper.swarm.exec(sleeper.service, "echo $((6 * 7))") == (0, "42\n")


def test_an_app_exiting_143_on_its_own_is_exit_143_not_a_timeout(sleeper):
    assert sleeper.swarm.exec(sleeper.service, "echo stopping; exit 143", timeout=30) == (143, "stopping\n")


def test_a_command_still_running_at_its_bound_times_out(sleeper):
    started = time.monotonic()
    assert sleeper.swarm.exec(sleeper.service, ["sleep", "300"], timeout=2) == (124, "timed out after 2s")
    assert 2 <= time.monotonic() - started < 2 + HUNG_GRACE_SECONDS
    assert "sleep 300" not in sleeper.processes()


def test_a_hung_command_is_killed_inside_its_container(sleeper):
    """A command that ignores the bound's TERM hangs past it; the kill reaches its whole process
    group through a second exec in the container, and the container itself is left alone."""
    container = sleeper.swarm.running_container(sleeper.service).id
    started = time.monotonic()
    result = sleeper.swarm.exec(sleeper.service, "trap '' TERM; sleep 400; echo never", timeout=1)
    elapsed = time.monotonic() - started
    assert result == (124, "timed out after 1s")
    assert 1 + HUNG_GRACE_SECONDS <= elapsed < 1 + HUNG_GRACE_SECONDS + KILL_GRACE_SECONDS
    assert "sleep 400" not in sleeper.processes()
    # The one pid file left is the listing's own.
    code, listed = sleeper.swarm.exec(sleeper.service, "ls -a /tmp")
    assert code == 0 and len([f for f in listed.split() if f.startswith(".ccci-exec-")]) == 1, listed
    assert sleeper.swarm.running_container(sleeper.service).id == container


def test_a_hung_command_that_cannot_be_killed_inside_kills_its_container_and_says_so(read_only_sleeper):
    """A read-only root file system leaves nowhere to record the command's pid: the container
    goes instead, and the result says so."""
    swarm, service = read_only_sleeper.swarm, read_only_sleeper.service
    container = swarm.running_container(service)
    code, said = swarm.exec(service, "trap '' TERM; sleep 400", timeout=1)
    assert code == 124
    assert said == (
        f"timed out after 1s; it could not be stopped inside container {container.short_id}, "
        "so the container was killed"
    )
    container.reload()
    assert container.status != "running"
