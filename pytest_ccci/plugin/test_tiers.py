"""The lifecycle tiers: one short test per tier, run for every selected recipe.

Checks are plain assertions whose message names the cause. The plugin collects this module
once per recipe (`ccci/<recipe>`), orders the tiers (lint, install, backup, restore,
functional, teardown, upgrade) and keeps all of one recipe on one worker. The `_ccci_...`
fixtures (fixtures.py) serve these tests only.
"""

from __future__ import annotations

from pytest_ccci.model.lint import lint_errors
from pytest_ccci.run.proofs import seeded_still_there


def test_lint(_ccci_lint_results):
    errors = lint_errors(_ccci_lint_results)
    assert not errors, "; ".join(r.describe() for r in errors)


def test_install(installed, ccci_backend, lifecycle):
    assert installed.convergence.ok, f"install of {installed.app.stack}: {installed.convergence.reason}"
    status, answer = ccci_backend.http_status(installed)
    assert status in installed.app.settings.health.statuses, answer
    stamp = ccci_backend.read_stamp(installed)
    lifecycle.facts["install_stamp"] = stamp
    # HC1: the swarm runs the commit under test.
    assert stamp.get("chaos-version") == installed.expected_chaos, (
        f"HC1: {installed.app_service} is stamped chaos-version={stamp.get('chaos-version')!r}, "
        f"expected {installed.expected_chaos!r} (the head)"
    )


def test_upgrade(_ccci_upgraded, ccci_backend, lifecycle):
    upgraded = _ccci_upgraded
    base, head = upgraded.base_deployment, upgraded.head_deployment
    assert base.convergence.ok, f"base release {upgraded.base.tag} did not deploy: {base.convergence.reason}"
    # Convergence first: a rolled-back update must never be reported as a stamp mismatch.
    assert head.convergence.ok, f"upgrade {upgraded.base.tag} → {head.checkout.head_sha[:8]}: {head.convergence.reason}"
    # (Converged already means no task of the old spec is still running: start-first's old
    # task serving on is caught there, named.)
    stamp = ccci_backend.read_stamp(head)
    lifecycle.facts["upgrade_stamp"] = stamp
    assert stamp.get("chaos-version") == head.expected_chaos, (
        f"HC1: after a completed update {head.app_service} is stamped chaos-version="
        f"{stamp.get('chaos-version')!r}, expected {head.expected_chaos!r} (the head)"
    )
    status, answer = ccci_backend.http_status(head)
    assert status in head.app.settings.health.statuses, answer
    lost = seeded_still_there(ccci_backend, head, upgraded.seeded)
    assert not lost, f"data seeded on {upgraded.base.tag} lost in the upgrade: {', '.join(lost)}"


def test_backup(_ccci_backup_archive):
    backup_archive = _ccci_backup_archive
    assert backup_archive.files, f"backup of {backup_archive.stack} copied nothing out of {backup_archive.paths}"
    bad = backup_archive.verify()
    assert not bad, f"backup archive does not match its manifest: {', '.join(bad)}"


def test_restore(_ccci_restore_run, ccci_backend):
    restore_run = _ccci_restore_run
    assert restore_run.deployment_healthy, restore_run.health_reason
    lost = seeded_still_there(ccci_backend, restore_run.deployment, restore_run.seeded)
    assert not lost, f"restore did not bring back the seeded data: {', '.join(lost)}"
