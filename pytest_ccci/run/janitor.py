"""The janitor: at session start, remove what earlier runs left on the swarm.

Only resources guarded by this run's lock dir, and whose app-domain lock is free, are touched:
a lock that is held means a live run (in another process or on another worker) still owns them.

A task's container that outlived its service (a task ignoring SIGTERM, a teardown that was
killed) carries none of the run's labels, only swarm's stack namespace label: it is traced to
its app domain through this lock dir's app locks (a lock file whose domain names that stack),
and reaped with the rest of that domain, under its lock, as anything else is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from pytest_ccci.model.naming import LABEL_DOMAIN, LABEL_LOCKS, stack_name
from pytest_ccci.run.context import RunContext
from pytest_ccci.run.locks import app_lock_path, release, try_acquire
from pytest_ccci.swarm.stack import STACK_LABEL


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
    for domain, things in sorted(found.items()):
        lock = try_acquire(app_lock_path(runtime.lock_dir, domain))
        if lock is None:
            continue  # in use by a live run
        try:
            stacks = swarm.stack_of_domain(f"{LABEL_DOMAIN}={domain}") or {stack_name(domain)}
            for stack in stacks:
                swarm.remove(stack, f"{LABEL_DOMAIN}={domain}")
            reaped += sorted(things)
        finally:
            release(lock)
    return reaped


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
