"""Shard plans: which recipes shard K of N runs (`--ccci-shard K/N`).

Every recipe lands in exactly one shard, whole. The plan depends only on the set of recipes, N
and the recorded wall times, never on the order recipes were listed in: each CI machine of a
job matrix computes the same plan on its own. Recipes are placed longest first, each onto the
least-loaded shard (ties: the lowest shard number; equal walls: by name); a recipe with no
recorded wall time counts as the median of the recorded ones, and with none recorded at all
every recipe weighs the same, which deals them out round-robin by name.

With recorded walls, a shard (or a whole run) also runs its recipes longest first: xdist then
hands the long ones out early, and the short ones fill the gaps at the end.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(spec: str) -> Shard:
    """`K/N` with 1 <= K <= N; ValueError saying what is wrong otherwise."""
    match = _SPEC.fullmatch(spec or "")
    if not match:
        raise ValueError(f"{spec!r} is not K/N (shard K of N, e.g. 1/4)")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"{spec!r}: K must be between 1 and N, and N at least 1")
    return Shard(index, count)


def weights(recipes: Iterable[str], recorded: Mapping[str, float]) -> dict[str, float]:
    """Each recipe's weight: its recorded wall, else the median of the recorded walls (1 when none)."""
    names = list(recipes)
    known = [recorded[n] for n in names if n in recorded]
    fallback = statistics.median(known) if known else 1.0
    return {n: float(recorded.get(n, fallback)) for n in names}


def plan(recipes: Iterable[str], count: int, recorded: Mapping[str, float] | None = None) -> list[list[str]]:
    """The recipes of each of `count` shards (index 0 is shard 1), each list sorted by name."""
    weight = weights(set(recipes), recorded or {})
    loads = [0.0] * count
    shards: list[list[str]] = [[] for _ in range(count)]
    for name in sorted(weight, key=lambda n: (-weight[n], n)):
        target = min(range(count), key=lambda i: (loads[i], i))
        shards[target].append(name)
        loads[target] += weight[name]
    return [sorted(s) for s in shards]


def longest_first(recipes: Sequence[str], recorded: Mapping[str, float]) -> tuple[str, ...]:
    """The recipes in the order that keeps xdist workers evenly busy: longest first (by name
    among equals), a recipe with no record weighing the median."""
    weight = weights(recipes, recorded)
    return tuple(sorted(dict.fromkeys(recipes), key=lambda n: (-weight[n], n)))


def select(recipes: Sequence[str], shard: Shard, recorded: Mapping[str, float] | None = None) -> tuple[str, ...]:
    """The recipes of `shard`, in the order they were given."""
    mine = set(plan(recipes, shard.count, recorded)[shard.index - 1])
    return tuple(n for n in recipes if n in mine)
