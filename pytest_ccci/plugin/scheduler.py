"""xdist scheduling: all tiers of one recipe on one worker, in order.

Not `--dist loadgroup`, which silently stops grouping on pytest 9.2 with xdist 3.8
(pytest-xdist issue 1386). A scope scheduler keyed by the recipe keeps node ids clean, too.
"""

from __future__ import annotations

import re

import pytest
from xdist.scheduler import LoadScopeScheduling

from pytest_ccci.run.results import PROPERTY
from pytest_ccci.plugin.stash import ccci_context_key

_PARAM = re.compile(r"\[(?P<param>[^\]]*)\]$")


def recipe_of(nodeid: str, recipes: list[str]) -> str | None:
    """The recipe an item belongs to, from its node id's parameter (`[hello]`, `[hello-0.1.0+1]`)."""
    m = _PARAM.search(nodeid)
    if not m:
        return None
    param = m.group("param")
    matches = [r for r in recipes if param == r or param.startswith(r + "-")]
    return max(matches, key=len) if matches else None


def tier_of(nodeid: str) -> str:
    """The tier of a node id: `ccci::test_<tier>[...]`, else a recipe's own (functional) test."""
    m = re.match(r"^(?:.*/)?ccci::test_(?P<tier>[a-z]+)\[", nodeid)
    return m.group("tier") if m else "functional"


class RecipeScheduling(LoadScopeScheduling):
    def __init__(self, config: pytest.Config, log=None):
        super().__init__(config, log)
        self.recipes = list(config.stash[ccci_context_key].recipes)

    def _split_scope(self, nodeid: str) -> str:
        return recipe_of(nodeid, self.recipes) or nodeid


class RecipeSchedulerPlugin:
    def pytest_handlecrashitem(self, crashitem: str, report, sched) -> None:
        """A worker died running this item: its verdict is `unver` (never a pass or a fail of the
        recipe), named as a crash. The rest of the recipe's items go to another worker, whose
        lifecycle reaps the dead worker's leftovers before deploying again."""
        recipes = list(sched.config.stash[ccci_context_key].recipes) if hasattr(sched, "config") else []
        recipe = recipe_of(crashitem, recipes)
        if recipe is None:
            return
        text = " ".join(str(report.longrepr).split())[:200]
        setattr(report, PROPERTY, {"recipe": recipe, "tier": tier_of(crashitem), "status": "unver",
                                   "reason": f"infrastructure: the xdist worker crashed running it ({text})"})

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log):
        dist = config.getoption("dist", "no")
        if dist in ("load", "loadscope", "loadgroup", "loadfile", "worksteal"):
            return RecipeScheduling(config, log)
        return None
