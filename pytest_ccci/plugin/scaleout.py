"""The options of scaling out, read at configure (options.py calls these): `--ccci-shard K/N`
with `--ccci-durations PATH`, and the history folder (`--ccci-history DIR`, ini
`ccci_history_dir`). Every bad value is one pytest.UsageError line.

The shard is chosen before collection, from the recipes selected (all enrolled, or `--recipe`):
every process (each xdist worker too) computes the same shard from the same inputs
(documents/shards.py). With recorded wall times the recipes also run longest first, shard or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_ccci.documents.files import read_results
from pytest_ccci.documents.shards import longest_first, parse_shard, select
from pytest_ccci.errors import UsageError


def shard_recipes(config: pytest.Config, recipes: Sequence[str]) -> tuple[tuple[str, ...], str | None]:
    """(the recipes of the shard asked for, the shard as `K/N`), or all of them and None. With
    recorded wall times (--ccci-durations), they run longest first."""
    spec = config.getoption("ccci_shard")
    durations = config.getoption("ccci_durations")
    try:
        shard = parse_shard(spec) if spec is not None else None
    except ValueError as exc:
        raise pytest.UsageError(f"ccci: --ccci-shard {exc}") from None
    recorded = _recorded_walls(config, durations) if durations else {}
    ordered = longest_first(recipes, recorded) if recorded else tuple(recipes)
    if shard is None:
        return ordered, None
    return select(ordered, shard, recorded), str(shard)


def _recorded_walls(config: pytest.Config, given: str) -> dict[str, float]:
    path = Path(config.invocation_params.dir) / given  # an absolute `given` stays as it is
    try:
        return read_results(path).walls()
    except UsageError as exc:
        raise pytest.UsageError(f"ccci: --ccci-durations {exc}") from None


def history_dir(config: pytest.Config) -> Path | None:
    """The history folder: the option relative to where pytest was started, the ini value
    relative to the ini file (as the recipes dir); None when neither is set."""
    given = config.getoption("ccci_history")
    if given:
        return Path(str(config.invocation_params.dir)) / str(given)
    ini = str(config.getini("ccci_history_dir")).strip()
    if not ini:
        return None
    base = config.inipath.parent if config.inipath else Path(config.invocation_params.dir)
    return base / ini
