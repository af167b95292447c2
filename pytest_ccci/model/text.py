"""Text as it goes into a verdict (one line, bounded, inert), and how often a long wait says how
far it got.

An app's or an engine's words reach terminals, CI logs and PR comments: `one_line` keeps none of
their terminal escape sequences (ANSI CSI/OSC and the rest), C0 or C1 control characters,
bidirectional marks and overrides, or invisible zero-width characters, so no text can move a
cursor, recolour a log, rewrite a line already shown or read differently from how it is stored.
"""

from __future__ import annotations

import re

# A verdict is read in a terminal table and a JUnit attribute: long enough for the engine's or
# the app's own words, short enough to stay one readable line.
LINE_LIMIT = 300
# A wait (a lock, a deploy slot, a convergence, a pull) says how far it got this often: often
# enough to show it is alive in a CI log, seldom enough to stay readable.
PROGRESS_EVERY_SECONDS = 10.0

# Terminal escape sequences, whole: CSI (ESC [ ... final byte, or its C1 form \x9b), OSC, DCS,
# SOS, PM and APC strings (ended by BEL or ST), and two-byte ESC sequences.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)"
    r"|\x1b[ -/]*[0-~]",
    re.DOTALL,
)
# What is left of control characters after the sequences went: C0 (whitespace is folded, not
# dropped), DEL, C1, the bidirectional marks (LRM, RLM, ALM), embeddings, overrides and isolates,
# and the invisible characters that make two different strings look alike: zero-width space,
# non-joiner and joiner, word joiner, and the byte order mark (zero-width no-break space).
_CONTROL = re.compile(
    r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)


def inert(text: str) -> str:
    """`text` without terminal escape sequences or control characters (whitespace kept)."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def one_line(text: object, limit: int | None = LINE_LIMIT) -> str:
    """`text` made inert (no escape sequence or control character), every run of whitespace
    (newlines included) folded to one space, cut at `limit` characters (None: uncut)."""
    folded = " ".join(inert(str(text or "")).split())
    return folded if limit is None else folded[:limit]
