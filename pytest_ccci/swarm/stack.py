"""`docker stack config` and `docker stack deploy`: the two things the engine API cannot do,
run through the docker CLI.

The recipe's env replaces the caller's for both, so nothing from the CI host leaks into
interpolation. A compose file the CLI rejects is the recipe's error; the engine's own trouble
(unreachable, out of sequence, deadline exceeded) is an InfraError: unverified, not failed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from pytest_ccci.errors import InfraError, RecipeError, UsageError
from pytest_ccci.model.text import one_line
from pytest_ccci.swarm.connection import SETUP_HINT

# The label `docker stack deploy` puts on everything it creates.
STACK_LABEL = "com.docker.stack.namespace"
# What the CLI says when the engine, not the compose file, is the problem.
ENGINE_TROUBLE = (
    "Cannot connect to the Docker daemon",
    "error during connect",
    "code = Unavailable",
    "update out of sequence",
    "context deadline exceeded",
    "connection refused",
)
# A deploy of a big recipe creates dozens of objects through the manager's raft log, slowly on a
# loaded host, but never for minutes: past this the CLI hangs on a daemon that stopped answering,
# and the run must not hang with it.
CLI_TIMEOUT_SECONDS = 300
# What the CLI still needs from the caller's env to find its daemon and its config.
CLI_ENV = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")


def stack_config(files: Iterable[Path], env: Mapping[str, str], cwd: Path) -> dict[str, Any]:
    """Merged, interpolated compose config, exactly as `docker stack deploy` would read it."""
    args = ["docker", "stack", "config"]
    for f in files:
        args += ["-c", str(f)]
    proc = run_cli(args, env=env, cwd=cwd)
    if proc.returncode != 0:
        raise RecipeError(f"compose files of {cwd.name} rejected: {one_line(proc.stderr or proc.stdout)}")
    return yaml.safe_load(proc.stdout) or {}


def stack_deploy(stack: str, compose_file: Path, cwd: Path) -> None:
    """Deploy (or update) the stack from one compose file, pruning services it no longer has."""
    # --resolve-image never: local images, and no registry is asked for digests.
    args = ["docker", "stack", "deploy", "--resolve-image", "never", "--prune", "-c", str(compose_file), stack]
    proc = run_cli(args, env={}, cwd=cwd)
    if proc.returncode != 0:
        said = one_line(proc.stderr or proc.stdout)
        kind = InfraError if any(p in said for p in ENGINE_TROUBLE) else RecipeError
        raise kind(f"docker stack deploy {stack} failed: {said}")


def run_cli(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The docker CLI with `env` as its whole environment (plus CLI_ENV), bounded in time."""
    keep = {k: v for k, v in os.environ.items() if k in CLI_ENV}
    try:
        return subprocess.run(
            args, env={**keep, **env}, cwd=cwd, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS
        )
    except FileNotFoundError:
        raise UsageError(f"the docker CLI is not installed: {SETUP_HINT}") from None
    except subprocess.TimeoutExpired:
        raise InfraError(f"{' '.join(args[:3])} did not finish within {CLI_TIMEOUT_SECONDS}s") from None
