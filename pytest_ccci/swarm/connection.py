"""Reaching the Docker engine, and the boundary every engine error crosses on its way out.

`manager_client()` is a docker-py client of a reachable swarm manager, or a UsageError that
says how to get one. `engine_boundary` turns docker-py's and requests' exceptions into the
taxonomy's InfraError (errors.py), so no code outside swarm/ needs docker's exception classes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from pytest_ccci.errors import InfraError, UsageError
from pytest_ccci.model.text import one_line

SETUP_HINT = "run `bash scripts/setup-engine.sh` as root (installs docker.io, starts dockerd, inits the swarm)"
DEFAULT_HOST = "unix:///var/run/docker.sock"
# docker-py's bound on each API request: a busy manager answers well within it, and a daemon
# that stopped answering ends the request (as an InfraError) instead of stalling the run.
API_TIMEOUT_SECONDS = 30.0
# Everything docker-py raises, what requests raises under it when the socket is the problem, and
# what urllib3 raises past requests while a stream is read (an engine that died mid-pull).
ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, urllib3.exceptions.HTTPError)

P = ParamSpec("P")
R = TypeVar("R")


def engine_error(exc: BaseException) -> InfraError:
    """The engine's failure as the taxonomy's InfraError, in one line."""
    if isinstance(exc, requests.exceptions.ConnectionError):
        return InfraError(f"the Docker engine is unreachable: {one_line(exc)}")
    return InfraError(f"docker engine error: {one_line(exc)}")


def engine_boundary(func: Callable[P, R]) -> Callable[P, R]:
    """`func`, with every docker-py or requests exception it raises turned into an InfraError."""

    @functools.wraps(func)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ENGINE_ERRORS as exc:
            raise engine_error(exc) from None

    return guarded


def manager_client(timeout: float = API_TIMEOUT_SECONDS) -> docker.DockerClient:
    """A client of the swarm manager at DOCKER_HOST, or a UsageError telling how to get one."""
    host = os.environ.get("DOCKER_HOST", DEFAULT_HOST)
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
        info = client.info()
    except ENGINE_ERRORS as exc:
        raise UsageError(f"no Docker daemon reachable at {host}: {SETUP_HINT}") from exc
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        raise UsageError(
            f"the Docker daemon at {host} is not a swarm manager (state: {swarm.get('LocalNodeState')}): "
            "run `docker swarm init --advertise-addr 127.0.0.1` or " + SETUP_HINT
        )
    return client


def reachable(client: docker.DockerClient | docker.APIClient) -> bool:
    """Whether the engine answers a ping right now."""
    try:
        return bool(client.ping())
    except ENGINE_ERRORS:
        return False
