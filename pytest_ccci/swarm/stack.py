"""`docker stack config` and `docker stack deploy`: the two things the engine API cannot do,
run through the docker CLI.

The CLI runs with the runner's own environment only, never a recipe's: a recipe's compose files
reach it already interpolated (run/view.py), so no value or name of a recipe's env can steer
the CLI process (its loader, the engine it talks to, its proxy, its TLS roots), and nothing from
the CI host leaks into interpolation (every `$` left in the files is escaped). The engine host
is always passed as a flag.

A compose file the CLI rejects is the recipe's error; the engine's own trouble (unreachable, out
of sequence, deadline exceeded) is an InfraError: unverified, not failed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from pytest_ccci.errors import InfraError, RecipeError, UsageError
from pytest_ccci.model.text import one_line
from pytest_ccci.swarm.connection import DEFAULT_HOST, SETUP_HINT

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
# What docker says when a deploy changes the content of a config (or secret) that keeps its
# name: swarm configs are immutable, only their labels may change.
IMMUTABLE_UPDATE = re.compile(r"failed to update (config|secret) (\S+?): .*?(only updates to Labels are allowed)")
# A deploy of a big recipe creates dozens of objects through the manager's raft log, slowly on a
# loaded host, but never for minutes: past this the CLI hangs on a daemon that stopped answering,
# and the run must not hang with it.
CLI_TIMEOUT_SECONDS = 300
# Lines the CLI prints while it works, before any error.
CLI_PROGRESS = ("Creating ", "Updating ", "Removing ", "Ignoring ", "Since --detach")
# What the CLI still needs from the caller's env to find its daemon and its config. DOCKER_CONTEXT
# is not among them: the CLI gets --host, the engine docker-py talks to (DOCKER_HOST or the default).
CLI_ENV = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")


def stack_config(files: Iterable[Path], cwd: Path) -> dict[str, Any]:
    """The merged compose config, exactly as `docker stack deploy` would read it. The files come
    interpolated: the CLI sees no recipe env (run/view.py)."""
    args = ["docker", "stack", "config"]
    for f in files:
        args += ["-c", str(f)]
    proc = run_cli(args, cwd=cwd)
    if proc.returncode != 0:
        raise RecipeError(one_line(proc.stderr or proc.stdout))
    return yaml.safe_load(proc.stdout) or {}


def stack_deploy(stack: str, compose_file: Path, cwd: Path) -> None:
    """Deploy (or update) the stack from one compose file, pruning services it no longer has."""
    # --resolve-image never: local images, and no registry is asked for digests.
    args = ["docker", "stack", "deploy", "--resolve-image", "never", "--prune", "-c", str(compose_file), stack]
    proc = run_cli(args, cwd=cwd)
    if proc.returncode != 0:
        said = cli_error(proc.stderr or proc.stdout)
        drift = immutable_update(said, _compose_names(compose_file, stack))
        if drift:
            raise RecipeError(f"docker stack deploy {stack} failed: {drift}")
        kind = InfraError if any(p in said for p in ENGINE_TROUBLE) else RecipeError
        raise kind(f"docker stack deploy {stack} failed: {said}")


def cli_error(text: str) -> str:
    """What the CLI said went wrong, on one line: its progress lines ("Creating service ...",
    "Updating service ...") dropped, so the error itself is not cut off behind them."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(CLI_PROGRESS)]
    return one_line("\n".join(lines) or text)


def immutable_update(said: str, names: Mapping[str, Mapping[str, str]]) -> str | None:
    """The verdict on a deploy that changed a config's (or secret's) content under the same swarm
    name, from docker's words and {kind: {swarm name: compose key}}; None for any other failure."""
    found = IMMUTABLE_UPDATE.search(said)
    if not found:
        return None
    kind, swarm_name, words = found.groups()
    key = names.get(kind + "s", {}).get(swarm_name)
    which = f"{kind} {key} (swarm name {swarm_name})" if key else f"{kind} {swarm_name}"
    return (
        f"{which} changed its content but kept its name; docker: {words!r}. "
        f"Give it a new name when its content changes (bump its version, e.g. in abra.sh)"
    )


def _compose_names(compose_file: Path, stack: str) -> dict[str, dict[str, str]]:
    """{"configs"|"secrets": {swarm name: compose key}} of the compose file being deployed."""
    try:
        config = yaml.safe_load(compose_file.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return {kind: swarm_names(config, kind, stack) for kind in ("configs", "secrets")}


def swarm_names(config: Mapping[str, Any], kind: str, stack: str) -> dict[str, str]:
    """{swarm name: compose key} of a compose config's top-level configs or secrets; a stack
    deploy names an unnamed one `<stack>_<key>`."""
    return {
        str((spec or {}).get("name") or f"{stack}_{key}"): str(key) for key, spec in (config.get(kind) or {}).items()
    }


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The docker CLI with what it needs of the runner's environment (CLI_ENV) and nothing else,
    bounded in time."""
    keep = {k: v for k, v in os.environ.items() if k in CLI_ENV}
    # The CLI interpolates compose files with its environment: the runner's variables must not
    # reach a recipe. So the CLI gets them as flags (and PATH as its binary's path), not as env.
    home, path = keep.pop("HOME", None), keep.pop("PATH", None)
    config = keep.pop("DOCKER_CONFIG", None) or (os.path.join(home, ".docker") if home else None)
    # The engine docker-py talks to, always explicit: never one the CLI's config or env picks.
    flags = [*(["--config", config] if config else []), "--host", keep.pop("DOCKER_HOST", DEFAULT_HOST)]
    args = [shutil.which(args[0], path=path) or args[0], *flags, *args[1:]]
    try:
        return subprocess.run(args, env=keep, cwd=cwd, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS)
    except FileNotFoundError:
        raise UsageError(f"the docker CLI is not installed: {SETUP_HINT}") from None
    except subprocess.TimeoutExpired:
        raise InfraError(f"{' '.join(args[:3])} did not finish within {CLI_TIMEOUT_SECONDS}s") from None
