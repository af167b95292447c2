"""The dashboard's pages: `index.html` (every recipe's level, sortable and filterable) and one
page per recipe (tier reasons, lint warnings, stamps, upgrade runs, durations, its history,
install's picture of its front page when the run took one, and links to each failed tier's
story: its services' logs, task histories and last updates). The lint rung says how many
warnings it passed with (`pass (2 warn)`); warnings never change a level. A rung that failed
and passed on a rerun says so (`fail (intermittent)`), and a recipe's page gives each rung that
failed or could not be verified the command that reruns it.

This module says what a page shows, as plain values read off results documents (JSON-shaped
dicts); the templates in `report/templates/` (assets.py) say how, and escape every value they
show. Nothing secret reaches them: results.json holds no secret (settings are masked there, and
its leak scan covers the texts the reasons come from).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from pytest_ccci.documents.history import Point, RecipeHistory
from pytest_ccci.documents.results import rung_text, warnings_of_rung
from pytest_ccci.model.text import one_line
from pytest_ccci.model.tiers import RUNGS, TIERS
from pytest_ccci.report.assets import duration, percent, render, when
from pytest_ccci.report.documents import finished_of, recipe_wall

WHY_LIMIT = 200  # characters of why_not_higher in the index; the recipe page has it whole
REASON_LIMIT = 4000  # characters of a long text (a reason, a log) shown in a recipe page's cell
LONG_TEXT = 120  # a text longer than this (or of many lines) is shown preformatted
HISTORY_CELLS = 10  # levels shown per recipe in the index
HISTORY_ROWS = 30  # runs listed on a recipe page
LEVELS = range(5, -1, -1)  # as the index and the summary list them: the best first
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def file_stem(recipe: str) -> str:
    """The recipe's page and badge file name (without suffix): the name itself when it is a safe
    file name, else a safe spelling with a hash of the name (two names never share a file)."""
    if _SAFE_NAME.fullmatch(recipe):
        return recipe
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", recipe).lstrip("._") or "recipe"
    return f"{safe}-{hashlib.sha256(recipe.encode()).hexdigest()[:8]}"


def _render(template: str, **context: Any) -> str:
    return render(template, long_text=LONG_TEXT, reason_limit=REASON_LIMIT, **context)


def level_tally(recipes: Mapping[str, Mapping[str, Any]]) -> list[tuple[int, int]]:
    """(level, how many recipes have it) for every level some recipe has, the best first."""
    counts = {lv: sum(1 for e in recipes.values() if e.get("level") == lv) for lv in LEVELS}
    return [(lv, n) for lv, n in counts.items() if n]


def _level(e: Mapping[str, Any]) -> int:
    return int(e.get("level") or 0)


# -- index ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexRow:
    """One recipe's row in the index; `since`, `history` and `flaky` are shown with a history."""

    name: str
    stem: str
    level: int
    rungs: list[tuple[str, str]]  # (status, as shown) per rung, in RUNGS order
    head: str
    ref: str
    why: str
    wall: float | None
    finished: str
    since: str | None = None
    history: Sequence[Point] | None = None  # None: no history of this recipe
    flaky: str = ""


def index_page(doc: Mapping[str, Any], histories: Mapping[str, RecipeHistory] | None, title: str) -> str:
    recipes = doc["recipes"]
    return _render(
        "index.html",
        page_title=title,
        title=title,
        tally=", ".join(f"L{lv}: {n}" for lv, n in level_tally(recipes)),
        run_id=str(doc.get("run_id")),
        finished=doc.get("finished"),
        interrupted=bool(doc.get("interrupted")),
        levels=LEVELS,
        rungs=RUNGS,
        with_history=histories is not None,
        rows=[_index_row(name, e, doc, histories) for name, e in recipes.items()],
    )


def _index_row(
    name: str, e: Mapping[str, Any], doc: Mapping[str, Any], histories: Mapping[str, RecipeHistory] | None
) -> IndexRow:
    rungs = e.get("rungs") or {}
    verdicts = [(r, rungs.get(r) or {}) for r in RUNGS]
    finished = finished_of(doc, e)
    row = IndexRow(
        name=name,
        stem=file_stem(name),
        level=_level(e),
        rungs=[_shown_rung(r, v, e.get("warnings") or []) for r, v in verdicts],
        head=(e.get("head_sha") or "-")[:8],
        ref=str(e.get("ref") or "-"),
        why=one_line(e.get("why_not_higher") or "", WHY_LIMIT),
        wall=recipe_wall(e),
        finished=finished,
    )
    if histories is None:
        return row
    history = histories.get(name)
    if history is None:
        return replace(row, since=finished)
    return replace(
        row, since=history.since() or finished, history=history.levels(HISTORY_CELLS), flaky=_flaky_text(history)
    )


def _shown_rung(rung: str, verdict: Mapping[str, Any], warnings: list[Any]) -> tuple[str, str]:
    """(status, as shown) of a rung: its warnings counted, an intermittent one marked."""
    status = str(verdict.get("status", "unver"))
    return status, rung_text(rung, status, warnings, verdict.get("intermittent"))


def _flaky_text(history: RecipeHistory) -> str:
    return ", ".join(f"{t} {percent(f.rate)}" for t, f in history.flakes().items() if f.flaky_heads)


# -- a recipe's page -----------------------------------------------------------------------------


def recipe_page(name: str, e: Mapping[str, Any], doc: Mapping[str, Any], history: RecipeHistory | None) -> str:
    level = _level(e)
    rungs = e.get("rungs") or {}
    warnings = e.get("warnings") or []
    return _render(
        "recipe.html",
        page_title=f"{name}: L{level}",
        name=name,
        stem=file_stem(name),
        level=level,
        facts=_facts(e, doc, history),
        rungs=[(r, *_shown_rung(r, rungs.get(r) or {}, warnings), _rung_reason(e, r), _repro(rungs, r)) for r in RUNGS],
        tiers=[
            (nodeid, t.get("tier"), t.get("status"), t.get("reason")) for nodeid, t in (e.get("tiers") or {}).items()
        ],
        warnings=[(w.get("id"), w.get("description"), w.get("detail")) for w in warnings],
        lint_mirrors=e.get("lint_mirrors"),
        upgrade=_upgrade_rows(e),
        stamps=_mapping_section(e.get("stamps")),
        durations=_duration_rows(e),
        history=_history_section(history),
        settings=_mapping_section(e.get("settings")),
        picture=picture_link(e, "../"),
        stories=story_rows(e, "../"),
    )


def picture_link(e: Mapping[str, Any], up: str = "") -> str | None:
    """The recipe's picture as a link from a page `up` from the dashboard's folder: only a
    relative path inside it (cli.copy_pictures names the copy so), never an address elsewhere."""
    return _inside_link(e.get("picture"), up)


def _inside_link(path: Any, up: str) -> str | None:
    """`path` as a link from a page `up` from the dashboard's folder, when it is a relative path
    inside that folder; else None (never an address elsewhere)."""
    if not isinstance(path, str) or not path or path.startswith("/") or ":" in path:
        return None
    if ".." in PurePosixPath(path).parts:
        return None
    return up + quote(path)


def story_rows(e: Mapping[str, Any], up: str = "") -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(test, service, [(kind, link)]) for each service of each failed tier's story (the files
    cli.copy_stories copied into the dashboard; a file named elsewhere is not linked)."""
    rows: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for nodeid, tier in (e.get("tiers") or {}).items():
        for artifact in tier.get("artifacts") or []:
            link = _inside_link(artifact.get("path"), up)
            if link is not None:
                rows.setdefault((nodeid, str(artifact.get("service"))), []).append((str(artifact.get("kind")), link))
    return [(nodeid, service, links) for (nodeid, service), links in rows.items()]


def _repro(rungs: Mapping[str, Any], rung: str) -> str | None:
    """The command that reruns a rung that failed or could not be verified (results.json's)."""
    return (rungs.get(rung) or {}).get("repro") or None


def _rung_reason(e: Mapping[str, Any], rung: str) -> str:
    reason = str((e.get("rungs") or {}).get(rung, {}).get("reason") or "")
    warnings = warnings_of_rung(rung, e.get("warnings") or [])
    if warnings:
        said = f"{len(warnings)} warning(s), listed under Warnings (they do not change the level)"
        return f"{reason}; {said}" if reason else said
    return reason


def _facts(e: Mapping[str, Any], doc: Mapping[str, Any], history: RecipeHistory | None) -> list[tuple[str, Any]]:
    facts = [
        ("level", f"L{_level(e)}"),
        ("why not higher", e.get("why_not_higher") or "-"),
        ("head", e.get("head_sha")),
        ("ref", e.get("ref")),
        ("release on head", e.get("head_release") or "-"),
        ("dirty", e.get("dirty")),
        ("domain", e.get("domain")),
        ("run", e.get("run_id") or doc.get("run_id")),
        ("when", when(finished_of(doc, e))),
        ("wall", duration(recipe_wall(e))),
        ("clean teardown", e.get("clean_teardown")),
        ("leftovers", ", ".join(e.get("leftovers") or []) or "-"),
        ("no secret leak", e.get("no_secret_leak")),
    ]
    kept = e.get("kept")
    if isinstance(kept, Mapping):
        facts.append(("kept deployed until", f"{kept.get('deadline')} (--ccci-keep-failed): {kept.get('stack')}"))
    if history is not None:
        facts += [("level since", when(history.since())), ("last green release", history.last_green() or "-")]
    return facts


def _upgrade_rows(e: Mapping[str, Any]) -> list[tuple[str, str]]:
    base = e.get("upgrade_base") or {}
    runs = e.get("upgrade_runs") or []
    if not base and not runs:
        return []
    return [
        ("base", base.get("version") or "-"),
        ("chosen by", base.get("how") or "-"),
        ("upgrade runs", ", ".join(map(str, runs)) or "-"),
    ]


@dataclass(frozen=True)
class MappingSection:
    """A mapping shown as key/value rows when its values are plain, else as its JSON text."""

    rows: list[tuple[str, Any]] | None
    json: str = ""


def _mapping_section(mapping: Any) -> MappingSection | None:
    if not mapping:
        return None
    if isinstance(mapping, dict) and all(not isinstance(v, (dict, list)) for v in mapping.values()):
        return MappingSection(sorted(mapping.items()))
    return MappingSection(None, json.dumps(mapping, indent=2, sort_keys=True))


def _duration_rows(e: Mapping[str, Any]) -> list[tuple[str, str]]:
    tiers = e.get("durations") or {}
    deploys = e.get("deploy_durations") or {}
    rows = [(f"tier {t}", duration(tiers[t])) for t in TIERS if t in tiers]
    return rows + [(what, duration(s)) for what, s in deploys.items() if isinstance(s, (int, float))]


@dataclass(frozen=True)
class HistorySection:
    runs: int
    last_green: str | None
    # tier, flake rate, flaky heads, runs with a pass or fail, runs in which it was intermittent
    flakes: list[tuple[str, str, int, int, int]]
    levels: list[tuple[str, str, str, str, str]]  # when, head, release, level, tiers: the latest first


def _history_section(history: RecipeHistory | None) -> HistorySection | None:
    if history is None or not history.points:
        return None
    return HistorySection(
        runs=len(history.points),
        last_green=history.last_green(),
        flakes=[(t, percent(f.rate), f.flaky_heads, f.runs, f.intermittent) for t, f in history.flakes().items()],
        levels=[
            (when(p.finished), (p.head or "-")[:8], p.release or "-", f"L{p.level}", _tiers_text(p.statuses()))
            for p in reversed(history.levels(HISTORY_ROWS))
        ],
    )


def _tiers_text(tiers: Mapping[str, str]) -> str:
    return " ".join(f"{t}:{tiers[t]}" for t in TIERS if t in tiers)
