"""Typed stash keys: where the plugin keeps its state on the config and on items."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ccci.run.lifecycle import RecipeLifecycle, RunContext
    from pytest_ccci.run.results import Results


@dataclass(frozen=True)
class TierItem:
    """Which recipe and tier a pytest item belongs to."""

    recipe: str
    tier: str


@dataclass
class CcciContext:
    """Per-process state: the run context, and the lifecycles of the recipes in progress."""

    runtime: "RunContext"
    recipes: list[str]
    tiers: tuple[str, ...]
    lifecycles: dict[str, "RecipeLifecycle"] = field(default_factory=dict)
    # Verdicts seen in this process, for skipping tiers whose prerequisite did not pass.
    outcomes: dict[tuple[str, str], str] = field(default_factory=dict)

    def secret_values(self) -> list[str]:
        """Every secret this process knows: generated ones, and secret-shaped settings values."""
        return [*self.runtime.vault.values(), *(v for lc in self.lifecycles.values() for v in lc.secret_values())]

    def lifecycle(self, name: str) -> "RecipeLifecycle":
        from pytest_ccci.run.lifecycle import RecipeLifecycle

        if name not in self.lifecycles:
            self.lifecycles[name] = RecipeLifecycle(self.runtime, name)
        return self.lifecycles[name]


ccci_context_key = pytest.StashKey[CcciContext]()
tier_item_key = pytest.StashKey[TierItem]()
results_key = pytest.StashKey["Results"]()
