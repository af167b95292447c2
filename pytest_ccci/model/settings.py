"""Enrollment: `recipes/<name>/ccci.yml`, validated into typed settings.

An unknown key or a wrong type is a RecipeError naming the file and the key: a typo in a
settings file must never be silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.images import PULL_CHOICES
from pytest_ccci.model.policy import Allowance, allowance_source_problem, unknown_kind
from pytest_ccci.model.routes import http_port
from pytest_ccci.model.secrets import MASK, SECRET_SHAPED, mask_url
from pytest_ccci.model.tiers import DECLARABLE

SETTINGS_FILE = "ccci.yml"
OVERLAY_FILE = "compose.ccci.yml"
# How long a deploy may take to converge when neither the enrollment (`deploy_timeout`) nor the
# recipe (abra's `coop-cloud.<stack>.timeout` label) says.
DEFAULT_DEPLOY_TIMEOUT = 120.0


@dataclass(frozen=True)
class Health:
    path: str = "/"
    statuses: tuple[int, ...] = (200,)
    port: int | None = None  # default: the app's traefik loadbalancer port label, else 80
    service: str = "app"

    def probe_port(self, config: Mapping[str, Any]) -> int:
        """The port the probe asks on: `port`, else the service's loadbalancer port label, else 80."""
        return self.port or http_port(config, self.service)


@dataclass(frozen=True)
class Route:
    """Install's route check: a traefik router for the app's domain, to the port that answered,
    with the app on traefik's external network. An app not behind traefik says why not."""

    check: bool = True
    reason: str | None = None  # why not, when check is false
    network: str = "proxy"  # traefik's network on a Co-op Cloud server


# What a seed `write` command must contain: where the fresh marker goes.
MARKER = "{marker}"


@dataclass(frozen=True)
class Seed:
    """How to put known data into the app and read it back (upgrade and restore tiers).

    Two forms: a marker file (the default: `path`, else every backed-up directory), or commands
    run in `service` through its own tools: `write` stores a fresh marker (`{marker}` in it),
    `read` prints the stored data, which must show the marker."""

    service: str = "app"
    path: str | None = None  # default: every backed-up path
    write: str | None = None  # shell command in `service`; `{marker}` is replaced by the marker
    read: str | None = None  # shell command in `service` printing the data written

    @property
    def by_command(self) -> bool:
        return self.write is not None


@dataclass(frozen=True)
class Settings:
    name: str
    source: str
    health: Health = field(default_factory=Health)
    # None: abra's way, the recipe's `coop-cloud.<stack>.timeout` label, else DEFAULT_DEPLOY_TIMEOUT
    deploy_timeout: float | None = None
    # Not in the repr: pytest prints fixture values and introspected attributes on failure,
    # and env may hold secret-shaped values (shown() masks them where settings are shown).
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    not_applicable: Mapping[str, str] = field(default_factory=dict)
    upgrade_from: str | None = None
    memory_mb: int | None = None  # estimate for deploy admission when compose declares none
    max_task_failures: int = 3
    hook_timeout: float = 60.0
    seed: Seed = field(default_factory=Seed)
    route: Route = field(default_factory=Route)
    allow: tuple[Allowance, ...] = ()  # what the deploy policy permits this recipe (model/policy.py)
    pull: str | None = None  # "never": its images are built on the runner, never fetched (model/images.py)
    overlay: Path | None = None  # compose.ccci.yml beside the settings, when present
    directory: Path | None = None

    def shown(self) -> dict[str, Any]:
        """The settings as shown to people: secret-shaped values masked."""
        return {
            "source": mask_url(self.source),  # a token in the URL is a secret
            "env": {k: (MASK if SECRET_SHAPED.search(k) else v) for k, v in self.env.items()},
            "not_applicable": dict(self.not_applicable),
            "upgrade_from": self.upgrade_from,
            "deploy_timeout": self.deploy_timeout,
            "route": {"check": self.route.check, "reason": self.route.reason, "network": self.route.network},
            "allow": [a.shown() for a in self.allow],
            "pull": self.pull,
        }


def _expect(value: Any, kind: type | tuple[type, ...], where: str, origin: str) -> Any:
    # bool is an int in Python; a YAML `true` where a number belongs is still a wrong type.
    numeric = kind in (int, float, (int, float))
    if not isinstance(value, kind) or (numeric and isinstance(value, bool)):
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
    """Validated settings, one section at a time (in the order errors have always been reported)."""
    raw = _top_level(raw if raw is not None else {}, origin)
    source = _expect(raw["source"], str, "source", origin)
    health = _health(raw.get("health", {}), origin)
    seed = _seed(raw.get("seed", {}), origin)
    route = _route(raw.get("route", {}), origin)
    allow = _allow(raw.get("allow", []), origin)
    env = _env(raw.get("env", {}), origin)
    not_applicable = _not_applicable(raw.get("not_applicable", {}), origin)
    overlay = directory / OVERLAY_FILE if directory and (directory / OVERLAY_FILE).is_file() else None
    return Settings(
        name=name,
        source=source,
        health=health,
        deploy_timeout=float(_positive(raw, "deploy_timeout", 1, origin)) if "deploy_timeout" in raw else None,
        env=env,
        not_applicable=not_applicable,
        upgrade_from=_expect(raw["upgrade_from"], str, "upgrade_from", origin) if "upgrade_from" in raw else None,
        memory_mb=_positive(raw, "memory_mb", 1, origin, int) if "memory_mb" in raw else None,
        max_task_failures=_positive(raw, "max_task_failures", 3, origin, int),
        hook_timeout=float(_positive(raw, "hook_timeout", 60.0, origin)),
        seed=seed,
        route=route,
        allow=allow,
        pull=_pull(raw, origin),
        overlay=overlay,
        directory=directory,
    )


def _pull(raw: dict[str, Any], origin: str) -> str | None:
    if "pull" not in raw:
        return None
    pull = _expect(raw["pull"], str, "pull", origin)
    if pull not in PULL_CHOICES:
        raise RecipeError(f"{origin}: pull must be one of {', '.join(PULL_CHOICES)}, got {pull!r}")
    return str(pull)


def _top_level(raw: Any, origin: str) -> dict[str, Any]:
    """The settings mapping, with only known keys and a source."""
    _expect(raw, dict, "the settings", origin)
    known = {f.name for f in fields(Settings)} - {"name", "overlay", "directory"}
    for key in raw:
        if key not in known:
            raise RecipeError(f"{origin}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    if "source" not in raw:
        raise RecipeError(f"{origin}: missing key 'source' (a git URL or path of the recipe repository)")
    return dict(raw)


def _health(raw: Any, origin: str) -> Health:
    section = _section(Health, raw, "health", origin)
    statuses = _expect(section.get("statuses", [200]), list, "health.statuses", origin)
    return Health(
        path=_expect(section.get("path", "/"), str, "health.path", origin),
        statuses=tuple(_expect(s, int, "health.statuses[]", origin) for s in statuses),
        port=_expect(section["port"], int, "health.port", origin) if "port" in section else None,
        service=_expect(section.get("service", "app"), str, "health.service", origin),
    )


def _seed(raw: Any, origin: str) -> Seed:
    section = _section(Seed, raw, "seed", origin)
    seed = Seed(
        service=_expect(section.get("service", "app"), str, "seed.service", origin),
        path=_expect(section["path"], str, "seed.path", origin) if "path" in section else None,
        write=_expect(section["write"], str, "seed.write", origin) if "write" in section else None,
        read=_expect(section["read"], str, "seed.read", origin) if "read" in section else None,
    )
    if (seed.write is None) != (seed.read is None):
        raise RecipeError(f"{origin}: seed.write and seed.read go together (data written must be read back)")
    if seed.write is not None and seed.path is not None:
        raise RecipeError(f"{origin}: seed.path (a marker file) and seed.write/read (commands) exclude each other")
    if seed.write is not None and MARKER not in seed.write:
        raise RecipeError(f"{origin}: seed.write must contain {MARKER} (where the fresh marker goes)")
    if seed.read is not None and not seed.read.strip():
        raise RecipeError(f"{origin}: seed.read must be a command (a non-empty string)")
    return seed


def _route(raw: Any, origin: str) -> Route:
    section = _section(Route, raw, "route", origin)
    check = _expect(section.get("check", True), bool, "route.check", origin)
    reason = _expect(section["reason"], str, "route.reason", origin) if "reason" in section else None
    if not check and not (reason or "").strip():
        raise RecipeError(f"{origin}: route.check: false needs a reason (route.reason, a non-empty string)")
    network = _expect(section.get("network", "proxy"), str, "route.network", origin)
    return Route(check=check, reason=reason, network=network)


_ALLOW_KEYS = ("kind", "service", "reason", "source")


def _allow(raw: Any, origin: str) -> tuple[Allowance, ...]:
    """`allow:` a list of {kind, service, reason, source}: the deploy policy's exceptions, each for
    one service, with a reason someone can review, and for a host path a `source` path prefix
    (required for bind-mount: model/policy.py)."""
    entries = _expect(raw, list, "allow", origin)
    allowances = []
    for i, entry in enumerate(entries):
        where = f"allow[{i}]"
        _expect(entry, dict, where, origin)
        for key in entry:
            if key not in _ALLOW_KEYS:
                raise RecipeError(f"{origin}: unknown key {where}.{key} (known: {', '.join(_ALLOW_KEYS)})")
        for key in ("kind", "service", "reason", *(("source",) if "source" in entry else ())):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                raise RecipeError(f"{origin}: {where}.{key} is required (a non-empty string)")
        problem = unknown_kind(entry["kind"])
        if problem:
            raise RecipeError(f"{origin}: {where}.kind: {problem}")
        problem = allowance_source_problem(entry["kind"], entry.get("source"))
        if problem:
            raise RecipeError(f"{origin}: {where}.source: {problem}")
        allowances.append(Allowance(entry["kind"], entry["service"], entry["reason"], source=entry.get("source")))
    return tuple(allowances)


def _env(raw: Any, origin: str) -> dict[str, str]:
    env = _expect(raw, dict, "env", origin)
    for key, value in env.items():
        if isinstance(value, (str, int, float)):  # bool is an int: YAML `true` is fine here
            continue
        if SECRET_SHAPED.search(str(key)):
            # A secret-shaped value is never printed, not even to say it is the wrong type.
            raise RecipeError(f"{origin}: env.{key} must be str or int or float, got {type(value).__name__} {MASK}")
        _expect(value, (str, int, float), f"env.{key}", origin)  # raises, naming the key and the value
    # YAML `true` is a bool: give the app what the file said, not Python's "True".
    return {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in env.items()}


def _not_applicable(raw: Any, origin: str) -> dict[str, str]:
    declared = _expect(raw, dict, "not_applicable", origin)
    for tier, reason in declared.items():
        if tier not in DECLARABLE:
            raise RecipeError(f"{origin}: not_applicable.{tier}: not a tier (tiers: {', '.join(DECLARABLE)})")
        if not isinstance(reason, str) or not reason.strip():
            raise RecipeError(f"{origin}: not_applicable.{tier} needs a reason (a non-empty string)")
    return dict(declared)


def _positive(
    raw: Mapping[str, Any], key: str, default: float, origin: str, kind: type | tuple[type, ...] = (int, float)
) -> Any:
    """A top-level number: of the right type, and positive."""
    value = _expect(raw.get(key, default), kind, key, origin)
    if value <= 0:
        raise RecipeError(f"{origin}: {key} must be positive, got {value!r}")
    return value


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
