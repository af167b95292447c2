"""Every tier deployed for real: install, upgrade, backup, restore, functional, lint."""

from __future__ import annotations

from conftest import EXAMPLES


def test_hello_reaches_level_5_and_leaves_nothing(lab, assert_clean):
    lab.enroll("lhello", functional=True)
    run = lab.run("--recipe", "lhello")
    run.result.assert_outcomes(passed=9)
    hello = run.recipe("lhello")
    assert hello["level"] == 5, hello
    assert all(r["status"] == "pass" for r in hello["rungs"].values()), hello["rungs"]
    assert hello["upgrade_base"] == {"version": "0.2.0+1.35.0", "how": "newest older release"}
    assert hello["stamps"]["upgrade_stamp"]["chaos-version"] == hello["head_sha"][:8]
    assert hello["clean_teardown"] is True and hello["no_secret_leak"] is True
    assert_clean(hello["domain"])


def test_install_failure_names_the_unhealthy_task_and_its_error(lab, assert_clean):
    lab.enroll("lbroken", example="hello-broken", settings={"max_task_failures": 2})
    run = lab.run("--recipe", "lbroken", "--tiers", "install")
    run.result.assert_outcomes(failed=1)
    reason = run.recipe("lbroken")["rungs"]["install"]["reason"]
    assert "lost 2 tasks" in reason and "_app.1 (" in reason, reason
    assert "404 Not Found" in reason, f"the healthcheck's own error is missing: {reason}"
    assert "last healthcheck (task " in reason and "_app.1 (" in reason, f"the check's task is not named: {reason}"
    assert run.recipe("lbroken")["level"] == 0
    assert_clean(run.recipe("lbroken")["domain"])


def test_backup_restore_and_functional_on_the_install(lab, assert_clean):
    lab.enroll("lbackup", functional=True)
    run = lab.run("--recipe", "lbackup", "--tiers", "install,backup,restore,functional")
    run.result.assert_outcomes(passed=7)
    hello = run.recipe("lbackup")
    assert hello["rungs"]["backup_restore"]["status"] == "pass"
    assert hello["rungs"]["functional"]["status"] == "pass"
    assert_clean(hello["domain"])


def test_broken_restore_hook_fails_restore_naming_the_hook(lab, assert_clean):
    steps = [{"root": lab.tmp / "steps", "files": "hook", "message": "broken restore hook"}]
    hook_dir = lab.tmp / "steps" / "hook"
    hook_dir.mkdir(parents=True)
    compose = (
        (EXAMPLES / "hello/unreleased/compose.yml")
        .read_text()
        .replace(
            '        - "backupbot.backup.path=/data"\n',
            '        - "backupbot.backup.path=/data"\n'
            "        - \"backupbot.restore.post-hook=sh -c 'echo reindex failed >&2; exit 3'\"\n",
        )
    )
    assert "restore.post-hook" in compose
    (hook_dir / "compose.yml").write_text(compose)
    lab.enroll("lhook", extra_steps=steps)
    run = lab.run("--recipe", "lhook", "--tiers", "install,backup,restore")
    # The hook fails while the restore is being done (fixture setup): a pytest error, rung fail.
    run.result.assert_outcomes(passed=2, errors=1)
    assert run.recipe("lhook")["rungs"]["backup_restore"]["status"] == "fail"
    reason = run.recipe("lhook")["rungs"]["backup_restore"]["reason"]
    assert "restore post-hook" in reason and "exit 3" in reason and "container" in reason, reason
    assert "reindex failed" in reason
    assert_clean(run.recipe("lhook")["domain"])


def test_recipe_without_backupbot_labels_skips_backup_and_restore(lab, assert_clean):
    lab.enroll("lnobackup", example="hello-nobackup")
    run = lab.run("--recipe", "lnobackup", "--tiers", "install,backup,restore")
    run.result.assert_outcomes(passed=1, skipped=2)
    rung = run.recipe("lnobackup")["rungs"]["backup_restore"]
    assert rung["status"] == "skip" and "not backup-capable" in rung["reason"], rung
    assert_clean(run.recipe("lnobackup")["domain"])


def test_lint_on_the_exact_ref(lab):
    lab.enroll("llintfail", example="hello-lintfail")
    run = lab.run("--recipe", "llintfail", "--tiers", "lint")
    run.result.assert_outcomes(failed=1)
    assert "R010" in run.recipe("llintfail")["rungs"]["lint"]["reason"]
    # The release before the head still had the label: at that ref, lint passes.
    run = lab.run("--recipe", "llintfail", "--tiers", "lint", "--ref", "0.2.0+1.35.0", json_name="at-tag.json")
    run.result.assert_outcomes(passed=1)
