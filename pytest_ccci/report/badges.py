"""Level badges: small shields-style SVGs (`ccci | L5`), coloured by level.

Rendered from `report/templates/badge.svg` (autoescaped, as the pages). Self-contained (no font
file, no external reference): the text widths come from a table of
Verdana 11px advance widths, as shields.io measures them, so the badge looks the same anywhere.
"""

from __future__ import annotations

from pytest_ccci.report.assets import render

LABEL = "ccci"
# By level: red for L0 up to bright green for L5 (the shields palette).
LEVEL_COLOURS = ("#e05d44", "#fe7d37", "#dfb317", "#a4a61d", "#97ca00", "#4c1")
UNKNOWN_COLOUR = "#9f9f9f"
# Approximate Verdana 11px advance widths (px) of the characters a badge uses; others: 7.
_WIDTHS = {**dict.fromkeys("abcdeghknopqsuvxyz", 6.5), **dict.fromkeys("fijlrt", 3.9), "m": 10.7, "w": 9.0}
_WIDTHS.update({**dict.fromkeys("0123456789", 7.0), "L": 6.1, " ": 3.9, "?": 6.0, "-": 4.6})


def text_width(text: str) -> float:
    return sum(_WIDTHS.get(ch, 7.0) for ch in text)


def colour(level: int | None) -> str:
    return LEVEL_COLOURS[level] if level is not None and 0 <= level < len(LEVEL_COLOURS) else UNKNOWN_COLOUR


def badge(level: int | None, label: str = LABEL) -> str:
    """The SVG text of a badge for `level` (None: unknown, grey `?`)."""
    value = f"L{level}" if level is not None else "?"
    left, right = round(text_width(label) + 10), round(text_width(value) + 10)
    return render(
        "badge.svg",
        label=label,
        value=value,
        title=f"{label}: {value}",
        left=left,
        right=right,
        total=left + right,
        fill=colour(level),
        label_x=left * 5,  # text is drawn at scale(.1)
        value_x=f"{(left + right / 2) * 10:.0f}",
    )
