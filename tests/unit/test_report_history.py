"""The history of runs (documents/history.py writes and reads it): recorded once
per run, levels over time, flake rates (the same head passed and failed the same tier) and the
last green release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_docs import doc, entry, typed

from pytest_ccci.documents.history import HISTORY_SCHEMA, Flake, RecipeHistory, last_green_release, load, record
from pytest_ccci.documents.merge import merge
from pytest_ccci.errors import UsageError

PASS_INSTALL = {"install": "pass", "functional": "pass", "lint": "pass"}
FAIL_FUNCTIONAL = {"install": "pass", "functional": "fail", "lint": "pass"}


def run(n: int, tiers: dict, head: str = "h1", release: str | None = None, level: int = 5, name: str = "app") -> dict:
    """Run number n (a day apart), of one recipe."""
    return doc(
        {name: entry(name, tiers=tiers, head=head, release=release, level=level)},
        run_id=f"202601{n:02d}000000-run{n:03d}",
        finished=f"2026-01-{n:02d}T00:10:00Z",
    )


def test_record_writes_one_compact_file_per_run_once(tmp_path):
    first = run(1, PASS_INSTALL, release="1.0.0+1")
    written = record(tmp_path, typed(first))
    assert [p.name for p in written] == ["20260101000000-run001.json"]
    saved = json.loads(written[0].read_text())
    assert saved["schema"] == HISTORY_SCHEMA
    assert saved["tier_order"] == "install,upgrade,backup,restore,functional,lint"
    assert saved["recipes"]["app"] == {"level": 5, "head": "h1", "release": "1.0.0+1", "tiers": "p---pp", "wall": 10.0}
    point = load(tmp_path)["app"].points[0]
    assert point.statuses() == {"install": "pass", "functional": "pass", "lint": "pass"}
    assert record(tmp_path, typed(first)) == []  # the same run again: nothing changes
    assert len(load(tmp_path)["app"].points) == 1


def test_a_merged_document_records_each_shard_run_once(tmp_path):
    one, two = run(1, PASS_INSTALL, name="a"), run(2, PASS_INSTALL, name="b")
    record(tmp_path, typed(one))  # shard 1 recorded itself with --ccci-history
    written = record(tmp_path, merge([("one", typed(one)), ("two", typed(two))]))
    assert [p.name for p in written] == ["20260102000000-run002.json"]
    history = load(tmp_path)
    assert {n: len(h.points) for n, h in history.items()} == {"a": 1, "b": 1}


def test_flaky_tier_made_on_purpose(tmp_path):
    """Head h1's functional tier passes, fails, passes: a flake. Head h2 fails lint every time:
    a real failure, not a flake."""
    history_runs = [
        run(1, PASS_INSTALL, head="h1"),
        run(2, FAIL_FUNCTIONAL, head="h1", level=3),
        run(3, PASS_INSTALL, head="h1"),
        run(4, {"install": "pass", "lint": "fail"}, head="h2", level=4),
        run(5, {"install": "pass", "lint": "fail"}, head="h2", level=4),
    ]
    flakes = _history(tmp_path, history_runs).flakes()
    assert flakes["functional"] == Flake(rate=pytest.approx(1 / 3), flaky_heads=1, runs=3)
    assert flakes["lint"] == Flake(rate=0.0, flaky_heads=0, runs=5)
    assert flakes["install"] == Flake(rate=0.0, flaky_heads=0, runs=5)
    assert list(flakes) == ["install", "functional", "lint"]  # tier order


def test_skips_and_unverified_verdicts_are_not_flakes(tmp_path):
    h = _history(tmp_path, [run(1, {"install": "pass"}), run(2, {"install": "unver"}), run(3, {"install": "skip"})])
    assert h.flakes()["install"] == Flake(0.0, 0, 1)


def test_last_green_is_the_highest_release_whose_latest_run_was_green(tmp_path):
    h = _history(
        tmp_path,
        [
            run(1, PASS_INSTALL, release="1.0.0+1"),
            run(2, PASS_INSTALL, release="1.2.0+1"),
            run(3, FAIL_FUNCTIONAL, release="1.2.0+1"),  # 1.2.0's latest run failed
            run(4, PASS_INSTALL, release="1.1.0+1"),
            run(5, PASS_INSTALL, release=None),  # an unreleased head: not a release
            run(6, {"install": "fail"}, release="2.0.0+1", level=0),
        ],
    )
    assert h.last_green() == "1.1.0+1"


def test_green_needs_the_install_tier_passed_and_nothing_failed(tmp_path):
    lint_only = _history(tmp_path / "a", [run(1, {"lint": "pass"}, release="1.0.0+1")])
    assert lint_only.last_green() is None  # install never ran
    unverified = _history(tmp_path / "b", [run(1, {"install": "pass", "upgrade": "unver"}, release="1.0.0+1")])
    assert unverified.last_green() == "1.0.0+1"  # nothing failed


def test_levels_over_time_and_since_when(tmp_path):
    runs = [run(1, PASS_INSTALL, level=5), run(2, FAIL_FUNCTIONAL, level=3), run(3, PASS_INSTALL), run(4, PASS_INSTALL)]
    h = _history(tmp_path, runs)
    assert [p.level for p in h.levels()] == [5, 3, 5, 5]
    assert [p.level for p in h.levels(2)] == [5, 5]
    assert h.since() == "2026-01-03T00:10:00Z"


def test_runs_load_in_the_order_they_finished(tmp_path):
    for n in (3, 1, 2):
        record(tmp_path, typed(run(n, PASS_INSTALL, level=n)))
    assert [p.level for p in load(tmp_path)["app"].points] == [1, 2, 3]


def test_last_green_release_reads_one_recipe(tmp_path):
    record(tmp_path, typed(run(1, PASS_INSTALL, release="0.1.0+1", name="a")))
    record(tmp_path, typed(run(2, PASS_INSTALL, release="0.2.0+1", name="b")))
    assert last_green_release(tmp_path, "a") == "0.1.0+1"
    assert last_green_release(tmp_path, "nobody") is None
    assert last_green_release(tmp_path / "absent", "a") is None


def test_a_file_in_the_history_that_is_not_one_is_one_line_naming_it(tmp_path):
    (tmp_path / "stray.json").write_text('{"hello": 1}')
    with pytest.raises(UsageError, match=f"history file {tmp_path / 'stray.json'}: not a {HISTORY_SCHEMA} file"):
        load(tmp_path)
    (tmp_path / "stray.json").write_text("{broken")
    with pytest.raises(UsageError, match="cannot be read"):
        load(tmp_path)


def test_a_history_path_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="is not a directory"):
        load(tmp_path / "file")


def _history(folder: Path, runs: list[dict]) -> RecipeHistory:
    for r in runs:
        record(folder, typed(r))
    return load(folder)["app"]


def test_a_file_written_with_another_tier_order_reads_in_todays(tmp_path):
    """A history outlives releases of pytest-ccci: letters are read by the order the file lists."""
    old = {
        "schema": HISTORY_SCHEMA,
        "run_id": "old",
        "finished": "2025-01-01T00:00:00Z",
        "tier_order": "lint,install,retired",
        "recipes": {"app": {"level": 1, "head": "h", "release": None, "tiers": "fpp", "wall": 1.0}},
    }
    (tmp_path / "old.json").write_text(json.dumps(old))
    point = load(tmp_path)["app"].points[0]
    assert point.statuses() == {"install": "pass", "lint": "fail"}
    assert not point.green
