"""The swarm facade is the engine boundary: docker-py's and requests' exceptions leave it as
InfraError, the taxonomy's own errors pass through unchanged."""

from __future__ import annotations

import inspect
import types

import docker.errors
import pytest
import requests.exceptions

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.swarm.connection import engine_boundary
from pytest_ccci.swarm.facade import Swarm


class FailingApi:
    """Every API call fails the way `error` says."""

    def __init__(self, error: Exception):
        self.error = error

    def __getattr__(self, name):
        def call(*args, **kwargs):
            raise self.error

        return call


def swarm_failing_with(error: Exception) -> Swarm:
    return Swarm(
        types.SimpleNamespace(api=FailingApi(error), containers=FailingApi(error), ping=FailingApi(error).ping)
    )


def test_every_engine_method_of_the_facade_is_a_boundary():
    unguarded = [
        name
        for name, method in inspect.getmembers(Swarm, inspect.isfunction)
        if not name.startswith("_") and name != "reachable" and not hasattr(method, "__wrapped__")
    ]
    assert unguarded == []


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            requests.exceptions.ConnectionError("Connection aborted."),
            "the Docker engine is unreachable: Connection aborted.",
        ),
        (requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"), "docker engine error: Read timed out."),
        (
            docker.errors.APIError("500 Server Error: rpc error:\n update out of sequence"),
            "docker engine error: 500 Server",
        ),
        (docker.errors.DockerException("Error while fetching server API version"), "docker engine error: Error while"),
    ],
)
def test_engine_errors_leave_the_facade_as_one_line_infra_errors(error, said):
    swarm = swarm_failing_with(error)
    for call in (
        lambda: swarm.services("st"),
        lambda: swarm.ensure_secret("st_pw_v1", "x", {}),
        lambda: swarm.leftovers("ccci.domain=d", "st"),
        lambda: swarm.exec("st_app", "true"),
        lambda: swarm.wait_converged("st", 0.0, 1.0, 3),
    ):
        with pytest.raises(InfraError) as caught:
            call()
        assert str(caught.value).startswith(said)
        assert "\n" not in str(caught.value)


def test_the_taxonomys_own_errors_pass_the_boundary_unchanged():
    @engine_boundary
    def no_running_task():
        raise RecipeError("service st_app has no running task")

    with pytest.raises(RecipeError, match="no running task"):
        no_running_task()


def test_a_service_without_a_running_task_is_the_recipes_error():
    class Api:
        def tasks(self, filters):
            if "desired-state" in filters:
                return []
            return [{"Status": {"State": "failed", "Err": "task: non-zero exit (3)", "Timestamp": "2024"}}]

    swarm = Swarm(types.SimpleNamespace(api=Api()))
    with pytest.raises(RecipeError, match=r"st_app has no running task: last task failed: task: non-zero exit \(3\)"):
        swarm.running_container("st_app")


def test_reachable_is_false_when_the_engine_does_not_answer():
    assert swarm_failing_with(requests.exceptions.ConnectionError("refused")).reachable() is False
    assert Swarm(types.SimpleNamespace(api=None, ping=lambda: True)).reachable() is True
