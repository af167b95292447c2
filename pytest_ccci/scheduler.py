"""xdist scheduling: all tiers of one recipe on one worker, in order.

Not `--dist loadgroup`, which silently stops grouping on pytest 9.2 with xdist 3.8
(pytest-xdist issue 1386). A scope scheduler keyed by the recipe keeps node ids clean, too.
"""

from __future__ import annotations

import re

import pytest
from xdist.scheduler import LoadScopeScheduling

from .stash import ccci_context_key

_PARAM = re.compile(r"\[(?P<param>[^\]]*)\]$")


def recipe_of(nodeid: str, recipes: list[str]) -> str | None:
    """The recipe an item belongs to, from its node id's parameter (`[hello]`, `[hello-0.1.0+1]`)."""
    m = _PARAM.search(nodeid)
    if not m:
        return None
    param = m.group("param")
    matches = [r for r in recipes if param == r or param.startswith(r + "-")]
    return max(matches, key=len) if matches else None


class RecipeScheduling(LoadScopeScheduling):
    def __init__(self, config: pytest.Config, log=None):
        super().__init__(config, log)
        self.recipes = list(config.stash[ccci_context_key].recipes)

    def _split_scope(self, nodeid: str) -> str:
        return recipe_of(nodeid, self.recipes) or nodeid


class RecipeSchedulerPlugin:
    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log):
        dist = config.getoption("dist", "no")
        if dist in ("load", "loadscope", "loadgroup", "loadfile", "worksteal"):
            return RecipeScheduling(config, log)
        return None
