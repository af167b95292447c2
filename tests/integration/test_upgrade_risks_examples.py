"""Upgrade risks on real example repositories, before any deploy: notes-pg-configdrift's head
changes app.py without bumping APP_PY_VERSION, and R022 says so in under a second, naming the
config, where the upgrade tier would need a deploy to hear docker refuse it.

The examples are built from examples/ into this test's own directory (scripts/example_repos.py),
fetched, checked out at the head and at the upgrade base `upgrade_base` chooses, and resolved by
run/view.py exactly as a run resolves them. Only the docker CLI is needed (`docker stack
config`): no engine is asked, nothing is deployed.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import example_repos
import pytest
from real_recipe_repos import BASE_DOMAIN, enroll

from pytest_ccci.model.app import App
from pytest_ccci.model.lint import FAIL, lint_errors, lint_problem
from pytest_ccci.model.settings import load_settings, resolve_source
from pytest_ccci.model.upgrade_risks import upgrade_risks
from pytest_ccci.model.versions import upgrade_base
from pytest_ccci.model.view import RecipeView
from pytest_ccci.run.repo import RecipeRepo
from pytest_ccci.run.view import build_view

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def head_and_base(example: str, work: Path) -> tuple[RecipeView, RecipeView, str]:
    """(the head's view, the upgrade base's view, the base's tag) of `example`, resolved for one
    enrollment as the upgrade tier resolves them."""
    source = example_repos.build(EXAMPLES / example, work / "sources" / example)
    settings = load_settings(enroll(work / "recipes", example, source))
    repo = RecipeRepo(example, resolve_source(settings), work / "cache")
    repo.fetch()
    head = repo.checkout(repo.resolve(None), work / "checkouts" / "head")
    base = upgrade_base(head.head_sha, head.ancestor_releases).release
    assert base is not None, f"{example} has no release older than its head"
    base_checkout = repo.checkout(base.sha, work / "checkouts" / base.tag, base.tag)
    app = App.for_checkout(settings, head.head_sha, BASE_DOMAIN, "risks20")
    return (
        build_view(head, app, work / "views" / "head"),
        build_view(base_checkout, app, work / "views" / "base"),
        base.tag,
    )


@pytest.fixture(autouse=True)
def _docker_cli(missing_requirement):
    if shutil.which("docker") is None:
        missing_requirement("no docker CLI: run/view.py merges compose files with `docker stack config`")


def test_configdrift_fails_the_config_rule_in_under_a_second(tmp_path):
    head, base, base_tag = head_and_base("notes-pg-configdrift", tmp_path)
    assert base_tag == "1.1.0+15.20"
    start = time.monotonic()
    results = upgrade_risks(head, base, base_tag)
    took = time.monotonic() - start
    assert took < 1.0, f"upgrade_risks took {took:.2f} s"
    drift = next(r for r in results if r.rule.id == "R022")
    assert drift.status == FAIL, drift.detail
    assert drift.detail.startswith("config app_py: app.py changed since 1.1.0+15.20")
    assert "APP_PY_VERSION=v2" in drift.detail and "bump APP_PY_VERSION" in drift.detail
    assert "only updates to Labels are allowed" in drift.detail
    assert [r.rule.id for r in lint_errors(results)] == ["R022"]  # the lint tier fails on it alone
    # The head also kept the version label of 1.1.0+15.20: a warning, said as such.
    assert {r.rule.id for r in results if r.status == FAIL} == {"R022", "R026"}
    assert head.stack not in drift.detail and str(tmp_path) not in drift.detail


def test_notes_pg_upgrades_without_risk(tmp_path):
    head, base, base_tag = head_and_base("notes-pg", tmp_path)
    assert base_tag == "1.0.0+15.20"
    results = upgrade_risks(head, base, base_tag)
    assert lint_problem(results) == ""
    assert {r.rule.id: r.status for r in results} == dict.fromkeys([f"R02{n}" for n in range(2, 8)], "pass"), [
        r.describe() for r in results if r.status != "pass"
    ]
