"""Real Co-op Cloud recipes with their history, enrolled and resolved as a run resolves them.

../shared/real-recipes/repos/<name>.bundle holds one public recipe repository: its branch
`corpus` (the recipe's default-branch head) and its tags (SOURCES.md there says where each comes
from). `clone_bundle` makes a git repository of one, `with_commit` a copy with one more commit
(a variant of the recipe's own files), `enroll` a ccci.yml whose `source:` is that repository,
and `resolve` builds the recipe's one view (run/view.py) exactly as a run does: fetched into a
mirror, checked out at the default branch head, resolved for its enrollment. Only the docker CLI
is needed (`docker stack config`): no engine is asked, nothing is deployed.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pytest_ccci.model.app import App
from pytest_ccci.model.policy import Allowance, HostPolicy
from pytest_ccci.model.settings import Settings, load_settings, resolve_source
from pytest_ccci.model.view import RecipeView
from pytest_ccci.run.repo import Checkout, RecipeRepo
from pytest_ccci.run.view import build_view

BUNDLES = ("abramon", "bonfire", "bore", "custom-php", "foodsharing-cms", "go-ssb-room", "traefik", "wordpress")
BASE_DOMAIN = "ccci.test"  # the ini's default (ccci_base_domain)


def _git(*args: str, cwd: Path | None = None) -> str:
    # The test's own git on data it owns: a fixed identity, no user config.
    env = {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_AUTHOR_NAME": "real17",
        "GIT_AUTHOR_EMAIL": "real17@ccci.test",
        "GIT_COMMITTER_NAME": "real17",
        "GIT_COMMITTER_EMAIL": "real17@ccci.test",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def clone_bundle(bundle: Path, dest: Path) -> Path:
    """A repository of `bundle` at `dest`: branch `corpus` checked out (the head a run resolves),
    its tags along."""
    _git("clone", "--quiet", str(bundle), str(dest))
    _git("checkout", "--quiet", "-B", "corpus", "origin/corpus", cwd=dest)
    return dest


def with_commit(source: Path, dest: Path, path: str, old: str, new: str) -> Path:
    """A copy of repository `source` at `dest` with one more commit on its head: in `path`,
    `old` (which must be there, once) replaced by `new`."""
    shutil.copytree(source, dest, symlinks=True)
    file = dest / path
    text = file.read_text()
    assert text.count(old) == 1, f"{path} holds {old!r} {text.count(old)} times, not once"
    file.write_text(text.replace(old, new))
    _git("commit", "--quiet", "-am", f"real17: {path} changed", cwd=dest)
    return dest


def enroll(
    recipes_dir: Path, name: str, source: Path, env: dict[str, str] | None = None, allow: list | None = None
) -> Path:
    """recipes_dir/name/ccci.yml with `source` (and `env:`, `allow:` when given)."""
    settings: dict[str, Any] = {"source": str(source)}
    if env:
        settings["env"] = env
    if allow:
        settings["allow"] = allow
    folder = recipes_dir / name
    folder.mkdir(parents=True)
    (folder / "ccci.yml").write_text(yaml.safe_dump(settings))
    return folder


@dataclass(frozen=True)
class Resolved:
    """One enrolled recipe as a run sees it before any deploy."""

    settings: Settings
    checkout: Checkout
    view: RecipeView
    allowances: tuple[Allowance, ...]  # what the deploy honours: ccci.yml's and the (default) ini's


def resolve(recipes_dir: Path, name: str, work: Path) -> Resolved:
    """The enrollment recipes_dir/name fetched, checked out at its default branch head and
    resolved (run/view.py), its files under `work`."""
    settings = load_settings(recipes_dir / name)
    repo = RecipeRepo(name, resolve_source(settings), work / "cache")
    repo.fetch()
    checkout = repo.checkout(repo.resolve(None), work / "checkouts" / name)
    app = App.for_checkout(settings, checkout.head_sha, BASE_DOMAIN, "real17")
    view = build_view(checkout, app, work / "views" / name)
    allowances = HostPolicy().for_recipe(settings.allow, settings.memory_mb).allowances
    return Resolved(settings, checkout, view, allowances)
