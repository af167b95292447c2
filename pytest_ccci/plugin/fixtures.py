"""Fixtures: what tiers and a recipe's own functional tests are given.

Each hands out a part of the recipe's lifecycle (see run/lifecycle.py); none deploys or tears
down on its own account, so a tier never depends on fixture teardown order.

Public, for a recipe's own tests: `app` (the usual one), `installed`, `ccci_backend`,
`lifecycle`, `recipe_checkout` and `ccci_recipe`. The `_ccci_...` fixtures serve the tier
tests only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from pytest_ccci.documents.facts import Lint
from pytest_ccci.documents.results import LintWarning
from pytest_ccci.errors import RecipeError
from pytest_ccci.model import lint
from pytest_ccci.model.app import EXEC_TIMEOUT_SECONDS
from pytest_ccci.model.lint import LintResult
from pytest_ccci.model.naming import service_name
from pytest_ccci.model.upgrade_risks import skipped_upgrade_risks, upgrade_risks
from pytest_ccci.model.view import RecipeView
from pytest_ccci.plugin.collection import tier_item_key
from pytest_ccci.plugin.runner import skip_not_applicable
from pytest_ccci.plugin.state import ccci_context_key
from pytest_ccci.run.lifecycle import RecipeLifecycle, UpgradeRun
from pytest_ccci.run.overlap import upgraded
from pytest_ccci.run.repo import Checkout

if TYPE_CHECKING:  # annotations only: fixtures must not pull docker-py into collection
    from pytest_ccci.run.backend import SwarmBackend
    from pytest_ccci.run.data import BackupArchive
    from pytest_ccci.run.deploy import Deployment
    from pytest_ccci.run.proofs import RestoreRun

# Why backup and restore are not applicable to a recipe no backupbot label names anything of.
NOT_BACKUP_CAPABLE = "not backup-capable: no service carries backupbot.backup=true with paths or volumes"


@pytest.fixture
def ccci_recipe(request: pytest.FixtureRequest) -> str:
    """The name of the recipe under test: the folder the test lives in, under the recipes dir.

    Example::

        def test_knows_its_recipe(ccci_recipe):
            assert ccci_recipe == "hello"
    """
    return str(request.node.stash[tier_item_key].recipe)


@pytest.fixture
def lifecycle(request: pytest.FixtureRequest, ccci_recipe: str) -> RecipeLifecycle:
    """The recipe's lifecycle in this process: settings, checkout, deployments, facts. Every
    other fixture hands out a part of it.

    Example::

        def test_head_is_checked_out(lifecycle):
            assert lifecycle.checkout().head_sha == lifecycle.facts.head_sha
    """
    return request.config.stash[ccci_context_key].lifecycle(ccci_recipe)


@pytest.fixture
def recipe_checkout(lifecycle: RecipeLifecycle) -> Checkout:
    """A private checkout of the recipe at the ref under test.

    Example::

        def test_has_a_readme(recipe_checkout):
            assert (recipe_checkout.path / "README.md").is_file()
    """
    return lifecycle.checkout()


@pytest.fixture
def ccci_backend(request: pytest.FixtureRequest) -> SwarmBackend:
    """The run's deploy backend: HTTP probes, files and commands in running tasks.

    Example::

        def test_answers(installed, ccci_backend):
            status, answer = ccci_backend.http_status(installed)
            assert status == 200, answer
    """
    return request.config.stash[ccci_context_key].runtime.backend


@pytest.fixture
def recipe_view(recipe_checkout: Checkout, lifecycle: RecipeLifecycle) -> RecipeView:
    """The recipe at the ref under test, resolved for its enrollment as abra would deploy it:
    the app env, the compose files, docker's merge (`config`), the deploy policy's findings,
    and safe reads of its files (`files.text(name)`). Lint and every deploy read this view.

    Example::

        def test_app_reads_its_domain(recipe_view):
            env = recipe_view.services["app"].get("environment") or {}
            assert env.get("DOMAIN") == recipe_view.domain
    """
    return lifecycle.view(recipe_checkout)


@pytest.fixture
def _ccci_lint_results(recipe_view: RecipeView, lifecycle: RecipeLifecycle) -> list[LintResult]:
    # R018 honours the allowances a deploy honours (ccci.yml's and the ini's), on the same view.
    results = lint.lint_recipe(recipe_view, lifecycle.policy().allowances) + _upgrade_risks(recipe_view, lifecycle)
    warnings = [LintWarning.from_wire(w) for w in lint.lint_warnings(results)]
    lifecycle.facts.lint = Lint(lint.ABRA_RULES, warnings)
    return results


def _upgrade_risks(head: RecipeView, lifecycle: RecipeLifecycle) -> list[LintResult]:
    """What the upgrade would break, read from the head and the upgrade base without a deploy."""
    choice = lifecycle.upgrade_base()
    if choice.release is None:
        return skipped_upgrade_risks(choice.how)
    try:
        base = lifecycle.view(lifecycle.base_checkout(choice.release))
    except RecipeError as exc:  # the upgrade tier judges a base that cannot be resolved
        return skipped_upgrade_risks(f"the upgrade base {choice.release.tag} could not be resolved: {exc}")
    return upgrade_risks(head, base, choice.release.tag)


@pytest.fixture
def installed(lifecycle: RecipeLifecycle) -> Deployment:
    """The head deployed fresh in chaos mode, converged; shared by the install, backup, restore
    and functional tiers (deployed once, on first use).

    Example::

        def test_deployed(installed):
            assert installed.convergence.ok, installed.convergence.reason
    """
    return lifecycle.install()


@pytest.fixture
def _ccci_upgraded(request: pytest.FixtureRequest, lifecycle: RecipeLifecycle) -> UpgradeRun:
    # --upgrade-from all parametrizes the tier with each base's tag
    choice = lifecycle.upgrade_base(getattr(request, "param", None) or None)
    if choice.release is None:
        if choice.none_older:
            skip_not_applicable(request.node, choice.how)
        raise RecipeError(f"recipe {lifecycle.name}: {choice.how}")
    # The upgrade lifecycle's (a domain of its own): started in the background already when
    # this process overlaps it with the install chain, else run now.
    return upgraded(lifecycle, choice.release)


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
        from pytest_ccci.run.probe import app_url

        return app_url(self.deployment)

    def exec(
        self, cmd: str | list[str], service: str = "app", timeout: float = EXEC_TIMEOUT_SECONDS
    ) -> tuple[int, str]:
        """Run a command in the service's running task: (exit code, output)."""
        return self.backend.exec(service_name(self.stack, service), cmd, timeout=timeout)

    def http(self, path: str = "/", data: str | None = None, service: str = "app") -> tuple[int | None, str]:
        """An HTTP request to `url` + `path` on 127.0.0.1 in the service's task (GET, or POST with
        `data`), from the probe helper in its network namespace: (status, body)."""
        return self.backend.http(self.deployment, path, data, service)

    def read_file(self, path: str, service: str = "app") -> bytes:
        return self.backend.read_file(service_name(self.stack, service), path)


@pytest.fixture
def app(installed: Deployment, ccci_backend: SwarmBackend) -> DeployedApp:
    """For a recipe's functional tests: the deployed app (`installed`), with `domain`, `stack`,
    `url`, `http(path, data=None)`, `exec(cmd, service="app")` and `read_file(path)`, all run
    from inside the app's own task.

    Example::

        def test_notes_round_trip(app):
            status, _ = app.http("/cgi-bin/notes", data="first note")
            assert status == 201
            assert b"first note" in app.read_file("/data/notes.txt")
    """
    return DeployedApp(installed, ccci_backend)


@pytest.fixture
def _ccci_backup_archive(
    request: pytest.FixtureRequest, installed: Deployment, lifecycle: RecipeLifecycle
) -> BackupArchive:
    """A backup of the fresh install, taken the way backupbot would (hooks included)."""
    from pytest_ccci.model.backupbot import is_backup_capable

    if not is_backup_capable(installed.config):
        skip_not_applicable(request.node, NOT_BACKUP_CAPABLE)
    return lifecycle.backup(installed)


@pytest.fixture
def _ccci_restore_run(request: pytest.FixtureRequest, installed: Deployment, lifecycle: RecipeLifecycle) -> RestoreRun:
    """Seed known data, back it up, damage it, restore it: the restore tier then checks the result."""
    from pytest_ccci.model.backupbot import is_backup_capable

    if not is_backup_capable(installed.config):
        skip_not_applicable(request.node, NOT_BACKUP_CAPABLE)
    from pytest_ccci.run.proofs import Unprovable

    try:
        return lifecycle.restore(installed)
    except Unprovable as exc:
        pytest.skip(str(exc))  # not skip_not_applicable: a restore that should be proved and was not is unver
