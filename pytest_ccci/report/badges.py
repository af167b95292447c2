"""Level badges: small shields-style SVGs (`ccci | L5`), coloured by level.

Self-contained (no font file, no external reference): the text widths come from a table of
Verdana 11px advance widths, as shields.io measures them, so the badge looks the same anywhere.
"""

from __future__ import annotations

from html import escape

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
    total, fill = left + right, colour(level)
    title = escape(f"{label}: {value}")
    label_x, value_x = left * 5, (left + right / 2) * 10  # text is drawn at scale(.1)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{fill}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="110">'
        f'<text x="{label_x}" y="140" transform="scale(.1)">{escape(label)}</text>'
        f'<text x="{value_x:.0f}" y="140" transform="scale(.1)">{escape(value)}</text></g></svg>\n'
    )
