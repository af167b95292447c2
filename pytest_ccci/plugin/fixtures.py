"""Fixtures: what tiers and a recipe's own functional tests are given.

Each hands out a part of the recipe's lifecycle (see lifecycle.py); none deploys or tears down
on its own account, so a tier never depends on fixture teardown order.
"""

from __future__ import annotations

import re
import shlex
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ccci.model.backupbot import backup_plan
from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.run.lifecycle import RecipeLifecycle, UpgradeRun
from pytest_ccci.model.lint import LintResult, lint_recipe
from pytest_ccci.run.repo import Checkout
from pytest_ccci.plugin.stash import ccci_context_key

if TYPE_CHECKING:  # annotations only: fixtures must not pull docker-py into collection
    from pytest_ccci.run.backend import Deployment, SwarmBackend


@pytest.fixture
def ccci_recipe(request: pytest.FixtureRequest) -> str:
    """The recipe under test; the plugin parametrizes it with the selected recipes."""
    return request.param


@pytest.fixture
def lifecycle(request: pytest.FixtureRequest, ccci_recipe: str) -> RecipeLifecycle:
    return request.config.stash[ccci_context_key].lifecycle(ccci_recipe)


@pytest.fixture
def recipe_checkout(lifecycle: RecipeLifecycle) -> Checkout:
    """A private checkout of the recipe at the ref under test."""
    return lifecycle.checkout()


@pytest.fixture
def ccci_backend(request: pytest.FixtureRequest) -> SwarmBackend:
    return request.config.stash[ccci_context_key].runtime.backend


@pytest.fixture
def lint_results(recipe_checkout: Checkout) -> list[LintResult]:
    return lint_recipe(recipe_checkout.path, recipe_checkout.tags)


@pytest.fixture
def installed(lifecycle: RecipeLifecycle) -> Deployment:
    """The head deployed fresh in chaos mode; shared by install, backup, restore, functional."""
    return lifecycle.install()


@pytest.fixture
def upgraded(request: pytest.FixtureRequest, lifecycle: RecipeLifecycle, ccci_backend: SwarmBackend) -> UpgradeRun:
    base_tag = getattr(request, "param", None)
    if base_tag:
        base = next((r for r in lifecycle.upgrade_bases() if r.tag == base_tag), None)
        if base is None:
            raise RecipeError(f"recipe {lifecycle.name}: release {base_tag} is gone since collection")
        lifecycle.facts["upgrade_base"] = {"version": base.tag, "how": "--upgrade-from all"}
        lifecycle.facts.setdefault("upgrade_runs", []).append(base.tag)
    else:
        choice = lifecycle.upgrade_base()
        if choice.release is None:
            if choice.how == "no older release":
                pytest.skip(f"n/a: {choice.how}")
            raise RecipeError(f"recipe {lifecycle.name}: {choice.how}")
        base = choice.release
    return lifecycle.upgrade(base, seed=lambda dep: seed_marker(ccci_backend, dep, lifecycle))


def seed_marker(backend: SwarmBackend, deployment: Deployment, lifecycle: RecipeLifecycle) -> dict[str, bytes]:
    """Put a marker file in every backed-up path (or the settings' seed path): data to find again."""
    settings = lifecycle.settings()
    plan = backup_plan(deployment.config)
    if settings.seed.path:
        seed_service, paths = settings.seed.service, [settings.seed.path]
    else:
        # The service the settings name, else the first one backupbot backs up (often `db`).
        chosen = next((s for s in plan if s.service == settings.seed.service), plan[0] if plan else None)
        seed_service, paths = (chosen.service, list(chosen.paths)) if chosen else (settings.seed.service, [])
    lifecycle.facts["seed_service"] = seed_service
    service = f"{deployment.app.stack}_{seed_service}"
    seeded = {}
    for path in paths:
        content = f"ccci seed {uuid.uuid4().hex}\n".encode()
        name = f"{path.rstrip('/')}/.ccci-seed"
        backend.write_file(service, name, content)
        seeded[name] = content
    lifecycle.facts["seeded"] = sorted(seeded)
    return seeded


@dataclass
class DeployedApp:
    """The deployed app, as a recipe's functional tests see it."""

    deployment: Deployment
    backend: SwarmBackend

    @property
    def domain(self) -> str:
        return self.deployment.app.domain

    @property
    def stack(self) -> str:
        return self.deployment.app.stack

    @property
    def url(self) -> str:
        """The app's base URL as seen from inside its own task."""
        from pytest_ccci.model.compose import http_port

        health = self.deployment.app.settings.health
        port = health.port or http_port(self.deployment.config, health.service)
        return f"http://127.0.0.1:{port}"

    def exec(self, cmd: str | list[str], service: str = "app", timeout: float = 60) -> tuple[int, str]:
        """Run a command in the service's running task: (exit code, output)."""
        return self.backend.swarm.exec(f"{self.stack}_{service}", cmd, timeout=timeout)

    def http(self, path: str = "/", data: str | None = None, service: str = "app") -> tuple[int | None, str]:
        """An HTTP request from inside the task (GET, or POST with `data`): (status, body)."""
        post = f"--post-data {shlex.quote(data)} " if data is not None else ""
        # Headers (-S) go to stderr and the body to stdout; a marker splits the two.
        cmd = f"wget -S -O - {post}{shlex.quote(self.url + path)} 2>&1 1>/tmp/.ccci-body; echo '::body::'; cat /tmp/.ccci-body"
        _code, out = self.exec(cmd, service=service)
        headers, _, body = out.partition("::body::\n")
        found = re.findall(r"HTTP/\d(?:\.\d)?\s+(\d{3})", headers)
        return (int(found[-1]) if found else None), body

    def read_file(self, path: str, service: str = "app") -> bytes:
        return self.backend.read_file(f"{self.stack}_{service}", path)


@pytest.fixture
def app(installed: Deployment, ccci_backend: SwarmBackend) -> DeployedApp:
    """For a recipe's functional tests: the deployed app, with HTTP and exec helpers."""
    return DeployedApp(installed, ccci_backend)


def seeded_still_there(backend: SwarmBackend, deployment: Deployment, seeded: dict[str, bytes], service: str) -> list[str]:
    """Which seeded files are missing or changed now (empty when all are intact)."""
    lost: list[str] = []
    for path, content in seeded.items():
        try:
            now: Any = backend.read_file(f"{deployment.app.stack}_{service}", path)
        except RecipeError:
            now = None
        if now != content:
            lost.append(path if now is None else f"{path} (changed)")
    return lost


@pytest.fixture
def backup_archive(installed: Deployment, ccci_backend: SwarmBackend, lifecycle: RecipeLifecycle):
    """A backup of the fresh install, taken the way backupbot would (hooks included)."""
    from pytest_ccci.model.backupbot import is_backup_capable

    if not is_backup_capable(installed.config):
        pytest.skip("n/a: not backup-capable: no service carries backupbot.backup=true with paths or volumes")
    archive = ccci_backend.backup(installed)
    lifecycle.facts["backup"] = {"paths": [f"{s}:{p}" for s, p in archive.paths], "bytes": sum(map(len, archive.files.values()))}
    return archive


@dataclass
class RestoreRun:
    deployment: Deployment
    service: str
    seeded: dict[str, bytes]
    deployment_healthy: bool
    health_reason: str


@pytest.fixture
def restore_run(installed: Deployment, ccci_backend: SwarmBackend, lifecycle: RecipeLifecycle) -> RestoreRun:
    """Seed known data, back it up, damage it, restore it: the restore tier then checks the result."""
    from pytest_ccci.model.backupbot import is_backup_capable

    if not is_backup_capable(installed.config):
        pytest.skip("n/a: not backup-capable: no service carries backupbot.backup=true with paths or volumes")
    seeded = seed_marker(ccci_backend, installed, lifecycle)
    if not seeded:
        raise InfraError(f"recipe {lifecycle.name}: nothing could be seeded to restore: set `seed:` in ccci.yml")
    archive = ccci_backend.backup(installed)
    seed_service = lifecycle.facts["seed_service"]
    service = f"{installed.app.stack}_{seed_service}"
    for path in seeded:
        ccci_backend.write_file(service, path, b"damaged by ccci before restore\n")
    ccci_backend.restore(installed, archive)
    status, answer = ccci_backend.http_status(installed)
    healthy = status in installed.app.settings.health.statuses
    return RestoreRun(installed, seed_service, seeded, healthy, f"after restore: {answer}")
