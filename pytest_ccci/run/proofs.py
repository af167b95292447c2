"""The data proofs of the upgrade and restore tiers: known data seeded into an app and found
again, and the restore procedure (seed, back up, damage, restore, probe).

The seed goes where the settings say (`seed:`), else into every path backupbot backs up of
the service the settings name, else of the first service it backs up (often `db`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.backupbot import ServiceBackup
from pytest_ccci.model.naming import service_name
from pytest_ccci.model.settings import Seed

if TYPE_CHECKING:  # annotations only: collection must not import docker-py
    from pytest_ccci.run.backend import SwarmBackend
    from pytest_ccci.run.deploy import Deployment

# What a restore must overwrite: if it is still there afterwards, the restore did nothing.
DAMAGE = b"damaged by ccci before restore\n"


@dataclass
class Seeded:
    """Marker files written into one service of the app."""

    service: str  # the recipe's service name, e.g. "app" or "db"
    files: dict[str, bytes] = field(default_factory=dict)  # container path → marker content


@dataclass
class RestoreRun:
    """A restore after damage, for the restore tier to judge."""

    deployment: Deployment
    seeded: Seeded
    deployment_healthy: bool
    health_reason: str


def seed_target(plan: list[ServiceBackup], seed: Seed) -> tuple[str, list[str]]:
    """(service, paths) to seed: the settings' path, else the backed-up paths of a service."""
    if seed.path:
        return seed.service, [seed.path]
    chosen = next((s for s in plan if s.service == seed.service), plan[0] if plan else None)
    return (chosen.service, list(chosen.paths)) if chosen else (seed.service, [])


def seed_marker(backend: SwarmBackend, deployment: Deployment, service: str, paths: list[str]) -> Seeded:
    """Put a fresh marker file in each of the service's `paths`: data to find again later."""
    seeded = Seeded(service)
    for path in paths:
        name = f"{path.rstrip('/')}/.ccci-seed"
        seeded.files[name] = f"ccci seed {uuid.uuid4().hex}\n".encode()
        backend.write_file(service_name(deployment.app.stack, service), name, seeded.files[name])
    return seeded


def seeded_still_there(backend: SwarmBackend, deployment: Deployment, seeded: Seeded) -> list[str]:
    """Which seeded files are missing or changed now (empty when all are intact)."""
    lost: list[str] = []
    for path, content in seeded.files.items():
        try:
            now: bytes | None = backend.read_file(service_name(deployment.app.stack, seeded.service), path)
        except RecipeError:
            now = None
        if now != content:
            lost.append(path if now is None else f"{path} (changed)")
    return lost


def restore_after_damage(backend: SwarmBackend, deployment: Deployment, seeded: Seeded) -> RestoreRun:
    """Back the seeded app up, overwrite the seeds, restore the backup, and probe the app."""
    archive = backend.backup(deployment)
    for path in seeded.files:
        backend.write_file(service_name(deployment.app.stack, seeded.service), path, DAMAGE)
    backend.restore(deployment, archive)
    status, answer = backend.http_status(deployment)
    healthy = status in deployment.app.settings.health.statuses
    return RestoreRun(deployment, seeded, healthy, f"after restore: {answer}")
