"""Reading results documents and merging shards (documents/files.py, documents/merge.py)."""

from __future__ import annotations

import json

import pytest
from report_docs import doc, entry, typed

from pytest_ccci.documents.files import read_results
from pytest_ccci.documents.merge import merge
from pytest_ccci.documents.results import RecipeResult
from pytest_ccci.errors import UsageError


def test_merge_takes_each_recipe_whole_from_its_shard():
    one = doc({"a": entry("a", level=5), "c": entry("c", level=2)}, run_id="r1", finished="2026-01-01T00:10:00Z")
    two = doc({"b": entry("b", level=0)}, run_id="r2", finished="2026-01-01T00:12:00Z", shard="2/2")
    one["shard"] = "1/2"

    merged = merge([("one.json", typed(one)), ("two.json", typed(two))]).to_wire()

    assert list(merged["recipes"]) == ["a", "b", "c"]
    assert {n: e["level"] for n, e in merged["recipes"].items()} == {"a": 5, "b": 0, "c": 2}
    assert merged["recipes"]["b"]["run_id"] == "r2"
    assert merged["recipes"]["a"]["finished"] == "2026-01-01T00:10:00Z"
    assert merged["finished"] == "2026-01-01T00:12:00Z"
    assert [(r["run_id"], r["shard"]) for r in merged["merged_from"]] == [("r1", "1/2"), ("r2", "2/2")]
    assert merged["schema"] == one["schema"]


def test_a_merged_document_merges_again_keeping_its_runs():
    merged = merge(
        [("one", typed(doc({"a": entry("a")}, run_id="r1"))), ("two", typed(doc({"b": entry("b")}, run_id="r2")))]
    )
    again = merge([("merged", merged), ("three", typed(doc({"c": entry("c")}, run_id="r3")))]).to_wire()
    assert [r["run_id"] for r in again["merged_from"]] == ["r1", "r2", "r3"]
    assert {n: e["run_id"] for n, e in again["recipes"].items()} == {"a": "r1", "b": "r2", "c": "r3"}


def test_a_recipe_in_two_inputs_is_refused_naming_both():
    with pytest.raises(UsageError, match="recipe a is in two inputs: one.json and two.json"):
        merge([("one.json", typed(doc({"a": entry("a")}))), ("two.json", typed(doc({"a": entry("a")}, run_id="r2")))])


def test_mixed_schemas_are_refused_naming_the_files():
    other = doc({"b": entry("b")})
    other["schema"] = "pytest-ccci/results/2"
    with pytest.raises(UsageError, match="different schemas: one.json is pytest-ccci/results/1, two.json is .*/2"):
        merge([("one.json", typed(doc({"a": entry("a")}))), ("two.json", typed(other))])


def test_nothing_to_merge():
    with pytest.raises(UsageError, match="nothing to merge"):
        merge([])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not JSON"),
        ('{"schema": "something/else", "recipes": {}}', "not a pytest-ccci results.json"),
        ('{"schema": "pytest-ccci/results/9", "recipes": {}}', "schema pytest-ccci/results/9 is not the one"),
        ('{"schema": "pytest-ccci/results/1"}', "has no recipes mapping"),
        ("[1, 2]", "not a pytest-ccci results.json"),
    ],
)
def test_a_file_that_is_not_a_results_document_is_one_line_naming_it(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=expected) as caught:
        read_results(path)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        read_results(tmp_path / "absent.json")
    with pytest.raises(UsageError, match="is a directory"):
        read_results(tmp_path)


def test_load_reads_what_the_results_writer_writes(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc({"a": entry("a", wall=12.5)})))
    assert read_results(path).walls() == {"a": 12.5}


def test_wall_time_falls_back_to_the_tier_durations_of_older_documents():
    old = entry("a", wall=None)
    old["durations"] = {"install": 3.0, "lint": 0.5}
    assert RecipeResult.from_wire(old).wall == 3.5
    assert RecipeResult.from_wire(entry("b", wall=7)).wall == 7.0
    none = entry("c", wall=None)
    none["durations"] = {}
    assert RecipeResult.from_wire(none).wall is None


def test_tier_statuses_take_the_worst_item_of_a_tier():
    e = entry("a", tiers={"install": "pass", "lint": "fail"})
    e["tiers"]["recipes/a/test_a.py::test_one"] = {"tier": "functional", "status": "pass", "reason": ""}
    e["tiers"]["recipes/a/test_a.py::test_two"] = {"tier": "functional", "status": "fail", "reason": "no"}
    statuses = RecipeResult.from_wire(e).tier_statuses()
    assert {t: s.value for t, s in statuses.items()} == {"install": "pass", "lint": "fail", "functional": "fail"}
