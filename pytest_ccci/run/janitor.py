"""The janitor: at session start, remove what earlier runs left on the swarm.

Only resources guarded by this run's lock dir, and whose app-domain lock is free, are touched:
a lock that is held means a live run (in another process or on another worker) still owns them.

A task's container that outlived its service (a task ignoring SIGTERM, a teardown that was
killed) carries none of the run's labels, only swarm's stack namespace label: it is traced to
its app domain through this lock dir's app locks (a lock file whose domain names that stack),
and reaped with the rest of that domain, under its lock, as anything else is.

A kept app (--ccci-keep-failed: a marker beside its free lock, run/locks.py) is left alone until
its deadline, and reaped after it, its marker with it (a marker whose app is already gone goes too).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ccci.documents.kept import expired
from pytest_ccci.model.naming import LABEL_DOMAIN, LABEL_LOCKS, stack_name
from pytest_ccci.run.context import RunContext
from pytest_ccci.run.locks import app_lock_path, kept_marker_path, read_kept_marker, release, try_acquire
from pytest_ccci.swarm.stack import STACK_LABEL

if TYPE_CHECKING:
    from pytest_ccci.swarm.facade import Swarm


def reap(runtime: RunContext) -> list[str]:
    """Remove the leftovers of every app domain whose lock is free; return what was removed."""
    swarm = runtime.swarm
    reaped: list[str] = []
    # Only what this lock dir guards: a lock that is free here says nothing of another lock dir.
    guarded = f"{LABEL_LOCKS}={runtime.lock_dir}"
    found = swarm.labelled(LABEL_DOMAIN, also=guarded)
    orphans = orphaned_containers(swarm.labelled(STACK_LABEL), known_domains(runtime.lock_dir))
    for domain, things in orphans.items():
        found.setdefault(domain, set()).update(things)
    for domain in sorted(set(found) | set(kept_domains(runtime.lock_dir))):
        lock_path = app_lock_path(runtime.lock_dir, domain)
        lock = try_acquire(lock_path)
        if lock is None:
            continue  # in use by a live run
        try:
            kept = read_kept_marker(lock_path)
            if kept is not None and not expired(kept, time.time()):
                continue  # kept for a maintainer until its deadline
            if domain in found:
                remove_domain(swarm, domain)
                reaped += sorted(found[domain])
            kept_marker_path(lock_path).unlink(missing_ok=True)
        finally:
            release(lock)
    return reaped


def remove_domain(swarm: Swarm, domain: str) -> list[str]:
    """Remove every stack of the app domain and everything labelled with it; what is left.
    The caller holds the domain's lock."""
    label = f"{LABEL_DOMAIN}={domain}"
    left: list[str] = []
    for stack in sorted(swarm.stack_of_domain(label) or {stack_name(domain)}):
        left += swarm.remove(stack, label)
    return left


def kept_domains(lock_dir: Path) -> list[str]:
    """The app domains this lock dir has a kept-app marker for."""
    if not lock_dir.is_dir():
        return []
    names = (p.name.removeprefix("app-").removesuffix(".kept.json") for p in lock_dir.glob("app-*.kept.json"))
    return sorted(d for d in names if d and kept_marker_path(app_lock_path(lock_dir, d)).is_file())


def known_domains(lock_dir: Path) -> list[str]:
    """The app domains this lock dir has a lock file for (held or not)."""
    if not lock_dir.is_dir():
        return []
    # app_lock_path names them `app-<domain>.lock`: read back, and kept only if it names them so.
    candidates = (p.name.removeprefix("app-").removesuffix(".lock") for p in lock_dir.glob("app-*.lock"))
    return sorted(d for d in candidates if d and app_lock_path(lock_dir, d).is_file())


def orphaned_containers(by_stack: Mapping[str, set[str]], domains: Iterable[str]) -> dict[str, set[str]]:
    """Domain -> the containers of its stack, for each stack with containers and no service left
    (what carries the stack label, by stack, as Swarm.labelled gives it). Only containers: a
    stack being deployed has networks, secrets and configs before its services, never a
    container before its service."""
    found: dict[str, set[str]] = {}
    for domain in domains:
        things = by_stack.get(stack_name(domain), set())
        containers = {t for t in things if t.startswith("container ")}
        if containers and not any(t.startswith("service ") for t in things):
            found[domain] = containers
    return found
