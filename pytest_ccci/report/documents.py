"""Reading results.json documents: one clear line for a file that is not one, and the few
per-recipe figures the reports need (wall time, tier statuses, when it ran).

A document is what run/results.py writes (schema `pytest-ccci/results/1`), or a merged one
(merge.py), which has the same shape plus `merged_from` and, per recipe, the run it came from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_ccci.errors import UsageError
from pytest_ccci.model.level import TierResult, aggregate_tier
from pytest_ccci.model.tiers import TIERS
from pytest_ccci.model.verdict import Status
from pytest_ccci.run.results import SCHEMA

SCHEMA_FAMILY = SCHEMA.rsplit("/", 1)[0] + "/"  # "pytest-ccci/results/"
_STATUSES = frozenset(s.value for s in Status)


def load_results(path: Path) -> dict[str, Any]:
    """The document at `path`, checked to be a results.json this version reads; UsageError naming
    the file otherwise."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a results.json") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith(SCHEMA_FAMILY):
        raise UsageError(f"{path}: not a pytest-ccci results.json (no schema {SCHEMA_FAMILY}N)")
    if doc["schema"] != SCHEMA:
        raise UsageError(f"{path}: schema {doc['schema']} is not the one this version reads ({SCHEMA})")
    if not isinstance(doc.get("recipes"), dict):
        raise UsageError(f"{path}: has no recipes mapping")
    return doc


def recipe_wall(entry: Mapping[str, Any]) -> float | None:
    """A recipe's recorded wall time in seconds: `wall_seconds`, or (documents written before
    that field) the sum of its tier durations; None when nothing was recorded."""
    wall = entry.get("wall_seconds")
    if isinstance(wall, (int, float)) and not isinstance(wall, bool):
        return float(wall)
    durations = entry.get("durations")
    if isinstance(durations, dict) and durations:
        return float(sum(v for v in durations.values() if isinstance(v, (int, float))))
    return None


def walls(doc: Mapping[str, Any]) -> dict[str, float]:
    """Every recipe's recorded wall time, for shard balancing."""
    out = {}
    for name, entry in doc["recipes"].items():
        wall = recipe_wall(entry) if isinstance(entry, dict) else None
        if wall is not None:
            out[name] = wall
    return out


def tier_statuses(entry: Mapping[str, Any]) -> dict[str, Status]:
    """Each tier that ran, with its verdict over its items (any fail, then any unverified, wins);
    tiers with no item (not selected, no functional tests) are left out."""
    items: dict[str, list[TierResult]] = {}
    for item in (entry.get("tiers") or {}).values():
        tier, status = item.get("tier"), item.get("status")
        if tier in TIERS and status in _STATUSES:
            items.setdefault(tier, []).append(TierResult(Status(status), item.get("reason") or ""))
    return {tier: aggregate_tier(results).status for tier, results in items.items()}


def finished_of(doc: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    """When the recipe's run finished (ISO 8601, UTC): its own run's, in a merged document."""
    return str(entry.get("finished") or doc.get("finished") or "")
