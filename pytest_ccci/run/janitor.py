"""The janitor: at session start, remove what earlier runs left on the swarm.

Only resources guarded by this run's lock dir, and whose app-domain lock is free, are touched:
a lock that is held means a live run (in another process or on another worker) still owns them.
"""

from __future__ import annotations

from pytest_ccci.model.naming import LABEL_DOMAIN, LABEL_LOCKS, stack_name
from pytest_ccci.run.context import RunContext
from pytest_ccci.run.locks import app_lock_path, release, try_acquire


def reap(runtime: RunContext) -> list[str]:
    """Remove the leftovers of every app domain whose lock is free; return what was removed."""
    swarm = runtime.swarm
    reaped: list[str] = []
    # Only what this lock dir guards: a lock that is free here says nothing of another lock dir.
    guarded = f"{LABEL_LOCKS}={runtime.lock_dir}"
    for domain, things in sorted(swarm.labelled(LABEL_DOMAIN, also=guarded).items()):
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
