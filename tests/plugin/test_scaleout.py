"""Scaling out, through pytester: `--ccci-shard K/N` (with `--ccci-durations`), the history a
run adds to (`--ccci-history`), the report command over shard results, and
`upgrade_from: last-green` choosing its base from the history. Lint-only runs: no swarm needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ccci_testkit import RELEASE, collected_ids, load_json, make_repo

from pytest_ccci.documents.history import load, record
from pytest_ccci.documents.results import SCHEMA, ResultsDocument, UpgradeBase
from pytest_ccci.errors import RecipeError
from pytest_ccci.model.versions import LAST_GREEN
from pytest_ccci.run.context import RunContext, RunOptions
from pytest_ccci.run.lifecycle import RecipeLifecycle

RECIPES = ("a", "b", "c", "d", "e")


def recipes_of(ids: list[str]) -> set[str]:
    return {nodeid.split("::")[0].split("/")[1] for nodeid in ids}


@pytest.fixture
def five(project):
    for name in RECIPES:
        project.enroll(name)
    return project


def test_shards_split_the_recipes_whole_and_disjoint(five):
    everything = collected_ids(five.run_inprocess("--collect-only", "-q", "--tiers", "lint,install"))
    parts = []
    for k in (1, 2, 3):
        result = five.run_inprocess("--collect-only", "-q", "--tiers", "lint,install", "--ccci-shard", f"{k}/3")
        assert result.ret == pytest.ExitCode.OK
        parts.append(collected_ids(result))
    assert sorted(i for part in parts for i in part) == sorted(everything)
    # Whole recipes: each shard has both tier items of each of its recipes, in the usual order.
    for part in parts:
        assert part == [f"ccci/{r}::test_{t}" for r in sorted(recipes_of(part)) for t in ("lint", "install")]
    # Without records, round-robin by name: the same split on every machine.
    assert [sorted(recipes_of(p)) for p in parts] == [["a", "d"], ["b", "e"], ["c"]]


def test_the_shard_is_named_in_the_header(five):
    result = five.run_inprocess("--collect-only", "--tiers", "lint", "--ccci-shard", "2/2")
    result.stdout.fnmatch_lines(["ccci: shard 2/2: 2 recipes: b, d"])


def test_shards_balance_by_recorded_wall_time(five):
    walls = {"a": 100.0, "b": 90.0, "c": 10.0, "d": 10.0, "e": 5.0}
    previous = {
        "schema": SCHEMA,
        "recipes": {n: {"level": 0, "wall_seconds": w} for n, w in walls.items() if n != "e"},
    }
    (five.pytester.path / "previous.json").write_text(json.dumps(previous))
    shards = []
    for k in (1, 2):
        result = five.run_inprocess(
            "--collect-only", "-q", "--tiers", "lint", "--ccci-shard", f"{k}/2", "--ccci-durations", "previous.json"
        )
        shards.append(sorted(recipes_of(collected_ids(result))))
    # e has no record: it weighs the median of 100, 90, 10, 10, i.e. 50. Longest first, each onto the
    # least-loaded shard: a(100) -> 1, b(90) -> 2, e(50) -> 2 (140), c(10) -> 1 (110), d(10) -> 1 (120).
    assert shards == [["a", "c", "d"], ["b", "e"]]


def test_durations_run_the_longest_recipes_first(five):
    walls = {"a": 5.0, "b": 50.0, "c": 20.0, "d": 20.0}  # e: no record, the median 20
    previous = {"schema": SCHEMA, "recipes": {n: {"level": 0, "wall_seconds": w} for n, w in walls.items()}}
    (five.pytester.path / "previous.json").write_text(json.dumps(previous))
    result = five.run_inprocess("--collect-only", "-q", "--tiers", "lint", "--ccci-durations=previous.json")
    assert collected_ids(result) == [f"ccci/{n}::test_lint" for n in ("b", "c", "d", "e", "a")]
    shard = five.run_inprocess(
        "--collect-only", "-q", "--tiers", "lint", "--ccci-durations=previous.json", "--ccci-shard=2/2"
    )
    # Longest first onto the least-loaded shard: b(50) -> 1; c -> 2 (20); d -> 2 (40 < 50); e -> 2
    # (2 had 40, less than 50); a(5) -> 1. Shard 2 runs c, d, e, longest first (ties by name).
    assert collected_ids(shard) == ["ccci/c::test_lint", "ccci/d::test_lint", "ccci/e::test_lint"]


def test_shard_with_recipe_selection_and_tiers(five):
    result = five.run_inprocess(
        "--collect-only",
        "-q",
        "--tiers",
        "lint",
        "--recipe",
        "e",
        "--recipe",
        "b",
        "--recipe",
        "c",
        "--ccci-shard",
        "1/2",
    )
    # b, c, e dealt by name: b and e in shard 1, run in the order asked for.
    assert collected_ids(result) == ["ccci/e::test_lint", "ccci/b::test_lint"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--ccci-shard", "0/2"], "--ccci-shard '0/2': K must be between 1 and N"),
        (["--ccci-shard", "3/2"], "--ccci-shard '3/2': K must be between 1 and N"),
        (["--ccci-shard", "half"], "--ccci-shard 'half' is not K/N"),
        (
            ["--ccci-shard", "1/2", "--ccci-durations", "absent.json"],
            "--ccci-durations {tmp}/absent.json: no such file",
        ),
        (["--ccci-shard", "1/2", "--ccci-durations=bad.json"], "--ccci-durations {tmp}/bad.json: not JSON"),
        (["--upgrade-from", "last-green"], "--upgrade-from last-green reads the history: give --ccci-history DIR"),
        (["--ccci-history=blocker/history"], "cannot create {tmp}/blocker/history"),
    ],
)
def test_bad_scaling_options_are_one_line_exit_4(five, args, expected):
    (five.pytester.path / "bad.json").write_text("{nope")
    (five.pytester.path / "blocker").write_text("")
    result = five.run("--tiers", "lint", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.errlines if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("ERROR: ccci: ")
    assert expected.format(tmp=five.pytester.path) in lines[0]


def test_shards_under_xdist_write_their_own_recipes_and_the_shard(five):
    result = five.run("--tiers", "lint", "-n", "2", "--ccci-shard", "1/2", "--ccci-json", "shard1.json")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    doc = load_json(five.pytester.path / "shard1.json")
    assert sorted(doc["recipes"]) == ["a", "c", "e"]
    assert doc["shard"] == "1/2"
    entry = doc["recipes"]["a"]
    assert entry["wall_seconds"] > 0
    assert entry["wall_seconds"] == pytest.approx(sum(entry["durations"].values()), abs=0.01)
    assert entry["head_release"] == RELEASE  # the test repos tag their head


def test_two_shards_merge_into_the_levels_of_one_run(project):
    project.enroll("a")
    project.repo("b", service="web")  # lints with errors
    project.enroll("b", source="../../src/b")
    project.enroll("c")
    single = project.run("--tiers", "lint", "--ccci-json", "single.json")
    for k in (1, 2):
        project.run("--tiers", "lint", "--ccci-shard", f"{k}/2", "--ccci-json", f"shard{k}.json")
    tmp = project.pytester.path
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_ccci", "report", "shard1.json", "shard2.json", "--out", "site"],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    merged, one = load_json(tmp / "site" / "results.json"), load_json(tmp / "single.json")
    assert single.ret == pytest.ExitCode.TESTS_FAILED
    assert {n: (e["level"], e["rungs"]) for n, e in merged["recipes"].items()} == {
        n: (e["level"], e["rungs"]) for n, e in one["recipes"].items()
    }
    assert sorted(r["shard"] for r in merged["merged_from"]) == ["1/2", "2/2"]


def test_history_gets_each_run_once_and_not_a_listing(project):
    project.enroll("a")
    history = project.pytester.path / "hist"
    project.run("--tiers", "lint", "--collect-only", "--ccci-history", str(history))
    assert not list(history.glob("*.json"))  # nothing ran
    for _ in range(2):
        result = project.run("--tiers", "lint", f"--ccci-history={history}")
        assert result.ret == pytest.ExitCode.OK
    points = load(history)["a"].points
    assert [(p.level, p.statuses(), p.release) for p in points] == [(0, {"lint": "pass"}, RELEASE)] * 2
    assert len({p.run_id for p in points}) == 2


def test_history_dir_from_the_ini_file(project):
    project.enroll("a")
    project.pytester.makeini("[pytest]\nccci_history_dir = ci/history\n")
    result = project.run("--tiers", "lint")
    assert result.ret == pytest.ExitCode.OK
    assert len(list((project.pytester.path / "ci" / "history").glob("*.json"))) == 1


# -- upgrade_from: last-green, on a real checkout (git only) -------------------------------------


def lifecycle_for(tmp_path: Path, upgrade_from: str, history_dir: Path | None, settings: str = "") -> RecipeLifecycle:
    make_repo(tmp_path / "src", name="app", tags=("1.0.0+1", "1.1.0+1", ""))  # an unreleased head above two
    folder = tmp_path / "recipes" / "app"
    folder.mkdir(parents=True)
    (folder / "ccci.yml").write_text(f"source: {tmp_path / 'src'}\n{settings}")
    ctx = RunContext(
        options=RunOptions(
            recipes_dir=tmp_path / "recipes",
            ref=None,
            base_domain="ccci.test",
            cache_dir=tmp_path / "cache",
            lock_dir=tmp_path / "locks",
            lock_timeout=5,
            max_deploys=1,
            history_dir=history_dir,
            upgrade_from=upgrade_from,
        ),
        make_run_dir=lambda: tmp_path / "run",
        run_id="t",
        progress=lambda _msg: None,
        connect=lambda: pytest.fail("no swarm wanted"),
    )
    return RecipeLifecycle(ctx, "app")


def green_at(history: Path, release: str, n: int) -> None:
    run = {
        "schema": SCHEMA,
        "run_id": f"r{n}",
        "finished": f"2026-01-0{n}T00:00:00Z",
        "recipes": {
            "app": {"level": 1, "head_release": release, "tiers": {"i": {"tier": "install", "status": "pass"}}}
        },
    }
    record(history, ResultsDocument.from_wire(run))


@pytest.mark.parametrize("how", ["option", "settings"])
def test_last_green_picks_the_historys_release_over_the_newest(tmp_path, how):
    history = tmp_path / "history"
    green_at(history, "1.0.0+1", 1)
    upgrade_from, settings = ("last-green", "") if how == "option" else ("auto", f"upgrade_from: {LAST_GREEN}\n")
    base = lifecycle_for(tmp_path, upgrade_from, history, settings).upgrade_base()
    assert (base.release.tag if base.release else None, base.how) == ("1.0.0+1", "last green release (history)")


def test_last_green_falls_back_with_a_note_when_the_history_has_none(tmp_path):
    lifecycle = lifecycle_for(tmp_path, "last-green", tmp_path / "empty-history")
    base = lifecycle.upgrade_base()
    assert base.release is not None and base.release.tag == "1.1.0+1"
    how = "newest older release (the history has no green release)"
    assert lifecycle.facts.upgrade_base == UpgradeBase("1.1.0+1", how)


def test_a_base_of_upgrade_from_all_is_recorded_with_its_run(tmp_path):
    lifecycle = lifecycle_for(tmp_path, "all", None)
    base = lifecycle.upgrade_base("1.0.0+1")
    assert base.release is not None and base.release.tag == "1.0.0+1"
    assert lifecycle.facts.upgrade_base == UpgradeBase("1.0.0+1", "--upgrade-from all")
    assert lifecycle.facts.upgrade_runs == ["1.0.0+1"]
    with pytest.raises(RecipeError, match="release 9.9.9 is gone since collection"):
        lifecycle.upgrade_base("9.9.9")


def test_last_green_in_settings_without_a_history_says_so(tmp_path):
    base = lifecycle_for(tmp_path, "auto", None, f"upgrade_from: {LAST_GREEN}\n").upgrade_base()
    assert base.release is not None and base.release.tag == "1.1.0+1"
    assert base.how == "newest older release (no history to read: set --ccci-history or ini ccci_history_dir)"
