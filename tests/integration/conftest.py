"""Integration tests: pytest-ccci run for real, in a subprocess, against the local swarm.

Each test enrolls recipes (built from examples/ into git repos in its tmp dir) in a recipes
dir of its own and runs `pytest --recipe ...` on them through pytester. Every test here carries
the `integration` marker (`-m "not integration"` leaves them out). In CI a missing swarm fails
these tests; on a developer machine it skips them with the way to get one.

Recipes enrolled here get names of their own, never a name enrolled in the project's recipes/:
the app domain comes from the recipe name and its head commit, and the examples build with the
same commits everywhere, so a test's `hello` would share (and wait on) the lock of `tox -e demo`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "scripts"))

import example_repos  # noqa: E402

from pytest_ccci.errors import UsageError  # noqa: E402
from pytest_ccci.model.naming import LABEL_DOMAIN, UPGRADE_VARIANT, stack_name  # noqa: E402
from pytest_ccci.model.settings import enrolled  # noqa: E402

HERE = Path(__file__).resolve().parent
# Names a demo or a real run on this host may be using (see the module docstring).
PROJECT_RECIPES = frozenset(enrolled(ROOT / "recipes"))
# The default host lock dir, shared with every plugin run on this host (as in real use).
LOCK_DIR = Path("/tmp/pytest-ccci/locks")


@pytest.fixture(scope="session")
def swarm(missing_requirement):
    from pytest_ccci.swarm.facade import connect

    try:
        return connect()
    except UsageError as exc:
        missing_requirement(f"no swarm: {exc}")


@dataclass
class Run:
    result: pytest.RunResult
    results: dict | None
    recipes_dir: Path

    def recipe(self, name: str) -> dict:
        assert self.results is not None, f"no results.json written:\n{self.output}"
        return self.results["recipes"][name]

    @property
    def output(self) -> str:
        return self.result.stdout.str() + "\n" + self.result.stderr.str()


class Lab:
    """Enrolls example recipes in a private recipes dir and runs pytest-ccci on them."""

    def __init__(self, pytester: pytest.Pytester):
        self.pytester = pytester
        self.tmp = pytester.path
        self.recipes_dir = self.tmp / "recipes"
        self.recipes_dir.mkdir()
        # never: no lab run may make dockerd ask a public registry for an image; the pull tests
        # opt in with `-o ccci_pull=missing` and a registry of their own on 127.0.0.1.
        (self.tmp / "pytest.ini").write_text("[pytest]\nccci_pull = never\n")

    def set_ini(self, **values: object) -> None:
        """Add settings to the lab's pytest.ini (which keeps `ccci_pull = never`)."""
        with (self.tmp / "pytest.ini").open("a") as ini:
            ini.writelines(f"{key} = {value}\n" for key, value in values.items())

    def enroll(
        self,
        name: str,
        example: str = "hello",
        settings: dict | None = None,
        overlay: dict | None = None,
        functional: bool = False,
        extra_steps: list | None = None,
    ) -> Path:
        assert name not in PROJECT_RECIPES, (
            f"{name!r} is enrolled in recipes/: give the test's recipe a name of its own"
        )
        source = example_repos.build(EXAMPLES / example, self.tmp / "sources" / name, extra_steps=extra_steps)
        folder = self.recipes_dir / name
        folder.mkdir()
        base = {
            "source": str(source),
            "health": {"path": "/health"},
            "deploy_timeout": 60,
            "env": {"GREETING": "Hello from CI"},
        }
        (folder / "ccci.yml").write_text(yaml.safe_dump({**base, **(settings or {})}))
        if overlay:
            (folder / "compose.ccci.yml").write_text(yaml.safe_dump(overlay))
        if functional:
            (folder / f"test_{name.replace('-', '_')}.py").write_text(
                (ROOT / "recipes/hello/test_hello.py").read_text()
            )
        return source

    def args(self, *args: str, json_name: str = "results.json") -> list[str]:
        return [
            "--recipes-dir",
            str(self.recipes_dir),
            "--ccci-json",
            str(self.tmp / json_name),
            "-p",
            "no:cacheprovider",
            *args,
        ]

    def run(self, *args: str, json_name: str = "results.json", timeout: float = 600) -> Run:
        result = self.pytester.runpytest_subprocess(*self.args(*args, json_name=json_name), timeout=timeout)
        path = self.tmp / json_name
        results = json.loads(path.read_text()) if path.exists() else None
        return Run(result, results, self.recipes_dir)


@pytest.fixture
def lab(pytester: pytest.Pytester, swarm) -> Lab:
    return Lab(pytester)


def leftovers(swarm, domain: str | None) -> list[str]:
    """Everything on the swarm still carrying the app domain's label, or in its stack."""
    assert domain, "the run did not record its app domain"
    return swarm.leftovers(f"{LABEL_DOMAIN}={domain}", stack_name(domain))


def upgrade_domain(domain: str) -> str:
    """The domain of the upgrade lifecycle beside the install's `domain` (naming.app_domain's
    variant UPGRADE_VARIANT): `<x>-<hex>.<base>` -> `<x>-<hex>-up.<base>`."""
    first, rest = domain.split(".", 1)
    return f"{first}-{UPGRADE_VARIANT}.{rest}"


@pytest.fixture
def assert_clean(swarm):
    def check(domain: str | None) -> None:
        # The recipe's install domain, and its upgrade lifecycle's beside it.
        left = leftovers(swarm, domain) + leftovers(swarm, upgrade_domain(domain or ""))
        assert not left, f"left on the swarm after the run: {left}"

    return check


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config, items):
    """Every item of this directory is an integration test. (A `pytestmark` in a conftest marks
    nothing: pytest reads it from test modules only.) The test that stops and restarts dockerd
    goes last: nothing after it depends on how quickly the swarm settles again."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)
    items.sort(key=lambda item: item.get_closest_marker("dockerd_restart") is not None)


@dataclass
class DirectApp:
    """hello driven through the backend directly (no plugin run): its head and 0.2.0 checkouts,
    the App, a backend, and the app-domain lock held as a lifecycle holds it (so a concurrent
    run's janitor never reaps it)."""

    head: object
    base: object
    app: object
    backend: object


@pytest.fixture
def direct_hello(lab, swarm, tmp_path, assert_clean):
    from pytest_ccci.model.app import App
    from pytest_ccci.model.runner import RunnerChoices
    from pytest_ccci.model.secrets import SecretVault
    from pytest_ccci.model.settings import load_settings
    from pytest_ccci.run.backend import SwarmBackend
    from pytest_ccci.run.locks import acquire, app_lock_path, release
    from pytest_ccci.run.repo import RecipeRepo

    lab.enroll("direct")
    settings = load_settings(lab.recipes_dir / "direct")
    repo = RecipeRepo("direct", settings.source, tmp_path / "cache")
    repo.fetch()
    head = repo.checkout(repo.resolve(None), tmp_path / "head")
    base = repo.checkout(repo.resolve("0.2.0+1.35.0"), tmp_path / "base")
    app = App.for_checkout(settings, head.head_sha, "ccci.test", "direct-test")
    # As the lab's runs: never pull (no test may make dockerd ask a public registry).
    backend = SwarmBackend(
        swarm, tmp_path / "deploy", SecretVault(), lock_dir=LOCK_DIR, runner=RunnerChoices(pull="never")
    )
    lock = acquire(app_lock_path(LOCK_DIR, app.domain), "direct-test", "direct backend test", timeout=300)
    try:
        yield DirectApp(head, base, app, backend)
    finally:
        left = backend.teardown(app)
        release(lock)
    assert not left, f"teardown left: {left}"
    assert_clean(app.domain)
