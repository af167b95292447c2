"""The plugin's settings: one frozen `CcciOptions`, read from the command line and the ini file
and validated once, at configure. Every bad value stops the run with one pytest.UsageError line;
nothing later reads a ccci option or ini value again.

Paths never move with pytest's rootdir. pytest picks the rootdir (and the ini file) before it
knows plugin options, so an existing file named by `--ccci-json`, `--html` or `--junitxml`
counts as a path argument and can move the rootdir out of the project. The recipes dir
therefore resolves from the ini file's directory when there is one, else from where pytest was
started, and the results path from where pytest was started.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_ccci.model.compose import parse_duration
from pytest_ccci.model.endpoints import ENDPOINT_MODE_CHOICES
from pytest_ccci.model.images import PULL_CHOICES
from pytest_ccci.model.policy import HostPolicy, unknown_kind
from pytest_ccci.model.runner import RunnerChoices
from pytest_ccci.model.settings import enrolled
from pytest_ccci.model.tiers import SWARM_TIERS, TIERS
from pytest_ccci.model.versions import ALL_OLDER, LAST_GREEN
from pytest_ccci.plugin.scaleout import history_dir, shard_recipes
from pytest_ccci.run.context import RunOptions

UPGRADE_FROM_CHOICES = ("auto", ALL_OLDER, LAST_GREEN)
MIN_MEMORY_LIMIT_MB = 6  # docker refuses a smaller memory limit
MIN_CPU_LIMIT = 0.01  # docker's smallest CPU limit
MIN_STOP_GRACE_SECONDS = 10.0  # swarm's default: a lower bound would be below what a service gets unasked
NETWORK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # docker's rule for object names


@dataclass(frozen=True, kw_only=True)
class CcciOptions(RunOptions):
    """What this run checks, and where its host-wide state lives. The lifecycles' part
    (RunOptions: recipes dir, ref, domains, locks, the runner's choices...) is this same object,
    held by the run context: read once, never copied."""

    recipes: tuple[str, ...]  # in the order asked for (or enrollment order), each once
    tiers: tuple[str, ...]
    json_path: Path | None  # --ccci-json, absolute
    janitor: bool
    shard: str | None = None  # --ccci-shard K/N: `recipes` are that shard's (plugin/scaleout.py)
    reruns: int = 0  # --ccci-reruns: how often a failed swarm tier runs again (plugin/reruns.py)
    recipes_dir_given: str | None = None  # --recipes-dir as given, for the repro lines (model/repro.py)

    @property
    def needs_swarm(self) -> bool:
        """Whether a selected tier deploys (lint alone reads files only)."""
        return any(t in SWARM_TIERS for t in self.tiers)


def read_options(config: pytest.Config) -> CcciOptions | None:
    """The run's options, or None when the plugin stays out of the way of an ordinary test run."""
    recipes_dir = _recipes_dir(config)
    if not _active(config, recipes_dir):
        return None
    recipes, shard = shard_recipes(config, _recipes(config, recipes_dir))
    tiers = _tiers(config)
    upgrade_from = config.getoption("upgrade_from")
    if upgrade_from not in UPGRADE_FROM_CHOICES:
        raise pytest.UsageError(
            "ccci: --upgrade-from takes auto, all or last-green (pin one release with upgrade_from in ccci.yml)"
        )
    history = history_dir(config)
    if upgrade_from == LAST_GREEN and history is None:
        raise pytest.UsageError("ccci: --upgrade-from last-green reads the history: give --ccci-history DIR")
    max_deploys, lock_timeout = _numbers(config)
    reruns, keep_failed_hours = _reruns(config), _keep_failed_hours(config)
    if reruns and keep_failed_hours is not None:
        # A rerun starts by tearing down the failed run it repeats: there would be nothing to keep.
        raise pytest.UsageError(
            "ccci: --ccci-keep-failed keeps a failed app deployed, --ccci-reruns tears it down to run the tier"
            " again: give one of them (-o ccci_reruns=0 turns off the ini's reruns)"
        )
    lock_dir, cache_dir = Path(config.getini("ccci_lock_dir")), _cache_dir(config)
    for folder in (lock_dir, cache_dir, *([history] if history else [])):
        _check_writable_dir(folder)
    return CcciOptions(
        recipes=recipes,
        tiers=tiers,
        recipes_dir=recipes_dir,
        ref=config.getoption("ref"),
        json_path=_json_path(config),
        upgrade_from=upgrade_from,
        janitor=not config.getoption("no_janitor"),
        lock_dir=lock_dir,
        cache_dir=cache_dir,
        base_domain=config.getini("ccci_base_domain"),
        max_deploys=max_deploys,
        lock_timeout=lock_timeout,
        runner=RunnerChoices(_endpoint_mode(config), _pull(config), _host_policy(config)),
        shard=shard,
        history_dir=history,
        reruns=reruns,
        recipes_dir_given=config.getoption("recipes_dir") or None,
        keep_failed_hours=keep_failed_hours,
    )


def _recipes_dir(config: pytest.Config) -> Path:
    # The option is relative to where pytest was started; the ini value to the ini file that
    # holds it (the invocation dir when there is none): never to the rootdir (see the docstring).
    given = config.getoption("recipes_dir")
    invoked = Path(config.invocation_params.dir)
    if given:
        path, base = Path(given), invoked
    else:
        path, base = Path(config.getini("ccci_recipes_dir")), config.inipath.parent if config.inipath else invoked
    return path if path.is_absolute() else base / path


def _active(config: pytest.Config, recipes_dir: Path) -> bool:
    """Check recipes when asked by name, or when pytest was given no paths and recipes are enrolled."""
    if config.getoption("recipe"):
        return True
    if config.getoption("recipes_dir") and not enrolled(recipes_dir):
        # Asked for a recipes dir that holds none: silently running something else would be wrong.
        raise pytest.UsageError(f"ccci: --recipes-dir {recipes_dir} holds no enrolled recipe (folders with a ccci.yml)")
    explicit = config.args_source == pytest.Config.ArgsSource.ARGS
    return not explicit and bool(enrolled(recipes_dir))


def _recipes(config: pytest.Config, recipes_dir: Path) -> tuple[str, ...]:
    wanted: list[str] = config.getoption("recipe")
    if wanted and not recipes_dir.is_dir():
        raise pytest.UsageError(
            f"ccci: recipes directory {recipes_dir} does not exist (set --recipes-dir or ini ccci_recipes_dir)"
        )
    known = enrolled(recipes_dir)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise pytest.UsageError(
            f"ccci: unknown recipe {unknown[0]!r}: enrolled in {recipes_dir} are {', '.join(known) or 'none'}"
        )
    return tuple(dict.fromkeys(wanted)) if wanted else tuple(known)


def _tiers(config: pytest.Config) -> tuple[str, ...]:
    given = config.getoption("tiers")
    tiers = tuple(t.strip() for t in given.split(",") if t.strip())
    bad = [t for t in tiers if t not in TIERS]
    if bad or not tiers:
        raise pytest.UsageError(
            f"ccci: --tiers {given!r}: unknown tier {bad[0] if bad else ''!r}; choose from {','.join(TIERS)}"
        )
    return tiers


def _numbers(config: pytest.Config) -> tuple[int, float]:
    try:
        max_deploys = int(config.getini("ccci_max_deploys"))
        lock_timeout = float(config.getini("ccci_lock_timeout"))
    except ValueError as exc:
        raise pytest.UsageError(f"ccci: ini value is not a number: {exc}") from None
    if max_deploys < 1 or lock_timeout <= 0:
        raise pytest.UsageError("ccci: ccci_max_deploys must be at least 1 and ccci_lock_timeout positive")
    return max_deploys, lock_timeout


def _reruns(config: pytest.Config) -> int:
    """--ccci-reruns, else ini ccci_reruns: a whole number, 0 (the default) for none."""
    given = config.getoption("ccci_reruns")
    text = str(given if given is not None else config.getini("ccci_reruns")).strip() or "0"
    try:
        reruns = int(text)
    except ValueError:
        reruns = -1
    if reruns < 0:
        raise pytest.UsageError(f"ccci: --ccci-reruns / ccci_reruns {text!r}: give a whole number, 0 for no reruns")
    return reruns


def _keep_failed_hours(config: pytest.Config) -> float | None:
    """--ccci-keep-failed: how long a recipe with a failed tier stays deployed (ini
    ccci_keep_failed_hours, checked whether or not the flag is given); None: not kept."""
    given = str(config.getini("ccci_keep_failed_hours")).strip()
    try:
        hours = float(given)
    except ValueError:
        hours = 0.0
    if not 0 < hours < float("inf"):
        raise pytest.UsageError(f"ccci: ccci_keep_failed_hours {given!r}: give a positive number of hours (e.g. 2)")
    return hours if config.getoption("ccci_keep_failed") else None


def _endpoint_mode(config: pytest.Config) -> str:
    mode = str(config.getini("ccci_endpoint_mode")).strip()
    if mode not in ENDPOINT_MODE_CHOICES:
        raise pytest.UsageError(f"ccci: ccci_endpoint_mode {mode!r}: choose from {', '.join(ENDPOINT_MODE_CHOICES)}")
    return mode


def _pull(config: pytest.Config) -> str:
    pull = str(config.getini("ccci_pull")).strip()
    if pull not in PULL_CHOICES:
        raise pytest.UsageError(f"ccci: ccci_pull {pull!r}: choose from {', '.join(PULL_CHOICES)}")
    return pull


def _host_policy(config: pytest.Config) -> HostPolicy:
    """The operator's part of the deploy policy: kinds allowed host-wide, the infrastructure
    networks, and the bounds every service gets (an empty value: not bounded)."""
    allow = tuple(dict.fromkeys(str(k).strip() for k in config.getini("ccci_allow") if str(k).strip()))
    for kind in allow:
        problem = unknown_kind(kind)
        if problem:
            raise pytest.UsageError(f"ccci: ccci_allow: {problem}")
    return HostPolicy(
        allow,
        memory_limit_mib=_ini_number(config, "ccci_memory_limit_mb", int, MIN_MEMORY_LIMIT_MB, "a whole number of MiB"),
        pids_limit=_ini_number(config, "ccci_pids_limit", int, 1, "a whole number of processes"),
        cpu_limit=_ini_number(config, "ccci_cpu_limit", float, MIN_CPU_LIMIT, "a number of CPUs"),
        max_stop_grace_seconds=_stop_grace(config),
        infrastructure_networks=_networks(config),
    )


def _ini_number(config: pytest.Config, key: str, kind: type, least: float, what: str) -> Any:
    """The ini's `key` as a number of `kind` at least `least`; None when empty (not bounded)."""
    given = str(config.getini(key)).strip()
    if not given:
        return None
    try:
        number = kind(given)
    except ValueError:
        number = None
    if number is None or not number >= least or number == float("inf"):
        raise pytest.UsageError(
            f"ccci: {key} {given!r}: give {what} (at least {least:g}), or leave it empty (not bounded)"
        )
    return number


def _stop_grace(config: pytest.Config) -> float | None:
    given = str(config.getini("ccci_max_stop_grace")).strip()
    if not given:
        return None
    seconds = parse_duration(int(given) if given.isdigit() else given)
    if seconds is None or seconds < MIN_STOP_GRACE_SECONDS:
        raise pytest.UsageError(
            f"ccci: ccci_max_stop_grace {given!r}: give a duration such as 60s or 2m (at least "
            f"{MIN_STOP_GRACE_SECONDS:g}s, swarm's default), or leave it empty (not bounded)"
        )
    return seconds


def _networks(config: pytest.Config) -> tuple[str, ...]:
    """The infrastructure networks: one a line, or several on one (no name holds a space)."""
    names = tuple(dict.fromkeys(name for line in config.getini("ccci_networks") for name in str(line).split()))
    for name in names:
        if not NETWORK_NAME.fullmatch(name):
            raise pytest.UsageError(
                f"ccci: ccci_networks: {name!r} is not a network name (letters, digits, and _ . - after the first)"
            )
    return names


def _cache_dir(config: pytest.Config) -> Path:
    given = config.getini("ccci_cache_dir")
    if given:
        return Path(given)
    return Path(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))) / "pytest-ccci"


def _check_writable_dir(folder: Path) -> None:
    """Lock and cache dirs are checked before anything runs: a bad path is one line now, not a
    traceback after a long sweep."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise pytest.UsageError(f"ccci: cannot create {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise pytest.UsageError(f"ccci: {folder} is not writable")


def _json_path(config: pytest.Config) -> Path | None:
    given = config.getoption("ccci_json")
    if not given:
        return None
    target = Path(str(config.invocation_params.dir)) / str(given)  # an absolute `given` stays as it is
    if target.is_dir():
        raise pytest.UsageError(f"ccci: --ccci-json {given} is a directory; give a file path")
    if not target.parent.is_dir() or not os.access(target.parent, os.W_OK):
        raise pytest.UsageError(f"ccci: --ccci-json {given}: cannot write in {target.parent}")
    return target
