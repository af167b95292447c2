"""The dashboard's templates and the one Jinja2 environment that renders them.

The templates are package data in `report/templates/`: `page.html` (the frame every page
shares), `index.html`, `recipe.html`, `macros.html` (cells and tables), `badge.svg` and
`summary.md`; beside them the inline style (`style.css`) and the index's script (`index.js`),
copied into each page as they are. No external asset, no framework: every page works offline
from file:// (self-contained apart from the badge images beside it).

Escaping is the environment's, not each caller's: every `.html` and `.svg` template
autoescapes, so any value shown is escaped unless a template marks it safe (only the inlined
style and script are).
`summary.md` is Markdown, not HTML: no autoescape there; an app's text goes through the
`markdown` filter (`markdown_text`), which makes it inert Markdown: no link, autolink, mention,
issue reference, image, HTML, emphasis or table cell of its own.

The index script sorts the level table by a clicked column (again: the other way) and filters
it by text and level. The filter can also be given in the address, `index.html#q=hello&level=5`
(a link to a filtered view), and the table's state is kept there as it changes.
"""

from __future__ import annotations

import functools
import re
from html import escape
from typing import Any

import jinja2
from markupsafe import Markup

from pytest_ccci.model.text import one_line

MARKDOWN_LIMIT = 160  # characters of an app's text in a summary.md cell
# What would be live in GitHub Markdown, each made inert (_inert_markdown):
# - ASCII punctuation with a meaning (links, images, emphasis, code, tables, headings,
#   strikethrough, `https://` autolinks): backslash-escaped. (`&`, `<`, `>` are entities by then.)
# - `www.` (an autolink without a colon): its dot escaped.
# - `@` (a mention notifies a user or a team; `a@b.org` autolinks) and `#` or `GH-` before a digit
#   (a reference to an issue): GitHub finds these in the rendered text, where no backslash is
#   left, so a zero-width space (`&#8203;`) goes after them: still shown, never live.
_MARKDOWN_LIVE = re.compile(
    r"(?P<www>(?i:www)\.)|(?P<ref>@|#(?=\d)|(?i:gh)-(?=\d))|(?P<punctuation>[\\`*_{}\[\]()#+!|~:])"
)
_ZERO_WIDTH_SPACE = "&#8203;"


def _inert_markdown(match: re.Match[str]) -> str:
    if match["www"]:
        return match["www"][:-1] + "\\."
    if match["ref"]:
        return match["ref"].replace("#", "\\#") + _ZERO_WIDTH_SPACE
    return "\\" + match["punctuation"]


def markdown_text(text: object, limit: int | None = MARKDOWN_LIMIT) -> str:
    """`text` as inert Markdown: one line (one_line), rendered as exactly its characters (plus
    an invisible zero-width space after a mention's or a reference's `@`, `#` or `GH-`)."""
    return _MARKDOWN_LIVE.sub(_inert_markdown, escape(one_line(text, limit), quote=False))


def markdown_code(text: object) -> str:
    """`text` as one Markdown code span (a command to copy): one line, uncut; a table's `|`
    escaped (GitHub reads `\\|` inside a table's code span as `|`), fenced by more backticks than
    it holds in a row. Inside a code span nothing else is live."""
    line = one_line(text, None).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", line)), default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


def when(iso: str | None) -> str:
    """`2026-11-22T05:32:10Z` shown as `2026-11-22 05:32Z`."""
    return f"{iso[:10]} {iso[11:16]}Z" if iso and len(iso) >= 16 else (iso or "-")


def percent(rate: float) -> str:
    return f"{rate:.0%}"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_ccci.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "svg"), default_for_string=True),
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, never shows as ""
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(markdown=markdown_text, code=markdown_code, duration=duration, when=when, percent=percent)
    env.globals["inline"] = functools.partial(_inline, env)
    return env


def _inline(env: jinja2.Environment, name: str) -> Markup:
    """A static file's text as it is (the style, the script): copied, never parsed as a template."""
    assert env.loader is not None
    return Markup(env.loader.get_source(env, name)[0])


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
