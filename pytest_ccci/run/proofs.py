"""The data proofs of the upgrade and restore tiers: known data seeded into an app and found
again, and the restore procedure (seed, back up to disk, damage, restore from disk, probe).

Two forms of seed (settings `seed:`):
- command: `seed.write` stores a fresh marker through the app's own tools (a row through psql,
  say) and `seed.read` must print it again. This is how a database is proved: its data lives
  in the database, and the backed-up path is often only a dump file a hook writes.
- file (the default): a marker file `.ccci-seed` in the settings' `seed.path`, else in every
  backed-up path of the service the settings name (else of the first backed-up service) that
  is an existing directory. A file path (the catalogue's `backup.sql`) cannot hold a marker, and
  a missing path is never created: it may be the app's to create, as a file.

The restore proof: after the backup, the data is damaged: the marker files overwritten, every
backed-up path that is a file overwritten (so the restore must bring it back from the backup
file, not find it in place), and, in the command form, a second marker written. After the
restore the first marker is back and the second one gone: the app is where the backup left it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.backupbot import ServiceBackup, backup_plan
from pytest_ccci.model.naming import service_name
from pytest_ccci.model.settings import MARKER, Seed
from pytest_ccci.model.text import one_line

if TYPE_CHECKING:  # annotations only: collection must not import docker-py
    from pytest_ccci.run.backend import SwarmBackend
    from pytest_ccci.run.data import BackupArchive
    from pytest_ccci.run.deploy import Deployment

# What a restore must overwrite: if it is still there afterwards, the restore did nothing.
DAMAGE = b"damaged by ccci before restore\n"
SEED_FILE = ".ccci-seed"
# Enough of what seed.read printed to see why the marker is not in it.
READ_SHOWN = 160


class Unprovable(Exception):
    """The restore cannot be proved with what the recipe declares: unverified, and why."""


@dataclass
class Seeded:
    """Data written into one service of the app: marker files, or a marker written by command."""

    service: str  # the recipe's service name, e.g. "app" or "db"
    files: dict[str, bytes] = field(default_factory=dict)  # container path → marker content
    marker: str | None = None  # written through seed.write
    read: str | None = None  # seed.read: prints the data, the marker included

    def described(self) -> list[str]:
        return sorted(self.files) + ([f"{self.service}: {self.marker}"] if self.marker else [])


@dataclass
class RestoreRun:
    """A restore after damage, for the restore tier to judge."""

    deployment: Deployment
    seeded: Seeded
    deployment_healthy: bool
    health_reason: str
    archive: BackupArchive | None = None
    later: str | None = None  # a marker written after the backup: the restore must take it away


def new_marker() -> str:
    """A marker no app holds by chance, safe inside shell and SQL quotes."""
    return f"ccci-seed-{uuid.uuid4().hex[:16]}"


def seed_target(plan: list[ServiceBackup], seed: Seed) -> tuple[str, list[str]]:
    """(service, paths) for marker files: the settings' path, else the backed-up paths of a service."""
    if seed.path:
        return seed.service, [seed.path]
    chosen = next((s for s in plan if s.service == seed.service), plan[0] if plan else None)
    return (chosen.service, list(chosen.paths)) if chosen else (seed.service, [])


def seed(backend: SwarmBackend, deployment: Deployment, settings: Seed) -> Seeded:
    """Seed the app the settings' way: by command, else marker files."""
    if settings.by_command:
        marker = new_marker()
        write_marker(backend, deployment, settings, marker)
        return Seeded(settings.service, marker=marker, read=settings.read)
    service, paths = seed_target(backup_plan(deployment.config), settings)
    task = service_name(deployment.app.stack, service)
    if not settings.path:
        paths = [p for p in paths if backend.tasks.path_kind(task, p) == "dir"]
    elif backend.tasks.path_kind(task, settings.path) == "file":
        raise RecipeError(f"seed.path {settings.path} is a file in {task}: the marker file goes into a directory")
    return seed_marker(backend, deployment, service, paths)


def write_marker(backend: SwarmBackend, deployment: Deployment, settings: Seed, marker: str) -> None:
    """Run seed.write with the marker in the seed service's task; its failure is the recipe's."""
    task = service_name(deployment.app.stack, settings.service)
    command = (settings.write or "").replace(MARKER, marker)
    backend.tasks.run_hook("seed.write", task, command, deployment.app.settings.hook_timeout)


def seed_marker(backend: SwarmBackend, deployment: Deployment, service: str, paths: list[str]) -> Seeded:
    """Put a fresh marker file in each of the service's `paths`: data to find again later."""
    seeded = Seeded(service)
    for path in paths:
        name = f"{path.rstrip('/')}/{SEED_FILE}"
        seeded.files[name] = f"ccci seed {uuid.uuid4().hex}\n".encode()
        backend.write_file(service_name(deployment.app.stack, service), name, seeded.files[name])
    return seeded


def read_back(backend: SwarmBackend, deployment: Deployment, seeded: Seeded) -> tuple[int, str]:
    """Run seed.read in the seed service's task: (exit code, what it printed)."""
    task = service_name(deployment.app.stack, seeded.service)
    return backend.exec(task, seeded.read or "", timeout=deployment.app.settings.hook_timeout)


def seeded_still_there(backend: SwarmBackend, deployment: Deployment, seeded: Seeded) -> list[str]:
    """What of the seeded data is missing or changed now (empty when all is intact)."""
    lost: list[str] = []
    for path, content in seeded.files.items():
        try:
            now: bytes | None = backend.read_file(service_name(deployment.app.stack, seeded.service), path)
        except RecipeError:
            now = None
        if now != content:
            lost.append(path if now is None else f"{path} (changed)")
    if seeded.marker:
        code, out = read_back(backend, deployment, seeded)
        task = service_name(deployment.app.stack, seeded.service)
        if code != 0:
            lost.append(f"{seeded.marker} (seed.read in {task} failed: exit {code}: {one_line(out, READ_SHOWN)})")
        elif seeded.marker not in out:
            lost.append(f"{seeded.marker} (seed.read in {task} printed: {one_line(out, READ_SHOWN)!r})")
    return lost


def restore_problems(backend: SwarmBackend, run: RestoreRun) -> list[str]:
    """Why the restore did not bring the app back to its backup (empty when it did)."""
    problems = []
    lost = seeded_still_there(backend, run.deployment, run.seeded)
    if lost:
        problems.append(f"restore did not bring back the seeded data: {', '.join(lost)}")
    if run.later:
        code, out = read_back(backend, run.deployment, run.seeded)
        if code == 0 and run.later in out:
            problems.append(
                f"restore did not return the data to the backup: {run.later}, written after the backup, is still there"
            )
    return problems


def restore_after_damage(backend: SwarmBackend, deployment: Deployment, seeded: Seeded, dest: Path) -> RestoreRun:
    """Back the seeded app up into `dest`, damage its data, restore from the file, probe the app."""
    archive = backend.backup(deployment, dest)
    run = RestoreRun(deployment, seeded, False, "", archive)
    settings = deployment.app.settings.seed
    if seeded.marker:
        run.later = new_marker()
        write_marker(backend, deployment, settings, run.later)
    for path in seeded.files:
        backend.write_file(service_name(deployment.app.stack, seeded.service), path, DAMAGE)
    damage_file_paths(backend, deployment)
    backend.restore(deployment, archive)
    status, answer = backend.http_status(deployment)
    run.deployment_healthy = status in deployment.app.settings.health.statuses
    run.health_reason = f"after restore: {answer}"
    return run


def damage_file_paths(backend: SwarmBackend, deployment: Deployment) -> None:
    """Overwrite every backed-up path that is a file: the restore must bring it back from the
    backup file (a dump left in place would let a restore that copies nothing look fine)."""
    for svc in backup_plan(deployment.config):
        task = service_name(deployment.app.stack, svc.service)
        for path in svc.paths:
            if backend.tasks.path_kind(task, path) == "file":
                backend.write_file(task, path, DAMAGE)


def unprovable_reason(deployment: Deployment, settings: Seed) -> str:
    """Why nothing could be seeded for the restore, and what the recipe can declare."""
    plan = backup_plan(deployment.config)
    paths = ", ".join(f"{s.service}:{p}" for s in plan for p in s.paths) or "none"
    return (
        f"restore not provable: no backed-up path is an existing directory to hold a marker file ({paths}); "
        "declare seed.service, seed.write and seed.read in ccci.yml (data written and read through the app's own tools)"
    )
