"""summary.md: the run in a few lines of Markdown, for a pull-request comment or a CI job summary.

Levels tallied, then every recipe below L5 (level, the level it had before when the history
knows it, and why not higher), then each rung that failed or could not be verified with the
command that reruns it (an intermittent one marked `fail (intermittent)`), then the recipes
with lint warnings (never part of a level), then the flaky tiers (reruns counted), then the
front pages install pictured (images beside summary.md, in the
dashboard's pictures/). Kept under GitHub's comment size limit:
past `MAX_CHARS` the list stops with how many were left out (the dashboard has them all).

Rendered from `report/templates/summary.md` (assets.py); this module picks what it lists.
Text from an app or a recipe (recipe names, reasons) is made inert before it goes in, by the
template's `markdown` filter (assets.markdown_text): no terminal escape or control character
(one_line), `&`, `<`, `>` as HTML entities, every other character Markdown gives a meaning
backslash-escaped, `www.` without its live dot, and a zero-width space after a mention's `@` and
an issue reference's `#` or `GH-`, so a log line quoted in a reason renders as the words it is:
never a link, an autolink, a mention, an image, HTML, emphasis or a broken table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_ccci.documents.history import Flake, RecipeHistory
from pytest_ccci.documents.results import rung_text, warning_rung
from pytest_ccci.report.assets import markdown_text as markdown_text  # its home is assets (the filter)
from pytest_ccci.report.assets import render
from pytest_ccci.report.pages import level_tally, picture_link

MAX_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
# Characters kept for the lines that are not table rows (the heading, the tally, the tables'
# heads, the notes of rows left out), so rows plus these stay under MAX_CHARS.
FIXED_LINES_ROOM = 1_000


@dataclass
class Budget:
    """The characters table rows may still take; a row that does not fit, and every row after
    it in its table, is left out (and counted in a note)."""

    left: int

    def keep(self, rows: list[str]) -> tuple[list[str], int]:
        for i, row in enumerate(rows):
            if len(row) + 1 > self.left:
                return rows[:i], len(rows) - i
            self.left -= len(row) + 1
        return rows, 0


def previous_level(history: RecipeHistory | None, run_id: str | None) -> int | None:
    """The recipe's level in the latest recorded run other than `run_id`."""
    if history is None:
        return None
    earlier = [p for p in history.points if p.run_id != run_id]
    return earlier[-1].level if earlier else None


def summary(doc: Mapping[str, Any], histories: Mapping[str, RecipeHistory] | None, title: str) -> str:
    recipes = doc["recipes"]
    return render(
        "summary.md",
        title=title,
        recipes=recipes,
        run_id=doc.get("run_id"),
        finished=doc.get("finished"),
        interrupted=bool(doc.get("interrupted")),
        tally=level_tally(recipes),
        below=_below(recipes, doc, histories),
        repros=_repros(recipes),
        warned=_warned(recipes),
        flaky=_flaky(recipes, histories),
        pictures=_pictures(recipes),
        budget=Budget(MAX_CHARS - FIXED_LINES_ROOM - len(title)),
    )


def _below(
    recipes: Mapping[str, Any], doc: Mapping[str, Any], histories: Mapping[str, RecipeHistory] | None
) -> list[tuple[str, int, str, str]]:
    """(name, level, level before, why not higher) of the recipes below L5, the lowest first."""
    rows = []
    below = [(n, e) for n, e in recipes.items() if e.get("level") != 5]
    for name, e in sorted(below, key=lambda ne: (ne[1].get("level", 0), ne[0])):
        before = previous_level((histories or {}).get(name), e.get("run_id") or doc.get("run_id"))
        rows.append(
            (name, e.get("level", 0), f"L{before}" if before is not None else "-", e.get("why_not_higher") or "")
        )
    return rows


def _repros(recipes: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(name, rung, its verdict as shown, the command that reruns it) of every rung that has
    one (failed, or unverified), the failures first."""
    rows = []
    for name, e in sorted(recipes.items()):
        for rung, verdict in (e.get("rungs") or {}).items():
            if verdict.get("repro"):
                shown = rung_text(rung, str(verdict.get("status")), [], verdict.get("intermittent"))
                rows.append((name, rung, shown, str(verdict["repro"])))
    return sorted(rows, key=lambda row: not row[2].startswith("fail"))


def _warned(recipes: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(name, each rung with warnings as shown, the warnings listed) of the recipes with warnings."""
    rows = []
    for name, e in sorted(recipes.items()):
        warnings = e.get("warnings") or []
        if warnings:
            rungs = e.get("rungs") or {}
            shown = ", ".join(
                f"{rung} {rung_text(rung, str(rungs.get(rung, {}).get('status', 'unver')), warnings)}"
                for rung in dict.fromkeys(warning_rung(w) for w in warnings)
            )
            rows.append((name, shown, "; ".join(f"{w.get('id')} {w.get('description')}" for w in warnings)))
    return rows


def _flaky(recipes: Mapping[str, Any], histories: Mapping[str, RecipeHistory] | None) -> list[tuple[str, str, Flake]]:
    """(name, tier, its flake figures) of every tier whose same head both passed and failed."""
    return [
        (name, tier, flake)
        for name, history in sorted((histories or {}).items())
        if name in recipes
        for tier, flake in history.flakes().items()
        if flake.flaky_heads
    ]


def _pictures(recipes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, link beside summary.md) of every recipe whose front page install pictured."""
    links = ((name, picture_link(e)) for name, e in sorted(recipes.items()))
    return [(name, link) for name, link in links if link]
