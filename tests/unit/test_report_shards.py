"""Shard plans (report/shards.py): every recipe in exactly one shard, whole; the same plan on
every machine; balanced by recorded wall time, longest first onto the least-loaded shard."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_ccci.documents.shards import Shard, longest_first, parse_shard, plan, select, weights


@pytest.mark.parametrize(("spec", "expected"), [("1/1", Shard(1, 1)), ("2/4", Shard(2, 4)), (" 3 / 3 ", Shard(3, 3))])
def test_parse_shard(spec, expected):
    assert parse_shard(spec) == expected
    assert str(parse_shard(spec)) == f"{expected.index}/{expected.count}"


@pytest.mark.parametrize("spec", ["", "1", "0/2", "3/2", "1/0", "a/b", "-1/2", "1/2/3", "1.5/2"])
def test_parse_shard_refuses(spec):
    with pytest.raises(ValueError, match="K/N|between 1 and N"):
        parse_shard(spec)


names = st.lists(st.text("abcdefghij-", min_size=1, max_size=6), unique=True, max_size=30)


@given(names, st.integers(1, 7), st.dictionaries(st.text("abcdefghij-", min_size=1, max_size=6), st.floats(0, 1e4)))
def test_every_recipe_is_in_exactly_one_shard(recipes, count, recorded):
    shards = plan(recipes, count, recorded)
    assert len(shards) == count
    flat = [n for s in shards for n in s]
    assert sorted(flat) == sorted(recipes)
    assert [select(recipes, Shard(k, count), recorded) for k in range(1, count + 1)] == [
        tuple(n for n in recipes if n in s) for s in shards
    ]


@given(names, st.integers(1, 5), st.randoms())
def test_the_plan_does_not_depend_on_the_order_recipes_are_listed(recipes, count, rnd):
    shuffled = list(recipes)
    rnd.shuffle(shuffled)
    walls = {n: float(len(n)) for n in recipes[::2]}
    assert plan(recipes, count, walls) == plan(shuffled, count, walls)


def test_without_records_recipes_are_dealt_round_robin_by_name():
    assert plan(["e", "a", "d", "c", "b"], 2) == [["a", "c", "e"], ["b", "d"]]


def test_longest_first_onto_the_least_loaded_shard():
    walls = {"big": 100.0, "mid": 60.0, "s1": 30.0, "s2": 30.0, "s3": 10.0}
    # big -> 1 (100); mid -> 2 (60); s1 -> 2 (90); s2 -> 2 (120, as 90 < 100); s3 -> 1 (110)
    assert plan(list(walls), 2, walls) == [["big", "s3"], ["mid", "s1", "s2"]]


def test_a_recipe_without_a_record_weighs_the_median():
    assert weights(["a", "b", "c", "new"], {"a": 10.0, "b": 20.0, "c": 90.0}) == {
        "a": 10.0,
        "b": 20.0,
        "c": 90.0,
        "new": 20.0,
    }
    assert weights(["x"], {}) == {"x": 1.0}


def test_balanced_shards_beat_round_robin_on_skewed_walls():
    walls = {f"r{i:02d}": (300.0 if i in (0, 2) else 10.0) for i in range(12)}
    balanced = plan(list(walls), 2, walls)
    loads = [sum(walls[n] for n in s) for s in balanced]
    assert max(loads) == 350.0  # each long recipe on its own shard with five short ones
    naive = plan(list(walls), 2)
    assert max(sum(walls[n] for n in s) for s in naive) == 640.0  # by name, both long ones together


def test_more_shards_than_recipes_leaves_shards_empty():
    assert plan(["a", "b"], 4) == [["a"], ["b"], [], []]
    assert select(["a", "b"], Shard(3, 4)) == ()


def test_longest_first_orders_by_recorded_wall_then_name():
    assert longest_first(["a", "b", "c", "new"], {"a": 1.0, "b": 9.0, "c": 5.0}) == ("b", "c", "new", "a")
