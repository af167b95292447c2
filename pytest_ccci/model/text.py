"""Text as it goes into a verdict: one line, bounded."""

from __future__ import annotations

# A verdict is read in a terminal table and a JUnit attribute: long enough for the engine's or
# the app's own words, short enough to stay one readable line.
LINE_LIMIT = 300


def one_line(text: object, limit: int | None = LINE_LIMIT) -> str:
    """`text` with every run of whitespace (newlines included) folded to one space, cut at
    `limit` characters (None: uncut)."""
    folded = " ".join(str(text or "").split())
    return folded if limit is None else folded[:limit]
