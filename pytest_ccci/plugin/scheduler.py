"""xdist scheduling: all items of one recipe on one worker, in order.

Not `--dist loadgroup`, which silently stops grouping on pytest 9.2 with xdist 3.8
(pytest-xdist issue 1386). A scope scheduler keyed by the recipe keeps node ids clean, too.
The controller only sees node ids; the recipe is in their path part (see collection.py), so a
recipe's own test parametrized any way it likes still runs on its recipe's worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from pytest_ccci.model.text import one_line
from pytest_ccci.model.verdict import REPORT_ATTRIBUTE, Status, TierVerdict
from pytest_ccci.plugin.collection import TierItem, recipes_nodeid_prefix, tier_item_of_nodeid
from pytest_ccci.plugin.state import RUN_ID_KEY, CcciContext

# The --dist modes that hand out work by scope; any other (e.g. `each`) is left to xdist.
SCOPED_MODES = ("load", "loadscope", "loadgroup", "loadfile", "worksteal")


class RecipeScheduling(LoadScopeScheduling):
    """xdist's scope scheduler, with the recipe as the scope."""

    def __init__(self, config: pytest.Config, log: Any, plugin: RecipeSchedulerPlugin):
        super().__init__(config, log)
        self.plugin = plugin

    def _split_scope(self, nodeid: str) -> str:
        tier_item = self.plugin.tier_item(nodeid)
        return tier_item.recipe if tier_item is not None else nodeid


class RecipeSchedulerPlugin:
    """The controller's xdist hooks: the workers share its run id, the scheduler keeps a recipe
    on one worker, and a worker's crash is named as an unverified tier."""

    def __init__(self, ctx: CcciContext, rootpath: Path):
        self.run_id = ctx.runtime.run_id
        self.recipes = frozenset(ctx.options.recipes)
        self.recipes_prefix = recipes_nodeid_prefix(rootpath, ctx.options.recipes_dir)

    def pytest_configure_node(self, node: Any) -> None:
        """Every worker takes the controller's run id (labels, results)."""
        node.workerinput[RUN_ID_KEY] = self.run_id

    def tier_item(self, nodeid: str) -> TierItem | None:
        return tier_item_of_nodeid(nodeid, self.recipes_prefix, self.recipes)

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        """A worker died running this item: its verdict is `unver` (never a pass or a fail of the
        recipe), named as a crash. The rest of the recipe's items go to another worker, whose
        lifecycle reaps the dead worker's leftovers before deploying again."""
        tier_item = self.tier_item(crashitem)
        if tier_item is None:
            return
        reason = f"infrastructure: the xdist worker crashed running it ({one_line(report.longrepr)})"
        verdict = TierVerdict(tier_item.recipe, tier_item.tier, Status.UNVER, reason)
        setattr(report, REPORT_ATTRIBUTE, verdict.to_wire())

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> RecipeScheduling | None:
        if config.getoption("dist", "no") in SCOPED_MODES:
            return RecipeScheduling(config, log, self)
        return None
