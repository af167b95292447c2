"""COMPOSE_FILE is split in one place (envfile.compose_file_names): lint, the env sample and the
recipe's view (which the deploy deploys) read the same files from the same value."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.app import App
from pytest_ccci.model.envfile import compose_file_names, parse_env_sample
from pytest_ccci.model.settings import parse_settings
from pytest_ccci.model.view import RecipeView
from pytest_ccci.run.repo import Checkout
from pytest_ccci.run.view import build_view


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("compose.yml", ["compose.yml"]),
        ("compose.yml:compose.smtp.yml", ["compose.yml", "compose.smtp.yml"]),
        ("compose.yml: compose.smtp.yml ", ["compose.yml", "compose.smtp.yml"]),  # parts stripped
        (":compose.x.yml", ["compose.x.yml"]),  # "$COMPOSE_FILE:x" with nothing before it
        ("", ["compose.yml"]),
        (" : ", ["compose.yml"]),
    ],
)
def test_compose_file_names(value: str, names: list[str]) -> None:
    assert compose_file_names({"COMPOSE_FILE": value}) == names
    assert parse_env_sample(f'COMPOSE_FILE="{value}"').compose_files == names


def test_no_compose_file_means_compose_yml() -> None:
    assert compose_file_names({}) == ["compose.yml"]
    assert parse_env_sample("TYPE=x").compose_files == ["compose.yml"]


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    path = tmp_path / "demo"
    path.mkdir()
    for name in ("compose.yml", "compose.smtp.yml"):
        service = name.split(".")[-2].replace("compose", "app")  # app, smtp
        (path / name).write_text(f"services:\n  {service}:\n    image: ccci/busybox:1.35.0\n")
    return Checkout("demo", path, "main", "a" * 40, False, (), ())


def view_of(checkout: Checkout, env: dict[str, str]) -> RecipeView:
    settings = parse_settings("demo", {"source": str(checkout.path), "env": env}, "ccci.yml")
    app = App.for_checkout(settings, checkout.head_sha, "ccci.test", "run")
    return build_view(checkout, app, checkout.path.parent / "views" / "demo")


def test_the_deploy_reads_the_same_files_as_the_env_sample(checkout: Checkout) -> None:
    # Before: the deploy split COMPOSE_FILE without stripping, so "a.yml: b.yml" named " b.yml",
    # which is not in the recipe, while lint and the env sample read b.yml.
    view = view_of(checkout, {"COMPOSE_FILE": "compose.yml: compose.smtp.yml"})
    assert view.compose_files == ("compose.yml", "compose.smtp.yml")
    assert set(view.services) == {"app", "smtp"}


def test_an_empty_compose_file_deploys_compose_yml(checkout: Checkout) -> None:
    # Before: COMPOSE_FILE="" gave the deploy no compose file at all.
    view = view_of(checkout, {"COMPOSE_FILE": ""})
    assert view.compose_files == ("compose.yml",) and set(view.services) == {"app"}


def test_a_missing_file_is_the_recipe_s_error(checkout: Checkout) -> None:
    with pytest.raises(RecipeError, match="^compose.nope.yml: missing at aaaaaaaa$"):
        view_of(checkout, {"COMPOSE_FILE": "compose.yml:compose.nope.yml"})
