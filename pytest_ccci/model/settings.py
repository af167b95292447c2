"""Enrollment: `recipes/<name>/ccci.yml`, validated into typed settings.

An unknown key or a wrong type is a RecipeError naming the file and the key: a typo in a
settings file must never be silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import yaml

from pytest_ccci.errors import RecipeError

SETTINGS_FILE = "ccci.yml"
OVERLAY_FILE = "compose.ccci.yml"
# Tiers a recipe may declare not applicable, each with a reason. Not install: every other rung
# stands on it, and a skipped install would let a recipe climb without HC1 ever being checked.
DECLARABLE = ("upgrade", "backup", "restore", "functional", "lint")
# Names that look like they hold a secret: their values are masked wherever settings are shown.
SECRET_SHAPED = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|KEY", re.IGNORECASE)
MASK = "********"


@dataclass(frozen=True)
class Health:
    path: str = "/"
    statuses: tuple[int, ...] = (200,)
    port: int | None = None  # default: the app's traefik loadbalancer port label, else 80
    service: str = "app"


@dataclass(frozen=True)
class Seed:
    """How to put known data into the app and read it back (upgrade and restore tiers)."""

    service: str = "app"
    path: str | None = None  # default: every backed-up path


@dataclass(frozen=True)
class Settings:
    name: str
    source: str
    health: Health = field(default_factory=Health)
    deploy_timeout: float = 120.0
    # Not in the repr: pytest prints fixture values and introspected attributes on failure,
    # and env may hold secret-shaped values (shown() masks them where settings are shown).
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    not_applicable: Mapping[str, str] = field(default_factory=dict)
    upgrade_from: str | None = None
    memory_mb: int | None = None  # estimate for deploy admission when compose declares none
    max_task_failures: int = 3
    hook_timeout: float = 60.0
    seed: Seed = field(default_factory=Seed)
    overlay: Path | None = None  # compose.ccci.yml beside the settings, when present
    directory: Path | None = None

    def shown(self) -> dict[str, Any]:
        """The settings as shown to people: secret-shaped values masked."""
        return {
            "source": self.source,
            "env": {k: (MASK if SECRET_SHAPED.search(k) else v) for k, v in self.env.items()},
            "not_applicable": dict(self.not_applicable),
            "upgrade_from": self.upgrade_from,
            "deploy_timeout": self.deploy_timeout,
        }


def _expect(value: Any, kind: type | tuple, where: str, origin: str) -> Any:
    # bool is an int in Python; a YAML `true` where a number belongs is still a wrong type.
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        ok = False
    else:
        ok = isinstance(value, kind)
    if not ok:
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise RecipeError(f"{origin}: {where} must be {want}, got {type(value).__name__} {value!r}")
    return value


def _section(cls: type, raw: Any, where: str, origin: str) -> Any:
    _expect(raw, dict, where, origin)
    known = {f.name for f in fields(cls)}
    for key in raw:
        if key not in known:
            raise RecipeError(f"{origin}: unknown key {where}.{key} (known: {', '.join(sorted(known))})")
    return raw


def parse_settings(name: str, raw: Any, origin: str, directory: Path | None = None) -> Settings:
    if raw is None:
        raw = {}
    _expect(raw, dict, "the settings", origin)
    known = {f.name for f in fields(Settings)} - {"name", "overlay", "directory"}
    for key in raw:
        if key not in known:
            raise RecipeError(f"{origin}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    if "source" not in raw:
        raise RecipeError(f"{origin}: missing key 'source' (a git URL or path of the recipe repository)")
    source = _expect(raw["source"], str, "source", origin)

    health_raw = _section(Health, raw.get("health", {}), "health", origin)
    statuses = health_raw.get("statuses", [200])
    _expect(statuses, list, "health.statuses", origin)
    health = Health(
        path=_expect(health_raw.get("path", "/"), str, "health.path", origin),
        statuses=tuple(_expect(s, int, "health.statuses[]", origin) for s in statuses),
        port=_expect(health_raw["port"], int, "health.port", origin) if "port" in health_raw else None,
        service=_expect(health_raw.get("service", "app"), str, "health.service", origin),
    )
    seed_raw = _section(Seed, raw.get("seed", {}), "seed", origin)
    seed = Seed(
        service=_expect(seed_raw.get("service", "app"), str, "seed.service", origin),
        path=_expect(seed_raw["path"], str, "seed.path", origin) if "path" in seed_raw else None,
    )

    env = _expect(raw.get("env", {}), dict, "env", origin)
    for key, value in env.items():
        try:
            _expect(value, (str, int, float), f"env.{key}", origin)
        except RecipeError:
            if not SECRET_SHAPED.search(str(key)):
                raise
            # A secret-shaped value is never printed, not even to say it is the wrong type.
            raise RecipeError(f"{origin}: env.{key} must be str or int or float, got {type(value).__name__} {MASK}") from None
    not_applicable = _expect(raw.get("not_applicable", {}), dict, "not_applicable", origin)
    for tier, reason in not_applicable.items():
        if tier not in DECLARABLE:
            raise RecipeError(f"{origin}: not_applicable.{tier}: not a tier (tiers: {', '.join(DECLARABLE)})")
        if not isinstance(reason, str) or not reason.strip():
            raise RecipeError(f"{origin}: not_applicable.{tier} needs a reason (a non-empty string)")

    def number(key: str, default: float, kind=(int, float)) -> Any:
        value = _expect(raw.get(key, default), kind, key, origin)
        if value <= 0:
            raise RecipeError(f"{origin}: {key} must be positive, got {value!r}")
        return value

    overlay = directory / OVERLAY_FILE if directory and (directory / OVERLAY_FILE).is_file() else None
    return Settings(
        name=name,
        source=source,
        health=health,
        deploy_timeout=float(number("deploy_timeout", 120.0)),
        # YAML `true` is a bool: give the app what the file said, not Python's "True".
        env={str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in env.items()},
        not_applicable=dict(not_applicable),
        upgrade_from=_expect(raw["upgrade_from"], str, "upgrade_from", origin) if "upgrade_from" in raw else None,
        memory_mb=number("memory_mb", 1, int) if "memory_mb" in raw else None,
        max_task_failures=number("max_task_failures", 3, int),
        hook_timeout=float(number("hook_timeout", 60.0)),
        seed=seed,
        overlay=overlay,
        directory=directory,
    )


def load_settings(recipe_dir: Path) -> Settings:
    path = recipe_dir / SETTINGS_FILE
    origin = str(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise RecipeError(f"{origin}: missing (every enrolled recipe needs a settings file)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        raise RecipeError(f"{origin}:{at} not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_settings(recipe_dir.name, raw, origin, recipe_dir)


def enrolled(recipes_dir: Path) -> list[str]:
    """Names of the enrolled recipes: folders holding a settings file. Reads no file contents."""
    if not recipes_dir.is_dir():
        return []
    return sorted(p.name for p in recipes_dir.iterdir() if (p / SETTINGS_FILE).is_file())


def resolve_source(settings: Settings) -> str:
    """A relative local path in `source` is relative to the settings file's folder."""
    src = settings.source
    if "://" in src or src.startswith("git@") or settings.directory is None or Path(src).is_absolute():
        return src
    return str((settings.directory / src).resolve())
