"""Build a recipe's one resolved view (model/view.py) from a checkout and its enrollment.

1. **A safe copy.** The checkout's files are copied into a view directory of the run's own:
   regular files only. A symlink is followed the way Python resolves it; its target is copied
   when it is a regular file inside the checkout, and refused (never read) otherwise: out of the
   checkout (`/etc/shadow`, `/proc/self/environ`, `/dev/zero`), a directory, dangling. Files
   over MAX_FILE_BYTES, or past MAX_VIEW_BYTES in all, are refused too. Nothing in the view is
   a symlink, so every later reader (ours, docker's CLI, which joins paths lexically) sees the
   same file for the same name, and `..` is the only way out, which is checked lexically.
2. **The app env**, as abra builds it: `.env.sample`, abra.sh's exports, TYPE/DOMAIN/STACK_NAME,
   then the enrollment's `env:`.
3. **The compose files** `COMPOSE_FILE` names, then the enrollment's compose.ccci.yml: each read
   from the view (bounded, aliases bounded), its `env_file:` entries vetted, then interpolated
   with the app env here and written back with every `$` escaped, so that docker's CLI merges
   them with **no recipe value in its environment**: a recipe may name its settings anything
   (DOCKER_HOST, PATH, LD_PRELOAD are the app's business), by construction.
4. **docker's own merge** (`docker stack config`, the deploy's own loader), paths in it made
   recipe-relative, abra's deploy additions (model/abra.py), and the deploy policy's findings.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from pytest_ccci.errors import RecipeError
from pytest_ccci.model import abra, compose
from pytest_ccci.model.app import App
from pytest_ccci.model.envfile import EnvSample, compose_file_names, interpolate_tree, parse_env_sample
from pytest_ccci.model.policy import DeployPolicy, Finding, findings, not_permitted
from pytest_ccci.model.view import (
    ABRA_SH_EXPORT,
    OVERLAY_NAME,
    OVERLAY_SHOWN,
    RecipeView,
    ViewFiles,
    load_yaml,
    relative_name,
)
from pytest_ccci.run.repo import Checkout

# A checkout file may not take the name the enrollment's overlay gets in the view.
RESERVED = f"named {OVERLAY_NAME}, which the runner reserves for the enrollment's overlay"
# One file of a recipe checkout copied into the view (configs, scripts, fixtures): recipes hold
# kilobytes; an app repository that is its own recipe may hold more, but nothing a deploy reads.
MAX_FILE_BYTES = 8 << 20
MAX_VIEW_BYTES = 64 << 20


def build_view(checkout: Checkout, app: App, dest: Path, policy: DeployPolicy | None = None) -> RecipeView:
    """The recipe at `checkout`, resolved for `app`'s enrollment, its files copied into `dest`
    (made afresh). `policy` (the recipe's: its allowances, the runner's infrastructure networks;
    none allowed when None) decides whether a file outside the checkout may be read at all.
    RecipeError, one line naming the file, for what cannot be read."""
    policy = policy or DeployPolicy()
    refused = safe_copy(checkout.path, dest)
    files = ViewFiles(dest, f"at {checkout.head_sha[:8]}", refused)
    sample = _sample(files)
    env = app_env(files, app, sample)
    names, found = _compose_names(files, env)
    view = RecipeView(
        recipe=app.recipe,
        head_sha=checkout.head_sha,
        stack=app.stack,
        domain=app.domain,
        files=files,
        sample=sample,
        env=env,
        compose_files=tuple(names),
        raw_files={},
        config=None,
        tags=tuple(checkout.tags),
    )
    if found:  # a COMPOSE_FILE entry out of the checkout: never read, allowed or not (the view holds none)
        why = "the deploy policy refused its COMPOSE_FILE before reading: " + "; ".join(f.describe() for f in found)
        return replace(view, findings=found, problem=why)
    raw_files, found = _prepare_compose_files(files, names, env, app)
    shown = tuple(OVERLAY_SHOWN if n == OVERLAY_NAME else n for n in raw_files)
    view = replace(view, compose_files=shown, raw_files=raw_files)
    if not_permitted(found, policy.allowances):  # an allowed one (an operator's fixture) docker may read
        why = "the deploy policy refused an env_file before docker read it: " + "; ".join(f.describe() for f in found)
        return replace(view, findings=found, problem=why)
    config = _merged(files, list(raw_files), app, env)
    found = (*found, *findings(config, dest, app.stack, policy.infrastructure_networks))
    return replace(view, config=config, findings=tuple(dict.fromkeys(found)))


# --- 1. the safe copy --------------------------------------------------------------------------


def safe_copy(checkout: Path, dest: Path) -> dict[str, str]:
    """Copy the checkout's readable files into `dest` (emptied first); {path: why} of what was
    not copied, and never read."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    root = os.path.realpath(checkout)
    refused: dict[str, str] = {}
    budget = MAX_VIEW_BYTES
    for folder, dirs, names in os.walk(root):  # os.walk does not follow directory symlinks
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in [*names, *(d for d in dirs if os.path.islink(os.path.join(folder, d)))]:
            source = os.path.join(folder, name)
            rel = os.path.relpath(source, root)
            why = RESERVED if os.path.basename(rel) == OVERLAY_NAME else _unreadable(source, root)
            if why is None and os.stat(source).st_size > min(MAX_FILE_BYTES, budget):
                why = (
                    f"over {MAX_FILE_BYTES >> 20} MiB" if budget >= MAX_FILE_BYTES else "past the view's 64 MiB in all"
                )
            if why:
                refused[rel] = why
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            budget -= _copy_bounded(os.path.realpath(source), target)
    return refused


def _unreadable(path: str, root: str) -> str | None:
    """Why `path` is not a file the view may hold (None when it is): the target of every symlink
    on the way must be a regular file inside the checkout."""
    real = os.path.realpath(path)
    if not (real.startswith(root + os.sep)):
        return "a symlink out of the checkout"
    if real.startswith(os.path.join(root, ".git") + os.sep):  # git's own files name the runner's cache
        return "a symlink into the checkout's .git"
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return "a dangling symlink"
    if not stat.S_ISREG(mode):
        return "a symlink to a directory" if stat.S_ISDIR(mode) else "not a regular file"
    return None


def _copy_bounded(source: str, target: Path) -> int:
    """Copy at most MAX_FILE_BYTES (a file that grows while copied is cut there); bytes copied."""
    with open(source, "rb") as src:
        data = src.read(MAX_FILE_BYTES)
    target.write_bytes(data)
    if os.access(source, os.X_OK):
        target.chmod(0o755)
    return len(data)


# --- 2. the app env ----------------------------------------------------------------------------


def _sample(files: ViewFiles) -> EnvSample | None:
    if not files.exists(".env.sample") and ".env.sample" not in files.refused:
        return None
    return parse_env_sample(files.text(".env.sample"), ".env.sample")


def app_env(files: ViewFiles, app: App, sample: EnvSample | None) -> dict[str, str]:
    """The env abra deploys with: `.env.sample`, abra.sh's exports, TYPE/DOMAIN/STACK_NAME, then
    the enrollment's `env:`."""
    env = sample.values() if sample else {}
    env.update(abra_sh_exports(files))
    env.update(TYPE=app.recipe, DOMAIN=app.domain, STACK_NAME=app.stack)
    env.update(app.settings.env)
    return env


def abra_sh_exports(files: ViewFiles) -> dict[str, str]:
    """`export NAME=value` lines of abra.sh: abra reads config versions from there."""
    if not files.exists("abra.sh") and "abra.sh" not in files.refused:
        return {}
    exports = [ln.strip() for ln in files.text("abra.sh").splitlines() if ABRA_SH_EXPORT.match(ln)]
    return parse_env_sample("\n".join(exports), origin="abra.sh").values()


# --- 3. the compose files ----------------------------------------------------------------------


def _compose_names(files: ViewFiles, env: Mapping[str, str]) -> tuple[list[str], tuple[Finding, ...]]:
    """The compose files COMPOSE_FILE names, recipe-relative; findings for those out of the checkout."""
    names, found = [], []
    for name in compose_file_names(env):
        rel = relative_name(name)
        why = "outside the checkout" if rel is None else files.refusal(rel)
        if why:
            found.append(Finding(None, "COMPOSE_FILE", f"{name} ({why})", "outside-file", name))
        else:
            names.append(str(rel))
    return names, tuple(found)


def _prepare_compose_files(
    files: ViewFiles, names: list[str], env: Mapping[str, str], app: App
) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    """Each compose file (and the overlay) read, vetted and written back interpolated:
    ({name in the view: the file as written}, env_file findings)."""
    raw: dict[str, Any] = {}
    found: list[Finding] = []
    for name in names:
        raw[name] = _compose_doc(files.text(name), name)
    if app.settings.overlay:
        raw[OVERLAY_NAME] = _compose_doc(app.settings.overlay.read_text(encoding="utf-8"), OVERLAY_SHOWN)
    first_dir = files.root / os.path.dirname(names[0])
    for name, doc in raw.items():
        interpolated = interpolate_tree(doc, env, OVERLAY_SHOWN if name == OVERLAY_NAME else name)
        own_dir = files.root / os.path.dirname(name)
        for service, svc in (interpolated.get("services") or {}).items():
            if isinstance(svc, dict) and "env_file" in svc:
                for base in dict.fromkeys([first_dir, own_dir]):
                    found += _env_file_findings(str(service), svc["env_file"], base, files)
        (files.root / name).write_text(yaml.safe_dump(compose.escape_dollars(interpolated), sort_keys=False))
    return raw, tuple(dict.fromkeys(found))


def _env_file_findings(service: str, entries: Any, base: Path, files: ViewFiles) -> list[Finding]:
    """A service's (interpolated) `env_file:` entries, relative to `base`, that docker's CLI would
    read from outside the checkout (joined lexically, as Go does: no symlink is left in a view)
    or that the safe copy refused."""
    found = []
    for entry in [entries] if isinstance(entries, (str, Mapping)) else entries or ():
        path = str(entry.get("path", "")) if isinstance(entry, Mapping) else str(entry)
        if posixpath.isabs(path):
            found.append(Finding(service, "env_file", path, "outside-file", posixpath.normpath(path)))
            continue
        rel = relative_name(os.path.relpath(base / path, files.root))
        why = "outside the checkout" if rel is None else files.refusal(rel)
        if why:
            found.append(Finding(service, "env_file", f"{path} ({why})", "outside-file", path))
    return found


def _compose_doc(text: str, shown: str) -> dict[str, Any]:
    doc = load_yaml(text, shown)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise RecipeError(f"{shown}: a compose file must be a mapping, not a {type(doc).__name__}")
    return doc


# --- 4. docker's merge -------------------------------------------------------------------------


def _merged(files: ViewFiles, names: list[str], app: App, env: Mapping[str, str]) -> dict[str, Any]:
    from pytest_ccci.swarm import stack  # the docker CLI; no engine is asked

    shown = ", ".join(OVERLAY_SHOWN if n == OVERLAY_NAME else n for n in names)
    try:
        config = stack.stack_config([files.root / n for n in names], files.root)
    except RecipeError as exc:
        said = files.relative_text(str(exc))
        raise RecipeError(f"recipe {app.recipe}: docker rejected its compose files ({shown}): {said}") from None
    config = relative_paths(config, str(files.root))
    return abra.expose_all_env(abra.environment_from_env(config, env), env)


def relative_paths(obj: Any, root: str) -> Any:
    """docker's merge makes file paths absolute in the view; recipe-relative (`./x`) instead, so
    no message names the run's directory (the deploy runs in the view: they mean the same)."""
    if isinstance(obj, str):
        if obj == root:
            return "."
        return "./" + obj[len(root) + 1 :] if obj.startswith(root + "/") else obj
    if isinstance(obj, list):
        return [relative_paths(v, root) for v in obj]
    if isinstance(obj, dict):
        return {k: relative_paths(v, root) for k, v in obj.items()}
    return obj
