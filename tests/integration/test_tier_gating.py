"""How one tier's verdict gates the others, on the real swarm: a recipe's own failing test, and
tiers blocked by an install that failed."""

from __future__ import annotations

from recipe_variants import MISSING_IMAGE_ID, compose_step

FAILING_FUNCTIONAL_TEST = """
def test_front_page_answers(app):
    status, _ = app.http("/")
    assert status == 200, f"GET / answered {status}"


def test_version_page_shows_the_promised_revision(app):
    status, body = app.http("/version")
    assert status == 200, f"GET /version answered {status}"
    assert body.strip() == "9", f"/version says {body.strip()!r}, the release notes promise revision 9"
"""
TEST_NAMES = ("test_front_page_answers", "test_version_page_shows_the_promised_revision")


def test_failing_functional_test_fails_the_functional_rung_naming_its_assert(lab, assert_clean):
    """Everything below functional passes, so the level is 3 and the reason is the recipe test's
    own assertion message, with the value the real app served (hello's head serves revision 3)."""
    lab.enroll("ffun")
    (lab.recipes_dir / "ffun" / "test_ffun.py").write_text(FAILING_FUNCTIONAL_TEST)
    run = lab.run("--recipe", "ffun")
    run.result.assert_outcomes(passed=6, failed=1)
    rec = run.recipe("ffun")
    functional = rec["rungs"]["functional"]
    promised = "/version says '3', the release notes promise revision 9"
    repro = f"pytest --recipe ffun --recipes-dir {lab.recipes_dir} --ref {rec['head_sha']} --tiers functional"
    assert functional == {"status": "fail", "reason": promised, "repro": repro}, functional
    assert rec["level"] == 3, rec
    assert rec["why_not_higher"] == f"L4 functional failed: {functional['reason']}", rec["why_not_higher"]
    assert all(rec["rungs"][r]["status"] == "pass" for r in ("install", "upgrade", "backup_restore", "lint")), rec
    functional_items = {nodeid: item for nodeid, item in rec["tiers"].items() if item["tier"] == "functional"}
    status_of = {test: [i["status"] for n, i in functional_items.items() if test in n] for test in TEST_NAMES}
    assert status_of == {TEST_NAMES[0]: ["pass"], TEST_NAMES[1]: ["fail"]}, functional_items
    assert_clean(rec["domain"])


def test_failed_install_blocks_backup_restore_and_functional_as_unverified(lab, assert_clean):
    """The image does not exist: install fails (quickly, on rejected tasks), and every tier that
    stands on it is skipped as `blocked: install fail`, which is unverified, never a skip."""
    steps = compose_step(lab, "noimage", ("    image: ccci/busybox:1.35.0\n", f"    image: {MISSING_IMAGE_ID}\n"))
    lab.enroll("blkd", extra_steps=steps, functional=True, settings={"max_task_failures": 2, "deploy_timeout": 120})
    run = lab.run("--recipe", "blkd", "--tiers", "install,backup,restore,functional")
    run.result.assert_outcomes(failed=1, skipped=6)  # backup, restore and hello's 4 functional tests
    rec = run.recipe("blkd")
    assert rec["rungs"]["install"]["status"] == "fail", rec["rungs"]["install"]
    blocked = {nodeid: item for nodeid, item in rec["tiers"].items() if item["tier"] != "install"}
    tiers = sorted(item["tier"] for item in blocked.values())
    assert tiers == ["backup", "functional", "functional", "functional", "functional", "restore"], blocked
    for nodeid, item in blocked.items():
        assert (item["status"], item["reason"]) == ("unver", "blocked: install fail"), (nodeid, item)
    assert rec["rungs"]["backup_restore"] == {
        "status": "unver",
        "reason": "backup: blocked: install fail; restore: blocked: install fail",
    }, rec["rungs"]["backup_restore"]
    assert rec["rungs"]["functional"] == {"status": "unver", "reason": "blocked: install fail"}, rec["rungs"]
    assert rec["level"] == 0, rec
    assert_clean(rec["domain"])
