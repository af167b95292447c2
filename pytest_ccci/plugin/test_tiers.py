"""The lifecycle tiers: one short test per tier, run for every selected recipe.

Checks are plain assertions whose message names the cause. The plugin collects this module
once per recipe (`ccci/<recipe>`), orders the tiers (lint, install, backup, restore,
functional, teardown, upgrade) and keeps all of one recipe on one worker. The `_ccci_...`
fixtures (fixtures.py) serve these tests only. Install also holds the route check (traefik's
router, port and network, model/routes.py) and the idempotence check (the same head redeployed
replaces no task, model/idempotence.py): no rung of their own; once they all passed, install
takes a picture of the app's front page (lifecycle.picture), which never changes its verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_ccci.model.compose import service_labels
from pytest_ccci.model.lint import lint_problem
from pytest_ccci.model.routes import first_port_label
from pytest_ccci.run.proofs import restore_problems, seeded_still_there

if TYPE_CHECKING:  # annotations only: collection imports no docker-py
    from pytest_ccci.model.lint import LintResult
    from pytest_ccci.run.backend import SwarmBackend
    from pytest_ccci.run.data import BackupArchive
    from pytest_ccci.run.deploy import Deployment
    from pytest_ccci.run.lifecycle import RecipeLifecycle, UpgradeRun
    from pytest_ccci.run.proofs import RestoreRun


def test_lint(_ccci_lint_results: Sequence[LintResult]) -> None:
    # Warnings never fail the tier: the fixture records them (facts.lint) for the reports.
    problem = lint_problem(_ccci_lint_results)
    assert not problem, problem


def test_install(installed: Deployment, ccci_backend: SwarmBackend, lifecycle: RecipeLifecycle) -> None:
    assert installed.convergence.ok, f"install of {installed.app.stack}: {installed.convergence.reason}"
    status, answer = ccci_backend.http_status(installed)
    assert status in installed.app.settings.health.statuses, answer + _port_origin(installed)
    stamp = ccci_backend.read_stamp(installed)
    lifecycle.facts.install_stamp = stamp
    # HC1: the swarm runs the commit under test.
    assert stamp.get("chaos-version") == installed.expected_chaos, (
        f"HC1: {installed.app_service} is stamped chaos-version={stamp.get('chaos-version')!r}, "
        f"expected {installed.expected_chaos!r} (the head)"
    )
    # What traefik needs to serve the app on a real server: the labels as the swarm has them.
    route = lifecycle.route_problems(installed)
    assert not route, "route: " + "; ".join(route)
    # Idempotence: an operator re-running `abra app deploy` on the same head restarts nothing.
    again, replaced = lifecycle.redeploy(installed)
    assert again.convergence.ok, f"idempotence: redeploying the same head: {again.convergence.reason}"
    assert not replaced, "idempotence: redeploying the same head replaced tasks: " + "; ".join(replaced)
    # Every check passed: a picture of the front page for the reports (never a verdict).
    lifecycle.picture(again)


def _port_origin(deployment: Deployment) -> str:
    """Where the probed port came from, when a label chose it: a wrong port label fails the probe."""
    health = deployment.app.settings.health
    service = (deployment.config.get("services") or {}).get(health.service)
    found = None if health.port else first_port_label(service_labels(service))
    return f" (the port is the app's label {found[0]}={found[1]})" if found else ""


def test_upgrade(_ccci_upgraded: UpgradeRun, ccci_backend: SwarmBackend, lifecycle: RecipeLifecycle) -> None:
    upgraded = _ccci_upgraded
    base, head = upgraded.base_deployment, upgraded.head_deployment
    assert base.convergence.ok, f"base release {upgraded.base.tag} did not deploy: {base.convergence.reason}"
    assert head is not None  # deployed whenever the base converged (lifecycle.upgrade)
    # Convergence first: a rolled-back update must never be reported as a stamp mismatch.
    assert head.convergence.ok, f"upgrade {upgraded.base.tag} → {head.checkout.head_sha[:8]}: {head.convergence.reason}"
    # (Converged already means no task of the old spec is still running: start-first's old
    # task serving on is caught there, named.)
    stamp = ccci_backend.read_stamp(head)
    lifecycle.facts.upgrade_stamp = stamp
    assert stamp.get("chaos-version") == head.expected_chaos, (
        f"HC1: after a completed update {head.app_service} is stamped chaos-version="
        f"{stamp.get('chaos-version')!r}, expected {head.expected_chaos!r} (the head)"
    )
    status, answer = ccci_backend.http_status(head)
    assert status in head.app.settings.health.statuses, answer
    lost = seeded_still_there(ccci_backend, head, upgraded.seeded)
    assert not lost, f"data seeded on {upgraded.base.tag} lost in the upgrade: {', '.join(lost)}"


def test_backup(_ccci_backup_archive: BackupArchive) -> None:
    backup_archive = _ccci_backup_archive
    assert backup_archive.copied, f"backup of {backup_archive.stack} copied nothing out of {backup_archive.paths}"
    bad = backup_archive.verify()  # the file on disk, against the manifest on disk
    assert not bad, f"backup file {backup_archive.file} does not match its manifest: {', '.join(bad)}"


def test_restore(_ccci_restore_run: RestoreRun, ccci_backend: SwarmBackend) -> None:
    restore_run = _ccci_restore_run
    assert restore_run.deployment_healthy, restore_run.health_reason
    problems = restore_problems(ccci_backend, restore_run)
    assert not problems, "; ".join(problems)
