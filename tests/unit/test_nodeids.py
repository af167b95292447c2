"""How the xdist controller, which sees only node ids, finds an item's recipe and tier: from
the node id's path part and test name, never from its `[...]` parameters (collection.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ccci.plugin.collection import TierItem, owning_recipe, recipes_nodeid_prefix, tier_item_of_nodeid

RECIPES = frozenset({"hello", "hello-nobackup", "n8n", "hello-nobackup-x", "ccci"})


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        ("ccci/hello::test_install", TierItem("hello", "install")),
        ("ccci/hello-nobackup::test_lint", TierItem("hello-nobackup", "lint")),
        ("ccci/hello-nobackup-x::test_restore", TierItem("hello-nobackup-x", "restore")),
        ("ccci/hello::test_upgrade[0.1.0+1.35.0]", TierItem("hello", "upgrade")),  # --upgrade-from all
        ("recipes/n8n/test_n8n.py::test_webhook", TierItem("n8n", "functional")),
        ("recipes/hello/sub/test_deep.py::test_x", TierItem("hello", "functional")),
        ("recipes/hello/test_hello.py::TestNotes::test_round_trip", TierItem("hello", "functional")),
        # Defect 7: a recipe's own test parametrized first. Its parameters say nothing of the recipe.
        ("recipes/hello/test_hello.py::test_status[1]", TierItem("hello", "functional")),
        ("recipes/hello/test_hello.py::test_status[1-n8n]", TierItem("hello", "functional")),
        ("recipes/hello/test_hello.py::test_status[n8n]", TierItem("hello", "functional")),
        # A recipe named like the tier root keeps its own tests.
        ("recipes/ccci/test_ccci.py::test_x", TierItem("ccci", "functional")),
    ],
)
def test_recipe_and_tier_from_the_path(nodeid: str, expected: TierItem) -> None:
    assert tier_item_of_nodeid(nodeid, "recipes", RECIPES) == expected


@pytest.mark.parametrize(
    "nodeid",
    [
        "ccci/hell::test_install",  # not a selected recipe
        "ccci/n8n2::test_install",
        "ccci/hello::test_something_else",  # not a tier test
        "ccci::test_install[hello]",  # the old shape: parameters are not read
        "recipes/hello::test_x",  # a file directly in the recipes dir belongs to no recipe
        "recipes/test_top.py::test_x",
        "tests/unit/test_x.py::test_y",
        "elsewhere/hello/test_hello.py::test_x",
    ],
)
def test_other_node_ids_have_no_recipe(nodeid: str) -> None:
    assert tier_item_of_nodeid(nodeid, "recipes", RECIPES) is None


def test_recipes_dir_deeper_in_the_rootdir() -> None:
    nodeid = "ci/recipes/hello/test_hello.py::test_x[2]"
    assert tier_item_of_nodeid(nodeid, "ci/recipes", RECIPES) == TierItem("hello", "functional")
    assert tier_item_of_nodeid(nodeid, "recipes", RECIPES) is None


def test_recipes_dir_outside_the_rootdir() -> None:
    # pytest names files relative to the collected recipes dir itself then.
    assert tier_item_of_nodeid("hello/test_hello.py::test_x", "", RECIPES) == TierItem("hello", "functional")
    assert tier_item_of_nodeid("ccci/hello::test_lint", "", RECIPES) == TierItem("hello", "lint")


@pytest.mark.parametrize(
    ("rootpath", "recipes_dir", "expected"),
    [
        ("/w/project", "/w/project/recipes", "recipes"),
        ("/w/project", "/w/project/ci/recipes", "ci/recipes"),
        ("/w/project", "/w/project", ""),
        ("/w/project", "/elsewhere/recipes", ""),
    ],
)
def test_recipes_nodeid_prefix(rootpath: str, recipes_dir: str, expected: str) -> None:
    assert recipes_nodeid_prefix(Path(rootpath), Path(recipes_dir)) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/w/recipes/hello/test_hello.py", "hello"),
        ("/w/recipes/hello/sub/test_deep.py", "hello"),
        ("/w/recipes/test_top.py", None),
        ("/w/other/hello/test_hello.py", None),
    ],
)
def test_owning_recipe(path: str, expected: str | None) -> None:
    assert owning_recipe(Path("/w/recipes"), Path(path)) == expected
