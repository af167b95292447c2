"""Tiny untrusted recipe inputs must not exhaust the runner (issue 18): each attack ends in one
RecipeError line naming the file, quickly and in little memory; normal recipes read as before."""

import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.envfile import (
    MAX_INTERPOLATION_DEPTH,
    MAX_TREE_DEPTH,
    MAX_VALUE_CHARS,
    interpolate,
    interpolate_tree,
    parse_env_sample,
)
from pytest_ccci.model.view import MAX_TEXT_BYTES, expanded_shape, load_yaml

SECONDS = 2.0
PEAK_BYTES = 64 << 20


@contextmanager
def cheap(traced: bool = True) -> Iterator[None]:
    """The block runs in under SECONDS, and (traced) with a traced memory peak under PEAK_BYTES."""
    if traced:
        tracemalloc.start()
    start = time.monotonic()
    try:
        yield
    finally:
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < SECONDS, f"took {elapsed:.1f} s"
    assert peak < PEAK_BYTES, f"peak {peak >> 20} MiB"


def refused(attack: Callable[[], Any], *words: str, traced: bool = True) -> str:
    with cheap(traced), pytest.raises(RecipeError) as info:
        attack()
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    return message


def doubling_sample(lines: int) -> str:
    return "A0=0123456789abcdef\n" + "".join(f"A{i}=${{A{i - 1}}}${{A{i - 1}}}\n" for i in range(1, lines))


# --- 1. .env.sample lines doubling an earlier value ------------------------------------------


def test_env_sample_doubling_is_refused_at_the_line_that_passes_the_bound():
    # 16 chars doubled 16 times is 1 MiB (allowed); the 18th line (A17) goes past it
    message = refused(lambda: parse_env_sample(doubling_sample(26), "recipe/.env.sample"))
    assert message == "recipe/.env.sample:18: a value expands past 1024 KiB: refused"


def test_env_sample_value_at_the_bound_is_kept():
    sample = parse_env_sample(doubling_sample(17))
    assert len(sample.vars["A16"].value) == MAX_VALUE_CHARS == MAX_TEXT_BYTES


def test_interpolation_is_bounded_as_it_grows_not_after():
    env = {"BIG": "x" * (MAX_VALUE_CHARS // 2 + 1)}
    refused(lambda: interpolate("$BIG" * 10_000, env, "compose.yml"), "compose.yml: ", "expands past")


def test_defaults_nested_without_end_are_refused_not_a_recursion_error():
    text = "${A:-" * 5000 + "x" + "}" * 5000
    refused(lambda: interpolate(text, {}, "compose.yml"), "compose.yml: ", "nested over")
    # at the bound, each level finds its brace in C (not per character) and copies little
    padded = "${A:-" * MAX_INTERPOLATION_DEPTH + "x" * (MAX_TEXT_BYTES - 100) + "}" * MAX_INTERPOLATION_DEPTH
    with cheap():
        assert len(interpolate(padded, {})) == MAX_TEXT_BYTES - 100
    message = refused(lambda: interpolate("${A:-" + padded, {}, "compose.yml"), "compose.yml: ", "unclosed")
    assert len(message) < 300  # an excerpt of the text, not all of it
    assert interpolate("${A:-${B:-${C:-deep}}}", {}) == "deep"


def test_a_long_env_sample_is_read_in_linear_time():
    # each line may use every earlier one: rebuilding that map per line made 30k lines (0.5 MiB)
    # a quadratic 450 million steps
    text = "".join(f"VAR_{i}=value_{i}\n" for i in range(30_000))
    with cheap(traced=False):
        sample = parse_env_sample(text)
    assert sample.vars["VAR_29999"].value == "value_29999"


# --- 2. a compose document's aliases to a big value -------------------------------------------


def aliases_to(value: str, count: int) -> str:
    return "x: &big '" + value + "'\nservices:\n" + "".join(f"  s{i}: *big\n" for i in range(count))


def test_aliases_to_a_big_value_are_refused_by_their_total():
    env = {"A16": "y" * MAX_VALUE_CHARS}
    doc = load_yaml(aliases_to("${A16}", 2000), "compose.yml")
    message = refused(lambda: interpolate_tree(doc, env, "compose.yml"))
    assert message == "compose.yml: interpolated, it expands past 16 MiB: refused"


def test_a_shared_value_is_interpolated_once_and_shared():
    doc = load_yaml(aliases_to("${A}", 3), "compose.yml")
    out = interpolate_tree(doc, {"A": "a" * 1000}, "compose.yml")
    assert out["x"] == "a" * 1000
    assert out["services"]["s0"] is out["services"]["s2"] is out["x"]


def test_shared_mappings_keep_their_contents():
    doc = load_yaml("base: &b {image: '${IMG}', labels: [x]}\nservices:\n  a: *b\n  b: {<<: *b}\n", "c.yml")
    out = interpolate_tree(doc, {"IMG": "nginx"}, "c.yml")
    assert out["services"] == {"a": {"image": "nginx", "labels": ["x"]}, "b": {"image": "nginx", "labels": ["x"]}}


# --- 3. nesting -------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [450, 900, 100_000])
def test_deeply_nested_yaml_is_refused_naming_the_file(levels):
    text = "[" * levels + "]" * levels
    # Untraced: tracemalloc slows PyYAML's per-level bookkeeping some twentyfold; memory is not
    # at stake here (PyYAML's recursion ends the read within ~500 levels, whatever the length).
    message = refused(lambda: load_yaml(text, "compose.yml"), traced=False)
    assert message.startswith("compose.yml: nested too deeply")


def test_nesting_at_the_bound_is_read():
    levels = MAX_TREE_DEPTH
    doc = load_yaml("[" * levels + "'${A}'" + "]" * levels, "compose.yml")
    out = interpolate_tree(doc, {"A": "ok"}, "compose.yml")
    for _ in range(levels):
        out = out[0]
    assert out == "ok"
    with pytest.raises(RecipeError, match="compose.yml: nested too deeply"):
        load_yaml("[" * (levels + 1) + "]" * (levels + 1), "compose.yml")


def test_interpolate_tree_refuses_depth_past_its_bound_without_recursion_error():
    doc: Any = "x"
    for _ in range(5000):
        doc = [doc]
    refused(lambda: interpolate_tree(doc, {}, "compose.yml"), "compose.yml: nested too deeply")


def test_expanded_shape_counts_aliases_and_cycles_without_recursion():
    leaf: list[Any] = [1, 2]
    assert expanded_shape({"a": leaf, "b": [leaf, leaf]}, 100) == (1 + 3 + 1 + 3 + 3, 3)
    loop: list[Any] = []
    loop.append(loop)
    nodes, depth = expanded_shape(loop, 100)
    assert nodes == 101 and depth > 100
    deep: Any = []
    for _ in range(20_000):
        deep = [deep]
    assert expanded_shape(deep, 100)[1] == 20_001
    assert expanded_shape("scalar", 100) == (1, 0)


def test_alias_bomb_is_still_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    refused(lambda: load_yaml("\n".join(lines), "compose.yml"), "compose.yml: ", "alias bomb")


def test_recursive_alias_is_refused():
    # PyYAML builds a list that holds itself
    assert isinstance(yaml.safe_load("&a [*a]")[0], list)
    refused(lambda: load_yaml("&a [*a]", "compose.yml"), "compose.yml: ")
