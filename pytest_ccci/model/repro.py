"""The repro line: the command that reruns just one failed verdict, and how the reports put it.

`pytest --recipe X --ref <full sha> --tiers T`, with the real options of this plugin:
- `--ref` is the head's full SHA (the ref as given when no commit was resolved: a source that
  could not be fetched);
- `--recipes-dir` is repeated when the run was given one (as it was given: relative to where
  pytest started);
- the upgrade tier pins the base the verdict came from. `--upgrade-from` takes no version (a
  pin is ccci.yml's `upgrade_from`), so the line asks for one item per older release and keeps
  the one of that base by its name: `--upgrade-from all -k 'test_upgrade[1.2.0+3.4.5]'`
  (pytest's -k reads `[`, `]`, `.` and `+` as part of a name). That holds however the base was
  chosen (newest older release, ccci.yml, the history's last green, or `--upgrade-from all`).

Every argument is quoted with shlex: the line is pasted into a shell as it is.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pytest_ccci.model.tiers import TIERS
from pytest_ccci.model.tiers import UPGRADE_TIER as UPGRADE
from pytest_ccci.model.versions import ALL_OLDER


@dataclass(frozen=True)
class Repro:
    """What a repro line reruns: one recipe at one commit, some tiers, the upgrade's base."""

    recipe: str
    ref: str | None
    tiers: tuple[str, ...]
    upgrade_base: str | None = None  # a release tag, pinned when the upgrade tier is among `tiers`
    recipes_dir: str | None = None  # --recipes-dir as the run was given it

    def command(self) -> str:
        """The line, quoted for a POSIX shell."""
        args = ["pytest", "--recipe", self.recipe]
        if self.recipes_dir:
            args += ["--recipes-dir", self.recipes_dir]
        if self.ref:
            args += ["--ref", self.ref]
        args += ["--tiers", ",".join(self.tiers)]
        if self.upgrade_base and UPGRADE in self.tiers:
            args += ["--upgrade-from", ALL_OLDER, "-k", _upgrade_selection(self.tiers, self.upgrade_base)]
        return shlex.join(args)

    def to_wire(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "ref": self.ref,
            "tiers": list(self.tiers),
            "upgrade_base": self.upgrade_base,
            "recipes_dir": self.recipes_dir,
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Repro:
        return cls(
            recipe=data["recipe"],
            ref=data.get("ref"),
            tiers=tuple(data.get("tiers") or ()),
            upgrade_base=data.get("upgrade_base"),
            recipes_dir=data.get("recipes_dir"),
        )


def tier_repro(
    recipe: str, tier: str, ref: str | None, upgrade_base: str | None = None, recipes_dir: str | None = None
) -> Repro:
    """The repro of one tier's verdict (`upgrade_base` counts for the upgrade tier only)."""
    return Repro(recipe, ref, (tier,), upgrade_base if tier == UPGRADE else None, recipes_dir)


def combined(repros: Iterable[Repro]) -> list[Repro]:
    """Repros of one recipe at one commit in as few lines as rerun the same: their tiers
    together, in tier order. A pinned upgrade keeps a line of its own (its -k selects items)."""
    merged: dict[tuple[str, str | None, str | None, str | None], Repro] = {}
    for repro in repros:
        pin = repro.upgrade_base if UPGRADE in repro.tiers else None
        key = (repro.recipe, repro.ref, repro.recipes_dir, pin)
        known = merged.get(key)
        if known is None:
            merged[key] = repro
            continue
        tiers = set(known.tiers) | set(repro.tiers)
        merged[key] = replace(known, tiers=tuple(t for t in TIERS if t in tiers))
    return list(merged.values())


def _upgrade_selection(tiers: tuple[str, ...], base: str) -> str:
    """The -k expression that keeps the upgrade item of `base`, and with other tiers every item
    whose name does not hold `test_upgrade` (-k matches names by substring)."""
    item = f"test_upgrade[{base}]"
    return item if tiers == (UPGRADE,) else f"not test_upgrade or {item}"
