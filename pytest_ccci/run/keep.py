"""Keeping a failed app (--ccci-keep-failed): the recipe's stack stays deployed, its app domain
held past the run by a marker beside its lock (run/locks.py, documents/kept.py) until a
deadline, and the run says how to reach it and how to release it.

`keep_app` writes the marker (the caller then frees the lock: the marker holds the domain);
`instructions` are the lines the run prints once per kept app; `release_domain` is
`pytest-ccci release <domain>`: the domain's stacks torn down (judged by what is left, as the
janitor does), then the marker removed.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ccci.documents.kept import deadline_after
from pytest_ccci.documents.results import KeptApp
from pytest_ccci.errors import InfraError, UsageError
from pytest_ccci.model.app import App
from pytest_ccci.model.naming import SERVICE_NAME_LABEL
from pytest_ccci.run.context import RunContext
from pytest_ccci.run.locks import (
    DEFAULT_LOCK_DIR,
    app_lock_path,
    kept_marker_path,
    read_holder,
    read_kept_marker,
    release,
    try_acquire,
    write_kept_marker,
)

if TYPE_CHECKING:  # the engine (docker-py) is imported on first use
    from pytest_ccci.swarm.facade import Swarm


def keep_app(ctx: RunContext, app: App, stacks: Iterable[str], hours: float) -> KeptApp:
    """Mark the app kept for `hours` (the caller holds its lock, and frees it next)."""
    services: list[str] = []
    for stack in sorted(stacks):
        try:
            services += sorted(view.name for view in ctx.swarm.services(stack))
        except InfraError:
            services.append(f"{stack}_{app.settings.health.service}")  # the instructions name the app's, at least
    lock_path = app_lock_path(ctx.lock_dir, app.domain)
    kept = KeptApp(app.domain, app.stack, deadline_after(time.time(), hours), ctx.run_id, services)
    marker = write_kept_marker(lock_path, kept)
    return KeptApp(kept.domain, kept.stack, kept.deadline, kept.run_id, kept.services, str(marker))


def instructions(kept: KeptApp, lock_dir: Path) -> list[str]:
    """How to reach the kept app and how to release it: commands that work as printed."""
    lines = [f"{kept.domain} kept deployed until {kept.deadline} (--ccci-keep-failed), held by {kept.marker}"]
    for service in kept.services:
        container = f"$(docker ps -q --filter label={SERVICE_NAME_LABEL}={shlex.quote(service)} | head -n 1)"
        lines.append(f"  logs of {service}:  docker service logs --timestamps {shlex.quote(service)}")
        lines.append(f"  a shell in {service}:  docker exec -it {container} sh")
    lock_option = "" if lock_dir == DEFAULT_LOCK_DIR else f" --lock-dir {shlex.quote(str(lock_dir))}"
    lines.append(f"  release it:  pytest-ccci release{lock_option} {shlex.quote(kept.domain)}")
    return lines


def release_domain(connect: Callable[[], Swarm], lock_dir: Path, domain: str) -> list[str]:
    """Tear down the kept app of `domain` (on the swarm `connect` gives, once the domain is known
    to be kept) and remove its marker; what is left on the swarm. UsageError (one line) for a
    domain with no marker, or whose lock a live run holds."""
    from pytest_ccci.run.janitor import remove_domain

    lock_path = app_lock_path(lock_dir, domain)
    if read_kept_marker(lock_path) is None:
        raise UsageError(f"no kept app {domain!r}: no marker {kept_marker_path(lock_path)}")
    lock = try_acquire(lock_path)
    if lock is None:
        holder = read_holder(lock_path)
        raise UsageError(f"{domain} is in use by {holder.describe() if holder else 'another process'}: try again later")
    try:
        left = remove_domain(connect(), domain)
        if not left:
            kept_marker_path(lock_path).unlink(missing_ok=True)
        return left
    finally:
        release(lock)
