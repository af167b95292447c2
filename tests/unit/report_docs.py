"""Small results.json documents for the report tests, shaped as run/results.py writes them
(JSON-shaped; `typed` reads one as documents/ does)."""

from __future__ import annotations

from typing import Any

from pytest_ccci.documents.results import SCHEMA, ResultsDocument

ALL_PASS = {
    "install": "pass",
    "upgrade": "pass",
    "backup": "pass",
    "restore": "pass",
    "functional": "pass",
    "lint": "pass",
}


def entry(
    name: str,
    tiers: dict[str, str] | None = None,
    level: int = 5,
    head: str = "a" * 40,
    release: str | None = None,
    wall: float | None = 10.0,
    why: str = "",
) -> dict[str, Any]:
    tiers = ALL_PASS if tiers is None else tiers
    out: dict[str, Any] = {
        "level": level,
        "why_not_higher": why,
        "rungs": {
            r: {"status": "pass", "reason": ""} for r in ("install", "upgrade", "backup_restore", "functional", "lint")
        },
        "tiers": {
            f"ccci/{name}::test_{t}": {"tier": t, "status": s, "reason": "" if s == "pass" else f"{t} said no"}
            for t, s in tiers.items()
        },
        "ref": "default branch",
        "head_sha": head,
        "head_release": release,
        "durations": {t: 1.0 for t in tiers},
        "settings": {"source": "x", "env": {"DB_PASSWORD": "********"}},
    }
    if wall is not None:
        out["wall_seconds"] = wall
    return out


def doc(
    recipes: dict[str, dict[str, Any]],
    run_id: str = "20260101000000-aaaaaa",
    finished: str = "2026-01-01T00:10:00Z",
    shard: str | None = None,
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "started": finished[:14] + "00:00Z",
        "finished": finished,
        "interrupted": False,
        "shard": shard,
        "recipes": recipes,
    }


def typed(document: dict[str, Any]) -> ResultsDocument:
    return ResultsDocument.from_wire(document)
