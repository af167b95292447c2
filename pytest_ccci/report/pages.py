"""The dashboard's pages: `index.html` (every recipe's level, sortable and filterable) and one
page per recipe (tier reasons, lint warnings, stamps, upgrade runs, durations, its history). The
lint rung says how many warnings it passed with (`pass (2 warn)`); warnings never change a level.

Pages are strings built from results documents; every value shown is escaped. Nothing secret
reaches them: results.json holds no secret (settings are masked there, and its leak scan
covers the texts the reasons come from).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from pytest_ccci.model.text import one_line
from pytest_ccci.model.tiers import RUNGS, TIERS
from pytest_ccci.report.assets import INDEX_SCRIPT, STYLE
from pytest_ccci.report.documents import finished_of, recipe_wall
from pytest_ccci.run.history import RecipeHistory
from pytest_ccci.run.results import rung_text

WHY_LIMIT = 200  # characters of why_not_higher in the index; the recipe page has it whole
REASON_LIMIT = 4000
HISTORY_CELLS = 10  # levels shown per recipe in the index
HISTORY_ROWS = 30  # runs listed on a recipe page
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def file_stem(recipe: str) -> str:
    """The recipe's page and badge file name (without suffix): the name itself when it is a safe
    file name, else a safe spelling with a hash of the name (two names never share a file)."""
    if _SAFE_NAME.fullmatch(recipe):
        return recipe
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", recipe).lstrip("._") or "recipe"
    return f"{safe}-{hashlib.sha256(recipe.encode()).hexdigest()[:8]}"


def _page(title: str, body: str, script: str = "") -> str:
    tail = f"<script>{script}</script>" if script else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width"><style>{STYLE}</style></head>'
        f"<body>{body}{tail}</body></html>\n"
    )


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


def when(iso: str | None) -> str:
    """`2026-11-22T05:32:10Z` shown as `2026-11-22 05:32Z`."""
    return f"{iso[:10]} {iso[11:16]}Z" if iso and len(iso) >= 16 else (iso or "-")


def _status_cell(status: str, shown: str | None = None) -> str:
    """A status cell, coloured by `status`, saying `shown` (the lint rung: `pass (2 warn)`)."""
    return f'<td class="{escape(status)}">{escape(shown or status)}</td>'


def _level_cell(level: int) -> str:
    return f'<td class="lvl L{level}" data-sort="{level}">L{level}</td>'


def _history_cells(history: RecipeHistory | None) -> str:
    if history is None:
        return "<td></td>"
    marks = "".join(
        f'<i class="L{p.level}" title="{escape(when(p.finished))} L{p.level}"></i>'
        for p in history.levels(HISTORY_CELLS)
    )
    return f'<td class="h">{marks}</td>'


def _flaky_text(history: RecipeHistory | None) -> str:
    if history is None:
        return ""
    return ", ".join(f"{t} {f.rate:.0%}" for t, f in history.flakes().items() if f.flaky_heads)


# -- index ---------------------------------------------------------------------------------------


def index_page(doc: Mapping[str, Any], histories: Mapping[str, RecipeHistory] | None, title: str) -> str:
    recipes = doc["recipes"]
    counts = {lv: sum(1 for e in recipes.values() if e.get("level") == lv) for lv in range(5, -1, -1)}
    tally = ", ".join(f"L{lv}: {n}" for lv, n in counts.items() if n)
    with_history = histories is not None
    head = "".join(
        [
            '<th data-type="text">recipe</th><th data-type="num">level</th>',
            *(f'<th data-type="text">{escape(r)}</th>' for r in RUNGS),
            '<th data-type="text">head</th><th data-type="text">ref</th><th>why not higher</th>',
            '<th data-type="num">duration</th><th data-type="text">when</th>',
            '<th data-type="text">since</th><th>history</th><th data-type="text">flaky</th>' if with_history else "",
        ]
    )
    rows = "".join(_index_row(name, e, doc, histories) for name, e in recipes.items())
    options = "".join(f'<option value="{lv}">L{lv}</option>' for lv in range(5, -1, -1))
    body = (
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta">{len(recipes)} recipes ({escape(tally)}) · run {escape(str(doc.get("run_id")))} · '
        f"finished {escape(when(doc.get('finished')))}{' · interrupted' if doc.get('interrupted') else ''}</p>"
        '<div class="controls"><input id="q" type="search" placeholder="filter: recipe, reason, ref…" '
        'aria-label="filter"> <select id="level" aria-label="level"><option value="">all levels</option>'
        f'{options}</select> <span id="shown">{len(recipes)}</span> shown</div>'
        f'<table id="levels"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )
    return _page(title, body, INDEX_SCRIPT)


def _rung_status_cell(rung: str, status: str, e: Mapping[str, Any]) -> str:
    return _status_cell(status, rung_text(rung, status, e.get("warnings") or []))


def _index_row(
    name: str, e: Mapping[str, Any], doc: Mapping[str, Any], histories: Mapping[str, RecipeHistory] | None
) -> str:
    level = int(e.get("level") or 0)
    rungs = e.get("rungs") or {}
    wall = recipe_wall(e)
    finished = finished_of(doc, e)
    cells = [
        f'<td><a href="recipes/{escape(file_stem(name))}.html">{escape(name)}</a></td>',
        _level_cell(level),
        *(_rung_status_cell(r, str((rungs.get(r) or {}).get("status", "unver")), e) for r in RUNGS),
        f"<td><code>{escape((e.get('head_sha') or '-')[:8])}</code></td>",
        f"<td>{escape(str(e.get('ref') or '-'))}</td>",
        f'<td class="why">{escape(one_line(e.get("why_not_higher") or "", WHY_LIMIT))}</td>',
        f'<td class="n" data-sort="{wall or 0:.1f}">{duration(wall)}</td>',
        f"<td>{escape(when(finished))}</td>",
    ]
    if histories is not None:
        history = histories.get(name)
        since = history.since() if history else None
        cells += [
            f"<td>{escape(when(since or finished))}</td>",
            _history_cells(history),
            f"<td>{escape(_flaky_text(history))}</td>",
        ]
    return f'<tr data-level="{level}">{"".join(cells)}</tr>'


# -- a recipe's page -----------------------------------------------------------------------------


def recipe_page(name: str, e: Mapping[str, Any], doc: Mapping[str, Any], history: RecipeHistory | None) -> str:
    level = int(e.get("level") or 0)
    stem = escape(file_stem(name))
    body = [
        '<p><a href="../index.html">← all recipes</a></p>',
        f'<h1>{escape(name)} <img src="../badges/{stem}.svg" alt="ccci L{level}"></h1>',
        _facts_table(e, doc, history),
        "<h2>Rungs</h2>",
        _table(
            ("rung", "status", "reason"),
            ((r, (e.get("rungs") or {}).get(r, {}).get("status", "unver"), _rung_reason(e, r)) for r in RUNGS),
            status_column=1,
        ),
        "<h2>Tiers</h2>",
        _table(
            ("test", "tier", "status", "reason"),
            ((nodeid, t.get("tier"), t.get("status"), t.get("reason")) for nodeid, t in (e.get("tiers") or {}).items()),
            status_column=2,
        ),
        _warnings_section(e),
        _upgrade_section(e),
        _mapping_section("Stamps", e.get("stamps")),
        _durations_section(e),
        _history_section(history),
        _mapping_section("Settings (secret-shaped values masked)", e.get("settings")),
    ]
    return _page(f"{name}: L{level}", "".join(body))


def _rung_reason(e: Mapping[str, Any], rung: str) -> str:
    reason = str((e.get("rungs") or {}).get(rung, {}).get("reason") or "")
    warnings = e.get("warnings") or []
    if rung == "lint" and warnings:
        said = f"{len(warnings)} warning(s), listed under Lint warnings (they do not change the level)"
        return f"{reason}; {said}" if reason else said
    return reason


def _facts_table(e: Mapping[str, Any], doc: Mapping[str, Any], history: RecipeHistory | None) -> str:
    level = int(e.get("level") or 0)
    facts = [
        ("level", f"L{level}"),
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
    if history is not None:
        facts += [("level since", when(history.since())), ("last green release", history.last_green() or "-")]
    return _table(("", ""), facts, header=False)


def _table(
    columns: Iterable[str], rows: Iterable[Iterable[Any]], status_column: int | None = None, header: bool = True
) -> str:
    head = "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr>" if header else ""
    out = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            text = "-" if value is None else str(value)
            if i == status_column:
                cells.append(_status_cell(text))
            elif "\n" in text or len(text) > 120:
                cells.append(f"<td><pre>{escape(text[:REASON_LIMIT])}</pre></td>")
            else:
                cells.append(f"<td>{escape(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}{''.join(out)}</table>"


def _warnings_section(e: Mapping[str, Any]) -> str:
    warnings = e.get("warnings") or []
    if not warnings:
        return ""
    mirrors = e.get("lint_mirrors")
    note = f"<p>Lint mirrors {escape(str(mirrors))}.</p>" if mirrors else ""
    rows = ((w.get("id"), w.get("description"), w.get("detail")) for w in warnings)
    return f"<h2>Lint warnings ({len(warnings)})</h2>{note}" + _table(("rule", "description", "detail"), rows)


def _upgrade_section(e: Mapping[str, Any]) -> str:
    base = e.get("upgrade_base") or {}
    runs = e.get("upgrade_runs") or []
    if not base and not runs:
        return ""
    rows = [("base", base.get("version") or "-"), ("chosen by", base.get("how") or "-")]
    rows.append(("upgrade runs", ", ".join(map(str, runs)) or "-"))
    return "<h2>Upgrade</h2>" + _table(("", ""), rows, header=False)


def _mapping_section(title: str, mapping: Any) -> str:
    if not mapping:
        return ""
    if isinstance(mapping, dict) and all(not isinstance(v, (dict, list)) for v in mapping.values()):
        return f"<h2>{escape(title)}</h2>" + _table(("key", "value"), sorted(mapping.items()))
    return f"<h2>{escape(title)}</h2><pre>{escape(json.dumps(mapping, indent=2, sort_keys=True))}</pre>"


def _durations_section(e: Mapping[str, Any]) -> str:
    tiers = e.get("durations") or {}
    deploys = e.get("deploy_durations") or {}
    rows = [(f"tier {t}", duration(tiers[t])) for t in TIERS if t in tiers]
    rows += [(what, duration(s)) for what, s in deploys.items() if isinstance(s, (int, float))]
    return "<h2>Durations</h2>" + _table(("what", "time"), rows) if rows else ""


def _history_section(history: RecipeHistory | None) -> str:
    if history is None or not history.points:
        return ""
    flakes = history.flakes()
    flake_rows = [(t, f"{f.rate:.0%}", f.flaky_heads, f.runs) for t, f in flakes.items()]
    runs = [
        (when(p.finished), (p.head or "-")[:8], p.release or "-", f"L{p.level}", _tiers_text(p.statuses()))
        for p in reversed(history.levels(HISTORY_ROWS))
    ]
    return (
        f"<h2>History ({len(history.points)} runs)</h2>"
        f"<p>Last green release: <b>{escape(history.last_green() or 'none')}</b></p>"
        "<h2>Flake rate per tier</h2>"
        + _table(("tier", "flake rate", "flaky heads", "runs with a pass or fail"), flake_rows)
        + f"<h2>Levels over time (last {min(HISTORY_ROWS, len(history.points))})</h2>"
        + _table(("when", "head", "release", "level", "tiers"), runs)
    )


def _tiers_text(tiers: Mapping[str, str]) -> str:
    return " ".join(f"{t}:{tiers[t]}" for t in TIERS if t in tiers)
