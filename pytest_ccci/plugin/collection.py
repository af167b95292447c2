"""Collection: the tier items of each selected recipe, its own functional tests, and their order.

Node ids carry the recipe in their path part, never in a `[...]` parameter:
- the tier module is collected once per recipe, as `ccci/<recipe>` (items `ccci/hello::test_install`);
- a recipe's own tests live under `<recipes dir>/<recipe>/` (items `recipes/hello/test_hello.py::...`).
So the xdist scheduler, which only sees node ids, finds a recipe without reading parameters
(`recipe_scope`), and a recipe's test parametrized any way it likes stays with its recipe. On
the process that runs them, items carry their recipe and tier as a `TierItem` in their stash.

Collection reads no file contents and runs no git (except `--upgrade-from all`, which must
list the releases): it stays fast with hundreds of recipes.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from pytest_ccci.errors import CcciError
from pytest_ccci.model.tiers import TIER_OF_TEST_FUNCTION, UPGRADE_TIER, worker_position
from pytest_ccci.model.versions import ALL_OLDER
from pytest_ccci.plugin.options import CcciOptions
from pytest_ccci.plugin.state import CcciContext, ccci_context_key

TIERS_MODULE = Path(__file__).with_name("test_tiers.py")
# The tier items of recipe r have node ids `ccci/r::test_<tier>`.
TIER_NODEID_ROOT = "ccci"


@dataclass(frozen=True)
class TierItem:
    """Which recipe and tier a pytest item belongs to."""

    recipe: str
    tier: str


tier_item_key = pytest.StashKey[TierItem]()


class TierModule(pytest.Module):
    """The tier tests (test_tiers.py) for one recipe. Named after the recipe, so `-k <recipe>`
    selects its tier items as it selects its own tests."""

    recipe: str

    @classmethod
    def for_recipe(cls, parent: pytest.Collector, recipe: str) -> TierModule:
        module = cls.from_parent(parent, path=TIERS_MODULE, name=recipe, nodeid=f"{TIER_NODEID_ROOT}/{recipe}")
        module.recipe = recipe
        return module


class RecipesDir(pytest.Directory):
    """The recipes folder: the tier module per selected recipe, and their own test folders."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        options = self.config.stash[ccci_context_key].options
        for name in options.recipes:
            yield TierModule.for_recipe(self, name)
        if "functional" in options.tiers:
            for name in options.recipes:
                folder = self.path / name
                if any(folder.glob("test_*.py")):
                    yield pytest.Dir.from_parent(self, path=folder)


class RecipeCollection:
    """The collection hooks, registered only when the plugin is active."""

    def __init__(self, ctx: CcciContext):
        self.ctx = ctx
        self.options = ctx.options

    def pytest_report_header(self) -> list[str]:
        """Which recipes this shard runs (--ccci-shard), so each CI machine's log says so."""
        if self.options.shard is None:
            return []
        recipes = self.options.recipes
        names = ", ".join(recipes[:20]) + (f" and {len(recipes) - 20} more" if len(recipes) > 20 else "")
        return [f"ccci: shard {self.options.shard}: {len(recipes)} recipes: {names or 'none'}"]

    def pytest_collect_directory(self, path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        if path == self.options.recipes_dir:
            return RecipesDir.from_parent(parent, path=path)
        return None

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """--upgrade-from all: one upgrade item per older release. The releases are only known
        from git, so this option (alone) makes collection fetch the recipes."""
        module = metafunc.definition.getparent(TierModule)
        if module is None or metafunc.function.__name__ != "test_upgrade":
            return
        if self.options.upgrade_from != ALL_OLDER or UPGRADE_TIER not in self.options.tiers:
            return
        try:
            bases = [r.tag for r in self.ctx.lifecycle(module.recipe).upgrade_bases()]
        except CcciError:
            return  # the one unparametrized item fails at setup with the same error, named
        if bases:
            metafunc.parametrize("_ccci_upgraded", bases, ids=bases, indirect=True)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        # After every other plugin reordered (--ff, --nf, random orders...): a recipe's items must
        # stay together and in tier order, or its lifecycle would be torn down and redone mid-way.
        result = yield
        keep, dropped = [], []
        for item in items:
            tier_item = tier_item_of(item, self.options)
            if tier_item is None and "ccci_recipe" in getattr(item, "fixturenames", ()):
                dropped.append(item)  # a recipe's test of a recipe not selected
            elif tier_item is not None and tier_item.tier not in self.options.tiers:
                dropped.append(item)  # a tier left out with --tiers
            else:
                if tier_item is not None:
                    tag(item, tier_item)
                keep.append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
        order = {name: i for i, name in enumerate(self.options.recipes)}
        # Stable: within a tier, collection order (e.g. the order of a recipe's own tests) stays.
        items.sort(key=lambda item: _order_key(item, order))
        return result


def tier_item_of(item: pytest.Item, options: CcciOptions) -> TierItem | None:
    """The recipe and tier of an item, from where it was collected; None for any other test."""
    module = item.getparent(TierModule)
    if module is not None:
        return TierItem(module.recipe, TIER_OF_TEST_FUNCTION[getattr(item, "originalname", item.name)])
    if "ccci_recipe" not in getattr(item, "fixturenames", ()):
        return None  # a plain test beside a recipe's tests is not part of its functional tier
    owner = owning_recipe(options.recipes_dir, item.path)
    return TierItem(owner, "functional") if owner in options.recipes else None


def tag(item: pytest.Item, tier_item: TierItem) -> None:
    """Mark the item as the recipe's. A tier item's report headline (the title of its failure
    section) names the recipe too, as `test_install[hello]`: all recipes share the function."""
    item.stash[tier_item_key] = tier_item
    if item.getparent(TierModule) is not None:
        path, lineno, domain = item.location
        item.location = (path, lineno, f"{domain}[{tier_item.recipe}]")


def owning_recipe(recipes_dir: Path, path: Path) -> str | None:
    """The recipe whose folder holds `path` (a file in `<recipes dir>/<recipe>/...`)."""
    try:
        parts = path.relative_to(recipes_dir).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 else None


def _order_key(item: pytest.Item, order: dict[str, int]) -> tuple[int, int]:
    tier_item = item.stash.get(tier_item_key, None)
    if tier_item is None:
        return (-1, 0)
    return (order.get(tier_item.recipe, len(order)), worker_position(tier_item.tier))


def recipes_nodeid_prefix(rootpath: Path, recipes_dir: Path) -> str:
    """The recipes dir as node ids spell it: relative to the rootdir, or "" when it lies outside
    (pytest then names its files relative to it, as it is one of the paths collected)."""
    try:
        relative = recipes_dir.relative_to(rootpath)
    except ValueError:
        return ""
    return "" if relative == Path() else relative.as_posix()


def tier_item_of_nodeid(nodeid: str, recipes_prefix: str, recipes: Iterable[str]) -> TierItem | None:
    """The recipe and tier of a node id, from its path part and test name, never its parameters:
    `ccci/<recipe>::test_<tier>` is a tier item, `<recipes_prefix>/<recipe>/...` a recipe's own
    (functional) test. None for any other test."""
    path, _, names = nodeid.partition("::")
    parts = PurePosixPath(path).parts
    if len(parts) == 2 and parts[0] == TIER_NODEID_ROOT and parts[1] in recipes:
        tier = TIER_OF_TEST_FUNCTION.get(names.split("[", 1)[0])
        if tier is not None:
            return TierItem(parts[1], tier)
    prefix = PurePosixPath(recipes_prefix).parts
    if len(parts) > len(prefix) + 1 and parts[: len(prefix)] == prefix and parts[len(prefix)] in recipes:
        return TierItem(parts[len(prefix)], "functional")
    return None
