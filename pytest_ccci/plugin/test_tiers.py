"""The lifecycle tiers: one short test per tier, run for every selected recipe.

Checks are plain assertions whose message names the cause. The plugin parametrizes
`ccci_recipe`, orders the tiers (lint, install, backup, restore, functional, teardown,
upgrade) and keeps all of one recipe on one worker.
"""

from __future__ import annotations

from pytest_ccci.plugin.fixtures import seeded_still_there


def test_lint(lint_results):
    errors = [r for r in lint_results if r.rule.severity == "error" and r.status == "fail"]
    assert not errors, "; ".join(f"{r.rule.id} {r.rule.title}: {r.detail} (fix: {r.rule.how_to_fix})" for r in errors)


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


def test_upgrade(upgraded, ccci_backend, lifecycle):
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
    lost = seeded_still_there(ccci_backend, head, upgraded.seeded, lifecycle.facts.get("seed_service", "app"))
    assert not lost, f"data seeded on {upgraded.base.tag} lost in the upgrade: {', '.join(lost)}"


def test_backup(backup_archive):
    assert backup_archive.files, f"backup of {backup_archive.stack} copied nothing out of {backup_archive.paths}"
    bad = backup_archive.verify()
    assert not bad, f"backup archive does not match its manifest: {', '.join(bad)}"


def test_restore(restore_run, ccci_backend):
    assert restore_run.deployment_healthy, restore_run.health_reason
    lost = seeded_still_there(ccci_backend, restore_run.deployment, restore_run.seeded, restore_run.service)
    assert not lost, f"restore did not bring back the seeded data: {', '.join(lost)}"
