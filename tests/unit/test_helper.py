"""The probe helper's wait (swarm/helper.py) on a fake engine: exit 143 is a timeout only when the
bound ended the command, and an engine failing mid-probe is the engine's fault (InfraError at the
facade), never a probe that "timed out"."""

from __future__ import annotations

import time
import types

import docker.errors
import pytest
import requests.exceptions

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.swarm import helper, inventory
from pytest_ccci.swarm.execution import TIMED_OUT
from pytest_ccci.swarm.facade import Swarm


class FakeHelper:
    """A helper container whose command `ends` after `seconds` with `code`, or whose wait raises."""

    def __init__(self, code: int = 0, seconds: float = 0.0, output: bytes = b"", raises: Exception | None = None):
        self.code, self.seconds, self.output, self.raises = code, seconds, output, raises
        self.removed = False

    def start(self):
        pass

    def wait(self, timeout):
        time.sleep(self.seconds)
        if self.raises is not None:
            raise self.raises
        return {"StatusCode": self.code}

    def logs(self, stdout, stderr):
        return self.output

    def remove(self, force):
        self.removed = True


def client_of(fake: FakeHelper):
    return types.SimpleNamespace(containers=types.SimpleNamespace(create=lambda *args, **kwargs: fake), api=None)


def run(fake: FakeHelper, timeout: float = 5.0) -> tuple[int, str]:
    task = types.SimpleNamespace(id="task0")
    return helper.run_beside(client_of(fake), task, ["wget", "http://127.0.0.1/"], {}, timeout)  # type: ignore[arg-type]


def test_an_early_exit_143_is_the_commands_own_exit_code():
    fake = FakeHelper(code=143, output=b"Terminated by the app itself\n")
    assert run(fake) == (143, "Terminated by the app itself\n")
    assert fake.removed


def test_exit_143_at_the_bound_is_the_bound_ending_the_command():
    fake = FakeHelper(code=143, seconds=1.05, output=b"partial\n")
    assert run(fake, timeout=1) == (TIMED_OUT, "timed out after 1s: partial")


def test_a_wait_that_reached_its_own_bound_is_a_timeout(monkeypatch):
    monkeypatch.setattr(helper, "WAIT_GRACE_SECONDS", 0.0)
    # requests says a read timeout in the response body as a ConnectionError ("Read timed out.")
    fake = FakeHelper(seconds=1.05, raises=requests.exceptions.ConnectionError("Read timed out."))
    assert run(fake, timeout=1) == (TIMED_OUT, "timed out after 1s")
    assert fake.removed


def test_an_engine_failing_mid_probe_is_raised_not_a_timeout():
    fake = FakeHelper(raises=requests.exceptions.ConnectionError("Connection aborted."))
    with pytest.raises(requests.exceptions.ConnectionError):
        run(fake)
    assert fake.removed


def test_the_facade_says_an_engine_failing_mid_probe_as_infra(monkeypatch):
    fake = FakeHelper(raises=requests.exceptions.ConnectionError("Connection aborted."))
    monkeypatch.setattr(inventory, "running_container", lambda client, service: types.SimpleNamespace(id="task0"))
    swarm = Swarm(client_of(fake))  # type: ignore[arg-type]
    with pytest.raises(InfraError, match="the Docker engine is unreachable: Connection aborted."):
        swarm.run_beside("hell_x_app", ["wget", "http://127.0.0.1/"], {}, timeout=5)


class StoppedApp(FakeHelper):
    """A helper whose start finds the app's container stopped (409 from the engine), or failing otherwise."""

    def __init__(self, status: int, explanation: str):
        super().__init__()
        self.error = docker.errors.APIError(
            "start",
            response=types.SimpleNamespace(status_code=status, url="http://e/start", reason="Conflict"),
            explanation=explanation,
        )  # type: ignore[arg-type]

    def start(self):
        raise self.error


def test_an_app_container_that_stopped_before_the_helper_joined_it_is_the_apps_doing():
    fake = StoppedApp(409, "cannot join network of a non running container: e7ba0f1e9585")
    task = types.SimpleNamespace(id="task0", name="hello_app.1.x")
    with pytest.raises(RecipeError, match="container hello_app.1.x stopped before a probe could start"):
        helper.run_beside(client_of(fake), task, ["wget", "http://127.0.0.1/"], {}, 5.0)  # type: ignore[arg-type]
    assert fake.removed
    other = StoppedApp(409, "some other conflict")
    with pytest.raises(docker.errors.APIError):  # the engine's: InfraError at the facade
        helper.run_beside(client_of(other), task, ["true"], {}, 5.0)  # type: ignore[arg-type]
