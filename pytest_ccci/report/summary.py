"""summary.md: the run in a few lines of Markdown, for a pull-request comment or a CI job summary.

Levels tallied, then every recipe below L5 (level, the level it had before when the history
knows it, and why not higher), then the recipes with lint warnings (never part of a level), then
the flaky tiers. Kept under GitHub's comment size limit:
past `MAX_CHARS` the list stops with how many were left out (the dashboard has them all).

Text from an app or a recipe (recipe names, reasons) is made inert before it goes in: no terminal
escape or control character (one_line), `&`, `<`, `>` as HTML entities and every other character
Markdown gives a meaning backslash-escaped, so a log line quoted in a reason renders as the words
it is: never a link, an image, HTML, emphasis or a broken table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape
from typing import Any

from pytest_ccci.model.text import one_line
from pytest_ccci.run.history import RecipeHistory
from pytest_ccci.run.results import rung_text

MAX_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
WHY_LIMIT = 160
# ASCII punctuation with a meaning in GitHub Markdown (links, images, emphasis, code, tables,
# headings, strikethrough, autolinks): each backslash-escaped. `&`, `<`, `>` become entities.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+!|~:])")


def markdown_text(text: object, limit: int | None = WHY_LIMIT) -> str:
    """`text` as inert Markdown: one line (one_line), rendered as exactly its characters."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", escape(one_line(text, limit), quote=False))


def _cell(text: object) -> str:
    """Table-cell text: inert Markdown (markdown_text), so nothing breaks the table."""
    return markdown_text(text, WHY_LIMIT)


def previous_level(history: RecipeHistory | None, run_id: str | None) -> int | None:
    """The recipe's level in the latest recorded run other than `run_id`."""
    if history is None:
        return None
    earlier = [p for p in history.points if p.run_id != run_id]
    return earlier[-1].level if earlier else None


def summary(doc: Mapping[str, Any], histories: Mapping[str, RecipeHistory] | None, title: str) -> str:
    recipes = doc["recipes"]
    lines = [f"## {title}", "", f"{len(recipes)} recipes, run {doc.get('run_id')}, finished {doc.get('finished')}."]
    if doc.get("interrupted"):
        lines.append("**The run was interrupted**: levels of recipes it did not finish are unverified.")
    lines += ["", "| level | recipes |", "|---|---|"]
    for level in range(5, -1, -1):
        count = sum(1 for e in recipes.values() if e.get("level") == level)
        if count:
            lines.append(f"| L{level} | {count} |")
    below = [(n, e) for n, e in recipes.items() if e.get("level") != 5]
    if below:
        lines += ["", "| recipe | level | before | why not higher |", "|---|---|---|---|"]
        lines += _capped(_below_rows(below, doc, histories), "recipes below L5", sum(map(len, lines)))
    warned = _warning_rows(recipes)
    if warned:  # warnings never change a level: said beside it, for the recipes that have any
        lines += ["", "Lint warnings:", "", "| recipe | lint | warnings |", "|---|---|---|"]
        lines += _capped(warned, "recipes with lint warnings", sum(map(len, lines)))
    if histories:
        flaky = [
            f"| {_cell(name)} | {tier} | {flake.rate:.0%} | {flake.flaky_heads} |"
            for name, history in sorted(histories.items())
            if name in recipes
            for tier, flake in history.flakes().items()
            if flake.flaky_heads
        ]
        if flaky:
            lines += ["", "Flaky tiers (the same head passed and failed):", ""]
            lines += ["| recipe | tier | flake rate | flaky heads |", "|---|---|---|---|"]
            lines += _capped(flaky, "flaky tiers", sum(map(len, lines)))
    return "\n".join(lines) + "\n"


def _warning_rows(recipes: Mapping[str, Any]) -> list[str]:
    rows = []
    for name, e in sorted(recipes.items()):
        warnings = e.get("warnings") or []
        if warnings:
            lint = rung_text("lint", str((e.get("rungs") or {}).get("lint", {}).get("status", "unver")), warnings)
            listed = "; ".join(f"{w.get('id')} {w.get('description')}" for w in warnings)
            rows.append(f"| {_cell(name)} | {_cell(lint)} | {_cell(listed)} |")
    return rows


def _below_rows(below: list, doc: Mapping[str, Any], histories: Mapping[str, RecipeHistory] | None) -> list[str]:
    rows = []
    for name, e in sorted(below, key=lambda ne: (ne[1].get("level", 0), ne[0])):
        before = previous_level((histories or {}).get(name), e.get("run_id") or doc.get("run_id"))
        was = f"L{before}" if before is not None else "-"
        rows.append(f"| {_cell(name)} | L{e.get('level', 0)} | {was} | {_cell(e.get('why_not_higher') or '')} |")
    return rows


def _capped(rows: list[str], what: str, used: int) -> list[str]:
    kept: list[str] = []
    for row in rows:
        if used + len(row) + 1 > MAX_CHARS:
            kept.append(f"\n… and {len(rows) - len(kept)} more {what}: see the dashboard.")
            break
        kept.append(row)
        used += len(row) + 1
    return kept
