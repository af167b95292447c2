"""Upgrade paths on the real swarm: data that does not survive an upgrade, and `--upgrade-from all`
upgrading from every older release in turn."""

from __future__ import annotations

import subprocess
from pathlib import Path

SEED = "/data/.ccci-seed"  # where the upgrade seeds hello's backed-up path


def commit_of(source: Path, ref: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", f"{ref}^{{commit}}"], cwd=source, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_upgrade_that_empties_the_data_volume_fails_naming_the_lost_seed(lab, assert_clean):
    """examples/hello-dataloss: its head empties /data at every start. Install is fine (nothing
    to lose yet); the upgrade from 0.2.0 loses the marker seeded on 0.2.0, and the level stops at 1."""
    lab.enroll("dloss", example="hello-dataloss")
    run = lab.run("--recipe", "dloss", "--tiers", "install,upgrade")
    run.result.assert_outcomes(passed=1, failed=1)
    rec = run.recipe("dloss")
    assert rec["rungs"]["install"]["status"] == "pass", rec["rungs"]["install"]
    upgrade = rec["rungs"]["upgrade"]
    assert upgrade["status"] == "fail", upgrade
    assert upgrade["reason"] == f"data seeded on 0.2.0+1.35.0 lost in the upgrade: {SEED}", upgrade
    assert rec["level"] == 1, rec
    assert rec["why_not_higher"].startswith("L2 upgrade failed: data seeded on 0.2.0+1.35.0 lost"), rec
    # The head itself converged and was stamped: the data, not the deploy, is what failed.
    assert rec["stamps"]["upgrade_stamp"]["chaos-version"] == rec["head_sha"][:8], rec["stamps"]
    assert_clean(rec["domain"])


def test_upgrade_from_all_runs_one_upgrade_per_older_release(lab, assert_clean):
    """hello has two releases (0.1.0, 0.2.0) below an unreleased head: two upgrade items, oldest
    first, each its own lifecycle from a fresh base release on the app domain."""
    source = lab.enroll("uall")
    run = lab.run("--recipe", "uall", "--tiers", "upgrade", "--upgrade-from", "all")
    run.result.assert_outcomes(passed=2)
    rec = run.recipe("uall")
    assert rec["upgrade_runs"] == ["0.1.0+1.35.0", "0.2.0+1.35.0"], rec["upgrade_runs"]
    items = {nodeid: item for nodeid, item in rec["tiers"].items() if item["tier"] == "upgrade"}
    assert len(items) == 2, items
    for tag in ("0.1.0+1.35.0", "0.2.0+1.35.0"):  # one item named after each base release
        assert len([nodeid for nodeid in items if tag in nodeid]) == 1, (tag, items)
    assert all(item["status"] == "pass" for item in items.values()), items
    assert rec["rungs"]["upgrade"]["status"] == "pass", rec["rungs"]["upgrade"]
    # Each base release was really deployed (as a release), and the head in chaos mode after each.
    head = rec["head_sha"][:8]
    deploys = {
        key
        for tag in ("0.1.0+1.35.0", "0.2.0+1.35.0")
        for key in (f"upgrade_from_{tag}_release_{commit_of(source, tag)[:8]}", f"upgrade_from_{tag}_chaos_{head}")
    }
    assert deploys <= set(rec["deploy_durations"]), rec["deploy_durations"]
    assert rec["stamps"]["upgrade_stamp"]["chaos-version"] == head, rec["stamps"]
    assert_clean(rec["domain"])
