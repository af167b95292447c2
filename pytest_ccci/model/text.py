"""Text as it goes into a verdict (one line, bounded), and how often a long wait says how far it got."""

from __future__ import annotations

# A verdict is read in a terminal table and a JUnit attribute: long enough for the engine's or
# the app's own words, short enough to stay one readable line.
LINE_LIMIT = 300
# A wait (a lock, a deploy slot, a convergence, a pull) says how far it got this often: often
# enough to show it is alive in a CI log, seldom enough to stay readable.
PROGRESS_EVERY_SECONDS = 10.0


def one_line(text: object, limit: int | None = LINE_LIMIT) -> str:
    """`text` with every run of whitespace (newlines included) folded to one space, cut at
    `limit` characters (None: uncut)."""
    folded = " ".join(str(text or "").split())
    return folded if limit is None else folded[:limit]
