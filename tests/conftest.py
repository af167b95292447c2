"""Fixtures for the whole suite: the one rule for a test that cannot run here, and the real
recipe files the parsers are checked against.

A test whose requirement is missing (the real recipe files, a swarm, root to restart dockerd)
skips with the reason on a developer machine. In CI (the `CI` environment variable set) every
test must run, so the same absence fails it: CI never passes by skipping what it should check.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Public recipe files (data only) kept beside the repository, not in it: ../shared/real-recipes.
REAL_RECIPES = REPO_ROOT.parent / "shared" / "real-recipes"

MissingRequirement = Callable[[str], NoReturn]


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def requirement_missing(what: str) -> NoReturn:
    """Skip with `what` as the reason; in CI, fail with it instead."""
    if in_ci():
        pytest.fail(f"{what} (CI is set: a test that cannot run fails, it is never skipped)", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def missing_requirement() -> MissingRequirement:
    """The rule above, for tests and fixtures: `missing_requirement("needs root")` never returns.

    Example::

        def test_restarts_dockerd(missing_requirement):
            if os.geteuid() != 0:
                missing_requirement("needs root to restart dockerd")
    """
    return requirement_missing


@pytest.fixture(scope="session")
def real_recipes() -> Path:
    """The directory of real recipe snapshots (`traefik-2021`, `bore`, `go-ssb-room`), read-only.

    Example::

        def test_bore_env(real_recipes):
            sample = load_env_sample(real_recipes / "bore" / ".env.sample")
    """
    if not REAL_RECIPES.is_dir():
        requirement_missing(
            f"the real recipe files are not at {REAL_RECIPES} (../shared/real-recipes beside the repository)"
        )
    return REAL_RECIPES


@pytest.fixture(scope="session")
def real_recipe_bundles(real_recipes: Path) -> Path:
    """The directory of real recipe repositories with their history (`repos/<name>.bundle`,
    ../shared/real-recipes/repos), read-only. It is not a recipe folder: a test that walks
    every folder of `real_recipes` skips it.

    Example::

        def test_bonfire_tags(real_recipe_bundles, tmp_path):
            subprocess.run(["git", "clone", real_recipe_bundles / "bonfire.bundle", tmp_path / "b"], check=True)
    """
    bundles = real_recipes / "repos"
    if not any(bundles.glob("*.bundle")):
        requirement_missing(f"the real recipe repositories are not at {bundles} (../shared/real-recipes/repos)")
    return bundles
